"""The jitted engine and the plain-Python reference model agree exactly (docs/machine.md)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import coherence
from coherence import SystemConfig, run, run_trace
from coherence.reference import run_reference, run_trace_reference
from coherence.testing import configs, programs, traces

from conftest import ROOT


@given(programs(), configs(), st.integers(0, 2**64 - 1))
def test_engine_equals_reference_on_random_programs(program, config, seed):
    assert run(program, config, seed=seed).to_dict() == \
        run_reference(program, config, seed=seed).to_dict()


@given(traces(), configs(), st.integers(0, 1000))
def test_engine_equals_reference_on_random_traces(tr, config, seed):
    writes, addrs = tr
    config = config.replace(progress_window=50)
    assert run_trace(writes, addrs, config, seed=seed).to_dict() == \
        run_trace_reference(writes, addrs, config, seed=seed).to_dict()


@pytest.mark.parametrize("name", ["spinlock_ttas.s", "producer_consumer.s", "false_sharing.s"])
@pytest.mark.parametrize("model", ["sc", "tso"])
def test_engine_equals_reference_on_examples(name, model):
    prog = coherence.load_program(f"{ROOT}/examples/{name}")
    prog_cores = max(prog.cores, 1)
    for proto in ("msi", "mesi", "moesi"):
        cfg = SystemConfig(cores=prog_cores, protocol=proto, model=model, arbitration="random",
                           jitter=3, start_skew=10, drain_delay=4, timeline_window=200,
                           l1_size=1024, l1_ways=2, line_size=32)
        assert run(prog, cfg, seed=5).to_dict() == run_reference(prog, cfg, seed=5).to_dict()


def test_engine_equals_reference_on_watchdog_endings():
    spin = coherence.assemble(".data\nx: 0\n.core 0\nloop: ld r1, [x]\n  beq r1, 0, loop\n")
    for cfg in (SystemConfig(cores=1, max_cycles=3000, progress_window=0),
                SystemConfig(cores=1, max_cycles=10**6, progress_window=777)):
        assert run(spin, cfg).to_dict() == run_reference(spin, cfg).to_dict()
