"""``droplab empirical check-predictions``: :mod:`empirical.prediction_check` and its figure
(:mod:`empirical.prediction_figure`), on a synthetic folder of runs and on synthetic rows.

The reference values are computed by hand here: the change is (allocation - uniform) of the predicted and of
the measured recalls, the predicted worst class is min(measured uniform + predicted change), and the
slope is the least-squares slope through 0 (sum xy / sum xx).
"""

import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from _synthetic_runs import CLASS_NAMES, write_study

from empirical.cli_analyses import main
from empirical.prediction_check import (
    PREDICTORS,
    allocation_name,
    check_predictions,
    format_check,
    kept_densities,
    predictor_table,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Seeds 0 and 1 at d = 0.5: Random, DRoP, DRoP(a=0.7), probit, minimax and learned counts."""
    return write_study(tmp_path_factory.mktemp("runs"), seeds=(0, 1), pilots=False)


@pytest.fixture(scope="module")
def check(study):
    return check_predictions(study, trials=2)


def test_allocation_names_and_kept_densities():
    assert allocation_name({"score": "random", "quota": "none"}) == "uniform"
    assert allocation_name({"score": "random", "quota": "drop", "alpha": 0.7}) == "DRoP(a=0.7)"
    assert allocation_name({"score": "random", "quota": "drop", "alpha": None}) == "DRoP"
    assert allocation_name({"score": "random", "quota": "probit", "alpha": 0.5}) == "probit(a=0.5)"
    assert allocation_name({"score": "el2n", "quota": "drop"}) is None
    # two count files of one seed and density (the learned allocation and the Gaussian optimum) stay two
    assert allocation_name({"score": "random", "quota": "counts", "counts_label": "Learned"}) == "Learned"
    assert allocation_name({"score": "random", "quota": "counts", "counts_label": "Optimum"}) == "Optimum"
    assert allocation_name({"score": "random", "quota": "counts", "counts_label": None}) == "counts"
    run = {"dataset": {"class_sizes": [100, 200]}, "config": {"density": 0.5},
           "selection": {"class_counts": [10, 150]}, "quota": {"counts": [50, 100]}}
    np.testing.assert_allclose(kept_densities(run), [0.1, 0.75])            # the realised counts first
    del run["selection"]
    np.testing.assert_allclose(kept_densities(run), [0.5, 0.5])             # then the quota's
    del run["quota"]
    np.testing.assert_allclose(kept_densities(run), [0.5, 0.5])             # then uniform


def test_check_on_a_synthetic_folder(check, study):
    assert check.names == ["uniform", "DRoP", "DRoP(a=0.7)", "counts", "minimax", "probit"]
    assert check.class_names == CLASS_NAMES and check.title == "Gaussian mixture MLP"
    assert check.query_dir == study / "query_logits" and len(check.log) == 2
    # one row per predictor, seed and allocation; the measured recalls are the runs' test recalls
    assert all(len(check.rows[k]) == 2 * 6 for k in PREDICTORS)
    row = next(r for r in check.rows["prior-shift"] if r["alloc"] == "DRoP" and r["seed"] == 1)
    run = json.loads((study / "random_drop_d0.5_s1.json").read_text())
    np.testing.assert_allclose(row["meas"], run["metrics"]["recalls"])
    # no-change: zero predicted change, so its baseline MAE is the mean measured change and no correlation
    table = {t["predictor"]: t for t in predictor_table(check.rows)}
    moved = [r for r in check.rows["no-change"] if r["alloc"] != "uniform"]
    dm = np.concatenate([r["meas"] - r["meas_u"] for r in moved])
    assert table["no-change"]["mae_base"] == pytest.approx(np.abs(dm).mean())
    assert table["no-change"]["pearson"] is None and table["no-change"]["n"] == dm.size == 2 * 5 * 4
    # the prior shift is what generated the synthetic recalls: it tracks the change, with the right slope
    dp = np.concatenate([r["pred"] - r["pred_u"] for r in check.rows["prior-shift"]
                         if r["alloc"] != "uniform"])
    assert table["prior-shift"]["slope"] == pytest.approx(dp @ dm / (dp @ dp))
    assert table["prior-shift"]["pearson"] > 0.9 and 0.8 < table["prior-shift"]["slope"] < 1.3
    assert table["prior-shift"]["mae_base"] < table["no-change"]["mae_base"] / 3
    # the noise floor: the seed-to-seed SD of the Random runs' recalls
    uni = [r["meas"] for r in check.rows["finite"] if r["alloc"] == "uniform"]
    assert check.noise == pytest.approx(np.std(uni, axis=0, ddof=1).mean())


def test_format_check_sections(check):
    text = format_check(check)
    assert text.startswith(f"runs: {check.results}; query caches: {check.query_dir}\n")
    for title in ("all allocations", "rule-based allocations only", "minimax (changes relative to uniform",
                  "noise: seed-to-seed sd", "per allocation (mean over seeds)", "per class change"):
        assert title in text
    assert text.count("\nno-change   ") == 2 + 5      # all, rule-based, one block per allocation
    line = next(s for s in text.splitlines() if s.startswith("minimax  ") and "   2 " in s)
    meas = np.mean([r["meas"].min() for r in check.rows["finite"] if r["alloc"] == "minimax"])
    assert f"{meas:.3f}" in line


def test_without_minimax_there_is_no_rule_based_block(study, tmp_path):
    shutil.copytree(study, tmp_path / "runs", ignore=shutil.ignore_patterns("*minimax*"))
    text = format_check(check_predictions(tmp_path / "runs", trials=1))
    assert "rule-based allocations only" not in text and "\nminimax " not in text


def test_clear_errors_on_folders_without_what_is_needed(study, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        check_predictions(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no \(seed, density\) in '.*empty' with both a finished Random"):
        check_predictions(tmp_path / "empty")
    only_random = tmp_path / "random"
    shutil.copytree(study / "query_logits", only_random / "query_logits")
    for f in study.glob("random_d0*.json"):             # the Random runs only
        shutil.copy(f, only_random)
    with pytest.raises(ValueError, match="with both a finished Random run"):
        check_predictions(only_random)
    with pytest.raises(ValueError, match="no query logits folder .*nowhere.*pass --query DIR"):
        check_predictions(study, tmp_path / "nowhere")
    (tmp_path / "other_logits").mkdir()
    with pytest.raises(ValueError, match="none of the query models .* validation logits in .*other_logits"):
        check_predictions(study, tmp_path / "other_logits")


def test_the_command_prints_the_report(study, capsys):
    assert main(["check-predictions", str(study), "--trials", "1", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out == format_check(check_predictions(study, trials=1, seed=3))
    with pytest.raises(SystemExit):
        main(["check-predictions", str(study), "--trials", "0"])


@pytest.mark.slow  # the whitenet-256 study: about 30 s
def test_the_readme_numbers_of_the_whitenet_256_study():
    """README ("The recall predictions track the measured changes"): 270 changes; the prior shift's
    correlation 0.90, slope 1.14, MAE base 0.017 against 0.035 for no change, MAE direct 0.025 against
    0.036; DRoP's worst class predicted 0.771, measured 0.787 (the prior shift needs no Monte Carlo)."""
    c = check_predictions(RESULTS / "cifar10-whitenet-256", trials=1)
    t = {r["predictor"]: r for r in predictor_table(c.rows)}
    assert t["prior-shift"]["n"] == 270
    assert (round(t["prior-shift"]["pearson"], 2), round(t["prior-shift"]["slope"], 2)) == (0.90, 1.14)
    assert round(t["prior-shift"]["mae_base"], 3) == 0.017 and round(t["no-change"]["mae_base"], 3) == 0.035
    assert round(t["prior-shift"]["mae_direct"], 3) == 0.025
    assert round(t["no-change"]["mae_direct"], 3) == 0.036
    drop = [r for r in c.rows["prior-shift"] if r["alloc"] == "DRoP"]
    assert round(np.mean([(r["meas_u"] + r["pred"] - r["pred_u"]).min() for r in drop]), 3) == 0.771
    assert round(np.mean([r["meas"].min() for r in drop]), 3) == 0.787


# ----------------------------------------------------------------------------- the figure
def synthetic_rows(rng):
    rows = defaultdict(list)
    for key in PREDICTORS:
        for seed in (0, 1):
            pred_u, meas_u = rng.uniform(0.5, 0.9, 3), rng.uniform(0.5, 0.9, 3)
            for alloc in ("uniform", "DRoP", "probit", "minimax"):
                shift = np.zeros(3) if alloc == "uniform" else rng.normal(0, 0.05, 3)
                pred = pred_u + shift
                meas = meas_u + (1.5 * shift if alloc != "minimax" else -0.5 + shift)
                rows[key].append({"alloc": alloc, "seed": seed, "density": 0.5, "pred": pred,
                                  "pred_u": pred_u, "meas": meas, "meas_u": meas_u})
    return rows


@pytest.mark.slow  # ~6 s: two 14 x 14.5 in figures
def test_plot_points_and_files(tmp_path):
    pytest.importorskip("matplotlib")
    from empirical.prediction_figure import format_figure_stats, plot, plot_points

    rows = synthetic_rows(np.random.default_rng(0))
    names = ["uniform", "DRoP", "minimax", "probit"]
    points = plot_points(rows, ["a", "b", "c"])
    change = [p for p in points if p["quantity"] == "recall_change"]
    worst = [p for p in points if p["quantity"] == "worst_class_recall"]
    # 3 predictors x 2 seeds x 3 non-uniform allocations x 3 classes; worst: 3 x 2 x 4 allocations
    assert len(change) == 54 and len(worst) == 24
    r = rows["finite"][1]  # seed 0, DRoP
    mine = [p for p in change if p["predictor"] == "finite" and p["seed"] == 0 and p["allocation"] == "DRoP"]
    assert [p["class"] for p in mine] == ["a", "b", "c"]
    np.testing.assert_allclose([p["predicted"] for p in mine], r["pred"] - r["pred_u"])
    np.testing.assert_allclose([p["measured"] for p in mine], r["meas"] - r["meas_u"])
    w = next(p for p in worst if p["predictor"] == "finite" and p["seed"] == 0 and p["allocation"] == "DRoP")
    assert w["predicted"] == pytest.approx(min(r["meas_u"] + r["pred"] - r["pred_u"]))
    assert w["measured"] == pytest.approx(min(r["meas"]))

    fig = plot(rows, names, tmp_path / "out", ["a", "b", "c"], title="Synthetic")
    stats = fig["stats"]
    # rule-based measured change = 1.5 x predicted exactly: r = 1, slope 1.5
    assert stats["finite"]["pearson_rule"] == pytest.approx(1.0)
    assert stats["finite"]["slope_rule"] == pytest.approx(1.5)
    assert stats["finite"]["n_rule"] == 2 * 2 * 3
    for ext in ("png", "pdf"):
        assert (tmp_path / "out" / f"recall_prediction.{ext}").stat().st_size > 10_000
    lines = (tmp_path / "out" / "recall_prediction.csv").read_text().splitlines()
    assert lines[0] == "quantity,predictor,allocation,rule_based,seed,density,class,predicted,measured"
    assert len(lines) == 1 + len(points) == 1 + fig["n_points"]
    assert fig["files"] == [tmp_path / "out" / f"recall_prediction.{e}" for e in ("png", "pdf", "csv")]
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind
    text = format_figure_stats(fig)
    assert f"wrote {tmp_path / 'out' / 'recall_prediction.csv'} ({len(points)} rows)" in text
    assert "  finite       rule-based: r = 1.00, slope 1.50, n = 12;" in text


@pytest.mark.slow  # ~8 s: the report and one figure
def test_the_command_writes_the_figure(study, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["check-predictions", str(study), "--trials", "1", "--plot", str(tmp_path / "fig")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'fig' / 'recall_prediction.png'}" in out
    csv = (tmp_path / "fig" / "recall_prediction.csv").read_text().splitlines()
    # 3 predictors x 2 seeds x (5 allocations x 4 classes of changes + 6 worst classes)
    assert len(csv) == 1 + 3 * 2 * (5 * 4 + 6)
    assert any(",ant," in line for line in csv)
