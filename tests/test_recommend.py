"""The recommendation made before training (gaussian_theory.recommend; `droplab allocate --logits`).

Checked against a brute-force reading of the same predictions: the recommended allocation is the one whose
smallest predicted recall is the largest, among those within the accuracy cap.
"""

import json

import numpy as np
import pytest

from gaussian_theory.own_data import allocate_from_logits
from gaussian_theory.recommend import predicted_tradeoff, recommend


def _result(rows: dict) -> dict:
    return {"allocations": {k: {"predicted": {"prior_shift": v, "finite_sample": v[::-1]}}
                            for k, v in rows.items()}}


def _logits(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 80)
    z = rng.standard_normal((320, 4)) + np.array([3, 2, 1.2, 0.6])[y, None] * np.eye(4)[y]
    return z, y


def test_the_recommendation_is_the_brute_force_maximin_of_the_predictions():
    z, y = _logits()
    res = allocate_from_logits(z, y, 0.3, class_sizes=[500, 500, 500, 100], trials=4, n_mc=4000, n_eval=2000)
    for predictor in ("prior_shift", "finite_sample"):
        for cap in (None, 0.0, 0.01, 0.05):
            rec = recommend(res, predictor=predictor, max_accuracy_loss=cap)
            preds = {a: np.asarray(v["predicted"][predictor]) for a, v in res["allocations"].items()}
            base = preds["Uniform"].mean()
            ok = {a: p for a, p in preds.items()
                  if a == "Uniform" or cap is None or base - p.mean() <= cap + 1e-12}
            best = max(p.min() for p in ok.values())
            assert preds[rec["recommended"]].min() == best
            assert rec["recommended"] in ok
            assert {r["allocation"] for r in rec["table"] if r["eligible"]} == set(ok)


def test_ties_go_to_the_higher_mean_then_the_earlier_allocation():
    res = _result({"Uniform": [0.5, 0.9], "A": [0.5, 0.95], "B": [0.5, 0.95]})
    assert recommend(res)["recommended"] == "A"
    assert recommend(_result({"Uniform": [0.5, 0.9], "A": [0.5, 0.9]}))["recommended"] == "Uniform"


def test_an_allocation_that_deletes_a_class_is_not_recommended():
    # a deleted class is predicted recall 0 (prior shift: log 0 = -inf), so any rule keeping every class wins
    res = _result({"Uniform": [0.9, 0.4, 0.8], "DRoP": [0.0, 0.8, 0.9]})
    rec = recommend(res)
    assert rec["recommended"] == "Uniform" and "0.400" in rec["reason"]


def test_the_cap_keeps_the_baseline_eligible_and_is_reported():
    res = _result({"Uniform": [0.9, 0.6, 0.8], "DRoP": [0.85, 0.7, 0.7]})
    assert recommend(res)["recommended"] == "DRoP"
    capped = recommend(res, max_accuracy_loss=0.01)
    assert capped["recommended"] == "Uniform" and "at most 0.01" in capped["reason"]
    row = {r["allocation"]: r for r in capped["table"]}
    assert row["DRoP"]["accuracy_loss"] == pytest.approx(0.05 / 3) and not row["DRoP"]["eligible"]


