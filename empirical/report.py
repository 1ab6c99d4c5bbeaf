"""Collect run JSONs into tidy CSVs, per-configuration summaries, paired comparisons and figures.

Configurations are never mixed. A run's **configuration** is its whole ``config`` except ``seed``,
``data_dir`` and ``device`` (where the data lives and which device ran it; a field added later
counts, when missing, as its value of :data:`empirical.options.IDENTITY_NEUTRAL` -- the behaviour
before it existed -- and the DRoP ``rule`` and damping ``alpha`` are ignored unless the quota is
computed from recalls). Copies of one run (same configuration and seed, e.g. a results folder copied
twice) count once, with a warning naming the files. Configurations that differ only in
(density, score, quota, rule, alpha, and explicit counts with their label) form one **study** (a density
and a method make a cell); studies
are reported separately and the fields that tell them apart are printed.

Per study and (density, method): the number of distinct seeds; mean, min and max over seeds of
average and worst-class test accuracy; the mean half-width of the per-run 95% test-set intervals
(:mod:`empirical.stats`; recomputed from the stored predictions when a JSON lacks ``intervals``); the
**paired difference** against Random (score ``random``, quota ``none``) of the same study, density
and seed: mean, min and max over seeds, and per seed a paired bootstrap interval over the test
images; and the mean wall time per run.

Outputs (in ``OUT``): ``runs.csv`` (one row per distinct run), ``summary.csv`` (one row per study,
density and method), ``paired.csv`` (one row per run with a Random partner), ``classes.csv`` (one
row per run and class), ``class_summary.csv`` (per study, density, method and class: recall over
seeds), ``README_table.md``, the figures of :mod:`empirical.report_figures` (PNG and PDF) and
``README.md``: what the folder holds, the tables, and each figure with its caption (the documentation
site's "Real data" page shows the figures with these captions).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from gaussian_theory.atomic import atomic_write

from .options import IDENTITY_NEUTRAL, IDENTITY_PINNED, RECALL_QUOTAS
from .stats import accuracy_intervals, paired_difference_interval

__all__ = ["collect", "group_runs", "tidy_rows", "class_rows", "summarise", "paired_rows", "class_summary",
           "markdown_table", "format_summary", "folder_readme", "make_report", "scorer_class_rows",
           "scorer_rows", "scorer_markdown", "summarise_paths", "compare_markdown", "NOT_CONFIGURATION",
           "CELL_FIELDS"]

NOT_CONFIGURATION = ("seed", "data_dir", "device")
#: the fields that make a cell of a study (a density and a method); every other field defines the study
CELL_FIELDS = ("density", "score", "quota", "rule", "alpha", "class_counts", "class_densities",
               "counts_label")

RUN_COLUMNS = ["study", "run_id", "dataset", "model", "recipe", "method", "score", "quota", "rule", "density",
               "seed", "accuracy", "accuracy_low", "accuracy_high", "worst_class_accuracy", "worst_class_low",
               "worst_class_high", "worst_class", "val_accuracy", "val_worst_class_accuracy", "n_selected",
               "final_epochs", "query_val_accuracy", "query_s", "final_train_s", "total_s", "device",
               "precision", "intervals", "path"]


# ----------------------------------------------------------------------------- collecting and grouping
def collect(paths, with_paths: bool = False) -> list:
    """Every finished run JSON under ``paths`` (files or folders, searched recursively, sorted by path).

    With ``with_paths``, ``(path, result)`` pairs. Files that are not finished run JSONs are skipped.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
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
            if isinstance(d, dict) and d.get("status") == "done" and "metrics" in d and "config" in d:
                found.append((f, d))
    return found if with_paths else [d for _, d in found]


def configuration(config: dict) -> dict:
    """The fields of ``config`` that define a run's results (see the module docstring)."""
    c = {k: IDENTITY_PINNED.get(k, v) for k, v in config.items() if k not in NOT_CONFIGURATION}
    for k, v in IDENTITY_NEUTRAL.items():   # a run recorded before the field existed held this value
        c.setdefault(k, v)
    if c.get("quota") not in RECALL_QUOTAS:   # the rule and the damping only act on recall quotas
        c["rule"] = None
        c["alpha"] = IDENTITY_NEUTRAL["alpha"]
    if c.get("quota") == "counts" and c.get("counts_label"):
        # a named rule computed per seed (e.g. the learned allocation): one method whatever its counts
        c["class_counts"] = c["class_densities"] = None
    return c


