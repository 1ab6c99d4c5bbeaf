"""Predicted recalls after pruning (gaussian_theory.recall_prediction).

Independent references: the prior shift against a direct per-sample loop; the exact draws of the LDA
sufficient statistics (Wishart by Bartlett) against the Wishart mean and against an explicit simulation
that draws the points and fits LDA by hand; the finite-sample model's large-n limit against the
surrogate's population prior shift (a different Monte Carlo), within the stated standard errors.
"""

import numpy as np
import pytest

from gaussian_theory import GaussianMixture
from gaussian_theory.recall_prediction import (
    FiniteSampleRecalls,
    _wishart,
    finite_sample_recalls,
    logit_recalls,
    predict_recalls,
    prior_shift_recalls,
    surrogate_prior_shift_recalls,
)


def _logits(n=60, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    z = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    return z, y


def _tied(k=3, priors=None):
    means = 2.0 * np.eye(k)
    cov = np.eye(k) + 0.3
    return GaussianMixture(means, covariances=np.broadcast_to(cov, (k, k, k)), priors=priors)


# ------------------------------------------------------------------ (a) prior shift
def test_prior_shift_matches_a_direct_loop():
    z, y = _logits(n=37, k=3, seed=1)
    for d in ([0.2, 1.0, 0.5], [0.0, 0.3, 0.9], [1.0, 1.0, 0.01]):
        hits, tot = np.zeros(3), np.zeros(3)
        for zi, yi in zip(z, y):
            best, arg = -np.inf, None
            for j in range(3):
                s = zi[j] + (np.log(d[j]) if d[j] > 0 else -np.inf)
                if s > best:  # strict: ties to the lower index
                    best, arg = s, j
            hits[yi] += arg == yi
            tot[yi] += 1
        np.testing.assert_allclose(prior_shift_recalls(z, y, d), hits / tot, atol=1e-12)


@pytest.mark.parametrize("value", [0.3, 1.0, 1e-6])
def test_equal_densities_give_the_query_recalls_exactly(value):
    z, y = _logits(n=200, k=5, seed=2)
    z[:7, 1] = z[:7, 0]  # exact ties stay ties
    rec = np.array([np.mean(np.argmax(z[y == c], axis=1) == c) for c in range(5)])
    np.testing.assert_array_equal(logit_recalls(z, y), rec)
    np.testing.assert_array_equal(prior_shift_recalls(z, y, np.full(5, value)), rec)


def test_prior_shift_scale_invariance_and_empty_class():
    z, y = _logits(n=120, k=4, seed=3)
    d = np.array([0.1, 0.4, 0.7, 0.25])
    np.testing.assert_array_equal(prior_shift_recalls(z, y, d), prior_shift_recalls(z, y, d / 2.5))
    r = prior_shift_recalls(z, y, [0.0, 0.4, 0.7, 0.25])
    assert r[0] == 0.0
    # lowering one class's density never raises its recall and never lowers the others'
    lower = prior_shift_recalls(z, y, [0.1, 0.1, 0.7, 0.25])
    assert lower[1] <= prior_shift_recalls(z, y, d)[1]
    assert np.all(np.delete(lower, 1) >= np.delete(prior_shift_recalls(z, y, d), 1))


def test_surrogate_prior_shift_is_the_mixture_pruned_risks():
    gm = _tied(priors=[0.5, 0.3, 0.2])
    d = [0.3, 1.0, 0.6]
    est = surrogate_prior_shift_recalls(gm, d, n_mc=5000, seed=4)
    ref = gm.class_risks(gm.prune(d).priors, n_mc=50_000, seed=9).recalls
    assert np.all(np.abs(est.recalls - ref) < 5 * est.se + 0.005)


# ------------------------------------------------------------------ (b) finite samples
@pytest.mark.parametrize("df", [2, 7])
def test_wishart_draws_have_the_wishart_mean(df):
    p = 3
    cov = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.5]])
    w = _wishart(np.linalg.cholesky(cov), df, 20_000, np.random.default_rng(0))
    assert w.shape == (20_000, p, p)
    se = w.std(axis=0) / np.sqrt(w.shape[0])
    assert np.all(np.abs(w.mean(axis=0) - df * cov) < 5 * se + 1e-12)


