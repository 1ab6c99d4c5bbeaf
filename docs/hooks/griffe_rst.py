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
* a paragraph ending in ``::`` (a reST literal block follows) ends in ``:``;
* a doctest block (``>>>`` lines and their output) outside the numpydoc ``Examples`` section -> a
  fenced ``pycon`` code block at its own indentation (Markdown would read ``>>>`` as nested block
  quotes); the ``Examples`` section is left to the numpydoc parser, which renders it as code itself,
  and a doctest block that follows another section's items (after ``Returns``) gets such a section;
* a reST simple table (``=====  =====`` rules) -> a Markdown table.

Functions and classes whose docstring has no numpydoc ``Parameters`` section get one made from the
signature (each parameter's name; its type and default come from the signature), so every API entry
shows its parameters as a table (:meth:`RstToMarkdown.on_object`).

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
_UNDERLINE = re.compile(r"^[ \t]*-{3,}[ \t]*$")
_DOCTEST = re.compile(r"^(?P<indent>[ \t]*)>>>(?: |$)")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_RULE = re.compile(r"^(?P<indent>[ \t]*)=+(?: +=+)+[ \t]*$")


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


def _doctests(lines: list[str]) -> list[str]:
    """Doctest blocks outside the ``Examples`` section (and outside fenced code) as fenced ``pycon``
    code: from a ``>>>`` line to the next blank line, at the indentation of its first line."""
    out: list[str] = []
    section, fenced, i = None, False, 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            fenced = not fenced
        if i + 1 < len(lines) and line.strip() and _UNDERLINE.match(lines[i + 1]) and not fenced:
            section = line.strip().lower()
        m = _DOCTEST.match(line)
        if fenced or not m or section in ("examples", "example"):
            out.append(line)
            i += 1
            continue
        indent, j = m.group("indent"), i
        while j < len(lines) and lines[j].strip():
            j += 1
        if out and out[-1].strip():
            out.append("")
        if section is not None and not indent:
            # after the last item of a numpydoc section (Returns, Parameters...): the examples of the
            # object, but the parser would read a fence there as one more item. An Examples section.
            out += ["Examples", "--------", *lines[i:j]]
            section = "examples"
        else:
            out += [f"{indent}```pycon", *lines[i:j], f"{indent}```"]
        if j < len(lines):
            out.append("")
            j += 1 if not lines[j].strip() else 0
        i = j
    return out


def _simple_tables(lines: list[str]) -> list[str]:
    """reST simple tables (columns under ``====  ====`` rules; a row whose first column is blank
    continues the row above) as Markdown tables; a table without a header row gets an empty one."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _RULE.match(lines[i])
        end, rules = None, [i]
        if m:
            for j in range(i + 1, len(lines)):
                if _RULE.match(lines[j]):
                    rules.append(j)
                    if j + 1 == len(lines) or not lines[j + 1].strip():
                        end = j
                        break
        if end is None or len(rules) > 3:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group("indent")
        spans = [r.start() for r in re.finditer(r"=+", lines[i])]

        def rows(a: int, b: int, spans: list[int] = spans) -> list[list[str]]:
            result: list[list[str]] = []
            for line in lines[a:b]:
                if not line.strip():
                    continue
                cells = [line[s:(spans[k + 1] if k + 1 < len(spans) else None)].strip()
                         for k, s in enumerate(spans)]
                if result and not cells[0]:
                    result[-1] = [f"{x} {y}".strip() for x, y in zip(result[-1], cells)]
                else:
                    result.append(cells)
            return result

        header = rows(rules[0] + 1, rules[1]) if len(rules) == 3 else [[" "] * len(spans)]
        body = rows(rules[-2] + 1, rules[-1])
        if out and out[-1].strip():
            out.append("")
        for row in (header[0], ["---"] * len(spans), *header[1:], *body):
            out.append(indent + "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        i = end + 1
    return out


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reST math, Sphinx roles, ``::`` markers, doctest blocks and simple
    tables in Markdown."""
    if not text:
        return text
    lines = _simple_tables(_doctests(text.split("\n")))
    text = "\n".join(_literal_intros(_math_blocks(_lists(lines))))
    text = _INLINE_MATH.sub(lambda m: f"\\({m.group(1)}\\)", text)
    return _ROLE.sub(_role, text)


_SECTION = re.compile(r"^[ \t]*(?P<title>[A-Za-z][A-Za-z ]*?)[ \t]*\n[ \t]*-{3,}[ \t]*$", re.M)


def _has_parameters(docstring) -> bool:
    titles = [m.group("title").lower() for m in _SECTION.finditer(docstring.value)] if docstring else []
    return "parameters" in titles or "other parameters" in titles


def parameters_section(obj) -> str | None:
    """A numpydoc ``Parameters`` section listing the signature's parameters of the function or class
    ``obj`` (``self``/``cls`` aside; ``*args``, ``**kwargs`` as such), or ``None`` if it has none or its
    docstring (a class: or its ``__init__``'s) has one already."""
    if not (obj.is_function or obj.is_class) or _has_parameters(obj.docstring):
        return None
    if obj.is_class:
        init = obj.members.get("__init__")
        if init is not None and not init.is_alias and _has_parameters(init.docstring):
            return None
    try:
        params = list(obj.parameters)
    except Exception:  # noqa: BLE001 - a class Griffe cannot resolve the __init__ of: no table
        return None
    names = []
    for p in params:
        if p.name in ("self", "cls") and not names and p is params[0]:
            continue
        stars = {"variadic positional": "*", "variadic keyword": "**"}.get(p.kind.value, "")
        names.append(stars + p.name)
    if not names:
        return None
    return "Parameters\n----------\n" + "\n".join(names)


def add_parameters(obj) -> None:
    """Insert :func:`parameters_section` before the first numpydoc section of ``obj``'s docstring (or at
    its end), making a docstring if there is none."""
    section = parameters_section(obj)
    if section is None:
        return
    if obj.docstring is None:
        obj.docstring = griffe.Docstring(section, parent=obj)
        return
    text = obj.docstring.value.rstrip()
    m = _SECTION.search(text)
    obj.docstring.value = (f"{text[:m.start()].rstrip()}\n\n{section}\n\n{text[m.start():].lstrip()}" if m
                           else f"{text}\n\n{section}")


class RstToMarkdown(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`rst_to_markdown`; once the tree is complete,
    give every function and class without a ``Parameters`` section one (:func:`add_parameters`)."""

    def on_instance(self, *, obj, **kwargs) -> None:  # every griffe version: as each object is made
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)

    def on_object(self, *, obj, **kwargs) -> None:  # newer griffe: once the tree is complete
        self.on_instance(obj=obj)  # the conversion is idempotent
        if not obj.is_alias and not obj.name.startswith("_"):
            add_parameters(obj)
