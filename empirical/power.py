r"""Across-seed statistics of paired comparisons: one interval, a verdict, power and seeds needed.

Numpy and scipy only (no torch): usable on recorded run JSONs. The inputs are **per-seed paired
differences** :math:`d_i = m(A, i) - m(B, i)`, :math:`i = 1..n`: a metric :math:`m` (worst-class or
average test accuracy) of method A minus that of a baseline B (Random, or e.g. Random+DRoP) trained
with the same seed, at the same density, in the same study
(:func:`empirical.report_comparisons.seed_differences` builds them from runs).

**One interval per comparison: the paired t interval over seeds.** With :math:`\bar d`, :math:`s` the
mean and standard deviation of the :math:`d_i`,

.. math:: \bar d \pm t_{1-\alpha/2,\,n-1}\, s/\sqrt n .

Each :math:`d_i` is measured on the test set, so it already holds that seed's test-sample noise on
top of the training noise (initialisation, data order, the query model and the pruned subset); the
spread :math:`s` of the :math:`d_i` therefore carries both sources, and no separate test-set term is
added. The seeds are independent replications, so with normal :math:`d_i` the interval is exact for
any :math:`n\ge 2` (a t distribution with :math:`n-1` degrees of freedom), where a bootstrap over 3 or
8 seeds would not be. The per-seed bootstrap intervals over test images
(:func:`empirical.stats.paired_difference_interval`) stay a detail: they see one seed's test noise
only.

**Verdict** (:func:`comparison_verdict`), with a declared margin :math:`\delta_0` (default 0.02 on the
worst-class recall): *better* when the 95% t interval lies above 0, *worse* when below 0 (checked
first), *equivalent* when the 90% t interval lies inside :math:`(-\delta_0, \delta_0)` -- two one-sided
t tests at 5% (TOST, Schuirmann 1987) -- and *undecided* otherwise. For an undecided comparison,
``seeds_to_decide`` is :func:`seeds_needed` for :math:`\delta = \delta_0` at the observed :math:`s`.

**Power of the paired t test** (two-sided, level :math:`\alpha`), exact: with
:math:`\lambda=\delta\sqrt n/\sigma` and :math:`T'` noncentral t with :math:`n-1` degrees of freedom
and noncentrality :math:`\lambda` (:data:`scipy.stats.nct`),

.. math:: \mathrm{power}(\delta, \sigma, n) = P(T' > t_{1-\alpha/2,n-1}) + P(T' < -t_{1-\alpha/2,n-1}).

* :func:`minimum_detectable_difference`: the :math:`\delta>0` with power 80% at the current
  :math:`n` and :math:`\sigma = s` (root of the exact power, Brent's method);
* :func:`seeds_needed`: the smallest :math:`n\ge 2` with power :math:`\ge` 80% for :math:`\delta`
  at :math:`\sigma=s` -- the degrees of freedom move with :math:`n` -- found by iteration upward
  from the normal approximation :math:`\lceil (z_{1-\alpha/2}+z_{0.8})^2\sigma^2/\delta^2\rceil`
  (which never exceeds it);
* :func:`sd_upper_bound`: the one-sided 80% upper confidence bound of :math:`\sigma`,
  :math:`s\sqrt{(n-1)/\chi^2_{0.2,\,n-1}}` (:math:`(n-1)s^2/\sigma^2\sim\chi^2_{n-1}` under normality):
  with 3 seeds :math:`s` may well be half the true SD, and the seeds needed at this bound say how many
  a design needs unless it was lucky.

This is the formula that reproduces the table of issue 32 (learned allocation − DRoP, worst class,
:math:`\delta = 0.02`): small CNN, 8 seeds, :math:`s` = 0.037 / 0.047 at d = 0.3 / 0.5: smallest
detectable gain 0.043 / 0.055, 30 / 46 seeds; whitenet-256, 3 seeds, :math:`s` = 0.019 / 0.022:
0.062 / 0.072, 10 / 12 seeds, SD bound 0.040 / 0.047, 34 / 45 seeds at the bound. (The normal
approximation gives 0.037 and 28 seeds for the first row: too optimistic at 8 seeds; at 3 seeds
far more so.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from gaussian_theory.validation import as_float_array, check_int, check_real

__all__ = ["paired_t_interval", "comparison_verdict", "power_paired_t", "minimum_detectable_difference",
           "seeds_needed", "sd_upper_bound", "power_rows", "power_markdown", "power_text", "VERDICTS",
           "DEFAULT_MARGIN", "DEFAULT_ACCURACY_MARGIN", "POWER_COLUMNS"]

#: the verdicts of :func:`comparison_verdict`
VERDICTS = ("better", "worse", "equivalent", "undecided", "too few seeds")
#: equivalence margin on the worst-class recall (issue 32)
DEFAULT_MARGIN = 0.02
#: equivalence margin on the average accuracy (one run's 95% test-set half-width is about 0.01)
DEFAULT_ACCURACY_MARGIN = 0.01
#: the largest number of seeds :func:`seeds_needed` searches before it gives up
MAX_SEEDS = 1_000_000
# above this noncentrality the far tail P(T' < -t) is below Phi(-10) ~ 1e-23 (scipy may return NaN)
_FAR_TAIL_NC = 10.0


def _check_alpha(alpha) -> float:
    alpha = check_real(alpha, "alpha", 0.0, 1.0, strict_minimum=True)
    if alpha >= 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    return alpha


def _check_power(power, name: str = "power") -> float:
    power = check_real(power, name, 0.0, 1.0, strict_minimum=True)
    if power >= 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {power!r}")
    return power


def _check_sd(sd, name="sd") -> float:
    return check_real(sd, name, 0.0)


def _differences(values, name="differences") -> np.ndarray:
    d = as_float_array(values, name)
    if d.ndim != 1:
        raise ValueError(f"{name} must be a 1-d sequence of per-seed differences, got shape {d.shape}")
    return d


def paired_t_interval(differences, level: float = 0.95) -> dict:
    """The paired t interval over seeds of per-seed differences (module docstring).

    Parameters
    ----------
    differences : sequence of float
        One paired difference per seed (finite).
    level : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    dict
        ``{"n", "mean", "sd", "se", "df", "level", "low", "high"}``; with fewer than 2 seeds ``sd``,
        ``se``, ``low`` and ``high`` are NaN (no spread to estimate).

    Examples
    --------
    >>> r = paired_t_interval([0.01, 0.03, 0.02])
    >>> round(r["mean"], 3), round(r["low"], 4), round(r["high"], 4)
    (0.02, -0.0048, 0.0448)
    """
    from scipy import stats

    d = _differences(differences)
    level = check_real(level, "level", 0.0, 1.0, strict_minimum=True)
    if level >= 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "sd": math.nan, "se": math.nan, "df": max(n - 1, 0), "level": level,
                "low": math.nan, "high": math.nan}
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return {"n": n, "mean": mean, "sd": sd, "se": se, "df": n - 1, "level": level,
            "low": mean - half, "high": mean + half}


def power_paired_t(delta, sd, n, alpha: float = 0.05) -> float:
    r"""Exact power of the two-sided paired t test at level ``alpha``.

    Parameters
    ----------
    delta : float
        True mean paired difference (its sign does not matter).
    sd : float
        Standard deviation of one paired difference, :math:`\sigma\ge 0`.
    n : int
        Number of seeds (pairs), at least 2.
    alpha : float
        Two-sided level in (0, 0.5).

    Returns
    -------
    float
        :math:`P(T'>t_{1-\alpha/2,n-1})+P(T'<-t_{1-\alpha/2,n-1})`, :math:`T'\sim` noncentral t with
        :math:`n-1` degrees of freedom and noncentrality :math:`|\delta|\sqrt n/\sigma`; ``alpha`` when
        ``delta`` is 0, 1 when ``sd`` is 0 and ``delta`` is not.

    Examples
    --------
    >>> round(power_paired_t(0.02, 0.0373, 30), 3)
    0.81
    """
    from scipy import stats

    delta = abs(check_real(delta, "delta"))
    sd = _check_sd(sd)
    n = check_int(n, "n", 2)
    alpha = _check_alpha(alpha)
    if sd == 0.0:
        return 1.0 if delta > 0 else alpha
    nc = delta * math.sqrt(n) / sd
    crit = float(stats.t.ppf(1.0 - alpha / 2, n - 1))
    upper = float(stats.nct.sf(crit, n - 1, nc))
    lower = 0.0 if nc > _FAR_TAIL_NC else float(stats.nct.cdf(-crit, n - 1, nc))
    return min(1.0, upper + lower)


def minimum_detectable_difference(sd, n, power: float = 0.8, alpha: float = 0.05) -> float:
    """The smallest true difference the paired t test detects with probability ``power``.

    Parameters
    ----------
    sd : float
        Standard deviation of one paired difference (e.g. the observed one).
    n : int
        Number of seeds, at least 2.
    power, alpha : float
        Target power in (0, 1) and two-sided level in (0, 0.5).

    Returns
    -------
    float
        The root :math:`\\delta > 0` of ``power_paired_t(delta, sd, n, alpha) = power`` (exact
        noncentral t, Brent's method to 1e-12); 0 when ``sd`` is 0.

    Examples
    --------
    >>> round(minimum_detectable_difference(0.0373, 8), 3)
    0.043
    """
    from scipy.optimize import brentq

    sd = _check_sd(sd)
    n = check_int(n, "n", 2)
    power, alpha = _check_power(power), _check_alpha(alpha)
    if power <= alpha:
        raise ValueError(f"power must exceed alpha={alpha}, got {power!r}")
    if sd == 0.0:
        return 0.0
    se = sd / math.sqrt(n)
    hi = 4.0 * se
    while power_paired_t(hi, sd, n, alpha) < power:
        hi *= 2.0
    return float(brentq(lambda x: power_paired_t(x, sd, n, alpha) - power, 0.0, hi, xtol=1e-12, rtol=1e-12))


def seeds_needed(delta, sd, power: float = 0.8, alpha: float = 0.05, max_seeds: int = MAX_SEEDS) -> int:
    """The fewest seeds for which the paired t test detects ``delta`` with probability ``power``.

    Parameters
    ----------
    delta : float
        The difference to detect, not 0 (its sign does not matter).
    sd : float
        Standard deviation of one paired difference (e.g. the observed one, or :func:`sd_upper_bound`).
    power, alpha : float
        Target power in (0, 1) and two-sided level in (0, 0.5).
    max_seeds : int
        Give up above this many seeds (``ValueError``).

    Returns
    -------
    int
        The smallest :math:`n\\ge 2` with ``power_paired_t(delta, sd, n, alpha) >= power``: iterated
        upward from the normal approximation (module docstring); 2 when ``sd`` is 0.

    Examples
    --------
    >>> seeds_needed(0.02, 0.0373), seeds_needed(0.02, 0.0189)
    (30, 10)
    """
    from scipy import stats

    delta = abs(check_real(delta, "delta"))
    if delta == 0.0:
        raise ValueError("delta must not be 0: no number of seeds detects a zero difference")
    sd = _check_sd(sd)
    power, alpha = _check_power(power), _check_alpha(alpha)
    if power <= alpha:
        raise ValueError(f"power must exceed alpha={alpha}, got {power!r}")
    max_seeds = check_int(max_seeds, "max_seeds", 2)
    if sd == 0.0:
        return 2
    z = float(stats.norm.ppf(1.0 - alpha / 2) + stats.norm.ppf(power))
    n = max(2, math.ceil((z * sd / delta) ** 2))
    while n <= max_seeds and power_paired_t(delta, sd, n, alpha) < power:
        n += 1
    if n > max_seeds:
        raise ValueError(f"more than max_seeds={max_seeds} seeds needed to detect delta={delta} with sd={sd}")
    return n


def sd_upper_bound(sd, n, level: float = 0.8) -> float:
    """One-sided upper confidence bound of the standard deviation from ``n`` seeds (chi-square).

    Parameters
    ----------
    sd : float
        The observed standard deviation :math:`s` (ddof 1) of ``n`` paired differences.
    n : int
        Number of seeds, at least 2.
    level : float
        Confidence level in (0, 1) (default 0.8).

    Returns
    -------
    float
        :math:`s\\sqrt{(n-1)/\\chi^2_{1-\\text{level},\\,n-1}}`.

    Examples
    --------
    >>> round(sd_upper_bound(0.0189, 3), 3)
    0.04
    """
    from scipy import stats

    sd = _check_sd(sd)
    n = check_int(n, "n", 2)
    level = _check_power(level, "level")
    return sd * math.sqrt((n - 1) / float(stats.chi2.ppf(1.0 - level, n - 1)))


def comparison_verdict(differences, margin: float = DEFAULT_MARGIN, alpha: float = 0.05,
                       power: float = 0.8) -> dict:
    """The verdict of one comparison from its per-seed paired differences (module docstring).

    Parameters
    ----------
    differences : sequence of float
        One paired difference (method − baseline) per seed.
    margin : float
        Equivalence margin :math:`\\delta_0 > 0`.
    alpha : float
        Level: the ``1 - alpha`` t interval decides better/worse, the ``1 - 2 alpha`` one
        equivalence (two one-sided tests at ``alpha``).
    power : float
        Power for ``seeds_to_decide``.

    Returns
    -------
    dict
        ``{"n", "mean", "sd", "low", "high"`` (the ``1 - alpha`` t interval), ``"tost_low",
        "tost_high"`` (the ``1 - 2 alpha`` one), ``"margin", "verdict"`` (one of :data:`VERDICTS`),
        ``"seeds_to_decide"}`` (an int for an undecided comparison, else ``None``).

    Examples
    --------
    >>> comparison_verdict([0.10, 0.12, 0.11])["verdict"]
    'better'
    >>> v = comparison_verdict([0.01, -0.03, 0.02])
    >>> v["verdict"], v["seeds_to_decide"]
    ('undecided', 16)
    """
    margin = check_real(margin, "margin", 0.0, strict_minimum=True)
    alpha = _check_alpha(alpha)
    power = _check_power(power)
    t95 = paired_t_interval(differences, 1.0 - alpha)
    t90 = paired_t_interval(differences, 1.0 - 2.0 * alpha)
    out = {"n": t95["n"], "mean": t95["mean"], "sd": t95["sd"], "low": t95["low"], "high": t95["high"],
           "tost_low": t90["low"], "tost_high": t90["high"], "margin": margin, "seeds_to_decide": None}
    if t95["n"] < 2:
        out["verdict"] = "too few seeds"
    elif t95["low"] > 0:
        out["verdict"] = "better"
    elif t95["high"] < 0:
        out["verdict"] = "worse"
    elif -margin < t90["low"] and t90["high"] < margin:
        out["verdict"] = "equivalent"
    else:
        out["verdict"] = "undecided"
        out["seeds_to_decide"] = seeds_needed(margin, t95["sd"], power, alpha)
    return out


#: the columns of :func:`power_rows`
POWER_COLUMNS = ["study", "density", "method", "baseline", "n_seeds", "seeds", "mean_diff", "sd",
                 "sd_upper", "sd_upper_level", "min_detectable", "delta", "seeds_for_delta",
                 "seeds_for_delta_at_sd_upper", "margin", "low", "high", "verdict", "seeds_to_decide"]


def power_rows(differences: Mapping, delta: float = 0.02, margin: float = DEFAULT_MARGIN, power: float = 0.8,
               alpha: float = 0.05, sd_level: float = 0.8) -> list[dict]:
    """The power table: per comparison, what the current seeds can detect and how many ``delta`` needs.

    Parameters
    ----------
    differences : mapping
        ``{(study, density, method, baseline): {seed: difference}}`` (or a sequence of differences),
        e.g. the worst-class entries of :func:`empirical.report_comparisons.seed_differences`.
    delta : float
        The gain to detect (``seeds_for_delta``), not 0.
    margin : float
        Equivalence margin of the verdict (:func:`comparison_verdict`).
    power, alpha : float
        Target power and two-sided level of the paired t test.
    sd_level : float
        Level of the one-sided upper confidence bound of the SD (:func:`sd_upper_bound`).

    Returns
    -------
    list of dict
        One row per comparison with at least 2 seeds (:data:`POWER_COLUMNS`): ``n_seeds``, ``seeds``,
        ``mean_diff``, ``sd`` (ddof 1), ``sd_upper``, ``min_detectable`` (80%-power gain at the
        current seeds and ``sd``), ``seeds_for_delta`` (at ``sd``), ``seeds_for_delta_at_sd_upper``,
        the 95% t interval ``low``/``high``, ``verdict`` and ``seeds_to_decide``. In the order given.
    """
    delta = check_real(delta, "delta")
    if delta == 0.0:
        raise ValueError("delta must not be 0: no number of seeds detects a zero difference")
    sd_level = _check_power(sd_level, "sd_level")
    margin = check_real(margin, "margin", 0.0, strict_minimum=True)
    power, alpha = _check_power(power), _check_alpha(alpha)
    if power <= alpha:
        raise ValueError(f"power must exceed alpha={alpha}, got {power!r}")
    if not isinstance(differences, Mapping):
        raise TypeError(f"differences must be a mapping {{(study, density, method, baseline): "
                        f"differences}}, got {type(differences).__name__}")
    rows = []
    for key, diffs in differences.items():
        if len(key) != 4:
            raise ValueError(f"differences keys must be (study, density, method, baseline), got {key!r}")
        seeds = sorted(diffs) if isinstance(diffs, Mapping) else list(range(len(diffs)))
        d = _differences([diffs[s] for s in seeds] if isinstance(diffs, Mapping) else diffs,
                         f"differences[{key!r}]")
        if d.size < 2:
            continue
        v = comparison_verdict(d, margin, alpha, power)
        upper = sd_upper_bound(v["sd"], d.size, sd_level)
        mde = minimum_detectable_difference(v["sd"], d.size, power, alpha)
        rows.append({
            "study": key[0], "density": key[1], "method": key[2], "baseline": key[3], "n_seeds": int(d.size),
            "seeds": " ".join(str(s) for s in seeds), "mean_diff": v["mean"], "sd": v["sd"],
            "sd_upper": upper, "sd_upper_level": sd_level, "min_detectable": mde,
            "delta": delta, "seeds_for_delta": seeds_needed(delta, v["sd"], power, alpha),
            "seeds_for_delta_at_sd_upper": seeds_needed(delta, upper, power, alpha),
            "margin": v["margin"], "low": v["low"], "high": v["high"], "verdict": v["verdict"],
            "seeds_to_decide": v["seeds_to_decide"],
        })
    return rows


def _power_cells(r: dict) -> list[str]:
    decide = "" if r["seeds_to_decide"] is None else f" (≈{r['seeds_to_decide']} seeds)"
    return [f"{r['density']:g}", f"{r['method']} − {r['baseline']}", str(r["n_seeds"]),
            f"{r['mean_diff']:+.3f}", f"[{r['low']:+.3f}, {r['high']:+.3f}]", f"{r['sd']:.3f}",
            f"{r['sd_upper']:.3f}",
            f"{r['min_detectable']:.3f}", str(r["seeds_for_delta"]), str(r["seeds_for_delta_at_sd_upper"]),
            r["verdict"] + decide]


def _power_head(rows) -> list[str]:
    r = rows[0]
    lvl = f"{100 * r['sd_upper_level']:.0f}%"
    return ["d", "comparison", "seeds", "mean Δ worst-class", "95% t interval", "SD of per-seed Δ",
            f"SD {lvl} upper bound", "smallest detectable gain (80% power)",
            f"seeds to detect {r['delta']:+g}", f"seeds to detect {r['delta']:+g} at the SD bound",
            f"verdict (margin ±{r['margin']:g})"]


def power_markdown(rows, studies: Mapping | None = None) -> str:
    """:func:`power_rows` as one Markdown table per study (``studies``: ``{study: label}``)."""
    parts = []
    for sid in dict.fromkeys(r["study"] for r in rows):
        rs = [r for r in rows if r["study"] == sid]
        head = _power_head(rs)
        lines = [f"**{sid}{': ' + str(studies[sid]) if studies and sid in studies else ''}**", "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(_power_cells(r)) + " |" for r in rs]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")


def power_text(rows, studies: Mapping | None = None) -> str:
    """:func:`power_rows` as aligned plain-text columns, one block per study."""
    parts = []
    for sid in dict.fromkeys(r["study"] for r in rows):
        rs = [r for r in rows if r["study"] == sid]
        table = [_power_head(rs)] + [_power_cells(r) for r in rs]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines = [f"{sid}{': ' + str(studies[sid]) if studies and sid in studies else ''}"]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + ("\n" if parts else "")
