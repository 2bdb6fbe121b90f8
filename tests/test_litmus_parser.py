"""The herd7 litmus parser: both x86 dialects, init blocks, tables, conditions, errors
(always ``file:line: message``), and suite loading (directories, @index files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coherence.errors import CoherenceError
from coherence.litmus import load_suite, parse_file, parse_text
from coherence.litmus.condition import format_condition, format_prop
from coherence.litmus.ir import (Alu, And, Atom, Branch, Cmp, Fence, Halt, Imm, Implies, Load,
                                 Mem, MemLoc, Nop, Not, Or, Reg, RegLoc, Rmw, SetCC, Store, Sym)
from coherence.litmus.suite import collect

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT.parent / "shared" / "oracle" / "herd-x86"
SUITE = ROOT / "litmus" / "x86"

SB_X86 = """X86 SB
"PodWR Fre PodWR Fre"
{ x=0; y=0; }
 P0          | P1          ;
 MOV [x],$1  | MOV [y],$1  ;
 MOV EAX,[y] | MOV EAX,[x] ;
exists (0:EAX=0 /\\ 1:EAX=0)
"""

SB_X86_64 = """X86_64 SB
{ }
 P0            | P1            ;
 movl $1,(x)   | movl $1,(y)   ;
 movl (y),%eax | movl (x),%eax ;
exists (0:rax=0 /\\ 1:rax=0)
"""


def test_sb_structure():
    t = parse_text(SB_X86, "sb.litmus")
    assert (t.name, t.arch, t.path, t.nthreads, t.doc) == \
        ("SB", "X86", "sb.litmus", 2, "PodWR Fre PodWR Fre")
    assert t.init == {MemLoc("x"): 0, MemLoc("y"): 0}
    assert t.threads[0].instrs == [Store(Mem("x"), Imm(1)), Load(Reg("EAX"), Mem("y"))]
    assert t.threads[0].instrs[1].line == 6
    assert t.condition.quantifier == "exists"
    assert t.condition.prop == And((Atom(RegLoc(0, "EAX"), 0), Atom(RegLoc(1, "EAX"), 0)))
    assert [str(l) for l in t.observed] == ["0:EAX", "1:EAX"]
    assert format_condition(t.condition) == "exists (0:EAX=0 /\\ 1:EAX=0)"


def test_att_dialect_lowers_to_the_same_ir():
    a, b = parse_text(SB_X86), parse_text(SB_X86_64)
    assert b.arch == "X86_64"
    for ta, tb in zip(a.threads, b.threads):
        assert [type(i) for i in ta.instrs] == [type(i) for i in tb.instrs]
        assert [getattr(i, "addr", None) for i in ta.instrs] == \
            [getattr(i, "addr", None) for i in tb.instrs]
    assert b.threads[0].instrs[1] == Load(Reg("rax"), Mem("y"))


def test_register_aliases_are_canonical():
    t = parse_text("""X86_64 R
{ 0:RAX=1; 0:ebx=2; }
 P0 ;
 movl %eax,%ecx ;
 movb (x),%al ;
 addq $1,%r8d ;
forall (0:RCX=1 /\\ 0:rax=0 /\\ 0:r8=1)
""")
    assert t.init == {RegLoc(0, "rax"): 1, RegLoc(0, "rbx"): 2}
    assert t.threads[0].instrs == [Alu("mov", Reg("rcx"), Reg("rax")),
                                   Load(Reg("rax"), Mem("x")), Alu("add", Reg("r8"), Imm(1))]
    assert [str(l) for l in t.observed] == ["0:rax", "0:rcx", "0:r8"]


def test_comments_metadata_and_layout():
    t = parse_text("""(* a comment (* nested *) before the name *)
X86 T (* trailing *)
"the cycle"
Cycle=Fre PodWR
Prefetch=0:x=F,0:y=T
{
  x=1; (* inside the init
          block *) [y]=2;
  0:EAX=3; int z; uint64_t w = 0x10;
}
 P0          | P1 ;
 MOV EBX,[x] | (* a
  multi-line comment *) MOV [y],$5 ;
 ADD EBX,EAX |  ;
