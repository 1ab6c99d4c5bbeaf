r"""Proportions: per-class recalls from predictions (:func:`class_recalls`, used by the recall
predictors and by the real-data pipeline) and their confidence intervals, one implementation for
Monte-Carlo risks and test accuracies.

Wilson score interval (Wilson 1927; Brown, Cai & DasGupta 2001, *Statist. Sci.* 16, eq. 4) for
:math:`k` successes in :math:`n` Bernoulli trials at level :math:`1-\alpha`, with
:math:`\hat p=k/n` and :math:`z=\Phi^{-1}(1-\alpha/2)`:

.. math:: \frac{\hat p+\frac{z^2}{2n}\pm z\sqrt{\frac{\hat p(1-\hat p)}{n}+\frac{z^2}{4n^2}}}{1+\frac{z^2}{n}}

Unlike the plain binomial (Wald) interval :math:`\hat p\pm z\sqrt{\hat p(1-\hat p)/n}`, it is not
degenerate at :math:`k=0` or :math:`k=n`: zero observed errors in :math:`n` draws give the interval
:math:`[0,\,z^2/(n+z^2)]`, not :math:`0\pm0`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from .validation import check_int, check_real

__all__ = ["wilson_interval", "correct_counts", "class_recalls"]


def wilson_interval(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` for ``successes`` out of ``trials`` (broadcast arrays).

    >>> lo, hi = wilson_interval(0, 100)
    >>> float(lo), round(float(hi), 4)
    (0.0, 0.037)
    """
    level = check_real(level, "level", 0.0, 1.0, strict_minimum=True)
    if level >= 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n) or np.any(np.isnan(k)) or np.any(np.isnan(n)):
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got successes={successes!r}, "
                         f"trials={trials!r}")
    z = float(ndtri(0.5 + level / 2))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))    # exact ends: no rounding residue
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def _class_ids(values, name: str, num_classes: int) -> np.ndarray:
    """A 1-D array of integer class ids in ``0..num_classes-1`` (not booleans)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of class ids, got shape {arr.shape}")
    if arr.size == 0:  # [] is float64 to numpy: no class ids, no error
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
    if (int(arr.min()) < 0 or int(arr.max()) >= num_classes):
        bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
        raise ValueError(f"{name} must hold class ids in 0..{num_classes - 1} (num_classes={num_classes}), "
                         f"got {bad}")
    return arr


def correct_counts(predictions, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(correct, n)`` per class, two arrays of length ``num_classes``: samples of class k predicted
    as k, and samples of class k. ``predictions`` and ``labels``: 1-D integer class ids in
    ``0..num_classes-1`` of equal length (``ValueError``/``TypeError`` otherwise)."""
    k = check_int(num_classes, "num_classes", minimum=1)
    pred = _class_ids(predictions, "predictions", k)
    y = _class_ids(labels, "labels", k)
    if pred.shape != y.shape:
        raise ValueError(f"predictions and labels must have the same length (one prediction per label), "
                         f"got {pred.size} predictions and {y.size} labels")
    return np.bincount(y[pred == y], minlength=k), np.bincount(y, minlength=k)


def class_recalls(predictions, labels, num_classes: int) -> np.ndarray:
    """Recall of each class (= per-class accuracy) ``#{pred == y == k} / #{y == k}``; NaN for an absent
    class."""
    correct, n = correct_counts(predictions, labels, num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return correct / n
