"""The jitted machine (private).  Semantics: docs/machine.md, line by line.

All state is flat numpy arrays owned by the caller, so a batch can reset and rerun without
allocating, and nothing here is a Python object (which keeps ``cache=True`` effective).

Two kernels run the machine: ``_simulate`` (any program or trace) and ``_simulate_trace``
(traces on SC cores, leaner); both visit the cycles at which something can happen and run the
cores ahead between bus events ("How the engine runs it" in docs/machine.md).  Helpers marked
``jit_inline`` are inlined at numba's IR level, which numba refuses for more than 30
arguments: that, not taste, is why some of them take the arrays they do.

Everything jitted lives in this one file because numba's on-disk cache notices edits only in
the cached function's own file.  After editing a constant imported here (``isa``,
``protocols.table``, ``stats``), run once with ``COHERENCE_JIT_CACHE=0`` or delete the
``__pycache__`` folders, or the cached kernels keep the old values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import JIT_OPTIONS
from ..isa import (F_ADDR, F_B, F_BREG, F_C, F_CREG, F_OP, F_RA, F_RD, OP_ADD, OP_AND, OP_BEQ,
                   OP_BGE, OP_BLT, OP_BNE, OP_CAS, OP_DELAY, OP_FAA, OP_HALT, OP_JMP, OP_LD,
                   OP_MFENCE, OP_MOV, OP_OR, OP_ST, OP_SUB, OP_XCHG, OP_XOR)
from ..protocols.table import (BUS_NONE, BUS_RD, BUS_RDX, BUS_UPGR, C_BUS, C_ERR, C_NEXT,
                               C_SHARED, C_SUPPLY, C_WB, EV_EVICT, EV_LOAD, EV_STORE, ST_E,
                               ST_I, ST_M, ST_O)
from ..stats import (BS_BUSY, BS_C2C, BS_FLUSH, BS_INV, BS_RD, BS_WB, CS_FWD, CS_HITS,
                     CS_INSTR, CS_LOADS, CS_MISSES, CS_RMWS, CS_STALL, CS_STORES)

# No kernel allocates (the caller owns every array), so numba's runtime is off: without it a
# call that passes arrays costs no reference-count traffic, which otherwise dominated the time
# per cycle.  The kernels are resumable (the clock lives in bus[B_T]) so that the caller can
# grow the timeline when it fills.
jit = njit(_nrt=False, **JIT_OPTIONS)
jit_inline = njit(_nrt=False, inline="always", **JIT_OPTIONS)

# params[] indices
(P_CORES, P_SETS, P_WAYS, P_LSHIFT, P_WPL, P_SB, P_ARB, P_HIT, P_BUSLAT, P_MEMLAT, P_C2CLAT,
 P_WBLAT, P_SKEW, P_JITTER, P_DRAIN, P_MAXCYC, P_WINDOW, P_TSO, P_CHECK, P_DATA, P_TLWIN,
 P_TRACE, P_IJIT) = range(23)
NPARAMS = 23

# core[] columns
# K_LOOK* is the run-ahead's look-ahead cursor (see _first_miss): 0 = none, 1 = no miss up to
# cycle K_LOOKT (next access K_LOOKPC), 2 = the first miss is at K_LOOKT (INF: none ever).
K_PC, K_READY, K_WAIT, K_HALTED, K_TBLOCK, K_LOOK, K_LOOKT, K_LOOKPC = range(8)
NK = 8
LOOK_NONE, LOOK_SCAN, LOOK_MISS = range(3)
W_NONE, W_BUS, W_SBFULL, W_DRAIN = range(4)

# port[] columns; two ports per core: 2c = the core, 2c+1 = the store buffer's drain unit
Q_PEND, Q_KIND, Q_ADDR = range(3)
NQ = 3
KIND_LOAD, KIND_STORE, KIND_RMW = range(3)

# bus[] fields
B_BUSY, B_UNTIL, B_PORT, B_RR, B_LASTPROG, B_T, B_STARTED, B_WAY = range(8)
NB = 8

# err[] fields: kind, cycle, core, address, state, event
E_KIND, E_CYCLE, E_CORE, E_ADDR, E_STATE, E_EVENT, E_DETAIL = range(7)
NE = 7
ERR_NONE, ERR_PROTOCOL, ERR_SWMR, ERR_OWNER, ERR_DATA, ERR_LOADVAL, ERR_ADDRESS, ERR_STUCK = \
    range(8)

STATUS_HALTED, STATUS_MAXCYC, STATUS_NOPROG, STATUS_ERROR, STATUS_TLFULL = range(5)

INF = np.int64(1) << np.int64(62)
U12 = np.uint64(12)
U25 = np.uint64(25)
U27 = np.uint64(27)
UMUL = np.uint64(0x2545F4914F6CDD1D)


@jit_inline
def _next(rng):
    x = rng[0]
    x ^= x >> U12
    x ^= x << U25
    x ^= x >> U27
    rng[0] = x
    return x * UMUL


@jit_inline
def _rand(rng, n):
    """Uniform in 0..n (no draw when n == 0)."""
    if n <= 0:
        return np.int64(0)
    return np.int64(_next(rng) % np.uint64(n + 1))


@jit_inline
def _progress(bus, t):
    # Run-ahead visits the cycles of one core after another, not in time order, so the last
    # progress is a maximum (in time order the two are the same).
    if t > bus[B_LASTPROG]:
        bus[B_LASTPROG] = t


@jit_inline
def _find(tags, c, s, line, ways):
    # tags[] is -1 exactly when a frame is invalid (kept so by _set_state), so one compare
    # per way finds a present line.  No early exit: which way holds a random line is what a
    # branch predictor cannot learn, and a full compare of the set vectorises.
    found = -1
    for w in range(ways):
        if tags[c, s, w] == line:
            found = w
    return found


@jit_inline
def _stamp(lru, lruc, c, s, w):
    lruc[c] += 1
    lru[c, s, w] = lruc[c]


@jit_inline
def _set_state(tags, cst, c, s, w, nst, line, t, watch, wlog, wlogn):
    """Change a frame's state, logging it when its line is watched (for line-state plots).

    An invalid frame gets tag -1, so lookups need not read the state."""
    if cst[c, s, w] != nst:
        for k in range(watch.shape[0]):
            if watch[k] == line:
                n = wlogn[0]
                if n < wlog.shape[0]:
                    wlog[n, 0] = t
                    wlog[n, 1] = c
                    wlog[n, 2] = k
                    wlog[n, 3] = nst
                wlogn[0] = n + 1
    cst[c, s, w] = nst
    if nst == ST_I:
        tags[c, s, w] = -1


@jit_inline
def _retire(c, npc, ready, core, cstat, rng, issue_jitter):
    """The instruction at pc is done: next pc, count it, and when the core may issue again
    (plus a random pipeline delay when the config asks for one)."""
    core[c, K_PC] = npc
    cstat[c, CS_INSTR] += 1
    core[c, K_READY] = ready + _rand(rng, issue_jitter)


@jit
def _set_err(err, kind, t, c, addr, state, event, detail):
    err[E_KIND] = kind
    err[E_CYCLE] = t
    err[E_CORE] = c
    err[E_ADDR] = addr
    err[E_STATE] = state
    err[E_EVENT] = event
    err[E_DETAIL] = detail


@jit_inline
def _operand(regs, c, isreg, v):
    if isreg:
        return regs[c, v]
    return v


@jit_inline
def _eff_addr(code, i, regs, c):
    a = code[i, F_ADDR]
    ra = code[i, F_RA]
    if ra >= 0:
        a += regs[c, ra]
    return a


@jit_inline
def _perform(p, t, s, w, addr, params, code, start, core, regs, cdata, golden, sb_addr, sb_val,
             sb_head, bus, err):
    """The data effect of port p's access on frame (s, w).  Returns False on a check error."""
    c = p >> 1
    track = params[P_DATA] != 0
    off = (addr >> 3) & (params[P_WPL] - 1)
    word = addr >> 3
    if p & 1:
        if track:
            v = sb_val[c, sb_head[c]]
            cdata[c, s, w, off] = v
            golden[word] = v
        _progress(bus, t)
        return True
    if params[P_TRACE] != 0:
        _progress(bus, t)  # a trace always moves forward: every access is progress
        return True
    i = start[c] + core[c, K_PC]
    op = code[i, F_OP]
    rd = code[i, F_RD]
    if op == OP_LD:
        v = cdata[c, s, w, off]
        if params[P_CHECK] != 0 and v != golden[word]:
            _set_err(err, ERR_LOADVAL, t, c, addr, v, golden[word], 0)
            return False
        if rd >= 0:
            regs[c, rd] = v
        return True
    bv = _operand(regs, c, code[i, F_BREG], code[i, F_B])
    if op == OP_ST:
        cdata[c, s, w, off] = bv
        golden[word] = bv
    else:
        old = cdata[c, s, w, off]
        if params[P_CHECK] != 0 and old != golden[word]:
            _set_err(err, ERR_LOADVAL, t, c, addr, old, golden[word], 0)
            return False
        new = old
        if op == OP_XCHG:
            new = bv
        elif op == OP_FAA:
            new = old + bv
        elif op == OP_CAS:
            if old == bv:
                new = _operand(regs, c, code[i, F_CREG], code[i, F_C])
        cdata[c, s, w, off] = new
        golden[word] = new
        if rd >= 0:
            regs[c, rd] = old
    _progress(bus, t)
    return True


