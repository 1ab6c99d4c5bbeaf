"""Do the recall predictors of ``gaussian_theory.recall_prediction`` predict what real training does?

For every (seed, density) with a Random run (uniform pruning, ``quota none``) and at least one
Random+DRoP / Random+DRoP(a=0.7) / Random+probit / Random+minimax run of the CIFAR-10 small-CNN study,
the per-class recalls after each allocation are predicted from that seed's *random-score query model*
(its cached held-out validation logits, ``_query/<query_id>.pt``, written by ``empirical/pipeline.py``;
the same query model picked the allocations) and compared with the measured per-class **test**
recalls of the final models (``metrics.recalls``). The allocation's densities are the realised ones,
kept count / class size (``selection.class_counts``, else ``quota.counts``).

Predictors (``gaussian_theory.recall_prediction``): ``prior-shift`` (argmax of logit + log d_k on the
validation logits), ``surrogate`` (the same shift on the calibrated tied Gaussian surrogate, Monte
Carlo), ``finite`` (plug-in LDA refitted on round(d_k N_k) surrogate samples), and the null predictor
``no-change`` (every allocation keeps the uniform recalls).

Two ways to compare, because the query model (3 unaugmented epochs) is not the final model
(8 augmented epochs):

* ``direct``: predicted recalls against measured ones (MAE over classes x allocations, uniform included);
* ``baseline``: the predicted *change* relative to uniform added to the measured recalls of the Random
  run of the same seed, against the measured recalls (MAE over classes x non-uniform allocations).

And the change itself: the correlation (Pearson, Spearman) over classes x non-uniform allocations x
seeds of predicted change (allocation - uniform) with measured change (allocation run - Random run of
the same seed), and the least-squares slope of measured on predicted change (1 = right magnitude,
> 1: the predictor under-predicts the change). ``noise``: the seed-to-seed standard deviation of the
Random runs' per-class test recalls -- a measured change is this noisy (times sqrt 2) even when nothing
changes.

Run by hand (seconds; torch is needed only to read the query caches)::

    python bench/recall_prediction_check.py [--results DIR] [--query DIR] [--trials 20]
"""

from __future__ import annotations

import argparse
import glob
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr

from gaussian_theory.allocation import uniform_counts
from gaussian_theory.recall_prediction import predict_recalls

REPO = Path(__file__).resolve().parents[1]
PREDICTORS = ("prior-shift", "surrogate", "finite", "no-change")


def allocation_name(cfg) -> str | None:
    """uniform / DRoP / DRoP(a=0.7) / probit / minimax for Random runs; None for other scores."""
    if cfg["score"] != "random":
        return None
    quota, alpha = cfg["quota"], cfg.get("alpha") or 1.0
    if quota == "none":
        return "uniform"
    if quota == "drop":
        return "DRoP" if alpha == 1.0 else f"DRoP(a={alpha:g})"
    return quota if alpha == 1.0 else f"{quota}(a={alpha:g})"


def load_runs(results: Path) -> dict:
    """{(seed, density): {allocation: run dict}} for the Random runs."""
    groups = defaultdict(dict)
    for f in sorted(glob.glob(str(results / "*.json"))):
        run = json.loads(Path(f).read_text())
        if run.get("status", "done") != "done":
            continue
        name = allocation_name(run["config"])
        if name is not None:
            groups[(run["seed"], run["config"]["density"])][name] = run
    return {k: v for k, v in groups.items() if "uniform" in v and len(v) > 1}


def kept_densities(run) -> np.ndarray:
    sizes = np.asarray(run["dataset"]["class_sizes"], dtype=float)
    counts = (run.get("selection") or {}).get("class_counts") or (run.get("quota") or {}).get("counts")
    if counts is None:
        counts = uniform_counts(sizes, run["config"]["density"])
    return np.asarray(counts, dtype=float) / sizes


