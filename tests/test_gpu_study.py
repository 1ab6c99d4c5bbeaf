"""bench/gpu_study.sh, the paper-regime study for a lent GPU, runs end to end on the CPU with a tiny
configuration (a few images, one epoch), so that it cannot rot before a GPU is lent."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_study_script_runs_tiny_on_cpu(tmp_path):
    from test_empirical_original_data import make_binary

    folder, _, _ = make_binary(tmp_path / "data", n=20)   # the default data's layout: the binary version
    out = tmp_path / "out"
    droplab = Path(sys.executable).parent / "droplab"
    env = {**os.environ, "DATA": str(folder), "OUT": str(out), "DEVICE": "cpu", "SEEDS": "0",
           # 50 images of 10 classes: DRoP may keep none of one, which a run refuses unless allowed
           "DENSITIES": "0.5", "EXTRA": "--epochs 1 --query-epochs 1 --batch-size 16 --allow-empty-classes",
           "DROPLAB": str(droplab) if droplab.is_file() else "droplab"}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_study.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "gpu study done" in proc.stdout
    runs = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert sorted(r["method"] for r in runs) == ["Random", "Random", "Random+DRoP"]
    assert {r["config"]["model"] for r in runs} == {"whitenet-256"}
    assert {r["config"]["data_format"] for r in runs} == {"auto"}
    assert {r["dataset"]["source"].split(":")[0] for r in runs} == {"binary"}
    ids = {r["config"]["data_id"] for r in runs}
    assert len(ids) == 1 and ids.pop().startswith("sha256:")
    assert all(r["final"]["recipe"]["name"] == "airbench" and r["final"]["epochs"] == 1 for r in runs)
    assert len(list((out / "query_logits").glob("*.npz"))) == 1
    assert (out / "report" / "runs.csv").is_file()
