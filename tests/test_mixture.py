"""K-class Gaussian mixtures (gaussian_theory.mixture).

Independent references: TwoGaussians (p = 1) via the two-root decomposition of the 1-D Bayes rule,
the shared-covariance (LDA) closed form, a second exact formula for two isotropic classes (rotated
quadratic form + quadrature, itself checked against 30-digit mpmath), Monte Carlo with fixed seeds
and 4-standard-error tolerances, and brute-force grids.
"""

import numpy as np
import pytest
from scipy.special import ndtr

import gaussian_theory.allocation as allocation
import gaussian_theory.apportionment as apportionment
import gaussian_theory.minimax as mm
from gaussian_theory.mixture import GaussianMixture
from gaussian_theory.montecarlo import MCDraws
from gaussian_theory.two_gaussians import TwoGaussians
from gaussian_theory.two_isotropic import rotated_risks

TG_MODELS = [
    TwoGaussians((0.0, 6.0), (1.0, 2.0), (0.5, 0.5)),
    TwoGaussians((0.0, 3.0), (1.0, 2.0), (0.5, 0.5)),
    TwoGaussians((-1.0, 1.0), (1.0, 1.5), (0.3, 0.7)),
    TwoGaussians((0.0, 2.0), (0.5, 1.0), (0.8, 0.2)),
    TwoGaussians((0.0, 4.0), (2.0, 1.0), (0.4, 0.6)),  # sigma0 > sigma1: class 1 on the interval
]


# ------------------------------------------------------------------ p = 1 against TwoGaussians
@pytest.mark.parametrize("tg", TG_MODELS, ids=repr)
def test_one_dimensional_bayes_risks_match_two_gaussians_decomposition(tg):
    """The 1-D Bayes rule switches class at both roots t_lo < t_hi of phi0 f0 = phi1 f1; TwoGaussians'
    single threshold is one of them (t*). Region probabilities computed from TwoGaussians.class_risks
    at the two roots (roots from t* and Vieta, independent of the mixture code) must equal the
    mixture's noncentral-chi-square risks to 1e-12."""
    gm = GaussianMixture.from_two_gaussians(tg)
    (mu0, mu1), (s0, s1) = tg.means, tg.stds
    t_star = tg.optimal_threshold()
    t_other = 2 * (mu0 * s1**2 - mu1 * s0**2) / (s1**2 - s0**2) - t_star  # Vieta: sum of roots = -b/a
    t_lo, t_hi = sorted((t_star, t_other))
    r_lo, r_hi = tg.class_risks(t_lo), tg.class_risks(t_hi)
    if s0 < s1:  # class 0 predicted on (t_lo, t_hi)
        want = np.array([ndtr((t_lo - mu0) / s0) + r_hi[0], r_hi[1] - r_lo[1]])
    else:  # class 1 predicted on (t_lo, t_hi)
        want = np.array([r_lo[0] - r_hi[0], r_lo[1] + ndtr((mu1 - t_hi) / s1)])
    got = gm.class_risks()
    assert got.method == "exact" and np.all(got.se == 0)
    np.testing.assert_allclose(got.risks, want, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gm.bayes_intervals_1d(), [t_lo, t_hi], rtol=1e-12)
    # The single-threshold risk differs exactly by the mass beyond the second crossing ...
    gap = np.abs(got.risks - tg.class_risks(t_star))
    # ... which is negligible for the paper's well-separated default model:
    if tg == TG_MODELS[0]:
        assert gap.max() < 1e-6


@pytest.mark.parametrize(
    "tg",
    [TwoGaussians((0.0, 2.0), (1.3, 1.3), (0.3, 0.7)), TwoGaussians((-1.0, 4.0), (0.7, 0.7), (0.5, 0.5))],
    ids=repr,
)
def test_equal_variances_single_threshold_agrees_exactly(tg):
    # sigma0 = sigma1: the Bayes rule is one threshold, so TwoGaussians and the mixture must coincide.
    gm = GaussianMixture.from_two_gaussians(tg)
    np.testing.assert_allclose(
        gm.class_risks().risks, tg.class_risks(tg.optimal_threshold()), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        gm.class_risks(priors=[0.9, 0.1]).risks,
        tg.class_risks(tg.optimal_threshold([0.9, 0.1])),
        rtol=1e-12,
        atol=1e-14,
    )


