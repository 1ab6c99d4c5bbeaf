"""Test-set intervals of one run against exact computations (numpy/scipy only, no torch)."""

import numpy as np
import pytest
from scipy import stats as sps

from empirical.stats import (
    accuracy_intervals,
    bootstrap_counts,
    class_correct_counts,
    paired_difference_interval,
)
from gaussian_theory.intervals import wilson_interval

N = np.array([12, 20, 7])          # test images per class
C = np.array([9, 11, 6])           # correctly classified


def _fake(n=N, c=C, seed=0):
    """predictions/labels with exactly c[k] of the n[k] images of class k correct (errors -> next class)."""
    rng = np.random.default_rng(seed)
    y, p = [], []
    for k, (nk, ck) in enumerate(zip(n, c)):
        y += [k] * nk
        p += [k] * ck + [(k + 1) % len(n)] * (nk - ck)
    perm = rng.permutation(len(y))
    return np.array(p)[perm], np.array(y)[perm]


def _exact_sum_pmf(n, c):
    """pmf of sum_k Binomial(n_k, c_k/n_k) by convolution."""
    pmf = np.array([1.0])
    for nk, ck in zip(n, c):
        pmf = np.convolve(pmf, sps.binom.pmf(np.arange(nk + 1), nk, ck / nk))
    return pmf


def _exact_min_cdf(n, c, t):
    """P(min_k C_k/n_k <= t) = 1 - prod_k P(C_k > t n_k)."""
    surv = [sps.binom.sf(np.floor(t * nk + 1e-9), nk, ck / nk) for nk, ck in zip(n, c)]
    return 1.0 - np.prod(surv, axis=0)


def _exact_quantile(values, cdf, q):
    return values[np.searchsorted(cdf, q - 1e-12)]


def test_counts_and_point_estimates():
    p, y = _fake()
    correct, n = class_correct_counts(p, y)
    np.testing.assert_array_equal(correct, C)
    np.testing.assert_array_equal(n, N)
    r = accuracy_intervals(p, y, class_names=["a", "b", "c"])
    assert r["accuracy"]["estimate"] == pytest.approx(C.sum() / N.sum())
    assert r["worst_class"] == 1 and r["worst_class_name"] == "b"
    assert r["worst_class_accuracy"]["estimate"] == pytest.approx(11 / 20)
    lo, hi = wilson_interval(C, N)
    np.testing.assert_allclose(r["recalls"]["low"], lo)
    np.testing.assert_allclose(r["recalls"]["high"], hi)
    for m in ("accuracy", "worst_class_accuracy"):
        assert r[m]["low"] <= r[m]["estimate"] <= r[m]["high"]
    assert r == accuracy_intervals(p, y, class_names=["a", "b", "c"])   # fixed seed: reproducible


def test_bootstrap_distribution_matches_exact_binomial_law():
    """The bootstrap of the average and of the minimum recall against their exact laws (KS distance)."""
    B = 40000
    boot = bootstrap_counts(C, N, B, seed=1)
    crit = 1.95 / np.sqrt(B)   # KS critical value at 0.1%
    total = boot.sum(1)
    cdf = np.cumsum(_exact_sum_pmf(N, C))
    emp = np.searchsorted(np.sort(total), np.arange(cdf.size), side="right") / B
    assert np.max(np.abs(emp - cdf)) < crit
    mins = (boot / N).min(1)
    grid = np.unique(np.concatenate([np.arange(nk + 1) / nk for nk in N]))
    exact = _exact_min_cdf(N, C, grid)
    emp = np.searchsorted(np.sort(mins), grid + 1e-12, side="right") / B
    assert np.max(np.abs(emp - exact)) < crit


def test_interval_ends_are_the_exact_quantiles():
    p, y = _fake()
    r = accuracy_intervals(p, y, n_boot=40000, seed=3)
    vals = np.arange(N.sum() + 1) / N.sum()
    cdf = np.cumsum(_exact_sum_pmf(N, C))
    step = 1.0 / N.sum()
    assert abs(r["accuracy"]["low"] - _exact_quantile(vals, cdf, 0.025)) <= step + 1e-12
    assert abs(r["accuracy"]["high"] - _exact_quantile(vals, cdf, 0.975)) <= step + 1e-12
    grid = np.unique(np.concatenate([np.arange(nk + 1) / nk for nk in N]))
    mcdf = _exact_min_cdf(N, C, grid)
    for end, q in (("low", 0.025), ("high", 0.975)):
        exact = _exact_quantile(grid, mcdf, q)
        pos = np.searchsorted(grid, exact)
        near = grid[max(pos - 1, 0):pos + 2]   # within one lattice point
        assert np.any(np.isclose(r["worst_class_accuracy"][end], near))


def test_paired_difference():
    p, y = _fake()
    same = paired_difference_interval(p, p, y)
    assert same["accuracy"] == {"estimate": 0.0, "low": 0.0, "high": 0.0}
    q = p.copy()
    q[(y == 1) & (p != y)] = 1          # b fixes every error of class 1
    d = paired_difference_interval(q, p, y, n_boot=4000)
    assert d["accuracy"]["estimate"] == pytest.approx(9 / N.sum())
    # worst class of p: class 1 (11/20); of q: class 0 (9/12) -> +0.2
    assert d["worst_class_accuracy"]["estimate"] == pytest.approx(0.75 - 0.55)
    assert 0 < d["accuracy"]["low"] <= d["accuracy"]["estimate"] <= d["accuracy"]["high"]


@pytest.mark.parametrize("kw, exc, match", [
    ({"predictions": [0, 1], "labels": [0]}, ValueError, "equal length"),
    ({"predictions": [], "labels": []}, ValueError, "non-empty"),
    ({"predictions": [0.5, 1], "labels": [0, 1]}, TypeError, "integer"),
    ({"predictions": [0, -1], "labels": [0, 1]}, ValueError, "non-negative"),
    ({"predictions": [0, 3], "labels": [0, 1], "num_classes": 2}, ValueError, "num_classes"),
    ({"predictions": [0, 1], "labels": [0, 1], "n_boot": 5}, ValueError, "n_boot"),
    ({"predictions": [0, 1], "labels": [0, 1], "level": 1.0}, ValueError, "level"),
    ({"predictions": [0, 1], "labels": [0, 1], "seed": -1}, ValueError, "seed"),
])
def test_bad_input(kw, exc, match):
    with pytest.raises(exc, match=match):
        accuracy_intervals(**kw)
