r"""Finite-sample simulation of the two-Gaussian model: draw, prune, learn, exact test risks.

The closed forms of :mod:`gaussian_theory.two_gaussians` describe infinitely many samples. Here a
training set of :math:`n` points is drawn from the mixture :math:`\phi_0\mathcal N(\mu_0,\sigma_0^2)
+\phi_1\mathcal N(\mu_1,\sigma_1^2)`, pruned (:mod:`gaussian_theory.pruning`: random, SSP or
score-based), a threshold :math:`\hat t` is learned from what is kept (:mod:`gaussian_theory.learners`:
``"plugin"``, ``"erm"``, ``"logistic"``), and its class risks are evaluated *exactly on the
population* with eq. (1) of the paper (arXiv 2404.05579, §4; README formula map),

.. math::
    R_0(\hat t)=\Phi\Big(\frac{\mu_0-\hat t}{\sigma_0}\Big),\qquad
    R_1(\hat t)=\Phi\Big(\frac{\hat t-\mu_1}{\sigma_1}\Big),

so the only Monte Carlo error is over training sets. Over ``trials`` independent training sets the
mean :math:`\bar R_k=\frac1T\sum_i R_k(\hat t_i)` estimates :math:`E[R_k(\hat t)]` with standard
error :math:`s_k/\sqrt T` (:math:`s_k` the sample standard deviation over trials).

Randomness flows only through a :class:`numpy.random.Generator` built from ``seed`` (int or
Generator, default 0). The draws do not depend on the pruning rule or learner (the same seed gives
the same unpruned training sets), so rules can be compared on common random numbers.

Memory: a training set is processed whole (ERM sorts it, score pruning ranks it, the logistic fit
passes over it at every Newton step), so the working memory grows linearly with ``n``; calls whose
estimated working memory exceeds ``max_memory`` (default :data:`MAX_MEMORY`, 4 GiB) are refused
with a ValueError before any work.

The pruning specs, learners and :func:`population_logistic_threshold` live in
:mod:`gaussian_theory.pruning` and :mod:`gaussian_theory.learners` and are re-exported here; the
finite-sample optimal allocation search, :func:`~gaussian_theory.finite_allocation.optimal_densities_mc`,
in :mod:`gaussian_theory.finite_allocation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from .apportionment import largest_remainder
from .learners import (
    LEARNERS,
    MIN_PER_CLASS,
    class1_mask,
    learn_thresholds,
    plugin_thresholds,
    population_logistic_threshold,
)
from .options import CLASS_COUNTS
from .pruning import PruningSpec, RandomPruning, ScorePruning, SSPPruning, check_pruning
from .two_gaussians import TwoGaussians
from .validation import MAX_MEMORY as _MAX_MEMORY
from .validation import as_float_array, as_generator, check_int, check_memory, check_option

__all__ = [
    "RandomPruning",
    "SSPPruning",
    "ScorePruning",
    "PruningSpec",
    "SimulationResult",
    "simulate",
    "population_limit",
    "population_logistic_threshold",
    "plugin_thresholds",
    "gaussian_draws",
    "LEARNERS",
    "MAX_MEMORY",
]

#: elements (trials x samples) processed at once; chosen for cache efficiency, does not change results
_CHUNK_ELEMENTS = 2**18
#: default cap (bytes) on the estimated working memory of :func:`simulate` and
#: :func:`~gaussian_theory.finite_allocation.optimal_densities_mc`:
#: :data:`gaussian_theory.validation.MAX_MEMORY`
MAX_MEMORY = _MAX_MEMORY
#: bytes per sample of a chunk's working memory: the tracemalloc peaks measured at n = 2**20, trials = 1
#: over every pruning rule (plugin <= 36, erm <= 43, logistic <= 110), rounded up with a margin
_BYTES_PER_ELEMENT = {"plugin": 64, "erm": 64, "logistic": 128}
#: bytes per trial of the per-trial outputs (thresholds, risks, counts, ...)
_BYTES_PER_TRIAL = 128


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class SimulationResult:
    """Per-trial outcome of :func:`simulate` and its Monte Carlo summaries.

    Attributes
    ----------
    class_risks : ndarray of shape (trials, 2)
        Exact population class risks of each learned threshold.
    thresholds : ndarray of shape (trials,)
        Learned thresholds (``+-inf`` possible).
    average_risks : ndarray of shape (trials,)
        :math:`\\phi_0R_0+\\phi_1R_1` with the *model's* priors.
    worst_class_risks : ndarray of shape (trials,)
        :math:`\\max_kR_k`.
    kept_counts : ndarray of shape (trials, 2)
        Training samples of each class left after pruning.
    n : int
        Training-set size before pruning.
    learner : str
        The learner (``"plugin"``, ``"erm"`` or ``"logistic"``).
    pruning : object
        The pruning rule (``None``: no pruning).
    class_counts : str
        How the class counts of a training set were drawn (``"exact"`` or ``"multinomial"``).
    model : TwoGaussians
        The population model.
    """

    class_risks: np.ndarray
    thresholds: np.ndarray
    average_risks: np.ndarray
    worst_class_risks: np.ndarray
    kept_counts: np.ndarray
    n: int
    learner: str
    pruning: object
    class_counts: str
    model: TwoGaussians = field(repr=False)

    @property
    def trials(self) -> int:
        return int(self.thresholds.shape[0])

    @staticmethod
    def _se(a, axis=0):
        a = np.asarray(a, dtype=float)
        t = a.shape[axis]
        if t < 2:
            return np.full(np.delete(a.shape, axis), np.nan) if a.ndim > 1 else np.nan
        return np.std(a, axis=axis, ddof=1) / np.sqrt(t)

    @property
    def mean_class_risks(self) -> np.ndarray:
        return self.class_risks.mean(axis=0)

    @property
    def se_class_risks(self) -> np.ndarray:
        return np.asarray(self._se(self.class_risks))

    @property
    def mean_average_risk(self) -> float:
        return float(self.average_risks.mean())

    @property
    def se_average_risk(self) -> float:
        return float(self._se(self.average_risks))

    @property
    def mean_worst_class_risk(self) -> float:
        return float(self.worst_class_risks.mean())

    @property
    def se_worst_class_risk(self) -> float:
        return float(self._se(self.worst_class_risks))

    @property
    def worst_of_mean_class_risks(self) -> float:
        """:math:`\\max_kE[R_k(\\hat t)]`, which is :math:`\\le E[\\max_kR_k(\\hat t)]`."""
        return float(self.mean_class_risks.max())

    def ci(self, level: float = 0.95) -> dict:
        r"""Normal-approximation confidence intervals :math:`\bar R\pm z_{(1+\ell)/2}\,\mathrm{SE}`.

        Keys: ``class_risk_0``, ``class_risk_1``, ``average_risk``, ``worst_class_risk``.
        """
        lv = float(as_float_array(level, "level", shape=()))
        if not 0.0 < lv < 1.0:
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        z = float(ndtri(0.5 + lv / 2.0))
        pairs = {
            "class_risk_0": (self.mean_class_risks[0], self.se_class_risks[0]),
            "class_risk_1": (self.mean_class_risks[1], self.se_class_risks[1]),
            "average_risk": (self.mean_average_risk, self.se_average_risk),
            "worst_class_risk": (self.mean_worst_class_risk, self.se_worst_class_risk),
        }
        return {k: (float(m - z * s), float(m + z * s)) for k, (m, s) in pairs.items()}

    def summary(self) -> dict:
        """Plain-Python summary (JSON-serialisable)."""
        return {
            "n": self.n,
            "trials": self.trials,
            "learner": self.learner,
            "pruning": repr(self.pruning),
            "class_counts": self.class_counts,
            "mean_class_risks": self.mean_class_risks.tolist(),
            "se_class_risks": self.se_class_risks.tolist(),
            "mean_average_risk": self.mean_average_risk,
            "se_average_risk": self.se_average_risk,
            "mean_worst_class_risk": self.mean_worst_class_risk,
            "se_worst_class_risk": self.se_worst_class_risk,
            "mean_kept_counts": self.kept_counts.mean(axis=0).tolist(),
            "ci95": self.ci(0.95),
        }


# ----------------------------------------------------------------------------- helpers
def _check_model(model) -> TwoGaussians:
    if not isinstance(model, TwoGaussians):
        raise TypeError(f"model must be a TwoGaussians, got {type(model).__name__}: {model!r}")
    return model


def _check_count(value, name: str, minimum: int) -> int:
    """An integer >= minimum (message ``"{name} must be >= {minimum}, got {value}"``)."""
    value = check_int(value, name)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


#: Refuse, before any work, a call whose estimated working memory exceeds ``max_memory`` bytes: the one
#: memory check of the package, :func:`gaussian_theory.validation.check_memory`.
_check_memory = check_memory


def _check_l2(logistic_l2) -> float:
    l2 = float(as_float_array(logistic_l2, "logistic_l2", shape=()))
    if l2 < 0:
        raise ValueError(f"logistic_l2 must be >= 0, got {logistic_l2!r}")
    return l2


def _exact_class_counts(model: TwoGaussians, n: int) -> np.ndarray:
    """Class counts n_k = n phi_k rounded by largest remainder (sum exactly n)."""
    return largest_remainder(n * model.priors, np.array([n, n]), n)


def gaussian_draws(rng, model, shape, n0) -> np.ndarray:
    r"""Class-conditional draws :math:`x=\mu_k+\sigma_kz`, :math:`z` standard normal of ``shape``
    (trials, width) filled row by row: columns ``< n0`` (an int, or one per row) from class 0, the
    rest from class 1. The one place the simulator turns standard normals into training data."""
    z = rng.standard_normal(shape)
    n0 = np.broadcast_to(np.asarray(n0), (shape[0],))
    if (n0 == n0[0]).all():  # exact class counts: scale the two column blocks in place
        k = int(min(n0[0], shape[1]))
        for cols, mu, s in (
            (slice(0, k), model.means[0], model.stds[0]),
            (slice(k, shape[1]), model.means[1], model.stds[1]),
        ):
            z[:, cols] *= s
            z[:, cols] += mu
        return z
    lab1 = class1_mask(n0, shape[1])
    return np.where(lab1, model.means[1] + model.stds[1] * z, model.means[0] + model.stds[0] * z)


# ----------------------------------------------------------------------------- simulate
def _check_planned_counts(model, n, pruning, class_counts, n0, learner, need) -> None:
    """Refuse, before drawing, an ``n`` too small for the learner when the kept counts are fixed."""
    if class_counts != "exact":
        return
    if pruning is None:
        if min(n0, n - n0) < need:
            raise ValueError(
                f"n={n} is too small for priors={model.priors.tolist()}: learner {learner!r} "
                f"needs at least {need} samples per class"
            )
        return
    kept = pruning.planned_counts(n0, n - n0)
    if kept is not None and kept.min() < need:
        raise ValueError(
            f"n={n} is too small for {pruning.describe()}: class counts {[int(n0), int(n - n0)]} keep "
            f"{kept.tolist()} samples, and learner {learner!r} needs at least {need} per class"
        )


def _simulate_chunks(rng, model, n, n0_all, pruning, learner, l2, class_counts):
    """Thresholds and kept counts of every trial, ``_CHUNK_ELEMENTS // n`` trials at a time."""
    trials, need = n0_all.shape[0], MIN_PER_CLASS[learner]
    chunk = max(1, _CHUNK_ELEMENTS // n)
    state = {}
    thresholds = np.empty(trials)
    kept_counts = np.empty((trials, 2), dtype=np.int64)
    for start in range(0, trials, chunk):
        n0 = n0_all[start : start + chunk]
        x = gaussian_draws(rng, model, (n0.shape[0], n), n0)
        valid = None if pruning is None else pruning.keep_mask(model, x, n0)
        if valid is None:
            k0, k1 = n0, n - n0
        else:
            k1 = (valid & class1_mask(n0, n)).sum(axis=1)
            k0 = valid.sum(axis=1) - k1
        kept_counts[start : start + chunk, 0] = k0
        kept_counts[start : start + chunk, 1] = k1
        bad = (k0 < need) | (k1 < need)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"n={n} is too small for pruning={pruning!r} with class_counts={class_counts!r}: "
                f"{int(bad.sum())} trial(s) in this batch keep fewer than {need} sample(s) of a class "
                f"(e.g. kept counts {[int(k0[i]), int(k1[i])]}), which learner {learner!r} needs"
            )
        thresholds[start : start + chunk] = learn_thresholds(learner, x, n0, valid, l2, state)
    return thresholds, kept_counts


