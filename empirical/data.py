"""Datasets as in-memory arrays: CIFAR-10/100 (python pickles, folder or .tar.gz), CIFAR-10's official
binary version (``cifar-10-batches-bin``, folder or .tar.gz), image folders, the CIFAR-10 JPEG copy with
its canonical-order index, MNIST-1D (the ``mnist1d_data.pkl`` pickle: 1-D signals), Fashion-MNIST (its four
official IDX ``.gz`` files: 28x28 grey images), and a synthetic Gaussian mixture.

Every file-based reader records where its data came from (:attr:`ArrayDataset.meta` ``"origin"``): the
CIFAR readers check the published checksums of the official files (binary version: SHA-1 per ``.bin``;
python version: torchvision's md5 per pickle) and say whether the data is the **original** CIFAR, the
**JPEG copy** (README, "Data"), or unverified. :meth:`ArrayDataset.fingerprint` is the sha256 of the
arrays actually used, in canonical order; :func:`data_identity` turns it into the part of a run's
identity that keeps runs on different data apart.

Every reader returns an :class:`ArrayDataset`: images as ``uint8`` arrays of shape (N, C, H, W)
(features as ``float32`` arrays of shape (N, p), 1-D signals as ``float32`` (N, C, L)) and labels as
``int64``. Nothing here needs torch;
:mod:`empirical.augment` moves the arrays to the training device.

Validation split (paper §2.5, official ``vision_data.py``): within each class of the test set, the
first ``n_k // 2`` indices (in the file's order) are validation, the rest are the reported test set.
An image folder with a ``val/`` folder gives its own validation set instead (:attr:`ArrayDataset.x_val`),
and the whole ``test/`` folder is the test set (:func:`read_image_folder`).
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "ArrayDataset", "DATASETS", "FORMATS", "CIFAR10_CLASSES", "load_dataset", "resolve_source",
    "read_cifar_pickle", "read_cifar_binary", "read_image_folder", "read_cifar10_jpeg",
    "make_gaussian_dataset", "validation_split", "data_identity", "CIFAR10_BINARY_SHA1", "CIFAR_PICKLE_MD5",
    "read_mnist1d", "read_fashion_mnist", "read_idx", "MNIST1D_MD5", "FASHION_MNIST_MD5",
    "FASHION_MNIST_CLASSES", "check_image_size", "describe_data", "IMAGE_FOLDER_SPLITS", "MAX_IMAGE_SIDE",
]

from .classes import rank_within_class
from .options import DATASETS, FORMATS

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Per-channel statistics of the CIFAR training sets (official code, data/vision/cifar*.py).
CIFAR_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_PICKLE_FILES = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "batches.meta"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta"),
}
JPEG_INDEX = "cifar10_index_labels_exactsubset.npz"
#: CIFAR-10's official binary version: the folder inside ``cifar-10-binary.tar.gz`` and its batches.
BINARY_FOLDER = "cifar-10-batches-bin"
BINARY_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
BINARY_TEST = ("test_batch.bin",)
#: SHA-1 of each original ``.bin`` file, as published by MXNet's gluon ``CIFAR10`` dataset class.
CIFAR10_BINARY_SHA1 = {
    "data_batch_1.bin": "aadd24acce27caa71bf4b10992e9e7b2d74c2540",
    "data_batch_2.bin": "c0ba65cce70568cd57b4e03e9ac8d2a5367c1795",
    "data_batch_3.bin": "1dd00a74ab1d17a6e7d73e185b69dbf31242f295",
    "data_batch_4.bin": "aab85764eb3584312d3c7f65fd2fd016e36a258e",
    "data_batch_5.bin": "26e2849e66a845b7f1e4614ae70f4889ae604628",
    "test_batch.bin": "67eb016db431130d61cd03c7ad570b013799c88c",
}
#: md5 of each original python-version pickle, as published by torchvision's ``CIFAR10``/``CIFAR100``.
CIFAR_PICKLE_MD5 = {
    "cifar10": {"data_batch_1": "c99cafc152244af753f735de768cd75f",
                "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
                "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
                "data_batch_4": "634d18415352ddfa80567beed471001a",
                "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
                "test_batch": "40351d587109b95175f43aff81a1287e"},
    "cifar100": {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"},
}
_BINARY_RECORD = 1 + 3 * 32 * 32
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".webp", ".tif", ".tiff")


@dataclass
class ArrayDataset:
    """Train and test arrays of one dataset.

    ``x_*``: uint8 (N, C, H, W) images, float32 (N, p) features or (N, C, L) signals (these two are not
    images: no augmentation, no normalisation); ``y_*``: int64 labels in
    ``[0, num_classes)``. ``mean``/``std``: per-channel statistics on the [0, 1] scale used for
    normalisation (images only).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    source: str = ""
    meta: dict = field(default_factory=dict)
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    def __post_init__(self):
        self.y_train = np.asarray(self.y_train, dtype=np.int64)
        self.y_test = np.asarray(self.y_test, dtype=np.int64)
        if (self.x_val is None) != (self.y_val is None):
            raise ValueError(f"{self.name}: x_val and y_val must be given together")
        if self.y_val is not None:
            self.y_val = np.asarray(self.y_val, dtype=np.int64)
            if len(self.x_val) != len(self.y_val):
                raise ValueError(f"{self.name}: validation images and labels differ in length")
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError(f"{self.name}: images and labels differ in length")
        k = len(self.class_names)
        for part, y in (("train", self.y_train), ("test", self.y_test), ("val", self.y_val)):
            if y is not None and y.size and (y.min() < 0 or y.max() >= k):
                raise ValueError(f"{self.name}: {part} labels outside [0, {k})")
        if self.is_image and self.mean is None:
            self.mean, self.std = channel_stats(self.x_train)

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_sizes(self) -> np.ndarray:
        return np.bincount(self.y_train, minlength=self.num_classes)

    def fingerprint(self) -> str:
        """sha256 (hex) of the arrays in canonical order: for train, then test (then the explicit
        validation set, when there is one), the shape, dtype and bytes of the images and of the int64
        labels. Equal arrays give equal fingerprints whatever file layout they were read from (the python
        and binary versions of CIFAR-10 give the same one)."""
        import hashlib

        h = hashlib.sha256()
        extra = () if self.x_val is None else (self.x_val, self.y_val)
        for a in (self.x_train, self.y_train, self.x_test, self.y_test) + extra:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(memoryview(a).cast("B"))
        return h.hexdigest()

    def subset(self, train_idx=None, test_idx=None) -> ArrayDataset:
        """A copy restricted to the given train/test indices (for tests and quick runs)."""
        tr = slice(None) if train_idx is None else np.asarray(train_idx)
        te = slice(None) if test_idx is None else np.asarray(test_idx)
        return ArrayDataset(self.name, self.x_train[tr], self.y_train[tr], self.x_test[te], self.y_test[te],
                            list(self.class_names), self.mean, self.std, self.source, dict(self.meta),
                            self.x_val, self.y_val)


