r"""Training: the epoch loop of a recipe (:mod:`empirical.recipes`), per-epoch checkpoints and exact resume.

Determinism: the only randomness in training (shuffling, augmentation) comes from one CPU
``torch.Generator`` whose state is checkpointed with the model, optimiser and scheduler after every
epoch, so a killed run resumed from its checkpoint finishes with the same weights as an
uninterrupted one (on CPU; CUDA kernels may add their own nondeterminism).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gaussian_theory.atomic import atomic_write

from .augment import BatchAugment

# cpu_supports_bf16 is named here as well: the runbook's check before pricing a training grid is
# ``empirical.train.cpu_supports_bf16()``
from .device import autocast, cpu_supports_bf16
from .evaluation import evaluate
from .recipes import Recipe

__all__ = ["train_model", "steps_per_epoch", "TrainResult", "atomic_torch_save", "cpu_supports_bf16"]


def atomic_torch_save(obj, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


# ----------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    history: list[dict]
    best_epoch: int | None = None       # 1-based epoch with the best validation accuracy
    best_val: dict | None = None        # its validation metrics
    best_val_logits: np.ndarray | None = None  # the validation logits those metrics were computed from
    best_state: dict | None = None      # model weights at that epoch (if keep_best)
    seconds: float = 0.0
    resumed_from: int = 0


class _OneCycle:
    r"""One-cycle LR factor per step :math:`s` of :math:`T`: linear warm-up from 1/25 to 1 over the
    first 25% of the steps, then cosine annealing to 0 (robust for any :math:`T\ge1`)."""

    def __init__(self, total: int, warmup: float = 0.25):
        self.total, self.warm = max(int(total), 1), warmup

    def __call__(self, step: int) -> float:
        t = min(step / self.total, 1.0)
        if t < self.warm:
            return 0.04 + 0.96 * t / self.warm
        return 0.5 * (1.0 + math.cos(math.pi * (t - self.warm) / (1.0 - self.warm)))


class _LinearOneCycle:
    """Piecewise-linear LR factor per step of ``total``: from 0.2 to 1 over the first 23% of the steps,
    then down to 0.07 at the last (the airbench schedule)."""

    def __init__(self, total: int, warmup: float = 0.23, start: float = 0.2, end: float = 0.07):
        self.total = max(int(total), 1)
        self.warm = max(int(self.total * warmup), 1)
        self.start, self.end = start, end

    def __call__(self, step: int) -> float:
        if step < self.warm:
            f = step / self.warm
            return self.start * (1 - f) + f
        f = min((step - self.warm) / max(self.total - self.warm, 1), 1.0)
        return (1 - f) + self.end * f


#: Schedules stepped after every optimiser step (the others after every epoch).
_PER_STEP = ("onecycle", "linear-onecycle")


def _param_groups(model, recipe: Recipe):
    """One group (all parameters), or with ``bias_lr_scale != 1`` the batch-norm biases apart, at
    ``bias_lr_scale`` times the learning rate and the weight decay divided by it."""
    params = list(model.parameters())
    if recipe.bias_lr_scale == 1.0:
        return params
    bn_bias = {id(m.bias) for m in model.modules()
               if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.bias is not None}
    biases = [p for p in params if id(p) in bn_bias]
    rest = [p for p in params if id(p) not in bn_bias]
    s = recipe.bias_lr_scale
    return [{"params": biases, "lr": recipe.lr * s, "weight_decay": recipe.weight_decay / s},
            {"params": rest}]


def _make_optim(model, recipe: Recipe, steps_per_epoch: int):
    # Weight decay on all parameters, as in the official code.
    opt = torch.optim.SGD(_param_groups(model, recipe), lr=recipe.lr, momentum=recipe.momentum,
                          nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)
    if recipe.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _OneCycle(recipe.epochs * steps_per_epoch))
    elif recipe.schedule == "linear-onecycle":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _LinearOneCycle(recipe.epochs * steps_per_epoch))
    elif recipe.schedule == "step":
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(recipe.milestones),
                                                     gamma=recipe.gamma)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return opt, sched


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A random permutation cut into batches; a trailing batch of one sample is dropped (BatchNorm)."""
    perm = torch.randperm(n, generator=generator)
    out = list(perm.split(batch_size))
    if len(out) > 1 and len(out[-1]) == 1:
        out.pop()
    return out


