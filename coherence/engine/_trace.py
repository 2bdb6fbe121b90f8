"""Trace cores on SC (inlined helpers): each core's runs of hits at once, and the look-ahead
to its first miss; docs/machine.md, "How the engine runs it".

A trace core's accesses are known in advance and carry no data, so :func:`trace_run` does
for a whole run of hits what ``_core.core_run`` does access by access, and
:func:`first_miss` tells the kernel when the core will next need the interconnect.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit_helper, jit_inline, jit_leaf
from ..protocols.table import C_ERR, EV_EVICT, EV_LOAD, EV_STORE
from ..stats import CS_HITS, CS_INSTR, CS_LOADS, CS_MISSES, CS_STALL, CS_STORES
from . import _bus
from ._cache import INVALID, find
from ._layout import (ACT_ERROR, B_NPEND, CL_LASTPROG, ERR_PROTOCOL, EVENT_OF_KIND, INF,
                      KIND_LOAD, K_HALTED, K_LOOK, K_LOOKPC, K_LOOKT, K_PC, K_READY, K_TBLOCK,
                      K_WAIT, LOOK_MISS, LOOK_NONE, LOOK_SCAN, P_CORES, P_FULL, P_HIT, P_HITCODE,
                      P_LSHIFT, P_MAXCYC, P_SETS, P_TLWIN, P_WAYS, P_WINDOW, Q_ADDR, Q_KIND,
                      Q_PEND, Q_TIME, Q_WAY, W_BUS, W_NONE, nonneg, progress, set_err)
from . import _core
from ._core import _count_latency


@jit_helper
def hits_stable(pr):
    """True when no hit changes which of the core's own later accesses hit.

    Then a core's run of hits can be foreseen from its tags and states alone (the
    look-ahead), e.g. MESI's silent E -> M keeps both Load and Store hits."""
    hit = pr.hit
    for st in range(hit.shape[0]):
        for ev in range(2):
            nst = hit[st, ev]
            if nst >= 0:
                for ev2 in range(2):
                    if (hit[st, ev2] >= 0) != (hit[nst, ev2] >= 0):
                        return False
    return True


@jit_inline
def first_miss(m, c, t, limit):
    """The first cycle before ``limit`` at which core c's trace would need the interconnect,
    as things stand, or ``limit``.  Reads the caches only.

    The answer stays true until a snoop changes the state of a line that one of the foreseen
    accesses uses (``look[c, s, w]`` is the last foreseen access to frame w) or the core's own
    request completes; both drop the cursor.  Otherwise the scan resumes where it stopped
    instead of reading the same accesses again at every bus event.  The way of each foreseen
    access goes to the ring ``lookw[c]`` (so trace_run need not search for it again), which
    also bounds how far ahead the scan goes."""
    k = m.cpu.k
    if k[c, K_HALTED] != 0:
        return limit
    if k[c, K_LOOKPC] < k[c, K_PC]:
        k[c, K_LOOK] = LOOK_NONE  # the core ran past it (ahead of a busy bus): start anew
    if k[c, K_LOOK] == LOOK_NONE:
        k[c, K_LOOK] = LOOK_SCAN
        k[c, K_LOOKT] = max(k[c, K_READY], t)
        k[c, K_LOOKPC] = k[c, K_PC]
    if k[c, K_LOOK] == LOOK_MISS:
        return min(k[c, K_LOOKT], limit)
    l1 = m.l1
    prog = m.prog
    hit = m.pr.hit
    lshift = m.p[P_LSHIFT]
    smask = nonneg(m.p[P_SETS] - 1)
    ways = m.p[P_WAYS]
    lat = m.p[P_HIT]
    hc = m.p[P_HITCODE]
    ring = l1.lookw.shape[1]
    tau = k[c, K_LOOKT]
    i = nonneg(prog.start[c] + k[c, K_LOOKPC])
    stop = prog.start[c] + prog.length[c]
    end = min(stop, prog.start[c] + k[c, K_PC] + ring)
    while tau < limit:
        if i >= end:
            if end == stop:
                tau = INF  # the core halts: nothing it does reaches the interconnect
            break
        line = prog.taddr[i] >> lshift
        s = line & smask
        w = find(l1, c, s, line, ways)
        if w < 0:
            k[c, K_LOOK] = LOOK_MISS
            break
        kk = 2 * np.int64(l1.state[c, s, w]) + np.int64(prog.twrite[i] != 0)
        if (hc >> kk) & 1 == 0 if hc >= 0 else hit[kk >> 1, kk & 1] < 0:
            k[c, K_LOOK] = LOOK_MISS
            break
        l1.look[c, s, w] = i - prog.start[c]
        l1.lookw[c, i & (ring - 1)] = w
        tau += lat
        i += 1
    k[c, K_LOOKT] = tau
    k[c, K_LOOKPC] = i - prog.start[c]
    if tau == INF:
        k[c, K_LOOK] = LOOK_MISS
    return min(tau, limit)


