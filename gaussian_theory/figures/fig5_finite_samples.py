r"""Figure 5: expected worst-class risk against the training-set size for uniform, DRoP and
worst-class-optimal allocations, with two learners (finite-sample check of arXiv 2404.05579, §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..two_gaussians import TwoGaussians
from ..validation import check_density, check_int
from .registry import FigureResult
from .settings import Settings, base_seed, reference_model, resolve, subseed
from .style import METHOD_STYLE, band, log_risk_axis, model_text, new_figure, styled
from .table import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FINITE_SAMPLE_COLUMNS", "LEARNER_TEXT", "compute_finite_samples", "plot_finite_samples",
           "caption", "build"]

FINITE_SAMPLE_COLUMNS = ("source", "learner", "method", "n", "d0", "d1", "worst_class_risk", "worst_se",
                         "worst_lo", "worst_hi", "worst_of_mean_class_risks", "average_risk", "average_se",
                         "threshold_sd", "trials", "seed")

LEARNER_TEXT = {"erm": "ERM threshold (empirical 0-1 risk minimiser)",
                "plugin": "plug-in threshold (Gaussian MLE, then t*)", "logistic": "logistic regression"}


def _population_row(model: TwoGaussians, learner: str, method: str, dens) -> dict:
    """The closed-form n → ∞ limit of one (learner, allocation)."""
    from ..simulation import RandomPruning, population_limit

    nan = float("nan")
    r = population_limit(model, RandomPruning(tuple(dens)), learner=learner)
    return {"source": "population", "learner": learner, "method": method, "n": np.inf,
            "d0": dens[0], "d1": dens[1], "worst_class_risk": float(r.max()), "worst_se": nan,
            "worst_lo": nan, "worst_hi": nan, "worst_of_mean_class_risks": float(r.max()),
            "average_risk": float(r @ model.priors), "average_se": nan, "threshold_sd": 0.0,
            "trials": 0, "seed": nan}


def _simulation_row(res, learner: str, method: str, dens, n: int, seed: int) -> dict:
    """Monte Carlo summaries of one :class:`~gaussian_theory.simulation.SimulationResult` as a row."""
    lo, hi = res.ci(0.95)["worst_class_risk"]
    finite = res.thresholds[np.isfinite(res.thresholds)]
    return {"source": "monte_carlo", "learner": learner, "method": method, "n": n,
            "d0": dens[0], "d1": dens[1], "worst_class_risk": res.mean_worst_class_risk,
            "worst_se": res.se_worst_class_risk, "worst_lo": lo, "worst_hi": hi,
            "worst_of_mean_class_risks": res.worst_of_mean_class_risks,
            "average_risk": res.mean_average_risk, "average_se": res.se_average_risk,
            "threshold_sd": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
            "trials": res.trials, "seed": seed}


def compute_finite_samples(model: TwoGaussians | None = None, n_values=None, density: float | None = None,
                           trials: int | None = None, seed: int = 0, learners=None,
                           settings: Settings | None = None) -> Table:
    r"""Worst-class risk against the training-set size ``n`` for uniform, DRoP and optimal allocations.

    ``source == "monte_carlo"``: :func:`~gaussian_theory.simulation.simulate` of random pruning to each
    allocation's class densities at ``density``, for each learner, ``trials`` training sets per ``n``
    (seed ``subseed(seed, i)`` shared by allocations and learners: common random numbers; ``seed``: an int
    or a ``numpy.random.Generator``). Columns:
    mean, standard error and 95% interval of :math:`E[\max_kR_k(\hat t)]`, the smaller
    :math:`\max_kE[R_k(\hat t)]`, and the standard deviation of the learned threshold.
    ``source == "population"``: the closed-form limit :func:`~gaussian_theory.simulation.population_limit`
    (``n`` = inf), the asymptote. Arguments left ``None`` come from ``settings`` (default:
    :class:`Settings` ``()``).
    """
    from ..simulation import RandomPruning, simulate

    s = resolve(settings)
    seed = base_seed(seed)
    model = model or reference_model()
    n_values = [check_int(n, "n_values", minimum=1) for n in (s.n_values if n_values is None else n_values)]
    density = check_density(s.finite_density if density is None else density)
    trials = check_int(s.mc_trials if trials is None else trials, "trials", minimum=1)
    learners = s.learners if learners is None else learners
    allocations = {"uniform": np.array([density, density]), "drop": model.drop_densities(density),
                   "optimal": model.worst_class_optimal_densities(density)}
    rows = []
    for learner in learners:
        rows += [_population_row(model, learner, method, dens) for method, dens in allocations.items()]
        for i, n in enumerate(n_values):
            cell_seed = subseed(seed, i)
            for method, dens in allocations.items():
                res = simulate(model, n, RandomPruning(tuple(dens)), learner=learner, trials=trials,
                               seed=cell_seed)
                rows.append(_simulation_row(res, learner, method, dens, n, cell_seed))
    return Table.from_rows(rows, FINITE_SAMPLE_COLUMNS)


@styled
def plot_finite_samples(table: Table, model: TwoGaussians, density: float) -> Figure:
    """Draw :func:`compute_finite_samples`'s table: one panel per learner."""
    mc = table.where(source="monte_carlo")
    trials = int(mc["trials"][0])
    learners = table.unique("learner")
    fig = new_figure(5.8 * len(learners), 5.0,
                     "Figure 5. Finite samples: expected worst-class risk against the training-set size n",
                     f"{model_text(model)}; dataset density d = {density:g}; mean and 95% CI over {trials} "
                     "training sets; dashed: closed-form limit n → ∞")
    axes = np.atleast_1d(fig.subplots(1, len(learners), sharey=True))
    pop = table.where(source="population")
    for k, (ax, learner) in enumerate(zip(axes, learners)):
        for method in ("uniform", "drop", "optimal"):
            st = METHOD_STYLE[method]
            sim = mc.where(learner=learner, method=method)
            asym = float(pop.where(learner=learner, method=method)["worst_class_risk"][0])
            ax.plot(sim["n"], sim["worst_class_risk"], color=st["color"], marker=st["marker"],
                    linestyle=st["linestyle"],
                    label=f"{st['label']}: (d0, d1) = ({sim['d0'][0]:.3f}, {sim['d1'][0]:.3f})")
            band(ax, sim["n"], sim["worst_lo"], sim["worst_hi"], st["color"])
            ax.axhline(asym, color=st["color"], linestyle=(0, (4, 2)), lw=1.1)
            if k == len(learners) - 1:
                ax.annotate(f"{asym:.4f}", (1.0, asym), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=8, color=st["color"])
        ax.set_xscale("log")
        log_risk_axis(ax, ticks=(0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1))
        ax.set_xlabel("training-set size n before pruning (log scale)")
        ax.set_title(f"({'abc'[k]}) {LEARNER_TEXT.get(learner, learner)}")
        ax.legend(loc="upper right")
    axes[0].set_ylabel("E[worst-class risk] (log scale)")
    return fig


