"""Do the recall predictors of :mod:`gaussian_theory.recall_prediction` predict what real training does?
``droplab empirical check-predictions RUNS``.

For every (seed, density) of a folder of runs with a Random run (random score, ``quota none``) and at least
one run of the same seed and density with another quota (Random+DRoP, Random+DRoP(a=0.7), Random+probit,
Random+minimax, explicit counts), the per-class recalls after each allocation are predicted from that seed's
*random-score query model* (its held-out validation logits, ``query_logits/<query_id>.npz``, written by
:mod:`empirical.pipeline`; the same query model picked the allocations) and compared with the measured
per-class **test** recalls of the final models (``metrics.recalls``). The allocation's densities are the
realised ones, kept count / class size (``selection.class_counts``, else ``quota.counts``).

Predictors (:func:`gaussian_theory.recall_prediction.predict_recalls`): ``prior-shift`` (argmax of
logit + log d_k on the validation logits), ``surrogate`` (the same shift on the calibrated tied Gaussian
surrogate, Monte Carlo), ``finite`` (plug-in LDA refitted on round(d_k N_k) surrogate samples), and the null
predictor ``no-change`` (every allocation keeps the uniform recalls).

Two ways to compare, because the query model (a few unaugmented epochs) is not the final model:

* ``direct``: predicted recalls against measured ones (MAE over classes x allocations, uniform included);
* ``baseline``: the predicted *change* relative to uniform added to the measured recalls of the Random run
  of the same seed, against the measured recalls (MAE over classes x non-uniform allocations).

And the change itself: the correlation (Pearson, Spearman) over classes x non-uniform allocations x seeds of
predicted change (allocation - uniform) with measured change (allocation run - Random run of the same seed),
and the least-squares slope of measured on predicted change (1 = right magnitude, > 1: the predictor
under-predicts the change). ``noise``: the seed-to-seed standard deviation of the Random runs' per-class test
recalls -- a measured change is this noisy (times sqrt 2) even when nothing changes.

The figure of the same points: :mod:`empirical.prediction_figure` (``--plot DIR``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr, spearmanr

from gaussian_theory.allocation import uniform_counts
from gaussian_theory.pilot_runs import load_query_logits_file
from gaussian_theory.recall_prediction import predict_recalls

from .titles import study_title

__all__ = ["PREDICTORS", "PredictionCheck", "allocation_name", "load_runs", "kept_densities", "query_run",
           "load_query_logits", "check_predictions", "predictor_table", "format_check"]

#: the predictors compared, in the tables' order (``no-change``: the null predictor)
PREDICTORS = ("prior-shift", "surrogate", "finite", "no-change")


def allocation_name(cfg: dict) -> str | None:
    """The allocation of a Random run: ``uniform`` (quota none), ``DRoP``, ``DRoP(a=0.7)``, ``probit``,
    ``minimax``, and for counts read from a file their label (``Learned``, ``Optimum``; ``counts`` when
    unlabelled: two labelled count files of one seed and density are two allocations); None for runs of
    another score.

    Parameters
    ----------
    cfg : dict
        A run JSON's ``config``.

    Returns
    -------
    str or None
    """
    if cfg["score"] != "random":
        return None
    quota, alpha = cfg["quota"], cfg.get("alpha") or 1.0
    if quota == "none":
        return "uniform"
    if quota == "drop":
        return "DRoP" if alpha == 1.0 else f"DRoP(a={alpha:g})"
    if quota == "counts" and cfg.get("counts_label"):
        return str(cfg["counts_label"])
    return quota if alpha == 1.0 else f"{quota}(a={alpha:g})"


def load_runs(results) -> dict:
    """The finished Random runs of ``results`` (its ``*.json``, not searched recursively), grouped.

    Parameters
    ----------
    results : path
        A folder of run JSONs of ``droplab empirical run``.

    Returns
    -------
    dict
        ``{(seed, density): {allocation: run dict}}``, only the (seed, density) with a uniform run and at
        least one other allocation.

    Raises
    ------
    ValueError
        When ``results`` is not a folder.
    """
    results = Path(results)
    if not results.is_dir():
        raise ValueError(f"runs folder {str(results)!r} does not exist or is not a folder")
    groups = defaultdict(dict)
    for f in sorted(results.glob("*.json")):
        run = json.loads(f.read_text())
        if not isinstance(run, dict) or "config" not in run or run.get("status", "done") != "done":
            continue
        name = allocation_name(run["config"])
        if name is not None:
            groups[(run["seed"], run["config"]["density"])][name] = run
    return {k: v for k, v in groups.items() if "uniform" in v and len(v) > 1}


def kept_densities(run: dict) -> np.ndarray:
    """The realised class densities of a run: kept count / class size (``selection.class_counts``, else
    ``quota.counts``, else uniform counts at the run's density)."""
    sizes = np.asarray(run["dataset"]["class_sizes"], dtype=float)
    counts = (run.get("selection") or {}).get("class_counts") or (run.get("quota") or {}).get("counts")
    if counts is None:
        counts = uniform_counts(sizes, run["config"]["density"])
    return np.asarray(counts, dtype=float) / sizes


def query_run(runs: dict) -> dict:
    """The run whose query model picked the allocations of one (seed, density) (DRoP's if present)."""
    return runs.get("DRoP") or next(r for n, r in runs.items() if n != "uniform")


def load_query_logits(qdir, qid: str) -> dict | None:
    """``{"logits", "labels"}`` of query model ``qid``: the committed ``<qdir>/<qid>.npz``, else the
    pipeline's cache ``<qdir>/<qid>.pt`` (needs torch).

    Returns
    -------
    dict or None
        None when neither file is there, or the cache holds no validation outputs.
    """
    qdir = Path(qdir)
    npz = qdir / f"{qid}.npz"
    if npz.is_file():
        z = load_query_logits_file(npz)
        return {"logits": z["val_logits"], "labels": z["val_labels"]}
    pt = qdir / f"{qid}.pt"
    if not pt.is_file():
        return None
    import torch

    return torch.load(pt, map_location="cpu", weights_only=False).get("val_outputs")


@dataclass
class PredictionCheck:
    """What :func:`check_predictions` measured.

    Attributes
    ----------
    results, query_dir : Path
        The runs folder and the folder the query logits were read from.
    rows : dict
        ``{predictor: [row]}``, one row per (seed, density, allocation): ``alloc``, ``seed``, ``density``,
        ``pred`` / ``pred_u`` (predicted recalls of the allocation / of uniform), ``meas`` / ``meas_u``
        (measured test recalls of the allocation's run / of the Random run), each ``(K,)``.
    names : list of str
        The allocations, ``uniform`` first.
    class_names : list of str or None
    noise : float
        The seed-to-seed SD of the Random runs' per-class test recalls (nan with one seed).
    title : str
        The study's dataset and network in prose (:func:`empirical.titles.study_title`).
    log : list of str
        One line per (seed, density): its query model and allocations, or why it was skipped.
    """

    results: Path
    query_dir: Path
    rows: dict
    names: list
    class_names: list | None
    noise: float
    title: str
    log: list = field(default_factory=list)


def check_predictions(results, query=None, *, trials: int = 20, seed: int = 0) -> PredictionCheck:
    """Predict the recalls of every allocation of ``results`` from its seed's query model.

    Parameters
    ----------
    results : path
        A folder of run JSONs (module docstring: which runs qualify).
    query : path, optional
        The folder of the query logits, ``query_logits/*.npz``, or of the pipeline's query caches
        ``_query/*.pt`` (default: ``RESULTS/query_logits``).
    trials : int
        Monte Carlo trials of the ``finite`` predictor.
    seed : int
        Seed of the Monte Carlo draws.

    Returns
    -------
    PredictionCheck

    Raises
    ------
    ValueError
        When the folder has no (seed, density) with a Random run and an allocation run, when the query
        logits folder is missing, or when none of the query models has validation logits there.
    """
    results = Path(results)
    groups = load_runs(results)
    qdir = Path(query) if query is not None else results / "query_logits"
    if not groups:
        raise ValueError(f"no (seed, density) in {str(results)!r} with both a finished Random run (score "
                         "random, quota none) and a run of another quota (score random), among its *.json")
    if not qdir.is_dir():
        raise ValueError(f"no query logits folder {str(qdir)!r}: pass --query DIR (the query_logits/ or "
                         "_query/ folder of the runs' --out)")
    rows, uniform_measured, log = defaultdict(list), defaultdict(list), []
    class_names, title = None, None
    for (s, density), runs in sorted(groups.items()):
        qrun = query_run(runs)
        qid = qrun["query"]["query_id"]
        vo = load_query_logits(qdir, qid)
        if vo is None:
            log.append(f"  seed {s} d={density}: query cache {qid} has no val_outputs; skipped")
            continue
        z, y = np.asarray(vo["logits"], dtype=float), np.asarray(vo["labels"], dtype=np.int64)
        sizes = np.asarray(qrun["dataset"]["class_sizes"], dtype=float)
        class_names = class_names or qrun["dataset"].get("class_names")
        title = title or study_title(qrun["config"]["dataset"], qrun["config"]["model"])
        allocs = {name: kept_densities(run) for name, run in runs.items()}
        pred = predict_recalls(z, y, sizes, allocs, trials=trials, seed=seed)
        measured = {name: np.asarray(run["metrics"]["recalls"], dtype=float) for name, run in runs.items()}
        uniform_measured[density].append(measured["uniform"])
        log.append(f"  seed {s} d={density}: query {qid} (val acc {np.mean(z.argmax(1) == y):.3f}); "
                   f"allocations {sorted(allocs)}")
        u = pred["uniform"]
        for name in runs:
            p = pred[name]
            vals = {"prior-shift": (p.prior_shift, u.prior_shift), "surrogate": (p.surrogate, u.surrogate),
                    "finite": (p.finite_sample, u.finite_sample), "no-change": (u.prior_shift, u.prior_shift)}
            for key, (pa, pu) in vals.items():
                rows[key].append({"alloc": name, "seed": s, "density": density, "pred": pa, "pred_u": pu,
                                  "meas": measured[name], "meas_u": measured["uniform"]})
    if not rows:
        raise ValueError(f"none of the query models of the runs in {str(results)!r} has validation logits "
                         f"in {str(qdir)!r} (<query id>.npz, or a <query id>.pt cache with val_outputs)")
    spread = [np.std(np.array(v), axis=0, ddof=1).mean() for v in uniform_measured.values() if len(v) > 1]
    noise = float(np.mean(spread)) if spread else float("nan")
    names = sorted({r["alloc"] for r in rows["finite"]}, key=lambda n: (n != "uniform", n))
    return PredictionCheck(results, qdir, dict(rows), names, class_names, noise, title, log)


def predictor_table(rows: dict, keep=lambda a: True, direct_on_moved: bool = False) -> list[dict]:
    """Per predictor, the errors and the agreement of predicted with measured change.

    Parameters
    ----------
    rows : dict
        :attr:`PredictionCheck.rows`.
    keep : callable
        ``keep(allocation) -> bool``: the allocations scored.
    direct_on_moved : bool
        Score ``mae_direct`` on the non-uniform allocations only (default: uniform included).

    Returns
    -------
    list of dict
        One per predictor of :data:`PREDICTORS` with ``predictor``, ``mae_direct``, ``mae_base`` (the
        baseline mode), ``pearson``, ``spearman`` and ``slope`` of measured on predicted change (None when
        the predicted change is constant), ``pred_change`` and ``meas_change`` (mean absolute changes) and
        ``n`` (class x allocation x seed changes); empty when no non-uniform allocation is kept.
    """
    out = []
    for key in PREDICTORS:
        rs = [r for r in rows[key] if keep(r["alloc"])]
        moved = [r for r in rs if r["alloc"] != "uniform"]
        if not moved:
            return []
        direct = np.concatenate([np.abs(r["pred"] - r["meas"]) for r in (moved if direct_on_moved else rs)])
        dp = np.concatenate([r["pred"] - r["pred_u"] for r in moved])
        dm = np.concatenate([r["meas"] - r["meas_u"] for r in moved])
        corr = ((pearsonr(dp, dm)[0], spearmanr(dp, dm)[0], float(dp @ dm / (dp @ dp))) if np.ptp(dp) > 0
                else (None, None, None))
        out.append({"predictor": key, "mae_direct": direct.mean(), "mae_base": np.abs(dp - dm).mean(),
                    "pearson": corr[0], "spearman": corr[1], "slope": corr[2],
                    "pred_change": np.abs(dp).mean(), "meas_change": np.abs(dm).mean(), "n": len(dm)})
    return out


_HEADER = (f"{'predictor':<12} {'MAE direct':>10} {'MAE base':>9} {'pearson dR':>10} "
           f"{'spearman dR':>11} {'slope':>6} {'|dR| pred':>9} {'|dR| meas':>9}")


def _block(lines: list, title: str, table: list[dict]) -> None:
    lines += ["", title, _HEADER, "-" * len(_HEADER)]
    for t in table:
        corr = (f"{'-':>10} {'-':>11} {'-':>6}" if t["pearson"] is None else
                f"{t['pearson']:>10.2f} {t['spearman']:>11.2f} {t['slope']:>6.2f}")
        lines.append(f"{t['predictor']:<12} {t['mae_direct']:>10.3f} {t['mae_base']:>9.3f} {corr} "
                     f"{t['pred_change']:>9.3f} {t['meas_change']:>9.3f}")


def format_check(check: PredictionCheck) -> str:
    """The text report of a :class:`PredictionCheck`: the runs read, the tables of every predictor (all
    allocations, the rule-based ones, each allocation against uniform), the noise floor, the worst class per
    allocation and the per-class changes.

    Returns
    -------
    str
        Lines ending in a newline.
    """
    rows, names = check.rows, check.names
    lines = [f"runs: {check.results}; query caches: {check.query_dir}", *check.log]
    table = predictor_table(rows)
    _block(lines, "all allocations", table)
    n_all = table[-1]["n"]
    if "minimax" in names:
        rule = predictor_table(rows, lambda a: a != "minimax")
        if rule:
            _block(lines, "rule-based allocations only (uniform, DRoP, damped DRoP, probit)", rule)
    for name in names[1:]:
        _block(lines, f"{name} (changes relative to uniform; MAE direct on {name} only)",
               predictor_table(rows, lambda a, name=name: a in ("uniform", name), direct_on_moved=True))
    lines += ["", f"noise: seed-to-seed sd of the Random runs' per-class test recalls = {check.noise:.3f} (a "
              f"measured change between two runs has sd ~ {np.sqrt(2) * check.noise:.3f}); n = {n_all} class "
              "x allocation x seed changes"]
    # per allocation: the worst class, predicted (baseline mode) vs measured
    lines += ["", "per allocation (mean over seeds): measured worst-class recall, and the prediction of each "
              "predictor (baseline mode: measured uniform + predicted change)"]
    head = f"{'allocation':<14} {'seeds':>5} {'measured':>9} " + " ".join(f"{k:>12}" for k in PREDICTORS[:3])
    lines += [head, "-" * len(head)]
    for name in names:
        meas = [r["meas"].min() for r in rows["finite"] if r["alloc"] == name]
        cells = [np.mean([(r["meas_u"] + r["pred"] - r["pred_u"]).min() for r in rows[key]
                          if r["alloc"] == name]) for key in PREDICTORS[:3]]
        lines.append(f"{name:<14} {len(meas):>5} {np.mean(meas):>9.3f} "
                     + " ".join(f"{c:>12.3f}" for c in cells))
    lines += ["", "per class change (allocation - uniform), mean over seeds: measured / prior-shift / finite"]
    for name in names[1:]:
        m = np.mean([r["meas"] - r["meas_u"] for r in rows["finite"] if r["alloc"] == name], axis=0)
        a = np.mean([r["pred"] - r["pred_u"] for r in rows["prior-shift"] if r["alloc"] == name], axis=0)
        f = np.mean([r["pred"] - r["pred_u"] for r in rows["finite"] if r["alloc"] == name], axis=0)
        lines.append(f"  {name:<12} meas  " + " ".join(f"{v:+.3f}" for v in m))
        lines.append(f"  {'':<12} shift " + " ".join(f"{v:+.3f}" for v in a))
        lines.append(f"  {'':<12} fin   " + " ".join(f"{v:+.3f}" for v in f))
    return "\n".join(lines) + "\n"
