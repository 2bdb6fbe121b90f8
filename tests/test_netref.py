"""The plain-Python reference model of the message interconnects (coherence/netref.py):
hand-computed timings from the latencies of docs/machine.md ("Message interconnects"),
programs with exact results under check=True on the four Primer tables, random programs and
traces (hypothesis), the race paths reached, and bad user tables reported as ProtocolError.

Every expected number in the hand-computed tests is worked out from the spec (the comments
show the timeline), independently of the implementation."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coherence.asm import assemble
from coherence.config import SystemConfig
from coherence.errors import (CoherenceError, InvariantViolation, PartialResultWarning,
                              ProtocolError)
from coherence.netref import (Message, NetReferenceMachine, Network, prepare_net_program,
                              run_net_reference, run_net_trace_reference)
from coherence.protocols import (DIR_MESI, DIR_MSI, SPLIT_MESI, SPLIT_MSI, STALL, Impossible,
                                 do, send)
from coherence.protocols.primer import SPLIT_MOESI
from coherence.reference import run_reference, run_trace_reference
from coherence.testing import programs, traces

PRIMER = (DIR_MSI, DIR_MESI, SPLIT_MSI, SPLIT_MESI)
#: (protocol, topology) of every shipped directory/split-bus machine of the four tables.
MACHINES = [(DIR_MSI, "crossbar"), (DIR_MSI, "mesh"), (DIR_MESI, "crossbar"),
            (DIR_MESI, "mesh"), (SPLIT_MSI, "crossbar"), (SPLIT_MESI, "crossbar")]


def ids(x):
    if isinstance(x, tuple):
        return f"{x[0].name}-{x[1]}"
    return getattr(x, "name", str(x))


def cfg(proto, topology="crossbar", **kw):
    kw.setdefault("cores", 4)
    return SystemConfig(protocol=proto, interconnect=proto.interconnect, topology=topology,
                        **kw)


def small(proto, topology="crossbar", **kw):
    """Tiny caches: 2 sets of 2 ways, so that lines are replaced (and evictions race)."""
    kw.setdefault("line_size", 16)
    kw.setdefault("l1_ways", 2)
    kw.setdefault("l1_size", kw["line_size"] * kw["l1_ways"] * 2)
    return cfg(proto, topology, **kw)


def jitter_for(proto, j):
    """Jitter on every interconnect (on the split bus it delays grants, so check=True holds:
    see test_split_bus_jitter_race)."""
    return j


LOAD1 = ".data\nx: 0\n.core 0\n ld r1, [x]\n"


# ============================================================= hand-computed figures

def test_load_miss_directory_crossbar():
    # t=0 GetS -> home 4 arrives 0+6; the home's Data (from memory) t0 = 6+40, arrives 52;
    # IS^D,Data from Dir (ack=0) performs at 52 (latency 52); ready 53, halts at 53 -> 54
    r = run_net_reference(assemble(LOAD1), cfg(DIR_MSI, stats="full"), check=True)
    assert (r.status, r.cycles) == ("halted", 54)
    assert r.stats["cores"][0]["miss_latency"]["mean"] == 6 + 40 + 6
    net = r.stats["network"]
    assert net["messages"]["GetS"] == 1 and net["messages"]["Data"] == 1
    assert net["bytes"] == 8 + (8 + 64) and net["home_lookups"] == 1 and net["stalls"] == 0
    assert r.stats["transitions"] == {"cache:I,Load": 1, "home:I,GetS": 1,
                                      "cache:IS^D,Data from Dir (ack=0)": 1}
    assert r.stats["cores"][0]["misses"] == 1 and r.stats["cores"][0]["hits"] == 0


def test_load_miss_directory_mesi_gets_exclusive():
    r = run_net_reference(assemble(LOAD1), cfg(DIR_MESI, stats="full"), check=True)
    assert r.cycles == 54
    assert r.stats["network"]["messages"]["Exclusive-Data"] == 1
    assert r.stats["transitions"]["cache:IS^D,Exclusive Data from Dir"] == 1


def test_load_miss_directory_mesh_same_tile():
    # one core: cache 0 and home slice 0 share tile 0: every message takes t0 + 1
    # GetS arrives 1; Data t0 = 1 + 40, arrives 42; halts 43 -> 44
    r = run_net_reference(assemble(LOAD1), cfg(DIR_MSI, "mesh", cores=1, stats="full"))
    assert r.cycles == 44 and r.stats["cores"][0]["miss_latency"]["mean"] == 42
    assert r.stats["network"]["hops"] == 0 and r.stats["network"]["links"] == [0, 0, 0, 0]


def test_load_miss_split_bus():
    # GetS joins cache 0's bus queue at 0, granted at 0 (phase 3): arrives 0+4 everywhere;
    # memory's Data arrives 4+40 = 44; performs at 44, halts 45 -> 46
    r = run_net_reference(assemble(LOAD1), cfg(SPLIT_MSI, stats="full"), check=True)
    assert (r.status, r.cycles) == ("halted", 46)
    assert r.stats["cores"][0]["miss_latency"]["mean"] == 4 + 40
    net = r.stats["network"]
    assert net["bus_grants"] == 1 and net["busy_cycles"] == 4
    assert r.stats["bus"]["busy_cycles"] == 4
    assert r.stats["transitions"] == {"cache:I,Load": 1, "cache:IS^AD,Own-GetS": 1,
                                      "cache:IS^D,Data": 1, "home:IorS,GetS": 1,
                                      "cache:I,Other-GetS": 3}


THREE_HOP = """.data
x: 0
.core 0
 st [x], 1
