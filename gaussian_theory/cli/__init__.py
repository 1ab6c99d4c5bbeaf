"""The ``droplab`` command line: one module per command, text formatting in :mod:`.format`.

Sub-commands built on :mod:`gaussian_theory` are registered here; packages that must not be
imported by ``gaussian_theory`` (``empirical``, which needs torch) contribute theirs through the
``droplab.commands`` entry-point group, each entry being a ``register(subparsers)`` function. No
library module imports this package (an import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

import os
import sys
from importlib import metadata

from . import allocate, figures, learned, surrogate, theory
from .format import Parser, fail

__all__ = ["main", "build_parser"]


def _version() -> str:
    try:
        return metadata.version("droplab")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        from .. import __version__

        return __version__


def build_parser() -> Parser:
    """The ``droplab`` argument parser with every sub-command, plug-ins included."""
    parser = Parser(
        prog="droplab",
        description="Distributionally robust data pruning (DRoP): Gaussian-mixture theory, class "
        "allocations and empirical validation.",
    )
    parser.add_argument("--version", action="version", version=f"droplab {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (theory, allocate, learned, surrogate, figures):
        module.register(sub)
    for register in _plugin_registrars():
        register(sub)
    return parser


def _plugin_registrars():
    regs = []
    for ep in metadata.entry_points(group="droplab.commands"):
        try:
            regs.append(ep.load())
        except ImportError as exc:  # e.g. torch missing: register a stub that explains
            regs.append(_missing_plugin(ep.name, exc))
    return regs


def _missing_plugin(name, exc):
    def register(sub):
        p = sub.add_parser(name, help=f"(unavailable: {exc})")
        p.set_defaults(func=lambda args: fail(f"'droplab {name}' needs extra packages: {exc}. "
                                              f"Install them with: pip install 'droplab[{name}]'"))
    return register


#: exit status after Ctrl-C (128 + SIGINT, as a shell reports it)
INTERRUPTED = 130


def main(argv=None) -> int:
    """Run ``droplab`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status. Bad input is a
    one-line ``droplab: error: ...`` on stderr and status 2; Ctrl-C is one line ``droplab: interrupted``
    and status 130 (a command may say more, e.g. how to resume, and return 130 itself)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return _run(args)
    except KeyboardInterrupt:
        print("\ndroplab: interrupted", file=sys.stderr)
        return INTERRUPTED


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning as one ``droplab: warning: ...`` line on stderr (no source location: the
    user typed a command, not the library's code)."""
    text = " ".join(str(message).split())
    print(f"droplab: warning: {text}" if category is UserWarning else
          f"droplab: warning: {category.__name__}: {text}", file=sys.stderr)


def _run(args) -> int:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except (ValueError, TypeError) as exc:
        return fail(str(exc))
    except BrokenPipeError:  # `droplab ... | head`: the reader left; stop quietly
        _silence_stdout()
        return 1
    except OSError as exc:  # a file or folder the command could not read or write
        return fail(f"{exc.strerror or exc}: {exc.filename!r}" if exc.filename else str(exc))
    except MemoryError:  # every large computation estimates its memory first; this is the safety net
        return fail("out of memory: the machine could not hold this computation; lower the number of "
                    "Monte Carlo draws, trials or features")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout without a descriptor
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
