"""The documentation site as a reader meets it: built once (strict mode, warnings are errors) and every
built page checked.

* every formula renders: no raw reStructuredText math (``:math:``, ``.. math::``) or Sphinx role on
  any page, and each ``.. math::`` of the docstrings is a display formula on the API pages;
* parameter tables: types in the type column (no description, no literal double backticks there);
* prose shows dashes, not a literal ``--`` (code, math and command lines aside);
* every notebook page has its outputs (the executed copies that ``tests/test_notebooks.py`` writes;
  this file runs after it, ``tests/conftest.py``); without up-to-date executed copies the site is
  built from the output-free notebooks and that one check is skipped, saying so;
* the "Real data" page: the README's measured table, the recall-prediction paragraph, and every
  figure of both reports (``figures/empirical/``, ``figures/empirical-whitenet-256/``; the Pareto
  pictures among them) with its caption from the report's ``README.md``;
* the Figures page has no runaway emphasis (a ``*`` of ``t*`` read as Markdown).

The site is built once per session (a few seconds) and shared by the tests.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocs_jupyter")
griffe = pytest.importorskip("griffe")
bs4 = pytest.importorskip("bs4")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PACKAGES = ("gaussian_theory", "empirical")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", ROOT / "docs" / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = _load("droplab_docs")
RST = _load("griffe_rst")


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """``{"dir": site folder, "pages": {path: html}, "executed": notebooks had executed copies}``."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    executed = all(HOOK.executed_copy(nb) is not None for nb in NOTEBOOKS)
    out = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        if not executed:
            mp.setenv(HOOK.NO_EXECUTE, "1")  # build anyway; test_notebook_pages_have_outputs skips
        cfg = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(out), strict=True)
        build(cfg)  # raises mkdocs.exceptions.Abort on any warning in strict mode
    pages = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(out.rglob("*.html"))}
    return {"dir": out, "pages": pages, "executed": executed}


def _prose(html: str) -> str:
    """The page's visible prose: no code, command lines, math, scripts or notebook cells."""
    soup = bs4.BeautifulSoup(html, "html.parser")
    for tag in soup.select("code, pre, kbd, script, style, svg, .arithmatex, .highlight, .jp-InputArea, "
                           ".jp-OutputArea, .md-search, .md-header, .md-footer"):
        tag.decompose()
    return soup.get_text(" ")


# ----------------------------------------------------------------------------- the build
def test_documentation_site_builds_strict(site):
    """The site (docs/, mkdocs.yml) builds with warnings as errors: a broken reference, a missing page,
    a docstring the API reference cannot render or raw reST on a page (docs/hooks) fails here."""
    assert 'class="arithmatex"' in site["pages"]["theory/index.html"]  # formulas reach MathJax
    assert (site["dir"] / "javascripts" / "mathjax" / "tex-svg.js").is_file()
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}/index.html" in site["pages"]
    assert {"api/gaussian_theory/index.html", "api/empirical/index.html", "empirical/index.html",
            "figures/index.html", "cli/index.html"} <= set(site["pages"])


# ----------------------------------------------------------------------------- formulas
def test_no_raw_rest_on_any_page(site):
    raw = {page: HOOK.raw_rst(html) for page, html in site["pages"].items()}
    assert not {page: hits for page, hits in raw.items() if hits}
    for page, html in site["pages"].items():
        text = _prose(html)
        assert ":math:" not in text and ".. math::" not in text, page


def _documented_objects():
    """The objects the API pages show: the modules named by ``::: module`` in ``docs/api/*.md`` and
    their public members (mkdocstrings ``filters: ["!^_"]``; submodules are not shown), as Griffe
    loads them from the sources (without the site's conversion)."""
    names = [m for page in sorted((ROOT / "docs" / "api").glob("*.md"))
             for m in re.findall(r"^::: (\S+)", page.read_text(encoding="utf-8"), re.M)]
    packages = {pkg: griffe.load(pkg, docstring_parser="numpy", resolve_aliases=False) for pkg in PACKAGES}
    out = []

    def walk(obj):
        out.append(obj)
        for name, member in obj.members.items():
            if not name.startswith("_") and not member.is_alias and not member.is_module:
                walk(member)

    for name in names:
        root, *rest = name.split(".")
        obj = packages[root]
        for part in rest:
            obj = obj.members[part]
        walk(obj)
    return out


