r"""Check a Gaussian surrogate's prediction against a classifier actually trained on the same features.

:func:`surrogate_vs_trained` fits :func:`gaussian_theory.surrogate.fit_gaussian_surrogate` on a training
split, predicts the class recalls of its Bayes rule
(:func:`gaussian_theory.surrogate_recalls.surrogate_risks`) and compares them with the test recalls of a
trained classifier (by default scikit-learn's ``LogisticRegression`` on standardised features;
scikit-learn is imported only there): rank and linear correlation, mean absolute error, and the DRoP
densities each recall vector implies.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .allocation import drop_densities
from .options import DEFAULT_COVARIANCE
from .surrogate import _check_features_labels, fit_gaussian_surrogate
from .surrogate_recalls import surrogate_risks
from .validation import check_density

__all__ = ["surrogate_vs_trained", "SurrogateComparison"]


@dataclass(frozen=True)
class SurrogateComparison:
    r"""Predicted (surrogate) vs measured class recalls.

    ``predicted``/``predicted_se``: recalls of the surrogate's Bayes rule *on the surrogate* (MC);
    ``surrogate_on_data``: recalls of that same Bayes rule on the real test features; ``trained``:
    test recalls of the trained classifier. ``spearman``/``pearson``/``mae`` compare ``predicted``
    with ``trained``; ``drop_*`` are the DRoP densities at ``density`` from each recall vector and
    ``drop_l1`` their mean absolute difference (a comparison, not an allocation to train: without
    :func:`~gaussian_theory.allocation.drop_densities`' few-samples warning, whose ``min_count=`` this
    function does not take).
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



def _correlation(kind, a, b) -> float:
    """``kind`` (scipy's spearmanr or pearsonr) of ``a`` and ``b``; NaN -- the defined answer, without
    scipy's ConstantInputWarning -- when either side is constant (a correlation with a constant is
    undefined), holds a NaN (as scipy gives), or has fewer than 3 entries.

    >>> from scipy.stats import spearmanr
    >>> _correlation(spearmanr, [0.9, 0.9, 0.9], [0.8, 0.7, 0.9])
    nan
    >>> _correlation(spearmanr, [0.1, 0.2, 0.3], [0.3, 0.5, 0.4])
    0.5
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 3 or not (np.isfinite(a).all() and np.isfinite(b).all()) or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kind(a, b).statistic)

def surrogate_vs_trained(
    features,
    labels,
    test_features=None,
    test_labels=None,
    covariance=DEFAULT_COVARIANCE,
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
    est = surrogate_risks(gm, n_mc=n_mc, seed=seed)
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
    with warnings.catch_warnings():  # two allocations compared, neither trained: see SurrogateComparison
        warnings.simplefilter("ignore", UserWarning)
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
        spearman=_correlation(spearmanr, predicted, trained),
        pearson=_correlation(pearsonr, predicted, trained),
        mae=float(np.nanmean(np.abs(predicted - trained))),
        density=d,
        drop_predicted=drop_p,
        drop_trained=drop_t,
        drop_l1=float(np.mean(np.abs(drop_p - drop_t))),
        classifier=name,
        covariance=covariance,
    )
