"""``droplab figures``: regenerate the theory figures (PNG, PDF and the CSV behind each) and their
captions file, through :func:`gaussian_theory.figures.make_figures` (README, "Figures and notebooks")."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["check_out_dir", "register"]


def check_out_dir(out, option: str = "--out") -> Path:
    """``out`` as a folder that exists and is writable, or can be created: a clear ``ValueError`` naming
    ``option`` otherwise. Creates nothing."""
    path = Path(out)
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{option} {str(out)!r} exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"{option} {str(out)!r}: the folder is not writable")
        return path
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {str(out)!r}: cannot create the folder, {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {str(out)!r}: cannot create the folder, {str(parent)!r} is not writable")
    return path


def _cmd_figures(args) -> int:
    from ..figures import make_figures  # matplotlib: only when the command runs

    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    out = check_out_dir(args.out)
    try:  # before any computing: os.access cannot see every reason a folder cannot be made (/proc, quotas)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {str(args.out)!r}: cannot create the folder ({exc.strerror or exc})"
                         ) from None
    t0 = time.perf_counter()
    try:
        results = make_figures(args.out, quick=args.quick, seed=args.seed, only=args.only,
                               progress=not args.no_progress)
    except OSError as exc:
        if exc.filename is None:
            raise
        raise ValueError(f"--out {str(args.out)!r}: cannot write {str(exc.filename)!r} "
                         f"({exc.strerror or exc})") from None
    for r in results:
        print(f"{r.name}: {', '.join(p.name for p in r.files)}  ({len(r.table)} rows, {r.seconds:.1f} s)")
    print(f"wrote {3 * len(results)} files to {args.out}/ in {time.perf_counter() - t0:.1f} s")
    return 0


def register(sub) -> None:
    """Add ``droplab figures`` to the sub-parsers ``sub``."""
    p = sub.add_parser(
        "figures", help="regenerate every figure (PNG, PDF and CSV) into figures/",
        description="Regenerate the figures: PNG and PDF plus a CSV of the numbers behind each, and a "
        "README.md with captions (only when every figure is built). --quick uses coarse grids and few "
        "Monte Carlo trials (for tests).")
    p.add_argument("--out", default="figures", metavar="DIR",
                   help="output folder, relative to the current working directory; created if missing")
    p.add_argument("--quick", action="store_true", help="coarse grids, few Monte Carlo trials (< 1 min)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of every Monte Carlo estimate (a non-negative integer)")
    p.add_argument("--only", nargs="+", metavar="FIG", help="figure numbers or names to build (default: all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_figures)
