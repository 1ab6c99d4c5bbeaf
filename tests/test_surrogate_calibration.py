"""The tied (Ledoit--Wolf) Gaussian surrogate and its one-scalar calibration to a measured accuracy."""

import numpy as np
import pytest

from gaussian_theory.mixture import GaussianMixture
from gaussian_theory.surrogate import DEFAULT_COVARIANCE, fit_gaussian_surrogate, ledoit_wolf_covariance
from gaussian_theory.surrogate_recalls import calibrate_separation, surrogate_risks


def _tied_truth(k=4, p=6, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    cov = a @ a.T / p + 0.3 * np.eye(p)
    means = rng.normal(scale=1.2, size=(k, p))
    priors = np.array([0.4, 0.3, 0.2, 0.1])[:k] / np.array([0.4, 0.3, 0.2, 0.1])[:k].sum()
    return GaussianMixture(means, covariances=np.broadcast_to(cov, (k, p, p)), priors=priors)


@pytest.mark.parametrize("n, p, centered", [(60, 30, False), (500, 5, False), (20, 100, False), (80, 8, True),
                                            (100, 1, False)])
def test_ledoit_wolf_matches_sklearn(n, p, centered):
    sk = pytest.importorskip("sklearn.covariance")
    rng = np.random.default_rng(n + p)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + 2.0
    if centered:
        x -= x.mean(axis=0)
    cov, delta = ledoit_wolf_covariance(x, assume_centered=centered)
    ref = sk.LedoitWolf(assume_centered=centered).fit(x)
    assert delta == pytest.approx(ref.shrinkage_, rel=1e-10, abs=1e-14)
    np.testing.assert_allclose(cov, ref.covariance_, rtol=1e-10, atol=1e-12)


def test_tied_fit_is_ledoit_wolf_of_the_pooled_residuals():
    sk = pytest.importorskip("sklearn.covariance")
    truth = _tied_truth()
    x, y = truth.sample(400, rng=1)
    labels = np.array([5, 2, 9, 7])[y]
    gm = fit_gaussian_surrogate(x, labels, covariance="tied", reg=0.0)
    assert gm.class_labels.tolist() == [2, 5, 7, 9]
    means = np.array([x[labels == c].mean(axis=0) for c in (2, 5, 7, 9)])
    np.testing.assert_allclose(gm.means, means, rtol=1e-12)
    resid = x - means[np.searchsorted([2, 5, 7, 9], labels)]
    ref = sk.LedoitWolf(assume_centered=True).fit(resid).covariance_
    for c in gm.covariances:
        np.testing.assert_allclose(c, ref, rtol=1e-10, atol=1e-12)
    # shrinkage=0 is the pooled ML covariance; shrinkage=1 a multiple of I
    ml = fit_gaussian_surrogate(x, labels, covariance="tied", reg=0.0, shrinkage=0.0)
    np.testing.assert_allclose(ml.covariances[0], resid.T @ resid / resid.shape[0], rtol=1e-10)
    one = fit_gaussian_surrogate(x, labels, covariance="tied", reg=0.0, shrinkage=1.0)
    np.testing.assert_allclose(one.covariances[0], np.trace(ml.covariances[0]) / 6 * np.eye(6), atol=1e-12)
    assert DEFAULT_COVARIANCE == "tied" and not fit_gaussian_surrogate(x, labels).isotropic


def test_tied_risks_match_the_mixture_monte_carlo():
    # The K-dimensional tied Monte Carlo and GaussianMixture.class_risks (p-dimensional draws) estimate
    # the same LDA risks with independent draws: within 4 combined binomial SEs.
    gm = _tied_truth(seed=3)
    fast = surrogate_risks(gm, n_mc=40_000, seed=0)
    slow = gm.class_risks(n_mc=40_000, seed=1, method="mc")
    assert np.all(np.abs(fast.risks - slow.risks) < 4 * np.sqrt(fast.se**2 + slow.se**2) + 1e-12)
    again = surrogate_risks(gm, n_mc=40_000, seed=0)
    np.testing.assert_array_equal(fast.risks, again.risks)  # the seed fixes the draws


def test_synthetic_tied_truth_recalls_are_recovered():
    # Data from a tied Gaussian mixture: the surrogate fitted to 8000 samples recovers the true LDA
    # recalls within MC error (4 combined SEs at 50 000 draws per class: ~0.01) plus the fitting
    # error (means to ~0.01 sd: recalls to < 0.005).
    truth = _tied_truth(seed=5)
    true = truth.class_risks(n_mc=50_000, seed=7, method="mc")
    x, y = truth.sample(8000, rng=8)
    est = surrogate_risks(fit_gaussian_surrogate(x, y), n_mc=50_000, seed=9)
    tol = 4 * np.sqrt(true.se**2 + est.se**2) + 0.005
    assert np.all(np.abs(est.recalls - true.recalls) < tol), (est.recalls, true.recalls, tol)
    # calibrated to the true accuracy, the fit needs (almost) no rescaling
    acc = float(truth.priors @ true.recalls)
    cal = calibrate_separation(fit_gaussian_surrogate(x, y), acc, n_mc=50_000, seed=10)
    assert cal.scale == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("target", [0.55, 0.8, 0.97])
def test_calibration_hits_the_target_accuracy(target):
    rng = np.random.default_rng(0)
    k, p = 5, 8
    x = rng.normal(size=(1500, p)) + np.repeat(rng.normal(scale=2.0, size=(k, p)), 300, axis=0)
    y = np.repeat(np.arange(k), 300)
    gm0 = fit_gaussian_surrogate(x, y)
    cal = calibrate_separation(gm0, target, n_mc=20_000, seed=1)
    # on its own draws: within one step of the step function (a few draws of 1/(K n_mc) each)
    assert abs(cal.achieved - target) < 5e-4
    assert cal.se == pytest.approx(np.sqrt(target * (1 - target) / (k * 20_000)), rel=0.3)
    # on fresh draws: within 4 combined standard errors
    fresh = surrogate_risks(cal.mixture, n_mc=40_000, seed=99)
    acc = float(cal.mixture.priors @ fresh.recalls)
    se = np.sqrt(np.sum(cal.mixture.priors**2 * fresh.se**2))
    assert abs(acc - target) < 4 * np.sqrt(se**2 + cal.se**2)
    # the separations are scaled about the weighted mean; covariances and priors unchanged
    c = gm0.priors @ gm0.means
    np.testing.assert_allclose(cal.mixture.means - c, cal.scale * (gm0.means - c), atol=1e-9)
    np.testing.assert_array_equal(cal.mixture.covariances, gm0.covariances)
    np.testing.assert_array_equal(cal.mixture.class_labels, gm0.class_labels)
    # fit_gaussian_surrogate(calibrate_to=) is the same computation
    same = fit_gaussian_surrogate(x, y, calibrate_to=target, n_mc=20_000, seed=1)
    np.testing.assert_allclose(same.means, cal.mixture.means)
    # a harder target needs a larger scale
    if target == 0.97:
        assert cal.scale > calibrate_separation(gm0, 0.8, n_mc=20_000, seed=1).scale


X = np.random.default_rng(0).normal(size=(40, 3)) + np.repeat(np.eye(3) * 3, [10, 10, 20], axis=0)
Y = np.repeat([0, 1, 2], [10, 10, 20])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"calibrate_to": 0.5}, ValueError, r"accuracy must lie in \(max prior, 1\) = \(0\.5, 1\)"),
        ({"calibrate_to": 1.0}, ValueError, r"accuracy must lie in \(max prior, 1\)"),
        ({"calibrate_to": 1.5}, ValueError, r"calibrate_to must be a finite number in \[0\.0, 1\.0\]"),
        ({"calibrate_to": float("nan")}, ValueError, "calibrate_to must be a finite number"),
        ({"calibrate_to": "0.9"}, TypeError, "calibrate_to must be a real number"),
        ({"calibrate_to": True}, TypeError, "calibrate_to must be a real number"),
        ({"calibrate_to": 0.9, "n_mc": 1}, ValueError, r"n_mc must be an integer in \[2, inf\]"),
        ({"calibrate_to": 0.9, "n_mc": 100.0}, TypeError, "n_mc must be an integer"),
        ({"calibrate_to": 0.9, "seed": -1}, ValueError, "seed must be a non-negative int"),
        ({"shrinkage": 1.2}, ValueError, r"shrinkage must be a finite number in \[0\.0, 1\.0\]"),
        ({"shrinkage": "oas"}, ValueError, "shrinkage must be 'ledoit-wolf' or a number"),
        ({"covariance": "isotropic", "shrinkage": 0.1}, ValueError, "shrinkage applies to covariance='tied'"),
        ({"covariance": "diagonal", "calibrate_to": 0.9}, ValueError, "calibrate_to applies to covar"),
        ({"covariance": "full"}, ValueError, r"covariance must be one of \('tied', 'isotropic', 'diag"),
        ({"reg": 0.0, "shrinkage": 0.0, "covariance": "tied"}, None, None),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    if exc is None:  # p = 3 < n: the unshrunk pooled covariance is fine without a floor
        fit_gaussian_surrogate(X, Y, **kwargs)
        return
    with pytest.raises(exc, match=match):
        fit_gaussian_surrogate(X, Y, **kwargs)


