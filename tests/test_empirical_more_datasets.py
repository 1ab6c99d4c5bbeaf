"""Datasets beyond CIFAR (issue 33, "a study across datasets"): MNIST-1D (the pickle of 1-D signals) and
Fashion-MNIST (the four official IDX files): the readers on tiny files written here, their errors on bad
input, the shared copies (original by their published md5s), the models for them (``cnn1d``,
``smallcnn-gray``), one-channel augmentation, and one tiny end-to-end run per dataset."""

import gzip
import hashlib
import json
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from empirical import data, small_datasets
from empirical.options import DATASETS, FORMATS, MODELS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST1D = SHARED / "mnist1d" / "mnist1d_data.pkl"
FASHION = SHARED / "fashion-mnist"
need_mnist1d = pytest.mark.skipif(not MNIST1D.is_file(), reason="shared/data/mnist1d absent")
need_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="shared/data/fashion-mnist absent")
try:
    import torch
except ImportError:  # the readers need no torch; the models and runs do
    torch = None
need_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


# ----------------------------------------------------------------------------- tiny files
def make_mnist1d(path: Path, n=60, m=40, length=40, seed=0, **override) -> dict:
    """A tiny MNIST-1D-style pickle (the canonical file's keys and dtypes); ``override`` replaces keys
    (None deletes one)."""
    rng = np.random.default_rng(seed)
    d = {"x": rng.normal(size=(n, length)), "y": np.arange(n) % 10,
         "x_test": rng.normal(size=(m, length)), "y_test": np.arange(m) % 10,
         "t": np.linspace(-5, 5, length), "templates": {"x": rng.normal(size=(10, 12)), "y": np.arange(10)}}
    for k, v in override.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(d, protocol=3))
    return d


def idx_bytes(arr: np.ndarray, magic=None) -> bytes:
    """The gzip-compressed IDX file of uint8 ``arr``."""
    magic = (0x0800 + arr.ndim) if magic is None else magic
    head = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return gzip.compress(head + np.ascontiguousarray(arr, dtype=np.uint8).tobytes(), mtime=0)


