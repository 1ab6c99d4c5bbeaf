"""Which Gaussian surrogate predicts a real classifier's class recalls? Held-out measurement.

For each dataset, a classifier's *held-out* logits on a validation set (and, for CIFAR-10, its
penultimate features) are split at random into two stratified halves A and B. Each surrogate is
fitted on half A (``gaussian_theory.surrogate.fit_gaussian_surrogate``; the calibrated one with
``calibrate_to=`` the accuracy measured on A) and predicts the class recalls (its Bayes rule on
itself, Monte Carlo); they are compared with the recalls measured on half B: mean absolute error
(MAE), Spearman rank correlation, and bias (mean predicted - mean measured recall). The *floor* is
the same comparison for the recalls measured on half A -- what a perfect predictor that only saw
half A could achieve. Averaged over ``--splits`` random halvings.

Datasets:

* ``digits``: scikit-learn's digits (1797 images), 5-fold cross-validated logits of a standardised
  logistic regression (each sample's logits from the model that did not see it);
* ``mnist1d``: MNIST-1D (``../shared/data/mnist1d/mnist1d_data.pkl``, train + test = 5000), 5-fold
  cross-validated logits of a scikit-learn MLP (one hidden layer of 128 ReLUs, early stopping);
* ``cifar10``: the CIFAR-10 small-CNN query models of the grid (validation logits and 256-d features
  cached by the pipeline in ``../grid/results/cifar10-smallcnn/_query/*.pt``, read only; one row set
  per query model, seeds 0 and 1). Inputs: the logits, the features, and the features projected on
  half A's K - 1 linear discriminant directions (``lda``).

Measured when written (seed 0, 10 halvings; MAE / Spearman / bias of the predicted recalls against
those measured on half B; floor = the recalls measured on half A)::

    dataset (accuracy)        input     model      MAE    rho   bias | floor MAE  rho
    digits logistic (0.969)   logits    isotropic  0.021  0.58 +0.020 | 0.020  0.52
                                        diagonal   0.025  0.62 +0.024 |
                                        tied       0.017  0.69 +0.001 |
                                        tied+cal   0.017  0.69 +0.002 |
    MNIST-1D MLP (0.563)      logits    isotropic  0.173  0.96 +0.173 | 0.025  0.96
                                        diagonal   0.175  0.97 +0.175 |
                                        tied       0.037  0.96 +0.028 |
                                        tied+cal   0.028  0.96 +0.005 |
    CIFAR-10 CNN s0 (0.760)   logits    isotropic  0.135  0.94 +0.135 | 0.028  0.94
                                        diagonal   0.098  0.95 +0.098 |
                                        tied       0.107  0.94 +0.107 |
                                        tied+cal   0.038  0.93 +0.006 |
                              features  isotropic  0.242  0.54 +0.242 |
                                        tied       0.182  0.93 +0.182 |
                                        tied+cal   0.035  0.93 +0.006 |
                              lda       isotropic  0.167  0.96 +0.167 |
                                        diagonal   0.141  0.97 +0.141 |
                                        tied       0.168  0.94 +0.168 |
                                        tied+cal   0.038  0.93 +0.006 |
    CIFAR-10 CNN s1 (0.766)   logits    isotropic  0.135  0.91 +0.135 | 0.028  0.91
                                        diagonal   0.097  0.90 +0.097 |
                                        tied       0.110  0.91 +0.110 |
                                        tied+cal   0.038  0.91 +0.005 |
                              features  isotropic  0.237  0.55 +0.237 |
                                        tied       0.180  0.91 +0.180 |
                                        tied+cal   0.035  0.91 +0.005 |
                              lda       tied+cal   0.037  0.90 +0.005 |  (isotropic 0.166, tied 0.166)

Run by hand (about 80 s on 2 busy CPU cores; BLAS is limited to ``--threads`` threads, default 1:
more threads than free cores made scikit-learn's MLP ten times slower here)::

    python bench/surrogate_calibration.py [--splits 10] [--n-mc 20000] [--datasets digits mnist1d cifar10]
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from gaussian_theory.surrogate import fit_gaussian_surrogate
from gaussian_theory.surrogate_recalls import surrogate_risks

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
QUERY = ROOT.parent / "grid" / "results" / "cifar10-smallcnn" / "_query"
MODELS = ("isotropic", "diagonal", "tied", "tied+cal")


# ----------------------------------------------------------------------------- held-out logits
def digits_logits(seed: int) -> dict:
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


def mnist1d_logits(seed: int) -> dict | None:
    path = SHARED / "mnist1d" / "mnist1d_data.pkl"
    if not path.is_file():
        return None
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    with path.open("rb") as fh:
        d = pickle.load(fh)
    x = np.concatenate([d["x"], d["x_test"]])
    y = np.concatenate([d["y"], d["y_test"]]).astype(int)
    logits = np.empty((y.size, 10))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
        sc = StandardScaler().fit(x[tr])
        mlp = MLPClassifier((128,), max_iter=200, early_stopping=True, random_state=seed)
        mlp.fit(sc.transform(x[tr]), y[tr])
        logits[te] = _mlp_logits(mlp, sc.transform(x[te]))
    return {"name": "MNIST-1D (MLP)", "labels": y, "inputs": {"logits": logits}}


def cifar_query_models() -> list[dict]:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return []
    out = []
    for f in sorted(QUERY.glob("cifar10_smallcnn_random_s*.pt")):
        r = torch.load(f, map_location="cpu", weights_only=False)
        vo = r.get("val_outputs")
        if vo is None:
            continue
        seed = f.stem.split("_s")[-1].split("_")[0]
        out.append({"name": f"CIFAR-10 small CNN s{seed}", "labels": np.asarray(vo["labels"]).astype(int),
                    "inputs": {"logits": np.asarray(vo["logits"], float),
                               "features": np.asarray(vo["features"], float)},
                    "pred": np.asarray(vo["logits"]).argmax(axis=1)})
    return out


# ----------------------------------------------------------------------------- measurement
def halves(y, rng):
    a = np.zeros(y.size, bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        a[idx[: idx.size // 2]] = True
    return a, ~a


def recalls(pred, y, k):
    return np.array([np.mean(pred[y == c] == c) for c in range(k)])


def compare(pred_rec, meas_rec):
    rho = spearmanr(pred_rec, meas_rec).statistic if np.ptp(pred_rec) > 0 else np.nan
    return float(np.mean(np.abs(pred_rec - meas_rec))), float(rho), float(pred_rec.mean() - meas_rec.mean())


def lda_project(xa, ya):
    """Half A's features on its K - 1 discriminant directions (shrinkage LDA fitted on half A)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto").fit(xa, ya).transform(xa)


