r"""Figure 6: many classes. Per-class recalls of the Bayes rule learned after uniform, DRoP, damped DRoP,
probit and minimax allocations of a
K-class isotropic Gaussian mixture (arXiv 2404.05579, §4 and Algorithm 1)."""

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

__all__ = ["MANY_CLASSES_COLUMNS", "MANY_CLASSES_METHODS", "many_classes_mixture", "compute_many_classes",
           "plot_many_classes", "caption", "build"]

MANY_CLASSES_COLUMNS = ("density", "method", "class", "sigma", "class_density", "pruned_prior", "recall",
                        "recall_se", "recall_low", "recall_high", "worst_class_risk", "worst_low",
                        "worst_high", "average_risk", "fit_worst_class_risk", "alpha")
#: the allocations of Figure 6, in drawing order
MANY_CLASSES_METHODS = ("uniform", "drop", "damped", "probit", "minimax")


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


def _allocations(mixture, d: float, errors: np.ndarray, alpha: float, n_mc: int, seed: int) -> dict:
    """``{method: (class densities, in-sample worst-class risk or NaN)}`` at dataset density ``d``: the
    recall-based rules from the full-data Bayes rule's class ``errors`` (class sizes
    :func:`~gaussian_theory.apportionment.population_sizes` of the priors), and the capped minimax solver
    (fitted on draws derived from, and independent of, ``seed``'s)."""
    from ..allocation import drop_densities
    from ..apportionment import population_sizes

    sizes = population_sizes(mixture.priors)
    nan = float("nan")
    mm = mixture.minimax_allocation(d, n_mc=n_mc, seed=seed, n_certify=0)
    rule = dict(errors=errors, class_sizes=sizes, density=d)
    return {
        "uniform": (np.full(mixture.n_classes, d), nan),
        "drop": (drop_densities(**rule), nan),
        "damped": (drop_densities(**rule, alpha=alpha), nan),
        "probit": (drop_densities(**rule, allocation_rule="probit"), nan),
        "minimax": (np.asarray(mm.densities, dtype=float), float(mm.fit_max_risk)),
    }


def compute_many_classes(mixture=None, densities=None, n_mc: int | None = None, seed: int = 0,
                         alpha: float | None = None, minimax_mc: int | None = None,
                         settings: Settings | None = None) -> Table:
    r"""Class recalls of the Bayes rule learned after five allocations of a K-class mixture.

    ``method``: ``uniform`` (:math:`d_k=d`), ``drop`` (DRoP, :math:`d_k\propto1-r_k`), ``damped``
    (:math:`d_k\propto(1-r_k)^\alpha`), ``probit`` (:math:`d_k\propto\varphi(\Phi^{-1}(r_k))`, exact
    only for two Gaussians) -- all from the class errors of the Bayes rule trained on all the data
    (:func:`gaussian_theory.allocation.drop_densities`) -- and ``minimax``
    (:meth:`GaussianMixture.minimax_allocation`, the capped minimax solver with several starts, fitted
    on ``minimax_mc`` draws per class derived from ``seed``, independent of the evaluation draws).

    Every allocation is evaluated on the same fresh Monte Carlo draws (``n_mc`` per class, ``seed``;
    :meth:`GaussianMixture.pruned_risks`), so the minimax risks are out of sample. One row per
    (density, method, class): ``recall`` = 1 − class risk, its binomial SE and 95% Wilson interval
    (``recall_low``/``recall_high``); ``worst_class_risk`` and the Wilson interval of that (worst)
    class's risk (``worst_low``/``worst_high``); ``fit_worst_class_risk``: the minimax solver's
    worst-class risk on its own fitting draws (in sample; NaN for the other rules); ``alpha``: damped
    DRoP's exponent (NaN in the other rows). Arguments left
    ``None`` come from ``settings`` (default: :class:`Settings` ``()``).
    """
    s = resolve(settings)
    mixture = mixture or many_classes_mixture(settings=s)
    densities = s.mixture_densities if densities is None else densities
    densities = [check_density(d, "densities") for d in densities]
    n_mc = check_int(s.mixture_mc if n_mc is None else n_mc, "n_mc", minimum=2)
    minimax_mc = check_int(min(n_mc, s.minimax_mc) if minimax_mc is None else minimax_mc, "minimax_mc",
                           minimum=2)
    alpha = check_real(s.damped_alpha if alpha is None else alpha, "alpha", minimum=0.0)
    errors = mixture.class_risks(mixture.priors, n_mc=n_mc, seed=seed).risks
    rows = []
    for d in densities:
        for method, (dens, fit) in _allocations(mixture, d, errors, alpha, minimax_mc, seed).items():
            est = mixture.pruned_risks(dens, n_mc=n_mc, seed=seed)
            pruned = mixture.prune(dens).priors
            worst = int(np.argmax(est.risks))
            for k in range(mixture.n_classes):
                rows.append({"density": d, "method": method, "class": k, "sigma": float(mixture.stds[k]),
                             "class_density": float(dens[k]), "pruned_prior": float(pruned[k]),
                             "recall": float(1.0 - est.risks[k]), "recall_se": float(est.se[k]),
                             "recall_low": float(1.0 - est.high[k]), "recall_high": float(1.0 - est.low[k]),
                             "worst_class_risk": float(est.risks[worst]), "worst_low": float(est.low[worst]),
                             "worst_high": float(est.high[worst]),
                             "average_risk": float(est.risks @ mixture.priors), "fit_worst_class_risk": fit,
                             "alpha": alpha if method == "damped" else float("nan")})
    return Table.from_rows(rows, MANY_CLASSES_COLUMNS)