def channel_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 (N, C, H, W) images on the [0, 1] scale."""
    xs = x[: min(len(x), 10000)].astype(np.float64) / 255.0
    return tuple(xs.mean(axis=(0, 2, 3)).tolist()), tuple(np.maximum(xs.std(axis=(0, 2, 3)), 1e-3).tolist())


def validation_split(y_test, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic per-class halves of the test set: ``(val_idx, test_idx)``.

    Within each class the indices are taken in increasing order; the first ``n_k // 2`` go to
    validation, the rest to test (paper §2.5). Both outputs are sorted.

    >>> validation_split([0, 1, 0, 1, 0, 1, 1])
    (array([0, 1, 3]), array([2, 4, 5, 6]))
    """
    y = np.asarray(y_test, dtype=np.int64)
    k = int(y.max()) + 1 if num_classes is None else int(num_classes)
    counts = np.bincount(y, minlength=k)
    is_val = rank_within_class(y, k) < counts[y] // 2
    return np.flatnonzero(is_val), np.flatnonzero(~is_val)


# ----------------------------------------------------------------------------- sources
def _is_targz(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".tar.gz") or path.name.endswith(".tgz"))


def resolve_source(dataset: str, data_dir, data_format: str = "auto") -> tuple[str, Path | None]:
    """Check that ``data_dir`` holds ``dataset`` in a supported layout; return ``(format, path)``.

    Layouts: ``pickle`` (the authors' ``cifar-10-batches-py``/``cifar-100-python`` folder, its
    parent, or the ``.tar.gz``), ``binary`` (CIFAR-10's official binary version: the
    ``cifar-10-batches-bin`` folder of ``.bin`` batches, its parent, or ``cifar-10-binary.tar.gz`` or a
    folder holding it), ``imagefolder`` (``train/<class>/*`` and ``test/<class>/*``, ``val/<class>/*`` or
    both: :func:`read_image_folder`), ``jpeg-index`` (a
    folder with ``cifar10_index_labels_exactsubset.npz`` and the JPEG ``.tar.gz``), ``mnist1d`` (the
    MNIST-1D pickle, or a folder holding ``mnist1d_data.pkl`` or ``mnist1d/``) and ``idx`` (Fashion-MNIST's
    four IDX ``.gz`` files: their folder, its parent or one of them); ``mnist1d`` and ``fashion-mnist`` are
    read from their own format only.
    Raises ValueError naming the problem; reads only file names and archive headers.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if data_format not in FORMATS:
        raise ValueError(f"data_format must be one of {FORMATS}, got {data_format!r}")
    if dataset == "gaussian":
        return "synthetic", None
    if data_dir is None:
        raise ValueError(f"dataset {dataset!r} needs --data-dir")
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise ValueError(f"data_dir does not exist: {str(path)!r}")
    fmt = data_format
    if fmt == "auto":
        fmt = _detect_format(dataset, path)
    if dataset in _OWN_FORMAT and fmt != _OWN_FORMAT[dataset]:
        raise ValueError(f"dataset {dataset!r} is read from format {_OWN_FORMAT[dataset]!r}, not {fmt!r}")
    if fmt == "mnist1d":
        if dataset != "mnist1d":
            raise ValueError(f"format 'mnist1d' is the MNIST-1D pickle, not {dataset!r}")
        _find_mnist1d(path)
    elif fmt == "idx":
        if dataset != "fashion-mnist":
            raise ValueError(f"format 'idx' is Fashion-MNIST's four IDX files, not {dataset!r}")
        _find_idx_files(path)
    elif fmt == "pickle":
        if dataset not in _PICKLE_FILES:
            raise ValueError(f"format 'pickle' is for cifar10/cifar100, not {dataset!r}")
        _find_pickle_files(dataset, path)  # raises if incomplete
    elif fmt == "binary":
        if dataset != "cifar10":
            raise ValueError(f"format 'binary' is CIFAR-10's official binary version, not {dataset!r}")
        _find_binary_files(path)  # raises if incomplete
    elif fmt == "imagefolder":
        _image_folder_splits(path)  # train/ and test/ or val/ (or both)
    elif fmt == "jpeg-index":
        if dataset != "cifar10":
            raise ValueError(f"format 'jpeg-index' is the CIFAR-10 JPEG copy, not {dataset!r}")
        _jpeg_files(path)
    return fmt, path


def _archive_layout(path: Path) -> str | None:
    """``"binary"`` or ``"pickle"`` from the first member names of a CIFAR ``.tar.gz`` (reads only the
    archive's first headers, not the whole stream); None when neither folder name appears."""
    try:
        with tarfile.open(path, "r|gz") as tf:
            for i, m in enumerate(tf):
                top = Path(m.name).parts[0] if Path(m.name).parts else ""
                if top == BINARY_FOLDER or m.name.endswith(".bin"):
                    return "binary"
                if top in ("cifar-10-batches-py", "cifar-100-python"):
                    return "pickle"
                if i >= 8:
                    break
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None


#: Datasets read from one format only (a file or a folder of it).
_OWN_FORMAT = {"mnist1d": "mnist1d", "fashion-mnist": "idx"}


def _detect_format(dataset: str, path: Path) -> str:
    if dataset in _OWN_FORMAT:
        return _OWN_FORMAT[dataset]
    if path.is_file():
        if not _is_targz(path):
            raise ValueError(f"data_dir {str(path)!r} is a file but not a .tar.gz archive "
                             f"(expected the authors' CIFAR python or binary archive, or a folder)")
        return _archive_layout(path) or "pickle"
    if (path / JPEG_INDEX).is_file():
        return "jpeg-index"
    if dataset == "cifar10" and any((c / BINARY_TRAIN[0]).is_file() for c in (path, path / BINARY_FOLDER)):
        return "binary"
    if dataset == "cifar10" and any(_archive_layout(a) == "binary" for a in sorted(path.glob("*.tar.gz"))):
        return "binary"
    if (path / "train").is_dir() and (dataset == "imagefolder"
                                      or any((path / s).is_dir() for s in IMAGE_FOLDER_SPLITS)):
        return "imagefolder"   # resolve_source names a missing held-out folder
    if dataset in _PICKLE_FILES:
        return "pickle"
    raise ValueError(f"cannot recognise the layout of {str(path)!r} for dataset {dataset!r}: expected "
                     f"train/<class>/ and test/<class>/ (or val/<class>/) folders")


# ----------------------------------------------------------------------------- CIFAR pickles
def _unpickle(raw: bytes, what: str) -> dict:
    try:
        obj = pickle.loads(raw, encoding="bytes")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{what} is not a CIFAR python pickle ({exc})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{what} is not a CIFAR python pickle (got {type(obj).__name__})")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _find_pickle_files(dataset: str, path: Path) -> dict[str, object]:
    """Map each needed member name to a file path (folder) or a tar member (archive)."""
    folder, train, test, meta = _PICKLE_FILES[dataset]
    names = train + test
    if path.is_file():
        if not _is_targz(path):
            raise ValueError(f"data_dir {str(path)!r} is not a .tar.gz archive")
        try:
            with tarfile.open(path, "r:gz") as tf:
                members = {Path(m.name).name: m.name for m in tf.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ValueError(f"data_dir {str(path)!r} is not a readable .tar.gz archive ({exc})") from exc
        missing = [n for n in names if n not in members]
        if missing:
            raise ValueError(f"archive {str(path)!r} lacks the {dataset} python batches {missing} "
                             f"(expected the authors' {folder} archive)")
        return {n: members[n] for n in names + [meta] if n in members}
    for cand in (path, path / folder):
        if all((cand / n).is_file() for n in names):
            return {n: cand / n for n in names + [meta] if (cand / n).is_file()}
    for arc in sorted(path.glob("*.tar.gz")):
        try:
            return {"__archive__": arc, **_find_pickle_files(dataset, arc)}
        except ValueError:
            continue
    raise ValueError(f"no {dataset} python batches in {str(path)!r}: expected {names} in it or in "
                     f"{folder}/, or the .tar.gz")


def read_cifar_pickle(dataset: str, path) -> ArrayDataset:
    """Read CIFAR-10/100 as distributed by the authors (python pickles), from a folder or .tar.gz.

    Images are stored row-major as 3072 bytes (1024 R, 1024 G, 1024 B), i.e. reshape to
    (N, 3, 32, 32). CIFAR-100 uses the 100 ``fine_labels``.
    """
    if dataset not in _PICKLE_FILES:
        raise ValueError(f"dataset must be 'cifar10' or 'cifar100' for pickles, got {dataset!r}")
    path = Path(path)
    files = _find_pickle_files(dataset, path)
    archive = files.pop("__archive__", path if path.is_file() else None)
    _, train, test, meta = _PICKLE_FILES[dataset]
    label_key = "labels" if dataset == "cifar10" else "fine_labels"
    blobs = {}
    if archive is not None:
        with tarfile.open(archive, "r:gz") as tf:
            for n, member in files.items():
                blobs[n] = tf.extractfile(member).read()
    else:
        blobs = {n: Path(p).read_bytes() for n, p in files.items()}

    def load(names):
        xs, ys = [], []
        for n in names:
            d = _unpickle(blobs[n], n)
            if "data" not in d or label_key not in d:
                raise ValueError(f"{n}: CIFAR pickle lacks 'data' or {label_key!r}")
            xs.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d[label_key], dtype=np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    x_tr, y_tr = load(train)
    x_te, y_te = load(test)
    k = 10 if dataset == "cifar10" else 100
    names = list(CIFAR10_CLASSES) if dataset == "cifar10" else [str(i) for i in range(k)]
    if meta in blobs:
        m = _unpickle(blobs[meta], meta)
        key = "label_names" if dataset == "cifar10" else "fine_label_names"
        if key in m and len(m[key]) == k:
            names = [v.decode() if isinstance(v, bytes) else str(v) for v in m[key]]
    mean, std = CIFAR_STATS[dataset]
    origin = _checksum_origin(blobs, CIFAR_PICKLE_MD5[dataset], "md5", f"{dataset} python version")
    return ArrayDataset(dataset, np.ascontiguousarray(x_tr), y_tr, np.ascontiguousarray(x_te), y_te, names,
                        mean, std, source=f"pickle:{path}", meta={"origin": origin})


# ----------------------------------------------------------------------------- CIFAR-10 binary version
def _find_binary_files(path: Path) -> dict[str, object]:
    """Map each ``.bin`` batch (and ``batches.meta.txt`` when present) to a file path; for an archive,
    ``{"__archive__": path}`` after a look at its first headers (:func:`_read_blobs` reads it in one pass
    and names any batch it lacks)."""
    names = list(BINARY_TRAIN + BINARY_TEST)
    if path.is_file():
        if not _is_targz(path):
            raise ValueError(f"data_dir {str(path)!r} is not a .tar.gz archive")
        if _archive_layout(path) != "binary":
            raise ValueError(f"archive {str(path)!r} is not CIFAR-10's binary version (expected the "
                             f"authors' cifar-10-binary.tar.gz, folder {BINARY_FOLDER}/)")
        return {"__archive__": path}
    for cand in (path, path / BINARY_FOLDER):
        if all((cand / n).is_file() for n in names):
            return {n: cand / n for n in names + ["batches.meta.txt"] if (cand / n).is_file()}
    for arc in sorted(path.glob("*.tar.gz")):
        if _archive_layout(arc) == "binary":
            return {"__archive__": arc}
    raise ValueError(f"no CIFAR-10 binary batches in {str(path)!r}: expected {names} in it or in "
                     f"{BINARY_FOLDER}/, or cifar-10-binary.tar.gz")


def _read_blobs(files: dict, wanted=()) -> dict[str, bytes]:
    """The bytes of each entry of a ``_find_*_files`` map; for ``{"__archive__": path}``, of each member
    whose base name is in ``wanted``, read in one pass over the compressed stream."""
    files = dict(files)
    archive = files.pop("__archive__", None)
    if archive is None:
        return {n: Path(p).read_bytes() for n, p in files.items()}
    blobs = {}
    try:
        with tarfile.open(archive, "r|gz") as tf:
            for m in tf:
                name = Path(m.name).name
                if m.isfile() and name in wanted and name not in blobs:
                    blobs[name] = tf.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{str(archive)!r} is not a readable .tar.gz archive ({exc})") from exc
    return blobs


def _checksum_origin(blobs: dict, published: dict, algorithm: str, what: str) -> dict:
    """Compare the ``published`` checksums (name -> hex) with those of ``blobs``: the ``origin`` record
    of :attr:`ArrayDataset.meta` -- ``"copy": "original"`` when every file matches, else
    ``"unverified"`` with the names that differ."""
    import hashlib

    differ = sorted(n for n, want in published.items()
                    if n not in blobs or hashlib.new(algorithm, blobs[n]).hexdigest() != want)
    rec = {"copy": "original" if not differ else "unverified", "checked": what,
           "checksum": algorithm, "files_checked": len(published)}
    if differ:
        rec["files_differing"] = differ
    return rec


def read_cifar_binary(path) -> ArrayDataset:
    """Read CIFAR-10's official **binary version** (``cifar-10-batches-bin``: a folder of ``.bin``
    batches, its parent, or ``cifar-10-binary.tar.gz``), in canonical order (batches 1 to 5, then the
    test batch; the order of the python version and of torchvision).

    Each batch is 10 000 records of 3 073 bytes: one label byte, then 3 072 pixel bytes (1 024 red,
    1 024 green, 1 024 blue, each 32x32 row-major), i.e. (N, 3, 32, 32) as they stand. Each file's
    SHA-1 is compared with :data:`CIFAR10_BINARY_SHA1`; ``meta["origin"]["copy"]`` is ``"original"``
    when all six match.
    """
    path = Path(path)
    blobs = _read_blobs(_find_binary_files(path), wanted=BINARY_TRAIN + BINARY_TEST + ("batches.meta.txt",))
    missing = [n for n in BINARY_TRAIN + BINARY_TEST if n not in blobs]
    if missing:
        raise ValueError(f"{str(path)!r} lacks the CIFAR-10 binary batches {missing} (expected the authors' "
                         f"cifar-10-binary.tar.gz, folder {BINARY_FOLDER}/)")

    def load(names):
        xs, ys = [], []
        for n in names:
            raw = np.frombuffer(blobs[n], dtype=np.uint8)
            if raw.size % _BINARY_RECORD:
                raise ValueError(f"{n}: {raw.size} bytes is not a whole number of {_BINARY_RECORD}-byte "
                                 f"CIFAR-10 binary records")
            rec = raw.reshape(-1, _BINARY_RECORD)
            if rec.size and rec[:, 0].max() > 9:
                raise ValueError(f"{n}: label byte {int(rec[:, 0].max())} outside 0-9: not a CIFAR-10 "
                                 f"binary batch")
            xs.append(rec[:, 1:].reshape(-1, 3, 32, 32))
            ys.append(rec[:, 0].astype(np.int64))
        return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)

    x_tr, y_tr = load(BINARY_TRAIN)
    x_te, y_te = load(BINARY_TEST)
    names = list(CIFAR10_CLASSES)
    if "batches.meta.txt" in blobs:
        listed = [v.strip() for v in blobs["batches.meta.txt"].decode("utf-8", "replace").splitlines()
                  if v.strip()]
        if len(listed) == 10:
            names = listed
    origin = _checksum_origin(blobs, CIFAR10_BINARY_SHA1, "sha1", "CIFAR-10 binary version")
    mean, std = CIFAR_STATS["cifar10"]
    return ArrayDataset("cifar10", x_tr, y_tr, x_te, y_te, names, mean, std, source=f"binary:{path}",
                        meta={"origin": origin})


# ----------------------------------------------------------------------------- decoding
def _decode(raw: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image as uint8 (H, W, 3); resized to ``size`` = (H, W) (bilinear) when given and different."""
    return _decode_sized(raw, size)[0]


def _decode_sized(raw: bytes, size: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """``(image, (H, W) as stored)``: :func:`_decode` and the size the file held before any resize."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as im:
        im = im.convert("RGB")
        stored = (im.height, im.width)
        if size is not None and stored != tuple(size):
            im = im.resize((int(size[1]), int(size[0])), getattr(Image, "Resampling", Image).BILINEAR)
        return np.asarray(im), stored


def _decode_all(blobs: list[bytes], what: str, size: tuple[int, int] | None = None,
                stored: Counter | None = None) -> np.ndarray:
    """Decode images (Pillow releases the GIL, so two threads help) into uint8 (N, 3, H, W).

    ``size`` = (H, W): resize every image of another size to it (bilinear); ``stored``: a Counter that
    receives the (H, W) of each image as stored, before any resize."""
    try:
        import PIL  # noqa: F401
    except ImportError as exc:  # pragma: no cover - pillow is in the empirical extra
        raise ValueError("reading image files needs Pillow: pip install pillow") from exc
    with ThreadPoolExecutor(max_workers=2) as pool:
        pairs = list(pool.map(lambda raw: _decode_sized(raw, size), blobs, chunksize=256))
    if stored is not None:
        stored.update(s for _, s in pairs)
    imgs = [im for im, _ in pairs]
    if not imgs:
        h, w = size if size is not None else (32, 32)
        return np.zeros((0, 3, h, w), dtype=np.uint8)
    shapes = {im.shape for im in imgs}
    if len(shapes) != 1:
        raise ValueError(f"{what}: images differ in size {sorted(shapes)[:4]} (height, width, channels); "
                         "resize them to one size first, or let the reader resize them (image_size=(H, W), "
                         "droplab empirical run --image-size H W)")
    return np.ascontiguousarray(np.stack(imgs).transpose(0, 3, 1, 2))


def _unreadable_image(files, exc: Exception) -> str:
    """A one-line message naming the first of ``files`` that cannot be read or decoded (called after a
    batch decode failed with ``exc``)."""
    import re

    for f in files:
        try:
            _decode(f.read_bytes())
        except Exception as e:  # noqa: BLE001 - any read or decode error marks the culprit
            exc, culprit = e, f
            break
    else:
        culprit = "one of the files"
    why = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc))
    return f"cannot read the image {str(culprit)!r}: {type(exc).__name__}: {why}"


