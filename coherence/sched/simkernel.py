"""The jitted tick loop of the simulator (private; the public wrapper is ``simulator.simulate``).

Per tick: work out who is runnable, let the policy fill the CPUs, step each running thread once
(CPU order), record the timeline, update the statistics.  Idle ticks (nobody runnable, somebody
asleep or not yet arrived) are skipped in one jump.  For deterministic policies the whole state
(program + scheduler) is compared against a checkpoint with Brent's algorithm: when it repeats,
the rest of the run is periodic and the loop stops (``END_PERIODIC``).

The entry kernel :func:`run` takes flat arrays (the cheapest call from Python) and groups the
run's state into a few bundles (namedtuples of arrays, built once): the compiled scenario
(:data:`Prog`), the settings (:data:`Settings`), the scheduler (:data:`Sched`), the waiting
episodes (:data:`Waits`), what is recorded (:data:`Record`) and the lock-order graph
(:data:`LockOrder`).  Each phase of a tick is one helper over those bundles, inlined into the
loop so the machine code is that of one loop.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._jit import deferred_interrupt, jit, jit_alloc, jit_inline
from . import ops as O
from .layout import MAX_LOCKS, L_N, L_NM, L_NRW, L_OFF_M, L_OFF_RW, RW_WORDS, RW_WRITER, T_AUX, T_PC, \
    T_RMASK, TW
from .scenario import POLICIES
from .semantics import enabled, holders, step, wanted

#: A thread's status in the timeline (``timeline_status`` holds the index).
THREAD_STATUS_NAMES = ("not-arrived", "ready", "running", "blocked", "sleeping", "done")
TS_NOT_ARRIVED, TS_READY, TS_RUNNING, TS_BLOCKED, TS_SLEEPING, TS_DONE = range(
    len(THREAD_STATUS_NAMES))

#: A policy's code is the index of its name in :data:`coherence.sched.scenario.POLICIES`.
POLICY_CODES = {name: code for code, name in enumerate(POLICIES)}
POLICY_FIFO = POLICY_CODES["fifo"]
POLICY_ROUND_ROBIN = POLICY_CODES["round-robin"]
POLICY_PRIORITY = POLICY_CODES["priority"]
POLICY_AGING = POLICY_CODES["priority-aging"]
POLICY_LOTTERY = POLICY_CODES["lottery"]
POLICY_INHERITANCE = POLICY_CODES["priority-inheritance"]
POLICY_RANDOM = POLICY_CODES["random"]

# params[]
(PA_POLICY, PA_QUANTUM, PA_CPUS, PA_AGING, PA_SEED, PA_MAXTICKS, PA_RECORD, PA_CYCLES) = range(8)
NPARAMS = 8

# end reasons
END_FINISHED, END_DEADLOCKED, END_MAXTICKS, END_PERIODIC = range(4)
END_NAMES = ("finished", "deadlocked", "max-ticks", "periodic")

# stats[t, k]
(S_READY, S_BLOCKED, S_SLEEP, S_RUN, S_DISPATCH, S_BYPASS_TOTAL, S_BYPASS_MAX, S_BYPASS_START,
 S_BYPASS_TICK, S_READYRUN_MAX, S_READYRUN_START, S_FINISH, S_READYRUN_CUR,
 S_BLOCKRUN_MAX, S_BLOCKRUN_START) = range(15)
NSTATS = 15

MISUSE_COLS = 5  # tick, thread, pc, code, arg
MISUSE_ROWS = 256  # misuses logged per run (later ones are dropped)
MAX_ORDER_LOCKS = MAX_LOCKS  # the lock-order graph keeps lock sets as int64 bit masks

# Record.counts[]
C_STEPS, C_MISUSES = range(2)
# Checkpoint.marks[] (Brent's algorithm)
K_TICK, K_POWER, K_LAM = range(3)

#: The compiled scenario, as the kernel reads it.
Prog = namedtuple("Prog", "code tstart tlen repeat prio arrive layout")
#: The run's settings (scalars); ``nl``: lock objects in the lock-order graph (0: none kept).
Settings = namedtuple("Settings", "policy quantum cpus aging max_ticks record cycles "
                                  "prio_family nl")
#: The scheduler: ``state`` is one array holding order, cpu_of, slice_used, waited,
#: sleep_left and was_run (views into it), so a checkpoint compare covers them all; ``pos``
#: (place in ``order``) and ``on_cpu`` are derived from it; the rest is recomputed each tick.
Sched = namedtuple("Sched", "state order cpu_of slice_used waited sleep_left was_run pos "
                            "on_cpu status eff chosen rng")
#: Per thread, its current waiting episode: the resource it wants, how often it was bypassed,
#: since when it waits, and whether an episode is open.
Waits = namedtuple("Waits", "key bypass start open")
#: What the run records: the timeline (``run[tick, cpu]``, ``status``/``pc``/``holder``
#: ``[tick, thread]``), the schedule, the statistics, the misuse log and its counters.
Record = namedtuple("Record", "run status pc holder steps stats misuses counts")
#: The lock-order graph (lockdep style): the pc where each lock was acquired, and per edge
#: x -> y and thread the pc of the attempt, the acquisition site of x and the guard locks.
LockOrder = namedtuple("LockOrder", "acq_pc pc src guard")
#: Brent's checkpoint: a saved program state and scheduler state, and ``marks``.
Checkpoint = namedtuple("Checkpoint", "st sch marks")
#: What :func:`run` returns.
SimArrays = namedtuple("SimArrays", "ticks end cycle_start cycle_period nsteps nmisuses "
                                    "timeline_run timeline_status timeline_pc timeline_holder "
                                    "steps stats misuses acq_pc lo_pc lo_src lo_guard final")
#: A run in progress (:func:`start`, :func:`resume`): every bundle, and ``clock`` (CL_*).
Run = namedtuple("Run", "prog cfg st sch waits rec lo ck clock")
# Run.clock[]: the next tick, whether the run has ended, why, and the periodic window.
# CL_NEED: the timeline rows the next iteration needs (0: enough).
CL_NOW, CL_DONE, CL_END, CL_CSTART, CL_PERIOD, CL_LASTARR, CL_NEED = range(7)
#: Ticks per call of the tick loop: it returns to Python this often, so that Ctrl-C (which
#: Python sees only between calls) stops a long run within a fraction of a second.
TICKS_PER_CALL = 200_000


@jit
def _rng_next(rng):
    """xorshift64*: a reproducible generator whose state lives in rng[0] (uint64)."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return (x * np.uint64(2685821657736338717)) >> np.uint64(11)  # 53 bits


