r"""Class allocations for data pruning: DRoP (Algorithm 1 of the paper) and uniform. numpy only.

This module is the single implementation of DRoP in droplab; :mod:`empirical` imports it.

DRoP (paper Algorithm 1, notes §2.2–2.3). Given validation recalls :math:`r_k`, class sizes
:math:`N_k` (:math:`N=\sum_kN_k`) and a target dataset density :math:`d`:

.. math::
    d_k=\frac{d\,(1-r_k)}{Z},\qquad Z=\sum_j\frac{N_j}{N}(1-r_j),\qquad \sum_kN_kd_k=dN,

and a class whose density would exceed 1 is capped at 1, its excess redistributed over the
unsaturated classes in proportion to :math:`N_k(1-r_k)`. Algorithm 1's loop converges to the unique
*water-filling* solution :math:`d_k=\min\{1,\,c(1-r_k)\}` with :math:`c` set by the budget: each
pass adds density proportional to :math:`1-r_k` to every unsaturated class, so unsaturated classes
end at a common multiple :math:`c(1-r_k)` and saturated ones at 1 with :math:`c(1-r_k)\ge1`.
We compute that solution directly, in :math:`O(K\log K)`, instead of iterating.

Edge cases (decided here, tested in ``tests/test_allocation.py``):

* all :math:`r_k=1` (:math:`Z=0`): uniform densities :math:`d_k=d`;
* :math:`d=1`: every class kept whole;
* every class with :math:`r_k<1` saturates before :math:`dN` is spent: the remaining budget goes to
  the classes with :math:`r_k=1` in proportion to their sizes (equal densities among them);
* an empty class (:math:`N_k=0`) gets density 0 and count 0.
"""

from __future__ import annotations

import numbers

import numpy as np

from .validation import check_density

__all__ = [
    "drop_densities", "drop_counts", "uniform_counts", "total_kept", "round_half_up", "water_fill",
    "largest_remainder",
]

RULES = ("paper", "code")


# ----------------------------------------------------------------------------- validation
def _as_vector(value, name: str, what: str) -> np.ndarray:
    """A non-empty 1-D float vector, one entry per class."""
    if isinstance(value, (numbers.Number, str, bytes)):
        raise TypeError(f"{name} must be a sequence of {what}, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {value!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got {value!r}")
    return arr


def _first_bad(arr: np.ndarray, bad: np.ndarray, name: str, rule: str) -> None:
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must {rule}, got {name}[{k}] = {float(arr[k])!r}")


def _check_sizes(class_sizes, name: str = "class_sizes") -> np.ndarray:
    raw = _as_vector(class_sizes, name, "class sizes")
    _first_bad(raw, ~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw)), name, "be non-negative integers")
    if raw.sum() <= 0:
        raise ValueError(f"{name} must contain at least one sample, got {class_sizes!r}")
    return raw.astype(np.int64)


def _check_recalls(recalls, n_classes: int, name: str = "recalls") -> np.ndarray:
    r = _as_vector(recalls, name, "per-class recalls")
    if r.size != n_classes:
        raise ValueError(f"{name} has {r.size} entries but class_sizes has {n_classes}: {recalls!r}")
    _first_bad(r, np.isnan(r) | (r < 0) | (r > 1), name, "lie in [0, 1]")
    return r


