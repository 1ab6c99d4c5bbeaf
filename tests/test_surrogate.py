"""Gaussian surrogate of a dataset (gaussian_theory.surrogate) and ``droplab surrogate``."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from gaussian_theory.allocation import drop_densities
from gaussian_theory.cli import main
from gaussian_theory.mixture import GaussianMixture
from gaussian_theory.surrogate import fit_gaussian_surrogate
from gaussian_theory.surrogate_check import surrogate_vs_trained

MNIST1D = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist1d" / "mnist1d_data.pkl"
TRUE = GaussianMixture(
    [[0.0, 0.0, 0.0], [2.5, 0.0, 0.0], [0.0, 4.0, 0.0]], stds=[1.0, 2.0, 1.5], priors=[0.3, 0.3, 0.4]
)


def test_fit_recovers_parameters():
    x, y = TRUE.sample(30_000, rng=0)
    labels = np.array([7, 3, 5])[y]  # arbitrary labels map to sorted classes 3, 5, 7
    gm = fit_gaussian_surrogate(x, labels, covariance="isotropic")  # the default is "tied"
    assert gm.class_labels.tolist() == [3, 5, 7]
    order = [1, 2, 0]  # class 3 is TRUE's class 1, 5 is 2, 7 is 0
    counts = np.bincount(y)[order]
    np.testing.assert_allclose(gm.priors, counts / 30_000)
    se_mean = TRUE.stds[order][:, None] / np.sqrt(counts)[:, None]
    assert np.all(np.abs(gm.means - TRUE.means[order]) < 4 * se_mean)
    # isotropic variance estimate pools p = 3 coordinates: sd(s^2_hat) = s^2 sqrt(2 / (n p)); the
    # variance floor adds reg * mean feature variance = 1e-3 * O(3), i.e. < 0.5 SE here.
    s2 = TRUE.stds[order] ** 2
    assert np.all(np.abs(gm.stds**2 - s2) < 4 * s2 * np.sqrt(2 / (3 * counts)) + 1e-3 * x.var(axis=0).mean())
    diag = fit_gaussian_surrogate(x, labels, covariance="diagonal", reg=0.0)
    assert not diag.isotropic
    np.testing.assert_allclose(
        np.einsum("kii->ki", diag.covariances), [x[labels == c].var(axis=0) for c in (3, 5, 7)], rtol=1e-12
    )


def test_surrogate_recall_on_its_own_draws_matches_prediction():
    # Test data drawn from the fitted surrogate itself: the empirical recall of its Bayes rule is then
    # an unbiased estimate of the predicted recall, within 4 combined binomial SEs.
    x, y = TRUE.sample(6000, rng=1)
    gm = fit_gaussian_surrogate(x, y, covariance="isotropic")
    xt, yt = gm.sample(60_000, rng=2)
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis

    res = surrogate_vs_trained(x, y, xt, yt, covariance="isotropic",
                               classifier=QuadraticDiscriminantAnalysis(), n_mc=100_000, seed=3)
    se_test = np.sqrt(res.predicted * (1 - res.predicted) / res.test_sizes)
    assert np.all(
        np.abs(res.surrogate_on_data - res.predicted) < 4 * np.sqrt(res.predicted_se**2 + se_test**2)
    )
    # A trained QDA has nearly the same rule: recalls ordered the same way (0.93, 0.72, 0.85 here).
    assert res.spearman == pytest.approx(1.0)
    assert res.classifier == "QuadraticDiscriminantAnalysis"
    np.testing.assert_allclose(res.drop_predicted, drop_densities(res.predicted, res.train_sizes, 0.5))
    d = res.as_dict()
    assert d["classes"] == [0, 1, 2] and "table" not in d
    from gaussian_theory.cli.surrogate import comparison_table  # the text now lives in the CLI

    assert "Spearman" in comparison_table(res)


@pytest.mark.skipif(not MNIST1D.is_file(), reason="MNIST-1D not available")
def test_mnist1d_predicted_recalls_rank_like_a_trained_classifier():
    # Measured when written (seed 0): Spearman 0.954 with LDA and 0.939 with logistic regression;
    # 0.8 leaves room for MC noise in the predicted recalls (se ~0.006 with 5000 draws per class).
    with MNIST1D.open("rb") as fh:
        data = pickle.load(fh)
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    res = surrogate_vs_trained(
        data["x"],
        data["y"],
        data["x_test"],
        data["y_test"],
        classifier=LinearDiscriminantAnalysis(),
        n_mc=5000,
        seed=0,
    )
    assert res.spearman > 0.8
    assert res.classes.tolist() == list(range(10)) and res.test_sizes.sum() == 1000


def test_internal_split_is_stratified():
    x, y = TRUE.sample(900, rng=4)
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    res = surrogate_vs_trained(x, y, classifier=LinearDiscriminantAnalysis(), test_size=0.2, n_mc=2000)
    np.testing.assert_array_equal(res.test_sizes, np.round(0.2 * np.bincount(y)))
    assert res.train_sizes.sum() + res.test_sizes.sum() == 900


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((np.zeros((5, 2)), np.zeros(5, int)), ValueError, r"at least 2 classes, got \[0\]"),
        ((np.zeros((5, 2)), np.zeros(4, int)), ValueError, r"labels must have shape \(5,\)"),
        ((np.zeros(5), np.zeros(5, int)), ValueError, r"features must have shape \(n, p\)"),
        ((np.zeros((5, 2)), np.full(5, 0.5)), TypeError, "labels must be integer class labels"),
        (
            (np.zeros((5, 2)), np.array([0, 0, 0, 0, 1])),
            ValueError,
            "every class needs >= 2 samples, got class 1",
        ),
    ],
)
def test_bad_inputs(args, exc, match):
    with pytest.raises(exc, match=match):
        fit_gaussian_surrogate(*args)


def test_bad_covariance_name():
    x, y = TRUE.sample(30, rng=0)
    with pytest.raises(ValueError, match="covariance must be one of .* got 'full'"):
        fit_gaussian_surrogate(x, y, covariance="full")


def test_cli_surrogate(tmp_path, capsys):
    x, y = TRUE.sample(600, rng=5)
    np.save(tmp_path / "F.npy", x)
    np.save(tmp_path / "L.npy", y)
    code = main(
        [
            "surrogate",
            "--features",
            str(tmp_path / "F.npy"),
            "--labels",
            str(tmp_path / "L.npy"),
            "--density",
            "0.5",
            "--n-mc",
            "2000",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for word in ("predicted recall", "DRoP d", "minimax d", "worst-class risk", "uniform"):
        assert word in out
    code = main(
        [
            "surrogate",
            "--features",
            str(tmp_path / "missing.npy"),
            "--labels",
            str(tmp_path / "L.npy"),
            "--density",
            "0.5",
        ]
    )
    assert code == 2
    assert "no such file" in capsys.readouterr().err


# ----------------------------------------------------------------------------- issue 10: singular fits
def _constant_data():
    y = np.repeat([0, 1], 50)
    return np.zeros((100, 3)), y  # every feature constant: the mean feature variance is 0


@pytest.mark.parametrize("covariance", ["tied", "isotropic", "diagonal"])
def test_constant_features_message_states_the_reg_used(covariance):
    # Issue 10: reg=1e-3 was passed, yet the message said "pass reg > 0".
    x, y = _constant_data()
    with pytest.raises(ValueError, match=r"reg=0\.001 adds no variance floor.*mean feature variance.*is 0 "
                       r"\(every feature is constant over the data\)") as exc:
        fit_gaussian_surrogate(x, y, covariance=covariance, reg=1e-3)
    assert "pass reg > 0" not in str(exc.value)
    with pytest.raises(ValueError,
                       match=r"reg=0 adds no variance floor; pass reg > 0 \(e\.g\. the default 1e-3\)"):
        fit_gaussian_surrogate(x, y, covariance=covariance, reg=0.0)


def test_constant_feature_in_one_class_names_class_and_feature():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 3)), np.repeat([4, 9], 50)
    x[50:, 2] = 1.5  # constant within class 9
    with pytest.raises(ValueError, match=r"class 9 has a constant feature \(feature 2\) and reg=0"):
        fit_gaussian_surrogate(x, y, covariance="diagonal", reg=0.0)
    assert fit_gaussian_surrogate(x, y, covariance="diagonal", reg=1e-3).n_classes == 2


def test_cli_constant_features_names_the_reg_option(tmp_path, capsys):
    x, y = _constant_data()
    np.save(tmp_path / "Fc.npy", x)
    np.save(tmp_path / "L.npy", y)
    argv = ["surrogate", "--features", str(tmp_path / "Fc.npy"), "--labels", str(tmp_path / "L.npy"),
            "--density", "0.5", "--reg", "1e-3"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("droplab: error:") and err.count("\n") == 1
    assert "--reg 0.001 adds no variance floor" in err and "pass reg > 0" not in err


def test_cli_zero_mc_errors_note_the_wilson_bound(tmp_path, capsys):
    # Issue 10: well-separated classes printed recall 1, se 0 with no word on what that means.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2)), rng.normal(-6, 1, (100, 2))])
    np.save(tmp_path / "F.npy", x)
    np.save(tmp_path / "L.npy", np.repeat([0, 1, 2], 100))  # 3 classes: Monte Carlo, not exact, risks
    argv = ["surrogate", "--features", str(tmp_path / "F.npy"), "--labels", str(tmp_path / "L.npy"),
            "--density", "0.5", "--n-mc", "100"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("note: class(es) 0, 1, 2 had 0 errors in 100 Monte Carlo draws: a predicted recall of 1 with "
            "se 0 only bounds the risk, below 0.037 (95% Wilson upper bound; recall >= 0.9630); raise --n-mc "
            "for a tighter bound") in out


# ----------------------------------------------------------------------------- issue 17
def _two_blobs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)) + np.repeat([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0]], 100, axis=0)
    return x, np.repeat([0, 1], 100)


@pytest.mark.parametrize("covariance", ["tied", "isotropic", "diagonal"])
def test_feature_scale_beyond_float64_is_a_clear_error(covariance):
    x, y = _two_blobs()
    with pytest.raises(ValueError, match=r"features must lie within \+-1e\+150 .* got an entry of .*e\+200"):
        fit_gaussian_surrogate(x * 1e200, y, covariance=covariance)  # LinAlgError before
    with pytest.raises(ValueError, match=r"features vary by at most .*e-200 .* rescale the features"):
        fit_gaussian_surrogate(x * 1e-200, y, covariance=covariance)  # "every feature is constant" before


def test_tied_fit_is_scale_free_within_range():
    # Ledoit-Wolf works at unit scale (a power of 2), so neither 1e100 (fourth powers overflowed) nor
    # 1e-100 (they underflowed: shrinkage 0, silently) changes the fit beyond the scale itself.
    from gaussian_theory.surrogate import ledoit_wolf_covariance

    x, y = _two_blobs()
    x = x @ np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.2], [0.0, 0.0, 0.5]])  # not isotropic
    ref_cov, ref_shrink = ledoit_wolf_covariance(x)
    for scale in (1e100, 1e-100, 3.0):
        cov, shrink = ledoit_wolf_covariance(x * scale)
        assert shrink == pytest.approx(ref_shrink, rel=1e-12)
        np.testing.assert_allclose(cov, ref_cov * scale**2, rtol=1e-12)
    base = fit_gaussian_surrogate(x, y).recalls(n_mc=20_000)
    np.testing.assert_array_equal(fit_gaussian_surrogate(x * 1e100, y).recalls(n_mc=20_000), base)


def test_huge_surrogate_fit_is_priced_first():
    x = np.zeros((10, 40_000))
    x[5:] = 1.0
    # the (10, 40000) feature array ended in a raw MemoryError
    with pytest.raises(ValueError, match=r"shape \(10, 40000\) needs about .* GiB.*reduce the feature"):
        fit_gaussian_surrogate(x, np.repeat([0, 1], 5))
    with pytest.raises(ValueError, match="n_mc must be at most"):
        fit_gaussian_surrogate(*_two_blobs(), calibrate_to=0.9, n_mc=10**12)
    with pytest.raises(ValueError, match="n_mc must be at most"):
        from gaussian_theory.surrogate_recalls import surrogate_risks

        surrogate_risks(fit_gaussian_surrogate(*_two_blobs(), covariance="diagonal"), n_mc=10**12)


def test_calibrate_to_out_of_range_names_calibrate_to():
    x, y = _two_blobs()
    with pytest.raises(ValueError, match=r"calibrate_to: the accuracy must lie in \(max prior, 1\) = \(0\.5"):
        fit_gaussian_surrogate(x, y, calibrate_to=0.4)


def test_cli_surrogate_huge_features_and_progress(tmp_path, capsys):
    x = np.zeros((10, 40_000))
    x[5:] = 1.0
    np.save(tmp_path / "F.npy", x)
    np.save(tmp_path / "L.npy", np.repeat([0, 1], 5))
    args = ["surrogate", "--features", str(tmp_path / "F.npy"), "--labels", str(tmp_path / "L.npy"),
            "--density", "0.5"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("droplab: error:") == 1 and "GiB of working memory" in err and "Traceback" not in err
    assert "max_memory" not in err  # the command line has no such option
    assert main(args[:-2] + ["--density", "0.5", "--n-mc", str(10**12)]) == 2
    assert "--n-mc must be at most 100,000,000" in capsys.readouterr().err
    assert main(["surrogate", "--features", str(tmp_path), "--labels", str(tmp_path / "L.npy"),
                 "--density", "0.5"]) == 2
    assert "--features " in (err := capsys.readouterr().err) and "is a folder, expected a file" in err


def test_progress_line_names_each_step(capsys):
    from gaussian_theory.cli.format import Progress

    with Progress(3, delay=0, desc="droplab surrogate") as progress:  # delay 0: shown at once
        progress("fitting the surrogate")
        progress("minimax allocation")
    err = capsys.readouterr().err
    assert "droplab surrogate (1/3): fitting the surrogate" in err
    assert "droplab surrogate (2/3): minimax allocation" in err
    with Progress(3, enabled=False) as progress:
        progress("fitting the surrogate")
    assert capsys.readouterr().err == ""
