r"""Test-set uncertainty of one run's accuracies (numpy only: no torch, usable on recorded JSONs).

Method: a **stratified bootstrap over test images** (Efron & Tibshirani 1993, ch. 13, percentile
interval). The test half is resampled with replacement *within each class*, so every resample keeps
the class sizes :math:`n_k` of the test half, as the real test set does. Under that resampling the
number of correctly classified images of class :math:`k` is exactly
:math:`C_k^*\sim\mathrm{Binomial}(n_k,\hat p_k)` with :math:`\hat p_k=c_k/n_k`, independently over
classes, so the resamples are drawn as binomial counts (vectorised, no loop over resamples) instead of
index draws; the result is the same distribution. From each resample

.. math:: \mathrm{acc}^*=\frac{\sum_k C_k^*}{\sum_k n_k},\qquad
          \mathrm{worst}^*=\min_k \frac{C_k^*}{n_k},

and the 95% interval is the 2.5% and 97.5% quantiles (``inverted_cdf``) of the resamples, with a fixed
seed (default 0) so recomputing from the JSON gives the recorded numbers. Per-class recalls get Wilson
score intervals (:func:`gaussian_theory.intervals.wilson_interval`).

Caveat: the minimum of noisy recalls is biased low, and the percentile bootstrap of a minimum is not
exact when several classes are close to the minimum; the worst-class interval describes test-set
noise around the *observed* per-class recalls, not the seed-to-seed spread of training, which the
report carries in the paired t interval over seeds (:mod:`empirical.power`).

:func:`paired_difference_interval` compares two runs evaluated on the same test images (e.g. a DRoP
run and the Random run of the same seed): images are resampled jointly (stratified), so the
per-image correlation of the two classifiers is kept. Only four kinds of image matter to either
difference -- both runs right, only a right, only b right, both wrong -- so a stratified resample of
class :math:`k` is the multinomial count vector
:math:`(N_{11},N_{10},N_{01},N_{00})_k\sim\mathrm{Multinomial}(n_k, \hat\pi_k)` of those kinds, with
:math:`A_k=N_{11}+N_{10}` and :math:`B_k=N_{11}+N_{01}` the two runs' correct counts.

**The paired interval does not depend on a random seed where it can be computed exactly.** A
percentile interval's end sits on the lattice of possible differences (steps of :math:`1/n_k` for the
worst class); whether it lies above 0 depends on whether the bootstrap distribution function at 0 is
above or below :math:`(1-\text{level})/2`. On the committed CIFAR runs that distribution function is as
close as 0.0009 to 0.025 (small CNN, EL2N at d = 0.5, seed 0: :math:`P^*(\Delta\le 0)=0.0241`), where a
Monte Carlo bootstrap of 2,000 resamples (standard error 0.0035) flips the statement with the seed and
even :math:`10^6` resamples leave a 6-standard-error margin only. So the bootstrap distribution itself
(the limit of infinitely many resamples) is computed instead of sampled:

* average accuracy, always: :math:`\sum_k (N_{10}-N_{01})_k` has the probability generating function
  :math:`\prod_k(\hat\pi_{11,k}+\hat\pi_{00,k}+\hat\pi_{10,k}z+\hat\pi_{01,k}z^{-1})^{n_k}`, evaluated
  at roots of unity and inverted by one real FFT of length :math:`\ge 2\sum_k n_k+1` (no aliasing);
* worst-class accuracy, when every class with test images has the same count :math:`n` (CIFAR's test
  halves: 500 each) and :math:`n\le` :data:`EXACT_MAX_PER_CLASS`: the joint law of
  :math:`(A_k,B_k)` is the coefficient array of :math:`(\hat\pi_{00}+\hat\pi_{10}x+\hat\pi_{01}y+
  \hat\pi_{11}xy)^{n}`, from a 2-d FFT over a window around the means that holds all but
  :math:`10^{-18}` of the mass (Hoeffding), the classes are independent, so
  :math:`P(\min_k A_k\ge i,\ \min_k B_k\ge j)=\prod_k P(A_k\ge i, B_k\ge j)`, and the law of
  :math:`(\min_k A_k - \min_k B_k)/n` follows by differencing that joint survival function.

The interval ends are then the exact quantiles :math:`\min\{x: F(x)\ge q\}` (``inverted_cdf``, the
definition the sampled bootstrap uses; :math:`F` is read with a :math:`10^{-9}` tolerance, far above
the FFT's rounding, about :math:`10^{-11}`). Otherwise (classes of different sizes) the worst-class
difference is sampled: ``n_boot`` multinomial draws of the four counts per class (no loop over
resamples; in chunks of bounded memory) from the given seed; :func:`empirical.report_comparisons.paired_rows`
derives that seed from the comparison's identity (study, density, method, baseline, seed), so a
report is reproducible run to run and different comparisons draw independent streams.
"""

