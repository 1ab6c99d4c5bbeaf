"""``droplab empirical metriq-compare``: droplab's DRoP counts against datacull's MetriQ
(:mod:`empirical.metriq_compare`), on a synthetic folder of runs and on the committed whitenet-256 runs."""

import json
from pathlib import Path

import numpy as np
import pytest
from _synthetic_runs import write_study

from empirical import metriq_compare
from empirical.cli_analyses import main
from empirical.metriq_compare import compare_cases, drop_cases, format_comparison

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("runs"), seeds=(0, 1), densities=(0.3, 0.5), minimax=False,
                       pilots=False, learned=False)


def test_the_cases_are_the_drop_runs_then_imbalanced_variants(study):
    cases = drop_cases(study)
    names = [c[0] for c in cases]
    # the Random+DRoP runs only (not DRoP(a=0.7), probit or Random), by file name
    assert names == ["seed 0 d=0.3, balanced", "seed 1 d=0.3, balanced", "seed 0 d=0.5, balanced",
                     "seed 1 d=0.5, balanced", "seed 0 recalls, sizes 5000..500, d=0.3",
                     "seed 0 recalls, sizes 5000..500, d=0.5", "seed 0 recalls, sizes 5000..500, d=0.8"]
    run = json.loads((study / "random_drop_d0.3_s0.json").read_text())
    assert cases[0][1:] == (run["query"]["recalls"], run["dataset"]["class_sizes"], 0.3)
    assert cases[-1][1:] == (run["query"]["recalls"], [5000, 3500, 2000, 500], 0.8)


def test_clear_errors(tmp_path, monkeypatch, study):
    with pytest.raises(ValueError, match="does not exist"):
        drop_cases(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no finished Random\+DRoP run .* of '.*'"):
        drop_cases(tmp_path)
    monkeypatch.setattr(metriq_compare.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match="pip install datacull"):
        compare_cases(drop_cases(study))


def test_the_table_format():
    rows = [{"name": "case", "budget": 10, "droplab": np.array([5, 5]), "datacull": np.array([4, 5])}]
    lines = format_comparison(rows).splitlines()
    assert lines[0].startswith("case ") and lines[0].endswith("per-class diff (datacull - droplab)")
    assert lines[1] == f"{'case':44s} {10:7d} {10:8d} {9:9d}  {1:10d}  -1 +0"


def test_droplab_and_metriq_agree_within_one_sample(study, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("datacull")
    rows = compare_cases(drop_cases(study))
    for r in rows:
        assert r["droplab"].sum() == r["budget"]                     # exactly round(dN)
        assert r["budget"] - 4 <= r["datacull"].sum() <= r["budget"]  # datacull floors each class
        assert np.abs(r["datacull"] - r["droplab"]).max() <= 1
    assert main(["metriq-compare", str(study)]) == 0
    assert capsys.readouterr().out == format_comparison(rows)


@pytest.mark.slow  # ~10 s: datacull's imports
def test_the_readme_claim_on_the_whitenet_256_runs():
    """README: every class count agrees within 1 sample; datacull's totals fall 2-7 short of the budget."""
    pytest.importorskip("torch")
    pytest.importorskip("datacull")
    rows = compare_cases(drop_cases(RESULTS / "cifar10-whitenet-256"))
    assert len(rows) == 9 + 3
    for r in rows:
        assert np.abs(r["datacull"] - r["droplab"]).max() <= 1
        assert 2 <= r["budget"] - r["datacull"].sum() <= 7 and r["droplab"].sum() == r["budget"]
