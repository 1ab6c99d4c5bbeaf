r"""Predicted per-class recalls after random within-class pruning, from a query model's held-out
validation logits (README, "Finite samples, many classes, real features").

DRoP (arXiv 2404.05579) keeps a fraction :math:`d_k` of class :math:`k` (size :math:`N_k`), chosen from
the query model's validation recalls, and prunes randomly within classes. Before paying for training,
three models predict the recall :math:`r_k(d)` of every class after such a pruning:

* :func:`prior_shift_recalls` -- the **population prior shift** applied to the real logits. Random
  within-class pruning changes nothing but the class priors, :math:`\pi_k\to\pi_kd_k/\sum_j\pi_jd_j`;
  a model trained to the Bayes rule then adds :math:`\log d_k` to its class-:math:`k` score, so with
  :math:`z_i\in\mathbb R^K` the query model's logits of validation sample :math:`i`,

  .. math:: \hat r_k(d)=\frac1{|I_k|}\sum_{i\in I_k}\Big[\arg\max_j\,(z_{ij}+\log d_j)=k\Big],
     \qquad I_k=\{i:y_i=k\},

  ties to the lower index, :math:`\log0=-\infty` (a class kept at :math:`d_k=0` is never predicted).
  Equal :math:`d_k` give the query model's own recalls exactly.
* :func:`surrogate_prior_shift_recalls` -- the same shift on the calibrated tied Gaussian surrogate of
  the logits (:func:`gaussian_theory.query_allocation.query_surrogate`: Ledoit--Wolf tied covariance,
  class-mean separations scaled so the surrogate's accuracy equals the logits' own): the recalls
  :math:`1-R_k(w(d))` of its Bayes rule at pruned priors :math:`w_k(d)\propto N_kd_k`, by Monte Carlo
  (``GaussianMixture.pruned_risks``) -- a smoothed version of the first, no longer limited by the
  validation samples' granularity.
* :func:`finite_sample_recalls` -- the **finite-sample** model: the learner is refitted on
  :math:`n_k=\mathrm{round}(d_kN_k)` points per class drawn from the surrogate, so classes kept with few
  samples get a noisier fit. The learner is plug-in LDA (class means, pooled covariance, priors
  :math:`\propto n_k`) in the surrogate's K-dimensional logit space.

Limits (measured by ``droplab empirical check-predictions``): all three model the final network as the
query network with other priors (or other LDA estimates on its logits); none models how a deep
network's *representation* degrades when a class keeps fewer samples, which on MNIST-1D dominated
the change after DRoP pruning (issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .apportionment import round_half_up
from .intervals import class_recalls
from .mixture import GaussianMixture, RiskEstimate
from .montecarlo import check_n_mc, integer_seed
from .query_allocation import check_logits_labels, check_sizes_for, query_surrogate
from .validation import (
    MAX_MEMORY,
    as_generator,
    check_class_densities,
    check_int,
    check_memory,
    check_seed,
    derive_seed,
)

__all__ = ["prior_shift_recalls", "prior_shift_predictions", "surrogate_prior_shift_recalls",
           "finite_sample_recalls", "FiniteSampleRecalls", "predict_recalls", "RecallPrediction",
           "logit_recalls", "check_finite_sample_memory"]

_CHUNK_BYTES = 64 * 2**20


# ----------------------------------------------------------------------------- validation helpers
def _check_densities(densities, k: int, name: str = "densities") -> np.ndarray:
    """One kept fraction per class in [0, 1], not all 0
    (:func:`gaussian_theory.validation.check_class_densities`)."""
    return check_class_densities(densities, np.full(k, 1.0 / k), name)


def _surrogate(model, labels, class_sizes, seed) -> GaussianMixture:
    """``model`` if it is a mixture, else the :func:`query_surrogate` of logits ``model``."""
    if isinstance(model, GaussianMixture):
        if labels is not None:
            raise ValueError("labels are for logits; model is already a GaussianMixture surrogate")
        return model
    if labels is None:
        raise ValueError("model must be a GaussianMixture surrogate, or (n, K) logits together with labels")
    z, y = check_logits_labels(model, labels)
    sizes = check_sizes_for(class_sizes, z.shape[1])
    return query_surrogate(z, y, sizes, seed=derive_seed(integer_seed(seed), "surrogate"))


# ----------------------------------------------------------------------------- (a) prior shift
def logit_recalls(logits, labels) -> np.ndarray:
    r"""The recalls of the logits themselves, :math:`\frac1{|I_k|}\sum_{i\in I_k}[\arg\max_jz_{ij}=k]`
    (ties to the lower index)."""
    z, y = check_logits_labels(logits, labels)
    return class_recalls(np.argmax(z, axis=1), y, z.shape[1])




def prior_shift_recalls(logits, labels, densities) -> np.ndarray:
    r"""Per-class recalls predicted by the population prior shift on the real logits (module docstring):
    :math:`\hat r_k(d)=|I_k|^{-1}\sum_{i\in I_k}[\arg\max_j(z_{ij}+\log d_j)=k]`.

    ``logits``: (n, K) held-out validation logits of the query model (trained on the full data);
    ``labels``: (n,) integers in ``0..K-1``, every class present; ``densities``: (K,) kept fractions
    :math:`d_k\in[0,1]`, not all 0. The shift used is :math:`\log(d_k/\max_jd_j)` (the same rule), so
    equal densities reproduce the query model's recalls bit for bit.

    >>> z = np.array([[2.0, 1.0], [1.0, 2.0], [1.5, 1.0], [1.0, 1.2]])
    >>> prior_shift_recalls(z, [0, 1, 0, 1], [1.0, 1.0]).tolist()
    [1.0, 1.0]
    >>> prior_shift_recalls(z, [0, 1, 0, 1], [1.0, 0.5]).tolist()  # log 0.5 = -0.69 flips the last sample
    [1.0, 0.5]
    """
    z, y = check_logits_labels(logits, labels)
    return class_recalls(prior_shift_predictions(z, densities), y, z.shape[1])


def prior_shift_predictions(logits, densities) -> np.ndarray:
    r"""The classes predicted after the prior shift, :math:`\arg\max_j(z_{ij}+\log(d_j/\max_ld_l))`:
    one integer per row of ``logits`` (n, K); a class of density 0 is never predicted
    (:func:`prior_shift_recalls` counts them per class).

    >>> prior_shift_predictions([[2.0, 1.0], [1.0, 1.2]], [1.0, 0.5]).tolist()
    [0, 0]
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"logits must be a 2-D array (n, K), got shape {z.shape}")
    d = _check_densities(densities, z.shape[1])
    with np.errstate(divide="ignore"):
        shift = np.log(d / d.max())
    return np.argmax(z + shift, axis=1)