def _short(method: str, alpha: float) -> str:
    """A short legend name of ``method``."""
    return {"uniform": "uniform", "drop": "DRoP", "damped": f"damped DRoP (α = {alpha:g})",
            "probit": "probit rule", "minimax": "minimax"}[method]


def _alpha(table: Table) -> float:
    """Damped DRoP's exponent, from its rows (NaN without them)."""
    rows = table.where(method="damped") if "alpha" in table.columns else []
    return float(rows["alpha"][0]) if len(rows) else float("nan")


def _recall_panel(ax, table: Table, d: float, mixture, alpha: float) -> None:
    """Per-class recalls of each allocation at density ``d`` (95% Wilson intervals), with the
    worst-class recall marked."""
    methods = [m for m in MANY_CLASSES_METHODS if len(table.where(density=d, method=m))]
    offsets = dict(zip(methods, np.linspace(-0.24, 0.24, len(methods))))
    lines = []
    for method in methods:
        st = METHOD_STYLE[method]
        rows = table.where(density=d, method=method)
        worst = float(rows["worst_class_risk"][0])
        yerr = np.vstack([rows["recall"] - rows["recall_low"], rows["recall_high"] - rows["recall"]])
        ax.errorbar(rows["class"] + offsets[method], rows["recall"], yerr=yerr, color=st["color"],
                    marker=st["marker"], linestyle="none" if method == "probit" else st["linestyle"], lw=1.1,
                    markersize=4, capsize=0)
        ax.axhline(1 - worst, color=st["color"], lw=0.8, alpha=0.6, linestyle=":")
        lines.append(f"{_short(method, alpha)}: {1 - worst:.3f}")
    ax.text(0.98, 0.98, "worst-class recall (fresh draws)\n" + "\n".join(lines), transform=ax.transAxes,
            ha="right", va="top", fontsize=8, bbox=dict(boxstyle="round", fc="white", ec="0.8", alpha=0.9))
    ax.set_xticks(range(mixture.n_classes))
    ax.set_xticklabels([f"{k}\n{s:.2f}" for k, s in enumerate(mixture.stds)], fontsize=8)
    ax.set_xlabel("class k and its σ_k (harder →)")
    ax.set_ylabel("class recall on the unpruned mixture")
    ax.set_title(f"recalls at dataset density d = {d:g}")


