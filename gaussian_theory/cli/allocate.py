"""``droplab allocate``: DRoP class densities and integer counts from per-class validation recalls
(Algorithm 1 of arXiv 2404.05579; README, "Two DRoP rules"), read from the command line or a file;
``--allocation-rule probit`` and ``--alpha`` give the two-Gaussian optimum and damped DRoP
(README, "Allocation rules"). With ``--logits``/``--labels`` (a query model's held-out validation
logits) and ``--train-labels`` (the training labels, for the class sizes), every rule's counts --
uniform, DRoP, damped DRoP, probit and the surrogate's minimax -- with their predicted per-class recalls
after pruning (:func:`gaussian_theory.own_data.allocate_from_logits`). With ``--runs`` (pilot runs:
droplab's run JSONs, or a pilot-run table of your own runs, :mod:`gaussian_theory.run_table`), the
allocation learned from them (:mod:`gaussian_theory.learned_recalls`) beside uniform and DRoP
(``--rule`` their rounding; ``--allocation-rule``/``--alpha`` one more rule compared; ``--sizes`` and
``--trials`` refused there). ``--json``/``--out`` give every mode's allocations as JSON
(:mod:`.allocate_report`), which ``droplab select --counts-file FILE --allocation NAME`` reads. Every
allocation comes from the registry :mod:`gaussian_theory.quota_rules`.

Split at its seams: the ``--from`` reader in :mod:`.class_table`, the tables and JSON in
:mod:`.allocate_report`, the commands and options here."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from ..options import ALLOCATION_RULES, RULES
from .allocate_report import (
    RUNS_ALLOCATIONS,
    allocation_report,
    empty_class_warnings,
    logits_text,
    plain_result,
    recommendation_text,
    rule_label,
    runs_report,
    tradeoff_text,
    write_result,
)
from .class_table import FROM_LAYOUTS, read_class_table
from .format import memory_words, name_option, warn

# numpy and the library (scipy, the solvers) are imported inside the functions that use them, so that
# `droplab --help` and argument errors answer at once.

__all__ = ["FROM_LAYOUTS", "read_class_table", "allocation_report", "empty_class_warnings", "rule_label",
           "runs_report", "RUNS_ALLOCATIONS", "register"]

ARRAY_FILES = """
--logits/--labels/--train-labels/--query files: .npy (one array), .npz (its one array, val_logits/val_labels,
  or FILE.npz:KEY), CSV or text (numbers, one row per sample, an optional header row). torch .pt files:
  convert once with numpy.save(path, tensor.numpy()).
