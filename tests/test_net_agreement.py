"""The jitted engine of the message interconnects (coherence/engine/net.py) against the
plain-Python reference model (coherence/netref.py): identical ``RunResult.to_dict()`` on
random programs, traces, machines and seeds, and the same error fields when both raise.

The default run is a few hundred examples (about a minute); the ``slow`` ones are the big
version (``pytest -m slow``)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coherence import SystemConfig, assemble
from coherence.engine._netlayout import WHEEL
from coherence.engine.net import run_net, run_net_trace
from coherence.errors import CoherenceError
from coherence.netref import run_net_reference, run_net_trace_reference
from coherence.protocols import DIR_MESI, DIR_MSI, SPLIT_MESI, SPLIT_MSI
from coherence.protocols.primer import SPLIT_MOESI
from coherence.testing import programs, traces

PRIMER = (DIR_MSI, DIR_MESI, SPLIT_MSI, SPLIT_MESI, SPLIT_MOESI)


@st.composite
def net_configs(draw, cores=4):
    """Random machines of the four Primer tables: tiny caches (replacements), both
    topologies, SC and TSO, 1..2 MSHRs, jitter, issue jitter, drain delay, start skew and
    random arbitration."""
    proto = draw(st.sampled_from(PRIMER))
    line = draw(st.sampled_from([8, 16, 64]))
    ways = draw(st.sampled_from([1, 2, 4]))
    sets = draw(st.sampled_from([1, 2]))
    directory = proto.interconnect == "directory"
    return SystemConfig(
        cores=cores, protocol=proto, interconnect=proto.interconnect,
        topology=draw(st.sampled_from(["crossbar", "mesh"])) if directory else "crossbar",
        model=draw(st.sampled_from(["sc", "tso"])), line_size=line, l1_ways=ways,
        l1_size=line * ways * sets, mshrs=draw(st.integers(1, 2)),
        store_buffer=draw(st.integers(1, 4)),
        arbitration=draw(st.sampled_from(["round-robin", "fixed", "random"])),
        hit_latency=draw(st.integers(1, 3)), bus_latency=draw(st.integers(1, 5)),
        mem_latency=draw(st.integers(1, 30)), c2c_latency=draw(st.integers(1, 15)),
        net_latency=draw(st.integers(1, 8)), hop_latency=draw(st.integers(1, 3)),
        start_skew=draw(st.integers(0, 20)), jitter=draw(st.integers(0, 6)),
        drain_delay=draw(st.integers(0, 10)), issue_jitter=draw(st.sampled_from([0, 0, 3])),
        timeline_window=draw(st.sampled_from([0, 0, 7])),
        stats=draw(st.sampled_from(["basic", "full"])),
        max_cycles=draw(st.sampled_from([200_000, 200_000, 300])),
        progress_window=draw(st.sampled_from([0, 0, 150])))


def outcome(fn):
    """A run's dict, or its error's type and fields (errors are compared by field)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn().to_dict()
        except CoherenceError as e:
            return ("CoherenceError", str(e))
        except AssertionError as e:          # InvariantViolation and ProtocolError
            return (type(e).__name__, e.fields())


def agree_program(program, config, seed, check):
    eng = outcome(lambda: run_net(program, config, seed=seed, check=check))
    ref = outcome(lambda: run_net_reference(program, config, seed=seed, check=check))
    assert eng == ref


def agree_trace(trace, config, seed, check):
    writes, addrs = trace
    eng = outcome(lambda: run_net_trace(writes, addrs, config, seed=seed, check=check))
    ref = outcome(lambda: run_net_trace_reference(writes, addrs, config, seed=seed,
                                                  check=check))
    assert eng == ref


FAST = dict(deadline=None, suppress_health_check=list(HealthCheck))


@settings(max_examples=150, **FAST)
@given(programs(), net_configs(), st.integers(0, 2**32), st.booleans())
def test_programs_agree(program, config, seed, check):
    agree_program(program, config, seed, check)


