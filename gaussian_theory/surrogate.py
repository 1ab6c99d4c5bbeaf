r"""A Gaussian surrogate of a real dataset: predict class recalls and compare pruning allocations
before training anything.

:func:`fit_gaussian_surrogate` fits one Gaussian per class to feature vectors (maximum likelihood,
with a small variance floor):

* ``covariance="isotropic"``: :math:`\hat\Sigma_k=\hat s_k^2I`,
  :math:`\hat s_k^2=\frac1{n_kp}\sum_{i:y_i=k}|x_i-\hat\mu_k|^2+\epsilon`;
* ``covariance="diagonal"``: :math:`\hat\Sigma_k=\mathrm{diag}(\hat v_{k1},\dots,\hat v_{kp})+\epsilon I`;

with :math:`\hat\mu_k` the class means, priors :math:`\hat\pi_k=n_k/n`, and
:math:`\epsilon=` ``reg`` times the average per-feature variance of all the data (features constant
within a class, e.g. always-blank pixels, would otherwise give singular covariances). The
resulting :class:`~gaussian_theory.mixture.GaussianMixture` predicts the class recalls
:math:`1-R_k(\hat\pi)` of the Bayes rule, the DRoP allocation those recalls imply, the minimax
allocation and the class risks after each allocation -- all at no training cost.

:func:`surrogate_vs_trained` checks the prediction: it compares the surrogate's predicted recalls
with the test recalls of a classifier actually trained on the same features (by default
scikit-learn's ``LogisticRegression`` on standardised features; scikit-learn is imported only
there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .allocation import drop_densities
from .mixture import GaussianMixture
from .options import COVARIANCES
from .validation import as_float_array, check_density

__all__ = [
    "fit_gaussian_surrogate",
    "surrogate_vs_trained",
    "SurrogateComparison",
    "COVARIANCES",
]


def _check_features_labels(features, labels, fname="features", lname="labels"):
    x = as_float_array(features, fname)
    if x.ndim != 2:
        raise ValueError(f"{fname} must have shape (n, p), got shape {x.shape}")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"{lname} must have shape ({x.shape[0]},) to match {fname} {x.shape}, got shape {y.shape}"
        )
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)
        else:
            raise TypeError(f"{lname} must be integer class labels, got dtype {y.dtype}")
    return x, y


def fit_gaussian_surrogate(features, labels, covariance="isotropic", reg=1e-3) -> GaussianMixture:
    r"""Fit one Gaussian per class (see the module docstring); returns a :class:`GaussianMixture`
    whose ``class_labels`` are the sorted distinct labels (class ``k`` of the mixture is
    ``class_labels[k]``).

    Raises ``ValueError`` for fewer than two classes, a class with fewer than two samples, or an
    unknown ``covariance``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, (500, 3)), rng.normal(4, 2, (500, 3))])
    >>> gm = fit_gaussian_surrogate(x, np.repeat([0, 1], 500))
    >>> np.round(gm.stds, 1).tolist()
    [1.0, 2.0]
    """
    x, y = _check_features_labels(features, labels)
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    r = float(as_float_array(reg, "reg", shape=()))
    if r < 0:
        raise ValueError(f"reg must be >= 0, got {reg!r}")
    classes, inv, counts = np.unique(y, return_inverse=True, return_counts=True)
    if classes.size < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {classes.tolist()!r}")
    if counts.min() < 2:
        raise ValueError(
            f"every class needs >= 2 samples, got class {classes[np.argmin(counts)].item()!r} with "
            f"{counts.min()} sample(s)"
        )
    k, p = classes.size, x.shape[1]
    sums = np.zeros((k, p))
    np.add.at(sums, inv, x)
    means = sums / counts[:, None]
    resid = x - means[inv]
    sq = np.zeros((k, p))
    np.add.at(sq, inv, resid * resid)
    var = sq / counts[:, None]  # (K, p) maximum-likelihood per-feature variances
    eps = r * float(x.var(axis=0).mean())
    if eps == 0 and (var == 0).any():
        raise ValueError("some class has a constant feature; pass reg > 0 to regularise the covariances")
    priors = counts / counts.sum()
    if covariance == "isotropic":
        return GaussianMixture(
            means, stds=np.sqrt(var.mean(axis=1) + eps), priors=priors, class_labels=classes
        )
    cov = np.zeros((k, p, p))
    idx = np.arange(p)
    cov[:, idx, idx] = var + eps
    return GaussianMixture(means, covariances=cov, priors=priors, class_labels=classes)


# ----------------------------------------------------------------------------- check vs a trained model
@dataclass(frozen=True)
class SurrogateComparison:
    r"""Predicted (surrogate) vs measured class recalls.

    ``predicted``/``predicted_se``: recalls of the surrogate's Bayes rule *on the surrogate* (MC);
    ``surrogate_on_data``: recalls of that same Bayes rule on the real test features; ``trained``:
    test recalls of the trained classifier. ``spearman``/``pearson``/``mae`` compare ``predicted``
    with ``trained``; ``drop_*`` are the DRoP densities at ``density`` from each recall vector and
    ``drop_l1`` their mean absolute difference.
    """

    classes: np.ndarray
    train_sizes: np.ndarray
    test_sizes: np.ndarray
    predicted: np.ndarray
    predicted_se: np.ndarray
    surrogate_on_data: np.ndarray
    trained: np.ndarray
    spearman: float
    pearson: float
    mae: float
    density: float
    drop_predicted: np.ndarray
    drop_trained: np.ndarray
    drop_l1: float
    classifier: str
    covariance: str

    def as_dict(self) -> dict:
        out = {}
        for key, val in self.__dict__.items():
            out[key] = val.tolist() if isinstance(val, np.ndarray) else val
        return out


def _split(y, test_size, rng):
    """Stratified random split: indices (train, test)."""
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = rng.permutation(idx)
        test.append(idx[: max(1, int(round(test_size * idx.size)))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(y.size), test)
    return train, test


def surrogate_vs_trained(
    features,
    labels,
    test_features=None,
    test_labels=None,
    covariance="isotropic",
    classifier=None,
    test_size=0.3,
    density=0.5,
    n_mc=20_000,
    seed=0,
    reg=1e-3,
) -> SurrogateComparison:
    r"""Compare the surrogate's predicted class recalls with those of a classifier trained on the features.

    Fits :func:`fit_gaussian_surrogate` and ``classifier`` (default: scikit-learn
    ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))``; any object with
    ``fit``/``predict`` works) on the training split, then measures per-class test recalls.
    Without ``test_features`` a stratified ``test_size`` split is drawn with ``seed``.
    """
    x, y = _check_features_labels(features, labels)
    rng = np.random.default_rng(seed)
    if test_features is None:
        if test_labels is not None:
            raise ValueError("test_labels given without test_features")
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}")
        tr, te = _split(y, test_size, rng)
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
    else:
        xte, yte = _check_features_labels(test_features, test_labels, "test_features", "test_labels")
        if xte.shape[1] != x.shape[1]:
            raise ValueError(f"test_features must have {x.shape[1]} columns, got shape {xte.shape}")
        xtr, ytr = x, y
    d = check_density(density)
    gm = fit_gaussian_surrogate(xtr, ytr, covariance=covariance, reg=reg)
    classes = gm.class_labels
    if not np.isin(yte, classes).all():
        raise ValueError(
            f"test labels {np.setdiff1d(yte, classes).tolist()} do not occur in the training labels"
        )
    est = gm.class_risks(n_mc=n_mc, seed=seed)
    if classifier is None:
        try:
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
        except ImportError as exc:  # pragma: no cover - sklearn is in the test extras
            raise ImportError(
                "surrogate_vs_trained needs scikit-learn for its default classifier "
                "(pip install scikit-learn), or pass classifier=..."
            ) from exc
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        name = "logistic"
    else:
        name = type(classifier).__name__
    classifier.fit(xtr, ytr)
    pred_trained = np.asarray(classifier.predict(xte))
    pred_sur = classes[gm.predict(xte)]

    def recalls(pred):
        return np.array([np.mean(pred[yte == c] == c) if (yte == c).any() else np.nan for c in classes])

    trained = recalls(pred_trained)
    from scipy.stats import pearsonr, spearmanr

    predicted = est.recalls
    sizes = np.array([(ytr == c).sum() for c in classes])
    drop_p = drop_densities(predicted, sizes, d)
    drop_t = drop_densities(np.nan_to_num(trained, nan=1.0), sizes, d)
    return SurrogateComparison(
        classes=classes,
        train_sizes=sizes,
        test_sizes=np.array([(yte == c).sum() for c in classes]),
        predicted=predicted,
        predicted_se=est.se,
        surrogate_on_data=recalls(pred_sur),
        trained=trained,
        spearman=float(spearmanr(predicted, trained).statistic),
        pearson=float(pearsonr(predicted, trained).statistic),
        mae=float(np.nanmean(np.abs(predicted - trained))),
        density=d,
        drop_predicted=drop_p,
        drop_trained=drop_t,
        drop_l1=float(np.mean(np.abs(drop_p - drop_t))),
        classifier=name,
        covariance=covariance,
    )