@jit
def _rng_below(rng, bound):
    return np.int64(_rng_next(rng) % np.uint64(bound))


@jit
def _to_back(order, pos, t):
    n = order.shape[0]
    p = pos[t]
    for i in range(p, n - 1):
        order[i] = order[i + 1]
        pos[order[i]] = i
    order[n - 1] = t
    pos[t] = n - 1


@jit
def _held_mask(st, t, layout):
    nm = layout[L_NM]
    mask = np.int64(0)
    for m in range(nm):
        if st[layout[L_OFF_M] + m] == t + 1:
            mask |= np.int64(1) << m
    for r in range(layout[L_NRW]):
        if st[layout[L_OFF_RW] + RW_WORDS * r + RW_WRITER] == t + 1 or \
                (st[t * TW + T_RMASK] >> r) & 1:
            mask |= np.int64(1) << (nm + r)
    return mask


@jit
def _record_order(prog, st, t, lo):
    """Lock-order edges held -> wanted for thread t at a blocking lock op (lockdep style: at the
    attempt, so an edge exists even when the attempt deadlocks)."""
    row = prog.tstart[t] + st[t * TW + T_PC]
    op = prog.code[row, 0]
    if op == O.ACQUIRE:
        y = prog.code[row, 1]
    elif op == O.READ_LOCK or op == O.WRITE_LOCK:
        y = prog.layout[L_NM] + prog.code[row, 1]
    elif op == O.WAIT and st[t * TW + T_AUX] == -1:
        y = prog.code[row, 2]
    else:
        return
    held = _held_mask(st, t, prog.layout)
    if held == 0:
        return
    nl = lo.pc.shape[0]
    for x in range(nl):
        if x == y or not (held >> x) & 1:
            continue
        guard = held & ~(np.int64(1) << x)
        if lo.pc[x, y, t] < 0:
            lo.pc[x, y, t] = st[t * TW + T_PC]
            lo.src[x, y, t] = lo.acq_pc[x, t]
            lo.guard[x, y, t] = guard
        else:
            lo.guard[x, y, t] &= guard


