"""Finite-sample simulator (gaussian_theory.simulation, .pruning, .learners).

Independent references: TwoGaussians' closed forms (population limits), brute-force enumeration of
thresholds (ERM), scipy.optimize (logistic regression), scikit-learn's hard-margin SVC (unpenalised
logistic on separable data), binomial laws (kept counts). Monte Carlo
comparisons use fixed seeds and tolerances of 4 standard errors; where a finite-n bias exists its
size is stated next to the test.
"""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_expit

import gaussian_theory.learners as learners
import gaussian_theory.simulation as sim
from gaussian_theory.finite_allocation import optimal_densities_mc
from gaussian_theory.simulation import (
    RandomPruning,
    ScorePruning,
    SSPPruning,
    plugin_thresholds,
    population_limit,
    population_logistic_threshold,
    simulate,
)
from gaussian_theory.two_gaussians import TwoGaussians

MODEL = TwoGaussians((0.0, 6.0), (1.0, 2.0), (0.5, 0.5))
OPT = RandomPruning((1 / 3, 2 / 3))  # the population worst-class optimum at d = 0.5 (priors ∝ σ_k, README)


# ------------------------------------------------------------------ learners vs independent references
def test_plugin_thresholds_match_two_gaussians():
    rng = np.random.default_rng(1)
    n = 400
    mu0 = rng.normal(size=n)
    mu1 = mu0 + rng.exponential(2.0, n)
    s0, s1 = rng.uniform(0.3, 3.0, (2, n))
    s1[::7] = s0[::7]  # equal variances: the linear case
    phi0 = rng.uniform(0.01, 0.99, n)
    got = plugin_thresholds(mu0, mu1, s0, s1, phi0)
    want = np.array(
        [
            TwoGaussians((a, b), (c, d), (p, 1 - p)).optimal_threshold()
            for a, b, c, d, p in zip(mu0, mu1, s0, s1, phi0)
        ]
    )
    fin = np.isfinite(want)
    assert np.array_equal(got[~fin], want[~fin])
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-12, atol=1e-12)


def _brute_force_erm(x, y):
    """All gaps between sorted points, O(n^2): minimal error count and the lower-median minimiser."""
    xs = np.sort(x)
    edges = np.concatenate([[-np.inf], xs, [np.inf]])
    errs, mids = [], []
    for j in range(len(xs) + 1):
        left, right = edges[j], edges[j + 1]
        t = -np.inf if j == 0 else (np.inf if j == len(xs) else 0.5 * (left + right))
        pred1 = x > (left if j > 0 else -np.inf)  # any t in (left, right) predicts the same
        errs.append(int(np.sum(pred1 & (y == 0)) + np.sum(~pred1 & (y == 1))))
        mids.append(t)
    errs = np.array(errs)
    winners = np.flatnonzero(errs == errs.min())
    return errs.min(), mids[winners[(winners.size - 1) // 2]]


@pytest.mark.parametrize("masked", [False, True])
def test_erm_is_the_exact_empirical_risk_minimiser(masked):
    rng = np.random.default_rng(2)
    T, n = 40, 25
    n0 = rng.integers(3, 22, T)
    x = np.where(np.arange(n)[None, :] >= n0[:, None], rng.normal(1.0, 1.5, (T, n)), rng.normal(0, 1, (T, n)))
    valid = rng.random((T, n)) < 0.7 if masked else None
    if masked:
        valid[:, 0] = True
        valid[:, -1] = True
    got = learners.learn_erm(x, n0, valid)
    for i in range(T):
        keep = np.ones(n, bool) if valid is None else valid[i]
        y = (np.arange(n) >= n0[i]).astype(int)
        best_err, t_ref = _brute_force_erm(x[i, keep], y[keep])
        err = np.sum((x[i, keep] > got[i]) & (y[keep] == 0)) + np.sum((x[i, keep] <= got[i]) & (y[keep] == 1))
        assert err == best_err
        assert got[i] == t_ref


def test_logistic_matches_scipy_minimize():
    rng = np.random.default_rng(3)
    T, n, l2 = 6, 300, 1e-4
    n0 = np.full(T, 120)
    x = np.where(np.arange(n)[None, :] >= 120, rng.normal(2.0, 2.0, (T, n)), rng.normal(0, 1, (T, n)))
    got = learners.learn_logistic(x, n0, None, l2)
    y = (np.arange(n) >= 120).astype(float)
    for i in range(T):
        m, s = x[i].mean(), x[i].std()
        z = (x[i] - m) / s

        def f(th, z=z):
            eta = th[0] + th[1] * z
            return -np.mean(y * log_expit(eta) + (1 - y) * log_expit(-eta)) + 0.5 * l2 * th[1] ** 2

        res = minimize(f, [0.0, 1.0], method="BFGS", options={"gtol": 1e-12})
        assert got[i] == pytest.approx(m - s * res.x[0] / res.x[1], abs=1e-6)


def test_logistic_survives_newton_cycling_case():
    # Data on which undamped Newton from the LDA start cycles (found with seed 0, trial 2826 of
    # simulate(MODEL, 1000, learner="logistic")); the damped solver must reach the optimum.
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0, 1, 500), rng.normal(6, 2, 500)])[None, :]
    t = learners.learn_logistic(x, np.array([500]), None, 1e-4)
    y = (np.arange(1000) >= 500).astype(float)
    z = (x[0] - x[0].mean()) / x[0].std()
    res = minimize(
        lambda th: (
            -np.mean(y * log_expit(th[0] + th[1] * z) + (1 - y) * log_expit(-th[0] - th[1] * z))
            + 0.5e-4 * th[1] ** 2
        ),
        [0.0, 1.0],
        method="BFGS",
        options={"gtol": 1e-12},
    )
    assert t[0] == pytest.approx(x[0].mean() - x[0].std() * res.x[0] / res.x[1], abs=1e-6)


