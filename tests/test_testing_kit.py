"""The public hypothesis kit (coherence.testing, docs/testing.md): litmus-shaped programs with
an SC oracle, and the stateful protocol machine finding deliberately broken protocols and
shrinking them to a few steps while passing on MSI, MESI and MOESI."""

import collections
import importlib.util

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test

import coherence
from coherence import MESI, MOESI, MSI, SystemConfig
from coherence.protocols import DRAGON, MESIF
from coherence.testing import (LitmusCase, ProtocolCheckFailure, configs, litmus_programs,
                               program_texts, programs, protocol_machine, sc_outcomes, traces)

from conftest import ROOT


def _load_broken():
    spec = importlib.util.spec_from_file_location("broken_protocols",
                                                  f"{ROOT}/examples/broken_protocols.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


broken = _load_broken()


def test_the_original_strategies_are_still_there():
    assert all(callable(f) for f in (programs, program_texts, configs, traces))


# ----------------------------------------------------------------------------- litmus shapes

SB_TEXT = ".data\nx: 0\ny: 0\n.core 0\n st [x], 1\n ld r1, [y]\n.core 1\n st [y], 1\n" \
          " ld r1, [x]\n"
SB = LitmusCase(coherence.assemble(SB_TEXT), [("reg", 0, 1), ("reg", 1, 1), ("mem", "x"),
                                              ("mem", "y")],
                SB_TEXT, ["0:r1", "1:r1", "x", "y"], ["x", "y"],
                [[("st", "x", 1), ("ld", "y", 1, 0)], [("st", "y", 1), ("ld", "x", 1, 1)]])


def test_sc_oracle_on_store_buffering():
    # The classic: under SC at least one of the two loads sees the other core's store.
    assert sc_outcomes(SB) == {(0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)}
    program, observe = SB
    assert program is SB.program and observe is SB.observe
    assert SB.state([0, 1, 1, 1]) == {"0:r1": 0, "1:r1": 1, "x": 1, "y": 1}


def test_sc_oracle_counts_coherence_order_and_atomic_exchange():
    text = ".data\nx: 0\n.core 0\n st [x], 1\n.core 1\n xchg r1, [x], 2\n"
    case = LitmusCase(coherence.assemble(text), [("reg", 1, 1), ("mem", "x")], text,
                      ["1:r1", "x"], ["x"], [[("st", "x", 1)], [("xchg", "x", 1, 0, 2)]])
    # xchg before the store: reads 0, x ends 1; after it: reads 1, x ends 2.
    assert sc_outcomes(case) == {(0, 1), (1, 2)}


def test_the_emulator_shows_store_buffering_only_under_tso():
    cfg = SystemConfig(cores=2, start_skew=20, drain_delay=10, jitter=3, arbitration="random")
    seen = {}
    for model in ("sc", "tso"):
        values, statuses = coherence.run_batch(SB.program, cfg.replace(model=model), 400,
                                               seed=1, observe=SB.observe, check=True)
        assert set(statuses) == {"halted"}
        seen[model] = {tuple(int(v) for v in row) for row in values}
    assert seen["sc"] <= sc_outcomes(SB)
    assert (0, 0, 1, 1) in seen["tso"] - sc_outcomes(SB)


@settings(max_examples=40)
@given(litmus_programs(max_cores=3, max_ops=3, rmw=True, packed=None))
def test_generated_litmus_tests_are_well_formed(case):
    program, observe = case
    assert 2 <= program.cores <= 3 and len(case.labels) == len(observe)
    regs = [(c, r) for kind, *rest in observe if kind == "reg" for c, r in [rest]]
    assert len(regs) == len(set(regs)), "every load has its own register"
    assert [o for o in observe if o[0] == "mem"] == [("mem", v) for v in case.variables]
    for core_ops in case.ops:
        assert 1 <= len(core_ops) <= 3
    stores = collections.Counter()
    for core_ops in case.ops:
        for op in core_ops:
            if op[0] in ("st", "xchg"):
                stores[(op[1], op[-1])] += 1
    assert all(n == 1 for n in stores.values()), "store values are unique per variable"


@settings(max_examples=25)
@given(litmus_programs(max_cores=3, max_ops=3, rmw=True, packed=None),
       configs(cores=3, models=("sc",)))
def test_sc_machine_only_produces_sc_outcomes(case, config):
    program, observe = case
    values, statuses = coherence.run_batch(program, config.replace(max_cycles=100_000), 30,
                                           seed=7, observe=observe, check=True)
    assert set(statuses) == {"halted"}
    allowed = sc_outcomes(case)
    for row in values:
        assert tuple(int(v) for v in row) in allowed, case.state(row)


@settings(max_examples=15)
@given(litmus_programs(min_cores=2, max_cores=4, max_ops=4), configs(cores=4, models=("tso",)))
def test_tso_machine_keeps_coherence_on_generated_tests(case, config):
    program, observe = case
    _, statuses = coherence.run_batch(program, config.replace(max_cycles=100_000), 20,
                                      seed=3, observe=observe, check=True)
    assert set(statuses) == {"halted"}


# ----------------------------------------------------------------------------- the machine

def _run(machine, examples=60, steps=12):
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, derandomize=True, database=None,
        deadline=None, report_multiple_bugs=False, print_blob=False,
        suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("protocol", [MSI, MESI, MOESI, MESIF, DRAGON], ids=lambda p: p.name)
def test_the_machine_passes_on_the_real_tables(protocol):
    _run(protocol_machine(protocol, max_steps=12))


@pytest.mark.parametrize("options", [dict(model="tso"), dict(sequential=False, cores=4)],
                         ids=["tso", "concurrent"])
def test_the_machine_passes_in_its_other_modes(options):
    _run(protocol_machine(MOESI, max_steps=12, **options), examples=30)


@pytest.mark.parametrize("protocol, expected", [
    (broken.MESI_BUSRDX_KEEPS_SHARED, "single-writer/multiple-readers violated"),
    # check=True's end-of-run memory check sees the lost value before the kit's own check.
    (broken.MOESI_OWNER_DROPPED, "memory of address 0x0 holds 0, the latest value"),
], ids=["mesi-busrdx-keeps-shared", "moesi-owner-dropped"])
def test_the_machine_finds_and_shrinks_each_broken_protocol(protocol, expected):
    with pytest.raises(ProtocolCheckFailure) as info:
        _run(protocol_machine(protocol, cores=3, variables=1, max_steps=10), examples=100,
             steps=10)
    failure = info.value
    assert len(failure.steps) <= 6, failure.steps
    assert any(expected in p for p in failure.problems), failure.problems
    assert failure.program_text.count("; step ") == len(failure.steps)
    # The report replays: the same program fails on its own, and passes on the real table.
    program = coherence.assemble(failure.program_text)
    good = MESI if protocol.name.startswith("mesi") else MOESI
    cfg = protocol_machine(protocol, cores=3, variables=1).config()
    coherence.run(program, cfg.replace(protocol=good), check=True)


def test_find_bug_helper_of_the_example():
    assert broken.find_bug(MESI, max_examples=20, variables=1) is None
    failure = broken.find_bug(broken.MOESI_OWNER_DROPPED, variables=1)
    assert failure is not None and len(failure.steps) <= 6
    kinds = [s.split(": ")[1].split()[0] for s in failure.steps]
    assert kinds.count("evict") >= 1 and kinds.count("store") >= 1


def test_steps_happen_in_rule_order():
    """Sequential mode: each load sees exactly the stores of earlier steps."""
    m = protocol_machine(MESI, cores=2, variables=2)()
    m.do_store(0, "v0")                 # writes 1
    m.do_load(1, "v0")                  # must see 1
    m.do_load(1, "v1")                  # 0
    m.do_rmw(1, "v0")                   # reads 1, writes 2
    m.do_evict(1, "v0")
    m.do_load(0, "v0")                  # 2, from memory after core 1's write-back
    m.coherent()                        # checks the whole sequence; raises on any problem
    r = coherence.run(coherence.assemble(m.program_text()), m.config())
    assert [r.registers[1][f"r{i}"] for i in (1, 2, 3)] == [1, 0, 1]
    assert r.registers[0]["r1"] == 2 and r.memory["v0"] == 2
    assert r.stats["bus"]["WriteBack"] == 1   # the evicted M line was written back


def test_a_failure_report_names_the_steps_and_the_program():
    m = protocol_machine(broken.MOESI_OWNER_DROPPED, cores=2, variables=1)()
    m.do_store(0, "v0")
    m.do_load(1, "v0")
    m.coherent()                        # fine so far: core 0 owns the line
    m.do_evict(0, "v0")
    with pytest.raises(ProtocolCheckFailure) as info:
        m.coherent()
    text = str(info.value)
    assert "protocol 'moesi-owner-dropped' fails after 3 step(s)" in text
    assert "1. core 0: store v0 = 1" in text and "3. core 0: evict v0" in text
    assert "ld r15, [evict_v0]" in text


def test_protocol_machine_rejects_bad_shapes():
    with pytest.raises(ValueError):
        protocol_machine(MESI, cores=0)
    with pytest.raises(coherence.CoherenceError, match="unknown protocol"):
        protocol_machine("mosi")
    with pytest.raises(coherence.CoherenceError, match="mem_latency"):
        protocol_machine(MESI, mem_latency=0)


# How a user adds the kit to a test suite: one line; pytest collects it as a unittest case.
TestMSIProtocol = protocol_machine(MSI, max_steps=10).TestCase
TestMSIProtocol.settings = settings(TestMSIProtocol.settings, max_examples=25)
