"""Exhaustive exploration: every schedule of a scenario, up to a bound on states.

Abstraction: *all interleavings of the enabled threads* (= every possible scheduler), with time
abstracted away: ``compute N`` is N steps, ``sleep``, ``yield``, priorities and arrival times
do not constrain the order.  So a finding here happens under *some* scheduler; policy-specific
behaviour (priority inversion, starvation caused by strict priority) is the simulator's job.

Found, each with the shortest schedule BFS gives (``--replay`` reproduces it):

* deadlock / lost-wakeup / stuck: a reachable state where some threads can never step again
  (computed exactly by backward reachability over the state graph), classified by
  :mod:`blocking`;
* livelock: a reachable cycle in which every live thread steps (a fair cycle) while some
  thread with ``repeat = false`` is live (and so never finishes);
* starvation (``fair-cycle``): a reachable cycle that is weakly fair (every thread enabled
  throughout it steps in it) in which thread T is enabled at some state yet never steps.

The bound ``max_states`` is honest: when reached, the result says ``complete = False`` and the
liveness analyses treat unexplored states as able to do anything (no false alarm from the cut).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._jit import deferred_interrupt
from ..errors import CoherenceError
from . import explorekernel as X
from .blocking import classify
from .findings import Finding
from .misuse import misuse_findings
from .layout import pc_of
from .program import CompiledScenario, ops_in_order
from .scenario import Scenario, compile_scenario
from .schedule import format_schedule

MAX_LIVENESS_FINDINGS = 8
#: The largest state bound (state indices are int32 in the kernel).
MAX_STATES = 1 << 30


@dataclass
class ExploreResult:
    """Outcome of an exhaustive exploration."""

    program: CompiledScenario
    states: int
    transitions: int
    expanded: int
    complete: bool
    depth: int
    seconds: float
    findings: list = field(default_factory=list)
    state_table: np.ndarray | None = None
    #: True when Ctrl-C stopped the search: the result covers the states found until then
    #: (``complete`` is False, as when the bound is reached).
    interrupted: bool = False

    @property
    def states_per_second(self) -> float:
        """Explored states per second of wall time."""
        return self.states / self.seconds if self.seconds > 0 else float("inf")

    def stats(self) -> dict:
        """Statistics for reports."""
        return {"states": self.states, "transitions": self.transitions,
                "complete": self.complete, "max_depth": self.depth,
                **({"interrupted": True} if self.interrupted else {}),
                "seconds": round(self.seconds, 6),
                "states_per_second": round(self.states_per_second, 1)}


def _path(parent, via, s) -> list:
    out = []
    while parent[s] >= 0:
        out.append(int(via[s]))
        s = int(parent[s])
    return out[::-1]


def explore(scenario: Scenario | CompiledScenario, max_states: int = 1_000_000,
            liveness: bool = True, fairness: str = "strong") -> ExploreResult:
    """Explore every interleaving of ``scenario`` up to ``max_states`` states.

    ``fairness``: "strong" (default) reports a thread that is never even enabled in a
    strongly fair cycle; "weak" also one that is enabled at times but loses every race (the
    starvation an unfair lock allows).  ``liveness=False`` keeps no edges and finds only what
    is visible in single states (wait-for cycles, states where every live thread is blocked,
    misuse): faster, less memory.
    """
    program = scenario if isinstance(scenario, CompiledScenario) else compile_scenario(scenario)
    max_states = int(max_states)
    if not 1 <= max_states <= MAX_STATES:
        raise CoherenceError(f"bad max states {max_states}, expected an integer in "
                             f"1..{MAX_STATES}")
    t0 = time.perf_counter()
    interrupted = []
    g = X.bfs(program.code, program.tstart, program.tlen, program.repeat, program.layout,
              program.init, max_states, bool(liveness),
              on_interrupt=lambda: interrupted.append(True))
    # The analyses below call kernels that return arrays: a Ctrl-C during them is held back
    # (see deferred_interrupt) and ends the exploration as interrupted, with what it found.
    with deferred_interrupt(reraise=False) as late:
        states, parent, via = g.states, g.parent, g.via
        count, expanded, nedges = int(g.count), int(g.expanded), int(g.nedges)
        seconds_bfs = time.perf_counter() - t0
        names = program.thread_names
        findings = []

        def sched_to(s, extra=()):
            return format_schedule([names[t] for t in _path(parent, via, s)] + list(extra))

        # misuse: the step from state s by thread t
        events = [(int(s), int(t), int(pc), int(c), int(a)) for s, t, pc, c, a in g.misuses]
        for f in misuse_findings(program, events, source="explore", unit="state"):
            ev = f.origin
            f.schedule = sched_to(ev[0], [names[ev[1]]])
            f.extra["steps"] = len(_path(parent, via, ev[0])) + 1
            findings.append(f)

        blocked_sets = [(int(m), int(s)) for m, s in g.deadlocks] + [
            (int(m), int(s)) for m, s in g.terminals]
        perm = None
        # After a Ctrl-C in the search, only what single states show is reported: the
        # whole-graph analyses would keep the user waiting (seconds for millions of states).
        analyse = liveness and not interrupted
        if analyse:
            perm = X.never_steps(count, expanded, g.estart, g.edst, g.ethr, g.livemask, program.n)
            ok = X.settled(states, perm, program.code, program.tstart, program.layout, g.livemask)
            masks, firsts = np.unique(np.where(ok, perm, 0), return_index=True)
            blocked_sets += [(int(m), int(s)) for m, s in zip(masks, firsts) if m != 0]
        seen = set()
        for mask, s in sorted(blocked_sets, key=lambda ms: ms[1]):
            for f in classify(program, states[s], mask):
                if f.key() in seen:
                    continue
                seen.add(f.key())
                f.source = "explore"
                f.schedule = sched_to(s)
                f.extra["steps"] = len(_path(parent, via, s))
                findings.append(f)

        if analyse and nedges:
            findings += _livelocks(program, g)
            findings += _starvations(program, g, perm, fairness)
    if late:
        interrupted.append(True)
    seconds = time.perf_counter() - t0
    depth = len(_path(parent, via, count - 1)) if count else 0
    res = ExploreResult(program=program, states=count, transitions=int(nedges) if liveness else -1,
                        expanded=expanded, complete=expanded >= count, depth=depth,
                        seconds=seconds, findings=findings, state_table=states,
                        interrupted=bool(interrupted))
    res.bfs_seconds = seconds_bfs
    return res


def _lasso(program, g, comp, cid, root, excluded, goals):
    """Prefix to ``root`` and a cycle in component ``cid`` of the graph ``g`` (the
    :data:`~explorekernel.BfsArrays`) through the ``goals`` (pairs of (goal kind, argument) for
    :func:`explorekernel.path_in_component`), back to ``root``; the edges of thread
    ``excluded`` are not taken."""
    names = program.thread_names
    prefix = [names[t] for t in _path(g.parent, g.via, root)]
    cycle, cur = [], root
    for goal, arg in goals + [(0, root)]:
        if goal == 0 and cur == root and cycle:
            break
        steps, end = X.path_in_component(cur, comp, cid, g.estart, g.edst, g.ethr, excluded,
                                         goal, arg, g.enmask)
        if end < 0:
            return None
        cycle += [names[int(t)] for t in steps]
        cur = int(end)
    return prefix, cycle


def _livelocks(program, g):
    names = program.thread_names
    count = int(g.count)
    comp, ncomp = X.scc(count, g.estart, g.edst, g.ethr, -1, np.ones(count, np.bool_))
    internal, steps, en_any, dis_any, live, first = X.component_summary(
        count, g.estart, g.edst, g.ethr, -1, comp, ncomp, g.enmask, g.livemask)
    must_end = 0
    for t in range(program.n):
        if not program.repeat[t]:
            must_end |= 1 << t
    out, seen = [], set()
    for c in np.argsort(first):
        c = int(c)
        lv = int(live[c])
        if not internal[c] or lv == 0 or (lv & ~int(steps[c])) != 0 or not (lv & must_end):
            continue
        if lv in seen:
            continue
        seen.add(lv)
        threads = [t for t in range(program.n) if (lv >> t) & 1]
        root = int(first[c])
        lasso = _lasso(program, g, comp, c, root, -1, [(3, t) for t in threads])
        if lasso is None:
            continue
        prefix, cycle = lasso
        stuck = [names[t] for t in threads if (must_end >> t) & 1]
        locks = _locks_in_cycle(program, threads)
        detail = (f"a reachable cycle of {len(cycle)} steps repeats forever: "
                  f"{', '.join(names[t] for t in threads)} all keep running (every live thread "
                  f"is scheduled) but {', '.join(stuck)} (repeat = false) never finish")
        body = ["Found a livelock:", "=" * 17] + [
            f'"{names[t]}": loops through ' + ops_in_order(
                program, t, {pc_of(g.states[s], t) for s in np.nonzero(comp == c)[0][:2000]})
            for t in threads]
        out.append(Finding(kind="livelock", definition="fair-cycle-no-progress",
                           threads=[names[t] for t in threads], locks=locks, detail=detail,
                           body=body, schedule=format_schedule(prefix, cycle), source="explore",
                           extra={"steps": len(prefix) + len(cycle), "cycle_length": len(cycle)}))
        if len(out) >= MAX_LIVENESS_FINDINGS:
            break
    return out


def _locks_in_cycle(program, threads):
    from . import ops as O
    locks = []
    for t in threads:
        for op in program.ops[t]:
            for kind, name in op.resources():
                if kind in (O.MUTEX, O.RWLOCK) and name not in locks:
                    locks.append(name)
    return locks


def _starvations(program, g, perm, fairness):
    names = program.thread_names
    out = []
    for t in range(program.n):
        if fairness == "weak":
            found = _weak_starvation(program, g, t)
        else:
            found = _strong_starvation(program, g, t, perm)
        if found is None:
            continue
        comp, c, root, goals, excluded = found
        lasso = _lasso(program, g, comp, c, root, excluded, goals)
        if lasso is None:
            continue
        prefix, cycle = lasso
        runners = sorted(set(cycle))
        where = program.where(t, pc_of(g.states[root], t))
        if fairness == "weak":
            detail = (f"{names[t]} can be starved by a weakly fair scheduler: in a reachable "
                      f"cycle of {len(cycle)} steps it is enabled at some states (only strong "
                      f"fairness would force it to run) yet never runs while "
                      f"{', '.join(runners)} keep running; it waits at {where}")
            definition = "fair-cycle-weak"
        else:
            detail = (f"{names[t]} can be starved even by a strongly fair scheduler: in a "
                      f"reachable cycle of {len(cycle)} steps in which every thread that is ever "
                      f"enabled runs ({', '.join(runners)}), {names[t]} is never enabled and never "
                      f"runs, although it is not blocked forever; it waits at {where}")
            definition = "fair-cycle"
        out.append(Finding(kind="starvation", definition=definition, threads=[names[t]] + [
            r for r in runners if r != names[t]], locks=[], detail=detail,
            body=[f'"{names[t]}": ' + detail], schedule=format_schedule(prefix, cycle),
            source="explore", extra={"steps": len(prefix) + len(cycle),
                                     "cycle_length": len(cycle)}))
    return out


def _weak_starvation(program, g, t):
    """A weakly fair cycle (no thread enabled throughout without stepping) without steps of t,
    in which t is enabled at some state."""
    bit = 1 << t
    count = int(g.count)
    comp, ncomp = X.scc(count, g.estart, g.edst, g.ethr, t, np.ones(count, np.bool_))
    internal, steps, en_any, dis_any, live, first = X.component_summary(
        count, g.estart, g.edst, g.ethr, t, comp, ncomp, g.enmask, g.livemask)
    for c in np.argsort(first):
        c = int(c)
        lv = int(live[c])
        if not internal[c] or not (lv & bit) or not (int(en_any[c]) & bit) or \
                not (int(dis_any[c]) & bit):
            continue
        continuously = lv & ~int(dis_any[c]) & ~bit  # enabled in every state of c
        if continuously & ~int(steps[c]):
            continue  # a thread is enabled throughout and never runs: not weakly fair
        goals = [(1, t), (2, t)] + [(3, u) for u in range(program.n) if (continuously >> u) & 1]
        return comp, c, int(first[c]), goals, t
    return None


def _strong_starvation(program, g, t, perm):
    """A strongly fair cycle (every thread enabled at some state of it steps in it) in which
    t is live, never enabled, and not blocked forever (Emerson-Lei style refinement: drop the
    states where a thread is enabled that never steps in its component, recompute SCCs)."""
    bit = np.int64(1 << t)
    count, enmask = int(g.count), g.enmask
    alive = ((g.livemask & bit) != 0) & ((enmask & bit) == 0)
    free = (perm & bit) == 0
    while alive.any():
        comp, ncomp = X.scc(count, g.estart, g.edst, g.ethr, -1, alive)
        internal, steps, en_any, dis_any, live, first = X.component_summary(
            count, g.estart, g.edst, g.ethr, -1, comp, ncomp, enmask, g.livemask)
        bad = np.where(internal, en_any & ~steps, -1)  # -1: not on a cycle, drop it all
        has_free = np.bincount(comp[alive & free], minlength=ncomp) > 0
        good = np.nonzero(internal & (bad == 0) & has_free)[0]
        if len(good):
            c = int(good[np.argmin(first[good])])
            goals = [(3, u) for u in range(program.n) if (int(en_any[c]) >> u) & 1]
            return comp, c, int(first[c]), goals, -1
        in_comp = comp >= 0
        drop = np.zeros(count, np.bool_)
        drop[in_comp] = (enmask[in_comp] & bad[comp[in_comp]]) != 0
        drop[in_comp] |= ~internal[comp[in_comp]]
        drop[in_comp] |= (internal & (bad == 0) & ~has_free)[comp[in_comp]]
        if not drop.any():
            return None
        alive &= ~drop
    return None
