"""What ``droplab figures`` writes, byte for byte (issue 17): CSVs that a refresh on another CPU does not
change (12 significant digits, rounding residues of exact zeros written as 0, no ``-0``), and captions
whose ``*`` cannot start Markdown italics. The committed ``figures/`` are checked too."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from gaussian_theory.figures import Table
from gaussian_theory.figures.registry import FigureResult, markdown_text, readme_text
from gaussian_theory.figures.settings import Settings
from gaussian_theory.figures.table import CSV_DIGITS, difference

FIGURES = Path(__file__).resolve().parents[1] / "figures"
EPS = np.finfo(float).eps


def _csv_text(tmp_path, columns) -> str:
    path = tmp_path / "t.csv"
    Table(columns).to_csv(path)
    return path.read_text(encoding="utf-8")


def test_floats_are_written_with_twelve_significant_digits(tmp_path):
    assert CSV_DIGITS == 12
    text = _csv_text(tmp_path, {"x": [1 / 3, 2.0, 1e-20, -0.0, np.inf, -np.inf, np.nan], "n": np.arange(7)})
    assert text.splitlines() == ["x,n", "0.333333333333,0", "2,1", "1e-20,2", "0,3", "inf,4", "-inf,5",
                                 "nan,6"]


def test_a_last_bit_change_does_not_change_the_csv(tmp_path):
    """Two CPUs computing the same numbers differ in the last bits. A difference that is 0 in exact
    arithmetic (a rule's regret when the rule is the optimum) must be written as 0 on both; the auditor's
    refresh on another CPU changed 149 such rows of fig4's CSV. (A value itself, written with 12 digits,
    changes only within a few ulps of a rounding boundary: about 1e-4 per value per ulp.)"""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.01, 0.6, 500)
    # the same risks computed "on another CPU": a few ulps away
    b = a * (1 + rng.integers(-4, 5, a.size) * EPS)
    opt = a * (1 + rng.integers(-4, 5, a.size) * EPS)
    mine = _csv_text(tmp_path, {"regret": difference(a, opt)})
    other = _csv_text(tmp_path, {"regret": difference(b, opt)})
    assert mine == other == "regret\n" + "0\n" * a.size
    raw = _csv_text(tmp_path, {"regret": a - opt})  # what the CSV held before
    assert raw != mine


def test_difference_keeps_real_differences():
    assert difference(0.1 + 0.2, 0.3) == 0.0 and difference(0.3, 0.1 + 0.2) == 0.0
    assert difference(0.5, 0.25) == 0.25 and difference(1e-9, 0.0) == 1e-9  # no residue of a zero
    assert difference(0.2 + 1e-10, 0.2) == pytest.approx(1e-10, rel=1e-5)
    np.testing.assert_array_equal(difference([1.0, 2.0], [1.0 + EPS, 1.0]), [0.0, 1.0])
    # the relative threshold: 1e-12 of the larger operand
    assert difference(1.0, 1.0 - 5e-13) == 0.0 and difference(1.0, 1.0 - 5e-12) != 0.0


def test_captions_escape_the_star_for_markdown():
    assert markdown_text("t*(φ0/φ1) and `t*` and R*") == r"t\*(φ0/φ1) and `t*` and R\*"
    res = FigureResult(name="figx", title="A * title", caption="at t*, π0 f0(t*) = π1 f1(t*) makes R0*",
                       params={"t*": "a*b"}, table=Table({"x": [1.0]}), figure=None)
    text = readme_text([res], Settings.preset(quick=True))
    assert r"at t\*, π0 f0(t\*) = π1 f1(t\*) makes R0\*" in text
    assert r"Parameters: t\* = a\*b." in text and r"## A \* title" in text
    # inside code spans (the file names, the commands) nothing is escaped
    assert "`figx.csv`" in text


def _outside_code(line: str) -> str:
    return "".join(p for i, p in enumerate(line.split("`")) if i % 2 == 0)


def test_committed_captions_have_no_unescaped_star():
    text = (FIGURES / "README.md").read_text(encoding="utf-8")
    bad = [ln for ln in text.splitlines() if re.search(r"(?<!\\)\*", _outside_code(ln))]
    assert not bad, bad[:3]


@pytest.mark.parametrize("path", sorted(FIGURES.glob("*.csv")), ids=lambda p: p.name)
def test_committed_csvs_have_no_rounding_residues(path):
    """No float between 0 and 1e-14 in absolute value (a last-bit residue of an exact zero, which another
    CPU would write differently), no ``-0``, at most 12 significant digits."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        for cell in row:
            try:
                v = float(cell)
            except ValueError:
                continue
            assert not (0 < abs(v) < 1e-14), (path.name, cell)
            assert cell != "-0"
            mantissa = cell.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0")
            assert len(mantissa) <= CSV_DIGITS, (path.name, cell)
