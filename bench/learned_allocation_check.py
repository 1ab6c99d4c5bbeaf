"""Leave-one-allocation-out: does the recall model learned from runs predict allocations it never saw?

The evaluation protocol of the data-mixing laws (RegMix, Aioli), on the committed CIFAR-10 small-CNN
runs (``results/cifar10-smallcnn``: JSONs and each seed's query logits, ``query_logits/*.npz``). For
each non-uniform allocation A (a quota rule at a density: DRoP, DRoP(a=0.7), probit, minimax), the
predictors are fitted on the runs of every *other* allocation (all seeds; each run with its own seed's
query model, validation recalls only) and predict the **test** recalls of A's runs, seed by seed (the
prediction for seed s uses seed s's query logits and its run's class counts).

Predictors:

* ``same-budget uniform``: the recalls of the Random run of the same seed and density (no effect);
* ``prior shift``: that run's recalls plus the change the prior shift on the seed's query logits
  predicts between uniform and A's densities;
* ``learned``: :func:`gaussian_theory.learned_recalls.fit_recall_model` on the other allocations;
* ``learned, pilots only``: the same model fitted only on the pilot runs of the same seed
  (``--pilots``, default ``RESULTS/pilots``: ``droplab pilots`` designs trained with ``--quota counts``)
  -- what a practitioner would have.

The pilot-budget table: the pilots-only model fitted on growing sets of a seed's pilots (none = the
prior shift; then the uniform pilots; then the staircases), its errors on every allocation of that
seed, against the pilots' price in training images (images per epoch x epochs).

The real test (``--study``; the runs of ``results/cifar10-smallcnn/run_learned_study.sh``): per density,
the learned allocation (``Random+Learned``, fitted on each seed's own pilots and query model) against
Random+DRoP, Random+DRoP(a=0.7) and Random, paired by seed: mean worst-class and average-accuracy
differences with a 95% t-interval over seeds and the number of seeds whose paired test-set interval
(stratified bootstrap, ``empirical.stats.paired_difference_interval``; needs torch) excludes 0; the
class the learned rule's predictor got most wrong; and the training compute of each path.

Scores: MAE of per-class recall over A's classes x seeds, separately for the rule-based allocations and
for minimax, and the worst-class error ``|min_k predicted - min_k measured|``. The noise floor: each
seed's recalls predicted by the mean of the other seeds of the same allocation. Run by hand::

    python bench/learned_allocation_check.py [--results DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from gaussian_theory.learned_recalls import fit_recall_model, imbalance_recalls, read_pilot_runs

REPO = Path(__file__).resolve().parents[1]


def load(results: Path):
    """(run JSON, PilotRun) pairs of every finished random-score run in ``results`` (not recursive)."""
    pairs = []
    if not results.is_dir():
        return pairs
    for f in sorted(results.glob("*.json")):
        d = json.loads(f.read_text())
        if d.get("status") != "done" or d["config"]["score"] != "random":
            continue
        try:
            (run,) = read_pilot_runs(f)
        except ValueError as exc:  # e.g. a run whose seed's query logits are not there yet
            print(f"  skipped {f.name}: {exc}")
            continue
        pairs.append((d, run))
    return pairs


def allocation(d: dict) -> str:
    return f"{d['method']} d={d['config']['density']:g}"


def is_pilot(d: dict) -> bool:
    return d["method"].startswith("Random+Pilot")


PILOT_ORDER = ("uniform-0.2", "uniform-0.1", "stairs-1", "stairs-2")


def pilot_budget(pilot_pairs, by_alloc, held):
    """Rows of the pilot-budget table: (pilots, training images, MAE rule, MAE minimax, worst rule,
    worst minimax), averaged over the seeds that have every pilot."""
    from gaussian_theory.learned_recalls import fit_recall_model as fit

    seeds = sorted({d["seed"] for d, _ in pilot_pairs})
    rows = []
    for n in range(len(PILOT_ORDER) + 1):
        names = PILOT_ORDER[:n]
        acc = defaultdict(list)
        images = []
        for s in seeds:
            mine = {d["method"].removeprefix("Random+Pilot-"): (d, r)
                    for d, r in pilot_pairs if d["seed"] == s}
            if not all(p in mine for p in PILOT_ORDER):
                continue
            runs = [mine[p][1] for p in names]
            q = next(r.query for _, r in mine.values())
            model = fit(runs, q, n_boot=0)
            images.append(sum(int(mine[p][0]["selection"]["n_selected"]) * mine[p][0]["final"]["epochs"]
                              for p in names))
            for a in held:
                kind = "minimax" if "Minimax" in a else "rule"
                for d, r in by_alloc[a]:
                    if d["seed"] == s:
                        acc[kind].append(scores(model.point(r.counts, query=r.query),
                                                np.asarray(d["metrics"]["recalls"])))
        if images:
            rows.append(("query model only (prior shift)" if n == 0 else " + ".join(names),
                         int(np.mean(images)), acc))
    return rows


def scores(pred: np.ndarray, meas: np.ndarray) -> tuple[float, float]:
    return float(np.mean(np.abs(pred - meas))), float(abs(pred.min() - meas.min()))


def measured(d: dict, target: str) -> np.ndarray:
    """A run's per-class recalls on the ``target`` half (``test``: held out from every fit)."""
    return np.asarray(d["metrics"]["recalls"] if target == "test" else d["final"]["val"]["recalls"])


