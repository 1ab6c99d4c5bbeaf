"""Test collection for the whole repository (pyproject: ``testpaths``, ``--doctest-modules``).

``empirical``'s doctests are collected like ``gaussian_theory``'s; where torch is not installed
(``pip install -e .[test]`` alone), the empirical modules that need it are skipped at collection time
instead of failing to import. Any other import error is still reported.

The suite runs in one process, one test at a time, so numerical libraries get **one thread** each
(OpenBLAS, OpenMP, MKL; set before numpy is imported, and inherited by the subprocesses and notebook
kernels the tests start). On a 2-core machine that is already busy, BLAS threads that wait for a
core by spinning made the suite several times slower (notebook 04: 41 and 67 s with the default
threads against 11 s with one, measured while other jobs kept the cores busy); on idle cores one
thread costs little, because the tests' arrays are small. A variable already set is left as it is.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _name in _THREAD_VARIABLES:
    os.environ.setdefault(_name, "1")
if "numpy" in sys.modules:  # a plugin imported numpy first: its BLAS read the variables already
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (test extras)
        pass
    else:
        threadpool_limits(1)

_EMPIRICAL = Path(__file__).resolve().parent / "empirical"


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    if path.suffix != ".py" or path.parent.resolve() != _EMPIRICAL or path.name == "__init__.py":
        return None
    try:
        importlib.import_module(f"empirical.{path.stem}")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "torch":
            return True  # a torch module: nothing to collect without torch
    return None
