"""What ``droplab allocate`` prints and writes: the text tables of its three modes and their JSON (``--json``
prints it, ``--out FILE`` writes it; ``droplab select --counts-file FILE --allocation NAME`` reads it).

Every mode's JSON holds each allocation it shows under ``"allocations"`` (``--runs``: ``"compared"``, with
the learned allocation's counts at the top as well), each with its ``counts`` and ``empty_classes``: an
allocation that keeps 0 samples of a class is flagged (``*`` beside its column, a caution below the table
and in ``"cautions"``).
"""

from __future__ import annotations

import json
import warnings

from .format import format_table

__all__ = ["rule_label", "allocation_report", "plain_result", "empty_class_warnings", "logits_text",
           "runs_report", "write_result", "RUNS_ALLOCATIONS"]

#: The quota rules ``droplab allocate --runs`` compares with the learned allocation, as (name, alpha).
RUNS_ALLOCATIONS = (("uniform", 1.0), ("drop", 1.0), ("drop", 0.7), ("learned", 1.0))


def rule_label(allocation_rule="drop", alpha=1.0) -> str:
    """``DRoP``, ``DRoP(a=0.7)``, ``Probit``, ``Probit(a=0.5)``: the quota rule's label
    (:attr:`gaussian_theory.quota_rules.QuotaRule.method_label`), the column names of the report."""
    from ..quota_rules import make_rule

    return make_rule(allocation_rule, alpha=alpha).method_label


def _flagged(labels, empty: dict) -> list[str]:
    """Column names, ``*`` after an allocation that keeps 0 samples of a class."""
    return [f"{a}*" if empty.get(a) else a for a in labels]


def _cautions(empty: dict, names=None) -> list[str]:
    from ..own_data import starved_caution

    return [starved_caution(a, e, names) for a, e in empty.items() if e]


def _counts(recalls, sizes, density, rule, min_count, allocation_rule, alpha):
    """(rule counts, rule densities, uniform counts) of the plain mode."""
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
    return counts, dens, uni


def allocation_report(names, sizes, recalls, density, rule="paper", min_count=0, allocation_rule="drop",
                      alpha=1.0) -> str:
    """The text ``droplab allocate`` prints: the rule's densities and counts next to uniform counts."""
    import numpy as np

    counts, dens, uni = _counts(recalls, sizes, density, rule, min_count, allocation_rule, alpha)
    rows = [[n, f"{int(s)}", r, d, f"{int(c)}", f"{int(u)}"]
            for n, s, r, d, c, u in zip(names, sizes, recalls, dens, counts, uni)]
    label = rule_label(allocation_rule, alpha)
    total = (f"total kept: {int(counts.sum())} of {int(np.sum(sizes))} (density {density:g}, rule {rule!r}, "
             f"allocation {label})")
    return "\n".join([format_table(["class", "size", "recall", f"{label} density", f"{label} count",
                                    "uniform count"], rows), total])


def plain_result(names, sizes, recalls, density, rule="paper", min_count=0, allocation_rule="drop",
                 alpha=1.0) -> dict:
    """The JSON of ``droplab allocate --recalls/--sizes`` or ``--from``: the rule's counts at the top
    (``"counts"``, ``"label"``: what ``droplab select --counts-file`` and ``droplab empirical run --counts``
    read without a name) and both allocations under ``"allocations"``."""
    import numpy as np

    from ..own_data import empty_classes

    with warnings.catch_warnings():  # allocation_report warned already
        warnings.simplefilter("ignore")
        counts, dens, uni = _counts(recalls, sizes, density, rule, min_count, allocation_rule, alpha)
    label = rule_label(allocation_rule, alpha)
    sizes = np.asarray(sizes)
    allocs = {label: {"rule": allocation_rule, "alpha": float(alpha), "counts": [int(c) for c in counts],
                      "densities": np.asarray(dens, dtype=float).tolist(), "kept": int(counts.sum()),
                      "empty_classes": empty_classes(counts, sizes)},
              "Uniform": {"rule": "uniform", "alpha": 1.0, "counts": [int(c) for c in uni],
                          "densities": (uni / np.maximum(sizes, 1)).tolist(), "kept": int(uni.sum()),
                          "empty_classes": empty_classes(uni, sizes)}}
    return {"counts": allocs[label]["counts"], "label": label, "density": float(density), "rounding": rule,
            "min_count": int(min_count), "classes": [str(n) for n in names],
            "class_sizes": [float(s) if s != int(s) else int(s) for s in sizes.tolist()],
            "recalls": np.asarray(recalls, dtype=float).tolist(), "allocations": allocs,
            "cautions": _cautions({a: v["empty_classes"] for a, v in allocs.items()}, names)}


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


