"""herd's ``AArch64`` dialect: one instruction -> micro-ops (:mod:`.executions`).

Supported (W and X registers name the same register, printed ``X<n>``; ``WZR``/``XZR`` read
0 and discard writes; values are signed 32-bit integers, as herd's, sizes are not modelled):

* ``MOV Rd,#k|Rm``; ``ADD SUB EOR ORR AND Rd,Rn,Rm|#k`` (an optional ``,SXTW``/``UXTW``/
  ``LSL #k`` on the last operand); ``ADDS SUBS`` (flags), ``MUL LSL LSR ASR``;
  ``CMP Rn,Rm|#k``; ``CSEL CSINC Rd,Rn,Rm,cond``, ``CSET Rd,cond`` (the condition is a pick
  dependency of the result); ``NOP``;
* ``LDR LDAR LDAPR LDXR LDAXR Rt,[Xn]`` and ``STR STLR Rt,[Xn]``, ``STXR STLXR Ws,Rt,[Xn]``,
  addresses ``[Xn]``, ``[Xn,#k]``, ``[Xn,Rm{,SXTW|UXTW|LSL #k}]``, post-index ``[Xn],#k``
  and pre-index ``[Xn,#k]!``;
* ``SWP``, ``LDADD LDCLR LDEOR LDSET`` (``Rs,Rt,[Xn]``), ``STADD STCLR STEOR STSET``
  (``Rs,[Xn]``), ``CAS Rs,Rt,[Xn]``, each with the ``A``, ``L``, ``AL`` ordering variants;
* ``DMB``/``DSB`` with ``SY ISH OSH NSH`` and their ``LD``/``ST`` forms (``DMB LD`` ...),
  ``ISB``;
* ``B L``, ``B.cond L`` (``EQ NE LT LE GT GE MI PL CC LO CS HS HI LS VS VC``), ``CBZ``/``CBNZ Rn,L``,
  ``TBZ``/``TBNZ Rn,#bit,L``.

Events carry herd's annotations: ``A`` (acquire: LDAR, LDAXR, the read of the ``A``
variants), ``Q`` (LDAPR), ``L`` (release: STLR, STLXR, the write of the ``L`` variants),
``X`` (both events of an atomic instruction), ``EX`` (exclusives), ``NoRet`` (the read of an
atomic whose destination is the zero register), ``DMB.ISH`` ... ``ISB`` (fences).
"""

from __future__ import annotations

import re

from ..errors import CoherenceError
from .dialect import CondBranch, UopInstr
from .ir import Nop

_REG_RE = re.compile(r"^([XW])(\d+)$|^([XW])ZR$|^SP$|^WSP$", re.I)
_IMM_RE = re.compile(r"^#?(-?(0x[0-9a-f]+|\d+))$", re.I)
_LABEL_RE = re.compile(r"^[A-Za-z_.$][\w.$]*$")
_CONDS = {"EQ": "e", "NE": "ne", "LT": "l", "LE": "le", "GT": "g", "GE": "ge", "MI": "s",
          "PL": "ns", "CC": "b", "LO": "b", "CS": "ae", "HS": "ae", "HI": "a", "LS": "be",
          "VS": "vs", "VC": "vc"}
_ALU = {"ADD": "add", "SUB": "sub", "EOR": "xor", "ORR": "or", "AND": "and"}
_ATOMIC_OPS = {"SWP": "swp", "LDADD": "add", "LDCLR": "clr", "LDEOR": "xor", "LDSET": "or",
               "STADD": "add", "STCLR": "clr", "STEOR": "xor", "STSET": "or"}
_BARRIER_DOMAINS = ("SY", "ISH", "OSH", "NSH")


class _Ctx:
    def __init__(self, path, line, text):
        self.path, self.line, self.text = path, line, text

    def error(self, msg):
        return CoherenceError(f"{msg} in `{self.text}`", file=self.path, line=self.line)