def steps_per_epoch(n: int, batch_size: int) -> int:
    k = -(-n // batch_size)
    return k - 1 if (k > 1 and n % batch_size == 1) else k


class _Lookahead:
    """Lookahead weight averaging (the airbench form): every ``every`` steps the running average of the
    floating-point state moves towards the weights by ``1 - decay``, with decay = 0.95^5 (s/T)^3 at step s
    of T, and the weights are set to it; the last step sets the weights to the average."""

    every = 5

    def __init__(self, model, total_steps: int):
        self.total = max(int(total_steps), 1)
        self.step = 0
        self.avg = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def _pull(self, model, decay: float) -> None:
        state = model.state_dict()
        for k, a in self.avg.items():
            a.lerp_(state[k], 1.0 - decay)
            state[k].copy_(a)

    def after_step(self, model) -> None:
        self.step += 1
        if self.step % self.every == 0:
            self._pull(model, 0.95 ** 5 * (self.step / self.total) ** 3)
        if self.step == self.total:
            self._pull(model, 1.0)

    def state_dict(self) -> dict:
        return {"step": self.step, "avg": self.avg}

    def load_state_dict(self, state: dict) -> None:
        self.step = state["step"]
        for k, v in state["avg"].items():
            self.avg[k].copy_(v)


def _stem_input(x: torch.Tensor, aug: BatchAugment | None, n: int = 5000) -> torch.Tensor:
    """The first ``n`` training samples, normalised: the data a whitening stem is fitted to."""
    xb = x[:n]
    return aug(xb) if aug is not None else xb.float()


def train_model(model, x: torch.Tensor, y: torch.Tensor, recipe: Recipe, *, generator: torch.Generator,
                aug: BatchAugment | None = None, augment: bool = False, val: tuple | None = None,
                num_classes: int | None = None, trackers=(), checkpoint: Path | None = None,
                resume: bool = False, fingerprint: str = "", keep_best: bool = False,
                on_epoch_end=None, desc: str = "train", progress: bool = True,
                precision: str = "auto") -> TrainResult:
    """Train ``model`` on device tensors (x, y) with ``recipe``.

    x: uint8 images or float features on the training device; y: int64 labels there. ``generator``:
    CPU generator for shuffling and augmentation (advanced in place). ``val = (x_val, y_val)`` is
    evaluated after every epoch (best epoch = highest validation accuracy). ``trackers`` receive
    ``update(idx, logits, y)`` for every minibatch and ``end_epoch()`` (Forgetting, Dynamic
    Uncertainty); a tracker with ``epoch_indices(epoch)`` and ``max_size`` chooses the indices each
    epoch trains on (dynamic pruning, :mod:`empirical.dynamic`). With ``checkpoint`` the full state is
    saved after every epoch; ``resume=True`` continues from it when its ``fingerprint`` matches.
    ``on_epoch_end(epoch, row)`` runs after the checkpoint is written (an exception there leaves a
    resumable run). ``precision``: see
    :func:`empirical.device.resolve_precision`. A model with a whitening stem (``fit_whitening``) has it
    fitted to the first 5,000 training samples before the first epoch.
    """
    n = len(x)
    if n < 2:
        raise ValueError(f"need at least 2 training samples, got {n}")
    k = int(num_classes if num_classes is not None else int(y.max()) + 1)
    # a dynamic pruner (a tracker with epoch_indices, e.g. empirical.dynamic.RCAPSampler) trains each
    # epoch on a subset it draws; the schedule is laid out for its largest subset
    dynamic = next((t for t in trackers if hasattr(t, "epoch_indices")), None)
    spe = steps_per_epoch(n if dynamic is None else dynamic.max_size, recipe.batch_size)
    if hasattr(model, "fit_whitening"):
        model.fit_whitening(_stem_input(x, aug))
    opt, sched = _make_optim(model, recipe, spe)
    lookahead = _Lookahead(model, recipe.epochs * spe) if recipe.lookahead else None
    # alternating flips: each sample's flip drawn once (only then, so other recipes keep their streams)
    base_flips = torch.rand(n, generator=generator) < 0.5 if recipe.flip == "alternating" else None
    res = TrainResult(history=[])
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        start = _restore(checkpoint, fingerprint, model, opt, sched, generator, trackers, res)
        if start and (lookahead is not None or base_flips is not None):
            extra = torch.load(checkpoint, map_location="cpu", weights_only=False)["recipe_state"]
            if lookahead is not None:
                lookahead.load_state_dict(extra["lookahead"])
            if base_flips is not None:
                base_flips = extra["base_flips"]
    model.train()
    for epoch in range(start, recipe.epochs):
        t0 = time.perf_counter()
        if recipe.stem_bias_epochs and hasattr(model, "whiten"):
            model.whiten.bias.requires_grad_(epoch < recipe.stem_bias_epochs)
        flips = None if base_flips is None else base_flips ^ bool(epoch % 2)
        if dynamic is None:
            batches = _batches(n, recipe.batch_size, generator)
        else:
            pool = dynamic.epoch_indices(epoch)
            batches = [pool[b] for b in _batches(len(pool), recipe.batch_size, generator)]
        bar = tqdm(batches, desc=f"{desc} {epoch + 1}/{recipe.epochs}",
                   disable=not progress, leave=False, mininterval=1.0)
        loss_sum, correct, seen = _epoch_steps(model, x, y, recipe, opt, sched, generator, aug, augment,
                                               trackers, precision, bar, progress, lookahead, flips)
        if recipe.schedule not in _PER_STEP:
            sched.step()
        for t in trackers:
            t.end_epoch()
        row = {"epoch": epoch + 1, "loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
               "lr": opt.param_groups[-1]["lr"]}  # the main group (batch-norm biases, if apart, come first)
        if val is not None:
            m = evaluate(model, val[0], val[1], aug, k, precision=precision, return_logits=True)
            val_logits = m.pop("logits")
            row.update(val_acc=m["accuracy"], val_worst=m["worst_class_accuracy"], val_recalls=m["recalls"])
            if res.best_val is None or m["accuracy"] > res.best_val["accuracy"]:
                res.best_epoch, res.best_val, res.best_val_logits = epoch + 1, m, val_logits
                if keep_best:
                    res.best_state = {kk: v.detach().cpu().clone() for kk, v in model.state_dict().items()}
            model.train()
        row["seconds"] = time.perf_counter() - t0
        res.seconds += row["seconds"]
        res.history.append(row)
        if progress:
            msg = (f"{desc} epoch {epoch + 1}/{recipe.epochs}: loss {row['loss']:.3f} "
                   f"acc {row['train_acc']:.3f}")
            if val is not None:
                msg += f" val {row['val_acc']:.3f} worst {row['val_worst']:.3f}"
            tqdm.write(msg + f" ({row['seconds']:.1f}s)")
        if checkpoint is not None:
            atomic_torch_save({
                "fingerprint": fingerprint, "epoch": epoch + 1, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "generator": generator.get_state(), "trackers": [t.state_dict() for t in trackers],
                "history": res.history, "best_epoch": res.best_epoch, "best_val": res.best_val,
                "best_val_logits": res.best_val_logits, "best_state": res.best_state, "seconds": res.seconds,
                "recipe_state": {"lookahead": None if lookahead is None else lookahead.state_dict(),
                                 "base_flips": base_flips}}, checkpoint)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, row)
    if keep_best and res.best_state is None:
        res.best_state = copy.deepcopy({kk: v.detach().cpu() for kk, v in model.state_dict().items()})
    return res


