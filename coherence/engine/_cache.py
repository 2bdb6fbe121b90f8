"""The private L1 caches: lookups, LRU, victims, state changes (inlined helpers).

A frame is invalid exactly when its tag is -1 (kept so by :func:`set_state`), so a lookup
compares tags only.  The snoop filter (``m.net.sf``, empty when off) counts the frames of all
caches whose tag falls in each bucket; :func:`install` and :func:`set_state` keep it.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit_inline, jit_leaf
from ..protocols.table import BUS_NONE, C_BUS, C_ERR, C_NEXT
from ..stats import CS_HITS, CS_MISSES
from ._layout import nonneg
from ._layout import (P_FULL, ATTEMPT_ERROR, ATTEMPT_MISS, ERR_PROTOCOL, EVENT_OF_KIND, INF,
                      P_LSHIFT, P_SETS, P_WAYS, set_err)

# The invalid state is number 0 in every compiled protocol (coherence.protocols.table).
INVALID = 0


@jit_leaf
def find(l1, c, s, line, ways):
    """The way of cache c's set s that holds ``line``, or -1.

    No early exit: which way holds a random line is what a branch predictor cannot learn,
    and a full compare of the set vectorises."""
    found = -1
    if ways == 8:
        # the usual L1: a loop of known length, unrolled into eight compares and moves
        for w in range(8):
            if l1.tags[c, s, w] == line:
                found = w
        return found
    for w in range(ways):
        if l1.tags[c, s, w] == line:
            found = w
    return found


@jit_leaf
def stamp(l1, c, s, w):
    """A fresh LRU stamp for the frame (from the cache's own counter)."""
    l1.clock[c] += 1
    l1.lru[c, s, w] = l1.clock[c]


@jit_leaf
def victim(l1, c, s, ways):
    """The frame a fill of set s takes: the lowest-numbered invalid one, else the least
    recently used.  The minimum of (stamp << 16 | way), with no branch for a random LRU order
    to mispredict (ways <= 2**16; config.py enforces it)."""
    least = INF
    for w in range(ways):
        if l1.tags[c, s, w] < 0:
            least = w
            break
        least = min(least, (l1.lru[c, s, w] << 16) | w)
    return least & 0xFFFF


@jit_leaf
def install(l1, sf, sets, c, s, w, line):
    """Frame (s, w) of cache c now holds ``line`` (its state is set next)."""
    l1.tags[c, s, w] = line
    if sf.shape[0] > 0:
        sf[line & (sf.shape[0] - 1)] += 1
    if l1.touched.shape[0] > 0:
        # A batch resets only the sets it touched; past the log's end it resets them all.
        n = l1.ntouched[0]
        if n < l1.touched.shape[0]:
            l1.touched[n] = c * sets + s
        l1.ntouched[0] = n + 1


@jit_leaf
def log_row(rows, count, values):
    """Append ``values`` (a tuple of ints) to a log while there is room; the count goes on,
    so that the caller can tell the log was cut short."""
    n = count[0]
    if n < rows.shape[0]:
        for j in range(len(values)):
            rows[n, j] = values[j]
    count[0] = n + 1


@jit_leaf
def set_state(l1, log, sf, c, s, w, nst, t):
    """Change a frame's state; log it when its line is watched (for line-state plots).  A
    frame that becomes invalid loses its tag (and its count in the snoop filter ``sf``)."""
    line = l1.tags[c, s, w]
    if l1.state[c, s, w] != nst:
        # Every watched symbol on the line gets the entry (symbols may share a line).
        for k in range(log.watch.shape[0]):
            if log.watch[k] == line:
                log_row(log.wlog, log.wlogn, (np.int64(t), np.int64(c), np.int64(k),
                                              np.int64(nst)))
    l1.state[c, s, w] = nst
    if nst == INVALID and line >= 0:
        l1.tags[c, s, w] = -1
        if sf.shape[0] > 0:
            sf[line & (sf.shape[0] - 1)] -= 1


@jit_inline
def attempt(m, c, t, kind, addr):
    """Look an access of core c up in its cache.  A hit updates the line's state, its LRU
    stamp and the hit count and returns the way (the caller performs the access); a miss is
    counted and returns ATTEMPT_MISS (the caller posts the request); an Impossible entry
    returns ATTEMPT_ERROR.  Inlined: this is the hot path of every load and store."""
    l1 = m.l1
    table = m.pr.table
    line = addr >> m.p[P_LSHIFT]
    s = line & nonneg(m.p[P_SETS] - 1)
    w = find(l1, c, s, line, m.p[P_WAYS])
    st = l1.state[c, s, w] if w >= 0 else INVALID
    ev = EVENT_OF_KIND[kind]
    if table[st, ev, C_ERR] != 0:
        set_err(m.log.err, ERR_PROTOCOL, t, c, addr, st, ev, 0)
        return ATTEMPT_ERROR
    if table[st, ev, C_BUS] == BUS_NONE:
        m.cpu.stats[c, CS_HITS] += 1
        if m.p[P_FULL] != 0:
            m.log.transitions[st, ev] += 1
        set_state(l1, m.log, m.net.sf, c, s, w, table[st, ev, C_NEXT], t)
        stamp(l1, c, s, w)
        return w
    m.cpu.stats[c, CS_MISSES] += 1
    return ATTEMPT_MISS