#: Largest side :func:`read_image_folder` resizes to (a guard against a typo such as 3200 for 32).
MAX_IMAGE_SIDE = 4096


def check_image_size(image_size, name: str = "image_size") -> tuple[int, int] | None:
    """``image_size`` as ``(H, W)``: None stays None, one positive integer ``n`` means ``(n, n)``, two mean
    ``(H, W)``; each side in [1, :data:`MAX_IMAGE_SIDE`].

    Parameters
    ----------
    image_size : int or sequence of int, optional
        The size asked for: one side (a square) or (height, width); None for no resize.
    name : str
        How the error messages name it (e.g. ``"image_size (--image-size)"``).

    Returns
    -------
    tuple of (int, int) or None
        ``(height, width)``.

    Raises
    ------
    TypeError
        For anything but one or two integers (booleans included), naming ``name`` and the value.
    ValueError
        For a side outside [1, :data:`MAX_IMAGE_SIDE`].

    Examples
    --------
    >>> check_image_size(32), check_image_size([28, 32]), check_image_size(None)
    ((32, 32), (28, 32), None)
    """
    if image_size is None:
        return None
    vals = [image_size] if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool) \
        else image_size
    if isinstance(vals, (str, bytes)) or not hasattr(vals, "__len__"):
        raise TypeError(f"{name} must be an int or (height, width), got {image_size!r}")
    vals = list(vals)
    if len(vals) not in (1, 2) or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
                                      for v in vals):
        raise TypeError(f"{name} must be one or two integers (height, width), got {image_size!r}")
    if any(not 1 <= v <= MAX_IMAGE_SIDE for v in vals):
        raise ValueError(f"{name} must hold sides in [1, {MAX_IMAGE_SIDE}] pixels, got {image_size!r}")
    h, w = (vals * 2)[:2]
    return int(h), int(w)


