"""Figures of ``droplab empirical report`` (matplotlib ``Figure`` objects, no pyplot, no global state).

Per study (:func:`empirical.report.group_runs`):

* ``accuracy_<dataset>_<model>_<recipe>[_<study>].{png,pdf}``: average and worst-class test accuracy
  against the dataset density per method (line: mean over seeds; band: min–max over seeds), the
  full-data runs (d = 1) as a dashed reference line with their min–max band, and the paired
  worst-class difference against Random of the same seed (mean, bars: min–max over seeds); one colour
  and marker per method (:func:`method_styles`), one legend outside the axes with each method's seeds
  per cell. A study with one density (besides d = 1) is drawn per method instead (dots with min–max
  bars), since a curve against density would be one point per method;
* ``recalls_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}``: per-class test recall (mean over
  seeds) at one density (default 0.5), methods × classes;
* ``scorers_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}``, when the study has runs of a
  score other than random with a Random partner at that density: the paper's scorer-bias study, one
  column per scorer, per class the test recall change against Random of the same seed (top) and the kept
  class density (bottom), without quotas and with each quota.
* ``pareto_<dataset>_<model>_<recipe>[_<study>].{png,pdf}``, when some density has at least two methods:
  the Pareto picture, one panel per such density, average test accuracy (x) against worst-class test
  accuracy (y) of every method (mean over seeds; bars: min–max over seeds in both directions; numbered,
  with a legend), the Pareto front (:func:`pareto_front`: no other method is at least as good in both
  means and better in one) joined by a line with bold markers; where the methods spread far beyond the
  front, a second row zooms on the front's neighbourhood.

Each figure has a caption (:func:`figure_captions`) built from the same numbers; ``droplab empirical
report`` writes them into ``README.md`` next to the figures (one section per figure), and the
documentation site's "Real data" page is made from that file. Files are written atomically
(:func:`gaussian_theory.atomic.atomic_write`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from gaussian_theory.atomic import atomic_write

__all__ = ["accuracy_figure", "method_styles", "recall_heatmap", "scorer_figure", "write_figures",
           "figure_captions", "accuracy_caption", "recall_caption", "scorer_caption", "pareto_front",
           "pareto_figure", "pareto_caption"]

#: what the third panel of the accuracy figure says when the study has nothing to pair with Random
NO_BASELINE = ("no Random baseline (score random, quota none)\nat these densities and seeds:\n"
               "no paired difference")
NO_PAIRED_METHOD = "no method paired with Random\n(same density and seed)"


def _save(fig, stem: Path) -> list[Path]:
    out = []
    for ext in ("png", "pdf"):
        meta = {"CreationDate": None} if ext == "pdf" else {}
        out.append(atomic_write(stem.with_name(f"{stem.name}.{ext}"),
                                lambda tmp, ext=ext, meta=meta: fig.savefig(tmp, format=ext, dpi=150,
                                                                            metadata=meta)))
    return out


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
        return f"mean over seeds ({_seeds(study)})"
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


def accuracy_figure(summary, study: dict):
    """Three panels: average and worst-class accuracy against density, paired worst-class gain over
    Random. ``summary``: the study's rows of :func:`empirical.report.summarise`.

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


def scorer_figure(scorer_rows, study: dict, density: float):
    """The scorer-bias study at ``density``: one column per score, per class the test recall minus that of
    the Random run of the same seed (top; bar: mean over seeds, line: min–max) and the kept class density
    (bottom; dashed: the dataset density), one bar colour per quota. ``scorer_rows``: the study's rows of
    :func:`empirical.report.scorer_class_rows`; ``None`` without any at ``density``."""
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
            top.bar(xs, mean, width, color=f"C{i}", label=f"{rs[0]['method']} ({_n_seeds(rs[0]['n_pairs'])})")
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


