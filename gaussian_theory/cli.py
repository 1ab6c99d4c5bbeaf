"""The ``droplab`` command line.

Sub-commands built on :mod:`gaussian_theory` are registered here; packages that must not be
imported by ``gaussian_theory`` (``empirical``, which needs torch) contribute theirs through the
``droplab.commands`` entry-point group, each entry being a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from . import __version__
from .allocation import drop_counts, drop_densities, uniform_counts
from .figures import register_cli as register_figures
from .surrogate import register_cli as register_surrogate
from .two_gaussians import TwoGaussians


def format_table(header, rows, floatfmt="{:.4g}") -> str:
    """A plain fixed-width text table."""
    cells = [[c if isinstance(c, str) else floatfmt.format(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(header, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


# --------------------------------------------------------------------------- theory
def theory_report(model: TwoGaussians, density: float) -> str:
    """The text ``droplab theory`` prints: risks at t*, t_wc, and allocations at one density."""
    t_star = model.optimal_threshold()
    risks = model.class_risks(t_star)
    t_wc = model.worst_class_threshold()
    opt_priors = model.worst_class_optimal_priors()
    lines = [f"model: {model!r}", ""]
    lines.append(
        format_table(
            ["threshold", "t", "R0", "R1", "average", "worst-class"],
            [
                ["t* (trained on all data)", t_star, *risks, model.average_risk(t_star), risks.max()],
                ["t_wc (worst-class optimum)", t_wc, *model.class_risks(t_wc),
                 model.average_risk(t_wc), model.worst_class_risk(t_wc)],
            ],
        )
    )
    lines.append("")
    lines.append("worst-class-optimal training priors: "
                 f"phi0 = {opt_priors[0]:.4g}, phi1 = {opt_priors[1]:.4g}")
    recalls = 1.0 - risks
    rows = []
    allocations = {
        "uniform": np.array([density, density]),
        "DRoP (recalls of t*)": model.drop_densities(density),
        "worst-class optimal": model.worst_class_optimal_densities(density),
    }
    for name, d in allocations.items():
        r = model.pruned_risks(d)
        rows.append([name, d[0], d[1], model.prune(d).optimal_threshold(), r[0], r[1],
                     float(r @ model.priors), r.max()])
    lines += ["", f"allocations at dataset density d = {density:g} (recalls of t*: "
              f"r0 = {recalls[0]:.4g}, r1 = {recalls[1]:.4g}):"]
    header = ["allocation", "d0", "d1", "learned t", "R0", "R1", "average", "worst-class"]
    lines.append(format_table(header, rows))
    return "\n".join(lines)


def _cmd_theory(args) -> int:
    model = TwoGaussians(means=args.means, stds=args.stds, priors=args.priors)
    print(theory_report(model, args.density))
    return 0


# ------------------------------------------------------------------------- allocate
def read_class_table(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read (class, size, recall) rows from a CSV with a header, or from JSON.

    JSON may be a list of ``{"class", "size", "recall"}`` objects or a mapping
    ``{class: {"size": ..., "recall": ...}}``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--from: no such file {str(path)!r}")
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = [{"class": k, **v} for k, v in data.items()]
        rows = data
    else:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    try:
        names = [str(r.get("class", i)) for i, r in enumerate(rows)]
        sizes = np.array([float(r["size"]) for r in rows])
        recalls = np.array([float(r["recall"]) for r in rows])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"--from {str(path)!r}: every row needs numeric 'size' and 'recall' ({exc})"
        ) from exc
    return names, sizes, recalls


def allocation_report(names, sizes, recalls, density, rule="paper") -> str:
    counts = drop_counts(recalls, sizes, density, rule=rule)
    # Paper rule: Algorithm 1's real densities. Code rule: it allocates counts, so show count/size.
    dens = drop_densities(recalls, sizes, density) if rule == "paper" else counts / np.maximum(sizes, 1)
    uni = uniform_counts(sizes, density)
    rows = [[n, f"{int(s)}", r, d, f"{int(c)}", f"{int(u)}"]
            for n, s, r, d, c, u in zip(names, sizes, recalls, dens, counts, uni)]
    total = f"total kept: {int(counts.sum())} of {int(sizes.sum())} (density {density:g}, rule {rule!r})"
    return "\n".join([format_table(["class", "size", "recall", "DRoP density", "DRoP count",
                                    "uniform count"], rows), total])


def _cmd_allocate(args) -> int:
    if args.from_file:
        names, sizes, recalls = read_class_table(args.from_file)
    else:
        if args.recalls is None or args.sizes is None:
            raise ValueError("allocate needs --recalls and --sizes, or --from FILE")
        recalls, sizes = np.asarray(args.recalls), np.asarray(args.sizes)
        names = [str(k) for k in range(len(recalls))]
    print(allocation_report(names, sizes, recalls, args.density, rule=args.rule))
    return 0


# ----------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="droplab",
        description="Distributionally robust data pruning (DRoP): Gaussian-mixture theory, class "
        "allocations and empirical validation.",
    )
    parser.add_argument("--version", action="version", version=f"droplab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("theory", help="closed-form risks and allocations of a two-Gaussian model",
                       description="Print t*, its class/average/worst-class risks, t_wc and the "
                       "worst-class-optimal priors, and compare uniform, DRoP and optimal class "
                       "densities at one dataset density.")
    p.add_argument("--means", nargs=2, type=float, default=[0.0, 6.0], metavar=("MU0", "MU1"))
    p.add_argument("--stds", nargs=2, type=float, default=[1.0, 2.0], metavar=("S0", "S1"))
    p.add_argument("--priors", nargs=2, type=float, default=[0.5, 0.5], metavar=("PHI0", "PHI1"))
    p.add_argument("--density", type=float, default=0.5, help="fraction of the data kept (default 0.5)")
    p.set_defaults(func=_cmd_theory)

    p = sub.add_parser("allocate", help="DRoP class densities and counts from your recalls",
                       description="DRoP quotas from per-class validation recalls of a query model: "
                       "densities (paper Algorithm 1) and exact integer counts.")
    p.add_argument("--recalls", nargs="+", type=float, help="per-class validation recalls in [0, 1]")
    p.add_argument("--sizes", nargs="+", type=float, help="per-class training-set sizes")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="CSV (header: class,size,recall) or JSON instead of --recalls/--sizes")
    p.add_argument("--density", type=float, required=True, help="fraction of the data kept, in (0, 1]")
    p.add_argument("--rule", choices=["paper", "code"], default="paper",
                   help="'paper': densities ∝ 1-recall (Algorithm 1); 'code': counts ∝ 1-recall "
                   "(official repository); they differ on imbalanced data")
    p.set_defaults(func=_cmd_allocate)

    for register in (register_surrogate, register_figures, *_plugin_registrars()):
        register(sub)
    return parser


def _plugin_registrars():
    regs = []
    for ep in metadata.entry_points(group="droplab.commands"):
        try:
            regs.append(ep.load())
        except ImportError as exc:  # e.g. torch missing: register a stub that explains
            regs.append(_missing_plugin(ep.name, exc))
    return regs


def _missing_plugin(name, exc):
    def register(sub):
        p = sub.add_parser(name, help=f"(unavailable: {exc})")
        p.set_defaults(func=lambda args: _fail(f"'droplab {name}' needs extra packages: {exc}. "
                                               f"Install them with: pip install 'droplab[{name}]'"))
    return register


def _fail(msg) -> int:
    print(f"droplab: error: {msg}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError) as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