def _split(s: str) -> list[str]:
    """Operands split on commas outside brackets."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _reg(s, ctx, what="a register"):
    """Canonical register name, or None for the zero register."""
    m = _REG_RE.match(s.strip())
    if not m:
        raise ctx.error(f"expected {what}, found `{s}`")
    if m.group(2) is not None:
        n = int(m.group(2))
        if n > 30:
            raise ctx.error(f"no register `{s}`")
        return f"X{n}"
    if m.group(3) is not None:
        return None
    return "SP"


def _operand(s, ctx):
    s = s.strip()
    m = _IMM_RE.match(s)
    if m and (s.startswith("#") or s.lstrip("-").isdigit()):
        return ("i", int(m.group(1), 0))
    r = _reg(s, ctx, "a register or `#imm`")
    return ("i", 0) if r is None else ("r", r)


def _shift(ext, ctx):
    """``SXTW`` / ``UXTW`` / ``LSL #k`` -> the scale factor."""
    e = ext.strip().upper()
    if e in ("SXTW", "UXTW", "SXTX", "UXTX"):
        return 1
    m = re.match(r"^(LSL|SXTW|UXTW)\s*#?(\d+)$", e)
    if m:
        return 1 << int(m.group(2))
    raise ctx.error(f"unsupported operand extension `{ext}`")


def _address_wb(ops, k, ctx):
    """The memory operand at ``ops[k]`` and its base-register update: ``[Xn],#i``
    (post-index, consumes ``ops[k+1]``) or ``[Xn,#i]!`` (pre-index) -> (address, uops to
    run after the access, uops to run before it, operands consumed)."""
    s = ops[k].strip()
    if s.endswith("!"):
        a = _address(s[:-1], ctx)
        if a[3] is not None:
            raise ctx.error("pre-index with a register offset")
        pre = (("alu", "add", a[2], ("r", a[2]), ("i", a[1])),)
        return (None, 0, a[2], None, 1), (), pre, 1
    a = _address(s, ctx)
    if len(ops) > k + 1:
        m = _IMM_RE.match(ops[k + 1].strip())
        if not m or a[1] or a[3] is not None:
            raise ctx.error(f"bad post-index `{ops[k + 1]}`")
        post = (("alu", "add", a[2], ("r", a[2]), ("i", int(m.group(1), 0))),)
        return a, post, (), 2
    return a, (), (), 1


def _address(s, ctx):
    s = s.strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise ctx.error(f"expected a memory operand `[Xn...]`, found `{s}`")
    parts = _split(s[1:-1])
    if not parts or len(parts) > 3:
        raise ctx.error(f"bad memory operand `{s}`")
    base = _reg(parts[0], ctx, "a base register")
    if base is None:
        raise ctx.error("the zero register as a base address")
    if len(parts) == 1:
        return (None, 0, base, None, 1)
    m = _IMM_RE.match(parts[1].strip())
    if m:
        if len(parts) == 3:
            raise ctx.error(f"bad memory operand `{s}`")
        return (None, int(m.group(1), 0), base, None, 1)
    idx = _reg(parts[1], ctx, "an index register")
    scale = _shift(parts[2], ctx) if len(parts) == 3 else 1
    if idx is None:
        return (None, 0, base, None, 1)
    return (None, 0, base, idx, scale)


def _variant(mnem, stem):
    """``SWPAL`` -> (acquire, release) for stem ``SWP``; None when ``mnem`` is not one."""
    if not mnem.startswith(stem):
        return None
    rest = mnem[len(stem):]
    table = {"": (False, False), "A": (True, False), "L": (False, True), "AL": (True, True)}
    # herd also writes the byte/half forms (SWPB ...): mixed sizes are not supported.
    return table.get(rest)


