"""Stage 4 of a run's trip (:mod:`empirical.pipeline`): the selection, which samples are kept.

Input: :class:`~empirical.stage_allocation.AllocatedRun` (the allocation stage's output). Output:
:class:`SelectedRun`, the same with the kept indices (``selected``: the top ``counts[k]`` scores within
each class, or the top ``total`` overall when there are no quotas; every index for a dynamic score,
whose sampler draws each epoch's subset during training) and the samples kept per class (``kept``).

A selection that keeps no sample of a class is refused before training (:func:`check_kept_classes`)
unless the run allows it.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from gaussian_theory.own_data import empty_classes

from . import scores, selection
from .options import DYNAMIC_SCORES
from .run_config import RunConfig, seeded_generator
from .stage_allocation import AllocatedRun

__all__ = ["SelectedRun", "selection_stage", "check_kept_classes"]


@dataclass(frozen=True, kw_only=True)
class SelectedRun(AllocatedRun):
    """The selection stage's output: the allocated run, with ``selected`` (the kept indices, sorted)
    and ``kept`` (the samples kept per class)."""

    selected: np.ndarray | None = None
    kept: np.ndarray | None = None


def selection_stage(run: AllocatedRun) -> SelectedRun:
    """Score the training samples (random, CoreSet, or the query model's scores) and keep the top ones
    within each class's quota; refuse (or warn about) a class left with no sample.

    Parameters
    ----------
    run : AllocatedRun
        The allocation stage's output.

    Returns
    -------
    SelectedRun
        ``run`` with ``selected`` and ``kept``.

    Raises
    ------
    ValueError
        A selection that keeps no sample of some class, unless the configuration allows it.
    """
    config, ds, counts, total = run.config, run.ds, run.counts, run.total
    if config.score in DYNAMIC_SCORES:  # every sample is offered; the sampler draws each epoch's subset
        idx = np.arange(len(ds.y_train))
    else:
        if config.score == "random":
            sc = scores.random_scores(len(ds.y_train), seeded_generator(run.seed, "random-scores"))
        elif config.score == "coreset":
            sc = scores.coreset_scores(run.query["embeddings"].to(run.device), ds.y_train, counts, total,
                                       seeded_generator(run.seed, "coreset"))
        else:
            sc = np.asarray(run.query["scores"])
        idx = (selection.select_top_k(sc, total) if counts is None
               else selection.select_within_classes(sc, ds.y_train, counts))
    kept = np.bincount(ds.y_train[idx], minlength=ds.num_classes)
    run.timings["selection_s"] = time.perf_counter() - run.allocation_started
    if config.score not in DYNAMIC_SCORES:  # a dynamic score draws its own subsets, every class offered
        check_kept_classes(config, kept, run.sizes, ds.class_names)
    return SelectedRun(**vars(run), selected=idx, kept=kept)


def check_kept_classes(config: RunConfig, kept, sizes, class_names) -> None:
    """Refuse a selection that keeps no sample of a class that has some (training on it deletes the
    class): ValueError naming the classes, the counts and the two ways out, unless
    ``config.allow_empty_classes``; then a UserWarning naming them (stacklevel 4: the caller of the
    conductor, as when the conductor called this check itself)."""
    kept, sizes = np.asarray(kept), np.asarray(sizes)
    empty = empty_classes(kept, sizes)
    if not empty:
        return
    shown = ", ".join(f"{k} ({class_names[k]!r}, {int(sizes[k])} samples)" for k in empty[:20])
    more = f" and {len(empty) - 20} more" if len(empty) > 20 else ""
    what = (f"the selection of quota {config.quota!r} (score {config.score!r}) at density {config.density:g} "
            f"keeps no sample of class(es) {shown}{more} (kept per class {kept.tolist()})")
    if config.allow_empty_classes:
        warnings.warn(f"{what}: training without them, as allow_empty_classes=True (--allow-empty-classes) "
                      "asks; their test recall will be about 0", UserWarning, stacklevel=4)
        return
    raise ValueError(f"{what}: training on it would delete them (their test recall would be about 0). "
                     "Keep some of every class with min_per_class (--min-per-class), e.g. 10, or pass "
                     "allow_empty_classes=True (--allow-empty-classes) to train without them anyway (it does "
                     "not change the run id)")
