r"""The pilot-run table: runs of your own training loop, in a documented format the recall model of
:mod:`gaussian_theory.learned_recalls` reads (``droplab predict --runs``, ``droplab allocate --runs``).

Per run, the samples it kept of each class and the per-class validation recalls it reached, in one JSON
or CSV file your loop writes (:func:`write_run_table` writes one); the query model's validation logits
are named separately (``--query``; ``query=`` of :func:`gaussian_theory.pilot_runs.read_pilot_runs`).
JSON::

    {"class_sizes": [5000, 5000, 500],
     "runs": [{"counts": [500, 500, 50], "recalls": [0.91, 0.84, 0.42], "seed": 0, "label": "uniform-0.1"},
              {"counts": [2000, 150, 200], "recalls": [0.95, 0.61, 0.55]}]}

``class_sizes``: the training-set size of each class (what every run was pruned from); per run,
``counts`` (K integers in ``[0, class_sizes]``, not all 0) and ``recalls`` (K numbers in [0, 1]: each
class's recall on the validation set of the query logits), optionally ``seed`` (an integer, default 0),
``label`` (a name) and ``n_eval`` (the validation samples per class the recalls were measured on;
default: those of the query logits). Other keys are ignored. CSV: one row per run and class, a header
naming the columns in any order (``seed`` optional; other columns are ignored)::

    run,class,count,recall,size,seed
    uniform-0.1,0,500,0.91,5000,0
    uniform-0.1,1,500,0.84,5000,0
    ...

``class`` runs over ``0..K-1`` once per run; ``size`` is the class's training-set size, the same in every
run. Every problem is a ``ValueError`` naming the file, the run and what is missing or wrong.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .allocation import check_class_sizes

__all__ = ["RunTable", "read_run_table", "write_run_table", "RUN_TABLE_COLUMNS", "MAX_TABLE_BYTES"]

#: The columns of a CSV pilot-run table (``seed`` optional).
RUN_TABLE_COLUMNS = ("run", "class", "count", "recall", "size", "seed")

#: Largest pilot-run table read (a table is a few numbers per run and class).
MAX_TABLE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class RunTable:
    """A pilot-run table (module docstring): ``class_sizes`` (K,), and per run (R of them) ``counts``
    (R, K), ``recalls`` (R, K), ``seeds`` (R,), ``labels`` (R,) and ``n_eval`` ((R, K), or None: the
    query logits' validation counts)."""

    class_sizes: np.ndarray
    counts: np.ndarray
    recalls: np.ndarray
    seeds: tuple
    labels: tuple
    n_eval: np.ndarray | None = None
    name: str = ""


class _Bad(ValueError):
    """A content error; :func:`read_run_table` prefixes the file."""


def _int(value, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or value < minimum or abs(value) > 2**53:
        raise _Bad(f"{what} must be an integer >= {minimum}, got {json.dumps(value)[:40]}")
    return int(value)


def _vector(values, what: str, k: int | None, kind: str) -> list:
    if not isinstance(values, list) or not values:
        raise _Bad(f"{what} must be a non-empty list of {kind}, got {json.dumps(values)[:60]}")
    if k is not None and len(values) != k:
        raise _Bad(f"{what} has {len(values)} entries, the table has {k} classes (class_sizes)")
    return values


def _check_run(i, counts, recalls, sizes, n_eval=None, label="") -> tuple:
    what = f"run {i}" + (f" ({label!r})" if label and label != f"run {i}" else "")
    k = len(sizes)
    c = [_int(v, f"{what} counts[{j}]")
         for j, v in enumerate(_vector(counts, f"{what} counts", k, "integers"))]
    over = [j for j in range(k) if c[j] > sizes[j]]
    if over:
        raise _Bad(f"{what} keeps {c[over[0]]} samples of class {over[0]}, more than its class size "
                   f"{sizes[over[0]]}")
    if sum(c) < 1:
        raise _Bad(f"{what} keeps no sample at all (counts all 0)")
    r = _vector(recalls, f"{what} recalls", k, "numbers in [0, 1]")
    for j, v in enumerate(r):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise _Bad(f"{what} recalls[{j}] must be a number in [0, 1], got {json.dumps(v)[:40]}")
    if n_eval is not None:
        n_eval = [_int(v, f"{what} n_eval[{j}]", 1)
                  for j, v in enumerate(_vector(n_eval, f"{what} n_eval", k, "positive integers"))]
    return c, [float(v) for v in r], n_eval


def _from_json(data) -> tuple:
    if not isinstance(data, dict) or "runs" not in data or "class_sizes" not in data:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise _Bad(f"a JSON pilot-run table is an object with \"class_sizes\" and \"runs\", got {keys}")
    sizes = [_int(v, f"class_sizes[{j}]")
             for j, v in enumerate(_vector(data["class_sizes"], "class_sizes", None, "integers"))]
    runs = data["runs"]
    if not isinstance(runs, list) or not runs:
        raise _Bad(f"\"runs\" must be a non-empty list of runs, got {json.dumps(runs)[:60]}")
    out = []
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise _Bad(f"run {i} must be an object with \"counts\" and \"recalls\", got "
                       f"{json.dumps(run)[:60]}")
        missing = [key for key in ("counts", "recalls") if key not in run]
        if missing:
            raise _Bad(f"run {i} lacks {missing} (each run needs \"counts\" and \"recalls\", one number per "
                       f"class; it has {sorted(run)})")
        label = run.get("label", f"run {i}")
        if not isinstance(label, str):
            raise _Bad(f"run {i} \"label\" must be a string, got {json.dumps(label)[:40]}")
        seed = _int(run.get("seed", 0), f"run {i} seed")
        c, r, n = _check_run(i, run["counts"], run["recalls"], sizes, run.get("n_eval"), label)
        out.append((c, r, n, seed, label))
    return sizes, out


def _from_csv(text: str) -> tuple:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise _Bad("no header row")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in RUN_TABLE_COLUMNS[:5] if c not in header]
    if missing:
        raise _Bad(f"the CSV header {rows[0]} lacks the columns {missing} (a pilot-run table has one row per "
                   f"run and class: {', '.join(RUN_TABLE_COLUMNS[:5])}, and optionally seed)")
    col = {h: j for j, h in enumerate(header)}
    runs: dict[str, dict] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise _Bad(f"line {line} has {len(row)} cells, the header {len(header)}")
        cell = {h: row[j].strip() for h, j in col.items()}
        try:
            k = int(cell["class"])
            values = {key: float(cell[key]) for key in ("count", "recall", "size")}
            seed = float(cell["seed"]) if cell.get("seed") else 0
        except ValueError:
            raise _Bad(f"line {line}: class, count, recall, size (and seed) must be numbers, got "
                       f"{[cell[c] for c in ('class', 'count', 'recall', 'size')]}") from None
        if k < 0:
            raise _Bad(f"line {line}: class must be 0..K-1, got {k}")
        run = runs.setdefault(cell["run"], {"seed": seed, "rows": {}, "line": line})
        if seed != run["seed"]:
            raise _Bad(f"line {line}: run {cell['run']!r} has two seeds ({run['seed']:g} and {seed:g})")
        if k in run["rows"]:
            raise _Bad(f"line {line}: run {cell['run']!r} has class {k} twice")
        run["rows"][k] = values
    if not runs:
        raise _Bad("a header and no runs")
    k_all = 1 + max(k for run in runs.values() for k in run["rows"])
    sizes = None
    out = []
    for i, (name, run) in enumerate(runs.items()):
        absent = [k for k in range(k_all) if k not in run["rows"]]
        if absent:
            raise _Bad(f"run {name!r} has no row for class(es) {absent} (each run needs a row for every "
                       f"class 0..{k_all - 1})")
        these = [run["rows"][k]["size"] for k in range(k_all)]
        if sizes is None:
            sizes = [_int(v, f"size of class {k}") for k, v in enumerate(these)]
        elif these != sizes:
            raise _Bad(f"run {name!r} gives the class sizes {these}, another run {sizes}: the size column is "
                       "each class's training-set size, the same in every run")
        c = [run["rows"][k]["count"] for k in range(k_all)]
        r = [run["rows"][k]["recall"] for k in range(k_all)]
        c, r, _ = _check_run(i, c, r, sizes, None, name)
        out.append((c, r, None, _int(run["seed"], f"run {name!r} seed"), name))
    return sizes, out


def read_run_table(path) -> RunTable:
    """A pilot-run table of your own runs (JSON or CSV, module docstring) from ``path``; every problem is
    a ``ValueError`` naming the file and the run."""
    p = Path(path)
    where = f"pilot-run table {str(path)!r}"
    if p.is_dir() or not p.exists():
        raise ValueError(f"{where}: {'is a folder, expected a file' if p.is_dir() else 'no such file'}")
    with open(p, "rb") as fh:
        raw = fh.read(MAX_TABLE_BYTES + 1)
    try:
        if len(raw) > MAX_TABLE_BYTES:
            raise _Bad(f"larger than {MAX_TABLE_BYTES // 2**20} MiB")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _Bad(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if p.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "["):
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise _Bad(f"not valid JSON ({str(exc)[:80]})") from None
            sizes, runs = _from_json(data)
        else:
            sizes, runs = _from_csv(text)
        try:
            sizes = check_class_sizes(sizes)
        except (ValueError, TypeError) as exc:
            raise _Bad(str(exc)) from None
    except _Bad as exc:
        raise ValueError(f"{where}: {exc}") from None
    n_eval = None
    if any(n is not None for _, _, n, _, _ in runs):
        if not all(n is not None for _, _, n, _, _ in runs):
            raise ValueError(f"{where}: give \"n_eval\" for every run or for none")
        n_eval = np.array([n for _, _, n, _, _ in runs], dtype=np.int64)
    return RunTable(sizes, np.array([c for c, *_ in runs], dtype=np.int64),
                    np.array([r for _, r, *_ in runs], dtype=float), tuple(s for *_, s, _ in runs),
                    tuple(lab for *_, lab in runs), n_eval, name=p.name)


def write_run_table(path, class_sizes, runs) -> Path:
    """Write your own runs as a pilot-run table at ``path`` (``.csv``: the CSV layout, else JSON) and
    return the path; it is read back by :func:`read_run_table` (checked before writing).

    Parameters
    ----------
    path : str or path-like
        The file to write.
    class_sizes : sequence of int
        The training-set size of each class.
    runs : iterable of dict
        One dict per run: ``"counts"`` and ``"recalls"`` (K numbers each), optionally ``"seed"``,
        ``"label"`` and ``"n_eval"`` (JSON only).
    """
    from .atomic import atomic_write

    sizes = [int(v) for v in check_class_sizes(class_sizes)]
    rows = []
    for i, run in enumerate(runs):
        run = dict(run)
        run["counts"] = [int(v) for v in np.asarray(run["counts"]).tolist()]
        run["recalls"] = [float(v) for v in np.asarray(run["recalls"], dtype=float).tolist()]
        try:
            _check_run(i, run["counts"], run["recalls"], sizes, run.get("n_eval"), run.get("label", ""))
        except _Bad as exc:
            raise ValueError(f"runs: {exc}") from None
        rows.append(run)
    if not rows:
        raise ValueError("runs must hold at least one run")
    p = Path(path)
    if p.suffix.lower() == ".csv":
        if any("n_eval" in r for r in rows):
            raise ValueError("runs: n_eval is written to JSON tables only (the CSV layout has no column)")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(RUN_TABLE_COLUMNS)
        for i, r in enumerate(rows):
            for k in range(len(sizes)):
                w.writerow([r.get("label", f"run {i}"), k, r["counts"][k], repr(r["recalls"][k]), sizes[k],
                            int(r.get("seed", 0))])
        text = buf.getvalue()
    else:
        keep = ("counts", "recalls", "seed", "label", "n_eval")
        lines = [json.dumps({k: r[k] for k in keep if k in r}) for r in rows]   # one run a line
        text = f'{{"class_sizes": {json.dumps(sizes)},\n "runs": [\n  ' + ",\n  ".join(lines) + "\n ]}\n"

    def write(tmp):
        Path(tmp).write_text(text, encoding="utf-8")

    return atomic_write(p, write)

