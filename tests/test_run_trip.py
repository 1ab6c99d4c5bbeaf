r"""The run's trip, walked: which droplab modules a tiny synthetic run enters, from where, in what order.

A run is a sequence of stages, each in its own module ("room"): data, query model, allocation, selection,
final training, evaluation, record; :mod:`empirical.pipeline` is the conductor that calls them in order.
This file measures that trip on a tiny synthetic run (the gaussian dataset, a linear model, two epochs)
by profiling every Python call (:func:`sys.setprofile`) and keeping those into droplab's modules
(``empirical.*``, ``gaussian_theory.*``):

* the **conductor walk**: the modules entered by the calls made *from the conductor* (``run_one`` or
  ``run_query_only`` itself, looking through non-droplab frames such as ``dataclasses.replace``, and
  counting comprehensions as the code they sit in);
* the **config walk**: the modules of every call whose arguments hold the run's configuration (a
  ``RunConfig``, given directly or held by a droplab object given, up to three attributes deep).

Of a walk (the sequence of the modules called, with each call's caller module):

* **rooms**: the distinct modules;
* **stays**: the module entries, i.e. the walk with consecutive calls into one module counted once;
* **returns**: the stays into a module already left (stays - rooms);
* **climbs**: the calls from a module into one that sits above it in the import layering, i.e. one
  that imports it, directly or through other droplab modules (grimp's import graph, lazy imports
  included, the graph ``lint-imports`` checks).

Run ``python tests/test_run_trip.py`` to print the numbers of both trips. The tests below hold the
trip's shape (no timing): the conductor enters each stage once, in the trip's order, and never climbs.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import pytest

torch = pytest.importorskip("torch")

from empirical import pipeline  # noqa: E402

PACKAGES = ("empirical", "gaussian_theory")
#: the stage modules of a run, in the trip's order (the conductor calls each once)
RUN_STAGES = ("empirical.stage_data", "empirical.stage_query", "empirical.stage_allocation",
              "empirical.stage_selection", "empirical.stage_training", "empirical.stage_evaluation",
              "empirical.stage_record")
#: the stages of ``run_query_only`` (the query model alone, its logits written), for one seed
QUERY_ONLY_STAGES = ("empirical.stage_data", "empirical.stage_query", "empirical.stage_record")
#: code objects that are not calls of their own but the caller's inline code (comprehensions) or a
#: module's body (an import)
_INLINE = ("<genexpr>", "<listcomp>", "<dictcomp>", "<setcomp>", "<module>")


def _module(frame) -> str | None:
    return frame.f_globals.get("__name__")


def _is_droplab(name) -> bool:
    return isinstance(name, str) and name.split(".")[0] in PACKAGES


@lru_cache(maxsize=1)
def _graph():
    import grimp

    return grimp.build_graph(*PACKAGES, cache_dir=None)


def imports(importer: str, imported: str) -> bool:
    """``importer`` imports ``imported``, directly or through other droplab modules."""
    return importer != imported and _graph().chain_exists(importer=importer, imported=imported)


def _reaches_config(value, depth: int) -> bool:
    """``value`` is a ``RunConfig``, or holds one (droplab objects' attributes, tuples, lists, dicts)
    within ``depth`` steps."""
    kind = type(value)
    if kind.__name__ == "RunConfig" and _is_droplab(kind.__module__):
        return True
    if depth == 0:
        return False
    if isinstance(value, (tuple, list)) and len(value) <= 16:
        return any(_reaches_config(v, depth - 1) for v in value)
    if isinstance(value, dict) and len(value) <= 16:
        return any(_reaches_config(v, depth - 1) for v in value.values())
    if _is_droplab(kind.__module__) and isinstance(getattr(value, "__dict__", None), dict):
        return any(_reaches_config(v, depth - 1) for v in vars(value).values())
    return False


def _holds_config(frame) -> bool:
    code = frame.f_code
    n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)
    args = frame.f_locals
    return any(_reaches_config(args.get(name), 3) for name in code.co_varnames[:n])


@dataclass(frozen=True)
class Walk:
    """A sequence of calls into droplab's modules: ``calls``, ``(caller module, callee module,
    callee function)`` in the order made."""

    calls: tuple

    @property
    def modules(self) -> tuple:
        return tuple(callee for _, callee, _ in self.calls)

    @property
    def stays(self) -> tuple:
        """The modules entered, consecutive calls into one module counted once."""
        return tuple(m for i, m in enumerate(self.modules) if i == 0 or self.modules[i - 1] != m)

    @property
    def rooms(self) -> tuple:
        return tuple(dict.fromkeys(self.modules))

    @property
    def returns(self) -> int:
        return len(self.stays) - len(self.rooms)

    @property
    def climbs(self) -> tuple:
        """The calls from a module into one that imports it."""
        return tuple(c for c in self.calls if imports(c[1], c[0]))

    def numbers(self) -> dict:
        return {"rooms": len(self.rooms), "stays": len(self.stays), "returns": self.returns,
                "climbs": len(self.climbs)}


class _Tracer:
    """The profile function: records the calls into droplab's modules made while ``entry`` runs."""

    def __init__(self, entry):
        self.entry = entry.__code__
        self.conductor = None
        self.conductor_calls, self.config_calls = [], []
        self.edges: Counter = Counter()  # every call between droplab modules: how many times

    def __call__(self, frame, event, arg):
        if event != "call" or not _is_droplab(_module(frame)) or frame.f_code.co_name in _INLINE:
            return
        if self.conductor is None:
            if frame.f_code is self.entry:
                self.conductor = frame
            return
        caller = frame.f_back  # the nearest droplab frame above, comprehensions counted as their code
        while caller is not None and (not _is_droplab(_module(caller)) or caller.f_code.co_name in _INLINE):
            caller = caller.f_back
        if caller is None:
            return
        call = (_module(caller), _module(frame), frame.f_code.co_qualname)
        self.edges[call] += 1
        if caller is self.conductor:
            self.conductor_calls.append(call)
        if _holds_config(frame):
            self.config_calls.append(call)


