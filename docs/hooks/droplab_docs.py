"""MkDocs hook: bring the repository's own artefacts into the site before MkDocs collects its files.

* the notebooks, always with their outputs: the executed copies in ``build/executed_notebooks/``
  (written by ``tests/test_notebooks.py``) when they match the stored sources, else the notebook is
  executed here (nbclient, kernel ``python3``) and its copy written there. A notebook page without
  outputs stops the build, unless ``DROPLAB_DOCS_NO_EXECUTE=1`` asks for the stored, output-free
  notebooks (a quick look at the text; the tests use it only when the notebooks were not executed);
* the figure gallery: ``figures/*.png`` and a page made from ``figures/README.md`` (the captions);
* the "Real data" page (``docs/empirical.md``): its ``<!-- droplab: ... -->`` markers are replaced by
  the README's measured results and the reports' figures with their captions
  (``figures/empirical/README.md`` and ``figures/empirical-whitenet-256/README.md``, written by
  ``droplab empirical report``; their PNGs are copied to ``docs/figures/<folder>/``, where the README's
  own images of them point too), so no number or caption is copied by hand;
* the command-line reference: the ``--help`` of every ``droplab`` command, from the parser itself,
  wrapped to the page's code column;
* MathJax 3 (SVG output, self-contained) from the ``django-static-mathjax`` wheel, so the site renders
  formulas without a CDN.

The docstrings' reStructuredText (``:math:`...```, ``.. math::`` blocks, Sphinx roles) is turned into
Markdown by the Griffe extension ``griffe_rst.py`` before mkdocstrings parses it; every page is then
checked here for reST that got through (a warning, so the strict build fails).

Everything written here is generated (listed in ``.gitignore``): edit the sources, not these copies.
"""

from __future__ import annotations

import argparse
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
# mkdocs.yml names the Griffe extension of this folder by module (``griffe_rst``): mkdocstrings-python 2
# takes extensions as plain strings only (no ``!relative`` path), and a module name on sys.path works from
# any working directory. MkDocs loads this hook before mkdocstrings loads its extensions.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
EXECUTED = ROOT / "build" / "executed_notebooks"
NO_EXECUTE = "DROPLAB_DOCS_NO_EXECUTE"
NOTEBOOK_CELL_TIMEOUT_S = 600
CLI_COLUMNS = 78  # argparse wraps at COLUMNS - 2: the help fits the page's code column (76)
log = logging.getLogger("mkdocs.plugins.droplab_docs")
#: the report folders under ``figures/`` (``droplab empirical report --out figures/<folder>``) whose
#: figures the "Real data" page shows: the small CNN's and whitenet-256's
REPORTS = ("empirical", "empirical-whitenet-256")


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


def _figures_page() -> None:
    out = DOCS / "figures"
    out.mkdir(exist_ok=True)
    for png in sorted((ROOT / "figures").glob("*.png")):
        shutil.copyfile(png, out / png.name)
    text = (ROOT / "figures" / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"\]\((fig[^)]+\.png)\)", r"](figures/\1)", text)
    text = text.replace("# droplab figures", "# Figures", 1)
    (DOCS / "figures.md").write_text(text, encoding="utf-8")
    for folder in REPORTS:
        (out / folder).mkdir(exist_ok=True)
        for png in sorted((ROOT / "figures" / folder).glob("*.png")):
            shutil.copyfile(png, out / folder / png.name)


# ----------------------------------------------------------------------------- the "Real data" page
_MARKER = re.compile(r"<!-- droplab: (.+?) -->")
_HEADING = re.compile(r"^(#{1,6}) ")


def readme_section(heading: str, text: str | None = None) -> str:
    """The body of the README section whose heading line starts with ``heading`` (up to the next
    heading of the same or a higher level), without the heading itself."""
    lines = (text if text is not None else (ROOT / "README.md").read_text(encoding="utf-8")).split("\n")
    found = [i for i, line in enumerate(lines) if line.startswith(heading)]
    if not found or not _HEADING.match(heading):
        raise RuntimeError(f"docs/empirical.md: README.md has no heading line starting {heading!r}")
    start = found[0] + 1
    level = len(_HEADING.match(heading).group(1))
    end = next((i for i in range(start, len(lines))
                if (m := _HEADING.match(lines[i])) and len(m.group(1)) <= level), len(lines))
    return "\n".join(lines[start:end]).strip() + "\n"


def readme_paragraph(opening: str, text: str | None = None) -> str:
    """The README paragraph (up to the next blank line) whose first line starts with ``opening``."""
    lines = (text if text is not None else (ROOT / "README.md").read_text(encoding="utf-8")).split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(opening)), None)
    if start is None:
        raise RuntimeError(f"docs/empirical.md: README.md has no paragraph starting {opening!r}")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[start:end]) + "\n"


def report_figures(folder: str = "empirical") -> str:
    """The "## Figures" part of ``figures/<folder>/README.md`` (written by ``droplab empirical report``:
    one section per figure with its caption), images pointing at the copies in ``docs/figures/<folder>/``.
    ``folder``: one of :data:`REPORTS`."""
    if folder not in REPORTS:
        raise RuntimeError(f"docs/empirical.md: figures/{folder}/ is not a report folder of the site "
                           f"(one of {', '.join(REPORTS)})")
    path = ROOT / "figures" / folder / "README.md"
    if not path.is_file():
        raise RuntimeError(f"{path.relative_to(ROOT)} is missing: write it with `droplab empirical report "
                           f"results/... --out figures/{folder}` (README.md says which runs)")
    text = path.read_text(encoding="utf-8")
    if "\n## Figures\n" not in text:
        raise RuntimeError(f"{path.relative_to(ROOT)} has no '## Figures' section")
    body = text.split("\n## Figures\n", 1)[1]
    body = re.split(r"\n## ", body, maxsplit=1)[0]
    return re.sub(r"\]\(([^)/]+\.png)\)", rf"](figures/{folder}/\1)", body).strip() + "\n"


def _real_data_marker(m: re.Match) -> str:
    what = m.group(1)
    if what.startswith('README section "') and what.endswith('"'):
        return readme_section(what[len('README section "'):-1])
    if what.startswith('README paragraph "') and what.endswith('"'):
        return readme_paragraph(what[len('README paragraph "'):-1])
    m_report = re.fullmatch(r"figures/([^/]+)/README\.md figures", what)
    if m_report:
        return report_figures(m_report.group(1))
    raise RuntimeError(f"docs/empirical.md: unknown marker <!-- droplab: {what} -->")


def on_page_markdown(markdown: str, page, config, files) -> str:
    """The "Real data" page: its markers replaced by the README's text and the report's figures."""
    if page.file.src_uri != "empirical.md":
        return markdown
    return _MARKER.sub(_real_data_marker, markdown)


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
    _figures_page()
    _cli_page()
    _mathjax()
