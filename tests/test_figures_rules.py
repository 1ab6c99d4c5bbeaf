"""The figures' new content (issue 12): the probit rule and damped DRoP in figures 2, 4 and 6, paired
differences in figure 5, where SSP keeps the boundary in figure 3; each checked against an independent
computation at quick-sized settings, and the captions against their tables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from gaussian_theory import TwoGaussians
from gaussian_theory.figures import Settings, Table, reference_model

QUICK = Settings.preset(quick=True)


# ------------------------------------------------------------------------- figure 4
@pytest.fixture(scope="module")
def regret_table():
    from gaussian_theory.figures import compute_regret_map

    return compute_regret_map(np.linspace(1.0, 3.0, 9), np.geomspace(1.1, 4.0, 9), density=0.5)


def test_fig4_probit_regret_is_zero_and_damped_lies_between(regret_table):
    t = regret_table
    assert np.abs(t["regret_probit"]).max() < 1e-9
    np.testing.assert_allclose(t["regret_damped"], t["worst_damped"] - t["worst_opt"], atol=1e-15)
    assert (t["regret_damped"] >= -1e-12).all()
    assert t["regret_probit"].mean() < t["regret_damped"].mean() < t["regret"].mean()
    assert (t["alpha"] == QUICK.damped_alpha).all()


def test_fig4_new_columns_match_an_independent_computation(regret_table):
    """Damped DRoP by hand: d_k ∝ R_k(t*)^α with balanced priors, no saturation at d = 0.5 here;
    the worst-class optimum Φ(-z) (priors ∝ σ)."""
    for row in list(regret_table.rows())[::7]:
        z, r = row["separation"], row["std_ratio"]
        m = TwoGaussians((0.0, z * (1 + r)), (1.0, r))
        w = m.class_risks(m.optimal_threshold()) ** row["alpha"]
        dens = 2 * 0.5 * w / w.sum()
        if dens.max() < 1:
            np.testing.assert_allclose([row["d0_damped"], row["d1_damped"]], dens, rtol=1e-10)
        worst = m.class_risks(m.prune([row["d0_damped"], row["d1_damped"]]).optimal_threshold()).max()
        assert row["worst_damped"] == pytest.approx(worst, rel=1e-12)
        assert row["worst_probit"] == pytest.approx(norm.cdf(-z), rel=1e-9)


def test_fig4_caption_numbers_come_from_the_table(regret_table):
    from gaussian_theory.figures.fig4_drop_regret_map import caption, regret_summary

    f = regret_summary(regret_table)
    uniform = regret_table["worst_uniform"] - regret_table["worst_opt"]
    assert f["uniform"]["mean"] == pytest.approx(uniform.mean())
    assert f["drop"]["worse_than_uniform"] == pytest.approx(
        np.mean(regret_table["worst_drop"] > regret_table["worst_uniform"] + 1e-12))
    text = caption(regret_table, 0.5)
    assert f"{f['damped']['mean']:.4f}" in text and f"{f['drop']['mean']:.4f}" in text
    assert f"{f['probit']['max_abs']:.1e}" in text


# ------------------------------------------------------------------------- figure 2
def test_fig2_probit_equals_optimal_and_damped_is_between():
    from gaussian_theory.figures import compute_risk_vs_density
    from gaussian_theory.figures.fig2_risk_vs_density import _table_facts

    model = reference_model()
    t = compute_risk_vs_density(model, densities=np.linspace(0.1, 0.7, 7), mc_densities=(0.5,), trials=20,
                                settings=QUICK)
    pop = t.where(source="population")
    opt, prob = pop.where(method="optimal"), pop.where(method="probit")
    np.testing.assert_allclose(prob["worst_class_risk"], opt["worst_class_risk"], atol=1e-12)
    damped, drop = pop.where(method="damped"), pop.where(method="drop")
    assert (damped["param"] == QUICK.damped_alpha).all()
    assert (opt["worst_class_risk"] < damped["worst_class_risk"]).all()
    assert (damped["worst_class_risk"] < drop["worst_class_risk"]).all()
    mc = t.where(source="monte_carlo")
    assert {"probit", "damped"} <= set(mc.unique("method"))
    assert _table_facts(t, model)["probit_gap"] < 1e-12


# ------------------------------------------------------------------------- figure 5
def test_paired_difference_standard_error():
    from gaussian_theory.figures.fig5_finite_samples import paired_difference

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    mean, se = paired_difference(a, b)
    d = a - b
    assert mean == pytest.approx(d.mean())
    assert se == pytest.approx(np.sqrt(np.sum((d - d.mean()) ** 2) / (d.size - 1) / d.size))


def test_fig5_paired_differences_use_the_same_training_sets():
    """The table's paired differences equal those of two independent simulate calls with the cell seed
    (same training sets before pruning)."""
    from gaussian_theory.figures import compute_finite_samples
    from gaussian_theory.figures.fig5_finite_samples import paired_difference
    from gaussian_theory.simulation import RandomPruning, simulate

    model = reference_model()
    t = compute_finite_samples(model, n_values=(1000,), trials=60, seed=3, learners=("plugin",))
    mc = t.where(source="monte_carlo")
    uni, opt = mc.where(method="uniform"), mc.where(method="optimal")
    assert uni["minus_uniform"][0] == 0.0
    seed = int(opt["seed"][0])
    res = {m: simulate(model, 1000, RandomPruning(tuple(d)), learner="plugin", trials=60, seed=seed)
           for m, d in (("u", (0.5, 0.5)), ("o", model.worst_class_optimal_densities(0.5)))}
    mean, se = paired_difference(res["o"].worst_class_risks, res["u"].worst_class_risks)
    assert opt["minus_uniform"][0] == pytest.approx(mean, rel=1e-12)
    assert opt["minus_uniform_se"][0] == pytest.approx(se, rel=1e-12)
    assert opt["minus_uniform"][0] == pytest.approx(opt["worst_class_risk"][0] - uni["worst_class_risk"][0])
    # The paired SE accounts for the correlation of the two rules on the same training sets:
    # SE^2 = SE_o^2 + SE_u^2 - 2 cov / T.
    wo, wu = res["o"].worst_class_risks, res["u"].worst_class_risks
    cov = np.cov(wo, wu, ddof=1)[0, 1]
    var = opt["worst_se"][0] ** 2 + uni["worst_se"][0] ** 2 - 2 * cov / wo.size
    assert se**2 == pytest.approx(var, rel=1e-9)


def test_fig5_crossover_interpolation_and_caption():
    from gaussian_theory.figures.fig5_finite_samples import _paired_sentence, crossover

    ns = np.array([100.0, 1000.0, 10000.0])
    assert crossover(ns, [0.3, 0.1, -0.1]) == pytest.approx(np.sqrt(1000.0 * 10000.0))
    assert np.isnan(crossover(ns, [-0.1, -0.2, -0.3])) and np.isnan(crossover(ns, [0.1, -0.2, 0.3]))
    t = Table({"source": ["monte_carlo"] * 3, "learner": ["erm"] * 3, "method": ["optimal"] * 3, "n": ns,
               "minus_uniform": [0.003, 0.001, -0.001], "minus_uniform_se": [0.001, 0.0005, 0.0005]})
    text = _paired_sentence(t, "erm", "optimal", "optimal")
    assert "+0.0010 ± 0.0005 (2.0 SE) at n = 1,000" in text
    assert "-0.0010 ± 0.0005 (2.0 SE) at n = 10,000" in text
    assert "crossover n ≈ 3,200" in text


# ------------------------------------------------------------------------- figure 3
def test_fig3_boundary_holds_up_to_the_jump():
    from gaussian_theory.figures import compute_ssp_margin
    from gaussian_theory.figures.fig3_ssp_margin import caption, ssp_boundary_facts

    model = reference_model()
    margins = np.linspace(0.0, 3.0, 61)
    t = compute_ssp_margin(model, margins)
    f = ssp_boundary_facts(t, model)
    assert f["holds_upto"] == pytest.approx(1.70) and f["jump_at"] == pytest.approx(1.75)
    # independently: at M = 2 the SSP minimiser is mu0 - M, with R0 = Phi(M) ~ 0.977
    ssp2 = model.ssp_prune(2.0)
    assert ssp2.threshold == pytest.approx(-2.0) and ssp2.class_risks[0] == pytest.approx(norm.cdf(2.0))
    assert model.ssp_prune(1.7).threshold == pytest.approx(model.optimal_threshold())
    assert "M ≤ 1.70" in caption(t, model)


# ------------------------------------------------------------------------- figure 6
def test_fig6_rules_and_out_of_sample_minimax():
    """Small budget: the recall-based rules match allocation.drop_densities on the full-data errors;
    every allocation is scored on the same draws; the minimax solver beats uniform."""
    from gaussian_theory.allocation import drop_densities
    from gaussian_theory.apportionment import population_sizes
    from gaussian_theory.figures import compute_many_classes, many_classes_mixture

    mix = many_classes_mixture(4, separation=2.5)
    t = compute_many_classes(mix, densities=(0.3,), n_mc=5000, seed=2, minimax_mc=3000, settings=QUICK)
    assert set(t.unique("method")) == {"uniform", "drop", "damped", "probit", "minimax"}
    errors = mix.class_risks(mix.priors, n_mc=5000, seed=2).risks
    sizes = population_sizes(mix.priors)
    for method, kw in (("drop", {}), ("damped", {"alpha": QUICK.damped_alpha}),
                       ("probit", {"allocation_rule": "probit"})):
        want = drop_densities(errors=errors, class_sizes=sizes, density=0.3, **kw)
        np.testing.assert_allclose(t.where(method=method)["class_density"], want, rtol=1e-12)
    for method in t.unique("method"):
        rows = t.where(method=method)
        est = mix.pruned_risks(rows["class_density"], n_mc=5000, seed=2)
        np.testing.assert_allclose(1 - rows["recall"], est.risks, atol=1e-15)
        assert rows["worst_low"][0] <= rows["worst_class_risk"][0] <= rows["worst_high"][0]
        assert (rows["recall_low"] <= rows["recall"]).all() and (rows["recall"] <= rows["recall_high"]).all()
    mm, uni = t.where(method="minimax"), t.where(method="uniform")
    assert mm["worst_class_risk"][0] < uni["worst_class_risk"][0]
    assert np.isfinite(mm["fit_worst_class_risk"][0]) and np.isnan(uni["fit_worst_class_risk"][0])


def test_fig6_caption_numbers_come_from_the_table():
    from gaussian_theory.figures.fig6_many_classes import _numbers_sentence, caption, many_classes_mixture

    rows = []
    for m, w in (("uniform", 0.24), ("drop", 0.21), ("damped", 0.22), ("probit", 0.225), ("minimax", 0.18)):
        for k in range(2):
            rows.append({"density": 0.2, "method": m, "class": k, "sigma": 1.0 + k, "class_density": 0.2,
                         "recall": 1 - w, "worst_class_risk": w, "worst_low": w - 0.001,
                         "worst_high": w + 0.001,
                         "fit_worst_class_risk": 0.179 if m == "minimax" else np.nan,
                         "alpha": 0.7 if m == "damped" else np.nan})
    t = Table.from_rows(rows, list(rows[0]))
    text = _numbers_sentence(t, 0.2, 0.7)
    assert "minimax 0.1800 [0.1790, 0.1810]" in text and "in-sample value was 0.1790" in text
    full = caption(t, many_classes_mixture(2), 2.5)
    assert "not unique" not in full and "jagged" not in full
    assert "probit rule (0.2250) is worse than DRoP (0.2100)" in full


# ------------------------------------------------------------------------- issue 17: lettering, legends
def _titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def _letters(titles):
    return [t[: t.index(")") + 1] for t in titles if t.startswith("(")]


def test_fig5_panels_are_lettered_row_by_row():
    """issue 17: the panels were lettered (a), (b), (d), (e)."""
    from gaussian_theory.figures import compute_finite_samples, plot_finite_samples
    from gaussian_theory.figures.fig5_finite_samples import caption, panel_letters

    assert [panel_letters(2, k) for k in range(2)] == [("a", "c"), ("b", "d")]
    model = reference_model()
    t = compute_finite_samples(model, n_values=(200, 1000), trials=20, seed=1, learners=("erm", "plugin"))
    fig = plot_finite_samples(t, model, 0.5)
    assert sorted(_letters(_titles(fig))) == ["(a)", "(b)", "(c)", "(d)"]
    text = caption(t, model, 0.5, 20)
    assert "(a, c) The empirical 0-1" in text and "(b, d) The Gaussian plug-in" in text
    assert "(d, " not in text and "(b, e)" not in text


def test_fig2_legend_says_which_marker_is_which_method():
    """issue 17: the legend showed lines only, plus one grey marker for every Monte Carlo point."""
    from gaussian_theory.figures import METHOD_STYLE, compute_risk_vs_density, plot_risk_vs_density

    model = reference_model()
    t = compute_risk_vs_density(model, densities=np.linspace(0.1, 0.9, 5), mc_densities=(0.5,), trials=10,
                                settings=QUICK)
    fig = plot_risk_vs_density(t, model)
    (legend,) = fig.legends
    entries = {text.get_text(): h for text, h in zip(legend.get_texts(), legend.legend_handles)}
    for method in t.where(source="monte_carlo").unique("method"):
        st = METHOD_STYLE[method]
        label = next(k for k in entries if k.startswith(st["label"].split(" d_k")[0]))
        handle = entries[label]
        assert handle.get_marker() == st["marker"], (method, label)
        assert handle.get_color() == st["color"]
    assert any("line: population" in k and "marker and band: Monte Carlo" in k for k in entries)


def test_fig4_islands_are_where_damped_drop_crosses_the_optimum(regret_table):
    """issue 17: the small closed contours of panel (d) are real. Independently of the table: along each
    std ratio, damped DRoP's pruned prior ratio (TwoGaussians.prune) minus the optimum's changes sign at
    the reported separations, and the regret is smallest next to them."""
    from gaussian_theory.figures.fig4_drop_regret_map import caption, damped_crossings

    cross = damped_crossings(regret_table)
    assert cross.size >= 3
    alpha = QUICK.damped_alpha
    n_flips = 0
    for r in np.unique(regret_table["std_ratio"]):
        zs = np.unique(regret_table["separation"])
        signs, regrets = [], []
        for z in zs:
            m = TwoGaussians((0.0, z * (1 + r)), (1.0, r))
            damped, opt = m.prune(m.drop_densities(0.5, alpha=alpha)).priors, m.prune(
                m.worst_class_optimal_densities(0.5)).priors
            signs.append(np.sign(np.log(damped[0] / damped[1]) - np.log(opt[0] / opt[1])))
            regrets.append(m.pruned_risks(m.drop_densities(0.5, alpha=alpha)).max()
                           - m.pruned_risks(m.worst_class_optimal_densities(0.5)).max())
        flips = [0.5 * (zs[i] + zs[i + 1]) for i in range(zs.size - 1) if signs[i] * signs[i + 1] < 0]
        n_flips += len(flips)
        for c in flips:
            assert np.min(np.abs(cross - c)) < 1e-12
            i = int(np.searchsorted(zs, c))  # the crossing lies between cells i - 1 and i
            valley = min(regrets[i - 1], regrets[i])  # the regret dips there (a local minimum)
            assert all(valley < regrets[j] for j in (i - 2, i + 1) if 0 <= j < zs.size)
    assert n_flips == cross.size
    text = caption(regret_table, 0.5)
    assert f"near separation {cross.min():.2f}–{cross.max():.2f} is real" in text
    assert "crosses the optimal one" in text
