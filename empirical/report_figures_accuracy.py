"""The accuracy figure of ``droplab empirical report`` and its caption.

``accuracy_<dataset>_<model>_<recipe>[_<study>].{png,pdf}`` (:func:`accuracy_figure`,
:func:`accuracy_caption`): average and worst-class test accuracy against the dataset density per method
(line: mean over seeds; band: min–max over seeds), the full-data runs (d = 1) as a dashed reference line
with their min–max band, and the paired worst-class difference against Random of the same seed (mean,
bars: min–max over seeds); one colour and marker per method (:func:`method_styles`), one legend outside
the axes with each method's seeds per cell. A study with one density (besides d = 1) is drawn per method
instead (dots with min–max bars), since a curve against density would be one point per method.

From the study's rows of :func:`empirical.report_comparisons.summarise`; planned and written by
:mod:`empirical.report_figures` (the documentation site's "Real data" pages show it with its caption).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .report_figures_labels import n_seeds_text, seeds_text

__all__ = ["NO_BASELINE", "NO_PAIRED_METHOD", "method_styles", "accuracy_figure", "accuracy_caption"]


#: what the third panel of the accuracy figure says when the study has nothing to pair with Random
NO_BASELINE = ("no Random baseline (score random, quota none)\nat these densities and seeds:\n"
               "no paired difference")
NO_PAIRED_METHOD = "no method paired with Random\n(same density and seed)"


#: markers cycled with the colours when a study has more methods than the ten-colour cycle holds
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


def method_styles(methods) -> dict:
    """``{method: (colour, marker)}``, distinct for every method: up to ten methods the ten-colour cycle
    with round markers (the look of the committed small-CNN figures); more, the 20 colours of ``tab20``
    (its dark shades first, then the light ones) and a marker that changes with each method, so that no
    two methods share both colour and marker."""
    from matplotlib import colormaps

    methods = list(methods)
    if len(methods) <= 10:
        return {m: (f"C{i}", "o") for i, m in enumerate(methods)}
    cmap = colormaps["tab20"]
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))      # dark shades, then light
    return {m: (cmap(order[i % 20]), _MARKERS[(i + i // 20) % len(_MARKERS)]) for i, m in enumerate(methods)}


def _n_range(values) -> str:
    """``n = 3`` or ``n = 3–8``: the number of seeds of a method's cells."""
    lo, hi = min(values), max(values)
    return f"n = {lo}" if lo == hi else f"n = {lo}–{hi}"


def _seeds_phrase(summary, study: dict) -> str:
    """How the means were taken: ``mean over seeds (0, 1, 2)`` when every cell has the study's seeds,
    else ``mean over each cell's seeds (3–8 per cell, n per method in the legend)``."""
    if all(set(str(r["seeds"]).split()) == {str(x) for x in study["seeds"]} for r in summary):
        return f"mean over seeds ({seeds_text(study)})"
    ns = [r["n_seeds"] for r in summary]
    return f"mean over each cell's seeds ({min(ns)}–{max(ns)} per cell, n per method in the legend)"


def _split_full(summary):
    """``(full-data rows, rows by method)``: the Random runs at d = 1 (the reference), and every other row
    grouped by method in the order of ``summary``."""
    full = [r for r in summary if r["density"] == 1 and r["method"] == "Random"]
    by_method = defaultdict(list)
    for r in summary:
        if not (r["density"] == 1 and r["method"] == "Random"):
            by_method[r["method"]].append(r)
    return full, by_method


def _one_density(summary) -> bool:
    """Whether the study has one density only (besides its full-data reference): then accuracy is drawn
    per method, not against density (a line chart of one point per method says nothing)."""
    full, by_method = _split_full(summary)
    return len({r["density"] for rs in by_method.values() for r in rs}) <= 1


def _has_pairs(summary) -> bool:
    return any(r["n_pairs"] for r in summary)


def _has_baseline(summary) -> bool:
    return any(r["method"] == "Random" and r["density"] != 1 for r in summary)


