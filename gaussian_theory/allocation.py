r"""Class allocations for data pruning: DRoP (Algorithm 1 of the paper), its damped variant, the
probit rule (the exact two-Gaussian optimum from recalls) and uniform. numpy/scipy only.

This module is the single implementation of every class-allocation rule in droplab; :mod:`empirical`
imports it. Reference: DRoP, arXiv 2404.05579, §4 and Algorithm 1; README, "The paper's formulas".

**Weights.** Every rule gives class :math:`k` (size :math:`N_k`, validation recall :math:`r_k`,
error :math:`e_k=1-r_k`) a per-sample weight :math:`w_k` and keeps densities :math:`d_k\propto w_k`,
water-filled at the caps :math:`d_k\le1` with :math:`\sum_kN_kd_k=dN`
(:func:`allocation_weights`, ``allocation_rule=``):

* ``"drop"`` (default): :math:`w_k=e_k^{\alpha}`. :math:`\alpha=1` is the paper's Algorithm 1,
  :math:`d_k=d\,e_k/Z`, :math:`Z=\sum_j(N_j/N)e_j`; :math:`0<\alpha<1` damps it toward uniform
  (:math:`\alpha=0`);
* ``"probit"``: :math:`w_k=\varphi(\Phi^{-1}(r_k))^{\alpha}` (:math:`\alpha=1` by default), the exact
  worst-class optimum of the two-Gaussian model (see :func:`allocation_weights`).

Passing ``errors=`` instead of ``recalls=`` avoids forming :math:`1-(1-e_k)`, which cancels for
errors below about 1e-16.

**Saturation.** A class whose density would exceed 1 is capped at 1, its excess redistributed over
the unsaturated classes in proportion to :math:`N_kw_k`. Algorithm 1's loop converges to the unique
*water-filling* solution :math:`d_k=\min\{1,\,c\,w_k\}` with :math:`c` set by the budget; we compute it
directly (:func:`gaussian_theory.apportionment.water_fill`, :math:`O(K\log K)`). A per-class minimum
``min_count`` :math:`m` turns it into :math:`N_kd_k=\mathrm{clip}(c\,N_kw_k,\ \min(m,N_k),\ N_k)`, the same
water-filling with floors.

Edge cases (decided here, tested in ``tests/test_allocation.py``):

* all weights 0 (e.g. all :math:`r_k=1`): uniform densities :math:`d_k=d`;
* :math:`d=1`: every class kept whole;
* every class with :math:`w_k>0` saturates before :math:`dN` is spent: the remaining budget goes to
  the zero-weight classes in proportion to their sizes (equal densities among them);
* an empty class (:math:`N_k=0`) gets density 0 and count 0;
* a non-empty class left with fewer than ``FEW_SAMPLES`` = 5 samples (or 0) where its size allows more
  triggers a ``UserWarning`` naming the classes; ``min_count=`` sets a floor.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtri

from .apportionment import largest_remainder, total_kept, water_fill
from .options import ALLOCATION_RULES, RULES
from .validation import (
    MAX_SIZE,
    as_vector,
    check_density,
    check_int,
    check_option,
    check_real,
    first_bad,
    has_bool,
    short_value,
)

__all__ = [
    "drop_densities", "drop_counts", "uniform_counts", "counts_from_densities", "allocation_weights",
    "check_class_sizes",
    "ALLOCATION_RULES",
    "FEW_SAMPLES",
]

#: Allocation rules (class weights); see the module docstring. ``RULES`` ("paper", "code") is the
#: separate choice of how DRoP's weights become integer counts (:func:`drop_counts`).

#: A non-empty class kept with fewer samples than this (where its size allows more) is warned about.
FEW_SAMPLES = 5


# ----------------------------------------------------------------------------- validation
def check_class_sizes(class_sizes, name: str = "class_sizes") -> np.ndarray:
    """Per-class sample counts: a non-empty 1-D vector of integers in [0, 2**53] (exact in float64).
    Booleans are refused (``TypeError``): a count is an integer, not a truth value."""
    if class_sizes is None:
        raise TypeError(f"{name} is required (one non-negative integer per class), got None")
    if has_bool(class_sizes):
        raise TypeError(f"{name} must be integers (a count of samples, not a truth value), got booleans: "
                        f"{short_value(class_sizes)}")
    raw = as_vector(class_sizes, name, "class sizes")
    first_bad(raw, ~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw)) | (raw > MAX_SIZE), name,
               "be non-negative integers at most 2**53 (larger ones are not exact in float64)")
    if raw.sum() <= 0:
        raise ValueError(f"{name} must contain at least one sample (a positive sum), got {class_sizes!r}")
    if raw.sum() > MAX_SIZE:
        raise ValueError(f"{name} must sum to at most 2**53 (larger totals are not exact in float64), got "
                         f"a total of {raw.sum():.17g}")
    return raw.astype(np.int64)


def _check_rates(values, n_classes: int | None, name: str) -> np.ndarray:
    r = as_vector(values, name, f"per-class {name}")
    if n_classes is not None and r.size != n_classes:
        raise ValueError(f"{name} has {r.size} entries but class_sizes has {n_classes}: {values!r}")
    first_bad(r, np.isnan(r) | (r < 0) | (r > 1), name, "lie in [0, 1]")
    return r


def _check_errors(recalls, errors, n_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Exactly one of ``recalls``/``errors``; returns ``(errors, recall_order)``: the per-class errors
    (``1 - recalls`` when recalls are given) and a tie-break key, smaller = harder class."""
    if (recalls is None) == (errors is None):
        raise TypeError("pass exactly one of recalls= and errors=, "
                        f"got recalls={recalls!r}, errors={errors!r}")
    if errors is None:
        r = _check_rates(recalls, n_classes, "recalls")
        return 1.0 - r, r
    e = _check_rates(errors, n_classes, "errors")
    return e, -e