def _key(d: dict) -> str:
    return json.dumps(d, sort_keys=True, default=str)


def _method(r: dict, cfg: dict) -> str:
    """The pipeline's method label (``Random+DRoP``), with the DRoP rule when it is not the paper's."""
    custom = cfg["quota"] in RECALL_QUOTAS and cfg["rule"] != "paper"
    return r["method"] + (f" ({cfg['rule']} rule)" if custom else "")


def group_runs(pairs) -> dict:
    """Distinct runs grouped into studies, from ``(path, result)`` pairs (:func:`collect`).

    Returns ``{"runs": [run, ...], "studies": {study_id: {...}}, "warnings": [...], "files": n}``; each
    run is the result dict with ``_path``, ``_config`` (:func:`configuration`), ``_study`` and
    ``_method`` added. A study holds ``label``, ``config`` (its common fields), ``differs`` (the fields
    that tell it apart from the other studies) and ``seeds``.
    """
    by_run: dict[tuple, list] = defaultdict(list)
    for path, r in pairs:
        by_run[(_key(configuration(r["config"])), int(r["seed"]))].append((str(path), r))
    runs, warns = [], []
    for (_, seed), copies in by_run.items():
        path, r = copies[0]
        if len(copies) > 1:
            accs = {(round(c[1]["metrics"]["accuracy"], 6), round(c[1]["metrics"]["worst_class_accuracy"], 6))
                    for c in copies}
            warns.append(f"{len(copies)} copies of one run (same configuration, seed {seed}) counted once: "
                         + ", ".join(c[0] for c in copies)
                         + ("" if len(accs) == 1
                            else f" - their (accuracy, worst-class accuracy) DIFFER {sorted(accs)}; using "
                                 f"{path}"))
        cfg = configuration(r["config"])
        runs.append({**r, "_path": path, "_config": cfg})
    study_cfgs = {}
    for r in runs:
        s = {k: v for k, v in r["_config"].items() if k not in CELL_FIELDS}
        r["_study_key"] = _key(s)
        study_cfgs[r["_study_key"]] = s
    size = Counter(r["_study_key"] for r in runs)
    keys = sorted(study_cfgs, key=lambda k: (-size[k], k))   # S1: the study with the most runs
    fields = sorted({k for s in study_cfgs.values() for k in s})
    differ = [f for f in fields if len({_key(s.get(f)) for s in study_cfgs.values()}) > 1]
    studies = {}
    for i, k in enumerate(keys):
        s = study_cfgs[k]
        base = f"{s.get('dataset')}/{s.get('model')}/{s.get('recipe')}"
        # a field left unset (None) takes the recipe's value: say so rather than "epochs=None"
        extra = [f"{f}={'recipe default' if s.get(f) is None else s.get(f)}"
                 for f in differ if f not in ("dataset", "model", "recipe")]
        sid = f"S{i + 1}" if len(keys) > 1 else "S1"
        studies[sid] = {"id": sid, "key": k, "config": s, "differs": {f: s.get(f) for f in differ},
                        "label": base + (f" [{', '.join(extra)}]" if extra else "")}
    by_key = {v["key"]: sid for sid, v in studies.items()}
    for r in runs:
        r["_study"] = by_key[r["_study_key"]]
        r["_method"] = _method(r, r["_config"])
    runs.sort(key=lambda r: (r["_study"], r["_config"]["density"], r["_method"], r["seed"]))
    for sid, st in studies.items():
        st["seeds"] = sorted({r["seed"] for r in runs if r["_study"] == sid})
        st["runs"] = sum(r["_study"] == sid for r in runs)
        st["machines"] = dict(Counter(f"{r.get('device', '?')}, {r.get('precision', '?')}"
                                      for r in runs if r["_study"] == sid))
    return {"runs": runs, "studies": studies, "warnings": warns, "files": len(pairs)}


# ----------------------------------------------------------------------------- per-run rows
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
    """One row per run (:data:`RUN_COLUMNS`); runs as returned by :func:`group_runs`."""
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


