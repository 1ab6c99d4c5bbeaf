r"""The three threshold learners of the finite-sample simulator, vectorised over training sets.

Layout shared with :mod:`gaussian_theory.pruning` and :mod:`gaussian_theory.simulation`: a chunk is an
array ``x`` of shape (trials, width) whose row ``i`` holds class 0 in columns ``< boundary[i]`` and
class 1 after (:func:`class1_mask`); an optional boolean ``valid`` of the same shape marks the samples
kept by pruning (``None``: all kept). Each learner returns one threshold :math:`\hat t` per row, the
classifier being :math:`\hat y=1\{x>\hat t\}` (README, "The paper's formulas"; paper §4).

* ``"plugin"`` -- maximum-likelihood :math:`\hat\mu_k`, :math:`\hat\sigma_k^2=\frac1{m_k}\sum(x-\hat\mu_k)^2`,
  :math:`\hat\phi_k=m_k/(m_0+m_1)`, then :math:`\hat t=t^*` of eq. (3) for the estimates
  (:func:`plugin_thresholds`);
* ``"erm"`` -- the empirical 0-1 risk minimiser :math:`\hat t\in\arg\min_t\#\{y=0,x>t\}+\#\{y=1,x\le t\}`,
  exact in :math:`O(n\log n)` per row by sorting; among tied gaps the lower median, :math:`\hat t` the
  gap's midpoint (``-inf``/``+inf`` for the two unbounded gaps);
* ``"logistic"`` -- 1-D ridge logistic regression :math:`P(y=1|x)=\sigma(a+bz)`, :math:`z=(x-\bar x)/s_x`
  standardised per row, minimising the mean log-loss :math:`+\frac\lambda2b^2` by Newton's method
  (:func:`newton_logistic`, the one solver, also behind :func:`population_logistic_threshold`);
  :math:`\hat t=\bar x-s_xa/b`. With :math:`\lambda=0` on separable rows (no finite minimiser) the
  threshold is the limit of the ridge fit as :math:`\lambda\to0`: the max-margin threshold, the
  midpoint of the gap between the classes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .options import LEARNERS
from .thresholds import log_prior_ratio_from_prior0, optimal_threshold_from_params

__all__ = [
    "LEARNERS", "MIN_PER_CLASS", "class1_mask", "plugin_thresholds", "learn_plugin", "learn_erm",
    "learn_logistic", "learn_thresholds", "newton_logistic", "population_logistic_threshold",
]

#: smallest number of kept samples per class each learner needs (plug-in estimates a variance)
MIN_PER_CLASS = {"plugin": 2, "erm": 1, "logistic": 1}
_LOGISTIC_MAX_ITER = 50
_LOGISTIC_MAX_STEP = 10.0


def class1_mask(boundary, width):
    """Boolean (rows, width): True where a column holds class 1 (column >= ``boundary[row]``)."""
    return np.arange(width)[None, :] >= boundary[:, None]


# ----------------------------------------------------------------------------- plug-in
def plugin_thresholds(mu0, mu1, s0, s1, phi0) -> np.ndarray:
    r"""Vectorised :math:`t^*(\phi_0/\phi_1)` for arrays of (estimated) parameters: eq. 3 via
    :func:`gaussian_theory.thresholds.optimal_threshold_from_params`, the function behind
    :meth:`TwoGaussians.optimal_threshold` (any order of the means, :math:`\phi_0\in[0,1]`)."""
    return optimal_threshold_from_params(mu0, mu1, s0, s1, log_prior_ratio_from_prior0(phi0))


def learn_plugin(x, boundary, valid):
    """Plug-in thresholds: Gaussian MLE per class and row, then eq. 3."""
    lab1 = class1_mask(boundary, x.shape[1])
    w1 = lab1 if valid is None else lab1 & valid
    w0 = ~lab1 if valid is None else ~lab1 & valid
    n0 = w0.sum(axis=1)
    n1 = w1.sum(axis=1)
    mu0 = np.where(w0, x, 0.0).sum(axis=1) / n0
    mu1 = np.where(w1, x, 0.0).sum(axis=1) / n1
    v0 = np.where(w0, (x - mu0[:, None]) ** 2, 0.0).sum(axis=1) / n0
    v1 = np.where(w1, (x - mu1[:, None]) ** 2, 0.0).sum(axis=1) / n1
    return plugin_thresholds(mu0, mu1, np.sqrt(v0), np.sqrt(v1), n0 / (n0 + n1))


# ----------------------------------------------------------------------------- ERM
def learn_erm(x, boundary, valid):
    """Exact empirical 0-1 risk minimisers (lower-median minimising gap, its midpoint)."""
    T, W = x.shape
    xs = x if valid is None else np.where(valid, x, np.inf)
    order = np.argsort(xs, axis=1)
    lab1 = order >= boundary[:, None]
    if valid is None:
        m = np.full(T, W)
        n0 = boundary.astype(np.int64)
    else:
        m = valid.sum(axis=1)
        n0 = (valid & ~class1_mask(boundary, W)).sum(axis=1)
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


# ------------------------------------------------------------------ ridge logistic: one Newton solver
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


def _wsum(w, u, v=None):
    """Row sums of w * u (* v); ``w=None`` means unit weights."""
    if w is None:
        return u.sum(axis=1) if v is None else np.einsum("ij,ij->i", u, v)
    return np.einsum("ij,ij->i", w, u) if v is None else np.einsum("ij,ij,ij->i", w, u, v)


def _rows_of(arr, rows, T):
    return arr if arr is None or rows.size == T else arr[rows]


def _newton_direction(p, y, z, w, nk, b, l2):
    """Newton step (da, db) and decrement -g.step of each row; overwrites ``p``."""
    h = p * (1.0 - p)
    p -= y  # residual
    ga = _wsum(w, p) / nk
    gb = _wsum(w, p, z) / nk + l2 * b
    haa = _wsum(w, h) / nk
    h *= z
    hab = _wsum(w, h) / nk
    hbb = _wsum(w, h, z) / nk + l2
    det = haa * hbb - hab * hab
    det = np.where(det > 0, det, np.finfo(float).tiny)
    da = -(hbb * ga - hab * gb) / det
    db = -(haa * gb - hab * ga) / det
    return da, db, -(ga * da + gb * db)


def _backtrack(z, y, w, nk, a, b, da, db, decrement, l2, search, step, loss, stale):
    """Armijo halving of ``step`` on the rows ``search``; returns sigmoid(eta) at the accepted points."""
    T = z.shape[0]
    zs, ys, ws = _rows_of(z, search, T), _rows_of(y, search, T), _rows_of(w, search, T)
    ns = nk[search]
    redo = stale[search]
    if redo.any():  # refresh losses not computed since the last full step
        r = search[redo]
        loss[r] = _logistic_loss_and_p(a[r, None] + b[r, None] * z[r], y[r], _rows_of(w, r, T), nk[r])[0]
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
    return p_search


def newton_logistic(z, y, w, a, b, l2, tol, max_iter=_LOGISTIC_MAX_ITER):
    r"""Newton's method with Armijo backtracking for each row's ridge logistic fit.

    Minimises :math:`\frac1{\sum_iw_i}\sum_i w_i[\log(1+e^{\eta_i})-y_i\eta_i]+\frac\lambda2b^2`,
    :math:`\eta_i=a+bz_i`, for rows of ``z`` (weights ``w``, ``None`` = 1), from the start ``(a, b)``.
    Let :math:`\delta=-g^\top\Delta=\Delta^\top H\Delta` (Newton decrement) and
    :math:`m=\max_i|\Delta a+\Delta b\,z_i|`. Since :math:`|(\log\sigma')'|\le1`, the Hessian at
    :math:`\theta+s\Delta` is at most :math:`e^{sm}H`, so the full step changes the loss by at most
    :math:`-\delta+\delta\int_0^1(1-s)e^{sm}ds=-\delta\,[1-(e^m-1-m)/m^2]`, a certified decrease
    (by :math:`>0.04\delta`) when :math:`m\le1.7`. Such rows take the full step without evaluating the
    loss; the others are backtracked (halving) until the loss falls by :math:`10^{-4}s\delta` (pure
    Newton can cycle on logistic losses). Stops when every step is shorter than ``tol``.
    """
    T = z.shape[0]
    nk = np.full(T, float(z.shape[1])) if w is None else w.sum(axis=1)
    zmax = np.abs(z).max(axis=1)
    p = expit(a[:, None] + b[:, None] * z)
    loss = np.empty(T)
    stale = np.ones(T, dtype=bool)  # rows whose stored loss is out of date
    for _ in range(max_iter):
        da, db, decrement = _newton_direction(p, y, z, w, nk, b, l2)
        if np.max(np.hypot(da, db)) < tol:
            return a + da, b + db
        step = np.ones(T)
        certified = np.abs(da) + np.abs(db) * zmax <= 1.7
        search = np.flatnonzero(~certified)
        if search.size:
            p_search = _backtrack(z, y, w, nk, a, b, da, db, decrement, l2, search, step, loss, stale)
        a = a + step * da
        b = b + step * db
        stale[certified] = True
        if search.size == T:
            p = p_search
        else:
            p = expit(a[:, None] + b[:, None] * z)
            if search.size:
                p[search] = p_search
    return a, b


def _fit_logistic_rows(x, lab1, valid, l2, state):
    """Ridge logistic thresholds of rows with a finite minimiser (see :func:`learn_logistic`)."""
    T, W = x.shape
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
    a, b = newton_logistic(z, y, w, a, b, l2, tol=1e-9)
    if state is not None and (b > 0).any():
        good = b > 0
        state["start"] = (
            float(np.median(a[good] - b[good] * mean[good] / sd[good])),
            float(np.median(b[good] / sd[good])),
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean - sd * a / b
    # b <= 0: the fitted rule is not of the form 1{x > t}; fall back to the majority class.
    return np.where(b > 0, t, np.where(ybar >= 0.5, -np.inf, np.inf))


def learn_logistic(x, boundary, valid, l2, state=None):
    r"""Ridge logistic thresholds of each row. ``state`` (a dict) carries a warm start between chunks:
    the median fitted line (alpha, beta) in x units, mapped to each row's standardisation. The fit
    is a strictly convex problem solved to 1e-9, so the start changes the iterations, not the answer
    (beyond that tolerance).

    With ``l2 == 0`` a row whose kept classes are separable, :math:`\max x_{y=0}<\min x_{y=1}`, has no
    finite minimiser (the slope diverges); its threshold is the limit of the ridge fit as
    :math:`\lambda\to0`, the max-margin threshold :math:`(\max x_{y=0}+\min x_{y=1})/2` (the logistic
    loss is then dominated by the closest point of each class, and the free intercept balances the
    two margins). A row separable the other way (every class-1 point below every class-0 point) has
    no rule of the form :math:`1\{x>t\}` near the fit and gets the majority-class threshold, as does
    any fit with slope :math:`b\le0`.
    """
    T, W = x.shape
    lab1 = class1_mask(boundary, W)
    if l2 > 0:
        return _fit_logistic_rows(x, lab1, valid, l2, state)
    keep0 = ~lab1 if valid is None else ~lab1 & valid
    keep1 = lab1 if valid is None else lab1 & valid
    max0 = np.where(keep0, x, -np.inf).max(axis=1)
    min0 = np.where(keep0, x, np.inf).min(axis=1)
    max1 = np.where(keep1, x, -np.inf).max(axis=1)
    min1 = np.where(keep1, x, np.inf).min(axis=1)
    ybar = keep1.sum(axis=1) / (keep0.sum(axis=1) + keep1.sum(axis=1))
    t = np.where(max1 < min0, np.where(ybar >= 0.5, -np.inf, np.inf), 0.5 * (max0 + min1))
    fit = np.flatnonzero(~((max0 < min1) | (max1 < min0)))
    if fit.size:
        t[fit] = _fit_logistic_rows(x[fit], lab1[fit], None if valid is None else valid[fit], l2, state)
    return t


def learn_thresholds(learner, x, boundary, valid, l2, state=None):
    """Thresholds of ``learner`` (one of :data:`LEARNERS`, already validated) on a chunk."""
    if learner == "plugin":
        return learn_plugin(x, boundary, valid)
    if learner == "erm":
        return learn_erm(x, boundary, valid)
    return learn_logistic(x, boundary, valid, l2, state)


def population_logistic_threshold(model, l2=1e-4, nodes=200) -> float:
    r"""Large-:math:`n` limit of the ``"logistic"`` learner on data drawn from ``model`` (a
    :class:`~gaussian_theory.two_gaussians.TwoGaussians`).

    Minimises :math:`E[\ell(y,a+bz)]+\frac\lambda2b^2`, :math:`\ell` the log-loss,
    :math:`z=(x-m)/s` with the mixture mean :math:`m=\sum_k\phi_k\mu_k` and standard deviation
    :math:`s^2=\sum_k\phi_k(\sigma_k^2+\mu_k^2)-m^2` (the limits of the per-trial standardisation),
    with expectations by Gauss--Hermite quadrature (``nodes`` points per class, weights
    :math:`\phi_kw_j`) and the same Newton solver as the finite-sample fit (:func:`newton_logistic`,
    tolerance 1e-13); returns :math:`m-sa/b`. Logistic regression is misspecified when
    :math:`\sigma_0\ne\sigma_1`, so this is *not* :math:`t^*`. For random pruning pass
    ``model.prune(densities)``.
    """
    xi, wi = np.polynomial.hermite_e.hermegauss(nodes)
    wi = wi / wi.sum()
    phi = model.priors
    m = float(phi @ model.means)
    s = float(np.sqrt(phi @ (model.stds**2 + model.means**2) - m * m))
    z = ((model.means[:, None] + model.stds[:, None] * xi[None, :] - m) / s).reshape(1, -1)
    y = np.repeat([0.0, 1.0], nodes)[None, :]
    w = (phi[:, None] * wi[None, :]).reshape(1, -1)
    pbar = float(phi[1])
    a0 = np.array([np.log(pbar) - np.log1p(-pbar)])
    a, b = newton_logistic(z, y, w, a0, np.zeros(1), float(l2), tol=1e-13, max_iter=100)
    a, b = float(a[0]), float(b[0])
    return float(m - s * a / b) if b > 0 else (-np.inf if pbar >= 0.5 else np.inf)
