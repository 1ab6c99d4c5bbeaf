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
report shows separately (min/max over seeds).

:func:`paired_difference_interval` compares two runs evaluated on the same test images (e.g. a DRoP
run and the Random run of the same seed): images are resampled jointly (stratified), so the
per-image correlation of the two classifiers is kept.
"""

from __future__ import annotations

import numpy as np

from gaussian_theory.intervals import wilson_interval
from gaussian_theory.validation import as_generator, check_int, check_real

from .classes import correct_counts

__all__ = ["accuracy_intervals", "paired_difference_interval", "class_correct_counts", "INTERVAL_METHOD"]

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

    Classes without test images are left out of the worst class (as in ``train.evaluate``). Returns
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


def paired_difference_interval(predictions_a, predictions_b, labels, num_classes=None, *,
                               level: float = 0.95, n_boot: int = 2000, seed=0) -> dict:
    """Interval for (run a − run b) in average and worst-class accuracy on the same test images.

    Stratified bootstrap over images, drawn jointly for both runs (multinomial image weights per class,
    one class at a time, no loop over resamples), percentile interval. Returns ``{"accuracy":
    {"estimate", "low", "high"}, "worst_class_accuracy": {...}, "level", "n_boot", "seed"}``.
    """
    level, n_boot = _check_boot(level, n_boot)
    pa, y, k = _labels_predictions(predictions_a, labels, num_classes, "predictions_a")
    pb, _, k = _labels_predictions(predictions_b, labels, k, "predictions_b")
    rng = as_generator(seed)
    n = np.bincount(y, minlength=k)
    has = np.flatnonzero(n > 0)
    ca = np.zeros((n_boot, k))
    cb = np.zeros((n_boot, k))
    for c in has:  # loop over classes only; each draw is (n_boot, n_c)
        idx = np.flatnonzero(y == c)
        w = rng.multinomial(idx.size, np.full(idx.size, 1.0 / idx.size), size=n_boot)
        ca[:, c] = w @ (pa[idx] == c)
        cb[:, c] = w @ (pb[idx] == c)
    out = {"level": level, "n_boot": n_boot, "seed": seed if isinstance(seed, int) else None}
    rec_a = correct_counts(pa, y, k)[0][has] / n[has]
    rec_b = correct_counts(pb, y, k)[0][has] / n[has]
    est = {"accuracy": float((pa == y).mean() - (pb == y).mean()),
           "worst_class_accuracy": float(rec_a.min() - rec_b.min())}
    star = {"accuracy": (ca.sum(1) - cb.sum(1)) / n.sum(),
            "worst_class_accuracy": (ca[:, has] / n[has]).min(1) - (cb[:, has] / n[has]).min(1)}
    for m in est:
        lo, hi = _quantiles(star[m], level)
        out[m] = {"estimate": est[m], "low": lo, "high": hi}
    return out
