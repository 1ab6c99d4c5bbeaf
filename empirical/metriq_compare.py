"""droplab's DRoP quotas against the PyPI package ``datacull``'s MetriQ (DRoP's earlier name), on the same
recalls (``droplab empirical metriq-compare RUNS``; needs ``pip install datacull``, beside torch).

For every finished Random+DRoP run of a folder (score random, quota drop, rule paper, alpha 1: its query
model's validation recalls, class sizes and density), and for imbalanced variants of the first run's
recalls (class sizes 5000 ... 500, where DRoP's saturation loop acts) at densities 0.3, 0.5 and 0.8, both
allocations' per-class counts, their totals against the budget round(dN), and the largest per-class
difference. ``datacull.methods.MetriQ.MetriQDataLoader`` is run as published (on an index-only dataset;
its ``compute_subset`` samples with numpy's global generator, which is seeded here so the counts are
reproducible); droplab's counts are :func:`gaussian_theory.allocation.drop_counts`.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from gaussian_theory.allocation import drop_counts
from gaussian_theory.apportionment import total_kept

__all__ = ["metriq_counts", "drop_cases", "compare_cases", "format_comparison"]

#: the densities of the imbalanced variants
IMBALANCED_DENSITIES = (0.3, 0.5, 0.8)


def _require_datacull() -> None:
    if importlib.util.find_spec("datacull") is None:
        raise ValueError("the MetriQ comparison runs the MetriQ implementation of the datacull package, "
                         "which is not installed: pip install datacull (with torch already installed)")


def metriq_counts(recalls, sizes, density: float, seed: int = 0) -> np.ndarray:
    """datacull's MetriQ class counts for ``recalls``, class ``sizes`` and kept fraction ``density``.

    Raises
    ------
    ValueError
        When the ``datacull`` package is not installed.
    """
    _require_datacull()
    from datacull.data import DCDataset
    from datacull.methods.MetriQ import MetriQDataLoader

    from .dynamic import LabelsOnly

    targets = np.repeat(np.arange(len(sizes)), sizes)
    loader = MetriQDataLoader(DCDataset(LabelsOnly(targets)), density, np.asarray(recalls, dtype=float),
                              batch_size=1)
    np.random.seed(seed)  # noqa: NPY002 - datacull samples with numpy's global generator
    idx = np.asarray(loader.compute_subset(None), dtype=np.int64)
    return np.bincount(targets[idx], minlength=len(sizes))


def _is_drop_run(d) -> bool:
    cfg = d.get("config") if isinstance(d, dict) else None
    return (isinstance(cfg, dict) and d.get("status") == "done" and cfg.get("score") == "random"
            and cfg.get("quota") == "drop" and cfg.get("rule", "paper") == "paper"
            and (cfg.get("alpha") or 1.0) == 1.0)


def drop_cases(results) -> list[tuple]:
    """The cases compared: each Random+DRoP run of ``results`` (its ``*.json``, by file name), then the
    first run's recalls on class sizes 5000 ... 500 at each of :data:`IMBALANCED_DENSITIES`.

    Returns
    -------
    list of tuple
        ``(name, recalls, class sizes, density)``.

    Raises
    ------
    ValueError
        When ``results`` is not a folder or holds no finished Random+DRoP run.
    """
    results = Path(results)
    if not results.is_dir():
        raise ValueError(f"runs folder {str(results)!r} does not exist or is not a folder")
    cases = []
    for f in sorted(results.glob("*.json")):
        d = json.loads(f.read_text())
        if _is_drop_run(d):
            cases.append((f"seed {d['seed']} d={d['config']['density']:g}, balanced", d["query"]["recalls"],
                          d["dataset"]["class_sizes"], d["config"]["density"]))
    if not cases:
        raise ValueError(f"no finished Random+DRoP run (score random, quota drop, rule paper, alpha 1) among "
                         f"the *.json of {str(results)!r}")
    name, rec, _, _ = cases[0]
    first_seed = name.split()[1]
    imbalanced = np.linspace(5000, 500, len(rec)).astype(int).tolist()
    for dens in IMBALANCED_DENSITIES:
        cases.append((f"seed {first_seed} recalls, sizes {imbalanced[0]}..{imbalanced[-1]}, d={dens:g}", rec,
                      imbalanced, dens))
    return cases


def compare_cases(cases) -> list[dict]:
    """Both allocations of every case.

    Returns
    -------
    list of dict
        ``name``, ``budget`` (round(dN)), ``droplab`` and ``datacull`` (per-class counts).

    Raises
    ------
    ValueError
        When the ``datacull`` package is not installed (before any work).
    """
    _require_datacull()
    out = []
    for name, rec, sizes, dens in cases:
        out.append({"name": name, "budget": total_kept(int(np.sum(sizes)), dens),
                    "droplab": drop_counts(rec, sizes, dens), "datacull": metriq_counts(rec, sizes, dens)})
    return out


def format_comparison(rows: list[dict]) -> str:
    """The table of :func:`compare_cases`, one line per case (newline-terminated)."""
    lines = [f"{'case':44s} {'budget':>7s} {'droplab':>8s} {'datacull':>9s}  max |diff|  per-class diff "
             "(datacull - droplab)"]
    for r in rows:
        diff = r["datacull"] - r["droplab"]
        lines.append(f"{r['name']:44s} {r['budget']:7d} {int(r['droplab'].sum()):8d} "
                     f"{int(r['datacull'].sum()):9d}  {int(np.abs(diff).max()):10d}  "
                     f"{' '.join(f'{int(x):+d}' for x in diff)}")
    return "\n".join(lines) + "\n"
