"""droplab's theory package: closed-form and Monte-Carlo risks of Gaussian mixtures under class
pruning, and the class allocations of DRoP (Vysogorets, Ahuja, Kempe, ICLR 2025).

Imports without torch. See the README for a map from the paper's formulas to functions.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # static analysers and IDEs see the names; at run time __getattr__ imports them
    from .allocation import drop_counts, drop_densities, uniform_counts
    from .arrays import as_class_labels, load_labels, load_logits
    from .finite_allocation import optimal_densities_mc
    from .intervals import class_recalls
    from .learned_recalls import fit_recall_model, learned_allocation
    from .mixture import GaussianMixture
    from .own_data import allocate_from_logits, class_sizes_from_labels
    from .pilot_runs import PilotRun, QueryLogits, read_pilot_runs
    from .quota_rules import make_rule, read_allocation_file
    from .recall_prediction import finite_sample_recalls, predict_recalls, prior_shift_recalls
    from .recommend import recommend
    from .run_table import read_run_table, write_run_table
    from .selection import select_indices
    from .simulation import RandomPruning, ScorePruning, SSPPruning, simulate
    from .surrogate import fit_gaussian_surrogate
    from .two_gaussians import SSPResult, TwoGaussians

#: where each public name lives; imported on first use (PEP 562), so that ``import gaussian_theory``
#: (and ``droplab --help``, which imports the package) does not pay for scipy and the solvers
_SOURCES = {
    "drop_counts": "allocation", "drop_densities": "allocation", "uniform_counts": "allocation",
    "optimal_densities_mc": "finite_allocation", "GaussianMixture": "mixture",
    "finite_sample_recalls": "recall_prediction", "predict_recalls": "recall_prediction",
    "prior_shift_recalls": "recall_prediction", "RandomPruning": "simulation", "ScorePruning": "simulation",
    "SSPPruning": "simulation", "simulate": "simulation", "fit_gaussian_surrogate": "surrogate",
    "SSPResult": "two_gaussians", "TwoGaussians": "two_gaussians",
    # your own data: logits and labels -> every rule's counts -> kept indices; your own pilot runs
    "load_logits": "arrays", "load_labels": "arrays", "as_class_labels": "arrays",
    "allocate_from_logits": "own_data", "class_sizes_from_labels": "own_data", "class_recalls": "intervals",
    "make_rule": "quota_rules", "read_allocation_file": "quota_rules", "select_indices": "selection",
    "read_run_table": "run_table", "write_run_table": "run_table", "PilotRun": "pilot_runs",
    "QueryLogits": "pilot_runs", "read_pilot_runs": "pilot_runs", "fit_recall_model": "learned_recalls",
    "learned_allocation": "learned_recalls", "recommend": "recommend",
}

#: The package version, defined here only (pyproject.toml reads it: ``[tool.setuptools.dynamic]``).
__version__ = "0.1.0"

__all__ = [
    "TwoGaussians", "SSPResult", "GaussianMixture", "fit_gaussian_surrogate",
    "simulate", "optimal_densities_mc", "RandomPruning", "SSPPruning", "ScorePruning",
    "drop_densities", "drop_counts", "uniform_counts", "prior_shift_recalls", "finite_sample_recalls",
    "predict_recalls",
    # your own data (docs: "Your own data")
    "load_logits", "load_labels", "as_class_labels", "allocate_from_logits", "class_sizes_from_labels",
    "class_recalls", "make_rule", "read_allocation_file", "select_indices",
    "read_run_table", "write_run_table", "PilotRun", "QueryLogits", "read_pilot_runs", "fit_recall_model",
    "learned_allocation", "recommend",
    "__version__",
]


def __getattr__(name):
    if name in _SOURCES:
        value = getattr(importlib.import_module(f".{_SOURCES[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
