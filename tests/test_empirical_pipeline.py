"""End to end: the pipeline on synthetic data, resume after a kill, quotas, CLI, report, sweep."""

import contextlib
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from empirical.pipeline import RunConfig, run_one  # noqa: E402
from gaussian_theory.allocation import drop_counts  # noqa: E402
from gaussian_theory.cli import main  # noqa: E402
from gaussian_theory.validation import derive_seed  # noqa: E402

SYN = {"n_train_per_class": 100, "n_test_per_class": 100}


def cfg(**kw):
    base = dict(dataset="gaussian", model="mlp", synthetic=SYN, device="cpu", recipe="fast", epochs=6,
                query_epochs=4)
    base.update(kw)
    return RunConfig(**base)


#: The synthetic mixture's easiest class has validation recall 1, so DRoP (and minimax) give it no sample
#: at these tiny sizes: runs that train such a selection ask for it (refused by default).
STARVED = {"allow_empty_classes": True}


def starves(cls=0, few=True):
    """What a run whose selection keeps no sample of class ``cls`` (allowed by STARVED) says, both
    asserted: the pipeline's "keeps no sample ... training without them" and (``few``, a quota rule's
    counts) the allocation's few-samples warning. Any other warning stays an error (pyproject)."""
    stack = contextlib.ExitStack()
    stack.enter_context(pytest.warns(UserWarning, match=rf"keeps no sample of class\(es\) {cls} .*training "
                                                        "without them"))
    if few:
        stack.enter_context(pytest.warns(UserWarning,
                                         match=rf"keep fewer than 5 samples \(class {cls}: 0 of"))
    return stack


@pytest.mark.parametrize("score, quota, rule", [
    ("random", "drop", "paper"), ("el2n", "drop", "code"), ("forgetting", "uniform", "paper"),
    ("coreset", "none", "paper"), ("dynunc", "drop", "paper"), ("grand", "none", "paper")])
def test_pipeline_end_to_end(tmp_path, score, quota, rule):
    c = cfg(score=score, quota=quota, rule=rule, query_inits=2 if score in ("el2n", "grand") else None,
            **STARVED)
    with starves() if quota == "drop" else contextlib.nullcontext():  # DRoP keeps none of class 0
        r = run_one(c, 0, tmp_path, progress=False)
    saved = json.loads((tmp_path / f"{c.run_id(0)}.json").read_text())
    assert saved["status"] == "done" and saved["method"] == r["method"]
    sizes = np.array(saved["dataset"]["class_sizes"])
    kept = np.array(saved["selection"]["class_counts"])
    assert kept.sum() == saved["quota"]["total"] == round(0.5 * sizes.sum())
    m = saved["metrics"]
    assert 0.4 < m["accuracy"] <= 1 and m["worst_class_accuracy"] <= m["accuracy"]
    assert len(m["recalls"]) == 4 and saved["timings"]["total_s"] > 0 and saved["versions"]["torch"]
    if quota == "drop":
        # the quotas used are exactly drop_counts on the recorded recalls
        with pytest.warns(UserWarning, match=r"keep fewer than 5 samples \(class 0: 0 of 100\)"):
            expect = drop_counts(saved["query"]["recalls"], sizes, c.density, rule=rule)
        np.testing.assert_array_equal(saved["quota"]["counts"], expect)
        np.testing.assert_array_equal(kept, expect)
        th = saved["theory"]
        assert len(th["predicted_recalls"]) == 4 and sum(th["predicted_drop_counts"]) == kept.sum()
        np.testing.assert_array_equal(th["measured_drop_counts"], expect)
    if quota == "uniform":
        np.testing.assert_array_equal(kept, [50, 50, 50, 50])
    again = run_one(c, 0, tmp_path, progress=False)
    assert again["skipped"] and again["metrics"] == saved["metrics"]


class Killed(Exception):
    pass


def _kill_at(epoch):
    def hook(e, row):
        if e == epoch:
            raise Killed(f"killed after epoch {e}")
    return hook


