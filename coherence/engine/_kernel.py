"""The jitted machine's cycle loop and its entry kernels (private); docs/machine.md.

The loop (:func:`_run`) is written once.  Each cycle: the interconnect completes what is due
(phase 1), the cores act in cycle t (phase 2), the interconnect arbitrates (phase 3), the
cores run ahead to the interconnect's next event when nothing in between can make them
interact, and the clock jumps to the next cycle at which anything can happen.  The units it
calls are in their own modules: ``_core`` (cores and store buffers), ``_trace`` (trace cores
on SC: runs of hits, look-ahead), ``_cache`` (the L1s), ``_bus`` (the interconnect, behind
the seam its docstring describes), ``_check`` (the invariants).

Entry kernels take the machine's arrays flat (``*flat``, in the order of
``_layout.Flat``) and build the bundles once.  ``_simulate`` runs any program or trace;
``_simulate_trace`` is the same loop for traces on SC cores (the caller makes sure: no issue
jitter, check or watched line), where a core's accesses run as whole runs of hits and, with
the bus free, the cores run ahead to the first foreseen miss.

Helpers marked ``jit_inline`` are inlined at numba's IR level: numba inlines nothing across
functions otherwise, and these are the hot paths.  Cold paths (the invariant checks) are
called.  The cache stays correct across files (coherence/_jit.py).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, jit_helper, jit_inline
from . import _bus, _core, _trace
from ..protocols.table import BUS_NONE, C_BUS
from ._cache import INVALID, find, stamp
from ._check import coherent_memory, coherent_word
from ._layout import (ACT_ERROR, B_BUSY, B_NPEND, B_UNTIL, CL_LASTPROG, CL_STARTED, CL_T,
                      ERR_STUCK, EVENT_OF_KIND, E_CYCLE, GRANT_ERROR, GRANT_HIT, INF, K_HALTED,
                      K_READY, K_WAIT, P_CHECK, P_CORES, P_DRAIN, P_IJIT, P_LSHIFT, P_MAXCYC,
                      P_SETS, P_SKEW, P_SLICE, P_TLWIN, P_TSO, P_WAYS, P_WINDOW, Q_ADDR, Q_KIND,
                      Q_WAY, STATUS_ERROR, STATUS_HALTED, STATUS_MAXCYC, STATUS_NOPROG,
                      STATUS_PAUSED, STATUS_TLFULL, WAY_UNKNOWN, W_NONE, Flat, bundles, nonneg,
                      rand, set_err)


@jit_inline
def _start(m):
    """A fresh run's start (skipped when a run resumes): each core's random start skew."""
    clk = m.clk
    if clk[CL_STARTED] == 0:
        clk[CL_STARTED] = 1
        for c in range(m.p[P_CORES]):
            m.cpu.k[c, K_READY] = rand(m.rng, m.p[P_SKEW])
        clk[CL_LASTPROG] = 0
        clk[CL_T] = 0


@jit_inline
def _clip(m):
    """No run-ahead goes past max_cycles or the watchdog's no-progress limit."""
    limit = m.p[P_MAXCYC]
    if m.p[P_WINDOW] > 0:
        limit = min(limit, m.clk[CL_LASTPROG] + m.p[P_WINDOW])
    return limit


@jit_inline
def _ahead_limit(m, t):
    """The end of the run-ahead window after cycle t: the cores do not interact before the
    interconnect's next event; with the bus idle, a request posted in t+1 could be granted at
    once (the trace kernel foresees when one will be: _served_alone)."""
    event = _bus.next_event(m.net)
    if event < INF:
        return min(_clip(m), event)
    return t


