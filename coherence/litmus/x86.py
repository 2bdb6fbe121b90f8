"""x86 instruction syntax: one cell of a litmus thread table -> IR instructions.

Two dialects, as in herd7:

- ``X86``: Intel syntax, destination first: ``MOV [x],$1``, ``MOV EAX,[y]``,
  ``LOCK XADD [x],EAX``.  Registers are the 32-bit ``EAX`` ... ``ESP``.
- ``X86_64``: AT&T syntax, destination last, size suffixes b/w/l/q: ``movl $1,(x)``,
  ``movl (y),%eax``, ``lock xaddl %eax,(x)``.  Every alias of a register (``%eax``, ``%ax``,
  ``%al``) names the 64-bit register (``rax``), which is what herd prints; values are plain
  integers (sizes are not modelled, see docs/litmus.md).

AT&T operands are reversed into Intel order, so a single lowering function handles both.
Memory-to-register forms of ALU instructions (``ADD EAX,[x]``) become a load into a hidden
temporary (``.t0``) plus the register operation: one read event, as in herd.
"""

from __future__ import annotations

import dataclasses
import re

from ..errors import CoherenceError
from .ir import (Alu, Branch, Cmp, Fence, Halt, Imm, Instr, LiteralError, Load, Mem, Nop, Reg,
                 Rmw, SetCC, Store, literal)

# --------------------------------------------------------------------------- registers

X86_REGS = ("EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP")
_X86_ALIASES = {}
for _r in X86_REGS:
    _X86_ALIASES[_r] = _r
for _short, _full in (("AX", "EAX"), ("BX", "EBX"), ("CX", "ECX"), ("DX", "EDX"),
                      ("AL", "EAX"), ("BL", "EBX"), ("CL", "ECX"), ("DL", "EDX"),
                      ("AH", "EAX"), ("BH", "EBX"), ("CH", "ECX"), ("DH", "EDX"),
                      ("SI", "ESI"), ("DI", "EDI"), ("BP", "EBP"), ("SP", "ESP")):
    _X86_ALIASES[_short] = _full

_X86_64_ALIASES = {}
for _b, _names in {
    "rax": ("rax", "eax", "ax", "al", "ah"), "rbx": ("rbx", "ebx", "bx", "bl", "bh"),
    "rcx": ("rcx", "ecx", "cx", "cl", "ch"), "rdx": ("rdx", "edx", "dx", "dl", "dh"),
    "rsi": ("rsi", "esi", "si", "sil"), "rdi": ("rdi", "edi", "di", "dil"),
    "rbp": ("rbp", "ebp", "bp", "bpl"), "rsp": ("rsp", "esp", "sp", "spl"),
}.items():
    for _n in _names:
        _X86_64_ALIASES[_n] = _b
for _i in range(8, 16):
    for _suffix in ("", "d", "w", "b"):
        _X86_64_ALIASES[f"r{_i}{_suffix}"] = f"r{_i}"
_X86_64_ALIASES["rip"] = "rip"

ACCUMULATOR = {"X86": "EAX", "X86_64": "rax"}

# herd's ``allowed_for_symb`` (X86Base): the registers a symbolic register (``%r1``) may
# become, in the order herd hands them out.
SYMBOLIC_ALLOWED = ("EAX", "EBX", "ECX", "EDX", "ESI", "EDI")
_SYMBOLIC_RE = re.compile(r"^%([A-Za-z][\w.]*)$")


def symbolic_name(token: str, arch: str) -> str | None:
    """``r1`` when ``token`` is herd's symbolic register ``%r1`` (ppcmem's register names),
    else None.

    Only in ``X86`` (Intel syntax), where herd's lexer reads every ``%NAME`` as one.  (herd's
    X86_64 lexer also reads a ``%NAME`` that names no register as symbolic; we keep that an
    "unknown register" error: no AT&T test uses them and it catches typos like ``%ezx``.)
    """
    if arch != "X86":
        return None
    m = _SYMBOLIC_RE.match(token.strip())
    return m.group(1) if m else None


