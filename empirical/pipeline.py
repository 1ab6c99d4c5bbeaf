r"""The DRoP pipeline on real data, one JSON per (configuration, seed): the conductor of a run's trip.

A run is a sequence of stages, each in its own module, the output of each the input of the next:

1. data (:mod:`empirical.stage_data`): check the request, load the data, bind its identity to the
   configuration (:mod:`empirical.run_config`), split the test set into validation/test halves per class;
2. query model (:mod:`empirical.stage_query`): per-class validation recalls at the best validation
   epoch, averaged over initialisations; the strategy's scores; the Gaussian surrogate of the
   penultimate features (:mod:`empirical.bridge`); its logits written;
3. allocation (:mod:`empirical.stage_allocation`): the class quotas (:mod:`empirical.selection`, the
   rules of :mod:`gaussian_theory.quota_rules`);
4. selection (:mod:`empirical.stage_selection`): top-k by score within each class;
5. final training on the selection (:mod:`empirical.stage_training`, optionally
   :math:`E_d=\lfloor(0.5+0.5d)E/d\rfloor` epochs);
6. evaluation (:mod:`empirical.stage_evaluation`): average accuracy, worst-class accuracy and
   per-class recalls on the test half, with their intervals;
7. record (:mod:`empirical.stage_record`): the run's JSON.

:func:`run_one` calls them in this order, each once; :func:`run_query_only` calls the data, query and
record stages of each seed; :func:`run_many` runs :func:`run_one` for several seeds on data loaded once.
Query-stage results are cached under ``OUT/_query`` (shared by every density and quota of one
score and seed); training state is checkpointed every epoch under ``OUT/_ckpt`` and ``resume=True``
continues a killed run to the same result. Result JSONs are written atomically and a run whose
JSON exists is skipped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from . import data
from .dataset import ArrayDataset
from .run_config import RunConfig, check_out_dir, check_query_logits_option, run_path
from .stage_allocation import allocation_stage
from .stage_data import QueryOnlyRequest, RunRequest, bind_data, data_stage, query_only_data
from .stage_evaluation import evaluation_stage
from .stage_query import query_stage
from .stage_record import record_query_logits, record_stage
from .stage_selection import selection_stage
from .stage_training import training_stage

__all__ = ["run_one", "run_many", "run_query_only"]


def run_one(config: RunConfig, seed: int, out_dir, *, dataset: ArrayDataset | None = None,
            resume: bool = False, progress: bool = True, hooks: dict | None = None,
            keep_checkpoints: bool = False, force: bool = False, data_seconds: float | None = None,
            query_logits=None) -> dict:
    """Run the pipeline for one seed and write ``OUT/<run_id>.json``; return the result dict.

    A run whose JSON already exists is skipped (its result returned, ``"skipped": True``) unless
    ``force``. ``hooks``: optional ``{"query_epoch_end": f, "final_epoch_end": f}`` with
    ``f(epoch, row)`` called after each epoch's checkpoint (tests use them to simulate a kill).
    ``data_seconds``: loading time of a preloaded ``dataset``, recorded as ``timings["data_s"]``.
    ``query_logits``: a query-logits ``.npz`` (or a folder holding ``<query id>.npz``) of this run's query
    model, used instead of training it (:func:`empirical.query_logits.read_query_logits`), so that a
    study elsewhere reuses the committed query model rather than a retrained one that may differ.
    """
    run = data_stage(RunRequest(config=config, seed=seed, out_dir=out_dir, dataset=dataset, resume=resume,
                                progress=progress, hooks=hooks, keep_checkpoints=keep_checkpoints,
                                force=force, data_seconds=data_seconds, query_logits=query_logits))
    if run.recorded is not None:  # the run's JSON exists (and force is off): skipped
        return run.recorded
    queried = query_stage(run)
    allocated = allocation_stage(queried)
    selected = selection_stage(allocated)
    trained = training_stage(selected)
    evaluated = evaluation_stage(trained)
    return record_stage(evaluated)


def run_query_only(config: RunConfig, seeds, out_dir, *, resume: bool = False, progress: bool = True,
                   log=print) -> list[Path]:
    """Train (or load from the cache) the query model of each seed, without pruning or final training,
    and write its logits (:func:`empirical.query_logits.write_query_logits`); return the paths of the
    logits files. The query model serves every density and quota of its score and seed."""
    loaded = query_only_data(QueryOnlyRequest(config=config, out_dir=out_dir, resume=resume,
                                              progress=progress, log=log))
    paths = []
    for seed in seeds:  # one trip per seed, on the data loaded once
        run = loaded.run(seed)
        written = run.recorded if run.recorded is not None else record_query_logits(query_stage(run))
        if written is not None:
            paths.append(written)
    return paths


def run_many(config: RunConfig, seeds, out_dir, *, resume: bool = False, progress: bool = True,
             force: bool = False, log=print, query_logits=None) -> list[dict]:
    """:func:`run_one` for each seed, loading the data once. ``query_logits``: a logits file (one seed) or
    a folder of them (``<query id>.npz``), see :func:`run_one`."""
    config.validate()
    check_query_logits_option(config, query_logits)
    check_out_dir(out_dir)
    seeds = [int(s) for s in seeds]
    t0 = time.perf_counter()
    config, ds = bind_data(config)  # the data's identity names the runs: load before skipping
    load_s = time.perf_counter() - t0
    for line in data.describe_data(ds):  # an image folder's split and any resize, said once
        log(line)
    results = []
    for s in seeds:
        path = run_path(out_dir, config, s)
        if path.is_file() and not force:
            log(f"skip (done): {path}")
            results.append({**json.loads(path.read_text()), "skipped": True})
            continue
        r = run_one(config, s, out_dir, dataset=ds, resume=resume, progress=progress, force=force,
                    data_seconds=load_s, query_logits=query_logits)
        load_s = 0.0  # later seeds reuse the loaded data
        tm = r["timings"]
        log(f"{r['method']} d={config.density:g} seed {s}: test accuracy {r['metrics']['accuracy']:.4f}, "
            f"worst-class {r['metrics']['worst_class_accuracy']:.4f}, wall {tm['total_s']:.1f}s "
            f"(data {tm['data_s']:.1f}s, query {tm.get('query_s', 0):.1f}s, final {tm['final_train_s']:.1f}s)"
            f" -> {path}")
        results.append(r)
    return results
