"""``droplab select``: class counts -> the kept indices of any labelled dataset, for several seeds and
allocations in one call (:func:`gaussian_theory.selection.select_indices`).

The counts come from ``--counts`` or from an allocation file (``droplab allocate --json --out FILE``;
``--allocation NAME`` picks one of its rules, ``all`` every one). Each (allocation, seed) gives one
``.npy`` index file: ``--out FILE`` for one of them, ``--out DIR`` (an existing folder, a path ending
in ``/``, or a new path without ``.npy`` when there are several) for ``DIR/kept[_<allocation>]_s<seed>.npy``.

The seed is the within-class random draw and the only randomness of the selection: every run that
should see its own subset (each pilot, each final run) needs a seed of its own.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .format import name_option

__all__ = ["register", "index_file_name"]

#: Most index files one call writes (seeds x allocations).
MAX_OUTPUTS = 10_000


def index_file_name(label, seed: int) -> str:
    """``kept_s<seed>.npy``, or ``kept_<label>_s<seed>.npy`` with the allocation's label made a file name
    (``DRoP(a=0.7)`` -> ``drop-a-0.7``).

    >>> index_file_name("DRoP(a=0.7)", 3)
    'kept_drop-a-0.7_s3.npy'
    >>> index_file_name(None, 0)
    'kept_s0.npy'
    """
    if not label:
        return f"kept_s{seed}.npy"
    slug = re.sub(r"[^a-z0-9.]+", "-", str(label).lower()).strip("-.") or "allocation"
    return f"kept_{slug}_s{seed}.npy"


def _allocations(args) -> list[tuple[str | None, object]]:
    """``[(label, counts)]``: ``--counts``, or the allocations ``--allocation`` names in ``--counts-file``."""
    import numpy as np

    from ..quota_rules import allocation_names, read_allocation_file
    from .learned import check_counts_option

    if args.counts is not None:
        if args.allocation is not None:
            raise ValueError("--allocation names allocations of --counts-file, not of --counts")
        check_counts_option(args.counts)
        return [(None, np.asarray(args.counts, dtype=np.int64))]
    names = args.allocation
    if names is not None and "all" in [n.lower() for n in names]:
        if len(names) > 1:
            raise ValueError(f"--allocation all means every allocation of the file; got {names}")
        names = allocation_names(args.counts_file, "--counts-file") or [None]
    out = []
    for name in names or [None]:
        alloc = read_allocation_file(args.counts_file, "--counts-file", allocation=name)
        if "counts" not in alloc:
            raise ValueError(f"--counts-file {args.counts_file!r}: holds densities; select needs counts")
        check_counts_option(alloc["counts"], "--counts-file")
        out.append((alloc["label"], np.asarray(alloc["counts"], dtype=np.int64)))
    labels = [lab for lab, _ in out]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1}, key=str)
    if dup:
        raise ValueError(f"--allocation names {dup} more than once")
    return out


def _targets(out: str, pairs) -> dict:
    """``{(label, seed): path}``: ``--out`` itself for one index file, files inside it as a folder."""
    p = Path(out)
    folder = p.is_dir() or out.endswith(("/", os.sep)) or (len(pairs) > 1 and not p.exists()
                                                           and p.suffix.lower() != ".npy")
    if not folder:
        if len(pairs) > 1:
            raise ValueError(f"--out {out!r}: {len(pairs)} index files (allocations x seeds) go to a folder: "
                             f"give a folder (e.g. {str(p.with_suffix(''))!r}/) instead of one file")
        return {pairs[0]: p}
    if p.exists() and not p.is_dir():
        raise ValueError(f"--out {out!r}: is a file, expected a folder for the index files")
    return {(lab, s): p / index_file_name(lab, s) for lab, s in pairs}


def _cmd_select(args) -> int:
    import numpy as np

    from ..arrays import load_array_file, load_labels
    from ..selection import select_indices

    seeds = list(args.seeds)
    bad = next((s for s in seeds if s < 0), None)
    if bad is not None:
        raise ValueError(f"--seed must be non-negative integers, got {bad}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seed {' '.join(map(str, seeds))}: each seed once (the same seed draws the same "
                         "samples)")
    if args.scores is not None and len(seeds) > 1:
        raise ValueError("--scores keeps the highest-scored samples of each class, whatever the seed: give "
                         "one --seed (or none) with --scores")
    allocations = _allocations(args)
    pairs = [(lab, s) for lab, _ in allocations for s in seeds]
    if len(pairs) > MAX_OUTPUTS:
        raise ValueError(f"{len(pairs):,} index files (allocations x seeds), more than the {MAX_OUTPUTS:,} "
                         "one call writes")
    targets = _targets(args.out, pairs)
    labels = load_labels(args.labels, "--labels")
    scores = None
    if args.scores is not None:
        scores = np.asarray(load_array_file(args.scores, "--scores"))
        scores = scores.reshape(-1) if scores.ndim == 2 and 1 in scores.shape else scores
    kept = {}
    for lab, counts in allocations:          # every selection made (and checked) before any file is written
        for s in seeds:
            try:
                kept[lab, s] = select_indices(labels, counts, scores=scores, seed=s)
            except ValueError as exc:
                raise name_option(exc, {"labels": "--labels", "counts": "--counts", "scores": "--scores"}
                                  ) from None
    stream = sys.stderr if args.out == "/dev/stdout" else sys.stdout
    for (lab, s), idx in kept.items():
        path = targets[lab, s]
        _save_indices(path, idx)
        per = np.bincount(labels[idx], minlength=len(dict(allocations)[lab]))
        what = f"{lab}, seed {s}" if lab else f"seed {s}"
        print(f"kept {idx.size} of {labels.size} samples ({what}; per class: {' '.join(map(str, per))}) -> "
              f"{path if len(targets) > 1 or Path(args.out).is_dir() else args.out}", file=stream)
    return 0


def _save_indices(path, idx) -> None:
    """``idx`` as a ``.npy`` array at exactly ``path`` (``numpy.save`` given a name would append
    ``.npy``): written atomically for a regular file, directly to an existing device or pipe
    (``/dev/stdout``)."""
    import numpy as np

    from ..atomic import atomic_write

    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "wb") as fh:
            np.save(fh, idx)
        return

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.save(fh, idx)

    atomic_write(path, write)


def register(sub) -> None:
    """Add ``droplab select`` to the sub-parsers ``sub``."""
    p = sub.add_parser("select", help="class counts -> the kept indices of a labelled dataset (.npy), for "
                       "several seeds at once",
                       description="Keep counts[k] samples of each class k of the dataset whose labels are "
                       "--labels: the highest --scores of each class, or at random from each --seed (one "
                       "index file per seed and allocation). The seed is the within-class draw: give each "
                       "pilot run and each final run a seed of its own.")
    p.add_argument("--labels", required=True, metavar="FILE",
                   help="(n,) integer class labels 0..K-1 of the training set (.npy, .npz[:KEY] or CSV; 1.0 "
                   "counts as 1)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--counts", type=int, nargs="+", metavar="N", help="samples kept per class")
    g.add_argument("--counts-file", metavar="JSON",
                   help="an allocation file: droplab allocate --json --out FILE (every rule's counts: pick "
                   "with --allocation), droplab pilots --out, or {\"counts\": [...]}; FILE:NAME picks one")
    p.add_argument("--allocation", nargs="+", metavar="NAME",
                   help="with --counts-file: the allocations to select, by name (DRoP, drop, "
                   "'DRoP(a=0.7)', Probit, Minimax, Uniform, Learned; any case), or 'all'")
    p.add_argument("--scores", metavar="FILE", help="(n,) scores, higher = kept (default: random)")
    p.add_argument("--seed", "--seeds", dest="seeds", type=int, nargs="+", default=[0], metavar="S",
                   help="seeds of the within-class random draw, one index file each; the only randomness "
                   "of the selection (droplab pilots --seed draws no samples)")
    p.add_argument("--out", required=True, metavar="FILE_OR_DIR",
                   help="the .npy file to write the sorted kept indices to (written at exactly this path), "
                   "or a folder (existing, or ending in /) for kept[_<allocation>]_s<seed>.npy files; "
                   "several seeds or allocations need a folder")
    p.set_defaults(func=_cmd_select)
