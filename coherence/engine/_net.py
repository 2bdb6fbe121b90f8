"""The jitted machine of the message interconnects: the split-transaction bus and the directory
(private); docs/machine.md, "Message interconnects".

One cycle loop (:func:`_run`): deliveries (phase 1: the messages arriving now, in seq order,
from a FIFO per arrival cycle and a heap for the far ones; a bus request is broadcast to
every cache, then the home), the cores (phase 2: the drain unit, then the core; the cores'
decoding, performing and retiring are ``_core``'s), the address bus (phase 3, split bus),
then the clock jumps to the next cycle at which anything can happen.  Everything is flat
arrays (``_netlayout``): messages live in a preallocated pool with a free list (full: the
driver runs again with a bigger one), stall lists and bus queues are linked lists through
the pool, a line's sharers are bit-vectors, and the cores that can act are a bit-set, so a
visited cycle costs the cores that can act and the messages that arrive, not the machine's
size.

How it is built (the atomic engine's way, docs/machine.md "How the engine is built"): the
whole machine runs in one function, with no call that passes the machine's bundles.  A
node's handling of a message or a port's attempt, and then the wake list, is one state
machine (:func:`_react`) in which every entry taken goes through one place (:func:`_take`,
which sends through one place, :func:`_send`), so that each of these big pieces is inlined
once or twice (``jit_inline``); the small leaves (the heap, the lists, bit-vectors, the
route) take only the arrays they touch (``jit_leaf``); the cold paths (errors, the
invariant checks) are plain calls on a few arrays.

A message carries its line's index in the homes' arrays (``MF_HL``; a trace's lines are
numbered densely), as do the ports (``Q_HL``) and the frames (``fh``), so no lookup of a
line's home record searches.

The protocol is read only through its compiled arrays, so any user MessageProtocol runs.
"""

from __future__ import annotations

import numpy as np
from numba import literal_unroll

from .._jit import jit, jit_helper, jit_inline, jit_leaf, opaque, prefetch
from ..protocols.message import (A_ADD_OWNER, A_ADD_REQ, A_CLEAR_OWNER, A_CLEAR_SHARERS,
                                 A_DEC_ACKS, A_PERFORM, A_REMOVE_REQ, A_SEND, A_SET_ACKS,
                                 A_SET_OWNER, A_WRITE_MEMORY, EV_REPL, M_DIRTY, M_OWNER, M_READ,
                                 M_TRANSIENT, M_WRITE, MAX_ACTIONS, NEXT_IMPOSSIBLE, NEXT_STALL,
                                 PART_ACKS, PART_DATA, PART_OWN, PART_OWNER, PART_SHARED,
                                 PART_SHARER, T_BUS, T_HOME, T_OWNER, T_REQ, T_REQ_HOME,
                                 T_SHARERS, W_ALONE, W_ALWAYS, W_DIR_ACK0, W_DIR_ACKS,
                                 W_FROM_CACHE, W_FROM_NONOWNER, W_FROM_OWNER, W_LAST_ACK,
                                 W_LAST_SHARER, W_MORE_ACKS, W_NOT_LAST_SHARER, W_OTHER, W_OWN,
                                 W_SHARED)
from ..stats import CS_HITS, CS_INSTR, CS_LOADS, CS_MISSES, CS_STALL, CS_STORES, NS_BUSY, NS_BYTES, NS_GRANTS, NS_HOME, \
    NS_HOPS, NS_STALLS
from ._cache import find, log_row, stamp
from ._core import (DECODE_ERROR, _count_latency, _drain_delay, _issue_jitter, _perform,
                    _pop_drain, _retire, decode)
from ._layout import nonneg
from ._layout import (ARB_RANDOM, ARB_RR, CL_LASTPROG, CL_STARTED, CL_T, ERR_ABSENT,
                      ERR_OWNER, ERR_PROTOCOL, ERR_SWMR, ERR_DATA, EVENT_OF_KIND, INF, K_HALTED,
                      K_LOOK, K_LOOKPC, K_LOOKT, K_PC, K_READY, K_TBLOCK, K_WAIT,
                      LOOK_MISS, LOOK_NONE, LOOK_SCAN, progress, KIND_STORE, P_ARB, P_BUSLAT, P_C2CLAT,
                      P_CHECK, P_CORES, P_DATA, P_FULL, P_HIT, P_IJIT, P_JITTER, P_LSHIFT,
                      P_MAXCYC, P_MEMLAT, P_SB, P_SETS, P_SKEW, P_SLICE, P_TLWIN, P_TRACE,
                      P_TSO, P_WAYS, P_WINDOW, P_WPL, STATUS_ERROR, STATUS_HALTED,
                      STATUS_MAXCYC, STATUS_NOPROG, STATUS_PAUSED, STATUS_TLFULL, W_BUS,
                      W_NONE, next_random, rand, set_err)
from ._netlayout import (HR_OWNER, HR_SHARERS, HR_STATE, NP_FILTER, NP_HASH, NP_HBASE, S_NLINES, S_REHASH,
                         STATUS_HGROW, BROADCAST, ERR_DEADLOCK, ERR_NOOWNER, ERR_POOL, FL_PERFORM,
                         FL_PLAIN, FL_SHARED, KIND_SPLIT, LS_COUNT, LS_HEAD, LS_TAIL, MF_ACKS,
                         MF_ARR,
                         MF_DST, MF_HL, MF_LINE, MF_NEXT, MF_REQ, MF_SENT, MF_SEQ, MF_SHARED,
                         MF_SRC,
                         MF_TYPE, NE_MREQ, NE_MSRC, NE_MTYPE, NE_NODE, NP_COLS, NP_CSHIFT,
                         NP_HMASK, NP_HOPLAT,
                         NP_KIND, NP_LSIZE, NP_MESH, NP_MSHRS, NP_NETLAT, Flat, Q_ADDR, Q_HL,
                         Q_KIND, Q_STATE, Q_TIME, Q_WLINE, QS_IDLE, QS_OUT, QS_WAIT,
                         S_BUSFREE, S_DEFER, S_FREEN, S_HEAPN, S_NDEFER, S_QUEUED, S_RR,
                         S_SEQ, S_STALLED, S_WHEAD, S_WHEELN, S_WNEXT, S_WTAIL, WHEEL, WHEEL_WORDS,
                         bundles)

_U1 = np.uint64(1)
_U0 = np.uint64(0)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_CTZ = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _CTZ[(((1 << _i) * 0x03F79D71B4CB0A89) & ((1 << 64) - 1)) >> 58] = _i
_CTZ.setflags(write=False)


# ------------------------------------------------------------------ bits, heap, pool, lists

@jit_leaf
def _ctz(x):
    """The index of the lowest set bit of a non-zero uint64."""
    return _CTZ[((x & (~x + _U1)) * _DEBRUIJN) >> np.uint64(58)] & 63  # (LLVM: 0..63)


@jit_leaf
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@jit_leaf
def _activate(active, c):
    active[c >> 6] |= _U1 << np.uint64(c & 63)


# The heap of the messages in flight that arrive WHEEL cycles or more after their send (the
# others are on the wheel, below): rows (arrival, seq, slot), ordered by (arrival, seq), the
# keys in the heap's own rows (a sift reads contiguous rows, not a pool row per comparison).
# Positions and slots are never negative (nonneg: no wrap-around code for them).
@jit_leaf
def _heap_push(heap, s, arr, seq, slot):
    i = nonneg(s[S_HEAPN])
    s[S_HEAPN] = i + 1
    while i > 0:
        parent = nonneg((i - 1) >> 1)
        pa = heap[parent, 0]
        if arr > pa or (arr == pa and seq > heap[parent, 1]):
            break
        heap[i, 0] = pa
        heap[i, 1] = heap[parent, 1]
        heap[i, 2] = heap[parent, 2]
        i = parent
    heap[i, 0] = arr
    heap[i, 1] = seq
    heap[i, 2] = slot


@jit_leaf
def _heap_pop(heap, s):
    """The earliest message's slot, out of the heap."""
    top = heap[0, 2]
    n = nonneg(s[S_HEAPN] - 1)
    s[S_HEAPN] = n
    if n > 0:
        la = heap[n, 0]
        lq = heap[n, 1]
        ls = heap[n, 2]
        i = np.int64(0)
        while True:
            child = nonneg(2 * i + 1)
            if child >= n:
                break
            ca = heap[child, 0]
            if child + 1 < n:
                ra = heap[child + 1, 0]
                if ra < ca or (ra == ca and heap[child + 1, 1] < heap[child, 1]):
                    child += 1
                    ca = ra
            if ca > la or (ca == la and heap[child, 1] > lq):
                break
            heap[i, 0] = ca
            heap[i, 1] = heap[child, 1]
            heap[i, 2] = heap[child, 2]
            i = child
        heap[i, 0] = la
        heap[i, 1] = lq
        heap[i, 2] = ls
    return top