@jit_leaf
def post_miss(m, c, i, tau, w):
    """Core c's access i (a miss; ``w`` its frame holding the line, -1: none) at cycle tau:
    counted, posted, the core waits."""
    wr = np.int64(m.prog.twrite[i] != 0)
    m.cpu.stats[c, CS_LOADS + wr] += 1
    m.cpu.stats[c, CS_MISSES] += 1
    _bus.request(m.net, 2 * c, KIND_LOAD + wr, m.prog.taddr[i], tau, w)
    m.cpu.k[c, K_WAIT] = W_BUS
    m.cpu.k[c, K_TBLOCK] = tau


@jit_helper
def served_alone_safe(pr):
    """True when no Load, Store or valid state's Evict entry is an error: then a core's run
    of accesses and the choice of a victim cannot fail, whatever the states (the kernel's
    _served_alone relies on it)."""
    for st in range(pr.table.shape[0]):
        if pr.table[st, EV_LOAD, C_ERR] != 0 or pr.table[st, EV_STORE, C_ERR] != 0:
            return False
        if st != INVALID and pr.table[st, EV_EVICT, C_ERR] != 0:
            return False
    return True


@jit_inline
def complete(m, p, t, w):
    """_core.complete for a trace core's miss (port p = 2c, served at cycle t in frame
    ``w``): a trace carries no data and, in the trace kernel, has no store buffer, issue
    jitter or check, so the completion is the counters and the core's release.  A frame to
    look up (-1) or no longer holding the line goes the general way (its lookup, or its
    error).  Returns False on an error."""
    c = nonneg(p >> 1)
    line = m.net.port[p, Q_ADDR] >> m.p[P_LSHIFT]
    s = line & nonneg(m.p[P_SETS] - 1)
    if w < 0 or m.l1.tags[c, s, w] != line:
        return _core.complete(m, p, t, w)
    progress(m.clk, t)
    k = m.cpu.k
    if m.p[P_FULL] != 0:
        _count_latency(m.cpu.latency, c, t - m.net.port[p, Q_TIME])
    m.cpu.stats[c, CS_STALL] += t - k[c, K_TBLOCK]
    m.cpu.stats[c, CS_INSTR] += 1
    k[c, K_WAIT] = W_NONE
    k[c, K_LOOK] = LOOK_NONE  # the miss the look-ahead foresaw is served
    k[c, K_PC] += 1
    k[c, K_READY] = t + 1
    return True


@jit_leaf
def may_run(k, c, hi):
    """Whether trace_run can do anything for core c before cycle ``hi`` (``k`` is
    ``m.cpu.k``): the cycle loop asks first, so that the many cores that wait for the bus
    cost it a test, not trace_run's set-up."""
    return k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE and k[c, K_READY] < hi


