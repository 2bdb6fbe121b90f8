"""Regressions of issue 12's "no user input crashes, hangs or corrupts": each input below
once ended in a traceback, a crash, a hang or a wrong verdict."""

from __future__ import annotations

import time

import numpy as np
import pytest

from coherence import SystemConfig
from coherence.errors import CoherenceError
from conftest import run_cli

SB = """X86 SB
{ x=0; y=0; }
 P0          | P1          ;
 MOV [x],$1  | MOV [y],$1  ;
 MOV EAX,[y] | MOV EAX,[x] ;
exists (0:EAX=0 /\\ 1:EAX=0)
"""


def _one_error_line(proc, where=None):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coherence: "), proc.stderr
    if where is not None:
        assert lines[0].startswith(f"coherence: {where}"), lines[0]
    return lines[0]


# ------------------------------------------------------------------ sched --plot

@pytest.mark.parametrize("out", ["/nonexistent/g.png", "g.foo"])
def test_sched_plot_bad_path_keeps_findings(out):
    proc = run_cli("sched", "examples/sched/abba.toml", "-q", "--plot", out)
    line = _one_error_line(proc)
    assert "cannot write" in line
    assert "deadlock" in proc.stdout  # the findings were printed before the error


# ------------------------------------------------------------------ litmus files

def test_single_litmus_file_with_syntax_error(tmp_path):
    bad = tmp_path / "bad.litmus"
    bad.write_text(SB.replace("exists (0:EAX=0 /\\ 1:EAX=0)", "exists (0:EAX="))
    proc = run_cli("litmus", str(bad), "--enumerate-only")
    _one_error_line(proc, f"{bad}:")
    assert "skipped" not in proc.stdout


def test_litmus_suite_still_skips_bad_file(tmp_path):
    (tmp_path / "bad.litmus").write_text("X86 bad\n{ x=0; }\n P0 ;\n MOV [x],$1 ;\nexists (x=\n")
    (tmp_path / "SB.litmus").write_text(SB)
    proc = run_cli("litmus", str(tmp_path), "--enumerate-only", "-q")
    assert proc.returncode == 1
    rows = [line for line in proc.stdout.splitlines() if line.startswith("bad ")]
    assert len(rows) == 1 and "skipped: " in rows[0]   # one row of the suite's table
    proc = run_cli("litmus", str(tmp_path), "--enumerate-only", "-q", "-v")
    assert proc.stdout.count("Test bad skipped") == 1   # and one block with -v


def _parse(text):
    from coherence.litmus.parser import parse_text
    return parse_text(text, "t.litmus")


@pytest.mark.parametrize("text, what", [
    (SB.replace("exists (0:EAX=0", "exists " + "(" * 3000 + "0:EAX=0" + ")" * 3000 + " /\\ (0:EAX=0"), "nested too deeply"),
    (SB.replace("exists (0:EAX=0", "exists (" + "~" * 3000 + "0:EAX=0"), "nested too deeply"),
    (SB.replace("exists (0:EAX=0", "exists (0x0:EAX=0"), "bad thread number"),
    (SB.replace("{ x=0; y=0; }", "{ x=0; y=0; int t[99999999999999999999]; }"), "64-bit word"),
    (SB.replace("{ x=0; y=0; }", "{ x=0; y=0; int t[100000000]; }"), "elements"),
    (SB.replace("exists (0:EAX=0", "exists (0:EAX=" + "9" * 5000), "64-bit word"),
    (SB.replace("MOV [x],$1 ", "MOV [x],$99999999999999999999"), "64-bit word"),
])
def test_litmus_bad_input_is_one_error(text, what):
    with pytest.raises(CoherenceError, match=what) as info:
        _parse(text)
    assert info.value.file == "t.litmus" and info.value.line is not None


