r"""Training: SGD recipes, the epoch loop with per-epoch checkpoints and exact resume, and evaluation.

Recipes
-------
``paper``: the official code's step schedule (SGD, momentum 0.9, ``MultiStepLR`` with
:math:`\gamma=0.2`, cross-entropy) with its per-model presets (official ``config.py``; arXiv 2404.05579,
App. A): VGG-16 lr 0.1, wd 1e-4,
batch 128, 160 epochs, drops at 80/120; VGG-19 the same with wd 5e-4; ResNet-18 lr 0.2, wd 1e-4,
batch 256, 200 epochs, drops at 100/150 (the official ResNet-18 row). ``smallcnn``/``smallcnn-gray``/
``cnn1d``/``mlp``/``linear`` presets are ours, in the same style.

``fast``: for sweeps. Nesterov SGD with a one-cycle learning rate (per step: linear warm-up from
lr/25 over the first 25% of the steps, then cosine annealing to 0), label smoothing 0.1, weight
decay 5e-4, larger batches and far fewer epochs (ResNet-18/VGG 30, small CNN 10; for the smaller datasets
the 1-D CNN 12 epochs of MNIST-1D at batch 128, the grey small CNN 5 epochs of Fashion-MNIST at batch 256).

``airbench``: the recipe of the fast CIFAR-10 training literature (Jordan 2024, "94% on CIFAR-10 in
3.29 seconds on a single GPU", arXiv 2404.00498), for the ``whitenet`` models: Nesterov SGD, momentum
0.85, label smoothing 0.2, a piecewise-linear schedule (from 0.2 to 1 of the peak over the first 23% of the
steps, then down to 0.07), batch-norm biases at 64 times the learning rate, weight decay 0.0153 per 1024
examples (written here for the mean loss: lr = 11.5 B / (1024 (1 + 1/(1 - 0.85))) for batch B, decay
coefficient 0.0153/11.5), lookahead weight averaging every 5 steps, the whitening stem's bias trained for
the first 3 epochs only, alternating flips (each sample's flip is drawn once and inverted every other
epoch) and flip + translate test-time augmentation at the final evaluation. 10 epochs, batch 512. Only for the
whitenet models: the recipe relies on their frozen batch-norm scales and scaled head (on the small CNN its
peak learning rate diverges).

Pruned data (option ``epoch_rule="code"``): the official code trains for
:math:`E_d=\lfloor(0.5+0.5d)E/d\rfloor` epochs with the LR drops scaled by :math:`E_d/E`.

Determinism: the only randomness in training (shuffling, augmentation) comes from one CPU
``torch.Generator`` whose state is checkpointed with the model, optimiser and scheduler after every
epoch, so a killed run resumed from its checkpoint finishes with the same weights as an
uninterrupted one (on CPU; CUDA kernels may add their own nondeterminism).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gaussian_theory.atomic import atomic_write
from gaussian_theory.validation import check_option

from .augment import BatchAugment
from .classes import class_recalls
from .options import PRECISIONS, SCHEDULES

__all__ = ["Recipe", "RECIPES", "get_recipe", "epochs_correction", "resolve_device", "resolve_precision",
           "train_model", "predict", "per_class_recall", "TrainResult", "atomic_torch_save", "FLIP_MODES",
           "airbench_lr"]

#: Horizontal flips in training: ``random`` (each sample, each epoch, with probability 1/2) or
#: ``alternating`` (a random flip drawn once per sample, inverted every other epoch).
FLIP_MODES = ("random", "alternating")


@dataclass(frozen=True)
class Recipe:
    """One training recipe. ``schedule``: ``"step"`` (MultiStepLR at ``milestones``, factor ``gamma``),
    ``"onecycle"``, ``"linear-onecycle"`` or ``"constant"``. ``query_epochs``: length of the Random+DRoP
    query model. The fields after it default to the behaviour of the recipes that predate them:
    ``bias_lr_scale`` multiplies the learning rate of batch-norm biases (and divides their weight decay,
    so that their decay per step is unchanged); ``lookahead``: every 5 steps the weights move to an
    exponential average of themselves, which the run ends on; ``stem_bias_epochs``: train the whitening
    stem's bias only in the first epochs (0: always, where a model has one); ``flip``: one of
    :data:`FLIP_MODES`; ``tta``: test-time augmentation of the final evaluation (0 none, 1 mirror, 2 mirror
    and one-pixel translations)."""

    name: str
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    schedule: str = "step"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.2
    momentum: float = 0.9
    nesterov: bool = False
    label_smoothing: float = 0.0
    query_epochs: int = 16
    bias_lr_scale: float = 1.0
    lookahead: bool = False
    stem_bias_epochs: int = 0
    flip: str = "random"
    tta: int = 0

    def __post_init__(self):
        check_option(self.schedule, "schedule", SCHEDULES)
        check_option(self.flip, "flip", FLIP_MODES)
        if self.tta not in (0, 1, 2):
            raise ValueError(f"tta must be 0, 1 or 2, got {self.tta!r}")
        if not (self.bias_lr_scale > 0 and self.stem_bias_epochs >= 0):
            raise ValueError(f"recipe {self.name!r}: bias_lr_scale must be > 0 and stem_bias_epochs >= 0, "
                             f"got {self.bias_lr_scale!r}, {self.stem_bias_epochs!r}")
        for f in ("epochs", "batch_size", "query_epochs"):
            v = getattr(self, f)
            if not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ValueError(f"{f} must be a positive int, got {v!r}")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 <= self.label_smoothing < 1):
            raise ValueError(f"recipe {self.name!r}: lr must be > 0, weight_decay >= 0 and label_smoothing "
                             f"in [0, 1), got lr={self.lr!r}, weight_decay={self.weight_decay!r}, "
                             f"label_smoothing={self.label_smoothing!r}")

    def with_epochs(self, epochs: int) -> Recipe:
        """Same recipe for ``epochs`` epochs, LR milestones scaled by ``epochs / self.epochs``."""
        ms = tuple(int(round(m * epochs / self.epochs)) for m in self.milestones)
        return dataclasses.replace(self, epochs=int(epochs), milestones=ms)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _paper(epochs, bs, lr, wd, ms):
    return Recipe("paper", epochs, bs, lr, wd, "step", ms, query_epochs=16)


def _fast(epochs, bs, lr, q):
    return Recipe("fast", epochs, bs, lr, 5e-4, "onecycle", (), nesterov=True, label_smoothing=0.1,
                  query_epochs=q)


def airbench_lr(batch_size: int, momentum: float = 0.85) -> float:
    r"""The airbench peak learning rate for the mean loss of a batch of ``batch_size``: 11.5 per 1024
    examples, divided by the Nesterov step gain :math:`1+1/(1-m)`.

    >>> round(airbench_lr(512), 4)
    0.75
    """
    return 11.5 * batch_size / (1024 * (1 + 1 / (1 - momentum)))


def _airbench(epochs, bs, q):
    return Recipe("airbench", epochs, bs, airbench_lr(bs), 0.0153 / 11.5, "linear-onecycle", (),
                  momentum=0.85, nesterov=True, label_smoothing=0.2, query_epochs=q, bias_lr_scale=64.0,
                  lookahead=True, stem_bias_epochs=3, flip="alternating", tta=2)


RECIPES = {
    "paper": {
        "vgg16": _paper(160, 128, 0.1, 1e-4, (80, 120)),
        "vgg19": _paper(160, 128, 0.1, 5e-4, (80, 120)),
        "resnet18": _paper(200, 256, 0.2, 1e-4, (100, 150)),
        "smallcnn": _paper(60, 128, 0.1, 5e-4, (30, 45)),
        "smallcnn-gray": _paper(60, 128, 0.1, 5e-4, (30, 45)),
        "cnn1d": _paper(60, 128, 0.1, 5e-4, (30, 45)),
        "whitenet-128": _paper(60, 128, 0.1, 5e-4, (30, 45)),
        "whitenet-256": _paper(60, 128, 0.1, 5e-4, (30, 45)),
        "mlp": _paper(40, 128, 0.05, 5e-4, (20, 30)),
        "linear": _paper(40, 128, 0.05, 5e-4, (20, 30)),
    },
    "fast": {
        "vgg16": _fast(30, 512, 0.2, 10),
        "vgg19": _fast(30, 512, 0.2, 10),
        "resnet18": _fast(30, 512, 0.4, 10),
        "smallcnn": _fast(10, 256, 0.2, 4),
        # Fashion-MNIST (60,000 28x28 grey images) on CPU: ~40 s of one core an epoch, 0.90 test accuracy
        "smallcnn-gray": _fast(5, 256, 0.2, 2),
        # MNIST-1D (4,000 signals): 12 epochs in ~20 s of one core, 0.98 test accuracy
        "cnn1d": _fast(12, 128, 0.2, 4),
        "whitenet-128": _fast(10, 512, 0.2, 4),
        "whitenet-256": _fast(10, 512, 0.2, 4),
        "mlp": _fast(10, 64, 0.1, 5),
        "linear": _fast(10, 64, 0.1, 5),
    },
    # tuned for the whitenet architecture (frozen batch-norm scales, a head scaled by 1/9): on the small CNN
    # its peak learning rate diverges (loss back to chance by epoch 4), so it is offered for whitenet only
    "airbench": {
        "whitenet-128": _airbench(10, 512, 4),
        "whitenet-256": _airbench(10, 512, 4),
    },
}


def get_recipe(kind: str, model: str, **overrides) -> Recipe:
    """Preset ``RECIPES[kind][model]`` with non-None ``overrides`` applied (``epochs`` rescales the
    milestones)."""
    if kind not in RECIPES:
        raise ValueError(f"recipe must be one of {tuple(RECIPES)}, got {kind!r}")
    if model not in RECIPES[kind]:
        raise ValueError(f"no {kind!r} recipe for model {model!r} (--recipe {kind} serves "
                         f"{', '.join(RECIPES[kind])})")
    r = RECIPES[kind][model]
    over = {k: v for k, v in overrides.items() if v is not None}
    if "epochs" in over:
        r = r.with_epochs(over.pop("epochs"))
    return dataclasses.replace(r, **over) if over else r


def epochs_correction(epochs: int, density: float) -> int:
    r"""Official code's budget for pruned data: :math:`E_d=\lfloor(0.5+0.5d)E/d\rfloor`.

    >>> epochs_correction(160, 0.3), epochs_correction(160, 1.0)
    (346, 160)
    """
    return int(math.floor((0.5 + 0.5 * density) * epochs / density + 1e-9))


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA if available, else CPU; otherwise ``torch.device(device)`` (validated)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def atomic_torch_save(obj, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def cpu_supports_bf16() -> bool:
    """True where oneDNN has native bf16 kernels (AVX-512 BF16 / AMX); elsewhere bf16 on CPU is emulated
    and slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - very old torch builds
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"fp32"`` or ``"bf16"`` (autocast of matmuls/convolutions to bfloat16; weights, optimiser state,
    loss and batch-norm statistics stay float32). ``"auto"``: bf16 on CUDA and on CPUs with native bf16
    instructions, else fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16"
    return "bf16" if device.type == "cpu" and cpu_supports_bf16() else "fp32"


