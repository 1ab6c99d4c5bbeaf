"""Issue 32, items 1-3: paired intervals that do not move with a random seed, one t interval per
comparison across seeds, and the verdicts (better / worse / equivalent / undecided).

The per-seed paired intervals over test images are the exact bootstrap distribution where the classes
hold equal test images (checked here against brute-force enumeration of every resample, an independent
formula and Monte Carlo), so rerunning the report with another bootstrap seed cannot change them; the
statements are read off the paired t interval over seeds.
"""

import csv
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_empirical_report import fake_run, write

from empirical.stats import (
    paired_accuracy_distribution,
    paired_category_counts,
    paired_difference_interval,
    paired_worst_class_distribution,
)

ROOT = Path(__file__).resolve().parents[1]
SMALLCNN = ROOT / "results" / "cifar10-smallcnn"
WHITENET = ROOT / "results" / "cifar10-whitenet-256"


# ----------------------------------------------------------------------------- exact distributions
def _brute_force(pa, pb, y):
    """The bootstrap distribution of both differences by enumerating every stratified resample."""
    classes = [np.flatnonzero(y == c) for c in np.unique(y)]
    worst, acc = Counter(), Counter()
    total = 0
    for draw in itertools.product(*[itertools.product(idx, repeat=idx.size) for idx in classes]):
        ra = [np.mean(pa[list(d)] == y[list(d)]) for d in draw]
        rb = [np.mean(pb[list(d)] == y[list(d)]) for d in draw]
        worst[round(min(ra) - min(rb), 9)] += 1
        n = sum(len(d) for d in draw)
        gained = sum((pa[list(d)] == y[list(d)]).sum() - (pb[list(d)] == y[list(d)]).sum() for d in draw)
        acc[round(gained / n, 9)] += 1
        total += 1
    return worst, acc, total


def _check(values, pmf, counts, total):
    got = {round(v, 9): p for v, p in zip(values, pmf) if p > 1e-15}
    want = {v: c / total for v, c in counts.items()}
    assert set(got) == set(want)
    for v in want:
        assert got[v] == pytest.approx(want[v], abs=1e-12)


def test_exact_distributions_match_every_resample():
    y = np.array([0, 0, 0, 1, 1, 1])
    pa = np.array([0, 1, 0, 1, 1, 0])
    pb = np.array([0, 0, 1, 1, 0, 0])
    worst, acc, total = _brute_force(pa, pb, y)
    c = paired_category_counts(pa, pb, y)
    _check(*paired_worst_class_distribution(c), worst, total)
    _check(*paired_accuracy_distribution(c), acc, total)
    # classes of different sizes: the average accuracy is still exact
    y2, pa2, pb2 = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 0, 1]), np.array([1, 0, 1, 1, 0])
    _, acc2, total2 = _brute_force(pa2, pb2, y2)
    _check(*paired_accuracy_distribution(paired_category_counts(pa2, pb2, y2)), acc2, total2)


def _joint_direct(n, p):
    """P(A = a, B = b) of one class, by conditioning: N11 ~ Bin(n, p11), N10 | N11, N01 | N11, N10."""
    p11, p10, p01, p00 = p
    t = np.arange(n + 1)[:, None, None]
    a = np.arange(n + 1)[None, :, None]
    b = np.arange(n + 1)[None, None, :]
    q10 = p10 / (1 - p11) if p11 < 1 else 0.0
    q01 = p01 / (p01 + p00) if p01 + p00 > 0 else 0.0
    with np.errstate(invalid="ignore"):
        term = (stats.binom.pmf(t, n, p11) * stats.binom.pmf(a - t, n - t, q10)
                * stats.binom.pmf(b - t, n - a, q01))
    return np.nansum(np.where((a >= t) & (b >= t) & (a <= n), term, 0.0), axis=0)


