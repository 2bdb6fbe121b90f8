"""Detectors that read a simulation's timeline: starvation (K ticks, B bypasses, periodic
schedule), livelock on a periodic schedule, and priority inversion.

They need the timeline (``simulate(..., record=True)``); all work on numpy arrays.
"""

from __future__ import annotations

import numpy as np

from . import ops as O
from . import simkernel as K
from .layout import pc_of
from .findings import Finding
from .program import ops_in_order
from .schedule import format_schedule
from .simulator import SimResult


def _steps_before(sim: SimResult, tick: int) -> int:
    return int((sim.timeline_run[:tick] >= 0).sum())


def schedule_until(sim: SimResult, tick: int) -> str:
    """Replay string of the steps taken before ``tick``."""
    names = sim.thread_names
    return format_schedule([names[t] for t in sim.steps[:_steps_before(sim, tick)]])


def _op_at(sim: SimResult, t: int, tick: int) -> str:
    tick = min(max(tick, 0), len(sim.timeline_pc) - 1)
    if tick < 0:
        return "?"
    return sim.program.where(t, int(sim.timeline_pc[tick, t]))


def ready_too_long(sim: SimResult, k: int) -> list:
    """Starvation: a runnable thread not scheduled for more than ``k`` ticks."""
    out = []
    names = sim.thread_names
    for t in range(sim.program.n):
        longest = int(sim.stats[t, K.S_READYRUN_MAX])
        if longest > k:
            start = int(sim.stats[t, K.S_READYRUN_START])
            others = sim.timeline_run[start:start + longest]
            ran = sorted({names[u] for u in np.unique(others) if u >= 0})
            still = " (still waiting at the end)" if start + longest >= sim.ticks else ""
            detail = (f"{names[t]} was runnable but not scheduled for {longest} ticks "
                      f"(ticks {start}..{start + longest - 1}, K = {k}){still} at "
                      f"{_op_at(sim, t, start)}; meanwhile ran: {', '.join(ran) or 'nobody'}")
            out.append(Finding(kind="starvation", definition="ready-longer-than-K",
                               threads=[names[t]], locks=[], detail=detail,
                               body=[f'"{names[t]}": ' + detail], tick=start + k,
                               schedule=schedule_until(sim, start + longest),
                               extra={"ticks": longest, "since": start, "K": k}))
    return out


def bypassed_too_often(sim: SimResult, b: int) -> list:
    """Starvation: a waiter saw its resource taken by others more than ``b`` times."""
    out = []
    names = sim.thread_names
    prog = sim.program
    for t in range(prog.n):
        most = int(sim.stats[t, K.S_BYPASS_MAX])
        if most > b:
            start = int(sim.stats[t, K.S_BYPASS_START])
            at = int(sim.stats[t, K.S_BYPASS_TICK])
            op = prog.ops[t][int(sim.timeline_pc[start, t])] if len(sim.timeline_pc) else None
            lock = op.args[0] if op is not None and op.code != O.WAIT else (
                op.args[1] if op is not None else "?")
            by = sorted({names[u] for u in np.unique(sim.timeline_run[start:at + 1])
                         if u >= 0 and u != t})
            detail = (f"{names[t]} waited for {lock} from tick {start} and was bypassed {most} "
                      f"times (B = {b}) by {', '.join(by)} at {_op_at(sim, t, start)}")
            out.append(Finding(kind="starvation", definition="bypassed-more-than-B",
                               threads=[names[t]] + by, locks=[lock], detail=detail,
                               body=[f'"{names[t]}": ' + detail], tick=at,
                               schedule=schedule_until(sim, at + 1),
                               extra={"bypassed": most, "since": start, "B": b}))
    return out


def periodic(sim: SimResult, perm: int) -> list:
    """Starvation and livelock on a periodic run (the policy's schedule repeats forever).

    ``perm``: threads blocked forever (reported elsewhere, skipped here)."""
    if sim.end != "periodic" or not len(sim.timeline_status):
        return []
    prog = sim.program
    names = sim.thread_names
    lo, hi = sim.cycle_start, sim.cycle_start + sim.cycle_period
    window = sim.timeline_status[lo:hi]
    live = [t for t in range(prog.n) if pc_of(sim.final_state, t) >= 0]
    ran = {t for t in live if (window[:, t] == K.TS_RUNNING).any()}
    prefix = [names[t] for t in sim.steps[:_steps_before(sim, lo)]]
    cycle = [names[t] for t in sim.steps[_steps_before(sim, lo):_steps_before(sim, hi)]]
    schedule = format_schedule(prefix, cycle)
    out = []
    for t in live:
        if t in ran or (perm >> t) & 1:
            continue
        states = {K.THREAD_STATUS_NAMES[s] for s in np.unique(window[:, t])}
        how = "runnable throughout" if states == {"ready"} else "waiting (" + "/".join(
            sorted(states)) + ") throughout"
        detail = (f"from tick {lo} the {sim.policy} schedule repeats every {sim.cycle_period} "
                  f"ticks; {names[t]} is {how} and never runs, at {_op_at(sim, t, lo)}")
        out.append(Finding(kind="starvation", definition="policy-cycle", threads=[names[t]],
                           locks=[], detail=detail, body=[f'"{names[t]}": ' + detail],
                           tick=lo, schedule=schedule,
                           extra={"cycle_start": lo, "period": sim.cycle_period}))
    should_end = [t for t in live if not prog.repeat[t]]
    if live and ran == set(live) and should_end:
        acting = ", ".join(names[t] for t in live)
        detail = (f"from tick {lo} the {sim.policy} schedule repeats every {sim.cycle_period} "
                  f"ticks: {acting} all keep running but "
                  f"{', '.join(names[t] for t in should_end)} (repeat = false) never finish")
        locks = _locks_touched(prog, sim, lo, hi, live)
        out.append(Finding(kind="livelock", definition="policy-cycle-no-progress",
                           threads=[names[t] for t in live], locks=locks, detail=detail,
                           body=["Found a livelock:", "=" * 17] + [
                               f'"{names[t]}": loops through '
                               + ops_in_order(prog, t, np.unique(sim.timeline_pc[lo:hi, t]))
                               for t in live],
                           tick=lo, schedule=schedule,
                           extra={"cycle_start": lo, "period": sim.cycle_period}))
    return out


