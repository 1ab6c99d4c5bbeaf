"""Minimax priors and budget-constrained minimax densities (gaussian_theory.minimax), the bounded-memory
Monte-Carlo draws (gaussian_theory.montecarlo) and their Wilson intervals.

Independent references: every solver answer is judged on fresh draws (a seed no solver sees) against
several independent starts and a brute-force random search; the certificate is recomputed from its
documented seed; the memory-bounded path is compared bit for bit with the cached one.
"""

import numpy as np
import pytest

import gaussian_theory.minimax as mm
import gaussian_theory.montecarlo as mc
from gaussian_theory.intervals import wilson_interval
from gaussian_theory.mixture import GaussianMixture
from gaussian_theory.montecarlo import MCDraws

JUDGE_SEED = 987_654_321  # fresh draws: no solver below derives this seed


def _trap_mixture():
    # K = 4, means 2.5 e_k, stds 0.5 .. 2.5: at d = 0.7 the hardest class saturates and the surplus
    # must go to a "sink". The previous solver (relative trust region, 30 iterations) returned
    # (0.145, 0.989, 0.666, 1) for seed 0: worst-class risk 0.182 on fresh draws, where the
    # optimum keeps class 0 whole (about 0.162).
    return GaussianMixture(2.5 * np.eye(4), stds=np.geomspace(0.5, 2.5, 4))


def _judge(gm, priors_list, n=100_000):
    draws = MCDraws(gm, n, JUDGE_SEED)
    return np.array([draws.risks(w)[0].max() for w in priors_list])


def _brute_force(gm, caps, n_candidates=3000, n_draws=5000, keep=10, seed=2024):
    """Random search over the capped simplex: Dirichlet priors water-filled under the caps, scored by
    the worst-class 0-1 risk on their own draws; the ``keep`` best are returned."""
    rng = np.random.default_rng(seed)
    cand = np.array([mm._cap_fill(v, caps) for v in rng.dirichlet(np.full(caps.size, 0.7), n_candidates)])
    draws = MCDraws(gm, n_draws, seed + 1)
    worst = np.zeros(n_candidates)
    logw = np.log(cand)
    for k, ll in draws.blocks():
        for s in range(0, n_candidates, 200):
            scores = ll[None, :, :] + logw[s : s + 200, :, None]
            err = (scores.argmax(axis=1) != k).mean(axis=1)
            worst[s : s + 200] = np.maximum(worst[s : s + 200], err)
    return cand[np.argsort(worst)[:keep]]


# ------------------------------------------------------------------ the capped solver
def test_capped_k4_escapes_the_trap_and_matches_multistart_and_brute_force():
    gm, d = _trap_mixture(), 0.7
    res = mm.minimax_densities(gm, d, n_mc=50_000, seed=0, n_certify=20_000)
    assert res.method == "mc" and not res.tie
    assert res.densities @ gm.priors == pytest.approx(d)
    assert np.all((res.densities >= 0) & (res.densities <= 1))
    caps = gm.priors / d
    fit = MCDraws(gm, 50_000, mm._seeds(0, "fit")[0])
    rng = np.random.default_rng(7)
    starts = [mm._cap_fill(rng.dirichlet(np.ones(4)), caps) for _ in range(6)]
    multistart = mm._smooth_capped(fit, caps, starts)
    brute = _brute_force(gm, caps)
    got, ref_ms, ref_bf = _judge(gm, [res.priors]), _judge(gm, multistart), _judge(gm, brute)
    # Paired comparisons on the same 100,000 fresh draws per class. 0.002 is the acceptance margin of
    # issue 12 (about 1.7 SE of one class risk at 1e5 draws, less for the paired difference); the old
    # solver's answer was 0.182, 0.02 above the optimum.
    assert got[0] <= ref_ms.min() + 0.002
    assert got[0] <= ref_bf.min() + 0.002
    assert got[0] < 0.170


