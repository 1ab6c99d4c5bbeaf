r"""Why DRoP is (or is not) far from the best on a dataset: each class's measured learning curve
against what DRoP's rule assumes about it.

DRoP keeps class :math:`k` at a density :math:`d_k\propto 1-r_k` (arXiv 2404.05579, Algorithm 1), where
:math:`r_k` is a query model's validation recall: a class's *need* for data is read off its error. The
two-Gaussian theory gives another reading, the probit rule :math:`d_k\propto\varphi(\Phi^{-1}(r_k))`
(README, "The paper's formulas"; :func:`gaussian_theory.allocation.allocation_weights`). What decides
the worst class after pruning is neither: it is how much each class's recall gains when it keeps more of
its own samples at a fixed budget. This module measures that from a folder of committed runs.

For every run that prunes at random inside each class (score ``random``: the Random, class-stratified,
DRoP, damped-DRoP, probit, learned and pilot runs alike), class :math:`k` kept :math:`n_k` samples of a
total :math:`n` and reached test recall :math:`y_k`. Per class, ordinary least squares over the runs,

.. math::

   y_k = \beta_{0k} + s_k\log_2 n_k + c_k\log_2 n,

gives :math:`s_k`, the **gain per doubling**: the change of class :math:`k`'s test recall when it keeps
twice its samples *at the same total* (the others give them up; this is the trade an allocation makes).
When the runs cannot separate :math:`n_k` from :math:`n` (every run keeps the same class proportions),
the total term is dropped and :math:`s_k` also carries the total's effect (:attr:`ClassCurves.at_fixed_total`
says which). Runs that kept no sample of class :math:`k` are left out of its fit (their recall is
reported apart). The interval of :math:`s_k` is a percentile bootstrap over **seeds** (all runs of a seed
resampled together, since they share a query model and data order), 2,000 resamples from a fixed seed.

What DRoP does to a class is then, to first order, :math:`s_k\,\Delta_k`, where
:math:`\Delta_k=\log_2(n_k^{\mathrm{DRoP}}/n_k^{\mathrm{Random}})` is the doublings it gives (or takes
from) class :math:`k` against random pruning at the same density (:meth:`ClassCurves.effect`, which sets
it beside the measured change, paired by seed). DRoP lifts the worst class when the classes it takes
from have flat curves (small :math:`s_k`: their recall barely moves) and fails when it takes from a class
whose recall the query model rates high but which still climbs steeply with its data, or deletes one
(MNIST-1D; documentation site, "Across datasets", "Why"). :attr:`ClassCurves.error_gain_correlation`,
the Spearman correlation of the query error :math:`1-r_k` with :math:`s_k`, says whether DRoP's proxy
ranks the classes as their curves do (the probit weight ranks them the same way for recalls above 1/2).
This is a description of committed runs, not a causal estimate: the allocations were not randomised.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from gaussian_theory.allocation import allocation_weights
from gaussian_theory.validation import check_density, check_int

from .power import paired_t_interval
from .report_runs import CELL_FIELDS, collect, group_runs

__all__ = ["ClassCurves", "ClassEffect", "class_curves", "format_class_curves"]

#: bootstrap resamples of the seeds, and their fixed seed (the same runs give the same interval)
N_BOOT = 2000
BOOT_SEED = 20250407


@dataclass(frozen=True)
class ClassEffect:
    """What one method did to each class against a baseline at one density (:meth:`ClassCurves.effect`)."""

    method: str
    baseline: str
    density: float
    seeds: tuple
    doublings: np.ndarray            # (K,) mean log2(n_k method / n_k baseline); NaN where one was 0
    n_deleted: np.ndarray            # (K,) seeds in which the method kept none of the class
    predicted: np.ndarray            # (K,) gain per doubling x doublings: the first-order change
    measured: np.ndarray             # (K,) mean change of test recall over the seeds
    measured_intervals: np.ndarray   # (K, 2) 95% paired t interval over seeds

    def agreement(self) -> dict:
        """Predicted against measured change over the classes with a prediction: ``n``, Pearson ``r``
        (NaN below 3 classes), mean absolute error ``mae`` and ``same_sign`` (classes whose signs agree).
        In-sample: the curves were fitted on runs that include the method's own."""
        ok = np.isfinite(self.predicted) & np.isfinite(self.measured)
        p, m = self.predicted[ok], self.measured[ok]
        r = float(np.corrcoef(p, m)[0, 1]) if ok.sum() >= 3 and p.std() > 0 and m.std() > 0 else float("nan")
        return {"n": int(ok.sum()), "r": r, "mae": float(np.abs(p - m).mean()) if ok.any() else float("nan"),
                "same_sign": int((np.sign(p) == np.sign(m)).sum())}


