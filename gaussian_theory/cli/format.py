"""Text output of the ``droplab`` command line: fixed-width tables, the help formatter, errors.

The library returns numbers (arrays, dicts, dataclasses); everything that turns them into text for a
terminal lives in this package.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["format_table", "HelpFormatter", "Parser", "fail", "warn"]


def format_table(header, rows, floatfmt="{:.4g}") -> str:
    """A plain fixed-width text table: strings as given, numbers through ``floatfmt``.

    >>> print(format_table(["class", "recall"], [["cat", 0.91234], ["dog", 0.5]]))
    class  recall
    -----  ------
      cat  0.9123
      dog     0.5
    """
    cells = [[c if isinstance(c, str) else floatfmt.format(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(header, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default (except flags, required options, ``None`` defaults and help texts
    that already say "(default ...)"), wraps one-paragraph descriptions, and keeps multi-line descriptions and
    epilogs (tables, examples) as written."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        default = action.default
        if (
            "%(default)" in help_text
            or "(default" in help_text  # the help states its default in its own words
            or default is None
            or default is argparse.SUPPRESS
            or action.required
            or isinstance(default, bool)
            or not action.option_strings
        ):
            return help_text
        if isinstance(default, (list, tuple)):
            return help_text + " (default: " + " ".join(map(str, default)) + ")"
        return help_text + " (default: %(default)s)"

    def _fill_text(self, text, width, indent):
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter` by default; sub-parsers (also those that
    ``droplab.commands`` plug-ins add) are built with the same class, so they inherit it."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def fail(msg) -> int:
    """Print ``droplab: error: msg`` on stderr; return the exit status 2."""
    print(f"droplab: error: {msg}", file=sys.stderr)
    return 2


def warn(msg) -> None:
    """Print ``droplab: warning: msg`` on stderr."""
    print(f"droplab: warning: {msg}", file=sys.stderr)
