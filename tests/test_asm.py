"""The text assembler: every documented form, the layout, every error with its file:line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coherence import isa
from coherence.asm import MNEMONICS, assemble, load_program
from coherence.errors import CoherenceError
from coherence.isa import (F_ADDR, F_B, F_BREG, F_C, F_CREG, F_OP, F_RA, F_RD, NFIELDS,
                           disassemble, encode)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "asm.md"

DATA = """\
.data
x: 0
y: 5
arr: 1 2 3 4
"""


def one(line: str, data: str = DATA):
    """Assemble a single instruction on core 0; returns (row, symbol name or None)."""
    p = assemble(data + ".core 0\n" + line + "\n", "t.s")
    assert p.cores == 1 and len(p.code[0]) == 1
    ref = int(p.symref[0][0])
    return p.code[0][0], (p.symbols[ref].name if ref >= 0 else None)


# -- every instruction form -------------------------------------------------------------------

FORMS = [
    ("nop", encode(isa.OP_NOP), None),
    ("pause", encode(isa.OP_PAUSE), None),
    ("mfence", encode(isa.OP_MFENCE), None),
    ("halt", encode(isa.OP_HALT), None),
    ("delay 7", encode(isa.OP_DELAY, b=7), None),
    ("delay 0", encode(isa.OP_DELAY, b=0), None),
    ("li r1, 1", encode(isa.OP_MOV, rd=1, b=1), None),
    ("li r15, -5", encode(isa.OP_MOV, rd=15, b=-5), None),
    ("mov r2, r1", encode(isa.OP_MOV, rd=2, b=1, breg=True), None),
    ("mov r2, 0x10", encode(isa.OP_MOV, rd=2, b=16), None),
    ("st [x], r1", encode(isa.OP_ST, addr=0, b=1, breg=True), "x"),
    ("st [x], 3", encode(isa.OP_ST, addr=0, b=3), "x"),
    ("st [arr+8], r1", encode(isa.OP_ST, addr=8, b=1, breg=True), "arr"),
    ("st [arr+24], -1", encode(isa.OP_ST, addr=24, b=-1), "arr"),
    ("ld r2, [y]", encode(isa.OP_LD, rd=2, addr=0), "y"),
    ("ld r2, [arr+16]", encode(isa.OP_LD, rd=2, addr=16), "arr"),
    ("ld r3, [arr+r4]", encode(isa.OP_LD, rd=3, ra=4, addr=0), "arr"),
    ("ld r3, [arr+r4+8]", encode(isa.OP_LD, rd=3, ra=4, addr=8), "arr"),
    ("ld r3, [r4+arr]", encode(isa.OP_LD, rd=3, ra=4, addr=0), "arr"),
    ("ld r3, [8+arr]", encode(isa.OP_LD, rd=3, addr=8), "arr"),
    ("ld r3, [r4]", encode(isa.OP_LD, rd=3, ra=4, addr=0), None),
    ("ld r3, [r4+64]", encode(isa.OP_LD, rd=3, ra=4, addr=64), None),
    ("st [r5+8], r6", encode(isa.OP_ST, ra=5, addr=8, b=6, breg=True), None),
    ("xchg r3, [x], 1", encode(isa.OP_XCHG, rd=3, addr=0, b=1), "x"),
    ("xchg r3, [arr+r1+8], r2", encode(isa.OP_XCHG, rd=3, ra=1, addr=8, b=2, breg=True), "arr"),
    ("cas r4, [x], 0, 1", encode(isa.OP_CAS, rd=4, addr=0, b=0, c=1), "x"),
    ("cas r4, [y], r1, r2", encode(isa.OP_CAS, rd=4, addr=0, b=1, breg=True, c=2, creg=True),
     "y"),
    ("cas r4, [x], r1, 9", encode(isa.OP_CAS, rd=4, b=1, breg=True, c=9), "x"),
    ("faa r5, [x], 1", encode(isa.OP_FAA, rd=5, b=1), "x"),
    ("faa r5, [x], r7", encode(isa.OP_FAA, rd=5, b=7, breg=True), "x"),
    ("add r6, r5, 1", encode(isa.OP_ADD, rd=6, ra=5, b=1), None),
    ("sub r6, r5, r4", encode(isa.OP_SUB, rd=6, ra=5, b=4, breg=True), None),
    ("and r0, r1, 0xff", encode(isa.OP_AND, rd=0, ra=1, b=255), None),
    ("or r0, r1, r2", encode(isa.OP_OR, rd=0, ra=1, b=2, breg=True), None),
    ("xor r0, r1, -1", encode(isa.OP_XOR, rd=0, ra=1, b=-1), None),
    ("l: beq r3, 0, l", encode(isa.OP_BEQ, ra=3, b=0, addr=0), None),
    ("l: bne r3, r4, l", encode(isa.OP_BNE, ra=3, b=4, breg=True, addr=0), None),
    ("l: blt r3, 5, l", encode(isa.OP_BLT, ra=3, b=5, addr=0), None),
    ("l: bge r3, r0, l", encode(isa.OP_BGE, ra=3, b=0, breg=True, addr=0), None),
    ("l: jmp l", encode(isa.OP_JMP, addr=0), None),
    # case-insensitive mnemonics and registers
    ("LD R2, [y]", encode(isa.OP_LD, rd=2, addr=0), "y"),
    ("Xchg r3, [X_], 1", encode(isa.OP_XCHG, rd=3, b=1), "X_"),
]


@pytest.mark.parametrize("line,row,sym", FORMS, ids=[f[0] for f in FORMS])
def test_every_form_encodes(line, row, sym):
    got, gotsym = one(line, DATA + "X_: 0\n")
    assert got.dtype == np.int64 and got.shape == (NFIELDS,)
    assert got.tolist() == row.tolist(), (disassemble(got), disassemble(row))
    assert gotsym == sym


def test_field_layout_of_a_full_row():
    row, sym = one("cas r4, [arr+r9+16], r1, 7")
    assert sym == "arr"
    assert row[F_OP] == isa.OP_CAS and row[F_RD] == 4 and row[F_RA] == 9 and row[F_ADDR] == 16
    assert row[F_BREG] == 1 and row[F_B] == 1 and row[F_CREG] == 0 and row[F_C] == 7


def test_issue_example_program():
    text = """\