@jit_inline
def trace_run(m, c, lo, hi):
    """Run core c's trace (SC core, no issue jitter) in the cycles lo .. hi-1: its hits, then
    the miss that ends the run (posted), or the halt at the trace's end; what core_run does
    for each access, with the counters added once at the end.

    Returns the last cycle in which the core acted (lo - 1 if none), or ACT_ERROR."""
    k = m.cpu.k
    if k[c, K_HALTED] != 0 or k[c, K_WAIT] != W_NONE:
        return lo - 1
    tau = max(k[c, K_READY], lo)
    acted = lo - 1
    if tau >= hi:
        return acted
    l1 = m.l1
    prog = m.prog
    hit = m.pr.hit
    table = m.pr.table
    stats = m.cpu.stats
    sf = m.net.sf
    lshift = m.p[P_LSHIFT]
    smask = nonneg(m.p[P_SETS] - 1)
    ways = m.p[P_WAYS]
    lat = m.p[P_HIT]
    i0 = nonneg(prog.start[c] + k[c, K_PC])
    i = i0
    end = prog.start[c] + prog.length[c]
    clock = l1.clock[c]
    stores = 0
    hc = m.p[P_HITCODE]
    # Accesses before the look-ahead cursor are hits whose way first_miss kept.
    seen = prog.start[c] + k[c, K_LOOKPC] if k[c, K_LOOK] != LOOK_NONE else i0
    ring = l1.lookw.shape[1]
    while tau < hi:
        if i >= end:
            k[c, K_HALTED] = 1
            progress(m.clk, tau)
            acted = tau
            break
        line = prog.taddr[i] >> lshift
        s = line & smask
        w = l1.lookw[c, i & (ring - 1)] if i < seen else find(l1, c, s, line, ways)
        wr = np.int64(prog.twrite[i] != 0)
        st = l1.state[c, s, w] if w >= 0 else INVALID
        if hc >= 0:
            kk = 2 * st + wr
            nst = (hc >> (16 + 3 * kk)) & 7 if (hc >> kk) & 1 else np.int64(-1)
        else:
            nst = np.int64(hit[st, wr])
        if nst < 0:
            if table[st, wr, C_ERR] != 0:
                set_err(m.log.err, ERR_PROTOCOL, tau, c, prog.taddr[i], st, wr, 0)
                acted = ACT_ERROR
                break
            post_miss(m, c, i, tau, w)
            acted = tau
            break
        if nst != st:
            l1.state[c, s, w] = nst
            if nst == INVALID:
                l1.tags[c, s, w] = -1
                if sf.shape[0] > 0:
                    sf[line & (sf.shape[0] - 1)] -= 1
        clock += 1
        l1.lru[c, s, w] = clock
        stores += wr
        acted = tau
        tau += lat
        i += 1
    n = i - i0
    if n > 0:
        # Counted here, not per access: the hits of the run.  (A posted miss is counted above
        # and does not retire.)
        l1.clock[c] = clock
        k[c, K_PC] += n
        k[c, K_READY] = tau
        stats[c, CS_INSTR] += n
        stats[c, CS_HITS] += n
        stats[c, CS_STORES] += stores
        stats[c, CS_LOADS] += n - stores
        progress(m.clk, tau - lat)
    return acted


