"""The interconnect: an atomic snooping bus (inlined helpers); docs/machine.md, phases 1 and 3.

This module is the seam between the cores, caches and store buffers on one side and the
interconnect on the other.  The cores post requests with :func:`request`; the kernel's cycle
loop asks the interconnect for what completes (:func:`complete_due`), lets it arbitrate and
grant (:func:`arbitrate`), and asks when its next event is (:func:`next_event`).  Nothing
else of the machine knows how a request is served: a split-transaction bus or a directory on
a network provides the same four functions.

On the atomic bus a transaction happens all at once at its grant (snoops, victim write-back,
fill) and holds the bus until ``busy_until``, when it completes.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit_inline, jit_leaf
from ..protocols.table import (BUS_NONE, BUS_RD, BUS_RDX, BUS_UPD, C_BUS, C_ERR, C_NEXT, C_SHARED,
                               C_SUPPLY, C_WB, EV_EVICT, SNOOP_EVENT_OF_ACTION)
from ..stats import (BS_UPD, TL_BUSUPD, BS_BUSY, BS_C2C, BS_FLUSH, BS_INV, BS_RD, BS_RDX, BS_UPGR,
                     BS_WB, TL_BUSRD, TL_BUSRDX, TL_BUSUPGR, TL_WB)
from . import _check
from ._cache import INVALID, find, install, log_row, set_state, stamp, victim
from ._layout import WAY_UNKNOWN, nonneg
from ._layout import (MLOG_MEMORY, MLOG_NO_DATA, MLOG_WRITEBACK, P_FULL, B_ACTION, ARB_RANDOM,
                      ARB_RR, Q_TIME, Q_WAY, B_BUSY, B_NPEND, B_PORT, B_RR, B_UNTIL, B_WAY,
                      ERR_PROTOCOL, EVENT_OF_KIND, GRANT_BUS, GRANT_ERROR, GRANT_HIT, GRANT_NONE,
                      INF, K_LOOK, K_PC, LOOK_NONE, P_ARB, P_BUSLAT, P_C2CLAT, P_CHECK, P_CORES,
                      P_DATA, P_JITTER, P_LSHIFT, P_MEMLAT, P_SETS, P_TLWIN, P_WAYS, P_WBLAT, P_WPL,
                      Q_ADDR, Q_KIND, Q_PEND, next_random, rand, set_err)

#: The bus counter and the timeline column of each bus action.
STAT_OF_ACTION = np.array([-1, BS_RD, BS_RDX, BS_UPGR, BS_UPD], dtype=np.int64)
TIMELINE_OF_ACTION = np.array([-1, TL_BUSRD, TL_BUSRDX, TL_BUSUPGR, TL_BUSUPD], dtype=np.int64)
for _a in (STAT_OF_ACTION, TIMELINE_OF_ACTION):
    _a.setflags(write=False)


# ------------------------------------------------------------------------------ the seam

@jit_leaf
def request(net, p, kind, addr, t, w):
    """Port p (2c: core c, 2c+1: its drain unit) asks for a line at cycle t: a Load, Store
    or RMW miss; ``w``: the requester's frame holding the line (-1: none, WAY_UNKNOWN: not
    looked up).  (``net`` is ``m.net``.)"""
    port = net.port
    port[p, Q_PEND] = 1
    port[p, Q_KIND] = kind
    port[p, Q_ADDR] = addr
    port[p, Q_TIME] = t
    port[p, Q_WAY] = w
    net.b[B_NPEND] += 1


@jit_inline
def hold(b, until, p, w, action):
    """The bus is busy until cycle ``until`` with port p's transaction (``b`` is ``m.net.b``;
    ``w``: the requester's frame, ``action``: the bus action): what complete_due reads."""
    b[B_BUSY] = 1
    b[B_UNTIL] = until
    b[B_PORT] = p
    b[B_WAY] = w
    b[B_ACTION] = action


