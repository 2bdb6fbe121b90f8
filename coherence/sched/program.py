"""A validated scenario compiled to integer arrays for the jitted kernels.

State vector (int32), shared by the simulator and the explorer::

    thread t   : [pc, rem, aux, rmask] at t*TW        pc = -1 when finished
                 rem  = compute ticks left (0 when not inside a compute)
                 aux  = 0, or k > 0: k-th in the wait queue of a condition, or -1: signalled and
                        re-acquiring the lock of its `wait`
                 rmask= bit r set while the thread holds rwlock r for reading
    mutex m    : owner+1 (0 = free)                    at OFF_M + m
    rwlock r   : writer+1, reader count                at OFF_RW + 2r, OFF_RW + 2r + 1
    semaphore s: count                                 at OFF_S + s
    condition c: number of waiters                     at OFF_C + c
    flag f     : 0/1                                   at OFF_F + f

``layout`` packs the offsets: [n_threads, OFF_M, n_m, OFF_RW, n_rw, OFF_S, n_s, OFF_C, n_c,
OFF_F, n_f, W].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import ops as O
from .scenario import (MAX_RWLOCKS, Scenario, check_settings, op_line, parse_thread_ops)

TW = 4
L_N, L_OFF_M, L_NM, L_OFF_RW, L_NRW, L_OFF_S, L_NS, L_OFF_C, L_NC, L_OFF_F, L_NF, L_W = range(12)

POLICY_CODES = {"fifo": 0, "round-robin": 1, "priority": 2, "priority-aging": 3, "lottery": 4,
                "priority-inheritance": 5, "random": 6, "script": 7}


@dataclass
class Program:
    """The compiled scenario: op table, per-thread attributes, resource names, source lines."""

    scenario: Scenario
    thread_names: list
    ops: list            # per thread: list of Op (labels removed)
    lines: list          # per thread: source line of each op (or None)
    code: np.ndarray     # int32 [total_ops, 3]: opcode, a, b
    tstart: np.ndarray   # int32 [n]
    tlen: np.ndarray     # int32 [n]
    repeat: np.ndarray   # int32 [n]
    prio: np.ndarray     # int32 [n]
    arrive: np.ndarray   # int32 [n]
    mutexes: list
    rwlocks: list
    semaphores: list
    conditions: list
    flags: list
    layout: np.ndarray   # int32 [12]
    init: np.ndarray     # int32 [W]: the initial state

    @property
    def n(self) -> int:
        """Number of threads."""
        return len(self.thread_names)

    @property
    def width(self) -> int:
        """Words in a state vector."""
        return int(self.layout[L_W])

    def op_text(self, t: int, pc: int) -> str:
        """The op string of thread ``t`` at ``pc`` (or ``<finished>``)."""
        if pc < 0 or pc >= len(self.ops[t]):
            return "<finished>"
        return self.ops[t][pc].text

    def where(self, t: int, pc: int) -> str:
        """``file:line: op`` (or ``op N: op``) for messages and reports."""
        text = self.op_text(t, pc)
        if pc < 0 or pc >= len(self.ops[t]):
            return text
        line = self.lines[t][pc]
        file = self.scenario.file
        if file and line:
            return f"{file}:{line}: {text}"
        return f"op {pc}: {text}"

    def lock_name(self, kind: int, index: int) -> str:
        """Name of lock object ``index`` of kind 0 (mutex) or 1 (rwlock)."""
        return self.mutexes[index] if kind == 0 else self.rwlocks[index]

    def lock_object_names(self) -> list:
        """Names of all lock objects: mutexes then rwlocks (the lock-order graph's nodes)."""
        return list(self.mutexes) + list(self.rwlocks)


def compile_scenario(sc: Scenario) -> Program:
    """Validate ``sc`` and compile it; raise CoherenceError with file:line on a mistake."""
    check_settings(sc)
    parsed = [parse_thread_ops(sc, t) for t in sc.threads]

    # Resource kinds, from use; a name has one kind.
    kinds: dict = {}
    first_use: dict = {}
    for name in sc.semaphores:
        kinds[name] = O.SEMAPHORE
        first_use[name] = sc.key_lines.get(f"semaphores.{name}")
    for name in sc.flags:
        if name in kinds:
            raise sc.error(f"{name!r} is declared both as a semaphore and as a flag, "
                           "expected one kind per name", sc.key_lines.get(f"flags.{name}"))
        kinds[name] = O.FLAG
        first_use[name] = sc.key_lines.get(f"flags.{name}")
    acquired: set = set()
    for t, ops in zip(sc.threads, parsed):
        for i, op in enumerate(ops):
            for kind, name in op.resources():
                have = kinds.get(name)
                if have is None:
                    kinds[name] = kind
                    first_use[name] = op_line(t, i)
                elif have != kind:
                    where = f" (line {first_use[name]})" if first_use.get(name) else ""
                    raise sc.error(f"{name!r} is used as a {kind} here but as a {have} "
                                   f"before{where}, expected one kind per name", op_line(t, i))
            if op.code in (O.ACQUIRE, O.TRY_ACQUIRE, O.READ_LOCK, O.WRITE_LOCK):
                acquired.add(op.args[0])
    for t, ops in zip(sc.threads, parsed):
        for i, op in enumerate(ops):
            for kind, name in op.resources():
                if kind in (O.MUTEX, O.RWLOCK) and name not in acquired:
                    how = "acquire/try_acquire" if kind == O.MUTEX else "read_lock/write_lock"
                    raise sc.error(f"undefined lock {name!r} in {op.text!r}: no thread takes it, "
                                   f"expected a lock taken with {how} somewhere", op_line(t, i))
                if kind == O.SEMAPHORE and name not in sc.semaphores:
                    raise sc.error(f"undefined semaphore {name!r} in {op.text!r}, expected it "
                                   "declared with its initial count in [semaphores]",
                                   op_line(t, i))

    def names_of(kind):
        return sorted(n for n, k in kinds.items() if k == kind)

    mutexes, rwlocks = names_of(O.MUTEX), names_of(O.RWLOCK)
    sems, conds, flags = names_of(O.SEMAPHORE), names_of(O.CONDITION), names_of(O.FLAG)
    if len(rwlocks) > MAX_RWLOCKS:
        raise sc.error(f"{len(rwlocks)} rwlocks, expected at most {MAX_RWLOCKS}")
    index = {}
    for group in (mutexes, rwlocks, sems, conds, flags):
        index.update({n: i for i, n in enumerate(group)})

    # Labels, per thread.
    rows, tstart, tlen, all_ops, all_lines = [], [], [], [], []
    for t, ops in zip(sc.threads, parsed):
        labels, real, real_lines = {}, [], []
        for i, op in enumerate(ops):
            if op.code == O.LABEL:
                label = op.args[0]
                if label in labels:
                    raise sc.error(f"duplicate label {label!r} in thread {t.name!r}, "
                                   "expected unique labels per thread", op_line(t, i))
                labels[label] = len(real)
            else:
                real.append(op)
                real_lines.append(op_line(t, i))
        for i, op in enumerate(ops):
            for label in op.label_refs():
                if label not in labels:
                    known = ", ".join(sorted(labels)) or "none"
                    raise sc.error(f"undefined label {label!r} in {op.text!r} of thread "
                                   f"{t.name!r}, expected a `label {label}:` in the same thread "
                                   f"(labels: {known})", op_line(t, i))
        if t.repeat and not real:
            raise sc.error(f"thread {t.name!r} repeats but has no ops, expected at least one op",
                           t.field_lines.get("ops", t.line))
        tstart.append(len(rows))
        tlen.append(len(real))
        for op in real:
            a = b = 0
            if op.code in (O.COMPUTE, O.SLEEP):
                a = op.args[0]
            elif op.code == O.GOTO:
                a = labels[op.args[0]]
            elif op.code in (O.TRY_ACQUIRE, O.IF_FLAG):
                a, b = index[op.args[0]], labels[op.args[1]]
            elif op.code == O.WAIT:
                a, b = index[op.args[0]], index[op.args[1]]
            elif op.args:
                a = index[op.args[0]]
            rows.append((op.code, a, b))
        all_ops.append(real)
        all_lines.append(real_lines)

    n = len(sc.threads)
    off_m = n * TW
    off_rw = off_m + len(mutexes)
    off_s = off_rw + 2 * len(rwlocks)
    off_c = off_s + len(sems)
    off_f = off_c + len(conds)
    width = off_f + len(flags)
    layout = np.array([n, off_m, len(mutexes), off_rw, len(rwlocks), off_s, len(sems), off_c,
                       len(conds), off_f, len(flags), width], dtype=np.int32)
    init = np.zeros(width, dtype=np.int32)
    for t in range(n):
        init[t * TW] = 0 if tlen[t] > 0 else -1
    for i, name in enumerate(sems):
        init[off_s + i] = sc.semaphores[name]
    for i, name in enumerate(flags):
        init[off_f + i] = 1 if sc.flags.get(name, False) else 0
    code = np.array(rows, dtype=np.int32).reshape(-1, 3) if rows else np.zeros((0, 3), np.int32)
    return Program(
        scenario=sc, thread_names=[t.name for t in sc.threads], ops=all_ops, lines=all_lines,
        code=code, tstart=np.array(tstart, np.int32), tlen=np.array(tlen, np.int32),
        repeat=np.array([1 if t.repeat else 0 for t in sc.threads], np.int32),
        prio=np.array([t.priority for t in sc.threads], np.int32),
        arrive=np.array([t.arrive for t in sc.threads], np.int32),
        mutexes=mutexes, rwlocks=rwlocks, semaphores=sems, conditions=conds, flags=flags,
        layout=layout, init=init)
