"""Tests of gaussian_theory.allocation (DRoP class quotas) against a literal transcription of the
paper's Algorithm 1 (arXiv 2404.05579), hand-computed examples and property-based invariants."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from gaussian_theory.allocation import drop_counts, drop_densities, uniform_counts
from gaussian_theory.two_gaussians import TwoGaussians

# The few-samples UserWarning (issue 10) fires on many property-test inputs; it is tested on its own
# below (pytest.warns and an "error" filter override this).
pytestmark = pytest.mark.filterwarnings("ignore:.*keep fewer than:UserWarning")


# ----------------------------------------------------------------------------- reference
def iterative_fill(weights, caps, budget, max_passes=10_000):
    """Algorithm 1 of the paper (arXiv 2404.05579), literally, in units of samples.

    ``U`` unsaturated classes, ``E`` excess to allocate. Each pass hands class k the amount
    ``E_start * w_k / Z`` (E *at the start of the pass*, so the total stays dN), caps it, and returns
    the overflow to E for the next pass. With w_k = N_k (1 - r_k) and caps N_k this is the paper's
    density rule (x_k = N_k d_k); with w_k = 1 - r_k it is the official code's count rule.
    Documented extension (allocation module docstring): if every weighted class is full and budget
    remains, the rest goes to the zero-weight classes in proportion to their caps.
    """
    w = [float(x) for x in weights]
    cap = [float(c) for c in caps]
    x = [0.0] * len(w)
    unsat = [k for k in range(len(w)) if cap[k] > 0]
    excess = float(budget)
    for _ in range(max_passes):
        if excess <= 1e-12 * max(1.0, sum(cap)):
            break
        z = sum(w[k] for k in unsat)
        if z == 0:
            room = sum(cap[k] for k in unsat)
            for k in unsat:
                x[k] += excess * cap[k] / room
            excess = 0.0
            break
        e_start = excess
        for k in list(unsat):
            add = e_start * w[k] / z
            x[k] += add
            excess -= add
            if x[k] > cap[k]:
                unsat.remove(k)
                excess += x[k] - cap[k]
                x[k] = cap[k]
    return np.array(x)


def algorithm1_densities(recalls, sizes, d):
    sizes = np.asarray(sizes, dtype=float)
    r = np.asarray(recalls, dtype=float)
    kept = iterative_fill(sizes * (1 - r), sizes, d * sizes.sum())
    return np.divide(kept, sizes, out=np.zeros_like(kept), where=sizes > 0)


def real_quotas(kind, recalls, sizes, total):
    """Real-valued quotas of ``kind`` for the integer ``total``, from the literal algorithm."""
    sizes = np.asarray(sizes, dtype=float)
    r = np.asarray(recalls, dtype=float)
    if kind == "paper":
        w = sizes * (1 - r)
    elif kind == "code":
        w = (1 - r) * (sizes > 0)
    else:  # uniform: keep class proportions
        w = sizes
    return iterative_fill(w, sizes, total)


# ----------------------------------------------------------------------------- densities
def test_drop_densities_match_literal_algorithm1_on_random_inputs():
    rng = np.random.default_rng(2025)
    n_saturated = 0
    for _ in range(300):
        k = int(rng.integers(1, 30))
        sizes = rng.integers(1, 2000, size=k)
        recalls = rng.uniform(0, 0.99, size=k)
        if rng.random() < 0.3:  # a few perfect classes
            recalls[rng.random(k) < 0.3] = 1.0
        d = float(rng.uniform(0.01, 1.0))
        got = drop_densities(recalls, sizes, d)
        ref = algorithm1_densities(recalls, sizes, d)
        # Both are the same fixed point; the loop accumulates at most K passes of rounding
        # (~K * 1e-16 relative), so 1e-9 is generous but far below any allocation difference.
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)
        assert got @ sizes == pytest.approx(d * sizes.sum(), rel=1e-12)
        n_saturated += bool((got == 1).any() and d < 1)
    assert n_saturated > 30  # saturation was exercised


def test_drop_densities_closed_form_without_saturation():
    rng = np.random.default_rng(99)
    for _ in range(100):
        k = int(rng.integers(2, 20))
        sizes = rng.integers(1, 500, size=k)
        r = rng.uniform(0, 0.95, size=k)
        z = np.sum(sizes / sizes.sum() * (1 - r))
        # d_k = d (1-r_k)/Z <= 1 for all k iff d <= Z / max(1 - r): stay inside that range.
        d = float(rng.uniform(0.05, 1.0) * z / np.max(1 - r))
        np.testing.assert_allclose(drop_densities(r, sizes, d), d * (1 - r) / z, rtol=1e-12)


def test_drop_densities_doc_example():
    # r = (0.9, 0.7), N = (100, 100), d = 0.5: Z = 0.2, d_k = 0.5 * (0.1, 0.3) / 0.2 = (0.25, 0.75).
    np.testing.assert_allclose(drop_densities([0.9, 0.7], [100, 100], 0.5), [0.25, 0.75], rtol=1e-14)


def test_edge_all_recalls_one_gives_uniform():
    sizes = [10, 25, 0, 40]
    np.testing.assert_allclose(drop_densities([1, 1, 1, 1], sizes, 0.3), [0.3, 0.3, 0.0, 0.3], rtol=1e-14)
    np.testing.assert_array_equal(drop_counts([1, 1, 1, 1], sizes, 0.3), uniform_counts(sizes, 0.3))
    np.testing.assert_array_equal(drop_counts([1, 1, 1, 1], sizes, 0.3, rule="code"),
                                  uniform_counts(sizes, 0.3))


def test_edge_full_density_keeps_everything():
    sizes = [7, 0, 13, 100]
    r = [0.2, 0.5, 0.99, 1.0]
    np.testing.assert_array_equal(drop_densities(r, sizes, 1.0), [1.0, 0.0, 1.0, 1.0])
    for rule in ("paper", "code"):
        np.testing.assert_array_equal(drop_counts(r, sizes, 1.0, rule=rule), sizes)
    np.testing.assert_array_equal(uniform_counts(sizes, 1.0), sizes)


def test_edge_saturated_classes_leave_remainder_to_perfect_classes():
    # r = (0.5, 1, 1), N = (10, 20, 60), d = 0.5: dN = 45. Only class 0 has weight; it saturates at
    # 10, and the remaining 35 go to classes 1 and 2 in proportion to size: 35*20/80 = 8.75 and
    # 35*60/80 = 26.25, i.e. density 0.4375 each. Counts: floors (10, 8, 26) = 44, the last unit to
    # the larger remainder (.75, class 1) -> (10, 9, 26).
    np.testing.assert_allclose(drop_densities([0.5, 1, 1], [10, 20, 60], 0.5), [1.0, 0.4375, 0.4375],
                               rtol=1e-14)
    np.testing.assert_array_equal(drop_counts([0.5, 1, 1], [10, 20, 60], 0.5), [10, 9, 26])


def test_edge_empty_class_gets_nothing():
    np.testing.assert_array_equal(drop_densities([0.1, 0.5], [0, 10], 0.5), [0.0, 1.0 * 0.5])
    assert drop_counts([0.1, 0.5], [0, 10], 0.5).tolist() == [0, 5]


def test_code_and_paper_rules_equal_on_balanced_sizes():
    rng = np.random.default_rng(4)
    for _ in range(100):
        k = int(rng.integers(1, 15))
        n = int(rng.integers(1, 300))
        r = rng.uniform(0, 1, size=k)
        d = float(rng.uniform(0.01, 1))
        np.testing.assert_array_equal(drop_counts(r, [n] * k, d), drop_counts(r, [n] * k, d, rule="code"))


def test_code_and_paper_rules_differ_on_imbalanced_sizes():
    # r = (0.8, 0.6, 0.6), N = (50, 50, 200), d = 0.4: total 120.
    # paper: weights N(1-r) = (10, 20, 80), quotas 120*(10,20,80)/110 = (10.91, 21.82, 87.27),
    #        floors (10, 21, 87) = 118, two units to the largest remainders -> (11, 22, 87).
    # code:  weights 1-r = (0.2, 0.4, 0.4), quotas 120*(1,2,2)/5 = (24, 48, 48), no cap reached.
    r, sizes = [0.8, 0.6, 0.6], [50, 50, 200]
    assert drop_counts(r, sizes, 0.4).tolist() == [11, 22, 87]
    assert drop_counts(r, sizes, 0.4, rule="code").tolist() == [24, 48, 48]
    # Docstring example, same arithmetic: paper (10, 90)*200/100 = (20, 180); code (.1,.3) -> (50, 150).
    assert drop_counts([0.9, 0.7], [100, 300], 0.5).tolist() == [20, 180]
    assert drop_counts([0.9, 0.7], [100, 300], 0.5, rule="code").tolist() == [50, 150]


def test_code_rule_saturation_redistributes_by_one_minus_recall():
    # r = (0.0, 0.5, 0.5), N = (10, 100, 100), d = 0.5: total 105; code quotas 105*(1, .5, .5)/2 =
    # (52.5, 26.25, 26.25) -> class 0 capped at 10, the other 95 split equally (equal 1-r): 47.5 each.
    # Largest remainder ties (.5, .5, equal recall) go to the lower index -> (10, 48, 47).
    got = drop_counts([0.0, 0.5, 0.5], [10, 100, 100], 0.5, rule="code")
    assert got.tolist() == [10, 48, 47]
    np.testing.assert_allclose(real_quotas("code", [0.0, 0.5, 0.5], [10, 100, 100], 105), [10, 47.5, 47.5])


@pytest.mark.parametrize("rule", ["paper", "code"])
def test_exact_remainder_tie_goes_to_lower_recall(rule):
    # r = (0, 2/3), N = (10, 10), d = 0.1: total 2, weights (1, 1/3) -> quotas (1.5, 0.5). Floors
    # (1, 0); the last unit is a tie of remainders (.5, .5), which the docstring gives to the lower
    # recall -> (2, 0). In floating point the two remainders come out ~2e-16 apart (the wrong way).
    assert drop_counts([0, 2 / 3], [10, 10], 0.1, rule=rule).tolist() == [2, 0]
    assert drop_counts([2 / 3, 0], [10, 10], 0.1, rule=rule).tolist() == [0, 2]


def test_uniform_counts_doc_example():
    # 15 * 0.5 = 7.5 -> 8 (half up); quotas 2.5 each, ties to the lower index -> (3, 3, 2).
    assert uniform_counts([5, 5, 5], 0.5).tolist() == [3, 3, 2]


# ----------------------------------------------------------------------------- properties
sizes_st = st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=12).filter(
    lambda s: sum(s) > 0
)
density_st = st.floats(min_value=0.0, max_value=1.0, exclude_min=True, allow_nan=False)


@st.composite
def allocation_inputs(draw, distinct=False):
    sizes = draw(sizes_st)
    recall = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    if distinct:
        recalls = draw(st.lists(recall, min_size=len(sizes), max_size=len(sizes), unique=True))
    else:
        recalls = draw(st.lists(recall, min_size=len(sizes), max_size=len(sizes)))
    return np.array(recalls), np.array(sizes), draw(density_st)


def _counts(kind, recalls, sizes, d):
    return uniform_counts(sizes, d) if kind == "uniform" else drop_counts(recalls, sizes, d, rule=kind)


@pytest.mark.parametrize("kind", ["paper", "code", "uniform"])
@settings(max_examples=150, deadline=None)
@given(data=allocation_inputs())
def test_counts_total_bounds_and_quota_distance(kind, data):
    recalls, sizes, d = data
    counts = _counts(kind, recalls, sizes, d)
    assert counts.dtype.kind == "i" and counts.shape == sizes.shape
    # round(dN) = floor(dN + 1/2). The library adds a 1e-9 guard so that decimal densities such as
    # 0.3 * 5 (= 1.4999999999999998 in binary) round as written; exactly-half cases within 1e-9 of
    # the float product may therefore round up. Exact checks on decimal densities are below.
    dn = d * sizes.sum()
    frac = dn - math.floor(dn)
    if abs(frac - 0.5) > 1e-9:
        assert counts.sum() == math.floor(dn + 0.5)
    else:
        assert counts.sum() in (math.floor(dn), math.floor(dn) + 1)
    assert (counts >= 0).all() and (counts <= sizes).all()
    quotas = real_quotas(kind, recalls, sizes, counts.sum())
    # Largest remainder moves each count by less than one unit from its real quota; 1e-9 absorbs
    # the reference loop's rounding (quotas <= 3600, relative error ~1e-15).
    assert (np.abs(counts - quotas) < 1 + 1e-9).all(), (counts, quotas)


@pytest.mark.parametrize("kind", ["paper", "code", "uniform"])
@settings(max_examples=150, deadline=None)
@given(sizes=st.lists(st.integers(0, 5000), min_size=1, max_size=10).filter(lambda s: sum(s) > 0),
       permille=st.integers(1, 1000), recall_seed=st.integers(0, 2**32 - 1))
def test_counts_total_exact_for_decimal_densities(kind, sizes, permille, recall_seed):
    """d = k/1000 as written in decimal: the total is floor(k N / 1000 + 1/2) in exact arithmetic."""
    d = permille / 1000
    recalls = np.random.default_rng(recall_seed).uniform(0, 1, size=len(sizes))
    expected = math.floor(Fraction(permille, 1000) * sum(sizes) + Fraction(1, 2))
    assert _counts(kind, recalls, np.array(sizes), d).sum() == expected


@settings(max_examples=200, deadline=None)
@given(data=allocation_inputs())
def test_lower_recall_never_gets_lower_density(data):
    recalls, sizes, d = data
    dens = drop_densities(recalls, sizes, d)
    nonempty = np.flatnonzero(sizes > 0)
    for a in nonempty:
        for b in nonempty:
            if recalls[a] < recalls[b]:
                # Exact up to one rounding of d_k = (c N_k (1-r_k)) / N_k: hypothesis finds
                # r = (0, 1e-38), where 1 - r is the same double and the two densities differ in
                # the last bit. 4 ulps of relative slack covers that and nothing larger.
                assert dens[a] >= dens[b] * (1 - 4 * np.finfo(float).eps), (a, b, dens)


@pytest.mark.parametrize("rule", ["paper", "code"])
@settings(max_examples=200, deadline=None)
@given(k=st.integers(1, 12), n=st.integers(1, 300), density=density_st,
       recalls=st.lists(st.floats(0, 1, allow_nan=False), min_size=12, max_size=12))
def test_lower_recall_never_gets_fewer_samples_equal_sizes(rule, k, n, density, recalls):
    r = np.array(recalls[:k])
    counts = drop_counts(r, [n] * k, density, rule=rule)
    for a in range(k):
        for b in range(k):
            if r[a] < r[b]:
                assert counts[a] >= counts[b], (a, b, counts)


@pytest.mark.parametrize("rule", ["paper", "code"])
@settings(max_examples=150, deadline=None)
@given(data=allocation_inputs(distinct=True), perm_seed=st.integers(0, 2**32 - 1))
def test_permutation_equivariance(rule, data, perm_seed):
    recalls, sizes, d = data
    perm = np.random.default_rng(perm_seed).permutation(len(sizes))
    base = drop_counts(recalls, sizes, d, rule=rule)
    np.testing.assert_array_equal(drop_counts(recalls[perm], sizes[perm], d, rule=rule), base[perm])
    # Densities are permutation equivariant up to summation-order rounding.
    np.testing.assert_allclose(drop_densities(recalls[perm], sizes[perm], d),
                               drop_densities(recalls, sizes, d)[perm], rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "recalls, sizes, density, exc, pattern",
    [
        ([0.5, 1.5], [10, 10], 0.5, ValueError, r"recalls.*1\.5"),
        ([-0.1, 0.5], [10, 10], 0.5, ValueError, r"recalls.*-0\.1"),
        ([np.nan, 0.5], [10, 10], 0.5, ValueError, r"recalls.*nan"),
        ([0.5, 0.5], [10, -3], 0.5, ValueError, r"class_sizes.*-3"),
        ([0.5, 0.5], [10, 2.5], 0.5, ValueError, r"class_sizes.*2\.5"),
        ([0.5, 0.5], [10, np.inf], 0.5, ValueError, r"class_sizes.*inf"),
        ([0.5, 0.5], [0, 0], 0.5, ValueError, r"class_sizes.*\[0, 0\]"),
        ([0.5], [10, 10], 0.5, ValueError, r"recalls has 1 entries.*class_sizes has 2"),
        ([0.5, 0.5, 0.5], [10, 10], 0.5, ValueError, r"recalls has 3 entries"),
        ([0.5, 0.5], [10, 10], 0, ValueError, r"density.*got 0"),
        ([0.5, 0.5], [10, 10], 0.0, ValueError, r"density.*got 0\.0"),
        ([0.5, 0.5], [10, 10], 1.5, ValueError, r"density.*1\.5"),
        ([0.5, 0.5], [10, 10], -0.2, ValueError, r"density.*-0\.2"),
        ([0.5, 0.5], [10, 10], float("nan"), ValueError, r"density.*nan"),
        ([0.5, 0.5], [10, 10], "0.5", TypeError, r"density.*'0\.5'"),
        ([0.5, 0.5], [10, 10], None, TypeError, r"density.*None"),
        ([], [], 0.5, ValueError, r"class_sizes.*\[\]"),
        ([0.5, 0.5], 10, 0.5, TypeError, r"class_sizes.*10"),
        (0.5, [10], 0.5, TypeError, r"recalls.*0\.5"),
        (["a", "b"], [10, 10], 0.5, TypeError, r"recalls.*'a'"),
        ([0.5, 0.5], "ab", 0.5, TypeError, r"class_sizes.*'ab'"),
    ],
)
def test_invalid_inputs_name_argument_and_value(recalls, sizes, density, exc, pattern):
    with pytest.raises(exc, match=pattern):
        drop_densities(recalls, sizes, density)
    for rule in ("paper", "code"):
        with pytest.raises(exc, match=pattern):
            drop_counts(recalls, sizes, density, rule=rule)


@pytest.mark.parametrize(
    "sizes, density, exc, pattern",
    [([10, -1], 0.5, ValueError, r"class_sizes.*-1"), ([10, 10], 0, ValueError, r"density.*0"),
     ([10, 10], 2.0, ValueError, r"density.*2\.0"), ([], 0.5, ValueError, r"class_sizes"),
     ([1.5], 0.5, ValueError, r"class_sizes.*1\.5")],
)
def test_uniform_counts_invalid(sizes, density, exc, pattern):
    with pytest.raises(exc, match=pattern):
        uniform_counts(sizes, density)


def test_unknown_rule():
    with pytest.raises(ValueError, match=r"rule.*'fair'"):
        drop_counts([0.5, 0.5], [10, 10], 0.5, rule="fair")


# ----------------------------------------------------------------------------- DRoP in the toy model
# Provenance: a population-level check computed independently of this code (not numbers from the
# paper; README, "What the theory says", quotes the first row) of DRoP in the two-Gaussian model of
# arXiv 2404.05579 §4: balanced
# priors, DRoP densities from the recalls of t*(1) with no saturation (small d), the learned
# threshold t*(d0 phi0 / d1 phi1) evaluated on the unpruned distribution.
# Columns: (mu0, s0, mu1, s1), R0, R1 at t*(1), DRoP ratio, optimal ratio, worst DRoP, worst optimum.
DROP_TOY_TABLE = [
    ((0, 1, 6, 2), 0.0130, 0.0295, 0.442, 0.5, 0.0251, 0.0228),
    ((0, 1, 4, 2), 0.0485, 0.1210, 0.401, 0.5, 0.1112, 0.0912),
    ((0, 1, 3, 2), 0.0780, 0.2145, 0.364, 0.5, 0.2191, 0.1587),
    ((-1, 1, 1, 1.5), 0.1385, 0.2714, 0.511, 0.667, 0.2774, 0.2119),
    ((0, 1, 5, 3), 0.0342, 0.1447, 0.237, 0.333, 0.1512, 0.1056),
]


@pytest.mark.parametrize("row", DROP_TOY_TABLE, ids=lambda r: str(r[0]))
def test_drop_toy_table(row):
    (mu0, s0, mu1, s1), r0, r1, drop_ratio, opt_ratio, worst_drop, worst_opt = row
    model = TwoGaussians((mu0, mu1), (s0, s1), (0.5, 0.5))
    risks = model.class_risks(model.optimal_threshold())
    # Tolerances: half a unit in the last printed digit.
    np.testing.assert_allclose(risks, [r0, r1], atol=5e-5)
    sizes = [1_000_000, 1_000_000]  # balanced priors as equal class sizes
    dens = drop_densities(1 - risks, sizes, 0.1)
    assert (dens < 1).all()  # "no saturation (small d)"
    assert dens[0] / dens[1] == pytest.approx(drop_ratio, abs=5e-4)
    assert s0 / s1 == pytest.approx(opt_ratio, abs=5e-4)
    assert model.pruned_risks(dens).max() == pytest.approx(worst_drop, abs=5e-5)
    # Optimum Phi(-(mu1-mu0)/(s0+s1)) (the worst-class risk at t_wc, arXiv 2404.05579 App. B.2), reached
    # by the worst-class-optimal densities.
    assert norm.cdf(-(mu1 - mu0) / (s0 + s1)) == pytest.approx(worst_opt, abs=5e-5)
    best = model.pruned_risks(model.worst_class_optimal_densities(0.1)).max()
    assert best == pytest.approx(worst_opt, abs=5e-5)


# ============================================================================= issue 12 / issue 10
# The allocation rules (probit, damped DRoP, errors directly) and the per-class minimum.
import warnings  # noqa: E402

import mpmath  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import ndtri  # noqa: E402

from gaussian_theory.allocation import FEW_SAMPLES, allocation_weights  # noqa: E402
from gaussian_theory.apportionment import largest_remainder, population_sizes, water_fill  # noqa: E402


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with the few-samples UserWarning silenced (it is tested separately)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def clip_fill_reference(w, lo, cap, budget):
    """clip(c w, lo, cap) summing to budget, c found by brentq on the (monotone) total: independent of
    the library's sorted-kink construction. Only for w > 0 everywhere."""
    total = lambda c: np.clip(c * w, lo, cap).sum() - budget  # noqa: E731
    hi = 1.0
    while total(hi) < 0:
        hi *= 2
    c = brentq(total, 0.0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    return np.clip(c * w, lo, cap)


def test_water_fill_with_floors_matches_root_finding():
    rng = np.random.default_rng(12)
    n_floor_binds = 0
    for _ in range(300):
        k = int(rng.integers(1, 25))
        w = rng.uniform(0.01, 1, size=k) ** 3
        cap = rng.uniform(0, 50, size=k)
        lo = np.minimum(cap, rng.uniform(0, 10, size=k) * (rng.random(k) < 0.6))
        budget = float(rng.uniform(lo.sum(), cap.sum()))
        got = water_fill(w, cap, budget, floors=lo)
        ref = clip_fill_reference(w, lo, cap, budget)
        # Both solve the same piecewise-linear equation; brentq stops within a few ulps of c, which
        # moves each x_k by <= 50 * 1e-15. 1e-9 absolute is far below any allocation difference.
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
        assert got.sum() == pytest.approx(budget, rel=1e-12)
        assert (got >= lo).all() and (got <= cap).all()
        n_floor_binds += bool(((got == lo) & (lo > 0) & (lo < cap)).any())
    assert n_floor_binds > 50


def test_water_fill_floors_on_zero_weight_bins():
    # Weighted bin 0 fills (cap 10), the zero-weight bins keep their floors, then share the rest
    # by clip(c cap, lo, cap): budget 30 -> 20 for bins 1, 2 (caps 20, 40, floors 15, 0): c = 1/3
    # gives (6.67, 13.3) but bin 1's floor 15 binds -> (15, 5).
    np.testing.assert_allclose(water_fill([1, 0, 0], [10, 20, 40], 30, floors=[0, 15, 0]), [10, 15, 5],
                               rtol=1e-14)
    # Budget below the weighted bin's cap: zero-weight bins stay at their floors.
    np.testing.assert_allclose(water_fill([1, 0, 0], [10, 20, 40], 20, floors=[0, 15, 0]), [5, 15, 0],
                               rtol=1e-14)
    with pytest.raises(ValueError, match="budget.*floors"):
        water_fill([1, 1], [10, 10], 3, floors=[2, 2])


def test_largest_remainder_never_goes_below_floors():
    # Quotas summing just above the total (rounding): the unit is taken back above the floors.
    got = largest_remainder([5.0, 4.9999999999, 3.0], [10, 10, 10], 12, floors=[5, 0, 3])
    assert got.tolist() == [5, 4, 3]


# ----------------------------------------------------------------------------- damped DRoP
@settings(max_examples=150, deadline=None)
@given(data=allocation_inputs())
def test_alpha_one_is_algorithm1_and_alpha_zero_is_uniform(data):
    recalls, sizes, d = data
    for rule in ("paper", "code"):
        np.testing.assert_array_equal(quiet(drop_counts, recalls, sizes, d, rule, alpha=1.0),
                                      quiet(drop_counts, recalls, sizes, d, rule))
    np.testing.assert_array_equal(quiet(drop_densities, recalls, sizes, d, alpha=1),
                                  quiet(drop_densities, recalls, sizes, d))
    # alpha = 0: every weight is 1 (0^0 = 1), so the paper rule keeps the class proportions.
    np.testing.assert_array_equal(quiet(drop_counts, recalls, sizes, d, alpha=0.0),
                                  quiet(uniform_counts, sizes, d))
    dens0 = quiet(drop_densities, recalls, sizes, d, alpha=0)
    np.testing.assert_allclose(dens0[sizes > 0], d, rtol=1e-12)


def test_alpha_one_matches_literal_algorithm1():
    rng = np.random.default_rng(31)
    for _ in range(100):
        k = int(rng.integers(1, 20))
        sizes = rng.integers(1, 1000, size=k)
        r = rng.uniform(0, 0.99, size=k)
        d = float(rng.uniform(0.01, 1))
        np.testing.assert_allclose(quiet(drop_densities, r, sizes, d, alpha=1.0),
                                   algorithm1_densities(r, sizes, d), rtol=1e-9, atol=1e-12)


def test_alpha_closed_form_and_monotone_for_the_hardest_class():
    # Without saturation d_k = d e_k^a / sum_j (N_j/N) e_j^a.
    r, sizes = np.array([0.95, 0.8, 0.6]), np.array([100, 200, 300])
    e = 1 - r
    for a in (0.25, 0.5, 0.7, 1.5):
        z = (sizes / sizes.sum() * e**a).sum()
        np.testing.assert_allclose(drop_densities(r, sizes, 0.2, alpha=a), 0.2 * e**a / z, rtol=1e-12)
    rng = np.random.default_rng(8)
    alphas = np.linspace(0, 4, 33)
    for _ in range(200):
        k = int(rng.integers(2, 12))
        sizes = rng.integers(1, 500, size=k)
        r = rng.uniform(0, 1, size=k)
        d = float(rng.uniform(0.01, 1))
        hard = int(np.argmin(r))
        dens = np.array([quiet(drop_densities, r, sizes, d, alpha=a)[hard] for a in alphas])
        # The hardest class's weight is the largest (scaled to 1), every other one shrinks as alpha
        # grows, so c and the hardest density can only grow; 1e-12 absorbs rounding.
        assert (np.diff(dens) >= -1e-12).all(), (r, sizes, d, dens)
        assert dens[0] == pytest.approx(d, rel=1e-12)


def test_large_alpha_does_not_underflow_to_uniform():
    # e^300 underflows for every class; the weights are scaled by the largest first, so a huge
    # alpha gives the hardest class everything it can take instead of silently going uniform.
    dens = drop_densities([0.1, 0.2, 0.3], [100, 100, 100], 0.2, alpha=300.0)
    np.testing.assert_allclose(dens, [0.6, 0.0, 0.0], atol=1e-15)


# ----------------------------------------------------------------------------- errors directly
def test_errors_keep_tiny_differences_that_recalls_cancel():
    sizes = [100, 100]
    # 1 - 1e-20 == 1.0: through recalls both weights vanish and DRoP falls back to uniform.
    np.testing.assert_allclose(quiet(drop_densities, [1 - 1e-20, 1 - 2e-20], sizes, 0.5), [0.5, 0.5])
    np.testing.assert_allclose(drop_densities(errors=[1e-20, 2e-20], class_sizes=sizes, density=0.5),
                               [1 / 3, 2 / 3], rtol=1e-14)
    assert drop_counts(errors=[1e-20, 2e-20], class_sizes=sizes, density=0.6).tolist() == [40, 80]
    # Recalls and errors agree wherever 1 - r is exact (r >= 1/2 by Sterbenz: here r = k/8).
    r = np.array([0.5, 0.625, 0.875, 1.0])
    np.testing.assert_array_equal(quiet(drop_counts, errors=1 - r, class_sizes=[50] * 4, density=0.3),
                                  quiet(drop_counts, r, [50] * 4, 0.3))


@pytest.mark.parametrize("kwargs, pattern", [
    ({}, "exactly one of recalls= and errors="),
    ({"recalls": [0.5, 0.5], "errors": [0.5, 0.5]}, "exactly one of recalls= and errors="),
])
def test_exactly_one_of_recalls_and_errors(kwargs, pattern):
    for fn in (drop_densities, drop_counts):
        with pytest.raises(TypeError, match=pattern):
            fn(class_sizes=[10, 10], density=0.5, **kwargs)
    with pytest.raises(TypeError, match=pattern):
        allocation_weights(**kwargs)


def test_errors_validated_like_recalls():
    with pytest.raises(ValueError, match=r"errors.*1\.5"):
        drop_densities(errors=[0.5, 1.5], class_sizes=[10, 10], density=0.5)
    with pytest.raises(ValueError, match=r"errors has 1 entries"):
        drop_counts(errors=[0.5], class_sizes=[10, 10], density=0.5)
    with pytest.raises(TypeError, match="class_sizes is required"):
        drop_counts(errors=[0.5, 0.5], density=0.5)


# ----------------------------------------------------------------------------- probit rule
def test_probit_weights_are_phi_of_probit_to_mpmath_precision():
    mpmath.mp.dps = 40
    e = np.array([0.4, 0.1, 1e-3, 1e-12, 1e-200])
    w = allocation_weights(errors=e, allocation_rule="probit")
    # Phi^{-1}(e) by mpmath's own root finder on log Phi (40 digits), then the density.
    zs = [mpmath.findroot(lambda z, x=x: mpmath.log(mpmath.ncdf(z)) - mpmath.log(mpmath.mpf(x)),
                          float(ndtri(x))) for x in e]
    ref = [mpmath.npdf(z) for z in zs]
    ratios = np.array([float(x / ref[0]) for x in ref])
    # ndtri is accurate to a few ulps in z; w = exp(-z^2/2) then carries a relative error ~ z^2 eps
    # (z ~ 30 at 1e-200: ~1e-13). 1e-11 leaves a margin and catches any wrong formula.
    np.testing.assert_allclose(w / w[0], ratios, rtol=1e-11)
    # phi is symmetric: recall r and error r give the same weight; recall 0 or 1 gives weight 0.
    np.testing.assert_allclose(allocation_weights([0.3, 0.7], allocation_rule="probit"), [1, 1], rtol=1e-15)
    assert allocation_weights([1.0, 0.7], allocation_rule="probit")[0] == 0


def _two_gaussian_cells():
    """Figure-4 grid (separation z = (mu1 - mu0)/(s0 + s1) in 1-3 x std ratio 1.1-4 at d = 0.5,
    balanced), saturated cases, unequal priors (with both std orders) and the Theorem B.1 case."""
    cells = [((0, z * (1 + ratio)), (1, ratio), (0.5, 0.5), 0.5)
             for z in np.linspace(1, 3, 11) for ratio in np.geomspace(1.1, 4, 11)]
    cells += [((0, 6), (1, 2), (0.5, 0.5), 0.9), ((0, 6), (1, 2), (0.9, 0.1), 0.5),
              ((0, 6), (2, 1), (0.1, 0.9), 0.5), ((0, 3), (1, 2.5), (0.3, 0.7), 0.2),
              ((0, 2), (1, 3), (0.7, 0.3), 0.8), ((0, 2.5), (1.5, 1), (0.2, 0.8), 0.4),
              ((-1, 1), (1, 1.5), (0.25, 0.75), 0.95), ((0, 0.82 * 4.92), (1, 3.92), (0.46, 0.54), 0.34),
              ((0, 1), (1, 3), (0.5, 0.5), 0.5), ((0, 2), (3, 1), (0.5, 0.5), 0.5)]
    return cells


def test_probit_rule_from_recalls_is_the_two_gaussian_optimum():
    """allocation's probit rule, fed only the recalls of t* and sizes proportional to the priors,
    reaches TwoGaussians.worst_class_optimal_densities (tested there against a budget-line grid),
    except in the Theorem B.1 cells, where the ideal point learns an infinite threshold: the recalls
    cannot tell, and TwoGaussians.probit_densities handles it (tested in test_two_gaussians)."""
    n_saturated = n_b1 = 0
    for means, stds, priors, d in _two_gaussian_cells():
        model = TwoGaussians(means, stds, priors)
        recalls = 1 - model.class_risks(model.optimal_threshold())
        sizes = population_sizes(priors)  # exact proportions: these priors are multiples of 1e-6
        dens = drop_densities(recalls, sizes, d, allocation_rule="probit")
        if not np.isfinite(model.prune(dens).optimal_threshold()):  # Theorem B.1: one class at risk 1
            n_b1 += 1
            # the model's optimum sits on the edge of the finite-threshold allocations, and says so
            with pytest.warns(UserWarning, match="lies on the edge of the allocations"):
                opt = model.worst_class_optimal_densities(d)
            assert model.pruned_risks(dens).max() == 1.0 > model.pruned_risks(opt).max()
            with pytest.warns(UserWarning, match="lies on the edge of the allocations"):
                probit = model.probit_densities(d)
            regret = model.pruned_risks(probit).max() - model.pruned_risks(opt).max()
            assert regret <= 1e-12
            continue
        opt = model.worst_class_optimal_densities(d)  # off the edge: no warning (an error under pyproject)
        # Regret in worst-class risk: the two are the same point up to rounding in the weights.
        regret = model.pruned_risks(dens).max() - model.pruned_risks(opt).max()
        assert regret <= 1e-12, (means, stds, priors, d, dens, opt)
        n_saturated += bool((dens == 1).any())
        counts = drop_counts(recalls, sizes, d, allocation_rule="probit")
        assert counts.sum() == round(d * sizes.sum()) and (np.abs(counts - dens * sizes) < 1).all()
    assert n_saturated >= 5 and n_b1 == 3, (n_saturated, n_b1)


def test_probit_rule_beats_drop_on_the_grid():
    # The measurement, smaller: DRoP overshoots, the probit rule does not.
    worse = 0
    for means, stds, priors, d in _two_gaussian_cells()[:121]:
        model = TwoGaussians(means, stds, priors)
        r = 1 - model.class_risks(model.optimal_threshold())
        worst = {rule: model.pruned_risks(drop_densities(r, [5, 5], d, allocation_rule=rule)).max()
                 for rule in ("drop", "probit")}
        worse += worst["probit"] > worst["drop"] + 1e-12
    assert worse == 0


# ----------------------------------------------------------------------------- min_count
def test_min_count_floors_the_counts_and_keeps_the_total():
    r, sizes = [1.0, 0.9, 0.5, 0.2], [100, 3, 100, 100]
    with pytest.warns(UserWarning, match=r"class 0: 0 of 100"):
        base = drop_counts(r, sizes, 0.3)
    assert base[0] == 0 and base.sum() == 91
    got = drop_counts(r, sizes, 0.3, min_count=10)
    # Floors min(10, N_k) = (10, 3, 10, 10); the rest is water-filled as clip(c N_k w_k, lo, N_k).
    assert got.sum() == 91 and got[0] == 10 and got[1] == 3 and (got >= [10, 3, 10, 10]).all()
    quotas = water_fill(np.array(sizes) * (1 - np.array(r)), sizes, 91, floors=[10, 3, 10, 10])
    assert (np.abs(got - quotas) < 1).all()
    # Densities take the same floors (in samples), for the real budget dN = 90.9.
    dens = drop_densities(r, sizes, 0.3, min_count=10)
    # Class 0 has weight 0 (recall 1): the reference needs w > 0, and 1e-300 keeps it at its floor.
    w = np.array(sizes) * (1 - np.array(r)) + 1e-300
    ref = clip_fill_reference(w, [10, 3, 10, 10], np.array(sizes, float), 0.3 * 303)
    np.testing.assert_allclose(dens * sizes, ref, rtol=1e-12)
    # uniform_counts too; min_count 0 is the default behaviour.
    np.testing.assert_array_equal(uniform_counts([1000, 10], 0.1, min_count=0),
                                  uniform_counts([1000, 10], 0.1))
    assert uniform_counts([1000, 10], 0.1, min_count=5).tolist() == [96, 5]


@settings(max_examples=100, deadline=None)
@given(data=allocation_inputs(), m=st.integers(0, 40))
def test_min_count_properties(data, m):
    recalls, sizes, d = data
    total = math.floor(d * sizes.sum() + 0.5 + 1e-9)
    floors = np.minimum(sizes, m)
    for fn in (lambda: drop_counts(recalls, sizes, d, min_count=m),
               lambda: drop_counts(recalls, sizes, d, "code", min_count=m),
               lambda: uniform_counts(sizes, d, min_count=m)):
        if floors.sum() > total:
            with pytest.raises(ValueError, match=rf"min_count={m}.*needs {floors.sum()} samples"):
                quiet(fn)
            continue
        counts = quiet(fn)
        assert counts.sum() == total and (counts >= floors).all() and (counts <= sizes).all()


def test_min_count_too_large_for_the_budget_and_bad_values():
    with pytest.raises(ValueError, match=r"min_count=30 needs 60 samples.*budget round\(dN\) is only 50"):
        drop_counts([0.5, 0.5], [50, 50], 0.5, min_count=30)
    with pytest.raises(ValueError, match=r"min_count"):
        uniform_counts([50, 50], 0.5, min_count=-1)
    with pytest.raises(TypeError, match=r"min_count.*2\.5"):
        drop_densities([0.5, 0.5], [50, 50], 0.5, min_count=2.5)


def test_few_samples_warning_names_the_classes():
    with pytest.warns(UserWarning, match=r"2 class\(es\) keep fewer than 5 samples \(class 0: 0 of 100, "
                                         r"class 2: 1 of 100\)"):
        drop_counts([1.0, 0.5, 0.99], [100, 100, 100], 0.2)
    with pytest.warns(UserWarning, match="class 1: 0 of 6"):
        uniform_counts([10_000, 6], 1e-5)
    with pytest.warns(UserWarning, match="class 0: 0 of 100"):
        drop_densities([1.0, 0.5], [100, 100], 0.2)
    # No warning: enough samples everywhere, or a class too small to keep 5 keeps what it has.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        drop_counts([0.9, 0.5], [100, 100], 0.5)
        uniform_counts([3, 100], 1.0)
        drop_counts([1.0, 0.5, 0.5], [100, 100, 100], 0.2, min_count=FEW_SAMPLES)


# ----------------------------------------------------------------------------- helpers, validation
def test_population_sizes_never_drop_a_positive_prior():
    assert population_sizes([0.9999999, 0.0000001]).tolist() == [1_000_000, 1]
    assert population_sizes([0.5, 0.5, 0.0]).tolist() == [500_000, 500_000, 0]
    assert population_sizes([0.3, 0.7], total=10).tolist() == [3, 7]
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.dirichlet(np.ones(5)) * (rng.random(5) < 0.8)
        if p.sum() == 0:
            continue
        s = population_sizes(p / p.sum())
        assert ((s > 0) == (p > 0)).all() and abs(s.sum() - 10**6) <= 5
    with pytest.raises(ValueError, match="priors"):
        population_sizes([0.5, -0.5])
    with pytest.raises(ValueError, match="total"):
        population_sizes([0.5, 0.5], total=0)


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"alpha": -0.5}, ValueError, r"alpha.*-0\.5"),
    ({"alpha": float("nan")}, ValueError, r"alpha.*nan"),
    ({"alpha": "1"}, TypeError, r"alpha.*'1'"),
    ({"alpha": True}, TypeError, r"alpha.*True"),
    ({"allocation_rule": "fair"}, ValueError, r"allocation_rule.*'fair'"),
    ({"allocation_rule": "paper"}, ValueError, r"allocation_rule.*'paper'"),
])
def test_rule_and_alpha_validation(kwargs, exc, pattern):
    for fn in (drop_densities, drop_counts):
        with pytest.raises(exc, match=pattern):
            fn([0.5, 0.5], [10, 10], 0.5, **kwargs)
    with pytest.raises(exc, match=pattern):
        allocation_weights([0.5, 0.5], **kwargs)