; comment            (also '#' comments)
.data
x: 0              ; one 8-byte word
y: 0
arr: 0 0 0 0      # several words
buf: .zero 16
.packed a b c
.packed d=1 e=2
.core 0
    li   r1, 1
    mov  r2, r1
    st   [x], r1
    ld   r2, [y]
    ld   r3, [arr+r4]
    mfence
    xchg r3, [x], 1
    cas  r4, [x], 0, 1
    faa  r5, [x], 1
    add  r6, r5, 1
loop:
    bne  r3, 0, loop
    pause
.core 1
    nop
    delay 3
    halt
.core 2-3
spin: ld r1, [a]
    beq r1, 0, spin
    jmp spin
"""
    p = assemble(text, "issue.s")
    assert p.cores == 4 and p.source == "issue.s"
    assert [len(c) for c in p.code] == [12, 3, 3, 3]
    assert p.labels[0] == {"loop": 10}
    assert p.labels[2] == p.labels[3] == {"spin": 0}
    assert p.code[0][10].tolist() == encode(isa.OP_BNE, ra=3, b=0, addr=10).tolist()
    assert p.lines[0].tolist() == list(range(10, 20)) + [21, 22]
    assert p.lines[1].tolist() == [24, 25, 26]
    assert p.lines[2].tolist() == p.lines[3].tolist() == [28, 29, 30]
    # cores 2 and 3 get equal, independent copies
    assert np.array_equal(p.code[2], p.code[3]) and p.code[2] is not p.code[3]
    for c in range(4):
        assert p.code[c].dtype == np.int64 and p.code[c].shape[1] == NFIELDS
        assert p.symref[c].dtype == np.int64 and len(p.symref[c]) == len(p.code[c])
    assert p.listing().splitlines()[0] == ".core 0"


# -- data and layout --------------------------------------------------------------------------

def test_symbols_groups_and_values():
    p = assemble("""\
