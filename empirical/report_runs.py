"""Collect run JSONs and group them into studies: what ``droplab empirical report`` reads, and how.

Configurations are never mixed. A run's **configuration** (:func:`configuration`) is its whole
``config`` except ``seed``, ``data_dir`` and ``device`` (where the data lives and which device ran it;
a field added later counts, when missing, as its value of :data:`empirical.options.IDENTITY_NEUTRAL`
-- the behaviour before it existed -- and the DRoP ``rule`` and damping ``alpha`` are ignored unless
the quota is computed from recalls). Copies of one run (same configuration and seed, e.g. a results
folder copied twice) count once, with a warning naming the files. Configurations that differ only in
(density, score, quota, rule, alpha, and explicit counts with their label) form one **study** (a density
and a method make a cell; :func:`group_runs`); studies are reported separately and the fields that tell
them apart are printed.

Every run JSON is checked before use (:func:`check_run`): a missing or malformed field, a NaN
accuracy, recalls that do not match the classes or a density outside (0, 1] is a ``ValueError``
naming the file, the field and the value.

The grouped runs feed the rows of :mod:`empirical.report_rows`, the paired comparisons of
:mod:`empirical.report_comparisons` and the report of :mod:`empirical.report` (documentation site,
"The real-data pipeline"; the data identity that keeps the original pixels and the JPEG copy in
different studies: same page, "Data identity").
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .options import IDENTITY_EXCLUDED, IDENTITY_NEUTRAL, IDENTITY_PINNED, RECALL_QUOTAS

__all__ = ["collect", "collect_required", "check_run", "configuration", "group_runs", "method_order",
           "NOT_CONFIGURATION", "CELL_FIELDS"]


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


def collect_required(paths) -> tuple[list, list]:
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


def method_order(name: str):
    """The sort key of a method label in the report's rows and tables: the methods that start from Random
    (``Random``, ``Random+DRoP``, ...) first, then the others grouped by the score they start from
    (``EL2N``, ``EL2N+DRoP``), each group by label."""
    base = name.split("+")[0].split(" ")[0]
    return (base != "Random", base, name)
