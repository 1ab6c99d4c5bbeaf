"""MkDocs hook: bring the repository's own artefacts into the site before MkDocs collects its files.

* the notebooks, always with their outputs: the executed copies in ``build/executed_notebooks/``
  (written by ``tests/test_notebooks.py``) when they match the stored sources, else the notebook is
  executed here (nbclient, kernel ``python3``) and its copy written there. A notebook page without
  outputs stops the build, unless ``DROPLAB_DOCS_NO_EXECUTE=1`` asks for the stored, output-free
  notebooks (a quick look at the text; the tests use it only when the notebooks were not executed);
  the gallery page shows each notebook's first figure as its thumbnail;
* the figure gallery: ``figures/*.png`` (with the PDF and CSV beside each, linked for download) and a
  page made from ``figures/README.md`` (the captions);
* the reports' figures (``figures/empirical/``, ``figures/empirical-whitenet-256/``, written by
  ``droplab empirical report``): ``<!-- droplab: figures/<folder>/README.md figures -->`` on a page is
  replaced by the report's figures with their captions and their files (PNG, PDF, the report's CSVs),
  so no caption is copied by hand;
* the API reference: one page per module of ``gaussian_theory`` and ``empirical`` (the command-line
  packages aside), generated in memory (:func:`api_modules`, :func:`on_files`) and put in the
  navigation under "API reference" (:func:`on_config`), so a new module gets its page by itself;
* links from the prose into the API: a code span on a hand-written page that names a documented
  object (``drop_counts``, ``allocation.drop_densities``, ``TwoGaussians.probit_densities``) becomes
  a link to it (mkdocs-autorefs; :func:`link_api`);
* the command-line reference: the ``--help`` of every ``droplab`` command, from the parser itself,
  wrapped to the page's code column;
* ``<!-- droplab: version -->``: the package version (``gaussian_theory.__version__``);
  ``<!-- droplab: changelog -->``: ``CHANGELOG.md``;
* MathJax 3 (SVG output, self-contained) from the ``django-static-mathjax`` wheel, so the site renders
  formulas without a CDN.

The docstrings' reStructuredText (``:math:`...```, ``.. math::`` blocks, Sphinx roles, doctest blocks,
simple tables) is turned into Markdown by the Griffe extension ``griffe_rst.py`` before mkdocstrings
parses it; every page is then checked here for reST that got through (a warning, so the strict build
fails).

Everything written to ``docs/`` here is generated (listed in ``.gitignore``): edit the sources, not
these copies.
"""

from __future__ import annotations

import argparse
import ast
import base64
import functools
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HOOKS = Path(__file__).resolve().parent
# The Griffe extension of this folder (mkdocs.yml names it by path: mkdocstrings resolves that against
# mkdocs.yml, from any working directory); imported here too, for the module summaries. MkDocs puts this
# folder on sys.path while it loads the hook and takes it off afterwards.
if str(HOOKS) not in sys.path:
    sys.path.insert(0, str(HOOKS))
import griffe_rst  # noqa: E402