def simulate(
    model,
    n,
    pruning=None,
    learner="erm",
    trials=1000,
    seed=0,
    class_counts="exact",
    logistic_l2=1e-4,
    max_memory=MAX_MEMORY,
) -> SimulationResult:
    r"""Monte Carlo over training sets of the class risks of a threshold learned after pruning.

    Each trial draws :math:`n` points from ``model`` (class counts :math:`n_k=n\phi_k` rounded by
    largest remainder for ``class_counts="exact"``, :math:`n_0\sim\mathrm{Binomial}(n,\phi_0)` for
    ``"multinomial"``), applies ``pruning`` (:mod:`gaussian_theory.pruning`), fits ``learner``
    (:mod:`gaussian_theory.learners`) and records :math:`R_k(\hat t)` from the closed form
    ``model.class_risks`` -- exact population risks, so the only randomness is the training set.

    Parameters
    ----------
    model : TwoGaussians
        The population model.
    n : int
        Training-set size before pruning (>= 2).
    pruning : RandomPruning or SSPPruning or ScorePruning or None
        The pruning rule; ``None``: no pruning.
    learner : str
        How the threshold is learned from the kept samples: ``"plugin"``, ``"erm"`` or
        ``"logistic"``.
    trials : int
        Number of independent training sets.
    seed : int or numpy.random.Generator
        Seed of all randomness (a Generator is consumed); default 0.
    class_counts : str
        Class counts of a training set: ``"exact"``, ``n * priors`` rounded by largest remainder,
        or ``"multinomial"``, a binomial draw.
    logistic_l2 : float
        Ridge :math:`\lambda\ge0` on the standardised slope of ``"logistic"``.
    max_memory : int
        Cap in bytes on the estimated working memory (default 4 GiB); larger calls are
        refused before any work (one training set is held whole, about 64 bytes per sample for
        ``plugin``/``erm`` and 128 for ``logistic``, at least :math:`2^{18}` samples per chunk).

    Raises
    ------
    ValueError
        if any trial keeps fewer samples of a class than the learner needs (2 for ``plugin``,
        1 otherwise): ``n`` is too small for the densities; or if the call would need more than
        ``max_memory`` bytes.

    Examples
    --------
    >>> m = TwoGaussians((0, 6), (1, 2), (0.5, 0.5))
    >>> r = simulate(m, 1600, RandomPruning((1/3, 2/3)), learner="plugin", trials=100, seed=0)
    >>> r.class_risks.shape
    (100, 2)
    >>> bool(np.all(np.abs(r.mean_class_risks - m.pruned_risks((1/3, 2/3))) < 4 * r.se_class_risks))
    True
    """
    model = _check_model(model)
    n = _check_count(n, "n", 2)
    trials = _check_count(trials, "trials", 1)
    learner = check_option(learner, "learner", LEARNERS)
    class_counts = check_option(class_counts, "class_counts", CLASS_COUNTS)
    l2 = _check_l2(logistic_l2)
    check_pruning(pruning, model)
    _check_memory(
        max(n, _CHUNK_ELEMENTS) * _BYTES_PER_ELEMENT[learner] + trials * _BYTES_PER_TRIAL, max_memory,
        f"simulate(n={n}, trials={trials}, learner={learner!r})",
    )
    rng = as_generator(seed)
    if class_counts == "exact":
        n0_all = np.full(trials, _exact_class_counts(model, n)[0], dtype=np.int64)
    else:
        n0_all = rng.binomial(n, model.priors[0], size=trials).astype(np.int64)
    _check_planned_counts(model, n, pruning, class_counts, int(n0_all[0]), learner, MIN_PER_CLASS[learner])
    thresholds, kept_counts = _simulate_chunks(rng, model, n, n0_all, pruning, learner, l2, class_counts)
    risks = model.class_risks(thresholds)
    return SimulationResult(
        class_risks=risks,
        thresholds=thresholds,
        average_risks=risks @ model.priors,
        worst_class_risks=risks.max(axis=1),
        kept_counts=kept_counts,
        n=n,
        learner=learner,
        pruning=pruning,
        class_counts=class_counts,
        model=model,
    )


