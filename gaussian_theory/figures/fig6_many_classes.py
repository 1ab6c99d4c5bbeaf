r"""Figure 6: many classes. Per-class recalls of the Bayes rule learned after uniform, DRoP and minimax
allocations of a K-class isotropic Gaussian mixture (arXiv 2404.05579, §4 and Algorithm 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..validation import check_density, check_int, check_real
from .registry import FigureResult
from .settings import Settings, resolve, subseed
from .style import METHOD_STYLE, new_figure, styled
from .table import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..mixture import GaussianMixture

__all__ = ["MANY_CLASSES_COLUMNS", "many_classes_mixture", "compute_many_classes", "plot_many_classes",
           "caption", "build"]

MANY_CLASSES_COLUMNS = ("density", "method", "class", "sigma", "class_density", "pruned_prior", "recall",
                        "recall_se", "worst_class_risk", "average_risk")
_MIXTURE_METHODS = {"uniform": "uniform", "DRoP": "drop", "minimax": "minimax"}


def many_classes_mixture(n_classes: int | None = None, separation: float | None = None, std_range=None,
                         settings: Settings | None = None) -> GaussianMixture:
    r"""The Figure 6 mixture: K isotropic classes in p = K dimensions with means
    ``separation * e_k`` (every pair equally far apart, :math:`\sqrt2\,` ``separation``), balanced
    priors, and standard deviations spread geometrically over ``std_range``, so class difficulty
    comes from the variances alone (class k is harder than class k - 1). Arguments left ``None``
    come from ``settings`` (default: :class:`Settings` ``()``)."""
    from ..mixture import GaussianMixture

    s = resolve(settings)
    n_classes = check_int(s.n_classes if n_classes is None else n_classes, "n_classes", minimum=2)
    separation = check_real(s.class_separation if separation is None else separation, "separation",
                            minimum=0.0, strict_minimum=True)
    std_range = s.std_range if std_range is None else std_range
    return GaussianMixture(separation * np.eye(n_classes), stds=np.geomspace(*std_range, n_classes))


def compute_many_classes(mixture=None, densities=None, n_mc: int | None = None, seed: int = 0,
                         settings: Settings | None = None) -> Table:
    r"""Class recalls of the Bayes rule learned after uniform, DRoP and minimax allocations.

    Per ``density``, :meth:`GaussianMixture.compare_allocations` (same Monte Carlo draws for every
    allocation; ``n_mc`` per class; ``seed``); one row per (density, method, class). ``method`` is
    ``uniform``, ``drop`` or ``minimax`` (pruned priors equal to the worst-class-optimal priors,
    water-filled when a class saturates, which is exact for K = 2 and a heuristic for K > 2);
    ``recall`` = 1 − class risk. Arguments left ``None`` come from ``settings`` (default:
    :class:`Settings` ``()``).
    """
    s = resolve(settings)
    mixture = mixture or many_classes_mixture(settings=s)
    densities = s.mixture_densities if densities is None else densities
    densities = [check_density(d, "densities") for d in densities]
    n_mc = check_int(s.mixture_mc if n_mc is None else n_mc, "n_mc", minimum=1)
    rows = []
    for d in densities:
        comp = mixture.compare_allocations(d, n_mc=n_mc, seed=seed)
        for name, res in comp.items():
            dens = np.asarray(res["densities"])
            pruned = mixture.prune(dens).priors
            for k in range(mixture.n_classes):
                rows.append({"density": d, "method": _MIXTURE_METHODS[name], "class": k,
                             "sigma": float(mixture.stds[k]), "class_density": float(dens[k]),
                             "pruned_prior": float(pruned[k]), "recall": float(1.0 - res["risks"][k]),
                             "recall_se": float(res["se"][k]), "worst_class_risk": res["worst_class_risk"],
                             "average_risk": res["average_risk"]})
    return Table.from_rows(rows, MANY_CLASSES_COLUMNS)


def _recall_panel(ax, table: Table, d: float, mixture) -> None:
    """Per-class recalls of each allocation at density ``d``, with the worst-class recall marked."""
    offsets = {"uniform": -0.15, "drop": 0.0, "minimax": 0.15}
    lines = []
    for method in ("uniform", "drop", "minimax"):
        st = METHOD_STYLE[method]
        rows = table.where(density=d, method=method)
        worst = float(rows["worst_class_risk"][0])
        ax.errorbar(rows["class"] + offsets[method], rows["recall"], yerr=1.96 * rows["recall_se"],
                    color=st["color"], marker=st["marker"], linestyle=st["linestyle"], lw=1.2, capsize=0)
        ax.axhline(1 - worst, color=st["color"], lw=0.8, alpha=0.6, linestyle=":")
        lines.append(f"{st['label'].split(' (')[0]}: {1 - worst:.3f}")
    ax.text(0.98, 0.98, "worst-class recall\n" + "\n".join(lines), transform=ax.transAxes, ha="right",
            va="top", fontsize=8.5, bbox=dict(boxstyle="round", fc="white", ec="0.8", alpha=0.9))
    ax.set_xticks(range(mixture.n_classes))
    ax.set_xticklabels([f"{k}\n{s:.2f}" for k, s in enumerate(mixture.stds)], fontsize=8)
    ax.set_xlabel("class k and its σ_k (harder →)")
    ax.set_ylabel("class recall on the unpruned mixture")
    ax.set_title(f"recalls at dataset density d = {d:g}")


@styled
def plot_many_classes(table: Table, mixture, separation: float, minimax_note: str) -> Figure:
    """Draw :func:`compute_many_classes`'s table: recalls per density, then the class densities."""
    from matplotlib.lines import Line2D

    densities = table.unique("density")
    fig = new_figure(5.0 * (len(densities) + 1), 5.2,
                     f"Figure 6. Many classes: K = {mixture.n_classes} isotropic Gaussians "
                     f"in p = {mixture.dim} dimensions",
                     f"means {separation:g}·e_k (equidistant), σ_k from {mixture.stds[0]:g} to "
                     f"{mixture.stds[-1]:g} (geometric), balanced priors; Bayes rule trained on the pruned "
                     f"priors; recalls by Monte Carlo ({minimax_note})")
    axes = fig.subplots(1, len(densities) + 1)
    methods = ("uniform", "drop", "minimax")
    density_styles = dict(zip(densities, ("-", "--", ":")))
    for ax, d in zip(axes, densities):
        _recall_panel(ax, table, d, mixture)
    axd = axes[-1]
    for d in densities:
        for method in methods:
            st = METHOD_STYLE[method]
            rows = table.where(density=d, method=method)
            axd.plot(rows["class"], rows["class_density"], color=st["color"], marker=st["marker"],
                     linestyle=density_styles[d], lw=1.2)
    axd.set_yscale("log")
    axd.set_xticks(range(mixture.n_classes))
    axd.set_xlabel("class k (harder →)")
    axd.set_ylabel("fraction of the class kept, d_k (log scale)")
    axd.set_title("class densities of each allocation")
    for k, ax in enumerate(axes):
        ax.set_title(f"({'abcd'[k]}) {ax.get_title()}")
    handles = [Line2D([], [], color=METHOD_STYLE[m]["color"], marker=METHOD_STYLE[m]["marker"],
                      linestyle=METHOD_STYLE[m]["linestyle"]) for m in methods]
    labels = [METHOD_STYLE[m]["label"] for m in methods]
    handles += [Line2D([], [], color="0.3", linestyle=density_styles[d]) for d in densities]
    labels += [f"panel ({'abcd'[len(densities)]}): d = {d:g}" for d in densities]
    fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), frameon=False)
    return fig