def test_resume_after_interrupt_gives_same_result(tmp_path):
    c = cfg(score="forgetting", quota="drop", epochs=5)
    full = run_one(c, 3, tmp_path / "a", progress=False)
    with pytest.raises(Killed):
        run_one(c, 3, tmp_path / "b", progress=False, hooks={"query_epoch_end": _kill_at(2)})
    assert list((tmp_path / "b" / "_ckpt").glob("*.pt"))
    with pytest.raises(Killed):
        run_one(c, 3, tmp_path / "b", progress=False, resume=True, hooks={"final_epoch_end": _kill_at(3)})
    resumed = run_one(c, 3, tmp_path / "b", progress=False, resume=True)
    assert resumed["final"]["resumed_from_epoch"] == 3
    assert resumed["metrics"] == full["metrics"]
    assert resumed["query"]["recalls"] == full["query"]["recalls"]
    assert resumed["selection"]["sha256"] == full["selection"]["sha256"]
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in resumed["final"]["history"]]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in full["final"]["history"]]
    assert not list((tmp_path / "b" / "_ckpt").glob("*.pt"))  # cleaned up after success


def test_forgetting_dynunc_coreset_share_one_query_training(tmp_path):
    """Forgetting, Dynamic Uncertainty and CoreSet score one full-length query run with the same seeds:
    the first of them trains it once for all three; the others load their scores from the cache, and
    each selects exactly what a folder holding that score alone selects."""
    configs = {s: cfg(score=s, quota="none", epochs=4) for s in ("forgetting", "dynunc", "coreset")}
    assert not run_one(configs["forgetting"], 0, tmp_path / "shared", progress=False)["query"]["cached"]
    assert len(list((tmp_path / "shared" / "_query").glob("*.pt"))) == 3
    for s in ("dynunc", "coreset"):
        shared = run_one(configs[s], 0, tmp_path / "shared", progress=False)
        alone = run_one(configs[s], 0, tmp_path / s, progress=False)
        assert shared["query"]["cached"] and not alone["query"]["cached"]
        assert shared["selection"]["sha256"] == alone["selection"]["sha256"]
        assert shared["metrics"] == alone["metrics"]


def test_same_seed_same_result_and_seeds_differ(tmp_path):
    c = cfg(score="random", quota="none")
    a = run_one(c, 1, tmp_path / "a", progress=False)
    b = run_one(c, 1, tmp_path / "b", progress=False)
    d = run_one(c, 2, tmp_path / "a", progress=False)
    assert a["metrics"] == b["metrics"] and a["selection"]["sha256"] == b["selection"]["sha256"]
    assert a["selection"]["sha256"] != d["selection"]["sha256"]


def test_image_pipeline_on_tiny_cifar_pickles(tmp_path):
    from test_empirical_data import make_cifar_pickles

    folder, _, _ = make_cifar_pickles(tmp_path / "data", n=20)
    c = RunConfig(dataset="cifar10", data_dir=str(folder), model="smallcnn", score="el2n", quota="drop",
                  density=0.5, epochs=2, query_epochs=1, query_inits=1, batch_size=32, device="cpu",
                  epoch_rule="code", **STARVED)
    with starves():
        r = run_one(c, 0, tmp_path / "out", progress=False)
    assert r["final"]["epochs"] == 3  # floor(0.75 * 2 / 0.5)
    assert r["selection"]["n_selected"] == 50 and r["dataset"]["n_val"] == 10 and r["dataset"]["n_test"] == 10
    assert ">= 2" in r["theory"]["error"]  # one validation image per class: no surrogate fit


