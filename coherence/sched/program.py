"""A validated scenario compiled to integer arrays for the jitted kernels.

:class:`CompiledScenario` is what :func:`~coherence.sched.scenario.compile_scenario` returns:
the op table the kernels execute (``code``), the per-thread attributes, the resource names
and the state layout (see :mod:`coherence.sched.layout` for what each word of a state means).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .layout import L_W

if TYPE_CHECKING:  # only for annotations: the scenario module imports this one
    from .scenario import Scenario


@dataclass
class CompiledScenario:
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
    layout: np.ndarray   # int32 [len(LAYOUT_FIELDS)], see coherence.sched.layout
    init: np.ndarray     # int32 [W]: the initial state
    columns: list | None = None  # per thread: source column of each op (or None)

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
        """``file:line:column: op`` (or ``file:line: op``, ``op N: op``) for messages and
        reports; the column tells apart ops written on one line."""
        text = self.op_text(t, pc)
        if pc < 0 or pc >= len(self.ops[t]):
            return text
        line = self.lines[t][pc]
        file = self.scenario.file
        col = self.columns[t][pc] if self.columns and pc < len(self.columns[t]) else None
        if file and line and col:
            return f"{file}:{line}:{col}: {text}"
        if file and line:
            return f"{file}:{line}: {text}"
        return f"op {pc}: {text}"

    def lock_name(self, kind: int, index: int) -> str:
        """Name of lock object ``index`` of kind 0 (mutex) or 1 (rwlock)."""
        return self.mutexes[index] if kind == 0 else self.rwlocks[index]

    def lock_object_names(self) -> list:
        """Names of all lock objects: mutexes then rwlocks (the lock-order graph's nodes)."""
        return list(self.mutexes) + list(self.rwlocks)


def ops_in_order(prog, t: int, pcs) -> str:
    """The ops of thread ``t`` at ``pcs``, in program order, each once, with where they are
    written (``line:column``), so a loop reads as the code does."""
    out, seen = [], set()
    for p in sorted({int(p) for p in pcs}):
        text = prog.op_text(t, p)
        line = prog.lines[t][p] if 0 <= p < len(prog.lines[t]) else None
        col = prog.columns[t][p] if prog.columns and 0 <= p < len(prog.columns[t]) else None
        at = f" ({line}:{col})" if line and col else f" (line {line})" if line else ""
        item = text + at
        if item not in seen:
            seen.add(item)
            out.append(item)
    return ", ".join(out)