@dataclass(frozen=True)
class ClassCurves:
    """The measured per-class learning curves of one dataset and model (:func:`class_curves`)."""

    dataset: str
    model: str
    class_names: tuple
    class_sizes: np.ndarray          # (K,) training samples per class before pruning
    counts: np.ndarray               # (R, K) kept samples per class, one row per run
    recalls: np.ndarray              # (R, K) test recall per class
    seeds: np.ndarray                # (R,)
    methods: tuple                   # (R,) the report's method label of each run
    densities: np.ndarray            # (R,) the run's overall density
    floors: np.ndarray               # (R,) the run's per-class floor (min_per_class)
    query_recalls: np.ndarray        # (K,) mean validation recall of the query models
    n_query_models: int
    slopes: np.ndarray               # (K,) gain of test recall per doubling of n_k
    slope_intervals: np.ndarray      # (K, 2) 95% seed-bootstrap interval
    n_fit: np.ndarray                # (K,) runs in each class's fit (n_k > 0)
    at_fixed_total: bool
    error_gain_correlation: float    # Spearman rho of the query error 1 - r_k with the gain s_k

    @property
    def n_classes(self) -> int:
        return int(self.class_sizes.size)

    def weights(self, allocation_rule: str = "drop") -> np.ndarray:
        """A rule's per-class weight from the query recalls (its densities are proportional to it):
        :func:`gaussian_theory.allocation.allocation_weights`, ``"drop"`` (:math:`1-r_k`) or ``"probit"``."""
        return allocation_weights(self.query_recalls, allocation_rule=allocation_rule)

    def shared_densities(self, method: str = "Random+DRoP", baseline: str = "Random") -> list[float]:
        """The densities at which both ``method`` and ``baseline`` have runs, ascending."""
        have = {m: {round(float(d), 6) for mm, d in zip(self.methods, self.densities) if mm == m}
                for m in (method, baseline)}
        return sorted(have[method] & have[baseline])

    def effect(self, density: float, method: str = "Random+DRoP", baseline: str = "Random", *,
               floor: int | None = None) -> ClassEffect:
        """What ``method`` did to each class at ``density`` against ``baseline``, paired by seed: the
        doublings it gave each class, the first-order change the fitted curves predict from them, and
        the measured change of test recall (mean and 95% paired t interval over seeds). ``floor``: only
        the runs with that per-class floor (needed when the runs hold several)."""
        density = check_density(density)
        if floor is not None:
            floor = check_int(floor, "floor", minimum=0)
        pairs = {}
        for label in (method, baseline):
            by_seed = defaultdict(list)
            for i, (m, d) in enumerate(zip(self.methods, self.densities)):
                if m == label and np.isclose(d, density) and (floor is None or self.floors[i] == floor):
                    by_seed[int(self.seeds[i])].append(i)
            if not by_seed:
                raise ValueError(f"no {label!r} run at density {density:g}; methods here: "
                                 f"{sorted(set(self.methods))}")
            several = {s: v for s, v in by_seed.items() if len(v) > 1}
            if several:
                floors = sorted({int(self.floors[i]) for v in several.values() for i in v})
                what = (f" with per-class floors {floors}: choose one (floor=, --floor)" if len(floors) > 1
                        else ": pass one configuration's files")
                raise ValueError(f"{label!r} at density {density:g} has several runs for seed(s) "
                                 f"{sorted(several)}{what}")
            pairs[label] = {s: v[0] for s, v in by_seed.items()}
        seeds = sorted(set(pairs[method]) & set(pairs[baseline]))
        if not seeds:
            raise ValueError(f"{method!r} and {baseline!r} share no seed at density {density:g}")
        a = np.array([pairs[method][s] for s in seeds])
        b = np.array([pairs[baseline][s] for s in seeds])
        n_deleted = (self.counts[a] == 0).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):   # a 0 on either side: set to NaN below
            doublings = np.log2(self.counts[a] / self.counts[b]).mean(axis=0)
        undefined = (n_deleted > 0) | (self.counts[b] == 0).any(axis=0)   # no number of doublings reaches 0
        doublings = np.where(undefined, np.nan, doublings)
        diff = self.recalls[a] - self.recalls[b]
        t = [paired_t_interval(diff[np.isfinite(diff[:, k]), k]) for k in range(self.n_classes)]
        return ClassEffect(method=method, baseline=baseline, density=density, seeds=tuple(seeds),
                           doublings=doublings, n_deleted=n_deleted, predicted=self.slopes * doublings,
                           measured=np.array([r["mean"] for r in t]),
                           measured_intervals=np.array([[r["low"], r["high"]] for r in t]))

    def to_rows(self) -> list[dict]:
        """One row per class (for a CSV): query recall, DRoP's and the probit rule's weights, the gain per
        doubling and its interval."""
        rows = []
        for k in range(self.n_classes):
            row = {"class": k, "name": self.class_names[k], "size": int(self.class_sizes[k]),
                   "query_recall": float(self.query_recalls[k])}
            row.update({"weight_drop": float(self.weights("drop")[k]),
                        "weight_probit": float(self.weights("probit")[k])})
            row.update({"gain_per_doubling": float(self.slopes[k]),
                        "gain_low": float(self.slope_intervals[k, 0]),
                        "gain_high": float(self.slope_intervals[k, 1]), "runs_in_fit": int(self.n_fit[k])})
            rows.append(row)
        return rows


