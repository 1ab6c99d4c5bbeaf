"""Grid sweeps (densities x scores x quotas x seeds) through submitit.

Every grid point is one :func:`empirical.pipeline.run_one` call writing one JSON; points whose
JSON exists are not submitted. Points are grouped into submitit jobs of ``chunk_size`` runs each,
run one after the other inside the job (they share the loaded data and the cached query model).

Executors (``cluster``):

* ``local``: ``submitit.AutoExecutor(cluster="local")``, subprocesses on this machine; all jobs
  start at once, so the default chunk puts the whole grid in one job;
* ``slurm``: one array job, one run per task by default, at most ``array_parallelism`` at once;
  the task is ``submitit.helpers.Checkpointable``, so a pre-empted or timed-out task is requeued
  and continues from its last epoch checkpoint (runs always resume);
* ``debug``: in this process (for debugging).

Runs of one score and seed share a query model (cached in ``OUT/_query``): with ``--chunk-size``
large enough to hold them, it is trained once per task; parallel tasks may train it twice (the
results are identical and the cache is written atomically).

SLURM flags of ``droplab empirical sweep``: ``--cluster slurm --partition P --account A --qos Q
--constraint C --gpus-per-node 1 --cpus-per-task 8 --mem-gb 32 --timeout-min 240
--array-parallelism 16 --job-name drop`` (all optional except the partition on most clusters).
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import submitit

from gaussian_theory.validation import check_density, check_int, check_option, check_real

from .data import describe_data
from .options import CLUSTERS, DYNAMIC_SCORES, QUOTAS, RULES, SCORES
from .run_config import RunConfig, check_out_dir, run_path
from .stage_data import bind_data

__all__ = ["grid", "make_executor", "sweep", "SweepTask", "CLUSTERS"]

_EXECUTOR_INT = {"timeout_min": 1, "gpus_per_node": 0, "cpus_per_task": 1, "array_parallelism": 1}
_EXECUTOR_STR = ("partition", "account", "qos", "constraint", "job_name")


def _unique(values, name: str, convert, log=None) -> list:
    """``values`` converted one by one, duplicates removed (first occurrence kept, order preserved);
    the removed duplicates are reported through ``log``. ValueError for an empty or non-list value."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list, got {values!r}")
    out, dups = [], []
    for v in values:
        v = convert(v)
        (dups if v in out else out).append(v)
    if not out:
        raise ValueError(f"{name} must not be empty")
    if dups and log is not None:
        log(f"warning: duplicate {name} {dups} ignored (each grid point runs once): {name} = {out}")
    return out


def _density_value(d) -> float:
    return check_density(d)


def _seed_value(s) -> int:
    return check_int(s, "seed", 0)


def grid(base: RunConfig, densities, score_names, quotas, seeds, rules=None,
         log=None) -> list[tuple[RunConfig, int]]:
    """All distinct (config, seed) points, each config validated (data presence checked once).

    Duplicate densities, scores, quotas, rules or seeds are dropped (and reported through ``log``)."""
    base.validate()
    densities = _unique(densities, "densities", _density_value, log)
    score_names = _unique(score_names, "scores", lambda v: check_option(v, "score", SCORES), log)
    quotas = _unique(quotas, "quotas", lambda v: check_option(v, "quota", QUOTAS), log)
    rules = _unique(rules or [base.rule], "rules", lambda v: check_option(v, "rule", RULES), log)
    seeds = _unique(seeds, "seeds", _seed_value, log)
    points = []
    for d, s, q, r in itertools.product(densities, score_names, quotas, rules):
        if q != "drop" and r != rules[0]:
            continue  # the rule matters only for DRoP quotas
        if s in DYNAMIC_SCORES and q != "none":
            continue  # a dynamic score sets its own class quotas every epoch
        cfg = dataclasses.replace(base, density=d, score=s, quota=q, rule=r)
        cfg.validate(check_data=False)
        points += [(cfg, seed) for seed in seeds]
    return points


class SweepTask(submitit.helpers.Checkpointable):
    """A submitit job: run the given (config dict, seed) points in order, resuming from checkpoints."""

    def __call__(self, points: list[tuple[dict, int]], out_dir: str, progress: bool = False) -> list[dict]:
        from .pipeline import run_one
        from .stage_data import load_data

        out, cache = [], {}
        for cfg_dict, seed in points:
            cfg = RunConfig(**cfg_dict)
            data_keys = ("dataset", "data_dir", "data_format", "limit_per_class", "synthetic", "image_size",
                         "long_tail")
            key = json.dumps({k: cfg_dict[k] for k in data_keys}, sort_keys=True)
            if key not in cache:  # the data's identity is part of the run id: run_one needs the data
                cache = {key: load_data(cfg)}
            r = run_one(cfg, seed, out_dir, dataset=cache.get(key), resume=True, progress=progress)
            print(f"{r['run_id']}: accuracy {r['metrics']['accuracy']:.4f}, worst-class "
                  f"{r['metrics']['worst_class_accuracy']:.4f}{' (skipped: done)' if r['skipped'] else ''}",
                  flush=True)
            out.append({"run_id": r["run_id"], "accuracy": r["metrics"]["accuracy"],
                        "worst_class_accuracy": r["metrics"]["worst_class_accuracy"],
                        "skipped": r["skipped"]})
        return out


