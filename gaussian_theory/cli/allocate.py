"""``droplab allocate``: DRoP class densities and integer counts from per-class validation recalls
(Algorithm 1 of arXiv 2404.05579; README, "Two DRoP rules"), read from the command line or a file;
``--allocation-rule probit`` and ``--alpha`` give the two-Gaussian optimum and damped DRoP
(README, "Allocation rules"). With ``--logits``/``--labels`` (a query model's held-out validation
logits), it compares uniform, DRoP, damped DRoP, probit and the surrogate's minimax allocation by
their predicted per-class recalls after pruning (:mod:`gaussian_theory.recall_prediction`). With
``--runs`` (pilot runs), the allocation learned from them (:mod:`gaussian_theory.learned_recalls`) beside
uniform and DRoP (``--rule`` their rounding; ``--allocation-rule``/``--alpha`` one more rule compared;
``--sizes`` and ``--trials`` refused there). Every allocation comes from the registry
:mod:`gaussian_theory.quota_rules`."""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..options import ALLOCATION_RULES, RULES
from .format import format_table, memory_words, name_option, warn
from .inputs import load_array, read_limited

if TYPE_CHECKING:
    import numpy as np

# numpy and the library (scipy, the solvers) are imported inside the functions that use them, so that
# `droplab --help` and argument errors answer at once.

__all__ = ["FROM_LAYOUTS", "read_class_table", "allocation_report", "empty_class_warnings", "rule_label",
           "logits_report", "LOGITS_ALLOCATIONS", "runs_report", "RUNS_ALLOCATIONS", "register"]

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


def rule_label(allocation_rule="drop", alpha=1.0) -> str:
    """``DRoP``, ``DRoP(a=0.7)``, ``Probit``, ``Probit(a=0.5)``: the quota rule's label
    (:attr:`gaussian_theory.quota_rules.QuotaRule.method_label`), the column names of the report."""
    from ..quota_rules import make_rule

    return make_rule(allocation_rule, alpha=alpha).method_label


def allocation_report(names, sizes, recalls, density, rule="paper", min_count=0, allocation_rule="drop",
                      alpha=1.0) -> str:
    """The text ``droplab allocate`` prints: the rule's densities and counts next to uniform counts."""
    import numpy as np

    from ..allocation import drop_counts, drop_densities, uniform_counts

    kw = {"allocation_rule": allocation_rule, "alpha": alpha, "min_count": min_count}
    counts = drop_counts(recalls, sizes, density, rule=rule, **kw)
    with warnings.catch_warnings():  # the counts above already warned about small classes
        warnings.simplefilter("ignore")
        # Paper rule: Algorithm 1's real densities. Code rule: it allocates counts, so show count/size.
        dens = (drop_densities(recalls, sizes, density, **kw) if rule == "paper"
                else counts / np.maximum(sizes, 1))
        uni = uniform_counts(sizes, density, min_count=min_count)
    rows = [[n, f"{int(s)}", r, d, f"{int(c)}", f"{int(u)}"]
            for n, s, r, d, c, u in zip(names, sizes, recalls, dens, counts, uni)]
    label = rule_label(allocation_rule, alpha)
    total = (f"total kept: {int(counts.sum())} of {int(np.sum(sizes))} (density {density:g}, rule {rule!r}, "
             f"allocation {label})")
    return "\n".join([format_table(["class", "size", "recall", f"{label} density", f"{label} count",
                                    "uniform count"], rows), total])


def empty_class_warnings(names, sizes, recalls, density, rule="paper", min_count=0, allocation_rule="drop",
                         alpha=1.0) -> list[str]:
    """Warnings for an allocation that keeps nothing, or keeps nothing of a non-empty class."""
    import numpy as np

    from ..allocation import drop_counts

    counts = drop_counts(recalls, sizes, density, rule=rule, allocation_rule=allocation_rule, alpha=alpha,
                         min_count=min_count)
    if counts.sum() == 0:
        return [f"total kept is 0 of {int(np.sum(sizes))}: density {density:g} keeps no sample at all"]
    empty = [str(n) for n, s, c in zip(names, sizes, counts) if s > 0 and c == 0]
    if empty:
        return [f"{rule_label(allocation_rule, alpha)} keeps 0 samples of class(es) {', '.join(empty)}: "
                "a model trained on the pruned data never sees them"]
    return []


