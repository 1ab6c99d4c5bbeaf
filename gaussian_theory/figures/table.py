"""The tidy table behind every figure: equal-length 1-D columns, one row per plotted point, written
as CSV atomically (:func:`gaussian_theory.atomic.atomic_write`).

Reproducible bytes: a refresh on another CPU must not change a committed CSV. Floats are written with
12 significant digits (``-0`` as ``0``), and a difference that is zero in exact arithmetic is computed
with :func:`difference`, which writes its last-bit residue (about 1e-16, CPU-dependent) as 0."""

from __future__ import annotations

import csv
import math

import numpy as np

from ..atomic import atomic_write

__all__ = ["Table", "difference", "RESIDUE_RTOL", "CSV_DIGITS"]

#: significant digits of every float in a figure CSV
CSV_DIGITS = 12
#: a difference below this fraction of its operands is a rounding residue (:func:`difference`)
RESIDUE_RTOL = 1e-12


def difference(a, b, rtol: float = RESIDUE_RTOL):
    r""":math:`a-b` elementwise, with 0 where :math:`|a-b|\le` ``rtol`` :math:`\cdot\max(|a|,|b|)`: the
    rounding residue of two computations of the same number (e.g. a rule's worst-class risk minus the
    optimum's when the rule *is* the optimum) depends on the CPU's last bits, so it is written as the 0
    it is. Scalars in, a float out; arrays in, an array out.

    >>> difference(0.1 + 0.2, 0.3), difference(0.5, 0.25)
    (0.0, 0.25)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        d = a - b
        out = np.where(np.abs(d) <= rtol * np.maximum(np.abs(a), np.abs(b)), 0.0, d)
    return float(out) if out.ndim == 0 else out


class Table:
    """A minimal column-oriented tidy table: equal-length 1-D columns, one row per observation.

    >>> t = Table({"x": [1, 2, 3], "kind": ["a", "b", "a"]})
    >>> len(t), t.where(kind="a")["x"].tolist()
    (3, [1, 3])
    """

    def __init__(self, columns: dict):
        cols = {str(k): np.asarray(v) for k, v in columns.items()}
        lengths = {k: v.shape for k, v in cols.items()}
        sizes = {s[0] if len(s) == 1 else None for s in lengths.values()}
        if None in sizes or len(sizes) > 1:
            raise ValueError(f"Table columns must be 1-D and of equal length, got shapes {lengths}")
        self._cols = cols

    @classmethod
    def from_rows(cls, rows, columns) -> Table:
        """A table of the dicts ``rows``, with the given ``columns`` in that order."""
        return cls({c: [r[c] for r in rows] for c in columns})

    @classmethod
    def concat(cls, tables) -> Table:
        """Stack tables with the same columns (in the first table's order)."""
        tables = list(tables)
        names = tables[0].columns
        for t in tables[1:]:
            if set(t.columns) != set(names):
                raise ValueError(f"cannot concat tables with columns {names} and {t.columns}")
        return cls({k: np.concatenate([t[k] for t in tables]) for k in names})

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def __len__(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self.columns)})"

    def filter(self, mask) -> Table:
        """The rows where the boolean ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        return Table({k: v[mask] for k, v in self._cols.items()})

    def where(self, **equal) -> Table:
        """Rows whose columns equal the given values."""
        mask = np.ones(len(self), dtype=bool)
        for k, v in equal.items():
            mask &= self._cols[k] == v
        return self.filter(mask)

    def unique(self, name: str) -> list:
        """Distinct values of a column, in order of first appearance."""
        seen = dict.fromkeys(self._cols[name].tolist())
        return list(seen)

    def rows(self):
        """Each row as a ``{column: value}`` dict."""
        for i in range(len(self)):
            yield {k: v[i] for k, v in self._cols.items()}

    def to_csv(self, path) -> None:
        """Write the table as CSV, atomically (floats with :data:`CSV_DIGITS` = 12 significant digits,
        ``-0`` as ``0``; ``inf`` spelled out)."""
        atomic_write(path, self._write_csv)

    def _write_csv(self, path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns)
            for row in self.rows():
                w.writerow([_fmt_cell(v) for v in row.values()])


def _fmt_cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = f"{float(v):.{CSV_DIGITS}g}"
        return "0" if text == "-0" else text
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)
