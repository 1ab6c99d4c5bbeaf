r"""Finite-sample simulation of the two-Gaussian model: pruning rules, learners, exact test risks.

The closed forms of :mod:`gaussian_theory.two_gaussians` describe infinitely many samples. Here a
training set of :math:`n` points is drawn from the mixture :math:`\phi_0\mathcal N(\mu_0,\sigma_0^2)
+\phi_1\mathcal N(\mu_1,\sigma_1^2)`, pruned, a threshold :math:`\hat t` is learned from what is
kept, and its class risks are evaluated *exactly on the population* with eq. (1),

.. math::
    R_0(\hat t)=\Phi\Big(\frac{\mu_0-\hat t}{\sigma_0}\Big),\qquad
    R_1(\hat t)=\Phi\Big(\frac{\hat t-\mu_1}{\sigma_1}\Big),

so the only Monte Carlo error is over training sets. Over ``trials`` independent training sets the
mean :math:`\bar R_k=\frac1T\sum_i R_k(\hat t_i)` estimates :math:`E[R_k(\hat t)]` with standard
error :math:`s_k/\sqrt T` (:math:`s_k` the sample standard deviation over trials).

Pruning rules (frozen dataclasses):

* :class:`RandomPruning` -- keep :math:`m_k=\lfloor d_kn_k+\tfrac12\rfloor` uniformly random
  samples of class :math:`k` (the class-conditional law is unchanged, notes §1.6);
* :class:`SSPPruning` -- drop every sample with :math:`|x-\mu_y|<M` (notes §1.7);
* :class:`ScorePruning` -- score :math:`s(x)=|x-t_{\rm full}|`, :math:`t_{\rm full}=t^*(\phi_0/\phi_1)`
  (an EL2N-like margin score), keep the hardest (smallest score) or easiest (largest) samples,
  globally or within per-class quotas.

Learners (all vectorised over trials):

* ``"plugin"`` -- maximum-likelihood :math:`\hat\mu_k`, :math:`\hat\sigma_k^2=\frac1{m_k}\sum(x-\hat\mu_k)^2`,
  :math:`\hat\phi_k=m_k/(m_0+m_1)`, then :math:`\hat t=t^*` of eq. (3) for the estimates: the global
  minimiser of :math:`\hat\phi_0\Phi((\hat\mu_0-t)/\hat\sigma_0)+\hat\phi_1\Phi((t-\hat\mu_1)/\hat\sigma_1)`
  over the roots of the stationarity quadratic and :math:`\pm\infty`;
* ``"erm"`` -- the empirical 0-1 risk minimiser over thresholds,
  :math:`\hat t\in\arg\min_t\#\{y=0,x>t\}+\#\{y=1,x\le t\}`, exact in :math:`O(n\log n)` per trial by
  sorting: the count is constant between consecutive order statistics, so every gap is scanned with
  a cumulative sum. Among tied gaps the lower median is taken and :math:`\hat t` is the gap's
  midpoint (``-inf``/``+inf`` for the two unbounded gaps);
* ``"logistic"`` -- 1-D logistic regression :math:`P(y=1|x)=\sigma(a+bz)`, :math:`z=(x-\bar x)/s_x`
  standardised per trial, minimising the mean log-loss :math:`+\frac\lambda2b^2` by Newton's method;
  :math:`\hat t=\bar x-s_xa/b`.

Randomness flows only through a :class:`numpy.random.Generator` built from ``seed``. The draws do
not depend on the pruning rule or learner (the same seed gives the same unpruned training sets), so
rules can be compared on common random numbers.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, ndtri

from .allocation import largest_remainder, round_half_up
from .two_gaussians import TwoGaussians, optimal_threshold_from_params
from .validation import as_float_array, as_pair, check_density

__all__ = [
    "RandomPruning",
    "SSPPruning",
    "ScorePruning",
    "SimulationResult",
    "MCAllocationResult",
    "simulate",
    "optimal_densities_mc",
    "population_limit",
    "population_logistic_threshold",
    "plugin_thresholds",
    "LEARNERS",
]

LEARNERS = ("plugin", "erm", "logistic")
CLASS_COUNTS = ("exact", "multinomial")
#: smallest number of kept samples per class each learner needs (plug-in estimates a variance)
MIN_PER_CLASS = {"plugin": 2, "erm": 1, "logistic": 1}
#: elements (trials x samples) processed at once; chosen for cache efficiency, does not change results
_CHUNK_ELEMENTS = 2**18
_LOGISTIC_MAX_ITER = 50
_LOGISTIC_MAX_STEP = 10.0


# ----------------------------------------------------------------------------- pruning specs
@dataclass(frozen=True)
class RandomPruning:
    """Keep a uniformly random fraction ``densities[k]`` of class ``k`` (rounded half up per class)."""

    densities: tuple

    def __post_init__(self):
        d = as_pair(self.densities, "densities")
        if (d < 0).any() or (d > 1).any():
            raise ValueError(f"densities must lie in [0, 1], got {self.densities!r}")
        if not (d > 0).any():
            raise ValueError(f"densities keep no data, got {self.densities!r}")
        object.__setattr__(self, "densities", (float(d[0]), float(d[1])))


@dataclass(frozen=True)
class SSPPruning:
    """Supervised SSP: drop every sample with ``|x - mu_y| < margin`` (notes §1.7)."""

    margin: float

    def __post_init__(self):
        m = float(as_float_array(self.margin, "margin", shape=()))
        if m < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin!r}")
        object.__setattr__(self, "margin", m)


@dataclass(frozen=True)
class ScorePruning:
    r"""Score-based pruning with score :math:`|x-t_{\rm full}|`, where
    :math:`t_{\rm full}` = ``model.optimal_threshold()``.

    ``keep="hardest"`` keeps the smallest scores (closest to the boundary), ``"easiest"`` the
    largest. With ``class_densities=None`` the ``round(density * n)`` selected samples are chosen
    globally; otherwise class ``k`` keeps ``round(class_densities[k] * n_k)`` of its own samples and
    ``density`` may be ``None`` (if given it must equal the priors-weighted class densities).
    """

    density: float | None
    keep: str = "hardest"
    class_densities: tuple | None = None

    def __post_init__(self):
        if self.keep not in ("hardest", "easiest"):
            raise ValueError(f"keep must be 'hardest' or 'easiest', got {self.keep!r}")
        if self.class_densities is None:
            if self.density is None:
                raise ValueError(
                    "ScorePruning needs density (global) or class_densities (quotas), got neither"
                )
            object.__setattr__(self, "density", check_density(self.density))
            return
        d = as_pair(self.class_densities, "class_densities")
        if (d < 0).any() or (d > 1).any():
            raise ValueError(f"class_densities must lie in [0, 1], got {self.class_densities!r}")
        object.__setattr__(self, "class_densities", (float(d[0]), float(d[1])))
        if self.density is not None:
            object.__setattr__(self, "density", check_density(self.density))


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class SimulationResult:
    """Per-trial outcome of :func:`simulate` and its Monte Carlo summaries.

    Attributes
    ----------
    class_risks : (trials, 2) exact population class risks of each learned threshold.
    thresholds : (trials,) learned thresholds (``+-inf`` possible).
    average_risks : (trials,) :math:`\\phi_0R_0+\\phi_1R_1` with the *model's* priors.
    worst_class_risks : (trials,) :math:`\\max_kR_k`.
    kept_counts : (trials, 2) training samples of each class left after pruning.
    """

    class_risks: np.ndarray
    thresholds: np.ndarray
    average_risks: np.ndarray
    worst_class_risks: np.ndarray
    kept_counts: np.ndarray
    n: int
    learner: str
    pruning: object
    class_counts: str
    model: TwoGaussians = field(repr=False)

    @property
    def trials(self) -> int:
        return int(self.thresholds.shape[0])

    @staticmethod
    def _se(a, axis=0):
        a = np.asarray(a, dtype=float)
        t = a.shape[axis]
        if t < 2:
            return np.full(np.delete(a.shape, axis), np.nan) if a.ndim > 1 else np.nan
        return np.std(a, axis=axis, ddof=1) / np.sqrt(t)

    @property
    def mean_class_risks(self) -> np.ndarray:
        return self.class_risks.mean(axis=0)

    @property
    def se_class_risks(self) -> np.ndarray:
        return np.asarray(self._se(self.class_risks))

    @property
    def mean_average_risk(self) -> float:
        return float(self.average_risks.mean())

    @property
    def se_average_risk(self) -> float:
        return float(self._se(self.average_risks))

    @property
    def mean_worst_class_risk(self) -> float:
        return float(self.worst_class_risks.mean())

    @property
    def se_worst_class_risk(self) -> float:
        return float(self._se(self.worst_class_risks))

    @property
    def worst_of_mean_class_risks(self) -> float:
        """:math:`\\max_kE[R_k(\\hat t)]`, which is :math:`\\le E[\\max_kR_k(\\hat t)]`."""
        return float(self.mean_class_risks.max())

    def ci(self, level: float = 0.95) -> dict:
        r"""Normal-approximation confidence intervals :math:`\bar R\pm z_{(1+\ell)/2}\,\mathrm{SE}`.

        Keys: ``class_risk_0``, ``class_risk_1``, ``average_risk``, ``worst_class_risk``.
        """
        lv = float(as_float_array(level, "level", shape=()))
        if not 0.0 < lv < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        z = float(ndtri(0.5 + lv / 2.0))
        pairs = {
            "class_risk_0": (self.mean_class_risks[0], self.se_class_risks[0]),
            "class_risk_1": (self.mean_class_risks[1], self.se_class_risks[1]),
            "average_risk": (self.mean_average_risk, self.se_average_risk),
            "worst_class_risk": (self.mean_worst_class_risk, self.se_worst_class_risk),
        }
        return {k: (float(m - z * s), float(m + z * s)) for k, (m, s) in pairs.items()}

    def summary(self) -> dict:
        """Plain-Python summary (JSON-serialisable)."""
        return {
            "n": self.n,
            "trials": self.trials,
            "learner": self.learner,
            "pruning": repr(self.pruning),
            "class_counts": self.class_counts,
            "mean_class_risks": self.mean_class_risks.tolist(),
            "se_class_risks": self.se_class_risks.tolist(),
            "mean_average_risk": self.mean_average_risk,
            "se_average_risk": self.se_average_risk,
            "mean_worst_class_risk": self.mean_worst_class_risk,
            "se_worst_class_risk": self.se_worst_class_risk,
            "mean_kept_counts": self.kept_counts.mean(axis=0).tolist(),
            "ci95": self.ci(0.95),
        }


# ----------------------------------------------------------------------------- validation helpers
def _check_model(model) -> TwoGaussians:
    if not isinstance(model, TwoGaussians):
        raise TypeError(f"model must be a TwoGaussians, got {type(model).__name__}: {model!r}")
    return model


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_learner(learner) -> str:
    if learner not in LEARNERS:
        raise ValueError(f"learner must be one of {LEARNERS}, got {learner!r}")
    return learner


def _exact_class_counts(model: TwoGaussians, n: int) -> np.ndarray:
    """Class counts n_k = n phi_k rounded by largest remainder (sum exactly n)."""
    return largest_remainder(n * model.priors, np.array([n, n]), n)


# ----------------------------------------------------------------------------- plug-in rule
def plugin_thresholds(mu0, mu1, s0, s1, phi0) -> np.ndarray:
    r"""Vectorised :math:`t^*(\phi_0/\phi_1)` for arrays of (estimated) parameters: eq. 3 via
    :func:`gaussian_theory.two_gaussians.optimal_threshold_from_params`, the function behind
    :meth:`TwoGaussians.optimal_threshold` (any order of the means, :math:`\phi_0\in[0,1]`)."""
    phi0 = np.asarray(phi0, dtype=float)
    with np.errstate(divide="ignore"):
        log_ratio = np.log(phi0) - np.log1p(-phi0)
    return optimal_threshold_from_params(mu0, mu1, s0, s1, log_ratio)


# ----------------------------------------------------------------------------- learners on a chunk
def _class1(boundary, width):
    return np.arange(width)[None, :] >= boundary[:, None]


def _learn_plugin(x, boundary, valid):
    lab1 = _class1(boundary, x.shape[1])
    w1 = lab1 if valid is None else lab1 & valid
    w0 = ~lab1 if valid is None else ~lab1 & valid
    n0 = w0.sum(axis=1)
    n1 = w1.sum(axis=1)
    mu0 = np.where(w0, x, 0.0).sum(axis=1) / n0
    mu1 = np.where(w1, x, 0.0).sum(axis=1) / n1
    v0 = np.where(w0, (x - mu0[:, None]) ** 2, 0.0).sum(axis=1) / n0
    v1 = np.where(w1, (x - mu1[:, None]) ** 2, 0.0).sum(axis=1) / n1
    return plugin_thresholds(mu0, mu1, np.sqrt(v0), np.sqrt(v1), n0 / (n0 + n1))


def _learn_erm(x, boundary, valid):
    T, W = x.shape
    xs = x if valid is None else np.where(valid, x, np.inf)
    order = np.argsort(xs, axis=1)
    lab1 = order >= boundary[:, None]
    if valid is None:
        m = np.full(T, W)
        n0 = boundary.astype(np.int64)
    else:
        m = valid.sum(axis=1)
        n0 = (valid & ~_class1(boundary, W)).sum(axis=1)
    c1 = np.cumsum(lab1, axis=1, dtype=np.int32)
    # gap j in 0..W lies between order statistics j-1 and j (x_(-1) = -inf, x_(m) = +inf);
    # a threshold in gap j predicts class 0 for the first j points: errors = #1 in them + #0 after.
    err = np.empty((T, W + 1), dtype=np.int32)
    err[:, 0] = n0
    np.multiply(c1, 2, out=err[:, 1:])
    err[:, 1:] -= np.arange(1, W + 1, dtype=np.int32)[None, :]
    err[:, 1:] += n0[:, None].astype(np.int32)
    if valid is not None:
        err[np.arange(W + 1)[None, :] > m[:, None]] = np.iinfo(np.int32).max
    is_min = err == err.min(axis=1, keepdims=True)
    flat = np.flatnonzero(is_min)
    rows = flat // (W + 1)
    counts = np.bincount(rows, minlength=T)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    j = flat[starts + (counts - 1) // 2] - np.arange(T) * (W + 1)  # lower-median minimising gap
    rows_t = np.arange(T)
    left_idx = order[rows_t, np.maximum(j - 1, 0)]
    right_idx = order[rows_t, np.minimum(j, W - 1)]
    left = np.where(j == 0, -np.inf, x[rows_t, left_idx])
    right = np.where(j >= m, np.inf, x[rows_t, right_idx])
    with np.errstate(invalid="ignore"):
        t = 0.5 * (left + right)
    return np.where(j == 0, -np.inf, np.where(j >= m, np.inf, t))


def _logistic_loss_and_p(eta, y, w, nk):
    """Row means of the log-loss softplus(eta) - y eta (weighted by w) and p = sigmoid(eta)."""
    e = np.exp(-np.abs(eta))
    loss = np.log1p(e)
    loss += np.maximum(eta, 0.0)
    loss -= y * eta
    total = loss.sum(axis=1) if w is None else np.einsum("ij,ij->i", w, loss)
    np.add(e, 1.0, out=loss)
    np.reciprocal(loss, out=loss)  # 1 / (1 + e)
    p = np.where(eta >= 0, loss, e * loss)
    return total / nk, p


def _newton_logistic(z, y, w, a, b, l2, tol):
    r"""Newton's method with Armijo backtracking for each row's ridge logistic fit.

    Minimises :math:`\frac1{n}\sum_i w_i[\log(1+e^{\eta_i})-y_i\eta_i]+\frac\lambda2b^2`,
    :math:`\eta_i=a+bz_i`. Let :math:`\delta=-g^\top\Delta=\Delta^\top H\Delta` (Newton decrement)
    and :math:`m=\max_i|\Delta a+\Delta b\,z_i|`. Since :math:`|(\log\sigma')'|\le1`, the Hessian at
    :math:`\theta+s\Delta` is at most :math:`e^{sm}H`, so the full step changes the loss by at most
    :math:`-\delta+\delta\int_0^1(1-s)e^{sm}ds=-\delta\,[1-(e^m-1-m)/m^2]`, a certified decrease
    (by :math:`>0.04\delta`) when :math:`m\le1.7`. Such rows take the full step without evaluating the
    loss; the others are backtracked (halving) until the loss falls by :math:`10^{-4}s\delta` (pure
    Newton can cycle on logistic losses). Stops when every step is shorter than ``tol``.
    """
    T = z.shape[0]
    nk = np.full(T, float(z.shape[1])) if w is None else w.sum(axis=1)

    def wsum(u, v=None):
        if w is None:
            return u.sum(axis=1) if v is None else np.einsum("ij,ij->i", u, v)
        return np.einsum("ij,ij->i", w, u) if v is None else np.einsum("ij,ij,ij->i", w, u, v)

    def rows_of(arr, rows):
        return arr if arr is None or rows.size == T else arr[rows]

    zmax = np.abs(z).max(axis=1)
    p = expit(a[:, None] + b[:, None] * z)
    loss = np.empty(T)
    stale = np.ones(T, dtype=bool)  # rows whose stored loss is out of date
    for _ in range(_LOGISTIC_MAX_ITER):
        h = p * (1.0 - p)
        p -= y  # residual
        ga = wsum(p) / nk
        gb = wsum(p, z) / nk + l2 * b
        haa = wsum(h) / nk
        h *= z
        hab = wsum(h) / nk
        hbb = wsum(h, z) / nk + l2
        det = haa * hbb - hab * hab
        det = np.where(det > 0, det, np.finfo(float).tiny)
        da = -(hbb * ga - hab * gb) / det
        db = -(haa * gb - hab * ga) / det
        if np.max(np.hypot(da, db)) < tol:
            return a + da, b + db
        decrement = -(ga * da + gb * db)
        step = np.ones(T)
        certified = np.abs(da) + np.abs(db) * zmax <= 1.7
        search = np.flatnonzero(~certified)
        p = None
        if search.size:
            zs, ys, ws = rows_of(z, search), rows_of(y, search), rows_of(w, search)
            ns = nk[search]
            redo = stale[search]
            if redo.any():  # refresh losses not computed since the last full step
                r = search[redo]
                loss[r] = _logistic_loss_and_p(a[r, None] + b[r, None] * z[r], y[r], rows_of(w, r), nk[r])[0]
                loss[r] += 0.5 * l2 * b[r] ** 2
            pending = np.arange(search.size)
            p_search = np.empty((search.size, z.shape[1]))
            for _halving in range(40):
                rr = search[pending]
                a_try = a[rr] + step[rr] * da[rr]
                b_try = b[rr] + step[rr] * db[rr]
                sub = pending.size < search.size
                lr, pr = _logistic_loss_and_p(
                    a_try[:, None] + b_try[:, None] * (zs[pending] if sub else zs),
                    ys[pending] if sub else ys,
                    (ws[pending] if sub else ws) if ws is not None else None,
                    ns[pending],
                )
                lr += 0.5 * l2 * b_try * b_try
                ok = lr <= loss[rr] - 1e-4 * step[rr] * decrement[rr]
                loss[rr[ok]] = lr[ok]
                p_search[pending[ok]] = pr[ok]
                pending = pending[~ok]
                if pending.size == 0:
                    break
                step[search[pending]] *= 0.5
            stale[search] = False
            if search.size == T:
                p = p_search
        a = a + step * da
        b = b + step * db
        stale[certified] = True
        if p is None:
            p = expit(a[:, None] + b[:, None] * z)
            if search.size:
                p[search] = p_search
    return a, b


def _learn_logistic(x, boundary, valid, l2, state=None):
    """Ridge logistic thresholds of each row. ``state`` (a dict) carries a warm start between chunks:
    the median fitted line (alpha, beta) in x units, mapped to each row's standardisation. The fit
    is a strictly convex problem solved to 1e-9, so the start changes the iterations, not the answer."""
    T, W = x.shape
    lab1 = _class1(boundary, W)
    w = None if valid is None else valid.astype(float)
    nk = np.full(T, float(W)) if w is None else w.sum(axis=1)
    mean = (x.sum(axis=1) if w is None else np.einsum("ij,ij->i", w, x)) / nk
    z = x - mean[:, None]
    if w is not None:
        z *= w
    sd = np.sqrt(np.einsum("ij,ij->i", z, z) / nk)
    sd = np.where(sd > 0, sd, 1.0)
    z /= sd[:, None]
    y = lab1.astype(float)
    if w is not None:
        y *= w
    n1 = y.sum(axis=1)
    ybar = n1 / nk
    if state is not None and "start" in state:
        alpha, beta = state["start"]
        a, b = alpha + beta * mean, beta * sd
    else:  # the LDA solution (pooled variance)
        zbar1 = np.einsum("ij,ij->i", y, z) / n1
        zbar0 = -zbar1 * n1 / (nk - n1)  # sum of z is 0 after centring
        pooled = np.maximum(1.0 - ybar * (1 - ybar) * (zbar1 - zbar0) ** 2, 1e-3)
        b = np.clip((zbar1 - zbar0) / pooled, -_LOGISTIC_MAX_STEP, _LOGISTIC_MAX_STEP)
        a = np.log(ybar) - np.log1p(-ybar) - b * (zbar1 + zbar0) / 2
    a, b = _newton_logistic(z, y, w, a, b, l2, tol=1e-9)
    if state is not None and (b > 0).any():
        good = b > 0
        state["start"] = (
            float(np.median(a[good] - b[good] * mean[good] / sd[good])),
            float(np.median(b[good] / sd[good])),
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean - sd * a / b
    # b <= 0: the fitted rule is not of the form 1{x > t}; fall back to the majority class.
    t_const = np.where(ybar >= 0.5, -np.inf, np.inf)
    return np.where(b > 0, t, t_const)


def _learn(learner, x, boundary, valid, l2, state=None):
    if learner == "plugin":
        return _learn_plugin(x, boundary, valid)
    if learner == "erm":
        return _learn_erm(x, boundary, valid)
    return _learn_logistic(x, boundary, valid, l2, state)


# ----------------------------------------------------------------------------- pruning on a chunk
def _kth_smallest_mask(key, m):
    """Boolean mask of the m[i] smallest entries of each row of ``key`` (inf entries never kept)."""
    srt = np.sort(key, axis=1)
    idx = np.clip(m - 1, 0, key.shape[1] - 1)
    thr = np.take_along_axis(srt, idx[:, None], axis=1)
    return (key <= thr) & (m[:, None] > 0) & np.isfinite(key)


def _prune_chunk(pruning, model, x, n0):
    """Mask of kept samples for a chunk laid out as class 0 in columns < n0[i], class 1 after."""
    T, n = x.shape
    lab1 = _class1(n0, n)
    n1 = n - n0
    if pruning is None:
        return None
    if isinstance(pruning, RandomPruning):
        d0, d1 = pruning.densities
        m0, m1 = round_half_up(d0 * n0), round_half_up(d1 * n1)
        col = np.arange(n)[None, :]
        return (col < m0[:, None]) | (lab1 & (col - n0[:, None] < m1[:, None]))
    if isinstance(pruning, SSPPruning):
        mu_y = np.where(lab1, model.means[1], model.means[0])
        return np.abs(x - mu_y) >= pruning.margin
    if isinstance(pruning, ScorePruning):
        t_full = model.optimal_threshold()
        score = np.abs(x - t_full)
        key = score if pruning.keep == "hardest" else -score
        if pruning.class_densities is None:
            return _kth_smallest_mask(key, np.full(T, round_half_up(pruning.density * n)))
        d0, d1 = pruning.class_densities
        k0 = _kth_smallest_mask(np.where(lab1, np.inf, key), round_half_up(d0 * n0))
        k1 = _kth_smallest_mask(np.where(lab1, key, np.inf), round_half_up(d1 * n1))
        return k0 | k1
    raise TypeError(
        f"pruning must be None, RandomPruning, SSPPruning or ScorePruning, got {type(pruning).__name__}: "
        f"{pruning!r}"
    )


def _check_pruning(pruning, model):
    if pruning is None or isinstance(pruning, (RandomPruning, SSPPruning)):
        return
    if isinstance(pruning, ScorePruning):
        if not np.isfinite(model.optimal_threshold()):
            raise ValueError(
                "ScorePruning needs a finite model.optimal_threshold(), "
                f"got {model.optimal_threshold()} for {model!r}"
            )
        if pruning.class_densities is not None and pruning.density is not None:
            implied = float(np.dot(pruning.class_densities, model.priors))
            if abs(implied - pruning.density) > 1e-6:
                raise ValueError(
                    f"ScorePruning density={pruning.density!r} disagrees with class_densities="
                    f"{pruning.class_densities!r}, whose priors-weighted density is {implied:.6g}; "
                    "pass density=None to use the quotas"
                )
        return
    raise TypeError(
        f"pruning must be None, RandomPruning, SSPPruning or ScorePruning, got {type(pruning).__name__}: "
        f"{pruning!r}"
    )


# ----------------------------------------------------------------------------- simulate
def _draw_chunk(rng, model, n, n0):
    """x of shape (len(n0), n): columns < n0[i] from class 0, the rest from class 1."""
    z = rng.standard_normal((n0.shape[0], n))
    if (n0 == n0[0]).all():  # exact class counts: scale the two column blocks in place
        k = int(n0[0])
        for cols, mu, s in (
            (slice(0, k), model.means[0], model.stds[0]),
            (slice(k, n), model.means[1], model.stds[1]),
        ):
            z[:, cols] *= s
            z[:, cols] += mu
        return z
    lab1 = _class1(n0, n)
    return np.where(lab1, model.means[1] + model.stds[1] * z, model.means[0] + model.stds[0] * z)


def simulate(
    model,
    n,
    pruning=None,
    learner="erm",
    trials=1000,
    seed=None,
    class_counts="exact",
    logistic_l2=1e-4,
) -> SimulationResult:
    r"""Monte Carlo over training sets of the class risks of a threshold learned after pruning.

    Each trial draws :math:`n` points from ``model`` (class counts :math:`n_k=n\phi_k` rounded by
    largest remainder for ``class_counts="exact"``, :math:`n_0\sim\mathrm{Binomial}(n,\phi_0)` for
    ``"multinomial"``), applies ``pruning`` (see the module docstring), fits ``learner`` and records
    :math:`R_k(\hat t)` from the closed form ``model.class_risks`` -- exact population risks, so the
    only randomness is the training set.

    Parameters
    ----------
    model : TwoGaussians.
    n : training-set size before pruning (int >= 2).
    pruning : None, :class:`RandomPruning`, :class:`SSPPruning` or :class:`ScorePruning`.
    learner : ``"plugin"``, ``"erm"`` or ``"logistic"``.
    trials : number of independent training sets.
    seed : int, ``numpy.random.SeedSequence`` or ``numpy.random.Generator`` (a Generator is consumed).
    class_counts : ``"exact"`` or ``"multinomial"``.
    logistic_l2 : ridge :math:`\lambda` on the standardised slope of ``"logistic"``.

    Raises
    ------
    ValueError
        if any trial keeps fewer samples of a class than the learner needs (2 for ``plugin``,
        1 otherwise): ``n`` is too small for the densities.

    Examples
    --------
    >>> m = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    >>> r = simulate(m, 1600, RandomPruning((1/3, 2/3)), learner="plugin", trials=100, seed=0)
    >>> r.class_risks.shape
    (100, 2)
    >>> bool(np.all(np.abs(r.mean_class_risks - m.pruned_risks((1/3, 2/3))) < 4 * r.se_class_risks))
    True
    """
    model = _check_model(model)
    n = _check_int(n, "n", 2)
    trials = _check_int(trials, "trials", 1)
    learner = _check_learner(learner)
    if class_counts not in CLASS_COUNTS:
        raise ValueError(f"class_counts must be one of {CLASS_COUNTS}, got {class_counts!r}")
    l2 = float(as_float_array(logistic_l2, "logistic_l2", shape=()))
    if l2 < 0:
        raise ValueError(f"logistic_l2 must be >= 0, got {logistic_l2!r}")
    _check_pruning(pruning, model)
    need = MIN_PER_CLASS[learner]
    rng = np.random.default_rng(seed)

    if class_counts == "exact":
        n0_all = np.full(trials, _exact_class_counts(model, n)[0], dtype=np.int64)
    else:
        n0_all = rng.binomial(n, model.priors[0], size=trials).astype(np.int64)
    if isinstance(pruning, RandomPruning) and class_counts == "exact":
        kept = np.array(
            [
                round_half_up(pruning.densities[0] * n0_all[0]),
                round_half_up(pruning.densities[1] * (n - n0_all[0])),
            ]
        )
        if kept.min() < need:
            raise ValueError(
                f"n={n} is too small for densities={pruning.densities!r}: class counts "
                f"{[int(n0_all[0]), int(n - n0_all[0])]} keep {kept.tolist()} samples, and learner "
                f"{learner!r} needs at least {need} per class"
            )
    elif pruning is None and class_counts == "exact" and min(n0_all[0], n - n0_all[0]) < need:
        raise ValueError(
            f"n={n} is too small for priors={model.priors.tolist()}: learner {learner!r} "
            f"needs at least {need} samples per class"
        )

    chunk = max(1, _CHUNK_ELEMENTS // n)
    state = {}
    thresholds = np.empty(trials)
    kept_counts = np.empty((trials, 2), dtype=np.int64)
    for start in range(0, trials, chunk):
        n0 = n0_all[start : start + chunk]
        x = _draw_chunk(rng, model, n, n0)
        valid = _prune_chunk(pruning, model, x, n0)
        if valid is None:
            k1 = n - n0
            k0 = n0
        else:
            k1 = (valid & _class1(n0, n)).sum(axis=1)
            k0 = valid.sum(axis=1) - k1
        kept_counts[start : start + chunk, 0] = k0
        kept_counts[start : start + chunk, 1] = k1
        bad = (k0 < need) | (k1 < need)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"n={n} is too small for pruning={pruning!r} with class_counts={class_counts!r}: "
                f"{int(bad.sum())} trial(s) in this batch keep fewer than {need} sample(s) of a class "
                f"(e.g. kept counts {[int(k0[i]), int(k1[i])]}), which learner {learner!r} needs"
            )
        thresholds[start : start + chunk] = _learn(learner, x, n0, valid, l2, state)

    risks = model.class_risks(thresholds)
    return SimulationResult(
        class_risks=risks,
        thresholds=thresholds,
        average_risks=risks @ model.priors,
        worst_class_risks=risks.max(axis=1),
        kept_counts=kept_counts,
        n=n,
        learner=learner,
        pruning=pruning,
        class_counts=class_counts,
        model=model,
    )


# ----------------------------------------------------------------------------- population limits
def population_logistic_threshold(model, l2=1e-4, nodes=200) -> float:
    r"""Large-:math:`n` limit of the ``"logistic"`` learner on data drawn from ``model``.

    Minimises :math:`E[\ell(y,a+bz)]+\frac\lambda2b^2`, :math:`\ell` the log-loss,
    :math:`z=(x-m)/s` with the mixture mean :math:`m=\sum_k\phi_k\mu_k` and standard deviation
    :math:`s^2=\sum_k\phi_k(\sigma_k^2+\mu_k^2)-m^2` (the limits of the per-trial standardisation),
    with expectations by Gauss--Hermite quadrature (``nodes`` points per class) and Newton's method;
    returns :math:`m-sa/b`. Logistic regression is misspecified when :math:`\sigma_0\ne\sigma_1`, so
    this is *not* :math:`t^*`. For random pruning pass ``model.prune(densities)``.
    """
    model = _check_model(model)
    xi, wi = np.polynomial.hermite_e.hermegauss(nodes)
    wi = wi / wi.sum()
    phi = model.priors
    m = float(phi @ model.means)
    s = float(np.sqrt(phi @ (model.stds**2 + model.means**2) - m * m))
    z = (model.means[:, None] + model.stds[:, None] * xi[None, :] - m) / s  # (2, nodes)
    y = np.array([0.0, 1.0])[:, None]
    w = phi[:, None] * wi[None, :]
    pbar = float(phi[1])
    a, b = np.log(pbar) - np.log1p(-pbar), 0.0
    for _ in range(100):
        p = expit(a + b * z)
        r, h = w * (p - y), w * p * (1 - p)
        g = np.array([r.sum(), (r * z).sum() + l2 * b])
        hess = np.array([[h.sum(), (h * z).sum()], [(h * z).sum(), (h * z * z).sum() + l2]])
        step = -np.linalg.solve(hess, g)
        step *= min(1.0, _LOGISTIC_MAX_STEP / max(np.hypot(*step), 1e-300))
        a, b = a + step[0], b + step[1]
        if np.hypot(*step) < 1e-13:
            break
    return float(m - s * a / b) if b > 0 else (-np.inf if pbar >= 0.5 else np.inf)


def population_limit(model, pruning=None, learner="erm", logistic_l2=1e-4) -> np.ndarray:
    r"""Class risks of the :math:`n\to\infty` limit of ``simulate(model, n, pruning, learner)``.

    * no pruning or :class:`RandomPruning`, learners ``"plugin"``/``"erm"``: both are consistent for
      the average-risk minimiser of the pruned distribution, :math:`t^*(d_0\phi_0/d_1\phi_1)`, so the
      limit is ``model.pruned_risks(densities)``;
    * the same pruning with ``"logistic"``: :func:`population_logistic_threshold` of ``model.prune(d)``;
    * :class:`SSPPruning` with ``"erm"``: ``model.ssp_prune(margin).class_risks`` (the ERM minimises the
      truncated mixture's empirical risk).

    Other combinations have no closed form here and raise ``NotImplementedError``.
    """
    model = _check_model(model)
    learner = _check_learner(learner)
    if pruning is None or isinstance(pruning, RandomPruning):
        d = (1.0, 1.0) if pruning is None else pruning.densities
        if learner == "logistic":
            return model.class_risks(population_logistic_threshold(model.prune(d), l2=logistic_l2))
        return model.pruned_risks(d)
    if isinstance(pruning, SSPPruning) and learner == "erm":
        return np.asarray(model.ssp_prune(pruning.margin).class_risks)
    raise NotImplementedError(f"no population limit for pruning={pruning!r} with learner={learner!r}")


# ----------------------------------------------------------------------------- finite-sample allocation
@dataclass(frozen=True)
class MCAllocationResult:
    r"""Outcome of :func:`optimal_densities_mc`.

    ``densities``/``counts``: the allocation minimising the Monte Carlo expected worst-class risk
    :math:`E[\max_kR_k(\hat t)]` on the search draws. ``worst_class_risk``/``se``/``class_risks``:
    its estimate on *fresh* validation draws (unbiased by the search). ``population_*``: the same for
    the population optimum ``model.worst_class_optimal_densities(density)`` rounded to counts;
    ``difference`` = population minus finite-sample optimum on the validation draws (paired, with
    standard error ``se_difference``); ``uniform_*`` for equal densities. ``search_densities`` and
    ``search_objective`` hold the evaluated :math:`d_0` grid and objective (search draws).
    """

    densities: np.ndarray
    counts: np.ndarray
    worst_class_risk: float
    se: float
    class_risks: np.ndarray
    population_densities: np.ndarray
    population_counts: np.ndarray
    population_worst_class_risk: float
    population_se: float
    difference: float
    se_difference: float
    uniform_worst_class_risk: float
    uniform_se: float
    search_densities: np.ndarray
    search_objective: np.ndarray
    n: int
    density: float
    learner: str
    trials: int


def _risks_for_counts(model, x0, x1, m0, m1, learner, l2):
    """(trials, 2) class risks when the first m0 of x0 and m1 of x1 are kept (common random numbers)."""
    T = x0.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // max(m0 + m1, 1))
    t = np.empty(T)
    boundary = np.full(T, m0, dtype=np.int64)
    state = {}
    for s in range(0, T, chunk):
        x = np.concatenate([x0[s : s + chunk, :m0], x1[s : s + chunk, :m1]], axis=1)
        t[s : s + chunk] = _learn(learner, x, boundary[s : s + chunk], None, l2, state)
    return model.class_risks(t)


def optimal_densities_mc(
    model, n, density, learner="erm", trials=2000, seed=0, validation_trials=None, logistic_l2=1e-4
) -> MCAllocationResult:
    r"""Class densities minimising the finite-sample expected worst-class risk at a fixed budget.

    With exact class counts :math:`n_k` and budget :math:`M=\lfloor dn+\tfrac12\rfloor`, an allocation
    is the integer :math:`m_0` (:math:`m_1=M-m_0`, :math:`m_k\le n_k`); random pruning keeps
    :math:`m_k` i.i.d. samples of class :math:`k`. The objective

    .. math:: J(m_0)=\frac1T\sum_{i=1}^T\max_k R_k\big(\hat t_i(m_0)\big)

    uses common random numbers: trial :math:`i` keeps the *first* :math:`m_k` of one fixed sequence
    of class-:math:`k` draws, so neighbouring allocations share all but one sample and :math:`J` is
    a smooth-looking function of :math:`m_0` rather than independent noise. It is minimised over
    the integer lattice by a coarse grid (17 points) refined by halving the spacing around the best
    point down to 1. The chosen and the population-optimal allocations are then re-evaluated on
    ``validation_trials`` fresh draws, so the reported risks carry no selection bias.
    """
    model = _check_model(model)
    n = _check_int(n, "n", 2)
    trials = _check_int(trials, "trials", 2)
    d = check_density(density)
    learner = _check_learner(learner)
    vt = trials if validation_trials is None else _check_int(validation_trials, "validation_trials", 2)
    need = MIN_PER_CLASS[learner]
    n0, n1 = (int(v) for v in _exact_class_counts(model, n))
    budget = int(round_half_up(d * n))
    lo, hi = max(need, budget - n1), min(n0, budget - need)
    if lo > hi:
        raise ValueError(
            f"n={n} is too small for density={density!r}: with class counts {[n0, n1]} and budget {budget} "
            f"no allocation keeps {need} sample(s) of each class for learner {learner!r}"
        )
    rng = np.random.default_rng(seed)
    search_rng, val_rng = rng.spawn(2)

    def draws(g, t):
        return (
            model.means[0] + model.stds[0] * g.standard_normal((t, n0)),
            model.means[1] + model.stds[1] * g.standard_normal((t, n1)),
        )

    x0, x1 = draws(search_rng, trials)
    cache = {}

    def objective(m0):
        if m0 not in cache:
            cache[m0] = float(
                _risks_for_counts(model, x0, x1, m0, budget - m0, learner, logistic_l2).max(axis=1).mean()
            )
        return cache[m0]

    grid = np.unique(np.round(np.linspace(lo, hi, 17)).astype(int))
    best = min(grid.tolist(), key=lambda m: (objective(m), m))
    step = int(np.max(np.diff(grid))) if grid.size > 1 else 1
    while step > 1:
        step = (step + 1) // 2
        for m in (best - step, best + step):
            if lo <= m <= hi:
                objective(m)
        best = min(cache, key=lambda m: (cache[m], m))
    for m in (best - 1, best + 1):
        if lo <= m <= hi:
            objective(m)
    best = min(cache, key=lambda m: (cache[m], m))

    pop_d = model.worst_class_optimal_densities(d)
    pop_m0 = int(np.clip(round_half_up(pop_d[0] * n0), lo, hi))
    uni_m0 = int(np.clip(round_half_up(d * n0), lo, hi))
    v0, v1 = draws(val_rng, vt)
    r_best = _risks_for_counts(model, v0, v1, best, budget - best, learner, logistic_l2)
    r_pop = _risks_for_counts(model, v0, v1, pop_m0, budget - pop_m0, learner, logistic_l2)
    r_uni = _risks_for_counts(model, v0, v1, uni_m0, budget - uni_m0, learner, logistic_l2)
    wc_best, wc_pop, wc_uni = r_best.max(axis=1), r_pop.max(axis=1), r_uni.max(axis=1)
    se = SimulationResult._se
    keys = np.array(sorted(cache))
    return MCAllocationResult(
        densities=np.array([best / n0, (budget - best) / n1]),
        counts=np.array([best, budget - best]),
        worst_class_risk=float(wc_best.mean()),
        se=float(se(wc_best)),
        class_risks=r_best.mean(axis=0),
        population_densities=np.array([pop_m0 / n0, (budget - pop_m0) / n1]),
        population_counts=np.array([pop_m0, budget - pop_m0]),
        population_worst_class_risk=float(wc_pop.mean()),
        population_se=float(se(wc_pop)),
        difference=float((wc_pop - wc_best).mean()),
        se_difference=float(se(wc_pop - wc_best)),
        uniform_worst_class_risk=float(wc_uni.mean()),
        uniform_se=float(se(wc_uni)),
        search_densities=keys / n0,
        search_objective=np.array([cache[k] for k in keys]),
        n=n,
        density=d,
        learner=learner,
        trials=trials,
    )
