"""Start-up cost of the ``droplab`` command line against a bare ``python -c pass``.

Run:  python bench/bench_cli_startup.py [--repeat 15]

Each command runs in a fresh interpreter (``python -m gaussian_theory.cli ...``, the console script
without its wrapper), ``--repeat`` times, alternating with the baseline so that both see the same
machine load; the table prints the median wall time of each and its ratio to the baseline's median,
and the modules each command imported (``-X importtime``): ``droplab --help`` and argument errors must
not import numpy, scipy or the solvers (the command modules import them when a command runs).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "droplab --help": ["-m", "gaussian_theory.cli", "--help"],
    "droplab allocate --help": ["-m", "gaussian_theory.cli", "allocate", "--help"],
    "droplab allocate --density x (argument error)":
        ["-m", "gaussian_theory.cli", "allocate", "--density", "x"],
    "droplab theory (runs: numpy, scipy)": ["-m", "gaussian_theory.cli", "theory"],
    # what every command paid before the imports were made lazy: the whole library up front
    "eager: import gaussian_theory.{all modules}":
        ["-c", "import gaussian_theory.allocation, gaussian_theory.mixture, gaussian_theory.surrogate, "
               "gaussian_theory.recall_prediction, gaussian_theory.simulation, "
               "gaussian_theory.finite_allocation"],
}
HEAVY = ("numpy", "scipy", "scipy.stats", "gaussian_theory.mixture", "gaussian_theory.minimax", "torch")


def _time(args) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def _imported(args) -> set[str]:
    """Top-level and named heavy modules the command imports (``python -X importtime``)."""
    out = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True,
                         check=False).stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if line.startswith("import time:")}
    return {m for m in HEAVY if m in names}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="runs of each command (median reported)")
    args = ap.parse_args()
    times = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # warm the file cache once
        _time(cmd)
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            times[name].append(_time(cmd))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':48s} {'median s':>9s} {'x python -c pass':>17s}  heavy modules imported")
    for name, cmd in COMMANDS.items():
        med = statistics.median(times[name])
        heavy = ", ".join(sorted(_imported(cmd))) or "none"
        print(f"{name:48s} {med:9.3f} {med / base:17.1f}  {heavy}")


if __name__ == "__main__":
    main()