#: The held-out folders of an image folder, in the order they are looked for.
IMAGE_FOLDER_SPLITS = ("val", "test")


def _image_folder_splits(path: Path) -> tuple[str, ...]:
    """The folders of an image-folder layout that hold images: ``train`` and whichever of ``val`` and
    ``test`` exist (at least one); ValueError naming the folder otherwise."""
    if not (path / "train").is_dir():
        raise ValueError(f"image-folder layout needs {str(path / 'train')!r}/<class>/ (and test/<class>/ "
                         "or val/<class>/), but there is no train/ folder")
    held = tuple(s for s in IMAGE_FOLDER_SPLITS if (path / s).is_dir())
    if not held:
        raise ValueError(f"image folder {str(path)!r} has train/ but no held-out folder: add test/<class>/ "
                         "(its first half of each class is validation, the rest the test set), val/<class>/ "
                         "(split likewise), or both (val/ is validation, test/ the test set)")
    return ("train",) + held


def read_image_folder(path, class_names=None, image_size=None) -> ArrayDataset:
    """Read an image folder: ``train/<class>/*`` and held-out images in ``test/<class>/*``, ``val/<class>/*``
    or both (any Pillow-readable images). Files within a class are read in sorted name order.

    Parameters
    ----------
    path : str or Path
        The folder holding ``train/`` and ``test/`` and/or ``val/``.
    class_names : list of str, optional
        Class ids follow this order when it names exactly the folders of ``train/`` (e.g. the CIFAR-10
        order); else sorted folder names.
    image_size : int or (int, int), optional
        Resize every image whose size differs to ``(H, W)`` (one integer: a square), bilinear. Without
        it the images must all have one size.

    Returns
    -------
    ArrayDataset
        uint8 (N, 3, H, W) images. The held-out folders:

        * ``val/`` and ``test/``: ``val/`` is the validation set (:attr:`ArrayDataset.x_val`) and all of
          ``test/`` the test set;
        * ``test/`` only: the first half of each class of ``test/`` is validation, the rest the test set
          (:func:`validation_split`, the paper's protocol);
        * ``val/`` only: ``val/`` is split in the same way (it is the only held-out data).

        ``meta["split"]`` says in words which of these applied and ``meta["resize"]`` what was resized
        (``{"to": [H, W], "resized": n, "of": N, "stored_sizes": {"HxW": count}}``), or None.

    Raises
    ------
    ValueError
        For a layout without ``train/`` or without a held-out folder, and for a class with no images in
        any folder read (an empty or missing class folder: every such folder is named, before any
        decoding); for images of several sizes without ``image_size``, or an unreadable image (named).
    """
    path = Path(path)
    size = check_image_size(image_size)
    splits = _image_folder_splits(path)
    found = sorted(p.name for p in (path / "train").iterdir() if p.is_dir())
    if class_names is None or set(found) != set(class_names):
        class_names = found
    if not class_names:
        raise ValueError(f"no class folders in {str(path / 'train')!r}")
    ids = {c: i for i, c in enumerate(class_names)}
    listed, empty = {}, []
    for split in splits:  # list every split first: an empty class is named before any decoding
        files, labels = [], []
        for c in class_names:
            d = path / split / c
            fs = sorted(p for p in d.iterdir() if p.suffix.lower() in _IMAGE_EXT) if d.is_dir() else []
            if not fs:
                empty.append(f"{split}/{c} ({'no images' if d.is_dir() else 'missing'})")
            files += fs
            labels += [ids[c]] * len(fs)
        if not files:
            raise ValueError(f"no images under {str(path / split)!r}")
        listed[split] = (files, labels)
    if empty:
        shown = ", ".join(empty[:20]) + (f" and {len(empty) - 20} more" if len(empty) > 20 else "")
        raise ValueError(f"image folder {str(path)!r}: empty class folder(s) {shown}; every class needs "
                         "training and held-out images (a class with none would train on nothing, or have "
                         "no validation or test recall): add its images or remove the class folder")
    parts, stored = {}, Counter()
    for split, (files, labels) in listed.items():
        try:
            x = _decode_all([f.read_bytes() for f in files], f"{path}/{split}", size, stored)
        except (OSError, ValueError, SyntaxError) as exc:  # PIL.UnidentifiedImageError is an OSError
            if isinstance(exc, ValueError) and str(exc).startswith((f"{path}/{split}:", "reading image")):
                raise  # _decode_all's own messages (sizes differ, no Pillow) already say what is wrong
            raise ValueError(_unreadable_image(files, exc)) from exc
        parts[split] = (x, np.array(labels))
    shapes = {s: parts[s][0].shape[2:] for s in parts}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"image folder {str(path)!r}: the folders' images differ in size "
                         f"{ {s: tuple(v) for s, v in shapes.items()} } (height, width); resize them to one "
                         "size, or let the reader resize them (image_size=(H, W), droplab empirical run "
                         "--image-size H W)")
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts.get("test", parts.get("val"))
    x_val = y_val = None
    if "test" in parts and "val" in parts:
        x_val, y_val = parts["val"]
        split_note = ("validation: val/ (all of it); test: test/ (all of it)")
    elif "test" in parts:
        split_note = ("validation: the first half of each class of test/ (no val/ folder); test: the rest "
                      "of test/")
    else:
        split_note = ("validation: the first half of each class of val/ (no test/ folder); test: the rest "
                      "of val/")
    n = sum(stored.values())
    resize = None
    if size is not None:
        changed = sum(c for s, c in stored.items() if s != size)
        resize = {"to": list(size), "resized": int(changed), "of": int(n), "resample": "bilinear",
                  "stored_sizes": {f"{h}x{w}": int(c) for (h, w), c in sorted(stored.items())}}
    return ArrayDataset("imagefolder", x_tr, y_tr, x_te, y_te, list(class_names),
                        source=f"imagefolder:{path}",
                        meta={"origin": {"copy": "unverified", "checked": "image folder"},
                              "split": split_note, "resize": resize},
                        x_val=x_val, y_val=y_val)


