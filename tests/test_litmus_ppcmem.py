"""ppcmem / Dat3M-style x86 litmus files, read as herd7 reads them.

The older ppcmem format (the x86-TSO paper's tests, Dat3M's ``litmus/X86``) writes::

    X86 amd5 (amdFive) "Loads may not be reordered with older stores"
    {x = 0; y = 0};                           <- a `;` after the init block
            P0      |       P1      ;         <- an indented header
      mov [x], 1    |  lock ; inc [y] ;       <- `lock ;` prefix inside a cell
      mov %r1, [y]  |  mov EBX, [x] ;         <- a symbolic register
    final (%r1 = 0 /\\ P1:EBX = 0);            <- `final`, `P1:` registers, a `;`
    with
    tso: ~exists;                             <- per-model kinds (herd ignores them)
    default: ~exists
    <<
    show 0 of ess 0                           <- ppcmem directives (never read)
    >>

Each construct is accepted as herd accepts it, and a malformed variant of each is one
``file:line`` error.  With ``../shared/oracle/herd-ext`` present, every file herd accepts
parses, and the files this support made parse agree with herd's verdicts.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from coherence.errors import CoherenceError
from coherence.litmus import enumerate_states, parse_text
from coherence.litmus.ir import Load, Mem, MemLoc, Reg, RegLoc, Rmw
from coherence.litmus.parser import parse_file
from coherence.litmus.report import format_state

ROOT = Path(__file__).resolve().parent.parent


def _oracle(name):
    """``../shared/oracle/NAME`` next to the project (or next to the worktrees' folder)."""
    for base in (ROOT.parent, ROOT.parent.parent):
        p = base / "shared" / "oracle" / name
        if p.is_dir():
            return p
    return None


EXT_ORACLE = _oracle("herd-ext")

AMD5 = """X86 amd5  (amdFive)  "Loads may not be reordered with older stores, with MFENCE"
{x = 0; y = 0};

        P0      |       P1      ;
  mov [x], 1  \t|  mov [y], 1 \t;
  mfence        |  mfence       ;
  mov EAX, [y] \t|  mov EBX, [x] ;

final (P0:EAX = 0 /\\ P1:EBX = 0);
with
tso: ~exists;
cc: exists;
optic: ~exists;
default: ~exists

<<
genprog generated/amd5-prog.tex
show 3
>>
<<
show 0 of ess 0
readfrom generated/amd5-rf.dot
>>
"""


def _err(src, line, msg):
    with pytest.raises(CoherenceError) as info:
        parse_text(src, "p.litmus")
    err = info.value
    assert (err.file, err.line) == ("p.litmus", line), str(err)
    assert str(err).startswith(f"p.litmus:{line}: ")
    assert msg in err.message, err.message
    return err


# --------------------------------------------------------------------------- the whole file


def test_a_ppcmem_file_reads_as_herd_reads_it():
    t = parse_text(AMD5, "amd5.litmus")
    assert (t.name, t.texname, t.arch) == ("amd5", "amdFive", "X86")
    assert t.doc == "Loads may not be reordered with older stores, with MFENCE"
    assert t.init == {MemLoc("x"): 0, MemLoc("y"): 0}
    assert [len(th.instrs) for th in t.threads] == [3, 3]
    assert t.condition.quantifier == "exists"          # `final` is herd's `exists`
    assert t.observed == [RegLoc(0, "EAX"), RegLoc(1, "EBX")]
    sc, tso = enumerate_states(t, "sc"), enumerate_states(t, "tso")
    assert (sc.observation, sc.positive, sc.negative) == ("Never", 0, 3)
    assert (tso.observation, tso.positive, tso.negative) == ("Never", 0, 3)


# --------------------------------------------------------------------------- header line


@pytest.mark.parametrize("head, tex, doc", [
    ("X86 n1 (nOne) \"Read speculation\"", "nOne", "Read speculation"),
    ("X86 x86/n7 (LitmusNSeven) ", "LitmusNSeven", ""),
    ("X86 frmap \"Does transitivity go through frmap edges?\"", "",
     "Does transitivity go through frmap edges?"),
    ("X86 iwp2.1/amd1 (iwp) \"litmus test\";", "iwp", "litmus test"),
])
def test_header_takes_a_second_name_and_a_doc_string(head, tex, doc):
    t = parse_text(head + "\n{ }\n P0 ;\n mov [x],1 ;\nexists (x=1)\n", "h.litmus")
    assert (t.texname, t.doc) == (tex, doc)
    assert t.name == head.split()[1]


@pytest.mark.parametrize("head, msg", [
    ("X86 amd5 (amd Five)", "expected `(NAME)`, a quoted `\"doc\"` or the end of the line"),
    ("X86 amd5 (amdFive) \"no end", "unterminated `\"doc\"`"),
    ("X86 amd5 \"doc\" (late)", "found `\"doc\" (late)`"),
])
def test_a_malformed_header_tail_is_an_error_on_line_1(head, msg):
    _err(head + "\n{ }\n P0 ;\n mov [x],1 ;\nexists (x=1)\n", 1, msg)


# --------------------------------------------------------------------------- init `};`


def test_a_semicolon_may_follow_the_init_block():
    for sep in ("};", "}\n;", "} ;\n"):
        t = parse_text("X86 t\n{x = 0; y = 1" + sep + "\n P0 ;\n mov EAX,[y] ;\n"
                       "exists (P0:EAX=1)\n", "i.litmus")
        assert t.init == {MemLoc("x"): 0, MemLoc("y"): 1}
        assert enumerate_states(t, "sc").observation == "Always"


def test_two_semicolons_after_the_init_block_are_an_error():
    err = _err("X86 t\n{x = 0};\n;\n P0 ;\n mov EAX,[x] ;\nexists (P0:EAX=0)\n", 3,
               "thread table header: expected `P0`, found ``")
    assert "one `;` may come before the header" in err.message


# --------------------------------------------------------------------------- thread table


def test_indented_header_with_tabs_and_ragged_columns():
    src = ("X86 pso\n{x = 0; y = 0                  };\n"
           "        P0        |       P1         |\t\tP2  ;\n"
           "  mov  [x],    1  | mov   [x],   2   | \t mov EAX, [x] ;\n"
           "                  |      \t     |        mov EBX, [x] ;\n"
           "exists (P2:EAX = 1 /\\ P2:EBX = 2);\n")
    t = parse_text(src, "pso.litmus")
    assert [len(th.instrs) for th in t.threads] == [1, 1, 2]


def test_a_bad_header_cell_is_reported_where_it_is():
    _err("X86 t\n{x = 0};\n        P0      |   P2   ;\n mov [x],1 | ;\nexists (x=1)\n", 3,
         "expected `P1`, found `P2`")


@pytest.mark.parametrize("cell", ["lock ; inc [x]", "LOCK; INC [x]", "lock ;\n   inc [x]"])
def test_lock_prefix_with_a_semicolon_stays_in_its_cell(cell):
    src = ("X86 inc-inc-locked (IncIncLocked)\n{x = 0;}\n"
           "        P0           |       P1      ;\n"
           f"  {cell}     |  lock ; inc [x]      ;\n"
           "forall (x=2);\n<<\nshow flags false\n>>\n")
    t = parse_text(src, "l.litmus")
    for th in t.threads:
        (ins,) = th.instrs
        assert isinstance(ins, Rmw) and ins.locked and ins.op == "add"
    v = enumerate_states(t, "tso")
    assert (v.observation, v.positive, v.negative) == ("Always", 2, 0)


@pytest.mark.parametrize("cell, msg", [
    ("lock ;", "LOCK prefix without an instruction"),
    ("lock ; mov [x],1", "LOCK prefix on `mov`, which is not a read-modify-write"),
])
def test_a_lock_prefix_needs_a_read_modify_write_after_it(cell, msg):
    _err(f"X86 t\n{{x = 0;}}\n P0 | P1 ;\n {cell} | inc [x] ;\nforall (x=2);\n", 4, msg)


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize("cond, quant", [
    ("final (P0:EAX = 1 /\\ P1:EBX = 1);", "exists"),
    ("forall (P0:EAX = 1 \\/ P1:EBX = 1);", "forall"),
    ("~ exists (P0:EAX = 0 /\\ P1:EBX=0 );", "~exists"),
    ("~exists (0:EAX = 0 /\\ P1:EBX = 0)", "~exists"),
])
def test_final_forall_and_exists_end_with_an_optional_semicolon(cond, quant):
    t = parse_text("X86 t\n{x = 0; y = 0};\n P0 | P1 ;\n mov [x],1 | mov [y],1 ;\n"
                   f" mov EAX,[y] | mov EBX,[x] ;\n{cond}\n", "c.litmus")
    assert t.condition.quantifier == quant
    assert t.observed == [RegLoc(0, "EAX"), RegLoc(1, "EBX")]


def test_p_n_registers_in_the_init_block_and_the_condition():
    t = parse_text("X86 x86-m1 (X86MOne)\n\"plain iriw\"\n"
                   "{x = 0; y = 0; P0:EBX = 0; P1:ECX = 7};\n"
                   "P0          |P1          ;\nmov EAX,[x] |mov EBX,[y] ;\n"
                   "~exists(0:EAX=1 /\\ P1:ECX=7 /\\ P1:EBX=[y])\n", "m.litmus")
    assert t.init[RegLoc(0, "EBX")] == 0 and t.init[RegLoc(1, "ECX")] == 7
    assert RegLoc(1, "ECX") in t.observed


@pytest.mark.parametrize("cond, line, msg", [
    ("final (P0:EAX = 0);;", 5, "unexpected text after the condition, found `;`"),
    ("exists (P5:EAX = 0)", 5, "thread 5 does not exist (the test has 1)"),
    ("exists (P0:%r9 = 0)", 5, "`%r9` after `P0:` is not a register of X86"),
])
def test_malformed_conditions(cond, line, msg):
    _err(f"X86 t\n{{x = 0}};\n P0 ;\n mov EAX,[x] ;\n{cond}\n", line, msg)


def test_with_kinds_are_checked_and_ignored():
    base = "X86 t\n{x = 0};\n P0 ;\n mov EAX,[x] ;\nfinal (P0:EAX = 0);\n"
    for kinds in ("with\ntso: ~exists;\ncc: exists;\ndefault: ~exists\n",
                  "with tso: forall; sc: not exists;\n", "with optic: exists"):
        t = parse_text(base + kinds, "w.litmus")
        assert t.condition.quantifier == "exists"
    _err(base + "with\ntso: ~exists;\ncc: maybe;\n", 8,
         "expected `forall`, `exists` or `~exists` after `cc:`")
    _err(base + "with\ntso ~exists\n", 7, "expected `:` after `tso` in `with`")
    _err(base + "with\n", 7, "expected `NAME: forall`, `NAME: exists` or `NAME: ~exists`")
    _err(base + "with tso: ~forall", 6, "expected `forall`, `exists` or `~exists`")
    _err(base + "with tso: exists; ; cc: exists", 6, "expected `NAME: forall|exists|~exists`")


# --------------------------------------------------------------------------- << ... >> blocks


def test_ppcmem_blocks_after_the_condition_are_not_read():
    src = ("X86 t\n{x = 0};\n P0 ;\n mov [x],1 ;\nforall (x=1)\n"
           "(* a comment with << inside *)\n<<\nshow 0 of ess 21\nessdump x-ess.dot\n>>"
           "\n(* between blocks *)\n<<\nshow all\n>>")
    t = parse_text(src, "b.litmus")
    assert t.condition.quantifier == "forall"


def test_a_ppcmem_block_before_the_condition_is_an_error():
    _err("X86 t\n{x = 0};\n P0 ;\n mov [x],1 ;\n<<\nshow 0\n>>\nforall (x=1)\n", 5,
         "a ppcmem `<< ... >>` block before the condition")


# --------------------------------------------------------------------------- %r1 registers


def test_symbolic_registers_take_the_first_free_registers_in_name_order():
    # test.intel.1: the condition names %r1 and %r2 without a thread: P1's code does.
    t = parse_text("X86 iwp2.1/amd1 (iwp) \"litmus test\"\n{ }\n"
                   "        P0    |       P1      ;\n  mov [x], 1  |  mov %r2, [y] ;\n"
                   "  mov [y], 1  |  mov %r1, [x] ;\n              |               ;\n"
                   "~exists (%r2 = 1 /\\ %r1 = 0)\n<<\nshow all\n>>\n", "s.litmus")
    # %r1 < %r2 by name, so %r1 is EAX and %r2 EBX, whichever comes first in the code
    assert t.threads[1].instrs == [Load(Reg("EBX"), Mem("y")), Load(Reg("EAX"), Mem("x"))]
    assert t.observed == [RegLoc(1, "EAX"), RegLoc(1, "EBX")]
    v = enumerate_states(t, "tso")
    assert (v.observation, v.positive, v.negative) == ("Never", 0, 3)
    assert [format_state(s) for s in v.states] == \
        ["1:EAX=0; 1:EBX=0;", "1:EAX=1; 1:EBX=0;", "1:EAX=1; 1:EBX=1;"]


def test_registers_named_by_the_code_or_the_init_are_not_given_to_symbolic_ones():
    # mfence2: P2:EAX/P2:EBX in the init block keep %r1/%r2 off EAX/EBX, so the condition's
    # P2:EAX is never written (herd: one state, all zero); EAX in the code, too.
    t = parse_text("X86 mfence2 (mfenceTwo)\n{x = 0; P1:EAX = 0; P1:EBX = 0};\n"
                   "  P0 | P1 ;\n  mov [x], $1 | mov %r1, [x] ;\n"
                   "  mov ECX, $2 | mov %r2, [x] ;\n"
                   "~ exists (P1:EAX = 1 /\\ P1:EBX = 0);\n", "s.litmus")
    assert [i.dst for i in t.threads[1].instrs] == [Reg("ECX"), Reg("EDX")]
    assert [format_state(s) for s in enumerate_states(t, "sc").states] == \
        ["1:EAX=0; 1:EBX=0;"]
    t = parse_text("X86 t\n{ }\n P0 ;\n mov EAX,[x] ;\n mov %a,[x] ;\n"
                   " mov [%p],1 ;\nexists (%a=0)\n", "s.litmus")
    assert t.threads[0].instrs[1] == Load(Reg("EBX"), Mem("x"))
    assert t.threads[0].instrs[2].addr == Mem(None, 0, "ECX")


def test_symbolic_registers_in_the_init_block_and_per_thread_code():
    # x86.bug.1: each thread's code names its own; the init gives them their values.
    t = parse_text("X86 x86.bug.1 (IntelBugOne) \"bug in flag setting\"\n"
                   "{ %r1=1; %r2=1; }\nP0 | P1 ;\nadd %r1,$0 | add %r2,$0 ;\n"
                   "forall (true)\n<<\nessdump generated/x86bug-ess.dot\n>>", "s.litmus")
    assert t.init == {RegLoc(0, "EAX"): 1, RegLoc(1, "EAX"): 1}
    v = enumerate_states(t, "sc")
    assert (v.observation, v.positive, v.negative) == ("Always", 1, 0)
    # a symbolic register only the code names may be used by several threads
    t = parse_text("X86 t\n{ }\nP0 | P1 ;\nmov %r1,[x] | mov %r1,[x] ;\n", "s.litmus")
    assert [th.instrs[0].dst for th in t.threads] == [Reg("EAX"), Reg("EAX")]


@pytest.mark.parametrize("src, line, msg", [
    ("X86 t\n{ }\n P0 ;\n mov %r1,[x] ;\nexists (%r3 = 1)\n", 5,
     "symbolic register `%r3` does not appear in the code of any thread"),
    ("X86 t\n{ %r1=2; }\n P0 | P1 ;\n mov %r1,[x] | mov %r1,[y] ;\nexists (x=1)\n", 2,
     "ambiguous symbolic register `%r1`: the code of P0 and P1 names it"),
    ("X86 t\n{ }\n P0 ;\n mov %a,[x] ;\n mov %b,[x] ;\n mov %c,[x] ;\n mov %d,[x] ;\n"
     + " mov %e,[x] ;\n mov EDI,[x] ;\n mov %f,[x] ;\nexists (x=1)\n", 10,
     "not enough registers for the symbolic registers of P0: 6"),
    ("X86 t\n{ }\n P0 ;\n mov %r1,[x] ;\nexists (1:%r1 = 1)\n", 5,
     "`%r1` after `1:` is not a register of X86"),
    ("X86_64 t\n{ }\n P0 ;\n movl (x),%r1 ;\nexists (x=1)\n", 4, "unknown register `r1`"),
    ("X86_64 t\n{ }\n P0 ;\n movl (x),%eax ;\nexists (%r1=1)\n", 5,
     "symbolic register `%r1`: supported in X86 tests only"),
    ("X86 t\n{ }\n P0 ;\n mov EAX,[x] ;\nexists (%=1)\n", 5, "unexpected character `%`"),
])
def test_malformed_symbolic_registers(src, line, msg):
    _err(src, line, msg)


# --------------------------------------------------------------------------- herd-ext oracle

# The herd-ext files that the parser rejected before ppcmem support and herd7 accepts.
NEWLY_ACCEPTED = [f"dat3m/dartagnan/litmus/X86/{n}.litmus" for n in (
    "amd5 inc-inc-locked inc-inc intel.n4 intel.n7 iwp2.3.a-amd4.lfence iwp2.3.a-amd4.sfence "
    "lfence live1 mfence2 sfence test.debug.2 test.intel.1 x86.bug.1 x86.bug.2").split()] + \
    [f"dat3m/litmus/X86/{n}.litmus" for n in (
        "MP amd10 amd3 amd3bis amd5 amd6 frmap frmap2 intel.3.1 intel.4 intel.5 intel.cc "
        "intel.iriw intel.n4 intel.n5 intel.n7 intel.n8 intel.paul-tso intel.rwc iwp2.2-amd2 "
        "iwp2.3.a-amd4 iwp2.3.a-amd4.mfence iwp2.3.b.half iwp2.3.b iwp2.4-amd9 iwp2.5-amd8 "
        "iwp2.6 iwp2.7-amd7 iwp2.8.a iwp2.8.b mfence mfence2 n1 n2 n3 n4 n4b n5 n7 n8 "
        "nofence pso rwc-fenced rwc.2 test.debug.2 test.intel.1 x86-m1").split()]

# Where herd's execution counts differ (observation and states agree):
COUNTS_DIFFER = {
    # two unlocked `inc [x]`: herd 7.58 leaves the read and the write of one instruction out
    # of po (its `amo` fix covers locked RMWs only), so it also accepts an execution where
    # an inc's read reads the other thread's write that is coherence-after its own write:
    # 6 executions; an unlocked RMW reads then writes here (and in the cat path): 4.
    "dat3m/dartagnan/litmus/X86/inc-inc.litmus",
    # spin loops: herd unrolls them and counts each unrolling, the enumerator counts
    # distinct final states (executions_exact is False; docs/litmus.md, "Loops")
    "dat3m/dartagnan/litmus/X86/live1.litmus",
}


def _verdict_rows():
    csv.field_size_limit(1 << 30)
    with open(EXT_ORACLE / "verdicts.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.skipif(EXT_ORACLE is None, reason="../shared/oracle/herd-ext not found")
def test_every_herd_ext_file_herd_accepts_parses():
    accepted = sorted({r["path"] for r in _verdict_rows()})
    assert len(accepted) == 3305
    bad = []
    for rel in accepted:
        try:
            parse_file(EXT_ORACLE / "tests" / rel)
        except CoherenceError as exc:
            bad.append(str(exc))
    assert bad == []


@pytest.mark.skipif(EXT_ORACLE is None, reason="../shared/oracle/herd-ext not found")
def test_the_newly_accepted_files_agree_with_herd():
    rows = {(r["path"], r["model"]): r for r in _verdict_rows()}
    assert len(NEWLY_ACCEPTED) == 62
    differ = []
    for rel in NEWLY_ACCEPTED:
        test = parse_file(EXT_ORACLE / "tests" / rel)
        for model in ("sc", "tso"):
            r = rows[(rel, model)]
            v = enumerate_states(test, model)
            got = [v.name, v.observation, " | ".join(format_state(s) for s in v.states)]
            want = [r["name"], r["observation"], r["states"]]
            if rel not in COUNTS_DIFFER:
                got += [v.positive, v.negative]
                want += [int(r["positive"]), int(r["negative"])]
            if got != want:
                differ.append((rel, model, got, want))
    assert differ == []
