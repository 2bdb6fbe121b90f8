"""The engine of the message interconnects on its own: hand-computed timings from
docs/machine.md ("Message interconnects"), slicing (Ctrl-C) that changes nothing, big core
counts, bad inputs, and the dispatch of coherence.run / run_trace / run_batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import coherence
import coherence.engine as engine
from coherence import SystemConfig, assemble
from coherence.engine.net import run_net, run_net_trace
from coherence.errors import CoherenceError, ProtocolError

ONE_LOAD = """
.data
x: 5
.core 0
    ld r1, [x]
    halt
"""


def one(interconnect, **kw):
    return SystemConfig(cores=1, protocol="msi", interconnect=interconnect, **kw)


def test_directory_crossbar_load_miss():
    # t=0 I,Load -> IS^D, GetS to home 1 (node 1): arrives 0 + net 6 = 6.  The home (I,GetS)
    # sends Data from memory: t0 = 6 + mem 40, arrives 46 + 6 = 52; (IS^D, Data ack=0) -> S,
    # perform at 52 (stall 52), ready 53; halt at 53: cycles 54.
    r = run_net(assemble(ONE_LOAD), one("directory"))
    assert (r.status, r.cycles) == ("halted", 54)
    assert r.registers[0]["r1"] == 5
    c = r.stats["cores"][0]
    assert (c["misses"], c["hits"], c["stall_cycles"], c["instructions"]) == (1, 0, 52, 1)
    net = r.stats["network"]
    assert net["messages"]["GetS"] == 1 and net["messages"]["Data"] == 1
    assert net["bytes"] == 8 + 8 + 64 and net["home_lookups"] == 1 and net["stalls"] == 0


def test_split_bus_load_miss():
    # t=0 I,Load -> IS^AD, GetS to the bus queue; phase 3 grants it at 0, arriving at 4
    # (bus_free 4, busy 4).  t=4: Own-GetS -> IS^D; memory (IorS, GetS) sends Data: 4 + 40.
    # t=44: (IS^D, Data) -> S, perform; halt at 45: cycles 46.
    r = run_net(assemble(ONE_LOAD), one("split-bus"))
    assert (r.status, r.cycles) == ("halted", 46)
    net = r.stats["network"]
    assert (net["bus_grants"], net["busy_cycles"], net["home_lookups"]) == (1, 4, 1)
    assert r.stats["bus"]["busy_cycles"] == 4


def test_mesh_hops_and_flits():
    # 4 cores on a 2x2 mesh; core 0 loads line 3 (home node 7, tile 3 at (1,1)).
    # GetS (1 flit): +x link at 0 -> 2, +y at 2 -> 4, arrives 4 + 1 - 1 = 4.
    # Data (8 + 64 bytes: 5 flits) from t0 = 4 + 40: -x at 44 -> 46, -y at 46 -> 48,
    # arrives 48 + 5 - 1 = 52; performed at 52, the trace ends: halted at 53, cycles 54.
    cfg = SystemConfig(cores=4, protocol="msi", interconnect="directory", topology="mesh",
                       stats="full")
    r = run_net_trace([[0], [], [], []], [[3 * 64], [], [], []], cfg)
    assert r.cycles == 54
    net = r.stats["network"]
    assert net["hops"] == 4
    links = net["links"]
    assert links[4 * 0 + 0] == 1 and links[4 * 1 + 2] == 1      # GetS: +x at 0, +y at 1
    assert links[4 * 3 + 1] == 5 and links[4 * 2 + 3] == 5      # Data: -x at 3, -y at 2
    assert sum(links) == 12


def test_hits_after_a_miss():
    # The second load of the line hits: ready at t + hit_latency.
    prog = assemble(".data\nx: 1\n.core 0\n ld r1, [x]\n ld r2, [x]\n halt\n")
    r = run_net(prog, one("directory"))
    assert r.cycles == 55 and r.stats["cores"][0]["hits"] == 1


def run_in_slices(monkeypatch, fn, slice_):
    monkeypatch.setattr(engine, "SLICE", slice_)
    return fn()


@pytest.mark.parametrize("interconnect", ["split-bus", "directory"])
def test_slices_change_nothing(monkeypatch, interconnect):
    """A kernel that returns to Python every 7 cycle-loop steps (as for Ctrl-C) computes
    the same run as one that does not."""
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "examples")
    prog = assemble(open(os.path.join(root, "spinlock_ttas.s")).read(), "spinlock_ttas.s")
    for model in ("sc", "tso"):
        cfg = SystemConfig(cores=4, interconnect=interconnect, model=model, jitter=3,
                           issue_jitter=2, stats="full", timeline_window=64)
        whole = run_net(prog, cfg, seed=9).to_dict()
        cut = run_in_slices(monkeypatch, lambda: run_net(prog, cfg, seed=9), 7).to_dict()
        monkeypatch.setattr(engine, "SLICE", 1 << 18)
        assert cut == whole


def test_big_core_counts():
    """256 cores on a mesh directory and 64 on the split bus run a shared trace to the end."""
    rng = np.random.default_rng(3)
    for cores, ic, topo in ((256, "directory", "mesh"), (256, "directory", "crossbar"),
                            (64, "split-bus", "crossbar")):
        n = 200
        writes = [(rng.random(n) < 0.2).astype(np.uint8) for _ in range(cores)]
        addrs = [(rng.integers(0, 512, n) * 8).astype(np.int64) for _ in range(cores)]
        cfg = SystemConfig(cores=cores, interconnect=ic, topology=topo)
        r = run_net_trace(writes, addrs, cfg)
        assert r.status == "halted"
        assert r.stats["totals"]["loads"] + r.stats["totals"]["stores"] == cores * n


def test_pool_growth_is_the_same_run():
    """A message pool too small for the run makes the driver run it again bigger."""
    from coherence.engine import net as netmod
    rng = np.random.default_rng(4)
    writes = [(rng.random(300) < 0.5).astype(np.uint8) for _ in range(32)]
    addrs = [(rng.integers(0, 16, 300) * 64).astype(np.int64) for _ in range(32)]
    cfg = SystemConfig(cores=32, interconnect="directory")
    big = run_net_trace(writes, addrs, cfg).to_dict()
    old = netmod.POOL_PER_NODE
    try:
        netmod.POOL_PER_NODE = 1
        small = run_net_trace(writes, addrs, cfg).to_dict()
    finally:
        netmod.POOL_PER_NODE = old
    assert small == big


@pytest.mark.parametrize("interconnect", ["split-bus", "directory"])
def test_home_record_growth_is_the_same_run(monkeypatch, interconnect):
    """A sparse trace's home records numbered in a table that starts tiny: the kernel stops for
    room again and again (STATUS_HGROW), the driver grows it, the run resumes the same; a
    check=True run that ends in an error reports the reference's fields."""
    from coherence.engine import net as netmod
    from coherence.netref import run_net_trace_reference
    rng = np.random.default_rng(8)
    writes = [(rng.random(400) < 0.4).astype(np.uint8) for _ in range(6)]
    # lines far apart: the trace's home records are hashed, not one per line of its span
    addrs = [(rng.integers(0, 300, 400) * 4097 * 64).astype(np.int64) for _ in range(6)]
    cfg = SystemConfig(cores=6, interconnect=interconnect, l1_size=1024, l1_ways=2,
                       stats="full", jitter=2)
    big = run_net_trace(writes, addrs, cfg, check=True).to_dict()
    monkeypatch.setattr(netmod, "HOME_RECORDS", 8)
    small = run_net_trace(writes, addrs, cfg, check=True).to_dict()
    assert small == big
    assert big == run_net_trace_reference(writes, addrs, cfg, check=True).to_dict()


