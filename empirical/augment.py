r"""Batched augmentation and normalisation on the training device (no torchvision, no per-sample loop).

Images stay ``uint8`` (N, C, H, W) tensors on the device. A batch is augmented by **one** gather:
a random translation by :math:`(\delta_y,\delta_x)\in\{-s,\dots,s\}^2` pixels with zero fill (the
paper's "random shifts of at most 4 px"; the same as pad-by-:math:`s` then random crop) and a
horizontal flip with probability 1/2,

.. math:: \tilde x[c,i,j]=x[c,\,i-\delta_y,\,\phi(j)-\delta_x],\qquad \phi(j)=j\ \text{or}\ W-1-j,

(zero outside the image), followed by per-channel normalisation
:math:`(\tilde x/255-m_c)/s_c`, computed as one fused multiply-add. Random parameters are drawn
from a CPU ``torch.Generator`` so that results do not depend on the device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["BatchAugment", "translate_flip"]


def translate_flip(x: torch.Tensor, shifts: torch.Tensor, flips: torch.Tensor, pad: int) -> torch.Tensor:
    """Translate each image of ``x`` (B, C, H, W) by ``shifts[b] = (dy, dx)`` with zero fill and flip it
    horizontally where ``flips[b]``; ``|dy|, |dx| <= pad``. Works for any dtype.

    One ``torch.gather`` from the zero-padded batch with a flat (row * W_pad + col) index per output
    pixel, shared by the channels (4x faster on CPU than advanced indexing)."""
    b, c, h, w = x.shape
    if pad > 0:
        x = F.pad(x, (pad, pad, pad, pad))
    hp, wp = h + 2 * pad, w + 2 * pad
    dev = x.device
    shifts = shifts.to(dev)
    flips = flips.to(dev)
    ar_h = torch.arange(h, device=dev)
    ar_w = torch.arange(w, device=dev)
    rows = ar_h[None, :] - shifts[:, :1] + pad                       # (B, H)
    src_w = torch.where(flips[:, None], (w - 1) - ar_w[None, :], ar_w[None, :])
    cols = src_w - shifts[:, 1:] + pad                               # (B, W)
    flat = (rows[:, :, None] * wp + cols[:, None, :]).view(b, 1, h * w).expand(b, c, h * w)
    return x.reshape(b, c, hp * wp).gather(2, flat).view(b, c, h, w)


class BatchAugment:
    """Augment (optional) and normalise a uint8 image batch on its device.

    Calling ``aug(x, generator)`` augments when ``generator`` is given, else only normalises.
    Float feature batches (ndim 2) are returned as float32 unchanged.

    Parameters
    ----------
    mean, std : sequence of float
        Per-channel statistics on the [0, 1] scale.
    shift : int
        Maximum translation in pixels (0 disables).
    flip : bool
        Random horizontal flips.
    channels_last : bool
        Return the batch in ``torch.channels_last`` memory format (faster convolutions on
        CUDA and, with bf16, on CPU).
    """

    def __init__(self, mean, std, shift: int = 4, flip: bool = True, channels_last: bool = False):
        if mean is None or std is None or len(mean) != len(std):
            raise ValueError(f"mean and std must be per-channel sequences, got {mean!r}, {std!r}")
        if int(shift) != shift or shift < 0:
            raise ValueError(f"shift must be a non-negative int, got {shift!r}")
        std_t = torch.tensor(std, dtype=torch.float32)
        self.scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1)
        self.bias = (-torch.tensor(mean, dtype=torch.float32) / std_t).view(1, -1, 1, 1)
        self.shift, self.flip, self.channels_last = int(shift), bool(flip), bool(channels_last)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            return x.float()
        if self.scale.device != x.device:
            self.scale, self.bias = self.scale.to(x.device), self.bias.to(x.device)
        out = torch.addcmul(self.bias, x.float(), self.scale)
        if self.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def random_params(self, n: int, generator: torch.Generator,
                      flips: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Shifts (n, 2) in [-shift, shift] and flip flags (n,) drawn from ``generator`` (CPU); given
        ``flips`` are used as they are (and only the shifts drawn)."""
        shifts = torch.randint(-self.shift, self.shift + 1, (n, 2), generator=generator)
        if flips is None:
            flips = (torch.rand(n, generator=generator) < 0.5 if self.flip
                     else torch.zeros(n, dtype=torch.bool))
        return shifts, flips

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None,
                 flips: torch.Tensor | None = None) -> torch.Tensor:
        """Augment with ``generator`` (None: only normalise); ``flips`` (n,) bool, optional: the
        horizontal flips to apply instead of random ones (alternating flips, :mod:`empirical.train`)."""
        if generator is not None and x.ndim == 4 and (self.shift > 0 or self.flip or flips is not None):
            shifts, flips = self.random_params(x.shape[0], generator, flips)
            x = translate_flip(x, shifts, flips, self.shift)
        return self.normalise(x)
