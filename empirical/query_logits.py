"""The query model's logits file: what a run's allocation was chosen from, written, read and checked.

A query model (pipeline step 2) is summed up by a small compressed ``.npz`` under
``OUT/query_logits/<query id>.npz`` (README, "Every allocation recomputable"):

==========================  ==================================================================
``val_logits``              (n_val, K) float32: the validation logits of the first initialisation's
                            best-epoch model
``val_labels``              (n_val,) int64: the validation half's labels
``val_recalls``             (K,) float64: the recalls the class quotas use (mean over initialisations)
``val_logits_per_init``     (inits, n_val, K) float32: each initialisation's best-epoch validation
                            logits, when the query trains more than one (EL2N, GraNd)
``val_recalls_per_init``    (inits, K) float64: each initialisation's recalls
``test_logits``             (n_test, K) float32 and ``test_labels``: the test half, for predictions
``query_id``                the query model's identity (:meth:`empirical.run_config.RunConfig.query_id`)
==========================  ==================================================================

In files written since the logits were kept with the recalls, ``val_recalls_per_init[i]`` is exactly the
recall of the argmax of ``val_logits_per_init[i]`` (``val_logits`` for one initialisation), so the
recalls -- and from them every recall quota -- follow from the logits alone. Older files hold the recalls
as measured during training (bf16 numerics may move 1-3 images a class away from the stored logits'
argmax), so for them the recalls are read, not derived (:func:`recompute_query`, ``"level"``).

A file's **digest** is the sha256 of its arrays (names, dtypes, shapes, bytes), not of the zip, whose
time stamps change with every write. A run records the digest and path of the file its allocation came
from; a retrained query model whose logits differ from the file already there is written beside it
(``<query id>.retrained-<digest>.npz``) and the run says so: a different file is never used silently.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np

from gaussian_theory.atomic import atomic_write
from gaussian_theory.pilot_runs import load_query_logits_file

from . import selection
from .classes import class_recalls
from .options import RECALL_QUOTAS

__all__ = ["logits_digest", "query_arrays", "write_query_logits", "read_query_logits", "recalls_from_file",
           "recompute_query", "recompute_all", "format_recompute", "run_logits_file", "SAME_QUERY_KEYS"]

#: The arrays that say whether two files hold the same query model (every file has them).
SAME_QUERY_KEYS = ("val_logits", "val_labels", "val_recalls")


def logits_digest(arrays) -> str:
    """``"sha256:<hex>"`` of a query-logits file's arrays (a dict, or an ``.npz`` path), independent of
    the zip's time stamps and of the order the arrays were written in."""
    if isinstance(arrays, (str, Path)):
        arrays = _load(arrays)
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()


def _load(path) -> dict:
    """Every array of a query-logits file (the one reader of the format, in gaussian_theory)."""
    return load_query_logits_file(path)


def query_arrays(query: dict) -> dict | None:
    """The arrays of a query stage's result (:func:`empirical.stage_query.train_query_model`) as written
    to its ``.npz``; None when the query has no stored outputs."""
    vo, to = query.get("val_outputs"), query.get("test_outputs")
    if vo is None or vo.get("logits") is None:
        return None
    arrays = {"val_logits": np.asarray(vo["logits"], dtype=np.float32),
              "val_labels": np.asarray(vo["labels"], dtype=np.int64),
              "val_recalls": np.asarray(query["recalls"], dtype=np.float64),
              "val_recalls_per_init": np.asarray(query["recalls_per_init"], dtype=np.float64)}
    per_init = query.get("val_logits_per_init")
    if per_init is not None and len(per_init) > 1:
        arrays["val_logits_per_init"] = np.stack([np.asarray(v, dtype=np.float32) for v in per_init])
    if to is not None:
        arrays.update(test_logits=np.asarray(to["logits"], dtype=np.float32),
                      test_labels=np.asarray(to["labels"], dtype=np.int64))
    if query.get("query_id"):
        arrays["query_id"] = np.array(str(query["query_id"]))
    return arrays


def _same_query(a: dict, b: dict) -> bool:
    return all(k in a and k in b and a[k].shape == b[k].shape and np.array_equal(a[k], b[k])
               for k in SAME_QUERY_KEYS)


def _write_npz(path: Path, arrays: dict) -> Path:
    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    return atomic_write(path, write)


