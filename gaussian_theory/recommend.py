r"""One allocation recommended before training, from the predicted recalls after pruning.

:func:`recommend` reads the result of :func:`gaussian_theory.own_data.allocate_from_logits` (every
rule's counts with its predicted per-class recalls after pruning) and recommends the allocation with
the highest predicted worst-class recall :math:`\min_k\hat r_k` -- the objective of distributionally
robust pruning (DRoP, arXiv 2404.05579, §3). Optionally it only considers allocations whose predicted
balanced accuracy :math:`\frac1K\sum_k\hat r_k` is at most ``max_accuracy_loss`` below the baseline's
(class-stratified pruning, "Uniform", by default): the worst class is then bought with a capped loss of
average accuracy.

With ``prefer`` (e.g. ``"DRoP"``, the paper's rule) the recommendation keeps that allocation unless
another one is predicted to beat its worst class with evidence: the lower end of the paired bootstrap
interval of the predicted worst-class gain over it (:func:`worst_class_gains`, resampling the validation
samples of each class) is above 0. Small predicted differences, which the validation sample cannot tell
apart, then leave the default in place.

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

from .validation import as_generator, check_int, check_option, check_real

__all__ = ["PREDICTORS", "recommend", "predicted_tradeoff", "worst_class_gains"]

#: The predicted recalls a recommendation can be made from (keys of an allocation's ``"predicted"``).
PREDICTORS = ("prior_shift", "finite_sample")


def recommend(result: dict, *, predictor: str = "prior_shift", max_accuracy_loss=None,
              baseline: str = "Uniform", prefer: str | None = None, gains: dict | None = None) -> dict:
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
    prefer : str, optional
        An allocation kept unless another eligible one is predicted better with evidence: its gain
        interval (``gains``) lies above 0. It is always eligible, whatever the cap. Among such challengers
        the highest predicted worst-class recall wins (ties as below). Only with the ``"prior_shift"``
        predictor, whose gains ``gains`` holds.
    gains : dict, optional
        With ``prefer``: :func:`worst_class_gains` against ``prefer`` (``{label: {"gain", "low",
        "high"}}``), for every allocation.

    Returns
    -------
    dict
        ``recommended`` (the label), ``predictor``, ``baseline``, ``max_accuracy_loss``, ``prefer``,
        ``reason`` (one sentence) and ``table``: per allocation ``allocation``, ``worst_class``,
        ``worst_recall``, ``mean_recall``, ``accuracy_loss`` (baseline mean minus this mean) and
        ``eligible`` (and with ``prefer``: ``gain``, ``gain_low``, ``gain_high``). Ties in the
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
    if prefer is not None:
        if prefer not in allocs:
            raise ValueError(f"prefer must be one of the allocations {list(allocs)}, got {prefer!r}")
        if predictor != "prior_shift":
            raise ValueError(f"prefer needs predictor='prior_shift' (its gains are bootstrapped from the "
                             f"validation logits), got predictor={predictor!r}")
        if not isinstance(gains, dict) or set(gains) != set(allocs):
            raise ValueError(f"prefer={prefer!r} needs gains: worst_class_gains(...) against it for every "
                             f"allocation {list(allocs)}, got {gains if gains is None else list(gains)}")
        if gains[prefer]["gain"] != 0.0:
            raise ValueError(f"gains must be measured against prefer={prefer!r} (its own gain 0), got "
                             f"{gains[prefer]['gain']!r}")
    elif gains is not None:
        raise ValueError("gains is read only with prefer: give prefer=<the default allocation>")
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
        eligible = label in (baseline, prefer) or max_accuracy_loss is None \
            or loss <= max_accuracy_loss + 1e-12
        k = int(np.argmin(r))
        row = {"allocation": label, "worst_class": k, "worst_recall": float(r[k]), "mean_recall": mean,
               "accuracy_loss": loss, "eligible": bool(eligible)}
        if prefer is not None:
            g = gains[label]
            row.update(gain=float(g["gain"]), gain_low=float(g["low"]), gain_high=float(g["high"]))
        table.append(row)

    def rank(row):
        return row["worst_recall"], row["mean_recall"], -table.index(row)

    cap = "" if max_accuracy_loss is None else (
        f" among the allocations predicted to lose at most {max_accuracy_loss:g} balanced accuracy against "
        f"{baseline}")
    pred_name = predictor.replace("_", " ")
    if prefer is None:
        best = max((row for row in table if row["eligible"]), key=rank)
        reason = (f"{best['allocation']}: the highest predicted worst-class recall "
                  f"({best['worst_recall']:.3f}, class {best['worst_class']}; {pred_name}){cap}")
    else:
        challengers = [row for row in table if row["eligible"] and row["allocation"] != prefer
                       and row["gain_low"] > 0.0]
        if challengers:
            best = max(challengers, key=rank)
            reason = (f"{best['allocation']}: predicted to beat {prefer}'s worst class by "
                      f"{best['gain']:+.3f} [{best['gain_low']:+.3f}, {best['gain_high']:+.3f}] (paired "
                      f"bootstrap over the validation samples; {pred_name}){cap}")
        else:
            best = next(row for row in table if row["allocation"] == prefer)
            others = [row for row in table if row["eligible"] and row["allocation"] != prefer]
            top = max(others, key=rank) if others else None
            runner = "" if top is None else (
                f"; the best other, {top['allocation']}, {top['gain']:+.3f} [{top['gain_low']:+.3f}, "
                f"{top['gain_high']:+.3f}]")
            reason = (f"{prefer} (preferred): no allocation is predicted to beat its worst class with an "
                      f"interval above 0{runner} ({pred_name}){cap}")
    return {"recommended": best["allocation"], "predictor": predictor, "baseline": baseline,
            "max_accuracy_loss": max_accuracy_loss, "prefer": prefer, "reason": reason, "table": table}


def worst_class_gains(logits, labels, densities: dict, reference: str, *, level: float = 0.95,
                      n_boot: int = 4000, max_boot: int = 2**20, seed=0) -> dict:
    r"""Each allocation's predicted worst-class recall minus ``reference``'s, with a paired bootstrap
    interval over the validation samples.

    With the prior shift (:func:`gaussian_theory.recall_prediction.prior_shift_predictions`) every
    validation sample :math:`i` of class :math:`k` is predicted right or wrong under each allocation
    :math:`a`; the predicted recall :math:`\hat r_{ak}` is the fraction right, and the gain of
    :math:`a` is :math:`G_a=\min_k\hat r_{ak}-\min_k\hat r_{\mathrm{ref},k}`. The bootstrap resamples the
    samples of each class with replacement (stratified: the class counts stay), the same draw for every
    allocation (paired), and gives the percentile interval of :math:`G_a`. It is drawn exactly and
    cheaply: the samples of a class fall into at most :math:`2^A` right/wrong patterns across the
    :math:`A` allocations, so one resample is a multinomial draw of pattern counts. The interval carries
    the validation sample's noise only, not the gap between the query model and the network trained on
    the pruned data.

    Whether an interval lies above 0 must not depend on the bootstrap's seed. Its lower end is above 0
    when fewer than :math:`(1-\mathrm{level})/2` of the resampled gains are at or below 0; while that
    fraction :math:`\hat p` lies within 4 Monte Carlo standard errors :math:`\sqrt{\hat p(1-\hat p)/B}`
    of the threshold for some allocation, the resamples are doubled (up to ``max_boot``), so a rerun with
    another seed reaches the same side of 0 except where :math:`\hat p` is that close to the threshold at
    ``max_boot`` resamples (the result's ``n_boot`` says how many were drawn).

    Parameters
    ----------
    logits, labels : array_like
        The query model's validation logits (n, K) and their labels (n,), every class present.
    densities : dict
        ``{label: (K,) kept fractions}`` per allocation; ``reference`` is one of the labels.
    level : float
        Two-sided level of the percentile interval.
    n_boot : int
        Bootstrap resamples to start with (at least 100).
    max_boot : int
        Most resamples drawn while a decision is unsure (at least ``n_boot``; memory: 8 bytes per
        resample and allocation).
    seed : int or numpy.random.Generator
        The bootstrap's randomness (the same seed gives the same intervals).

    Returns
    -------
    dict
        ``{label: {"gain", "low", "high", "p_not_above", "n_boot"}}`` in ``densities``' order:
        ``p_not_above`` is the fraction of resampled gains at or below 0, ``n_boot`` the resamples drawn
        (the same for every allocation); ``reference`` has gain, low and high 0.

    Examples
    --------
    >>> z = [[2.0, 0.0], [0.0, 1.0], [1.0, 0.8], [0.5, 0.0], [0.2, 0.9], [0.0, 2.0]]
    >>> g = worst_class_gains(z, [0, 1, 1, 0, 1, 1], {"A": [1.0, 1.0], "B": [0.8, 1.0]}, "A", n_boot=200)
    >>> g["B"]["gain"]  # log 0.8 turns the third sample (class 1) right and keeps class 0: 0.75 -> 1.0
    0.25
    """
    from .query_allocation import check_logits_labels

    z, y = check_logits_labels(logits, labels)
    if not isinstance(densities, dict) or not densities:
        raise ValueError(f"densities must be a non-empty dict {{label: densities}}, got "
                         f"{type(densities).__name__}")
    if reference not in densities:
        raise ValueError(f"reference must be one of the allocations {list(densities)}, got {reference!r}")
    level = check_real(level, "level", 0.0, 1.0, strict_minimum=True)
    if level >= 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    n_boot = check_int(n_boot, "n_boot", minimum=100)
    max_boot = check_int(max_boot, "max_boot", minimum=n_boot)
    rng = as_generator(seed)
    tail = (1.0 - level) / 2.0
    gain, diff = _worst_class_gain_draws(z, y, densities, reference, n_boot, rng)
    others = np.arange(len(densities)) != list(densities).index(reference)
    while True:
        p = np.mean(diff <= 0.0, axis=0)
        se = np.sqrt(np.maximum(p * (1.0 - p), 1.0 / diff.shape[0]) / diff.shape[0])
        unsure = others & (np.abs(p - tail) < 4.0 * se)
        if not unsure.any() or diff.shape[0] >= max_boot:
            break
        more = min(diff.shape[0], max_boot - diff.shape[0])
        diff = np.vstack([diff, _worst_class_gain_draws(z, y, densities, reference, more, rng)[1]])
    low, high = np.quantile(diff, [tail, 1.0 - tail], axis=0)
    return {a: {"gain": float(gain[i]), "low": float(low[i]), "high": float(high[i]),
                "p_not_above": float(p[i]), "n_boot": int(diff.shape[0])}
            for i, a in enumerate(densities)}


#: most multinomial counts drawn at once by :func:`worst_class_gains` (32 MiB of int64)
_GAIN_DRAW_CELLS = 2**22


def _worst_class_gain_draws(z, y, densities, reference, n_boot, rng):
    """The point gains (A,) and the bootstrap draws of the gains (n_boot, A) of :func:`worst_class_gains`
    (checked arguments)."""
    from .recall_prediction import prior_shift_predictions

    labels_ = list(densities)
    right = np.stack([prior_shift_predictions(z, densities[a]) == y for a in labels_])  # (A, n)
    k_ = z.shape[1]
    worst = np.full((n_boot, len(labels_)), np.inf)  # running minimum over classes: (B, A), not (B, A, K)
    point = np.empty((len(labels_), k_))
    for k in range(k_):  # one multinomial draw of right/wrong patterns per class: no loop over samples
        cols = right[:, y == k]
        n_k = cols.shape[1]
        patterns, counts = np.unique(cols.T, axis=0, return_counts=True)  # (P, A), (P,)
        point[:, k] = counts @ patterns / n_k
        step = max(1, _GAIN_DRAW_CELLS // patterns.shape[0])  # bound the (draws, patterns) block
        for start in range(0, n_boot, step):
            rows = slice(start, min(start + step, n_boot))
            draws = rng.multinomial(n_k, counts / n_k, size=rows.stop - rows.start)
            np.minimum(worst[rows], draws @ patterns / n_k, out=worst[rows])
    ref = labels_.index(reference)
    return point.min(axis=1) - point[ref].min(), worst - worst[:, [ref]]



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