def make_executor(cluster: str, folder, *, timeout_min: int = 240, gpus_per_node: int = 0,
                  cpus_per_task: int | None = None, mem_gb: float | None = None, partition: str | None = None,
                  account: str | None = None, qos: str | None = None, constraint: str | None = None,
                  array_parallelism: int = 16, job_name: str = "droplab") -> submitit.AutoExecutor:
    """A submitit executor; SLURM-only options are ignored by the local and debug executors."""
    if cluster not in CLUSTERS:
        raise ValueError(f"cluster must be one of {CLUSTERS}, got {cluster!r}")
    try:
        ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    except RuntimeError as exc:  # e.g. --cluster slurm on a machine without SLURM
        raise ValueError(f"cannot start the submitit {cluster!r} executor: {exc}") from exc
    params = {"timeout_min": int(timeout_min), "gpus_per_node": int(gpus_per_node), "name": job_name}
    if cpus_per_task:
        params["cpus_per_task"] = int(cpus_per_task)
    if mem_gb:
        params["mem_gb"] = mem_gb
    if cluster == "slurm":
        params["slurm_array_parallelism"] = int(array_parallelism)
        for k, v in (("slurm_partition", partition), ("slurm_account", account), ("slurm_qos", qos),
                     ("slurm_constraint", constraint)):
            if v:
                params[k] = v
    ex.update_parameters(**params)
    return ex


def _check_sweep_options(cluster, chunk_size, wait, executor_kw) -> None:
    """ValueError/TypeError naming the option for any bad sweep or executor option (before any work)."""
    check_option(cluster, "cluster", CLUSTERS)
    check_int(chunk_size, "chunk_size (--chunk-size; 0 = automatic)", 0)
    if not isinstance(wait, bool):
        raise TypeError(f"wait must be True or False, got {wait!r}")
    unknown = set(executor_kw) - set(_EXECUTOR_INT) - set(_EXECUTOR_STR) - {"mem_gb"}
    if unknown:
        raise TypeError(f"unknown executor option(s) {sorted(unknown)}")
    for k, lo in _EXECUTOR_INT.items():
        if k in executor_kw and not (executor_kw[k] is None and k == "cpus_per_task"):
            check_int(executor_kw[k], f"{k} (--{k.replace('_', '-')})", lo)
    if executor_kw.get("mem_gb") is not None:
        check_real(executor_kw["mem_gb"], "mem_gb (--mem-gb)", 0.0, strict_minimum=True)
    for k in _EXECUTOR_STR:
        v = executor_kw.get(k)
        if v is not None and (not isinstance(v, str) or not v.strip() or any(c in v for c in "\n\r")):
            raise ValueError(f"{k} (--{k.replace('_', '-')}) must be a non-empty one-line string, got {v!r}")


def sweep(base: RunConfig, densities, score_names, quotas, seeds, out_dir, *, rules=None,
          cluster: str = "local", chunk_size: int = 0, wait: bool = True, log=print, **executor_kw) -> dict:
    """Submit every unfinished grid point; with ``wait`` collect the results.

    ``chunk_size``: runs per job (0 = the whole grid in one job for ``local``/``debug``, 1 for
    ``slurm``). Returns ``{"submitted", "skipped", "jobs", "results", "failed"}``.
    """
    _check_sweep_options(cluster, chunk_size, wait, executor_kw)
    out = check_out_dir(out_dir)
    base.validate()
    base, ds = bind_data(base)  # the data's identity names the runs: load it once before skipping
    for line in describe_data(ds):  # an image folder's split and any resize, said once
        log(line)
    points = grid(base, densities, score_names, quotas, seeds, rules, log=log)
    todo = [(c, s) for c, s in points if not run_path(out, c, s).is_file()]
    ex = make_executor(cluster, out / "_submitit", **executor_kw) if todo else None
    log(f"grid: {len(points)} runs, {len(points) - len(todo)} already done, {len(todo)} to submit")
    if not todo:
        return {"submitted": 0, "skipped": len(points), "jobs": [], "results": [], "failed": []}
    size = chunk_size or (1 if cluster == "slurm" else len(todo))
    # order by (score, seed) so that runs sharing a query model share a job where possible
    todo.sort(key=lambda p: (p[0].score, p[1], p[0].quota, p[0].density))
    chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
    task = SweepTask()
    with ex.batch():
        jobs = [ex.submit(task, [(c.to_dict(), s) for c, s in ch], str(out)) for ch in chunks]
    log(f"submitted {len(jobs)} job(s) to {cluster}: {', '.join(str(j.job_id) for j in jobs)}; "
        f"logs in {out / '_submitit'}")
    results, failed = [], []
    if wait:
        for j in jobs:
            try:
                results += j.result()
            except Exception as exc:  # noqa: BLE001 - report every failed job, keep the others
                failed.append({"job_id": str(j.job_id), "error": f"{type(exc).__name__}: {exc}"[:2000]})
                log(f"job {j.job_id} failed: {exc}")
    return {"submitted": len(todo), "skipped": len(points) - len(todo), "jobs": [str(j.job_id) for j in jobs],
            "results": results, "failed": failed}
