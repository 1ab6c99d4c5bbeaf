"""RCAP, the dynamic external baseline (datacull's own code driven by droplab's training loop)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("datacull")

from empirical.dynamic import RCAPSampler  # noqa: E402
from empirical.pipeline import RunConfig, run_one  # noqa: E402

SYN = {"n_train_per_class": 100, "n_test_per_class": 100}


def cfg(**kw):
    base = dict(dataset="gaussian", model="mlp", synthetic=SYN, device="cpu", recipe="fast", epochs=4,
                score="rcap", quota="none", density=0.5)
    base.update(kw)
    return RunConfig(**base)


def test_sampler_budget_classes_and_importance_follow_the_losses():
    labels = np.repeat(np.arange(4), 50)
    s = RCAPSampler(labels, 0.3, seed=0)
    assert s.budget == 60 and s.max_size == 64
    first = s.epoch_indices(0).numpy()
    # before any loss is seen RCAP is uniform within classes and splits by the priors: 15 per class
    np.testing.assert_array_equal(np.bincount(labels[first], minlength=4), [15, 15, 15, 15])
    assert len(np.unique(first)) == len(first)
    # high losses on class 3's samples, near zero elsewhere: class 3 gets more of the next subset,
    # and within class 3 the high-loss samples dominate
    loss = np.where(labels == 3, 2.0, 0.01)
    loss[labels == 3] = np.linspace(0.0, 2.0, 50)
    logits = torch.zeros(len(first), 4)
    y = torch.as_tensor(labels[first])
    # logits whose cross-entropy equals the chosen loss: true class margin m gives CE = log(1 + 3 e^-m)
    ce = torch.as_tensor(loss[first], dtype=torch.float32).clamp(min=1e-3)
    margin = -torch.log((torch.exp(ce) - 1) / 3)
    logits[torch.arange(len(first)), y] = margin
    s.update(torch.as_tensor(first), logits, y)
    s.end_epoch()
    second = s.epoch_indices(1).numpy()
    counts = np.bincount(labels[second], minlength=4)
    assert counts[3] > counts[:3].max() and counts.sum() <= s.max_size
    high = second[(labels[second] == 3)]
    assert np.median(high % 50) > 25


def test_same_seed_same_subsets_and_state_round_trip():
    labels = np.repeat(np.arange(3), 40)
    a, b = RCAPSampler(labels, 0.5, seed=7), RCAPSampler(labels, 0.5, seed=7)
    np.testing.assert_array_equal(a.epoch_indices(0), b.epoch_indices(0))
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    c = RCAPSampler(labels, 0.5, seed=8)
    assert not np.array_equal(a.epoch_indices(0), c.epoch_indices(0))
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002 (left alone)
    idx = a.epoch_indices(0)
    a.update(idx, torch.randn(len(idx), 3, generator=torch.Generator().manual_seed(0)),
             torch.as_tensor(labels[idx.numpy()]))
    a.end_epoch()
    d = RCAPSampler(labels, 0.5, seed=7)
    d.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.epoch_indices(1), d.epoch_indices(1))


def test_rcap_run_uses_the_step_budget_resumes_exactly_and_records_its_subsets(tmp_path):
    from test_empirical_pipeline import Killed, _kill_at

    c = cfg()
    full = run_one(c, 0, tmp_path / "a", progress=False)
    saved = json.loads((tmp_path / "a" / f"{c.run_id(0)}.json").read_text())
    assert saved["method"] == "RCAP" and saved["query"] is None
    dyn = saved["selection"]["dynamic"]
    assert dyn["budget"] == 200 and len(dyn["epoch_class_counts"]) == 4
    assert all(200 <= sum(e) <= 204 for e in dyn["epoch_class_counts"])
    assert saved["selection"]["n_selected"] == 200
    np.testing.assert_allclose(saved["metrics"]["class_densities"], dyn["mean_class_densities"])
    assert 0.4 < saved["metrics"]["accuracy"] <= 1
    # the same optimiser steps as the static run at the density: the learning-rate schedule matches
    static = run_one(cfg(score="random"), 0, tmp_path / "a", progress=False)
    assert [r["lr"] for r in static["final"]["history"]] == [r["lr"] for r in saved["final"]["history"]]
    with pytest.raises(Killed):
        run_one(c, 0, tmp_path / "b", progress=False, hooks={"final_epoch_end": _kill_at(2)})
    resumed = run_one(c, 0, tmp_path / "b", progress=False, resume=True)
    assert resumed["final"]["resumed_from_epoch"] == 2
    assert resumed["metrics"] == full["metrics"]
    assert resumed["selection"]["dynamic"] == full["selection"]["dynamic"]


def test_rcap_with_class_quotas_is_refused_before_any_work():
    with pytest.raises(ValueError, match="chooses its own class quotas.*got 'drop'"):
        cfg(quota="drop").validate()


def test_rcap_is_refused_clearly_without_datacull(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "datacull" else real(name, *a))
    with pytest.raises(ValueError, match="pip install datacull"):
        cfg().validate()
