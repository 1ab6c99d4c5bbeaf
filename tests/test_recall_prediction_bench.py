"""bench/recall_prediction_check.py --plot: the figure's points and files, on synthetic rows.

The reference values are computed by hand here: the change is (allocation - uniform) of the predicted and of
the measured recalls, the predicted worst class is min(measured uniform + predicted change), and the title's
slope is the least-squares slope through 0 (sum xy / sum xx).
"""

import importlib.util
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "recall_prediction_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("recall_prediction_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def synthetic_rows(rng):
    rows = defaultdict(list)
    for key in ("prior-shift", "surrogate", "finite", "no-change"):
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
    mod = load_script()
    rows = synthetic_rows(np.random.default_rng(0))
    names = ["uniform", "DRoP", "minimax", "probit"]
    points = mod.plot_points(rows, ["a", "b", "c"])
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

    stats = mod.plot(rows, names, tmp_path / "out", ["a", "b", "c"])
    # rule-based measured change = 1.5 x predicted exactly: r = 1, slope 1.5
    assert stats["finite"]["pearson_rule"] == pytest.approx(1.0)
    assert stats["finite"]["slope_rule"] == pytest.approx(1.5)
    assert stats["finite"]["n_rule"] == 2 * 2 * 3
    for ext in ("png", "pdf"):
        assert (tmp_path / "out" / f"recall_prediction.{ext}").stat().st_size > 10_000
    lines = (tmp_path / "out" / "recall_prediction.csv").read_text().splitlines()
    assert lines[0] == "quantity,predictor,allocation,rule_based,seed,density,class,predicted,measured"
    assert len(lines) == 1 + len(points)
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind
