"""The look shared by every figure: Okabe-Ito colours, one style per method, droplab's matplotlib
settings, and the small axis helpers (README, "Figures and notebooks").

matplotlib is imported inside the functions, so that importing :mod:`gaussian_theory.figures` stays
fast (the ``droplab`` command starts without it).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..two_gaussians import TwoGaussians

__all__ = ["OKABE_ITO", "METHOD_STYLE", "styled", "new_figure", "model_text", "ratio_axis", "log_risk_axis",
           "band"]

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies. Order as published.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}
_C = OKABE_ITO

# One look per method, shared by all figures.
METHOD_STYLE = {
    "uniform": dict(color=_C["black"], linestyle="-", marker="o", label="uniform random"),
    "drop": dict(color=_C["vermillion"], linestyle="--", marker="s", label="Random+DRoP"),
    "optimal": dict(color=_C["bluish green"], linestyle="-.", marker="^", label="worst-class optimal"),
    # The probit rule coincides with the optimum in the two-Gaussian model: drawn as markers only (no
    # line), so the optimum's line stays visible underneath.
    "probit": dict(color=_C["sky blue"], linestyle="none", marker="x", label="probit rule d_k ∝ φ(Φ⁻¹(r_k))"),
    "damped": dict(color=_C["reddish purple"], linestyle=(0, (3, 1, 1, 1, 1, 1)), marker="*",
                   label="damped DRoP d_k ∝ (1 − r_k)^α"),
    "minimax": dict(color=_C["bluish green"], linestyle="-.", marker="^",
                    label="minimax (worst-class optimal)"),
    "ssp": dict(color=_C["blue"], linestyle=":", marker="D", label="SSP margin pruning"),
    "random_same": dict(color=_C["reddish purple"], linestyle="--", marker="v",
                        label="random pruning, SSP's class densities"),
    "hardest": dict(color=_C["orange"], linestyle=(0, (5, 1, 1, 1)), marker="P",
                    label="keep-hardest score pruning"),
}

_RC = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.8,
    "lines.markersize": 4.5, "savefig.dpi": 150,
}


def styled(plot):
    """Run a ``plot_*`` function under droplab's matplotlib style (fonts, grid, spines)."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return plot(*args, **kwargs)

    return wrapper


def model_text(model: TwoGaussians) -> str:
    """``μ = (m0, m1), σ = (s0, s1), φ = (p0, p1)``: a two-Gaussian model in one line."""
    (m0, m1), (s0, s1), (p0, p1) = model.means, model.stds, model.priors
    return f"μ = ({m0:g}, {m1:g}), σ = ({s0:g}, {s1:g}), φ = ({p0:g}, {p1:g})"


def new_figure(width: float, height: float, title: str, params_line: str) -> Figure:
    """An unattached matplotlib Figure (no pyplot state) with a two-line title."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    fig.suptitle(f"{title}\n{params_line}", fontsize=10.5)
    return fig


def ratio_axis(ax, lo: float, hi: float) -> None:
    """Log-scale x axis for a prior ratio, with ticks at powers of two labelled as fractions."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [2.0 ** k for k in range(-8, 9) if lo <= 2.0 ** k <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v >= 1 else f"1/{1 / v:g}"))


def log_risk_axis(ax, ticks=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)) -> None:
    """Log-scale risk axis with plain-number tick labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(FixedLocator(list(ticks)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def band(ax, x, lo, hi, color) -> None:
    """A shaded confidence band between ``lo`` and ``hi``."""
    ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
