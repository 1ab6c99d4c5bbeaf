"""Theory bridge: the Gaussian surrogate of query features predicts the measured recalls."""

import numpy as np
import pytest
from scipy.special import ndtr

torch = pytest.importorskip("torch")

from empirical import bridge  # noqa: E402
from empirical.pipeline import RunConfig, run_one  # noqa: E402
from empirical.small_datasets import make_gaussian_dataset  # noqa: E402


def test_head_recalls_match_the_closed_form():
    # 1-D, two classes N(0, 1) and N(3, 2^2); the head predicts class 1 iff z > 1.5, so the exact
    # recalls are Phi(1.5) and Phi((3 - 1.5)/2) = Phi(0.75).
    means, stds = np.array([[0.0], [3.0]]), np.array([1.0, 2.0])
    weight, bias = np.array([[-1.0], [1.0]]), np.array([1.5, -1.5])
    n = 200_000
    rec = bridge.head_recalls(means, stds, weight, bias, n, np.random.default_rng(0))
    exact = ndtr(np.array([1.5, 0.75]))
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(rec - exact) < 4 * se), (rec, exact, se)


def test_head_recalls_with_a_shared_full_covariance():
    # 2-D, means (0, 0) and (2, 1), covariance [[1, .5], [.5, 2]]; the head predicts class 1 iff
    # z1 > 1, so recall_0 = Phi(1 / 1) and recall_1 = Phi((2 - 1) / 1).
    means = np.array([[0.0, 0.0], [2.0, 1.0]])
    chol = np.linalg.cholesky(np.array([[1.0, 0.5], [0.5, 2.0]]))
    weight, bias = np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0])
    n = 200_000
    rec = bridge.head_recalls(means, None, weight, bias, n, np.random.default_rng(1), chol=chol)
    exact = ndtr(np.array([1.0, 1.0]))
    assert np.all(np.abs(rec - exact) < 4 * np.sqrt(exact * (1 - exact) / n)), (rec, exact)


def test_tied_report_is_calibrated_to_the_head_accuracy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 4)) + np.repeat(np.eye(3, 4) * 2.0, 200, axis=0)
    y = np.repeat([0, 1, 2], 200)
    w, b = np.eye(3, 4) * 2.0, -0.5 * np.full(3, 4.0)
    rep = bridge.surrogate_report(x, y, 3, w, b, covariance="tied", n_per_class=2000, n_bayes=20_000)
    acc = float(np.mean(np.argmax(x @ w.T + b, axis=1) == y))
    assert rep["covariance"] == "tied" and rep["calibrated_to_accuracy"] == acc
    assert np.mean(rep["calibrated_recalls"]) == pytest.approx(acc, abs=4 * np.sqrt(acc * (1 - acc) / 60_000))
    assert rep["calibration_scale"] > 0 and len(rep["predicted_recalls"]) == 3


def test_unknown_covariance_is_refused():
    x, y = np.random.default_rng(0).normal(size=(20, 3)), np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match="covariance"):
        bridge.surrogate_report(x, y, 2, np.eye(2, 3), np.zeros(2), covariance="full")


def test_surrogate_predicts_linear_head_recalls(tmp_path):
    syn = {"n_train_per_class": 300, "n_test_per_class": 600, "num_classes": 3, "dim": 4, "separation": 2.5}
    # the synthetic classes are isotropic Gaussians of different spreads: the isotropic surrogate is their
    # model (the default, tied, pools one covariance)
    c = RunConfig(dataset="gaussian", model="linear", synthetic=syn, device="cpu", epochs=4, query_epochs=6,
                  surrogate="isotropic")
    r = run_one(c, 0, tmp_path, progress=False)
    th = r["theory"]
    assert th["method"] == "gaussian_theory.surrogate.fit_gaussian_surrogate"
    assert len(th["mixture_bayes_recalls"]) == 3
    # linear model: the features are the Gaussian inputs themselves, so the surrogate is exact
    # up to fitting and sampling error (300 validation samples per class: SE of a recall <= 0.03)
    np.testing.assert_allclose(th["predicted_recalls"], th["measured_recalls"], atol=0.08)
    assert make_gaussian_dataset(**syn).source == "synthetic:gaussian_theory.mixture"
