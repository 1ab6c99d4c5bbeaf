r"""A Gaussian surrogate of a real dataset: predict class recalls and compare pruning allocations
before training anything.

:func:`fit_gaussian_surrogate` fits one Gaussian per class to feature vectors -- best to held-out
*logits* of the query model (or features projected to its K - 1 discriminant directions), see
``droplab empirical surrogate-calibration``:

* ``covariance="tied"`` (the default): one covariance shared by all classes, the pooled within-class
  covariance shrunk towards :math:`\bar v I` by Ledoit--Wolf (:func:`ledoit_wolf_covariance`, the
  estimator of scikit-learn's ``LedoitWolf``); the Bayes rule is then linear (LDA), as the query
  model's head is. With ``calibrate_to=acc`` the class-mean separations
  :math:`\hat\mu_k-\bar\mu` are multiplied by the one scalar :math:`s` (found by a 1-D root find,
  :func:`gaussian_theory.surrogate_recalls.calibrate_separation`) at which the surrogate's predicted accuracy
  :math:`\sum_k\hat\pi_k\hat r_k(s)` equals ``acc``, the measured validation accuracy; multiplying
  the separations by :math:`s` is the same as dividing the noise by :math:`s`, i.e. an inverse
  temperature :math:`s^2` on the LDA discriminant's quadratic form;
* ``covariance="isotropic"``: :math:`\hat\Sigma_k=\hat s_k^2I`,
  :math:`\hat s_k^2=\frac1{n_kp}\sum_{i:y_i=k}|x_i-\hat\mu_k|^2+\epsilon`;
* ``covariance="diagonal"``: :math:`\hat\Sigma_k=\mathrm{diag}(\hat v_{k1},\dots,\hat v_{kp})+\epsilon I`;

with :math:`\hat\mu_k` the class means, priors :math:`\hat\pi_k=n_k/n`, and
:math:`\epsilon=` ``reg`` times the average per-feature variance of all the data (features constant
within a class, e.g. always-blank pixels, would otherwise give singular covariances). The
resulting :class:`~gaussian_theory.mixture.GaussianMixture` predicts the class recalls
:math:`1-R_k(\hat\pi)` of the Bayes rule
(:func:`gaussian_theory.surrogate_recalls.surrogate_risks`; Monte Carlo), the DRoP allocation
those recalls imply, the minimax allocation and the class risks after each allocation -- all at no
training cost.

Measured (``droplab empirical surrogate-calibration``: fit on one half of a validation split, compare with
the recalls measured on the other half, 10 random halvings): on held-out logits the tied, calibrated
surrogate's mean absolute error is 0.017 (digits), 0.028 (MNIST-1D), 0.038 (CIFAR-10 small CNN),
where the floor -- the recalls measured on the first half -- is 0.020, 0.025, 0.028; isotropic and
diagonal covariances over-predict the recalls by 0.10--0.24 on MNIST-1D and CIFAR-10 (0.24 on the
CNN's 256-d features: in high dimension class-specific covariances separate classes by their
spread alone, which a linear head cannot do), and the uncalibrated tied model by 0.03--0.18.

:func:`gaussian_theory.surrogate_check.surrogate_vs_trained` checks the prediction: it compares the
surrogate's predicted recalls with the test recalls of a classifier actually trained on the same
features.
"""

from __future__ import annotations

import numbers

import numpy as np

from .mixture import GaussianMixture
from .montecarlo import check_n_mc
from .options import COVARIANCES
from .options import DEFAULT_COVARIANCE as _DEFAULT_COVARIANCE
from .surrogate_recalls import calibrate_separation
from .validation import (
    MAX_MEMORY,
    as_float_array,
    as_generator,
    check_memory,
    check_real,
)

__all__ = [
    "fit_gaussian_surrogate",
    "ledoit_wolf_covariance",
    "COVARIANCES",
    "DEFAULT_COVARIANCE",
]

#: Covariance model of :func:`fit_gaussian_surrogate` when none is named (chosen by measurement, module
#: docstring); defined in :mod:`gaussian_theory.options`.
DEFAULT_COVARIANCE = _DEFAULT_COVARIANCE


