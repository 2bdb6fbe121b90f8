"""Fuzzing every user input: mutated ``.s``, ``.litmus`` and scenario ``.toml`` files, and
random ``SystemConfig`` / ``run_trace`` / ``Protocol`` arguments.

What must hold for every input: only :class:`~coherence.errors.CoherenceError` escapes (a
file's error names the file, ``file:line:`` where the line is known); a run either ends
within its own bound (max_cycles, max_ticks, max_states) or is refused; an invalid argument
never returns a result.  A hard watchdog (faulthandler) kills the process if one case hangs,
so a hang fails the run instead of stalling it.

The default run is a few dozen cases per format (a few seconds); ``pytest -m slow
tests/test_fuzz.py`` runs ``FUZZ_SLOW_EXAMPLES`` (default 10,000) per format.
"""

from __future__ import annotations

import faulthandler
import glob
import os
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coherence.errors import CoherenceError, InvariantViolation
from conftest import ROOT, run_cli

SLOW_EXAMPLES = int(os.environ.get("FUZZ_SLOW_EXAMPLES", "10000"))
FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=SLOW_EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
WATCHDOG_S = 60  # one case: parse + bounded run; far above what any case takes

COUNTS: dict = {}


def _seeds(pattern):
    out = []
    for p in sorted(glob.glob(os.path.join(ROOT, pattern))):
        with open(p, encoding="utf-8") as fh:
            out.append(fh.read())
    return out


ASM_SEEDS = _seeds("examples/*.s")
LITMUS_SEEDS = _seeds("litmus/x86/*.litmus")[:40]
TOML_SEEDS = _seeds("examples/sched/*.toml")

# Tokens that broke parsers before, or sit on a boundary: numbers at and past 64 bits,
# leading zeros, hex where decimal is expected, deep nesting, huge counts.
NUMBERS = ["0", "1", "-1", "08", "0x0", "0x", "007", "2147483647", "2147483648",
           "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
           "18446744073709551615", "18446744073709551616", "99999999999999999999",
           "1" * 200, "1000000000", "1000000001", "1e9", "-0", "+5", "0b1", "1_000"]
TOKENS = NUMBERS + [
    "(", ")", "[", "]", "{", "}", ";", "|", ",", ":", "=", "~", "/\\", "\\/", "=>", "*",
    "$", "&", "\n", " ", "\t", "#", "\"", "'", "P0x0", "P64", "0:EAX", "x", "y", "EAX",
    "SHL EAX,$63", "ADD EAX,$9223372036854775807", "MFENCE", "exists", "~exists", "forall",
    "(" * 300, "~" * 300, ") /\\ (" * 50, "acquire L", "release L", "read_lock R",
    "compute", "sleep", "goto", "label X:", "delay", "ld", "st", "r40", "r-1", ".core",
    ".core all", ".data", ".zero", ".word", ".cores 65", "[[thread]]", "[scenario]",
    "ops", "priority", "arrive", "max_ticks", "repeat = true", "cpus = 64",
]


