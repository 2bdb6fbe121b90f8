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
from .isa import F_ADDR, NFIELDS, WORD, disassemble


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
