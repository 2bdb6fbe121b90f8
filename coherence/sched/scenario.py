"""The scenario model: threads of ops, a policy, and the declared resources; and its compiler.

This is the Python API behind the TOML files (see :mod:`coherence.sched.loader`)::

    from coherence.sched import Scenario, Thread
    sc = Scenario("abba", policy="round-robin", quantum=2, threads=[
        Thread("T1", ["acquire A", "compute 2", "acquire B", "release B", "release A"]),
        Thread("T2", ["acquire B", "acquire A", "release A", "release B"]),
    ])

:func:`compile_scenario` (or :meth:`Scenario.compile`) validates everything (unknown op,
undefined lock or label, bad number, duplicate thread name, ...) and raises
:class:`~coherence.errors.CoherenceError` pointing at the file and line when the scenario came
from a file; else it returns the :class:`~coherence.sched.program.CompiledScenario` the kernels
run.  The compiler lives here, beside the model it reads, so that the compiled form
(:mod:`~coherence.sched.program`) does not import the model back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import CoherenceError
from . import ops as O
from .layout import MAX_COUNT, MAX_LOCKS, MAX_RWLOCKS, MAX_SEED, MAX_THREADS, SEM_MAX, \
    initial_state, make_layout
from .program import CompiledScenario

POLICIES = ("fifo", "round-robin", "priority", "priority-aging", "lottery",
            "priority-inheritance", "random")


@dataclass
class Thread:
    """One thread: a name, its op strings, and scheduling attributes.

    ``priority``: larger runs first under the priority policies; lottery tickets.  ``arrive``:
    tick at which it becomes runnable.  ``repeat``: the op list restarts forever (a server);
    such a thread is never expected to finish.  ``op_lines``/``line`` are source lines (set by
    the loader) used in error messages and reports.
    """

    name: str
    ops: list
    priority: int = 1
    arrive: int = 0
    repeat: bool = False
    line: int | None = None
    op_lines: list | None = None
    op_cols: list | None = None   # the column of each op's string (ops may share a line)
    field_lines: dict = field(default_factory=dict)


@dataclass
class Scenario:
    """A scenario: threads plus scheduling parameters and declared resources.

    ``semaphores`` maps a semaphore name to its initial count (the ``[semaphores]`` table);
    ``flags`` maps a flag name to its initial value (``[flags]``; undeclared flags start false).
    ``max_ticks``, ``starve_ticks``, ``bypass``, ``aging`` and ``seed`` are defaults the
    command line can override.
    """

    name: str
    threads: list
    policy: str = "round-robin"
    quantum: int = 2
    cpus: int = 1
    aging: int = 4
    seed: int = 0
    max_ticks: int = 10_000
    starve_ticks: int = 1_000
    bypass: int = 10
    semaphores: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    file: str | None = None
    key_lines: dict = field(default_factory=dict)

    def error(self, message: str, line: int | None = None) -> CoherenceError:
        """A CoherenceError located in this scenario's file (if any)."""
        if self.file is None and line is None:
            return CoherenceError(f"scenario {self.name!r}: {message}")
        return CoherenceError(message, file=self.file or f"<scenario {self.name}>", line=line)

    def compile(self) -> CompiledScenario:
        """Validate and compile (see :func:`compile_scenario`)."""
        return compile_scenario(self)

    def with_policy(self, policy: str | None = None, **changes) -> "Scenario":
        """A copy with another policy (and other fields) — the threads are shared."""
        import dataclasses
        if policy is not None:
            changes["policy"] = policy
        return dataclasses.replace(self, **changes)


def check_settings(sc: Scenario) -> None:
    """Validate the scalar settings of a scenario (policy, quantum, cpus, ...)."""
    if sc.policy not in POLICIES:
        raise sc.error(f"unknown policy {sc.policy!r}, expected one of: {' | '.join(POLICIES)}",
                       sc.key_lines.get("policy"))
    for key, low in (("quantum", 1), ("cpus", 1), ("aging", 1), ("max_ticks", 1),
                     ("starve_ticks", 1), ("bypass", 0), ("seed", 0)):
        value = getattr(sc, key)
        high = MAX_SEED if key == "seed" else MAX_COUNT
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise sc.error(f"bad {key} {value!r}, expected an integer in {low}..{high}",
                           sc.key_lines.get(key))
    if sc.cpus > 64:
        raise sc.error(f"bad cpus {sc.cpus}, expected at most 64", sc.key_lines.get("cpus"))
    if not sc.threads:
        raise sc.error("no threads, expected at least one [[thread]]")
    if len(sc.threads) > MAX_THREADS:
        raise sc.error(f"{len(sc.threads)} threads, expected at most {MAX_THREADS}")
    for name, count in sc.semaphores.items():
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= SEM_MAX:
            raise sc.error(f"bad initial count {count!r} for semaphore {name!r}, "
                           f"expected an integer in 0..{SEM_MAX}",
                           sc.key_lines.get(f"semaphores.{name}"))
    for name, value in sc.flags.items():
        if not isinstance(value, bool):
            raise sc.error(f"bad initial value {value!r} for flag {name!r}, expected true or false",
                           sc.key_lines.get(f"flags.{name}"))
    seen = {}
    for t in sc.threads:
        if not isinstance(t.name, str) or not t.name:
            raise sc.error(f"bad thread name {t.name!r}, expected a non-empty string", t.line)
        if any(ch in t.name for ch in ",()*") or t.name.split() != [t.name]:
            raise sc.error(f"bad thread name {t.name!r}, expected no spaces, commas, "
                           "parentheses or '*' (names appear in schedules)",
                           t.field_lines.get("name", t.line))
        if t.name in seen:
            raise sc.error(f"duplicate thread name {t.name!r} (first at line {seen[t.name]}), "
                           "expected unique names", t.field_lines.get("name", t.line))
        seen[t.name] = t.field_lines.get("name", t.line)
        for key, low in (("priority", -MAX_COUNT), ("arrive", 0)):
            value = getattr(t, key)
            if not isinstance(value, int) or isinstance(value, bool) or not (
                    low <= value <= MAX_COUNT):
                expect = f"an integer in {low}..{MAX_COUNT}"
                raise sc.error(f"bad {key} {value!r} for thread {t.name!r}, expected {expect}",
                               t.field_lines.get(key, t.line))
        if not isinstance(t.repeat, bool):
            raise sc.error(f"bad repeat {t.repeat!r} for thread {t.name!r}, expected true or false",
                           t.field_lines.get("repeat", t.line))
        if sc.policy == "lottery" and t.priority < 1:
            raise sc.error(f"thread {t.name!r} has priority {t.priority}: under lottery the "
                           "priority is the ticket count, expected >= 1",
                           t.field_lines.get("priority", t.line))
        if not isinstance(t.ops, (list, tuple)):
            raise sc.error(f"ops of thread {t.name!r} is not a list, expected a list of op strings",
                           t.field_lines.get("ops", t.line))


