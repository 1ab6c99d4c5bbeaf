"""``droplab empirical {run,report,compare,power,sweep}`` and the analyses of a folder of runs
(``check-predictions``, ``loao``, ``surrogate-calibration``, ``metriq-compare``;
:mod:`empirical.cli_analyses`): registered through the ``droplab.commands`` entry point.

Examples::

    droplab empirical run --dataset cifar10 --data-dir ../shared/data/cifar10 --model smallcnn \\
        --density 0.5 --score random --quota drop --seeds 0 --recipe fast --device auto --out results/demo
    droplab empirical report results/demo
    droplab empirical sweep --dataset cifar10 --data-dir DATA --model vgg16 --recipe paper \\
        --densities 0.3 0.5 0.8 --scores random el2n --quotas none drop --seeds 0 1 2 \\
        --cluster slurm --partition gpu --gpus-per-node 1 --cpus-per-task 8 --mem-gb 32 \\
        --timeout-min 600 --array-parallelism 16 --out results/vgg16
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings

from .cli_analyses import add_subcommands
from .cli_run_args import add_config_args, config_from_args, explicit_counts
from .cli_types import nonnegative_int as _nonnegative_int
from .cli_types import positive_float as _positive_float
from .options import (
    CLUSTERS,
)

__all__ = ["register"]

#: library (API) argument names in warning texts -> the ``droplab empirical`` option that sets them
_WARNING_OPTIONS = (("pass min_count=", "pass --min-per-class"), ("min_count=", "--min-per-class "),
                    ("epoch_rule='code'", "--epoch-rule code"), ("data_format=", "--data-format "),
                    ("channels_last=True", "--channels-last on"), ("shift=", "--shift "))


def _cli_warning_text(message: str) -> str:
    """A library warning in the command line's words (its options instead of the API's arguments)."""
    for api, option in _WARNING_OPTIONS:
        message = message.replace(api, option)
    return re.sub(r"\s+", " ", message).strip()


@contextlib.contextmanager
def _cli_warnings():
    """Print each distinct warning raised inside as one ``droplab: warning: ...`` line on stderr, as soon
    as it is raised (runs are long), in the command line's words; repeated ones are dropped. The
    library itself keeps warning with ``warnings.warn`` for API users: only the printing changes."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = _cli_warning_text(str(message))
        if category is not UserWarning:
            text = f"{category.__name__}: {text}"
        if text not in seen:
            seen.add(text)
            print(f"droplab: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)  # deduplicated by text above, not by code location
        warnings.showwarning = show
        yield




def _cmd_run(args) -> int:
    from .pipeline import run_many

    with _cli_warnings():
        cfg = config_from_args(args, density=args.density, score=args.score, quota=args.quota, rule=args.rule,
                      **explicit_counts(args))
        cfg.validate()  # every input error surfaces here, before data loading or training
        try:
            if args.query_only:
                from .pipeline import run_query_only

                run_query_only(cfg, args.seeds, args.out, resume=args.resume, progress=not args.no_progress)
            else:
                run_many(cfg, args.seeds, args.out, resume=args.resume, progress=not args.no_progress,
                         force=args.force, query_logits=args.query_logits)
        except KeyboardInterrupt:  # Ctrl-C: finished runs and epoch checkpoints are on disk; say so, once
            print("\ndroplab: interrupted; resume with --resume", file=sys.stderr, flush=True)
            return INTERRUPTED
    return 0


#: exit status after Ctrl-C (128 + SIGINT, as a shell reports it; ``gaussian_theory.cli`` uses the same)
INTERRUPTED = 130


def _statistics_kwargs(args) -> dict:
    """The paired-statistics options shared by ``report`` and ``compare``."""
    return dict(paired_n_boot=args.paired_n_boot, boot_seed=args.boot_seed, margin=args.margin,
                accuracy_margin=args.accuracy_margin)


def _cmd_report(args) -> int:
    from .report import make_report
    from .report_tables import format_summary

    rep = make_report(args.paths, args.out, plots=not args.no_plots, n_boot=args.n_boot,
                      heatmap_density=args.heatmap_density, baselines=args.baseline or (),
                      **_statistics_kwargs(args))
    print(format_summary(rep))
    if args.markdown:
        print()
        print(rep["markdown"])
        if rep["comparison_markdown"]:
            print(rep["comparison_markdown"])
        if rep["scorer_markdown"]:
            print(rep["scorer_markdown"])
    for f in rep["files"]:
        print(f"wrote {f}")
    return 0


def _cmd_compare(args) -> int:
    from .report import summarise_paths
    from .report_tables import compare_markdown

    labels = [entry[0] for entry in args.regime]
    for entry in args.regime:      # every argument checked before any JSON is read
        if len(entry) < 2:
            raise ValueError(f"--regime needs a label and at least one run JSON or folder, got {entry}")
        if not entry[0].strip():
            raise ValueError(f"--regime label must not be empty, got {entry[0]!r} (before {entry[1]!r})")
        if labels.count(entry[0]) > 1:
            raise ValueError(f"--regime labels must differ, got {entry[0]!r} twice")
    regimes = {}
    for entry in args.regime:
        rep = summarise_paths(entry[1:], n_boot=args.n_boot, baselines=[args.baseline],
                              **_statistics_kwargs(args))
        for w in rep["warnings"]:
            print(f"droplab: warning: {entry[0]}: {w}", file=sys.stderr)
        # against Random the summary rows (every method, Random's own seeds too); else the comparisons
        regimes[entry[0]] = rep["summary"] if args.baseline == "Random" else rep["comparisons"]
    print(compare_markdown(regimes, args.baseline), end="")
    return 0


def _cmd_power(args) -> int:
    from .power import power_markdown, power_text
    from .report import power_paths

    rep = power_paths(args.paths, baseline=args.baseline, delta=args.delta, margin=args.margin,
                      power=args.power, alpha=args.alpha, sd_level=args.sd_level)
    for w in rep["warnings"]:
        print(f"droplab: warning: {w}", file=sys.stderr)
    if not rep["rows"]:
        raise ValueError(f"no method is paired with {args.baseline!r} on two or more seeds under "
                         f"{' '.join(args.paths)}")
    labels = {sid: st["label"] for sid, st in rep["studies"].items()}
    print((power_markdown if args.markdown else power_text)(rep["rows"], labels), end="")
    return 0


def _cmd_sweep(args) -> int:
    from .sweep import sweep

    base = config_from_args(args, rule=args.rules[0])
    with _cli_warnings():
        res = sweep(base, args.densities, args.scores, args.quotas, args.seeds, args.out, rules=args.rules,
                    cluster=args.cluster, chunk_size=args.chunk_size, wait=not args.no_wait,
                    timeout_min=args.timeout_min, gpus_per_node=args.gpus_per_node,
                    cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, partition=args.partition,
                    account=args.account, qos=args.qos, constraint=args.constraint,
                    array_parallelism=args.array_parallelism, job_name=args.job_name)
    print(f"submitted {res['submitted']}, already done {res['skipped']}, finished {len(res['results'])}, "
          f"failed jobs {len(res['failed'])}")
    return 1 if res["failed"] else 0


SWEEP_EPILOG = """\
executors (submitit):
  --cluster local   subprocesses on this machine (default; the whole grid in one job unless --chunk-size)
  --cluster slurm   one SLURM array job, one run per task unless --chunk-size; pre-empted or timed-out
                    tasks are requeued and resume from their last epoch checkpoint
  --cluster debug   in this process

SLURM flags: --partition P --account A --qos Q --constraint C --gpus-per-node G --cpus-per-task C
  --mem-gb M --timeout-min T --array-parallelism N --job-name NAME
  e.g.  --cluster slurm --partition gpu --gpus-per-node 1 --cpus-per-task 8 --mem-gb 32 --timeout-min 600
Runs whose JSON exists in --out are not submitted again; submitit logs go to OUT/_submitit/.
Runs of one score and seed share a query model (OUT/_query/): grid points are ordered by score and
seed, so --chunk-size K puts runs sharing it in one task, which trains it once.
"""




def _add_statistics_args(r: argparse.ArgumentParser) -> None:
    """``report``/``compare``: the margins of the verdicts and the per-seed paired intervals."""
    r.add_argument("--margin", type=_positive_float, default=0.02,
                   help="equivalence margin of the worst-class verdict (default 0.02): equivalent when the "
                   "90%% paired t interval over seeds lies within it")
    r.add_argument("--accuracy-margin", type=_positive_float, default=0.01,
                   help="equivalence margin of the average-accuracy verdict (default 0.01)")
    r.add_argument("--paired-n-boot", type=int, default=20000,
                   help="resamples of a per-seed paired interval over test images where it is sampled "
                   "(classes of different sizes; otherwise it is computed exactly) (default 20000)")
    r.add_argument("--boot-seed", type=_nonnegative_int, default=0,
                   help="base seed of those resamples; each comparison's seed is derived from it and the "
                   "comparison (default 0)")


def register(subparsers) -> None:
    """Add ``empirical`` (``run``, ``report``, ``compare``, ``power``, ``sweep``) to the ``droplab``
    sub-commands."""
    p = subparsers.add_parser("empirical", help="DRoP on real data: query model, quotas, pruning, training",
                              description="The DRoP pipeline on real data (torch).")
    sub = p.add_subparsers(dest="empirical_command", metavar="SUBCOMMAND", required=True)

    r = sub.add_parser("run", help="run the pipeline for one configuration and one or more seeds",
                       description="Query model -> per-class validation recalls -> quotas -> top-k by "
                       "score within classes -> final training -> average and worst-class test accuracy. "
                       "Writes OUT/<run_id>.json per seed (skipped when it exists).")
    add_config_args(r, grid=False)
    r.add_argument("--resume", action="store_true",
                   help="continue from the per-epoch checkpoints in OUT/_ckpt")
    r.add_argument("--force", action="store_true", help="re-run even if the JSON exists")
    r.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")
    r.add_argument("--query-logits", metavar="PATH",
                   help="use this query model's committed logits (a query_logits/<query id>.npz file, or the "
                   "folder holding them, one per seed) instead of training the query model: the allocation "
                   "is then recomputed from committed files exactly (random score with a recall or minimax "
                   "quota; the file must be of this run's query model and data)")
    r.add_argument("--query-only", action="store_true",
                   help="train (or load from OUT/_query) only the query model of each seed and write its "
                   "validation and test logits to OUT/query_logits/<query id>.npz (every run with a query "
                   "model writes them too); no pruning, no final training")
    r.set_defaults(func=_cmd_run)

    r = sub.add_parser("report", help="summaries, paired comparisons, CSVs and figures from run JSONs",
                       description="Group run JSONs by their full configuration (every config field except "
                       "seed, data_dir and device; copies of one run count once), then per density and "
                       "method: mean and min/max over seeds of average and worst-class test accuracy, the "
                       "paired difference against Random (and each --baseline) of the same seed with its 95% "
                       "paired t interval over seeds and a verdict (better, worse, equivalent within "
                       "--margin, undecided with the seeds that would decide it), 95% test-set intervals "
                       "(stratified bootstrap over test images), wall time. Writes runs.csv, summary.csv, "
                       "paired.csv, comparisons.csv, classes.csv, class_summary.csv, README_table.md and "
                       "figures (PNG+PDF).")
    r.add_argument("paths", nargs="+", help="run JSONs or folders (searched recursively)")
    r.add_argument("--out", help="output folder (default: PATHS[0]/report)")
    r.add_argument("--no-plots", action="store_true", help="write the CSVs and the table only")
    r.add_argument("--markdown", action="store_true", help="also print the README table (Markdown)")
    r.add_argument("--n-boot", type=int, default=2000,
                   help="bootstrap resamples for intervals missing from the JSONs and paired intervals "
                   "(default 2000)")
    r.add_argument("--heatmap-density", type=float, default=0.5,
                   help="density of the per-class recall heatmap (default 0.5)")
    r.add_argument("--baseline", action="append", metavar="METHOD",
                   help="also compare every method with this one (a method label, e.g. 'Random+DRoP'; "
                   "repeatable): comparisons.csv and one more table; Random is always compared with")
    _add_statistics_args(r)
    r.set_defaults(func=_cmd_report)

    r = sub.add_parser("compare", help="regimes side by side: paired differences against Random per method",
                       description="For two or more result sets (e.g. two networks), one Markdown row per "
                       "density and method of each set's main configuration (the one with the most runs): "
                       "seeds, worst-class and average-accuracy difference against --baseline of the same "
                       "seed (mean [95% paired t interval over seeds], verdict; seeds whose paired 95% "
                       "interval over test images excludes 0).")
    r.add_argument("--regime", nargs="+", action="append", required=True, metavar=("LABEL", "PATH"),
                   help="a label, then its run JSONs or folders (searched recursively); repeat per regime, "
                   "e.g. --regime 'small CNN' results/cifar10-smallcnn/*.json")
    r.add_argument("--n-boot", type=int, default=2000,
                   help="bootstrap resamples of the per-run intervals missing from the JSONs (default 2000)")
    r.add_argument("--baseline", default="Random", metavar="METHOD",
                   help="the method every other one is paired with, e.g. 'Random+DRoP' (default Random)")
    _add_statistics_args(r)
    r.set_defaults(func=_cmd_compare)

    r = sub.add_parser("power", help="seed-to-seed SD, smallest detectable gain and seeds needed per method",
                       description="Per study, density and method paired with --baseline on the same seeds "
                       "(worst-class accuracy): seeds, mean difference and its 95% paired t interval, "
                       "the SD of the per-seed differences and its one-sided upper confidence bound "
                       "(chi-square), the smallest gain the paired t test (two-sided, --alpha) detects "
                       "with --power at the current seeds (exact noncentral t), the seeds needed to detect "
                       "--delta at the observed SD and at its bound, and the verdict with --margin "
                       "(empirical/power.py).")
    r.add_argument("paths", nargs="+", help="run JSONs or folders (searched recursively)")
    r.add_argument("--delta", type=_positive_float, default=0.02,
                   help="the worst-class gain to detect (default 0.02)")
    r.add_argument("--baseline", default="Random", metavar="METHOD",
                   help="the method every other one is paired with, e.g. 'Random+DRoP' (default Random)")
    r.add_argument("--margin", type=_positive_float, default=0.02,
                   help="equivalence margin of the verdict, worst-class recall (default 0.02)")
    r.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    r.add_argument("--alpha", type=float, default=0.05, help="two-sided level of the test (default 0.05)")
    r.add_argument("--sd-level", type=float, default=0.8,
                   help="level of the SD's one-sided upper confidence bound (default 0.8)")
    r.add_argument("--markdown", action="store_true", help="print Markdown tables (default: plain text)")
    r.set_defaults(func=_cmd_power)

    r = sub.add_parser("sweep", help="run a grid (densities x scores x quotas x seeds) through submitit",
                       description="Grid of runs through submitit (local subprocesses or SLURM).",
                       epilog=SWEEP_EPILOG)
    add_config_args(r, grid=True)
    g = r.add_argument_group("submitit")
    g.add_argument("--cluster", choices=CLUSTERS, default="local", help="submitit executor (see below)")
    g.add_argument("--chunk-size", type=_nonnegative_int, default=0,
                   help="runs per job (0: all for local, 1 for slurm)")
    g.add_argument("--no-wait", action="store_true", help="submit and return without waiting")
    g.add_argument("--timeout-min", type=int, default=240, help="time limit of each job, in minutes")
    g.add_argument("--gpus-per-node", type=int, default=0, help="GPUs per job (slurm)")
    g.add_argument("--cpus-per-task", type=int, help="CPUs per job (slurm; default: the cluster's)")
    g.add_argument("--mem-gb", type=float, help="memory per job in GB (slurm; default: the cluster's)")
    g.add_argument("--partition", help="SLURM partition (default: the cluster's)")
    g.add_argument("--account", help="SLURM account (default: the user's)")
    g.add_argument("--qos", help="SLURM quality of service (default: the cluster's)")
    g.add_argument("--constraint", help="SLURM node constraint, e.g. a GPU type (default: none)")
    g.add_argument("--array-parallelism", type=int, default=16,
                   help="most array tasks running at once (slurm)")
    g.add_argument("--job-name", default="droplab", help="submitit / SLURM job name")
    r.set_defaults(func=_cmd_sweep)
    add_subcommands(sub)