EXECUTED = ROOT / "build" / "executed_notebooks"
NO_EXECUTE = "DROPLAB_DOCS_NO_EXECUTE"
NOTEBOOK_CELL_TIMEOUT_S = 600
CLI_COLUMNS = 78  # argparse wraps at COLUMNS - 2: the help fits the page's code column (76)
log = logging.getLogger("mkdocs.plugins.droplab_docs")
#: the report folders under ``figures/`` (``droplab empirical report --out figures/<folder>``) whose
#: figures the real-data pages show: the small CNN's and whitenet-256's, and the learning curves per class
#: of every study (``bash studies/class-curves.sh``; "Across datasets")
REPORTS = ("empirical", "empirical-whitenet-256", "class-curves")
#: the packages of the API reference; their command-line modules (``cli``, ``cli_*``: the "Command
#: line" pages document them) are left out of it
PACKAGES = ("gaussian_theory", "empirical")
#: the order of the API pages in the navigation: the theory from the paper's closed forms up to the
#: figures, the pipeline from a run to its report; a module not listed follows, alphabetically
API_ORDER = (
    # gaussian_theory: the paper's model, the allocations, the own-data route, the theory's tools
    "two_gaussians", "thresholds", "two_isotropic", "allocation", "apportionment", "quota_rules",
    "selection", "own_data", "arrays", "recommend", "pilot_runs", "run_table", "symbolic", "pruning",
    "learners", "simulation", "finite_allocation", "mixture", "mixture_checks", "minimax", "montecarlo",
    "surrogate", "surrogate_recalls", "surrogate_check", "query_allocation", "recall_prediction",
    "learned_recalls",
    # empirical: a run's trip (the conductor, the configuration, the stages in order), then the reports
    # and the analyses of a folder of runs
    "pipeline", "run_config", "stage_data", "stage_query", "stage_allocation", "stage_selection",
    "stage_training", "stage_evaluation", "stage_record", "data", "dataset", "cifar_readers",
    "image_folder", "small_datasets", "query_logits",
    "scores", "dynamic", "recipes", "train", "evaluation", "device", "models", "augment", "subset",
    "bridge", "stats", "power", "classes", "report", "report_runs", "report_rows", "report_comparisons",
    "report_scorers", "report_tables", "report_figures", "report_figures_accuracy",
    "report_figures_classes", "report_figures_pareto", "report_figures_labels", "prediction_check",
    "prediction_figure", "recommendation_check", "loao", "learned_study", "surrogate_calibration",
    "metriq_compare", "gaussian_study", "class_curves", "class_curves_figure", "titles", "sweep",
    "intervals", "validation", "options", "atomic",
    "figures",
)
API_NAV_TITLE = "API reference"
GALLERY = "gallery.md"
OWN_DATA = "own-data.md"


def _sources(nb_path: Path) -> list[str]:
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def _outputs(nb_path: Path) -> list[dict]:
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    return [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]


def _has_outputs(nb_path: Path) -> bool:
    outputs = _outputs(nb_path)
    return bool(outputs) and not any(o.get("output_type") == "error" for o in outputs)


def executed_copy(nb: Path) -> Path | None:
    """The executed copy of notebook ``nb`` in ``build/executed_notebooks/`` if it matches the stored
    sources and has outputs, none of them an error; else ``None``."""
    executed = EXECUTED / nb.name
    if executed.is_file() and _sources(executed) == _sources(nb) and _has_outputs(executed):
        return executed
    return None


def _execute(nb: Path) -> Path:
    import nbclient
    import nbformat

    log.info("droplab_docs: executing %s (no up-to-date executed copy in %s)", nb.name, EXECUTED)
    book = nbformat.read(nb, as_version=4)
    nbclient.NotebookClient(book, timeout=NOTEBOOK_CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(nb.parent)}}).execute()
    EXECUTED.mkdir(parents=True, exist_ok=True)
    tmp = EXECUTED / f".{nb.name}.tmp"
    nbformat.write(book, tmp)
    os.replace(tmp, EXECUTED / nb.name)
    return EXECUTED / nb.name