def test_predict_switches_at_the_1d_roots():
    gm = GaussianMixture.from_two_gaussians(TG_MODELS[1])
    t_lo, t_hi = gm.bayes_intervals_1d()
    eps = 1e-7
    pts = np.array([t_lo - eps, t_lo + eps, t_hi - eps, t_hi + eps])
    assert gm.predict(pts).tolist() == [1, 0, 0, 1]


# ------------------------------------------------------------------ exact vs Monte Carlo / second formula
@pytest.mark.parametrize(
    "p, stds, priors", [(3, (1.0, 1.7), (0.3, 0.7)), (5, (2.0, 1.0), (0.5, 0.5)), (1, (1.0, 2.0), (0.6, 0.4))]
)
def test_ncx2_closed_form_vs_monte_carlo(p, stds, priors):
    rng = np.random.default_rng(p)
    gm = GaussianMixture(rng.normal(size=(2, p)) * 1.5, stds=stds, priors=priors)
    exact = gm.class_risks()
    mc = gm.class_risks(method="mc", n_mc=200_000, seed=1)
    assert exact.method == "exact" and mc.method == "mc"
    assert np.all(np.abs(mc.risks - exact.risks) < 4 * mc.se)


def test_ncx2_agrees_with_rotated_formula():
    # Two different exact formulas: scipy.stats.ncx2 tails, and the rotated quadratic form with
    # Gaussian CDFs and adaptive quadrature (the latter matched 30-digit mpmath to 1e-16 on three of
    # these cases when written).
    rng = np.random.default_rng(0)
    worst = 0.0
    for p in (1, 2, 3, 5, 10):
        for _ in range(6):
            gm = GaussianMixture(
                rng.normal(size=(2, p)) * rng.uniform(0.2, 3),
                stds=rng.uniform(0.5, 2, 2),
                priors=[w := rng.uniform(0.05, 0.95), 1 - w],
            )
            diff = gm._exact_two_isotropic(gm.priors) - rotated_risks(gm.means, gm.stds, gm.priors)
            worst = max(worst, np.abs(diff).max())
    assert worst < 1e-10


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-9, 1e-13])
def test_nearly_equal_variances_are_continuous(eps):
    # As s1 -> s0 the centre m runs off to infinity; the risks must tend to the linear (equal
    # variance) closed form, with a derivative of order 1 in s1 (here |dR/ds1| < 1).
    means = [[0.0, 0.0, 0.0], [2.0, 1.0, 0.0]]
    lim = GaussianMixture(means, stds=[1.0, 1.0]).class_risks().risks
    got = GaussianMixture(means, stds=[1.0, 1.0 + eps]).class_risks().risks
    assert np.all(np.isfinite(got))
    assert np.abs(got - lim).max() < 2 * eps + 1e-13


def test_full_covariance_monte_carlo_vs_lda_closed_form():
    # Shared covariance: the Bayes rule is linear and R_0 = Phi(-(D^2/2 + c)/D), R_1 = Phi((c - D^2/2)/D)
    # with the Mahalanobis distance D and c = log(w0/w1).
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 0.5 * np.eye(3)
    mu = np.array([[0.0, 0.0, 0.0], [1.0, -0.5, 2.0]])
    gm = GaussianMixture(mu, covariances=np.stack([cov, cov]), priors=[0.3, 0.7])
    mc = gm.class_risks(n_mc=200_000, seed=3)
    d = mu[1] - mu[0]
    dist = np.sqrt(d @ np.linalg.solve(cov, d))
    c = np.log(0.3 / 0.7)
    want = np.array([ndtr(-(dist**2 / 2 + c) / dist), ndtr((c - dist**2 / 2) / dist)])
    assert mc.method == "mc"
    assert np.all(np.abs(mc.risks - want) < 4 * mc.se)


