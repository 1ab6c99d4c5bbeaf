"""Tests of gaussian_theory.two_gaussians against independent references.

References used: scipy.stats.norm and mpmath (high precision) for the risks; brute-force numerical
minimisation (dense grid + bounded Brent refinement, plus the two infinite thresholds) for every
optimiser; a piecewise norm.cdf formula and scipy.integrate.quad for SSP's truncated risk; tables
computed independently of this code (not numbers from the paper) for fixed examples.
"""

from __future__ import annotations

import contextlib
import math

import mpmath
import numpy as np
import pytest
from scipy import integrate
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from gaussian_theory.two_gaussians import SSPResult, TwoGaussians

# Rounding in the risk of a threshold: R_k = Phi(z) with z computed in floating point, so the
# relative error is about |z| * |dz| <= z^2 * 1.1e-16 ~ 2e-13 for the |z| <= 40 we use. RTOL_RISK
# leaves a 500x margin and still catches any real mistake (a wrong root or end changes R by >> 1e-10).
RTOL_RISK = 1e-10


# ----------------------------------------------------------------------------- references
def ref_class_risks(model, t):
    """R_0, R_1 from scipy.stats.norm (survival/cdf forms chosen independently of the library)."""
    (mu0, mu1), (s0, s1) = model.means, model.stds
    return norm.sf(t, loc=mu0, scale=s0), norm.cdf(t, loc=mu1, scale=s1)


def ref_average_risk(model, t, priors):
    r0, r1 = ref_class_risks(model, t)
    return priors[0] * r0 + priors[1] * r1


def brute_force_minimum(fun, lo, hi, ends, n=20001):
    """Global minimum of ``fun`` over [lo, hi] (grid of n points, then Brent on the best cell) and
    the extra candidates ``ends`` = {t: value}. Returns (t, value)."""
    grid = np.linspace(lo, hi, n)
    vals = fun(grid)
    i = int(np.argmin(vals))
    best_t, best_v = grid[i], vals[i]
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, n - 1)]
    if b > a:
        res = minimize_scalar(lambda x: float(fun(np.array(x))), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-13 * max(1.0, abs(best_t))})
        if res.fun < best_v:
            best_t, best_v = float(res.x), float(res.fun)
    for t_end, v_end in ends.items():
        if v_end <= best_v:
            best_t, best_v = t_end, v_end
    return best_t, best_v


def search_interval(model, width=40.0):
    (mu0, mu1), (s0, s1) = model.means, model.stds
    return min(mu0 - width * s0, mu1 - width * s1), max(mu0 + width * s0, mu1 + width * s1)


def brute_force_threshold(model, priors):
    lo, hi = search_interval(model)
    # R(-inf) = phi0 (everything called class 1), R(+inf) = phi1 (eqs. 1-2 of arXiv 2404.05579 at
    # t = -inf, +inf).
    return brute_force_minimum(lambda t: ref_average_risk(model, t, priors), lo, hi,
                               {-np.inf: priors[0], np.inf: priors[1]})


def random_model(rng, std_mode, prior_mode):
    mu0 = rng.uniform(-5, 5)
    mu1 = mu0 + 10 ** rng.uniform(-1.5, 1)
    s0 = 10 ** rng.uniform(-0.7, 0.7)
    s1 = {
        "equal": s0,
        "nearly_equal": s0 * (1 + 1e-9),
        "larger": s0 * 10 ** rng.uniform(0.01, 0.7),
        "smaller": s0 * 10 ** -rng.uniform(0.01, 0.7),
    }[std_mode]
    if prior_mode == "moderate":
        phi0 = rng.uniform(0.02, 0.98)
        phi1 = 1.0 - phi0
    else:  # one prior as small as 1e-300; the other is 1 - it, which rounds to exactly 1.0 below 1e-16
        tiny = 10 ** -rng.uniform(3, 300)
        phi0, phi1 = (tiny, 1.0 - tiny) if prior_mode == "extreme0" else (1.0 - tiny, tiny)
    return TwoGaussians((mu0, mu1), (s0, s1), (phi0, phi1))


# ----------------------------------------------------------------------------- class risks
def test_class_risks_match_scipy_norm():
    rng = np.random.default_rng(20240501)
    for _ in range(50):
        model = random_model(rng, "larger", "moderate")
        t = rng.normal(model.means.mean(), 5 * model.stds.max(), size=64)
        got = model.class_risks(t)
        r0, r1 = ref_class_risks(model, t)
        # Same double-precision special function underneath, different argument arithmetic: the
        # z^2 * eps bound above (|z| <= ~30 here) keeps agreement well inside 1e-10.
        np.testing.assert_allclose(got[..., 0], r0, rtol=RTOL_RISK, atol=0)
        np.testing.assert_allclose(got[..., 1], r1, rtol=RTOL_RISK, atol=0)


@pytest.mark.parametrize("z", [-37.0, -30.5, -20.0, -8.3, -1.0, 0.0, 2.5])
def test_class_risks_far_tails_match_mpmath(z):
    """Relative error < 1e-10 against 50-digit mpmath wherever the true risk exceeds 1e-300."""
    model = TwoGaussians(means=(-1.25, 3.5), stds=(0.7, 2.3), priors=(0.5, 0.5))
    (mu0, mu1), (s0, s1) = model.means, model.stds
    mpmath.mp.dps = 50
    # Thresholds putting class 0 (resp. class 1) at standardised distance z.
    t0 = mu0 - z * s0
    t1 = mu1 + z * s1
    r0 = model.class_risks(t0)[0]
    r1 = model.class_risks(t1)[1]
    # Exact z of the float thresholds, so the reference includes no rounding of its own.
    exact0 = mpmath.ncdf((mpmath.mpf(mu0) - mpmath.mpf(t0)) / mpmath.mpf(s0))
    exact1 = mpmath.ncdf((mpmath.mpf(t1) - mpmath.mpf(mu1)) / mpmath.mpf(s1))
    assert exact0 > mpmath.mpf("1e-300") and exact1 > mpmath.mpf("1e-300")
    assert abs(mpmath.mpf(r0) / exact0 - 1) < 1e-10
    assert abs(mpmath.mpf(r1) / exact1 - 1) < 1e-10


