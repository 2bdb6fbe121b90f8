"""Translate a litmus test into the emulator's assembly (one ``.core`` per thread).

``to_asm(test)`` returns the program text and the observation list that says where each
location herd shows ends up: ``("reg", core, regnum)`` or ``("mem", symbol)``.

Translation choices (why):

- every memory cell (scalar or array element) becomes its own ``.data`` symbol, each on its
  own cache line by default: litmus tests are about ordering, not false sharing, and a static
  symbol per cell means no address arithmetic is needed at run time;
- herd registers map to ``r1``..``r15`` (then ``r0``) in order of first use; initial values
  are set with ``li`` at the start of the thread;
- x86 flags become two registers holding the compared values (``a``, ``b`` of ``a - b``), so
  ``je``/``jl``/... become ``beq``/``blt``/... on them; they are only emitted when the thread
  has a conditional branch or ``setCC``;
- locked RMWs map onto ``xchg``/``faa``/``cas``; locked ``and``/``or``/``xor`` become a ``cas``
  retry loop (atomic, like the original); unlocked RMWs become a plain load and store;
- a register-indirect address is resolved statically when its registers hold addresses or
  integers from the init block and are never written; anything else cannot be expressed and
  raises CoherenceError.
"""

from __future__ import annotations

import re

from ..errors import CoherenceError
from .condition import format_condition
from .ir import (Alu, Branch, Cmp, Fence, Halt, Imm, LitmusTest, Load, Mem, Nop, Reg,
                 RegLoc, Rmw, SetCC, Store, Sym, prop_locations, word)

_IDENT_RE = re.compile(r"[^A-Za-z0-9_]")

# The emulator compares signed 64-bit values; these are the branch forms of each x86
# condition on (a, b) = the compared values: (opcode, swap operands).
_BRANCH = {
    "e": ("beq", False), "ne": ("bne", False), "l": ("blt", False), "ge": ("bge", False),
    "g": ("blt", True), "le": ("bge", True), "s": ("blt", False), "ns": ("bge", False),
}
_NEGATE = {"e": "ne", "ne": "e", "l": "ge", "ge": "l", "g": "le", "le": "g", "s": "ns",
           "ns": "s"}


