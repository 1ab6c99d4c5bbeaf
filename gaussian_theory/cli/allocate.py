"""``droplab allocate``: DRoP class densities and integer counts from per-class validation recalls
(Algorithm 1 of arXiv 2404.05579; README, "Two DRoP rules"), read from the command line or a file;
``--allocation-rule probit`` and ``--alpha`` give the two-Gaussian optimum and damped DRoP
(README, "Allocation rules"). With ``--logits``/``--labels`` (a query model's held-out validation
logits), it compares uniform, DRoP, damped DRoP, probit and the surrogate's minimax allocation by
their predicted per-class recalls after pruning (:mod:`gaussian_theory.recall_prediction`)."""

from __future__ import annotations

import csv
import io
import json
import numbers
import warnings
from pathlib import Path

import numpy as np

from ..allocation import drop_counts, drop_densities, uniform_counts
from ..options import ALLOCATION_RULES, RULES
from ..query_allocation import minimax_from_logits
from ..recall_prediction import logit_recalls, predict_recalls
from .format import format_table, warn

__all__ = ["FROM_LAYOUTS", "read_class_table", "allocation_report", "empty_class_warnings", "rule_label",
           "logits_report", "LOGITS_ALLOCATIONS", "register"]

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


class _BadFile(ValueError):
    """A content error; ``read_class_table`` prefixes the file name."""