@pytest.mark.parametrize(
    "t, shape",
    [(0.3, ()), (np.float64(2.0), ()), (np.inf, ()), (-np.inf, ()), ([1.0, 2.0, 3.0], (3,)),
     (np.zeros((4, 5)), (4, 5)), ([[-np.inf], [np.inf]], (2, 1)), ([], (0,))],
)
def test_class_risks_shape(t, shape):
    model = TwoGaussians()
    out = model.class_risks(t)
    assert out.shape == shape + (2,)
    assert model.average_risk(t).shape == shape
    assert model.worst_class_risk(t).shape == shape


def test_class_risks_at_infinite_thresholds():
    model = TwoGaussians(priors=(0.3, 0.7))
    # t = -inf predicts class 1 everywhere: R0 = 1, R1 = 0; t = +inf the reverse (eqs. 1-2 of
    # arXiv 2404.05579 at t = -inf, +inf).
    np.testing.assert_array_equal(model.class_risks([-np.inf, np.inf]), [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(model.average_risk([-np.inf, np.inf]), [0.3, 0.7])


# ----------------------------------------------------------------------------- optimal threshold
def _random_threshold_cases():
    rng = np.random.default_rng(7)
    cases = []
    for std_mode in ("equal", "nearly_equal", "larger", "smaller"):
        for prior_mode in ("moderate", "extreme0", "extreme1"):
            n = 40 if prior_mode == "moderate" else 12
            cases += [(std_mode, prior_mode, random_model(rng, std_mode, prior_mode)) for _ in range(n)]
    return cases


def test_optimal_threshold_is_global_minimiser_on_random_models():
    n_compared_t = 0
    outcomes = set()
    for std_mode, prior_mode, model in _random_threshold_cases():
        phi = model.priors
        t = model.optimal_threshold()
        r_found = ref_average_risk(model, t, phi)
        t_bf, r_bf = brute_force_threshold(model, phi)
        outcomes.add("finite" if np.isfinite(t) else "inf")
        # The brute force value is >= the true minimum, so the library must not be worse than it
        # beyond evaluation rounding (RTOL_RISK).
        assert r_found <= r_bf * (1 + RTOL_RISK), (std_mode, prior_mode, model, t, t_bf, r_found, r_bf)
        if np.isfinite(t) and np.isfinite(t_bf):
            # Conditioning: near a minimum R(t) - R* ~ R'' dt^2 / 2, so evaluations with relative
            # error eps cannot locate it better than sqrt(2 eps R / R''). R'' = phi0 f0 h(t) at a
            # root, h = (t-mu0)/s0^2 - (t-mu1)/s1^2 (Theorem B.1, arXiv 2404.05579 App. B.1). eps = 1e-12
            # covers both the risk rounding and Brent's own sqrt(machine eps) relative x-tolerance is
            # added separately.
            (mu0, mu1), (s0, s1) = model.means, model.stds
            g = phi[0] * norm.pdf(t, mu0, s0)
            r2 = g * ((t - mu0) / s0**2 - (t - mu1) / s1**2)
            if r2 > 0 and r_found > 0:
                tol_t = 10 * math.sqrt(2 * 1e-12 * r_found / r2) + 1e-7 * (1 + abs(t))
                if tol_t < 1e-2 * (1 + abs(t)):
                    assert abs(t - t_bf) <= tol_t, (model, t, t_bf, tol_t)
                    n_compared_t += 1
    assert n_compared_t >= 100  # most cases are well conditioned; make sure we did compare
    assert outcomes == {"finite", "inf"}


def test_optimal_threshold_satisfies_stationarity():
    """A finite t* solves phi0 f0(t) = phi1 f1(t) (log form, scipy's logpdf) and R'' > 0 there."""
    rng = np.random.default_rng(11)
    n_checked = 0
    for std_mode in ("equal", "nearly_equal", "larger", "smaller"):
        for _ in range(30):
            model = random_model(rng, std_mode, "moderate")
            t = model.optimal_threshold()
            if not np.isfinite(t):
                continue
            (mu0, mu1), (s0, s1), phi = model.means, model.stds, model.priors
            lhs = math.log(phi[0]) + norm.logpdf(t, mu0, s0)
            rhs = math.log(phi[1]) + norm.logpdf(t, mu1, s1)
            # log-densities carry terms up to (t-mu)^2/(2 s^2); rounding is ~1e-15 of their size.
            scale = 1 + abs(lhs) + abs(rhs)
            assert abs(lhs - rhs) <= 1e-9 * scale
            assert (t - mu0) / s0**2 - (t - mu1) / s1**2 > 0  # local minimum, not maximum
            n_checked += 1
    assert n_checked >= 80


def test_optimal_threshold_equal_stds_formula():
    # Equal variances: t* = (mu0 + mu1)/2 + s^2 log(phi0/phi1)/(mu1 - mu0) (textbook LDA threshold).
    model = TwoGaussians(means=(-1.0, 2.0), stds=(1.5, 1.5), priors=(0.2, 0.8))
    expected = 0.5 + 1.5**2 * math.log(0.2 / 0.8) / 3.0
    assert model.optimal_threshold() == pytest.approx(expected, rel=1e-13, abs=1e-13)
    # Nearly equal stds: continuous through s0 = s1. The exact root moves by O(s1 - s0) = O(1e-9).
    near = TwoGaussians(means=(-1.0, 2.0), stds=(1.5, 1.5 * (1 + 1e-9)), priors=(0.2, 0.8))
    assert near.optimal_threshold() == pytest.approx(expected, abs=1e-7)


def test_optimal_threshold_paper_example():
    # Provenance: the reference model mu=(0,6), sigma=(1,2), phi0=.5 computed by hand, t*=2.225,
    # R=(0.0130, 0.0295) (README, "What the theory says");
    # the class docstring's doctest gives 2.2247. Tolerance: half a unit of the quoted last digit.
    model = TwoGaussians(means=(0, 6), stds=(1, 2), priors=(0.5, 0.5))
    t = model.optimal_threshold()
    assert t == pytest.approx(2.2247, abs=5e-5)
    np.testing.assert_allclose(model.class_risks(t), [0.0130, 0.0295], atol=5e-5)


@pytest.mark.parametrize(
    "means, stds, priors, expected",
    [
        # Negative discriminant: D = 1 + 2*3*log(0.01*2/0.99) = -22.4 < 0, R increasing -> -inf.
        ((0, 1), (1, 2), (0.01, 0.99), -np.inf),
        # Mirror image (s0 > s1): D = 1 - 2*3*log(0.99/(0.01*2)) < 0, R decreasing -> +inf.
        ((0, 1), (2, 1), (0.99, 0.01), np.inf),
        # D = 1 + 2*8*log(0.3*3/0.7) = 5.02 > 0, but R(t_root) = 0.395 > R(-inf) = phi0 = 0.3.
        ((0, 1), (1, 3), (0.3, 0.7), -np.inf),
        ((0, 1), (3, 1), (0.7, 0.3), np.inf),
    ],
)
def test_optimal_threshold_infinite_cases(means, stds, priors, expected):
    model = TwoGaussians(means, stds, priors)
    assert model.optimal_threshold() == expected
    t_bf, r_bf = brute_force_threshold(model, model.priors)
    # Brute force agrees that no finite threshold beats the infinite one.
    assert t_bf == expected
    assert ref_average_risk(model, expected, model.priors) <= r_bf


def test_optimal_threshold_root_case_has_positive_discriminant_but_loses():
    # Check the third case above is really the "global condition" case, not a negative discriminant.
    (mu0, mu1), (s0, s1), (p0, p1) = (0, 1), (1, 3), (0.3, 0.7)
    disc = (mu1 - mu0) ** 2 + 2 * (s1**2 - s0**2) * math.log(p0 * s1 / (p1 * s0))
    assert disc > 0
    t_root = (mu0 * s1**2 - mu1 * s0**2 + s0 * s1 * math.sqrt(disc)) / (s1**2 - s0**2)
    model = TwoGaussians((mu0, mu1), (s0, s1), (p0, p1))
    assert ref_average_risk(model, t_root, model.priors) > p0


def test_optimal_threshold_extreme_prior_precision():
    # phi1 = 1e-20 (phi0 rounds to 1.0): the finite root still beats R(+inf) = 1e-20 by ~2%;
    # an implementation computing phi1 as 1 - phi0 gets 0 and wrongly answers +inf.
    model = TwoGaussians(means=(0, 6), stds=(1, 2), priors=(1.0, 1e-20))
    t = model.optimal_threshold()
    t_bf, r_bf = brute_force_threshold(model, model.priors)
    assert np.isfinite(t)
    assert ref_average_risk(model, t, model.priors) <= r_bf * (1 + RTOL_RISK)
    assert ref_average_risk(model, t, model.priors) < 0.99e-20


def test_optimal_threshold_vectorised_priors():
    model = TwoGaussians(means=(0, 3), stds=(1, 2), priors=(0.5, 0.5))
    rng = np.random.default_rng(3)
    p0 = rng.uniform(0, 1, size=(3, 4))
    p0[0, 0], p0[0, 1] = 0.0, 1.0  # zero priors inside an array
    p0[1, 0] = 1e-4  # negative discriminant -> -inf
    priors = np.stack([p0, 1 - p0], axis=-1)
    out = model.optimal_threshold(priors)
    assert isinstance(out, np.ndarray) and out.shape == (3, 4)
    for idx in np.ndindex(3, 4):
        assert out[idx] == model.optimal_threshold(priors[idx])
        t_bf, r_bf = brute_force_threshold(model, priors[idx])
        assert ref_average_risk(model, out[idx], priors[idx]) <= r_bf * (1 + RTOL_RISK)
    assert out[0, 0] == -np.inf and out[0, 1] == np.inf and out[1, 0] == -np.inf


@pytest.mark.parametrize("stds", [(1, 2), (2, 1), (1, 1)])
def test_zero_prior_gives_infinite_threshold(stds):
    # phi1 = 0: always predicting class 0 (t = +inf) has risk 0; phi0 = 0: t = -inf.
    assert TwoGaussians((0, 1), stds, (1.0, 0.0)).optimal_threshold() == np.inf
    assert TwoGaussians((0, 1), stds, (0.0, 1.0)).optimal_threshold() == -np.inf
    assert isinstance(TwoGaussians((0, 1), stds).optimal_threshold(), float)


# ----------------------------------------------------------------------------- worst class
WORST_CLASS_MODELS = [((0, 6), (1, 2), (0.5, 0.5)), ((-1, 1), (1, 1.5), (0.2, 0.8)),
                      ((0, 3), (2, 0.5), (0.9, 0.1)), ((2, 2.5), (0.3, 0.3), (0.5, 0.5))]


@pytest.mark.parametrize("means, stds, priors", WORST_CLASS_MODELS)
def test_worst_class_threshold_equalises_and_minimises(means, stds, priors):
    model = TwoGaussians(means, stds, priors)
    t_wc = model.worst_class_threshold()
    r0, r1 = ref_class_risks(model, t_wc)
    assert r0 == pytest.approx(r1, rel=1e-12)
    lo, hi = search_interval(model)
    t_bf, r_bf = brute_force_minimum(
        lambda t: np.maximum(*ref_class_risks(model, t)), lo, hi, {-np.inf: 1.0, np.inf: 1.0}
    )
    assert max(r0, r1) <= r_bf * (1 + RTOL_RISK)
    # max(R0, R1) has a kink (not a smooth minimum) at t_wc, so Brent locates it to its x-tolerance.
    assert t_bf == pytest.approx(t_wc, abs=1e-6 * (1 + abs(t_wc)))
    # Closed value Phi(-(mu1-mu0)/(s0+s1)) (the Lemma of arXiv 2404.05579 App. B.2).
    assert max(r0, r1) == pytest.approx(norm.cdf(-(means[1] - means[0]) / (stds[0] + stds[1])), rel=1e-12)


@pytest.mark.parametrize("means, stds, priors", WORST_CLASS_MODELS)
def test_worst_class_optimal_priors(means, stds, priors):
    model = TwoGaussians(means, stds, priors)
    opt = model.worst_class_optimal_priors()
    np.testing.assert_allclose(opt, np.asarray(stds) / sum(stds), rtol=1e-15)
    t_wc = model.worst_class_threshold()
    r_wc = norm.cdf(-(means[1] - means[0]) / (stds[0] + stds[1]))
    if r_wc <= opt.min():  # global-optimality condition (Theorem B.1, arXiv 2404.05579)
        t = model.optimal_threshold(opt)
        assert t == pytest.approx(t_wc, rel=1e-12, abs=1e-12)
        # "optimal class priors align average and worst-class risks" (arXiv 2404.05579 §4, App. B.2).
        assert ref_average_risk(model, t, opt) == pytest.approx(model.worst_class_risk(t), rel=1e-10)


def test_worst_class_optimal_priors_example_with_condition():
    model = TwoGaussians((0, 6), (1, 2))
    opt = model.worst_class_optimal_priors()
    np.testing.assert_allclose(opt, [1 / 3, 2 / 3])
    assert model.optimal_threshold(opt) == pytest.approx(2.0, rel=1e-12)  # (0*2 + 6*1)/3 = 2


# ----------------------------------------------------------------------------- pruning
def test_prune_priors_proportional_to_density_times_prior():
    model = TwoGaussians((0, 6), (1, 2), (0.25, 0.75))
    # d = (0.6, 0.2): d*phi = (0.15, 0.15) -> priors (0.5, 0.5).
    pruned = model.prune((0.6, 0.2))
    np.testing.assert_allclose(pruned.priors, [0.5, 0.5], rtol=1e-15)
    np.testing.assert_array_equal(pruned.means, model.means)
    np.testing.assert_array_equal(pruned.stds, model.stds)
    # d = (1, 0.5): (0.25, 0.375) / 0.625 = (0.4, 0.6).
    np.testing.assert_allclose(model.prune((1.0, 0.5)).priors, [0.4, 0.6], rtol=1e-15)
    # Uniform pruning changes nothing (random pruning only reweights the priors, arXiv 2404.05579 §4).
    assert model.prune((0.3, 0.3)) == model


def test_pruned_risks_are_risks_of_the_threshold_learned_on_pruned_priors():
    model = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    rng = np.random.default_rng(5)
    for _ in range(20):
        d = rng.uniform(0.05, 1, size=2)
        w = d * model.priors / (d @ model.priors)
        t_bf, _ = brute_force_threshold(model, w)
        got = model.pruned_risks(d)
        # Risks at the brute-force minimiser; R_k has slope <= max pdf ~ 0.4, and t_bf is within
        # ~1e-7 of the minimiser, so the class risks agree to ~1e-7.
        np.testing.assert_allclose(got, ref_class_risks(model, t_bf), atol=1e-6)


def budget_line_worst(model, d, n=4001):
    """Worst-class risk of the learned threshold along the budget line phi0 d0 + phi1 d1 = d."""
    phi = model.priors
    lo, hi = max(0.0, (d - phi[1]) / phi[0]), min(1.0, d / phi[0])
    d0 = np.linspace(lo, hi, n)
    d1 = (d - phi[0] * d0) / phi[1]
    w = np.stack([d0 * phi[0], d1 * phi[1]], axis=-1)
    w = w / w.sum(axis=-1, keepdims=True)
    t = model.optimal_threshold(w)  # tested above against brute force
    return d0, np.maximum(*ref_class_risks(model, t))


@pytest.mark.parametrize(
    "means, stds, priors, d",
    [
        ((0, 6), (1, 2), (0.5, 0.5), 0.5),      # interior optimum d0/d1 = s0/s1
        ((0, 6), (1, 2), (0.5, 0.5), 0.9),      # class 1 saturates (ideal d1 = 1.2)
        ((0, 6), (1, 2), (0.9, 0.1), 0.5),      # imbalanced: class 1 saturates
        ((0, 6), (2, 1), (0.1, 0.9), 0.5),      # class 0 saturates
        ((0, 4), (1, 3), (0.3, 0.7), 0.2),
        ((0, 1), (1, 3), (0.5, 0.5), 0.5),      # ideal ratio learns t = -inf (see two_gaussians)
        ((0, 2), (3, 1), (0.5, 0.5), 0.5),      # mirror: ideal ratio learns t = +inf
    ],
)
def test_worst_class_optimal_densities_vs_budget_line_grid(means, stds, priors, d):
    model = TwoGaussians(means, stds, priors)
    # edge_margin=0: the exact infimum, which is the edge itself in the Theorem B.1 cases (issue 17
    # moved the default point 1e-3 inside; tested in test_edge_optimum_is_returned_inside_with_a_warning)
    with edge_warns(model, d):
        dens = model.worst_class_optimal_densities(d, edge_margin=0)
    assert dens @ model.priors == pytest.approx(d, rel=1e-12)
    assert ((0 <= dens) & (dens <= 1)).all()
    found = model.pruned_risks(dens).max()
    _, grid_worst = budget_line_worst(model, d)
    assert found <= grid_worst.min() * (1 + RTOL_RISK)
    assert found < 1.0


def test_worst_class_optimal_densities_saturation_values():
    # phi = (0.9, 0.1), s = (1, 2), d = 0.5: ideal d1 = 0.5*(2/3)/0.1 = 3.33 > 1, so d1 = 1 and
    # d0 = (0.5 - 0.1)/0.9 = 4/9.
    model = TwoGaussians((0, 6), (1, 2), (0.9, 0.1))
    np.testing.assert_allclose(model.worst_class_optimal_densities(0.5), [4 / 9, 1.0], rtol=1e-14)
    # Balanced, no saturation: d_k = d s_k/(s0+s1)/phi_k = (1/3, 2/3) at d = 0.5.
    balanced = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    np.testing.assert_allclose(balanced.worst_class_optimal_densities(0.5), [1 / 3, 2 / 3], rtol=1e-14)
    # Zero prior: every allocation learns the same infinite threshold -> (d, d).
    np.testing.assert_array_equal(TwoGaussians((0, 6), (1, 2), (1, 0)).worst_class_optimal_densities(0.4),
                                  [0.4, 0.4])


# ----------------------------------------------------------------------------- SSP
def ref_truncated_risk(model, t, m):
    """phi0 P0(x > t, |x-mu0| >= m) + phi1 P1(x <= t, |x-mu1| >= m), as a union of disjoint pieces
    (a different decomposition from the library's "tail minus band")."""
    (mu0, mu1), (s0, s1), (p0, p1) = model.means, model.stds, model.priors
    t = np.asarray(t, dtype=float)
    # {x > t} ∩ ({x <= mu0-m} ∪ {x >= mu0+m}) = (t, mu0-m] ∪ [max(t, mu0+m), inf)
    up0 = np.clip(norm.cdf(mu0 - m, mu0, s0) - norm.cdf(t, mu0, s0), 0, None) \
        + norm.sf(np.maximum(t, mu0 + m), mu0, s0)
    # {x <= t} ∩ (...) = (-inf, min(t, mu1-m)] ∪ [mu1+m, t]
    low1 = norm.cdf(np.minimum(t, mu1 - m), mu1, s1) \
        + np.clip(norm.cdf(t, mu1, s1) - norm.cdf(mu1 + m, mu1, s1), 0, None)
    return p0 * up0 + p1 * low1


def quad_truncated_risk(model, t, m):
    """The same by numerical integration of the truncated joint densities (scipy.integrate.quad)."""
    (mu0, mu1), (s0, s1), (p0, p1) = model.means, model.stds, model.priors

    def piece(mu, s, a, b):
        lo, hi = max(a, mu - 40 * s), min(b, mu + 40 * s)
        if lo >= hi:
            return 0.0
        pts = [x for x in (mu - m, mu + m, mu) if lo < x < hi]
        val, _ = integrate.quad(lambda x: norm.pdf(x, mu, s) * (abs(x - mu) >= m), lo, hi,
                                points=pts or None, epsabs=1e-14, epsrel=1e-12, limit=200)
        return val

    return p0 * piece(mu0, s0, t, np.inf) + p1 * piece(mu1, s1, -np.inf, t)


SSP_MODELS = [((0, 6), (1, 2), (0.5, 0.5)), ((0, 3), (1, 2), (0.4, 0.6)), ((-1, 1), (1.5, 1), (0.5, 0.5)),
              ((0, 4), (1, 1), (0.7, 0.3)), ((0, 6), (1, 2), (0.9, 0.1))]


@pytest.mark.parametrize("means, stds, priors", SSP_MODELS)
@pytest.mark.parametrize("margin", [0.0, 0.3, 1.0, 1.7, 2.0, 3.5])
def test_ssp_prune_is_global_minimiser_of_truncated_risk(means, stds, priors, margin):
    model = TwoGaussians(means, stds, priors)
    res = model.ssp_prune(margin)
    assert isinstance(res, SSPResult)
    np.testing.assert_allclose(res.densities, 2 * norm.cdf(-margin / np.asarray(stds, float)), rtol=1e-14)
    assert res.density == pytest.approx(res.densities @ model.priors, rel=1e-14)
    lo, hi = search_interval(model, width=12)
    ends = {-np.inf: float(ref_truncated_risk(model, -np.inf, margin)),
            np.inf: float(ref_truncated_risk(model, np.inf, margin))}
    _, r_bf = brute_force_minimum(lambda t: ref_truncated_risk(model, t, margin), lo, hi, ends, n=40001)
    r_found = float(ref_truncated_risk(model, res.threshold, margin))
    assert r_found <= r_bf * (1 + RTOL_RISK) + 1e-300
    np.testing.assert_allclose(res.class_risks, ref_class_risks(model, res.threshold), rtol=RTOL_RISK)
    assert res.worst_class_risk == max(res.class_risks)
    if np.isfinite(res.threshold):
        # quad is an independent evaluation of the same integral (its tolerance epsrel=1e-12).
        r_quad = quad_truncated_risk(model, res.threshold, margin)
        assert r_quad == pytest.approx(r_found, rel=1e-9, abs=1e-13)


def test_ssp_zero_margin_is_unpruned_optimum():
    model = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    res = model.ssp_prune(0.0)
    np.testing.assert_array_equal(res.densities, [1.0, 1.0])
    assert res.threshold == pytest.approx(model.optimal_threshold(), rel=1e-12)


# Provenance: a numerical illustration computed independently of this code (not numbers from the
# paper) of SSP (arXiv 2404.05579 App. B.3): mu=(0,6), sigma=(1,2), phi0=.5.
# Columns: M, kept d0, kept d1, overall density, SSP-trained worst-class risk, SSP threshold,
# then Random+StrategyQ (random pruning with the same class densities): threshold, worst-class risk.
SSP_TOY_TABLE = [
    (0.5, 0.617, 0.803, 0.710, 0.0295, 2.225, 2.14, 0.0268),
    (1.0, 0.317, 0.617, 0.467, 0.0295, 2.225, 2.01, 0.0230),
    (1.5, 0.134, 0.453, 0.293, 0.0295, 2.225, 1.82, 0.0344),
    (2.0, 0.046, 0.317, 0.181, None, -2.0, 1.56, 0.0595),  # "jumps to the class-0 margin edge t=-2"
]


@pytest.mark.parametrize("row", SSP_TOY_TABLE, ids=lambda r: f"M={r[0]}")
def test_ssp_reproduces_toy_table(row):
    m, d0, d1, dens, worst, t_ssp, t_rand, worst_rand = row
    model = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    res = model.ssp_prune(m)
    # Tolerances: half a unit in the last digit the table prints.
    np.testing.assert_allclose(res.densities, [d0, d1], atol=5e-4)
    assert res.density == pytest.approx(dens, abs=5e-4)
    assert res.threshold == pytest.approx(t_ssp, abs=5e-4)
    if worst is not None:
        assert res.worst_class_risk == pytest.approx(worst, abs=5e-5)
    else:  # degenerate: t = mu0 - M = -2 misclassifies almost all of class 0 (R0 = Phi(2) = .977)
        assert res.worst_class_risk == pytest.approx(norm.cdf(2.0), rel=1e-12)
    assert model.prune(res.densities).optimal_threshold() == pytest.approx(t_rand, abs=5e-3)
    assert model.pruned_risks(res.densities).max() == pytest.approx(worst_rand, abs=5e-5)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        ({"means": (1, 0)}, ValueError, "means"),
        ({"means": (1, 1)}, ValueError, "means"),
        ({"means": (0, 1, 2)}, ValueError, "means"),
        ({"means": (0,)}, ValueError, "means"),
        ({"means": (0, np.nan)}, ValueError, "means"),
        ({"means": (0, np.inf)}, ValueError, "means"),
        ({"means": "ab"}, TypeError, "means"),
        ({"means": ("a", "b")}, TypeError, "means"),
        ({"means": 3.0}, TypeError, "means"),
        ({"stds": (0, 1)}, ValueError, "stds"),
        ({"stds": (1, -2)}, ValueError, "stds"),
        ({"stds": (1, np.nan)}, ValueError, "stds"),
        ({"stds": (1, np.inf)}, ValueError, "stds"),
        ({"stds": (1, 2, 3)}, ValueError, "stds"),
        ({"stds": "12"}, TypeError, "stds"),
        ({"priors": (-0.1, 1.1)}, ValueError, "priors"),
        ({"priors": (0.5, 0.6)}, ValueError, "priors"),
        ({"priors": (0.3, 0.3)}, ValueError, "priors"),
        ({"priors": (np.nan, 0.5)}, ValueError, "priors"),
        ({"priors": (np.inf, 0.0)}, ValueError, "priors"),
        ({"priors": (1.0,)}, ValueError, "priors"),
        ({"priors": (0.2, 0.3, 0.5)}, ValueError, "priors"),
        ({"priors": "xy"}, TypeError, "priors"),
        ({"priors": 0.5}, TypeError, "priors"),
    ],
)
def test_constructor_rejects_invalid_input(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        TwoGaussians(**kwargs)


def test_methods_reject_invalid_input():
    model = TwoGaussians()
    with pytest.raises(TypeError, match="t must be numeric"):
        model.class_risks("1.0")
    with pytest.raises(ValueError, match="t must not contain NaN"):
        model.class_risks([0.0, np.nan])
    for bad in [(0.5, 0.6), (-0.5, 1.5), (np.nan, 1.0), [[0.5, 0.5, 0.0]]]:
        with pytest.raises(ValueError, match="priors"):
            model.optimal_threshold(bad)
        with pytest.raises(ValueError, match="priors"):
            model.average_risk(0.0, bad)
    for bad in [(1.5, 0.5), (-0.1, 0.5), (0.0, 0.0), (np.nan, 0.5), (0.5,)]:
        with pytest.raises(ValueError, match="densities"):
            model.prune(bad)
        with pytest.raises(ValueError, match="densities"):
            model.pruned_risks(bad)
    with pytest.raises(TypeError, match="densities"):
        model.prune("ab")
    for bad in [0, 0.0, 1.5, -0.2, np.nan]:
        with pytest.raises(ValueError, match="density"):
            model.worst_class_optimal_densities(bad)
    with pytest.raises(TypeError, match="density"):
        model.worst_class_optimal_densities("0.5")
    with pytest.raises(ValueError, match="margin"):
        model.ssp_prune(-1.0)
    with pytest.raises(ValueError, match="margin"):
        model.ssp_prune(np.nan)
    with pytest.raises(ValueError, match="margin"):
        model.ssp_prune([1.0, 2.0])
    with pytest.raises(TypeError, match="margin"):
        model.ssp_prune("1")


def test_model_is_immutable_and_compares_by_value():
    model = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    with pytest.raises(ValueError):
        model.means[0] = 3.0  # read-only array
    assert model == TwoGaussians([0.0, 6.0], [1.0, 2.0], [0.5, 0.5])
    assert model != TwoGaussians((0, 6), (1, 2), (0.4, 0.6))
    assert "TwoGaussians(means=(0, 6)" in repr(model)


# ----------------------------------------------------------------------------- issue 12: allocation rules
def _figure4_models():
    """The figure-4 grid: separation z = (mu1-mu0)/(s0+s1) in [1, 3] x std ratio in [1.1, 4]."""
    return [TwoGaussians((0, z * (1 + q)), (1, q), (0.5, 0.5))
            for z in np.linspace(1, 3, 9) for q in np.geomspace(1.1, 4, 9)]


ON_THE_EDGE = "lies on the edge of the allocations"


def edge_warns(model, d):
    """``pytest.warns`` the Theorem B.1 edge warning where ``(model, d)`` is one of the edge cases
    (:func:`_edge_models`, the only ones in these grids whose optimum is on the edge); elsewhere no
    context, and the pyproject filter turns any warning into an error."""
    if any(model == m and d == e for m, e in _edge_models()):
        return pytest.warns(UserWarning, match=ON_THE_EDGE)
    return contextlib.nullcontext()


PROBIT_EXTRA_CASES = [
    ((0, 6), (1, 2), (0.5, 0.5), 0.9),      # class 1 saturates
    ((0, 6), (1, 2), (0.9, 0.1), 0.5),      # unequal priors, class 1 saturates
    ((0, 6), (2, 1), (0.1, 0.9), 0.5),      # class 0 saturates
    ((0, 4), (1, 3), (0.3, 0.7), 0.2),
    ((0, 2.5), (1.5, 1), (0.2, 0.8), 0.4),  # sigma0 > sigma1
    ((0, 1), (1, 3), (0.5, 0.5), 0.5),      # ideal ratio learns -inf (Theorem B.1)
    ((0, 2), (3, 1), (0.5, 0.5), 0.5),      # mirror: learns +inf
    ((0, 0.82 * 4.92), (1, 3.92), (0.46, 0.54), 0.34),  # issue 12's Theorem B.1 case
]


def test_probit_densities_match_worst_class_optimum_on_grid():
    cases = [(m, 0.5) for m in _figure4_models()]
    cases += [(TwoGaussians(mu, s, p), d) for mu, s, p, d in PROBIT_EXTRA_CASES]
    for model, d in cases:
        with edge_warns(model, d):
            dens = model.probit_densities(d)
        assert dens @ model.priors == pytest.approx(d, rel=1e-12)
        with edge_warns(model, d):
            opt = model.worst_class_optimal_densities(d)
        regret = model.pruned_risks(dens).max() - model.pruned_risks(opt).max()
        assert regret <= 1e-12, (model, d, dens, opt)


@pytest.mark.parametrize("means, stds, priors, d", PROBIT_EXTRA_CASES)
def test_probit_densities_vs_budget_line_grid(means, stds, priors, d):
    model = TwoGaussians(means, stds, priors)
    with edge_warns(model, d):
        found = model.pruned_risks(model.probit_densities(d, edge_margin=0)).max()  # the exact infimum
    _, grid_worst = budget_line_worst(model, d)
    assert found <= grid_worst.min() * (1 + RTOL_RISK) and found < 1.0


def test_probit_theorem_b1_case_is_detected():
    # Separation 0.82, std ratio 3.92, phi0 = 0.46, d = 0.34 (issue 12): the recalls' ideal point
    # learns t = -inf (worst-class risk 1); the optimum is just beside it on the budget line.
    model = TwoGaussians((0, 0.82 * 4.92), (1, 3.92), (0.46, 0.54))
    d = 0.34
    ideal = d * model.stds / model.stds.sum() / model.priors  # no saturation here
    assert model.prune(ideal).optimal_threshold() == -np.inf
    np.testing.assert_array_equal(model.pruned_risks(ideal), [1.0, 0.0])
    with pytest.warns(UserWarning, match=ON_THE_EDGE):
        dens = model.probit_densities(d, edge_margin=0)  # the exact infimum, on the edge
    assert np.isfinite(model.prune(dens).optimal_threshold())
    worst = model.pruned_risks(dens).max()
    # Lower bound Phi(-0.82) = 0.2061 (the unconstrained worst-class optimum, App. B.2).
    assert norm.cdf(-0.82) < worst < 0.21
    np.testing.assert_allclose(dens, ideal, atol=5e-3)  # "just beside"
    d0, grid_worst = budget_line_worst(model, d, n=20001)
    assert worst <= grid_worst.min() * (1 + RTOL_RISK)


def test_probit_densities_infinite_threshold_and_zero_prior():
    # t* itself infinite (recalls 0 and 1): falls back to the model's worst-class optimum.
    model = TwoGaussians((0, 1), (1, 3), (0.3, 0.7))
    assert model.optimal_threshold() == -np.inf
    # ... whose optimum here is on the Theorem B.1 edge: both calls warn
    with pytest.warns(UserWarning, match=ON_THE_EDGE):
        probit = model.probit_densities(0.5)
    with pytest.warns(UserWarning, match=ON_THE_EDGE):
        np.testing.assert_array_equal(probit, model.worst_class_optimal_densities(0.5))
    np.testing.assert_array_equal(TwoGaussians((0, 6), (1, 2), (1, 0)).probit_densities(0.4), [0.4, 0.4])


def test_drop_densities_from_errors_directly_match_mpmath_tail_ratio():
    # (0, 40), (1, 2), balanced: R0 ~ 1e-40, R1 ~ 2e-40; 1 - (1 - R) would be 0 for both.
    model = TwoGaussians((0, 40), (1, 2))
    t = model.optimal_threshold()
    mpmath.mp.dps = 50
    r0 = mpmath.ncdf(-mpmath.mpf(t))
    r1 = mpmath.ncdf((mpmath.mpf(t) - 40) / 2)
    ratio = float(r0 / r1)
    assert 0.45 < ratio < 0.55
    dens = model.drop_densities(0.5)
    # Balanced priors, no saturation: d0 + d1 = 2d and d0/d1 = R0/R1. ndtr's tail relative error
    # is ~z^2 eps ~ 2e-14 at z ~ 13; 1e-12 leaves a margin.
    assert dens[0] / dens[1] == pytest.approx(ratio, rel=1e-12)
    assert dens.sum() == pytest.approx(1.0, rel=1e-14)


def test_drop_densities_alpha():
    model = TwoGaussians((0, 6), (1, 2))
    np.testing.assert_allclose(model.drop_densities(0.4, alpha=0), [0.4, 0.4], rtol=1e-14)
    r = model.class_risks(model.optimal_threshold())
    for a in (0.5, 0.7, 1.0, 2.0):
        dens = model.drop_densities(0.2, alpha=a)
        assert dens[0] / dens[1] == pytest.approx((r[0] / r[1]) ** a, rel=1e-12)
    with pytest.raises(ValueError, match="alpha"):
        model.drop_densities(0.4, alpha=-1)


def test_drop_densities_unchanged_for_representable_errors():
    # The errors path gives what the recalls path gave wherever 1 - (1 - R) is exact enough.
    from gaussian_theory.allocation import drop_densities
    for model in _figure4_models()[::7]:
        r = 1 - model.class_risks(model.optimal_threshold())
        np.testing.assert_allclose(model.drop_densities(0.5), drop_densities(r, [10**6, 10**6], 0.5),
                                   rtol=1e-12)


# ----------------------------------------------------------------------------- issue 9 / issue 10
def test_log_prior_ratio_round_trip():
    from gaussian_theory.thresholds import log_prior_ratio, priors_from_log_ratio
    p = np.array([[0.5, 0.5], [0.2, 0.8], [1e-300, 1.0], [1.0, 1e-20], [0.0, 1.0], [1.0, 0.0]])
    lr = log_prior_ratio(p)
    np.testing.assert_allclose(lr[:4], [0.0, math.log(0.25), math.log(1e-300), math.log(1e20)], rtol=1e-15)
    assert lr[4] == -np.inf and lr[5] == np.inf
    back = priors_from_log_ratio(lr)
    # Each prior by its own logistic: tiny priors keep their relative precision.
    np.testing.assert_allclose(back, p, rtol=1e-13)
    assert back.shape == (6, 2) and priors_from_log_ratio(0.0).tolist() == [0.5, 0.5]


@pytest.mark.parametrize("means, stds", [
    ((-1e300, 1e300), (1, 2)),      # was t* = -inf with risks [1, 0]
    ((0, 1), (1e-300, 1)),          # was t* = 0 with R0 = 0.5 (s0^2 underflowed)
    ((0, 1e120), (1, 1)),           # separation / std = 1e120
    ((0, 1), (1, 1e80)),
    ((0, 1e-70), (1e-80, 1e-70)),
])
def test_out_of_range_parameters_are_rejected(means, stds):
    with pytest.raises(ValueError, match=r"means=.*stds=.*outside the range.*rescale"):
        TwoGaussians(means, stds)


def test_large_but_representable_scales_are_affine_invariant():
    base = TwoGaussians((0, 6), (1, 2), (0.3, 0.7))
    # Inside the domain (stds and |means| in [1e-75, 1e75]) the closed forms are scale-free.
    for scale, shift in ((1e70, 0.0), (1e-70, 0.0), (1e40, 3e41), (1e-70, 5e-69)):
        model = TwoGaussians((shift, shift + 6 * scale), (scale, 2 * scale), (0.3, 0.7))
        t = model.optimal_threshold()
        assert (t - shift) / scale == pytest.approx(base.optimal_threshold(), rel=1e-12)
        np.testing.assert_allclose(model.class_risks(t), base.class_risks(base.optimal_threshold()),
                                   rtol=1e-10)
        np.testing.assert_allclose(model.probit_densities(0.5), base.probit_densities(0.5), rtol=1e-12)


# ----------------------------------------------------------------------------- issue 17 (numerical audit)
def brute_force_budget_optimum(model, d):
    """Independent optimum along the budget line phi0 d0 + phi1 d1 = d: the worst-class risk of the
    brute-force threshold (grid + Brent, both infinite ends; no closed form) minimised over d0 by a grid
    of 401 points, then bounded scalar minimisation in the best cells and bisection to any jump to risk
    1 beside them. Returns (worst-class risk, d0)."""
    phi = model.priors
    lo, hi = max(0.0, (d - phi[1]) / phi[0]), min(1.0, d / phi[0])

    def worst(d0):
        w = np.array([d0 * phi[0], d - phi[0] * d0])
        t, _ = brute_force_threshold(model, w / w.sum())
        return float(max(ref_class_risks(model, t)))

    grid = np.linspace(lo, hi, 401)
    vals = np.array([worst(x) for x in grid])
    i = int(np.argmin(vals))
    best, best_d0 = vals[i], grid[i]
    for a, b in ((grid[max(i - 1, 0)], grid[i]), (grid[i], grid[min(i + 1, grid.size - 1)])):
        if b <= a:
            continue
        if max(worst(a), worst(b)) == 1.0 > min(worst(a), worst(b)):  # a cliff: bisect to its edge
            good, bad = (a, b) if worst(a) < 1 else (b, a)
            for _ in range(60):
                mid = 0.5 * (good + bad)
                good, bad = (mid, bad) if worst(mid) < 1 else (good, mid)
            cand = good
        else:
            cand = minimize_scalar(worst, bounds=(a, b), method="bounded", options={"xatol": 1e-12}).x
        if worst(cand) < best:
            best, best_d0 = worst(cand), cand
    return best, best_d0


def test_probit_densities_keep_precision_when_a_recall_is_tiny():
    # issue 17: class 0's recall at t* is about 4e-13, i.e. an error of 1 - 4e-13; Phi^-1 of that
    # rounded error was off by 3e-4 relative, and the probit point had worst-class risk 0.4806 against
    # the optimum 0.4801. From the standardised distances of t* it is the optimum.
    model = TwoGaussians((0, 0.2021853213539415), (2.0476274167967814, 2.012982722528261),
                         (0.16714900368695332, 0.83285099631304668))
    d = 0.3087243347518584
    t = model.optimal_threshold()
    recall0 = norm.cdf((t - model.means[0]) / model.stds[0])
    assert 1e-13 < recall0 < 1e-12
    best, _ = brute_force_budget_optimum(model, d)
    assert best == pytest.approx(0.48014413, abs=1e-7)
    found = model.pruned_risks(model.probit_densities(d)).max()
    # the brute force finds thresholds to sqrt(eps) relative, so its worst-class risk to about 1e-8
    assert abs(found - best) < 1e-7, (found, best)
    np.testing.assert_allclose(model.probit_densities(d), model.worst_class_optimal_densities(d), rtol=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.5, 2.5])
