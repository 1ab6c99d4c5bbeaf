"""Where and in which precision a model runs: the device (``"auto"``: CUDA when available), bf16 or fp32
autocast, and whether this CPU has native bf16 kernels."""

from __future__ import annotations

import torch

from .options import PRECISIONS

__all__ = ["resolve_device", "cpu_supports_bf16", "resolve_precision", "autocast"]


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


def autocast(device: torch.device, precision: str = "auto"):
    """The autocast context of ``precision`` (resolved by :func:`resolve_precision`) on ``device``."""
    enabled = resolve_precision(precision, device) == "bf16"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)