@jit_inline
def _release_waiter(c, T, core, cstat, sb_cnt, sbsize):
    wt = core[c, K_WAIT]
    if (wt == W_DRAIN and sb_cnt[c] == 0) or (wt == W_SBFULL and sb_cnt[c] < sbsize):
        cstat[c, CS_STALL] += T - core[c, K_TBLOCK]
        core[c, K_WAIT] = W_NONE
        core[c, K_READY] = T + 1


@jit_inline
def _pop_drain(c, T, params, core, cstat, sb_head, sb_cnt, drain_ready, draining, rng):
    sb_head[c] += 1  # ring index; no division in the hot loop
    if sb_head[c] == params[P_SB]:
        sb_head[c] = 0
    sb_cnt[c] -= 1
    draining[c] = 0
    _release_waiter(c, T, core, cstat, sb_cnt, params[P_SB])


@jit_inline
def _complete(p, T, s, w, addr, params, code, start, core, regs, cdata, golden, cstat, sb_addr,
              sb_val, sb_head, sb_cnt, drain_ready, draining, bus, err, rng):
    """Perform port p's access at cycle T and release whoever waited for it."""
    c = p >> 1
    if w < 0:
        # Only a protocol whose transaction leaves the requester's line invalid gets here.
        _set_err(err, ERR_PROTOCOL, T, c, addr, ST_I, EV_STORE if p & 1 else -1, 1)
        return False
    if not _perform(p, T, s, w, addr, params, code, start, core, regs, cdata, golden, sb_addr,
                    sb_val, sb_head, bus, err):
        return False
    if p & 1:
        _pop_drain(c, T, params, core, cstat, sb_head, sb_cnt, drain_ready, draining, rng)
        if sb_cnt[c] > 0:
            drain_ready[c] = T + 1 + _rand(rng, params[P_DRAIN])
    else:
        cstat[c, CS_STALL] += T - core[c, K_TBLOCK]
        core[c, K_WAIT] = W_NONE
        core[c, K_LOOK] = LOOK_NONE  # the miss it foresaw is served
        _retire(c, core[c, K_PC] + 1, T + 1, core, cstat, rng, params[P_IJIT])
    return True


@jit
def _check_line(line, s, t, c, params, tags, cst, cdata, mem, golden, err):
    """SWMR, one owner and data values for one line, after a transaction."""
    ncores = params[P_CORES]
    ways = params[P_WAYS]
    wpl = params[P_WPL]
    writers = 0
    owners = 0
    present = 0
    for c2 in range(ncores):
        w2 = _find(tags, c2, s, line, ways)
        if w2 < 0:
            continue
        st = cst[c2, s, w2]
        present += 1
        if st == ST_M or st == ST_E:
            writers += 1
        if st == ST_M or st == ST_O:
            owners += 1
        if params[P_DATA] != 0:
            base = line * wpl
            for k in range(wpl):
                if base + k < golden.shape[0] and cdata[c2, s, w2, k] != golden[base + k]:
                    _set_err(err, ERR_DATA, t, c2, (base + k) << 3, cdata[c2, s, w2, k],
                             golden[base + k], 0)
                    return False
    if writers > 1 or (writers == 1 and present > 1):
        _set_err(err, ERR_SWMR, t, c, line << params[P_LSHIFT], writers, present, 0)
        return False
    if owners > 1:
        _set_err(err, ERR_OWNER, t, c, line << params[P_LSHIFT], owners, present, 0)
        return False
    if owners == 0 and params[P_DATA] != 0:
        base = line * wpl
        for k in range(wpl):
            if base + k < golden.shape[0] and mem[base + k] != golden[base + k]:
                _set_err(err, ERR_DATA, t, -1, (base + k) << 3, mem[base + k],
                         golden[base + k], 1)
                return False
    return True


