"""The jitted exhaustive explorer (private; the public wrapper is ``explorer.explore``).

Breadth-first search over program states (the int32 vectors of :mod:`layout`), every enabled
thread's step from every state, with an open-addressing hash table of 64-bit FNV-1a hashes.
BFS order means the parent chain of a state is a shortest schedule to it.  The kernel keeps the
edges (CSR) for the liveness analyses below: which threads can never step again (backward
reachability), and strongly connected components (iterative Tarjan) for fair cycles.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._jit import jit, jit_alloc, jit_inline
from .layout import L_N, T_PC, TW
from .semantics import enabled, holders, step, waitfor_cycle_into

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
MAX_RECORDS = 64
MISUSE_COLS = 5  # state, thread, pc, code, arg
# Found.counts[]
F_MISUSES, F_DEADLOCKS, F_TERMINALS = range(3)

#: The arrays of the compiled scenario the explorer reads (no scheduling attributes: time is
#: abstracted away).
Prog = namedtuple("Prog", "code tstart tlen repeat layout")
#: The state graph, grown together: per state its vector, hash, BFS parent and the thread of
#: the step from it (``via``), enabled and live threads, first edge; and the hash table.
Graph = namedtuple("Graph", "states hashes parent via enmask livemask estart table")
#: The edges (CSR with ``Graph.estart``): destination state and thread of each step.
Edges = namedtuple("Edges", "dst thr")
#: What single states show: misuse steps (state, thread, pc, code, arg), wait-for cycles
#: (cycle mask, state), states where every live thread is blocked (blocked mask, state).
Found = namedtuple("Found", "misuses deadlocks terminals counts")
#: A search in progress (:func:`bfs_start`, :func:`bfs_resume`); ``ctl`` holds the CT_*.
Search = namedtuple("Search", "prog g e found ebuf succ ctl")
# Search.ctl[]: states found, edges, the next state to expand, done, the bound, keep edges.
CT_COUNT, CT_NEDGES, CT_NEXT, CT_DONE, CT_MAX, CT_EDGES = range(6)
#: States expanded per call: the search returns to Python this often (Ctrl-C).
STATES_PER_CALL = 20_000
#: What :func:`bfs` returns (``expanded < count`` means the bound was reached).
BfsArrays = namedtuple("BfsArrays", "states parent via enmask livemask count expanded estart "
                                    "edst ethr nedges misuses deadlocks terminals")


@jit
def _hash(st):
    h = FNV_OFFSET
    for i in range(st.shape[0]):
        h ^= np.uint64(np.uint32(st[i]))
        h *= FNV_PRIME
    h ^= h >> np.uint64(29)
    return h


@jit
def _find(table, hashes, states, st, h):
    """Slot index where st is (table[slot] = index+1) or the empty slot to put it."""
    mask = table.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    w = st.shape[0]
    while True:
        k = table[slot]
        if k == 0:
            return slot
        j = k - 1
        if hashes[j] == h:
            same = True
            for i in range(w):
                if states[j, i] != st[i]:
                    same = False
                    break
            if same:
                return slot
        slot = (slot + 1) & mask


@jit
def _rehash_into(table, hashes, count):
    """Put states 0..count-1 into the empty hash ``table`` (a power-of-two size)."""
    mask = table.shape[0] - 1
    for j in range(count):
        slot = np.int64(hashes[j] & np.uint64(mask))
        while table[slot] != 0:
            slot = (slot + 1) & mask
        table[slot] = j + 1
    return 0


# The arrays are allocated and grown here in Python, not in the kernels: a kernel that
# returns arrays boxes them with Python calls, and a Ctrl-C pending at that moment would be
# raised inside numba's boxing code (an error, or a crash); the kernels return integers.

def _new_graph(cap, w):
    return Graph(states=np.zeros((cap, w), np.int32), hashes=np.zeros(cap, np.uint64),
                 parent=np.full(cap, -1, np.int32), via=np.full(cap, -1, np.int8),
                 enmask=np.zeros(cap, np.int64), livemask=np.zeros(cap, np.int64),
                 estart=np.zeros(cap + 1, np.int64), table=np.zeros(4 * cap, np.int32))


def _grow_graph(g, count):
    """The graph with twice the room: states 0..count-1 kept (and their edge starts)."""
    big = _new_graph(g.states.shape[0] * 2, g.states.shape[1])
    for name in ("states", "hashes", "parent", "via", "enmask", "livemask"):
        getattr(big, name)[:count] = getattr(g, name)[:count]
    big.estart[:count + 1] = g.estart[:count + 1]
    _rehash_into(big.table, big.hashes, count)
    return big


def _grow_edges(e, nedges):
    dst = np.zeros(e.dst.shape[0] * 2, np.int32)
    dst[:nedges] = e.dst[:nedges]
    thr = np.zeros(e.thr.shape[0] * 2, np.int8)
    thr[:nedges] = e.thr[:nedges]
    return Edges(dst, thr)


@jit_inline
def _insert(g, j, st, h, slot, parent, t):
    """State ``st`` (hash h, empty table slot) becomes state j, reached from ``parent`` by a
    step of t."""
    for k in range(st.shape[0]):
        g.states[j, k] = st[k]
    g.hashes[j] = h
    g.parent[j] = parent
    g.via[j] = t
    g.table[slot] = j + 1


@jit
def _record_once(records, found, k, key, state):
    """Append (key, first state seen) to ``records`` unless key is already there; the count
    is ``found.counts[k]``."""
    n = found.counts[k]
    for r in range(n):
        if records[r, 0] == key:
            return
    if n < MAX_RECORDS:
        records[n, 0] = key
        records[n, 1] = state
        found.counts[k] = n + 1


@jit_inline
def _record_misuse(found, i, t, pc, mis, arg):
    """The first misuse of each (thread, pc, code), with the state it was stepped from."""
    misuses = found.misuses
    n = found.counts[F_MISUSES]
    for k in range(n):
        if misuses[k, 1] == t and misuses[k, 2] == pc and misuses[k, 3] == mis:
            return
    if n < MAX_RECORDS:
        misuses[n, 0] = i
        misuses[n, 1] = t
        misuses[n, 2] = pc
        misuses[n, 3] = mis
        misuses[n, 4] = arg
        found.counts[F_MISUSES] = n + 1


@jit_inline
def _classify(prog, g, found, ebuf, i):
    """Enabled and live threads of state i, and the wait-for cycle or the all-blocked state it
    shows (recorded the first time)."""
    cur = g.states[i]
    en = np.int64(0)
    live = np.int64(0)
    for t in range(prog.layout[L_N]):
        if cur[t * TW + T_PC] >= 0:
            live |= np.int64(1) << t
            if enabled(cur, t, prog.code, prog.tstart, prog.layout):
                en |= np.int64(1) << t
    g.enmask[i] = en
    g.livemask[i] = live
    blocked = live & ~en
    if blocked != 0:
        cyc = waitfor_cycle_into(cur, blocked, prog.code, prog.tstart, prog.layout, ebuf)
        if cyc != 0:
            _record_once(found.deadlocks, found, F_DEADLOCKS, cyc, i)
        if en == 0:
            _record_once(found.terminals, found, F_TERMINALS, blocked, i)


@jit
def _seed(g, init):
    h = _hash(init)
    _insert(g, 0, init, h, _find(g.table, g.hashes, g.states, init, h), -1, -1)
    return 0


def bfs_start(code, tstart, tlen, repeat, layout, init, max_states, keep_edges):
    """A breadth-first search of every schedule from ``init`` (see :func:`bfs`), with only
    the initial state: the :data:`Search` that :func:`bfs_resume` continues."""
    prog = Prog(code, tstart, tlen, repeat, layout)
    n = int(layout[L_N])
    w = init.shape[0]
    cap = 1024
    while cap < max_states and cap < 65536:
        cap *= 2
    g = _new_graph(cap, w)
    e = Edges(np.zeros(cap * 2 if keep_edges else 1, np.int32),
              np.zeros(cap * 2 if keep_edges else 1, np.int8))
    found = Found(np.zeros((MAX_RECORDS, MISUSE_COLS), np.int64),
                  np.zeros((MAX_RECORDS, 2), np.int64), np.zeros((MAX_RECORDS, 2), np.int64),
                  np.zeros(3, np.int64))
    _seed(g, init)
    ctl = np.zeros(6, np.int64)
    ctl[CT_COUNT] = 1
    ctl[CT_MAX] = max_states
    ctl[CT_EDGES] = 1 if keep_edges else 0
    return Search(prog, g, e, found, np.zeros(n, np.int64), np.zeros(w, np.int32), ctl)


#: What :func:`bfs_resume` returns: the budget is used up or the search is over; or the
#: graph (the edges) must grow before the next state's expansion.
R_OK, R_GROW_GRAPH, R_GROW_EDGES = range(3)


@jit
def bfs_resume(s, budget):
    """Expand at most ``budget`` more states of search ``s`` (in place); returns R_OK, or
    R_GROW_GRAPH / R_GROW_EDGES when the arrays must grow first (the caller grows them and
    calls again; each state's expansion needs room for ``n`` more states and edges, checked
    before it starts).  ``s.ctl[CT_DONE]`` says whether the search is over."""
    prog, g, e, found, ebuf, succ, ctl = s.prog, s.g, s.e, s.found, s.ebuf, s.succ, s.ctl
    code, tstart, tlen, repeat, layout = prog.code, prog.tstart, prog.tlen, prog.repeat, \
        prog.layout
    n = layout[L_N]
    w = succ.shape[0]
    max_states = ctl[CT_MAX]
    keep_edges = ctl[CT_EDGES] != 0
    count = ctl[CT_COUNT]
    nedges = ctl[CT_NEDGES]
    i = ctl[CT_NEXT]
    stop = False
    end = i + budget
    status = R_OK
    while i < count and i < end:
        if count + n > g.states.shape[0]:
            status = R_GROW_GRAPH
            break
        if keep_edges and nedges + n > e.dst.shape[0]:
            status = R_GROW_EDGES
            break
        _classify(prog, g, found, ebuf, i)
        g.estart[i] = nedges
        stop = False
        for t in range(n):
            if not (g.enmask[i] >> t) & 1:
                continue
            for k in range(w):
                succ[k] = g.states[i, k]
            pc = succ[t * TW + T_PC]
            mis, arg, got = step(succ, t, code, tstart, tlen, repeat, layout)
            if mis != 0:
                _record_misuse(found, i, t, pc, mis, arg)
            h = _hash(succ)
            slot = _find(g.table, g.hashes, g.states, succ, h)
            j = g.table[slot] - 1
            if j < 0:  # a new state
                if count >= max_states:
                    stop = True
                    break
                j = count
                _insert(g, j, succ, h, slot, i, t)
                count += 1
            if keep_edges:
                e.dst[nedges] = j
                e.thr[nedges] = t
                nedges += 1
        if stop:
            nedges = g.estart[i]  # state i stays unexpanded: drop its partial edges
            break
        i += 1
    ctl[CT_COUNT] = count
    ctl[CT_NEDGES] = nedges
    ctl[CT_NEXT] = i
    if stop or i >= count:
        ctl[CT_DONE] = 1
        for k in range(i, count + 1):
            g.estart[k] = nedges
    return status


def bfs_finish(s) -> BfsArrays:
    """The :data:`BfsArrays` of a search (over or stopped early: its expanded states are
    ``ctl[CT_NEXT]``, so a stop before the end reads as the bound being reached)."""
    g, e, found, ctl = s.g, s.e, s.found, s.ctl
    count, nedges, expanded = int(ctl[CT_COUNT]), int(ctl[CT_NEDGES]), int(ctl[CT_NEXT])
    if not ctl[CT_DONE]:
        g.estart[expanded:count + 1] = nedges
    c = found.counts
    return BfsArrays(g.states[:count], g.parent[:count], g.via[:count], g.enmask[:count],
                     g.livemask[:count], count, expanded, g.estart[:count + 1], e.dst[:nedges],
                     e.thr[:nedges], nedges, found.misuses[:c[F_MISUSES]],
                     found.deadlocks[:c[F_DEADLOCKS]], found.terminals[:c[F_TERMINALS]])


def bfs(code, tstart, tlen, repeat, layout, init, max_states, keep_edges, on_interrupt=None):
    """Explore every schedule from ``init``, breadth first, up to ``max_states`` states (edges
    kept for the liveness analyses when ``keep_edges``); returns the :data:`BfsArrays`.

    The search returns to Python every :data:`STATES_PER_CALL` states; a KeyboardInterrupt
    there ends it early (as if the bound were reached) when ``on_interrupt`` is given (it is
    called), else propagates."""
    s = bfs_start(code, tstart, tlen, repeat, layout, init, max_states, keep_edges)
    try:
        while not s.ctl[CT_DONE]:
            status = bfs_resume(s, STATES_PER_CALL)
            if status == R_GROW_GRAPH:
                s = s._replace(g=_grow_graph(s.g, int(s.ctl[CT_COUNT])))
            elif status == R_GROW_EDGES:
                s = s._replace(e=_grow_edges(s.e, int(s.ctl[CT_NEDGES])))
    except KeyboardInterrupt:
        if on_interrupt is None:
            raise
        on_interrupt()
    return bfs_finish(s)


@jit_alloc
def never_steps(count, expanded, estart, edst, ethr, livemask, n):
    """Per state, the mask of live threads that can never take a step again (exact, by
    backward reachability from the states where they step; unexpanded states may do anything)."""
    rcount = np.zeros(count + 1, np.int64)
    for s in range(count):
        for e in range(estart[s], estart[s + 1]):
            rcount[edst[e] + 1] += 1
    for s in range(count):
        rcount[s + 1] += rcount[s]
    rsrc = np.zeros(rcount[count], np.int32)
    fill = rcount[:count].copy()
    for s in range(count):
        for e in range(estart[s], estart[s + 1]):
            d = edst[e]
            rsrc[fill[d]] = s
            fill[d] += 1
    can = np.zeros(count, np.int64)
    mark = np.zeros(count, np.bool_)
    queue = np.zeros(count, np.int32)
    for t in range(n):
        mark[:] = False
        head = 0
        tail = 0
        for s in range(count):
            src = s >= expanded
            if not src:
                for e in range(estart[s], estart[s + 1]):
                    if ethr[e] == t:
                        src = True
                        break
            if src:
                mark[s] = True
                queue[tail] = s
                tail += 1
        while head < tail:
            s = queue[head]
            head += 1
            for k in range(rcount[s], rcount[s + 1]):
                p = rsrc[k]
                if not mark[p]:
                    mark[p] = True
                    queue[tail] = p
                    tail += 1
        for s in range(count):
            if mark[s]:
                can[s] |= np.int64(1) << t
    out = np.zeros(count, np.int64)
    for s in range(count):
        out[s] = livemask[s] & ~can[s]
    return out


@jit_alloc
def scc(count, estart, edst, ethr, excluded, alive):
    """Strongly connected components (iterative Tarjan) of the graph restricted to the
    ``alive`` states, without the edges of thread ``excluded`` (-1: keep all).  Returns
    (component id per state, -1 for dead states; number of components)."""
    index = np.full(count, -1, np.int64)
    low = np.zeros(count, np.int64)
    onstack = np.zeros(count, np.bool_)
    comp = np.full(count, -1, np.int32)
    stack = np.zeros(count, np.int32)
    sp = 0
    cstack = np.zeros(count, np.int32)   # call stack: state
    cedge = np.zeros(count, np.int64)    # call stack: next edge to look at
    nidx = 0
    ncomp = 0
    for root in range(count):
        if index[root] >= 0 or not alive[root]:
            continue
        depth = 0
        cstack[0] = root
        cedge[0] = estart[root]
        index[root] = nidx
        low[root] = nidx
        nidx += 1
        stack[sp] = root
        sp += 1
        onstack[root] = True
        while depth >= 0:
            v = cstack[depth]
            e = cedge[depth]
            if e < estart[v + 1]:
                cedge[depth] = e + 1
                if ethr[e] == excluded:
                    continue
                w = edst[e]
                if not alive[w]:
                    continue
                if index[w] < 0:
                    index[w] = nidx
                    low[w] = nidx
                    nidx += 1
                    stack[sp] = w
                    sp += 1
                    onstack[w] = True
                    depth += 1
                    cstack[depth] = w
                    cedge[depth] = estart[w]
                elif onstack[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                if low[v] == index[v]:
                    while True:
                        sp -= 1
                        x = stack[sp]
                        onstack[x] = False
                        comp[x] = ncomp
                        if x == v:
                            break
                    ncomp += 1
                depth -= 1
                if depth >= 0:
                    u = cstack[depth]
                    if low[v] < low[u]:
                        low[u] = low[v]
    return comp, ncomp


@jit_alloc
def component_summary(count, estart, edst, ethr, excluded, comp, ncomp, enmask, livemask):
    """Per component: (internal edge?, threads stepping inside, threads enabled in some state,
    threads disabled in some state, live threads, smallest state index)."""
    internal = np.zeros(ncomp, np.bool_)
    steps = np.zeros(ncomp, np.int64)
    en_any = np.zeros(ncomp, np.int64)
    dis_any = np.zeros(ncomp, np.int64)
    live = np.zeros(ncomp, np.int64)
    first = np.full(ncomp, count, np.int64)
    for s in range(count):
        c = comp[s]
        if c < 0:
            continue
        en_any[c] |= enmask[s]
        dis_any[c] |= livemask[s] & ~enmask[s]
        live[c] |= livemask[s]
        if s < first[c]:
            first[c] = s
        for e in range(estart[s], estart[s + 1]):
            if ethr[e] == excluded:
                continue
            if comp[edst[e]] == c:
                internal[c] = True
                steps[c] |= np.int64(1) << ethr[e]
    return internal, steps, en_any, dis_any, live, first


@jit_alloc
def path_in_component(start, comp, cid, estart, edst, ethr, excluded, goal, arg, enmask):
    """Shortest path inside component ``cid`` from ``start``: goal 0 = reach state ``arg``;
    1 = reach a state where thread ``arg`` is enabled; 2 = where it is disabled; 3 = take a
    step of thread ``arg``.  Returns (threads of the steps, end state); end -1 if none."""
    count = comp.shape[0]
    prev = np.full(count, -2, np.int64)
    pthr = np.full(count, -1, np.int64)
    queue = np.zeros(count, np.int64)
    head = 0
    tail = 1
    queue[0] = start
    prev[start] = -1
    end = -1
    last_thr = -1
    last_from = -1
    while head < tail and end < 0:
        s = queue[head]
        head += 1
        if goal == 0 and s == arg and (s != start or head > 1):
            end = s
            break
        if goal == 1 and (enmask[s] >> arg) & 1:
            end = s
            break
        if goal == 2 and not (enmask[s] >> arg) & 1:
            end = s
            break
        for e in range(estart[s], estart[s + 1]):
            thr = ethr[e]
            if thr == excluded:
                continue
            d = edst[e]
            if comp[d] != cid:
                continue
            if goal == 3 and thr == arg:
                end = d
                last_thr = thr
                last_from = s
                break
            if goal == 0 and d == arg:
                end = d
                last_thr = thr
                last_from = s
                break
            if prev[d] == -2:
                prev[d] = s
                pthr[d] = thr
                queue[tail] = d
                tail += 1
    if end < 0:
        return np.zeros(0, np.int64), -1
    out = np.zeros(count + 1, np.int64)
    k = 0
    if last_thr >= 0:
        out[k] = last_thr
        k += 1
        s = last_from
    else:
        s = end
    while prev[s] >= 0:
        out[k] = pthr[s]
        k += 1
        s = prev[s]
    res = np.zeros(k, np.int64)
    for i in range(k):
        res[i] = out[k - 1 - i]
    return res, end


@jit_alloc
def settled(states, perm, code, tstart, layout, livemask):
    """Per state: True when its never-stepping threads form a closed set (each waits only on
    threads of the set or finished ones), i.e. the blocked-forever situation has formed rather
    than being merely inevitable."""
    count = states.shape[0]
    n = layout[L_N]
    out = np.zeros(count, np.bool_)
    for s in range(count):
        p = perm[s]
        if p == 0:
            continue
        ok = True
        st = states[s]
        for t in range(n):
            if (p >> t) & 1:
                if enabled(st, t, code, tstart, layout):
                    ok = False
                    break
                hm = holders(st, t, code, tstart, layout)
                if hm & livemask[s] & ~p:
                    ok = False
                    break
        out[s] = ok
    return out
