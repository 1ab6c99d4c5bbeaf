"""Per-class bookkeeping shared by the pipeline's modules (numpy only: no torch import).

* :func:`rank_within_class`: each sample's position inside its class under an ordering (the first
  ``n`` of each class for ``limit_per_class``, the validation half of the test set, the ``counts[k]``
  best-scored samples of class ``k``), re-exported from :mod:`gaussian_theory.selection`;
* :func:`correct_counts` and :func:`class_recalls`: per-class recall from predictions (the query
  model's validation recalls, the test-set recalls and their bootstrap intervals), re-exported from
  :mod:`gaussian_theory.intervals`, their one implementation.

>>> rank_within_class([1, 0, 1, 1, 0], 2).tolist()
[0, 0, 1, 2, 1]
>>> class_recalls([0, 1, 1, 2], [0, 1, 0, 0], 3).tolist()
[0.3333333333333333, 1.0, nan]
"""

from __future__ import annotations

from gaussian_theory.intervals import class_recalls, correct_counts
from gaussian_theory.selection import rank_within_class

__all__ = ["rank_within_class", "correct_counts", "class_recalls"]
