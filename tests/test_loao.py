"""``droplab empirical loao``: leave one allocation out (:mod:`empirical.loao`) and the learned
allocation's paired test (:mod:`empirical.learned_study`), on a synthetic folder of runs with pilots."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from _synthetic_runs import write_study

from empirical.cli_analyses import main
from empirical.learned_study import format_study
from empirical.loao import (
    PILOT_ORDER,
    budget_table,
    collect,
    error_table,
    format_loao,
    leave_one_out,
    pilot_budget,
    scores,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Seeds 0 and 1 at d = 0.5: Random, DRoP, DRoP(a=0.7), probit, minimax, learned; four pilots a seed."""
    return write_study(tmp_path_factory.mktemp("runs"), seeds=(0, 1))


@pytest.fixture(scope="module")
def data(study):
    return collect(study)


def test_collect_reads_the_runs_and_the_pilots(data, study):
    assert data.pilots == study / "pilots" and not data.log
    assert len(data.pairs) == 2 * 6 and len(data.pilot_pairs) == 2 * 4
    assert sorted(data.held) == ["Random+DRoP d=0.5", "Random+DRoP(a=0.7) d=0.5", "Random+Learned d=0.5",
                                 "Random+Minimax d=0.5", "Random+Probit d=0.5"]


def test_scores_and_tables():
    assert scores(np.array([0.5, 0.9]), np.array([0.6, 0.8])) == pytest.approx((0.1, 0.1))
    rows = {"learned": {"rule": [(0.1, 0.2), (0.3, 0.4)]}}
    assert error_table(rows).splitlines()[2] == "| learned | 0.200 | — | 0.300 | — |"
    budget = [("query model only (prior shift)", 0, {"minimax": [(0.5, 0.25)]})]
    assert budget_table(budget).splitlines()[2] == ("| query model only (prior shift) | 0 | — | 0.500 | — | "
                                                    "0.250 |")


@pytest.mark.slow  # ~5 s: a recall model fitted per held-out allocation
def test_leave_one_out_on_synthetic_runs(data):
    rows, per_alloc = leave_one_out(data, "test")
    assert set(rows) == {"same-budget uniform", "prior shift", "learned", "learned, pilots only",
                         "noise floor (other seeds' test recalls)",
                         "noise floor (other seeds' validation recalls)"}
    # 4 rule-based allocations x 2 seeds, 1 minimax x 2 seeds
    assert len(rows["learned"]["rule"]) == 8 and len(rows["learned"]["minimax"]) == 2
    assert len(per_alloc) == 10 and per_alloc[0][:2] == ("Random+DRoP d=0.5", 0)
    mean = {k: np.mean([m for m, _ in v["rule"] + v["minimax"]]) for k, v in rows.items()}
    # the synthetic recalls follow the prior shift: the learned model and the prior shift beat "no effect"
    assert mean["learned"] < mean["same-budget uniform"] / 2
    assert mean["prior shift"] < mean["same-budget uniform"] / 2
    # one run by hand: "same-budget uniform" is the Random run's validation recalls
    a, s, sc = next(p for p in per_alloc if p[0] == "Random+Probit d=0.5" and p[1] == 1)
    probit = next(d for d, _ in data.by_alloc[a] if d["seed"] == 1)
    random = next(d for d, _ in data.by_alloc["Random d=0.5"] if d["seed"] == 1)
    assert sc["same-budget uniform"] == scores(np.array(random["final"]["val"]["recalls"]),
                                               np.array(probit["metrics"]["recalls"]))


