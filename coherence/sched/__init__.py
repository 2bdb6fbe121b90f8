"""Thread-scheduler simulator and checker: policies, deadlock / starvation / livelock /
priority-inversion detectors, and an exhaustive explorer.  Semantics: docs/sched.md.

Typical use::

    from coherence import sched
    sc = sched.load("examples/sched/abba.toml")
    report = sched.check(sc, explore=True)
    for f in report.findings:
        print(f.kind, f.definition, f.threads, f.schedule)

Modules: :mod:`ops` (op syntax), :mod:`scenario` (the model), :mod:`loader` (TOML),
:mod:`program` (compiled arrays), :mod:`semantics` (one step, jitted), :mod:`simkernel` /
:mod:`simulator` (policies, timeline), :mod:`explorekernel` / :mod:`explorer` (every schedule),
:mod:`blocking`, :mod:`lockorder`, :mod:`timing`, :mod:`misuse` (detectors), :mod:`schedule`
(replay), :mod:`check` (all of it), :mod:`report` (text/JSON), :mod:`gantt` (chart), :mod:`cli`.
"""

from __future__ import annotations

from .check import check
from .explorer import ExploreResult, explore
from .findings import DEFINITIONS, KINDS, Finding, Report
from .loader import load, loads
from .program import Program, compile_scenario
from .scenario import POLICIES, Scenario, Thread
from .schedule import format_schedule, parse_schedule, replay
from .simulator import SimResult, simulate


def plot_gantt(result, ax=None, path=None):
    """Gantt chart of a simulation (see :func:`coherence.sched.gantt.plot_gantt`)."""
    from .gantt import plot_gantt as _plot
    return _plot(result, ax=ax, path=path)


__all__ = ["check", "explore", "ExploreResult", "DEFINITIONS", "KINDS", "Finding", "Report",
           "load", "loads", "Program", "compile_scenario", "POLICIES", "Scenario", "Thread",
           "format_schedule", "parse_schedule", "replay", "SimResult", "simulate",
           "plot_gantt"]
