"""The report's text: its Markdown tables, the summary ``droplab empirical report`` prints, and the
report folder's ``README.md``.

From the rows of :mod:`empirical.report_comparisons` and :mod:`empirical.report_scorers`: per study, the
table against Random (:func:`markdown_table`), one per other baseline (:func:`comparison_markdown`), the
scorer study's (:func:`scorer_markdown`), regimes side by side (:func:`compare_markdown`, ``droplab
empirical compare``), the printed summary (:func:`format_summary`) and the folder's README with each
figure's caption (:func:`folder_readme`). Every paired difference is written mean [95% paired t interval
over seeds] with its verdict, as the documentation site's "How the comparisons are read" (page
"CIFAR-10: the small CNN") explains; the README's headline numbers come from these tables.
"""

from __future__ import annotations

from collections import Counter

from .options import IDENTITY_PINNED
from .report_comparisons import RANDOM
from .report_runs import CELL_FIELDS, NOT_CONFIGURATION, method_order

__all__ = ["markdown_table", "comparison_markdown", "compare_markdown", "scorer_markdown", "format_summary",
           "folder_readme"]


def _mmm(row, prefix, digits=3) -> str:
    if row.get(f"{prefix}_mean", "") == "":
        return "—"
    f = f"{{:.{digits}f}}"
    return (f"{f.format(row[prefix + '_mean'])} [{f.format(row[prefix + '_min'])}, "
            f"{f.format(row[prefix + '_max'])}]")


def _signed(row, prefix) -> str:
    if row.get(f"{prefix}_mean", "") == "":
        return "—"
    return f"{row[prefix + '_mean']:+.3f} [{row[prefix + '_min']:+.3f}, {row[prefix + '_max']:+.3f}]"


def _t_interval(row, prefix) -> str:
    """``mean [95% t interval over seeds]`` of a paired difference (``prefix``: e.g.
    ``paired_worst_class``), ``mean (1 seed)`` without an interval, ``—`` without pairs."""
    if row.get(f"{prefix}_diff_mean", "") == "":
        return "—"
    if row.get(f"{prefix}_t_low", "") == "":
        return f"{row[prefix + '_diff_mean']:+.3f} (1 seed)"
    return (f"{row[prefix + '_diff_mean']:+.3f} "
            f"[{row[prefix + '_t_low']:+.3f}, {row[prefix + '_t_high']:+.3f}]")


def _verdict(row, prefix) -> str:
    """The verdict of a paired difference, with the seeds that would decide an undecided one."""
    v = row.get(f"{prefix}_verdict", "")
    if v == "":
        return "—"
    n = row.get(f"{prefix}_seeds_to_decide", "")
    return v + (f" (≈{n} seeds)" if n != "" else "")


def _margin(rows, prefix) -> str:
    vals = sorted({r[f"{prefix}_margin"] for r in rows if r.get(f"{prefix}_margin", "") != ""})
    return "/".join(f"±{v:g}" for v in vals) or "—"


def _paired_gain(row, prefix: str = "paired_worst_class") -> str:
    """The paired difference against Random: mean [95% t interval over seeds], verdict, and k/n: the seeds
    whose own interval over test images excludes 0."""
    gain = _t_interval(row, prefix)
    if gain == "—":
        return gain
    excl = row.get(f"{prefix}_ci_excludes_0")
    return f"{gain} {_verdict(row, prefix)}" + (f", {excl}" if excl else "")


_T_NOTE = ("Δ: the run minus the {base} run of the same seed and density; mean [95% paired t interval over "
           "seeds] (t with n − 1 degrees of freedom: the spread of the per-seed differences carries both "
           "the training noise and each seed's test-sample noise). Verdict: better / worse (the 95% t "
           "interval excludes 0), equivalent (the 90% t interval, two one-sided tests at 5%, lies within "
           "the margin), else undecided, with the seeds that would decide it (80% power at a difference "
           "of the margin, the observed SD). Per-seed CIs: in how many seeds the paired 95% interval over "
           "the test images (exact stratified bootstrap) excludes 0 -- a detail, not the statement.")


