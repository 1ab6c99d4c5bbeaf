"""The analyses of a folder of runs as ``droplab empirical`` sub-commands: ``check-predictions``,
``check-recommendation``, ``class-curves``, ``recompute``, ``gaussian-optimum``, ``gaussian-regret``,
``loao``, ``surrogate-calibration`` and ``metriq-compare``.

:func:`add_subcommands` adds them to the sub-parsers of ``droplab empirical`` (:mod:`empirical.cli`); each
command's work is in its library module (imported when the command runs, so ``droplab --help`` stays
fast):

=========================  ==============================================================================
``check-predictions``      :mod:`empirical.prediction_check` (and :mod:`empirical.prediction_figure`)
``check-recommendation``   :mod:`empirical.recommendation_check`
``class-curves``           :mod:`empirical.class_curves` (and :mod:`empirical.class_curves_figure`)
``recompute``              :func:`empirical.query_logits.recompute_all`
``gaussian-optimum``       :mod:`empirical.gaussian_study` (and ``gaussian-regret``)
``loao``                   :mod:`empirical.loao` (and :mod:`empirical.learned_study` with ``--study``)
``surrogate-calibration``  :mod:`empirical.surrogate_calibration`
``metriq-compare``         :mod:`empirical.metriq_compare`
=========================  ==============================================================================

Examples::

    droplab empirical check-predictions results/cifar10-smallcnn --plot figures/empirical
    droplab empirical class-curves results/cifar10-smallcnn --out figures/class-curves
    droplab empirical loao results/cifar10-smallcnn --study --markdown
    droplab empirical surrogate-calibration --digits --mnist1d ../shared/data/mnist1d results/cifar10-smallcnn
    droplab empirical metriq-compare results/cifar10-whitenet-256
"""

from __future__ import annotations

import argparse
import time

from .cli_types import density as _density
from .cli_types import nonnegative_float as _nonnegative_float
from .cli_types import nonnegative_int as _nonnegative_int
from .cli_types import positive_int as _positive_int

__all__ = ["add_subcommands", "main"]


# ----------------------------------------------------------------------------- the commands
def _cmd_check_predictions(args) -> int:
    from .prediction_check import check_predictions, format_check

    check = check_predictions(args.runs, args.query, trials=args.trials, seed=args.seed)
    print(format_check(check), end="")
    if args.plot is not None:
        from .prediction_figure import format_figure_stats, plot

        figure = plot(check.rows, check.names, args.plot, check.class_names, title=check.title)
        print(format_figure_stats(figure), end="")
    return 0


def _cmd_loao(args) -> int:
    from pathlib import Path

    from .loao import collect, format_loao

    data = collect(args.runs, args.pilots)
    study = None
    if args.study:
        from .learned_study import format_study

        study = format_study(data.pairs, data.pilot_pairs, Path(data.pilots) / "allocations")
    print(format_loao(data, n_boot=args.n_boot, markdown=args.markdown, study=study), end="")
    return 0


def _cmd_surrogate_calibration(args) -> int:
    if not (args.digits or args.mnist1d or args.runs):
        raise ValueError("nothing to calibrate: name folders of runs (their random-score query models), "
                         "--digits or --mnist1d FILE")
    from threadpoolctl import threadpool_limits

    from .surrogate_calibration import (
        TABLE_HEADER,
        digits_logits,
        format_rows,
        measure,
        mnist1d_logits,
        query_model_sets,
    )

    with threadpool_limits(args.threads):
        t0 = time.perf_counter()
        sets = [digits_logits(args.seed)] if args.digits else []
        if args.mnist1d:
            sets.append(mnist1d_logits(args.mnist1d, args.seed))
        for folder in args.runs:
            sets += query_model_sets(folder)
        print(f"held-out logits ready in {time.perf_counter() - t0:.0f} s; {args.splits} random halvings, "
              f"{args.n_mc} MC draws per class (4000 above 64 dimensions)\n")
        print(TABLE_HEADER)
        print("-" * len(TABLE_HEADER))
        for ds in sets:
            print(format_rows(measure(ds, args.splits, args.n_mc, args.seed)))
        print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def _cmd_metriq_compare(args) -> int:
    from .metriq_compare import compare_cases, drop_cases, format_comparison

    print(format_comparison(compare_cases(drop_cases(args.runs))), end="")
    return 0


def _cmd_check_recommendation(args) -> int:
    from .recommendation_check import check_recommendation, format_recommendation_check

    check = check_recommendation(args.runs, args.query, max_accuracy_loss=args.max_accuracy_loss,
                                 prefer=args.prefer, seeds=args.seeds)
    print(format_recommendation_check(check), end="")
    return 0