def accuracy_figure(summary, study: dict):
    """Three panels: average and worst-class accuracy against density, paired worst-class gain over
    Random. ``summary``: the study's rows of :func:`empirical.report_comparisons.summarise`.

    One colour and marker per method (:func:`method_styles`), one legend outside the axes naming each
    method with its number of seeds. A study with one density (besides the full-data runs) is drawn per
    method instead, a dot with its min–max bar, the full-data runs as a dashed reference line."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if _one_density(summary):
        return _accuracy_per_method_figure(summary, study)
    fig = Figure(figsize=(16.5, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    full, by_method = _split_full(summary)
    styles = method_styles(by_method)
    handles, labels = [], []
    for ax, m in zip(axes[:2], ("accuracy", "worst_class")):
        for f in full:
            ax.axhline(f[f"{m}_mean"], color="k", ls="--", lw=1)
            ax.axhspan(f[f"{m}_min"], f[f"{m}_max"], color="k", alpha=0.08)
            ax.errorbar([1.0], [f[f"{m}_mean"]], yerr=[[f[f"{m}_mean"] - f[f"{m}_min"]],
                                                       [f[f"{m}_max"] - f[f"{m}_mean"]]],
                        fmt="s", color="k", ms=4, capsize=3)
    for f in full:
        handles.append(Line2D([], [], color="k", ls="--", marker="s", ms=4))
        labels.append(f"full data (d = 1), Random, n = {f['n_seeds']}")
    for i, (method, rs) in enumerate(by_method.items()):
        rs = sorted(rs, key=lambda r: r["density"])
        col, mk = styles[method]
        d = np.array([r["density"] for r in rs])
        for ax, m in zip(axes[:2], ("accuracy", "worst_class")):
            mean = np.array([r[f"{m}_mean"] for r in rs])
            ax.plot(d, mean, "-", color=col, marker=mk, ms=6, mec="w", mew=0.5)
            ax.fill_between(d, [r[f"{m}_min"] for r in rs], [r[f"{m}_max"] for r in rs], color=col,
                            alpha=0.14, lw=0)
        handles.append(Line2D([], [], color=col, marker=mk, ms=6))
        labels.append(f"{method} ({_n_range([r['n_seeds'] for r in rs])})")
        paired = [r for r in rs if r["n_pairs"]]
        if paired:
            dp = np.array([r["density"] for r in paired])
            mean = np.array([r["paired_worst_class_diff_mean"] for r in paired])
            lo = mean - np.array([r["paired_worst_class_diff_min"] for r in paired])
            hi = np.array([r["paired_worst_class_diff_max"] for r in paired]) - mean
            axes[2].errorbar(dp + 0.006 * (i - len(by_method) / 2), mean, yerr=[lo, hi], fmt="-",
                             marker=mk, color=col, ms=5, capsize=3)
    axes[0].set(xlabel="dataset density d", ylabel="average test accuracy")
    axes[1].set(xlabel="dataset density d", ylabel="worst-class test accuracy")
    axes[2].set(xlabel="dataset density d", ylabel="worst-class accuracy − Random (same seed)")
    for ax in axes:
        ax.grid(alpha=0.3)
    if _has_pairs(summary):
        axes[2].axhline(0.0, color="k", lw=0.8)
    else:   # say why the panel is empty
        _empty_paired_panel(axes[2], summary)
    fig.legend(handles, labels, loc="outside right upper", fontsize=8,
               title="method (seeds per cell)", title_fontsize=8)
    fig.suptitle(f"{study['label']}: {_seeds_phrase(summary, study)}; bands and bars: min–max over seeds")
    return fig


def _empty_paired_panel(ax, summary) -> None:
    """The paired panel of a study with nothing paired with Random: why, and no ticks."""
    ax.text(0.5, 0.5, NO_PAIRED_METHOD if _has_baseline(summary) else NO_BASELINE,
            transform=ax.transAxes, ha="center", va="center", fontsize=10, color="0.3")
    ax.set(xticks=[], yticks=[])


def _accuracy_per_method_figure(summary, study: dict):
    """:func:`accuracy_figure` for a study with one density: per method (x), the mean over seeds (dot)
    with its min–max bar, of average accuracy, worst-class accuracy and the paired worst-class difference
    against Random; the full-data runs (d = 1) as a dashed reference line with a grey band."""
    from matplotlib.figure import Figure

    full, by_method = _split_full(summary)
    rows = [rs[0] for rs in by_method.values()] or full          # only full data: draw it per method
    ref = full if by_method else []
    styles = method_styles([r["method"] for r in rows])
    fig = Figure(figsize=(max(13.5, 4.5 + 1.65 * len(rows)), 5.2), layout="constrained")
    axes = fig.subplots(1, 3)
    x = np.arange(len(rows))
    names = [f"{r['method']} ({_n_range([r['n_seeds']])})" for r in rows]
    for ax, m in zip(axes[:2], ("accuracy", "worst_class")):
        for f in ref:
            ax.axhline(f[f"{m}_mean"], color="k", ls="--", lw=1,
                       label=f"full data (d = 1), Random, n = {f['n_seeds']}")
            ax.axhspan(f[f"{m}_min"], f[f"{m}_max"], color="k", alpha=0.08)
        for i, r in enumerate(rows):
            col, mk = styles[r["method"]]
            ax.errorbar([i], [r[f"{m}_mean"]], yerr=[[r[f"{m}_mean"] - r[f"{m}_min"]],
                                                     [r[f"{m}_max"] - r[f"{m}_mean"]]],
                        fmt=mk, color=col, ms=7, capsize=4)
            ax.annotate(f"{r[f'{m}_mean']:.3f}", (i, r[f"{m}_mean"]), xytext=(9, 0),
                        textcoords="offset points", va="center", fontsize=8)
        if ref:
            ax.legend(fontsize=8, loc="lower right")
    paired = [(i, r) for i, r in enumerate(rows) if r["n_pairs"]]
    for i, r in paired:
        col, mk = styles[r["method"]]
        mean = r["paired_worst_class_diff_mean"]
        axes[2].errorbar([i], [mean], yerr=[[mean - r["paired_worst_class_diff_min"]],
                                            [r["paired_worst_class_diff_max"] - mean]],
                         fmt=mk, color=col, ms=7, capsize=4)
        axes[2].annotate(f"{mean:+.3f}", (i, mean), xytext=(9, 0), textcoords="offset points", va="center",
                         fontsize=8)
    d = rows[0]["density"]
    axes[0].set(ylabel="average test accuracy")
    axes[1].set(ylabel="worst-class test accuracy")
    axes[2].set(ylabel="worst-class accuracy − Random (same seed)")
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
    if paired:
        axes[2].axhline(0.0, color="k", lw=0.8)
    else:
        _empty_paired_panel(axes[2], summary)
    for ax in axes[:2] if not paired else axes:
        ax.set_xticks(x, names, rotation=35, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
    fig.suptitle(f"{study['label']}: one density, d = {d:g}: per method, {_seeds_phrase(summary, study)}; "
                 "bars: min–max over seeds")
    return fig


def accuracy_caption(summary, study: dict) -> str:
    """The caption of :func:`accuracy_figure` (Markdown, one paragraph), from the same rows."""
    full, by_method = _split_full(summary)
    methods = list(by_method)
    seeds = _seeds_phrase(summary, study).replace("mean over", "the mean over")
    if _one_density(summary):
        rows = [rs[0] for rs in by_method.values()] or full
        text = [f"Average (left) and worst-class (middle) test accuracy per method at d = "
                f"{rows[0]['density']:g}, the one density of {study['label']} (so no curve against density), "
                f"one colour per method ({', '.join(r['method'] for r in rows)}): dot, {seeds}; bar, "
                "min–max over seeds."]
        if full and by_method:
            text.append(f"Dashed black line and grey band: training on all the data, Random at d = 1 "
                        f"({n_seeds_text(full[0]['n_seeds'])}).")
    else:
        markers = len({mk for _, mk in method_styles(methods).values()}) > 1
        text = [f"Average (left) and worst-class (middle) test accuracy against the dataset density d, "
                f"{study['label']}, one colour {'and marker ' if markers else ''}per method "
                f"({', '.join(methods)}; the legend gives each method's seeds per cell): line, {seeds}; "
                "shaded band, min–max over seeds."]
        if full:
            text.append(f"Dashed black line, grey band and square at d = 1: training on all the data "
                        f"({n_seeds_text(full[0]['n_seeds'])}).")
    paired = [r for r in summary if r["n_pairs"]]
    if paired:
        best = max(paired, key=lambda r: r["paired_worst_class_diff_mean"])
        worst = min(paired, key=lambda r: r["paired_worst_class_diff_mean"])
        text.append("Right: the worst-class accuracy minus that of the Random run of the same seed and "
                    "density (dot: mean over seeds; bar: min–max over seeds); above 0 the method lifts "
                    f"the worst class. Highest mean difference: {best['method']} at d = {best['density']:g} "
                    f"({best['paired_worst_class_diff_mean']:+.3f}); lowest: {worst['method']} at "
                    f"d = {worst['density']:g} ({worst['paired_worst_class_diff_mean']:+.3f}).")
    elif _has_baseline(summary):
        text.append("Right: empty: no method has a Random run of the same density and seed to be paired "
                    "with.")
    else:
        text.append("Right: empty: the study has no Random baseline (score random, quota none) at these "
                    "densities, so there is no paired difference.")
    return " ".join(text)