# ------------------------------------------------------------------ reproducibility
def test_same_seed_same_output_and_chunking_does_not_matter(monkeypatch):
    a = simulate(MODEL, 50, OPT, learner="plugin", trials=300, seed=7)
    b = simulate(MODEL, 50, OPT, learner="plugin", trials=300, seed=np.random.default_rng(7))
    assert np.array_equal(a.class_risks, b.class_risks)
    monkeypatch.setattr(sim, "_CHUNK_ELEMENTS", 160)  # 3 trials per chunk instead of all at once
    c = simulate(MODEL, 50, OPT, learner="plugin", trials=300, seed=7)
    assert np.array_equal(a.thresholds, c.thresholds)
    d = simulate(MODEL, 50, OPT, learner="plugin", trials=300, seed=8)
    assert not np.array_equal(a.thresholds, d.thresholds)


def test_draws_are_shared_across_rules_and_learners():
    # common random numbers: keeping everything is the same as no pruning
    a = simulate(MODEL, 80, None, learner="erm", trials=200, seed=3)
    b = simulate(MODEL, 80, RandomPruning((1.0, 1.0)), learner="erm", trials=200, seed=3)
    c = simulate(MODEL, 80, SSPPruning(0.0), learner="erm", trials=200, seed=3)
    assert np.array_equal(a.thresholds, b.thresholds)
    assert np.array_equal(a.thresholds, c.thresholds)


