"""herd's ``RISCV`` dialect: one instruction -> micro-ops (:mod:`.executions`).

Supported (registers ``x0``..``x31`` or their ABI names, printed ``x<n>`` as herd does;
``x0`` reads 0 and discards writes; values are herd's signed 32-bit integers, sizes not
modelled):

* ``lw ld lb lh lwu ...`` and ``sw sd sb sh`` with ``.aq`` / ``.rl`` / ``.aqrl``,
  addresses ``k(rs)`` or ``(rs)``;
* ``lr.w lr.d`` and ``sc.w sc.d`` with ``.aq`` / ``.rl`` / ``.aqrl`` (``sc`` writes 0 to
  its destination on success, 1 on failure; it may always fail);
* ``amoswap amoadd amoand amoor amoxor amomax amomin`` (``.w`` / ``.d``) with the ordering
  suffixes;
* ``fence PRED,SUCC`` (``r w rw``; ``i``/``o`` ignored), ``fence`` (= ``rw,rw``),
  ``fence.tso``, ``fence.i`` (an event no RVWMO rule orders);
* ``add sub xor or and`` (and their ``w`` forms), ``addi xori ori andi`` (and ``addiw``),
  ``li``, ``mv``, ``nop``; ``beq bne blt bge bltu bgeu rs1,rs2,L``, ``beqz bnez rs,L``,
  ``j L``.

Annotations follow herd: a load's ``.aq`` is ``Acq``, a store's ``.rl`` ``Rel``, ``.aqrl``
``AcqRel``; lr/sc are also ``EX``; an amo's read and write are ``X`` and both carry its
ordering (herd makes the amo one event); fences are
``Fence.r.rw`` ... ``Fence.tso``, ``Fence.i``.
"""

from __future__ import annotations

import re

from ..errors import CoherenceError
from .dialect import CondBranch, UopInstr
from .ir import Nop

_ABI = {"zero": 0, "ra": 1, "sp": 2, "gp": 3, "tp": 4, "t0": 5, "t1": 6, "t2": 7, "s0": 8,
        "fp": 8, "s1": 9, "a0": 10, "a1": 11, "a2": 12, "a3": 13, "a4": 14, "a5": 15,
        "a6": 16, "a7": 17, "s2": 18, "s3": 19, "s4": 20, "s5": 21, "s6": 22, "s7": 23,
        "s8": 24, "s9": 25, "s10": 26, "s11": 27, "t3": 28, "t4": 29, "t5": 30, "t6": 31}
_IMM_RE = re.compile(r"^-?(0x[0-9a-f]+|\d+)$", re.I)
_LABEL_RE = re.compile(r"^[A-Za-z_.$][\w.$]*$")
_ALU = {"add": "add", "sub": "sub", "xor": "xor", "or": "or", "and": "and",
        "addw": "add", "subw": "sub", "sll": "shl", "srl": "shr", "sra": "sar"}
_ALUI = {"addi": "add", "xori": "xor", "ori": "or", "andi": "and", "addiw": "add",
         "slli": "shl", "srli": "shr", "srai": "sar"}
_BRANCH = {"beq": "e", "bne": "ne", "blt": "l", "bge": "ge", "bltu": "b", "bgeu": "ae"}
_AMO = {"amoswap": "swp", "amoadd": "add", "amoand": "and", "amoor": "or", "amoxor": "xor",
        "amomax": "max", "amomin": "min", "amomaxu": "maxu", "amominu": "minu"}
_LOADS = ("lw", "ld", "lb", "lh", "lbu", "lhu", "lwu")
_STORES = ("sw", "sd", "sb", "sh")


def canonical_reg(name: str) -> str | None:
    """``x5`` / ``t0`` -> ``x5``; None when ``name`` is not a RISC-V register."""
    n = name.lower()
    m = re.match(r"^x(\d+)$", n)
    if m and int(m.group(1)) < 32:
        return f"x{int(m.group(1))}"
    if n in _ABI:
        return f"x{_ABI[n]}"
    return None


class _Ctx:
    def __init__(self, path, line, text):
        self.path, self.line, self.text = path, line, text

    def error(self, msg):
        return CoherenceError(f"{msg} in `{self.text}`", file=self.path, line=self.line)


def _reg(s, ctx):
    """Canonical name; None for x0 (as a destination: the write is discarded)."""
    r = canonical_reg(s.strip())
    if r is None:
        raise ctx.error(f"expected a register, found `{s.strip()}`")
    return None if r == "x0" else r


def _src(s, ctx):
    r = _reg(s, ctx)
    return ("i", 0) if r is None else ("r", r)


def _imm(s, ctx):
    s = s.strip()
    if not _IMM_RE.match(s):
        raise ctx.error(f"expected an integer, found `{s}`")
    return int(s, 0)


def _address(s, ctx):
    m = re.match(r"^\s*(-?\w*)\s*\(\s*(\w+)\s*\)\s*$", s)
    if not m:
        raise ctx.error(f"expected a memory operand `k(reg)`, found `{s.strip()}`")
    disp = _imm(m.group(1), ctx) if m.group(1) else 0
    base = _reg(m.group(2), ctx)
    if base is None:
        raise ctx.error("x0 as a base address")
    return (None, disp, base, None, 1)


