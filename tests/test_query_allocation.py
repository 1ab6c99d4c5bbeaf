"""Allocations from a query model's validation logits (gaussian_theory.query_allocation) and the exact
integer counts of given densities (allocation.counts_from_densities).

Independent references: the counts against the budget arithmetic and drop_counts; the surrogate's
calibrated accuracy against the measured accuracy of the logits (within Monte Carlo error); the minimax
densities of a symmetric problem against the obvious answer; the surrogate's predicted recalls against
a fresh Monte Carlo evaluation.
"""

import contextlib

import numpy as np
import pytest

from gaussian_theory.allocation import counts_from_densities, drop_counts, drop_densities
from gaussian_theory.apportionment import total_kept
from gaussian_theory.query_allocation import minimax_from_logits, query_surrogate
from gaussian_theory.surrogate_recalls import surrogate_risks


def _logits(n_per_class=400, k=4, margin=(3.0, 2.5, 2.0, 1.5), seed=0):
    """Synthetic validation logits: class c's logit vector ~ N(m_c e_c, I), so a smaller margin m_c makes a
    harder class. (A tied surrogate sees difficulty through the class means only: classes that differ
    only in spread look alike to it.)"""
    rng = np.random.default_rng(seed)
    z = np.concatenate([margin[c] * np.eye(k)[c] + rng.standard_normal((n_per_class, k)) for c in range(k)])
    return z, np.repeat(np.arange(k), n_per_class)


# ------------------------------------------------------------------ counts_from_densities
@pytest.mark.parametrize("sizes,density,few", [([100, 300, 40], 0.45, None), ([5000] * 10, 0.3, None),
                                               ([7, 0, 13], 0.5, "class 0: ")])
def test_counts_from_densities_reproduce_drop_counts_and_the_budget(sizes, density, few):
    def warns():  # the few-samples warning, from each of the three, where a class keeps fewer than 5
        return (pytest.warns(UserWarning, match=f"keep fewer than 5 samples \\({few}")
                if few else contextlib.nullcontext())

    recalls = [0.9, 0.7, 0.55, 0.8, 0.6, 0.95, 0.85, 0.75, 0.65, 0.5][: len(sizes)]
    with warns():
        dens = drop_densities(recalls, sizes, density)
    with warns():
        counts = counts_from_densities(dens, sizes, density)
    assert counts.sum() == total_kept(int(np.sum(sizes)), density)
    assert np.all((counts >= 0) & (counts <= np.asarray(sizes)))
    # every count within one unit of its real quota N_k d_k (the densities already meet the budget)
    assert np.all(np.abs(counts - np.asarray(sizes) * dens) < 1 + 1e-9)
    # drop_counts rounds the same quotas (ties broken by recall there, by density here: the same order)
    with warns():
        np.testing.assert_array_equal(counts, drop_counts(recalls, sizes, density))


def test_counts_from_densities_rescale_to_the_budget_and_respect_floors():
    counts = counts_from_densities([0.1, 0.3, 1.0], [1000, 1000, 500], 0.3)
    assert counts.tolist() == [83, 250, 417]   # 750 kept in proportion 100 : 300 : 500
    assert counts_from_densities([0.0, 1.0], [100, 100], 0.5, min_count=10).tolist() == [10, 90]
    assert counts_from_densities([0.0, 0.0], [10, 10], 0.5).tolist() == [5, 5]   # nothing asked: proportional


@pytest.mark.parametrize("densities,match", [
    ([0.2, 1.2], r"densities\[1\] = 1.2"), ([0.5], "one entry per class"),
    ([0.5, float("nan")], r"densities\[1\]")])
def test_counts_from_densities_bad_input(densities, match):
    with pytest.raises(ValueError, match=match):
        counts_from_densities(densities, [10, 10], 0.5)