@jit_inline
def _served_alone(m, t, safe):
    """The bus is idle and nothing is pending (traces on SC cores): the next grant is at the
    first foreseen miss of any core.  When one core's miss is the earliest by itself and no
    other cache can hold its line (the snoop filter), its transaction changes nothing any
    other core can see before that core's own next miss.  So the core runs right here: its
    hits, its miss, the grant, the completion, its next hits and misses, while each of its
    misses stays the earliest and each completion comes before any other core's next miss
    (_trace.solo_run, one loop).  Returns the end of the run-ahead window for the other
    cores, the last cycle in which this loop fully processed a core's actions, and how many
    misses it served (they count as steps of the cycle loop's slice; after a slice's worth
    it stops, leaving the last transaction in flight for the cycle loop, as when a
    completion comes too late).

    Exact: each transaction is granted at the cycle the cycle loop would grant it (the only
    request), draws from the RNG in the same order, and completes before any other core can
    post a request; the other cores run through the same cycles afterwards, in the run-ahead
    loop, and see caches these transactions did not touch.  The protocol must have no error
    entry a core's accesses or a victim could reach (``safe``: served_alone_safe), so
    nothing here fails.  When a miss cannot be served this way (a line another cache may
    hold, the end of the timeline), its request stays pending and the cycle loop resumes at
    its cycle, whose phase 3 grants it; a completion at or past the other cores' next miss,
    max_cycles or the no-progress limit is left to the cycle loop, the bus busy."""
    ncores = m.p[P_CORES]
    clip = _clip(m)
    best = clip
    second = clip
    star = -1
    for c in range(ncores):
        # No core needs to be foreseen past the second earliest miss so far.
        mc = _trace.first_miss(m, c, t, second)
        if mc < best:
            second = best
            best = mc
            star = c
        elif mc < second:
            second = mc
    if star < 0 or best >= second or not safe:
        return min(best, second), t, 0
    return _trace.solo_run(m, star, t, second, m.p[P_SLICE])