@jit_leaf
def _wheel_scan(wbits, t):
    """The wheel's earliest arrival from cycle t on, every message in it arriving in
    t .. t+WHEEL-1: the first non-empty cycle from t's index, cyclically."""
    i0 = t & (WHEEL - 1)
    w0 = i0 >> 6
    for k in range(WHEEL_WORDS + 1):
        w = (w0 + k) & (WHEEL_WORDS - 1)
        word = wbits[w]
        if k == 0:
            word &= ~_U0 << np.uint64(i0 & 63)
        if word != _U0:
            i = w * 64 + _ctz(word)
            return t + ((i - i0) & (WHEEL - 1))
    return INF


@jit_leaf
def _next_arrival(msg, s):
    """The earliest arrival of a message in flight (INF: none)."""
    a = s[S_WNEXT] if s[S_WHEELN] > 0 else INF
    if s[S_HEAPN] > 0 and msg.heap[0, 0] < a:
        a = msg.heap[0, 0]
    return a


@jit_inline
def _enqueue(msg, s, t, arr, slot):
    """Message ``slot``, sent at cycle t, arrives at ``arr``: numbered (seq) and in flight,
    in its cycle's FIFO of the wheel (whose order is then the seq order) or in the heap."""
    f = msg.f
    seq = s[S_SEQ]
    s[S_SEQ] = seq + 1
    f[slot, MF_ARR] = arr
    f[slot, MF_SEQ] = seq
    if t < arr and arr - t < WHEEL:
        i = arr & (WHEEL - 1)
        f[slot, MF_NEXT] = -1
        bit = _U1 << np.uint64(i & 63)
        if msg.wbits[i >> 6] & bit == _U0:
            msg.wbits[i >> 6] |= bit
            msg.wheel[i, 0] = slot
        else:
            f[msg.wheel[i, 1], MF_NEXT] = slot
        msg.wheel[i, 1] = slot
        if s[S_WHEELN] == 0 or arr < s[S_WNEXT]:
            s[S_WNEXT] = arr
        s[S_WHEELN] += 1
    else:
        _heap_push(msg.heap, s, arr, seq, slot)


@jit_inline
def _dequeue(msg, s, t):
    """The message in flight that is next by (arrival, seq), out of the wheel or the heap,
    when it arrives by cycle t; else -1."""
    f = msg.f
    a = s[S_WNEXT] if s[S_WHEELN] > 0 else INF
    if s[S_HEAPN] > 0:
        ha = msg.heap[0, 0]
        if ha <= t and (ha < a or (ha == a and msg.heap[0, 1]
                                   < f[msg.wheel[a & (WHEEL - 1), 0], MF_SEQ])):
            return _heap_pop(msg.heap, s)
    if a > t:
        return np.int64(-1)
    i = a & (WHEEL - 1)
    slot = msg.wheel[i, 0]
    nx = f[slot, MF_NEXT]
    s[S_WHEELN] -= 1
    if nx < 0:
        msg.wbits[i >> 6] &= ~(_U1 << np.uint64(i & 63))
        if s[S_WHEELN] > 0:
            # a == t (the cycle loop never passes an arrival): the rest arrive after it, and
            # fewer than WHEEL cycles after t
            s[S_WNEXT] = _wheel_scan(msg.wbits, a + 1)
    else:
        msg.wheel[i, 0] = nx
    return slot


@jit_leaf
def _alloc(free, s):
    """A free message slot, or -1 when the pool is full."""
    n = s[S_FREEN]
    if n == 0:
        return np.int64(-1)
    s[S_FREEN] = n - 1
    return free[n - 1]


@jit_leaf
def _release(free, s, slot):
    free[s[S_FREEN]] = slot
    s[S_FREEN] += 1


@jit_leaf
def _append(lists, f, node, slot):
    """Append a slot to a node's list (stall list or bus queue)."""
    f[slot, MF_NEXT] = -1
    if lists[node, LS_COUNT] == 0:
        lists[node, LS_HEAD] = slot
    else:
        f[lists[node, LS_TAIL], MF_NEXT] = slot
    lists[node, LS_TAIL] = slot
    lists[node, LS_COUNT] += 1


@jit_leaf
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


@jit_leaf
def _held(stall, f, vnet, node, line, v):
    """Step 1 (queue order): node's stall list holds a message for ``line`` on virtual
    network v."""
    if stall[node, LS_COUNT] == 0:
        return False
    slot = stall[node, LS_HEAD]
    for _ in range(stall[node, LS_COUNT]):
        if f[slot, MF_LINE] == line and vnet[f[slot, MF_TYPE]] == v:
            return True
        slot = f[slot, MF_NEXT]
    return False


@jit_leaf
def _home_of(p, line):
    """The node of the line's home (lines are never negative)."""
    n = p[P_CORES]
    if p[NP_KIND] == KIND_SPLIT:
        return n
    mask = p[NP_HMASK]
    if mask >= 0:
        return n + (line & mask)
    return n + line % n


@jit_leaf
def _owner(rec, h):
    """The owner of home record h, -1 if none (stored plus one: _netlayout.HREC)."""
    return rec[h, HR_OWNER] - 1


@jit_leaf
def _set_owner(rec, h, c):
    """Cache c owns home record h's line (-1: none)."""
    rec[h, HR_OWNER] = c + 1


@jit_leaf
def _prefetch_home(rec, h):
    """Home record h into the host's caches, ahead of a message's arrival at the home: with
    many lines the record's load at the home missed them (a tenth of a miss-heavy trace's
    time).  A prefetch, not a load, whose retirement would wait for the line."""
    prefetch(rec, h * rec.shape[1] + HR_STATE)


@jit_leaf
def _has(rec, h, c):
    """Cache c is among the sharers of home record h."""
    return (rec[h, HR_SHARERS + (c >> 6)] >> (c & 63)) & 1 != 0


@jit_leaf
def _others(rec, h, req):
    """|sharers - {req}|."""
    n = 0
    for k in range(HR_SHARERS, rec.shape[1]):
        n += _popcount(np.uint64(rec[h, k]))
    if req >= 0 and _has(rec, h, req):
        n -= 1
    return n


@jit_leaf
def _only(rec, h, c):
    """sharers == {c}."""
    same = True
    for k in range(rec.shape[1] - HR_SHARERS):
        want = np.int64(0)
        if k == c >> 6:
            want = np.int64(1) << (c & 63)
        if rec[h, HR_SHARERS + k] != want:
            same = False
    return same


@jit_leaf
def _hfind(home, ns, line):
    """A trace line's home record: found in the hash table (``home.key`` -> ``home.val``,
    open addressing), else numbered next (``home.lines`` maps it back) and created (state 0,
    no owner, no sharers).  The cycle loop makes sure there is room (STATUS_HGROW)."""
    key = home.key
    mask = key.shape[0] - 1
    i = (line * np.int64(0x9E3779B97F4A7C15)) >> 20 & mask
    while key[i] >= 0:
        if key[i] == line:
            return home.val[i]
        i = (i + 1) & mask
    h = ns[S_NLINES]
    ns[S_NLINES] = h + 1
    key[i] = line
    home.val[i] = h
    home.lines[h] = line
    rec = home.rec
    rec[h, HR_STATE] = 0
    _set_owner(rec, h, -1)
    for k in range(HR_SHARERS, rec.shape[1]):
        rec[h, k] = 0
    if h < home.hold.shape[0]:
        for k in range(home.hold.shape[1]):
            home.hold[h, k] = _U0
    return h


@jit_helper
def _rehash(key, val, lines, n):
    """Fill a (bigger, empty) hash table with the n numbered lines (after STATUS_HGROW)."""
    mask = key.shape[0] - 1
    for h in range(n):
        line = lines[h]
        i = (line * np.int64(0x9E3779B97F4A7C15)) >> 20 & mask
        while key[i] >= 0:
            i = (i + 1) & mask
        key[i] = line
        val[i] = h


@jit_leaf
def _setbit(v, c, on):
    """Bit c of the bit-vector v (uint64 words) set (on) or cleared."""
    if on:
        v[c >> 6] |= _U1 << np.uint64(c & 63)
    else:
        v[c >> 6] &= ~(_U1 << np.uint64(c & 63))


@jit_leaf
def _has_bit(v, c):
    return (v[c >> 6] >> np.uint64(c & 63)) & _U1 != _U0


@jit_leaf
def _wait_bit(v, port, c):
    """The split bus's filter: cache c has a port that waits (or not)."""
    _setbit(v, c, port[2 * c, Q_STATE] == QS_WAIT or port[2 * c + 1, Q_STATE] == QS_WAIT)


@jit_leaf
def _busy(stall, port, ncores, n):
    """Node n has something a wake-list pair could do: a stalled message or (a cache) a
    waiting port."""
    return stall[n, LS_COUNT] > 0 or (n < ncores and (port[2 * n, Q_STATE] == QS_WAIT
                                                      or port[2 * n + 1, Q_STATE] == QS_WAIT))


@jit_leaf
def _wake_add(wake, s, n, line):
    """(n, line) to the end of the wake list unless it is there already; False: full."""
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


@jit_leaf
def _watched(wlines, line):
    """The index of ``line`` among the watched lines, or -1."""
    for i in range(wlines.shape[0]):
        if wlines[i] == line:
            return np.int64(i)
    return np.int64(-1)


@jit_leaf
def _outstanding(port, c):
    return (np.int64(port[2 * c, Q_STATE] == QS_OUT)
            + np.int64(port[2 * c + 1, Q_STATE] == QS_OUT))