# ----------------------------------------------------------------------------- paired and summaries
def _is_baseline(cfg: dict) -> bool:
    return cfg["score"] == "random" and cfg["quota"] == "none"


def paired_rows(runs, n_boot: int = 2000, warn=None) -> list[dict]:
    """Each run against the Random run (score random, quota none) of the same study, density and seed.

    Differences are run − Random; ``*_low``/``*_high``: paired stratified bootstrap over the test images
    (:func:`empirical.stats.paired_difference_interval`), when both runs stored their predictions on
    the same test labels (else empty, and a message is appended to the list ``warn``).
    """
    base = {(r["_study"], r["_config"]["density"], r["seed"]): r for r in runs if _is_baseline(r["_config"])}
    rows = []
    for r in runs:
        b = base.get((r["_study"], r["_config"]["density"], r["seed"]))
        if b is None or b is r:
            continue
        row = {"study": r["_study"], "density": r["_config"]["density"], "method": r["_method"],
               "seed": r["seed"], "run_id": r["run_id"], "random_run_id": b["run_id"]}
        ta, tb = r["final"]["test"], b["final"]["test"]
        iv = None
        if ta.get("predictions") is not None and tb.get("predictions") is not None:
            if ta["labels"] != tb["labels"]:
                (warn if warn is not None else []).append(
                    f"{r['run_id']} and {b['run_id']} were tested on different labels: no paired interval")
            else:
                iv = paired_difference_interval(ta["predictions"], tb["predictions"], ta["labels"],
                                                len(r["dataset"]["class_names"]), n_boot=n_boot)
        for m, short in (("accuracy", "accuracy"), ("worst_class_accuracy", "worst_class")):
            row[f"{short}"] = r["metrics"][m]
            row[f"random_{short}"] = b["metrics"][m]
            row[f"{short}_diff"] = r["metrics"][m] - b["metrics"][m]
            row[f"{short}_diff_low"] = iv[m]["low"] if iv else ""
            row[f"{short}_diff_high"] = iv[m]["high"] if iv else ""
        rows.append(row)
    return rows


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())} if v.size else {}


def summarise(runs, rows, paired) -> list[dict]:
    """One row per study, density and method: seeds, mean/min/max of both accuracies, the mean test-set
    interval half-width, the paired difference against Random (mean/min/max over seeds, and in how many
    seeds its paired interval excludes 0) and the mean wall time."""
    cells = defaultdict(list)
    for r, row in zip(runs, rows):
        cells[(r["_study"], r["_config"]["density"], r["_method"])].append(row)
    pairs = defaultdict(list)
    for p in paired:
        pairs[(p["study"], p["density"], p["method"])].append(p)
    out = []
    for key in sorted(cells, key=lambda k: (k[0], k[1], _method_order(k[2]))):
        rs, ps = cells[key], pairs.get(key, [])
        row = {"study": key[0], "dataset": rs[0]["dataset"], "model": rs[0]["model"],
               "recipe": rs[0]["recipe"], "density": key[1], "method": key[2], "n_seeds": len(rs),
               "seeds": " ".join(str(x["seed"]) for x in rs)}
        for m, short in (("accuracy", "accuracy"), ("worst_class_accuracy", "worst_class")):
            st = _stats([x[m] for x in rs])
            row.update({f"{short}_{k}": v for k, v in st.items()})
            hw = [(x[f"{short}_high"] - x[f"{short}_low"]) / 2 for x in rs if x[f"{short}_low"] != ""]
            row[f"{short}_ci95_halfwidth_mean"] = float(np.mean(hw)) if hw else ""
        worst = Counter(x["worst_class"] for x in rs).most_common()
        row["worst_classes"] = " ".join(f"{c}:{n}" for c, n in worst)
        row["n_pairs"] = len(ps)
        for short in ("accuracy", "worst_class"):
            st = _stats([p[f"{short}_diff"] for p in ps])
            for k in ("mean", "min", "max"):
                row[f"paired_{short}_diff_{k}"] = st.get(k, "")
            ivs = [p for p in ps if p[f"{short}_diff_low"] != ""]
            row[f"paired_{short}_ci_excludes_0"] = (
                f"{sum(p[f'{short}_diff_low'] > 0 or p[f'{short}_diff_high'] < 0 for p in ivs)}/{len(ivs)}"
                if ivs else "")
        row["wall_s_mean"] = float(np.mean([x["total_s"] for x in rs]))
        out.append(row)
    return out


