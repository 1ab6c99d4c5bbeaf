"""Stage 2 of a run's trip (:mod:`empirical.pipeline`): the query model.

Input: :class:`~empirical.stage_data.RunData` (the data stage's output). Output: :class:`QueriedRun`,
the same with the query stage's result (``query``: per-class validation recalls at the best validation
epoch, averaged over initialisations; the strategy's scores; the Gaussian surrogate of the penultimate
features, :mod:`empirical.bridge`) and the record of the query logits file written (``logits``).

A run needs a query model for the recall quotas (:data:`empirical.options.QUERY_QUOTAS`) and for every
score but random (:data:`empirical.options.QUERY_SCORES`); otherwise ``query`` is None. The model is
trained (:func:`train_query_model`), read from the query cache ``OUT/_query`` (shared by every density
and quota of one score and seed), or read from a committed logits file (``--query-logits``,
:func:`query_from_file`). Its held-out logits are written to ``OUT/query_logits/<query id>.npz``
(:func:`empirical.query_logits.write_query_logits`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch

from gaussian_theory.validation import derive_seed

from . import bridge, evaluation, recipes, scores, train
from .options import QUERY_QUOTAS, QUERY_SCORES
from .query_logits import read_query_logits, write_query_logits
from .run_config import RunConfig, query_logits_path, seeded_generator
from .stage_data import RunData, new_model, warn_one_step

__all__ = ["QueriedRun", "query_stage", "train_query_model", "query_from_file", "query_surrogate"]


@dataclass(frozen=True, kw_only=True)
class QueriedRun(RunData):
    """The query stage's output: the run's data, with ``query`` (the query stage's result, None when the
    run needs no query model) and ``logits`` (the record of the query logits file this stage wrote,
    :func:`empirical.query_logits.write_query_logits`; None when it wrote none)."""

    query: dict | None = None
    logits: dict | None = None


def query_stage(run: RunData) -> QueriedRun:
    """Train (or read) the run's query model when it needs one and write its logits; time it.

    Parameters
    ----------
    run : RunData
        The data stage's output.

    Returns
    -------
    QueriedRun
        ``run`` with ``query`` and ``logits`` (both None when the run needs no query model).
    """
    config = run.config
    query = logits = None
    if config.quota in QUERY_QUOTAS or config.score in QUERY_SCORES:
        t0 = time.perf_counter()
        if run.query_logits is not None:
            query = query_from_file(run)
        else:
            query = train_query_model(run)
            logits = write_query_logits(query_logits_path(run.out_dir, config, run.seed), query, warn=run.log)
            if logits is not None:
                query["logits"] = {**logits, "source": "cached" if query.get("cached") else "trained"}
        run.timings["query_s"] = time.perf_counter() - t0
        run.timings["query_train_s"] = query["seconds"]
    return QueriedRun(**vars(run), query=query, logits=logits)


def train_query_model(run: RunData) -> dict:
    """Train the query model(s) of the run (or read them from the query cache ``OUT/_query``); return
    recalls, scores, embeddings (CoreSet), the surrogate and the validation and test outputs."""
    config, seed, t, out_dir = run.config, run.seed, run.tensors, run.out_dir
    qid = config.query_id(seed)
    cache = out_dir / "_query" / f"{qid}.pt"
    if cache.is_file():
        res = torch.load(cache, map_location="cpu", weights_only=False)
        res["cached"] = True
        cached = res.get("surrogate") or {}
        if config.surrogate == "off":
            res["surrogate"] = None
        elif cached.get("covariance") != config.surrogate and "error" not in cached:
            # the query id does not hold the surrogate (a diagnostic): refit the one asked for
            res["surrogate"] = query_surrogate(config, seed, res.get("val_outputs"), t.num_classes)
        return res
    t0 = time.perf_counter()
    plan = scores.query_plan(config.score, config.base_recipe(), config.query_epochs, config.query_inits)
    rec: recipes.Recipe = plan["recipe"]
    n = len(t.x)
    warn_one_step("query model", n, rec)
    # Forgetting, Dynamic Uncertainty and CoreSet score one full-length run with the same seeds: one
    # training with both trackers and the features serves all three (written to each one's cache).
    shared = config.score in scores.SHARED_QUERY_SCORES
    train_id = (dataclasses.replace(config, score=scores.SHARED_QUERY_SCORES[0]).query_id(seed) + "-shared"
                if shared else qid)
    per_init, best_epochs, val_acc, histories, score_runs, per_init_logits = [], [], [], [], [], []
    shared_runs = {"forgetting": [], "dynunc": []}
    emb, surrogate, val_outputs, test_outputs = None, None, None, None
    for i in range(plan["inits"]):
        model = new_model(run, seeded_generator(seed, "query-init", i))
        trackers = []
        if shared:
            trackers = [scores.ForgettingTracker(n, t.device),
                        scores.DynamicUncertaintyTracker(n, rec.epochs, t.device)]
        ckpt = out_dir / "_ckpt" / f"{train_id}_init{i}.pt"
        res = train.train_model(
            model, t.x, t.y, rec, generator=seeded_generator(seed, "query-train", i), aug=t.aug,
            augment=config.query_augment, val=(t.x_val, t.y_val), num_classes=t.num_classes,
            trackers=trackers, checkpoint=ckpt, resume=run.resume, fingerprint=train_id, keep_best=(i == 0),
            on_epoch_end=run.hooks.get("query_epoch_end"), desc=f"query {i + 1}/{plan['inits']}",
            progress=run.progress, precision=config.precision)
        per_init.append(res.best_val["recalls"])
        per_init_logits.append(res.best_val_logits)
        best_epochs.append(res.best_epoch)
        val_acc.append(res.best_val["accuracy"])
        histories.append(res.history)
        if config.score in ("el2n", "grand"):
            if config.score == "el2n":
                score_runs.append(scores.el2n_scores(
                    evaluation.predict(model, t.x, t.aug, precision=config.precision), t.y))
            else:
                score_runs.append(scores.grand_scores(model, t.x, t.y, t.aug, precision=config.precision))
        elif shared:
            shared_runs["forgetting"].append(trackers[0].scores())
            shared_runs["dynunc"].append(trackers[1].scores())
            emb = evaluation.predict(model, t.x, t.aug, features=True, precision=config.precision).cpu()
        if i == 0:
            # The best-epoch query model's validation features and logits, kept in the query cache so
            # that surrogates and recall predictions can be refitted later without retraining.
            best = new_model(run, torch.Generator())  # weights loaded just below
            best.load_state_dict(res.best_state)
            feats = evaluation.predict(best, t.x_val, t.aug, features=True, precision=config.precision)
            # the logits the recalls were measured from (their argmax gives them exactly); the head on the
            # features only where a checkpoint from before they were kept was resumed
            logits = (res.best_val_logits if res.best_val_logits is not None
                      else best.head(feats).detach().float().cpu().numpy())
            val_outputs = {"features": feats.cpu().numpy().astype(np.float32), "logits": logits,
                           "labels": t.y_val.cpu().numpy(),
                           "head_weight": best.head.weight.detach().float().cpu().numpy(),
                           "head_bias": _head_bias(best.head)}
            test_outputs = {"logits": evaluation.predict(best, t.x_test, t.aug, precision=config.precision)
                            .cpu().numpy(), "labels": t.y_test.cpu().numpy()}
            if config.surrogate != "off":
                surrogate = query_surrogate(config, seed, val_outputs, t.num_classes)
    # the mean over the inits that saw each class (nanmean's arithmetic); 0 for a class no validation
    # sample holds, without nanmean's "Mean of empty slice" warning
    inits_recalls = np.asarray(per_init, dtype=float)
    seen = (~np.isnan(inits_recalls)).sum(axis=0)
    recalls = np.where(seen > 0, np.nansum(inits_recalls, axis=0) / np.maximum(seen, 1), 0.0)
    out = {
        "query_id": qid, "recipe": rec.to_dict(), "inits": plan["inits"], "augment": config.query_augment,
        "best_epochs": best_epochs, "val_accuracy": val_acc, "recalls_per_init": per_init,
        "recalls": recalls.tolist(), "history": histories,
        "scores": np.mean(score_runs, axis=0) if score_runs else None, "embeddings": emb,
        "surrogate": surrogate, "seconds": time.perf_counter() - t0, "cached": False,
        "val_outputs": val_outputs, "test_outputs": test_outputs,
        "val_logits_per_init": per_init_logits if all(v is not None for v in per_init_logits) else None,
    }
    if shared:
        for score in scores.SHARED_QUERY_SCORES:
            sibling_id = dataclasses.replace(config, score=score).query_id(seed)
            res_s = {**out, "query_id": sibling_id, "embeddings": emb if score == "coreset" else None,
                     "scores": np.mean(shared_runs[score], axis=0) if score in shared_runs else None}
            path = out_dir / "_query" / f"{sibling_id}.pt"
            if score == config.score:
                out = res_s
                train.atomic_torch_save(out, cache)
            elif not path.is_file():
                train.atomic_torch_save(res_s, path)
    else:
        train.atomic_torch_save(out, cache)
    for i in range(plan["inits"]):
        (out_dir / "_ckpt" / f"{train_id}_init{i}.pt").unlink(missing_ok=True)
    return out


def _head_bias(head) -> np.ndarray:
    """The linear head's bias as numpy (zeros for a bias-free head)."""
    if head.bias is None:
        return np.zeros(head.out_features)
    return head.bias.detach().float().cpu().numpy()