def cell(kinds, kind, i):
    v = kinds.get(kind)
    return f"{np.mean([x[i] for x in v]):.3f}" if v else "—"


def table(rows) -> str:
    lines = ["| predictor | MAE, rule-based | MAE, minimax | worst-class error, rule-based | worst-class "
             "error, minimax |", "|---|---|---|---|---|"]
    for name, kinds in rows.items():
        lines.append(f"| {name} | {cell(kinds, 'rule', 0)} | {cell(kinds, 'minimax', 0)} | "
                     f"{cell(kinds, 'rule', 1)} | {cell(kinds, 'minimax', 1)} |")
    return "\n".join(lines)


def leave_one_out(pairs, pilot_pairs, by_alloc, held, target: str, n_boot: int = 0):
    """Errors of every predictor on every held-out allocation's runs, scored on their ``target`` half."""
    uniform = {(d["seed"], d["config"]["density"]): (d, r) for d, r in pairs
               if d["config"]["quota"] == "none"}
    rows = defaultdict(lambda: defaultdict(list))   # predictor -> kind -> [(mae, worst)]
    per_alloc = []
    for a in sorted(held):
        kind = "minimax" if "Minimax" in a else "rule"
        train = [r for b, runs in by_alloc.items() if b != a for d, r in runs if not is_pilot(d)]
        model = fit_recall_model(train, n_boot=n_boot, seed=0)
        pilots_by_seed = {}
        for d, r in by_alloc[a]:
            meas = measured(d, target)
            ud, ur = uniform[(d["seed"], d["config"]["density"])]
            base = np.asarray(ud["final"]["val"]["recalls"])
            ps_change = (imbalance_recalls(r.query, r.counts) - imbalance_recalls(r.query, ur.counts))
            preds = {"same-budget uniform": base, "prior shift": base + ps_change,
                     "learned": model.point(r.counts, query=r.query)}
            pil = [pr for pd, pr in pilot_pairs if pd["seed"] == d["seed"]]
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
    for a in held:
        kind = "minimax" if "Minimax" in a else "rule"
        recs = {h: {d["seed"]: measured(d, h) for d, _ in by_alloc[a]} for h in ("test", "validation")}
        for s, meas in recs[target].items():
            for h in ("test", "validation"):
                others = [v for t, v in recs[h].items() if t != s]
                if others:
                    rows[f"noise floor (other seeds' {h} recalls)"][kind].append(
                        scores(np.mean(others, axis=0), meas))
    return rows, per_alloc