def _check_min_count(min_count, sizes: np.ndarray) -> np.ndarray:
    """Per-class floors ``min(min_count, N_k)``."""
    m = check_int(min_count, "min_count", minimum=0)
    return np.minimum(sizes, m)


def _floors_fit(floors: np.ndarray, budget: float, min_count) -> None:
    if floors.sum() > budget * (1 + 1e-12):
        raise ValueError(f"min_count={min_count!r} needs {int(floors.sum())} samples (min(min_count, N_k) "
                         f"summed over the classes) but the budget round(dN) is only {budget:g}: lower "
                         "min_count or raise density")


def _warn_few(kept: np.ndarray, sizes: np.ndarray) -> None:
    """UserWarning naming the non-empty classes kept with fewer than FEW_SAMPLES (where N_k allows)."""
    few = (sizes > 0) & (kept < np.minimum(FEW_SAMPLES, sizes) - 1e-9)
    if few.any():
        idx = np.flatnonzero(few)
        shown = ", ".join(f"class {k}: {kept[k]:g} of {int(sizes[k])}" for k in idx[:10])
        more = f" and {idx.size - 10} more" if idx.size > 10 else ""
        warnings.warn(f"{idx.size} class(es) keep fewer than {FEW_SAMPLES} samples ({shown}{more}); "
                      "pass min_count= for a per-class minimum", UserWarning, stacklevel=3)


