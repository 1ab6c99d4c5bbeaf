"""``droplab predict``, ``droplab pilots`` and ``droplab select``: the practitioner's path from pilot runs
to a trained allocation (README, "An allocation learned from pilot runs").

* ``pilots``: the pilot runs to train before allocating, priced in training images, as count files;
* ``predict``: every class's recall, with an interval, for any class counts, from a folder of runs
  (:mod:`gaussian_theory.learned_recalls`);
* ``select``: class counts -> the kept indices of any labelled dataset.

(``droplab allocate --runs`` is the learned allocation itself, beside uniform and DRoP.)
"""

from __future__ import annotations

import json
import sys

from .format import Progress, format_table, name_option
from .inputs import load_array

__all__ = ["register", "load_recall_model", "forecast_table"]


def load_recall_model(run_dirs, *, seeds=None, query=None, n_boot=100, seed=0, progress=None):
    """The recall model fitted on the runs under ``run_dirs`` (``--runs``): with ``seeds``, only those
    seeds' runs; ``query`` a query-logits ``.npz`` (default: the random query model of the lowest seed
    among the runs); ``progress``: called with each stage's name (a :class:`~.format.Progress`). Returns
    ``(model, runs)``."""
    from ..learned_recalls import fit_recall_model, read_pilot_runs, read_query_logits

    if progress is not None:
        progress("reading the runs")
    runs = read_pilot_runs(run_dirs, seeds=None if seeds is None else set(seeds))
    if not runs:
        raise ValueError(f"--runs {' '.join(map(str, run_dirs))}: no finished runs with random within-class "
                         "pruning" + (f" for seeds {seeds}" if seeds is not None else ""))
    q = None
    if query is not None:
        q = read_query_logits(query, runs[0].query.class_sizes)
    else:
        q = min(runs, key=lambda r: r.seed).query
    if progress is not None:
        progress(f"fitting the recall model to {len(runs)} runs ({n_boot} bootstrap refits)")
    return fit_recall_model(runs, q, n_boot=n_boot, seed=seed), runs


def forecast_table(names, counts, forecast) -> str:
    """Predicted recalls with their interval, one row per class."""
    rows = [[str(c), f"{int(n)}", r, lo, hi] for c, n, r, lo, hi in
            zip(names, counts, forecast.recalls, forecast.lower, forecast.upper)]
    pct = f"{100 * forecast.level:g}%"
    return format_table(["class", "count", "predicted recall", f"{pct} low", f"{pct} high"], rows,
                        floatfmt="{:.3f}")


def _model_summary(model, runs) -> str:
    seeds = sorted({r.seed for r in runs})
    return (f"recall model: {len(runs)} runs (seeds {', '.join(map(str, seeds))}), imbalance strength gamma "
            f"{model.gamma:g}, run-to-run logit SD "
            + ("n/a (< 3 runs)" if model.noise_logit_sd is None else f"{model.noise_logit_sd:.3f}")
            + f"; query model {model.query.name}")


def _cmd_predict(args) -> int:
    import numpy as np

    try:
        with Progress(3, enabled=not args.no_progress, desc="droplab predict") as progress:
            model, runs = load_recall_model(args.runs, seeds=args.seeds, query=args.query,
                                            n_boot=args.n_boot, seed=args.seed, progress=progress)
            progress("predicting")
            fc = model.predict(np.asarray(args.counts), level=args.level)
    except ValueError as exc:
        raise name_option(exc, {"counts": "--counts", "level": "--level", "n_boot": "--n-boot"}) from None
    if args.json:
        print(json.dumps({**fc.to_dict(), "counts": [int(c) for c in args.counts], "gamma": model.gamma,
                          "n_runs": len(runs), "query": model.query.name}))
        return 0
    print(_model_summary(model, runs))
    print(forecast_table(range(len(args.counts)), args.counts, fc))
    print(f"predicted worst class: {fc.worst} (recall {fc.recalls[fc.worst]:.3f})")
    return 0


def _cmd_pilots(args) -> int:
    from pathlib import Path

    from ..learned_recalls import pilot_design

    runs = pilot_design(args.sizes, uniform=args.uniform, staircases=args.staircases, small=args.small,
                        large=args.large, seed=args.seed)
    total = sum(r["images"] for r in runs)
    n = sum(args.sizes)
    rows = [[r["label"], f"{r['density']:.4f}", f"{r['images']}", f"{r['images'] * args.epochs}",
             " ".join(map(str, r["counts"].tolist()))] for r in runs]
    head = ["pilot", "density", "images/epoch", f"images x {args.epochs} epochs", "counts"]
    print(format_table(head, rows))
    print(f"total: {total * args.epochs} training images ({total * args.epochs / (n * args.epochs):.2f} "
          f"full-data runs of {args.epochs} epochs)")
    if args.out is not None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {str(out)!r} is a file, expected a folder")
        out.mkdir(parents=True, exist_ok=True)
        for r in runs:
            path = out / f"pilot_{r['label']}_s{args.seed}.json"
            path.write_text(json.dumps({"counts": r["counts"].tolist(), "density": r["density"],
                                        "label": f"Pilot-{r['label']}", "seed": args.seed,
                                        **({"small_classes": r["small_classes"]} if "small_classes" in r
                                           else {})}) + "\n")
            print(f"wrote {path}")
    return 0


