"""Tests of gaussian_theory.allocation (DRoP class quotas) against a literal transcription of the
paper's Algorithm 1 (notes §2.3), hand-computed examples and property-based invariants."""

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


# ----------------------------------------------------------------------------- reference
def iterative_fill(weights, caps, budget, max_passes=10_000):
    """Algorithm 1 of the paper, literally (notes §2.3), in units of samples.

    ``U`` unsaturated classes, ``E`` excess to allocate. Each pass hands class k the amount
    ``E_start * w_k / Z`` (E *at the start of the pass*, as the notes recommend), caps it, and returns
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


# ----------------------------------------------------------------------------- notes §1.8
# Provenance: shared/reference/drop-paper-notes.md §1.8, "My population-level check": balanced
# priors, DRoP densities from the recalls of t*(1) with no saturation (small d), the learned
# threshold t*(d0 phi0 / d1 phi1) evaluated on the unpruned distribution.
# Columns: (mu0, s0, mu1, s1), R0, R1 at t*(1), DRoP ratio, optimal ratio, worst DRoP, worst optimum.
NOTES_DROP_TABLE = [
    ((0, 1, 6, 2), 0.0130, 0.0295, 0.442, 0.5, 0.0251, 0.0228),
    ((0, 1, 4, 2), 0.0485, 0.1210, 0.401, 0.5, 0.1112, 0.0912),
    ((0, 1, 3, 2), 0.0780, 0.2145, 0.364, 0.5, 0.2191, 0.1587),
    ((-1, 1, 1, 1.5), 0.1385, 0.2714, 0.511, 0.667, 0.2774, 0.2119),
    ((0, 1, 5, 3), 0.0342, 0.1447, 0.237, 0.333, 0.1512, 0.1056),
]


@pytest.mark.parametrize("row", NOTES_DROP_TABLE, ids=lambda r: str(r[0]))
def test_notes_drop_table(row):
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
    # Optimum Phi(-(mu1-mu0)/(s0+s1)) (notes eq. 4), reached by the worst-class-optimal densities.
    assert norm.cdf(-(mu1 - mu0) / (s0 + s1)) == pytest.approx(worst_opt, abs=5e-5)
    best = model.pruned_risks(model.worst_class_optimal_densities(0.1)).max()
    assert best == pytest.approx(worst_opt, abs=5e-5)
