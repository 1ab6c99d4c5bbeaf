"""The recall model learned from runs (gaussian_theory.learned_recalls), checked against a known truth:
synthetic runs drawn from the model's own form with binomial validation noise."""

import json

import numpy as np
import pytest
from scipy.special import expit, logit

from gaussian_theory.learned_recalls import (
    expected_min_recall,
    fit_recall_model,
    imbalance_recalls,
    learned_allocation,
)
from gaussian_theory.pilot_runs import PilotRun, QueryLogits, read_pilot_runs
from gaussian_theory.recall_prediction import prior_shift_recalls

K, M = 4, 500
SIZES = np.full(K, 5000)
TRUTH = {"gamma": 1.5, "a": np.array([0.5, 0.3, 0.2, 0.4]), "b": 0.4, "c": 0.3}


@pytest.fixture(scope="module")
def query():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(K), M)
    means = np.array([[2.5, 0, 0, 0], [0, 1.5, 0.8, 0], [0, 0.8, 1.2, 0], [0, 0, 0, 2.0]])
    return QueryLogits(means[y] + rng.standard_normal((y.size, K)), y, SIZES)


def true_recalls(query, n):
    ps = np.clip(imbalance_recalls(query, n, TRUTH["gamma"]), 0.5 / (M + 1), 1 - 0.5 / (M + 1))
    own, total = np.log(np.maximum(n, 1) / SIZES), np.log(n.sum() / SIZES.sum())
    eta = TRUTH["a"] + TRUTH["b"] * own + TRUTH["c"] * total
    return expit(logit(ps) + eta)


def pilot(query, n, seed):
    r = np.random.default_rng(seed).binomial(M, true_recalls(query, n)) / M
    return PilotRun(n, r, np.full(K, M), query, seed=seed)


@pytest.fixture(scope="module")
def pilots(query):
    """Uniform pilots at two densities (two seeds each) and one staircase per class (one class at 600
    among classes at 3000)."""
    counts = [(d * SIZES).astype(int) for d in (0.3, 0.6) for _ in range(2)]
    counts += [np.where(np.arange(K) == k, 600, 3000) for k in range(K)]
    return [pilot(query, n, seed) for seed, n in enumerate(counts, start=1)]


HELD_OUT = [np.array([1000, 2500, 3500, 3000]), np.array([2000, 2000, 2000, 2000]),
            np.array([400, 4000, 4000, 1600]), np.array([3000, 1200, 2800, 1000])]


def test_with_no_runs_the_model_is_the_prior_shift(query):
    m = fit_recall_model([], query)
    assert m.gamma == 1.0 and not m.theta.any() and m.n_runs == 0
    for n in HELD_OUT:
        np.testing.assert_array_equal(m.point(n), prior_shift_recalls(query.logits, query.labels, n / SIZES))
    # its interval is the binomial error of one validation recall
    f = m.predict(HELD_OUT[0])
    assert np.all(f.lower <= f.recalls) and np.all(f.recalls <= f.upper)


def test_fitted_on_pilots_it_predicts_held_out_allocations(query, pilots):
    m = fit_recall_model(pilots, n_boot=50, seed=0)
    prior_shift = fit_recall_model([], query)
    err, err0, covered = [], [], 0
    for n in HELD_OUT:
        truth = true_recalls(query, n)
        f = m.predict(n)
        err.append(np.abs(f.recalls - truth))
        err0.append(np.abs(prior_shift.point(n) - truth))
        covered += int(np.sum((f.lower <= truth) & (truth <= f.upper)))
    # far better than the prior shift alone, to within the validation noise (binomial SE ~0.022 at M=500)
    assert np.mean(err) < 0.03 < np.mean(err0)
    assert covered >= 0.8 * len(HELD_OUT) * K   # the 95% intervals cover the truth
    # the steeper-than-prior-shift imbalance is detected
    assert m.gamma > 1.0


def test_fit_is_deterministic(pilots):
    a = fit_recall_model(pilots, n_boot=10, seed=3)
    b = fit_recall_model(pilots, n_boot=10, seed=3)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert a.gamma == b.gamma and all(ga == gb and np.array_equal(ta, tb)
                                      for (ga, ta), (gb, tb) in zip(a.boot, b.boot))


