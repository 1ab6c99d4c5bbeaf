"""Do the recall predictors of ``gaussian_theory.recall_prediction`` predict what real training does?

For every (seed, density) with a Random run (uniform pruning, ``quota none``) and at least one
Random+DRoP / Random+DRoP(a=0.7) / Random+probit / Random+minimax run of the CIFAR-10 small-CNN study,
the per-class recalls after each allocation are predicted from that seed's *random-score query model*
(its held-out validation logits, ``query_logits/<query_id>.npz``, written by ``empirical/pipeline.py``;
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

Run by hand (seconds; the query logits are committed as ``query_logits/*.npz``; torch is needed only to
read the pipeline's query caches instead)::

    python bench/recall_prediction_check.py [--results DIR] [--query DIR] [--trials 20] [--plot DIR]

``--plot DIR`` writes ``recall_prediction.png``/``.pdf``, panels lettered row by row: top row (a)-(c),
predicted vs measured per-class recall change, one point per class x allocation x seed/density, one
column per predictor, Pearson r and slope of the rule-based allocations (DRoP, DRoP(a=0.7), probit) in
the titles, minimax drawn as crosses (the failure case); middle row (d)-(f), the same zoomed on the
rule-based points; bottom row (g)-(i), measured vs predicted worst-class recall per allocation and
seed/density. ``recall_prediction.csv`` holds every point (tidy, one row each).
"""

from __future__ import annotations

import argparse
import glob
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
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


def load_query_logits(qdir: Path, qid: str) -> dict | None:
    """``{"logits", "labels"}`` of query model ``qid``: the committed ``query_logits/<qid>.npz``, else the
    pipeline's cache ``_query/<qid>.pt`` (None if it has no validation outputs)."""
    npz = qdir / f"{qid}.npz"
    if npz.is_file():
        with np.load(npz) as z:
            return {"logits": z["val_logits"], "labels": z["val_labels"]}
    import torch

    return torch.load(qdir / f"{qid}.pt", map_location="cpu", weights_only=False).get("val_outputs")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=REPO / "results" / "cifar10-smallcnn")
    ap.add_argument("--query", type=Path, default=None,
                    help="folder of the query logits, the pipeline's query_logits/*.npz (default: "
                    "RESULTS/query_logits, committed) or of its query caches _query/*.pt")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, metavar="DIR",
                    help="also write recall_prediction.png/.pdf (predicted vs measured per-class recall "
                    "change and worst-class recall, one column per predictor) and recall_prediction.csv "
                    "(the points, one row each) into DIR, e.g. figures/empirical")
    args = ap.parse_args(argv)
    qdir = args.query or (args.results / "query_logits")
    qdir = qdir if qdir.is_dir() else None
    groups = load_runs(args.results)
    if not groups or qdir is None:
        raise SystemExit(f"no (seed, density) with a Random run and an allocation run in {args.results}, "
                         "or no query logits folder: pass --query DIR (query_logits/ or _query/ of the "
                         "grid's --out)")
    # rows: one per (seed, density, allocation, class)
    rows = defaultdict(list)
    uniform_measured = defaultdict(list)
    class_names = None
    print(f"runs: {args.results}; query caches: {qdir}")
    for (seed, density), runs in sorted(groups.items()):
        qrun = query_run(runs)
        qid = qrun["query"]["query_id"]
        vo = load_query_logits(qdir, qid)
        if vo is None:
            print(f"  seed {seed} d={density}: query cache {qid} has no val_outputs; skipped")
            continue
        z, y = np.asarray(vo["logits"], dtype=float), np.asarray(vo["labels"], dtype=np.int64)
        sizes = np.asarray(qrun["dataset"]["class_sizes"], dtype=float)
        class_names = class_names or qrun["dataset"].get("class_names")
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
        plot(rows, names, args.plot, class_names)


# allocation -> (colour, label), as METHOD_STYLE of gaussian_theory.figures (damped DRoP: reddish purple)
STYLE = {"uniform": ("black", "uniform (Random)"), "DRoP": ("vermillion", "DRoP"),
         "DRoP(a=0.7)": ("reddish purple", "DRoP(a=0.7)"), "probit": ("sky blue", "probit"),
         "minimax": ("bluish green", "minimax (failure case)")}
PANELS = {"prior-shift": "prior shift on the logits", "surrogate": "calibrated tied surrogate",
          "finite": "finite-sample LDA on the surrogate"}
DENSITY_MARKER = {0.3: "v", 0.5: "o", 0.8: "s"}


