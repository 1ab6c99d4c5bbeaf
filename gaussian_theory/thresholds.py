r"""Closed forms of the two-Gaussian threshold problem, vectorised over any parameter arrays.

For :math:`x\mid y=k\sim\mathcal N(\mu_k,\sigma_k^2)` and the rule :math:`\hat y_t(x)=\mathbb 1\{x>t\}`
(DRoP, arXiv 2404.05579, §4 and App. B; README, "The paper's formulas"): the class risks of eq. 1
(:func:`class_risks_from_params`), the stationary points of the average risk and the Bayes threshold
:math:`t^*(\phi_0/\phi_1)` of eq. 3 in a cancellation-free form (:func:`stationary_roots`,
:func:`optimal_threshold_from_params`), and the log prior ratio :math:`\log(\phi_0/\phi_1)` they are
written in. :class:`gaussian_theory.two_gaussians.TwoGaussians` is the model object built on them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr

__all__ = [
    "class_risks_from_params", "stationary_roots", "optimal_threshold_from_params", "log_prior_ratio",
    "log_prior_ratio_from_prior0", "priors_from_log_ratio",
]


def log_prior_ratio(priors) -> np.ndarray:
    r"""The log prior ratio :math:`\log(\phi_0/\phi_1)\in[-\infty,\infty]` of priors with a last axis of
    length 2, as :math:`\log\phi_0-\log\phi_1` (each prior's own log: a tiny prior keeps its precision;
    a zero prior gives :math:`\mp\infty`). Inverse: :func:`priors_from_log_ratio`.

    >>> float(log_prior_ratio([0.5, 0.5]))
    0.0
    """
    p = np.asarray(priors, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(p[..., 0]) - np.log(p[..., 1])


def log_prior_ratio_from_prior0(phi0) -> np.ndarray:
    r"""The log prior ratio :math:`\log(\phi_0/(1-\phi_0))` from the class-0 prior alone, as
    :math:`\log\phi_0-\operatorname{log1p}(-\phi_0)` (accurate for :math:`\phi_0` near 0 or 1, where
    :math:`1-\phi_0` would round; 0 and 1 give :math:`\mp\infty`). Use :func:`log_prior_ratio` when
    both priors are at hand.

    >>> float(log_prior_ratio_from_prior0(0.5))
    0.0
    """
    phi0 = np.asarray(phi0, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(phi0) - np.log1p(-phi0)


def priors_from_log_ratio(log_ratio) -> np.ndarray:
    r"""Priors :math:`(\phi_0,\phi_1)=(\sigma(L),\sigma(-L))` of :math:`L=\log(\phi_0/\phi_1)`, with the
    logistic :math:`\sigma` = ``scipy.special.expit`` computed for each prior separately (so a tiny
    prior keeps its relative precision instead of being :math:`1-\phi_0`); last axis of length 2.
    Inverse of :func:`log_prior_ratio`.

    >>> priors_from_log_ratio(0.0).tolist()
    [0.5, 0.5]
    """
    lr = np.asarray(log_ratio, dtype=float)
    return np.stack([expit(lr), expit(-lr)], axis=-1)


def class_risks_from_params(t, mu0, mu1, s0, s1) -> np.ndarray:
    r"""Paper eq. 1, vectorised over every argument: :math:`R_0(t)=\Phi((\mu_0-t)/\sigma_0)`,
    :math:`R_1(t)=\Phi((t-\mu_1)/\sigma_1)`, stacked on a last axis of length 2.

    ``scipy.special.ndtr`` evaluates the lower tail directly (via erfc), so tiny risks keep full
    relative precision instead of cancelling as ``1 - cdf``.
    """
    return np.stack([ndtr((mu0 - t) / s0), ndtr((t - mu1) / s1)], axis=-1)


def stationary_roots(mu0, mu1, s0, s1, log_ratio):
    r"""Roots of :math:`\phi_0f_0(t)=\phi_1f_1(t)` (paper eq. 3), vectorised over every argument.

    In :math:`u=t-\mu_0` the condition is :math:`Au^2+Bu+C=0` with :math:`A=\sigma_1^2-\sigma_0^2`,
    :math:`B=2\sigma_0^2\Delta`, :math:`C=-\sigma_0^2(\Delta^2+2\sigma_1^2L)`, :math:`\Delta=\mu_1-\mu_0`,
    :math:`L=\log\frac{\phi_0\sigma_1}{\phi_1\sigma_0}`, discriminant :math:`4\sigma_0^2\sigma_1^2D`,
    :math:`D=\Delta^2+2AL`. The roots are taken in the cancellation-free pair :math:`C/q,\ q/A`,
    :math:`q=-\sigma_0(\sigma_0\Delta+\mathrm{sgn}(\Delta)\sigma_1\sqrt D)`, continuous through
    :math:`\sigma_0=\sigma_1`. For :math:`\mu_0<\mu_1` the first is
    :math:`t^*=\mu_0+\sigma_0(\Delta^2+2\sigma_1^2L)/(\sigma_0\Delta+\sigma_1\sqrt D)`, where
    :math:`R'=\phi_1f_1-\phi_0f_0` turns from negative to positive (a local minimum of :math:`R`).

    Returns ``(t_min, t_other)``, NaN where there is no such root (:math:`D\le0`, a zero prior, or
    equal stds for ``t_other``).
    """
    mu0, mu1, s0, s1, lr = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mu0, mu1, s0, s1, log_ratio))
    )
    delta = mu1 - mu0
    a = s1 * s1 - s0 * s0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_term = lr + np.log(s1 / s0)
        disc = delta * delta + 2.0 * a * log_term
        ok = np.isfinite(log_term) & (disc > 0)
        sqrt_d = np.sqrt(np.where(ok, disc, 0.0))
        q = -s0 * (s0 * delta + np.where(delta >= 0, 1.0, -1.0) * s1 * sqrt_d)
        c = -s0 * s0 * (delta * delta + 2.0 * s1 * s1 * log_term)
        t_min = mu0 + c / q
        t_other = mu0 + q / a
    return np.where(ok, t_min, np.nan), np.where(ok & np.isfinite(t_other), t_other, np.nan)


def optimal_threshold_from_params(mu0, mu1, s0, s1, log_ratio):
    r"""The average-risk minimiser over :math:`\mathbb R\cup\{\pm\infty\}` for arrays of parameters.

    Candidates: both :func:`stationary_roots`, :math:`-\infty` (:math:`R=\phi_0`) and :math:`+\infty`
    (:math:`R=\phi_1`); the one with the smallest
    :math:`R(t)=\phi_0\Phi((\mu_0-t)/\sigma_0)+\phi_1\Phi((t-\mu_1)/\sigma_1)` wins, ties going to the
    roots, then to :math:`-\infty` (Theorem B.1's global-optimality condition). Any order of the
    means is allowed (plug-in estimates may swap them). The priors enter as
    :math:`\log(\phi_0/\phi_1)\in[-\infty,\infty]`, each recovered by its own logistic so that a tiny
    prior keeps its relative precision (:func:`priors_from_log_ratio`).
    :meth:`TwoGaussians.optimal_threshold` and the plug-in learner of :func:`gaussian_theory.simulate`
    both use this function.
    """
    mu0, mu1, s0, s1, lr = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mu0, mu1, s0, s1, log_ratio))
    )
    phi = priors_from_log_ratio(lr)
    phi0, phi1 = phi[..., 0], phi[..., 1]
    roots = np.stack(stationary_roots(mu0, mu1, s0, s1, lr), axis=-1)
    with np.errstate(invalid="ignore"):
        r = class_risks_from_params(roots, *(v[..., None] for v in (mu0, mu1, s0, s1)))
    r_roots = phi0[..., None] * r[..., 0] + phi1[..., None] * r[..., 1]
    risk = np.concatenate([np.where(np.isnan(roots), np.inf, r_roots), phi0[..., None], phi1[..., None]],
                          axis=-1)
    cands = np.concatenate([roots, np.full(roots.shape[:-1] + (2,), [-np.inf, np.inf])], axis=-1)
    return np.take_along_axis(cands, np.argmin(risk, axis=-1)[..., None], axis=-1)[..., 0]
