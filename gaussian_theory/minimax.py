r"""Worst-class-optimal (minimax) training priors and budget-constrained class densities of a
:class:`~gaussian_theory.mixture.GaussianMixture` (README, "Finite samples, many classes"; the
paper's worst-class objective, arXiv 2404.05579 §4 and App. B, extended to K classes).

The Bayes rule trained on priors :math:`w` predicts :math:`\arg\max_k[\log w_k+\ell_k(x)]`,
:math:`\ell_k=\log\mathcal N(\cdot;\mu_k,\Sigma_k)`, and has class risks :math:`R_k(w)` on the unpruned
mixture. Two problems:

* :func:`minimax`: :math:`\min_w\max_kR_k(w)` over the simplex (the risks are equalised);
* :func:`minimax_densities`: :math:`\min_d\max_kR_k(w(d))` over class densities :math:`0\le d_k\le1`
  with :math:`\sum_k\pi_kd_k=d`, i.e. over priors :math:`w_k=\pi_kd_k/d` in the *capped* simplex
  :math:`w_k\le\pi_k/d`. When caps bind, the surplus mass must sit on classes whose risk stays below
  the optimum ("sinks"), so the risks are not all equal and the landscape has several local optima.

Monte-Carlo answers are certified **out of sample**: the ``risks``, ``spread`` and ``max_risk`` of
the results are measured on fresh draws, independent of the draws the optimiser used (and of the
draws that chose among its starts), with 95% Wilson intervals (:mod:`gaussian_theory.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import softmax

from .apportionment import water_fill
from .montecarlo import MCDraws, check_n_mc, integer_seed
from .options import RISK_METHODS
from .thresholds import priors_from_log_ratio
from .two_gaussians import TwoGaussians
from .validation import check_density, check_int, check_option, check_real, derive_seed

__all__ = ["MinimaxResult", "MinimaxAllocation", "minimax", "minimax_densities"]

#: annealing schedule of the smoothed capped solver: (temperature, points per class used)
_STAGES = ((0.3, 5_000), (0.1, 20_000), (0.03, None))
#: smallest prior the capped solver considers (below it a class is treated as pruned away)
_PRIOR_FLOOR = 1e-9
#: soft-maximum scale of the polish (about one standard error of a risk near 0.2 at 50,000 draws)
_LSE_SCALE = 0.002
#: candidates whose smoothed worst-class risk after the subset stages exceeds the best by more than this
#: (about two standard errors at 20,000 draws) skip the polish
_FINALIST_MARGIN = 0.005


@dataclass(frozen=True)
class MinimaxResult:
    r"""Worst-class-optimal training priors :math:`w^*=\arg\min_w\max_kR_k(w)`.

    ``risks``/``se``/``risk_low``/``risk_high``: class risks at ``priors`` with binomial standard
    errors and 95% Wilson bounds, **on fresh draws** (``n_certify`` per class, independent of the
    optimisation's draws) when Monte Carlo, exact otherwise; ``max_risk``; ``spread`` = max - min of
    those risks; ``tol``: what the spread is judged against (the optimiser's tolerance plus four
    pairwise standard errors of the fitting and the fresh draws); ``converged``: spread within
    ``tol``; ``fit_max_risk``/``fit_spread``: the same on the optimiser's own draws (in sample,
    optimistic); ``on_boundary``: the optimiser needed a prior below 1e-300; ``tie``: the uniform
    priors do as well (e.g. separated classes, every risk 0), so they are returned.
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
    risk_low: np.ndarray | None = None
    risk_high: np.ndarray | None = None
    n_certify: int = 0
    fit_max_risk: float = float("nan")
    fit_spread: float = float("nan")
    tie: bool = False