#: configuration fields that only change which samples are kept (recorded in the counts), so runs that
#: differ in them lie on the same learning curves and are pooled
POOLED_FIELDS = ("min_per_class",)


def _runs(paths):
    """The distinct random-within-class runs of ``paths`` (:func:`empirical.report_runs.group_runs`), all of
    one study up to :data:`POOLED_FIELDS`, with their per-class floor."""
    grouped = group_runs(collect(paths, with_paths=True))
    runs = [r for r in grouped["runs"] if r["config"].get("score") == "random"]
    if not runs:
        raise ValueError(f"no finished run with --score random under {[str(p) for p in paths]!r}")
    studies = defaultdict(list)
    for r in runs:
        key = {k: v for k, v in r["_config"].items() if k not in CELL_FIELDS + POOLED_FIELDS}
        studies[json.dumps(key, sort_keys=True, default=str)].append(r)
    if len(studies) > 1:
        described = "; ".join(f"{grouped['studies'][v[0]['_study']]['differs'] or v[0]['_study']} "
                              f"({len(v)} runs, e.g. {v[0]['_path']})" for v in studies.values())
        raise ValueError("the runs belong to different training configurations (dataset, model, recipe, "
                         "epochs ...), whose learning curves differ; pass one configuration's files: "
                         f"{described}")
    return runs


def _query_recalls(runs) -> tuple[np.ndarray, int]:
    by_model = {}
    for run in runs:
        q = run.get("query") or {}
        if q.get("recalls") is not None and q.get("query_id"):
            by_model[q["query_id"]] = np.asarray(q["recalls"], dtype=float)
    if not by_model:
        raise ValueError("no run records a query model's recalls (query.recalls): DRoP's weights are "
                         "unknown; pass the folder with the recall-quota runs (DRoP, probit)")
    return np.mean(list(by_model.values()), axis=0), len(by_model)


