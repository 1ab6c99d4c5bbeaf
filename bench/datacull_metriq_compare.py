"""droplab's DRoP quotas against the PyPI package ``datacull``'s MetriQ (DRoP's earlier name), on the same
recalls. Not a speed bench; an external baseline (run by hand: ``pip install datacull`` first, beside a
CPU torch, see the README).

For every committed CIFAR-10 small-CNN Random+DRoP run (its query model's validation recalls, class sizes
and density), and for imbalanced variants of the same recalls (class sizes 5000 ... 500, where DRoP's
saturation loop acts), it prints both allocations' per-class counts, their totals against the budget
round(dN), and the largest per-class difference. ``datacull.methods.MetriQ.MetriQDataLoader`` is run as
published (on an index-only dataset; its ``compute_subset`` samples with numpy's global generator, which is
seeded here so the counts are reproducible); droplab's counts are
``gaussian_theory.allocation.drop_counts(recalls, sizes, d)``::

    python bench/datacull_metriq_compare.py [--results results/cifar10-smallcnn]  # or cifar10-whitenet-256
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from empirical.dynamic import LabelsOnly
from gaussian_theory.allocation import drop_counts
from gaussian_theory.apportionment import total_kept

REPO = Path(__file__).resolve().parents[1]


def metriq_counts(recalls, sizes, density, seed=0) -> np.ndarray:
    """datacull's MetriQ class counts for ``recalls``, class ``sizes`` and kept fraction ``density``."""
    from datacull.data import DCDataset
    from datacull.methods.MetriQ import MetriQDataLoader

    targets = np.repeat(np.arange(len(sizes)), sizes)
    loader = MetriQDataLoader(DCDataset(LabelsOnly(targets)), density, np.asarray(recalls, dtype=float),
                              batch_size=1)
    np.random.seed(seed)  # noqa: NPY002 - datacull samples with numpy's global generator
    idx = np.asarray(loader.compute_subset(None), dtype=np.int64)
    return np.bincount(targets[idx], minlength=len(sizes))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=REPO / "results" / "cifar10-smallcnn")
    args = ap.parse_args()
    try:
        import datacull  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"needs the datacull package ({exc}): pip install datacull, beside a CPU torch") \
            from None
    cases = []
    for f in sorted(args.results.glob("*_random_drop-paper_d*.json")):
        d = json.loads(f.read_text())
        cases.append((f"seed {d['seed']} d={d['config']['density']:g}, balanced", d["query"]["recalls"],
                      d["dataset"]["class_sizes"], d["config"]["density"]))
    if cases:  # the same recalls on an imbalanced training set, where saturation acts
        _, rec, _, _ = cases[0]
        imbalanced = np.linspace(5000, 500, len(rec)).astype(int).tolist()
        for dens in (0.3, 0.5, 0.8):
            cases.append((f"seed 0 recalls, sizes 5000..500, d={dens:g}", rec, imbalanced, dens))
    print(f"{'case':44s} {'budget':>7s} {'droplab':>8s} {'datacull':>9s}  max |diff|  per-class diff "
          "(datacull - droplab)")
    for name, rec, sizes, dens in cases:
        ours = drop_counts(rec, sizes, dens)
        theirs = metriq_counts(rec, sizes, dens)
        diff = theirs - ours
        budget = total_kept(int(np.sum(sizes)), dens)
        print(f"{name:44s} {budget:7d} {int(ours.sum()):8d} {int(theirs.sum()):9d}  "
              f"{int(np.abs(diff).max()):10d}  {' '.join(f'{int(x):+d}' for x in diff)}")


if __name__ == "__main__":
    main()