def test_probit_densities_from_standardised_distances_on_a_tiny_recall_family(shift):
    # Moving class 1's mean down makes class 0's recall at t* smaller (down to about 1e-100 and below):
    # the probit point stays the worst-class optimum (against the closed-form optimum, itself checked
    # against the brute force above and on the budget-line grids).
    model = TwoGaussians((0, 1.2 - shift * 0.4), (2.0, 1.9), (0.15, 0.85))
    d = 0.3
    dens = model.probit_densities(d, edge_margin=0)
    opt = model.worst_class_optimal_densities(d, edge_margin=0)
    regret = model.pruned_risks(dens).max() - model.pruned_risks(opt).max()
    assert abs(regret) <= 1e-12


def _edge_models():
    """Models whose worst-class optimum sits on the edge of the finite-threshold region (Theorem B.1)."""
    return [
        (TwoGaussians((0, 1), (1, 3), (0.5, 0.5)), 0.5),
        (TwoGaussians((0, 2), (3, 1), (0.5, 0.5)), 0.5),
        (TwoGaussians((0, 0.82 * 4.92), (1, 3.92), (0.46, 0.54)), 0.34),
        (TwoGaussians((0, 0.3579343494917686), (0.4989357602035625, 3.0676698759168453),
                      (0.4444372271110301, 0.5555627728889699)), 0.2844086249538091),
    ]