def test_litmus_leading_zero_and_long_chains():
    t = _parse(SB.replace("exists (0:EAX=0 /\\ 1:EAX=0)",
                          "exists (0:EAX=08 /\\ " + " /\\ ".join(["1:EAX=0"] * 3000) + ")"))
    from coherence.litmus.enumerate import enumerate_states
    v = enumerate_states(t, "sc")
    assert v.observation == "Never"


def test_litmus_values_are_words():
    from coherence.litmus.enumerate import enumerate_states
    shl = """X86 shl
{ x=0; }
 P0 ;
 MOV EAX,$1 ;
 SHL EAX,$63 ;
 SHL EAX,$63 ;
 MOV [x],EAX ;
exists (x=0)
"""
    add = """X86 add
{ x=0; }
 P0 ;
 MOV EAX,$9223372036854775807 ;
 ADD EAX,$1 ;
 MOV [x],EAX ;
exists (x=-9223372036854775808)
"""
    assert enumerate_states(_parse(shl), "tso").observation == "Always"
    assert enumerate_states(_parse(add), "tso").observation == "Always"
    # an unsigned literal is the same word as its signed twin
    neg = _parse(SB.replace("MOV [x],$1 ", "MOV [x],$-1").replace(
        "exists (0:EAX=0 /\\ 1:EAX=0)", "exists (1:EAX=18446744073709551615)"))
    assert enumerate_states(neg, "sc").observation == "Sometimes"


def test_litmus_campaigns_agree_on_words_and_addresses(tmp_path):
    """Both once gave a false "TSO VIOLATION": the emulator must agree or be skipped."""
    from coherence.litmus.campaign import run_campaign
    from coherence.litmus.compile import to_asm
    add = _parse("""X86 add
{ x=0; }
 P0 ;
 MOV EAX,$9223372036854775807 ;
 ADD EAX,$1 ;
 SHL EAX,$1 ;
 MOV [x],EAX ;
exists (x=0)
""")
    c = run_campaign(add, model="tso", iterations=20, seed=0)
    assert not c.model_violations and c.observation == "Always"
    addr = _parse("X86 addr\n{ x=0; y=0; 0:EAX=y; }\n P0 ;\n MOV [x],EAX ;\nexists (x=y)\n")
    with pytest.raises(CoherenceError, match="holds the address"):
        to_asm(addr)


# ------------------------------------------------------------------ sched scenarios

def _scenario(ops_by_thread):
    from coherence.sched.loader import loads
    text = ""
    for name, ops in ops_by_thread:
        text += f'[[thread]]\nname = "{name}"\nops = [{", ".join(repr(o) for o in ops)}]\n'
    return loads(text.replace("'", '"'), file="s.toml")


def test_sched_too_many_locks_is_an_error():
    ops = [f"acquire L{i}" for i in range(65)] + [f"release L{i}" for i in range(65)]
    with pytest.raises(CoherenceError, match="at most 64 locks"):
        _scenario([("T1", ops)])


@pytest.mark.parametrize("nest, rw", [(64, False), (31, True)])
def test_sched_deep_nesting_is_polynomial(nest, rw):
    """64 nested mutexes (31 read locks) took exponential time in the lock-order analysis
    (N=22: 18 s, doubling per lock): now the whole check is quick enough for a test."""
    from coherence.sched import check
    take, drop = ("read_lock", "read_unlock") if rw else ("acquire", "release")
    ops = [f"{take} L{i}" for i in range(nest)] + [f"{drop} L{i}" for i in range(nest)]
    other = ["write_lock L0", "write_unlock L0"] if rw else ["acquire L0", "release L0"]
    report = check(_scenario([("T1", ops), ("T2", other)]))
    assert not [f for f in report.findings if f.kind == "potential-deadlock"]


def test_lock_order_cycles_bounded_by_count():
    from coherence.sched.lockorder import _simple_cycles
    # a complete DAG on 64 nodes: 2**62 paths, no cycle
    succ = {x: set(range(x + 1, 64)) for x in range(64)}
    assert _simple_cycles(list(range(64)), succ, 64) == []
    # a complete digraph: cycles galore, only the first 64 are wanted
    full = {x: set(range(12)) - {x} for x in range(12)}
    assert len(_simple_cycles(list(range(12)), full, 64)) == 64


