r"""One allocation recommended before training, from the predicted recalls after pruning.

:func:`recommend` reads the result of :func:`gaussian_theory.own_data.allocate_from_logits` (every
rule's counts with its predicted per-class recalls after pruning) and recommends the allocation with
the highest predicted worst-class recall :math:`\min_k\hat r_k` -- the objective of distributionally
robust pruning (DRoP, arXiv 2404.05579, §3). Optionally it only considers allocations whose predicted
balanced accuracy :math:`\frac1K\sum_k\hat r_k` is at most ``max_accuracy_loss`` below the baseline's
(class-stratified pruning, "Uniform", by default): the worst class is then bought with a capped loss of
average accuracy.

The predictions are those of :mod:`gaussian_theory.recall_prediction`: ``"prior_shift"`` (the query
model's validation logits shifted by :math:`\log d_k`) or ``"finite_sample"`` (LDA refitted on
:math:`\mathrm{round}(d_kN_k)` surrogate samples). Both model the final network as the query model
(docs, "CIFAR-10: small CNN", on how well they track real training), so the recommendation is a
prediction to check, not a measurement. An allocation that keeps no sample of a class is predicted a
recall of 0 there and is never recommended while another allocation keeps every class.

>>> result = {"allocations": {
...     "Uniform": {"predicted": {"prior_shift": [0.9, 0.6, 0.8]}},
...     "DRoP": {"predicted": {"prior_shift": [0.85, 0.7, 0.7]}},
...     "Probit": {"predicted": {"prior_shift": [0.7, 0.72, 0.6]}}}}
>>> recommend(result)["recommended"]
'DRoP'
>>> recommend(result, max_accuracy_loss=0.01)["recommended"]  # DRoP's mean is 0.017 below Uniform's
'Uniform'
"""

from __future__ import annotations

import numpy as np

from .validation import check_option, check_real

__all__ = ["PREDICTORS", "recommend", "predicted_tradeoff"]

#: The predicted recalls a recommendation can be made from (keys of an allocation's ``"predicted"``).
PREDICTORS = ("prior_shift", "finite_sample")


def recommend(result: dict, *, predictor: str = "prior_shift", max_accuracy_loss=None,
              baseline: str = "Uniform") -> dict:
    """The allocation with the highest predicted worst-class recall, optionally within a capped loss of
    predicted balanced accuracy against ``baseline``.

    Parameters
    ----------
    result : dict
        :func:`gaussian_theory.own_data.allocate_from_logits`'s result (or its JSON): ``"allocations"``,
        each with ``"predicted"`` recalls (computed with ``predict=True``).
    predictor : {"prior_shift", "finite_sample"}
        Which predicted recalls to rank by.
    max_accuracy_loss : float, optional
        Only allocations whose predicted balanced accuracy is at least the baseline's minus this are
        eligible (the baseline always is). None: no cap.
    baseline : str
        The allocation the accuracy loss is measured against (a label of ``result["allocations"]``).

    Returns
    -------
    dict
        ``recommended`` (the label), ``predictor``, ``baseline``, ``max_accuracy_loss``, ``reason`` (one
        sentence) and ``table``: per allocation ``allocation``, ``worst_class``, ``worst_recall``,
        ``mean_recall``, ``accuracy_loss`` (baseline mean minus this mean) and ``eligible``. Ties in the
        worst-class recall go to the higher mean, then to the earlier allocation.
    """
    check_option(predictor, "predictor", PREDICTORS)
    if not isinstance(result, dict) or not isinstance(result.get("allocations"), dict) \
            or not result["allocations"]:
        raise ValueError("result must be allocate_from_logits' result: a dict with a non-empty "
                         f"'allocations', got {type(result).__name__}")
    allocs = result["allocations"]
    if baseline not in allocs:
        raise ValueError(f"baseline must be one of the allocations {list(allocs)}, got {baseline!r}")
    if max_accuracy_loss is not None:
        max_accuracy_loss = check_real(max_accuracy_loss, "max_accuracy_loss", minimum=0.0)
    rec = {}
    for label, a in allocs.items():
        pred = (a.get("predicted") or {}).get(predictor)
        if pred is None:
            raise ValueError(f"allocation {label!r} has no predicted {predictor} recalls: compute them "
                             "(allocate_from_logits(..., predict=True))")
        rec[label] = np.asarray(pred, dtype=float)
    base_mean = float(rec[baseline].mean())
    table = []
    for label, r in rec.items():
        mean = float(r.mean())
        loss = base_mean - mean
        eligible = label == baseline or max_accuracy_loss is None or loss <= max_accuracy_loss + 1e-12
        k = int(np.argmin(r))
        table.append({"allocation": label, "worst_class": k, "worst_recall": float(r[k]), "mean_recall": mean,
                      "accuracy_loss": loss, "eligible": bool(eligible)})
    best = max((row for row in table if row["eligible"]),
               key=lambda row: (row["worst_recall"], row["mean_recall"], -table.index(row)))
    cap = "" if max_accuracy_loss is None else (
        f" among the allocations predicted to lose at most {max_accuracy_loss:g} balanced accuracy against "
        f"{baseline}")
    reason = (f"{best['allocation']}: the highest predicted worst-class recall ({best['worst_recall']:.3f}, "
              f"class {best['worst_class']}; {predictor.replace('_', ' ')}){cap}")
    return {"recommended": best["allocation"], "predictor": predictor, "baseline": baseline,
            "max_accuracy_loss": max_accuracy_loss, "reason": reason, "table": table}