def measure(ds: dict, splits: int, n_mc: int, seed: int) -> list[dict]:
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
            inputs["lda"] = lda_project(inputs["features"][a], y[a])
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--n-mc", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads")
    ap.add_argument("--datasets", nargs="+", default=["digits", "mnist1d", "cifar10"],
                    choices=["digits", "mnist1d", "cifar10"])
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        return _run(args)


def _run(args) -> int:
    sets = []
    t0 = time.perf_counter()
    if "digits" in args.datasets:
        sets.append(digits_logits(args.seed))
    if "mnist1d" in args.datasets:
        m = mnist1d_logits(args.seed)
        if m is None:
            print(f"(MNIST-1D not found under {SHARED}: skipped)")
        else:
            sets.append(m)
    if "cifar10" in args.datasets:
        c = cifar_query_models()
        if not c:
            print(f"(no CIFAR-10 query cache with val_outputs under {QUERY}: skipped)")
        sets += c
    print(f"held-out logits ready in {time.perf_counter() - t0:.0f} s; {args.splits} random halvings, "
          f"{args.n_mc} MC draws per class (4000 above 64 dimensions)\n")
    head = (f"{'dataset':28s} {'acc':>5s} {'input':9s} {'model':10s} {'MAE':>6s} {'Spearman':>8s} "
            f"{'bias':>7s} {'floor MAE':>9s} {'floor rho':>9s}")
    print(head)
    print("-" * len(head))
    for ds in sets:
        for r in measure(ds, args.splits, args.n_mc, args.seed):
            print(f"{r['dataset']:28s} {r['accuracy']:5.3f} {r['input']:9s} {r['model']:10s} {r['mae']:6.3f} "
                  f"{r['spearman']:8.3f} {r['bias']:+7.3f} {r['floor_mae']:9.3f} {r['floor_spearman']:9.3f}")
        print()
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