@jit_inline
def _off_cpu(sch, c, t):
    sch.on_cpu[c] = -1
    sch.cpu_of[t] = -1
    sch.slice_used[t] = 0


# ----------------------------------------------------------------------- the phases of a tick

@jit_inline
def _statuses(prog, st, sch, now):
    """Every thread's status at the start of the tick; returns (runnable, live, waking) counts
    (waking: asleep or not yet arrived)."""
    nrun = 0
    nlive = 0
    nwake = 0
    for t in range(prog.layout[L_N]):
        if st[t * TW + T_PC] < 0:
            s = TS_DONE
        elif now < prog.arrive[t]:
            s = TS_NOT_ARRIVED
            nwake += 1
        elif sch.sleep_left[t] > 0:
            s = TS_SLEEPING
            nwake += 1
        elif enabled(st, t, prog.code, prog.tstart, prog.layout):
            s = TS_READY
            nrun += 1
        else:
            s = TS_BLOCKED
        if s != TS_DONE:
            nlive += 1
        sch.status[t] = s
    return nrun, nlive, nwake


@jit_inline
def _join_queue(n, sch):
    """Newly runnable threads join the back of the queue (in id order)."""
    for t in range(n):
        r = 1 if sch.status[t] == TS_READY else 0
        if r == 1 and sch.was_run[t] == 0:
            _to_back(sch.order, sch.pos, t)
        sch.was_run[t] = r


@jit_inline
def _open_waits(prog, cfg, st, sch, waits, lo, now):
    """A thread that has just blocked opens a waiting episode; its attempt is a lock-order
    edge from every lock it holds."""
    for t in range(prog.layout[L_N]):
        if sch.status[t] == TS_BLOCKED and not waits.open[t]:
            waits.open[t] = True
            waits.key[t] = wanted(st, t, prog.code, prog.tstart, prog.layout)
            waits.bypass[t] = 0
            waits.start[t] = now
            if cfg.nl > 0:
                _record_order(prog, st, t, lo)


@jit_inline
def _idle_ticks(prog, cfg, sch, now):
    """Nobody can run but somebody sleeps or has not arrived: the ticks until the first of
    them wakes (or the bound)."""
    delta = cfg.max_ticks - now
    for t in range(prog.layout[L_N]):
        if sch.status[t] == TS_NOT_ARRIVED and prog.arrive[t] - now < delta:
            delta = prog.arrive[t] - now
        elif sch.status[t] == TS_SLEEPING and sch.sleep_left[t] < delta:
            delta = sch.sleep_left[t]
    return delta


@jit_inline
def _idle(prog, cfg, st, sch, waits, rec, now, delta):
    """The ``delta`` idle ticks from ``now`` pass in one jump (recorded and counted as they
    would be one by one)."""
    n = prog.layout[L_N]
    if cfg.record:
        for k in range(delta):
            for c in range(cfg.cpus):
                rec.run[now + k, c] = -1
            for t in range(n):
                rec.status[now + k, t] = sch.status[t]
                rec.pc[now + k, t] = st[t * TW + T_PC]
                rec.holder[now + k, t] = -1
    stats = rec.stats
    for t in range(n):
        if sch.status[t] == TS_SLEEPING:
            sch.sleep_left[t] -= delta
            stats[t, S_SLEEP] += delta
        elif sch.status[t] == TS_BLOCKED:
            stats[t, S_BLOCKED] += delta
            if now + delta - waits.start[t] > stats[t, S_BLOCKRUN_MAX]:
                stats[t, S_BLOCKRUN_MAX] = now + delta - waits.start[t]
                stats[t, S_BLOCKRUN_START] = waits.start[t]
    return delta


