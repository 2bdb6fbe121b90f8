"""The state vector of a compiled scenario: where each word lives (the one definition).

A program state is one int32 vector, shared by the simulator, the explorer (which hashes and
compares whole vectors) and the Python detectors::

    thread t   : THREAD_WORDS words at t * TW         (TW = THREAD_WORDS)
                 + T_PC    op index, -1 when finished
                 + T_REM   compute ticks left (0 when not inside a compute)
                 + T_AUX   0, or k > 0: k-th in the wait queue of a condition, or -1: signalled
                           and re-acquiring the lock of its `wait`
                 + T_RMASK bit r set while the thread holds rwlock r for reading
    mutex m    : owner+1 (0 = free)                  at OFF_M + m
    rwlock r   : RW_WORDS words at OFF_RW + RW_WORDS * r
                 + RW_WRITER  writer+1 (0 = none)
                 + RW_READERS reader count
    semaphore s: count                               at OFF_S + s
    condition c: number of waiters                   at OFF_C + c
    flag f     : 0/1                                 at OFF_F + f

The offsets of one scenario are packed in its ``layout`` array (int32, indexed by the ``L_*``
constants): [n_threads, OFF_M, n_m, OFF_RW, n_rw, OFF_S, n_s, OFF_C, n_c, OFF_F, n_f, W].
Kernels read these module constants as compile-time constants; the cache stamp of
:mod:`coherence._jit` covers this file, so editing it recompiles every kernel that uses it.
"""

from __future__ import annotations

import numpy as np

#: The words of one thread, in order; ``TW`` words per thread.
THREAD_FIELDS = ("pc", "rem", "aux", "rmask")
TW = len(THREAD_FIELDS)
T_PC, T_REM, T_AUX, T_RMASK = range(TW)

#: The words of one rwlock.
RW_WORDS = 2
RW_WRITER, RW_READERS = range(RW_WORDS)

#: Indices into a scenario's ``layout`` array.
LAYOUT_FIELDS = ("n", "off_m", "nm", "off_rw", "nrw", "off_s", "ns", "off_c", "nc", "off_f",
                 "nf", "width")
L_N, L_OFF_M, L_NM, L_OFF_RW, L_NRW, L_OFF_S, L_NS, L_OFF_C, L_NC, L_OFF_F, L_NF, L_W = range(
    len(LAYOUT_FIELDS))

MAX_THREADS = 62  # thread sets are int64 bit masks
MAX_RWLOCKS = 31  # a thread's read holds (T_RMASK) are an int32 bit mask
MAX_LOCKS = 64  # mutexes + rwlocks: the lock-order graph's lock sets are int64 bit masks
MAX_COUNT = 1_000_000_000  # ticks, counts, priorities: int32 in the state and the op table
MAX_SEED = (1 << 63) - 1
SEM_MAX = 1 << 20  # a semaphore's count (a post beyond it is a misuse)


def make_layout(n: int, nm: int, nrw: int, ns: int, nc: int, nf: int) -> np.ndarray:
    """The ``layout`` array of a scenario with these numbers of threads and resources."""
    off_m = n * TW
    off_rw = off_m + nm
    off_s = off_rw + RW_WORDS * nrw
    off_c = off_s + ns
    off_f = off_c + nc
    width = off_f + nf
    return np.array([n, off_m, nm, off_rw, nrw, off_s, ns, off_c, nc, off_f, nf, width],
                    dtype=np.int32)


def initial_state(layout: np.ndarray, tlen, sem_counts, flag_values) -> np.ndarray:
    """The state before any step: every thread at op 0 (finished if it has no ops), the
    semaphores at their initial counts, the flags at their initial values, all else 0."""
    init = np.zeros(int(layout[L_W]), dtype=np.int32)
    for t in range(int(layout[L_N])):
        init[t * TW + T_PC] = 0 if tlen[t] > 0 else -1
    for i, count in enumerate(sem_counts):
        init[layout[L_OFF_S] + i] = count
    for i, value in enumerate(flag_values):
        init[layout[L_OFF_F] + i] = 1 if value else 0
    return init


def pc_of(st, t: int) -> int:
    """Op index of thread ``t`` in state ``st`` (-1: finished), for the Python-side readers
    (the kernels index the state themselves)."""
    return int(st[t * TW + T_PC])
