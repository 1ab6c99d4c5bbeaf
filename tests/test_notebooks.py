"""The teaching notebooks run top to bottom (nbclient, kernel python3) within their time budget, and
are stored without outputs; then the documentation site builds in strict mode with them.

The executed notebooks are written to ``build/executed_notebooks/`` so that the site shows their plots
without executing them a second time (``docs/hooks/droplab_docs.py`` picks them up)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXECUTED = ROOT / "build" / "executed_notebooks"
CELL_TIMEOUT_S = 120   # per cell
NOTEBOOK_BUDGET_S = 120  # whole notebook, on a laptop CPU


def test_the_four_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_two_gaussian_theory.ipynb", "02_drop_vs_optimal.ipynb", "03_finite_samples_many_classes.ipynb",
        "04_query_model_to_allocation.ipynb",
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
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the traceback, if any cell fails
    elapsed = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert elapsed < NOTEBOOK_BUDGET_S, f"{path.name} took {elapsed:.0f} s"
    # Every notebook shows at least one figure.
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED / path.name)


def test_documentation_site_builds_strict(tmp_path):
    """The site (docs/, mkdocs.yml) builds with warnings as errors: a broken reference, a missing page or
    a docstring the API reference cannot render fails here. Runs after the notebooks above (same
    module, definition order), so the site embeds their executed copies."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_jupyter")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    cfg = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=True)
    build(cfg)  # raises mkdocs.exceptions.Abort on any warning in strict mode
    page = (tmp_path / "site" / "theory" / "index.html").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in page  # formulas reach MathJax
    assert (tmp_path / "site" / "javascripts" / "mathjax" / "tex-svg.js").is_file()
    for nb in NOTEBOOKS:
        assert (tmp_path / "site" / "notebooks" / nb.stem / "index.html").is_file()
