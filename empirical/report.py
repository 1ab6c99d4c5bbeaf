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
and seed -- and against any other baseline asked for (``baselines``, e.g. Random+DRoP): mean, min and
max over seeds; **one 95% paired t interval over seeds** with a **verdict** (better, worse, equivalent
within a margin, undecided with the seeds that would decide it; :mod:`empirical.power`), which is what
the tables state; as a detail, per seed a paired interval over the test images
(:func:`empirical.stats.paired_difference_interval`: the exact bootstrap distribution where the
classes hold equal test images, so no seed can move it; otherwise sampled from a seed derived from
the comparison's identity) and in how many seeds it excludes 0; and the mean wall time per run.

Every run JSON is checked before use (:func:`check_run`): a missing or malformed field, a NaN
accuracy, recalls that do not match the classes or a density outside (0, 1] is a ``ValueError``
naming the file, the field and the value.

Outputs (in ``OUT``): ``runs.csv`` (one row per distinct run), ``summary.csv`` (one row per study,
density and method), ``paired.csv`` (one row per run and baseline it is paired with),
``comparisons.csv`` (one row per study, density, method and baseline: the t intervals and verdicts),
``classes.csv`` (one row per run and class), ``class_summary.csv`` (per study, density, method and
class: recall over seeds), ``README_table.md``, the figures of :mod:`empirical.report_figures` (PNG
and PDF) and ``README.md``: what the folder holds, the tables, and each figure with its caption (the
documentation site's "Real data" page shows the figures with these captions).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from gaussian_theory.atomic import atomic_write

from .options import IDENTITY_EXCLUDED, IDENTITY_NEUTRAL, IDENTITY_PINNED, RECALL_QUOTAS
from .power import DEFAULT_ACCURACY_MARGIN, DEFAULT_MARGIN, comparison_verdict, power_rows
from .stats import PAIRED_METHODS, accuracy_intervals, paired_difference_interval

__all__ = ["collect", "group_runs", "tidy_rows", "class_rows", "summarise", "paired_rows", "class_summary",
           "markdown_table", "format_summary", "folder_readme", "make_report", "scorer_class_rows",
           "scorer_rows", "scorer_markdown", "summarise_paths", "compare_markdown", "NOT_CONFIGURATION",
           "CELL_FIELDS", "check_run", "seed_differences", "comparison_rows", "comparison_markdown",
           "power_paths", "RANDOM", "PAIRED_N_BOOT"]

#: the default baseline: score random, quota none
RANDOM = "Random"
#: resamples of a paired interval where it is sampled, not computed exactly (unequal class sizes)
PAIRED_N_BOOT = 20000

#: config fields that never define a configuration: the seed, where the data lives, which device ran it,
#: and the permissions of :data:`empirical.options.IDENTITY_EXCLUDED` (e.g. ``allow_empty_classes``)
NOT_CONFIGURATION = ("seed", "data_dir", "device") + IDENTITY_EXCLUDED
#: fields of :data:`empirical.options.IDENTITY_NEUTRAL` added after reports were committed: left out of
#: the configuration while they hold their neutral value, so that the study keys -- and the seeds of the
#: sampled paired intervals derived from them -- stay those of the committed reports
QUIET_WHEN_NEUTRAL = ("image_size",)
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


def _short(value, limit: int = 80) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _number(value) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def check_run(r, where) -> None:
    """Refuse a run JSON the report cannot read: ``ValueError`` naming ``where`` (its file), the field
    and the value.

    Checked: ``config`` is an object whose ``density`` is a number in (0, 1] and whose ``score`` and
    ``quota`` are strings; ``seed`` a non-negative integer; ``run_id`` and ``method`` non-empty strings;
    ``dataset.class_names`` a non-empty list; ``metrics.accuracy`` and ``metrics.worst_class_accuracy``
    finite numbers in [0, 1]; ``metrics.recalls`` one entry per class, each in [0, 1] or null/NaN (a
    class without test images), at least one a number; ``final.val``, ``final.test``, ``final.epochs``,
    ``selection.n_selected`` / ``class_counts`` / ``class_densities`` (one per class) and
    ``timings.total_s`` / ``final_train_s`` present.
    """
    def bad(field, what, value):
        raise ValueError(f"{where}: {field} must be {what}, got {_short(value)}")

    def get(obj, field):
        path, cur = [], obj
        for part in field.split("."):
            path.append(part)
            if not isinstance(cur, dict):
                bad(".".join(path[:-1]) or "the file", "an object", cur)
            if part not in cur:
                raise ValueError(f"{where}: missing field {'.'.join(path)!r}")
            cur = cur[part]
        return cur

    if not isinstance(r, dict):
        bad("the run", "a JSON object", r)
    cfg = get(r, "config")
    if not isinstance(cfg, dict):
        bad("config", "an object", cfg)
    d = get(r, "config.density")
    if not _number(d) or not np.isfinite(d) or not 0 < d <= 1:
        bad("config.density", "a number in (0, 1]", d)
    for f in ("config.score", "config.quota"):
        if not isinstance(get(r, f), str):
            bad(f, "a string", get(r, f))
    seed = get(r, "seed")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        bad("seed", "a non-negative integer", seed)
    for f in ("run_id", "method"):
        if not isinstance(get(r, f), str) or not get(r, f):
            bad(f, "a non-empty string", get(r, f))
    names = get(r, "dataset.class_names")
    if not isinstance(names, list) or not names:
        bad("dataset.class_names", "a non-empty list", names)
    for f in ("metrics.accuracy", "metrics.worst_class_accuracy"):
        v = get(r, f)
        if not _number(v) or not np.isfinite(v) or not 0 <= v <= 1:
            bad(f, "a finite number in [0, 1]", v)
    rec = get(r, "metrics.recalls")
    if not isinstance(rec, list) or len(rec) != len(names):
        bad("metrics.recalls", f"a list of one recall per class ({len(names)} classes)", rec)
    for k, v in enumerate(rec):
        if not (v is None or (_number(v) and (np.isnan(v) or 0 <= v <= 1))):
            bad(f"metrics.recalls[{k}]", "a number in [0, 1] (or null: no test image)", v)
    if all(v is None or np.isnan(v) for v in rec):
        bad("metrics.recalls", "at least one number", rec)
    for f in ("final.val.accuracy", "final.val.worst_class_accuracy", "final.epochs", "timings.total_s",
              "timings.final_train_s", "selection.n_selected"):
        get(r, f)
    if not isinstance(get(r, "final.test"), dict):
        bad("final.test", "an object", get(r, "final.test"))
    for f in ("selection.class_counts", "selection.class_densities"):
        v = get(r, f)
        if not isinstance(v, list) or len(v) != len(names):
            bad(f, f"a list of one entry per class ({len(names)} classes)", v)


def _collect_required(paths) -> tuple[list, list]:
    """``(paths as a list, collect(paths, with_paths=True))``; ValueError when no path is given or no
    finished run JSON is found under them."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("paths must name at least one run JSON or folder")
    pairs = collect(paths, with_paths=True)
    if not pairs:
        raise ValueError(f"no finished run JSONs found under {[str(p) for p in paths]}")
    return paths, pairs


def configuration(config: dict) -> dict:
    """The fields of ``config`` that define a run's results (see the module docstring)."""
    c = {k: IDENTITY_PINNED.get(k, v) for k, v in config.items() if k not in NOT_CONFIGURATION}
    for k, v in IDENTITY_NEUTRAL.items():   # a run recorded before the field existed held this value
        if k in QUIET_WHEN_NEUTRAL:
            if c.get(k, v) == v:
                c.pop(k, None)
        else:
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
        check_run(r, path)
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
        # a field left unset (None) takes the recipe's value: say so rather than "epochs=None"; runs without
        # a data_id ran on the JPEG copy of CIFAR-10 or on synthetic data (empirical.data.data_identity)
        unset = {"data_id": "JPEG copy or synthetic"}
        extra = [f"{f}={unset.get(f, 'recipe default') if s.get(f) is None else s.get(f)}"
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
        # the diagnostics pinned in the grouping (IDENTITY_PINNED) as the runs recorded them
        st["recorded"] = {k: dict(Counter(str(r["config"].get(k, "not recorded")) for r in runs
                                          if r["_study"] == sid)) for k in IDENTITY_PINNED}
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


def _is_method(r: dict, baseline: str) -> bool:
    """Is run ``r`` a run of ``baseline``: Random is score random with quota none, any other baseline is
    a method label (``Random+DRoP``)."""
    return _is_baseline(r["_config"]) if baseline == RANDOM else r["_method"] == baseline


def _check_baseline(runs, baseline) -> str:
    if not isinstance(baseline, str) or not baseline:
        raise ValueError(f"baseline must be a method label such as 'Random+DRoP', got {baseline!r}")
    if runs and baseline != RANDOM and not any(r["_method"] == baseline for r in runs):
        methods = sorted({r["_method"] for r in runs}, key=_method_order)
        raise ValueError(f"baseline {baseline!r} is not a method of these runs; methods: "
                         f"{', '.join(methods)}")
    return baseline


def _partners(runs, baseline: str):
    """``(run, baseline run)`` for every run with a run of ``baseline`` of the same study, density and seed
    (the baseline's own runs left out)."""
    base = {(r["_study"], r["_config"]["density"], r["seed"]): r for r in runs if _is_method(r, baseline)}
    for r in runs:
        b = base.get((r["_study"], r["_config"]["density"], r["seed"]))
        if b is not None and b is not r and not _is_method(r, baseline):
            yield r, b


def paired_rows(runs, n_boot: int = PAIRED_N_BOOT, warn=None, baseline: str = RANDOM, boot_seed: int = 0,
                method: str = "auto") -> list[dict]:
    """Each run against the run of ``baseline`` (default Random: score random, quota none) of the same
    study, density and seed.

    Differences are run − baseline; ``*_low``/``*_high``: the paired 95% interval over the test images
    (:func:`empirical.stats.paired_difference_interval` with ``method``; ``*_diff_interval`` says
    whether it was computed exactly or sampled), when both runs stored their predictions on the same
    test labels (else empty, and a message is appended to the list ``warn``). Where it is sampled (``n_boot``
    resamples), its seed is :func:`gaussian_theory.validation.derive_seed` of ``boot_seed`` and the
    comparison's identity (the study's configuration, density, method, baseline, seed): a rerun gives
    the same numbers, and another ``boot_seed`` the same statements wherever they are exact.
    """
    from gaussian_theory.validation import check_int, check_seed, derive_seed

    check_int(n_boot, "n_boot", 100)
    check_seed(boot_seed, "boot_seed")
    if method not in PAIRED_METHODS:
        raise ValueError(f"method must be one of {PAIRED_METHODS}, got {method!r}")
    baseline = _check_baseline(runs, baseline)
    rows = []
    for r, b in _partners(runs, baseline):
        density = r["_config"]["density"]
        row = {"study": r["_study"], "density": density, "method": r["_method"], "baseline": baseline,
               "seed": r["seed"], "run_id": r["run_id"], "baseline_run_id": b["run_id"]}
        ta, tb = r["final"]["test"], b["final"]["test"]
        iv = None
        if ta.get("predictions") is not None and tb.get("predictions") is not None:
            if ta.get("labels") != tb.get("labels"):
                (warn if warn is not None else []).append(
                    f"{r['run_id']} and {b['run_id']} were tested on different labels: no paired interval")
            else:
                seed = derive_seed(boot_seed, "paired", r["_study_key"], density, r["_method"], baseline,
                                   r["seed"])
                iv = paired_difference_interval(ta["predictions"], tb["predictions"], ta["labels"],
                                                len(r["dataset"]["class_names"]), n_boot=n_boot, seed=seed,
                                                method=method)
        for m, short in (("accuracy", "accuracy"), ("worst_class_accuracy", "worst_class")):
            row[f"{short}"] = r["metrics"][m]
            row[f"baseline_{short}"] = b["metrics"][m]
            row[f"{short}_diff"] = r["metrics"][m] - b["metrics"][m]
            row[f"{short}_diff_low"] = iv[m]["low"] if iv else ""
            row[f"{short}_diff_high"] = iv[m]["high"] if iv else ""
            row[f"{short}_diff_interval"] = iv["methods"][m] if iv else ""
        rows.append(row)
    return rows


def seed_differences(runs, baseline: str = RANDOM) -> dict:
    """Per-seed paired differences against ``baseline``: ``{(study, density, method, baseline): {seed:
    {"accuracy": d, "worst_class_accuracy": d}}}`` (run − baseline run of the same study, density and
    seed; the input of :func:`empirical.power.power_rows` and :func:`comparison_rows`)."""
    baseline = _check_baseline(runs, baseline)
    out: dict = defaultdict(dict)
    for r, b in _partners(runs, baseline):
        out[(r["_study"], r["_config"]["density"], r["_method"], baseline)][r["seed"]] = {
            m: r["metrics"][m] - b["metrics"][m] for m in ("accuracy", "worst_class_accuracy")}
    return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1], _method_order(kv[0][2]))))


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())} if v.size else {}


