"""Collect run JSONs into tidy CSVs, per-configuration summaries, paired comparisons and figures.

``droplab empirical report`` and ``compare`` and ``power`` call this module; each step has its own:

1. :mod:`empirical.report_runs`: the run JSONs under the given paths, checked and grouped into studies
   (configurations are never mixed; copies of one run count once);
2. :mod:`empirical.report_rows`: one row per run, per run and class, per cell and class;
3. :mod:`empirical.report_comparisons`: per study and (density, method), the paired differences against
   Random and any other baseline asked for (e.g. Random+DRoP): one 95% paired t interval over seeds
   with a verdict, per-seed intervals over the test images as a detail; and the mean wall time per run;
4. :mod:`empirical.report_scorers`: the paper's scorer-bias study;
5. :mod:`empirical.report_tables`: the Markdown tables, the printed summary and the folder's README;
6. :mod:`empirical.report_figures`: the figures with their captions.

Outputs (in ``OUT``): ``runs.csv`` (one row per distinct run), ``summary.csv`` (one row per study,
density and method), ``paired.csv`` (one row per run and baseline it is paired with),
``comparisons.csv`` (one row per study, density, method and baseline: the t intervals and verdicts),
``classes.csv`` (one row per run and class), ``class_summary.csv`` (per study, density, method and
class: recall over seeds), ``README_table.md``, the figures of :mod:`empirical.report_figures` (PNG
and PDF) and ``README.md``: what the folder holds, the tables, and each figure with its caption (the
documentation site's "Real data" pages show the figures with these captions; the README's headline
results quote the tables).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from gaussian_theory.atomic import atomic_write

from .power import DEFAULT_ACCURACY_MARGIN, DEFAULT_MARGIN, power_rows
from .report_comparisons import (
    PAIRED_N_BOOT,
    RANDOM,
    check_baseline,
    check_baselines,
    check_statistics,
    comparison_rows,
    paired_rows,
    seed_differences,
    summarise,
)
from .report_rows import RUN_COLUMNS, class_rows, class_summary, tidy_rows
from .report_runs import collect_required, group_runs
from .report_scorers import scorer_class_rows, scorer_rows
from .report_tables import comparison_markdown, folder_readme, markdown_table, scorer_markdown

__all__ = ["summarise_paths", "power_paths", "make_report"]


def summarise_paths(paths, n_boot: int = 2000, *, paired_n_boot: int = PAIRED_N_BOOT, boot_seed: int = 0,
                    baselines=(), margin: float = DEFAULT_MARGIN,
                    accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> dict:
    """:func:`empirical.report_comparisons.summarise` of the run JSONs under ``paths`` without writing
    anything: ``{"summary", "comparisons", "paired", "studies", "warnings", ...}``.

    ``n_boot``: resamples of the per-run intervals missing from the JSONs (seed 0, as the pipeline
    records them); ``paired_n_boot`` and ``boot_seed``: of the per-seed paired intervals where they are
    sampled (:func:`empirical.report_comparisons.paired_rows`); ``baselines``: methods compared with,
    besides Random (e.g. ``["Random+DRoP"]``); ``margin`` / ``accuracy_margin``: the equivalence margins
    of the verdicts.
    """
    from gaussian_theory.validation import check_int

    check_int(n_boot, "n_boot", 100)
    check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin)
    paths, pairs = collect_required(paths)
    return _summarised(pairs, n_boot, paired_n_boot=paired_n_boot, boot_seed=boot_seed, baselines=baselines,
                       margin=margin, accuracy_margin=accuracy_margin)


def _summarised(pairs, n_boot: int, *, paired_n_boot: int = PAIRED_N_BOOT, boot_seed: int = 0, baselines=(),
                margin: float = DEFAULT_MARGIN, accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> dict:
    """Group ``(path, result)`` pairs and summarise them: ``{"runs", "studies", "warnings", "files",
    "rows", "paired", "summary", "comparisons"}`` (the runs carry their intervals, see
    :func:`empirical.report_rows.tidy_rows`; ``paired`` and ``comparisons`` hold Random first, then each
    other baseline)."""
    bases = check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin)
    g = group_runs(pairs)
    for b in bases:
        check_baseline(g["runs"], b)                    # every argument checked before any interval
    rows = tidy_rows(g["runs"], n_boot)
    paired, comparisons = [], []
    for b in bases:
        p = paired_rows(g["runs"], paired_n_boot, g["warnings"], baseline=b, boot_seed=boot_seed)
        paired += p
        comparisons += comparison_rows(g["runs"], p, b, margin, accuracy_margin)
    return {**g, "rows": rows, "paired": paired, "comparisons": comparisons,
            "summary": summarise(g["runs"], rows, paired, margin, accuracy_margin)}


def power_paths(paths, baseline: str = RANDOM, delta: float = 0.02, margin: float = DEFAULT_MARGIN,
                power: float = 0.8, alpha: float = 0.05, sd_level: float = 0.8) -> dict:
    """The power table (:func:`empirical.power.power_rows`) of the run JSONs under ``paths``: per study,
    density and method paired with ``baseline`` on the same seeds, the worst-class difference's SD over
    seeds, its upper confidence bound, the smallest gain detectable with ``power`` and the seeds needed
    for ``delta``. Returns ``{"rows", "studies", "warnings", "files"}``."""
    power_rows({}, delta=delta, margin=margin, power=power, alpha=alpha, sd_level=sd_level)  # checks only
    if not isinstance(baseline, str) or not baseline:
        raise ValueError(f"baseline must be a method label such as 'Random+DRoP', got {baseline!r}")
    paths, pairs = collect_required(paths)
    g = group_runs(pairs)
    diffs = seed_differences(g["runs"], baseline)
    worst = {k: {s: v["worst_class_accuracy"] for s, v in per_seed.items()} for k, per_seed in diffs.items()}
    rows = power_rows(worst, delta=delta, margin=margin, power=power, alpha=alpha, sd_level=sd_level)
    return {"rows": rows, "studies": g["studies"], "warnings": g["warnings"], "files": g["files"]}


# ----------------------------------------------------------------------------- writing
def _write_csv(rows, path: Path, columns=None) -> Path:
    columns = columns or (list(rows[0]) if rows else ["empty"])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    text = buf.getvalue()
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def make_report(paths, out_dir=None, plots: bool = True, n_boot: int = 2000,
                heatmap_density: float = 0.5, *, paired_n_boot: int = PAIRED_N_BOOT, boot_seed: int = 0,
                baselines=(), margin: float = DEFAULT_MARGIN,
                accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> dict:
    """Write the CSVs, the README table and the figures; return everything
    :func:`empirical.report_tables.format_summary` prints.

    ``n_boot``, ``paired_n_boot``, ``boot_seed``, ``baselines``, ``margin``, ``accuracy_margin``: as in
    :func:`summarise_paths`. Returns ``{"n_json": JSONs read, "runs": distinct runs, "studies",
    "warnings", "summary", "paired", "comparisons", "markdown", "comparison_markdown" (the tables
    against the other baselines), "scorer_markdown", "files": [paths written]}``.
    """
    from gaussian_theory.validation import check_int, check_real

    check_int(n_boot, "n_boot", 100)
    check_real(heatmap_density, "heatmap_density", 0.0, 1.0, strict_minimum=True)
    check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin)
    paths, pairs = collect_required(paths)
    first = Path(paths[0])
    out = Path(out_dir) if out_dir else (first if first.is_dir() else first.parent) / "report"
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder --out {str(out)!r} is a file")
    g = _summarised(pairs, n_boot, paired_n_boot=paired_n_boot, boot_seed=boot_seed, baselines=baselines,
                    margin=margin, accuracy_margin=accuracy_margin)
    runs, rows, paired, summary = g["runs"], g["rows"], g["paired"], g["summary"]
    per_scorer_class = scorer_class_rows(runs)
    scorers = scorer_rows(runs, summary, per_scorer_class, margin)
    others = "\n".join(comparison_markdown(g["comparisons"], g["studies"], b)
                       for b in check_baselines(baselines)[1:])
    rep = {"n_json": g["files"], "runs": len(runs), "studies": g["studies"], "warnings": g["warnings"],
           "summary": summary, "paired": paired, "comparisons": g["comparisons"], "scorers": scorers,
           "markdown": markdown_table(summary, g["studies"]), "comparison_markdown": others,
           "scorer_markdown": scorer_markdown(scorers, g["studies"])}
    written = [_write_csv(rows, out / "runs.csv", RUN_COLUMNS), _write_csv(summary, out / "summary.csv"),
               _write_csv(paired, out / "paired.csv"), _write_csv(g["comparisons"], out / "comparisons.csv"),
               _write_csv(class_rows(runs), out / "classes.csv"),
               _write_csv(class_summary(runs), out / "class_summary.csv")]
    if scorers:
        written += [_write_csv(scorers, out / "scorers.csv"),
                    _write_csv(per_scorer_class, out / "scorer_classes.csv")]
    tables = (rep["markdown"] + ("\n" + others if others else "")
              + ("\n" + rep["scorer_markdown"] if scorers else ""))
    written.append(atomic_write(out / "README_table.md", lambda tmp: Path(tmp).write_text(tables)))
    figures = []
    if plots:
        from .report_figures import figure_captions, write_figures

        per_class = class_summary(runs)
        written += write_figures(summary, per_class, g["studies"], out, heatmap_density, per_scorer_class)
        figures = figure_captions(summary, per_class, g["studies"], heatmap_density, per_scorer_class)
    readme = folder_readme(rep, figures, [str(p) for p in paths])
    written.append(atomic_write(out / "README.md",
                                lambda tmp: Path(tmp).write_text(readme, encoding="utf-8")))
    rep["files"] = [str(f) for f in written]
    return rep
