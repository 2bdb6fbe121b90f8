"""The intermediate representation of a parsed litmus test.

A :class:`LitmusTest` is architecture-neutral once parsed: both x86 dialects (Intel-syntax
``X86`` and AT&T-syntax ``X86_64``) lower to the same small instruction set below, so the
enumerator (:mod:`.enumerate`) and the translator to the emulator's assembly
(:mod:`.compile`) each have one case per IR instruction, not one per x86 mnemonic.

Values are 64-bit words (Python ints kept in the signed range by :func:`word`, wrapping as
herd's and the emulator's int64 do), or :class:`Sym` for an address (a register initialised with ``x``
holds the address of ``x``).  Memory is a set of cells, one per scalar location and one per
array element; a cell is named by :class:`MemLoc`.  Register names are canonical: upper-case
``EAX`` for ``X86``, the lower-case 64-bit name (``rax`` for ``%eax``) for ``X86_64``, which is
how herd7 prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

# --------------------------------------------------------------------------- values / locations

#: Literals may be written in -2**63..2**64-1 (signed or unsigned 64-bit); they are then
#: stored as :func:`word` of themselves.
WORD_MIN, WORD_MAX_UNSIGNED = -(1 << 63), (1 << 64) - 1
_WORD_MASK, _WORD_SIGN = (1 << 64) - 1, 1 << 63
#: Digits of the longest literal (2**64 has 20 decimal digits; leading zeros aside).
_MAX_DIGITS = 64
#: How many elements an array of the init block may have.
MAX_ARRAY_LEN = 4096


def word(v: int) -> int:
    """``v`` as a signed 64-bit word (two's complement wrap-around): the one word semantics
    of the enumerator and the emulator."""
    return ((v + _WORD_SIGN) & _WORD_MASK) - _WORD_SIGN


#: The architectures whose values herd7 computes as signed 32-bit integers (7.58 without
#: ``-variant mixed``): an AArch64 or RISC-V location initialised to 0x100000002 reads 2, and
#: 0x7fffffff + 0x7fffffff is -2, even in X registers and with ``ld``.  (herd rejects an x86
#: literal out of that range, which the project reads as a 64-bit word.)
INT32_ARCHS = frozenset({"AArch64", "RISCV"})


def int32(v: int) -> int:
    """``v`` as a signed 32-bit integer (two's complement wrap-around): herd's values on the
    architectures of :data:`INT32_ARCHS`."""
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


class LiteralError(ValueError):
    """A number literal that is not a 64-bit word (the parsers add the file and line)."""


def literal(text: str) -> int:
    """The word an integer literal denotes: decimal (leading zeros allowed, as herd reads
    ``08``) or ``0x`` hexadecimal, optionally signed, in -2**63..2**64-1."""
    s = text.strip()
    neg = s.startswith("-")
    body = s.lstrip("+-")
    hexa = body[:2].lower() == "0x"
    digits = (body[2:] if hexa else body).lstrip("0")
    if len(digits) > _MAX_DIGITS:
        raise LiteralError(f"number `{text}` does not fit in a 64-bit word")
    v = int(body, 16) if hexa else int(body, 10)
    v = -v if neg else v
    if not WORD_MIN <= v <= WORD_MAX_UNSIGNED:
        raise LiteralError(f"number `{text}` does not fit in a 64-bit word, expected "
                           f"{WORD_MIN}..{WORD_MAX_UNSIGNED}")
    return word(v)



@dataclass(frozen=True)
class Sym:
    """An address value: the location ``name`` plus ``offset`` bytes."""

    name: str
    offset: int = 0

    def __str__(self) -> str:
        return self.name if self.offset == 0 else f"{self.name}+{self.offset}"


Value = Union[int, Sym]


@dataclass(frozen=True)
class RegLoc:
    """Register ``reg`` of thread ``thread`` (herd: ``0:EAX``)."""

    thread: int
    reg: str

    def __str__(self) -> str:
        return f"{self.thread}:{self.reg}"


@dataclass(frozen=True)
class MemLoc:
    """Memory cell: element ``index`` of location ``sym`` (herd: ``[x]``, or ``t[1]``)."""

    sym: str
    index: int = 0

    def __str__(self) -> str:
        return f"[{self.sym}]" if self.index == 0 else f"{self.sym}[{self.index}]"


Location = Union[RegLoc, MemLoc]


def format_value(v: Value) -> str:
    """A value as herd prints it in states and conditions."""
    return str(v)


# --------------------------------------------------------------------------- operands


@dataclass(frozen=True)
class Reg:
    """A register operand (canonical name)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Imm:
    """An immediate operand."""

    value: int

    def __str__(self) -> str:
        return f"${self.value}"


@dataclass(frozen=True)
class Mem:
    """A memory operand: address = ``sym`` + ``disp`` + ``base`` + ``index`` * ``scale``.

    ``sym`` is None for a purely register-based address (``[EAX]``, ``8(%rax)``), whose
    value must then be an address (:class:`Sym`) at run time.
    """

    sym: str | None
    disp: int = 0
    base: str | None = None
    index: str | None = None
    scale: int = 1

    @property
    def is_static(self) -> bool:
        """True when the address does not depend on registers."""
        return self.base is None and self.index is None

    def __str__(self) -> str:
        parts = []
        if self.sym is not None:
            parts.append(self.sym)
        if self.base is not None:
            parts.append(self.base)
        if self.index is not None:
            parts.append(f"{self.index}*{self.scale}")
        if self.disp or not parts:
            parts.append(str(self.disp))
        return "[" + "+".join(parts) + "]"


Operand = Union[Reg, Imm]

# --------------------------------------------------------------------------- instructions
# Every instruction keeps its source line and text for error messages and listings.


@dataclass(frozen=True)
class Instr:
    """Base class: ``line`` and ``text`` locate the instruction in the source."""

    line: int = field(default=0, compare=False, kw_only=True)
    text: str = field(default="", compare=False, kw_only=True)


@dataclass(frozen=True)
class Load(Instr):
    """``dst <- [addr]`` (one read event)."""

    dst: Reg
    addr: Mem


@dataclass(frozen=True)
class Store(Instr):
    """``[addr] <- src`` (one write event; buffered under TSO)."""

    addr: Mem
    src: Operand


@dataclass(frozen=True)
class Fence(Instr):
    """``mfence`` (drains the store buffer), ``lfence`` / ``sfence`` (no effect under TSO)."""

    kind: str


RMW_OPS = ("xchg", "xadd", "add", "sub", "and", "or", "xor", "cmpxchg")


@dataclass(frozen=True)
class Rmw(Instr):
    """Read-modify-write of one memory cell.

    ``op`` is one of :data:`RMW_OPS`.  The new memory value is ``src`` (xchg), ``old op src``
    (xadd/add/sub/and/or/xor), or for cmpxchg ``src`` when ``old == expected`` (else no
    write).  ``dst`` (may be None) receives the old value; for cmpxchg ``dst`` is the
    accumulator and receives the old value in both cases (it equals it on success).
    Flags are set from the result (or from ``old`` vs ``expected`` for cmpxchg).
    ``locked`` RMWs are atomic and act as a full fence; unlocked ones are a plain read
    followed by a plain write.
    """

    op: str
    addr: Mem
    src: Operand
    dst: Reg | None = None
    expected: Reg | None = None
    locked: bool = True


ALU_OPS = ("mov", "add", "sub", "and", "or", "xor", "shl", "shr", "sar", "neg", "not", "swap")


@dataclass(frozen=True)
class Alu(Instr):
    """Register-only operation ``dst <- dst op src`` (``mov``: ``dst <- src``).

    ``neg``/``not`` ignore ``src``; ``swap`` exchanges two registers.  Every op but ``mov``
    and ``swap`` sets the flags from its result, like x86.
    """

    op: str
    dst: Reg
    src: Operand | None = None


@dataclass(frozen=True)
class Cmp(Instr):
    """Set the flags from ``a - b`` (``test``: from ``a & b``)."""

    a: Operand
    b: Operand
    test: bool = False


BRANCH_CONDS = ("e", "ne", "l", "le", "g", "ge", "s", "ns", "b", "ae", "a", "be")


@dataclass(frozen=True)
class Branch(Instr):
    """Jump to ``target`` when ``cond`` holds on the flags (``cond`` None: always)."""

    cond: str | None
    target: str


@dataclass(frozen=True)
class SetCC(Instr):
    """``dst <- 1 if cond else 0`` (x86 ``setCC`` on a register)."""

    cond: str
    dst: Reg


@dataclass(frozen=True)
class Nop(Instr):
    """No operation (also ``endbr64``, ``nopl ...``)."""


@dataclass(frozen=True)
class Halt(Instr):
    """End of the thread (x86 ``ret``)."""


# --------------------------------------------------------------------------- test


@dataclass
class Thread:
    """One thread: its instructions and its labels (label -> instruction index)."""

    index: int
    instrs: list[Instr]
    labels: dict[str, int]

    def successors(self, k: int) -> list[int]:
        """Instruction indices that may follow instruction ``k`` (``len(instrs)``: the end)."""
        ins = self.instrs[k]
        if isinstance(ins, Halt):
            return []
        if isinstance(ins, Branch):
            target = self.labels[ins.target]
            return [target] if ins.cond is None else [k + 1, target]
        return [k + 1]

    @property
    def can_loop(self) -> bool:
        """True when the control-flow graph has a cycle (a backward jump alone is not one)."""
        n = len(self.instrs)
        color = [0] * (n + 1)  # 0 new, 1 on the DFS stack, 2 done
        for root in range(n):
            if color[root]:
                continue
            stack = [(root, iter(self.successors(root)))]
            color[root] = 1
            while stack:
                k, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    color[k] = 2
                    stack.pop()
                elif nxt < n:
                    if color[nxt] == 1:
                        return True
                    if color[nxt] == 0:
                        color[nxt] = 1
                        stack.append((nxt, iter(self.successors(nxt))))
        return False


# Condition AST: herd's ConstrGen.prop.


@dataclass(frozen=True)
class Atom:
    """``loc = value`` (``rhs`` a value) or ``loc = loc`` (``rhs`` a location)."""

    loc: Location
    rhs: object  # Value | Location


@dataclass(frozen=True)
class Not:
    p: object


@dataclass(frozen=True)
class And:
    ps: tuple


@dataclass(frozen=True)
class Or:
    ps: tuple


@dataclass(frozen=True)
class Implies:
    p: object
    q: object


Prop = Union[Atom, Not, And, Or, Implies]

QUANTIFIERS = ("exists", "~exists", "forall")
KIND = {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}


@dataclass(frozen=True)
class Condition:
    """The final condition: a quantifier and a proposition over final-state locations."""

    quantifier: str  # one of QUANTIFIERS
    prop: Prop
    line: int = field(default=0, compare=False)

    @property
    def kind(self) -> str:
        """herd's kind word: Allowed (exists), Forbidden (~exists), Required (forall)."""
        return KIND[self.quantifier]


@dataclass
class LitmusTest:
    """A parsed litmus test (see the module docstring for conventions)."""

    name: str
    arch: str                      # "X86" or "X86_64"
    path: str
    threads: list[Thread]
    init: dict                     # Location -> Value
    condition: Condition
    locations: list = field(default_factory=list)  # extra locations to show (``locations [...]``)
    filter: Prop | None = None
    doc: str = ""                  # the quoted line, if any
    texname: str = ""              # ppcmem's second name: `X86 amd5 (amdFive)`
    metadata: dict = field(default_factory=dict)
    elem_size: dict = field(default_factory=dict)  # sym -> bytes per element (default 8)
    array_len: dict = field(default_factory=dict)  # sym -> number of elements (arrays only)
    line: int = 1                  # line of the name

    @property
    def nthreads(self) -> int:
        return len(self.threads)

    def esize(self, sym: str) -> int:
        """Bytes per element of location ``sym`` (8 unless declared otherwise)."""
        return self.elem_size.get(sym, 8)

    def cell_of(self, addr: Sym) -> MemLoc | None:
        """The memory cell at address ``addr``, or None when it is not a cell boundary."""
        size = self.esize(addr.name)
        if addr.offset % size:
            return None
        idx = addr.offset // size
        n = self.array_len.get(addr.name, 1)
        if idx < 0 or idx >= n:
            return None
        return MemLoc(addr.name, idx)

    def address_of(self, loc: MemLoc) -> Sym:
        """The address of memory cell ``loc``."""
        return Sym(loc.sym, loc.index * self.esize(loc.sym))

    @property
    def observed(self) -> list:
        """The locations herd shows in final states, in herd's order.

        herd shows the condition's locations and those of the ``locations`` clause, sorted
        registers first (by thread, then register order), then memory by name.
        """
        locs = set(self.locations)
        locs |= prop_locations(self.condition.prop)
        return sorted(locs, key=lambda l: location_sort_key(l, self.arch))

    def memory_cells(self) -> list:
        """Every memory cell the test can touch (declared, initialised, named anywhere)."""
        cells = set()
        for sym, n in self.array_len.items():
            cells.update(MemLoc(sym, i) for i in range(n))
        for loc, v in self.init.items():
            if isinstance(loc, MemLoc):
                cells.add(loc)
            if isinstance(v, Sym):
                c = self.cell_of(v)
                if c is not None:
                    cells.add(c)
        for th in self.threads:
            for ins in th.instrs:
                for m in _mem_operands(ins):
                    if m.is_static and m.sym is not None:
                        c = self.cell_of(Sym(m.sym, m.disp))
                        if c is not None:
                            cells.add(c)
        for loc in self.observed:
            if isinstance(loc, MemLoc):
                cells.add(loc)
        if self.filter is not None:
            cells.update(l for l in prop_locations(self.filter) if isinstance(l, MemLoc))
        return sorted(cells, key=lambda c: (c.sym, c.index))


def _mem_operands(ins):
    for name in ("addr",):
        m = getattr(ins, name, None)
        if isinstance(m, Mem):
            yield m


def prop_locations(p) -> set:
    """Every location mentioned in proposition ``p``."""
    out = set()

    def walk(q):
        if isinstance(q, Atom):
            out.add(q.loc)
            if isinstance(q.rhs, (RegLoc, MemLoc)):
                out.add(q.rhs)
        elif isinstance(q, Not):
            walk(q.p)
        elif isinstance(q, (And, Or)):
            for r in q.ps:
                walk(r)
        elif isinstance(q, Implies):
            walk(q.p)
            walk(q.q)

    walk(p)
    return out


# herd's register order (the order of the constructors of its register type; see
# X86Base.reg and X86_64Base.reg): it decides the order of locations in printed states.
_X86_REG_ORDER = ["EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP", "EIP", "ZF", "SF", "CF"]
_X86_64_REG_ORDER = ["rip", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]


def reg_sort_key(reg: str, arch: str):
    if arch in ("AArch64", "RISCV"):
        from .dialect import reg_sort_key as other
        return other(reg, arch)
    order = _X86_REG_ORDER if arch == "X86" else _X86_64_REG_ORDER
    try:
        return (0, order.index(reg), "")
    except ValueError:
        return (1, 0, reg)


def location_sort_key(loc: Location, arch: str):
    """herd's location order: registers (thread, register) before memory (by name)."""
    if isinstance(loc, RegLoc):
        return (0, loc.thread, reg_sort_key(loc.reg, arch), "", 0)
    return (1, 0, (0, 0, ""), loc.sym, loc.index)
