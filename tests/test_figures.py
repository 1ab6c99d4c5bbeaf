"""``droplab figures``: every file is produced, CSVs hold the expected columns and rows, and the
numbers behind the figures agree with the closed forms."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import time

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
                             "log2_ratio_drop_over_opt"],
    "fig5_finite_samples": ["source", "learner", "method", "n", "d0", "d1", "worst_class_risk", "worst_se",
                            "worst_lo", "worst_hi", "worst_of_mean_class_risks", "average_risk", "average_se",
                            "threshold_sd", "trials", "seed"],
    "fig6_many_classes": ["density", "method", "class", "sigma", "class_density", "pruned_prior", "recall",
                          "recall_se", "worst_class_risk", "average_risk"],
}
EXPECTED_ROWS = {
    "fig1_risks_vs_prior": QUICK.prior_points + 3,
    "fig3_ssp_margin": 3 * QUICK.margin_points,
    "fig4_drop_regret_map": QUICK.regret_points[0] * QUICK.regret_points[1],
    "fig5_finite_samples": 2 * 3 * (len(QUICK.n_values) + 1),  # learners x allocations x (n values + limit)
    "fig6_many_classes": 2 * 3 * 10,  # densities x allocations x classes
}


def read_csv(path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def col(rows, name, **where) -> np.ndarray:
    return np.array([float(r[name]) for r in rows if all(r[k] == v for k, v in where.items())])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``droplab figures --quick`` run once, as a subprocess, into a temporary folder."""
    out = tmp_path_factory.mktemp("figures")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "gaussian_theory.cli", "figures", "--quick", "--out", str(out),
         "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    return out, elapsed, proc.stdout


def test_all_six_figures_are_registered():
    assert [f.number for f in FIGURES] == [1, 2, 3, 4, 5, 6]
    assert [f.name for f in FIGURES] == list(EXPECTED_COLUMNS)


def test_quick_run_is_quick(quick_run):
    _, elapsed, _ = quick_run
    assert elapsed < 60, f"droplab figures --quick took {elapsed:.0f} s (budget 60 s)"


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_every_file_produced_and_non_empty(quick_run, spec):
    out, _, stdout = quick_run
    for ext, magic in (("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-"), ("csv", None)):
        path = out / f"{spec.name}.{ext}"
        assert path.is_file(), f"missing {path.name}"
        assert path.stat().st_size > (2000 if ext != "csv" else 100), f"{path.name} is (nearly) empty"
        if magic:
            assert path.read_bytes()[: len(magic)] == magic
    assert spec.name in stdout


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_csv_columns_and_rows(quick_run, spec):
    out, _, _ = quick_run
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
    out, _, _ = quick_run
    readme = (out / "README.md").read_text()
    for spec in FIGURES:
        assert f"({spec.name}.png)" in readme
    assert "--quick" in readme
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    expected = {f"{s.name}.{e}" for s in FIGURES for e in ("png", "pdf", "csv")} | {"README.md"}
    assert {p.name for p in out.iterdir()} == expected


# ------------------------------------------------------------------------- numeric sanity checks
def test_fig1_worst_class_minimum_at_worst_class_optimal_prior(quick_run):
    out, _, _ = quick_run
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
    out, _, _ = quick_run
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
    out, _, _ = quick_run
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


def test_make_figures_is_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_figures(a, quick=True, only=["3"], progress=False)
    make_figures(b, quick=True, only=["3"], progress=False)
    assert (a / "fig3_ssp_margin.csv").read_bytes() == (b / "fig3_ssp_margin.csv").read_bytes()


def test_table_round_trip(tmp_path):
    t = Table.concat([Table({"x": [1.0, np.inf], "k": ["a", "b"]}), Table({"x": [np.nan], "k": ["a"]})])
    assert len(t) == 3 and t.columns == ["x", "k"]
    assert t.where(k="a")["x"].size == 2
    t.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ["x,k", "1,a", "inf,b", "nan,a"]
    with pytest.raises(ValueError, match="equal length"):
        Table({"x": [1, 2], "y": [1]})