def _n_seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


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
        parts.append(f"{m} ({_n_seeds(rs[0]['n_pairs'])}): largest recall drop {hit['class_name']} "
                     f"{hit['recall_change_mean']:+.3f}, most pruned {pruned['class_name']} "
                     f"(kept {pruned['kept_density_mean']:.2f})")
    return (f"The scorer study at d = {density:g}, {study['label']}: one column per scorer; colours: the "
            "scorer without class quotas and with each quota. Top: per class, test recall minus that of the "
            "Random run of the same seed and density (bar: mean over seeds; line: min–max); below 0 the "
            "scorer costs that class recall. Bottom: the class density each method kept (mean over seeds; a "
            "dynamic score, its mean over epochs); dashed: the dataset density d. " + "; ".join(parts) + ".")


def _has_pairs(summary) -> bool:
    return any(r["n_pairs"] for r in summary)


def _has_baseline(summary) -> bool:
    return any(r["method"] == "Random" and r["density"] != 1 for r in summary)


def _seeds(study: dict) -> str:
    return ", ".join(map(str, study["seeds"]))


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
                        f"({_n_seeds(full[0]['n_seeds'])}).")
    else:
        markers = len({mk for _, mk in method_styles(methods).values()}) > 1
        text = [f"Average (left) and worst-class (middle) test accuracy against the dataset density d, "
                f"{study['label']}, one colour {'and marker ' if markers else ''}per method "
                f"({', '.join(methods)}; the legend gives each method's seeds per cell): line, {seeds}; "
                "shaded band, min–max over seeds."]
        if full:
            text.append(f"Dashed black line, grey band and square at d = 1: training on all the data "
                        f"({_n_seeds(full[0]['n_seeds'])}).")
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