def markdown_table(summary, studies, study: str | None = None) -> str:
    """A Markdown table per study for the README: density, method, seeds, average and worst-class test
    accuracy (mean [min, max] over seeds), the paired differences against Random of the same seed (mean
    [95% t interval over seeds] and the verdict; as a detail, in how many seeds the paired 95% test-set
    interval excludes 0) and the wall time per run."""
    parts = []
    for sid, st in studies.items():
        if study is not None and sid != study:
            continue
        rows = [r for r in summary if r["study"] == sid]
        wm, am = _margin(rows, "paired_worst_class"), _margin(rows, "paired_accuracy")
        lines = [f"**{st['label']}** (seeds {', '.join(map(str, st['seeds']))})", "",
                 "| d | method | seeds | avg acc mean [min, max] | worst-class mean [min, max] (worst class) "
                 f"| Δ worst-class vs Random: mean [95% t interval] | verdict (margin {wm}) "
                 "| per-seed CIs excl. 0 "
                 f"| Δ avg acc vs Random: mean [95% t interval], verdict (margin {am}) "
                 "| wall time / run |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            wc = r["worst_classes"].split(" ")[0].split(":")[0]
            has = r["n_pairs"] > 0
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | {_mmm(r, 'accuracy')} | "
                         f"{_mmm(r, 'worst_class')} ({wc}) | {_t_interval(r, 'paired_worst_class')} | "
                         f"{_verdict(r, 'paired_worst_class')} | "
                         f"{(r['paired_worst_class_ci_excludes_0'] or '—') if has else '—'} | "
                         f"{_t_interval(r, 'paired_accuracy')}"
                         f"{', ' + _verdict(r, 'paired_accuracy') if has else ''} | "
                         f"{r['wall_s_mean']:.0f} s |")
        hw = {s: [r[f"{s}_ci95_halfwidth_mean"] for r in rows if r[f"{s}_ci95_halfwidth_mean"] != ""]
              for s in ("accuracy", "worst_class")}
        machines = "; ".join(f"{m} ({n} runs)" for m, n in st["machines"].items())
        lines += ["", f"Runs on: {machines}. Mean over seeds, [min, max] over seeds. "
                  + _T_NOTE.format(base="Random (score random, quota none)")]
        if hw["accuracy"]:
            lines[-1] += (f" One run's 95% test-set interval half-width: average accuracy "
                          f"{min(hw['accuracy']):.3f}–{max(hw['accuracy']):.3f}, worst-class "
                          f"{min(hw['worst_class']):.3f}–{max(hw['worst_class']):.3f}.")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def comparison_markdown(rows, studies, baseline: str) -> str:
    """A Markdown table per study of the comparisons against ``baseline``
    (:func:`empirical.report_comparisons.comparison_rows`): per density and method, the seeds, the paired
    worst-class difference (mean [95% t interval], SD over seeds, verdict, per-seed CIs excluding 0) and
    the average-accuracy difference with its verdict. Empty string without such rows."""
    parts = []
    for sid, st in studies.items():
        rs = [r for r in rows if r["study"] == sid and r["baseline"] == baseline]
        if not rs:
            continue
        wm, am = _margin(rs, "worst_class"), _margin(rs, "accuracy")
        lines = [f"**{st['label']}: against {baseline}**", "",
                 f"| d | method | seeds | Δ worst-class vs {baseline}: mean [95% t interval] | SD over seeds "
                 f"| verdict (margin {wm}) | per-seed CIs excl. 0 "
                 f"| Δ avg acc vs {baseline}: mean [95% t interval], verdict (margin {am}) |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in rs:
            sd = r["worst_class_diff_sd"]
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | "
                         f"{_t_interval(r, 'worst_class')} | {'—' if sd == '' else f'{sd:.3f}'} | "
                         f"{_verdict(r, 'worst_class')} | {r['worst_class_ci_excludes_0'] or '—'} | "
                         f"{_t_interval(r, 'accuracy')}, {_verdict(r, 'accuracy')} |")
        lines += ["", _T_NOTE.format(base=baseline)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


def _recorded_text(studies: dict, field: str) -> str:
    """The values a pinned diagnostic (:data:`empirical.options.IDENTITY_PINNED`, e.g. the surrogate) held
    in the runs, as they recorded them: ``tied``, or ``tied (70 runs) / isotropic (3 runs)``. The grouping
    holds the pinned value; printing that would misstate what the runs used."""
    seen = Counter()
    for st in studies.values():
        seen.update(st.get("recorded", {}).get(field, {}))
    if not seen:
        return "not recorded"
    if len(seen) == 1:
        return next(iter(seen))
    return " / ".join(f"{v} ({n} run{'s' * (n != 1)})" for v, n in seen.most_common())


def format_summary(rep: dict) -> str:
    """What was grouped and the per-cell numbers, as printed by ``droplab empirical report``."""
    out = [f"{rep['n_json']} run JSON(s) -> {rep['runs']} distinct run(s) in {len(rep['studies'])} "
           f"configuration(s) (grouped by every config field except {', '.join(NOT_CONFIGURATION)}; "
           f"varying within a configuration: {', '.join(CELL_FIELDS)})"]
    out += [f"warning: {w}" for w in rep["warnings"]]
    common = None
    for st in rep["studies"].values():
        c = {k: v for k, v in st["config"].items() if k not in st["differs"]}
        common = c if common is None else {k: v for k, v in common.items() if c.get(k) == v}
    shown = {k: (_recorded_text(rep["studies"], k) if k in IDENTITY_PINNED else v)
             for k, v in (common or {}).items()}
    out.append("common configuration: " + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))
    for sid, st in rep["studies"].items():
        out.append(f"{sid}: {st['label']}: {st['runs']} runs, seeds {st['seeds']}"
                   + (f"; differs in {st['differs']}" if st["differs"] else ""))
        for r in rep["summary"]:
            if r["study"] != sid:
                continue
            line = (f"  d={r['density']:<4g} {r['method']:<14} seeds={r['n_seeds']} "
                    f"acc {_mmm(r, 'accuracy', 4)}  worst {_mmm(r, 'worst_class', 4)}")
            if r["n_pairs"]:
                line += (f"  vs Random: Δworst {_t_interval(r, 'paired_worst_class')}"
                         f" {_verdict(r, 'paired_worst_class')}"
                         f" (per-seed CIs excl. 0: {r['paired_worst_class_ci_excludes_0'] or '-'}),"
                         f" Δacc {_t_interval(r, 'paired_accuracy')} {_verdict(r, 'paired_accuracy')}")
            out.append(line + f"  wall {r['wall_s_mean']:.0f}s")
        for c in rep.get("comparisons", []):
            if c["study"] == sid and c["baseline"] != RANDOM:
                out.append(f"  d={c['density']:<4g} {c['method']:<14} vs {c['baseline']}: "
                           f"seeds={c['n_seeds']} "
                           f"Δworst {_t_interval(c, 'worst_class')} {_verdict(c, 'worst_class')} "
                           f"(per-seed CIs excl. 0: {c['worst_class_ci_excludes_0'] or '-'}), "
                           f"Δacc {_t_interval(c, 'accuracy')} {_verdict(c, 'accuracy')}")
    return "\n".join(out)


