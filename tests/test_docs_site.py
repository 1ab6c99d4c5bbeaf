"""The documentation site as a reader meets it: built once (strict mode, warnings are errors) and every
built page checked.

* every formula renders: no raw reStructuredText math (``:math:``, ``.. math::``) or Sphinx role on
  any page, and each ``.. math::`` of the docstrings is a display formula on the API pages;
* parameter tables: types in the type column (no description, no literal double backticks there);
* prose shows dashes, not a literal ``--`` (code, math and command lines aside);
* every notebook page has its outputs (the executed copies that ``tests/test_notebooks.py`` writes;
  this file runs after it, ``tests/conftest.py``); without up-to-date executed copies the site is
  built from the output-free notebooks and that one check is skipped, saying so;
* the API reference: one page per module (the command-line packages aside), a parameter table for
  every function and class with parameters, doctest examples as code (not block quotes);
* the real-data pages: the measured tables, the recall-prediction paragraph, and every figure of both
  reports (``figures/empirical/``, ``figures/empirical-whitenet-256/``; the Pareto pictures among them)
  with its caption from the report's ``README.md`` and its files (PDF, CSV) for download;
* the Figures page: no runaway emphasis (a ``*`` of ``t*`` read as Markdown), every figure's PNG, PDF
  and CSV linked;
* the command-line how-to: every ``droplab`` command on it parses with the real parser;
* the README is the front door: short, every page it links exists, and each number of its headline
  results is on the documentation page it links.

The site is built once per session (a few seconds) and shared by the tests, the browser test
(``tests/test_docs_browser.py``) included: :func:`build_site`.
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


_BUILT: dict = {}


def build_site(tmp_path_factory, execute_notebooks: bool = False) -> dict:
    """The site, built once per session (strict mode) and shared with ``tests/test_docs_browser.py``:
    ``{"dir": site folder, "pages": {path: html}, "executed": notebooks had executed copies}``.

    Without up-to-date executed notebooks the site is built from the output-free ones, unless
    ``execute_notebooks`` asks the hook to execute them (as ``mkdocs build`` does; it writes the
    executed copies). A site built without them is built again once they exist (``tests/
    test_notebooks.py`` ran in between)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    executed = all(HOOK.executed_copy(nb) is not None for nb in NOTEBOOKS)
    cached = _BUILT.get("site")
    if cached is not None and (cached["executed"] or not (executed or execute_notebooks)):
        return cached
    out = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        if not executed and not execute_notebooks:
            mp.setenv(HOOK.NO_EXECUTE, "1")  # build anyway; test_notebook_pages_have_outputs skips
        elif execute_notebooks:
            mp.delenv(HOOK.NO_EXECUTE, raising=False)
        cfg = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(out), strict=True)
        build(cfg)  # raises mkdocs.exceptions.Abort on any warning in strict mode
    pages = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(out.rglob("*.html"))}
    executed = all(HOOK.executed_copy(nb) is not None for nb in NOTEBOOKS)
    _BUILT["site"] = {"dir": out, "pages": pages, "executed": executed}
    return _BUILT["site"]


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    return build_site(tmp_path_factory)


def _api_pages(site) -> dict[str, str]:
    return {page: html for page, html in site["pages"].items() if page.startswith("api/")}


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
            "figures/index.html", "cli/index.html", "getting-started/index.html", "own-data/index.html",
            "cli-howto/index.html", "citation/index.html", "changelog/index.html", "gallery/index.html",
            "real-data-smallcnn/index.html", "real-data-whitenet-256/index.html",
            "real-data-mnist1d/index.html", "formula-map/index.html"} <= set(site["pages"])
    # the version on the changelog and citation pages is the package's
    version = HOOK.package_version()
    assert f"droplab <strong>{version}</strong>" in site["pages"]["changelog/index.html"]
    citation = bs4.BeautifulSoup(site["pages"]["citation/index.html"], "html.parser").get_text()
    assert f"version = {{{version}}}" in citation
    assert "Vysogorets, Artem and Ahuja, Kartik and Kempe, Julia" in citation and "2404.05579" in citation


# ----------------------------------------------------------------------------- the API reference
def test_one_api_page_per_module(site):
    """Every module of both packages (the command-line ones aside) has its page, in the navigation."""
    modules = HOOK.api_modules()
    for pkg in PACKAGES:
        found = {str(p.relative_to(ROOT).with_suffix("")).replace("/", ".").removesuffix(".__init__")
                 for p in (ROOT / pkg).rglob("*.py")}
        expected = {m for m in found if m != pkg and "._" not in m
                    and not any(part == "cli" or part.startswith("cli_") for part in m.split(".")[1:])}
        assert set(modules[pkg]) == expected
        for module in modules[pkg]:
            page = HOOK.api_page(module).removesuffix(".md") + "/index.html"
            html = site["pages"][page]
            assert f'id="{module}"' in html, module                     # its heading: the module itself
            assert f'href="{module.split(".", 1)[1]}/"' in site["pages"][f"api/{pkg}/index.html"]
    assert "gaussian_theory.cli" not in " ".join(modules["gaussian_theory"])