# ----------------------------------------------------------------------------- mechanisms
def water_fill(weights, caps, budget: float) -> np.ndarray:
    r"""Fill ``budget`` units into bins: :math:`x_k=\min\{\mathrm{cap}_k,\,c\,w_k\}` with
    :math:`\sum_kx_k=\mathrm{budget}`.

    If every bin with :math:`w_k>0` is full and budget remains, the rest is spread over the
    zero-weight bins in proportion to their caps. Requires ``0 <= budget <= sum(caps)``.
    Vectorised: bins are sorted by :math:`w_k/\mathrm{cap}_k` (the order in which they saturate)
    and :math:`c` found from cumulative sums.
    """
    w = np.asarray(weights, dtype=float)
    cap = np.asarray(caps, dtype=float)
    total_cap = cap.sum()
    if not (0 <= budget <= total_cap * (1 + 1e-12)):
        raise ValueError(f"budget must lie in [0, sum(caps)={total_cap}], got {budget!r}")
    if budget >= total_cap:  # everything fits: exact, without c's rounding error
        return cap.copy()
    x = np.zeros_like(cap)
    active = (w > 0) & (cap > 0)
    if active.any():
        idx = np.flatnonzero(active)
        # A bin saturates once c >= cap/w; sort by that level, smallest first.
        level = cap[idx] / w[idx]
        order = idx[np.argsort(level, kind="stable")]
        lvl = cap[order] / w[order]
        # If the first j bins (in saturation order) are full: c_j = (budget - sum cap_<j) / sum w_>=j.
        cap_before = np.concatenate([[0.0], np.cumsum(cap[order])[:-1]])
        w_from = np.cumsum(w[order][::-1])[::-1]
        c = (budget - cap_before) / w_from
        # The right j is the first whose own bin does not overflow at c_j.
        fits = c <= lvl
        if fits.any():
            j = int(np.argmax(fits))
            x[order] = np.minimum(cap[order], c[j] * w[order])
            x[order[:j]] = cap[order[:j]]
        else:  # every weighted bin is full
            x[order] = cap[order]
    remaining = budget - x.sum()
    zero = ~active & (cap > 0)
    if remaining > 1e-9 * max(total_cap, 1.0) and zero.any():
        x[zero] = cap[zero] * remaining / cap[zero].sum()
    return np.minimum(x, cap)


def largest_remainder(quotas, caps, total: int, priority=None) -> np.ndarray:
    """Round real ``quotas`` (``0 <= quotas <= caps``) to integers summing exactly to ``total``.

    Floors every quota, then hands the missing units one each to the classes with the largest
    fractional parts. Ties are broken deterministically by ``priority`` (smaller first; DRoP passes
    the recalls, so a harder class wins a tie), then by class index. A class at its cap never
    receives a unit.
    """
    q = np.asarray(quotas, dtype=float)
    cap = np.asarray(caps, dtype=np.int64)
    counts = np.minimum(np.floor(q + 1e-9).astype(np.int64), cap)  # 1e-9: 4.9999999999 is 5
    missing = int(total - counts.sum())
    if missing < 0:  # quotas summed above total by rounding; take back from smallest remainders
        frac = q - counts
        key = np.lexsort((np.arange(q.size), frac))
        key = key[counts[key] > 0]
        counts[key[:-missing]] -= 1
        return counts
    if missing == 0:
        return counts
    frac = q - counts
    prio = np.zeros(q.size) if priority is None else np.asarray(priority, dtype=float)
    eligible = counts < cap
    # lexsort: last key is primary -> sort by -frac, then priority, then index. Fractions are
    # compared at 1e-9 (as in the floor above): quotas that tie exactly on paper (1.5 and 0.5) come
    # out of water_fill a few ulps apart, in an order that depends on the class order.
    order = np.lexsort((np.arange(q.size), prio, -np.round(frac, 9)))
    order = order[eligible[order]]
    if order.size < missing:
        raise ValueError(f"cannot place {missing} more units under the caps {cap.tolist()}")
    counts[order[:missing]] += 1
    return counts


def round_half_up(x) -> np.ndarray:
    r"""Round to the nearest integer, halves up: :math:`\lfloor x+1/2\rfloor` (+1e-9 so that a
    product such as 0.3 * 5 = 1.4999999999999998 rounds as written). Vectorised."""
    return np.floor(np.asarray(x, dtype=float) + 0.5 + 1e-9).astype(np.int64)


def total_kept(n_samples: int, density: float) -> int:
    r"""The number of samples a pruning to ``density`` keeps: round(d N) with halves rounded up,
    :func:`round_half_up` of :math:`dN`.
    Every rule here, and the empirical pipeline's global top-k, uses this one total."""
    return int(round_half_up(density * n_samples))