@styled
def plot_many_classes(table: Table, mixture, separation: float, note: str | None = None) -> Figure:
    """Draw :func:`compute_many_classes`'s table: recalls per density, then the class densities
    (``note``: an optional line for the title)."""
    from matplotlib.lines import Line2D

    alpha = _alpha(table)

    densities = table.unique("density")
    fig = new_figure(5.2 * (len(densities) + 1), 5.6,
                     f"Figure 6. Many classes: K = {mixture.n_classes} isotropic Gaussians "
                     f"in p = {mixture.dim} dimensions",
                     f"means {separation:g}·e_k (equidistant), σ_k from {mixture.stds[0]:g} to "
                     f"{mixture.stds[-1]:g} (geometric), balanced priors; Bayes rule trained on the pruned "
                     "priors; recalls on fresh Monte Carlo draws shared by all allocations\n(95% Wilson "
                     "intervals; out of sample for the minimax solver)" + (f"; {note}" if note else ""))
    axes = fig.subplots(1, len(densities) + 1)
    methods = [m for m in MANY_CLASSES_METHODS if len(table.where(method=m))]
    density_styles = dict(zip(densities, ("-", "--", ":")))
    for ax, d in zip(axes, densities):
        _recall_panel(ax, table, d, mixture, alpha)
    axd = axes[-1]
    for d in densities:
        for method in methods:
            st = METHOD_STYLE[method]
            rows = table.where(density=d, method=method)
            axd.plot(rows["class"], rows["class_density"], color=st["color"], marker=st["marker"],
                     linestyle=density_styles[d], lw=1.1, markersize=4)
    axd.set_yscale("log")
    axd.set_xticks(range(mixture.n_classes))
    axd.set_xlabel("class k (harder →)")
    axd.set_ylabel("fraction of the class kept, d_k (log scale)")
    axd.set_title("class densities of each allocation")
    for k, ax in enumerate(axes):
        ax.set_title(f"({'abcd'[k]}) {ax.get_title()}")
    handles = [Line2D([], [], color=METHOD_STYLE[m]["color"], marker=METHOD_STYLE[m]["marker"],
                      linestyle="none" if m == "probit" else METHOD_STYLE[m]["linestyle"]) for m in methods]
    labels = [_short(m, alpha) if m != "minimax" else METHOD_STYLE[m]["label"] for m in methods]
    handles += [Line2D([], [], color="0.3", linestyle=density_styles[d]) for d in densities]
    labels += [f"panel ({'abcd'[len(densities)]}): d = {d:g}" for d in densities]
    fig.legend(handles, labels, loc="outside lower center", ncol=(len(handles) + 1) // 2, frameon=False)
    return fig


def _density_sentence(table: Table, d: float) -> str:
    """Which classes are kept whole at density ``d`` (read from ``table``'s ``class_density``)."""
    rows = table.where(density=d)
    if rows["class_density"].max() < 1.0:
        return (f"At d = {d:g} no class saturates, so an allocation could equalise every recall; "
                "DRoP flattens the recall profile part of the way, lifting the worst class at the cost of "
                "the easy ones.")
    text = (f"At d = {d:g} the hardest classes are kept whole and no allocation can equalise every "
            "recall")
    if "method" in rows.columns and "class" in rows.columns:
        mm = rows.where(method="minimax")
        whole = mm["class"][mm["class_density"] >= 1.0 - 1e-6].tolist() if len(mm) else []
        if whole:
            text += (f"; the minimax allocation keeps class{'es' if len(whole) > 1 else ''} "
                     f"{', '.join(str(int(k)) for k in whole)} whole: the budget the hard classes cannot "
                     "absorb must sit on some class whose risk stays below the worst (a sink)")
    return text + "."


def _risk_text(table: Table, d: float, method: str) -> str:
    """``0.1826 [0.1809, 0.1843]``: the worst-class risk of ``method`` at ``d`` with its Wilson interval."""
    rows = table.where(density=d, method=method)
    return (f"{float(rows['worst_class_risk'][0]):.4f} [{float(rows['worst_low'][0]):.4f}, "
            f"{float(rows['worst_high'][0]):.4f}]")


def _numbers_sentence(table: Table, d: float, alpha: float) -> str:
    """The worst-class risks at density ``d`` of every allocation, on the evaluation draws, with the
    95% Wilson interval of the worst class's risk (and the minimax recalls' spread)."""
    methods = [m for m in MANY_CLASSES_METHODS if len(table.where(density=d, method=m))]
    parts = [f"{_short(m, alpha)} {_risk_text(table, d, m)}" for m in methods]
    mm = table.where(density=d, method="minimax")
    extra = ""
    if len(mm):
        extra = (f"; the minimax solver's in-sample value was {float(mm['fit_worst_class_risk'][0]):.4f}, "
                 f"and its recalls spread over {float(np.ptp(mm['recall'])):.3f} on the fresh draws")
    return f"Worst-class risk at d = {d:g} (95% Wilson interval): " + ", ".join(parts) + extra + "."


def _limits_sentence(table: Table, alpha: float) -> str:
    """How the two-Gaussian rules fare here, at the smallest density, read from ``table``."""
    d = min(table.unique("density"))
    worst = {m: float(table.where(density=d, method=m)["worst_class_risk"][0]) for m in MANY_CLASSES_METHODS
             if len(table.where(density=d, method=m))}
    if not {"drop", "probit", "damped"} <= set(worst):
        return ""
    probit = "worse than" if worst["probit"] > worst["drop"] else "no worse than"
    text = (f" The two-Gaussian optimum from recalls does not carry over to K classes: at d = {d:g} the "
            f"probit rule ({worst['probit']:.4f}) is {probit} DRoP ({worst['drop']:.4f})")
    if worst["damped"] > worst["drop"]:
        text += (f", and damped DRoP, which moves less data, is worse too ({worst['damped']:.4f}): here DRoP "
                 f"moves too little data to the hard classes, not too much")
    return text + "."


def caption(table: Table, mixture, separation: float) -> str:
    """The README caption; the densities, the σ range, which densities saturate and every risk are read
    from ``table``."""
    sigma = table["sigma"]
    alpha = _alpha(table)
    panel = "abcd"[len(table.unique("density"))]
    return (
        f"K = {mixture.n_classes} isotropic Gaussian classes in p = {mixture.dim} dimensions, means "
        f"{separation:g}·e_k (all pairs equally far apart) and standard deviations from {sigma.min():g} to "
        f"{sigma.max():g}, so class k is harder than class k − 1. Per-class recalls (95% Wilson intervals) "
        "of the Bayes rule trained after random pruning with uniform class densities, DRoP (quotas ∝ "
        f"error of the full-data Bayes rule), damped DRoP (∝ error^{alpha:g}), the probit rule "
        "(∝ φ(Φ⁻¹(recall)), the exact optimum for two Gaussians) and the minimax densities "
        "(GaussianMixture.minimax_allocation: the worst class minimised over the capped priors, "
        "several starts). All allocations are evaluated on the same fresh Monte Carlo draws, "
        "independent of the draws the minimax solver fitted and selected on, so its risks are out of "
        "sample. "
        + " ".join(_density_sentence(table, d) + " " + _numbers_sentence(table, d, alpha)
                   for d in table.unique("density"))
        + _limits_sentence(table, alpha)
        + f" ({panel}) The class densities: every rule prunes the easy classes hardest, minimax far more "
        "aggressively (apart from a class it keeps whole as a sink)."
    )


def build(s: Settings) -> FigureResult:
    """Figure 6 at the settings ``s`` (Monte Carlo seed ``subseed(s.seed, 6)``)."""
    separation = s.class_separation
    mixture = many_classes_mixture(settings=s)
    seed = subseed(s.seed, 6)
    table = compute_many_classes(mixture, n_mc=s.mixture_mc, seed=seed, settings=s)
    cert = "; ".join(f"d = {d:g}: worst-class risk {_risk_text(table, d, 'minimax')} on fresh draws "
                     f"({s.mixture_mc} per class), in sample "
                     f"{float(table.where(density=d, method='minimax')['fit_worst_class_risk'][0]):.4f}"
                     for d in table.unique("density"))
    return FigureResult(
        name="fig6_many_classes",
        title="Many classes",
        caption=caption(table, mixture, separation),
        params={"mixture": repr(mixture), "densities": ", ".join(f"{d:g}" for d in s.mixture_densities),
                "Monte Carlo points per class": s.mixture_mc,
                "minimax fitting points per class": min(s.mixture_mc, s.minimax_mc),
                "damped DRoP alpha": s.damped_alpha, "seed": s.seed, "minimax certificate": cert},
        table=table,
        figure=plot_many_classes(table, mixture, separation),
    )
