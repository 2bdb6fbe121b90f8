"""One step of one thread: the op semantics shared by the simulator and the explorer (jitted).

A *step* is what a thread does in one tick on a CPU.  ``enabled`` says whether the thread can
step in a state (a thread that cannot is *blocked*: its op waits for a lock, a semaphore or a
signal); ``step`` applies the step in place and reports a misuse (release of a lock not held,
...) instead of failing.  Both are pure functions of the int32 state vector laid out in
:mod:`coherence.sched.layout`, so a schedule (the sequence of threads that stepped) replays
exactly in either engine.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, jit_alloc, jit_inline
from . import ops as O
from .layout import (L_N, L_NM, L_NRW, L_OFF_C, L_OFF_F, L_OFF_M, L_OFF_RW, L_OFF_S, RW_READERS,
                     RW_WORDS, RW_WRITER, SEM_MAX, T_AUX, T_PC, T_REM, T_RMASK, TW)

# Misuse codes returned by step() (reported as `lock-misuse` findings, never a crash).
MISUSE_NONE = 0
MISUSE_RELEASE_NOT_HELD = 1
MISUSE_WAIT_NOT_HELD = 2
MISUSE_READ_UNLOCK_NOT_HELD = 3
MISUSE_WRITE_UNLOCK_NOT_HELD = 4
MISUSE_RECURSIVE_READ = 5
MISUSE_FINISHED_HOLDING = 6
MISUSE_SEM_OVERFLOW = 7

_ACQUIRE, _RELEASE, _TRY, _COMPUTE = O.ACQUIRE, O.RELEASE, O.TRY_ACQUIRE, O.COMPUTE
_WAIT, _SIGNAL, _BROADCAST = O.WAIT, O.SIGNAL, O.BROADCAST
_SEM_WAIT, _SEM_POST = O.SEM_WAIT, O.SEM_POST
_RLOCK, _RUNLOCK, _WLOCK, _WUNLOCK = O.READ_LOCK, O.READ_UNLOCK, O.WRITE_LOCK, O.WRITE_UNLOCK
_GOTO, _IF_FLAG, _SET, _CLEAR = O.GOTO, O.IF_FLAG, O.SET, O.CLEAR


@jit_inline
def _rw_base(layout, r):
    """Index of rwlock r's first word."""
    return layout[L_OFF_RW] + RW_WORDS * r


@jit
def current_op(st, t, code, tstart):
    """Opcode row index of thread t's current op, or -1 when it has finished."""
    pc = st[t * TW + T_PC]
    if pc < 0:
        return -1
    return tstart[t] + pc


@jit
def enabled(st, t, code, tstart, layout):
    """True when thread t can take a step in state st."""
    row = current_op(st, t, code, tstart)
    if row < 0:
        return False
    op = code[row, 0]
    a = code[row, 1]
    if op == _ACQUIRE:
        return st[layout[L_OFF_M] + a] == 0
    if op == _WAIT:
        aux = st[t * TW + T_AUX]
        if aux == 0:
            return True
        if aux > 0:
            return False
        return st[layout[L_OFF_M] + code[row, 2]] == 0
    if op == _SEM_WAIT:
        return st[layout[L_OFF_S] + a] > 0
    if op == _RLOCK:  # reader preference: only a writer holding the lock blocks a reader
        return st[_rw_base(layout, a) + RW_WRITER] == 0
    if op == _WLOCK:
        base = _rw_base(layout, a)
        return st[base + RW_WRITER] == 0 and st[base + RW_READERS] == 0
    return True


@jit
def wanted(st, t, code, tstart, layout):
    """Resource key thread t's current op acquires (mutex m -> m, rwlock r -> NM + r,
    semaphore s -> NM + NRW + s), or -1 when the op acquires nothing."""
    row = current_op(st, t, code, tstart)
    if row < 0:
        return -1
    op = code[row, 0]
    if op == _ACQUIRE:
        return code[row, 1]
    if op == _WAIT:
        if st[t * TW + T_AUX] == -1:
            return code[row, 2]
        return -1
    if op == _RLOCK or op == _WLOCK:
        return layout[L_NM] + code[row, 1]
    if op == _SEM_WAIT:
        return layout[L_NM] + layout[L_NRW] + code[row, 1]
    return -1


