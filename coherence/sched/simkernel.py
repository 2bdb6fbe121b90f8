"""The jitted tick loop of the simulator (private; the public wrapper is ``simulator.simulate``).

Per tick: work out who is runnable, let the policy fill the CPUs, step each running thread once
(CPU order), record the timeline, update the statistics.  Idle ticks (nobody runnable, somebody
asleep or not yet arrived) are skipped in one jump.  For deterministic policies the whole state
(program + scheduler) is compared against a checkpoint with Brent's algorithm: when it repeats,
the rest of the run is periodic and the loop stops (``END_PERIODIC``).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, jit_alloc
from . import ops as O
from .semantics import L_N, L_NM, L_NRW, L_OFF_M, L_OFF_RW, TW, enabled, holders, step, wanted

# thread status in the timeline
ST_NOT_ARRIVED, ST_READY, ST_RUNNING, ST_BLOCKED, ST_SLEEPING, ST_DONE = range(6)
STATUS_NAMES = ("not-arrived", "ready", "running", "blocked", "sleeping", "done")

# policies
P_FIFO, P_RR, P_PRIO, P_AGING, P_LOTTERY, P_PI, P_RANDOM = range(7)

# params[]
(PA_POLICY, PA_QUANTUM, PA_CPUS, PA_AGING, PA_SEED, PA_MAXTICKS, PA_RECORD, PA_CYCLES) = range(8)

# end reasons
END_FINISHED, END_DEADLOCKED, END_MAXTICKS, END_PERIODIC = range(4)
END_NAMES = ("finished", "deadlocked", "max-ticks", "periodic")

# stats[t, k]
(S_READY, S_BLOCKED, S_SLEEP, S_RUN, S_DISPATCH, S_BYPASS_TOTAL, S_BYPASS_MAX, S_BYPASS_START,
 S_BYPASS_TICK, S_READYRUN_MAX, S_READYRUN_START, S_FINISH, S_READYRUN_CUR,
 S_BLOCKRUN_MAX, S_BLOCKRUN_START) = range(15)
NSTATS = 15

MISUSE_COLS = 5  # tick, thread, pc, code, arg


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
        if st[layout[L_OFF_RW] + 2 * r] == t + 1 or (st[t * TW + 3] >> r) & 1:
            mask |= np.int64(1) << (nm + r)
    return mask


@jit
def _record_order(st, t, code, tstart, layout, acq_pc, lo_pc, lo_src, lo_guard):
    """Lock-order edges held -> wanted for thread t at a blocking lock op (lockdep style: at the
    attempt, so an edge exists even when the attempt deadlocks)."""
    row = tstart[t] + st[t * TW]
    op = code[row, 0]
    if op == O.ACQUIRE:
        y = code[row, 1]
    elif op == O.READ_LOCK or op == O.WRITE_LOCK:
        y = layout[L_NM] + code[row, 1]
    elif op == O.WAIT and st[t * TW + 2] == -1:
        y = code[row, 2]
    else:
        return
    held = _held_mask(st, t, layout)
    if held == 0:
        return
    nl = lo_pc.shape[0]
    for x in range(nl):
        if x == y or not (held >> x) & 1:
            continue
        guard = held & ~(np.int64(1) << x)
        if lo_pc[x, y, t] < 0:
            lo_pc[x, y, t] = st[t * TW]
            lo_src[x, y, t] = acq_pc[x, t]
            lo_guard[x, y, t] = guard
        else:
            lo_guard[x, y, t] &= guard


@jit_alloc
def run(code, tstart, tlen, repeat, prio, arrive, layout, init, params,
        tl_run, tl_status, tl_pc, tl_holder, steps, stats, misuse_log,
        acq_pc, lo_pc, lo_src, lo_guard, final):
    """Simulate; returns (ticks, end reason, cycle start tick, cycle period, steps, misuses)."""
    n = layout[L_N]
    policy = params[PA_POLICY]
    quantum = params[PA_QUANTUM]
    cpus = params[PA_CPUS]
    aging = params[PA_AGING]
    max_ticks = params[PA_MAXTICKS]
    record = params[PA_RECORD] != 0
    cycles = params[PA_CYCLES] != 0 and policy != P_LOTTERY and policy != P_RANDOM
    prio_family = policy == P_PRIO or policy == P_AGING or policy == P_PI
    nl = layout[L_NM] + layout[L_NRW]
    rng = np.zeros(1, np.uint64)
    rng[0] = np.uint64(params[PA_SEED]) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x2545F4914F6CDD1D)
    if rng[0] == 0:
        rng[0] = np.uint64(1)

    st = init.copy()
    # scheduler state, in one array so a checkpoint compare covers it:
    # [order n | cpu_of n | slice n | waited n | sleep_left n | was_runnable n]
    sch = np.zeros(6 * n, np.int32)
    order = sch[0:n]
    cpu_of = sch[n:2 * n]
    slice_ = sch[2 * n:3 * n]
    waited = sch[3 * n:4 * n]
    sleep_left = sch[4 * n:5 * n]
    was_run = sch[5 * n:6 * n]
    for t in range(n):
        order[t] = t
        cpu_of[t] = -1
    pos = np.arange(n).astype(np.int32)
    on_cpu = np.full(cpus, -1, np.int32)
    status = np.zeros(n, np.int32)
    eff = np.zeros(n, np.int64)
    chosen = np.zeros(n, np.bool_)
    wait_key = np.full(n, -1, np.int32)
    bypass_cur = np.zeros(n, np.int64)
    ep_start = np.zeros(n, np.int64)
    blocked_ep = np.zeros(n, np.bool_)
    last_arrival = 0
    for t in range(n):
        stats[t, S_FINISH] = -1
        if arrive[t] > last_arrival:
            last_arrival = arrive[t]

    saved_st = st.copy()
    saved_sch = sch.copy()
    saved_tick = -1
    power = 1
    lam = 0
    cyc_start = -1
    cyc_period = 0
    nsteps = 0
    nmis = 0
    now = 0
    end = END_MAXTICKS

    while now < max_ticks:
        # 1. statuses at the start of the tick
        nrun = 0
        nlive = 0
        nwake = 0
        for t in range(n):
            if st[t * TW] < 0:
                s = ST_DONE
            elif now < arrive[t]:
                s = ST_NOT_ARRIVED
                nwake += 1
            elif sleep_left[t] > 0:
                s = ST_SLEEPING
                nwake += 1
            elif enabled(st, t, code, tstart, layout):
                s = ST_READY
                nrun += 1
            else:
                s = ST_BLOCKED
            if s != ST_DONE:
                nlive += 1
            status[t] = s
        for i in range(n):  # newly runnable threads join the back of the queue (id order)
            t = i
            r = 1 if status[t] == ST_READY else 0
            if r == 1 and was_run[t] == 0:
                _to_back(order, pos, t)
            was_run[t] = r
        for t in range(n):  # waiting episodes, lock-order edges at blocked attempts
            if status[t] == ST_BLOCKED:
                if not blocked_ep[t]:
                    blocked_ep[t] = True
                    wait_key[t] = wanted(st, t, code, tstart, layout)
                    bypass_cur[t] = 0
                    ep_start[t] = now
                    if nl > 0:
                        _record_order(st, t, code, tstart, layout, acq_pc, lo_pc, lo_src, lo_guard)
        if nlive == 0:
            end = END_FINISHED
            break
        if nrun == 0:
            if nwake == 0:
                end = END_DEADLOCKED
                break
            # idle: jump to the next wake-up or arrival
            delta = max_ticks - now
            for t in range(n):
                if status[t] == ST_NOT_ARRIVED and arrive[t] - now < delta:
                    delta = arrive[t] - now
                elif status[t] == ST_SLEEPING and sleep_left[t] < delta:
                    delta = sleep_left[t]
            for k in range(delta):
                if record:
                    for c in range(cpus):
                        tl_run[now + k, c] = -1
                    for t in range(n):
                        tl_status[now + k, t] = status[t]
                        tl_pc[now + k, t] = st[t * TW]
                        tl_holder[now + k, t] = -1
            for t in range(n):
                if status[t] == ST_SLEEPING:
                    sleep_left[t] -= delta
                    stats[t, S_SLEEP] += delta
                elif status[t] == ST_BLOCKED:
                    stats[t, S_BLOCKED] += delta
                    if now + delta - ep_start[t] > stats[t, S_BLOCKRUN_MAX]:
                        stats[t, S_BLOCKRUN_MAX] = now + delta - ep_start[t]
                        stats[t, S_BLOCKRUN_START] = ep_start[t]
            now += delta
            continue

        # 2. CPUs of threads that cannot run any more are freed
        for c in range(cpus):
            t = on_cpu[c]
            if t >= 0 and status[t] != ST_READY:
                on_cpu[c] = -1
                cpu_of[t] = -1
                slice_[t] = 0
        # 3. end of slice
        for c in range(cpus):
            t = on_cpu[c]
            if t < 0:
                continue
            if policy == P_RANDOM or (policy != P_FIFO and slice_[t] >= quantum):
                on_cpu[c] = -1
                cpu_of[t] = -1
                slice_[t] = 0
                if policy != P_RANDOM:
                    _to_back(order, pos, t)
        # 4. effective priorities
        if prio_family:
            for t in range(n):
                eff[t] = prio[t]
                if policy == P_AGING:
                    eff[t] += waited[t] // aging
            if policy == P_PI:  # inheritance, transitively
                changed = True
                rounds = 0
                while changed and rounds <= n:
                    changed = False
                    rounds += 1
                    for w in range(n):
                        if status[w] != ST_BLOCKED:
                            continue
                        hm = holders(st, w, code, tstart, layout)
                        for h in range(n):
                            if h != w and (hm >> h) & 1 and eff[h] < eff[w]:
                                eff[h] = eff[w]
                                changed = True
        # 5. fill the CPUs
        for t in range(n):
            chosen[t] = False
        if policy == P_LOTTERY or policy == P_RANDOM:
            for c in range(cpus):
                if on_cpu[c] >= 0:
                    chosen[on_cpu[c]] = True
            for c in range(cpus):
                if on_cpu[c] >= 0:
                    continue
                total = np.int64(0)
                for t in range(n):
                    if status[t] == ST_READY and not chosen[t]:
                        total += prio[t] if policy == P_LOTTERY else 1
                if total <= 0:
                    break
                draw = _rng_below(rng, total)
                for t in range(n):
                    if status[t] == ST_READY and not chosen[t]:
                        draw -= prio[t] if policy == P_LOTTERY else 1
                        if draw < 0:
                            chosen[t] = True
                            on_cpu[c] = t
                            cpu_of[t] = c
                            stats[t, S_DISPATCH] += 1
                            break
        else:
            for k in range(cpus):
                best = -1
                for i in range(n):
                    t = order[i]
                    if status[t] != ST_READY or chosen[t]:
                        continue
                    if best < 0:
                        best = t
                        continue
                    if prio_family and eff[t] != eff[best]:
                        if eff[t] > eff[best]:
                            best = t
                        continue
                    if cpu_of[t] >= 0 and cpu_of[best] < 0:  # the running one keeps its slice
                        best = t
                if best < 0:
                    break
                chosen[best] = True
            for c in range(cpus):  # preemption
                t = on_cpu[c]
                if t >= 0 and not chosen[t]:
                    on_cpu[c] = -1
                    cpu_of[t] = -1
                    slice_[t] = 0
            for t in range(n):
                if chosen[t] and cpu_of[t] < 0:
                    for c in range(cpus):
                        if on_cpu[c] < 0:
                            on_cpu[c] = t
                            cpu_of[t] = c
                            stats[t, S_DISPATCH] += 1
                            break
        # 6. record the tick's start, then step in CPU order
        if record:
            for t in range(n):
                tl_pc[now, t] = st[t * TW]
        for c in range(cpus):
            t = on_cpu[c]
            if t < 0:
                if record:
                    tl_run[now, c] = -1
                continue
            if not enabled(st, t, code, tstart, layout):  # lost a race within this tick
                status[t] = ST_BLOCKED
                if record:
                    tl_run[now, c] = -1
                continue
            row = tstart[t] + st[t * TW]
            op = code[row, 0]
            if nl > 0 and (op == O.ACQUIRE or op == O.READ_LOCK or op == O.WRITE_LOCK or
                           (op == O.WAIT and st[t * TW + 2] == -1)):
                _record_order(st, t, code, tstart, layout, acq_pc, lo_pc, lo_src, lo_guard)
            pc_before = st[t * TW]
            misuse, arg, got = step(st, t, code, tstart, tlen, repeat, layout)
            status[t] = ST_RUNNING
            if record:
                tl_run[now, c] = t
                if nsteps < steps.shape[0]:
                    steps[nsteps] = t
            nsteps += 1
            if misuse != 0 and nmis < misuse_log.shape[0]:
                misuse_log[nmis, 0] = now
                misuse_log[nmis, 1] = t
                misuse_log[nmis, 2] = pc_before
                misuse_log[nmis, 3] = misuse
                misuse_log[nmis, 4] = arg
                nmis += 1
            if got >= 0:
                if got < nl:
                    acq_pc[got, t] = pc_before
                for v in range(n):  # waiters for the same resource are bypassed
                    if v != t and wait_key[v] == got:
                        bypass_cur[v] += 1
                        stats[v, S_BYPASS_TOTAL] += 1
                        if bypass_cur[v] > stats[v, S_BYPASS_MAX]:
                            stats[v, S_BYPASS_MAX] = bypass_cur[v]
                            stats[v, S_BYPASS_START] = ep_start[v]
                            stats[v, S_BYPASS_TICK] = now
            if st[t * TW] != pc_before or got >= 0:
                wait_key[t] = -1
                blocked_ep[t] = False
                bypass_cur[t] = 0
            slice_[t] += 1
            if op == O.YIELD or op == O.SLEEP or st[t * TW] < 0:
                on_cpu[c] = -1
                cpu_of[t] = -1
                slice_[t] = 0
                if op == O.YIELD:
                    _to_back(order, pos, t)
                elif op == O.SLEEP:
                    sleep_left[t] = code[row, 1]
                    was_run[t] = 0
                if st[t * TW] < 0:
                    stats[t, S_FINISH] = now + 1
        # 7. timeline + statistics
        for t in range(n):
            s = status[t]
            if record:
                tl_status[now, t] = s
                tl_holder[now, t] = -1
            if s == ST_RUNNING:
                stats[t, S_RUN] += 1
                waited[t] = 0
                stats[t, S_READYRUN_CUR] = 0
            elif s == ST_READY:
                stats[t, S_READY] += 1
                if policy == P_AGING:
                    waited[t] += 1
                cur = stats[t, S_READYRUN_CUR] + 1
                stats[t, S_READYRUN_CUR] = cur
                if cur > stats[t, S_READYRUN_MAX]:
                    stats[t, S_READYRUN_MAX] = cur
                    stats[t, S_READYRUN_START] = now + 1 - cur
            else:
                stats[t, S_READYRUN_CUR] = 0
                if s == ST_BLOCKED:
                    stats[t, S_BLOCKED] += 1
                    if now + 1 - ep_start[t] > stats[t, S_BLOCKRUN_MAX]:
                        stats[t, S_BLOCKRUN_MAX] = now + 1 - ep_start[t]
                        stats[t, S_BLOCKRUN_START] = ep_start[t]
                    if record:
                        hm = holders(st, t, code, tstart, layout)
                        for h in range(n):
                            if (hm >> h) & 1:
                                tl_holder[now, t] = h
                                break
                elif s == ST_SLEEPING:
                    stats[t, S_SLEEP] += 1
                    sleep_left[t] -= 1
        now += 1
        # 8. periodicity (Brent): the state at the start of tick `now` against the checkpoint
        if cycles and now > last_arrival:
            if saved_tick >= 0:
                same = True
                for i in range(st.shape[0]):
                    if st[i] != saved_st[i]:
                        same = False
                        break
                if same:
                    for i in range(sch.shape[0]):
                        if sch[i] != saved_sch[i]:
                            same = False
                            break
                if same:
                    cyc_start = saved_tick
                    cyc_period = now - saved_tick
                    end = END_PERIODIC
                    break
            lam += 1
            if saved_tick < 0 or lam == power:
                saved_st[:] = st
                saved_sch[:] = sch
                saved_tick = now
                power *= 2
                lam = 0
    final[:] = st
    return now, end, cyc_start, cyc_period, nsteps, nmis