class _ThreadAsm:
    """Register allocation and emission for one thread."""

    def __init__(self, test: LitmusTest, t: int, symbols: dict):
        self.test, self.t, self.symbols = test, t, symbols
        self.regmap: dict[str, int] = {}
        self.lines: list[str] = []
        self.nlabel = 0
        th = test.threads[t]
        self.uses_flags = any((isinstance(i, Branch) and i.cond is not None)
                              or isinstance(i, SetCC) for i in th.instrs)
        self.written = _written_regs(th.instrs)
        self.init = {loc.reg: v for loc, v in test.init.items()
                     if isinstance(loc, RegLoc) and loc.thread == t}

    def error(self, msg, ins=None) -> CoherenceError:
        line = ins.line if ins is not None else self.test.line
        return CoherenceError(f"P{self.t}: cannot translate to the emulator: {msg}",
                              file=self.test.path, line=line)

    def reg(self, name: str) -> str:
        if name not in self.regmap:
            n = len(self.regmap)
            if n >= 16:
                raise self.error("more than 16 registers needed")
            self.regmap[name] = n + 1 if n < 15 else 0
        return f"r{self.regmap[name]}"

    def temp(self, k: int) -> str:
        return self.reg(f".c{k}")

    def label(self, name: str | None = None) -> str:
        if name is None:
            self.nlabel += 1
            name = f"_{self.nlabel}"
        return f"P{self.t}_{_IDENT_RE.sub('_', name)}"

    def emit(self, s: str):
        self.lines.append("    " + s)

    def opnd(self, o) -> str:
        if isinstance(o, Reg):
            return self.reg(o.name)
        return str(o.value)

    def mem(self, m: Mem, ins) -> str:
        """``[symbol]`` of a memory operand, resolving static register-indirect addresses."""
        addr = Sym(m.sym, m.disp) if m.sym is not None else m.disp
        for r, k in ((m.base, 1), (m.index, m.scale)):
            if r is None:
                continue
            if r in self.written or r not in self.init:
                raise self.error(f"address {m} depends on register {r}, which the thread "
                                 f"writes or never initialises", ins)
            v = self.init[r]
            if isinstance(v, Sym):
                if k != 1 or isinstance(addr, Sym):
                    raise self.error(f"bad address arithmetic in {m}", ins)
                addr = Sym(v.name, v.offset + addr)
            else:
                addr = Sym(addr.name, addr.offset + v * k) if isinstance(addr, Sym) \
                    else addr + v * k
        if not isinstance(addr, Sym):
            raise self.error(f"absolute address {m}", ins)
        cell = self.test.cell_of(addr)
        if cell is None or cell not in self.symbols:
            raise self.error(f"address {m} is not a location of the test", ins)
        return f"[{self.symbols[cell]}]"

    def flags(self, a: str, b: str):
        """Record the compared values for later conditional branches."""
        if self.uses_flags:
            fa, fb = self.reg(".fa"), self.reg(".fb")
            self.emit(f"mov  {fa}, {a}")
            self.emit(f"mov  {fb}, {b}")

    def branch(self, cond: str, target: str, ins):
        if cond not in _BRANCH:
            raise self.error(f"unsigned condition `{cond}` has no signed equivalent", ins)
        op, swap = _BRANCH[cond]
        a, b = self.reg(".fa"), self.reg(".fb")
        if swap:
            a, b = b, a
        self.emit(f"{op:<4} {a}, {b}, {target}")

    # -- instructions ------------------------------------------------------------------

    def prologue(self):
        for name in sorted(self.init, key=str):
            v = self.init[name]
            if isinstance(v, Sym):
                continue  # pointers are resolved statically in addresses
            r = self.reg(name)
            if v != 0:
                self.emit(f"li   {r}, {v}")

    def instr(self, ins):
        # A register that starts as an address stays out of the emulator's registers (the
        # addresses it forms are resolved statically): reading it as a value (storing it,
        # computing or comparing with it) cannot be translated, and translating it as 0
        # would make the emulator disagree with the enumerator.
        for r in _value_reads(ins):
            if isinstance(self.init.get(r), Sym):
                raise self.error(f"register {r} holds the address {self.init[r]} and is used "
                                 f"as a value", ins)
        if isinstance(ins, Load):
            self.emit(f"ld   {self.reg(ins.dst.name)}, {self.mem(ins.addr, ins)}")
        elif isinstance(ins, Store):
            self.emit(f"st   {self.mem(ins.addr, ins)}, {self.opnd(ins.src)}")
        elif isinstance(ins, Fence):
            if ins.kind == "mfence":
                self.emit("mfence")
            else:
                self.emit(f"nop                 ; {ins.kind}: no effect under TSO")
        elif isinstance(ins, Rmw):
            self.rmw(ins)
        elif isinstance(ins, Alu):
            self.alu(ins)
        elif isinstance(ins, Cmp):
            a, b = self.opnd(ins.a), self.opnd(ins.b)
            if ins.test:
                t = self.temp(0)
                self.emit(f"and  {t}, {a}, {b}")
                self.flags(t, "0")
            else:
                self.flags(a, b)
        elif isinstance(ins, Branch):
            target = self.label(ins.target)
            if ins.cond is None:
                self.emit(f"jmp  {target}")
            else:
                self.branch(ins.cond, target, ins)
        elif isinstance(ins, SetCC):
            d = self.reg(ins.dst.name)
            skip = self.label()
            self.emit(f"li   {d}, 1")
            self.branch(ins.cond, skip, ins)
            self.emit(f"li   {d}, 0")
            self.lines.append(f"{skip}:")
        elif isinstance(ins, Nop):
            self.emit("nop")
        elif isinstance(ins, Halt):
            self.emit("halt")
        else:  # pragma: no cover
            raise TypeError(ins)

    def alu(self, ins: Alu):
        d = self.reg(ins.dst.name)
        op = ins.op
        if op == "mov":
            if isinstance(ins.src, Imm):
                self.emit(f"li   {d}, {ins.src.value}")
            else:
                self.emit(f"mov  {d}, {self.opnd(ins.src)}")
            return
        if op == "swap":
            s, t = self.opnd(ins.src), self.temp(0)
            self.emit(f"mov  {t}, {d}")
            self.emit(f"mov  {d}, {s}")
            self.emit(f"mov  {s}, {t}")
            return
        if op in ("add", "sub", "and", "or", "xor"):
            self.emit(f"{op:<4} {d}, {d}, {self.opnd(ins.src)}")
        elif op == "not":
            self.emit(f"xor  {d}, {d}, -1")
        elif op == "neg":
            self.emit(f"xor  {d}, {d}, -1")
            self.emit(f"add  {d}, {d}, 1")
        elif op == "shl" and isinstance(ins.src, Imm):
            for _ in range(ins.src.value & 63):  # x86 masks a 64-bit shift count to 6 bits
                self.emit(f"add  {d}, {d}, {d}")
        else:
            raise self.error(f"`{op}` has no equivalent in the emulator's ISA", ins)
        self.flags(d, "0")

    def rmw(self, ins: Rmw):
        m = self.mem(ins.addr, ins)
        src = self.opnd(ins.src)
        op = ins.op
        if not ins.locked:
            # A plain read then a plain write: two events, exactly like the x86 instruction.
            old = self.temp(0)
            self.emit(f"ld   {old}, {m}")
            if op == "xchg":
                self.emit(f"st   {m}, {src}")
                self.emit(f"mov  {self.reg(ins.dst.name)}, {old}")
            elif op == "cmpxchg":
                acc = self.reg(ins.expected.name)
                skip = self.label()
                self.flags(acc, old)
                self.emit(f"bne  {acc}, {old}, {skip}")
                self.emit(f"st   {m}, {src}")
                self.lines.append(f"{skip}:")
                self.emit(f"mov  {acc}, {old}")
            else:
                new = self.temp(1)
                self.emit(f"{'add' if op == 'xadd' else op:<4} {new}, {old}, {src}")
                self.emit(f"st   {m}, {new}")
                self.flags(new, "0")
                if op == "xadd":
                    self.emit(f"mov  {self.reg(ins.dst.name)}, {old}")
            return
        if op == "xchg":
            self.emit(f"xchg {self.reg(ins.dst.name)}, {m}, {src}")
        elif op == "xadd":
            d = self.reg(ins.dst.name)
            if self.uses_flags:
                t = self.temp(1)
                self.emit(f"mov  {t}, {src}")
                self.emit(f"faa  {d}, {m}, {t}")
                self.emit(f"add  {t}, {t}, {d}")
                self.flags(t, "0")
            else:
                self.emit(f"faa  {d}, {m}, {src}")
        elif op == "add" or (op == "sub" and isinstance(ins.src, Imm)):
            old = self.temp(0)
            amount = src if op == "add" else str(word(-ins.src.value))
            self.emit(f"faa  {old}, {m}, {amount}")
            if self.uses_flags:
                self.emit(f"add  {old}, {old}, {amount}")
                self.flags(old, "0")
        elif op == "sub":
            neg, old = self.temp(1), self.temp(0)
            self.emit(f"li   {neg}, 0")
            self.emit(f"sub  {neg}, {neg}, {src}")
            self.emit(f"faa  {old}, {m}, {neg}")
            if self.uses_flags:
                self.emit(f"add  {old}, {old}, {neg}")
                self.flags(old, "0")
        elif op in ("and", "or", "xor"):
            old, new, got = self.temp(0), self.temp(1), self.temp(2)
            loop = self.label()
            self.lines.append(f"{loop}:")
            self.emit(f"ld   {old}, {m}")
            self.emit(f"{op:<4} {new}, {old}, {src}")
            self.emit(f"cas  {got}, {m}, {old}, {new}")
            self.emit(f"bne  {got}, {old}, {loop}")
            self.flags(new, "0")
        elif op == "cmpxchg":
            acc = self.reg(ins.expected.name)
            if self.uses_flags:
                self.emit(f"mov  {self.reg('.fa')}, {acc}")
            self.emit(f"cas  {acc}, {m}, {acc}, {src}")
            if self.uses_flags:
                self.emit(f"mov  {self.reg('.fb')}, {acc}")
        else:  # pragma: no cover
            raise self.error(f"unknown RMW {op}", ins)


