"""Who is blocked forever in a state, and why: deadlock, lost wakeup, or stuck.

Used on the final state of a simulation (and on replayed states).  A blocked thread is blocked
*forever* when nothing that could unblock it can still happen; :func:`permanently_blocked`
computes that as a greatest fixpoint over a static over-approximation of what each live thread
can still do (the ops reachable in its control-flow graph from its current op).  The result is
sound (no false alarm): a thread is reported only when every thread that could release its lock,
post its semaphore or signal its condition is finished or itself blocked forever.  The
exhaustive explorer computes the same set exactly from the state graph instead.

:func:`classify` turns such a set into findings: threads on a wait-for cycle are a
``deadlock``; a thread in ``wait`` on a condition nobody can signal is a ``lost-wakeup``; the
others are ``stuck`` (or listed with the deadlock they wait behind).
"""

from __future__ import annotations

import numpy as np

from . import ops as O
from .findings import Finding
from .layout import (L_OFF_M, L_OFF_RW, L_OFF_S, RW_WORDS, RW_WRITER, T_AUX, T_RMASK, TW,
                     pc_of)
from .program import CompiledScenario
from .semantics import enabled, holders, waitfor_cycle


def _successors(program: CompiledScenario, t: int, pc: int) -> list:
    code = program.code[program.tstart[t] + pc]
    n = int(program.tlen[t])
    op = int(code[0])
    nxt = []

    def norm(p):
        if p >= n:
            return 0 if program.repeat[t] else -1
        return p
    if op == O.GOTO:
        nxt.append(norm(int(code[1])))
    elif op in (O.TRY_ACQUIRE, O.IF_FLAG):
        nxt += [norm(pc + 1), norm(int(code[2]))]
    else:
        nxt.append(norm(pc + 1))
    return [p for p in nxt if p >= 0]


def capabilities(program: CompiledScenario) -> list:
    """Per thread, per pc: the set of ("release", lock) / ("post", sem) / ("signal", cond) /
    ("unlock", rwlock) actions reachable in the thread's control flow from that pc."""
    cached = getattr(program, "_capabilities", None)
    if cached is not None:
        return cached
    out = []
    for t in range(program.n):
        n = int(program.tlen[t])
        own = []
        for pc in range(n):
            op, a, b = (int(x) for x in program.code[program.tstart[t] + pc])
            acts = set()
            if op == O.RELEASE:
                acts.add(("release", a))
            elif op == O.WAIT:
                acts.add(("release", b))
            elif op == O.SEM_POST:
                acts.add(("post", a))
            elif op in (O.SIGNAL, O.BROADCAST):
                acts.add(("signal", a))
            elif op in (O.READ_UNLOCK, O.WRITE_UNLOCK):
                acts.add(("unlock", a))
            own.append(acts)
        per_pc = []
        for pc in range(n):
            seen, stack, acts = {pc}, [pc], set()
            while stack:
                p = stack.pop()
                acts |= own[p]
                for q in _successors(program, t, p):
                    if q not in seen:
                        seen.add(q)
                        stack.append(q)
            per_pc.append(frozenset(acts))
        out.append(per_pc)
    program._capabilities = out
    return out


def blocked_mask(program: CompiledScenario, st: np.ndarray) -> int:
    """Bit mask of the live threads that cannot step in ``st``."""
    mask = 0
    for t in range(program.n):
        if pc_of(st, t) >= 0 and not enabled(st, t, program.code, program.tstart, program.layout):
            mask |= 1 << t
    return mask


def _can(program, caps, st, u, action) -> bool:
    pc = pc_of(st, u)
    return pc >= 0 and action in caps[u][pc]


def permanently_blocked(program: CompiledScenario, st: np.ndarray, blocked: int) -> int:
    """Greatest subset of ``blocked`` that no thread outside it can ever unblock."""
    caps = capabilities(program)
    code, tstart, layout = program.code, program.tstart, program.layout
    n = program.n
    perm = blocked
    changed = True
    while changed:
        changed = False
        for t in range(n):
            if not (perm >> t) & 1:
                continue
            if _resolvable(program, caps, st, t, perm, code, tstart, layout):
                perm &= ~(1 << t)
                changed = True
    return perm


def _resolvable(program, caps, st, t, perm, code, tstart, layout) -> bool:
    row = program.tstart[t] + pc_of(st, t)
    op, a, b = (int(x) for x in program.code[row])
    n = program.n
    outside = [u for u in range(n) if not (perm >> u) & 1 and pc_of(st, u) >= 0]
    if op == O.SEM_WAIT:
        return any(_can(program, caps, st, u, ("post", a)) for u in outside)
    if op == O.WAIT and st[t * TW + T_AUX] > 0:
        return any(_can(program, caps, st, u, ("signal", a)) for u in outside)
    hm = int(holders(st, t, code, tstart, layout))
    if hm == 0:
        return True  # nothing holds it: not blocked for long
    if op in (O.READ_LOCK, O.WRITE_LOCK):
        action = ("unlock", a)
    else:
        action = ("release", b if op == O.WAIT else a)
    for h in range(n):
        if (hm >> h) & 1:
            if h == t or (perm >> h) & 1 or not _can(program, caps, st, h, action):
                return False
    return True