@pytest.mark.slow  # ~10 s: every table
def test_format_loao_and_the_command(data, study, capsys):
    text = format_loao(data, markdown=True)
    assert text.startswith(f"leave-one-allocation-out on {study} (5 allocations, 12 runs)")
    assert "scored on the held-out runs' test recalls:" in text and "validation recalls:" in text
    assert "per allocation and seed" not in text
    budget = pilot_budget(data)
    assert [name for name, _, _ in budget] == ["query model only (prior shift)"] + [
        " + ".join(PILOT_ORDER[:n]) for n in range(1, 5)]
    # the pilots' price: images per epoch x epochs (6), summed over the pilots used
    assert [images for _, images, _ in budget] == [0, 80 * 4 * 6, 120 * 4 * 6, (120 * 4 + 344) * 6,
                                                   (120 * 4 + 344 * 2) * 6]
    assert main(["loao", str(study)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(text)  # then the errors per held-out run
    assert out.splitlines()[-1].startswith("  Random+Probit d=0.5          seed 1: same-budget uniform ")


def test_the_learned_study(data, study):
    text = format_study(data.pairs, data.pilot_pairs, study / "pilots" / "allocations")
    lines = text.splitlines()
    assert [line.split(" | ")[1] for line in lines[2:5]] == ["Random+DRoP", "Random+DRoP(a=0.7)", "Random"]
    # the worst-class difference against Random, by hand
    runs = {(d["method"], d["seed"]): d for d, _ in data.pairs}
    dw = [runs[("Random+Learned", s)]["final"]["test"]["worst_class_accuracy"]
          - runs[("Random", s)]["final"]["test"]["worst_class_accuracy"] for s in (0, 1)]
    assert lines[4].startswith(f"| 0.5 | Random | 2 | {np.mean(dw):+.3f} [")
    # the measured worst class by name, with its forecast from the allocation file
    learned = runs[("Random+Learned", 0)]["metrics"]["recalls"]
    k = int(np.argmin(learned))
    allocation_file = study / "pilots" / "allocations" / "learned_d0.5_s0.json"
    forecast = json.loads(allocation_file.read_text())["predicted"]
    name = ["ant", "bee", "cat", "dog"][k]
    assert f"  d=0.5 seed 0: {name} {learned[k]:.3f} (predicted {forecast[k]:.3f})" in lines
    # the compute: pilots (4 pilots, 6 epochs), the query model (1,600 images x 3 epochs), the final run
    assert lines[-1] == ("training compute per seed, in training images: pilots 7,008; query model 4,800; "
                         "final run 6 x d x 1,600 (4,800 at d = 0.5)")
    assert format_study([], [], study) == "(no Random+Learned runs)"


def test_clear_errors(study, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        collect(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no Random run \(score random, quota none\) .* in '.*empty'"):
        collect(tmp_path / "empty")
    only_random = tmp_path / "random"
    shutil.copytree(study / "query_logits", only_random / "query_logits")
    for f in study.glob("random_d0*.json"):
        shutil.copy(f, only_random)
    with pytest.raises(ValueError, match="no allocation to hold out .* in '.*random'"):
        collect(only_random)
    # runs without their query logits are skipped with a word, then nothing qualifies
    no_logits = tmp_path / "no_logits"
    no_logits.mkdir()
    for f in study.glob("*.json"):
        shutil.copy(f, no_logits)
    with pytest.raises(ValueError, match="no Random run"):
        collect(no_logits)


def test_a_run_without_its_random_run_is_not_held_out(study, tmp_path):
    """A DRoP run of a seed without a Random run of its density: scored by the noise floor only."""
    runs = tmp_path / "runs"
    shutil.copytree(study, runs)
    (runs / "random_d0.5_s1.json").unlink()
    data = collect(runs)
    rows, per_alloc = leave_one_out(data, "test")
    assert {s for _, s, _ in per_alloc} == {0}


@pytest.mark.slow  # ~15 s: the whitenet-256 study's 40 runs
def test_the_readme_numbers_of_the_whitenet_256_study():
    """README: 9 allocations, 40 runs; scored on the held-out runs' test recalls, rule-based: prior shift
    MAE 0.019, worst-class error 0.019; learned 0.017 and 0.024; noise floor (the other seeds' test
    recalls) 0.015 and 0.014."""
    data = collect(RESULTS / "cifar10-whitenet-256")
    assert (len(data.held), len(data.pairs)) == (9, 40)
    rows, _ = leave_one_out(data, "test")
    got = {k: tuple(round(float(np.mean([x[i] for x in v["rule"]])), 3) for i in (0, 1))
           for k, v in rows.items()}
    assert got["prior shift"] == (0.019, 0.019)
    assert got["learned"] == (0.017, 0.024)
    assert got["noise floor (other seeds' test recalls)"] == (0.015, 0.014)