@jit_leaf
def next_event(net):
    """The next cycle at which the interconnect does something by itself: the completion of
    the transaction in flight or, with the bus idle, the arbitration of a pending request in
    the cycle it was posted (INF: none; it is idle until a request is posted).  Between now
    and then the cores do not interact.  (The cycle loop arbitrates every request in its
    own cycle, so an idle bus with a request pending is only ever seen between the kernel's
    run-ahead and the cycle it returns to.)"""
    b = net.b
    if b[B_BUSY] != 0:
        return b[B_UNTIL]
    if b[B_NPEND] == 0:
        return INF
    first = INF
    for q in range(net.port.shape[0]):
        if net.port[q, Q_PEND] != 0 and net.port[q, Q_TIME] < first:
            first = net.port[q, Q_TIME]
    return first


@jit_leaf
def complete_due(net, t):
    """Phase 1: the transaction in flight completes if its time has come.  Returns
    (port, frame it filled), or (-1, -1); the kernel then completes the port's request."""
    b = net.b
    if b[B_BUSY] == 0 or b[B_UNTIL] > t:
        return -1, -1
    b[B_BUSY] = 0
    return b[B_PORT], b[B_WAY]


@jit_inline
def finish(m, p, t, w):
    """After the completed transaction's access is performed (in frame ``w`` of port p's
    cache): an update (BusUpd) gives the written word to every other copy of the line,
    which stays valid.  Nothing to do for the other transactions."""
    if m.net.b[B_ACTION] != BUS_UPD or m.p[P_DATA] == 0:
        return
    c = p >> 1
    l1 = m.l1
    addr = m.net.port[p, Q_ADDR]
    line = addr >> m.p[P_LSHIFT]
    s = line & nonneg(m.p[P_SETS] - 1)
    off = (addr >> 3) & (m.p[P_WPL] - 1)
    for c2 in range(m.p[P_CORES]):
        if c2 != c:
            w2 = find(l1, c2, s, line, m.p[P_WAYS])
            if w2 >= 0:
                l1.data[c2, s, w2, off] = l1.data[c, s, w, off]


@jit_leaf
def pick(m):
    """The arbitration's choice among the pending requests (some must be pending): the
    policy's core (its pointer moved, or its random draw taken) and, of its two ports, the
    load's (or RMW's) before the store buffer's drain, as a real L1 serves demand misses
    before the store buffer's write-backs (docs/machine.md, phase 3).  Returns the port,
    no longer pending."""
    b = m.net.b
    port = m.net.port
    ncores = m.p[P_CORES]
    arb = m.p[P_ARB]
    c = -1
    if arb == ARB_RANDOM:
        n = 0
        for q in range(ncores):
            if port[2 * q, Q_PEND] != 0 or port[2 * q + 1, Q_PEND] != 0:
                n += 1
        k = np.int64(next_random(m.rng) % np.uint64(n))
        for q in range(ncores):
            if port[2 * q, Q_PEND] != 0 or port[2 * q + 1, Q_PEND] != 0:
                if k == 0:
                    c = q
                    break
                k -= 1
    else:
        # Round-robin scans the cores from the pointer, fixed priority from core 0.
        first = b[B_RR] if arb == ARB_RR else 0
        for k in range(ncores):
            q = first + k
            if q >= ncores:
                q -= ncores
            if port[2 * q, Q_PEND] != 0 or port[2 * q + 1, Q_PEND] != 0:
                c = q
                break
        if arb == ARB_RR:
            b[B_RR] = c + 1 if c + 1 < ncores else 0
    win = 2 * c if port[2 * c, Q_PEND] != 0 else 2 * c + 1
    port[win, Q_PEND] = 0
    b[B_NPEND] -= 1
    return win


@jit_inline
def arbitrate(m, t):
    """Phase 3, one step: if the bus is free, grant the request the policy picks.

    Returns (GRANT_NONE, -1) when the bus is busy or nothing is pending, (GRANT_BUS, port)
    for a transaction, (GRANT_HIT, port) when the request turned into a hit (the kernel
    completes it now and arbitrates again), (GRANT_ERROR, port) on an error."""
    b = m.net.b
    if b[B_BUSY] != 0 or b[B_NPEND] == 0:
        return GRANT_NONE, -1
    win = pick(m)
    return _grant(m, win, t, np.int64(WAY_UNKNOWN), np.int64(-1)), win