def _method_order(name: str):
    base = name.split("+")[0].split(" ")[0]
    return (base != "Random", base, name)


def class_summary(runs) -> list[dict]:
    """Per study, density, method and class: test recall mean, min and max over seeds."""
    cells = defaultdict(list)
    for r in runs:
        cells[(r["_study"], r["_config"]["density"], r["_method"])].append(r)
    out = []
    for (sid, d, m) in sorted(cells, key=lambda k: (k[0], k[1], _method_order(k[2]))):
        rs = cells[(sid, d, m)]
        rec = np.array([r["metrics"]["recalls"] for r in rs], dtype=float)
        for k, name in enumerate(rs[0]["dataset"]["class_names"]):
            out.append({"study": sid, "density": d, "method": m, "class": k, "class_name": name,
                        "n_seeds": len(rs), "recall_mean": float(rec[:, k].mean()),
                        "recall_min": float(rec[:, k].min()), "recall_max": float(rec[:, k].max())})
    return out


# ----------------------------------------------------------------------------- the scorer study
def _is_scorer(cfg: dict) -> bool:
    return cfg["score"] != "random"


def scorer_class_rows(runs) -> list[dict]:
    """The paper's scorer-bias study, per class: for every method with a score other than ``random`` (any
    quota; dynamic scores too), per study, density and class, the test recall minus that of the Random run
    (score random, quota none) of the same study, density and seed (mean, min and max over the paired
    seeds), and the class density the method kept (mean over those seeds; a dynamic score records its
    mean over epochs). Classes with the lowest kept density are the ones the scorer prunes hardest."""
    base = {(r["_study"], r["_config"]["density"], r["seed"]): r for r in runs if _is_baseline(r["_config"])}
    cells = defaultdict(list)
    for r in runs:
        b = base.get((r["_study"], r["_config"]["density"], r["seed"]))
        if _is_scorer(r["_config"]) and b is not None:
            cells[(r["_study"], r["_config"]["density"], r["_config"]["score"], r["_method"])].append((r, b))
    out = []
    for (sid, d, score, method) in sorted(cells, key=lambda k: (k[0], k[1], k[2], _method_order(k[3]))):
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


def scorer_rows(runs, summary, class_rows_=None) -> list[dict]:
    """The scorer study, one row per study, density and scorer method: its worst-class accuracy and paired
    differences against Random (from :func:`summarise`), the two classes it prunes hardest (lowest mean
    kept density), the class whose recall falls most against Random, and -- for a scorer with quotas --
    the paired worst-class difference against the same scorer without quotas (same seed): does the quota
    repair it?"""
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
        st = _stats(diffs)
        row["repair_n_pairs"] = len(diffs)
        for k in ("mean", "min", "max"):
            row[f"repair_worst_class_diff_{k}"] = st.get(k, "")
        out.append(row)
    return out


def scorer_markdown(rows, studies) -> str:
    """The scorer study's Markdown table, per study (empty string without scorer runs)."""
    parts = []
    for sid, st in studies.items():
        rs = [r for r in rows if r["study"] == sid]
        if not rs:
            continue
        lines = [f"**Scorer study: {st['label']}**", "",
                 "| d | method | seeds | worst-class mean [min, max] (worst class) "
                 "| Δ worst-class vs Random (CI excl. 0) | Δ avg acc vs Random | most-pruned classes (kept "
                 "density) | largest recall drop vs Random | Δ worst-class vs the scorer without quotas |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            gain = _paired_gain(r)
            pruned = ", ".join(f"{name} {float(v):.2f}"
                               for name, v in (x.split(":") for x in r["most_pruned"].split()))
            name, drop = r["largest_recall_drop"].split(":")
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | {_mmm(r, 'worst_class')} "
                         f"({r['worst_class']}) | {gain} | {_signed(r, 'paired_accuracy_diff')} | {pruned} | "
                         f"{name} {drop} | {_signed(r, 'repair_worst_class_diff')} |")
        lines += ["", "Δ: paired by seed (mean [min, max] over seeds). Most-pruned classes: the two lowest "
                  "kept class densities (mean over seeds; a dynamic score: mean over epochs). The last "
                  "column is the scorer with quotas minus the same scorer without, same seed: above 0 the "
                  "quota repairs the worst class."]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


