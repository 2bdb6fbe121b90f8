"""Thread-scheduler simulator and checker: policies, deadlock / starvation / livelock /
priority-inversion detectors, and an exhaustive explorer.  Semantics: docs/sched.md.

Typical use::

    from coherence import sched
    sc = sched.load("examples/sched/abba.toml")
    report = sched.check(sc, explore=True)
    for f in report.findings:
        print(f.kind, f.definition, f.threads, f.schedule)

Modules: :mod:`ops` (op syntax), :mod:`scenario` (the model and its compiler), :mod:`loader`
(TOML), :mod:`program` (the compiled scenario), :mod:`layout` (the state vector),
:mod:`semantics` (one step, jitted), :mod:`simkernel` /
:mod:`simulator` (policies, timeline), :mod:`explorekernel` / :mod:`explorer` (every schedule),
:mod:`blocking`, :mod:`lockorder`, :mod:`timing`, :mod:`misuse` (detectors), :mod:`schedule`
(replay), :mod:`check` (all of it), :mod:`report` (text/JSON), :mod:`gantt` (chart), :mod:`cli`.

The public names are imported on first use (PEP 562 ``__getattr__``): most of them need numpy
and numba, and ``coherence sched --help`` imports this package only for :mod:`cli`.
"""

from __future__ import annotations

import importlib
import sys
import types


def _public_names() -> dict:
    """The public names, imported as the package once did at import time."""
    from .check import check
    from .explorer import ExploreResult, explore
    from .findings import DEFINITIONS, KINDS, Finding, Report
    from .loader import load, loads
    from .program import CompiledScenario
    from .scenario import POLICIES, Scenario, Thread, compile_scenario
    from .schedule import format_schedule, parse_schedule, replay
    from .simulator import SimResult, simulate
    return locals()


def __getattr__(name: str):
    if name in __all__:
        globals().update(_public_names())  # later lookups skip this hook
        return globals()[name]
    # The eager import of old loaded every submodule, so ``sched.simkernel`` worked without
    # importing it; this is also the path of ``from . import ops`` inside the package, which
    # must get the submodule alone.  "_" keeps out __main__, whose import runs the command.
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Keeps ``sched.check`` the function.  The import system sets a package attribute to each
    submodule when it is first loaded, and the submodule ``check`` has the function's name; the
    eager import of old overwrote it at once, but now the submodule may be loaded first by
    anyone (``from .check import check`` in :mod:`cli`, say)."""

    def __setattr__(self, name, value):
        if (name in __all__ and isinstance(value, types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def plot_gantt(result, ax=None, path=None):
    """Gantt chart of a simulation (see :func:`coherence.sched.gantt.plot_gantt`)."""
    from .gantt import plot_gantt as _plot
    return _plot(result, ax=ax, path=path)


__all__ = ["check", "explore", "ExploreResult", "DEFINITIONS", "KINDS", "Finding", "Report",
           "load", "loads", "CompiledScenario", "compile_scenario", "POLICIES", "Scenario",
           "Thread", "format_schedule", "parse_schedule", "replay", "SimResult", "simulate",
           "plot_gantt"]