def _cmd_select(args) -> int:
    import numpy as np

    from ..quota_rules import read_allocation_file
    from ..selection import select_indices

    labels = load_array(args.labels, "--labels")
    if args.counts_file is not None:
        alloc = read_allocation_file(args.counts_file, "--counts-file")
        if "counts" not in alloc:
            raise ValueError(f"--counts-file {args.counts_file!r}: holds densities; select needs counts")
        counts = np.asarray(alloc["counts"], dtype=np.int64)
    else:
        counts = np.asarray(args.counts, dtype=np.int64)
    scores = None if args.scores is None else load_array(args.scores, "--scores")
    try:
        idx = select_indices(labels, counts, scores=scores, seed=args.seed)
    except ValueError as exc:
        raise name_option(exc, {"labels": "--labels", "counts": "--counts", "scores": "--scores"}) from None
    np.save(args.out, idx)
    kept = np.bincount(np.asarray(labels)[idx], minlength=counts.size)
    print(f"kept {idx.size} of {np.asarray(labels).size} samples (per class: {' '.join(map(str, kept))}) -> "
          f"{args.out}", file=sys.stderr if args.out == "/dev/stdout" else sys.stdout)
    return 0


def register(sub) -> None:
    p = sub.add_parser("predict", help="predicted per-class recalls for any class counts, learned from runs",
                       description="Fit the recall model of gaussian_theory.learned_recalls (prior shift on "
                       "the query model's validation logits + per-class learning curves + a total-n term) on "
                       "the runs with random within-class pruning under --runs (their validation recalls; "
                       "query logits from RUNS/query_logits/), then predict every class's recall, with an "
                       "interval, for the class counts --counts.")
    p.add_argument("--runs", nargs="+", required=True, metavar="DIR", help="folders (or files) of run JSONs")
    p.add_argument("--counts", type=int, nargs="+", required=True, metavar="N",
                   help="samples kept per class, in class order")
    p.add_argument("--seeds", type=int, nargs="+", help="fit only on the runs of these seeds")
    p.add_argument("--query", metavar="NPZ", help="query logits (default: the random query model of the "
                   "lowest seed among the runs)")
    p.add_argument("--level", type=float, default=0.95, help="interval level")
    p.add_argument("--n-boot", type=int, default=100, help="bootstrap refits over runs")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--json", action="store_true", help="print one JSON object (\"recalls\": K numbers, ...)")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("pilots", help="the pilot runs to train before allocating, priced in training images",
                       description="Uniform pilots (the learning curve in n) and imbalanced 'staircase' "
                       "pilots (some classes small among large ones, a new random choice per staircase and "
                       "seed: what decides extreme allocations). Train each with droplab empirical run "
                       "--quota counts --counts FILE.")
    p.add_argument("--sizes", type=int, nargs="+", required=True, metavar="N",
                   help="training-set class sizes")
    p.add_argument("--uniform", type=float, nargs="*", default=[0.1, 0.2], metavar="D",
                   help="densities of the uniform pilots")
    p.add_argument("--staircases", type=int, default=2, help="number of staircase pilots")
    p.add_argument("--small", type=float, default=0.03, help="density of the small classes")
    p.add_argument("--large", type=float, default=0.4, help="density of the other classes")
    p.add_argument("--epochs", type=int, default=8, help="epochs per run, for the price")
    p.add_argument("--seed", type=int, default=0, help="seed of the staircases' class choice")
    p.add_argument("--out", metavar="DIR", help="write one count file per pilot (pilot_<label>_s<seed>.json)")
    p.set_defaults(func=_cmd_pilots)

    p = sub.add_parser("select", help="class counts -> the kept indices of a labelled dataset (.npy)",
                       description="Keep counts[k] samples of each class k of the dataset whose labels are "
                       "--labels: the highest --scores of each class, or at random from --seed.")
    p.add_argument("--labels", required=True, metavar="NPY", help="(n,) integer class labels 0..K-1")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--counts", type=int, nargs="+", metavar="N", help="samples kept per class")
    g.add_argument("--counts-file", metavar="JSON",
                   help="an allocation file (droplab allocate --runs --json)")
    p.add_argument("--scores", metavar="NPY", help="(n,) scores, higher = kept (default: random)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random choice")
    p.add_argument("--out", required=True, metavar="NPY", help="where to write the sorted kept indices")
    p.set_defaults(func=_cmd_select)
