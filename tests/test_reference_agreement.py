"""The jitted engine and the plain-Python reference model agree exactly (docs/machine.md)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import coherence
from coherence import SystemConfig, run, run_trace
from coherence.errors import InvariantViolation
from coherence.protocols.standard import MESI
from coherence.protocols.table import Impossible, Protocol, T
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


# Between bus events the engine runs each core ahead on its own (docs/machine.md, "Run-ahead")
# when nothing in those cycles draws from the RNG.  These tests keep it on (no issue jitter,
# no drain delay) and add the watchdog and max_cycles endings it must stop short of.

def _ahead(config, window, max_cycles):
    return config.replace(issue_jitter=0, drain_delay=0, progress_window=window,
                          max_cycles=max_cycles)


@given(programs(), configs(), st.integers(0, 2**64 - 1), st.sampled_from([0, 0, 5, 30]),
       st.sampled_from([200_000, 200_000, 60, 400]))
def test_engine_equals_reference_when_cores_run_ahead(program, config, seed, window, maxc):
    config = _ahead(config, window, maxc)
    assert run(program, config, seed=seed).to_dict() == \
        run_reference(program, config, seed=seed).to_dict()


@given(traces(max_len=120, lines=40), configs(), st.integers(0, 1000),
       st.sampled_from([0, 0, 3, 40]), st.sampled_from([200_000, 200_000, 90, 700]),
       st.sampled_from(["mesi", "moesi", "msi", "silent-downgrade"]), st.booleans())
def test_engine_equals_reference_on_traces_run_ahead(tr, config, seed, window, maxc, proto,
                                                     alias):
    writes, addrs = tr
    # Bigger caches than configs() draws: long runs of hits are what run-ahead skips over.
    config = _ahead(config, window, maxc).replace(
        l1_size=config.line_size * config.l1_ways * 8,
        protocol=_SILENT_DOWNGRADE if proto == "silent-downgrade" else proto)
    if alias:
        # Lines 2**14 apart share a bucket of the engine's snoop filter: it must still snoop.
        shift = 14 + config.line_size.bit_length() - 1
        addrs = [a + (((a >> 3) % 3) << shift) for a in addrs]
    assert run_trace(writes, addrs, config, seed=seed).to_dict() == \
        run_trace_reference(writes, addrs, config, seed=seed).to_dict()


def _mesi_with(name, pair, entry):
    """MESI with one entry of its table replaced."""
    table = dict(MESI.table)
    table[pair] = entry
    return Protocol(name, MESI.states, table)


# A load hit on E silently drops the line to S: a hit that changes which later hits are hits,
# so the engine may not foresee a core's run of hits from its cache alone.
_SILENT_DOWNGRADE = _mesi_with("mesi-silent-downgrade", ("E", "Load"), T("S"))

# A load of a modified line is an error entry: any core that stores and then loads the line
# stops the run, so runs end in errors at many different cycles.
_FRAGILE = _mesi_with("mesi-fragile", ("M", "Load"),
                      Impossible("a test protocol: no load of a modified line"))


def _outcome(fn):
    try:
        return fn().to_dict()
    except InvariantViolation as e:  # ProtocolError included: the same fields from both
        return e.fields()


@given(traces(max_len=80, lines=20), configs(), st.integers(0, 1000))
def test_the_error_reported_is_the_earliest_one_with_run_ahead(tr, config, seed):
    writes, addrs = tr
    config = _ahead(config, 0, 200_000).replace(protocol=_FRAGILE,
                                                l1_size=config.line_size * config.l1_ways * 8)
    assert _outcome(lambda: run_trace(writes, addrs, config, seed=seed)) == \
        _outcome(lambda: run_trace_reference(writes, addrs, config, seed=seed))


@given(programs(), configs(), st.integers(0, 2**64 - 1))
def test_the_error_reported_is_the_earliest_one_in_programs(program, config, seed):
    config = _ahead(config, 0, 200_000).replace(protocol=_FRAGILE)
    assert _outcome(lambda: run(program, config, seed=seed)) == \
        _outcome(lambda: run_reference(program, config, seed=seed))


# With the bus idle, a core whose miss is the earliest by itself, on a line no other cache
# holds, has its transactions run one after another without the cycle loop (the kernel's
# _served_alone).  These traces make that common: one or two cores, long traces over more
# lines than the cache holds, other cores short; timelines that fill up, watchdog endings,
# random arbitration and bus jitter (the RNG draws must stay in order).

@given(st.integers(1, 3), st.integers(0, 1000), st.sampled_from(["mesi", "moesi", "msi"]),
       st.sampled_from([0, 0, 7, 60]), st.sampled_from([0, 0, 25]),
       st.sampled_from([200_000, 200_000, 900]), st.data())
def test_engine_equals_reference_when_one_core_is_served_alone(cores, seed, proto, tlwin,
                                                               window, maxc, data):
    rng = __import__("numpy").random.default_rng(seed)
    writes, addrs = [], []
    for c in range(cores):
        n = int(rng.integers(100, 400)) if c == 0 else int(rng.integers(0, 30))
        writes.append((rng.random(n) < 0.3).astype("uint8"))
        addrs.append(rng.integers(0, 64, n).astype("int64") * 8)
    config = SystemConfig(cores=cores, protocol=proto, line_size=8, l1_ways=2, l1_size=64,
                          arbitration=data.draw(st.sampled_from(["round-robin", "fixed",
                                                                 "random"])),
                          jitter=data.draw(st.integers(0, 3)),
                          mem_latency=data.draw(st.integers(1, 30)), timeline_window=tlwin,
                          progress_window=window, max_cycles=maxc)
    assert run_trace(writes, addrs, config, seed=seed).to_dict() == \
        run_trace_reference(writes, addrs, config, seed=seed).to_dict()
