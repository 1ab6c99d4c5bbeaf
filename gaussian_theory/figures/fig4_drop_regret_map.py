r"""Figure 4: where Random+DRoP is near-optimal and where it overshoots, over class separation and std
ratio, with damped DRoP and the probit rule beside it (arXiv 2404.05579, Algorithm 1 and App. B.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..two_gaussians import TwoGaussians
from ..validation import check_density, check_real
from .registry import FigureResult
from .settings import Settings, resolve
from .style import new_figure, styled
from .table import Table, difference

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["REGRET_MAP_COLUMNS", "compute_regret_map", "regret_summary", "damped_crossings",
           "plot_regret_map", "caption", "build"]

REGRET_MAP_COLUMNS = ("separation", "std_ratio", "mu1", "sigma1", "d0_drop", "d1_drop", "d0_opt", "d1_opt",
                      "worst_uniform", "worst_drop", "worst_opt", "regret", "gain_captured",
                      "log2_ratio_drop_over_opt", "alpha", "d0_damped", "d1_damped", "worst_damped",
                      "regret_damped", "d0_probit", "d1_probit", "worst_probit", "regret_probit")


def compute_regret_map(separations=None, std_ratios=None, density: float | None = None,
                       alpha: float | None = None, settings: Settings | None = None) -> Table:
    r"""Worst-class regret of DRoP, damped DRoP and the probit rule over separation
    :math:`z=(\mu_1-\mu_0)/(\sigma_0+\sigma_1)` and std ratio :math:`\sigma_1/\sigma_0` (with
    :math:`\mu_0=0`, :math:`\sigma_0=1`, balanced priors).

    Per model (one row): worst-class risk of uniform pruning (= no pruning at population level),
    of Random+DRoP (:meth:`TwoGaussians.drop_densities`) and of the worst-class-optimal allocation
    (:meth:`TwoGaussians.worst_class_optimal_densities`) at ``density``; ``regret`` = DRoP −
    optimum; ``gain_captured`` = (uniform − DRoP)/(uniform − optimum) (1: optimal, 0: no better
    than uniform, < 0: worse); ``log2_ratio_drop_over_opt`` = log2 of DRoP's pruned prior ratio
    φ0'/φ1' over the optimal one (< 0: DRoP overshoots, giving the hard class too much data).
    Cells where the optimal allocation does not beat uniform (the closed form's global-optimality
    condition fails) get NaN for ``gain_captured``. Then the two other rules from the full-data
    recalls: damped DRoP :math:`d_k\propto(1-r_k)^\alpha` (``alpha``, the same in every row;
    ``drop_densities(density, alpha)``) and the probit rule :math:`d_k\propto\varphi(\Phi^{-1}(r_k))`
    (:meth:`TwoGaussians.probit_densities`): their class densities, worst-class risks and regrets
    against the optimum. Arguments left ``None`` come from ``settings`` (default:
    :class:`Settings` ``()``).
    """
    s = resolve(settings)
    separations = s.separation_grid() if separations is None else np.asarray(separations, float)
    std_ratios = s.std_ratio_grid() if std_ratios is None else np.asarray(std_ratios, float)
    density = check_density(s.regret_density if density is None else density)
    alpha = check_real(s.damped_alpha if alpha is None else alpha, "alpha", minimum=0.0)
    rows = []
    for r in std_ratios:
        for z in separations:
            model = TwoGaussians(means=(0.0, z * (1.0 + r)), stds=(1.0, r), priors=(0.5, 0.5))
            d_drop = model.drop_densities(density)
            d_opt = model.worst_class_optimal_densities(density)
            d_damp = model.drop_densities(density, alpha=alpha)
            d_prob = model.probit_densities(density)
            w_uni = float(model.worst_class_risk(model.optimal_threshold()))
            w_drop, w_opt, w_damp, w_prob = (float(model.pruned_risks(x).max())
                                             for x in (d_drop, d_opt, d_damp, d_prob))
            p_drop, p_opt = model.prune(d_drop).priors, model.prune(d_opt).priors
            gain = (w_uni - w_drop) / (w_uni - w_opt) if w_uni - w_opt > 1e-12 else np.nan
            # regrets by `difference`: a rule that is the optimum has regret 0, not a CPU-dependent 1e-16
            vals = (z, r, model.means[1], r, d_drop[0], d_drop[1], d_opt[0], d_opt[1], w_uni, w_drop, w_opt,
                    difference(w_drop, w_opt), gain,
                    np.log2(p_drop[0] / p_drop[1]) - np.log2(p_opt[0] / p_opt[1]),
                    alpha, d_damp[0], d_damp[1], w_damp, difference(w_damp, w_opt), d_prob[0], d_prob[1],
                    w_prob, difference(w_prob, w_opt))
            rows.append(dict(zip(REGRET_MAP_COLUMNS, vals)))
    return Table.from_rows(rows, REGRET_MAP_COLUMNS)


def regret_summary(table: Table) -> dict:
    """The caption's numbers, read from :func:`compute_regret_map`'s table: per rule (``uniform``,
    ``drop``, ``damped``, ``probit``) the mean and max regret against the optimum over the cells,
    the share of cells where it is worse than uniform pruning (by more than 1e-12), and the largest
    absolute regret of the probit rule (regrets by :func:`~gaussian_theory.figures.table.difference`, so
    a rounding residue of 0 is 0)."""
    opt, uni = table["worst_opt"], table["worst_uniform"]
    out = {"cells": len(table), "alpha": float(table["alpha"][0]) if len(table) else float("nan")}
    for rule, worst in (("uniform", uni), ("drop", table["worst_drop"]), ("damped", table["worst_damped"]),
                        ("probit", table["worst_probit"])):
        regret = difference(worst, opt)  # rounding residues of 0 are 0: the caption is CPU-independent
        out[rule] = {"mean": float(regret.mean()), "max": float(regret.max()),
                     "max_abs": float(np.abs(regret).max()),
                     "worse_than_uniform": float(np.mean(worst > uni + 1e-12))}
    return out


def damped_crossings(table: Table) -> np.ndarray:
    """Separations where damped DRoP's pruned prior ratio crosses the optimal one, one per std ratio
    that has a crossing (the midpoint of the two grid cells where log2(damped ratio / optimal ratio)
    changes sign): there its regret passes through 0, the dotted "islands" of panel (d)."""
    out = []
    for r in np.unique(table["std_ratio"]):
        row = table.where(std_ratio=r)
        order = np.argsort(row["separation"], kind="stable")
        z = row["separation"][order]
        log_ratio = (np.log2(row["d0_damped"] / row["d1_damped"])
                     - np.log2(row["d0_opt"] / row["d1_opt"]))[order]
        flips = np.flatnonzero(np.sign(log_ratio[:-1]) * np.sign(log_ratio[1:]) < 0)
        out += [0.5 * (z[i] + z[i + 1]) for i in flips]
    return np.array(out)


def _grid(table: Table, value: str):
    """``(separations, std ratios, values)`` of one column as a 2-D array (rows: std ratio)."""
    xs, ys = np.unique(table["separation"]), np.unique(table["std_ratio"])
    z = np.full((ys.size, xs.size), np.nan)
    ix = np.searchsorted(xs, table["separation"])
    iy = np.searchsorted(ys, table["std_ratio"])
    z[iy, ix] = table[value]
    return xs, ys, z


def _edges(v: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around grid centres ``v`` (midpoints, in log space if ``log``)."""
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return np.exp(e) if log else e