def test_bad_inputs():
    cfg = SystemConfig(cores=2, interconnect="directory")
    with pytest.raises(CoherenceError):
        run_net_trace([[0]], [[-8]], cfg)
    with pytest.raises(CoherenceError):
        run_net_trace([[0, 1]], [[0]], cfg)
    with pytest.raises(CoherenceError):
        run_net_trace([[0]] * 3, [[0]] * 3, cfg)
    prog = assemble(".data\nx: 0\n.cores 3\n.core all\n ld r1, [x]\n")
    with pytest.raises(CoherenceError):
        run_net(prog, cfg)
    bad_addr = assemble(".data\nx: 0\n.core 0\n mov r2, 4096\n ld r1, [r2]\n")
    with pytest.raises(CoherenceError):
        run_net(bad_addr, cfg)


def test_impossible_entry_is_a_protocol_error():
    from coherence.protocols import DIR_MSI, Impossible
    broken = DIR_MSI.with_entries("broken", home={("I", "GetS"): Impossible("no reads")})
    cfg = SystemConfig(cores=1, protocol=broken, interconnect="directory")
    with pytest.raises(ProtocolError) as e:
        run_net(assemble(ONE_LOAD), cfg)
    assert e.value.kind == "protocol" and e.value.node == "home 1" and e.value.cycle == 6
    assert e.value.message == "GetS from cache 0 for cache 0"


def test_dispatch_and_batch():
    prog = assemble(ONE_LOAD)
    cfg = one("directory")
    assert coherence.run(prog, cfg).to_dict() == run_net(prog, cfg).to_dict()
    assert (coherence.run_trace([[0]], [[0]], cfg).to_dict()
            == run_net_trace([[0]], [[0]], cfg).to_dict())
    values, statuses = coherence.run_batch(prog, cfg, 3, observe=[("reg", 0, 1), ("mem", "x")])
    assert values.tolist() == [[5, 5]] * 3 and statuses == ["halted"] * 3


def test_watchdog_warns():
    prog = assemble(".data\nx: 0\n.core 0\nl: ld r1, [x]\n jmp l\n")
    cfg = one("directory", max_cycles=500)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = run_net(prog, cfg)
    assert r.status == "max_cycles" and r.cycles == 500 and w
