"""`droplab empirical report` on a tiny synthetic results folder (no torch, no training).

Checks that configurations are never mixed, copies of one run count once (with a warning naming
them), seeds are distinct, paired differences against Random are exact, and every CSV, the README
table and the figures are written.
"""

import csv
import json
import shutil

import numpy as np
import pytest

from empirical.report import make_report
from empirical.report_comparisons import paired_rows
from empirical.report_runs import collect, configuration, group_runs
from empirical.stats import accuracy_intervals

NAMES = ["cat", "dog", "ship", "frog"]
N_TEST = 20
CONFIG = {"dataset": "cifar10", "data_dir": "/data", "data_format": "auto", "model": "smallcnn",
          "density": 0.5, "score": "random", "quota": "none", "rule": "paper", "recipe": "fast", "epochs": 8,
          "batch_size": None, "lr": None, "query_epochs": 3, "query_inits": None, "query_augment": False,
          "epoch_rule": "fixed",
          "augment": True, "shift": 4, "channels_last": None, "device": "auto", "surrogate": "isotropic",
          "limit_per_class": None, "synthetic": {}, "precision": "auto"}
METHODS = {("random", "none"): "Random", ("random", "drop"): "Random+DRoP", ("el2n", "none"): "EL2N"}


def correct_counts(score, quota, density, seed):
    """Correct test images per class (of N_TEST): DRoP lifts the worst class (cat) by 4 + seed images."""
    c = np.array([8, 14, 16, 12]) + int(10 * density) + seed
    if quota == "drop":
        c += np.array([4 + seed, -1, -2, 0])
    if score == "el2n":
        c -= 1
    return np.minimum(c, N_TEST)


def fake_run(score="random", quota="none", density=0.5, seed=0, with_intervals=False, **over):
    cfg = {**CONFIG, "score": score, "quota": quota, "density": density, **over}
    c = correct_counts(score, quota, density, seed)
    labels = np.repeat(np.arange(4), N_TEST)
    pred = labels.copy()
    for k in range(4):   # the last N_TEST - c_k images of class k are called class (k + 1) % 4
        pred[k * N_TEST + c[k]:(k + 1) * N_TEST] = (k + 1) % 4
    rec = (c / N_TEST).tolist()
    test = {"accuracy": float(c.sum() / labels.size), "worst_class_accuracy": min(rec), "recalls": rec,
            "predictions": pred.tolist(), "labels": labels.tolist()}
    r = {"status": "done", "run_id": f"{score}_{quota}_d{density:g}_s{seed}_e{cfg['epochs']}", "seed": seed,
         "method": {**METHODS, ("el2n", "drop"): "EL2N+DRoP"}[(score, quota)], "config": cfg,
         "dataset": {"class_names": NAMES, "class_sizes": [100] * 4},
         "query": {"val_accuracy": [0.5], "recalls": [0.4, 0.6, 0.7, 0.5]} if quota == "drop" else None,
         "selection": {"n_selected": int(400 * density), "class_counts": [int(100 * density)] * 4,
                       "class_densities": [density] * 4},
         "final": {"epochs": cfg["epochs"], "val": {"accuracy": 0.5, "worst_class_accuracy": 0.4},
                   "test": test},
         "metrics": {k: test[k] for k in ("accuracy", "worst_class_accuracy", "recalls")},
         "theory": None,
         "timings": {"total_s": 10.0 + seed + (5 if quota == "drop" else 0), "final_train_s": 9.0},
         "device": "cpu (2 threads)", "precision": "bf16"}
    if with_intervals:
        r["intervals"] = accuracy_intervals(pred, labels, 4, class_names=NAMES)
    return r


def write(folder, r, name=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (name or f"{r['run_id']}.json")).write_text(json.dumps(r))


