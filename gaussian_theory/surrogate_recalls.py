r"""The recalls of a Gaussian surrogate's Bayes rule, and its calibration to a measured accuracy.

:func:`surrogate_risks`: the class risks :math:`R_k` (recalls :math:`1-R_k`) of the Bayes rule of a
:class:`~gaussian_theory.mixture.GaussianMixture`, by Monte Carlo; for a tied covariance (the LDA of
:func:`gaussian_theory.surrogate.fit_gaussian_surrogate`'s default) the K-dimensional common-random-number
scheme of ``_TiedDraws``. :func:`calibrate_separation`: the one scalar :math:`s` multiplying the
class-mean separations :math:`\mu_k-\bar\mu` at which the predicted accuracy
:math:`\sum_k\pi_k r_k(s)` equals a measured one (a 1-D root find on common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .intervals import wilson_interval
from .mixture import GaussianMixture, RiskEstimate
from .montecarlo import BLOCK, check_n_mc
from .validation import as_generator, check_real

__all__ = ["surrogate_risks", "calibrate_separation", "Calibration"]


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