def surrogate_prior_shift_recalls(model, densities, *, labels=None, class_sizes=None, n_mc=20_000,
                                  seed=0) -> RiskEstimate:
    r"""Recalls of the calibrated tied surrogate's Bayes rule after the prior shift,
    :math:`1-R_k(w(d))` with :math:`w_k(d)=\pi_kd_k/\sum_j\pi_jd_j` (``GaussianMixture.pruned_risks``;
    ``n_mc`` Monte Carlo draws per class; the returned :class:`RiskEstimate` has ``.recalls`` and
    binomial standard errors ``.se``).

    ``model``: a :class:`GaussianMixture` (its priors :math:`\pi_k` should be the training class
    proportions :math:`N_k/N`), or (n, K) validation logits with ``labels`` and ``class_sizes``, from
    which :func:`~gaussian_theory.query_allocation.query_surrogate` fits it.
    """
    gm = _surrogate(model, labels, class_sizes, seed)
    d = _check_densities(densities, gm.n_classes)
    check_int(n_mc, "n_mc", minimum=2)
    return gm.pruned_risks(d, n_mc=n_mc, seed=derive_seed(integer_seed(seed), "prior-shift"))


# ----------------------------------------------------------------------------- (b) finite samples
@dataclass(frozen=True)
class FiniteSampleRecalls:
    r"""Result of :func:`finite_sample_recalls`: ``recalls`` (K,) the mean over trials, ``se`` (K,) their
    standard errors (standard deviation over trials :math:`/\sqrt T`, covering both the training-sample
    and the evaluation Monte Carlo noise), ``per_trial`` (T, K), the training ``counts`` :math:`n_k`,
    ``trials`` T and ``n_eval`` (evaluation draws per class and trial)."""

    recalls: np.ndarray
    se: np.ndarray
    per_trial: np.ndarray
    counts: np.ndarray
    trials: int
    n_eval: int

    @property
    def worst(self) -> int:
        """Index of the class with the lowest predicted recall."""
        return int(np.argmin(self.recalls))


