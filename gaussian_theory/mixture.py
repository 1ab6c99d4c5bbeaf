r"""K Gaussian classes in p dimensions: Bayes (quadratic) classifiers, class risks, minimax priors.

Model: :math:`x\mid y=k\sim\mathcal N(\mu_k,\Sigma_k)`, :math:`P(y=k)=\pi_k`, :math:`k=0,\dots,K-1`,
:math:`x\in\mathbb R^p`. The classifier trained on (infinitely much) data with class priors
:math:`w` -- the training priors, which pruning changes (notes §1.6) -- is the Bayes rule

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
:math:`\delta=|\mu_1-\mu_0|/s`. Every other case is Monte Carlo with binomial standard errors.

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
from scipy.integrate import quad
from scipy.linalg import solve_triangular
from scipy.optimize import brentq
from scipy.special import expit, ndtr
from scipy.stats import chi, chi2, ncx2

from .allocation import drop_densities as _drop_densities
from .allocation import largest_remainder, water_fill
from .two_gaussians import TwoGaussians, stationary_roots
from .validation import as_float_array, check_class_densities, check_class_priors, check_density

__all__ = ["GaussianMixture", "RiskEstimate", "MinimaxResult"]

_LOG_2PI = float(np.log(2.0 * np.pi))
_MC_CHUNK = 2**16
#: above this noncentrality scipy's ncx2 loses accuracy (classes of nearly equal spread); the
#: rotated form :meth:`GaussianMixture._two_isotropic_rotated` takes over
_NCX2_MAX_NONCENTRALITY = 1e6


@dataclass(frozen=True)
class RiskEstimate:
    """Class risks of a Bayes rule: ``risks`` (K,), standard errors ``se`` (zeros when exact),
    ``method`` (``"exact"`` or ``"mc"``) and ``n_mc`` (samples per class, 0 when exact)."""

    risks: np.ndarray
    se: np.ndarray
    method: str
    n_mc: int

    @property
    def recalls(self) -> np.ndarray:
        return 1.0 - self.risks

    @property
    def worst(self) -> float:
        return float(np.max(self.risks))


@dataclass(frozen=True)
class MinimaxResult:
    r"""Worst-class-optimal training priors :math:`w^*=\arg\min_w\max_kR_k(w)`.

    ``risks``/``se``: class risks at ``priors`` (on the optimisation's own draws when MC);
    ``max_risk``; ``spread`` = max - min risk (the equalisation residual); ``converged``: spread
    within ``tol``; ``on_boundary``: True when the optimiser hit a prior below 1e-300 (a boundary
    certificate: equalisation needs a vanishing prior), with ``message`` explaining.
    """

    priors: np.ndarray
    risks: np.ndarray
    se: np.ndarray
    max_risk: float
    spread: float
    tol: float
    converged: bool
    on_boundary: bool
    iterations: int
    method: str
    message: str


class GaussianMixture:
    r"""Mixture of K Gaussian classes in :math:`\mathbb R^p`.

    Parameters
    ----------
    means : (K, p) class means (a 1-D array of K numbers is read as p = 1). K >= 2.
    stds : (K,) positive isotropic standard deviations, :math:`\Sigma_k=s_k^2I`; or
    covariances : (K, p, p) symmetric positive-definite covariances. Give at most one of the two;
        with neither, every class has the identity covariance.
    priors : (K,) class priors summing to 1; default uniform.
    class_labels : optional (K,) labels for display (e.g. the original labels of a fitted dataset).

    Examples
    --------
    >>> gm = GaussianMixture([[0.0, 0.0], [3.0, 0.0]], stds=[1.0, 1.0])
    >>> gm.class_risks().risks.round(4).tolist()  # Phi(-3/2) each
    [0.0668, 0.0668]
    """

    def __init__(self, means, stds=None, covariances=None, priors=None, class_labels=None):
        mu = as_float_array(means, "means")
        if mu.ndim == 1:
            mu = mu[:, None]
        if mu.ndim != 2 or mu.shape[1] == 0:
            raise ValueError(f"means must have shape (K, p), got shape {np.shape(means)}")
        k, p = mu.shape
        if k < 2:
            raise ValueError(f"a mixture needs K >= 2 classes, got means with K = {k}: {means!r}")
        if stds is not None and covariances is not None:
            raise ValueError("give stds (isotropic) or covariances, not both")
        self._stds = None
        if covariances is None:
            s = np.ones(k) if stds is None else as_float_array(stds, "stds")
            if s.shape != (k,):
                raise ValueError(
                    f"stds must have shape ({k},) (one per class), got shape {s.shape}: {stds!r}"
                )
            if not (s > 0).all():
                j = int(np.flatnonzero(~(s > 0))[0])
                raise ValueError(f"stds must be > 0, got stds[{j}] = {float(s[j])!r}")
            self._stds = s
            cov = s[:, None, None] ** 2 * np.eye(p)[None]
        else:
            cov = as_float_array(covariances, "covariances")
            if cov.shape != (k, p, p):
                raise ValueError(
                    f"covariances must have shape ({k}, {p}, {p}) to match means {mu.shape}, "
                    f"got shape {cov.shape}"
                )
            for j in range(k):
                c = cov[j]
                if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12 * max(np.abs(c).max(), 1e-300)):
                    raise ValueError(f"covariances[{j}] must be symmetric, got {c.tolist()!r}")
                ev = np.linalg.eigvalsh(c)
                if not ev.min() > 1e-12 * max(ev.max(), 0.0) or ev.max() <= 0:
                    raise ValueError(
                        f"covariances[{j}] must be positive definite, got smallest eigenvalue "
                        f"{float(ev.min())!r}: "
                        f"{c.tolist()!r}"
                    )
            # isotropic after all? keep the exact two-class path available
            diag = np.einsum("kii->ki", cov)
            off = cov - diag[:, :, None] * np.eye(p)[None]
            if not off.any() and (diag == diag[:, :1]).all():
                self._stds = np.sqrt(diag[:, 0])
        self.means = mu
        self.covariances = cov
        self.priors = np.full(k, 1.0 / k) if priors is None else check_class_priors(priors, k)
        self.n_classes, self.dim = k, p
        self.class_labels = None if class_labels is None else np.asarray(class_labels)
        if self.class_labels is not None and self.class_labels.shape != (k,):
            raise ValueError(f"class_labels must have shape ({k},), got shape {self.class_labels.shape}")
        self._diagonal = not (cov - np.einsum("kii->ki", cov)[:, :, None] * np.eye(p)[None]).any()
        self._mc_cache = []
        self._chol = np.linalg.cholesky(cov)
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
        if self.isotropic:
            return GaussianMixture(self.means, stds=self._stds, priors=priors, class_labels=self.class_labels)
        return GaussianMixture(
            self.means, covariances=self.covariances, priors=priors, class_labels=self.class_labels
        )

    def _check_x(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {x.shape}")
        return x

    # ---------------------------------------------------------------- sampling
    def sample(self, n, rng=None, class_counts="exact"):
        """Draw ``n`` labelled points; returns ``x`` (n, p) float and ``y`` (n,) int, in random order.

        ``class_counts="exact"``: :math:`n_k=n\\pi_k` rounded by largest remainder (sum exactly n);
        ``"multinomial"``: counts drawn from Multinomial(n, priors). ``rng``: seed or Generator.
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n must be an integer, got {n!r}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n!r}")
        rng = np.random.default_rng(rng)
        if class_counts == "exact":
            counts = largest_remainder(n * self.priors, np.full(self.n_classes, n), int(n))
        elif class_counts == "multinomial":
            counts = rng.multinomial(n, self.priors)
        else:
            raise ValueError(f"class_counts must be 'exact' or 'multinomial', got {class_counts!r}")
        y = np.repeat(np.arange(self.n_classes), counts)
        z = rng.standard_normal((int(n), self.dim))
        x = self.means[y] + np.einsum("nij,nj->ni", self._chol[y], z) if n else np.empty((0, self.dim))
        perm = rng.permutation(int(n))
        return x[perm], y[perm]

    # ---------------------------------------------------------------- Bayes rule
    def log_densities(self, x) -> np.ndarray:
        r"""(n, K) class-conditional log densities :math:`\log\mathcal N(x;\mu_k,\Sigma_k)`."""
        x = self._check_x(x)
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
        ``"mc"`` forces Monte Carlo with ``n_mc`` draws per class from ``numpy.random.default_rng(seed)``
        and binomial standard errors :math:`\sqrt{\hat R_k(1-\hat R_k)/n_{mc}}`. The same seed gives the
        same draws for every ``priors`` (common random numbers).
        """
        w = self.priors if priors is None else check_class_priors(priors, self.n_classes)
        if method not in ("auto", "exact", "mc"):
            raise ValueError(f"method must be 'auto', 'exact' or 'mc', got {method!r}")
        exact_ok = self.n_classes == 2 and self.isotropic
        if method == "exact" and not exact_ok:
            raise ValueError(f"method='exact' needs K = 2 isotropic classes, got {self!r}")
        if method != "mc" and exact_ok:
            r = self._exact_two_isotropic(w)
            return RiskEstimate(risks=r, se=np.zeros(2), method="exact", n_mc=0)
        ll, y = self._mc_log_densities(n_mc, seed)
        return self._mc_risks(ll, y, w, n_mc)

    def recalls(self, priors=None, n_mc=200_000, seed=0, method="auto") -> np.ndarray:
        """:math:`1-R_k(w)`, the class recalls of the Bayes rule (see :meth:`class_risks`)."""
        return self.class_risks(priors, n_mc=n_mc, seed=seed, method=method).recalls

    def _exact_two_isotropic(self, w) -> np.ndarray:
        if w[1] == 0:
            return np.array([0.0, 1.0])  # class 1 never predicted
        if w[0] == 0:
            return np.array([1.0, 0.0])
        s0, s1 = self._stds
        mu0, mu1 = self.means
        p = self.dim
        c = float(np.log(w[0]) - np.log(w[1]) + p * np.log(s1 / s0))
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
            return self._two_isotropic_rotated(w)
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

    def _two_isotropic_rotated(self, w) -> np.ndarray:
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
        s0, s1 = self._stds
        mu0, mu1 = self.means
        p = self.dim
        c = float(np.log(w[0]) - np.log(w[1]) + p * np.log(s1 / s0))
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

    def _mc_log_densities(self, n_mc, seed):
        """Monte Carlo draws, ``n_mc`` per class, as class-major log densities ``(K, K * n_mc)`` and
        true labels. The last two integer-seeded samples are cached (same seed, same draws)."""
        if isinstance(n_mc, (bool, np.bool_)) or not isinstance(n_mc, numbers.Integral):
            raise TypeError(f"n_mc must be an integer, got {n_mc!r}")
        if n_mc < 2:
            raise ValueError(f"n_mc must be >= 2, got {n_mc!r}")
        cacheable = isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_))
        key = (int(n_mc), int(seed)) if cacheable else None
        for cached_key, value in self._mc_cache:
            if cached_key == key:
                return value
        rng = np.random.default_rng(seed)
        ll = np.empty((self.n_classes, self.n_classes * n_mc))
        for k in range(self.n_classes):
            for s in range(0, n_mc, _MC_CHUNK):
                m = min(_MC_CHUNK, n_mc - s)
                x = self.means[k] + rng.standard_normal((m, self.dim)) @ self._chol[k].T
                ll[:, k * n_mc + s : k * n_mc + s + m] = self.log_densities(x).T
        out = (ll, np.repeat(np.arange(self.n_classes), n_mc))
        if key is not None:
            ll.setflags(write=False)
            self._mc_cache = [(key, out)] + self._mc_cache[:1]
        return out

    @staticmethod
    def _mc_predict(ll, w):
        """Bayes predictions (first maximum, as :meth:`predict`) and the winning scores, computed
        class by class on class-major log densities (faster than ``argmax`` over a short axis)."""
        with np.errstate(divide="ignore"):
            logw = np.log(w)
        best = ll[0] + logw[0]
        pred = np.zeros(ll.shape[1], dtype=np.int64)
        for j in range(1, ll.shape[0]):
            score = ll[j] + logw[j]
            np.putmask(pred, score > best, j)
            np.maximum(best, score, out=best)
        return pred, best

    def _mc_risks(self, ll, y, w, n_mc) -> RiskEstimate:
        pred, _ = self._mc_predict(ll, w)
        err = np.bincount(y[pred != y], minlength=self.n_classes) / n_mc
        return RiskEstimate(risks=err, se=np.sqrt(err * (1 - err) / n_mc), method="mc", n_mc=int(n_mc))

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
        roots = np.array(stationary_roots(mu0, mu1, s0, s1, np.log(w[0]) - np.log(w[1])))
        return np.sort(roots[~np.isnan(roots)])

    # ---------------------------------------------------------------- minimax priors
    def minimax(self, n_mc=50_000, seed=0, tol=None, max_iter=100, method="auto") -> MinimaxResult:
        r"""Training priors minimising the worst class risk of the Bayes rule, :math:`\min_w\max_kR_k(w)`.

        :math:`R_k` decreases in :math:`w_k` and increases in the other priors, and
        :math:`R_k\to1` as :math:`w_k\to0` (Gaussians have full support), so the optimum equalises
        the class risks. With the exact two-class form, :math:`R_0-R_1` is monotone in
        :math:`\theta=\log(w_0/w_1)` and the root is found by Brent's method (``tol`` default 1e-12).
        Otherwise the risks are Monte Carlo on fixed draws (common random numbers) and are equalised
        by multiplicative updates of the log priors (see ``_equalise``);
        ``tol`` defaults to a quarter of the mean standard error. If equalising needs a prior below
        1e-300 the result is flagged ``on_boundary``.
        """
        k = self.n_classes
        exact = method != "mc" and k == 2 and self.isotropic
        if method == "exact" and not exact:
            raise ValueError(f"method='exact' needs K = 2 isotropic classes, got {self!r}")
        if exact:
            return self._minimax_exact(1e-12 if tol is None else float(tol))
        ll, y = self._mc_log_densities(n_mc, seed)
        w, est, spread, tol_, it = self._equalise(ll, y, n_mc, np.ones(k, bool), np.zeros(k), tol, max_iter)
        boundary = bool((w < 1e-300).any())
        return MinimaxResult(
            priors=w,
            risks=est.risks,
            se=est.se,
            max_risk=float(est.risks.max()),
            spread=spread,
            tol=tol_,
            converged=spread <= tol_,
            on_boundary=boundary,
            iterations=it,
            method="mc",
            message="optimum on the boundary of the simplex"
            if boundary
            else ("class risks equalised" if spread <= tol_ else "not converged: spread above tol"),
        )

    def _equalise(self, ll, y, n_mc, free, fixed, tol, max_iter):
        r"""Equalise the MC risks of the classes in ``free`` (bool mask); the other classes keep the
        priors ``fixed``. Returns (priors, RiskEstimate, spread over the free classes, tol, iterations).

        Multiplicative updates on the log priors of the free classes,
        :math:`\theta_k\leftarrow\theta_k+\eta(\log R_k-\overline{\log R})`: a class with
        above-average risk gains prior mass (:math:`R_k` decreases in :math:`w_k`), and the step
        :math:`\eta` doubles after a step that narrows the spread and halves after one that does not.
        One risk evaluation per step; unlike Newton's method with a finite-difference Jacobian, it
        does not stall when easy classes have only a handful of Monte Carlo errors.
        """
        idx = np.flatnonzero(free)
        mass = 1.0 - float(fixed[~free].sum())

        def weights(theta):
            w = np.where(free, 0.0, fixed)
            w[idx] = mass * _softmax(theta)
            return w

        theta = np.zeros(idx.size)
        est = self._mc_risks(ll, y, weights(theta), n_mc)
        tol_ = 0.25 * float(est.se[idx].mean()) if tol is None else float(tol)
        tol_ = max(tol_, 1.0 / n_mc)
        spread = float(np.ptp(est.risks[idx]))
        floor = 1.0 / n_mc  # a class with no MC error still needs a finite log risk
        eta, it = 1.0, 0
        for _ in range(max_iter if idx.size > 1 else 0):
            if spread <= tol_ or eta < 1e-6:
                break
            it += 1
            log_r = np.log(np.maximum(est.risks[idx], floor))
            cand_theta = theta + eta * (log_r - log_r.mean())
            cand = self._mc_risks(ll, y, weights(cand_theta), n_mc)
            cand_spread = float(np.ptp(cand.risks[idx]))
            if cand_spread < spread:
                theta, est, spread, eta = cand_theta, cand, cand_spread, min(2.0 * eta, 8.0)
            else:
                eta /= 2.0
        return weights(theta), est, spread, tol_, it

    def _minimax_exact(self, tol) -> MinimaxResult:
        def f(theta):
            w = np.array([expit(theta), expit(-theta)])
            r = self._exact_two_isotropic(w)
            return r[0] - r[1]

        lo, hi = -1.0, 1.0
        while f(lo) < 0 and lo > -700:
            lo *= 2
        while f(hi) > 0 and hi < 700:
            hi *= 2
        if f(lo) < 0 or f(hi) > 0:  # no sign change: equalisation needs a vanishing prior
            theta = lo if f(lo) < 0 else hi
            boundary, msg = True, "no equalising prior in |log(w0/w1)| <= 1024: optimum on the boundary"
        else:
            theta = brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
            boundary, msg = False, "class risks equalised (Brent root of R0 - R1)"
        w = np.array([expit(theta), expit(-theta)])
        r = self._exact_two_isotropic(w)
        spread = float(abs(r[0] - r[1]))
        return MinimaxResult(
            priors=w,
            risks=r,
            se=np.zeros(2),
            max_risk=float(r.max()),
            spread=spread,
            tol=tol,
            converged=spread <= tol or not boundary,
            on_boundary=boundary,
            iterations=0,
            method="exact",
            message=msg,
        )

    def minimax_priors(self, n_mc=50_000, seed=0, tol=None, max_iter=100, method="auto") -> np.ndarray:
        """The priors of :meth:`minimax` (use :meth:`minimax` for the risks and the certificate)."""
        return self.minimax(n_mc=n_mc, seed=seed, tol=tol, max_iter=max_iter, method=method).priors

    # ---------------------------------------------------------------- pruning and allocations
    def prune(self, densities) -> "GaussianMixture":
        r"""Random within-class pruning keeping fraction :math:`d_k` of class :math:`k`: same classes,
        priors :math:`\pi_k'=d_k\pi_k/\sum_jd_j\pi_j` (notes §1.6)."""
        d = check_class_densities(densities, self.priors)
        w = d * self.priors
        return self._with_priors(w / w.sum())

    def pruned_risks(self, densities, n_mc=200_000, seed=0) -> RiskEstimate:
        """Class risks, on this (unpruned) mixture, of the Bayes rule learned after pruning."""
        return self.class_risks(self.prune(densities).priors, n_mc=n_mc, seed=seed)

    def _sizes(self, class_sizes):
        if class_sizes is None:
            return np.round(self.priors * 1_000_000)
        return class_sizes

    def drop_densities(self, density, class_sizes=None, n_mc=200_000, seed=0) -> np.ndarray:
        r"""DRoP densities (Algorithm 1, :func:`gaussian_theory.allocation.drop_densities`) from the
        mixture's own class recalls :math:`r_k=1-R_k(\pi)` -- the query model is the Bayes rule
        trained on all the data. ``class_sizes`` default to :math:`10^6\pi_k` (the population)."""
        recalls = self.recalls(self.priors, n_mc=n_mc, seed=seed)
        return _drop_densities(recalls, self._sizes(class_sizes), density)

    def minimax_densities(self, density, n_mc=50_000, seed=0) -> np.ndarray:
        r"""Class densities at dataset density :math:`d` minimising the worst class risk of the pruned
        Bayes rule, :math:`\min_d\max_kR_k(w(d))` s.t. :math:`\sum_k\pi_kd_k=d`, :math:`0\le d_k\le1`.

        Pruned priors are :math:`w_k=\pi_kd_k/d`, so :math:`d_k\le1` caps them at
        :math:`w_k\le\pi_k/d`. When the minimax priors :math:`w^*` (:meth:`minimax`) respect the caps
        the answer is :math:`d_k=dw^*_k/\pi_k`. For K = 2 (exact form) the capped case is the
        water-filling :math:`d_k=\min\{1,cw^*_k/\pi_k\}` (:func:`gaussian_theory.allocation.water_fill`),
        optimal because the pruned prior ratio is monotone along the budget line (cf.
        :meth:`TwoGaussians.worst_class_optimal_densities`). Otherwise, on Monte Carlo draws (common
        random numbers): an active-set start -- uncapped classes equalised with :meth:`minimax`'s
        solver, classes whose equalising prior exceeds the cap kept whole, capped classes whose
        risk falls below the common level released -- and, if a class is capped, a sequential-LP
        refinement of the worst class over the capped simplex
        (:meth:`_refine_capped_minimax`; ties between near-minimax allocations go to the lower average
        risk, and the optimum need not be unique).
        """
        d = check_density(density)
        k = self.n_classes
        if k == 2 and self.isotropic:
            w = self.minimax_priors(n_mc=n_mc, seed=seed)
            x = water_fill(w, self.priors, d)
            return np.clip(x / self.priors, 0.0, 1.0)
        caps = self.priors / d
        capped = np.zeros(k, bool)
        ll, y = self._mc_log_densities(n_mc, seed)
        w = self.priors
        for _ in range(2 * k):
            if capped.all():
                break
            w, est, _, tol, _ = self._equalise(ll, y, n_mc, ~capped, np.where(capped, caps, 0.0), None, 100)
            over = ~capped & (w > caps * (1 + 1e-12))
            if over.any():
                capped[int(np.argmax(np.where(over, w / caps, -np.inf)))] = True
                continue
            level = est.risks[~capped].max()
            release = capped & (est.risks < level - tol)
            if release.any():
                capped[int(np.argmin(np.where(release, est.risks, np.inf)))] = False
                continue
            break
        if capped.any():
            w = self._refine_capped_minimax(ll, y, n_mc, w, caps)
        return np.clip(w * d / self.priors, 0.0, 1.0)

    def _refine_capped_minimax(self, ll, y, n_mc, w, caps, max_iter=30, avg_weight=0.01):
        r"""Sequential linear programming for :math:`\min_w\max_kR_k(w)` over
        :math:`\{w\ge0,\ \sum_kw_k=1,\ w\le\mathrm{caps}\}` on fixed Monte Carlo draws.

        When classes saturate, many allocations of the others give nearly the same worst-class risk;
        ties are broken towards a lower average risk by minimising the merit
        :math:`\max_kR_k+\epsilon\sum_k\pi_kR_k` (:math:`\epsilon` = ``avg_weight``). Each step
        linearises :math:`R(w+\Delta)\approx R(w)+J\Delta` (:math:`J` by relative finite differences of
        5%: the Bayes rule depends on :math:`w` only through ratios, so one prior can be perturbed
        alone) and solves the LP :math:`\min t+\epsilon\pi^\top J\Delta` s.t. :math:`R+J\Delta\le t`,
        :math:`\sum\Delta=0`, :math:`|\Delta_k|\le\rho w_k`, :math:`w+\Delta\le` caps; the step is
        kept if the Monte Carlo merit falls, otherwise the trust radius :math:`\rho` is halved.
        """
        from scipy.optimize import linprog

        k = self.n_classes

        def risks(v):
            return self._mc_risks(ll, y, v, n_mc).risks

        def merit(r):
            return float(r.max() + avg_weight * (self.priors @ r))

        r = risks(w)
        rho, h = 0.5, 0.05
        for _ in range(max_iter):
            if rho < 0.01:
                break
            # Finite differences without re-predicting everything: raising w_i by a factor 1 + h only
            # flips the samples whose class-i score is within log(1 + h) of their winning score.
            pred, best = self._mc_predict(ll, w)
            correct = pred == y
            jac = np.empty((k, k))
            for i in range(k):
                flips = (best - ll[i] - np.log(w[i]) < np.log1p(h)) & (pred != i)
                gained = np.bincount(y[flips & correct], minlength=k)  # were right, now called i
                lost = np.bincount(y[flips & (y == i)], minlength=k)  # class-i samples now right
                jac[:, i] = (gained - lost) / n_mc / (h * w[i])
            lo = -rho * w
            hi = np.maximum(np.minimum(rho * w, caps - w), lo)
            res = linprog(
                c=np.append(avg_weight * (self.priors @ jac), 1.0),
                A_ub=np.hstack([jac, -np.ones((k, 1))]),
                b_ub=-r,
                A_eq=np.append(np.ones(k), 0.0)[None, :],
                b_eq=[0.0],
                bounds=list(zip(lo, hi)) + [(None, None)],
                method="highs",
            )
            if not res.success:
                break
            cand = np.clip(w + res.x[:k], 0.0, caps)
            cand /= cand.sum()
            rc = risks(cand)
            if merit(rc) < merit(r):
                w, r = cand, rc
            else:
                rho /= 2
        return w

    def compare_allocations(self, density, class_sizes=None, n_mc=200_000, seed=0) -> dict:
        """Densities and predicted class risks (on the unpruned mixture) of uniform, DRoP and minimax
        allocations at dataset density ``density``. Returns ``{name: {"densities", "risks", "se",
        "worst_class_risk", "average_risk"}}``; the same MC draws (``seed``) serve every allocation."""
        d = check_density(density)
        allocs = {
            "uniform": np.full(self.n_classes, d),
            "DRoP": self.drop_densities(d, class_sizes, n_mc=n_mc, seed=seed),
            "minimax": self.minimax_densities(d, n_mc=min(n_mc, 50_000), seed=seed),
        }
        out = {}
        for name, dens in allocs.items():
            est = self.pruned_risks(dens, n_mc=n_mc, seed=seed)
            out[name] = {
                "densities": dens,
                "risks": est.risks,
                "se": est.se,
                "worst_class_risk": float(est.risks.max()),
                "average_risk": float(est.risks @ self.priors),
            }
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


def _softmax(theta):
    e = np.exp(theta - np.max(theta))
    return e / e.sum()