def test_cli_run_report_and_bad_input(tmp_path, capsys):
    out = tmp_path / "res"
    common = ["empirical", "run", "--dataset", "gaussian", "--model", "linear", "--density", "0.5",
              "--epochs", "3", "--query-epochs", "2", "--device", "cpu", "--out", str(out), "--no-progress"]
    assert main(common + ["--quota", "drop", "--seeds", "0", "1"]) == 0
    assert main(common + ["--quota", "none", "--seeds", "0"]) == 0
    assert len(list(out.glob("*.json"))) == 3
    assert main(["empirical", "report", str(out)]) == 0
    rep = out / "report"
    assert (rep / "runs.csv").read_text().count("\n") == 4
    assert (rep / "accuracy_gaussian_linear_fast.png").stat().st_size > 1000
    capsys.readouterr()
    bad = ["empirical", "run", "--model", "smallcnn", "--density", "0.5", "--out", str(tmp_path / "bad")]
    assert main(bad + ["--dataset", "cifar10", "--data-dir", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "x.zip").write_bytes(b"PK")
    assert main(bad + ["--dataset", "cifar10", "--data-dir", str(tmp_path / "x.zip")]) == 2
    assert "not a .tar.gz" in capsys.readouterr().err
    assert main(bad + ["--dataset", "gaussian"]) == 2  # image model on feature data
    assert not (tmp_path / "bad").exists()
    for argv in (["--dataset", "mnist"], ["--dataset", "gaussian", "--score", "margin"],
                 ["--dataset", "gaussian", "--density", "0"]):
        with pytest.raises(SystemExit):
            main(bad[:-6] + ["--model", "mlp", "--density", "0.5", "--out", str(tmp_path / "bad")] + argv)


def test_bad_config_raises_before_training(tmp_path):
    for kw, match in [({"density": 1.5}, "density"), ({"density": 0.0}, "density"), ({"score": "x"}, "score"),
                      ({"model": "x"}, "model"), ({"quota": "x"}, "quota"), ({"dataset": "x"}, "dataset"),
                      ({"recipe": "x"}, "recipe"), ({"device": "tpu:0"}, "device")]:
        with pytest.raises((ValueError, TypeError), match=match):
            run_one(cfg(**kw), 0, tmp_path, progress=False)
    assert not any(tmp_path.iterdir())


def test_sweep_through_submitit_local_executor(tmp_path):
    pytest.importorskip("submitit")
    from empirical.sweep import sweep

    base = cfg(model="linear", epochs=3, query_epochs=2, **STARVED)
    res = sweep(base, [0.3, 0.6], ["random"], ["none", "drop"], [0], tmp_path, cluster="local",
                timeout_min=5, log=lambda *_: None)
    assert res["failed"] == [] and res["submitted"] == 4 and len(res["results"]) == 4
    assert len(list(tmp_path.glob("*.json"))) == 4
    res2 = sweep(base, [0.3, 0.6], ["random"], ["none", "drop"], [0], tmp_path, cluster="local",
                 log=lambda *_: None)
    assert res2["submitted"] == 0 and res2["skipped"] == 4


def test_slurm_flags_reach_sbatch(tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    from submitit.slurm.slurm import _make_sbatch_string

    from empirical.sweep import make_executor

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    ex = make_executor("slurm", tmp_path / "logs", partition="gpu", account="lab", qos="high",
                       constraint="a100", gpus_per_node=1, cpus_per_task=8, mem_gb=32, timeout_min=600,
                       array_parallelism=4)
    sbatch = _make_sbatch_string(command="python job.py", folder=str(tmp_path / "logs"),
                                 **ex._executor.parameters)
    for line in ("--partition=gpu", "--account=lab", "--qos=high", "--constraint=a100", "--gpus-per-node=1",
                 "--cpus-per-task=8", "--mem=32GB", "--time=600"):
        assert f"#SBATCH {line}" in sbatch
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="slurm"):
        make_executor("slurm", tmp_path / "logs")


def test_out_pointing_at_a_file_fails_before_any_work(tmp_path, capsys):
    f = tmp_path / "results.txt"
    f.write_text("x")
    for out in (f, f / "sub"):
        with pytest.raises(ValueError, match="is a file"):
            run_one(cfg(quota="drop"), 0, out, progress=False)
        argv = ["empirical", "run", "--dataset", "gaussian", "--model", "linear", "--density", "0.5",
                "--device", "cpu", "--out", str(out), "--no-progress"]
        assert main(argv) == 2
        assert "is a file" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]


def test_run_json_records_test_intervals(tmp_path):
    from empirical.stats import accuracy_intervals

    r = run_one(cfg(quota="none", epochs=2), 0, tmp_path, progress=False)
    iv = r["intervals"]
    assert iv["accuracy"]["estimate"] == pytest.approx(r["metrics"]["accuracy"], abs=1e-6)
    assert iv["worst_class_accuracy"]["estimate"] == pytest.approx(r["metrics"]["worst_class_accuracy"])
    assert iv["worst_class_name"] == r["dataset"]["class_names"][iv["worst_class"]]
    t = r["final"]["test"]
    assert iv == accuracy_intervals(t["predictions"], t["labels"], len(r["dataset"]["class_names"]),
                                    class_names=r["dataset"]["class_names"])