def _locks_touched(prog, sim, lo, hi, threads) -> list:
    locks = []
    for t in threads:
        for p in np.unique(sim.timeline_pc[lo:hi, t]):
            if p < 0:
                continue
            for kind, name in prog.ops[t][int(p)].resources():
                if kind in (O.MUTEX, O.RWLOCK) and name not in locks:
                    locks.append(name)
    return locks


def priority_inversions(sim: SimResult) -> list:
    """A high-priority thread blocked on a lock held by a lower one while a middle one runs;
    the finding gives the length of the inversion (the blocked episode) in ticks."""
    prog = sim.program
    names = sim.thread_names
    prio = prog.prio
    status, holder, run = sim.timeline_status, sim.timeline_holder, sim.timeline_run
    if not len(status):
        return []
    out = []
    for h in range(prog.n):
        hold = holder[:, h].astype(np.int64)
        inv = (status[:, h] == K.TS_BLOCKED) & (hold >= 0)
        inv &= prio[np.where(hold >= 0, hold, 0)] < prio[h]
        if not inv.any():
            continue
        middle_tick = np.zeros(len(inv), bool)
        middle_who = {}
        for tick in np.nonzero(inv)[0]:
            low = int(hold[tick])
            running = [int(u) for u in run[tick] if u >= 0]
            if low in running:
                continue
            mids = [u for u in running if prio[low] < prio[u] < prio[h]]
            if mids:
                middle_tick[tick] = True
                for u in mids:
                    middle_who[u] = middle_who.get(u, 0) + 1
        if not middle_tick.any():
            continue
        # episodes: maximal runs of `inv`
        edges = np.diff(np.concatenate(([0], inv.astype(np.int8), [0])))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        best = None
        for s, e in zip(starts, ends):
            if middle_tick[s:e].any() and (best is None or e - s > best[1] - best[0]):
                best = (int(s), int(e))
        s, e = best
        low = int(hold[s])
        lock_op = prog.ops[h][int(sim.timeline_pc[s, h])]
        lock = lock_op.args[1] if lock_op.code == O.WAIT else lock_op.args[0]
        mids = sorted(middle_who, key=lambda u: -middle_who[u])
        unbounded = " (still blocked at the end of the run)" if e >= sim.ticks else ""
        detail = (f"{names[h]} (priority {prio[h]}) was blocked on {lock} held by {names[low]} "
                  f"(priority {prio[low]}) for {e - s} ticks (ticks {s}..{e - 1}){unbounded}, "
                  f"while {', '.join(f'{names[u]} (priority {prio[u]})' for u in mids)} ran "
                  f"for {int(middle_tick[s:e].sum())} of them")
        out.append(Finding(kind="priority-inversion",
                           definition="blocked-by-lower-while-middle-runs",
                           threads=[names[h], names[low]] + [names[u] for u in mids],
                           locks=[lock], detail=detail, body=[detail], tick=s,
                           schedule=schedule_until(sim, e),
                           extra={"length": e - s, "middle_ticks": int(middle_tick[s:e].sum()),
                                  "since": s}))
    return out


def max_blocking_by_lower(sim: SimResult) -> dict:
    """Per thread, the longest stretch it was blocked on a lock held by a lower-priority thread
    (bounded under priority inheritance; reported in stats)."""
    prog = sim.program
    out = {}
    for h in range(prog.n):
        if not len(sim.timeline_status):
            break
        hold = sim.timeline_holder[:, h].astype(np.int64)
        inv = (sim.timeline_status[:, h] == K.TS_BLOCKED) & (hold >= 0)
        inv &= prog.prio[np.where(hold >= 0, hold, 0)] < prog.prio[h]
        if inv.any():
            edges = np.diff(np.concatenate(([0], inv.astype(np.int8), [0])))
            lengths = np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]
            out[prog.thread_names[h]] = int(lengths.max())
    return out
