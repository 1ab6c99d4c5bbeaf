r"""A recall predictor learned from training runs: class counts -> every class's recall, with an interval.

The prior shift on a query model's logits (:func:`gaussian_theory.recall_prediction.prior_shift_recalls`)
predicts near-uniform allocations well and is blind to what decides extreme ones: a network learns a
class kept with a few hundred images far worse than the query network, and a class small among large
ones loses more to its confusion partners than a population prior shift says (README, "Do the predicted
recalls after pruning hold"). This module fits those effects on training runs -- pilots a practitioner
trains before allocating -- in the manner of the data-mixing laws (RegMix, Aioli): a predictor of the
outcome from the allocation, fitted on cheap runs and judged on held-out allocations.

Model. For a run that keeps :math:`n_k` of the :math:`N_k` samples of class :math:`k` (densities
:math:`d_k=n_k/N_k`, totals :math:`n=\sum_kn_k`, :math:`N=\sum_kN_k`), the validation recall of class
:math:`k` is modelled as

.. math::

   \operatorname{logit} r_k(n) = \operatorname{logit} \mathrm{PS}_k(d;\gamma) + a_k
     + (b + b_k)\log\frac{n_k}{N_k} + c\log\frac{n}{N},

* :math:`\mathrm{PS}_k(d;\gamma)` -- the confusion-aware imbalance term: the recall of class :math:`k`
  on the query model's validation logits :math:`z_i` under :math:`\arg\max_j(z_{ij}+\gamma\log d_j)`.
  A class loses to the partners its samples are confused with, in proportion to their relative sizes;
  :math:`\gamma=1` is the population prior shift, :math:`\gamma>1` a network that trades classes more
  steeply than the shift;
* :math:`a_k` -- the final network's per-class offset from the query network;
* :math:`b+b_k` -- the per-class learning curve in its own count (a shared slope plus per-class
  deviations shrunk towards 0);
* :math:`c` -- the total-n term.

With no runs every coefficient is 0 and :math:`\gamma=1`: the predictor **is** the prior shift.
The coefficients are the maximum a posteriori fit to the measured validation recalls of the runs
(least squares on the recall scale, noise SD ``noise_sd``, independent Gaussian priors: SD 2 on
:math:`a_k, b, c`, 0.5 on :math:`b_k`; :math:`\gamma` profiled over a grid with a Gaussian prior of SD 1
around 1), so the fit is deterministic. Intervals: the fit is repeated on bootstrap resamples of the
runs (model uncertainty), and the residual run-to-run scatter on the logit scale is added (a new run's
own noise); with fewer than 3 runs the scatter is the binomial error of the validation recall. The
interval is symmetric on the logit scale around the point prediction (one-sided at a point of 0 or 1),
which it always contains (:meth:`RecallModel.predict`).

Only the validation half's recalls are used (the test half stays for judging).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit, logit

from .allocation import _warn_few as warn_few_samples
from .allocation import check_class_sizes, counts_from_densities, drop_densities
from .apportionment import total_kept
from .intervals import class_recalls
from .montecarlo import integer_seed
from .pilot_runs import PilotRun, QueryLogits
from .validation import as_generator, check_density, check_int, check_real, derive_seed

# QueryLogits, PilotRun and the readers of runs: gaussian_theory.pilot_runs
__all__ = ["RecallModel", "RecallForecast", "fit_recall_model", "imbalance_recalls", "learned_allocation",
           "expected_min_recall", "pilot_design", "GAMMAS"]

#: The grid over which the imbalance strength gamma is profiled.
GAMMAS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)

_PRIOR_SD = {"offset": 2.0, "slope": 2.0, "class_slope": 0.5, "total": 2.0, "gamma": 1.0}

#: Most bootstrap refits :func:`fit_recall_model` accepts: each is one fit per gamma of the grid (a
#: 95% interval from a bootstrap SD needs a few hundred; 10,000 take hours on CIFAR-sized runs).
MAX_N_BOOT = 10_000

#: Most staircase pilots :func:`pilot_design` designs (each is a training run; a study uses two).
MAX_STAIRCASES = 1_000


# ----------------------------------------------------------------------------- inputs
def imbalance_recalls(query: QueryLogits, counts, gamma: float = 1.0) -> np.ndarray:
    r"""The confusion-aware imbalance term :math:`\mathrm{PS}_k(d;\gamma)`: the recall of each class on
    the query model's validation logits under :math:`\arg\max_j(z_{ij}+\gamma\log(d_j/\max d))`,
    :math:`d=n/N` (ties to the lower index; a class with no samples kept is never predicted). With
    ``gamma=1`` it equals :func:`gaussian_theory.recall_prediction.prior_shift_recalls`.

    ``counts``: K non-negative integers, not all 0 (a run keeps some data); ``gamma``: a finite number
    > 0. Anything else is a ``ValueError``/``TypeError`` naming the argument."""
    if not isinstance(query, QueryLogits):
        raise TypeError(f"query must be a QueryLogits, got {type(query).__name__}")
    c = check_class_sizes(counts, "counts")
    if c.size != query.n_classes:
        raise ValueError(f"counts must have one entry per class of the query model ({query.n_classes}), "
                         f"got {c.size}: {c.tolist()}")
    gamma = check_real(gamma, "gamma", minimum=0.0, strict_minimum=True)
    counts = c.astype(float)
    d = counts / query.class_sizes
    with np.errstate(divide="ignore"):
        shift = gamma * np.log(d / d.max())
    return class_recalls(np.argmax(query.logits + shift, axis=1), query.labels, query.n_classes)


# ----------------------------------------------------------------------------- the model
def _clip(p: np.ndarray, n_eval: np.ndarray) -> np.ndarray:
    """Recalls moved off 0 and 1 by half a sample (the empirical logit's continuity correction)."""
    eps = 0.5 / (n_eval + 1.0)
    return np.clip(p, eps, 1.0 - eps)


def _design(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Rows (R, K, 2K + 2): one-hot offset a_k, shared slope b, class slopes b_k, total-n c."""
    r, k = counts.shape
    own = np.log(np.maximum(counts, 1) / sizes)                        # (R, K)
    tot = np.log(counts.sum(axis=1) / sizes.sum())                     # (R,)
    x = np.zeros((r, k, 2 * k + 2))
    eye = np.eye(k)
    x[:, :, :k] = eye
    x[:, :, k] = own
    x[:, :, k + 1:2 * k + 1] = eye * own[:, :, None]
    x[:, :, 2 * k + 1] = tot[:, None]
    return x


def _prior_scales(k: int) -> np.ndarray:
    return np.concatenate([np.full(k, _PRIOR_SD["offset"]), [_PRIOR_SD["slope"]],
                           np.full(k, _PRIOR_SD["class_slope"]), [_PRIOR_SD["total"]]])


def _fit_theta(base_logit: np.ndarray, x: np.ndarray, target: np.ndarray, noise_sd: float,
               scales: np.ndarray) -> tuple[np.ndarray, float]:
    """MAP coefficients for one gamma; returns (theta, objective)."""
    flat_x = x.reshape(-1, x.shape[-1])
    flat_b = base_logit.ravel()
    flat_t = target.ravel()

    def resid(th):
        return np.concatenate([(expit(flat_b + flat_x @ th) - flat_t) / noise_sd, th / scales])

    def jac(th):
        p = expit(flat_b + flat_x @ th)
        return np.vstack([flat_x * (p * (1 - p))[:, None] / noise_sd, np.diag(1.0 / scales)])

    sol = least_squares(resid, np.zeros(flat_x.shape[1]), jac=jac, method="trf", xtol=1e-10, ftol=1e-10,
                        gtol=1e-10, max_nfev=200)
    return sol.x, float(np.sum(sol.fun ** 2))


@dataclass(frozen=True)
class RecallForecast:
    """Predicted recalls ``recalls`` (K,) with the interval ``lower``, ``upper`` (K,) at ``level``, and
    ``logit_sd`` (K,), the predictive SD on the logit scale (model + run-to-run noise)."""

    recalls: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    logit_sd: np.ndarray
    level: float

    @property
    def worst(self) -> int:
        """The class predicted worst."""
        return int(np.argmin(self.recalls))

    def to_dict(self) -> dict:
        return {"recalls": self.recalls.tolist(), "lower": self.lower.tolist(), "upper": self.upper.tolist(),
                "logit_sd": self.logit_sd.tolist(), "level": self.level, "worst_class": self.worst}


@dataclass(frozen=True)
class RecallModel:
    """A fitted recall model (:func:`fit_recall_model`): ``gamma``, ``theta`` (the coefficients: K
    offsets, the shared slope, K class slopes, the total-n term), the bootstrap fits ``boot``
    (``(gamma, theta)`` pairs), ``noise_logit_sd`` (the run-to-run scatter on the logit scale, or None
    with fewer than 3 runs) and the ``query`` model predictions use by default."""

    gamma: float
    theta: np.ndarray
    boot: tuple
    noise_logit_sd: float | None
    query: QueryLogits
    n_runs: int

    @property
    def n_classes(self) -> int:
        return self.query.n_classes

    @property
    def _boot_arrays(self):
        """The distinct bootstrap gammas and the (B, P) stacked bootstrap coefficients."""
        return tuple(sorted({g for g, _ in self.boot})), np.stack([th for _, th in self.boot])

    @property
    def _boot_gamma_index(self) -> np.ndarray:
        gammas = self._boot_arrays[0]
        return np.array([gammas.index(g) for g, _ in self.boot])

    def _check_counts(self, counts) -> np.ndarray:
        c = check_class_sizes(counts, "counts")
        if c.size != self.n_classes or (c > self.query.class_sizes).any() or c.sum() < 1:
            raise ValueError(f"counts must be {self.n_classes} integers in [0, class_sizes "
                             f"{self.query.class_sizes.tolist()}], not all 0, got {c.tolist()}")
        return c

    def _logit_mean(self, counts: np.ndarray, gamma: float, theta: np.ndarray, query: QueryLogits):
        ps = imbalance_recalls(query, counts, gamma)
        eta = _design(counts[None].astype(float), query.class_sizes.astype(float))[0] @ theta
        return ps, eta

    def point(self, counts, query: QueryLogits | None = None) -> np.ndarray:
        """The point prediction (K,); with no runs fitted, exactly the prior shift."""
        q = query or self.query
        c = self._check_counts(counts)
        ps, eta = self._logit_mean(c, self.gamma, self.theta, q)
        out = ps.copy()
        moved = eta != 0
        out[moved] = expit(logit(_clip(ps, q.class_counts))[moved] + eta[moved])
        return out

    def predict(self, counts, query: QueryLogits | None = None, level: float = 0.95) -> RecallForecast:
        """Predicted recalls of a run keeping ``counts`` per class, with a ``level`` interval.

        The interval is ``expit(l -+ z sd)`` around the logit ``l`` of the point prediction itself (the
        continuity correction of :func:`_clip` acts on the imbalance term inside the model, never on the
        prediction again), and the bootstrap SD is taken over the bootstrap fits' logits on that same
        scale, so the interval always contains its point. A point of exactly 0 or 1 (a class the prior
        shift recalls never or always, with no runs to move it) gets the one-sided interval reaching
        it, from the continuity-corrected logit."""
        level = check_real(level, "level", minimum=0.0, maximum=1.0, strict_minimum=True)
        q = query or self.query
        c = self._check_counts(counts)
        ps, eta = self._logit_mean(c, self.gamma, self.theta, q)
        moved = eta != 0
        x = logit(_clip(ps, q.class_counts)) + eta            # the logit a moved class's point is expit of
        point = ps.copy()                                     # = self.point(c, q), computed once
        point[moved] = expit(x[moved])
        inside = (point > 0) & (point < 1)
        with np.errstate(divide="ignore"):
            centre = np.where(inside, logit(np.where(inside, point, 0.5)),
                              np.where(moved, x, logit(_clip(point, q.class_counts))))
        var = np.zeros(self.n_classes)
        if len(self.boot) > 1:
            xd = _design(c[None].astype(float), q.class_sizes.astype(float))[0]         # (K, P)
            gammas, thetas = self._boot_arrays
            base = np.stack([logit(_clip(imbalance_recalls(q, c, g), q.class_counts)) for g in gammas])
            # every bootstrap fit at once: the (B, K) logits of their predicted recalls, on the point's
            # scale (base + eta, as in point(); not clipped again: a clip would collapse the spread of the
            # fits beyond it, and centre it elsewhere than the point)
            eta_b = base[self._boot_gamma_index] + thetas @ xd.T
            pb = expit(eta_b)
            ok = (pb > 0) & (pb < 1)                       # where expit rounds to 0 or 1: the logit itself
            boot = np.where(ok, logit(np.where(ok, pb, 0.5)), eta_b)
            var = boot.var(axis=0)
        if self.noise_logit_sd is not None:
            var = var + self.noise_logit_sd ** 2
        else:  # the binomial error of one validation recall
            p = _clip(point, q.class_counts)
            var = var + 1.0 / (q.class_counts * p * (1 - p))
        sd = np.sqrt(var)
        from scipy.stats import norm

        zq = norm.ppf(0.5 + level / 2)
        lower, upper = expit(centre - zq * sd), expit(centre + zq * sd)
        lower[point <= 0], upper[point >= 1] = 0.0, 1.0       # the one-sided interval of a point at 0 or 1
        # expit(logit(p)) can differ from p in its last bit: the interval holds its point exactly
        lower, upper = np.minimum(lower, point), np.maximum(upper, point)
        return RecallForecast(point, lower, upper, sd, level)


def fit_recall_model(runs, query: QueryLogits | None = None, *, gammas=GAMMAS, n_boot: int = 100,
                     noise_sd: float = 0.02, seed=0) -> RecallModel:
    """Fit the recall model (module docstring) to ``runs`` (:class:`PilotRun`, any number, 0 included).

    ``query``: the query model predictions use by default (default: the first run's); every run carries
    its own seed's query model, used for its imbalance term. ``n_boot``: bootstrap refits over runs for
    the intervals, at most :data:`MAX_N_BOOT`. Deterministic for a given ``seed``."""
    runs = list(runs)
    if not all(isinstance(r, PilotRun) for r in runs):
        raise TypeError("runs must be PilotRun objects (read_pilot_runs reads them from run JSONs)")
    if query is None:
        if not runs:
            raise ValueError("with no runs, pass the query model (query=QueryLogits(...)): the predictor is "
                             "then its prior shift")
        query = runs[0].query
    if not isinstance(query, QueryLogits):
        raise TypeError(f"query must be a QueryLogits, got {type(query).__name__}")
    n_boot = check_int(n_boot, "n_boot", minimum=0, maximum=MAX_N_BOOT)
    noise_sd = check_real(noise_sd, "noise_sd", minimum=0.0, strict_minimum=True)
    base_seed = integer_seed(seed)
    gammas = tuple(check_real(g, "gammas", minimum=0.0, strict_minimum=True) for g in gammas)
    k = query.n_classes
    if any(r.query.n_classes != k for r in runs):
        raise ValueError(f"every run must have {k} classes, as the query model")
    if not runs:
        return RecallModel(1.0, np.zeros(2 * k + 2), (), None, query, 0)
    counts = np.stack([r.counts for r in runs]).astype(float)
    sizes = query.class_sizes.astype(float)
    target = np.stack([r.recalls for r in runs])
    n_eval = np.stack([r.n_eval for r in runs])
    x = _design(counts, sizes)
    # the imbalance term of every run at every gamma, computed once (it does not depend on theta)
    base = {g: logit(_clip(np.stack([imbalance_recalls(r.query, r.counts, g) for r in runs]), n_eval))
            for g in gammas}
    scales = _prior_scales(k)

    def fit(idx):
        best = None
        for g in gammas:
            th, obj = _fit_theta(base[g][idx], x[idx], target[idx], noise_sd, scales)
            obj += ((g - 1.0) / _PRIOR_SD["gamma"]) ** 2
            if best is None or obj < best[2] - 1e-12:
                best = (g, th, obj)
        return best[0], best[1]

    all_idx = np.arange(len(runs))
    gamma, theta = fit(all_idx)
    rng = as_generator(derive_seed(base_seed, "recall-model-bootstrap"))
    boot = tuple(fit(rng.integers(0, len(runs), len(runs))) for _ in range(n_boot)) if len(runs) > 1 else ()
    noise = None
    if len(runs) >= 3:
        fitted = expit(base[gamma] + x @ theta)
        res = logit(_clip(target, n_eval)) - logit(_clip(fitted, n_eval))
        noise = float(1.4826 * np.median(np.abs(res - np.median(res))))
    return RecallModel(float(gamma), theta, boot, noise, query, len(runs))


# ----------------------------------------------------------------------------- the learned allocation
def expected_min_recall(forecast_fn, counts, draws: np.ndarray) -> float:
    """Noise-aware expected minimum over classes of the recalls: E[min_k R_k] with
    logit R_k ~ N(logit r_k, sd_k^2) independent, averaged over the fixed standard normal ``draws``
    (T, K) (common random numbers: a smooth, deterministic objective)."""
    fc = forecast_fn(counts)
    p = np.clip(fc.recalls, 1e-6, 1 - 1e-6)
    return float(np.mean(np.min(expit(logit(p) + draws * fc.logit_sd), axis=1)))


def learned_allocation(model: RecallModel, density: float, *, min_count: int = 0, n_draws: int = 2000,
                       seed=0, starts=("uniform", "drop"), max_rounds: int = 200) -> dict:
    """Class counts maximising the model's noise-aware expected minimum recall
    (:func:`expected_min_recall`) under ``sum n_k = round(d N)``, ``min_count <= n_k <= N_k``, as exact
    integers.

    Search: a pairwise-transfer pattern search over the counts (move ``step`` samples from one class
    to another while the objective improves; halve ``step`` when no move does), from each of
    ``starts`` (uniform, and DRoP on the model's predicted recalls of the uniform allocation); the best
    end point wins. Returns ``{"counts", "objective", "forecast", "start"}``."""
    density = check_density(density)
    sizes = model.query.class_sizes
    k = sizes.size
    budget = total_kept(int(sizes.sum()), density)
    min_count = check_int(min_count, "min_count", minimum=0)
    floors = np.minimum(sizes, min_count)
    if floors.sum() > budget:
        raise ValueError(f"min_count={min_count} needs {int(floors.sum())} samples, over the budget {budget}")
    n_draws = check_int(n_draws, "n_draws", minimum=1)
    draws = as_generator(derive_seed(integer_seed(seed), "learned-allocation")).standard_normal((n_draws, k))

    def objective(c):
        return expected_min_recall(model.predict, c, draws)

    with warnings.catch_warnings():  # the starting points' few-sample warnings: only the result's count
        warnings.simplefilter("ignore")
        uniform = counts_from_densities(np.full(k, density), sizes, density, min_count=min_count)
        candidates = {"uniform": uniform}
        if "drop" in starts:
            rec = model.point(uniform)
            candidates["drop"] = counts_from_densities(drop_densities(rec, sizes, density), sizes, density,
                                                       min_count=min_count)
    best = None
    for name, start in candidates.items():
        if name not in starts:
            continue
        c, val = _pattern_search(objective, start.astype(np.int64), sizes, floors, max_rounds)
        if best is None or val > best[1] + 1e-12:
            best = (c, val, name)
    c, val, name = best
    warn_few_samples(c, sizes)
    return {"counts": c, "objective": val, "forecast": model.predict(c), "start": name}


def _pattern_search(objective, c, sizes, floors, max_rounds):
    val = objective(c)
    step = max(int(c.sum()) // (4 * c.size), 1)
    rounds = 0
    while step >= 1 and rounds < max_rounds:
        rounds += 1
        best = None
        for i in range(c.size):          # take from i
            if c[i] - step < floors[i]:
                continue
            for j in range(c.size):      # give to j
                if i == j or c[j] + step > sizes[j]:
                    continue
                trial = c.copy()
                trial[i] -= step
                trial[j] += step
                v = objective(trial)
                if v > val + 1e-12 and (best is None or v > best[1]):
                    best = (trial, v)
        if best is None:
            step //= 2
        else:
            c, val = best
    return c, val


# ----------------------------------------------------------------------------- pilot design
def pilot_design(class_sizes, *, uniform=(0.1, 0.2), staircases: int = 2, small: float = 0.03,
                 large: float = 0.4, small_fraction: float = 0.3, seed=0) -> list[dict]:
    """The pilot runs to train before allocating, each ``{"label", "counts", "density", "images"}``:

    * a uniform run at each density of ``uniform`` (the class proportions kept;
      :func:`~gaussian_theory.allocation.uniform_counts`): the learning curve in n;
    * ``staircases`` imbalanced runs in which a ``small_fraction`` of the classes (a random choice per
      staircase, from ``seed``: permuted across seeds) keep the density ``small`` among the others at
      ``large``: what a class kept small among large ones loses to its confusion partners (the effect
      that decides extreme allocations and that uniform pilots cannot show).

    ``images`` is the run's number of training samples per epoch (multiply by the epochs for its
    price in training images). At most :data:`MAX_STAIRCASES` staircases."""
    from .allocation import uniform_counts

    sizes = check_class_sizes(class_sizes)
    k = sizes.size
    # every argument checked before any work
    n_stairs = check_int(staircases, "staircases", minimum=0, maximum=MAX_STAIRCASES)
    densities = [check_density(d, "uniform") for d in uniform]
    small = check_real(small, "small", minimum=0.0, maximum=1.0, strict_minimum=True)
    large = check_real(large, "large", minimum=small, maximum=1.0)
    n_small = max(1, int(round(check_real(small_fraction, "small_fraction", minimum=0.0, maximum=1.0)
                               * k)))
    rng = as_generator(derive_seed(integer_seed(seed), "pilot-design"))
    runs = []
    for d in densities:
        c = uniform_counts(sizes, d)
        runs.append({"label": f"uniform-{d:g}", "counts": c})
    for i in range(n_stairs):
        chosen = rng.permutation(k)[:n_small]
        dens = np.full(k, large)
        dens[chosen] = small
        runs.append({"label": f"stairs-{i + 1}", "counts": np.round(dens * sizes).astype(np.int64),
                     "small_classes": sorted(int(j) for j in chosen)})
    for r in runs:
        r["images"] = int(r["counts"].sum())
        r["density"] = r["images"] / int(sizes.sum())
    return runs