from __future__ import annotations

import numpy as np

from gaussian_theory.intervals import wilson_interval
from gaussian_theory.validation import as_generator, check_int, check_real, check_seed

from .classes import correct_counts

__all__ = ["accuracy_intervals", "paired_difference_interval", "class_correct_counts", "INTERVAL_METHOD",
           "paired_category_counts", "paired_accuracy_distribution", "paired_worst_class_distribution",
           "EXACT_MAX_PER_CLASS", "PAIRED_METHODS"]

INTERVAL_METHOD = ("stratified bootstrap over test images (binomial per-class counts), percentile "
                   "interval; per-class recalls: Wilson score")


def _labels_predictions(predictions, labels, num_classes, name="predictions"):
    pred = np.asarray(predictions)
    y = np.asarray(labels)
    if pred.ndim != 1 or y.ndim != 1 or pred.shape != y.shape or y.size == 0:
        raise ValueError(f"{name} and labels must be non-empty 1-d sequences of equal length, got shapes "
                         f"{pred.shape} and {y.shape}")
    for arr, nm in ((pred, name), (y, "labels")):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{nm} must hold integer class ids, got dtype {arr.dtype}")
        if arr.min() < 0:
            raise ValueError(f"{nm} must hold non-negative class ids, got {int(arr.min())}")
    k = int(max(pred.max(), y.max())) + 1 if num_classes is None else check_int(num_classes, "num_classes", 1)
    if y.max() >= k or pred.max() >= k:
        raise ValueError(f"class ids must be < num_classes={k}, got max label {int(y.max())}, "
                         f"max prediction {int(pred.max())}")
    return pred, y, k


def class_correct_counts(predictions, labels, num_classes=None) -> tuple[np.ndarray, np.ndarray]:
    """``(correct, n)`` per class: images of class k classified as k, and images of class k."""
    pred, y, k = _labels_predictions(predictions, labels, num_classes)
    return correct_counts(pred, y, k)


def _check_boot(level, n_boot):
    level = check_real(level, "level", 0.0, 1.0, strict_minimum=True)
    if level >= 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    return level, check_int(n_boot, "n_boot", 100)


def _quantiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    a = (1.0 - level) / 2
    lo, hi = np.quantile(samples, [a, 1.0 - a], method="inverted_cdf")
    return float(lo), float(hi)


def bootstrap_counts(correct, n, n_boot: int, seed=0) -> np.ndarray:
    """``(n_boot, K)`` stratified-bootstrap correct counts: column k ~ Binomial(n_k, correct_k / n_k)."""
    correct, n = np.asarray(correct, dtype=np.int64), np.asarray(n, dtype=np.int64)
    rng = as_generator(seed)
    p = np.divide(correct, n, out=np.zeros(n.shape), where=n > 0)
    return rng.binomial(n[None, :], p[None, :], size=(n_boot, n.size))