# ------------------------------------------------------------------ convergence to the closed forms
@pytest.mark.parametrize("n", [600, 2400, 9600])
def test_plugin_mean_class_risks_converge_to_pruned_risks(n):
    # The plug-in threshold is sqrt(n)-consistent, so E[R_k(t_hat)] - R_k(t*) = O(1/n) (Jensen term
    # R_k'' Var(t_hat)/2), while the SE with T trials is O(1/sqrt(nT)): bias/SE = c sqrt(T/n), with
    # c = 3.7 for class 0 and 0.6 for class 1 (measured with 40000 trials at n = 600 and 2400, seed 99).
    # With T = n/16 the bias is below 1 SE at every n while the tolerance 4 SE itself shrinks like
    # 1/n, so passing at all three n checks convergence at that rate.
    r = simulate(MODEL, n, OPT, learner="plugin", trials=n // 16, seed=11)
    pop = MODEL.pruned_risks(OPT.densities)
    assert np.all(np.abs(r.mean_class_risks - pop) < 4 * r.se_class_risks)
    # (Not so for E[max_k R_k]: at the equalised optimum max is not smooth and the excess over the
    # population worst-class risk is of order E|R_0 - R_1| ~ n^(-1/2).)


def test_erm_threshold_converges_at_the_cube_root_rate():
    # ERM over thresholds is a cube-root estimator (Kim & Pollard 1990): RMS(t_hat - t*) ~ n^(-1/3),
    # so a 16x larger n shrinks it by 16^(-1/3) = 0.397. Measured ratio (seed 1, T = 2000): 0.404.
    # The band [0.33, 0.48] allows the ~3% sampling error of each RMS and O(n^(-1/3)) corrections.
    t_star = MODEL.prune(OPT.densities).optimal_threshold()
    small = simulate(MODEL, 600, OPT, learner="erm", trials=2000, seed=1)
    large = simulate(MODEL, 9600, OPT, learner="erm", trials=1000, seed=1)
    rms = [np.sqrt(np.mean((r.thresholds - t_star) ** 2)) for r in (small, large)]
    assert 0.33 < rms[1] / rms[0] < 0.48
    # The risk bias (Jensen, ~ R_0'' E(t_hat - t*)^2 / 2 ~ n^(-2/3)) is clearly visible at n = 600 and
    # shrinks by 16^(-2/3) = 0.16 (measured 0.15); require at least a 3x reduction.
    pop = MODEL.pruned_risks(OPT.densities)
    dev = [r.mean_class_risks[0] - pop[0] for r in (small, large)]
    assert dev[0] > 4 * small.se_class_risks[0]
    assert abs(dev[1]) < dev[0] / 3


def test_erm_threshold_mean_at_large_n():
    # At n = 20000 the O(n^(-2/3)) bias of the mean threshold (about 0.004, extrapolated from -0.007
    # at n = 9600) is below the SE of a 200-trial mean (about 0.007), so the 4-SE test is honest.
    t_star = MODEL.prune(OPT.densities).optimal_threshold()
    r = simulate(MODEL, 20000, OPT, learner="erm", trials=200, seed=4)
    se = r.thresholds.std(ddof=1) / np.sqrt(r.trials)
    assert abs(r.thresholds.mean() - t_star) < 4 * se


def test_logistic_converges_to_its_population_limit():
    # Logistic regression is misspecified for unequal variances; its limit is the ridge-logistic
    # population optimum (quadrature), not t*. sqrt(n)-consistent with O(1/n) bias << SE here.
    pruned = MODEL.prune(OPT.densities)
    t_pop = population_logistic_threshold(pruned)
    r = simulate(MODEL, 3000, OPT, learner="logistic", trials=300, seed=5)
    se = r.thresholds.std(ddof=1) / np.sqrt(r.trials)
    assert abs(r.thresholds.mean() - t_pop) < 4 * se
    assert abs(t_pop - pruned.optimal_threshold()) > 10 * se  # and it is distinguishable from t*
    np.testing.assert_allclose(population_limit(MODEL, OPT, "logistic"), MODEL.class_risks(t_pop))


def test_ssp_kept_fractions_and_threshold():
    margin = 1.0
    ssp = MODEL.ssp_prune(margin)
    r = simulate(MODEL, 20000, SSPPruning(margin), learner="erm", trials=200, seed=6)
    frac = r.kept_counts / 10000  # exact class counts 10000 each
    # kept fraction ~ Binomial(10000, 2 Phi(-M / sigma_k)) / 10000: exact mean, 4 SE
    assert np.all(np.abs(frac.mean(axis=0) - ssp.densities) < 4 * frac.std(axis=0, ddof=1) / np.sqrt(200))
    # SSP keeps the boundary t* = 2.2247 (paper App. B.3), far from where random pruning with the same
    # class densities would move it (2.01); bias argument as in test_erm_threshold_mean_at_large_n.
    se = r.thresholds.std(ddof=1) / np.sqrt(r.trials)
    assert abs(r.thresholds.mean() - ssp.threshold) < 4 * se
    t_random = MODEL.prune(ssp.densities).optimal_threshold()
    assert abs(r.thresholds.mean() - t_random) > 20 * se
    np.testing.assert_array_equal(population_limit(MODEL, SSPPruning(margin), "erm"), ssp.class_risks)


def test_multinomial_class_counts():
    model = TwoGaussians((0.0, 3.0), (1.0, 1.5), (0.3, 0.7))
    r = simulate(model, 200, None, learner="erm", trials=2000, seed=9, class_counts="multinomial")
    n0 = r.kept_counts[:, 0]
    assert np.all(r.kept_counts.sum(axis=1) == 200)
    se = np.sqrt(200 * 0.3 * 0.7 / 2000)
    assert abs(n0.mean() - 60) < 4 * se
    assert n0.var(ddof=1) == pytest.approx(200 * 0.3 * 0.7, rel=0.15)  # var of a sample variance: ~3%
    exact = simulate(model, 200, None, learner="erm", trials=5, seed=9)
    assert np.all(exact.kept_counts == [60, 140])


# ------------------------------------------------------------------ score pruning masks
def test_score_pruning_masks():
    rng = np.random.default_rng(0)
    T, n = 20, 101
    n0 = np.full(T, 50)
    x = sim.gaussian_draws(rng, MODEL, (T, n), n0)
    t_full = MODEL.optimal_threshold()
    score = np.abs(x - t_full)
    hard = ScorePruning(0.3).keep_mask(MODEL, x, n0)
    easy = ScorePruning(0.3, keep="easiest").keep_mask(MODEL, x, n0)
    assert np.all(hard.sum(axis=1) == 30) and np.all(easy.sum(axis=1) == 30)  # round(0.3 * 101) = 30
    for i in range(T):
        assert score[i, hard[i]].max() < score[i, ~hard[i]].min()
        assert score[i, easy[i]].min() > score[i, ~easy[i]].max()
    quota = ScorePruning(None, class_densities=(0.2, 0.6)).keep_mask(MODEL, x, n0)
    assert np.all(quota[:, :50].sum(axis=1) == 10) and np.all(quota[:, 50:].sum(axis=1) == 31)  # 30.6 -> 31
    for i in range(T):
        for cls in (slice(0, 50), slice(50, n)):
            s, k = score[i, cls], quota[i, cls]
            assert s[k].max() < s[~k].min()
    r = simulate(MODEL, 101, ScorePruning(0.3), learner="erm", trials=50, seed=1)
    assert np.all(r.kept_counts.sum(axis=1) == 30)


# ------------------------------------------------------------------ result object
def test_result_summaries():
    r = simulate(MODEL, 100, None, learner="plugin", trials=500, seed=2)
    assert r.class_risks.shape == (500, 2) and r.thresholds.shape == (500,)
    np.testing.assert_allclose(r.average_risks, r.class_risks @ MODEL.priors)
    np.testing.assert_allclose(r.worst_class_risks, r.class_risks.max(axis=1))
    np.testing.assert_allclose(r.se_class_risks, r.class_risks.std(axis=0, ddof=1) / np.sqrt(500))
    ci = r.ci(0.95)
    lo, hi = ci["worst_class_risk"]
    assert lo < r.mean_worst_class_risk < hi
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * r.se_worst_class_risk)
    s = r.summary()
    assert s["trials"] == 500 and s["learner"] == "plugin" and len(s["mean_class_risks"]) == 2
    assert r.worst_of_mean_class_risks <= r.mean_worst_class_risk