# ------------------------------------------------------------------ the surrogate of the logits
def test_query_surrogate_is_calibrated_to_the_measured_accuracy():
    z, y = _logits()
    gm = query_surrogate(z, y, [5000, 5000, 5000, 1000], n_mc=20_000, seed=0)
    measured = np.mean(z.argmax(axis=1) == y)
    # its priors are the training proportions; calibrated at the validation priors (balanced here), so
    # re-weighted to them its Bayes accuracy is the measured accuracy within 4 Monte Carlo SE
    np.testing.assert_allclose(gm.priors, [5 / 16, 5 / 16, 5 / 16, 1 / 16])
    est = surrogate_risks(gm._with_priors(np.full(4, 0.25)), n_mc=20_000, seed=123)
    assert abs(est.recalls.mean() - measured) < 4 * np.sqrt(np.sum(est.se**2)) / 4 + 2e-3
    # the harder classes (smaller margins) get the lower predicted recalls, as measured
    measured_recalls = np.array([np.mean(z[y == c].argmax(axis=1) == c) for c in range(4)])
    assert np.argsort(est.recalls).tolist() == np.argsort(measured_recalls).tolist()


@pytest.mark.parametrize("call,match", [
    (lambda z, y: query_surrogate(z[:, 0], y, [1] * 4), r"\(n, K\)"),
    (lambda z, y: query_surrogate(z, y[:-1], [1] * 4), "one per row"),
    (lambda z, y: query_surrogate(z, y * 0 + (y > 0), [1] * 4), "every class"),
    (lambda z, y: query_surrogate(z, y, [1, 1, 1]), "class_sizes"),
    (lambda z, y: query_surrogate(z, y, [0, 0, 0, 0]), "positive sum"),
])
def test_query_surrogate_bad_input(call, match):
    z, y = _logits(n_per_class=50)
    with pytest.raises(ValueError, match=match):
        call(z, y)


# ------------------------------------------------------------------ minimax from logits
def test_minimax_from_logits_symmetric_classes_keep_the_uniform_allocation():
    z, y = _logits(margin=(2.0, 2.0, 2.0, 2.0))
    alloc, counts, _ = minimax_from_logits(z, y, [1000] * 4, 0.5, n_mc=10_000, seed=0, n_certify=10_000)
    assert counts.sum() == 2000
    # identical classes up to sampling noise of 400 validation points each: close to uniform
    assert np.abs(alloc.densities - 0.5).max() < 0.1


def test_minimax_from_logits_moves_data_to_the_hard_class_and_predicts_recalls():
    z, y = _logits()
    alloc, counts, gm = minimax_from_logits(z, y, [1000] * 4, 0.5, n_mc=10_000, seed=1, n_certify=20_000)
    assert counts.sum() == 2000 and counts[3] > counts[0]
    np.testing.assert_allclose(alloc.densities @ gm.priors, 0.5)
    # the predicted recalls are the surrogate's after pruning, certified on fresh draws: an independent
    # evaluation agrees within 4 pairwise SE
    fresh = gm.pruned_risks(alloc.densities, n_mc=20_000, seed=987)
    assert np.all(np.abs(fresh.risks - alloc.risks) < 4 * np.sqrt(fresh.se**2 + alloc.se**2) + 1e-12)
    # and the worst class is better than under uniform pruning on the same surrogate
    assert alloc.max_risk < gm.pruned_risks(np.full(4, 0.5), n_mc=20_000, seed=987).risks.max()
    again = minimax_from_logits(z, y, [1000] * 4, 0.5, n_mc=10_000, seed=1, n_certify=20_000)
    np.testing.assert_array_equal(again[1], counts)   # same seed, same counts


# ------------------------------------------------------------------ issue 17: the caller's words
@pytest.mark.parametrize("kind, needle", [
    ("separable", r"logits are validation logits that classify every sample correctly \(160 of 160\)"),
    ("chance", r"logits are validation logits no better than chance: accuracy 0\.25, not above 0\.25"),
])
def test_separable_or_chance_logits_say_so(kind, needle):
    # Both reached the calibration, whose error spoke of an accuracy the caller never passed.
    y = np.repeat(np.arange(4), 40)
    z = 5.0 * np.eye(4)[y] if kind == "separable" else np.zeros((160, 4))
    for call in (lambda: minimax_from_logits(z, y, [100] * 4, 0.5), lambda: query_surrogate(z, y, [100] * 4)):
        with pytest.raises(ValueError, match=needle) as info:
            call()
        assert "accuracy must lie" not in str(info.value)