def test_probit_weights_use_ndtri_of_the_error():
    e = np.array([0.2, 0.05])
    z = ndtri(e)
    np.testing.assert_allclose(allocation_weights(errors=e, allocation_rule="probit"),
                               np.exp(-(z**2 - z[0] ** 2) / 2), rtol=1e-14)


def test_huge_class_sizes_get_a_clear_error():
    # Issue 10: sizes of 1e20 used to surface as an int64-overflow message from water_fill.
    with pytest.raises(ValueError,
                       match=r"class_sizes must be non-negative integers at most 2\*\*53.*1e\+20"):
        drop_counts([0.5, 0.5], [1e20, 1], 0.5)


@pytest.mark.parametrize("sizes", [[1e17, 1e17], [1e18, 1e18], [2**53 + 2, 1]])
def test_class_sizes_beyond_float64_integers_rejected(sizes):
    # Issue 10: 1e17 printed a total 10 too many, 1e18 "cannot place 96 more units under the caps".
    for fn in (drop_counts, drop_densities):
        with pytest.raises(ValueError, match=r"class_sizes must be non-negative integers at most 2\*\*53 "
                           r"\(larger ones are not exact in float64\), got class_sizes\[0\]"):
            fn([0.9, 0.7], sizes, 0.5)
    with pytest.raises(ValueError, match=r"class_sizes must be non-negative integers at most 2\*\*53"):
        uniform_counts(sizes, 0.5)


