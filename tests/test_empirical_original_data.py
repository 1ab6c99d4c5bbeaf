"""CIFAR-10's official binary version: the reader (folder, parent, .tar.gz, a folder holding it), the
published checksums, the array fingerprint, and the data's identity that keeps runs on the original
pixels apart from runs on the JPEG copy (README, "Data")."""

import hashlib
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from empirical import cifar_readers, data, small_datasets
from empirical.dataset import ArrayDataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ORIGINAL = SHARED / "cifar10-bin"
JPEG = SHARED / "cifar10"
#: sha256 of the original CIFAR-10 arrays (ArrayDataset.fingerprint), as read from shared/data/cifar10-bin
ORIGINAL_FINGERPRINT = "e6216b9018fcebdb2fc8d67681111ecdcbcb1599320d6cfc1c4f6ff4b91839a8"


def make_binary(root: Path, n=20, seed=0, meta=True):
    """A tiny copy of the binary version's layout: 5 train batches and a test batch of ``n`` records."""
    rng = np.random.default_rng(seed)
    folder = root / cifar_readers.BINARY_FOLDER
    folder.mkdir(parents=True)
    xs, ys = {"train": [], "test": []}, {"train": [], "test": []}
    for split, names in (("train", cifar_readers.BINARY_TRAIN), ("test", cifar_readers.BINARY_TEST)):
        for name in names:
            y = rng.integers(0, 10, n).astype(np.uint8)
            x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            (folder / name).write_bytes(np.concatenate([y[:, None], x], axis=1).tobytes())
            xs[split].append(x.reshape(n, 3, 32, 32))
            ys[split].append(y)
    if meta:
        (folder / "batches.meta.txt").write_text("\n".join(cifar_readers.CIFAR10_CLASSES) + "\n\n")
    join = {k: np.concatenate(v) for k, v in xs.items()}
    return folder, join, {k: np.concatenate(v) for k, v in ys.items()}


def test_binary_version_from_folder_parent_archive_and_folder_with_archive(tmp_path):
    folder, xs, ys = make_binary(tmp_path / "raw")
    arc_dir = tmp_path / "packed"
    arc_dir.mkdir()
    tgz = arc_dir / "cifar-10-binary.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(folder, arcname=cifar_readers.BINARY_FOLDER)
    prints = set()
    for src in (folder, folder.parent, tgz, arc_dir):
        assert data.resolve_source("cifar10", src)[0] == "binary"
        ds = data.load_dataset("cifar10", src)
        np.testing.assert_array_equal(ds.x_train, xs["train"])
        np.testing.assert_array_equal(ds.y_train, ys["train"])
        np.testing.assert_array_equal(ds.x_test, xs["test"])
        np.testing.assert_array_equal(ds.y_test, ys["test"])
        assert ds.x_train.shape == (100, 3, 32, 32) and ds.class_names == list(cifar_readers.CIFAR10_CLASSES)
        # made-up bytes: read, but not called the original
        assert ds.meta["origin"]["copy"] == "unverified"
        assert ds.meta["origin"]["files_differing"] == sorted(cifar_readers.CIFAR10_BINARY_SHA1)
        prints.add(ds.fingerprint())
    assert len(prints) == 1   # one fingerprint whatever the layout
    assert data.data_identity(ds) == "sha256:" + prints.pop()[:16]


def test_binary_version_checksums_say_original_only_when_all_match(tmp_path, monkeypatch):
    folder, _, _ = make_binary(tmp_path / "raw")
    own = {n: hashlib.sha1((folder / n).read_bytes()).hexdigest() for n in cifar_readers.CIFAR10_BINARY_SHA1}
    monkeypatch.setattr(cifar_readers, "CIFAR10_BINARY_SHA1", own)
    assert cifar_readers.read_cifar_binary(folder).meta["origin"]["copy"] == "original"
    (folder / "test_batch.bin").write_bytes((folder / "test_batch.bin").read_bytes()[:-3073])
    origin = cifar_readers.read_cifar_binary(folder).meta["origin"]
    assert origin["copy"] == "unverified" and origin["files_differing"] == ["test_batch.bin"]