_SIZE_NOTES = {
    "train_labels": "class sizes: counted from --train-labels",
    "class_sizes": "class sizes: from --sizes",
    "validation labels": "class sizes: the validation label counts (no --train-labels or --sizes given); "
                         "the counts and the finite-sample prediction are for a training set of those sizes: "
                         "pass --train-labels (or --sizes, one number for all classes, e.g. --sizes 5000 for "
                         "CIFAR-10)",
}


def logits_text(result: dict) -> str:
    """The text of ``droplab allocate --logits`` from its result
    (:func:`gaussian_theory.own_data.allocate_from_logits`): per class, the kept densities and counts of
    every allocation, the predicted recalls after pruning (prior shift on the validation logits;
    finite-sample LDA on the surrogate) and the predicted worst class."""
    import numpy as np

    allocs = result["allocations"]
    names = list(allocs)
    empty = {a: v["empty_classes"] for a, v in allocs.items()}
    cols = _flagged(names, empty)
    k = result["n_classes"]
    classes = [str(c) for c in range(k)]
    sizes, rec = result["class_sizes"], result["val_recalls"]
    notes = [f"* {c}" for c in _cautions(empty)]
    out = [f"query model: {result['val_samples']} validation samples, {k} classes, accuracy "
           f"{result['val_accuracy']:.4f}; surrogate: tied Gaussian (Ledoit-Wolf) of the logits, calibrated "
           f"to that accuracy; density {result['density']:g}, rule {result['rounding']!r}",
           _SIZE_NOTES[result["sizes_from"]], ""]
    for title, key, fmt in (("kept densities (integer counts / class sizes)", "densities", float),
                            ("kept counts", "counts", lambda c: f"{int(c)}")):
        out += [title, format_table(["class", "size", "val recall", *cols],
                                    [[c, f"{int(n)}", r, *(fmt(allocs[a][key][i]) for a in names)]
                                     for i, (c, n, r) in enumerate(zip(classes, sizes, rec))]), ""]
    out[-1:] = [*notes, ""] if notes else [""]
    pred = {a: allocs[a]["predicted"] for a in names}
    ses = np.concatenate([np.ravel(np.asarray(p["finite_sample_se"], dtype=float)) for p in pred.values()])
    # one trial gives no standard error (NaN): say so rather than nanmax's "All-NaN" RuntimeWarning
    se = f"standard error <= {ses[np.isfinite(ses)].max():.2g}" if np.isfinite(ses).any() else \
        "no standard error from one trial"
    fields = (("prior_shift", "predicted recall after pruning, prior shift: argmax_j (logit_j + log d_j) on "
                              "the validation logits"),
              ("finite_sample", "predicted recall after pruning, finite sample: LDA refitted on round(d_k "
                                f"N_k) surrogate samples ({result['trials']} trials; {se})"))
    for attr, title in fields:
        out += [title, format_table(["class", *cols], [[c, *(pred[a][attr][i] for a in names)]
                                                       for i, c in enumerate(classes)]), ""]
    rows = []
    for a, col in zip(names, cols):
        row = [col, f"{allocs[a]['kept']}"]
        for attr, _ in fields:
            r = np.asarray(pred[a][attr])
            w = int(np.argmin(r))
            row += [float(np.mean(r)), f"{classes[w]} ({r[w]:.3f})"]
        rows.append(row)
    out += ["predicted after pruning (mean = balanced accuracy over classes)",
            format_table(["allocation", "kept", "mean (prior shift)", "worst class (prior shift)",
                          "mean (finite sample)", "worst class (finite sample)"], rows)]
    return "\n".join(out)


