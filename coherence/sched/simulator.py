"""Simulate a scenario under a scheduling policy: the timeline and per-thread statistics.

:func:`simulate` validates, compiles, calls the jitted tick loop and wraps the arrays in a
:class:`SimResult`.  The run is a pure function of (scenario, policy, seed, max_ticks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import CoherenceError
from . import simkernel as K
from .layout import MAX_COUNT, MAX_SEED

#: The most memory a simulation's timeline may take (it grows as the run goes).
MAX_TIMELINE_BYTES = 1 << 30
from .program import CompiledScenario
from .scenario import POLICIES, Scenario, compile_scenario


@dataclass
class SimResult:
    """Outcome of one simulation.

    ``timeline_run[tick, cpu]``: thread on the CPU (-1 idle); ``timeline_status[tick, t]``: one
    of :attr:`status_names` (:data:`~coherence.sched.simkernel.THREAD_STATUS_NAMES`);
    ``timeline_pc[tick, t]``: op index at
    the start of the tick (-1 finished); ``timeline_holder[tick, t]``: for a blocked thread, a
    thread holding what it waits for (-1 none).  ``steps``: the threads that stepped, in order
    (the replayable schedule).  ``end``: finished | deadlocked | max-ticks | periodic; for
    periodic, ``cycle_start``/``cycle_period`` give the repeating window.
    """

    program: CompiledScenario
    policy: str
    seed: int
    ticks: int
    end: str
    cycle_start: int
    cycle_period: int
    timeline_run: np.ndarray
    timeline_status: np.ndarray
    timeline_pc: np.ndarray
    timeline_holder: np.ndarray
    steps: np.ndarray
    stats: np.ndarray
    misuses: np.ndarray
    final_state: np.ndarray
    lock_order: dict = field(default_factory=dict)

    @property
    def thread_names(self) -> list:
        """Thread names, in thread-index order."""
        return self.program.thread_names

    @property
    def status_names(self) -> tuple:
        """The name of each status code in ``timeline_status``."""
        return K.THREAD_STATUS_NAMES

    def thread_stats(self) -> dict:
        """Per thread: waiting, ready, blocked, running ticks, runs, bypasses, finish tick."""
        out = {}
        for t, name in enumerate(self.thread_names):
            s = self.stats[t]
            out[name] = {
                "waiting_ticks": int(s[K.S_READY] + s[K.S_BLOCKED]),
                "ready_ticks": int(s[K.S_READY]),
                "blocked_ticks": int(s[K.S_BLOCKED]),
                "sleeping_ticks": int(s[K.S_SLEEP]),
                "running_ticks": int(s[K.S_RUN]),
                "runs": int(s[K.S_DISPATCH]),
                "bypassed": int(s[K.S_BYPASS_TOTAL]),
                "max_bypass_in_one_wait": int(s[K.S_BYPASS_MAX]),
                "longest_ready_stretch": int(s[K.S_READYRUN_MAX]),
                "longest_block": int(s[K.S_BLOCKRUN_MAX]),
                "finished_at": None if s[K.S_FINISH] < 0 else int(s[K.S_FINISH]),
            }
        return out

    def status_at(self, tick: int, t: int) -> str:
        """Status name of thread ``t`` at ``tick``."""
        return K.THREAD_STATUS_NAMES[int(self.timeline_status[tick, t])]


def simulate(scenario: Scenario | CompiledScenario, policy: str | None = None,
             seed: int | None = None, max_ticks: int | None = None, record: bool = True,
             detect_cycles: bool = True) -> SimResult:
    """Run ``scenario`` under ``policy`` (default: the scenario's) for at most ``max_ticks``.

    ``record=False`` skips the timeline (statistics only; for speed measurements).
    ``detect_cycles`` stops a deterministic policy's run when its state repeats.
    """
    program = scenario if isinstance(scenario, CompiledScenario) else compile_scenario(scenario)
    sc = program.scenario
    policy = policy or sc.policy
    if policy not in POLICIES:
        raise CoherenceError(f"unknown policy {policy!r}, expected one of: {' | '.join(POLICIES)}")
    if policy == "lottery" and (program.prio < 1).any():
        bad = program.thread_names[int(np.argmin(program.prio))]
        raise CoherenceError(f"thread {bad!r} has priority < 1: under lottery the priority is "
                             "the ticket count, expected >= 1")
    seed = sc.seed if seed is None else int(seed)
    max_ticks = sc.max_ticks if max_ticks is None else int(max_ticks)
    if not 1 <= max_ticks <= MAX_COUNT:
        raise CoherenceError(f"bad max ticks {max_ticks}, expected an integer in 1..{MAX_COUNT}")
    if not 0 <= seed <= MAX_SEED:
        raise CoherenceError(f"bad seed {seed}, expected an integer in 0..{MAX_SEED}")
    if record:
        row = 2 * sc.cpus + 6 * program.n  # bytes of one timeline row (simkernel._new_record)
        if max_ticks * row > MAX_TIMELINE_BYTES:
            raise CoherenceError(
                f"bad max ticks {max_ticks}: a run that long would record "
                f"{max_ticks * row / 2**30:.1f} GiB of timeline, expected at most "
                f"{MAX_TIMELINE_BYTES // row} ticks for this scenario")
    params = np.zeros(K.NPARAMS, np.int64)
    params[K.PA_POLICY] = K.POLICY_CODES[policy]
    params[K.PA_QUANTUM] = sc.quantum
    params[K.PA_CPUS] = sc.cpus
    params[K.PA_AGING] = sc.aging
    params[K.PA_SEED] = seed
    params[K.PA_MAXTICKS] = max_ticks
    params[K.PA_RECORD] = 1 if record else 0
    params[K.PA_CYCLES] = 1 if detect_cycles else 0
    out = K.run(program.code, program.tstart, program.tlen, program.repeat, program.prio,
                program.arrive, program.layout, program.init, params)
    ticks = int(out.ticks)
    lo_pc, lo_src, lo_guard = out.lo_pc, out.lo_src, out.lo_guard
    lock_order = {}
    for x, y, t in zip(*np.nonzero(lo_pc >= 0)):
        lock_order.setdefault((int(x), int(y)), []).append(
            (int(t), int(lo_pc[x, y, t]), int(lo_src[x, y, t]), int(lo_guard[x, y, t])))
    keep = ticks if record else 0
    steps = out.steps
    return SimResult(
        program=program, policy=policy, seed=seed, ticks=ticks, end=K.END_NAMES[out.end],
        cycle_start=int(out.cycle_start), cycle_period=int(out.cycle_period),
        timeline_run=out.timeline_run[:keep], timeline_status=out.timeline_status[:keep],
        timeline_pc=out.timeline_pc[:keep], timeline_holder=out.timeline_holder[:keep],
        steps=steps[:min(int(out.nsteps), steps.shape[0])], stats=out.stats,
        misuses=out.misuses[:int(out.nmisuses)], final_state=out.final, lock_order=lock_order)
