r"""Figure 1: class, average and worst-class risk of the average-risk minimiser
:math:`t^*(\phi_0'/\phi_1')` against the training prior (arXiv 2404.05579, §4 and App. B.1-B.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..two_gaussians import TwoGaussians
from ..validation import check_density, check_int, check_real
from .registry import FigureResult
from .settings import Settings, reference_model, resolve
from .style import OKABE_ITO as _C
from .style import model_text, new_figure, ratio_axis, styled
from .table import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["compute_risks_vs_prior", "plot_risks_vs_prior", "caption", "build"]


def compute_risks_vs_prior(model: TwoGaussians | None = None, points: int | None = None,
                           log_ratio_max: float | None = None, drop_density: float | None = None,
                           settings: Settings | None = None) -> Table:
    r"""Class, average and worst-class risk of :math:`t^*(\phi_0'/\phi_1')` vs the training prior.

    Rows with ``kind == "grid"`` sweep :math:`\log(\phi_0'/\phi_1')` over
    ``[-log_ratio_max, log_ratio_max]`` (``points`` values); three more rows mark the true prior, the
    worst-class optimal prior :math:`\sigma_0/(\sigma_0+\sigma_1)` and the prior after Random+DRoP at
    ``drop_density``. Risks are on the true (unpruned) distribution; ``average`` uses its priors.
    :math:`\phi_0' = 1/(1 + \phi_1'/\phi_0')`. Arguments left ``None`` come from
    ``settings`` (default: :class:`Settings` ``()``).
    """
    s = resolve(settings)
    model = model or reference_model()
    points = check_int(s.prior_points if points is None else points, "points", minimum=2)
    log_ratio_max = check_real(s.log_ratio_max if log_ratio_max is None else log_ratio_max, "log_ratio_max",
                               minimum=0.0, strict_minimum=True)
    drop_density = check_density(s.drop_density if drop_density is None else drop_density, "drop_density")
    log_ratio = np.linspace(-log_ratio_max, log_ratio_max, points)
    kinds = ["grid"] * points
    marks = {
        "true prior": model.priors,
        "worst-class optimal": model.worst_class_optimal_priors(),
        "DRoP": model.prune(model.drop_densities(drop_density)).priors,
    }
    log_ratio = np.concatenate([log_ratio, [np.log(p[0] / p[1]) for p in marks.values()]])
    kinds += list(marks)
    phi0 = 1.0 / (1.0 + np.exp(-log_ratio))  # not scipy's expit: the committed figures used this
    priors = np.stack([phi0, 1.0 - phi0], axis=-1)
    t = model.optimal_threshold(priors)
    risks = model.class_risks(t)
    return Table({
        "kind": kinds, "log_prior_ratio": log_ratio, "prior_ratio": np.exp(log_ratio), "phi0": phi0,
        "threshold": t, "R0": risks[:, 0], "R1": risks[:, 1],
        "average_risk": model.average_risk(t), "worst_class_risk": model.worst_class_risk(t),
    })


@styled
def plot_risks_vs_prior(table: Table, model: TwoGaussians, drop_density: float) -> Figure:
    """Draw :func:`compute_risks_vs_prior`'s table: (a) the full range, (b) a zoom near the optimum."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    fig = new_figure(11.0, 5.0,
                     "Figure 1. Risks of the average-risk minimiser t*(φ0'/φ1') vs the training prior",
                     f"{model_text(model)}; DRoP marker at dataset density d = {drop_density:g}")
    axes = fig.subplots(1, 2)
    g = table.where(kind="grid")
    x = g["prior_ratio"]
    marks = [("true prior", _C["black"], "o"), ("worst-class optimal", _C["bluish green"], "^"),
             ("DRoP", _C["vermillion"], "s")]
    mark_rows = {kind: next(table.where(kind=kind).rows()) for kind, _, _ in marks}
    for ax in axes:
        ax.plot(x, g["worst_class_risk"], color="0.55", lw=7, alpha=0.45, solid_capstyle="butt",
                label="worst-class risk max(R0, R1)")
        ax.plot(x, g["R0"], color=_C["sky blue"], label="$R_0$ (class 0, easy)")
        ax.plot(x, g["R1"], color=_C["orange"], linestyle="--", label="$R_1$ (class 1, hard)")
        ax.plot(x, g["average_risk"], color=_C["black"], linestyle=":", label="average risk (true priors)")
        for kind, color, marker in marks:
            row = mark_rows[kind]
            ax.axvline(row["prior_ratio"], color=color, lw=0.9, alpha=0.6)
            ax.plot(row["prior_ratio"], row["worst_class_risk"], marker=marker, color=color, ms=8,
                    linestyle="none", markeredgecolor="white", zorder=5,
                    label=f"{kind}: φ0'/φ1' = {row['prior_ratio']:.3g} "
                          f"(worst-class risk {row['worst_class_risk']:.4f})")
        ax.set_xlabel("training prior ratio φ0'/φ1' (log scale)")
    ratio_axis(axes[0], x.min(), x.max())
    axes[0].set_yscale("log")
    axes[0].set_ylim(2e-3, 0.5)
    axes[0].set_ylabel("risk on the true distribution (log scale)")
    axes[0].set_title("(a) full range")
    # (b) zoom on the crossing, linear risk axis.
    lo, hi = 0.2, 2.0
    ratio_axis(axes[1], lo, hi)
    axes[1].xaxis.set_major_locator(FixedLocator([0.25, 1 / 3, 0.5, 2 / 3, 1, 1.5, 2]))
    axes[1].xaxis.set_major_formatter(FuncFormatter(lambda v, _: {0.25: "1/4", 1 / 3: "1/3", 0.5: "1/2",
                                                                  2 / 3: "2/3"}.get(v, f"{v:g}")))
    inside = (x >= lo) & (x <= hi)
    top = max(g["worst_class_risk"][inside].max(), g["average_risk"][inside].max())
    axes[1].set_ylim(0, 1.1 * top)
    axes[1].set_ylabel("risk on the true distribution")
    axes[1].set_title("(b) zoom near the optimum (linear risk axis)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
    return fig


def caption(table: Table, model: TwoGaussians) -> str:
    """The README caption; the optimal prior ratio and its risk are read from ``table``."""
    opt = table.where(kind="worst-class optimal")
    return (
        "Class risks R0 and R1, average risk and worst-class risk of the average-risk minimiser "
        "t*(φ0'/φ1') learned at training prior φ0'/φ1', evaluated on the true distribution "
        f"({model_text(model)}). Moving data towards the hard, wide class 1 (left) trades R0 for R1; "
        "the worst-class risk is minimised where the two cross, at the worst-class-optimal prior "
        f"φ0'/φ1' = σ0/σ1 = {float(opt['prior_ratio'][0]):.3g}, where average and worst-class risk "
        f"coincide ({float(opt['worst_class_risk'][0]):.4f}). DRoP's error-proportional prior "
        "R0/R1 of the full-data model lies to the left of it: the right direction, slightly too far."
    )


def build(s: Settings) -> FigureResult:
    """Figure 1 at the settings ``s``."""
    model = reference_model()
    table = compute_risks_vs_prior(model, settings=s)
    L = s.log_ratio_max
    return FigureResult(
        name="fig1_risks_vs_prior",
        title="Risks vs training prior",
        caption=caption(table, model),
        params={"model": repr(model), "log prior-ratio grid": f"[{-L:g}, {L:g}], {s.prior_points} points",
                "DRoP density": s.drop_density},
        table=table,
        figure=plot_risks_vs_prior(table, model, s.drop_density),
    )