def plot_points(rows, class_names=None) -> list[dict]:
    """The points of the figure, tidy (one dict per point): ``quantity`` = ``recall_change`` (one per
    predictor x allocation x seed/density x class; allocation - uniform, predicted on the query model,
    measured against the Random run of the same seed and density) or ``worst_class_recall`` (one per
    predictor x allocation x seed/density; predicted = measured uniform recalls + predicted change, the
    table's baseline mode)."""
    points = []
    for key in PANELS:
        for r in rows[key]:
            base = {"predictor": key, "allocation": r["alloc"], "seed": r["seed"], "density": r["density"],
                    "rule_based": r["alloc"] != "minimax"}
            dp, dm = r["pred"] - r["pred_u"], r["meas"] - r["meas_u"]
            if r["alloc"] != "uniform":
                for k in range(dp.size):
                    name = class_names[k] if class_names is not None else str(k)
                    points.append({**base, "quantity": "recall_change", "class": name,
                                   "predicted": float(dp[k]), "measured": float(dm[k])})
            points.append({**base, "quantity": "worst_class_recall", "class": "",
                           "predicted": float((r["meas_u"] + dp).min()), "measured": float(r["meas"].min())})
    return points


def _fit(pts) -> tuple[float, float]:
    """Pearson r and the least-squares slope through 0 of measured on predicted."""
    x = np.array([p["predicted"] for p in pts])
    y = np.array([p["measured"] for p in pts])
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    return float(pearsonr(x, y)[0]), float(x @ y / (x @ x))