def canonical_reg(name: str, arch: str, strict: bool = True) -> str | None:
    """The canonical name of register ``name`` in ``arch``.

    Unknown names return None when ``strict``; otherwise they are kept (upper-case for X86,
    lower-case for X86_64) so that an init or condition may name any register, as herd allows
    (``0:rip``, ``0:cs``).
    """
    if arch in ("AArch64", "RISCV"):
        from .dialect import canonical_reg as other
        return other(name, arch)
    if arch == "X86":
        r = _X86_ALIASES.get(name.upper())
        if r is None and not strict:
            return name.upper()
        return r
    r = _X86_64_ALIASES.get(name.lower())
    if r is None and not strict:
        return name.lower()
    return r


# --------------------------------------------------------------------------- mnemonics

_JCC = {
    "je": "e", "jz": "e", "jne": "ne", "jnz": "ne", "jl": "l", "jnge": "l", "jlt": "l",
    "jle": "le", "jng": "le", "jg": "g", "jnle": "g", "jgt": "g", "jge": "ge", "jnl": "ge",
    "js": "s", "jns": "ns", "jb": "b", "jc": "b", "jnae": "b", "jae": "ae", "jnb": "ae",
    "jnc": "ae", "ja": "a", "jnbe": "a", "jbe": "be", "jna": "be",
}
_SETCC = {"set" + k[1:]: v for k, v in _JCC.items()}

_BINARY_ALU = ("add", "sub", "and", "or", "xor")
_SHIFTS = {"shl": "shl", "sal": "shl", "shr": "shr", "sar": "sar"}
_SIZED = ("mov", "add", "sub", "and", "or", "xor", "cmp", "test", "inc", "dec", "neg", "not",
          "xchg", "uxch", "cmpxchg", "xadd", "shl", "sal", "shr", "sar", "nop", "movnti")
_NOPS = ("nop", "endbr64", "endbr32", "pause")
_LOCKABLE = ("add", "sub", "and", "or", "xor", "inc", "dec", "xchg", "cmpxchg", "xadd")


def _base_mnemonic(m: str) -> str:
    """Strip an AT&T/herd size suffix (``movl`` -> ``mov``) when the result is known."""
    if m in _SIZED or m in _JCC or m in _SETCC:
        return m
    if m[-1:] in "bwlqt" and m[:-1] in _SIZED:
        return m[:-1]
    return m


# --------------------------------------------------------------------------- operands

_INT_RE = re.compile(r"^[+-]?(0x[0-9a-fA-F]+|\d+)$")
_NAME_RE = re.compile(r"^[A-Za-z_][\w.]*$")


def parse_int(s: str) -> int | None:
    """An integer literal (decimal or 0x hex, optionally signed), or None."""
    s = s.strip()
    if not _INT_RE.match(s):
        return None
    # base 10 unless 0x: int("010", 0) would reject the leading zero herd accepts
    return literal(s)