@settings(max_examples=150, **FAST)
@given(traces(max_len=40, lines=8), net_configs(), st.integers(0, 2**32), st.booleans())
def test_traces_agree(trace, config, seed, check):
    agree_trace(trace, config, seed, check)


@pytest.mark.slow
@settings(max_examples=1500, **FAST)
@given(programs(max_len=20), net_configs(), st.integers(0, 2**32), st.booleans())
def test_programs_agree_long(program, config, seed, check):
    agree_program(program, config, seed, check)


@pytest.mark.slow
@settings(max_examples=1000, **FAST)
@given(traces(max_len=120, lines=16), net_configs(), st.integers(0, 2**32), st.booleans())
def test_traces_agree_long(trace, config, seed, check):
    agree_trace(trace, config, seed, check)


@st.composite
def runahead_configs(draw, cores=4):
    """Machines on which the engine runs trace cores ahead (SC, no issue jitter, no check):
    caches big enough for long runs of hits, short latencies so that messages and runs of
    hits interleave, the watchdog and cycle limits, the timeline and full stats."""
    proto = draw(st.sampled_from(PRIMER))
    directory = proto.interconnect == "directory"
    line = draw(st.sampled_from([8, 16, 64]))
    ways = draw(st.sampled_from([1, 2, 4]))
    return SystemConfig(
        cores=cores, protocol=proto, interconnect=proto.interconnect,
        topology=draw(st.sampled_from(["crossbar", "mesh"])) if directory else "crossbar",
        model="sc", line_size=line, l1_ways=ways,
        l1_size=line * ways * draw(st.sampled_from([1, 2, 8])),
        mshrs=draw(st.integers(1, 2)),
        arbitration=draw(st.sampled_from(["round-robin", "fixed", "random"])),
        hit_latency=draw(st.integers(1, 3)), bus_latency=draw(st.integers(1, 4)),
        mem_latency=draw(st.integers(1, 12)), c2c_latency=draw(st.integers(1, 8)),
        net_latency=draw(st.integers(1, 4)), hop_latency=draw(st.integers(1, 2)),
        start_skew=draw(st.integers(0, 30)), jitter=draw(st.integers(0, 3)),
        timeline_window=draw(st.sampled_from([0, 0, 5])),
        stats=draw(st.sampled_from(["basic", "full"])),
        max_cycles=draw(st.sampled_from([200_000, 200_000, 150])),
        progress_window=draw(st.sampled_from([0, 0, 40])))


@settings(max_examples=150, **FAST)
@given(traces(max_len=120, lines=6), runahead_configs(), st.integers(0, 2**32))
def test_runahead_traces_agree(trace, config, seed):
    """Traces the engine runs ahead (long runs of hits between messages) agree."""
    agree_trace(trace, config, seed, False)


@st.composite
def far_configs(draw):
    """Machines whose messages arrive about WHEEL cycles after their send, some just under
    (the engine's wheel of arrival cycles), some at or just over (its heap), so that the
    two hold messages of the same arrival cycle and must give them in seq order."""
    near = st.integers(WHEEL - 40, WHEEL + 10)
    return replace(draw(net_configs()), mem_latency=draw(near), c2c_latency=draw(near),
                   net_latency=draw(st.sampled_from([1, 3, WHEEL - 2, WHEEL - 1, WHEEL])),
                   bus_latency=draw(st.sampled_from([1, WHEEL - 1, WHEEL])),
                   jitter=draw(st.integers(0, 20)), progress_window=0,
                   max_cycles=draw(st.sampled_from([400_000, 400_000, 3000])))


@settings(max_examples=100, **FAST)
@given(programs(max_len=12), far_configs(), st.integers(0, 2**32), st.booleans())
def test_far_arrivals_agree(program, config, seed, check):
    agree_program(program, config, seed, check)


