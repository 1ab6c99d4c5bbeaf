r"""Finite-sample optimal class densities of the two-Gaussian model, by Monte Carlo over training sets.

At finite :math:`n` the learned threshold is noisy, so the allocation minimising the *expected*
worst-class risk differs from the population optimum
(:meth:`~gaussian_theory.two_gaussians.TwoGaussians.worst_class_optimal_densities`; README, "What the
theory says"). :func:`optimal_densities_mc` searches the integer allocations of a budget on common
random numbers, with the draws, pruning and learners of :mod:`gaussian_theory.simulation`, and
re-evaluates the winner on fresh draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .apportionment import round_half_up
from .learners import LEARNERS, MIN_PER_CLASS, learn_thresholds
from .simulation import (
    _BYTES_PER_ELEMENT,
    _CHUNK_ELEMENTS,
    MAX_MEMORY,
    SimulationResult,
    _check_count,
    _check_l2,
    _check_memory,
    _check_model,
    _exact_class_counts,
    gaussian_draws,
)
from .validation import as_generator, check_density, check_option, check_real

__all__ = ["MCAllocationResult", "optimal_densities_mc"]


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