@pytest.mark.slow
def test_figure6_mixture_acceptance_three_seeds():
    # Issue 12 section 1: K = 10, means 2.5 e_k, stds geometric 0.5 .. 1.5, balanced, d = 0.5. The
    # returned allocation's worst-class risk on 200,000 fresh draws per class must be <= 0.191 for
    # seeds 0, 1, 2, and within 0.002 of the best of several independent starts (same fit draws,
    # random Dirichlet starts), judged on the same fresh draws. Measured when written: 0.1894, 0.1898,
    # 0.1874 (the previous solver: 0.203, 0.1995, 0.1952).
    gm = GaussianMixture(2.5 * np.eye(10), stds=np.geomspace(0.5, 1.5, 10))
    d = 0.5
    results = [mm.minimax_densities(gm, d, n_mc=50_000, seed=s, n_certify=2) for s in (0, 1, 2)]
    judged = _judge(gm, [r.priors for r in results], n=200_000)
    assert np.all(judged <= 0.191), judged
    caps = gm.priors / d
    fit = MCDraws(gm, 50_000, mm._seeds(0, "fit")[0])
    rng = np.random.default_rng(11)
    starts = [mm._cap_fill(rng.dirichlet(np.ones(10)), caps) for _ in range(4)]
    ref = _judge(gm, mm._smooth_capped(fit, caps, starts), n=200_000)
    assert judged[0] <= ref.min() + 0.002, (judged, ref)
    # d = 0.2: nothing saturates; issue 12 reports the unconstrained minimax at 0.185 and DRoP at
    # 0.2135 (measured when written: 0.1837 on these draws)
    low = mm.minimax_densities(gm, 0.2, n_mc=50_000, seed=0, n_certify=2)
    assert _judge(gm, [low.priors], n=200_000)[0] <= 0.187


def test_certificate_is_out_of_sample_and_reproducible():
    gm = GaussianMixture([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], stds=[0.6, 3.0, 0.8], priors=[0.4, 0.2, 0.4])
    res = mm.minimax_densities(gm, 0.5, n_mc=20_000, seed=3, n_certify=30_000)
    fit_seed, select_seed, cert_seed = mm._seeds(3, "fit", "select", "certify")
    assert len({fit_seed, select_seed, cert_seed, 3}) == 4  # three independent samples
    again = MCDraws(gm, 30_000, cert_seed).risks(res.priors)
    np.testing.assert_array_equal(res.risks, again[0])
    np.testing.assert_array_equal(res.risk_high, again[3])
    assert res.max_risk == res.risks.max() and res.spread == pytest.approx(np.ptp(res.risks))
    # the in-sample value is recomputed on the fit draws, which are not the certificate's
    assert res.fit_max_risk == MCDraws(gm, 20_000, fit_seed).risks(res.priors)[0].max()
    # the certificate agrees with a third independent evaluation within 4 pairwise SE per class
    other = MCDraws(gm, 30_000, JUDGE_SEED).risks(res.priors)
    assert np.all(np.abs(other[0] - res.risks) < 4 * np.sqrt(other[1] ** 2 + res.se**2))
    # Same for the unconstrained minimax: its risks are the certificate draws, not the fit draws, and
    # not minimax_densities' certificate draws either (issue 17: the two shared them).
    un = mm.minimax(gm, n_mc=20_000, seed=3, n_certify=30_000)
    (prior_cert_seed,) = mm._seeds(3, "certify-priors")
    assert prior_cert_seed not in (fit_seed, select_seed, cert_seed)
    np.testing.assert_array_equal(un.risks,
                                  gm.class_risks(un.priors, n_mc=30_000, seed=prior_cert_seed).risks)
    fit = MCDraws(gm, 20_000, fit_seed).risks(un.priors)[0]
    assert un.fit_spread == pytest.approx(np.ptp(fit)) and un.fit_max_risk == fit.max()
    assert un.converged == (un.spread <= un.tol)