def test_exact_worst_class_distribution_of_larger_classes_matches_a_direct_formula():
    """n = 120 per class: the FFT works on a window around the means (Hoeffding), with classes repeated."""
    n = 120
    kinds = np.array([[70, 20, 10, 20], [90, 5, 15, 10], [70, 20, 10, 20], [40, 30, 30, 20]])
    values, pmf = paired_worst_class_distribution(kinds)
    surv = np.ones((n + 2, n + 2))
    for row in kinds:
        j = _joint_direct(n, row / n)
        tail = np.zeros((n + 2, n + 2))
        tail[:n + 1, :n + 1] = j[::-1, ::-1].cumsum(0).cumsum(1)[::-1, ::-1]
        surv *= tail
    point = surv[:-1, :-1] - surv[1:, :-1] - surv[:-1, 1:] + surv[1:, 1:]
    i, k = np.indices(point.shape)
    want = np.bincount((i - k + n).ravel(), weights=point.ravel(), minlength=2 * n + 1)
    np.testing.assert_allclose(values, np.arange(-n, n + 1) / n)
    np.testing.assert_allclose(pmf, want, atol=1e-12)


def _fake_pair(sizes, seed=0):
    """Predictions of two correlated classifiers on a test set with ``sizes`` images per class."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(sizes)), sizes)
    skill = np.linspace(0.55, 0.9, len(sizes))[y]
    a_right = rng.random(y.size) < skill
    b_right = np.where(rng.random(y.size) < 0.7, a_right, rng.random(y.size) < skill - 0.05)
    wrong = (y + 1) % len(sizes)
    return np.where(a_right, y, wrong), np.where(b_right, y, wrong), y


def test_exact_interval_against_monte_carlo():
    pa, pb, y = _fake_pair([200] * 5)
    exact = paired_difference_interval(pa, pb, y)
    mc = paired_difference_interval(pa, pb, y, method="monte-carlo", n_boot=100000, seed=4)
    assert exact["n_boot"] is None and exact["seed"] is None
    assert exact["methods"] == {"accuracy": "exact", "worst_class_accuracy": "exact"}
    assert mc["methods"]["worst_class_accuracy"] == "monte-carlo" and mc["n_boot"] == 100000
    for m, step in (("accuracy", 1 / 1000), ("worst_class_accuracy", 1 / 200)):
        assert exact[m]["estimate"] == mc[m]["estimate"]
        for end in ("low", "high"):
            assert abs(exact[m][end] - mc[m][end]) <= step + 1e-12
    assert exact == paired_difference_interval(pa, pb, y, seed=99)     # no seed can move it
    same = paired_difference_interval(pa, pa, y)
    assert all(same[m][e] == 0.0 for m in ("accuracy", "worst_class_accuracy") for e in ("low", "high"))


def test_unequal_class_sizes_sample_the_worst_class_from_the_seed():
    pa, pb, y = _fake_pair([150, 200, 120])
    a = paired_difference_interval(pa, pb, y, n_boot=5000, seed=7)
    assert a["methods"] == {"accuracy": "exact", "worst_class_accuracy": "monte-carlo"}
    assert a == paired_difference_interval(pa, pb, y, n_boot=5000, seed=7) and a["seed"] == 7
    with pytest.raises(ValueError, match=r"equal test images per class, got sizes \[120, 150, 200\]"):
        paired_difference_interval(pa, pb, y, method="exact")
    with pytest.raises(ValueError, match="method must be one of"):
        paired_difference_interval(pa, pb, y, method="bca")
    with pytest.raises(ValueError, match="seed"):
        paired_difference_interval(pa, pb, y, seed=-1)


# ----------------------------------------------------------------------------- comparisons over seeds
def _runs(folder, spread=True):
    """Random, Random+DRoP and EL2N at d = 0.5 for 4 seeds; with ``spread`` the recorded metrics vary by
    seed (the t statistics read only the metrics)."""
    shift = {"none": 0.0, "drop": 0.05}
    for seed in range(4):
        for score, quota in (("random", "none"), ("random", "drop"), ("el2n", "none")):
            r = fake_run(score, quota, 0.5, seed)
            if spread:
                wiggle = {"drop": 0.02 * (seed % 2), "el2n": 0.003 * (seed - 1.5)}.get(
                    quota if quota == "drop" else score, 0.0)
                r["metrics"]["worst_class_accuracy"] = 0.5 + 0.01 * seed + shift[quota] + wiggle
                r["metrics"]["accuracy"] = 0.7 + 0.001 * seed * (quota == "drop")
            write(folder, r)


def test_comparison_rows_are_paired_t_intervals_with_verdicts(tmp_path):
    from empirical.report_comparisons import comparison_rows, paired_rows
    from empirical.report_runs import collect, group_runs

    _runs(tmp_path / "res")
    runs = group_runs(collect(tmp_path / "res", with_paths=True))["runs"]
    for baseline in ("Random", "Random+DRoP"):
        paired = paired_rows(runs, baseline=baseline)
        rows = {r["method"]: r for r in comparison_rows(runs, paired, baseline)}
        assert set(rows) == {"Random", "Random+DRoP", "EL2N"} - {baseline}
        for method, row in rows.items():
            def metric(m, label, seed):
                (r,) = [r for r in runs if r["_method"] == label and r["seed"] == seed]
                return r["metrics"][m]

            d = np.array([metric("worst_class_accuracy", method, s)
                          - metric("worst_class_accuracy", baseline, s) for s in range(4)])
            lo, hi = stats.t.interval(0.95, 3, loc=d.mean(), scale=d.std(ddof=1) / 2)
            assert row["n_seeds"] == 4 and row["worst_class_diff_mean"] == pytest.approx(d.mean())
            assert (row["worst_class_t_low"], row["worst_class_t_high"]) == pytest.approx((lo, hi))
            assert row["worst_class_diff_sd"] == pytest.approx(d.std(ddof=1))
            k, n = map(int, row["worst_class_ci_excludes_0"].split("/"))
            assert n == 4 and 0 <= k <= 4
    drop = {r["method"]: r for r in comparison_rows(runs, None, "Random")}
    assert drop["Random+DRoP"]["worst_class_verdict"] == "better"     # +0.05 to +0.07, all seeds
    assert drop["EL2N"]["worst_class_verdict"] == "equivalent"         # within ±0.005 of 0
    assert drop["Random+DRoP"]["worst_class_seeds_to_decide"] == ""
    vs_drop = {r["method"]: r for r in comparison_rows(runs, None, "Random+DRoP")}
    assert vs_drop["Random"]["worst_class_verdict"] == "worse"
    with pytest.raises(ValueError, match="baseline 'Nope' is not a method of these runs"):
        comparison_rows(runs, None, "Nope")


def test_report_against_another_baseline_and_compare(tmp_path, capsys):
    from empirical.report import make_report
    from gaussian_theory.cli import main

    _runs(tmp_path / "res")
    rep = make_report([tmp_path / "res"], tmp_path / "rep", plots=False, baselines=["Random+DRoP"])
    with open(tmp_path / "rep" / "comparisons.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert Counter(r["baseline"] for r in rows) == {"Random": 2, "Random+DRoP": 2}
    assert "**cifar10/smallcnn/fast: against Random+DRoP**" in rep["comparison_markdown"]
    table = (tmp_path / "rep" / "README_table.md").read_text()
    assert rep["comparison_markdown"] in table and "| verdict (margin ±0.02) |" in table
    summary = {r["method"]: r for r in rep["summary"]}
    assert summary["Random+DRoP"]["paired_worst_class_verdict"] == "better"
    assert "better" in rep["markdown"] and "equivalent" in rep["markdown"]
    assert main(["empirical", "report", str(tmp_path / "res"), "--out", str(tmp_path / "cli"), "--no-plots",
                 "--markdown", "--baseline", "Random+DRoP", "--margin", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "against Random+DRoP" in out and "(margin ±0.001)" in out
    assert main(["empirical", "compare", "--regime", "A", str(tmp_path / "res"),
                 "--baseline", "Random+DRoP"]) == 0
    out = capsys.readouterr().out
    assert "A: Δ worst-class vs Random+DRoP" in out and "| 0.5 | Random | 4 |" in out
    assert main(["empirical", "report", str(tmp_path / "res"), "--baseline", "Nope", "--no-plots",
                 "--out", str(tmp_path / "x")]) == 2
    assert "baseline 'Nope' is not a method" in capsys.readouterr().err
    with pytest.raises(ValueError, match="margin"):
        make_report([tmp_path / "res"], tmp_path / "rep", plots=False, margin=-0.02)
    with pytest.raises(ValueError, match="paired_n_boot"):
        make_report([tmp_path / "res"], tmp_path / "rep", plots=False, paired_n_boot=5)


def test_sampled_paired_intervals_take_their_seed_from_the_comparison(tmp_path):
    """Where a paired interval is sampled (classes of different test sizes), its seed is derived from the
    base seed and the comparison's identity: the same base seed gives the same numbers."""
    from empirical.report_comparisons import paired_rows
    from empirical.report_runs import collect, group_runs

    for seed in range(2):
        for quota in ("none", "drop"):
            r = fake_run("random", quota, 0.5, seed)
            keep = [i for i, label in enumerate(r["final"]["test"]["labels"]) if label != 0 or i % 2]
            for k in ("predictions", "labels"):
                r["final"]["test"][k] = [r["final"]["test"][k][i] for i in keep]
            write(tmp_path / "res", r)
    runs = group_runs(collect(tmp_path / "res", with_paths=True))["runs"]
    a = paired_rows(runs, n_boot=1000, boot_seed=3)
    assert {p["worst_class_diff_interval"] for p in a} == {"monte-carlo"}
    assert a == paired_rows(runs, n_boot=1000, boot_seed=3)