def _onset(ns: np.ndarray, holds: np.ndarray, between: bool) -> str:
    """``"from n ≈ X on"``: where a claim starts to hold at every larger simulated n. ``between``: X is
    the geometric mean of the last n where it fails and the next one, to one significant digit (the
    switch lies between two simulated sizes); otherwise X is that next simulated n."""
    fails = np.flatnonzero(~holds)
    if not fails.size:
        return f"at every simulated n (from {ns[0]:g})"
    if fails[-1] == ns.size - 1:
        return f"at no simulated n up to {ns[-1]:g}"
    lo, hi = ns[fails[-1]], ns[fails[-1] + 1]
    x = float(f"{np.sqrt(lo * hi):.1g}") if between else float(hi)
    return f"from n ≈ {x:g} on"


def _onsets(table: Table, learners=("erm", "plugin")) -> tuple[str, str]:
    """The caption's two onsets, read from the Monte Carlo rows: where the worst-class-optimal
    allocation's mean E[max_k R_k] drops below uniform's for the first learner, and where the second
    shows the population ranking optimal < DRoP < uniform with disjoint 95% intervals."""
    def curve(learner, method):
        return table.where(source="monte_carlo", learner=learner, method=method)

    first, second = learners
    uni, opt = curve(first, "uniform"), curve(first, "optimal")
    beats = opt["worst_class_risk"] < uni["worst_class_risk"]
    u, d, o = (curve(second, m) for m in ("uniform", "drop", "optimal"))
    ranked = (o["worst_hi"] < d["worst_lo"]) & (d["worst_hi"] < u["worst_lo"])
    return (_onset(uni["n"].astype(float), beats, between=True),
            _onset(u["n"].astype(float), ranked, between=False))


def caption(table: Table, model: TwoGaussians, density: float, trials: int,
            learners=("erm", "plugin")) -> str:
    """The README caption, for panels (a) ERM and (b) plug-in (``learners``); the two onsets in n are
    read from ``table`` (:func:`_onsets`)."""
    erm_onset, plugin_onset = _onsets(table, learners)
    return (
        "Expected worst-class risk E[max_k R_k] of the threshold learned after random pruning to "
        f"dataset density d = {density:g}, against the training-set size n before pruning, for uniform, "
        f"Random+DRoP and worst-class-optimal class densities ({model_text(model)}): Monte Carlo means "
        f"with 95% intervals over {trials} training sets, and the closed-form population limits "
        "(dashed). (a) The empirical 0-1 risk minimiser converges slowly (cube-root rate): up to n of a "
        "few thousand its threshold noise outweighs the allocation effect, and because E[max_k R_k] is "
        "inflated most where R0 = R1, the worst-class-optimal allocation only beats uniform "
        f"{erm_onset}. "
        "(b) The Gaussian plug-in threshold converges at the 1/√n rate and shows the population "
        f"ranking (optimal < DRoP < uniform) {plugin_onset}."
    )


def build(s: Settings) -> FigureResult:
    """Figure 5 at the settings ``s`` (Monte Carlo seed ``subseed(s.seed, 5)``)."""
    model, d = reference_model(), s.finite_density
    table = compute_finite_samples(model, seed=subseed(s.seed, 5), settings=s)
    return FigureResult(
        name="fig5_finite_samples",
        title="Finite samples",
        caption=caption(table, model, d, s.mc_trials, s.learners),
        params={"model": repr(model), "density": d, "n": ", ".join(str(n) for n in s.n_values),
                "trials": s.mc_trials, "learners": ", ".join(s.learners), "seed": s.seed},
        table=table,
        figure=plot_finite_samples(table, model, d),
    )
