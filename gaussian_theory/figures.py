r"""Every figure of droplab, and the ``droplab figures`` command that regenerates them.

Each figure is two short functions: ``compute_*`` builds a tidy :class:`Table` (one row per plotted
point, every number behind the figure) from library calls only, and ``plot_*`` draws that table.
:func:`make_figures` runs them and writes, per figure, ``<name>.png``, ``<name>.pdf`` and
``<name>.csv`` (each written atomically), plus a ``README.md`` with one captioned entry per figure.

``--quick`` uses coarse grids and few Monte Carlo trials (seconds, for tests); the default full
run uses fine grids and enough trials for smooth bands (a few minutes). Monte Carlo seeds derive
from one ``--seed`` so every run is reproducible.

Colours: the Okabe-Ito palette (colour-blind safe); curves also differ in line style or marker.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .atomic import atomic_write
from .two_gaussians import TwoGaussians

if TYPE_CHECKING:  # matplotlib is imported lazily, so that `droplab` starts fast
    from matplotlib.figure import Figure

__all__ = [
    "Table", "Settings", "FigureResult", "FIGURES", "make_figures", "write_figure", "register_cli",
    "compute_risks_vs_prior", "plot_risks_vs_prior",
    "compute_risk_vs_density", "plot_risk_vs_density",
    "compute_ssp_margin", "plot_ssp_margin",
    "compute_regret_map", "plot_regret_map",
    "compute_finite_samples", "plot_finite_samples",
    "compute_many_classes", "plot_many_classes",
    "OKABE_ITO", "METHOD_STYLE", "reference_model", "many_classes_mixture",
    "ssp_margin_for_density", "subseed",
]

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


def _styled(plot):
    """Run a ``plot_*`` function under droplab's matplotlib style (fonts, grid, spines)."""
    import functools

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return plot(*args, **kwargs)

    return wrapper


# ============================================================================= tidy tables
class Table:
    """A minimal column-oriented tidy table: equal-length 1-D columns, one row per observation.

    >>> t = Table({"x": [1, 2, 3], "kind": ["a", "b", "a"]})
    >>> len(t), t.where(kind="a")["x"].tolist()
    (3, [1, 3])
    """

    def __init__(self, columns: dict):
        cols = {str(k): np.asarray(v) for k, v in columns.items()}
        lengths = {k: v.shape for k, v in cols.items()}
        sizes = {s[0] if len(s) == 1 else None for s in lengths.values()}
        if None in sizes or len(sizes) > 1:
            raise ValueError(f"Table columns must be 1-D and of equal length, got shapes {lengths}")
        self._cols = cols

    @classmethod
    def concat(cls, tables) -> "Table":
        """Stack tables with the same columns (in the first table's order)."""
        tables = list(tables)
        names = tables[0].columns
        for t in tables[1:]:
            if set(t.columns) != set(names):
                raise ValueError(f"cannot concat tables with columns {names} and {t.columns}")
        return cls({k: np.concatenate([t[k] for t in tables]) for k in names})

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self.columns)})"

    def filter(self, mask) -> "Table":
        mask = np.asarray(mask, dtype=bool)
        return Table({k: v[mask] for k, v in self._cols.items()})

    def where(self, **equal) -> "Table":
        """Rows whose columns equal the given values."""
        mask = np.ones(len(self), dtype=bool)
        for k, v in equal.items():
            mask &= self._cols[k] == v
        return self.filter(mask)

    def unique(self, name: str) -> list:
        """Distinct values of a column, in order of first appearance."""
        seen = dict.fromkeys(self._cols[name].tolist())
        return list(seen)

    def rows(self):
        for i in range(len(self)):
            yield {k: v[i] for k, v in self._cols.items()}

    def to_csv(self, path) -> None:
        """Write the table as CSV (floats with 12 significant digits; ``inf`` spelled out)."""
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns)
            for row in self.rows():
                w.writerow([_fmt_cell(v) for v in row.values()])


def _fmt_cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf
                                            else f"{float(v):.12g}")
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)


# ============================================================================= settings
@dataclass(frozen=True)
class Settings:
    """Grid sizes and Monte Carlo budgets. :meth:`fast` (``--quick``) and :meth:`full` are the presets."""

    quick: bool = False
    seed: int = 0
    prior_points: int = 801           # fig 1: log prior-ratio grid on [-4, 4]
    margin_points: int = 301          # fig 3: SSP margin grid on [0, 3]
    regret_points: tuple = (61, 61)   # fig 4: (separation, std ratio) grid
    density_points: int = 96          # fig 2: population curves
    density_mc: tuple = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # fig 2 MC
    mc_n: int = 2000                  # fig 2: training-set size before pruning
    mc_trials: int = 400              # fig 2 and fig 5: Monte Carlo trials per point
    n_values: tuple = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)  # fig 5
    mixture_mc: int = 200_000         # fig 6: Monte Carlo points per class-risk estimate

    @classmethod
    def full(cls, seed: int = 0) -> "Settings":
        return cls(quick=False, seed=seed)

    @classmethod
    def fast(cls, seed: int = 0) -> "Settings":
        return cls(
            quick=True, seed=seed, prior_points=161, margin_points=61, regret_points=(13, 13),
            density_points=24, density_mc=(0.1, 0.3, 0.6, 1.0), mc_trials=40,
            n_values=(100, 1000, 5000), mixture_mc=20_000,
        )

    @classmethod
    def preset(cls, quick: bool, seed: int = 0) -> "Settings":
        return cls.fast(seed) if quick else cls.full(seed)


def subseed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed for one Monte Carlo cell, derived from the run seed and keys."""
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1)[0])


@dataclass
class FigureResult:
    """One figure: the tidy table behind it, the drawn figure, and its text."""

    name: str
    title: str
    caption: str
    params: dict
    table: Table
    figure: Figure | None
    seconds: float = 0.0
    files: list = field(default_factory=list)


# ============================================================================= shared helpers
def reference_model() -> TwoGaussians:
    """The running example: means (0, 6), stds (1, 2), balanced priors (notes §1.9)."""
    return TwoGaussians(means=(0.0, 6.0), stds=(1.0, 2.0), priors=(0.5, 0.5))


def _model_text(model: TwoGaussians) -> str:
    (m0, m1), (s0, s1), (p0, p1) = model.means, model.stds, model.priors
    return f"μ = ({m0:g}, {m1:g}), σ = ({s0:g}, {s1:g}), φ = ({p0:g}, {p1:g})"


def _new_figure(width: float, height: float, title: str, params_line: str) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    fig.suptitle(f"{title}\n{params_line}", fontsize=10.5)
    return fig


def _ratio_axis(ax, lo: float, hi: float) -> None:
    """Log-scale x axis for a prior ratio, with ticks at powers of two labelled as fractions."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [2.0 ** k for k in range(-8, 9) if lo <= 2.0 ** k <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v >= 1 else f"1/{1 / v:g}"))


