r"""Apportionment: how a budget becomes per-class amounts, the arithmetic under every allocation rule.

* :func:`water_fill`: continuous amounts
  :math:`x_k=\mathrm{clip}(c\,w_k,\ \mathrm{lo}_k,\ \mathrm{cap}_k)` with :math:`\sum_kx_k` equal to the
  budget -- the unique solution Algorithm 1 of the DRoP paper (arXiv 2404.05579) converges to,
  computed directly in :math:`O(K\log K)`;
* :func:`largest_remainder`: integer amounts from fractional quotas (Hamilton's method) within caps and
  floors;
* :func:`round_half_up`, :func:`total_kept`: the integer total :math:`\mathrm{round}(dN)` kept at density
  :math:`d`;
* :func:`population_sizes`: class sizes :math:`10^6\pi_k` for a mixture given by its priors.

The rules that choose the weights live in :mod:`gaussian_theory.allocation`.
"""

from __future__ import annotations

import numpy as np

from .validation import MAX_SIZE, as_vector, check_density, check_int, check_real, first_bad

__all__ = ["water_fill", "largest_remainder", "round_half_up", "total_kept", "population_sizes"]


def water_fill(weights, caps, budget: float, floors=None) -> np.ndarray:
    r"""Fill ``budget`` units into bins: :math:`x_k=\mathrm{clip}(c\,w_k,\ \mathrm{lo}_k,\ \mathrm{cap}_k)`
    with :math:`\sum_kx_k=\mathrm{budget}` (``floors`` :math:`\mathrm{lo}_k`, default 0).

    If every bin with :math:`w_k>0` is full and budget remains, the rest is spread over the
    zero-weight bins by the same rule with weights :math:`\mathrm{cap}_k` (in proportion to their caps
    when there are no floors). Requires ``sum(floors) <= budget <= sum(caps)``. Vectorised:
    :math:`\sum_k x_k(c)` is piecewise linear in :math:`c` with kinks at :math:`\mathrm{lo}_k/w_k` and
    :math:`\mathrm{cap}_k/w_k`; the kinks are sorted and :math:`c` found from cumulative sums.
    """
    w = _check_bins(weights, "weights")
    cap = _check_bins(caps, "caps", w.size)
    lo = np.zeros_like(cap) if floors is None else np.minimum(_check_bins(floors, "floors", w.size), cap)
    budget = check_real(budget, "budget", minimum=0.0)
    total_cap = cap.sum()
    if not (lo.sum() * (1 - 1e-12) <= budget <= total_cap * (1 + 1e-12)):
        raise ValueError(f"budget must lie in [sum(floors)={lo.sum()}, sum(caps)={total_cap}], "
                         f"got {budget!r}")
    if budget >= total_cap:  # everything fits: exact, without c's rounding error
        return cap.copy()
    x = lo.copy()
    active = (w > 0) & (cap > 0)
    zero = ~active & (cap > 0)
    room_active = float(cap[active].sum() + lo[zero].sum())
    if budget - room_active <= 1e-9 * max(total_cap, 1.0):  # the weighted bins take it all
        x[active] = _clip_fill(w[active], lo[active], cap[active], budget - lo[~active].sum())
        return x
    x[active] = cap[active]
    if not lo[zero].any():  # equal densities, in proportion to the caps
        x[zero] = cap[zero] * (budget - x.sum()) / cap[zero].sum()
    else:
        x[zero] = _clip_fill(cap[zero], lo[zero], cap[zero], budget - x[~zero].sum())
    return np.minimum(x, cap)


def _check_bins(values, name: str, size: int | None = None) -> np.ndarray:
    """A non-empty 1-D vector of finite numbers >= 0 (of length ``size`` when given): the weights, caps
    and floors of :func:`water_fill`, which would otherwise clamp a negative entry or read NaN as 0."""
    arr = as_vector(values, name, "non-negative numbers")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} must have one entry per bin ({size}), got {arr.size}: {values!r}")
    first_bad(arr, ~np.isfinite(arr) | (arr < 0), name, "be finite and >= 0")
    return arr


def _clip_fill(w: np.ndarray, lo: np.ndarray, cap: np.ndarray, budget: float) -> np.ndarray:
    """:math:`\\mathrm{clip}(c w, lo, cap)` summing to ``budget``, every ``w > 0``."""
    if w.size == 0 or budget >= cap.sum():
        return cap.copy()
    # Kinks of sum_k clip(c w_k, lo_k, cap_k): bin k leaves its floor at lo/w and fills at cap/w.
    # Events sorted by level (floors first on ties); after event i, the free bins are those whose
    # floor event is done and whose cap event is not. On the segment after event i the budget is met
    # at c_i = (budget - sum(lo of floored) - sum(cap of full)) / sum(w of free); the first c_i that
    # does not pass the next kink is the answer (as in Algorithm 1's fixed point).
    k = w.size
    level = np.concatenate([lo / w, cap / w])
    is_cap = np.concatenate([np.zeros(k, bool), np.ones(k, bool)])
    order = np.lexsort((is_cap, level))
    lvl, cap_ev, bins = level[order], is_cap[order], np.concatenate([np.arange(k), np.arange(k)])[order]
    lo_left = lo.sum() - np.cumsum(np.where(cap_ev, 0.0, lo[bins]))
    cap_done = np.cumsum(np.where(cap_ev, cap[bins], 0.0))
    # Free weight after event i: weights of floor events done minus cap events done, summed from the
    # end (floors: the remaining cap events' weights minus the remaining floor events') so that the
    # common no-floor case is the exact reverse cumulative sum of the unsaturated weights.
    w_caps_left = np.concatenate([np.cumsum(np.where(cap_ev, w[bins], 0.0)[::-1])[::-1][1:], [0.0]])
    w_lo_left = np.concatenate([np.cumsum(np.where(cap_ev, 0.0, w[bins])[::-1])[::-1][1:], [0.0]])
    w_free = w_caps_left - w_lo_left
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (budget - lo_left - cap_done) / w_free
    nxt = np.concatenate([lvl[1:], [np.inf]])
    fits = (w_free > 0) & (c <= nxt)
    i = int(np.argmax(fits)) if fits.any() else int(np.flatnonzero(w_free > 0)[-1])
    done = np.zeros(2 * k, bool)
    done[order[: i + 1]] = True
    floored, full = ~done[:k], done[k:]
    free = ~floored & ~full
    if w_lo_left[i] == 0:  # no floor binds: c_i as computed (exactly Algorithm 1's fixed point)
        c_i = c[i]
    elif free.any():  # recompute from the segment's three sets: w_free may have cancelled
        c_i = (budget - lo[floored].sum() - cap[full].sum()) / w[free].sum()
    else:  # a zero-length segment: any c on it
        c_i = lvl[i]
    x = np.clip(c_i * w, lo, cap)
    x[full], x[floored] = cap[full], lo[floored]
    return x


