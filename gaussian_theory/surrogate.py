r"""A Gaussian surrogate of a real dataset: predict class recalls and compare pruning allocations
before training anything.

:func:`fit_gaussian_surrogate` fits one Gaussian per class to feature vectors -- best to held-out
*logits* of the query model (or features projected to its K - 1 discriminant directions), see
``bench/surrogate_calibration.py``:

* ``covariance="tied"`` (the default): one covariance shared by all classes, the pooled within-class
  covariance shrunk towards :math:`\bar v I` by Ledoit--Wolf (:func:`ledoit_wolf_covariance`, the
  estimator of scikit-learn's ``LedoitWolf``); the Bayes rule is then linear (LDA), as the query
  model's head is. With ``calibrate_to=acc`` the class-mean separations
  :math:`\hat\mu_k-\bar\mu` are multiplied by the one scalar :math:`s` (found by a 1-D root find,
  :func:`calibrate_separation`) at which the surrogate's predicted accuracy
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
:math:`1-R_k(\hat\pi)` of the Bayes rule (:func:`surrogate_risks`; Monte Carlo), the DRoP allocation
those recalls imply, the minimax allocation and the class risks after each allocation -- all at no
training cost.

Measured (``bench/surrogate_calibration.py``: fit on one half of a validation split, compare with
the recalls measured on the other half, 10 random halvings): on held-out logits the tied, calibrated
surrogate's mean absolute error is 0.017 (digits), 0.028 (MNIST-1D), 0.038 (CIFAR-10 small CNN),
where the floor -- the recalls measured on the first half -- is 0.020, 0.025, 0.028; isotropic and
diagonal covariances over-predict the recalls by 0.10--0.24 on MNIST-1D and CIFAR-10 (0.24 on the
CNN's 256-d features: in high dimension class-specific covariances separate classes by their
spread alone, which a linear head cannot do), and the uncalibrated tied model by 0.03--0.18.

:func:`surrogate_vs_trained` checks the prediction: it compares the surrogate's predicted recalls
with the test recalls of a classifier actually trained on the same features (by default
scikit-learn's ``LogisticRegression`` on standardised features; scikit-learn is imported only
there).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .allocation import drop_densities
from .intervals import wilson_interval
from .mixture import GaussianMixture, RiskEstimate
from .montecarlo import BLOCK, check_n_mc
from .options import COVARIANCES
from .options import DEFAULT_COVARIANCE as _DEFAULT_COVARIANCE
from .validation import (
    MAX_MEMORY,
    as_float_array,
    as_generator,
    check_density,
    check_memory,
    check_real,
)

__all__ = [
    "fit_gaussian_surrogate",
    "ledoit_wolf_covariance",
    "calibrate_separation",
    "surrogate_risks",
    "Calibration",
    "surrogate_vs_trained",
    "SurrogateComparison",
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


# ----------------------------------------------------------------------------- tied: recalls, calibration
def _is_tied(gm: GaussianMixture) -> bool:
    cov = gm.covariances
    return bool(np.all(cov == cov[0]))


class _TiedDraws:
    r"""Common random numbers for the LDA recalls of a tied mixture with its separations scaled by s.

    With :math:`\Sigma=LL^\top`, :math:`m_k=L^{-1}(\mu_k-\bar\mu)` and a class-``k`` draw
    :math:`x=\bar\mu+s(\mu_k-\bar\mu)+Lz`, the Bayes score of class ``j`` is (up to terms common to all
    ``j``) :math:`\log\pi_j+s^2(G_{jk}-G_{jj}/2)+s\,m_j^\top z` with :math:`G=MM^\top`, and
    :math:`(m_j^\top z)_j\sim\mathcal N(0,G)`: K numbers per draw whatever p is. ``n_mc`` draws per
    class, from ``as_generator(seed)``; the same object gives every scale the same draws (kept in memory
    up to ``MAX_BYTES``, regenerated class by class from per-class seeds beyond)."""

    MAX_BYTES = 256 * 2**20

    def __init__(self, gm: GaussianMixture, n_mc: int, seed):
        if not _is_tied(gm):
            raise ValueError(f"the mixture's covariances must all be equal (a tied model), got {gm!r}")
        self.gm, self.n_mc = gm, check_n_mc(n_mc)
        rng = as_generator(seed)
        center = gm.priors @ gm.means
        m = np.linalg.solve(np.linalg.cholesky(gm.covariances[0]), (gm.means - center).T).T  # (K, p)
        self.gram = m @ m.T
        lam, vec = np.linalg.eigh(self.gram)
        self._b = vec * np.sqrt(np.clip(lam, 0.0, None))  # B B^T = G
        k = gm.n_classes
        self._seeds = rng.integers(0, 2**63 - 1, size=k)
        self._proj = None
        if k * self.n_mc * k * 8 <= self.MAX_BYTES:
            self._proj = [self._class_proj(c) for c in range(k)]
        with np.errstate(divide="ignore"):
            self.logw = np.log(gm.priors)

    def _class_proj(self, c: int) -> list:
        """(n_mc, K) draws of :math:`(m_j^\top z)_j` for class ``c``, as blocks of at most ``BLOCK`` rows
        (bounded memory for any ``n_mc``; one block, the same numbers, below ``BLOCK`` draws)."""
        k = self.gm.n_classes
        rng = np.random.default_rng(int(self._seeds[c]))
        return [rng.standard_normal((min(BLOCK, self.n_mc - s), k)) @ self._b.T
                for s in range(0, self.n_mc, BLOCK)]

    def _class_blocks(self, c: int):
        if self._proj is not None:
            yield from self._proj[c]
            return
        k = self.gm.n_classes
        rng = np.random.default_rng(int(self._seeds[c]))
        for s in range(0, self.n_mc, BLOCK):  # regenerated block by block: one block held at a time
            yield rng.standard_normal((min(BLOCK, self.n_mc - s), k)) @ self._b.T

    def risks(self, scale: float = 1.0) -> RiskEstimate:
        k, g, n = self.gm.n_classes, self.gram, self.n_mc
        err = np.zeros(k, dtype=np.int64)
        offset = self.logw[None, :] + scale**2 * (g - 0.5 * np.diag(g)[None, :])  # row: true class
        buf = np.empty((min(BLOCK, n), k))
        for c in range(k):
            for proj in self._class_blocks(c):
                score = buf[: proj.shape[0]]
                np.multiply(proj, scale, out=score)
                score += offset[c]
                err[c] += np.count_nonzero(np.argmax(score, axis=1) != c)  # ties: lowest index
        rk = err / n
        low, high = wilson_interval(err, n)
        return RiskEstimate(risks=rk, se=np.sqrt(rk * (1 - rk) / n), method="mc", n_mc=n, low=low, high=high)

    def accuracy(self, scale: float) -> float:
        return float(self.gm.priors @ self.risks(scale).recalls)


def surrogate_risks(gm: GaussianMixture, n_mc=20_000, seed=0) -> RiskEstimate:
    r"""Class risks of the Bayes rule of a fitted surrogate on itself, at its own priors: for a tied
    mixture the LDA risks by the K-dimensional Monte Carlo of :class:`_TiedDraws` (cost independent of
    p; same distribution as ``gm.class_risks(method="mc")``, other random numbers), otherwise
    ``gm.class_risks(n_mc=n_mc, seed=seed)``."""
    if not isinstance(gm, GaussianMixture):
        raise TypeError(f"gm must be a GaussianMixture, got {type(gm).__name__}")
    if _is_tied(gm) and not gm.isotropic:
        return _TiedDraws(gm, n_mc, seed).risks()
    return gm.class_risks(n_mc=n_mc, seed=seed)


@dataclass(frozen=True)
class Calibration:
    r"""Result of :func:`calibrate_separation`: the ``scale`` s of the class-mean separations, the
    calibrated ``mixture``, the ``target`` accuracy, the ``achieved`` predicted accuracy on the
    calibration draws and its binomial standard error ``se`` (at the ``n_mc`` draws per class)."""

    scale: float
    mixture: GaussianMixture
    target: float
    achieved: float
    se: float
    n_mc: int


def calibrate_separation(gm: GaussianMixture, accuracy, n_mc=20_000, seed=0, xtol=1e-6,
                         max_scale=1e6) -> Calibration:
    r"""Scale the class-mean separations of a tied mixture, :math:`\mu_k\to\bar\mu+s(\mu_k-\bar\mu)`
    (:math:`\bar\mu=\sum_k\pi_k\mu_k`; the Bayes rule depends on the separations only), so that its
    predicted accuracy :math:`\sum_k\pi_k r_k(s)` equals ``accuracy``.

    The accuracy of the Bayes rule grows with s (a smaller s is the same mixture with more noise
    added) from :math:`\max_k\pi_k` at s = 0 towards 1, so the root in s is unique; it is found by
    Brent's method (tolerance ``xtol`` relative to s) on common random numbers (``n_mc`` draws per
    class from ``seed``), where the predicted accuracy is a step function with steps of about
    :math:`1/(Kn_{mc})`: the achieved accuracy is within a step of ``accuracy`` on these draws and
    within Monte Carlo error (``se``) on fresh ones.

    Raises ``ValueError`` when ``gm`` is not tied, or ``accuracy`` is not in
    :math:`(\max_k\pi_k, 1)` or not reached below ``max_scale``.
    """
    if not isinstance(gm, GaussianMixture):
        raise TypeError(f"gm must be a GaussianMixture, got {type(gm).__name__}")
    acc = check_real(accuracy, "accuracy", minimum=0.0, maximum=1.0)
    xtol = check_real(xtol, "xtol", minimum=0.0, strict_minimum=True)
    max_scale = check_real(max_scale, "max_scale", minimum=1.0)
    floor = float(gm.priors.max())
    if not floor < acc < 1.0:
        raise ValueError(
            f"accuracy must lie in (max prior, 1) = ({floor:.4g}, 1) -- at scale 0 the surrogate predicts "
            f"the largest class everywhere and no finite scale reaches 1 -- got {accuracy!r}"
        )
    draws = _TiedDraws(gm, n_mc, seed)

    def gap(s):
        return draws.accuracy(s) - acc

    hi = 1.0
    while gap(hi) < 0:
        if hi >= max_scale:
            raise ValueError(
                f"accuracy {acc!r} not reached with the separations scaled by {max_scale:g} (predicted "
                f"{draws.accuracy(hi):.6f} on {draws.n_mc} draws per class): raise n_mc or max_scale"
            )
        hi = min(2.0 * hi, max_scale)
    lo = 0.0 if hi == 1.0 else hi / 2  # gap(lo) < 0: gap(0) = max prior - accuracy
    scale = hi if gap(hi) == 0 else brentq(gap, lo, hi, xtol=xtol * hi)
    center = gm.priors @ gm.means
    cal = GaussianMixture(center + scale * (gm.means - center), covariances=gm.covariances, priors=gm.priors,
                          class_labels=gm.class_labels)
    rec = draws.risks(scale).recalls
    achieved = float(gm.priors @ rec)
    se = float(np.sqrt(np.sum(gm.priors**2 * rec * (1 - rec)) / draws.n_mc))
    return Calibration(scale=float(scale), mixture=cal, target=acc, achieved=achieved, se=se, n_mc=draws.n_mc)


# ----------------------------------------------------------------------------- check vs a trained model
@dataclass(frozen=True)
class SurrogateComparison:
    r"""Predicted (surrogate) vs measured class recalls.

    ``predicted``/``predicted_se``: recalls of the surrogate's Bayes rule *on the surrogate* (MC);
    ``surrogate_on_data``: recalls of that same Bayes rule on the real test features; ``trained``:
    test recalls of the trained classifier. ``spearman``/``pearson``/``mae`` compare ``predicted``
    with ``trained``; ``drop_*`` are the DRoP densities at ``density`` from each recall vector and
    ``drop_l1`` their mean absolute difference.
    """

    classes: np.ndarray
    train_sizes: np.ndarray
    test_sizes: np.ndarray
    predicted: np.ndarray
    predicted_se: np.ndarray
    surrogate_on_data: np.ndarray
    trained: np.ndarray
    spearman: float
    pearson: float
    mae: float
    density: float
    drop_predicted: np.ndarray
    drop_trained: np.ndarray
    drop_l1: float
    classifier: str
    covariance: str

    def as_dict(self) -> dict:
        out = {}
        for key, val in self.__dict__.items():
            out[key] = val.tolist() if isinstance(val, np.ndarray) else val
        return out


def _split(y, test_size, rng):
    """Stratified random split: indices (train, test)."""
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = rng.permutation(idx)
        test.append(idx[: max(1, int(round(test_size * idx.size)))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(y.size), test)
    return train, test



def _correlation(kind, a, b) -> float:
    """``kind`` (scipy's spearmanr or pearsonr) of ``a`` and ``b``; NaN -- the defined answer, without
    scipy's ConstantInputWarning -- when either side is constant (a correlation with a constant is
    undefined), holds a NaN (as scipy gives), or has fewer than 3 entries.

    >>> from scipy.stats import spearmanr
    >>> _correlation(spearmanr, [0.9, 0.9, 0.9], [0.8, 0.7, 0.9])
    nan
    >>> _correlation(spearmanr, [0.1, 0.2, 0.3], [0.3, 0.5, 0.4])
    0.5
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 3 or not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kind(a, b).statistic)