locations [z; 1:EAX; w;]
exists (0:EBX=4 /\\ [y]=5)
""", "c.litmus")
    assert t.metadata == {"Cycle": "Fre PodWR", "Prefetch": "0:x=F,0:y=T"}
    assert t.doc == "the cycle"
    assert t.init == {MemLoc("x"): 1, MemLoc("y"): 2, RegLoc(0, "EAX"): 3, MemLoc("z"): 0,
                      MemLoc("w"): 16}
    assert t.threads[1].instrs == [Store(Mem("y"), Imm(5))]
    assert t.threads[1].instrs[0].line == 13  # after the two-line comment
    assert t.locations == [MemLoc("z"), RegLoc(1, "EAX"), MemLoc("w")]
    assert [str(l) for l in t.observed] == ["0:EBX", "1:EAX", "[w]", "[y]", "[z]"]


def test_empty_init_and_missing_condition():
    t = parse_text("X86 E\n{}\n P0 ;\n MOV [x],$1 ;\n")
    assert t.init == {}
    assert format_condition(t.condition) == "forall (true)"


def test_rows_split_on_semicolons_not_newlines():
    t = parse_text("X86 S\n{ }\n P0 | P1 ; MOV [x],$1 | MOV EAX,[x] ; MFENCE | ;\n"
                   "exists (1:EAX=1)")
    assert t.threads[0].instrs == [Store(Mem("x"), Imm(1)), Fence("mfence")]
    assert t.threads[1].instrs == [Load(Reg("EAX"), Mem("x"))]


@pytest.mark.parametrize("text,expected", [
    ("a=1 /\\ b=1 \\/ c=1", Or((And((Atom(MemLoc("a"), 1), Atom(MemLoc("b"), 1))),
                               Atom(MemLoc("c"), 1)))),
    ("a=1 \\/ b=1 /\\ c=1", Or((Atom(MemLoc("a"), 1),
                               And((Atom(MemLoc("b"), 1), Atom(MemLoc("c"), 1)))))),
    ("~a=1 /\\ b=1", And((Not(Atom(MemLoc("a"), 1)), Atom(MemLoc("b"), 1)))),
    ("not (a=1)", Not(Atom(MemLoc("a"), 1))),
    # herd's grammar: => binds tighter than /\ and is right-associative.
    ("a=1 /\\ b=1 => c=1", And((Atom(MemLoc("a"), 1),
                               Implies(Atom(MemLoc("b"), 1), Atom(MemLoc("c"), 1))))),
    ("a=1 => b=1 => c=1", Implies(Atom(MemLoc("a"), 1),
                                  Implies(Atom(MemLoc("b"), 1), Atom(MemLoc("c"), 1)))),
    ("a!=1", Not(Atom(MemLoc("a"), 1))),
    ("a==-1", Atom(MemLoc("a"), -1)),
    ("true", And(())), ("false", Or(())),
    ("[a]=0x10 /\\ 0:EAX=[b]", And((Atom(MemLoc("a"), 16),
                                    Atom(RegLoc(0, "EAX"), MemLoc("b"))))),
    ("0:EAX=a", Atom(RegLoc(0, "EAX"), Sym("a"))),
])
def test_condition_grammar(text, expected):
    t = parse_text(f"X86 C\n{{ }}\n P0 ;\n NOP ;\nexists ({text})")
    assert t.condition.prop == expected


def test_condition_printing_round_trips():
    for text in ["0:EAX=0 /\\ [x]=1 \\/ [y]=2", "(0:EAX=0 \\/ [x]=1) /\\ [y]=2",
                 "not ([x]=1) /\\ ([x]=2 => [y]=1)"]:
        t = parse_text(f"X86 C\n{{ }}\n P0 ;\n NOP ;\nexists ({text})")
        t2 = parse_text(f"X86 C\n{{ }}\n P0 ;\n NOP ;\nexists ({format_prop(t.condition.prop)})")
        assert t2.condition.prop == t.condition.prop
        assert format_prop(t.condition.prop) == text


@pytest.mark.parametrize("cond,quantifier", [
    ("exists (x=1)", "exists"), ("~exists (x=1)", "~exists"), ("~ exists x=1", "~exists"),
    ("forall x=1", "forall"), ("final (x=1)", "exists"), ("(x=1)", "exists"),
    ("exists (x=1);", "exists"),
])
def test_quantifiers(cond, quantifier):
    t = parse_text(f"X86 Q\n{{ }}\n P0 ;\n MOV [x],$1 ;\n{cond}\n")
    assert t.condition.quantifier == quantifier


def test_labels_branches_and_flags():
    t = parse_text("""X86 L
{ }
 P0           ;
 MOV EAX,[x]  ;
 CMP EAX,$1   ;
 JNE L0       ;
 L1: INC EBX  ;
 JMP L2       ;
 L0:          ;
 SETE ECX     ;
 L2:          ;