.core 1
 delay 100
 ld r1, [x]
"""


def test_three_hop_directory():
    # core 0: GetM at 0 -> home at 6: I,GetM -> M, Data(acks=0) 6+40+6 = 52: M, performs
    # core 1: delay 100 (ready at 100); GetS at 100 -> home 106: M,GetS -> S^D, Fwd-GetS to
    # the owner, arrives 112: M,Fwd-GetS -> S, Data to the requestor and the home, both at
    # 118: IS^D,Data from Owner performs (latency 18), S^D,Data -> S; halts 119 -> 120
    r = run_net_reference(assemble(THREE_HOP), cfg(DIR_MSI, cores=2, stats="full"),
                          check=True)
    assert r.cycles == 120 and r.registers[1]["r1"] == 1 and r.memory["x"] == 1
    cores = r.stats["cores"]
    assert cores[0]["miss_latency"]["mean"] == 52 and cores[1]["miss_latency"]["mean"] == 18
    msgs = r.stats["network"]["messages"]
    assert (msgs["GetM"], msgs["GetS"], msgs["Fwd-GetS"], msgs["Data"]) == (1, 1, 1, 3)
    assert r.stats["transitions"]["home:S^D,Data"] == 1


def test_cache_to_cache_split_bus():
    # core 0: GetM granted at 0, ordered at 4: memory's Data at 44 (M, performs)
    # core 1 at 100: GetS granted at 100, ordered at 104: cache 0 M,Other-GetS -> S and sends
    # Data to the requestor and memory (c2c, 104+12 = 116); memory M,GetS -> IorS^D
    # at 116: IS^D,Data performs (latency 16), IorS^D,Data -> IorS; halts 117 -> 118
    r = run_net_reference(assemble(THREE_HOP), cfg(SPLIT_MSI, cores=2, stats="full"),
                          check=True)
    assert r.cycles == 118 and r.registers[1]["r1"] == 1
    assert r.stats["cores"][1]["miss_latency"]["mean"] == 4 + 12
    assert r.stats["transitions"]["home:IorS^D,Data"] == 1


def _line3_load(cores_code):
    """``arr`` spans lines 0..3 (64-byte lines); the given cores load line 3 at t=0."""
    text = ".data\narr: .zero 32\n" + "".join(f".core {c}\n ld r1, [arr+192]\n"
                                              for c in cores_code)
    return assemble(text)


def test_mesh_two_hops():
    # 4 cores on a 2x2 mesh; line 3's home is slice 3 on tile 3 = (1,1); cache 0 at (0,0).
    # GetS (1 flit): link 0 (+x at router 0) at 0, time 2; link 6 (+y at router 1) at 2,
    # time 4; arrives 4 + 1 - 1 = 4.  Data (8+64 bytes = 5 flits), t0 = 4 + 40 = 44: link 13
    # (-x at router 3) at 44, time 46; link 11 (-y at router 2) at 46, time 48; arrives
    # 48 + 5 - 1 = 52.  Performs at 52, halts 53 -> 54.
    r = run_net_reference(_line3_load([0]), cfg(DIR_MSI, "mesh", stats="full"), check=True)
    assert r.cycles == 54 and r.stats["cores"][0]["miss_latency"]["mean"] == 52
    links = r.stats["network"]["links"]
    assert len(links) == 16
    assert {i: n for i, n in enumerate(links) if n} == {0: 1, 6: 1, 13: 5, 11: 5}
    assert r.stats["network"]["hops"] == 4


def test_mesh_link_contention():
    # cores 0 and 1 both send a GetS for line 3 at t=0 (core 0 first, in issue order).
    # core 0's: link 0 [0,1), time 2; link 6 booked [2,3), time 4; arrives 4.
    # core 1's (tile 1 = (1,0)): link 6 is free only at 3: start 3, time 5; arrives 5
    # (1 hop, 1 cycle late).  The home answers core 0 at 4: Data t0 = 44, links 13 and 11 as
    # above, arrives 52; core 1 at 5: t0 = 45, link 15 (-y at router 3) [45,50), time 47,
    # arrives 47 + 4 = 51.  Core 0 performs at 52 (halts 53), core 1 at 51 -> cycles 54.
    r = run_net_reference(_line3_load([0, 1]), cfg(DIR_MSI, "mesh", stats="full"),
                          check=True)
    cores = r.stats["cores"]
    assert cores[0]["miss_latency"]["mean"] == 52 and cores[1]["miss_latency"]["mean"] == 51
    assert r.cycles == 54
    links = r.stats["network"]["links"]
    assert {i: n for i, n in enumerate(links) if n} == {0: 1, 6: 2, 13: 5, 11: 5, 15: 5}
    assert r.stats["network"]["hops"] == 2 + 1 + 2 + 1


@pytest.mark.parametrize("mshrs,cycles,latencies", [(2, 55, [52, 52]), (1, 107, [52, 104])])
def test_mshr_limit(mshrs, cycles, latencies):
    # TSO, one core: t=0 the store is buffered (drain_ready 1); t=1 the drain unit's GetM for
    # x (outstanding), then the core's load of y.  mshrs=2: its GetS goes out at 1 too; both
    # Data arrive at 1+6+40+6 = 53 (seq order: x's first); the load performs at 53, the core
    # halts at 54 with an empty buffer -> 55.  mshrs=1: the load waits for the MSHR; the
    # store's perform at 53 wakes it: GetS at 53, Data at 53+52 = 105, halts 106 -> 107.
    prog = assemble(".data\nx: 0\ny: 0\n.core 0\n st [x], 1\n ld r1, [y]\n")
    r = run_net_reference(prog, cfg(DIR_MSI, cores=1, model="tso", mshrs=mshrs,
                                     stats="full"), check=True)
    assert r.cycles == cycles and r.memory["x"] == 1
    lat = r.stats["cores"][0]["miss_latency"]
    assert lat["count"] == 2 and lat["mean"] == sum(latencies) / 2
    assert r.stats["cores"][0]["misses"] == 2


class FakeRng:
    """rand() returns the given values in turn (to pin the jitter draws)."""

    def __init__(self, values):
        self.values = list(values)

    def rand(self, n):
        return self.values.pop(0) if n else 0


def test_ordered_vnet_clamp_with_jitter():
    config = cfg(DIR_MSI, jitter=5)      # net_latency 6; forward is ordered, response not
    comp = DIR_MSI.compiled()
    fwd = comp.vnets.index("forward")
    resp = comp.vnets.index("response")
    net = Network(config, 4, [int(o) for o in comp.ordered], FakeRng([5, 0, 5, 0, 0]))
    inv = comp.messages.index("Inv")
    ack = comp.messages.index("Inv-Ack")
    # home 4 -> cache 0 on the forward network: 10+5+6 = 21, then 11+0+6 = 17 -> clamped 21
    assert net.arrival(10, Message(inv, 4, 0, 1, 0), fwd, False) == (21, 0)
    assert net.arrival(11, Message(inv, 4, 0, 1, 0), fwd, False) == (21, 0)
    # the response network may reorder: 10+5+6 = 21, then 11+0+6 = 17
    assert net.arrival(10, Message(ack, 0, 1, 1, 0), resp, False) == (21, 0)
    assert net.arrival(11, Message(ack, 0, 1, 1, 0), resp, False) == (17, 0)
    # another pair of nodes on the forward network is not clamped by the first pair
    assert net.arrival(11, Message(inv, 4, 2, 1, 0), fwd, False) == (17, 0)


def test_split_bus_jitter_delays_grants_in_order():
    """A grant's request arrives everywhere bus_latency + rand(jitter) later and the bus is
    busy until then, so requests stay in bus order; a load miss's cycles vary with it."""
    cycles = set()
    for seed in range(12):
        r = run_net_reference(assemble(LOAD1), cfg(SPLIT_MSI, cores=1, jitter=6), seed=seed)
        cycles.add(r.cycles)
        assert r.stats["network"]["busy_cycles"] == r.cycles - 1 - 40 - 1
    assert len(cycles) > 1 and min(cycles) >= 4 + 40 + 2 and max(cycles) <= 4 + 6 + 40 + 2