@jit_inline
def _grant(p, t, kind, addr, params, table, tags, cst, lru, look, sf, lruc, cdata, mem, golden,
           core, cstat, bstat, bus, err, rng, touched, ntouched, watch, wlog, wlogn):
    """Re-evaluate and, if the line still needs the bus, run the transaction's snoops and fill.

    ``sf`` is a snoop filter (or empty: none): ``sf[line & (len-1)]`` counts the valid frames
    of all caches whose line falls in that bucket, so a zero beside the requester's own copy
    says that no other cache has the line and the snoops can be skipped.

    Returns -1 on error, 0 when the request turned into a hit, else 1 + 4*bus_action + wb.
    """
    c = p >> 1
    ncores = params[P_CORES]
    ways = params[P_WAYS]
    wpl = params[P_WPL]
    track = params[P_DATA] != 0
    line = addr >> params[P_LSHIFT]
    s = line & (params[P_SETS] - 1)
    nsf = sf.shape[0]
    h = line & (nsf - 1)
    w = _find(tags, c, s, line, ways)
    st = cst[c, s, w] if w >= 0 else ST_I
    ev = EV_LOAD if kind == KIND_LOAD else EV_STORE
    if table[st, ev, C_ERR] != 0:
        _set_err(err, ERR_PROTOCOL, t, c, addr, st, ev, 0)
        return -1
    action = table[st, ev, C_BUS]
    if action == BUS_NONE:
        if nsf > 0 and table[st, ev, C_NEXT] == ST_I:
            sf[h] -= 1
        _set_state(tags, cst, c, s, w, table[st, ev, C_NEXT], line, t, watch, wlog, wlogn)
        _stamp(lru, lruc, c, s, w)
        return 0
    bstat[BS_RD + action - 1] += 1
    shared = False
    src = -1
    srcw = -1
    sev = action + 2  # BusRd/BusRdX/BusUpgr are events 3/4/5
    others = ncores
    if nsf > 0 and sf[h] <= (1 if w >= 0 else 0):
        others = 0  # no other cache holds the line
    for c2 in range(others):
        if c2 == c:
            continue
        w2 = _find(tags, c2, s, line, ways)
        if w2 < 0:
            continue
        shared = True
        st2 = cst[c2, s, w2]
        if table[st2, sev, C_ERR] != 0:
            _set_err(err, ERR_PROTOCOL, t, c2, addr, st2, sev, 0)
            return -1
        sup = table[st2, sev, C_SUPPLY] != 0
        if sup and src < 0:
            src = c2
            srcw = w2
            bstat[BS_FLUSH] += 1
        if table[st2, sev, C_WB] != 0:
            if track:
                for k in range(wpl):
                    mem[line * wpl + k] = cdata[c2, s, w2, k]
            if not sup:
                bstat[BS_FLUSH] += 1
        nst = table[st2, sev, C_NEXT]
        if nst == ST_I:
            bstat[BS_INV] += 1
            if nsf > 0:
                sf[h] -= 1
        if nst != st2 and look[c2, s, w2] >= core[c2, K_PC]:
            core[c2, K_LOOK] = LOOK_NONE  # a hit it foresaw on this line may be a miss now
        _set_state(tags, cst, c2, s, w2, nst, line, t, watch, wlog, wlogn)
    wb = 0
    if w < 0:
        # The lowest-numbered invalid frame (tag -1), else the least recently used one: the
        # minimum of (stamp << 16 | way), with no branch for a random LRU order to
        # mispredict (ways <= 2**16; config.py enforces it).
        least = INF
        for w2 in range(ways):
            if tags[c, s, w2] < 0:
                least = w2
                break
            least = min(least, (lru[c, s, w2] << 16) | w2)
        w = least & 0xFFFF
        vst = cst[c, s, w]
        if vst != ST_I:
            if table[vst, EV_EVICT, C_ERR] != 0:
                _set_err(err, ERR_PROTOCOL, t, c, tags[c, s, w] << params[P_LSHIFT], vst,
                         EV_EVICT, 0)
                return -1
            if table[vst, EV_EVICT, C_WB] != 0:
                wb = 1
                bstat[BS_WB] += 1
                if track:
                    vl = tags[c, s, w]
                    for k in range(wpl):
                        mem[vl * wpl + k] = cdata[c, s, w, k]
            if nsf > 0:
                sf[tags[c, s, w] & (nsf - 1)] -= 1
            _set_state(tags, cst, c, s, w, ST_I, tags[c, s, w], t, watch, wlog, wlogn)
        tags[c, s, w] = line
        if nsf > 0:
            sf[h] += 1
        if touched.shape[0] > 0:
            # A batch resets only the sets it touched; past the log's end it resets them all.
            if ntouched[0] < touched.shape[0]:
                touched[ntouched[0]] = c * params[P_SETS] + s
            ntouched[0] += 1
    if action == BUS_RD or action == BUS_RDX:
        if src >= 0:
            bstat[BS_C2C] += 1
        if track:
            for k in range(wpl):
                if src >= 0:
                    cdata[c, s, w, k] = cdata[src, s, srcw, k]
                else:
                    cdata[c, s, w, k] = mem[line * wpl + k]
    nst = table[st, ev, C_SHARED] if ev == EV_LOAD and shared else table[st, ev, C_NEXT]
    if nsf > 0 and nst == ST_I:
        sf[h] -= 1  # a protocol may leave the line invalid (_complete then reports it)
    _set_state(tags, cst, c, s, w, nst, line, t, watch, wlog, wlogn)
    _stamp(lru, lruc, c, s, w)
    if action == BUS_UPGR:
        lat = params[P_BUSLAT]
    elif src >= 0:
        lat = params[P_C2CLAT]
    else:
        lat = params[P_MEMLAT]
    if wb:
        lat += params[P_WBLAT]
    lat += _rand(rng, params[P_JITTER])
    bus[B_BUSY] = 1
    bus[B_UNTIL] = t + lat
    bus[B_PORT] = p
    bus[B_WAY] = w  # no other grant can touch the frame before the completion
    bstat[BS_BUSY] += lat
    if params[P_CHECK] != 0:
        if not _check_line(line, s, t, c, params, tags, cst, cdata, mem, golden, err):
            return -1
    return 1 + 4 * action + wb


@jit_inline
def _attempt(p, t, kind, addr, params, table, tags, cst, lru, lruc, cstat, port, err, watch,
             wlog, wlogn):
    """Look the access up in the cache; on a hit update the line's state, LRU and the hit
    count, else post the port's request.

    Returns the frame's way + 1 on a hit (the caller performs it), 0 when a request was
    posted, -1 on an error.  Inlined: this is the hot path of every load and store.
    """
    c = p >> 1
    line = addr >> params[P_LSHIFT]
    s = line & (params[P_SETS] - 1)
    w = _find(tags, c, s, line, params[P_WAYS])
    st = cst[c, s, w] if w >= 0 else ST_I
    ev = EV_LOAD if kind == KIND_LOAD else EV_STORE
    if table[st, ev, C_ERR] != 0:
        _set_err(err, ERR_PROTOCOL, t, c, addr, st, ev, 0)
        return -1
    if table[st, ev, C_BUS] == BUS_NONE:
        cstat[c, CS_HITS] += 1
        _set_state(tags, cst, c, s, w, table[st, ev, C_NEXT], line, t, watch, wlog, wlogn)
        _stamp(lru, lruc, c, s, w)
        return w + 1
    cstat[c, CS_MISSES] += 1
    port[p, Q_PEND] = 1
    port[p, Q_KIND] = kind
    port[p, Q_ADDR] = addr
    return 0