#: (metric in the run JSON, short name in the tables)
_METRICS = (("accuracy", "accuracy"), ("worst_class_accuracy", "worst_class"))


def _comparison_fields(diffs, paired, short: str, margin: float, prefix: str) -> dict:
    """The columns of one metric of one comparison: mean/min/max/SD over seeds, the 95% t interval
    (``t_low``, ``t_high``), the 90% one of the equivalence test (``tost_low``, ``tost_high``), the
    margin, the verdict and the seeds that would decide it, and (detail) in how many seeds the per-seed
    interval over test images excludes 0. Empty strings where there is nothing to compute."""
    p = f"{prefix}{short}"
    st = _stats(diffs)
    out = {f"{p}_diff_{k}": st.get(k, "") for k in ("mean", "min", "max")}
    v = comparison_verdict(diffs, margin) if len(diffs) else {}

    def cell(k):
        x = v.get(k)
        return "" if x is None or (isinstance(x, float) and np.isnan(x)) else x

    out.update({f"{p}_diff_sd": cell("sd"), f"{p}_t_low": cell("low"), f"{p}_t_high": cell("high"),
                f"{p}_tost_low": cell("tost_low"), f"{p}_tost_high": cell("tost_high"), f"{p}_margin": margin,
                f"{p}_verdict": cell("verdict"), f"{p}_seeds_to_decide": cell("seeds_to_decide")})
    ivs = [x for x in paired if x[f"{short}_diff_low"] != ""]
    out[f"{p}_ci_excludes_0"] = (
        f"{sum(x[f'{short}_diff_low'] > 0 or x[f'{short}_diff_high'] < 0 for x in ivs)}/{len(ivs)}"
        if ivs else "")
    return out


