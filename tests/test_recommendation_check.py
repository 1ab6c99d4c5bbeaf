"""droplab empirical check-recommendation (empirical.recommendation_check) on a synthetic study.

The recommendation of each group is recomputed independently: the prior shift written out by hand
(argmax of logit + log d_k) and the maximin over the allocations' predicted recalls.
"""

import json

import numpy as np
import pytest
from _synthetic_runs import write_study as _write_study

from empirical.recommendation_check import check_recommendation, format_recommendation_check


def write_study(root, **kw):
    """The synthetic study without its damped-DRoP and probit runs, whose counts are made up rather than
    computed from the query logits (they do not recompute, and the check leaves such groups out)."""
    root = _write_study(root, minimax=False, **kw)
    for f in [*root.glob("damped_*.json"), *root.glob("random_probit_*.json")]:
        f.unlink()
    return root


def _by_hand(root, seed, density):
    from _synthetic_runs import query_logits

    z, y = query_logits(seed)
    for f in sorted(root.glob(f"*_d{density:g}_s{seed}.json")):
        run = json.loads(f.read_text())
        d = np.asarray(run["selection"]["class_counts"], float) / np.asarray(run["dataset"]["class_sizes"])
        with np.errstate(divide="ignore"):
            pred = np.argmax(z + np.log(d / d.max()), axis=1)
        worst = min(np.mean(pred[y == k] == k) for k in range(z.shape[1]))
        yield run, worst


def test_each_group_recommends_the_maximin_of_the_prior_shift_and_is_scored_on_its_runs(tmp_path):
    root = write_study(tmp_path / "runs", seeds=(0, 1, 2), densities=(0.3, 0.5), pilots=False)
    check = check_recommendation(root)
    assert len(check.rows) == 6
    for row in check.rows:
        runs = list(_by_hand(root, row["seed"], row["density"]))
        names = {r["method"]: (r, w) for r, w in runs}
        top = max(w for _, w in runs)
        label = {"Random": "Random", "Random+DRoP": "DRoP", "Random+DRoP(a=0.7)": "DRoP(a=0.7)",
                 "Random+Probit": "probit", "Random+Minimax": "minimax", "Random+Learned": "counts"}
        chosen = [m for m, (_, w) in names.items() if w == top]
        assert row["recommended"] in {label[m] for m in chosen}
        measured = {label[m]: r["metrics"]["worst_class_accuracy"] for m, (r, _) in names.items()}
        assert row["measured"] == pytest.approx(measured)
        assert row["regret"] == pytest.approx(max(measured.values()) - measured[row["recommended"]])
        assert row["vs_drop"] == pytest.approx(measured[row["recommended"]] - measured["DRoP"])
        assert row["regret"] >= 0
    text = format_recommendation_check(check)
    assert "6 groups" in text and "regret of always choosing one allocation" in text


def test_a_cap_on_the_accuracy_loss_only_narrows_the_choice(tmp_path):
    root = write_study(tmp_path / "runs", seeds=(0, 1), densities=(0.5,), pilots=False)
    free = check_recommendation(root)
    none_allowed = check_recommendation(root, max_accuracy_loss=0.0)
    for a, b in zip(free.rows, none_allowed.rows):
        assert b["recommended"] in a["measured"]
    assert "cap 0" in format_recommendation_check(none_allowed)


def test_a_group_whose_allocations_do_not_recompute_from_the_committed_logits_is_left_out(tmp_path):
    # the damped run of the synthetic study was not chosen by these query logits: a retrained look-alike
    root = _write_study(tmp_path / "runs", seeds=(0, 1), densities=(0.5,), minimax=False, pilots=False)
    (root / "random_probit_d0.5_s0.json").unlink()
    (root / "random_probit_d0.5_s1.json").unlink()
    (root / "damped_d0.5_s1.json").unlink()
    check = check_recommendation(root)
    assert [(r["seed"], r["density"]) for r in check.rows] == [(1, 0.5)]
    assert len(check.skipped) == 1 and check.skipped[0].startswith("seed 0, d = 0.5, floor 0: DRoP(a=0.7): ")
    assert "left out, 1 group(s)" in format_recommendation_check(check)