@jit_inline
def grant(m, p, t, w):
    """Grant port p's request, which :func:`pick` chose (``w``: the requester's frame
    holding the line, -1: none): :func:`_grant`'s transaction.  Returns a GRANT_* code."""
    return _grant(m, p, t, w, np.int64(-1))


@jit_leaf
def alone_params(p):
    """The parameters grant_alone reads, read once by its caller's loop (``p`` is ``m.p``):
    its stores to the machine's int64 arrays would make the compiler read them again at
    every grant."""
    return (p[P_ARB], p[P_CORES], p[P_FULL] != 0, p[P_SETS], p[P_WAYS], p[P_BUSLAT],
            p[P_MEMLAT], p[P_WBLAT], p[P_JITTER], p[P_TLWIN])


@jit_inline
def grant_alone(m, bp, c, t, line, s, w, ev):
    """What :func:`arbitrate` and :func:`_grant` do for core c's miss (event ``ev``, line in
    set s, frame ``w`` holding it or -1) when it is the only request and no other cache can
    hold the line (one core, or the snoop filter says so), for a trace on SC cores (no data,
    check or watched line; ``bp``: alone_params): the arbitration's pointer or draw, the
    counters, the victim, the fill, the latency and the timeline, but not the LRU stamp (the
    caller keeps the cache's clock) nor the port's or the bus's registers (no one reads them
    before the completion; the caller writes them if it leaves the transaction in flight).
    The protocol is served_alone_safe: nothing here can fail.

    Returns (latency, bus action, frame, the line's next state)."""
    arb, ncores = bp[0], bp[1]
    if arb == ARB_RANDOM:
        next_random(m.rng)  # one draw, as for any choice
    elif arb == ARB_RR:
        m.net.b[B_RR] = c + 1 if c + 1 < ncores else 0
    return fill_alone(m, bp, c, t, line, s, w, ev)


@jit_inline
def fill_alone(m, bp, c, t, line, s, w, ev):
    """grant_alone's transaction after the arbitration (for a caller that arbitrated):
    what _grant does when no other cache can hold the line.  Returns as grant_alone."""
    arb, ncores, full, sets, ways, buslat, memlat, wblat, jitter, tlwin = bp
    l1 = m.l1
    table = m.pr.table
    bstat = m.net.stats
    sf = m.net.sf
    st = l1.state[c, s, w] if w >= 0 else INVALID
    if full:
        m.log.transitions[st, ev] += 1
    action = table[st, ev, C_BUS]
    bstat[STAT_OF_ACTION[action]] += 1
    fill = action == BUS_RD or action == BUS_RDX or (action == BUS_UPD and w < 0)
    wb = np.int64(0)  # 0 or 1, counted without a branch: a victim's dirtiness is a coin toss
    if w < 0:
        # _make_room's victim and eviction, which cannot fail here
        w = victim(l1, c, s, ways)
        vst = l1.state[c, s, w]
        if vst != INVALID:
            if full:
                m.log.transitions[vst, EV_EVICT] += 1
            wb = np.int64(table[vst, EV_EVICT, C_WB] != 0)
            bstat[BS_WB] += wb
            set_state(l1, m.log, sf, c, s, w, INVALID, t)
        install(l1, sf, sets, c, s, w, line)
    nst = table[st, ev, C_NEXT]
    set_state(l1, m.log, sf, c, s, w, nst, t)  # the caller stamps it
    lat = (memlat if fill else buslat) + wblat * wb + rand(m.rng, jitter)
    bstat[BS_BUSY] += lat
    _count_timeline(m.net.timeline, tlwin, t, action, wb != 0)
    return lat, action, w, nst


# ------------------------------------------------------------------------ the transaction

@jit_leaf
def _latency(p, rng, fill, c2c, wb):
    """How long a transaction holds the bus (``p`` is ``m.p``): an address-only one (an
    upgrade, an update) the bus latency, a fill from memory or from another cache (``c2c``)
    theirs, plus the victim's write-back and the random jitter."""
    if not fill:
        lat = p[P_BUSLAT]
    elif c2c:
        lat = p[P_C2CLAT]
    else:
        lat = p[P_MEMLAT]
    if wb:
        lat += p[P_WBLAT]
    return lat + rand(rng, p[P_JITTER])