# ----------------------------------------------------------------------------- run identity
def test_run_ids_of_recorded_runs_never_change():
    """Ids computed before the fields precision/alpha/min_per_class existed (commit fbe70f0 and earlier):
    adding a configuration field must not rename runs already recorded (results/cifar10-smallcnn)."""
    grid = dict(dataset="cifar10", data_dir="anywhere", model="smallcnn", recipe="fast", epochs=8,
                query_epochs=3)
    assert RunConfig(**grid, density=0.5, score="random", quota="drop").run_id(0) == \
        "cifar10_smallcnn_random_drop-paper_d0.5_fast_s0_ce82a5db"
    assert RunConfig(**grid, density=0.5, score="random", quota="drop").query_id(0) == \
        "cifar10_smallcnn_random_s0_28ad30584c"
    assert RunConfig(**grid, density=0.5, score="random", quota="none").run_id(0) == \
        "cifar10_smallcnn_random_none_d0.5_fast_s0_a560ed53"
    assert RunConfig(**grid, density=0.5, score="el2n", quota="drop").run_id(0) == \
        "cifar10_smallcnn_el2n_drop-paper_d0.5_fast_s0_b7aedb6d"
    assert RunConfig().run_id(0) == "gaussian_mlp_random_drop-paper_d0.5_fast_s0_edb65f72"
    # a non-neutral value of a new field does make a new run, sharing the query model
    damped = RunConfig(**grid, density=0.5, score="random", quota="drop", alpha=0.7)
    assert damped.run_id(0) != RunConfig(**grid, density=0.5, score="random", quota="drop").run_id(0)
    assert "drop-paper-a0.7" in damped.run_id(0)
    assert damped.query_id(0) == "cifar10_smallcnn_random_s0_28ad30584c"
    assert RunConfig(**grid, density=0.5, score="random", quota="probit").query_id(0) == damped.query_id(0)


def test_theory_quotas_come_from_the_allocation_module():
    from empirical import selection

    rec, sizes = np.array([0.9, 0.8, 0.6, 0.99]), np.array([500, 500, 500, 500])
    np.testing.assert_array_equal(selection.quota_counts("probit", sizes, 0.5, rec),
                                  drop_counts(rec, sizes, 0.5, allocation_rule="probit"))
    np.testing.assert_array_equal(selection.quota_counts("drop", sizes, 0.5, rec, alpha=0.7),
                                  drop_counts(rec, sizes, 0.5, alpha=0.7))
    floor = selection.quota_counts("drop", sizes, 0.3, np.array([1.0, 0.5, 0.5, 0.5]), min_count=20)
    assert floor.min() >= 20 and floor.sum() == 600
    with pytest.raises(ValueError, match="probit"):
        selection.quota_counts("probit", sizes, 0.5, None)


def test_minimax_quota_reuses_the_query_model_and_records_its_prediction(tmp_path):
    import torch

    from empirical import selection
    from gaussian_theory.query_allocation import minimax_from_logits

    with starves():
        drop = run_one(cfg(quota="drop", **STARVED), 0, tmp_path, progress=False)
    c = cfg(quota="minimax", **STARVED)
    assert c.query_id(0) == cfg(quota="drop").query_id(0)    # the same query model, cached
    r = run_one(c, 0, tmp_path, progress=False)
    assert r["method"] == "Random+Minimax" and "_minimax_" in r["run_id"] and r["query"]["cached"]
    assert r["query"]["recalls"] == drop["query"]["recalls"]
    q = r["quota"]
    kept = np.array(r["selection"]["class_counts"])
    np.testing.assert_array_equal(kept, q["counts"])
    assert kept.sum() == q["total"] == 200 and q["rule"] is None and q["alpha"] is None
    assert len(q["predicted_recalls"]) == 4
    # every run with a query model records the prior-shift prediction for the densities it kept
    from gaussian_theory.recall_prediction import prior_shift_recalls
    dens = np.array(r["selection"]["class_densities"])
    assert min(q["predicted_recalls"]) == q["predicted_worst_class_recall"]
    # the counts are gaussian_theory's, recomputed from the cached validation logits
    cache = torch.load(tmp_path / "_query" / f"{c.query_id(0)}.pt", weights_only=False)
    vo = cache["val_outputs"]
    sizes = r["dataset"]["class_sizes"]
    _, expect, _ = minimax_from_logits(vo["logits"], vo["labels"].astype(int), sizes, 0.5,
                                       seed=derive_seed(0, "minimax-quota"))
    np.testing.assert_array_equal(kept, expect)
    np.testing.assert_array_equal(r["theory"]["prior_shift_recalls"],
                                  prior_shift_recalls(vo["logits"], vo["labels"].astype(int), dens))
    assert len(drop["theory"]["prior_shift_recalls"]) == 4
    with pytest.raises(ValueError, match="validation logits"):
        selection.quota_counts("minimax", [100] * 4, 0.5, val_outputs=None)