def test_binary_version_bad_input_is_named(tmp_path):
    folder, _, _ = make_binary(tmp_path / "raw")
    (folder / "data_batch_3.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=r"data_batch_3.bin: 100 bytes is not a whole number of 3073-byte"):
        cifar_readers.read_cifar_binary(folder)
    (folder / "data_batch_3.bin").write_bytes(np.full(3073, 11, np.uint8).tobytes())
    with pytest.raises(ValueError, match="label byte 11 outside 0-9"):
        cifar_readers.read_cifar_binary(folder)
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(ValueError, match="no CIFAR-10 binary batches"):
        data.resolve_source("cifar10", folder, "binary")
    with pytest.raises(ValueError, match="binary version, not 'cifar100'"):
        data.resolve_source("cifar100", folder, "binary")
    part = tmp_path / "part.tar.gz"
    with tarfile.open(part, "w:gz") as tf:
        tf.add(folder, arcname=cifar_readers.BINARY_FOLDER)
    with pytest.raises(ValueError, match=r"lacks the CIFAR-10 binary batches \['data_batch_3.bin'\]"):
        data.load_dataset("cifar10", part)


def test_in_memory_synthetic_and_jpeg_data_stay_out_of_the_identity():
    ds = small_datasets.make_gaussian_dataset(n_train_per_class=5, n_test_per_class=5)
    assert data.data_identity(ds) is None
    assert data.data_identity(ds.subset(train_idx=[0, 1])) is None
    img = np.zeros((2, 3, 4, 4), np.uint8)
    jpeg_like = ArrayDataset("cifar10", img, [0, 1], img, [0, 1], ["a", "b"], source="jpeg-index:/x")
    assert data.data_identity(jpeg_like) is None


HAVE_ORIGINAL = (ORIGINAL / "cifar-10-binary.tar.gz").is_file()


@pytest.mark.skipif(not HAVE_ORIGINAL, reason="shared/data/cifar10-bin absent")
def test_shared_original_cifar10_is_bit_exact():
    ds = data.load_dataset("cifar10", ORIGINAL)
    assert ds.source.startswith("binary:") and ds.meta["origin"]["copy"] == "original"
    assert ds.x_train.shape == (50000, 3, 32, 32) and ds.x_test.shape == (10000, 3, 32, 32)
    np.testing.assert_array_equal(np.bincount(ds.y_train), [5000] * 10)
    assert ds.fingerprint() == ORIGINAL_FINGERPRINT
    mean = (ds.x_train / 255.0).mean(axis=(0, 2, 3))
    np.testing.assert_allclose(mean, [0.49140, 0.48216, 0.44653], atol=5e-6)   # shared/data/README.md
    if (JPEG / cifar_readers.JPEG_INDEX).is_file():
        ix = np.load(JPEG / cifar_readers.JPEG_INDEX)
        np.testing.assert_array_equal(ds.y_train, ix["y_train"])
        np.testing.assert_array_equal(ds.y_test, ix["y_test"])
        exact = ix["exact_train_x"].transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(ds.x_train[ix["exact_train_idx"]], exact)


@pytest.mark.skipif(not HAVE_ORIGINAL or not (JPEG / cifar_readers.JPEG_INDEX).is_file(),
                    reason="shared/data/cifar10-bin or shared/data/cifar10 absent")
def test_runs_on_the_original_pixels_and_on_the_jpeg_copy_never_share_an_id():
    pytest.importorskip("torch")
    from empirical.run_config import RunConfig
    from empirical.stage_data import bind_data

    grid = dict(dataset="cifar10", model="whitenet-256", recipe="airbench", shift=2, density=1.0,
                score="random", quota="none")
    on_jpeg = RunConfig(**grid, data_dir=str(JPEG))
    on_original = RunConfig(**grid, data_dir=str(ORIGINAL))
    assert on_jpeg.run_id(0) == on_original.run_id(0)   # before the data is loaded, nothing tells them apart
    bound_original, _ = bind_data(on_original)
    assert bound_original.data_id == "sha256:" + ORIGINAL_FINGERPRINT[:16]
    # the JPEG copy keeps the ids its committed runs were recorded with
    assert on_jpeg.run_id(0) == "cifar10_whitenet-256_random_none_d1_airbench_s0_9f2f6332"
    assert bound_original.run_id(0) != on_jpeg.run_id(0)
    assert bound_original.query_id(0) != on_jpeg.query_id(0)
    with pytest.raises(ValueError, match="these runs were recorded on other data"):
        bind_data(RunConfig(**grid, data_dir=str(ORIGINAL), data_id="sha256:0000000000000000"))
    recorded = json.loads(next((Path(__file__).resolve().parents[1] / "results" / "cifar10-whitenet-256")
                               .glob("*_random_none_d1_airbench_s0_9f2f6332.json")).read_text())
    assert "data_id" not in recorded["config"]


def test_the_report_never_pairs_runs_on_different_data(tmp_path):
    """Runs that differ only in their data (the JPEG copy: no data_id; the original pixels: its data_id)
    fall into different studies: no Random partner, no paired difference across data."""
    from test_empirical_report import fake_run, write

    from empirical.report import summarise_paths

    for seed in (0, 1):
        write(tmp_path, fake_run("random", "none", seed=seed))                  # recorded on the JPEG copy
        write(tmp_path, fake_run("random", "drop", seed=seed))
        orig = fake_run("random", "drop", seed=seed, data_id="sha256:e6216b9018fcebdb")
        orig["run_id"] += "_original"
        write(tmp_path, orig)
    rep = summarise_paths(tmp_path, n_boot=200)
    assert len(rep["studies"]) == 2
    labels = {s["label"] for s in rep["studies"].values()}
    assert any("data_id=sha256:e6216b9018fcebdb" in lab for lab in labels)
    alone = [r for r in rep["summary"] if r["method"] == "Random+DRoP" and r["n_seeds"] == 2]
    assert len(alone) == 2
    paired = {r["study"]: r.get("paired_worst_class_diff_mean") for r in alone}
    original = next(sid for sid, s in rep["studies"].items() if "data_id=sha256" in s["label"])
    jpeg = next(sid for sid, s in rep["studies"].items() if "data_id=JPEG copy or synthetic" in s["label"])
    assert paired[original] == ""   # no Random run on the same data: nothing paired across data
    assert paired[jpeg] != ""