def test_singular_pooled_covariance_is_refused():
    x = np.zeros((20, 3))
    x[:, 0] = np.arange(20)
    with pytest.raises(ValueError, match="pooled within-class covariance is singular"):
        fit_gaussian_surrogate(x, np.repeat([0, 1], 10), reg=0.0, shrinkage=0.0)


def test_calibrate_separation_bad_inputs():
    iso = fit_gaussian_surrogate(X, Y, covariance="isotropic")
    with pytest.raises(ValueError, match="must all be equal"):
        calibrate_separation(iso, 0.9)
    with pytest.raises(TypeError, match="gm must be a GaussianMixture"):
        calibrate_separation(iso.means, 0.9)
    with pytest.raises(TypeError, match="gm must be a GaussianMixture"):
        surrogate_risks("model")
    tied = fit_gaussian_surrogate(X, Y)
    with pytest.raises(ValueError, match="not reached with the separations scaled by 1"):
        calibrate_separation(tied, 0.999999, n_mc=1000, max_scale=1.0)
    with pytest.raises(ValueError, match="xtol must be a finite number"):
        calibrate_separation(tied, 0.9, xtol=0.0)
    with pytest.raises(ValueError, match=r"ledoit_wolf_covariance|x must have shape \(n, p\)"):
        ledoit_wolf_covariance(np.zeros(5))


