"""The cores and their TSO store buffers (inlined helpers); docs/machine.md, "Instructions".

A core talks to its cache (:func:`._cache.attempt`) and, on a miss, posts a request to the
interconnect (:func:`._bus.request`); it never sees how the request is served.  When the
interconnect has served it, the kernel calls :func:`complete`.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit_inline, jit_leaf
from ..isa import (F_ADDR, F_B, F_BREG, F_C, F_CREG, F_OP, F_RA, F_RD, OP_ADD, OP_AND, OP_BEQ,
                   OP_BGE, OP_BLT, OP_BNE, OP_CAS, OP_DELAY, OP_FAA, OP_HALT, OP_JMP, OP_LD,
                   OP_MFENCE, OP_MOV, OP_OR, OP_ST, OP_SUB, OP_XCHG, OP_XOR)
from ..stats import CS_FWD, CS_INSTR, CS_LOADS, CS_RMWS, CS_STALL, CS_STORES
from . import _bus
from ._cache import ATTEMPT_ERROR, ATTEMPT_MISS, attempt, find
from ._layout import nonneg
from ._layout import (P_FULL, LAT_BUCKETS, LAT_SUM, Q_TIME, ACT_ERROR, ERR_ABSENT, ERR_ADDRESS,
                      ERR_LOADVAL, INF, K_HALTED, K_LOOK, K_PC, K_READY, K_TBLOCK, K_WAIT,
                      KIND_LOAD, KIND_RMW, KIND_STORE, LOOK_NONE, N_DRAIN, N_IJIT, P_CHECK, P_DATA,
                      P_DRAIN, P_HIT, P_IJIT, P_LSHIFT, P_SB, P_SETS, P_TRACE, P_TSO, P_WAYS,
                      P_WPL, Q_ADDR, W_BUS, W_DRAIN, W_NONE, W_SBFULL, WAY_UNKNOWN, progress, rand,
                      set_err)


@jit_leaf
def _issue_jitter(p, noise, c):
    """Core c's issue jitter; params hold the largest of any core's, so a machine without
    any never reads the per-core array (``p`` is ``m.p``, ``noise`` ``m.cpu.noise``)."""
    return noise[c, N_IJIT] if p[P_IJIT] != 0 else np.int64(0)


@jit_leaf
def _drain_delay(p, noise, c):
    """Core c's store-buffer drain delay (as :func:`_issue_jitter`)."""
    return noise[c, N_DRAIN] if p[P_DRAIN] != 0 else np.int64(0)


@jit_leaf
def _retire(cpu, rng, ijit, c, npc, ready):
    """The instruction at pc is done: next pc, count it, and when the core may issue again
    (plus a random pipeline delay of up to ``ijit`` cycles, the config's issue jitter)."""
    cpu.k[c, K_PC] = npc
    cpu.stats[c, CS_INSTR] += 1
    cpu.k[c, K_READY] = ready + rand(rng, ijit)


_BIT_LENGTH = np.array([x.bit_length() for x in range(4096)], dtype=np.int64)
_BIT_LENGTH.setflags(write=False)


@jit_leaf
def _count_latency(latency, c, lat):
    """One request of core c waited ``lat`` cycles: its histogram bucket (the bit length of
    ``lat``, from a table for the usual latencies) and the sum."""
    if lat < _BIT_LENGTH.shape[0]:
        b = _BIT_LENGTH[lat]
    else:
        b = min(int(np.log2(lat)) + 1, LAT_BUCKETS - 1)
    latency[c, b] += 1
    latency[c, LAT_SUM] += lat


@jit_leaf
def _block(k, c, t, why):
    """Core c waits (``why``: W_BUS, W_SBFULL, W_DRAIN) from cycle t on."""
    k[c, K_WAIT] = why
    k[c, K_TBLOCK] = t


@jit_leaf
def _operand(regs, c, isreg, v):
    if isreg:
        return regs[c, v]
    return v


