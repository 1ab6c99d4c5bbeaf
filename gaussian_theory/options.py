"""The choices the theory accepts, each tuple defined once.

The library's validators (``validation.check_option``) and the ``droplab`` command line (argparse
``choices=``) import their names from here; ``empirical.options`` re-exports the ones the pipeline
shares (the DRoP rules, the surrogate covariances). This module imports nothing.
"""

__all__ = ["RULES", "ALLOCATION_RULES", "COVARIANCES", "DEFAULT_COVARIANCE", "LEARNERS", "CLASS_COUNTS",
           "SCORE_KEEPS", "RISK_METHODS"]

#: DRoP quota rules (README, "Two DRoP rules"): ``"paper"`` = Algorithm 1 of arXiv 2404.05579
#: (densities proportional to 1 - recall), ``"code"`` = the official repository (counts proportional
#: to 1 - recall).
RULES = ("paper", "code")

#: Class-allocation rules (``allocation.allocation_weights``): ``"drop"`` = densities proportional to
#: the validation error, ``(1 - r_k)**alpha`` (alpha = 1: DRoP); ``"probit"`` = densities proportional
#: to ``phi(Phi^-1(r_k))``, the two-Gaussian worst-class optimum (README, "The paper's formulas").
ALLOCATION_RULES = ("drop", "probit")

#: Covariance families of the Gaussian surrogate (``fit_gaussian_surrogate``): one shared (Ledoit--Wolf
#: shrunk) covariance, or one per class, a multiple of I or diagonal.
COVARIANCES = ("tied", "isotropic", "diagonal")

#: The surrogate's covariance when none is named (chosen by measurement: ``gaussian_theory.surrogate``'s
#: module docstring); defined here so that the command line shows it without importing the fit.
DEFAULT_COVARIANCE = "tied"

#: Threshold learners of the finite-sample simulation (``simulate``).
LEARNERS = ("plugin", "erm", "logistic")

#: How a simulated training set's class counts are drawn (``simulate``).
CLASS_COUNTS = ("exact", "multinomial")

#: Which samples score-based pruning keeps (``ScorePruning``).
SCORE_KEEPS = ("hardest", "easiest")

#: How ``GaussianMixture.class_risks`` evaluates the risks, and how ``minimax.minimax`` solves:
#: ``"exact"`` = the two-isotropic-class closed form, ``"mc"`` = Monte Carlo, ``"auto"`` = exact where
#: it applies.
RISK_METHODS = ("auto", "exact", "mc")
