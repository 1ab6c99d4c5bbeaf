"""``droplab figures``: every file is produced, CSVs hold the expected columns and rows, and the
numbers behind the figures agree with the closed forms."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import numpy as np
import pytest

from gaussian_theory import TwoGaussians
from gaussian_theory.cli import build_parser, main
from gaussian_theory.figures import FIGURES, Settings, Table, make_figures

QUICK = Settings.preset(quick=True)

EXPECTED_COLUMNS = {
    "fig1_risks_vs_prior": ["kind", "log_prior_ratio", "prior_ratio", "phi0", "threshold", "R0", "R1",
                            "average_risk", "worst_class_risk"],
    "fig2_risk_vs_density": ["source", "method", "density", "param", "d0", "d1", "R0", "R1", "average_risk",
                             "worst_class_risk", "average_se", "worst_se", "worst_lo", "worst_hi",
                             "average_lo", "average_hi", "trials", "n", "seed"],
    "fig3_ssp_margin": ["margin", "method", "d0", "d1", "density", "threshold", "R0", "R1", "average_risk",
                        "worst_class_risk"],
    "fig4_drop_regret_map": ["separation", "std_ratio", "mu1", "sigma1", "d0_drop", "d1_drop", "d0_opt",
                             "d1_opt", "worst_uniform", "worst_drop", "worst_opt", "regret", "gain_captured",
                             "log2_ratio_drop_over_opt", "alpha", "d0_damped", "d1_damped", "worst_damped",
                             "regret_damped", "d0_probit", "d1_probit", "worst_probit", "regret_probit"],
    "fig5_finite_samples": ["source", "learner", "method", "n", "d0", "d1", "worst_class_risk", "worst_se",
                            "worst_lo", "worst_hi", "worst_of_mean_class_risks", "average_risk", "average_se",
                            "threshold_sd", "trials", "seed", "minus_uniform", "minus_uniform_se"],
    "fig6_many_classes": ["density", "method", "class", "sigma", "class_density", "pruned_prior", "recall",
                          "recall_se", "recall_low", "recall_high", "worst_class_risk", "worst_low",
                          "worst_high", "average_risk", "fit_worst_class_risk", "alpha"],
}
EXPECTED_ROWS = {
    "fig1_risks_vs_prior": QUICK.prior_points + 3,
    "fig3_ssp_margin": 3 * QUICK.margin_points,
    "fig4_drop_regret_map": QUICK.regret_points[0] * QUICK.regret_points[1],
    "fig5_finite_samples": 2 * 3 * (len(QUICK.n_values) + 1),  # learners x allocations x (n values + limit)
    "fig6_many_classes": 2 * 5 * 10,  # densities x allocations x classes
}


def read_csv(path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def col(rows, name, **where) -> np.ndarray:
    return np.array([float(r[name]) for r in rows if all(r[k] == v for k, v in where.items())])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``droplab figures --quick`` run once, as a subprocess, into a temporary folder: every test below
    reads this one run. Its speed is measured in ``bench/bench_test_workloads.py``, not here."""
    out = tmp_path_factory.mktemp("figures")
    proc = subprocess.run(
        [sys.executable, "-m", "gaussian_theory.cli", "figures", "--quick", "--out", str(out),
         "--no-progress"],
        capture_output=True, text=True, timeout=1800,  # a hang guard only
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_all_six_figures_are_registered():
    assert [f.number for f in FIGURES] == [1, 2, 3, 4, 5, 6]
    assert [f.name for f in FIGURES] == list(EXPECTED_COLUMNS)


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_every_file_produced_and_non_empty(quick_run, spec):
    out, stdout = quick_run
    for ext, magic in (("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-"), ("csv", None)):
        path = out / f"{spec.name}.{ext}"
        assert path.is_file(), f"missing {path.name}"
        assert path.stat().st_size > (2000 if ext != "csv" else 100), f"{path.name} is (nearly) empty"
        if magic:
            assert path.read_bytes()[: len(magic)] == magic
    assert spec.name in stdout


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_csv_columns_and_rows(quick_run, spec):
    out, _ = quick_run
    header, rows = read_csv(out / f"{spec.name}.csv")
    assert header == EXPECTED_COLUMNS[spec.name]
    assert len(rows) > 0
    if spec.name in EXPECTED_ROWS:
        assert len(rows) == EXPECTED_ROWS[spec.name]
    for r in rows:  # every numeric cell parses (nan/inf allowed: spelled out)
        for k, v in r.items():
            if k not in ("kind", "method", "source", "learner"):
                float(v)


def test_readme_and_no_temporary_files(quick_run):
    out, _ = quick_run
    readme = (out / "README.md").read_text()
    for spec in FIGURES:
        assert f"({spec.name}.png)" in readme
    assert "--quick" in readme
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    expected = {f"{s.name}.{e}" for s in FIGURES for e in ("png", "pdf", "csv")} | {"README.md"}
    assert {p.name for p in out.iterdir()} == expected


# ------------------------------------------------------------------------- numeric sanity checks
def test_fig1_worst_class_minimum_at_worst_class_optimal_prior(quick_run):
    out, _ = quick_run
    _, rows = read_csv(out / "fig1_risks_vs_prior.csv")
    x = col(rows, "log_prior_ratio", kind="grid")
    worst = col(rows, "worst_class_risk", kind="grid")
    step = x[1] - x[0]
    model = TwoGaussians((0, 6), (1, 2))
    target = math.log(model.stds[0] / model.stds[1])  # log(sigma0/sigma1)
    assert abs(x[np.argmin(worst)] - target) <= step
    (marked,) = col(rows, "log_prior_ratio", kind="worst-class optimal")
    assert marked == pytest.approx(target, abs=1e-9)
    # At the worst-class-optimal prior average and worst-class risk coincide (R0 = R1).
    (avg,), (wc,) = col(rows, "average_risk", kind="worst-class optimal"), col(rows, "worst_class_risk",
                                                                                 kind="worst-class optimal")
    assert avg == pytest.approx(wc, rel=1e-9)
    assert wc == pytest.approx(0.5 * math.erfc(6 / 3 / math.sqrt(2)), rel=1e-9)  # Phi(-z), z = 2
    # DRoP's prior lies between the optimum and the full hard-class end: overshoot (notes 1.8).
    (drop,) = col(rows, "prior_ratio", kind="DRoP")
    assert drop == pytest.approx(0.442, abs=1e-3)


def test_fig3_ssp_keeps_the_boundary_while_random_pruning_moves_it(quick_run):
    out, _ = quick_run
    _, rows = read_csv(out / "fig3_ssp_margin.csv")
    m = col(rows, "margin", method="ssp")
    t_ssp = col(rows, "threshold", method="ssp")
    t_star = TwoGaussians((0, 6), (1, 2)).optimal_threshold()
    small = m <= 1.0
    np.testing.assert_allclose(t_ssp[small], t_star, atol=1e-9)
    worst_ssp = col(rows, "worst_class_risk", method="ssp")
    worst_rand = col(rows, "worst_class_risk", method="random_same")
    worst_opt = col(rows, "worst_class_risk", method="optimal")
    band = (m > 0) & (m <= 1.0)
    assert (worst_rand[band] < worst_ssp[band]).all()
    assert (worst_opt <= worst_rand + 1e-12).all() and (worst_opt <= worst_ssp + 1e-12).all()
    d0, d1 = col(rows, "d0", method="ssp"), col(rows, "d1", method="ssp")
    assert (d0[m > 0] < d1[m > 0]).all()  # the easy class is pruned harder


def test_fig4_regret_is_non_negative_and_drop_overshoots(quick_run):
    out, _ = quick_run
    _, rows = read_csv(out / "fig4_drop_regret_map.csv")
    regret = col(rows, "regret")
    assert (regret >= -1e-12).all()
    np.testing.assert_allclose(regret, col(rows, "worst_drop") - col(rows, "worst_opt"), atol=1e-10)
    assert (col(rows, "log2_ratio_drop_over_opt") < 0).all()  # DRoP gives the hard class too much
    z, worst_opt = col(rows, "separation"), col(rows, "worst_opt")
    np.testing.assert_allclose(worst_opt, 0.5 * np.vectorize(math.erfc)(z / math.sqrt(2)), rtol=1e-8)


# ------------------------------------------------------------------------- CLI and helpers
def test_only_builds_the_selected_figure(tmp_path):
    assert main(["figures", "--quick", "--only", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    # README.md (the captions of every figure) is only written by a full set, never shrunk by --only.
    assert names == ["fig1_risks_vs_prior.csv", "fig1_risks_vs_prior.pdf", "fig1_risks_vs_prior.png"]


def test_unknown_figure_is_an_error(tmp_path, capsys):
    assert main(["figures", "--only", "42", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_figures_subcommand_defaults():
    args = build_parser().parse_args(["figures"])
    assert args.out == "figures" and not args.quick and args.seed == 0 and args.only is None


def test_quick_settings_are_coarser_than_full():
    quick, full = Settings.preset(True), Settings.preset(False)
    assert quick.quick and not full.quick
    assert quick.prior_points < full.prior_points and quick.mc_trials < full.mc_trials
    assert len(quick.n_values) < len(full.n_values)


def test_make_figures_is_reproducible(tmp_path, quick_run):
    # A second build, in this process and of two figures only, against the CLI's full quick run in its
    # own process: same bytes, for a closed-form figure (3) and a Monte Carlo one (5).
    out, _ = quick_run
    make_figures(tmp_path, quick=True, only=["3", "5"], progress=False)
    for name in ("fig3_ssp_margin.csv", "fig5_finite_samples.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_table_round_trip(tmp_path):
    t = Table.concat([Table({"x": [1.0, np.inf], "k": ["a", "b"]}), Table({"x": [np.nan], "k": ["a"]})])
    assert len(t) == 3 and t.columns == ["x", "k"]
    assert t.where(k="a")["x"].size == 2
    t.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["x,k", "1,a", "inf,b", "nan,a"]
    with pytest.raises(ValueError, match="equal length"):
        Table({"x": [1, 2], "y": [1]})


# ------------------------------------------------------------------------- the package's seams
def test_grids_come_from_settings_and_reach_the_captions():
    from gaussian_theory.figures import FIGURES as specs
    from gaussian_theory.figures import compute_risks_vs_prior, compute_ssp_margin

    assert len(compute_risks_vs_prior()) == Settings().prior_points + 3  # default: the full settings
    assert len(compute_ssp_margin(settings=QUICK)) == 3 * QUICK.margin_points
    s = Settings(log_ratio_max=3.0, prior_points=11)
    result = specs[0].build(s)
    grid = result.table.where(kind="grid")["log_prior_ratio"]
    assert grid.min() == -3.0 and grid.max() == 3.0 and grid.size == 11
    assert result.params["log prior-ratio grid"] == "[-3, 3], 11 points"
    assert not hasattr(specs[0], "needs")


def test_bad_settings_and_arguments_are_named():
    from gaussian_theory.figures import compute_risk_vs_density, compute_risks_vs_prior
    from gaussian_theory.figures.settings import resolve

    with pytest.raises(ValueError, match="seed"):
        Settings(seed=-1)
    with pytest.raises(ValueError, match="prior_points"):
        Settings(prior_points=1)
    with pytest.raises(TypeError, match="points"):
        compute_risks_vs_prior(points=10.5)
    with pytest.raises(ValueError, match="log_ratio_max"):
        compute_risks_vs_prior(log_ratio_max=-1.0)
    with pytest.raises(ValueError, match="mc_densities"):
        compute_risk_vs_density(mc_densities=(1.5,))
    with pytest.raises(TypeError, match="settings"):
        resolve("quick")


def test_unknown_figure_is_rejected_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        make_figures(tmp_path / "out", only=["7"], progress=False)
    assert not (tmp_path / "out").exists()


def test_fig2_caption_numbers_are_read_from_the_table():
    from scipy.stats import norm

    from gaussian_theory.figures import compute_risk_vs_density, reference_model
    from gaussian_theory.figures.fig2_risk_vs_density import _table_facts

    model = reference_model()
    table = compute_risk_vs_density(model, mc_densities=(), settings=Settings())
    facts = _table_facts(table, model)
    assert facts["z"] == pytest.approx(2.0)
    assert facts["floor"] == pytest.approx(norm.cdf(-2.0), rel=1e-9)
    # The optimal densities d_k = d (s_k / (s0 + s1)) / phi_k saturate class 1 at d = 0.5 * 3 / 2.
    assert facts["upto"] == pytest.approx(0.75, abs=1e-9)


def test_fig5_onset_phrases():
    from gaussian_theory.figures.fig5_finite_samples import _onset

    ns = np.array([100.0, 1000.0, 2000.0, 5000.0])
    assert _onset(ns, np.array([False, True, False, True]), between=True) == "from n ≈ 3000 on"
    assert _onset(ns, np.array([False, True, False, True]), between=False) == "from n ≈ 5000 on"
    assert _onset(ns, np.ones(4, bool), between=True) == "at every simulated n (from 100)"
    assert _onset(ns, np.array([True, True, True, False]), between=True) == "at no simulated n up to 5000"


def test_fig6_caption_reads_saturation_from_the_table():
    from gaussian_theory.figures.fig6_many_classes import _density_sentence

    t = Table({"density": [0.2, 0.2, 0.5, 0.5], "class_density": [0.1, 0.6, 0.2, 1.0]})
    assert _density_sentence(t, 0.2).startswith("At d = 0.2 no class saturates")
    assert _density_sentence(t, 0.5).startswith("At d = 0.5 the hardest classes are kept whole")


def test_monte_carlo_seed_may_be_a_generator():
    from gaussian_theory.figures import compute_finite_samples

    def run(seed):
        return compute_finite_samples(n_values=(100,), trials=5, seed=seed, learners=("plugin",))

    a, b = run(np.random.default_rng(3)), run(np.random.default_rng(3))
    np.testing.assert_array_equal(a["worst_class_risk"], b["worst_class_risk"])
    np.testing.assert_array_equal(run(7)["worst_class_risk"], run(7)["worst_class_risk"])
    with pytest.raises(ValueError, match="seed"):
        run(-1)