# ----------------------------------------------------------------------------- weights
def allocation_weights(recalls=None, errors=None, *, allocation_rule: str = "drop", alpha=1.0) -> np.ndarray:
    r"""Per-sample class weights :math:`w_k` of an allocation rule (densities :math:`d_k\propto w_k`).

    Pass exactly one of ``recalls`` (:math:`r_k`) or ``errors`` (:math:`e_k=1-r_k`; exact for tiny
    errors, where :math:`1-r_k` would round to 0). Weights are scaled so that the largest is 1 when
    :math:`\alpha\ne1` (densities depend only on their ratios), so a large :math:`\alpha` cannot
    underflow every weight to 0.

    ``allocation_rule="drop"``: :math:`w_k=e_k^{\alpha}` (arXiv 2404.05579, Algorithm 1, at
    :math:`\alpha=1`). :math:`\alpha\in[0,1)` damps DRoP toward uniform (:math:`\alpha=0`,
    :math:`0^0=1`); :math:`\alpha>1` sharpens it.

    ``allocation_rule="probit"``:
    :math:`w_k=\varphi(\Phi^{-1}(r_k))^{\alpha}=\varphi(\Phi^{-1}(e_k))^{\alpha}` (:math:`\varphi` symmetric).
    In the two-Gaussian model (paper §4, README "The paper's formulas"),
    at the full-data average-risk minimiser :math:`t^*` the recalls are :math:`r_k=\Phi(a_k)` with
    :math:`a_0=(t^*-\mu_0)/\sigma_0`, :math:`a_1=(\mu_1-t^*)/\sigma_1`, so
    :math:`f_k(t^*)=\varphi(a_k)/\sigma_k`; stationarity :math:`\pi_0f_0(t^*)=\pi_1f_1(t^*)` gives
    :math:`\sigma_k\propto\pi_k\varphi(a_k)`, and since the worst-class-optimal pruned priors are
    :math:`\propto\sigma_k` and pruned priors are :math:`\propto d_k\pi_k`, the worst-class-optimal
    densities are :math:`d_k\propto\varphi(\Phi^{-1}(r_k))`, for any priors
    (:func:`gaussian_theory.symbolic.probit_density_ratio_expr`). Water-filled at the caps this is
    exactly :meth:`TwoGaussians.worst_class_optimal_densities` whenever the learned threshold is
    finite (:meth:`TwoGaussians.probit_densities` handles the other case). DRoP's weight is
    :math:`e_k=\Phi(-a_k)\approx\varphi(a_k)/a_k` (Mills ratio): an extra factor :math:`1/a_k` that
    favours the hard class, hence its overshoot.

    Limits, measured: the probit rule is exact only for two 1-D Gaussians at the population level.
    It does not carry over to K classes: in the figure-6 mixture (K = 10, p = 10, README "Figures")
    at d = 0.2 the worst-class risks are probit 0.222, DRoP 0.213, DRoP with :math:`\alpha=1.5`
    0.201, uniform 0.242 (Monte Carlo, 200,000 draws per class), against a minimax bound of 0.185;
    DRoP *under*\ shoots there. At finite n the optimum moves back toward uniform (effective
    :math:`\alpha` of the Monte-Carlo optimum in the reference model, population 0.85: ERM 0.39 /
    0.54 / 0.65 at n = 2,000 / 5,000 / 20,000). Recall 0 or 1 gives weight 0, and a recall below
    1/2 gets the same weight as its mirror :math:`1-r_k`: the rule presumes the recalls of a
    threshold between the classes.
    """
    rule = check_option(allocation_rule, "allocation_rule", ALLOCATION_RULES)
    a = check_real(alpha, "alpha", minimum=0.0)
    e, _ = _check_errors(recalls, errors, None)
    return _weights(e, rule, a)


def _weights(e: np.ndarray, rule: str, alpha: float) -> np.ndarray:
    """Weights from validated errors (see :func:`allocation_weights`)."""
    if rule == "drop":
        if alpha == 1.0:
            return e.copy()
        if alpha == 0.0:
            return np.ones_like(e)
        top = e.max()
        return (e / top) ** alpha if top > 0 else np.zeros_like(e)
    z = ndtri(e)  # -inf / +inf at e = 0 / 1: weight 0
    with np.errstate(invalid="ignore"):
        log_w = -0.5 * z * z  # log(phi(z)) + log(sqrt(2 pi)); the constant cancels
    log_w = np.where(np.isfinite(z), log_w, -np.inf)
    if alpha == 0.0:
        return np.ones_like(e)
    top = log_w.max()
    return np.exp(alpha * (log_w - top)) if np.isfinite(top) else np.zeros_like(e)


# ----------------------------------------------------------------------------- public rules
def _rule_weights(recalls, errors, sizes, allocation_rule, alpha):
    """Validated ``(per-sample weights, tie-break key)`` for ``len(sizes)`` classes."""
    rule = check_option(allocation_rule, "allocation_rule", ALLOCATION_RULES)
    a = check_real(alpha, "alpha", minimum=0.0)
    e, key = _check_errors(recalls, errors, sizes.size)
    return _weights(e, rule, a), (None if a == 0 else key)


