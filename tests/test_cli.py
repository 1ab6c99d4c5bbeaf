"""The ``droplab`` command line prints the library's numbers and fails cleanly on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gaussian_theory.allocation import drop_counts, drop_densities, uniform_counts
from gaussian_theory.cli import main
from gaussian_theory.two_gaussians import TwoGaussians

FMT = "{:.4g}"  # the CLI's table format (cli.format_table default)


def _row(out: str, label: str, n_numbers: int) -> list[str]:
    """The last ``n_numbers`` cells of the table row whose label is ``label``."""
    lines = [ln for ln in out.splitlines() if ln.strip().startswith(label)]
    assert len(lines) == 1, (label, out)
    return lines[0].split()[-n_numbers:]


def _fmt(values) -> list[str]:
    return [FMT.format(float(v)) for v in values]


# ----------------------------------------------------------------------------- theory
@pytest.mark.parametrize(
    "means, stds, priors, density",
    [((0, 6), (1, 2), (0.5, 0.5), 0.5), ((-1, 1), (1, 1.5), (0.3, 0.7), 0.3),
     ((0, 4), (2, 1), (0.6, 0.4), 0.8)],
)
def test_theory_prints_library_values(capsys, means, stds, priors, density):
    argv = ["theory", "--means", *map(str, means), "--stds", *map(str, stds),
            "--priors", *map(str, priors), "--density", str(density)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    model = TwoGaussians(means, stds, priors)
    t = model.optimal_threshold()
    r = model.class_risks(t)
    assert _row(out, "t* (trained on all data)", 5) == _fmt([t, *r, model.average_risk(t), r.max()])
    t_wc = model.worst_class_threshold()
    r_wc = model.class_risks(t_wc)
    assert _row(out, "t_wc (worst-class optimum)", 5) == _fmt([t_wc, *r_wc, r_wc @ model.priors, r_wc.max()])
    p = model.worst_class_optimal_priors()
    assert f"phi0 = {p[0]:.4g}, phi1 = {p[1]:.4g}" in out
    # Allocation rows: d0, d1, learned t, R0, R1, average, worst-class.
    sizes = np.round(model.priors * 1_000_000)
    for label, dens in [
        ("uniform", np.array([density, density])),
        ("DRoP (recalls of t*)", drop_densities(1 - r, sizes, density)),
        ("worst-class optimal", model.worst_class_optimal_densities(density)),
    ]:
        rk = model.pruned_risks(dens)
        expected = [*dens, model.prune(dens).optimal_threshold(), *rk, rk @ model.priors, rk.max()]
        assert _row(out, label, 7) == _fmt(expected)


def test_theory_defaults(capsys):
    assert main(["theory"]) == 0
    out = capsys.readouterr().out
    # Defaults (0, 6), (1, 2), (0.5, 0.5): t* = 2.2247 (class docstring), printed to 4 digits.
    assert _row(out, "t* (trained on all data)", 5)[0] == "2.225"


# ----------------------------------------------------------------------------- allocate
def _allocation_rows(out: str, n_classes: int) -> list[list[str]]:
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["class", "size"]) + 2
    return [ln.split() for ln in lines[start:start + n_classes]]


def _check_allocation(out, names, sizes, recalls, density, rule):
    counts = drop_counts(recalls, sizes, density, rule=rule)
    dens = drop_densities(recalls, sizes, density) if rule == "paper" else counts / np.maximum(sizes, 1)
    uni = uniform_counts(sizes, density)
    rows = _allocation_rows(out, len(names))
    for row, name, n, r, d, c, u in zip(rows, names, sizes, recalls, dens, counts, uni, strict=True):
        assert row == [name, str(int(n)), FMT.format(r), FMT.format(d), str(int(c)), str(int(u))]
    assert f"total kept: {int(counts.sum())} of {int(np.sum(sizes))}" in out
    assert f"rule {rule!r}" in out


@pytest.mark.parametrize("rule", ["paper", "code"])
def test_allocate_from_arguments(capsys, rule):
    recalls, sizes, d = [0.9, 0.7, 0.55], [100, 300, 40], 0.45
    argv = ["allocate", "--recalls", *map(str, recalls), "--sizes", *map(str, sizes), "--density", str(d)]
    assert main(argv + ["--rule", rule]) == 0
    _check_allocation(capsys.readouterr().out, ["0", "1", "2"], np.array(sizes), recalls, d, rule)


def test_allocate_default_rule_is_paper(capsys):
    assert main(["allocate", "--recalls", "0.9", "0.7", "--sizes", "100", "300", "--density", "0.5"]) == 0
    out = capsys.readouterr().out
    # drop_counts docstring example: paper rule (20, 180).
    assert [r[4] for r in _allocation_rows(out, 2)] == ["20", "180"]
    assert "rule 'paper'" in out


TABLE = [("cat", 500, 0.92), ("dog", 120, 0.71), ("frog", 60, 0.83)]


@pytest.mark.parametrize("fmt", ["csv", "json-list", "json-dict"])
@pytest.mark.parametrize("rule", ["paper", "code"])
def test_allocate_from_file(capsys, tmp_path, fmt, rule):
    if fmt == "csv":
        path = tmp_path / "classes.csv"
        path.write_text("class,size,recall\n" + "".join(f"{c},{n},{r}\n" for c, n, r in TABLE))
    elif fmt == "json-list":
        path = tmp_path / "classes.json"
        path.write_text(json.dumps([{"class": c, "size": n, "recall": r} for c, n, r in TABLE]))
    else:
        path = tmp_path / "classes.json"
        path.write_text(json.dumps({c: {"size": n, "recall": r} for c, n, r in TABLE}))
    assert main(["allocate", "--from", str(path), "--density", "0.3", "--rule", rule]) == 0
    names = [c for c, _, _ in TABLE]
    sizes = np.array([n for _, n, _ in TABLE])
    recalls = [r for _, _, r in TABLE]
    _check_allocation(capsys.readouterr().out, names, sizes, recalls, 0.3, rule)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "argv, needle",
    [
        (["allocate", "--recalls", "0.9", "1.7", "--sizes", "100", "300", "--density", "0.5"], "recalls"),
        (["allocate", "--recalls", "0.9", "0.7", "--sizes", "100", "-3", "--density", "0.5"], "class_sizes"),
        (["allocate", "--recalls", "0.9", "0.7", "--sizes", "100", "2.5", "--density", "0.5"], "class_sizes"),
        (["allocate", "--recalls", "0.9", "--sizes", "100", "300", "--density", "0.5"], "recalls"),
        (["allocate", "--recalls", "0.9", "0.7", "--sizes", "100", "300", "--density", "1.5"], "density"),
        (["allocate", "--recalls", "0.9", "0.7", "--sizes", "100", "300", "--density", "0"], "density"),
        (["allocate", "--density", "0.5"], "--recalls"),
        (["allocate", "--from", "/nonexistent/classes.csv", "--density", "0.5"], "--from"),
        (["theory", "--means", "1", "0"], "means"),
        (["theory", "--stds", "1", "-2"], "stds"),
        (["theory", "--priors", "0.6", "0.6"], "priors"),
        (["theory", "--density", "0"], "density"),
    ],
)
def test_bad_input_exit_code_2_names_argument(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("droplab: error:") and needle in err


def test_bad_file_content(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("class,size\ncat,10\n")  # no recall column
    assert main(["allocate", "--from", str(path), "--density", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--from" in err and "recall" in err


@pytest.mark.parametrize(
    "argv, needle",
    [(["allocate", "--recalls", "x", "--sizes", "1", "--density", "0.5"], "--recalls"),
     (["allocate", "--recalls", "0.5", "--sizes", "1"], "--density"),
     (["allocate", "--recalls", "0.5", "--sizes", "1", "--density", "0.5", "--rule", "fair"], "--rule"),
     (["theory", "--means", "0"], "--means")],
)
def test_argparse_errors_exit_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err


def test_installed_console_script_help():
    exe = Path(sys.executable).parent / "droplab"
    exe = str(exe) if exe.exists() else shutil.which("droplab")
    assert exe, "the droplab console script is not installed (pip install -e .)"
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: droplab" in proc.stdout
    assert "theory" in proc.stdout and "allocate" in proc.stdout


def test_building_the_cli_imports_no_torch():
    # gaussian_theory must work without torch, and `droplab theory` must not pay torch's import time:
    # the empirical sub-command is registered from the torch-free empirical.options.
    code = ("import sys, gaussian_theory.cli as c; c.build_parser(); "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))")
    subprocess.run([sys.executable, "-c", code], check=True)