# ----------------------------------------------------------------------------- --logits mode
#: The quota rules ``droplab allocate --logits`` compares, as (name, alpha) of
#: :data:`gaussian_theory.quota_rules.QUOTA_RULES`, in this order (any ``extra`` rule before minimax).
LOGITS_ALLOCATIONS = (("uniform", 1.0), ("drop", 1.0), ("drop", 0.7), ("probit", 1.0), ("minimax", 1.0))


#: A numpy array from a ``.npy`` file; one-line errors naming the option and the file.
_load_array = load_array


def _logit_sizes(sizes, labels, k: int) -> tuple[np.ndarray, str]:
    """Training class sizes for ``--logits``: ``--sizes`` (K values, or one for every class), else the
    validation label counts; and a line saying which."""
    import numpy as np

    if sizes is None:
        counts = np.bincount(labels, minlength=k).astype(float)
        return counts, ("class sizes: the validation label counts (no --sizes given); the finite-sample "
                        "prediction uses them as training sizes: pass --sizes with the real training class "
                        "sizes (one number for all classes, e.g. --sizes 5000 for CIFAR-10)")
    arr = np.asarray(sizes, dtype=float)
    if arr.size == 1:
        arr = np.full(k, float(arr[0]))
    if arr.size != k:
        raise ValueError(f"--sizes: give one training class size per logit column ({k}) or one for all, got "
                         f"{arr.size}")
    return arr, "class sizes: from --sizes"


def logits_report(logits, labels, density, sizes=None, *, rule="paper", min_count=0, extra=(), trials=20,
                  n_mc=20_000, n_eval=10_000, seed=0) -> str:
    r"""The text of ``droplab allocate --logits``: for the quota rules of :data:`LOGITS_ALLOCATIONS`
    (uniform, DRoP, damped DRoP :math:`\alpha=0.7`, probit, plus the ``extra`` ``(name, alpha)``, and the
    minimax allocation of the calibrated tied surrogate), the kept densities (integer counts / class
    sizes), the predicted per-class recalls after pruning (prior shift on the logits; finite-sample LDA
    on the surrogate) and the predicted worst class
    (:func:`gaussian_theory.recall_prediction.predict_recalls`)."""
    import numpy as np

    from ..query_allocation import query_surrogate
    from ..quota_rules import QuotaInputs, make_rule
    from ..recall_prediction import check_finite_sample_memory, logit_recalls, predict_recalls

    rec = logit_recalls(logits, labels)  # validates both
    z, y = np.asarray(logits, dtype=float), np.asarray(labels).astype(np.int64)
    k = z.shape[1]
    check_finite_sample_memory(k, k, trials, n_eval)  # before the surrogate and its minimax allocation
    sizes, size_note = _logit_sizes(sizes, y, k)
    gm = query_surrogate(z, y, sizes, n_mc=n_mc, seed=seed)   # fitted once: minimax and the predictions
    inputs = QuotaInputs(recalls=rec, val_logits=z, val_labels=y, surrogate=gm)
    rules = [make_rule(name, rounding=rule, alpha=alpha) for name, alpha in LOGITS_ALLOCATIONS[:-1]]
    rules += [make_rule(name, rounding=rule, alpha=alpha) for name, alpha in extra]
    rules.append(make_rule(*LOGITS_ALLOCATIONS[-1][:1], rounding=rule))
    counts = {r.method_label: r.counts(sizes, density, inputs, min_count=min_count, seed=seed) for r in rules}
    dens = {name: c / np.maximum(sizes, 1) for name, c in counts.items()}
    pred = predict_recalls(z, y, sizes, dens, surrogate=gm, trials=trials, n_mc=n_mc, n_eval=n_eval,
                           seed=seed)
    names = list(counts)
    classes = [str(c) for c in range(k)]
    head = [f"query model: {z.shape[0]} validation samples, {k} classes, accuracy "
            f"{float(np.mean(z.argmax(axis=1) == y)):.4f}; surrogate: tied Gaussian (Ledoit-Wolf) of the "
            f"logits, calibrated to that accuracy; density {density:g}, rule {rule!r}", size_note, ""]
    out = head + ["kept densities (integer counts / class sizes)",
                  format_table(["class", "size", "val recall", *names],
                               [[c, f"{int(n)}", r, *(dens[a][i] for a in names)]
                                for i, (c, n, r) in enumerate(zip(classes, sizes, rec))]), ""]
    fields = (("prior shift", "prior_shift",
               "predicted recall after pruning, prior shift: argmax_j (logit_j + log d_j) on the validation "
               "logits"),
              ("finite sample", "finite_sample",
               f"predicted recall after pruning, finite sample: LDA refitted on round(d_k N_k) surrogate "
               f"samples ({trials} trials; standard error <= "
               f"{max(float(np.nanmax(p.finite_sample_se)) for p in pred.values()):.2g})"))
    for _, attr, title in fields:
        out += [title, format_table(["class", *names],
                                    [[c, *(getattr(pred[a], attr)[i] for a in names)]
                                     for i, c in enumerate(classes)]), ""]
    rows = []
    for a in names:
        row = [a, f"{int(counts[a].sum())}"]
        for _, attr, _ in fields:
            r = getattr(pred[a], attr)
            w = int(np.argmin(r))
            row += [float(np.mean(r)), f"{classes[w]} ({r[w]:.3f})"]
        rows.append(row)
    out += ["predicted after pruning (mean = balanced accuracy over classes)",
            format_table(["allocation", "kept", "mean (prior shift)", "worst class (prior shift)",
                          "mean (finite sample)", "worst class (finite sample)"], rows)]
    return "\n".join(out)


