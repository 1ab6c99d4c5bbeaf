"""The teaching notebooks run top to bottom (nbclient, kernel python3) without an error, and are stored
without outputs. The documentation site that shows them is built and checked in
``tests/test_docs_site.py``, which runs after this file (``tests/conftest.py``).

The executed notebooks are written to ``build/executed_notebooks/`` so that the site shows their plots
without executing them a second time (``docs/hooks/droplab_docs.py`` picks them up). The copy is
written however long the notebook took and before anything is asserted on it, so the site has
outputs even when a check fails. No test here measures time: ``bench/bench_test_workloads.py`` times
each notebook against a trivial one run by the same machinery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXECUTED = ROOT / "build" / "executed_notebooks"
CELL_TIMEOUT_S = 600  # per cell: a guard against a hung kernel, not a speed check


def execute_notebook(path: Path, out_dir: Path = EXECUTED, cell_timeout: float = CELL_TIMEOUT_S):
    """Execute the notebook at ``path`` top to bottom and write the executed copy to
    ``out_dir / path.name``, whatever happens: if a cell fails, the copy holds the outputs up to it and
    its error, and the :class:`nbclient.exceptions.CellExecutionError` is raised after the write.
    Returns the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()  # raises CellExecutionError, with the traceback, if any cell fails
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f".{path.name}.tmp"
        nbformat.write(nb, tmp)
        os.replace(tmp, out_dir / path.name)  # never a half-written copy for the docs to pick up
    return nb


def test_the_five_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_two_gaussian_theory.ipynb", "02_drop_vs_optimal.ipynb", "03_finite_samples_many_classes.ipynb",
        "04_query_model_to_allocation.ipynb", "05_learned_allocation.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip outputs before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    nb = execute_notebook(path)  # the executed copy is written before anything is asserted
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # Every notebook shows at least one figure.
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_executed_copy_is_written_when_a_cell_fails(tmp_path):
    """The docs' notebook page keeps its outputs whatever happens to the run: the copy holds every
    output up to the failing cell, and its error. The kernel also inherits the suite's thread limit
    (conftest.py), like the numerical libraries of the test process itself."""
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook
    from threadpoolctl import threadpool_info

    path = tmp_path / "fails.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("import os\nprint(os.environ.get('OPENBLAS_NUM_THREADS'))"),
        new_code_cell("raise RuntimeError('a failing cell')"),
        new_code_cell("print('never reached')"),
    ]), path)
    with pytest.raises(CellExecutionError, match="a failing cell"):
        execute_notebook(path, tmp_path / "executed")
    copy = nbformat.read(tmp_path / "executed" / "fails.ipynb", as_version=4)
    threads = os.environ["OPENBLAS_NUM_THREADS"]
    assert [o.get("text", "").strip() for o in copy.cells[0].outputs] == [threads]
    assert copy.cells[1].outputs[-1]["output_type"] == "error"
    assert copy.cells[2].outputs == []
    assert [p.name for p in (tmp_path / "executed").iterdir()] == ["fails.ipynb"]  # no temporary left
    import numpy  # noqa: F401  (loads numpy's OpenBLAS, if not yet loaded)

    blas = [i for i in threadpool_info() if i["internal_api"] == "openblas"]
    assert blas and all(i["num_threads"] <= int(threads) for i in blas), blas