#: Largest |feature| a surrogate fit accepts: its square, a covariance entry, must stay far from overflow
#: (and :class:`~gaussian_theory.mixture.GaussianMixture` accepts stds up to 1e150).
_MAX_FEATURE = 1e150


def _check_feature_scale(x: np.ndarray, fname: str = "features") -> None:
    """Features whose squares (the covariances) neither overflow nor underflow float64."""
    if x.size == 0:
        return
    big = float(np.abs(x).max())
    if big > _MAX_FEATURE:
        raise ValueError(
            f"{fname} must lie within +-{_MAX_FEATURE:g} (their squares, the covariances, overflow float64 "
            f"beyond), got an entry of {big:.3g}: rescale the {fname} (multiplying them all by one constant "
            "changes neither the Bayes rule nor the predicted recalls)")
    spread = float((x.max(axis=0) - x.min(axis=0)).max())
    if 0 < spread < 1 / _MAX_FEATURE:
        raise ValueError(
            f"{fname} vary by at most {spread:.3g} (their variances underflow float64 below 1e-150), got "
            f"values {float(x.min()):.3g} .. {float(x.max()):.3g}: rescale the {fname} (multiplying them all "
            "by one constant changes neither the Bayes rule nor the predicted recalls)")


def _check_features_labels(features, labels, fname="features", lname="labels"):
    x = as_float_array(features, fname)
    if x.ndim != 2:
        raise ValueError(f"{fname} must have shape (n, p), got shape {x.shape}")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"{lname} must have shape ({x.shape[0]},) to match {fname} {x.shape}, got shape {y.shape}"
        )
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)
        else:
            raise TypeError(f"{lname} must be integer class labels, got dtype {y.dtype}")
    return x, y


def ledoit_wolf_covariance(x, assume_centered=False) -> tuple[np.ndarray, float]:
    r"""Ledoit--Wolf shrinkage covariance of the rows of ``x`` (n, p): returns
    :math:`((1-\delta)S+\delta\,\frac{\mathrm{tr}S}{p}I,\ \delta)` with :math:`S` the
    maximum-likelihood covariance (divisor n) and :math:`\delta\in[0,1]` the estimated optimal
    shrinkage of Ledoit & Wolf (J. Multivar. Anal. 88, 2004) -- the same numbers as scikit-learn's
    ``sklearn.covariance.LedoitWolf`` (tested against it).

    >>> rng = np.random.default_rng(0)
    >>> cov, delta = ledoit_wolf_covariance(rng.normal(size=(50, 20)))
    >>> cov.shape, 0 < delta < 1
    ((20, 20), True)
    """
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (n, p) with n >= 2 and p >= 1, got shape {x.shape}")
    if not isinstance(assume_centered, (bool, np.bool_)):
        raise TypeError(f"assume_centered must be a bool, got {assume_centered!r}")
    if not assume_centered:
        x = x - x.mean(axis=0)
    n, p = x.shape
    top = float(np.abs(x).max())
    if top > _MAX_FEATURE:
        raise ValueError(f"x must lie within +-{_MAX_FEATURE:g} (the covariance, its square, overflows "
                         f"float64 beyond), got an entry of {top:.3g}: rescale x")
    # Work at unit scale (a power of 2: exact), so that the fourth powers below neither overflow nor
    # underflow; the covariance scales back by scale^2 and the shrinkage is scale-free.
    scale = 2.0 ** round(np.log2(top)) if top > 0 else 1.0
    x = x / scale
    emp = x.T @ x / n
    mu = float(np.trace(emp)) / p
    if p == 1 or mu == 0.0:
        return emp * scale**2, 0.0
    x2 = x * x
    delta_ = float(np.sum(emp**2))  # ||S||_F^2
    beta_ = float(np.sum(x2.T @ x2))  # sum_ij sum_t x_ti^2 x_tj^2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * np.trace(emp) + p * mu**2) / p  # ||S - mu I||_F^2 / p
    beta = min(beta, delta)
    shrink = 0.0 if beta <= 0 or delta == 0 else beta / delta
    out = (1.0 - shrink) * emp
    out[np.diag_indices(p)] += shrink * mu
    out *= scale**2
    return out, float(shrink)