def test_finite_sample_matches_an_explicit_lda_simulation():
    """Small n: the sufficient-statistic draws against drawing the points and fitting LDA by hand."""
    means = np.array([[0.0, 0.0], [1.5, 0.5]])
    cov = np.array([[1.0, 0.3], [0.3, 0.8]])
    gm = GaussianMixture(means, covariances=np.stack([cov, cov]))
    sizes, dens = np.array([20, 30]), np.array([0.5, 1.0])  # n = (10, 30)
    fast = finite_sample_recalls(gm, sizes, dens, trials=400, n_eval=2000, seed=1)
    rng = np.random.default_rng(2)
    chol = np.linalg.cholesky(cov)
    per = []
    for _ in range(400):
        xs = [m + rng.standard_normal((n, 2)) @ chol.T for m, n in zip(means, (10, 30))]
        mu = np.array([x.mean(axis=0) for x in xs])
        pooled = sum((x - x.mean(axis=0)).T @ (x - x.mean(axis=0)) for x in xs) / (40 - 2)
        a = np.linalg.solve(pooled, mu.T)
        b = -0.5 * np.sum(mu * a.T, axis=1) + np.log(np.array([10, 30]) / 40)
        rec = []
        for c in range(2):
            x = means[c] + rng.standard_normal((2000, 2)) @ chol.T
            rec.append(np.mean(np.argmax(x @ a + b, axis=1) == c))
        per.append(rec)
    per = np.array(per)
    se_ref = per.std(axis=0, ddof=1) / np.sqrt(len(per))
    assert np.all(np.abs(fast.recalls - per.mean(axis=0)) < 4 * np.hypot(fast.se, se_ref))
    np.testing.assert_array_equal(fast.counts, [10, 30])


def test_finite_sample_tends_to_the_population_prior_shift():
    gm = _tied(priors=[0.5, 0.3, 0.2])
    sizes = np.array([5, 3, 2]) * 10**6
    d = np.array([0.3, 1.0, 0.6])
    fin = finite_sample_recalls(gm, sizes, d, trials=4, n_eval=20_000, seed=5)
    pop = surrogate_prior_shift_recalls(gm, d, n_mc=40_000, seed=6)
    assert np.all(np.abs(fin.recalls - pop.recalls) < 4 * np.hypot(fin.se, pop.se) + 0.003)
    assert isinstance(fin, FiniteSampleRecalls) and fin.per_trial.shape == (4, 3)


def test_finite_samples_cost_recall_and_pruning_a_class_lowers_it():
    gm = _tied(k=3)
    small = finite_sample_recalls(gm, [12, 12, 12], [1.0, 1.0, 1.0], trials=300, n_eval=2000, seed=7)
    large = finite_sample_recalls(gm, [10**6] * 3, [1.0, 1.0, 1.0], trials=4, n_eval=20_000, seed=8)
    assert small.recalls.mean() < large.recalls.mean() - 4 * np.hypot(small.se, large.se).max()
    prev = None
    for d0 in (1.0, 0.5, 0.25):
        r = finite_sample_recalls(gm, [40, 40, 40], [d0, 1.0, 1.0], trials=300, n_eval=2000, seed=9)
        if prev is not None:
            assert r.recalls[0] < prev.recalls[0] - 3 * np.hypot(r.se[0], prev.se[0])
        prev = r


def test_finite_sample_seed_and_logits_input():
    gm = _tied(k=3)
    a = finite_sample_recalls(gm, [50, 50, 50], [0.5, 1.0, 0.8], trials=5, n_eval=500, seed=3)
    b = finite_sample_recalls(gm, [50, 50, 50], [0.5, 1.0, 0.8], trials=5, n_eval=500,
                              seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.per_trial, finite_sample_recalls(
        gm, [50, 50, 50], [0.5, 1.0, 0.8], trials=5, n_eval=500, seed=3).per_trial)
    assert b.per_trial.shape == a.per_trial.shape
    z, y = _logits(n=400, k=4, seed=4)
    r = finite_sample_recalls(z, [1000] * 4, [1.0] * 4, labels=y, trials=3, n_eval=4000, seed=0)
    # calibrated to the logits' accuracy: the mean predicted recall is the logits' accuracy
    assert abs(r.recalls.mean() - logit_recalls(z, y).mean()) < 0.03


