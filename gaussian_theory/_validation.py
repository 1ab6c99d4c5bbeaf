"""Input validation shared by the public functions (errors name the argument and the value)."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(value, name: str, shape=None, allow_inf: bool = False) -> np.ndarray:
    """Convert ``value`` to a float ndarray, rejecting NaN (and inf unless ``allow_inf``)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be numeric, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {value!r}") from exc
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got shape {arr.shape}: {value!r}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN, got {value!r}")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def as_pair(value, name: str) -> np.ndarray:
    """A length-2 finite float vector (one number per class)."""
    if isinstance(value, (numbers.Number, str, bytes)):
        raise TypeError(f"{name} must be a pair (one value per class), got {value!r}")
    return as_float_array(value, name, shape=(2,))


def _check_simplex(arr: np.ndarray, name: str, value) -> np.ndarray:
    """Entries in [0, 1] summing to 1 (within 1e-9) along the last axis."""
    if (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    if (np.abs(arr.sum(axis=-1) - 1.0) > 1e-9).any():
        raise ValueError(f"{name} must sum to 1 (within 1e-9), got {value!r}")
    return arr


def check_priors(priors, name: str = "priors") -> np.ndarray:
    """Two-class priors, or an array of them: last axis of length 2, on the simplex."""
    arr = as_float_array(priors, name)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ValueError(f"{name} must have a last axis of length 2, got shape {arr.shape}: {priors!r}")
    return _check_simplex(arr, name, priors)


def _class_vector(value, name: str, n_classes: int, what: str) -> np.ndarray:
    """One finite entry per class, in [0, 1]."""
    if isinstance(value, (numbers.Number, str, bytes)):
        raise TypeError(f"{name} must be a sequence of {n_classes} {what}, got {value!r}")
    arr = as_float_array(value, name)
    if arr.shape != (n_classes,):
        raise ValueError(f"{name} must have shape ({n_classes},), got shape {arr.shape}: {value!r}")
    if (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return arr


def check_class_priors(priors, n_classes: int, name: str = "priors") -> np.ndarray:
    """Priors of ``n_classes`` classes: shape (K,), on the simplex."""
    return _check_simplex(_class_vector(priors, name, n_classes, "class priors"), name, priors)


def check_density(density, name: str = "density") -> float:
    """A dataset density (fraction kept) in (0, 1]."""
    if isinstance(density, (bool, np.bool_)) or not isinstance(density, numbers.Real):
        raise TypeError(f"{name} must be a real number in (0, 1], got {density!r}")
    d = float(density)
    if not (0.0 < d <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must lie in (0, 1], got {density!r}")
    return d


def check_class_densities(densities, priors: np.ndarray, name: str = "densities") -> np.ndarray:
    """Kept fraction of each class: one entry per class in [0, 1], keeping some data."""
    d = _class_vector(densities, name, len(priors), "class densities")
    if float(d @ priors) <= 0:
        raise ValueError(f"{name} keep no data (sum of priors x densities is 0), got {densities!r}")
    return d
