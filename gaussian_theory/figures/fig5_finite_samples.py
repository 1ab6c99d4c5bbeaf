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
           "paired_difference", "crossover", "panel_letters", "caption", "build"]

FINITE_SAMPLE_COLUMNS = ("source", "learner", "method", "n", "d0", "d1", "worst_class_risk", "worst_se",
                         "worst_lo", "worst_hi", "worst_of_mean_class_risks", "average_risk", "average_se",
                         "threshold_sd", "trials", "seed", "minus_uniform", "minus_uniform_se")

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
            "trials": 0, "seed": nan, "minus_uniform": nan, "minus_uniform_se": nan}


def paired_difference(a, b) -> tuple[float, float]:
    r"""Mean and standard error of the paired differences ``a - b`` of per-trial values on the same
    training sets (common random numbers): :math:`\bar\Delta` and :math:`s_\Delta/\sqrt T`, with
    :math:`s_\Delta` the sample standard deviation (``ddof=1``) of :math:`\Delta_i=a_i-b_i`
    (NaN for one trial)."""
    delta = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if delta.ndim != 1 or delta.size == 0:
        raise ValueError(f"paired_difference needs two equal-length 1-D samples, got {delta.shape}")
    se = float(delta.std(ddof=1) / np.sqrt(delta.size)) if delta.size > 1 else float("nan")
    return float(delta.mean()), se


def _simulation_row(res, learner: str, method: str, dens, n: int, seed: int, uniform=None) -> dict:
    """Monte Carlo summaries of one :class:`~gaussian_theory.simulation.SimulationResult` as a row;
    ``uniform``: the result of uniform pruning on the same training sets, for the paired difference."""
    lo, hi = res.ci(0.95)["worst_class_risk"]
    diff, diff_se = (0.0, 0.0) if uniform is None else paired_difference(res.worst_class_risks,
                                                                          uniform.worst_class_risks)
    finite = res.thresholds[np.isfinite(res.thresholds)]
    return {"source": "monte_carlo", "learner": learner, "method": method, "n": n,
            "d0": dens[0], "d1": dens[1], "worst_class_risk": res.mean_worst_class_risk,
            "worst_se": res.se_worst_class_risk, "worst_lo": lo, "worst_hi": hi,
            "worst_of_mean_class_risks": res.worst_of_mean_class_risks,
            "average_risk": res.mean_average_risk, "average_se": res.se_average_risk,
            "threshold_sd": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
            "trials": res.trials, "seed": seed, "minus_uniform": diff, "minus_uniform_se": diff_se}