@jit
def holders(st, t, code, tstart, layout):
    """Bit mask of the threads holding what blocked thread t waits for (0: nobody holds it,
    e.g. a semaphore or a condition).  May include t itself (self-deadlock)."""
    row = current_op(st, t, code, tstart)
    if row < 0:
        return np.int64(0)
    op = code[row, 0]
    owner = 0
    if op == _ACQUIRE:
        owner = st[layout[L_OFF_M] + code[row, 1]]
    elif op == _WAIT and st[t * TW + T_AUX] == -1:
        owner = st[layout[L_OFF_M] + code[row, 2]]
    elif op == _RLOCK or op == _WLOCK:
        r = code[row, 1]
        base = _rw_base(layout, r)
        owner = st[base + RW_WRITER]
        if owner == 0 and op == _WLOCK and st[base + RW_READERS] > 0:
            mask = np.int64(0)
            for u in range(layout[L_N]):
                if (st[u * TW + T_RMASK] >> r) & 1:
                    mask |= np.int64(1) << u
            return mask
    if owner > 0:
        return np.int64(1) << (owner - 1)
    return np.int64(0)


@jit
def held_object(st, t, layout):
    """Index of one lock object thread t holds (mutex m -> m, rwlock r -> NM + r), or -1."""
    for m in range(layout[L_NM]):
        if st[layout[L_OFF_M] + m] == t + 1:
            return m
    for r in range(layout[L_NRW]):
        if st[_rw_base(layout, r) + RW_WRITER] == t + 1 or (st[t * TW + T_RMASK] >> r) & 1:
            return layout[L_NM] + r
    return -1


# The step of each family of ops.  Each returns (next pc, misuse code, misuse argument,
# acquired resource key or -1); the next pc is pc + 1, a jump target, or pc itself while the
# op is not done (a compute with ticks left, a wait queued on its condition); step() wraps it.

@jit_inline
def _step_mutex(st, t, pc, op, a, b, layout):
    m = layout[L_OFF_M] + a
    if op == _ACQUIRE:
        st[m] = t + 1
        return pc + 1, MISUSE_NONE, 0, a
    if op == _RELEASE:
        if st[m] == t + 1:
            st[m] = 0
            return pc + 1, MISUSE_NONE, 0, -1
        return pc + 1, MISUSE_RELEASE_NOT_HELD, a, -1
    if st[m] == 0:  # try_acquire
        st[m] = t + 1
        return pc + 1, MISUSE_NONE, 0, a
    return b, MISUSE_NONE, 0, -1


@jit_inline
def _step_condition(st, t, pc, op, a, b, code, tstart, layout):
    aux = t * TW + T_AUX
    c = layout[L_OFF_C] + a
    if op == _WAIT:
        m = layout[L_OFF_M] + b
        if st[aux] == 0:  # release the lock and queue on the condition
            if st[m] != t + 1:
                return pc + 1, MISUSE_WAIT_NOT_HELD, b, -1
            st[m] = 0
            st[c] += 1
            st[aux] = st[c]
            return pc, MISUSE_NONE, 0, -1
        st[m] = t + 1  # signalled: re-acquire the lock
        st[aux] = 0
        return pc + 1, MISUSE_NONE, 0, b
    if st[c] > 0:  # signal wakes the first in the queue, broadcast all of them
        for u in range(layout[L_N]):
            pu = st[u * TW + T_PC]
            ux = u * TW + T_AUX
            if pu < 0 or st[ux] <= 0:
                continue
            ru = tstart[u] + pu
            if code[ru, 0] != _WAIT or code[ru, 1] != a:
                continue
            if op == _BROADCAST:
                st[ux] = -1
            else:
                st[ux] -= 1
                if st[ux] == 0:
                    st[ux] = -1
        if op == _BROADCAST:
            st[c] = 0
        else:
            st[c] -= 1
    return pc + 1, MISUSE_NONE, 0, -1


@jit_inline
def _step_semaphore(st, pc, op, a, layout):
    s = layout[L_OFF_S] + a
    if op == _SEM_WAIT:
        st[s] -= 1
        return pc + 1, MISUSE_NONE, 0, layout[L_NM] + layout[L_NRW] + a
    if st[s] >= SEM_MAX:
        return pc + 1, MISUSE_SEM_OVERFLOW, a, -1
    st[s] += 1
    return pc + 1, MISUSE_NONE, 0, -1


@jit_inline
def _step_rwlock(st, t, pc, op, a, layout):
    rmask = t * TW + T_RMASK
    rw = _rw_base(layout, a)
    if op == _RLOCK:
        if (st[rmask] >> a) & 1:
            return pc + 1, MISUSE_RECURSIVE_READ, a, -1
        st[rmask] |= 1 << a
        st[rw + RW_READERS] += 1
        return pc + 1, MISUSE_NONE, 0, layout[L_NM] + a
    if op == _RUNLOCK:
        if (st[rmask] >> a) & 1:
            st[rmask] &= ~(1 << a)
            st[rw + RW_READERS] -= 1
            return pc + 1, MISUSE_NONE, 0, -1
        return pc + 1, MISUSE_READ_UNLOCK_NOT_HELD, a, -1
    if op == _WLOCK:
        st[rw + RW_WRITER] = t + 1
        return pc + 1, MISUSE_NONE, 0, layout[L_NM] + a
    if st[rw + RW_WRITER] == t + 1:  # write_unlock
        st[rw + RW_WRITER] = 0
        return pc + 1, MISUSE_NONE, 0, -1
    return pc + 1, MISUSE_WRITE_UNLOCK_NOT_HELD, a, -1


