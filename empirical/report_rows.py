"""The report's per-run and per-class rows: ``runs.csv``, ``classes.csv`` and ``class_summary.csv``.

From the runs of :func:`empirical.report_runs.group_runs`: one row per distinct run
(:func:`tidy_rows`, columns :data:`RUN_COLUMNS`: accuracies with the run's 95% test-set intervals --
recorded, or recomputed from the stored predictions by :func:`run_intervals` with
:func:`empirical.stats.accuracy_intervals` -- the kept count, epochs, wall times and where the run
ran), one row per run and class (:func:`class_rows`: size, kept, test recall with its interval, query
recall, the surrogate's predicted recall), and per study, density, method and class the test recall
over seeds (:func:`class_summary`). The paired comparisons are :mod:`empirical.report_comparisons`
(documentation site, "The real-data pipeline").
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .report_runs import method_order
from .stats import accuracy_intervals

__all__ = ["RUN_COLUMNS", "run_intervals", "tidy_rows", "class_rows", "class_summary"]


RUN_COLUMNS = ["study", "run_id", "dataset", "model", "recipe", "method", "score", "quota", "rule", "density",
               "seed", "accuracy", "accuracy_low", "accuracy_high", "worst_class_accuracy", "worst_class_low",
               "worst_class_high", "worst_class", "val_accuracy", "val_worst_class_accuracy", "n_selected",
               "final_epochs", "query_val_accuracy", "query_s", "final_train_s", "total_s", "device",
               "precision", "intervals", "path"]


def run_intervals(r: dict, n_boot: int = 2000) -> tuple[dict | None, str]:
    """The run's recorded test-set intervals, else recomputed from its predictions (seed 0, as the
    pipeline records them), else ``None``; and where they came from."""
    if r.get("intervals"):
        return r["intervals"], "recorded"
    t = r.get("final", {}).get("test", {})
    if t.get("predictions") is not None and t.get("labels") is not None:
        names = r["dataset"]["class_names"]
        return accuracy_intervals(t["predictions"], t["labels"], len(names), n_boot=n_boot,
                                  class_names=names), "recomputed"
    return None, ""


def tidy_rows(runs, n_boot: int = 2000) -> list[dict]:
    """One row per run (:data:`RUN_COLUMNS`); runs as returned by :func:`empirical.report_runs.group_runs`."""
    rows = []
    for r in runs:
        c, q = r["_config"], r.get("query") or {}
        iv, src = run_intervals(r, n_boot)
        r["_intervals"] = iv
        names = r["dataset"]["class_names"]
        worst = int(np.nanargmin(np.asarray(r["metrics"]["recalls"], dtype=float)))
        rows.append({
            "study": r["_study"], "run_id": r["run_id"], "dataset": c["dataset"], "model": c["model"],
            "recipe": c["recipe"], "method": r["_method"], "score": c["score"], "quota": c["quota"],
            "rule": c["rule"] or "", "density": c["density"], "seed": r["seed"],
            "accuracy": r["metrics"]["accuracy"],
            "accuracy_low": iv["accuracy"]["low"] if iv else "",
            "accuracy_high": iv["accuracy"]["high"] if iv else "",
            "worst_class_accuracy": r["metrics"]["worst_class_accuracy"],
            "worst_class_low": iv["worst_class_accuracy"]["low"] if iv else "",
            "worst_class_high": iv["worst_class_accuracy"]["high"] if iv else "",
            "worst_class": names[worst],
            "val_accuracy": r["final"]["val"]["accuracy"],
            "val_worst_class_accuracy": r["final"]["val"]["worst_class_accuracy"],
            "n_selected": r["selection"]["n_selected"], "final_epochs": r["final"]["epochs"],
            "query_val_accuracy": float(np.mean(q["val_accuracy"])) if q else "",
            "query_s": r["timings"].get("query_s", 0.0), "final_train_s": r["timings"]["final_train_s"],
            "total_s": r["timings"]["total_s"], "device": r.get("device", ""),
            "precision": r.get("precision", ""),
            "intervals": src, "path": r["_path"],
        })
    return rows


def class_rows(runs) -> list[dict]:
    """One row per run and class: size, kept, test recall (with its Wilson interval), query recall."""
    rows = []
    for r in runs:
        names, sizes = r["dataset"]["class_names"], r["dataset"]["class_sizes"]
        q = (r.get("query") or {}).get("recalls")
        th = r.get("theory") or {}
        pred = th.get("predicted_recalls")
        iv = r.get("_intervals") or {}
        for k, name in enumerate(names):
            rows.append({
                "study": r.get("_study", ""), "run_id": r["run_id"], "method": r.get("_method", r["method"]),
                "density": r["config"]["density"], "seed": r["seed"], "class": k, "class_name": name,
                "size": sizes[k], "kept": r["selection"]["class_counts"][k],
                "class_density": r["selection"]["class_densities"][k],
                "test_recall": r["metrics"]["recalls"][k],
                "test_recall_low": iv["recalls"]["low"][k] if iv else "",
                "test_recall_high": iv["recalls"]["high"][k] if iv else "",
                "query_recall": "" if q is None else q[k],
                "predicted_recall": "" if pred is None else pred[k],
                "predicted_drop_density": "" if "predicted_drop_densities" not in th
                else th["predicted_drop_densities"][k],
            })
    return rows


def class_summary(runs) -> list[dict]:
    """Per study, density, method and class: test recall mean, min and max over seeds."""
    cells = defaultdict(list)
    for r in runs:
        cells[(r["_study"], r["_config"]["density"], r["_method"])].append(r)
    out = []
    for (sid, d, m) in sorted(cells, key=lambda k: (k[0], k[1], method_order(k[2]))):
        rs = cells[(sid, d, m)]
        rec = np.array([r["metrics"]["recalls"] for r in rs], dtype=float)
        for k, name in enumerate(rs[0]["dataset"]["class_names"]):
            out.append({"study": sid, "density": d, "method": m, "class": k, "class_name": name,
                        "n_seeds": len(rs), "recall_mean": float(rec[:, k].mean()),
                        "recall_min": float(rec[:, k].min()), "recall_max": float(rec[:, k].max())})
    return out
