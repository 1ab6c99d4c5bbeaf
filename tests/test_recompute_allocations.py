"""Every committed run's allocation recomputed from committed files only (README, "Every allocation
recomputable"): its query recalls from its query-logits file, its class quotas from those recalls with
the one implementation of each rule. A run that cannot be recomputed must be named, with the reason, in
``results/recompute_exceptions.json``, and every run named there must really fail (the list never goes
stale)."""

import json
from pathlib import Path

import numpy as np
import pytest

from empirical.query_logits import (
    format_recompute,
    logits_digest,
    read_query_logits,
    recalls_from_file,
    recompute_all,
)

ROOT = Path(__file__).resolve().parents[1]
EXCEPTIONS = ROOT / "results" / "recompute_exceptions.json"


def test_every_committed_allocation_is_recomputable_or_an_explained_exception():
    listed = json.loads(EXCEPTIONS.read_text())["exceptions"]
    assert all(isinstance(why, str) and len(why) > 40 for why in listed.values())
    summary = recompute_all(ROOT / "results")
    failing = {f"results/{path}": why for path, why in summary["failing"].items()}
    assert summary["with_recall_quota"] > 50   # the recall-quota runs of the committed studies were found
    assert summary["match"] + len(failing) == summary["with_recall_quota"]
    assert summary["from_logits"] + summary["from_stored"] == summary["match"]
    assert format_recompute(summary).startswith(f"{summary['runs']} finished runs")
    unexplained = sorted(set(failing) - set(listed))
    assert not unexplained, (f"runs whose allocation cannot be recomputed, not in {EXCEPTIONS.name}: "
                             f"{unexplained}")
    stale = sorted(set(listed) - set(failing))
    assert not stale, f"{EXCEPTIONS.name} names runs that are recomputable (or gone): {stale}"


def _write(path, **arrays):
    np.savez_compressed(path, **arrays)
    return path


def test_recalls_follow_from_logits_or_are_read_as_stored(tmp_path):
    logits = np.array([[2, 0], [0, 1], [1, 0], [0, 3]], np.float32)
    labels = np.array([0, 1, 1, 1])
    z = {"val_logits": logits, "val_labels": labels, "val_recalls": np.array([1.0, 2 / 3])}
    r, level = recalls_from_file(z)
    assert level == "logits" and r.tolist() == [1.0, 2 / 3]
    # two initialisations: the mean of each one's argmax recalls
    other = np.array([[0, 2], [0, 1], [0, 1], [0, 3]], np.float32)
    z2 = {**z, "val_logits_per_init": np.stack([logits, other]), "val_recalls": np.array([0.5, 5 / 6])}
    assert recalls_from_file(z2)[1] == "logits"
    # recalls recorded apart from the logits (older files): read, and said so
    stored = recalls_from_file({**z, "val_recalls": np.array([0.9, 0.6])})
    assert stored == (pytest.approx([0.9, 0.6]), "stored")


def test_the_digest_ignores_zip_time_stamps_and_order(tmp_path):
    a = {"val_logits": np.ones((3, 2), np.float32), "val_labels": np.array([0, 1, 1])}
    f1 = _write(tmp_path / "a.npz", **a)
    f2 = _write(tmp_path / "b.npz", val_labels=a["val_labels"], val_logits=a["val_logits"])
    assert logits_digest(f1) == logits_digest(f2) == logits_digest(a)
    assert logits_digest({**a, "val_labels": np.array([0, 1, 0])}) != logits_digest(a)


def test_read_query_logits_refuses_another_query_model_or_other_data(tmp_path):
    z = dict(val_logits=np.eye(2, dtype=np.float32)[[0, 1, 1]], val_labels=np.array([0, 1, 1]),
             val_recalls=np.array([1.0, 1.0]))
    f = _write(tmp_path / "cifar10_m_random_s0_abc.npz", **z)
    got = read_query_logits(f, "cifar10_m_random_s0_abc", [0, 1, 1])
    assert got["recalls"] == [1.0, 1.0] and got["record"]["sha256"] == logits_digest(f)
    assert read_query_logits(tmp_path, "cifar10_m_random_s0_abc", [0, 1, 1])["record"]["path"] == f.name
    with pytest.raises(ValueError, match="holds the query model 'cifar10_m_random_s0_abc'.*s1_abc"):
        read_query_logits(f, "cifar10_m_random_s1_abc", [0, 1, 1])
    with pytest.raises(ValueError, match="made on other data"):
        read_query_logits(f, "cifar10_m_random_s0_abc", [0, 1, 0])
    with pytest.raises(ValueError, match="does not exist"):
        read_query_logits(tmp_path / "nope.npz", "x", [0])
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        read_query_logits(tmp_path / "bad.npz", "bad", [0])
    _write(tmp_path / "thin.npz", val_logits=z["val_logits"])
    with pytest.raises(ValueError, match=r"lacks the arrays \['val_labels', 'val_recalls'\]"):
        read_query_logits(tmp_path / "thin.npz", "thin", [0, 1, 1])