x: 0
arr: 1, 2, -3 0x4
buf: .zero 3
mix: 7 .zero 2 9
.packed a b c
.packed d=1, e=-2
z: 0b11
.core 0
""")
    s = {sym.name: sym for sym in p.symbols}
    assert p.symbol_names == ["x", "arr", "buf", "mix", "a", "b", "c", "d", "e", "z"]
    assert s["arr"].words == (1, 2, -3, 4)
    assert s["buf"].words == (0, 0, 0)
    assert s["mix"].words == (7, 0, 0, 9)
    assert s["d"].words == (1,) and s["e"].words == (-2,) and s["a"].words == (0,)
    assert s["z"].words == (3,)
    groups = [sym.group for sym in p.symbols]
    assert groups == [0, 1, 2, 3, 4, 4, 4, 5, 5, 6]
    assert [sym.line for sym in p.symbols] == [1, 2, 3, 4, 5, 5, 5, 6, 6, 7]


def test_link_each_symbol_its_own_line_packed_share_one():
    p = assemble("""\
.data
x: 0
y: 1
arr: 1 2 3 4 5 6 7 8 9
.packed a b=2 c
.packed d=4 e=5
w: 6
.core 0
  ld r1, [y]
  st [arr+64], 1
  ld r2, [c]
  ld r3, [e]
""")
    L = p.link(64)
    assert L.addresses == {"x": 0, "y": 64, "arr": 128, "a": 256, "b": 264, "c": 272,
                           "d": 320, "e": 328, "w": 384}
    assert L.memory.tolist()[:2] == [0, 0]
    assert L.memory[64 // 8] == 1 and L.memory[128 // 8 + 8] == 9
    assert L.memory[264 // 8] == 2 and L.memory[320 // 8:330 // 8 + 1].tolist() == [4, 5]
    assert L.code[:, F_ADDR].tolist() == [64, 128 + 64, 272, 328]
    assert {a // 64 for a in (L.addresses["a"], L.addresses["b"], L.addresses["c"])} == {4}
    L32 = p.link(32)
    assert L32.addresses["y"] == 32 and L32.addresses["arr"] == 64
    assert L32.addresses["a"] == 64 + 96 and L32.addresses["c"] == 64 + 96 + 16


def test_symbols_and_labels_used_before_definition():
    p = assemble("""\
.core 0
    jmp end
    ld r1, [late]