def test_class_sizes_total_beyond_float64_integers_rejected():
    with pytest.raises(ValueError, match=r"class_sizes must sum to at most 2\*\*53.*10000000000000000"):
        drop_counts([0.9, 0.7], [5e15, 5e15], 0.5)
    counts = drop_counts([0.9, 0.7], [2**52, 2**52], 0.5)  # the largest total accepted: exact
    assert int(counts.sum()) == 2**52 and counts.tolist() == [2**50, 3 * 2**50]


# ----------------------------------------------------------------------------- issue 17: edge optima, counts
def _edge_cases():
    """Two-Gaussian models whose worst-class optimum sits on the edge of the allocations that learn a
    finite threshold (Theorem B.1; TwoGaussians._finite_threshold_allocation)."""
    return [(TwoGaussians((0, 1), (1, 3), (0.5, 0.5)), 0.5), (TwoGaussians((0, 2), (3, 1), (0.5, 0.5)), 0.5),
            (TwoGaussians((0, 0.82 * 4.92), (1, 3.92), (0.46, 0.54)), 0.34)]


@pytest.mark.parametrize("case", range(3))
def test_edge_optimum_survives_integer_counts(case):
    """issue 17: the exact edge, rounded to integer counts, learns an infinite threshold (worst-class
    risk 1) for some dataset sizes; the default point, 1e-3 inside in the pruned log prior ratio, keeps
    a finite threshold whenever every class keeps at least 2,000 samples (1/n0 + 1/n1 <= 1e-3), with
    counts from the same apportionment as drop_counts (counts_from_densities)."""
    from gaussian_theory.allocation import counts_from_densities

    model, d = _edge_cases()[case]
    on_the_edge = "lies on the edge of the allocations"
    with pytest.warns(UserWarning, match=on_the_edge):
        inside = model.probit_densities(d)
    with pytest.warns(UserWarning, match=on_the_edge):
        edge = model.probit_densities(d, edge_margin=0)
    with pytest.warns(UserWarning, match=on_the_edge):
        np.testing.assert_array_equal(inside, model.worst_class_optimal_densities(d))
    smallest = 2000 / (d * model.priors.min() * min(inside / d))  # every class keeps >= 2,000
    broken = 0
    for total in np.unique(np.geomspace(smallest, 3e6, 80).astype(int)):
        sizes = population_sizes(model.priors, int(total))
        for dens, ok in ((inside, True), (edge, False)):
            counts = counts_from_densities(dens, sizes, d)
            assert counts.sum() == round(d * sizes.sum())
            worst = model.pruned_risks(counts / sizes).max()
            if ok:
                assert counts.min() >= 2000 and worst < 1.0, (total, counts)
            else:
                broken += worst == 1.0
    assert broken >= 5  # the edge itself falls off for a good share of the sizes

    # The recalls alone cannot see the edge (README caveat): drop_counts' probit rule gives the ideal
    # point, whose learned threshold is infinite.
    recalls = 1 - model.class_risks(model.optimal_threshold())
    sizes = population_sizes(model.priors, 100_000)
    counts = drop_counts(recalls, sizes, d, allocation_rule="probit")
    assert model.pruned_risks(counts / sizes).max() == 1.0


