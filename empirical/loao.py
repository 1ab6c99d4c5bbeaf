"""Leave one allocation out: does the recall model learned from runs predict allocations it never saw?
``droplab empirical loao RUNS``.

The evaluation protocol of the data-mixing laws (RegMix, Aioli), on a folder of runs (its run JSONs and
each seed's query logits, ``query_logits/*.npz``). For each non-uniform allocation A (a quota rule at a
density: DRoP, DRoP(a=0.7), probit, minimax, explicit counts), the predictors are fitted on the runs of
every *other* allocation (all seeds; each run with its own seed's query model, validation recalls only)
and predict the **test** recalls of A's runs, seed by seed (the prediction for seed s uses seed s's query
logits and its run's class counts). Pilot runs (``Random+Pilot-*``) are never held out nor fitted on.

Predictors:

* ``same-budget uniform``: the validation recalls of the Random run of the same seed and density (no
  effect);
* ``prior shift``: those recalls plus the change the prior shift on the seed's query logits predicts
  between uniform and A's class counts;
* ``learned``: :func:`gaussian_theory.learned_recalls.fit_recall_model` on the other allocations;
* ``learned, pilots only``: the same model fitted only on the pilot runs of the same seed (``pilots``,
  default ``RUNS/pilots``: ``droplab pilots`` designs trained with ``--quota counts``) -- what a
  practitioner would have.

The pilot-budget table: the pilots-only model fitted on growing sets of a seed's pilots (none = the prior
shift; then the uniform pilots; then the staircases), its errors on every allocation of that seed, against
the pilots' price in training images (images per epoch x epochs).

Scores: MAE of per-class recall over A's classes x seeds, separately for the rule-based allocations (every
one but minimax) and for minimax, and the worst-class error ``|min_k predicted - min_k measured|``. The
noise floors: each seed's recalls predicted by the mean of the other seeds of the same allocation, from
their test and from their validation recalls.

The learned allocation's own test against the rules: :mod:`empirical.learned_study` (``--study``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaussian_theory.learned_recalls import fit_recall_model, imbalance_recalls
from gaussian_theory.pilot_runs import read_pilot_runs

__all__ = ["LoaoRuns", "PILOT_ORDER", "load_runs", "collect", "allocation", "is_pilot", "scores",
           "leave_one_out", "pilot_budget", "error_table", "budget_table", "format_loao"]

#: the pilots of ``droplab pilots``, in the order the pilot-budget table adds them
PILOT_ORDER = ("uniform-0.2", "uniform-0.1", "stairs-1", "stairs-2")


def load_runs(results, log: list | None = None) -> list:
    """(run JSON, :class:`~gaussian_theory.pilot_runs.PilotRun`) pairs of every finished random-score run
    in ``results`` (its ``*.json``, not searched recursively); a run that cannot be read as a pilot run
    (e.g. its seed's query logits are missing) is skipped with a line in ``log``. A missing folder gives
    no pairs."""
    pairs, results = [], Path(results)
    if not results.is_dir():
        return pairs
    for f in sorted(results.glob("*.json")):
        d = json.loads(f.read_text())
        if not isinstance(d, dict) or d.get("status") != "done" or d["config"]["score"] != "random":
            continue
        try:
            (run,) = read_pilot_runs(f)
        except ValueError as exc:
            if log is not None:
                log.append(f"  skipped {f.name}: {exc}")
            continue
        pairs.append((d, run))
    return pairs


def allocation(d: dict) -> str:
    """An allocation's name: the run's method and density, e.g. ``Random+DRoP d=0.3``."""
    return f"{d['method']} d={d['config']['density']:g}"


def is_pilot(d: dict) -> bool:
    """Whether a run JSON is a pilot run of ``droplab pilots`` (method ``Random+Pilot-*``)."""
    return d["method"].startswith("Random+Pilot")


def _kind(a: str) -> str:
    return "minimax" if "Minimax" in a else "rule"


@dataclass
class LoaoRuns:
    """The runs of one leave-one-allocation-out analysis.

    Attributes
    ----------
    results, pilots : Path
        The runs folder and the pilots folder.
    pairs : list
        (run JSON, PilotRun) of every usable run of ``results``.
    pilot_pairs : list
        The same for the pilot runs of ``pilots``.
    by_alloc : dict
        ``{allocation: [(run JSON, PilotRun)]}`` of ``pairs``.
    held : list of str
        The allocations held out in turn: every non-uniform allocation that is not a pilot.
    log : list of str
        Runs skipped, and why.
    """

    results: Path
    pilots: Path
    pairs: list
    pilot_pairs: list
    by_alloc: dict
    held: list
    log: list = field(default_factory=list)


def collect(results, pilots=None) -> LoaoRuns:
    """Read the runs of ``results`` and the pilot runs of ``pilots`` (default ``RESULTS/pilots``).

    Raises
    ------
    ValueError
        When ``results`` is not a folder, has no Random run (quota none) or no non-uniform allocation,
        or when no held-out run has a Random run of the same seed and density.
    """
    results = Path(results)
    pilots = Path(pilots) if pilots is not None else results / "pilots"
    if not results.is_dir():
        raise ValueError(f"runs folder {str(results)!r} does not exist or is not a folder")
    log = []
    pairs = load_runs(results, log)
    pilot_pairs = [(d, r) for d, r in load_runs(pilots, log) if is_pilot(d)]
    by_alloc = defaultdict(list)
    for d, r in pairs:
        by_alloc[allocation(d)].append((d, r))
    held = [a for a, runs in by_alloc.items() if runs[0][0]["config"]["quota"] != "none"
            and not is_pilot(runs[0][0])]
    what = "finished random-score runs with their seed's query logits (query_logits/*.npz)"
    if not any(d["config"]["quota"] == "none" for d, _ in pairs):
        raise ValueError(f"no Random run (score random, quota none) among the {what} in {str(results)!r}")
    if not held:
        raise ValueError(f"no allocation to hold out (a run with score random and a quota other than none) "
                         f"among the {what} in {str(results)!r}")
    uniform = {(d["seed"], d["config"]["density"]) for d, _ in pairs if d["config"]["quota"] == "none"}
    if not any((d["seed"], d["config"]["density"]) in uniform for a in held for d, _ in by_alloc[a]):
        raise ValueError(f"no run of an allocation in {str(results)!r} has a Random run (quota none) of the "
                         "same seed and density")
    return LoaoRuns(results, pilots, pairs, pilot_pairs, dict(by_alloc), held, log)


def scores(pred: np.ndarray, meas: np.ndarray) -> tuple[float, float]:
    """(MAE over classes, worst-class error ``|min pred - min meas|``)."""
    return float(np.mean(np.abs(pred - meas))), float(abs(pred.min() - meas.min()))


def _measured(d: dict, target: str) -> np.ndarray:
    """A run's per-class recalls on the ``target`` half (``test``: held out from every fit)."""
    return np.asarray(d["metrics"]["recalls"] if target == "test" else d["final"]["val"]["recalls"])


def leave_one_out(data: LoaoRuns, target: str = "test", n_boot: int = 0) -> tuple[dict, list]:
    """Errors of every predictor on every held-out allocation's runs.

    Parameters
    ----------
    data : LoaoRuns
    target : {"test", "validation"}
        The half of the held-out runs scored on.
    n_boot : int
        Bootstrap refits of the learned model (point predictions need none).

    Returns
    -------
    rows : dict
        ``{predictor: {"rule" | "minimax": [(mae, worst-class error)]}}``, the noise floors included.
    per_alloc : list
        ``(allocation, seed, {predictor: (mae, worst-class error)})`` per held-out run.
    """
    uniform = {(d["seed"], d["config"]["density"]): (d, r) for d, r in data.pairs
               if d["config"]["quota"] == "none"}
    rows = defaultdict(lambda: defaultdict(list))
    per_alloc = []
    for a in sorted(data.held):
        kind = _kind(a)
        held_runs = [(d, r) for d, r in data.by_alloc[a] if (d["seed"], d["config"]["density"]) in uniform]
        if not held_runs:
            continue
        train = [r for b, runs in data.by_alloc.items() if b != a for d, r in runs if not is_pilot(d)]
        model = fit_recall_model(train, n_boot=n_boot, seed=0)
        pilots_by_seed = {}
        for d, r in held_runs:
            meas = _measured(d, target)
            ud, ur = uniform[(d["seed"], d["config"]["density"])]
            base = np.asarray(ud["final"]["val"]["recalls"])
            ps_change = imbalance_recalls(r.query, r.counts) - imbalance_recalls(r.query, ur.counts)
            preds = {"same-budget uniform": base, "prior shift": base + ps_change,
                     "learned": model.point(r.counts, query=r.query)}
            pil = [pr for pd, pr in data.pilot_pairs if pd["seed"] == d["seed"]]
            if pil:
                if d["seed"] not in pilots_by_seed:
                    pilots_by_seed[d["seed"]] = fit_recall_model(pil, n_boot=0)
                preds["learned, pilots only"] = pilots_by_seed[d["seed"]].point(r.counts, query=r.query)
            for name, p in preds.items():
                rows[name][kind].append(scores(p, meas))
            per_alloc.append((a, d["seed"], {k: scores(v, meas) for k, v in preds.items()}))
    # the noise floors: a seed's recalls predicted by the mean of the other seeds of the same allocation,
    # from their test recalls and from their validation recalls (on the test target, the second is the
    # floor of any predictor fitted on validation recalls: the two halves' fixed images differ by class)
    for a in data.held:
        kind = _kind(a)
        recs = {h: {d["seed"]: _measured(d, h) for d, _ in data.by_alloc[a]} for h in ("test", "validation")}
        for s, meas in recs[target].items():
            for h in ("test", "validation"):
                others = [v for t, v in recs[h].items() if t != s]
                if others:
                    rows[f"noise floor (other seeds' {h} recalls)"][kind].append(
                        scores(np.mean(others, axis=0), meas))
    return rows, per_alloc


def pilot_budget(data: LoaoRuns) -> list:
    """Rows of the pilot-budget table, averaged over the seeds that have every pilot of
    :data:`PILOT_ORDER`.

    Returns
    -------
    list of tuple
        ``(pilots, training images, {"rule" | "minimax": [(mae, worst-class error)]})`` for none, the first
        pilot, the first two, ...; empty without such seeds.
    """
    seeds = sorted({d["seed"] for d, _ in data.pilot_pairs})
    rows = []
    for n in range(len(PILOT_ORDER) + 1):
        names = PILOT_ORDER[:n]
        acc = defaultdict(list)
        images = []
        for s in seeds:
            mine = {d["method"].removeprefix("Random+Pilot-"): (d, r)
                    for d, r in data.pilot_pairs if d["seed"] == s}
            if not all(p in mine for p in PILOT_ORDER):
                continue
            runs = [mine[p][1] for p in names]
            q = next(r.query for _, r in mine.values())
            model = fit_recall_model(runs, q, n_boot=0)
            images.append(sum(int(mine[p][0]["selection"]["n_selected"]) * mine[p][0]["final"]["epochs"]
                              for p in names))
            for a in data.held:
                for d, r in data.by_alloc[a]:
                    if d["seed"] == s:
                        acc[_kind(a)].append(scores(model.point(r.counts, query=r.query),
                                                    np.asarray(d["metrics"]["recalls"])))
        if images:
            rows.append(("query model only (prior shift)" if n == 0 else " + ".join(names),
                         int(np.mean(images)), acc))
    return rows


def _cell(kinds, kind, i):
    v = kinds.get(kind)
    return f"{np.mean([x[i] for x in v]):.3f}" if v else "—"


def error_table(rows: dict) -> str:
    """The Markdown table of :func:`leave_one_out`'s ``rows``: MAE and worst-class error, rule-based and
    minimax, per predictor (— where none was scored)."""
    lines = ["| predictor | MAE, rule-based | MAE, minimax | worst-class error, rule-based | worst-class "
             "error, minimax |", "|---|---|---|---|---|"]
    for name, kinds in rows.items():
        lines.append(f"| {name} | {_cell(kinds, 'rule', 0)} | {_cell(kinds, 'minimax', 0)} | "
                     f"{_cell(kinds, 'rule', 1)} | {_cell(kinds, 'minimax', 1)} |")
    return "\n".join(lines)


def budget_table(budget: list) -> str:
    """The Markdown table of :func:`pilot_budget`."""
    lines = ["| pilots | training images | MAE, rule-based | MAE, minimax | worst-class error, rule-based | "
             "worst-class error, minimax |", "|---|---|---|---|---|---|"]
    for name, images, acc in budget:
        lines.append(f"| {name} | {images:,} | {_cell(acc, 'rule', 0)} | {_cell(acc, 'minimax', 0)} | "
                     f"{_cell(acc, 'rule', 1)} | {_cell(acc, 'minimax', 1)} |")
    return "\n".join(lines)


def format_loao(data: LoaoRuns, *, n_boot: int = 0, markdown: bool = False, study: str | None = None) -> str:
    """The report of ``droplab empirical loao``: the tables scored on the test and on the validation
    recalls, the pilot budget, ``study`` (the text of :func:`empirical.learned_study.format_study`, if
    given), and unless ``markdown`` the errors per held-out run.

    Returns
    -------
    str
        Lines ending in a newline.
    """
    lines = list(data.log)
    lines.append(f"leave-one-allocation-out on {data.results} ({len(data.held)} allocations, "
                 f"{len(data.pairs)} runs): each allocation's runs predicted by models fitted on the "
                 "validation recalls of the other allocations")
    per_alloc = None
    for target in ("test", "validation"):
        rows, pa = leave_one_out(data, target, n_boot)
        per_alloc = per_alloc or pa
        lines += ["", f"scored on the held-out runs' {target} recalls:", error_table(rows)]
    budget = pilot_budget(data)
    if budget:
        lines += ["", "pilot budget (seeds with every pilot; errors on the test recalls of all of that "
                  "seed's allocations):", budget_table(budget)]
    if study is not None:
        lines += ["", "the learned allocation against the rules, paired by seed (test set):", study]
    if not markdown:
        lines += ["", "per allocation and seed, test recalls (MAE / worst-class error):"]
        for a, s, sc in per_alloc:
            lines.append(f"  {a:28s} seed {s}: "
                         + "; ".join(f"{k} {m:.3f}/{w:.3f}" for k, (m, w) in sc.items()))
    return "\n".join(lines) + "\n"