def _log_ratio(model, dens):
    w = np.asarray(dens) * model.priors
    return math.log(w[0]) - math.log(w[1])


@pytest.mark.parametrize("method", ["worst_class_optimal_densities", "probit_densities"])
@pytest.mark.parametrize("case", range(4))
def test_edge_optimum_is_returned_inside_with_a_warning(method, case):
    model, d = _edge_models()[case]
    with pytest.warns(UserWarning, match=r"lies on the edge of the allocations that learn a finite"):
        edge = getattr(model, method)(d, edge_margin=0)
    with pytest.warns(UserWarning, match=r"0\.001 inside the edge in log\(pruned prior ratio\)"):
        dens = getattr(model, method)(d)
    # the edge itself: 1e-9 the wrong way along the budget line gives worst-class risk 1
    phi = model.priors
    step = 1e-9 if model.stds[1] < model.stds[0] else -1e-9  # towards the infinite-threshold side
    off = np.array([edge[0] + step, (d - phi[0] * (edge[0] + step)) / phi[1]])
    assert model.pruned_risks(off).max() == 1.0
    # the returned point: 1e-3 inside in the pruned log prior ratio, on the budget line ...
    inside = 1.0 if model.stds[1] > model.stds[0] else -1.0
    assert _log_ratio(model, dens) - _log_ratio(model, edge) == pytest.approx(inside * 1e-3, rel=1e-6)
    assert dens @ phi == pytest.approx(d, rel=1e-12)
    # ... robust to a 1e-9 nudge of either density either way ...
    for nudge in ([1e-9, 0], [-1e-9, 0], [0, 1e-9], [0, -1e-9]):
        assert model.pruned_risks(dens + np.array(nudge)).max() < 1.0
    # ... at a small price against the exact infimum (measured at most 3e-4; the edge's risk itself is
    # the budget-line optimum, test_worst_class_optimal_densities_vs_budget_line_grid)
    price = model.pruned_risks(dens).max() - model.pruned_risks(edge).max()
    assert 0 < price < 5e-4


def test_edge_optimum_matches_the_brute_force():
    # The audit's case: the brute-force optimum is the edge; the default point is 1e-3 inside it.
    model, d = _edge_models()[3]
    best, best_d0 = brute_force_budget_optimum(model, d)
    with pytest.warns(UserWarning, match="lies on the edge"):
        edge = model.probit_densities(d, edge_margin=0)
    # Near the edge the root beats the infinite threshold by only |slope| x distance, below the grid's
    # resolution: the brute force locates the edge to about 1e-5 in d0, from the finite side.
    assert abs(edge[0] - best_d0) < 1e-5
    assert model.pruned_risks(edge).max() <= best + 1e-9


def test_edge_margin_is_validated():
    model = TwoGaussians()
    for method in (model.worst_class_optimal_densities, model.probit_densities):
        with pytest.raises(ValueError, match=r"edge_margin must be a finite number in \[0.0, 1.0\], got -1"):
            method(0.5, edge_margin=-1)
        with pytest.raises(TypeError, match="edge_margin must be a real number, got '0.1'"):
            method(0.5, edge_margin="0.1")
    # no edge, no warning, and the margin changes nothing
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(model.probit_densities(0.5),
                                      model.probit_densities(0.5, edge_margin=0.5))