@jit_inline
def _core_step(c, t, params, table, code, start, length, twrite, taddr, tags, cst, lru, lruc,
               cdata, golden, core, regs, cstat, port, sb_addr, sb_val, sb_head, sb_cnt,
               drain_ready, bus, rng, err, watch, wlog, wlogn):
    """Phase 2b: core c (runnable and ready) issues the instruction at its pc at cycle t.

    Returns -1 on an error, 1 when it posted a bus request, else 0.
    """
    tso = params[P_TSO] != 0
    trace = params[P_TRACE] != 0
    hit = params[P_HIT]
    sbsize = params[P_SB]
    ijit = params[P_IJIT]
    lshift = params[P_LSHIFT]
    smask = params[P_SETS] - 1
    pc = core[c, K_PC]
    if pc >= length[c]:
        core[c, K_HALTED] = 1
        _progress(bus, t)
        return 0
    # kind >= 0: the instruction is a cache access of that kind, done below.
    kind = -1
    if trace:
        i = start[c] + pc
        wr = np.int64(twrite[i] != 0)
        op = OP_ST if wr else OP_LD
        addr = taddr[i]
        if not tso:
            # Loads and stores share one path without branching on the op (Load/Store
            # kinds and counters are adjacent): a random read/write mix is what a
            # branch predictor cannot learn.
            cstat[c, CS_LOADS + wr] += 1
            kind = KIND_LOAD + wr
            op = -1
    else:
        i = start[c] + pc
        op = code[i, F_OP]
        addr = 0
        if op == OP_LD or op == OP_ST or op == OP_XCHG or op == OP_CAS or op == OP_FAA:
            addr = _eff_addr(code, i, regs, c)
            if addr < 0 or (addr & 7) != 0 or (addr >> 3) >= golden.shape[0]:
                _set_err(err, ERR_ADDRESS, t, c, addr, pc, 0, 0)
                return -1
    if op == OP_LD:
        cstat[c, CS_LOADS] += 1
        if tso and sb_cnt[c] > 0:
            fwd = False
            fv = np.int64(0)
            for k in range(sb_cnt[c]):
                j = sb_head[c] + k
                if j >= sbsize:
                    j -= sbsize
                if sb_addr[c, j] >> 3 == addr >> 3:
                    fwd = True
                    fv = sb_val[c, j]
            if fwd:
                cstat[c, CS_FWD] += 1
                if not trace and code[i, F_RD] >= 0:
                    regs[c, code[i, F_RD]] = fv
                _retire(c, pc + 1, t + hit, core, cstat, rng, ijit)
                return 0
        kind = KIND_LOAD
    elif op == OP_ST:
        if tso:
            if sb_cnt[c] >= sbsize:
                core[c, K_WAIT] = W_SBFULL
                core[c, K_TBLOCK] = t
                return 0
            j = sb_head[c] + sb_cnt[c]
            if j >= sbsize:
                j -= sbsize
            sb_addr[c, j] = addr
            sb_val[c, j] = 0 if trace else _operand(regs, c, code[i, F_BREG],
                                                    code[i, F_B])
            if sb_cnt[c] == 0:
                drain_ready[c] = t + 1 + _rand(rng, params[P_DRAIN])
            sb_cnt[c] += 1
            cstat[c, CS_STORES] += 1
            _retire(c, pc + 1, t + 1, core, cstat, rng, ijit)
            return 0
        cstat[c, CS_STORES] += 1
        kind = KIND_STORE
    elif op == OP_XCHG or op == OP_CAS or op == OP_FAA:
        if tso and sb_cnt[c] > 0:
            core[c, K_WAIT] = W_DRAIN
            core[c, K_TBLOCK] = t
            return 0
        cstat[c, CS_RMWS] += 1
        kind = KIND_RMW
    elif op == OP_MFENCE:
        if tso and sb_cnt[c] > 0:
            core[c, K_WAIT] = W_DRAIN
            core[c, K_TBLOCK] = t
            return 0
        _retire(c, pc + 1, t + 1, core, cstat, rng, ijit)
    elif op == OP_HALT:
        core[c, K_HALTED] = 1
        _progress(bus, t)
    elif kind < 0:
        npc = pc + 1
        ready = t + 1
        rd = code[i, F_RD]
        bv = _operand(regs, c, code[i, F_BREG], code[i, F_B])
        if op == OP_MOV:
            regs[c, rd] = bv
        elif op == OP_ADD:
            regs[c, rd] = regs[c, code[i, F_RA]] + bv
        elif op == OP_SUB:
            regs[c, rd] = regs[c, code[i, F_RA]] - bv
        elif op == OP_AND:
            regs[c, rd] = regs[c, code[i, F_RA]] & bv
        elif op == OP_OR:
            regs[c, rd] = regs[c, code[i, F_RA]] | bv
        elif op == OP_XOR:
            regs[c, rd] = regs[c, code[i, F_RA]] ^ bv
        elif op == OP_JMP:
            npc = code[i, F_ADDR]
        elif op == OP_BEQ or op == OP_BNE or op == OP_BLT or op == OP_BGE:
            av = regs[c, code[i, F_RA]]
            if ((op == OP_BEQ and av == bv) or (op == OP_BNE and av != bv)
                    or (op == OP_BLT and av < bv) or (op == OP_BGE and av >= bv)):
                npc = code[i, F_ADDR]
        elif op == OP_DELAY:
            ready = t + max(bv, 1)
        _retire(c, npc, ready, core, cstat, rng, ijit)
    if kind >= 0:
        # Every cache access of the core port: a hit is performed now, a miss waits.
        r = _attempt(2 * c, t, kind, addr, params, table, tags, cst, lru, lruc, cstat,
                     port, err, watch, wlog, wlogn)
        if r < 0:
            return -1
        if r > 0:
            if not _perform(2 * c, t, (addr >> lshift) & smask, r - 1, addr, params,
                            code, start, core, regs, cdata, golden, sb_addr, sb_val,
                            sb_head, bus, err):
                return -1
            _retire(c, pc + 1, t + hit, core, cstat, rng, ijit)
        else:
            core[c, K_WAIT] = W_BUS
            core[c, K_TBLOCK] = t
            return 1
    return 0