@jit_inline
def _release_cpus(cfg, sch):
    """Free the CPUs of the threads that cannot run any more, then of those whose slice is
    over (a round-robin thread goes to the back of the queue)."""
    for c in range(cfg.cpus):
        t = sch.on_cpu[c]
        if t >= 0 and sch.status[t] != TS_READY:
            _off_cpu(sch, c, t)
    for c in range(cfg.cpus):
        t = sch.on_cpu[c]
        if t < 0:
            continue
        if cfg.policy == POLICY_RANDOM or (cfg.policy != POLICY_FIFO and
                                           sch.slice_used[t] >= cfg.quantum):
            _off_cpu(sch, c, t)
            if cfg.policy != POLICY_RANDOM:
                _to_back(sch.order, sch.pos, t)


@jit_inline
def _effective_priorities(prog, cfg, st, sch):
    """The priorities the priority policies compare: plus aging, or inherited (transitively)
    from the threads blocked on what a thread holds."""
    n = prog.layout[L_N]
    for t in range(n):
        sch.eff[t] = prog.prio[t]
        if cfg.policy == POLICY_AGING:
            sch.eff[t] += sch.waited[t] // cfg.aging
    if cfg.policy == POLICY_INHERITANCE:
        changed = True
        rounds = 0
        while changed and rounds <= n:
            changed = False
            rounds += 1
            for w in range(n):
                if sch.status[w] != TS_BLOCKED:
                    continue
                hm = holders(st, w, prog.code, prog.tstart, prog.layout)
                for h in range(n):
                    if h != w and (hm >> h) & 1 and sch.eff[h] < sch.eff[w]:
                        sch.eff[h] = sch.eff[w]
                        changed = True


@jit_inline
def _draw_cpus(prog, cfg, sch, stats):
    """Lottery (tickets = priority) and random: each free CPU draws among the ready threads
    not yet on a CPU."""
    n = prog.layout[L_N]
    lottery = cfg.policy == POLICY_LOTTERY
    for c in range(cfg.cpus):
        if sch.on_cpu[c] >= 0:
            sch.chosen[sch.on_cpu[c]] = True
    for c in range(cfg.cpus):
        if sch.on_cpu[c] >= 0:
            continue
        total = np.int64(0)
        for t in range(n):
            if sch.status[t] == TS_READY and not sch.chosen[t]:
                total += prog.prio[t] if lottery else 1
        if total <= 0:
            break
        draw = _rng_below(sch.rng, total)
        for t in range(n):
            if sch.status[t] == TS_READY and not sch.chosen[t]:
                draw -= prog.prio[t] if lottery else 1
                if draw < 0:
                    sch.chosen[t] = True
                    sch.on_cpu[c] = t
                    sch.cpu_of[t] = c
                    stats[t, S_DISPATCH] += 1
                    break


@jit_inline
def _pick_cpus(prog, cfg, sch, stats):
    """The deterministic policies: the best ready threads in queue order (highest effective
    priority first; on a tie the one already running keeps its CPU) get the CPUs, preempting
    the others."""
    n = prog.layout[L_N]
    prio_family = cfg.prio_family
    for k in range(cfg.cpus):
        best = -1
        for i in range(n):
            t = sch.order[i]
            if sch.status[t] != TS_READY or sch.chosen[t]:
                continue
            if best < 0:
                best = t
                continue
            if prio_family and sch.eff[t] != sch.eff[best]:
                if sch.eff[t] > sch.eff[best]:
                    best = t
                continue
            if sch.cpu_of[t] >= 0 and sch.cpu_of[best] < 0:  # the running one keeps its slice
                best = t
        if best < 0:
            break
        sch.chosen[best] = True
    for c in range(cfg.cpus):  # preemption
        t = sch.on_cpu[c]
        if t >= 0 and not sch.chosen[t]:
            _off_cpu(sch, c, t)
    for t in range(n):
        if sch.chosen[t] and sch.cpu_of[t] < 0:
            for c in range(cfg.cpus):
                if sch.on_cpu[c] < 0:
                    sch.on_cpu[c] = t
                    sch.cpu_of[t] = c
                    stats[t, S_DISPATCH] += 1
                    break


