"""The statistics of the report: paired comparisons against a baseline, over seeds, with a verdict.

Per study and (density, method) (:func:`empirical.report_runs.group_runs`): the **paired difference**
against Random (score ``random``, quota ``none``) of the same study, density and seed -- and against any
other baseline asked for (e.g. Random+DRoP): mean, min and max over seeds; **one 95% paired t interval
over seeds** with a **verdict** (better, worse, equivalent within a margin, undecided with the seeds
that would decide it; :func:`empirical.power.comparison_verdict`), which is what the tables state
(:func:`comparison_rows`, :func:`summarise`); as a detail, per seed a paired interval over the test
images (:func:`paired_rows` with :func:`empirical.stats.paired_difference_interval`: the exact bootstrap
distribution where the classes hold equal test images, so no seed can move it; otherwise sampled from a
seed derived from the comparison's identity) and in how many seeds it excludes 0. The per-seed
differences themselves (:func:`seed_differences`) also feed the power table
(:func:`empirical.power.power_rows`).

How the numbers are read: the documentation site, "CIFAR-10: the small CNN", "How the comparisons are
read"; the margins are those of the README's headline results (±0.02 on the worst class, ±0.01 on the
average accuracy).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from .power import DEFAULT_ACCURACY_MARGIN, DEFAULT_MARGIN, comparison_verdict
from .report_runs import method_order
from .stats import PAIRED_METHODS, paired_difference_interval

__all__ = ["RANDOM", "PAIRED_N_BOOT", "is_random_baseline", "check_baseline", "check_baselines",
           "check_statistics", "paired_rows", "seed_differences", "comparison_fields", "comparison_rows",
           "summarise"]


#: the default baseline: score random, quota none
RANDOM = "Random"
#: resamples of a paired interval where it is sampled, not computed exactly (unequal class sizes)
PAIRED_N_BOOT = 20000


def is_random_baseline(cfg: dict) -> bool:
    """Is a run's configuration ``cfg`` (:func:`empirical.report_runs.configuration`) the Random baseline:
    score ``random``, quota ``none``."""
    return cfg["score"] == "random" and cfg["quota"] == "none"


def _is_method(r: dict, baseline: str) -> bool:
    """Is run ``r`` a run of ``baseline``: Random is score random with quota none, any other baseline is
    a method label (``Random+DRoP``)."""
    return is_random_baseline(r["_config"]) if baseline == RANDOM else r["_method"] == baseline


def check_baseline(runs, baseline) -> str:
    """``baseline``, checked: a non-empty method label, and (other than Random) a method of ``runs``
    (:func:`empirical.report_runs.group_runs`); else ``ValueError`` naming the methods there are."""
    if not isinstance(baseline, str) or not baseline:
        raise ValueError(f"baseline must be a method label such as 'Random+DRoP', got {baseline!r}")
    if runs and baseline != RANDOM and not any(r["_method"] == baseline for r in runs):
        methods = sorted({r["_method"] for r in runs}, key=method_order)
        raise ValueError(f"baseline {baseline!r} is not a method of these runs; methods: "
                         f"{', '.join(methods)}")
    return baseline


def _partners(runs, baseline: str):
    """``(run, baseline run)`` for every run with a run of ``baseline`` of the same study, density and seed
    (the baseline's own runs left out)."""
    base = {(r["_study"], r["_config"]["density"], r["seed"]): r for r in runs if _is_method(r, baseline)}
    for r in runs:
        b = base.get((r["_study"], r["_config"]["density"], r["seed"]))
        if b is not None and b is not r and not _is_method(r, baseline):
            yield r, b


def paired_rows(runs, n_boot: int = PAIRED_N_BOOT, warn=None, baseline: str = RANDOM, boot_seed: int = 0,
                method: str = "auto") -> list[dict]:
    """Each run against the run of ``baseline`` (default Random: score random, quota none) of the same
    study, density and seed.

    Differences are run − baseline; ``*_low``/``*_high``: the paired 95% interval over the test images
    (:func:`empirical.stats.paired_difference_interval` with ``method``; ``*_diff_interval`` says
    whether it was computed exactly or sampled), when both runs stored their predictions on the same
    test labels (else empty, and a message is appended to the list ``warn``). Where it is sampled (``n_boot``
    resamples), its seed is :func:`gaussian_theory.validation.derive_seed` of ``boot_seed`` and the
    comparison's identity (the study's configuration, density, method, baseline, seed): a rerun gives
    the same numbers, and another ``boot_seed`` the same statements wherever they are exact.
    """
    from gaussian_theory.validation import check_int, check_seed, derive_seed

    check_int(n_boot, "n_boot", 100)
    check_seed(boot_seed, "boot_seed")
    if method not in PAIRED_METHODS:
        raise ValueError(f"method must be one of {PAIRED_METHODS}, got {method!r}")
    baseline = check_baseline(runs, baseline)
    rows = []
    for r, b in _partners(runs, baseline):
        density = r["_config"]["density"]
        row = {"study": r["_study"], "density": density, "method": r["_method"], "baseline": baseline,
               "seed": r["seed"], "run_id": r["run_id"], "baseline_run_id": b["run_id"]}
        ta, tb = r["final"]["test"], b["final"]["test"]
        iv = None
        if ta.get("predictions") is not None and tb.get("predictions") is not None:
            if ta.get("labels") != tb.get("labels"):
                (warn if warn is not None else []).append(
                    f"{r['run_id']} and {b['run_id']} were tested on different labels: no paired interval")
            else:
                seed = derive_seed(boot_seed, "paired", r["_study_key"], density, r["_method"], baseline,
                                   r["seed"])
                iv = paired_difference_interval(ta["predictions"], tb["predictions"], ta["labels"],
                                                len(r["dataset"]["class_names"]), n_boot=n_boot, seed=seed,
                                                method=method)
        for m, short in (("accuracy", "accuracy"), ("worst_class_accuracy", "worst_class")):
            row[f"{short}"] = r["metrics"][m]
            row[f"baseline_{short}"] = b["metrics"][m]
            row[f"{short}_diff"] = r["metrics"][m] - b["metrics"][m]
            row[f"{short}_diff_low"] = iv[m]["low"] if iv else ""
            row[f"{short}_diff_high"] = iv[m]["high"] if iv else ""
            row[f"{short}_diff_interval"] = iv["methods"][m] if iv else ""
        rows.append(row)
    return rows


def seed_differences(runs, baseline: str = RANDOM) -> dict:
    """Per-seed paired differences against ``baseline``: ``{(study, density, method, baseline): {seed:
    {"accuracy": d, "worst_class_accuracy": d}}}`` (run − baseline run of the same study, density and
    seed; the input of :func:`empirical.power.power_rows` and :func:`comparison_rows`)."""
    baseline = check_baseline(runs, baseline)
    out: dict = defaultdict(dict)
    for r, b in _partners(runs, baseline):
        out[(r["_study"], r["_config"]["density"], r["_method"], baseline)][r["seed"]] = {
            m: r["metrics"][m] - b["metrics"][m] for m in ("accuracy", "worst_class_accuracy")}
    return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1], method_order(kv[0][2]))))


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())} if v.size else {}