def test_split_bus_data_network_latency():
    config = cfg(SPLIT_MSI, jitter=3)
    comp = SPLIT_MSI.compiled()
    data = comp.messages.index("Data")
    net = Network(config, 4, [0, 0], FakeRng([2, 1]))
    # fixed latencies: the split bus's jitter is on its grants, never on the data network
    assert net.arrival(7, Message(data, 4, 0, 0, 0), 1, True) == (7 + 40, 0)   # memory
    assert net.arrival(7, Message(data, 1, 0, 0, 0), 1, True) == (7 + 12, 0)   # a cache


class RecordingMachine(NetReferenceMachine):
    """Records every delivered point-to-point message (src, dst, vnet, seq, arrival)."""

    def receive(self, n, m, t):
        if m.dst >= 0 and n == m.dst:
            self.delivered.append((m.src, m.dst, self.msg_vnet[m.type], m.seq, t))
        super().receive(n, m, t)


@pytest.mark.parametrize("topology", ["crossbar", "mesh"])
def test_ordered_vnet_keeps_order_in_runs(topology):
    prog = assemble(COUNTER)
    seen_reorder = False
    for seed in range(6):
        machine, _ = prepare_net_program(prog, small(DIR_MSI, topology, jitter=9), seed)
        machine.__class__ = RecordingMachine
        machine.delivered = []
        assert machine.run()[0] == "halted"
        last = {}
        for src, dst, vnet, seq, t in machine.delivered:    # in delivery order
            key = (src, dst, vnet)
            if key in last and seq < last[key]:
                assert not DIR_MSI.compiled().ordered[vnet]
                seen_reorder = True
            last[key] = max(seq, last.get(key, -1))
    assert seen_reorder     # jitter does reorder the unordered networks