def comparison_rows(runs, paired=None, baseline: str = RANDOM, margin: float = DEFAULT_MARGIN,
                    accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> list[dict]:
    """One row per study, density and method paired with ``baseline`` on the same seeds.

    Per metric (``worst_class``, ``accuracy``): the mean, min, max and SD over seeds of the paired
    difference, **the 95% paired t interval over seeds** (``*_t_low``, ``*_t_high``; it carries the
    seed-to-seed noise of training and the test-sample noise of each seed, see
    :mod:`empirical.power`), the verdict (better / worse / equivalent within ``margin`` --
    ``accuracy_margin`` for the average accuracy -- / undecided, with ``*_seeds_to_decide``), and as a
    detail ``*_ci_excludes_0``: in how many seeds the per-seed interval over test images of ``paired``
    (:func:`paired_rows` against the same baseline) excludes 0.
    """
    from gaussian_theory.validation import check_real

    margin = check_real(margin, "margin", 0.0, strict_minimum=True)
    accuracy_margin = check_real(accuracy_margin, "accuracy_margin", 0.0, strict_minimum=True)
    diffs = seed_differences(runs, baseline)
    by_cell = defaultdict(list)
    for p in paired or ():
        if p.get("baseline", RANDOM) == baseline:
            by_cell[(p["study"], p["density"], p["method"])].append(p)
    out = []
    for (sid, d, method, base), per_seed in diffs.items():
        seeds = sorted(per_seed)
        row = {"study": sid, "density": d, "method": method, "baseline": base, "n_seeds": len(seeds),
               "seeds": " ".join(map(str, seeds))}
        for m, short in reversed(_METRICS):
            row.update(_comparison_fields([per_seed[x][m] for x in seeds], by_cell.get((sid, d, method), []),
                                          short, margin if short == "worst_class" else accuracy_margin, ""))
        out.append(row)
    return out


def summarise(runs, rows, paired, margin: float = DEFAULT_MARGIN,
              accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> list[dict]:
    """One row per study, density and method: seeds, mean/min/max of both accuracies, the mean test-set
    interval half-width, the paired difference against Random (mean/min/max/SD over seeds, the 95% t
    interval over seeds and its verdict -- :func:`comparison_rows` -- and, as a detail, in how many seeds
    the per-seed interval over test images excludes 0) and the mean wall time."""
    cells = defaultdict(list)
    for r, row in zip(runs, rows):
        cells[(r["_study"], r["_config"]["density"], r["_method"])].append(row)
    pairs = defaultdict(list)
    for p in paired:
        if p.get("baseline", RANDOM) == RANDOM:
            pairs[(p["study"], p["density"], p["method"])].append(p)
    diffs = {k[:3]: v for k, v in seed_differences(runs, RANDOM).items()}
    out = []
    for key in sorted(cells, key=lambda k: (k[0], k[1], _method_order(k[2]))):
        rs, ps = cells[key], pairs.get(key, [])
        row = {"study": key[0], "dataset": rs[0]["dataset"], "model": rs[0]["model"],
               "recipe": rs[0]["recipe"], "density": key[1], "method": key[2], "n_seeds": len(rs),
               "seeds": " ".join(str(x["seed"]) for x in rs)}
        for m, short in _METRICS:
            st = _stats([x[m] for x in rs])
            row.update({f"{short}_{k}": v for k, v in st.items()})
            hw = [(x[f"{short}_high"] - x[f"{short}_low"]) / 2 for x in rs if x[f"{short}_low"] != ""]
            row[f"{short}_ci95_halfwidth_mean"] = float(np.mean(hw)) if hw else ""
        worst = Counter(x["worst_class"] for x in rs).most_common()
        row["worst_classes"] = " ".join(f"{c}:{n}" for c, n in worst)
        per_seed = diffs.get(key, {})
        row["n_pairs"] = len(per_seed)
        for m, short in _METRICS:
            row.update(_comparison_fields([per_seed[x][m] for x in sorted(per_seed)], ps, short,
                                          margin if short == "worst_class" else accuracy_margin, "paired_"))
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


def scorer_rows(runs, summary, class_rows_=None, margin: float = DEFAULT_MARGIN) -> list[dict]:
    """The scorer study, one row per study, density and scorer method: its worst-class accuracy and paired
    differences against Random (from :func:`summarise`), the two classes it prunes hardest (lowest mean
    kept density), the class whose recall falls most against Random, and -- for a scorer with quotas --
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
        row.update(_comparison_fields(diffs, [], "worst_class", margin, "repair_"))
        del row["repair_worst_class_ci_excludes_0"]             # no per-seed intervals for this pairing
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
                 "| Δ worst-class vs Random: mean [95% t], verdict, per-seed CIs excl. 0 "
                 "| Δ avg acc vs Random: mean [95% t], verdict | most-pruned classes (kept "
                 "density) | largest recall drop vs Random "
                 "| Δ worst-class vs the scorer without quotas: mean [95% t], verdict |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            gain = _paired_gain(r)
            # the kept densities as scorer_rows rounded them (three decimals): rounded once, not again
            pruned = ", ".join(f"{name} {v}" for name, v in (x.split(":") for x in r["most_pruned"].split()))
            name, drop = r["largest_recall_drop"].split(":")
            acc = _t_interval(r, "paired_accuracy")
            acc += f", {_verdict(r, 'paired_accuracy')}" if acc != "—" else ""
            repair = _t_interval(r, "repair_worst_class")
            repair += f", {_verdict(r, 'repair_worst_class')}" if repair != "—" else ""
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | {_mmm(r, 'worst_class')} "
                         f"({r['worst_class']}) | {gain} | {acc} | {pruned} | {name} {drop} | {repair} |")
        lines += ["", "Δ: paired by seed, mean [95% paired t interval over seeds] and its verdict (as in the "
                  "table above). Most-pruned classes: the two lowest "
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


def _t_interval(row, prefix) -> str:
    """``mean [95% t interval over seeds]`` of a paired difference (``prefix``: e.g.
    ``paired_worst_class``), ``mean (1 seed)`` without an interval, ``—`` without pairs."""
    if row.get(f"{prefix}_diff_mean", "") == "":
        return "—"
    if row.get(f"{prefix}_t_low", "") == "":
        return f"{row[prefix + '_diff_mean']:+.3f} (1 seed)"
    return (f"{row[prefix + '_diff_mean']:+.3f} "
            f"[{row[prefix + '_t_low']:+.3f}, {row[prefix + '_t_high']:+.3f}]")


def _verdict(row, prefix) -> str:
    """The verdict of a paired difference, with the seeds that would decide an undecided one."""
    v = row.get(f"{prefix}_verdict", "")
    if v == "":
        return "—"
    n = row.get(f"{prefix}_seeds_to_decide", "")
    return v + (f" (≈{n} seeds)" if n != "" else "")


def _margin(rows, prefix) -> str:
    vals = sorted({r[f"{prefix}_margin"] for r in rows if r.get(f"{prefix}_margin", "") != ""})
    return "/".join(f"±{v:g}" for v in vals) or "—"


def _paired_gain(row, prefix: str = "paired_worst_class") -> str:
    """The paired difference against Random: mean [95% t interval over seeds], verdict, and k/n: the seeds
    whose own interval over test images excludes 0."""
    gain = _t_interval(row, prefix)
    if gain == "—":
        return gain
    excl = row.get(f"{prefix}_ci_excludes_0")
    return f"{gain} {_verdict(row, prefix)}" + (f", {excl}" if excl else "")


_T_NOTE = ("Δ: the run minus the {base} run of the same seed and density; mean [95% paired t interval over "
           "seeds] (t with n − 1 degrees of freedom: the spread of the per-seed differences carries both "
           "the training noise and each seed's test-sample noise). Verdict: better / worse (the 95% t "
           "interval excludes 0), equivalent (the 90% t interval, two one-sided tests at 5%, lies within "
           "the margin), else undecided, with the seeds that would decide it (80% power at a difference "
           "of the margin, the observed SD). Per-seed CIs: in how many seeds the paired 95% interval over "
           "the test images (exact stratified bootstrap) excludes 0 -- a detail, not the statement.")


def markdown_table(summary, studies, study: str | None = None) -> str:
    """A Markdown table per study for the README: density, method, seeds, average and worst-class test
    accuracy (mean [min, max] over seeds), the paired differences against Random of the same seed (mean
    [95% t interval over seeds] and the verdict; as a detail, in how many seeds the paired 95% test-set
    interval excludes 0) and the wall time per run."""
    parts = []
    for sid, st in studies.items():
        if study is not None and sid != study:
            continue
        rows = [r for r in summary if r["study"] == sid]
        wm, am = _margin(rows, "paired_worst_class"), _margin(rows, "paired_accuracy")
        lines = [f"**{st['label']}** (seeds {', '.join(map(str, st['seeds']))})", "",
                 "| d | method | seeds | avg acc mean [min, max] | worst-class mean [min, max] (worst class) "
                 f"| Δ worst-class vs Random: mean [95% t interval] | verdict (margin {wm}) "
                 "| per-seed CIs excl. 0 "
                 f"| Δ avg acc vs Random: mean [95% t interval], verdict (margin {am}) "
                 "| wall time / run |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            wc = r["worst_classes"].split(" ")[0].split(":")[0]
            has = r["n_pairs"] > 0
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | {_mmm(r, 'accuracy')} | "
                         f"{_mmm(r, 'worst_class')} ({wc}) | {_t_interval(r, 'paired_worst_class')} | "
                         f"{_verdict(r, 'paired_worst_class')} | "
                         f"{(r['paired_worst_class_ci_excludes_0'] or '—') if has else '—'} | "
                         f"{_t_interval(r, 'paired_accuracy')}"
                         f"{', ' + _verdict(r, 'paired_accuracy') if has else ''} | "
                         f"{r['wall_s_mean']:.0f} s |")
        hw = {s: [r[f"{s}_ci95_halfwidth_mean"] for r in rows if r[f"{s}_ci95_halfwidth_mean"] != ""]
              for s in ("accuracy", "worst_class")}
        machines = "; ".join(f"{m} ({n} runs)" for m, n in st["machines"].items())
        lines += ["", f"Runs on: {machines}. Mean over seeds, [min, max] over seeds. "
                  + _T_NOTE.format(base="Random (score random, quota none)")]
        if hw["accuracy"]:
            lines[-1] += (f" One run's 95% test-set interval half-width: average accuracy "
                          f"{min(hw['accuracy']):.3f}–{max(hw['accuracy']):.3f}, worst-class "
                          f"{min(hw['worst_class']):.3f}–{max(hw['worst_class']):.3f}.")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def comparison_markdown(rows, studies, baseline: str) -> str:
    """A Markdown table per study of the comparisons against ``baseline`` (:func:`comparison_rows`): per
    density and method, the seeds, the paired worst-class difference (mean [95% t interval], SD over
    seeds, verdict, per-seed CIs excluding 0) and the average-accuracy difference with its verdict.
    Empty string without such rows."""
    parts = []
    for sid, st in studies.items():
        rs = [r for r in rows if r["study"] == sid and r["baseline"] == baseline]
        if not rs:
            continue
        wm, am = _margin(rs, "worst_class"), _margin(rs, "accuracy")
        lines = [f"**{st['label']}: against {baseline}**", "",
                 f"| d | method | seeds | Δ worst-class vs {baseline}: mean [95% t interval] | SD over seeds "
                 f"| verdict (margin {wm}) | per-seed CIs excl. 0 "
                 f"| Δ avg acc vs {baseline}: mean [95% t interval], verdict (margin {am}) |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in rs:
            sd = r["worst_class_diff_sd"]
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | "
                         f"{_t_interval(r, 'worst_class')} | {'—' if sd == '' else f'{sd:.3f}'} | "
                         f"{_verdict(r, 'worst_class')} | {r['worst_class_ci_excludes_0'] or '—'} | "
                         f"{_t_interval(r, 'accuracy')}, {_verdict(r, 'accuracy')} |")
        lines += ["", _T_NOTE.format(base=baseline)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


def _recorded_text(studies: dict, field: str) -> str:
    """The values a pinned diagnostic (:data:`empirical.options.IDENTITY_PINNED`, e.g. the surrogate) held
    in the runs, as they recorded them: ``tied``, or ``tied (70 runs) / isotropic (3 runs)``. The grouping
    holds the pinned value; printing that would misstate what the runs used."""
    seen = Counter()
    for st in studies.values():
        seen.update(st.get("recorded", {}).get(field, {}))
    if not seen:
        return "not recorded"
    if len(seen) == 1:
        return next(iter(seen))
    return " / ".join(f"{v} ({n} run{'s' * (n != 1)})" for v, n in seen.most_common())


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
    shown = {k: (_recorded_text(rep["studies"], k) if k in IDENTITY_PINNED else v)
             for k, v in (common or {}).items()}
    out.append("common configuration: " + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))
    for sid, st in rep["studies"].items():
        out.append(f"{sid}: {st['label']}: {st['runs']} runs, seeds {st['seeds']}"
                   + (f"; differs in {st['differs']}" if st["differs"] else ""))
        for r in rep["summary"]:
            if r["study"] != sid:
                continue
            line = (f"  d={r['density']:<4g} {r['method']:<14} seeds={r['n_seeds']} "
                    f"acc {_mmm(r, 'accuracy', 4)}  worst {_mmm(r, 'worst_class', 4)}")
            if r["n_pairs"]:
                line += (f"  vs Random: Δworst {_t_interval(r, 'paired_worst_class')}"
                         f" {_verdict(r, 'paired_worst_class')}"
                         f" (per-seed CIs excl. 0: {r['paired_worst_class_ci_excludes_0'] or '-'}),"
                         f" Δacc {_t_interval(r, 'paired_accuracy')} {_verdict(r, 'paired_accuracy')}")
            out.append(line + f"  wall {r['wall_s_mean']:.0f}s")
        for c in rep.get("comparisons", []):
            if c["study"] == sid and c["baseline"] != RANDOM:
                out.append(f"  d={c['density']:<4g} {c['method']:<14} vs {c['baseline']}: "
                           f"seeds={c['n_seeds']} "
                           f"Δworst {_t_interval(c, 'worst_class')} {_verdict(c, 'worst_class')} "
                           f"(per-seed CIs excl. 0: {c['worst_class_ci_excludes_0'] or '-'}), "
                           f"Δacc {_t_interval(c, 'accuracy')} {_verdict(c, 'accuracy')}")
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
             "method), `paired.csv` (one row per run and baseline run of the same seed and density: the "
             "per-seed paired intervals over test images), `comparisons.csv` (one row per study, density, "
             "method and baseline: the paired t interval over seeds and the verdict), "
             "`classes.csv` (one row per run and class), `class_summary.csv` (per study, density, method and "
             "class: test recall over seeds), "
             + ("`scorers.csv` and `scorer_classes.csv` (the scorer study: per scorer method, and per "
                "class its recall change against Random and kept density), " if rep.get("scorers") else "")
             + "`README_table.md` (the tables below)"
             + (", and each figure as PNG and PDF." if figures else "."), "",
             "## Tables", "", rep["markdown"].rstrip()]
    if rep.get("comparison_markdown"):
        lines += ["", rep["comparison_markdown"].rstrip()]
    if rep.get("scorer_markdown"):
        lines += ["", rep["scorer_markdown"].rstrip()]
    if figures:
        lines += ["", "## Figures"]
        for f in figures:
            alt = f["title"].replace("[", "(").replace("]", ")")   # brackets would end the image's text
            lines += ["", f"### {f['title']}", "", f"![{alt}]({f['stem']}.png)", "", f["caption"], "",
                      f"Files: `{f['stem']}.png`, `{f['stem']}.pdf`."]
    return "\n".join(lines) + "\n"


def _check_baselines(baselines) -> list[str]:
    if isinstance(baselines, str):
        baselines = [baselines]
    out = [RANDOM]
    for b in baselines or ():
        if not isinstance(b, str) or not b.strip():
            raise ValueError(f"baselines must be method labels such as 'Random+DRoP', got {b!r}")
        if b not in out:
            out.append(b)
    return out


def _check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin) -> list[str]:
    """Check the paired-statistics arguments; return the baselines, Random first."""
    from gaussian_theory.validation import check_int, check_real, check_seed

    check_int(paired_n_boot, "paired_n_boot", 100)
    check_seed(boot_seed, "boot_seed")
    check_real(margin, "margin", 0.0, strict_minimum=True)
    check_real(accuracy_margin, "accuracy_margin", 0.0, strict_minimum=True)
    return _check_baselines(baselines)


def summarise_paths(paths, n_boot: int = 2000, *, paired_n_boot: int = PAIRED_N_BOOT, boot_seed: int = 0,
                    baselines=(), margin: float = DEFAULT_MARGIN,
                    accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> dict:
    """:func:`summarise` of the run JSONs under ``paths`` without writing anything: ``{"summary",
    "comparisons", "paired", "studies", "warnings", ...}``.

    ``n_boot``: resamples of the per-run intervals missing from the JSONs (seed 0, as the pipeline
    records them); ``paired_n_boot`` and ``boot_seed``: of the per-seed paired intervals where they are
    sampled (:func:`paired_rows`); ``baselines``: methods compared with, besides Random (e.g.
    ``["Random+DRoP"]``); ``margin`` / ``accuracy_margin``: the equivalence margins of the verdicts.
    """
    from gaussian_theory.validation import check_int

    check_int(n_boot, "n_boot", 100)
    _check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin)
    paths, pairs = _collect_required(paths)
    return _summarised(pairs, n_boot, paired_n_boot=paired_n_boot, boot_seed=boot_seed, baselines=baselines,
                       margin=margin, accuracy_margin=accuracy_margin)


def _summarised(pairs, n_boot: int, *, paired_n_boot: int = PAIRED_N_BOOT, boot_seed: int = 0, baselines=(),
                margin: float = DEFAULT_MARGIN, accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> dict:
    """Group ``(path, result)`` pairs and summarise them: ``{"runs", "studies", "warnings", "files",
    "rows", "paired", "summary", "comparisons"}`` (the runs carry their intervals, see
    :func:`tidy_rows`; ``paired`` and ``comparisons`` hold Random first, then each other baseline)."""
    bases = _check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin)
    g = group_runs(pairs)
    for b in bases:
        _check_baseline(g["runs"], b)                    # every argument checked before any interval
    rows = tidy_rows(g["runs"], n_boot)
    paired, comparisons = [], []
    for b in bases:
        p = paired_rows(g["runs"], paired_n_boot, g["warnings"], baseline=b, boot_seed=boot_seed)
        paired += p
        comparisons += comparison_rows(g["runs"], p, b, margin, accuracy_margin)
    return {**g, "rows": rows, "paired": paired, "comparisons": comparisons,
            "summary": summarise(g["runs"], rows, paired, margin, accuracy_margin)}


def compare_markdown(regimes: dict, baseline: str = RANDOM) -> str:
    """Regimes side by side (e.g. the small CNN and whitenet-256): one row per density and method found in
    any regime's main study (the one with the most runs, ``S1``), per regime the seeds, the paired
    worst-class and average-accuracy differences against ``baseline`` of the same seed (mean [95% t
    interval over seeds], verdict; in how many seeds the paired 95% interval over test images excludes
    0). ``regimes``: ``{label: rows}``, the summary rows of :func:`summarise` /
    :func:`summarise_paths` (against Random) or the comparison rows of :func:`comparison_rows` (the
    ``"comparisons"`` of :func:`summarise_paths`; those against ``baseline`` are used)."""
    if not regimes:
        raise ValueError("regimes must hold at least one {label: summary rows} entry")
    for label in regimes:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"regime labels must be non-empty strings, got {label!r}")
    cells, prefix = {}, {}
    for label, rows in regimes.items():
        rows = list(rows)
        comparison = any("baseline" in r for r in rows)
        if not comparison and baseline != RANDOM:
            raise ValueError(f"regime {label!r} holds summary rows (against Random); pass its comparison "
                             f"rows to compare against {baseline!r}")
        prefix[label] = "" if comparison else "paired_"
        cells[label] = {(r["density"], r["method"]): r for r in rows if r["study"] == "S1"
                        and (not comparison or r["baseline"] == baseline)}
    keys = sorted({k for c in cells.values() for k in c if k[0] != 1 or k[1] != "Random"},
                  key=lambda k: (k[0], _method_order(k[1])))
    head = "| d | method | " + " | ".join(
        f"{lab}: seeds | {lab}: Δ worst-class vs {baseline}: mean [95% t], verdict, per-seed CIs excl. 0 | "
        f"{lab}: Δ avg acc vs {baseline}: mean [95% t], verdict" for lab in regimes) + " |"
    lines = [head, "|---|---|" + "---|---|---|" * len(regimes)]
    for k in keys:
        row = f"| {k[0]:g} | {k[1]} |"
        for lab in regimes:
            r, p = cells[lab].get(k), prefix[lab]
            if r is None:
                row += " — | — | — |"
                continue
            acc = _t_interval(r, f"{p}accuracy")
            acc += f", {_verdict(r, f'{p}accuracy')}" if acc != "—" else ""
            row += f" {r['n_seeds']} | {_paired_gain(r, f'{p}worst_class')} | {acc} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def power_paths(paths, baseline: str = RANDOM, delta: float = 0.02, margin: float = DEFAULT_MARGIN,
                power: float = 0.8, alpha: float = 0.05, sd_level: float = 0.8) -> dict:
    """The power table (:func:`empirical.power.power_rows`) of the run JSONs under ``paths``: per study,
    density and method paired with ``baseline`` on the same seeds, the worst-class difference's SD over
    seeds, its upper confidence bound, the smallest gain detectable with ``power`` and the seeds needed
    for ``delta``. Returns ``{"rows", "studies", "warnings", "files"}``."""
    power_rows({}, delta=delta, margin=margin, power=power, alpha=alpha, sd_level=sd_level)  # checks only
    if not isinstance(baseline, str) or not baseline:
        raise ValueError(f"baseline must be a method label such as 'Random+DRoP', got {baseline!r}")
    paths, pairs = _collect_required(paths)
    g = group_runs(pairs)
    diffs = seed_differences(g["runs"], baseline)
    worst = {k: {s: v["worst_class_accuracy"] for s, v in per_seed.items()} for k, per_seed in diffs.items()}
    rows = power_rows(worst, delta=delta, margin=margin, power=power, alpha=alpha, sd_level=sd_level)
    return {"rows": rows, "studies": g["studies"], "warnings": g["warnings"], "files": g["files"]}


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
                heatmap_density: float = 0.5, *, paired_n_boot: int = PAIRED_N_BOOT, boot_seed: int = 0,
                baselines=(), margin: float = DEFAULT_MARGIN,
                accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> dict:
    """Write the CSVs, the README table and the figures; return everything :func:`format_summary` prints.

    ``n_boot``, ``paired_n_boot``, ``boot_seed``, ``baselines``, ``margin``, ``accuracy_margin``: as in
    :func:`summarise_paths`. Returns ``{"n_json": JSONs read, "runs": distinct runs, "studies",
    "warnings", "summary", "paired", "comparisons", "markdown", "comparison_markdown" (the tables
    against the other baselines), "scorer_markdown", "files": [paths written]}``.
    """
    from gaussian_theory.validation import check_int, check_real

    check_int(n_boot, "n_boot", 100)
    check_real(heatmap_density, "heatmap_density", 0.0, 1.0, strict_minimum=True)
    _check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin)
    paths, pairs = _collect_required(paths)
    first = Path(paths[0])
    out = Path(out_dir) if out_dir else (first if first.is_dir() else first.parent) / "report"
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder --out {str(out)!r} is a file")
    g = _summarised(pairs, n_boot, paired_n_boot=paired_n_boot, boot_seed=boot_seed, baselines=baselines,
                    margin=margin, accuracy_margin=accuracy_margin)
    runs, rows, paired, summary = g["runs"], g["rows"], g["paired"], g["summary"]
    per_scorer_class = scorer_class_rows(runs)
    scorers = scorer_rows(runs, summary, per_scorer_class, margin)
    others = "\n".join(comparison_markdown(g["comparisons"], g["studies"], b)
                       for b in _check_baselines(baselines)[1:])
    rep = {"n_json": g["files"], "runs": len(runs), "studies": g["studies"], "warnings": g["warnings"],
           "summary": summary, "paired": paired, "comparisons": g["comparisons"], "scorers": scorers,
           "markdown": markdown_table(summary, g["studies"]), "comparison_markdown": others,
           "scorer_markdown": scorer_markdown(scorers, g["studies"])}
    written = [_write_csv(rows, out / "runs.csv", RUN_COLUMNS), _write_csv(summary, out / "summary.csv"),
               _write_csv(paired, out / "paired.csv"), _write_csv(g["comparisons"], out / "comparisons.csv"),
               _write_csv(class_rows(runs), out / "classes.csv"),
               _write_csv(class_summary(runs), out / "class_summary.csv")]
    if scorers:
        written += [_write_csv(scorers, out / "scorers.csv"),
                    _write_csv(per_scorer_class, out / "scorer_classes.csv")]
    tables = (rep["markdown"] + ("\n" + others if others else "")
              + ("\n" + rep["scorer_markdown"] if scorers else ""))
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