def op_line(t: Thread, index: int) -> int | None:
    """Source line of op ``index`` of thread ``t`` (falls back to the thread's line)."""
    if t.op_lines and index < len(t.op_lines) and t.op_lines[index] is not None:
        return t.op_lines[index]
    return t.field_lines.get("ops", t.line)


def parse_thread_ops(sc: Scenario, t: Thread) -> list:
    """Parse the op strings of thread ``t``: a list of :class:`~coherence.sched.ops.Op`."""
    parsed = []
    for i, text in enumerate(t.ops):
        try:
            parsed.append(O.parse_op(text))
        except O.OpSyntaxError as exc:
            where = "" if sc.file else f"thread {t.name!r} op {i}: "
            raise sc.error(where + str(exc), op_line(t, i)) from None
    return parsed


# --------------------------------------------------------------------------- the compiler

def compile_scenario(sc: Scenario) -> CompiledScenario:
    """Validate ``sc`` and compile it; raise CoherenceError with file:line on a mistake."""
    check_settings(sc)
    parsed = [parse_thread_ops(sc, t) for t in sc.threads]
    kinds = _resource_kinds(sc, parsed)

    def names_of(kind):
        return sorted(n for n, k in kinds.items() if k == kind)

    mutexes, rwlocks = names_of(O.MUTEX), names_of(O.RWLOCK)
    sems, conds, flags = names_of(O.SEMAPHORE), names_of(O.CONDITION), names_of(O.FLAG)
    if len(rwlocks) > MAX_RWLOCKS:
        raise sc.error(f"{len(rwlocks)} rwlocks, expected at most {MAX_RWLOCKS}")
    if len(mutexes) + len(rwlocks) > MAX_LOCKS:
        raise sc.error(f"{len(mutexes)} mutexes and {len(rwlocks)} rwlocks, expected at most "
                       f"{MAX_LOCKS} locks in all (lock sets are 64-bit masks)")
    index = {}
    for group in (mutexes, rwlocks, sems, conds, flags):
        index.update({n: i for i, n in enumerate(group)})

    rows, tstart, tlen, all_ops, all_lines, all_cols = [], [], [], [], [], []
    for t, ops in zip(sc.threads, parsed):
        real, real_lines, labels = _strip_labels(sc, t, ops)
        cols = t.op_cols or []
        all_cols.append([cols[i] if i < len(cols) else None for i, op in enumerate(ops)
                         if op.code != O.LABEL])
        tstart.append(len(rows))
        tlen.append(len(real))
        rows += [_encode(op, index, labels) for op in real]
        all_ops.append(real)
        all_lines.append(real_lines)

    n = len(sc.threads)
    layout = make_layout(n, len(mutexes), len(rwlocks), len(sems), len(conds), len(flags))
    init = initial_state(layout, tlen, [sc.semaphores[name] for name in sems],
                         [sc.flags.get(name, False) for name in flags])
    code = np.array(rows, dtype=np.int32).reshape(-1, 3) if rows else np.zeros((0, 3), np.int32)
    return CompiledScenario(
        scenario=sc, thread_names=[t.name for t in sc.threads], ops=all_ops, lines=all_lines,
        columns=all_cols,
        code=code, tstart=np.array(tstart, np.int32), tlen=np.array(tlen, np.int32),
        repeat=np.array([1 if t.repeat else 0 for t in sc.threads], np.int32),
        prio=np.array([t.priority for t in sc.threads], np.int32),
        arrive=np.array([t.arrive for t in sc.threads], np.int32),
        mutexes=mutexes, rwlocks=rwlocks, semaphores=sems, conditions=conds, flags=flags,
        layout=layout, init=init)


def _resource_kinds(sc: Scenario, parsed: list) -> dict:
    """The kind of every resource name, from its declaration or first use (one kind per name);
    a lock that no thread takes or a semaphore never declared is an error."""
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
    return kinds


def _strip_labels(sc: Scenario, t: Thread, ops: list) -> tuple:
    """(ops without the labels, their source lines, label -> op index) of thread ``t``."""
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
    return real, real_lines, labels


def _encode(op: O.Op, index: dict, labels: dict) -> tuple:
    """The (opcode, a, b) row of ``op`` in the op table."""
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
    return (op.code, a, b)
