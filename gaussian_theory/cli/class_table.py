"""``droplab allocate --from FILE``: per-class (names, sizes, recalls) from a CSV or JSON class table, within
fixed limits, every problem a one-line error naming ``--from`` and the file."""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from .inputs import read_limited

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FROM_LAYOUTS", "read_class_table", "MAX_FROM_BYTES", "MAX_CELL_CHARS", "MAX_NUMBER_CHARS"]

FROM_LAYOUTS = """\
--from FILE layouts (one row per class; class names must be distinct):
  CSV (any suffix but .json), a header row naming the columns, in any order and case, separated
  by commas (or semicolons or tabs); spaces around cells, an Excel UTF-8 byte-order mark and
  other columns are ignored:
      class,size,recall
      cat,5000,0.92
      dog,5000,0.71
  JSON (.json, or any file starting with '{' or '['), numbers as JSON numbers:
      {"recalls": [0.92, 0.71], "sizes": [5000, 5000], "classes": ["cat", "dog"]}  ("classes" optional)
      [{"class": "cat", "size": 5000, "recall": 0.92}, ...]                          ("class" optional)
      {"cat": {"size": 5000, "recall": 0.92}, "dog": {"size": 5000, "recall": 0.71}}
"""


#: Limits of a ``--from`` file, the same for CSV and JSON: its size, one cell (CSV) or string (JSON), and
#: the digits of one number. A class table has one short row per class; beyond these it is not one.
MAX_FROM_BYTES = 64 * 2**20
MAX_CELL_CHARS = 131_072   # the csv module's default field limit
MAX_NUMBER_CHARS = 400     # float64 holds at most 309 integer digits; a number this long is not a count


class _BadFile(ValueError):
    """A content error; ``read_class_table`` prefixes the file name."""


def _clip(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for an error message."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _quote(text: str, limit: int = 40) -> str:
    """A cell or number quoted in an error message, cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"


def read_class_table(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read per-class (names, sizes, recalls) from a CSV or JSON file in one of :data:`FROM_LAYOUTS`.

    Every problem is a one-line ``ValueError`` naming ``--from`` and the file, within the same limits
    for CSV and JSON (:data:`MAX_FROM_BYTES`, :data:`MAX_CELL_CHARS`, :data:`MAX_NUMBER_CHARS`, finite
    numbers only, the nesting depth Python's JSON reader allows).
    """
    import numpy as np

    path = Path(path)
    where = f"--from {str(path)!r}"
    raw = read_limited(path, "--from", MAX_FROM_BYTES, "CSV or JSON rows of class, size, recall")
    try:
        if b"\x00" in raw:
            raise _BadFile("binary file, expected CSV or JSON text")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _BadFile(f"not UTF-8 text, expected CSV or JSON ({exc.reason} at byte {exc.start})"
                           ) from None
        if not text.strip():
            raise _BadFile("empty file, expected CSV or JSON rows of class, size, recall")
        if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "["):
            names, sizes, recalls = _from_json(text)
        else:
            names, sizes, recalls = _from_csv(text)
        if not names:
            raise _BadFile("no class rows")
        dup = sorted(n for n, times in Counter(names).items() if times > 1)   # O(K), not K scans of K
        if dup:
            raise _BadFile(f"duplicate class rows {dup}: each class must appear once")
    except _BadFile as exc:
        raise ValueError(f"{where}: {exc}") from None
    return names, np.array(sizes, dtype=float), np.array(recalls, dtype=float)


