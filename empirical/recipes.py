r"""Training recipes: the SGD presets per model (``RECIPES``), their overrides and the pruned-data epochs.

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
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from gaussian_theory.validation import check_option

from .options import SCHEDULES

__all__ = ["Recipe", "RECIPES", "get_recipe", "epochs_correction", "FLIP_MODES", "airbench_lr"]

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
