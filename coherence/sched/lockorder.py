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


def _simple_cycles(nodes: list, succ: dict, limit: int):
    """Simple cycles, each once, starting at its smallest node (small graphs: plain DFS)."""
    out = []
    for start in nodes:
        stack = [(start, [start], iter(sorted(succ.get(start, ()))))]
        while stack and len(out) < limit:
            node, path, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                continue
            if nxt == start:
                out.append(list(path))
            elif nxt > start and nxt not in path:
                stack.append((nxt, path + [nxt], iter(sorted(succ.get(nxt, ())))))
    return out


def _assign(cycle: list, edges: dict):
    """Pick one (thread, ...) instance per edge: distinct threads, pairwise disjoint gates."""
    pairs = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    chosen = []

    def search(i, used_threads, used_gates):
        if i == len(pairs):
            return True
        for inst in edges[pairs[i]]:
            t, _, _, gate = inst
            if t in used_threads or gate & used_gates:
                continue
            chosen.append(inst)
            if search(i + 1, used_threads | {t}, used_gates | gate):
                return True
            chosen.pop()
        return False
    if search(0, frozenset(), 0):
        return list(zip(pairs, chosen))
    return None


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
        picked = _assign(cycle, edges)
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
        findings.append(Finding(kind="potential-deadlock", definition="lock-order-cycle",
                                threads=threads, locks=locks, detail=detail, body=body,
                                extra={"edges": sites}))
    return findings
