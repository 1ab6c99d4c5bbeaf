"""A small synthetic study written as ``droplab empirical run`` writes it, for the tests of the analysis
commands (``tests/test_prediction_check.py``, ``test_loao.py``, ``test_metriq_compare.py``,
``test_surrogate_calibration_cmd.py``): run JSONs with the fields the analyses read, each seed's query logits
``query_logits/<query id>.npz``, pilot runs under ``pilots/`` and learned allocation files under
``pilots/allocations/``. No training: the measured recalls follow the prior shift of the query logits plus
a per-class learning curve and binomial noise (as a network's would, roughly)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gaussian_theory.allocation import drop_counts, uniform_counts
from gaussian_theory.learned_recalls import imbalance_recalls
from gaussian_theory.pilot_runs import QueryLogits

K = 4
SIZES = [400] * K
N_EVAL = 60                                     # validation and test images per class
CLASS_NAMES = ["ant", "bee", "cat", "dog"]
SEPARATION = np.array([2.6, 1.4, 1.1, 2.0])     # class 2 is the hardest


def query_logits(seed: int):
    rng = np.random.default_rng(100 + seed)
    y = np.repeat(np.arange(K), N_EVAL)
    z = np.diag(SEPARATION)[y] + rng.standard_normal((y.size, K))
    return z, y


def _predictions(recalls, rng):
    """Labels and predictions (N_EVAL per class) whose per-class recalls are ``recalls`` rounded."""
    labels = np.repeat(np.arange(K), N_EVAL)
    pred = labels.copy()
    for k, r in enumerate(recalls):
        wrong = rng.permutation(N_EVAL)[: N_EVAL - int(round(r * N_EVAL))]
        pred[k * N_EVAL + wrong] = (k + 1) % K
    rec = np.array([np.mean(pred[labels == k] == k) for k in range(K)])
    return labels, pred, rec


def _half(recalls, rng):
    labels, pred, rec = _predictions(recalls, rng)
    return {"accuracy": float(np.mean(pred == labels)), "worst_class_accuracy": float(rec.min()),
            "recalls": rec.tolist(), "predictions": pred.tolist(), "labels": labels.tolist()}


def write_run(root: Path, seed: int, density: float, quota: str, method: str, counts, query: QueryLogits,
              qid: str, *, alpha: float = 1.0, name: str | None = None, with_query: bool = True) -> dict:
    """One finished run JSON of a random-score run with these class ``counts``."""
    rng = np.random.default_rng([seed, int(density * 100), len(method)])
    counts = np.asarray(counts)
    truth = np.clip(imbalance_recalls(query, counts) + 0.04 * np.log(counts / np.asarray(SIZES)) + 0.05,
                    0.02, 0.99)
    val, test = _half(truth, rng), _half(truth, rng)
    run = {
        "status": "done", "seed": seed, "method": method,
        "config": {"dataset": "gaussian", "model": "mlp", "recipe": "fast", "epochs": 6, "density": density,
                   "score": "random", "quota": quota, "rule": "paper", "alpha": alpha},
        "dataset": {"name": "gaussian", "class_names": CLASS_NAMES, "class_sizes": SIZES,
                    "n_train": int(sum(SIZES))},
        "quota": {"kind": quota, "counts": counts.tolist()},
        "selection": {"n_selected": int(counts.sum()), "class_counts": counts.tolist()},
        "final": {"epochs": 6, "val": val, "test": test},
        "metrics": {"accuracy": test["accuracy"], "worst_class_accuracy": test["worst_class_accuracy"],
                    "recalls": test["recalls"]},
    }
    if with_query:
        recalls = [float(np.mean(query.logits[query.labels == k].argmax(1) == k)) for k in range(K)]
        run["query"] = {"query_id": qid, "recipe": {"epochs": 3}, "inits": 1, "recalls": recalls}
    f = root / f"{name or method.lower().replace('+', '_')}_d{density:g}_s{seed}.json"
    f.write_text(json.dumps(run))
    return run


def write_study(root, seeds=(0, 1, 2), densities=(0.5,), *, minimax: bool = True, pilots: bool = True,
                learned: bool = True) -> Path:
    """Per seed and density: Random (quota none), Random+DRoP, Random+DRoP(a=0.7), Random+Probit and
    (``minimax``) Random+Minimax, which starves the easiest class; (``learned``) Random+Learned with its
    allocation file; (``pilots``) the four pilots of ``droplab pilots`` per seed under ``pilots/``."""
    root = Path(root)
    (root / "query_logits").mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        z, y = query_logits(seed)
        qid = f"gaussian_mlp_random_s{seed}_0123456789"
        val_rec = np.array([np.mean(z[y == k].argmax(1) == k) for k in range(K)])
        # the arrays the pipeline writes (empirical.query_logits.query_arrays), val_recalls among them
        np.savez(root / "query_logits" / f"{qid}.npz", val_logits=z, val_labels=y, val_recalls=val_rec)
        q = QueryLogits(z, y, SIZES)
        for d in densities:
            total = int(round(d * sum(SIZES)))
            write_run(root, seed, d, "none", "Random", uniform_counts(SIZES, d), q, qid, with_query=False)
            write_run(root, seed, d, "drop", "Random+DRoP", drop_counts(val_rec, SIZES, d), q, qid)
            damped = drop_counts(val_rec ** 0.7, SIZES, d)
            write_run(root, seed, d, "drop", "Random+DRoP(a=0.7)", damped, q, qid, alpha=0.7, name="damped")
            probit = np.array(SIZES) * d * np.array([0.8, 1.1, 1.3, 0.8])
            probit = np.round(probit * total / probit.sum()).astype(int)
            probit[-1] += total - probit.sum()
            write_run(root, seed, d, "probit", "Random+Probit", probit, q, qid)
            if minimax:
                mm = np.array([0.04, 1.2, 1.6, 1.16]) * d * SIZES[0]
                mm = np.round(mm).astype(int)
                mm[2] += total - mm.sum()
                write_run(root, seed, d, "minimax", "Random+Minimax", mm, q, qid)
            if learned:
                lc = np.array([0.9, 1.05, 1.15, 0.9]) * d * SIZES[0]
                lc = np.round(lc).astype(int)
                lc[1] += total - lc.sum()
                run = write_run(root, seed, d, "counts", "Random+Learned", lc, q, qid, with_query=False)
                alloc = root / "pilots" / "allocations"
                alloc.mkdir(parents=True, exist_ok=True)
                predicted = (np.array(run["metrics"]["recalls"]) + 0.01).tolist()
                (alloc / f"learned_d{d:g}_s{seed}.json").write_text(json.dumps(
                    {"counts": lc.tolist(), "predicted": predicted}))
        if pilots:
            pdir = root / "pilots"
            pdir.mkdir(exist_ok=True)
            designs = {"uniform-0.2": [80] * K, "uniform-0.1": [40] * K, "stairs-1": [12, 160, 160, 12],
                       "stairs-2": [160, 12, 12, 160]}
            for name, counts in designs.items():
                write_run(pdir, seed, sum(counts) / sum(SIZES), "counts", f"Random+Pilot-{name}", counts, q,
                          qid, name=f"pilot_{name}", with_query=False)
    return root
