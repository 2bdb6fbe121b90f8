"""The scenario model: threads of ops, a policy, and the declared resources.

This is the Python API behind the TOML files (see :mod:`coherence.sched.loader`)::

    from coherence.sched import Scenario, Thread
    sc = Scenario("abba", policy="round-robin", quantum=2, threads=[
        Thread("T1", ["acquire A", "compute 2", "acquire B", "release B", "release A"]),
        Thread("T2", ["acquire B", "acquire A", "release A", "release B"]),
    ])

:meth:`Scenario.compile` validates everything (unknown op, undefined lock or label, bad number,
duplicate thread name, ...) and raises :class:`~coherence.errors.CoherenceError` pointing at the
file and line when the scenario came from a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CoherenceError
from . import ops as O

POLICIES = ("fifo", "round-robin", "priority", "priority-aging", "lottery",
            "priority-inheritance", "random")

MAX_THREADS = 62  # thread sets are int64 bit masks
MAX_RWLOCKS = 31  # a thread's read holds are an int32 bit mask


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

    def compile(self):
        """Validate and compile into a :class:`~coherence.sched.program.Program`."""
        from .program import compile_scenario
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
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise sc.error(f"bad {key} {value!r}, expected an integer >= {low}",
                           sc.key_lines.get(key))
    if sc.cpus > 64:
        raise sc.error(f"bad cpus {sc.cpus}, expected at most 64", sc.key_lines.get("cpus"))
    if not sc.threads:
        raise sc.error("no threads, expected at least one [[thread]]")
    if len(sc.threads) > MAX_THREADS:
        raise sc.error(f"{len(sc.threads)} threads, expected at most {MAX_THREADS}")
    for name, count in sc.semaphores.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise sc.error(f"bad initial count {count!r} for semaphore {name!r}, "
                           "expected an integer >= 0", sc.key_lines.get(f"semaphores.{name}"))
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
        for key, low in (("priority", None), ("arrive", 0)):
            value = getattr(t, key)
            if not isinstance(value, int) or isinstance(value, bool) or (
                    low is not None and value < low):
                expect = "an integer" if low is None else f"an integer >= {low}"
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