@dataclass(frozen=True)
class MinimaxAllocation:
    r"""Budget-constrained minimax class densities (:func:`minimax_densities`).

    ``densities`` :math:`d_k` (:math:`\sum_k\pi_kd_k=d`), ``priors`` the pruned priors; ``risks``,
    ``se``, ``risk_low``/``risk_high`` (95% Wilson), ``max_risk``, ``average_risk``
    (:math:`\sum_k\pi_kR_k`) and ``spread`` measured **on fresh draws** (``n_certify`` per class,
    independent of every draw the solver saw) when ``method == "mc"``; ``fit_max_risk``: the
    worst-class risk on the optimiser's own draws; ``start_max_risks``: the worst-class risk, on the
    selection draws (a second independent sample), of each distinct competitive answer of the starts
    -- the returned allocation is the best of them; ``tie``: the proportional allocation (uniform
    pruning, :math:`d_k=d`) did as well as every start on the selection draws, so it is returned.
    """

    densities: np.ndarray
    priors: np.ndarray
    risks: np.ndarray
    se: np.ndarray
    risk_low: np.ndarray
    risk_high: np.ndarray
    max_risk: float
    average_risk: float
    spread: float
    n_certify: int
    fit_max_risk: float
    start_max_risks: np.ndarray
    tie: bool
    method: str
    message: str


def _seeds(seed, *tags):
    base = integer_seed(seed)
    return [derive_seed(base, "minimax", t) for t in tags]


#: what the solvers read from a mixture (:class:`gaussian_theory.mixture.GaussianMixture`, which this
#: module cannot import: it sits below it)
_MIXTURE_ATTRS = ("n_classes", "dim", "priors", "isotropic", "class_points", "log_densities")


def _check_mixture(mixture) -> None:
    """``TypeError`` naming the value unless ``mixture`` is a GaussianMixture (duck-typed)."""
    if isinstance(mixture, TwoGaussians):
        raise TypeError(
            f"mixture must be a GaussianMixture, got {mixture!r}: convert it with "
            "GaussianMixture.from_two_gaussians(model), or use its closed forms "
            "(model.worst_class_optimal_priors(), model.worst_class_optimal_densities(density))")
    if not all(hasattr(mixture, a) for a in _MIXTURE_ATTRS):
        shown = repr(mixture)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise TypeError(f"mixture must be a GaussianMixture, got {type(mixture).__name__} {shown}")


def _check_tol(tol):
    """``None`` (the default tolerance) or a finite number > 0."""
    return None if tol is None else check_real(tol, "tol", minimum=0.0, strict_minimum=True)


def _pairwise_tol(se_a, se_b) -> float:
    """Four standard errors of the largest pairwise difference of two independent risk estimates."""
    v = se_a**2 + se_b**2
    return float(4.0 * np.sqrt(np.max(v[:, None] + v[None, :])))


