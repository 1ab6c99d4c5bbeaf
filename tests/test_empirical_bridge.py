"""Theory bridge: the Gaussian surrogate of query features predicts the measured recalls."""

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical import bridge  # noqa: E402
from empirical.data import make_gaussian_dataset  # noqa: E402
from empirical.pipeline import RunConfig, run_one  # noqa: E402


def test_fit_class_gaussians_recovers_parameters():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 4000)
    x = np.where(y[:, None] == 0, rng.normal(0, 1, (8000, 3)), rng.normal(3, 2, (8000, 3)))
    means, stds = bridge.fit_class_gaussians(x, y, 2, "isotropic")
    np.testing.assert_allclose(means, [[0] * 3, [3] * 3], atol=0.1)
    np.testing.assert_allclose(stds, [1, 2], rtol=0.05)
    _, dstd = bridge.fit_class_gaussians(x, y, 2, "diagonal")
    assert dstd.shape == (2, 3)
    with pytest.raises(ValueError, match="covariance"):
        bridge.fit_class_gaussians(x, y, 2, "full")


@pytest.mark.parametrize("hide_surrogate", [False, True])
def test_surrogate_predicts_linear_head_recalls(tmp_path, monkeypatch, hide_surrogate):
    if hide_surrogate:  # the numpy fallback (as when gaussian_theory.surrogate is absent)
        monkeypatch.setitem(sys.modules, "gaussian_theory.surrogate", None)
        monkeypatch.setitem(sys.modules, "gaussian_theory.mixture", None)
    syn = {"n_train_per_class": 300, "n_test_per_class": 600, "num_classes": 3, "dim": 4, "separation": 2.5}
    c = RunConfig(dataset="gaussian", model="linear", synthetic=syn, device="cpu", epochs=4, query_epochs=6)
    r = run_one(c, 0, tmp_path, progress=False)
    th = r["theory"]
    assert ("numpy" in th["method"]) == hide_surrogate
    assert ("mixture_bayes_recalls" in th) != hide_surrogate
    # linear model: the features are the Gaussian inputs themselves, so the surrogate is exact
    # up to fitting and sampling error (300 validation samples per class)
    np.testing.assert_allclose(th["predicted_recalls"], th["measured_recalls"], atol=0.08)
    assert make_gaussian_dataset(**syn).source == ("synthetic:numpy" if hide_surrogate
                                                   else "synthetic:gaussian_theory.mixture")