# ----------------------------------------------------------------------------- the Pareto picture
def pareto_front(x, y) -> np.ndarray:
    """Which points are on the Pareto front when higher is better in both coordinates: a boolean mask,
    ``True`` where no other point has ``x`` and ``y`` at least as high with one of them strictly higher.
    Points equal in both coordinates do not dominate each other (both stay on the front if nothing else
    dominates them). ``x``, ``y``: 1-d arrays of the same length, finite."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-d arrays of the same length, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite")
    at_least = (x[None, :] >= x[:, None]) & (y[None, :] >= y[:, None])   # [i, j]: j at least as good as i
    strictly = (x[None, :] > x[:, None]) | (y[None, :] > y[:, None])
    return ~(at_least & strictly).any(axis=1)


def _pareto_panels(summary) -> list[tuple[float, list[dict]]]:
    """``(density, rows)`` of every density with at least two methods, in order of density."""
    by_density = defaultdict(list)
    for r in summary:
        by_density[r["density"]].append(r)
    return [(d, rs) for d, rs in sorted(by_density.items()) if len({r["method"] for r in rs}) >= 2]


def _front_rows(rows) -> list[dict]:
    """The rows on the Pareto front of their means, by increasing average accuracy."""
    mask = pareto_front([r["accuracy_mean"] for r in rows], [r["worst_class_mean"] for r in rows])
    return sorted((r for r, on in zip(rows, mask) if on), key=lambda r: (r["accuracy_mean"],
                                                                        -r["worst_class_mean"]))


def _zoom_window(rows, front):
    """Limits ``(x0, x1, y0, y1)`` around the front's means (padded by half their spread, at least 0.015,
    within the span of all the means, plus a margin), or ``None`` when a zoom would not help: every
    method's mean already lies inside them, or they cover more than :data:`_ZOOM_AREA` of the area the
    means span."""
    fx = np.array([r["accuracy_mean"] for r in front])
    fy = np.array([r["worst_class_mean"] for r in front])
    ax_ = np.array([r["accuracy_mean"] for r in rows])
    ay = np.array([r["worst_class_mean"] for r in rows])
    px, py = max(np.ptp(fx) / 2, 0.015), max(np.ptp(fy) / 2, 0.015)
    x0, x1 = max(fx.min() - px, ax_.min()), min(fx.max() + px, ax_.max())
    y0, y1 = max(fy.min() - py, ay.min()), min(fy.max() + py, ay.max())
    inside = (ax_ >= x0) & (ax_ <= x1) & (ay >= y0) & (ay <= y1)
    area = (x1 - x0) * (y1 - y0) / max(np.ptp(ax_) * np.ptp(ay), 1e-12)
    if inside.all() or area > _ZOOM_AREA:
        return None
    mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)  # room for the markers and numbers at the edges
    return x0 - mx, x1 + mx, y0 - my, y1 + my


#: a panel gets a zoom on its front when the front's neighbourhood covers at most this share of the area
#: spanned by the methods' means
_ZOOM_AREA = 0.35


#: where a point's number goes, in points from the point (tried in this order, first free one wins)
_LABEL_OFFSETS = ((5, 5), (5, -11), (-11, 5), (-11, -11), (7, -3), (-13, -3), (-3, 7), (-3, -13),
                  (12, 10), (-18, 10), (12, -16), (-18, -16))


def _draw_pareto_panel(ax, rows, number, colour, limits=None) -> None:
    """One density: every method's mean with min–max bars, its number beside it (placed away from the
    other points and numbers), the front as a black line through bold markers."""
    from matplotlib.ticker import MaxNLocator

    front = _front_rows(rows)
    on = {r["method"] for r in front}
    for r in rows:
        m = r["method"]
        x, y = r["accuracy_mean"], r["worst_class_mean"]
        ax.errorbar([x], [y], xerr=[[max(x - r["accuracy_min"], 0.0)], [max(r["accuracy_max"] - x, 0.0)]],
                    yerr=[[max(y - r["worst_class_min"], 0.0)], [max(r["worst_class_max"] - y, 0.0)]],
                    fmt="none",
                    ecolor=colour[m], elinewidth=0.9, alpha=0.55, capsize=2, zorder=2)
        if m in on:
            ax.plot([x], [y], "o", color=colour[m], ms=9, mec="k", mew=2.0, zorder=4)
        else:
            ax.plot([x], [y], "o", color=colour[m], ms=6, mec="w", mew=0.6, alpha=0.9, zorder=3)
    ax.plot([r["accuracy_mean"] for r in front], [r["worst_class_mean"] for r in front], "-", color="k",
            lw=1.3, zorder=3.5)
    if limits is not None:
        ax.set_xlim(limits[0], limits[1])
        ax.set_ylim(limits[2], limits[3])
    else:
        ax.margins(0.08)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width, height = ax.figure.get_size_inches() * 72 / np.array(ax.get_gridspec().get_geometry()[::-1])

    def pts(x, y):                                   # a data point in (approximate) points of the panel
        return np.array([(x - x0) / (x1 - x0) * width * 0.8, (y - y0) / (y1 - y0) * height * 0.75])

    visible = [r for r in rows if x0 <= r["accuracy_mean"] <= x1 and y0 <= r["worst_class_mean"] <= y1]
    dots = [pts(r["accuracy_mean"], r["worst_class_mean"]) for r in visible]
    placed = []
    for r in sorted(visible, key=lambda r: r["method"] not in on):        # the front's numbers first
        p = pts(r["accuracy_mean"], r["worst_class_mean"])
        best, best_clear = None, -1.0
        for off in _LABEL_OFFSETS:
            c = p + np.array(off) + np.array([3.0, 3.0])                  # the number's centre
            clear = min([np.linalg.norm(c - d) for d in dots] + [np.linalg.norm(c - q) * 1.3 for q in placed]
                        + [1e9])
            if clear > best_clear + 1e-9:
                best, best_clear = off, clear
            if clear >= 9.0:
                break
        placed.append(p + np.array(best) + np.array([3.0, 3.0]))
        ax.annotate(str(number[r["method"]]), (r["accuracy_mean"], r["worst_class_mean"]), xytext=best,
                    textcoords="offset points", fontsize=8, zorder=5, annotation_clip=True,
                    fontweight="bold" if r["method"] in on else "normal")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.yaxis.set_major_locator(MaxNLocator(7))
    ax.grid(alpha=0.3)


def pareto_figure(summary, study: dict):
    """The Pareto picture of a study: one panel per density with at least two methods (``None`` without
    any), average test accuracy (x) against worst-class test accuracy (y) per method (mean over seeds;
    bars: min–max over seeds), numbered (the legend names them), the Pareto front of the means
    (:func:`pareto_front`) as a black line through bold markers; where methods lie far from the front,
    a second row zooms on its neighbourhood. ``summary``: the study's rows of
    :func:`empirical.report.summarise`."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    panels = _pareto_panels(summary)
    if not panels:
        return None
    methods = list(dict.fromkeys(r["method"] for _, rs in panels for r in rs))
    number = {m: i + 1 for i, m in enumerate(methods)}
    cmap = "tab10" if len(methods) <= 10 else "tab20"
    colour = {m: colormaps[cmap](i % (10 if cmap == "tab10" else 20)) for i, m in enumerate(methods)}
    zooms = [_zoom_window(rs, _front_rows(rs)) for _, rs in panels]
    nrows = 2 if any(z is not None for z in zooms) else 1
    fig = Figure(figsize=(1.8 + 4.6 * len(panels), 0.6 + 4.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, len(panels), squeeze=False)
    for j, ((d, rs), zoom) in enumerate(zip(panels, zooms)):
        _draw_pareto_panel(axes[0, j], rs, number, colour)
        axes[0, j].set_title(f"d = {d:g}: all {len(rs)} methods", fontsize=10)
        if nrows == 2:
            if zoom is None:
                axes[1, j].set_axis_off()
                axes[1, j].text(0.5, 0.5, "no zoom: every method\nlies near the front", ha="center",
                                va="center", transform=axes[1, j].transAxes, fontsize=9, color="0.4")
            else:
                _draw_pareto_panel(axes[1, j], rs, number, colour, zoom)
                axes[1, j].set_title(f"d = {d:g}: zoom on the front", fontsize=10)
        for i in range(nrows):
            if axes[i, j].axison:
                axes[i, j].set(xlabel="average test accuracy", ylabel="worst-class test accuracy")
    handles = [Line2D([], [], marker="o", ls="none", color=colour[m], ms=7) for m in methods]
    fig.legend(handles, [f"{number[m]}  {m}" for m in methods], loc="outside right upper", fontsize=8,
               title="method (numbers)", title_fontsize=8)
    fig.suptitle(f"{study['label']}: the Pareto front (black line, bold markers)\nmean over seeds "
                 f"({_seeds(study)}); bars: min–max over seeds", fontsize=10)
    return fig


def pareto_caption(summary, study: dict) -> str | None:
    """The caption of :func:`pareto_figure` (Markdown, one paragraph), naming the front at each density;
    ``None`` when no density has two methods."""
    panels = _pareto_panels(summary)
    if not panels:
        return None
    zoomed = [d for d, rs in panels if _zoom_window(rs, _front_rows(rs)) is not None]
    fronts = []
    for d, rs in panels:
        front = _front_rows(rs)
        fronts.append(f"at d = {d:g} ({len(front)} of {len(rs)} methods): " + ", ".join(
            f"{r['method']} ({r['accuracy_mean']:.3f}, {r['worst_class_mean']:.3f})"
            for r in sorted(front, key=lambda r: -r["worst_class_mean"])))
    text = (f"The Pareto picture, {study['label']}: one panel per density with at least two methods "
            f"({', '.join(f'{d:g}' for d, _ in panels)}); per method, average test accuracy (x) against "
            "worst-class test accuracy (y), the mean over its seeds (dot, numbered as in the legend), with "
            "bars from the lowest to the highest seed in each direction (min–max over seeds; none with one "
            "seed). Black line and bold markers: the Pareto front of the means, the methods no other method "
            "dominates (higher is better in both; a method dominates another when its means are at least "
            "as high in both and higher in one, so methods tied in both stay on the front together).")
    if zoomed:
        text += (" Lower row, at d = " + ", ".join(f"{d:g}" for d in zoomed) + ": the same panel zoomed on "
                 "the front's neighbourhood, where the methods far below it would crowd the front.")
    return text + " Front (average, worst-class accuracy), from the highest worst class down: " + \
        "; ".join(fronts) + "."


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
    """Every figure of every study (``scorer_rows``: :func:`empirical.report.scorer_class_rows`, for the
    scorer figure); returns the files written."""
    out = Path(out)
    written = []
    for stem, _, _, draw in _figure_plan(summary, class_summary, studies, heatmap_density, scorer_rows):
        written += _save(draw(), out / stem)
    return written