# --------------------------------------------------------------------- issue 17: low-level range checks
@pytest.mark.parametrize(
    "args, needle",
    [
        # a negative weight was clamped to 0, NaN read as 0, without a word
        (([1.0, -1.0], [5, 5], 3), "weights must be finite and >= 0, got weights[1] = -1.0"),
        (([1.0, np.nan], [5, 5], 3), "weights must be finite and >= 0, got weights[1] = nan"),
        (([1.0, 1.0], [5, -5], 3), "caps must be finite and >= 0, got caps[1] = -5.0"),
        (([1.0, 1.0], [5, 5, 5], 3), "caps must have one entry per bin (2), got 3"),
        (([1.0, 1.0], [5, 5], float("nan")), "budget must be a finite number"),
        (([1.0, 1.0], [5, 5], 11), "budget must lie in [sum(floors)=0.0, sum(caps)=10.0], got 11"),
    ],
)
def test_water_fill_refuses_negative_nan_and_mismatched_bins(args, needle):
    from gaussian_theory.apportionment import water_fill

    with pytest.raises(ValueError) as info:
        water_fill(*args)
    assert needle in str(info.value)
    with pytest.raises(ValueError, match="floors must be finite"):
        water_fill([1.0, 1.0], [5, 5], 3, floors=[np.nan, 0])