def predicted_tradeoff(result: dict, *, predictor: str = "prior_shift", level: float = 0.95) -> list[dict]:
    r"""Every allocation's predicted balanced accuracy and worst-class recall, with intervals for the
    validation set's sampling noise: the trade-off :func:`recommend` chooses from, as numbers to draw.

    Each class's predicted recall :math:`\hat r_k` is a proportion over the :math:`n_k` validation samples
    of the class (``result["val_class_counts"]``). The balanced accuracy :math:`\bar r=\frac1K\sum_k\hat
    r_k` gets the normal interval :math:`\bar r\pm z\,\frac1K\sqrt{\sum_k\hat r_k(1-\hat r_k)/n_k}`
    (clipped to [0, 1]); the worst class, the Wilson interval of the predicted-worst class's recall
    (:func:`gaussian_theory.intervals.wilson_interval`), which always holds the point. They carry the
    validation sample's noise only, **not** the gap between the query model and the network trained on
    the pruned data, which is larger (documentation site, "The recommendation, scored": 0.02--0.10 on
    the worst class).

    Returns one dict per allocation, in ``result``'s order: ``allocation``, ``mean_recall``,
    ``mean_low``, ``mean_high``, ``worst_class``, ``worst_recall``, ``worst_low``, ``worst_high``.

    >>> res = {"val_class_counts": [100, 100], "allocations": {
    ...     "Uniform": {"predicted": {"prior_shift": [0.9, 0.6]}},
    ...     "DRoP": {"predicted": {"prior_shift": [0.8, 0.75]}}}}
    >>> row = predicted_tradeoff(res)[1]
    >>> row["worst_class"], round(row["worst_low"], 3), round(row["worst_high"], 3)
    (1, 0.657, 0.825)
    """
    from scipy.stats import norm

    from .intervals import wilson_interval

    check_option(predictor, "predictor", PREDICTORS)
    level = check_real(level, "level", 0.0, 1.0, strict_minimum=True)
    if level >= 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    if not isinstance(result, dict) or not isinstance(result.get("allocations"), dict) \
            or not result["allocations"]:
        raise ValueError("result must be allocate_from_logits' result: a dict with a non-empty "
                         f"'allocations', got {type(result).__name__}")
    n_val = np.asarray(result.get("val_class_counts", []), dtype=float)
    z = float(norm.ppf(0.5 + level / 2.0))
    rows = []
    for label, a in result["allocations"].items():
        pred = (a.get("predicted") or {}).get(predictor)
        if pred is None:
            raise ValueError(f"allocation {label!r} has no predicted {predictor} recalls: compute them "
                             "(allocate_from_logits(..., predict=True))")
        r = np.clip(np.asarray(pred, dtype=float), 0.0, 1.0)
        if n_val.shape != r.shape or (n_val < 1).any():
            raise ValueError(f"result['val_class_counts'] must hold one positive count per class "
                             f"({r.size}), got {n_val.tolist()}")
        mean = float(r.mean())
        half = z * float(np.sqrt(np.sum(r * (1.0 - r) / n_val))) / r.size
        k = int(np.argmin(r))
        lo, hi = wilson_interval(np.rint(r[k] * n_val[k]), n_val[k], level)
        rows.append({"allocation": label, "mean_recall": mean, "mean_low": max(mean - half, 0.0),
                     "mean_high": min(mean + half, 1.0), "worst_class": k, "worst_recall": float(r[k]),
                     "worst_low": float(min(lo, r[k])), "worst_high": float(max(hi, r[k]))})
    return rows