def _split_operands(s: str) -> list[str]:
    """Split on commas that are not inside brackets or parentheses."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    tail = "".join(cur).strip()
    if tail or out:
        out.append(tail)
    return out


class _Ctx:
    """What one instruction's parse needs for error messages and register names.

    Every register the instruction names is noted in the thread's ``temps``: real ones in
    ``temps.named``, symbolic ones (``%r1``, kept as ``Reg("%r1")`` until
    ``dialect.allocate_symbolic_registers`` renames them) in ``temps.symbolic``.
    """

    def __init__(self, arch: str, path: str, line: int, text: str, temps=None):
        self.arch, self.path, self.line, self.text = arch, path, line, text
        self.temps = temps if temps is not None else Temps()

    def error(self, msg: str) -> CoherenceError:
        return CoherenceError(f"{msg} in `{self.text}`", file=self.path, line=self.line)

    def _real(self, name: str) -> str | None:
        if self.arch == "X86_64" and name.startswith("%"):
            name = name[1:]
        return canonical_reg(name, self.arch)

    def is_reg(self, name: str) -> bool:
        """True when ``name`` is a register operand, real or symbolic."""
        return symbolic_name(name, self.arch) is not None or self._real(name) is not None

    def reg(self, name: str) -> Reg:
        """The register ``name`` (``EAX``; ``%rax`` or ``rax`` in AT&T; a symbolic ``%r1``)."""
        sym = symbolic_name(name, self.arch)
        if sym is not None:
            self.temps.symbolic.setdefault(sym, self.line)
            return Reg("%" + sym)
        r = self._real(name)
        if r is None:
            raise self.error(f"unknown register `{name.removeprefix('%')}`")
        self.temps.named.add(r)
        return Reg(r)


def _intel_mem(inner: str, ctx: _Ctx) -> Mem:
    """``[x]``, ``[x+8]``, ``[EAX]``, ``[EBX+ECX*4+8]`` (contents without brackets)."""
    sym = base = index = None
    scale, disp = 1, 0
    terms = re.findall(r"([+-]?)\s*([^+-]+)", inner.replace(" ", ""))
    if not terms:
        raise ctx.error("empty memory operand")
    for sign, term in terms:
        neg = sign == "-"
        if "*" in term:
            r, k = term.split("*", 1)
            kk = parse_int(k)
            if kk is None or not ctx.is_reg(r) or neg or index is not None:
                raise ctx.error(f"bad scaled index `{term}`")
            index, scale = ctx.reg(r).name, kk
            continue
        v = parse_int(term)
        if v is not None:
            disp += -v if neg else v
        elif ctx.is_reg(term) and not neg:
            if base is None:
                base = ctx.reg(term).name
            elif index is None:
                index = ctx.reg(term).name
            else:
                raise ctx.error("too many registers in memory operand")
        elif _NAME_RE.match(term) and sym is None and not neg:
            sym = term
        else:
            raise ctx.error(f"bad memory operand term `{term}`")
    if sym is None and base is None and index is None:
        raise ctx.error("absolute numeric addresses are not supported")
    return Mem(sym, disp, base, index, scale)


def _parse_intel_operand(s: str, ctx: _Ctx):
    s = s.strip()
    if s.startswith("[") and s.endswith("]"):
        return _intel_mem(s[1:-1], ctx)
    lit = s[1:] if s.startswith("$") else s
    v = parse_int(lit)
    if v is not None:
        return Imm(v)
    if ctx.is_reg(s):
        return ctx.reg(s)
    raise ctx.error(f"bad operand `{s}`")


_ATT_MEM_RE = re.compile(r"^(?P<disp>[^()]*)\((?P<inner>[^()]*)\)$")


def _parse_att_operand(s: str, ctx: _Ctx):
    s = s.strip()
    # A segment prefix (``%cs:0(...)``) only occurs in nop operands; the address is ignored.
    seg = re.match(r"^%?(cs|ds|es|fs|gs|ss):(.*)$", s, re.I)
    if seg:
        s = seg.group(2)
    if s.startswith("$"):
        v = parse_int(s[1:])
        if v is None:
            raise ctx.error(f"bad immediate `{s}`")
        return Imm(v)
    if s.startswith("[") and s.endswith("]"):
        return _intel_mem(s[1:-1].replace("%", ""), ctx)
    m = _ATT_MEM_RE.match(s)
    if m:
        disp_s, inner = m.group("disp").strip(), m.group("inner").strip()
        disp, sym = 0, None
        if disp_s:
            v = parse_int(disp_s)
            if v is not None:
                disp = v
            elif _NAME_RE.match(disp_s):
                sym = disp_s
            else:
                raise ctx.error(f"bad displacement `{disp_s}`")
        parts = [p.strip() for p in inner.split(",")]
        if len(parts) == 1 and _NAME_RE.match(parts[0]) and \
                canonical_reg(parts[0], ctx.arch) is None:
            if sym is not None:
                raise ctx.error(f"bad memory operand `{s}`")
            return Mem(parts[0], disp)
        base = index = None
        scale = 1
        if parts[0]:
            base = ctx.reg(parts[0]).name
        if len(parts) >= 2 and parts[1]:
            index = ctx.reg(parts[1]).name
        if len(parts) >= 3:
            k = parse_int(parts[2])
            if k is None:
                raise ctx.error(f"bad scale `{parts[2]}`")
            scale = k
        if len(parts) > 3:
            raise ctx.error(f"bad memory operand `{s}`")
        return Mem(sym, disp, base, index, scale)
    v = parse_int(s)
    if v is not None:
        # herd's X86_64 grammar reads a bare number as an immediate (``shl 2,%eax``).
        return Imm(v)
    if s.startswith("%") or canonical_reg(s, ctx.arch) is not None:
        return ctx.reg(s)
    raise ctx.error(f"bad operand `{s}`")


def rename_symbolic(ins: Instr, env: dict) -> Instr:
    """``ins`` with its symbolic registers (``Reg("%r1")``, ``[%r1]``) renamed by ``env``
    (``{"r1": "EAX"}``), as herd's allocation leaves them."""
    def name(r):
        return env[r[1:]] if isinstance(r, str) and r.startswith("%") else r

    changes = {}
    for f in dataclasses.fields(ins):
        v = getattr(ins, f.name)
        if isinstance(v, Reg) and v.name.startswith("%"):
            changes[f.name] = Reg(name(v.name))
        elif isinstance(v, Mem) and (name(v.base), name(v.index)) != (v.base, v.index):
            changes[f.name] = dataclasses.replace(v, base=name(v.base), index=name(v.index))
    return dataclasses.replace(ins, **changes) if changes else ins