"""

#: ``--trials``'s default (``--logits`` only: ``--runs`` refuses another value)
TRIALS_DEFAULT = 20


def _library_warnings(caught) -> list[str]:
    """The library's warnings, once each, in the command line's words."""
    return list(dict.fromkeys(str(w.message).replace("pass min_count=", "pass --min-per-class")
                              for w in caught))


def _save_plot(fig, path) -> None:
    """Write ``fig`` to ``path`` atomically, in the format its suffix names (.png, .pdf or .svg)."""
    from ..atomic import atomic_write

    fmt = Path(path).suffix.lower().lstrip(".")
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format=fmt, dpi=150,
                                                     metadata={"CreationDate": None} if fmt == "pdf" else {}))


def _emit(args, text: str, result: dict) -> None:
    """Print the text (or with --json the JSON) and write the JSON to --out."""
    if args.out is not None:
        write_result(args.out, result)
    print(json.dumps(result) if args.json else text)


def _check_common(args) -> None:
    """The options every mode checks before reading anything."""
    if args.min_per_class < 0:
        raise ValueError(f"--min-per-class must be a non-negative integer, got {args.min_per_class}")
    if not (math.isfinite(args.alpha) and args.alpha >= 0):
        raise ValueError(f"--alpha must be a finite number >= 0 (1 = the rule itself, 0 = uniform), "
                         f"got {args.alpha:g}")
    if args.out is not None and Path(args.out).is_dir():
        raise ValueError(f"--out {args.out!r}: is a folder, expected the file to write the allocation to")
    plot = getattr(args, "plot", None)
    if plot is not None and Path(plot).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ValueError(f"--plot {plot!r}: name a .png, .pdf or .svg file")
    if plot is not None and not Path(plot).resolve().parent.is_dir():
        raise ValueError(f"--plot {plot!r}: its folder does not exist")


# ----------------------------------------------------------------------------- --logits mode
def _cmd_allocate_logits(args) -> int:
    from ..arrays import load_labels, load_logits
    from ..own_data import ALL_RULES, allocate_from_logits
    from ..quota_rules import quota_label

    for opt, val in (("--recalls", args.recalls), ("--from", args.from_file)):
        if val is not None:
            raise ValueError(f"give --logits/--labels, --recalls/--sizes or --from FILE, not {opt} with "
                             "--logits")
    if args.logits is None or args.labels is None:
        raise ValueError("--logits and --labels go together: give both files (validation logits (n, K) and "
                         "labels (n,); .npy, .npz or CSV)")
    if args.train_labels is not None and args.sizes is not None:
        raise ValueError("give --train-labels or --sizes, not both: the class sizes are counted from the "
                         "training labels")
    if args.trials < 1:
        raise ValueError(f"--trials must be a positive integer, got {args.trials}")
    if args.max_accuracy_loss is not None and not (math.isfinite(args.max_accuracy_loss)
                                                   and args.max_accuracy_loss >= 0):
        raise ValueError(f"--max-accuracy-loss must be a finite number >= 0, got {args.max_accuracy_loss:g}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    asked = (args.allocation_rule, args.alpha)
    extra = () if asked in ALL_RULES or args.alpha == 0 else (asked,)
    if args.prefer is not None:
        labels = [quota_label(name, alpha) for name, alpha in (*ALL_RULES, *extra)]
        if args.prefer not in labels:
            raise ValueError(f"--prefer must name one of the allocations {labels}, got {args.prefer!r}")
        if args.predictor != "prior_shift":
            raise ValueError("--prefer goes with --predictor prior_shift (its gains are bootstrapped from "
                             "the validation logits)")
    z, y = load_logits(args.logits, "--logits"), load_labels(args.labels, "--labels")
    train = None if args.train_labels is None else load_labels(args.train_labels, "--train-labels")
    sizes = None if args.sizes is None else [float(s) for s in args.sizes]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = allocate_from_logits(z, y, args.density, train_labels=train, class_sizes=sizes,
                                          rounding=args.rule, min_count=args.min_per_class, extra=extra,
                                          trials=args.trials, seed=args.seed)
        except (ValueError, TypeError) as exc:
            raise _name_option(exc) from None
    from ..recommend import PREDICTORS, predicted_tradeoff, recommend, worst_class_gains

    gains = None
    if args.prefer is not None:
        densities = {a: v["densities"] for a, v in result["allocations"].items()}
        gains = worst_class_gains(z, y, densities, args.prefer, seed=args.seed)
    rec = recommend(result, predictor=args.predictor, max_accuracy_loss=args.max_accuracy_loss,
                    prefer=args.prefer, gains=gains)
    trade = {p: predicted_tradeoff(result, predictor=p) for p in PREDICTORS}
    text = "\n\n".join([logits_text(result), recommendation_text(rec),
                         tradeoff_text(trade[args.predictor])])
    if args.plot is not None:
        from ..figures.tradeoff import plot_tradeoff

        other = [p for p in PREDICTORS if p != args.predictor][0]
        names = args.predictor.replace("_", " "), other.replace("_", " ")
        fig = plot_tradeoff(trade[args.predictor], rec["recommended"], second=trade[other],
                            title=f"Predicted trade-off at d = {args.density:g} ({names[0]}; hollow: "
                                  f"{names[1]})")
        _save_plot(fig, args.plot)
        text += f"\nwrote {args.plot}"
    _emit(args, text, {"mode": "logits", **result, "recommendation": rec, "tradeoff": trade})
    for msg in _library_warnings(caught) + [c for c in result["cautions"] if " keeps 0 samples " in c]:
        warn(msg)
    return 0


#: library argument -> the ``droplab allocate`` option that supplies it
_OPTION_OF = {"class_sizes": "--sizes", "recalls": "--recalls", "min_count": "--min-per-class",
              "density": "--density", "alpha": "--alpha", "allocation_rule": "--allocation-rule",
              "logits": "--logits", "labels": "--labels", "trials": "--trials",
              "train_labels": "--train-labels", "rounding": "--rounding"}


def _name_option(exc: Exception, from_file=None) -> Exception:
    """The library's error ``exc`` with the option that supplied the argument it names put in front
    (``--sizes: class_sizes must ...``; ``--from 'f.csv': class_sizes must ...`` for the file's columns)."""
    # the command line has no max_memory or n_eval to raise or lower: say what it does have
    msg = memory_words(str(exc)).replace("lower trials or n_eval", "lower --trials")
    if from_file and msg.startswith(("class_sizes ", "recalls ")):
        return type(exc)(f"--from {str(from_file)!r}: {msg}")
    return name_option(type(exc)(msg), _OPTION_OF)


# ----------------------------------------------------------------------------- --runs mode
def _cmd_allocate_runs(args) -> int:
    from ..validation import check_density
    from .learned import load_recall_model

    for opt, val in (("--recalls", args.recalls), ("--from", args.from_file), ("--logits", args.logits),
                     ("--labels", args.labels), ("--train-labels", args.train_labels)):
        if val is not None:
            raise ValueError(f"give --runs, --logits/--labels, --recalls/--sizes or --from FILE, not {opt} "
                             "with --runs (the query model of --runs: --query, --query-labels)")
    if args.sizes is not None:
        raise ValueError("--sizes does not go with --runs: the class sizes are those of the runs' training "
                         "set (dataset.class_sizes in their JSONs, class_sizes in a pilot-run table)")
    if args.trials != TRIALS_DEFAULT:
        raise ValueError(f"--trials {args.trials} goes with --logits (the finite-sample prediction); --runs "
                         "predicts with the recall model fitted on the runs")
    for opt, val in (("--max-accuracy-loss", args.max_accuracy_loss), ("--plot", args.plot),
                     ("--prefer", args.prefer)):
        if val is not None:
            raise ValueError(f"{opt} goes with --logits (the recommendation before training)")
    # every option checked before the runs are read and the model fitted
    try:
        density = check_density(args.density)
    except (ValueError, TypeError) as exc:
        raise _name_option(exc) from None
    _check_common(args)
    # --allocation-rule/--alpha: one more rule compared (as with --logits); --rule: DRoP's integer rounding
    asked = (args.allocation_rule, args.alpha)
    extra = () if asked in RUNS_ALLOCATIONS or args.alpha == 0 else (asked,)
    from .format import Progress

    with Progress(3, enabled=not args.no_progress, desc="droplab allocate") as progress:
        model, _ = load_recall_model(args.runs, seeds=args.seeds, seed=args.seed, query=args.query,
                                     query_labels=args.query_labels, progress=progress)
        progress("searching the learned allocation")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                text, result = runs_report(model, density, min_count=args.min_per_class, seed=args.seed,
                                           rule=args.rule, extra=extra)
            except (ValueError, TypeError) as exc:
                raise _name_option(exc) from None
    _emit(args, text, result)
    for msg in _library_warnings(caught) + [c for c in result["cautions"] if c not in text]:
        warn(msg)
    return 0


def _cmd_allocate(args) -> int:
    if args.runs is not None:
        return _cmd_allocate_runs(args)
    for opt, val in (("--seeds", args.seeds), ("--query", args.query), ("--query-labels", args.query_labels)):
        if val is not None:
            raise ValueError(f"{opt} goes with --runs")
    _check_common(args)
    if args.logits is None:
        for opt, val in (("--max-accuracy-loss", args.max_accuracy_loss),
                         ("--predictor", None if args.predictor == "prior_shift" else args.predictor),
                         ("--plot", args.plot), ("--prefer", args.prefer)):
            if val is not None:
                raise ValueError(f"{opt} goes with --logits (the recommendation is made from predicted "
                                 "recalls)")
    if args.logits is not None or args.labels is not None or args.train_labels is not None:
        if args.train_labels is not None and args.logits is None:
            raise ValueError("--train-labels goes with --logits and --labels (the class sizes of the "
                             "allocation from validation logits)")
        return _cmd_allocate_logits(args)
    names, sizes, recalls = _class_inputs(args)
    with warnings.catch_warnings(record=True) as caught:  # the library's warnings, printed once each
        warnings.simplefilter("always")
        kw = {"allocation_rule": args.allocation_rule, "alpha": args.alpha}
        try:
            text = allocation_report(names, sizes, recalls, args.density, args.rule, args.min_per_class, **kw)
        except (ValueError, TypeError) as exc:
            raise _name_option(exc, args.from_file) from None
        ours = empty_class_warnings(names, sizes, recalls, args.density, args.rule, args.min_per_class, **kw)
        result = plain_result(names, sizes, recalls, args.density, args.rule, args.min_per_class, **kw)
    _emit(args, text, {"mode": "recalls", **result})
    theirs = _library_warnings(caught)
    # Ours name the empty classes; when the library already warned about them, only a total of 0 is news.
    for msg in theirs + [m for m in ours if not theirs or m.startswith("total kept is 0")]:
        warn(msg)
    return 0


def _class_inputs(args):
    """(names, sizes, recalls) from --from or from --recalls/--sizes (never both)."""
    import numpy as np

    if args.from_file:
        if args.recalls is not None or args.sizes is not None:
            raise ValueError("give either --from FILE or --recalls/--sizes, not both")
        names, sizes, recalls = read_class_table(args.from_file)
    else:
        if args.recalls is None or args.sizes is None:
            raise ValueError("allocate needs --recalls and --sizes, or --from FILE, or --logits and --labels")
        recalls, sizes = np.asarray(args.recalls), np.asarray(args.sizes)
        names = [str(k) for k in range(len(recalls))]
    return names, sizes, recalls


def register(sub) -> None:
    """Add ``droplab allocate`` to the sub-parsers ``sub``."""
    p = sub.add_parser("allocate", help="DRoP class densities and counts from your recalls or logits",
                       description="DRoP quotas from per-class validation recalls of a query model: "
                       "densities (paper Algorithm 1) and exact integer counts, next to uniform counts; "
                       "--allocation-rule probit and --alpha give the two-Gaussian optimum and damped "
                       "DRoP. With --logits/--labels (held-out validation logits of the query model) and "
                       "--train-labels: the counts of every rule (uniform, DRoP, DRoP(a=0.7), probit, "
                       "minimax) with their predicted recalls after pruning. --json/--out: the allocations "
                       "as JSON, for droplab select --counts-file FILE --allocation NAME.",
                       epilog=FROM_LAYOUTS + ARRAY_FILES)
    p.add_argument("--recalls", nargs="+", type=float, metavar="R",
                   help="per-class validation recalls in [0, 1] (with --sizes; not with --from)")
    p.add_argument("--sizes", nargs="+", type=float, metavar="N",
                   help="per-class training-set sizes, one per recall (with --recalls; not with --from); "
                   "with --logits: K sizes or one for every class, instead of --train-labels")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="read classes, sizes and recalls from a CSV or JSON file instead of "
                   "--recalls/--sizes (layouts below)")
    p.add_argument("--logits", metavar="VAL_LOGITS",
                   help="a query model's held-out validation logits, (n, K) (.npy, .npz[:KEY] or CSV; with "
                   "--labels; not with --recalls or --from): every rule's counts and predicted per-class "
                   "recalls after pruning")
    p.add_argument("--labels", metavar="VAL_LABELS",
                   help="the (n,) integer labels 0..K-1 of --logits (.npy, .npz[:KEY] or CSV; 1.0 counts "
                   "as 1)")
    p.add_argument("--train-labels", metavar="TRAIN_LABELS",
                   help="with --logits: the training set's labels, whose counts are the class sizes the "
                   "allocations divide (default: the validation label counts)")
    p.add_argument("--trials", type=int, default=TRIALS_DEFAULT,
                   help="with --logits: training samples averaged by the finite-sample prediction")
    p.add_argument("--seed", type=int, default=0,
                   help="with --logits: seed of the surrogate's calibration, the minimax allocation and the "
                   "Monte Carlo predictions; with --runs: of the bootstrap and the learned allocation's "
                   "search")
    p.add_argument("--density", type=float, required=True,
                   help="dataset density d: fraction of the training data kept, in (0, 1]")
    p.add_argument("--rounding", "--rule", dest="rule", choices=RULES, default="paper",
                   help="integer rounding of the recall rules: 'paper': densities ∝ 1-recall (Algorithm 1); "
                   "'code': counts ∝ 1-recall (official repository); they differ on imbalanced data")
    p.add_argument("--allocation-rule", choices=ALLOCATION_RULES, default="drop",
                   help="'drop': densities ∝ (1-recall)^alpha (DRoP at alpha = 1); 'probit': densities ∝ "
                   "phi(Phi^-1(recall))^alpha, the two-Gaussian worst-class optimum from recalls alone")
    p.add_argument("--alpha", type=float, default=1.0,
                   help="exponent on the rule's weights: 1 = the rule itself, 0 = uniform, 0.7 = damped "
                   "DRoP (near-optimal over the two-Gaussian grid of figure 4)")
    p.add_argument("--min-per-class", type=int, default=0, metavar="M",
                   help="keep at least min(M, N_k) samples of every class k (a floor under every rule's "
                   "quotas; the rest of the budget is allocated as usual)")
    p.add_argument("--runs", nargs="+", metavar="DIR",
                   help="pilot runs: folders of run JSONs of droplab empirical run (with their "
                   "query_logits/), or pilot-run tables of your own runs (JSON or CSV, with --query): fit "
                   "the recall model learned from runs and print the learned allocation (the counts "
                   "maximising the predicted expected minimum recall) beside uniform and DRoP, with every "
                   "class's predicted recall and interval; --rule is DRoP's rounding there, and "
                   "--allocation-rule/--alpha add that rule to the comparison (--sizes, --trials: not with "
                   "--runs)")
    p.add_argument("--query", metavar="FILE",
                   help="with --runs: the query model's validation logits for every run, an .npz of "
                   "val_logits and val_labels, or any logits file with --query-labels (required for a "
                   "pilot-run table)")
    p.add_argument("--query-labels", metavar="FILE", help="with --runs: the labels of --query's logits")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S",
                   help="with --runs: fit only on these seeds' runs (one practitioner's pilots)")
    p.add_argument("--predictor", choices=("prior_shift", "finite_sample"), default="prior_shift",
                   help="with --logits: the predicted recalls the recommendation ranks by (default: "
                   "%(default)s)")
    p.add_argument("--max-accuracy-loss", type=float, metavar="X",
                   help="with --logits: recommend only among allocations predicted to lose at most X "
                   "balanced accuracy against class-stratified pruning (Uniform); default: no cap")
    p.add_argument("--prefer", metavar="LABEL",
                   help="with --logits: keep this allocation (e.g. DRoP, the paper's rule) unless another is "
                   "predicted to beat its worst class with a 95%% paired bootstrap interval (over the "
                   "validation samples) above 0; default: the highest prediction")
    p.add_argument("--json", action="store_true",
                   help="print the allocations as one JSON object instead of the tables: every rule's "
                   "\"counts\" under \"allocations\" (--runs: the learned counts at the top, the others "
                   "under \"compared\"), what droplab select --counts-file reads")
    p.add_argument("--out", metavar="FILE", help="also write that JSON to FILE")
    p.add_argument("--plot", metavar="FILE",
                   help="with --logits: draw the predicted trade-off (balanced accuracy against worst-class "
                   "recall, every allocation, the recommendation ringed) to FILE (.png, .pdf or .svg)")
    p.add_argument("--no-progress", action="store_true", help="with --runs: no progress line on stderr")
    p.set_defaults(func=_cmd_allocate)