# ----------------------------------------------------------------------------- unconstrained
def minimax(mixture, n_mc=50_000, seed=0, tol=None, max_iter=100, method="auto",
            n_certify=100_000) -> MinimaxResult:
    r"""Training priors minimising the worst class risk of the Bayes rule, :math:`\min_w\max_kR_k(w)`.

    :math:`R_k` decreases in :math:`w_k` and increases in the other priors, and :math:`R_k\to1` as
    :math:`w_k\to0` (Gaussians have full support), so the optimum equalises the class risks. With the
    exact two-class form (K = 2 isotropic), :math:`R_0-R_1` is monotone in :math:`\theta=\log(w_0/w_1)`
    and the root is found by Brent's method (``tol`` default 1e-12). Otherwise the risks are Monte
    Carlo on ``n_mc`` fixed draws per class (common random numbers) and are equalised by
    multiplicative updates of the log priors (:func:`_equalise`; ``tol`` defaults to a quarter of the
    mean standard error, and is never below :math:`1/n_{mc}`); the answer is then certified on
    ``n_certify`` fresh draws per class, a stream of its own (independent of the fit draws and of the
    certificate of :func:`minimax_densities` with the same ``seed``). If the uniform priors are as
    good (a flat worst-class risk, e.g. separated classes), they are returned with ``tie=True``.

    ``mixture`` must be a :class:`~gaussian_theory.mixture.GaussianMixture` (a ``TwoGaussians``:
    ``GaussianMixture.from_two_gaussians``), ``tol`` ``None`` or a number > 0; anything else raises
    ``TypeError``/``ValueError`` naming the argument.
    """
    _check_mixture(mixture)
    check_option(method, "method", RISK_METHODS)
    tol = _check_tol(tol)
    # checked on every path: a bad count is refused even where the closed form does not use it
    n_mc = check_n_mc(n_mc)
    n_certify = check_n_mc(n_certify, "n_certify")
    check_int(max_iter, "max_iter", minimum=0)
    exact = method != "mc" and mixture.n_classes == 2 and mixture.isotropic
    if method == "exact" and not exact:
        raise ValueError(f"method='exact' needs K = 2 isotropic classes, got {mixture!r}")
    if exact:
        return _minimax_exact(mixture, 1e-12 if tol is None else float(tol))
    k = mixture.n_classes
    # Its own certificate stream: minimax_densities with the same seed certifies on other draws.
    fit_seed, cert_seed = _seeds(seed, "fit", "certify-priors")
    draws = MCDraws(mixture, n_mc, fit_seed)
    w, fit, fit_spread, tol_, it = _equalise(draws, np.ones(k, bool), np.zeros(k), tol, max_iter)
    uniform = np.full(k, 1.0 / k)
    u_max = draws.risks(uniform)[0].max()
    tie = bool(u_max <= fit[0].max() and (u_max == 0 or np.abs(w - uniform).max() > 1e-12))
    if tie:
        w, fit = uniform, draws.risks(uniform)
        fit_spread = float(np.ptp(fit[0]))
    fresh = MCDraws(mixture, n_certify, cert_seed).risks(w)
    spread = float(np.ptp(fresh[0]))
    tol_cert = tol_ + _pairwise_tol(fit[1], fresh[1])
    boundary = bool((w < 1e-300).any())
    if boundary:
        msg = "optimum on the boundary of the simplex"
    elif tie:
        msg = "tie: the uniform priors are as good (flat worst-class risk); returned"
    elif spread <= tol_cert:
        msg = "class risks equalised (certified on fresh draws)"
    else:
        msg = "not converged: spread on fresh draws above tol"
    return MinimaxResult(
        priors=w, risks=fresh[0], se=fresh[1], max_risk=float(fresh[0].max()), spread=spread,
        tol=tol_cert, converged=spread <= tol_cert, on_boundary=boundary, iterations=it, method="mc",
        message=msg, risk_low=fresh[2], risk_high=fresh[3], n_certify=n_certify,
        fit_max_risk=float(fit[0].max()), fit_spread=fit_spread, tie=tie,
    )


def _equalise(draws, free, fixed, tol, max_iter):
    r"""Equalise the MC risks of the classes in ``free`` (bool mask); the other classes keep the
    priors ``fixed``. Returns (priors, risks tuple, spread over the free classes, tol, iterations).

    Multiplicative updates on the log priors of the free classes,
    :math:`\theta_k\leftarrow\theta_k+\eta(\log R_k-\overline{\log R})`: a class with above-average
    risk gains prior mass (:math:`R_k` decreases in :math:`w_k`), and the step :math:`\eta` doubles
    after a step that narrows the spread and halves after one that does not. One risk evaluation per
    step; it does not stall when easy classes have only a handful of Monte Carlo errors.
    """
    idx = np.flatnonzero(free)
    mass = 1.0 - float(fixed[~free].sum())
    n_mc = draws.n_mc

    def weights(theta):
        w = np.where(free, 0.0, fixed)
        w[idx] = mass * softmax(theta)
        return w

    theta = np.zeros(idx.size)
    est = draws.risks(weights(theta))
    tol_ = 0.25 * float(est[1][idx].mean()) if tol is None else float(tol)
    tol_ = max(tol_, 1.0 / n_mc)
    spread = float(np.ptp(est[0][idx]))
    floor = 1.0 / n_mc  # a class with no MC error still needs a finite log risk
    eta, it = 1.0, 0
    for _ in range(max_iter if idx.size > 1 else 0):
        if spread <= tol_ or eta < 1e-6:
            break
        it += 1
        log_r = np.log(np.maximum(est[0][idx], floor))
        cand_theta = theta + eta * (log_r - log_r.mean())
        cand = draws.risks(weights(cand_theta))
        cand_spread = float(np.ptp(cand[0][idx]))
        if cand_spread < spread:
            theta, est, spread, eta = cand_theta, cand, cand_spread, min(2.0 * eta, 8.0)
        else:
            eta /= 2.0
    return weights(theta), est, spread, tol_, it


