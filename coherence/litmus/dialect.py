"""One instruction of any supported dialect -> IR, and per-architecture register names.

x86 (``X86``, ``X86_64``) lowers to the IR classes of :mod:`.ir` (:mod:`.x86`); ``AArch64``
(:mod:`.aarch64`) and ``RISCV`` (:mod:`.riscv`) lower to :class:`UopInstr` (the micro-ops of
:mod:`.executions`, which only the cat path runs) and :class:`CondBranch`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ir import Branch, Instr
from .x86 import Temps  # noqa: F401  (re-exported: the parser's per-thread temporaries)

ARM_ARCHES = ("AArch64", "RISCV")


@dataclass(frozen=True)
class UopInstr(Instr):
    """An AArch64 / RISC-V instruction as the micro-ops of :mod:`.executions`."""

    uops: tuple = ()


@dataclass(frozen=True)
class CondBranch(Branch):
    """``if cond(a, b) goto target`` over two operands (``("r", reg)`` / ``("i", k)``)."""

    a: tuple = None
    b: tuple = None


def parse_instruction(text, arch, path, line, temps):
    """Parse one cell's instruction for ``arch`` (see the module docstring)."""
    if arch == "AArch64":
        from .aarch64 import parse_instruction as parse
        return parse(text, path, line)
    if arch == "RISCV":
        from .riscv import parse_instruction as parse
        return parse(text, path, line)
    from .x86 import parse_instruction as parse
    return parse(text, arch, path, line, temps)


_AARCH64_REG = re.compile(r"^[XWxw](\d+)$")


def canonical_reg(name: str, arch: str) -> str:
    """herd's name of register ``name`` in a condition or init block (``W0`` is ``X0``)."""
    if arch == "AArch64":
        m = _AARCH64_REG.match(name)
        if m:
            return f"X{int(m.group(1))}"
        return name.upper()
    from .riscv import canonical_reg as rv
    return rv(name) or name.lower()


def reg_sort_key(reg: str, arch: str):
    """herd's order of registers in printed states: by register number."""
    m = re.match(r"^[A-Za-z]+(\d+)$", reg)
    if m:
        return (0, int(m.group(1)), reg)
    return (1, 0, reg)