#: (metric in the run JSON, short name in the tables)
_METRICS = (("accuracy", "accuracy"), ("worst_class_accuracy", "worst_class"))


def comparison_fields(diffs, paired, short: str, margin: float, prefix: str) -> dict:
    """The columns of one metric of one comparison: mean/min/max/SD over seeds, the 95% t interval
    (``t_low``, ``t_high``), the 90% one of the equivalence test (``tost_low``, ``tost_high``), the
    margin, the verdict and the seeds that would decide it, and (detail) in how many seeds the per-seed
    interval over test images excludes 0. Empty strings where there is nothing to compute."""
    p = f"{prefix}{short}"
    st = _stats(diffs)
    out = {f"{p}_diff_{k}": st.get(k, "") for k in ("mean", "min", "max")}
    v = comparison_verdict(diffs, margin) if len(diffs) else {}

    def cell(k):
        x = v.get(k)
        return "" if x is None or (isinstance(x, float) and np.isnan(x)) else x

    out.update({f"{p}_diff_sd": cell("sd"), f"{p}_t_low": cell("low"), f"{p}_t_high": cell("high"),
                f"{p}_tost_low": cell("tost_low"), f"{p}_tost_high": cell("tost_high"), f"{p}_margin": margin,
                f"{p}_verdict": cell("verdict"), f"{p}_seeds_to_decide": cell("seeds_to_decide")})
    ivs = [x for x in paired if x[f"{short}_diff_low"] != ""]
    out[f"{p}_ci_excludes_0"] = (
        f"{sum(x[f'{short}_diff_low'] > 0 or x[f'{short}_diff_high'] < 0 for x in ivs)}/{len(ivs)}"
        if ivs else "")
    return out