def runs_report(model, density, *, min_count=0, seed=0, names=None, rule="paper",
                extra=()) -> tuple[str, dict]:
    """The text of ``droplab allocate --runs`` and the learned allocation as a dict (what ``--json`` and
    ``--out`` write): for uniform, DRoP and DRoP(a=0.7) (from the query model's validation recalls, with
    the integer rounding ``rule``), the ``extra`` ``(name, alpha)`` rules, and the learned allocation (the
    counts maximising the expected minimum recall the fitted recall ``model`` predicts), the counts and
    every class's predicted recall with its interval."""
    import numpy as np

    from ..intervals import class_recalls
    from ..own_data import empty_classes
    from ..quota_rules import QuotaInputs, make_rule

    q = model.query
    rec = class_recalls(np.argmax(q.logits, axis=1), q.labels, q.n_classes)
    inputs = QuotaInputs(recalls=rec, recall_model=model)
    sizes = q.class_sizes
    names = names or [str(c) for c in range(q.n_classes)]
    counts, info, forecast = {}, {}, {}
    for name, alpha in (*RUNS_ALLOCATIONS[:-1], *extra, RUNS_ALLOCATIONS[-1]):
        r = make_rule(name, rounding=rule, alpha=alpha)
        got = {}
        counts[r.method_label] = r.counts(sizes, density, inputs, min_count=min_count, seed=seed, info=got)
        info[r.method_label] = got
        forecast[r.method_label] = model.predict(counts[r.method_label])
    labels = list(counts)
    empty = {a: empty_classes(counts[a], sizes) for a in labels}
    cols = _flagged(labels, empty)
    notes = [f"* {c}" for c in _cautions(empty, names)]
    out = [f"recall model: gamma {model.gamma:g}, fitted on {model.n_runs} runs; query model {q.name}; "
           f"density {density:g}", "", "class counts",
           format_table(["class", "size", "val recall", *cols],
                        [[c, f"{int(n)}", r, *(f"{int(counts[a][i])}" for a in labels)]
                         for i, (c, n, r) in enumerate(zip(names, sizes, rec))]), *notes, "",
           "predicted recall [95% interval]",
           format_table(["class", *cols],
                        [[c, *(f"{forecast[a].recalls[i]:.3f} [{forecast[a].lower[i]:.3f}, "
                               f"{forecast[a].upper[i]:.3f}]" for a in labels)]
                         for i, c in enumerate(names)]), ""]
    rows = []
    for a, col in zip(labels, cols):
        f = forecast[a]
        rows.append([col, f"{int(counts[a].sum())}", float(np.mean(f.recalls)),
                     f"{names[f.worst]} ({f.recalls[f.worst]:.3f})"])
    out += ["predicted (mean = balanced accuracy over classes)",
            format_table(["allocation", "kept", "mean recall", "worst class"], rows)]
    learned = labels[-1]
    f = forecast[learned]
    result = {"counts": counts[learned].tolist(), "label": learned, "density": density,
              "predicted": f.recalls.tolist(), "lower": f.lower.tolist(), "upper": f.upper.tolist(),
              "expected_min_recall": info[learned]["expected_min_recall"], "gamma": model.gamma,
              "n_runs": model.n_runs, "query": q.name,
              "compared": {a: {"counts": counts[a].tolist(), "predicted": forecast[a].recalls.tolist(),
                               "lower": forecast[a].lower.tolist(), "upper": forecast[a].upper.tolist(),
                               "empty_classes": empty[a]} for a in labels},
              "cautions": _cautions(empty, names)}
    return "\n".join(out), result


def write_result(path, result: dict) -> None:
    """``result`` as one JSON object at ``path`` (written atomically)."""
    from pathlib import Path

    from ..atomic import atomic_write

    text = json.dumps(result) + "\n"
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def recommendation_text(rec: dict) -> str:
    """The recommendation of :func:`gaussian_theory.recommend.recommend` as text: the predicted worst class
    and balanced accuracy of every allocation, the recommended one marked."""
    prefer = rec.get("prefer")
    rows = [[("-> " if r["allocation"] == rec["recommended"] else "   ") + r["allocation"],
             f"{r['worst_class']} ({r['worst_recall']:.3f})", f"{r['mean_recall']:.3f}",
             f"{r['accuracy_loss']:+.3f}", "yes" if r["eligible"] else "no"]
            + ([] if prefer is None else [f"{r['gain']:+.3f} [{r['gain_low']:+.3f}, {r['gain_high']:+.3f}]"])
            for r in rec["table"]]
    cap = "no cap" if rec["max_accuracy_loss"] is None else f"at most {rec['max_accuracy_loss']:g}"
    header = ["allocation", "worst class", "balanced acc.", "loss", "eligible"]
    if prefer is not None:
        cap += f"; {prefer} unless another is predicted better with a 95% interval above 0"
        header.append(f"worst-class gain over {prefer} [95%]")
    return "\n".join([
        f"recommended before training ({rec['predictor'].replace('_', ' ')} predictions; accuracy loss "
        f"against {rec['baseline']}: {cap})",
        format_table(header, rows),
        f"recommended: {rec['reason']}. A prediction from the query model, not a measurement: check it on "
        "your own runs."])


def tradeoff_text(rows) -> str:
    """:func:`gaussian_theory.recommend.predicted_tradeoff` as a table: every allocation's predicted
    balanced accuracy and worst-class recall with their intervals."""
    body = [[r["allocation"], f"{r['mean_recall']:.3f} [{r['mean_low']:.3f}, {r['mean_high']:.3f}]",
             f"{r['worst_class']}: {r['worst_recall']:.3f} [{r['worst_low']:.3f}, {r['worst_high']:.3f}]"]
            for r in rows]
    return "\n".join([
        "predicted trade-off (95% intervals: the validation sample's noise only, not the gap between the "
        "query model and the trained network)",
        format_table(["allocation", "balanced acc.", "worst class"], body)])
