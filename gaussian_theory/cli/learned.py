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
from pathlib import Path

from . import select
from .format import Progress, format_table, name_option
from .inputs import input_file

__all__ = ["register", "load_recall_model", "forecast_table", "check_run_options"]

RUN_TABLE_HELP = """\
pilot-run table (runs of your own training loop; gaussian_theory.run_table, write_run_table writes one),
with the query model's validation logits named by --query (and --query-labels):
  JSON: {"class_sizes": [N_0, ..., N_K-1],
         "runs": [{"counts": [n_0, ...], "recalls": [r_0, ...], "seed": 0, "label": "uniform-0.1"}, ...]}
        counts: samples kept per class; recalls: per-class recalls on the validation set of --query;
        seed, label and n_eval (validation samples per class; default: --query's) optional
  CSV: one row per run and class, columns in any order (seed optional):
        run,class,count,recall,size,seed
        uniform-0.1,0,500,0.91,5000,0
"""

#: largest count the command line accepts (every integer up to 2**53 is exact in float64)
MAX_COUNT = 2**53


def check_run_options(*, n_boot=None, seed=None, level=None, counts=None, query=None) -> None:
    """The options of ``predict`` (and ``allocate --runs``) checked before any run is read: one-line
    ``ValueError``/``TypeError`` naming the option and its value."""
    from ..learned_recalls import MAX_N_BOOT
    from ..validation import check_int, check_real, check_seed

    try:
        if n_boot is not None:
            check_int(n_boot, "n_boot", minimum=0, maximum=MAX_N_BOOT)
        if seed is not None:
            check_seed(seed)
        if level is not None:
            check_real(level, "level", minimum=0.0, maximum=1.0, strict_minimum=True)
    except (ValueError, TypeError) as exc:
        raise name_option(exc, {"n_boot": "--n-boot", "seed": "--seed", "level": "--level"}) from None
    if counts is not None:
        check_counts_option(counts)
    if query is not None:
        input_file(query, "--query")


def check_counts_option(counts, option: str = "--counts") -> None:
    """``--counts``: integers in [0, 2**53] (a count beyond it is refused here, not overflowed later)."""
    bad = next((c for c in counts if not 0 <= c <= MAX_COUNT), None)
    if bad is not None:
        raise ValueError(f"{option}: counts must be integers in [0, 2**53] (samples kept per class), "
                         f"got {bad}")


def _query_option(query, query_labels):
    """``--query``/``--query-labels`` as ``read_pilot_runs``'s ``query``: the path of a query-logits
    ``.npz`` (val_logits, val_labels), or with ``--query-labels`` the pair of arrays the two files hold."""
    from ..arrays import load_labels, load_logits

    if query_labels is not None:
        if query is None:
            raise ValueError("--query-labels goes with --query (the logits those labels belong to)")
        return (load_logits(query, "--query"), load_labels(query_labels, "--query-labels"),
                Path(query).name)
    return query


