"""The text assembler: ``.s`` source -> :class:`~coherence.program.Program`.

The full format reference (with an example) is ``docs/asm.md``; in short::

    .data                 ; data section (also the implicit section at the top of a file)
    x: 0                  ; a symbol of one 8-byte word, on a cache line of its own
    arr: 1 2 .zero 6      ; several words
    .packed a b=1 c       ; one-word symbols sharing one cache line (false sharing)
    .core 0               ; code of core 0 (.core 2-3, .core 0,2, .core all)
    loop: ld r1, [x]
        bne r1, 0, loop
        st [arr+r2+8], 1

Parsing is one pass over the lines into *sections* (a core selector plus statements whose
labels and symbols are still names); resolution happens after the whole file is read, so
labels and symbols may be used before they are defined.  Every mistake raises exactly one
:class:`~coherence.errors.CoherenceError` carrying the file and line: parse errors are raised
where they are found, resolution errors (undefined names, offsets outside a symbol) are
collected and the one with the smallest line number is raised.
"""

from __future__ import annotations

import difflib
import operator
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import CoherenceError
from .isa import (NFIELDS, NREGS, OP_ADD, OP_AND, OP_BEQ, OP_BGE, OP_BLT, OP_BNE, OP_CAS,
                  OP_DELAY, OP_FAA, OP_HALT, OP_JMP, OP_LD, OP_MFENCE, OP_MOV, OP_NOP, OP_OR,
                  OP_PAUSE, OP_ST, OP_SUB, OP_XCHG, OP_XOR, WORD, encode)
from .program import Program, Symbol

__all__ = ["assemble", "load_program", "MNEMONICS", "MAX_CORES", "MAX_SYMBOL_WORDS"]

MAX_CORES = 256                # the machine's limit (the directory; the buses take 1..64)
MAX_SYMBOL_WORDS = 1 << 20     # 8 MiB per symbol: a typo like `.zero 0xffffffff` is an error
MAX_DATA_WORDS = 1 << 22       # 32 MiB in all: the engine and the reference copy the image
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# Operand kinds of an instruction signature.
REG, VAL, MEM, LABEL, IMM = "rD", "reg|imm", "[addr]", "label", "imm"

_KIND_TEXT = {REG: "a register", VAL: "a register or a number", MEM: "a memory operand [addr]",
              LABEL: "a label", IMM: "a number"}