@jit_inline
def _perform(m, p, t, s, w, addr):
    """The data effect of port p's access on frame (s, w).  Returns False on a check error."""
    params = m.p
    data = m.l1.data
    golden = m.mem.golden
    sb = m.sb
    cpu = m.cpu
    prog = m.prog
    clk = m.clk
    err = m.log.err
    c = p >> 1
    track = params[P_DATA] != 0
    off = (addr >> 3) & (params[P_WPL] - 1)
    word = addr >> 3
    if p & 1:
        if track:
            v = sb.val[c, sb.head[c]]
            data[c, s, w, off] = v
            golden[word] = v
        progress(clk, t)
        return True
    if params[P_TRACE] != 0:
        progress(clk, t)  # a trace always moves forward: every access is progress
        return True
    regs = cpu.regs
    code = prog.code
    i = prog.start[c] + cpu.k[c, K_PC]
    op = code[i, F_OP]
    rd = code[i, F_RD]
    if op == OP_LD:
        v = data[c, s, w, off]
        if params[P_CHECK] != 0 and v != golden[word]:
            set_err(err, ERR_LOADVAL, t, c, addr, v, golden[word], 0)
            return False
        if rd >= 0:
            regs[c, rd] = v
        return True
    bv = _operand(regs, c, code[i, F_BREG], code[i, F_B])
    if op == OP_ST:
        data[c, s, w, off] = bv
        golden[word] = bv
    else:
        old = data[c, s, w, off]
        if params[P_CHECK] != 0 and old != golden[word]:
            set_err(err, ERR_LOADVAL, t, c, addr, old, golden[word], 0)
            return False
        new = old
        if op == OP_XCHG:
            new = bv
        elif op == OP_FAA:
            new = old + bv
        elif op == OP_CAS:
            if old == bv:
                new = _operand(regs, c, code[i, F_CREG], code[i, F_C])
        data[c, s, w, off] = new
        golden[word] = new
        if rd >= 0:
            regs[c, rd] = old
    progress(clk, t)
    return True



@jit_leaf
def _pop_drain(sb, cpu, size, c, T):
    """The store buffer's head has been performed at T: pop it and wake a core waiting for
    the buffer to empty (mfence, RMW) or to have room (a store)."""
    sb.head[c] += 1  # a ring index; no division in the hot loop
    if sb.head[c] == size:
        sb.head[c] = 0
    sb.count[c] -= 1
    sb.draining[c] = 0
    k = cpu.k
    wt = k[c, K_WAIT]
    if (wt == W_DRAIN and sb.count[c] == 0) or (wt == W_SBFULL and sb.count[c] < size):
        cpu.stats[c, CS_STALL] += T - k[c, K_TBLOCK]
        k[c, K_WAIT] = W_NONE
        k[c, K_READY] = T + 1


@jit_inline
def complete(m, p, T, w):
    """Port p's request has been served at cycle T: perform it and release whoever waited.

    ``w`` is the frame the interconnect filled, or -1 to look it up.  Returns False on an
    error (a check, or a protocol that left the line invalid)."""
    c = p >> 1
    addr = m.net.port[p, Q_ADDR]
    line = addr >> m.p[P_LSHIFT]
    s = line & nonneg(m.p[P_SETS] - 1)
    if w < 0:
        w = find(m.l1, c, s, line, m.p[P_WAYS])
    elif m.l1.tags[c, s, w] != line:
        w = -1
    if w < 0:
        # Only a protocol whose transaction leaves the requester's line invalid gets here.
        set_err(m.log.err, ERR_ABSENT, T, c, addr, 0, p & 1, 0)
        return False
    if not _perform(m, p, T, s, w, addr):
        return False
    if m.p[P_FULL] != 0:
        _count_latency(m.cpu.latency, c, T - m.net.port[p, Q_TIME])
    if p & 1:
        _pop_drain(m.sb, m.cpu, m.p[P_SB], c, T)
        if m.sb.count[c] > 0:
            m.sb.ready[c] = T + 1 + rand(m.rng, _drain_delay(m.p, m.cpu.noise, c))
    else:
        k = m.cpu.k
        m.cpu.stats[c, CS_STALL] += T - k[c, K_TBLOCK]
        k[c, K_WAIT] = W_NONE
        k[c, K_LOOK] = LOOK_NONE  # the miss a trace's look-ahead foresaw is served
        _retire(m.cpu, m.rng, _issue_jitter(m.p, m.cpu.noise, c), c, k[c, K_PC] + 1, T + 1)
    return True


@jit_inline
def _access(m, c, t, kind, addr, pc):
    """A cache access of the core's port: a hit is performed now, a miss waits."""
    w = attempt(m, c, t, kind, addr)
    if w == ATTEMPT_ERROR:
        return -1
    if w == ATTEMPT_MISS:
        _bus.request(m.net, 2 * c, kind, addr, t, WAY_UNKNOWN)
        _block(m.cpu.k, c, t, W_BUS)
        return 0
    s = (addr >> m.p[P_LSHIFT]) & nonneg(m.p[P_SETS] - 1)
    if not _perform(m, 2 * c, t, s, w, addr):
        return -1
    _retire(m.cpu, m.rng, _issue_jitter(m.p, m.cpu.noise, c), c, pc + 1, t + m.p[P_HIT])
    return 0


