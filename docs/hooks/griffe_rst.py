"""Griffe extension (mkdocs.yml, mkdocstrings ``extensions``): the docstrings' reStructuredText into the
Markdown that the site renders, *before* mkdocstrings parses the numpydoc sections.

The docstrings are numpydoc, written for ``help()`` and Sphinx: formulas are ``:math:`...``` roles and
``.. math::`` directives, cross-references Sphinx roles (``:func:`x```). MkDocs renders Markdown with
``pymdownx.arithmatex`` (generic mode, local MathJax), so each docstring is rewritten as it is loaded:

* ``:math:`x``` -> ``\\(x\\)`` (arithmatex inline math; protected from emphasis and escapes);
* a ``.. math::`` directive -> one ``$$ ... $$`` display block per equation (reST separates equations by
  blank lines), at the directive's own indentation, so that it stays inside a list item or a numpydoc
  section; the content may start on the directive's line and continue on more-indented lines, and
  directive options (``:label:``, ``:nowrap:``) are dropped;
* ``:func:`~a.b.c```, ``:class:`x``` and the other Sphinx roles -> code (``c``, ``x``); a leading ``~``
  keeps only the last component, as in Sphinx;
* list items: their continuation re-indented from reST's alignment to Markdown's 4 spaces;
* a paragraph ending in ``::`` (a reST literal block follows) ends in ``:``.

The sources stay plain reST/numpydoc; only the site's copy is converted. ``rst_to_markdown`` is the whole
conversion (tested in ``tests/test_docs_site.py``).
"""

from __future__ import annotations

import re

import griffe

_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|const|ref|term):`(~?)([^`]+)`")
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*?)[ \t]*$")
_OPTION = re.compile(r"^[ \t]*:[a-z-]+:")
_LITERAL_INTRO = re.compile(r"(\S)::[ \t]*$")
_ITEM = re.compile(r"^(?P<indent> *)(?P<marker>[*+-]|\d+[.)]) +(?=\S)")


def _width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _role(m: re.Match) -> str:
    target = m.group(2)
    if "<" in target and target.endswith(">"):  # :func:`title <target>`: the title
        target = target[:target.index("<")].strip()
    elif m.group(1):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _math_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group("indent")
        body = [m.group("rest")] if m.group("rest") else []
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or _width(lines[j]) > len(indent)):
            body.append(lines[j])
            j += 1
        i = j
        while body and _OPTION.match(body[0]):
            body.pop(0)  # directive options (:label: x, :nowrap:)
        equations: list[list[str]] = [[]]
        for line in body:
            if line.strip():
                equations[-1].append(line.strip())
            elif equations[-1]:
                equations.append([])
        equations = [e for e in equations if e]
        if out and out[-1].strip():
            out.append("")
        for eq in equations:
            out += [f"{indent}$$", *(f"{indent}{line}" for line in eq), f"{indent}$$", ""]
    return out


def _literal_intros(lines: list[str]) -> list[str]:
    """``text::`` followed by a blank line and an indented block: the reST literal-block marker."""
    out = list(lines)
    for k, line in enumerate(lines):
        nxt = next((x for x in lines[k + 1:] if x.strip()), None)
        if (_LITERAL_INTRO.search(line) and k + 1 < len(lines) and not lines[k + 1].strip()
                and nxt is not None and _width(nxt) > _width(line)):
            out[k] = _LITERAL_INTRO.sub(r"\1:", line)
    return out


def _lists(lines: list[str]) -> list[str]:
    """List items: reST aligns an item's continuation with its text (2 spaces after ``* ``); Markdown
    (Python-Markdown) needs 4 spaces for the blocks of an item after a blank line (a formula, a second
    paragraph). Each item's body is re-indented to 4 spaces past the marker, nested lists included."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _ITEM.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, text_col = len(m.group("indent")), m.end()
        body, j = [], i + 1
        while j < len(lines) and (not lines[j].strip() or _width(lines[j]) >= text_col):
            body.append(lines[j])
            j += 1
        while body and not body[-1].strip():
            body.pop()
            j -= 1
        least = min((_width(x) for x in body if x.strip()), default=text_col)
        pad = " " * max(least, indent + 4)  # already 4 (Markdown, or converted before): unchanged
        out.append(lines[i])
        out += [pad + line if line.strip() else "" for line in _lists([x[least:] for x in body])]
        if any(not x.strip() for x in body) and j < len(lines) and lines[j].strip():
            out.append("")  # after a block of several paragraphs, the next line starts a new block
        i = j
    return out


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reST math, Sphinx roles and ``::`` markers in Markdown."""
    if not text:
        return text
    text = "\n".join(_literal_intros(_math_blocks(_lists(text.split("\n")))))
    text = _INLINE_MATH.sub(lambda m: f"\\({m.group(1)}\\)", text)
    return _ROLE.sub(_role, text)


class RstToMarkdown(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`rst_to_markdown`."""

    def on_instance(self, *, obj, **kwargs) -> None:  # every griffe version: as each object is made
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)

    on_object = on_instance  # newer griffe: once the tree is complete (the conversion is idempotent)