# ============================================================= programs

PINGPONG = """.data
flag: 0
.core 0
        mov r2, 0
a:      ld r1, [flag]
        bne r1, r2, a
        add r2, r2, 1
        st [flag], r2
        add r2, r2, 1
        blt r2, 10, a
.core 1
        mov r2, 1
b:      ld r1, [flag]
        bne r1, r2, b
        add r2, r2, 1
        st [flag], r2
        add r2, r2, 1
        blt r2, 11, b
"""

# four cores: a shared counter by faa, plus loads and stores of lines that share its set
COUNTER = """.data
cnt: 0
a: 0
b: 0
c: 0
d: 0
e: 0
.cores 4
.core all
        mov r2, 6
loop:   faa r1, [cnt], 1
        ld r3, [a]
        st [b], %core
        ld r4, [c]
        st [d], r2
        ld r5, [e]
        sub r2, r2, 1
        bne r2, 0, loop
"""

SB = """.data
x: 0
y: 0
.core 0
 st [x], 1
 ld r1, [y]
.core 1
 st [y], 1
 ld r1, [x]
"""

MP = """.data
x: 0
y: 0
.core 0
 st [x], 1
 st [y], 1
.core 1
 ld r1, [y]
 ld r2, [x]
"""


@pytest.mark.parametrize("machine", MACHINES, ids=ids)
@pytest.mark.parametrize("model", ["sc", "tso"])
@pytest.mark.parametrize("mshrs", [1, 2])
def test_pingpong_and_counter(machine, model, mshrs):
    proto, topology = machine
    for seed in range(2):
        config = small(proto, topology, model=model, mshrs=mshrs, start_skew=5,
                       jitter=jitter_for(proto, 4), issue_jitter=1, drain_delay=3)
        r = run_net_reference(assemble(PINGPONG), config, seed=seed, check=True)
        assert r.status == "halted" and r.memory["flag"] == 10
        r = run_net_reference(assemble(COUNTER), config, seed=seed, check=True)
        assert r.status == "halted" and r.memory["cnt"] == 24
        assert sorted(r.registers[c]["r1"] for c in range(4)) != [0, 0, 0, 0]
        assert r.stats["network"]["total_messages"] > 0


