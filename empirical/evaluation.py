"""Evaluation of a trained model: logits or features without augmentation (optionally with the airbench
test-time augmentation), per-class recalls, accuracy and worst-class accuracy."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .augment import BatchAugment
from .classes import class_recalls
from .device import autocast

__all__ = ["predict", "per_class_recall", "evaluate"]


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
        with autocast(dev, precision):
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
