"""argparse ``type`` functions of the ``droplab empirical`` command lines (:mod:`empirical.cli` and
:mod:`empirical.cli_analyses`): one parser per kind of value, each failure an ``ArgumentTypeError`` that
argparse prints as ``droplab: error: argument --x: ...``."""

from __future__ import annotations

import argparse

__all__ = ["argument_type", "density", "nonnegative_float", "positive_float", "positive_int",
           "nonnegative_int"]


def argument_type(name: str, convert, accept, parse_error: str, range_error: str):
    """An argparse ``type``: ``convert(s)`` then ``accept(value)``; each failure an ArgumentTypeError
    with its message (``{s!r}`` is the command-line text)."""

    def parse(s: str):
        try:
            v = convert(s)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(parse_error.format(s=s)) from exc
        if not accept(v):
            raise argparse.ArgumentTypeError(range_error.format(s=s))
        return v

    parse.__name__ = name
    return parse


density = argument_type("density", float, lambda d: 0 < d <= 1,
                        "density must be a number in (0, 1], got {s!r}",
                        "density must lie in (0, 1], got {s!r}")
nonnegative_float = argument_type("nonnegative_float", float, lambda v: v >= 0 and v != float("inf"),
                                  "expected a number >= 0, got {s!r}",
                                  "expected a finite number >= 0, got {s!r}")
positive_float = argument_type("positive_float", float, lambda v: 0 < v < float("inf"),
                               "expected a number > 0, got {s!r}",
                               "expected a finite number > 0, got {s!r}")
positive_int = argument_type("positive_int", int, lambda v: v >= 1,
                             "must be a positive integer, got {s!r}",
                             "must be a positive integer, got {s!r}")
nonnegative_int = argument_type("nonnegative_int", int, lambda v: v >= 0,
                                "must be a non-negative integer, got {s!r}",
                                "must be a non-negative integer, got {s!r}")