@jit_helper
def _route(p, lfree, links, stats, src, dst, t0, flits):
    """A mesh message from node src to node dst starting at t0: book the links of its XY
    route in turn (the X leg, then the Y leg); its arrival."""
    n = p[P_CORES]
    a = src if src < n else src - n
    b = dst if dst < n else dst - n
    if a == b:
        return t0 + 1
    cols = p[NP_COLS]
    sh = p[NP_CSHIFT]
    if sh >= 0:
        x = a & (cols - 1)
        y = a >> sh
        xb = b & (cols - 1)
        yb = b >> sh
    else:
        x = a % cols
        y = a // cols
        xb = b % cols
        yb = b // cols
    hop = p[NP_HOPLAT]
    full = p[P_FULL] != 0
    time = t0
    stats[NS_HOPS] += abs(xb - x) + abs(yb - y)
    # link 4 * tile + d, d: +x, -x, +y, -y (DIRS); a step in x moves 4 links, in y 4 * cols
    if x != xb:
        time = _leg(lfree, links, 4 * (y * cols + x) + (0 if xb > x else 1),
                    4 if xb > x else -4, abs(xb - x), time, hop, flits, full)
    if y != yb:
        time = _leg(lfree, links, 4 * (y * cols + xb) + (2 if yb > y else 3),
                    4 * cols if yb > y else -4 * cols, abs(yb - y), time, hop, flits, full)
    return time + flits - 1


@jit_leaf
def _leg(lfree, links, link, step, hops, time, hop, flits, full):
    """One leg of a mesh route: book ``hops`` links from ``link`` on, ``step`` apart, each
    when it is free from ``time`` on; the time the message leaves the leg's last router."""
    for _ in range(hops):
        start = max(time, lfree[link])
        lfree[link] = start + flits
        time = start + hop
        if full:
            links[link] += flits
        link += step
    return time


# ------------------------------------------------------------------ errors (cold)

#: Why a ``ProtocolError`` (err[E_DETAIL]): the reference model's reasons (net.py words them).
(R_TABLE, R_DATA, R_PERFORM, R_ACKS, R_LEAVES, R_SENDDATA, R_HIT, R_NOEVENT,
 R_NOOWNER) = range(9)


@jit_helper
def _err(err, f, ncores, kind, t, node, addr, st, ev, slot, why):
    """Record an error at a node; ``slot`` the message being handled (-1: none), ``why``
    the reason's code (R_*; ``ev`` carries its detail: a state, a message type)."""
    set_err(err, kind, t, node if node < ncores else -1, addr, st, ev, why)
    err[NE_NODE] = node
    err[NE_MTYPE] = -1
    if slot >= 0:
        err[NE_MTYPE] = f[slot, MF_TYPE]
        err[NE_MSRC] = f[slot, MF_SRC]
        err[NE_MREQ] = f[slot, MF_REQ]


@jit_helper
def _check_line(p, meaning, l1, golden, err, t, c, line):
    """check=True, after an entry taken at cache c for ``line``: single writer or many
    readers and one owner over every cache's state, and every readable copy's data the
    latest value (programs).  Returns False after recording the violation."""
    s = line & nonneg(p[P_SETS] - 1)
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
        set_err(err, ERR_SWMR, t, c, addr, writers, readers, 0)
        err[NE_NODE] = -2
        return False
    if owners > 1:
        set_err(err, ERR_OWNER, t, c, addr, owners, readers, 0)
        err[NE_NODE] = -2
        return False
    if p[P_DATA] == 0:
        return True
    wpl = p[P_WPL]
    base = line * wpl
    for c2 in range(p[P_CORES]):
        w2 = find(l1, c2, s, line, ways)
        if w2 >= 0 and meaning[l1.state[c2, s, w2], M_READ] != 0:
            for k in range(wpl):
                if base + k < golden.shape[0] and l1.data[c2, s, w2, k] != golden[base + k]:
                    set_err(err, ERR_DATA, t, c2, (base + k) << 3, l1.data[c2, s, w2, k],
                            golden[base + k], 0)
                    err[NE_NODE] = -2
                    return False
    return True


@jit_helper
def _check_soon(m, t, c, line):
    """check=True after an entry taken at cache c: the line check now, or, while a bus
    request is being delivered (ns[S_DEFER]), once every node has handled it (each line once,
    at the first cache that took an entry for it).  A cold path: check=True runs only."""
    ns = m.net.s
    if ns[S_DEFER] == 0:
        return _check_line(m.p, m.pr.cmeaning, m.l1, m.mem.golden, m.log.err, t, c, line)
    d = m.msg.defer
    n = ns[S_NDEFER]
    for i in range(n):
        if d[i, 0] == line:
            return True
    if n >= d.shape[0]:
        _err(m.log.err, m.msg.f, m.p[P_CORES], ERR_POOL, t, c, line << m.p[P_LSHIFT], 0, 0,
             -1, R_TABLE)
        return False
    d[n, 0] = line
    d[n, 1] = c
    ns[S_NDEFER] = n + 1
    return True


# ------------------------------------------------------------------ sending

@jit_inline
def _send(m, t, src, dst, ty, req, line, h, acks, dsrc, s, w):
    """Node src sends a message of type ty for ``line`` (home index h) to dst (BROADCAST:
    src's bus queue) at cycle t.  The data (a data message, programs): cache src's frame
    (s, w) when dsrc is 1, the home's memory when 2.  Returns False when the pool is full."""
    msg = m.msg
    ns = m.net.s
    p = m.p
    f = msg.f
    slot = _alloc(msg.free, ns)
    if slot < 0:
        _err(m.log.err, f, p[P_CORES], ERR_POOL, t, src, line << p[P_LSHIFT], 0, 0, -1,
             R_TABLE)
        return False
    f[slot, MF_TYPE] = ty
    f[slot, MF_SRC] = src
    f[slot, MF_DST] = dst
    f[slot, MF_REQ] = req
    f[slot, MF_LINE] = line
    f[slot, MF_HL] = h
    f[slot, MF_ACKS] = acks
    f[slot, MF_SHARED] = 0
    f[slot, MF_SENT] = t
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
            base = h * wpl
            for k in range(wpl):
                msg.data[slot, k] = m.mem.words[base + k]
    if dst == BROADCAST:
        _append(msg.busq, f, src, slot)
        ns[S_QUEUED] += 1
        return True
    ncores = p[P_CORES]
    if p[NP_KIND] == KIND_SPLIT:
        # no jitter on the data network: the address bus's grants carry it
        arr = t + (p[P_MEMLAT] if src >= ncores else p[P_C2CLAT])
    else:
        t0 = t + (p[P_MEMLAT] if (src >= ncores and data) else 0) + rand(m.rng, p[P_JITTER])
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
    _enqueue(msg, ns, t, arr, slot)
    if m.log.wlines.shape[0] > 0:
        _log_message(m.log, f, slot)
    return True


@jit_leaf
def _log_message(log, f, slot):
    """A message of a watched line is on its way (watch=): sent, arrives, type, source,
    destination (-1: the bus)."""
    i = _watched(log.wlines, f[slot, MF_LINE])
    if i >= 0:
        log_row(log.mlog, log.mlogn, (f[slot, MF_SENT], f[slot, MF_ARR], f[slot, MF_TYPE],
                                      f[slot, MF_SRC], f[slot, MF_DST], i))


# ------------------------------------------------------------------ performing

@jit_inline
def _done(m, p, T, first):
    """Port p's access has been performed at T: release it.  A first attempt's hit: the core
    is ready at T + hit_latency, a drain's next entry at T + hit_latency + rand(drain_delay);
    otherwise the Perform rules (ready at T+1, stall_cycles, the miss latency)."""
    c = p >> 1
    params = m.p
    port = m.port
    port[p, Q_STATE] = QS_IDLE
    if params[NP_FILTER] != 0:
        _wait_bit(m.msg.waitv, port, c)
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