def _wishart(chol, df: int, trials: int, rng) -> np.ndarray:
    r"""``trials`` draws of :math:`\sum_{i=1}^{df}g_ig_i^\top`, :math:`g_i\sim\mathcal N(0,LL^\top)`
    (the scatter of ``df + 1`` Gaussian points about their mean): Bartlett's decomposition when
    ``df >= p``, the explicit sum otherwise."""
    p = chol.shape[0]
    if df <= 0:
        return np.zeros((trials, p, p))
    if df < p:
        g = rng.standard_normal((trials, df, p)) @ chol.T
        return np.einsum("tip,tiq->tpq", g, g)
    a = np.zeros((trials, p, p))
    il = np.tril_indices(p, -1)
    a[:, il[0], il[1]] = rng.standard_normal((trials, il[0].size))
    idx = np.arange(p)
    a[:, idx, idx] = np.sqrt(rng.chisquare(df - idx, size=(trials, p)))
    la = chol @ a
    return la @ np.swapaxes(la, 1, 2)


def check_finite_sample_memory(k: int, p: int, trials: int, n_eval: int, max_memory=MAX_MEMORY) -> None:
    r"""Refuse, before any work, a :func:`finite_sample_recalls` whose working memory would exceed
    ``max_memory`` bytes: per trial the drawn class means, scatter and pooled covariances, the LDA
    coefficients and projections (about :math:`8(6p^2+4Kp+4K)` bytes), plus the evaluation draws of at
    least one trial (:math:`16\,n_{eval}(p+K)` bytes, else a 64 MiB chunk)."""
    needed = 8.0 * trials * (6 * p * p + 4 * k * p + 4 * k) + max(_CHUNK_BYTES, 16.0 * n_eval * (p + k))
    check_memory(needed, max_memory, f"trials={trials} finite-sample trials of {k} classes in {p} dimensions "
                 f"(n_eval={n_eval})", hint="lower trials or n_eval")