@st.composite
def mutated(draw, seeds):
    """A seed text with a few random edits (delete, insert a token, replace a number,
    duplicate a line or a range)."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 5))
        n = len(text)
        i = draw(st.integers(0, n))
        if kind == 0 and n:
            j = draw(st.integers(i, min(n, i + 40)))
            text = text[:i] + text[j:]
        elif kind == 1:
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif kind == 2:
            nums = list(re.finditer(r"-?\d+", text))
            if nums:
                m = draw(st.sampled_from(nums))
                text = text[:m.start()] + draw(st.sampled_from(NUMBERS)) + text[m.end():]
        elif kind == 3:
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            reps = draw(st.sampled_from([1, 2, 70]))
            text = "\n".join(lines[:k] + [lines[k]] * reps + lines[k:])
        elif kind == 4 and n:
            j = draw(st.integers(i, min(n, i + 80)))
            text = text[:j] + text[i:j] * draw(st.integers(1, 3)) + text[j:]
        else:
            text = text[:i] + draw(st.text(max_size=8)) + text[i:]
    return text


@pytest.fixture(autouse=True)
def watchdog():
    """A hang in a kernel cannot be interrupted from Python: dump the stacks and end the
    process after WATCHDOG_S (re-armed at each case by _case)."""
    _warm()
    yield
    faulthandler.cancel_dump_traceback_later()


def _warm():
    """Compile (or load) the engine's kernels before any watchdog is armed: a first
    compilation on a loaded 2-core machine can take longer than one case may."""
    from coherence import SystemConfig, assemble, run, run_trace
    cfg = SystemConfig(cores=1)
    run_trace([np.array([1, 0])], [np.array([0, 8])], cfg)
    run(assemble(".core 0\n  li r1, 1\n  halt\n"), cfg)


def _case(kind):
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    COUNTS[kind] = COUNTS.get(kind, 0) + 1


def _file_error(exc: CoherenceError, path: str):
    assert exc.file is not None and str(exc).startswith(path + ":"), str(exc)


# ------------------------------------------------------------------ the three file formats

def check_asm(text, tmp_path):
    from coherence import SystemConfig, run
    from coherence.asm import assemble
    _case("asm")
    path = str(tmp_path / "f.s")
    try:
        prog = assemble(text, source=path)
    except CoherenceError as exc:
        _file_error(exc, path)
        return
    cfg = SystemConfig(cores=max(prog.cores, 1), max_cycles=20_000, progress_window=5_000)
    try:
        r = run(prog, cfg)
    except CoherenceError:
        return  # e.g. more cores than the config: refused, no result
    assert r.status in ("halted", "max_cycles", "no_progress") and r.cycles <= 20_000 + 1


def check_litmus(text, tmp_path):
    from coherence.litmus.compile import to_asm
    from coherence.litmus.enumerate import enumerate_states
    from coherence.litmus.parser import parse_text
    _case("litmus")
    path = str(tmp_path / "t.litmus")
    try:
        test = parse_text(text, path)
    except CoherenceError as exc:
        _file_error(exc, path)
        return
    small = len(test.threads) <= 4 and sum(len(t.instrs) for t in test.threads) <= 12
    if small:
        try:
            enumerate_states(test, "tso")
        except CoherenceError as exc:
            assert exc.file is not None
    try:
        to_asm(test)
    except CoherenceError as exc:
        assert exc.file is not None


def check_toml(text, tmp_path):
    from coherence.sched import explore, simulate
    from coherence.sched.loader import loads
    _case("toml")
    path = str(tmp_path / "s.toml")
    try:
        sc = loads(text, file=path)
    except CoherenceError as exc:
        _file_error(exc, path)
        return
    sim = simulate(sc, max_ticks=2_000)
    assert sim.ticks <= 2_000
    res = explore(sc, max_states=300)
    assert res.states <= 300


@FAST
@given(text=mutated(ASM_SEEDS))
def test_fuzz_asm(text, tmp_path_factory):
    check_asm(text, tmp_path_factory.mktemp("asm"))


@FAST
@given(text=mutated(LITMUS_SEEDS))
def test_fuzz_litmus(text, tmp_path_factory):
    check_litmus(text, tmp_path_factory.mktemp("lit"))


@FAST
@given(text=mutated(TOML_SEEDS))
def test_fuzz_toml(text, tmp_path_factory):
    check_toml(text, tmp_path_factory.mktemp("toml"))


# ------------------------------------------------------------------ API arguments

INTS = st.one_of(st.integers(-3, 70), st.sampled_from([0, 1, 2**20, 2**20 + 1, 2**31, 2**34,
                                                       2**48, 2**56, 2**56 + 1, 2**62, 2**63 - 1,
                                                       -(2**63)]),
                 st.just(True), st.just(0.5), st.just("8"), st.none())
CONFIG_FIELDS = ["cores", "l1_size", "l1_ways", "line_size", "store_buffer", "hit_latency",
                 "bus_latency", "mem_latency", "c2c_latency", "wb_latency", "start_skew",
                 "jitter", "drain_delay", "issue_jitter", "max_cycles", "progress_window",
                 "timeline_window"]


@st.composite
def config_kwargs(draw):
    kw = {}
    for name in draw(st.lists(st.sampled_from(CONFIG_FIELDS), max_size=4, unique=True)):
        kw[name] = draw(INTS)
    if draw(st.booleans()):
        kw["protocol"] = draw(st.sampled_from(["msi", "mesi", "moesi", "nope", 3]))
    if draw(st.booleans()):
        kw["model"] = draw(st.sampled_from(["sc", "tso", "x"]))
    return kw


def check_config(kw):
    from coherence import SystemConfig, run_trace
    _case("config")
    try:
        cfg = SystemConfig(**kw)
    except CoherenceError:
        return
    # A valid config is small enough to build and bounded in time: run a short trace with
    # the watchdog bounded too.
    cfg = cfg.replace(max_cycles=min(cfg.cycle_limit(), 200_000), progress_window=0)
    r = run_trace([np.array([1, 0, 1], np.uint8)], [np.array([0, 64, 0])], cfg)
    assert r.cycles <= cfg.max_cycles + 1


@FAST
@given(kw=config_kwargs())
def test_fuzz_config(kw):
    check_config(kw)


FLAGS = st.sampled_from([0, 1, True, False, 0.0, 1.0, 2, 256, -1, 0.5, np.nan])
ADDRS = st.sampled_from([0, 8, 64, 4096, 2**40, 2**62, 2**63 - 1, 2**63, 2**64 - 1, -1, -8])


@st.composite
def trace_args(draw):
    n = draw(st.integers(0, 6))
    writes = [draw(FLAGS) for _ in range(n)]
    addrs = [draw(ADDRS) for _ in range(n)]
    dtype = draw(st.sampled_from([None, np.uint64, np.int64, np.float64, object]))
    return writes, addrs, dtype


def check_trace(args):
    from coherence import SystemConfig, run_trace
    from coherence.reference import run_trace_reference
    _case("trace")
    writes, addrs, dtype = args
    valid = all(type(w) in (bool, int, float) and w in (0, 1) for w in writes) and all(
        0 <= a < 2**63 for a in addrs)
    cfg = SystemConfig(cores=2, max_cycles=100_000, progress_window=0)
    for runner in (run_trace, run_trace_reference):
        try:
            a = np.array(addrs, dtype=dtype) if dtype is not None else addrs
        except (OverflowError, ValueError):
            a = np.array(addrs, dtype=object)
        try:
            r = runner([np.array(writes)], [a], cfg)
        except CoherenceError:
            if dtype is not np.float64:
                assert not valid or (dtype is np.int64 and any(x >= 2**63 for x in addrs))
            continue
        assert valid, f"{runner.__name__} returned a result for invalid input {args}"
        assert r.cycles <= 100_001


@FAST
@given(args=trace_args())
def test_fuzz_run_trace(args):
    check_trace(args)


@st.composite
def protocol_args(draw):
    from coherence import MESI
    from coherence.protocols.table import Impossible, Transition
    table = dict(MESI.table)
    keys = sorted(table, key=str)
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.sampled_from(keys))
        what = draw(st.integers(0, 3))
        if what == 0:
            table.pop(k, None)
        elif what == 1:
            table[k] = Transition(draw(st.sampled_from(list(MESI.states) + ["Q", ""])),
                                  draw(st.sampled_from([None, "BusRd", "BusRdX", "BusUpgr",
                                                        "BusUpd", "Bogus"])),
                                  draw(st.booleans()), draw(st.booleans()),
                                  draw(st.sampled_from([None, "E", "S", "Z"])), "")
        elif what == 2:
            table[k] = Impossible("fuzz")
        else:
            table[(draw(st.sampled_from(["Q", "M", 5])), draw(st.sampled_from(
                ["Load", "Nope", None])))] = draw(st.sampled_from([None, "x", 3]))
    states = draw(st.sampled_from([MESI.states, "ISEM", "SEM", "ISEMQ", ""]))
    return states, table


def check_protocol(args):
    from coherence import Protocol, SystemConfig, run_trace
    _case("protocol")
    states, table = args
    try:
        proto = Protocol("fuzz", states, table)
        cfg = SystemConfig(cores=2, protocol=proto, max_cycles=50_000, progress_window=0)
    except CoherenceError:
        return
    try:
        run_trace([np.array([1, 0, 1, 1]), np.array([0, 1, 1, 0])],
                  [np.array([0, 0, 64, 0]), np.array([0, 0, 0, 64])], cfg, check=True)
    except (CoherenceError, InvariantViolation):
        pass  # a protocol bug found by check=True is a report, not a crash


@FAST
@given(args=protocol_args())
def test_fuzz_protocol(args):
    check_protocol(args)


# ------------------------------------------------------------------ through the CLI

def _cli_ok(proc):
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode in (0, 1, 2), (proc.returncode, proc.stderr[-2000:])
    if proc.returncode == 2:
        lines = [l for l in proc.stderr.splitlines() if l.startswith("coherence: ")]
        assert lines, proc.stderr


def _cli_sample(tmp_path, k, seed):
    import random
    rnd = random.Random(seed)
    for fmt, seeds, ext, args in (("asm", ASM_SEEDS, "s", ["run"]),
                                  ("litmus", LITMUS_SEEDS, "litmus",
                                   ["litmus", "--enumerate-only", "-q"]),
                                  ("toml", TOML_SEEDS, "toml", ["sched", "-q"])):
        for i in range(k):
            text = _quick_mutation(seeds, rnd)
            path = tmp_path / f"{fmt}{i}.{ext}"
            path.write_text(text, encoding="utf-8")
            extra = ["--max-cycles", "100000"] if fmt == "asm" else []
            _cli_ok(run_cli(*args, str(path), *extra, timeout=120))


def _quick_mutation(seeds, rnd):
    """A mutation drawn with ``random`` (a subprocess per case: hypothesis would shrink
    nothing useful at this cost)."""
    text = rnd.choice(seeds)
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randint(0, len(text))
        if rnd.random() < 0.5:
            text = text[:i] + rnd.choice(TOKENS) + text[i:]
        else:
            text = text[:i] + text[i + rnd.randint(1, 20):]
    return text


def test_fuzz_cli_sample(tmp_path):
    _cli_sample(tmp_path, 2, seed=0)


# ------------------------------------------------------------------ the long run

@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["asm", "litmus", "toml", "config", "trace", "protocol"])
def test_fuzz_slow(fmt, tmp_path_factory):
    strategy = {"asm": mutated(ASM_SEEDS), "litmus": mutated(LITMUS_SEEDS),
                "toml": mutated(TOML_SEEDS), "config": config_kwargs(),
                "trace": trace_args(), "protocol": protocol_args()}[fmt]
    tmp = tmp_path_factory.mktemp(fmt)
    check = {"asm": lambda x: check_asm(x, tmp), "litmus": lambda x: check_litmus(x, tmp),
             "toml": lambda x: check_toml(x, tmp), "config": check_config,
             "trace": check_trace, "protocol": check_protocol}[fmt]
    before = COUNTS.get(fmt, 0)

    @SLOW
    @given(x=strategy)
    def run(x):
        check(x)
    run()
    print(f"\nfuzz {fmt}: {COUNTS.get(fmt, 0) - before} cases", file=sys.stderr)


@pytest.mark.slow
def test_fuzz_cli_slow(tmp_path):
    _cli_sample(tmp_path, int(os.environ.get("FUZZ_CLI_CASES", "30")), seed=1)
