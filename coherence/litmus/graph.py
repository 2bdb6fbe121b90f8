"""Execution graphs: the edges of one candidate execution, the cycle a failed axiom found,
diy-style names for its edges, and Graphviz DOT text.  (Drawing to PNG is
:func:`coherence.plot.plot_execution`; this module imports no matplotlib.)

An :class:`ExecutionView` is what a figure shows: the events (threads as columns, in program
order), the labelled edges (``po`` with the fences between its ends, ``rf``, ``co``, ``fr``,
``addr`` / ``data`` / ``ctrl``, ``rmw``), whether the model allows the execution and, if not,
the failed check and the cycle it found.

The cycle of a failed ``acyclic r`` / ``irreflexive r`` is looked for among the edges of
``r`` that are also program-order or communication edges (``po | rf | co | fr | rmw``),
which every model here builds its orders from, and is the shortest such cycle; when there
is none (a user's model of another shape), among all edges of ``r``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ExecutionView:
    """One candidate execution, ready to draw or print."""

    test_name: str
    model: str
    state: str                      # the final state, herd-style
    allowed: bool
    satisfies: bool                 # the condition's proposition holds in this execution
    events: list                    # (index, thread, label), init writes have thread -1
    edges: list                     # (src, dst, kind, label)
    failure: str | None = None      # "acyclic ob as external", or None when allowed
    cycle: list = field(default_factory=list)   # event indices, first == last omitted
    cycle_names: list = field(default_factory=list)  # diy-style edge names

    def hot_edges(self) -> set:
        """Indices in ``edges`` of the cycle's edges: one per step, the most specific
        (a dependency rather than the po edge beside it)."""
        rank = {k: i for i, k in enumerate(("rf", "co", "fr", "rmw", "addr", "data", "ctrl",
                                            "po"))}
        best = {}
        c = self.cycle
        steps = {(c[k], c[(k + 1) % len(c)]) for k in range(len(c))} if len(c) > 1 else set()
        for j, (a, b, kind, _label) in enumerate(self.edges):
            if (a, b) in steps:
                if (a, b) not in best or rank.get(kind, 99) < rank.get(self.edges[best[a, b]][2], 99):
                    best[a, b] = j
        return set(best.values())

    @property
    def verdict_line(self) -> str:
        if self.allowed:
            return f"allowed by {self.model}"
        return f"forbidden by: {self.failure}"


def shortest_cycle(rel: np.ndarray) -> list[int]:
    """A shortest cycle of the relation (a list of nodes), or [] if it has none."""
    n = rel.shape[0]
    best: list[int] = []
    diag = np.flatnonzero(rel.diagonal())
    if diag.size:
        return [int(diag[0])]
    succ = [np.flatnonzero(rel[i]).tolist() for i in range(n)]
    for s in range(n):
        if not succ[s]:
            continue
        parent = {s: None}
        q = deque([s])
        found = None
        while q and found is None:
            u = q.popleft()
            for v in succ[u]:
                if v == s:
                    found = u
                    break
                if v not in parent:
                    parent[v] = u
                    q.append(v)
        if found is None:
            continue
        path = []
        u = found
        while u is not None:
            path.append(u)
            u = parent[u]
        path.reverse()
        if not best or len(path) < len(best):
            best = path
            if len(best) == 2:
                break
    return best


def _path(rel: np.ndarray, a: int, b: int) -> list[int]:
    """A shortest path a -> ... -> b in ``rel`` (the nodes after a, ending with b), or []."""
    parent = {a: None}
    q = deque([a])
    while q:
        u = q.popleft()
        for v in np.flatnonzero(rel[u]).tolist():
            if v in parent:
                continue
            parent[v] = u
            if v == b:
                out = [b]
                while parent[out[-1]] != a:
                    out.append(parent[out[-1]])
                return out[::-1]
            q.append(v)
    return []


def failure_cycle(failure, env) -> list[int]:
    """The cycle that a failed acyclic / irreflexive check found (event indices), in
    program-order and communication steps where the relation's own steps are composite
    (``haz-ob`` relates a read to a write through a po and a fr step)."""
    r = failure.relation
    if r is None or failure.kind == "empty" or failure.negated:
        return []
    basic = env["po"] | env["rf"] | env["co"] | env["fr"] | env["rmw"]
    cyc = shortest_cycle(r & basic)
    if len(cyc) > 1 or (cyc and failure.kind == "acyclic"):
        return cyc
    cyc = shortest_cycle(r & ~np.eye(r.shape[0], dtype=bool)) or cyc
    # the steps may also join the two events of one instruction (riscv.cat orders an amo
    # as one operation)
    steps = basic | (env["sm"] & ~np.eye(r.shape[0], dtype=bool))
    out = []
    for k, a in enumerate(cyc):
        b = cyc[(k + 1) % len(cyc)]
        out.append(a)
        if not basic[a, b]:
            out += _path(steps, a, b)[:-1]
    return out


def _kind(s, i) -> str:
    return s.kind[i]


def _fence_between(s, a, b) -> str | None:
    """The name of a fence event between a and b in program order (the first), if any."""
    po = s._static["po"]
    for f in range(s.n):
        if s.F[f] and po[a, f] and po[f, b]:
            tags = sorted(s.event(f).tags)
            return tags[0] if tags else "F"
    return None


def diy_name(s, env, a, b) -> str:
    """diy's name for the edge a -> b: ``Rfe``, ``Fri``, ``PodWR``, ``DpAddrdR``,
    ``MFENCEdWR``, ``Rmw`` ..."""
    ext = s._static["ext"][a, b]
    for rel, name in (("rf", "Rf"), ("co", "Co"), ("fr", "Fr")):
        if env[rel][a, b]:
            return name + ("e" if ext else "i")
    if env["rmw"][a, b]:
        return "Rmw"
    if env["sm"][a, b] and a != b:
        return "Amo"  # the write and the read of one atomic instruction
    ka, kb = _kind(s, a), _kind(s, b)
    same = s.loc[a, b]
    dl = "s" if same else "d"
    if s._static["po"][a, b]:
        for rel, name in (("addr", "DpAddr"), ("data", "DpData"), ("ctrl", "DpCtrl")):
            if env[rel][a, b]:
                return f"{name}{dl}{kb}"
        f = _fence_between(s, a, b)
        if f is not None:
            return f"{f}{dl}{ka}{kb}"
        return f"Po{dl}{ka}{kb}"
    return f"{ka}{kb}"


def _state_text(state: dict) -> str:
    return " ".join(f"{k}={v};" for k, v in state.items())


def build_view(test, model_label, cand, state, allowed, failure, satisfies) -> ExecutionView:
    """The :class:`ExecutionView` of candidate ``cand`` (a
    :class:`~coherence.litmus.executions.Candidate`)."""
    s = cand.structure
    env = dict(s.static_env())
    env.update(cand.dynamic_env())
    events = []
    for i in range(s.n):  # fences are drawn as labels of the po edges, not as nodes
        if s.M[i]:
            events.append((i, s.events[i][0], s.label(i)))
    mem = [i for i in range(s.n) if s.M[i]]
    edges = []
    po = env["po"]
    # po: between consecutive memory events of a thread (fences become edge labels).
    for a in mem:
        if s.thr[a] < 0:
            continue
        nxt = [b for b in mem if po[a, b] and not any(po[a, c] and po[c, b] for c in mem)]
        for b in nxt:
            f = _fence_between(s, a, b)
            edges.append((a, b, "po", f"po:{f}" if f else "po"))
    for rel in ("rf", "fr", "addr", "data", "ctrl", "rmw"):
        for a, b in zip(*np.nonzero(env[rel])):
            if rel == "rf" or s.M[b]:
                edges.append((int(a), int(b), rel, rel))
    co = env["co"]
    for a, b in zip(*np.nonzero(co)):  # immediate co only
        if not any(co[a, c] and co[c, b] for c in range(s.n)):
            edges.append((int(a), int(b), "co", "co"))
    view = ExecutionView(test.name, model_label, _state_text(state), allowed, satisfies,
                         events, edges)
    if failure is not None:
        view.failure = failure.describe()
        cyc = failure_cycle(failure, env)
        view.cycle = cyc
        if len(cyc) > 1:
            view.cycle_names = [diy_name(s, env, cyc[k], cyc[(k + 1) % len(cyc)])
                                for k in range(len(cyc))]
        elif failure.kind == "empty" and failure.relation is not None:
            # not a cycle: the pair the relation should not contain
            a, b = (int(x[0]) for x in np.nonzero(failure.relation))
            view.cycle_names = [f"{s.label(a)} -> {s.label(b)}"]
            view.cycle = [a, b]
    return view


def explain_line(view: ExecutionView) -> str:
    """One line: the state, the verdict and, for a forbidden one, the cycle's edges."""
    head = f"Explain {view.test_name}: {view.state or '(no location shown)'}"
    if view.allowed:
        return f"{head} allowed by {view.model}"
    cyc = " ".join(view.cycle_names) if view.cycle_names else "(no cycle found)"
    return f"{head} forbidden by: {view.failure}: {cyc}"