def accuracy_intervals(predictions, labels, num_classes=None, *, level: float = 0.95, n_boot: int = 2000,
                       seed=0, class_names=None) -> dict:
    """Intervals for average and worst-class accuracy of one run on its test images.

    Classes without test images are left out of the worst class (as in ``evaluation.evaluate``). Returns
    ``{"method", "level", "n_boot", "seed", "n_per_class", "accuracy": {"estimate", "low", "high"},
    "worst_class_accuracy": {...}, "worst_class": k, "worst_class_name", "recalls": {"estimate", "low",
    "high"}}`` (recall lists hold ``None`` for classes without test images).
    """
    level, n_boot = _check_boot(level, n_boot)
    correct, n = class_correct_counts(predictions, labels, num_classes)
    if class_names is not None and len(class_names) != n.size:
        raise ValueError(f"class_names has {len(class_names)} names for {n.size} classes")
    has = n > 0
    boot = bootstrap_counts(correct, n, n_boot, seed)
    acc_star = boot.sum(1) / n.sum()
    worst_star = (boot[:, has] / n[has]).min(1)
    rec = np.full(n.size, np.nan)
    rec[has] = correct[has] / n[has]
    lo, hi = np.full(n.size, np.nan), np.full(n.size, np.nan)
    lo[has], hi[has] = wilson_interval(correct[has], n[has], level)
    worst = int(np.nanargmin(rec))
    acc_lo, acc_hi = _quantiles(acc_star, level)
    w_lo, w_hi = _quantiles(worst_star, level)

    def _list(a):
        return [None if np.isnan(v) else float(v) for v in a]

    return {
        "method": INTERVAL_METHOD, "level": level, "n_boot": n_boot,
        "seed": seed if isinstance(seed, int) else None, "n_per_class": n.tolist(),
        "accuracy": {"estimate": float(correct.sum() / n.sum()), "low": acc_lo, "high": acc_hi},
        "worst_class_accuracy": {"estimate": float(rec[worst]), "low": w_lo, "high": w_hi},
        "worst_class": worst, "worst_class_name": None if class_names is None else str(class_names[worst]),
        "recalls": {"estimate": _list(rec), "low": _list(lo), "high": _list(hi)},
    }


#: largest test images per class for which the worst-class paired distribution is computed exactly
#: (a 2-d FFT of (n + 1)^2 points per class); above it, or with classes of different sizes, it is sampled
EXACT_MAX_PER_CLASS = 2048
#: largest number of ints one chunk of sampled paired resamples may hold (bounds memory: 8 bytes each)
_CHUNK_ENTRIES = 1 << 22
#: tolerance on the distribution function when reading an exact quantile (rounding of the FFT)
_CDF_TOL = 1e-9
PAIRED_METHODS = ("auto", "exact", "monte-carlo")


def _power(z: np.ndarray, k: int) -> np.ndarray:
    """``z ** k`` elementwise for an integer ``k >= 1`` by repeated squaring (complex ``**`` with a large
    integer exponent is about 10 times slower)."""
    out, base = None, z
    while k:
        if k & 1:
            out = base if out is None else out * base
        k >>= 1
        if k:
            base = base * base
    return out


def paired_category_counts(predictions_a, predictions_b, labels, num_classes=None) -> np.ndarray:
    """``(K, 4)`` counts per class of test images that both runs classify correctly, only run a, only
    run b, neither (columns in that order)."""
    pa, y, k = _labels_predictions(predictions_a, labels, num_classes, "predictions_a")
    pb, _, k = _labels_predictions(predictions_b, labels, k, "predictions_b")
    kind = 2 * (pa != y) + (pb != y)        # 0: both right, 1: only a, 2: only b, 3: neither
    return np.bincount(y * 4 + kind, minlength=4 * k).reshape(k, 4)


def _exact_quantile(values: np.ndarray, pmf: np.ndarray, q: float) -> float:
    """``min{x : F(x) >= q}`` on a sorted lattice ``values`` with probabilities ``pmf``."""
    cdf = np.cumsum(pmf)
    return float(values[min(int(np.searchsorted(cdf, q - _CDF_TOL, side="left")), values.size - 1)])