def _density_sentence(table: Table, d: float) -> str:
    """What happens at density ``d``, by whether some allocation keeps a class whole (from ``table``)."""
    if table.where(density=d)["class_density"].max() < 1.0:
        return (f"At d = {d:g} no class saturates: the minimax allocation equalises every recall, DRoP "
                "flattens the recall profile part of the way, lifting the worst class at the cost of the "
                "easy ones.")
    return (f"At d = {d:g} the hardest classes are kept whole and no allocation can equalise every recall; "
            "the minimax densities (GaussianMixture.minimax_densities: worst class minimised over the "
            "capped priors) still lift the worst class above DRoP's; that minimiser is not unique, so its "
            "density profile can be jagged.")


def caption(table: Table, mixture, separation: float) -> str:
    """The README caption; the densities, the σ range and which densities saturate are read from
    ``table``."""
    sigma = table["sigma"]
    panel = "abcd"[len(table.unique("density"))]
    return (
        f"K = {mixture.n_classes} isotropic Gaussian classes in p = {mixture.dim} dimensions, means "
        f"{separation:g}·e_k (all pairs equally far apart) and standard deviations from {sigma.min():g} to "
        f"{sigma.max():g}, so class k is harder than class k − 1. Per-class recalls (±1.96 MC SE) of the "
        "Bayes rule trained after random pruning with uniform, DRoP (quotas ∝ error of the full-data Bayes "
        "rule) and minimax class densities (pruned priors equal to the worst-class-optimal priors). "
        + " ".join(_density_sentence(table, d) for d in table.unique("density"))
        + f" ({panel}) The class densities: DRoP and minimax both prune the "
        "easy classes hardest, minimax far more aggressively."
    )


def build(s: Settings) -> FigureResult:
    """Figure 6 at the settings ``s`` (Monte Carlo seed ``subseed(s.seed, 6)``)."""
    separation = s.class_separation
    mixture = many_classes_mixture(settings=s)
    seed = subseed(s.seed, 6)
    table = compute_many_classes(mixture, n_mc=s.mixture_mc, seed=seed, settings=s)
    # The same run as inside compare_allocations (same points and seed), to certify it in the caption.
    cert = mixture.minimax(n_mc=min(s.mixture_mc, s.minimax_mc), seed=seed)
    note = (f"minimax: {cert.message}, spread {cert.spread:.1e}" if cert.converged
            else f"WARNING minimax not converged: {cert.message}")
    return FigureResult(
        name="fig6_many_classes",
        title="Many classes",
        caption=caption(table, mixture, separation),
        params={"mixture": repr(mixture), "densities": ", ".join(f"{d:g}" for d in s.mixture_densities),
                "Monte Carlo points per class": s.mixture_mc, "seed": s.seed,
                "minimax certificate": note},
        table=table,
        figure=plot_many_classes(table, mixture, separation, note),
    )