# ------------------------------------------------------------------ finite-sample allocation
def test_optimal_densities_mc_small_n_beats_population_optimum():
    # Finding (seed 0, trials 4000): at n = 50 the plug-in's worst-class risk is minimised near
    # balanced densities (0.52, 0.48) and the population optimum (1/3, 2/3) is worse by
    # 0.0092 +- 0.0005 on fresh draws; the difference is a paired estimate with its own SE.
    r = optimal_densities_mc(MODEL, 50, 0.5, learner="plugin", trials=1000, seed=0)
    assert r.counts.sum() == 25
    np.testing.assert_allclose(r.population_densities, [8 / 25, 17 / 25])  # round(25 / 3) = 8
    assert r.difference > 4 * r.se_difference
    assert r.densities[0] > r.population_densities[0]
    i = int(np.argmin(r.search_objective))
    assert r.search_densities[i] == pytest.approx(r.densities[0])
    again = optimal_densities_mc(MODEL, 50, 0.5, learner="plugin", trials=1000, seed=0)
    assert np.array_equal(again.counts, r.counts) and again.worst_class_risk == r.worst_class_risk


def test_optimal_densities_mc_approaches_population_optimum():
    # At n = 2000 the gap has shrunk to 3e-4 (seed 0, 4000 trials: d0 = 0.355 vs 1/3); require the
    # finite-sample optimum to sit much closer to 1/3 than to the uniform 0.5.
    r = optimal_densities_mc(MODEL, 2000, 0.5, learner="plugin", trials=300, seed=0)
    assert abs(r.densities[0] - 1 / 3) < abs(r.densities[0] - 0.5)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n=10, pruning=RandomPruning((0.05, 1.0))), ValueError, r"n=10 is too small for densities"),
        (dict(n=10, pruning=RandomPruning((0.1, 1.0)), learner="plugin"), ValueError, "needs at least 2"),
        (dict(n=1), ValueError, "n must be >= 2, got 1"),
        (dict(n=10.5), TypeError, "n must be an integer, got 10.5"),
        (dict(n=100, learner="svm"), ValueError, "learner must be one of .* got 'svm'"),
        (dict(n=100, class_counts="poisson"), ValueError, "class_counts must be one of .* got 'poisson'"),
        (dict(n=100, trials=0), ValueError, "trials must be >= 1, got 0"),
        (dict(n=100, pruning=(0.5, 0.5)), TypeError, "pruning must be None, RandomPruning"),
        (
            dict(n=100, pruning=ScorePruning(0.5, class_densities=(0.2, 0.2))),
            ValueError,
            "density=0.5 disagrees with class_densities",
        ),
        (
            dict(n=20, pruning=SSPPruning(3.0), learner="plugin"),
            ValueError,
            "too small for pruning=SSPPruning",
        ),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate(MODEL, trials=kwargs.pop("trials", 50), seed=0, **kwargs)