def _value_reads(ins) -> list:
    """Names of the registers ``ins`` reads as values (not as parts of an address)."""
    out = []
    for name in ("src", "a", "b", "expected"):
        o = getattr(ins, name, None)
        if isinstance(o, Reg):
            out.append(o.name)
    if isinstance(ins, Alu) and ins.op != "mov" and isinstance(ins.dst, Reg):
        out.append(ins.dst.name)  # add/sub/shl/not/...: the destination is an operand too
    return out


def _written_regs(instrs) -> set:
    out = set()
    for i in instrs:
        for name in ("dst", "expected"):
            r = getattr(i, name, None)
            if isinstance(r, Reg):
                out.add(r.name)
        if isinstance(i, Alu) and i.op == "swap":
            out.add(i.src.name)
    return out


def _symbol_names(cells) -> dict:
    """A valid, unique assembler symbol for every memory cell."""
    out, used = {}, set()
    for c in cells:
        base = _IDENT_RE.sub("_", c.sym if c.index == 0 else f"{c.sym}_{c.index}")
        # The assembler reads `r<digits>` (any case) as a register, never as a symbol.
        if not base or base[0].isdigit() or re.fullmatch(r"[rR]\d+", base):
            base = "v_" + base
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        out[c] = name
    return out


def to_asm(test: LitmusTest) -> tuple[str, list]:
    """The test as an emulator program, and where each shown location is observed.

    Returns ``(asm_text, observe)``; ``observe`` lists, in herd's location order,
    ``(location name, ("reg", core, regnum))`` or ``(location name, ("mem", symbol))``.
    Raises CoherenceError when the test uses something the ISA cannot express.
    """
    cells = test.memory_cells()
    symbols = _symbol_names(cells)
    out = [f"; litmus test {test.name} ({test.arch}) from {test.path}",
           f"; {format_condition(test.condition)}",
           ".data"]
    for c in cells:
        v = test.init.get(c, 0)
        if isinstance(v, Sym):
            raise CoherenceError(f"cannot translate to the emulator: {c} holds an address",
                                 file=test.path, line=test.line)
        out.append(f"{symbols[c]}: {v}")
    extra = set(test.observed)
    if test.filter is not None:
        extra |= prop_locations(test.filter)
    threads = []
    for th in test.threads:
        ta = _ThreadAsm(test, th.index, symbols)
        for loc in sorted((l for l in extra if isinstance(l, RegLoc) and l.thread == th.index),
                          key=str):
            if isinstance(ta.init.get(loc.reg), Sym):
                raise CoherenceError(f"cannot translate to the emulator: {loc} holds an "
                                     f"address and is observed", file=test.path,
                                     line=test.condition.line)
            ta.reg(loc.reg)
        ta.prologue()
        at = {}
        for k, lab in th.labels.items():
            at.setdefault(lab, []).append(k)
        for k, ins in enumerate(th.instrs):
            for lab in at.get(k, []):
                ta.lines.append(f"{ta.label(lab)}:")
            ta.instr(ins)
        for lab in at.get(len(th.instrs), []):
            ta.lines.append(f"{ta.label(lab)}:")
        threads.append(ta)
        out.append(f".core {th.index}")
        out.extend(ta.lines)
    observe = []
    for loc in test.observed:
        if isinstance(loc, RegLoc):
            observe.append((str(loc), ("reg", loc.thread, threads[loc.thread].regmap[loc.reg])))
        else:
            observe.append((str(loc), ("mem", symbols[loc])))
    return "\n".join(out) + "\n", observe
