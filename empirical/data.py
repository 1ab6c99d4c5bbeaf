"""Loading a dataset: where it lies and in which layout (:func:`resolve_source`), reading it
(:func:`load_dataset`), its validation split and its identity in a run.

:func:`load_dataset` detects the layout of ``data_dir`` and calls the reader of that layout:

===============  =====================================================================================
``pickle``       CIFAR-10/100 python pickles (:func:`empirical.cifar_readers.read_cifar_pickle`)
``binary``       CIFAR-10's official binary version (:func:`empirical.cifar_readers.read_cifar_binary`)
``jpeg-index``   the CIFAR-10 JPEG copy (:func:`empirical.cifar_readers.read_cifar10_jpeg`)
``imagefolder``  ``train/<class>/`` and held-out folders (:func:`empirical.image_folder.read_image_folder`)
``mnist1d``      the MNIST-1D pickle (:func:`empirical.small_datasets.read_mnist1d`)
``idx``          Fashion-MNIST's four IDX files (:func:`empirical.small_datasets.read_fashion_mnist`)
``synthetic``    a Gaussian mixture (:func:`empirical.small_datasets.make_gaussian_dataset`)
===============  =====================================================================================

Every reader returns an :class:`~empirical.dataset.ArrayDataset`. :func:`data_identity` turns its
fingerprint into the part of a run's identity that keeps runs on different data apart.

Notes
-----
Validation split (paper §2.5, official ``vision_data.py``): within each class of the test set, the
first ``n_k // 2`` indices (in the file's order) are validation, the rest are the reported test set
(:func:`validation_split`). An image folder with a ``val/`` folder gives its own validation set instead
(:attr:`~empirical.dataset.ArrayDataset.x_val`), and the whole ``test/`` folder is the test set.

References
----------
docs/empirical.md, the ``--dataset`` / ``--data-dir`` table and "Data identity: the original pixels,
the JPEG copy, and allocations recomputable from committed files".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cifar_readers import (
    _PICKLE_FILES,
    BINARY_FOLDER,
    BINARY_TRAIN,
    CIFAR10_CLASSES,
    CIFAR_STATS,
    JPEG_INDEX,
    _archive_layout,
    _find_binary_files,
    _find_pickle_files,
    _is_targz,
    _jpeg_files,
    read_cifar10_jpeg,
    read_cifar_binary,
    read_cifar_pickle,
)
from .classes import rank_within_class
from .dataset import ArrayDataset
from .image_folder import IMAGE_FOLDER_SPLITS, _image_folder_splits, check_image_size, read_image_folder
from .options import DATASETS, FORMATS
from .small_datasets import (
    _find_idx_files,
    _find_mnist1d,
    make_gaussian_dataset,
    read_fashion_mnist,
    read_mnist1d,
)

__all__ = ["load_dataset", "resolve_source", "validation_split", "data_identity", "describe_data"]


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
def resolve_source(dataset: str, data_dir, data_format: str = "auto") -> tuple[str, Path | None]:
    """Check that ``data_dir`` holds ``dataset`` in a supported layout; return ``(format, path)``.

    Layouts: ``pickle`` (the authors' ``cifar-10-batches-py``/``cifar-100-python`` folder, its
    parent, or the ``.tar.gz``), ``binary`` (CIFAR-10's official binary version: the
    ``cifar-10-batches-bin`` folder of ``.bin`` batches, its parent, or ``cifar-10-binary.tar.gz`` or a
    folder holding it), ``imagefolder`` (``train/<class>/*`` and ``test/<class>/*``, ``val/<class>/*`` or
    both: :func:`~empirical.image_folder.read_image_folder`), ``jpeg-index`` (a
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
