r"""Exact class risks of the Bayes rule for two isotropic Gaussian classes in p dimensions (README,
"Finite samples, many classes"; the closed form is derived in :mod:`gaussian_theory.mixture`'s module
docstring).

Class 0 is predicted iff :math:`g(x)=\frac{|x-\mu_1|^2}{2s_1^2}-\frac{|x-\mu_0|^2}{2s_0^2}+c>0`,
:math:`c=\log\frac{w_0}{w_1}+p\log\frac{s_1}{s_0}`; under class :math:`k` the event is a noncentral
chi-square tail (:func:`exact_risks`) or, stably as :math:`s_0\to s_1`, a quadratic inequality in one
normal coordinate integrated over a chi-square (:func:`rotated_risks`).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad
from scipy.special import ndtr
from scipy.stats import chi, chi2, ncx2

from .thresholds import log_prior_ratio

__all__ = ["exact_risks", "rotated_risks"]

#: above this noncentrality scipy's ncx2 loses accuracy (classes of nearly equal spread); the
#: rotated form :func:`rotated_risks` takes over
_NCX2_MAX_NONCENTRALITY = 1e6


def exact_risks(means, stds, w) -> np.ndarray:
    r"""Class risks :math:`(R_0,R_1)` of the Bayes rule for training priors ``w``: the noncentral
    chi-square tails :math:`P(\alpha s_k^2Q_k+\beta>0)`, :math:`Q_k\sim\chi'^2_p(\lambda_k)`, derived in the
    :mod:`gaussian_theory.mixture` module docstring (:func:`rotated_risks` where :math:`\lambda_k` is
    huge)."""
    if w[1] == 0:
        return np.array([0.0, 1.0])  # class 1 never predicted
    if w[0] == 0:
        return np.array([1.0, 0.0])
    s0, s1 = stds
    mu0, mu1 = means
    p = means.shape[1]
    c = float(log_prior_ratio(w) + p * np.log(s1 / s0))
    if s0 == s1:
        delta = float(np.linalg.norm(mu1 - mu0)) / s0
        if delta == 0:
            return np.array([0.0, 1.0]) if c >= 0 else np.array([1.0, 0.0])
        return np.array(
            [ndtr(-(0.5 * delta * delta + c) / delta), ndtr((c - 0.5 * delta * delta) / delta)]
        )
    alpha = 0.5 / s1**2 - 0.5 / s0**2
    m = (s0**2 * mu1 - s1**2 * mu0) / (s0**2 - s1**2)
    lam_max = max(float(np.sum((mu0 - m) ** 2)) / s0**2, float(np.sum((mu1 - m) ** 2)) / s1**2)
    if lam_max > _NCX2_MAX_NONCENTRALITY:
        return rotated_risks(means, stds, w)
    beta = float(np.sum((m - mu1) ** 2) / (2 * s1**2) - np.sum((m - mu0) ** 2) / (2 * s0**2) + c)
    out = np.empty(2)
    for k, (mu, s) in enumerate(((mu0, s0), (mu1, s1))):
        lam = float(np.sum((mu - m) ** 2) / s**2)
        q = -beta / (alpha * s * s)
        dist = chi2(p) if lam == 0 else ncx2(p, lam)
        if q <= 0:
            upper, lower = 1.0, 0.0
        else:
            upper, lower = float(dist.sf(q)), float(dist.cdf(q))
        # predict 0 iff Q > q (alpha > 0) or Q < q (alpha < 0)
        pred0 = upper if alpha > 0 else lower
        pred1 = lower if alpha > 0 else upper
        out[k] = pred1 if k == 0 else pred0
    return out

def rotated_risks(means, stds, w) -> np.ndarray:
    r"""The two-isotropic-class risks without the centre :math:`m` (stable as :math:`s_0\to s_1`).

    Under class :math:`k`, :math:`x=\mu_k+s_kz` and
    :math:`g=As_k^{\,0}(z_1^2+U)+Bz_1+C_0` with :math:`A=\alpha s_k^2`,
    :math:`B=s_k|(\mu_k-\mu_1)/s_1^2-(\mu_k-\mu_0)/s_0^2|`,
    :math:`C_0=\frac{|\mu_k-\mu_1|^2}{2s_1^2}-\frac{|\mu_k-\mu_0|^2}{2s_0^2}+c`, after rotating
    :math:`z` so the linear term lies along :math:`z_1`; :math:`U\sim\chi^2_{p-1}` is independent of
    :math:`z_1\sim\mathcal N(0,1)`. For fixed :math:`U` the event :math:`g>0` is a quadratic
    inequality in :math:`z_1`, a difference of normal CDFs at its stable roots; the expectation
    over :math:`U` (p > 1) is one adaptive quadrature.
    """
    s0, s1 = stds
    mu0, mu1 = means
    p = means.shape[1]
    c = float(log_prior_ratio(w) + p * np.log(s1 / s0))
    alpha = 0.5 / s1**2 - 0.5 / s0**2
    out = np.empty(2)
    for k, (mu, s) in enumerate(((mu0, s0), (mu1, s1))):
        e, f = mu - mu1, mu - mu0
        a_ = alpha * s * s
        b_ = s * float(np.linalg.norm(e / s1**2 - f / s0**2))
        c0 = float(e @ e / (2 * s1**2) - f @ f / (2 * s0**2) + c)

        def wrong(u, a_=a_, b_=b_, c0=c0, k=k):
            return _quadratic_sign_prob(a_, b_, c0 + a_ * u, positive=(k == 1))

        if p == 1:
            out[k] = wrong(0.0)
            continue
        # integrate over v = sqrt(U) ~ chi_{p-1}, split where the roots merge (a kink in v)
        dist = chi(p - 1)
        v_end = float(np.sqrt(chi2(p - 1).isf(1e-18)))
        u_kink = (b_ * b_ - 4 * a_ * c0) / (4 * a_ * a_) if a_ != 0 else -1.0
        v_kink = float(np.sqrt(u_kink)) if u_kink > 0 else -1.0
        edges = [0.0] + ([float(v_kink)] if 0 < v_kink < v_end else []) + [v_end]
        out[k] = sum(
            quad(
                lambda v, wrong=wrong, dist=dist: wrong(v * v) * dist.pdf(v),
                lo,
                hi,
                epsabs=1e-16,
                epsrel=1e-13,
                limit=200,
            )[0]
            for lo, hi in zip(edges[:-1], edges[1:])
        )
    return out


def _interval_prob(r1, r2):
    """P(r1 < Z < r2) for a standard normal Z, without cancellation in either tail."""
    if r1 > 0:
        return float(ndtr(-r1) - ndtr(-r2))
    if r2 < 0:
        return float(ndtr(r2) - ndtr(r1))
    return float(1.0 - ndtr(r1) - ndtr(-r2))


def _quadratic_sign_prob(a, b, c, positive):
    """P(a Z^2 + b Z + c > 0) if ``positive`` else P(... <= 0), Z standard normal, b >= 0."""
    if a == 0:
        if b == 0:
            p_pos = 1.0 if c > 0 else 0.0
            return p_pos if positive else 1.0 - p_pos
        return float(ndtr(c / b)) if positive else float(ndtr(-c / b))
    disc = b * b - 4 * a * c
    if disc <= 0:  # no sign change: the sign of a everywhere
        p_pos = 1.0 if a > 0 else 0.0
        return p_pos if positive else 1.0 - p_pos
    q = -0.5 * (b + np.sqrt(disc))  # b >= 0, so no cancellation
    r1, r2 = sorted((q / a, c / q)) if q != 0 else sorted((0.0, -b / a))
    inside = _interval_prob(r1, r2)  # where the quadratic has the sign of -a
    outside = float(ndtr(r1) + ndtr(-r2))
    if a > 0:
        return outside if positive else inside
    return inside if positive else outside