# ----------------------------------------------------------------------------- the committed runs
#: the cells whose "(k/n seeds)" count moved with the bootstrap seed before (issue 32's audit), with the
#: count and the verdict of the paired t interval they have now, and their Random partners
FLAGGED = {
    SMALLCNN: {(0.5, "Random+DRoP(a=0.7)"): ("8/8", "better"), (0.5, "EL2N"): ("1/3", "undecided"),
               (0.8, "EL2N"): ("1/3", "better")},
    WHITENET: {(0.5, "Random+Learned"): ("2/3", "better"), (0.5, "EL2N+DRoP"): ("2/3", "better")},
}
PATTERNS = {SMALLCNN: ["*random_none_d0.5_*", "*random_none_d0.8_*", "*random_drop-paper-a0.7_d0.5_*",
                       "*el2n_none_d0.5_*", "*el2n_none_d0.8_*"],
            WHITENET: ["*random_none_d0.5_*", "*random_counts_d0.5_*", "*el2n_drop-paper_d0.5_*",
                       "*random_drop-paper_d0.5_*"]}


def _statements(rep):
    keys = ("verdict", "seeds_to_decide", "t_low", "t_high", "ci_excludes_0")
    out = {}
    for r in rep["comparisons"]:
        out[(r["study"], r["density"], r["method"], r["baseline"])] = tuple(
            r[f"{m}_{k}"] for m in ("worst_class", "accuracy") for k in keys)
    for p in rep["paired"]:
        out[(p["study"], p["density"], p["method"], p["baseline"], p["seed"])] = tuple(
            p[f"{m}_diff_{e}"] for m in ("worst_class", "accuracy") for e in ("low", "high"))
    return out