def test_every_function_has_a_parameter_table(site):
    """numpydoc tables for every function and class with parameters: the docstring's own, or one made
    from the signature (docs/hooks/griffe_rst.py), with types and defaults."""
    tables = sum(len(re.findall(r"<th>Default</th>", html)) for html in _api_pages(site).values())
    assert tables >= 300
    api = site["pages"]["api/gaussian_theory/apportionment/index.html"]
    soup = bs4.BeautifulSoup(api, "html.parser")
    heading = soup.find(id="gaussian_theory.apportionment.water_fill")
    table = heading.find_next("table")
    names = [code.get_text() for code in table.select("tbody tr td:first-child code")]
    assert names == ["weights", "caps", "budget", "floors"]                # the signature's, in order
    cells = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in table.select("tbody tr")]
    assert cells[2][1] == "float" and cells[3][3] == "None"                 # type and default


def test_doctests_render_as_code(site):
    """``>>>`` examples outside an ``Examples`` section: a code block, not nested block quotes."""
    for page, html in _api_pages(site).items():
        assert "<blockquote>\n<blockquote>" not in html, page
        assert "&gt;&gt;&gt;" not in re.sub(r"<(pre|code)\b.*?</\1>", "", html, flags=re.S), page
    api = site["pages"]["api/gaussian_theory/thresholds/index.html"]
    assert re.search(r'<div class="highlight"><pre><span></span><code><span class="gp">&gt;&gt;&gt; </span>'
                     r'.{0,200}log_prior_ratio', api, re.S)


# ----------------------------------------------------------------------------- formulas
def test_no_raw_rest_on_any_page(site):
    raw = {page: HOOK.raw_rst(html) for page, html in site["pages"].items()}
    assert not {page: hits for page, hits in raw.items() if hits}
    for page, html in site["pages"].items():
        text = _prose(html)
        assert ":math:" not in text and ".. math::" not in text, page


def _documented_objects():
    """The objects the API pages show: the modules of the API reference (one page each) and their
    public members (mkdocstrings ``filters: ["!^_"]``; submodules are not shown), as Griffe loads them
    from the sources (without the site's conversion)."""
    names = [m for modules in HOOK.api_modules().values() for m in modules]
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
    displays = sum(len(re.findall(r'<div class="arithmatex">\\\[', html))
                   for html in _api_pages(site).values())
    assert displays >= n_source
    api = site["pages"]["api/gaussian_theory/two_gaussians/index.html"]
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
    cells = [c for html in _api_pages(site).values() for c in _type_cells(html)]
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