def study(pairs, pilot_pairs, allocations: Path) -> str:
    """The learned allocation against the rules, paired by seed (module docstring)."""
    from scipy.stats import t as student

    from empirical.stats import paired_difference_interval

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
    for dens in sorted({dd for dd, _ in learned}):
        seeds = [s for dd, s in learned if dd == dens]
        for other in ("Random+DRoP", "Random+DRoP(a=0.7)", "Random"):
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

            def ci(v):
                v = np.asarray(v)
                h = student.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
                return f"{v.mean():+.3f} [{v.mean() - h:+.3f}, {v.mean() + h:+.3f}]"

            wl, wo = np.mean(worst, axis=0)
            out.append(f"| {dens:g} | {other} | {len(dw)} | {ci(dw)} ({plus}/{minus}) | {ci(da)} | "
                       f"{wl:.3f} / {wo:.3f} |")
        for s in seeds:
            a = runs[("Random+Learned", dens, s)]
            meas = np.asarray(a["metrics"]["recalls"])
            k = int(np.argmin(meas))
            f = allocations / f"learned_d{dens:g}_s{s}.json"
            pred = json.loads(f.read_text())["predicted"] if f.is_file() else None
            wrong.append((dens, s, k, meas[k], None if pred is None else pred[k]))
    lines = ["\n".join(out)]
    names = ("airplane automobile bird cat deer dog frog horse ship truck").split()
    lines.append("\nmeasured worst class of each learned run (test recall):")
    for dens, s, k, m, p in wrong:
        lines.append(f"  d={dens:g} seed {s}: {names[k] if k < len(names) else k} {m:.3f}"
                     + ("" if p is None else f" (predicted {p:.3f})"))
    if pilot_images:
        per_seed = np.mean(list(pilot_images.values()))
        lines.append(f"\ntraining compute per seed, in training images: pilots {per_seed:,.0f}; query model "
                     f"{50_000 * 3:,}; final run 8 x d x 50,000 ({400_000 * 0.3:,.0f} at d = 0.3, "
                     f"{400_000 * 0.5:,.0f} at d = 0.5)")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=REPO / "results" / "cifar10-smallcnn")
    ap.add_argument("--pilots", type=Path, default=None, help="pilot runs (default: RESULTS/pilots)")
    ap.add_argument("--n-boot", type=int, default=0, help="bootstrap refits (point predictions need none)")
    ap.add_argument("--markdown", action="store_true", help="print the README tables only")
    ap.add_argument("--study", action="store_true", help="also the learned allocation's real test (torch)")
    args = ap.parse_args()
    pairs = load(args.results)
    pilot_pairs = [(d, r) for d, r in load(args.pilots or args.results / "pilots") if is_pilot(d)]
    by_alloc = defaultdict(list)
    for d, r in pairs:
        by_alloc[allocation(d)].append((d, r))
    held = [a for a, runs in by_alloc.items() if runs[0][0]["config"]["quota"] != "none"
            and not is_pilot(runs[0][0])]
    print(f"leave-one-allocation-out on {args.results} ({len(held)} allocations, {len(pairs)} runs): each "
          "allocation's runs predicted by models fitted on the validation recalls of the other allocations")
    per_alloc = None
    for target in ("test", "validation"):
        rows, pa = leave_one_out(pairs, pilot_pairs, by_alloc, held, target, args.n_boot)
        per_alloc = per_alloc or pa
        print(f"\nscored on the held-out runs' {target} recalls:")
        print(table(rows))
    budget = pilot_budget(pilot_pairs, by_alloc, held)
    if budget:
        print("\npilot budget (seeds with every pilot; errors on the test recalls of all of that seed's "
              "allocations):")
        print("| pilots | training images | MAE, rule-based | MAE, minimax | worst-class error, rule-based | "
              "worst-class error, minimax |\n|---|---|---|---|---|---|")
        for name, images, acc in budget:
            print(f"| {name} | {images:,} | {cell(acc, 'rule', 0)} | {cell(acc, 'minimax', 0)} | "
                  f"{cell(acc, 'rule', 1)} | {cell(acc, 'minimax', 1)} |")
    if args.study:
        print("\nthe learned allocation against the rules, paired by seed (test set):")
        print(study(pairs, pilot_pairs, (args.pilots or args.results / "pilots") / "allocations"))
    if not args.markdown:
        print("\nper allocation and seed, test recalls (MAE / worst-class error):")
        for a, s, sc in per_alloc:
            print(f"  {a:28s} seed {s}: " + "; ".join(f"{k} {m:.3f}/{w:.3f}" for k, (m, w) in sc.items()))


if __name__ == "__main__":
    main()
