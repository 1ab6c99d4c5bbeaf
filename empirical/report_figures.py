"""Figures of ``droplab empirical report`` (matplotlib ``Figure`` objects, no pyplot, no global state).

Per study (:func:`empirical.report_runs.group_runs`), from the rows of
:func:`empirical.report_comparisons.summarise`, :func:`empirical.report_rows.class_summary` and
:func:`empirical.report_scorers.scorer_class_rows`:

* ``accuracy_<dataset>_<model>_<recipe>[_<study>].{png,pdf}``: average and worst-class test accuracy
  against the dataset density per method, and the paired worst-class difference against Random of the
  same seed (:mod:`empirical.report_figures_accuracy`);
* ``pareto_<dataset>_<model>_<recipe>[_<study>].{png,pdf}``, when some density has at least two methods:
  the Pareto picture, average against worst-class test accuracy per density, the Pareto front drawn
  (:mod:`empirical.report_figures_pareto`);
* ``recalls_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}``: per-class test recall (mean over
  seeds) at one density (default 0.5), methods × classes;
* ``scorers_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}``, when the study has runs of a
  score other than random with a Random partner at that density: the paper's scorer-bias study
  (DRoP, arXiv 2404.05579), per class the test recall change against Random and the kept class density
  (both per class: :mod:`empirical.report_figures_classes`).

This module plans them (:func:`figure_captions`: the file stem, title and caption of each, in order)
and writes them (:func:`write_figures`). Each figure has a caption built from the same numbers;
``droplab empirical report`` writes them into ``README.md`` next to the figures (one section per
figure), and the documentation site's "Real data" pages are made from that file. Files are written
atomically (:func:`gaussian_theory.atomic.atomic_write`).
"""

from __future__ import annotations

from pathlib import Path

from gaussian_theory.atomic import atomic_write

from .report_figures_accuracy import accuracy_caption, accuracy_figure
from .report_figures_classes import recall_caption, recall_heatmap, scorer_caption, scorer_figure
from .report_figures_pareto import pareto_caption, pareto_figure

__all__ = ["write_figures", "figure_captions"]


def _save(fig, stem: Path) -> list[Path]:
    out = []
    for ext in ("png", "pdf"):
        meta = {"CreationDate": None} if ext == "pdf" else {}
        out.append(atomic_write(stem.with_name(f"{stem.name}.{ext}"),
                                lambda tmp, ext=ext, meta=meta: fig.savefig(tmp, format=ext, dpi=150,
                                                                            metadata=meta)))
    return out


def _figure_plan(summary, class_summary, studies: dict, heatmap_density: float, scorer_rows=()):
    """``(stem, title, caption, draw)`` for every figure of every study, in order."""
    tags = {sid: "_".join(str(st["config"].get(k)) for k in ("dataset", "model", "recipe"))
            for sid, st in studies.items()}
    for sid, st in studies.items():
        tag = tags[sid] + (f"_{sid}" if list(tags.values()).count(tags[sid]) > 1 else "")
        rows = [r for r in summary if r["study"] == sid]
        yield (f"accuracy_{tag}", f"Accuracy against density: {st['label']}", accuracy_caption(rows, st),
               lambda rows=rows, st=st: accuracy_figure(rows, st))
        caption = pareto_caption(rows, st)
        if caption is not None:
            yield (f"pareto_{tag}", f"Average against worst-class accuracy (Pareto front): {st['label']}",
                   caption, lambda rows=rows, st=st: pareto_figure(rows, st))
        at_density = (("recalls", "Per-class recall", class_summary, recall_caption, recall_heatmap),
                      ("scorers", "Scorers against Random", scorer_rows, scorer_caption, scorer_figure))
        for prefix, title, table, caption_of, figure_of in at_density:
            part = [r for r in table if r["study"] == sid]
            caption = caption_of(part, st, heatmap_density)
            if caption is not None:
                yield (f"{prefix}_{tag}_d{heatmap_density:g}",
                       f"{title} at d = {heatmap_density:g}: {st['label']}", caption,
                       lambda part=part, st=st, figure_of=figure_of: figure_of(part, st, heatmap_density))


def figure_captions(summary, class_summary, studies: dict, heatmap_density: float = 0.5,
                    scorer_rows=()) -> list[dict]:
    """``{"stem", "title", "caption"}`` of every figure :func:`write_figures` writes (same order; the
    files are ``<stem>.png`` and ``<stem>.pdf``)."""
    return [{"stem": stem, "title": title, "caption": caption}
            for stem, title, caption, _ in _figure_plan(summary, class_summary, studies, heatmap_density,
                                                        scorer_rows)]


def write_figures(summary, class_summary, studies: dict, out: Path,
                  heatmap_density: float = 0.5, scorer_rows=()) -> list[Path]:
    """Every figure of every study (``scorer_rows``: :func:`empirical.report_scorers.scorer_class_rows`,
    for the scorer figure); returns the files written."""
    out = Path(out)
    written = []
    for stem, _, _, draw in _figure_plan(summary, class_summary, studies, heatmap_density, scorer_rows):
        written += _save(draw(), out / stem)
    return written
