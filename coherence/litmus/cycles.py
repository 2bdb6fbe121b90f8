"""diy-style litmus tests: one critical cycle of edges, written as an x86 test.

herd's diy tools build a test from a cycle of relations: communication edges between threads
(``Rfe``: a write read by another thread's read, ``Fre``: a read that misses another thread's
write, ``Coe`` (``Wse``): two writes in coherence order) and program-order edges inside a
thread (``PodXY``: accesses to two different locations; ``MFencedXY``: the same with an
MFENCE between them).  The test's condition asks for exactly the cycle, so it is the state
a model allows or forbids.  ``cycle_test(["Rfe", "PodRR", "Fre", "PodWW"])`` is MP.

This module writes such tests for the campaign-coverage benchmark and the tests: the same
vocabulary as diy7 for the edges above (no dependencies, no same-location po, one access per
edge end).
"""

from __future__ import annotations

import random

COM = {"Rfe": ("W", "R"), "Fre": ("R", "W"), "Coe": ("W", "W"), "Wse": ("W", "W")}
_LOCS = ("x", "y", "z", "a", "b", "c")
_REGS = ("EAX", "EBX", "ECX", "EDX")


def _po(edge: str):
    """(fenced, source kind, target kind) of a program-order edge name."""
    for prefix, fenced in (("Pod", False), ("MFenced", True)):
        if edge.startswith(prefix) and len(edge) == len(prefix) + 2:
            a, b = edge[len(prefix)], edge[len(prefix) + 1]
            if a in "RW" and b in "RW":
                return fenced, a, b
    raise ValueError(f"unknown edge {edge!r}: expected Rfe, Fre, Coe, Wse, PodXY or "
                     f"MFencedXY with X, Y in R, W")


def cycle_test(edges, name: str | None = None) -> str:
    """The x86 litmus source of the cycle ``edges``, which alternates program-order and
    communication edges (starting with either).  Raises ValueError on a malformed cycle."""
    edges = list(edges)
    if edges and edges[0] in COM:
        edges = edges[1:] + edges[:1]  # start with a po edge: one thread per po edge
    if len(edges) < 4 or len(edges) % 2:
        raise ValueError("a cycle alternates po and communication edges, at least 2 of each")
    threads = []   # per thread: [(kind, loc)] of its two accesses and whether fenced
    nthreads = len(edges) // 2
    if nthreads > len(_LOCS):
        raise ValueError(f"at most {len(_LOCS)} threads")
    for t in range(nthreads):
        po, com = edges[2 * t], edges[2 * t + 1]
        if po in COM or com not in COM:
            raise ValueError(f"edge {2 * t + 1} must be po, edge {2 * t + 2} communication")
        fenced, a, b = _po(po)
        threads.append([a, b, fenced, com])
    # Each communication edge joins its thread's second access to the next thread's first;
    # both are on the edge's location, and the kinds must match.
    for t in range(nthreads):
        src, dst = COM[threads[t][3]]
        nxt = threads[(t + 1) % nthreads]
        if threads[t][1] != src or nxt[0] != dst:
            raise ValueError(f"{threads[t][3]} needs {src} -> {dst}, the po edges give "
                             f"{threads[t][1]} -> {nxt[0]}")
    # Location t carries communication edge t (thread t's second access -> thread t+1's
    # first).  Its writes are 1 (the source) and 2 (a Coe target); the condition asks for
    # the edge: an Rfe read sees 1, an Fre read sees 0, a Coe leaves 2 last.
    cols, props = [], []
    for t in range(nthreads):
        a, b, fenced, com = threads[t]
        prev = threads[t - 1][3]
        col, nreg = [], 0
        for kind, loc, role, edge in ((a, _LOCS[(t - 1) % nthreads], "dst", prev),
                                      (b, _LOCS[t], "src", com)):
            if kind == "W":
                value = 2 if (role == "dst" and edge in ("Coe", "Wse")) else 1
                col.append(f"MOV [{loc}],${value}")
                if value == 2:
                    props.append(f"{loc}=2")
            else:
                reg = _REGS[nreg]
                nreg += 1
                col.append(f"MOV {reg},[{loc}]")
                props.append(f"{t}:{reg}={1 if edge == 'Rfe' else 0}")
            if len(col) == 1 and fenced:
                col.append("MFENCE")
        cols.append(col)
    name = name or "+".join(edges)
    rows = max(len(c) for c in cols)
    lines = [f"X86 {name}", f'"{" ".join(edges)}"', "{ }",
             " | ".join(f"P{t}" for t in range(nthreads)) + " ;"]
    for r in range(rows):
        lines.append(" | ".join(c[r] if r < len(c) else "" for c in cols) + " ;")
    lines.append("exists (" + " /\\ ".join(props) + ")")
    return "\n".join(lines) + "\n"


def random_cycles(count: int, threads: int = 4, seed: int = 0, fence: float = 0.3):
    """``count`` distinct random cycles over ``threads`` threads (lists of edge names)."""
    rng = random.Random(seed)
    seen, out = set(), []
    tries = 0
    while len(out) < count and tries < 100 * count:
        tries += 1
        coms = [rng.choice(("Rfe", "Fre", "Coe")) for _ in range(threads)]
        edges = []
        for t in range(threads):
            a = COM[coms[t - 1]][1]
            b = COM[coms[t]][0]
            edges += [("MFenced" if rng.random() < fence else "Pod") + a + b, coms[t]]
        key = tuple(edges)
        if key not in seen:
            seen.add(key)
            out.append(edges)
    return out