@jit_leaf
def _count_timeline(timeline, tlwin, t, action, wb):
    """A transaction granted at cycle t in its timeline window (none when tlwin is 0)."""
    if tlwin > 0:
        widx = t // tlwin
        timeline[widx, TIMELINE_OF_ACTION[action]] += 1
        if wb:
            timeline[widx, TL_WB] += 1


@jit_leaf
def _log_transaction(log, t, c, line, action, source, until):
    """A transaction on a watched line, for the message-sequence chart (MLOG in _layout)."""
    for k in range(log.watch.shape[0]):
        if log.watch[k] == line:
            log_row(log.mlog, log.mlogn, (np.int64(t), np.int64(c), np.int64(k),
                                          np.int64(action), np.int64(source), np.int64(until)))


@jit_inline
def _snoop(m, c, s, line, addr, action, own, fill, t):
    """Every other cache that holds the line looks it up with the snooped event, in core
    order.  Returns (ok, shared, source cache, source way): ``shared`` when another cache
    held the line, the source is the first cache that supplies it (-1: memory).  ``own``:
    the requester holds the line itself (the snoop filter counts its copy too)."""
    table = m.pr.table
    l1 = m.l1
    sf = m.net.sf
    ways = m.p[P_WAYS]
    wpl = m.p[P_WPL]
    track = m.p[P_DATA] != 0
    bstat = m.net.stats
    sev = SNOOP_EVENT_OF_ACTION[action]
    shared = False
    src = -1
    srcw = -1
    others = m.p[P_CORES]
    if sf.shape[0] > 0 and sf[line & (sf.shape[0] - 1)] <= (1 if own else 0):
        others = 0  # the filter: no other cache holds the line
    for c2 in range(others):
        if c2 == c:
            continue
        w2 = find(l1, c2, s, line, ways)
        if w2 < 0:
            continue
        shared = True
        st2 = l1.state[c2, s, w2]
        if table[st2, sev, C_ERR] != 0:
            set_err(m.log.err, ERR_PROTOCOL, t, c2, addr, st2, sev, 0)
            return False, shared, src, srcw
        if m.p[P_FULL] != 0:
            m.log.transitions[st2, sev] += 1
        sup = fill and table[st2, sev, C_SUPPLY] != 0  # only a fill takes data
        if sup and src < 0:
            src = c2
            srcw = w2
            bstat[BS_FLUSH] += 1
        if table[st2, sev, C_WB] != 0:
            if track:
                for k in range(wpl):
                    m.mem.words[line * wpl + k] = l1.data[c2, s, w2, k]
            if not sup:
                bstat[BS_FLUSH] += 1
        nst = table[st2, sev, C_NEXT]
        if nst == INVALID:
            bstat[BS_INV] += 1
        if nst != st2 and m.l1.look[c2, s, w2] >= m.cpu.k[c2, K_PC]:
            m.cpu.k[c2, K_LOOK] = LOOK_NONE  # a hit it foresaw on this line may be a miss now
        set_state(l1, m.log, sf, c2, s, w2, nst, t)
    return True, shared, src, srcw


@jit_inline
def _make_room(m, c, s, t, v):
    """A frame of set s for a fill: the victim (``v`` if the caller chose it, else -1),
    evicted with its (state, Evict) entry.  Returns (way, written back?), way -1 on an
    error."""
    l1 = m.l1
    table = m.pr.table
    w = v if v >= 0 else victim(l1, c, s, m.p[P_WAYS])
    vst = l1.state[c, s, w]
    wb = False
    if vst != INVALID:
        vl = l1.tags[c, s, w]
        if table[vst, EV_EVICT, C_ERR] != 0:
            set_err(m.log.err, ERR_PROTOCOL, t, c, vl << m.p[P_LSHIFT], vst, EV_EVICT, 0)
            return -1, wb
        if m.p[P_FULL] != 0:
            m.log.transitions[vst, EV_EVICT] += 1
        if table[vst, EV_EVICT, C_WB] != 0:
            wb = True
            m.net.stats[BS_WB] += 1
            if m.p[P_DATA] != 0:
                wpl = m.p[P_WPL]
                for k in range(wpl):
                    m.mem.words[vl * wpl + k] = l1.data[c, s, w, k]
        if wb and m.log.watch.shape[0] > 0:
            _log_transaction(m.log, t, c, vl, MLOG_WRITEBACK, c, t)
        set_state(l1, m.log, m.net.sf, c, s, w, INVALID, t)
    return w, wb