def test_folders_without_what_it_needs_are_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist or is not a folder"):
        check_recommendation(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no \\(seed, density\\) with a Random\\+DRoP run"):
        check_recommendation(tmp_path / "empty")
    root = write_study(tmp_path / "runs", seeds=(0,), pilots=False)
    for f in (root / "query_logits").glob("*.npz"):
        f.unlink()
    with pytest.raises(ValueError, match="query logits"):
        check_recommendation(root)


def test_the_command(tmp_path, capsys):
    from empirical.cli_analyses import main

    root = write_study(tmp_path / "runs", seeds=(0, 1), densities=(0.5,), pilots=False)
    assert main(["check-recommendation", str(root), "--max-accuracy-loss", "0.05"]) == 0
    assert "recommendation before training" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["check-recommendation", str(root), "--max-accuracy-loss", "-1"])
    assert "--max-accuracy-loss: expected a finite number >= 0, got '-1'" in capsys.readouterr().err


def test_preferring_drop_keeps_it_unless_a_gain_interval_lies_above_zero(tmp_path):
    from _synthetic_runs import query_logits

    from gaussian_theory.recommend import worst_class_gains

    root = write_study(tmp_path / "runs", seeds=(0, 1, 2), densities=(0.3, 0.5), pilots=False)
    plain, kept = check_recommendation(root), check_recommendation(root, prefer="DRoP")
    assert [(r["seed"], r["density"]) for r in kept.rows] == [(r["seed"], r["density"]) for r in plain.rows]
    label = {"Random": "Random", "Random+DRoP": "DRoP", "Random+DRoP(a=0.7)": "DRoP(a=0.7)",
             "Random+Learned": "counts"}
    for row in kept.rows:
        z, y = query_logits(row["seed"])
        runs = [r for r, _ in _by_hand(root, row["seed"], row["density"])]
        dens = {label[r["method"]]: np.asarray(r["selection"]["class_counts"], float)
                / np.asarray(r["dataset"]["class_sizes"]) for r in runs}
        gains = worst_class_gains(z, y, dens, "DRoP", n_boot=4000, seed=0)
        above = {a: g["gain"] for a, g in gains.items() if g["low"] > 0}
        if above:
            assert row["recommended"] == max(above, key=above.get)
        else:
            assert row["recommended"] == "DRoP"
    assert "DRoP unless another is predicted better" in format_recommendation_check(kept)


def test_the_groups_can_be_limited_to_seeds(tmp_path, capsys):
    from empirical.cli_analyses import main

    root = write_study(tmp_path / "runs", seeds=(0, 1, 2), densities=(0.5,), pilots=False)
    assert [r["seed"] for r in check_recommendation(root, seeds=[2, 0]).rows] == [0, 2]
    with pytest.raises(ValueError, match="among seeds \\[7\\]"):
        check_recommendation(root, seeds=[7])
    with pytest.raises(TypeError, match="seeds must be non-negative integers"):
        check_recommendation(root, seeds=["1"])
    with pytest.raises(TypeError, match="prefer must be an allocation name"):
        check_recommendation(root, prefer=1)
    assert main(["check-recommendation", str(root), "--prefer", "DRoP", "--seeds", "1"]) == 0
    assert "1 groups" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no probit run \\(prefer\\)"):  # this study has no probit runs
        check_recommendation(root, prefer="probit")


def test_preferring_drop_does_not_move_with_the_bootstrap_seed_on_a_committed_study(monkeypatch):
    """MNIST-1D's 80 groups, whose small validation sets put several gains near the threshold (one group
    flipped with 4,000 fixed resamples): the adaptive resampling gives the same recommendations."""
    from pathlib import Path

    import empirical.recommendation_check as rc
    from gaussian_theory.recommend import worst_class_gains

    folder = Path(__file__).resolve().parents[1] / "results" / "mnist1d-cnn1d"
    picks = []
    for seed in (0, 1):
        monkeypatch.setattr(rc, "worst_class_gains",
                            lambda *a, s=seed, **k: worst_class_gains(*a, **{**k, "seed": s}))
        picks.append([r["recommended"] for r in rc.check_recommendation(folder, prefer="DRoP").rows])
    assert len(picks[0]) == 80 and picks[0] == picks[1]