def test_isotropic_given_as_covariances_uses_exact_path():
    a = GaussianMixture([[0.0, 0.0], [2.0, 0.0]], stds=[1.0, 1.5])
    b = GaussianMixture([[0.0, 0.0], [2.0, 0.0]], covariances=[np.eye(2), 2.25 * np.eye(2)])
    assert b.isotropic
    np.testing.assert_allclose(a.class_risks().risks, b.class_risks().risks, rtol=1e-14)
    x = np.random.default_rng(0).normal(size=(50, 2)) * 2
    np.testing.assert_allclose(a.log_densities(x), b.log_densities(x), rtol=1e-12)


# ------------------------------------------------------------------ minimax
def test_minimax_exact_equalises_and_no_grid_point_is_better():
    gm = GaussianMixture([[0.0, 0.0, 0.0], [2.5, 0.0, 0.0]], stds=[1.0, 1.8], priors=[0.5, 0.5])
    res = gm.minimax()
    assert res.method == "exact" and res.converged and not res.on_boundary
    assert res.spread < 1e-12
    thetas = np.linspace(-4, 4, 401)
    grid = [gm.class_risks(priors=[1 / (1 + np.exp(-t)), 1 / (1 + np.exp(t))]).risks.max() for t in thetas]
    assert min(grid) >= res.max_risk - 1e-12
    assert res.priors[1] > res.priors[0]  # the wider class gets the larger training prior


def test_minimax_equal_variances_1d_is_uniform():
    gm = GaussianMixture.from_two_gaussians(TwoGaussians((0.0, 3.0), (1.0, 1.0), (0.2, 0.8)))
    np.testing.assert_allclose(gm.minimax_priors(), [0.5, 0.5], atol=1e-12)


def test_minimax_monte_carlo_three_classes_equalises_on_fresh_draws():
    gm = GaussianMixture([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], stds=[1.0, 2.0, 1.5])
    res = gm.minimax(n_mc=200_000, seed=0)
    assert res.method == "mc" and res.converged and res.spread <= res.tol
    fresh = gm.class_risks(res.priors, n_mc=200_000, seed=12345)
    # Pairwise differences on independent draws: noise from both the optimisation sample and the
    # fresh sample, each with standard error ~ se per class.
    for i in range(3):
        for j in range(i + 1, 3):
            tol = 4 * np.sqrt(res.se[i] ** 2 + res.se[j] ** 2 + fresh.se[i] ** 2 + fresh.se[j] ** 2)
            assert abs(fresh.risks[i] - fresh.risks[j]) < tol
    uniform = gm.class_risks(n_mc=200_000, seed=12345)
    assert fresh.risks.max() < uniform.risks.max() - 4 * (fresh.se.max() + uniform.se.max())