@pytest.mark.skipif(not (SMALLCNN.is_dir() and WHITENET.is_dir()), reason="needs the committed results/")
@pytest.mark.parametrize("folder", [SMALLCNN, WHITENET], ids=["smallcnn", "whitenet-256"])
def test_statements_do_not_move_with_the_bootstrap_seed(folder):
    """Issue 32, item 1: the summary rerun with another bootstrap base seed states the same verdicts,
    per-seed counts and intervals, on the cells an audit found moving (lower ends at 0.000)."""
    from empirical.report import summarise_paths

    files = sorted({f for pat in PATTERNS[folder] for f in folder.glob(pat + ".json")})
    baselines = ["Random+DRoP"] if folder == WHITENET else []
    a = summarise_paths(files, baselines=baselines, boot_seed=0)
    b = summarise_paths(files, baselines=baselines, boot_seed=12345)
    assert _statements(a) == _statements(b)
    assert {p["worst_class_diff_interval"] for p in a["paired"]} == {"exact"}
    summary = {(r["density"], r["method"]): r for r in a["summary"] if r["study"] == "S1"}
    for cell, (count, verdict) in FLAGGED[folder].items():
        assert summary[cell]["paired_worst_class_ci_excludes_0"] == count, cell
        assert summary[cell]["paired_worst_class_verdict"] == verdict, cell