@jit_inline
def _drain_step(c, t, params, table, code, start, tags, cst, lru, lruc, cdata, golden, core,
                regs, cstat, port, sb_addr, sb_val, sb_head, sb_cnt, drain_ready, draining,
                bus, rng, err, watch, wlog, wlogn):
    """Phase 2a: the head of core c's store buffer tries to drain at cycle t.

    Returns -1 on an error, 1 when it posted a bus request, else 0.
    """
    p = 2 * c + 1
    addr = sb_addr[c, sb_head[c]]
    r = _attempt(p, t, KIND_STORE, addr, params, table, tags, cst, lru, lruc, cstat, port, err,
                 watch, wlog, wlogn)
    if r < 0:
        return -1
    if r == 0:
        draining[c] = 1
        return 1
    s = (addr >> params[P_LSHIFT]) & (params[P_SETS] - 1)
    _perform(p, t, s, r - 1, addr, params, code, start, core, regs, cdata, golden, sb_addr,
             sb_val, sb_head, bus, err)
    _pop_drain(c, t, params, core, cstat, sb_head, sb_cnt, drain_ready, draining, rng)
    if sb_cnt[c] > 0:
        drain_ready[c] = t + params[P_HIT] + _rand(rng, params[P_DRAIN])
    return 0


@jit_inline
def _is_hit(table, st, ev):
    return table[st, ev, C_ERR] == 0 and table[st, ev, C_BUS] == BUS_NONE


@jit
def _hit_code(table):
    """The table's hits packed in one integer for the trace loops, which then read no table:
    bit 2*state+event says the pair is a hit, bits 16+3*(2*state+event) hold its next state."""
    code = np.int64(0)
    for st in range(table.shape[0]):
        for ev in range(2):
            k = 2 * st + ev
            if _is_hit(table, st, ev):
                code |= np.int64(1) << k
                code |= np.int64(table[st, ev, C_NEXT]) << (16 + 3 * k)
    return code


@jit
def _hits_stable(table):
    """True when no hit changes which of the core's own later accesses hit.

    Then a core's run of hits can be foreseen from the tags and states alone (the run-ahead's
    look-ahead), e.g. MESI's silent E -> M keeps both Load and Store hits."""
    for st in range(table.shape[0]):
        for ev in range(2):
            if _is_hit(table, st, ev):
                nst = table[st, ev, C_NEXT]
                for ev2 in range(2):
                    if _is_hit(table, st, ev2) != _is_hit(table, nst, ev2):
                        return False
    return True


@jit_inline
def _first_miss(c, t, limit, params, hitcode, start, length, twrite, taddr, tags, cst, look,
                lookw, core):
    """The first cycle before ``limit`` at which core c's trace accesses (SC) would need the
    bus, as things stand, or ``limit``.  Reads the caches only.

    The answer stays true until a snoop changes the state of a line that one of the foreseen
    accesses uses (``look[c, s, w]`` is the last foreseen access to frame w) or the core's own
    transaction completes; both drop the cursor.  Otherwise the scan resumes where it stopped
    instead of reading the same accesses again at every bus event.  The way of each foreseen
    access goes to the ring ``lookw[c]`` (so _trace_run need not search for it again), which
    also bounds how far ahead the scan goes."""
    if core[c, K_HALTED] != 0:
        return limit
    if core[c, K_LOOKPC] < core[c, K_PC]:
        core[c, K_LOOK] = LOOK_NONE  # the core ran past it (ahead of a busy bus): start anew
    if core[c, K_LOOK] == LOOK_NONE:
        core[c, K_LOOK] = LOOK_SCAN
        core[c, K_LOOKT] = max(core[c, K_READY], t)
        core[c, K_LOOKPC] = core[c, K_PC]
    if core[c, K_LOOK] == LOOK_MISS:
        return min(core[c, K_LOOKT], limit)
    lshift = params[P_LSHIFT]
    smask = params[P_SETS] - 1
    ways = params[P_WAYS]
    hit = params[P_HIT]
    ring = lookw.shape[1]
    tau = core[c, K_LOOKT]
    i = start[c] + core[c, K_LOOKPC]
    end = min(start[c] + length[c], start[c] + core[c, K_PC] + ring)
    while tau < limit:
        if i >= end:
            if end == start[c] + length[c]:
                tau = INF  # the core halts: nothing it does reaches the bus
            break
        line = taddr[i] >> lshift
        s = line & smask
        w = _find(tags, c, s, line, ways)
        if w < 0 or (hitcode >> (2 * cst[c, s, w] + (twrite[i] != 0))) & 1 == 0:
            core[c, K_LOOK] = LOOK_MISS
            break
        look[c, s, w] = i - start[c]
        lookw[c, i & (ring - 1)] = w
        tau += hit
        i += 1
    core[c, K_LOOKT] = tau
    core[c, K_LOOKPC] = i - start[c]
    if tau == INF:
        core[c, K_LOOK] = LOOK_MISS
    return min(tau, limit)


@jit_inline
def _trace_run(c, tau, limit, params, table, hitcode, start, length, twrite, taddr, tags, cst,
               lru, sf, lookw, lruc, core, cstat, port, bus, err):
    """Run core c's trace accesses (SC core, no issue jitter) in cycles tau .. limit-1: hits,
    then the miss that ends the run (posted), or the halt at the trace's end; what
    _core_step does for each, with the counters added once at the end.

    Returns the last cycle in which the core acted (tau - 1 if none), or -1 on an error.
    """
    lshift = params[P_LSHIFT]
    smask = params[P_SETS] - 1
    ways = params[P_WAYS]
    hit = params[P_HIT]
    i0 = start[c] + core[c, K_PC]
    i = i0
    end = start[c] + length[c]
    stamp = lruc[c]
    stores = 0
    acted = tau - 1
    # Accesses before the look-ahead cursor are hits whose way _first_miss kept.
    seen = start[c] + core[c, K_LOOKPC] if core[c, K_LOOK] != LOOK_NONE else i0
    ring = lookw.shape[1]
    while tau < limit:
        if i >= end:
            core[c, K_HALTED] = 1
            _progress(bus, tau)
            acted = tau
            break
        line = taddr[i] >> lshift
        s = line & smask
        w = lookw[c, i & (ring - 1)] if i < seen else _find(tags, c, s, line, ways)
        wr = np.int64(twrite[i] != 0)
        st = cst[c, s, w] if w >= 0 else ST_I
        k = 2 * st + wr
        if (hitcode >> k) & 1 == 0:
            if table[st, wr, C_ERR] != 0:
                _set_err(err, ERR_PROTOCOL, tau, c, taddr[i], st, wr, 0)
                acted = -1
                break
            cstat[c, CS_LOADS + wr] += 1
            cstat[c, CS_MISSES] += 1
            port[2 * c, Q_PEND] = 1
            port[2 * c, Q_KIND] = KIND_LOAD + wr
            port[2 * c, Q_ADDR] = taddr[i]
            core[c, K_WAIT] = W_BUS
            core[c, K_TBLOCK] = tau
            acted = tau
            break
        nst = (hitcode >> (16 + 3 * k)) & 7
        if nst != st:
            cst[c, s, w] = nst
            if nst == ST_I:
                tags[c, s, w] = -1
                if sf.shape[0] > 0:
                    sf[line & (sf.shape[0] - 1)] -= 1
        stamp += 1
        lru[c, s, w] = stamp
        stores += wr
        acted = tau
        tau += hit
        i += 1
    n = i - i0
    if n > 0:
        # Counted here, not per access: the hits of the run.  (A posted miss is counted above
        # and does not retire.)
        lruc[c] = stamp
        core[c, K_PC] += n
        core[c, K_READY] = tau
        cstat[c, CS_INSTR] += n
        cstat[c, CS_HITS] += n
        cstat[c, CS_STORES] += stores
        cstat[c, CS_LOADS] += n - stores
        _progress(bus, tau - hit)
    return acted