def _minimax_exact(mixture, tol) -> MinimaxResult:
    """K = 2 isotropic: Brent's root of :math:`R_0-R_1` in :math:`\\theta=\\log(w_0/w_1)`, exact risks."""

    def risks(theta):
        return mixture._exact_two_isotropic(priors_from_log_ratio(theta))

    def f(theta):
        r = risks(theta)
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
    r = risks(theta)
    tie = risks(0.0).max() <= r.max() and (abs(theta) > 1e-9 or r.max() == 0)
    if tie:  # a flat worst-class risk (e.g. both risks underflow to 0): the canonical answer
        theta, r, boundary = 0.0, risks(0.0), False
        msg = "tie: the uniform priors are as good (flat worst-class risk); returned"
    w = priors_from_log_ratio(theta)
    spread = float(abs(r[0] - r[1]))
    return MinimaxResult(
        priors=w, risks=r, se=np.zeros(2), max_risk=float(r.max()), spread=spread, tol=tol,
        converged=spread <= tol or not boundary, on_boundary=boundary, iterations=0, method="exact",
        message=msg, risk_low=r.copy(), risk_high=r.copy(), n_certify=0, fit_max_risk=float(r.max()),
        fit_spread=spread, tie=bool(tie),
    )


# ----------------------------------------------------------------------------- capped (budget)
def minimax_densities(mixture, density, n_mc=50_000, seed=0, n_starts=4,
                      n_certify=100_000) -> MinimaxAllocation:
    r"""Class densities at dataset density :math:`d` minimising the worst class risk of the pruned
    Bayes rule: :math:`\min_d\max_kR_k(w(d))` s.t. :math:`\sum_k\pi_kd_k=d`, :math:`0\le d_k\le1`,
    i.e. over pruned priors :math:`w_k=\pi_kd_k/d` with caps :math:`w_k\le c_k=\pi_k/d`.

    K = 2 isotropic (exact risks): the water-filling :math:`d_k=\min\{1,\lambda w^*_k/\pi_k\}` of the
    minimax priors :math:`w^*` (:func:`minimax`), optimal because the pruned prior ratio is monotone
    along the budget line (cf. ``TwoGaussians.worst_class_optimal_densities``).

    Otherwise, Monte Carlo on three independent samples (seeds derived from ``seed``):

    1. *fit* (``n_mc`` per class), in the log priors :math:`u=\log w` with the box
       :math:`\log10^{-9}\le u_k\le\log c_k` and :math:`\sum_ke^{u_k}=1`, the 0-1 loss smoothed by a
       softmax at temperature :math:`\tau` (:meth:`MCDraws.soft_risks`, analytic Jacobian; SLSQP):
       from each of ``n_starts`` starts, the epigraph problem :math:`\min_{u,t}t` s.t.
       :math:`\tilde R_k(u)\le t` at :math:`\tau=0.3` (5,000 draws per class) then :math:`\tau=0.1`
       (20,000); then, for the distinct competitive answers (:func:`_smooth_capped`), the soft maximum
       :math:`s\log\sum_ke^{\tilde R_k/s}` (:math:`s=0.002`, :math:`\tau=0.03`, all draws), which also
       balances the classes just below a flat worst class (:func:`_lse_stage`). No trust region ties a
       step to the current prior, so a class that starts tiny can grow to its cap. The starts are the
       proportional allocation, DRoP-like :math:`w\propto\pi R(\pi)` and :math:`\pi R(\pi)^2`
       (water-filled under the caps), then random Dirichlet draws;
    2. *selection* (``n_mc`` per class): each start's answer is scored by its worst-class 0-1 risk;
       the best is kept (ties to the lower average risk); the proportional allocation wins ties
       (``tie=True``);
    3. *certificate* (``n_certify`` per class): the returned risks (``n_certify=0``: none, the risk
       fields are NaN -- for callers that evaluate the allocation on their own independent draws).
    """
    _check_mixture(mixture)
    d = check_density(density)
    n_mc = check_int(n_mc, "n_mc", minimum=2)
    n_starts = check_int(n_starts, "n_starts", minimum=1)
    n_certify = check_int(n_certify, "n_certify", minimum=0)
    if n_certify == 1:
        raise ValueError(f"n_certify must be 0 (no certificate) or >= 2, got {n_certify!r}")
    pi = mixture.priors
    if mixture.n_classes == 2 and mixture.isotropic:
        return _densities_exact(mixture, d)
    fit_seed, sel_seed, cert_seed, start_seed = _seeds(seed, "fit", "select", "certify", "starts")
    caps = pi / d
    fit = None
    if (pi == 0).any() or d == 1.0:  # nothing to choose: no pruning possible, or a class absent
        cands = [pi.copy()]
    else:
        fit = MCDraws(mixture, n_mc, fit_seed)
        cands = _smooth_capped(fit, caps, _starts(fit, caps, n_starts, start_seed))
    select = MCDraws(mixture, n_mc, sel_seed)
    scores = [select.risks(w)[0] for w in cands]
    merit = [(float(r.max()), float(pi @ r)) for r in scores]
    best = min(range(len(cands)), key=merit.__getitem__)
    prop = select.risks(pi)[0]
    tie = bool(prop.max() <= merit[best][0] and (prop.max() == 0 or np.abs(cands[best] - pi).max() > 1e-12))
    w = pi.copy() if tie else cands[best]
    fit_best = float("nan") if fit is None else float(fit.risks(w)[0].max())
    if n_certify:
        r, se, low, high = MCDraws(mixture, n_certify, cert_seed).risks(w)
    else:  # the caller evaluates the allocation on its own independent draws
        r = se = low = high = np.full(pi.size, np.nan)
    dens = np.clip(w * d / pi, 0.0, 1.0) if (pi > 0).all() else np.full(pi.size, d)
    msg = ("tie: uniform pruning (d_k = d) is as good on the selection draws; returned" if tie else
           f"best of {len(cands)} candidates on independent selection draws; "
           + ("risks on fresh draws" if n_certify else "not certified (n_certify=0)"))
    return MinimaxAllocation(
        densities=dens, priors=w, risks=r, se=se, risk_low=low, risk_high=high,
        max_risk=float(r.max()), average_risk=float(pi @ r), spread=float(np.ptp(r)),
        n_certify=n_certify, fit_max_risk=fit_best, start_max_risks=np.array([m[0] for m in merit]),
        tie=tie, method="mc", message=msg,
    )


