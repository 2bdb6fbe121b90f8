"""Translation of litmus tests to the emulator's assembly (``to_asm``).

The emitted program is checked semantically: a small exhaustive interpreter of the assembly
subset ``to_asm`` emits (SC, and TSO with FIFO store buffers) must reach exactly the final
states the litmus enumerator computes, for every test of the suite and of the herd oracle.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coherence.errors import CoherenceError
from coherence.litmus import enumerate_states, load_suite, parse_text, to_asm

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT.parent / "shared" / "oracle" / "herd-x86"
SUITE = ROOT / "litmus" / "x86"


def _tests():
    paths = [SUITE] + ([ORACLE / "tests"] if ORACLE.is_dir() else [])
    return [t for _p, t in load_suite(paths) if not isinstance(t, str)]


TESTS = _tests()

# --------------------------------------------------------------------------- interpreter


def _parse_asm(text):
    """-> (data {sym: value}, cores [list of (op, args)], labels per core)."""
    data, cores, labels, cur = {}, [], [], None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line == ".data":
            cur = None
            continue
        m = re.match(r"^\.core (\d+)$", line)
        if m:
            assert int(m.group(1)) == len(cores)
            cores.append([])
            labels.append({})
            cur = len(cores) - 1
            continue
        m = re.match(r"^([A-Za-z_]\w*):\s*(-?\d+)?$", line)
        if m:
            if cur is None:
                data[m.group(1)] = int(m.group(2))
            else:
                labels[cur][m.group(1)] = len(cores[cur])
            continue
        op, _, rest = line.partition(" ")
        args = [a.strip() for a in rest.split(",")] if rest.strip() else []
        cores[cur].append((op, args))
    return data, cores, labels


def _run_asm(text, model, observe):
    data, cores, labels = _parse_asm(text)
    syms = sorted(data)
    slot = {s: i for i, s in enumerate(syms)}
    n = len(cores)

    def val(regs, a):
        return regs[int(a[1:])] if a.startswith("r") else int(a)

    def mem_slot(a):
        assert a.startswith("[") and a.endswith("]"), a
        return slot[a[1:-1]]

    def setr(regs, r, v):
        i = int(r[1:])
        return regs[:i] + (v,) + regs[i + 1:]

    init = (tuple((0, (0,) * 16) for _ in range(n)), tuple(data[s] for s in syms),
            ((),) * n)
    seen, stack, finals = {init}, [init], set()
    while stack:
        threads, mem, bufs = stack.pop()
        succ = []
        for t in range(n):
            buf = bufs[t]
            if buf:
                s, v = buf[0]
                succ.append((threads, mem[:s] + (v,) + mem[s + 1:],
                             bufs[:t] + (buf[1:],) + bufs[t + 1:]))
            pc, regs = threads[t]
            if pc >= len(cores[t]):
                continue
            op, a = cores[t][pc]
            nm, nb, npc = mem, buf, pc + 1
            if op in ("li", "mov"):
                regs = setr(regs, a[0], val(regs, a[1]))
            elif op in ("add", "sub", "and", "or", "xor"):
                x, y = val(regs, a[1]), val(regs, a[2])
                r = {"add": x + y, "sub": x - y, "and": x & y, "or": x | y, "xor": x ^ y}[op]
                regs = setr(regs, a[0], r)
            elif op in ("beq", "bne", "blt", "bge"):
                x, y = val(regs, a[0]), val(regs, a[1])
                taken = {"beq": x == y, "bne": x != y, "blt": x < y, "bge": x >= y}[op]
                if taken:
                    npc = labels[t][a[2]]
            elif op == "jmp":
                npc = labels[t][a[0]]
            elif op in ("nop", "pause"):
                pass
            elif op == "halt":
                npc = len(cores[t])
            elif op == "mfence":
                if buf and model == "tso":
                    continue
            elif op == "ld":
                s = mem_slot(a[1])
                v = next((bv for bs, bv in reversed(buf) if bs == s), mem[s])
                regs = setr(regs, a[0], v)
            elif op == "st":
                s = mem_slot(a[0])
                if model == "tso":
                    nb = buf + ((s, val(regs, a[1])),)
                else:
                    nm = mem[:s] + (val(regs, a[1]),) + mem[s + 1:]
            elif op in ("xchg", "faa", "cas"):
                if buf and model == "tso":
                    continue
                s = mem_slot(a[1])
                old = mem[s]
                if op == "xchg":
                    new = val(regs, a[2])
                elif op == "faa":
                    new = old + val(regs, a[2])
                else:
                    new = val(regs, a[3]) if old == val(regs, a[2]) else old
                nm = mem[:s] + (new,) + mem[s + 1:]
                regs = setr(regs, a[0], old)
            else:
                raise AssertionError(f"unexpected instruction {op}")
            succ.append((threads[:t] + ((npc, regs),) + threads[t + 1:], nm,
                         bufs[:t] + (nb,) + bufs[t + 1:]))
        if not succ:
            finals.add((threads, mem, bufs))
        for s2 in succ:
            if s2 not in seen:
                seen.add(s2)
                stack.append(s2)
    out = set()
    for threads, mem, _bufs in finals:
        vals = []
        for _name, where in observe:
            if where[0] == "reg":
                vals.append(threads[where[1]][1][where[2]])
            else:
                vals.append(mem[slot[where[1]]])
        out.add(tuple(vals))
    return out


# --------------------------------------------------------------------------- tests


def test_there_are_tests_to_translate():
    assert len(TESTS) >= 40


@pytest.mark.parametrize("test", TESTS, ids=[f"{Path(t.path).parent.name}/{t.name}"
                                              for t in TESTS])
def test_translation_reaches_the_same_final_states(test):
    text, observe = to_asm(test)
    assert [name for name, _ in observe] == [str(l) for l in test.observed]
    for model in ("sc", "tso"):
        v = enumerate_states(test, model)
        want = {tuple(s.values()) for s in v.states}
        if test.filter is None:
            assert _run_asm(text, model, observe) == want, model
        else:
            assert want <= _run_asm(text, model, observe), model


def test_sb_translation():
    test = parse_text("""X86 SB
{ x=0; y=0; 0:EBX=7; }
 P0          | P1          ;
 MOV [x],$1  | MOV [y],$1  ;
 MOV EAX,[y] | MOV EAX,[x] ;
