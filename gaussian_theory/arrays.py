r"""Arrays of your own data from files: validation logits, class labels (numpy only).

One reader, :func:`load_array_file`, for every array the command line and the own-data route
(:mod:`gaussian_theory.own_data`) take from a file:

=================== ==========================================================================
``.npy``            one array (``numpy.save``); pickled (object) arrays are refused
``.npz``            an archive (``numpy.savez``): its only array, or the one named ``PATH:KEY``
                    (``q.npz:val_logits``), or the one of ``prefer`` it holds (droplab's query
                    logits files: ``val_logits``, ``val_labels``)
``.csv`` and text   numbers, one row per sample, separated by commas, semicolons, tabs or spaces;
                    a first row that is not numeric is a header and skipped
``.pt``, ``.pth``   refused with the one line that converts them: ``gaussian_theory`` does not
                    import torch (an import contract); :func:`empirical.subset.load_tensor_file`
                    reads them where torch is installed
=================== ==========================================================================

Labels (:func:`as_class_labels`) are integers ``0..K-1``; floats that are integers (``1.0``, as a CSV
or a float tensor holds them) are accepted, any other value is a ``ValueError`` naming the argument, the
value and its position.

>>> as_class_labels([0, 1.0, 2.0]).tolist()
[0, 1, 2]
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .validation import as_float_array

__all__ = ["load_array_file", "load_logits", "load_labels", "as_class_labels", "split_key", "TORCH_SUFFIXES"]

#: File suffixes of torch's own format, refused here (no torch in gaussian_theory) with a conversion hint.
TORCH_SUFFIXES = (".pt", ".pth")

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _where(path, name: str) -> str:
    return f"{name} {str(path)!r}"


def split_key(path) -> tuple[Path, str | None]:
    """``(file, key)`` of ``PATH:KEY`` (an array of an ``.npz`` archive, ``q.npz:val_logits``); ``(path,
    None)`` when ``path`` itself exists or names no ``.npz`` before its last colon."""
    text = str(path)
    p = Path(text)
    if p.exists() or ":" not in text:
        return p, None
    head, _, key = text.rpartition(":")
    if head and key and Path(head).suffix.lower() == ".npz":
        return Path(head), key
    return p, None


def _torch_error(path, name: str) -> ValueError:
    stem = Path(path).with_suffix(".npy").name
    return ValueError(
        f"{_where(path, name)}: a torch file; droplab's theory package reads numpy arrays only (it does not "
        f"import torch). Convert it once: python -c \"import numpy, torch; numpy.save('{stem}', "
        f"torch.load('{Path(path).name}').numpy())\" (empirical.subset.load_tensor_file reads it in Python)")


def load_array_file(path, name: str = "path", *, key: str | None = None, prefer=()) -> np.ndarray:
    """The array stored in the file ``path`` (module docstring: ``.npy``, ``.npz``, CSV/text; ``.pt``
    refused with a conversion hint). Never unpickles.

    Parameters
    ----------
    path : str or path-like
        The file; ``PATH:KEY`` names one array of an ``.npz`` archive (:func:`split_key`).
    name : str
        The argument or option that gave ``path``; every error starts with it and the path.
    key : str, optional
        The array of an ``.npz`` archive (instead of ``PATH:KEY``).
    prefer : sequence of str
        Array names taken from an ``.npz`` archive of several arrays when exactly one of them is there.

    Returns
    -------
    numpy.ndarray
        As stored (``.npy``, ``.npz``), or a 2-d float array (CSV).

    Raises
    ------
    ValueError
        A missing file, a folder, an unreadable or pickled array, an archive whose array is not named,
        text that is not numeric, a torch file.
    """
    p, named = split_key(path) if key is None else (Path(path), key)
    where = _where(path, name)
    if p.is_dir():
        raise ValueError(f"{where}: is a folder, expected a file")
    if not p.exists():
        raise ValueError(f"{where}: no such file")
    suffix = p.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        raise _torch_error(p, name)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise ValueError(f"{where}: cannot read the file ({exc.strerror or exc})") from None
    if head.startswith(_ZIP_MAGIC) or suffix == ".npz":
        return _from_npz(p, where, named, tuple(prefer), name)
    if named is not None:
        raise ValueError(f"{where}: an array name ({named!r}) is for an .npz archive")
    if head.startswith(_NPY_MAGIC):
        return _from_npy(p, where)
    if suffix == ".npy":
        raise ValueError(f"{where}: not a readable .npy array (no numpy header: numpy.save writes one; text "
                         "numbers go in a .csv file)")
    return _from_text(p, where)


def _from_npy(p: Path, where: str) -> np.ndarray:
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{where}: holds Python objects (a pickled, object-dtype array), not numbers; "
                             "droplab reads no pickles: save a numeric array, e.g. numpy.save(path, "
                             "numpy.asarray(x, dtype=float))") from None
        raise ValueError(f"{where}: not a readable .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{where}: not a readable .npy array ({exc})") from None
    return arr


def _from_npz(p: Path, where: str, key, prefer, name) -> np.ndarray:
    import zipfile
    import zlib

    try:
        archive = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{where}: not a readable .npz archive ({type(exc).__name__}: {exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        return _from_npy(p, where)   # an .npy under an .npz name
    with archive:
        names = list(archive.files)
        if any(n.endswith("data.pkl") for n in names):   # torch.save writes a zip of a pickle and storages
            raise _torch_error(p, name)
        if not names:
            raise ValueError(f"{where}: an .npz archive with no arrays")
        if key is None:
            chosen = [k for k in prefer if k in names]
            if len(names) == 1:
                key = names[0]
            elif len(chosen) == 1:
                key = chosen[0]
            else:
                raise ValueError(f"{where}: an .npz archive of {len(names)} arrays {sorted(names)}: name one "
                                 f"as {str(p)!r}:KEY, e.g. {str(p) + ':' + sorted(names)[0]!r}")
        elif key not in names:
            raise ValueError(f"{where}: the .npz archive has no array {key!r}; it holds {sorted(names)}")
        try:
            arr = archive[key]
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise ValueError(f"{where}: array {key!r} holds Python objects (pickled), not numbers; "
                                 "droplab reads no pickles") from None
            raise ValueError(f"{where}: array {key!r} cannot be read ({exc})") from None
        except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise ValueError(f"{where}: array {key!r} cannot be read, the archive is damaged "
                             f"({type(exc).__name__}: {exc})") from None
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{where}: member {key!r} of the archive is not a numpy array")
    return arr


def _delimiter(line: str):
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else None   # None: runs of spaces


def _from_text(p: Path, where: str) -> np.ndarray:
    raw = p.read_bytes()
    if b"\x00" in raw:
        raise ValueError(f"{where}: a binary file that is not a numpy array; expected .npy, .npz or CSV "
                         "numbers")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected .npy, .npz "
                         "or CSV numbers") from None
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not lines:
        raise ValueError(f"{where}: empty file, expected numbers (one row per sample)")
    delim = _delimiter(lines[0][1])

    def cells(line):
        return [c.strip() for c in (line.split(delim) if delim else line.split())]

    header = 0 if _numeric(cells(lines[0][1])) else 1   # a first row that is not numeric: the header
    if header and len(lines) == 1:
        raise ValueError(f"{where}: a header row and no numbers")
    try:
        return np.loadtxt(io.StringIO("\n".join(ln for _, ln in lines[header:])), delimiter=delim, ndmin=2,
                          dtype=float, comments=None)
    except ValueError:
        pass
    width = len(cells(lines[header][1]))     # find the first bad line, to name it
    for number, line in lines[header:]:
        row = cells(line)
        if len(row) != width:
            raise ValueError(f"{where}: line {number} has {len(row)} values, the first data line {width}") \
                from None
        if not _numeric(row):
            bad = next(c for c in row if not _numeric([c]))
            raise ValueError(f"{where}: line {number}: {bad[:40]!r} is not a number (expected numeric CSV, "
                             "one row per sample, an optional header row)") from None
    raise ValueError(f"{where}: not numeric CSV")   # pragma: no cover - loadtxt and the scan disagree


def _numeric(cells) -> bool:
    try:
        for c in cells:
            float(c)
    except ValueError:
        return False
    return True


def load_logits(path, name: str = "logits", *, key: str | None = None) -> np.ndarray:
    """An ``(n, K)`` float array of validation logits from a file (:func:`load_array_file`; from an
    ``.npz`` of several arrays, ``val_logits`` or ``logits``); booleans, complex numbers, NaN and inf are
    refused with errors naming ``name`` and the file."""
    arr = load_array_file(path, name, key=key, prefer=("val_logits", "logits"))
    try:
        z = as_float_array(arr, "logits")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{_where(path, name)}: {exc}") from None
    if z.ndim != 2:
        raise ValueError(f"{_where(path, name)}: logits must be an (n, K) array, one row per sample, got "
                         f"shape {z.shape}")
    return z


def load_labels(path, name: str = "labels", *, key: str | None = None, n_classes: int | None = None
                ) -> np.ndarray:
    """An ``(n,)`` int64 array of class labels ``0..K-1`` from a file (:func:`load_array_file`; from an
    ``.npz`` of several arrays, ``val_labels`` or ``labels``), checked by :func:`as_class_labels`."""
    arr = load_array_file(path, name, key=key, prefer=("val_labels", "labels"))
    return as_class_labels(arr, f"{name} {str(path)!r}", n_classes=n_classes)


def as_class_labels(values, name: str = "labels", *, n_classes: int | None = None) -> np.ndarray:
    """``values`` as ``(n,)`` int64 class labels in ``0..K-1`` (``K = n_classes`` when given).

    Integers are taken as they are; floats only where they are integers (``1.0``); an ``(n, 1)`` or
    ``(1, n)`` array (a one-column CSV) is flattened. Booleans, text, non-integer or negative values,
    and labels ``>= n_classes`` are a ``TypeError``/``ValueError`` naming ``name``, the value and its
    position.

    >>> as_class_labels([[1.0], [0.0]]).tolist()
    [1, 0]
    >>> as_class_labels([0, 1.5])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: labels must be integer class labels 0..K-1 (...), got 1.5 at position 1
    """
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be integer class labels 0..K-1, got the text {values[:40]!r}")
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array of class labels (one per sample), got shape "
                         f"{arr.shape}")
    kind = arr.dtype.kind
    if kind == "b":
        raise TypeError(f"{name} must be integer class labels 0..K-1, got booleans (dtype {arr.dtype})")
    if kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) > 2**53)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} must be integer class labels 0..K-1 (floats only where they are "
                             f"integers, like 1.0), got {arr[i].item()!r} at position {i}")
        arr = arr.astype(np.int64)
    elif kind not in "iu":
        raise TypeError(f"{name} must be integer class labels 0..K-1, got dtype {arr.dtype} (map class names "
                        "to 0..K-1 first)")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        i = int(np.argmin(arr))
        raise ValueError(f"{name} must be integer class labels 0..K-1, got {int(arr[i])} at position {i}")
    if n_classes is not None and arr.max() >= n_classes:
        i = int(np.argmax(arr))
        raise ValueError(f"{name} must be class labels 0..{n_classes - 1} (one per logit column), got "
                         f"{int(arr[i])} at position {i}")
    return arr