def test_config_rejects_bad_new_fields_and_unused_options():
    with pytest.raises(ValueError, match="alpha"):
        RunConfig(alpha=-0.5).validate()
    with pytest.raises(TypeError, match="min_per_class"):
        RunConfig(min_per_class=1.5).validate()
    with pytest.raises(ValueError, match="data-dir"):
        RunConfig(data_dir="/somewhere").validate()
    with pytest.warns(UserWarning, match="shift"):
        RunConfig(shift=2).validate()
    with pytest.warns(UserWarning, match="epochs on the pruned"):
        RunConfig(epoch_rule="code", density=0.01).validate()


# ----------------------------------------------------------------------------- issue 10: verification pass
@pytest.mark.parametrize("kw, option, value", [
    ({"query_epochs": 0}, "query_epochs (--query-epochs)", "0"), ({"epochs": 0}, "epochs (--epochs)", "0"),
    ({"batch_size": 0}, "batch_size (--batch-size)", "0"),
    ({"query_inits": 0}, "query_inits (--query-inits)", "0"),
    ({"epochs": 2.5}, "epochs (--epochs)", "2.5"), ({"lr": -1.0}, "lr (--lr)", "-1.0"),
    ({"lr": float("nan")}, "lr (--lr)", "nan")])
def test_recipe_overrides_name_their_option(kw, option, value):
    with pytest.raises(ValueError) as exc:
        RunConfig(dataset="gaussian", model="linear", **kw).validate()
    msg = str(exc.value)
    assert msg.startswith(f"{option} must be a positive") and msg.endswith(f"got {value}")
    assert "Recipe(" not in msg and "\n" not in msg


@pytest.mark.parametrize("argv, expect", [
    (["--query-epochs", "0"],
     "droplab: error: query_epochs (--query-epochs) must be a positive integer, got 0"),
    (["--lr", "-1"], "droplab: error: lr (--lr) must be a positive finite number, got -1.0"),
    (["--batch-size", "0"], "droplab: error: batch_size (--batch-size) must be a positive integer, got 0"),
    (["--epochs", "0"], "droplab: error: epochs (--epochs) must be a positive integer, got 0")])
def test_cli_recipe_overrides_one_line_errors(tmp_path, capsys, argv, expect):
    out = tmp_path / "x"
    assert main(["empirical", "run", "--dataset", "gaussian", "--model", "linear", "--density", "0.5",
                 "--out", str(out)] + argv) == 2
    assert capsys.readouterr().err == expect + "\n"
    assert not out.exists()


def test_recipe_error_does_not_print_the_recipe():
    from empirical.recipes import get_recipe

    with pytest.raises(ValueError, match=r"^recipe 'fast': lr must be > 0.*got lr=-1\.0, weight_d") as exc:
        get_recipe("fast", "linear", lr=-1.0)
    assert "Recipe(" not in str(exc.value)


def test_gaussian_ignores_image_options_with_a_warning():
    with pytest.warns(UserWarning, match=r"data_format='pickle' is ignored: the gaussian dataset"):
        RunConfig(data_format="pickle").validate()
    with pytest.warns(UserWarning, match=r"channels_last=True is ignored: the gaussian dataset"):
        RunConfig(channels_last=True).validate()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults (and channels_last off) say nothing
        RunConfig().validate()
        RunConfig(channels_last=False).validate()


def test_cli_prints_each_library_warning_once_in_option_words(tmp_path, capsys, monkeypatch):
    # Issue 10: warnings were printed raw (file:line: UserWarning: ...) and up to three times.
    import warnings

    import empirical.pipeline as pipeline
    from empirical import selection

    def fake_run_many(config, seeds, out_dir, **kw):  # what the real one does, warning-wise, minus training
        for _ in range(3):
            config.validate()
            selection.quota_counts("drop", np.array([200] * 4), 0.003, np.array([0.3, 0.9, 0.3, 0.9]))
        return []

    monkeypatch.setattr(pipeline, "run_many", fake_run_many)
    before = warnings.showwarning
    argv = ["empirical", "run", "--dataset", "gaussian", "--model", "linear", "--density", "0.01",
            "--epoch-rule", "code", "--shift", "2", "--data-format", "pickle", "--channels-last", "on",
            "--out", str(tmp_path / "x")]
    assert main(argv) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "droplab: warning: --shift 2 is ignored: the gaussian dataset has feature vectors, not images",
        "droplab: warning: --data-format 'pickle' is ignored: the gaussian dataset is synthetic and reads no "
        "files",
        "droplab: warning: --channels-last on is ignored: the gaussian dataset has feature vectors, not "
        "images",
        "droplab: warning: --epoch-rule code at density 0.01 trains 505 epochs on the pruned data (50x the "
        "full-data 10)",
        lines[4],
    ]
    assert lines[4].startswith("droplab: warning: ") and "keep fewer than 5 samples" in lines[4]
    assert lines[4].endswith("pass --min-per-class for a per-class minimum") and "min_count" not in lines[4]
    # API users still get the library's own warnings
    with pytest.warns(UserWarning, match="pass min_count="):
        selection.quota_counts("drop", np.array([200] * 4), 0.003, np.array([0.3, 0.9, 0.3, 0.9]))
    assert warnings.showwarning is before


