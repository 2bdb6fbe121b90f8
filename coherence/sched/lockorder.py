"""Potential deadlock: cycles in the lock-order graph (lockdep's idea, with fewer false alarms).

Nodes are lock names.  An edge X -> Y is recorded when a thread holding X attempts a blocking
acquisition of Y (acquire, read_lock, write_lock, the re-lock of a `wait`; try_acquire never
blocks and adds no edge), together with the thread, the op of each acquisition, and the *gate*
set: the other locks the thread held at that moment (intersected over all occurrences).

A cycle X1 -> X2 -> ... -> X1 is reported only when its edges can be taken by *distinct*
threads whose gate sets are pairwise disjoint (the Goodlock condition).  So a cycle inside one
thread is no alarm, and neither is a cycle where every thread takes the same gate lock first.
"""

from __future__ import annotations

from .findings import Finding
from .program import CompiledScenario

MAX_CYCLES = 64


#: Steps of the search for an assignment of threads to a cycle's edges (the search is
#: exponential in the worst case; past this bound the cycle is reported unchecked).
ASSIGN_STEPS = 20_000


def _simple_cycles(nodes: list, succ: dict, limit: int):
    """Simple cycles, each once, starting at its smallest node, at most ``limit`` of them.

    Johnson's algorithm: a node stays blocked until a cycle is found through it, so the
    search costs O(nodes + edges) per start node and per cycle found (a plain DFS enumerates
    every path: exponential in the nesting depth of one thread's locks)."""
    out = []
    for start in nodes:
        if len(out) >= limit:
            break
        blocked, bmap, path = set(), {}, []

        def nexts(v):
            return [w for w in sorted(succ.get(v, ())) if w >= start]

        def unblock(u):
            stack = [u]
            while stack:
                x = stack.pop()
                if x in blocked:
                    blocked.discard(x)
                    stack.extend(bmap.pop(x, ()))

        def circuit(v):  # depth <= the number of locks (at most 64)
            found = False
            path.append(v)
            blocked.add(v)
            for w in nexts(v):
                if len(out) >= limit:
                    break
                if w == start:
                    out.append(list(path))
                    found = True
                elif w not in blocked and circuit(w):
                    found = True
            if found:
                unblock(v)
            else:
                for w in nexts(v):
                    bmap.setdefault(w, set()).add(v)
            path.pop()
            return found

        circuit(start)
    return out


def _assign(cycle: list, edges: dict):
    """Pick one (thread, ...) instance per edge: distinct threads, pairwise disjoint gates.

    Returns (picks, checked); ``checked`` is False when the search gave up after
    :data:`ASSIGN_STEPS` steps, and then the picks are the first instance of each edge."""
    pairs = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    # The most constrained edges first: a dead end shows early.
    order = sorted(range(len(pairs)), key=lambda i: len(edges[pairs[i]]))
    chosen = [None] * len(pairs)
    budget = [ASSIGN_STEPS]

    def search(k, used_threads, used_gates):
        if k == len(order):
            return True
        i = order[k]
        for inst in edges[pairs[i]]:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            t, _, _, gate = inst
            if t in used_threads or gate & used_gates:
                continue
            chosen[i] = inst
            if search(k + 1, used_threads | {t}, used_gates | gate):
                return True
        return False
    if search(0, frozenset(), 0):
        return list(zip(pairs, chosen)), True
    if budget[0] < 0:
        return [(pair, edges[pair][0]) for pair in pairs], False
    return None, True


def _mask(gate: int) -> int:
    return gate & ((1 << 64) - 1)


def potential_deadlocks(program: CompiledScenario, lock_order: dict) -> list:
    """Findings of kind ``potential-deadlock`` from recorded lock-order edges
    ``{(x, y): [(thread, pc of y, pc where x was taken, gate mask)]}`` over lock objects."""
    names = program.lock_object_names()
    edges = {}
    for (x, y), insts in lock_order.items():
        edges[(x, y)] = [(t, pcy, pcx, _mask(g)) for t, pcy, pcx, g in insts]
    succ = {}
    for x, y in edges:
        succ.setdefault(x, set()).add(y)
    findings = []
    for cycle in _simple_cycles(sorted(succ), succ, MAX_CYCLES):
        picked, checked = _assign(cycle, edges)
        if picked is None:
            continue
        locks = [names[x] for x in cycle]
        threads = []
        body = [f"Possible deadlock: lock-order cycle {' -> '.join(locks + [locks[0]])}",
                "=" * 40]
        sites = []
        for (x, y), (t, pcy, pcx, gate) in picked:
            tn = program.thread_names[t]
            threads.append(tn)
            got = program.where(t, pcx) if pcx >= 0 else "?"
            want = program.where(t, pcy)
            body.append(f'  {names[x]} -> {names[y]}: "{tn}" holds {names[x]} '
                        f"(taken at {got}) and acquires {names[y]} at {want}")
            sites.append({"from": names[x], "to": names[y], "thread": tn,
                          "held_since": got, "acquired_at": want})
        detail = (f"threads {', '.join(threads)} take locks {', '.join(locks)} in a cyclic order "
                  f"with no common gate lock: {' -> '.join(locks + [locks[0]])}")
        if not checked:
            detail += (f" (the gate-lock check gave up after {ASSIGN_STEPS} steps: reported "
                       "without it)")
        findings.append(Finding(kind="potential-deadlock", definition="lock-order-cycle",
                                threads=threads, locks=locks, detail=detail, body=body,
                                extra={"edges": sites}))
    return findings