# ------------------------------------------------------------------ sampling, pruning, allocations
def test_sample_counts_and_moments():
    cov = np.array([[[1.0, 0.5], [0.5, 2.0]], [[0.5, 0.0], [0.0, 0.5]]])
    gm = GaussianMixture([[0.0, 1.0], [3.0, -1.0]], covariances=cov, priors=[0.25, 0.75])
    x, y = gm.sample(40_000, rng=0)
    assert x.shape == (40_000, 2) and y.dtype.kind == "i"
    assert np.bincount(y).tolist() == [10_000, 30_000]
    for k, n in ((0, 10_000), (1, 30_000)):
        xk = x[y == k]
        se = np.sqrt(np.diag(cov[k]) / n)
        assert np.all(np.abs(xk.mean(axis=0) - gm.means[k]) < 4 * se)
    x2, y2 = gm.sample(40_000, rng=0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    _, ym = gm.sample(1000, rng=1, class_counts="multinomial")
    assert ym.size == 1000


def test_drop_densities_default_population_keeps_a_tiny_class():
    # The default class sizes are apportionment.population_sizes(priors): 10^6 pi_k rounded, but never 0
    # for a positive prior (np.round(10^6 pi_k) gave the 1e-7 class size 0, hence density 0).
    gm = GaussianMixture([[0.0], [1.0], [2.0]], priors=[0.5, 0.4999999, 1e-7])
    recalls = gm.recalls(n_mc=2000, seed=0)
    d = gm.drop_densities(0.5, n_mc=2000, seed=0)
    assert d[2] > 0
    want = allocation.drop_densities(recalls, apportionment.population_sizes(gm.priors), 0.5)
    np.testing.assert_array_equal(d, want)


def test_prune_and_drop_densities_use_allocation():
    gm = GaussianMixture([[0.0], [3.0], [1.0]], stds=[1.0, 2.0, 0.5], priors=[0.2, 0.5, 0.3])
    pruned = gm.prune([0.5, 1.0, 0.2])
    np.testing.assert_allclose(pruned.priors, np.array([0.1, 0.5, 0.06]) / 0.66)
    recalls = gm.recalls(n_mc=20_000, seed=0)
    want = allocation.drop_densities(recalls, np.round(gm.priors * 1_000_000), 0.4)
    np.testing.assert_array_equal(gm.drop_densities(0.4, n_mc=20_000, seed=0), want)
    # class sizes other than the priors' proportions, large enough that every class keeps 5 or more
    # (at [10, 10, 10] two would keep 3.9 and 2.0: the few-samples warning, tested in test_allocation)
    np.testing.assert_array_equal(
        gm.drop_densities(0.4, class_sizes=[100, 100, 100], n_mc=20_000, seed=0),
        allocation.drop_densities(recalls, [100, 100, 100], 0.4),
    )
    dens = gm.minimax_densities(0.4, n_mc=20_000)
    assert dens @ gm.priors == pytest.approx(0.4)
    comp = gm.compare_allocations(0.4, n_mc=20_000)
    assert set(comp) == {"uniform", "DRoP", "minimax"}
    assert comp["minimax"]["worst_class_risk"] < comp["uniform"]["worst_class_risk"]


def test_minimax_densities_two_classes_match_two_gaussians_when_unsaturated():
    # Equal variances in 1-D: the Bayes rule is TwoGaussians' threshold, the minimax prior is 1/2,
    # and the densities must be TwoGaussians.worst_class_optimal_densities (equal-std case).
    tg = TwoGaussians((0.0, 2.0), (1.0, 1.0), (0.3, 0.7))
    gm = GaussianMixture.from_two_gaussians(tg)
    np.testing.assert_allclose(gm.minimax_densities(0.4), tg.worst_class_optimal_densities(0.4), rtol=1e-10)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(means=[[0.0, 0.0]]), ValueError, "K >= 2 classes, got means with K = 1"),
        (
            dict(means=[[0.0, 0.0], [1.0, 1.0]], stds=[1.0, 1.0, 1.0]),
            ValueError,
            r"stds must have shape \(2,\)",
        ),
        (
            dict(means=[[0.0, 0.0], [1.0, 1.0]], stds=[1.0, 0.0]),
            ValueError,
            r"stds must be > 0, got stds\[1\] = 0.0",
        ),
        (
            dict(means=[[0.0, 0.0], [1.0, 1.0]], covariances=np.ones((2, 3, 3))),
            ValueError,
            r"covariances must have shape \(2, 2, 2\)",
        ),
        (
            dict(means=[[0.0, 0.0], [1.0, 1.0]], covariances=[np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]),
            ValueError,
            r"covariances\[1\] must be positive definite, got smallest eigenvalue -1.0",
        ),
        (
            dict(means=[[0.0, 0.0], [1.0, 1.0]], covariances=[np.eye(2), [[1.0, 0.5], [0.0, 1.0]]]),
            ValueError,
            r"covariances\[1\] must be symmetric",
        ),
        (
            dict(means=[[0.0, 0.0], [1.0, 1.0]], stds=[1, 1], covariances=np.ones((2, 2, 2))),
            ValueError,
            "not both",
        ),
        (dict(means=[[0.0], [1.0]], priors=[0.5, 0.6]), ValueError, "priors must sum to 1"),
        (dict(means=[[0.0], [1.0]], priors=[1.0]), ValueError, r"priors must have shape \(2,\)"),
        (dict(means=np.zeros((2, 2, 2))), ValueError, r"means must have shape \(K, p\)"),
        (dict(means="ab"), TypeError, "means must be numeric"),
    ],
)
def test_bad_constructor_inputs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        GaussianMixture(**kwargs)