def _check_fit_memory(shape, k: int, covariance: str, max_memory) -> None:
    """Refuse, before fitting, a surrogate whose matrices would not fit in ``max_memory`` bytes: the
    features' centred copies (about 4 n p numbers) and the p x p matrices, a handful for the tied
    covariance (Ledoit--Wolf's two products, the estimate, its check and factor) or about three per
    class otherwise (the mixture's covariances, factors and their checks)."""
    n, p = shape
    needed = 8.0 * (4 * n * p + (6 * p * p if covariance == "tied" else 3 * k * p * p + 2 * k * p))
    check_memory(needed, max_memory,
                 f"a {covariance} Gaussian surrogate of {k} classes fitted to features of shape ({n}, {p})",
                 hint="reduce the feature dimension p (e.g. a query model's held-out logits, or a projection "
                 "of the features onto a few hundred directions)")


def _singular_message(problem: str, reg, r: float, eps: float, shrinkage) -> str:
    """Why a fitted covariance is singular and what to do, for the ``reg`` that was used."""
    if r == 0:
        fix = "pass reg > 0 (e.g. the default 1e-3) to add a variance floor"
        if isinstance(shrinkage, numbers.Real) and not isinstance(shrinkage, bool):
            fix += f", or shrinkage > 0 (got {shrinkage!r})"
        return f"{problem} and reg=0 adds no variance floor; {fix}"
    if eps == 0:
        return (f"{problem}, and reg={reg!r} adds no variance floor: the floor is reg times the mean feature "
                "variance of all the data, which is 0 (every feature is constant over the data); the "
                "features carry no information to fit a surrogate to: check them")
    return (f"{problem} even with the variance floor reg={reg!r} (= {eps:.3g}): pass a larger reg, e.g. "
            f"reg={max(1e3 * r, 1e-3):g}")


