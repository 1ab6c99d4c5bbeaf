"""The figure of ``droplab empirical class-curves``: why DRoP is (or is not) far from the best on a dataset.

Three panels from :class:`empirical.class_curves.ClassCurves` and one
:class:`~empirical.class_curves.ClassEffect` (documentation site, "Across datasets", "Why"):

(a) every class's measured learning curve: test recall against the samples it kept (log scale), the
    mean of each of eight bins of the runs; a large marker where DRoP put the class (its mean count and
    recall at the effect's density, over the seeds that kept it); a cross at the left edge: its mean
    recall in the seeds where DRoP kept none of it;
(b) what the curves say against what DRoP assumes: each class's gain per doubling (with its interval)
    against the query model's recall (DRoP keeps a class in proportion to :math:`1-r_k`);
(c) what DRoP did to each class against random pruning: the first-order change the curves predict
    from the doublings it gave or took (x) against the measured change (y, 95% paired t interval over
    seeds), with the identity line; a class deleted in some seeds (no number of doublings) is a cross at
    the left edge.

Plotting only: the numbers come from :mod:`empirical.class_curves`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gaussian_theory.atomic import atomic_write

__all__ = ["class_curves_figure", "class_curves_caption", "binned_curve", "write_class_curves"]


def binned_curve(counts, recalls, n_bins: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Mean log2 count and mean recall of up to ``n_bins`` quantile bins of one class's runs with a
    positive count (the line of panel a). Returns two arrays of equal length (empty without such runs)."""
    counts = np.asarray(counts, dtype=float)
    recalls = np.asarray(recalls, dtype=float)
    ok = counts > 0
    if not ok.any():
        return np.empty(0), np.empty(0)
    x = np.log2(counts[ok])
    y = recalls[ok]
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1)))
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(edges.size - 2, 0))
    n = np.bincount(index)
    used = n > 0
    return (np.bincount(index, weights=x)[used] / n[used], np.bincount(index, weights=y)[used] / n[used])


