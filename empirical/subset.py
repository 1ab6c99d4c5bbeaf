"""Kept indices into your own torch training loop: a ``Subset``, a seeded ``Sampler``, a ``DataLoader``.

``droplab select ... --out DIR/`` (or :func:`gaussian_theory.selection.select_indices`) writes the kept
indices of the training set as a sorted ``.npy`` array; here they become what a torch loop takes::

    import numpy as np
    from empirical.subset import kept_loader

    idx = np.load("kept/kept_drop_s0.npy")
    loader = kept_loader(train_set, idx, batch_size=128, seed=0)   # one epoch = the kept samples, shuffled

:func:`kept_subset` is ``torch.utils.data.Subset(train_set, idx)`` with its indices checked;
:func:`kept_sampler` draws the kept indices of the *full* dataset in a fresh order each epoch from a
``torch.Generator`` of its own, seeded by one ``seed`` argument (the global torch RNG is neither used nor
moved). The same index array works elsewhere as it is: ``datasets.Dataset.select(idx)`` (Hugging Face),
``x[idx]`` for arrays and tensors.

:func:`load_tensor_file` reads a torch ``.pt`` file of logits or labels into numpy (the theory package,
and so ``droplab allocate``, reads numpy formats only).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, Subset

__all__ = ["kept_subset", "kept_sampler", "kept_loader", "KeptSampler", "load_tensor_file", "check_indices"]


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def check_indices(indices, n: int | None = None, name: str = "indices") -> np.ndarray:
    """``indices`` as a 1-d int64 array of distinct sample indices in ``[0, n)`` (any ``n`` when None):
    a ``TypeError``/``ValueError`` naming ``name`` and the offending value otherwise.

    >>> check_indices([3, 0, 2], 4).tolist()
    [3, 0, 2]
    """
    arr = np.asarray(indices.cpu() if isinstance(indices, torch.Tensor) else indices)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer sample indices (droplab select writes them), got dtype "
                        f"{arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of sample indices, got shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or (n is not None and arr.max() >= n)):
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        raise ValueError(f"{name} must lie in [0, {n}) (the dataset's samples), got {bad}" if n is not None
                         else f"{name} must be non-negative, got {bad}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"{name} must be distinct (each sample kept once), got "
                         f"{arr.size - np.unique(arr).size} repeated")
    return arr


def _length(dataset) -> int:
    try:
        return len(dataset)
    except TypeError:
        raise TypeError(f"dataset must have a length (a map-style torch Dataset), got "
                        f"{type(dataset).__name__}") from None


def kept_subset(dataset, indices) -> Subset:
    """``torch.utils.data.Subset(dataset, indices)`` of the kept samples, the indices checked
    (:func:`check_indices`) against ``len(dataset)``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        The full training set (map-style: ``len`` and integer indexing).
    indices : array_like of int
        The kept indices (``droplab select``'s ``.npy``).

    Returns
    -------
    torch.utils.data.Subset
    """
    idx = check_indices(indices, _length(dataset))
    return Subset(dataset, idx.tolist())


class KeptSampler(Sampler):
    """The kept ``indices`` of the full dataset, in a new random order each epoch (``shuffle``) drawn from
    a ``torch.Generator`` seeded once with ``seed``, or in the given order. Iterating twice gives two
    epochs' orders; a new sampler with the same seed repeats them. The global RNG is not touched."""

    def __init__(self, indices, *, seed: int = 0, shuffle: bool = True):
        self.indices = torch.as_tensor(check_indices(indices))
        self.seed = _check_seed(seed)
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(self.seed)

    def __iter__(self):
        if not self.shuffle:
            return iter(self.indices.tolist())
        order = torch.randperm(len(self.indices), generator=self.generator)
        return iter(self.indices[order].tolist())

    def __len__(self) -> int:
        return len(self.indices)


def kept_sampler(indices, seed: int = 0, *, shuffle: bool = True, dataset=None) -> KeptSampler:
    """A :class:`KeptSampler` of the kept ``indices`` (checked against ``len(dataset)`` when given), for
    ``DataLoader(dataset, sampler=...)`` over the *full* dataset.

    Parameters
    ----------
    indices : array_like of int
        The kept indices.
    seed : int
        Seeds the sampler's own ``torch.Generator`` (every epoch's order).
    shuffle : bool
        False: the indices in the given (sorted) order every epoch.
    dataset : torch.utils.data.Dataset, optional
        Checks that every index lies in it.
    """
    if dataset is not None:
        check_indices(indices, _length(dataset))
    return KeptSampler(indices, seed=seed, shuffle=shuffle)


def kept_loader(dataset, indices, *, batch_size: int, seed: int = 0, shuffle: bool = True,
                **loader_kwargs) -> DataLoader:
    """A ``DataLoader`` over the kept samples of ``dataset``: :func:`kept_sampler` (seeded by ``seed``)
    and a ``generator`` for the workers' seeds derived from the same ``seed``; ``loader_kwargs``
    (``num_workers``, ``collate_fn``, ``drop_last``, ...) go to ``DataLoader``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        The full training set.
    indices : array_like of int
        The kept indices.
    batch_size : int
        Samples per batch (at least 1).
    seed : int
        The one seed of the loader's randomness (order and worker seeds).
    shuffle : bool
        A new order each epoch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (numbers.Integral, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    for key in ("sampler", "shuffle", "batch_sampler", "generator"):
        if key in loader_kwargs:
            raise ValueError(f"{key}= is set by kept_loader (from indices, shuffle and seed); use DataLoader "
                             "with kept_sampler for another arrangement")
    sampler = kept_sampler(indices, seed, shuffle=shuffle, dataset=dataset)
    workers = torch.Generator().manual_seed((sampler.seed + 1) % 2**63)
    return DataLoader(dataset, batch_size=int(batch_size), sampler=sampler, generator=workers,
                      **loader_kwargs)


def load_tensor_file(path, name: str = "path") -> np.ndarray:
    """The tensor (or numpy array) saved in a torch file ``path`` (``torch.save``), as a numpy array on
    the CPU; loaded with ``weights_only=True`` (no arbitrary pickles). Errors name ``name`` and the file.

    Save it for the command line with ``numpy.save("logits.npy", load_tensor_file("logits.pt"))``.
    """
    from pathlib import Path

    p = Path(path)
    where = f"{name} {str(path)!r}"
    if not p.is_file():
        raise ValueError(f"{where}: {'is a folder, expected a file' if p.is_dir() else 'no such file'}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:   # torch raises many kinds (pickle, zip, runtime) for a file it cannot read
        raise ValueError(f"{where}: not a readable torch file of a tensor ({type(exc).__name__}: "
                         f"{str(exc)[:120]})") from None
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return obj
    raise ValueError(f"{where}: holds a {type(obj).__name__}, expected one tensor (torch.save(tensor, path))")
