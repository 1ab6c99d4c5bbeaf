"""Collect run JSONs into tidy CSVs and plot average vs worst-class accuracy (matplotlib).

Outputs (in ``OUT``): ``runs.csv`` (one row per run), ``classes.csv`` (one row per run and class:
size, kept count and density, test recall, query recall, surrogate-predicted recall),
``summary.csv`` (mean/min/max over seeds per method and density) and one figure per
(dataset, model, recipe): average and worst-class test accuracy against dataset density, and
worst-class against average accuracy, lines = means over seeds, bands = min/max over seeds.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = ["collect", "tidy_rows", "class_rows", "summarise", "make_report"]

RUN_COLUMNS = ["run_id", "dataset", "model", "recipe", "method", "score", "quota", "rule", "density", "seed",
               "accuracy", "worst_class_accuracy", "val_accuracy", "val_worst_class_accuracy", "n_selected",
               "final_epochs", "query_val_accuracy", "query_s", "final_train_s", "total_s", "device"]


def collect(paths) -> list[dict]:
    """Every finished run JSON under ``paths`` (files or folders, searched recursively)."""
    found = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ValueError(f"no such file or folder: {str(p)!r}")
        files = [p] if p.is_file() else sorted(p.rglob("*.json"))
        for f in files:
            try:
                d = json.loads(f.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(d, dict) and d.get("status") == "done" and "metrics" in d:
                found.append(d)
    return found


def tidy_rows(results) -> list[dict]:
    rows = []
    for r in results:
        c = r["config"]
        q = r.get("query") or {}
        rows.append({
            "run_id": r["run_id"], "dataset": c["dataset"], "model": c["model"], "recipe": c["recipe"],
            "method": r["method"], "score": c["score"], "quota": c["quota"],
            "rule": c["rule"] if c["quota"] == "drop" else "", "density": c["density"], "seed": r["seed"],
            "accuracy": r["metrics"]["accuracy"],
            "worst_class_accuracy": r["metrics"]["worst_class_accuracy"],
            "val_accuracy": r["final"]["val"]["accuracy"],
            "val_worst_class_accuracy": r["final"]["val"]["worst_class_accuracy"],
            "n_selected": r["selection"]["n_selected"], "final_epochs": r["final"]["epochs"],
            "query_val_accuracy": float(np.mean(q["val_accuracy"])) if q else "",
            "query_s": r["timings"].get("query_s", 0.0), "final_train_s": r["timings"]["final_train_s"],
            "total_s": r["timings"]["total_s"], "device": r.get("device", ""),
        })
    return sorted(rows, key=lambda d: (d["dataset"], d["model"], d["method"], d["density"], d["seed"]))


def class_rows(results) -> list[dict]:
    rows = []
    for r in results:
        names = r["dataset"]["class_names"]
        sizes = r["dataset"]["class_sizes"]
        q = (r.get("query") or {}).get("recalls")
        th = r.get("theory") or {}
        pred = th.get("predicted_recalls")
        for k, name in enumerate(names):
            rows.append({
                "run_id": r["run_id"], "method": r["method"], "density": r["config"]["density"],
                "seed": r["seed"],
                "class": k, "class_name": name, "size": sizes[k], "kept": r["selection"]["class_counts"][k],
                "class_density": r["selection"]["class_densities"][k],
                "test_recall": r["metrics"]["recalls"][k], "query_recall": "" if q is None else q[k],
                "predicted_recall": "" if pred is None else pred[k],
                "predicted_drop_density": "" if not th else th["predicted_drop_densities"][k],
            })
    return rows


def summarise(rows) -> list[dict]:
    """Mean, min and max over seeds of both accuracies, per (dataset, model, recipe, method, density)."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["model"], r["recipe"], r["method"], r["rule"], r["density"])].append(r)
    out = []
    for (ds, model, recipe, method, rule, d), rs in sorted(groups.items()):
        row = {"dataset": ds, "model": model, "recipe": recipe, "method": method, "rule": rule, "density": d,
               "seeds": len(rs)}
        for m in ("accuracy", "worst_class_accuracy"):
            v = np.array([x[m] for x in rs], dtype=float)
            row.update({f"{m}_mean": v.mean(), f"{m}_min": v.min(), f"{m}_max": v.max()})
        out.append(row)
    return out


def _write_csv(rows, path: Path, columns=None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def _label(row) -> str:
    return row["method"] + (f" ({row['rule']})" if row["rule"] and row["rule"] != "paper" else "")


def plot_summary(summary, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_method = defaultdict(list)
    for r in summary:
        by_method[_label(r)].append(r)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for i, (method, rs) in enumerate(sorted(by_method.items())):
        rs = sorted(rs, key=lambda r: r["density"])
        col = f"C{i % 10}"
        d = np.array([r["density"] for r in rs])
        for ax, m in zip(axes[:2], ("accuracy", "worst_class_accuracy")):
            mean = np.array([r[f"{m}_mean"] for r in rs])
            lo, hi = np.array([r[f"{m}_min"] for r in rs]), np.array([r[f"{m}_max"] for r in rs])
            ax.errorbar(d, mean, yerr=[mean - lo, hi - mean], fmt="o-", color=col, label=method, ms=4,
                        capsize=2)
            ax.fill_between(d, lo, hi, color=col, alpha=0.2)
        ax = axes[2]
        xa = np.array([r["accuracy_mean"] for r in rs])
        yw = np.array([r["worst_class_accuracy_mean"] for r in rs])
        ax.errorbar(xa, yw, xerr=[xa - [r["accuracy_min"] for r in rs], [r["accuracy_max"] for r in rs] - xa],
                    yerr=[yw - [r["worst_class_accuracy_min"] for r in rs],
                          [r["worst_class_accuracy_max"] for r in rs] - yw],
                    fmt="o-", color=col, label=method, ms=4, capsize=2)
        for r in rs:
            ax.annotate(f"{r['density']:g}", (r["accuracy_mean"], r["worst_class_accuracy_mean"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    axes[0].set(xlabel="dataset density d", ylabel="average test accuracy")
    axes[1].set(xlabel="dataset density d", ylabel="worst-class test accuracy")
    axes[2].set(xlabel="average test accuracy", ylabel="worst-class test accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{title} (mean over seeds, bands/bars: min-max; labels in the right panel: density)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def make_report(paths, out_dir=None, plots: bool = True) -> dict:
    """Write the CSVs and figures; returns ``{"runs": n, "files": [...], "summary": rows}``."""
    results = collect(paths)
    if not results:
        raise ValueError(f"no finished run JSONs found under {[str(p) for p in paths]}")
    out = Path(out_dir) if out_dir else (Path(paths[0]) if Path(paths[0]).is_dir() else Path(paths[0]).parent)
    out = out / "report" if out_dir is None else out
    out.mkdir(parents=True, exist_ok=True)
    rows = tidy_rows(results)
    summary = summarise(rows)
    files = [out / "runs.csv", out / "classes.csv", out / "summary.csv"]
    _write_csv(rows, files[0], RUN_COLUMNS)
    _write_csv(class_rows(results), files[1])
    _write_csv(summary, files[2])
    if plots:
        groups = defaultdict(list)
        for s in summary:
            groups[(s["dataset"], s["model"], s["recipe"])].append(s)
        for (ds, model, recipe), ss in groups.items():
            f = out / f"accuracy_{ds}_{model}_{recipe}.png"
            plot_summary(ss, f, f"{ds} / {model} / {recipe} recipe")
            files.append(f)
    return {"runs": len(rows), "files": [str(f) for f in files], "summary": summary}