def test_bad_specs():
    with pytest.raises(ValueError, match=r"densities must lie in \[0, 1\]"):
        RandomPruning((0.5, 1.5))
    with pytest.raises(TypeError, match="densities must be a pair"):
        RandomPruning(0.5)
    with pytest.raises(ValueError, match="margin must be >= 0, got -1"):
        SSPPruning(-1)
    with pytest.raises(ValueError, match="keep must be 'hardest' or 'easiest', got 'middle'"):
        ScorePruning(0.5, keep="middle")
    with pytest.raises(ValueError, match="density must lie in"):
        ScorePruning(1.5)
    with pytest.raises(TypeError, match="model must be a TwoGaussians"):
        simulate("model", 10)
    with pytest.raises(ValueError, match="n=4 is too small for density=0.5"):
        optimal_densities_mc(MODEL, 4, 0.5, learner="plugin")
    with pytest.raises(NotImplementedError):
        population_limit(MODEL, ScorePruning(0.5), "erm")


def test_population_limit_random_pruning_is_pruned_risks():
    np.testing.assert_array_equal(population_limit(MODEL, OPT, "plugin"), MODEL.pruned_risks(OPT.densities))
    np.testing.assert_array_equal(population_limit(MODEL), MODEL.class_risks(MODEL.optimal_threshold()))


def test_population_logistic_is_bayes_when_well_specified():
    # With sigma0 = sigma1 the log-odds is linear in x, so the unpenalised population logistic fit is
    # the Bayes rule and its threshold is t* (eq. 3): an independent check of the quadrature.
    eq = TwoGaussians((0.0, 3.0), (1.0, 1.0), (0.3, 0.7))
    assert population_logistic_threshold(eq, l2=0.0) == pytest.approx(eq.optimal_threshold(), abs=1e-9)


# ------------------------------------------------------------------ pruning specs produce their own masks
def test_pruning_specs_keep_masks_and_type_check():
    rng = np.random.default_rng(4)
    T, n = 6, 40
    n0 = np.array([10, 15, 20, 20, 25, 30])
    x = sim.gaussian_draws(rng, MODEL, (T, n), n0)
    col = np.arange(n)[None, :]
    lab1 = col >= n0[:, None]
    # random pruning keeps the first round(d_k n_k) columns of each class block
    mask = RandomPruning((0.5, 0.25)).keep_mask(MODEL, x, n0)
    for i in range(T):
        m0, m1 = int(np.floor(0.5 * n0[i] + 0.5)), int(np.floor(0.25 * (n - n0[i]) + 0.5))
        want = np.zeros(n, bool)
        want[:m0] = True
        want[n0[i] : n0[i] + m1] = True
        assert np.array_equal(mask[i], want)
    ssp = SSPPruning(0.7).keep_mask(MODEL, x, n0)
    assert np.array_equal(ssp, np.abs(x - np.where(lab1, 6.0, 0.0)) >= 0.7)
    # rows with different class counts: the draws are class-conditional row by row
    z = np.random.default_rng(4).standard_normal((T, n))
    assert np.array_equal(x, np.where(lab1, 6.0 + 2.0 * z, 0.0 + 1.0 * z))
    specs = (RandomPruning((1, 1)), SSPPruning(0), ScorePruning(0.5))
    assert all(isinstance(p, sim.PruningSpec) for p in specs)
    with pytest.raises(TypeError, match="pruning must be None, RandomPruning, SSPPruning or ScorePruning"):
        population_limit(MODEL, "random")