@pytest.mark.parametrize("machine", MACHINES, ids=ids)
@pytest.mark.parametrize("model", ["sc", "tso"])
def test_litmus_sb_mp(machine, model):
    proto, topology = machine
    sb, mp = set(), set()
    for seed, skew in itertools.product(range(8), (10, 250)):
        config = small(proto, topology, cores=2, model=model, start_skew=skew,
                       jitter=jitter_for(proto, 5), drain_delay=8)
        r = run_net_reference(assemble(SB), config, seed=seed, check=True)
        sb.add((r.registers[0]["r1"], r.registers[1]["r1"]))
        r = run_net_reference(assemble(MP), config, seed=seed, check=True)
        mp.add((r.registers[1]["r1"], r.registers[1]["r2"]))
    assert (1, 0) not in mp                 # MP is forbidden on SC and TSO
    if model == "sc":
        assert (0, 0) not in sb             # SB's 0/0 is forbidden on SC
    else:
        assert (0, 0) in sb                 # and the common outcome of TSO
    assert len(sb) >= 2


@pytest.mark.parametrize("machine", MACHINES + [(SPLIT_MOESI, "crossbar")], ids=ids)
def test_jitter_without_check_halts_with_exact_values(machine):
    """With jitter on every network (the split bus's included) the runs halt with exact
    results; only check=True's real-time invariants are affected on the split bus."""
    proto, topology = machine
    for seed in range(3):
        config = small(proto, topology, jitter=7, start_skew=9, model="tso")
        r = run_net_reference(assemble(COUNTER), config, seed=seed)
        assert r.status == "halted" and r.memory["cnt"] == 24
        r = run_net_reference(assemble(PINGPONG), config, seed=seed)
        assert r.memory["flag"] == 10


def test_runs_are_deterministic_and_seed_dependent():
    config = small(DIR_MESI, "mesh", jitter=5, start_skew=10, arbitration="random",
                   stats="full", timeline_window=25)
    a = run_net_reference(assemble(COUNTER), config, seed=3).to_dict()
    b = run_net_reference(assemble(COUNTER), config, seed=3).to_dict()
    c = run_net_reference(assemble(COUNTER), config, seed=4).to_dict()
    assert a == b and a != c
    tl = a["timeline"]
    assert tl["types"] == list(DIR_MESI.compiled().messages)
    assert sum(map(sum, tl["counts"])) == a["stats"]["network"]["total_messages"]


