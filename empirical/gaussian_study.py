r"""The synthetic Gaussian study judged by the exact theory: the population's worst-class-optimal class
densities, and each run's allocation scored by what the theory says it is worth.

The pipeline's ``--dataset gaussian`` draws its vectors from a known
:class:`~gaussian_theory.mixture.GaussianMixture` (:func:`empirical.small_datasets.gaussian_mixture`), so
for this dataset alone the best allocation is known rather than estimated (README, "Finite samples, many
classes"; paper arXiv 2404.05579, §4 and App. B):

* :func:`optimum_allocation`: the class densities :math:`d_k` with :math:`\sum_k\pi_kd_k=d` minimising
  the worst class risk :math:`\max_kR_k(w(d))` of the Bayes rule trained on the pruned priors
  :math:`w_k\propto\pi_kd_k` (:func:`gaussian_theory.minimax.minimax_densities`). Written as a
  ``{"densities": ...}`` file, it trains like any other allocation (``--quota counts --counts FILE``).
* :func:`population_scores`: for every run on the gaussian dataset, the population class recalls
  :math:`1-R_k(w)` of the Bayes rule trained on the class densities the run kept, and its *population
  regret* against the optimum, :math:`\max_kR_k(w(\text{run}))-\max_kR_k(w^\star)` -- the part of a
  rule's shortfall that is the allocation's fault, free of the finite-sample and training noise of the
  measured test accuracy (which the report's paired comparisons carry).

The Monte Carlo risks use one seed for every allocation (common random numbers), so differences between
allocations are far more precise than each risk's own standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaussian_theory.minimax import MinimaxAllocation, minimax_densities
from gaussian_theory.validation import check_density, check_int

from .small_datasets import gaussian_mixture

__all__ = ["optimum_allocation", "optimum_file", "PopulationScore", "population_scores",
           "format_population_scores"]

#: the label of the optimum's runs (``--counts-label``/the file's ``label``) in reports
OPTIMUM_LABEL = "Optimum"


def optimum_allocation(density, synthetic: dict | None = None, *, n_mc: int = 50_000,
                       seed: int = 0) -> MinimaxAllocation:
    """Worst-class-optimal class densities of the gaussian dataset's population at ``density``
    (``synthetic``: the run's ``--gaussian-*`` options, as in ``RunConfig.synthetic``), certified on fresh
    Monte Carlo draws (:func:`gaussian_theory.minimax.minimax_densities`)."""
    density = check_density(density)
    return minimax_densities(gaussian_mixture(**(synthetic or {})), density, n_mc=n_mc, seed=seed)


def optimum_file(density, synthetic: dict | None = None, *, n_mc: int = 50_000, seed: int = 0) -> dict:
    """The optimum as the allocation file ``droplab empirical run --quota counts --counts FILE`` reads:
    ``densities`` (the pipeline rounds them to counts summing to round(density x N)), ``label`` and, for
    the record, the population recalls and worst-class recall it certifies."""
    opt = optimum_allocation(density, synthetic, n_mc=n_mc, seed=seed)
    return {"label": OPTIMUM_LABEL, "density": float(density), "synthetic": dict(synthetic or {}),
            "densities": [float(v) for v in opt.densities],
            "population_recalls": [float(1.0 - r) for r in opt.risks],
            "population_worst_class_recall": float(1.0 - opt.max_risk),
            "source": "gaussian_theory.minimax.minimax_densities (Monte Carlo, certified on fresh draws)",
            "n_mc": int(n_mc), "seed": int(seed)}


@dataclass(frozen=True)
class PopulationScore:
    """One run's allocation judged by the theory. ``population_recalls``: class recalls of the Bayes rule
    trained on the run's kept class densities, on the unpruned population; ``regret``: the optimum's
    population worst-class recall minus the run's (>= 0 up to Monte Carlo error, ``se``);
    ``measured_worst``: the run's trained worst-class test accuracy, for comparison."""

    method: str
    density: float
    seed: int
    class_densities: np.ndarray
    population_recalls: np.ndarray
    population_worst: float
    optimum_worst: float
    regret: float
    se: float
    measured_worst: float


def population_scores(runs, *, n_mc: int = 200_000, seed: int = 0,
                      optimum_n_mc: int = 50_000) -> list[PopulationScore]:
    """Score every run of ``runs`` (run dicts, or folders/files of run JSONs) that trained on the
    gaussian dataset; runs of other datasets are skipped, and ValueError is raised when none is left.

    The optimum of each (``synthetic``, density) is computed once; the risks of every allocation use
    ``seed`` (common random numbers). ``se`` is the binomial standard error of the worst class's risk
    difference, bounded by the sum of the two risks' errors."""
    n_mc = check_int(n_mc, "n_mc", minimum=1_000)
    runs = _gaussian_runs(runs)
    optima: dict = {}
    out = []
    for r in runs:
        synthetic = dict(r["config"].get("synthetic") or {})
        density = float(r["config"]["density"])
        key = (tuple(sorted(synthetic.items())), density)
        mixture = gaussian_mixture(**synthetic)
        if key not in optima:
            opt = optimum_allocation(density, synthetic, n_mc=optimum_n_mc, seed=seed)
            optima[key] = mixture.pruned_risks(opt.densities, n_mc=n_mc, seed=seed)
        best = optima[key]
        d = np.asarray(r["selection"]["class_densities"], dtype=float)
        risks = mixture.pruned_risks(d, n_mc=n_mc, seed=seed)
        k, k_opt = int(np.argmax(risks.risks)), int(np.argmax(best.risks))
        out.append(PopulationScore(
            method=r["method"], density=density, seed=int(r["seed"]), class_densities=d,
            population_recalls=risks.recalls, population_worst=float(1.0 - risks.worst),
            optimum_worst=float(1.0 - best.worst), regret=float(risks.worst - best.worst),
            se=float(risks.se[k] + best.se[k_opt]),
            measured_worst=float(r["metrics"]["worst_class_accuracy"])))
    return out


def _gaussian_runs(runs) -> list:
    if isinstance(runs, (str, bytes)) or hasattr(runs, "__fspath__"):
        runs = [runs]
    runs = list(runs)
    if runs and not isinstance(runs[0], dict):
        from .report_runs import collect

        runs = collect(runs)
    kept = [r for r in runs if r.get("config", {}).get("dataset") == "gaussian"]
    if not kept:
        raise ValueError(f"no finished run on the gaussian dataset among {len(runs)} run(s)")
    return kept


def format_population_scores(scores: list[PopulationScore]) -> str:
    """Per density and method, over seeds: the mean population worst-class recall of the kept allocation,
    the mean population regret against the optimum (with its largest Monte Carlo SE), and the mean
    measured worst-class test accuracy of the trained runs."""
    lines = ["Population regret: worst-class recall of the Bayes rule trained on each run's kept class "
             "densities,", "against the worst-class-optimal densities (exact theory, Monte Carlo with common "
             "random numbers)", ""]
    for density in sorted({s.density for s in scores}):
        at = [s for s in scores if s.density == density]
        opt = at[0].optimum_worst
        lines.append(f"d = {density:g}: optimum's population worst-class recall {opt:.4f}")
        lines.append(f"  {'method':<28} {'seeds':>5} {'population worst':>16} {'regret':>8} {'MC se':>7} "
                     f"{'measured worst (test)':>22}")
        methods = sorted({s.method for s in at}, key=lambda m: -np.mean([s.regret for s in at
                                                                           if s.method == m]))
        for m in methods:
            rows = [s for s in at if s.method == m]
            lines.append(f"  {m:<28} {len(rows):>5} {np.mean([s.population_worst for s in rows]):>16.4f} "
                         f"{np.mean([s.regret for s in rows]):>+8.4f} {max(s.se for s in rows):>7.4f} "
                         f"{np.mean([s.measured_worst for s in rows]):>22.4f}")
        lines.append("")
    return "\n".join(lines)
