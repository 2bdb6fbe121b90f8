"""Replayable schedules: the text form and the replayer.

A schedule is the sequence of threads that took a step, comma separated, with ``*k`` for k
consecutive steps of one thread; a final parenthesised part is a cycle that repeats forever
(a lasso, for livelock and starvation)::

    T1*3,T2                 T1 steps three times, then T2 once
    T1,T2,(T1*2,T2*2)       after T1,T2 the steps T1,T1,T2,T2 repeat forever

Replay is untimed (step semantics: ``compute N`` is N steps of its thread, ``sleep`` and
arrival times are ignored), so a schedule from the simulator or from the explorer reproduces the
same states.  :func:`replay` checks every step is possible and then runs the state detectors on
the state reached (and on the cycle, when one is given).
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import CoherenceError
from .findings import Finding
from .layout import pc_of
from .program import CompiledScenario
from .semantics import enabled, step

_ITEM = re.compile(r"^([^,()*\s]+)(?:\*(\d+))?$")


def format_schedule(steps: list, cycle: list | None = None) -> str:
    """Text form of a list of thread names (and an optional repeating cycle)."""
    def rle(seq):
        parts, i = [], 0
        while i < len(seq):
            j = i
            while j < len(seq) and seq[j] == seq[i]:
                j += 1
            parts.append(seq[i] if j - i == 1 else f"{seq[i]}*{j - i}")
            i = j
        return parts
    parts = rle(list(steps))
    if cycle:
        parts.append("(" + ",".join(rle(list(cycle))) + ")")
    return ",".join(parts)


#: The most steps a replayed schedule may have (each is a list entry and a Python step).
MAX_REPLAY_STEPS = 10_000_000


def parse_schedule(text: str, names: list) -> tuple:
    """(steps, cycle) as thread indices; raise CoherenceError saying what was expected."""
    text = text.strip()
    cycle_text = None
    if text.endswith(")"):
        open_at = text.rfind("(")
        if open_at < 0:
            raise CoherenceError(f"bad schedule {text!r}: unmatched ')', expected "
                                 "NAME[*K],... with an optional final (cycle)")
        cycle_text = text[open_at + 1:-1]
        text = text[:open_at].rstrip().rstrip(",")
    index = {n: i for i, n in enumerate(names)}

    def items(part):
        out = []
        for item in filter(None, (s.strip() for s in part.split(","))):
            m = _ITEM.match(item)
            if not m:
                raise CoherenceError(f"bad schedule item {item!r}, expected NAME or NAME*K")
            if m.group(1) not in index:
                raise CoherenceError(f"unknown thread {m.group(1)!r} in schedule, expected one "
                                     f"of: {', '.join(names)}")
            k = int(m.group(2) or 1)
            if len(out) + k > MAX_REPLAY_STEPS:
                raise CoherenceError(f"schedule too long at {item!r}: expected at most "
                                     f"{MAX_REPLAY_STEPS} steps")
            out += [index[m.group(1)]] * k
        return out
    steps = items(text)
    cycle = items(cycle_text) if cycle_text is not None else None
    if cycle is not None and not cycle:
        raise CoherenceError("empty cycle in schedule, expected (NAME,...)")
    return steps, cycle


class ReplayResult:
    """States visited by a replay: ``state`` after the steps, ``findings``, ``misuses``."""

    def __init__(self, program, state, findings, trace):
        self.program = program
        self.state = state
        self.findings = findings
        self.trace = trace


def _run(program: CompiledScenario, st, seq, offset, trace, misuses):
    for k, t in enumerate(seq):
        if not enabled(st, t, program.code, program.tstart, program.layout):
            pc = pc_of(st, t)
            what = "has finished" if pc < 0 else f"is blocked at {program.where(t, pc)}"
            raise CoherenceError(f"schedule step {offset + k + 1}: {program.thread_names[t]} "
                                 f"{what}, expected a thread that can step")
        pc = pc_of(st, t)
        mis, arg, _ = step(st, t, program.code, program.tstart, program.tlen, program.repeat,
                           program.layout)
        if mis:
            misuses.append((offset + k, t, pc, int(mis), int(arg)))
        trace.append(st.copy())


def replay(program: CompiledScenario, text: str) -> ReplayResult:
    """Replay a schedule string; findings: blocked-forever classes at the end state, misuses,
    and for a final (cycle) livelock/starvation on that cycle."""
    from .blocking import blocked_mask, classify, permanently_blocked
    from .misuse import misuse_findings
    steps, cycle = parse_schedule(text, program.thread_names)
    st = program.init.copy()
    trace, misuses = [st.copy()], []
    _run(program, st, steps, 0, trace, misuses)
    findings = []
    if cycle:
        start = st.copy()
        begin = len(trace) - 1
        _run(program, st, cycle, len(steps), trace, misuses)
        if not np.array_equal(st, start):
            raise CoherenceError("the schedule's cycle does not return to the state it starts "
                                 "from, expected a (cycle) that repeats")
        findings += cycle_findings(program, trace[begin:], cycle)
    perm = permanently_blocked(program, st, blocked_mask(program, st))
    findings += classify(program, st, perm)
    findings += misuse_findings(program, misuses, source="replay")
    for f in findings:
        f.schedule = text
        f.source = "replay"
    return ReplayResult(program, st, findings, trace)


def cycle_findings(program: CompiledScenario, states: list, cycle: list,
                   definition_suffix: str = "") -> list:
    """Livelock / fair-cycle starvation on a cycle of steps (``states[0] == states[-1]``)."""
    names = program.thread_names
    n = program.n
    live = [t for t in range(n) if pc_of(states[0], t) >= 0]
    stepped = set(cycle)
    en = np.array([[enabled(s, t, program.code, program.tstart, program.layout)
                    for t in range(n)] for s in states[:-1]])
    out = []
    weakly_fair = all(t in stepped or not en[:, t].all() for t in live)
    should_end = [t for t in live if not program.repeat[t]]
    if set(live) <= stepped and should_end:
        out.append(Finding(
            kind="livelock", definition="fair-cycle-no-progress",
            threads=[names[t] for t in live], locks=[],
            detail=(f"the cycle repeats forever: {', '.join(names[t] for t in live)} all keep "
                    f"running but {', '.join(names[t] for t in should_end)} (repeat = false) "
                    "never finish")))
    if weakly_fair:
        for t in live:
            if t not in stepped and en[:, t].any():
                out.append(Finding(
                    kind="starvation", definition="fair-cycle", threads=[names[t]], locks=[],
                    detail=(f"{names[t]} is enabled in {int(en[:, t].sum())} of the "
                            f"{len(cycle)} states of a weakly fair cycle yet never runs")))
    return out
