"""The CIFAR readers: the python pickles, CIFAR-10's official binary version, and the JPEG copy.

* :func:`read_cifar_pickle`: CIFAR-10/100 as the authors distribute them (``cifar-10-batches-py``,
  ``cifar-100-python``: a folder, its parent, or the ``.tar.gz``); each pickle's md5 is compared with
  torchvision's (:data:`CIFAR_PICKLE_MD5`).
* :func:`read_cifar_binary`: CIFAR-10's **binary version** (``cifar-10-batches-bin``, folder or
  ``cifar-10-binary.tar.gz``); each ``.bin`` file's SHA-1 is compared with MXNet gluon's
  (:data:`CIFAR10_BINARY_SHA1`).
* :func:`read_cifar10_jpeg`: the CIFAR-10 JPEG copy (an npz index mapping each canonical index to a
  member of a ``.tar.gz`` of JPEGs), with a content-keyed cache of the decoded arrays
  (:func:`decoded_cache_path`).

All three return the canonical CIFAR order (batches 1 to 5, then the test batch) as an
:class:`~empirical.dataset.ArrayDataset` with the published per-channel statistics
(:data:`CIFAR_STATS`), and say in ``meta["origin"]`` whether the data is the **original** CIFAR, the
**JPEG copy**, or unverified. The python and binary versions of CIFAR-10 give the same fingerprint.

References
----------
docs/empirical.md, the ``--dataset`` / ``--data-dir`` table and "Data identity: the original pixels,
the JPEG copy, and allocations recomputable from committed files".
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, _checksum_origin
from .image_folder import _decode_all

__all__ = [
    "read_cifar_pickle", "read_cifar_binary", "read_cifar10_jpeg", "decoded_cache_path", "CIFAR10_CLASSES",
    "CIFAR_STATS", "CIFAR10_BINARY_SHA1", "CIFAR_PICKLE_MD5", "JPEG_INDEX", "BINARY_FOLDER", "BINARY_TRAIN",
    "BINARY_TEST",
]


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


def _is_targz(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".tar.gz") or path.name.endswith(".tgz"))


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



# ----------------------------------------------------------------------------- CIFAR-10 JPEG copy
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