# ----------------------------------------------------------------------------- text
def _mmm(row, prefix, digits=3) -> str:
    if row.get(f"{prefix}_mean", "") == "":
        return "—"
    f = f"{{:.{digits}f}}"
    return (f"{f.format(row[prefix + '_mean'])} [{f.format(row[prefix + '_min'])}, "
            f"{f.format(row[prefix + '_max'])}]")


def _signed(row, prefix) -> str:
    if row.get(f"{prefix}_mean", "") == "":
        return "—"
    return f"{row[prefix + '_mean']:+.3f} [{row[prefix + '_min']:+.3f}, {row[prefix + '_max']:+.3f}]"


def _paired_gain(row) -> str:
    """The paired worst-class difference against Random, mean [min, max], with (k/n) seeds whose paired
    interval excludes 0."""
    gain = _signed(row, "paired_worst_class_diff")
    excl = row.get("paired_worst_class_ci_excludes_0")
    return gain + (f" ({excl})" if excl else "")


def markdown_table(summary, studies, study: str | None = None) -> str:
    """A Markdown table per study for the README: density, method, seeds, average and worst-class test
    accuracy (mean [min, max] over seeds), the paired differences against Random of the same seed (mean
    [min, max]; in how many seeds the paired 95% test-set interval excludes 0) and the wall time per run."""
    parts = []
    for sid, st in studies.items():
        if study is not None and sid != study:
            continue
        rows = [r for r in summary if r["study"] == sid]
        lines = [f"**{st['label']}** (seeds {', '.join(map(str, st['seeds']))})", "",
                 "| d | method | seeds | avg acc mean [min, max] | worst-class mean [min, max] (worst class) "
                 "| Δ worst-class vs Random mean [min, max] (CI excl. 0) "
                 "| Δ avg acc vs Random mean [min, max] | wall time / run |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            wc = r["worst_classes"].split(" ")[0].split(":")[0]
            gain = _paired_gain(r)
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | {_mmm(r, 'accuracy')} | "
                         f"{_mmm(r, 'worst_class')} ({wc}) | {gain} | {_signed(r, 'paired_accuracy_diff')} | "
                         f"{r['wall_s_mean']:.0f} s |")
        hw = {s: [r[f"{s}_ci95_halfwidth_mean"] for r in rows if r[f"{s}_ci95_halfwidth_mean"] != ""]
              for s in ("accuracy", "worst_class")}
        machines = "; ".join(f"{m} ({n} runs)" for m, n in st["machines"].items())
        lines += ["", f"Runs on: {machines}. Mean over seeds, [min, max] over seeds. Δ: the run minus the "
                  "Random run (score random, quota none) of the same seed and density; (k/n): seeds whose "
                  "paired 95% test-set interval (stratified bootstrap over test images) excludes 0."]
        if hw["accuracy"]:
            lines[-1] += (f" One run's 95% test-set interval half-width: average accuracy "
                          f"{min(hw['accuracy']):.3f}–{max(hw['accuracy']):.3f}, worst-class "
                          f"{min(hw['worst_class']):.3f}–{max(hw['worst_class']):.3f}.")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def format_summary(rep: dict) -> str:
    """What was grouped and the per-cell numbers, as printed by ``droplab empirical report``."""
    out = [f"{rep['n_json']} run JSON(s) -> {rep['runs']} distinct run(s) in {len(rep['studies'])} "
           f"configuration(s) (grouped by every config field except {', '.join(NOT_CONFIGURATION)}; "
           f"varying within a configuration: {', '.join(CELL_FIELDS)})"]
    out += [f"warning: {w}" for w in rep["warnings"]]
    common = None
    for st in rep["studies"].values():
        c = {k: v for k, v in st["config"].items() if k not in st["differs"]}
        common = c if common is None else {k: v for k, v in common.items() if c.get(k) == v}
    out.append("common configuration: " + ", ".join(f"{k}={v}" for k, v in sorted((common or {}).items())))
    for sid, st in rep["studies"].items():
        out.append(f"{sid}: {st['label']}: {st['runs']} runs, seeds {st['seeds']}"
                   + (f"; differs in {st['differs']}" if st["differs"] else ""))
        for r in rep["summary"]:
            if r["study"] != sid:
                continue
            line = (f"  d={r['density']:<4g} {r['method']:<14} seeds={r['n_seeds']} "
                    f"acc {_mmm(r, 'accuracy', 4)}  worst {_mmm(r, 'worst_class', 4)}")
            if r["n_pairs"]:
                line += (f"  vs Random: Δworst {_signed(r, 'paired_worst_class_diff')}"
                         f" (CI excl. 0: {r['paired_worst_class_ci_excludes_0'] or '-'}),"
                         f" Δacc {_signed(r, 'paired_accuracy_diff')}")
            out.append(line + f"  wall {r['wall_s_mean']:.0f}s")
    return "\n".join(out)