# mnemonic -> (opcode, operand kinds, usage text).  The usage is quoted in error messages.
_SIGS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "nop": (OP_NOP, (), "nop"),
    "pause": (OP_PAUSE, (), "pause"),
    "mfence": (OP_MFENCE, (), "mfence"),
    "halt": (OP_HALT, (), "halt"),
    "delay": (OP_DELAY, (IMM,), "delay N"),
    "mov": (OP_MOV, (REG, VAL), "mov rD, reg|imm"),
    "li": (OP_MOV, (REG, IMM), "li rD, imm"),
    "ld": (OP_LD, (REG, MEM), "ld rD, [addr]"),
    "st": (OP_ST, (MEM, VAL), "st [addr], reg|imm"),
    "xchg": (OP_XCHG, (REG, MEM, VAL), "xchg rD, [addr], reg|imm"),
    "faa": (OP_FAA, (REG, MEM, VAL), "faa rD, [addr], reg|imm"),
    "cas": (OP_CAS, (REG, MEM, VAL, VAL), "cas rD, [addr], cmp reg|imm, new reg|imm"),
    "add": (OP_ADD, (REG, REG, VAL), "add rD, rA, reg|imm"),
    "sub": (OP_SUB, (REG, REG, VAL), "sub rD, rA, reg|imm"),
    "and": (OP_AND, (REG, REG, VAL), "and rD, rA, reg|imm"),
    "or": (OP_OR, (REG, REG, VAL), "or rD, rA, reg|imm"),
    "xor": (OP_XOR, (REG, REG, VAL), "xor rD, rA, reg|imm"),
    "beq": (OP_BEQ, (REG, VAL, LABEL), "beq rA, reg|imm, label"),
    "bne": (OP_BNE, (REG, VAL, LABEL), "bne rA, reg|imm, label"),
    "blt": (OP_BLT, (REG, VAL, LABEL), "blt rA, reg|imm, label"),
    "bge": (OP_BGE, (REG, VAL, LABEL), "bge rA, reg|imm, label"),
    "jmp": (OP_JMP, (LABEL,), "jmp label"),
}
MNEMONICS = tuple(_SIGS)
DIRECTIVES = (".data", ".core", ".cores", ".packed")

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<dir>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>[0-9][A-Za-z0-9_]*)
  | (?P<punct>[\[\],+\-:=])
  | (?P<const>%[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
# Per-core constants: each core's copy of a `.core all` (or `.core N-M`) section gets its own
# value, so shared code can tell the cores apart without any engine support.
CONSTANTS = ("%core", "%cores")
_REGISTER = re.compile(r"[rR]([0-9]+)\Z")
_BASES = {"x": 16, "o": 8, "b": 2}


@dataclass
class _Tok:
    kind: str      # dir, id, num, punct
    text: str


@dataclass
class _Operand:
    kind: str                 # "reg", "imm", "mem", "label"
    text: str                 # as written, for messages
    value: int = 0            # register number or immediate value
    sym: str | None = None    # mem: the symbol name
    reg: int = -1             # mem: the base register
    off: int = 0              # mem: the constant byte offset
    const: str | None = None  # imm: a per-core constant (%core, %cores), resolved per copy


@dataclass
class _Insn:
    mnemonic: str
    operands: list
    line: int


@dataclass
class _Section:
    line: int
    cores: list | None            # None = all cores
    items: list = field(default_factory=list)   # ("label", name, line) | _Insn


class _Assembler:
    def __init__(self, source: str, cores: int | None):
        if cores is not None:
            try:
                if isinstance(cores, bool):
                    raise TypeError
                cores = operator.index(cores)
            except TypeError:
                raise CoherenceError(f"bad core count {cores!r}, expected an integer "
                                     f"1..{MAX_CORES}") from None
            if not 1 <= cores <= MAX_CORES:
                raise CoherenceError(f"bad core count {cores}, expected 1..{MAX_CORES}")
        self.source = source
        self.cores_arg = cores
        self.sections: list[_Section] = []
        self.section: _Section | None = None        # None = the data section
        self.symbols: list[Symbol] = []
        self.symbol_at: dict[str, int] = {}
        self.ngroups = 0
        self.cores_directive: tuple[int, int] | None = None    # (count, line)
        self.line = 0

    # -- errors ---------------------------------------------------------------------------
    def error(self, message: str, line: int | None = None) -> CoherenceError:
        return CoherenceError(message, self.source, self.line if line is None else line)

    # -- lexing ---------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[_Tok]:
        toks, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise self.error(f"unexpected character {text[pos]!r}, expected an instruction, "
                                 f"a directive, 'name:', a register, a number, '[', ']' or ','")
            pos = m.end()
            if m.lastgroup != "ws":
                toks.append(_Tok(m.lastgroup, m.group()))
        return toks

    def number(self, text: str, sign: int = 1) -> int:
        """The value of a number token (decimal, 0x hex, 0o octal, 0b binary, underscores)."""
        body, base = text, 10
        if len(text) >= 2 and text[0] == "0" and text[1].lower() in _BASES:
            body, base = text[2:], _BASES[text[1].lower()]
        try:
            if not body or body[0] == "_":
                raise ValueError
            value = sign * int(body, base)
        except ValueError:
            raise self.error(f"malformed number {text!r}, expected a decimal, 0x hex, 0o octal "
                             f"or 0b binary integer (underscores allowed between digits)"
                             ) from None
        if not INT64_MIN <= value <= INT64_MAX:
            shown = ("-" if sign < 0 else "") + text
            raise self.error(f"number {shown} out of range, expected a signed 64-bit integer "
                             f"(-2**63 .. 2**63-1)")
        return value

    def signed(self, toks: list[_Tok], i: int, what: str) -> tuple[int, int]:
        """Parse ``[+|-] NUMBER`` at toks[i]; returns (value, next index)."""
        sign = 1
        if i < len(toks) and toks[i].kind == "punct" and toks[i].text in ("+", "-"):
            sign = -1 if toks[i].text == "-" else 1
            i += 1
        if i >= len(toks) or toks[i].kind != "num":
            got = f"{toks[i].text!r}" if i < len(toks) else "end of line"
            raise self.error(f"expected {what}, got {got}")
        return self.number(toks[i].text, sign), i + 1

    def register(self, text: str) -> int | None:
        """Register number of an identifier, None when it is not register-shaped."""
        m = _REGISTER.match(text)
        if m is None:
            return None
        n = int(m.group(1))
        if n >= NREGS:
            raise self.error(f"bad register {text!r}, expected r0..r{NREGS - 1}")
        return n

    def check_name(self, name: str, what: str) -> None:
        if _REGISTER.match(name):
            raise self.error(f"bad {what} name {name!r}: register names (r0, r1, ...) are reserved")

    # -- lines ----------------------------------------------------------------------------
    def run(self, text: str) -> Program:
        for self.line, raw in enumerate(text.splitlines(), start=1):
            cut = min((p for p in (raw.find(";"), raw.find("#")) if p >= 0), default=len(raw))
            toks = self.tokenize(raw[:cut])
            if toks:
                self.statement(toks)
        return self.resolve()

    def statement(self, toks: list[_Tok]) -> None:
        head = toks[0]
        if head.kind == "dir":
            self.directive(head.text.lower(), toks[1:])
            return
        if self.section is None:
            self.data_line(toks)
            return
        i = 0
        while i + 1 < len(toks) and toks[i].kind == "id" and toks[i + 1].text == ":":
            self.check_name(toks[i].text, "label")
            self.section.items.append(("label", toks[i].text, self.line))
            i += 2
        if i == len(toks):
            return
        tok = toks[i]
        if tok.kind == "dir":
            raise self.error(f"directive {tok.text!r} after a label, expected an instruction "
                             f"(directives go on a line of their own)")
        if tok.kind != "id":
            after = f" after label '{toks[i - 2].text}:'" if i else ""
            hint = " (data belongs in a .data section)" if i and tok.kind == "num" else ""
            raise self.error(f"expected an instruction{after}, got {tok.text!r}{hint}")
        mnemonic = tok.text.lower()
        if mnemonic not in _SIGS:
            raise self.error(f"unknown instruction {tok.text!r}, expected one of "
                             f"{', '.join(MNEMONICS)}{self.suggest(mnemonic, MNEMONICS)}")
        self.section.items.append(self.instruction(mnemonic, toks[i + 1:]))

    @staticmethod
    def suggest(name: str, choices) -> str:
        close = difflib.get_close_matches(name, list(choices), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    # -- directives -----------------------------------------------------------------------
    def directive(self, name: str, args: list[_Tok]) -> None:
        if name == ".data":
            if args:
                raise self.error(f"unexpected {args[0].text!r} after .data, expected nothing")
            self.section = None
        elif name == ".core":
            self.section = _Section(self.line, self.core_spec(args))
            self.sections.append(self.section)
        elif name == ".cores":
            if self.cores_directive is not None:
                raise self.error(f"duplicate .cores directive (first at line "
                                 f"{self.cores_directive[1]})")
            n, i = self.signed(args, 0, "the number of cores after .cores")
            if i != len(args):
                raise self.error(f"unexpected {args[i].text!r} after .cores {n}, expected "
                                 f".cores N")
            if not 1 <= n <= MAX_CORES:
                raise self.error(f"bad core count {n}, expected 1..{MAX_CORES}")
            self.cores_directive = (n, self.line)
        elif name == ".packed":
            self.packed(args)
        else:
            raise self.error(f"unknown directive {name!r}, expected one of "
                             f"{', '.join(DIRECTIVES)}{self.suggest(name, DIRECTIVES)}")

    def core_spec(self, args: list[_Tok]) -> list | None:
        usage = "expected .core N, .core N-M, .core N,M,... or .core all"
        if not args:
            raise self.error(f"missing core number, {usage}")
        if len(args) == 1 and args[0].kind == "id" and args[0].text.lower() == "all":
            return None
        cores, i = [], 0
        while True:
            if i >= len(args) or args[i].kind != "num":
                got = repr(args[i].text) if i < len(args) else "end of line"
                raise self.error(f"bad core selector {got}, {usage}")
            lo = self.number(args[i].text)
            hi, i = lo, i + 1
            if i < len(args) and args[i].text == "-":
                if i + 1 >= len(args) or args[i + 1].kind != "num":
                    raise self.error(f"incomplete core range '{lo}-', {usage}")
                hi, i = self.number(args[i + 1].text), i + 2
                if hi < lo:
                    raise self.error(f"empty core range {lo}-{hi}, expected N-M with N <= M")
            if hi >= MAX_CORES:
                raise self.error(f"core {hi} out of range, expected 0..{MAX_CORES - 1}")
            cores.extend(range(lo, hi + 1))
            if i == len(args):
                break
            if args[i].text != ",":
                raise self.error(f"unexpected {args[i].text!r} in core selector, {usage}")
            i += 1
        return sorted(set(cores))

    # -- data -----------------------------------------------------------------------------
    def add_symbol(self, name: str, group: int, words: list[int]) -> None:
        self.check_name(name, "symbol")
        if name in self.symbol_at:
            first = self.symbols[self.symbol_at[name]].line
            raise self.error(f"duplicate symbol {name!r} (first defined at line {first})")
        total = sum(len(s.words) for s in self.symbols) + len(words)
        if total > MAX_DATA_WORDS:
            raise self.error(f"symbol {name!r} brings the data to {total} words, expected at "
                             f"most {MAX_DATA_WORDS} words (32 MiB) in all")
        self.symbol_at[name] = len(self.symbols)
        self.symbols.append(Symbol(name, group, tuple(words), self.line))

    def data_line(self, toks: list[_Tok]) -> None:
        head = toks[0]
        if head.kind == "id" and len(toks) > 1 and toks[1].text == ":":
            words = self.values(toks, 2, head.text)
            self.add_symbol(head.text, self.ngroups, words)
            self.ngroups += 1
            return
        if head.kind == "id" and head.text.lower() in _SIGS:
            raise self.error(f"instruction {head.text!r} outside a .core section, expected a "
                             f"'.core N' directive before it")
        raise self.error(f"unexpected {head.text!r} in the .data section, expected "
                         f"'name: value ...' (code goes after a '.core N' directive)")

    def values(self, toks: list[_Tok], i: int, name: str) -> list[int]:
        words: list[int] = []
        what = f"a value for '{name}' (a number or .zero N)"
        while i < len(toks):
            t = toks[i]
            if t.kind == "dir":
                if t.text.lower() != ".zero":
                    raise self.error(f"unknown data directive {t.text!r}, expected a number or "
                                     f".zero N")
                n, i = self.signed(toks, i + 1, "the number of words after .zero")
                if n < 1:
                    raise self.error(f"bad word count .zero {n}, expected at least 1")
                words.extend([0] * min(n, MAX_SYMBOL_WORDS + 1))
            else:
                v, i = self.signed(toks, i, what)
                words.append(v)
            if len(words) > MAX_SYMBOL_WORDS:
                raise self.error(f"symbol '{name}' too large, expected at most "
                                 f"{MAX_SYMBOL_WORDS} words")
            if i < len(toks) and toks[i].text == ",":
                i += 1
                if i == len(toks):
                    raise self.error(f"trailing ',', expected {what}")
        if not words:
            raise self.error(f"missing value after '{name}:', expected {what}")
        return words

    def packed(self, args: list[_Tok]) -> None:
        usage = "expected .packed name[=value] name[=value] ..."
        if not args:
            raise self.error(f"missing symbol names, {usage}")
        group, i = self.ngroups, 0
        while i < len(args):
            t = args[i]
            if t.kind != "id":
                raise self.error(f"unexpected {t.text!r}, {usage}")
            value, i = 0, i + 1
            if i < len(args) and args[i].text == "=":
                value, i = self.signed(args, i + 1, f"a value after '{t.text}='")
            self.add_symbol(t.text, group, [value])
            if i < len(args) and args[i].text == ",":
                i += 1
        self.ngroups += 1

    # -- instructions ---------------------------------------------------------------------
    def instruction(self, mnemonic: str, toks: list[_Tok]) -> _Insn:
        _, kinds, usage = _SIGS[mnemonic]
        ops: list[_Operand] = []
        i = 0
        while i < len(toks):
            op, i = self.operand(toks, i, mnemonic, usage)
            ops.append(op)
            if i == len(toks):
                break
            if toks[i].text != ",":
                if len(ops) < len(kinds):
                    raise self.error(f"missing comma after {op.text!r}, expected {usage}")
                raise self.error(f"unexpected {toks[i].text!r} after {op.text!r}, "
                                 f"expected {usage}")
            i += 1
            if i == len(toks):
                raise self.error(f"trailing ',', expected {usage}")
        if len(ops) != len(kinds):
            n = len(kinds)
            raise self.error(f"{mnemonic} takes {n} operand{'s' if n != 1 else ''}, got "
                             f"{len(ops)}; expected {usage}")
        for k, (op, kind) in enumerate(zip(ops, kinds), start=1):
            ok = {REG: op.kind == "reg", VAL: op.kind in ("reg", "imm"), MEM: op.kind == "mem",
                  LABEL: op.kind == "label", IMM: op.kind == "imm"}[kind]
            if not ok:
                desc = {"reg": "register", "imm": "immediate", "mem": "memory operand",
                        "label": "name"}[op.kind]
                hint = ""
                if op.kind == "label" and kind in (VAL, IMM):
                    hint = f" (to read symbol '{op.text}' write ld rD, [{op.text}])"
                elif mnemonic == "li" and op.kind == "reg":
                    hint = " (use mov to copy a register)"
                raise self.error(f"operand {k} of {mnemonic} must be {_KIND_TEXT[kind]}, "
                                 f"got {desc} "
                                 f"{op.text!r}{hint}; expected {usage}")
        if mnemonic == "delay" and ops[0].value < 0:
            raise self.error(f"negative delay {ops[0].value}, expected delay N with N >= 0")
        return _Insn(mnemonic, ops, self.line)

    def operand(self, toks: list[_Tok], i: int, mnemonic: str, usage: str
                ) -> tuple[_Operand, int]:
        t = toks[i]
        if t.kind == "id":
            reg = self.register(t.text)
            if reg is not None:
                return _Operand("reg", t.text, reg), i + 1
            return _Operand("label", t.text), i + 1
        if t.kind == "num" or t.text in ("+", "-"):
            value, j = self.signed(toks, i, f"a number after {t.text!r}")
            return _Operand("imm", "".join(x.text for x in toks[i:j]), value), j
        if t.text == "[":
            return self.memory(toks, i, usage)
        if t.kind == "const":
            name = t.text.lower()
            if name not in CONSTANTS:
                raise self.error(f"unknown constant {t.text!r}, expected {' or '.join(CONSTANTS)}"
                                 f" (the core's number, the number of cores)")
            return _Operand("imm", t.text, 0, const=name), i + 1
        raise self.error(f"unexpected {t.text!r}, expected {usage}")

    def memory(self, toks: list[_Tok], i: int, usage: str) -> tuple[_Operand, int]:
        form = "expected [sym], [sym+N], [sym+rN], [sym+rN+N], [rN] or [rN+N]"
        start, i = i, i + 1
        sym, reg, off, terms = None, -1, None, 0
        while True:
            if i >= len(toks):
                raise self.error(f"missing ']', {form}")
            t = toks[i]
            if t.text == "-" and t.kind == "punct":
                raise self.error(f"negative offset in memory operand, {form} "
                                 f"(offsets are non-negative multiples of 8)")
            if t.kind == "id":
                r = self.register(t.text)
                if r is not None:
                    if reg >= 0:
                        raise self.error(f"two registers in memory operand, {form}")
                    reg = r
                else:
                    if sym is not None:
                        raise self.error(f"two symbols in memory operand, {form}")
                    sym = t.text
            elif t.kind == "num":
                if off is not None:
                    raise self.error(f"two offsets in memory operand, {form}")
                off = self.number(t.text)
            elif t.text == "]" and terms == 0:
                raise self.error(f"empty memory operand '[]', {form}")
            else:
                raise self.error(f"unexpected {t.text!r} in memory operand, {form}")
            terms += 1
            i += 1
            if i < len(toks) and toks[i].text == "]":
                i += 1
                break
            if i < len(toks) and toks[i].text == "+":
                i += 1
                continue
            got = repr(toks[i].text) if i < len(toks) else "end of line"
            if i < len(toks) and toks[i].text == "-":
                raise self.error(f"negative offset in memory operand, {form} "
                                 f"(offsets are non-negative multiples of 8)")
            raise self.error(f"expected '+' or ']' in memory operand, got {got}; {form}")
        text = "".join(x.text for x in toks[start:i])
        if sym is None and reg < 0:
            raise self.error(f"memory operand {text} has no symbol or register, {form}")
        off = off or 0
        if off % WORD:
            raise self.error(f"offset {off} in {text} is not a multiple of {WORD}, expected "
                             f"a word-aligned byte offset")
        return _Operand("mem", text, sym=sym, reg=reg, off=off), i

    # -- resolution -----------------------------------------------------------------------
    def core_count(self) -> int:
        if not self.sections:
            raise self.error("no code: expected at least one '.core N' section",
                             max(self.line, 1))
        named = [(c, s.line) for s in self.sections if s.cores is not None for c in s.cores]
        if self.cores_arg is not None:
            n, how = self.cores_arg, f"cores={self.cores_arg} was requested"
        elif self.cores_directive is not None:
            n, how = self.cores_directive[0], f".cores {self.cores_directive[0]}"
        elif named:
            return 1 + max(c for c, _ in named)
        else:
            line = self.sections[0].line
            raise self.error("'.core all' alone does not say how many cores there are: "
                             "expected a '.cores N' directive, a numbered '.core N' section "
                             "or the cores argument (--cores)", line)
        for c, line in named:
            if c >= n:
                raise self.error(f"core {c} out of range, the program has {n} cores ({how})",
                                 line)
        return n

    def resolve(self) -> Program:
        n = self.core_count()
        self.ncores = n
        covered = set()
        for s in self.sections:
            covered.update(range(n) if s.cores is None else s.cores)
        for c in range(n):
            if c not in covered:
                later = [s.line for s in self.sections
                         if s.cores is not None and any(x > c for x in s.cores)]
                if later:
                    line = later[0]
                elif self.cores_arg is None and self.cores_directive is not None:
                    line = self.cores_directive[1]
                else:
                    line = self.sections[-1].line
                raise self.error(
                    f"core {c} has no '.core' section, expected cores numbered 0..{n - 1} "
                    f"without gaps (write an empty '.core {c}' for an idle core)", line)
        errors: list[tuple[int, str]] = []
        code, symref, lines, labels = [], [], [], []
        for c in range(n):
            items = [it for s in self.sections if s.cores is None or c in s.cores
                     for it in s.items]
            table: dict[str, tuple[int, int]] = {}
            pc = 0
            for it in items:
                if isinstance(it, _Insn):
                    pc += 1
                    continue
                _, name, line = it
                if name in table:
                    errors.append((line, f"duplicate label {name!r} in core {c} (first defined "
                                         f"at line {table[name][1]})"))
                else:
                    table[name] = (pc, line)
            insns = [it for it in items if isinstance(it, _Insn)]
            rows = np.zeros((len(insns), NFIELDS), dtype=np.int64)
            refs = np.full(len(insns), -1, dtype=np.int64)
            for k, ins in enumerate(insns):
                try:
                    rows[k], refs[k] = self.encode(ins, c, table)
                except CoherenceError as e:
                    errors.append((e.line, e.message))
            code.append(rows)
            symref.append(refs)
            lines.append(np.array([ins.line for ins in insns], dtype=np.int64))
            labels.append({name: pc for name, (pc, _) in table.items()})
        if errors:
            line, message = min(errors, key=lambda e: e[0])
            raise self.error(message, line)
        return Program(tuple(code), tuple(symref), tuple(lines), tuple(self.symbols),
                       self.source, tuple(labels))

    def encode(self, ins: _Insn, core: int, table: dict) -> tuple[np.ndarray, int]:
        self.line = ins.line
        op, kinds, _ = _SIGS[ins.mnemonic]
        f = dict(rd=-1, ra=-1, addr=0, b=0, breg=False, c=0, creg=False)
        ref = -1
        vals = []
        for o, kind in zip(ins.operands, kinds):
            if kind == MEM:
                ref = self.symbol_ref(o)
                f["ra"], f["addr"] = o.reg, o.off
            elif kind == LABEL:
                f["addr"] = self.label(o.text, core, table)
            elif kind == REG and op in (OP_BEQ, OP_BNE, OP_BLT, OP_BGE):
                f["ra"] = o.value
            elif kind == REG:
                if f["rd"] < 0:
                    f["rd"] = o.value
                else:
                    f["ra"] = o.value
            else:
                vals.append(o)
        values = [core if o.const == "%core" else self.ncores if o.const == "%cores" else o.value
                  for o in vals]
        if vals:
            f["b"], f["breg"] = values[0], vals[0].kind == "reg"
        if len(vals) > 1:
            f["c"], f["creg"] = values[1], vals[1].kind == "reg"
        return encode(op, **f), ref

    def label(self, name: str, core: int, table: dict) -> int:
        if name in table:
            return table[name][0]
        known = ", ".join(table) if table else ""
        where = f"labels in core {core}: {known}" if known else f"core {core} has no labels"
        extra = f"; '{name}' is a data symbol" if name in self.symbol_at else ""
        raise self.error(f"undefined label {name!r} ({where}){extra}")

    def symbol_ref(self, o: _Operand) -> int:
        if o.sym is None:
            return -1
        if o.sym not in self.symbol_at:
            names = list(self.symbol_at)
            known = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            where = f" (symbols: {known})" if names else " (the program defines no symbols)"
            raise self.error(f"undefined symbol {o.sym!r}{where}"
                             f"{self.suggest(o.sym, names)}")
        idx = self.symbol_at[o.sym]
        size = WORD * len(self.symbols[idx].words)
        if o.off >= size:
            raise self.error(f"offset {o.off} in {o.text} is outside symbol '{o.sym}' "
                             f"({size} bytes), expected an offset in 0..{size - WORD}")
        return idx


def assemble(text: str, source: str = "<string>", cores: int | None = None) -> Program:
    """Assemble program text (the format is in docs/asm.md) into a :class:`Program`.

    ``source`` names the text in error messages (``source:line: ...``).  ``cores``, when
    given, is the number of cores (it overrides a ``.cores`` directive and sizes
    ``.core all``); otherwise it is ``.cores N`` or one more than the highest core named.
    Raises :class:`CoherenceError` (with file and line) for any mistake in the text.
    """
    return _Assembler(source, cores).run(text)


def load_program(path, cores: int | None = None) -> Program:
    """Read and assemble a program file; ``Program.source`` is the path as given."""
    from .textfile import read_text
    name, text = read_text(path, "an assembly text file")
    return assemble(text, name, cores)