def describe_data(ds: ArrayDataset) -> list[str]:
    """What a reader did to the data that a user should know, one line each: the held-out split of an
    image folder (``meta["split"]``) and any resize (``meta["resize"]``); empty for other data."""
    lines = []
    if ds.meta.get("split"):
        lines.append(f"data {ds.source}: {ds.meta['split']}")
    rs = ds.meta.get("resize")
    if rs:
        stored = ", ".join(f"{k} ({v})" for k, v in rs["stored_sizes"].items())
        lines.append(f"data {ds.source}: resized {rs['resized']} of {rs['of']} images to "
                     f"{rs['to'][0]}x{rs['to'][1]} (height x width, {rs['resample']}); stored sizes: "
                     f"{stored}")
    return lines


def _jpeg_files(path: Path) -> tuple[Path, Path]:
    index = path / JPEG_INDEX
    tars = sorted(path.glob("*.tar.gz")) + sorted(path.glob("*.tgz"))
    if not index.is_file() or not tars:
        raise ValueError(f"{str(path)!r} must hold {JPEG_INDEX} and the JPEG .tar.gz")
    return index, tars[0]


def decoded_cache_path(tar: Path, index: Path, cache_dir=None) -> Path:
    """Where the decoded uint8 arrays of one JPEG archive are cached: ``cache_dir`` (default
    ``$DROPLAB_CACHE`` or ``~/.cache/droplab``) / ``cifar10-jpeg-<sha256 of archive and index>.npz``.
    Keyed by content, so a changed archive never reuses a stale cache."""
    import hashlib
    import os

    h = hashlib.sha256()
    for f in (tar, index):
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    root = Path(cache_dir or os.environ.get("DROPLAB_CACHE") or Path.home() / ".cache" / "droplab")
    return root / f"cifar10-jpeg-{h.hexdigest()[:16]}.npz"