def folder_readme(rep: dict, figures=(), sources=()) -> str:
    """``README.md`` of the report folder: how it was made, what each file holds, the tables
    (:func:`markdown_table`) and, under "## Figures", one section per figure (``figures``: the
    ``{"stem", "title", "caption"}`` of :func:`empirical.report_figures.figure_captions`)."""
    src = " ".join(f"`{p}`" for p in sources)
    lines = ["# droplab empirical report", "",
             "Generated by `droplab empirical report` (this file included; do not edit by hand: the captions "
             "are written by `empirical/report_figures.py`) from "
             f"{rep['n_json']} run JSON(s){' under ' + src if src else ''}: {rep['runs']} distinct run(s) "
             f"in {len(rep['studies'])} configuration(s).", "",
             "Files: `runs.csv` (one row per distinct run), `summary.csv` (one row per study, density and "
             "method), `paired.csv` (one row per run with a Random partner of the same seed and density), "
             "`classes.csv` (one row per run and class), `class_summary.csv` (per study, density, method and "
             "class: test recall over seeds), "
             + ("`scorers.csv` and `scorer_classes.csv` (the scorer study: per scorer method, and per "
                "class its recall change against Random and kept density), " if rep.get("scorers") else "")
             + "`README_table.md` (the tables below)"
             + (", and each figure as PNG and PDF." if figures else "."), "",
             "## Tables", "", rep["markdown"].rstrip()]
    if rep.get("scorer_markdown"):
        lines += ["", rep["scorer_markdown"].rstrip()]
    if figures:
        lines += ["", "## Figures"]
        for f in figures:
            alt = f["title"].replace("[", "(").replace("]", ")")   # brackets would end the image's text
            lines += ["", f"### {f['title']}", "", f"![{alt}]({f['stem']}.png)", "", f["caption"], "",
                      f"Files: `{f['stem']}.png`, `{f['stem']}.pdf`."]
    return "\n".join(lines) + "\n"


def summarise_paths(paths, n_boot: int = 2000) -> dict:
    """:func:`summarise` of the run JSONs under ``paths`` without writing anything: ``{"summary",
    "studies", "warnings", ...}``."""
    from gaussian_theory.validation import check_int

    check_int(n_boot, "n_boot", 100)
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    pairs = collect(paths, with_paths=True)
    if not pairs:
        raise ValueError(f"no finished run JSONs found under {[str(p) for p in paths]}")
    return _summarised(pairs, n_boot)


def _summarised(pairs, n_boot: int) -> dict:
    """Group ``(path, result)`` pairs and summarise them: ``{"runs", "studies", "warnings", "files",
    "rows", "paired", "summary"}`` (the runs carry their intervals, see :func:`tidy_rows`)."""
    g = group_runs(pairs)
    rows = tidy_rows(g["runs"], n_boot)
    paired = paired_rows(g["runs"], n_boot, g["warnings"])
    return {**g, "rows": rows, "paired": paired, "summary": summarise(g["runs"], rows, paired)}


