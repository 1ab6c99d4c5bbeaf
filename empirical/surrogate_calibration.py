"""Which Gaussian surrogate predicts a real classifier's class recalls? Held-out measurement
(``droplab empirical surrogate-calibration``).

For each set, a classifier's *held-out* logits on a validation set (and, for a query cache of the pipeline,
its penultimate features) are split at random into two stratified halves A and B. Each surrogate is fitted
on half A (:func:`gaussian_theory.surrogate.fit_gaussian_surrogate`; the calibrated one, ``tied+cal``, with
``calibrate_to=`` the accuracy measured on A) and predicts the class recalls (its Bayes rule on itself,
Monte Carlo); they are compared with the recalls measured on half B: mean absolute error (MAE), Spearman
rank correlation, and bias (mean predicted - mean measured recall). The *floor* is the same comparison for
the recalls measured on half A -- what a perfect predictor that only saw half A could achieve. Averaged
over ``splits`` random halvings.

Sets:

* ``digits``: scikit-learn's digits (1797 images), 5-fold cross-validated logits of a standardised logistic
  regression (each sample's logits from the model that did not see it);
* MNIST-1D (the ``mnist1d_data.pkl`` pickle, train + test = 5000): 5-fold cross-validated logits of a
  scikit-learn MLP (one hidden layer of 128 ReLUs, early stopping);
* the random-score query models of a folder of runs: the validation logits of
  ``query_logits/<query id>.npz``, or of the pipeline's query cache ``_query/<query id>.pt`` (torch), which
  also holds the 256-d features: then the inputs are the logits, the features, and the features projected
  on half A's K - 1 linear discriminant directions (``lda``).

Needs scikit-learn for digits, MNIST-1D and ``lda``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from gaussian_theory.surrogate import fit_gaussian_surrogate
from gaussian_theory.surrogate_recalls import surrogate_risks

from .titles import query_title

__all__ = ["MODELS", "digits_logits", "mnist1d_logits", "query_model_sets", "halves", "recalls", "compare",
           "measure", "TABLE_HEADER", "format_rows"]

#: the surrogates compared (``tied+cal``: tied, calibrated to half A's accuracy)
MODELS = ("isotropic", "diagonal", "tied", "tied+cal")


# ----------------------------------------------------------------------------- held-out logits
def digits_logits(seed: int) -> dict:
    """scikit-learn's digits: 5-fold cross-validated logits of a standardised logistic regression.

    Returns
    -------
    dict
        A set: ``name``, ``labels`` (n,), ``inputs`` ``{"logits": (n, 10)}``.
    """
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    logits = cross_val_predict(clf, x, y, cv=cv, method="decision_function")
    return {"name": "digits (logistic)", "labels": y, "inputs": {"logits": logits}}


def _mlp_logits(mlp, x):
    h = x
    for w, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        h = np.maximum(h @ w + b, 0.0)
    return h @ mlp.coefs_[-1] + mlp.intercepts_[-1]


def mnist1d_logits(path, seed: int) -> dict:
    """MNIST-1D (train + test): 5-fold cross-validated logits of a one-hidden-layer MLP.

    Parameters
    ----------
    path : path
        ``mnist1d_data.pkl``, or a folder holding it.
    seed : int
        Seed of the folds and of the MLPs.

    Returns
    -------
    dict
        A set, as :func:`digits_logits`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "mnist1d_data.pkl"
    if not path.is_file():
        raise ValueError(f"MNIST-1D pickle {str(path)!r} not found (mnist1d_data.pkl, or a folder "
                         "holding it)")
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    with path.open("rb") as fh:
        d = pickle.load(fh)  # noqa: S301 - the published MNIST-1D pickle, named by the user
    x = np.concatenate([d["x"], d["x_test"]])
    y = np.concatenate([d["y"], d["y_test"]]).astype(int)
    logits = np.empty((y.size, 10))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
        sc = StandardScaler().fit(x[tr])
        mlp = MLPClassifier((128,), max_iter=200, early_stopping=True, random_state=seed)
        mlp.fit(sc.transform(x[tr]), y[tr])
        logits[te] = _mlp_logits(mlp, sc.transform(x[te]))
    return {"name": "MNIST-1D (MLP)", "labels": y, "inputs": {"logits": logits}}


def _query_files(folder: Path) -> dict:
    """``{query id: file}`` of the random-score query models in ``folder``, ``folder/_query`` and
    ``folder/query_logits``: a cache ``.pt`` (with features) before a logits ``.npz`` of the same id."""
    found = {}
    for where in (folder / "query_logits", folder, folder / "_query"):
        for f in sorted(where.glob("*_random_s*.npz")) + sorted(where.glob("*_random_s*.pt")):
            if f.suffix == ".pt" or f.stem not in found:
                found[f.stem] = f
    return dict(sorted(found.items()))


