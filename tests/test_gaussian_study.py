"""The synthetic Gaussian study: the ``--gaussian-*`` options of ``droplab empirical run`` (validated, a
default spelled out names the same run), the population the dataset is drawn from, its worst-class-optimal
densities against a brute-force search on independent draws, and the population regret of a run's
allocation (``droplab empirical gaussian-optimum`` / ``gaussian-regret``)."""

import argparse
import json

import numpy as np
import pytest

from empirical.cli_run_args import add_config_args, config_from_args
from empirical.gaussian_study import format_population_scores, optimum_file, population_scores
from empirical.small_datasets import (
    GAUSSIAN_DEFAULTS,
    gaussian_mixture,
    gaussian_options,
    make_gaussian_dataset,
)
from gaussian_theory.quota_rules import read_allocation_file


def _args(argv):
    p = argparse.ArgumentParser()
    add_config_args(p, grid=False)
    return p.parse_args(argv)


BASE = ["--model", "mlp", "--density", "0.3", "--out", "x"]


# ----------------------------------------------------------------------------- the options
def test_a_default_spelled_out_is_dropped_so_the_run_keeps_its_name():
    assert gaussian_options(num_classes=4, dim=8, separation=3, std_ratio=2.0, n_train_per_class=200,
                            n_test_per_class=None) == {}
    assert gaussian_options(n_train_per_class=2000, separation=2.5) == {"n_train_per_class": 2000,
                                                                       "separation": 2.5}
    plain = config_from_args(_args(["--dataset", "gaussian", *BASE]))
    spelled = config_from_args(_args(["--dataset", "gaussian", *BASE, "--gaussian-classes", "4",
                                      "--gaussian-std-ratio", "2"]))
    changed = config_from_args(_args(["--dataset", "gaussian", *BASE, "--gaussian-train-per-class", "50"]))
    assert plain.synthetic == spelled.synthetic == {}
    assert plain.run_id(0) == spelled.run_id(0) != changed.run_id(0)
    assert changed.synthetic == {"n_train_per_class": 50}


def test_the_defaults_are_the_dataset_s_own():
    import inspect

    signature = inspect.signature(make_gaussian_dataset).parameters
    assert {k: signature[k].default for k in GAUSSIAN_DEFAULTS} == GAUSSIAN_DEFAULTS


@pytest.mark.parametrize("given, error, words", [
    (dict(num_classes=9), ValueError, "num_classes (9) must be <= dim (8)"),
    (dict(num_classes=2.0), TypeError, "num_classes must be an int, got 2.0"),
    (dict(n_test_per_class=3), ValueError, "n_test_per_class must be >= 4, got 3"),
    (dict(separation=-1.0), ValueError, "separation must be a finite number > 0, got -1.0"),
    (dict(std_ratio=float("nan")), ValueError, "std_ratio must be a finite number > 0"),
    (dict(spread=1.0), TypeError, "unknown gaussian option(s) ['spread']"),
])
def test_bad_options_are_refused_by_name(given, error, words):
    with pytest.raises(error, match=_literal(words)):
        gaussian_options(**given)


def test_the_command_line_names_its_own_flags():
    with pytest.raises(ValueError, match=_literal("--gaussian-classes (9) must be <= --gaussian-dim (8)")):
        config_from_args(_args(["--dataset", "gaussian", *BASE, "--gaussian-classes", "9"]))
    with pytest.raises(ValueError, match="--gaussian-dim: only with --dataset gaussian, got --dataset mnist"):
        config_from_args(_args(["--dataset", "mnist1d", *BASE, "--gaussian-dim", "3"]))


def _literal(text):
    import re

    return re.escape(text)


# ----------------------------------------------------------------------------- the population
def test_the_population_is_the_one_the_dataset_is_drawn_from():
    syn = dict(num_classes=3, dim=5, separation=2.0, std_ratio=1.5, n_train_per_class=7)
    gm = gaussian_mixture(**syn)
    ds = make_gaussian_dataset(**syn)
    assert np.array_equal(gm.means, ds.meta["means"]) and np.allclose(gm.stds, ds.meta["stds"])
    assert np.allclose(gm.priors, 1 / 3)
    assert set(GAUSSIAN_DEFAULTS) >= set(syn) - {"seed"}


