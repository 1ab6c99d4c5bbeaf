"""MkDocs hook: bring the repository's own artefacts into the site before MkDocs collects its files.

* the notebooks (their executed copies from ``build/executed_notebooks/``, written by
  ``tests/test_notebooks.py``, when those match the stored sources; else the stored, output-free ones);
* the figure gallery: ``figures/*.png`` and a page made from ``figures/README.md`` (the captions);
* the command-line reference: the ``--help`` of every ``droplab`` command, from the parser itself;
* MathJax 3 (SVG output, self-contained) from the ``django-static-mathjax`` wheel, so the site renders
  formulas without a CDN;
* the docstrings' reStructuredText math (``:math:`...``` and ``.. math::`` blocks, which carry the
  paper's formulas) turned into MathJax in the API pages, and Sphinx roles (``:func:`` ...) into code.

Everything written here is generated (listed in ``.gitignore``): edit the sources, not these copies.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXECUTED = ROOT / "build" / "executed_notebooks"


def _sources(nb_path: Path) -> list[str]:
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def _copy_notebooks() -> None:
    out = DOCS / "notebooks"
    out.mkdir(exist_ok=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        executed = EXECUTED / nb.name
        use = executed if executed.is_file() and _sources(executed) == _sources(nb) else nb
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


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _cli_page() -> None:
    from gaussian_theory.cli import build_parser

    os.environ["COLUMNS"] = "100"  # stable wrapping of the help texts
    parts = ["# Command line\n",
             "Generated from the `droplab` parser at build time: every command and option with its "
             "default.\n"]

    def walk(parser, name):
        parts.append(f"\n## `{name}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
        for sub, subparser in _subcommands(parser):
            walk(subparser, f"{name} {sub}")

    walk(build_parser(), "droplab")
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


_INLINE_MATH = re.compile(r":math:<code>(.*?)</code>", re.S)
_BLOCK_MATH = re.compile(r"<p>\.\. math::</p>\s*<pre><code>(.*?)</code></pre>", re.S)
_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|obj|exc):(<code>)")


def on_page_content(html: str, page, config, files) -> str:
    """API pages: render the docstrings' RST math with MathJax; drop Sphinx role prefixes."""
    if not page.file.src_uri.startswith("api/"):
        return html
    html = _BLOCK_MATH.sub(lambda m: f'<div class="arithmatex">\\[{m.group(1)}\\]</div>', html)
    html = _INLINE_MATH.sub(lambda m: f'<span class="arithmatex">\\({m.group(1)}\\)</span>', html)
    return _ROLE.sub(r"\1", html)


def on_pre_build(config, **kwargs) -> None:
    _copy_notebooks()
    _figures_page()
    _cli_page()
    _mathjax()