@jit_inline
def _step_flow(st, t, pc, op, a, b, layout):
    """compute, goto, if_flag, set, clear, yield, sleep: the next pc only (no misuse)."""
    if op == _COMPUTE:
        rem = st[t * TW + T_REM]
        if rem == 0:
            rem = a
        rem -= 1
        st[t * TW + T_REM] = rem
        if rem == 0:
            return pc + 1
        return pc
    if op == _GOTO:
        return a
    if op == _IF_FLAG:
        if st[layout[L_OFF_F] + a] != 0:
            return b
        return pc + 1
    if op == _SET:
        st[layout[L_OFF_F] + a] = 1
    elif op == _CLEAR:
        st[layout[L_OFF_F] + a] = 0
    return pc + 1  # yield, sleep: no effect on the shared state (the scheduler acts on them)


@jit
def step(st, t, code, tstart, tlen, repeat, layout):
    """Thread t takes one step in st (in place); t must be enabled.

    Returns (misuse code, misuse argument, acquired resource key or -1)."""
    pc = st[t * TW + T_PC]
    row = tstart[t] + pc
    op = code[row, 0]
    a = code[row, 1]
    b = code[row, 2]
    misuse = MISUSE_NONE
    arg = 0
    got = -1
    if op == _ACQUIRE or op == _RELEASE or op == _TRY:
        nxt, misuse, arg, got = _step_mutex(st, t, pc, op, a, b, layout)
    elif op == _WAIT or op == _SIGNAL or op == _BROADCAST:
        nxt, misuse, arg, got = _step_condition(st, t, pc, op, a, b, code, tstart, layout)
    elif op == _SEM_WAIT or op == _SEM_POST:
        nxt, misuse, arg, got = _step_semaphore(st, pc, op, a, layout)
    elif op == _RLOCK or op == _RUNLOCK or op == _WLOCK or op == _WUNLOCK:
        nxt, misuse, arg, got = _step_rwlock(st, t, pc, op, a, layout)
    else:
        nxt = _step_flow(st, t, pc, op, a, b, layout)
    if nxt >= tlen[t]:  # past the last op: a repeating thread starts over, others finish
        nxt = 0 if repeat[t] else -1
    st[t * TW + T_PC] = nxt
    if nxt < 0 and misuse == MISUSE_NONE:
        h = held_object(st, t, layout)
        if h >= 0:
            misuse = MISUSE_FINISHED_HOLDING
            arg = h
    return misuse, arg, got


@jit_alloc
def waitfor_cycle(st, code, tstart, layout, blocked_mask):
    """Bit mask of the threads on a cycle of the wait-for graph among ``blocked_mask`` threads
    (edges: blocked thread -> holders of what it waits for); 0 when there is none."""
    return waitfor_cycle_into(st, blocked_mask, code, tstart, layout,
                              np.zeros(layout[L_N], np.int64))


@jit
def waitfor_cycle_into(st, blocked, code, tstart, layout, edges):
    """:func:`waitfor_cycle` with a caller-owned ``edges`` buffer (the explorer's hot path)."""
    n = layout[L_N]
    any_edge = False
    for t in range(n):
        edges[t] = 0
        if (blocked >> t) & 1:
            edges[t] = holders(st, t, code, tstart, layout) & blocked
            if edges[t] != 0:
                any_edge = True
    if not any_edge:
        return np.int64(0)
    # Iteratively remove blocked threads with no outgoing edge into the remaining set: what
    # remains has every node on or leading into a cycle; then keep the nodes reachable from
    # themselves.
    alive = blocked
    changed = True
    while changed:
        changed = False
        for t in range(n):
            if (alive >> t) & 1 and (edges[t] & alive) == 0:
                alive &= ~(np.int64(1) << t)
                changed = True
    out = np.int64(0)
    for t in range(n):
        if not (alive >> t) & 1:
            continue
        reach = edges[t] & alive
        frontier = reach
        while frontier != 0:
            nxt = np.int64(0)
            for u in range(n):
                if (frontier >> u) & 1:
                    nxt |= edges[u] & alive
            frontier = nxt & ~reach
            reach |= nxt
        if (reach >> t) & 1:
            out |= np.int64(1) << t
    return out
