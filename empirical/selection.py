r"""Class quotas and top-k selection.

The quotas come from the one registry of quota rules, :mod:`gaussian_theory.quota_rules` (none,
uniform, DRoP, probit, minimax, explicit counts; the allocation arithmetic lives only in
:mod:`gaussian_theory.allocation`). Then the top-:math:`n_k` samples by score are kept within each class
(ties: lower index first), by :func:`gaussian_theory.selection.select_within_classes`.
"""

from __future__ import annotations

from gaussian_theory.quota_rules import QuotaInputs, make_rule
from gaussian_theory.selection import select_top_k, select_within_classes

__all__ = ["QUOTAS", "quota_counts", "check_densities_budget", "select_top_k", "select_within_classes"]

from .options import QUOTAS


def quota_counts(quota: str, class_sizes, density: float, recalls=None, rule: str = "paper",
                 alpha: float = 1.0, min_count: int = 0, val_outputs=None, seed=0, info: dict | None = None,
                 counts=None, densities=None):
    r"""Per-class counts of quota rule ``quota`` (None for ``"none"``) from the query model's ``recalls``
    or validation ``val_outputs`` (``{"logits", "labels"}``), or explicit ``counts`` or class
    ``densities``; ``rule`` is the
    rounding rule, ``alpha`` the damping, ``min_count`` a per-class floor, ``seed`` the minimax draws'
    seed; ``info`` receives what the rule predicted (:meth:`gaussian_theory.quota_rules.QuotaRule.counts`).

    Class ``densities`` must keep the budget of ``density``: their kept total :math:`\sum_kd_kN_k` may
    differ from :math:`\mathrm{round}(dN)` (:func:`~gaussian_theory.apportionment.total_kept`) by rounding
    only (:func:`check_densities_budget`); other densities, all-zero ones included, are a ``ValueError``
    naming both numbers (they would otherwise be rescaled, or replaced, without a word)."""
    if quota not in QUOTAS:
        raise ValueError(f"quota must be one of {QUOTAS}, got {quota!r}")
    if quota == "counts" and densities is not None and counts is None:
        check_densities_budget(densities, class_sizes, density)
    vo = val_outputs or {}
    if quota == "minimax" and vo.get("logits") is None:
        raise ValueError("quota 'minimax' needs the query model's validation logits (a query cache written "
                         "before they were recorded: delete it to retrain the query model)")
    inputs = QuotaInputs(recalls=recalls, val_logits=vo.get("logits"), val_labels=vo.get("labels"),
                         counts=counts, densities=densities)
    return make_rule(quota, rounding=rule, alpha=alpha).counts(class_sizes, density, inputs,
                                                                min_count=min_count, seed=seed, info=info)


def check_densities_budget(densities, class_sizes, density) -> float:
    r"""Refuse class ``densities`` whose kept total :math:`\sum_kd_kN_k` is not the budget
    :math:`\mathrm{round}(dN)` of ``density`` up to rounding: half a sample for the budget's own rounding
    plus half a sample per class (densities written from whole counts, or rounded to them), i.e. at most
    :math:`(K+1)/2` samples apart. All-zero densities keep nothing and are refused. Returns the kept
    total; the shapes and ranges are left to the apportionment
    (:func:`gaussian_theory.allocation.counts_from_densities`), which names them."""
    import numpy as np

    from gaussian_theory.allocation import check_class_sizes
    from gaussian_theory.apportionment import total_kept
    from gaussian_theory.validation import check_density

    sizes = check_class_sizes(class_sizes)
    d = check_density(density)
    try:
        dens = np.asarray(densities, dtype=float)
    except (TypeError, ValueError):
        return float("nan")          # not numbers: counts_from_densities says what is wrong
    if dens.shape != sizes.shape or not np.all((dens >= 0) & (dens <= 1)):
        return float("nan")          # likewise for a wrong length or a density outside [0, 1]
    n = int(sizes.sum())
    budget = total_kept(n, d)
    kept = float(dens @ sizes)
    if not dens.any():
        raise ValueError(f"class densities are all 0: they keep no sample, but density {d:g} of {n} samples "
                         f"keeps round(dN) = {budget}")
    tol = 0.5 * (sizes.size + 1) + 1e-9 * n
    if abs(kept - budget) > tol:
        raise ValueError(f"class densities keep {kept:.10g} samples (sum of density x class size), but "
                         f"density {d:g} of {n} samples keeps round(dN) = {budget}: they differ by more than "
                         f"rounding ({tol:g}); give densities that keep {budget} samples, or the density "
                         f"they keep, {kept / n:.6g}")
    return kept