def to_dot(view: ExecutionView) -> str:
    """Graphviz DOT text of the execution: one cluster per thread, edges coloured by kind,
    the failing cycle in bold red."""
    colors = {"po": "black", "rf": "red", "co": "blue", "fr": "orange", "addr": "purple",
              "data": "purple", "ctrl": "purple", "rmw": "darkgreen"}
    hot = view.hot_edges()
    title = f"{view.test_name}: {view.state} {view.verdict_line}"
    out = ["digraph execution {", f'  label="{_esc(title)}"; labelloc=t;',
           "  node [shape=box, fontname=monospace];"]
    threads = sorted({t for _i, t, _l in view.events})
    for t in threads:
        name = "init" if t < 0 else f"P{t}"
        out.append(f'  subgraph cluster_{name} {{ label="{name}";')
        for i, tt, lab in view.events:
            if tt == t:
                out.append(f'    e{i} [label="{_esc(lab)}"];')
        out.append("  }")
    for j, (a, b, kind, label) in enumerate(view.edges):
        attrs = [f'label="{_esc(label)}"', f"color={colors.get(kind, 'gray')}"]
        if kind in ("addr", "data", "ctrl"):
            attrs.append("style=dashed")
        if j in hot:
            attrs += ["penwidth=3", "color=red", "fontcolor=red"]
        out.append(f"  e{a} -> e{b} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def collect_views(test, model_name, search_path=(), show=None, limit=16):
    """Execution views of ``test`` under cat model ``model_name``.

    ``show``: ``"all"`` (every allowed execution), ``"witness"`` (allowed executions whose
    final state satisfies the condition's proposition), ``"forbidden"`` (forbidden ones that
    satisfy it, with the failed check and its cycle), or None: the condition's state, one
    execution (a witness if there is one, else a forbidden one).  At most ``limit``.
    """
    from .cat.verdict import iter_candidates
    views, forbidden_first = [], None
    for cand, state, allowed, failures, sat in iter_candidates(test, model_name, search_path,
                                                               all_checks=False):
        fail = failures[0] if failures else None
        if show == "all":
            keep = allowed
        elif show == "witness":
            keep = allowed and sat
        elif show == "forbidden":
            keep = (not allowed) and sat
        else:
            if allowed and sat:
                return [build_view(test, model_name, cand, state, True, None, True)]
            if not allowed and sat and forbidden_first is None:
                forbidden_first = (cand, state, fail)
            keep = False
        if keep:
            views.append(build_view(test, model_name, cand, state, allowed, fail, sat))
            if len(views) >= limit:
                break
    if show is None and forbidden_first is not None:
        cand, state, fail = forbidden_first
        return [build_view(test, model_name, cand, state, False, fail, True)]
    return views