@jit_leaf
def _forward(sb, size, c, addr):
    """TSO: the youngest buffered store to the word of ``addr``, as (found, value)."""
    found = False
    v = np.int64(0)
    for k in range(sb.count[c]):
        j = sb.head[c] + k
        if j >= size:
            j -= size
        if sb.addr[c, j] >> 3 == addr >> 3:
            found = True
            v = sb.val[c, j]
    return found, v


@jit_leaf
def _buffer_store(sb, rng, size, drain_delay, c, t, addr, v):
    """TSO: append a store to the buffer (the caller checked there is room)."""
    j = sb.head[c] + sb.count[c]
    if j >= size:
        j -= size
    sb.addr[c, j] = addr
    sb.val[c, j] = v
    if sb.count[c] == 0:
        sb.ready[c] = t + 1 + rand(rng, drain_delay)
    sb.count[c] += 1


@jit_inline
def _alu_or_branch(code, cpu, rng, ijit, c, t, i, op, pc):
    """Every instruction that touches neither memory nor the store buffer (``code`` is
    ``m.prog.code``)."""
    regs = cpu.regs
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
    _retire(cpu, rng, ijit, c, npc, ready)


#: What :func:`decode` returns as the access kind besides a KIND_*: no cache access, an error.
NO_ACCESS = -1
DECODE_ERROR = -2


@jit_inline
def decode(m, c, t):
    """Core c (runnable and ready) issues the instruction at its pc at cycle t, except for a
    cache access, which it returns for the caller's interconnect to attempt: (kind, addr,
    pc), kind NO_ACCESS when the instruction was done here (ALU ops, branches, a TSO store
    buffered, a forward, a halt, a wait for the store buffer) and DECODE_ERROR on an error
    (an address outside memory).  Shared by the atomic bus (:func:`_core_step`) and the
    message interconnects (``_net``): ``m`` needs p, rng, clk, prog, cpu, sb, mem, log."""
    tso = m.p[P_TSO] != 0
    trace = m.p[P_TRACE] != 0
    hit = m.p[P_HIT]
    ijit = _issue_jitter(m.p, m.cpu.noise, c)
    stats = m.cpu.stats
    k = m.cpu.k
    prog = m.prog
    pc = k[c, K_PC]
    if pc >= prog.length[c]:
        k[c, K_HALTED] = 1
        progress(m.clk, t)
        return NO_ACCESS, np.int64(0), pc
    i = prog.start[c] + pc
    # kind >= 0: the instruction is a cache access of that kind, done at the end (one place,
    # so that the access path is inlined once).
    kind = -1
    if trace:
        wr = np.int64(prog.twrite[i] != 0)
        op = OP_ST if wr else OP_LD
        addr = prog.taddr[i]
        if not tso:
            # Loads and stores share one path without branching on the op: a random
            # read/write mix is what a branch predictor cannot learn.
            stats[c, CS_LOADS + wr] += 1
            kind = KIND_LOAD + wr
            op = -1
    else:
        op = prog.code[i, F_OP]
        addr = 0
        if op == OP_LD or op == OP_ST or op == OP_XCHG or op == OP_CAS or op == OP_FAA:
            addr = prog.code[i, F_ADDR]
            ra = prog.code[i, F_RA]
            if ra >= 0:
                addr += m.cpu.regs[c, ra]
            if addr < 0 or (addr & 7) != 0 or (addr >> 3) >= m.mem.golden.shape[0]:
                set_err(m.log.err, ERR_ADDRESS, t, c, addr, pc, 0, 0)
                return DECODE_ERROR, addr, pc
    if op == OP_LD:
        stats[c, CS_LOADS] += 1
        kind = KIND_LOAD
        if tso and m.sb.count[c] > 0:
            fwd, v = _forward(m.sb, m.p[P_SB], c, addr)
            if fwd:
                stats[c, CS_FWD] += 1
                if not trace and prog.code[i, F_RD] >= 0:
                    m.cpu.regs[c, prog.code[i, F_RD]] = v
                _retire(m.cpu, m.rng, ijit, c, pc + 1, t + hit)
                kind = -1
    elif op == OP_ST:
        if not tso:
            stats[c, CS_STORES] += 1
            kind = KIND_STORE
        elif m.sb.count[c] >= m.p[P_SB]:
            _block(k, c, t, W_SBFULL)  # re-executed when an entry drains
        else:
            v = 0 if trace else _operand(m.cpu.regs, c, prog.code[i, F_BREG], prog.code[i, F_B])
            _buffer_store(m.sb, m.rng, m.p[P_SB], _drain_delay(m.p, m.cpu.noise, c), c, t, addr,
                          v)
            stats[c, CS_STORES] += 1
            _retire(m.cpu, m.rng, ijit, c, pc + 1, t + 1)
    elif op == OP_XCHG or op == OP_CAS or op == OP_FAA:
        if tso and m.sb.count[c] > 0:
            _block(k, c, t, W_DRAIN)
        else:
            stats[c, CS_RMWS] += 1
            kind = KIND_RMW
    elif op == OP_MFENCE:
        if tso and m.sb.count[c] > 0:
            _block(k, c, t, W_DRAIN)
        else:
            _retire(m.cpu, m.rng, ijit, c, pc + 1, t + 1)
    elif op == OP_HALT:
        k[c, K_HALTED] = 1
        progress(m.clk, t)
    elif op >= 0:
        _alu_or_branch(prog.code, m.cpu, m.rng, ijit, c, t, i, op, pc)
    return kind, addr, pc