def parse_instruction(text: str, path: str, line: int):
    """One AArch64 instruction -> a list of IR instructions (one :class:`UopInstr` or a
    branch)."""
    ctx = _Ctx(path, line, text.strip())
    s = text.strip()
    parts = s.split(None, 1)
    mnem = parts[0].upper()
    ops = _split(parts[1]) if len(parts) > 1 else []

    def done(*uops):
        return [UopInstr(uops=tuple(uops), line=line, text=ctx.text)]

    def arity(*ns):
        if len(ops) not in ns:
            raise ctx.error(f"`{mnem}` takes {' or '.join(map(str, ns))} operands")

    if mnem == "NOP":
        return [Nop(line=line, text=ctx.text)]
    if mnem == "MOV":
        arity(2)
        dst = _reg(ops[0], ctx)
        return done(("mov", dst, _operand(ops[1], ctx)))
    if mnem in _ALU:
        arity(3, 4)
        dst, a = _reg(ops[0], ctx), _operand(ops[1], ctx)
        b = _operand(ops[2], ctx)
        if len(ops) == 4:
            k = _shift(ops[3], ctx)
            if k != 1:
                if b[0] == "i":
                    b = ("i", b[1] * k)
                else:
                    return done(("alu", "shl", ".s", b, ("i", k.bit_length() - 1)),
                                ("alu", _ALU[mnem], dst, a, ("r", ".s")))
        return done(("alu", _ALU[mnem], dst, a, b))
    if mnem == "CMP":
        arity(2)
        return done(("cmp", _operand(ops[0], ctx), _operand(ops[1], ctx)))
    if mnem in ("LDR", "LDAR", "LDAPR", "LDXR", "LDAXR"):
        arity(2, 3)
        dst = _reg(ops[0], ctx)
        a, post, pre, _k = _address_wb(ops, 1, ctx)
        tags = {"LDAR": {"A"}, "LDAPR": {"Q"}, "LDAXR": {"A"}}.get(mnem, set())
        kind = "ldx" if mnem in ("LDXR", "LDAXR") else "ld"
        return done(*pre, (kind, dst, a, frozenset(tags)), *post)
    if mnem in ("STR", "STLR"):
        arity(2, 3)
        src = _operand(ops[0], ctx)
        a, post, pre, _k = _address_wb(ops, 1, ctx)
        return done(*pre, ("st", a, src, frozenset({"L"} if mnem == "STLR" else ())), *post)
    if mnem in ("ADDS", "SUBS"):
        # the flags of CMP: from Rn - Rm (SUBS) or from the result against 0 (ADDS)
        arity(3)
        dst, a, b = _reg(ops[0], ctx), _operand(ops[1], ctx), _operand(ops[2], ctx)
        op = "add" if mnem == "ADDS" else "sub"
        if mnem == "SUBS":
            return done(("cmp", a, b), ("alu", op, dst, a, b))
        return done(("alu", op, ".r", a, b), ("cmp", ("r", ".r"), ("i", 0)),
                    ("mov", dst, ("r", ".r")))
    if mnem in ("MUL", "LSL", "LSR", "ASR"):
        arity(3)
        op = {"MUL": "mul", "LSL": "shl", "LSR": "shr", "ASR": "sar"}[mnem]
        return done(("alu", op, _reg(ops[0], ctx), _operand(ops[1], ctx),
                     _operand(ops[2], ctx)))
    if mnem in ("CSEL", "CSINC"):
        arity(4)
        c = _CONDS.get(ops[3].strip().upper())
        if c is None:
            raise ctx.error(f"unsupported condition `{ops[3]}`")
        b = _operand(ops[2], ctx)
        if mnem == "CSINC":
            return done(("alu", "add", ".c", b, ("i", 1)),
                        ("csel", c, _reg(ops[0], ctx), _operand(ops[1], ctx), ("r", ".c")))
        return done(("csel", c, _reg(ops[0], ctx), _operand(ops[1], ctx), b))
    if mnem == "CSET":
        arity(2)
        c = _CONDS.get(ops[1].strip().upper())
        if c is None:
            raise ctx.error(f"unsupported condition `{ops[1]}`")
        return done(("csel", c, _reg(ops[0], ctx), ("i", 1), ("i", 0)))
    if mnem in ("STXR", "STLXR"):
        arity(3)
        status = _reg(ops[0], ctx)
        src, a = _operand(ops[1], ctx), _address(ops[2], ctx)
        tags = frozenset({"L"} if mnem == "STLXR" else ())
        return done(("stx", status, a, src, tags, 0, 1))
    for stem in ("SWP", "LDADD", "LDCLR", "LDEOR", "LDSET", "STADD", "STCLR", "STEOR",
                 "STSET", "CAS"):
        v = _variant(mnem, stem)
        if v is None:
            continue
        acq, rel = v
        if stem.startswith("ST"):
            if acq:
                raise ctx.error(f"`{mnem}` does not exist (ST<op> has no acquire form)")
            arity(2)
            src, dst, a = _operand(ops[0], ctx), None, _address(ops[1], ctx)
        else:
            arity(3)
            src, dst, a = _operand(ops[0], ctx), _reg(ops[1], ctx), _address(ops[2], ctx)
        # An atomic whose destination is the zero register returns nothing: NoRet, and
        # the Arm ARM gives its acquire form no acquire semantics.
        noret = (_reg(ops[0], ctx) if stem == "CAS" else dst) is None
        rtags = {"X"} | ({"A"} if acq and not noret else set())
        wtags = {"X"} | ({"L"} if rel else set())
        if stem == "CAS":
            # CAS Rs,Rt,[Xn]: compare with Rs, store Rt if equal; Rs gets the old value.
            exp = src
            new = _operand(ops[1], ctx)
            res = _reg(ops[0], ctx)
            if res is None:
                rtags.add("NoRet")
            return done(("cas", exp, res, a, new, frozenset(rtags), frozenset(wtags), False,
                         True))
        if dst is None:
            rtags.add("NoRet")
        return done(("amo", _ATOMIC_OPS[stem], dst, a, src, frozenset(rtags),
                     frozenset(wtags), False))
    if mnem in ("DMB", "DSB"):
        arity(1)
        opt = ops[0].upper()
        valid = set(_BARRIER_DOMAINS) | {d + k for d in _BARRIER_DOMAINS[1:] for k in
                                          ("LD", "ST")} | {"LD", "ST"}
        if opt not in valid:
            raise ctx.error(f"unknown barrier option `{ops[0]}`")
        return done(("fence", frozenset({f"{mnem}.{opt}"})))
    if mnem == "ISB":
        return done(("fence", frozenset({"ISB"})))
    if mnem == "B":
        arity(1)
        if not _LABEL_RE.match(ops[0]):
            raise ctx.error("a branch takes a label")
        return [CondBranch(None, ops[0], line=line, text=ctx.text)]
    if mnem.startswith("B."):
        arity(1)
        c = _CONDS.get(mnem[2:])
        if c is None:
            raise ctx.error(f"unsupported branch condition `{mnem[2:]}`")
        return [CondBranch(c, ops[0], a=("r", ".fa"), b=("r", ".fb"), line=line,
                           text=ctx.text)]
    if mnem in ("TBZ", "TBNZ"):
        arity(3)
        m = _IMM_RE.match(ops[1].strip())
        if not m:
            raise ctx.error("TBZ/TBNZ take a bit number `#k`")
        bit = int(m.group(1), 0)
        pre = (("alu", "shr", ".t", _operand(ops[0], ctx), ("i", bit)),
               ("alu", "and", ".t", ("r", ".t"), ("i", 1)))
        return [UopInstr(uops=pre, line=line, text=ctx.text),
                CondBranch("e" if mnem == "TBZ" else "ne", ops[2], a=("r", ".t"), b=("i", 0),
                           line=line, text=ctx.text)]
    if mnem in ("CBZ", "CBNZ"):
        arity(2)
        r = _operand(ops[0], ctx)
        return [CondBranch("e" if mnem == "CBZ" else "ne", ops[1], a=r, b=("i", 0), line=line,
                           text=ctx.text)]
    raise ctx.error(f"unsupported AArch64 instruction `{parts[0]}`")