@jit_helper
def solo_run(m, c, t, second, slice_):
    """Core c's trace from cycle t+1 on while it is served alone (the kernel's _served_alone
    says when): its runs of hits and, between them, each of its misses granted and completed
    right here, while no other cache can hold the missed line, the completion comes before
    ``second`` (the other cores' first foreseen miss), max_cycles and the no-progress limit,
    and fewer than ``slice_`` misses were served.  The same machine as trace_run, then the
    bus's arbitration and grant (_bus.grant_alone), and complete_due, complete and finish,
    in turn, miss after miss, with the counters, the cursor and the clock in locals, written
    back once at the end: one loop that keeps what it needs in registers.

    Returns (the end of the run-ahead window for the other cores, the last cycle in which
    this loop fully processed the core's actions, how many misses it served).  A miss that
    cannot be served alone is left pending (the cycle loop grants it at its cycle, which
    this returns); one whose completion comes too late is left in flight on the bus."""
    k = m.cpu.k
    l1 = m.l1
    prog = m.prog
    hit = m.pr.hit
    sf = m.net.sf
    lshift = m.p[P_LSHIFT]
    smask = nonneg(m.p[P_SETS] - 1)
    ways = m.p[P_WAYS]
    lat = m.p[P_HIT]
    hc = m.p[P_HITCODE]
    multi = m.p[P_CORES] > 1
    tlwin = m.p[P_TLWIN]
    ntl = m.net.timeline.shape[0]
    maxcyc = m.p[P_MAXCYC]
    window = m.p[P_WINDOW]
    full = m.p[P_FULL] != 0
    lastprog = m.clk[CL_LASTPROG]
    bp = _bus.alone_params(m.p)
    start = prog.start[c]
    end = start + prog.length[c]
    i = nonneg(start + k[c, K_PC])
    clock = l1.clock[c]
    ready = k[c, K_READY]
    hits = 0
    hstores = 0
    mloads = 0
    mstores = 0
    done = 0
    stall = 0
    served = 0
    last = t
    tau = max(ready, t + 1)
    # Accesses before the look-ahead cursor are hits whose way first_miss kept (trace_run).
    seen = start + k[c, K_LOOKPC] if k[c, K_LOOK] != LOOK_NONE else i
    ring = l1.lookw.shape[1]
    pending = False  # the last miss is posted, not served
    inflight = False  # the last miss is granted, not completed
    limit = t
    at = t
    while True:
        # A run of hits, up to `hi` (fixed for the run, as trace_run's), ended by a miss.
        clip = min(maxcyc, lastprog + window) if window > 0 else maxcyc
        hi = min(second, clip)
        run0 = i
        miss = False
        line = np.int64(0)
        s = np.int64(0)
        w = np.int64(-1)
        wr = np.int64(0)
        while tau < hi:
            if i >= end:
                k[c, K_HALTED] = 1
                lastprog = max(lastprog, tau)
                last = max(last, tau)
                break
            line = prog.taddr[i] >> lshift
            s = line & smask
            w = l1.lookw[c, i & (ring - 1)] if i < seen else find(l1, c, s, line, ways)
            wr = np.int64(prog.twrite[i] != 0)
            st = l1.state[c, s, w] if w >= 0 else INVALID
            if hc >= 0:
                kk = 2 * st + wr
                nst = (hc >> (16 + 3 * kk)) & 7 if (hc >> kk) & 1 else np.int64(-1)
            else:
                nst = np.int64(hit[st, wr])
            if nst < 0:
                miss = True
                break
            if nst != st:
                l1.state[c, s, w] = nst
                if nst == INVALID:
                    l1.tags[c, s, w] = -1
                    if sf.shape[0] > 0:
                        sf[line & (sf.shape[0] - 1)] -= 1
            clock += 1
            l1.lru[c, s, w] = clock
            hits += 1
            hstores += wr
            last = max(last, tau)
            tau += lat
            i += 1
        if i > run0:
            ready = tau
            lastprog = max(lastprog, tau - lat)
            clip = min(maxcyc, lastprog + window) if window > 0 else maxcyc
        if not miss:
            limit = hi  # it reached `hi` (or halted): the others run to there
            break
        at = tau
        last = max(last, at)
        if wr:
            mstores += 1
        else:
            mloads += 1
        if (multi and sf[line & (sf.shape[0] - 1)] > (1 if w >= 0 else 0)) or (
                tlwin > 0 and at // tlwin >= ntl):
            pending = True  # the cycle loop resumes at `at` and grants it
            limit = at
            last = at - 1
            break
        lat_bus, action, fw, nst = _bus.grant_alone(m, bp, c, at, line, s, w,
                                                    EVENT_OF_KIND[KIND_LOAD + wr])
        clock += 1
        l1.lru[c, s, fw] = clock  # the fill's (or upgrade's) stamp
        served += 1
        until = at + lat_bus
        if until >= second or until >= clip or nst == INVALID or served >= slice_ > 0:
            inflight = True  # the cycle loop completes it (or reports it)
            limit = min(clip, until)
            last = at
            _bus.hold(m.net.b, until, 2 * c, fw, action)
            break
        # The completion at `until` (complete_due, complete, finish: a trace has no data).
        lastprog = max(lastprog, until)
        if full:
            _count_latency(m.cpu.latency, c, until - at)
        stall += until - at
        done += 1
        i += 1
        ready = until + 1
        last = until
        tau = until + 1
    if pending or inflight:
        port = m.net.port
        p = 2 * c
        port[p, Q_PEND] = 1 if pending else 0
        port[p, Q_KIND] = KIND_LOAD + wr
        port[p, Q_ADDR] = prog.taddr[i]
        port[p, Q_TIME] = at
        port[p, Q_WAY] = w
        if pending:
            m.net.b[B_NPEND] += 1
        k[c, K_WAIT] = W_BUS
        k[c, K_TBLOCK] = at
    if done > 0:
        k[c, K_LOOK] = LOOK_NONE  # the misses the look-ahead foresaw are served
    l1.clock[c] = clock
    k[c, K_PC] = i - start
    k[c, K_READY] = ready
    stats = m.cpu.stats
    stats[c, CS_INSTR] += hits + done
    stats[c, CS_HITS] += hits
    stats[c, CS_LOADS] += hits - hstores + mloads
    stats[c, CS_STORES] += hstores + mstores
    stats[c, CS_MISSES] += mloads + mstores
    stats[c, CS_STALL] += stall
    progress(m.clk, lastprog)
    return limit, last, served
