r"""Finite-sample simulation of the two-Gaussian model: draw, prune, learn, exact test risks.

The closed forms of :mod:`gaussian_theory.two_gaussians` describe infinitely many samples. Here a
training set of :math:`n` points is drawn from the mixture :math:`\phi_0\mathcal N(\mu_0,\sigma_0^2)
+\phi_1\mathcal N(\mu_1,\sigma_1^2)`, pruned (:mod:`gaussian_theory.pruning`: random, SSP or
score-based), a threshold :math:`\hat t` is learned from what is kept (:mod:`gaussian_theory.learners`:
``"plugin"``, ``"erm"``, ``"logistic"``), and its class risks are evaluated *exactly on the
population* with eq. (1) of the paper (arXiv 2404.05579, §4; README formula map),

.. math::
    R_0(\hat t)=\Phi\Big(\frac{\mu_0-\hat t}{\sigma_0}\Big),\qquad
    R_1(\hat t)=\Phi\Big(\frac{\hat t-\mu_1}{\sigma_1}\Big),

so the only Monte Carlo error is over training sets. Over ``trials`` independent training sets the
mean :math:`\bar R_k=\frac1T\sum_i R_k(\hat t_i)` estimates :math:`E[R_k(\hat t)]` with standard
error :math:`s_k/\sqrt T` (:math:`s_k` the sample standard deviation over trials).

Randomness flows only through a :class:`numpy.random.Generator` built from ``seed`` (int or
Generator, default 0). The draws do not depend on the pruning rule or learner (the same seed gives
the same unpruned training sets), so rules can be compared on common random numbers.

Memory: a training set is processed whole (ERM sorts it, score pruning ranks it, the logistic fit
passes over it at every Newton step), so the working memory grows linearly with ``n``; calls whose
estimated working memory exceeds ``max_memory`` (default :data:`MAX_MEMORY`, 4 GiB) are refused
with a ValueError before any work.

The pruning specs, learners and :func:`population_logistic_threshold` live in
:mod:`gaussian_theory.pruning` and :mod:`gaussian_theory.learners` and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from .allocation import largest_remainder, round_half_up
from .learners import (
    LEARNERS,
    MIN_PER_CLASS,
    class1_mask,
    learn_thresholds,
    plugin_thresholds,
    population_logistic_threshold,
)
from .options import CLASS_COUNTS
from .pruning import PruningSpec, RandomPruning, ScorePruning, SSPPruning, check_pruning
from .two_gaussians import TwoGaussians
from .validation import as_float_array, as_generator, check_density, check_int, check_option, check_real

__all__ = [
    "RandomPruning",
    "SSPPruning",
    "ScorePruning",
    "PruningSpec",
    "SimulationResult",
    "MCAllocationResult",
    "simulate",
    "optimal_densities_mc",
    "population_limit",
    "population_logistic_threshold",
    "plugin_thresholds",
    "gaussian_draws",
    "LEARNERS",
    "MAX_MEMORY",
]

#: elements (trials x samples) processed at once; chosen for cache efficiency, does not change results
_CHUNK_ELEMENTS = 2**18
#: default cap (bytes) on the estimated working memory of :func:`simulate` and :func:`optimal_densities_mc`
MAX_MEMORY = 2**32
#: bytes per sample of a chunk's working memory: the tracemalloc peaks measured at n = 2**20, trials = 1
#: over every pruning rule (plugin <= 36, erm <= 43, logistic <= 110), rounded up with a margin
_BYTES_PER_ELEMENT = {"plugin": 64, "erm": 64, "logistic": 128}
#: bytes per trial of the per-trial outputs (thresholds, risks, counts, ...)
_BYTES_PER_TRIAL = 128


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


# ----------------------------------------------------------------------------- helpers
def _check_model(model) -> TwoGaussians:
    if not isinstance(model, TwoGaussians):
        raise TypeError(f"model must be a TwoGaussians, got {type(model).__name__}: {model!r}")
    return model


def _check_count(value, name: str, minimum: int) -> int:
    """An integer >= minimum (message ``"{name} must be >= {minimum}, got {value}"``)."""
    value = check_int(value, name)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def _check_memory(needed: float, max_memory, what: str) -> None:
    """Refuse, before any work, a call whose estimated working memory exceeds ``max_memory`` bytes."""
    limit = check_int(max_memory, "max_memory", minimum=1)
    if needed > limit:
        raise ValueError(
            f"{what} needs about {needed / 2**30:.3g} GiB of working memory, over max_memory={limit} bytes "
            f"({limit / 2**30:.3g} GiB): lower n or trials, or raise max_memory if the machine has the memory"
        )


def _check_l2(logistic_l2) -> float:
    l2 = float(as_float_array(logistic_l2, "logistic_l2", shape=()))
    if l2 < 0:
        raise ValueError(f"logistic_l2 must be >= 0, got {logistic_l2!r}")
    return l2


def _exact_class_counts(model: TwoGaussians, n: int) -> np.ndarray:
    """Class counts n_k = n phi_k rounded by largest remainder (sum exactly n)."""
    return largest_remainder(n * model.priors, np.array([n, n]), n)


def gaussian_draws(rng, model, shape, n0) -> np.ndarray:
    r"""Class-conditional draws :math:`x=\mu_k+\sigma_kz`, :math:`z` standard normal of ``shape``
    (trials, width) filled row by row: columns ``< n0`` (an int, or one per row) from class 0, the
    rest from class 1. The one place the simulator turns standard normals into training data."""
    z = rng.standard_normal(shape)
    n0 = np.broadcast_to(np.asarray(n0), (shape[0],))
    if (n0 == n0[0]).all():  # exact class counts: scale the two column blocks in place
        k = int(min(n0[0], shape[1]))
        for cols, mu, s in (
            (slice(0, k), model.means[0], model.stds[0]),
            (slice(k, shape[1]), model.means[1], model.stds[1]),
        ):
            z[:, cols] *= s
            z[:, cols] += mu
        return z
    lab1 = class1_mask(n0, shape[1])
    return np.where(lab1, model.means[1] + model.stds[1] * z, model.means[0] + model.stds[0] * z)


# ----------------------------------------------------------------------------- simulate
def _check_planned_counts(model, n, pruning, class_counts, n0, learner, need) -> None:
    """Refuse, before drawing, an ``n`` too small for the learner when the kept counts are fixed."""
    if class_counts != "exact":
        return
    if pruning is None:
        if min(n0, n - n0) < need:
            raise ValueError(
                f"n={n} is too small for priors={model.priors.tolist()}: learner {learner!r} "
                f"needs at least {need} samples per class"
            )
        return
    kept = pruning.planned_counts(n0, n - n0)
    if kept is not None and kept.min() < need:
        raise ValueError(
            f"n={n} is too small for {pruning.describe()}: class counts {[int(n0), int(n - n0)]} keep "
            f"{kept.tolist()} samples, and learner {learner!r} needs at least {need} per class"
        )


def _simulate_chunks(rng, model, n, n0_all, pruning, learner, l2, class_counts):
    """Thresholds and kept counts of every trial, ``_CHUNK_ELEMENTS // n`` trials at a time."""
    trials, need = n0_all.shape[0], MIN_PER_CLASS[learner]
    chunk = max(1, _CHUNK_ELEMENTS // n)
    state = {}
    thresholds = np.empty(trials)
    kept_counts = np.empty((trials, 2), dtype=np.int64)
    for start in range(0, trials, chunk):
        n0 = n0_all[start : start + chunk]
        x = gaussian_draws(rng, model, (n0.shape[0], n), n0)
        valid = None if pruning is None else pruning.keep_mask(model, x, n0)
        if valid is None:
            k0, k1 = n0, n - n0
        else:
            k1 = (valid & class1_mask(n0, n)).sum(axis=1)
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
        thresholds[start : start + chunk] = learn_thresholds(learner, x, n0, valid, l2, state)
    return thresholds, kept_counts


def simulate(
    model,
    n,
    pruning=None,
    learner="erm",
    trials=1000,
    seed=0,
    class_counts="exact",
    logistic_l2=1e-4,
    max_memory=MAX_MEMORY,
) -> SimulationResult:
    r"""Monte Carlo over training sets of the class risks of a threshold learned after pruning.

    Each trial draws :math:`n` points from ``model`` (class counts :math:`n_k=n\phi_k` rounded by
    largest remainder for ``class_counts="exact"``, :math:`n_0\sim\mathrm{Binomial}(n,\phi_0)` for
    ``"multinomial"``), applies ``pruning`` (:mod:`gaussian_theory.pruning`), fits ``learner``
    (:mod:`gaussian_theory.learners`) and records :math:`R_k(\hat t)` from the closed form
    ``model.class_risks`` -- exact population risks, so the only randomness is the training set.

    Parameters
    ----------
    model : TwoGaussians.
    n : training-set size before pruning (int >= 2).
    pruning : None, :class:`RandomPruning`, :class:`SSPPruning` or :class:`ScorePruning`.
    learner : ``"plugin"``, ``"erm"`` or ``"logistic"``.
    trials : number of independent training sets.
    seed : int or ``numpy.random.Generator`` (a Generator is consumed); default 0.
    class_counts : ``"exact"`` or ``"multinomial"``.
    logistic_l2 : ridge :math:`\lambda\ge0` on the standardised slope of ``"logistic"``.
    max_memory : cap in bytes on the estimated working memory (default 4 GiB); larger calls are
        refused before any work (one training set is held whole, about 64 bytes per sample for
        ``plugin``/``erm`` and 128 for ``logistic``, at least :math:`2^{18}` samples per chunk).

    Raises
    ------
    ValueError
        if any trial keeps fewer samples of a class than the learner needs (2 for ``plugin``,
        1 otherwise): ``n`` is too small for the densities; or if the call would need more than
        ``max_memory`` bytes.

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
    n = _check_count(n, "n", 2)
    trials = _check_count(trials, "trials", 1)
    learner = check_option(learner, "learner", LEARNERS)
    class_counts = check_option(class_counts, "class_counts", CLASS_COUNTS)
    l2 = _check_l2(logistic_l2)
    check_pruning(pruning, model)
    _check_memory(
        max(n, _CHUNK_ELEMENTS) * _BYTES_PER_ELEMENT[learner] + trials * _BYTES_PER_TRIAL, max_memory,
        f"simulate(n={n}, trials={trials}, learner={learner!r})",
    )
    rng = as_generator(seed)
    if class_counts == "exact":
        n0_all = np.full(trials, _exact_class_counts(model, n)[0], dtype=np.int64)
    else:
        n0_all = rng.binomial(n, model.priors[0], size=trials).astype(np.int64)
    _check_planned_counts(model, n, pruning, class_counts, int(n0_all[0]), learner, MIN_PER_CLASS[learner])
    thresholds, kept_counts = _simulate_chunks(rng, model, n, n0_all, pruning, learner, l2, class_counts)
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
    learner = check_option(learner, "learner", LEARNERS)
    l2 = _check_l2(logistic_l2)
    check_pruning(pruning, model)
    if pruning is None or isinstance(pruning, RandomPruning):
        d = (1.0, 1.0) if pruning is None else pruning.densities
        if learner == "logistic":
            return model.class_risks(population_logistic_threshold(model.prune(d), l2=l2))
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
    ``tie``: True when several evaluated allocations attain the minimal search objective up to
    ``tie_tol`` (e.g. separated classes, where every allocation has zero risk); the tie is then
    broken toward the uniform allocation (the tied allocation closest to it is returned).
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
    tie: bool = False


def _risks_for_counts(model, x0, x1, m0, m1, learner, l2):
    """(trials, 2) class risks when the first m0 of x0 and m1 of x1 are kept (common random numbers)."""
    T = x0.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // max(m0 + m1, 1))
    t = np.empty(T)
    boundary = np.full(T, m0, dtype=np.int64)
    state = {}
    for s in range(0, T, chunk):
        x = np.concatenate([x0[s : s + chunk, :m0], x1[s : s + chunk, :m1]], axis=1)
        t[s : s + chunk] = learn_thresholds(learner, x, boundary[s : s + chunk], None, l2, state)
    return model.class_risks(t)


def _allocation_range(model, n, d, learner, density):
    """Exact class counts, the budget round(d n) and the feasible range [lo, hi] of m0."""
    need = MIN_PER_CLASS[learner]
    n0, n1 = (int(v) for v in _exact_class_counts(model, n))
    budget = int(round_half_up(d * n))
    lo, hi = max(need, budget - n1), min(n0, budget - need)
    if lo > hi:
        raise ValueError(
            f"n={n} is too small for density={density!r}: with class counts {[n0, n1]} and budget {budget} "
            f"no allocation keeps {need} sample(s) of each class for learner {learner!r}"
        )
    return n0, n1, budget, lo, hi


def _search_lattice(objective, lo, hi, uniform, tie_tol):
    r"""Minimise ``objective`` over the integers in [lo, hi]: a 17-point grid refined by halving the
    spacing around the best point down to 1. Points within ``tie_tol`` of the smallest value found
    are tied; among them the one closest to ``uniform`` (then the smaller) is best, and when there
    is a tie ``uniform`` itself is evaluated and taken if tied. Returns ``(best, cache, tie)``:
    ``cache`` maps every evaluated point to its value, ``tie`` says whether several are tied."""
    cache = {}

    def f(m):
        if m not in cache:
            cache[m] = objective(m)
        return cache[m]

    def tied():
        low = min(cache.values())
        return [m for m, v in cache.items() if v <= low + tie_tol]

    def argmin():
        return min(tied(), key=lambda m: (abs(m - uniform), m))

    grid = np.unique(np.round(np.linspace(lo, hi, 17)).astype(int))
    for m in grid.tolist():
        f(m)
    best = argmin()
    step = int(np.max(np.diff(grid))) if grid.size > 1 else 1
    while step > 1:
        step = (step + 1) // 2
        for m in (best - step, best + step):
            if lo <= m <= hi:
                f(m)
        best = argmin()
    for m in (best - 1, best + 1):
        if lo <= m <= hi:
            f(m)
    tie = len(tied()) > 1
    if tie:
        f(uniform)
    return argmin(), cache, tie


def optimal_densities_mc(
    model, n, density, learner="erm", trials=2000, seed=0, validation_trials=None, logistic_l2=1e-4,
    max_memory=MAX_MEMORY, tie_tol=1e-12,
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
    point down to 1. Allocations whose objective lies within ``tie_tol`` (absolute) of the smallest
    are tied -- with separated classes every allocation has (numerically) zero risk -- and the tie is
    broken toward the uniform allocation :math:`m_0=\lfloor dn_0+\tfrac12\rfloor` and flagged
    (``tie``). The chosen, the population-optimal and the uniform allocations are then re-evaluated
    on ``validation_trials`` fresh draws, so the reported risks carry no selection bias. The draws
    (``max(trials, validation_trials) * n`` floats at a time) must fit in ``max_memory`` bytes
    (checked before any work).
    """
    model = _check_model(model)
    n = _check_count(n, "n", 2)
    trials = _check_count(trials, "trials", 2)
    d = check_density(density)
    learner = check_option(learner, "learner", LEARNERS)
    logistic_l2 = _check_l2(logistic_l2)
    tie_tol = check_real(tie_tol, "tie_tol", minimum=0.0)
    vt = trials if validation_trials is None else _check_count(validation_trials, "validation_trials", 2)
    n0, n1, budget, lo, hi = _allocation_range(model, n, d, learner, density)
    _check_memory(
        8.0 * n * max(trials, vt) + _BYTES_PER_ELEMENT[learner] * max(budget, _CHUNK_ELEMENTS), max_memory,
        f"optimal_densities_mc(n={n}, trials={trials}, validation_trials={vt}, learner={learner!r})",
    )
    search_rng, val_rng = as_generator(seed).spawn(2)

    def draws(g, t):
        return gaussian_draws(g, model, (t, n0), n0), gaussian_draws(g, model, (t, n1), 0)

    def risks(x, m0):
        return _risks_for_counts(model, x[0], x[1], m0, budget - m0, learner, logistic_l2)

    uni_m0 = int(np.clip(round_half_up(d * n0), lo, hi))
    search = draws(search_rng, trials)
    best, cache, tie = _search_lattice(
        lambda m0: float(risks(search, m0).max(axis=1).mean()), lo, hi, uni_m0, tie_tol
    )
    search = None  # free the search draws before the validation draws
    pop_m0 = int(np.clip(round_half_up(model.worst_class_optimal_densities(d)[0] * n0), lo, hi))
    val = draws(val_rng, vt)
    r_best, r_pop, r_uni = (risks(val, m0) for m0 in (best, pop_m0, uni_m0))
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
        tie=tie,
    )