# ----------------------------------------------------------------------------- population limits
def population_limit(model, pruning=None, learner="erm", logistic_l2=1e-4) -> np.ndarray:
    r"""Class risks of the :math:`n\to\infty` limit of ``simulate(model, n, pruning, learner)``.

    * no pruning or :class:`RandomPruning`, learners ``"plugin"``/``"erm"``: both are consistent for
      the average-risk minimiser of the pruned distribution, :math:`t^*(d_0\phi_0/d_1\phi_1)`, so the
      limit is ``model.pruned_risks(densities)``;
    * the same pruning with ``"logistic"``: :func:`population_logistic_threshold` of ``model.prune(d)``;
    * :class:`SSPPruning` with ``"erm"``: ``model.ssp_prune(margin).class_risks`` (the ERM minimises the
      truncated mixture's empirical risk).

    Other combinations have no closed form here and raise ``NotImplementedError``.
    """
    model = _check_model(model)
    learner = check_option(learner, "learner", LEARNERS)
    l2 = _check_l2(logistic_l2)
    check_pruning(pruning, model)
    if pruning is None or isinstance(pruning, RandomPruning):
        d = (1.0, 1.0) if pruning is None else pruning.densities
        if learner == "logistic":
            return model.class_risks(population_logistic_threshold(model.prune(d), l2=l2))
        return model.pruned_risks(d)
    if isinstance(pruning, SSPPruning) and learner == "erm":
        return np.asarray(model.ssp_prune(pruning.margin).class_risks)
    raise NotImplementedError(f"no population limit for pruning={pruning!r} with learner={learner!r}")
