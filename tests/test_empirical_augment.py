"""On-device batched augmentation: equals a per-sample reference, deterministic, normalises."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical.augment import BatchAugment, translate_flip  # noqa: E402


def _reference(img: np.ndarray, dy: int, dx: int, flip: bool) -> np.ndarray:
    """Per-sample numpy version: shift with zero fill, then flip."""
    c, h, w = img.shape
    src = img
    out = np.zeros_like(img)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, yd, xd] = src[:, ys, xs]
    return out[:, :, ::-1] if flip else out


def test_translate_flip_matches_per_sample_reference():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (16, 3, 8, 10), dtype=torch.uint8, generator=g)
    aug = BatchAugment((0.5,) * 3, (0.25,) * 3, shift=3)
    shifts, flips = aug.random_params(16, g)
    out = translate_flip(x, shifts, flips, 3)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    for b in range(16):
        ref = _reference(x[b].numpy(), int(shifts[b, 0]), int(shifts[b, 1]), bool(flips[b]))
        np.testing.assert_array_equal(out[b].numpy(), ref)


def test_augment_is_deterministic_and_normalises():
    x = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    aug = BatchAugment(mean, std, shift=4)
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    plain = aug(x)  # no generator: normalisation only
    expect = (x.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(plain, expect, rtol=1e-5, atol=1e-5)
    assert not torch.equal(a, plain)
    cl = BatchAugment(mean, std, channels_last=True)(x)
    assert cl.is_contiguous(memory_format=torch.channels_last)


def test_bad_arguments():
    with pytest.raises(ValueError, match="shift"):
        BatchAugment((0.5,), (0.5,), shift=-1)
    with pytest.raises(ValueError, match="mean and std"):
        BatchAugment((0.5, 0.5), (0.5,))