def load_recall_model(run_dirs, *, seeds=None, query=None, query_labels=None, n_boot=100, seed=0,
                      progress=None):
    """The recall model fitted on the runs under ``run_dirs`` (``--runs``: run JSONs of droplab empirical
    run, or pilot-run tables of your own runs, :mod:`gaussian_theory.run_table`): with ``seeds``, only
    those seeds' runs; ``query`` a query-logits ``.npz`` (or, with ``query_labels``, any logits file and
    its labels' file) used for every run and for the predictions, instead of each seed's
    ``query_logits/*_random_s<seed>_*.npz`` (default: those, and for the predictions the random query
    model of the lowest seed among the runs; required for a pilot-run table); ``progress``: called with
    each stage's name (a :class:`~.format.Progress`). Returns ``(model, runs)``."""
    from ..learned_recalls import fit_recall_model
    from ..pilot_runs import read_pilot_runs

    check_run_options(n_boot=n_boot, seed=seed, query=query if query_labels is None else None)
    q_arg = _query_option(query, query_labels)
    if progress is not None:
        progress("reading the runs")
    try:
        runs = read_pilot_runs(run_dirs, seeds=None if seeds is None else set(seeds), query=q_arg)
    except ValueError as exc:
        raise name_option(exc, {"query logits file": "--query"}) from None
    if not runs:
        raise ValueError(f"--runs {' '.join(map(str, run_dirs))}: no finished runs with random within-class "
                         "pruning" + (f" for seeds {seeds}" if seeds is not None else "")
                         + " (droplab's run JSONs, or a pilot-run table of your own runs with --query)")
    q = runs[0].query if query is not None else min(runs, key=lambda r: r.seed).query
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

    check_run_options(n_boot=args.n_boot, seed=args.seed, level=args.level, counts=args.counts,
                      query=args.query)
    try:
        with Progress(3, enabled=not args.no_progress, desc="droplab predict") as progress:
            model, runs = load_recall_model(args.runs, seeds=args.seeds, query=args.query,
                                            query_labels=args.query_labels, n_boot=args.n_boot,
                                            seed=args.seed, progress=progress)
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
    from ..learned_recalls import pilot_design

    if args.epochs < 1:
        raise ValueError(f"--epochs must be a positive integer (epochs per pilot run, for the price), got "
                         f"{args.epochs}")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out!r} is a file, expected a folder")
    try:
        runs = pilot_design(args.sizes, uniform=args.uniform, staircases=args.staircases, small=args.small,
                            large=args.large, seed=args.seed)
    except (ValueError, TypeError) as exc:
        raise name_option(exc, {"class_sizes": "--sizes", "uniform": "--uniform", "small": "--small",
                                "staircases": "--staircases", "large": "--large", "seed": "--seed"}) from None
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
        out.mkdir(parents=True, exist_ok=True)
        for r in runs:
            path = out / f"pilot_{r['label']}_s{args.seed}.json"
            path.write_text(json.dumps({"counts": r["counts"].tolist(), "density": r["density"],
                                        "label": f"Pilot-{r['label']}", "seed": args.seed,
                                        **({"small_classes": r["small_classes"]} if "small_classes" in r
                                           else {})}) + "\n")
            print(f"wrote {path}")
    print("the samples each pilot keeps: droplab select --labels TRAIN_LABELS --counts-file FILE --seed S "
          f"--out DIR/, a seed S of its own per pilot (--seed {args.seed} here chose only the staircases' "
          "small classes)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("predict", help="predicted per-class recalls for any class counts, learned from runs",
                       description="Fit the recall model of gaussian_theory.learned_recalls (prior shift on "
                       "the query model's validation logits + per-class learning curves + a total-n term) on "
                       "the runs with random within-class pruning under --runs (their validation recalls; "
                       "query logits from RUNS/query_logits/, or --query), then predict every class's "
                       "recall, with an interval, for the class counts --counts.", epilog=RUN_TABLE_HELP)
    p.add_argument("--runs", nargs="+", required=True, metavar="DIR",
                   help="folders (or files) of run JSONs of droplab empirical run, or pilot-run tables of "
                   "your own runs (JSON or CSV, with --query; format below)")
    p.add_argument("--counts", type=int, nargs="+", required=True, metavar="N",
                   help="samples kept per class, in class order")
    p.add_argument("--seeds", type=int, nargs="+", help="fit only on the runs of these seeds")
    p.add_argument("--query", metavar="FILE", help="query logits used for every run and for the predictions: "
                   "an .npz of val_logits and val_labels, or any logits file (.npy, .npz:KEY, CSV) with "
                   "--query-labels; instead of looking up each seed's query_logits/*_random_s<seed>_*.npz "
                   "beside run JSONs (default: those; predictions use the lowest seed's); required for a "
                   "pilot-run table")
    p.add_argument("--query-labels", metavar="FILE", help="the validation labels of --query's logits")
    p.add_argument("--level", type=float, default=0.95, help="interval level")
    p.add_argument("--n-boot", type=int, default=100, help="bootstrap refits over runs (at most 10000)")
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
    p.add_argument("--staircases", type=int, default=2, help="number of staircase pilots (at most 1000)")
    p.add_argument("--small", type=float, default=0.03, help="density of the small classes")
    p.add_argument("--large", type=float, default=0.4, help="density of the other classes")
    p.add_argument("--epochs", type=int, default=8, help="epochs per run, for the price")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the staircases' class choice only (which classes are small); the samples "
                   "each pilot keeps are drawn by droplab select --seed: give every pilot, and the final "
                   "run, a select seed of its own")
    p.add_argument("--out", metavar="DIR", help="write one count file per pilot (pilot_<label>_s<seed>.json)")
    p.set_defaults(func=_cmd_pilots)

    select.register(sub)
