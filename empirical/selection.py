r"""Class quotas and top-k selection.

Quotas (``quota``):

* ``none``: no class quotas, the global top-:math:`\mathrm{round}(dN)` samples by score;
* ``uniform``: keep the class proportions, :func:`gaussian_theory.allocation.uniform_counts`;
* ``drop``: DRoP, :func:`gaussian_theory.allocation.drop_counts` on the query model's per-class
  validation recalls (``rule="paper"``: densities :math:`\propto1-r_k`; ``"code"``: counts
  :math:`\propto1-r_k`).

Then the top-:math:`n_k` samples by score are kept within each class (ties: lower index first).
The allocation itself lives only in :mod:`gaussian_theory.allocation`.
"""

from __future__ import annotations

import numpy as np

from gaussian_theory.allocation import drop_counts, uniform_counts
from gaussian_theory.query_allocation import minimax_from_logits

__all__ = ["QUOTAS", "QUOTA_LABELS", "quota_counts", "select_top_k", "select_within_classes"]

from .classes import rank_within_class
from .options import QUOTAS

QUOTA_LABELS = {"none": "", "uniform": "Uniform", "drop": "DRoP", "probit": "Probit", "minimax": "Minimax"}


def quota_counts(quota: str, class_sizes, density: float, recalls=None, rule: str = "paper",
                 alpha: float = 1.0, min_count: int = 0, val_outputs=None, seed=0, info: dict | None = None):
    """Per-class counts for ``quota`` (None for ``"none"``): ``uniform_counts``, or ``drop_counts`` with
    ``allocation_rule=quota`` (``"drop"``: densities proportional to ``(1 - r_k)**alpha``; ``"probit"``:
    to ``phi(Phi^-1(r_k))``), ``rule`` the integer rounding rule, ``min_count`` a per-class floor;
    ``"minimax"``: :func:`gaussian_theory.query_allocation.minimax_from_logits` on the query model's
    validation ``val_outputs`` (``{"logits", "labels"}``) with ``seed``; its prediction (densities, and the
    surrogate's per-class recalls after pruning, on fresh draws) is added to the dict ``info``."""
    if quota not in QUOTAS:
        raise ValueError(f"quota must be one of {QUOTAS}, got {quota!r}")
    if quota == "none":
        return None
    if quota == "uniform":
        return uniform_counts(class_sizes, density, min_count=min_count)
    if quota == "minimax":
        if val_outputs is None or val_outputs.get("logits") is None:
            raise ValueError("quota 'minimax' needs the query model's validation logits (a query cache "
                             "written before they were recorded: delete it to retrain the query model)")
        labels = np.asarray(val_outputs["labels"]).astype(int)
        alloc, counts, _ = minimax_from_logits(val_outputs["logits"], labels, class_sizes, density, seed=seed,
                                               min_count=min_count)
        if info is not None:
            info.update({"minimax_densities": alloc.densities.tolist(),
                         "predicted_recalls": (1.0 - alloc.risks).tolist(),
                         "predicted_worst_class_recall": float(1.0 - alloc.max_risk),
                         "solver": alloc.message})
        return counts
    if recalls is None:
        raise ValueError(f"quota {quota!r} needs the query model's per-class recalls")
    kw = {"alpha": alpha} if quota == "drop" else {}
    return drop_counts(recalls, class_sizes, density, rule=rule, allocation_rule=quota, min_count=min_count,
                       **kw)


def _order(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score, ties by increasing index."""
    return np.lexsort((np.arange(scores.size), -scores))


def select_top_k(scores, k: int) -> np.ndarray:
    """Sorted indices of the ``k`` highest scores."""
    s = np.asarray(scores, dtype=float)
    if not 0 <= k <= s.size:
        raise ValueError(f"k must lie in [0, {s.size}], got {k!r}")
    return np.sort(_order(s)[:k])


def select_within_classes(scores, labels, counts) -> np.ndarray:
    """Sorted indices of the ``counts[k]`` highest-scored samples of each class ``k`` (vectorised:
    one lexsort by (label, -score, index), then the within-class rank)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=np.int64)
    c = np.asarray(counts, dtype=np.int64)
    sizes = np.bincount(y, minlength=c.size)
    if sizes.size != c.size or (c > sizes).any() or (c < 0).any():
        raise ValueError(f"counts {c.tolist()} must lie in [0, class sizes {sizes.tolist()}]")
    rank = rank_within_class(y, c.size, order=np.lexsort((np.arange(s.size), -s, y)))
    return np.flatnonzero(rank < c[y])
