"""How the report's figures and captions name seeds: a study's seeds, a number of seeds.

Shared by :mod:`empirical.report_figures_accuracy`, :mod:`empirical.report_figures_classes` and
:mod:`empirical.report_figures_pareto`, so that every figure of ``droplab empirical report`` and its
caption in the report's ``README.md`` (documentation site, "Real data" pages) say it the same way.
"""

from __future__ import annotations

__all__ = ["seeds_text", "n_seeds_text"]


def seeds_text(study: dict) -> str:
    """A study's seeds: ``0, 1, 2``."""
    return ", ".join(map(str, study["seeds"]))


def n_seeds_text(n: int) -> str:
    """A number of seeds: ``1 seed``, ``3 seeds``."""
    return f"{n} seed" if n == 1 else f"{n} seeds"