exists (0:EAX=0 /\\ 1:EAX=0)
""", "sb.litmus")
    text, observe = to_asm(test)
    lines = [l.strip() for l in text.splitlines()]
    assert lines[lines.index(".data") + 1:lines.index(".core 0")] == ["x: 0", "y: 0"]
    core0 = lines[lines.index(".core 0") + 1:lines.index(".core 1")]
    assert core0 == ["li   r2, 7", "st   [x], 1", "ld   r1, [y]"]
    assert observe == [("0:EAX", ("reg", 0, 1)), ("1:EAX", ("reg", 1, 1))]


def test_memory_observation_and_symbol_names():
    test = parse_text("""X86 W
{ r1=5; }
 P0         ;
 MOV [r1],$2 ;
 MOV [x.y],$1 ;
exists ([r1]=2 /\\ [x.y]=1)
""")
    text, observe = to_asm(test)
    # `r1` is a register name in the assembler, `x.y` is not an identifier: both renamed.
    assert observe == [("[r1]", ("mem", "v_r1")), ("[x.y]", ("mem", "x_y"))]
    assert "v_r1: 5" in text and "st   [v_r1], 2" in text


def test_assembles_with_the_project_assembler():
    from coherence import asm
    for test in TESTS:
        text, _ = to_asm(test)
        asm.assemble(text, source=test.path)


@pytest.mark.parametrize("body,msg", [
    (" SHR EAX,$1 ;", "`shr` has no equivalent"),
    (" MOV EAX,[x] ;\n CMP EAX,$1 ;\n JB L ;\n L: ;", "unsigned condition `b`"),
    (" MOV EBX,x ;", None),  # not even parsed: bad operand
])
def test_untranslatable(body, msg):
    src = f"X86 U\n{{ }}\n P0 ;\n{body}\nexists (0:EAX=1)\n"
    if msg is None:
        with pytest.raises(CoherenceError, match="bad operand"):
            parse_text(src)
        return
    with pytest.raises(CoherenceError, match=msg):
        to_asm(parse_text(src, "u.litmus"))


def test_pointer_registers_resolve_statically_or_fail():
    ok = parse_text("X86 P\n{ 0:EBX=x; }\n P0 ;\n MOV [EBX],$1 ;\nexists ([x]=1)\n")
    text, _ = to_asm(ok)
    assert "st   [x], 1" in text
    written = parse_text("X86 P\n{ 0:EBX=x; }\n P0 ;\n MOV EBX,EAX ;\n MOV [EBX],$1 ;\n"
                         "exists ([x]=1)\n")
    with pytest.raises(CoherenceError, match="depends on register EBX"):
        to_asm(written)
    observed = parse_text("X86 P\n{ 0:EBX=x; }\n P0 ;\n MOV [EBX],$1 ;\nexists (0:EBX=x)\n")
    with pytest.raises(CoherenceError, match="holds an address"):
        to_asm(observed)
