r"""Class quotas and top-k selection.

The quotas come from the one registry of quota rules, :mod:`gaussian_theory.quota_rules` (none,
uniform, DRoP, probit, minimax, explicit counts; the allocation arithmetic lives only in
:mod:`gaussian_theory.allocation`). Then the top-:math:`n_k` samples by score are kept within each class
(ties: lower index first), by :func:`gaussian_theory.selection.select_within_classes`.
"""

from __future__ import annotations

from gaussian_theory.quota_rules import QuotaInputs, make_rule
from gaussian_theory.selection import select_top_k, select_within_classes

__all__ = ["QUOTAS", "quota_counts", "select_top_k", "select_within_classes"]

from .options import QUOTAS


def quota_counts(quota: str, class_sizes, density: float, recalls=None, rule: str = "paper",
                 alpha: float = 1.0, min_count: int = 0, val_outputs=None, seed=0, info: dict | None = None,
                 counts=None, densities=None):
    """Per-class counts of quota rule ``quota`` (None for ``"none"``) from the query model's ``recalls``
    or validation ``val_outputs`` (``{"logits", "labels"}``), or explicit ``counts`` or class
    ``densities``; ``rule`` is the
    rounding rule, ``alpha`` the damping, ``min_count`` a per-class floor, ``seed`` the minimax draws'
    seed; ``info`` receives what the rule predicted (:meth:`gaussian_theory.quota_rules.QuotaRule.counts`)."""
    if quota not in QUOTAS:
        raise ValueError(f"quota must be one of {QUOTAS}, got {quota!r}")
    vo = val_outputs or {}
    if quota == "minimax" and vo.get("logits") is None:
        raise ValueError("quota 'minimax' needs the query model's validation logits (a query cache written "
                         "before they were recorded: delete it to retrain the query model)")
    inputs = QuotaInputs(recalls=recalls, val_logits=vo.get("logits"), val_labels=vo.get("labels"),
                         counts=counts, densities=densities)
    return make_rule(quota, rounding=rule, alpha=alpha).counts(class_sizes, density, inputs,
                                                                min_count=min_count, seed=seed, info=info)