def held_locks(program: CompiledScenario, st: np.ndarray, t: int) -> list:
    """Names of the locks thread t holds in ``st`` (rwlocks marked (read)/(write))."""
    layout = program.layout
    out = []
    for m, name in enumerate(program.mutexes):
        if st[layout[L_OFF_M] + m] == t + 1:
            out.append(name)
    for r, name in enumerate(program.rwlocks):
        if st[layout[L_OFF_RW] + RW_WORDS * r + RW_WRITER] == t + 1:
            out.append(f"{name} (write)")
        elif (st[t * TW + T_RMASK] >> r) & 1:
            out.append(f"{name} (read)")
    return out


def waiting_for(program: CompiledScenario, st: np.ndarray, t: int) -> tuple:
    """(verb phrase, resource name, resource kind) for blocked thread t."""
    row = program.tstart[t] + pc_of(st, t)
    op, a, b = (int(x) for x in program.code[row])
    if op == O.ACQUIRE:
        return "waiting to lock", program.mutexes[a], "lock"
    if op == O.WAIT:
        if st[t * TW + T_AUX] > 0:
            return "waiting on condition", program.conditions[a], "condition"
        return "waiting to re-lock", program.mutexes[b], "lock"
    if op == O.SEM_WAIT:
        count = int(st[program.layout[L_OFF_S] + a])
        return f"waiting on semaphore (count {count})", program.semaphores[a], "semaphore"
    if op == O.READ_LOCK:
        return "waiting to read-lock", program.rwlocks[a], "lock"
    if op == O.WRITE_LOCK:
        return "waiting to write-lock", program.rwlocks[a], "lock"
    return "waiting", "?", "?"


def _holder_names(program, st, t) -> list:
    hm = int(holders(st, t, program.code, program.tstart, program.layout))
    return [program.thread_names[h] for h in range(program.n) if (hm >> h) & 1]


def _thread_section(program, st, t, acq_site=None) -> list:
    name = program.thread_names[t]
    pc = pc_of(st, t)
    verb, res, _ = waiting_for(program, st, t)
    lines = [f'"{name}":', f"\tat {program.where(t, pc)}", f"\t- {verb} {res}"]
    for lock in held_locks(program, st, t):
        site = acq_site(t, lock) if acq_site else None
        lines.append(f"\t- locked {lock}" + (f" (acquired at {site})" if site else ""))
    return lines


