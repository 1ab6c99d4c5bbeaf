"""The figure of :mod:`empirical.prediction_check`: predicted against measured recalls, per predictor
(``droplab empirical check-predictions RUNS --plot DIR``).

``recall_prediction.png``/``.pdf``, panels lettered row by row: top row (a)-(c), predicted vs measured
per-class recall change, one point per class x allocation x seed/density, one column per predictor, Pearson
r and slope of the rule-based allocations (every allocation but minimax) in the titles, minimax drawn as
crosses (the failure case); middle row (d)-(f), the same zoomed on the rule-based points; bottom row
(g)-(i), measured vs predicted worst-class recall per allocation and seed/density.
``recall_prediction.csv`` holds every point (tidy, one row each).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

__all__ = ["STYLE", "PANELS", "MADE_BY", "plot_points", "plot", "format_figure_stats"]

#: the figure's footnote: the command that made it
MADE_BY = "made by droplab empirical check-predictions --plot"

# allocation -> (colour, label), as METHOD_STYLE of gaussian_theory.figures (damped DRoP: reddish purple)
STYLE = {"uniform": ("black", "uniform (Random)"), "DRoP": ("vermillion", "DRoP"),
         "DRoP(a=0.7)": ("reddish purple", "DRoP(a=0.7)"), "probit": ("sky blue", "probit"),
         "minimax": ("bluish green", "minimax (failure case)")}
PANELS = {"prior-shift": "prior shift on the logits", "surrogate": "calibrated tied surrogate",
          "finite": "finite-sample LDA on the surrogate"}
DENSITY_MARKER = {0.3: "v", 0.5: "o", 0.8: "s"}


def plot_points(rows, class_names=None) -> list[dict]:
    """The points of the figure, tidy (one dict per point): ``quantity`` = ``recall_change`` (one per
    predictor x allocation x seed/density x class; allocation - uniform, predicted on the query model,
    measured against the Random run of the same seed and density) or ``worst_class_recall`` (one per
    predictor x allocation x seed/density; predicted = measured uniform recalls + predicted change, the
    table's baseline mode)."""
    points = []
    for key in PANELS:
        for r in rows[key]:
            base = {"predictor": key, "allocation": r["alloc"], "seed": r["seed"], "density": r["density"],
                    "rule_based": r["alloc"] != "minimax"}
            dp, dm = r["pred"] - r["pred_u"], r["meas"] - r["meas_u"]
            if r["alloc"] != "uniform":
                for k in range(dp.size):
                    name = class_names[k] if class_names is not None else str(k)
                    points.append({**base, "quantity": "recall_change", "class": name,
                                   "predicted": float(dp[k]), "measured": float(dm[k])})
            points.append({**base, "quantity": "worst_class_recall", "class": "",
                           "predicted": float((r["meas_u"] + dp).min()), "measured": float(r["meas"].min())})
    return points


def _fit(pts) -> tuple[float, float]:
    """Pearson r and the least-squares slope through 0 of measured on predicted."""
    x = np.array([p["predicted"] for p in pts])
    y = np.array([p["measured"] for p in pts])
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    return float(pearsonr(x, y)[0]), float(x @ y / (x @ x))


def plot(rows, names, out_dir, class_names=None, *, title: str, made_by: str = MADE_BY) -> dict:
    """Write ``recall_prediction.{png,pdf,csv}`` into ``out_dir`` (module docstring).

    Parameters
    ----------
    rows : dict
        :attr:`empirical.prediction_check.PredictionCheck.rows`.
    names : list of str
        The allocations, ``uniform`` first.
    out_dir : path
        Created if needed; the files are written atomically.
    class_names : list of str, optional
        The classes' names in the CSV (default: their indices).
    title : str
        The study in prose, the start of the figure's title, e.g. ``CIFAR-10 small CNN``
        (:attr:`empirical.prediction_check.PredictionCheck.title`).
    made_by : str
        The figure's footnote.

    Returns
    -------
    dict
        ``stats``: per predictor the numbers in the panels' titles (``pearson_rule``, ``slope_rule``,
        ``pearson_minimax``, ``slope_minimax``, ``mae_change_rule``, ``n_rule``, ``worst_mae_rule``,
        ``worst_bias_rule``, ``worst_bias_minimax``); ``files``: the paths written (PNG, PDF, CSV);
        ``n_points``: the CSV's rows.
    """
    from gaussian_theory.atomic import atomic_write
    from gaussian_theory.figures import OKABE_ITO
    from gaussian_theory.figures.style import new_figure, styled

    out_dir = Path(out_dir)

    points = plot_points(rows, class_names)
    stats = {}

    @styled
    def draw():
        fig = new_figure(14, 14.5, f"{title}: per-class test recall after re-allocation (Random "
                         "pruning at the allocation's class densities),\npredicted from the query model's "
                         "validation logits (x) vs measured on the final models' test set (y)",
                         "changes: predicted relative to uniform, measured relative to the Random run of the "
                         "same seed and density; rule-based = DRoP, DRoP(a=0.7), probit\n" + made_by)
        axes = fig.subplots(3, 3)
        change = [p for p in points if p["quantity"] == "recall_change"]
        worst = [p for p in points if p["quantity"] == "worst_class_recall"]
        allx = [p["predicted"] for p in change] + [p["measured"] for p in change]
        lo, hi = min(allx) - 0.05, max(allx) + 0.05
        rule = [p for p in change if p["rule_based"]]
        zr = max(abs(v) for p in rule for v in (p["predicted"], p["measured"])) + 0.02
        wall = [v for p in worst for v in (p["predicted"], p["measured"])]
        wlo, whi = min(wall) - 0.03, max(wall) + 0.03
        for col, (key, panel) in enumerate(PANELS.items()):
            ch = [p for p in change if p["predictor"] == key]
            r_rule, s_rule = _fit([p for p in ch if p["rule_based"]])
            r_mm, s_mm = _fit([p for p in ch if not p["rule_based"]])
            mae_rule = np.mean([abs(p["predicted"] - p["measured"]) for p in ch if p["rule_based"]])
            wo = [p for p in worst if p["predictor"] == key]
            w_rule = [p["predicted"] - p["measured"] for p in wo
                      if p["rule_based"] and p["allocation"] != "uniform"]
            w_mm = [p["predicted"] - p["measured"] for p in wo if not p["rule_based"]]
            stats[key] = {"pearson_rule": r_rule, "slope_rule": s_rule, "pearson_minimax": r_mm,
                          "slope_minimax": s_mm, "mae_change_rule": float(mae_rule),
                          "n_rule": sum(p["rule_based"] for p in ch),
                          "worst_mae_rule": float(np.mean(np.abs(w_rule))) if w_rule else float("nan"),
                          "worst_bias_rule": float(np.mean(w_rule)) if w_rule else float("nan"),
                          "worst_bias_minimax": float(np.mean(w_mm)) if w_mm else float("nan")}
            st = stats[key]
            # panels lettered row by row: (a)-(c) the changes, (d)-(f) their zoom, (g)-(i) worst class
            top, zoom, bottom = (f"({chr(ord('a') + row * len(PANELS) + col)})" for row in range(3))
            for row, ax in enumerate(axes[:, col]):
                if row < 2:
                    for name in names[1:]:
                        pts = [p for p in ch if p["allocation"] == name]
                        color, label = STYLE.get(name, ("orange", name))
                        mm = name == "minimax"
                        ax.scatter([p["predicted"] for p in pts], [p["measured"] for p in pts],
                                   s=22 if mm else 14, alpha=0.85, color=OKABE_ITO[color],
                                   marker="x" if mm else "o", linewidths=1.2 if mm else None, label=label,
                                   zorder=2 if mm else 3)
                    lim = (lo, hi) if row == 0 else (-zr, zr)
                    ax.axhline(0, color="grey", lw=0.5)
                    ax.axvline(0, color="grey", lw=0.5)
                    ax.set_xlabel("predicted change of a class's recall vs uniform")
                    if row == 0:
                        mm_line = (f"minimax (failure case): r = {r_mm:.2f}, slope {s_mm:.2f}"
                                   if "minimax" in names else "no minimax runs")
                        ax.set_title(f"{top} {panel}\nrule-based: Pearson r = {r_rule:.2f}, "
                                     f"slope {s_rule:.2f} (n = {st['n_rule']})\n{mm_line}")
                    else:
                        ax.set_title(f"{zoom} zoom of {top} on the rule-based points\nrule-based: mean "
                                     f"|predicted - measured| = {mae_rule:.3f}")
                    if col == 0:
                        ax.set_ylabel("measured change vs the Random run\n(same seed and density)")
                else:
                    # an inset zoom on the rule-based points when minimax's failures stretch the axes
                    inset = ax.inset_axes([0.14, 0.57, 0.41, 0.41]) if "minimax" in names else None
                    rw = [v for p in wo if p["rule_based"] for v in (p["predicted"], p["measured"])]
                    ilim = (min(rw) - 0.01, max(rw) + 0.01)
                    for target, size in ((ax, 30), (inset, 22))[:2 if inset is not None else 1]:
                        for name in names:
                            pts = [p for p in wo if p["allocation"] == name]
                            c = OKABE_ITO[STYLE.get(name, ("orange", name))[0]]
                            for d in sorted({p["density"] for p in pts}):
                                pd = [p for p in pts if p["density"] == d]
                                target.scatter([p["predicted"] for p in pd], [p["measured"] for p in pd],
                                               s=size, marker=DENSITY_MARKER.get(d, "D"), edgecolors=c,
                                               facecolors="none" if name == "minimax" else c, linewidths=1.2,
                                               zorder=3)
                    if inset is not None:
                        inset.plot(ilim, ilim, color="grey", lw=1, zorder=1)
                        inset.set(xlim=ilim, ylim=ilim, aspect="equal")
                        inset.tick_params(labelsize=7)
                        ax.indicate_inset_zoom(inset, edgecolor="grey")
                    lim = (wlo, whi)
                    ax.set_xlabel("predicted worst-class recall\n(measured uniform + predicted change)")
                    ax.set_title(f"{bottom} worst-class recall (error = predicted - measured)\nrule-based: "
                                 f"mean |error| {st['worst_mae_rule']:.3f}, mean error "
                                 f"{st['worst_bias_rule']:+.3f}\n" +
                                 (f"minimax: mean error {st['worst_bias_minimax']:+.3f}" if "minimax" in names
                                  else "no minimax runs"))
                    if col == 0:
                        ax.set_ylabel("measured worst-class test recall")
                ax.plot(lim, lim, color="grey", lw=1, zorder=1, label="identity" if row == 0 else None)
                ax.set(xlim=lim, ylim=lim, aspect="equal")
        axes[0, 0].legend(loc="upper left", fontsize=8)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], ls="none", marker="o", ms=6, label=STYLE.get(n, ("orange", n))[1],
                          color=OKABE_ITO[STYLE.get(n, ("orange", n))[0]],
                          mfc="none" if n == "minimax" else None)
                   for n in names]
        handles += [Line2D([], [], ls="none", marker=DENSITY_MARKER.get(d, "D"), ms=6, color="grey",
                           label=f"density {d:g}")
                    for d in sorted({p["density"] for p in worst})]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                   title="(c): colour = allocation (minimax hollow), marker = dataset density; one point per "
                   "allocation x seed x density" + ("; the inset zooms on the rule-based points"
                                                    if "minimax" in names else ""))
        return fig

    fig = draw()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for ext in ("png", "pdf"):
        path = out_dir / f"recall_prediction.{ext}"
        atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=150))
        files.append(path)
    cols = ("quantity", "predictor", "allocation", "rule_based", "seed", "density", "class", "predicted",
            "measured")
    lines = [",".join(cols)] + [",".join(f"{p[c]:.6f}" if c in ("predicted", "measured") else
                                         f"{p[c]:g}" if c == "density" else str(p[c]) for c in cols)
                                for p in points]
    csv = out_dir / "recall_prediction.csv"
    atomic_write(csv, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    files.append(csv)
    return {"stats": stats, "files": files, "n_points": len(points)}


def format_figure_stats(figure: dict) -> str:
    """What :func:`plot` wrote and the numbers in its titles, one line each (newline-terminated)."""
    lines = [f"wrote {f}" for f in figure["files"][:-1]]
    lines.append(f"wrote {figure['files'][-1]} ({figure['n_points']} rows)")
    for key, st in figure["stats"].items():
        lines.append(f"  {key:<12} rule-based: r = {st['pearson_rule']:.2f}, slope {st['slope_rule']:.2f}, "
                     f"n = {st['n_rule']}; minimax: r = {st['pearson_minimax']:.2f}, "
                     f"slope {st['slope_minimax']:.2f}; "
                     f"worst class: rule-based MAE {st['worst_mae_rule']:.3f}, "
                     f"bias {st['worst_bias_rule']:+.3f}, "
                     f"minimax bias {st['worst_bias_minimax']:+.3f}")
    return "\n".join(lines) + "\n"
