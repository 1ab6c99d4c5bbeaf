"""The per-class figures of ``droplab empirical report`` at one density, and their captions.

* ``recalls_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}`` (:func:`recall_heatmap`,
  :func:`recall_caption`): per-class test recall (mean over seeds) at one density (default 0.5),
  methods × classes, from :func:`empirical.report_rows.class_summary`;
* ``scorers_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}`` (:func:`scorer_figure`,
  :func:`scorer_caption`), when the study has runs of a score other than random with a Random partner at
  that density: the paper's scorer-bias study (DRoP, arXiv 2404.05579), one column per scorer, per class
  the test recall change against Random of the same seed (top) and the kept class density (bottom),
  without quotas and with each quota, from :func:`empirical.report_scorers.scorer_class_rows`.

Planned and written by :mod:`empirical.report_figures` (documentation site, "Real data" pages).
"""

from __future__ import annotations

import numpy as np

from .report_figures_labels import n_seeds_text

__all__ = ["recall_heatmap", "recall_caption", "scorer_figure", "scorer_caption"]


def recall_heatmap(class_summary, study: dict, density: float):
    """Per-class test recall (mean over seeds) at ``density``: methods (rows) × classes (columns);
    ``None`` when the study has no run at that density."""
    from matplotlib.figure import Figure

    rows = [r for r in class_summary if np.isclose(r["density"], density)]
    if not rows:
        return None
    methods = list(dict.fromkeys(r["method"] for r in rows))
    classes = list(dict.fromkeys(r["class_name"] for r in rows))
    mat = np.full((len(methods), len(classes)), np.nan)
    seeds = {}
    for r in rows:
        mat[methods.index(r["method"]), classes.index(r["class_name"])] = r["recall_mean"]
        seeds[r["method"]] = r["n_seeds"]
    fig = Figure(figsize=(3.0 + 0.75 * len(classes), 1.6 + 0.5 * len(methods)), layout="constrained")
    ax = fig.subplots()
    lo, hi = np.nanmin(mat), np.nanmax(mat)
    im = ax.imshow(mat, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
    if len(classes) <= 20:
        for i in range(len(methods)):
            for j in range(len(classes)):
                v = mat[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if v < (lo + hi) / 2 else "k")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(methods)), [f"{m} ({seeds[m]} seed{'s' * (seeds[m] > 1)})" for m in methods],
                  fontsize=8)
    fig.colorbar(im, ax=ax, label="test recall\n(mean over seeds)")
    ax.set_title(f"{study['label']}: per-class test recall at d = {density:g}", fontsize=9)
    return fig


def recall_caption(class_summary, study: dict, density: float) -> str | None:
    """The caption of :func:`recall_heatmap` (Markdown, one paragraph); ``None`` without a run at
    ``density``."""
    rows = [r for r in class_summary if np.isclose(r["density"], density)]
    if not rows:
        return None
    lowest = {}
    for r in rows:
        if r["method"] not in lowest or r["recall_mean"] < lowest[r["method"]]["recall_mean"]:
            lowest[r["method"]] = r
    values = [r["recall_mean"] for r in rows]
    return (f"Per-class test recall at d = {density:g}, {study['label']}: one row per method (its number "
            "of seeds in parentheses), one column per class; each cell is the mean over seeds, coloured "
            f"from the lowest ({min(values):.2f}) to the highest ({max(values):.2f}) cell. The worst "
            "class of each method: " + "; ".join(f"{m}: {r['class_name']} {r['recall_mean']:.2f}"
                                                 for m, r in lowest.items()) + ".")


def scorer_figure(scorer_rows, study: dict, density: float):
    """The scorer-bias study at ``density``: one column per score, per class the test recall minus that of
    the Random run of the same seed (top; bar: mean over seeds, line: min–max) and the kept class density
    (bottom; dashed: the dataset density), one bar colour per quota. ``scorer_rows``: the study's rows of
    :func:`empirical.report_scorers.scorer_class_rows`; ``None`` without any at ``density``."""
    from matplotlib.figure import Figure

    rows = [r for r in scorer_rows if np.isclose(r["density"], density)]
    if not rows:
        return None
    score_list = list(dict.fromkeys(r["score"] for r in rows))
    classes = list(dict.fromkeys(r["class_name"] for r in rows))
    quota_list = list(dict.fromkeys(r["quota"] for r in sorted(rows, key=lambda r: r["quota"] != "none")))
    fig = Figure(figsize=(max(6.0, 1.2 + 2.9 * len(score_list)), 5.8), layout="constrained")
    axes = fig.subplots(2, len(score_list), sharey="row", squeeze=False)
    x = np.arange(len(classes))
    width = 0.8 / len(quota_list)
    for j, score in enumerate(score_list):
        top, bottom = axes[0, j], axes[1, j]
        for i, q in enumerate(quota_list):
            rs = [r for r in rows if r["score"] == score and r["quota"] == q]
            if not rs:
                continue
            rs = sorted(rs, key=lambda r: classes.index(r["class_name"]))
            xs = x + (i - (len(quota_list) - 1) / 2) * width
            mean = np.array([r["recall_change_mean"] for r in rs])
            top.bar(xs, mean, width, color=f"C{i}",
                    label=f"{rs[0]['method']} ({n_seeds_text(rs[0]['n_pairs'])})")
            top.vlines(xs, [r["recall_change_min"] for r in rs], [r["recall_change_max"] for r in rs],
                       color="k", lw=0.8)
            bottom.bar(xs, [r["kept_density_mean"] for r in rs], width, color=f"C{i}")
        top.axhline(0.0, color="k", lw=0.8)
        bottom.axhline(density, color="k", ls="--", lw=0.8)
        top.set_title(rows[[r["score"] for r in rows].index(score)]["method"].split("+")[0], fontsize=10)
        top.legend(fontsize=7)
        for ax in (top, bottom):
            ax.grid(alpha=0.3, axis="y")
        top.set_xticks(x, [])
        bottom.set_xticks(x, classes, rotation=60, ha="right", fontsize=8)
    axes[0, 0].set_ylabel("test recall − Random\n(same seed)")
    axes[1, 0].set_ylabel("kept class density")
    fig.suptitle(f"{study['label']}: scorers at d = {density:g} against Random\n"
                 "bars: mean over seeds, lines: min–max", fontsize=10)
    return fig


def scorer_caption(scorer_rows, study: dict, density: float) -> str | None:
    """The caption of :func:`scorer_figure` (Markdown, one paragraph); ``None`` without rows."""
    rows = [r for r in scorer_rows if np.isclose(r["density"], density)]
    if not rows:
        return None
    methods = list(dict.fromkeys(r["method"] for r in rows))
    parts = []
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        hit = min(rs, key=lambda r: r["recall_change_mean"])
        pruned = min(rs, key=lambda r: r["kept_density_mean"])
        parts.append(f"{m} ({n_seeds_text(rs[0]['n_pairs'])}): largest recall drop {hit['class_name']} "
                     f"{hit['recall_change_mean']:+.3f}, most pruned {pruned['class_name']} "
                     f"(kept {pruned['kept_density_mean']:.2f})")
    return (f"The scorer study at d = {density:g}, {study['label']}: one column per scorer; colours: the "
            "scorer without class quotas and with each quota. Top: per class, test recall minus that of the "
            "Random run of the same seed and density (bar: mean over seeds; line: min–max); below 0 the "
            "scorer costs that class recall. Bottom: the class density each method kept (mean over seeds; a "
            "dynamic score, its mean over epochs); dashed: the dataset density d. " + "; ".join(parts) + ".")