# --------------------------------------------------------------------------- lowering


class Temps:
    """Per-thread parse state: hidden temporaries (names start with '.', herd cannot observe
    them), and the registers the thread's code names (``named``: real, canonical names;
    ``symbolic``: ``%r1`` names without the ``%`` -> line of first use), which herd's
    allocation of symbolic registers needs."""

    def __init__(self):
        self.n = 0
        self.named: set[str] = set()
        self.symbolic: dict[str, int] = {}

    def new(self) -> Reg:
        r = Reg(f".t{self.n}")
        self.n += 1
        return r


def parse_instruction(text: str, arch: str, path: str, line: int,
                      temps: Temps) -> list[Instr]:
    """Parse one instruction (the text of one table cell, label removed) into IR.

    Raises CoherenceError (with ``path:line``) for anything not understood.
    """
    ctx = _Ctx(arch, path, line, text.strip(), temps)
    try:
        return _parse_instruction(text, arch, line, temps, ctx)
    except LiteralError as exc:
        raise ctx.error(str(exc)) from None


def _parse_instruction(text: str, arch: str, line: int, temps: Temps, ctx) -> list[Instr]:
    s = text.strip()
    locked = False
    m = re.match(r"^lock\b\s*;?\s*(.*)$", s, re.I)
    if m:
        locked, s = True, m.group(1)
        if not s:
            raise ctx.error("LOCK prefix without an instruction")
    parts = s.split(None, 1)
    mnem = _base_mnemonic(parts[0].lower())
    rest = parts[1] if len(parts) > 1 else ""
    raw = _split_operands(rest) if rest.strip() else []
    if mnem in _JCC or mnem == "jmp":
        if len(raw) != 1 or not _NAME_RE.match(raw[0]):
            raise ctx.error("a jump takes one label")
        if locked:
            raise ctx.error("LOCK prefix on a jump")
        return [Branch(_JCC.get(mnem), raw[0], line=line, text=ctx.text)]
    if mnem in _NOPS or mnem in ("nopl", "nopw"):
        # nop operands (``nopl 0(%rax,%eax,0)``) are never evaluated.
        return [Nop(line=line, text=ctx.text)]
    parse = _parse_intel_operand if arch == "X86" else _parse_att_operand
    ops = [parse(o, ctx) for o in raw]
    if mnem in _SHIFTS and len(raw) == 2:
        # x86 shifts take their count in CL or as an immediate (herd rejects the others).
        count, op = (raw[1], ops[1]) if arch == "X86" else (raw[0], ops[0])
        if isinstance(op, Reg) and count.strip().lstrip("%").lower() != "cl":
            raise ctx.error(f"`{mnem}` takes its count in CL or as an immediate, got "
                            f"`{count.strip()}`")
    if arch == "X86_64":
        ops.reverse()  # AT&T: source first; lower in Intel order (destination first)
    if locked and mnem not in _LOCKABLE:
        raise ctx.error(f"LOCK prefix on `{mnem}`, which is not a read-modify-write")
    out = _lower(mnem, ops, locked, ctx, temps)
    if locked and not any(isinstance(i, Rmw) for i in out):
        raise ctx.error("LOCK prefix needs a memory destination")
    return out


