"""The learned allocation's real test: ``Random+Learned`` runs against the rules, paired by seed
(``droplab empirical loao RUNS --study``).

Per density with ``Random+Learned`` runs (each seed's learned allocation, fitted on that seed's own pilots
and query model, trained with ``--quota counts --counts-label Learned``), against Random+DRoP,
Random+DRoP(a=0.7) and Random of the same seeds: the mean worst-class and average-accuracy differences with
a 95% t-interval over seeds, the number of seeds whose paired test-set interval (stratified bootstrap,
:func:`empirical.stats.paired_difference_interval`) excludes 0 above / below, and the mean worst class of
each. Then the class each learned run measured worst, with the recall its allocation file
(``PILOTS/allocations/learned_d<density>_s<seed>.json``, ``predicted``) forecast for it, and the training
compute of each path in training images (images per epoch x epochs).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .power import paired_t_interval
from .stats import paired_difference_interval

__all__ = ["OTHERS", "format_study"]

#: the methods the learned allocation is paired with, in the table's order
OTHERS = ("Random+DRoP", "Random+DRoP(a=0.7)", "Random")


def _ci(v) -> str:
    r = paired_t_interval(v)
    return f"{r['mean']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"


def _compute_line(learned_run: dict, runs, densities, pilot_images: dict) -> str:
    """The training compute per seed: the pilots, the query model (training images x its epochs x its
    initialisations, from a run that trained it) and the final run (epochs x d x training images) at each
    learned density."""
    n = int(learned_run["dataset"]["n_train"])
    q = next((d["query"] for d in runs if (d.get("query") or {}).get("recipe")
              and d["seed"] == learned_run["seed"]), None)
    q_images = None if q is None else n * int(q["recipe"]["epochs"]) * int(q.get("inits") or 1)
    query = "" if q_images is None else f"query model {q_images:,}; "
    epochs = int(learned_run["final"]["epochs"])
    at = ", ".join(f"{epochs * n * d:,.0f} at d = {d:g}" for d in densities)
    pilots = np.mean(list(pilot_images.values()))
    return (f"\ntraining compute per seed, in training images: pilots {pilots:,.0f}; "
            f"{query}final run {epochs} x d x {n:,} ({at})")


def format_study(pairs, pilot_pairs, allocations) -> str:
    """The learned allocation against the rules, paired by seed (module docstring).

    Parameters
    ----------
    pairs : list
        (run JSON, PilotRun) of the study's runs (:attr:`empirical.loao.LoaoRuns.pairs`).
    pilot_pairs : list
        The same for its pilot runs (their training images are the pilots' compute).
    allocations : path
        The folder of the learned allocation files (``learned_d<density>_s<seed>.json``); a missing file
        leaves out the forecast of that run's worst class.

    Returns
    -------
    str
        The Markdown table and the lines after it; ``(no Random+Learned runs)`` without such runs.
    """
    allocations = Path(allocations)
    runs = {(d["method"], d["config"]["density"], d["seed"]): d for d, _ in pairs}
    learned = sorted({(dens, s) for (m, dens, s) in runs if m == "Random+Learned"})
    if not learned:
        return "(no Random+Learned runs)"
    pilot_images = defaultdict(int)
    for d, _ in pilot_pairs:
        pilot_images[d["seed"]] += int(d["selection"]["n_selected"]) * d["final"]["epochs"]
    out = ["| d | learned vs | seeds | Δ worst-class, mean [95% CI] (seeds CI excl. 0: +/−) | Δ avg acc, "
           "mean [95% CI] | worst class: learned / other |", "|---|---|---|---|---|---|"]
    wrong = []
    densities = sorted({dd for dd, _ in learned})
    for dens in densities:
        seeds = [s for dd, s in learned if dd == dens]
        for other in OTHERS:
            dw, da, plus, minus, worst = [], [], 0, 0, []
            for s in seeds:
                a, b = runs[("Random+Learned", dens, s)], runs.get((other, dens, s))
                if b is None:
                    continue
                ta, tb = a["final"]["test"], b["final"]["test"]
                dw.append(ta["worst_class_accuracy"] - tb["worst_class_accuracy"])
                da.append(ta["accuracy"] - tb["accuracy"])
                iv = paired_difference_interval(ta["predictions"], tb["predictions"], ta["labels"],
                                                len(ta["recalls"]), n_boot=2000, seed=0)
                iv = iv["worst_class_accuracy"]
                plus += iv["low"] > 0
                minus += iv["high"] < 0
                worst.append((ta["worst_class_accuracy"], tb["worst_class_accuracy"]))
            if len(dw) < 2:
                continue
            wl, wo = np.mean(worst, axis=0)
            out.append(f"| {dens:g} | {other} | {len(dw)} | {_ci(dw)} ({plus}/{minus}) | {_ci(da)} | "
                       f"{wl:.3f} / {wo:.3f} |")
        for s in seeds:
            a = runs[("Random+Learned", dens, s)]
            meas = np.asarray(a["metrics"]["recalls"])
            k = int(np.argmin(meas))
            f = allocations / f"learned_d{dens:g}_s{s}.json"
            pred = json.loads(f.read_text())["predicted"] if f.is_file() else None
            names = a["dataset"].get("class_names") or []
            wrong.append((dens, s, names[k] if k < len(names) else k, meas[k],
                          None if pred is None else pred[k]))
    lines = ["\n".join(out), "\nmeasured worst class of each learned run (test recall):"]
    for dens, s, name, m, p in wrong:
        lines.append(f"  d={dens:g} seed {s}: {name} {m:.3f}"
                     + ("" if p is None else f" (predicted {p:.3f})"))
    if pilot_images:
        lines.append(_compute_line(runs[("Random+Learned", *learned[0])], runs.values(), densities,
                                   pilot_images))
    return "\n".join(lines)
