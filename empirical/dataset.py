"""The dataset container every reader returns: :class:`ArrayDataset`, its fingerprint and provenance.

An :class:`ArrayDataset` holds the train and test arrays of one dataset in memory: images as ``uint8``
arrays of shape (N, C, H, W) (features as ``float32`` arrays of shape (N, p), 1-D signals as
``float32`` (N, C, L)), labels as ``int64``, and an optional explicit validation set. Nothing here
needs torch; :mod:`empirical.augment` moves the arrays to the training device.

Notes
-----
Every file-based reader records where its data came from in :attr:`ArrayDataset.meta` ``"origin"``
(:func:`_checksum_origin` builds that record from the published checksums): the **original** files, the
CIFAR-10 **JPEG copy**, or unverified data. :meth:`ArrayDataset.fingerprint` is the sha256 of the arrays
actually used, in canonical order; :func:`empirical.data.data_identity` turns it into the part of a
run's identity that keeps runs on different data apart.

References
----------
docs/empirical.md, "Data identity: the original pixels, the JPEG copy, and allocations recomputable
from committed files".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ArrayDataset", "channel_stats"]


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
