"""Quotas come from gaussian_theory.allocation; top-k within classes."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical import selection  # noqa: E402
from gaussian_theory.allocation import drop_counts, uniform_counts  # noqa: E402
from gaussian_theory.apportionment import total_kept  # noqa: E402


def test_quota_counts_delegate_to_allocation():
    sizes, rec = [100, 300, 50], [0.9, 0.7, 0.5]
    np.testing.assert_array_equal(selection.quota_counts("drop", sizes, 0.4, rec, "paper"),
                                  drop_counts(rec, sizes, 0.4, rule="paper"))
    np.testing.assert_array_equal(selection.quota_counts("drop", sizes, 0.4, rec, "code"),
                                  drop_counts(rec, sizes, 0.4, rule="code"))
    np.testing.assert_array_equal(selection.quota_counts("uniform", sizes, 0.4), uniform_counts(sizes, 0.4))
    assert selection.quota_counts("none", sizes, 0.4) is None
    with pytest.raises(ValueError, match="quota must be one of"):
        selection.quota_counts("metriq", sizes, 0.4)
    with pytest.raises(ValueError, match="recalls"):
        selection.quota_counts("drop", sizes, 0.4)


def test_select_within_classes_takes_top_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 50)
    s = rng.normal(size=50)
    counts = [2, 0, 4]
    idx = selection.select_within_classes(s, y, counts)
    assert np.array_equal(np.bincount(y[idx], minlength=3), counts)
    for k in range(3):
        members = np.flatnonzero(y == k)
        best = members[np.argsort(-s[members])][: counts[k]]
        assert set(idx[y[idx] == k]) == set(best)
    with pytest.raises(ValueError, match="counts"):
        selection.select_within_classes(s, y, [100, 0, 0])


def test_select_top_k_ties_by_index():
    idx = selection.select_top_k([1.0, 3.0, 3.0, 0.0, 3.0], 2)
    np.testing.assert_array_equal(idx, [1, 2])
    assert total_kept(5, 0.5) == 3