def compute_finite_samples(model: TwoGaussians | None = None, n_values=None, density: float | None = None,
                           trials: int | None = None, seed: int = 0, learners=None,
                           settings: Settings | None = None) -> Table:
    r"""Worst-class risk against the training-set size ``n`` for uniform, DRoP and optimal allocations.

    ``source == "monte_carlo"``: :func:`~gaussian_theory.simulation.simulate` of random pruning to each
    allocation's class densities at ``density``, for each learner, ``trials`` training sets per ``n``
    (seed ``subseed(seed, i)`` shared by allocations and learners: common random numbers; ``seed``: an int
    or a ``numpy.random.Generator``). Columns:
    mean, standard error and 95% interval of :math:`E[\max_kR_k(\hat t)]`, the smaller
    :math:`\max_kE[R_k(\hat t)]`, and the standard deviation of the learned threshold;
    ``minus_uniform``/``minus_uniform_se``: the paired difference of the worst-class risk from uniform
    pruning's and its standard error (:func:`paired_difference`). The pairing is exact: ``simulate``
    draws the unpruned training sets from the seed alone, whatever the pruning rule or learner, and
    random pruning keeps the first :math:`d_kn_k` draws of each class, so with the same seed every
    allocation sees the same training sets before pruning (and the uniform-pruned set is a subset of,
    or contains, the others' class by class).
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
        pop = [_population_row(model, learner, method, dens) for method, dens in allocations.items()]
        for row in pop:
            row["minus_uniform"] = row["worst_class_risk"] - pop[0]["worst_class_risk"]
        rows += pop
        for i, n in enumerate(n_values):
            cell_seed = subseed(seed, i)
            uniform = None
            for method, dens in allocations.items():  # uniform first: the others are paired with it
                res = simulate(model, n, RandomPruning(tuple(dens)), learner=learner, trials=trials,
                               seed=cell_seed)
                rows.append(_simulation_row(res, learner, method, dens, n, cell_seed, uniform))
                uniform = res if uniform is None else uniform
    return Table.from_rows(rows, FINITE_SAMPLE_COLUMNS)


@styled
def plot_finite_samples(table: Table, model: TwoGaussians, density: float) -> Figure:
    """Draw :func:`compute_finite_samples`'s table: per learner (columns), the expected worst-class risks
    (top) and the paired differences from uniform pruning with their 95% intervals (bottom)."""
    mc = table.where(source="monte_carlo")
    trials = int(mc["trials"][0])
    learners = table.unique("learner")
    fig = new_figure(5.8 * len(learners), 8.6,
                     "Figure 5. Finite samples: expected worst-class risk against the training-set size n",
                     f"{model_text(model)}; dataset density d = {density:g}; mean and 95% CI over {trials} "
                     "training sets;\ndashed: closed-form limit n → ∞; bottom: paired differences from "
                     "uniform on the same training sets")
    grid = fig.subplots(2, len(learners), sharex=True, height_ratios=(1.5, 1.0), squeeze=False)
    axes, diff_axes = grid[0], grid[1]
    for ax in axes[1:]:
        ax.sharey(axes[0])
    for ax in diff_axes[1:]:
        ax.sharey(diff_axes[0])
    pop = table.where(source="population")
    for k, (ax, dax, learner) in enumerate(zip(axes, diff_axes, learners)):
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
            if method == "uniform":
                continue
            diff, se = sim["minus_uniform"], sim["minus_uniform_se"]
            dax.plot(sim["n"], diff, color=st["color"], marker=st["marker"], linestyle=st["linestyle"],
                     label=f"{st['label']} − uniform")
            band(dax, sim["n"], diff - 1.96 * se, diff + 1.96 * se, st["color"])
            n_c = crossover(sim["n"], diff)
            if np.isfinite(n_c):
                dax.axvline(n_c, color=st["color"], lw=0.8, linestyle=":")
        dax.axhline(0.0, color=METHOD_STYLE["uniform"]["color"], lw=1.0)
        ax.set_xscale("log")
        log_risk_axis(ax, ticks=(0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1))
        top, bottom = panel_letters(len(learners), k)
        ax.set_title(f"({top}) {LEARNER_TEXT.get(learner, learner)}")
        ax.legend(loc="upper right")
        dax.set_xlabel("training-set size n before pruning (log scale)")
        dax.set_title(f"({bottom}) paired difference from uniform, 95% CI; dotted: crossover", fontsize=9)
        dax.legend(loc="upper right")
    axes[0].set_ylabel("E[worst-class risk] (log scale)")
    diff_axes[0].set_ylabel("E[worst-class risk] − uniform's\n(< 0: beats uniform)")
    return fig


def panel_letters(n_learners: int, k: int) -> tuple[str, str]:
    """The letters of learner ``k``'s two panels, row by row: with two learners (a) and (b) on top,
    (c) and (d) below."""
    return chr(ord("a") + k), chr(ord("a") + n_learners + k)


def crossover(ns, diff) -> float:
    """The n where a paired difference from uniform changes sign for the last time, from + (uniform
    better) to − (uniform worse): log-linear interpolation between the last simulated n with a
    non-negative difference and the next one. NaN when the difference is negative at every n
    or non-negative at the largest one."""
    ns, diff = np.asarray(ns, dtype=float), np.asarray(diff, dtype=float)
    order = np.argsort(ns, kind="stable")
    ns, diff = ns[order], diff[order]
    up = np.flatnonzero(diff >= 0)
    if not up.size or up[-1] == ns.size - 1:
        return float("nan")
    i = up[-1]
    x0, x1, y0, y1 = np.log(ns[i]), np.log(ns[i + 1]), diff[i], diff[i + 1]
    return float(np.exp(x0 + (x1 - x0) * y0 / (y0 - y1)))


def paired_facts(table: Table, learner: str, method: str) -> dict:
    """The paired difference ``method`` − uniform for ``learner`` around its last sign change: the
    crossover (:func:`crossover`) and the two simulated n bracketing it, with the differences and
    their standard errors there (``n_before`` etc. NaN when there is no crossover)."""
    sim = table.where(source="monte_carlo", learner=learner, method=method)
    order = np.argsort(sim["n"], kind="stable")
    ns, diff, se = (sim[c][order].astype(float) for c in ("n", "minus_uniform", "minus_uniform_se"))
    n_c = crossover(ns, diff)
    nan = float("nan")
    out = {"crossover": n_c, "n_before": nan, "diff_before": nan, "se_before": nan, "n_after": nan,
           "diff_after": nan, "se_after": nan}
    if np.isfinite(n_c):
        i = int(np.flatnonzero(diff >= 0)[-1])
        out.update(n_before=ns[i], diff_before=diff[i], se_before=se[i], n_after=ns[i + 1],
                   diff_after=diff[i + 1], se_after=se[i + 1])
    return out


def _paired_sentence(table: Table, learner: str, method: str, name: str) -> str:
    """One caption clause on ``method`` − uniform for ``learner``, from :func:`paired_facts`."""
    f = paired_facts(table, learner, method)
    if not np.isfinite(f["crossover"]):
        return f"{name} − uniform never changes sign from + to − over the simulated n"
    def at(n, d, se):
        return f"{d:+.4f} ± {se:.4f} ({abs(d) / se:.1f} SE) at n = {n:,.0f}"
    c = f["crossover"]
    c = float(f"{c:.2g}")
    return (f"{name} − uniform is {at(f['n_before'], f['diff_before'], f['se_before'])} and "
            f"{at(f['n_after'], f['diff_after'], f['se_after'])} (crossover n ≈ {c:,.0f})")


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
    """The README caption, for panels (a, c) ERM and (b, d) plug-in (``learners``); the onset, the paired
    differences with their standard errors and the crossovers are read from ``table``
    (:func:`_onsets`, :func:`paired_facts`)."""
    _, plugin_onset = _onsets(table, learners)
    first, second = learners
    (erm_top, erm_diff), (plug_top, plug_diff) = panel_letters(2, 0), panel_letters(2, 1)
    return (
        "Expected worst-class risk E[max_k R_k] of the threshold learned after random pruning to "
        f"dataset density d = {density:g}, against the training-set size n before pruning, for uniform, "
        f"Random+DRoP and worst-class-optimal class densities ({model_text(model)}): Monte Carlo means "
        f"with 95% intervals over {trials} training sets, and the closed-form population limits "
        "(dashed). Bottom row: paired differences of each allocation's worst-class risk from uniform "
        "pruning's on the same training sets before pruning (common random numbers), with 95% "
        "intervals (±1.96 SE of the paired difference); the crossover is the log-linear interpolation "
        f"of the last sign change between two simulated n. ({erm_top}, {erm_diff}) The empirical 0-1 "
        "risk minimiser converges slowly (cube-root rate): up to n of a few thousand its threshold noise "
        "outweighs the allocation effect, and because E[max_k R_k] is inflated most where R0 = R1, uniform "
        "pruning is better at small n: "
        f"{_paired_sentence(table, first, 'optimal', 'optimal')}; "
        f"{_paired_sentence(table, first, 'drop', 'DRoP')}. "
        f"({plug_top}, {plug_diff}) The Gaussian plug-in threshold converges at the 1/√n rate: "
        f"{_paired_sentence(table, second, 'optimal', 'optimal')}; "
        f"{_paired_sentence(table, second, 'drop', 'DRoP')}; it shows the population ranking "
        f"(optimal < DRoP < uniform, disjoint 95% intervals of the means) {plugin_onset}."
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