@jit_inline
def _bypass_waiters(n, waits, stats, t, got, now):
    """Thread t acquired resource ``got``: every other thread waiting for it is bypassed."""
    for v in range(n):
        if v != t and waits.key[v] == got:
            waits.bypass[v] += 1
            stats[v, S_BYPASS_TOTAL] += 1
            if waits.bypass[v] > stats[v, S_BYPASS_MAX]:
                stats[v, S_BYPASS_MAX] = waits.bypass[v]
                stats[v, S_BYPASS_START] = waits.start[v]
                stats[v, S_BYPASS_TICK] = now


@jit_inline
def _log_misuse(rec, now, t, pc, misuse, arg):
    k = rec.counts[C_MISUSES]
    if k < rec.misuses.shape[0]:
        rec.misuses[k, 0] = now
        rec.misuses[k, 1] = t
        rec.misuses[k, 2] = pc
        rec.misuses[k, 3] = misuse
        rec.misuses[k, 4] = arg
        rec.counts[C_MISUSES] = k + 1


@jit_inline
def _step_on_cpu(prog, cfg, st, sch, waits, rec, lo, now, c):
    """The thread on CPU c (enabled) takes its step; a yield, a sleep or the end of its ops
    gives the CPU up."""
    t = sch.on_cpu[c]
    pc_before = st[t * TW + T_PC]
    row = prog.tstart[t] + pc_before
    op = prog.code[row, 0]
    if cfg.nl > 0 and (op == O.ACQUIRE or op == O.READ_LOCK or op == O.WRITE_LOCK or
                       (op == O.WAIT and st[t * TW + T_AUX] == -1)):
        _record_order(prog, st, t, lo)
    misuse, arg, got = step(st, t, prog.code, prog.tstart, prog.tlen, prog.repeat,
                            prog.layout)
    sch.status[t] = TS_RUNNING
    nsteps = rec.counts[C_STEPS]
    if cfg.record:
        rec.run[now, c] = t
        if nsteps < rec.steps.shape[0]:
            rec.steps[nsteps] = t
    rec.counts[C_STEPS] = nsteps + 1
    if misuse != 0:
        _log_misuse(rec, now, t, pc_before, misuse, arg)
    if got >= 0:
        if got < cfg.nl:
            lo.acq_pc[got, t] = pc_before
        _bypass_waiters(prog.layout[L_N], waits, rec.stats, t, got, now)
    pc = st[t * TW + T_PC]
    if pc != pc_before or got >= 0:  # the wait is over
        waits.key[t] = -1
        waits.open[t] = False
        waits.bypass[t] = 0
    sch.slice_used[t] += 1
    if op == O.YIELD or op == O.SLEEP or pc < 0:
        _off_cpu(sch, c, t)
        if op == O.YIELD:
            _to_back(sch.order, sch.pos, t)
        elif op == O.SLEEP:
            sch.sleep_left[t] = prog.code[row, 1]
            sch.was_run[t] = 0
        if pc < 0:
            rec.stats[t, S_FINISH] = now + 1


@jit_inline
def _run_cpus(prog, cfg, st, sch, waits, rec, lo, now):
    """Record the pcs at the tick's start, then step the thread of each CPU, in CPU order."""
    if cfg.record:
        for t in range(prog.layout[L_N]):
            rec.pc[now, t] = st[t * TW + T_PC]
    for c in range(cfg.cpus):
        t = sch.on_cpu[c]
        if t < 0:
            if cfg.record:
                rec.run[now, c] = -1
            continue
        if not enabled(st, t, prog.code, prog.tstart, prog.layout):  # lost a race this tick
            sch.status[t] = TS_BLOCKED
            if cfg.record:
                rec.run[now, c] = -1
            continue
        _step_on_cpu(prog, cfg, st, sch, waits, rec, lo, now, c)