def _restore(checkpoint, fingerprint, model, opt, sched, generator, trackers, res) -> int:
    """Load a checkpoint written by :func:`train_model` into the training state when its
    ``fingerprint`` matches; returns the epoch to continue from (0: nothing restored)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if state.get("fingerprint") != fingerprint:
        return 0
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    generator.set_state(state["generator"])
    for t, s in zip(trackers, state["trackers"]):
        t.load_state_dict(s)
    res.history = state["history"]
    res.best_epoch, res.best_val = state["best_epoch"], state["best_val"]
    res.best_val_logits = state.get("best_val_logits")  # None in checkpoints written before it was kept
    res.best_state = state["best_state"]
    res.seconds = state["seconds"]
    res.resumed_from = state["epoch"]
    return res.resumed_from


def _epoch_steps(model, x, y, recipe, opt, sched, generator, aug, augment, trackers, precision, bar,
                 progress, lookahead=None, flips=None):
    """One epoch's optimiser steps over the minibatches of ``bar``; returns the summed loss and the
    number of correct predictions (device tensors) and the number of samples seen. ``flips``: each
    training sample's horizontal flip this epoch (None: random)."""
    dev = x.device
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev, dtype=torch.long)
    seen = 0
    for step, idx_cpu in enumerate(bar):
        idx = idx_cpu.to(dev, non_blocking=True)
        xb = x[idx]
        yb = y[idx]
        if aug is None:
            xb = xb.float()
        else:
            xb = aug(xb, generator if augment else None,
                     flips=None if (flips is None or not augment) else flips[idx_cpu])
        with autocast(dev, precision):
            logits = model(xb)
        logits = logits.float()
        loss = F.cross_entropy(logits, yb, label_smoothing=recipe.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if recipe.schedule in _PER_STEP:
            sched.step()
        if lookahead is not None:
            lookahead.after_step(model)
        with torch.no_grad():
            det = logits.detach()
            loss_sum += loss.detach() * len(idx)
            correct += (det.argmax(1) == yb).sum()
            for t in trackers:
                t.update(idx, det, yb)
        seen += len(idx)
        if progress and step % 20 == 0:
            bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{correct.item() / seen:.3f}")
    return loss_sum, correct, seen