def write_query_logits(path, query: dict, warn=None) -> dict | None:
    """Write the query's logits to ``path`` (atomically) and return the run's record of them:
    ``{"path": file name, "sha256": digest}``, or None when the query has no stored outputs.

    A file already at ``path`` holding the same query model (equal :data:`SAME_QUERY_KEYS`) is kept
    (the record names it, with its own digest). One holding *different* logits -- a query model of the
    same identity retrained elsewhere, on another CPU or precision -- is kept too, and these logits are
    written beside it as ``<stem>.retrained-<digest>.npz``; the record names the new file and, under
    ``"differs_from"``, the one already there, and ``warn`` (default :func:`warnings.warn`) says so.
    """
    path = Path(path)
    arrays = query_arrays(query)
    if arrays is None:
        return None
    digest = logits_digest(arrays)
    if not path.is_file():
        _write_npz(path, arrays)
        return {"path": path.name, "sha256": digest}
    existing = _load(path)
    if _same_query(existing, arrays):
        return {"path": path.name, "sha256": logits_digest(existing)}
    other = path.with_name(f"{path.stem}.retrained-{digest.split(':')[1][:12]}.npz")
    if not other.is_file():
        _write_npz(other, arrays)
    msg = (f"the query model {path.stem} was retrained and its logits differ from {str(path)!r} (largest "
           f"recall change {_recall_change(existing, arrays):.4f}); this run's allocation uses the retrained "
           f"model, whose logits are in {str(other)!r}")
    (warn or (lambda m: warnings.warn(m, UserWarning, stacklevel=3)))(msg)
    return {"path": other.name, "sha256": digest,
            "differs_from": {"path": path.name, "sha256": logits_digest(existing)}}


def _recall_change(a: dict, b: dict) -> float:
    ra, rb = np.asarray(a.get("val_recalls", [])), np.asarray(b.get("val_recalls", []))
    return float(np.max(np.abs(ra - rb))) if ra.shape == rb.shape and ra.size else float("nan")


def recalls_from_file(arrays: dict) -> tuple[np.ndarray, str]:
    """The quota recalls a logits file determines, and how: ``"logits"`` when they are recomputed from
    the stored logits (the argmax recall of each initialisation, averaged), ``"stored"`` when the file's
    ``val_recalls`` cannot be derived from its logits (files written before the logits were kept with
    the recalls) and are read as recorded.

    >>> z = {"val_logits": np.array([[2., 0.], [0., 1.], [1., 0.]], np.float32),
    ...      "val_labels": np.array([0, 1, 1]), "val_recalls": np.array([1.0, 0.5])}
    >>> recalls_from_file(z)
    (array([1. , 0.5]), 'logits')
    """
    labels = np.asarray(arrays["val_labels"]).astype(np.int64)
    k = int(arrays["val_logits"].shape[1])
    stack = arrays.get("val_logits_per_init")
    stack = np.asarray(arrays["val_logits"])[None] if stack is None else np.asarray(stack)
    derived = np.mean([class_recalls(s.argmax(1), labels, k) for s in stack], axis=0)
    stored = np.asarray(arrays["val_recalls"], dtype=float)
    if np.allclose(derived, stored, rtol=0, atol=1e-12):
        return derived, "logits"
    return stored, "stored"


def read_query_logits(path, query_id: str, val_labels) -> dict:
    """A query stage's result read from a logits file instead of training the query model
    (``droplab empirical run --query-logits``): the file must be of the query model this run would
    train (its ``query_id``, or for files without one its name, equal to ``query_id``) and of the same
    validation half (``val_labels``). ValueError naming the file otherwise. Returns the fields the
    pipeline uses (recalls, per-init recalls, validation outputs) and the file's record."""
    path = Path(path)
    if path.is_dir():
        path = path / f"{query_id}.npz"
    z = _load(path)
    missing = [k for k in SAME_QUERY_KEYS if k not in z]
    if missing:
        raise ValueError(f"query logits file {str(path)!r} lacks the arrays {missing} (written by "
                         f"droplab empirical run or --query-only)")
    own = str(z["query_id"]) if "query_id" in z else path.name.split(".")[0]
    if own != query_id:
        raise ValueError(f"query logits file {str(path)!r} holds the query model {own!r}, but this run's is "
                         f"{query_id!r} (another dataset, model, recipe, seed or data)")
    labels = np.asarray(val_labels).astype(np.int64)
    if z["val_labels"].shape != labels.shape or not np.array_equal(z["val_labels"], labels):
        raise ValueError(f"query logits file {str(path)!r} has {z['val_labels'].size} validation labels that "
                         f"differ from this data's {labels.size}: it was made on other data")
    recalls, level = recalls_from_file(z)
    per_init = z.get("val_recalls_per_init")
    return {"recalls": recalls.tolist(),
            "recalls_per_init": (per_init if per_init is not None else recalls[None]).tolist(),
            "val_outputs": {"logits": z["val_logits"], "labels": z["val_labels"]},
            "record": {"path": path.name, "sha256": logits_digest(z), "source": "file", "recalls": level}}