exists (0:EBX=1)
""")
    th = t.threads[0]
    assert th.labels == {"L1": 3, "L0": 5, "L2": 6}
    assert th.instrs[1] == Cmp(Reg("EAX"), Imm(1))
    assert th.instrs[2] == Branch("ne", "L0")
    assert th.instrs[3] == Alu("add", Reg("EBX"), Imm(1))
    assert th.instrs[4] == Branch(None, "L2")
    assert th.instrs[5] == SetCC("e", Reg("ECX"))
    assert not th.can_loop


def test_loop_detection_is_on_the_control_flow_graph():
    fwd_then_back = parse_text("""X86_64 A
{ }
 P0            ;
 cmp $1,%eax   ;
 je L1         ;
 L0:           ;
 movl $1,(x)   ;
 ret           ;
 L1:           ;
 jmp L0        ;
exists (x=1)
""")
    assert not fwd_then_back.threads[0].can_loop
    assert isinstance(fwd_then_back.threads[0].instrs[3], Halt)
    spin = parse_text("X86 S\n{ }\n P0 ;\n L: MOV EAX,[x] ;\n CMP EAX,$0 ;\n JE L ;\n"
                      "exists (0:EAX=1)")
    assert spin.threads[0].can_loop


def test_rmw_forms_intel():
    t = parse_text("""X86 R
{ }
 P0                   ;
 XCHG [x],EAX         ;
 XCHG EBX,[y]         ;
 LOCK XADD [x],ECX    ;
 LOCK ADD [x],$2      ;
 LOCK CMPXCHG [x],EDX ;
 LOCK INC [x]         ;
 LOCK DEC [x]         ;
 INC [x]              ;
 LOCK SUB [x],EAX     ;
 XCHG EAX,EBX         ;
exists (x=1)
""")
    a = Mem("x")
    assert t.threads[0].instrs == [
        Rmw("xchg", a, Reg("EAX"), dst=Reg("EAX")),
        Rmw("xchg", Mem("y"), Reg("EBX"), dst=Reg("EBX")),
        Rmw("xadd", a, Reg("ECX"), dst=Reg("ECX")),
        Rmw("add", a, Imm(2)),
        Rmw("cmpxchg", a, Reg("EDX"), dst=Reg("EAX"), expected=Reg("EAX")),
        Rmw("add", a, Imm(1)),
        Rmw("sub", a, Imm(1)),
        Rmw("add", a, Imm(1), locked=False),
        Rmw("sub", a, Reg("EAX")),
        Alu("swap", Reg("EAX"), Reg("EBX")),
    ]


def test_rmw_forms_att_and_addressing():
    t = parse_text("""X86_64 R
{ 0:rsi=t; int64_t t[4]; }
 P0                          ;
 lock xaddl %ecx,(x)         ;
 lock; cmpxchgq %rdx,(x)     ;
 xchgl (y),%eax              ;
 uxchl %ebx,(y)              ;
 movq $7,16(%rsi)            ;
 movq 0(%rsi,%rcx,8),%rdi    ;
 nopl %cs:0(%rax,%rax,1)     ;
 mfence                      ;
 shl 2,%eax                  ;