def _ordering(suffixes, ctx):
    """``["aq", "rl"]`` -> herd's memory order: Rlx, Acq, Rel or AcqRel."""
    s = set(suffixes)
    if not s <= {"aq", "rl", "aqrl"}:
        raise ctx.error(f"unknown suffix `.{'.'.join(suffixes)}`")
    if "aqrl" in s or s == {"aq", "rl"}:
        return "AcqRel"
    if "aq" in s:
        return "Acq"
    if "rl" in s:
        return "Rel"
    return "Rlx"


def _tags(mo):
    return frozenset() if mo == "Rlx" else frozenset({mo})


def _fence_set(s, ctx):
    s = s.strip().lower()
    s = "".join(ch for ch in s if ch in "rw") if s not in ("", ) else ""
    if s not in ("r", "w", "rw"):
        raise ctx.error("a fence orders `r`, `w` or `rw`")
    return s


def parse_instruction(text: str, path: str, line: int):
    """One RISC-V instruction -> a list of IR instructions."""
    ctx = _Ctx(path, line, text.strip())
    parts = text.strip().split(None, 1)
    full = parts[0].lower()
    ops = [o.strip() for o in parts[1].split(",")] if len(parts) > 1 else []
    pieces = full.split(".")
    mnem = pieces[0]

    def done(*uops):
        return [UopInstr(uops=tuple(uops), line=line, text=ctx.text)]

    def arity(*ns):
        if len(ops) not in ns:
            raise ctx.error(f"`{full}` takes {' or '.join(map(str, ns))} operands")

    if full == "nop":
        return [Nop(line=line, text=ctx.text)]
    if full == "fence.i":
        return done(("fence", frozenset({"Fence.i"})))
    if full == "fence.tso":
        return done(("fence", frozenset({"Fence.tso"})))
    if full == "fence":
        if not ops:
            return done(("fence", frozenset({"Fence.rw.rw"})))
        arity(2)
        p, s = _fence_set(ops[0], ctx), _fence_set(ops[1], ctx)
        return done(("fence", frozenset({f"Fence.{p}.{s}"})))
    if full == "li":
        arity(2)
        return done(("mov", _reg(ops[0], ctx), ("i", _imm(ops[1], ctx))))
    if full == "mv":
        arity(2)
        return done(("mov", _reg(ops[0], ctx), _src(ops[1], ctx)))
    if full in _ALU:
        arity(3)
        return done(("alu", _ALU[full], _reg(ops[0], ctx), _src(ops[1], ctx),
                     _src(ops[2], ctx)))
    if full in _ALUI:
        arity(3)
        return done(("alu", _ALUI[full], _reg(ops[0], ctx), _src(ops[1], ctx),
                     ("i", _imm(ops[2], ctx))))
    if full in _BRANCH:
        arity(3)
        if not _LABEL_RE.match(ops[2]):
            raise ctx.error("a branch takes a label")
        return [CondBranch(_BRANCH[full], ops[2], a=_src(ops[0], ctx), b=_src(ops[1], ctx),
                           line=line, text=ctx.text)]
    if full in ("beqz", "bnez"):
        arity(2)
        return [CondBranch("e" if full == "beqz" else "ne", ops[1], a=_src(ops[0], ctx),
                           b=("i", 0), line=line, text=ctx.text)]
    if full in ("j", "jal") and len(ops) == 1:
        return [CondBranch(None, ops[0], line=line, text=ctx.text)]
    if mnem in _LOADS:
        arity(2)
        mo = _ordering(pieces[1:], ctx)
        return done(("ld", _reg(ops[0], ctx), _address(ops[1], ctx), _tags(mo)))
    if mnem in _STORES:
        arity(2)
        mo = _ordering(pieces[1:], ctx)
        return done(("st", _address(ops[1], ctx), _src(ops[0], ctx), _tags(mo)))
    if mnem in ("lr", "sc", *_AMO):
        if len(pieces) < 2 or pieces[1] not in ("w", "d"):
            raise ctx.error(f"`{full}` needs a size `.w` or `.d`")
        mo = _ordering(pieces[2:], ctx)
        if mnem == "lr":
            arity(2)
            return done(("ldx", _reg(ops[0], ctx), _address(ops[1], ctx), _tags(mo)))
        if mnem == "sc":
            arity(3)
            return done(("stx", _reg(ops[0], ctx), _address(ops[2], ctx), _src(ops[1], ctx),
                         _tags(mo), 0, 1))
        arity(3)
        # herd makes an amo ONE event, both a read and a write, carrying the ordering;
        # here it is a read and a write (rmw), so both carry it.
        tags = frozenset({"X"}) | _tags(mo)
        return done(("amo", _AMO[mnem], _reg(ops[0], ctx), _address(ops[2], ctx),
                     _src(ops[1], ctx), tags, tags, False))
    raise ctx.error(f"unsupported RISC-V instruction `{parts[0]}`")
