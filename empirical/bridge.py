r"""Theory bridge: a Gaussian surrogate of the query model's penultimate-layer features.

Fit class-conditional Gaussians :math:`z\mid y=k\sim\mathcal N(\hat\mu_k,\hat\Sigma_k)` to the
features of the validation split (the data the measured recalls come from), with
:math:`\hat\Sigma_k=\hat\sigma_k^2I` (``"isotropic"``, :math:`\hat\sigma_k^2` = mean per-dimension
variance) or :math:`\mathrm{diag}(\hat\sigma_{k1}^2,\dots)` (``"diagonal"``). The surrogate predicts
the recalls of the query model's own linear head :math:`\hat y=\arg\max_j(Wz+b)_j` under those
Gaussians, :math:`\hat r_k=P_{z\sim\mathcal N(\hat\mu_k,\hat\Sigma_k)}(\hat y(z)=k)` (Monte Carlo),
and the pipeline records the DRoP allocation those recalls imply next to the measured one.

When :mod:`gaussian_theory.surrogate` is importable, its ``fit_gaussian_surrogate`` does the fit
(maximum likelihood with a small variance floor) and the recalls of the fitted mixture's own Bayes
rule, ``GaussianMixture.recalls`` (Monte Carlo), are recorded too as ``mixture_bayes_recalls``;
otherwise the per-class means and (unbiased) variances are computed here with numpy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COVARIANCES", "fit_class_gaussians", "head_recalls", "surrogate_report"]

COVARIANCES = ("isotropic", "diagonal")


def fit_class_gaussians(features, labels, num_classes: int, covariance: str = "isotropic"):
    """Per-class means (K, p) and standard deviations: (K,) isotropic or (K, p) diagonal."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    z = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y, minlength=num_classes).astype(float)
    if (counts < 2).any():
        raise ValueError(f"every class needs >= 2 feature vectors, got counts {counts.astype(int).tolist()}")
    onehot = np.eye(num_classes)[y]
    means = onehot.T @ z / counts[:, None]
    var = onehot.T @ (z - means[y]) ** 2 / (counts[:, None] - 1)
    stds = np.sqrt(var.mean(axis=1)) if covariance == "isotropic" else np.sqrt(var)
    return means, stds


def head_recalls(means, stds, weight, bias, n_per_class: int, rng: np.random.Generator) -> np.ndarray:
    r"""Monte-Carlo recalls of the linear head ``argmax(W z + b)`` when
    :math:`z\sim\mathcal N(\mu_k,\cdot)`."""
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
    rng = np.random.default_rng(seed)
    out = {"covariance": covariance, "fit_on": "validation features of the query model (init 0, best epoch)",
           "n_mc_per_class": n_per_class}
    gm = None
    try:
        from gaussian_theory.surrogate import fit_gaussian_surrogate
    except ImportError:
        fit_gaussian_surrogate = None
    if fit_gaussian_surrogate is not None:
        gm = fit_gaussian_surrogate(np.asarray(features, dtype=float), np.asarray(labels),
                                    covariance=covariance)
        out["method"] = "gaussian_theory.surrogate.fit_gaussian_surrogate"
        means = np.asarray(gm.means, dtype=float)
        stds = _stds_of(gm, covariance)
        if stds is None:
            means, stds = fit_class_gaussians(features, labels, num_classes, covariance)
        try:  # recalls of the surrogate's own Bayes rule, on the surrogate (Monte Carlo)
            bayes = gm.recalls(n_mc=n_bayes, seed=seed)
            out["mixture_bayes_recalls"] = np.asarray(bayes, dtype=float).tolist()
        except Exception as exc:  # noqa: BLE001 - optional extra, never fatal
            out["mixture_bayes_recalls_error"] = f"{type(exc).__name__}: {exc}"
    else:
        out["method"] = "numpy per-class means/variances (gaussian_theory.surrogate not available)"
        means, stds = fit_class_gaussians(features, labels, num_classes, covariance)
    w = np.asarray(weight, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64)
    out["predicted_recalls"] = head_recalls(means, stds, w, b, n_per_class, rng).tolist()
    iso = stds if np.ndim(stds) == 1 else np.sqrt((np.asarray(stds) ** 2).mean(axis=1))
    out["class_stds"] = np.asarray(iso, dtype=float).tolist()
    out["class_mean_norms"] = np.linalg.norm(means, axis=1).tolist()
    return out


def _stds_of(gm, covariance):
    for attr in ("stds", "sigmas"):
        v = getattr(gm, attr, None)
        if v is not None:
            return np.asarray(v, dtype=float)
    cov = getattr(gm, "covariances", None)
    if cov is not None:
        cov = np.asarray(cov, dtype=float)
        d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1)) if cov.ndim == 3 else np.sqrt(cov)
        return d if covariance == "diagonal" else np.sqrt((d ** 2).mean(axis=-1))
    return None