def paired_accuracy_distribution(counts) -> tuple[np.ndarray, np.ndarray]:
    """Exact stratified-bootstrap law of the average-accuracy difference (run a − run b).

    ``counts``: :func:`paired_category_counts`. Returns ``(values, pmf)``: the lattice
    :math:`D/N`, :math:`D=-N..N`, and its probabilities (see the module docstring: one real FFT of
    the product of the per-class generating functions).
    """
    from scipy.fft import irfft, next_fast_len, rfft

    counts = np.asarray(counts, dtype=np.int64)
    n = counts.sum(1)
    total = int(n.sum())
    if total == 0:
        raise ValueError("counts hold no test image")
    length = next_fast_len(2 * total + 1, real=True)
    spectrum = np.ones(length // 2 + 1, dtype=complex)
    for c in np.flatnonzero(n):                       # a loop over classes, not over resamples
        p = counts[c] / n[c]
        coef = np.array([p[2], p[0] + p[3], p[1]])     # z^-1 (only b right), z^0, z^1 (only a right)
        spectrum *= _power(rfft(coef, length), int(n[c]))
    pmf = np.clip(irfft(spectrum, length)[:2 * total + 1], 0.0, None)
    return np.arange(-total, total + 1) / total, pmf / pmf.sum()


def paired_worst_class_distribution(counts) -> tuple[np.ndarray, np.ndarray]:
    """Exact stratified-bootstrap law of the worst-class-accuracy difference (run a − run b).

    ``counts``: :func:`paired_category_counts`; every class with test images must hold the same
    number ``n <= EXACT_MAX_PER_CLASS`` of them (classes without images are left out, as in the
    worst class itself). Returns ``(values, pmf)`` on the lattice :math:`(i-j)/n`, :math:`i-j=-n..n`
    (see the module docstring: per class the joint law of the two correct counts by a 2-d FFT, the
    product of the joint survival functions over classes, then differencing).
    """
    from scipy.fft import irfft2, next_fast_len, rfft2

    counts = np.asarray(counts, dtype=np.int64)
    n_all = counts.sum(1)
    rows = counts[n_all > 0]
    if rows.size == 0:
        raise ValueError("counts hold no test image")
    sizes = np.unique(rows.sum(1))
    if sizes.size != 1:
        raise ValueError(f"the exact worst-class distribution needs equal test images per class, got "
                         f"sizes {sizes.tolist()}")
    n = int(sizes[0])
    if n > EXACT_MAX_PER_CLASS:
        raise ValueError(f"the exact worst-class distribution is computed up to {EXACT_MAX_PER_CLASS} test "
                         f"images per class, got {n}")
    m = n + 1
    # A and B each lie within `half` of their means but for a mass below 1e-18 (Hoeffding:
    # P(|A - EA| >= t) <= 2 exp(-2 t^2 / n)), so a cyclic FFT of a fast length covering that window
    # folds at most that mass onto it: far below the 1e-9 tolerance of the quantiles
    half = int(np.ceil(np.sqrt(n * np.log(2e18) / 2))) + 1
    size = min(m, next_fast_len(2 * half + 1))
    surv = np.ones((m + 1, m + 1))                  # P(min A >= i, min B >= j); row/column m: 0
    surv[m, :] = surv[:, m] = 0.0
    for kinds, repeat in zip(*np.unique(rows, axis=0, return_counts=True)):   # loop over classes
        p = kinds / n
        coef = np.zeros((2, 2))
        coef[1, 1], coef[1, 0], coef[0, 1], coef[0, 0] = p      # axis 0: a right, axis 1: b right
        cyclic = irfft2(_power(rfft2(coef, (size, size)), n), (size, size))
        start = [min(max(int(round(n * (p[0] + p[other]))) - half, 0), m - size) for other in (1, 2)]
        ia = (start[0] + np.arange(size)) % size           # the window's counts, cyclically
        ib = (start[1] + np.arange(size)) % size
        joint = np.clip(cyclic[np.ix_(ia, ib)], 0.0, None)
        joint /= joint.sum()
        tail = np.zeros((size + 1, size + 1))              # P(A >= start_a + r, B >= start_b + c)
        tail[:size, :size] = joint[::-1, ::-1].cumsum(0).cumsum(1)[::-1, ::-1]
        np.minimum(tail, 1.0, out=tail)
        if repeat > 1:
            tail **= int(repeat)
        # below the window all of the mass lies above: clamp the index; beyond it, the zero row/column
        ra = np.clip(np.arange(m) - start[0], 0, size)
        rb = np.clip(np.arange(m) - start[1], 0, size)
        surv[:m, :m] *= tail[np.ix_(ra, rb)]
    point = surv[:-1, :-1] - surv[1:, :-1] - surv[:-1, 1:] + surv[1:, 1:]   # P(min A = i, min B = j)
    i, j = np.indices((m, m))
    pmf = np.clip(np.bincount((i - j + n).ravel(), weights=point.ravel(), minlength=2 * n + 1), 0.0, None)
    return np.arange(-n, n + 1) / n, pmf / pmf.sum()


def _sampled_paired(counts, n_boot: int, seed) -> dict:
    """``n_boot`` stratified paired resamples of both differences (multinomial kind counts per class,
    drawn in chunks of bounded memory)."""
    counts = np.asarray(counts, dtype=np.int64)
    n = counts.sum(1)
    has = np.flatnonzero(n > 0)
    rows, sizes = counts[has], n[has]
    p = rows / sizes[:, None]
    rng = as_generator(seed)
    chunk = max(1, _CHUNK_ENTRIES // (4 * has.size))
    acc, worst = np.empty(n_boot), np.empty(n_boot)
    for start in range(0, n_boot, chunk):          # chunks bound memory; each chunk is vectorised
        size = min(chunk, n_boot - start)
        draw = rng.multinomial(sizes, p, size=(size, has.size))          # (size, K, 4)
        a = draw[..., 0] + draw[..., 1]
        b = draw[..., 0] + draw[..., 2]
        acc[start:start + size] = (a.sum(1) - b.sum(1)) / n.sum()
        worst[start:start + size] = (a / sizes).min(1) - (b / sizes).min(1)
    return {"accuracy": acc, "worst_class_accuracy": worst}


def paired_difference_interval(predictions_a, predictions_b, labels, num_classes=None, *,
                               level: float = 0.95, n_boot: int = 2000, seed=0, method: str = "auto") -> dict:
    """Interval for (run a − run b) in average and worst-class accuracy on the same test images.

    Stratified bootstrap over images, drawn jointly for both runs, percentile interval (module
    docstring). ``method``: ``"exact"`` computes the bootstrap distribution itself (no resampling, no
    seed: the interval cannot change with a seed; the worst class needs equal test images per class),
    ``"monte-carlo"`` samples ``n_boot`` resamples from ``seed``, ``"auto"`` (default) is exact for the
    average accuracy always and for the worst class where possible, sampled otherwise.

    Returns ``{"accuracy": {"estimate", "low", "high"}, "worst_class_accuracy": {...}, "methods":
    {"accuracy": how, "worst_class_accuracy": how}, "level", "n_boot", "seed"}`` (``how``: ``"exact"``
    or ``"monte-carlo"``; ``n_boot`` and ``seed`` are ``None`` when nothing was sampled).
    """
    level, n_boot = _check_boot(level, n_boot)
    if method not in PAIRED_METHODS:
        raise ValueError(f"method must be one of {PAIRED_METHODS}, got {method!r}")
    seed = check_seed(seed, "seed")
    counts = paired_category_counts(predictions_a, predictions_b, labels, num_classes)
    n = counts.sum(1)
    has = n > 0
    sizes = np.unique(n[has])
    exact_worst = method != "monte-carlo" and sizes.size == 1 and sizes[0] <= EXACT_MAX_PER_CLASS
    if method == "exact" and not exact_worst:
        paired_worst_class_distribution(counts)          # raises the reason (sizes differ or too large)
    a = (1.0 - level) / 2
    rec_a = (counts[has, 0] + counts[has, 1]) / n[has]
    rec_b = (counts[has, 0] + counts[has, 2]) / n[has]
    est = {"accuracy": float((counts[:, 1].sum() - counts[:, 2].sum()) / n.sum()),
           "worst_class_accuracy": float(rec_a.min() - rec_b.min())}
    sampled = None if exact_worst else _sampled_paired(counts, n_boot, seed)
    out = {"level": level, "n_boot": None if sampled is None else n_boot,
           "seed": seed if sampled is not None and isinstance(seed, int) else None, "methods": {}}
    for m in est:
        if method == "monte-carlo" or (m == "worst_class_accuracy" and not exact_worst):
            lo, hi = _quantiles(sampled[m], level)
            how = "monte-carlo"
        else:
            values, pmf = (paired_accuracy_distribution(counts) if m == "accuracy"
                           else paired_worst_class_distribution(counts))
            lo, hi = _exact_quantile(values, pmf, a), _exact_quantile(values, pmf, 1.0 - a)
            how = "exact"
        out[m] = {"estimate": est[m], "low": lo, "high": hi}
        out["methods"][m] = how
    return out