@settings(max_examples=60, **FAST)
@given(traces(max_len=40, lines=8), far_configs(), st.integers(0, 2**32))
def test_far_arrivals_traces_agree(trace, config, seed):
    agree_trace(trace, config, seed, False)


def agree_watched(program, config, seed, watch):
    """The engine's watch= logs (and result) are the reference model's."""
    def both(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = fn()
            except CoherenceError as e:
                return ("CoherenceError", str(e))
            except AssertionError as e:
                return (type(e).__name__, e.fields())
        return r.to_dict(), r.messages, r.line_states
    eng = both(lambda: run_net(program, config, seed=seed, watch=watch))
    ref = both(lambda: run_net_reference(program, config, seed=seed, watch=watch))
    assert eng == ref


@settings(max_examples=100, **FAST)
@given(programs(), net_configs(), st.integers(0, 2**32), st.data())
def test_watched_programs_agree(program, config, seed, data):
    """watch= on random programs: the messages and state changes of the watched lines."""
    symbols = program.symbol_names
    watch = data.draw(st.lists(st.sampled_from(symbols), max_size=3)) if symbols else []
    agree_watched(program, config, seed, watch)


EXAMPLES = ("spinlock_ttas.s", "spinlock_ticket.s", "producer_consumer.s", "sb.s",
            "false_sharing.s")


@pytest.mark.parametrize("proto", PRIMER, ids=lambda p: p.name)
@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_agree(proto, name):
    """The shipped examples on every Primer table, a crossbar and a mesh, SC and TSO."""
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "examples")
    program = assemble(open(os.path.join(root, name)).read(), name)
    topologies = ("crossbar", "mesh") if proto.interconnect == "directory" else ("crossbar",)
    for topology in topologies:
        for model in ("sc", "tso"):
            cfg = SystemConfig(cores=program.cores, protocol=proto,
                               interconnect=proto.interconnect, topology=topology,
                               model=model, stats="full", timeline_window=100)
            agree_program(program, cfg, 1, True)
            agree_watched(program, cfg, 2, program.symbol_names[:2])


@pytest.mark.parametrize("cores", [3, 6, 12])
@pytest.mark.parametrize("proto", (DIR_MSI, DIR_MESI), ids=lambda p: p.name)
def test_odd_meshes_agree(proto, cores):
    """Core counts that are not powers of two (the homes' slices by division, not a mask)
    on meshes whose columns are not either (3 and 6 cores: 2 and 3 columns, a partial last
    row)."""
    rng = np.random.default_rng(cores)
    n = 120
    writes = [(rng.random(n) < 0.3).astype(np.uint8) for _ in range(cores)]
    addrs = [(rng.integers(0, 96, n) * 8).astype(np.int64) for _ in range(cores)]
    for topology in ("crossbar", "mesh"):
        cfg = SystemConfig(cores=cores, protocol=proto, interconnect="directory",
                           topology=topology, line_size=16, l1_size=256, l1_ways=2, jitter=2,
                           stats="full")
        agree_trace((writes, addrs), cfg, 3, True)


@pytest.mark.parametrize("proto", PRIMER, ids=lambda p: p.name)
def test_bigger_machines_agree(proto):
    """16 cores on a random shared trace: many sharers, invalidation fan-out, queues."""
    rng = np.random.default_rng(7)
    n = 150
    writes = [(rng.random(n) < 0.3).astype(np.uint8) for _ in range(16)]
    addrs = [(rng.integers(0, 64, n) * 8).astype(np.int64) for _ in range(16)]
    topologies = ("crossbar", "mesh") if proto.interconnect == "directory" else ("crossbar",)
    for topology in topologies:
        cfg = SystemConfig(cores=16, protocol=proto, interconnect=proto.interconnect,
                           topology=topology, line_size=16, l1_size=256, l1_ways=2, jitter=2,
                           stats="full")
        agree_trace((writes, addrs), cfg, 5, True)