def _cmd_class_curves(args) -> int:
    from .class_curves import class_curves, format_class_curves

    curves = class_curves(args.runs)
    densities = curves.shared_densities(args.method, args.baseline)
    if args.density is None and not densities:
        raise ValueError(f"no density has runs of both {args.method!r} and {args.baseline!r}; methods here: "
                         f"{sorted(set(curves.methods))}")
    effect = curves.effect(densities[0] if args.density is None else args.density, args.method, args.baseline,
                           floor=args.floor)
    print(format_class_curves(curves, [effect]), end="")
    if args.out:
        from .class_curves_figure import write_class_curves

        for path in write_class_curves(curves, effect, args.out, args.stem):
            print(f"wrote {path}")
    return 0


def _cmd_recompute(args) -> int:
    from .query_logits import format_recompute, recompute_all

    summary = recompute_all(args.results)
    print(format_recompute(summary), end="")
    return 0


def _cmd_gaussian_optimum(args) -> int:
    import json
    from pathlib import Path

    from gaussian_theory.atomic import atomic_write

    from .cli_run_args import synthetic_from_args
    from .gaussian_study import optimum_file

    doc = optimum_file(args.density, synthetic_from_args(args), n_mc=args.n_mc, seed=args.seed)
    recalls = " ".join(f"{v:.4f}" for v in doc["population_recalls"])
    print(f"d = {args.density:g}: densities {' '.join(f'{v:.4f}' for v in doc['densities'])}\n"
          f"population recalls {recalls} (worst {doc['population_worst_class_recall']:.4f})")
    if args.out:
        text = json.dumps(doc, indent=1) + "\n"
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        print(f"wrote {args.out}")
    return 0


def _cmd_gaussian_regret(args) -> int:
    from .gaussian_study import format_population_scores, population_scores

    print(format_population_scores(population_scores(args.runs, n_mc=args.n_mc, seed=args.seed)), end="")
    return 0


