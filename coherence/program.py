"""Program: per-core instruction arrays, a symbol table and the initial memory.

Data is kept independent of the cache geometry: symbols come in *groups* (one symbol alone, or
the symbols of one ``.packed`` line), and :meth:`Program.link` lays each group out at the start
of its own cache line for a given line size.  Instructions refer to symbols by index until
then, so one Program runs on any configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import CoherenceError
from .isa import (ALU_OPS, BRANCH_OPS, F_ADDR, F_B, F_BREG, F_C, F_CREG, F_OP, F_RA, F_RD,
                  MEMORY_OPS, NFIELDS, NREGS, OP_CAS, OP_DELAY, OP_JMP, OP_LD, OP_MOV,
                  OPNAMES, RMW_OPS, WORD, disassemble)

# Which fields of a row each opcode reads (isa.py): the rows are checked against these once,
# when the Program is made, so that every consumer (the engine, whose bounds checks are off,
# and the reference model) can rely on them.
_USES_RD = {OP_MOV} | RMW_OPS | {OP_LD} | ALU_OPS
_USES_RA = ALU_OPS | (BRANCH_OPS - {OP_JMP})
_USES_B = {OP_MOV, OP_DELAY} | MEMORY_OPS | ALU_OPS | (BRANCH_OPS - {OP_JMP})


@dataclass(frozen=True)
class Symbol:
    """A named run of 8-byte words; ``group`` is the cache-line group it is laid out in."""

    name: str
    group: int
    words: tuple[int, ...]
    line: int = 0


@dataclass(frozen=True)
class Linked:
    """A program laid out for one line size: flat arrays the kernels take as they are."""

    code: np.ndarray          # (total instructions, NFIELDS) int64, addresses resolved
    start: np.ndarray         # (cores,) int64: first row of each core in ``code``
    length: np.ndarray        # (cores,) int64
    addresses: dict           # symbol -> byte address
    memory: np.ndarray        # (words,) int64 initial memory


@dataclass(frozen=True)
class Program:
    """An assembled program.  Build one with :func:`coherence.assemble` or
    :func:`coherence.load_program`.

    ``code[c]`` is core c's instruction array (rows of :mod:`coherence.isa` fields, memory
    operands still relative to their symbol), ``symref[c][i]`` the symbol index of row i (or -1),
    ``lines[c][i]`` its source line.  ``symbols`` are in declaration order.
    """

    code: tuple
    symref: tuple
    lines: tuple
    symbols: tuple
    source: str = "<string>"
    labels: tuple = field(default=())

    def __post_init__(self):
        _validate(self)

    @property
    def cores(self) -> int:
        return len(self.code)

    @property
    def symbol_names(self) -> list[str]:
        return [s.name for s in self.symbols]

    def symbol(self, name: str) -> Symbol:
        for s in self.symbols:
            if s.name == name:
                return s
        raise CoherenceError(f"{self.source}: no symbol {name!r} in the program")

    def link(self, line_size: int) -> Linked:
        """Lay the data out for ``line_size``-byte lines and resolve every address."""
        base = {}
        addr = 0
        groups: dict[int, list[Symbol]] = {}
        for s in self.symbols:
            groups.setdefault(s.group, []).append(s)
        for g in sorted(groups):
            if addr % line_size:
                addr += line_size - addr % line_size
            for s in groups[g]:
                base[s.name] = addr
                addr += WORD * len(s.words)
        if addr % line_size:
            addr += line_size - addr % line_size
        memory = np.zeros(max(addr // WORD, 1), dtype=np.int64)
        for s in self.symbols:
            w = base[s.name] // WORD
            memory[w:w + len(s.words)] = s.words
        names = [s.name for s in self.symbols]
        rows = []
        for code, refs in zip(self.code, self.symref):
            c = code.copy()
            for i in np.flatnonzero(refs >= 0):
                c[i, F_ADDR] += base[names[refs[i]]]
            rows.append(c)
        lengths = np.array([len(c) for c in rows], dtype=np.int64)
        start = np.zeros(len(rows), dtype=np.int64)
        if len(rows) > 1:
            start[1:] = np.cumsum(lengths)[:-1]
        allcode = (np.concatenate(rows) if sum(lengths) else np.zeros((0, NFIELDS), np.int64))
        return Linked(np.ascontiguousarray(allcode, dtype=np.int64), start, lengths, base,
                      memory)

    def where(self, core: int, index: int) -> str:
        """``file:line`` of core ``core``'s instruction ``index`` (for error messages)."""
        if core < len(self.lines) and 0 <= index < len(self.lines[core]):
            return f"{self.source}:{int(self.lines[core][index])}"
        return f"{self.source}: core {core}, instruction {index}"

    def listing(self) -> str:
        """A disassembly of every core (addresses as offsets within their symbol)."""
        out = []
        names = self.symbol_names
        for c, (code, refs) in enumerate(zip(self.code, self.symref)):
            out.append(f".core {c}")
            for i, row in enumerate(code):
                text = disassemble(row)
                if refs[i] >= 0:
                    text += f"    ; {names[refs[i]]}+{int(row[F_ADDR])}"
                out.append(f"  {i:4d}: {text}")
        return "\n".join(out)


