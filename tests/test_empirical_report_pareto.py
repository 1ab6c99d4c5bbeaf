"""The Pareto picture of `droplab empirical report` (average against worst-class test accuracy per density):
the front as a small pure function, the figure and its caption on small fake runs (no torch, no training).
"""

import re

import numpy as np
import pytest
from test_empirical_report import N_TEST, fake_run, write

from empirical.report import make_report
from empirical.report_figures_pareto import pareto_caption, pareto_figure, pareto_front


# ----------------------------------------------------------------------------- the front, on its own
def _brute_force(x, y):
    n = len(x)
    return np.array([not any(x[j] >= x[i] and y[j] >= y[i] and (x[j] > x[i] or y[j] > y[i])
                             for j in range(n)) for i in range(n)])


def test_front_keeps_the_undominated_and_drops_the_dominated():
    # a trade-off curve: nobody dominates anybody
    assert pareto_front([0.1, 0.2, 0.3], [0.3, 0.2, 0.1]).tolist() == [True, True, True]
    # the second point is better in both: the first is dominated
    assert pareto_front([0.7, 0.8], [0.5, 0.6]).tolist() == [False, True]
    # as good in one, better in the other: dominated
    assert pareto_front([0.7, 0.7], [0.5, 0.6]).tolist() == [False, True]
    assert pareto_front([0.7, 0.8], [0.6, 0.6]).tolist() == [False, True]
    # a single point is its own front
    assert pareto_front([0.5], [0.5]).tolist() == [True]


def test_front_keeps_exact_ties_together():
    # equal in both: neither dominates the other, both stay (unless a third point dominates both)
    assert pareto_front([0.7, 0.7, 0.6], [0.6, 0.6, 0.9]).tolist() == [True, True, True]
    assert pareto_front([0.7, 0.7, 0.8], [0.6, 0.6, 0.6]).tolist() == [False, False, True]


def test_front_matches_the_definition_on_random_grids():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        x, y = rng.integers(0, 4, n) / 4, rng.integers(0, 4, n) / 4     # a coarse grid: many ties
        mask = pareto_front(x, y)
        assert mask.dtype == bool and mask.tolist() == _brute_force(x, y).tolist()
        assert mask.any()                                               # a finite set has a front


def test_front_refuses_bad_input():
    with pytest.raises(ValueError, match="same length"):
        pareto_front([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="finite"):
        pareto_front([0.1, np.nan], [0.1, 0.2])


# ----------------------------------------------------------------------------- the figure and caption
#: correct test images per class (of N_TEST = 20, 4 classes) at d = 0.5: Random has the highest average
#: accuracy, Random+DRoP the highest worst class, EL2N+DRoP ties DRoP exactly, EL2N ties Random's worst
#: class with a lower average (dominated by Random)
COUNTS = {("random", "none"): [10, 16, 18, 14],     # avg 0.725, worst 0.500
          ("random", "drop"): [14, 14, 15, 13],     # avg 0.700, worst 0.650
          ("el2n", "drop"): [14, 14, 15, 13],       # the same: a tie
          ("el2n", "none"): [10, 15, 17, 13]}       # avg 0.6875, worst 0.500: dominated by Random


def counted_run(score, quota, density, seed, counts):
    """``fake_run`` with the given correct counts per class (predictions, recalls and metrics agree)."""
    r = fake_run(score, quota, density, seed)
    c = np.asarray(counts)
    labels = np.repeat(np.arange(4), N_TEST)
    pred = labels.copy()
    for k in range(4):
        pred[k * N_TEST + c[k]:(k + 1) * N_TEST] = (k + 1) % 4
    rec = (c / N_TEST).tolist()
    test = {"accuracy": float(c.sum() / labels.size), "worst_class_accuracy": min(rec), "recalls": rec,
            "predictions": pred.tolist(), "labels": labels.tolist()}
    r["final"]["test"] = test
    r["metrics"] = {k: test[k] for k in ("accuracy", "worst_class_accuracy", "recalls")}
    return r


@pytest.fixture
def report(tmp_path):
    res = tmp_path / "res"
    for seed in (0, 1, 2):
        for (score, quota), counts in COUNTS.items():
            write(res, counted_run(score, quota, 0.5, seed, counts))
        write(res, counted_run("random", "none", 0.3, seed, [8, 12, 14, 10]))   # one method: no panel
    rep = make_report([res], tmp_path / "rep", n_boot=200)
    return rep, tmp_path / "rep"


def test_figure_one_panel_per_density_with_two_methods(report):
    rep, _ = report
    fig = pareto_figure(rep["summary"], rep["studies"]["S1"])
    axes = [ax for ax in fig.axes if ax.axison]
    assert len(axes) == 1 and axes[0].get_title() == "d = 0.5: all 4 methods"
    # the front's line joins Random+DRoP / EL2N+DRoP (tied) and Random, by increasing average accuracy
    line = next(ln for ln in axes[0].lines if ln.get_color() == "k" and len(ln.get_xdata()) > 1)
    np.testing.assert_allclose(line.get_xdata(), [0.7, 0.7, 0.725])
    np.testing.assert_allclose(line.get_ydata(), [0.65, 0.65, 0.5])
    # every method is numbered on the panel, the front's numbers in bold
    labels = {t.get_text(): t.get_fontweight() for t in axes[0].texts}
    assert sorted(labels) == ["1", "2", "3", "4"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["1  Random", "2  Random+DRoP", "3  EL2N", "4  EL2N+DRoP"]
    assert labels["3"] == "normal" and {labels[k] for k in ("1", "2", "4")} == {"bold"}
    # nothing to draw without a density of two methods
    only_random = [r for r in rep["summary"] if r["method"] == "Random"]
    assert pareto_figure(only_random, rep["studies"]["S1"]) is None
    assert pareto_caption(only_random, rep["studies"]["S1"]) is None


def test_report_writes_the_figure_and_the_caption_names_the_front(report):
    rep, out = report
    for ext in ("png", "pdf"):
        assert (out / f"pareto_cifar10_smallcnn_fast.{ext}").stat().st_size > 1000
    assert str(out / "pareto_cifar10_smallcnn_fast.png") in rep["files"]
    text = (out / "README.md").read_text(encoding="utf-8")
    section = text.split("### Average against worst-class accuracy (Pareto front): ", 1)[1].split("\n### ")[0]
    assert "![Average against worst-class accuracy (Pareto front)" in section
    assert "(pareto_cifar10_smallcnn_fast.png)" in section
    front = re.search(r"at d = 0\.5 \((\d) of (\d) methods\): (.+?)\.\n", section)   # the last panel
    assert front.group(1, 2) == ("3", "4")
    named = [m.split(" (")[0] for m in front.group(3).split("), ")]
    assert named == ["Random+DRoP", "EL2N+DRoP", "Random"]           # EL2N, dominated, is not named
    assert "Random+DRoP (0.700, 0.650)" in section and "Random (0.725, 0.500)" in section
    assert "d = 0.3" not in section                                    # one method there: no panel
    assert "min–max over seeds" in section