def _fit(design: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least squares for many weight vectors at once: ``weights`` (B, R) -> coefficients (B, p)."""
    xtwx = np.einsum("br,ri,rj->bij", weights, design, design)
    xtwy = np.einsum("br,ri,r->bi", weights, design, y)
    return np.linalg.solve(xtwx, xtwy[..., None])[..., 0]


def class_curves(paths) -> ClassCurves:
    """Measure every class's gain per doubling of its kept samples from the runs under ``paths`` (files or
    folders, searched recursively; one dataset and model), bootstrap intervals over seeds, and compare
    them with DRoP's and the probit rule's weights (module docstring)."""
    if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__"):
        paths = [paths]
    runs = _runs(list(paths))
    first = runs[0]["dataset"]
    sizes = np.asarray(first["class_sizes"], dtype=int)
    counts = np.array([run["selection"]["class_counts"] for run in runs], dtype=float)
    recalls = np.array([[np.nan if v is None else v for v in run["metrics"]["recalls"]] for run in runs],
                       dtype=float)
    if counts.shape != recalls.shape or counts.shape[1] != sizes.size:
        raise ValueError(f"class counts {counts.shape} and recalls {recalls.shape} do not match "
                         f"{sizes.size} classes")
    seeds = np.array([int(run["seed"]) for run in runs])
    query_recalls, n_query = _query_recalls(runs)

    total = np.log2(counts.sum(axis=1))
    uniq, seed_index = np.unique(seeds, return_inverse=True)
    rng = np.random.default_rng(BOOT_SEED)
    draws = rng.integers(0, uniq.size, size=(N_BOOT, uniq.size))
    multiplicity = np.zeros((N_BOOT, uniq.size))
    np.add.at(multiplicity, (np.arange(N_BOOT)[:, None], draws), 1.0)
    run_weights = multiplicity[:, seed_index]                          # (B, R)

    k_classes = sizes.size
    designs = []
    for k in range(k_classes):
        ok = (counts[:, k] > 0) & np.isfinite(recalls[:, k])   # a class with no test image has no recall
        designs.append((ok, np.column_stack([np.ones(ok.sum()), np.log2(counts[ok, k]), total[ok]])))
    fittable = [x for _, x in designs if x.shape[0] >= 4]
    at_fixed_total = bool(fittable) and all(np.linalg.matrix_rank(x) == 3 for x in fittable)
    slopes = np.full(k_classes, np.nan)
    intervals = np.full((k_classes, 2), np.nan)
    n_fit = np.array([ok.sum() for ok, _ in designs])
    for k, (ok, x) in enumerate(designs):
        x = x if at_fixed_total else x[:, :2]
        if n_fit[k] < x.shape[1] + 1 or np.linalg.matrix_rank(x) < x.shape[1]:
            continue                                                   # too few distinct counts to fit
        y = recalls[ok, k]
        slopes[k] = _fit(x, y, np.ones((1, ok.sum())))[0, 1]
        w = run_weights[:, ok]
        # a resample whose runs cannot identify the slope (too few distinct seeds) is left out
        good = np.linalg.matrix_rank(np.einsum("br,ri,rj->bij", w, x, x)) == x.shape[1]
        if uniq.size >= 2 and good.any():                              # one seed has no seed-to-seed spread
            intervals[k] = np.percentile(_fit(x, y, w[good])[:, 1], [2.5, 97.5])
    fitted = np.isfinite(slopes)
    rho = (float(spearmanr(1.0 - query_recalls[fitted], slopes[fitted]).statistic)
           if fitted.sum() >= 3 else float("nan"))
    return ClassCurves(dataset=str(runs[0]["config"]["dataset"]), model=str(runs[0]["config"]["model"]),
                       class_names=tuple(first.get("class_names") or [str(k) for k in range(k_classes)]),
                       class_sizes=sizes, counts=counts, recalls=recalls, seeds=seeds,
                       methods=tuple(str(run.get("_method") or run["method"]) for run in runs),
                       densities=np.array([float(run["config"]["density"]) for run in runs]),
                       floors=np.array([int(run["config"].get("min_per_class") or 0) for run in runs]),
                       query_recalls=query_recalls, n_query_models=n_query, slopes=slopes,
                       slope_intervals=intervals, n_fit=n_fit, at_fixed_total=at_fixed_total,
                       error_gain_correlation=rho)


def format_class_curves(curves: ClassCurves, effects=()) -> str:
    """The table ``droplab empirical class-curves`` prints: per class the query recall, DRoP's and the
    probit rule's weights, the gain per doubling with its interval, and for each :class:`ClassEffect` of
    ``effects`` the doublings the method gave the class, the predicted and the measured change."""
    c = curves
    held = "at a fixed total" if c.at_fixed_total else "total not held fixed (the runs keep one class mix)"
    n_seeds = np.unique(c.seeds).size
    lines = [f"{c.dataset} / {c.model}: {len(c.seeds)} random-within-class runs, {n_seeds} seeds, "
             f"{c.n_query_models} query models",
             f"gain/doubling: change of a class's test recall when it keeps twice its samples, {held}; "
             f"95% bootstrap over seeds" + (" (rough with fewer than 5 seeds)" if n_seeds < 5 else "")]
    head = (f"{'class':<14} {'query r':>7} {'1 - r':>6} {'probit':>6} {'gain/doubling':>13} "
            f"{'95% interval':>17}")
    for e in effects:
        head += f" | {e.method} d={e.density:g}: {'doublings':>9} {'predicted':>9} {'measured [95%]':>24}"
    lines.append(head)
    drop_w, probit_w = c.weights("drop"), c.weights("probit")
    for k in range(c.n_classes):
        lo, hi = c.slope_intervals[k]
        row = (f"{str(c.class_names[k])[:14]:<14} {c.query_recalls[k]:7.3f} {drop_w[k]:6.3f} "
               f"{probit_w[k]:6.3f} {c.slopes[k]:+13.3f} {f'[{lo:+.3f}, {hi:+.3f}]':>17}")
        for e in effects:
            pad = " " * (len(f" | {e.method} d={e.density:g}: ") - 3)
            dbl = f"del. {e.n_deleted[k]}/{len(e.seeds)}" if e.n_deleted[k] else f"{e.doublings[k]:+.2f}"
            pred = "" if e.n_deleted[k] else f"{e.predicted[k]:+.3f}"
            m_lo, m_hi = e.measured_intervals[k]
            row += (f" | {pad}{dbl:>9} {pred:>9} "
                    f"{f'{e.measured[k]:+.3f} [{m_lo:+.3f}, {m_hi:+.3f}]':>24}")
        lines.append(row)
    for k in range(c.n_classes):
        none = c.counts[:, k] == 0
        if none.any():
            lines.append(f"  {c.class_names[k]}: {int(none.sum())} runs kept none of it (mean recall there "
                         f"{c.recalls[none, k].mean():.3f}), left out of its fit")
    lines.append(f"Spearman correlation of the query error 1 - r with the gain per doubling: "
                 f"{c.error_gain_correlation:+.2f} (positive: DRoP takes from the classes whose curves are "
                 f"flattest)")
    if any(e.n_deleted.any() for e in effects):
        lines.append("del. k/n: the method kept none of the class in k of the n seeds (no doublings, no "
                     "prediction)")
    for e in effects:
        lines.append(f"{e.method} against {e.baseline} at d = {e.density:g} ({len(e.seeds)} seeds): measured "
                     f"worst change {c.class_names[int(np.argmin(e.measured))]} {e.measured.min():+.3f}")
        a = e.agreement()
        lines.append(f"  predicted against measured change over {a['n']} classes: Pearson {a['r']:+.2f}, MAE "
                     f"{a['mae']:.3f}, same sign {a['same_sign']}/{a['n']} (in-sample: the curves were "
                     f"fitted on these runs too)")
    return "\n".join(lines) + "\n"
