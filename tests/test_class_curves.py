"""`empirical.class_curves` and `droplab empirical class-curves`: each class's gain per doubling of its
kept samples, measured on runs, and what DRoP did to each class.

Independent checks: runs built from known learning curves (recall = b_k + s_k log2 n_k + c log2 n, plus
seeded noise of SD 0.01) must give back s_k, within a tolerance set by the least-squares standard error
of that design; the effect's doublings and paired changes are recomputed by hand from the runs' counts
and recalls (scipy's t quantile); the figure's bins against a direct mean.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from empirical.class_curves import class_curves, format_class_curves
from empirical.class_curves_figure import binned_curve

NAMES = ["cat", "dog", "ship", "frog"]
SIZES = np.array([400, 400, 400, 400])
SLOPES = np.array([0.12, 0.05, 0.02, 0.08])
BASE = np.array([-0.1, 0.4, 0.7, 0.2])   # recalls stay inside (0, 1) on this design: no clipping
TOTAL = -0.02
QUERY = [0.55, 0.80, 0.95, 0.70]
NOISE = 0.01
CONFIG = {"dataset": "toy", "data_dir": "/data", "model": "mlp", "score": "random", "quota": "none",
          "rule": "paper", "alpha": 1.0, "recipe": "fast", "epochs": 5, "device": "cpu", "min_per_class": 0}


def _recalls(counts, rng):
    y = BASE + SLOPES * np.log2(np.maximum(counts, 1)) + TOTAL * np.log2(counts.sum())
    y = y + rng.normal(0.0, NOISE, size=y.shape)
    return np.where(counts > 0, np.clip(y, 0.0, 1.0), 0.0)


def _run(method, quota, density, seed, counts, rng, floor=0, label=None):
    counts = np.asarray(counts)
    rec = _recalls(counts, rng).round(6).tolist()
    cfg = {**CONFIG, "quota": quota, "density": density, "seed": seed, "min_per_class": floor}
    if label:
        cfg.update(counts_label=label, class_counts=counts.tolist())
    test = {"accuracy": float(np.mean(rec)), "worst_class_accuracy": min(rec), "recalls": rec}
    return {"status": "done", "run_id": f"{method}_{density}_{floor}_{label}", "seed": seed, "method": method,
            "config": cfg, "dataset": {"class_names": NAMES, "class_sizes": SIZES.tolist()},
            "query": ({"query_id": f"q{seed}", "recalls": QUERY} if quota == "drop" else None),
            "selection": {"n_selected": int(counts.sum()), "class_counts": counts.tolist(),
                          "class_densities": (counts / SIZES).tolist()},
            "final": {"epochs": 5, "val": {"accuracy": 0.5, "worst_class_accuracy": 0.4}, "test": test},
            "metrics": test, "timings": {"total_s": 1.0, "final_train_s": 1.0}}


def _drop_counts(density):
    w = 1.0 - np.asarray(QUERY)
    return np.round(density * SIZES.sum() * w / w.sum()).astype(int)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(7)
    runs = []
    pilots = [[40, 40, 40, 40], [200, 40, 40, 40], [40, 200, 40, 40], [40, 40, 200, 40], [40, 40, 40, 200],
              [120, 60, 30, 150]]
    for seed in range(6):
        for d in (0.3, 0.5):
            runs.append(_run("Random", "none", d, seed, (d * SIZES).astype(int), rng))
            runs.append(_run("Random+DRoP", "drop", d, seed, _drop_counts(d), rng))
        for j, c in enumerate(pilots):
            runs.append(_run(f"Random+Pilot-{j}", "counts", 0.1, seed, c, rng, label=f"Pilot-{j}"))
    for r in runs:
        name = f"{r['run_id']}_s{r['seed']}.json"
        (tmp_path / name).write_text(json.dumps(r))
    return tmp_path


def _design_se(folder):
    """The least-squares standard error of s_k in this design at the noise SD (the tolerance's unit)."""
    curves = class_curves(folder)
    se = []
    for k in range(4):
        x = np.column_stack([np.ones(len(curves.counts)), np.log2(curves.counts[:, k]),
                             np.log2(curves.counts.sum(axis=1))])
        se.append(NOISE * np.sqrt(np.linalg.inv(x.T @ x)[1, 1]))
    return curves, np.array(se)


def test_known_learning_curves_are_recovered_within_their_standard_error(folder):
    curves, se = _design_se(folder)
    assert curves.at_fixed_total
    # 4 standard errors: a false failure has probability about 6e-5 per class
    assert np.all(np.abs(curves.slopes - SLOPES) < 4 * se), (curves.slopes, SLOPES, se)
    lo, hi = curves.slope_intervals.T
    assert np.all(lo <= curves.slopes) and np.all(curves.slopes <= hi)
    assert np.all(hi - lo < 0.05)
    # the query error ranks the classes as their slopes do here: cat > frog > dog > ship
    assert curves.error_gain_correlation == pytest.approx(1.0)
    assert curves.n_query_models == 6 and np.allclose(curves.query_recalls, QUERY)


def test_the_same_runs_give_the_same_numbers(folder):
    a, b = class_curves(folder), class_curves(folder)
    assert np.array_equal(a.slope_intervals, b.slope_intervals)
    assert format_class_curves(a, [a.effect(0.3)]) == format_class_curves(b, [b.effect(0.3)])


def test_the_effect_is_recomputed_by_hand(folder):
    curves = class_curves(folder)
    e = curves.effect(0.3)
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    pick = {(r["method"], r["seed"]): r for r in runs if r["config"]["density"] == 0.3}
    a = np.array([pick[("Random+DRoP", s)]["metrics"]["recalls"] for s in range(6)])
    b = np.array([pick[("Random", s)]["metrics"]["recalls"] for s in range(6)])
    diff = a - b
    half = stats.t.ppf(0.975, 5) * diff.std(axis=0, ddof=1) / np.sqrt(6)
    assert np.allclose(e.measured, diff.mean(axis=0))
    assert np.allclose(e.measured_intervals, np.c_[diff.mean(0) - half, diff.mean(0) + half])
    assert np.allclose(e.doublings, np.log2(_drop_counts(0.3) / (0.3 * SIZES).astype(int)))
    assert np.allclose(e.predicted, curves.slopes * e.doublings)
    assert e.seeds == tuple(range(6)) and not e.n_deleted.any()
    a = e.agreement()
    assert a["n"] == 4 and a["mae"] == pytest.approx(np.abs(e.predicted - e.measured).mean())
    assert a["r"] == pytest.approx(np.corrcoef(e.predicted, e.measured)[0, 1])
    assert curves.shared_densities() == [0.3, 0.5]


def test_a_deleted_class_has_no_doublings_and_is_left_out_of_its_fit(tmp_path):
    rng = np.random.default_rng(3)
    for seed in range(3):
        for j, c in enumerate([[40, 40, 40, 40], [200, 40, 40, 40], [40, 200, 40, 40], [40, 40, 200, 40],
                               [40, 40, 40, 200], [100, 100, 0, 100]]):
            r = _run(f"P{j}", "counts", 0.1, seed, c, rng, label=f"P{j}")
            (tmp_path / f"p{j}_{seed}.json").write_text(json.dumps(r))
        for method, quota, c in (("Random", "none", [120] * 4), ("Random+DRoP", "drop", [200, 140, 0, 140])):
            r = _run(method, quota, 0.3, seed, c, rng)
            (tmp_path / f"{method}_{seed}.json").write_text(json.dumps(r))
    curves = class_curves(tmp_path)
    assert curves.n_fit.tolist() == [24, 24, 18, 24]
    e = curves.effect(0.3)
    assert e.n_deleted.tolist() == [0, 0, 3, 0]
    assert np.isnan(e.doublings[2]) and np.isnan(e.predicted[2]) and np.isfinite(e.doublings[[0, 1, 3]]).all()
    text = format_class_curves(curves, [e])
    assert "del. 3/3" in text and "ship: 6 runs kept none of it" in text


def test_bad_input_is_refused_by_name(folder, tmp_path):
    curves = class_curves(folder)
    with pytest.raises(ValueError, match="no 'Random\\+probit' run at density 0.3"):
        curves.effect(0.3, method="Random+probit")
    with pytest.raises(ValueError, match="density"):
        curves.effect(1.5)
    with pytest.raises(ValueError, match="floor"):
        curves.effect(0.3, floor=-1)
    other = json.loads(next(folder.glob("Random_0.3*")).read_text())
    other["config"]["epochs"] = 20
    other["run_id"] = "other"
    (folder / "other.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match="different training configurations.*epochs"):
        class_curves(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no finished run"):
        class_curves(empty)


def test_runs_with_two_floors_are_pooled_for_the_curves_but_not_for_the_effect(folder):
    rng = np.random.default_rng(11)
    for seed in range(6):
        for method, quota, c in (("Random+DRoP", "drop", _drop_counts(0.3) + 1),
                                 ("Random", "none", [120] * 4)):
            r = _run(method, quota, 0.3, seed, c, rng, floor=20)
            (folder / f"floor20_{method}_{seed}.json").write_text(json.dumps(r))
    curves = class_curves(folder)
    assert sorted(set(curves.floors.tolist())) == [0, 20]
    with pytest.raises(ValueError, match=r"floors \[0, 20\]"):
        curves.effect(0.3)
    assert curves.effect(0.3, floor=20).seeds == tuple(range(6))


def test_a_run_without_query_recalls_says_what_is_missing(tmp_path):
    rng = np.random.default_rng(0)
    r = _run("Random", "none", 0.3, 0, [120] * 4, rng)
    (tmp_path / "r.json").write_text(json.dumps(r))
    with pytest.raises(ValueError, match="query model's recalls"):
        class_curves(tmp_path)


def test_bins_are_means_of_the_runs_they_hold():
    counts = np.array([0, 10, 10, 20, 20, 40, 40, 80])
    recalls = np.array([0.0, 0.1, 0.3, 0.4, 0.6, 0.7, 0.9, 0.95])
    x, y = binned_curve(counts, recalls, n_bins=1)     # one bin: the mean of the runs that kept the class
    assert np.allclose(x, np.log2(counts[1:]).mean()) and np.allclose(y, recalls[1:].mean())
    x, y = binned_curve(counts, recalls, n_bins=4)
    assert x.size == y.size >= 3 and np.all(np.diff(x) > 0) and np.all(np.diff(y) > 0)
    assert binned_curve([0, 0], [0.0, 0.0])[0].size == 0


def test_the_command_writes_a_figure_and_a_table_and_reruns_byte_identical(folder, tmp_path, capsys):
    from gaussian_theory.cli import main

    out = tmp_path / "fig"
    assert main(["empirical", "class-curves", str(folder), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Random+DRoP d=0.3" in text and "gain/doubling" in text
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"class_curves_toy_mlp.{ext}" for ext in ("csv", "md", "pdf", "png")]
    caption = (out / "class_curves_toy_mlp.md").read_text()
    assert caption.startswith("### ") and "![" in caption and "takes most from ship" in caption
    rows = (out / "class_curves_toy_mlp.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[0].startswith("class,name,size,query_recall")
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["empirical", "class-curves", str(folder), "--out", str(out), "--density", "0.5"]) == 0
    assert main(["empirical", "class-curves", str(folder), "--out", str(out)]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


def test_the_committed_small_cnn_study_reads():
    """The committed CIFAR-10 small-CNN runs (in the repository): DRoP gives cat, the worst class, data
    and takes it from automobile, and the measured changes have those signs."""
    curves = class_curves("results/cifar10-smallcnn")
    e = curves.effect(0.3)
    names = list(curves.class_names)
    assert e.doublings[names.index("cat")] > 0 > e.doublings[names.index("automobile")]
    cat, car = names.index("cat"), names.index("automobile")
    assert e.measured_intervals[cat, 0] > 0 > e.measured_intervals[car, 1]