@pytest.fixture
def results(tmp_path):
    res = tmp_path / "results"
    for d in (0.3, 0.5):
        for seed in (0, 1, 2):
            for score, quota in METHODS:
                write(res, fake_run(score, quota, d, seed, with_intervals=(seed == 0)))
    for seed in (0, 1):
        write(res, fake_run("random", "none", 1.0, seed))
    # a copy of one run in another folder (counted once), a run with different epochs (its own study)
    shutil.copy(res / "random_drop_d0.5_s1_e8.json", tmp_path / "copy.json")
    write(res / "other", fake_run("random", "none", 0.5, 0, epochs=10))
    write(res / "other", fake_run("random", "drop", 0.5, 0, epochs=10))
    (res / "notes.json").write_text("[1, 2]")         # not a run: ignored
    (res / "broken.json").write_text("{")              # not JSON: ignored
    return tmp_path


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_grouping_distinct_seeds_and_duplicates(results):
    pairs = collect([results / "results", results / "copy.json"], with_paths=True)
    assert len(pairs) == 2 * 3 * 3 + 2 + 1 + 2
    g = group_runs(pairs)
    assert len(g["runs"]) == 22                        # the copy counts once
    assert len(g["warnings"]) == 1 and "2 copies" in g["warnings"][0]
    assert "copy.json" in g["warnings"][0] and "random_drop_d0.5_s1_e8.json" in g["warnings"][0]
    assert set(g["studies"]) == {"S1", "S2"}
    assert {st["differs"]["epochs"] for st in g["studies"].values()} == {8, 10}
    assert g["studies"]["S1"]["seeds"] == [0, 1, 2] and g["studies"]["S2"]["seeds"] == [0]
    assert all("epochs=" in st["label"] for st in g["studies"].values())
    # rule is ignored unless the quota is drop; data_dir and device never define a configuration
    a = configuration({**CONFIG, "rule": "code", "data_dir": "x", "device": "cuda"})
    assert a == configuration(CONFIG)
    drop = {**CONFIG, "quota": "drop"}
    assert configuration({**drop, "rule": "code"}) != configuration(drop)
    old = {k: v for k, v in CONFIG.items() if k != "precision"}   # recorded before the field existed
    assert configuration(old) == configuration(CONFIG)


def test_theory_allocations_pair_with_runs_recorded_before_their_fields(tmp_path):
    # The CIFAR grid mixes runs recorded before ``alpha``/``min_per_class`` existed (no such keys) with
    # Random+Probit and damped-DRoP runs: one study, each paired with the Random run of its seed.
    res = tmp_path / "res"
    old_cfg = {k: v for k, v in CONFIG.items() if k != "precision"}
    for seed in (0, 1):
        random = fake_run("random", "none", 0.5, seed)
        random["config"] = dict(old_cfg)
        write(res, random)
        write(res, fake_run("random", "drop", 0.5, seed, alpha=1.0, min_per_class=0))
        for label, over in (("Random+DRoP(a=0.7)", {"alpha": 0.7}), ("Random+Probit", {"quota": "probit"})):
            r = fake_run("random", "drop", 0.5, seed, min_per_class=0, alpha=1.0)
            r["config"].update(over)
            r["run_id"] += "_" + label
            r["method"] = label
            write(res, r)
    g = group_runs(collect(res, with_paths=True))
    assert list(g["studies"]) == ["S1"] and len(g["runs"]) == 8
    # alpha only matters for recall quotas: a Random run with alpha 0.7 is the same configuration
    assert configuration({**CONFIG, "alpha": 0.7}) == configuration(CONFIG)
    probit = {**CONFIG, "quota": "probit"}
    assert configuration({**probit, "rule": "code"}) != configuration(probit)
    rep = make_report(res, out_dir=tmp_path / "rep", plots=False)
    paired = {(r["method"], r["seed"]) for r in rep["paired"]}
    assert paired == {(m, s) for m in ("Random+DRoP", "Random+DRoP(a=0.7)", "Random+Probit") for s in (0, 1)}


