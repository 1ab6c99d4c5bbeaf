"""The Pareto picture of ``droplab empirical report``: average against worst-class test accuracy.

``pareto_<dataset>_<model>_<recipe>[_<study>].{png,pdf}`` (:func:`pareto_figure`,
:func:`pareto_caption`), when some density has at least two methods: one panel per such density,
average test accuracy (x) against worst-class test accuracy (y) of every method (mean over seeds; bars:
min–max over seeds in both directions; numbered, with a legend), the Pareto front (:func:`pareto_front`:
no other method is at least as good in both means and better in one) joined by a line with bold markers;
where the methods spread far beyond the front, a second row zooms on the front's neighbourhood.

From the study's rows of :func:`empirical.report_comparisons.summarise`; planned and written by
:mod:`empirical.report_figures` (documentation site, "CIFAR-10: whitenet-256", the Pareto picture).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .report_figures_labels import seeds_text

__all__ = ["pareto_front", "pareto_figure", "pareto_caption"]


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
    :func:`empirical.report_comparisons.summarise`."""
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
                 f"({seeds_text(study)}); bars: min–max over seeds", fontsize=10)
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