def query_run(runs: dict) -> dict:
    """The run whose query model picked the allocations (DRoP's if present)."""
    return runs.get("DRoP") or next(r for n, r in runs.items() if n != "uniform")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=REPO / "results" / "cifar10-smallcnn")
    ap.add_argument("--query", type=Path, default=None,
                    help="folder of the query caches (default: RESULTS/_query, else ../grid/results/...)")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, metavar="DIR",
                    help="also write recall_prediction.png/.pdf (predicted vs measured change per class) and "
                    "recall_prediction.csv (the points) into DIR")
    args = ap.parse_args(argv)
    qdir = args.query or next((d for d in (args.results / "_query",
                                           REPO.parent / "grid" / "results" / args.results.name / "_query")
                               if d.is_dir()), None)
    groups = load_runs(args.results)
    if not groups or qdir is None:
        raise SystemExit(f"no (seed, density) with a Random run and an allocation run in {args.results}, "
                         f"or no query cache folder (got {qdir})")
    # rows: one per (seed, density, allocation, class)
    rows = defaultdict(list)
    uniform_measured = defaultdict(list)
    print(f"runs: {args.results}; query caches: {qdir}")
    for (seed, density), runs in sorted(groups.items()):
        qrun = query_run(runs)
        qid = qrun["query"]["query_id"]
        cache = torch.load(qdir / f"{qid}.pt", map_location="cpu", weights_only=False)
        vo = cache.get("val_outputs")
        if vo is None:
            print(f"  seed {seed} d={density}: query cache {qid} has no val_outputs; skipped")
            continue
        z, y = np.asarray(vo["logits"], dtype=float), np.asarray(vo["labels"], dtype=np.int64)
        sizes = np.asarray(qrun["dataset"]["class_sizes"], dtype=float)
        allocs = {name: kept_densities(run) for name, run in runs.items()}
        pred = predict_recalls(z, y, sizes, allocs, trials=args.trials, seed=args.seed)
        measured = {name: np.asarray(run["metrics"]["recalls"], dtype=float) for name, run in runs.items()}
        uniform_measured[density].append(measured["uniform"])
        print(f"  seed {seed} d={density}: query {qid} (val acc {np.mean(z.argmax(1) == y):.3f}); "
              f"allocations {sorted(allocs)}")
        for name in runs:
            p = pred[name]
            vals = {"prior-shift": (p.prior_shift, pred["uniform"].prior_shift),
                    "surrogate": (p.surrogate, pred["uniform"].surrogate),
                    "finite": (p.finite_sample, pred["uniform"].finite_sample),
                    "no-change": (pred["uniform"].prior_shift, pred["uniform"].prior_shift)}
            for key, (pa, pu) in vals.items():
                rows[key].append({"alloc": name, "seed": seed, "density": density, "pred": pa, "pred_u": pu,
                                  "meas": measured[name], "meas_u": measured["uniform"]})
    noise = np.mean([np.std(np.array(v), axis=0, ddof=1).mean() for v in uniform_measured.values()
                     if len(v) > 1]) if any(len(v) > 1 for v in uniform_measured.values()) else float("nan")
    def block(title, keep, direct_on_moved=False):
        header = (f"{'predictor':<12} {'MAE direct':>10} {'MAE base':>9} {'pearson dR':>10} "
                  f"{'spearman dR':>11} {'slope':>6} {'|dR| pred':>9} {'|dR| meas':>9}")
        print(f"\n{title}")
        print(header)
        print("-" * len(header))
        for key in PREDICTORS:
            rs = [r for r in rows[key] if keep(r["alloc"])]
            moved = [r for r in rs if r["alloc"] != "uniform"]
            on = moved if direct_on_moved else rs
            direct = np.concatenate([np.abs(r["pred"] - r["meas"]) for r in on])
            dp = np.concatenate([r["pred"] - r["pred_u"] for r in moved])
            dm = np.concatenate([r["meas"] - r["meas_u"] for r in moved])
            if np.ptp(dp) > 0:
                corr = (f"{pearsonr(dp, dm)[0]:>10.2f} {spearmanr(dp, dm)[0]:>11.2f} "
                        f"{float(dp @ dm / (dp @ dp)):>6.2f}")
            else:
                corr = f"{'-':>10} {'-':>11} {'-':>6}"
            print(f"{key:<12} {direct.mean():>10.3f} {np.abs(dp - dm).mean():>9.3f} {corr} "
                  f"{np.abs(dp).mean():>9.3f} {np.abs(dm).mean():>9.3f}")
        return len(dm)

    names = sorted({r["alloc"] for r in rows["finite"]}, key=lambda n: (n != "uniform", n))
    n_all = block("all allocations", lambda a: True)
    if "minimax" in names:
        block("rule-based allocations only (uniform, DRoP, damped DRoP, probit)", lambda a: a != "minimax")
    for name in names[1:]:
        block(f"{name} (changes relative to uniform; MAE direct on {name} only)",
              lambda a, name=name: a in ("uniform", name), direct_on_moved=True)
    print(f"\nnoise: seed-to-seed sd of the Random runs' per-class test recalls = {noise:.3f} (a measured "
          f"change between two runs has sd ~ {np.sqrt(2) * noise:.3f}); n = {n_all} class x allocation x "
          "seed changes")
    # per allocation: the worst class, predicted (baseline mode) vs measured
    print("\nper allocation (mean over seeds): measured worst-class recall, and the prediction of each "
          "predictor (baseline mode: measured uniform + predicted change)")
    head2 = f"{'allocation':<14} {'seeds':>5} {'measured':>9} " + " ".join(f"{k:>12}" for k in PREDICTORS[:3])
    print(head2)
    print("-" * len(head2))
    for name in names:
        meas = [r["meas"].min() for r in rows["finite"] if r["alloc"] == name]
        cells = []
        for key in PREDICTORS[:3]:
            cells.append(np.mean([(r["meas_u"] + r["pred"] - r["pred_u"]).min() for r in rows[key]
                                  if r["alloc"] == name]))
        print(f"{name:<14} {len(meas):>5} {np.mean(meas):>9.3f} " + " ".join(f"{c:>12.3f}" for c in cells))
    # the largest class-level misses of the best-correlated predictor
    print("\nper class change (allocation - uniform), mean over seeds: measured / prior-shift / finite")
    for name in names[1:]:
        m = np.mean([r["meas"] - r["meas_u"] for r in rows["finite"] if r["alloc"] == name], axis=0)
        a = np.mean([r["pred"] - r["pred_u"] for r in rows["prior-shift"] if r["alloc"] == name], axis=0)
        f = np.mean([r["pred"] - r["pred_u"] for r in rows["finite"] if r["alloc"] == name], axis=0)
        print(f"  {name:<12} meas  " + " ".join(f"{v:+.3f}" for v in m))
        print(f"  {'':<12} shift " + " ".join(f"{v:+.3f}" for v in a))
        print(f"  {'':<12} fin   " + " ".join(f"{v:+.3f}" for v in f))
    if args.plot is not None:
        plot(rows, names, args.plot)