def _lower(mnem: str, ops: list, locked: bool, ctx: _Ctx, temps: Temps) -> list[Instr]:
    kw = dict(line=ctx.line, text=ctx.text)

    def arity(n):
        if len(ops) != n:
            raise ctx.error(f"`{mnem}` takes {n} operand{'s' if n != 1 else ''}, got {len(ops)}")

    def src_value(op):
        """A register or immediate source; a memory source becomes a load into a temp."""
        if isinstance(op, Mem):
            t = temps.new()
            return t, [Load(t, op, **kw)]
        return op, []

    if mnem in ("mfence", "lfence", "sfence"):
        arity(0)
        return [Fence(mnem, **kw)]
    if mnem in ("ret", "hlt"):
        return [Halt(**kw)]
    if mnem in ("mov", "movnti"):
        arity(2)
        dst, src = ops
        if isinstance(dst, Mem):
            if isinstance(src, Mem):
                raise ctx.error("memory-to-memory move")
            return [Store(dst, src, **kw)]
        if isinstance(dst, Reg):
            if isinstance(src, Mem):
                return [Load(dst, src, **kw)]
            return [Alu("mov", dst, src, **kw)]
        raise ctx.error("cannot move into an immediate")
    if mnem in _BINARY_ALU:
        arity(2)
        dst, src = ops
        if isinstance(dst, Mem):
            if isinstance(src, Mem):
                raise ctx.error("memory-to-memory operation")
            return [Rmw(mnem, dst, src, locked=locked, **kw)]
        if isinstance(dst, Reg):
            v, pre = src_value(src)
            return pre + [Alu(mnem, dst, v, **kw)]
        raise ctx.error("bad destination")
    if mnem in ("inc", "dec"):
        arity(1)
        op = "add" if mnem == "inc" else "sub"
        (dst,) = ops
        if isinstance(dst, Mem):
            return [Rmw(op, dst, Imm(1), locked=locked, **kw)]
        if isinstance(dst, Reg):
            return [Alu(op, dst, Imm(1), **kw)]
        raise ctx.error("bad operand")
    if mnem in ("neg", "not"):
        arity(1)
        if not isinstance(ops[0], Reg):
            raise ctx.error(f"`{mnem}` on memory is not supported")
        return [Alu(mnem, ops[0], None, **kw)]
    if mnem in _SHIFTS:
        arity(2)
        dst, src = ops
        if not isinstance(dst, Reg) or isinstance(src, Mem):
            raise ctx.error(f"`{mnem}` on memory is not supported")
        return [Alu(_SHIFTS[mnem], dst, src, **kw)]
    if mnem in ("cmp", "test"):
        arity(2)
        a, b = ops
        if isinstance(a, Imm):
            raise ctx.error("first operand of a compare cannot be an immediate")
        pre = []
        a, p = src_value(a)
        pre += p
        b, p = src_value(b)
        pre += p
        return pre + [Cmp(a, b, mnem == "test", **kw)]
    if mnem in ("xchg", "uxch"):
        arity(2)
        a, b = ops
        mem = [o for o in (a, b) if isinstance(o, Mem)]
        regs = [o for o in (a, b) if isinstance(o, Reg)]
        if len(regs) == 2:
            return [Alu("swap", a, b, **kw)]
        if len(mem) != 1 or len(regs) != 1:
            raise ctx.error("xchg needs a register and a register or memory operand")
        # x86 xchg with memory is always locked; herd's `uxch` is the unlocked variant.
        return [Rmw("xchg", mem[0], regs[0], dst=regs[0], locked=(mnem == "xchg"), **kw)]
    if mnem == "xadd":
        arity(2)
        mem = [o for o in ops if isinstance(o, Mem)]
        regs = [o for o in ops if isinstance(o, Reg)]
        if len(mem) != 1 or len(regs) != 1:
            raise ctx.error("xadd needs a memory and a register operand")
        return [Rmw("xadd", mem[0], regs[0], dst=regs[0], locked=locked, **kw)]
    if mnem == "cmpxchg":
        arity(2)
        mem = [o for o in ops if isinstance(o, Mem)]
        regs = [o for o in ops if isinstance(o, Reg)]
        if len(mem) != 1 or len(regs) != 1:
            raise ctx.error("cmpxchg needs a memory and a register operand")
        acc = Reg(ACCUMULATOR[ctx.arch])
        return [Rmw("cmpxchg", mem[0], regs[0], dst=acc, expected=acc, locked=locked, **kw)]
    if mnem in _SETCC:
        arity(1)
        (dst,) = ops
        if isinstance(dst, Reg):
            return [SetCC(_SETCC[mnem], dst, **kw)]
        if isinstance(dst, Mem):
            t = temps.new()
            return [SetCC(_SETCC[mnem], t, **kw), Store(dst, t, **kw)]
        raise ctx.error("bad operand")
    raise ctx.error(f"unsupported instruction `{mnem}`")