@jit_inline
def _take(m, t, n, line, h, s, w, st, ev, nxt, slot, req, hit_port, first):
    """Node n takes its entry (st, ev) for ``line`` (home index h; at a cache, frame (s, w),
    w -1: not present) at cycle t: the message's data (``slot``, -1: a processor event), the
    actions in order, the next state, the wake list, the line check.  ``hit_port``: the port
    whose access a ``perform`` of a processor entry performs (-1: the frame's ``mport``).
    Returns False on an error.  Inlined once: every entry of the machine is taken here."""
    p = m.p
    l1 = m.l1
    pr = m.pr
    f = m.msg.f
    home = m.home
    rec = home.rec
    err = m.log.err
    ncores = p[P_CORES]
    cache = n < ncores
    addr = line << p[P_LSHIFT]
    if cache:
        acts = pr.cacts
        m.cpu.k[n, K_LOOK] = LOOK_NONE  # the run-ahead's look-ahead starts anew
        if p[P_FULL] != 0:
            m.net.ctrans[st, ev] += 1
        if slot >= 0 and pr.msg_data[f[slot, MF_TYPE]] != 0:
            if w < 0:
                _err(err, f, ncores, ERR_ABSENT, t, n, addr, st, ev, slot, R_DATA)
                return False
            if p[P_DATA] != 0:
                for k in range(p[P_WPL]):
                    l1.data[n, s, w, k] = m.msg.data[slot, k]
    else:
        acts = pr.hacts
        if p[P_FULL] != 0:
            m.net.htrans[st, ev] += 1
        m.net.stats[NS_HOME] += 1
    macks = f[slot, MF_ACKS] if slot >= 0 else 0
    dests = m.msg.dests
    for k in range(MAX_ACTIONS):
        # the indices anew through opaque, so that the addresses the body computes from them
        # are computed where it uses them, not all of them before the loop (_jit.opaque)
        st = opaque(st)
        ev = opaque(ev)
        n = opaque(n)
        s = opaque(s)
        w = opaque(w)
        h = opaque(h)
        req = opaque(req)
        line = opaque(line)
        slot = opaque(slot)
        a = acts[st, ev, k, 0]
        if a == 0:
            break
        if a == A_SEND:
            ty = acts[st, ev, k, 1]
            tgt = acts[st, ev, k, 2] & 7
            if cache and pr.msg_data[ty] != 0 and w < 0:
                _err(err, f, ncores, ERR_ABSENT, t, n, addr, st, ty, slot, R_SENDDATA)
                return False
            acks = np.int64(0)
            if acts[st, ev, k, 2] & 8:
                acks = _others(rec, h, req)
            nd = 0
            if tgt == T_REQ_HOME:
                dests[0] = req
                dests[1] = _home_of(p, line)
                nd = 2
            elif tgt == T_HOME:
                dests[0] = _home_of(p, line)
                nd = 1
            elif tgt == T_REQ:
                dests[0] = req
                nd = 1
            elif tgt == T_BUS:
                dests[0] = BROADCAST
                nd = 1
            elif tgt == T_OWNER:
                o = _owner(rec, h)
                if o < 0:
                    _err(err, f, ncores, ERR_NOOWNER, t, n, addr, st, ty, slot, R_NOOWNER)
                    return False
                dests[0] = o
                nd = 1
            elif tgt == T_SHARERS:
                for kw in range(rec.shape[1] - HR_SHARERS):
                    word = np.uint64(rec[h, HR_SHARERS + kw])
                    while word != _U0:
                        b = _ctz(word)
                        word &= word - _U1
                        c2 = kw * 64 + b
                        if c2 != req:
                            dests[nd] = c2
                            nd += 1
            ds = 2
            if cache:
                ds = 1 if w >= 0 else 0
            for i in range(nd):
                # opaque: as the actions' loop (its addresses not hoisted out of this one)
                if not _send(m, t, opaque(n), dests[i], opaque(ty), opaque(req), opaque(line),
                             opaque(h), opaque(acks), opaque(ds), opaque(s), opaque(w)):
                    return False
        elif a == A_PERFORM:
            q = hit_port
            if q < 0 and w >= 0:
                q = l1.mport[n, s, w]
            if w < 0 or q < 0:
                _err(err, f, ncores, ERR_ABSENT, t, n, addr, st, ev, slot, R_PERFORM)
                return False
            if not _perform(m, q, t, s, w, m.port[q, Q_ADDR]):
                err[NE_NODE] = -2
                return False
            if hit_port < 0:
                l1.mport[n, s, w] = -1
            _done(m, q, t, first)
        elif a == A_SET_ACKS or a == A_DEC_ACKS:
            if w < 0:
                _err(err, f, ncores, ERR_ABSENT, t, n, addr, st, ev, slot, R_ACKS)
                return False
            if a == A_SET_ACKS:
                l1.acks[n, s, w] += macks
            else:
                l1.acks[n, s, w] -= 1
        elif a == A_ADD_REQ:
            rec[h, HR_SHARERS + (req >> 6)] |= np.int64(1) << (req & 63)
        elif a == A_ADD_OWNER:
            o = _owner(rec, h)
            if o >= 0:
                rec[h, HR_SHARERS + (o >> 6)] |= np.int64(1) << (o & 63)
        elif a == A_REMOVE_REQ:
            rec[h, HR_SHARERS + (req >> 6)] &= ~(np.int64(1) << (req & 63))
        elif a == A_CLEAR_SHARERS:
            for kw in range(HR_SHARERS, rec.shape[1]):
                rec[h, kw] = 0
        elif a == A_SET_OWNER:
            _set_owner(rec, h, req)
        elif a == A_CLEAR_OWNER:
            _set_owner(rec, h, -1)
        elif a == A_WRITE_MEMORY:
            if p[P_DATA] != 0 and slot >= 0:
                wpl = p[P_WPL]
                for kk in range(wpl):
                    m.mem.words[h * wpl + kk] = m.msg.data[slot, kk]
    if hit_port < 0 and nxt != st and m.log.wlines.shape[0] > 0:
        # a watched line's state change (the reference model logs the entries taken, which
        # a processor's hits are not)
        i = _watched(m.log.wlines, line)
        if i >= 0:
            log_row(m.log.slog, m.log.slogn, (t, n, nxt, i))
    if not cache:
        rec[h, HR_STATE] = nxt
    elif w >= 0:
        l1.state[n, s, w] = nxt
        if nxt == 0:
            l1.tags[n, s, w] = -1
            if p[NP_FILTER] != 0:
                _setbit(home.hold[h], n, False)
    elif nxt != 0:
        _err(err, f, ncores, ERR_ABSENT, t, n, addr, st, nxt, slot, R_LEAVES)
        return False
    # The pair (n, line) to the wake list, unless node n has nothing for it to do (no stalled
    # message, no waiting port): a pair is a no-op when its node has nothing, and a node gets
    # something only from the work a _react starts with, before its first entry, or when an
    # attempt's victim leaves its port waiting (which adds the pair itself, at the same place
    # in the list), so such a pair would still have nothing when its turn comes.
    if _busy(m.msg.stall, m.port, ncores, n):
        if not _wake_add(m.msg.wake, m.net.s, n, line):
            _err(err, f, ncores, ERR_POOL, t, n, addr, 0, 0, -1, R_TABLE)
            return False
    if cache and p[P_CHECK] != 0:
        return _check_soon(m, t, n, line)
    return True


# ------------------------------------------------------------------ looking an entry up

@jit_leaf
def _event(pr, home, f, ncores, n, slot, acks_here):
    """The event of the message in ``slot`` at node n (docs/machine.md, step 2); -1 when
    the controller has none for it.  ``acks_here``: the frame's ack counter (caches)."""
    ty = f[slot, MF_TYPE]
    cache = n < ncores
    part = pr.cpart[ty] if cache else pr.hpart[ty]
    ev = np.int64(-1)
    if part >= 0:
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
            cond = W_FROM_OWNER if f[slot, MF_SRC] == _owner(home.rec, f[slot, MF_HL]) \
                else W_FROM_NONOWNER
        elif part == PART_SHARER:
            last = _only(home.rec, f[slot, MF_HL], f[slot, MF_SRC])
            cond = W_LAST_SHARER if last else W_NOT_LAST_SHARER
        elif part == PART_SHARED:
            cond = W_SHARED if f[slot, MF_SHARED] != 0 else W_ALONE
        ev = np.int64(pr.cevent[ty, cond]) if cache else np.int64(pr.hevent[ty, cond])
    return ev


#: What looking a message's entry up found.
TAKEN, STALLED, FAILED = 0, 1, 2


@jit_inline
def _lookup(m, t, n, slot):
    """Steps 2-3 of handling at node n: the entry (its state, event and next state, and at
    a cache the frame) or a stall (counted).  Returns (TAKEN / STALLED / FAILED, st, ev,
    nxt, s, w): TAKEN means the caller takes it."""
    p = m.p
    f = m.msg.f
    pr = m.pr
    line = f[slot, MF_LINE]
    ncores = p[P_CORES]
    s = np.int64(0)
    w = np.int64(-1)
    st = np.int64(0)
    acks = np.int64(0)
    if n < ncores:
        s = line & nonneg(p[P_SETS] - 1)
        w = find(m.l1, n, s, line, p[P_WAYS])
        if w >= 0:
            st = np.int64(m.l1.state[n, s, w])
            acks = m.l1.acks[n, s, w]
    else:
        st = m.home.rec[f[slot, MF_HL], HR_STATE]
    ev = _event(pr, m.home, f, ncores, n, slot, acks)
    if ev < 0:
        _err(m.log.err, f, ncores, ERR_PROTOCOL, t, n, line << p[P_LSHIFT], st, -1, slot,
             R_NOEVENT)
        return FAILED, st, ev, np.int64(0), s, w
    nxt = np.int64(pr.cnext[st, ev] if n < ncores else pr.hnext[st, ev])
    if nxt == NEXT_IMPOSSIBLE:
        _err(m.log.err, f, ncores, ERR_PROTOCOL, t, n, line << p[P_LSHIFT], st, ev, slot,
             R_TABLE)
        return FAILED, st, ev, nxt, s, w
    if nxt == NEXT_STALL:
        m.net.stats[NS_STALLS] += 1
        if p[P_FULL] != 0:
            if n < ncores:
                m.net.ctrans[st, ev] += 1
            else:
                m.net.htrans[st, ev] += 1
        return STALLED, st, ev, nxt, s, w
    return TAKEN, st, ev, nxt, s, w