def make_idx(folder: Path, n=30, m=20, size=28, seed=0) -> dict:
    """The four Fashion-MNIST files with ``n`` train and ``m`` test random images (labels cycle 0-9)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, k in (("train", n), ("test", m)):
        x = rng.integers(0, 256, (k, size, size), dtype=np.uint8)
        y = (np.arange(k) % 10).astype(np.uint8)
        img, lab = small_datasets.FASHION_MNIST_FILES[split]
        (folder / img).write_bytes(idx_bytes(x))
        (folder / lab).write_bytes(idx_bytes(y))
        arrays[split] = (x, y)
    return arrays


def test_options_list_the_new_datasets_formats_and_models():
    assert {"mnist1d", "fashion-mnist"} <= set(DATASETS)
    assert {"mnist1d", "idx"} <= set(FORMATS)
    assert {"cnn1d", "smallcnn-gray"} <= set(MODELS)


# ----------------------------------------------------------------------------- MNIST-1D reader
def test_mnist1d_reader_from_file_folder_and_parent(tmp_path):
    d = make_mnist1d(tmp_path / "mnist1d" / small_datasets.MNIST1D_FILE)
    prints = set()
    for src in (tmp_path / "mnist1d" / small_datasets.MNIST1D_FILE, tmp_path / "mnist1d", tmp_path):
        assert data.resolve_source("mnist1d", src)[0] == "mnist1d"
        ds = data.load_dataset("mnist1d", src)
        assert ds.name == "mnist1d" and not ds.is_image
        assert ds.x_train.shape == (60, 1, 40) and ds.x_train.dtype == np.float32
        assert ds.x_test.shape == (40, 1, 40) and ds.y_train.dtype == np.int64
        np.testing.assert_array_equal(ds.x_train[:, 0], d["x"].astype(np.float32))
        np.testing.assert_array_equal(ds.y_test, d["y_test"])
        assert ds.class_names == [str(k) for k in range(10)]
        assert ds.source == f"mnist1d:{tmp_path / 'mnist1d' / small_datasets.MNIST1D_FILE}"
        # made-up data: read, but not called the original
        assert ds.meta["origin"]["copy"] == "unverified" and ds.meta["origin"]["checksum"] == "md5"
        assert data.data_identity(ds) == "sha256:" + ds.fingerprint()[:16]
        prints.add(ds.fingerprint())
    assert len(prints) == 1
    # the format can be named; other datasets' formats are refused for it, and it for them
    assert data.resolve_source("mnist1d", tmp_path, "mnist1d")[0] == "mnist1d"
    with pytest.raises(ValueError, match="dataset 'mnist1d' is read from format 'mnist1d', not 'pickle'"):
        data.resolve_source("mnist1d", tmp_path, "pickle")
    with pytest.raises(ValueError, match="format 'mnist1d' is the MNIST-1D pickle, not 'cifar10'"):
        data.resolve_source("cifar10", tmp_path, "mnist1d")


@pytest.mark.parametrize("override, message", [
    ({"y_test": None}, r"lacks the keys \['y_test'\]"),
    ({"x": np.zeros((60, 40), dtype=np.int64)}, r"'x' must be a 2-D float array"),
    ({"x": np.zeros((60, 1, 40))}, r"'x' must be a 2-D float array"),
    ({"y": np.arange(59) % 10}, r"'x' has 60 signals and 'y' 59 labels"),
    ({"y": np.arange(60) % 10 + 1}, r"'y' holds labels outside 0-9"),
    ({"y": (np.arange(60) % 10).astype(float)}, r"'y' must be a 1-D integer array"),
    ({"x_test": np.zeros((40, 39))}, r"train and test signals differ in length \(40 and 39\)"),
    ({"x": np.full((60, 40), np.nan)}, r"'x' holds non-finite values"),
])
def test_mnist1d_reader_names_what_is_wrong(tmp_path, override, message):
    make_mnist1d(tmp_path / small_datasets.MNIST1D_FILE, **override)
    with pytest.raises(ValueError, match=message):
        small_datasets.read_mnist1d(tmp_path)


class Evil:
    def __reduce__(self):
        return (print, ("unpickling ran code",))


def test_mnist1d_reader_refuses_other_objects_and_bad_files(tmp_path, capsys):
    f = tmp_path / "x.pkl"
    f.write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(ValueError, match=r"not a MNIST-1D pickle \(UnpicklingError: global builtins.print is "
                                         r"not allowed"):
        small_datasets.read_mnist1d(f)
    assert "ran code" not in capsys.readouterr().out
    f.write_bytes(pickle.dumps([np.zeros(3)]))
    with pytest.raises(ValueError, match="expected a dict with keys"):
        small_datasets.read_mnist1d(f)
    f.write_bytes(pickle.dumps({"x": np.zeros((4, 40))})[:-20])  # truncated
    with pytest.raises(ValueError, match="is not a MNIST-1D pickle"):
        small_datasets.read_mnist1d(f)
    f.write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="is not a MNIST-1D pickle"):
        small_datasets.read_mnist1d(f)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no MNIST-1D pickle in"):
        data.resolve_source("mnist1d", empty)


# ----------------------------------------------------------------------------- Fashion-MNIST reader
def test_idx_reader_from_folder_parent_and_file(tmp_path):
    arrays = make_idx(tmp_path / "fashion-mnist")
    first = tmp_path / "fashion-mnist" / small_datasets.FASHION_MNIST_FILES["train"][0]
    for src in (tmp_path / "fashion-mnist", tmp_path, first):
        assert data.resolve_source("fashion-mnist", src)[0] == "idx"
        ds = data.load_dataset("fashion-mnist", src)
        assert ds.name == "fashion-mnist" and ds.is_image
        assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_train.dtype == np.uint8
        assert ds.x_test.shape == (20, 1, 28, 28)
        np.testing.assert_array_equal(ds.x_train[:, 0], arrays["train"][0])
        np.testing.assert_array_equal(ds.y_test, arrays["test"][1])
        assert ds.class_names == list(small_datasets.FASHION_MNIST_CLASSES)
        assert ds.class_names[0] == "T-shirt/top"
        x = ds.x_train.astype(np.float64) / 255
        np.testing.assert_allclose(ds.mean, [x.mean()], rtol=1e-12)
        np.testing.assert_allclose(ds.std, [x.std()], rtol=1e-9)
        origin = ds.meta["origin"]
        assert origin["copy"] == "unverified" and origin["files_checked"] == 4
        assert origin["files_differing"] == sorted(small_datasets.FASHION_MNIST_MD5)
        assert ds.source == f"idx:{tmp_path / 'fashion-mnist'}"
        assert data.data_identity(ds).startswith("sha256:")
    with pytest.raises(ValueError, match="format 'idx' is Fashion-MNIST's four IDX files, not 'cifar10'"):
        data.resolve_source("cifar10", tmp_path, "idx")
    with pytest.raises(ValueError, match="'fashion-mnist' is read from format 'idx', not 'imagefolder'"):
        data.resolve_source("fashion-mnist", tmp_path, "imagefolder")


def test_idx_origin_is_original_when_every_md5_matches(tmp_path, monkeypatch):
    folder = tmp_path / "f"
    make_idx(folder)
    md5 = {n: hashlib.md5((folder / n).read_bytes()).hexdigest() for n in small_datasets.FASHION_MNIST_MD5}
    monkeypatch.setattr(small_datasets, "FASHION_MNIST_MD5", md5)
    assert small_datasets.read_fashion_mnist(folder).meta["origin"]["copy"] == "original"


def test_idx_reader_names_what_is_wrong(tmp_path):
    folder = tmp_path / "f"
    make_idx(folder)
    train_img, train_lab = (folder / n for n in small_datasets.FASHION_MNIST_FILES["train"])
    good_img, good_lab = train_img.read_bytes(), train_lab.read_bytes()
    # a missing file
    train_lab.unlink()
    with pytest.raises(ValueError, match=r"no Fashion-MNIST IDX files in .* lacks "
                                         r"\['train-labels-idx1-ubyte.gz'\]"):
        data.resolve_source("fashion-mnist", folder)
    # labels where images belong: the magic number says so
    train_lab.write_bytes(good_lab)
    train_img.write_bytes(good_lab)
    with pytest.raises(ValueError, match="IDX magic number 2049, expected 2051"):
        small_datasets.read_fashion_mnist(folder)
    # a truncated data block, a truncated header, trailing bytes
    raw = gzip.decompress(good_img)
    for body, message in ((raw[:-5], "truncated"), (raw[:10], "truncated IDX header"),
                          (raw + b"\0", "trailing bytes"), (b"\0\0", "too short for an IDX header")):
        train_img.write_bytes(gzip.compress(body))
        with pytest.raises(ValueError, match=message):
            small_datasets.read_fashion_mnist(folder)
    # a cut gzip stream, not gzip at all
    train_img.write_bytes(good_img[: len(good_img) // 2])
    with pytest.raises(ValueError, match="not a readable gzip file"):
        small_datasets.read_fashion_mnist(folder)
    train_img.write_bytes(b"plain bytes")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        small_datasets.read_fashion_mnist(folder)
    # images and labels of different lengths, a label outside 0-9
    train_img.write_bytes(good_img)
    train_lab.write_bytes(idx_bytes(np.zeros(29, np.uint8)))
    with pytest.raises(ValueError, match="holds 30 images but .* 29 labels"):
        small_datasets.read_fashion_mnist(folder)
    train_lab.write_bytes(idx_bytes(np.full(30, 10, np.uint8)))
    with pytest.raises(ValueError, match="label 10 outside 0-9"):
        small_datasets.read_fashion_mnist(folder)


def test_read_idx_parses_the_header_big_endian():
    x = np.arange(2 * 3 * 300, dtype=np.int64).reshape(2, 3, 300) % 256
    np.testing.assert_array_equal(small_datasets.read_idx(idx_bytes(x), 2051, "x"), x)
    with pytest.raises(ValueError, match="x: IDX magic number 2051, expected 2049"):
        small_datasets.read_idx(idx_bytes(x), 2049, "x")


# ----------------------------------------------------------------------------- the shared copies
@need_mnist1d
def test_shared_mnist1d_is_the_original():
    ds = data.load_dataset("mnist1d", MNIST1D.parent)
    assert ds.meta["origin"]["copy"] == "original"
    assert ds.x_train.shape == (4000, 1, 40) and ds.x_test.shape == (1000, 1, 40)
    assert ds.x_train.dtype == np.float32 and ds.num_classes == 10
    assert ds.class_sizes.tolist() == [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]
    assert np.bincount(ds.y_test).tolist() == [102, 104, 89, 106, 106, 98, 99, 96, 98, 102]
    val, test = data.validation_split(ds.y_test, 10)
    assert len(val) == 499 and len(test) == 501  # floor(n_k / 2) of each class
    assert data.data_identity(ds) == "sha256:" + ds.fingerprint()[:16]


@need_fashion
def test_shared_fashion_mnist_is_the_original():
    ds = data.load_dataset("fashion-mnist", FASHION)
    assert ds.meta["origin"] == {"copy": "original", "checked": "Fashion-MNIST IDX files", "checksum": "md5",
                                 "files_checked": 4}
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.class_sizes.tolist() == [6000] * 10 and np.bincount(ds.y_test).tolist() == [1000] * 10
    np.testing.assert_allclose(ds.mean, [0.2860], atol=1e-4)
    np.testing.assert_allclose(ds.std, [0.3530], atol=1e-4)
    assert data.data_identity(ds).startswith("sha256:")


# ----------------------------------------------------------------------------- models and augmentation
@need_torch
def test_cnn1d_and_smallcnn_gray_shapes_and_seeding():
    from empirical.models import build_model

    for name, shape, params in (("cnn1d", (1, 40), 19_562), ("cnn1d", (40,), 19_562),
                                ("smallcnn-gray", (1, 28, 28), 98_682), ("smallcnn", (1, 28, 28), 390_890)):
        a = build_model(name, 10, shape, generator=torch.Generator().manual_seed(0))
        b = build_model(name, 10, shape, generator=torch.Generator().manual_seed(0))
        c = build_model(name, 10, shape, generator=torch.Generator().manual_seed(1))
        assert sum(p.numel() for p in a.parameters()) == params
        x = torch.randn(3, *shape)
        for m in (a, b, c):
            m.eval()
        with torch.no_grad():
            out = a(x)
            assert out.shape == (3, 10)
            torch.testing.assert_close(a.head(a.features(x)), out)
            torch.testing.assert_close(b(x), out)
            assert not torch.allclose(c(x), out)
    with pytest.raises(ValueError, match=r"model 'cnn1d' needs 1-D signal inputs \(C, L\) or \(L,\), got "
                                         r"input shape \(1, 28, 28\)"):
        build_model("cnn1d", 10, (1, 28, 28))
    with pytest.raises(ValueError, match="needs image inputs"):
        build_model("smallcnn-gray", 10, (1, 40))


@need_torch
def test_model_and_dataset_must_fit():
    from empirical.models import check_model_for_dataset
    from empirical.pipeline import RunConfig

    check_model_for_dataset("cnn1d", "mnist1d")
    check_model_for_dataset("mlp", "mnist1d")
    check_model_for_dataset("smallcnn-gray", "fashion-mnist")
    with pytest.raises(ValueError, match=r"model 'smallcnn' cannot take the mnist1d dataset's 1-D signals: "
                                         r"use one of cnn1d, mlp, linear"):
        RunConfig(dataset="mnist1d", data_dir="x", model="smallcnn").validate(check_data=False)
    with pytest.raises(ValueError, match="model 'cnn1d' cannot take the fashion-mnist dataset's images"):
        RunConfig(dataset="fashion-mnist", data_dir="x", model="cnn1d").validate(check_data=False)
    with pytest.raises(ValueError, match="model 'cnn1d' cannot take the gaussian dataset's feature vectors"):
        RunConfig(model="cnn1d").validate()


@need_torch
def test_one_channel_augmentation_shifts_flips_and_normalises():
    from empirical.augment import BatchAugment, translate_flip

    x = torch.arange(2 * 28 * 28, dtype=torch.uint8).view(2, 1, 28, 28)
    out = translate_flip(x, torch.tensor([[1, -2], [0, 0]]), torch.tensor([False, True]), pad=4)
    assert out.shape == (2, 1, 28, 28)
    torch.testing.assert_close(out[0, 0, 1:, :-2], x[0, 0, :-1, 2:])
    assert (out[0, 0, 0] == 0).all() and (out[0, 0, :, -2:] == 0).all()
    torch.testing.assert_close(out[1], x[1].flip(-1))
    aug = BatchAugment((0.3,), (0.5,), shift=4)
    torch.testing.assert_close(aug(x), (x.float() / 255 - 0.3) / 0.5)
    a = aug(x, torch.Generator().manual_seed(0))
    assert a.shape == (2, 1, 28, 28) and a.dtype == torch.float32
    # a 1-D signal batch (N, 1, L) is not an image: returned as float, never shifted or flipped
    s = torch.randn(4, 1, 40)
    torch.testing.assert_close(aug(s, torch.Generator().manual_seed(0)), s)


@need_torch
def test_recipes_of_the_new_models():
    from empirical.recipes import get_recipe

    for name, epochs, batch in (("cnn1d", 12, 128), ("smallcnn-gray", 5, 256)):
        assert (get_recipe("fast", name).epochs, get_recipe("fast", name).batch_size) == (epochs, batch)
    assert get_recipe("paper", "cnn1d").epochs == get_recipe("paper", "smallcnn-gray").epochs == 60


# ----------------------------------------------------------------------------- end to end
# tiny runs: DRoP leaves some of the few samples per class nearly empty, or empty (an undertrained query
# model), and says so; the runs allow it explicitly (allow_empty_classes, refused by default). Which
# classes depends on the undertrained query model, so _tiny_run asserts that what the run said is what
# its selection did.
def _said_what_it_did(said, saved):
    """The run's warnings against its JSON: the few-samples warning exactly when a class keeps fewer than
    5 (of at least 5), the empty-class warning exactly when one keeps none, a one-step-per-epoch warning
    exactly when the kept samples fit one batch (and each such warning true), and nothing else."""
    from empirical.train import steps_per_epoch

    kept, sizes = np.array(saved["selection"]["class_counts"]), np.array(saved["dataset"]["class_sizes"])
    few = [m for m in said if "keep fewer than 5 samples" in m]
    empty = [m for m in said if "keeps no sample of class" in m]
    one_step = [m for m in said if "is a single optimiser step" in m]
    assert bool(few) == bool(((sizes > 0) & (kept < np.minimum(5, sizes))).any()), (few, kept)
    assert bool(empty) == bool(((sizes > 0) & (kept == 0)).any()), (empty, kept)
    for m in one_step:
        batch, n = map(int, re.search(r"the batch size (\d+) is at least the (\d+) training", m).groups())
        assert steps_per_epoch(n, batch) == 1, m
    final = [m for m in one_step if m.startswith("final training:")]
    assert bool(final) == (steps_per_epoch(int(kept.sum()), saved["final"]["recipe"]["batch_size"]) == 1)
    assert len(few) + len(empty) + len(one_step) == len(said), said


def _tiny_run(tmp_path, dataset, data_dir, model, **kw):
    from empirical.pipeline import RunConfig, run_one

    kw = {"score": "random", "allow_empty_classes": True, **kw}
    c = RunConfig(dataset=dataset, data_dir=str(data_dir), model=model, density=0.5,
                  quota="drop", recipe="fast", epochs=2, query_epochs=1, batch_size=32, device="cpu",
                  precision="fp32", **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run_one(c, 0, tmp_path / "out", progress=False)
    saved = json.loads((tmp_path / "out" / f"{r['run_id']}.json").read_text())
    _said_what_it_did([str(w.message) for w in caught], saved)
    assert saved["status"] == "done" and saved["method"].endswith("+DRoP")
    assert saved["config"]["data_id"] is not None and saved["config"]["data_id"].startswith("sha256:")
    assert len(saved["metrics"]["recalls"]) == 10 and 0 <= saved["metrics"]["accuracy"] <= 1
    assert sum(saved["selection"]["class_counts"]) == saved["quota"]["total"]
    return saved


@need_torch
def test_tiny_runs_on_tiny_files(tmp_path):
    make_mnist1d(tmp_path / "m" / small_datasets.MNIST1D_FILE, n=100, m=60)
    saved = _tiny_run(tmp_path / "a", "mnist1d", tmp_path / "m", "cnn1d")
    assert saved["dataset"]["image"] is False and saved["dataset"]["origin"]["copy"] == "unverified"
    assert saved["channels_last"] is False
    make_idx(tmp_path / "f", n=60, m=40, size=12)
    saved = _tiny_run(tmp_path / "b", "fashion-mnist", tmp_path / "f", "smallcnn-gray")
    assert saved["dataset"]["image"] is True and saved["dataset"]["class_names"][-1] == "Ankle boot"


@need_torch
@need_mnist1d
def test_tiny_run_on_shared_mnist1d(tmp_path):
    saved = _tiny_run(tmp_path, "mnist1d", MNIST1D, "cnn1d", limit_per_class=20)
    assert saved["dataset"]["origin"]["copy"] == "original" and saved["dataset"]["n_train"] == 200
    assert saved["dataset"]["n_val"] + saved["dataset"]["n_test"] == 1000


@need_torch
@need_fashion
def test_tiny_run_on_shared_fashion_mnist(tmp_path):
    saved = _tiny_run(tmp_path, "fashion-mnist", FASHION, "smallcnn-gray", limit_per_class=20,
                      eval_limit_per_class=20)
    assert saved["dataset"]["origin"]["copy"] == "original" and saved["dataset"]["n_train"] == 200
    assert saved["dataset"]["n_val"] == saved["dataset"]["n_test"] == 200


@need_torch
@pytest.mark.parametrize("score", ["el2n", "grand", "coreset"])
def test_query_scores_on_signals(tmp_path, score):
    # GraNd has no closed-form per-layer gradient norms for Conv1d: it falls back to per-sample vmap
    make_mnist1d(tmp_path / "m" / small_datasets.MNIST1D_FILE, n=100, m=60)
    saved = _tiny_run(tmp_path, "mnist1d", tmp_path / "m", "cnn1d", score=score,
                      query_inits=1 if score != "coreset" else None)
    assert saved["method"].startswith({"el2n": "EL2N", "grand": "GraNd", "coreset": "CoreSet"}[score])