def largest_remainder(quotas, caps, total: int, priority=None, floors=None) -> np.ndarray:
    """Round real ``quotas`` (``floors <= quotas <= caps``) to integers summing exactly to ``total``.

    Floors every quota, then hands the missing units one each to the classes with the largest
    fractional parts. Ties are broken deterministically by ``priority`` (smaller first; DRoP passes
    the recalls, so a harder class wins a tie), then by class index. A class at its cap never
    receives a unit, and a class at its (integer) floor never gives one back.
    """
    q = _check_bins(quotas, "quotas")
    cap = _check_counts(caps, "caps", q.size)
    low = np.zeros_like(cap) if floors is None else _check_counts(floors, "floors", q.size)
    total = check_int(total, "total", minimum=0)
    first_bad(low, low > cap, "floors", "not exceed caps")
    if not int(low.sum()) <= total <= int(cap.sum()):
        raise ValueError(f"total must lie in [sum(floors), sum(caps)] = [{int(low.sum())}, "
                         f"{int(cap.sum())}], got {total}")
    counts = np.clip(np.floor(q + 1e-9).astype(np.int64), low, cap)  # 1e-9: 4.9999999999 is 5
    missing = int(total - counts.sum())
    if missing < 0:  # quotas summed above total by rounding; take back from smallest remainders
        frac = q - counts
        key = np.lexsort((np.arange(q.size), frac))
        key = key[counts[key] > low[key]]
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


def _check_counts(values, name: str, size: int) -> np.ndarray:
    """``size`` non-negative integers (whole floats accepted) as int64."""
    arr = _check_bins(values, name, size)
    first_bad(arr, (arr != np.round(arr)) | (arr > MAX_SIZE), name, "be integers in [0, 2**53]")
    return arr.astype(np.int64)


def round_half_up(x) -> np.ndarray:
    r"""Round to the nearest integer, halves up: :math:`\lfloor x+1/2\rfloor` (+1e-9 so that a
    product such as 0.3 * 5 = 1.4999999999999998 rounds as written). Vectorised; ``ValueError`` for
    NaN, inf or a value beyond :math:`\pm2^{62}` (no int64 holds it)."""
    arr = np.asarray(x, dtype=float)
    if not (np.isfinite(arr) & (np.abs(arr) <= 2.0**62)).all():
        bad = arr[~(np.isfinite(arr) & (np.abs(arr) <= 2.0**62))].flat[0]
        raise ValueError(f"round_half_up needs finite numbers within +-2**62, got {float(bad)!r}")
    return np.floor(arr + 0.5 + 1e-9).astype(np.int64)


def total_kept(n_samples: int, density: float) -> int:
    r"""The number of samples a pruning to ``density`` keeps: round(d N) with halves rounded up,
    :func:`round_half_up` of :math:`dN`.
    Every rule here, and the empirical pipeline's global top-k, uses this one total. ``n_samples``: an
    integer in [0, 2**53]; ``density``: in (0, 1]."""
    n = check_int(n_samples, "n_samples", minimum=0, maximum=MAX_SIZE)
    return int(round_half_up(check_density(density) * n))


def population_sizes(priors, total: int = 10**6) -> np.ndarray:
    r"""Integer class sizes standing for a population with class ``priors`` (the theory's convention
    where an allocation function needs sizes): :math:`N_k=\max(1,\mathrm{round}(\pi_kT))` for
    :math:`\pi_k>0`, 0 for :math:`\pi_k=0`, :math:`T` = ``total``.

    A class with a positive prior never gets size 0 (so it is never dropped for rounding); the sizes
    then sum to :math:`T` plus at most one per such tiny class. Prefer the exact priors where the
    caller can (:meth:`TwoGaussians.drop_densities` water-fills the priors themselves).

    >>> population_sizes([0.9999999, 0.0000001]).tolist()
    [1000000, 1]
    """
    t = check_int(total, "total", minimum=1)
    p = as_vector(priors, "priors", "class priors")
    first_bad(p, ~np.isfinite(p) | (p < 0), "priors", "be finite and non-negative")
    if p.sum() <= 0:
        raise ValueError(f"priors must have a positive entry, got {priors!r}")
    p = p / p.sum()
    sizes = round_half_up(p * t)
    return np.where(p > 0, np.maximum(sizes, 1), 0)