# ----------------------------------------------------------------------------- the airbench recipe
def _airbench_tiny(tmp_path, n=12):
    from test_empirical_data import make_cifar_pickles

    folder, _, _ = make_cifar_pickles(tmp_path / "data", n=n)
    return RunConfig(dataset="cifar10", data_dir=str(folder), model="whitenet-128", recipe="airbench",
                     score="random", quota="drop", density=0.5, epochs=3, query_epochs=1, batch_size=16,
                     shift=2, device="cpu", **STARVED)


def test_whitenet_airbench_trains_resumes_and_exports_query_logits(tmp_path):
    """A tiny whitenet run with the airbench recipe (lookahead, alternating flips, stem-bias epochs, TTA):
    same result killed and resumed, same seed same result, and the query logits written beside."""
    from empirical.pipeline import run_query_only
    from empirical.run_config import query_logits_path
    from empirical.stage_data import bind_data

    c = _airbench_tiny(tmp_path)
    assert c.final_recipe().lookahead and c.final_recipe().tta == 2
    with starves():
        full = run_one(c, 0, tmp_path / "a", progress=False)
    assert full["final"]["recipe"]["flip"] == "alternating" and len(full["final"]["history"]) == 3
    with starves(), pytest.raises(Killed):
        run_one(c, 0, tmp_path / "b", progress=False, hooks={"final_epoch_end": _kill_at(2)})
    with starves():
        resumed = run_one(c, 0, tmp_path / "b", progress=False, resume=True)
    assert resumed["final"]["resumed_from_epoch"] == 2
    assert resumed["metrics"] == full["metrics"] and resumed["query"]["recalls"] == full["query"]["recalls"]
    # the query model's held-out logits, written by the run and (cached) by --query-only; the data (CIFAR
    # pickles read from files) names them: the path is that of the configuration bound to its data
    bound, _ = bind_data(c)
    path = query_logits_path(tmp_path / "a", bound, 0)
    assert path.name == full["query"]["logits"]["path"] and path != query_logits_path(tmp_path / "a", c, 0)
    z = np.load(path)
    assert z["val_logits"].shape == (len(z["val_labels"]), 10) and z["test_logits"].shape[1] == 10
    np.testing.assert_allclose(z["val_recalls"], full["query"]["recalls"])
    path.unlink()
    assert run_query_only(c, [0], tmp_path / "a", progress=False, log=lambda m: None) == [path]
    np.testing.assert_array_equal(np.load(path)["val_logits"], z["val_logits"])
    with pytest.raises(ValueError, match="trains no query model"):
        run_query_only(RunConfig(**{**c.to_dict(), "quota": "none"}), [0], tmp_path / "a")


def test_airbench_recipe_numbers():
    from empirical.recipes import airbench_lr, get_recipe

    r = get_recipe("airbench", "whitenet-256")
    assert (r.epochs, r.batch_size, r.momentum, r.label_smoothing) == (10, 512, 0.85, 0.2)
    assert r.bias_lr_scale == 64 and r.lookahead and r.flip == "alternating" and r.tta == 2
    # 11.5 per 1024 examples of summed loss, divided by the Nesterov gain 1 + 1/(1 - 0.85)
    assert r.lr == pytest.approx(11.5 * 512 / 1024 / (1 + 1 / 0.15)) == airbench_lr(512)
    # decoupled decay 0.0153 per 1024 examples: the coupled coefficient is decay / lr, batch-free
    assert r.weight_decay == pytest.approx(0.0153 / 11.5)