@styled
def plot_regret_map(table: Table, density: float) -> Figure:
    """Draw :func:`compute_regret_map`'s table: (a) DRoP's regret, (b) its share of the gain, (c) its
    overshoot, (d) the regret of damped DRoP on the colour scale of (a); the probit rule's regret
    (zero to rounding) is stated in the title of (d)."""
    from matplotlib.colors import LogNorm, Normalize, TwoSlopeNorm
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    summary = regret_summary(table)
    alpha = summary["alpha"]
    fig = new_figure(11.5, 9.0, "Figure 4. Where Random+DRoP is near-optimal, where it overshoots, and two "
                     "rules that do not",
                     f"μ0 = 0, σ0 = 1, balanced priors, dataset density d = {density:g}; "
                     "x: separation (μ1 − μ0)/(σ0 + σ1), y: std ratio σ1/σ0")
    axes = fig.subplots(2, 2).ravel()
    xs, ys, regret = _grid(table, "regret")
    _, _, gain = _grid(table, "gain_captured")
    _, _, over = _grid(table, "log2_ratio_drop_over_opt")
    _, _, damped = _grid(table, "regret_damped")
    xe, ye = _edges(xs, False), _edges(ys, True)

    both = np.concatenate([regret.ravel(), damped.ravel()])
    pos = both[both > 0]
    lo = max(pos.min(), 1e-6) if pos.size else 1e-6
    hi = max(both.max(), lo * 10)
    probit = f"probit rule: max |regret| {summary['probit']['max_abs']:.1e} (zero to rounding)"
    for ax, values, title in (
            (axes[0], regret, "(a) regret of DRoP (absolute)"),
            (axes[3], damped, f"(d) regret of damped DRoP, α = {alpha:g} (same scale as (a));\n{probit}")):
        im = ax.pcolormesh(xe, ye, np.clip(values, lo, None), cmap="cividis", norm=LogNorm(lo, hi),
                           shading="flat")
        fig.colorbar(im, ax=ax, label="worst-class risk: rule − optimum")
        levels = [lv for lv in (1e-4, 1e-3, 1e-2, 1e-1) if values.min() < lv < values.max()]
        if levels:
            cs = ax.contour(xs, ys, values, levels=levels, colors="white", linewidths=0.8)
            ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=7.5)
        ax.set_title(title)

    gmin = float(np.nanmin(gain)) if np.isfinite(gain).any() else -1.0
    norm = TwoSlopeNorm(vmin=min(-1.0, gmin) if gmin > -1 else -1.0, vcenter=0.0, vmax=1.0)
    im = axes[1].pcolormesh(xe, ye, np.clip(gain, -1.0, 1.0), cmap="PuOr", norm=norm, shading="flat")
    fig.colorbar(im, ax=axes[1], label="share of the attainable gain captured\n(clipped at −1)")
    cs = axes[1].contour(xs, ys, gain, levels=[0.0, 0.5], colors="black", linewidths=0.8)
    axes[1].clabel(cs, fmt={0.0: "0 (= uniform)", 0.5: "0.5"}, fontsize=7.5)
    axes[1].set_title("(b) DRoP: (uniform − DRoP) / (uniform − optimum)")

    omin, omax = min(float(np.nanmin(over)), -1e-3), float(np.nanmax(over))
    if omax > 0:  # both signs present: diverging around "exactly optimal"
        cmap, onorm = "PuOr", TwoSlopeNorm(vmin=omin, vcenter=0.0, vmax=max(omax, 1e-3))
    else:  # DRoP only ever overshoots here: sequential, light = optimal
        cmap, onorm = "cividis", Normalize(vmin=omin, vmax=0.0)
    im = axes[2].pcolormesh(xe, ye, over, cmap=cmap, norm=onorm, shading="flat")
    fig.colorbar(im, ax=axes[2], label="log2(DRoP prior ratio / optimal ratio)")
    cs = axes[2].contour(xs, ys, over, levels=[-1.0, -0.5, -0.25, -0.1], colors="white", linewidths=0.8)
    axes[2].clabel(cs, fmt=lambda v: f"{v:g}", fontsize=7.5)
    axes[2].set_title("(c) overshoot of DRoP's pruned prior φ0'/φ1'\n(< 0: too much data to the hard class)")
    for ax in axes:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(FixedLocator([1.1, 1.25, 1.5, 2, 3, 4]))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("separation (μ1 − μ0)/(σ0 + σ1)")
        ax.set_ylabel("std ratio σ1/σ0")
        ax.grid(False)
    return fig