def read_class_table(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Read per-class (names, sizes, recalls) from a CSV or JSON file in one of :data:`FROM_LAYOUTS`.

    Every problem is a one-line ``ValueError`` naming ``--from`` and the file.
    """
    path = Path(path)
    where = f"--from {str(path)!r}"
    if not path.is_file():
        raise ValueError(f"{where}: no such file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{where}: cannot read the file ({exc.strerror or exc})") from exc
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
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise _BadFile(f"duplicate class rows {dup}: each class must appear once")
    except _BadFile as exc:
        raise ValueError(f"{where}: {exc}") from None
    return names, np.array(sizes, dtype=float), np.array(recalls, dtype=float)


def _number(value, what: str) -> float:
    """A JSON number (not a boolean, string or null)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _BadFile(f"{what} must be a number, got {json.dumps(value)}")
    return float(value)


def _no_duplicate_keys(pairs):
    """``object_pairs_hook`` of :func:`json.loads`: a JSON object as a dict, rejecting repeated keys
    (which ``json`` would otherwise silently resolve to the last value)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _BadFile(f"duplicate JSON key {key!r} in one object (JSON would keep only its last value): "
                           "each class, and each field of a row, must appear once")
        out[key] = value
    return out


def _from_json(text: str):
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise _BadFile(f"invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
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
        names = [str(c) for c in cols.get("classes", range(n))]
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
        names.append(str(row.get("class", i)))
        sizes.append(_number(row["size"], f"row {i} 'size'"))
        recalls.append(_number(row["recall"], f"row {i} 'recall'"))
    return names, sizes, recalls


def _from_csv(text: str):
    first = text.lstrip().splitlines()[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")  # Excel writes ';' in some locales
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    rows = [r for r in rows if any(r)]  # blank lines
    if not rows:
        raise _BadFile("no header row")
    header = [h.lower() for h in rows[0]]
    missing = [k for k in ("size", "recall") if k not in header]
    if missing:
        raise _BadFile(f"the CSV header {rows[0]} needs columns 'size' and 'recall' (and optionally "
                       f"'class'), missing {missing}")
    dup = sorted({h for h in header if h and header.count(h) > 1})
    if dup:
        raise _BadFile(f"the CSV header repeats the columns {dup}")
    col = {h: j for j, h in enumerate(header)}
    names, sizes, recalls = [], [], []
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise _BadFile(f"data row {i} {row} has {len(row)} cells, the header has {len(header)}")
        names.append(row[col["class"]] if "class" in col else str(i - 1))
        for key, out in (("size", sizes), ("recall", recalls)):
            try:
                out.append(float(row[col[key]]))
            except ValueError:
                raise _BadFile(f"data row {i} needs a numeric '{key}', got {row[col[key]]!r}") from None
    return names, sizes, recalls


def rule_label(allocation_rule="drop", alpha=1.0) -> str:
    """``DRoP``, ``DRoP(a=0.7)``, ``probit``, ``probit(a=0.5)``: the column names of the report."""
    name = "DRoP" if allocation_rule == "drop" else allocation_rule
    return name + (f"(a={alpha:g})" if alpha != 1.0 else "")


def allocation_report(names, sizes, recalls, density, rule="paper", min_count=0, allocation_rule="drop",
                      alpha=1.0) -> str:
    """The text ``droplab allocate`` prints: the rule's densities and counts next to uniform counts."""
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
#: The rule-based allocations ``droplab allocate --logits`` compares, as (label, allocation rule,
#: alpha); uniform comes first and the surrogate's minimax last.
LOGITS_ALLOCATIONS = (("DRoP", "drop", 1.0), ("DRoP(a=0.7)", "drop", 0.7), ("probit", "probit", 1.0))


def _load_array(path, option: str) -> np.ndarray:
    """A numpy array from a ``.npy`` file; one-line errors naming ``option`` and the file."""
    where = f"{option} {str(path)!r}"
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{where}: no such file")
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{where}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive
        names = list(arr.files)
        arr.close()
        raise ValueError(f"{where}: expected one .npy array, got an .npz archive of {names}")
    return arr


def _logit_sizes(sizes, labels, k: int) -> tuple[np.ndarray, str]:
    """Training class sizes for ``--logits``: ``--sizes`` (K values, or one for every class), else the
    validation label counts; and a line saying which."""
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
                  n_mc=20_000, seed=0) -> str:
    r"""The text of ``droplab allocate --logits``: for uniform, DRoP, damped DRoP (:math:`\alpha=0.7`),
    probit (plus the ``extra`` ``(label, allocation_rule, alpha)``) and the minimax allocation of the
    calibrated tied surrogate, the kept densities (integer counts / class sizes), the predicted per-class
    recalls after pruning (prior shift on the logits; finite-sample LDA on the surrogate) and the
    predicted worst class (:func:`gaussian_theory.recall_prediction.predict_recalls`)."""
    rec = logit_recalls(logits, labels)  # validates both
    z, y = np.asarray(logits, dtype=float), np.asarray(labels).astype(np.int64)
    k = z.shape[1]
    sizes, size_note = _logit_sizes(sizes, y, k)
    kw = {"min_count": min_count}
    counts = {"uniform": uniform_counts(sizes, density, **kw)}
    for label, allocation_rule, alpha in (*LOGITS_ALLOCATIONS, *extra):
        counts[label] = drop_counts(rec, sizes, density, rule=rule, allocation_rule=allocation_rule,
                                    alpha=alpha, **kw)
    _, counts["minimax"], gm = minimax_from_logits(z, y, sizes, density, n_mc=n_mc, seed=seed, **kw)
    dens = {name: c / np.maximum(sizes, 1) for name, c in counts.items()}
    pred = predict_recalls(z, y, sizes, dens, surrogate=gm, trials=trials, n_mc=n_mc, seed=seed)
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
    if not (np.isfinite(args.alpha) and args.alpha >= 0):
        raise ValueError(f"--alpha must be a finite number >= 0 (1 = the rule itself, 0 = uniform), "
                         f"got {args.alpha:g}")
    z, y = _load_array(args.logits, "--logits"), _load_array(args.labels, "--labels")
    label = rule_label(args.allocation_rule, args.alpha)
    extra = () if label in {a for a, _, _ in LOGITS_ALLOCATIONS} or args.alpha == 0 else (
        (label, args.allocation_rule, args.alpha),)
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
              "logits": "--logits", "labels": "--labels"}


def _name_option(exc: Exception, from_file=None) -> Exception:
    """The library's error ``exc`` with the option that supplied the argument it names put in front
    (``--sizes: class_sizes must ...``; ``--from 'f.csv': class_sizes must ...`` for the file's columns)."""
    msg = str(exc)
    arg = next((a for a in _OPTION_OF if msg.startswith(f"{a} ") or msg.startswith(f"{a}=")), None)
    if arg is None:
        return exc
    where = (f"--from {str(from_file)!r}" if from_file and arg in ("class_sizes", "recalls")
             else _OPTION_OF[arg])
    return type(exc)(f"{where}: {msg}")


def _cmd_allocate(args) -> int:
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
    if args.min_per_class < 0:
        raise ValueError(f"--min-per-class must be a non-negative integer, got {args.min_per_class}")
    if not (np.isfinite(args.alpha) and args.alpha >= 0):
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
    p.add_argument("--trials", type=int, default=20,
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
    p.set_defaults(func=_cmd_allocate)