@jit_inline
def _core_step(m, c, t):
    """Core c (runnable and ready) issues the instruction at its pc at cycle t.  Returns -1 on
    an error, else 0."""
    kind, addr, pc = decode(m, c, t)
    if kind == DECODE_ERROR:
        return -1
    if kind >= 0:
        return _access(m, c, t, kind, addr, pc)
    return 0


@jit_inline
def _drain_step(m, c, t):
    """The head of core c's store buffer tries to drain at cycle t.  Returns -1 on an error,
    else 0."""
    p = 2 * c + 1
    sb = m.sb
    addr = sb.addr[c, sb.head[c]]
    w = attempt(m, c, t, KIND_STORE, addr)
    if w == ATTEMPT_ERROR:
        return -1
    if w == ATTEMPT_MISS:
        _bus.request(m.net, p, KIND_STORE, addr, t, WAY_UNKNOWN)
        sb.draining[c] = 1
        return 0
    s = (addr >> m.p[P_LSHIFT]) & nonneg(m.p[P_SETS] - 1)
    _perform(m, p, t, s, w, addr)
    _pop_drain(sb, m.cpu, m.p[P_SB], c, t)
    if sb.count[c] > 0:
        sb.ready[c] = t + m.p[P_HIT] + rand(m.rng, _drain_delay(m.p, m.cpu.noise, c))
    return 0


@jit_leaf
def _next_act(k, sb, tso, c):
    """The first cycle at which core c or its drain unit can act as things stand (INF:
    neither can until the interconnect serves a request).  ``k`` is ``m.cpu.k``."""
    nt = INF
    if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE:
        nt = k[c, K_READY]
    if tso and sb.count[c] > 0 and sb.draining[c] == 0 and sb.ready[c] < nt:
        nt = sb.ready[c]
    return nt


@jit_inline
def cycle(m, c, t):
    """Core c's drain unit, then core c itself, in cycle t (docs/machine.md, phase 2), each
    if it can act.  Returns ACT_ERROR, else 0."""
    k = m.cpu.k
    sb = m.sb
    if m.p[P_TSO] != 0 and sb.count[c] > 0 and sb.draining[c] == 0 and t >= sb.ready[c]:
        if _drain_step(m, c, t) < 0:
            return ACT_ERROR
    if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE and k[c, K_READY] <= t:
        if _core_step(m, c, t) < 0:
            return ACT_ERROR
    return 0


@jit_inline
def core_run(m, c, lo, hi):
    """Run core c and its drain unit through the cycles lo .. hi-1 in which they can act, one
    core alone (the kernel's run-ahead window).  Returns the last cycle in which either
    acted (lo - 1 if none), or ACT_ERROR (``m.log.err`` says when)."""
    tso = m.p[P_TSO] != 0
    k = m.cpu.k
    sb = m.sb
    tau = max(_next_act(k, sb, tso, c), lo)
    last = lo - 1
    while tau < hi:
        last = tau
        if cycle(m, c, tau) == ACT_ERROR:
            return ACT_ERROR
        tau = max(_next_act(k, sb, tso, c), tau + 1)
    return last
