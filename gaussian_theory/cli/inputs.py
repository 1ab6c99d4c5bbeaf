"""Input files of the ``droplab`` command line: one check of a path given to an option and a bounded read,
each failure a one-line ``ValueError`` naming the option and the file (arrays: :mod:`gaussian_theory.arrays`).

Imports only the standard library, so that building the parser stays fast.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["input_file", "read_limited"]


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