def _read_decoded_cache(cache: Path):
    try:
        with np.load(cache, allow_pickle=False) as z:
            return z["x_train"], z["x_test"]
    except (OSError, ValueError, KeyError):  # unreadable or partial: decode again
        return None


def read_cifar10_jpeg(path, train_indices=None, test_indices=None, cache: bool = True,
                      cache_dir=None) -> ArrayDataset:
    """Read the CIFAR-10 JPEG copy (``shared/data/cifar10``): a tar.gz of ``train|test/<class>/NNNN.jpg``
    plus an npz index mapping each canonical CIFAR-10 index to its tar member.

    ``train_indices``/``test_indices`` (canonical indices) select a subset. The result is in
    canonical order (that of the original pickles), with the original labels. With ``cache`` the
    decoded uint8 arrays of the whole archive are kept at :func:`decoded_cache_path` (written
    atomically by the first full read, 184 MB), which turns a ~15 s decode into a fraction of a
    second; a subset read without a cache decodes only its own images.
    """
    index, tar = _jpeg_files(Path(path))
    idx = np.load(index, allow_pickle=False)
    for key in ("train_jpeg_path", "test_jpeg_path", "y_train", "y_test"):
        if key not in idx:
            raise ValueError(f"{str(index)!r} lacks the key {key!r}")
    sel = {}
    for split, chosen in (("train", train_indices), ("test", test_indices)):
        paths = np.asarray(idx[f"{split}_jpeg_path"]).astype(str)
        ii = np.arange(paths.size) if chosen is None else np.asarray(chosen, dtype=np.int64)
        sel[split] = (ii, paths[ii], np.asarray(idx[f"y_{split}"], dtype=np.int64)[ii], paths)
    cache_file = decoded_cache_path(tar, index, cache_dir) if cache else None
    arrays = _read_decoded_cache(cache_file) if cache_file is not None and cache_file.is_file() else None
    if arrays is None and cache_file is not None and train_indices is None and test_indices is None:
        # a full read decodes the whole archive once, in canonical order, and caches it
        full = _decode_members(tar, {s: sel[s][3] for s in sel})
        arrays = (full["train"], full["test"])
        from gaussian_theory.atomic import atomic_write

        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cache_file, lambda tmp: np.savez(tmp, x_train=arrays[0], x_test=arrays[1]))
        except OSError:  # an unwritable cache folder only costs speed
            pass
    if arrays is not None:
        x = {"train": arrays[0][sel["train"][0]], "test": arrays[1][sel["test"][0]]}
    else:
        x = _decode_members(tar, {s: sel[s][1] for s in sel})
    names = list(CIFAR10_CLASSES)
    if "label_names" in idx:
        ln = [str(v) for v in np.asarray(idx["label_names"]).tolist()]
        if len(ln) == 10:
            names = ln
    mean, std = CIFAR_STATS["cifar10"]
    return ArrayDataset("cifar10", np.ascontiguousarray(x["train"]), sel["train"][2],
                        np.ascontiguousarray(x["test"]), sel["test"][2], names, mean, std,
                        source=f"jpeg-index:{path}",
                        meta={"train_indices": sel["train"][0], "test_indices": sel["test"][0],
                              "origin": {"copy": "jpeg", "checked": "CIFAR-10 JPEG copy (quality 75, 4:2:0)",
                                         "note": "JPEG-compressed pixels, exact labels and order"}})


def _decode_members(tar: Path, members: dict) -> dict:
    """Decode the named tar members: ``{split: array of member names}`` -> ``{split: uint8 images}``."""
    wanted = {p: None for names in members.values() for p in names}
    try:
        with tarfile.open(tar, "r:gz") as tf:
            for m in tf:
                if m.isfile() and m.name in wanted:
                    wanted[m.name] = tf.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{str(tar)!r} is not a readable .tar.gz archive ({exc})") from exc
    missing = [p for p, b in wanted.items() if b is None]
    if missing:
        raise ValueError(f"{str(tar)!r} lacks {len(missing)} indexed images, e.g. {missing[0]!r}")
    keys = list(wanted)
    decoded = _decode_all([wanted[p] for p in keys], str(tar))
    pos = {p: i for i, p in enumerate(keys)}
    return {s: decoded[[pos[p] for p in names]] for s, names in members.items()}