def plot(rows, names, out_dir: Path) -> None:
    """Predicted vs measured per-class recall change (allocation - uniform, same seed and density), one panel
    per predictor; Pearson r and slope over the rule-based allocations in the titles; the points as CSV."""
    import matplotlib

    matplotlib.use("Agg")   # a script run by hand, not the library
    import matplotlib.pyplot as plt

    from gaussian_theory.atomic import atomic_write
    from gaussian_theory.figures import OKABE_ITO

    out_dir.mkdir(parents=True, exist_ok=True)
    palette = ("vermillion", "reddish purple", "blue", "bluish green", "orange", "sky blue")
    colors = dict(zip(names[1:], [OKABE_ITO[c] for c in palette]))
    titles = {"prior-shift": "prior shift on the logits", "surrogate": "calibrated tied surrogate",
              "finite": "finite-sample LDA on the surrogate"}
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), layout="constrained", sharex=True, sharey=True)
    lines = ["predictor,allocation,seed,density,class,predicted_change,measured_change"]
    for ax, key in zip(axes, titles):
        moved = [r for r in rows[key] if r["alloc"] != "uniform"]
        for name in names[1:]:
            rs = [r for r in moved if r["alloc"] == name]
            dp = np.concatenate([r["pred"] - r["pred_u"] for r in rs])
            dm = np.concatenate([r["meas"] - r["meas_u"] for r in rs])
            ax.scatter(dp, dm, s=14, alpha=0.8, color=colors[name], marker="x" if name == "minimax" else "o",
                       label=name + (" (failure case)" if name == "minimax" else ""))
            for r in rs:
                for k, (a, b) in enumerate(zip(r["pred"] - r["pred_u"], r["meas"] - r["meas_u"])):
                    lines.append(f"{key},{name},{r['seed']},{r['density']:g},{k},{a:.6f},{b:.6f}")
        rule = [r for r in moved if r["alloc"] != "minimax"]
        dp = np.concatenate([r["pred"] - r["pred_u"] for r in rule])
        dm = np.concatenate([r["meas"] - r["meas_u"] for r in rule])
        lim = [-1.0, 0.4]
        ax.plot(lim, lim, color="grey", lw=1)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set(xlim=lim, ylim=lim, xlabel="predicted change of a class's recall vs uniform",
               title=f"{titles[key]}\nrule-based: Pearson {pearsonr(dp, dm)[0]:.2f}, slope "
                     f"{float(dp @ dm / (dp @ dp)):.2f} (n = {dp.size})")
    axes[0].set_ylabel("measured change vs the Random run of the same seed")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("CIFAR-10 small CNN: per-class test-recall change after re-allocation, predicted from the "
                 "query model's validation logits vs measured (bench/recall_prediction_check.py)",
                 fontsize=10)
    for ext in ("png", "pdf"):
        path = out_dir / f"recall_prediction.{ext}"
        atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=150))
        print(f"wrote {path}")
    plt.close(fig)
    csv = out_dir / "recall_prediction.csv"
    atomic_write(csv, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    print(f"wrote {csv}")


if __name__ == "__main__":
    main()