def test_reference_dispatches_and_mirrors_api():
    config = small(SPLIT_MESI, jitter=0, max_cycles=10_000)
    prog = assemble(COUNTER)
    assert (run_reference(prog, config, seed=1).to_dict()
            == run_net_reference(prog, config, seed=1).to_dict())
    w = [np.array([1, 0, 1], np.uint8), np.array([0, 0], np.uint8)]
    a = [np.array([0, 8, 64], np.int64), np.array([8, 0], np.int64)]
    assert (run_trace_reference(w, a, config, seed=2).to_dict()
            == run_net_trace_reference(w, a, config, seed=2).to_dict())
    # the same input checks
    with pytest.raises(CoherenceError):
        run_net_reference(prog, config.replace(cores=2))
    with pytest.raises(CoherenceError):
        run_net_trace_reference([np.array([1])], [np.array([-8])], config)
    with pytest.raises(CoherenceError):
        run_net_reference(prog, "not a config")
    # the watchdog and its warning
    with pytest.warns(PartialResultWarning):
        r = run_reference(prog, config.replace(max_cycles=60))
    assert (r.status, r.cycles) == ("max_cycles", 60)


def test_trace_mode():
    config = small(DIR_MSI, "mesh", jitter=3, stats="full")
    w = [np.array([1, 0, 1, 1], np.uint8), np.array([0, 1, 0], np.uint8)]
    a = [np.array([0, 8, 64, 128], np.int64), np.array([0, 0, 64], np.int64)]
    r = run_net_trace_reference(w, a, config, seed=5, check=True)
    assert r.status == "halted" and r.registers == [] and r.memory == {}
    assert "transitions" not in r.stats and "links" in r.stats["network"]
    assert sum(c["loads"] + c["stores"] for c in r.stats["cores"]) == 7


# ============================================================= hypothesis

@st.composite
def net_configs(draw, cores=4, split_jitter=0):
    proto = draw(st.sampled_from(PRIMER))
    line = draw(st.sampled_from([8, 16, 64]))
    ways = draw(st.sampled_from([1, 2, 4]))
    sets = draw(st.sampled_from([1, 2]))
    directory = proto.interconnect == "directory"
    return SystemConfig(
        cores=cores, protocol=proto, interconnect=proto.interconnect,
        topology=draw(st.sampled_from(["crossbar", "mesh"])) if directory else "crossbar",
        model=draw(st.sampled_from(["sc", "tso"])), line_size=line, l1_ways=ways,
        l1_size=line * ways * sets, mshrs=draw(st.integers(1, 3)),
        store_buffer=draw(st.integers(1, 4)),
        arbitration=draw(st.sampled_from(["round-robin", "fixed", "random"])),
        hit_latency=draw(st.integers(1, 3)), bus_latency=draw(st.integers(1, 5)),
        mem_latency=draw(st.integers(1, 30)), c2c_latency=draw(st.integers(1, 15)),
        net_latency=draw(st.integers(1, 8)), hop_latency=draw(st.integers(1, 3)),
        start_skew=draw(st.integers(0, 20)),
        jitter=draw(st.integers(0, 6 if directory else split_jitter)),
        drain_delay=draw(st.integers(0, 10)), issue_jitter=draw(st.sampled_from([0, 0, 3])),
        timeline_window=draw(st.sampled_from([0, 7])),
        stats=draw(st.sampled_from(["basic", "full"])), max_cycles=200_000,
        progress_window=0)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs(), net_configs(), st.integers(0, 2**32))
def test_random_programs_check(program, config, seed):
    r = run_net_reference(program, config, seed=seed, check=True)
    assert r.status == "halted"


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(traces(max_len=30, lines=6), net_configs(), st.integers(0, 2**32))
def test_random_traces_check(trace, config, seed):
    writes, addrs = trace
    r = run_net_trace_reference(writes, addrs, config, seed=seed, check=True)
    assert r.status == "halted"
    assert sum(c["loads"] + c["stores"] for c in r.stats["cores"]) == sum(map(len, writes))


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs(max_len=20), net_configs(), st.integers(0, 2**32))
def test_random_programs_check_long(program, config, seed):
    assert run_net_reference(program, config, seed=seed, check=True).status == "halted"


# ============================================================= the race paths are reached

# contended lines, a line shared by two words (a store buffer's drain and the core's load
# meet on it), and lines that evict each other in tiny caches
RACY = """.data
x: 0
y: 0
z: 0
.packed a b
.cores 4
.core all
        mov r2, 8
loop:   ld r1, [x]
        st [x], %core
        st [a], r2
        ld r3, [b]
        ld r3, [y]
        faa r4, [z], 1
        st [y], r2
        sub r2, r2, 1
        bne r2, 0, loop
"""