def class_curves_figure(curves, effect, title: str | None = None):
    """The three panels (module docstring) as a matplotlib ``Figure`` (not attached to pyplot)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    c, e = curves, effect
    k_classes = c.n_classes
    colours = colormaps["tab10" if k_classes <= 10 else "tab20"]
    fig = Figure(figsize=(15.5, 4.9), layout="constrained")
    ax_curve, ax_gain, ax_effect = fig.subplots(1, 3)
    drop_rows = np.array([i for i, (m, d) in enumerate(zip(c.methods, c.densities))
                          if m == e.method and np.isclose(d, e.density)])
    x_min = np.log2(max(c.counts[c.counts > 0].min(), 1.0))
    for k in range(k_classes):
        colour = colours(k % colours.N)
        bx, by = binned_curve(c.counts[:, k], c.recalls[:, k])
        ax_curve.plot(2.0 ** bx, by, "-", color=colour, lw=1.4, label=str(c.class_names[k]))
        kept = c.counts[drop_rows, k]
        none = kept == 0
        if none.any():   # deleted in some seeds: its recall there, at the left edge
            ax_curve.plot(2.0 ** (x_min - 0.5), c.recalls[drop_rows[none], k].mean(), "X", color=colour,
                          ms=11, mec="black")
        if (~none).any():
            ax_curve.plot(kept[~none].mean(), c.recalls[drop_rows[~none], k].mean(), "o", color=colour, ms=9,
                          mec="black")
    ax_curve.set_xscale("log", base=2)
    ax_curve.set_xlabel("samples kept of the class (log scale)")
    ax_curve.set_ylabel("test recall of the class")
    ax_curve.set_title(f"(a) learning curves; large markers: {e.method} at d = {e.density:g}", fontsize=10)
    ax_curve.legend(fontsize=7, ncol=2, loc="lower right")

    lo, hi = c.slope_intervals[:, 0], c.slope_intervals[:, 1]
    for k in range(k_classes):
        colour = colours(k % colours.N)
        ax_gain.errorbar(c.query_recalls[k], c.slopes[k],
                         yerr=[[c.slopes[k] - lo[k]], [hi[k] - c.slopes[k]]], fmt="o", color=colour,
                         mec="black", capsize=2)
        ax_gain.annotate(str(c.class_names[k])[:10], (c.query_recalls[k], c.slopes[k]), fontsize=7,
                         xytext=(4, 3), textcoords="offset points")
    ax_gain.set_xlabel("query model's validation recall r (DRoP keeps ∝ 1 − r)")
    ax_gain.set_ylabel("gain of test recall per doubling of the class")
    ax_gain.set_title(f"(b) what each class gains from its data (Spearman 1 − r vs gain "
                      f"{c.error_gain_correlation:+.2f})", fontsize=10)
    ax_gain.axhline(0.0, color="grey", lw=0.6)

    finite = e.n_deleted == 0
    shown = np.r_[e.predicted[finite], e.measured]
    span = [np.nanmin(shown), np.nanmax(shown)]
    edge = span[0] - 0.08 * (span[1] - span[0] + 1e-9)
    for k in range(k_classes):
        colour = colours(k % colours.N)
        x = e.predicted[k] if finite[k] else edge
        m_lo, m_hi = e.measured_intervals[k]
        ax_effect.errorbar(x, e.measured[k], yerr=[[e.measured[k] - m_lo], [m_hi - e.measured[k]]],
                           fmt="o" if finite[k] else "X", color=colour, mec="black", capsize=2,
                           ms=6 if finite[k] else 10)
        gone = "" if finite[k] else f" (deleted in {e.n_deleted[k]}/{len(e.seeds)})"
        label = str(c.class_names[k])[:10] + gone
        ax_effect.annotate(label, (x, e.measured[k]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax_effect.plot(span, span, "--", color="grey", lw=0.8)
    ax_effect.axhline(0.0, color="grey", lw=0.6)
    ax_effect.axvline(0.0, color="grey", lw=0.6)
    ax_effect.set_xlabel("predicted change: gain per doubling × doublings given")
    ax_effect.set_ylabel(f"measured change of test recall vs {e.baseline}")
    ax_effect.set_title(f"(c) {e.method} against {e.baseline}, d = {e.density:g}, {len(e.seeds)} seeds",
                        fontsize=10)
    fig.suptitle(title or f"{c.dataset} / {c.model}: what DRoP's rule does to each class", fontsize=11)
    return fig


def class_curves_caption(curves, effect) -> str:
    """The figure's caption, its numbers read from ``curves`` and ``effect`` (so none is copied by hand)."""
    c, e = curves, effect
    names = [str(n) for n in c.class_names]
    n_seeds = np.unique(c.seeds).size
    kept = e.n_deleted == 0
    order = np.argsort(np.where(kept, e.doublings, np.inf))
    took = [k for k in order if kept[k] and e.doublings[k] < 0][:3]
    gave = [k for k in order[::-1] if kept[k] and e.doublings[k] > 0][:3]

    def cls(k):
        lo, hi = e.measured_intervals[k]
        return (f"{names[k]} ({e.doublings[k]:+.2f} doublings, gain {c.slopes[k]:+.3f}, measured "
                f"{e.measured[k]:+.3f} [{lo:+.3f}, {hi:+.3f}])")

    held = "at a fixed total" if c.at_fixed_total else "with the total not held fixed"
    rough = "; rough with fewer than 5 seeds" if n_seeds < 5 else ""
    parts = [f"{c.dataset} / {c.model}, {len(c.seeds)} random-within-class runs of {n_seeds} seeds (every "
             f"allocation and pilot). (a) Each class's test recall against the samples it kept (log "
             f"scale; mean of eight bins of the runs); large markers: {e.method} at d = {e.density:g} "
             f"(mean over {len(e.seeds)} seeds), crosses at the left edge: seeds where it kept none of the "
             f"class. (b) Each class's gain of test recall per doubling of its samples {held} (least "
             f"squares over the runs; bars: 95% bootstrap over seeds{rough}) against the query model's "
             f"validation recall r, which DRoP's rule reads (it keeps a class in proportion to 1 − r); "
             f"Spearman correlation of 1 − r with the gain {c.error_gain_correlation:+.2f}. (c) {e.method} "
             f"against {e.baseline} at d = {e.density:g}, paired by seed: the change of each class's recall "
             f"that its gain predicts from the doublings given (x) against the measured change (y; 95% "
             f"paired t interval over seeds); dashed: the identity."]
    if took:
        parts.append("It takes most from " + "; ".join(cls(k) for k in took) + ".")
    if gave:
        parts.append("It gives most to " + "; ".join(cls(k) for k in gave) + ".")
    if (~kept).any():
        parts.append("It deletes " + "; ".join(
            f"{names[k]} in {e.n_deleted[k]} of {len(e.seeds)} seeds (measured {e.measured[k]:+.3f})"
            for k in np.flatnonzero(~kept)) + ".")
    worst = int(np.argmin(e.measured))
    parts.append(f"Largest measured loss: {names[worst]} {e.measured[worst]:+.3f}.")
    a = e.agreement()
    parts.append(f"Predicted against measured change over the {a['n']} classes with a prediction: Pearson "
                 f"{a['r']:+.2f}, mean absolute error {a['mae']:.3f}, same sign {a['same_sign']} of {a['n']} "
                 f"(in-sample: the curves were fitted on runs that include these).")
    return " ".join(parts)


