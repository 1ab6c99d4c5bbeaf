"""Every grid, budget and design choice of the figures, defined once (README, "Figures and notebooks").

:class:`Settings` holds them; :meth:`Settings.full` is ``droplab figures``, :meth:`Settings.fast` is
``--quick``. A ``compute_*`` function takes each grid as an argument and, where it is left as
``None``, reads it from ``settings`` (default: the full settings), so no default is restated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..two_gaussians import TwoGaussians
from ..validation import check_int, check_real, check_seed

__all__ = ["Settings", "resolve", "reference_model", "base_seed", "subseed"]


@dataclass(frozen=True)
class Settings:
    """Grid sizes, ranges and Monte Carlo budgets of the six figures. :meth:`fast` (``--quick``) and
    :meth:`full` are the presets."""

    quick: bool = False
    seed: int = 0
    # figure 1: log prior-ratio grid on [-log_ratio_max, log_ratio_max]; DRoP marker at drop_density
    prior_points: int = 801
    log_ratio_max: float = 4.0
    drop_density: float = 0.5
    # figures 2, 4, 6: the exponent of damped DRoP, d_k ∝ (1 - r_k)^damped_alpha
    damped_alpha: float = 0.7
    # figure 2: population curves on density_range; Monte Carlo at density_mc, training-set size mc_n
    density_range: tuple = (0.05, 1.0)
    density_points: int = 96
    density_mc: tuple = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    mc_n: int = 2000
    mc_trials: int = 400              # figures 2 and 5: Monte Carlo trials per point
    mc_learner: str = "erm"
    min_class_count: int = 10         # figure 2: skip points keeping fewer samples of a class
    # figure 3: SSP margin grid on [0, margin_max]
    margin_max: float = 3.0
    margin_points: int = 301
    # figure 4: (separation, std ratio) grid at regret_density
    separation_range: tuple = (1.0, 3.0)
    std_ratio_range: tuple = (1.05, 4.0)
    regret_points: tuple = (61, 61)
    regret_density: float = 0.5
    # figure 5: training-set sizes, dataset density, learners
    n_values: tuple = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
    finite_density: float = 0.5
    learners: tuple = ("erm", "plugin")
    # figure 6: the many-class mixture and its Monte Carlo budget
    n_classes: int = 10
    class_separation: float = 2.5
    std_range: tuple = (0.5, 1.5)
    mixture_densities: tuple = (0.2, 0.5)
    mixture_mc: int = 200_000         # Monte Carlo points per class-risk estimate
    minimax_mc: int = 50_000          # cap on the minimax run's points (as in compare_allocations)

    def __post_init__(self):
        check_int(self.seed, "seed", minimum=0)
        for name in ("prior_points", "density_points", "margin_points"):
            check_int(getattr(self, name), name, minimum=2)
        for name in ("mc_n", "mc_trials", "mixture_mc", "minimax_mc", "n_classes"):
            check_int(getattr(self, name), name, minimum=1)
        check_real(self.log_ratio_max, "log_ratio_max", minimum=0.0, strict_minimum=True)
        check_real(self.margin_max, "margin_max", minimum=0.0, strict_minimum=True)
        check_real(self.damped_alpha, "damped_alpha", minimum=0.0)

    @classmethod
    def full(cls, seed: int = 0) -> Settings:
        return cls(quick=False, seed=seed)

    @classmethod
    def fast(cls, seed: int = 0) -> Settings:
        return cls(
            quick=True, seed=seed, prior_points=161, margin_points=61, regret_points=(13, 13),
            density_points=24, density_mc=(0.1, 0.3, 0.6, 1.0), mc_trials=40,
            n_values=(100, 1000, 5000), mixture_mc=20_000,
        )

    @classmethod
    def preset(cls, quick: bool, seed: int = 0) -> Settings:
        return cls.fast(seed) if quick else cls.full(seed)

    # The grids, built in one place from the fields above.
    def log_ratio_grid(self) -> np.ndarray:
        return np.linspace(-self.log_ratio_max, self.log_ratio_max, self.prior_points)

    def density_grid(self) -> np.ndarray:
        return np.linspace(*self.density_range, self.density_points)

    def margin_grid(self) -> np.ndarray:
        return np.linspace(0.0, self.margin_max, self.margin_points)

    def separation_grid(self) -> np.ndarray:
        return np.linspace(*self.separation_range, self.regret_points[0])

    def std_ratio_grid(self) -> np.ndarray:
        return np.geomspace(*self.std_ratio_range, self.regret_points[1])


def resolve(settings: Settings | None) -> Settings:
    """``settings``, or the full settings when ``None``."""
    if settings is None:
        return Settings()
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a Settings or None, got {settings!r}")
    return settings


def reference_model() -> TwoGaussians:
    """The running example: means (0, 6), stds (1, 2), balanced priors (README, "What the theory
    says")."""
    return TwoGaussians(means=(0.0, 6.0), stds=(1.0, 2.0), priors=(0.5, 0.5))


def base_seed(seed) -> int:
    """The int behind a ``seed`` argument (int, or ``numpy.random.Generator``: one draw from it), from
    which :func:`subseed` derives each Monte Carlo cell's seed."""
    seed = check_seed(seed)
    return int(seed.integers(2**63)) if isinstance(seed, np.random.Generator) else seed


def subseed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed for one Monte Carlo cell: ``SeedSequence([seed, *keys])``.

    Kept (rather than :func:`gaussian_theory.validation.derive_seed`) because the committed figures
    were drawn with it: switching would change every Monte Carlo number behind them.
    """
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])