def test_the_surrogate_is_a_diagnostic_outside_the_ids(tmp_path):
    """One default surrogate (tied, as droplab surrogate); the recorded runs' ids (named with the old
    isotropic default) are unchanged, and a cached query model refits the surrogate asked for."""
    grid = dict(dataset="cifar10", data_dir="anywhere", model="smallcnn", recipe="fast", epochs=8,
                query_epochs=3)
    assert RunConfig().surrogate == "tied"
    for surrogate in ("tied", "isotropic", "diagonal", "off"):
        c = RunConfig(**grid, density=0.5, score="random", quota="drop", surrogate=surrogate)
        assert c.run_id(0) == "cifar10_smallcnn_random_drop-paper_d0.5_fast_s0_ce82a5db"
        assert c.query_id(0) == "cifar10_smallcnn_random_s0_28ad30584c"
    with starves():
        tied = run_one(cfg(score="random", quota="drop", **STARVED), 0, tmp_path, progress=False)
    assert tied["theory"]["covariance"] == "tied"
    with starves():
        iso = run_one(cfg(score="random", quota="drop", density=0.3, surrogate="isotropic", **STARVED), 0,
                      tmp_path, progress=False)
    assert iso["query"]["cached"] and iso["theory"]["covariance"] == "isotropic"
    assert iso["query"]["recalls"] == tied["query"]["recalls"]


def test_eval_limit_per_class_shrinks_both_halves(tmp_path):
    c = cfg(score="random", quota="drop", eval_limit_per_class=5, epochs=2, query_epochs=1, **STARVED)
    with starves():
        r = run_one(c, 0, tmp_path, progress=False)
    assert r["dataset"]["n_val"] == r["dataset"]["n_test"] == 4 * 5
    assert len(r["final"]["test"]["labels"]) == 20
    assert c.run_id(0) != cfg(score="random", quota="drop", epochs=2, query_epochs=1).run_id(0)
    assert c.query_id(0) != cfg(score="random", quota="drop", epochs=2, query_epochs=1).query_id(0)
    with pytest.raises(ValueError, match=r"eval_limit_per_class \(--eval-limit-per-class\) must be an int"):
        cfg(eval_limit_per_class=1).validate()