# ----------------------------------------------------------------------------- MNIST-1D
#: The MNIST-1D pickle (Greydanus 2020, ``greydanus/mnist1d``) and the md5 of the canonical file.
MNIST1D_FILE = "mnist1d_data.pkl"
MNIST1D_MD5 = "5bf44b67062b653caea0043bc236811a"
_MNIST1D_KEYS = ("x", "y", "x_test", "y_test")
#: The only globals a MNIST-1D pickle may name: numpy's array reconstruction (numpy 1 and 2 spellings).
_SAFE_PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                        ("numpy", "ndarray"), ("numpy", "dtype")}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings and numpy arrays only: any other global (a class or a
    function that unpickling would call) is refused, so a crafted file cannot run code."""

    def find_class(self, module, name):
        if (module, name) not in _SAFE_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed (numpy arrays only)")
        if module.startswith("numpy.core."):  # numpy >= 2 keeps these in numpy._core (no deprecation warning)
            try:
                return super().find_class("numpy._core." + module[len("numpy.core."):], name)
            except (ImportError, AttributeError):
                pass
        return super().find_class(module, name)


def _find_mnist1d(path: Path) -> Path:
    """The MNIST-1D pickle: ``path`` itself (a file), or ``mnist1d_data.pkl`` in ``path`` or in
    ``path/mnist1d``, or the only ``.pkl`` file in ``path``."""
    if path.is_file():
        return path
    for cand in (path / MNIST1D_FILE, path / "mnist1d" / MNIST1D_FILE):
        if cand.is_file():
            return cand
    pkls = sorted(p for p in path.glob("*.pkl") if p.is_file())
    if len(pkls) == 1:
        return pkls[0]
    raise ValueError(f"no MNIST-1D pickle in {str(path)!r}: expected {MNIST1D_FILE} in it or in mnist1d/ "
                     f"(or pass the file as data_dir)")


def read_mnist1d(path) -> ArrayDataset:
    """Read MNIST-1D (``mnist1d_data.pkl``: a pickled dict with ``x`` (N, 40) and ``x_test`` (M, 40)
    float signals and their labels ``y``, ``y_test`` in 0-9; ``t`` and ``templates`` are not used).

    ``path``: the pickle, or a folder holding it (:func:`_find_mnist1d`). Only numpy arrays and plain
    containers are unpickled (:class:`_ArrayUnpickler`); the keys, shapes and dtypes are checked
    (ValueError naming the problem). Returns float32 signals of shape (N, 1, L) (one channel, the
    layout of :class:`empirical.models.CNN1d`; ``mlp``/``linear`` flatten them), int64 labels, class
    names ``"0"`` .. ``"9"``. The signals are used as they are (the file's are already about zero-mean,
    unit-variance); no augmentation applies to them. ``meta["origin"]["copy"]`` is ``"original"`` when
    the file's md5 is :data:`MNIST1D_MD5`.
    """
    import hashlib

    file = _find_mnist1d(Path(path).expanduser())
    raw = file.read_bytes()
    try:
        obj = _ArrayUnpickler(io.BytesIO(raw)).load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise ValueError(f"{str(file)!r} is not a MNIST-1D pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{str(file)!r} is not a MNIST-1D pickle: expected a dict with keys "
                         f"{list(_MNIST1D_KEYS)}, got {type(obj).__name__}")
    missing = [k for k in _MNIST1D_KEYS if k not in obj]
    if missing:
        raise ValueError(f"{str(file)!r} is not a MNIST-1D pickle: it lacks the keys {missing} (has "
                         f"{sorted(map(str, obj))[:10]}; expected {list(_MNIST1D_KEYS)})")
    arrays = {}
    for split, xk, yk in (("train", "x", "y"), ("test", "x_test", "y_test")):
        x, y = obj[xk], obj[yk]
        if not (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind == "f" and x.shape[1] >= 1):
            raise ValueError(f"{str(file)!r}: {xk!r} must be a 2-D float array (N, L), got "
                             f"{type(x).__name__} {getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}")
        if not (isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iu"):
            raise ValueError(f"{str(file)!r}: {yk!r} must be a 1-D integer array, got "
                             f"{type(y).__name__} {getattr(y, 'dtype', '')} {getattr(y, 'shape', '')}")
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"{str(file)!r}: {xk!r} has {len(x)} signals and {yk!r} {len(y)} labels "
                             f"(they must be equal and non-zero)")
        if not np.isfinite(x).all():
            raise ValueError(f"{str(file)!r}: {xk!r} holds non-finite values")
        if y.min() < 0 or y.max() > 9:
            raise ValueError(f"{str(file)!r}: {yk!r} holds labels outside 0-9 "
                             f"({int(y.min())}..{int(y.max())})")
        arrays[split] = (np.ascontiguousarray(x, dtype=np.float32)[:, None, :], y.astype(np.int64))
    if arrays["train"][0].shape[2] != arrays["test"][0].shape[2]:
        raise ValueError(f"{str(file)!r}: train and test signals differ in length "
                         f"({arrays['train'][0].shape[2]} and {arrays['test'][0].shape[2]})")
    ok = hashlib.md5(raw).hexdigest() == MNIST1D_MD5
    origin = {"copy": "original" if ok else "unverified", "checked": "MNIST-1D pickle (greydanus/mnist1d)",
              "checksum": "md5", "files_checked": 1}
    if not ok:
        origin["files_differing"] = [file.name]
    (x_tr, y_tr), (x_te, y_te) = arrays["train"], arrays["test"]
    return ArrayDataset("mnist1d", x_tr, y_tr, x_te, y_te, [str(k) for k in range(10)],
                        source=f"mnist1d:{file}", meta={"origin": origin})


# ----------------------------------------------------------------------------- Fashion-MNIST (IDX)
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")
#: The four official IDX files of Fashion-MNIST: (images, labels) of train, then of test.
FASHION_MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                       "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
#: md5 of each official ``.gz`` file, as published by torchvision's ``FashionMNIST``.
FASHION_MNIST_MD5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                     "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                     "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                     "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
#: IDX magic numbers of unsigned-byte data: 0x0803 (3-D: images), 0x0801 (1-D: labels).
IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC = 2051, 2049


def _find_idx_files(path: Path) -> dict[str, Path]:
    """Each of the four Fashion-MNIST ``.gz`` files in ``path``, in ``path/fashion-mnist``, or, for a
    ``path`` that is one of them, beside it."""
    names = [n for pair in FASHION_MNIST_FILES.values() for n in pair]
    cands = (path.parent,) if path.is_file() else (path, path / "fashion-mnist")
    for cand in cands:
        if all((cand / n).is_file() for n in names):
            return {n: cand / n for n in names}
    where = cands[0]
    missing = [n for n in names if not (where / n).is_file()]
    raise ValueError(f"no Fashion-MNIST IDX files in {str(where)!r}: it lacks {missing} (expected the four "
                     f"official files {names})")


def read_idx(raw: bytes, magic: int, what: str) -> np.ndarray:
    """Parse one gzip-compressed IDX file (``raw``: the ``.gz`` bytes) of unsigned bytes: a big-endian
    header (``magic``, then one uint32 per dimension), then the data. Returns a uint8 array of the
    header's shape; ValueError naming ``what`` for a bad gzip stream, another magic number, or a file
    whose size is not that of its header.

    >>> import gzip
    >>> read_idx(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])), 2049, "labels")
    array([7, 8, 9], dtype=uint8)
    """
    import gzip
    import zlib

    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{what}: not a readable gzip file ({type(exc).__name__}: {exc})") from exc
    if len(data) < 4:
        raise ValueError(f"{what}: {len(data)} bytes is too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{what}: IDX magic number {found}, expected {magic} "
                         f"({'images' if magic == IDX_IMAGES_MAGIC else 'labels'}, unsigned bytes)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{what}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims, dtype=np.int64))
    held = len(data) - header
    if held != size:
        raise ValueError(f"{what}: the header says {dims} ({size} bytes of data) but the file holds {held}: "
                         f"{'truncated' if held < size else 'trailing bytes'}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()  # writable, for torch


def _uint8_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Exact per-channel mean and std of all of uint8 (N, C, H, W) images on the [0, 1] scale (from a
    histogram of the byte values: no float copy of the images)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = np.bincount(np.ascontiguousarray(x[:, c]).ravel(), minlength=256).astype(np.float64)
        n = counts.sum()
        m = float(counts @ v / n)
        means.append(m)
        stds.append(max(float(np.sqrt(max(counts @ (v * v) / n - m * m, 0.0))), 1e-3))
    return tuple(means), tuple(stds)


def read_fashion_mnist(path) -> ArrayDataset:
    """Read Fashion-MNIST from its four official IDX ``.gz`` files (numpy and gzip only): uint8 images
    (N, 1, 28, 28), int64 labels, the ten class names (:data:`FASHION_MNIST_CLASSES`), per-channel
    mean/std of the training images. ``path``: the folder of the four files, its parent (holding
    ``fashion-mnist/``) or one of the files. ``meta["origin"]["copy"]`` is ``"original"`` when every
    file's md5 is the published one (:data:`FASHION_MNIST_MD5`).
    """
    path = Path(path).expanduser()
    files = _find_idx_files(path)
    blobs = {n: f.read_bytes() for n, f in files.items()}
    parts = {}
    for split, (img_name, lab_name) in FASHION_MNIST_FILES.items():
        x = read_idx(blobs[img_name], IDX_IMAGES_MAGIC, str(files[img_name]))
        y = read_idx(blobs[lab_name], IDX_LABELS_MAGIC, str(files[lab_name]))
        if len(x) != len(y):
            raise ValueError(f"{str(files[img_name])!r} holds {len(x)} images but {str(files[lab_name])!r} "
                             f"{len(y)} labels")
        if y.size and y.max() > 9:
            raise ValueError(f"{str(files[lab_name])!r}: label {int(y.max())} outside 0-9")
        parts[split] = (np.ascontiguousarray(x[:, None]), y.astype(np.int64))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise ValueError(f"Fashion-MNIST train and test images differ in size ({x_tr.shape[2:]} and "
                         f"{x_te.shape[2:]})")
    if len(x_tr) == 0:
        raise ValueError(f"{str(files[FASHION_MNIST_FILES['train'][0]])!r} holds no images")
    origin = _checksum_origin(blobs, FASHION_MNIST_MD5, "md5", "Fashion-MNIST IDX files")
    mean, std = _uint8_stats(x_tr)
    folder = files[FASHION_MNIST_FILES["train"][0]].parent
    return ArrayDataset("fashion-mnist", x_tr, y_tr, x_te, y_te, list(FASHION_MNIST_CLASSES), mean, std,
                        source=f"idx:{folder}", meta={"origin": origin})


# ----------------------------------------------------------------------------- synthetic
def gaussian_parameters(num_classes: int = 4, dim: int = 8, separation: float = 3.0, std_ratio: float = 2.0):
    r"""Means on scaled coordinate axes, :math:`\mu_k=s\,e_k` (:math:`K\le p`), and isotropic
    standard deviations rising geometrically from 1 to ``std_ratio``: class 0 is the easiest."""
    if not (isinstance(num_classes, int) and 2 <= num_classes <= dim):
        raise ValueError(f"num_classes must be an int in [2, dim={dim}], got {num_classes!r}")
    means = np.zeros((num_classes, dim))
    means[np.arange(num_classes), np.arange(num_classes)] = separation
    stds = std_ratio ** (np.arange(num_classes) / max(num_classes - 1, 1))
    return means, stds


def _sample_mixture(means, stds, n_per_class: int, rng: np.random.Generator):
    """``n_per_class`` draws of each class from gaussian_theory's mixture sampler."""
    from gaussian_theory.mixture import GaussianMixture

    k = len(means)
    gm = GaussianMixture(means=means, stds=stds, priors=np.full(k, 1.0 / k))
    x, y = gm.sample(n_per_class * k, rng, class_counts="exact")
    return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