def test_every_display_formula_of_the_docstrings_renders(site):
    n_source = sum(len(re.findall(r"^\s*\.\. math::", obj.docstring.value, re.M))
                   for obj in _documented_objects() if obj.docstring)
    assert n_source >= 10  # the paper's formulas (sanity: the count below is not vacuous)
    displays = sum(len(re.findall(r'<div class="arithmatex">\\\[', site["pages"][f"api/{pkg}/index.html"]))
                   for pkg in PACKAGES)
    assert displays >= n_source
    api = site["pages"]["api/gaussian_theory/index.html"]
    # the quadratic of TwoGaussians.optimal_threshold, as MathJax input, not as text
    assert re.search(r'<div class="arithmatex">\\\[\s*\\sigma_1\^2\(t-\\mu_0\)\^2', api)
    assert "<em>" not in "".join(re.findall(r'<div class="arithmatex">(.*?)</div>', api, re.S))


# ----------------------------------------------------------------------------- parameter tables
def _type_cells(html: str) -> list[str]:
    soup = bs4.BeautifulSoup(html, "html.parser")
    cells = []
    for table in soup.select("table"):
        head = [th.get_text(strip=True) for th in table.select("thead th")]
        if "Type" in head:
            col = head.index("Type")
            cells += [row.find_all("td")[col].get_text(" ", strip=True) for row in table.select("tbody tr")
                      if len(row.find_all("td")) > col]
    return cells


def test_parameter_tables_hold_types_not_descriptions(site):
    cells = [c for pkg in PACKAGES for c in _type_cells(site["pages"][f"api/{pkg}/index.html"])]
    assert len(cells) >= 40
    bad = [c for c in cells if "``" in c or ":math:" in c or c.endswith(".") or len(c.split()) > 8]
    assert not bad


def test_docstring_types_are_types():
    """numpydoc: ``name : type`` then the description indented below. A description written on the
    ``name :`` line lands in the type column."""
    bad = []

    def walk(obj):
        if obj.is_alias:
            return
        if obj.docstring:
            for section in griffe.parse_numpy(obj.docstring, warn_unknown_params=False):
                if section.kind.value not in ("parameters", "other parameters", "attributes", "returns",
                                              "yields", "receives"):
                    continue
                for item in section.value:
                    ann = str(item.annotation or "")
                    if "``" in ann or ":math:" in ann or ann.rstrip().endswith(".") or len(ann.split()) > 8:
                        bad.append(f"{obj.path}: {getattr(item, 'name', '')} : {ann}")
        for member in obj.members.values():
            walk(member)

    for pkg in PACKAGES:
        walk(griffe.load(pkg, search_paths=[str(ROOT)], docstring_parser="numpy", resolve_aliases=False))
    assert not bad


# ----------------------------------------------------------------------------- dashes, emphasis
def test_no_literal_double_dash_in_prose(site):
    hits = {}
    for page, html in site["pages"].items():
        text = _prose(html)
        found = [text[max(0, m.start() - 40):m.end() + 40]
                 for m in re.finditer(r"(?<![-!<])--(?![->])", text)]
        if found:
            hits[page] = found
    assert not hits


def test_figures_page_has_no_runaway_emphasis(site):
    """A ``*`` of ``t*`` in a caption must not open an italic run (figures/README.md escapes it)."""
    soup = bs4.BeautifulSoup(site["pages"]["figures/index.html"], "html.parser")
    long_em = [em.get_text() for em in soup.select("article em") if len(em.get_text()) > 60]
    assert not long_em


