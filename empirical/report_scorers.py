"""The paper's scorer-bias study in the report: ``scorers.csv`` and ``scorer_classes.csv``.

DRoP (arXiv 2404.05579) finds that "existing data pruning algorithms can produce highly biased
classifiers". For every method with a score other than ``random`` (EL2N, GraNd, Forgetting, DynUnc,
CoreSet, RCAP; with and without class quotas) that has a Random run of the same study, density and
seed: per class, the test recall change against Random and the class density it kept
(:func:`scorer_class_rows`); per scorer method, its worst class, the classes it prunes hardest and
whether the quota repairs it -- the scorer with quotas minus the same scorer without, same seed, with
its 95% t interval over seeds and verdict (:func:`scorer_rows`, with
:func:`empirical.report_comparisons.comparison_fields`). Its table is
:func:`empirical.report_tables.scorer_markdown` (documentation site, "The real-data pipeline" and
"CIFAR-10: whitenet-256", "The scorer study").
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .power import DEFAULT_MARGIN
from .report_comparisons import comparison_fields, is_random_baseline
from .report_runs import method_order

__all__ = ["scorer_class_rows", "scorer_rows"]


def _is_scorer(cfg: dict) -> bool:
    return cfg["score"] != "random"


def scorer_class_rows(runs) -> list[dict]:
    """The paper's scorer-bias study, per class: for every method with a score other than ``random`` (any
    quota; dynamic scores too), per study, density and class, the test recall minus that of the Random run
    (score random, quota none) of the same study, density and seed (mean, min and max over the paired
    seeds), and the class density the method kept (mean over those seeds; a dynamic score records its
    mean over epochs). Classes with the lowest kept density are the ones the scorer prunes hardest."""
    base = {(r["_study"], r["_config"]["density"], r["seed"]): r for r in runs
            if is_random_baseline(r["_config"])}
    cells = defaultdict(list)
    for r in runs:
        b = base.get((r["_study"], r["_config"]["density"], r["seed"]))
        if _is_scorer(r["_config"]) and b is not None:
            cells[(r["_study"], r["_config"]["density"], r["_config"]["score"], r["_method"])].append((r, b))
    out = []
    for (sid, d, score, method) in sorted(cells, key=lambda k: (k[0], k[1], k[2], method_order(k[3]))):
        prs = cells[(sid, d, score, method)]
        change = np.array([np.subtract(r["metrics"]["recalls"], b["metrics"]["recalls"], dtype=float)
                           for r, b in prs])
        dens = np.array([r["metrics"].get("class_densities", r["selection"]["class_densities"])
                         for r, _ in prs], dtype=float)
        for k, name in enumerate(prs[0][0]["dataset"]["class_names"]):
            out.append({"study": sid, "density": d, "score": score, "method": method,
                        "quota": prs[0][0]["_config"]["quota"], "class": k, "class_name": name,
                        "n_pairs": len(prs), "seeds": " ".join(str(r["seed"]) for r, _ in prs),
                        "recall_change_mean": float(change[:, k].mean()),
                        "recall_change_min": float(change[:, k].min()),
                        "recall_change_max": float(change[:, k].max()),
                        "kept_density_mean": float(dens[:, k].mean())})
    return out


def scorer_rows(runs, summary, class_rows_=None, margin: float = DEFAULT_MARGIN) -> list[dict]:
    """The scorer study, one row per study, density and scorer method: its worst-class accuracy and paired
    differences against Random (from :func:`empirical.report_comparisons.summarise`), the two classes it
    prunes hardest (lowest mean kept density), the class whose recall falls most against Random, and --
    for a scorer with quotas --
    the paired worst-class difference against the same scorer without quotas (same seed; mean, min,
    max, the 95% t interval over seeds and its verdict with ``margin``): does the quota repair it?"""
    per_class = class_rows_ if class_rows_ is not None else scorer_class_rows(runs)
    cells = defaultdict(list)
    for c in per_class:
        cells[(c["study"], c["density"], c["score"], c["method"])].append(c)
    summ = {(r["study"], r["density"], r["method"]): r for r in summary}
    alone = {(r["_study"], r["_config"]["density"], r["_config"]["score"], r["seed"]): r for r in runs
             if _is_scorer(r["_config"]) and r["_config"]["quota"] == "none"}
    out = []
    for (sid, d, score, method), cs in cells.items():
        s = summ[(sid, d, method)]
        pruned = sorted(cs, key=lambda c: c["kept_density_mean"])[:2]
        hit = min(cs, key=lambda c: c["recall_change_mean"])
        row = {"study": sid, "density": d, "score": score, "method": method, "quota": cs[0]["quota"],
               "n_seeds": s["n_seeds"], "worst_class_mean": s["worst_class_mean"],
               "worst_class_min": s["worst_class_min"], "worst_class_max": s["worst_class_max"],
               "worst_class": s["worst_classes"].split(" ")[0].split(":")[0]}
        row.update({k: s[k] for k in s if k.startswith("paired_")})
        row["most_pruned"] = " ".join(f"{c['class_name']}:{c['kept_density_mean']:.3f}" for c in pruned)
        row["largest_recall_drop"] = f"{hit['class_name']}:{hit['recall_change_mean']:+.3f}"
        diffs = []
        if cs[0]["quota"] != "none":
            for r in runs:
                c = r["_config"]
                a = alone.get((sid, d, score, r["seed"]))
                if r["_study"] == sid and c["density"] == d and r["_method"] == method and a is not None:
                    diffs.append(r["metrics"]["worst_class_accuracy"] - a["metrics"]["worst_class_accuracy"])
        row["repair_n_pairs"] = len(diffs)
        row.update(comparison_fields(diffs, [], "worst_class", margin, "repair_"))
        del row["repair_worst_class_ci_excludes_0"]             # no per-seed intervals for this pairing
        out.append(row)
    return out