# ------------------------------------------------------------------ handling, attempts, wake

#: The modes of :func:`_react`'s state machine.
MO_MSG, MO_ATTEMPT, MO_RESCAN, MO_PORTS, MO_NEXT = range(5)
#: What an attempt's entry was: a hit, a victim's Replacement, the miss.
AW_HIT, AW_VICTIM, AW_MISS = range(3)
#: rx[]: the state machine's state (see :func:`_react`).
RX = ("mode", "q", "first", "back", "astage", "away", "aalloc", "ast", "aev", "anxt", "aw",
      "wn", "wline", "pi", "prev", "cur", "seen", "ls")
(RX_MODE, RX_Q, RX_FIRST, RX_BACK, RX_ASTAGE, RX_AWAY, RX_AALLOC, RX_AST, RX_AEV, RX_ANXT,
 RX_AW, RX_WN, RX_WLINE, RX_PI, RX_PREV, RX_CUR, RX_SEEN, RX_LS) = range(len(RX))


@jit_inline
def _react(m, t, node, slot, copy, q):
    """One piece of work at cycle t and then the wake list until it is empty: node handles
    the message in ``slot`` (steps 1-3; ``copy``: a broadcast, which other nodes still
    receive, so a stall keeps a copy) when q == -1, else port q makes its first attempt
    (docs/machine.md, "an attempt": a hit, a stall, a wait for an MSHR or a victim, or a
    miss), or (q == -2) only the wake list.  The wake list's pairs rescan the node's stall
    list and retry its waiting ports.

    One state machine, so that the lookup, the attempt and above all the entry taken
    (:func:`_take`) each appear once.  Its state lives in the small array ``rx`` (``RX_*``),
    not in local variables: an iteration reads what its mode needs, so the compiler keeps no
    values alive across iterations (as loop variables, the machine's many array addresses
    and indices were computed and spilled at every iteration).  Returns False on an
    error."""
    p = m.p
    l1 = m.l1
    pr = m.pr
    msg = m.msg
    f = msg.f
    ns = m.net.s
    stats = m.net.stats
    port = m.port
    err = m.log.err
    stall = msg.stall
    vnet = pr.msg_vnet
    rx = msg.rx
    ncores = p[P_CORES]
    lshift = p[P_LSHIFT]
    smask = nonneg(p[P_SETS] - 1)
    ways = p[P_WAYS]
    full = p[P_FULL] != 0
    filt = p[NP_FILTER] != 0
    rx[RX_MODE] = MO_MSG
    rx[RX_FIRST] = 0
    rx[RX_Q] = q
    if q >= 0:
        rx[RX_MODE] = MO_ATTEMPT
        rx[RX_FIRST] = 1
    elif q == -2:
        rx[RX_MODE] = MO_NEXT
    rx[RX_BACK] = MO_NEXT   # where an attempt returns: the wake list, or the next port
    rx[RX_ASTAGE] = 0       # 1: the attempt allocates way RX_AWAY and takes its miss entry
    rx[RX_AW] = AW_HIT
    rx[RX_LS] = slot
    while True:
        # opaque: the node's addresses computed where an iteration uses them (_jit.opaque)
        node = opaque(node)
        slot = opaque(slot)
        mode = rx[RX_MODE]
        if mode == MO_NEXT:
            # the next pair of the wake list (none: done) whose node has something to do:
            # a stalled message, or (a cache) a waiting port
            wn = np.int64(-1)
            while True:
                i = ns[S_WHEAD]
                if i >= ns[S_WTAIL]:
                    break
                ns[S_WHEAD] = i + 1
                n2 = msg.wake[i, 0]
                if _busy(stall, port, ncores, n2):
                    wn = n2
                    break
            if wn < 0:
                ns[S_WHEAD] = 0
                ns[S_WTAIL] = 0
                return True
            rx[RX_WN] = wn
            rx[RX_WLINE] = msg.wake[i, 1]
            rx[RX_PREV] = -1
            rx[RX_CUR] = stall[wn, LS_HEAD] if stall[wn, LS_COUNT] > 0 else -1
            rx[RX_SEEN] = 0
            rx[RX_PI] = 0
            rx[RX_MODE] = MO_RESCAN
            continue
        if mode == MO_PORTS:
            # the pair's cache's ports that wait on the line or for an MSHR, in order
            wn = rx[RX_WN]
            wline = rx[RX_WLINE]
            qq = -1
            if wn < ncores:
                pi = rx[RX_PI]
                while pi < 2:
                    q2 = 2 * wn + pi
                    pi += 1
                    if port[q2, Q_STATE] == QS_WAIT and (port[q2, Q_WLINE] == wline
                                                         or port[q2, Q_WLINE] == -1):
                        qq = q2
                        break
                rx[RX_PI] = pi
            if qq < 0:
                rx[RX_MODE] = MO_NEXT
                continue
            rx[RX_Q] = qq
            rx[RX_MODE] = MO_ATTEMPT
            rx[RX_FIRST] = 0
            rx[RX_BACK] = MO_PORTS
            continue
        if mode == MO_MSG or mode == MO_RESCAN:
            if mode == MO_MSG:
                ln = node
                ls = slot
                if _held(stall, f, vnet, ln, f[ls, MF_LINE], vnet[f[ls, MF_TYPE]]):
                    stats[NS_STALLS] += 1
                    r = STALLED
                    est = np.int64(0)
                    eev = np.int64(0)
                    enxt = np.int64(0)
                    es = np.int64(0)
                    ew = np.int64(-1)
                else:
                    r, est, eev, enxt, es, ew = _lookup(m, t, ln, ls)
            else:
                # the rescan's next candidate: the first stalled message of the line on a
                # virtual network not seen yet in this scan
                ln = rx[RX_WN]
                wline = rx[RX_WLINE]
                cur = rx[RX_CUR]
                prev = rx[RX_PREV]
                seen = rx[RX_SEEN]
                ls = -1
                while cur >= 0:
                    if f[cur, MF_LINE] == wline:
                        bit = np.int64(1) << vnet[f[cur, MF_TYPE]]
                        if seen & bit == 0:
                            seen |= bit
                            ls = cur
                            break
                    prev = cur
                    cur = f[cur, MF_NEXT]
                rx[RX_CUR] = cur
                rx[RX_PREV] = prev
                rx[RX_SEEN] = seen
                if ls < 0:
                    rx[RX_MODE] = MO_PORTS
                    continue
                rx[RX_LS] = ls
                r, est, eev, enxt, es, ew = _lookup(m, t, ln, ls)
            if r == FAILED:
                return False
            if r == STALLED:
                if mode == MO_MSG:
                    keep = ls
                    if copy:
                        keep = _alloc(msg.free, ns)
                        if keep < 0:
                            _err(err, f, ncores, ERR_POOL, t, ln, f[ls, MF_LINE] << lshift, 0,
                                 0, -1, R_TABLE)
                            return False
                        for k in range(f.shape[1]):
                            f[keep, k] = f[ls, k]
                        if p[P_DATA] != 0:
                            for k in range(msg.data.shape[1]):
                                msg.data[keep, k] = msg.data[ls, k]
                    _append(stall, f, ln, keep)
                    ns[S_STALLED] += 1
                    if filt and ln < ncores:
                        _setbit(msg.stallv, ln, True)
                    rx[RX_MODE] = MO_NEXT
                else:
                    cur = rx[RX_CUR]
                    rx[RX_PREV] = cur
                    rx[RX_CUR] = f[cur, MF_NEXT]
                continue
            en = ln
            eline = f[ls, MF_LINE]
            eh = f[ls, MF_HL]
            eslot = ls
            ereq = f[ls, MF_REQ]
            ehp = np.int64(-1)
            efirst = False
        else:
            # MO_ATTEMPT: port q's attempt
            q = rx[RX_Q]
            first = rx[RX_FIRST] != 0
            c = q >> 1
            addr = port[q, Q_ADDR]
            line = addr >> lshift
            s = line & smask
            if rx[RX_ASTAGE] == 0:
                w = find(l1, c, s, line, ways)
                st = np.int64(l1.state[c, s, w]) if w >= 0 else np.int64(0)
                ev = EVENT_OF_KIND[port[q, Q_KIND]]
                nxt = np.int64(pr.cnext[st, ev])
                if nxt == NEXT_IMPOSSIBLE:
                    _err(err, f, ncores, ERR_PROTOCOL, t, c, addr, st, ev, -1, R_TABLE)
                    return False
                perf = (pr.cflags[st, ev] & FL_PERFORM) != 0
                if first and (nxt == NEXT_STALL or not perf):
                    # a first attempt that does not hit: a miss, and the core (drain unit)
                    # waits
                    m.cpu.stats[c, CS_MISSES] += 1
                    port[q, Q_TIME] = t
                    if q & 1:
                        m.sb.draining[c] = 1
                    else:
                        m.cpu.k[c, K_WAIT] = W_BUS
                        m.cpu.k[c, K_TBLOCK] = t
                if nxt == NEXT_STALL:
                    stats[NS_STALLS] += 1
                    if full:
                        m.net.ctrans[st, ev] += 1
                    port[q, Q_STATE] = QS_WAIT
                    if filt:
                        _setbit(msg.waitv, q >> 1, True)
                    port[q, Q_WLINE] = line
                    rx[RX_MODE] = rx[RX_BACK]
                    continue
                if perf:
                    if w < 0:
                        _err(err, f, ncores, ERR_ABSENT, t, c, addr, st, ev, -1, R_HIT)
                        return False
                    if first:
                        m.cpu.stats[c, CS_HITS] += 1
                    en = c
                    eline = line
                    eh = port[q, Q_HL]
                    es = s
                    ew = w
                    est = st
                    eev = ev
                    enxt = nxt
                    eslot = np.int64(-1)
                    ereq = c
                    ehp = q
                    efirst = first
                    rx[RX_AW] = AW_HIT
                else:
                    # a miss
                    if _outstanding(port, c) >= p[NP_MSHRS]:
                        port[q, Q_STATE] = QS_WAIT
                        if filt:
                            _setbit(msg.waitv, q >> 1, True)
                        port[q, Q_WLINE] = -1
                        rx[RX_MODE] = rx[RX_BACK]
                        continue
                    rx[RX_AST] = st
                    rx[RX_AEV] = ev
                    rx[RX_ANXT] = nxt
                    rx[RX_ASTAGE] = 1
                    rx[RX_AWAY] = w
                    rx[RX_AALLOC] = 0
                    if w >= 0:
                        continue    # stage 1 takes the miss's entry
                    rx[RX_AALLOC] = 1
                    for v in range(ways):
                        if l1.tags[c, s, v] < 0:
                            rx[RX_AWAY] = v
                            break
                    if rx[RX_AWAY] >= 0:
                        continue    # stage 1 allocates the free frame
                    # no free frame: the least recently used stable one is the victim
                    meaning = pr.cmeaning
                    v = -1
                    least = INF
                    lru_any = 0
                    least_any = INF
                    for u in range(ways):
                        if l1.lru[c, s, u] < least_any:
                            least_any = l1.lru[c, s, u]
                            lru_any = u
                        if (meaning[l1.state[c, s, u], M_TRANSIENT] == 0
                                and l1.lru[c, s, u] < least):
                            least = l1.lru[c, s, u]
                            v = u
                    if v < 0:
                        port[q, Q_STATE] = QS_WAIT
                        if filt:
                            _setbit(msg.waitv, q >> 1, True)
                        port[q, Q_WLINE] = l1.tags[c, s, lru_any]
                        rx[RX_ASTAGE] = 0
                        rx[RX_MODE] = rx[RX_BACK]
                        continue
                    vline = l1.tags[c, s, v]
                    vst = np.int64(l1.state[c, s, v])
                    vn = np.int64(pr.cnext[vst, EV_REPL])
                    if vn == NEXT_IMPOSSIBLE:
                        _err(err, f, ncores, ERR_PROTOCOL, t, c, vline << lshift, vst,
                             EV_REPL, -1, R_TABLE)
                        return False
                    if vn == NEXT_STALL:
                        stats[NS_STALLS] += 1
                        if full:
                            m.net.ctrans[vst, EV_REPL] += 1
                        port[q, Q_STATE] = QS_WAIT
                        if filt:
                            _setbit(msg.waitv, q >> 1, True)
                        port[q, Q_WLINE] = vline
                        rx[RX_ASTAGE] = 0
                        rx[RX_MODE] = rx[RX_BACK]
                        continue
                    en = c
                    eline = vline
                    eh = l1.fh[c, s, v]
                    _prefetch_home(m.home.rec, eh)   # for its Put's arrival
                    es = s
                    ew = np.int64(v)
                    est = vst
                    eev = np.int64(EV_REPL)
                    enxt = vn
                    eslot = np.int64(-1)
                    ereq = c
                    ehp = np.int64(-1)
                    efirst = False
                    rx[RX_AW] = AW_VICTIM
                    rx[RX_AWAY] = v
            else:
                # stage 1: the miss in way RX_AWAY (allocated if the line was not present)
                w = rx[RX_AWAY]
                if rx[RX_AALLOC] != 0:
                    l1.tags[c, s, w] = line
                    l1.otag[c, s, w] = line
                    l1.fh[c, s, w] = port[q, Q_HL]
                    l1.state[c, s, w] = 0
                    l1.acks[c, s, w] = 0
                    if filt:
                        _setbit(m.home.hold[port[q, Q_HL]], c, True)
                l1.mport[c, s, w] = q
                stamp(l1, c, s, w)
                port[q, Q_STATE] = QS_OUT
                if filt:
                    _wait_bit(msg.waitv, port, c)
                en = c
                eline = line
                eh = port[q, Q_HL]
                es = s
                ew = w
                est = rx[RX_AST]
                eev = rx[RX_AEV]
                enxt = rx[RX_ANXT]
                eslot = np.int64(-1)
                ereq = c
                ehp = np.int64(-1)
                efirst = False
                rx[RX_AW] = AW_MISS
                rx[RX_ASTAGE] = 0
        # the entry: every entry of the machine is taken here
        if not _take(m, t, en, eline, eh, es, ew, est, eev, enxt, eslot, ereq, ehp, efirst):
            return False
        mode = rx[RX_MODE]
        if mode == MO_MSG:
            if not copy:
                _release(msg.free, ns, slot)
            rx[RX_MODE] = MO_NEXT
        elif mode == MO_RESCAN:
            wn = rx[RX_WN]
            ls = rx[RX_LS]
            _unlink(stall, f, wn, rx[RX_PREV], ls)
            ns[S_STALLED] -= 1
            if filt and wn < ncores and stall[wn, LS_COUNT] == 0:
                _setbit(msg.stallv, wn, False)
            _release(msg.free, ns, ls)
            rx[RX_PREV] = -1
            rx[RX_CUR] = stall[wn, LS_HEAD] if stall[wn, LS_COUNT] > 0 else -1
            rx[RX_SEEN] = 0
        else:
            aw = rx[RX_AW]
            if aw == AW_HIT:
                if l1.tags[en, es, ew] == eline:
                    stamp(l1, en, es, ew)
                rx[RX_MODE] = rx[RX_BACK]
            elif aw == AW_VICTIM:
                rx[RX_AW] = AW_HIT
                if enxt != 0:
                    q = rx[RX_Q]
                    port[q, Q_STATE] = QS_WAIT
                    if filt:
                        _setbit(msg.waitv, q >> 1, True)
                    port[q, Q_WLINE] = eline
                    rx[RX_ASTAGE] = 0
                    rx[RX_MODE] = rx[RX_BACK]
                    # the victim's pair (_take left it out when the port was not waiting yet)
                    if not _wake_add(msg.wake, ns, en, eline):
                        _err(err, f, ncores, ERR_POOL, t, en, eline << lshift, 0, 0, -1,
                             R_TABLE)
                        return False
                # else: stage 1 (RX_ASTAGE is 1) allocates the freed frame
            else:
                rx[RX_MODE] = rx[RX_BACK]


