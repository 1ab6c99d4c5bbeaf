r"""Your own data in one step: a query model's validation logits and the training labels -> per-class
recalls, class sizes and the counts of every quota rule, with their predicted recalls after pruning.

This is ``droplab allocate --logits VAL_LOGITS --labels VAL_LABELS --train-labels TRAIN_LABELS --json``
as a function (:func:`allocate_from_logits`); its result is the JSON the command writes, which
``droplab select --counts-file FILE --allocation NAME`` turns into kept indices
(:func:`gaussian_theory.selection.select_indices` in Python). Files of logits and labels are read by
:mod:`gaussian_theory.arrays` (``.npy``, ``.npz``, CSV).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1, 2], 60)
>>> z = rng.standard_normal((180, 3)) + 2.0 * np.eye(3)[y]
>>> out = allocate_from_logits(z, y, 0.5, class_sizes=[500, 500, 100], predict=False)
>>> list(out["allocations"])
['Uniform', 'DRoP', 'DRoP(a=0.7)', 'Probit', 'Minimax']
>>> [sum(a["counts"]) for a in out["allocations"].values()]
[550, 550, 550, 550, 550]
"""

from __future__ import annotations

import numpy as np

from .arrays import as_class_labels

__all__ = ["ALL_RULES", "allocate_from_logits", "class_sizes_from_labels", "empty_classes", "starved_caution"]

#: The quota rules :func:`allocate_from_logits` computes, as ``(name, alpha)`` of
#: :data:`gaussian_theory.quota_rules.QUOTA_RULES`, in this order (any ``extra`` rule before minimax).
ALL_RULES = (("uniform", 1.0), ("drop", 1.0), ("drop", 0.7), ("probit", 1.0), ("minimax", 1.0))


def class_sizes_from_labels(train_labels, n_classes: int, name: str = "train_labels") -> np.ndarray:
    """The training class sizes ``(K,)``: how often each class ``0..n_classes-1`` occurs in
    ``train_labels`` (integer labels; :func:`gaussian_theory.arrays.as_class_labels`).

    >>> class_sizes_from_labels([0, 2, 2, 1.0], 3).tolist()
    [1, 1, 2]
    """
    y = as_class_labels(train_labels, name, n_classes=n_classes)
    return np.bincount(y, minlength=n_classes).astype(np.int64)


def empty_classes(counts, class_sizes) -> list[int]:
    """The classes an allocation keeps no sample of although the training set has some."""
    c, n = np.asarray(counts), np.asarray(class_sizes)
    return [int(k) for k in np.flatnonzero((n > 0) & (c == 0))]


def starved_caution(label: str, empty, classes=None) -> str:
    """The caution beside an allocation that keeps 0 samples of the classes ``empty``."""
    names = [str(classes[k]) if classes is not None else str(k) for k in empty]
    return (f"{label} keeps 0 samples of class(es) {', '.join(names)}: a model trained on that subset never "
            "sees them (a floor, min_count or --min-per-class, keeps some of every class)")


def _sizes(train_labels, class_sizes, labels: np.ndarray, k: int) -> tuple[np.ndarray, str]:
    from .allocation import check_class_sizes

    if train_labels is not None and class_sizes is not None:
        raise ValueError("give train_labels or class_sizes, not both (the class sizes are counted from the "
                         "training labels)")
    if train_labels is not None:
        return class_sizes_from_labels(train_labels, k), "train_labels"
    if class_sizes is not None:
        arr = check_class_sizes(np.atleast_1d(class_sizes))
        if arr.size == 1:
            arr = np.full(k, int(arr[0]), dtype=np.int64)
        if arr.size != k:
            raise ValueError(f"class_sizes must have one entry per logit column ({k}) or one for every "
                             f"class, got {arr.size}")
        return arr, "class_sizes"
    return np.bincount(labels, minlength=k).astype(np.int64), "validation labels"


