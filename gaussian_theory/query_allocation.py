r"""Class allocations from a query model's held-out validation logits (README, "Finite samples, many
classes, real features").

DRoP (arXiv 2404.05579, Algorithm 1) reads only the query model's per-class validation recalls. The
theory's budget-constrained minimax allocation (:mod:`gaussian_theory.minimax`) needs a model of how
every class's recall responds to the class priors; here that model is the calibrated tied Gaussian
surrogate of the logits (:func:`gaussian_theory.surrogate.fit_gaussian_surrogate` with
``covariance="tied"`` and ``calibrate_to`` the logits' own accuracy: held-out per-class recall error
0.03-0.04 on CIFAR-10, ``droplab empirical surrogate-calibration``), with priors set to the training class
proportions :math:`N_k/N`. Pruning class :math:`k` to density :math:`d_k` turns them into
:math:`\propto N_kd_k` (the population prior shift), and :func:`minimax_from_logits` minimises the
surrogate's worst class risk over the :math:`d_k` at dataset density :math:`d`.
"""

from __future__ import annotations

import numpy as np

from .allocation import check_class_sizes, counts_from_densities
from .minimax import MinimaxAllocation, minimax_densities
from .mixture import GaussianMixture
from .montecarlo import integer_seed
from .surrogate import fit_gaussian_surrogate
from .validation import as_float_array, check_int, derive_seed

__all__ = ["query_surrogate", "minimax_from_logits", "check_logits_labels", "check_sizes_for",
           "check_calibration_target"]


def check_logits_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    """(n, K) finite float logits and (n,) int64 labels in 0..K-1 with every class present."""
    z = as_float_array(logits, "logits")
    if z.ndim != 2 or z.shape[1] < 2 or z.shape[0] < 1:
        raise ValueError(f"logits must be an (n, K) array with n >= 1 and K >= 2, got shape {z.shape}")
    y = np.asarray(labels)
    if y.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},) (one per row of logits), got shape "
                         f"{y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)
        else:
            raise TypeError(f"labels must be integer class labels, got dtype {y.dtype}")
    k = z.shape[1]
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1} (the logits' columns), got values "
                         f"{int(y.min())}..{int(y.max())}")
    missing = np.setdiff1d(np.arange(k), y)
    if missing.size:
        raise ValueError(f"labels must contain every class 0..{k - 1} (a recall needs samples), missing "
                         f"{missing.tolist()}")
    return z, y.astype(np.int64)


def check_calibration_target(accuracy: float, labels: np.ndarray, k: int) -> None:
    """The logits' own accuracy, which the surrogate is calibrated to, must lie strictly between the
    share of the largest validation class (what always predicting that class achieves) and 1: a clear
    ``ValueError`` in the caller's words (the logits), not the calibration's (an accuracy), otherwise."""
    chance = float(np.bincount(labels, minlength=k).max() / labels.size)
    if accuracy >= 1.0:
        raise ValueError(
            f"logits are validation logits that classify every sample correctly ({labels.size} of "
            f"{labels.size}): the Gaussian surrogate has no errors to calibrate to, so it cannot predict "
            "how recalls respond to pruning; use held-out logits of a model not trained on these samples, "
            "or an allocation rule that needs only per-class recalls (DRoP, probit)")
    if accuracy <= chance:
        raise ValueError(
            f"logits are validation logits no better than chance: accuracy {accuracy:.4g}, not above "
            f"{chance:.4g}, the share of the largest class (what always predicting it achieves); the "
            "Gaussian surrogate cannot be calibrated to them: check that the logits and labels belong "
            "together and come from a trained query model")


def check_sizes_for(class_sizes, k: int) -> np.ndarray:
    """The K training class sizes (:func:`gaussian_theory.allocation.check_class_sizes`), one per class."""
    sizes = check_class_sizes(class_sizes)
    if sizes.shape != (k,):
        raise ValueError(f"class_sizes must have one entry per class ({k}), got {sizes.size}: "
                         f"{class_sizes!r}")
    return sizes


def query_surrogate(logits, labels, class_sizes, *, n_mc=20_000, seed=0) -> GaussianMixture:
    r"""The tied Gaussian surrogate of held-out logits (Ledoit--Wolf covariance), its class-mean
    separations scaled so that its Bayes accuracy equals the logits' own accuracy
    :math:`\frac1n\sum_i[\arg\max_jz_{ij}=y_i]`, and its priors set to :math:`N_k/\sum_jN_j`.

    ``logits``: (n, K) validation logits; ``labels``: (n,) integers in ``0..K-1``, every class present
    (>= 2 samples each); ``class_sizes``: the K training class sizes.
    """
    z, y = check_logits_labels(logits, labels)
    sizes = check_sizes_for(class_sizes, z.shape[1])   # rejects an all-zero vector too
    accuracy = float(np.mean(z.argmax(axis=1) == y))
    check_calibration_target(accuracy, y, z.shape[1])
    gm = fit_gaussian_surrogate(z, y, covariance="tied", calibrate_to=accuracy, n_mc=n_mc,
                                seed=derive_seed(integer_seed(seed), "calibrate"))
    return gm._with_priors(sizes / sizes.sum())


def minimax_from_logits(
    logits, labels, class_sizes, density, *, n_mc=20_000, seed=0, n_starts=4, n_certify=20_000, min_count=0,
    surrogate: GaussianMixture | None = None,
) -> tuple[MinimaxAllocation, np.ndarray, GaussianMixture]:
    r"""Budget-constrained minimax class densities of :func:`query_surrogate` at dataset density
    ``density`` (:func:`gaussian_theory.minimax.minimax_densities`: several starts, the best on an
    independent selection sample, risks certified on fresh draws), and the exact integer counts
    (:func:`gaussian_theory.allocation.counts_from_densities`, summing to :math:`\mathrm{round}(dN)`).

    Returns ``(allocation, counts, surrogate)``; ``allocation.risks`` are the surrogate's predicted
    class risks after pruning (:math:`1-` the predicted recalls). One ``seed`` drives the calibration
    and the minimax draws (derived sub-seeds). ``surrogate``: the :func:`query_surrogate` of these logits
    when already fitted (with the same ``n_mc`` and ``seed``), so it is not fitted twice.
    """
    check_int(n_mc, "n_mc", minimum=2)
    base = integer_seed(seed)
    gm = surrogate if surrogate is not None else query_surrogate(logits, labels, class_sizes, n_mc=n_mc,
                                                                 seed=base)
    alloc = minimax_densities(gm, density, n_mc=n_mc, seed=derive_seed(base, "minimax"), n_starts=n_starts,
                              n_certify=n_certify)
    counts = counts_from_densities(alloc.densities, class_sizes, density, min_count=min_count)
    return alloc, counts, gm