def _cmd_allocate_logits(args) -> int:
    for opt, val in (("--recalls", args.recalls), ("--from", args.from_file)):
        if val is not None:
            raise ValueError(f"give --logits/--labels, --recalls/--sizes or --from FILE, not {opt} with "
                             "--logits")
    if args.logits is None or args.labels is None:
        raise ValueError("--logits and --labels go together: give both .npy files (validation logits (n, K) "
                         "and labels (n,))")
    if args.min_per_class < 0:
        raise ValueError(f"--min-per-class must be a non-negative integer, got {args.min_per_class}")
    if args.trials < 1:
        raise ValueError(f"--trials must be a positive integer, got {args.trials}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if not (math.isfinite(args.alpha) and args.alpha >= 0):
        raise ValueError(f"--alpha must be a finite number >= 0 (1 = the rule itself, 0 = uniform), "
                         f"got {args.alpha:g}")
    z, y = _load_array(args.logits, "--logits"), _load_array(args.labels, "--labels")
    asked = (args.allocation_rule, args.alpha)
    extra = () if asked in LOGITS_ALLOCATIONS or args.alpha == 0 else (asked,)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = logits_report(z, y, args.density, args.sizes, rule=args.rule, min_count=args.min_per_class,
                                 extra=extra, trials=args.trials, seed=args.seed)
        except (ValueError, TypeError) as exc:
            raise _name_option(exc) from None
    print(text)
    for msg in dict.fromkeys(str(w.message).replace("pass min_count=", "pass --min-per-class")
                             for w in caught):
        warn(msg)
    return 0


#: library argument -> the ``droplab allocate`` option that supplies it
_OPTION_OF = {"class_sizes": "--sizes", "recalls": "--recalls", "min_count": "--min-per-class",
              "density": "--density", "alpha": "--alpha", "allocation_rule": "--allocation-rule",
              "logits": "--logits", "labels": "--labels", "trials": "--trials"}


def _name_option(exc: Exception, from_file=None) -> Exception:
    """The library's error ``exc`` with the option that supplied the argument it names put in front
    (``--sizes: class_sizes must ...``; ``--from 'f.csv': class_sizes must ...`` for the file's columns)."""
    # the command line has no max_memory or n_eval to raise or lower: say what it does have
    msg = memory_words(str(exc)).replace("lower trials or n_eval", "lower --trials")
    if from_file and msg.startswith(("class_sizes ", "recalls ")):
        return type(exc)(f"--from {str(from_file)!r}: {msg}")
    return name_option(type(exc)(msg), _OPTION_OF)


# ----------------------------------------------------------------------------- --runs mode
#: ``--trials``'s default (``--logits`` only: ``--runs`` refuses another value)
TRIALS_DEFAULT = 20

#: The quota rules ``droplab allocate --runs`` compares with the learned allocation, as (name, alpha).
RUNS_ALLOCATIONS = (("uniform", 1.0), ("drop", 1.0), ("drop", 0.7), ("learned", 1.0))


def runs_report(model, density, *, min_count=0, seed=0, names=None, rule="paper",
                extra=()) -> tuple[str, dict]:
    """The text of ``droplab allocate --runs`` and the learned allocation as a dict (what ``--json`` and
    ``--out`` write): for uniform, DRoP and DRoP(a=0.7) (from the query model's validation recalls, with
    the integer rounding ``rule``), the ``extra`` ``(name, alpha)`` rules, and the learned allocation (the
    counts maximising the expected minimum recall the fitted recall ``model`` predicts), the counts and
    every class's predicted recall with its interval."""
    import numpy as np

    from ..intervals import class_recalls
    from ..quota_rules import QuotaInputs, make_rule

    q = model.query
    rec = class_recalls(np.argmax(q.logits, axis=1), q.labels, q.n_classes)
    inputs = QuotaInputs(recalls=rec, recall_model=model)
    sizes = q.class_sizes
    names = names or [str(c) for c in range(q.n_classes)]
    counts, info, forecast = {}, {}, {}
    for name, alpha in (*RUNS_ALLOCATIONS[:-1], *extra, RUNS_ALLOCATIONS[-1]):
        r = make_rule(name, rounding=rule, alpha=alpha)
        extra = {}
        counts[r.method_label] = r.counts(sizes, density, inputs, min_count=min_count, seed=seed, info=extra)
        info[r.method_label] = extra
        forecast[r.method_label] = model.predict(counts[r.method_label])
    labels = list(counts)
    out = [f"recall model: gamma {model.gamma:g}, fitted on {model.n_runs} runs; query model {q.name}; "
           f"density {density:g}", "", "class counts",
           format_table(["class", "size", "val recall", *labels],
                        [[c, f"{int(n)}", r, *(f"{int(counts[a][i])}" for a in labels)]
                         for i, (c, n, r) in enumerate(zip(names, sizes, rec))]), "",
           "predicted recall [95% interval]",
           format_table(["class", *labels],
                        [[c, *(f"{forecast[a].recalls[i]:.3f} [{forecast[a].lower[i]:.3f}, "
                               f"{forecast[a].upper[i]:.3f}]" for a in labels)]
                         for i, c in enumerate(names)]), ""]
    rows = []
    for a in labels:
        f = forecast[a]
        rows.append([a, f"{int(counts[a].sum())}", float(np.mean(f.recalls)),
                     f"{names[f.worst]} ({f.recalls[f.worst]:.3f})"])
    out += ["predicted (mean = balanced accuracy over classes)",
            format_table(["allocation", "kept", "mean recall", "worst class"], rows)]
    learned = labels[-1]
    f = forecast[learned]
    result = {"counts": counts[learned].tolist(), "label": learned, "density": density,
              "predicted": f.recalls.tolist(), "lower": f.lower.tolist(), "upper": f.upper.tolist(),
              "expected_min_recall": info[learned]["expected_min_recall"], "gamma": model.gamma,
              "n_runs": model.n_runs, "query": q.name,
              "compared": {a: {"counts": counts[a].tolist(), "predicted": forecast[a].recalls.tolist()}
                           for a in labels}}
    return "\n".join(out), result


def _cmd_allocate_runs(args) -> int:
    from ..validation import check_density
    from .learned import load_recall_model

    for opt, val in (("--recalls", args.recalls), ("--from", args.from_file), ("--logits", args.logits),
                     ("--labels", args.labels)):
        if val is not None:
            raise ValueError(f"give --runs, --logits/--labels, --recalls/--sizes or --from FILE, not {opt} "
                             "with --runs")
    if args.sizes is not None:
        raise ValueError("--sizes does not go with --runs: the class sizes are those of the runs' training "
                         "set (dataset.class_sizes in their JSONs)")
    if args.trials != TRIALS_DEFAULT:
        raise ValueError(f"--trials {args.trials} goes with --logits (the finite-sample prediction); --runs "
                         "predicts with the recall model fitted on the runs")
    # every option checked before the runs are read and the model fitted
    try:
        density = check_density(args.density)
    except (ValueError, TypeError) as exc:
        raise _name_option(exc) from None
    if args.min_per_class < 0:
        raise ValueError(f"--min-per-class must be a non-negative integer, got {args.min_per_class}")
    if not (math.isfinite(args.alpha) and args.alpha >= 0):
        raise ValueError(f"--alpha must be a finite number >= 0 (1 = the rule itself, 0 = uniform), "
                         f"got {args.alpha:g}")
    if args.out is not None and Path(args.out).is_dir():
        raise ValueError(f"--out {args.out!r}: is a folder, expected the file to write the allocation to")
    # --allocation-rule/--alpha: one more rule compared (as with --logits); --rule: DRoP's integer rounding
    asked = (args.allocation_rule, args.alpha)
    extra = () if asked in RUNS_ALLOCATIONS or args.alpha == 0 else (asked,)
    from .format import Progress

    with Progress(3, enabled=not args.no_progress, desc="droplab allocate") as progress:
        model, _ = load_recall_model(args.runs, seeds=args.seeds, seed=args.seed, progress=progress)
        progress("searching the learned allocation")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                text, result = runs_report(model, density, min_count=args.min_per_class, seed=args.seed,
                                           rule=args.rule, extra=extra)
            except (ValueError, TypeError) as exc:
                raise _name_option(exc) from None
    if args.out is not None:
        Path(args.out).write_text(json.dumps(result) + "\n")
    print(json.dumps(result) if args.json else text)
    for msg in dict.fromkeys(str(w.message).replace("pass min_count=", "pass --min-per-class")
                             for w in caught):
        warn(msg)
    return 0


def _cmd_allocate(args) -> int:
    if args.runs is not None:
        return _cmd_allocate_runs(args)
    if args.json or args.out is not None or args.seeds is not None:
        raise ValueError("--json, --out and --seeds go with --runs")
    if args.logits is not None or args.labels is not None:
        return _cmd_allocate_logits(args)
    names, sizes, recalls = _class_inputs(args)
    with warnings.catch_warnings(record=True) as caught:  # the library's warnings, printed once each
        warnings.simplefilter("always")
        kw = {"allocation_rule": args.allocation_rule, "alpha": args.alpha}
        try:
            text = allocation_report(names, sizes, recalls, args.density, args.rule, args.min_per_class, **kw)
        except (ValueError, TypeError) as exc:
            raise _name_option(exc, args.from_file) from None
        ours = empty_class_warnings(names, sizes, recalls, args.density, args.rule, args.min_per_class, **kw)
    print(text)
    theirs = list(dict.fromkeys(str(w.message).replace("pass min_count=", "pass --min-per-class")
                                for w in caught))
    # Ours name the empty classes; when the library already warned about them, only a total of 0 is news.
    for msg in theirs + [m for m in ours if not theirs or m.startswith("total kept is 0")]:
        warn(msg)
    return 0


def _class_inputs(args):
    """(names, sizes, recalls) from --from or from --recalls/--sizes (never both)."""
    import numpy as np

    if args.min_per_class < 0:
        raise ValueError(f"--min-per-class must be a non-negative integer, got {args.min_per_class}")
    if not (math.isfinite(args.alpha) and args.alpha >= 0):
        raise ValueError(f"--alpha must be a finite number >= 0 (1 = the rule itself, 0 = uniform), "
                         f"got {args.alpha:g}")
    if args.from_file:
        if args.recalls is not None or args.sizes is not None:
            raise ValueError("give either --from FILE or --recalls/--sizes, not both")
        names, sizes, recalls = read_class_table(args.from_file)
    else:
        if args.recalls is None or args.sizes is None:
            raise ValueError("allocate needs --recalls and --sizes, or --from FILE, or --logits and --labels")
        recalls, sizes = np.asarray(args.recalls), np.asarray(args.sizes)
        names = [str(k) for k in range(len(recalls))]
    return names, sizes, recalls


def register(sub) -> None:
    """Add ``droplab allocate`` to the sub-parsers ``sub``."""
    p = sub.add_parser("allocate", help="DRoP class densities and counts from your recalls",
                       description="DRoP quotas from per-class validation recalls of a query model: "
                       "densities (paper Algorithm 1) and exact integer counts, next to uniform counts; "
                       "--allocation-rule probit and --alpha give the two-Gaussian optimum and damped "
                       "DRoP. With --logits/--labels (held-out validation logits of the query model): "
                       "uniform, DRoP, DRoP(a=0.7), probit and minimax compared by their predicted recalls "
                       "after pruning.",
                       epilog=FROM_LAYOUTS)
    p.add_argument("--recalls", nargs="+", type=float, metavar="R",
                   help="per-class validation recalls in [0, 1] (with --sizes; not with --from)")
    p.add_argument("--sizes", nargs="+", type=float, metavar="N",
                   help="per-class training-set sizes, one per recall (with --recalls; not with --from); "
                   "with --logits optional: K sizes or one for every class (default: the validation label "
                   "counts)")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="read classes, sizes and recalls from a CSV or JSON file instead of "
                   "--recalls/--sizes (layouts below)")
    p.add_argument("--logits", metavar="VAL_LOGITS.npy",
                   help="a query model's held-out validation logits, an (n, K) .npy array (with --labels; "
                   "not with --recalls or --from): compare uniform, DRoP, DRoP(a=0.7), probit and the "
                   "surrogate's minimax by their predicted per-class recalls after pruning")
    p.add_argument("--labels", metavar="VAL_LABELS.npy",
                   help="the (n,) integer labels 0..K-1 of --logits, a .npy array")
    p.add_argument("--trials", type=int, default=TRIALS_DEFAULT,
                   help="with --logits: training samples averaged by the finite-sample prediction")
    p.add_argument("--seed", type=int, default=0,
                   help="with --logits: seed of the surrogate's calibration, the minimax allocation and the "
                   "Monte Carlo predictions")
    p.add_argument("--density", type=float, required=True,
                   help="dataset density d: fraction of the training data kept, in (0, 1]")
    p.add_argument("--rule", choices=RULES, default="paper",
                   help="'paper': densities ∝ 1-recall (Algorithm 1); 'code': counts ∝ 1-recall "
                   "(official repository); they differ on imbalanced data")
    p.add_argument("--allocation-rule", choices=ALLOCATION_RULES, default="drop",
                   help="'drop': densities ∝ (1-recall)^alpha (DRoP at alpha = 1); 'probit': densities ∝ "
                   "phi(Phi^-1(recall))^alpha, the two-Gaussian worst-class optimum from recalls alone")
    p.add_argument("--alpha", type=float, default=1.0,
                   help="exponent on the rule's weights: 1 = the rule itself, 0 = uniform, 0.7 = damped "
                   "DRoP (near-optimal over the two-Gaussian grid of figure 4)")
    p.add_argument("--min-per-class", type=int, default=0, metavar="M",
                   help="keep at least min(M, N_k) samples of every class k (a floor under DRoP's and "
                   "uniform's quotas; the rest of the budget is allocated as usual)")
    p.add_argument("--runs", nargs="+", metavar="DIR",
                   help="folders of run JSONs (pilot runs with random within-class pruning, and their "
                   "query_logits/): fit the recall model learned from runs and print the learned allocation "
                   "(the counts maximising the predicted expected minimum recall) beside uniform and DRoP, "
                   "with every class's predicted recall and interval; --rule is DRoP's rounding there, and "
                   "--allocation-rule/--alpha add that rule to the comparison (--sizes, --trials: not with "
                   "--runs)")
    p.add_argument("--seeds", type=int, nargs="+", metavar="S",
                   help="with --runs: fit only on these seeds' runs (one practitioner's pilots)")
    p.add_argument("--json", action="store_true",
                   help="with --runs: print the learned allocation as one JSON object (\"counts\", "
                   "\"label\", \"predicted\", ...), the file droplab empirical run --counts reads")
    p.add_argument("--out", metavar="FILE", help="with --runs: also write that JSON to FILE")
    p.add_argument("--no-progress", action="store_true", help="with --runs: no progress line on stderr")
    p.set_defaults(func=_cmd_allocate)