def surrogate_vs_trained(
    features,
    labels,
    test_features=None,
    test_labels=None,
    covariance=DEFAULT_COVARIANCE,
    classifier=None,
    test_size=0.3,
    density=0.5,
    n_mc=20_000,
    seed=0,
    reg=1e-3,
) -> SurrogateComparison:
    r"""Compare the surrogate's predicted class recalls with those of a classifier trained on the features.

    Fits :func:`fit_gaussian_surrogate` and ``classifier`` (default: scikit-learn
    ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))``; any object with
    ``fit``/``predict`` works) on the training split, then measures per-class test recalls.
    Without ``test_features`` a stratified ``test_size`` split is drawn with ``seed``.
    """
    x, y = _check_features_labels(features, labels)
    rng = np.random.default_rng(seed)
    if test_features is None:
        if test_labels is not None:
            raise ValueError("test_labels given without test_features")
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}")
        tr, te = _split(y, test_size, rng)
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
    else:
        xte, yte = _check_features_labels(test_features, test_labels, "test_features", "test_labels")
        if xte.shape[1] != x.shape[1]:
            raise ValueError(f"test_features must have {x.shape[1]} columns, got shape {xte.shape}")
        xtr, ytr = x, y
    d = check_density(density)
    gm = fit_gaussian_surrogate(xtr, ytr, covariance=covariance, reg=reg)
    classes = gm.class_labels
    if not np.isin(yte, classes).all():
        raise ValueError(
            f"test labels {np.setdiff1d(yte, classes).tolist()} do not occur in the training labels"
        )
    est = surrogate_risks(gm, n_mc=n_mc, seed=seed)
    if classifier is None:
        try:
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
        except ImportError as exc:  # pragma: no cover - sklearn is in the test extras
            raise ImportError(
                "surrogate_vs_trained needs scikit-learn for its default classifier "
                "(pip install scikit-learn), or pass classifier=..."
            ) from exc
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        name = "logistic"
    else:
        name = type(classifier).__name__
    classifier.fit(xtr, ytr)
    pred_trained = np.asarray(classifier.predict(xte))
    pred_sur = classes[gm.predict(xte)]

    def recalls(pred):
        return np.array([np.mean(pred[yte == c] == c) if (yte == c).any() else np.nan for c in classes])

    trained = recalls(pred_trained)
    from scipy.stats import pearsonr, spearmanr

    predicted = est.recalls
    sizes = np.array([(ytr == c).sum() for c in classes])
    drop_p = drop_densities(predicted, sizes, d)
    drop_t = drop_densities(np.nan_to_num(trained, nan=1.0), sizes, d)
    return SurrogateComparison(
        classes=classes,
        train_sizes=sizes,
        test_sizes=np.array([(yte == c).sum() for c in classes]),
        predicted=predicted,
        predicted_se=est.se,
        surrogate_on_data=recalls(pred_sur),
        trained=trained,
        spearman=_correlation(spearmanr, predicted, trained),
        pearson=_correlation(pearsonr, predicted, trained),
        mae=float(np.nanmean(np.abs(predicted - trained))),
        density=d,
        drop_predicted=drop_p,
        drop_trained=drop_t,
        drop_l1=float(np.mean(np.abs(drop_p - drop_t))),
        classifier=name,
        covariance=covariance,
    )
