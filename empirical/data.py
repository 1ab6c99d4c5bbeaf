"""Datasets as in-memory arrays: CIFAR-10/100 (python pickles, folder or .tar.gz), image folders, the
CIFAR-10 JPEG copy with its canonical-order index, and a synthetic Gaussian mixture.

Every reader returns an :class:`ArrayDataset`: images as ``uint8`` arrays of shape (N, C, H, W)
(features as ``float32`` arrays of shape (N, p)) and labels as ``int64``. Nothing here needs torch;
:mod:`empirical.augment` moves the arrays to the training device.

Validation split (paper §2.5, official ``vision_data.py``): within each class of the test set, the
first ``n_k // 2`` indices (in the file's order) are validation, the rest are the reported test set.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "ArrayDataset", "DATASETS", "FORMATS", "CIFAR10_CLASSES", "load_dataset", "resolve_source",
    "read_cifar_pickle", "read_image_folder", "read_cifar10_jpeg", "make_gaussian_dataset",
    "validation_split",
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
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".webp", ".tif", ".tiff")


@dataclass
class ArrayDataset:
    """Train and test arrays of one dataset.

    ``x_*``: uint8 (N, C, H, W) images or float32 (N, p) features; ``y_*``: int64 labels in
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

    def __post_init__(self):
        self.y_train = np.asarray(self.y_train, dtype=np.int64)
        self.y_test = np.asarray(self.y_test, dtype=np.int64)
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError(f"{self.name}: images and labels differ in length")
        k = len(self.class_names)
        for part, y in (("train", self.y_train), ("test", self.y_test)):
            if y.size and (y.min() < 0 or y.max() >= k):
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

    def subset(self, train_idx=None, test_idx=None) -> ArrayDataset:
        """A copy restricted to the given train/test indices (for tests and quick runs)."""
        tr = slice(None) if train_idx is None else np.asarray(train_idx)
        te = slice(None) if test_idx is None else np.asarray(test_idx)
        return ArrayDataset(self.name, self.x_train[tr], self.y_train[tr], self.x_test[te], self.y_test[te],
                            list(self.class_names), self.mean, self.std, self.source, dict(self.meta))


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
    parent, or the ``.tar.gz``), ``imagefolder`` (``train/<class>/*``, ``test/<class>/*``) and
    ``jpeg-index`` (a folder with ``cifar10_index_labels_exactsubset.npz`` and the JPEG ``.tar.gz``).
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
    if fmt == "pickle":
        if dataset not in _PICKLE_FILES:
            raise ValueError(f"format 'pickle' is for cifar10/cifar100, not {dataset!r}")
        _find_pickle_files(dataset, path)  # raises if incomplete
    elif fmt == "imagefolder":
        if not ((path / "train").is_dir() and (path / "test").is_dir()):
            raise ValueError(f"image-folder layout needs {str(path)!r}/train/<class>/ and /test/<class>/")
    elif fmt == "jpeg-index":
        if dataset != "cifar10":
            raise ValueError(f"format 'jpeg-index' is the CIFAR-10 JPEG copy, not {dataset!r}")
        _jpeg_files(path)
    return fmt, path


def _detect_format(dataset: str, path: Path) -> str:
    if path.is_file():
        if not _is_targz(path):
            raise ValueError(f"data_dir {str(path)!r} is a file but not a .tar.gz archive "
                             f"(expected the authors' CIFAR python archive, or a folder)")
        return "pickle"
    if (path / JPEG_INDEX).is_file():
        return "jpeg-index"
    if (path / "train").is_dir() and (path / "test").is_dir():
        return "imagefolder"
    if dataset in _PICKLE_FILES:
        return "pickle"
    raise ValueError(f"cannot recognise the layout of {str(path)!r} for dataset {dataset!r}: expected "
                     f"train/<class>/ and test/<class>/ folders")


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
    return ArrayDataset(dataset, np.ascontiguousarray(x_tr), y_tr, np.ascontiguousarray(x_te), y_te, names,
                        mean, std, source=f"pickle:{path}")


# ----------------------------------------------------------------------------- decoding
def _decode(raw: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as im:
        return np.asarray(im.convert("RGB"))


def _decode_all(blobs: list[bytes], what: str) -> np.ndarray:
    """Decode images (Pillow releases the GIL, so two threads help) into uint8 (N, 3, H, W)."""
    try:
        import PIL  # noqa: F401
    except ImportError as exc:  # pragma: no cover - pillow is in the empirical extra
        raise ValueError("reading image files needs Pillow: pip install pillow") from exc
    with ThreadPoolExecutor(max_workers=2) as pool:
        imgs = list(pool.map(_decode, blobs, chunksize=256))
    if not imgs:
        return np.zeros((0, 3, 32, 32), dtype=np.uint8)
    shapes = {im.shape for im in imgs}
    if len(shapes) != 1:
        raise ValueError(f"{what}: images differ in size {sorted(shapes)[:4]}; resize them to one size first")
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


def read_image_folder(path, class_names=None) -> ArrayDataset:
    """Read ``train/<class>/*`` and ``test/<class>/*`` (any Pillow-readable images of one size).

    Class ids follow ``class_names`` when given (e.g. the CIFAR-10 order), else sorted folder names.
    Files within a class are read in sorted name order.
    """
    path = Path(path)
    found = sorted(p.name for p in (path / "train").iterdir() if p.is_dir())
    if class_names is None or set(found) != set(class_names):
        class_names = found
    if not class_names:
        raise ValueError(f"no class folders in {str(path / 'train')!r}")
    ids = {c: i for i, c in enumerate(class_names)}
    parts = {}
    for split in ("train", "test"):
        files, labels = [], []
        for c in class_names:
            d = path / split / c
            fs = sorted(p for p in d.iterdir() if p.suffix.lower() in _IMAGE_EXT) if d.is_dir() else []
            files += fs
            labels += [ids[c]] * len(fs)
        if not files:
            raise ValueError(f"no images under {str(path / split)!r}")
        try:
            x = _decode_all([f.read_bytes() for f in files], f"{path}/{split}")
        except (OSError, ValueError, SyntaxError) as exc:  # PIL.UnidentifiedImageError is an OSError
            if isinstance(exc, ValueError) and str(exc).startswith((f"{path}/{split}:", "reading image")):
                raise  # _decode_all's own messages (sizes differ, no Pillow) already say what is wrong
            raise ValueError(_unreadable_image(files, exc)) from exc
        parts[split] = (x, np.array(labels))
    (x_tr, y_tr), (x_te, y_te) = parts["train"], parts["test"]
    return ArrayDataset("imagefolder", x_tr, y_tr, x_te, y_te, list(class_names),
                        source=f"imagefolder:{path}")


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
                        meta={"train_indices": sel["train"][0], "test_indices": sel["test"][0]})


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
def load_dataset(dataset: str, data_dir=None, data_format: str = "auto", **synthetic) -> ArrayDataset:
    """Load ``dataset`` from ``data_dir`` (layout detected unless ``data_format`` is given).

    ``synthetic`` keyword arguments go to :func:`make_gaussian_dataset` for ``dataset="gaussian"``.
    """
    fmt, path = resolve_source(dataset, data_dir, data_format)
    if fmt == "synthetic":
        return make_gaussian_dataset(**synthetic)
    if fmt == "pickle":
        return read_cifar_pickle(dataset, path)
    if fmt == "jpeg-index":
        return read_cifar10_jpeg(path)
    ds = read_image_folder(path, class_names=list(CIFAR10_CLASSES) if dataset == "cifar10" else None)
    ds.name = dataset
    if dataset in CIFAR_STATS:
        ds.mean, ds.std = CIFAR_STATS[dataset]
    return ds
