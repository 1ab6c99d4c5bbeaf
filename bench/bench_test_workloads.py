"""The test suite's heaviest workloads, each timed against a baseline measured in the same run.

Run:  python bench/bench_test_workloads.py [--repeats 3] [--only figures notebooks]

The tests assert no time (a busy machine must not fail them); their speed is measured here instead.

(a) ``droplab figures --quick``, the run that ``tests/test_figures.py`` reads, as the same subprocess,
    against a fixed reference numpy workload (:data:`REFERENCE`: sorting 2 million normal draws 30
    times, single-threaded, no BLAS) run as a subprocess too, so that both include the interpreter's
    start-up.
(b) every notebook under ``notebooks/``, executed as ``tests/test_notebooks.py`` does (nbclient,
    kernel ``python3``), against a trivial one-cell notebook executed by the same machinery, so that
    the kernel's start-up and shut-down are in both.

Each workload runs interleaved with its baseline (baseline, workload, baseline, workload, ...); the
table gives the median wall-clock seconds of each and the ratio of the medians, then the same for the
CPU seconds (user + system, of this process and the subprocesses and kernels it waited for). A ratio
changes far less than the seconds when the machine is slower, and the CPU ratio far less than the
wall-clock one when the machine is busy: compare ratios between commits. Numerical libraries
get one thread each, as in the test suite (``conftest.py``), unless the variables are already set.
Executed notebooks are written to a temporary folder, never to ``build/``.
"""

from __future__ import annotations

import argparse
import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _name in THREAD_VARIABLES:  # before numpy is imported, as in conftest.py
    os.environ.setdefault(_name, "1")

import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600  # as in tests/test_notebooks.py: a hang guard
REFERENCE = ("import numpy as np; x = np.random.default_rng(0).standard_normal(2_000_000); "
             "[np.sort(x) for _ in range(30)]")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished, waited-for children."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed(fn) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call of ``fn``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def run_python(args: list[str]) -> None:
    """Run ``python ARGS`` in a subprocess; fail loudly if it fails."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed:\n{proc.stderr}")


def quick_figures(out_dir: Path) -> None:
    """``droplab figures --quick``, exactly as tests/test_figures.py starts it."""
    run_python(["-m", "gaussian_theory.cli", "figures", "--quick", "--out", str(out_dir), "--no-progress"])


def execute_notebook(path: Path) -> None:
    """Execute ``path`` as tests/test_notebooks.py does (nbclient, kernel python3)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()


def interleaved(workload, baseline, repeats: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (wall, CPU) seconds of ``workload`` and of ``baseline``, run alternately ``repeats`` times
    each."""
    w, b = [], []
    for _ in range(repeats):
        b.append(timed(baseline))
        w.append(timed(workload))
    return tuple(map(statistics.median, zip(*w))), tuple(map(statistics.median, zip(*b)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs of each workload and baseline (default: 3)")
    ap.add_argument("--only", nargs="+", choices=["figures", "notebooks"], default=["figures", "notebooks"])
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, got {args.repeats}")

    threads = ", ".join(f"{v}={os.environ[v]}" for v in THREAD_VARIABLES)
    print(f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; {threads}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min); "
          f"medians of {args.repeats} interleaved runs")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if "figures" in args.only:
            rows.append(("droplab figures --quick (subprocess)",
                         *interleaved(lambda: quick_figures(Path(tmp) / "figures"),
                                      lambda: run_python(["-c", REFERENCE]), args.repeats),
                         "reference numpy sort (subprocess)"))
        if "notebooks" in args.only:
            import nbformat
            from nbformat.v4 import new_code_cell, new_notebook

            trivial = Path(tmp) / "trivial.ipynb"
            nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), trivial)
            for path in NOTEBOOKS:
                rows.append((f"notebooks/{path.name}",
                             *interleaved(lambda p=path: execute_notebook(p),
                                          lambda: execute_notebook(trivial), args.repeats),
                             "trivial 1-cell notebook, same client"))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'':<{width}}    wall-clock seconds     |       CPU seconds")
    print(f"{'workload':<{width}}  workload baseline ratio | workload baseline ratio | baseline")
    for name, (w, wc), (b, bc), base in rows:
        print(f"{name:<{width}}  {w:8.2f} {b:8.2f} {w / b:5.1f} | "
              f"{wc:8.2f} {bc:8.2f} {wc / bc:5.1f} | {base}")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