def folder_readme(rep: dict, figures=(), sources=()) -> str:
    """``README.md`` of the report folder: how it was made, what each file holds, the tables
    (:func:`markdown_table`) and, under "## Figures", one section per figure (``figures``: the
    ``{"stem", "title", "caption"}`` of :func:`empirical.report_figures.figure_captions`)."""
    src = " ".join(f"`{p}`" for p in sources)
    lines = ["# droplab empirical report", "",
             "Generated by `droplab empirical report` (this file included; do not edit by hand: the captions "
             "are written by `empirical/report_figures.py`) from "
             f"{rep['n_json']} run JSON(s){' under ' + src if src else ''}: {rep['runs']} distinct run(s) "
             f"in {len(rep['studies'])} configuration(s).", "",
             "Files: `runs.csv` (one row per distinct run), `summary.csv` (one row per study, density and "
             "method), `paired.csv` (one row per run and baseline run of the same seed and density: the "
             "per-seed paired intervals over test images), `comparisons.csv` (one row per study, density, "
             "method and baseline: the paired t interval over seeds and the verdict), "
             "`classes.csv` (one row per run and class), `class_summary.csv` (per study, density, method and "
             "class: test recall over seeds), "
             + ("`scorers.csv` and `scorer_classes.csv` (the scorer study: per scorer method, and per "
                "class its recall change against Random and kept density), " if rep.get("scorers") else "")
             + "`README_table.md` (the tables below)"
             + (", and each figure as PNG and PDF." if figures else "."), "",
             "## Tables", "", rep["markdown"].rstrip()]
    if rep.get("comparison_markdown"):
        lines += ["", rep["comparison_markdown"].rstrip()]
    if rep.get("scorer_markdown"):
        lines += ["", rep["scorer_markdown"].rstrip()]
    if figures:
        lines += ["", "## Figures"]
        for f in figures:
            alt = f["title"].replace("[", "(").replace("]", ")")   # brackets would end the image's text
            lines += ["", f"### {f['title']}", "", f"![{alt}]({f['stem']}.png)", "", f["caption"], "",
                      f"Files: `{f['stem']}.png`, `{f['stem']}.pdf`."]
    return "\n".join(lines) + "\n"