def test_the_optimum_beats_a_brute_force_search_on_independent_draws():
    """K = 2 (exact risks, no Monte Carlo): every split of the budget between the two classes on a grid
    of 121 points; the optimiser (water-filling of the minimax priors, a root search) finds no worse a
    worst class than the grid's best, and lies within the grid step of it. The multi-class Monte Carlo
    solver is checked against independent starts and fresh draws in tests/test_minimax.py."""
    syn = dict(num_classes=2, dim=2, separation=3.0, std_ratio=2.0)
    gm = gaussian_mixture(**syn)
    d = 0.3
    opt = optimum_file(d, syn, seed=0)
    grid = np.linspace(0.0, 2 * d, 121)                        # d_0 in [0, 2d], d_1 = 2d - d_0 <= 1
    worst = [gm.pruned_risks([a, 2 * d - a]).worst for a in grid]
    best = int(np.argmin(worst))
    at_opt = gm.pruned_risks(opt["densities"])
    assert at_opt.method == "exact"
    assert at_opt.worst <= worst[best] + 1e-12
    assert abs(opt["densities"][0] - grid[best]) <= grid[1] - grid[0]
    assert np.isclose(np.mean(opt["densities"]), d)             # the budget is spent exactly
    assert opt["densities"][0] < d < opt["densities"][1]        # the wide class gets more



def test_the_optimum_file_is_an_allocation_file(tmp_path):
    doc = optimum_file(0.5, {"num_classes": 3, "dim": 3}, n_mc=20_000)
    f = tmp_path / "opt.json"
    f.write_text(json.dumps(doc))
    alloc = read_allocation_file(str(f), "--counts")
    assert alloc["label"] == "Optimum" and np.allclose(alloc["densities"], doc["densities"])


# ----------------------------------------------------------------------------- population regret
def _run(method, densities, density=0.3, seed=0, dataset="gaussian", synthetic=None, worst=0.8):
    return {"status": "done", "method": method, "seed": seed,
            "config": {"dataset": dataset, "density": density, "synthetic": synthetic or {}},
            "selection": {"class_densities": list(densities)}, "metrics": {"worst_class_accuracy": worst}}


def test_population_regret_is_zero_at_the_optimum_and_the_theory_s_gap_elsewhere():
    opt = optimum_file(0.3, seed=0)
    gm = gaussian_mixture()
    runs = [_run("Random+Optimum", opt["densities"]), _run("Random+Uniform", [0.3] * 4, worst=0.7),
            _run("Random", [0.3] * 4, dataset="mnist1d")]
    scores = population_scores(runs, n_mc=100_000)
    assert [s.method for s in scores] == ["Random+Optimum", "Random+Uniform"]     # mnist1d skipped
    o, u = scores
    assert abs(o.regret) <= 3 * o.se
    uniform = gm.pruned_risks([0.3] * 4, n_mc=100_000, seed=0).worst
    assert u.regret == pytest.approx(uniform - (1 - o.optimum_worst))
    assert u.regret > 10 * u.se                              # the uniform allocation is far from optimal
    text = format_population_scores(scores)
    assert "Random+Uniform" in text and "d = 0.3" in text and f"{u.regret:+.4f}" in text


def test_population_regret_refuses_a_folder_without_gaussian_runs():
    with pytest.raises(ValueError, match="no finished run on the gaussian dataset among 1 run"):
        population_scores([_run("Random", [0.3] * 4, dataset="mnist1d")])


def test_the_commands_write_an_allocation_that_trains(tmp_path):
    """``gaussian-optimum --out`` writes a --counts file; a tiny run trains it; ``gaussian-regret`` scores
    that run (population regret near 0)."""
    pytest.importorskip("torch")
    from gaussian_theory.cli import main

    opt = tmp_path / "opt.json"
    tiny = ["--gaussian-train-per-class", "40", "--gaussian-test-per-class", "8"]
    assert main(["empirical", "gaussian-optimum", "--density", "0.5", *tiny, "--n-mc", "20000",
                 "--out", str(opt)]) == 0
    doc = json.loads(opt.read_text())
    assert doc["synthetic"] == {"n_train_per_class": 40, "n_test_per_class": 8}
    out = tmp_path / "runs"
    assert main(["empirical", "run", "--dataset", "gaussian", *tiny, "--model", "linear", "--density", "0.5",
                 "--quota", "counts", "--counts", str(opt), "--epochs", "1", "--device", "cpu",
                 "--out", str(out), "--no-progress"]) == 0
    (run,) = [json.loads(f.read_text()) for f in out.glob("*.json")]
    assert run["method"] == "Random+Optimum" and run["config"]["synthetic"] == doc["synthetic"]
    assert np.allclose(run["selection"]["class_densities"], doc["densities"], atol=1 / 40)
    assert main(["empirical", "gaussian-regret", str(out), "--n-mc", "20000"]) == 0