# ------------------------------------------------------------------ Wilson intervals
def test_zero_errors_give_a_wilson_interval_not_zero_plus_minus_zero():
    gm = GaussianMixture([[0.0, 0.0], [60.0, 0.0]], stds=[1.0, 1.5])
    est = gm.class_risks(method="mc", n_mc=10_000, seed=0)
    assert np.all(est.risks == 0) and np.all(est.se == 0)
    lo, hi = wilson_interval(0, 10_000)
    np.testing.assert_array_equal(est.low, [0.0, 0.0])
    np.testing.assert_allclose(est.high, [hi, hi])
    assert 3e-4 < hi < 4e-4  # z^2 / (n + z^2), z = 1.96
    exact = gm.class_risks()
    np.testing.assert_array_equal(exact.low, exact.risks)
    res = mm.minimax_densities(GaussianMixture(60 * np.eye(3)), 0.5, n_mc=2000, n_certify=5000)
    assert np.all(res.risks == 0) and np.all(res.risk_high > 0)


# ------------------------------------------------------------------ bounded memory
def test_streamed_draws_are_identical_to_cached_ones(monkeypatch):
    gm = GaussianMixture(2.0 * np.eye(3), stds=[0.7, 1.0, 1.4])
    n = mc.BLOCK + 5000  # two blocks per class
    cached, streamed = MCDraws(gm, n, 5), MCDraws(gm, n, 5, max_bytes=0)
    assert cached.cached and not streamed.cached
    w = np.array([0.2, 0.3, 0.5])
    np.testing.assert_array_equal(cached.error_counts(w), streamed.error_counts(w))
    for a, b in zip(cached.soft_risks(np.log(w), 0.1), streamed.soft_risks(np.log(w), 0.1)):
        np.testing.assert_array_equal(a, b)
    # the full (K, K n) matrix of class-major log densities is the concatenation of the same blocks
    ll = np.concatenate([b for _, b in streamed.blocks()], axis=1)
    y = np.repeat(np.arange(3), n)
    pred = np.argmax(ll + np.log(w)[:, None], axis=0)
    np.testing.assert_array_equal(np.bincount(y[pred != y], minlength=3) / n, cached.risks(w)[0])
    want = gm.class_risks(w, n_mc=3000, seed=1)
    want_alloc = mm.minimax_densities(gm, 0.5, n_mc=3000, seed=1, n_starts=2, n_certify=3000)
    monkeypatch.setattr(mc, "MAX_BYTES", 0)
    got = gm.class_risks(w, n_mc=3000, seed=1)
    got_alloc = mm.minimax_densities(gm, 0.5, n_mc=3000, seed=1, n_starts=2, n_certify=3000)
    np.testing.assert_array_equal(got.risks, want.risks)
    np.testing.assert_array_equal(got_alloc.densities, want_alloc.densities)
    np.testing.assert_array_equal(got_alloc.risks, want_alloc.risks)


