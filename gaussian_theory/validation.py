"""Input validation for both packages, in one place (errors name the argument and the value).

Conventions (as in scikit-learn's ``check_*`` helpers): booleans are never accepted as numbers;
numpy integers and floats are; every check returns the converted value, so callers validate and
convert in one line at their public boundary, before any expensive work.
"""

from __future__ import annotations

import numbers
import zlib

import numpy as np

__all__ = ["as_float_array", "as_pair", "check_priors", "check_class_priors", "check_density",
           "check_class_densities", "check_int", "check_real", "check_option", "check_seed", "as_generator",
           "derive_seed", "check_memory", "MAX_MEMORY"]

#: Default cap (bytes) on the estimated working memory of a computation (:func:`check_memory`): 4 GiB.
MAX_MEMORY = 2**32


def check_memory(needed: float, max_memory, what: str, hint: str = "lower n or trials") -> None:
    """Refuse, before any work, a call whose estimated working memory ``needed`` (bytes) exceeds
    ``max_memory`` bytes: a ``ValueError`` naming the call (``what``, in the caller's words) and what to
    change (``hint``). The one memory estimate of every large Monte Carlo and fit (``simulate``,
    ``GaussianMixture.sample``, the surrogate fits, the finite-sample recall predictions)."""
    limit = check_int(max_memory, "max_memory", minimum=1)
    if needed > limit:
        raise ValueError(
            f"{what} needs about {needed / 2**30:.3g} GiB of working memory, over max_memory={limit} bytes "
            f"({limit / 2**30:.3g} GiB): {hint}, or raise max_memory if the machine has the memory"
        )


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (Python or numpy, not bool) in ``[minimum, maximum]``; returns a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return v


def check_real(value, name: str, minimum: float | None = None, maximum: float | None = None,
               strict_minimum: bool = False) -> float:
    """A finite real number (not bool) in ``[minimum, maximum]`` (``(minimum, maximum]`` with
    ``strict_minimum``); returns a Python float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    low_bad = minimum is not None and (v <= minimum if strict_minimum else v < minimum)
    if not np.isfinite(v) or low_bad or (maximum is not None and v > maximum):
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        bracket = "(" if strict_minimum else "["
        raise ValueError(f"{name} must be a finite number in {bracket}{lo}, {hi}], got {value!r}")
    return v


def check_option(value, name: str, options) -> str:
    """One of ``options`` (a tuple of strings)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def check_seed(seed, name: str = "seed"):
    """``seed``: a non-negative int or a ``numpy.random.Generator`` (returned unchanged)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be a non-negative int or a numpy.random.Generator, got {seed!r}")
    if int(seed) < 0:
        raise ValueError(f"{name} must be a non-negative int or a numpy.random.Generator, got {seed!r}")
    return int(seed)


def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """The one way randomness enters: ``numpy.random.default_rng`` of a checked ``seed`` (a Generator is
    used as is, so a caller can thread one stream through several calls)."""
    seed = check_seed(seed, name)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def derive_seed(seed: int, *tags) -> int:
    """A 63-bit seed for one named stream of a computation: ``SeedSequence`` of ``seed`` and the crc32
    of each tag. The same ``(seed, tags)`` always gives the same stream, different tags independent ones.

    >>> derive_seed(0, "query-init", 1) == derive_seed(0, "query-init", 1)
    True
    """
    ent = [check_seed(int(seed) if isinstance(seed, np.integer) else seed, "seed")]
    ent += [zlib.crc32(str(t).encode()) for t in tags]
    return int(np.random.SeedSequence(ent).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def _short_repr(value, limit: int = 200) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters (an error quotes the value, not a
    megabyte of it)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def as_float_array(value, name: str, shape=None, allow_inf: bool = False) -> np.ndarray:
    """Convert ``value`` to a float ndarray, rejecting booleans and complex numbers (``TypeError``),
    NaN (and inf unless ``allow_inf``)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be numeric, got {value!r}")
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
        kind = raw.dtype.kind
        arr = np.asarray(raw, dtype=float) if kind not in "bc" else None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {_short_repr(value)}") from exc
    if arr is None:  # booleans are not numbers; complex ones would lose their imaginary part
        what = "booleans" if kind == "b" else "complex numbers"
        raise TypeError(f"{name} must be real numbers, got {what} (dtype {raw.dtype}): {_short_repr(value)}")
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


#: Largest class size (and total) accepted: every integer up to 2**53 is exact in float64, in which the
#: budgets and quotas are computed; beyond it counts would silently be off by a few units.
MAX_SIZE = 2**53


def as_vector(value, name: str, what: str) -> np.ndarray:
    """A non-empty 1-D float vector, one entry per class."""
    if isinstance(value, (numbers.Number, str, bytes)):
        raise TypeError(f"{name} must be a sequence of {what}, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {value!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got {value!r}")
    return arr


def first_bad(arr: np.ndarray, bad: np.ndarray, name: str, rule: str) -> None:
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must {rule}, got {name}[{k}] = {float(arr[k])!r}")


def has_bool(value) -> bool:
    """Whether ``value`` (a bool, an array or a sequence) holds booleans (numpy's or Python's), which
    ``numpy.asarray(..., dtype=float)`` would silently read as 0 and 1."""
    if isinstance(value, (bool, np.bool_)):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", None) == "b":
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == object and any(isinstance(v, (bool, np.bool_)) for v in value.flat)
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, (bool, np.bool_)) for v in value)
    return False


def short_value(value, limit: int = 120) -> str:
    """``repr(value)`` cut to ``limit`` characters, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"