def test_cli_surrogate_calibrated(tmp_path, capsys):
    from gaussian_theory.cli import main

    np.save(tmp_path / "F.npy", X)
    np.save(tmp_path / "L.npy", Y)
    base = ["surrogate", "--features", str(tmp_path / "F.npy"), "--labels", str(tmp_path / "L.npy"),
            "--density", "0.5", "--n-mc", "2000"]
    assert main(base + ["--calibrate-to", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "calibrated: class-mean separations x" in out and "target 0.8000" in out and "DRoP d" in out
    assert main(base + ["--covariance", "isotropic", "--calibrate-to", "0.8"]) == 2
    assert "--calibrate-to needs --covariance tied" in capsys.readouterr().err
    assert main(base + ["--calibrate-to", "0.3"]) == 2  # below the largest prior, 0.5
    assert "accuracy must lie in (max prior, 1)" in capsys.readouterr().err


def test_tied_draws_streamed_beyond_the_memory_bound(monkeypatch):
    # Past MAX_BYTES the draws are regenerated class by class from the same per-class seeds: same numbers.
    from gaussian_theory import surrogate_recalls

    gm = _tied_truth(seed=2)
    kept = surrogate_risks(gm, n_mc=5000, seed=4)
    monkeypatch.setattr(surrogate_recalls._TiedDraws, "MAX_BYTES", 0)
    np.testing.assert_array_equal(surrogate_risks(gm, n_mc=5000, seed=4).risks, kept.risks)