@pytest.mark.parametrize("kwargs, match", [
    ({"predictor": "oracle"}, "predictor must be one of"),
    ({"max_accuracy_loss": -0.1}, "max_accuracy_loss"),
    ({"max_accuracy_loss": float("nan")}, "max_accuracy_loss"),
    ({"baseline": "Random"}, "baseline must be one of"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recommend(_result({"Uniform": [0.5, 0.6]}), **kwargs)


def test_results_without_predictions_are_refused():
    with pytest.raises(ValueError, match="no predicted prior_shift recalls"):
        recommend({"allocations": {"Uniform": {"counts": [1, 2]}}})
    with pytest.raises(ValueError, match="allocate_from_logits' result"):
        recommend({"allocations": {}})
    with pytest.raises(ValueError, match="allocate_from_logits' result"):
        recommend([0.5, 0.6])


def test_the_command_prints_and_writes_the_recommendation(tmp_path, capsys):
    from gaussian_theory.cli import main

    z, y = _logits(1)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "t.npy", np.repeat(np.arange(4), [500, 500, 500, 100]))
    out = tmp_path / "alloc.json"
    args = ["allocate", "--logits", str(tmp_path / "z.npy"), "--labels", str(tmp_path / "y.npy"),
            "--train-labels", str(tmp_path / "t.npy"), "--density", "0.3", "--trials", "2",
            "--max-accuracy-loss", "0.02", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "recommended before training" in text and "at most 0.02" in text
    saved = json.loads(out.read_text())
    rec = saved["recommendation"]
    assert rec["recommended"] in saved["allocations"] and rec["max_accuracy_loss"] == 0.02
    assert text.count("-> ") == 1 and f"-> {rec['recommended']}" in text
    assert "predicted trade-off" in text
    assert set(saved["tradeoff"]) == {"prior_shift", "finite_sample"}
    assert [r["allocation"] for r in saved["tradeoff"]["prior_shift"]] == list(saved["allocations"])


def test_the_trade_off_intervals_are_the_binomial_ones_of_the_validation_sample():
    """Against an independent implementation (scipy's Wilson interval) and the normal formula by hand."""
    from scipy.stats import binomtest, norm

    res = _result({"Uniform": [0.9, 0.6, 0.75], "DRoP": [0.8, 0.75, 0.7]})
    res["val_class_counts"] = [100, 80, 120]
    rows = predicted_tradeoff(res)
    for row, r in zip(rows, ([0.9, 0.6, 0.75], [0.8, 0.75, 0.7])):
        r = np.array(r)
        n = np.array([100, 80, 120])
        k = int(np.argmin(r))
        ci = binomtest(int(round(r[k] * n[k])), int(n[k])).proportion_ci(method="wilson")
        assert (row["worst_class"], row["worst_recall"]) == (k, r[k])
        assert row["worst_low"] == pytest.approx(ci.low, abs=1e-12)
        assert row["worst_high"] == pytest.approx(ci.high, abs=1e-12)
        half = norm.ppf(0.975) * np.sqrt(np.sum(r * (1 - r) / n)) / 3
        assert row["mean_low"] == pytest.approx(r.mean() - half)
        assert row["mean_high"] == pytest.approx(r.mean() + half)
        assert row["worst_low"] <= row["worst_recall"] <= row["worst_high"]
    assert predicted_tradeoff(res, predictor="finite_sample")[1]["worst_class"] == 0   # reversed rows
    narrow = predicted_tradeoff(res, level=0.5)[0]
    assert narrow["worst_high"] - narrow["worst_low"] < rows[0]["worst_high"] - rows[0]["worst_low"]


@pytest.mark.parametrize("counts, match", [(None, "val_class_counts"), ([100, 0, 100], "val_class_counts"),
                                           ([100, 100], "val_class_counts")])
def test_the_trade_off_refuses_missing_validation_counts(counts, match):
    res = _result({"Uniform": [0.9, 0.6, 0.75]})
    if counts is not None:
        res["val_class_counts"] = counts
    with pytest.raises(ValueError, match=match):
        predicted_tradeoff(res)
    res["val_class_counts"] = [100, 100, 100]
    with pytest.raises(ValueError, match="level"):
        predicted_tradeoff(res, level=1.0)


def test_the_command_draws_the_trade_off(tmp_path, capsys):
    from gaussian_theory.cli import main

    z, y = _logits(2)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    base = ["allocate", "--logits", str(tmp_path / "z.npy"), "--labels", str(tmp_path / "y.npy"),
            "--density", "0.3", "--trials", "2"]
    plot = tmp_path / "trade.png"
    assert main([*base, "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {plot}" in capsys.readouterr().out
    assert main([*base, "--plot", str(tmp_path / "trade.txt")]) == 2
    assert "--plot" in capsys.readouterr().err and not (tmp_path / "trade.txt").exists()
    assert main([*base, "--plot", str(tmp_path / "missing" / "trade.png")]) == 2
    assert "folder does not exist" in capsys.readouterr().err


def test_the_command_refuses_recommendation_options_without_logits(capsys):
    from gaussian_theory.cli import main

    base = ["allocate", "--recalls", "0.9", "0.8", "--sizes", "100", "100", "--density", "0.5"]
    assert main([*base, "--max-accuracy-loss", "0.01"]) == 2
    assert "--max-accuracy-loss goes with --logits" in capsys.readouterr().err
    assert main([*base, "--predictor", "finite_sample"]) == 2
    assert "--predictor goes with --logits" in capsys.readouterr().err
    assert main([*base, "--plot", "trade.png"]) == 2
    assert "--plot goes with --logits" in capsys.readouterr().err


# ---------------------------------------------------------------- preferring one rule (worst_class_gains)
def _naive_gain_draws(z, y, densities, reference, n_boot, seed):
    """The same paired, class-stratified bootstrap written the slow, obvious way: resample indices."""
    from gaussian_theory.recall_prediction import prior_shift_recalls

    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(y == k) for k in range(z.shape[1])]
    out = np.empty((n_boot, len(densities)))
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(ix, ix.size) for ix in by_class])
        worst = [prior_shift_recalls(z[idx], y[idx], d).min() for d in densities.values()]
        out[b] = np.asarray(worst) - worst[list(densities).index(reference)]
    return out


def _four_allocations():
    z, y = _logits(3)
    dens = {"DRoP": [0.2, 0.3, 0.45, 0.9], "Uniform": [0.3] * 4, "Probit": [0.25, 0.3, 0.4, 0.7],
            "Same": [0.2, 0.3, 0.45, 0.9]}
    return z, y, dens


def test_the_gain_is_the_difference_of_the_predicted_worst_classes():
    from gaussian_theory.recall_prediction import prior_shift_recalls
    from gaussian_theory.recommend import worst_class_gains

    z, y, dens = _four_allocations()
    g = worst_class_gains(z, y, dens, "DRoP", n_boot=200)
    ref = prior_shift_recalls(z, y, dens["DRoP"]).min()
    for a, d in dens.items():
        assert g[a]["gain"] == pytest.approx(prior_shift_recalls(z, y, d).min() - ref, abs=1e-12)
    for a in ("DRoP", "Same"):  # paired: identical predictions never differ
        assert (g[a]["gain"], g[a]["low"], g[a]["high"], g[a]["p_not_above"]) == (0.0, 0.0, 0.0, 1.0)


def test_the_pattern_bootstrap_draws_the_same_distribution_as_resampling_indices():
    """Multinomial draws of right/wrong patterns against index resampling (another generator): the mean
    and the SD of each gain's bootstrap distribution agree within 4 standard errors of their difference
    (se of a mean sd/sqrt(n); of an SD about sd/sqrt(2n), both samples counted)."""
    from gaussian_theory.recommend import _worst_class_gain_draws

    z, y, dens = _four_allocations()
    n_fast, n_slow = 20000, 2000
    _, fast = _worst_class_gain_draws(z, y, dens, "DRoP", n_fast, np.random.default_rng(1))
    slow = _naive_gain_draws(z, y, dens, "DRoP", n_slow, seed=2)
    assert fast.shape == (n_fast, 4)
    for i in (1, 2):
        sd = slow[:, i].std(ddof=1)
        assert sd > 0.01  # a real spread, not a degenerate case
        se_mean = sd * np.sqrt(1 / n_fast + 1 / n_slow)
        se_sd = sd * np.sqrt(1 / (2 * n_fast) + 1 / (2 * n_slow))
        assert abs(fast[:, i].mean() - slow[:, i].mean()) < 4 * se_mean
        assert abs(fast[:, i].std(ddof=1) - sd) < 4 * se_sd
    assert np.all(fast[:, 3] == 0) and np.all(slow[:, 3] == 0)


def test_the_gains_are_reproducible_and_named_errors():
    from gaussian_theory.recommend import worst_class_gains

    z, y, dens = _four_allocations()
    assert worst_class_gains(z, y, dens, "DRoP", seed=5) == worst_class_gains(z, y, dens, "DRoP", seed=5)
    for kwargs, match in (({"reference": "nope"}, "reference must be one of"),
                          ({"level": 1.0}, "level"), ({"n_boot": 10}, "n_boot"),
                          ({"densities": [0.3] * 4}, "densities must be a non-empty dict")):
        args = {"densities": dens, "reference": "DRoP", **kwargs}
        with pytest.raises(ValueError, match=match):
            worst_class_gains(z, y, args.pop("densities"), args.pop("reference"), **args)


def _prefer_result(gains):
    res = _result({"DRoP": [0.8, 0.7, 0.75], "Probit": [0.78, 0.72, 0.74], "Uniform": [0.9, 0.6, 0.8]})
    return res, {"DRoP": {"gain": 0.0, "low": 0.0, "high": 0.0}, **gains,
                 "Uniform": {"gain": -0.1, "low": -0.15, "high": -0.05}}


def test_the_preferred_rule_stays_unless_a_gain_interval_lies_above_zero():
    res, gains = _prefer_result({"Probit": {"gain": 0.02, "low": -0.01, "high": 0.05}})
    assert recommend(res)["recommended"] == "Probit"  # the plain maximin takes the higher point
    rec = recommend(res, prefer="DRoP", gains=gains)
    assert rec["recommended"] == "DRoP" and "(preferred)" in rec["reason"] and "Probit" in rec["reason"]
    assert {r["allocation"]: r["gain_low"] for r in rec["table"]}["Probit"] == -0.01
    res, gains = _prefer_result({"Probit": {"gain": 0.02, "low": 0.004, "high": 0.05}})
    rec = recommend(res, prefer="DRoP", gains=gains)
    assert rec["recommended"] == "Probit" and "+0.020 [+0.004, +0.050]" in rec["reason"]


@pytest.mark.parametrize("kwargs, match", [
    ({"prefer": "nope"}, "prefer must be one of"),
    ({"prefer": "DRoP"}, "needs gains"),
    ({"prefer": "DRoP", "predictor": "finite_sample"}, "prior_shift"),
    ({"gains": {}}, "read only with prefer"),
    ({"prefer": "Probit"}, "measured against prefer"),
])
def test_prefer_errors_are_named(kwargs, match):
    res, gains = _prefer_result({"Probit": {"gain": 0.02, "low": 0.004, "high": 0.05}})
    if kwargs.get("prefer") == "Probit":
        kwargs = {**kwargs, "gains": gains}
    with pytest.raises(ValueError, match=match):
        recommend(res, **kwargs)


def test_the_command_prefers_a_rule_and_refuses_it_where_it_cannot(tmp_path, capsys):
    from gaussian_theory.cli import main

    z, y = _logits(1)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "alloc.json"
    base = ["allocate", "--logits", str(tmp_path / "z.npy"), "--labels", str(tmp_path / "y.npy"),
            "--sizes", "500", "500", "500", "100", "--density", "0.3", "--trials", "2"]
    assert main([*base, "--prefer", "DRoP", "--out", str(out)]) == 0
    assert "worst-class gain over DRoP [95%]" in capsys.readouterr().out
    rec = json.loads(out.read_text())["recommendation"]
    assert rec["prefer"] == "DRoP" and all({"gain", "gain_low", "gain_high"} <= set(r) for r in rec["table"])
    above = [r for r in rec["table"] if r["gain_low"] > 0]
    expected = max(above, key=lambda r: r["worst_recall"])["allocation"] if above else "DRoP"
    assert rec["recommended"] == expected
    for extra, match in ((["--prefer", "Nope"], "--prefer must name one of the allocations"),
                         (["--prefer", "DRoP", "--predictor", "finite_sample"], "--predictor prior_shift")):
        assert main([*base, *extra]) == 2
        assert match in capsys.readouterr().err
    assert main(["allocate", "--recalls", "0.9", "0.5", "--sizes", "10", "10", "--density", "0.5",
                 "--prefer", "DRoP"]) == 2
    assert "--prefer goes with --logits" in capsys.readouterr().err
    assert main(["allocate", "--runs", str(tmp_path), "--density", "0.5", "--prefer", "DRoP"]) == 2
    assert "--prefer goes with --logits" in capsys.readouterr().err


def test_the_gain_draws_do_not_depend_on_the_memory_bound(monkeypatch):
    import gaussian_theory.recommend as recommend_module

    z, y, dens = _four_allocations()
    whole = recommend_module.worst_class_gains(z, y, dens, "DRoP", n_boot=500, seed=3)
    monkeypatch.setattr(recommend_module, "_GAIN_DRAW_CELLS", 7)  # a few draws at a time
    assert recommend_module.worst_class_gains(z, y, dens, "DRoP", n_boot=500, seed=3) == whole


def test_resamples_are_added_while_a_gain_sits_at_the_threshold():
    """A level whose tail equals a gain's fraction at or below 0 makes the decision unsure: the resamples
    double up to max_boot; a level far from every fraction stops at n_boot."""
    from gaussian_theory.recommend import _worst_class_gain_draws, worst_class_gains

    z, y, dens = _four_allocations()
    _, diff = _worst_class_gain_draws(z, y, dens, "DRoP", 100000, np.random.default_rng(0))
    p = float(np.mean(diff[:, 2] <= 0))  # Probit
    assert 0.05 < p < 0.45
    g = worst_class_gains(z, y, dens, "DRoP", level=1 - 2 * p, n_boot=400, max_boot=6400, seed=1)
    assert g["Probit"]["n_boot"] == 6400
    assert abs(g["Probit"]["p_not_above"] - p) < 4 * np.sqrt(p * (1 - p) / 6400)
    far = worst_class_gains(z, y, dens, "DRoP", level=0.5 if p > 0.4 else 0.99, n_boot=400, max_boot=6400)
    assert far["Probit"]["n_boot"] == 400
    with pytest.raises(ValueError, match="max_boot"):
        worst_class_gains(z, y, dens, "DRoP", n_boot=400, max_boot=300)
