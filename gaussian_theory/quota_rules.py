r"""Every class-quota rule as one object with one interface, in one registry.

A quota rule turns what is known before pruning -- a query model's validation recalls, its validation
logits, a recall model learned from pilot runs, or counts computed elsewhere -- into per-class counts
:math:`n_k\le N_k` that sum exactly to :math:`\mathrm{round}(dN)`, through the one apportionment of
:mod:`gaussian_theory.allocation`. The command line (``droplab allocate``, ``droplab empirical run
--quota``), the pipeline (:mod:`empirical.selection`), the report's labels and the run ids all iterate
over :data:`QUOTA_RULES`; adding a rule is adding an entry.

========== ============ ============================================================================
name       needs        counts
========== ============ ============================================================================
none       --           no class quotas: the global top-:math:`\mathrm{round}(dN)` by score
uniform    --           the class proportions kept, :func:`~gaussian_theory.allocation.uniform_counts`
drop       recalls      DRoP (Algorithm 1 of arXiv 2404.05579), densities :math:`\propto(1-r_k)^\alpha`
probit     recalls      densities :math:`\propto\varphi(\Phi^{-1}(r_k))`, the two-Gaussian optimum
minimax    logits       the minimax densities of the calibrated tied surrogate of the validation logits
learned    recall_model the counts maximising the learned model's expected minimum recall
counts     counts       counts given explicitly (an allocation computed elsewhere)
========== ============ ============================================================================

``rounding`` (``"paper"``/``"code"``, :func:`~gaussian_theory.allocation.drop_counts`) applies to the
recall rules, ``alpha`` (damping) to ``drop``; both are part of a rule's identity (:attr:`QuotaRule.tag`,
the quota part of a run id) only where they act.

The rules import numpy and their solvers when they run, so that reading the registry (the command
line's choices) stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .options import RULES

if TYPE_CHECKING:  # numpy and the solvers are imported when a rule runs (`droplab --help` stays fast)
    import numpy as np

__all__ = ["QuotaInputs", "QuotaRule", "QUOTA_RULES", "make_rule", "quota_label", "read_allocation_file",
           "allocation_names"]


@dataclass(frozen=True)
class QuotaInputs:
    """What a rule may need: the query model's validation ``recalls`` (K,), its validation logits
    ``val_logits`` (n, K) and ``val_labels`` (n,), a fitted ``recall_model``
    (:class:`gaussian_theory.learned_recalls.RecallModel`), or explicit ``counts`` (K,) or class
    ``densities`` (K,); ``surrogate``: the calibrated tied surrogate of the validation logits
    (:func:`gaussian_theory.query_allocation.query_surrogate`) when already fitted (minimax reuses it)."""

    recalls: np.ndarray | None = None
    val_logits: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    recall_model: object | None = None
    counts: np.ndarray | None = None
    densities: np.ndarray | None = None
    surrogate: object | None = None


@dataclass(frozen=True)
class QuotaRule:
    """Base: a rule named :attr:`name`, labelled :attr:`label`, needing the input :attr:`needs`, with its
    ``rounding`` and ``alpha`` settings. :meth:`counts` is the rule."""

    rounding: str = "paper"
    alpha: float = 1.0

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    needs: ClassVar[str | None] = None
    uses_rounding: ClassVar[bool] = False
    uses_alpha: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    def __post_init__(self):
        from .validation import check_option, check_real

        check_option(self.rounding, "rule", RULES)
        object.__setattr__(self, "alpha", check_real(self.alpha, "alpha", minimum=0.0))

    @property
    def tag(self) -> str:
        """The quota part of a run id: ``drop-paper``, ``drop-paper-a0.7``, ``probit-code``, ``none`` ..."""
        t = self.name + (f"-{self.rounding}" if self.uses_rounding else "")
        return t + (f"-a{self.alpha:g}" if self.uses_alpha and self.alpha != 1.0 else "")

    @property
    def method_label(self) -> str:
        """The paper-style label of the quotas: ``DRoP``, ``DRoP(a=0.7)``, ``Uniform``, ``""`` for none."""
        return self.label + (f"(a={self.alpha:g})" if self.uses_alpha and self.alpha != 1.0 else "")

    def _need(self, inputs: QuotaInputs, attr: str, what: str):
        value = getattr(inputs, attr)
        if value is None:
            raise ValueError(f"quota {self.name!r} needs {what}")
        return value

    def counts(self, class_sizes, density, inputs: QuotaInputs | None = None, *, min_count: int = 0,
               seed=0, info: dict | None = None) -> np.ndarray | None:
        """Per-class counts (None: no class quotas) at dataset density ``density``; ``info`` receives
        what the rule predicted, where it predicts something."""
        raise NotImplementedError  # pragma: no cover - every registered rule implements it


@dataclass(frozen=True)
class NoQuota(QuotaRule):
    name: ClassVar[str] = "none"
    summary: ClassVar[str] = "no class quotas: the global top-k by score"

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        return None


@dataclass(frozen=True)
class UniformQuota(QuotaRule):
    name: ClassVar[str] = "uniform"
    label: ClassVar[str] = "Uniform"
    summary: ClassVar[str] = "the class proportions kept"

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        from .allocation import uniform_counts

        return uniform_counts(class_sizes, density, min_count=min_count)


@dataclass(frozen=True)
class DRoPQuota(QuotaRule):
    name: ClassVar[str] = "drop"
    label: ClassVar[str] = "DRoP"
    needs: ClassVar[str | None] = "recalls"
    uses_rounding: ClassVar[bool] = True
    uses_alpha: ClassVar[bool] = True
    summary: ClassVar[str] = "DRoP: densities proportional to (1 - recall)^alpha"

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        from .allocation import drop_counts

        rec = self._need(inputs or QuotaInputs(), "recalls", "the query model's per-class recalls")
        return drop_counts(rec, class_sizes, density, rule=self.rounding, alpha=self.alpha,
                           min_count=min_count)


@dataclass(frozen=True)
class ProbitQuota(QuotaRule):
    name: ClassVar[str] = "probit"
    label: ClassVar[str] = "Probit"
    needs: ClassVar[str | None] = "recalls"
    uses_rounding: ClassVar[bool] = True
    uses_alpha: ClassVar[bool] = True
    summary: ClassVar[str] = "densities proportional to phi(Phi^-1(recall))^alpha, the two-Gaussian optimum"

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        from .allocation import drop_counts

        rec = self._need(inputs or QuotaInputs(), "recalls", "the query model's per-class recalls")
        return drop_counts(rec, class_sizes, density, rule=self.rounding, allocation_rule="probit",
                           alpha=self.alpha, min_count=min_count)


@dataclass(frozen=True)
class MinimaxQuota(QuotaRule):
    name: ClassVar[str] = "minimax"
    label: ClassVar[str] = "Minimax"
    needs: ClassVar[str | None] = "logits"
    summary: ClassVar[str] = ("the budget-constrained minimax densities of the calibrated tied Gaussian "
                              "surrogate of the query model's validation logits")

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        import numpy as np

        from .query_allocation import minimax_from_logits

        inputs = inputs or QuotaInputs()
        z = self._need(inputs, "val_logits", "the query model's validation logits")
        y = self._need(inputs, "val_labels", "the labels of the query model's validation logits")
        alloc, counts, _ = minimax_from_logits(z, np.asarray(y).astype(int), class_sizes, density, seed=seed,
                                               min_count=min_count, surrogate=inputs.surrogate)
        if info is not None:
            info.update({"minimax_densities": alloc.densities.tolist(),
                         "predicted_recalls": (1.0 - alloc.risks).tolist(),
                         "predicted_worst_class_recall": float(1.0 - alloc.max_risk),
                         "solver": alloc.message})
        return counts


@dataclass(frozen=True)
class LearnedQuota(QuotaRule):
    name: ClassVar[str] = "learned"
    label: ClassVar[str] = "Learned"
    needs: ClassVar[str | None] = "recall_model"
    summary: ClassVar[str] = ("the counts maximising the expected minimum recall predicted by a model "
                              "learned from pilot runs (gaussian_theory.learned_recalls)")

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        import numpy as np

        from .allocation import check_class_sizes
        from .learned_recalls import learned_allocation

        model = self._need(inputs or QuotaInputs(), "recall_model",
                           "a recall model fitted on pilot runs (learned_recalls.fit_recall_model)")
        sizes = check_class_sizes(class_sizes)
        if not np.array_equal(sizes, model.query.class_sizes):
            raise ValueError(f"class_sizes {sizes.tolist()} differ from those the recall model was fitted "
                             f"for, {model.query.class_sizes.tolist()}")
        out = learned_allocation(model, density, min_count=min_count, seed=seed)
        if info is not None:
            info.update({"predicted_recalls": out["forecast"].recalls.tolist(),
                         "predicted_lower": out["forecast"].lower.tolist(),
                         "predicted_upper": out["forecast"].upper.tolist(),
                         "expected_min_recall": out["objective"], "search_start": out["start"]})
        return out["counts"]


@dataclass(frozen=True)
class ExplicitCounts(QuotaRule):
    name: ClassVar[str] = "counts"
    label: ClassVar[str] = "Counts"
    needs: ClassVar[str | None] = "counts"
    summary: ClassVar[str] = ("per-class counts, or class densities, given explicitly (an allocation "
                              "computed elsewhere); densities become exact counts by the one apportionment")

    def counts(self, class_sizes, density, inputs=None, *, min_count=0, seed=0, info=None):
        import numpy as np

        from .allocation import check_class_sizes, counts_from_densities
        from .apportionment import total_kept
        from .validation import check_density, check_int

        inputs = inputs or QuotaInputs()
        sizes = check_class_sizes(class_sizes)
        if inputs.counts is None and inputs.densities is None:
            raise ValueError("quota 'counts' needs explicit per-class counts or class densities")
        if inputs.counts is not None and inputs.densities is not None:
            raise ValueError("give per-class counts or class densities, not both")
        if inputs.densities is not None:
            return counts_from_densities(inputs.densities, sizes, density, min_count=min_count)
        c = check_class_sizes(inputs.counts, "counts")
        total = total_kept(int(sizes.sum()), check_density(density))
        if c.size != sizes.size or (c > sizes).any():
            raise ValueError(f"counts must be {sizes.size} integers in [0, class sizes {sizes.tolist()}], "
                             f"got {c.tolist()}")
        if int(c.sum()) != total:
            raise ValueError(f"counts sum to {int(c.sum())}, but density {density:g} of {int(sizes.sum())} "
                             f"samples keeps round(dN) = {total}")
        m = check_int(min_count, "min_count", minimum=0)
        if (c < np.minimum(sizes, m)).any():
            raise ValueError(f"counts {c.tolist()} fall below min_count={m}")
        return c


#: The registry: quota name -> rule class, in the order the command line lists them.
QUOTA_RULES: dict[str, type[QuotaRule]] = {r.name: r for r in (
    NoQuota, UniformQuota, DRoPQuota, ProbitQuota, MinimaxQuota, LearnedQuota, ExplicitCounts)}


def make_rule(name: str, *, rounding: str = "paper", alpha: float = 1.0) -> QuotaRule:
    """The quota rule ``name`` of :data:`QUOTA_RULES` with its settings (ValueError naming a bad one).

    Parameters
    ----------
    name : str
        The allocation rule: ``"uniform"``, ``"drop"``, ``"probit"``, ``"minimax"``, ``"learned"``,
        ``"counts"`` or ``"none"`` -- what :func:`~gaussian_theory.allocation.drop_counts` and
        ``droplab allocate`` call ``allocation_rule``/``--allocation-rule`` (for the recall rules).
    rounding : {"paper", "code"}
        The integer rounding of the recall rules -- what ``drop_counts`` calls ``rule=`` and ``droplab
        allocate`` ``--rounding`` (alias ``--rule``).
    alpha : float
        The damping exponent of ``drop`` and ``probit`` (1: the rule itself, 0: uniform).

    Returns
    -------
    QuotaRule
        ``rule.counts(class_sizes, density, QuotaInputs(recalls=...))`` gives the integer counts.

    >>> make_rule("drop", alpha=0.7).method_label
    'DRoP(a=0.7)'
    >>> make_rule("probit", rounding="code").tag
    'probit-code'
    """
    from .validation import check_option

    check_option(name, "quota", tuple(QUOTA_RULES))
    return QUOTA_RULES[name](rounding=rounding, alpha=alpha)


def quota_label(name: str, alpha: float = 1.0) -> str:
    """The label of quota ``name`` with damping ``alpha`` (``DRoP(a=0.7)``; ``""`` for none)."""
    return make_rule(name, alpha=alpha).method_label




#: Largest allocation file read (an allocation is K numbers: a bigger file is a wrong file).
MAX_ALLOCATION_BYTES = 2**20


def _split_name(path):
    """``(file, name)`` of ``FILE:NAME`` (one allocation of a file of several) when ``FILE:NAME`` itself is
    no file; ``(path, None)`` otherwise."""
    from pathlib import Path

    text = str(path)
    if Path(text).exists() or ":" not in text:
        return Path(text), None
    head, _, name = text.rpartition(":")
    return (Path(head), name) if head and name and Path(head).is_file() else (Path(text), None)


def _allocation_json(path, option: str):
    import json

    p = path
    where = f"{option} {str(p)!r}"
    if p.is_dir() or not p.exists():
        raise ValueError(f"{where}: {'is a folder, expected a file' if p.is_dir() else 'no such file'}")
    with open(p, "rb") as fh:
        raw = fh.read(MAX_ALLOCATION_BYTES + 1)
    if len(raw) > MAX_ALLOCATION_BYTES:
        raise ValueError(f"{where}: larger than 1 MiB, expected a JSON allocation of K numbers")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise ValueError(f"{where}: not a JSON allocation ({str(exc)[:80]})") from None
    return {"counts": data} if isinstance(data, list) else data


def _named_allocations(data) -> dict:
    """The allocations of a file of several (``droplab allocate --json``: ``"allocations"``; ``allocate
    --runs --json``: ``"compared"``), by name; empty for a file of one."""
    if not isinstance(data, dict):
        return {}
    table = data.get("allocations", data.get("compared"))
    return table if isinstance(table, dict) else {}


def allocation_names(path, option: str = "path") -> list[str]:
    """The names of the allocations in a JSON file of several (``droplab allocate --json``), in file
    order; ``[label]`` or ``[]`` (no label) for a file of one allocation."""
    p, _ = _split_name(path)
    data = _allocation_json(p, option)
    table = _named_allocations(data)
    if table:
        return list(table)
    label = data.get("label") if isinstance(data, dict) else None
    return [label] if isinstance(label, str) else []


def read_allocation_file(path, option: str = "path", allocation: str | None = None) -> dict:
    """An allocation computed elsewhere, from a JSON file: ``{"counts": [n_1, ..., n_K]}`` (integers) or
    ``{"densities": [d_1, ..., d_K]}`` (numbers in [0, 1]), optionally with ``"label"`` (a name for the
    method, e.g. ``"Learned"``) and other keys (ignored); or a bare JSON list of integer counts; or one
    allocation of a file of several (``droplab allocate --json`` writes every rule's under
    ``"allocations"``, ``allocate --runs --json`` under ``"compared"``), named by ``allocation`` or as
    ``FILE:NAME`` (names match case-insensitively: ``drop`` is ``DRoP``). What ``droplab allocate
    --json`` and ``droplab pilots --out`` write. Returns ``{"counts"}`` or ``{"densities"}``, and
    ``"label"`` (None if absent); errors name ``option`` and the file."""
    p, named = _split_name(path)
    if allocation is not None and named is not None and allocation != named:
        raise ValueError(f"{option} {str(path)!r}: names the allocation {named!r}, and {allocation!r} was "
                         "asked")
    allocation = allocation if allocation is not None else named
    where = f"{option} {str(p)!r}"
    data = _allocation_json(p, option)
    table = _named_allocations(data)
    if allocation is not None:
        names = (list(table) or [data.get("label")]) if isinstance(data, dict) else []
        match = [n for n in names if isinstance(n, str) and n.lower() == str(allocation).lower()]
        if not match:
            raise ValueError(f"{where}: no allocation {allocation!r}; it holds {[n for n in names if n]}")
        if table:
            entry = table[match[0]]
            if isinstance(entry, dict):   # an entry of several: its counts (its densities are what they keep)
                key = "counts" if "counts" in entry else "densities"
                data = {key: entry.get(key), "label": match[0]}
            else:
                data = entry
    elif table and isinstance(data, dict) and "counts" not in data and "densities" not in data:
        first = next(iter(table))
        raise ValueError(f"{where}: holds the allocations of {len(table)} rules {list(table)}: name one "
                         "(droplab select --allocation NAME; elsewhere FILE:NAME, e.g. "
                         f"{str(p) + ':' + first!r})")
    if not isinstance(data, dict) or ("counts" in data) == ("densities" in data):
        raise ValueError(f"{where}: expected a JSON object with exactly one of \"counts\" or \"densities\" "
                         "(or a list of counts)")
    label = data.get("label")
    if label is not None and not (isinstance(label, str) and label.strip() and len(label) <= 40):
        raise ValueError(f"{where}: \"label\" must be a short non-empty string, got {label!r:.60}")
    key = "counts" if "counts" in data else "densities"
    vals = data[key]
    if not isinstance(vals, list) or not vals:
        raise ValueError(f"{where}: \"{key}\" must be a non-empty list of numbers")
    if key == "counts":
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2**53 for v in vals):
            raise ValueError(f"{where}: counts must be integers in [0, 2**53], got {vals!r:.80}")
    elif not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in vals):
        raise ValueError(f"{where}: densities must be numbers in [0, 1], got {vals!r:.80}")
    return {key: vals, "label": label}