def test_score_quota_too_small_is_refused_before_drawing(monkeypatch):
    monkeypatch.setattr(sim, "gaussian_draws", lambda *a: pytest.fail("drew samples"))
    with pytest.raises(ValueError, match=r"n=20 is too small for pruning=ScorePruning.* keep \[0, 6\]"):
        simulate(MODEL, 20, ScorePruning(None, class_densities=(0.01, 0.6)), trials=5)


def test_default_seed_is_zero():
    a = simulate(MODEL, 60, OPT, learner="erm", trials=20)
    b = simulate(MODEL, 60, OPT, learner="erm", trials=20, seed=0)
    assert np.array_equal(a.thresholds, b.thresholds)
    with pytest.raises(TypeError, match="seed must be a non-negative int or a numpy.random.Generator"):
        simulate(MODEL, 60, trials=2, seed="x")


# ------------------------------------------------------------------ logistic with l2 = 0 on separable data
def test_unpenalised_logistic_on_separable_data_is_the_max_margin_threshold():
    # No finite minimiser exists; the limit of ridge logistic as l2 -> 0 is the hard-margin SVM
    # threshold (unpenalised intercept), checked against scikit-learn's SVC and against the ridge
    # fits themselves as l2 decreases.
    svm = pytest.importorskip("sklearn.svm")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 7), rng.normal(9, 2, 13)])
    y = (np.arange(20) >= 7).astype(int)
    assert x[:7].max() < x[7:].min()  # separable
    t0 = learners.learn_logistic(x[None], np.array([7]), None, 0.0)[0]
    svc = svm.SVC(kernel="linear", C=1e10).fit(x[:, None], y)
    assert t0 == pytest.approx(-svc.intercept_[0] / svc.coef_[0, 0], abs=1e-6)
    gaps = [abs(learners.learn_logistic(x[None], np.array([7]), None, l2)[0] - t0)
            for l2 in 10.0 ** -np.arange(2, 13, 2)]
    assert all(g1 < g0 for g0, g1 in zip(gaps, gaps[1:])) and gaps[-1] < 1e-4


def test_unpenalised_logistic_mixed_rows_and_masks():
    # row 0 separable, row 1 separable the wrong way (majority class 1 -> -inf), row 2 overlapping
    # (finite unpenalised fit, checked against scipy), row 3 separable only among the kept samples.
    x = np.array([
        [0.0, 1.0, 2.0, 5.0, 6.0, 7.0, 8.0],
        [5.0, 6.0, 7.0, 0.0, 1.0, 2.0, 3.0],
        [0.0, 3.0, 1.0, 2.0, 4.0, 1.5, 6.0],
        [0.0, 9.0, 2.0, 5.0, 6.0, 7.0, 1.0],
    ])
    valid = np.ones_like(x, dtype=bool)
    valid[3, [1, 6]] = False
    t = learners.learn_logistic(x, np.full(4, 3), valid, 0.0)
    assert t[0] == 3.5 and t[1] == -np.inf and t[3] == 3.5
    y = (np.arange(7) >= 3).astype(float)
    z = (x[2] - x[2].mean()) / x[2].std()
    res = minimize(
        lambda th: -np.mean(y * log_expit(th[0] + th[1] * z) + (1 - y) * log_expit(-th[0] - th[1] * z)),
        [0.0, 1.0], method="BFGS", options={"gtol": 1e-12},
    )
    assert t[2] == pytest.approx(x[2].mean() - x[2].std() * res.x[0] / res.x[1], abs=1e-6)
    sep = TwoGaussians((0.0, 40.0), (1.0, 1.0))
    r = simulate(sep, 40, None, "logistic", trials=3, seed=0, logistic_l2=0.0)
    assert np.all(np.isfinite(r.thresholds)) and np.all(r.class_risks < 1e-30)


