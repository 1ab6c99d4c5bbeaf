"""Figures of ``droplab empirical report`` (matplotlib ``Figure`` objects, no pyplot, no global state).

Per study (:func:`empirical.report.group_runs`):

* ``accuracy_<dataset>_<model>_<recipe>[_<study>].{png,pdf}``: average and worst-class test accuracy
  against the dataset density per method (line: mean over seeds; band: min–max over seeds; dots: the
  seeds), the full-data runs (d = 1) as a dashed reference line with their min–max band, and the paired
  worst-class difference against Random of the same seed (mean, bars: min–max over seeds);
* ``recalls_<dataset>_<model>_<recipe>[_<study>]_d<density>.{png,pdf}``: per-class test recall (mean over
  seeds) at one density (default 0.5), methods × classes.

Files are written atomically (:func:`gaussian_theory.atomic.atomic_write`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from gaussian_theory.atomic import atomic_write

__all__ = ["accuracy_figure", "recall_heatmap", "write_figures"]


def _save(fig, stem: Path) -> list[Path]:
    out = []
    for ext in ("png", "pdf"):
        meta = {"CreationDate": None} if ext == "pdf" else {}
        out.append(atomic_write(stem.with_name(f"{stem.name}.{ext}"),
                                lambda tmp, ext=ext, meta=meta: fig.savefig(tmp, format=ext, dpi=150,
                                                                            metadata=meta)))
    return out


def accuracy_figure(summary, study: dict):
    """Three panels: average and worst-class accuracy against density, paired worst-class gain over
    Random. ``summary``: the study's rows of :func:`empirical.report.summarise`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    full = [r for r in summary if r["density"] == 1 and r["method"] == "Random"]
    by_method = defaultdict(list)
    for r in summary:
        if not (r["density"] == 1 and r["method"] == "Random"):
            by_method[r["method"]].append(r)
    for ax, m in zip(axes[:2], ("accuracy", "worst_class")):
        for f in full:
            ax.axhline(f[f"{m}_mean"], color="k", ls="--", lw=1,
                       label=f"full data (d = 1), {f['n_seeds']} seeds")
            ax.axhspan(f[f"{m}_min"], f[f"{m}_max"], color="k", alpha=0.08)
            ax.errorbar([1.0], [f[f"{m}_mean"]], yerr=[[f[f"{m}_mean"] - f[f"{m}_min"]],
                                                       [f[f"{m}_max"] - f[f"{m}_mean"]]],
                        fmt="s", color="k", ms=4, capsize=3)
    for i, (method, rs) in enumerate(by_method.items()):
        rs = sorted(rs, key=lambda r: r["density"])
        col = f"C{i % 10}"
        d = np.array([r["density"] for r in rs])
        for ax, m in zip(axes[:2], ("accuracy", "worst_class")):
            mean = np.array([r[f"{m}_mean"] for r in rs])
            ax.plot(d, mean, "o-", color=col, ms=4, label=method)
            ax.fill_between(d, [r[f"{m}_min"] for r in rs], [r[f"{m}_max"] for r in rs], color=col,
                            alpha=0.18, lw=0)
        paired = [r for r in rs if r["n_pairs"]]
        if paired:
            dp = np.array([r["density"] for r in paired])
            mean = np.array([r["paired_worst_class_diff_mean"] for r in paired])
            lo = mean - np.array([r["paired_worst_class_diff_min"] for r in paired])
            hi = np.array([r["paired_worst_class_diff_max"] for r in paired]) - mean
            axes[2].errorbar(dp + 0.006 * (i - len(by_method) / 2), mean, yerr=[lo, hi], fmt="o-", color=col,
                             ms=4, capsize=3, label=method)
    axes[2].axhline(0.0, color="k", lw=0.8)
    axes[0].set(xlabel="dataset density d", ylabel="average test accuracy")
    axes[1].set(xlabel="dataset density d", ylabel="worst-class test accuracy")
    axes[2].set(xlabel="dataset density d", ylabel="worst-class accuracy − Random (same seed)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    if axes[2].has_data():
        axes[2].legend(fontsize=8)
    seeds = ", ".join(map(str, study["seeds"]))
    fig.suptitle(f"{study['label']}: mean over seeds ({seeds}); bands and bars: min–max over seeds")
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


def write_figures(summary, class_summary, studies: dict, out: Path,
                  heatmap_density: float = 0.5) -> list[Path]:
    """Both figures for every study; returns the files written."""
    out = Path(out)
    written = []
    tags = {sid: "_".join(str(st["config"].get(k)) for k in ("dataset", "model", "recipe"))
            for sid, st in studies.items()}
    for sid, st in studies.items():
        tag = tags[sid] + (f"_{sid}" if list(tags.values()).count(tags[sid]) > 1 else "")
        fig = accuracy_figure([r for r in summary if r["study"] == sid], st)
        written += _save(fig, out / f"accuracy_{tag}")
        fig = recall_heatmap([r for r in class_summary if r["study"] == sid], st, heatmap_density)
        if fig is not None:
            written += _save(fig, out / f"recalls_{tag}_d{heatmap_density:g}")
    return written
