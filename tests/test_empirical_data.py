"""CIFAR readers on tiny archives in the original formats, image folders, the JPEG copy, the split."""

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
PIL = pytest.importorskip("PIL")

from PIL import Image  # noqa: E402

from empirical import cifar_readers, data  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


def _batch(rng, n, k, label_key, n_classes):
    x = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    y = (np.arange(n) % n_classes).tolist()
    d = {b"data": x, label_key: y, b"batch_label": b"tiny", b"filenames": [b"f%d.png" % i for i in range(n)]}
    return d, x.reshape(n, 3, 32, 32), np.array(y)


def make_cifar_pickles(root: Path, dataset="cifar10", n=20, seed=0):
    """Write a tiny copy of the authors' layout (python-2 style pickles with bytes keys)."""
    rng = np.random.default_rng(seed)
    folder = root / ("cifar-10-batches-py" if dataset == "cifar10" else "cifar-100-python")
    folder.mkdir(parents=True)
    xs, ys = {}, {}
    if dataset == "cifar10":
        names = ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"])
        key, k = b"labels", 10
        label_names = [c.encode() for c in cifar_readers.CIFAR10_CLASSES]
        meta = ("batches.meta", {b"label_names": label_names, b"num_vis": 3072})
    else:
        names = (["train"], ["test"])
        key, k = b"fine_labels", 100
        meta = ("meta", {b"fine_label_names": [b"c%d" % i for i in range(100)], b"coarse_label_names": []})
    for split, files in zip(("train", "test"), names):
        parts = []
        for f in files:
            d, x, y = _batch(rng, n if k == 10 else 200, 0, key, k)
            if k == 100:
                d[b"coarse_labels"] = [0] * len(y)
            (folder / f).write_bytes(pickle.dumps(d, protocol=2))
            parts.append((x, y))
        xs[split] = np.concatenate([p[0] for p in parts])
        ys[split] = np.concatenate([p[1] for p in parts])
    (folder / meta[0]).write_bytes(pickle.dumps(meta[1], protocol=2))
    return folder, xs, ys


def test_cifar10_pickle_folder_parent_and_targz(tmp_path):
    folder, xs, ys = make_cifar_pickles(tmp_path / "c10")
    tgz = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(folder, arcname="cifar-10-batches-py")
    for src in (folder, folder.parent, tgz):
        ds = data.load_dataset("cifar10", src)
        assert ds.x_train.shape == (100, 3, 32, 32) and ds.x_train.dtype == np.uint8
        np.testing.assert_array_equal(ds.x_train, xs["train"])
        np.testing.assert_array_equal(ds.y_train, ys["train"])
        np.testing.assert_array_equal(ds.x_test, xs["test"])
        assert ds.class_names == list(cifar_readers.CIFAR10_CLASSES)
        assert ds.mean == cifar_readers.CIFAR_STATS["cifar10"][0]
    assert data.resolve_source("cifar10", tgz)[0] == "pickle"


def test_cifar100_pickles(tmp_path):
    folder, xs, ys = make_cifar_pickles(tmp_path, "cifar100")
    ds = data.load_dataset("cifar100", folder)
    assert ds.num_classes == 100 and ds.class_names[3] == "c3"
    np.testing.assert_array_equal(ds.y_train, ys["train"])
    np.testing.assert_array_equal(ds.x_test, xs["test"])