@pytest.mark.parametrize("setting, value", [("max_ticks", 10**12), ("arrive", 2**40),
                                            ("priority", 2**40), ("quantum", 2**31)])
def test_sched_numbers_are_bounded(setting, value):
    from coherence.sched.loader import loads
    if setting in ("arrive", "priority"):
        text = f'[[thread]]\nops = ["compute 1"]\n{setting} = {value}\n'
    else:
        text = f'[scenario]\n{setting} = {value}\n[[thread]]\nops = ["compute 1"]\n'
    with pytest.raises(CoherenceError, match="expected an integer in") as info:
        loads(text, file="s.toml")
    assert info.value.line is not None


def test_sched_replay_length_bounded():
    from coherence.sched import check
    sc = _scenario([("T1", ["compute 1"])])
    with pytest.raises(CoherenceError, match="schedule too long"):
        check(sc, replay="T1*99999999999")


def test_sched_timeline_grows_with_the_run():
    """A huge --max-ticks no longer allocates its whole timeline up front."""
    from coherence.sched import simulate
    sim = simulate(_scenario([("T1", ["compute 5"])]), max_ticks=50_000_000)
    assert sim.end == "finished" and sim.timeline_status.shape[0] == sim.ticks


# ------------------------------------------------------------------ programs and configs

def test_delay_is_bounded(tmp_path):
    from coherence.asm import assemble
    with pytest.raises(CoherenceError, match="delay") as info:
        assemble(".core 0\n  delay 9223372036854775807\n  halt\n", source="d.s")
    assert str(info.value).startswith("d.s:2:")
    p = tmp_path / "d.s"
    p.write_text(".core 0\n  delay 4611686018427387904\n  halt\n")
    _one_error_line(run_cli("run", str(p)), f"{p}:2:")


@pytest.mark.parametrize("kw, what", [
    (dict(l1_size=2**34), "l1_size"), (dict(cores=64, l1_size=2**24), "cache lines"),
    (dict(mem_latency=2**62), "mem_latency"), (dict(jitter=2**40), "jitter"),
    (dict(max_cycles=2**62), "max_cycles"), (dict(progress_window=2**60), "progress_window"),
])
def test_config_bounds(kw, what):
    with pytest.raises(CoherenceError, match=what):
        SystemConfig(**kw)


@pytest.mark.parametrize("writes, addrs, what", [
    ([256], [0], "write flag 256"), ([0.5], [0], "write flag 0.5"), ([2], [0], "write flag"),
    ([0, -1], [0, 8], "write flag -1 at index 1"),
    (np.array([1, 0, 7], np.uint8), [0, 8, 16], "write flag 7 at index 2"),
    ([1], np.array([2**63], np.uint64), "below 2\\*\\*63"),
    ([1], np.array([2**64 + 5], dtype=object), "0..2\\*\\*63-1"),
])
def test_run_trace_rejects(writes, addrs, what):
    from coherence import run_trace
    from coherence.reference import run_trace_reference
    cfg = SystemConfig(cores=1)
    for runner in (run_trace, run_trace_reference):
        with pytest.raises(CoherenceError, match=what):
            runner([np.array(writes)], [np.asarray(addrs)], cfg)


def test_run_trace_accepts_exact_flags():
    from coherence import run_trace
    from coherence.reference import run_trace_reference
    cfg = SystemConfig(cores=1)
    w, a = [np.array([True, 1.0, 0])], [np.array([0, 8, 64], np.uint64)]
    assert run_trace(w, a, cfg).cycles == run_trace_reference(w, a, cfg).cycles


# ------------------------------------------------------------------ read-only install