def climbs(edges: Counter) -> dict:
    """The calls of ``edges`` from a module into one that imports it, with their counts."""
    return {c: n for c, n in edges.items() if imports(c[1], c[0])}


def walk(entry, *args, **kwargs) -> tuple[Walk, Walk, Counter]:
    """``(conductor walk, config walk, every call)`` of the call ``entry(*args, **kwargs)``; every call:
    ``{(caller module, callee module, callee function): times}``. Warnings (a tiny run's
    starved classes) are silenced: the walk, not the run's advice, is measured."""
    tracer = _Tracer(entry)
    before = sys.getprofile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.setprofile(tracer)
        try:
            entry(*args, **kwargs)
        finally:
            sys.setprofile(before)
    return Walk(tuple(tracer.conductor_calls)), Walk(tuple(tracer.config_calls)), tracer.edges


def tiny_config(**over):
    """A run of a few seconds on one core: 4 classes of 40 synthetic points, a linear model, 2 epochs
    (1 for the query model); random scores with DRoP quotas, so that every stage has work."""
    kw = dict(dataset="gaussian", model="linear", synthetic={"n_train_per_class": 40, "n_test_per_class": 40},
              device="cpu", recipe="fast", epochs=2, query_epochs=1, score="random", quota="drop",
              allow_empty_classes=True)
    kw.update(over)
    return pipeline.RunConfig(**kw)


def walk_run_one(out_dir) -> tuple[Walk, Walk, Counter]:
    """The walks of a tiny run (after an untraced warm-up run elsewhere: every lazy import done, so the
    walk is the same on every call)."""
    config = tiny_config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.run_one(config, 0, out_dir / "warm-up", progress=False)
    return walk(pipeline.run_one, config, 0, out_dir / "run", progress=False)


def walk_run_query_only(out_dir) -> tuple[Walk, Walk, Counter]:
    """The walks of ``run_query_only`` for one seed (after an untraced warm-up)."""
    config = tiny_config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.run_query_only(config, [0], out_dir / "warm-up", progress=False, log=lambda line: None)
    return walk(pipeline.run_query_only, config, [0], out_dir / "run", progress=False, log=lambda line: None)


@pytest.fixture(scope="module")
def trips(tmp_path_factory):
    out = tmp_path_factory.mktemp("trip")
    return {"run_one": walk_run_one(out / "one"), "run_query_only": walk_run_query_only(out / "query")}


@pytest.mark.parametrize("entry, stages", [("run_one", RUN_STAGES), ("run_query_only", QUERY_ONLY_STAGES)])
def test_the_conductor_calls_each_stage_once_in_order(trips, entry, stages):
    conductor, _, _ = trips[entry]
    assert conductor.stays == stages          # each stage entered once, in the trip's order, nothing else
    assert conductor.returns == 0 and conductor.climbs == ()
    assert {caller for caller, _, _ in conductor.calls} == {"empirical.pipeline"}


@pytest.mark.parametrize("entry", ["run_one", "run_query_only"])
def test_nothing_climbs_but_the_atomic_writers(trips, entry):
    """In the whole trip, no call goes up the import layering (a stage never calls the conductor, a
    later stage or its caller back), but the writer each file's owner hands to
    :func:`gaussian_theory.atomic.atomic_write`, which it calls back."""
    assert {caller for caller, _, _ in climbs(trips[entry][2])} <= {"gaussian_theory.atomic"}
    assert all(callee.split(".")[0] == "empirical" for _, callee, _ in climbs(trips[entry][2]))


def test_the_stages_sit_in_the_trip_order_of_the_import_layering():
    """Each stage imports the one before it (whose output is its input), never one after it."""
    for i, earlier in enumerate(RUN_STAGES):
        for later in RUN_STAGES[i + 1:]:
            assert imports(later, earlier) and not imports(earlier, later)
    assert all(imports("empirical.pipeline", stage) for stage in RUN_STAGES)


def test_the_walk_counts_what_it_says():
    w = Walk((("a", "b", "f"), ("a", "b", "g"), ("a", "c", "h"), ("a", "b", "f")))
    assert w.stays == ("b", "c", "b") and w.rooms == ("b", "c") and w.returns == 1


def main() -> None:  # pragma: no cover - the numbers for a report, not a test
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("run_one", walk_run_one), ("run_query_only", walk_run_query_only)):
            conductor, config, edges = fn(Path(tmp) / name)
            for level, w in (("conductor", conductor), ("config", config)):
                print(f"{name:15s} {level:9s} {w.numbers()}")
                print(f"  stays: {' > '.join(m.split('.', 1)[1] for m in w.stays)}")
                for c in w.climbs:
                    print(f"  climb: {c[0]} -> {c[1]}.{c[2]}")
                if "-v" in sys.argv:
                    print("  calls: " + ", ".join(f"{m.split('.', 1)[1]}.{q}" for _, m, q in w.calls))
            every = climbs(edges)
            print(f"{name:15s} all calls: {sum(edges.values())} calls, {len(edges)} distinct, "
                  f"{len({(a, b) for a, b, _ in edges if a != b})} module edges, "
                  f"climbs {sum(every.values())} ({len(every)} distinct)")
            for c, n in every.items():
                print(f"  climb: {c[0]} -> {c[1]}.{c[2]} x{n}")


if __name__ == "__main__":  # pragma: no cover
    main()
