"""The jitted machine of the message interconnects: the split-transaction bus and the
directory (private); docs/machine.md, "Message interconnects".

One cycle loop (:func:`_run`): deliveries (phase 1: the messages arriving now, in seq order,
from a binary heap keyed on (arrival, seq); a bus request is broadcast to every cache, then
the home), the cores (phase 2: the drain unit, then the core; the cores' decoding, performing
and retiring are ``_core``'s), the address bus (phase 3, split bus), then the clock jumps to
the next cycle at which anything can happen.  After every node's handling and every attempt
the wake list runs.  Everything is flat arrays (``_netlayout``): messages live in a
preallocated pool with a free list (full: the driver runs again with a bigger one), stall
lists and bus queues are linked lists through the pool, a line's sharers are bit-vectors,
and the cores that can act are a bit-set, so a visited cycle costs the cores that can act
and the messages that arrive, not the machine's size.

The protocol is read only through its compiled arrays, so any user MessageProtocol runs.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, jit_helper, jit_inline, jit_leaf
from ..protocols.message import (A_ADD_OWNER, A_ADD_REQ, A_CLEAR_OWNER, A_CLEAR_SHARERS,
                                 A_DEC_ACKS, A_PERFORM, A_REMOVE_REQ, A_SEND, A_SET_ACKS,
                                 A_SET_OWNER, A_WRITE_MEMORY, EV_REPL, M_OWNER, M_READ,
                                 M_TRANSIENT, M_WRITE, MAX_ACTIONS, NEXT_IMPOSSIBLE, NEXT_STALL,
                                 PART_ACKS, PART_DATA, PART_OWN, PART_OWNER, PART_SHARED,
                                 PART_SHARER, T_BUS, T_HOME, T_OWNER, T_REQ, T_REQ_HOME,
                                 T_SHARERS, W_ALONE, W_ALWAYS, W_DIR_ACK0, W_DIR_ACKS,
                                 W_FROM_CACHE, W_FROM_NONOWNER, W_FROM_OWNER, W_LAST_ACK,
                                 W_LAST_SHARER, W_MORE_ACKS, W_NOT_LAST_SHARER, W_OTHER, W_OWN,
                                 W_SHARED)
from ..stats import CS_HITS, CS_MISSES, CS_STALL, NS_BUSY, NS_BYTES, NS_GRANTS, NS_HOME, \
    NS_HOPS, NS_STALLS
from ._cache import find, stamp
from ._core import (DECODE_ERROR, _count_latency, _drain_delay, _issue_jitter, _perform,
                    _pop_drain, _retire, decode)
from ._layout import (ARB_RANDOM, ARB_RR, CL_LASTPROG, CL_STARTED, CL_T, ERR_ABSENT,
                      ERR_OWNER, ERR_PROTOCOL, ERR_SWMR, ERR_DATA, EVENT_OF_KIND, INF, K_HALTED,
                      K_PC, K_READY, K_TBLOCK, K_WAIT, KIND_STORE, P_ARB, P_BUSLAT, P_C2CLAT,
                      P_CHECK, P_CORES, P_DATA, P_FULL, P_HIT, P_JITTER, P_LSHIFT,
                      P_MAXCYC, P_MEMLAT, P_SB, P_SETS, P_SKEW, P_SLICE, P_TLWIN, P_TSO,
                      P_WAYS, P_WINDOW, P_WPL, STATUS_ERROR, STATUS_HALTED, STATUS_MAXCYC,
                      STATUS_NOPROG, STATUS_PAUSED, STATUS_TLFULL, W_BUS, W_NONE, next_random,
                      rand, set_err)
from ._netlayout import (BROADCAST, ERR_DEADLOCK, ERR_NOOWNER, ERR_POOL, FL_PERFORM, KIND_SPLIT,
                         LS_COUNT, LS_HEAD, LS_TAIL, MF_ACKS, MF_ARR, MF_DST, MF_LINE, MF_NEXT,
                         MF_REQ, MF_SEQ, MF_SHARED, MF_SRC, MF_TYPE, NE_MREQ, NE_MSRC,
                         NE_MTYPE, NE_NODE, NP_COLS, NP_HOPLAT, NP_KIND, NP_LSIZE, NP_MESH,
                         NP_MSHRS, NP_NETLAT, Flat, Q_ADDR, Q_KIND, Q_STATE, Q_TIME,
                         Q_WLINE, QS_IDLE, QS_OUT, QS_WAIT, S_BUSFREE, S_FREEN, S_HEAPN,
                         S_QUEUED, S_RR, S_SEQ, S_STALLED, S_WHEAD, S_WTAIL, S_DEFER, S_NDEFER,
                         bundles)

_U1 = np.uint64(1)
_U0 = np.uint64(0)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_CTZ = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _CTZ[(((1 << _i) * 0x03F79D71B4CB0A89) & ((1 << 64) - 1)) >> 58] = _i
_CTZ.setflags(write=False)


# ------------------------------------------------------------------ bits, heap, pool

@jit_leaf
def _ctz(x):
    """The index of the lowest set bit of a non-zero uint64."""
    return _CTZ[((x & (~x + _U1)) * _DEBRUIJN) >> np.uint64(58)]


@jit_leaf
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@jit_leaf
def _activate(active, c):
    active[c >> 6] |= _U1 << np.uint64(c & 63)


@jit_leaf
def _earlier(f, a, b):
    """Message a arrives before message b: by (arrival, seq)."""
    return f[a, MF_ARR] < f[b, MF_ARR] or (f[a, MF_ARR] == f[b, MF_ARR]
                                           and f[a, MF_SEQ] < f[b, MF_SEQ])


@jit_helper
def _heap_push(msg, s, slot):
    heap = msg.heap
    f = msg.f
    i = s[S_HEAPN]
    s[S_HEAPN] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        if not _earlier(f, slot, heap[parent]):
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = slot


@jit_helper
def _heap_pop(msg, s):
    heap = msg.heap
    f = msg.f
    top = heap[0]
    n = s[S_HEAPN] - 1
    s[S_HEAPN] = n
    if n > 0:
        last = heap[n]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and _earlier(f, heap[child + 1], heap[child]):
                child += 1
            if not _earlier(f, heap[child], last):
                break
            heap[i] = heap[child]
            i = child
        heap[i] = last
    return top


@jit_leaf
def _alloc(msg, s):
    """A free message slot, or -1 when the pool is full."""
    n = s[S_FREEN]
    if n == 0:
        return np.int64(-1)
    s[S_FREEN] = n - 1
    return msg.free[n - 1]


@jit_leaf
def _release_slot(msg, s, slot):
    msg.free[s[S_FREEN]] = slot
    s[S_FREEN] += 1


@jit_helper
def _append(lists, f, node, slot):
    """Append a slot to a node's list (stall list or bus queue)."""
    f[slot, MF_NEXT] = -1
    if lists[node, LS_COUNT] == 0:
        lists[node, LS_HEAD] = slot
    else:
        f[lists[node, LS_TAIL], MF_NEXT] = slot
    lists[node, LS_TAIL] = slot
    lists[node, LS_COUNT] += 1