READ_ONLY = """
import warnings
import numpy as np
from numba.core import caching
impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
impl._locator_classes[:] = []   # what a read-only install without a home cache sees
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import coherence.engine, coherence.sched
    from coherence.sched.simkernel import _rng_below
    value = int(_rng_below(np.ones(1, np.uint64), 10))
print(len([w for w in caught if "no writable cache directory" in str(w.message)]), value)
"""


def test_read_only_install_compiles_uncached():
    import subprocess
    import sys
    from conftest import ROOT
    proc = subprocess.run([sys.executable, "-c", READ_ONLY], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warned, value = proc.stdout.split()
    assert warned == "1" and 0 <= int(value) < 10


# ------------------------------------------------------------------ Ctrl-C

def _interrupt(args, after, code=None):
    """Start the CLI (or ``python -c code``), send SIGINT after ``after`` seconds, return the
    finished process.  A kernel that never returns to Python would ignore the signal and run
    for minutes: the timeout of communicate() fails the test then."""
    import signal
    import subprocess
    import sys
    from conftest import ROOT
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "coherence", *args]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(after)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


BIG = '[[thread]]\nops = ["compute 1000000"]\n' * 3


def test_ctrl_c_stops_explore_and_prints_what_it_found(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(BIG)
    run_cli("sched", str(path), "--explore", "--max-states", "10", "-q")  # compiled, cached
    rc, out, err = _interrupt(["sched", str(path), "--explore", "--max-states", "1000000000"],
                              after=4)
    assert rc == 130 and "interrupted" in err, (rc, err[-2000:])
    assert "interrupted (Ctrl-C), incomplete" in out


BIG_FOREVER = BIG.replace('"]\n', '"]\nrepeat = true\n')
SIMULATE_FOREVER = f"""
from coherence.sched import simulate
from coherence.sched.loader import loads
sc = loads('''{BIG_FOREVER}''')
simulate(sc, max_ticks=1_000_000_000, record=False, detect_cycles=False)
print("not interrupted")
"""


def test_ctrl_c_stops_a_long_simulation():
    rc, out, err = _interrupt(None, after=4, code=SIMULATE_FOREVER)
    assert rc != 0 and "KeyboardInterrupt" in err and "not interrupted" not in out


def test_ctrl_c_litmus_suite_prints_finished_tests():
    run_cli("litmus", "litmus/x86/SB.litmus", "--iterations", "10", "-q")  # compiled, cached
    rc, out, err = _interrupt(["litmus", "litmus/x86", "--iterations", "200000", "-q", "-v"],
                              after=5)
    assert rc == 130, err[-2000:]
    assert "tests finished before the interrupt" in err
    finished = int(err.split(" of ")[0].split()[-1])
    # each finished test: its herd block and its campaign block
    assert 0 < finished and out.count("Observation ") == 2 * finished


def test_deeply_nested_toml_is_one_error():
    from coherence.sched.loader import loads
    with pytest.raises(CoherenceError, match="nested too deeply") as info:
        loads("x = " + "[" * 100_000 + "]" * 100_000 + "\n", file="s.toml")
    assert info.value.file == "s.toml"


def test_program_data_is_bounded():
    from coherence.asm import MAX_DATA_WORDS, assemble
    text = ".data\n" + "".join(f"a{i}: .zero 1048576\n" for i in range(5)) + ".core 0\n halt\n"
    with pytest.raises(CoherenceError, match=f"at most {MAX_DATA_WORDS} words") as info:
        assemble(text, source="m.s")
    assert str(info.value).startswith("m.s:6:")


def test_litmus_iterations_bounded():
    import coherence.litmus.campaign as C
    import coherence.litmus.cli as L
    assert L.MAX_ITERATIONS == C.MAX_ITERATIONS  # the CLI spells it to stay free of numpy
    proc = run_cli("litmus", "litmus/x86/SB.litmus", "--iterations", "10000000000000")
    assert proc.returncode == 2 and "at most 1,000,000,000,000 iterations" in proc.stderr