def compare_markdown(regimes: dict, baseline: str = RANDOM) -> str:
    """Regimes side by side (e.g. the small CNN and whitenet-256): one row per density and method found in
    any regime's main study (the one with the most runs, ``S1``), per regime the seeds, the paired
    worst-class and average-accuracy differences against ``baseline`` of the same seed (mean [95% t
    interval over seeds], verdict; in how many seeds the paired 95% interval over test images excludes
    0). ``regimes``: ``{label: rows}``, the summary rows of :func:`empirical.report_comparisons.summarise`
    / :func:`empirical.report.summarise_paths` (against Random) or the comparison rows of
    :func:`empirical.report_comparisons.comparison_rows` (the ``"comparisons"`` of
    :func:`empirical.report.summarise_paths`; those against ``baseline`` are used)."""
    if not regimes:
        raise ValueError("regimes must hold at least one {label: summary rows} entry")
    for label in regimes:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"regime labels must be non-empty strings, got {label!r}")
    cells, prefix = {}, {}
    for label, rows in regimes.items():
        rows = list(rows)
        comparison = any("baseline" in r for r in rows)
        if not comparison and baseline != RANDOM:
            raise ValueError(f"regime {label!r} holds summary rows (against Random); pass its comparison "
                             f"rows to compare against {baseline!r}")
        prefix[label] = "" if comparison else "paired_"
        cells[label] = {(r["density"], r["method"]): r for r in rows if r["study"] == "S1"
                        and (not comparison or r["baseline"] == baseline)}
    keys = sorted({k for c in cells.values() for k in c if k[0] != 1 or k[1] != "Random"},
                  key=lambda k: (k[0], method_order(k[1])))
    head = "| d | method | " + " | ".join(
        f"{lab}: seeds | {lab}: Δ worst-class vs {baseline}: mean [95% t], verdict, per-seed CIs excl. 0 | "
        f"{lab}: Δ avg acc vs {baseline}: mean [95% t], verdict" for lab in regimes) + " |"
    lines = [head, "|---|---|" + "---|---|---|" * len(regimes)]
    for k in keys:
        row = f"| {k[0]:g} | {k[1]} |"
        for lab in regimes:
            r, p = cells[lab].get(k), prefix[lab]
            if r is None:
                row += " — | — | — |"
                continue
            acc = _t_interval(r, f"{p}accuracy")
            acc += f", {_verdict(r, f'{p}accuracy')}" if acc != "—" else ""
            row += f" {r['n_seeds']} | {_paired_gain(r, f'{p}worst_class')} | {acc} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def scorer_markdown(rows, studies) -> str:
    """The scorer study's Markdown table, per study (empty string without scorer runs)."""
    parts = []
    for sid, st in studies.items():
        rs = [r for r in rows if r["study"] == sid]
        if not rs:
            continue
        lines = [f"**Scorer study: {st['label']}**", "",
                 "| d | method | seeds | worst-class mean [min, max] (worst class) "
                 "| Δ worst-class vs Random: mean [95% t], verdict, per-seed CIs excl. 0 "
                 "| Δ avg acc vs Random: mean [95% t], verdict | most-pruned classes (kept "
                 "density) | largest recall drop vs Random "
                 "| Δ worst-class vs the scorer without quotas: mean [95% t], verdict |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            gain = _paired_gain(r)
            # the kept densities as scorer_rows rounded them (three decimals): rounded once, not again
            pruned = ", ".join(f"{name} {v}" for name, v in (x.split(":") for x in r["most_pruned"].split()))
            name, drop = r["largest_recall_drop"].split(":")
            acc = _t_interval(r, "paired_accuracy")
            acc += f", {_verdict(r, 'paired_accuracy')}" if acc != "—" else ""
            repair = _t_interval(r, "repair_worst_class")
            repair += f", {_verdict(r, 'repair_worst_class')}" if repair != "—" else ""
            lines.append(f"| {r['density']:g} | {r['method']} | {r['n_seeds']} | {_mmm(r, 'worst_class')} "
                         f"({r['worst_class']}) | {gain} | {acc} | {pruned} | {name} {drop} | {repair} |")
        lines += ["", "Δ: paired by seed, mean [95% paired t interval over seeds] and its verdict (as in the "
                  "table above). Most-pruned classes: the two lowest "
                  "kept class densities (mean over seeds; a dynamic score: mean over epochs). The last "
                  "column is the scorer with quotas minus the same scorer without, same seed: above 0 the "
                  "quota repairs the worst class."]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")