@jit_inline
def _account(prog, cfg, st, sch, waits, rec, now):
    """The tick's end: each thread's status into the timeline (with a holder of what a blocked
    thread waits for) and into its statistics."""
    stats = rec.stats
    for t in range(prog.layout[L_N]):
        s = sch.status[t]
        if cfg.record:
            rec.status[now, t] = s
            rec.holder[now, t] = -1
        if s == TS_RUNNING:
            stats[t, S_RUN] += 1
            sch.waited[t] = 0
            stats[t, S_READYRUN_CUR] = 0
        elif s == TS_READY:
            stats[t, S_READY] += 1
            if cfg.policy == POLICY_AGING:
                sch.waited[t] += 1
            cur = stats[t, S_READYRUN_CUR] + 1
            stats[t, S_READYRUN_CUR] = cur
            if cur > stats[t, S_READYRUN_MAX]:
                stats[t, S_READYRUN_MAX] = cur
                stats[t, S_READYRUN_START] = now + 1 - cur
        else:
            stats[t, S_READYRUN_CUR] = 0
            if s == TS_BLOCKED:
                stats[t, S_BLOCKED] += 1
                if now + 1 - waits.start[t] > stats[t, S_BLOCKRUN_MAX]:
                    stats[t, S_BLOCKRUN_MAX] = now + 1 - waits.start[t]
                    stats[t, S_BLOCKRUN_START] = waits.start[t]
                if cfg.record:
                    hm = holders(st, t, prog.code, prog.tstart, prog.layout)
                    for h in range(prog.layout[L_N]):
                        if (hm >> h) & 1:
                            rec.holder[now, t] = h
                            break
            elif s == TS_SLEEPING:
                stats[t, S_SLEEP] += 1
                sch.sleep_left[t] -= 1


@jit_inline
def _same(a, b):
    for i in range(a.shape[0]):
        if a[i] != b[i]:
            return False
    return True


@jit_inline
def _copy(dst, src):  # a loop: slice assignment may allocate (overlap copy), NRT is off here
    for i in range(src.shape[0]):
        dst[i] = src[i]


@jit_inline
def _cycle_start(st, sch, ck, now):
    """Brent's algorithm on the state at the start of tick ``now``: the tick of the checkpoint
    when the state equals it (the run is periodic from there), else -1 (and the checkpoint
    moves at each power of two)."""
    marks = ck.marks
    if marks[K_TICK] >= 0 and _same(st, ck.st) and _same(sch.state, ck.sch):
        return marks[K_TICK]
    marks[K_LAM] += 1
    if marks[K_TICK] < 0 or marks[K_LAM] == marks[K_POWER]:
        _copy(ck.st, st)
        _copy(ck.sch, sch.state)
        marks[K_TICK] = now
        marks[K_POWER] *= 2
        marks[K_LAM] = 0
    return -1


# ----------------------------------------------------------------------------- the kernel

@jit
def _settings(params, layout):
    policy = params[PA_POLICY]
    nl = layout[L_NM] + layout[L_NRW]
    if nl > MAX_ORDER_LOCKS:
        nl = 0
    return Settings(
        policy=policy, quantum=params[PA_QUANTUM], cpus=params[PA_CPUS], aging=params[PA_AGING],
        max_ticks=params[PA_MAXTICKS], record=params[PA_RECORD] != 0,
        cycles=params[PA_CYCLES] != 0 and policy != POLICY_LOTTERY and policy != POLICY_RANDOM,
        prio_family=(policy == POLICY_PRIORITY or policy == POLICY_AGING or
                     policy == POLICY_INHERITANCE),
        nl=np.int64(nl))