@jit_helper
def _unlink(lists, f, node, prev, slot):
    """Take ``slot`` (after ``prev``, -1: the head) out of a node's list."""
    nxt = f[slot, MF_NEXT]
    if prev < 0:
        lists[node, LS_HEAD] = nxt
    else:
        f[prev, MF_NEXT] = nxt
    if lists[node, LS_TAIL] == slot:
        lists[node, LS_TAIL] = prev
    lists[node, LS_COUNT] -= 1


@jit_helper
def _stalled_behind(msg, vnet, node, line, v):
    """Node's stall list holds a message for ``line`` on virtual network v."""
    f = msg.f
    slot = msg.stall[node, LS_HEAD]
    for _ in range(msg.stall[node, LS_COUNT]):
        if f[slot, MF_LINE] == line and vnet[f[slot, MF_TYPE]] == v:
            return True
        slot = f[slot, MF_NEXT]
    return False


@jit_leaf
def _home_of(p, line):
    n = p[P_CORES]
    if p[NP_KIND] == KIND_SPLIT:
        return n
    return n + line % n


@jit_helper
def _hline(ulines, line):
    """A line's index in the homes' arrays: itself (programs), else its place among the
    trace's sorted distinct lines."""
    if ulines.shape[0] == 0:
        return line
    lo = 0
    hi = ulines.shape[0]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if ulines[mid] <= line:
            lo = mid
        else:
            hi = mid
    return np.int64(lo)


@jit_leaf
def _has(sharers, h, c):
    return (sharers[h, c >> 6] >> np.uint64(c & 63)) & _U1 != _U0


@jit_helper
def _others(sharers, h, req):
    """|sharers - {req}|."""
    n = 0
    for k in range(sharers.shape[1]):
        n += _popcount(sharers[h, k])
    if req >= 0 and _has(sharers, h, req):
        n -= 1
    return n


@jit_helper
def _only(sharers, h, c):
    """sharers == {c}."""
    for k in range(sharers.shape[1]):
        want = _U0
        if k == c >> 6:
            want = _U1 << np.uint64(c & 63)
        if sharers[h, k] != want:
            return False
    return True


# ------------------------------------------------------------------ errors

#: Why a ``ProtocolError`` (err[E_DETAIL]): the reference model's reasons (net.py words them).
(R_TABLE, R_DATA, R_PERFORM, R_ACKS, R_LEAVES, R_SENDDATA, R_HIT, R_NOEVENT,
 R_NOOWNER) = range(9)


@jit_helper
def _err(m, kind, t, node, addr, st, ev, slot, why):
    """Record an error at a node; ``slot`` the message being handled (-1: none), ``why``
    the reason's code (R_*; ``ev`` carries its detail: a state, a message type)."""
    err = m.log.err
    set_err(err, kind, t, node if node < m.p[P_CORES] else -1, addr, st, ev, why)
    err[NE_NODE] = node
    err[NE_MTYPE] = -1
    if slot >= 0:
        f = m.msg.f
        err[NE_MTYPE] = f[slot, MF_TYPE]
        err[NE_MSRC] = f[slot, MF_SRC]
        err[NE_MREQ] = f[slot, MF_REQ]


# ------------------------------------------------------------------ sending

@jit_helper
def _route(p, lfree, links, stats, src, dst, t0, flits):
    """A mesh message from node src to node dst starting at t0: book the links of its XY
    route in turn; its arrival."""
    n = p[P_CORES]
    a = src if src < n else src - n
    b = dst if dst < n else dst - n
    if a == b:
        return t0 + 1
    cols = p[NP_COLS]
    hop = p[NP_HOPLAT]
    x = a % cols
    y = a // cols
    xb = b % cols
    yb = b // cols
    time = t0
    full = p[P_FULL] != 0
    while x != xb or y != yb:
        if x != xb:
            d = 0 if xb > x else 1
        else:
            d = 2 if yb > y else 3
        link = 4 * (y * cols + x) + d
        start = max(time, lfree[link])
        lfree[link] = start + flits
        time = start + hop
        stats[NS_HOPS] += 1
        if full:
            links[link] += flits
        if d == 0:
            x += 1
        elif d == 1:
            x -= 1
        elif d == 2:
            y += 1
        else:
            y -= 1
    return time + flits - 1