def comparison_rows(runs, paired=None, baseline: str = RANDOM, margin: float = DEFAULT_MARGIN,
                    accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> list[dict]:
    """One row per study, density and method paired with ``baseline`` on the same seeds.

    Per metric (``worst_class``, ``accuracy``): the mean, min, max and SD over seeds of the paired
    difference, **the 95% paired t interval over seeds** (``*_t_low``, ``*_t_high``; it carries the
    seed-to-seed noise of training and the test-sample noise of each seed, see
    :mod:`empirical.power`), the verdict (better / worse / equivalent within ``margin`` --
    ``accuracy_margin`` for the average accuracy -- / undecided, with ``*_seeds_to_decide``), and as a
    detail ``*_ci_excludes_0``: in how many seeds the per-seed interval over test images of ``paired``
    (:func:`paired_rows` against the same baseline) excludes 0.
    """
    from gaussian_theory.validation import check_real

    margin = check_real(margin, "margin", 0.0, strict_minimum=True)
    accuracy_margin = check_real(accuracy_margin, "accuracy_margin", 0.0, strict_minimum=True)
    diffs = seed_differences(runs, baseline)
    by_cell = defaultdict(list)
    for p in paired or ():
        if p.get("baseline", RANDOM) == baseline:
            by_cell[(p["study"], p["density"], p["method"])].append(p)
    out = []
    for (sid, d, method, base), per_seed in diffs.items():
        seeds = sorted(per_seed)
        row = {"study": sid, "density": d, "method": method, "baseline": base, "n_seeds": len(seeds),
               "seeds": " ".join(map(str, seeds))}
        for m, short in reversed(_METRICS):
            row.update(comparison_fields([per_seed[x][m] for x in seeds], by_cell.get((sid, d, method), []),
                                         short, margin if short == "worst_class" else accuracy_margin, ""))
        out.append(row)
    return out


def summarise(runs, rows, paired, margin: float = DEFAULT_MARGIN,
              accuracy_margin: float = DEFAULT_ACCURACY_MARGIN) -> list[dict]:
    """One row per study, density and method: seeds, mean/min/max of both accuracies, the mean test-set
    interval half-width, the paired difference against Random (mean/min/max/SD over seeds, the 95% t
    interval over seeds and its verdict -- :func:`comparison_rows` -- and, as a detail, in how many seeds
    the per-seed interval over test images excludes 0) and the mean wall time."""
    cells = defaultdict(list)
    for r, row in zip(runs, rows):
        cells[(r["_study"], r["_config"]["density"], r["_method"])].append(row)
    pairs = defaultdict(list)
    for p in paired:
        if p.get("baseline", RANDOM) == RANDOM:
            pairs[(p["study"], p["density"], p["method"])].append(p)
    diffs = {k[:3]: v for k, v in seed_differences(runs, RANDOM).items()}
    out = []
    for key in sorted(cells, key=lambda k: (k[0], k[1], method_order(k[2]))):
        rs, ps = cells[key], pairs.get(key, [])
        row = {"study": key[0], "dataset": rs[0]["dataset"], "model": rs[0]["model"],
               "recipe": rs[0]["recipe"], "density": key[1], "method": key[2], "n_seeds": len(rs),
               "seeds": " ".join(str(x["seed"]) for x in rs)}
        for m, short in _METRICS:
            st = _stats([x[m] for x in rs])
            row.update({f"{short}_{k}": v for k, v in st.items()})
            hw = [(x[f"{short}_high"] - x[f"{short}_low"]) / 2 for x in rs if x[f"{short}_low"] != ""]
            row[f"{short}_ci95_halfwidth_mean"] = float(np.mean(hw)) if hw else ""
        worst = Counter(x["worst_class"] for x in rs).most_common()
        row["worst_classes"] = " ".join(f"{c}:{n}" for c, n in worst)
        per_seed = diffs.get(key, {})
        row["n_pairs"] = len(per_seed)
        for m, short in _METRICS:
            row.update(comparison_fields([per_seed[x][m] for x in sorted(per_seed)], ps, short,
                                         margin if short == "worst_class" else accuracy_margin, "paired_"))
        row["wall_s_mean"] = float(np.mean([x["total_s"] for x in rs]))
        out.append(row)
    return out


def check_baselines(baselines) -> list[str]:
    """The baselines to compare with: Random first, then each of ``baselines`` (a method label or a list
    of them) once, in order; ``ValueError`` for an empty or non-string label."""
    if isinstance(baselines, str):
        baselines = [baselines]
    out = [RANDOM]
    for b in baselines or ():
        if not isinstance(b, str) or not b.strip():
            raise ValueError(f"baselines must be method labels such as 'Random+DRoP', got {b!r}")
        if b not in out:
            out.append(b)
    return out


def check_statistics(paired_n_boot, boot_seed, baselines, margin, accuracy_margin) -> list[str]:
    """Check the paired-statistics arguments; return the baselines, Random first."""
    from gaussian_theory.validation import check_int, check_real, check_seed

    check_int(paired_n_boot, "paired_n_boot", 100)
    check_seed(boot_seed, "boot_seed")
    check_real(margin, "margin", 0.0, strict_minimum=True)
    check_real(accuracy_margin, "accuracy_margin", 0.0, strict_minimum=True)
    return check_baselines(baselines)
