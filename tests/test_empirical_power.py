"""Across-seed statistics (empirical/power.py) and ``droplab empirical power``: the paired t interval,
the verdicts, the exact power of the paired t test, the smallest detectable gain, the seeds needed, the
SD's upper confidence bound, and the table of issue 32 reproduced from the committed runs."""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from empirical.power import (
    comparison_verdict,
    minimum_detectable_difference,
    paired_t_interval,
    power_markdown,
    power_paired_t,
    power_rows,
    power_text,
    sd_upper_bound,
    seeds_needed,
)

ROOT = Path(__file__).resolve().parents[1]
SMALLCNN = ROOT / "results" / "cifar10-smallcnn"
WHITENET = ROOT / "results" / "cifar10-whitenet-256"


def test_paired_t_interval_is_scipys():
    d = np.array([0.03, -0.01, 0.05, 0.02, 0.00])
    r = paired_t_interval(d, 0.95)
    lo, hi = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
    assert (r["low"], r["high"]) == pytest.approx((lo, hi))
    assert r["n"] == 5 and r["df"] == 4 and r["sd"] == pytest.approx(d.std(ddof=1))
    one = paired_t_interval([0.2])
    assert one["mean"] == 0.2 and np.isnan(one["low"]) and np.isnan(one["sd"])


def test_power_is_the_exact_noncentral_t_and_matches_simulation():
    """The exact power against simulated paired t tests (normal differences)."""
    rng = np.random.default_rng(1)
    for delta, sd, n in ((0.02, 0.0373, 8), (0.03, 0.02, 3), (0.0, 0.03, 5)):
        d = rng.normal(delta, sd, size=(200000, n))
        t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
        sim = np.mean(np.abs(t) > stats.t.ppf(0.975, n - 1))
        assert power_paired_t(delta, sd, n) == pytest.approx(sim, abs=0.004)
    assert power_paired_t(0.0, 0.03, 5) == pytest.approx(0.05)
    assert power_paired_t(0.01, 0.0, 5) == 1.0
    assert power_paired_t(-0.02, 0.03, 9) == power_paired_t(0.02, 0.03, 9)   # the sign does not matter
    assert power_paired_t(0.5, 0.001, 4) == 1.0                              # far tail: no NaN


def test_minimum_detectable_and_seeds_needed_invert_the_power():
    for sd, n in ((0.0373, 8), (0.0189, 3), (0.05, 20)):
        mde = minimum_detectable_difference(sd, n)
        assert power_paired_t(mde, sd, n) == pytest.approx(0.8, abs=1e-9)
        # the normal approximation is too optimistic: the t test needs more
        z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
        assert mde > z * sd / np.sqrt(n)
    for delta, sd in ((0.02, 0.0373), (0.02, 0.0189), (0.01, 0.05), (0.05, 0.01)):
        n = seeds_needed(delta, sd)
        assert power_paired_t(delta, sd, n) >= 0.8
        assert n == 2 or power_paired_t(delta, sd, n - 1) < 0.8                # the smallest such n
    assert seeds_needed(0.02, 0.0) == 2 and minimum_detectable_difference(0.0, 5) == 0.0


def test_sd_upper_bound_covers_with_its_level():
    rng = np.random.default_rng(2)
    sd, n = 0.03, 3
    s = rng.normal(0, sd, size=(100000, n)).std(1, ddof=1)
    bound = np.array([sd_upper_bound(x, n) for x in s[:2000]])
    assert np.mean(bound >= sd) == pytest.approx(0.8, abs=0.025)
    assert sd_upper_bound(0.0189, 3) == pytest.approx(0.0189 * np.sqrt(2 / stats.chi2.ppf(0.2, 2)))


@pytest.mark.parametrize("diffs, verdict", [
    ([0.10, 0.12, 0.11], "better"),
    ([-0.10, -0.12, -0.11], "worse"),
    ([0.001, -0.002, 0.000, 0.002, -0.001, 0.001], "equivalent"),
    ([0.01, -0.03, 0.02], "undecided"),
    ([0.05], "too few seeds"),
])
def test_verdicts(diffs, verdict):
    v = comparison_verdict(diffs, margin=0.02)
    assert v["verdict"] == verdict
    assert (v["seeds_to_decide"] is not None) == (verdict == "undecided")
    if verdict == "undecided":
        assert v["seeds_to_decide"] == seeds_needed(0.02, np.std(diffs, ddof=1))
    if verdict == "equivalent":   # the 90% interval inside the margin, the 95% one across 0
        assert -0.02 < v["tost_low"] and v["tost_high"] < 0.02 and v["low"] < 0 < v["high"]


