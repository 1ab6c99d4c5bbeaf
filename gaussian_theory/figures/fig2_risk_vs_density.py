r"""Figure 2: worst-class and average risk against the dataset density for seven pruning rules, in the
population limit and by Monte Carlo (arXiv 2404.05579, §4 and App. B.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

from ..two_gaussians import TwoGaussians
from ..validation import check_density, check_int, check_real
from .registry import FigureResult
from .settings import Settings, base_seed, reference_model, resolve, subseed
from .style import METHOD_STYLE, band, log_risk_axis, model_text, new_figure, styled
from .table import Table, difference

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["RISK_VS_DENSITY_COLUMNS", "ssp_margin_for_density", "compute_risk_vs_density",
           "plot_risk_vs_density", "caption", "build"]

RISK_VS_DENSITY_COLUMNS = ("source", "method", "density", "param", "d0", "d1", "R0", "R1", "average_risk",
                           "worst_class_risk", "average_se", "worst_se", "worst_lo", "worst_hi", "average_lo",
                           "average_hi", "trials", "n", "seed")


def _simulation_cells(res, model: TwoGaussians) -> dict:
    """Monte Carlo summaries of one :class:`~gaussian_theory.simulation.SimulationResult` as table cells."""
    ci = res.ci(0.95)
    kept = res.kept_counts.mean(axis=0) / (res.n * model.priors)
    r = res.mean_class_risks
    return {"d0": kept[0], "d1": kept[1], "R0": r[0], "R1": r[1], "average_risk": res.mean_average_risk,
            "worst_class_risk": res.mean_worst_class_risk, "average_se": res.se_average_risk,
            "worst_se": res.se_worst_class_risk, "worst_lo": ci["worst_class_risk"][0],
            "worst_hi": ci["worst_class_risk"][1], "average_lo": ci["average_risk"][0],
            "average_hi": ci["average_risk"][1], "trials": res.trials, "n": res.n}


def _population_cells(model: TwoGaussians, densities, risks) -> dict:
    nan = float("nan")
    risks = np.asarray(risks, dtype=float)
    return {"d0": densities[0], "d1": densities[1], "R0": risks[0], "R1": risks[1],
            "average_risk": float(risks @ model.priors), "worst_class_risk": float(risks.max()),
            "average_se": nan, "worst_se": nan, "worst_lo": nan, "worst_hi": nan, "average_lo": nan,
            "average_hi": nan, "trials": 0, "n": np.inf}


def ssp_margin_for_density(model: TwoGaussians, density: float) -> float:
    """The SSP margin whose kept overall density is ``density`` (root of a monotone function)."""
    from scipy.optimize import brentq

    density = check_density(density)
    if density >= 1.0:
        return 0.0
    return float(brentq(lambda m: model.ssp_prune(m).density - density, 0.0, 50.0 * model.stds.max(),
                        xtol=1e-10))


def _allocations(model: TwoGaussians, d: float, alpha: float) -> dict:
    """``{method: (class densities, param)}`` of the random-pruning rules at density ``d``: uniform,
    DRoP, the worst-class optimum, the probit rule and damped DRoP (``param`` = its ``alpha``)."""
    nan = float("nan")
    return {
        "uniform": (np.array([d, d]), nan),
        "drop": (model.drop_densities(d), nan),
        "optimal": (model.worst_class_optimal_densities(d), nan),
        "probit": (model.probit_densities(d), nan),
        "damped": (model.drop_densities(d, alpha=alpha), float(alpha)),
    }


def _mc_specs(model: TwoGaussians, d: float, alpha: float) -> dict:
    """``{method: (pruning rule, param)}`` of the Monte Carlo points at density ``d``."""
    from ..simulation import RandomPruning, ScorePruning, SSPPruning

    nan = float("nan")
    margin = ssp_margin_for_density(model, d)
    specs = {method: (RandomPruning(tuple(dens)), param)
             for method, (dens, param) in _allocations(model, d, alpha).items()}
    specs["ssp"] = (SSPPruning(margin), margin)
    specs["hardest"] = (ScorePruning(d, keep="hardest"), nan)
    return specs


def _expected_kept(model: TwoGaussians, method: str, pruning, param: float, class_sizes) -> np.ndarray:
    """Mean samples kept per class by one Monte Carlo rule, to skip points that keep too few."""
    if method == "ssp":
        return model.ssp_prune(param).densities * class_sizes
    if method == "hardest":
        return np.full(2, np.inf)  # both classes straddle the boundary; checked by simulate
    return np.asarray(pruning.densities) * class_sizes


def compute_risk_vs_density(model: TwoGaussians | None = None, densities=None, mc_densities=None,
                            n: int | None = None, trials: int | None = None, seed: int = 0,
                            learner: str | None = None, min_class_count: int | None = None,
                            alpha: float | None = None, settings: Settings | None = None) -> Table:
    r"""Worst-class and average risk against the dataset density for seven pruning rules.

    ``method``: ``uniform`` (random, equal class densities), ``drop`` (Random+DRoP from the full-data
    model's population recalls, :meth:`TwoGaussians.drop_densities`), ``optimal``
    (:meth:`TwoGaussians.worst_class_optimal_densities`), ``probit`` (the probit rule
    :math:`d_k\propto\varphi(\Phi^{-1}(r_k))` from the same recalls,
    :meth:`TwoGaussians.probit_densities`: equal to ``optimal`` in this model), ``damped`` (damped DRoP
    :math:`d_k\propto(1-r_k)^\alpha`, ``param`` = ``alpha``), ``ssp`` (margin pruning at the margin whose
    kept density is ``density``; ``param`` is the margin) and ``hardest`` (keep the ``density``
    fraction closest to the full-data threshold, :class:`~gaussian_theory.simulation.ScorePruning`).

    ``source == "population"`` rows are closed forms on the ``densities`` grid (none for
    ``hardest``: no closed form). ``source == "monte_carlo"`` rows are
    :func:`~gaussian_theory.simulation.simulate` at training-set size ``n`` (before pruning) with
    ``learner``, ``trials`` training sets per point at each of ``mc_densities`` (``()``: none):
    means, standard errors and 95% intervals of the mean; ``d0``/``d1`` are the realised kept
    fractions. All methods at one density share the seed ``subseed(seed, j)`` (common random numbers;
    ``seed``: an int or a ``numpy.random.Generator``).
    Points where a class would keep fewer than ``min_class_count`` samples on average are skipped.
    Arguments left ``None`` come from ``settings`` (default: :class:`Settings` ``()``).
    """
    from ..simulation import simulate

    s = resolve(settings)
    seed = base_seed(seed)
    model = model or reference_model()
    densities = s.density_grid() if densities is None else np.asarray(densities, dtype=float)
    mc = s.density_mc if mc_densities is None else mc_densities
    mc_densities = tuple(check_density(d, "mc_densities") for d in mc)
    n = check_int(s.mc_n if n is None else n, "n", minimum=1)
    trials = check_int(s.mc_trials if trials is None else trials, "trials", minimum=1)
    learner = s.mc_learner if learner is None else learner
    min_class_count = check_int(s.min_class_count if min_class_count is None else min_class_count,
                                "min_class_count", minimum=0)
    alpha = check_real(s.damped_alpha if alpha is None else alpha, "alpha", minimum=0.0)
    rows = []

    def add(source, method, d, param, cells, seed_value):
        rows.append({"source": source, "method": method, "density": float(d), "param": param, **cells,
                     "seed": seed_value})

    nan = float("nan")
    for d in densities:
        for method, (dens, param) in _allocations(model, d, alpha).items():
            add("population", method, d, param, _population_cells(model, dens, model.pruned_risks(dens)), nan)
        m = ssp_margin_for_density(model, d)
        ssp = model.ssp_prune(m)
        add("population", "ssp", d, m, _population_cells(model, ssp.densities, ssp.class_risks), nan)

    class_sizes = n * model.priors
    for j, d in enumerate(mc_densities):
        cell_seed = subseed(seed, j)
        for method, (pruning, param) in _mc_specs(model, d, alpha).items():
            if _expected_kept(model, method, pruning, param, class_sizes).min() < min_class_count:
                continue
            try:
                res = simulate(model, n, pruning, learner=learner, trials=trials, seed=cell_seed)
            except ValueError:  # a trial kept no sample of one class: skip this point
                continue
            add("monte_carlo", method, d, param, _simulation_cells(res, model), cell_seed)
    return Table.from_rows(rows, RISK_VS_DENSITY_COLUMNS)


@styled
def plot_risk_vs_density(table: Table, model: TwoGaussians) -> Figure:
    """Draw :func:`compute_risk_vs_density`'s table: (a) worst-class risk, (b) average risk."""
    from matplotlib.lines import Line2D

    mc = table.where(source="monte_carlo")
    n = int(mc["n"][0]) if len(mc) else 0
    trials = int(mc["trials"][0]) if len(mc) else 0
    damped = table.where(method="damped")
    alpha = float(damped["param"][0]) if len(damped) else float("nan")
    fig = new_figure(12.0, 5.6, "Figure 2. Worst-class and average risk against the dataset density",
                     f"{model_text(model)}; lines: population (n → ∞); markers and bands: Monte Carlo at "
                     f"n = {n} before pruning, ERM threshold, mean and 95% CI over {trials} training sets")
    axes = fig.subplots(1, 2)
    panels = ((axes[0], "worst_class_risk", "worst_lo", "worst_hi", "worst-class risk"),
              (axes[1], "average_risk", "average_lo", "average_hi", "average risk"))
    for ax, value, lo, hi, label in panels:
        top = 0.1 if value == "worst_class_risk" else 0.06
        for method in ("uniform", "drop", "damped", "optimal", "probit", "ssp", "hardest"):
            st = METHOD_STYLE[method]
            pop = table.where(source="population", method=method)
            name = st["label"].replace("^α", f"^{alpha:g}") if method == "damped" else st["label"]
            if method == "probit":  # equal to the optimum here: markers on its line, not a second line
                name += " (= optimal here)"
                if len(pop):
                    ax.plot(pop["density"], pop[value], color=st["color"], linestyle="none", marker="x",
                            markevery=(2, 5), markersize=5, label=name)
            elif len(pop):
                ax.plot(pop["density"], pop[value], color=st["color"], linestyle=st["linestyle"],
                        label=name)
            sim = mc.where(method=method)
            if len(sim):
                on_scale = sim[value] <= top  # break the band where a point is off scale
                if method != "probit":  # its band is the optimum's
                    band(ax, sim["density"], np.where(on_scale, sim[lo], np.nan),
                         np.where(on_scale, sim[hi], np.nan), st["color"])
                ax.plot(sim["density"], sim[value], color=st["color"], marker=st["marker"], linestyle="none",
                        markersize=6 if method == "probit" else 5,
                        label=f"{name} (Monte Carlo)" if not len(pop) else None)
        log_risk_axis(ax, ticks=(0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1))
        ax.set_ylim(0.019, top)
        off = table.filter((table["method"] == "ssp") & (table[value] > top))
        if len(off):  # SSP's collapse is off scale: say so rather than squash the rest
            d_max = float(off["density"].max())
            ax.annotate(f"SSP for d ≤ {d_max:.2f}: {label}\n{off[value].min():.2f} to {off[value].max():.2f} "
                        "(off scale)", xy=(d_max, top), xytext=(d_max + 0.05, top * 0.8), fontsize=8.5,
                        color=METHOD_STYLE["ssp"]["color"], ha="left", va="top",
                        arrowprops=dict(arrowstyle="->", color=METHOD_STYLE["ssp"]["color"], lw=0.8))
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("dataset density d (fraction of the training set kept)")
        ax.set_ylabel(f"{label} on the true distribution (log scale)")
    axes[0].set_title("(a) worst-class risk")
    axes[1].set_title("(b) average risk")
    # One entry per method showing both of its marks: its population line and the marker of its
    # Monte Carlo points (which marker is which method).
    handles, labels = [], []
    for method in ("uniform", "drop", "damped", "optimal", "probit", "ssp", "hardest"):
        st = METHOD_STYLE[method]
        has_pop = len(table.where(source="population", method=method)) > 0
        has_mc = len(mc.where(method=method)) > 0
        if not (has_pop or has_mc):
            continue
        name = st["label"].replace("^α", f"^{alpha:g}") if method == "damped" else st["label"]
        if method == "probit":
            name += " (= optimal here)"
        line = st["linestyle"] if has_pop and method != "probit" else "none"
        marker = st["marker"] if has_mc or method == "probit" else "none"
        handles.append(Line2D([], [], color=st["color"], linestyle=line, marker=marker, markersize=5))
        labels.append(name if has_pop else f"{name} (Monte Carlo only)")
    handles.append(Line2D([], [], color="0.3", linestyle="-", marker="o", markersize=5))
    labels.append(f"line: population (n → ∞); marker and band: Monte Carlo, n = {n}")
    fig.legend(handles, labels, loc="outside lower center", ncol=4, frameon=False)
    return fig


def _table_facts(table: Table, model: TwoGaussians) -> dict:
    r"""The caption's numbers, read from the population rows: the optimal worst-class risk
    :math:`\Phi(-z)`, :math:`z = (\mu_1-\mu_0)/(\sigma_0+\sigma_1)`, the largest grid density up to which
    the optimal allocation attains it (no class saturates), and the largest density where SSP's
    worst-class risk exceeds 1/2 (its collapse)."""
    z = float((model.means[1] - model.means[0]) / model.stds.sum())
    opt = table.where(source="population", method="optimal")
    floor = float(ndtr(-z))
    order = np.argsort(opt["density"], kind="stable")
    dens, worst = opt["density"][order], opt["worst_class_risk"][order]
    off_floor = np.flatnonzero(np.abs(worst - floor) > 1e-9 * floor)
    # The largest d such that every grid density up to it attains the floor.
    end = off_floor[0] if off_floor.size else dens.size
    upto = float(dens[end - 1]) if end > 0 else float("nan")
    ssp = table.where(source="population", method="ssp")
    collapsed = ssp["density"][ssp["worst_class_risk"] > 0.5]
    facts = {"z": z, "floor": float(worst.min()), "upto": upto,
             "collapse": float(collapsed.max()) if collapsed.size else float("nan")}
    # The probit rule against the optimum (population and Monte Carlo rows), and the worst-class risks
    # of DRoP and damped DRoP at the smallest grid density (where nothing saturates).
    gaps = []
    for source in ("population", "monte_carlo"):
        o, p = table.where(source=source, method="optimal"), table.where(source=source, method="probit")
        common = np.intersect1d(o["density"], p["density"])
        for d in common:
            # by `difference`: a rounding residue of 0 is 0, so the caption does not depend on the CPU
            gaps.append(abs(difference(p.where(density=d)["worst_class_risk"][0],
                                       o.where(density=d)["worst_class_risk"][0])))
    facts["probit_gap"] = max(gaps) if gaps else float("nan")
    damped = table.where(source="population", method="damped")
    facts["alpha"] = float(damped["param"][0]) if len(damped) else float("nan")
    d_min = float(dens[0]) if dens.size else float("nan")
    facts["d_min"] = d_min
    for method in ("drop", "damped"):
        rows = table.where(source="population", method=method, density=d_min)
        facts[f"{method}_low_d"] = float(rows["worst_class_risk"][0]) if len(rows) else float("nan")
    # Monte Carlo: the densities (from the smallest on) where the means order uniform < optimal < DRoP,
    # the reverse of the population ranking, and those where damped DRoP's mean is below uniform's.
    mc = table.where(source="monte_carlo")
    mc_d = sorted(set(mc.where(method="uniform")["density"].tolist()))
    means = {m: {float(d): float(v) for d, v in zip(mc.where(method=m)["density"],
                                                     mc.where(method=m)["worst_class_risk"])}
             for m in ("uniform", "optimal", "drop", "damped")}
    upto_rev = float("nan")
    for d in mc_d:
        ok = all(d in means[m] for m in means)
        if not (ok and means["uniform"][d] < means["optimal"][d] < means["drop"][d]):
            break
        upto_rev = d
    facts["reversed_upto"] = upto_rev
    facts["damped_below_uniform"] = [d for d in mc_d if d in means["damped"]
                                     and means["damped"][d] < means["uniform"][d]]
    return facts


def caption(table: Table, model: TwoGaussians, s: Settings) -> str:
    """The README caption; its numbers are read from ``table`` (:func:`_table_facts`)."""
    f = _table_facts(table, model)
    below = f["damped_below_uniform"]
    return (
        "Worst-class (a) and average (b) risk of the threshold learned after pruning to dataset density "
        f"d, for {model_text(model)}. Lines are population values (n → ∞); markers with shaded 95% "
        f"intervals are Monte Carlo means over {s.mc_trials} training sets of n = {s.mc_n} points "
        "(before pruning) with the empirical-risk-minimising threshold. Uniform random pruning leaves "
        "the population risks unchanged, and its finite-sample risk grows as d shrinks. The worst-class "
        f"optimal allocation (keep class k in proportion to σ_k) reaches Φ(-{f['z']:g}) ≈ {f['floor']:.4f} "
        f"for every d ≤ {f['upto']:.2f}; Random+DRoP gets most of the way (its quotas overshoot towards the "
        f"hard class: {f['drop_low_d']:.4f} at d = {f['d_min']:g}) and damped DRoP, "
        f"d_k ∝ (1 − r_k)^{f['alpha']:g}, further ({f['damped_low_d']:.4f}). The probit rule "
        "d_k ∝ φ(Φ⁻¹(r_k)), computed from the same "
        "full-data recalls as DRoP, is the exact optimum in this model (at t*, π0 f0(t*) = π1 f1(t*) makes "
        "σ_k ∝ π_k φ(Φ⁻¹(r_k))), so it is drawn as crosses on the optimum's line and markers; the largest "
        f"difference between the two in the table, population or Monte Carlo, is {f['probit_gap']:.1e} (a "
        "difference below 1e-12 of the risks is a rounding residue, written as 0). "
        "SSP margin pruning keeps the full-data boundary until its margin cuts into it "
        f"(d ≈ {f['collapse']:.2f}) and "
        "then collapses; keep-hardest score pruning (score |x − t*|, no closed form, Monte Carlo only) "
        "keeps the full-data ERM solution exactly. Neither moves the threshold towards the worst-class "
        "optimum: pruning that breaks class-conditional independence does not act like a prior. Note the "
        f"finite-sample markers: at n = {s.mc_n} the ERM threshold's estimation noise is larger than the "
        "allocation effect, and E[max_k R_k] is inflated most where R0 ≈ R1, so the population ranking "
        "is reversed: the Monte Carlo means order uniform < optimal < DRoP at every simulated d ≤ "
        f"{f['reversed_upto']:g} (Figure 5 shows when the ranking is restored). Damped DRoP, which moves "
        "less data, suffers least of the three re-allocating rules (at finite n the best allocation moves "
        "back towards uniform)"
        + (f"; its mean is below uniform's at d = {', '.join(f'{d:g}' for d in below)}." if below else ".")
    )


def build(s: Settings) -> FigureResult:
    """Figure 2 at the settings ``s`` (Monte Carlo seed ``subseed(s.seed, 2)``)."""
    model = reference_model()
    table = compute_risk_vs_density(model, seed=subseed(s.seed, 2), settings=s)
    lo, hi = s.density_range
    return FigureResult(
        name="fig2_risk_vs_density",
        title="Risk vs dataset density",
        caption=caption(table, model, s),
        params={"model": repr(model), "population grid": f"d in [{lo:g}, {hi:g}], {s.density_points} points",
                "Monte Carlo densities": ", ".join(f"{d:g}" for d in s.density_mc), "n": s.mc_n,
                "trials": s.mc_trials, "learner": s.mc_learner, "damped DRoP alpha": s.damped_alpha,
                "seed": s.seed},
        table=table,
        figure=plot_risk_vs_density(table, model),
    )