@jit_inline
def _grant(m, p, t, w, v):
    """Re-evaluate port p's request and, if the line still needs the bus, run the
    transaction: count it, snoop, make room, fill, and hold the bus for its latency.

    ``w``: the requester's frame holding the line if the caller knows it (-1: none),
    WAY_UNKNOWN to look it up; ``v``: the victim when the caller chose it, else -1."""
    c = p >> 1
    l1 = m.l1
    table = m.pr.table
    bstat = m.net.stats
    addr = m.net.port[p, Q_ADDR]
    ev = EVENT_OF_KIND[m.net.port[p, Q_KIND]]
    line = addr >> m.p[P_LSHIFT]
    s = line & nonneg(m.p[P_SETS] - 1)
    if w == WAY_UNKNOWN:
        w = find(l1, c, s, line, m.p[P_WAYS])
    st = l1.state[c, s, w] if w >= 0 else INVALID
    if table[st, ev, C_ERR] != 0:
        set_err(m.log.err, ERR_PROTOCOL, t, c, addr, st, ev, 0)
        return GRANT_ERROR
    if m.p[P_FULL] != 0:
        m.log.transitions[st, ev] += 1
    action = table[st, ev, C_BUS]
    if action == BUS_NONE:
        # The request became a hit while it waited: served now, without the bus.
        set_state(l1, m.log, m.net.sf, c, s, w, table[st, ev, C_NEXT], t)
        stamp(l1, c, s, w)
        return GRANT_HIT
    bstat[STAT_OF_ACTION[action]] += 1
    # A read brings the line; so does an update (BusUpd) from a cache that lacks it.
    fill = action == BUS_RD or action == BUS_RDX or (action == BUS_UPD and w < 0)
    ok, shared, src, srcw = _snoop(m, c, s, line, addr, action, w >= 0, fill, t)
    if not ok:
        return GRANT_ERROR
    wb = False
    if w < 0:
        w, wb = _make_room(m, c, s, t, v)
        if w < 0:
            return GRANT_ERROR
        install(l1, m.net.sf, m.p[P_SETS], c, s, w, line)
    if fill:
        if src >= 0:
            bstat[BS_C2C] += 1
        if m.p[P_DATA] != 0:
            wpl = m.p[P_WPL]
            for k in range(wpl):
                if src >= 0:
                    l1.data[c, s, w, k] = l1.data[src, s, srcw, k]
                else:
                    l1.data[c, s, w, k] = m.mem.words[line * wpl + k]
    nst = table[st, ev, C_SHARED] if shared else table[st, ev, C_NEXT]
    set_state(l1, m.log, m.net.sf, c, s, w, nst, t)  # may be invalid: the completion says so
    stamp(l1, c, s, w)
    lat = _latency(m.p, m.rng, fill, src >= 0, wb)
    hold(m.net.b, t + lat, p, w, action)
    bstat[BS_BUSY] += lat
    if m.log.watch.shape[0] > 0:
        _log_transaction(m.log, t, c, line, action, (src if src >= 0 else MLOG_MEMORY)
                         if fill else MLOG_NO_DATA, t + lat)
    _count_timeline(m.net.timeline, m.p[P_TLWIN], t, action, wb)
    if m.p[P_CHECK] != 0:
        if not _check.check_line(m.p, m.pr, m.l1, m.mem, m.log, line, s, t, c):
            return GRANT_ERROR
    return GRANT_BUS
