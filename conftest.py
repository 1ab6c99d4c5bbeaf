"""Test collection for the whole repository (pyproject: ``testpaths``, ``--doctest-modules``).

``empirical``'s doctests are collected like ``gaussian_theory``'s; where torch is not installed
(``pip install -e .[test]`` alone), the empirical modules that need it are skipped at collection time
instead of failing to import. Any other import error is still reported.
"""

from __future__ import annotations

import importlib
from pathlib import Path

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
