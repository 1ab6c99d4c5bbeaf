r"""The paper's toy model: a mixture of two 1-D Gaussians classified by a threshold.

Model (DRoP, arXiv 2404.05579, §4 and App. B; README, "The paper's formulas"):

.. math::

    x \mid y=k \sim \mathcal N(\mu_k, \sigma_k^2),\quad P(y=k)=\phi_k,\quad \mu_0<\mu_1,
    \qquad \hat y_t(x) = \mathbb 1\{x > t\},\ t\in\mathbb R\cup\{\pm\infty\}.

Class risks (eq. 1):  :math:`R_0(t)=\Phi((\mu_0-t)/\sigma_0)`, :math:`R_1(t)=\Phi((t-\mu_1)/\sigma_1)`.
Average risk (eq. 2): :math:`R(t)=\phi_0R_0(t)+\phi_1R_1(t)`; worst-class risk :math:`\max_k R_k(t)`.

Random pruning inside classes keeps each class-conditional density and only re-weights the priors,
:math:`\phi_k' \propto d_k\phi_k` (App. B); the learned classifier is the population risk
minimiser :math:`t^*(\phi_0'/\phi_1')` evaluated on the *unpruned* distribution.

Domain: everything is computed in double precision from closed forms that multiply up to four
parameters (e.g. :math:`\sigma_0^2(\mu_1-\mu_0)^2` in eq. 3), so the constructor accepts stds in
:math:`[10^{-75},10^{75}]`, :math:`|\mu_k|\le10^{75}` and
:math:`\min_k\sigma_k\ge10^{-100}\max(\mu_1-\mu_0,\sigma_0,\sigma_1)`, and raises a ValueError
otherwise (without the check, means :math:`\pm10^{300}` would give :math:`t^*=-\infty` with risks
(1, 0), a std of :math:`10^{-300}` :math:`R_0=0.5`). The problem is invariant under an affine change of
:math:`x`: rescale it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .thresholds import (
    class_risks_from_params,
    log_prior_ratio,
    optimal_threshold_from_params,
    priors_from_log_ratio,
    stationary_roots,
)
from .validation import (
    as_float_array,
    as_pair,
    check_class_densities,
    check_density,
    check_priors,
    check_real,
)

__all__ = ["TwoGaussians", "SSPResult", "EDGE_MARGIN"]

#: Domain of the closed forms (see the module docstring).
PARAM_MAX, STD_MIN, SPREAD_MAX = 1e75, 1e-75, 1e100
#: Default step, in the pruned log prior ratio, inside the finite-threshold region when the worst-class
#: optimum sits on its edge (Theorem B.1; :meth:`TwoGaussians.worst_class_optimal_densities`).
EDGE_MARGIN = 1e-3


@dataclass(frozen=True)
class SSPResult:
    """Outcome of supervised SSP margin pruning (see :meth:`TwoGaussians.ssp_prune`).

    Attributes
    ----------
    margin : float
        The margin M; every sample with ``|x - mu_y| < M`` was dropped.
    densities : ndarray of shape (2,)
        Kept fraction of each class, ``d_k = 2 Phi(-M / sigma_k)``.
    density : float
        Overall kept fraction ``phi_0 d_0 + phi_1 d_1``.
    threshold : float
        Global minimiser of the truncated mixture's average risk.
    class_risks : ndarray of shape (2,)
        ``(R_0, R_1)`` of that threshold on the unpruned distribution.
    """

    margin: float
    densities: np.ndarray
    density: float
    threshold: float
    class_risks: np.ndarray

    @property
    def worst_class_risk(self) -> float:
        return float(np.max(self.class_risks))


class TwoGaussians:
    """Mixture of two univariate Gaussians with threshold classifiers ``y_hat = 1{x > t}``.

    Parameters
    ----------
    means : pair of float
        ``(mu0, mu1)``, finite, ``mu0 < mu1``.
    stds : pair of float
        ``(sigma0, sigma1)``, finite and > 0.
    priors : pair of float
        ``(phi0, phi1)`` in [0, 1] summing to 1 (within 1e-9). A zero prior is allowed; it makes
        the optimal threshold infinite.

    Examples
    --------
    >>> model = TwoGaussians(means=(0, 6), stds=(1, 2), priors=(0.5, 0.5))
    >>> round(model.optimal_threshold(), 4)
    2.2247
    """

    def __init__(self, means=(0.0, 6.0), stds=(1.0, 2.0), priors=(0.5, 0.5)):
        self.means = as_pair(means, "means")
        self.stds = as_pair(stds, "stds")
        self.priors = check_priors(as_pair(priors, "priors"))
        if not self.means[0] < self.means[1]:
            raise ValueError(f"means must satisfy mu0 < mu1, got {means!r}")
        if not (self.stds > 0).all():
            raise ValueError(f"stds must be > 0, got {stds!r}")
        self._check_domain(means, stds)
        for arr in (self.means, self.stds, self.priors):
            arr.setflags(write=False)

    def _check_domain(self, means, stds) -> None:
        """Reject parameters whose squares over/underflow the closed forms (module docstring)."""
        spread = max(self.means[1] - self.means[0], self.stds.max())
        if (np.abs(self.means).max() > PARAM_MAX or self.stds.max() > PARAM_MAX or self.stds.min() < STD_MIN
                or self.stds.min() < spread / SPREAD_MAX):
            raise ValueError(
                f"means={means!r}, stds={stds!r} are outside the range TwoGaussians computes in double "
                f"precision: need |means| and stds <= {PARAM_MAX:g}, stds >= {STD_MIN:g}, and min(stds) >= "
                f"{1 / SPREAD_MAX:g} x max(mu1 - mu0, stds); the problem is invariant under an affine "
                "change of x, so rescale it")

    def __repr__(self) -> str:
        return (
            f"TwoGaussians(means=({self.means[0]:g}, {self.means[1]:g}), "
            f"stds=({self.stds[0]:g}, {self.stds[1]:g}), "
            f"priors=({self.priors[0]:g}, {self.priors[1]:g}))"
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, TwoGaussians):
            return NotImplemented
        return all(
            np.array_equal(a, b)
            for a, b in ((self.means, other.means), (self.stds, other.stds), (self.priors, other.priors))
        )

    __hash__ = None  # mutable-looking numpy fields; equality is by value

    # ------------------------------------------------------------------ risks
    def class_risks(self, t) -> np.ndarray:
        r"""Class-conditional 0-1 risks of the threshold(s) ``t`` (paper eq. 1).

        :math:`R_0(t)=\Phi((\mu_0-t)/\sigma_0)` (class 0 predicted as 1) and
        :math:`R_1(t)=\Phi((t-\mu_1)/\sigma_1)` (class 1 predicted as 0).

        ``t`` may be any array (``+-inf`` allowed); the result has shape ``np.shape(t) + (2,)``.
        Tail-accurate: see :func:`class_risks_from_params`.
        """
        t = as_float_array(t, "t", allow_inf=True)
        return class_risks_from_params(t, self.means[0], self.means[1], self.stds[0], self.stds[1])

    def average_risk(self, t, priors=None) -> np.ndarray:
        r""":math:`R(t)=\phi_0R_0(t)+\phi_1R_1(t)` (paper eq. 2), for the model's priors by default.

        ``priors`` may be a pair or an array of pairs broadcasting against ``t``.
        """
        w = self.priors if priors is None else check_priors(priors)
        return np.sum(self.class_risks(t) * w, axis=-1)

    def worst_class_risk(self, t) -> np.ndarray:
        r""":math:`\max\{R_0(t), R_1(t)\}`."""
        return np.max(self.class_risks(t), axis=-1)

    # ------------------------------------------------------ optimal thresholds
    def optimal_threshold(self, priors=None):
        r"""Minimiser :math:`t^*(\phi_0/\phi_1)` of the average risk over :math:`\mathbb R\cup\{\pm\infty\}`.

        Stationarity :math:`\phi_0f_0(t)=\phi_1f_1(t)` is, after taking logs, the quadratic
        (paper eq. 3, App. B)

        .. math::
            \sigma_1^2(t-\mu_0)^2-\sigma_0^2(t-\mu_1)^2 = 2\sigma_0^2\sigma_1^2 L,\qquad
            L=\log\frac{\phi_0\sigma_1}{\phi_1\sigma_0},

        whose local minimum of :math:`R` is

        .. math::
            t^* = \frac{\mu_0\sigma_1^2-\mu_1\sigma_0^2+\sigma_0\sigma_1\sqrt{D}}{\sigma_1^2-\sigma_0^2},
            \qquad D=(\mu_1-\mu_0)^2+2(\sigma_1^2-\sigma_0^2)L .

        This is the root where :math:`R'=\phi_1f_1-\phi_0f_0` turns from negative to positive: the
        larger root when :math:`\sigma_1>\sigma_0` (the paper's convention), the smaller when
        :math:`\sigma_1<\sigma_0`, and :math:`(\mu_0+\mu_1)/2+\sigma^2\log(\phi_0/\phi_1)/(\mu_1-\mu_0)`
        when the stds are equal. It is evaluated in the cancellation-free form
        :math:`t^*=\mu_0+\sigma_0(\Delta^2+2\sigma_1^2L)/(\sigma_0\Delta+\sigma_1\sqrt D)`,
        :math:`\Delta=\mu_1-\mu_0`, which is continuous through :math:`\sigma_0=\sigma_1`.

        The infinite thresholds are returned when no finite one is better: when :math:`D\le0`
        (:math:`R` is monotone) or when :math:`R(t^*)` exceeds :math:`R(-\infty)=\phi_0` or
        :math:`R(+\infty)=\phi_1` (Theorem B.1's global-optimality condition). A zero prior gives
        ``+inf`` (``phi1 = 0``: always predict class 0) or ``-inf`` (``phi0 = 0``).

        Parameters
        ----------
        priors : array_like of shape (2,) or (..., 2), optional
            Training priors, a pair or an array of pairs; default the model's.

        Returns
        -------
        float or ndarray
            The threshold; an array of shape ``priors.shape[:-1]`` for an array of priors.
        """
        w = self.priors if priors is None else check_priors(priors)
        t = self._threshold_from_log_prior_ratio(log_prior_ratio(w))
        return float(t) if np.ndim(t) == 0 else t

    def _threshold_from_log_prior_ratio(self, log_ratio) -> np.ndarray:
        """Vectorised t*(phi0/phi1) from log(phi0/phi1) in [-inf, inf] (see optimal_threshold)."""
        (mu0, mu1), (s0, s1) = self.means, self.stds
        return optimal_threshold_from_params(mu0, mu1, s0, s1, log_ratio)

    def worst_class_threshold(self) -> float:
        r"""Minimiser of the worst-class risk, where :math:`R_0=R_1` (App. B.2):
        :math:`t_{wc}=(\mu_0\sigma_1+\mu_1\sigma_0)/(\sigma_0+\sigma_1)`, with
        :math:`R_0=R_1=\Phi(-(\mu_1-\mu_0)/(\sigma_0+\sigma_1))`."""
        (mu0, mu1), (s0, s1) = self.means, self.stds
        return float((mu0 * s1 + mu1 * s0) / (s0 + s1))

    def worst_class_optimal_priors(self) -> np.ndarray:
        r"""Training priors whose average-risk minimiser is :math:`t_{wc}` (App. B.2):
        :math:`\phi_k=\sigma_k/(\sigma_0+\sigma_1)`. The harder (wider) class gets more data.

        At these priors the log term of :meth:`optimal_threshold` vanishes, so :math:`t^*=t_{wc}`
        whenever :math:`t^*` is the global minimiser, i.e. when
        :math:`\Phi(-(\mu_1-\mu_0)/(\sigma_0+\sigma_1))\le\min_k\phi_k`.
        """
        return self.stds / self.stds.sum()

    # ----------------------------------------------------------------- pruning
    def prune(self, densities) -> "TwoGaussians":
        r"""Random within-class pruning keeping fraction :math:`d_k` of class :math:`k`.

        The class-conditionals are unchanged; the priors become
        :math:`\phi_k'=d_k\phi_k/(d_0\phi_0+d_1\phi_1)` (App. B).
        """
        d = check_class_densities(densities, self.priors)
        w = d * self.priors
        return TwoGaussians(self.means, self.stds, w / w.sum())

    def pruned_risks(self, densities) -> np.ndarray:
        """Class risks, on this (unpruned) distribution, of the threshold learned after pruning."""
        return self.class_risks(self.prune(densities).optimal_threshold())

    def drop_densities(self, density, alpha=1.0) -> np.ndarray:
        r"""DRoP's class densities at dataset density :math:`d` (paper Algorithm 1; damped by
        ``alpha``: :math:`d_k\propto R_k^{\alpha}`, :func:`gaussian_theory.allocation.allocation_weights`).

        The query model is the one trained on all data, so the class errors are
        :math:`1-r_k=R_k(t^*(\phi_0/\phi_1))`, used as they are (forming :math:`1-(1-R_k)` would cancel
        for :math:`R_k<10^{-16}`). The class sizes are the priors themselves (a population):
        :math:`d_k=\min\{1,cR_k^{\alpha}\}` with :math:`\sum_k\phi_kd_k=d`, water-filled by
        :func:`gaussian_theory.apportionment.water_fill`, the one implementation. A zero-prior class gets
        density 0.

        >>> TwoGaussians((0, 40), (1, 2)).drop_densities(0.5).round(4).tolist()  # R0/R1 = 0.498
        [0.3325, 0.6675]
        """
        from .allocation import allocation_weights

        d = check_density(density)
        errors = self.class_risks(self.optimal_threshold())
        return self._densities_from_weights(allocation_weights(errors=errors, alpha=alpha), d)

    def probit_densities(self, density, *, edge_margin=EDGE_MARGIN) -> np.ndarray:
        r"""The probit rule: :math:`d_k\propto\varphi(\Phi^{-1}(r_k))` from the recalls :math:`r_k` of the
        full-data threshold :math:`t^*`, water-filled at :math:`d_k\le1` with :math:`\sum_k\phi_kd_k=d`
        (the weights of :func:`gaussian_theory.allocation.allocation_weights`, ``allocation_rule="probit"``).
        :math:`a_k=\Phi^{-1}(r_k)` is computed as the standardised distance of :math:`t^*` from the class
        mean, :math:`a_0=(t^*-\mu_0)/\sigma_0`, :math:`a_1=(\mu_1-t^*)/\sigma_1`, not from a rounded
        recall: a recall of 4e-13 (error :math:`1-4\cdot10^{-13}`) keeps its precision.

        At :math:`t^*`, :math:`\phi_0f_0=\phi_1f_1` with :math:`f_k(t^*)=\varphi(a_k)/\sigma_k`,
        :math:`a_k=\Phi^{-1}(r_k)`, so these are the worst-class-optimal pruned priors
        :math:`\propto\sigma_k` (:meth:`worst_class_optimal_densities`), computed from the recalls
        alone. Cases where the recalls are not enough, handled as
        :meth:`worst_class_optimal_densities` does:

        * the allocation learns an infinite threshold (Theorem B.1: at the ideal pruned priors
          :math:`t_{wc}` is only a local minimiser, one class has risk 1): the budget-line point
          closest to it that learns a finite threshold, ``edge_margin`` inside that edge, with a warning
          (:meth:`_finite_threshold_allocation`);
        * :math:`t^*` itself is infinite (recalls 0 and 1 carry no information): the model's
          :meth:`worst_class_optimal_densities`;
        * a zero prior: ``(density, density)``.

        >>> TwoGaussians((0, 6), (1, 2)).probit_densities(0.5).round(6).tolist()
        [0.333333, 0.666667]
        """
        d = check_density(density)
        margin = check_real(edge_margin, "edge_margin", minimum=0.0, maximum=1.0)
        if (self.priors == 0).any():
            return np.array([d, d])
        t = self.optimal_threshold()
        if not np.isfinite(t):
            return self.worst_class_optimal_densities(d, edge_margin=margin)
        # a_k = Phi^-1(r_k) are the standardised distances of t* from the means; taking them from t*
        # directly keeps their precision where a recall is tiny (Phi^-1(1 - 4e-13) of a rounded error
        # would be off by 3e-4 relative). Weights phi(a_k), scaled so the largest is 1.
        a = np.array([(t - self.means[0]) / self.stds[0], (self.means[1] - t) / self.stds[1]])
        log_w = -0.5 * a * a
        w = np.exp(log_w - log_w.max())
        return self._finite_threshold_allocation(self._densities_from_weights(w, d), d, margin)

    def _densities_from_weights(self, weights, d: float) -> np.ndarray:
        r""":math:`d_k=\min\{1,cw_k\}` with :math:`\sum_k\phi_kd_k=d` (class sizes = the priors)."""
        from .apportionment import water_fill

        phi = self.priors
        kept = water_fill(phi * weights, phi, d)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.clip(np.where(phi > 0, kept / phi, 0.0), 0.0, 1.0)

    def worst_class_optimal_densities(self, density, *, edge_margin=EDGE_MARGIN) -> np.ndarray:
        r"""Class densities :math:`(d_0,d_1)` at overall density :math:`d` minimising the worst-class
        risk of the learned threshold.

        The ideal pruned prior ratio is :math:`\sigma_0/\sigma_1` (App. B.2), i.e.
        :math:`d_k\phi_k=d\,\sigma_k/(\sigma_0+\sigma_1)`. If that asks for :math:`d_k>1`, class
        :math:`k` saturates (:math:`d_k=1`) and the other takes the rest, :math:`(d-\phi_k)/\phi_{1-k}`:
        the pruned prior ratio is monotone in :math:`d_0` along the budget line and the worst-class
        risk of :math:`t^*` is quasi-convex in it, so the feasible point closest to the ideal
        ratio is optimal. With a zero prior every allocation learns the same infinite threshold;
        then ``(density, density)`` is returned. If the closest point learns an infinite threshold,
        see :meth:`_finite_threshold_allocation`: the optimum is then the edge of the allocations that
        learn a finite threshold, and the point returned lies ``edge_margin`` (default
        :data:`EDGE_MARGIN` = 1e-3) inside it in :math:`\log(\phi_0'/\phi_1')`, with a
        ``UserWarning``. Measured on the 580 edge optima among 4,000 random models (README, the probit
        caveat), the margin costs a median 4e-5 to 1e-4 of worst-class risk, at most 1.8e-3, and keeps
        the threshold finite after rounding to integer counts whenever each class keeps at least 2,000
        samples; ``edge_margin=0`` returns the edge itself. :meth:`probit_densities` reaches the same
        optimum from the recalls alone.
        """
        d = check_density(density)
        margin = check_real(edge_margin, "edge_margin", minimum=0.0, maximum=1.0)
        phi = self.priors
        if (phi == 0).any():
            return np.array([d, d])
        target = d * self.stds / self.stds.sum() / phi
        if target[0] > 1:
            target = np.array([1.0, (d - phi[0]) / phi[1]])
        elif target[1] > 1:
            target = np.array([(d - phi[1]) / phi[0], 1.0])
        return self._finite_threshold_allocation(np.clip(target, 0.0, 1.0), d, margin)

    def _finite_threshold_allocation(self, target: np.ndarray, d: float, edge_margin: float) -> np.ndarray:
        r"""``target`` if it learns a finite threshold (or the stds are equal), else the nearest
        point of the budget line :math:`\phi_0d_0+\phi_1d_1=d` that does.

        The closest-point argument of :meth:`worst_class_optimal_densities` holds among allocations
        that learn a *finite* threshold. If ``target`` learns :math:`\pm\infty` (its root is not the
        global minimiser, Theorem B.1, so one class has risk 1), the finite-threshold allocations form
        a half-line of ratios (larger :math:`d_0` when :math:`\sigma_1>\sigma_0`, smaller when
        :math:`\sigma_1<\sigma_0`) on which the worst-class risk moves away from its minimum, so the
        optimum is that half-line's end, found by bisection along the budget line. There a rounding
        of the densities the wrong way (1e-9, or to integer counts) gives risk 1, so the point
        returned is ``edge_margin`` inside it in the pruned log prior ratio, with a warning
        (:meth:`_inside_edge`; ``edge_margin=0``: the edge itself, the exact infimum). If no feasible
        allocation learns a finite threshold, every one has worst-class risk 1 and ``target`` is
        returned.
        """
        phi = self.priors
        if self.stds[0] == self.stds[1] or np.isfinite(self.prune(target).optimal_threshold()):
            return target

        def on_line(d0):  # the point of the budget line phi0 d0 + phi1 d1 = d with this d0
            return np.clip(np.array([d0, (d - phi[0] * d0) / phi[1]]), 0.0, 1.0)

        def finite(d0):
            dens = on_line(d0)
            return dens @ phi > 0 and np.isfinite(self.prune(dens).optimal_threshold())

        # Finite thresholds need more class-0 weight when sigma1 > sigma0, less otherwise.
        end = min(1.0, d / phi[0]) if self.stds[1] > self.stds[0] else max(0.0, (d - phi[1]) / phi[0])
        # The end itself may drop a class entirely (an infinite threshold again); step just inside.
        for good in (end, end - 1e-9 * (end - target[0])):
            if finite(good):
                break
        else:
            return target
        bad = target[0]
        for _ in range(200):
            mid = 0.5 * (bad + good)
            if mid in (bad, good):
                break
            if finite(mid):
                good = mid
            else:
                bad = mid
        return self._inside_edge(on_line(good), on_line(end), d, edge_margin)

    def _inside_edge(self, edge: np.ndarray, far: np.ndarray, d: float, margin: float) -> np.ndarray:
        r"""The budget-line point whose pruned log prior ratio is ``margin`` inside the finite-threshold
        region from its ``edge`` (towards ``far``, the region's other end; halfway to it if the region
        is shorter than the margin), with a ``UserWarning``: the optimum sits on that edge, where
        rounding the densities the wrong way makes one class's risk 1."""
        phi = self.priors
        w = edge * phi
        log_ratio = np.log(w[0]) - np.log(w[1])
        step = margin if self.stds[1] > self.stds[0] else -margin  # more class-0 weight if s1 > s0
        inside = d * priors_from_log_ratio(log_ratio + step) / phi
        if not ((inside >= 0).all() and (inside <= 1).all()):
            inside = 0.5 * (edge + far)
        if margin == 0 or not np.isfinite(self.prune(inside).optimal_threshold()):
            inside = edge
        at_edge, returned = self.pruned_risks(edge).max(), self.pruned_risks(inside).max()
        w_in = inside * phi
        offset = abs(np.log(w_in[0]) - np.log(w_in[1]) - log_ratio)
        warnings.warn(
            f"{self!r} at density {d:g}: the worst-class optimum lies on the edge of the allocations that "
            f"learn a finite threshold (Theorem B.1): just past it the learned threshold is infinite and "
            f"one class has risk 1. Returned densities ({inside[0]:.6g}, {inside[1]:.6g}), {offset:.3g} "
            f"inside the edge in log(pruned prior ratio) (edge_margin = {margin:g}; worst-class risk "
            f"{returned:.6g}, {at_edge:.6g} at the edge itself). Integer class counts n0, n1 stay inside "
            "only if 1/n0 + 1/n1 < edge_margin (the default 1e-3: at least 2,000 kept per class); pass a "
            "larger edge_margin for fewer", UserWarning, stacklevel=4)
        return inside

    # --------------------------------------------------------------------- SSP
    def ssp_prune(self, margin) -> SSPResult:
        r"""Supervised SSP margin pruning: drop every sample with :math:`|x-\mu_y|<M`.

        Kept class densities :math:`d_k=2\Phi(-M/\sigma_k)` (App. B.3). The learned threshold is
        the global minimiser over :math:`\mathbb R\cup\{\pm\infty\}` of the truncated mixture's risk

        .. math::
            \tilde R(t)=\phi_0P_0(x>t,\ |x-\mu_0|\ge M)+\phi_1P_1(x\le t,\ |x-\mu_1|\ge M)

        (normalisation does not move the minimiser). :math:`\tilde R'` equals
        :math:`\phi_1f_1\mathbb 1_1-\phi_0f_0\mathbb 1_0`, so on each piece between the cut points
        :math:`\mu_k\pm M` it is monotone unless both classes are present, where its stationary points
        are the two roots of the quadratic of :meth:`optimal_threshold`. The minimiser is therefore
        among those roots, the cut points and :math:`\pm\infty`, all of which are evaluated.
        Ties go to the first candidate in that order (roots, cut points, ends).
        """
        m = float(as_float_array(margin, "margin", shape=()))
        if m < 0:
            raise ValueError(f"margin must be >= 0, got {margin!r}")
        mu, s, phi = self.means, self.stds, self.priors
        densities = 2.0 * ndtr(-m / s)
        # Candidate thresholds: both roots of phi0 f0 = phi1 f1, the cut points, the two ends.
        candidates = list(self._stationary_points(phi))
        candidates += [mu[0] - m, mu[0] + m, mu[1] - m, mu[1] + m, -np.inf, np.inf]
        cand = np.array(candidates, dtype=float)
        risk = phi[0] * self._truncated_upper(cand, 0, m) + phi[1] * self._truncated_lower(cand, 1, m)
        best = cand[int(np.argmin(risk))]
        return SSPResult(
            margin=m,
            densities=densities,
            density=float(densities @ phi),
            threshold=float(best),
            class_risks=self.class_risks(best),
        )

    def _stationary_points(self, phi) -> np.ndarray:
        """Real roots of phi0 f0(t) = phi1 f1(t) (0, 1 or 2 of them)."""
        (mu0, mu1), (s0, s1) = self.means, self.stds
        roots = np.array(stationary_roots(mu0, mu1, s0, s1, log_prior_ratio(phi)))
        return roots[~np.isnan(roots)]

    def _truncated_upper(self, t, k, m):
        """P_k(x > t and |x - mu_k| >= m), vectorised over t."""
        mu, s = self.means[k], self.stds[k]
        upper = ndtr((mu - t) / s)
        lo = np.maximum(t, mu - m)
        band = np.where(lo < mu + m, ndtr(m / s) - ndtr((lo - mu) / s), 0.0)
        return upper - band

    def _truncated_lower(self, t, k, m):
        """P_k(x <= t and |x - mu_k| >= m), vectorised over t."""
        mu, s = self.means[k], self.stds[k]
        lower = ndtr((t - mu) / s)
        hi = np.minimum(t, mu + m)
        band = np.where(hi > mu - m, ndtr((hi - mu) / s) - ndtr(-m / s), 0.0)
        return lower - band