def _transitions(proto, topology, seeds, **kw):
    seen = {}
    for seed, model in itertools.product(seeds, ("sc", "tso")):
        config = small(proto, topology, stats="full", start_skew=30, model=model, **kw)
        r = run_net_reference(assemble(RACY), config, seed=seed, check=True)
        assert r.status == "halted" and r.memory["z"] == 32
        for k, n in r.stats["transitions"].items():
            seen[k] = seen.get(k, 0) + n
    return seen


def test_race_paths_directory():
    seen = _transitions(DIR_MSI, "crossbar", range(6), jitter=6, line_size=8, l1_ways=1,
                        l1_size=16)
    for key in ("cache:IS^D,Inv", "home:S^D,GetS", "cache:IM^AD,Fwd-GetM",
                "cache:IM^AD,Inv-Ack", "cache:SM^AD,Inv", "cache:MI^A,Fwd-GetM",
                "cache:MI^A,Fwd-GetS", "cache:SI^A,Inv", "cache:II^A,Put-Ack",
                "cache:SI^A,Store", "home:M,PutM+data from NonOwner",
                "home:S^D,PutM+data from NonOwner"):
        assert seen.get(key), key
    seen = _transitions(DIR_MESI, "mesh", range(6), jitter=6)
    for key in ("cache:IS^D,Fwd-GetS", "cache:IM^A,Fwd-GetS", "cache:IS^D,Store",
                "home:S^D,GetM", "cache:E,Store", "home:E,GetS"):
        assert seen.get(key), key


def test_race_paths_split_bus():
    seen = _transitions(SPLIT_MSI, "crossbar", range(6), line_size=8, l1_ways=1, l1_size=16,
                        bus_latency=10)
    for key in ("cache:IM^D,Other-GetM", "cache:IS^D,Other-GetM", "cache:IM^D,Other-GetS",
                "cache:SM^AD,Other-GetM", "cache:SM^D,Other-GetS", "cache:MI^A,Other-GetM",
                "cache:MI^A,Other-GetS", "cache:II^A,Own-PutM", "cache:MI^A,Own-PutM",
                "home:IorS^D,GetS", "home:IorS^D,GetM", "home:M,PutM from NonOwner"):
        assert seen.get(key), key
    seen = _transitions(SPLIT_MESI, "crossbar", range(6))
    for key in ("cache:IS^D,Other-GetS", "cache:IS^D,Exclusive Data",
                "home:IorS,GetS (shared)", "home:IorS,GetS (alone)", "cache:E,Other-GetS",
                "home:IorS^D,GetS (shared)"):
        assert seen.get(key), key


# ============================================================= bad tables

def test_impossible_cache_entry_is_a_protocol_error():
    bad = DIR_MSI.with_entries("bad-isd", cache={
        ("IS^D", "Data from Dir (ack=0)"): Impossible("a test's broken entry")})
    with pytest.raises(ProtocolError) as e:
        run_net_reference(assemble(LOAD1), cfg(bad))
    err = e.value
    assert err.kind == "protocol" and err.node == "cache 0" and err.core == 0
    assert (err.state, err.event) == ("IS^D", "Data from Dir (ack=0)")
    assert err.reason == "a test's broken entry" and err.cycle == 52
    assert err.message == "Data from home 4 for cache 0"


def test_impossible_home_entry_is_a_protocol_error():
    bad = SPLIT_MSI.with_entries("bad-home", home={("IorS", "GetS"): Impossible("nope")})
    with pytest.raises(ProtocolError) as e:
        run_net_reference(assemble(LOAD1), cfg(bad))
    err = e.value
    assert (err.kind, err.node, err.state, err.event) == ("protocol", "home 4", "IorS", "GetS")
    assert err.core == -1 and err.cycle == 4 and err.message == "GetS from cache 0 for cache 0"