def test_total_kept_and_rounding_helpers_check_their_range():
    from gaussian_theory.apportionment import largest_remainder, round_half_up, total_kept

    assert total_kept(5, 0.5) == 3 and total_kept(0, 0.5) == 0
    with pytest.raises(ValueError, match=r"n_samples must be an integer in \[0, 9007199254740992\], got -5"):
        total_kept(-5, 0.5)  # returned -2 before
    with pytest.raises(ValueError, match=r"density must lie in \(0, 1\], got 1.5"):
        total_kept(5, 1.5)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        total_kept(5.5, 0.5)
    with pytest.raises(ValueError, match="round_half_up needs finite numbers"):
        round_half_up([1.0, np.nan])  # an int64 of NaN is -9223372036854775808
    assert largest_remainder([1.5, 2.5], [3, 3], 4).tolist() == [2, 2]
    with pytest.raises(ValueError, match="quotas must be finite and >= 0, got quotas"):
        largest_remainder([np.nan, 2.0], [3, 3], 4)
    with pytest.raises(ValueError, match=r"total must lie in \[sum\(floors\), sum\(caps\)\] = \[0, 6\]"):
        largest_remainder([3.0, 3.0], [3, 3], 7)
    with pytest.raises(ValueError, match="caps must be integers"):
        largest_remainder([1.0, 1.0], [1.5, 3], 2)