end:
.data
late: 42
""")
    assert p.code[0][0][F_ADDR] == 2 and p.labels[0] == {"end": 2}
    assert p.symbol_names == ["late"] and int(p.symref[0][1]) == 0


def test_data_section_may_repeat_and_packed_anywhere():
    p = assemble(".data\na: 1\n.core 0\n nop\n.data\nb: 2\n.core 1\n.packed c d\n nop\n")
    assert p.symbol_names == ["a", "b", "c", "d"] and p.cores == 2
    assert [len(c) for c in p.code] == [1, 1]


# -- labels and cores -------------------------------------------------------------------------

def test_label_same_line_stacked_and_at_end():
    p = assemble(".core 0\nloop: ld r1, [x]\na: b:\n  bne r1, 0, loop\nfin:\n.data\nx: 0\n")
    assert p.labels[0] == {"loop": 0, "a": 1, "b": 1, "fin": 2}


def test_labels_are_per_core():
    p = assemble(".core 0\nl: nop\n jmp l\n.core 1\n nop\nl: nop\n jmp l\n")
    assert p.code[0][1][F_ADDR] == 0 and p.code[1][2][F_ADDR] == 1


def test_empty_core_allowed():
    p = assemble(".core 0\n.core 1\n halt\n")
    assert p.code[0].shape == (0, NFIELDS) and len(p.symref[0]) == 0 and len(p.lines[0]) == 0
    p.link(64)
    assert ".core 0" in p.listing()


def test_core_selectors_and_core_count():
    p = assemble(".core 0,2\n nop\n.core 1, 3-4\n halt\n")
    ops = [[int(r[F_OP]) for r in c] for c in p.code]
    assert ops == [[isa.OP_NOP], [isa.OP_HALT], [isa.OP_NOP], [isa.OP_HALT], [isa.OP_HALT]]
    # .core all covers every core and sections concatenate in file order
    p = assemble(".core 1\n halt\n.core all\n nop\n.core 0\n pause\n")
    ops = [[int(r[F_OP]) for r in c] for c in p.code]
    assert ops == [[isa.OP_NOP, isa.OP_PAUSE], [isa.OP_HALT, isa.OP_NOP]]
    # .cores N and the cores argument size .core all
    text = ".cores 3\n.core all\nl: jmp l\n"
    assert assemble(text).cores == 3
    assert assemble(text, cores=5).cores == 5
    assert assemble(".core all\n nop\n", cores=np.int64(2)).cores == 2
    assert assemble(".CORE ALL\n nop\n", cores=1).cores == 1


# -- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("0", 0), ("42", 42), ("-5", -5), ("+5", 5), ("007", 7), ("0x2A", 42), ("0X2a", 42),
    ("-0x10", -16), ("0o17", 15), ("0b101", 5), ("1_000_000", 1_000_000),
    ("0xffff_ffff", 0xFFFF_FFFF), ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -2**63), ("-0x8000_0000_0000_0000", -2**63), ("- 3", -3),
])
def test_numbers(text, value):
    row, _ = one(f"mov r1, {text}")
    assert row[F_B] == value and row[F_BREG] == 0


# -- errors: exact file:line and message -------------------------------------------------------

ERRORS = [
    # (text, line, message fragment)
    (".core 0\n  lod r1, [x]\n", 2,
     "unknown instruction 'lod', expected one of " + ", ".join(MNEMONICS)),
    (".core 0\nloop: nop\ndone: nop\n  bne r1, 0, lop\n", 4,
     "undefined label 'lop' (labels in core 0: loop, done)"),
    (".core 0\n  jmp x\n.core 1\nx: nop\n", 2, "undefined label 'x' (core 0 has no labels)"),
    (".core 0\n  ld r1, [z]\n", 2, "undefined symbol 'z'"),
    ("x: 0\n.core 0\n  nop\n  ld r1, [z]\n", 4, "undefined symbol 'z' (symbols: x)"),
    (".core 0\n  mov r16, 1\n", 2, "bad register 'r16', expected r0..r15"),
    (".core 0\n  ld r1, [x+r99]\n.data\nx: 0\n", 2, "bad register 'r99', expected r0..r15"),
    (".core 0\n  mov r1, 0x\n", 2, "malformed number '0x'"),
    (".core 0\n  mov r1, 12ab\n", 2, "malformed number '12ab'"),
    (".core 0\n  mov r1, 1__0\n", 2, "malformed number '1__0'"),
    (".core 0\n  mov r1, 0x_1\n", 2, "malformed number '0x_1'"),
    ("x: 0b2\n.core 0\n", 1, "malformed number '0b2'"),
    (".core 0\n  mov r1, 9223372036854775808\n", 2, "out of range, expected a signed 64-bit"),
    (".core 0\n  mov r1, 0xffffffffffffffff\n", 2, "out of range"),
    (".core 0\n  mov r1, -9223372036854775809\n", 2, "out of range"),
    (".core 0\na: nop\n\na: nop\n", 4, "duplicate label 'a' in core 0 (first defined at line 2)"),
    (".core 0-1\na: nop\n.core 1\na: nop\n", 4, "duplicate label 'a' in core 1"),
    ("x: 0\ny: 0\nx: 1\n.core 0\n", 3, "duplicate symbol 'x' (first defined at line 1)"),
    ("x: 0\n.packed a x\n.core 0\n", 2, "duplicate symbol 'x'"),
    (".core 0\n  st r1, [x]\n.data\nx: 0\n", 2, "expected st [addr], reg|imm"),
    (".core 0\n  st r1, [x]\n.data\nx: 0\n", 2, "operand 1 of st must be a memory operand"),
    (".core 0\n  ld r1 [x]\n.data\nx: 0\n", 2, "missing comma after 'r1', expected ld rD, [addr]"),
    (".core 0\n  st [x] 1\n.data\nx: 0\n", 2, "missing comma after '[x]'"),
    (".core 0\n  cas r1, [x], 1 2\n.data\nx: 0\n", 2, "missing comma after '1'"),
    (".core 0\n  add r1, r2,\n", 2, "trailing ','"),
    (".core 0\n  halt r1\n", 2, "halt takes 0 operands, got 1; expected halt"),
    (".core 0\n  ld r1\n", 2, "ld takes 2 operands, got 1; expected ld rD, [addr]"),
    (".core 0\n  cas r1, [x], 1\n.data\nx: 0\n", 2, "cas takes 4 operands, got 3"),
    (".core 0\n  add r1, 5, 1\n", 2, "operand 2 of add must be a register, got immediate '5'"),
    (".core 0\n  mov r1, x\n.data\nx: 0\n", 2, "write ld rD, [x]"),
    (".core 0\n  beq r1, 0, 5\n", 2, "operand 3 of beq must be a label"),
    (".core 0\n  jmp [x]\n", 2, "operand 1 of jmp must be a label"),
    (".core 0\n  li r1, r2\n", 2, "operand 2 of li must be a number"),
    (".core 0\n  delay r1\n", 2, "operand 1 of delay must be a number"),
    (".core 0\n  delay -1\n", 2, "negative delay -1"),
    (".core 0\n  ld r1, [x-8]\n.data\nx: 0 0\n", 2, "negative offset"),
    (".core 0\n  ld r1, [x+-8]\n.data\nx: 0 0\n", 2, "negative offset"),
    (".core 0\n  ld r1, [x+4]\n.data\nx: 0 0\n", 2, "offset 4 in [x+4] is not a multiple of 8"),
    (".core 0\n  ld r1, [x+16]\n.data\nx: 0 0\n", 2,
     "offset 16 in [x+16] is outside symbol 'x' (16 bytes)"),
    (".core 0\n  ld r1, [x+r1+16]\n.data\nx: 0 0\n", 2, "outside symbol 'x'"),
    (".core 0\n  ld r1, [8]\n", 2, "has no symbol or register"),
    (".core 0\n  ld r1, []\n", 2, "empty memory operand"),
    (".core 0\n  ld r1, [x\n", 2, "expected '+' or ']'"),
    (".core 0\n  ld r1, [x y]\n", 2, "expected '+' or ']'"),
    (".core 0\n  ld r1, [x+y]\n", 2, "two symbols"),
    (".core 0\n  ld r1, [r1+r2]\n", 2, "two registers"),
    (".core 0\n  ld r1, [x+8+8]\n.data\nx: 0 0 0\n", 2, "two offsets"),
    ("\n  ld r1, [x]\n", 2, "instruction 'ld' outside a .core section"),
    (".core 0\n.data\n  add r1, r1, 1\n", 3, "instruction 'add' outside a .core section"),
    (".data\nfoo bar\n", 2, "unexpected 'foo' in the .data section"),
    (".data\nx:\n", 2, "missing value after 'x:'"),
    (".data\nx: y\n", 2, "expected a value for 'x'"),
    (".data\nx: .zero 0\n", 2, "bad word count .zero 0"),
    (".data\nx: .fill 3\n", 2, "unknown data directive '.fill'"),
    (".data\nx: 1,\n", 2, "trailing ','"),
    (".data\nr1: 0\n", 2, "bad symbol name 'r1'"),
    (".core 0\nr2: nop\n", 2, "bad label name 'r2'"),
    (".core 0\nx: 5\n", 2, "data belongs in a .data section"),
    (".core 0\n  nop @\n", 2, "unexpected character '@'"),
    (".core 0\n.core 2\n", 2, "core 1 has no '.core' section"),
    (".core 0\n\n.core 3\n.core 1\n", 3, "core 2 has no '.core' section"),
    (".cores 3\n.core 0\n.core 1\n", 1, "core 2 has no '.core' section"),
    (".cores 2\n.core 3\n", 2, "core 3 out of range, the program has 2 cores"),
    (".cores 2\n.cores 2\n", 2, "duplicate .cores directive (first at line 1)"),
    (".cores 0\n", 1, "bad core count 0"),
    (".cores 257\n", 1, "bad core count 257"),
    ("; nothing\n\n.core all\n nop\n", 3, "'.core all' alone does not say how many cores"),
    (".core\n", 1, "missing core number"),
    (".core 256\n", 1, "core 256 out of range, expected 0..255"),
    (".core 3-1\n", 1, "empty core range 3-1"),
    (".core 1-\n", 1, "incomplete core range"),
    (".core x\n", 1, "bad core selector 'x'"),
    (".core 0 1\n", 1, "unexpected '1' in core selector"),
    (".data 1\n", 1, "unexpected '1' after .data"),
    (".text\n", 1, "unknown directive '.text', expected one of .data, .core, .cores, .packed"),
    (".packed\n", 1, "missing symbol names"),
    (".packed a 1\n", 1, "unexpected '1'"),
    (".core 0\nl: .data\n", 2, "directive '.data' after a label"),
    ("x: 1\n", 1, "no code: expected at least one '.core N' section"),
    ("", 1, "no code"),
]


@pytest.mark.parametrize("text,line,fragment", ERRORS, ids=[f"{i}" for i in range(len(ERRORS))])
def test_errors_have_file_line_and_message(text, line, fragment):
    with pytest.raises(CoherenceError) as info:
        assemble(text, "prog.s")
    e = info.value
    assert e.file == "prog.s" and e.line == line, str(e)
    assert str(e).startswith(f"prog.s:{line}: "), str(e)
    assert fragment in e.message, str(e)
    assert "\n" not in str(e)


def test_first_resolution_error_by_line():
    # two undefined names: the earlier line is reported, even across cores
    text = ".core 0\n nop\n jmp nowhere\n.core 1\n ld r1, [nothing]\n"
    with pytest.raises(CoherenceError, match=r"^p\.s:3: undefined label 'nowhere'"):
        assemble(text, "p.s")
    text = ".core 0\n nop\n ld r1, [nothing]\n.core 1\n jmp nowhere\n"
    with pytest.raises(CoherenceError, match=r"^p\.s:3: undefined symbol 'nothing'"):
        assemble(text, "p.s")


def test_default_source_and_cores_argument():
    with pytest.raises(CoherenceError, match=r"^<string>:2: unknown instruction 'bad'"):
        assemble(".core 0\nbad\n")
    with pytest.raises(CoherenceError, match="bad core count 0"):
        assemble(".core 0\n", cores=0)
    with pytest.raises(CoherenceError, match="bad core count"):
        assemble(".core 0\n", cores="2")
    with pytest.raises(CoherenceError, match=r"^<string>:1: core 3 out of range, the program "
                                             r"has 2 cores \(cores=2 was requested\)"):
        assemble(".core 3\n", cores=2)
    with pytest.raises(CoherenceError, match=r"^<string>:2: core 2 has no '.core' section"):
        assemble(".core 0\n.core 1\n", cores=3)


# -- files ------------------------------------------------------------------------------------

def test_load_program(tmp_path):
    f = tmp_path / "prog.s"
    f.write_text(".data\nx: 3\n.core 0\n  ld r1, [x]\n")
    p = load_program(f)
    assert p.source == str(f) and p.symbol("x").words == (3,)
    assert load_program(str(f), cores=1).cores == 1
    f.write_text(".core 0\n  ld r1, [x]\n")
    with pytest.raises(CoherenceError) as info:
        load_program(f)
    assert str(info.value) == f"{f}:2: undefined symbol 'x' (the program defines no symbols)"


def test_load_program_unreadable(tmp_path):
    missing = tmp_path / "nope.s"
    with pytest.raises(CoherenceError) as info:
        load_program(missing)
    assert info.value.file == str(missing) and info.value.line is None
    assert str(info.value) == f"{missing}: no such file or directory"
    with pytest.raises(CoherenceError, match="is a directory"):
        load_program(tmp_path)
    bad = tmp_path / "bin.s"
    bad.write_bytes(b".core 0\n nop\n \xff\xfe\n")
    with pytest.raises(CoherenceError, match=r"bin\.s:3: not UTF-8 text"):
        load_program(bad)


def test_docs_examples_assemble():
    blocks = re.findall(r"```asm\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        if ".core" not in block:
            block += ".core 0\n"
        p = assemble(block, "docs")
        p.link(64)
        assert p.listing()


# -- round trip: random valid programs assemble to the fields they were written from ----------

SYMS = [("s0", 1), ("s1", 3), ("s2", 1), ("s3", 2)]   # (name, words); s2, s3 may be packed
ALU = ["add", "sub", "and", "or", "xor"]
BR = ["beq", "bne", "blt", "bge"]
OPC = {name: getattr(isa, "OP_" + name.upper()) for name in MNEMONICS if name != "li"}


@st.composite
def spell_num(draw, v):
    """A random spelling of integer v."""
    style = draw(st.sampled_from(["dec", "hex", "us"]))
    sign = "-" if v < 0 else ""
    a = abs(v)
    if style == "hex":
        return f"{sign}0x{a:x}"
    if style == "us":
        return sign + f"{a:_}"
    return str(v)


@st.composite
def spell_reg(draw, n):
    return draw(st.sampled_from(["r", "R"])) + str(n)


ints = st.one_of(st.integers(-5, 300), st.integers(-2**63, 2**63 - 1))
regs = st.integers(0, 15)


@st.composite
def value(draw):
    """(is_reg, v, text) for a reg|imm operand."""
    if draw(st.booleans()):
        r = draw(regs)
        return True, r, draw(spell_reg(r))
    v = draw(ints)
    return False, v, draw(spell_num(v))


@st.composite
def memop(draw):
    """(symbol index or -1, base register or -1, offset, text)."""
    use_sym = draw(st.booleans())
    use_reg = draw(st.booleans()) or not use_sym
    sym = draw(st.integers(0, len(SYMS) - 1)) if use_sym else -1
    reg = draw(regs) if use_reg else -1
    limit = SYMS[sym][1] if use_sym else 100
    off = 8 * draw(st.integers(0, limit - 1))
    terms = []
    if use_sym:
        terms.append(SYMS[sym][0])
    if use_reg:
        terms.append(draw(spell_reg(reg)))
    if off or draw(st.booleans()):
        terms.append(draw(spell_num(off)))
    terms = draw(st.permutations(terms))
    return sym, reg, off, "[" + draw(st.sampled_from(["+", " + "])).join(terms) + "]"


@st.composite
def instruction(draw, nlabels):
    """(text, expected row, expected symref, label index or None)."""
    name = draw(st.sampled_from(sorted(OPC) + ["li"]))
    op = OPC.get(name, isa.OP_MOV)
    spelled = draw(st.sampled_from([name, name.upper()]))
    target = None
    if name in ("nop", "pause", "mfence", "halt"):
        return spelled, encode(op), -1, None
    if name == "delay":
        n = draw(st.integers(0, 1000))
        return f"{spelled} {draw(spell_num(n))}", encode(op, b=n), -1, None
    rd = draw(regs)
    rdt = draw(spell_reg(rd))
    if name == "li":
        v = draw(ints)
        return f"{spelled} {rdt}, {draw(spell_num(v))}", encode(op, rd=rd, b=v), -1, None
    if name == "mov":
        br, b, bt = draw(value())
        return f"{spelled} {rdt}, {bt}", encode(op, rd=rd, b=b, breg=br), -1, None
    if name in ALU:
        ra = draw(regs)
        br, b, bt = draw(value())
        return (f"{spelled} {rdt}, {draw(spell_reg(ra))}, {bt}",
                encode(op, rd=rd, ra=ra, b=b, breg=br), -1, None)
    if name in BR or name == "jmp":
        target = draw(st.integers(0, nlabels - 1))
        if name == "jmp":
            return f"{spelled} L{target}", encode(op), -1, target
        br, b, bt = draw(value())
        return (f"{spelled} {rdt}, {bt}, L{target}", encode(op, ra=rd, b=b, breg=br), -1,
                target)
    sym, ra, off, mt = draw(memop())
    if name == "ld":
        return f"{spelled} {rdt}, {mt}", encode(op, rd=rd, ra=ra, addr=off), sym, None
    br, b, bt = draw(value())
    if name == "st":
        return f"{spelled} {mt}, {bt}", encode(op, ra=ra, addr=off, b=b, breg=br), sym, None
    if name in ("xchg", "faa"):
        return (f"{spelled} {rdt}, {mt}, {bt}", encode(op, rd=rd, ra=ra, addr=off, b=b,
                                                        breg=br), sym, None)
    cr, c, ct = draw(value())
    return (f"{spelled} {rdt}, {mt}, {bt}, {ct}",
            encode(op, rd=rd, ra=ra, addr=off, b=b, breg=br, c=c, creg=cr), sym, None)


@st.composite
def program(draw):
    ncores = draw(st.integers(1, 3))
    cores = []
    for _ in range(ncores):
        n = draw(st.integers(0, 8))
        nlabels = draw(st.integers(1, 3))
        insns = [draw(instruction(nlabels)) for _ in range(n)]
        # label k sits before instruction pos[k] (pos == n: at the end)
        pos = [draw(st.integers(0, n)) for _ in range(nlabels)]
        cores.append((insns, pos))
    packed = draw(st.booleans())
    data_first = draw(st.booleans())
    return cores, packed, data_first


def render(cores, packed, data_first, draw_style):
    # s3 has 2 words, or 1 when packed (the test drops accesses past it)
    data = [".data", "s0: 5", "s1: 1 2 3"]
    data += [".packed s2=7 s3"] if packed else ["s2: 7", "s3: 0 0"]
    out = [] if not data_first else data
    for c, (insns, pos) in enumerate(cores):
        out.append(f".core {c}  ; core {c}")
        for i in range(len(insns) + 1):
            labels = [f"L{k}:" for k, p in enumerate(pos) if p == i]
            if i == len(insns):
                out.extend(labels)
                break
            text = insns[i][0]
            if labels and draw_style(i):
                out.append(" ".join(labels) + " " + text)
            else:
                out.extend(labels)
                out.append("    " + text + ("   # comment" if i % 2 else ""))
    if not data_first:
        out += data
    return "\n".join(out) + "\n"


@settings(deadline=None)
@given(program(), st.integers(0, 2**16))
def test_round_trip_random_programs(prog, style):
    cores, packed, data_first = prog
    if packed:
        # packed s3 has one word: drop instructions whose offset points past it
        cores = [([i for i in insns if not (i[2] == 3 and i[1][F_ADDR] >= 8)], pos)
                 for insns, pos in cores]
        cores = [(insns, [min(p, len(insns)) for p in pos]) for insns, pos in cores]
    text = render(cores, packed, data_first, lambda i: (style >> (i % 16)) & 1)
    p = assemble(text, "rt.s")
    assert p.cores == len(cores)
    for c, (insns, pos) in enumerate(cores):
        expected = np.array([row for _, row, _, _ in insns], dtype=np.int64)
        expected = expected.reshape(len(insns), NFIELDS)
        for k, (_, _, _, target) in enumerate(insns):
            if target is not None:
                expected[k, F_ADDR] = pos[target]
        assert p.code[c].tolist() == expected.tolist(), text
        assert p.symref[c].tolist() == [ref for _, _, ref, _ in insns]
        assert p.labels[c] == {f"L{k}": q for k, q in enumerate(pos)}
        assert [disassemble(r) for r in p.code[c]] == [disassemble(r) for r in expected]
    L = p.link(64)
    assert L.addresses["s0"] == 0 and L.addresses["s1"] == 64 and L.addresses["s2"] == 128
    assert L.addresses["s3"] == (136 if packed else 192)
    assert len(p.listing().splitlines()) == len(cores) + sum(len(i) for i, _ in cores)


def test_per_core_constants_give_each_copy_its_core_number():
    from coherence import SystemConfig, run
    p = assemble(".data\nx: 0\n.core all\n li r1, %core\n add r2, r1, %cores\n"
                 " beq r1, %core, same\n li r3, 9\nsame: halt\n", cores=3)
    r = run(p, SystemConfig(cores=3))
    assert [(g["r1"], g["r2"], g["r3"]) for g in r.registers] == [(0, 3, 0), (1, 4, 0),
                                                                   (2, 5, 0)]
    with pytest.raises(CoherenceError, match=r"<string>:2: unknown constant '%cpu'"):
        assemble(".core 0\n li r1, %cpu\n")
