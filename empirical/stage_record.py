"""Stage 7 of a run's trip (:mod:`empirical.pipeline`): the record, the run's JSON.

Input: :class:`~empirical.stage_evaluation.EvaluatedRun` (the evaluation stage's output). Output: the
run's result, the dict written atomically to ``OUT/<run id>.json`` (:func:`record_stage`): what each
stage measured, the theory's predictions beside them (the surrogate's DRoP counts, the prior shift's
recalls), timings, device and versions. The final training's checkpoint is removed once the JSON is
written, unless it is kept.

``run_query_only``'s trip ends here too, with the query stage's output
(:class:`~empirical.stage_query.QueriedRun`) as input and the path of the query model's logits file as
output (:func:`record_query_logits`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from gaussian_theory.atomic import atomic_write
from gaussian_theory.recall_prediction import prior_shift_recalls

from . import selection
from .dataset import ArrayDataset
from .device import resolve_precision
from .options import RECALL_QUOTAS
from .run_config import RunConfig, method_label
from .stage_evaluation import EvaluatedRun
from .stage_query import QueriedRun

__all__ = ["record_stage", "record_query_logits", "dataset_record", "run_json_text"]


def record_stage(run: EvaluatedRun) -> dict:
    """Write the run's JSON (atomically) and return its result (``"skipped": False`` added); remove the
    final training's checkpoint unless ``keep_checkpoints``.

    Parameters
    ----------
    run : EvaluatedRun
        The evaluation stage's output.

    Returns
    -------
    dict
        The run's result, as written to ``run.record_path`` (``OUT/<run id>.json``).
    """
    config, ds, t, query, sizes, dyn = run.config, run.ds, run.tensors, run.query, run.sizes, run.dynamic
    test, rec, res, idx, timings = run.test, run.recipe, run.result, run.selected, run.timings
    timings["total_s"] = time.perf_counter() - run.t_start
    kept = run.kept
    densities = kept / np.maximum(sizes, 1)
    if dyn is not None:  # a dynamic pruner: its mean per-epoch subset stands for the selection
        kept = np.rint(dyn["mean_class_counts"]).astype(int)
        densities = np.asarray(dyn["mean_class_densities"])

    theory = _theory_summary(config, query, run.recalls, sizes)
    vo = None if query is None else query.get("val_outputs")
    if vo is not None and vo.get("logits") is not None and kept.any():
        # the population prior shift on the query model's validation logits, for the densities kept:
        # the prediction `droplab empirical check-predictions` validates against the measured test recalls
        theory = dict(theory or {})
        try:
            theory["prior_shift_recalls"] = prior_shift_recalls(
                vo["logits"], np.asarray(vo["labels"]).astype(int), kept / np.maximum(sizes, 1)).tolist()
        except ValueError as exc:  # e.g. a class absent from a tiny validation half: record, go on
            theory["prior_shift_error"] = str(exc)
    result = {
        "status": "done", "run_id": config.run_id(run.seed), "seed": int(run.seed),
        "method": method_label(config.score, config.quota, config.alpha, config.counts_label),
        "config": config.to_dict(),
        "dataset": {"name": ds.name, "source": ds.source, "class_names": ds.class_names,
                    "class_sizes": sizes.tolist(), "n_train": int(sizes.sum()), "n_val": len(t.y_val),
                    "n_test": len(t.y_test), "image": ds.is_image, **dataset_record(ds)},
        "query": _query_summary(query),
        "quota": {"kind": config.quota, "rule": config.rule if config.quota in RECALL_QUOTAS else None,
                  "alpha": config.alpha if config.quota == "drop" else None,
                  "counts": None if run.counts is None else run.counts.tolist(), "total": run.total,
                  **run.quota_info},
        "selection": {"n_selected": int(idx.size) if dyn is None else dyn["budget"],
                      "class_counts": kept.tolist(), "class_densities": densities.tolist(),
                      "sha256": hashlib.sha256(np.asarray(idx, dtype=np.int64).tobytes()).hexdigest(),
                      **({} if dyn is None else {"dynamic": dyn})},
        "final": {"recipe": rec.to_dict(), "epochs": rec.epochs, "history": res.history,
                  "resumed_from_epoch": res.resumed_from, "val": run.val, "test": test},
        "metrics": {"accuracy": test["accuracy"], "worst_class_accuracy": test["worst_class_accuracy"],
                    "recalls": test["recalls"], "class_densities": densities.tolist()},
        "intervals": run.intervals, "theory": theory, "timings": timings, "device": _device_name(run.device),
        "precision": resolve_precision(config.precision, run.device), "channels_last": run.channels_last,
        "versions": _versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    _atomic_json(result, run.record_path)
    if not run.keep_checkpoints:
        run.checkpoint.unlink(missing_ok=True)
    result["skipped"] = False
    return result


def record_query_logits(run: QueriedRun) -> Path | None:
    """``run_query_only``'s record: say (through the run's ``log``) which logits file holds the query
    model.

    Parameters
    ----------
    run : QueriedRun
        The query stage's output (of a ``run_query_only`` trip: ``run.log`` set).

    Returns
    -------
    Path or None
        The logits file (None when the query model has no stored outputs, so no file).
    """
    written, path = run.logits, run.record_path
    run.log(f"query model {run.config.query_id(run.seed)}: validation accuracy "
            f"{run.query['val_accuracy'][0]:.4f} -> "
            f"{path.parent / written['path'] if written is not None else '(no stored outputs)'}")
    return None if written is None else path.parent / written["path"]


def dataset_record(ds: ArrayDataset) -> dict:
    """The run JSON's ``dataset`` provenance: where the data came from and whether it is the original
    (:attr:`empirical.dataset.ArrayDataset.meta` ``origin``), and the sha256 of the arrays used; for an image
    folder, how its held-out folders were split (``split``) and what was resized (``resize``: None when
    nothing was asked)."""
    return {"origin": ds.meta.get("origin", {"copy": "in-memory" if not ds.source else "synthetic"}),
            "fingerprint": "sha256:" + ds.fingerprint(),
            **{k: ds.meta[k] for k in ("split", "resize") if k in ds.meta}}


def _theory_summary(config: RunConfig, query, recalls, sizes) -> dict | None:
    """The run JSON's ``theory``: the surrogate's predicted recalls and the DRoP counts from them and
    from the measured recalls (or the surrogate's error)."""
    if query is None or query.get("surrogate") is None:
        return None
    if "error" in query["surrogate"]:
        return dict(query["surrogate"])
    pred = np.asarray(query["surrogate"]["predicted_recalls"])
    # A diagnostic, not the training allocation: its few-samples warnings (the surrogate's recalls near 1
    # starve classes) are recorded in the JSON, not printed as if the run were starved.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pc = selection.quota_counts("drop", sizes, config.density, pred, config.rule)
    # The DRoP counts of the measured recalls: a diagnostic too. A DRoP run's selection warned about its
    # starved classes already; a run of another quota kept no such allocation, so no warning here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        measured = selection.quota_counts("drop", sizes, config.density, recalls, config.rule)
    theory = {**query["surrogate"], "measured_recalls": query["recalls"],
              "predicted_drop_counts": pc.tolist(), "predicted_drop_densities": (pc / sizes).tolist(),
              "measured_drop_counts": measured.tolist()}
    if caught:
        theory["predicted_drop_warnings"] = [str(w.message) for w in caught]
    return theory


def _query_summary(query) -> dict | None:
    """The run JSON's ``query``: what the query stage measured (no scores, embeddings or model)."""
    if query is None:
        return None
    keys = ("query_id", "recipe", "inits", "augment", "best_epochs", "val_accuracy", "recalls_per_init",
            "recalls", "seconds", "cached")
    return {**{k: query[k] for k in keys}, "history": query["history"],
            **({"logits": query["logits"]} if query.get("logits") else {})}


def _device_name(device: torch.device) -> str:
    """The run JSON's ``device``: the GPU's name, or the CPU's threads."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def run_json_text(obj, level: int = 0) -> str:
    """``obj`` as JSON, objects indented one space per level and every list of plain values (numbers,
    strings, booleans, null) on one line: a run's per-sample predictions and labels take a line each
    instead of one line per sample (the file reads back to the same object; NaN written as ``NaN``, as
    ``json.dumps`` does)."""
    pad, inner = " " * level, " " * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        keys = [k if isinstance(k, str) else json.dumps(k) for k in obj]   # json.dumps's key text
        items = [f"{inner}{json.dumps(k)}: {run_json_text(v, level + 1)}" for k, v in zip(keys, obj.values())]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return json.dumps(list(obj), allow_nan=True)
        return "[\n" + ",\n".join(inner + run_json_text(v, level + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=True)


def _atomic_json(obj, path: Path) -> None:
    """Write ``obj`` as JSON (:func:`run_json_text`) to ``path`` atomically
    (:func:`gaussian_theory.atomic.atomic_write`)."""
    text = run_json_text(obj) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _versions() -> dict:
    """The run JSON's ``versions``: droplab's, torch's, numpy's, Python's and the platform."""
    import gaussian_theory

    return {"droplab": gaussian_theory.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0], "platform": platform.platform()}