def plot(rows, names, out_dir: Path, class_names=None) -> dict:
    """Write ``recall_prediction.{png,pdf,csv}`` into ``out_dir``; returns the numbers in the titles.

    Row (a): predicted vs measured per-class recall change, all points; (b) the same, zoomed on the
    rule-based allocations (minimax points fall outside); (c) worst-class recall per allocation and
    seed/density, measured vs predicted (baseline mode). One column per predictor."""
    from gaussian_theory.atomic import atomic_write
    from gaussian_theory.figures import OKABE_ITO
    from gaussian_theory.figures.style import new_figure, styled

    points = plot_points(rows, class_names)
    stats = {}

    @styled
    def draw():
        fig = new_figure(14, 14.5, "CIFAR-10 small CNN: per-class test recall after re-allocation (Random "
                         "pruning at the allocation's class densities),\npredicted from the query model's "
                         "validation logits (x) vs measured on the final models' test set (y)",
                         "changes: predicted relative to uniform, measured relative to the Random run of the "
                         "same seed and density; rule-based = DRoP, DRoP(a=0.7), probit\n"
                         "made by bench/recall_prediction_check.py --plot")
        axes = fig.subplots(3, 3)
        change = [p for p in points if p["quantity"] == "recall_change"]
        worst = [p for p in points if p["quantity"] == "worst_class_recall"]
        allx = [p["predicted"] for p in change] + [p["measured"] for p in change]
        lo, hi = min(allx) - 0.05, max(allx) + 0.05
        rule = [p for p in change if p["rule_based"]]
        zr = max(abs(v) for p in rule for v in (p["predicted"], p["measured"])) + 0.02
        wall = [v for p in worst for v in (p["predicted"], p["measured"])]
        wlo, whi = min(wall) - 0.03, max(wall) + 0.03
        for col, (key, title) in enumerate(PANELS.items()):
            ch = [p for p in change if p["predictor"] == key]
            r_rule, s_rule = _fit([p for p in ch if p["rule_based"]])
            r_mm, s_mm = _fit([p for p in ch if not p["rule_based"]])
            mae_rule = np.mean([abs(p["predicted"] - p["measured"]) for p in ch if p["rule_based"]])
            wo = [p for p in worst if p["predictor"] == key]
            w_rule = [p["predicted"] - p["measured"] for p in wo
                      if p["rule_based"] and p["allocation"] != "uniform"]
            w_mm = [p["predicted"] - p["measured"] for p in wo if not p["rule_based"]]
            stats[key] = {"pearson_rule": r_rule, "slope_rule": s_rule, "pearson_minimax": r_mm,
                          "slope_minimax": s_mm, "mae_change_rule": float(mae_rule),
                          "n_rule": sum(p["rule_based"] for p in ch),
                          "worst_mae_rule": float(np.mean(np.abs(w_rule))) if w_rule else float("nan"),
                          "worst_bias_rule": float(np.mean(w_rule)) if w_rule else float("nan"),
                          "worst_bias_minimax": float(np.mean(w_mm)) if w_mm else float("nan")}
            st = stats[key]
            # panels lettered row by row: (a)-(c) the changes, (d)-(f) their zoom, (g)-(i) worst class
            top, zoom, bottom = (f"({chr(ord('a') + row * len(PANELS) + col)})" for row in range(3))
            for row, ax in enumerate(axes[:, col]):
                if row < 2:
                    for name in names[1:]:
                        pts = [p for p in ch if p["allocation"] == name]
                        color, label = STYLE.get(name, ("orange", name))
                        mm = name == "minimax"
                        ax.scatter([p["predicted"] for p in pts], [p["measured"] for p in pts],
                                   s=22 if mm else 14, alpha=0.85, color=OKABE_ITO[color],
                                   marker="x" if mm else "o", linewidths=1.2 if mm else None, label=label,
                                   zorder=2 if mm else 3)
                    lim = (lo, hi) if row == 0 else (-zr, zr)
                    ax.axhline(0, color="grey", lw=0.5)
                    ax.axvline(0, color="grey", lw=0.5)
                    ax.set_xlabel("predicted change of a class's recall vs uniform")
                    if row == 0:
                        mm_line = (f"minimax (failure case): r = {r_mm:.2f}, slope {s_mm:.2f}"
                                   if "minimax" in names else "no minimax runs")
                        ax.set_title(f"{top} {title}\nrule-based: Pearson r = {r_rule:.2f}, "
                                     f"slope {s_rule:.2f} (n = {st['n_rule']})\n{mm_line}")
                    else:
                        ax.set_title(f"{zoom} zoom of {top} on the rule-based points\nrule-based: mean "
                                     f"|predicted - measured| = {mae_rule:.3f}")
                    if col == 0:
                        ax.set_ylabel("measured change vs the Random run\n(same seed and density)")
                else:
                    # an inset zoom on the rule-based points when minimax's failures stretch the axes
                    inset = ax.inset_axes([0.14, 0.57, 0.41, 0.41]) if "minimax" in names else None
                    rw = [v for p in wo if p["rule_based"] for v in (p["predicted"], p["measured"])]
                    ilim = (min(rw) - 0.01, max(rw) + 0.01)
                    for target, size in ((ax, 30), (inset, 22))[:2 if inset is not None else 1]:
                        for name in names:
                            pts = [p for p in wo if p["allocation"] == name]
                            c = OKABE_ITO[STYLE.get(name, ("orange", name))[0]]
                            for d in sorted({p["density"] for p in pts}):
                                pd = [p for p in pts if p["density"] == d]
                                target.scatter([p["predicted"] for p in pd], [p["measured"] for p in pd],
                                               s=size, marker=DENSITY_MARKER.get(d, "D"), edgecolors=c,
                                               facecolors="none" if name == "minimax" else c, linewidths=1.2,
                                               zorder=3)
                    if inset is not None:
                        inset.plot(ilim, ilim, color="grey", lw=1, zorder=1)
                        inset.set(xlim=ilim, ylim=ilim, aspect="equal")
                        inset.tick_params(labelsize=7)
                        ax.indicate_inset_zoom(inset, edgecolor="grey")
                    lim = (wlo, whi)
                    ax.set_xlabel("predicted worst-class recall\n(measured uniform + predicted change)")
                    ax.set_title(f"{bottom} worst-class recall (error = predicted - measured)\nrule-based: "
                                 f"mean |error| {st['worst_mae_rule']:.3f}, mean error "
                                 f"{st['worst_bias_rule']:+.3f}\n" +
                                 (f"minimax: mean error {st['worst_bias_minimax']:+.3f}" if "minimax" in names
                                  else "no minimax runs"))
                    if col == 0:
                        ax.set_ylabel("measured worst-class test recall")
                ax.plot(lim, lim, color="grey", lw=1, zorder=1, label="identity" if row == 0 else None)
                ax.set(xlim=lim, ylim=lim, aspect="equal")
        axes[0, 0].legend(loc="upper left", fontsize=8)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], ls="none", marker="o", ms=6, label=STYLE.get(n, ("orange", n))[1],
                          color=OKABE_ITO[STYLE.get(n, ("orange", n))[0]],
                          mfc="none" if n == "minimax" else None)
                   for n in names]
        handles += [Line2D([], [], ls="none", marker=DENSITY_MARKER.get(d, "D"), ms=6, color="grey",
                           label=f"density {d:g}")
                    for d in sorted({p["density"] for p in worst})]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                   title="(c): colour = allocation (minimax hollow), marker = dataset density; one point per "
                   "allocation x seed x density" + ("; the inset zooms on the rule-based points"
                                                    if "minimax" in names else ""))
        return fig

    fig = draw()
    out_dir.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "pdf"):
        path = out_dir / f"recall_prediction.{ext}"
        atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=150))
        print(f"wrote {path}")
    cols = ("quantity", "predictor", "allocation", "rule_based", "seed", "density", "class", "predicted",
            "measured")
    lines = [",".join(cols)] + [",".join(f"{p[c]:.6f}" if c in ("predicted", "measured") else
                                         f"{p[c]:g}" if c == "density" else str(p[c]) for c in cols)
                                for p in points]
    csv = out_dir / "recall_prediction.csv"
    atomic_write(csv, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    print(f"wrote {csv} ({len(points)} rows)")
    for key, st in stats.items():
        print(f"  {key:<12} rule-based: r = {st['pearson_rule']:.2f}, slope {st['slope_rule']:.2f}, "
              f"n = {st['n_rule']}; minimax: r = {st['pearson_minimax']:.2f}, "
              f"slope {st['slope_minimax']:.2f}; "
              f"worst class: rule-based MAE {st['worst_mae_rule']:.3f}, bias {st['worst_bias_rule']:+.3f}, "
              f"minimax bias {st['worst_bias_minimax']:+.3f}")
    return stats


if __name__ == "__main__":
    main()