def _densities_exact(mixture, d) -> MinimaxAllocation:
    pi = mixture.priors
    res = _minimax_exact(mixture, 1e-12)
    if res.tie or not (pi > 0).all():  # flat worst-class risk: uniform pruning, the canonical answer
        dens = np.full(2, d)
    else:
        dens = np.clip(water_fill(res.priors, pi, d) / pi, 0.0, 1.0)
    w = dens * pi / float(dens @ pi)
    r = mixture._exact_two_isotropic(w)
    return MinimaxAllocation(
        densities=dens, priors=w, risks=r, se=np.zeros(2), risk_low=r.copy(), risk_high=r.copy(),
        max_risk=float(r.max()), average_risk=float(pi @ r), spread=float(np.ptp(r)), n_certify=0,
        fit_max_risk=float(r.max()), start_max_risks=np.array([r.max()]), tie=res.tie, method="exact",
        message="tie: flat worst-class risk, uniform pruning (d_k = d) returned" if res.tie
        else "water-filled exact minimax priors",
    )


def _cap_fill(v, caps) -> np.ndarray:
    """Priors proportional to ``v`` where possible, capped: :math:`\\min\\{c_k,\\lambda v_k\\}`, sum 1."""
    v = np.maximum(np.asarray(v, dtype=float), 1e-12)
    return water_fill(v, caps, 1.0)


def _starts(draws, caps, n_starts, seed):
    """Proportional, DRoP-like (priors x risks, then x risks squared) and random Dirichlet starts."""
    pi = draws.mixture.priors
    r = np.maximum(draws.risks(pi)[0], 1.0 / draws.n_mc)
    out = [pi.copy(), _cap_fill(pi * r, caps), _cap_fill(pi * r * r, caps)][:n_starts]
    rng = np.random.default_rng(seed)
    while len(out) < n_starts:
        out.append(_cap_fill(rng.dirichlet(np.ones(pi.size)), caps))
    return out