@jit_inline
def _finish(p, t, w, params, code, start, tags, core, regs, cdata, golden, cstat, port, sb_addr,
            sb_val, sb_head, sb_cnt, drain_ready, draining, bus, err, rng):
    """Clear port p's request and perform it at cycle t.  ``w`` is the frame its transaction
    filled (the bus keeps it: no other grant can touch it meanwhile) or -1 to look it up."""
    addr = port[p, Q_ADDR]
    line = addr >> params[P_LSHIFT]
    s = line & (params[P_SETS] - 1)
    if w < 0:
        w = _find(tags, p >> 1, s, line, params[P_WAYS])
    elif tags[p >> 1, s, w] != line:
        w = -1  # a protocol left the line invalid: _complete reports it
    port[p, Q_PEND] = 0
    return _complete(p, t, s, w, addr, params, code, start, core, regs, cdata, golden, cstat,
                     sb_addr, sb_val, sb_head, sb_cnt, drain_ready, draining, bus, err, rng)


@jit_inline
def _phase1(t, params, code, start, tags, core, regs, cdata, golden, cstat, port, sb_addr, sb_val,
            sb_head, sb_cnt, drain_ready, draining, bus, err, rng):
    """Phase 1: the transaction in flight completes if its time has come.  Returns -1 on an
    error, 1 when one completed (the bus came free), else 0."""
    if bus[B_BUSY] == 0 or bus[B_UNTIL] > t:
        return 0
    bus[B_BUSY] = 0
    if not _finish(bus[B_PORT], t, bus[B_WAY], params, code, start, tags, core, regs, cdata,
                   golden, cstat, port, sb_addr, sb_val, sb_head, sb_cnt, drain_ready, draining,
                   bus, err, rng):
        return -1
    return 1


@jit_inline
def _start(params, core, rng, bus):
    """A fresh run's start (skipped when a run resumes): each core's random start skew."""
    if bus[B_STARTED] == 0:
        bus[B_STARTED] = 1
        for c in range(params[P_CORES]):
            core[c, K_READY] = _rand(rng, params[P_SKEW])
        bus[B_LASTPROG] = 0
        bus[B_T] = 0


