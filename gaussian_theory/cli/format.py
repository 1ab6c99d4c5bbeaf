"""Text output of the ``droplab`` command line: fixed-width tables, the help formatter, errors.

The library returns numbers (arrays, dicts, dataclasses); everything that turns them into text for a
terminal lives in this package.
"""

from __future__ import annotations

import argparse
import re
import sys

__all__ = ["format_table", "HelpFormatter", "Parser", "Progress", "fail", "warn", "name_option",
           "memory_words", "NEGATIVE_NUMBER"]


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


#: what argparse should read as a negative number, not an option: -1, -.5, -1e-3, -inf, -nan (argparse
#: alone knows only -1 and -.5, so ``--means -inf 1`` or ``--means -1e3 1`` were read as options)
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter` by default; sub-parsers (also those that
    ``droplab.commands`` plug-ins add) are built with the same class, so they inherit it. Arguments that
    look like negative numbers (:data:`NEGATIVE_NUMBER`, e.g. ``-inf``, ``-1e3``) are values, not options."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER


def name_option(exc: Exception, option_of: dict) -> Exception:
    """The library's error ``exc`` with the command-line option that supplied the argument it names put
    in front (``means must be finite ...`` -> ``--means: means must be finite ...``); ``exc`` itself
    when it names none of ``option_of`` (library argument -> option)."""
    msg = str(exc)
    arg = next((a for a in option_of if msg.startswith((f"{a} ", f"{a}=", f"{a}:", f"{a}["))), None)
    return exc if arg is None else type(exc)(f"{option_of[arg]}: {msg}")


class Progress:
    """A stage-by-stage progress line on stderr for a command that may take a while: ``with
    Progress(n_stages) as progress: progress("fitting"); ...``. Shown only once ``delay`` seconds have
    passed (nothing at all for a quick run), and kept moving during a long stage: a background thread
    updates the elapsed time twice a second. ``enabled=False`` (``--no-progress``) shows nothing."""

    def __init__(self, total: int, *, enabled: bool = True, delay: float = 1.0, desc: str = "droplab"):
        self.total, self.enabled, self.delay, self.desc = total, enabled, delay, desc
        self._bar = self._thread = self._stop = None
        self._step = 0

    def __enter__(self):
        if not self.enabled:
            return self
        import threading

        from tqdm import tqdm

        self._bar = tqdm(total=self.total, desc=self.desc, file=sys.stderr, delay=self.delay, leave=False,
                         mininterval=0, miniters=0, bar_format="{desc} [{elapsed}]")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._bar.update(0)  # redraws (the elapsed time) once the delay has passed

    def __call__(self, stage: str) -> None:
        """Start ``stage`` (the previous one is done)."""
        if self._bar is None:
            return
        self._step += 1
        self._bar.set_description_str(f"{self.desc} ({self._step}/{self.total}): {stage}", refresh=False)
        self._bar.update(1)

    def __exit__(self, *exc) -> None:
        if self._bar is None:
            return
        self._stop.set()
        self._thread.join()
        self._bar.close()


def memory_words(msg: str) -> str:
    """A library memory refusal (:func:`gaussian_theory.validation.check_memory`) in the command line's
    words: it has no ``max_memory`` to raise, so the message states the limit and keeps the advice."""
    msg = re.sub(r"over max_memory=\d+ bytes \(([^)]*)\)", r"over the \1 limit", msg)
    return msg.replace(", or raise max_memory if the machine has the memory", "")


def fail(msg) -> int:
    """Print ``droplab: error: msg`` on stderr; return the exit status 2."""
    print(f"droplab: error: {msg}", file=sys.stderr)
    return 2


def warn(msg) -> None:
    """Print ``droplab: warning: msg`` on stderr."""
    print(f"droplab: warning: {msg}", file=sys.stderr)