#: The largest count of ``delay N`` (2**32 cycles).
MAX_DELAY = 1 << 32


def _validate(prog: Program) -> None:
    """Every row of every core is an instruction the machine can run (module comment)."""
    def bad(msg, core=None, i=None):
        where = prog.where(core, i) if core is not None else prog.source
        raise CoherenceError(f"{where}: {msg}" + (f" (core {core}, instruction {i})"
                                                   if core is not None else ""))

    if not (len(prog.code) == len(prog.symref) == len(prog.lines)):
        bad(f"code, symref and lines must have one entry per core, got {len(prog.code)}, "
            f"{len(prog.symref)} and {len(prog.lines)}")
    sizes = [len(s.words) * WORD for s in prog.symbols]
    for c, (code, refs, lines) in enumerate(zip(prog.code, prog.symref, prog.lines)):
        code = np.asarray(code)
        if code.ndim != 2 or code.shape[1] != NFIELDS or not np.issubdtype(code.dtype,
                                                                              np.integer):
            bad(f"core {c}'s code must be an integer array of shape (n, {NFIELDS}), got "
                f"{code.dtype} {code.shape}")
        n = len(code)
        if len(refs) != n or len(lines) != n:
            bad(f"core {c} has {n} instructions but {len(refs)} symbol references and "
                f"{len(lines)} source lines, expected one each")
        for i in range(n):
            row = [int(x) for x in code[i]]
            op = row[F_OP]

            def reg(v, what):
                if not 0 <= v < NREGS:
                    bad(f"{what} register r{v} out of range, expected r0..r{NREGS - 1}", c, i)

            if not 0 <= op < len(OPNAMES):
                bad(f"unknown opcode {op}, expected 0..{len(OPNAMES) - 1}", c, i)
            name = OPNAMES[op]
            if row[F_BREG] not in (0, 1) or row[F_CREG] not in (0, 1):
                bad(f"{name}: the register flags must be 0 or 1", c, i)
            if op in _USES_RD:
                reg(row[F_RD], f"{name}: destination")
            if op in _USES_RA:
                reg(row[F_RA], f"{name}: source")
            if op in MEMORY_OPS and row[F_RA] != -1:
                reg(row[F_RA], f"{name}: address")
            if op in _USES_B and row[F_BREG]:
                reg(row[F_B], f"{name}: operand")
            if op == OP_CAS and row[F_CREG]:
                reg(row[F_C], f"{name}: operand")
            if op == OP_DELAY and (row[F_BREG] or not 0 <= row[F_B] <= MAX_DELAY):
                # the engine adds N to the cycle count: a bound keeps that sum in int64
                bad(f"delay {row[F_B]}: expected an immediate count in 0..{MAX_DELAY} "
                    f"cycles", c, i)
            if op in BRANCH_OPS and not 0 <= row[F_ADDR] <= n:
                bad(f"{name}: branch target {row[F_ADDR]} outside the core's code, expected "
                    f"0..{n}", c, i)
            ref = int(refs[i])
            if op in MEMORY_OPS:
                if not -1 <= ref < len(prog.symbols):
                    bad(f"{name}: symbol reference {ref}, expected -1 or 0..{len(sizes) - 1}",
                        c, i)
                if row[F_ADDR] < 0 or row[F_ADDR] % WORD:
                    bad(f"{name}: offset {row[F_ADDR]} is not a non-negative multiple of "
                        f"{WORD}", c, i)
                if ref >= 0 and row[F_RA] < 0 and row[F_ADDR] >= sizes[ref]:
                    bad(f"{name}: offset {row[F_ADDR]} is outside symbol "
                        f"'{prog.symbols[ref].name}' ({sizes[ref]} bytes)", c, i)
            elif ref != -1:
                bad(f"{name} has a symbol reference but no memory operand", c, i)