# ----------------------------------------------------------------------------- public rules
def drop_densities(recalls, class_sizes, density) -> np.ndarray:
    r"""DRoP class densities (paper Algorithm 1): :math:`d_k=\min\{1,\,c(1-r_k)\}`, :math:`\sum_kN_kd_k=dN`.

    Without saturation this is :math:`d_k=d(1-r_k)/Z`, :math:`Z=\sum_j(N_j/N)(1-r_j)`. See the
    module docstring for saturation and the edge cases.

    Parameters
    ----------
    recalls : per-class validation recalls :math:`r_k\in[0,1]` of a query model.
    class_sizes : per-class sample counts :math:`N_k\ge0` (integers).
    density : target dataset density :math:`d\in(0,1]` (fraction of samples kept).

    Returns
    -------
    ndarray of shape (K,): fraction of each class to keep.

    Examples
    --------
    >>> drop_densities([0.9, 0.7], [100, 100], 0.5).round(3).tolist()
    [0.25, 0.75]
    """
    sizes = _check_sizes(class_sizes)
    r = _check_recalls(recalls, sizes.size)
    d = check_density(density)
    kept = water_fill(sizes * (1.0 - r), sizes, d * sizes.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = np.where(sizes > 0, kept / np.maximum(sizes, 1), 0.0)
    return np.clip(dens, 0.0, 1.0)


def drop_counts(recalls, class_sizes, density, rule: str = "paper") -> np.ndarray:
    r"""Integer DRoP quotas :math:`n_k\le N_k` with :math:`\sum_kn_k=\mathrm{round}(dN)` exactly.

    ``rule="paper"`` (default) -- Algorithm 1 of the paper: *densities* proportional to
    :math:`1-r_k`, i.e. counts :math:`n_k\approx\min\{N_k,\,c\,N_k(1-r_k)\}`.

    ``rule="code"`` -- the official repository (``quoters/drop.py``): *counts* proportional to
    :math:`1-r_k`, ignoring :math:`N_k`, i.e. :math:`n_k\approx\min\{N_k,\,c(1-r_k)\}`, overflow
    redistributed in proportion to :math:`1-r_k`. The two coincide when all :math:`N_k` are equal
    (CIFAR-10/100) and differ on imbalanced data, where the code rule gives a small hard class as
    many samples as a large one with the same recall. Unlike the official code (which floors and
    then tops up with uniformly random samples from the whole pool), both rules here round by
    largest remainder, so the class counts themselves sum exactly to the budget.

    Rounding: :math:`\mathrm{round}(dN)=\lfloor dN+1/2\rfloor`; real quotas are computed for that
    exact total and rounded by :func:`largest_remainder`, ties going to the class with the lower
    recall, then the lower index. Every count is within one unit of its real quota.

    Examples
    --------
    >>> drop_counts([0.9, 0.7], [100, 300], 0.5).tolist()
    [20, 180]
    >>> drop_counts([0.9, 0.7], [100, 300], 0.5, rule="code").tolist()
    [50, 150]
    """
    sizes = _check_sizes(class_sizes)
    r = _check_recalls(recalls, sizes.size)
    d = check_density(density)
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    total = total_kept(int(sizes.sum()), d)
    weights = sizes * (1.0 - r) if rule == "paper" else (1.0 - r) * (sizes > 0)
    quotas = water_fill(weights, sizes, total)
    return largest_remainder(quotas, sizes, total, priority=r)


def uniform_counts(class_sizes, density) -> np.ndarray:
    r"""Keep the class proportions: :math:`n_k\approx dN_k`, :math:`\sum_kn_k=\mathrm{round}(dN)` exactly.

    Examples
    --------
    >>> uniform_counts([5, 5, 5], 0.5).tolist()
    [3, 3, 2]
    """
    sizes = _check_sizes(class_sizes)
    d = check_density(density)
    total = total_kept(int(sizes.sum()), d)
    quotas = water_fill(sizes.astype(float), sizes, total)
    return largest_remainder(quotas, sizes, total)
