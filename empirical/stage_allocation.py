"""Stage 3 of a run's trip (:mod:`empirical.pipeline`): the allocation, the class quotas.

Input: :class:`~empirical.stage_query.QueriedRun` (the query stage's output). Output:
:class:`AllocatedRun`, the same with the number of samples each class keeps (``counts``, from the
quota rule of :mod:`gaussian_theory.quota_rules` through :func:`empirical.selection.quota_counts`:
DRoP from the query model's recalls, uniform, minimax, explicit counts ...; None for a global top-k)
and the total the density keeps (``total``, :func:`gaussian_theory.apportionment.total_kept`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gaussian_theory.apportionment import total_kept
from gaussian_theory.validation import derive_seed

from . import selection
from .stage_query import QueriedRun

__all__ = ["AllocatedRun", "allocation_stage"]


@dataclass(frozen=True, kw_only=True)
class AllocatedRun(QueriedRun):
    """The allocation stage's output: the queried run, with ``recalls`` (the query model's validation
    recalls the quotas read; None without a query model), ``counts`` (the class quotas; None: a global
    top-k), ``total`` (the samples kept in all), ``quota_info`` (what the quota rule predicted, e.g.
    minimax's densities and predicted recalls) and ``allocation_started`` (when this stage began: the
    run JSON's ``selection_s`` times the quotas and the selection together)."""

    recalls: np.ndarray | None = None
    counts: np.ndarray | None = None
    total: int = 0
    quota_info: dict = field(default_factory=dict)
    allocation_started: float = 0.0


def allocation_stage(run: QueriedRun) -> AllocatedRun:
    """The class quotas of the run's quota rule and the total kept at the run's density.

    Parameters
    ----------
    run : QueriedRun
        The query stage's output.

    Returns
    -------
    AllocatedRun
        ``run`` with ``recalls``, ``counts``, ``total`` and ``quota_info``.
    """
    t0 = time.perf_counter()
    config, query, sizes = run.config, run.query, run.sizes
    recalls = None if query is None else np.asarray(query["recalls"])
    info: dict = {}
    counts = selection.quota_counts(config.quota, sizes, config.density, recalls, config.rule,
                                    alpha=config.alpha, min_count=config.min_per_class,
                                    val_outputs=None if query is None else query.get("val_outputs"),
                                    seed=derive_seed(run.seed, "minimax-quota"), info=info,
                                    counts=config.class_counts, densities=config.class_densities)
    total = total_kept(int(sizes.sum()), config.density)
    return AllocatedRun(**vars(run), recalls=recalls, counts=counts, total=total, quota_info=info,
                        allocation_started=t0)