def fit_gaussian_surrogate(features, labels, covariance=DEFAULT_COVARIANCE, reg=1e-3, *, shrinkage=None,
                           calibrate_to=None, n_mc=20_000, seed=0,
                           max_memory=MAX_MEMORY) -> GaussianMixture:
    r"""Fit one Gaussian per class (see the module docstring); returns a :class:`GaussianMixture`
    whose ``class_labels`` are the sorted distinct labels (class ``k`` of the mixture is
    ``class_labels[k]``).

    ``covariance``: ``"tied"`` (default), ``"isotropic"`` or ``"diagonal"``. ``reg``: variance floor,
    a multiple of the mean feature variance (added to the diagonal of every covariance).
    ``shrinkage`` (``"tied"`` only): ``None``/``"ledoit-wolf"`` (default: Ledoit--Wolf) or a number in
    [0, 1], the weight of :math:`\bar vI` (0: the pooled maximum-likelihood covariance).
    ``calibrate_to`` (``"tied"`` only): a measured accuracy in (max prior, 1); the class-mean
    separations are then scaled so that the surrogate's predicted accuracy equals it
    (:func:`calibrate_separation` with ``n_mc`` draws per class and ``seed``). ``max_memory``: cap in
    bytes (default 4 GiB) on the fit's estimated working memory (about :math:`8(4np+6p^2)` bytes tied,
    :math:`8(3np+3Kp^2)` otherwise), checked before any work.

    Raises ``ValueError`` for fewer than two classes, a class with fewer than two samples, an
    unknown ``covariance``, an out-of-range argument, features beyond :math:`\pm10^{150}` (or varying
    by less than :math:`10^{-150}`: their squares leave float64) or a fit over ``max_memory``;
    ``TypeError`` for a wrongly typed one (booleans and complex numbers are not features).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, (500, 3)), rng.normal(4, 2, (500, 3))])
    >>> gm = fit_gaussian_surrogate(x, np.repeat([0, 1], 500), covariance="isotropic")
    >>> np.round(gm.stds, 1).tolist()
    [1.0, 2.0]
    >>> tied = fit_gaussian_surrogate(x, np.repeat([0, 1], 500), calibrate_to=0.9, n_mc=4000)
    >>> from gaussian_theory.surrogate_recalls import surrogate_risks
    >>> round(float(surrogate_risks(tied, n_mc=4000).recalls.mean()), 2)
    0.9
    """
    x, y = _check_features_labels(features, labels)
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    _check_fit_memory(x.shape, int(np.unique(y).size), covariance, max_memory)
    _check_feature_scale(x)
    r = float(as_float_array(reg, "reg", shape=()))
    if r < 0:
        raise ValueError(f"reg must be >= 0, got {reg!r}")
    if covariance != "tied":
        if shrinkage is not None:
            raise ValueError(f"shrinkage applies to covariance='tied' only, got covariance={covariance!r}")
        if calibrate_to is not None:
            raise ValueError(
                f"calibrate_to applies to covariance='tied' only (scaling the separations of class-specific "
                f"covariances need not change the accuracy monotonically), got covariance={covariance!r}"
            )
    elif shrinkage is not None and not (isinstance(shrinkage, str) and shrinkage == "ledoit-wolf"):
        if isinstance(shrinkage, str):
            raise ValueError(f"shrinkage must be 'ledoit-wolf' or a number in [0, 1], got {shrinkage!r}")
        shrinkage = check_real(shrinkage, "shrinkage", minimum=0.0, maximum=1.0)
    if calibrate_to is not None:
        calibrate_to = check_real(calibrate_to, "calibrate_to", minimum=0.0, maximum=1.0)
        n_mc = check_n_mc(n_mc)
        as_generator(seed)  # validate before fitting
    classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    if classes.size < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {classes.tolist()!r}")
    if counts.min() < 2:
        raise ValueError(
            f"every class needs >= 2 samples, got class {classes[np.argmin(counts)].item()!r} with "
            f"{counts.min()} sample(s)"
        )
    floor = float(counts.max() / counts.sum())
    if calibrate_to is not None and not floor < calibrate_to < 1.0:
        raise ValueError(
            f"calibrate_to: the accuracy must lie in (max prior, 1) = ({floor:.4g}, 1) -- always predicting "
            f"the largest class achieves {floor:.4g} and no finite separation reaches 1 -- got "
            f"{calibrate_to!r}")
    k, p = classes.size, x.shape[1]
    sums = np.zeros((k, p))
    np.add.at(sums, inv, x)
    means = sums / counts[:, None]
    resid = x - means[inv]
    eps = r * float(x.var(axis=0).mean())
    priors = counts / counts.sum()
    if covariance == "tied":
        if shrinkage is None or isinstance(shrinkage, str):
            cov, _ = ledoit_wolf_covariance(resid, assume_centered=True)
        else:
            cov = resid.T @ resid / resid.shape[0]
            cov = (1.0 - shrinkage) * cov + shrinkage * float(np.trace(cov)) / p * np.eye(p)
        cov = 0.5 * (cov + cov.T)
        cov[np.diag_indices(p)] += eps
        ev = np.linalg.eigvalsh(cov)
        if not ev[0] > 1e-12 * ev[-1]:
            raise ValueError(_singular_message("the pooled within-class covariance is singular", reg, r, eps,
                                               shrinkage))
        gm = GaussianMixture(means, covariances=np.broadcast_to(cov, (k, p, p)), priors=priors,
                             class_labels=classes, max_memory=max_memory)
        if calibrate_to is not None:
            gm = calibrate_separation(gm, calibrate_to, n_mc=n_mc, seed=seed).mixture
        return gm
    sq = np.zeros((k, p))
    np.add.at(sq, inv, resid * resid)
    var = sq / counts[:, None]  # (K, p) maximum-likelihood per-feature variances
    if eps == 0 and (var == 0).any():
        kk, j = (int(i[0]) for i in np.nonzero(var == 0))
        problem = f"class {classes[kk].item()!r} has a constant feature (feature {j})"
        raise ValueError(_singular_message(problem, reg, r, eps, None))
    if covariance == "isotropic":
        return GaussianMixture(
            means, stds=np.sqrt(var.mean(axis=1) + eps), priors=priors, class_labels=classes,
            max_memory=max_memory,
        )
    cov = np.zeros((k, p, p))
    idx = np.arange(p)
    cov[:, idx, idx] = var + eps
    return GaussianMixture(means, covariances=cov, priors=priors, class_labels=classes, max_memory=max_memory)