def test_learned_allocation_is_exact_and_beats_independent_starts(query, pilots):
    m = fit_recall_model(pilots, n_boot=30, seed=0)
    out = learned_allocation(m, 0.5, min_count=100, n_draws=500, seed=0)
    c = out["counts"]
    assert c.dtype.kind == "i" and c.sum() == 10_000 and np.all(c >= 100) and np.all(c <= SIZES)
    # judged on fresh draws, against random feasible allocations as independent starts
    fresh = np.random.default_rng(12345).standard_normal((4000, K))
    best = expected_min_recall(m.predict, c, fresh)
    rng = np.random.default_rng(7)
    for _ in range(10):
        w = rng.dirichlet(np.ones(K))
        other = np.floor(w * 10_000).astype(int)
        other[np.argmax(other)] += 10_000 - other.sum()
        if np.all(other <= SIZES) and np.all(other >= 100):
            assert best >= expected_min_recall(m.predict, other, fresh) - 1e-9
    # and on the truth it lifts the worst class over uniform pruning
    assert true_recalls(query, c).min() > true_recalls(query, SIZES // 2).min() + 0.05


def test_bad_inputs_are_named(query):
    with pytest.raises(ValueError, match="counts must be 4 integers"):
        PilotRun([1, 2, 3], [0.5] * 4, [10] * 4, query)
    with pytest.raises(ValueError, match="recalls must be 4 numbers in"):
        PilotRun([1, 2, 3, 4], [0.5, 0.5, 0.5, 1.5], [10] * 4, query)
    with pytest.raises(TypeError, match="PilotRun"):
        fit_recall_model([{"counts": [1, 2, 3, 4]}], query)
    with pytest.raises(ValueError, match="pass the query model"):
        fit_recall_model([])
    m = fit_recall_model([], query)
    with pytest.raises(ValueError, match="counts must be 4 integers"):
        m.predict([6000, 1, 1, 1])
    with pytest.raises(ValueError, match="class_sizes has 3 entries"):
        QueryLogits(query.logits, query.labels, [5, 5, 5])


def test_read_pilot_runs_from_run_jsons(tmp_path, query, pilots):
    (tmp_path / "query_logits").mkdir()
    np.savez(tmp_path / "query_logits" / "cifar10_smallcnn_random_s0_abc123.npz", val_logits=query.logits,
             val_labels=query.labels)
    cfg = {"dataset": "cifar10", "model": "smallcnn", "recipe": "fast", "epochs": 8, "score": "random",
           "quota": "none", "density": 0.5}
    labels = np.repeat(np.arange(K), M)

    def run_json(p, config):
        return json.dumps({
            "status": "done", "seed": 0, "method": "Random", "config": config,
            "dataset": {"class_sizes": SIZES.tolist()}, "selection": {"class_counts": p.counts.tolist()},
            "final": {"val": {"recalls": p.recalls.tolist(), "labels": labels.tolist()}}})

    for i, p in enumerate(pilots[:3]):
        # the allocation fields differ from run to run (pilots: explicit counts and labels), and a run
        # recorded before a field existed lacks it: one training configuration all the same
        alloc = {"quota": "counts", "class_counts": p.counts.tolist(), "counts_label": f"Pilot-{i}",
                 **({"precision": "auto"} if i else {})}
        (tmp_path / f"run{i}.json").write_text(run_json(p, {**cfg, **alloc}))
    runs = read_pilot_runs(tmp_path)
    assert len(runs) == 3 and all(r.query.name.endswith("_s0_abc123.npz") for r in runs)
    # pilots in a subfolder read the query logits one folder up
    (tmp_path / "pilots").mkdir()
    (tmp_path / "pilots" / "p.json").write_text((tmp_path / "run0.json").read_text())
    (sub,) = read_pilot_runs(tmp_path / "pilots")
    np.testing.assert_array_equal(sub.query.logits, runs[0].query.logits)
    np.testing.assert_array_equal(runs[1].counts, pilots[1].counts)
    np.testing.assert_allclose(runs[2].recalls, pilots[2].recalls)
    (tmp_path / "zz_other.json").write_text(run_json(pilots[0], {**cfg, "model": "resnet18"}))
    with pytest.raises(ValueError, match="more than one training configuration"):
        read_pilot_runs(tmp_path)
    # runs on other data (the original CIFAR-10 pixels against the JPEG copy: another data_id) never mix
    (tmp_path / "zz_other.json").write_text(run_json(pilots[0], {**cfg, "data_id": "sha256:e6216b90"}))
    with pytest.raises(ValueError, match="more than one training configuration"):
        read_pilot_runs(tmp_path)
    (tmp_path / "zz_other.json").write_text(json.dumps({"status": "done", "seed": 0, "config": cfg,
                                                          "final": {}}))
    with pytest.raises(ValueError, match="zz_other.json.*lacks"):
        read_pilot_runs(tmp_path)


def test_seeds_of_every_kind_are_used(pilots):
    # a numpy integer is the same seed as the int; a Generator gives its own draws (not seed 0's)
    a = fit_recall_model(pilots, n_boot=5, seed=5)
    b = fit_recall_model(pilots, n_boot=5, seed=np.int64(5))
    c = fit_recall_model(pilots, n_boot=5, seed=0)
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a.boot, b.boot))
    assert not all(np.array_equal(x, y) for (_, x), (_, y) in zip(a.boot, c.boot))
    m = fit_recall_model(pilots, n_boot=5, seed=0)
    o1 = learned_allocation(m, 0.5, n_draws=50, seed=np.random.default_rng(1))["objective"]
    o0 = learned_allocation(m, 0.5, n_draws=50, seed=0)["objective"]
    assert o1 != o0