exists (x=1)
""")
    ins = t.threads[0].instrs
    assert ins[0] == Rmw("xadd", Mem("x"), Reg("rcx"), dst=Reg("rcx"))
    assert ins[1] == Rmw("cmpxchg", Mem("x"), Reg("rdx"), dst=Reg("rax"), expected=Reg("rax"))
    assert ins[2] == Rmw("xchg", Mem("y"), Reg("rax"), dst=Reg("rax"))
    assert ins[3] == Rmw("xchg", Mem("y"), Reg("rbx"), dst=Reg("rbx"), locked=False)
    assert ins[4] == Store(Mem(None, 16, "rsi"), Imm(7))
    assert ins[5] == Load(Reg("rdi"), Mem(None, 0, "rsi", "rcx", 8))
    assert isinstance(ins[6], Nop) and ins[7] == Fence("mfence")
    assert ins[8] == Alu("shl", Reg("rax"), Imm(2))
    assert t.init[RegLoc(0, "rsi")] == Sym("t")
    assert t.array_len == {"t": 4} and t.esize("t") == 8


def test_arrays_and_typed_registers():
    t = parse_text("""X86_64 A
{
int64_t t[2]={1,-1};
0:rax=t;
int64_t 0:rcx;
int8_t b;
}
P0                        ;
movq 0(%rax,%rbx,8),%rcx  ;
forall 0:rcx = -1
""")
    assert t.init[MemLoc("t", 0)] == 1 and t.init[MemLoc("t", 1)] == -1
    assert t.init[RegLoc(0, "rcx")] == 0
    assert t.esize("b") == 1
    assert t.cell_of(Sym("t", 8)) == MemLoc("t", 1)
    assert t.cell_of(Sym("t", 4)) is None and t.cell_of(Sym("t", 16)) is None


# --------------------------------------------------------------------------- errors

ERRORS = [
    ("X86 B\n{ }\n P0 ;\n FOO [x],$1 ;\nexists (x=1)", 4, "unsupported instruction `foo`"),
    ("X86 B\n{ }\n P0 ;\n MOV EZX,[x] ;\nexists (x=1)", 4, "bad operand `EZX`"),
    ("X86_64 B\n{ }\n P0 ;\n movl (x),%ezx ;\nexists (x=1)", 4, "unknown register `ezx`"),
    ("X86 B\n{ }\n P0 | P2 ;\n MOV [x],$1 | ;\nexists (x=1)", 3, "expected `P1`, found `P2`"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1\nexists (x=1)", 4, "expected `;` at the end of the row"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1 ;\nexists (3:EAX=1)", 5, "thread 3 does not exist"),
    ("X86 B\n{ }\n P0 ;\n JMP L9 ;\nexists (x=1)", 4, "undefined label `L9`"),
    ("X86 B\n{ }\n P0 ;\n L: NOP ;\n L: NOP ;\nexists (x=1)", 5, "label `L` defined twice"),
    ("X86 B\n(* oops\n{ }\n P0 ;\n MOV [x],$1 ;\n", 2, "unterminated comment"),
    ("ARM B\n{ }\n", 1, "unsupported architecture `ARM`"),
    ("X86\n{ }\n", 1, "missing test name"),
    ("\n\n", 1, "empty file"),
    ("X86 B\n P0 ;\n", 2, "expected `Key=Value` metadata or the init block"),
    ("X86 B\n{ x=1;\n P0 ;\n", 2, "unterminated init block"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1 | MOV [y],$1 ;\nexists (x=1)", 4, "row has 2 columns"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1 ;\nexists (x=)", 5, "expected a value"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1 ;\nexists (x=1) junk", 5, "unexpected text after"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1 ;\nexists (x=1", 5, "expected `)`"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],$1 ;\nexists\n(x=1 /\\\n 0:EAX=1 \\/ ?)", 7,
     "unexpected character `?`"),
    ("X86 B\n{ }\n P0 ;\n LOCK MOV [x],$1 ;\nexists (x=1)", 4, "LOCK prefix on `mov`"),
    ("X86 B\n{ }\n P0 ;\n LOCK ADD EAX,$1 ;\nexists (x=1)", 4, "LOCK prefix needs a memory"),
    ("X86 B\n{ }\n P0 ;\n MOV [x],[y] ;\nexists (x=1)", 4, "memory-to-memory move"),
    ("X86 B\n{ }\n P0 ;\n MOV [1],EAX ;\nexists (x=1)", 4, "absolute numeric addresses"),
    ("X86 B\n{ }\n P0 ;\n MOV EAX ;\nexists (x=1)", 4, "`mov` takes 2 operands, got 1"),
    ("X86 B\n{ x=1; x=2; }\n P0 ;\n NOP ;\nexists (x=1)", 2, "[x] initialised twice"),
    ("X86 B\n{ x=1 y=2; }\n P0 ;\n NOP ;\nexists (x=1)", 2, "expected `;` between init"),
    ("X86 B\n{\n int64_t t[2] = {1}; }\n P0 ;\n NOP ;\nexists (x=1)", 3,
     "array `t` has 2 elements but 1 values"),
    ("X86 B\n{ 0:EAX=t; int t[2]; }\n P0 ;\n NOP ;\nexists (x=1)", None, None),
    ("X86 B\nnot metadata\n{ }\n P0 ;\n NOP ;\n", 2, "expected `Key=Value` metadata"),
    ("X86 B\n{ }\n P0 ;\n NOP ;\nlocations [x y]\nexists (x=1)", 5,
     "expected `;` or `]` in `locations"),
]


@pytest.mark.parametrize("src,line,msg", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_carry_file_and_line(src, line, msg):
    if msg is None:  # a valid corner case among the invalid ones
        parse_text(src, "bad.litmus")
        return
    with pytest.raises(CoherenceError) as info:
        parse_text(src, "bad.litmus")
    err = info.value
    assert (err.file, err.line) == ("bad.litmus", line)
    assert str(err).startswith(f"bad.litmus:{line}: ")
    assert msg in err.message


def test_parse_file_missing(tmp_path):
    with pytest.raises(CoherenceError, match="no such file or directory"):
        parse_file(tmp_path / "nope.litmus")


# --------------------------------------------------------------------------- real files


@pytest.mark.skipif(not ORACLE.is_dir(), reason=f"herd7 oracle not found at {ORACLE}")
def test_every_oracle_file_parses():
    suite = load_suite([ORACLE / "tests"])
    assert len(suite) == 88
    assert [p for p, t in suite if isinstance(t, str)] == []


def test_every_suite_file_parses():
    suite = load_suite([SUITE])
    assert len(suite) >= 40
    bad = [(p, t) for p, t in suite if isinstance(t, str)]
    assert bad == []
    for p, t in suite:
        assert t.arch in ("X86", "X86_64")
        assert Path(p).stem == t.name


# --------------------------------------------------------------------------- suites


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_load_suite_directories_indexes_and_bad_files(tmp_path):
    good = SB_X86
    _write(tmp_path / "d" / "b.litmus", good.replace("X86 SB", "X86 B"))
    _write(tmp_path / "d" / "sub" / "a.litmus", good.replace("X86 SB", "X86 A"))
    _write(tmp_path / "d" / "notes.txt", "not a test")
    _write(tmp_path / "d" / "broken.litmus", "X86 Broken\n{ }\n P0 ;\n FOO ;\n")
    _write(tmp_path / "e" / "c.litmus", good.replace("X86 SB", "X86 C"))
    _write(tmp_path / "e" / "@inner", "c.litmus\n")
    _write(tmp_path / "@all", "# an index\nd/b.litmus\ne/@inner   # nested\nmissing.litmus\n"
                              "@all\n")
    suite = load_suite([tmp_path / "@all", tmp_path / "d"])
    got = [(Path(p).name, t if isinstance(t, str) else t.name) for p, t in suite]
    assert got[0] == ("b.litmus", "B")
    assert got[1] == ("c.litmus", "C")
    assert got[2][0] == "missing.litmus" and "no such file or directory" in got[2][1]
    # then the directory, recursively and sorted, without the duplicate b.litmus
    assert got[3][0] == "broken.litmus"
    assert got[3][1].endswith("broken.litmus:4: unsupported instruction `foo` in `FOO`")
    assert got[4] == ("a.litmus", "A")
    assert len(got) == 5


def test_collect_missing_top_level_path_is_an_error(tmp_path):
    with pytest.raises(CoherenceError) as info:
        collect([tmp_path / "nope"])
    assert str(info.value) == f"{tmp_path / 'nope'}: no such file or directory"


@pytest.mark.parametrize("arch, shift, ok", [
    ("X86", "SAL EAX,CL", True), ("X86", "SHL EAX,3", True), ("X86", "SAR EAX,EDX", False),
    ("X86", "SAL ECX,EDX", False), ("X86_64", "shl %cl,%eax", True),
    ("X86_64", "shl $2,%eax", True), ("X86_64", "shr %edx,%eax", False),
])
def test_shift_counts_are_cl_or_an_immediate_as_on_x86(arch, shift, ok):
    """herd rejects `SAL ECX,EDX`: x86 has no shift by another register than CL."""
    reg = "EAX" if arch == "X86" else "rax"
    src = (f"{arch} S\n{{ }}\n P0 ;\n {shift} ;\nexists (0:{reg}=0)\n")
    if ok:
        parse_text(src, "s.litmus")
    else:
        with pytest.raises(CoherenceError, match="count in CL or as an immediate") as info:
            parse_text(src, "s.litmus")
        assert str(info.value).startswith("s.litmus:4:")
