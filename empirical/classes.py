"""Per-class bookkeeping shared by the pipeline's modules (numpy only: no torch import).

* :func:`rank_within_class`: each sample's position inside its class under an ordering (the first
  ``n`` of each class for ``limit_per_class``, the validation half of the test set, the ``counts[k]``
  best-scored samples of class ``k``);
* :func:`correct_counts` and :func:`class_recalls`: per-class recall from predictions (the query
  model's validation recalls, the test-set recalls and their bootstrap intervals), re-exported from
  :mod:`gaussian_theory.intervals`, their one implementation.

>>> rank_within_class([1, 0, 1, 1, 0], 2).tolist()
[0, 0, 1, 2, 1]
>>> class_recalls([0, 1, 1, 2], [0, 1, 0, 0], 3).tolist()
[0.3333333333333333, 1.0, nan]
"""

from __future__ import annotations

import numpy as np

from gaussian_theory.intervals import class_recalls, correct_counts

__all__ = ["rank_within_class", "correct_counts", "class_recalls"]


def rank_within_class(labels, num_classes: int, order=None) -> np.ndarray:
    """(n,) int: each sample's rank inside its class, 0 for the class's first sample in ``order``.

    ``order``: a permutation of the samples grouped by class in increasing label order (e.g. a
    ``np.lexsort`` whose last key is the label); default the stable argsort of ``labels``, i.e. index
    order within each class.
    """
    y = np.asarray(labels, dtype=np.int64)
    if order is None:
        order = np.argsort(y, kind="stable")
    sizes = np.bincount(y, minlength=num_classes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(y.size, dtype=np.int64)
    rank[order] = np.arange(y.size) - starts[y[order]]
    return rank