def drop_densities(recalls=None, class_sizes=None, density=None, *, errors=None,
                   allocation_rule: str = "drop", alpha=1.0, min_count=0) -> np.ndarray:
    r"""Class densities :math:`d_k=\min\{1,\,c\,w_k\}`, :math:`\sum_kN_kd_k=dN` (DRoP by default).

    With the defaults this is the paper's Algorithm 1 (arXiv 2404.05579): :math:`w_k=1-r_k`, so
    without saturation :math:`d_k=d(1-r_k)/Z`, :math:`Z=\sum_j(N_j/N)(1-r_j)`. See the module
    docstring for saturation and the edge cases, :func:`allocation_weights` for the rules.

    Parameters
    ----------
    recalls : array_like of shape (K,)
        Per-class validation recalls :math:`r_k\in[0,1]` of a query model (or give ``errors``).
    class_sizes : array_like of int, shape (K,)
        Per-class sample counts :math:`N_k\ge0`.
    density : float
        Target dataset density :math:`d\in(0,1]` (fraction of samples kept).
    errors : array_like of shape (K,)
        Keyword-only: per-class errors :math:`e_k=1-r_k\in[0,1]` instead of ``recalls`` (exactly
        one of the two).
    allocation_rule : str
        ``"drop"``: :math:`w_k=e_k^\alpha`; ``"probit"``:
        :math:`w_k=\varphi(\Phi^{-1}(r_k))^\alpha`, the two-Gaussian optimum (from recalls alone it
        cannot see Theorem B.1's infinite-threshold case, which
        :meth:`~gaussian_theory.two_gaussians.TwoGaussians.probit_densities` handles).
    alpha : float
        Exponent :math:`\alpha\ge0` on the weights; 1 = the rule itself, 0 = uniform.
    min_count : int
        Keep at least :math:`\min(m,N_k)` samples of class :math:`k` (a floor in the
        water-filling: :math:`N_kd_k=\mathrm{clip}(cN_kw_k,\min(m,N_k),N_k)`); ValueError if the floors
        exceed :math:`dN`.

    Returns
    -------
    ndarray of shape (K,)
        Fraction of each class to keep. Warns (``UserWarning``) when a non-empty class keeps fewer
        than ``FEW_SAMPLES`` samples in expectation (:math:`d_kN_k`) where it has more.

    Examples
    --------
    >>> drop_densities([0.9, 0.7], [100, 100], 0.5).round(3).tolist()
    [0.25, 0.75]
    >>> drop_densities(errors=[1e-20, 2e-20], class_sizes=[100, 100], density=0.5).round(3).tolist()
    [0.333, 0.667]
    """
    sizes = check_class_sizes(class_sizes)
    w, _ = _rule_weights(recalls, errors, sizes, allocation_rule, alpha)
    d = check_density(density)
    floors = _check_min_count(min_count, sizes)
    _floors_fit(floors, d * sizes.sum(), min_count)
    kept = water_fill(sizes * w, sizes, d * sizes.sum(), floors=floors)
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = np.clip(np.where(sizes > 0, kept / np.maximum(sizes, 1), 0.0), 0.0, 1.0)
    _warn_few(dens * sizes, sizes)
    return dens