@pytest.mark.parametrize("call, exc, match", [
    (lambda: seeds_needed(0.0, 0.03), ValueError, "delta must not be 0"),
    (lambda: seeds_needed(0.02, -1.0), ValueError, "sd"),
    (lambda: seeds_needed(1e-6, 1.0, max_seeds=1000), ValueError, "max_seeds=1000"),
    (lambda: power_paired_t(0.02, 0.03, 1), ValueError, "n"),
    (lambda: power_paired_t(0.02, 0.03, 5, alpha=0.7), ValueError, "alpha"),
    (lambda: minimum_detectable_difference(0.03, 5, power=1.0), ValueError, "power"),
    (lambda: sd_upper_bound(0.03, 3, level=1.5), ValueError, "level"),
    (lambda: comparison_verdict([0.1, 0.2], margin=0.0), ValueError, "margin"),
    (lambda: comparison_verdict([0.1, float("nan")]), ValueError, "NaN"),
    (lambda: paired_t_interval([[0.1, 0.2]]), ValueError, "1-d"),
    (lambda: power_rows({("S1", 0.5, "A"): [0.1, 0.2]}), ValueError, "keys"),
    (lambda: power_rows([0.1, 0.2]), TypeError, "mapping"),
    (lambda: power_rows({}, sd_level=0.0), ValueError, "sd_level"),
    (lambda: power_paired_t("0.02", 0.03, 5), TypeError, "delta"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_power_rows_and_formats():
    rows = power_rows({("S1", 0.3, "A", "B"): {0: 0.01, 1: -0.03, 2: 0.02},
                       ("S1", 0.5, "A", "B"): {0: 0.1}},               # one seed: no row
                      delta=0.02)
    assert len(rows) == 1
    r = rows[0]
    assert r["n_seeds"] == 3 and r["seeds"] == "0 1 2" and r["verdict"] == "undecided"
    assert r["sd"] == pytest.approx(np.std([0.01, -0.03, 0.02], ddof=1))
    assert r["seeds_for_delta"] == seeds_needed(0.02, r["sd"])
    assert r["seeds_for_delta_at_sd_upper"] == seeds_needed(0.02, sd_upper_bound(r["sd"], 3))
    md = power_markdown(rows, {"S1": "cifar10/x"})
    assert "**S1: cifar10/x**" in md and "| 0.3 | A − B | 3 |" in md
    assert "undecided (≈" in power_text(rows)


# ----------------------------------------------------------------------------- the issue's table
#: folder, density, n, SD, smallest detectable gain, seeds for +0.02 (, SD bound, seeds at the bound)
ISSUE_TABLE = [
    (SMALLCNN, 0.3, 8, 0.037, 0.043, 30, None, None),
    (SMALLCNN, 0.5, 8, 0.047, 0.055, 46, None, None),
    (WHITENET, 0.3, 3, 0.019, 0.062, 10, 0.040, 34),
    (WHITENET, 0.5, 3, 0.022, 0.072, 12, 0.047, 45),
]


@pytest.mark.skipif(not (SMALLCNN.is_dir() and WHITENET.is_dir()), reason="needs the committed results/")
@pytest.mark.parametrize("folder, density, n, sd, mde, seeds, bound, seeds_bound", ISSUE_TABLE)
def test_reproduces_the_issue_table(folder, density, n, sd, mde, seeds, bound, seeds_bound):
    """Issue 32: learned allocation (Random+Learned) − DRoP (Random+DRoP), worst class, +0.02: the
    exact noncentral-t MDE at n − 1 degrees of freedom and the seeds needed by iteration."""
    from empirical.report import power_paths

    rows = power_paths([folder], baseline="Random+DRoP", delta=0.02)["rows"]
    (r,) = [r for r in rows
            if r["study"] == "S1" and r["density"] == density and r["method"] == "Random+Learned"]
    assert r["n_seeds"] == n
    assert round(r["sd"], 3) == sd
    assert round(r["min_detectable"], 3) == mde
    assert r["seeds_for_delta"] == seeds
    if bound is not None:
        assert round(r["sd_upper"], 3) == bound and r["seeds_for_delta_at_sd_upper"] == seeds_bound


@pytest.mark.skipif(not WHITENET.is_dir(), reason="needs the committed results/")
def test_cli_power(capsys):
    from gaussian_theory.cli import main

    assert main(["empirical", "power", str(WHITENET), "--baseline", "Random+DRoP", "--delta", "0.02",
                 "--markdown"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| 0.5 | Random+Learned − Random+DRoP |"))
    assert "| 3 |" in row and "| 0.022 | 0.047 | 0.072 | 12 | 45 |" in row
    assert main(["empirical", "power", str(WHITENET)]) == 0                  # plain text, against Random
    out = capsys.readouterr().out
    assert "Random+DRoP − Random" in out and "seeds to detect +0.02" in out
    assert main(["empirical", "power", str(WHITENET), "--baseline", "Nope"]) == 2
    assert "baseline 'Nope' is not a method" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["empirical", "power", str(WHITENET), "--delta", "0"])
    assert "argument --delta: expected a finite number > 0, got '0'" in capsys.readouterr().err