def test_report_numbers_csvs_and_figures(results):
    out = results / "rep"
    rep = make_report([results / "results", results / "copy.json"], out, n_boot=500)
    s1 = {(r["density"], r["method"]): r for r in rep["summary"] if r["study"] == "S1"}
    assert set(s1) == {(d, m) for d in (0.3, 0.5) for m in METHODS.values()} | {(1.0, "Random")}
    cell = s1[(0.5, "Random+DRoP")]
    assert cell["n_seeds"] == 3 and cell["seeds"] == "0 1 2"     # the copy did not add a seed
    worst = [min(correct_counts("random", "drop", 0.5, s) / N_TEST) for s in (0, 1, 2)]
    assert cell["worst_class_mean"] == pytest.approx(np.mean(worst))
    assert (cell["worst_class_min"], cell["worst_class_max"]) == pytest.approx((min(worst), max(worst)))
    gains = [min(correct_counts("random", "drop", 0.5, s) / N_TEST)
             - min(correct_counts("random", "none", 0.5, s) / N_TEST) for s in (0, 1, 2)]
    assert cell["n_pairs"] == 3
    assert cell["paired_worst_class_diff_mean"] == pytest.approx(np.mean(gains))
    assert cell["paired_worst_class_diff_min"] == pytest.approx(min(gains))
    accs = [(correct_counts("random", "drop", 0.5, s).sum() - correct_counts("random", "none", 0.5, s).sum())
            / (4 * N_TEST) for s in (0, 1, 2)]
    assert cell["paired_accuracy_diff_mean"] == pytest.approx(np.mean(accs))
    assert cell["wall_s_mean"] == pytest.approx(16.0)
    assert s1[(0.5, "Random")]["n_pairs"] == 0 and s1[(1.0, "Random")]["n_seeds"] == 2
    # the S2 study (epochs = 10) is paired within itself only
    s2 = [r for r in rep["summary"] if r["study"] == "S2"]
    assert [(r["method"], r["n_seeds"], r["n_pairs"]) for r in s2] == [("Random", 1, 0),
                                                                        ("Random+DRoP", 1, 1)]

    runs = _csv(out / "runs.csv")
    assert len(runs) == 22
    assert {r["intervals"] for r in runs} == {"recorded", "recomputed"}
    assert all(float(r["worst_class_low"]) <= float(r["worst_class_accuracy"]) <= float(r["worst_class_high"])
               for r in runs)
    paired = _csv(out / "paired.csv")
    assert len(paired) == 2 * 2 * 3 + 1                 # DRoP and EL2N at two densities, 3 seeds; S2 DRoP
    assert all(float(p["worst_class_diff_low"]) <= float(p["worst_class_diff"])
               <= float(p["worst_class_diff_high"]) for p in paired)
    assert len(_csv(out / "classes.csv")) == 22 * 4
    assert len(_csv(out / "class_summary.csv")) == len(rep["summary"]) * 4
    assert len(_csv(out / "summary.csv")) == len(rep["summary"])
    for stem in ("accuracy_cifar10_smallcnn_fast_S1", "accuracy_cifar10_smallcnn_fast_S2",
                 "recalls_cifar10_smallcnn_fast_S1_d0.5", "recalls_cifar10_smallcnn_fast_S2_d0.5"):
        for ext in ("png", "pdf"):
            assert (out / f"{stem}.{ext}").stat().st_size > 1000
    assert not list(out.glob(".*"))                     # no temporary files left behind
    md = (out / "README_table.md").read_text()
    assert md == rep["markdown"] + "\n" + rep["scorer_markdown"]   # the scorer study of S1's EL2N too
    assert "| 0.5 | Random+DRoP | 3 |" in md and "epochs=10" in md and "bf16" in md


def test_cli_report_says_what_was_grouped(results, capsys):
    from gaussian_theory.cli import main

    out = results / "cli"
    assert main(["empirical", "report", str(results / "results"), str(results / "copy.json"),
                 "--out", str(out), "--no-plots", "--markdown", "--n-boot", "200"]) == 0
    text = capsys.readouterr().out
    assert "23 run JSON(s) -> 22 distinct run(s) in 2 configuration(s)" in text
    assert "warning: 2 copies of one run" in text and "differs in {'epochs': 10}" in text
    assert "| d | method |" in text and not list(out.glob("*.png"))