def test_bad_method_inputs():
    gm = GaussianMixture([[0.0, 0.0], [1.0, 1.0]], stds=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\), got shape \(3, 3\)"):
        gm.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"densities must have shape \(2,\)"):
        gm.prune([0.5])
    with pytest.raises(ValueError, match=r"densities must lie in \[0, 1\]"):
        gm.prune([0.5, 1.2])
    with pytest.raises(ValueError, match="method='exact' needs K = 2 isotropic"):
        GaussianMixture(np.zeros((3, 2))).class_risks(method="exact")
    with pytest.raises(ValueError, match="n_mc must be >= 2, got 1"):
        gm.class_risks(method="mc", n_mc=1)
    with pytest.raises(TypeError, match="n must be an integer"):
        gm.sample(2.5)
    with pytest.raises(ValueError, match="bayes_intervals_1d needs p = 1"):
        gm.bayes_intervals_1d()


def test_minimax_densities_when_a_class_saturates():
    # A hard class (wide) that would need more than all of its data at d = 0.5 (its minimax prior is
    # 0.61 but keeping all of it only gives 0.2 / 0.5 = 0.4): it is kept whole and the others are
    # reallocated to minimise the worst class. Measured (50000 draws, seed 0): out of sample risks
    # (0.052, 0.185, 0.177) vs DRoP's worst 0.192 and uniform's 0.233, all on the same draws.
    gm = GaussianMixture([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], stds=[0.6, 3.0, 0.8], priors=[0.4, 0.2, 0.4])
    n = 50_000
    comp = gm.compare_allocations(0.5, n_mc=n, seed=0)
    d = comp["minimax"]["densities"]
    assert d @ gm.priors == pytest.approx(0.5)
    assert d[1] == pytest.approx(1.0)

    # In sample: the draws the solver fitted on (as compare_allocations calls it: seed 0, at most 50000
    # points, the "fit" seed derived by minimax._seeds). With class 1 kept whole the budget line is
    # one-dimensional in d_0; its minimax point equalises the two worst classes (R_1 falls and R_2 rises
    # with d_0; bisection on R_2 - R_1), and the solver's worst class must reach that value. (Its own
    # answer is not equalised: the soft-maximum polish stops where the capped class's risk is flat,
    # about 0.005 above class 2's, 0.0003 above the equalised optimum.)
    alloc = mm.minimax_densities(gm, 0.5, n_mc=n, seed=0, n_certify=0)
    np.testing.assert_array_equal(alloc.densities, d)
    fit = MCDraws(gm, n, mm._seeds(0, "fit")[0])

    def fit_risks(d0):
        dens = np.array([d0, 1.0, (0.5 - 0.4 * d0 - 0.2) / 0.4])
        return fit.risks(dens * gm.priors / 0.5)[:2]

    lo, hi = 0.45, 0.6
    assert fit_risks(lo)[0][2] < fit_risks(lo)[0][1] and fit_risks(hi)[0][2] > fit_risks(hi)[0][1]
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        r_mid = fit_risks(mid)[0]
        lo, hi = (mid, hi) if r_mid[2] < r_mid[1] else (lo, mid)
    r_eq, se_eq = fit_risks(hi)
    top2 = np.sort(r_eq)[-2:]
    assert top2[1] - top2[0] <= 0.25 * se_eq.mean() + 2 / n  # an equalised active set
    r_fit, se_fit = fit.risks(alloc.priors)[:2]
    assert r_fit.max() <= r_eq.max() + 0.25 * se_fit.mean() + 2 / n  # the solver reaches it

    # Out of sample (compare_allocations' evaluation draws, independent of the fit draws): the gap of
    # the two worst classes i < j is their in-sample gap plus the difference of the estimation errors
    # of R_j - R_i in the two independent samples, whose standard deviation is
    # sqrt(se_fit_i^2 + se_fit_j^2 + se_i^2 + se_j^2) (classes and samples drawn independently);
    # allow four of them, as minimax._pairwise_tol does.
    r, se = comp["minimax"]["risks"], comp["minimax"]["se"]
    i, j = np.argsort(r)[-2:]
    noise = np.sqrt(se_fit[i] ** 2 + se_fit[j] ** 2 + se[i] ** 2 + se[j] ** 2)
    assert r[j] - r[i] <= abs(r_fit[j] - r_fit[i]) + 4 * noise
    assert r.max() < comp["DRoP"]["worst_class_risk"] < comp["uniform"]["worst_class_risk"]