def _log_risk_axis(ax, ticks=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)) -> None:
    """Log-scale risk axis with plain-number tick labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(FixedLocator(list(ticks)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


# ============================================================================= figure 1
def compute_risks_vs_prior(model: TwoGaussians | None = None, points: int = 801, log_ratio_max: float = 4.0,
                           drop_density: float = 0.5) -> Table:
    r"""Class, average and worst-class risk of :math:`t^*(\phi_0'/\phi_1')` vs the training prior.

    Rows with ``kind == "grid"`` sweep :math:`\log(\phi_0'/\phi_1')` over
    ``[-log_ratio_max, log_ratio_max]``; three more rows mark the true prior, the worst-class
    optimal prior :math:`\sigma_0/(\sigma_0+\sigma_1)` and the prior after Random+DRoP at
    ``drop_density``. Risks are on the true (unpruned) distribution; ``average`` uses its priors.
    """
    model = model or reference_model()
    log_ratio = np.linspace(-log_ratio_max, log_ratio_max, points)
    kinds = ["grid"] * points
    marks = {
        "true prior": model.priors,
        "worst-class optimal": model.worst_class_optimal_priors(),
        "DRoP": model.prune(model.drop_densities(drop_density)).priors,
    }
    log_ratio = np.concatenate([log_ratio, [np.log(p[0] / p[1]) for p in marks.values()]])
    kinds += list(marks)
    phi0 = 1.0 / (1.0 + np.exp(-log_ratio))
    priors = np.stack([phi0, 1.0 - phi0], axis=-1)
    t = model.optimal_threshold(priors)
    risks = model.class_risks(t)
    return Table({
        "kind": kinds, "log_prior_ratio": log_ratio, "prior_ratio": np.exp(log_ratio), "phi0": phi0,
        "threshold": t, "R0": risks[:, 0], "R1": risks[:, 1],
        "average_risk": model.average_risk(t), "worst_class_risk": model.worst_class_risk(t),
    })


@_styled
def plot_risks_vs_prior(table: Table, model: TwoGaussians, drop_density: float) -> Figure:
    from matplotlib.ticker import FixedLocator, FuncFormatter

    fig = _new_figure(11.0, 5.0,
                      "Figure 1. Risks of the average-risk minimiser t*(φ0'/φ1') vs the training prior",
                      f"{_model_text(model)}; DRoP marker at dataset density d = {drop_density:g}")
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
    _ratio_axis(axes[0], x.min(), x.max())
    axes[0].set_yscale("log")
    axes[0].set_ylim(2e-3, 0.5)
    axes[0].set_ylabel("risk on the true distribution (log scale)")
    axes[0].set_title("(a) full range")
    # (b) zoom on the crossing, linear risk axis.
    lo, hi = 0.2, 2.0
    _ratio_axis(axes[1], lo, hi)
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


def _figure_1(s: Settings) -> FigureResult:
    model, d = reference_model(), 0.5
    table = compute_risks_vs_prior(model, points=s.prior_points, drop_density=d)
    opt = table.where(kind="worst-class optimal")
    return FigureResult(
        name="fig1_risks_vs_prior",
        title="Risks vs training prior",
        caption=(
            "Class risks R0 and R1, average risk and worst-class risk of the average-risk minimiser "
            "t*(φ0'/φ1') learned at training prior φ0'/φ1', evaluated on the true distribution "
            f"({_model_text(model)}). Moving data towards the hard, wide class 1 (left) trades R0 for R1; "
            "the worst-class risk is minimised where the two cross, at the worst-class-optimal prior "
            f"φ0'/φ1' = σ0/σ1 = {float(opt['prior_ratio'][0]):.3g}, where average and worst-class risk "
            f"coincide ({float(opt['worst_class_risk'][0]):.4f}). DRoP's error-proportional prior "
            "R0/R1 of the full-data model lies to the left of it: the right direction, slightly too far."
        ),
        params={"model": repr(model), "log prior-ratio grid": f"[-4, 4], {s.prior_points} points",
                "DRoP density": d},
        table=table,
        figure=plot_risks_vs_prior(table, model, d),
    )


# ============================================================================= figure 2
def _simulation_rows(res, model: TwoGaussians) -> dict:
    """Monte Carlo summaries of one :class:`~gaussian_theory.simulation.SimulationResult` as table cells."""
    ci = res.ci(0.95)
    kept = res.kept_counts.mean(axis=0) / (res.n * model.priors)
    r = res.mean_class_risks
    return {"d0": kept[0], "d1": kept[1], "R0": r[0], "R1": r[1], "average_risk": res.mean_average_risk,
            "worst_class_risk": res.mean_worst_class_risk, "average_se": res.se_average_risk,
            "worst_se": res.se_worst_class_risk, "worst_lo": ci["worst_class_risk"][0],
            "worst_hi": ci["worst_class_risk"][1], "average_lo": ci["average_risk"][0],
            "average_hi": ci["average_risk"][1], "trials": res.trials, "n": res.n}


def _population_cells(model: TwoGaussians, densities, risks) -> dict:
    nan = float("nan")
    risks = np.asarray(risks, dtype=float)
    return {"d0": densities[0], "d1": densities[1], "R0": risks[0], "R1": risks[1],
            "average_risk": float(risks @ model.priors), "worst_class_risk": float(risks.max()),
            "average_se": nan, "worst_se": nan, "worst_lo": nan, "worst_hi": nan, "average_lo": nan,
            "average_hi": nan, "trials": 0, "n": np.inf}


def ssp_margin_for_density(model: TwoGaussians, density: float) -> float:
    """The SSP margin whose kept overall density is ``density`` (root of a monotone function)."""
    from scipy.optimize import brentq

    if density >= 1.0:
        return 0.0
    return float(brentq(lambda m: model.ssp_prune(m).density - density, 0.0, 50.0 * model.stds.max(),
                        xtol=1e-10))


RISK_VS_DENSITY_COLUMNS = ("source", "method", "density", "param", "d0", "d1", "R0", "R1", "average_risk",
                           "worst_class_risk", "average_se", "worst_se", "worst_lo", "worst_hi", "average_lo",
                           "average_hi", "trials", "n", "seed")


def compute_risk_vs_density(model: TwoGaussians | None = None, densities=None, mc_densities=None,
                            n: int = 2000, trials: int = 400, seed: int = 0, learner: str = "erm",
                            min_class_count: int = 10) -> Table:
    r"""Worst-class and average risk against the dataset density for five pruning rules.

    ``method``: ``uniform`` (random, equal class densities), ``drop`` (Random+DRoP from the full-data
    model's population recalls, :meth:`TwoGaussians.drop_densities`), ``optimal``
    (:meth:`TwoGaussians.worst_class_optimal_densities`), ``ssp`` (margin pruning at the margin whose
    kept density is ``density``; ``param`` is the margin) and ``hardest`` (keep the ``density``
    fraction closest to the full-data threshold, :class:`~gaussian_theory.simulation.ScorePruning`).

    ``source == "population"`` rows are closed forms on the ``densities`` grid (none for
    ``hardest``: no closed form). ``source == "monte_carlo"`` rows are
    :func:`~gaussian_theory.simulation.simulate` at training-set size ``n`` (before pruning) with
    ``learner``, ``trials`` training sets per point: means, standard errors and 95% intervals of the
    mean; ``d0``/``d1`` are the realised kept
    fractions. All methods at one density share the seed ``subseed(seed, j)`` (common random numbers).
    Points where a class would keep fewer than ``min_class_count`` samples on average are skipped.
    """
    from .simulation import RandomPruning, ScorePruning, SSPPruning, simulate

    model = model or reference_model()
    densities = np.linspace(0.05, 1.0, 96) if densities is None else np.asarray(densities, dtype=float)
    mc_densities = () if mc_densities is None else tuple(float(d) for d in mc_densities)
    rows = []

    def add(source, method, d, param, cells, seed_value):
        rows.append({"source": source, "method": method, "density": float(d), "param": param, **cells,
                     "seed": seed_value})

    nan = float("nan")
    for d in densities:
        for method, dens in (("uniform", np.array([d, d])), ("drop", model.drop_densities(d)),
                             ("optimal", model.worst_class_optimal_densities(d))):
            add("population", method, d, nan, _population_cells(model, dens, model.pruned_risks(dens)), nan)
        m = ssp_margin_for_density(model, d)
        ssp = model.ssp_prune(m)
        add("population", "ssp", d, m, _population_cells(model, ssp.densities, ssp.class_risks), nan)

    class_sizes = n * model.priors
    for j, d in enumerate(mc_densities):
        s = subseed(seed, j)
        margin = ssp_margin_for_density(model, d)
        specs = {
            "uniform": (RandomPruning((d, d)), nan),
            "drop": (RandomPruning(tuple(model.drop_densities(d))), nan),
            "optimal": (RandomPruning(tuple(model.worst_class_optimal_densities(d))), nan),
            "ssp": (SSPPruning(margin), margin),
            "hardest": (ScorePruning(d, keep="hardest"), nan),
        }
        for method, (pruning, param) in specs.items():
            if method == "ssp":
                expected = model.ssp_prune(margin).densities * class_sizes
            elif method == "hardest":
                expected = np.full(2, np.inf)  # both classes straddle the boundary; checked by simulate
            else:
                expected = np.asarray(pruning.densities) * class_sizes
            if expected.min() < min_class_count:
                continue
            try:
                res = simulate(model, n, pruning, learner=learner, trials=trials, seed=s)
            except ValueError:  # a trial kept no sample of one class: skip this point
                continue
            add("monte_carlo", method, d, param, _simulation_rows(res, model), s)
    return Table({c: [r[c] for r in rows] for c in RISK_VS_DENSITY_COLUMNS})


def _band(ax, x, lo, hi, color):
    ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)


@_styled
def plot_risk_vs_density(table: Table, model: TwoGaussians) -> Figure:
    mc = table.where(source="monte_carlo")
    n = int(mc["n"][0]) if len(mc) else 0
    trials = int(mc["trials"][0]) if len(mc) else 0
    fig = _new_figure(12.0, 5.2, "Figure 2. Worst-class and average risk against the dataset density",
                      f"{_model_text(model)}; lines: population (n → ∞); markers and bands: Monte Carlo at "
                      f"n = {n} before pruning, ERM threshold, mean and 95% CI over {trials} training sets")
    axes = fig.subplots(1, 2)
    panels = ((axes[0], "worst_class_risk", "worst_lo", "worst_hi", "worst-class risk"),
              (axes[1], "average_risk", "average_lo", "average_hi", "average risk"))
    for ax, value, lo, hi, label in panels:
        top = 0.1 if value == "worst_class_risk" else 0.06
        for method in ("uniform", "drop", "optimal", "ssp", "hardest"):
            st = METHOD_STYLE[method]
            pop = table.where(source="population", method=method)
            if len(pop):
                ax.plot(pop["density"], pop[value], color=st["color"], linestyle=st["linestyle"],
                        label=st["label"])
            sim = mc.where(method=method)
            if len(sim):
                on_scale = sim[value] <= top  # break the band where a point is off scale
                _band(ax, sim["density"], np.where(on_scale, sim[lo], np.nan),
                      np.where(on_scale, sim[hi], np.nan), st["color"])
                ax.plot(sim["density"], sim[value], color=st["color"], marker=st["marker"], linestyle="none",
                        markersize=5, label=f"{st['label']} (Monte Carlo)" if not len(pop) else None)
        _log_risk_axis(ax, ticks=(0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1))
        ax.set_ylim(0.019, top)
        off = table.filter((table["method"] == "ssp") & (table[value] > top))
        if len(off):  # SSP's collapse is off scale: say so rather than squash the rest
            d_max = float(off["density"].max())
            ax.annotate(f"SSP for d ≤ {d_max:.2f}: {label}\n{off[value].min():.2f} to {off[value].max():.2f} "
                        "(off scale)", xy=(d_max, top), xytext=(d_max + 0.05, top * 0.8), fontsize=8.5,
                        color=METHOD_STYLE["ssp"]["color"], ha="left", va="top",
                        arrowprops=dict(arrowstyle="->", color=METHOD_STYLE["ssp"]["color"], lw=0.8))
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("dataset density d (fraction of the training set kept)")
        ax.set_ylabel(f"{label} on the true distribution (log scale)")
    axes[0].set_title("(a) worst-class risk")
    axes[1].set_title("(b) average risk")
    handles, labels = axes[0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], color="0.3", marker="o", linestyle="none"))
    labels.append(f"markers + bands: Monte Carlo, n = {n}")
    fig.legend(handles, labels, loc="outside lower center", ncol=4, frameon=False)
    return fig


def _figure_2(s: Settings) -> FigureResult:
    model = reference_model()
    table = compute_risk_vs_density(model, np.linspace(0.05, 1.0, s.density_points), s.density_mc, n=s.mc_n,
                                    trials=s.mc_trials, seed=subseed(s.seed, 2))
    ssp = table.where(source="population", method="ssp")
    collapsed = ssp["density"][ssp["worst_class_risk"] > 0.5]
    collapse = float(collapsed.max()) if collapsed.size else float("nan")
    return FigureResult(
        name="fig2_risk_vs_density",
        title="Risk vs dataset density",
        caption=(
            "Worst-class (a) and average (b) risk of the threshold learned after pruning to dataset density "
            f"d, for {_model_text(model)}. Lines are population values (n → ∞); markers with shaded 95% "
            f"intervals are Monte Carlo means over {s.mc_trials} training sets of n = {s.mc_n} points "
            "(before pruning) with the empirical-risk-minimising threshold. Uniform random pruning leaves "
            "the population risks unchanged, and its finite-sample risk grows as d shrinks. The worst-class "
            "optimal allocation (keep class k in proportion to σ_k) reaches Φ(-2) ≈ 0.0228 for every "
            "d ≤ 0.75; Random+DRoP gets most of the way (its quotas overshoot towards the hard class). "
            "SSP margin pruning keeps the full-data boundary until its margin cuts into it "
            f"(d ≈ {collapse:.2f}) and "
            "then collapses; keep-hardest score pruning (score |x − t*|, no closed form, Monte Carlo only) "
            "keeps the full-data ERM solution exactly. Neither moves the threshold towards the worst-class "
            "optimum: pruning that breaks class-conditional independence does not act like a prior. Note the "
            f"finite-sample markers: at n = {s.mc_n} the ERM threshold's estimation noise is larger than the "
            "allocation effect, and E[max_k R_k] is inflated most where R0 ≈ R1, so the population ranking "
            "of uniform, DRoP and optimal is reversed at this n (Figure 5 shows when it is restored)."
        ),
        params={"model": repr(model), "population grid": f"d in [0.05, 1], {s.density_points} points",
                "Monte Carlo densities": ", ".join(f"{d:g}" for d in s.density_mc), "n": s.mc_n,
                "trials": s.mc_trials, "learner": "erm", "seed": s.seed},
        table=table,
        figure=plot_risk_vs_density(table, model),
    )


# ============================================================================= figure 3
def compute_ssp_margin(model: TwoGaussians | None = None, margins=None) -> Table:
    r"""SSP margin pruning vs random pruning with the same class densities, over the margin M.

    Long format: for each margin, one row per ``method`` in ``ssp`` (drop every sample within M
    of its class mean; :meth:`TwoGaussians.ssp_prune`), ``random_same`` (random within-class pruning
    to SSP's class densities, :meth:`TwoGaussians.pruned_risks`) and ``optimal`` (worst-class
    optimal class densities at SSP's overall density). Risks are on the unpruned distribution.
    """
    model = model or reference_model()
    margins = np.linspace(0.0, 3.0, 301) if margins is None else np.asarray(margins, dtype=float)
    cols = {k: [] for k in ("margin", "method", "d0", "d1", "density", "threshold", "R0", "R1",
                            "average_risk", "worst_class_risk")}
    for m in margins:
        ssp = model.ssp_prune(m)
        allocations = {
            "ssp": (ssp.densities, ssp.threshold, ssp.class_risks),
            "random_same": (ssp.densities, model.prune(ssp.densities).optimal_threshold(),
                            model.pruned_risks(ssp.densities)),
        }
        opt = model.worst_class_optimal_densities(ssp.density)
        allocations["optimal"] = (opt, model.prune(opt).optimal_threshold(), model.pruned_risks(opt))
        for method, (dens, t, r) in allocations.items():
            for k, v in zip(cols, (m, method, dens[0], dens[1], float(dens @ model.priors), t, r[0], r[1],
                                   float(r @ model.priors), float(r.max()))):
                cols[k].append(v)
    return Table(cols)


@_styled
def plot_ssp_margin(table: Table, model: TwoGaussians) -> Figure:
    fig = _new_figure(12.5, 4.3, "Figure 3. SSP margin pruning (drop samples within M of their class mean) "
                      "vs random pruning to the same class densities", _model_text(model))
    axd, axt, axr = fig.subplots(1, 3)
    ssp = table.where(method="ssp")
    m = ssp["margin"]
    axd.plot(m, ssp["d0"], color=_C["sky blue"], label="$d_0(M)$ kept, class 0 (easy)")
    axd.plot(m, ssp["d1"], color=_C["orange"], linestyle="--", label="$d_1(M)$ kept, class 1 (hard)")
    axd.plot(m, ssp["density"], color=_C["black"], linestyle=":", label="overall density d(M)")
    axd.set_xlabel("margin M")
    axd.set_ylabel("fraction kept")
    axd.set_title("(a) class densities kept by SSP")
    axd.legend(loc="upper right")

    for method in ("ssp", "random_same", "optimal"):
        rows = table.where(method=method)
        st = METHOD_STYLE[method]
        label = st["label"] if method != "optimal" else "worst-class optimal, same overall d"
        axt.plot(rows["margin"], rows["threshold"], color=st["color"], linestyle=st["linestyle"], label=label)
        axr.plot(rows["margin"], rows["worst_class_risk"], color=st["color"], linestyle=st["linestyle"],
                 label=label)
    t_star, t_wc = model.optimal_threshold(), model.worst_class_threshold()
    axt.axhline(t_star, color="0.4", lw=1, linestyle=(0, (1, 1)))
    axt.axhline(t_wc, color=_C["bluish green"], lw=1, alpha=0.6)
    axt.annotate(f"t* = {t_star:.3g}", (m.max(), t_star), xytext=(-2, 3), textcoords="offset points",
                 ha="right", va="bottom", fontsize=8.5, color="0.3")
    axt.annotate(f"$t_{{wc}}$ = {t_wc:.3g}", (m.max(), t_wc), xytext=(-2, -3), textcoords="offset points",
                 ha="right", va="top", fontsize=8.5, color=_C["bluish green"])
    finite = ssp["threshold"][np.isfinite(ssp["threshold"])]
    axt.set_ylim(min(finite.min(), t_wc) - 0.5, max(finite.max(), t_star) + 0.5)
    axt.set_xlabel("margin M")
    axt.set_ylabel("learned threshold")
    axt.set_title("(b) learned threshold")
    axt.legend(loc="lower left")
    _log_risk_axis(axr)
    axr.set_xlabel("margin M")
    axr.set_ylabel("worst-class risk (log scale)")
    axr.set_title("(c) worst-class risk on the true distribution")
    axr.legend(loc="upper left")
    return fig


def _figure_3(s: Settings) -> FigureResult:
    model = reference_model()
    margins = np.linspace(0.0, 3.0, s.margin_points)
    table = compute_ssp_margin(model, margins)
    return FigureResult(
        name="fig3_ssp_margin",
        title="SSP margin pruning",
        caption=(
            "Supervised SSP drops every sample within margin M of its own class mean. (a) It keeps "
            "d_k(M) = 2Φ(-M/σ_k), so the easy class is pruned harder, the direction that helps the "
            "worst class. (b) But the learned threshold does not follow: while the cut regions avoid the "
            "decision boundary the minimiser stays at the full-data t*, and for large M it jumps to the "
            "edge of the class-0 gap, whereas random pruning to the same class densities moves the "
            "threshold towards t_wc (and past it: overshoot). (c) Hence SSP never improves the "
            "worst-class risk while random pruning with SSP's class densities does, for moderate M. "
            "Class-conditional independence, which random pruning within classes preserves, is what "
            "makes class densities act as priors."
        ),
        params={"model": repr(model), "margin grid": f"[0, 3], {s.margin_points} points"},
        table=table,
        figure=plot_ssp_margin(table, model),
    )


# ============================================================================= figure 4
def compute_regret_map(separations=None, std_ratios=None, density: float = 0.5) -> Table:
    r"""DRoP's worst-class regret over separation :math:`z=(\mu_1-\mu_0)/(\sigma_0+\sigma_1)` and
    std ratio :math:`\sigma_1/\sigma_0` (with :math:`\mu_0=0`, :math:`\sigma_0=1`, balanced priors).

    Per model (one row): worst-class risk of uniform pruning (= no pruning at population level),
    of Random+DRoP and of the worst-class-optimal allocation at ``density``; ``regret`` = DRoP −
    optimum; ``gain_captured`` = (uniform − DRoP)/(uniform − optimum) (1: optimal, 0: no better
    than uniform, < 0: worse); ``log2_ratio_drop_over_opt`` = log2 of DRoP's pruned prior ratio
    φ0'/φ1' over the optimal one (< 0: DRoP overshoots, giving the hard class too much data).
    Cells where the optimal allocation does not beat uniform (the closed form's global-optimality
    condition fails) get NaN for ``gain_captured``.
    """
    separations = np.linspace(1.0, 3.0, 61) if separations is None else np.asarray(separations, float)
    std_ratios = np.geomspace(1.05, 4.0, 61) if std_ratios is None else np.asarray(std_ratios, float)
    cols = {k: [] for k in ("separation", "std_ratio", "mu1", "sigma1", "d0_drop", "d1_drop", "d0_opt",
                            "d1_opt", "worst_uniform", "worst_drop", "worst_opt", "regret", "gain_captured",
                            "log2_ratio_drop_over_opt")}
    for r in std_ratios:
        for z in separations:
            model = TwoGaussians(means=(0.0, z * (1.0 + r)), stds=(1.0, r), priors=(0.5, 0.5))
            d_drop = model.drop_densities(density)
            d_opt = model.worst_class_optimal_densities(density)
            w_uni = float(model.worst_class_risk(model.optimal_threshold()))
            w_drop = float(model.pruned_risks(d_drop).max())
            w_opt = float(model.pruned_risks(d_opt).max())
            p_drop, p_opt = model.prune(d_drop).priors, model.prune(d_opt).priors
            gain = (w_uni - w_drop) / (w_uni - w_opt) if w_uni - w_opt > 1e-12 else np.nan
            vals = (z, r, model.means[1], r, d_drop[0], d_drop[1], d_opt[0], d_opt[1], w_uni, w_drop, w_opt,
                    w_drop - w_opt, gain, np.log2(p_drop[0] / p_drop[1]) - np.log2(p_opt[0] / p_opt[1]))
            for k, v in zip(cols, vals):
                cols[k].append(v)
    return Table(cols)


def _grid(table: Table, value: str):
    xs, ys = np.unique(table["separation"]), np.unique(table["std_ratio"])
    z = np.full((ys.size, xs.size), np.nan)
    ix = np.searchsorted(xs, table["separation"])
    iy = np.searchsorted(ys, table["std_ratio"])
    z[iy, ix] = table[value]
    return xs, ys, z


def _edges(v: np.ndarray, log: bool) -> np.ndarray:
    w = np.log(v) if log else v
    mid = (w[1:] + w[:-1]) / 2
    e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return np.exp(e) if log else e


@_styled
def plot_regret_map(table: Table, density: float) -> Figure:
    from matplotlib.colors import LogNorm, Normalize, TwoSlopeNorm
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    fig = _new_figure(13.5, 4.6, "Figure 4. Where Random+DRoP is near-optimal and where it overshoots",
                      f"μ0 = 0, σ0 = 1, balanced priors, dataset density d = {density:g}; "
                      "x: separation (μ1 − μ0)/(σ0 + σ1), y: std ratio σ1/σ0")
    axes = fig.subplots(1, 3)
    xs, ys, regret = _grid(table, "regret")
    _, _, gain = _grid(table, "gain_captured")
    _, _, over = _grid(table, "log2_ratio_drop_over_opt")
    xe, ye = _edges(xs, False), _edges(ys, True)

    pos = regret[regret > 0]
    lo = max(pos.min(), 1e-6) if pos.size else 1e-6
    hi = max(regret.max(), lo * 10)
    im = axes[0].pcolormesh(xe, ye, np.clip(regret, lo, None), cmap="cividis", norm=LogNorm(lo, hi),
                            shading="flat")
    fig.colorbar(im, ax=axes[0], label="worst-class risk: DRoP − optimum")
    levels = [lv for lv in (1e-4, 1e-3, 1e-2, 1e-1) if lo < lv < hi]
    if levels:
        cs = axes[0].contour(xs, ys, regret, levels=levels, colors="white", linewidths=0.8)
        axes[0].clabel(cs, fmt=lambda v: f"{v:g}", fontsize=7.5)
    axes[0].set_title("(a) regret of DRoP (absolute)")

    gmin = float(np.nanmin(gain)) if np.isfinite(gain).any() else -1.0
    norm = TwoSlopeNorm(vmin=min(-1.0, gmin) if gmin > -1 else -1.0, vcenter=0.0, vmax=1.0)
    im = axes[1].pcolormesh(xe, ye, np.clip(gain, -1.0, 1.0), cmap="PuOr", norm=norm, shading="flat")
    fig.colorbar(im, ax=axes[1], label="share of the attainable gain captured\n(clipped at −1)")
    cs = axes[1].contour(xs, ys, gain, levels=[0.0, 0.5], colors="black", linewidths=0.8)
    axes[1].clabel(cs, fmt={0.0: "0 (= uniform)", 0.5: "0.5"}, fontsize=7.5)
    axes[1].set_title("(b) (uniform − DRoP) / (uniform − optimum)")

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


def _figure_4(s: Settings) -> FigureResult:
    d = 0.5
    nz, nr = s.regret_points
    table = compute_regret_map(np.linspace(1.0, 3.0, nz), np.geomspace(1.05, 4.0, nr), density=d)
    return FigureResult(
        name="fig4_drop_regret_map",
        title="DRoP regret map",
        caption=(
            "Worst-class regret of Random+DRoP, whose class densities are proportional to the class "
            "errors of the model trained on all data, against the worst-class-optimal allocation "
            "(pruned prior ratio σ0/σ1), over class separation and std ratio at dataset density "
            f"d = {d:g} (no class saturates). (a) The regret shrinks quickly with separation: for well "
            "separated classes DRoP is near-optimal; in the top-left corner DRoP's prior is so skewed "
            "that the learned threshold degenerates to -∞ (always predict the hard class). (b) The share "
            "of the attainable improvement over "
            "uniform pruning that DRoP captures falls below zero for overlapping classes with very "
            "different widths: there DRoP is worse than not re-allocating at all. (c) DRoP always "
            "moves data towards the hard class but overshoots: its pruned prior ratio R0/R1 is below "
            "the optimal σ0/σ1, increasingly so as the classes overlap."
        ),
        params={"grid": f"separation in [1, 3] ({nz} points) x std ratio in [1.05, 4] ({nr} points, log)",
                "density": d, "mu0": 0, "sigma0": 1, "priors": "(0.5, 0.5)"},
        table=table,
        figure=plot_regret_map(table, d),
    )


# ============================================================================= figure 5
FINITE_SAMPLE_COLUMNS = ("source", "learner", "method", "n", "d0", "d1", "worst_class_risk", "worst_se",
                         "worst_lo", "worst_hi", "worst_of_mean_class_risks", "average_risk", "average_se",
                         "threshold_sd", "trials", "seed")


def compute_finite_samples(model: TwoGaussians | None = None, n_values=(100, 1000, 10000),
                           density: float = 0.5, trials: int = 400, seed: int = 0,
                           learners=("erm", "plugin")) -> Table:
    r"""Worst-class risk against the training-set size ``n`` for uniform, DRoP and optimal allocations.

    ``source == "monte_carlo"``: :func:`~gaussian_theory.simulation.simulate` of random pruning to each
    allocation's class densities at ``density``, for each learner, ``trials`` training sets per ``n``
    (seed ``subseed(seed, i)`` shared by allocations and learners: common random numbers). Columns:
    mean, standard error and 95% interval of :math:`E[\max_kR_k(\hat t)]`, the smaller
    :math:`\max_kE[R_k(\hat t)]`, and the standard deviation of the learned threshold.
    ``source == "population"``: the closed-form limit :func:`~gaussian_theory.simulation.population_limit`
    (``n`` = inf), the asymptote.
    """
    from .simulation import RandomPruning, population_limit, simulate

    model = model or reference_model()
    allocations = {"uniform": np.array([density, density]), "drop": model.drop_densities(density),
                   "optimal": model.worst_class_optimal_densities(density)}
    rows = []
    nan = float("nan")
    for learner in learners:
        for method, dens in allocations.items():
            r = population_limit(model, RandomPruning(tuple(dens)), learner=learner)
            rows.append({"source": "population", "learner": learner, "method": method, "n": np.inf,
                         "d0": dens[0], "d1": dens[1], "worst_class_risk": float(r.max()), "worst_se": nan,
                         "worst_lo": nan, "worst_hi": nan, "worst_of_mean_class_risks": float(r.max()),
                         "average_risk": float(r @ model.priors), "average_se": nan, "threshold_sd": 0.0,
                         "trials": 0, "seed": nan})
        for i, n in enumerate(n_values):
            s = subseed(seed, i)
            for method, dens in allocations.items():
                res = simulate(model, int(n), RandomPruning(tuple(dens)), learner=learner, trials=trials,
                               seed=s)
                lo, hi = res.ci(0.95)["worst_class_risk"]
                finite = res.thresholds[np.isfinite(res.thresholds)]
                rows.append({"source": "monte_carlo", "learner": learner, "method": method, "n": int(n),
                             "d0": dens[0], "d1": dens[1], "worst_class_risk": res.mean_worst_class_risk,
                             "worst_se": res.se_worst_class_risk, "worst_lo": lo, "worst_hi": hi,
                             "worst_of_mean_class_risks": res.worst_of_mean_class_risks,
                             "average_risk": res.mean_average_risk, "average_se": res.se_average_risk,
                             "threshold_sd": float(finite.std(ddof=1)) if finite.size > 1 else nan,
                             "trials": res.trials, "seed": s})
    return Table({c: [r[c] for r in rows] for c in FINITE_SAMPLE_COLUMNS})


LEARNER_TEXT = {"erm": "ERM threshold (empirical 0-1 risk minimiser)",
                "plugin": "plug-in threshold (Gaussian MLE, then t*)", "logistic": "logistic regression"}


@_styled
def plot_finite_samples(table: Table, model: TwoGaussians, density: float) -> Figure:
    mc = table.where(source="monte_carlo")
    trials = int(mc["trials"][0])
    learners = table.unique("learner")
    fig = _new_figure(5.8 * len(learners), 5.0,
                      "Figure 5. Finite samples: expected worst-class risk against the training-set size n",
                      f"{_model_text(model)}; dataset density d = {density:g}; mean and 95% CI over {trials} "
                      "training sets; dashed: closed-form limit n → ∞")
    axes = np.atleast_1d(fig.subplots(1, len(learners), sharey=True))
    pop = table.where(source="population")
    for k, (ax, learner) in enumerate(zip(axes, learners)):
        for method in ("uniform", "drop", "optimal"):
            st = METHOD_STYLE[method]
            sim = mc.where(learner=learner, method=method)
            asym = float(pop.where(learner=learner, method=method)["worst_class_risk"][0])
            ax.plot(sim["n"], sim["worst_class_risk"], color=st["color"], marker=st["marker"],
                    linestyle=st["linestyle"],
                    label=f"{st['label']}: (d0, d1) = ({sim['d0'][0]:.3f}, {sim['d1'][0]:.3f})")
            _band(ax, sim["n"], sim["worst_lo"], sim["worst_hi"], st["color"])
            ax.axhline(asym, color=st["color"], linestyle=(0, (4, 2)), lw=1.1)
            if k == len(learners) - 1:
                ax.annotate(f"{asym:.4f}", (1.0, asym), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=8, color=st["color"])
        ax.set_xscale("log")
        _log_risk_axis(ax, ticks=(0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1))
        ax.set_xlabel("training-set size n before pruning (log scale)")
        ax.set_title(f"({'abc'[k]}) {LEARNER_TEXT.get(learner, learner)}")
        ax.legend(loc="upper right")
    axes[0].set_ylabel("E[worst-class risk] (log scale)")
    return fig


def _figure_5(s: Settings) -> FigureResult:
    model, d = reference_model(), 0.5
    table = compute_finite_samples(model, s.n_values, density=d, trials=s.mc_trials, seed=subseed(s.seed, 5))
    return FigureResult(
        name="fig5_finite_samples",
        title="Finite samples",
        caption=(
            "Expected worst-class risk E[max_k R_k] of the threshold learned after random pruning to "
            f"dataset density d = {d:g}, against the training-set size n before pruning, for uniform, "
            f"Random+DRoP and worst-class-optimal class densities ({_model_text(model)}): Monte Carlo means "
            f"with 95% intervals over {s.mc_trials} training sets, and the closed-form population limits "
            "(dashed). (a) The empirical 0-1 risk minimiser converges slowly (cube-root rate): up to n of a "
            "few thousand its threshold noise outweighs the allocation effect, and because E[max_k R_k] is "
            "inflated most where R0 = R1, the worst-class-optimal allocation only beats uniform from "
            "n ≈ 3000 on. "
            "(b) The Gaussian plug-in threshold converges at the 1/√n rate and shows the population "
            "ranking (optimal < DRoP < uniform) from n ≈ 1000 on."
        ),
        params={"model": repr(model), "density": d, "n": ", ".join(str(n) for n in s.n_values),
                "trials": s.mc_trials, "learners": "erm, plugin", "seed": s.seed},
        table=table,
        figure=plot_finite_samples(table, model, d),
    )


# ============================================================================= figure 6
def many_classes_mixture(n_classes: int = 10, separation: float = 2.5, std_range=(0.5, 1.5)):
    r"""The Figure 6 mixture: K isotropic classes in p = K dimensions with means
    ``separation * e_k`` (every pair equally far apart, :math:`\sqrt2\,` ``separation``), balanced
    priors, and standard deviations spread geometrically over ``std_range``, so class difficulty
    comes from the variances alone (class k is harder than class k - 1)."""
    from .mixture import GaussianMixture

    return GaussianMixture(separation * np.eye(n_classes), stds=np.geomspace(*std_range, n_classes))


MANY_CLASSES_COLUMNS = ("density", "method", "class", "sigma", "class_density", "pruned_prior", "recall",
                        "recall_se", "worst_class_risk", "average_risk")
_MIXTURE_METHODS = {"uniform": "uniform", "DRoP": "drop", "minimax": "minimax"}


def compute_many_classes(mixture=None, densities=(0.2, 0.5), n_mc: int = 200_000, seed: int = 0) -> Table:
    r"""Class recalls of the Bayes rule learned after uniform, DRoP and minimax allocations.

    Per ``density``, :meth:`GaussianMixture.compare_allocations` (same Monte Carlo draws for every
    allocation; ``n_mc`` per class; ``seed``); one row per (density, method, class). ``method`` is
    ``uniform``, ``drop`` or ``minimax`` (pruned priors equal to the worst-class-optimal priors,
    water-filled when a class saturates, which is exact for K = 2 and a heuristic for K > 2).
    """
    mixture = mixture or many_classes_mixture()
    rows = []
    for d in densities:
        comp = mixture.compare_allocations(float(d), n_mc=n_mc, seed=seed)
        for name, res in comp.items():
            dens = np.asarray(res["densities"])
            pruned = mixture.prune(dens).priors
            for k in range(mixture.n_classes):
                rows.append({"density": float(d), "method": _MIXTURE_METHODS[name], "class": k,
                             "sigma": float(mixture.stds[k]), "class_density": float(dens[k]),
                             "pruned_prior": float(pruned[k]), "recall": float(1.0 - res["risks"][k]),
                             "recall_se": float(res["se"][k]), "worst_class_risk": res["worst_class_risk"],
                             "average_risk": res["average_risk"]})
    return Table({c: [r[c] for r in rows] for c in MANY_CLASSES_COLUMNS})


@_styled
def plot_many_classes(table: Table, mixture, separation: float, minimax_note: str) -> Figure:
    from matplotlib.lines import Line2D

    densities = table.unique("density")
    p = mixture.dim
    fig = _new_figure(5.0 * (len(densities) + 1), 5.2,
                      f"Figure 6. Many classes: K = {mixture.n_classes} isotropic Gaussians "
                      f"in p = {p} dimensions",
                      f"means {separation:g}·e_k (equidistant), σ_k from {mixture.stds[0]:g} to "
                      f"{mixture.stds[-1]:g} (geometric), balanced priors; Bayes rule trained on the pruned "
                      f"priors; recalls by Monte Carlo ({minimax_note})")
    axes = fig.subplots(1, len(densities) + 1)
    offsets = {"uniform": -0.15, "drop": 0.0, "minimax": 0.15}
    methods = ("uniform", "drop", "minimax")
    density_styles = dict(zip(densities, ("-", "--", ":")))
    for ax, d in zip(axes, densities):
        lines = []
        for method in methods:
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


def _figure_6(s: Settings) -> FigureResult:
    separation = 2.5
    mixture = many_classes_mixture(10, separation)
    seed = subseed(s.seed, 6)
    densities = (0.2, 0.5)
    table = compute_many_classes(mixture, densities, n_mc=s.mixture_mc, seed=seed)
    cert = mixture.minimax(n_mc=min(s.mixture_mc, 50_000), seed=seed)  # the run inside compare_allocations
    note = (f"minimax: {cert.message}, spread {cert.spread:.1e}" if cert.converged
            else f"WARNING minimax not converged: {cert.message}")
    return FigureResult(
        name="fig6_many_classes",
        title="Many classes",
        caption=(
            f"K = 10 isotropic Gaussian classes in p = 10 dimensions, means {separation:g}·e_k (all pairs "
            "equally far apart) and standard deviations from 0.5 to 1.5, so class k is harder than "
            "class k − 1. Per-class recalls (±1.96 MC SE) of the Bayes rule trained after random pruning "
            "with uniform, DRoP (quotas ∝ error of the full-data Bayes rule) and minimax class densities "
            "(pruned priors equal to the worst-class-optimal priors). At d = 0.2 no class saturates: the "
            "minimax allocation equalises every recall, DRoP flattens the recall profile part of the way, "
            "lifting the worst class at the cost of the easy ones. At d = 0.5 the hardest classes are kept "
            "whole and no allocation can equalise every recall; the minimax densities (GaussianMixture."
            "minimax_densities: worst class minimised over the capped priors) still lift the worst class "
            "above DRoP's; that minimiser is not unique, so its density profile can be jagged. "
            "(c) The class densities: DRoP and minimax both prune the "
            "easy classes hardest, minimax far more aggressively."
        ),
        params={"mixture": repr(mixture), "densities": ", ".join(f"{d:g}" for d in densities),
                "Monte Carlo points per class": s.mixture_mc, "seed": s.seed,
                "minimax certificate": note},
        table=table,
        figure=plot_many_classes(table, mixture, separation, note),
    )


# ============================================================================= registry, output
@dataclass(frozen=True)
class FigureSpec:
    number: int
    name: str
    build: Callable[[Settings], FigureResult]
    needs: tuple = ()  # library modules this figure needs (for a clear error while one is missing)


FIGURES: list[FigureSpec] = [
    FigureSpec(1, "fig1_risks_vs_prior", _figure_1),
    FigureSpec(2, "fig2_risk_vs_density", _figure_2),
    FigureSpec(3, "fig3_ssp_margin", _figure_3),
    FigureSpec(4, "fig4_drop_regret_map", _figure_4),
    FigureSpec(5, "fig5_finite_samples", _figure_5),
    FigureSpec(6, "fig6_many_classes", _figure_6),
]


def write_figure(result: FigureResult, out_dir) -> list[Path]:
    """Write ``<name>.png``, ``<name>.pdf`` and ``<name>.csv`` into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, meta in (("png", {"Software": None}), ("pdf", {"CreationDate": None, "Creator": None})):
        p = out / f"{result.name}.{ext}"
        atomic_write(p, lambda tmp, ext=ext, meta=meta: result.figure.savefig(
            tmp, format=ext, dpi=150, metadata=meta, bbox_inches="tight", pad_inches=0.08))
        paths.append(p)
    p = out / f"{result.name}.csv"
    atomic_write(p, result.table.to_csv)
    paths.append(p)
    result.files = paths
    return paths


def _readme(results: list[FigureResult], s: Settings) -> str:
    mode = "--quick" if s.quick else "full"
    lines = [
        "# droplab figures",
        "",
        "Regenerate with `droplab figures` (all figures into `figures/`; about a minute or two on a laptop "
        "CPU), or `droplab figures --quick --out DIR` (coarse grids, few Monte Carlo trials, seconds). "
        "Options: `--only 1 4` builds a subset, `--seed N` changes every Monte Carlo seed.",
        "",
        "Generated by `droplab figures` (this file included; do not edit by hand, edit the captions in "
        "`gaussian_theory/figures.py`). Each figure comes as PNG and PDF plus a CSV holding every number "
        "plotted (tidy: one row per point). Colours: Okabe-Ito (colour-blind safe).",
        "",
        # No timings here: the file is committed, and regenerating must reproduce it byte for byte.
        f"Run: {mode} settings, seed {s.seed}.",
        "",
    ]
    for r in results:
        lines += [f"## {r.title}", "", f"![{r.title}]({r.name}.png)", "", r.caption, ""]
        lines.append("Parameters: " + "; ".join(f"{k} = {v}" for k, v in r.params.items()) + ".")
        lines += ["", f"Files: `{r.name}.png`, `{r.name}.pdf`, `{r.name}.csv` "
                  f"({len(r.table)} rows; columns {', '.join(f'`{c}`' for c in r.table.columns)}).", ""]
    return "\n".join(lines)


def make_figures(out_dir="figures", quick: bool = False, seed: int = 0, only=None, progress: bool = True,
                 readme: bool = True) -> list[FigureResult]:
    """Build and write the figures (all, or the numbers/names in ``only``); return their results.

    ``README.md`` (captions and parameters) is written only when every figure is built.
    """
    from tqdm.auto import tqdm

    s = Settings.preset(quick, seed)
    specs = FIGURES
    if only:
        wanted = {str(w) for w in only}
        specs = [f for f in FIGURES if str(f.number) in wanted or f.name in wanted]
        unknown = wanted - {str(f.number) for f in specs} - {f.name for f in specs}
        if unknown:
            raise ValueError(f"unknown figure(s) {sorted(unknown)}; choose from "
                             f"{[f.number for f in FIGURES]} or {[f.name for f in FIGURES]}")
    results = []
    bar = tqdm(specs, desc="figures", unit="fig", disable=not progress)
    for spec in bar:
        bar.set_postfix_str(spec.name)
        t0 = time.perf_counter()
        result = spec.build(s)
        write_figure(result, out_dir)
        result.seconds = time.perf_counter() - t0
        result.figure = None  # free the drawing; the files hold it
        results.append(result)
    if readme and len(specs) == len(FIGURES):  # a partial run must not shrink the captions file
        text = _readme(results, s)
        path = Path(out_dir) / "README.md"
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return results


# ============================================================================= CLI
def _cmd_figures(args) -> int:
    t0 = time.perf_counter()
    results = make_figures(args.out, quick=args.quick, seed=args.seed, only=args.only,
                           progress=not args.no_progress)
    for r in results:
        print(f"{r.name}: {', '.join(p.name for p in r.files)}  ({len(r.table)} rows, {r.seconds:.1f} s)")
    print(f"wrote {3 * len(results)} files to {args.out}/ in {time.perf_counter() - t0:.1f} s")
    return 0


def register_cli(subparsers) -> None:
    """Add the ``figures`` sub-command to the ``droplab`` parser."""
    p = subparsers.add_parser(
        "figures", help="regenerate every figure (PNG, PDF and CSV) into figures/",
        description="Regenerate the figures: PNG and PDF plus a CSV of the numbers behind each, and a "
        "README.md with captions. --quick uses coarse grids and few Monte Carlo trials (for tests).")
    p.add_argument("--out", default="figures", metavar="DIR", help="output folder (default: figures)")
    p.add_argument("--quick", action="store_true", help="coarse grids, few Monte Carlo trials (< 1 min)")
    p.add_argument("--seed", type=int, default=0, help="seed of every Monte Carlo estimate (default 0)")
    p.add_argument("--only", nargs="+", metavar="FIG", help="figure numbers or names to build (default: all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_figures)

