"""Input files of the ``droplab`` command line: one check of a path given to an option, one reader of a
``.npy`` array, each failure a one-line ``ValueError`` naming the option and the file.

Imports only the standard library at module level (numpy when an array is read), so that building the
parser stays fast.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["input_file", "read_limited", "load_array"]


def input_file(path, option: str) -> Path:
    """``path`` as a :class:`~pathlib.Path` that exists and is not a folder; a ``ValueError`` naming
    ``option`` and the path otherwise. Devices, pipes and process substitutions (``<(...)``) are
    accepted: they are files to read, however they end."""
    p = Path(path)
    where = f"{option} {str(path)!r}"
    if p.is_dir():
        raise ValueError(f"{where}: is a folder, expected a file")
    if not p.exists():
        raise ValueError(f"{where}: no such file")
    return p


def read_limited(path, option: str, max_bytes: int, what: str) -> bytes:
    """The bytes of the file ``path`` (:func:`input_file`), at most ``max_bytes`` of them: a larger file
    (or an endless device such as ``/dev/zero``) is a ``ValueError`` saying what the file should hold
    (``what``), not a machine filled with it."""
    p = input_file(path, option)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ValueError(f"{option} {str(path)!r}: cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise ValueError(f"{option} {str(path)!r}: larger than {max_bytes // 2**20} MiB, expected {what}")
    return raw


def load_array(path, option: str):
    """A numpy array from a ``.npy`` file (no pickles); one-line errors naming ``option`` and the file."""
    import numpy as np

    p = input_file(path, option)
    where = f"{option} {str(path)!r}"
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{where}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive
        names = list(arr.files)
        arr.close()
        raise ValueError(f"{where}: expected one .npy array, got an .npz archive of {names}")
    return arr
