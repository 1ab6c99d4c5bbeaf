r"""Theory bridge: a Gaussian surrogate of the query model's penultimate-layer features.

Fit class-conditional Gaussians :math:`z\mid y=k\sim\mathcal N(\hat\mu_k,\hat\Sigma_k)` to the
features of the validation split (the data the measured recalls come from), with
:math:`\hat\Sigma_k=\hat\sigma_k^2I` (``"isotropic"``, :math:`\hat\sigma_k^2` = mean per-dimension
variance), :math:`\mathrm{diag}(\hat\sigma_{k1}^2,\dots)` (``"diagonal"``) or one Ledoit--Wolf shrunk
covariance shared by all classes (``"tied"``). The surrogate predicts
the recalls of the query model's own linear head :math:`\hat y=\arg\max_j(Wz+b)_j` under those
Gaussians, :math:`\hat r_k=P_{z\sim\mathcal N(\hat\mu_k,\hat\Sigma_k)}(\hat y(z)=k)` (Monte Carlo),
and the pipeline records the DRoP allocation those recalls imply next to the measured one.

The fit is :func:`gaussian_theory.surrogate.fit_gaussian_surrogate` (maximum likelihood with a
small variance floor); the recalls of the fitted mixture's own Bayes rule,
``GaussianMixture.recalls`` (Monte Carlo), are recorded too, as ``mixture_bayes_recalls``. With
``"tied"`` the report adds ``calibrated_recalls``: the tied surrogate's LDA recalls after its class-mean
separations are scaled (``calibration_scale``) so that its predicted accuracy equals the head's measured
validation accuracy (``gaussian_theory.surrogate_recalls.calibrate_separation``) -- on held-out data the
calibrated model predicts the recalls within a few hundredths of the measurement floor
(``droplab empirical surrogate-calibration``), where the uncalibrated ones over-predict by 0.1--0.25.
"""

from __future__ import annotations

import numpy as np

from gaussian_theory.options import COVARIANCES
from gaussian_theory.surrogate import fit_gaussian_surrogate
from gaussian_theory.surrogate_recalls import calibrate_separation, surrogate_risks

__all__ = ["COVARIANCES", "head_recalls", "surrogate_report"]


def head_recalls(means, stds, weight, bias, n_per_class: int, rng: np.random.Generator,
                 chol=None) -> np.ndarray:
    r"""Monte-Carlo recalls of the linear head ``argmax(W z + b)`` when
    :math:`z\sim\mathcal N(\mu_k,\mathrm{diag}(s_k^2))`; ``stds`` is (K,) or (K, p). With ``chol`` (a
    (p, p) lower Cholesky factor L, ``stds=None``): :math:`z\sim\mathcal N(\mu_k,LL^\top)` for every k."""
    k, p = means.shape
    if chol is None:
        s = stds[:, None] if np.ndim(stds) == 1 else stds
    rec = np.empty(k)
    for c in range(k):  # K draws of (n, p): one vectorised block per class
        e = rng.standard_normal((n_per_class, p))
        z = means[c] + (e * s[c] if chol is None else e @ np.asarray(chol).T)
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
    w, b = np.asarray(weight, dtype=np.float64), np.asarray(bias, dtype=np.float64)
    rng = np.random.default_rng(seed)
    tied = covariance == "tied"
    chol = np.linalg.cholesky(gm.covariances[0]) if tied else None
    out = {
        "covariance": covariance,
        "method": "gaussian_theory.surrogate.fit_gaussian_surrogate",
        "fit_on": "validation features of the query model (init 0, best epoch)",
        "n_mc_per_class": n_per_class,
        "predicted_recalls": head_recalls(means, None if tied else stds, w, b, n_per_class, rng,
                                          chol=chol).tolist(),
        "mixture_bayes_recalls": np.asarray(surrogate_risks(gm, n_mc=n_bayes, seed=seed).recalls,
                                            dtype=float).tolist(),
        "class_stds": np.sqrt((stds ** 2).mean(axis=1)).tolist(),
        "class_mean_norms": np.linalg.norm(means, axis=1).tolist(),
    }
    if tied:
        y = np.searchsorted(gm.class_labels, np.asarray(labels))
        acc = float(np.mean(np.argmax(np.asarray(features, dtype=float) @ w.T + b, axis=1) == y))
        try:
            cal = calibrate_separation(gm, acc, n_mc=n_bayes, seed=seed)
            rec = surrogate_risks(cal.mixture, n_mc=n_bayes, seed=seed).recalls
            out.update(calibrated_recalls=np.asarray(rec, dtype=float).tolist(), calibration_scale=cal.scale,
                       calibrated_to_accuracy=acc)
        except ValueError as exc:  # e.g. a validation accuracy of 1 or at chance: no finite scale
            out.update(calibrated_recalls=None, calibration_error=str(exc), calibrated_to_accuracy=acc)
    return out