def _number(value, what: str) -> float:
    """A finite JSON number (not a boolean, string or null)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _BadFile(f"{what} must be a number, got {_clip(json.dumps(value), 60)}")
    try:
        v = float(value)
    except OverflowError:  # an integer beyond float64 (about 1.8e308)
        v = math.inf
    if not math.isfinite(v):
        raise _BadFile(f"{what} must be a finite number, got {_quote(str(value))}")
    return v


def _name(value, what: str) -> str:
    """A class name (a JSON string or number, as text) of at most :data:`MAX_CELL_CHARS` characters."""
    text = str(value)
    if len(text) > MAX_CELL_CHARS:
        raise _BadFile(f"{what}: a class name of {len(text):,} characters ({_quote(text)}), longer than the "
                       f"{MAX_CELL_CHARS:,} allowed in one cell")
    return text


def _json_number(text: str, convert):
    """``parse_int``/``parse_float`` of :func:`json.loads`: at most :data:`MAX_NUMBER_CHARS` characters
    (before Python converts a 5,000-digit integer, or refuses to)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise _BadFile(f"a JSON number of {len(text):,} characters ({_quote(text)}): sizes and recalls have "
                       f"at most {MAX_NUMBER_CHARS} characters")
    value = convert(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise _BadFile(f"the JSON number {_quote(text)} is beyond the range of float64 (about 1.8e308)")
    return value


def _json_constant(name: str):
    """``parse_constant`` of :func:`json.loads`: Python's reader accepts NaN and Infinity, JSON does not."""
    raise _BadFile(f"{name} is not a JSON number (sizes and recalls must be finite numbers)")


def _no_duplicate_keys(pairs):
    """``object_pairs_hook`` of :func:`json.loads`: a JSON object as a dict, rejecting repeated keys
    (which ``json`` would otherwise silently resolve to the last value)."""
    out = {}
    for key, value in pairs:
        _name(key, "a JSON key")
        if key in out:
            raise _BadFile(f"duplicate JSON key {key!r} in one object (JSON would keep only its last value): "
                           "each class, and each field of a row, must appear once")
        out[key] = value
    return out


def _from_json(text: str):
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_json_constant,
                          parse_int=lambda t: _json_number(t, int),
                          parse_float=lambda t: _json_number(t, float))
    except json.JSONDecodeError as exc:
        raise _BadFile(f"invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise _BadFile("JSON nested too deeply for Python's JSON reader; a class table nests at most three "
                       "levels (droplab allocate --help shows the layouts)") from None
    if isinstance(data, dict) and ("recalls" in data or "sizes" in data):
        extra = sorted(set(data) - {"recalls", "sizes", "classes"})
        if extra or not {"recalls", "sizes"} <= set(data):
            raise _BadFile('a JSON object of columns needs exactly "recalls", "sizes" and optionally '
                           f'"classes", got keys {sorted(data)}')
        cols = {k: data[k] for k in ("recalls", "sizes", "classes") if k in data}
        for key, col in cols.items():
            if not isinstance(col, list):
                raise _BadFile(f'"{key}" must be a JSON list, got {json.dumps(col)[:60]}')
        n = len(cols["recalls"])
        if any(len(col) != n for col in cols.values()):
            raise _BadFile(f"the lists must have one entry per class, got lengths "
                           f"{ {k: len(v) for k, v in cols.items()} }")
        names = [_name(c, f"classes[{i}]") for i, c in enumerate(cols.get("classes", range(n)))]
        sizes = [_number(v, f"sizes[{i}]") for i, v in enumerate(cols["sizes"])]
        recalls = [_number(v, f"recalls[{i}]") for i, v in enumerate(cols["recalls"])]
        return names, sizes, recalls
    if isinstance(data, dict):
        rows = []
        for name, row in data.items():
            if not isinstance(row, dict):
                raise _BadFile(f'class {name!r} must map to {{"size": ..., "recall": ...}}, got '
                               f"{json.dumps(row)[:60]}")
            rows.append({"class": name, **row})
    elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
        rows = data
    else:
        raise _BadFile(f"unexpected JSON {type(data).__name__} {json.dumps(data)[:60]}; expected an object "
                       'like {"recalls": [...], "sizes": [...]} or a list of {"class", "size", "recall"} '
                       "objects (droplab allocate --help shows the layouts)")
    names, sizes, recalls = [], [], []
    for i, row in enumerate(rows):
        missing = [k for k in ("size", "recall") if k not in row]
        if missing:
            raise _BadFile(f"row {i} needs numeric 'size' and 'recall', missing {missing}")
        names.append(_name(row.get("class", i), f"row {i} 'class'"))
        sizes.append(_number(row["size"], f"row {i} 'size'"))
        recalls.append(_number(row["recall"], f"row {i} 'recall'"))
    return names, sizes, recalls


def _from_csv(text: str):
    first = text.lstrip().splitlines()[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")  # Excel writes ';' in some locales
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    try:
        for r in reader:
            if any(c.strip() for c in r):  # skip blank lines
                rows.append([c.strip() for c in r])
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise _BadFile(f"line {reader.line_num}: a cell longer than {MAX_CELL_CHARS:,} characters (the "
                           "limit of one CSV cell)") from None
        raise _BadFile(f"malformed CSV at line {reader.line_num} ({exc})") from None
    if not rows:
        raise _BadFile("no header row")
    header = [h.lower() for h in rows[0]]
    missing = [k for k in ("size", "recall") if k not in header]
    if missing:
        raise _BadFile(f"the CSV header {rows[0]} needs columns 'size' and 'recall' (and optionally "
                       f"'class'), missing {missing}")
    dup = sorted(h for h, times in Counter(header).items() if h and times > 1)
    if dup:
        raise _BadFile(f"the CSV header repeats the columns {dup}")
    col = {h: j for j, h in enumerate(header)}
    names, sizes, recalls = [], [], []
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise _BadFile(f"data row {i} {_quote(str(row), 80)} has {len(row)} cells, the header has "
                           f"{len(header)}")
        names.append(row[col["class"]] if "class" in col else str(i - 1))
        for key, out in (("size", sizes), ("recall", recalls)):
            cell = row[col[key]]
            if len(cell) > MAX_NUMBER_CHARS:
                raise _BadFile(f"data row {i} '{key}': a number of {len(cell):,} characters "
                               f"({_quote(cell)}): sizes and recalls have at most {MAX_NUMBER_CHARS} "
                               "characters")
            try:
                v = float(cell)
            except ValueError:
                raise _BadFile(f"data row {i} needs a numeric '{key}', got {_quote(cell)}") from None
            if not math.isfinite(v):
                raise _BadFile(f"data row {i} needs a finite numeric '{key}', got {_quote(cell)}")
            out.append(v)
    return names, sizes, recalls