def drop_counts(recalls=None, class_sizes=None, density=None, rule: str = "paper", *, errors=None,
                allocation_rule: str = "drop", alpha=1.0, min_count=0) -> np.ndarray:
    r"""Integer class quotas :math:`n_k\le N_k` with :math:`\sum_kn_k=\mathrm{round}(dN)` exactly
    (DRoP by default; ``errors=``, ``allocation_rule=``, ``alpha=``, ``min_count=`` as in
    :func:`drop_densities`).

    ``rule="paper"`` (default) -- Algorithm 1 of the paper: *densities* proportional to
    :math:`w_k` (:math:`1-r_k` for DRoP), i.e. counts :math:`n_k\approx\min\{N_k,\,c\,N_kw_k\}`.

    ``rule="code"`` -- the official repository (``quoters/drop.py``): *counts* proportional to
    :math:`w_k`, ignoring :math:`N_k`, i.e. :math:`n_k\approx\min\{N_k,\,c\,w_k\}`, overflow
    redistributed in proportion to :math:`w_k`. The two coincide when all :math:`N_k` are equal
    (CIFAR-10/100) and differ on imbalanced data, where the code rule gives a small hard class as
    many samples as a large one with the same recall. Unlike the official code (which floors and
    then tops up with uniformly random samples from the whole pool), both rules here round by
    largest remainder, so the class counts themselves sum exactly to the budget. With
    :math:`\alpha=0` (every weight 1) the paper rule is :func:`uniform_counts` and the code rule gives
    every non-empty class the same count.

    Rounding: :math:`\mathrm{round}(dN)=\lfloor dN+1/2\rfloor`; real quotas are computed for that
    exact total and rounded by :func:`~gaussian_theory.apportionment.largest_remainder`, ties going to the
    class with the lower recall (higher error), then the lower index (the index alone when
    :math:`\alpha=0`, as in :func:`uniform_counts`). Every count is within one unit of its real quota
    and at least :math:`\min(m,N_k)`. Warns (``UserWarning``, naming the classes) when a non-empty class gets
    fewer than ``FEW_SAMPLES`` = 5 samples where its size allows more.

    Examples
    --------
    >>> drop_counts([0.9, 0.7], [100, 300], 0.5).tolist()
    [20, 180]
    >>> drop_counts([0.9, 0.7], [100, 300], 0.5, rule="code").tolist()
    [50, 150]
    """
    sizes = check_class_sizes(class_sizes)
    w, key = _rule_weights(recalls, errors, sizes, allocation_rule, alpha)
    d = check_density(density)
    check_option(rule, "rule", RULES)
    floors = _check_min_count(min_count, sizes)
    total = total_kept(int(sizes.sum()), d)
    _floors_fit(floors, total, min_count)
    weights = sizes * w if rule == "paper" else w * (sizes > 0)
    quotas = water_fill(weights, sizes, total, floors=floors)
    counts = largest_remainder(quotas, sizes, total, priority=key, floors=floors)
    _warn_few(counts, sizes)
    return counts


def counts_from_densities(densities, class_sizes, density, *, min_count=0) -> np.ndarray:
    r"""Integer class counts for given real class densities :math:`d_k` (e.g. a minimax allocation),
    by the same apportionment as :func:`drop_counts`: quotas :math:`\propto N_kd_k`, water-filled so
    that :math:`\sum_kn_k=\mathrm{round}(dN)` exactly at the caps :math:`n_k\le N_k` (with the floors
    :math:`\min(m,N_k)` of ``min_count``), then rounded by
    :func:`~gaussian_theory.apportionment.largest_remainder` (ties to the class with the larger density,
    then the lower index). Warns like :func:`drop_counts`.

    Examples
    --------
    >>> counts_from_densities([0.2, 0.8], [100, 100], 0.5).tolist()
    [20, 80]
    """
    sizes = check_class_sizes(class_sizes)
    dens = as_vector(densities, "densities", "class densities")
    if dens.size != sizes.size:
        raise ValueError(f"densities must have one entry per class ({sizes.size}), got {dens.size}")
    first_bad(dens, ~((dens >= 0) & (dens <= 1)), "densities", "lie in [0, 1]")
    d = check_density(density)
    floors = _check_min_count(min_count, sizes)
    total = total_kept(int(sizes.sum()), d)
    _floors_fit(floors, total, min_count)
    weights = sizes * dens
    if not weights.any():   # nothing kept anywhere: fall back to the class proportions
        weights = sizes.astype(float)
    quotas = water_fill(weights, sizes, total, floors=floors)
    counts = largest_remainder(quotas, sizes, total, priority=-dens, floors=floors)
    _warn_few(counts, sizes)
    return counts


def uniform_counts(class_sizes, density, *, min_count=0) -> np.ndarray:
    r"""Keep the class proportions: :math:`n_k\approx dN_k`, :math:`\sum_kn_k=\mathrm{round}(dN)` exactly,
    with at least :math:`\min(m,N_k)` per class for ``min_count`` :math:`m` (as in :func:`drop_counts`;
    warns in the same way).

    Examples
    --------
    >>> uniform_counts([15, 15, 15], 0.5).tolist()  # 22.5 -> 23; quotas 7.5, ties to the lower index
    [8, 8, 7]
    """
    sizes = check_class_sizes(class_sizes)
    d = check_density(density)
    floors = _check_min_count(min_count, sizes)
    total = total_kept(int(sizes.sum()), d)
    _floors_fit(floors, total, min_count)
    quotas = water_fill(sizes.astype(float), sizes, total, floors=floors)
    counts = largest_remainder(quotas, sizes, total, floors=floors)
    _warn_few(counts, sizes)
    return counts
