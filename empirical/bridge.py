r"""Theory bridge: a Gaussian surrogate of the query model's penultimate-layer features.

Fit class-conditional Gaussians :math:`z\mid y=k\sim\mathcal N(\hat\mu_k,\hat\Sigma_k)` to the
features of the validation split (the data the measured recalls come from), with
:math:`\hat\Sigma_k=\hat\sigma_k^2I` (``"isotropic"``, :math:`\hat\sigma_k^2` = mean per-dimension
variance) or :math:`\mathrm{diag}(\hat\sigma_{k1}^2,\dots)` (``"diagonal"``). The surrogate predicts
the recalls of the query model's own linear head :math:`\hat y=\arg\max_j(Wz+b)_j` under those
Gaussians, :math:`\hat r_k=P_{z\sim\mathcal N(\hat\mu_k,\hat\Sigma_k)}(\hat y(z)=k)` (Monte Carlo),
and the pipeline records the DRoP allocation those recalls imply next to the measured one.

The fit is :func:`gaussian_theory.surrogate.fit_gaussian_surrogate` (maximum likelihood with a
small variance floor); the recalls of the fitted mixture's own Bayes rule,
``GaussianMixture.recalls`` (Monte Carlo), are recorded too, as ``mixture_bayes_recalls``.
"""

from __future__ import annotations

import numpy as np

from gaussian_theory.surrogate import fit_gaussian_surrogate

__all__ = ["COVARIANCES", "head_recalls", "surrogate_report"]

COVARIANCES = ("isotropic", "diagonal")


def head_recalls(means, stds, weight, bias, n_per_class: int, rng: np.random.Generator) -> np.ndarray:
    r"""Monte-Carlo recalls of the linear head ``argmax(W z + b)`` when
    :math:`z\sim\mathcal N(\mu_k,\mathrm{diag}(s_k^2))`; ``stds`` is (K,) or (K, p)."""
    k, p = means.shape
    s = stds[:, None] if np.ndim(stds) == 1 else stds
    rec = np.empty(k)
    for c in range(k):  # K draws of (n, p): one vectorised block per class
        z = means[c] + rng.standard_normal((n_per_class, p)) * s[c]
        rec[c] = np.mean(np.argmax(z @ weight.T + bias, axis=1) == c)
    return rec


def surrogate_report(features, labels, num_classes: int, weight, bias, covariance: str = "isotropic",
                     n_per_class: int = 2000, seed: int = 0, n_bayes: int = 20000) -> dict:
    """Fit the surrogate and return what it predicts (JSON-ready)."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    gm = fit_gaussian_surrogate(np.asarray(features, dtype=float), np.asarray(labels), covariance=covariance)
    if gm.n_classes != num_classes:
        raise ValueError(f"the surrogate has {gm.n_classes} classes but num_classes = {num_classes}: "
                         "every class needs validation features")
    means = np.asarray(gm.means, dtype=float)
    stds = np.sqrt(np.diagonal(np.asarray(gm.covariances, dtype=float), axis1=-2, axis2=-1))  # (K, p)
    rng = np.random.default_rng(seed)
    return {
        "covariance": covariance,
        "method": "gaussian_theory.surrogate.fit_gaussian_surrogate",
        "fit_on": "validation features of the query model (init 0, best epoch)",
        "n_mc_per_class": n_per_class,
        "predicted_recalls": head_recalls(means, stds, np.asarray(weight, dtype=np.float64),
                                          np.asarray(bias, dtype=np.float64), n_per_class, rng).tolist(),
        "mixture_bayes_recalls": np.asarray(gm.recalls(n_mc=n_bayes, seed=seed), dtype=float).tolist(),
        "class_stds": np.sqrt((stds ** 2).mean(axis=1)).tolist(),
        "class_mean_norms": np.linalg.norm(means, axis=1).tolist(),
    }