@jit_inline
def _access(m, q, t, kind, addr):
    """A first attempt of port q: the hit of a stable line inline, else :func:`_react`
    (with the line's home record).  Returns False on an error."""
    port = m.port
    port[q, Q_KIND] = kind
    port[q, Q_ADDR] = addr
    p = m.p
    l1 = m.l1
    pr = m.pr
    c = q >> 1
    line = addr >> p[P_LSHIFT]
    s = line & nonneg(p[P_SETS] - 1)
    w = find(l1, c, s, line, p[P_WAYS])
    work = q
    if w >= 0 and p[P_CHECK] == 0 and _plain_hit(pr, l1.state[c, s, w], EVENT_OF_KIND[kind]):
        # only `perform`: a plain hit
        st = l1.state[c, s, w]
        nxt = pr.cnext[st, EVENT_OF_KIND[kind]]
        m.cpu.stats[c, CS_HITS] += 1
        if p[P_FULL] != 0:
            m.net.ctrans[st, EVENT_OF_KIND[kind]] += 1
        if not _perform(m, q, t, s, w, addr):
            m.log.err[NE_NODE] = -2
            return False
        _done(m, q, t, True)
        l1.state[c, s, w] = nxt
        if nxt == 0:
            l1.tags[c, s, w] = -1
            if p[NP_FILTER] != 0:
                _setbit(m.home.hold[l1.fh[c, s, w]], c, False)
        else:
            stamp(l1, c, s, w)
        if m.msg.stall[c, LS_COUNT] == 0 and port[2 * c + 1 - (q & 1), Q_STATE] != QS_WAIT:
            return True  # the wake list would do nothing
        if not _wake_add(m.msg.wake, m.net.s, c, line):
            _err(m.log.err, m.msg.f, p[P_CORES], ERR_POOL, t, c, addr, 0, 0, -1, R_TABLE)
            return False
        work = -2        # the wake list only
    else:
        h = _hfind(m.home, m.net.s, line) if p[NP_HASH] != 0 else line - p[NP_HBASE]
        port[q, Q_HL] = h
        _prefetch_home(m.home.rec, h)   # for the request's arrival
    return _react(m, t, np.int64(-1), np.int64(-1), False, work)