@jit_helper
def _saturated(m, t, steps, slice_, alone):
    """The cycle loop of the trace kernel while the bus is saturated: at cycle t a
    transaction completes, another request is pending, and every core that has not halted
    waits for the bus.  Each turn of this loop is the cycle loop's turn at t with what it
    finds there: phase 1 completes the transaction; phase 2 has nothing to do (the completed
    core acts from t+1 on, the others wait); phase 3 grants the next request; only the
    completed core runs ahead, to its next miss, before the new transaction completes; and
    the clock jumps to that completion.  A function of its own (as _trace.solo_run), so that
    this loop keeps what it needs in registers instead of the cycle loop's spills.

    Returns (status, t, steps, mid), status >= 0 when the run ended as the cycle loop's
    would.  Otherwise the cycle loop goes on at t: from its top (``mid`` False: a turn
    this loop does not take, e.g. a core that runs ahead without a miss, the timeline's
    end, the slice), or from its run-ahead (``mid``: phases 1 to 3 of cycle t are done, and
    what comes next is not the one core's run: a request that became a hit, the bus left
    idle, the watchdog's limit)."""
    ncores = m.p[P_CORES]
    tlwin = m.p[P_TLWIN]
    ntl = m.net.timeline.shape[0]
    maxcyc = m.p[P_MAXCYC]
    window = m.p[P_WINDOW]
    k = m.cpu.k
    b = m.net.b
    port = m.net.port
    l1 = m.l1
    table = m.pr.table
    sf = m.net.sf
    filtered = sf.shape[0] > 0
    sfmask = nonneg(sf.shape[0] - 1)
    lshift = m.p[P_LSHIFT]
    smask = nonneg(m.p[P_SETS] - 1)
    ways = m.p[P_WAYS]
    bp = _bus.alone_params(m.p)
    for c in range(ncores):
        if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE:
            return -1, t, steps, False
    while True:
        # The cycle loop's top; each of these it handles itself.
        if b[B_BUSY] == 0 or b[B_UNTIL] != t or b[B_NPEND] == 0:
            return -1, t, steps, False
        if (tlwin > 0 and t // tlwin >= ntl) or steps + 1 > slice_ > 0:
            return -1, t, steps, False
        steps += 1
        # Phase 1: completion.
        p, w = _bus.complete_due(m.net, t)
        if not _trace.complete(m, p, t, w):
            return STATUS_ERROR, t, steps, True
        _bus.finish(m, p, t, w)
        # Phase 3: the bus is free and a request pending.  When no other cache can hold
        # its line (the snoop filter), the grant is grant_alone's (_bus.fill_alone: the
        # protocol is served_alone_safe, so nothing fails); otherwise _grant's, and a
        # request that turned into a hit is performed, as in the cycle loop.
        win = _bus.pick(m)
        q = nonneg(win >> 1)
        line = port[win, Q_ADDR] >> lshift
        s = line & smask
        w2 = port[win, Q_WAY]  # the frame as the trace saw it (see Q_WAY), if still true
        if w2 == WAY_UNKNOWN or (w2 >= 0 and l1.tags[q, s, w2] != line):
            w2 = find(l1, q, s, line, ways)
        ev = EVENT_OF_KIND[port[win, Q_KIND]]
        st = l1.state[q, s, w2] if w2 >= 0 else INVALID
        if (alone and filtered and sf[line & sfmask] <= (1 if w2 >= 0 else 0)
                and table[st, ev, C_BUS] != BUS_NONE):
            lat, action, fw, nst = _bus.fill_alone(m, bp, q, t, line, s, w2, ev)
            stamp(l1, q, s, fw)
            _bus.hold(b, t + lat, win, fw, action)
        else:
            g = _bus.grant(m, win, t, w2)
            became_hit = g == GRANT_HIT
            while g == GRANT_HIT:
                if not _core.complete(m, win, t, np.int64(-1)):
                    return STATUS_ERROR, t, steps, True
                g, win = _bus.arbitrate(m, t)
            if g == GRANT_ERROR:
                return STATUS_ERROR, t, steps, True
            if became_hit or b[B_BUSY] == 0:
                return -1, t, steps, True
        # Run-ahead (_ahead_limit with the bus busy): only the completed core can act.
        limit = min(_clip(m), b[B_UNTIL])
        if limit <= t + 1:
            return -1, t, steps, True
        c = nonneg(p >> 1)
        last = t
        acted = _trace.trace_run(m, c, t + 1, limit)
        if acted == ACT_ERROR:
            return STATUS_ERROR, m.log.err[E_CYCLE], steps, True
        if acted > last:
            last = acted
        if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE:
            # It ran to the limit without a miss: it acts again before the completion.
            status, t = _advance(m, last, True)
            return status, t, steps, False
        # _advance, with every core waiting or halted: the completion is next.
        nxt = max(b[B_UNTIL], last + 1)
        lastp = m.clk[CL_LASTPROG]
        if window > 0 and nxt - lastp > window and lastp + window < maxcyc:
            return STATUS_NOPROG, lastp + window, steps, False
        if nxt >= maxcyc:
            return STATUS_MAXCYC, maxcyc, steps, False
        t = nxt


@jit_inline
def _advance(m, t, lean):
    """The next cycle at which anything can happen, as (-1, cycle); or the run's end as
    (status, cycles), the watchdog's included.  ``lean``: SC cores only (the trace kernel),
    whose store buffers stay empty."""
    maxcyc = m.p[P_MAXCYC]
    window = m.p[P_WINDOW]
    k = m.cpu.k
    sb = m.sb
    nxt = _bus.next_event(m.net)
    alldone = nxt == INF
    for c in range(m.p[P_CORES]):
        if k[c, K_HALTED] == 0:
            alldone = False
            if k[c, K_WAIT] == W_NONE and k[c, K_READY] < nxt:
                nxt = k[c, K_READY]
        if not lean and sb.count[c] > 0:
            alldone = False
            if sb.draining[c] == 0 and sb.ready[c] < nxt:
                nxt = sb.ready[c]
        if nxt <= t + 1:
            break  # nothing can be sooner; alldone is already False
    if nxt == INF:
        if alldone:
            return STATUS_HALTED, t + 1
        set_err(m.log.err, ERR_STUCK, t, -1, 0, 0, 0, 0)
        return STATUS_ERROR, t
    if nxt <= t:
        nxt = t + 1
    lastp = m.clk[CL_LASTPROG]
    if window > 0 and nxt - lastp > window and lastp + window < maxcyc:
        return STATUS_NOPROG, lastp + window
    if nxt >= maxcyc:
        return STATUS_MAXCYC, maxcyc
    return -1, nxt


def _cycle_loop(lean):
    """The cycle loop of a kernel: ``lean`` for traces on SC cores (each core's accesses run
    as whole runs of hits, and with the bus idle the cores run ahead to the first foreseen
    miss), else any program or trace.  A constant of the closure, so that each kernel
    compiles only its own branch of each ``if lean`` (numba prunes them)."""

    @jit_inline
    def run(m):
        """Run the machine to its end (or until the timeline is full): (status, cycles)."""
        ncores = m.p[P_CORES]
        tlwin = m.p[P_TLWIN]
        # Run-ahead needs cycles free of RNG draws and of anything whose order across cores
        # is observable: watched-line logs and check=True's load checks (the lean kernel's
        # caller makes sure of all of it).
        ahead = lean or (m.p[P_IJIT] == 0 and (m.p[P_TSO] == 0 or m.p[P_DRAIN] == 0)
                         and m.p[P_CHECK] == 0 and m.log.watch.shape[0] == 0)
        foresee = False
        alone = False
        if lean:
            foresee = _trace.hits_stable(m.pr)
            alone = _trace.served_alone_safe(m.pr)
        _start(m)
        t = m.clk[CL_T]
        steps = 0
        slice_ = m.p[P_SLICE]
        b = m.net.b
        while True:
            mid = False  # phases 1 to 3 of cycle t are done (by _saturated)
            if lean:
                if b[B_BUSY] != 0 and b[B_UNTIL] == t and b[B_NPEND] > 0:
                    status, t, steps, mid = _saturated(m, t, steps, slice_, alone)
                    if status >= 0:
                        return status, t
            if not mid:
                if tlwin > 0 and t // tlwin >= m.net.timeline.shape[0]:
                    m.clk[CL_T] = t
                    return STATUS_TLFULL, t
                # A long run returns to Python now and then (which resumes it here, exactly),
                # so that Ctrl-C stops it within a fraction of a second.
                steps += 1
                if steps > slice_ > 0:
                    m.clk[CL_T] = t
                    return STATUS_PAUSED, t
                # Phase 1: completion.
                p, w = _bus.complete_due(m.net, t)
                if p >= 0:
                    if not _core.complete(m, p, t, w):
                        return STATUS_ERROR, t
                    _bus.finish(m, p, t, w)
                # Phase 2: each core (its drain unit, then the core itself) in cycle t.
                for c in range(ncores):
                    if lean:
                        if not _trace.may_run(m.cpu.k, c, t + 1):
                            continue
                        acted = _trace.trace_run(m, c, t, t + 1)
                    else:
                        acted = _core.cycle(m, c, t)
                    if acted == ACT_ERROR:
                        return STATUS_ERROR, t
                # Phase 3: arbitration; a request that turned into a hit is performed at once.
                while True:
                    g, p = _bus.arbitrate(m, t)
                    if g == GRANT_ERROR:
                        return STATUS_ERROR, t
                    if g != GRANT_HIT:
                        break
                    if not _core.complete(m, p, t, np.int64(-1)):
                        return STATUS_ERROR, t
            # Run-ahead: the cycles t+1 .. limit-1, in which no transaction is granted or
            # completes and nothing draws from the RNG, so the cores do not interact: a
            # core's hits touch only its own cache and a request it posts waits for the
            # arbitration at `limit` or later.  Visiting those cycles one core after another
            # instead of in time order then gives the same machine, without the loop's cost
            # per cycle.  `last`: the last cycle in which a core acted.
            limit = t
            last = t
            if ahead:
                limit = _ahead_limit(m, t)
                if lean:
                    if foresee and limit == t:
                        limit, last, served = _served_alone(m, t, alone)
                        steps += served
            failed = INF  # the cycle of the earliest error met; later cores stop before it
            for c in range(ncores):
                if limit <= t + 1:
                    break
                if lean:
                    if not _trace.may_run(m.cpu.k, c, limit):
                        continue
                    acted = _trace.trace_run(m, c, t + 1, limit)
                else:
                    acted = _core.core_run(m, c, t + 1, limit)
                if acted == ACT_ERROR:
                    failed = limit = m.log.err[E_CYCLE]
                elif acted > last:
                    last = acted
            if failed < INF:
                return STATUS_ERROR, failed
            # The next cycle at which anything can happen (after a run-ahead, from the last
            # cycle in which a core acted, as if the loop had visited each of them).
            status, t = _advance(m, last, lean)
            if status >= 0:
                return status, t

    return run


_run_program = _cycle_loop(False)
_run_trace = _cycle_loop(True)


@jit
def _simulate(*flat):
    """Run a program or trace to its end (or until the timeline is full): (status, cycles)."""
    return _run_program(bundles(Flat(*flat)))


@jit
def _simulate_trace(*flat):
    """_simulate for a trace on SC cores with no issue jitter, check or watched line."""
    return _run_trace(bundles(Flat(*flat)))


@jit_inline
def _reset(m, init_mem):
    """A clean machine for the next run of a batch (only the sets the last run touched)."""
    l1 = m.l1
    sets = l1.tags.shape[1]
    if l1.ntouched[0] > l1.touched.shape[0]:
        l1.state[:] = 0
        l1.tags[:] = -1
        l1.lru[:] = 0
    else:
        for k in range(l1.ntouched[0]):
            c = l1.touched[k] // sets
            s = l1.touched[k] % sets
            l1.state[c, s, :] = 0
            l1.tags[c, s, :] = -1
            l1.lru[c, s, :] = 0
    l1.ntouched[0] = 0
    for k in range(init_mem.shape[0]):
        m.mem.words[k] = init_mem[k]
        m.mem.golden[k] = init_mem[k]
    l1.clock[:] = 0
    m.cpu.k[:] = 0
    m.cpu.regs[:] = 0
    m.cpu.stats[:] = 0
    m.cpu.latency[:] = 0
    m.net.port[:] = 0
    m.net.b[:] = 0
    m.net.stats[:] = 0
    m.log.transitions[:] = 0
    m.sb.head[:] = 0
    m.sb.count[:] = 0
    m.sb.ready[:] = 0
    m.sb.draining[:] = 0
    m.clk[:] = 0


@jit
def _batch(first, end, resume, init_mem, obs_kind, obs_a, obs_b, out, statuses, *flat):
    """Runs ``first .. end-1`` of a batch, each from a clean machine; one RNG stream for all
    (the caller goes through a batch in slices of runs, so that it sees Ctrl-C).

    ``obs_kind[j]`` 0 = register obs_b of core obs_a, 1 = memory word obs_a; the final values
    go to ``out[iteration, j]``.  Returns ``end``, or the first run not finished: one that
    ended in an error, or one that paused (``statuses`` says which), which the next call
    continues with ``resume`` set.
    """
    m = bundles(Flat(*flat))
    for it in range(first, end):
        if not (resume and it == first):
            _reset(m, init_mem)
        status, cycles = _run_program(m)
        statuses[it] = status
        if status == STATUS_ERROR or status == STATUS_PAUSED:
            return it
        for j in range(obs_kind.shape[0]):
            if obs_kind[j] == 0:
                out[it, j] = m.cpu.regs[obs_a[j], obs_b[j]]
            else:
                out[it, j] = coherent_word(m, obs_a[j])
    return end


@jit
def _coherent_memory(out, *flat):
    """Memory overwritten by the data of every dirty copy (the result's memory)."""
    coherent_memory(bundles(Flat(*flat)), out)