def test_explicit_counts_and_densities_train_what_was_asked(tmp_path):
    """--quota counts: an allocation computed elsewhere (counts or densities) is trained as given, with
    its label; ids differ by the counts; bad counts are named before training."""
    c = cfg(score="random", quota="counts", class_counts=[80, 60, 40, 20], counts_label="Learned", epochs=2)
    r = run_one(c, 0, tmp_path, progress=False)
    assert r["selection"]["class_counts"] == [80, 60, 40, 20] and r["method"] == "Random+Learned"
    assert r["query"] is None and "counts_d0.5" in r["run_id"]
    other = cfg(score="random", quota="counts", class_counts=[20, 40, 60, 80], epochs=2)
    assert other.run_id(0) != c.run_id(0) and run_one(other, 0, tmp_path, progress=False)["method"] == \
        "Random+Counts"
    with starves(3):
        dens = run_one(cfg(score="random", quota="counts", class_densities=[1.0, 0.5, 0.5, 0.0], epochs=2,
                           **STARVED), 0, tmp_path, progress=False)
    assert dens["selection"]["class_counts"] == [100, 50, 50, 0]
    with pytest.raises(ValueError, match=r"counts sum to 100, but density 0.5 of 400 samples keeps"):
        run_one(cfg(score="random", quota="counts", class_counts=[25] * 4), 0, tmp_path, progress=False)
    with pytest.raises(ValueError, match="class_counts is only used by quota='counts'"):
        cfg(quota="drop", class_counts=[1, 2, 3, 4]).validate()
    with pytest.raises(ValueError, match="needs exactly one of class_counts or class_densities"):
        cfg(quota="counts").validate()
    # the command line reads the counts from a file (what droplab allocate --runs --json writes)
    (tmp_path / "alloc.json").write_text('{"counts": [140, 140, 60, 60], "label": "Pilot-A", "extra": 1}')
    out = tmp_path / "cli"
    argv = ["empirical", "run", "--dataset", "gaussian", "--model", "linear", "--density", "0.5", "--quota",
            "counts", "--counts", str(tmp_path / "alloc.json"), "--epochs", "2", "--device", "cpu", "--out",
            str(out), "--no-progress"]
    assert main(argv) == 0
    (saved,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert saved["selection"]["class_counts"] == [140, 140, 60, 60] and saved["method"] == "Random+Pilot-A"
    (tmp_path / "bad.json").write_text('{"counts": [1.5, 2]}')
    bad = [str(tmp_path / "bad.json") if a == str(tmp_path / "alloc.json") else a for a in argv]
    assert main(bad) == 2


# ----------------------------------------------------------------------------- query logits as input
def test_query_logits_file_reproduces_the_allocation_without_training(tmp_path):
    """--query-logits: the run reads its query model's committed logits (no query training) and gets the
    same recalls, quotas and result as the run that trained it; the JSON names the file and its digest;
    the recalls follow from the logits exactly (every initialisation's, for a multi-init query)."""
    from empirical.query_logits import recalls_from_file, recompute_query
    from empirical.run_config import query_logits_path

    c = cfg(score="random", quota="drop", density=0.3, **STARVED)
    with starves():
        trained = run_one(c, 0, tmp_path / "a", progress=False)
    rec = trained["query"]["logits"]
    assert rec["source"] == "trained" and rec["path"] == query_logits_path(tmp_path / "a", c, 0).name
    check = recompute_query(trained, tmp_path / "a")
    assert check["ok"] and check["level"] == "logits" and check["recall_diff"] == 0
    for given in (tmp_path / "a" / "query_logits", tmp_path / "a" / "query_logits" / rec["path"]):
        with starves():
            from_file = run_one(c, 0, tmp_path / "b", progress=False, query_logits=given, force=True)
        assert not (tmp_path / "b" / "_query").exists()   # no query model trained
        assert from_file["query"]["recalls"] == trained["query"]["recalls"]
        assert from_file["quota"]["counts"] == trained["quota"]["counts"]
        assert from_file["metrics"] == trained["metrics"]
        assert from_file["query"]["logits"]["sha256"] == rec["sha256"]
        assert from_file["query"]["logits"]["source"] == "file"
    multi = run_one(cfg(score="el2n", quota="drop", query_inits=3, **STARVED), 0, tmp_path / "a",
                    progress=False)
    z = dict(np.load(tmp_path / "a" / "query_logits" / multi["query"]["logits"]["path"]))
    assert z["val_logits_per_init"].shape[0] == 3 and z["val_recalls_per_init"].shape[0] == 3
    recalls, level = recalls_from_file(z)
    assert level == "logits" and recalls.tolist() == multi["query"]["recalls"]
    with pytest.raises(ValueError, match="gives a query model's recalls, not its scores"):
        run_one(cfg(score="el2n", quota="drop"), 0, tmp_path / "c", query_logits=tmp_path / "a")
    with pytest.raises(ValueError, match="is not used by quota 'none'"):
        run_one(cfg(quota="none"), 0, tmp_path / "c", query_logits=tmp_path / "a")
    with pytest.raises(ValueError, match="holds the query model"):
        run_one(cfg(score="random", quota="drop", query_epochs=3), 0, tmp_path / "c",
                query_logits=tmp_path / "a" / "query_logits" / rec["path"])


def test_a_retrained_query_model_that_differs_is_said_and_stored_beside(tmp_path):
    """A query model of the same identity retrained with different logits (another CPU, another
    precision) never silently replaces the committed file: both are kept, the run names the one it used
    and the one it differs from, and a warning says so."""
    from empirical.run_config import query_logits_path

    c = cfg(score="random", quota="drop", **STARVED)
    with starves():
        first = run_one(c, 0, tmp_path, progress=False)
    committed = query_logits_path(tmp_path, c, 0)
    z = dict(np.load(committed))
    z["val_logits"] = z["val_logits"][:, ::-1].copy()          # as if trained elsewhere
    z["val_recalls"] = z["val_recalls"][::-1].copy()
    np.savez_compressed(committed, **z)
    import shutil

    shutil.rmtree(tmp_path / "_query")                            # retrain the query model
    with starves(), pytest.warns(UserWarning, match="was retrained and its logits differ from"):
        again = run_one(c, 0, tmp_path, progress=False, force=True)
    rec = again["query"]["logits"]
    assert rec["differs_from"]["path"] == committed.name
    assert rec["path"].startswith(committed.stem + ".retrained-")
    assert (tmp_path / "query_logits" / rec["path"]).is_file() and committed.is_file()
    assert again["query"]["recalls"] == first["query"]["recalls"]   # the retrained model, said so
    assert np.array_equal(np.load(committed)["val_logits"], z["val_logits"])   # the committed file untouched