@jit_leaf
def _plain_hit(pr, st, ev):
    """The entry (st, ev) of a processor event only performs (a hit and nothing else)."""
    return (pr.cflags[st, ev] & FL_PLAIN) != 0


# ------------------------------------------------------------------ run-ahead (traces, SC)

@jit_helper
def _hits_stable(pr):
    """True when no plain hit (an entry of Load or Store that only performs) changes which of
    the core's own later accesses are plain hits, so that a run of them can be foreseen from
    the tags and states alone (e.g. MESI's silent E -> M keeps both)."""
    for st in range(pr.cnext.shape[0]):
        for ev in range(2):
            if _plain_hit(pr, st, ev):
                nst = pr.cnext[st, ev]
                if nst <= 0:
                    return False
                for ev2 in range(2):
                    if _plain_hit(pr, st, ev2) != _plain_hit(pr, nst, ev2):
                        return False
    return True


@jit_inline
def _first_nonhit(m, c, lo, limit):
    """The first cycle in lo .. limit-1 at which trace core c (SC) would make an access
    that is not a plain hit (or could not run ahead at all), else ``limit``.  Reads the
    caches only.  The answer holds until cache c takes an entry other than its core's plain
    hits (which drops the cursor, _take), so the scan resumes where it stopped (K_LOOK*)
    instead of reading the same accesses again at every window."""
    k = m.cpu.k
    if k[c, K_HALTED] != 0 or k[c, K_WAIT] != W_NONE:
        return limit
    if m.msg.stall[c, LS_COUNT] > 0 or m.port[2 * c + 1, Q_STATE] == QS_WAIT:
        # its hits would run the wake list: no run-ahead past its next act
        return min(max(k[c, K_READY], lo), limit)
    if k[c, K_LOOKPC] < k[c, K_PC]:
        k[c, K_LOOK] = LOOK_NONE
    if k[c, K_LOOK] == LOOK_NONE:
        k[c, K_LOOK] = LOOK_SCAN
        k[c, K_LOOKT] = max(k[c, K_READY], lo)
        k[c, K_LOOKPC] = k[c, K_PC]
    if k[c, K_LOOK] == LOOK_MISS:
        return min(k[c, K_LOOKT], limit)
    l1 = m.l1
    prog = m.prog
    pr = m.pr
    lshift = m.p[P_LSHIFT]
    smask = nonneg(m.p[P_SETS] - 1)
    ways = m.p[P_WAYS]
    lat = m.p[P_HIT]
    tau = k[c, K_LOOKT]
    i = prog.start[c] + k[c, K_LOOKPC]
    end = prog.start[c] + prog.length[c]
    while tau < limit:
        if i >= end:
            tau = INF   # the core halts: nothing it does reaches the network
            break
        line = prog.taddr[i] >> lshift
        s = line & smask
        w = find(l1, c, s, line, ways)
        if w < 0 or not _plain_hit(pr, l1.state[c, s, w], np.int64(prog.twrite[i] != 0)):
            k[c, K_LOOK] = LOOK_MISS
            break
        tau += lat
        i += 1
    k[c, K_LOOKT] = tau
    k[c, K_LOOKPC] = i - prog.start[c]
    if tau == INF:
        k[c, K_LOOK] = LOOK_MISS
    return min(tau, limit)


@jit_inline
def _run_hits(m, c, lo, hi):
    """Trace core c (SC) in the cycles lo .. hi-1: its plain hits (what phase 2 does for each
    of them: counted, performed, retired, the state and LRU stamp), or its halt at the
    trace's end.  Returns the last cycle in which it acted (lo - 1: none)."""
    k = m.cpu.k
    acted = lo - 1
    if k[c, K_HALTED] != 0 or k[c, K_WAIT] != W_NONE:
        return acted
    tau = max(k[c, K_READY], lo)
    if tau >= hi:
        return acted
    l1 = m.l1
    prog = m.prog
    pr = m.pr
    stats = m.cpu.stats
    lshift = m.p[P_LSHIFT]
    smask = nonneg(m.p[P_SETS] - 1)
    ways = m.p[P_WAYS]
    lat = m.p[P_HIT]
    full = m.p[P_FULL] != 0
    i0 = nonneg(prog.start[c] + k[c, K_PC])
    clock = l1.clock[c]
    i = i0
    end = prog.start[c] + prog.length[c]
    stores = 0
    lasthit = tau
    while tau < hi:
        if i >= end:
            k[c, K_HALTED] = 1
            progress(m.clk, tau)
            acted = tau
            break
        line = prog.taddr[i] >> lshift
        s = line & smask
        w = find(l1, c, s, line, ways)
        wr = np.int64(prog.twrite[i] != 0)
        if w < 0:
            break
        st = l1.state[c, s, w]
        if not _plain_hit(pr, st, wr):
            break
        nst = pr.cnext[st, wr]
        if full:
            m.net.ctrans[st, wr] += 1
        l1.state[c, s, w] = nst
        clock += 1  # the LRU stamp (stamp), with the cache's clock in a local
        l1.lru[c, s, w] = clock
        stores += wr
        acted = tau
        lasthit = tau
        tau += lat
        i += 1
    # the host's caches: the trace's next lines, and the frames of the set of the access the
    # core makes next (_jit.prefetch)
    prefetch(prog.taddr, i + 8)
    prefetch(prog.twrite, i + 64)
    if i < end:
        base = (c * (smask + 1) + ((prog.taddr[i] >> lshift) & smask)) * ways
        prefetch(l1.tags, base)
        prefetch(l1.state, base)
        prefetch(l1.lru, base)
    n = i - i0
    if n > 0:
        l1.clock[c] = clock
        k[c, K_PC] += n
        k[c, K_READY] = lasthit + lat
        stats[c, CS_INSTR] += n
        stats[c, CS_HITS] += n
        stats[c, CS_STORES] += stores
        stats[c, CS_LOADS] += n - stores
        progress(m.clk, acted)
    return acted


# ------------------------------------------------------------------ phases

@jit_inline
def _prepass(m, t, slot, vis):
    """A bus request's shared signal: some other cache of ``vis`` (a bit-vector of caches)
    holds it back (queue order), stalls it or asserts shared for it (looked up as
    ``alone``).  Returns (ok, shared)."""
    p = m.p
    msg = m.msg
    f = msg.f
    pr = m.pr
    ncores = p[P_CORES]
    line = f[slot, MF_LINE]
    req = f[slot, MF_REQ]
    v = pr.msg_vnet[f[slot, MF_TYPE]]
    s = line & nonneg(p[P_SETS] - 1)
    for kw in range(vis.shape[0]):
        word = vis[kw]
        while word != _U0:
            b = _ctz(word)
            word &= word - _U1
            c = kw * 64 + b
            if c == req:
                continue
            if _held(msg.stall, f, pr.msg_vnet, c, line, v):
                return True, 1
            w = find(m.l1, c, s, line, p[P_WAYS])
            st = np.int64(0)
            acks = np.int64(0)
            if w >= 0:
                st = np.int64(m.l1.state[c, s, w])
                acks = m.l1.acks[c, s, w]
            ev = _event(pr, m.home, f, ncores, c, slot, acks)
            if ev < 0:
                _err(m.log.err, f, ncores, ERR_PROTOCOL, t, c, line << p[P_LSHIFT], st, -1,
                     slot, R_NOEVENT)
                return False, 0
            nxt = pr.cnext[st, ev]
            if nxt == NEXT_STALL or (nxt >= 0 and (pr.cflags[st, ev] & FL_SHARED) != 0):
                return True, 1
    return True, 0


@jit_inline
def _deliver(m, t, slot):
    """Phase 1 for one message: a bus request to every cache in node order and then the
    home (its shared signal computed first; check=True's line checks after the last), any
    other to its destination; the wake list after each node.  Returns False on an error.

    The split bus's filter (``NP_FILTER``): a bus request visits only the caches that hold
    its line, have something stalled or a waiting port, and its requestor.  For any other
    cache the table's entry is the I state's, which the driver checked does nothing (no
    action, next state I) for every event the message can be there, so handling it would
    only count the transition (counted here, all at once) and run an empty wake list."""
    p = m.p
    msg = m.msg
    f = msg.f
    ns = m.net.s
    ncores = p[P_CORES]
    dst = f[slot, MF_DST]
    bcast = dst == BROADCAST
    vis = msg.vis
    if bcast:
        req = f[slot, MF_REQ]
        if p[NP_FILTER] != 0 and m.pr.skip[f[slot, MF_TYPE]] != 0:
            hold = m.home.hold[f[slot, MF_HL]]
            nvis = 0
            for kw in range(vis.shape[0]):
                vis[kw] = hold[kw] | msg.stallv[kw] | msg.waitv[kw]
            _setbit(vis, req, True)
            for kw in range(vis.shape[0]):
                nvis += _popcount(vis[kw])
            if p[P_FULL] != 0 and nvis < ncores:
                # the I state's entry at the caches not visited (all of them take the same
                # event: the message is not theirs, the frame absent)
                other = 0
                while other < ncores and _has_bit(vis, other):
                    other += 1
                ev = _event(m.pr, m.home, f, ncores, other, slot, np.int64(0))
                m.net.ctrans[0, ev] += ncores - nvis
        else:
            for kw in range(vis.shape[0]):
                vis[kw] = msg.allv[kw]
        ok, shared = _prepass(m, t, slot, vis)
        if not ok:
            return False
        f[slot, MF_SHARED] = shared
        ns[S_DEFER] = p[P_CHECK]
        ns[S_NDEFER] = 0
    kw = 0
    word = vis[0]
    homedone = False
    while True:
        node = dst
        if bcast:
            while word == _U0 and kw + 1 < vis.shape[0]:
                kw += 1
                word = vis[kw]
            if word != _U0:
                b = _ctz(word)
                word &= word - _U1
                node = kw * 64 + b
            elif not homedone:
                node = _home_of(p, f[slot, MF_LINE])
                homedone = True
            else:
                break
        if not _react(m, t, node, slot, bcast, np.int64(-1)):
            return False
        if not bcast:
            break
    if bcast:
        ns[S_DEFER] = 0
        d = msg.defer
        for i in range(ns[S_NDEFER]):
            if not _check_line(p, m.pr.cmeaning, m.l1, m.mem.golden, m.log.err, t, d[i, 1],
                               d[i, 0]):
                return False
        _release(msg.free, ns, slot)
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
    _enqueue(msg, ns, t, arr, slot)
    ns[S_BUSFREE] = arr
    m.net.stats[NS_BUSY] += arr - t
    m.net.stats[NS_GRANTS] += 1
    if m.log.wlines.shape[0] > 0:
        _log_message(m.log, f, slot)