# ----------------------------------------------------------------------------- pages from the repository
def test_notebook_pages_have_outputs(site):
    if not site["executed"]:
        pytest.skip("no up-to-date executed notebooks in build/executed_notebooks/ (run "
                    "tests/test_notebooks.py first, or the whole suite): the site was built from the "
                    "output-free notebooks")
    for nb in NOTEBOOKS:
        html = site["pages"][f"notebooks/{nb.stem}/index.html"]
        assert "jp-OutputArea-output" in html, nb.name
        assert "data:image/png" in html, nb.name  # every notebook shows a figure


def test_real_data_page(site):
    page = site["pages"]["empirical/index.html"]
    text = _prose(page)
    assert "<!-- droplab:" not in page
    # the README's measured grid and the recall-prediction paragraph, not copied by hand
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| 0.5 | Random+DRoP |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    soup = bs4.BeautifulSoup(page, "html.parser")
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in soup.select("table tr")]
    assert cells in rows
    assert "Pearson 0.85" in text and "Do the predicted recalls after pruning hold" in text
    # every figure of both reports (figures/empirical/: small CNN, figures/empirical-whitenet-256/), shown,
    # with its caption from the report's README.md; every image on the page is in the site
    shown = {img["src"] for img in soup.select("article img")}
    for src in shown:
        assert (site["dir"] / "empirical" / src).resolve().is_file(), src   # the page: empirical/index.html
    for folder in HOOK.REPORTS:
        images = {Path(src).name for src in shown if Path(src).parent.name == folder}
        pngs = {p.name for p in (ROOT / "figures" / folder).glob("*.png")}
        assert pngs and pngs <= images, folder
        assert any(name.startswith("pareto_") for name in pngs), folder      # the Pareto picture
        report = (ROOT / "figures" / folder / "README.md").read_text(encoding="utf-8")
        sections = report.split("\n## Figures\n", 1)[1].split("\n### ")[1:]
        assert len(sections) == len(pngs - {"recall_prediction.png"})      # one caption per report figure
        for section in sections:
            image, caption = re.search(r"!\[[^\]]*\]\(([^)]+\.png)\)\n\n(.+?)\n", section).groups()
            assert image in pngs
            assert " ".join(caption.split()[:12]) in " ".join(text.split())


def test_cli_page_fits_the_column(site):
    """The help is wrapped for the page (argparse at ``CLI_COLUMNS``): ``droplab theory`` has no
    preformatted text, so every line fits; the few lines that cannot wrap elsewhere (long choice
    lists, preformatted epilogs) scroll inside their block."""
    soup = bs4.BeautifulSoup(site["pages"]["cli/index.html"], "html.parser")
    blocks = {h.get_text(strip=True).rstrip("¶"): h.find_next("pre").get_text() for h in soup.select("h2")}
    theory = blocks["droplab theory"].splitlines()
    assert len(theory) > 10 and max(map(len, theory)) <= HOOK.CLI_COLUMNS
    lines = [line for block in blocks.values() for line in block.splitlines()]
    assert sum(len(line) > HOOK.CLI_COLUMNS for line in lines) <= 0.05 * len(lines)