def test_large_k_is_streamed_not_allocated(monkeypatch):
    # K = 100 at the default n_mc would need 16 GB held at once; it streams instead.
    assert not MCDraws(GaussianMixture(3.0 * np.eye(100)), 200_000, 0).cached
    # With the bound forced low, a K = 12 estimate whose full matrix would be 75 MB peaks at a few
    # blocks (one block: K x BLOCK doubles = 6.3 MB).
    import tracemalloc

    gm = GaussianMixture(3.0 * np.eye(12)[:, :3] + np.arange(12)[:, None] * 0.1, stds=np.linspace(1, 2, 12))
    n = mc.BLOCK + 10
    monkeypatch.setattr(mc, "MAX_BYTES", 2**20)
    tracemalloc.start()
    try:
        gm.class_risks(n_mc=n, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    block = gm.n_classes * mc.BLOCK * 8
    assert 8 * gm.n_classes**2 * n > 10 * block and peak < 5 * block


# ------------------------------------------------------------------ ties
def test_separated_classes_tie_and_return_the_uniform_allocation():
    # every allocation has zero risk: the canonical answer, flagged
    gm = GaussianMixture([[0.0], [100.0]], stds=[1.0, 2.0])
    res = gm.minimax()
    assert res.tie and res.method == "exact"
    np.testing.assert_array_equal(res.priors, [0.5, 0.5])
    alloc = gm.minimax_allocation(0.4)
    assert alloc.tie
    np.testing.assert_array_equal(alloc.densities, [0.4, 0.4])
    gm3 = GaussianMixture(60 * np.eye(3), stds=[1.0, 1.5, 2.0], priors=[0.2, 0.3, 0.5])
    res3 = gm3.minimax(n_mc=2000, n_certify=2000)
    assert res3.tie and res3.method == "mc"
    np.testing.assert_allclose(res3.priors, np.full(3, 1 / 3))
    alloc3 = gm3.minimax_allocation(0.5, n_mc=2000, n_certify=2000)
    assert alloc3.tie
    np.testing.assert_allclose(alloc3.densities, [0.5, 0.5, 0.5])
    # no tie where the optimum is unique
    assert not GaussianMixture([[0.0], [2.0]], stds=[1.0, 2.0]).minimax().tie


# ------------------------------------------------------------------ API and bad inputs
def test_names_and_delegation():
    gm = GaussianMixture(2.0 * np.eye(3), stds=[0.7, 1.0, 1.4])
    assert GaussianMixture.minimax_densities is GaussianMixture.worst_class_optimal_densities
    kw = dict(n_mc=3000, seed=2, n_starts=2)
    a = gm.worst_class_optimal_densities(0.5, **kw)
    np.testing.assert_array_equal(a, gm.minimax_densities(0.5, **kw))
    np.testing.assert_array_equal(a, mm.minimax_densities(gm, 0.5, **kw).densities)
    np.testing.assert_array_equal(gm.minimax(n_mc=3000).priors, mm.minimax(gm, n_mc=3000).priors)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda gm: mm.minimax_densities(gm, 0.0), ValueError, r"density must lie in \(0, 1\], got 0.0"),
        (lambda gm: mm.minimax_densities(gm, 0.5, n_starts=0), ValueError, "n_starts must be an integer"),
        (lambda gm: mm.minimax_densities(gm, 0.5, n_certify=1), ValueError, "n_certify must be 0 .* got 1"),
        (lambda gm: mm.minimax_densities(gm, 0.5, n_mc=2.5), TypeError, "n_mc must be an integer"),
        (lambda gm: mm.minimax(gm, method="newton"), ValueError, "method must be one of"),
        (lambda gm: mm.minimax(gm, seed=-1), ValueError, "seed must be a non-negative int"),
    ],
)
def test_bad_solver_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call(GaussianMixture(2.0 * np.eye(3)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(stds=[1.0, 1e300]), r"stds: the stds must lie in \[1e-150, 1e150\], got 1.0 .. 1e\+300"),
        (dict(stds=[1.0, 1e-300]), r"stds: the stds must lie in \[1e-150, 1e150\], got 1e-300 .. 1.0"),
        (dict(stds=[1e-60, 1e60]), "within a factor 1e"),
        (dict(covariances=[np.eye(2), 1e-320 * np.eye(2)]), "covariances: the square roots"),
    ],
)
def test_extreme_scales_are_rejected(kwargs, match):
    # issue 10 item 9: stds (1, 1e300) gave NaN risks, 1e-300 a LinAlgError
    with pytest.raises(ValueError, match=match):
        GaussianMixture([[0.0, 0.0], [1.0, 0.0]], **kwargs)
    with pytest.raises(ValueError, match="distances between means"):
        GaussianMixture([[0.0], [1e300]])


def test_compare_allocations_reports_wilson_bounds_and_skips_the_certificate():
    gm = GaussianMixture(2.0 * np.eye(3), stds=[0.7, 1.0, 1.4])
    comp = gm.compare_allocations(0.5, n_mc=5000, seed=1)
    for res in comp.values():
        assert np.all(res["low"] <= res["risks"]) and np.all(res["risks"] <= res["high"])
        lo, hi = wilson_interval(np.round(res["risks"] * 5000), 5000)
        np.testing.assert_allclose(res["low"], lo)
        np.testing.assert_allclose(res["high"], hi)
    # compare_allocations evaluates on its own draws, so it asks for no certificate
    bare = mm.minimax_densities(gm, 0.5, n_mc=5000, seed=1, n_certify=0)
    np.testing.assert_array_equal(bare.densities, comp["minimax"]["densities"])
    assert np.all(np.isnan(bare.risks)) and "not certified" in bare.message