# ----------------------------------------------------------------------------- the parsers
def add_subcommands(sub) -> None:
    """Add the analyses of the module docstring's table (``check-predictions``, ``check-recommendation``,
    ``class-curves``, ``recompute``, ``gaussian-optimum``, ``gaussian-regret``, ``loao``,
    ``surrogate-calibration``, ``metriq-compare``) to ``sub``, the sub-parsers (``add_subparsers()``) of
    ``droplab empirical``."""
    r = sub.add_parser("check-predictions",
                       help="recall predictors against the measured recalls of a folder of runs",
                       description="For every (seed, density) of RUNS with a Random run (quota none) and "
                       "runs of other quotas: each allocation's per-class test recalls predicted from the "
                       "seed's random-score query model (prior shift on its validation logits, the "
                       "calibrated tied surrogate, finite-sample LDA, no change) against the measured ones: "
                       "MAE direct and of the change added to the Random run (base), Pearson / Spearman / "
                       "slope of predicted on measured change, the seed-to-seed noise, the worst class per "
                       "allocation and the per-class changes (empirical/prediction_check.py).")
    r.add_argument("runs", metavar="RUNS", help="a folder of run JSONs (not searched recursively)")
    r.add_argument("--query", metavar="DIR",
                   help="folder of the query logits, the pipeline's query_logits/*.npz (default: "
                   "RUNS/query_logits) or of its query caches _query/*.pt")
    r.add_argument("--trials", type=_positive_int, default=20,
                   help="Monte Carlo trials of the finite-sample predictor (default 20)")
    r.add_argument("--seed", type=_nonnegative_int, default=0,
                   help="seed of the Monte Carlo draws (default 0)")
    r.add_argument("--plot", metavar="DIR",
                   help="also write recall_prediction.png/.pdf (predicted vs measured per-class recall "
                   "change and worst-class recall, one column per predictor) and recall_prediction.csv "
                   "(the points, one row each) into DIR, e.g. figures/empirical")
    r.set_defaults(func=_cmd_check_predictions)

    r = sub.add_parser("check-recommendation",
                       help="the rule droplab allocate --logits recommends, scored on a folder of runs",
                       description="For every (seed, density, floor) of RUNS with a Random+DRoP run and "
                       "other "
                       "Random-score allocations: the recommendation made before training (the highest "
                       "worst-class recall predicted by the prior shift on the seed's query logits) against "
                       "the measured worst-class test accuracies: regret against the best allocation in "
                       "hindsight and difference against DRoP, 95% t-intervals over groups "
                       "(empirical/recommendation_check.py).")
    r.add_argument("runs", metavar="RUNS", help="a folder of run JSONs (not searched recursively)")
    r.add_argument("--query", metavar="DIR",
                   help="folder of the query logits (default: RUNS/query_logits)")
    r.add_argument("--max-accuracy-loss", type=_nonnegative_float, metavar="X",
                   help="recommend only among allocations predicted to lose at most X balanced accuracy "
                   "against the Random run (default: no cap)")
    r.add_argument("--prefer", metavar="NAME",
                   help="keep this allocation (e.g. DRoP) unless another is predicted to beat its worst "
                   "class with a 95%% paired bootstrap interval above 0 (default: the plain highest "
                   "prediction)")
    r.add_argument("--seeds", type=int, nargs="+", metavar="S",
                   help="score only the groups of these seeds (default: all)")
    r.set_defaults(func=_cmd_check_recommendation)

    from .cli_run_args import add_gaussian_args

    r = sub.add_parser("class-curves",
                       help="why DRoP is (or is not) far from the best: each class's learning curve",
                       description="From the random-within-class runs of RUNS (one dataset and model; every "
                       "allocation and pilot): each class's gain of test recall per doubling of its kept "
                       "samples at a fixed total (least squares over the runs, bootstrap over seeds), beside "
                       "the query model's recall that DRoP's rule reads, and what METHOD did to each class "
                       "against BASELINE at one density: the doublings it gave, the change the curves "
                       "predict and the measured change (paired t over seeds) (empirical/class_curves.py).")
    r.add_argument("runs", metavar="RUNS", nargs="+",
                   help="folders (searched recursively) or files of run JSONs")
    r.add_argument("--density", type=_density,
                   help="density of the effect (default: the smallest with runs of both methods)")
    r.add_argument("--method", default="Random+DRoP", help="the allocation examined (default Random+DRoP)")
    r.add_argument("--baseline", default="Random", help="what it is compared with (default Random)")
    r.add_argument("--floor", type=_nonnegative_int,
                   help="the effect from the runs with this per-class floor (--min-per-class) only; needed "
                   "when RUNS hold several (the curves pool them)")
    r.add_argument("--out", metavar="DIR",
                   help="also write the figure (PNG, PDF), the per-class CSV and the caption (.md) into DIR")
    r.add_argument("--stem", help="file name stem in DIR (default class_curves_<dataset>_<model>)")
    r.set_defaults(func=_cmd_class_curves)

    r = sub.add_parser("recompute",
                       help="every run's allocation recomputed from committed files only",
                       description="For every finished run JSON under RESULTS: its query recalls recomputed "
                       "from the query-logits file it names and its class quotas from those recalls; prints "
                       "how many match and names the runs that do not, with the reason "
                       "(empirical/query_logits.py, recompute_all).")
    r.add_argument("results", metavar="RESULTS", nargs="?", default="results",
                   help="folder searched recursively (default results)")
    r.set_defaults(func=_cmd_recompute)

    r = sub.add_parser("gaussian-optimum",
                       help="the worst-class-optimal class densities of the synthetic gaussian dataset",
                       description="The class densities at --density minimising the worst class risk of the "
                       "Bayes rule trained on the pruned population of --dataset gaussian (the same "
                       "--gaussian-* options as droplab empirical run), certified on fresh Monte Carlo "
                       "draws; "
                       "--out writes them as a --counts file (label Optimum) that droplab empirical run "
                       "--quota counts trains (empirical/gaussian_study.py).")
    r.add_argument("--density", type=_density, required=True, help="fraction of the training set kept")
    add_gaussian_args(r)
    r.add_argument("--n-mc", type=_positive_int, default=50_000,
                   help="Monte Carlo draws per class of the optimiser (default 50000)")
    r.add_argument("--seed", type=_nonnegative_int, default=0,
                   help="seed of the Monte Carlo draws (default 0)")
    r.add_argument("--out", metavar="FILE", help="write the allocation file (JSON)")
    r.set_defaults(func=_cmd_gaussian_optimum)

    r = sub.add_parser("gaussian-regret",
                       help="each gaussian-dataset run's allocation scored by the exact theory",
                       description="For every run of RUNS on the synthetic gaussian dataset: the population "
                       "worst-class recall of the Bayes rule trained on the class densities it kept, and its "
                       "regret against the worst-class-optimal densities (droplab empirical "
                       "gaussian-optimum), averaged per method and density, next to the measured "
                       "worst-class test accuracy (empirical/gaussian_study.py).")
    r.add_argument("runs", metavar="RUNS", nargs="+", help="folders or files of run JSONs")
    r.add_argument("--n-mc", type=_positive_int, default=200_000,
                   help="Monte Carlo draws per class of each allocation's risks (default 200000)")
    r.add_argument("--seed", type=_nonnegative_int, default=0,
                   help="seed of the draws, common to every allocation (default 0)")
    r.set_defaults(func=_cmd_gaussian_regret)

    r = sub.add_parser("loao", help="leave one allocation out: the learned recall model on allocations it "
                       "never saw",
                       description="Each non-uniform allocation of RUNS (a quota at a density) predicted by "
                       "models fitted on the validation recalls of the other allocations' runs (the learned "
                       "recall model; the same-budget Random run; the prior shift on the query logits; the "
                       "model fitted on the seed's pilot runs only), scored on the held-out runs' test and "
                       "validation recalls (MAE and worst-class error, rule-based and minimax) against the "
                       "noise floors of the other seeds; the pilot-budget table; with --study the "
                       "Random+Learned runs against the rules, paired by seed (empirical/loao.py, "
                       "empirical/learned_study.py).")
    r.add_argument("runs", metavar="RUNS",
                   help="a folder of run JSONs (not searched recursively), with query_logits/ of each seed")
    r.add_argument("--pilots", metavar="DIR",
                   help="the pilot runs of droplab pilots (default: RUNS/pilots; its allocations/ holds the "
                   "learned allocation files of --study)")
    r.add_argument("--n-boot", type=_nonnegative_int, default=0,
                   help="bootstrap refits of the learned model; point predictions need none (default 0)")
    r.add_argument("--markdown", action="store_true",
                   help="print the tables only (no errors per held-out run)")
    r.add_argument("--study", action="store_true",
                   help="also the learned allocation against Random+DRoP, Random+DRoP(a=0.7) and Random, "
                   "paired by seed")
    r.set_defaults(func=_cmd_loao)

    r = sub.add_parser("surrogate-calibration", help="held-out error of the Gaussian surrogates' predicted "
                       "recalls, per covariance model",
                       description="Held-out logits (and a query cache's features) split at random into two "
                       "stratified halves: each surrogate (isotropic, diagonal, tied, tied calibrated to "
                       "half A's accuracy) fitted on half A predicts the class recalls measured on half B: "
                       "MAE, Spearman, bias, and the floor of half A's own recalls "
                       "(empirical/surrogate_calibration.py; needs scikit-learn).")
    r.add_argument("runs", metavar="RUNS", nargs="*",
                   help="folders of runs: their random-score query models (query_logits/*.npz, or the "
                   "query caches _query/*.pt, which add the features)")
    r.add_argument("--digits", action="store_true",
                   help="also scikit-learn's digits (cross-validated logistic regression)")
    r.add_argument("--mnist1d", metavar="FILE",
                   help="also MNIST-1D: the mnist1d_data.pkl pickle or its folder (cross-validated MLP)")
    r.add_argument("--splits", type=_positive_int, default=10, help="random halvings (default 10)")
    r.add_argument("--n-mc", type=_positive_int, default=20_000,
                   help="Monte Carlo draws per class, at most 4000 above 64 dimensions (default 20000)")
    r.add_argument("--seed", type=_nonnegative_int, default=0,
                   help="seed of the folds and the halvings (default 0)")
    r.add_argument("--threads", type=_positive_int, default=1,
                   help="BLAS threads; more threads than free cores slow scikit-learn's MLP (default 1)")
    r.set_defaults(func=_cmd_surrogate_calibration)

    r = sub.add_parser("metriq-compare", help="droplab's DRoP counts against datacull's MetriQ on the same "
                       "recalls",
                       description="For every Random+DRoP run of RUNS (and the first one's recalls on "
                       "imbalanced class sizes 5000 ... 500), the per-class counts of "
                       "gaussian_theory.allocation.drop_counts and of the datacull package's MetriQ, their "
                       "totals against the budget round(dN) and their differences "
                       "(empirical/metriq_compare.py; needs pip install datacull).")
    r.add_argument("runs", metavar="RUNS", help="a folder of run JSONs (not searched recursively)")
    r.set_defaults(func=_cmd_metriq_compare)


def main(argv=None) -> int:
    """Run one of these commands as ``droplab empirical`` would, without the rest of ``droplab``
    (errors raise instead of printing ``droplab: error``).

    Parameters
    ----------
    argv : list of str
        The command and its arguments, e.g. ``["loao", "results/cifar10-smallcnn", "--markdown"]``.

    Returns
    -------
    int
        The exit status.
    """
    p = argparse.ArgumentParser(prog="droplab empirical")
    add_subcommands(p.add_subparsers(dest="empirical_command", metavar="SUBCOMMAND", required=True))
    args = p.parse_args(argv)
    return int(args.func(args) or 0)