def make_gaussian_dataset(n_train_per_class: int = 200, n_test_per_class: int = 200, num_classes: int = 4,
                          dim: int = 8, separation: float = 3.0, std_ratio: float = 2.0,
                          seed: int = 0) -> ArrayDataset:
    r"""Synthetic isotropic Gaussian mixture :math:`x\mid y=k\sim\mathcal N(\mu_k,\sigma_k^2I_p)` with
    equal class sizes (see :func:`gaussian_parameters`); float32 features, not images."""
    means, stds = gaussian_parameters(num_classes, dim, separation, std_ratio)
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _sample_mixture(means, stds, n_train_per_class, rng)
    x_te, y_te = _sample_mixture(means, stds, n_test_per_class, rng)
    return ArrayDataset("gaussian", x_tr, y_tr, x_te, y_te, [f"class{k}" for k in range(num_classes)],
                        source="synthetic:gaussian_theory.mixture",
                        meta={"means": means.tolist(), "stds": stds.tolist(), "seed": seed})


# ----------------------------------------------------------------------------- entry point
def load_dataset(dataset: str, data_dir=None, data_format: str = "auto", image_size=None,
                 **synthetic) -> ArrayDataset:
    """Load ``dataset`` from ``data_dir`` (layout detected unless ``data_format`` is given).

    ``image_size``: ``(H, W)`` (or one integer) to resize an image folder's images to
    (:func:`read_image_folder`); a ValueError for data read from any other layout, which has one size.
    ``synthetic`` keyword arguments go to :func:`make_gaussian_dataset` for ``dataset="gaussian"``.
    """
    size = check_image_size(image_size)
    fmt, path = resolve_source(dataset, data_dir, data_format)
    if size is not None and fmt != "imagefolder":
        raise ValueError(f"image_size (--image-size) resizes the images of an image folder (train/<class>/ "
                         f"...), but {dataset!r} is read from format {fmt!r}: leave it out, got "
                         f"{list(size)}")
    if fmt == "synthetic":
        return make_gaussian_dataset(**synthetic)
    if fmt == "pickle":
        return read_cifar_pickle(dataset, path)
    if fmt == "binary":
        return read_cifar_binary(path)
    if fmt == "jpeg-index":
        return read_cifar10_jpeg(path)
    if fmt == "mnist1d":
        return read_mnist1d(path)
    if fmt == "idx":
        return read_fashion_mnist(path)
    ds = read_image_folder(path, class_names=list(CIFAR10_CLASSES) if dataset == "cifar10" else None,
                           image_size=size)
    ds.name = dataset
    if dataset in CIFAR_STATS:
        ds.mean, ds.std = CIFAR_STATS[dataset]
    return ds


def data_identity(ds: ArrayDataset) -> str | None:
    """The part of a run's identity that names its data: ``"sha256:<first 16 hex>"`` of
    :meth:`ArrayDataset.fingerprint` for data read from files, so runs on different pixels (the original
    CIFAR-10 and its JPEG copy, say) never share a run id, a query model or a checkpoint.

    None (left out of the identity) for the synthetic dataset and arrays made in memory, whose
    configuration already determines them, and for the CIFAR-10 JPEG copy (``jpeg-index``): the
    regime in which droplab's first runs were recorded, whose run ids must not change (README, "Run
    identity"). The JPEG copy's fingerprint is still recorded in each run's JSON.
    """
    kind = ds.source.split(":", 1)[0]
    if kind in ("", "synthetic", "jpeg-index"):
        return None
    return "sha256:" + ds.fingerprint()[:16]