def test_image_folder(tmp_path):
    rng = np.random.default_rng(1)
    truth = {}
    for split, n in (("train", 3), ("test", 2)):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(img).save(tmp_path / split / c / f"{i:03d}.png")
                truth[(split, c, i)] = img
    ds = data.load_dataset("imagefolder", tmp_path)
    assert ds.class_names == ["cat", "dog"] and ds.x_train.shape == (6, 3, 8, 8)
    np.testing.assert_array_equal(ds.y_train, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(ds.x_train[4].transpose(1, 2, 0), truth[("train", "dog", 1)])
    assert ds.mean is not None and len(ds.std) == 3


def make_jpeg_copy(root: Path, n_train_per_class=2, n_test_per_class=2, seed=0):
    """A tiny JPEG tar + npz index in the layout of shared/data/cifar10, canonical order shuffled."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    members, index = {}, {}
    for split, n in (("train", n_train_per_class), ("test", n_test_per_class)):
        y = np.repeat(np.arange(10), n)
        perm = rng.permutation(y.size)          # canonical order != tar order
        y = y[perm]
        paths, counters = [], np.zeros(10, dtype=int)
        for lab in y:
            p = f"{split}/{cifar_readers.CIFAR10_CLASSES[lab]}/{counters[lab]:04d}.jpg"
            counters[lab] += 1
            img = np.full((32, 32, 3), 20 * lab + (5 if split == "test" else 0), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=95)
            members[p] = buf.getvalue()
            paths.append(p)
        index[f"{split}_jpeg_path"] = np.array(paths)
        index[f"y_{split}"] = y.astype(np.uint8)
    index["label_names"] = np.array(cifar_readers.CIFAR10_CLASSES)
    np.savez(root / cifar_readers.JPEG_INDEX, **index)
    with tarfile.open(root / "cifar10_jpeg.tar.gz", "w:gz") as tf:
        for p in sorted(members):
            info = tarfile.TarInfo(p)
            info.size = len(members[p])
            tf.addfile(info, io.BytesIO(members[p]))
    return index


def test_jpeg_copy_reader_canonical_order(tmp_path):
    index = make_jpeg_copy(tmp_path / "jp")
    ds = data.load_dataset("cifar10", tmp_path / "jp")
    assert data.resolve_source("cifar10", tmp_path / "jp")[0] == "jpeg-index"
    np.testing.assert_array_equal(ds.y_train, index["y_train"])
    # each image's constant colour encodes its label: the canonical order is respected
    np.testing.assert_allclose(ds.x_train[:, 0, 16, 16], 20 * ds.y_train, atol=3)
    np.testing.assert_allclose(ds.x_test[:, 1, 16, 16], 20 * ds.y_test + 5, atol=3)
    sub = cifar_readers.read_cifar10_jpeg(tmp_path / "jp", train_indices=[3, 0], test_indices=[])
    np.testing.assert_array_equal(sub.y_train, index["y_train"][[3, 0]])
    assert sub.x_test.shape[0] == 0


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/data/cifar10 not present")
def test_shared_cifar10_jpeg_copy():
    ix = np.load(SHARED / cifar_readers.JPEG_INDEX)
    ds = cifar_readers.read_cifar10_jpeg(SHARED, train_indices=np.arange(64), test_indices=np.arange(8))
    assert ds.x_train.shape == (64, 3, 32, 32)
    np.testing.assert_array_equal(ds.y_train, ix["y_train"][:64])
    exact = ix["exact_train_x"][:64].transpose(0, 3, 1, 2).astype(float)   # original pixels
    assert np.abs(ds.x_train.astype(float) - exact).mean() < 10  # JPEG q75: ~5.8/255 MAE


def test_validation_split_is_first_half_of_each_class():
    y = np.array([2, 0, 1, 0, 2, 0, 1, 0, 2, 1, 2, 1])
    val, test = data.validation_split(y, 3)
    assert set(val) | set(test) == set(range(y.size)) and not set(val) & set(test)
    for k in range(3):
        idx = np.flatnonzero(y == k)
        np.testing.assert_array_equal(np.intersect1d(val, idx), idx[: idx.size // 2])


def test_gaussian_dataset():
    ds = data.load_dataset("gaussian", n_train_per_class=10, n_test_per_class=6, num_classes=3, dim=4)
    assert ds.x_train.shape == (30, 4) and ds.x_train.dtype == np.float32 and not ds.is_image
    np.testing.assert_array_equal(np.bincount(ds.y_train), [10, 10, 10])
    again = data.load_dataset("gaussian", n_train_per_class=10, n_test_per_class=6, num_classes=3, dim=4)
    np.testing.assert_array_equal(ds.x_train, again.x_train)


@pytest.mark.parametrize("bad, match", [
    ("missing", "does not exist"), ("notgz", "not a .tar.gz"), ("badgz", "not a readable .tar.gz"),
    ("emptydir", "no cifar10 python batches"), ("wrongtar", "lacks the cifar10 python batches")])
def test_bad_sources(tmp_path, bad, match):
    p = tmp_path / "x"
    if bad == "notgz":
        p.write_text("hello")
    elif bad == "badgz":
        p = tmp_path / "x.tar.gz"
        p.write_bytes(b"not gzip at all")
    elif bad == "emptydir":
        p.mkdir()
    elif bad == "wrongtar":
        p = tmp_path / "x.tar.gz"
        with tarfile.open(p, "w:gz") as tf:
            info = tarfile.TarInfo("readme.txt")
            tf.addfile(info, io.BytesIO(b""))
    with pytest.raises(ValueError, match=match):
        data.resolve_source("cifar10", p)


def test_unknown_dataset_and_format():
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.resolve_source("mnist", ".")
    with pytest.raises(ValueError, match="data_format"):
        data.resolve_source("cifar10", ".", "zip")
    with pytest.raises(ValueError, match="needs --data-dir"):
        data.resolve_source("cifar10", None)


def test_image_folder_names_the_file_that_is_not_an_image(tmp_path):
    for split in ("train", "test"):
        (tmp_path / split / "cat").mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / split / "cat" / "000.png")
    (tmp_path / "test" / "cat" / "001.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"cannot read the image .*test/cat/001\.png"):
        data.load_dataset("imagefolder", tmp_path)