def write_class_curves(curves, effect, out_dir, stem: str | None = None) -> list[Path]:
    """Write the figure (``<stem>.png``, ``.pdf``; PDF without a creation date, so reruns are identical),
    ``<stem>.csv`` (one row per class: :meth:`ClassCurves.to_rows` with the effect's columns) and
    ``<stem>.md`` (a Markdown section: title, image, :func:`class_curves_caption`, files) into ``out_dir``;
    ``stem`` defaults to ``class_curves_<dataset>_<model>``. Returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or f"class_curves_{curves.dataset}_{curves.model}"
    fig = class_curves_figure(curves, effect)
    files = []
    for ext in ("png", "pdf"):
        meta = {"CreationDate": None} if ext == "pdf" else {}
        files.append(atomic_write(out_dir / f"{stem}.{ext}",
                                  lambda tmp, ext=ext, meta=meta: fig.savefig(tmp, format=ext, dpi=150,
                                                                              metadata=meta)))
    rows = curves.to_rows()
    for k, row in enumerate(rows):
        row.update({"effect_method": effect.method, "effect_baseline": effect.baseline,
                    "effect_density": effect.density, "doublings": float(effect.doublings[k]),
                    "seeds_deleted": int(effect.n_deleted[k]), "predicted_change": float(effect.predicted[k]),
                    "measured_change": float(effect.measured[k]),
                    "measured_low": float(effect.measured_intervals[k, 0]),
                    "measured_high": float(effect.measured_intervals[k, 1])})
    cols = list(rows[0])

    def cell(v):
        if isinstance(v, float):
            return f"{v:.6g}"
        text = str(v)
        return f'"{text}"' if ("," in text or '"' in text) else text

    text = "\n".join([",".join(cols)] + [",".join(cell(r[c]) for c in cols) for r in rows]) + "\n"
    files.append(atomic_write(out_dir / f"{stem}.csv",
                              lambda tmp: Path(tmp).write_text(text, encoding="utf-8")))
    title = f"Learning curves and DRoP's trade: {curves.dataset}/{curves.model}"
    section = (f"### {title}\n\n![{title}]({stem}.png)\n\n{class_curves_caption(curves, effect)}\n\n"
               f"Files: `{stem}.png`, `{stem}.pdf`, `{stem}.csv`.\n")
    files.append(atomic_write(out_dir / f"{stem}.md",
                              lambda tmp: Path(tmp).write_text(section, encoding="utf-8")))
    return files