@jit_helper
def _send(m, t, src, dst, ty, req, line, acks, dsrc, s, w):
    """Node src sends a message of type ty for ``line`` to dst (BROADCAST: src's bus queue)
    at cycle t.  The data (a data message, programs): cache src's frame (s, w) when dsrc is
    1, the home's memory when 2.  Returns False when the pool is full."""
    msg = m.msg
    ns = m.net.s
    p = m.p
    slot = _alloc(msg, ns)
    if slot < 0:
        _err(m, ERR_POOL, t, src, line << p[P_LSHIFT], 0, 0, -1, R_TABLE)
        return False
    f = msg.f
    f[slot, MF_TYPE] = ty
    f[slot, MF_SRC] = src
    f[slot, MF_DST] = dst
    f[slot, MF_REQ] = req
    f[slot, MF_LINE] = line
    f[slot, MF_ACKS] = acks
    f[slot, MF_SHARED] = 0
    data = m.pr.msg_data[ty] != 0
    lsize = p[NP_LSIZE]
    st = m.net.stats
    m.net.msgs[ty] += 1
    st[NS_BYTES] += 8 + (lsize if data else 0)
    if p[P_TLWIN] > 0:
        m.net.timeline[t // p[P_TLWIN], ty] += 1
    if data and p[P_DATA] != 0:
        wpl = p[P_WPL]
        if dsrc == 1:
            for k in range(wpl):
                msg.data[slot, k] = m.l1.data[src, s, w, k]
        elif dsrc == 2:
            base = _hline(m.prog.ulines, line) * wpl
            for k in range(wpl):
                msg.data[slot, k] = m.mem.words[base + k]
    if dst == BROADCAST:
        _append(msg.busq, f, src, slot)
        ns[S_QUEUED] += 1
        return True
    ncores = p[P_CORES]
    jit_ = p[P_JITTER]
    if p[NP_KIND] == KIND_SPLIT:
        # no jitter on the data network: the address bus's grants carry it
        arr = t + (p[P_MEMLAT] if src >= ncores else p[P_C2CLAT])
    else:
        t0 = t + (p[P_MEMLAT] if (src >= ncores and data) else 0) + rand(m.rng, jit_)
        if p[NP_MESH] != 0:
            flits = (8 + (lsize if data else 0) + 15) // 16
            arr = _route(p, msg.lfree, m.net.links, st, src, dst, t0, flits)
        else:
            arr = t0 + p[NP_NETLAT]
    o = m.pr.ord_index[m.pr.msg_vnet[ty]]
    if o >= 0:
        if msg.last[src, dst, o] > arr:
            arr = msg.last[src, dst, o]
        msg.last[src, dst, o] = arr
    f[slot, MF_ARR] = arr
    f[slot, MF_SEQ] = ns[S_SEQ]
    ns[S_SEQ] += 1
    _heap_push(msg, ns, slot)
    return True


# ------------------------------------------------------------------ the wake list

@jit_helper
def _wake_add(msg, s, n, line):
    """(n, line) to the end of the wake list unless it is there already; False: full."""
    wake = msg.wake
    for i in range(s[S_WHEAD], s[S_WTAIL]):
        if wake[i, 0] == n and wake[i, 1] == line:
            return True
    i = s[S_WTAIL]
    if i >= wake.shape[0]:
        return False
    wake[i, 0] = n
    wake[i, 1] = line
    s[S_WTAIL] = i + 1
    return True


# ------------------------------------------------------------------ the invariants

@jit_helper
def _check_line(m, t, c, line):
    """check=True, after an entry taken at cache c for ``line``: single writer or many
    readers and one owner over every cache's state, and every readable copy's data the
    latest value (programs).  Returns False after recording the violation."""
    p = m.p
    l1 = m.l1
    meaning = m.pr.cmeaning
    s = line & (p[P_SETS] - 1)
    ways = p[P_WAYS]
    writers = 0
    readers = 0
    owners = 0
    addr = line << p[P_LSHIFT]
    for c2 in range(p[P_CORES]):
        w2 = find(l1, c2, s, line, ways)
        if w2 >= 0:
            st = l1.state[c2, s, w2]
            writers += meaning[st, M_WRITE]
            readers += meaning[st, M_READ]
            owners += meaning[st, M_OWNER]
    if writers > 1 or (writers == 1 and readers > 1):
        set_err(m.log.err, ERR_SWMR, t, c, addr, writers, readers, 0)
        m.log.err[NE_NODE] = -2
        return False
    if owners > 1:
        set_err(m.log.err, ERR_OWNER, t, c, addr, owners, readers, 0)
        m.log.err[NE_NODE] = -2
        return False
    if p[P_DATA] == 0:
        return True
    wpl = p[P_WPL]
    golden = m.mem.golden
    base = line * wpl
    for c2 in range(p[P_CORES]):
        w2 = find(l1, c2, s, line, ways)
        if w2 >= 0 and meaning[l1.state[c2, s, w2], M_READ] != 0:
            for k in range(wpl):
                if base + k < golden.shape[0] and l1.data[c2, s, w2, k] != golden[base + k]:
                    set_err(m.log.err, ERR_DATA, t, c2, (base + k) << 3, l1.data[c2, s, w2, k],
                            golden[base + k], 0)
                    m.log.err[NE_NODE] = -2
                    return False
    return True


# ------------------------------------------------------------------ performing

@jit_helper
def _done(m, p, T, first):
    """Port p's access has been performed at T: release it.  A first attempt's hit: the core
    is ready at T + hit_latency, a drain's next entry at T + hit_latency + rand(drain_delay);
    otherwise the Perform rules (ready at T+1, stall_cycles, the miss latency)."""
    c = p >> 1
    params = m.p
    port = m.port
    port[p, Q_STATE] = QS_IDLE
    lat = np.int64(1)
    if first:
        lat = params[P_HIT]
    elif params[P_FULL] != 0:
        _count_latency(m.cpu.latency, c, T - port[p, Q_TIME])
    if p & 1:
        _pop_drain(m.sb, m.cpu, params[P_SB], c, T)
        if m.sb.count[c] > 0:
            m.sb.ready[c] = T + lat + rand(m.rng, _drain_delay(params, m.cpu.noise, c))
    else:
        k = m.cpu.k
        if not first:
            m.cpu.stats[c, CS_STALL] += T - k[c, K_TBLOCK]
            k[c, K_WAIT] = W_NONE
        _retire(m.cpu, m.rng, _issue_jitter(params, m.cpu.noise, c), c, k[c, K_PC] + 1,
                T + lat)
    _activate(m.active, c)


# ------------------------------------------------------------------ taking an entry

@jit_helper
def _take_cache(m, t, c, s, w, line, st, ev, nxt, slot, req, hit_port, first):
    """Cache c takes its entry (st, ev) for ``line`` (frame (s, w), -1: not present) at
    cycle t: the message's data (``slot``, -1: a processor event), the actions in order,
    the next state, the wake list.  ``hit_port``: the port whose access a ``perform`` of a
    processor entry performs (-1: the frame's ``mport``).  Returns False on an error."""
    p = m.p
    l1 = m.l1
    pr = m.pr
    f = m.msg.f
    addr = line << p[P_LSHIFT]
    if p[P_FULL] != 0:
        m.net.ctrans[st, ev] += 1
    if slot >= 0 and pr.msg_data[f[slot, MF_TYPE]] != 0:
        if w < 0:
            _err(m, ERR_ABSENT, t, c, addr, st, ev, slot, R_DATA)
            return False
        if p[P_DATA] != 0:
            for k in range(p[P_WPL]):
                l1.data[c, s, w, k] = m.msg.data[slot, k]
    macks = f[slot, MF_ACKS] if slot >= 0 else 0
    acts = pr.cacts
    for k in range(MAX_ACTIONS):
        a = acts[st, ev, k, 0]
        if a == 0:
            break
        if a == A_SEND:
            ty = acts[st, ev, k, 1]
            tgt = acts[st, ev, k, 2] & 7
            ds = 1 if w >= 0 else 0
            if pr.msg_data[ty] != 0 and w < 0:
                _err(m, ERR_ABSENT, t, c, addr, st, ty, slot, R_SENDDATA)
                return False
            if tgt == T_HOME or tgt == T_REQ_HOME:
                if tgt == T_REQ_HOME:
                    if not _send(m, t, c, req, ty, req, line, 0, ds, s, w):
                        return False
                if not _send(m, t, c, _home_of(p, line), ty, req, line, 0, ds, s, w):
                    return False
            elif tgt == T_REQ:
                if not _send(m, t, c, req, ty, req, line, 0, ds, s, w):
                    return False
            elif tgt == T_BUS:
                if not _send(m, t, c, BROADCAST, ty, req, line, 0, ds, s, w):
                    return False
        elif a == A_PERFORM:
            q = hit_port
            if q < 0 and w >= 0:
                q = l1.mport[c, s, w]
            if w < 0 or q < 0:
                _err(m, ERR_ABSENT, t, c, addr, st, ev, slot, R_PERFORM)
                return False
            if not _perform(m, q, t, s, w, m.port[q, Q_ADDR]):
                m.log.err[NE_NODE] = -2
                return False
            if hit_port < 0:
                l1.mport[c, s, w] = -1
            _done(m, q, t, first)
        elif a == A_SET_ACKS or a == A_DEC_ACKS:
            if w < 0:
                _err(m, ERR_ABSENT, t, c, addr, st, ev, slot, R_ACKS)
                return False
            if a == A_SET_ACKS:
                l1.acks[c, s, w] += macks
            else:
                l1.acks[c, s, w] -= 1
        elif a >= A_ADD_REQ:
            # a home's action in a cache's entry: on the line's home record
            _home_action(m, a, _hline(m.prog.ulines, line), req, slot)
    if w >= 0:
        l1.state[c, s, w] = nxt
        if nxt == 0:
            l1.tags[c, s, w] = -1
    elif nxt != 0:
        _err(m, ERR_ABSENT, t, c, addr, st, nxt, slot, R_LEAVES)
        return False
    if not _wake_add(m.msg, m.net.s, c, line):
        _err(m, ERR_POOL, t, c, addr, 0, 0, -1, R_TABLE)
        return False
    if p[P_CHECK] != 0:
        return _check_soon(m, t, c, line)
    return True


@jit_helper
def _check_soon(m, t, c, line):
    """check=True after an entry taken at cache c: the line check now, or, while a bus
    request is being delivered (ns[S_DEFER]), once every node has handled it (each line once,
    at the first cache that took an entry for it)."""
    ns = m.net.s
    if ns[S_DEFER] == 0:
        return _check_line(m, t, c, line)
    d = m.msg.defer
    n = ns[S_NDEFER]
    for i in range(n):
        if d[i, 0] == line:
            return True
    if n >= d.shape[0]:
        _err(m, ERR_POOL, t, c, line << m.p[P_LSHIFT], 0, 0, -1, R_TABLE)
        return False
    d[n, 0] = line
    d[n, 1] = c
    ns[S_NDEFER] = n + 1
    return True


@jit_helper
def _home_action(m, a, h, req, slot):
    """One of a home's actions on line record h (``req`` the requestor)."""
    home = m.home
    sharers = home.sharers
    if a == A_ADD_REQ:
        sharers[h, req >> 6] |= _U1 << np.uint64(req & 63)
    elif a == A_ADD_OWNER:
        o = home.owner[h]
        if o >= 0:
            sharers[h, o >> 6] |= _U1 << np.uint64(o & 63)
    elif a == A_REMOVE_REQ:
        sharers[h, req >> 6] &= ~(_U1 << np.uint64(req & 63))
    elif a == A_CLEAR_SHARERS:
        for kw in range(sharers.shape[1]):
            sharers[h, kw] = _U0
    elif a == A_SET_OWNER:
        home.owner[h] = req
    elif a == A_CLEAR_OWNER:
        home.owner[h] = -1
    elif a == A_WRITE_MEMORY:
        if m.p[P_DATA] != 0 and slot >= 0:
            wpl = m.p[P_WPL]
            for kk in range(wpl):
                m.mem.words[h * wpl + kk] = m.msg.data[slot, kk]


@jit_helper
def _take_home(m, t, n, line, h, st, ev, nxt, slot):
    """Home n takes its entry (st, ev) for ``line`` (index h in the homes' arrays) on the
    message in ``slot``.  Returns False on an error."""
    p = m.p
    home = m.home
    f = m.msg.f
    req = f[slot, MF_REQ]
    acts = m.pr.hacts
    sharers = home.sharers
    if p[P_FULL] != 0:
        m.net.htrans[st, ev] += 1
    m.net.stats[NS_HOME] += 1
    for k in range(MAX_ACTIONS):
        a = acts[st, ev, k, 0]
        if a == 0:
            break
        if a == A_SEND:
            ty = acts[st, ev, k, 1]
            tgt = acts[st, ev, k, 2] & 7
            acks = 0
            if acts[st, ev, k, 2] & 8:
                acks = _others(sharers, h, req)
            if tgt == T_REQ:
                if not _send(m, t, n, req, ty, req, line, acks, 2, 0, 0):
                    return False
            elif tgt == T_OWNER:
                o = home.owner[h]
                if o < 0:
                    _err(m, ERR_NOOWNER, t, n, line << p[P_LSHIFT], st, ty, slot, R_NOOWNER)
                    return False
                if not _send(m, t, n, o, ty, req, line, acks, 2, 0, 0):
                    return False
            elif tgt == T_SHARERS:
                for kw in range(sharers.shape[1]):
                    word = sharers[h, kw]
                    while word != _U0:
                        b = _ctz(word)
                        word &= word - _U1
                        c2 = kw * 64 + b
                        if c2 != req:
                            if not _send(m, t, n, c2, ty, req, line, acks, 2, 0, 0):
                                return False
        elif a >= A_ADD_REQ:
            _home_action(m, a, h, req, slot)
    home.state[h] = nxt
    if not _wake_add(m.msg, m.net.s, n, line):
        _err(m, ERR_POOL, t, n, line << p[P_LSHIFT], 0, 0, -1, R_TABLE)
        return False
    return True


# ------------------------------------------------------------------ handling a message

@jit_helper
def _event(m, n, slot, acks_here):
    """The event of the message in ``slot`` at node n (docs/machine.md, step 2); -1 when
    the controller has none for it.  ``acks_here``: the frame's ack counter (caches)."""
    f = m.msg.f
    pr = m.pr
    ncores = m.p[P_CORES]
    ty = f[slot, MF_TYPE]
    cache = n < ncores
    part = pr.cpart[ty] if cache else pr.hpart[ty]
    if part < 0:
        return np.int64(-1)
    cond = W_ALWAYS
    if part == PART_OWN:
        cond = W_OWN if f[slot, MF_REQ] == n else W_OTHER
    elif part == PART_DATA:
        if f[slot, MF_SRC] >= ncores:
            cond = W_DIR_ACK0 if f[slot, MF_ACKS] + acks_here == 0 else W_DIR_ACKS
        else:
            cond = W_FROM_CACHE
    elif part == PART_ACKS:
        cond = W_LAST_ACK if acks_here == 1 else W_MORE_ACKS
    elif part == PART_OWNER:
        o = m.home.owner[_hline(m.prog.ulines, f[slot, MF_LINE])]
        cond = W_FROM_OWNER if f[slot, MF_SRC] == o else W_FROM_NONOWNER
    elif part == PART_SHARER:
        last = _only(m.home.sharers, _hline(m.prog.ulines, f[slot, MF_LINE]), f[slot, MF_SRC])
        cond = W_LAST_SHARER if last else W_NOT_LAST_SHARER
    elif part == PART_SHARED:
        cond = W_SHARED if f[slot, MF_SHARED] != 0 else W_ALONE
    if cache:
        return np.int64(pr.cevent[ty, cond])
    return np.int64(pr.hevent[ty, cond])


#: What handling a message did.
TAKEN, STALLED, FAILED = 0, 1, 2


@jit_helper
def _lookup(m, t, n, slot):
    """Steps 2-3 of handling at node n: find the entry and take it, or say it stalls.
    Returns TAKEN, STALLED or FAILED."""
    p = m.p
    f = m.msg.f
    line = f[slot, MF_LINE]
    ncores = p[P_CORES]
    if n < ncores:
        s = line & (p[P_SETS] - 1)
        w = find(m.l1, n, s, line, p[P_WAYS])
        st = np.int64(0)
        acks = np.int64(0)
        if w >= 0:
            st = np.int64(m.l1.state[n, s, w])
            acks = m.l1.acks[n, s, w]
        ev = _event(m, n, slot, acks)
        if ev < 0:
            _err(m, ERR_PROTOCOL, t, n, line << p[P_LSHIFT], st, -1, slot, R_NOEVENT)
            return FAILED
        nxt = m.pr.cnext[st, ev]
        if nxt == NEXT_IMPOSSIBLE:
            _err(m, ERR_PROTOCOL, t, n, line << p[P_LSHIFT], st, ev, slot, R_TABLE)
            return FAILED
        if nxt == NEXT_STALL:
            m.net.stats[NS_STALLS] += 1
            if p[P_FULL] != 0:
                m.net.ctrans[st, ev] += 1
            return STALLED
        if not _take_cache(m, t, n, s, w, line, st, ev, np.int64(nxt), slot,
                           f[slot, MF_REQ], np.int64(-1), False):
            return FAILED
        return TAKEN
    h = _hline(m.prog.ulines, line)
    st = np.int64(m.home.state[h])
    ev = _event(m, n, slot, np.int64(0))
    if ev < 0:
        _err(m, ERR_PROTOCOL, t, n, line << p[P_LSHIFT], st, -1, slot, R_NOEVENT)
        return FAILED
    nxt = m.pr.hnext[st, ev]
    if nxt == NEXT_IMPOSSIBLE:
        _err(m, ERR_PROTOCOL, t, n, line << p[P_LSHIFT], st, ev, slot, R_TABLE)
        return FAILED
    if nxt == NEXT_STALL:
        m.net.stats[NS_STALLS] += 1
        if p[P_FULL] != 0:
            m.net.htrans[st, ev] += 1
        return STALLED
    if not _take_home(m, t, n, line, h, st, ev, np.int64(nxt), slot):
        return FAILED
    return TAKEN


@jit_helper
def _handle(m, t, n, slot, copy):
    """Node n receives the message in ``slot`` (steps 1-3).  A stalled message joins n's
    stall list: the slot itself, or a copy of it when ``copy`` (a broadcast, which other
    nodes still receive).  Returns TAKEN, STALLED or FAILED."""
    msg = m.msg
    f = msg.f
    ns = m.net.s
    line = f[slot, MF_LINE]
    r = STALLED
    if not (msg.stall[n, LS_COUNT] > 0
            and _stalled_behind(msg, m.pr.msg_vnet, n, line, m.pr.msg_vnet[f[slot, MF_TYPE]])):
        r = _lookup(m, t, n, slot)
        if r != STALLED:
            return r
    else:
        m.net.stats[NS_STALLS] += 1
    keep = slot
    if copy:
        keep = _alloc(msg, ns)
        if keep < 0:
            _err(m, ERR_POOL, t, n, line << m.p[P_LSHIFT], 0, 0, -1, R_TABLE)
            return FAILED
        for k in range(f.shape[1]):
            f[keep, k] = f[slot, k]
        if m.p[P_DATA] != 0:
            for k in range(msg.data.shape[1]):
                msg.data[keep, k] = msg.data[slot, k]
    _append(msg.stall, f, n, keep)
    ns[S_STALLED] += 1
    return STALLED


# ------------------------------------------------------------------ the processor side

@jit_leaf
def _outstanding(port, c):
    return (np.int64(port[2 * c, Q_STATE] == QS_OUT)
            + np.int64(port[2 * c + 1, Q_STATE] == QS_OUT))


@jit_helper
def _attempt(m, q, t, first):
    """Port q attempts its access at cycle t (docs/machine.md, "an attempt"): a hit, a
    stall, a wait for an MSHR or a victim, or a miss (a frame, the entry taken, the port
    outstanding).  Returns False on an error."""
    p = m.p
    l1 = m.l1
    pr = m.pr
    port = m.port
    c = q >> 1
    addr = port[q, Q_ADDR]
    line = addr >> p[P_LSHIFT]
    s = line & (p[P_SETS] - 1)
    ways = p[P_WAYS]
    w = find(l1, c, s, line, ways)
    st = np.int64(l1.state[c, s, w]) if w >= 0 else np.int64(0)
    ev = EVENT_OF_KIND[port[q, Q_KIND]]
    nxt = np.int64(pr.cnext[st, ev])
    if nxt == NEXT_IMPOSSIBLE:
        _err(m, ERR_PROTOCOL, t, c, addr, st, ev, -1, R_TABLE)
        return False
    if first and (nxt == NEXT_STALL or (pr.cflags[st, ev] & FL_PERFORM) == 0):
        # a first attempt that does not hit: a miss, and the core (drain unit) waits
        m.cpu.stats[c, CS_MISSES] += 1
        port[q, Q_TIME] = t
        if q & 1:
            m.sb.draining[c] = 1
        else:
            m.cpu.k[c, K_WAIT] = W_BUS
            m.cpu.k[c, K_TBLOCK] = t
    if nxt == NEXT_STALL:
        m.net.stats[NS_STALLS] += 1
        if p[P_FULL] != 0:
            m.net.ctrans[st, ev] += 1
        port[q, Q_STATE] = QS_WAIT
        port[q, Q_WLINE] = line
        return True
    if pr.cflags[st, ev] & FL_PERFORM:
        if w < 0:
            _err(m, ERR_ABSENT, t, c, line << p[P_LSHIFT], st, ev, -1, R_HIT)
            return False
        if first:
            m.cpu.stats[c, CS_HITS] += 1
        if not _take_cache(m, t, c, s, w, line, st, ev, nxt, np.int64(-1), np.int64(c), q,
                           first):
            return False
        if l1.tags[c, s, w] == line:
            stamp(l1, c, s, w)
        return True
    # a miss
    if _outstanding(port, c) >= p[NP_MSHRS]:
        port[q, Q_STATE] = QS_WAIT
        port[q, Q_WLINE] = -1
        return True
    if w < 0:
        for v in range(ways):
            if l1.tags[c, s, v] < 0:
                w = v
                break
        if w < 0:
            meaning = pr.cmeaning
            v = -1
            least = INF
            lru_any = 0
            least_any = INF
            for u in range(ways):
                if l1.lru[c, s, u] < least_any:
                    least_any = l1.lru[c, s, u]
                    lru_any = u
                if meaning[l1.state[c, s, u], M_TRANSIENT] == 0 and l1.lru[c, s, u] < least:
                    least = l1.lru[c, s, u]
                    v = u
            if v < 0:
                port[q, Q_STATE] = QS_WAIT
                port[q, Q_WLINE] = l1.tags[c, s, lru_any]
                return True
            vline = l1.tags[c, s, v]
            vst = np.int64(l1.state[c, s, v])
            vn = np.int64(pr.cnext[vst, EV_REPL])
            if vn == NEXT_IMPOSSIBLE:
                _err(m, ERR_PROTOCOL, t, c, vline << p[P_LSHIFT], vst, EV_REPL, -1, R_TABLE)
                return False
            if vn == NEXT_STALL:
                m.net.stats[NS_STALLS] += 1
                if p[P_FULL] != 0:
                    m.net.ctrans[vst, EV_REPL] += 1
                port[q, Q_STATE] = QS_WAIT
                port[q, Q_WLINE] = vline
                return True
            if not _take_cache(m, t, c, s, v, vline, vst, EV_REPL, vn, np.int64(-1),
                               np.int64(c), np.int64(-1), False):
                return False
            if vn != 0:
                port[q, Q_STATE] = QS_WAIT
                port[q, Q_WLINE] = vline
                return True
            w = v
        l1.tags[c, s, w] = line
        l1.otag[c, s, w] = line
        l1.state[c, s, w] = 0
        l1.acks[c, s, w] = 0
    l1.mport[c, s, w] = q
    stamp(l1, c, s, w)
    port[q, Q_STATE] = QS_OUT
    return _take_cache(m, t, c, s, w, line, st, ev, nxt, np.int64(-1), np.int64(c),
                       np.int64(-1), False)


@jit_helper
def _run_wake(m, t):
    """Run the wake list until it is empty.  Returns False on an error."""
    msg = m.msg
    ns = m.net.s
    f = msg.f
    vnet = m.pr.msg_vnet
    ncores = m.p[P_CORES]
    port = m.port
    while ns[S_WHEAD] < ns[S_WTAIL]:
        i = ns[S_WHEAD]
        n = msg.wake[i, 0]
        line = msg.wake[i, 1]
        ns[S_WHEAD] = i + 1
        again = msg.stall[n, LS_COUNT] > 0
        while again:
            again = False
            seen = _U0
            prev = np.int64(-1)
            slot = msg.stall[n, LS_HEAD]
            while slot >= 0:
                nxt_slot = f[slot, MF_NEXT]
                if f[slot, MF_LINE] == line:
                    bit = _U1 << np.uint64(vnet[f[slot, MF_TYPE]])
                    if seen & bit == _U0:
                        seen |= bit
                        r = _lookup(m, t, n, slot)
                        if r == FAILED:
                            return False
                        if r == TAKEN:
                            _unlink(msg.stall, f, n, prev, slot)
                            ns[S_STALLED] -= 1
                            _release_slot(msg, ns, slot)
                            again = msg.stall[n, LS_COUNT] > 0
                            break
                prev = slot
                slot = nxt_slot
        if n < ncores:
            for q in range(2 * n, 2 * n + 2):
                if port[q, Q_STATE] == QS_WAIT and (port[q, Q_WLINE] == line
                                                    or port[q, Q_WLINE] == -1):
                    if not _attempt(m, q, t, False):
                        return False
    ns[S_WHEAD] = 0
    ns[S_WTAIL] = 0
    return True


@jit_inline
def _access(m, q, t, kind, addr):
    """A first attempt of port q: the hit of a stable line inline, else :func:`_attempt`;
    then the wake list.  Returns False on an error."""
    port = m.port
    port[q, Q_KIND] = kind
    port[q, Q_ADDR] = addr
    p = m.p
    l1 = m.l1
    pr = m.pr
    c = q >> 1
    line = addr >> p[P_LSHIFT]
    s = line & (p[P_SETS] - 1)
    w = find(l1, c, s, line, p[P_WAYS])
    if w >= 0 and p[P_CHECK] == 0 and p[P_FULL] == 0:
        st = l1.state[c, s, w]
        ev = EVENT_OF_KIND[kind]
        if pr.cflags[st, ev] == FL_PERFORM and pr.cacts[st, ev, 1, 0] == 0:
            # only `perform`: a plain hit
            nxt = pr.cnext[st, ev]
            m.cpu.stats[c, CS_HITS] += 1
            if not _perform(m, q, t, s, w, addr):
                m.log.err[NE_NODE] = -2
                return False
            _done(m, q, t, True)
            l1.state[c, s, w] = nxt
            if nxt == 0:
                l1.tags[c, s, w] = -1
            else:
                stamp(l1, c, s, w)
            if m.msg.stall[c, LS_COUNT] == 0 and port[2 * c + 1 - (q & 1), Q_STATE] != QS_WAIT:
                return True  # the wake list would do nothing
            if not _wake_add(m.msg, m.net.s, c, line):
                _err(m, ERR_POOL, t, c, addr, 0, 0, -1, R_TABLE)
                return False
            return _run_wake(m, t)
    if not _attempt(m, q, t, True):
        return False
    return _run_wake(m, t)


# ------------------------------------------------------------------ phases

@jit_helper
def _deliver(m, t, slot):
    """Phase 1 for one message: a bus request to every cache in node order and then the
    home (its shared signal computed first), any other to its destination; the wake list
    after each node.  Returns False on an error."""
    p = m.p
    msg = m.msg
    f = msg.f
    ns = m.net.s
    ncores = p[P_CORES]
    dst = f[slot, MF_DST]
    if dst != BROADCAST:
        r = _handle(m, t, dst, slot, False)
        if r == FAILED:
            return False
        if r == TAKEN:
            _release_slot(msg, ns, slot)
        return _run_wake(m, t)
    line = f[slot, MF_LINE]
    req = f[slot, MF_REQ]
    v = m.pr.msg_vnet[f[slot, MF_TYPE]]
    s = line & (p[P_SETS] - 1)
    shared = 0
    for c in range(ncores):
        if c == req:
            continue
        if msg.stall[c, LS_COUNT] > 0 and _stalled_behind(msg, m.pr.msg_vnet, c, line, v):
            shared = 1
            break
        w = find(m.l1, c, s, line, p[P_WAYS])
        st = np.int64(0)
        acks = np.int64(0)
        if w >= 0:
            st = np.int64(m.l1.state[c, s, w])
            acks = m.l1.acks[c, s, w]
        ev = _event(m, c, slot, acks)
        if ev < 0:
            _err(m, ERR_PROTOCOL, t, c, line << p[P_LSHIFT], st, -1, slot, R_NOEVENT)
            return False
        nxt = m.pr.cnext[st, ev]
        if nxt == NEXT_STALL or (nxt >= 0 and (m.pr.cflags[st, ev] & 4) != 0):
            shared = 1
            break
    f[slot, MF_SHARED] = shared
    ns[S_DEFER] = p[P_CHECK]
    ns[S_NDEFER] = 0
    for n in range(ncores + 1):
        node = n if n < ncores else _home_of(p, line)
        if _handle(m, t, node, slot, True) == FAILED:
            return False
        if not _run_wake(m, t):
            return False
    ns[S_DEFER] = 0
    d = msg.defer
    for i in range(ns[S_NDEFER]):
        if not _check_line(m, t, d[i, 1], d[i, 0]):
            return False
    _release_slot(msg, ns, slot)
    return True


@jit_inline
def _address_bus(m, t):
    """Phase 3 (split bus): one grant when the bus is free and some queue is not empty."""
    ns = m.net.s
    if ns[S_QUEUED] == 0 or t < ns[S_BUSFREE]:
        return
    msg = m.msg
    busq = msg.busq
    ncores = m.p[P_CORES]
    arb = m.p[P_ARB]
    win = -1
    if arb == ARB_RR:
        for k in range(ncores):
            c = ns[S_RR] + k
            if c >= ncores:
                c -= ncores
            if busq[c, LS_COUNT] > 0:
                win = c
                break
        ns[S_RR] = win + 1 if win + 1 < ncores else 0
    elif arb == ARB_RANDOM:
        count = 0
        for c in range(ncores):
            if busq[c, LS_COUNT] > 0:
                count += 1
        k = np.int64(next_random(m.rng) % np.uint64(count))
        for c in range(ncores):
            if busq[c, LS_COUNT] > 0:
                if k == 0:
                    win = c
                    break
                k -= 1
    else:
        for c in range(ncores):
            if busq[c, LS_COUNT] > 0:
                win = c
                break
    f = msg.f
    slot = busq[win, LS_HEAD]
    _unlink(busq, f, win, np.int64(-1), slot)
    ns[S_QUEUED] -= 1
    arr = t + m.p[P_BUSLAT] + rand(m.rng, m.p[P_JITTER])
    f[slot, MF_ARR] = arr
    f[slot, MF_SEQ] = ns[S_SEQ]
    ns[S_SEQ] += 1
    _heap_push(msg, ns, slot)
    ns[S_BUSFREE] = arr
    m.net.stats[NS_BUSY] += arr - t
    m.net.stats[NS_GRANTS] += 1


@jit_inline
def _core_cycle(m, c, t):
    """Phase 2 for core c: its drain unit, then the core, each if it can act at t; then
    when it can act next (INF: not until a message or the wake list releases it).
    Returns (ok, next)."""
    k = m.cpu.k
    sb = m.sb
    tso = m.p[P_TSO] != 0
    if tso and sb.count[c] > 0 and sb.draining[c] == 0 and t >= sb.ready[c]:
        if not _access(m, 2 * c + 1, t, KIND_STORE, sb.addr[c, sb.head[c]]):
            return False, INF
    if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE and k[c, K_READY] <= t:
        kind, addr, pc = decode(m, c, t)
        if kind == DECODE_ERROR:
            m.log.err[NE_NODE] = -2
            return False, INF
        if kind >= 0:
            if not _access(m, 2 * c, t, kind, addr):
                return False, INF
    nt = INF
    if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE:
        nt = k[c, K_READY]
    if tso and sb.count[c] > 0 and sb.draining[c] == 0 and sb.ready[c] < nt:
        nt = sb.ready[c]
    return True, nt


@jit_inline
def _run(m):
    """Run the machine to its end (or a pause): (status, cycles)."""
    p = m.p
    clk = m.clk
    ns = m.net.s
    msg = m.msg
    f = msg.f
    k = m.cpu.k
    ncores = p[P_CORES]
    active = m.active
    tlwin = p[P_TLWIN]
    maxcyc = p[P_MAXCYC]
    window = p[P_WINDOW]
    if clk[CL_STARTED] == 0:
        clk[CL_STARTED] = 1
        for c in range(ncores):
            k[c, K_READY] = rand(m.rng, p[P_SKEW])
            _activate(active, c)
        clk[CL_LASTPROG] = 0
        clk[CL_T] = 0
    t = clk[CL_T]
    steps = 0
    slice_ = p[P_SLICE]
    while True:
        if tlwin > 0 and t // tlwin >= m.net.timeline.shape[0]:
            clk[CL_T] = t
            return STATUS_TLFULL, t
        steps += 1
        if steps > slice_ > 0:
            clk[CL_T] = t
            return STATUS_PAUSED, t
        # Phase 1: deliveries, in seq order.
        while ns[S_HEAPN] > 0 and f[msg.heap[0], MF_ARR] <= t:
            slot = _heap_pop(msg, ns)
            if not _deliver(m, t, slot):
                return STATUS_ERROR, t
        # Phase 2: the cores that can act, in order; the earliest next act.
        nxt = INF
        for wi in range(active.shape[0]):
            word = active[wi]
            while word != _U0:
                b = _ctz(word)
                word &= word - _U1
                c = wi * 64 + b
                ok, nt = _core_cycle(m, c, t)
                if not ok:
                    return STATUS_ERROR, t
                if nt == INF:
                    active[wi] &= ~(_U1 << np.uint64(b))
                elif nt < nxt:
                    nxt = nt
        # Phase 3: the address bus.
        _address_bus(m, t)
        # The next cycle at which anything can happen.
        if ns[S_HEAPN] > 0 and f[msg.heap[0], MF_ARR] < nxt:
            nxt = f[msg.heap[0], MF_ARR]
        if ns[S_QUEUED] > 0:
            nxt = min(nxt, max(ns[S_BUSFREE], t + 1))
        if nxt == INF:
            for c in range(ncores):
                if k[c, K_HALTED] == 0 or m.sb.count[c] > 0:
                    set_err(m.log.err, ERR_DEADLOCK, t, -1, 0, 0, 0, 0)
                    m.log.err[NE_NODE] = -1
                    return STATUS_ERROR, t
            return STATUS_HALTED, t + 1
        if nxt <= t:
            nxt = t + 1
        lastp = clk[CL_LASTPROG]
        if window > 0 and nxt - lastp > window and lastp + window < maxcyc:
            return STATUS_NOPROG, lastp + window
        if nxt >= maxcyc:
            return STATUS_MAXCYC, maxcyc
        t = nxt


@jit
def _simulate_net(*flat):
    """Run a program or trace on a message interconnect: (status, cycles)."""
    return _run(bundles(Flat(*flat)))