def classify(program: CompiledScenario, st: np.ndarray, perm: int, acq_site=None) -> list:
    """Findings (deadlock / lost-wakeup / stuck) for the permanently blocked set ``perm``.

    ``acq_site(t, lock_name)`` may return where thread t acquired a lock, for the report."""
    names = program.thread_names
    code, tstart, layout = program.code, program.tstart, program.layout
    findings = []
    cyc = int(waitfor_cycle(st, code, tstart, layout, np.int64(perm)))
    # split the cycle threads into separate cycles (strongly connected pieces)
    edges = {t: int(holders(st, t, code, tstart, layout)) & cyc
             for t in range(program.n) if (cyc >> t) & 1}
    remaining = cyc
    cycles = []
    while remaining:
        start = (remaining & -remaining).bit_length() - 1
        order, t = [], start
        while t not in order:  # follow one edge at a time around the cycle
            order.append(t)
            nxt = edges[t]
            t = (nxt & -nxt).bit_length() - 1
        order = order[order.index(t):]
        group = 0
        for u in order:
            group |= 1 << u
        # everybody in `remaining` that reaches and is reached by this cycle joins it
        for u in list(edges):
            if (remaining >> u) & 1 and u not in order and _reaches(edges, u, group) and \
                    _reaches(edges, order[0], 1 << u):
                order.append(u)
                group |= 1 << u
        remaining &= ~group
        cycles.append(order)
    in_cycle = cyc
    behind = {}
    for t in range(program.n):
        if (perm >> t) & 1 and not (in_cycle >> t) & 1:
            hm = int(holders(st, t, code, tstart, layout))
            target = _first_cycle_reached(program, st, t, perm, cycles)
            if target is not None and hm:
                behind.setdefault(target, []).append(t)
    for k, order in enumerate(cycles):
        locks, body = [], ["Found one deadlock:", "=" * 19]
        for t in order:
            verb, res, _ = waiting_for(program, st, t)
            locks.append(res)
            holders_ = ", ".join(f'"{h}"' for h in _holder_names(program, st, t))
            body += [f'"{names[t]}":', f"  {verb} {res} ({program.where(t, pc_of(st, t))}),",
                     f"  which is held by {holders_}"]
        body += ["", "Thread information for the threads listed above:", "=" * 48]
        for t in order:
            body += _thread_section(program, st, t, acq_site)
        extra_threads = behind.get(k, [])
        if extra_threads:
            body += ["", "Also blocked behind this deadlock:"]
            for t in extra_threads:
                body += _thread_section(program, st, t, acq_site)
        chain = " -> ".join(f"{names[t]} (wants {waiting_for(program, st, t)[1]})"
                            for t in order)
        detail = (f"{len(order)} thread(s) wait for each other in a cycle over "
                  f"{len(set(locks))} lock(s): {chain} -> {names[order[0]]}")
        findings.append(Finding(
            kind="deadlock", definition="wait-for-cycle",
            threads=[names[t] for t in order],
            locks=list(dict.fromkeys(locks)), detail=detail, body=body,
            extra={"cycle": [names[t] for t in order],
                   "also_blocked": [names[t] for t in extra_threads],
                   "blocked": [_blocked_entry(program, st, t) for t in order + extra_threads]}))
    placed = set(t for order in cycles for t in order)
    for ts in behind.values():
        placed.update(ts)
    for t in range(program.n):
        if not (perm >> t) & 1 or t in placed:
            continue
        verb, res, kind = waiting_for(program, st, t)
        row = program.tstart[t] + pc_of(st, t)
        op = int(program.code[row, 0])
        body = _thread_section(program, st, t, acq_site)
        if op == O.WAIT and st[t * TW + T_AUX] > 0:
            signallers = _signallers(program, int(program.code[row, 1]))
            why = _why_nobody(program, st, signallers, perm)
            detail = (f"{names[t]} waits on condition {res} at {program.where(t, pc_of(st, t))}"
                      f" but no live thread can signal it ({why})")
            findings.append(Finding(
                kind="lost-wakeup", definition="waits-on-condition-nobody-can-signal",
                threads=[names[t]], locks=[res] + held_locks(program, st, t), detail=detail,
                body=["Found a lost wakeup:", "=" * 20] + body + [f"\t  nobody can signal {res}: {why}"],
                extra={"blocked": [_blocked_entry(program, st, t)]}))
        else:
            hold = _holder_names(program, st, t)
            if hold:
                why = "held by " + ", ".join(
                    f'"{h}" ({"finished" if pc_of(st, names.index(h)) < 0 else "blocked forever"})'
                    for h in hold)
            else:
                posters = _posters(program, int(program.code[row, 1])) if kind == "semaphore" else []
                why = "no live thread can post it (" + _why_nobody(program, st, posters, perm) + ")"
            detail = f"{names[t]} {verb} {res} at {program.where(t, pc_of(st, t))} forever: {why}"
            findings.append(Finding(
                kind="stuck", definition="blocked-forever-no-cycle", threads=[names[t]] + hold,
                locks=[res], detail=detail,
                body=["Found a thread blocked forever (no wait-for cycle):", "=" * 51] + body
                + [f"\t  {why}"], extra={"blocked": [_blocked_entry(program, st, t)]}))
    return findings


def _reaches(edges, u, target_mask) -> bool:
    seen, stack = {u}, [u]
    while stack:
        x = stack.pop()
        nxt = edges.get(x, 0)
        if nxt & target_mask:
            return True
        for v in range(nxt.bit_length()):
            if (nxt >> v) & 1 and v not in seen:
                seen.add(v)
                stack.append(v)
    return False


def _first_cycle_reached(program, st, t, perm, cycles):
    code, tstart, layout = program.code, program.tstart, program.layout
    seen, stack = {t}, [t]
    while stack:
        x = stack.pop()
        hm = int(holders(st, x, code, tstart, layout))
        for k, order in enumerate(cycles):
            if any((hm >> u) & 1 for u in order):
                return k
        for u in range(program.n):
            if (hm >> u) & 1 and (perm >> u) & 1 and u not in seen:
                seen.add(u)
                stack.append(u)
    return None


def _signallers(program, cond) -> list:
    return [t for t in range(program.n) for op in program.ops[t]
            if op.code in (O.SIGNAL, O.BROADCAST) and op.args[0] == program.conditions[cond]]


def _posters(program, sem) -> list:
    return [t for t in range(program.n) for op in program.ops[t]
            if op.code == O.SEM_POST and op.args[0] == program.semaphores[sem]]


def _why_nobody(program, st, candidates, perm) -> str:
    names = program.thread_names
    cands = sorted(set(candidates))
    if not cands:
        return "no thread has such an op"
    parts = []
    for u in cands:
        if pc_of(st, u) < 0:
            parts.append(f'"{names[u]}" finished')
        elif (perm >> u) & 1:
            parts.append(f'"{names[u]}" is blocked forever')
        else:
            parts.append(f'"{names[u]}" cannot reach such an op any more')
    return ", ".join(parts)


def _blocked_entry(program, st, t) -> dict:
    pc = pc_of(st, t)
    verb, res, _ = waiting_for(program, st, t)
    return {"thread": program.thread_names[t], "op": program.op_text(t, pc),
            "line": program.lines[t][pc] if pc >= 0 else None, "waiting": f"{verb} {res}",
            "held_by": _holder_names(program, st, t), "holds": held_locks(program, st, t)}
