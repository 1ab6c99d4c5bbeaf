"""gaussian_theory.intervals: per-class recalls from predictions, range-checked (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from gaussian_theory.intervals import class_recalls, correct_counts


def test_class_recalls_counts_each_class():
    np.testing.assert_array_equal(class_recalls([0, 1, 1, 2], [0, 1, 0, 0], 3), [1 / 3, 1.0, np.nan])
    correct, n = correct_counts(np.array([0, 1, 1, 2]), np.array([0, 1, 0, 0]), 3)
    assert correct.tolist() == [1, 1, 0] and n.tolist() == [3, 1, 0]
    assert np.isnan(class_recalls([], [], 2)).all()  # no samples: every recall undefined, no error


@pytest.mark.parametrize(
    "args, exc, needle",
    [
        # issue 17: IndexError before
        (([0, 1], [0], 2), ValueError, "2 predictions and 1 labels"),
        # silently returned length-6 arrays before
        (([0, 1], [0, 5], 3), ValueError, "labels must hold class ids in 0..2 (num_classes=3), got 5"),
        # returned [1.] before
        (([0], [0], 0), ValueError, "num_classes must be an integer in [1, inf], got 0"),
        # a prediction of -1 gave [0.5, nan]
        (([-1, 1], [0, 1], 2), ValueError, "predictions must hold class ids in 0..1 (num_classes=2), got -1"),
        (([0, 2], [0, 1], 2), ValueError, "predictions must hold class ids in 0..1"),
        (([0.0, 1.0], [0, 1], 2), TypeError, "predictions must hold integer class ids, got dtype float64"),
        (([True, False], [0, 1], 2), TypeError, "predictions must hold integer class ids, got dtype bool"),
        (([[0, 1]], [[0, 1]], 2), ValueError, "predictions must be a 1-D sequence"),
        (([0, 1], [0, 1], 2.0), TypeError, "num_classes must be an integer"),
    ],
)
def test_bad_predictions_or_labels_are_refused(args, exc, needle):
    for fn in (class_recalls, correct_counts):
        with pytest.raises(exc) as info:
            fn(*args)
        assert needle in str(info.value)
