"""droplab's theory package: closed-form and Monte-Carlo risks of Gaussian mixtures under class
pruning, and the class allocations of DRoP (Vysogorets, Ahuja, Kempe, ICLR 2025).

Imports without torch. See the README for a map from the paper's formulas to functions.
"""

from .allocation import drop_counts, drop_densities, uniform_counts
from .finite_allocation import optimal_densities_mc
from .mixture import GaussianMixture
from .recall_prediction import finite_sample_recalls, predict_recalls, prior_shift_recalls
from .simulation import RandomPruning, ScorePruning, SSPPruning, simulate
from .surrogate import fit_gaussian_surrogate
from .two_gaussians import SSPResult, TwoGaussians

#: The package version, defined here only (pyproject.toml reads it: ``[tool.setuptools.dynamic]``).
__version__ = "0.1.0"

__all__ = [
    "TwoGaussians", "SSPResult", "GaussianMixture", "fit_gaussian_surrogate",
    "simulate", "optimal_densities_mc", "RandomPruning", "SSPPruning", "ScorePruning",
    "drop_densities", "drop_counts", "uniform_counts", "prior_shift_recalls", "finite_sample_recalls",
    "predict_recalls", "__version__",
]
