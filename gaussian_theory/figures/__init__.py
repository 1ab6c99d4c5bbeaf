r"""Every figure of droplab (README, "Figures and notebooks"; ``droplab figures`` draws them).

Each figure is a module (``fig1_risks_vs_prior`` ... ``fig6_many_classes``) with two short public
functions: ``compute_*`` builds a tidy :class:`Table` (one row per plotted point, every number behind
the figure) from library calls only, and ``plot_*`` draws that table; its ``build(settings)`` adds the
caption, whose numbers are read from the table. :func:`make_figures` (``registry``) runs them and
writes, per figure, ``<name>.png``, ``<name>.pdf`` and ``<name>.csv`` (each written atomically), plus
a ``README.md`` with one captioned entry per figure.

Grids and Monte Carlo budgets live in :class:`Settings` (``settings``): ``quick=True`` uses coarse
grids and few trials (seconds, for tests); the full run uses fine grids and enough trials for smooth
bands (a few minutes). Monte Carlo seeds derive from one ``seed`` so every run is reproducible.
Colours (``style``): the Okabe-Ito palette (colour-blind safe); curves also differ in line style or
marker.

Rooms: ``style`` (colours, matplotlib style, axis helpers), ``table`` (:class:`Table`, CSV),
``settings`` (:class:`Settings`, :func:`reference_model`, :func:`subseed`), ``registry``
(:data:`FIGURES`, :func:`write_figure`, the README writer, :func:`make_figures`), one module per figure;
``tradeoff`` draws a user's predicted trade-off (``droplab allocate --logits ... --plot``), not a theory
figure.
"""

from __future__ import annotations

from .fig1_risks_vs_prior import compute_risks_vs_prior, plot_risks_vs_prior
from .fig2_risk_vs_density import (
    RISK_VS_DENSITY_COLUMNS,
    compute_risk_vs_density,
    plot_risk_vs_density,
    ssp_margin_for_density,
)
from .fig3_ssp_margin import compute_ssp_margin, plot_ssp_margin
from .fig4_drop_regret_map import REGRET_MAP_COLUMNS, compute_regret_map, plot_regret_map
from .fig5_finite_samples import (
    FINITE_SAMPLE_COLUMNS,
    LEARNER_TEXT,
    compute_finite_samples,
    plot_finite_samples,
)
from .fig6_many_classes import (
    MANY_CLASSES_COLUMNS,
    compute_many_classes,
    many_classes_mixture,
    plot_many_classes,
)
from .registry import FIGURES, FigureResult, FigureSpec, make_figures, write_figure
from .settings import Settings, reference_model, subseed
from .style import METHOD_STYLE, OKABE_ITO
from .table import Table

__all__ = [
    "Table", "Settings", "FigureResult", "FigureSpec", "FIGURES", "make_figures", "write_figure",
    "compute_risks_vs_prior", "plot_risks_vs_prior",
    "compute_risk_vs_density", "plot_risk_vs_density",
    "compute_ssp_margin", "plot_ssp_margin",
    "compute_regret_map", "plot_regret_map",
    "compute_finite_samples", "plot_finite_samples",
    "compute_many_classes", "plot_many_classes",
    "OKABE_ITO", "METHOD_STYLE", "reference_model", "many_classes_mixture",
    "ssp_margin_for_density", "subseed",
    "RISK_VS_DENSITY_COLUMNS", "REGRET_MAP_COLUMNS", "FINITE_SAMPLE_COLUMNS", "MANY_CLASSES_COLUMNS",
    "LEARNER_TEXT",
]
