r"""Pruning rules of the finite-sample simulator: frozen specs that validate themselves and produce
their own keep-masks.

Every spec is a :class:`PruningSpec`: it checks its parameters on construction, checks itself
against a model with :meth:`PruningSpec.check_model` (before any work), may announce its kept counts
when they follow from the class counts alone (:meth:`PruningSpec.planned_counts`), and returns the
boolean mask of kept samples of a chunk with :meth:`PruningSpec.keep_mask` (layout of
:mod:`gaussian_theory.learners`: class 0 in columns ``< n0[i]``, class 1 after).

* :class:`RandomPruning` -- keep :math:`m_k=\lfloor d_kn_k+\tfrac12\rfloor` samples of class
  :math:`k` (the first ones of i.i.d. draws, i.e. uniformly random): the class-conditional law is
  unchanged and the priors become :math:`\propto d_k\phi_k` (paper §4, README formula map);
* :class:`SSPPruning` -- drop every sample with :math:`|x-\mu_y|<M`, so class :math:`k` keeps
  :math:`d_k=2\Phi(-M/\sigma_k)` of its samples (paper App. B.3);
* :class:`ScorePruning` -- score :math:`s(x)=|x-t_{\rm full}|`, :math:`t_{\rm full}=t^*(\phi_0/\phi_1)`
  (an EL2N-like margin score), keep the hardest (smallest score) or easiest (largest) samples,
  globally or within per-class quotas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .apportionment import round_half_up
from .learners import class1_mask
from .options import SCORE_KEEPS
from .validation import as_float_array, as_pair, check_density

__all__ = ["PruningSpec", "RandomPruning", "SSPPruning", "ScorePruning", "check_pruning",
           "smallest_per_row", "smallest_within_class"]


def _unit_pair(value, name):
    """A pair of class densities in [0, 1], as a tuple of floats."""
    d = as_pair(value, name)
    if (d < 0).any() or (d > 1).any():
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return float(d[0]), float(d[1])


def smallest_per_row(key, m):
    """Boolean mask of the ``m[i]`` smallest entries of each row of ``key`` (inf entries never kept;
    ties at the cut are all kept)."""
    srt = np.sort(key, axis=1)
    idx = np.clip(m - 1, 0, key.shape[1] - 1)
    thr = np.take_along_axis(srt, idx[:, None], axis=1)
    return (key <= thr) & (m[:, None] > 0) & np.isfinite(key)


def smallest_within_class(key, lab1, m0, m1):
    """Rank within each class: the ``m0[i]`` smallest keys of class 0 and ``m1[i]`` of class 1."""
    keep0 = smallest_per_row(np.where(lab1, np.inf, key), m0)
    return keep0 | smallest_per_row(np.where(lab1, key, np.inf), m1)


class PruningSpec:
    """Base of the pruning specs (``pruning=None`` in the simulator keeps everything)."""

    def check_model(self, model) -> None:
        """Raise ValueError if the spec cannot be applied to ``model`` (default: always applicable)."""

    def planned_counts(self, n0: int, n1: int):
        """Kept counts ``[m0, m1]`` when they follow from the class counts alone, else ``None``."""
        return None

    def describe(self) -> str:
        """How error messages name the spec."""
        return f"pruning={self!r}"

    def keep_mask(self, model, x, n0) -> np.ndarray:  # pragma: no cover - abstract
        """Boolean mask (same shape as ``x``) of the kept samples."""
        raise NotImplementedError


@dataclass(frozen=True)
class RandomPruning(PruningSpec):
    """Keep a uniformly random fraction ``densities[k]`` of class ``k`` (rounded half up per class)."""

    densities: tuple

    def __post_init__(self):
        d = _unit_pair(self.densities, "densities")
        if not (np.asarray(d) > 0).any():
            raise ValueError(f"densities keep no data, got {self.densities!r}")
        object.__setattr__(self, "densities", d)

    def planned_counts(self, n0, n1):
        return np.array([round_half_up(self.densities[0] * n0), round_half_up(self.densities[1] * n1)])

    def describe(self):
        return f"densities={self.densities!r}"

    def keep_mask(self, model, x, n0):
        n = x.shape[1]
        m0, m1 = round_half_up(self.densities[0] * n0), round_half_up(self.densities[1] * (n - n0))
        col = np.arange(n)[None, :]
        return (col < m0[:, None]) | (class1_mask(n0, n) & (col - n0[:, None] < m1[:, None]))


@dataclass(frozen=True)
class SSPPruning(PruningSpec):
    """Supervised SSP: drop every sample with ``|x - mu_y| < margin`` (paper App. B.3)."""

    margin: float

    def __post_init__(self):
        m = float(as_float_array(self.margin, "margin", shape=()))
        if m < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin!r}")
        object.__setattr__(self, "margin", m)

    def keep_mask(self, model, x, n0):
        mu_y = np.where(class1_mask(n0, x.shape[1]), model.means[1], model.means[0])
        return np.abs(x - mu_y) >= self.margin


@dataclass(frozen=True)
class ScorePruning(PruningSpec):
    r"""Score-based pruning with score :math:`|x-t_{\rm full}|`, where
    :math:`t_{\rm full}` = ``model.optimal_threshold()``.

    ``keep="hardest"`` keeps the smallest scores (closest to the boundary), ``"easiest"`` the
    largest. With ``class_densities=None`` the ``round(density * n)`` selected samples are chosen
    globally; otherwise class ``k`` keeps ``round(class_densities[k] * n_k)`` of its own samples and
    ``density`` may be ``None`` (if given it must equal the priors-weighted class densities).
    """

    density: float | None
    keep: str = "hardest"
    class_densities: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.keep, str) or self.keep not in SCORE_KEEPS:
            raise ValueError(f"keep must be {' or '.join(map(repr, SCORE_KEEPS))}, got {self.keep!r}")
        if self.class_densities is None and self.density is None:
            raise ValueError("ScorePruning needs density (global) or class_densities (quotas), got neither")
        if self.class_densities is not None:
            object.__setattr__(self, "class_densities", _unit_pair(self.class_densities, "class_densities"))
        if self.density is not None:
            object.__setattr__(self, "density", check_density(self.density))

    def check_model(self, model):
        if not np.isfinite(model.optimal_threshold()):
            raise ValueError(
                "ScorePruning needs a finite model.optimal_threshold(), "
                f"got {model.optimal_threshold()} for {model!r}"
            )
        if self.class_densities is not None and self.density is not None:
            implied = float(np.dot(self.class_densities, model.priors))
            if abs(implied - self.density) > 1e-6:
                raise ValueError(
                    f"ScorePruning density={self.density!r} disagrees with class_densities="
                    f"{self.class_densities!r}, whose priors-weighted density is {implied:.6g}; "
                    "pass density=None to use the quotas"
                )

    def planned_counts(self, n0, n1):
        if self.class_densities is None:
            return None
        d0, d1 = self.class_densities
        return np.array([round_half_up(d0 * n0), round_half_up(d1 * n1)])

    def keep_mask(self, model, x, n0):
        T, n = x.shape
        score = np.abs(x - model.optimal_threshold())
        key = score if self.keep == "hardest" else -score
        if self.class_densities is None:
            return smallest_per_row(key, np.full(T, round_half_up(self.density * n)))
        m0, m1 = self.planned_counts(n0, n - n0)
        return smallest_within_class(key, class1_mask(n0, n), m0, m1)


def check_pruning(pruning, model) -> None:
    """``pruning`` is None or a :class:`PruningSpec` applicable to ``model``."""
    if pruning is None:
        return
    if not isinstance(pruning, PruningSpec):
        raise TypeError(
            "pruning must be None, RandomPruning, SSPPruning or ScorePruning (a PruningSpec), "
            f"got {type(pruning).__name__}: {pruning!r}"
        )
    pruning.check_model(model)
