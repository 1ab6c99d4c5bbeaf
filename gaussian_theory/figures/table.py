"""The tidy table behind every figure: equal-length 1-D columns, one row per plotted point, written
as CSV atomically (:func:`gaussian_theory.atomic.atomic_write`)."""

from __future__ import annotations

import csv
import math

import numpy as np

from ..atomic import atomic_write

__all__ = ["Table"]


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
        """Write the table as CSV, atomically (floats with 12 significant digits; ``inf`` spelled out)."""
        atomic_write(path, self._write_csv)

    def _write_csv(self, path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(self.columns)
            for row in self.rows():
                w.writerow([_fmt_cell(v) for v in row.values()])


def _fmt_cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf
                                            else f"{float(v):.12g}")
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)