# ------------------------------------------------------------------ issue 17
def test_minimax_and_minimax_densities_certify_on_independent_draws(monkeypatch):
    """With the same seed the two solvers used to certify on the same draws (issue 17). Record the
    seed of every MCDraws of the certificate size and check that they differ."""
    gm = GaussianMixture(2.0 * np.eye(3), stds=[0.7, 1.0, 1.4])
    seen = []

    class Recording(MCDraws):
        def __init__(self, mixture, n_mc, seed=0, max_bytes=None):
            if n_mc == 2345:  # the certificate size, used by nothing else here
                seen.append(int(seed))
            super().__init__(mixture, n_mc, seed, max_bytes)

    monkeypatch.setattr(mm, "MCDraws", Recording)
    mm.minimax(gm, n_mc=2000, seed=5, n_certify=2345)
    mm.minimax_densities(gm, 0.5, n_mc=2000, seed=5, n_starts=1, n_certify=2345)
    assert len(seen) == 2 and seen[0] != seen[1]
    # and neither is any of the fit / selection / start streams
    assert not set(seen) & set(mm._seeds(5, "fit", "select", "starts"))


@pytest.mark.parametrize("call", [
    lambda m: mm.minimax(m),
    lambda m: mm.minimax_densities(m, 0.5),
])
def test_a_two_gaussian_model_is_a_clear_type_error(call):
    from gaussian_theory.two_gaussians import TwoGaussians
    # issue 17: minimax.minimax(TwoGaussians()) ended in AttributeError
    with pytest.raises(TypeError, match=r"mixture must be a GaussianMixture, got TwoGaussians\(means=.*"
                                        r"from_two_gaussians"):
        call(TwoGaussians())
    with pytest.raises(TypeError, match=r"mixture must be a GaussianMixture, got list \[1, 2\]"):
        call([1, 2])
    # the supported route gives the closed form's answer
    gm = GaussianMixture.from_two_gaussians(TwoGaussians())
    res = mm.minimax(gm)  # risks equalised to 1e-12: the priors to about 1e-8
    np.testing.assert_allclose(res.priors, TwoGaussians().worst_class_optimal_priors(), rtol=1e-6)


@pytest.mark.parametrize("tol, exc, shown", [
    (-1, ValueError, "-1"), (0, ValueError, "0"), (float("nan"), ValueError, "nan"),
    (float("inf"), ValueError, "inf"), ("0.1", TypeError, "'0.1'"), (True, TypeError, "True"),
])
@pytest.mark.parametrize("mixture", [GaussianMixture([0.0, 1.0]), GaussianMixture([[0.0], [1.0], [2.0]])],
                         ids=["exact", "mc"])
def test_bad_tol_is_rejected_not_replaced_by_the_default(mixture, tol, exc, shown):
    # issue 17: GaussianMixture.minimax(tol=-1) silently used the default tolerance
    with pytest.raises(exc, match=rf"tol must be .*got {shown}"):
        mixture.minimax(tol=tol, n_mc=500, n_certify=500)


def test_a_positive_tol_is_used():
    gm = GaussianMixture([[0.0], [1.0], [2.0]], stds=[1.0, 1.5, 2.0])
    loose = gm.minimax(n_mc=4000, n_certify=4000, tol=0.05)
    tight = gm.minimax(n_mc=4000, n_certify=4000, tol=1e-3)
    assert loose.fit_spread <= 0.05 and tight.fit_spread <= max(1e-3, 1 / 4000) + 1e-12
    assert loose.iterations <= tight.iterations
    assert GaussianMixture([0.0, 1.0], stds=[1.0, 2.0]).minimax(tol=1e-6).tol == 1e-6
