r"""Turning class counts into kept sample indices, for any labelled dataset (numpy only).

After a quota rule (:mod:`gaussian_theory.quota_rules`) has fixed how many samples :math:`n_k` of each
class to keep, the samples are chosen *within* each class: the :math:`n_k` highest-scored ones (ties to
the lower index), or, without scores, :math:`n_k` at random (DRoP prunes randomly within classes,
arXiv 2404.05579). ``droplab select`` is the command line of :func:`select_indices`; the CIFAR pipeline
(:mod:`empirical.selection`) uses the same functions.

>>> rank_within_class([1, 0, 1, 1, 0], 2).tolist()
[0, 0, 1, 2, 1]
>>> select_within_classes([0.1, 0.9, 0.5, 0.7, 0.2], [0, 0, 1, 1, 1], [1, 2]).tolist()
[1, 2, 3]
"""

from __future__ import annotations

import numpy as np

from .arrays import as_class_labels
from .validation import as_generator

__all__ = ["rank_within_class", "select_top_k", "select_within_classes", "select_indices"]


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


def _order(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score, ties by increasing index."""
    return np.lexsort((np.arange(scores.size), -scores))


def select_top_k(scores, k: int) -> np.ndarray:
    """Sorted indices of the ``k`` highest scores (ties to the lower index)."""
    s = np.asarray(scores, dtype=float)
    if not 0 <= k <= s.size:
        raise ValueError(f"k must lie in [0, {s.size}], got {k!r}")
    return np.sort(_order(s)[:k])


def select_within_classes(scores, labels, counts) -> np.ndarray:
    """Sorted indices of the ``counts[k]`` highest-scored samples of each class ``k`` (vectorised:
    one lexsort by (label, -score, index), then the within-class rank)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=np.int64)
    c = np.asarray(counts, dtype=np.int64)
    sizes = np.bincount(y, minlength=c.size)
    if sizes.size != c.size or (c > sizes).any() or (c < 0).any():
        raise ValueError(f"counts {c.tolist()} must lie in [0, class sizes {sizes.tolist()}]")
    rank = rank_within_class(y, c.size, order=np.lexsort((np.arange(s.size), -s, y)))
    return np.flatnonzero(rank < c[y])


def select_indices(labels, counts, scores=None, seed=0) -> np.ndarray:
    """The indices to keep of a dataset with ``labels``: ``counts[k]`` samples of each class ``k``, the
    highest ``scores`` of each class if given, else drawn at random from ``seed``.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Integer class labels ``0..K-1`` (floats that are integers, such as ``1.0``, are accepted;
        :func:`gaussian_theory.arrays.as_class_labels`).
    counts : array_like of int, shape (K,)
        Samples kept per class (an allocation's counts: ``droplab allocate --json``).
    scores : array_like, shape (n,), optional
        Higher = kept first within its class (ties to the lower index).
    seed : int or numpy.random.Generator
        The within-class random draw (without ``scores``). It is the only randomness of the selection:
        give every run that should see its own subset -- each pilot run, each final run -- a seed of
        its own (``droplab pilots --seed`` only chooses the staircases' small classes; it draws no
        samples). The same seed and counts give the same indices; with the same seed, a smaller count
        keeps a subset of a larger one's samples.

    Returns
    -------
    numpy.ndarray of int64
        The kept indices, sorted: ``Subset(dataset, idx)`` (:func:`empirical.subset.kept_subset`),
        ``datasets.Dataset.select(idx)`` or ``x[idx]``.

    Examples
    --------
    >>> select_indices([0, 0, 1, 1, 1], [1, 2], scores=[0.1, 0.9, 0.5, 0.7, 0.2]).tolist()
    [1, 2, 3]
    >>> select_indices([0.0, 1.0, 1.0], [1, 1], seed=3).tolist()[0]
    0
    """
    y = as_class_labels(labels, "labels")
    c = np.asarray(counts)
    if c.ndim != 1 or c.dtype.kind not in "iu":
        raise ValueError(f"counts must be a 1-d array of integers, one per class, got {c!r}")
    if y.max() >= c.size:
        raise ValueError(f"labels must lie in 0..{c.size - 1} (one count per class), got values in "
                         f"[{int(y.min())}, {int(y.max())}]")
    if scores is None:
        s = as_generator(seed).random(y.size)
    else:
        s = np.asarray(scores, dtype=float)
        if s.shape != y.shape or not np.all(np.isfinite(s)):
            raise ValueError(f"scores must be {y.size} finite numbers, one per label, got shape {s.shape}")
    return select_within_classes(s, y, c)