@jit_inline
def _arbitrate(t, params, table, tags, cst, lru, look, sf, lruc, cdata, mem, golden, core, port,
               bus, rng, cstat, bstat, timeline, err, touched, ntouched, watch, wlog, wlogn):
    """Phase 3, one step: if the bus is free, grant the pending request the policy picks.

    Returns -1 on an error, 0 when nothing was granted (bus busy or nothing pending), 1 for a
    transaction, 2 + port when the request turned into a hit: the caller completes it now
    and arbitrates again.
    """
    if bus[B_BUSY] != 0:
        return 0
    nports = 2 * params[P_CORES]
    arb = params[P_ARB]
    tlwin = params[P_TLWIN]
    win = -1
    if arb == 2:
        npend = 0
        for q in range(nports):
            npend += port[q, Q_PEND] != 0
        if npend == 0:
            return 0
        k = np.int64(_next(rng) % np.uint64(npend))
        for q in range(nports):
            if port[q, Q_PEND] != 0:
                if k == 0:
                    win = q
                    break
                k -= 1
    else:
        # Round-robin scans from the pointer, fixed priority from port 0.
        first = bus[B_RR] if arb == 0 else 0
        for k in range(nports):
            q = first + k
            if q >= nports:
                q -= nports
            if port[q, Q_PEND] != 0:
                win = q
                break
        if win < 0:
            return 0
        if arb == 0:
            bus[B_RR] = win + 1 if win + 1 < nports else 0
    g = _grant(win, t, port[win, Q_KIND], port[win, Q_ADDR], params, table, tags, cst, lru, look,
               sf, lruc, cdata, mem, golden, core, cstat, bstat, bus, err, rng, touched,
               ntouched, watch, wlog, wlogn)
    if g < 0:
        return -1
    if g == 0:
        port[win, Q_PEND] = 0
        return 2 + win
    if tlwin > 0:
        widx = t // tlwin
        timeline[widx, (g - 1) // 4 - 1] += 1
        if (g - 1) & 1:
            timeline[widx, 3] += 1
    return 1


@jit_inline
def _advance(t, params, core, sb_cnt, draining, drain_ready, bus, err):
    """The next cycle at which anything can happen, as (-1, cycle); or the run's end as
    (status, cycles), the watchdog's included."""
    ncores = params[P_CORES]
    maxcyc = params[P_MAXCYC]
    window = params[P_WINDOW]
    nxt = INF
    if bus[B_BUSY] != 0:
        nxt = bus[B_UNTIL]
    alldone = bus[B_BUSY] == 0
    for c in range(ncores):
        if core[c, K_HALTED] == 0:
            alldone = False
            if core[c, K_WAIT] == W_NONE and core[c, K_READY] < nxt:
                nxt = core[c, K_READY]
        if sb_cnt[c] > 0:
            alldone = False
            if draining[c] == 0 and drain_ready[c] < nxt:
                nxt = drain_ready[c]
        if nxt <= t + 1:
            break  # nothing can be sooner; alldone is already False
    if nxt == INF:
        if alldone:
            return STATUS_HALTED, t + 1
        _set_err(err, ERR_STUCK, t, -1, 0, 0, 0, 0)
        return STATUS_ERROR, t
    if nxt <= t:
        nxt = t + 1
    lastp = bus[B_LASTPROG]
    if window > 0 and nxt - lastp > window and lastp + window < maxcyc:
        return STATUS_NOPROG, lastp + window
    if nxt >= maxcyc:
        return STATUS_MAXCYC, maxcyc
    return -1, nxt


@jit
def _simulate(params, table, code, start, length, twrite, taddr, mem, golden, tags, cst, lru,
              look, sf, lruc, cdata, core, regs, port, sb_addr, sb_val, sb_head, sb_cnt,
              drain_ready, draining, bus, rng, cstat, bstat, timeline, err, touched, ntouched,
              watch, wlog, wlogn):
    """Run one program to its end (or until the timeline is full).  Returns (status, cycles)."""
    ncores = params[P_CORES]
    tso = params[P_TSO] != 0
    maxcyc = params[P_MAXCYC]
    window = params[P_WINDOW]
    tlwin = params[P_TLWIN]
    # Run-ahead (below) needs cycles free of RNG draws and of anything whose order across
    # cores is observable: watched-line logs and check=True's load checks.
    ahead = (params[P_IJIT] == 0 and (not tso or params[P_DRAIN] == 0)
             and params[P_CHECK] == 0 and watch.shape[0] == 0)
    _start(params, core, rng, bus)
    t = bus[B_T]
    while True:
        if tlwin > 0 and t // tlwin >= timeline.shape[0]:
            bus[B_T] = t
            return STATUS_TLFULL, t
        # Phase 1.  Requests wait only while the bus is busy, so arbitration has work only in
        # a cycle in which the bus came free or a request was posted.
        done = _phase1(t, params, code, start, tags, core, regs, cdata, golden, cstat, port,
                       sb_addr, sb_val, sb_head, sb_cnt, drain_ready, draining, bus, err, rng)
        if done < 0:
            return STATUS_ERROR, t
        arbitrate = done > 0
        # Phase 2: each core's drain unit, then the core itself.
        for c in range(ncores):
            if tso and sb_cnt[c] > 0 and draining[c] == 0 and t >= drain_ready[c]:
                r = _drain_step(c, t, params, table, code, start, tags, cst, lru, lruc, cdata,
                                golden, core, regs, cstat, port, sb_addr, sb_val, sb_head,
                                sb_cnt, drain_ready, draining, bus, rng, err, watch, wlog,
                                wlogn)
                if r < 0:
                    return STATUS_ERROR, t
                if r > 0:
                    arbitrate = True
            if core[c, K_HALTED] != 0 or core[c, K_WAIT] != W_NONE or core[c, K_READY] > t:
                continue
            r = _core_step(c, t, params, table, code, start, length, twrite, taddr, tags, cst,
                           lru, lruc, cdata, golden, core, regs, cstat, port, sb_addr, sb_val,
                           sb_head, sb_cnt, drain_ready, bus, rng, err, watch, wlog, wlogn)
            if r < 0:
                return STATUS_ERROR, t
            if r > 0:
                arbitrate = True
        # Phase 3: arbitration (requests wait only while the bus is busy, so there is work
        # only in a cycle in which the bus came free or a request was posted).
        while arbitrate:
            g = _arbitrate(t, params, table, tags, cst, lru, look, sf, lruc, cdata, mem, golden,
                           core, port, bus, rng, cstat, bstat, timeline, err, touched, ntouched,
                           watch, wlog, wlogn)
            if g < 0:
                return STATUS_ERROR, t
            if g < 2:
                break
            # A request re-evaluated as a hit is performed now; arbitration goes on.
            if not _finish(g - 2, t, -1, params, code, start, tags, core, regs, cdata, golden,
                           cstat, port, sb_addr, sb_val, sb_head, sb_cnt, drain_ready,
                           draining, bus, err, rng):
                return STATUS_ERROR, t
        # Run-ahead: the cycles t+1 .. limit-1, in which no transaction is granted or
        # completes and nothing draws from the RNG, so the cores do not interact: a core's
        # hits touch only its own cache and a request it posts waits for the arbitration at
        # `limit` or later.  Visiting those cycles one core after another instead of in time
        # order then gives the same machine, without the main loop's cost per cycle.
        limit = t
        if ahead:
            limit = maxcyc
            if window > 0:
                limit = min(limit, bus[B_LASTPROG] + window)  # no watchdog trip on the way
            if bus[B_BUSY] != 0:
                limit = min(limit, bus[B_UNTIL])
            else:
                limit = t  # a request posted in t+1 could be granted at once
        last = t  # the last cycle in which a core acted
        failed = INF  # the cycle of the earliest error met; later cores stop before it
        for c in range(ncores):
            if limit <= t + 1:
                break
            tau = INF
            if core[c, K_HALTED] == 0 and core[c, K_WAIT] == W_NONE:
                tau = core[c, K_READY]
            if tso and sb_cnt[c] > 0 and draining[c] == 0 and drain_ready[c] < tau:
                tau = drain_ready[c]
            tau = max(tau, t + 1)
            while tau < limit:
                last = max(last, tau)
                if tso and sb_cnt[c] > 0 and draining[c] == 0 and tau >= drain_ready[c]:
                    r = _drain_step(c, tau, params, table, code, start, tags, cst, lru, lruc,
                                    cdata, golden, core, regs, cstat, port, sb_addr, sb_val,
                                    sb_head, sb_cnt, drain_ready, draining, bus, rng, err, watch,
                                    wlog, wlogn)
                    if r < 0:
                        failed = limit = tau
                        break
                runnable = core[c, K_HALTED] == 0 and core[c, K_WAIT] == W_NONE
                if runnable and core[c, K_READY] <= tau:
                    r = _core_step(c, tau, params, table, code, start, length, twrite, taddr,
                                   tags, cst, lru, lruc, cdata, golden, core, regs, cstat, port,
                                   sb_addr, sb_val, sb_head, sb_cnt, drain_ready, bus, rng, err,
                                   watch, wlog, wlogn)
                    if r < 0:
                        failed = limit = tau
                        break
                    runnable = core[c, K_HALTED] == 0 and core[c, K_WAIT] == W_NONE
                nt = INF
                if runnable:
                    nt = core[c, K_READY]
                if tso and sb_cnt[c] > 0 and draining[c] == 0 and drain_ready[c] < nt:
                    nt = drain_ready[c]
                tau = max(nt, tau + 1)
        if failed < INF:
            return STATUS_ERROR, failed
        # Advance to the next cycle at which anything can happen (after a run-ahead, from
        # the last cycle in which a core acted, as if the loop had visited each of them).
        status, t = _advance(last, params, core, sb_cnt, draining, drain_ready, bus, err)
        if status >= 0:
            return status, t



@jit
def _simulate_trace(params, table, code, start, length, twrite, taddr, mem, golden, tags, cst,
                    lru, look, sf, lruc, cdata, core, regs, port, sb_addr, sb_val, sb_head, sb_cnt,
                    drain_ready, draining, bus, rng, cstat, bstat, timeline, err, touched,
                    ntouched, watch, wlog, wlogn, lookw):
    """_simulate for a trace on SC cores with no issue jitter, check or watched line (the
    caller makes sure): the same machine, with each core's accesses run by _trace_run, and
    while the bus is free, the cycles up to the first miss foreseen by _first_miss run ahead
    too."""
    ncores = params[P_CORES]
    maxcyc = params[P_MAXCYC]
    window = params[P_WINDOW]
    tlwin = params[P_TLWIN]
    foresee = _hits_stable(table)
    hitcode = _hit_code(table)
    _start(params, core, rng, bus)
    t = bus[B_T]
    while True:
        if tlwin > 0 and t // tlwin >= timeline.shape[0]:
            bus[B_T] = t
            return STATUS_TLFULL, t
        # Phase 1.  Requests wait only while the bus is busy, so arbitration has work only in
        # a cycle in which the bus came free or a request was posted.
        done = _phase1(t, params, code, start, tags, core, regs, cdata, golden, cstat, port,
                       sb_addr, sb_val, sb_head, sb_cnt, drain_ready, draining, bus, err, rng)
        if done < 0:
            return STATUS_ERROR, t
        arbitrate = done > 0
        # Phase 2: the cores that act in cycle t.
        for c in range(ncores):
            if core[c, K_HALTED] != 0 or core[c, K_WAIT] != W_NONE or core[c, K_READY] > t:
                continue
            if _trace_run(c, t, t + 1, params, table, hitcode, start, length, twrite, taddr, tags,
                          cst, lru, sf, lookw, lruc, core, cstat, port, bus, err) < 0:
                return STATUS_ERROR, t
            if core[c, K_WAIT] != W_NONE:
                arbitrate = True
        # Phase 3: arbitration, the same loop as in _simulate (numba inlines no function of
        # more than 30 arguments, and a call here would cost more than the loop).
        while arbitrate:
            g = _arbitrate(t, params, table, tags, cst, lru, look, sf, lruc, cdata, mem, golden,
                           core, port, bus, rng, cstat, bstat, timeline, err, touched, ntouched,
                           watch, wlog, wlogn)
            if g < 0:
                return STATUS_ERROR, t
            if g < 2:
                break
            # A request re-evaluated as a hit is performed now; arbitration goes on.
            if not _finish(g - 2, t, -1, params, code, start, tags, core, regs, cdata, golden,
                           cstat, port, sb_addr, sb_val, sb_head, sb_cnt, drain_ready,
                           draining, bus, err, rng):
                return STATUS_ERROR, t
        # Run-ahead (see _simulate) to the bus's completion or, with the bus free and nothing
        # pending, to the first miss of any core.
        limit = maxcyc
        if window > 0:
            limit = min(limit, bus[B_LASTPROG] + window)
        if bus[B_BUSY] != 0:
            limit = min(limit, bus[B_UNTIL])
        elif foresee:
            for c in range(ncores):
                limit = _first_miss(c, t, limit, params, hitcode, start, length, twrite, taddr,
                                    tags, cst, look, lookw, core)
        else:
            limit = t
        last = t
        failed = INF
        for c in range(ncores):
            if limit <= t + 1:
                break
            if core[c, K_HALTED] != 0 or core[c, K_WAIT] != W_NONE:
                continue
            tau = max(core[c, K_READY], t + 1)
            if tau >= limit:
                continue
            acted = _trace_run(c, tau, limit, params, table, hitcode, start, length, twrite,
                               taddr, tags, cst, lru, sf, lookw, lruc, core, cstat, port, bus,
                               err)
            if acted < 0:
                failed = limit = err[E_CYCLE]  # later cores stop before it
            else:
                last = max(last, acted)
        if failed < INF:
            return STATUS_ERROR, failed
        status, t = _advance(last, params, core, sb_cnt, draining, drain_ready, bus, err)
        if status >= 0:
            return status, t


@jit
def _coherent_word(word, params, tags, cst, cdata, mem):
    """The value of a word as the system sees it: an owner's (M/O) copy, else memory."""
    line = word // params[P_WPL]
    s = line & (params[P_SETS] - 1)
    for c in range(params[P_CORES]):
        w = _find(tags, c, s, line, params[P_WAYS])
        if w >= 0 and (cst[c, s, w] == ST_M or cst[c, s, w] == ST_O):
            return cdata[c, s, w, word % params[P_WPL]]
    return mem[word]


@jit
def _reset(params, init_mem, mem, golden, tags, cst, lru, lruc, core, regs, port, sb_head,
           sb_cnt, drain_ready, draining, bus, cstat, bstat, touched, ntouched):
    sets = params[P_SETS]
    if ntouched[0] > touched.shape[0]:
        cst[:] = ST_I
        tags[:] = -1
        lru[:] = 0
    else:
        for k in range(ntouched[0]):
            c = touched[k] // sets
            s = touched[k] % sets
            for w in range(params[P_WAYS]):
                cst[c, s, w] = ST_I
                tags[c, s, w] = -1
                lru[c, s, w] = 0
    ntouched[0] = 0
    for k in range(init_mem.shape[0]):
        mem[k] = init_mem[k]
        golden[k] = init_mem[k]
    lruc[:] = 0
    core[:] = 0
    regs[:] = 0
    port[:] = 0
    sb_head[:] = 0
    sb_cnt[:] = 0
    drain_ready[:] = 0
    draining[:] = 0
    bus[:] = 0
    cstat[:] = 0
    bstat[:] = 0


@jit
def _batch(params, table, code, start, length, init_mem, mem, golden, tags, cst, lru, look, sf,
           lruc, cdata, core, regs, port, sb_addr, sb_val, sb_head, sb_cnt, drain_ready, draining,
           bus, rng, cstat, bstat, timeline, err, touched, ntouched, watch, wlog, wlogn, twrite,
           taddr, iterations, obs_kind, obs_a, obs_b, out, statuses):
    """Run the program ``iterations`` times from a clean machine; one RNG stream for all.

    ``obs_kind[j]`` 0 = register obs_b of core obs_a, 1 = memory word obs_a; the final values
    go to ``out[iteration, j]``.  Returns the number of iterations run (fewer on an error).
    """
    for it in range(iterations):
        _reset(params, init_mem, mem, golden, tags, cst, lru, lruc, core, regs, port, sb_head,
               sb_cnt, drain_ready, draining, bus, cstat, bstat, touched, ntouched)
        status, cycles = _simulate(params, table, code, start, length, twrite, taddr,
                                             mem, golden, tags, cst, lru, look, sf, lruc,
                                             cdata,
                                             core,
                                             regs, port, sb_addr, sb_val, sb_head, sb_cnt,
                                             drain_ready, draining, bus, rng, cstat, bstat,
                                             timeline, err, touched, ntouched, watch, wlog,
                                             wlogn)
        statuses[it] = status
        if status == STATUS_ERROR:
            return it
        for j in range(obs_kind.shape[0]):
            if obs_kind[j] == 0:
                out[it, j] = regs[obs_a[j], obs_b[j]]
            else:
                out[it, j] = _coherent_word(obs_a[j], params, tags, cst, cdata, mem)
    return iterations


@jit
def _coherent_memory(params, tags, cst, cdata, mem, out):
    for k in range(mem.shape[0]):
        out[k] = mem[k]
    wpl = params[P_WPL]
    for c in range(params[P_CORES]):
        for s in range(params[P_SETS]):
            for w in range(params[P_WAYS]):
                st = cst[c, s, w]
                if st == ST_M or st == ST_O:
                    base = tags[c, s, w] * wpl
                    for k in range(wpl):
                        if base + k < out.shape[0]:
                            out[base + k] = cdata[c, s, w, k]