def test_predict_recalls_bundles_every_predictor():
    z, y = _logits(n=400, k=4, seed=5)
    out = predict_recalls(z, y, [500] * 4, {"uniform": [0.5] * 4, "skew": [0.2, 0.4, 0.6, 0.8]},
                          trials=3, n_eval=2000, n_mc=4000, seed=1)
    assert set(out) == {"uniform", "skew"}
    np.testing.assert_array_equal(out["uniform"].prior_shift, logit_recalls(z, y))
    for p in out.values():
        for f in (p.prior_shift, p.surrogate, p.surrogate_se, p.finite_sample, p.finite_sample_se):
            assert f.shape == (4,)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("logits,labels,dens,exc,needle", [
    (np.zeros(5), np.zeros(5, int), [1, 1], ValueError, "logits"),
    (np.zeros((4, 2)), np.zeros(3, int), [1, 1], ValueError, "labels"),
    (np.zeros((4, 2)), np.array([0, 1, 0.5, 1]), [1, 1], TypeError, "labels"),
    (np.zeros((4, 2)), np.array([0, 1, 2, 1]), [1, 1], ValueError, "labels"),
    (np.zeros((4, 3)), np.array([0, 1, 0, 1]), [1, 1, 1], ValueError, "every class"),
    (np.zeros((4, 2)), np.array([0, 1, 0, 1]), [1, 1, 1], ValueError, "densities"),
    (np.zeros((4, 2)), np.array([0, 1, 0, 1]), [1, 1.5], ValueError, "densities"),
    (np.zeros((4, 2)), np.array([0, 1, 0, 1]), [0, 0], ValueError, "densities"),
    (np.zeros((4, 2)), np.array([0, 1, 0, 1]), "ab", TypeError, "densities"),
    (np.array([[0.0, np.nan]] * 4), np.array([0, 1, 0, 1]), [1, 1], ValueError, "logits"),
])
def test_prior_shift_bad_inputs(logits, labels, dens, exc, needle):
    with pytest.raises(exc, match=needle):
        prior_shift_recalls(logits, labels, dens)


@pytest.mark.parametrize("kwargs,exc,needle", [
    ({"class_sizes": [10, -1, 10]}, ValueError, "class_sizes"),
    ({"class_sizes": [10, 2.5, 10]}, ValueError, "class_sizes"),
    ({"class_sizes": 10}, TypeError, "class_sizes"),
    ({"trials": 0}, ValueError, "trials"),
    ({"trials": True}, TypeError, "trials"),
    ({"n_eval": 1.5}, TypeError, "n_eval"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": "a"}, TypeError, "seed"),
    ({"densities": [0.01, 0.01, 0.01]}, ValueError, "pooled covariance"),
    ({"labels": np.zeros(3, int)}, ValueError, "labels"),
])
def test_finite_sample_bad_inputs(kwargs, exc, needle):
    args = {"model": _tied(k=3), "class_sizes": [100, 100, 100], "densities": [1.0, 0.5, 0.5], **kwargs}
    with pytest.raises(exc, match=needle):
        finite_sample_recalls(**args)


def test_logits_without_labels_is_an_error():
    z, _ = _logits()
    with pytest.raises(ValueError, match="labels"):
        finite_sample_recalls(z, [10] * 4, [1.0] * 4)


# ------------------------------------------------------------------ issue 17
def test_complex_or_boolean_logits_are_refused():
    z, y = _logits()
    for bad, what in ((z + 1j, "complex numbers"), (z > 0, "booleans")):  # accepted (imaginary part lost)
        for fn in (logit_recalls, lambda zz, yy: prior_shift_recalls(zz, yy, np.ones(4))):
            with pytest.raises(TypeError, match=f"logits must be real numbers, got {what}"):
                fn(bad, y)


def test_huge_trials_are_refused_before_any_work(monkeypatch):
    import gaussian_theory.recall_prediction as rp

    z, y = _logits()

    def never(*args, **kwargs):
        raise AssertionError("the surrogate was fitted")

    monkeypatch.setattr(rp, "query_surrogate", never)
    with pytest.raises(ValueError, match=r"trials=1000000000 finite-sample trials of 4 classes .* GiB"):
        predict_recalls(z, y, [100] * 4, {"uniform": np.full(4, 0.5)}, trials=10**9)
    with pytest.raises(ValueError, match=r"trials=1000000000 .* GiB"):
        finite_sample_recalls(z, [100] * 4, np.full(4, 0.5), labels=y, trials=10**9)
    with pytest.raises(ValueError, match=r"trials=1000000000 .* GiB"):
        finite_sample_recalls(_tied(), [100] * 3, np.full(3, 0.5), trials=10**9)
    with pytest.raises(ValueError, match="n_eval must be at most 100,000,000"):
        finite_sample_recalls(_tied(), [100] * 3, np.full(3, 0.5), n_eval=10**12)
    small = finite_sample_recalls(_tied(), [100] * 3, np.full(3, 0.5), trials=2, n_eval=100, max_memory=2**27)
    assert small.per_trial.shape == (2, 3)