def run_logits_file(run: dict, qdir) -> Path:
    """The query-logits file of a recorded run in the folder ``qdir``: the one the run names
    (``query.logits.path``, possibly a ``.retrained-<digest>.npz``) or, for runs recorded before runs named
    it, ``<query id>.npz``. The path may not exist."""
    q = run.get("query") or {}
    path = (q.get("logits") or {}).get("path")
    return Path(qdir) / (path if path else f"{q.get('query_id', '')}.npz")


def recompute_query(run: dict, folder, qdir=None) -> dict:
    """Recompute a recorded run's query recalls and class quotas from committed files only.

    ``run``: a run JSON (dict); ``folder``: its results folder (holding ``query_logits/``, or give the
    logits folder as ``qdir``). The logits
    file is the one the run names (``query.logits.path``) or, for runs recorded before runs named it,
    ``query_logits/<query id>.npz``. Returns ``{"ok": bool, "reason": str, "level": "logits" | "stored"
    | None, "file": path or None, "recall_diff": max |recorded - recomputed|, "counts_equal": bool}``.
    Runs without a recall quota (``none``, ``uniform``, explicit counts) are ``ok`` with nothing to check.
    """
    q, cfg = run.get("query"), run["config"]
    if cfg.get("quota") not in RECALL_QUOTAS or q is None:
        return {"ok": True, "reason": "no recall quota", "level": None, "file": None, "recall_diff": 0.0,
                "counts_equal": True}
    rec = q.get("logits") or {}
    f = run_logits_file(run, Path(folder) / "query_logits" if qdir is None else qdir)
    if not f.is_file():
        return {"ok": False, "reason": f"no committed logits file {f.name}", "level": None, "file": None,
                "recall_diff": float("nan"), "counts_equal": False}
    z = _load(f)
    if rec.get("sha256") and logits_digest(z) != rec["sha256"]:
        return {"ok": False, "reason": f"{f.name}: digest differs from the one the run recorded",
                "level": None, "file": str(f), "recall_diff": float("nan"), "counts_equal": False}
    recalls, level = recalls_from_file(z)
    recorded = np.asarray(q["recalls"], dtype=float)
    diff = float(np.max(np.abs(recalls - recorded)))
    sizes = np.asarray(run["dataset"]["class_sizes"])
    with warnings.catch_warnings():   # a starved class was warned about when the run was made
        warnings.simplefilter("ignore", UserWarning)
        counts = selection.quota_counts(cfg["quota"], sizes, float(cfg["density"]), recalls,
                                        cfg.get("rule", "paper"), alpha=float(cfg.get("alpha", 1.0)),
                                        min_count=int(cfg.get("min_per_class", 0)))
    counts_equal = counts is not None and counts.tolist() == list(run["quota"]["counts"])
    ok = diff <= 1e-12 and counts_equal
    reason = "match" if ok else (f"recalls differ from {f.name} by up to {diff:.4f}" if diff > 1e-12
                                 else "quota counts differ")
    return {"ok": ok, "reason": reason, "level": level, "file": str(f), "recall_diff": diff,
            "counts_equal": counts_equal}


def recompute_all(root) -> dict:
    """:func:`recompute_query` for every finished run JSON under ``root`` (searched recursively; checkpoint
    and cache folders skipped). Returns ``{"runs", "no_recall_quota", "with_recall_quota", "match",
    "from_logits", "from_stored", "failing": {path relative to root: reason}}`` -- the counts the
    documentation cites ("The real-data pipeline", "Checked on every committed run")."""
    import json

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root must be a folder of results, got {str(root)!r}")
    out = {"runs": 0, "no_recall_quota": 0, "with_recall_quota": 0, "match": 0, "from_logits": 0,
           "from_stored": 0, "failing": {}}
    for f in sorted(root.rglob("*.json")):
        if {"_ckpt", "_query"} & set(f.relative_to(root).parts):
            continue
        try:
            r = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not (isinstance(r, dict) and r.get("status") == "done" and "config" in r and "metrics" in r):
            continue
        out["runs"] += 1
        res = recompute_query(r, f.parent)
        if res["ok"] and res["level"] is None:
            out["no_recall_quota"] += 1
            continue
        out["with_recall_quota"] += 1
        if res["ok"]:
            out["match"] += 1
            out["from_logits" if res["level"] == "logits" else "from_stored"] += 1
        else:
            out["failing"][f.relative_to(root).as_posix()] = res["reason"]
    return out


def format_recompute(summary: dict) -> str:
    """The lines ``droplab empirical recompute`` prints."""
    s = summary
    lines = [f"{s['runs']} finished runs; {s['no_recall_quota']} without a quota computed from a query "
             f"model; {s['with_recall_quota']} with one: {s['match']} recompute exactly ({s['from_logits']} "
             f"from the logits, {s['from_stored']} from stored recalls), {len(s['failing'])} do not"]
    lines += [f"  {path}: {why}" for path, why in s["failing"].items()]
    return "\n".join(lines) + "\n"