def caption(table: Table, density: float) -> str:
    """The README caption; whether a class saturates at ``density`` and every regret statistic are
    read from ``table`` (:func:`regret_summary`)."""
    kept = np.concatenate([table[c] for c in ("d0_drop", "d1_drop", "d0_opt", "d1_opt")])
    saturation = "no class saturates" if kept.max() < 1.0 else "some classes are kept whole"
    f = regret_summary(table)
    u, dr, da, pr = f["uniform"], f["drop"], f["damped"], f["probit"]
    cross = damped_crossings(table)
    islands = "" if not cross.size else (
        f" The chain of small closed contours in (d) near separation {cross.min():.2f}–{cross.max():.2f} is "
        "real, not a plotting artefact: there damped DRoP's pruned prior ratio crosses the optimal one (at "
        "smaller separations it still gives the hard class too much data, at larger ones too little), so "
        "its regret falls to zero along a curve that the grid meets only at isolated cells.")
    return (
        "Worst-class regret of Random+DRoP, whose class densities are proportional to the class "
        "errors of the model trained on all data, against the worst-class-optimal allocation "
        "(pruned prior ratio σ0/σ1), over class separation and std ratio at dataset density "
        f"d = {density:g} ({saturation}). (a) The regret shrinks quickly with separation: for well "
        "separated classes DRoP is near-optimal; in the top-left corner DRoP's prior is so skewed "
        "that the learned threshold degenerates to -∞ (always predict the hard class). (b) The share "
        "of the attainable improvement over "
        "uniform pruning that DRoP captures falls below zero for overlapping classes with very "
        "different widths: there DRoP is worse than not re-allocating at all. (c) DRoP always "
        "moves data towards the hard class but overshoots: its pruned prior ratio R0/R1 is below "
        "the optimal σ0/σ1, increasingly so as the classes overlap. (d) Damped DRoP, "
        f"d_k ∝ (1 − r_k)^{f['alpha']:g}, on the same colour scale.{islands} "
        f"Over the {f['cells']} cells the mean "
        f"regret is {u['mean']:.4f} for uniform pruning, {dr['mean']:.4f} for DRoP (max {dr['max']:.2f}; "
        f"worse than uniform in {100 * dr['worse_than_uniform']:.0f}% of the cells) and {da['mean']:.4f} "
        f"for damped DRoP (max {da['max']:.4f}; worse than uniform in "
        f"{100 * da['worse_than_uniform']:.0f}% of the cells). The probit rule d_k ∝ φ(Φ⁻¹(r_k)), from the "
        "same full-data recalls, is the exact optimum of this model (at the full-data threshold "
        "π0 f0(t*) = π1 f1(t*) gives σ_k ∝ π_k φ(Φ⁻¹(r_k))): its largest |regret| over the grid is "
        f"{pr['max_abs']:.1e} (a difference below 1e-12 of the risks is a rounding residue, written as "
        "0). This exactness is specific to two one-dimensional "
        "Gaussians at the population level (Figure 6 has K = 10 classes)."
    )


def build(s: Settings) -> FigureResult:
    """Figure 4 at the settings ``s``."""
    d = s.regret_density
    nz, nr = s.regret_points
    table = compute_regret_map(settings=s)
    (z0, z1), (r0, r1) = s.separation_range, s.std_ratio_range
    return FigureResult(
        name="fig4_drop_regret_map",
        title="DRoP regret map",
        caption=caption(table, d),
        params={"grid": f"separation in [{z0:g}, {z1:g}] ({nz} points) x std ratio in [{r0:g}, {r1:g}] "
                        f"({nr} points, log)",
                "density": d, "damped DRoP alpha": s.damped_alpha, "mu0": 0, "sigma0": 1,
                "priors": "(0.5, 0.5)"},
        table=table,
        figure=plot_regret_map(table, d),
    )