def test_impossible_processor_entry():
    bad = DIR_MSI.with_entries("bad-upgrade", cache={("S", "Store"): Impossible("no upgrades")})
    with pytest.raises(ProtocolError) as e:
        run_net_reference(assemble(LOAD1 + " st [x], 1\n"), cfg(bad))
    assert (e.value.node, e.value.state, e.value.event, e.value.message) == (
        "cache 0", "S", "Store", None)
    assert e.value.cycle == 53 and e.value.reason == "no upgrades"


def test_stall_forever_is_a_deadlock():
    bad = DIR_MSI.with_entries("stuck", cache={("IS^D", "Data from Dir (ack=0)"): STALL})
    with pytest.raises(ProtocolError) as e:
        run_net_reference(assemble(LOAD1), cfg(bad), check=True)
    err = e.value
    assert err.kind == "deadlock" and err.cycle == 52
    assert "cache 0 stalls Data from home 4 for cache 0" in err.reason
    assert "port 0 (core 0) outstanding" in err.reason


def test_deadlock_of_a_home_stall():
    # the home never takes a GetS in S: core 1's load waits forever behind it
    bad = DIR_MSI.with_entries("stuck-home", home={("S", "GetS"): STALL})
    prog = assemble(".data\nx: 0\n.core 0\n ld r1, [x]\n.core 1\n delay 80\n ld r1, [x]\n")
    with pytest.raises(ProtocolError) as e:
        run_net_reference(prog, cfg(bad, cores=2))
    assert e.value.kind == "deadlock" and "home 2 stalls GetS from cache 1" in e.value.reason


def test_unfinished_at_the_end():
    # the home stalls the former owner's data in S^D forever, yet every core halts
    bad = DIR_MSI.with_entries("unfinished", home={("S^D", "Data"): STALL})
    prog = assemble(THREE_HOP)
    r = run_net_reference(prog, cfg(bad, cores=2))
    assert r.status == "halted" and r.registers[1]["r1"] == 1
    with pytest.raises(ProtocolError) as e:
        run_net_reference(prog, cfg(bad, cores=2), check=True)
    assert e.value.kind == "unfinished" and e.value.node == "home 2"
    assert e.value.state == "S^D"


def test_broken_race_is_caught_by_check():
    """examples/broken_protocols.py's IS^D-takes-Inv race: the reader acks an Inv before its
    data arrives and then takes S with stale data next to the writer's M."""
    bad = DIR_MSI.with_entries("isd-takes-inv",
                               cache={("IS^D", "Inv"): do(None, send("Inv-Ack", "requestor"))})
    caught = 0
    for seed in range(20):
        try:
            run_net_reference(assemble(RACY), small(bad, jitter=8, start_skew=30), seed=seed,
                              check=True)
        except InvariantViolation as e:
            assert not isinstance(e, ProtocolError) or e.kind == "protocol"
            caught += 1
    assert caught


# ============================================================= two spec problems, settled

def test_split_bus_jitter_race():
    """The split bus's jitter delays grants, not data: a data network that reordered data
    for different requestors let a later GetM's data overtake an earlier GetS's, and the
    reader took S with the old value next to the writer's M."""
    prog = assemble(".data\nv0: 0\n.core 0\n ld r1, [v0]\n ld r1, [v0]\n ld r1, [v0]\n"
                    " ld r1, [v0]\n ld r1, [v0]\n ld r1, [v0]\n.core 1\n st [v0], 0\n"
                    " st [v0], 0\n.core 2\n ld r1, [v0]\n")
    config = cfg(SPLIT_MESI, l1_size=8, l1_ways=1, line_size=8, mshrs=1, bus_latency=1,
                 mem_latency=1, c2c_latency=1, start_skew=1, jitter=1)
    run_net_reference(prog, config, seed=0, check=True)


def test_split_moesi_upgrade_in_node_order():
    """A bus request's line checks run once every node has handled it: MOESI's (OM^AD,
    Own-GetM) -> M performs at cache 0 before cache 1 drops its S copy in the same
    delivery."""
    prog = assemble(".data\nv0: 0\n.core 0\n ld r1, [v0]\n delay 5\n st [v0], 1\n"
                    ".core 1\n ld r1, [v0]\n")
    run_net_reference(prog, cfg(SPLIT_MOESI, bus_latency=1, mem_latency=1, c2c_latency=1),
                      check=True)
