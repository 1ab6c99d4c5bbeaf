"""Sweep arguments: every bad value is a clear error before any work; duplicates run once (issue 10)."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("submitit")

from empirical.run_config import RunConfig, run_path  # noqa: E402
from empirical.sweep import grid, sweep  # noqa: E402
from gaussian_theory.cli import main  # noqa: E402

BASE = RunConfig(dataset="gaussian", model="linear", epochs=2, query_epochs=1, device="cpu")


def test_duplicates_are_dropped_and_reported():
    logged = []
    pts = grid(BASE, [0.5, 0.5, 0.50], ["random", "random"], ["none"], [0, 0, 1], log=logged.append)
    assert sorted((c.density, s) for c, s in pts) == [(0.5, 0), (0.5, 1)]
    text = "\n".join(logged)
    assert "duplicate densities [0.5, 0.5]" in text and "duplicate seeds [0]" in text
    assert "duplicate scores ['random']" in text


def test_duplicate_seeds_counted_once_in_sweep(tmp_path):
    for c, s in grid(BASE, [0.5], ["random"], ["none"], [0]):
        run_path(tmp_path, c, s).write_text(json.dumps({"status": "done"}))
    logged = []
    res = sweep(BASE, [0.5, 0.5], ["random"], ["none"], [0, 0], tmp_path, cluster="debug", log=logged.append)
    assert res["submitted"] == 0 and res["skipped"] == 1
    assert any("grid: 1 runs" in line for line in logged)


@pytest.mark.parametrize("kw, exc, match", [
    ({"chunk_size": -1}, ValueError, "chunk_size"),
    ({"chunk_size": 1.5}, TypeError, "chunk_size"),
    ({"cluster": "pbs"}, ValueError, "cluster"),
    ({"wait": "no"}, TypeError, "wait"),
    ({"timeout_min": 0}, ValueError, "timeout_min"),
    ({"gpus_per_node": -1}, ValueError, "gpus_per_node"),
    ({"cpus_per_task": 0}, ValueError, "cpus_per_task"),
    ({"mem_gb": -2.0}, ValueError, "mem_gb"),
    ({"array_parallelism": 0}, ValueError, "array_parallelism"),
    ({"partition": ""}, ValueError, "partition"),
    ({"job_name": "a\nb"}, ValueError, "job_name"),
    ({"densities": []}, ValueError, "densities"),
    ({"densities": [0.0]}, ValueError, "density"),
    ({"densities": [1.5]}, ValueError, "density"),
    ({"seeds": [-1]}, ValueError, "seed"),
    ({"seeds": []}, ValueError, "seeds"),
    ({"seeds": [True]}, TypeError, "seed"),
    ({"score_names": ["margin"]}, ValueError, "score"),
    ({"quotas": ["all"]}, ValueError, "quota"),
    ({"rules": ["exact"]}, ValueError, "rule"),
])
def test_bad_arguments_fail_before_any_work(tmp_path, kw, exc, match):
    args = {"densities": [0.5], "score_names": ["random"], "quotas": ["none"], "seeds": [0]}
    opts = {k: kw.pop(k) for k in list(kw) if k not in args and k != "rules"}
    args.update(kw)
    with pytest.raises(exc, match=match):
        sweep(BASE, out_dir=tmp_path / "o", cluster=opts.pop("cluster", "debug"), log=lambda *_: None,
              **args, **opts)
    assert not (tmp_path / "o").exists()


def test_out_pointing_at_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        sweep(BASE, [0.5], ["random"], ["none"], [0], f, cluster="debug", log=lambda *_: None)


def test_cli_chunk_size_minus_one_is_an_error(tmp_path, capsys):
    argv = ["empirical", "sweep", "--dataset", "gaussian", "--model", "linear", "--densities", "0.5",
            "--quotas", "none", "--seeds", "0", "--epochs", "2", "--device", "cpu", "--cluster", "debug",
            "--out", str(tmp_path / "o"), "--chunk-size", "-1"]
    try:   # rejected by the parser (argparse exits with 2) or by sweep() (main returns 2)
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "chunk" in err and "-1" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