def test_monte_carlo_predictions_are_the_bayes_rule_of_predict():
    # MCDraws counts the errors of argmax_j [log w_j + log N(x; mu_j, Sigma_j)] on its draws. Rebuilt
    # here from its documented stream (default_rng(seed), class by class, standard_normal((m, p)) scaled
    # by the class std) and classified by GaussianMixture.predict, the counts must agree exactly.
    gm = GaussianMixture(2.5 * np.eye(5), stds=np.geomspace(0.5, 1.5, 5))
    w = np.random.default_rng(1).dirichlet(np.ones(5))
    rng = np.random.default_rng(0)
    want = []
    for k in range(5):
        x = gm.means[k] + gm.stds[k] * rng.standard_normal((5000, 5))
        want.append(np.count_nonzero(gm.predict(x, priors=w) != k))
    np.testing.assert_array_equal(MCDraws(gm, 5000, 0).error_counts(w), want)
    assert 0 < sum(want) < 5 * 5000


def test_constrained_minimax_beats_drop_when_classes_saturate():
    # Ten equidistant classes of growing spread at d = 0.8 (the figures' many-class design): several
    # hard classes saturate. The capped minimax must not be worse than DRoP on the same draws
    # (measured with 200000 draws: worst-class risk 0.208 vs 0.240).
    gm = GaussianMixture(2.5 * np.eye(10), stds=np.geomspace(0.5, 1.5, 10))
    comp = gm.compare_allocations(0.8, n_mc=20_000, seed=0)
    for name in ("DRoP", "minimax"):
        assert comp[name]["densities"] @ gm.priors == pytest.approx(0.8)
        assert np.all(comp[name]["densities"] <= 1.0)
    assert comp["minimax"]["worst_class_risk"] < comp["DRoP"]["worst_class_risk"]


@pytest.mark.parametrize("sizes", [[1, 2], [1, 2, 3, 4]])
def test_drop_densities_class_sizes_of_wrong_length_named(sizes):
    # Issue 10: the error complained about "recalls has 3 entries" although recalls were not passed.
    gm = GaussianMixture([[0.0], [1.0], [2.0]], stds=[1.0, 1.0, 1.0])
    msg = rf"class_sizes must have one entry per class \(3\), got {len(sizes)}"
    with pytest.raises(ValueError, match=msg):
        gm.drop_densities(0.5, class_sizes=sizes, n_mc=1000)
    with pytest.raises(ValueError, match=msg):
        gm.compare_allocations(0.5, class_sizes=sizes, n_mc=1000)
    assert gm.drop_densities(0.5, class_sizes=[1000, 2000, 3000], n_mc=1000).shape == (3,)