# ----------------------------------------------------------------------------- evaluation
def _autocast(device: torch.device, precision: str = "auto"):
    enabled = resolve_precision(precision, device) == "bf16"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def predict(model, x: torch.Tensor, aug: BatchAugment | None, batch_size: int = 1024,
            features: bool = False, precision: str = "auto", tta: int = 0) -> torch.Tensor:
    """Logits (or penultimate features) of ``x`` in eval mode, float32 on x's device, no augmentation.

    ``tta`` (logits only, images only): 1 averages the logits of each image and its mirror image; 2 weighs
    that average 1/2 and the same average over the image translated by one pixel up-left and down-right
    (reflect padding) 1/4 each (the airbench test-time augmentation)."""
    if tta not in (0, 1, 2):
        raise ValueError(f"tta must be 0, 1 or 2, got {tta!r}")
    was = model.training
    model.eval()
    dev = x.device
    outs = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        xb = aug(xb) if aug is not None else xb.float()
        with _autocast(dev, precision):
            if features:
                out = model.features(xb)
            elif tta and xb.ndim == 4:
                out = _tta_logits(model, xb, tta)
            else:
                out = model(xb)
        outs.append(out.float())
    model.train(was)
    if not outs:
        return torch.zeros(0, device=dev)
    return torch.cat(outs)