def allocate_from_logits(logits, labels, density, *, train_labels=None, class_sizes=None,
                         rounding: str = "paper", min_count: int = 0, extra=(), predict: bool = True,
                         trials: int = 20, n_mc: int = 20_000, n_eval: int = 10_000, seed=0) -> dict:
    r"""Per-class recalls, class sizes and the counts of every quota rule of :data:`ALL_RULES` (uniform,
    DRoP, DRoP(:math:`\alpha=0.7`), probit, the surrogate's minimax) from a query model's validation
    logits, as one JSON-ready dict (what ``droplab allocate --logits ... --json`` writes).

    Parameters
    ----------
    logits : array_like, shape (n, K)
        The query model's held-out validation logits.
    labels : array_like, shape (n,)
        Their class labels ``0..K-1`` (integers; floats that are integers accepted), every class present.
    density : float
        Dataset density :math:`d\in(0,1]`: the fraction of the training data kept.
    train_labels : array_like, optional
        The training set's labels; the class sizes are counted from them.
    class_sizes : int or array_like, optional
        The training class sizes instead (K numbers, or one for every class). Without either, the
        validation label counts stand in (a caution says so).
    rounding : {"paper", "code"}
        The integer rounding of the recall rules (:func:`gaussian_theory.allocation.drop_counts`'s
        ``rule``).
    min_count : int
        Keep at least ``min(min_count, N_k)`` samples of every class.
    extra : sequence of (name, alpha)
        More rules of :data:`gaussian_theory.quota_rules.QUOTA_RULES`, computed before minimax.
    predict : bool
        Also predict every class's recall after pruning: the prior shift on the logits and the
        finite-sample LDA of the surrogate (:func:`gaussian_theory.recall_prediction.predict_recalls`,
        ``trials``, ``n_mc``, ``n_eval``).
    seed : int or numpy.random.Generator
        Seed of the surrogate's calibration, the minimax allocation and the predictions.

    Returns
    -------
    dict
        ``class_sizes``, ``sizes_from``, ``val_recalls``, ``val_class_counts``, ``val_accuracy``,
        ``density``, ``rounding``, ``min_count``; ``allocations``: ``{label: {"rule", "alpha", "counts",
        "densities", "kept", "empty_classes"[, "predicted"]}}`` (``predicted``: ``prior_shift`` and
        ``finite_sample`` recalls, and the ``worst_class`` of each); ``cautions``: one line per allocation
        that keeps 0 samples of a class, and for sizes not from the training set.
    """
    from .query_allocation import check_logits_labels, query_surrogate
    from .quota_rules import QuotaInputs, make_rule
    from .recall_prediction import check_finite_sample_memory, logit_recalls, predict_recalls
    from .validation import check_density, check_int, check_option, check_seed

    # every argument checked before the surrogate is fitted
    density = check_density(density)
    check_option(rounding, "rounding", ("paper", "code"))
    min_count = check_int(min_count, "min_count", minimum=0)
    trials = check_int(trials, "trials", minimum=1)
    check_seed(seed)
    y = as_class_labels(labels, "labels")
    z, y = check_logits_labels(logits, y)
    k = z.shape[1]
    rules = [make_rule(name, rounding=rounding, alpha=alpha) for name, alpha in (*ALL_RULES[:-1], *extra)]
    rules.append(make_rule(ALL_RULES[-1][0], rounding=rounding))
    sizes, sizes_from = _sizes(train_labels, class_sizes, y, k)
    if predict:
        check_finite_sample_memory(k, k, trials, n_eval)
    rec = logit_recalls(z, y)
    gm = query_surrogate(z, y, sizes, n_mc=n_mc, seed=seed)   # fitted once: minimax and the predictions
    inputs = QuotaInputs(recalls=rec, val_logits=z, val_labels=y, surrogate=gm)
    allocations, cautions = {}, []
    if sizes_from == "validation labels":
        cautions.append("class sizes: the validation label counts (no training labels or class sizes given); "
                        "the counts are for a training set of those sizes")
    absent = [int(c) for c in np.flatnonzero(sizes == 0)]
    if absent:
        cautions.append(f"class(es) {', '.join(map(str, absent))} have no training samples: no rule keeps "
                        "any")
    for r in rules:
        counts = r.counts(sizes, density, inputs, min_count=min_count, seed=seed)
        empty = empty_classes(counts, sizes)
        allocations[r.method_label] = {
            "rule": r.name, "alpha": r.alpha, "counts": [int(c) for c in counts],
            "densities": (counts / np.maximum(sizes, 1)).tolist(), "kept": int(counts.sum()),
            "empty_classes": empty}
        if empty:
            cautions.append(starved_caution(r.method_label, empty))
    if predict:
        dens = {a: np.asarray(v["densities"]) for a, v in allocations.items()}
        pred = predict_recalls(z, y, sizes, dens, surrogate=gm, trials=trials, n_mc=n_mc, n_eval=n_eval,
                               seed=seed)
        for a, p in pred.items():
            allocations[a]["predicted"] = {
                "prior_shift": p.prior_shift.tolist(), "finite_sample": p.finite_sample.tolist(),
                "finite_sample_se": p.finite_sample_se.tolist(),
                "worst_class": {"prior_shift": int(np.argmin(p.prior_shift)),
                                "finite_sample": int(np.argmin(p.finite_sample))}}
    return {"n_classes": k, "class_sizes": sizes.tolist(), "sizes_from": sizes_from,
            "val_samples": int(y.size),
            "val_class_counts": np.bincount(y, minlength=k).tolist(), "val_recalls": rec.tolist(),
            "val_accuracy": float(np.mean(z.argmax(axis=1) == y)), "density": density, "rounding": rounding,
            "min_count": min_count, "trials": trials if predict else None, "allocations": allocations,
            "cautions": cautions}