# ------------------------------------------------------------------ memory bound (n = 10**9 ran for minutes)
def test_huge_n_is_refused_before_any_work(monkeypatch):
    monkeypatch.setattr(sim, "gaussian_draws", lambda *a: pytest.fail("drew samples"))
    msg = r"simulate\(n=1000000000, trials=1, learner='erm'\) needs about 59.6 GiB"
    with pytest.raises(ValueError, match=msg):
        simulate(MODEL, 10**9, trials=1)
    with pytest.raises(ValueError, match="over max_memory=1000000 bytes"):
        simulate(MODEL, 5000, trials=2, max_memory=10**6)
    with pytest.raises(ValueError, match=r"optimal_densities_mc\(n=5000, trials=100, .* over max_memory"):
        optimal_densities_mc(MODEL, 5000, 0.5, trials=100, max_memory=10**6)
    with pytest.raises(TypeError, match="max_memory must be an integer"):
        simulate(MODEL, 50, trials=2, max_memory=1.5)


def test_memory_limit_does_not_change_results():
    # a limit that the call fits under leaves the numbers untouched
    a = simulate(MODEL, 300, OPT, learner="logistic", trials=10, seed=1)
    b = simulate(MODEL, 300, OPT, learner="logistic", trials=10, seed=1, max_memory=2**18 * 128 + 10 * 128)
    assert np.array_equal(a.thresholds, b.thresholds)


# ------------------------------------------------------------------ ties in the finite-sample allocation
def test_optimal_densities_mc_breaks_ties_toward_uniform():
    # Symmetric, separated classes: every allocation has (numerically) zero risk. Before the tie rule
    # the search returned (0.36, 0.64) for means 40 apart (risks ~1e-85 differing in noise) and the
    # smallest feasible (0.01, 0.99) for means 100 apart (risks exactly 0).
    for gap in (40.0, 100.0):
        sep = TwoGaussians((0.0, gap), (1.0, 1.0), (0.5, 0.5))
        r = optimal_densities_mc(sep, 200, 0.5, learner="erm", trials=20, seed=0)
        assert r.tie and r.worst_class_risk < 1e-12
        np.testing.assert_array_equal(r.densities, [0.5, 0.5])
    assert np.all(r.search_objective < 1e-12)
    assert r.uniform_worst_class_risk == r.worst_class_risk
    r = optimal_densities_mc(MODEL, 400, 0.5, learner="plugin", trials=200, seed=0)
    assert not r.tie  # a real optimum is unaffected


@pytest.mark.parametrize(
    "model, l2",
    [
        (MODEL.prune(OPT.densities), 1e-2),
        # nearly separable: the former undamped population solver returned t = -2111 here
        (TwoGaussians((0.0, 40.0), (1.0, 0.5), (0.1, 0.9)), 1e-2),
    ],
)
def test_population_logistic_matches_scipy_on_the_same_quadrature(model, l2):
    # the one Newton solver on the quadrature objective vs Nelder-Mead on it (several starts)
    nodes = 200
    xi, wi = np.polynomial.hermite_e.hermegauss(nodes)
    wi = wi / wi.sum()
    phi = model.priors
    m = phi @ model.means
    s = np.sqrt(phi @ (model.stds**2 + model.means**2) - m * m)
    z = (model.means[:, None] + model.stds[:, None] * xi[None, :] - m) / s

    def f(th):
        eta = th[0] + th[1] * z
        return -(phi[0] * wi @ log_expit(-eta[0]) + phi[1] * wi @ log_expit(eta[1])) + 0.5 * l2 * th[1] ** 2

    opts = {"xatol": 1e-10, "fatol": 1e-15, "maxiter": 4000}
    res = min((minimize(f, [0.0, b0], method="Nelder-Mead", options=opts) for b0 in (1, 10, 100)),
              key=lambda r: r.fun)
    t = population_logistic_threshold(model, l2=l2, nodes=nodes)
    assert t == pytest.approx(m - s * res.x[0] / res.x[1], abs=1e-6)


def test_one_memory_check_for_every_large_monte_carlo():
    # issue 17: simulate's memory estimate is the package's one helper (validation.check_memory), reused
    # by GaussianMixture.sample, the surrogate fits and the finite-sample recall predictions.
    from gaussian_theory import validation

    assert sim._check_memory is validation.check_memory and sim.MAX_MEMORY == validation.MAX_MEMORY
    with pytest.raises(ValueError, match=r"lower n or trials, or raise max_memory"):
        validation.check_memory(2.0**40, validation.MAX_MEMORY, "simulate(...)")
    validation.check_memory(1.0, 2, "tiny")  # fits: no error