@jit_inline
def _core_cycle(m, c, t):
    """Phase 2 for core c: its drain unit, then the core, each if it can act at t; then when
    it can act next (INF: not until a message or the wake list releases it).  Returns (ok,
    next).  Two access sites (two inlined copies of :func:`_react`): with one site inside a
    two-pass loop, the compiler hoisted the addresses of everything the loop's body might
    touch out of it, computed at every visit and spilled (1 core's hits: 25 -> 41 M
    instructions/s when straightened)."""
    k = m.cpu.k
    sb = m.sb
    tso = m.p[P_TSO] != 0
    if tso and sb.count[c] > 0 and sb.draining[c] == 0 and t >= sb.ready[c]:
        if not _access(m, 2 * c + 1, t, np.int64(KIND_STORE), sb.addr[c, sb.head[c]]):
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
    home = m.home
    hashing = p[NP_HASH] != 0
    if hashing and ns[S_REHASH] != 0:
        _rehash(home.key, home.val, home.lines, ns[S_NLINES])
        ns[S_REHASH] = 0
    ahead = (p[P_TRACE] != 0 and p[P_TSO] == 0 and p[P_IJIT] == 0 and p[P_CHECK] == 0
             and _hits_stable(m.pr))
    t = clk[CL_T]
    steps = 0
    slice_ = p[P_SLICE]
    while True:
        if tlwin > 0 and t // tlwin >= m.net.timeline.shape[0]:
            clk[CL_T] = t
            return STATUS_TLFULL, t
        # room for the lines this cycle's first attempts may number (two per core)
        if hashing and (ns[S_NLINES] + 2 * ncores > home.rec.shape[0]
                        or 2 * (ns[S_NLINES] + 2 * ncores) > home.key.shape[0]):
            clk[CL_T] = t
            return STATUS_HGROW, t
        steps += 1
        if steps > slice_ > 0:
            clk[CL_T] = t
            return STATUS_PAUSED, t
        # Phase 1: deliveries, in seq order.
        while True:
            slot = _dequeue(msg, ns, t)
            if slot < 0:
                break
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
                if ahead and msg.stall[c, LS_COUNT] == 0 and m.port[2 * c + 1, Q_STATE] != QS_WAIT:
                    # A plain hit in cycle t goes the run-ahead's way (_run_hits does for it
                    # what the core's access would, and nothing else: no wake list to run,
                    # as _first_nonhit checks); anything else is left to the access.
                    _run_hits(m, c, t, t + 1)
                ok, nt = _core_cycle(m, c, t)
                if not ok:
                    return STATUS_ERROR, t
                if nt == INF:
                    active[wi] &= ~(_U1 << np.uint64(b))
                elif nt < nxt:
                    nxt = nt
        # Phase 3: the address bus.
        _address_bus(m, t)
        # Run-ahead (traces on SC cores): until the next message arrives or the bus can
        # grant, the cores do not interact, except through a core's first access that is not
        # a plain hit (it sends, draws jitter, books links).  So every core's hits up to the
        # first such access of any core (foreseen: _first_nonhit) run now, one core after
        # another, instead of one visited cycle at a time: exact, since they touch only
        # their own core and cache and draw nothing.  `last`: the last cycle a core acted.
        last = t
        if ahead:
            limit = _next_arrival(msg, ns)
            if ns[S_QUEUED] > 0:
                limit = min(limit, max(ns[S_BUSFREE], t + 1))
            limit = min(limit, maxcyc)
            if window > 0:
                limit = min(limit, clk[CL_LASTPROG] + window)
            if limit > t + 1 and nxt < limit:
                for wi in range(active.shape[0]):
                    word = active[wi]
                    while word != _U0:
                        b = _ctz(word)
                        word &= word - _U1
                        limit = _first_nonhit(m, wi * 64 + b, t + 1, limit)
                if limit > t + 1:
                    nxt = INF
                    for wi in range(active.shape[0]):
                        word = active[wi]
                        while word != _U0:
                            b = _ctz(word)
                            word &= word - _U1
                            c = wi * 64 + b
                            acted = _run_hits(m, c, t + 1, limit)
                            if acted > last:
                                last = acted
                            if k[c, K_HALTED] == 0 and k[c, K_WAIT] == W_NONE:
                                if k[c, K_READY] < nxt:
                                    nxt = k[c, K_READY]
                            else:
                                active[wi] &= ~(_U1 << np.uint64(b))
        # The next cycle at which anything can happen (after a run-ahead, from the last cycle
        # in which a core acted, as if the loop had visited each of them).
        nxt = min(nxt, _next_arrival(msg, ns))
        if ns[S_QUEUED] > 0:
            nxt = min(nxt, max(ns[S_BUSFREE], t + 1))
        if nxt == INF:
            for c in range(ncores):
                if k[c, K_HALTED] == 0 or m.sb.count[c] > 0:
                    set_err(m.log.err, ERR_DEADLOCK, last, -1, 0, 0, 0, 0)
                    m.log.err[NE_NODE] = -1
                    return STATUS_ERROR, last
            return STATUS_HALTED, last + 1
        if nxt <= last:
            nxt = last + 1
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


# ------------------------------------------------------------------ batches (campaigns)

@jit_leaf
def _restore(dst, src):
    """Copy a pristine array into a live one of the same shape (C order)."""
    d = dst.reshape(dst.size)
    s = src.reshape(src.size)
    for i in range(d.size):
        d[i] = s[i]


@jit_leaf
def _coherent_word(m, a):
    """Word ``a`` as the coherent system sees it: the data of a dirty copy (the last core's,
    as the driver's ``coherent_memory`` overwrites in core order), else memory's."""
    p = m.p
    wpl = p[P_WPL]
    line = a // wpl
    s = line & nonneg(p[P_SETS] - 1)
    v = m.mem.words[a]
    for c in range(p[P_CORES]):
        w = find(m.l1, c, s, line, p[P_WAYS])
        if w >= 0 and m.pr.cmeaning[m.l1.state[c, s, w], M_DIRTY] != 0:
            v = m.l1.data[c, s, w, a - line * wpl]
    return v


@jit_helper
def _restore_all(pairs):
    """Every array of ``pairs`` from its pristine copy.  A function of its own, called once
    per run: literal_unroll's loop gives each pair a stack slot, which inside the batch
    kernel's loop of runs was never released (the stack grew by kilobytes per run, and a
    call of a few thousand runs overflowed it: a segfault); here the slots go with the
    call's frame."""
    for pair in literal_unroll(pairs):
        _restore(pair[0], pair[1])


@jit
def _batch_net(first, end, resume, obs_kind, obs_a, obs_b, out, statuses, rngs, pairs,
               *flat):
    """Runs ``first .. end-1`` of a batch on a message interconnect, each from the pristine
    machine (``pairs``: every array a run changes, with its pristine copy); one RNG stream
    for all, ``rngs[it]`` its state as run ``it`` starts (so a run whose message pool filled
    up runs again, bigger, as the same run).  Observations as ``_kernel._batch``'s.  Returns
    ``end``, or the first run not finished: an error or a pause (``statuses`` says which),
    which the next call continues with ``resume`` set."""
    m = bundles(Flat(*flat))
    for it in range(first, end):
        if not (resume and it == first):
            _restore_all(pairs)
            rngs[it] = m.rng[0]
        status, cycles = _run(m)
        statuses[it] = status
        if status == STATUS_ERROR or status == STATUS_PAUSED:
            return it
        for j in range(obs_kind.shape[0]):
            if obs_kind[j] == 0:
                out[it, j] = m.cpu.regs[obs_a[j], obs_b[j]]
            else:
                out[it, j] = _coherent_word(m, obs_a[j])
    return end
