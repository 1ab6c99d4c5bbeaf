"""The predicted trade-off of ``droplab allocate --logits ... --plot FILE``: every allocation's predicted
balanced accuracy against its predicted worst-class recall, before training.

Not one of the theory figures of :data:`gaussian_theory.figures.FIGURES`: it draws a user's own query
model. The numbers come from :func:`gaussian_theory.recommend.predicted_tradeoff` (intervals: the
validation sample's noise only, not the query-to-final-model gap) and the recommended allocation from
:func:`gaussian_theory.recommend.recommend`; this module only draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .style import OKABE_ITO

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_tradeoff"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def plot_tradeoff(rows, recommended: str | None = None, *, second=None, title: str | None = None) -> Figure:
    """One point per allocation: predicted balanced accuracy (x) against predicted worst-class recall
    (y), bars from ``rows`` (:func:`~gaussian_theory.recommend.predicted_tradeoff`); the ``recommended``
    allocation ringed; ``second`` (rows of another predictor, e.g. ``finite_sample``) as hollow markers
    joined to the first by a thin line. When an allocation lies far from the best (e.g. minimax starving
    a class), a second panel zooms on those within 0.15 worst-class recall and 0.1 balanced accuracy of
    the best. Returns a matplotlib ``Figure`` not attached to pyplot."""
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("rows must hold at least one allocation")
    best_worst = max(r["worst_recall"] for r in rows)
    best_mean = max(r["mean_recall"] for r in rows)
    near = [r for r in rows if r["worst_recall"] >= best_worst - 0.15 and r["mean_recall"] >= best_mean - 0.1]
    zoom = 0 < len(near) < len(rows)      # an allocation far off would squash the others: a zoomed panel
    fig = Figure(figsize=(12.5 if zoom else 7.2, 5.4), layout="constrained")
    axes = fig.subplots(1, 2) if zoom else [fig.subplots()]
    for ax, shown in zip(axes, (rows, near)):
        _draw(ax, shown, rows, recommended, {r["allocation"]: r for r in (second or [])})
    if zoom:
        axes[1].set_title("zoomed on the allocations near the best", fontsize=9)
    note = ("Bars: 95% intervals of the validation sample's noise only; the trained network differs from the "
            "query model by more." + (" Hollow markers: the second predictor." if second else ""))
    fig.suptitle((title or "Predicted trade-off before training") + "\n" + note, fontsize=9)
    return fig


def _draw(ax, shown, rows, recommended, others) -> None:
    colours = list(OKABE_ITO.values())
    for r in shown:
        i = rows.index(r)
        c, m = colours[i % len(colours)], _MARKERS[i % len(_MARKERS)]
        x, y = r["mean_recall"], r["worst_recall"]
        ax.errorbar(x, y, xerr=[[x - r["mean_low"]], [r["mean_high"] - x]],
                    yerr=[[y - r["worst_low"]], [r["worst_high"] - y]], fmt=m, color=c, ms=8, mec="black",
                    capsize=2, label=f"{r['allocation']} (worst: class {r['worst_class']})")
        if r["allocation"] == recommended:
            ax.plot(x, y, "o", ms=20, mfc="none", mec="black", mew=1.5)
            ax.annotate("recommended", (x, y), xytext=(12, 10), textcoords="offset points", fontsize=8)
        o = others.get(r["allocation"])
        if o is not None and shown is rows:
            ax.plot([x, o["mean_recall"]], [y, o["worst_recall"]], "-", color=c, lw=0.7)
            ax.plot(o["mean_recall"], o["worst_recall"], m, color=c, mfc="none", ms=8)
    ax.set_xlabel("predicted balanced accuracy (mean recall over classes)")
    ax.set_ylabel("predicted worst-class recall")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
