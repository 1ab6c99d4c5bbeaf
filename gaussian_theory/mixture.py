r"""K Gaussian classes in p dimensions: Bayes (quadratic) classifiers, class risks, minimax priors.

Model: :math:`x\mid y=k\sim\mathcal N(\mu_k,\Sigma_k)`, :math:`P(y=k)=\pi_k`, :math:`k=0,\dots,K-1`,
:math:`x\in\mathbb R^p`. The classifier trained on (infinitely much) data with class priors
:math:`w` -- the training priors, which pruning changes (README, formula map) -- is the Bayes rule

.. math::
    \hat y_w(x)=\arg\max_k\ \big[\log w_k+\log\mathcal N(x;\mu_k,\Sigma_k)\big],

quadratic in :math:`x` when the covariances differ. Its class risks on the *unpruned* mixture are
:math:`R_k(w)=P(\hat y_w(x)\ne k\mid y=k)`, independent of the test priors.

*Two isotropic classes* (:math:`\Sigma_k=s_k^2I`) have a closed form. Class 0 is predicted iff
:math:`g(x)=\frac{|x-\mu_1|^2}{2s_1^2}-\frac{|x-\mu_0|^2}{2s_0^2}+c>0`,
:math:`c=\log\frac{w_0}{w_1}+p\log\frac{s_1}{s_0}`. For :math:`s_0\ne s_1`,
:math:`g(x)=\alpha|x-m|^2+\beta` with :math:`\alpha=\frac1{2s_1^2}-\frac1{2s_0^2}`,
:math:`m=\frac{s_0^2\mu_1-s_1^2\mu_0}{s_0^2-s_1^2}`, :math:`\beta=g(m)`, and under class :math:`k`,
:math:`|x-m|^2/s_k^2\sim\chi'^2_p(\lambda_k)` (noncentral chi-square,
:math:`\lambda_k=|\mu_k-m|^2/s_k^2`), so

.. math::
    P(\hat y=0\mid y=k)=P\big(\alpha s_k^2Q_k+\beta>0\big),\qquad Q_k\sim\chi'^2_p(\lambda_k),

a ``scipy.stats.ncx2`` tail at :math:`q_k=-\beta/(\alpha s_k^2)` (upper tail if :math:`\alpha>0`, lower
if :math:`\alpha<0`). For :math:`s_0=s_1=s` the rule is linear and
:math:`R_0=\Phi(-(\delta^2/2+c)/\delta)`, :math:`R_1=\Phi((c-\delta^2/2)/\delta)`,
:math:`\delta=|\mu_1-\mu_0|/s` (both in :mod:`gaussian_theory.two_isotropic`). Every other case
is Monte Carlo (:mod:`gaussian_theory.montecarlo`, bounded memory) with binomial standard errors and
95% Wilson intervals. The minimax solvers live in :mod:`gaussian_theory.minimax`.

Relation to :class:`~gaussian_theory.two_gaussians.TwoGaussians` (p = 1, K = 2): with unequal
variances the 1-D Bayes rule predicts the narrower class on an *interval* between the two roots of
:math:`w_0f_0=w_1f_1`, whereas TwoGaussians restricts to one threshold (the paper's hypothesis
class). If :math:`\sigma_0<\sigma_1` and :math:`t_{lo}<t_{hi}` are the roots (:math:`t_{hi}=t^*`),

.. math::
    R_0^{\rm Bayes}=P_0(x<t_{lo})+R_0^{\rm TG}(t_{hi}),\qquad
    R_1^{\rm Bayes}=R_1^{\rm TG}(t_{hi})-R_1^{\rm TG}(t_{lo}),

so the two coincide up to the mass beyond the second crossing (and exactly when
:math:`\sigma_0=\sigma_1`); :meth:`GaussianMixture.bayes_intervals_1d` exposes both roots.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from . import minimax as _minimax
from . import two_isotropic as _two_isotropic
from .allocation import drop_densities as _drop_densities
from .apportionment import largest_remainder, population_sizes
from .minimax import MinimaxAllocation, MinimaxResult
from .mixture_checks import check_distinct_labels, mixture_parameters
from .montecarlo import MCDraws, check_n_mc
from .options import RISK_METHODS
from .thresholds import log_prior_ratio, stationary_roots
from .two_gaussians import TwoGaussians
from .validation import (
    MAX_MEMORY,
    as_float_array,
    check_class_densities,
    check_class_priors,
    check_density,
    check_memory,
    check_option,
)

__all__ = ["GaussianMixture", "RiskEstimate", "MinimaxResult", "MinimaxAllocation"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class RiskEstimate:
    """Class risks of a Bayes rule: ``risks`` (K,), binomial standard errors ``se`` (zeros when
    exact), ``method`` (``"exact"`` or ``"mc"``), ``n_mc`` (samples per class, 0 when exact) and the 95%
    Wilson interval ``low``/``high`` (:func:`gaussian_theory.intervals.wilson_interval`: not
    degenerate at 0 errors, where ``se`` is 0; equal to ``risks`` when exact)."""

    risks: np.ndarray
    se: np.ndarray
    method: str
    n_mc: int
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    @property
    def recalls(self) -> np.ndarray:
        return 1.0 - self.risks

    @property
    def worst(self) -> float:
        return float(np.max(self.risks))


class GaussianMixture:
    r"""Mixture of K Gaussian classes in :math:`\mathbb R^p`.

    Parameters
    ----------
    means : array_like of shape (K, p)
        Class means (a 1-D array of K numbers is read as p = 1). K >= 2.
    stds : array_like of shape (K,), optional
        Positive isotropic standard deviations, :math:`\Sigma_k=s_k^2I`; or give ``covariances``.
    covariances : array_like of shape (K, p, p), optional
        Symmetric positive-definite covariances. Give at most one of ``stds`` and ``covariances``;
        with neither, every class has the identity covariance.
    priors : array_like of shape (K,), optional
        Class priors summing to 1; default uniform.
    class_labels : sequence of length K, optional
        The original label of each class (e.g. of a fitted dataset): class ``k`` of the mixture is
        ``class_labels[k]``, the label its predictions and recalls map back to
        (:func:`gaussian_theory.surrogate_check.surrogate_vs_trained`, ``empirical.bridge``), so the labels
        must be distinct (``ValueError`` otherwise: two classes would answer to one label).
    max_memory : int, optional
        Cap in bytes (default 4 GiB) on the covariance matrices and factors the mixture holds; a
        larger mixture is refused before any is built. Classes sharing one covariance (``tied``) hold
        a single matrix.

    Examples
    --------
    >>> gm = GaussianMixture([[0.0, 0.0], [3.0, 0.0]], stds=[1.0, 1.0])
    >>> gm.class_risks().risks.round(4).tolist()  # Phi(-3/2) each
    [0.0668, 0.0668]
    """

    def __init__(self, means, stds=None, covariances=None, priors=None, class_labels=None, *,
                 max_memory=MAX_MEMORY):
        mu, cov, self._stds, tied = mixture_parameters(means, stds, covariances, max_memory)
        k, p = mu.shape
        eye = np.eye(p)
        self.means = mu
        self.covariances = cov
        self.priors = np.full(k, 1.0 / k) if priors is None else check_class_priors(priors, k)
        self.n_classes, self.dim = k, p
        self.class_labels = None if class_labels is None else np.asarray(class_labels)
        if self.class_labels is not None and self.class_labels.shape != (k,):
            raise ValueError(f"class_labels must have shape ({k},), got shape {self.class_labels.shape}")
        if self.class_labels is not None:
            check_distinct_labels(self.class_labels)
        distinct = cov[:1] if tied else cov
        self._diagonal = not (distinct - np.einsum("kii->ki", distinct)[:, :, None] * eye[None]).any()
        #: all classes share one covariance (the Bayes rule is linear; Monte Carlo takes the shared-noise
        #: route of :mod:`gaussian_theory.montecarlo`)
        self.tied = tied
        self._max_memory = max_memory
        self._draws_cache = None
        chol = np.linalg.cholesky(distinct)
        self._chol = np.broadcast_to(chol[0], (k, p, p)) if tied else chol
        self._logdet = 2.0 * np.log(np.einsum("kii->ki", self._chol)).sum(axis=1)
        for arr in (self.means, self.covariances, self.priors, self._chol):
            arr.setflags(write=False)

    # ---------------------------------------------------------------- basics
    @property
    def stds(self):
        """(K,) isotropic standard deviations, or None when a covariance is not a multiple of I."""
        return None if self._stds is None else self._stds.copy()

    @property
    def isotropic(self) -> bool:
        return self._stds is not None

    def __repr__(self) -> str:
        kind = "isotropic" if self.isotropic else ("diagonal" if self._diagonal else "full")
        priors = np.round(self.priors, 4).tolist()
        return f"GaussianMixture(K={self.n_classes}, p={self.dim}, {kind}, priors={priors})"

    @classmethod
    def from_two_gaussians(cls, model: TwoGaussians) -> "GaussianMixture":
        """The p = 1, K = 2 mixture with the same means, stds and priors."""
        if not isinstance(model, TwoGaussians):
            raise TypeError(f"model must be a TwoGaussians, got {type(model).__name__}: {model!r}")
        return cls(model.means[:, None], stds=model.stds, priors=model.priors)

    def _with_priors(self, priors) -> "GaussianMixture":
        kw = {"priors": priors, "class_labels": self.class_labels, "max_memory": self._max_memory}
        if self.isotropic:
            return GaussianMixture(self.means, stds=self._stds, **kw)
        return GaussianMixture(self.means, covariances=self.covariances, **kw)

    def _check_x(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {x.shape}")
        return x

    # ---------------------------------------------------------------- sampling
    def sample(self, n, rng=None, class_counts="exact", *, max_memory=MAX_MEMORY):
        """Draw ``n`` labelled points; returns ``x`` (n, p) float and ``y`` (n,) int, in random order.

        ``class_counts="exact"``: :math:`n_k=n\\pi_k` rounded by largest remainder (sum exactly n);
        ``"multinomial"``: counts drawn from Multinomial(n, priors). ``rng``: seed or Generator.
        ``max_memory``: cap in bytes on the working memory, about :math:`8n(4p+3)` (the points, their
        permuted copy and one class's temporaries); larger draws are refused before any work.
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n must be an integer, got {n!r}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n!r}")
        check_option(class_counts, "class_counts", ("exact", "multinomial"))
        check_memory(8.0 * int(n) * (4 * self.dim + 3), max_memory,
                     f"GaussianMixture.sample(n={int(n)}) in p = {self.dim} dimensions", hint="lower n")
        rng = np.random.default_rng(rng)
        if class_counts == "exact":
            counts = largest_remainder(n * self.priors, np.full(self.n_classes, n), int(n))
        elif class_counts == "multinomial":
            counts = rng.multinomial(n, self.priors)
        else:
            raise ValueError(f"class_counts must be 'exact' or 'multinomial', got {class_counts!r}")
        y = np.repeat(np.arange(self.n_classes), counts)
        x = rng.standard_normal((int(n), self.dim))
        for k, (a, b) in enumerate(zip(np.cumsum(counts) - counts, np.cumsum(counts))):
            x[a:b] = self.class_points(k, x[a:b])
        perm = rng.permutation(int(n))
        return x[perm], y[perm]

    def class_points(self, k: int, z) -> np.ndarray:
        r"""Points of class ``k`` from standard normals ``z`` (m, p): :math:`\mu_k+L_kz`, :math:`L_k` the
        Cholesky factor of :math:`\Sigma_k` -- the one place class-conditional draws are made
        (:meth:`sample`, :class:`~gaussian_theory.montecarlo.MCDraws`)."""
        return self.means[k] + z @ self._chol[k].T

    # ---------------------------------------------------------------- Bayes rule
    def log_densities(self, x) -> np.ndarray:
        r"""(n, K) class-conditional log densities :math:`\log\mathcal N(x;\mu_k,\Sigma_k)`."""
        x = self._check_x(x)
        if self.tied and not self._diagonal:  # whiten once: |L^-1(x - mu_k)|^2 = |u - m_k|^2, one matmul
            center = self.means.mean(axis=0)
            u = solve_triangular(self._chol[0], (x - center).T, lower=True)  # (p, n)
            m = solve_triangular(self._chol[0], (self.means - center).T, lower=True)  # (p, K)
            maha = (np.einsum("ij,ij->j", u, u)[:, None] - 2.0 * (u.T @ m)
                    + np.einsum("ij,ij->j", m, m)[None, :])
            return -0.5 * (np.maximum(maha, 0.0) + self._logdet[0] + self.dim * _LOG_2PI)
        out = np.empty((x.shape[0], self.n_classes))
        for k in range(self.n_classes):  # a loop over classes; samples are vectorised
            d = x - self.means[k]
            if self._diagonal:
                maha = np.einsum("ij,ij->i", d, d / np.einsum("ii->i", self.covariances[k]))
            else:
                u = solve_triangular(self._chol[k], d.T, lower=True)
                maha = np.einsum("ij,ij->j", u, u)
            out[:, k] = -0.5 * (maha + self._logdet[k] + self.dim * _LOG_2PI)
        return out

    def predict(self, x, priors=None) -> np.ndarray:
        r"""Bayes rule :math:`\arg\max_k[\log w_k+\log\mathcal N(x;\mu_k,\Sigma_k)]` for training priors
        ``priors`` (default the mixture's). Ties go to the lower class index."""
        w = self.priors if priors is None else check_class_priors(priors, self.n_classes)
        with np.errstate(divide="ignore"):
            return np.argmax(self.log_densities(x) + np.log(w), axis=1)

    # ---------------------------------------------------------------- class risks
    def class_risks(self, priors=None, n_mc=200_000, seed=0, method="auto") -> RiskEstimate:
        r"""Class risks :math:`R_k(w)=P(\hat y_w(x)\ne k\mid y=k)` of the Bayes rule for training
        priors ``w``.

        ``method="auto"``: the noncentral chi-square closed form (module docstring) when K = 2 and
        both covariances are isotropic, Monte Carlo otherwise; ``"exact"`` insists on the closed form;
        ``"mc"`` forces Monte Carlo with ``n_mc`` draws per class from ``numpy.random.default_rng(seed)``,
        binomial standard errors :math:`\sqrt{\hat R_k(1-\hat R_k)/n_{mc}}` and 95% Wilson bounds
        ``low``/``high``. The same seed gives the same draws for every ``priors`` (common random
        numbers; the last integer-seeded draws are kept when they fit in ~200 MB). Larger draws are
        streamed in blocks (:class:`gaussian_theory.montecarlo.MCDraws`), so memory stays bounded for
        any K and ``n_mc``; ``n_mc`` is at most 10**8 (:func:`~gaussian_theory.montecarlo.check_n_mc`).
        A tied mixture (one shared covariance, e.g. the default surrogate) draws K-dimensional noise
        shared by its classes, a per-draw cost linear in K whatever p is (``montecarlo`` module
        docstring).
        """
        w = self.priors if priors is None else check_class_priors(priors, self.n_classes)
        check_option(method, "method", RISK_METHODS)
        self._check_n_mc(n_mc)  # on every path: a bad n_mc is refused even where the closed form applies
        exact_ok = self.n_classes == 2 and self.isotropic
        if method == "exact" and not exact_ok:
            raise ValueError(f"method='exact' needs K = 2 isotropic classes, got {self!r}")
        if method != "mc" and exact_ok:
            r = self._exact_two_isotropic(w)
            return RiskEstimate(risks=r, se=np.zeros(2), method="exact", n_mc=0, low=r.copy(), high=r.copy())
        r, se, low, high = self._draws(n_mc, seed).risks(w)
        return RiskEstimate(risks=r, se=se, method="mc", n_mc=int(n_mc), low=low, high=high)

    def recalls(self, priors=None, n_mc=200_000, seed=0, method="auto") -> np.ndarray:
        """:math:`1-R_k(w)`, the class recalls of the Bayes rule (see :meth:`class_risks`)."""
        return self.class_risks(priors, n_mc=n_mc, seed=seed, method=method).recalls

    def _exact_two_isotropic(self, w) -> np.ndarray:
        """The noncentral chi-square closed form (module docstring): :func:`two_isotropic.exact_risks`."""
        return _two_isotropic.exact_risks(self.means, self._stds, w)

    @staticmethod
    def _check_n_mc(n_mc):
        if isinstance(n_mc, (bool, np.bool_)) or not isinstance(n_mc, numbers.Integral):
            raise TypeError(f"n_mc must be an integer, got {n_mc!r}")
        if n_mc < 2:
            raise ValueError(f"n_mc must be >= 2, got {n_mc!r}")
        check_n_mc(n_mc)

    def _draws(self, n_mc, seed) -> MCDraws:
        """The Monte Carlo draws of (``n_mc``, ``seed``): the last integer-seeded ones are kept if they fit
        in the memory bound (common random numbers across calls); otherwise streamed."""
        if isinstance(seed, np.random.Generator):
            return MCDraws(self, n_mc, seed, max_bytes=0)
        key = (int(n_mc), seed)
        if self._draws_cache is not None and self._draws_cache[0] == key:
            return self._draws_cache[1]
        draws = MCDraws(self, n_mc, seed)
        if draws.in_memory:
            self._draws_cache = (key, draws)
        return draws

    # ---------------------------------------------------------------- 1-D relation to TwoGaussians
    def bayes_intervals_1d(self, priors=None) -> np.ndarray:
        r"""For p = 1, K = 2: the real roots (sorted) of :math:`w_0f_0(t)=w_1f_1(t)`, i.e. the points
        where the Bayes rule switches class (0, 1 or 2 of them)."""
        if self.dim != 1 or self.n_classes != 2:
            raise ValueError(f"bayes_intervals_1d needs p = 1 and K = 2, got {self!r}")
        w = self.priors if priors is None else check_class_priors(priors, 2)
        if (w == 0).any():
            return np.empty(0)
        (mu0,), (mu1,) = self.means
        s0, s1 = np.sqrt(self.covariances[:, 0, 0])
        roots = np.array(stationary_roots(mu0, mu1, s0, s1, log_prior_ratio(w)))
        return np.sort(roots[~np.isnan(roots)])

    # ---------------------------------------------------------------- minimax (gaussian_theory.minimax)
    def minimax(self, n_mc=50_000, seed=0, tol=None, max_iter=100, method="auto",
                n_certify=100_000) -> MinimaxResult:
        r"""Worst-class-optimal training priors :math:`\arg\min_w\max_kR_k(w)`, certified on fresh
        draws: :func:`gaussian_theory.minimax.minimax`."""
        return _minimax.minimax(self, n_mc=n_mc, seed=seed, tol=tol, max_iter=max_iter, method=method,
                                n_certify=n_certify)

    def minimax_priors(self, n_mc=50_000, seed=0, tol=None, max_iter=100, method="auto") -> np.ndarray:
        """The priors of :meth:`minimax` (use :meth:`minimax` for the risks and the certificate)."""
        return self.minimax(n_mc=n_mc, seed=seed, tol=tol, max_iter=max_iter, method=method).priors

    def minimax_allocation(self, density, n_mc=50_000, seed=0, n_starts=4,
                           n_certify=100_000) -> MinimaxAllocation:
        r"""Budget-constrained minimax class densities with their out-of-sample certificate:
        :func:`gaussian_theory.minimax.minimax_densities`."""
        return _minimax.minimax_densities(self, density, n_mc=n_mc, seed=seed, n_starts=n_starts,
                                          n_certify=n_certify)

    def worst_class_optimal_densities(self, density, n_mc=50_000, seed=0, n_starts=4) -> np.ndarray:
        r"""Class densities at dataset density :math:`d` minimising the worst class risk of the pruned
        Bayes rule, :math:`\min_d\max_kR_k(w(d))` s.t. :math:`\sum_k\pi_kd_k=d`, :math:`0\le d_k\le1`
        (the name of the same concept on ``TwoGaussians``); the densities of :meth:`minimax_allocation`."""
        return self.minimax_allocation(density, n_mc=n_mc, seed=seed, n_starts=n_starts).densities

    #: alias of :meth:`worst_class_optimal_densities`
    minimax_densities = worst_class_optimal_densities

    # ---------------------------------------------------------------- pruning and allocations
    def prune(self, densities) -> "GaussianMixture":
        r"""Random within-class pruning keeping fraction :math:`d_k` of class :math:`k`: same classes,
        priors :math:`\pi_k'=d_k\pi_k/\sum_jd_j\pi_j` (README, formula map)."""
        d = check_class_densities(densities, self.priors)
        w = d * self.priors
        return self._with_priors(w / w.sum())

    def pruned_risks(self, densities, n_mc=200_000, seed=0) -> RiskEstimate:
        """Class risks, on this (unpruned) mixture, of the Bayes rule learned after pruning."""
        return self.class_risks(self.prune(densities).priors, n_mc=n_mc, seed=seed)

    def drop_densities(self, density, class_sizes=None, n_mc=200_000, seed=0) -> np.ndarray:
        r"""DRoP densities (Algorithm 1, :func:`gaussian_theory.allocation.drop_densities`) from the
        mixture's own class recalls :math:`r_k=1-R_k(\pi)` -- the query model is the Bayes rule
        trained on all the data. ``class_sizes`` default to the population
        :func:`~gaussian_theory.apportionment.population_sizes` (:math:`10^6\pi_k`; never 0 for a positive
        prior)."""
        try:
            n_sizes = len(class_sizes) if class_sizes is not None and np.ndim(class_sizes) == 1 else None
        except (TypeError, ValueError):  # ragged or not a sequence: drop_densities says what is wrong
            n_sizes = None
        if n_sizes is not None and n_sizes != self.n_classes:
            raise ValueError(f"class_sizes must have one entry per class ({self.n_classes}), got "
                             f"{n_sizes}: {class_sizes!r}")
        recalls = self.recalls(self.priors, n_mc=n_mc, seed=seed)
        sizes = population_sizes(self.priors) if class_sizes is None else class_sizes
        return _drop_densities(recalls, sizes, density)

    def compare_allocations(self, density, class_sizes=None, n_mc=200_000, seed=0, *, progress=None) -> dict:
        """Densities and predicted class risks (on the unpruned mixture) of uniform, DRoP and minimax
        allocations at dataset density ``density``. Returns ``{name: {"densities", "risks", "se", "low",
        "high", "worst_class_risk", "average_risk"}}`` (``low``/``high``: 95% Wilson bounds); the same MC
        draws (``seed``) serve every allocation, and they are independent of the draws the minimax
        allocation was fitted on (out of sample). ``progress``: called with the name of each of its
        :data:`COMPARE_STEPS` steps as it starts (e.g. a progress bar), or None."""
        d = check_density(density)
        self._check_n_mc(n_mc)
        step = progress if progress is not None else (lambda name: None)
        step(COMPARE_STEPS[0])
        drop = self.drop_densities(d, class_sizes, n_mc=n_mc, seed=seed)
        step(COMPARE_STEPS[1])
        # fitted on draws derived from, and independent of, the evaluation draws below
        minimax = _minimax.minimax_densities(self, d, n_mc=min(n_mc, 50_000), seed=seed,
                                             n_certify=0).densities
        allocs = {"uniform": np.full(self.n_classes, d), "DRoP": drop, "minimax": minimax}
        step(COMPARE_STEPS[2])
        out = {}
        for name, dens in allocs.items():
            est = self.pruned_risks(dens, n_mc=n_mc, seed=seed)
            out[name] = {
                "densities": dens,
                "risks": est.risks,
                "se": est.se,
                "low": est.low,
                "high": est.high,
                "worst_class_risk": float(est.risks.max()),
                "average_risk": float(est.risks @ self.priors),
            }
        return out


#: the steps of :meth:`GaussianMixture.compare_allocations`, in order (its ``progress`` callback)
COMPARE_STEPS = ("DRoP allocation (recalls)", "minimax allocation", "risks after pruning")
