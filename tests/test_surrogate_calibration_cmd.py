"""``droplab empirical surrogate-calibration``: the held-out error of the Gaussian surrogates' predicted
recalls (:mod:`empirical.surrogate_calibration`), on the query models of a synthetic folder of runs, a query
cache with features, and scikit-learn's digits."""

import numpy as np
import pytest
from _synthetic_runs import write_study

from empirical.cli_analyses import main
from empirical.surrogate_calibration import (
    MODELS,
    TABLE_HEADER,
    compare,
    format_rows,
    halves,
    measure,
    mnist1d_logits,
    query_model_sets,
    recalls,
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("runs"), seeds=(0, 1), minimax=False, pilots=False,
                       learned=False)


def test_halves_recalls_compare():
    y = np.repeat(np.arange(3), [10, 11, 4])
    a, b = halves(y, np.random.default_rng(0))
    assert not (a & b).any() and (a | b).all()
    assert np.bincount(y[a]).tolist() == [5, 5, 2]                     # stratified: half of each class
    pred = np.array([0, 1, 1, 2])
    np.testing.assert_allclose(recalls(pred, np.array([0, 1, 2, 2]), 3), [1.0, 1.0, 0.5])
    mae, rho, bias = compare(np.array([0.9, 0.5, 0.7]), np.array([0.8, 0.6, 0.7]))
    assert (mae, rho, bias) == (pytest.approx(0.2 / 3), pytest.approx(1.0), pytest.approx(0.0))
    assert np.isnan(compare(np.array([0.5, 0.5]), np.array([0.4, 0.6]))[1])   # constant prediction


def test_query_models_of_a_folder(study):
    sets = query_model_sets(study)
    assert [s["name"] for s in sets] == ["Gaussian mixture MLP s0", "Gaussian mixture MLP s1"]
    assert list(sets[0]["inputs"]) == ["logits"] and sets[0]["inputs"]["logits"].shape == (240, 4)
    # the query logits folder itself
    assert query_model_sets(study / "query_logits")[1]["name"] == "Gaussian mixture MLP s1"


def test_measure_the_surrogates(study):
    ds = query_model_sets(study)[0]
    rows = measure(ds, splits=2, n_mc=2000, seed=0)
    assert [(r["input"], r["model"]) for r in rows] == [("logits", m) for m in MODELS]
    by = {r["model"]: r for r in rows}
    # calibrated to half A's accuracy, the tied surrogate over-predicts the recalls less than uncalibrated
    assert 0 < by["tied+cal"]["bias"] < by["tied"]["bias"] and by["tied+cal"]["mae"] < by["tied"]["mae"]
    assert all(r["floor_mae"] == rows[0]["floor_mae"] for r in rows)   # one floor per set
    acc = np.mean(ds["inputs"]["logits"].argmax(1) == ds["labels"])
    assert all(r["accuracy"] == pytest.approx(acc) for r in rows)
    line = format_rows(rows[:1])
    assert line.startswith(f"{'Gaussian mixture MLP s0':28s} {acc:5.3f} logits    isotropic ")
    assert line.endswith("\n")


def test_a_query_cache_adds_the_features(study, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    ds = query_model_sets(study)[0]
    z, y = ds["inputs"]["logits"], ds["labels"]
    feats = np.hstack([z, np.random.default_rng(0).standard_normal((y.size, 3))])
    (tmp_path / "_query").mkdir()
    torch.save({"val_outputs": {"logits": z, "labels": y, "features": feats}},
               tmp_path / "_query" / "gaussian_mlp_random_s0_0123456789.pt")
    torch.save({"val_outputs": None}, tmp_path / "_query" / "gaussian_mlp_random_s1_0123456789.pt")
    (sets,) = [query_model_sets(tmp_path)]
    assert len(sets) == 1 and list(sets[0]["inputs"]) == ["logits", "features"]
    rows = measure(sets[0], splits=1, n_mc=500, seed=0)
    inputs = [(r["input"], r["model"]) for r in rows]
    assert ("features", "diagonal") not in inputs and ("lda", "tied+cal") in inputs and len(inputs) == 11


def test_the_command(study, capsys):
    assert main(["surrogate-calibration", str(study), "--splits", "1", "--n-mc", "500"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("held-out logits ready in ") and lines[0].endswith(
        "1 random halvings, 500 MC draws per class (4000 above 64 dimensions)")
    assert lines[2] == TABLE_HEADER and lines[3] == "-" * len(TABLE_HEADER)
    assert sum(line.startswith("Gaussian mixture MLP s") for line in lines) == 2 * len(MODELS)
    assert lines[-1].startswith("total ")


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="nothing to calibrate"):
        main(["surrogate-calibration"])
    with pytest.raises(ValueError, match="does not exist"):
        query_model_sets(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no random-score query model with validation logits in '.*'"):
        query_model_sets(tmp_path)
    with pytest.raises(ValueError, match="MNIST-1D pickle .* not found"):
        mnist1d_logits(tmp_path, 0)


@pytest.mark.slow  # ~5 s: 5-fold logistic regression
def test_digits():
    pytest.importorskip("sklearn")
    from empirical.surrogate_calibration import digits_logits

    rows = measure(digits_logits(0), splits=1, n_mc=2000, seed=0)
    assert rows[0]["dataset"] == "digits (logistic)" and rows[0]["accuracy"] == pytest.approx(0.969, abs=5e-4)