# ----------------------------------------------------------------------------- the conversion itself
def test_rst_to_markdown_handles_every_form():
    doc = inspect.cleandoc(r"""
        Inline :math:`a_k^*` and :math:`b` twice, a role :func:`~pkg.mod.fn`, :class:`Cls`,
        :meth:`title <pkg.Cls.m>`.

        .. math:: x = 1,
           \qquad y = 2

        Parameters
        ----------
        alpha : float
            Weight :math:`\alpha`, with

            .. math::
                :label: eq-one

                \sigma_1^2(t-\mu_0)^2 = L

                z = 3

            after it.

        * an item

          .. math::
              t^* = 1

          continued.
        * a second item

        Run it::

            droplab --help
        """)
    md = RST.rst_to_markdown(doc)
    assert ":math:" not in md and ".. math::" not in md and ":func:" not in md and ":label:" not in md
    assert r"Inline \(a_k^*\) and \(b\) twice, a role `fn`, `Cls`," in md
    assert "`title`." in md
    assert "$$\nx = 1,\n\\qquad y = 2\n$$" in md  # content on the directive's line, then continued
    # inside the numpydoc section: at the directive's indentation, one block per equation
    assert "    $$\n    \\sigma_1^2(t-\\mu_0)^2 = L\n    $$\n\n    $$\n    z = 3\n    $$" in md
    assert "\n    after it." in md
    # inside a list item: re-indented to 4 spaces, so that Markdown keeps it in the item
    assert "* an item\n\n    $$\n    t^* = 1\n    $$\n\n    continued.\n\n* a second item" in md
    assert "Run it:\n\n    droplab --help" in md
    assert RST.rst_to_markdown(md) == md  # idempotent


def test_readme_extraction_fails_loudly():
    text = "# t\n\n### Measured: x (y)\n\nbody\n\n| a |\n\n## Next\n\nrest\n\n**Para** one\ntwo\n\nthree\n"
    assert HOOK.readme_section("### Measured: x", text) == "body\n\n| a |\n"
    assert HOOK.readme_paragraph("**Para**", text) == "**Para** one\ntwo\n"
    with pytest.raises(RuntimeError, match="no heading line"):
        HOOK.readme_section("### Gone", text)
    with pytest.raises(RuntimeError, match="no paragraph"):
        HOOK.readme_paragraph("**Gone**", text)


def test_no_list_marker_inside_a_paragraph(site):
    """A list item that Markdown read as text (reST and Markdown indent lists differently) shows its
    ``*`` inside a paragraph."""
    stray = []
    for page, html in site["pages"].items():
        soup = bs4.BeautifulSoup(html, "html.parser")
        for block in soup.select("article p, article li"):
            for tag in block.select("code, .arithmatex"):
                tag.decompose()
            text = block.get_text()
            stray += [f"{page}: {text[max(0, m.start() - 40):m.end() + 30]!r}"
                      for m in re.finditer(r"\n\s*(?:[*+-]|\d+\.) ", text)]
    assert not stray


@pytest.mark.slow
def test_hook_executes_a_notebook_without_an_executed_copy(tmp_path, monkeypatch):
    """``mkdocs build`` without (up-to-date) executed copies executes the notebook, so its page has
    outputs; a notebook that fails stops the build; ``DROPLAB_DOCS_NO_EXECUTE=1`` opts out."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbformat.v4 import new_code_cell, new_notebook

    for name in ("notebooks", "docs"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(HOOK, "ROOT", tmp_path)
    monkeypatch.setattr(HOOK, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(HOOK, "EXECUTED", tmp_path / "build" / "executed_notebooks")
    monkeypatch.delenv(HOOK.NO_EXECUTE, raising=False)
    nb = tmp_path / "notebooks" / "a.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print(6 * 7)")]), nb)

    monkeypatch.setenv(HOOK.NO_EXECUTE, "1")
    HOOK._copy_notebooks()
    assert not HOOK._outputs(tmp_path / "docs" / "notebooks" / "a.ipynb")   # the opt-out: no outputs
    monkeypatch.delenv(HOOK.NO_EXECUTE)
    HOOK._copy_notebooks()
    page = nbformat.read(tmp_path / "docs" / "notebooks" / "a.ipynb", as_version=4)
    assert page.cells[0].outputs[0]["text"].strip() == "42"
    assert HOOK.executed_copy(nb) == HOOK.EXECUTED / "a.ipynb"              # reused by the next build

    nbformat.write(new_notebook(cells=[new_code_cell("raise RuntimeError('broken notebook')")]), nb)
    assert HOOK.executed_copy(nb) is None                                   # stale: sources changed
    with pytest.raises(Exception, match="broken notebook"):
        HOOK._copy_notebooks()