def test_bad_input(tmp_path, results):
    with pytest.raises(ValueError, match="no such file"):
        make_report([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no finished run JSONs"):
        make_report([tmp_path / "empty"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        make_report([results / "results"], tmp_path / "file")
    with pytest.raises(ValueError, match="n_boot"):
        make_report([results / "results"], n_boot=3)


def test_runs_without_predictions_still_report(tmp_path):
    """JSONs written before predictions were stored: no intervals, but every summary and file."""
    for quota in ("none", "drop"):
        r = fake_run("random", quota, 0.5, 0)
        del r["final"]["test"]["predictions"], r["final"]["test"]["labels"]
        write(tmp_path / "old", r)
    rep = make_report([tmp_path / "old"], tmp_path / "rep", plots=False)
    runs = _csv(tmp_path / "rep" / "runs.csv")
    assert [r["intervals"] for r in runs] == ["", ""] and runs[0]["accuracy_low"] == ""
    (drop,) = [r for r in rep["summary"] if r["method"] == "Random+DRoP"]
    assert drop["n_pairs"] == 1 and drop["paired_worst_class_ci_excludes_0"] == ""
    assert "| 0.5 | Random+DRoP | 1 |" in rep["markdown"]


def test_differing_copies_say_which_file_was_used(tmp_path):
    # Issue 10: "their accuracies DIFFER [...]; using the first" did not say which file that was.
    r = fake_run("random", "drop", 0.5, 1)
    write(tmp_path / "a", r, "run.json")
    other = json.loads(json.dumps(r))
    other["metrics"]["accuracy"] = 0.123
    write(tmp_path / "b", other, "run.json")
    pairs = collect([tmp_path / "a", tmp_path / "b"], with_paths=True)
    g = group_runs(pairs)
    assert len(g["runs"]) == 1 and len(g["warnings"]) == 1
    used = g["runs"][0]["_path"]
    assert used in {str(tmp_path / "a" / "run.json"), str(tmp_path / "b" / "run.json")}
    assert "their (accuracy, worst-class accuracy) DIFFER" in g["warnings"][0]
    assert g["warnings"][0].endswith(f"; using {used}") and "using the first" not in g["warnings"][0]


def test_report_readme_captions_every_figure(results):
    """README.md of the report folder: the tables and one section per figure, with a caption made from
    the same numbers (the docs' "Real data" page is built from it)."""
    import re

    out = results / "rep"
    rep = make_report([results / "results"], out, n_boot=200)
    text = (out / "README.md").read_text(encoding="utf-8")
    assert str(out / "README.md") in rep["files"]
    assert rep["markdown"].strip() in text                      # the tables
    pngs = sorted(p.name for p in out.glob("*.png"))
    sections = text.split("\n## Figures\n", 1)[1].split("\n### ")[1:]
    images = [re.search(r"!\[[^\]]*\]\(([^)]+)\)", s).group(1) for s in sections]
    assert sorted(images) == pngs and len(pngs) == 7            # two studies, three figures each; S1's EL2N
    for section, image in zip(sections, images):
        caption = section.split(f"({image})\n\n", 1)[1].split("\n\n")[0]
        assert len(caption) > 200 and f"`{image[:-4]}.pdf`" in section
    # the caption's numbers are the summary's: DRoP lifts the worst class most, at d = 0.5 here
    s1 = [r for r in rep["summary"] if r["study"] == "S1" and r["n_pairs"]]
    best = max(s1, key=lambda r: r["paired_worst_class_diff_mean"])
    assert (f"Highest mean difference: {best['method']} at d = {best['density']:g} "
            f"({best['paired_worst_class_diff_mean']:+.3f})") in text
    assert "The worst class of each method: Random: cat" in text
    # without plots: no figure section (and no figure)
    make_report([results / "results"], results / "noplots", plots=False, n_boot=200)
    assert "## Figures" not in (results / "noplots" / "README.md").read_text(encoding="utf-8")


def test_report_without_random_baseline_says_so(tmp_path):
    """No Random run (score random, quota none): the third panel says why it is empty, with no
    matplotlib warning (it drew an empty legend before), and so does the caption."""
    import warnings

    from empirical.report_figures_accuracy import NO_BASELINE, accuracy_figure

    for d in (0.3, 0.5):
        for seed in (0, 1):
            write(tmp_path / "res", fake_run("random", "drop", d, seed))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = make_report([tmp_path / "res"], tmp_path / "rep", n_boot=200)
        fig = accuracy_figure(rep["summary"], rep["studies"]["S1"])
    assert all(r["n_pairs"] == 0 for r in rep["summary"])
    panel = fig.axes[2]
    assert [t.get_text() for t in panel.texts] == [NO_BASELINE] and panel.get_legend() is None
    assert not panel.lines                                      # no stray zero line either
    assert (tmp_path / "rep" / "accuracy_cifar10_smallcnn_fast.png").stat().st_size > 1000
    assert "no Random baseline" in (tmp_path / "rep" / "README.md").read_text(encoding="utf-8")


def test_named_explicit_counts_group_across_seeds():
    """A rule computed per seed and trained with --quota counts (the learned allocation) is one method:
    its seeds group together whatever their counts; unnamed explicit counts stay apart."""
    a = configuration({**CONFIG, "quota": "counts", "class_counts": [1, 2], "counts_label": "Learned"})
    b = configuration({**CONFIG, "quota": "counts", "class_counts": [2, 1], "counts_label": "Learned"})
    c = configuration({**CONFIG, "quota": "counts", "class_counts": [2, 1]})
    d = configuration({**CONFIG, "quota": "counts", "class_counts": [1, 2]})
    assert a == b and c != d


def test_named_explicit_counts_are_a_method_of_the_same_study():
    """The learned allocation (explicit counts, label Learned) sits in the Random study's table, paired
    with the Random run of its seed and density."""
    runs = [fake_run(seed=s) for s in (0, 1)]
    for s in (0, 1):
        r = fake_run(seed=s, class_counts=[5, 5 + s], counts_label="Learned")
        r["config"]["quota"], r["method"], r["run_id"] = "counts", "Random+Learned", f"learned_s{s}"
        runs.append(r)
    rep = group_runs([(f"r{i}.json", r) for i, r in enumerate(runs)])
    assert len(rep["studies"]) == 1
    paired = paired_rows(rep["runs"], n_boot=100)
    assert sorted((p["method"], p["seed"]) for p in paired) == [("Random+Learned", 0), ("Random+Learned", 1)]


def test_scorer_study_recall_changes_densities_and_repair(tmp_path):
    """The paper's scorer study: per class, the recall change against Random of the same seed and the kept
    density; per scorer, the classes pruned hardest and the paired worst-class effect of DRoP quotas on the
    scorer (exact, from the synthetic counts); its CSVs, table and figure are written."""
    from empirical.report_figures_classes import scorer_figure

    dens = {"none": [0.2, 0.9, 0.3, 0.6], "drop": [0.8, 0.4, 0.1, 0.7]}
    for seed in (0, 1):
        write(tmp_path / "res", fake_run("random", "none", 0.5, seed))
        for quota in ("none", "drop"):
            r = fake_run("el2n", quota, 0.5, seed)
            r["selection"]["class_densities"] = r["metrics"]["class_densities"] = dens[quota]
            write(tmp_path / "res", r)
    write(tmp_path / "res", fake_run("el2n", "none", 0.3, 0))    # no Random partner at 0.3: not in the study
    rep = make_report([tmp_path / "res"], tmp_path / "rep", n_boot=200)
    per_class = _csv(tmp_path / "rep" / "scorer_classes.csv")
    assert {(r["method"], float(r["density"])) for r in per_class} == {("EL2N", 0.5), ("EL2N+DRoP", 0.5)}
    for quota, method in (("none", "EL2N"), ("drop", "EL2N+DRoP")):
        change = np.array([correct_counts("el2n", quota, 0.5, s) - correct_counts("random", "none", 0.5, s)
                           for s in (0, 1)]) / N_TEST
        rows = [r for r in per_class if r["method"] == method]
        np.testing.assert_allclose([float(r["recall_change_mean"]) for r in rows], change.mean(0))
        np.testing.assert_allclose([float(r["recall_change_min"]) for r in rows], change.min(0))
        np.testing.assert_allclose([float(r["kept_density_mean"]) for r in rows], dens[quota])
    by = {r["method"]: r for r in rep["scorers"]}
    assert by["EL2N"]["most_pruned"] == "cat:0.200 ship:0.300"
    assert by["EL2N+DRoP"]["most_pruned"] == "ship:0.100 dog:0.400"
    repair = [min(correct_counts("el2n", "drop", 0.5, s)) - min(correct_counts("el2n", "none", 0.5, s))
              for s in (0, 1)]
    assert by["EL2N+DRoP"]["repair_n_pairs"] == 2
    assert by["EL2N+DRoP"]["repair_worst_class_diff_mean"] == pytest.approx(np.mean(repair) / N_TEST)
    assert by["EL2N"]["repair_n_pairs"] == 0 and by["EL2N"]["repair_worst_class_diff_mean"] == ""
    assert "| 0.5 | EL2N+DRoP | 2 |" in rep["scorer_markdown"]
    assert rep["scorer_markdown"] in (tmp_path / "rep" / "README_table.md").read_text()
    text = (tmp_path / "rep" / "README.md").read_text(encoding="utf-8")
    assert "### Scorers against Random at d = 0.5" in text and "most pruned cat (kept 0.20)" in text
    assert (tmp_path / "rep" / "scorers_cifar10_smallcnn_fast_d0.5.png").stat().st_size > 1000
    fig = scorer_figure([], rep["studies"]["S1"], 0.5)
    assert fig is None                                          # nothing to draw: no figure


def test_compare_regimes_side_by_side(results, capsys):
    """`droplab empirical compare`: one row per density and method of either regime's main study, with each
    regime's paired differences (the summary's numbers) or a dash where the regime lacks the cell."""
    from empirical.report import summarise_paths
    from empirical.report_tables import compare_markdown
    from gaussian_theory.cli import main

    a = summarise_paths([results / "results"], n_boot=100)["summary"]
    b = [r for r in a if r["density"] == 0.5]
    md = compare_markdown({"A": a, "B": b})
    cell = next(r for r in a if r["study"] == "S1" and r["density"] == 0.3 and r["method"] == "Random+DRoP")
    gain = (f"{cell['paired_worst_class_diff_mean']:+.3f} [{cell['paired_worst_class_t_low']:+.3f}, "
            f"{cell['paired_worst_class_t_high']:+.3f}] {cell['paired_worst_class_verdict']}")
    row = next(line for line in md.splitlines() if line.startswith("| 0.3 | Random+DRoP |"))
    assert f"| 3 | {gain}, " in row and row.endswith("| — | — | — |")
    assert sum(line.startswith("| 0.5 | Random+DRoP | 3 |") for line in md.splitlines()) == 1
    assert "| 1 | Random |" not in md                       # the full-data baseline has nothing to pair
    assert main(["empirical", "compare", "--regime", "A", str(results / "results"), "--regime", "B",
                 str(results / "results"), "--n-boot", "100"]) == 0
    assert "| A: seeds |" in capsys.readouterr().out
    assert main(["empirical", "compare", "--regime", "A", str(results / "results"), "--regime", "A",
                 str(results / "results")]) == 2
    assert "--regime labels must differ, got 'A' twice" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least one"):
        compare_markdown({})


def _hostile(r, case):
    """Spoil one field of run ``r`` (issue 32's trial of hostile inputs)."""
    if case == "config null":
        r["config"] = None
    elif case == "no worst class":
        del r["metrics"]["worst_class_accuracy"]
    elif case == "NaN accuracy":
        r["metrics"]["accuracy"] = float("nan")
    elif case == "too few recalls":
        r["metrics"]["recalls"] = r["metrics"]["recalls"][:2]
    elif case == "density 7":
        r["config"]["density"] = 7
    return r


@pytest.mark.parametrize("case, match", [
    ("config null", r"config must be an object, got None"),
    ("no worst class", r"missing field 'metrics.worst_class_accuracy'"),
    ("NaN accuracy", r"metrics.accuracy must be a finite number in \[0, 1\], got nan"),
    ("too few recalls",
     r"metrics.recalls must be a list of one recall per class \(4 classes\), got \[0.85, 0.9\]"),
    ("density 7", r"config.density must be a number in \(0, 1\], got 7"),
])
def test_hostile_run_json_is_refused_naming_the_file(tmp_path, capsys, case, match):
    """A run JSON the report cannot read is a ValueError naming the file, the field and the value -- from
    the library, and from `droplab empirical report`/`compare` as one error line and status 2."""
    from empirical.report import summarise_paths
    from gaussian_theory.cli import main

    write(tmp_path / "res", fake_run("random", "none", 0.5, 0))
    bad = tmp_path / "res" / "bad.json"
    bad.write_text(json.dumps(_hostile(fake_run("random", "drop", 0.5, 0), case)))
    with pytest.raises(ValueError, match=match) as info:
        summarise_paths([tmp_path / "res"], n_boot=100)
    assert str(bad) in str(info.value)
    with pytest.raises(ValueError, match=match):
        make_report([tmp_path / "res"], tmp_path / "rep", plots=False, n_boot=100)
    assert main(["empirical", "report", str(tmp_path / "res"), "--out", str(tmp_path / "rep"),
                 "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("droplab: error: ") and str(bad) in err and "Traceback" not in err
    assert main(["empirical", "compare", "--regime", "A", str(tmp_path / "res")]) == 2
    assert str(bad) in capsys.readouterr().err


def test_compare_refuses_an_empty_regime_label(results, capsys):
    from empirical.report_tables import compare_markdown
    from gaussian_theory.cli import main

    assert main(["empirical", "compare", "--regime", "", str(results / "results")]) == 2
    assert "--regime label must not be empty, got ''" in capsys.readouterr().err
    with pytest.raises(ValueError, match="regime labels must be non-empty strings, got ' '"):
        compare_markdown({" ": []})