# ------------------------------------------------------------------ issue 17: limits, and the tied fast path
def test_huge_monte_carlo_is_refused_before_any_work():
    with pytest.raises(ValueError, match=r"GaussianMixture.sample\(n=1000000000000\).*GiB of working memory"):
        GaussianMixture([0, 1]).sample(10**12)  # a raw MemoryError before
    with pytest.raises(ValueError, match=r"n_mc must be at most 100,000,000 Monte Carlo draws per class"):
        GaussianMixture([0, 1, 2]).class_risks(n_mc=10**12)  # ran without limit before
    with pytest.raises(ValueError, match="n_mc must be at most"):
        GaussianMixture([0, 1, 2]).recalls(n_mc=10**9)
    with pytest.raises(ValueError, match="n_mc must be at most"):
        MCDraws(GaussianMixture([0, 1, 2]), 10**9, 0)
    with pytest.raises(ValueError, match=r"class_counts must be one of"):
        GaussianMixture([0, 1]).sample(5, class_counts="even")
    x, y = GaussianMixture([0, 1]).sample(10, rng=0, max_memory=10**6)
    assert x.shape == (10, 1) and y.shape == (10,)


def test_mixture_matrices_are_priced_before_they_are_built():
    # (2, 40000) means: two 40000 x 40000 covariances would be 25.6 GB; one shared is still 12.8 GB
    with pytest.raises(ValueError, match=r"K = 2 classes in p = 40000 dimensions .* GiB of working memory"):
        GaussianMixture(np.zeros((2, 40000)) + [[0.0], [1.0]])
    with pytest.raises(ValueError, match="reduce the dimension p"):
        GaussianMixture(np.zeros((3, 10_000)) + [[0.0], [1.0], [2.0]], stds=[1.0, 2.0, 3.0])  # 7.2 GB


def test_booleans_and_complex_numbers_are_not_parameters():
    with pytest.raises(TypeError, match="means must be real numbers, got complex numbers"):
        GaussianMixture(np.array([0.0, 1.0]) + 1j)
    with pytest.raises(TypeError, match="means must be real numbers, got booleans"):
        GaussianMixture([False, True])