def query_surrogate(config: RunConfig, seed: int, val_outputs: dict | None, num_classes: int) -> dict:
    """The Gaussian surrogate (``config.surrogate``) of the query model's validation features, with the
    recalls its linear head predicts (:func:`empirical.bridge.surrogate_report`), or ``{"error": ...}``."""
    if val_outputs is None or val_outputs.get("head_weight") is None:
        return {"error": "the cached query model has no stored head weights to fit a surrogate to; delete "
                         "its OUT/_query cache to retrain it"}
    try:
        return bridge.surrogate_report(
            val_outputs["features"], np.asarray(val_outputs["labels"]), num_classes,
            val_outputs["head_weight"], val_outputs["head_bias"], covariance=config.surrogate,
            seed=derive_seed(seed, "surrogate"))
    except ValueError as exc:  # e.g. too few validation samples in a class: record, go on
        return {"error": str(exc)}


def query_from_file(run: RunData) -> dict:
    """The query stage's result read from the committed logits file ``run.query_logits`` (no training):
    recalls and the validation outputs; no scores, features or surrogate."""
    config, seed = run.config, run.seed
    got = read_query_logits(run.query_logits, config.query_id(seed), run.tensors.y_val.cpu().numpy())
    logits, labels = got["val_outputs"]["logits"], got["val_outputs"]["labels"]
    accuracy = float(np.mean(logits.argmax(1) == labels))
    return {"query_id": config.query_id(seed), "recipe": None, "inits": len(got["recalls_per_init"]),
            "augment": config.query_augment, "best_epochs": None, "val_accuracy": [accuracy],
            "recalls_per_init": got["recalls_per_init"], "recalls": got["recalls"], "history": [],
            "scores": None, "embeddings": None, "seconds": 0.0, "cached": False,
            "surrogate": None if config.surrogate == "off" else
            {"error": "the query model was read from a logits file: no features to fit a surrogate to"},
            "val_outputs": got["val_outputs"], "test_outputs": None, "logits": got["record"]}