def _smooth_capped(draws, caps, starts, stages=_STAGES) -> list:
    r"""The annealed, smoothed problem (see :func:`minimax_densities`) from each start: epigraph stages
    on growing subsets, then the soft-maximum polish (:func:`_lse_stage`) on all the draws. Before the
    polish, starts that met (log priors within 0.02) are merged and those whose smoothed worst-class
    risk is more than ``_FINALIST_MARGIN`` above the best are dropped (other local optima), so the
    expensive last stage runs once per distinct, competitive candidate."""
    lower = np.log(_PRIOR_FLOOR)
    upper = np.log(np.maximum(caps, _PRIOR_FLOOR))
    us = [np.clip(np.log(np.maximum(w, _PRIOR_FLOOR)), lower, upper) for w in starts]
    for tau, limit in stages[:-1]:
        us = [_slsqp_stage(draws, caps, u, tau, limit, lower, upper) for u in us]
    tau, limit = stages[-2]
    level = [float(draws.soft_risks(u, tau, limit)[0].max()) for u in us]
    finalists = []
    for i in np.argsort(level, kind="stable"):
        new = all(np.abs(us[i] - v).max() > 0.02 for v in finalists)
        if new and level[i] <= min(level) + _FINALIST_MARGIN:
            finalists.append(us[i])
    tau, limit = stages[-1]
    us = [_lse_stage(draws, caps, u, tau, limit, lower, upper, _LSE_SCALE) for u in finalists]
    return [_cap_fill(np.exp(u), caps) for u in us]


def _slsqp_stage(draws, caps, u, tau, limit, lower, upper) -> np.ndarray:
    """One annealing stage: SLSQP on :math:`(u,t)` at temperature ``tau``; returns the new log priors."""
    k = caps.size
    cache = {}

    def soft(x):
        key = x[:k].tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = draws.soft_risks(x[:k], tau, limit)
        return cache[key]

    cons = [
        {"type": "ineq", "fun": lambda x: x[-1] - soft(x)[0],
         "jac": lambda x: np.hstack([-soft(x)[1], np.ones((k, 1))])},
        {"type": "eq", "fun": lambda x: np.exp(x[:k]).sum() - 1.0,
         "jac": lambda x: np.append(np.exp(x[:k]), 0.0)[None, :]},
    ]
    x0 = np.append(u, soft(np.append(u, 0.0))[0].max())
    res = minimize(lambda x: x[-1], x0, jac=lambda x: np.append(np.zeros(k), 1.0), method="SLSQP",
                   bounds=[(lower, hi) for hi in upper] + [(0.0, 1.0)], constraints=cons,
                   options={"maxiter": 200, "ftol": 1e-9})
    w = _cap_fill(np.exp(np.clip(res.x[:k], lower, upper)), caps)
    return np.log(np.maximum(w, _PRIOR_FLOOR))


def _lse_stage(draws, caps, u, tau, limit, lower, upper, scale) -> np.ndarray:
    r"""Polish: minimise the soft maximum :math:`F=s\log\sum_ke^{\tilde R_k/s}` (:math:`s` = ``scale``,
    :math:`\max_k\tilde R_k\le F\le\max_k\tilde R_k+s\log K`), whose gradient weighs every class within a
    few :math:`s` of the worst: where the worst-class risk is flat (a capped class whose risk barely
    moves), it balances the classes just below it instead of stopping at the plateau's edge."""
    k = caps.size

    def f(x):
        r, jac = draws.soft_risks(x, tau, limit)
        z = (r - r.max()) / scale
        p = np.exp(z)
        total = p.sum()
        return float(r.max() + scale * np.log(total)), (p / total) @ jac

    cons = [{"type": "eq", "fun": lambda x: np.exp(x).sum() - 1.0, "jac": lambda x: np.exp(x)[None, :]}]
    res = minimize(f, u, jac=True, method="SLSQP", bounds=[(lower, hi) for hi in upper], constraints=cons,
                   options={"maxiter": 200, "ftol": 1e-10})
    w = _cap_fill(np.exp(np.clip(res.x[:k], lower, upper)), caps)
    return np.log(np.maximum(w, _PRIOR_FLOOR))