def _tied_mixture(k=4, p=3, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    cov = a @ a.T + 0.5 * np.eye(p)
    return GaussianMixture(rng.normal(size=(k, p)) * 1.5, covariances=np.broadcast_to(cov, (k, p, p)),
                           priors=rng.dirichlet(np.ones(k) * 3))


def test_tied_mixture_holds_one_matrix_and_its_log_densities_are_exact():
    from scipy.stats import multivariate_normal

    gm = _tied_mixture()
    assert gm.tied and not gm.isotropic and gm.covariances.strides[0] == 0 and gm._chol.strides[0] == 0
    x = np.random.default_rng(1).normal(size=(200, 3)) * 3
    want = np.stack([multivariate_normal(gm.means[k], gm.covariances[k]).logpdf(x) for k in range(4)], axis=1)
    np.testing.assert_allclose(gm.log_densities(x), want, rtol=1e-11, atol=1e-11)
    # a copy with distinct (non-view) but equal matrices is recognised as tied too
    same = GaussianMixture(gm.means, covariances=np.array(gm.covariances), priors=gm.priors)
    assert same.tied
    assert not GaussianMixture([[0.0], [1.0]], stds=[1.0, 2.0]).tied


def test_tied_monte_carlo_is_the_bayes_rule_of_predict_and_the_closed_form():
    # The shared-noise route (montecarlo module docstring) against brute force: points drawn by sample()
    # and classified by predict(), independent draws; and against the two-class closed form.
    gm = _tied_mixture()
    w = np.array([0.1, 0.2, 0.3, 0.4])
    est = gm.class_risks(w, n_mc=100_000, seed=3)
    assert est.method == "mc"
    x, y = gm.sample(400_000, rng=4)
    pred = gm.predict(x, priors=w)
    brute = np.array([np.mean(pred[y == k] != k) for k in range(4)])
    n_k = np.bincount(y, minlength=4)
    se = np.sqrt(est.se**2 + brute * (1 - brute) / n_k)
    assert np.all(np.abs(est.risks - brute) < 4 * se), (est.risks, brute)
    # K = 2, full shared covariance: R_0 = Phi(-(D^2/2 + c)/D), R_1 = Phi((c - D^2/2)/D)
    two = GaussianMixture(gm.means[:2], covariances=gm.covariances[:2], priors=[0.3, 0.7])
    d = two.means[1] - two.means[0]
    dist = np.sqrt(d @ np.linalg.solve(two.covariances[0], d))
    c = np.log(0.3 / 0.7)
    want = np.array([ndtr(-(dist**2 / 2 + c) / dist), ndtr((c - dist**2 / 2) / dist)])
    mc = two.class_risks(n_mc=200_000, seed=5, method="mc")
    assert np.all(np.abs(mc.risks - want) < 4 * mc.se), (mc.risks, want)


def test_tied_draws_streamed_equal_held_and_blocks_are_log_densities():
    from gaussian_theory.montecarlo import BLOCK

    gm = _tied_mixture(k=5, p=7)  # p > K - 1: the chi-square part of |z|^2 is drawn too
    n = BLOCK + 3000  # two noise blocks
    held, streamed = MCDraws(gm, n, 11), MCDraws(gm, n, 11, max_bytes=0)
    assert held.tied and held.in_memory and not held.cached and not streamed.in_memory
    w = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    np.testing.assert_array_equal(held.error_counts(w), streamed.error_counts(w))
    for a, b in zip(held.soft_risks(np.log(w), 0.2), streamed.soft_risks(np.log(w), 0.2)):
        np.testing.assert_array_equal(a, b)
    # blocks() yields true log densities: their argmax reproduces the error counts, and the
    # log-sum-exp over classes has the mean of the mixture's E[log f(x)] (a chi-square identity):
    # for x of class k, log N(x; mu_k, Sigma) = -(|z|^2 + log|Sigma| + p log 2 pi) / 2, mean -(p + ...)/2
    errors = np.zeros(5, dtype=np.int64)
    own = [[] for _ in range(5)]
    for k, ll in held.blocks(limit=20_000):
        errors[k] += np.count_nonzero(np.argmax(ll + np.log(w)[:, None], axis=0) != k)
        own[k].append(ll[k])
    np.testing.assert_array_equal(errors, held.error_counts(w, limit=20_000))
    logdet = gm._logdet[0]
    for k in range(5):
        vals = np.concatenate(own[k])
        want = -0.5 * (7 + logdet + 7 * np.log(2 * np.pi))  # E|z|^2 = p
        assert abs(vals.mean() - want) < 4 * vals.std() / np.sqrt(vals.size)


def test_k100_surrogate_scale_mixture_keeps_only_the_noise():
    # K = 100 at the default n_mc: the general route would need 16 GB of log densities (streamed); the
    # tied route keeps 8 (K + 1) n_mc bytes of shared noise and no log-density blocks.
    gm = GaussianMixture(3.0 * np.eye(100))
    draws = MCDraws(gm, 200_000, 0)
    assert draws.tied and not draws.cached and draws.in_memory and draws._rank == 99


def test_high_dimensional_blocks_shrink_to_bounded_memory():
    # A block of 65,536 points in 3,000 dimensions would be 1.5 GB (times the temporaries): the rows per
    # block shrink so that one block stays near 256 MiB; the draws are the same stream either way.
    import tracemalloc

    p = 3000
    gm = GaussianMixture(np.zeros((2, p)) + [[0.0], [0.05]], stds=[1.0, 1.2])  # not tied
    draws = MCDraws(gm, 5000, 0, max_bytes=0)
    assert draws._rows < 65_536 and not draws.tied
    tracemalloc.start()
    est = gm.class_risks(n_mc=5000, seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**30 and np.all((est.risks > 0) & (est.risks < 1))