def _copy_notebooks() -> None:
    out = DOCS / "notebooks"
    out.mkdir(exist_ok=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        use = executed_copy(nb)
        if use is None and os.environ.get(NO_EXECUTE) == "1":
            log.info("droplab_docs: %s=1: %s shown without outputs", NO_EXECUTE, nb.name)
            use = nb
        elif use is None:
            use = _execute(nb)
            if not _has_outputs(use):
                raise RuntimeError(f"notebook {nb.name}: executed, but it has no outputs (or an error "
                                   "output): its page would be empty")
        shutil.copyfile(use, out / nb.name)


def _gallery_thumbnails() -> None:
    """The first figure (PNG output) of each notebook's page copy, for the gallery page."""
    out = DOCS / "figures" / "gallery"
    out.mkdir(parents=True, exist_ok=True)
    for nb in sorted((DOCS / "notebooks").glob("*.ipynb")):
        png = next((o["data"]["image/png"] for o in _outputs(nb) if "image/png" in o.get("data", {})), None)
        target = out / f"{nb.stem}.png"
        if png is None:
            target.unlink(missing_ok=True)
            continue
        target.write_bytes(base64.b64decode("".join(png) if isinstance(png, list) else png))


# ----------------------------------------------------------------------------- figures and their files
_FILES_LINE = re.compile(r"^Files: .*$", re.M)


def link_files(text: str, source: Path, prefix: str) -> str:
    """On each ``Files: ...`` line of ``text``, every `` `name` `` of a file in ``source`` becomes a
    link to its copy at ``prefix/name`` (the PNG, PDF and CSV of a figure, downloadable)."""
    def one(m: re.Match) -> str:
        return re.sub(r"(?<!\[)`([^`/\s]+\.(?:png|pdf|csv))`",
                      lambda f: f"[`{f.group(1)}`]({prefix}/{f.group(1)})" if (source / f.group(1)).is_file()
                      else f.group(0), m.group(0))
    return _FILES_LINE.sub(one, text)


def _copy_figure_files(source: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.suffix in (".png", ".pdf", ".csv"):
            shutil.copyfile(path, out / path.name)


def _figures_page() -> None:
    out = DOCS / "figures"
    _copy_figure_files(ROOT / "figures", out)
    text = (ROOT / "figures" / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"\]\((fig[^)]+\.png)\)", r"](figures/\1)", text)
    text = link_files(text, ROOT / "figures", "figures")
    text = text.replace("# droplab figures", "# Figures", 1)
    (DOCS / "figures.md").write_text(text, encoding="utf-8")
    for folder in REPORTS:
        _copy_figure_files(ROOT / "figures" / folder, out / folder)


def report_figures(folder: str = "empirical", page_dir: str = "") -> str:
    """The "## Figures" part of ``figures/<folder>/README.md`` (written by ``droplab empirical report``:
    one section per figure with its caption and files), images and files pointing at the copies in
    ``docs/figures/<folder>/`` (relative to a page in ``docs/<page_dir>``), then the report's CSV files.
    ``folder``: one of :data:`REPORTS`."""
    if folder not in REPORTS:
        raise RuntimeError(f"figures/{folder}/ is not a report folder of the site (one of "
                           f"{', '.join(REPORTS)})")
    path = ROOT / "figures" / folder / "README.md"
    if not path.is_file():
        raise RuntimeError(f"{path.relative_to(ROOT)} is missing: write it with `droplab empirical report "
                           f"results/... --out figures/{folder}` (the real-data pages say which runs)")
    text = path.read_text(encoding="utf-8")
    if "\n## Figures\n" not in text:
        raise RuntimeError(f"{path.relative_to(ROOT)} has no '## Figures' section")
    body = text.split("\n## Figures\n", 1)[1]
    body = re.split(r"\n## ", body, maxsplit=1)[0]
    prefix = "../" * len(Path(page_dir).parts) + f"figures/{folder}"
    body = re.sub(r"\]\(([^)/]+\.png)\)", rf"]({prefix}/\1)", body)
    body = link_files(body, path.parent, prefix)
    csvs = sorted(p.name for p in path.parent.glob("*.csv"))
    if csvs:
        body += ("\n\nThe numbers behind the tables and figures (CSV): "
                 + ", ".join(f"[`{name}`]({prefix}/{name})" for name in csvs) + ".\n")
    return body.strip() + "\n"


def package_version() -> str:
    """``gaussian_theory.__version__``, read from the source (the one definition; pyproject reads it)."""
    text = (ROOT / "gaussian_theory" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        raise RuntimeError("gaussian_theory/__init__.py defines no __version__")
    return m.group(1)


_MARKER = re.compile(r"<!-- droplab: (.+?) -->")


def _marker(m: re.Match, page_dir: str) -> str:
    what = m.group(1)
    m_report = re.fullmatch(r"figures/([^/]+)/README\.md figures", what)
    if m_report:
        return report_figures(m_report.group(1), page_dir)
    if what == "version":
        return package_version()
    if what == "changelog":  # CHANGELOG.md without its title: the page has its own
        return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").split("\n", 1)[1].strip() + "\n"
    m_thumb = re.fullmatch(r"thumbnail (\S+)", what)
    if m_thumb:
        png = DOCS / "figures" / "gallery" / f"{m_thumb.group(1)}.png"
        if not png.is_file():
            return ""  # the notebooks were not executed (DROPLAB_DOCS_NO_EXECUTE=1): no figure to show
        return (f"[![The first figure of the notebook](figures/gallery/{png.name}){{ .droplab-thumb }}]"
                f"(notebooks/{m_thumb.group(1)}.ipynb)")
    raise RuntimeError(f"unknown marker <!-- droplab: {what} -->")


# ----------------------------------------------------------------------------- the API reference
def api_modules() -> dict[str, list[str]]:
    """The modules of the API reference, per package, in navigation order: every module and subpackage
    of :data:`PACKAGES` except private ones (``_x``) and the command-line ones (``cli``, ``cli_*``; read
    from the files, no import)."""
    out = {}
    for pkg in PACKAGES:
        names = []
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join(parts)
            if (len(parts) < 2 or any(p.startswith("_") for p in parts)
                    or any(p == "cli" or p.startswith("cli_") for p in parts[1:])):
                continue
            names.append(name)

        def key(name: str):
            top = name.split(".")[1]
            return (API_ORDER.index(top) if top in API_ORDER else len(API_ORDER), top, name)

        out[pkg] = sorted(names, key=key)
    return out


def api_page(module: str) -> str:
    """The source path of a module's API page: ``api/<package>/<rest of the dotted name>.md``."""
    pkg, rest = module.split(".", 1)
    return f"api/{pkg}/{rest}.md"


def _module_file(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def module_summary(module: str) -> str:
    """The first sentence-line of a module's docstring, in Markdown (one table cell)."""
    doc = ast.get_docstring(ast.parse(_module_file(module).read_text(encoding="utf-8"))) or ""
    first = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    return griffe_rst.rst_to_markdown(first).replace("|", "\\|")


def _api_module_markdown(module: str) -> str:
    return f"::: {module}\n    options:\n      heading_level: 1\n"


def _api_package_markdown(pkg: str, modules: list[str]) -> str:
    rows = "\n".join(f"| [`{m.split('.', 1)[1]}`]({m.split('.', 1)[1]}.md) | {module_summary(m)} |"
                     for m in modules)
    return (f"::: {pkg}\n    options:\n      heading_level: 1\n      members: false\n\n"
            "## Modules\n\nOne page per module, generated from the docstrings (numpydoc; every function's "
            "parameters in a table, with their types and defaults).\n\n"
            f"| module | what |\n|---|---|\n{rows}\n")


def api_nav(modules: dict[str, list[str]]) -> list:
    """The navigation of the API reference: per package its overview page, then a page per module."""
    return [{pkg: [{pkg: f"api/{pkg}/index.md"}] + [{m.split(".", 1)[1]: api_page(m)} for m in names]}
            for pkg, names in modules.items()]


# ----------------------------------------------------------------------------- prose -> API links
@functools.lru_cache(maxsize=1)
def api_objects() -> dict[str, str]:
    """``{path: kind}`` of the objects the API pages show: each module, its public members, and the
    public members of its classes (static analysis with Griffe; aliases are left to their home)."""
    import griffe

    found: dict[str, str] = {}

    def walk(obj, depth: int) -> None:
        found[obj.path] = obj.kind.value
        if depth == 0:
            return
        for name, member in obj.members.items():
            if name.startswith("_") or member.is_alias or member.is_module:
                continue
            if member.is_class:
                walk(member, 1)
            else:
                found[member.path] = member.kind.value

    for pkg, modules in api_modules().items():
        root = griffe.load(pkg, search_paths=[str(ROOT)], resolve_aliases=False)
        for module in modules:
            obj = root
            for part in module.split(".")[1:]:
                obj = obj.members[part]
            walk(obj, 2)
    return found


@functools.lru_cache(maxsize=1)
def _api_suffixes() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for path in api_objects():
        parts = path.split(".")
        for i in range(1, len(parts)):
            index.setdefault(".".join(parts[i:]), []).append(path)
    return index


def api_target(name: str) -> str | None:
    """The documented object a code span ``name`` names, if exactly one: a dotted name by its last
    components (``allocation.drop_densities``, ``TwoGaussians.prune``, ``gaussian_theory.simulate``,
    re-exported), a bare name only if it is a function or class and not a plain word (``drop_counts``,
    ``TwoGaussians``; not ``compare``)."""
    objects, index = api_objects(), _api_suffixes()
    if name in objects:
        return name
    candidates = index.get(name, [])
    if not candidates and "." in name and name.split(".")[0] in PACKAGES:
        package = name.split(".")[0] + "."
        candidates = [p for p in index.get(name.rsplit(".", 1)[1], []) if p.startswith(package)]
    if "." not in name:
        if name.islower() and "_" not in name:
            return None  # a plain word (`compare`, `sweep`): a command or an option as often as a function
        candidates = [p for p in candidates if objects[p] in ("function", "class")]
    return candidates[0] if len(candidates) == 1 else None


_FENCE = re.compile(r"^\s*(```|~~~)")
_SPAN = re.compile(r"(?<![\[`])`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(\(\))?`(?![\]`(])")


def link_api(markdown: str) -> str:
    """Code spans of ``markdown`` that name a documented object become optional autorefs links to its
    API entry (outside fenced code; a span already in a link is left alone)."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if fenced or _FENCE.match(line) or line.startswith("    ") or line.startswith("::: "):
            out.append(line)
            continue

        def one(m: re.Match) -> str:
            target = api_target(m.group(1))
            if target is None:
                return m.group(0)
            return (f'<autoref identifier="{target}" optional><code>{m.group(1)}{m.group(2) or ""}'
                    f"</code></autoref>")
        out.append(_SPAN.sub(one, line))
    return "\n".join(out)


# ----------------------------------------------------------------------------- MkDocs events
def on_config(config, **kwargs):
    """The API pages in the navigation, in place of the "API reference" entry of mkdocs.yml."""
    nav = config.get("nav") or []
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and API_NAV_TITLE in entry:
            nav[i] = {API_NAV_TITLE: [{"Overview": "api/index.md"}, *api_nav(api_modules())]}
            break
    else:
        raise RuntimeError(f"mkdocs.yml: the navigation has no {API_NAV_TITLE!r} entry")
    return config


def on_files(files, config, **kwargs):
    """The generated API pages, in memory (nothing written to docs/); the own-data tutorial's page as a
    placeholder while ``docs/own-data.md`` does not exist."""
    from mkdocs.structure.files import File

    for pkg, modules in api_modules().items():
        overview = _api_package_markdown(pkg, modules)
        files.append(File.generated(config, f"api/{pkg}/index.md", content=overview))
        for module in modules:
            files.append(File.generated(config, api_page(module), content=_api_module_markdown(module)))
    if files.get_file_from_path(OWN_DATA) is None:
        log.info("droplab_docs: docs/%s does not exist yet: a placeholder page stands in", OWN_DATA)
        files.append(File.generated(config, OWN_DATA, content=(
            "# Your own data\n\nThe own-data tutorial (`docs/own-data.md`) is not written yet; meanwhile "
            "[Getting started](getting-started.md) shows the commands.\n")))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Markers replaced (reports' figures, version, thumbnails); code spans naming API objects linked."""
    page_dir = str(Path(page.file.src_uri).parent) if "/" in page.file.src_uri else ""
    markdown = _MARKER.sub(lambda m: _marker(m, page_dir), markdown)
    if page.file.src_uri.startswith("api/"):
        return markdown
    return link_api(markdown)


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _cli_page() -> None:
    from gaussian_theory.cli import build_parser

    parts = ["# Command line\n",
             "Generated from the `droplab` parser at build time: every command and option with its "
             "default.\n"]

    def walk(parser, name):
        parts.append(f"\n## `{name}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
        for sub, subparser in _subcommands(parser):
            walk(subparser, f"{name} {sub}")

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(CLI_COLUMNS)  # stable wrapping of the help texts, to the page's width
    try:
        walk(build_parser(), "droplab")
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    (DOCS / "cli.md").write_text("".join(parts), encoding="utf-8")


def _mathjax() -> None:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the documentation needs MathJax: pip install django-static-mathjax "
                           "(it is in the 'docs' and 'test' extras)")
    src = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5" / "tex-svg.js"
    out = DOCS / "javascripts" / "mathjax"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, out / "tex-svg.js")


_CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.S)
RAW_RST = re.compile(r":math:|\.\. math::|:(?:func|meth|class|mod|attr|data|obj|exc):`?")


def raw_rst(html: str) -> list[str]:
    """reStructuredText that reached the page's HTML outside code: ``:math:``, ``.. math::``, Sphinx
    roles (each with some context)."""
    text = _CODE.sub(" ", html)
    return [text[max(0, m.start() - 60):m.end() + 60] for m in RAW_RST.finditer(text)]


def on_page_content(html: str, page, config, files) -> str:
    """Every page: reST math or roles left in the HTML (the Griffe extension missed a form) is a
    warning, so the strict build fails and names the page."""
    for hit in raw_rst(html):
        log.warning("droplab_docs: raw reStructuredText on %s: ...%s...", page.file.src_uri, hit)
    return html


def on_pre_build(config, **kwargs) -> None:
    _copy_notebooks()
    _gallery_thumbnails()
    _figures_page()
    _cli_page()
    _mathjax()