@jit_alloc
def _new_sched(n, cpus, seed):
    state = np.zeros(6 * n, np.int32)
    rng = np.zeros(1, np.uint64)
    rng[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x2545F4914F6CDD1D)
    if rng[0] == 0:
        rng[0] = np.uint64(1)
    sch = Sched(state=state, order=state[0:n], cpu_of=state[n:2 * n],
                slice_used=state[2 * n:3 * n], waited=state[3 * n:4 * n],
                sleep_left=state[4 * n:5 * n], was_run=state[5 * n:6 * n],
                pos=np.arange(n).astype(np.int32), on_cpu=np.full(cpus, -1, np.int32),
                status=np.zeros(n, np.int32), eff=np.zeros(n, np.int64),
                chosen=np.zeros(n, np.bool_), rng=rng)
    for t in range(n):
        sch.order[t] = t
        sch.cpu_of[t] = -1
    return sch


#: Timeline rows allocated at the start; the timeline doubles when a run gets longer, so a
#: huge ``max_ticks`` costs nothing until the run is that long.
FIRST_ROWS = 1024


@jit_alloc
def _new_record(cfg, n):
    rows = min(cfg.max_ticks, FIRST_ROWS) if cfg.record else 0
    stats = np.zeros((n, NSTATS), np.int64)
    for t in range(n):
        stats[t, S_FINISH] = -1
    return Record(run=np.full((rows, cfg.cpus), -1, np.int8),
                  status=np.zeros((rows, n), np.int8), pc=np.zeros((rows, n), np.int32),
                  holder=np.full((rows, n), -1, np.int8),
                  steps=np.zeros(rows * cfg.cpus, np.int8), stats=stats,
                  misuses=np.zeros((MISUSE_ROWS, MISUSE_COLS), np.int64),
                  counts=np.zeros(2, np.int64))


@jit_alloc
def _new_lock_order(nl, n):
    return LockOrder(acq_pc=np.full((max(nl, 1), n), -1, np.int32),
                     pc=np.full((nl, nl, n), -1, np.int32),
                     src=np.full((nl, nl, n), -1, np.int32),
                     guard=np.full((nl, nl, n), -1, np.int64))


@jit_inline
def _end(clock, now, end, start, period):
    clock[CL_NOW] = now
    clock[CL_DONE] = 1
    clock[CL_END] = end
    clock[CL_CSTART] = start
    clock[CL_PERIOD] = period


@jit
def _ticks(prog, cfg, st, sch, waits, rec, lo, ck, clock, budget):
    """The tick loop from tick ``clock[CL_NOW]``, for at most ``budget`` iterations (a tick or
    an idle jump); sets the clock: CL_DONE and the end reason when the run is over, CL_NEED
    when the timeline needs more rows first (the caller grows it and calls again).  Each
    iteration starts from the state arrays alone (the steps before a CL_NEED return are
    idempotent), so a run split into calls is the same run."""
    n = prog.layout[L_N]
    last_arrival = clock[CL_LASTARR]
    now = clock[CL_NOW]
    done = 0
    while now < cfg.max_ticks:
        if done >= budget or (cfg.record and now >= rec.run.shape[0]):
            clock[CL_NOW] = now
            if cfg.record and now >= rec.run.shape[0]:
                clock[CL_NEED] = now + 1
            return 0
        done += 1
        nrun, nlive, nwake = _statuses(prog, st, sch, now)
        _join_queue(n, sch)
        _open_waits(prog, cfg, st, sch, waits, lo, now)
        if nlive == 0:
            _end(clock, now, END_FINISHED, -1, 0)
            return 0
        if nrun == 0:
            if nwake == 0:
                _end(clock, now, END_DEADLOCKED, -1, 0)
                return 0
            delta = _idle_ticks(prog, cfg, sch, now)
            if cfg.record and now + delta > rec.run.shape[0]:
                clock[CL_NOW] = now
                clock[CL_NEED] = now + delta
                return 0
            _idle(prog, cfg, st, sch, waits, rec, now, delta)
            now += delta
            continue
        _release_cpus(cfg, sch)
        if cfg.prio_family:
            _effective_priorities(prog, cfg, st, sch)
        for t in range(n):
            sch.chosen[t] = False
        if cfg.policy == POLICY_LOTTERY or cfg.policy == POLICY_RANDOM:
            _draw_cpus(prog, cfg, sch, rec.stats)
        else:
            _pick_cpus(prog, cfg, sch, rec.stats)
        _run_cpus(prog, cfg, st, sch, waits, rec, lo, now)
        _account(prog, cfg, st, sch, waits, rec, now)
        now += 1
        if cfg.cycles and now > last_arrival:
            start = _cycle_start(st, sch, ck, now)
            if start >= 0:
                _end(clock, now, END_PERIODIC, start, now - start)
                return 0
    _end(clock, now, END_MAXTICKS, -1, 0)
    return 0


