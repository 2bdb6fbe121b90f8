"""One instruction of any supported dialect -> IR, and per-architecture register names.

x86 (``X86``, ``X86_64``) lowers to the IR classes of :mod:`.ir` (:mod:`.x86`); ``AArch64``
(:mod:`.aarch64`) and ``RISCV`` (:mod:`.riscv`) lower to :class:`UopInstr` (the micro-ops of
:mod:`.executions`, which only the cat path runs) and :class:`CondBranch`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..errors import CoherenceError
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


# --------------------------------------------------------------------------- symbolic registers


def allocate_symbolic_registers(test, temps) -> None:
    """Give every symbolic register (``%r1``) a real one, as herd's ``SymbReg`` does.

    ``temps[p]`` is thread ``p``'s :class:`~coherence.litmus.x86.Temps` (which registers its
    code names).  ppcmem-style tests write ``mov %r1,[y]`` and ``exists (%r1=1)``; herd:

    * a ``%r1`` of the init block, the condition, ``locations`` or ``filter`` belongs to the one
      thread whose code names it (none: "does not appear in code"; several: "ambiguous");
    * each thread's symbolic registers, in name order, take the first free registers of
      ``EAX EBX ECX EDX ESI EDI``, free meaning not named
      by that thread's code nor by a ``P:REG`` of the init block or the condition (so with
      ``P2:EAX=0`` in the init, P2's ``%r1`` is not EAX and the condition's ``P2:EAX`` is
      another register);
    * the code, init and condition then use the real registers (states print ``1:EAX``).
    """
    from .condition import SymbolicReg, map_prop_locations
    from .ir import RegLoc
    locs = list(test.init) + list(test.locations)   # of the init block and the constraints
    for prop in (test.condition.prop, test.filter):
        if prop is not None:
            map_prop_locations(prop, lambda loc: locs.append(loc) or loc)
    uses = [loc for loc in locs if isinstance(loc, SymbolicReg)]
    in_code = [t.symbolic for t in temps]
    if not uses and not any(in_code):
        return
    if test.arch != "X86":
        # (only the X86 dialect reads `%r1` in code: here it is in the init or a condition)
        raise CoherenceError(f"symbolic register `{uses[0]}`: supported in X86 tests only, "
                             f"expected a `0:REG` register", file=test.path,
                             line=uses[0].line)
    from .x86 import SYMBOLIC_ALLOWED, rename_symbolic
    owner = {}
    for u in uses:
        threads = [p for p, names in enumerate(in_code) if u.name in names]
        if not threads:
            raise CoherenceError(f"symbolic register `{u}` does not appear in the code of any "
                                 f"thread, expected a `{u}` in an instruction",
                                 file=test.path, line=u.line)
        if len(threads) > 1:
            raise CoherenceError(f"ambiguous symbolic register `{u}`: the code of "
                                 + " and ".join(f"P{p}" for p in threads) + " names it, "
                                 "expected one thread (or write `P0:EAX` style registers)",
                                 file=test.path, line=u.line)
        owner[u.name] = threads[0]
    constrained = [set() for _ in temps]   # P:REG of the init block and constraints
    for loc in locs:
        if isinstance(loc, RegLoc):
            constrained[loc.thread].add(loc.reg)
    envs = []
    for p, t in enumerate(temps):
        free = [r for r in SYMBOLIC_ALLOWED
                if r not in t.named and r not in constrained[p]]
        names = sorted(t.symbolic)
        if len(names) > len(free):
            first = names[len(free)]
            raise CoherenceError(f"not enough registers for the symbolic registers of P{p}: "
                                 f"{len(names)} (" + ", ".join("%" + n for n in names) +
                                 f"), {len(free)} free among "
                                 + " ".join(SYMBOLIC_ALLOWED),
                                 file=test.path, line=t.symbolic[first])
        envs.append(dict(zip(names, free)))
    for p, th in enumerate(test.threads):
        if envs[p]:
            th.instrs[:] = [rename_symbolic(ins, envs[p]) for ins in th.instrs]

    def real(loc):
        if isinstance(loc, SymbolicReg):
            p = owner[loc.name]
            return RegLoc(p, envs[p][loc.name])
        return loc

    init = {}
    for loc, v in test.init.items():
        r = real(loc)
        if r in init and init[r] != v:
            raise CoherenceError(f"{r} initialised twice (as `{loc}`)", file=test.path,
                                 line=getattr(loc, "line", test.line))
        init[r] = v
    test.init = init
    test.locations = [real(loc) for loc in test.locations]
    test.condition = dataclasses.replace(test.condition,
                                         prop=map_prop_locations(test.condition.prop, real))
    if test.filter is not None:
        test.filter = map_prop_locations(test.filter, real)