def test_real_data_pages(site):
    """The moved README sections, as written in docs/ (the numbers are the tests' business there), and
    every figure of both reports, with its caption and files, on its study's page."""
    smallcnn = site["pages"]["real-data-smallcnn/index.html"]
    text = _prose(smallcnn)
    source = (ROOT / "docs" / "real-data-smallcnn.md").read_text(encoding="utf-8")
    row = next(line for line in source.splitlines() if line.startswith("| 0.5 | Random+DRoP |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    soup = bs4.BeautifulSoup(smallcnn, "html.parser")
    rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in soup.select("table tr")]
    assert cells in rows
    assert "Pearson 0.85" in text and "Do the predicted recalls after pruning hold" in text
    for page, folder in (("real-data-smallcnn", "empirical"),
                         ("real-data-whitenet-256", "empirical-whitenet-256")):
        html = site["pages"][f"{page}/index.html"]
        assert "<!-- droplab:" not in html
        text = " ".join(_prose(html).split())
        soup = bs4.BeautifulSoup(html, "html.parser")
        shown = {img["src"] for img in soup.select("article img")}
        for src in shown:
            assert (site["dir"] / page / src).resolve().is_file(), src
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
            assert " ".join(caption.split()[:12]) in text
        # each figure's PDF and the report's CSVs, downloadable from the page
        links = {a["href"] for a in soup.select("article a[href]")}
        files = {Path(h).name for h in links if f"figures/{folder}/" in h}
        assert {p.name for p in (ROOT / "figures" / folder).glob("*.pdf")} <= files
        assert {p.name for p in (ROOT / "figures" / folder).glob("*.csv")} <= files
        for href in links:
            if f"figures/{folder}/" in href:
                assert (site["dir"] / page / href).resolve().is_file(), href
    assert "Every recall quota deletes a class" in _prose(site["pages"]["real-data-mnist1d/index.html"])


def test_figures_page_links_every_file(site):
    soup = bs4.BeautifulSoup(site["pages"]["figures/index.html"], "html.parser")
    links = {a["href"] for a in soup.select("article a[href]")}
    linked = {(site["dir"] / "figures" / href).resolve() for href in links if not href.startswith("#")}
    for path in (ROOT / "figures").glob("fig*.*"):
        assert (site["dir"] / "figures" / path.name).resolve() in linked, path.name
        assert (site["dir"] / "figures" / path.name).is_file()


def test_prose_links_into_the_api(site):
    """Code spans naming documented objects link to their API entries (mkdocs-autorefs), and only
    those: a name with two homes, a command or a file stays plain code."""
    soup = bs4.BeautifulSoup(site["pages"]["formula-map/index.html"], "html.parser")
    targets = {a["href"] for a in soup.select("article a.autorefs-internal")}
    assert "../api/gaussian_theory/allocation/#gaussian_theory.allocation.drop_densities" in targets
    assert ("../api/gaussian_theory/two_gaussians/"
            "#gaussian_theory.two_gaussians.TwoGaussians.probit_densities") in targets
    assert len(targets) >= 20
    assert HOOK.api_target("allocation.drop_counts") == "gaussian_theory.allocation.drop_counts"
    assert HOOK.api_target("TwoGaussians") == "gaussian_theory.two_gaussians.TwoGaussians"
    assert HOOK.api_target("droplab") is None and HOOK.api_target("d") is None
    assert HOOK.api_target("compare") is None                                   # a plain word: a command
    assert "autoref" not in HOOK.link_api("```bash\n`drop_counts`\n```")       # not inside code
    assert HOOK.link_api("[`drop_counts`](x.md)") == "[`drop_counts`](x.md)"  # not inside a link
    for page, html in site["pages"].items():
        assert "<autoref" not in html, page                                     # every one resolved or plain


def test_gallery_shows_each_notebook(site):
    soup = bs4.BeautifulSoup(site["pages"]["gallery/index.html"], "html.parser")
    links = {a["href"] for a in soup.select("article a[href]")}
    for nb in NOTEBOOKS:
        assert f"../notebooks/{nb.stem}/" in links
    if site["executed"]:
        assert len(soup.select("article a img")) == len(NOTEBOOKS)           # a thumbnail each


def _howto_commands() -> list[str]:
    lines = []
    for name in ("cli-howto.md", "getting-started.md"):
        fenced = False
        for line in (ROOT / "docs" / name).read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif fenced and line.startswith("droplab "):
                lines.append(line.split("  #")[0].strip())
    return lines


def test_cli_howto_commands_parse():
    """Every ``droplab`` command of the how-to and getting-started pages parses with the real parser
    (nothing is run): an option renamed in the code fails here, not in a reader's terminal."""
    import shlex

    from gaussian_theory.cli import build_parser

    commands = _howto_commands()
    assert len(commands) >= 15
    parser = build_parser()
    for line in commands:
        argv = shlex.split(line)[1:]
        if argv[0] == "empirical" and "empirical" not in parser.format_help():
            continue  # the empirical commands are registered by the installed package only
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # argparse's way of refusing
            raise AssertionError(f"docs command does not parse: {line}") from exc


# ----------------------------------------------------------------------------- the README
def test_readme_is_the_front_door():
    """Short; the two quick-start commands; every link to a docs page resolves; each number of the
    headline results is on the documentation page its bullet links (moved, not rewritten)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 260
    assert "python -m pip install -e . && droplab figures" in readme
    test_command = 'python -m pip install -e ".[test]" && ruff check . && lint-imports && python -m pytest -q'
    assert test_command in readme
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)]*)?\)", readme)
    assert len(set(links)) >= 10
    for link in links:
        assert (ROOT / link).is_file() or link == "docs/own-data.md", link
    headline = readme.split("\n## Headline results\n", 1)[1].split("\n## ", 1)[0]
    bullets = [b for b in re.split(r"\n(?=- )", headline) if b.startswith("- ")]
    assert len(bullets) >= 3
    for bullet in bullets:
        pages = re.findall(r"\]\((docs/[^)#\s]+\.md)", bullet)
        assert pages, bullet
        text = " ".join((ROOT / p).read_text(encoding="utf-8") for p in pages)
        for number in re.findall(r"[+−-]?\d+\.\d+", bullet):
            assert number in text, (number, pages)


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


def test_rst_doctests_and_simple_tables():
    doc = inspect.cleandoc("""
        Text, then a doctest:

        >>> f(1)
        2

        ======  =========
        ``a``   one
        ``b``   two, and
                more
        ======  =========

        Examples
        --------
        >>> f(2)
        3
        """)
    md = RST.rst_to_markdown(doc)
    assert "```pycon\n>>> f(1)\n2\n```" in md
    after = RST.rst_to_markdown("Text.\n\nReturns\n-------\nint\n    One.\n\n>>> f(1)\n2")
    assert after.endswith("Returns\n-------\nint\n    One.\n\nExamples\n--------\n>>> f(1)\n2")
    assert "| ``a`` | one |" in md and "| ``b`` | two, and more |" in md
    assert md.endswith("Examples\n--------\n>>> f(2)\n3")   # the numpydoc parser's own section
    assert RST.rst_to_markdown(md) == md


def test_report_figures_fail_loudly():
    with pytest.raises(RuntimeError, match="not a report folder"):
        HOOK.report_figures("nowhere")
    text = "Files: `fig1_risks_vs_prior.png`, `fig1_risks_vs_prior.pdf`, `nothing.csv` (rows)."
    linked = HOOK.link_files(text, ROOT / "figures", "figures")
    assert "[`fig1_risks_vs_prior.pdf`](figures/fig1_risks_vs_prior.pdf)" in linked
    assert "`nothing.csv` (" in linked


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