@jit_alloc
def start(code, tstart, tlen, repeat, prio, arrive, layout, init, params):
    """A simulation of the compiled scenario (its arrays) under ``params`` (``PA_*``), at
    tick 0: the :data:`Run` that :func:`resume` continues."""
    n = layout[L_N]
    prog = Prog(code, tstart, tlen, repeat, prio, arrive, layout)
    cfg = _settings(params, layout)
    st = init.copy()
    sch = _new_sched(n, cfg.cpus, params[PA_SEED])
    waits = Waits(key=np.full(n, -1, np.int32), bypass=np.zeros(n, np.int64),
                  start=np.zeros(n, np.int64), open=np.zeros(n, np.bool_))
    rec = _new_record(cfg, n)
    lo = _new_lock_order(cfg.nl, n)
    ck = Checkpoint(st=st.copy(), sch=sch.state.copy(), marks=np.array([-1, 1, 0], np.int64))
    clock = np.zeros(7, np.int64)
    clock[CL_CSTART] = -1
    for t in range(n):
        if arrive[t] > clock[CL_LASTARR]:
            clock[CL_LASTARR] = arrive[t]
    return Run(prog, cfg, st, sch, waits, rec, lo, ck, clock)


def resume(r, budget=TICKS_PER_CALL):
    """Continue run ``r`` (a :data:`Run`) for at most ``budget`` iterations of the tick loop;
    returns the run (with a longer timeline when it needed one).  ``r.clock[CL_DONE]`` says
    whether it is over."""
    _ticks(r.prog, r.cfg, r.st, r.sch, r.waits, r.rec, r.lo, r.ck, r.clock, budget)
    need = int(r.clock[CL_NEED])
    if need:
        r.clock[CL_NEED] = 0
        r = r._replace(rec=_grown(r.rec, int(r.cfg.max_ticks), need))
    return r


def _grown(rec, max_ticks: int, need: int):
    """``rec`` with room for at least ``need`` timeline rows (doubling, at most max_ticks)."""
    old = rec.run.shape[0]
    rows = min(max(2 * old, need), max_ticks)

    def longer(a, fill, per_row=None):
        shape = (rows * per_row,) if per_row else (rows,) + a.shape[1:]
        out = np.full(shape, fill, a.dtype)
        out[:a.shape[0]] = a
        return out
    return rec._replace(run=longer(rec.run, -1), status=longer(rec.status, 0),
                        pc=longer(rec.pc, 0), holder=longer(rec.holder, -1),
                        steps=longer(rec.steps, 0, rec.run.shape[1]))


def run(code, tstart, tlen, repeat, prio, arrive, layout, init, params):
    """Simulate the compiled scenario (its arrays) under ``params`` (``PA_*``); returns the
    :data:`SimArrays` (the timeline has at least ``ticks`` rows, none without
    ``PA_RECORD``).  The kernel returns to Python every :data:`TICKS_PER_CALL` ticks, so a
    KeyboardInterrupt stops a long run promptly."""
    with deferred_interrupt():  # start() returns arrays: see deferred_interrupt
        r = start(code, tstart, tlen, repeat, prio, arrive, layout, init, params)
    while not r.clock[CL_DONE]:
        r = resume(r)
    rec, lo, c = r.rec, r.lo, r.clock
    return SimArrays(int(c[CL_NOW]), int(c[CL_END]), int(c[CL_CSTART]), int(c[CL_PERIOD]),
                     rec.counts[C_STEPS], rec.counts[C_MISUSES], rec.run, rec.status, rec.pc,
                     rec.holder, rec.steps, rec.stats, rec.misuses, lo.acq_pc, lo.pc, lo.src,
                     lo.guard, r.st)