def _tta_logits(model, xb: torch.Tensor, level: int) -> torch.Tensor:
    def mirror(v):
        return 0.5 * (model(v).float() + model(v.flip(-1)).float())

    out = mirror(xb)
    if level >= 2:
        h, w = xb.shape[-2:]
        padded = F.pad(xb, (1, 1, 1, 1), mode="reflect")
        shifted = [padded[..., :h, :w], padded[..., 2:, 2:]]
        out = 0.5 * out + 0.25 * sum(mirror(v.contiguous(memory_format=torch.channels_last)
                                            if xb.is_contiguous(memory_format=torch.channels_last) else v)
                                     for v in shifted)
    return out


def per_class_recall(pred, y, num_classes: int) -> np.ndarray:
    """Recall of each class (= per-class accuracy): ``#{pred==y==k} / #{y==k}``; NaN for absent classes."""
    return class_recalls(torch.as_tensor(pred).cpu().numpy(), torch.as_tensor(y).cpu().numpy(), num_classes)


def evaluate(model, x, y, aug, num_classes: int, batch_size: int = 1024, precision: str = "auto",
             return_predictions: bool = False, tta: int = 0, return_logits: bool = False) -> dict:
    """Accuracy, per-class recalls and worst-class accuracy of ``model`` on (x, y); with
    ``return_predictions`` also ``"predictions"`` and ``"labels"`` (per sample, lists). ``tta``: see
    :func:`predict`. ``return_logits`` also ``"logits"``: the float32 numpy logits the recalls were
    computed from (their argmax gives the recalls exactly)."""
    logits = predict(model, x, aug, batch_size, precision=precision, tta=tta)
    pred = logits.argmax(1)
    rec = per_class_recall(pred, y, num_classes)
    out = {"accuracy": float((pred == y).float().mean().item()) if len(y) else float("nan"),
           "worst_class_accuracy": float(np.nanmin(rec)), "recalls": rec.tolist()}
    if return_predictions:
        out["predictions"] = pred.cpu().tolist()
        out["labels"] = torch.as_tensor(y).cpu().tolist()
    if return_logits:
        out["logits"] = logits.cpu().numpy().astype(np.float32)
    return out


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
    :func:`resolve_precision`. A model with a whitening stem (``fit_whitening``) has it fitted to the
    first 5,000 training samples before the first epoch.
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
        with _autocast(dev, precision):
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
