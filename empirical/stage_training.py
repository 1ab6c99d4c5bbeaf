r"""Stage 5 of a run's trip (:mod:`empirical.pipeline`): the final training, on the selection.

Input: :class:`~empirical.stage_selection.SelectedRun` (the selection stage's output). Output:
:class:`TrainedRun`, the same with the trained model, its recipe
(:meth:`empirical.run_config.RunConfig.final_recipe`, optionally
:math:`E_d=\lfloor(0.5+0.5d)E/d\rfloor` epochs), the training's result and, for a dynamic score, what
it trained on each epoch.

Training state is checkpointed every epoch under ``OUT/_ckpt`` (the checkpoint is named by the run id);
``resume=True`` continues a killed run to the same result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import dynamic, recipes, train
from .options import DYNAMIC_SCORES
from .run_config import seeded_generator
from .stage_data import new_model, warn_one_step
from .stage_selection import SelectedRun

__all__ = ["TrainedRun", "training_stage"]


@dataclass(frozen=True, kw_only=True)
class TrainedRun(SelectedRun):
    """The training stage's output: the selected run, with ``recipe`` (the final training's),
    ``checkpoint`` (its file, removed once the run is recorded unless kept), ``model`` (trained),
    ``result`` (:class:`empirical.train.TrainResult`: history, epochs resumed from) and ``dynamic``
    (a dynamic score's summary of the subsets it trained on; None otherwise)."""

    recipe: recipes.Recipe | None = None
    checkpoint: Path | None = None
    model: torch.nn.Module | None = None
    result: train.TrainResult | None = None
    dynamic: dict | None = None


def training_stage(run: SelectedRun) -> TrainedRun:
    """Train the final model on the kept samples (for a dynamic score, on the subset its sampler draws
    each epoch from all of them); time it.

    Parameters
    ----------
    run : SelectedRun
        The selection stage's output.

    Returns
    -------
    TrainedRun
        ``run`` with ``recipe``, ``checkpoint``, ``model``, ``result`` and ``dynamic``.
    """
    config, seed, t, idx = run.config, run.seed, run.tensors, run.selected
    rec = config.final_recipe()
    warn_one_step("final training", int(idx.size) if config.score not in DYNAMIC_SCORES else run.total, rec)
    run_id = config.run_id(seed)
    ckpt = run.out_dir / "_ckpt" / f"{run_id}_final.pt"
    t0 = time.perf_counter()
    model = new_model(run, seeded_generator(seed, "final-init"))
    idx_dev = torch.as_tensor(idx, device=t.device)
    trackers, labels = (), None
    if config.score in DYNAMIC_SCORES:  # idx is the whole training set; RCAP draws each epoch's part
        labels = t.y[idx_dev].cpu().numpy()
        trackers = (dynamic.RCAPSampler(labels, config.density, seed),)
    res = train.train_model(
        model, t.x[idx_dev], t.y[idx_dev], rec, generator=seeded_generator(seed, "final-train"), aug=t.aug,
        augment=config.augment and run.ds.is_image, val=(t.x_val, t.y_val), num_classes=t.num_classes,
        trackers=trackers, checkpoint=ckpt, resume=run.resume, fingerprint=run_id,
        on_epoch_end=run.hooks.get("final_epoch_end"), desc="final", progress=run.progress,
        precision=config.precision)
    dyn = None
    if trackers:
        dyn = trackers[0].summary(np.bincount(labels, minlength=t.num_classes))
    run.timings["final_train_s"] = time.perf_counter() - t0
    run.timings["final_train_epochs_s"] = res.seconds
    return TrainedRun(**vars(run), recipe=rec, checkpoint=ckpt, model=model, result=res, dynamic=dyn)