def query_model_sets(folder) -> list[dict]:
    """The random-score query models of a folder of runs, each a set (:func:`digits_logits`), named by
    :func:`empirical.titles.query_title`; a query cache adds its features.

    Raises
    ------
    ValueError
        When ``folder`` is not a folder or holds no random-score query model with validation logits.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"runs folder {str(folder)!r} does not exist or is not a folder")
    out = []
    for qid, f in _query_files(folder).items():
        if f.suffix == ".npz":
            with np.load(f) as z:
                if "val_logits" not in z.files:
                    continue
                logits, labels, features = z["val_logits"], z["val_labels"], None
        else:
            import torch

            vo = torch.load(f, map_location="cpu", weights_only=False).get("val_outputs")
            if vo is None:
                continue
            logits, labels, features = vo["logits"], vo["labels"], vo.get("features")
        inputs = {"logits": np.asarray(logits, float)}
        if features is not None:
            inputs["features"] = np.asarray(features, float)
        out.append({"name": query_title(qid), "labels": np.asarray(labels).astype(int), "inputs": inputs,
                    "pred": np.asarray(logits).argmax(axis=1)})
    if not out:
        raise ValueError(f"no random-score query model with validation logits in {str(folder)!r}: expected "
                         "query_logits/*_random_s*.npz or _query/*_random_s*.pt (with val_outputs) of "
                         "droplab empirical run")
    return out


# ----------------------------------------------------------------------------- measurement
def halves(y, rng) -> tuple[np.ndarray, np.ndarray]:
    """Two stratified random halves (boolean masks A, B) of labels ``y``."""
    a = np.zeros(y.size, bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        a[idx[: idx.size // 2]] = True
    return a, ~a


def recalls(pred, y, k) -> np.ndarray:
    """Per-class recalls of predictions ``pred`` for labels ``y`` and ``k`` classes."""
    return np.array([np.mean(pred[y == c] == c) for c in range(k)])


def compare(pred_rec, meas_rec) -> tuple[float, float, float]:
    """(MAE, Spearman rho -- nan for constant predictions --, bias) of predicted against measured recalls."""
    rho = spearmanr(pred_rec, meas_rec).statistic if np.ptp(pred_rec) > 0 else np.nan
    return float(np.mean(np.abs(pred_rec - meas_rec))), float(rho), float(pred_rec.mean() - meas_rec.mean())


def _lda_project(xa, ya):
    """Half A's features on its K - 1 discriminant directions (shrinkage LDA fitted on half A)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(xa, ya).transform(xa)


def measure(ds: dict, splits: int, n_mc: int, seed: int) -> list[dict]:
    """The held-out errors of every surrogate on one set.

    Parameters
    ----------
    ds : dict
        A set (:func:`digits_logits`, :func:`mnist1d_logits`, :func:`query_model_sets`).
    splits : int
        Random halvings averaged over.
    n_mc : int
        Monte Carlo draws per class of the predicted recalls (at most 4000 above 64 dimensions).
    seed : int
        Seed of the halvings.

    Returns
    -------
    list of dict
        One per input and surrogate: ``dataset``, ``input``, ``model``, ``mae``, ``spearman``, ``bias``,
        ``floor_mae``, ``floor_spearman``, ``accuracy``.
    """
    y = ds["labels"]
    k = int(y.max()) + 1
    pred = ds.get("pred", ds["inputs"]["logits"].argmax(axis=1))
    rng = np.random.default_rng(seed)
    rows: dict[tuple, list] = {}
    floor = []
    for s in range(splits):
        a, b = halves(y, rng)
        ra, rb = recalls(pred[a], y[a], k), recalls(pred[b], y[b], k)
        acc_a = float(np.mean(pred[a] == y[a]))
        floor.append(compare(ra, rb))
        inputs = dict(ds["inputs"])
        if "features" in inputs:
            inputs["lda"] = _lda_project(inputs["features"][a], y[a])
        for inp, x in inputs.items():
            xa = x if inp == "lda" else x[a]
            for model in MODELS:
                if inp == "features" and model == "diagonal":
                    continue  # as isotropic there (both ~1), and slow
                kw = {"covariance": "tied", "calibrate_to": acc_a, "n_mc": n_mc, "seed": s} \
                    if model == "tied+cal" else {"covariance": model}
                gm = fit_gaussian_surrogate(xa, y[a], **kw)
                n = n_mc if gm.dim <= 64 else min(n_mc, 4000)
                pr = surrogate_risks(gm, n_mc=n, seed=1000 + s).recalls
                rows.setdefault((inp, model), []).append(compare(pr, rb))
    fl = np.nanmean(np.array(floor), axis=0)
    out = []
    for (inp, model), vals in rows.items():
        v = np.array(vals)
        out.append({"dataset": ds["name"], "input": inp, "model": model, "mae": float(np.mean(v[:, 0])),
                    "spearman": float(np.nanmean(v[:, 1])) if np.isfinite(v[:, 1]).any() else np.nan,
                    "bias": float(np.mean(v[:, 2])), "floor_mae": float(fl[0]),
                    "floor_spearman": float(fl[1]), "accuracy": float(np.mean(pred == y))})
    return out


#: the table's header line
TABLE_HEADER = (f"{'dataset':28s} {'acc':>5s} {'input':9s} {'model':10s} {'MAE':>6s} {'Spearman':>8s} "
                f"{'bias':>7s} {'floor MAE':>9s} {'floor rho':>9s}")


def format_rows(rows: list[dict]) -> str:
    """:func:`measure`'s rows, one table line each (newline-terminated)."""
    return "".join(f"{r['dataset']:28s} {r['accuracy']:5.3f} {r['input']:9s} {r['model']:10s} "
                   f"{r['mae']:6.3f} {r['spearman']:8.3f} {r['bias']:+7.3f} {r['floor_mae']:9.3f} "
                   f"{r['floor_spearman']:9.3f}\n" for r in rows)