def finite_sample_recalls(model, class_sizes, densities, *, labels=None, trials=20, n_eval=10_000,
                          seed=0, max_memory=MAX_MEMORY) -> FiniteSampleRecalls:
    r"""Per-class recalls after pruning, predicted by refitting a learner on a finite pruned sample of
    the Gaussian surrogate and averaging over ``trials`` training samples.

    In each trial, :math:`n_k=\mathrm{round}(d_kN_k)` (halves up) training points of class :math:`k` are
    drawn from the surrogate :math:`\mathcal N(\mu_k,\Sigma_k)` and the **plug-in LDA** learner is
    fitted: class means :math:`\hat\mu_k`, pooled within-class covariance
    :math:`\hat\Sigma=\frac1{n-K'}\sum_k\sum_{i:y_i=k}(x_i-\hat\mu_k)(x_i-\hat\mu_k)^\top`
    (:math:`n=\sum_kn_k`, :math:`K'` the classes with :math:`n_k\ge1`), priors
    :math:`\hat\pi_k=n_k/n`; it predicts
    :math:`\arg\max_j\big[x^\top\hat\Sigma^{-1}\hat\mu_j-\tfrac12\hat\mu_j^\top\hat\Sigma^{-1}\hat\mu_j
    +\log\hat\pi_j\big]` (a class with :math:`n_j=0` is never predicted; ties to the lower index). Its
    recall of class :math:`k` is then estimated on ``n_eval`` fresh draws of class :math:`k` of the
    surrogate. The sufficient statistics are drawn exactly, not the points:
    :math:`\hat\mu_k\sim\mathcal N(\mu_k,\Sigma_k/n_k)` and the class-:math:`k` scatter
    :math:`\sim\mathrm{Wishart}(\Sigma_k,n_k-1)` independently (Bartlett's decomposition), so a trial
    costs the same for any :math:`N_k`. As :math:`n_k\to\infty` the learner tends to the Bayes rule at
    priors :math:`\propto d_kN_k`: the recalls tend to :func:`surrogate_prior_shift_recalls`.

    ``model``: a :class:`GaussianMixture` surrogate, or (n, K) validation logits with ``labels`` (the
    calibrated tied surrogate :func:`~gaussian_theory.query_allocation.query_surrogate` is fitted on
    them). ``class_sizes``: the K training class sizes :math:`N_k` (integers); ``densities``: (K,) in
    [0, 1]. ``seed``: an int or a ``numpy.random.Generator`` (one stream for everything).
    ``max_memory``: cap in bytes (default 4 GiB) on the working memory
    (:func:`check_finite_sample_memory`), checked before any work; ``n_eval`` at most 10**8.

    Raises ``ValueError`` when fewer than :math:`p+K'` points are kept in all (the pooled covariance of
    p features would be singular), and for malformed arguments.
    """
    check_seed(seed)
    trials = check_int(trials, "trials", minimum=1)
    n_eval = check_n_mc(n_eval, "n_eval", minimum=1)
    check_int(max_memory, "max_memory", minimum=1)
    if isinstance(model, GaussianMixture):
        check_finite_sample_memory(model.n_classes, model.dim, trials, n_eval, max_memory)
    elif np.ndim(model) == 2:  # logits: the surrogate lives in their K dimensions
        k_logits = int(np.shape(model)[1])
        check_finite_sample_memory(k_logits, k_logits, trials, n_eval, max_memory)
    rng = as_generator(seed)
    gm = _surrogate(model, labels, class_sizes, rng)
    k, p = gm.n_classes, gm.dim
    sizes = check_sizes_for(class_sizes, k)
    d = _check_densities(densities, k)
    counts = round_half_up(d * sizes)
    present = counts > 0
    if not present.any():
        raise ValueError(f"densities x class_sizes keep no sample (counts {counts.tolist()})")
    n, kp = int(counts.sum()), int(present.sum())
    if n - kp < p:
        raise ValueError(f"the pruned sample keeps {n} points in {kp} classes: the pooled covariance of the "
                         f"{p} features needs n - K' >= {p}; keep more samples (counts {counts.tolist()})")
    chol = gm._chol
    # ---- fit: exact draws of the sufficient statistics, vectorised over trials
    mu_hat = np.zeros((trials, k, p))
    scatter = np.zeros((trials, p, p))
    for c in np.flatnonzero(present):
        nc = int(counts[c])
        mu_hat[:, c] = gm.means[c] + rng.standard_normal((trials, p)) @ chol[c].T / np.sqrt(nc)
        scatter += _wishart(chol[c], nc - 1, trials, rng)
    cov_hat = scatter / (n - kp)
    coef = np.linalg.solve(cov_hat, np.swapaxes(mu_hat, 1, 2))  # (T, p, K): Sigma^-1 mu_j
    with np.errstate(divide="ignore"):
        log_prior = np.log(counts / n)
    bias = -0.5 * np.einsum("tkp,tpk->tk", mu_hat, coef) + log_prior  # (T, K); -inf for absent classes
    # ---- evaluate on fresh draws of the surrogate, in memory-bounded chunks of trials
    per_trial = np.empty((trials, k))
    step = max(1, _CHUNK_BYTES // (8 * n_eval * (p + k)))
    for c in range(k):
        # scores of x = mu_c + L_c g: g @ (L_c^T A_t) + (mu_c A_t + b_t), A_t = Sigma_t^-1 mu_t
        proj = np.einsum("qp,tqk->tpk", chol[c], coef)
        offset = gm.means[c] @ coef + bias  # (T, K)
        for t0 in range(0, trials, step):
            t1 = min(trials, t0 + step)
            g = rng.standard_normal((t1 - t0, n_eval, p))
            pred = np.argmax(g @ proj[t0:t1] + offset[t0:t1, None, :], axis=2)
            per_trial[t0:t1, c] = np.mean(pred == c, axis=1)
    se = per_trial.std(axis=0, ddof=1) / np.sqrt(trials) if trials > 1 else np.full(k, np.nan)
    return FiniteSampleRecalls(recalls=per_trial.mean(axis=0), se=se, per_trial=per_trial, counts=counts,
                               trials=trials, n_eval=n_eval)


# ----------------------------------------------------------------------------- all predictors at once
@dataclass(frozen=True)
class RecallPrediction:
    r"""All predictors for one allocation (:func:`predict_recalls`): ``densities`` :math:`d_k`,
    ``prior_shift`` (on the logits), ``surrogate`` and ``surrogate_se`` (prior shift on the surrogate),
    ``finite_sample`` and ``finite_sample_se`` (LDA refitted on :math:`n_k=\mathrm{round}(d_kN_k)`
    surrogate samples)."""

    densities: np.ndarray
    prior_shift: np.ndarray
    surrogate: np.ndarray
    surrogate_se: np.ndarray
    finite_sample: np.ndarray
    finite_sample_se: np.ndarray


def predict_recalls(logits, labels, class_sizes, allocations, *, surrogate=None, trials=20, n_eval=10_000,
                    n_mc=20_000, seed=0, max_memory=MAX_MEMORY) -> dict:
    r"""Every predictor of this module for several allocations of one query model: returns
    ``{name: RecallPrediction}`` for ``allocations`` a dict ``{name: (K,) densities}``.

    The surrogate (:func:`~gaussian_theory.query_allocation.query_surrogate` of the logits, priors
    :math:`N_k/N`) is fitted once, unless given as ``surrogate``. Seeds are derived from ``seed``: the
    surrogate's prior shift uses the same draws for every allocation (common random numbers), the
    finite-sample model a stream per allocation name. ``max_memory`` bounds the finite-sample
    model's working memory (:func:`check_finite_sample_memory`), checked before the surrogate is fitted.
    """
    z, y = check_logits_labels(logits, labels)
    sizes = check_sizes_for(class_sizes, z.shape[1])
    base = integer_seed(seed)
    if not isinstance(allocations, dict) or not allocations:
        raise TypeError(f"allocations must be a non-empty dict {{name: densities}}, got {allocations!r}")
    check_finite_sample_memory(z.shape[1], z.shape[1], check_int(trials, "trials", minimum=1),
                               check_n_mc(n_eval, "n_eval", minimum=1), max_memory)
    check_n_mc(n_mc)
    gm = _surrogate(z, y, sizes, base) if surrogate is None else surrogate
    if not isinstance(gm, GaussianMixture) or gm.n_classes != z.shape[1]:
        raise ValueError(f"surrogate must be a GaussianMixture with {z.shape[1]} classes, got {gm!r}")
    out = {}
    sur_seed = derive_seed(base, "surrogate")  # common random numbers for every allocation
    for name, dens in allocations.items():
        d = _check_densities(dens, z.shape[1], f"allocations[{name!r}]")
        sur = surrogate_prior_shift_recalls(gm, d, n_mc=n_mc, seed=sur_seed)
        fin = finite_sample_recalls(gm, sizes, d, trials=trials, n_eval=n_eval,
                                    seed=derive_seed(base, "finite", name), max_memory=max_memory)
        out[name] = RecallPrediction(densities=d, prior_shift=prior_shift_recalls(z, y, d),
                                     surrogate=sur.recalls, surrogate_se=sur.se, finite_sample=fin.recalls,
                                     finite_sample_se=fin.se)
    return out
