r"""Score the recommendation made before training against the runs that were trained.

For every group of finished Random-score runs of a folder (same seed, density and per-class floor
``min_per_class``) that holds a Random+DRoP run and at least one other allocation, the recommendation of
:func:`gaussian_theory.recommend.recommend` is made as a user would make it before training: each
allocation's per-class recalls after pruning are predicted by the prior shift on the seed's query logits
(:func:`gaussian_theory.recall_prediction.prior_shift_recalls`, the densities the run kept), and the
allocation with the highest predicted worst-class recall is chosen (optionally within a capped predicted
loss of balanced accuracy against the Random run, quota none). With ``prefer`` (e.g. ``"DRoP"``) the
recommendation keeps that allocation unless another is predicted to beat its worst class with a paired
bootstrap interval above 0 (:func:`gaussian_theory.recommend.worst_class_gains`). Then the runs say how
it did:

* ``regret``: the best measured worst-class test accuracy of the group's allocations (the best rule in
  hindsight) minus the recommended allocation's;
* ``vs DRoP``: the recommended allocation's measured worst-class test accuracy minus Random+DRoP's;
* the mean absolute error of the predicted worst-class recall and balanced accuracy against the measured
  worst-class and average test accuracy, over every allocation of every group (the query model is not the
  final model: a level error is expected; the ranking is what the recommendation needs).

Means over groups come with a 95% t-interval over groups (seeds are independent; within a seed the two
densities and floors share a query model, so the intervals are a little optimistic where a folder has
several groups per seed). The candidate allocations are the runs present: ``Random`` is random pruning
without quotas (class-stratified in expectation; the baseline of the accuracy cap), ``uniform`` the
class-stratified quota, ``counts`` an allocation read from a file (the learned allocation of the studies).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gaussian_theory.pilot_runs import load_query_logits_file
from gaussian_theory.recall_prediction import prior_shift_recalls
from gaussian_theory.recommend import recommend, worst_class_gains

from .power import paired_t_interval
from .prediction_check import allocation_name, kept_densities
from .query_logits import recompute_query, run_logits_file

__all__ = ["RecommendationCheck", "check_recommendation", "format_recommendation_check"]


@dataclass(frozen=True)
class RecommendationCheck:
    """The scored recommendations of one folder: one row per group (``seed``, ``density``, ``floor``,
    ``recommended``, ``best``, ``measured`` {allocation: worst-class test accuracy}, ``regret``,
    ``vs_drop``), the prediction errors over allocations (``mae_worst``, ``mae_mean``, ``n_pairs``) and the
    groups left out, with why (``skipped``: an allocation not recomputable from the committed logits)."""

    folder: str
    max_accuracy_loss: float | None
    prefer: str | None
    rows: list
    mae_worst: float
    mae_mean: float
    n_pairs: int
    skipped: list


def _groups(folder: Path) -> dict:
    groups = defaultdict(dict)
    for f in sorted(folder.glob("*.json")):
        try:
            run = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(run, dict) or not isinstance(run.get("config"), dict) \
                or run.get("status", "done") != "done" or "metrics" not in run:
            continue
        # quota none is plain random pruning, told apart from the class-stratified quota ("uniform")
        name = "Random" if run["config"].get("quota") == "none" else allocation_name(run["config"])
        if name is None:
            continue
        key = (run["seed"], run["config"]["density"], int(run["config"].get("min_per_class") or 0))
        groups[key][name] = run
    return {k: v for k, v in groups.items() if "DRoP" in v and len(v) > 1}


def _query_logits(runs: dict, folder: Path, qdir: Path):
    """The seed's query logits and labels, or the reason the group cannot be scored: every recall-quota
    run of the group must recompute exactly from the committed logits file it names
    (:func:`empirical.query_logits.recompute_query`), so the recommendation is made from the logits that
    chose those allocations, not from a retrained look-alike."""
    for name, run in runs.items():
        check = recompute_query(run, folder, qdir)
        if not check["ok"]:
            return None, f"{name}: {check['reason']}"
    f = run_logits_file(runs["DRoP"], qdir)
    if not f.is_file():
        return None, f"no query logits file {f.name}"
    z = load_query_logits_file(f)
    return (z["val_logits"], z["val_labels"]), None


def _mean_ci(x) -> str:
    """``+0.012 [-0.004, +0.028]``: the mean with its 95% t-interval over groups (no interval for one)."""
    r = paired_t_interval(x)
    m, lo, hi = r["mean"], r["low"], r["high"]
    return f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]" if len(x) > 1 else f"{m:+.3f} (one group)"


def check_recommendation(results, query=None, *, max_accuracy_loss=None, prefer=None,
                         seeds=None) -> RecommendationCheck:
    """Score :func:`gaussian_theory.recommend.recommend` (prior-shift predictions) on the runs of ``results``.

    Parameters
    ----------
    results : path
        A folder of run JSONs of ``droplab empirical run`` (not searched recursively).
    query : path, optional
        The folder of the query logits (default ``results/query_logits``).
    max_accuracy_loss : float, optional
        The recommendation's cap on the predicted loss of balanced accuracy against the Random run.
    prefer : str, optional
        An allocation kept unless another is predicted better with evidence (``recommend``'s ``prefer``;
        the gains' bootstrap: 4,000 resamples, seed 0, 95%). Groups without it are left out, with why.
    seeds : iterable of int, optional
        Score only the groups of these seeds (e.g. those trained after a rule was declared).

    Returns
    -------
    RecommendationCheck

    Raises
    ------
    ValueError
        When ``results`` is not a folder, or no group has a Random+DRoP run, another allocation and the
        committed query logits.
    """
    folder = Path(results)
    if not folder.is_dir():
        raise ValueError(f"runs folder {str(folder)!r} does not exist or is not a folder")
    if prefer is not None and not isinstance(prefer, str):
        raise TypeError(f"prefer must be an allocation name (str), got {prefer!r}")
    if seeds is not None:
        if isinstance(seeds, (str, bytes)) or not all(isinstance(s, (int, np.integer)) and not isinstance(
                s, bool) and s >= 0 for s in seeds):
            raise TypeError(f"seeds must be non-negative integers, got {seeds!r}")
        seeds = {int(s) for s in seeds}
    qdir = Path(query) if query is not None else folder / "query_logits"
    rows, skipped, err_worst, err_mean = [], [], [], []
    for (seed, density, floor), runs in sorted(_groups(folder).items()):
        if seeds is not None and seed not in seeds:
            continue
        if prefer is not None and prefer not in runs:
            skipped.append(f"seed {seed}, d = {density:g}, floor {floor}: no {prefer} run (prefer)")
            continue
        arrays, why = _query_logits(runs, folder, qdir)
        if arrays is None:
            skipped.append(f"seed {seed}, d = {density:g}, floor {floor}: {why}")
            continue
        z, y = arrays
        allocations, measured, densities = {}, {}, {}
        for name, run in runs.items():
            densities[name] = kept_densities(run)
            pred = prior_shift_recalls(z, y, densities[name])
            allocations[name] = {"predicted": {"prior_shift": pred.tolist()}}
            m = run["metrics"]
            measured[name] = float(m["worst_class_accuracy"])
            err_worst.append(abs(float(pred.min()) - measured[name]))
            err_mean.append(abs(float(pred.mean()) - float(m["accuracy"])))
        baseline = "Random" if "Random" in allocations else "DRoP"
        gains = None if prefer is None else worst_class_gains(z, y, densities, prefer, n_boot=4000, seed=0)
        rec = recommend({"allocations": allocations}, max_accuracy_loss=max_accuracy_loss, baseline=baseline,
                        prefer=prefer, gains=gains)
        chosen = rec["recommended"]
        best = max(measured, key=measured.get)
        rows.append({"seed": seed, "density": density, "floor": floor, "recommended": chosen, "best": best,
                     "measured": measured, "regret": measured[best] - measured[chosen],
                     "vs_drop": measured[chosen] - measured["DRoP"]})
    if not rows:
        picked = "" if seeds is None else f" among seeds {sorted(seeds)}"
        raise ValueError(f"runs folder {str(folder)!r}: no (seed, density){picked} with a Random+DRoP run, "
                         f"another Random-score allocation and the query logits that chose them (looked in "
                         f"{str(qdir)!r}){'; ' + skipped[0] if skipped else ''}")
    return RecommendationCheck(str(folder), max_accuracy_loss, prefer, rows, float(np.mean(err_worst)),
                               float(np.mean(err_mean)), len(err_worst), skipped)


def format_recommendation_check(check: RecommendationCheck) -> str:
    """The text of ``droplab empirical check-recommendation``: per (density, floor) the allocations
    recommended, the mean regret against the best allocation in hindsight and the mean difference against
    Random+DRoP (95% t-intervals over groups), and the prediction errors."""
    cap = "no cap" if check.max_accuracy_loss is None else f"cap {check.max_accuracy_loss:g}"
    if check.prefer is not None:
        cap += (f"; {check.prefer} unless another is predicted better with a 95% paired bootstrap interval "
                "above 0")
    out = [f"recommendation before training (prior shift on the query logits; {cap}) scored on "
           f"{check.folder}: {len(check.rows)} groups (seed x density x floor)", ""]
    by_cell = defaultdict(list)
    for r in check.rows:
        by_cell[(r["density"], r["floor"])].append(r)
    header = (f"{'d':>5} {'floor':>5} {'n':>3}  {'recommended (times)':<34} {'regret [95% CI]':<26} "
              f"{'vs DRoP [95% CI]':<26} {'= best':>6}")
    out += [header, "-" * len(header)]
    for (d, floor), rs in sorted(by_cell.items()):
        picks = defaultdict(int)
        for r in rs:
            picks[r["recommended"]] += 1
        chosen = ", ".join(f"{k} {v}" for k, v in sorted(picks.items(), key=lambda kv: -kv[1]))
        hits = sum(r["recommended"] == r["best"] for r in rs)
        regret, vs_drop = _mean_ci([r["regret"] for r in rs]), _mean_ci([r["vs_drop"] for r in rs])
        out.append(f"{d:>5g} {floor:>5d} {len(rs):>3d}  {chosen:<34} {regret:<26} {vs_drop:<26} "
                   f"{hits:>3d}/{len(rs)}")
    out += ["", "for reference, the regret of always choosing one allocation (the best measured allocation "
            "of a group is the highest of noisy numbers: even a rule as good as any has a positive regret):"]
    for (d, floor), rs in sorted(by_cell.items()):
        common = set.intersection(*(set(r["measured"]) for r in rs))
        fixed = {a: float(np.mean([max(r["measured"].values()) - r["measured"][a] for r in rs]))
                 for a in sorted(common)}
        out.append(f"  d = {d:g}, floor {floor}: " + ", ".join(f"{a} {v:+.3f}" for a, v in
                                                              sorted(fixed.items(), key=lambda kv: kv[1])))
    out += ["", f"all groups: regret {_mean_ci([r['regret'] for r in check.rows])}, vs DRoP "
            f"{_mean_ci([r['vs_drop'] for r in check.rows])} (worst-class test accuracy; regret = best "
            "allocation in hindsight minus the recommended one)",
            f"prediction error over {check.n_pairs} allocation x group pairs: worst class MAE "
            f"{check.mae_worst:.3f}, balanced accuracy vs measured accuracy MAE {check.mae_mean:.3f}"]
    if check.skipped:
        out += [f"left out, {len(check.skipped)} group(s) (allocations that do not recompute from the "
                "committed query logits, or no preferred run):", *(f"  {s}" for s in check.skipped)]
    return "\n".join(out) + "\n"