def compare_markdown(regimes: dict) -> str:
    """Regimes side by side (e.g. the small CNN and whitenet-256): one row per density and method found in
    any regime's main study (the one with the most runs, ``S1``), per regime the seeds, the paired
    worst-class and average-accuracy differences against Random of the same seed (mean [min, max] over
    seeds; in how many seeds the paired 95% interval excludes 0). ``regimes``: ``{label: summary rows}``
    (:func:`summarise` or :func:`summarise_paths`)."""
    if not regimes:
        raise ValueError("regimes must hold at least one {label: summary rows} entry")
    cells = {label: {(r["density"], r["method"]): r for r in rows if r["study"] == "S1"}
             for label, rows in regimes.items()}
    keys = sorted({k for c in cells.values() for k in c if k[0] != 1 or k[1] != "Random"},
                  key=lambda k: (k[0], _method_order(k[1])))
    head = "| d | method | " + " | ".join(f"{lab}: seeds | {lab}: Δ worst-class vs Random (CI excl. 0) | "
                                         f"{lab}: Δ avg acc vs Random" for lab in regimes) + " |"
    lines = [head, "|---|---|" + "---|---|---|" * len(regimes)]
    for k in keys:
        row = f"| {k[0]:g} | {k[1]} |"
        for lab in regimes:
            r = cells[lab].get(k)
            if r is None:
                row += " — | — | — |"
                continue
            gain = _paired_gain(r)
            row += f" {r['n_seeds']} | {gain} | {_signed(r, 'paired_accuracy_diff')} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- writing
def _write_csv(rows, path: Path, columns=None) -> Path:
    columns = columns or (list(rows[0]) if rows else ["empty"])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    text = buf.getvalue()
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def make_report(paths, out_dir=None, plots: bool = True, n_boot: int = 2000,
                heatmap_density: float = 0.5) -> dict:
    """Write the CSVs, the README table and the figures; return everything :func:`format_summary` prints.

    Returns ``{"n_json": JSONs read, "runs": distinct runs, "studies", "warnings", "summary", "paired",
    "markdown", "files": [paths written]}``.
    """
    from gaussian_theory.validation import check_int, check_real

    check_int(n_boot, "n_boot", 100)
    check_real(heatmap_density, "heatmap_density", 0.0, 1.0, strict_minimum=True)
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("paths must name at least one run JSON or folder")
    pairs = collect(paths, with_paths=True)
    if not pairs:
        raise ValueError(f"no finished run JSONs found under {[str(p) for p in paths]}")
    first = Path(paths[0])
    out = Path(out_dir) if out_dir else (first if first.is_dir() else first.parent) / "report"
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder --out {str(out)!r} is a file")
    g = _summarised(pairs, n_boot)
    runs, rows, paired, summary = g["runs"], g["rows"], g["paired"], g["summary"]
    per_scorer_class = scorer_class_rows(runs)
    scorers = scorer_rows(runs, summary, per_scorer_class)
    rep = {"n_json": g["files"], "runs": len(runs), "studies": g["studies"], "warnings": g["warnings"],
           "summary": summary, "paired": paired, "scorers": scorers,
           "markdown": markdown_table(summary, g["studies"]),
           "scorer_markdown": scorer_markdown(scorers, g["studies"])}
    written = [_write_csv(rows, out / "runs.csv", RUN_COLUMNS), _write_csv(summary, out / "summary.csv"),
               _write_csv(paired, out / "paired.csv"), _write_csv(class_rows(runs), out / "classes.csv"),
               _write_csv(class_summary(runs), out / "class_summary.csv")]
    if scorers:
        written += [_write_csv(scorers, out / "scorers.csv"),
                    _write_csv(per_scorer_class, out / "scorer_classes.csv")]
    tables = rep["markdown"] + ("\n" + rep["scorer_markdown"] if scorers else "")
    written.append(atomic_write(out / "README_table.md", lambda tmp: Path(tmp).write_text(tables)))
    figures = []
    if plots:
        from .report_figures import figure_captions, write_figures

        per_class = class_summary(runs)
        written += write_figures(summary, per_class, g["studies"], out, heatmap_density, per_scorer_class)
        figures = figure_captions(summary, per_class, g["studies"], heatmap_density, per_scorer_class)
    readme = folder_readme(rep, figures, [str(p) for p in paths])
    written.append(atomic_write(out / "README.md",
                                lambda tmp: Path(tmp).write_text(readme, encoding="utf-8")))
    rep["files"] = [str(f) for f in written]
    return rep
