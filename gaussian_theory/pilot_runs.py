r"""Pilot runs and the query model, as the recall model of :mod:`gaussian_theory.learned_recalls` takes
them: :class:`QueryLogits`, :class:`PilotRun`, and :func:`read_pilot_runs`, the one reader of the two
ways runs reach it.

* **Runs of droplab's own pipeline** (``droplab empirical run``): a folder of run JSONs, each with its
  seed's query logits under ``query_logits/``.
* **Runs of your own training loop**: a pilot-run table (JSON or CSV; the format:
  :mod:`gaussian_theory.run_table`) and the query model's validation logits, named separately
  (``query=``; ``droplab predict --query``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .allocation import check_class_sizes
from .query_allocation import check_logits_labels
from .run_table import RunTable, read_run_table

__all__ = ["QueryLogits", "PilotRun", "read_pilot_runs", "table_runs", "load_query_logits_file",
           "read_query_logits"]


# ----------------------------------------------------------------------------- the objects
@dataclass(frozen=True)
class QueryLogits:
    """A query model's held-out validation logits ``(n, K)``, their labels ``(n,)`` and the class sizes
    ``(K,)`` of the training set it was trained on (the reference of the densities ``n_k / N_k``);
    ``class_counts`` (K,), the validation samples per class, is derived."""

    logits: np.ndarray
    labels: np.ndarray
    class_sizes: np.ndarray
    name: str = ""
    class_counts: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        z, y = check_logits_labels(self.logits, self.labels)
        sizes = check_class_sizes(self.class_sizes)
        if sizes.size != z.shape[1]:
            raise ValueError(f"class_sizes has {sizes.size} entries but the logits have {z.shape[1]} classes")
        if (sizes < 1).any():
            raise ValueError(f"class_sizes must be positive (the query model saw every class), got "
                             f"{sizes.tolist()}")
        object.__setattr__(self, "logits", z)
        object.__setattr__(self, "labels", y)
        object.__setattr__(self, "class_sizes", sizes)
        object.__setattr__(self, "class_counts", np.bincount(y, minlength=z.shape[1]))

    @property
    def n_classes(self) -> int:
        return self.logits.shape[1]


@dataclass(frozen=True)
class PilotRun:
    """One training run: ``counts`` (K,) samples kept per class, ``recalls`` (K,) measured validation
    recalls, ``n_eval`` (K,) validation samples per class, and the ``query`` model of its seed."""

    counts: np.ndarray
    recalls: np.ndarray
    n_eval: np.ndarray
    query: QueryLogits
    seed: int = 0
    label: str = ""

    def __post_init__(self):
        k = self.query.n_classes
        counts = check_class_sizes(self.counts, "counts")
        if counts.size != k or (counts > self.query.class_sizes).any() or counts.sum() < 1:
            raise ValueError(f"counts must be {k} integers in [0, class_sizes "
                             f"{self.query.class_sizes.tolist()}], not all 0, got {counts.tolist()}")
        rec = np.asarray(self.recalls, dtype=float)
        if rec.shape != (k,) or not np.all((rec >= 0) & (rec <= 1)):
            raise ValueError(f"recalls must be {k} numbers in [0, 1], got {self.recalls!r}")
        n_eval = check_class_sizes(self.n_eval, "n_eval")
        if n_eval.size != k or (n_eval < 1).any():
            raise ValueError(f"n_eval must be {k} positive integers, got {n_eval.tolist()}")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "recalls", rec)
        object.__setattr__(self, "n_eval", n_eval)


# ----------------------------------------------------------------------------- runs of droplab's pipeline
_OWN_QUERY = "query=(logits, labels); droplab: --query FILE --query-labels FILE"


def load_query_logits_file(path) -> dict:
    """Every array of a query-logits ``.npz`` written by ``droplab empirical run``
    (``OUT/query_logits/<id>.npz``), read without pickles. A missing file, or one that is not such an
    archive (corrupt, cut short, a ``.npy``, pickled objects), is a ``ValueError`` naming it. The one
    reader of the format (:mod:`empirical.query_logits` uses it too)."""
    import zipfile
    import zlib

    path = Path(path)
    where = f"query logits file {str(path)!r}"
    if not path.is_file():
        raise ValueError(f"{where} does not exist")
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{where}: not a readable .npz archive ({type(exc).__name__}: {exc}); logits of "
                         f"your own in another format: pass them with their labels ({_OWN_QUERY})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{where}: one .npy array, expected an .npz archive of val_logits and val_labels "
                         "(droplab empirical run writes OUT/query_logits/<id>.npz); logits of your own: "
                         f"pass them with their labels ({_OWN_QUERY})")
    with z:
        try:
            return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise ValueError(f"{where}: its arrays cannot be read, the archive is damaged "
                             f"({type(exc).__name__}: {exc})") from None


def read_query_logits(path, class_sizes) -> QueryLogits:
    """A query model's logits written by ``droplab empirical run`` (``OUT/query_logits/<id>.npz``: its
    validation logits and labels), with the ``class_sizes`` of its training set
    (:func:`load_query_logits_file` reads it)."""
    z = load_query_logits_file(path)
    if "val_logits" not in z or "val_labels" not in z:
        raise ValueError(f"query logits file {str(path)!r} has no val_logits/val_labels arrays (keys: "
                         f"{sorted(z)})")
    return QueryLogits(z["val_logits"], z["val_labels"], class_sizes, name=Path(path).name)


def table_runs(table: RunTable, query: QueryLogits) -> list[PilotRun]:
    """The runs of a pilot-run table (:func:`gaussian_theory.run_table.read_run_table`) as
    :class:`PilotRun` objects of the query model ``query``: its class sizes must be the table's;
    ``n_eval`` defaults to its validation counts per class."""
    if not isinstance(table, RunTable):
        raise TypeError(f"table must be a RunTable (read_run_table reads one), got {type(table).__name__}")
    if not isinstance(query, QueryLogits):
        raise TypeError(f"query must be a QueryLogits, got {type(query).__name__}")
    if query.class_sizes.tolist() != table.class_sizes.tolist():
        raise ValueError(f"pilot-run table {table.name!r} has class_sizes {table.class_sizes.tolist()}, "
                         f"but the query model {query.name!r} was given for {query.class_sizes.tolist()}")
    n_eval = [query.class_counts] * len(table.seeds) if table.n_eval is None else table.n_eval
    return [PilotRun(c, r, n, query, seed=s, label=lab)
            for c, r, n, s, lab in zip(table.counts, table.recalls, n_eval, table.seeds, table.labels)]


def _query_for(query, class_sizes, where: str) -> QueryLogits:
    """``query`` (a :class:`QueryLogits`, the path of a query-logits ``.npz``, or a pair ``(logits,
    labels)``) as the query model of runs with ``class_sizes``."""
    if isinstance(query, (str, Path)):
        return read_query_logits(query, class_sizes)
    if isinstance(query, tuple):
        name = query[2] if len(query) > 2 else "query logits"
        return QueryLogits(query[0], query[1], class_sizes, name=name)
    if query.class_sizes.tolist() != np.asarray(class_sizes).tolist():
        raise ValueError(f"{where} has class sizes {np.asarray(class_sizes).tolist()}, but the query model "
                         f"{query.name!r} was given for {query.class_sizes.tolist()}")
    return query


#: The run-configuration fields that define the training a recall model transfers over (``droplab
#: empirical run``'s RunConfig, torch-free here): everything but the allocation, the seed and where the run
#: ran. Fields added after runs were recorded count, when missing, as the value they held before.
_TRAINING_FIELDS = {"dataset": None, "data_format": "auto", "model": None, "recipe": None, "epochs": None,
                    "batch_size": None, "lr": None, "epoch_rule": "fixed", "augment": True, "shift": 4,
                    "channels_last": None, "precision": "auto", "limit_per_class": None, "synthetic": {},
                    "eval_limit_per_class": None, "query_epochs": None, "query_inits": None,
                    "query_augment": False, "data_id": None}   # data_id: runs on other data never mix


def _family(config: dict) -> str:
    """The training configuration of a run, without its allocation (what the predictor transfers over)."""
    return json.dumps({k: config.get(k, default) for k, default in _TRAINING_FIELDS.items()}, sort_keys=True,
                      default=str)


def _is_table(d) -> bool:
    return isinstance(d, dict) and "runs" in d and "class_sizes" in d and "status" not in d


def _skip_reason(d) -> tuple[str | None, bool]:
    """Why a parsed JSON file is not a usable run (None: it is one), and whether that goes unsaid (a
    count file of ``droplab pilots`` beside the runs)."""
    if not (isinstance(d, dict) and {"status", "config", "final"} <= set(d)):
        if isinstance(d, dict) and ("counts" in d or "densities" in d or "allocations" in d):
            return "an allocation (count) file", True
        return ("neither a run JSON of droplab empirical run (status, config, final) nor a pilot-run table "
                "(class_sizes, runs)"), False
    if d.get("status") != "done":
        return f"not finished (status {d.get('status')!r})", False
    cfg = d["config"]
    if not isinstance(cfg, dict):
        return f"config is not an object ({json.dumps(cfg)[:30]})", False
    score = cfg.get("score")
    if not (isinstance(score, str) and score.strip().lower() == "random"):   # "Random" is random
        return f"with score {score!r} (not random within-class pruning)", False
    return None, False


def _warn_skipped(skipped: dict, n_files: int, paths) -> None:
    if not skipped:
        return
    n = sum(len(v) for v in skipped.values())
    parts = [f"{len(files)} {reason}, e.g. {files[0].name!r}" for reason, files in skipped.items()]
    where = " ".join(str(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths))
    warnings.warn(f"skipped {n} of {n_files} JSON files under {where}: {'; '.join(parts)}. The recall model "
                  "is fitted on finished runs with random within-class pruning (and pilot-run tables)",
                  UserWarning, stacklevel=3)


def read_pilot_runs(paths, *, seeds=None, exclude=None, query=None) -> list[PilotRun]:
    """The runs with random within-class pruning under ``paths`` (files, or folders searched recursively
    for ``*.json``): run JSONs of ``droplab empirical run``, and pilot-run tables of your own runs
    (module docstring; a CSV table is read when named directly).

    Parameters
    ----------
    paths : path or sequence of paths
        Files and folders.
    seeds : set of int, optional
        Keep only these seeds' runs.
    exclude : callable, optional
        ``exclude(run_json) -> bool`` drops run JSONs.
    query : QueryLogits, path, or (logits, labels[, name]), optional
        The query model of every run: a :class:`QueryLogits`, the path of a query-logits ``.npz``
        (:func:`read_query_logits`), or a pair of arrays (validation logits and labels; a third item
        names them). Required for
        pilot-run tables; for run JSONs, default: each seed's random-score query logits
        ``query_logits/*_random_s<seed>_*.npz`` beside the JSONs, or in the folder above them.

    Returns
    -------
    list of PilotRun

    Notes
    -----
    Every run JSON must share one training configuration (model, recipe, epochs, ...). Only the
    validation half is used. Nothing is skipped without a word: a ``.json`` file that is not valid JSON
    gets a ``UserWarning`` naming it; files that are not usable runs (unfinished, another score than
    random -- ``"Random"`` counts as random --, not a run at all) one ``UserWarning`` counting them by
    reason, with an example each; count files of ``droplab pilots`` and runs of other seeds or
    ``exclude`` go unsaid.
    """
    if query is not None and not (isinstance(query, (QueryLogits, str, Path))
                                  or (isinstance(query, tuple) and len(query) in (2, 3))):
        raise TypeError(f"query must be a QueryLogits, the path of a query logits .npz or a pair (logits, "
                        f"labels), got {type(query).__name__}")
    files = []
    for p in (Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)):
        if p.is_dir():
            files += sorted(p.rglob("*.json"))
        elif p.is_file():
            files.append(p)
        else:
            raise ValueError(f"runs path {str(p)!r} does not exist")
    runs, family, queries, skipped = [], None, {}, {}
    for f in files:
        if f.suffix.lower() == ".csv":
            d = {"runs": [], "class_sizes": []}                     # a CSV table: read below
        else:
            try:
                d = json.loads(f.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                warnings.warn(f"skipped {str(f)!r}: not valid JSON ({exc.msg}: line {exc.lineno}, column "
                              f"{exc.colno}; a run JSON cut short?)", UserWarning, stacklevel=2)
                continue
            except UnicodeDecodeError as exc:
                warnings.warn(f"skipped {str(f)!r}: not UTF-8 text ({exc.reason} at byte {exc.start}), so "
                              "not a run JSON", UserWarning, stacklevel=2)
                continue
        if _is_table(d):
            table = read_run_table(f)
            if query is None:
                raise ValueError(f"pilot-run table {str(f)!r} (runs of your own training loop) needs the "
                                 "query model's validation logits: pass query= (the command line: --query)")
            query = _query_for(query, table.class_sizes, f"pilot-run table {str(f)!r}")
            runs += [r for r in table_runs(table, query) if seeds is None or r.seed in seeds]
            continue
        reason, quiet = _skip_reason(d)
        if reason is None and seeds is not None and d.get("seed") not in seeds:
            reason, quiet = "of other seeds", True
        if reason is None and exclude is not None and exclude(d):
            reason, quiet = "excluded", True
        if reason is not None:
            if not quiet:
                skipped.setdefault(reason, []).append(f)
            continue
        cfg = d["config"]
        fam = _family(cfg)
        if family is None:
            family = fam
        elif fam != family:
            raise ValueError(f"runs of more than one training configuration under {paths!r} (e.g. "
                             f"{f.name}): pass the runs of one model, recipe and data set")
        try:
            seed = int(d["seed"])
            sizes = np.asarray(d["dataset"]["class_sizes"])
            counts = np.asarray(d["selection"]["class_counts"])
            val = d["final"]["val"]
            val_recalls, val_labels = np.asarray(val["recalls"], dtype=float), np.asarray(val["labels"], int)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"run JSON {str(f)!r} lacks {exc} (a run JSON of droplab empirical run has "
                             "seed, dataset.class_sizes, selection.class_counts and final.val)") from None
        if query is not None:
            query = _query_for(query, sizes, f"run JSON {str(f)!r}")   # a path or pair: read once
            queries[seed] = query
        elif seed not in queries:
            # beside the run, or one folder up (pilots kept in a subfolder of the study's folder)
            pattern = f"query_logits/*_random_s{seed}_*.npz"
            matches = sorted(f.parent.glob(pattern)) or sorted(f.parent.parent.glob(pattern))
            if not matches:
                raise ValueError(f"no query logits of seed {seed} under {str(f.parent / 'query_logits')!r} "
                                 "or one folder up (droplab empirical run --query-only writes them; or name "
                                 "the query logits with --query, query= in Python)")
            queries[seed] = read_query_logits(matches[0], sizes)
        n_eval = np.bincount(val_labels, minlength=len(sizes))
        runs.append(PilotRun(counts, val_recalls, n_eval, queries[seed], seed=seed,
                             label=d.get("method", "")))
    _warn_skipped(skipped, len(files), paths)
    return runs
