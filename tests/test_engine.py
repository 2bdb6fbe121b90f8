"""The engine: semantics on hand-checked programs, invariants, watchdog, determinism."""

import os

import numpy as np
import pytest
from hypothesis import given, settings

import coherence
from coherence import (CoherenceError, InvariantViolation, Impossible, Protocol, ProtocolError,
                       SystemConfig, T, assemble, run, run_batch, run_trace)
from coherence.protocols import MESI, MOESI
from coherence.testing import configs, programs

from conftest import ROOT

SB = """
.data
x: 0
y: 0
.core 0
  st [x], 1
  ld r1, [y]
.core 1
  st [y], 1
  ld r1, [x]
"""


def example(name, cores=None):
    return coherence.load_program(f"{ROOT}/examples/{name}", cores=cores)


@pytest.mark.parametrize("protocol", ["msi", "mesi", "moesi", "mesif", "dragon"])
@pytest.mark.parametrize("model", ["sc", "tso"])
def test_examples_compute_the_right_answer(protocol, model):
    cfg = dict(protocol=protocol, model=model)
    r = run(example("spinlock_ttas.s", cores=4), SystemConfig(cores=4, **cfg), check=True)
    assert r.status == "halted" and r.memory == {"lock": 0, "counter": 400}
    r = run(example("producer_consumer.s"), SystemConfig(cores=2, **cfg), check=True)
    assert r.memory["sum"] == 5050
    for name in ("false_sharing.s", "padded_counters.s"):
        r = run(example(name), SystemConfig(cores=4, **cfg), check=True)
        assert r.memory == {"c0": 1000, "c1": 1000, "c2": 1000, "c3": 1000}


def test_false_sharing_costs_bus_traffic():
    cfg = SystemConfig(cores=4, protocol="mesi")
    shared = run(example("false_sharing.s"), cfg)
    padded = run(example("padded_counters.s"), cfg)
    assert padded.stats["totals"]["misses"] == 4  # one cold miss per core, then all hits
    assert shared.stats["totals"]["misses"] > 100 * padded.stats["totals"]["misses"]
    assert shared.cycles > 5 * padded.cycles


def test_single_load_miss_timing_and_mesi_exclusive():
    p = assemble(".data\nx: 5\n.core 0\n ld r1, [x]\n st [x], 7\n")
    cfg = SystemConfig(cores=1, protocol="mesi", mem_latency=40)
    r = run(p, cfg, check=True)
    # ld issues at 0 and misses; BusRd granted at 0 completes at 40; the core resumes at 41,
    # its store hits in E (silent E->M), and the core runs past its end at 42.
    assert r.registers[0]["r1"] == 5 and r.memory["x"] == 7
    assert r.cycles == 43
    assert r.stats["bus"]["BusRd"] == 1 and r.stats["bus"]["BusRdX"] == 0
    assert r.stats["bus"]["BusUpgr"] == 0
    msi = run(p, cfg.replace(protocol="msi"), check=True)
    assert msi.stats["bus"]["BusUpgr"] == 1


def test_moesi_owner_supplies_without_writeback():
    p = assemble(""".data
x: 0
.core 0
  st [x], 3
.core 1
  delay 100
  ld r1, [x]
""")
    for proto, flush_to_mem in (("moesi", False), ("mesi", True)):
        r = run(p, SystemConfig(cores=2, protocol=proto), check=True)
        assert r.registers[1]["r1"] == 3
        assert r.stats["bus"]["c2c_transfers"] == 1
        assert r.memory["x"] == 3


def test_eviction_writes_back_dirty_lines():
    p = assemble(""".data
a: 0
b: 0
c: 0
.core 0
  st [a], 1
  st [b], 2
  st [c], 3
  ld r1, [a]
""")
    cfg = SystemConfig(cores=1, protocol="mesi", line_size=8, l1_ways=2, l1_size=16)
    r = run(p, cfg, check=True)
    assert r.stats["bus"]["WriteBack"] >= 1
    assert r.registers[0]["r1"] == 1 and r.memory == {"a": 1, "b": 2, "c": 3}


def test_tso_store_buffer_forwarding_and_sb_relaxation():
    p = assemble(SB)
    seen = {"sc": set(), "tso": set()}
    for model in seen:
        cfg = SystemConfig(cores=2, model=model, start_skew=30, drain_delay=60, jitter=10,
                           arbitration="random")
        for seed in range(150):
            r = run(p, cfg, seed=seed, check=True)
            seen[model].add((r.registers[0]["r1"], r.registers[1]["r1"]))
    assert (0, 0) not in seen["sc"]
    assert (0, 0) in seen["tso"]
    fwd = assemble(".data\nx: 0\n.core 0\n st [x], 4\n ld r1, [x]\n")
    r = run(fwd, SystemConfig(cores=1, model="tso"))
    assert r.registers[0]["r1"] == 4 and r.stats["cores"][0]["forwards"] == 1


def test_mfence_and_rmw_drain_the_store_buffer():
    p = assemble(SB.replace("st [x], 1\n", "st [x], 1\n  mfence\n")
                 .replace("st [y], 1\n", "st [y], 1\n  mfence\n"))
    q = assemble(SB.replace("st [x], 1", "xchg r5, [x], 1").replace("st [y], 1",
                                                                      "xchg r5, [y], 1"))
    cfg = SystemConfig(cores=2, model="tso", start_skew=30, drain_delay=60,
                       arbitration="random")
    for prog in (p, q):
        for seed in range(100):
            r = run(prog, cfg, seed=seed, check=True)
            assert (r.registers[0]["r1"], r.registers[1]["r1"]) != (0, 0)


def test_same_seed_same_result_bit_for_bit():
    p = example("spinlock_ttas.s", cores=4)
    cfg = SystemConfig(cores=4, model="tso", arbitration="random", jitter=5, start_skew=20,
                       drain_delay=5, timeline_window=100)
    a, b = run(p, cfg, seed=7), run(p, cfg, seed=7)
    assert a.to_dict() == b.to_dict()
    c = run(p, cfg, seed=8)
    assert c.to_dict() != a.to_dict()


def test_watchdog_statuses():
    spin = assemble(".data\nx: 0\n.core 0\nloop: ld r1, [x]\n  beq r1, 0, loop\n")
    r = run(spin, SystemConfig(cores=1, max_cycles=10_000, progress_window=0))
    assert r.status == "max_cycles" and r.cycles == 10_000
    r = run(spin, SystemConfig(cores=1, max_cycles=10_000_000, progress_window=5_000))
    assert r.status == "no_progress" and r.cycles == 5_000


def test_timeline_counts_every_transaction():
    p = example("false_sharing.s")
    r = run(p, SystemConfig(cores=4, timeline_window=50))
    counts = np.array(r.timeline["counts"])
    bus = r.stats["bus"]
    assert counts[:, 0].sum() == bus["BusRd"] and counts[:, 1].sum() == bus["BusRdX"]
    assert counts[:, 2].sum() == bus["BusUpgr"] and counts[:, 3].sum() == bus["WriteBack"]
    assert len(counts) == -(-r.cycles // 50)
    # a long run outgrows the initial timeline and is grown transparently
    long = run(example("spinlock_ttas.s", cores=4), SystemConfig(cores=4, timeline_window=1))
    assert np.array(long.timeline["counts"]).sum() == sum(
        long.stats["bus"][k] for k in ("BusRd", "BusRdX", "BusUpgr", "WriteBack"))


def broken_mesi():
    """MESI whose snooped BusRdX leaves a Shared copy valid."""
    table = dict(MESI.table)
    table[("S", "BusRdX")] = T("S")
    return Protocol("mesi-broken", MESI.states, table)


def test_check_mode_catches_a_broken_protocol():
    p = assemble(""".data
x: 0
.core 0
  ld r1, [x]
  delay 200
  ld r2, [x]
.core 1
  ld r1, [x]
.core 2
  delay 150
  st [x], 1
""")
    r = run(p, SystemConfig(cores=3), check=True)
    assert r.registers[0]["r2"] == 1
    with pytest.raises(InvariantViolation) as err:
        run(p, SystemConfig(cores=3, protocol=broken_mesi()), check=True)
    assert (err.value.kind, err.value.core, err.value.states) == \
        ("swmr", 2, "core0=S core1=S core2=M")
    # without the check the broken protocol silently returns a stale value
    stale = run(p, SystemConfig(cores=3, protocol=broken_mesi()))
    assert stale.registers[0]["r2"] == 0


def test_impossible_entries_raise_protocol_error():
    table = dict(MOESI.table)
    table[("O", "BusRd")] = Impossible("test: owner must not be read")
    proto = Protocol("moesi-strict", MOESI.states, table)
    p = assemble(""".data
x: 0
.core 0
  st [x], 1
.core 1
  delay 60
  ld r1, [x]
.core 2
  delay 200
  ld r1, [x]
""")
    with pytest.raises(ProtocolError) as err:
        run(p, SystemConfig(cores=3, protocol=proto))
    e = err.value
    assert (e.kind, e.state, e.event, e.reason) == ("protocol", "O", "BusRd",
                                                    "test: owner must not be read")
    assert e.core == 0 and "(O, BusRd)" in str(e)


def test_protocol_tables_are_complete_and_validated():
    with pytest.raises(CoherenceError, match=r"no entry for \(S, BusUpgr\)"):
        table = dict(MESI.table)
        del table[("S", "BusUpgr")]
        Protocol("bad", MESI.states, table)
    with pytest.raises(CoherenceError, match="not a state of this protocol"):
        table = dict(coherence.MSI.table)
        table[("S", "Load")] = T("E")
        Protocol("bad", "ISM", table)
    assert "| O |" in MOESI.to_markdown()


@pytest.mark.parametrize("bad, msg", [
    (dict(cores=0), "cores must be in 1..64"),
    (dict(cores=65), "cores must be in 1..64"),
    (dict(line_size=48), "line_size must be a power of two"),
    (dict(l1_size=1000), "l1_size must be a power of two"),
    (dict(l1_ways=3), "l1_ways must be a power of two"),
    (dict(model="pso"), "model must be one of sc, tso"),
    (dict(protocol="mosi"), "unknown protocol 'mosi'"),
    (dict(arbitration="lottery"), "arbitration must be one of"),
    (dict(mem_latency=0), "mem_latency must be at least 1"),
])
def test_config_validation(bad, msg):
    with pytest.raises(CoherenceError, match=msg):
        SystemConfig(**bad)


def test_program_needs_enough_cores():
    with pytest.raises(CoherenceError, match="the program has 2 cores but the config has 1"):
        run(assemble(SB), SystemConfig(cores=1))


def test_register_address_out_of_range_is_reported_with_its_line():
    p = assemble(".data\nx: 0\n.core 0\n  li r1, 4096\n  ld r2, [x+r1]\n", "prog.s")
    with pytest.raises(CoherenceError, match=r"prog.s:5: core 0: address 4096"):
        run(p, SystemConfig(cores=1))


def test_run_trace_counts_and_invariants():
    n = 5000
    rng = np.random.default_rng(0)
    writes = [(rng.random(n) < 0.3).astype(np.uint8) for _ in range(4)]
    addrs = [rng.integers(0, 512, n).astype(np.int64) * 8 for _ in range(4)]
    for proto in ("msi", "mesi", "moesi"):
        for model in ("sc", "tso"):
            cfg = SystemConfig(cores=4, protocol=proto, model=model, l1_size=1024, l1_ways=2)
            r = run_trace(writes, addrs, cfg, check=True)
            tot = r.stats["totals"]
            assert r.status == "halted" and tot["instructions"] == 4 * n
            assert tot["loads"] + tot["stores"] == 4 * n
            if model == "sc":
                assert tot["hits"] + tot["misses"] == 4 * n
    with pytest.raises(CoherenceError, match="one pair per core"):
        run_trace(writes, addrs[:3], SystemConfig(cores=4))


def test_run_batch_histogram_matches_single_runs_semantics():
    p = assemble(SB)
    # issue_jitter lets a load wait past its own store's drain: without it the bus serves a
    # core's load before its drain, and SB's 1/1 cannot happen.
    cfg = SystemConfig(cores=2, model="tso", start_skew=30, drain_delay=60,
                       arbitration="random", jitter=10, issue_jitter=40)
    vals, statuses = run_batch(p, cfg, 2000, seed=1,
                               observe=[("reg", 0, 1), ("reg", 1, 1), ("mem", "x")])
    assert vals.shape == (2000, 3) and set(statuses) == {"halted"}
    outcomes = {tuple(v) for v in vals[:, :2].tolist()}
    assert outcomes == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert set(vals[:, 2].tolist()) == {1}
    sc_vals, _ = run_batch(p, cfg.replace(model="sc"), 2000, seed=1,
                           observe=[("reg", 0, 1), ("reg", 1, 1)])
    assert (0, 0) not in {tuple(v) for v in sc_vals.tolist()}


def test_run_batch_status_codes_name_the_same_statuses():
    from coherence.engine import STATUS_NAMES
    spin = assemble(".data\nx: 0\n.core 0\nloop: ld r1, [x]\n  beq r1, 0, loop\n"
                    ".core 1\n  delay 300\n  st [x], 1\n")
    cfg = SystemConfig(cores=2, start_skew=400, max_cycles=500, progress_window=0)
    vals, names = run_batch(spin, cfg, 300, seed=4, observe=[("reg", 0, 1)])
    vals2, codes = run_batch(spin, cfg, 300, seed=4, observe=[("reg", 0, 1)],
                             status_codes=True)
    assert codes.dtype == np.int64 and (vals == vals2).all()
    assert [STATUS_NAMES[k] for k in codes] == names
    assert set(names) == {"halted", "max_cycles"}  # both kinds of ending occur


@settings(max_examples=120)
@given(programs(), configs())
def test_invariants_hold_on_random_programs(program, config):
    r = run(program, config, seed=11, check=True)
    assert r.status == "halted"
    assert sum(c["instructions"] for c in r.stats["cores"]) == r.stats["totals"]["instructions"]


def test_watched_lines_log_every_state_change():
    p = assemble(""".data
x: 0
.core 0
  ld r1, [x]
  delay 100
  st [x], 2
.core 1
  delay 50
  ld r1, [x]
""")
    r = run(p, SystemConfig(cores=2, protocol="mesi"), watch=["x"])
    # core 0 reads alone (E), core 1 reads (both S), core 0 upgrades (M, core 1 invalidated)
    assert [(c, s) for _, c, s in r.line_states["x"]] == [(0, "E"), (0, "S"), (1, "S"),
                                                         (1, "I"), (0, "M")]
    cycles = [t for t, _, _ in r.line_states["x"]]
    assert cycles == sorted(cycles) and not r.line_states_truncated
    assert run(p, SystemConfig(cores=2)).to_dict() == r.to_dict()
    with pytest.raises(CoherenceError, match="cannot watch 'nope'"):
        run(p, SystemConfig(cores=2), watch=["nope"])


def test_a_program_is_checked_where_it_is_made():
    """A hand-built Program with a bad row fails when it is made, with file:line, so neither
    the engine (bounds checks off) nor the reference model ever sees it."""
    from coherence.isa import OP_BEQ, OP_LD, OP_MOV, OP_ST, encode
    from coherence.program import Program, Symbol

    def prog(*rows, refs=None):
        code = np.array(rows, dtype=np.int64)
        refs = np.array(refs if refs is not None else [-1] * len(rows), dtype=np.int64)
        return Program((code,), (refs,), (np.arange(10, 10 + len(rows)),),
                       (Symbol("x", 0, (0,)),), source="hand.s")

    cases = [
        ((encode(OP_MOV, rd=40, b=1),), None, r"hand.s:10: mov: destination register r40"),
        ((encode(99),), None, r"hand.s:10: unknown opcode 99"),
        ((encode(OP_MOV, rd=1, b=1), encode(OP_BEQ, ra=1, b=0, addr=7)), None,
         r"hand.s:11: beq: branch target 7 outside the core's code, expected 0..2"),
        ((encode(OP_LD, rd=1, addr=8),), [0], r"offset 8 is outside symbol 'x' \(8 bytes\)"),
        ((encode(OP_ST, ra=20, b=1),), None, r"st: address register r20"),
        ((encode(OP_MOV, rd=1, b=1),), [0], r"mov has a symbol reference"),
    ]
    for rows, refs, msg in cases:
        with pytest.raises(CoherenceError, match=msg):
            prog(*rows, refs=refs)
    ok = prog(encode(OP_LD, rd=1, addr=0), refs=[0])
    assert run(ok, SystemConfig(cores=1)).registers[0]["r1"] == 0


def test_dragon_updates_the_other_copies_instead_of_invalidating_them():
    p = assemble(""".data
x: 0
.core 0
  ld r1, [x]
  delay 100
  st [x], 5
.core 1
  ld r1, [x]
  delay 300
  ld r2, [x]
""")
    r = run(p, SystemConfig(cores=2, protocol="dragon"), check=True, watch=["x"])
    assert r.registers[1]["r2"] == 5 and r.memory["x"] == 5
    bus = r.stats["bus"]
    assert bus["BusUpd"] == 1 and bus["invalidations"] == 0 and bus["BusRdX"] == 0
    # core 1 missed once (its first load); its second load hit the updated copy
    assert r.stats["cores"][1]["misses"] == 1 and r.stats["cores"][1]["hits"] == 1
    final = {c: st for _t, c, st in r.line_states["x"]}
    assert final == {0: "Sm", 1: "Sc"}   # the writer owns the dirty shared line
    # the same program on MESI invalidates core 1's copy: its second load misses
    r = run(p, SystemConfig(cores=2, protocol="mesi"), check=True)
    assert r.registers[1]["r2"] == 5 and r.stats["cores"][1]["misses"] == 2


def test_dragon_write_miss_reads_the_line_from_its_owner_and_updates_it():
    p = assemble(""".data
x: 0
.core 0
  st [x], 7
.core 1
  delay 100
  st [x], 8
.core 2
  delay 300
  ld r1, [x]
""")
    r = run(p, SystemConfig(cores=3, protocol="dragon"), check=True, watch=["x"])
    assert r.memory["x"] == 8 and r.registers[2]["r1"] == 8
    final = {}
    for _t, c, st in r.line_states["x"]:
        final[c] = st
    # core 1's write miss: core 0 (M) supplied the line and took the word (Sc); core 1 owns
    # it (Sm); core 2's read is supplied by the owner
    assert final == {0: "Sc", 1: "Sm", 2: "Sc"}
    assert r.stats["bus"]["c2c_transfers"] == 2


def test_mesif_forward_state_answers_shared_reads():
    p = assemble(""".data
x: 3
.core 0
  ld r1, [x]
.core 1
  delay 100
  ld r1, [x]
.core 2
  delay 200
  ld r1, [x]
""")
    r = run(p, SystemConfig(cores=3, protocol="mesif"), check=True, watch=["x"])
    final = {}
    for _t, c, st in r.line_states["x"]:
        final[c] = st
    assert final == {0: "S", 1: "S", 2: "F"}   # the newest reader holds F
    assert r.stats["bus"]["c2c_transfers"] == 2   # E, then F, supplied the later reads
    r = run(p, SystemConfig(cores=3, protocol="mesi"), check=True)
    assert r.stats["bus"]["c2c_transfers"] == 0   # MESI: memory answers clean reads


def test_protocols_are_chosen_by_family_and_interconnect():
    assert SystemConfig(protocol="dragon", interconnect="bus").protocol.name == "dragon"
    with pytest.raises(CoherenceError, match=r"unknown protocol 'mosi' for interconnect 'bus', "
                                             r"expected one of: msi, mesi, moesi, mesif, dragon"):
        SystemConfig(protocol="mosi")
    with pytest.raises(CoherenceError, match="unknown interconnect 'ring'"):
        SystemConfig(interconnect="ring")
    assert SystemConfig().to_dict()["interconnect"] == "bus"


def test_table_entries_may_name_sets_of_states_and_events():
    from coherence.protocols import MESI
    table = {k: v for k, v in MESI.table.items() if k[1] != "BusUpd" or k[0] == "I"}
    table[(("S", "E", "M"), "BusUpd")] = Impossible("no updates here")
    p = Protocol("mesi-sets", MESI.states, table)
    assert p.table[("E", "BusUpd")] == Impossible("no updates here")
    with pytest.raises(CoherenceError, match=r"two entries for \(S, BusUpd\)"):
        Protocol("twice", MESI.states, {**table, ("S", ("BusUpd", "BusRd")): T("S")})


def test_transition_counts_say_which_entries_were_taken():
    """gem5 Ruby's per-(state, event) counts: a hit at issue, a request's entry at its grant,
    each snooper's entry, each victim's Evict."""
    p = assemble(""".data
x: 0
.core 0
  ld r1, [x]
  ld r2, [x]
.core 1
  delay 100
  st [x], 1
""")
    r = run(p, SystemConfig(cores=2, protocol="mesi", stats="full"))
    # core 0: (I, Load) granted (-> E), then (E, Load) hit; core 1: (I, Store) granted, and
    # core 0 snoops its BusRdX in E
    assert r.stats["transitions"] == {"I,Load": 1, "E,Load": 1, "I,Store": 1, "E,BusRdX": 1}
    r = run(p, SystemConfig(cores=2, protocol="dragon", stats="full"))
    assert r.stats["transitions"] == {"I,Load": 1, "E,Load": 1, "I,Store": 1, "E,BusUpd": 1}
    assert "transitions" not in run(p, SystemConfig(cores=2)).stats   # stats="basic"


def test_miss_latencies_per_core():
    p = assemble(".data\nx: 0\ny: 0\n.core 0\n  ld r1, [x]\n  ld r2, [x]\n.core 1\n"
                 "  ld r1, [y]\n")
    cfg = SystemConfig(cores=2, protocol="mesi", mem_latency=40, stats="full")
    r = run(p, cfg)
    # core 0's miss is granted at 0 and completes at 40; core 1's waits for the bus, is
    # granted at 40 and completes at 80: 80 cycles; core 0's second load hits
    assert r.stats["cores"][0]["miss_latency"] == {"count": 1, "mean": 40.0,
                                                    "histogram": {"32-63": 1}}
    assert r.stats["cores"][1]["miss_latency"] == {"count": 1, "mean": 80.0,
                                                    "histogram": {"64-127": 1}}
    t = run_trace([np.zeros(1, np.uint8)], [np.zeros(1, np.int64)], cfg.replace(cores=1))
    assert t.stats["cores"][0]["miss_latency"]["mean"] == 40.0
    assert "miss_latency" not in run(p, cfg.replace(stats="basic")).stats["cores"][0]
    with pytest.raises(CoherenceError, match="stats must be one of basic, full"):
        cfg.replace(stats="all")


def test_hit_code_packs_the_hit_table_exactly():
    """The trace path's packed hit table decodes to the protocol's table for every pair."""
    from coherence.engine import _hit_code
    from coherence.protocols import PROTOCOLS
    for proto in PROTOCOLS.values():
        hit = proto.compiled().hit
        code = _hit_code(hit)
        assert code >= 0, proto.name
        for st in range(hit.shape[0]):
            for ev in range(2):
                k = 2 * st + ev
                got = (code >> (16 + 3 * k)) & 7 if (code >> k) & 1 else -1
                assert got == hit[st, ev], (proto.name, st, ev)
    big = np.full((9, 2), -1, dtype=np.int8)
    assert _hit_code(big) == -1
    top = np.full((8, 2), -1, dtype=np.int8)
    top[7, 1] = 7
    assert _hit_code(top) == -1


def test_per_core_noise_is_validated_and_reaches_each_core():
    """drain_delay / issue_jitter take one value per core: a core whose buffer drains late
    lets the other core's load see the old value (SB's 0/0 needs only one late drain)."""
    with pytest.raises(CoherenceError, match="drain_delay has 3 values, expected one per core"):
        SystemConfig(cores=2, drain_delay=(1, 2, 3))
    with pytest.raises(CoherenceError, match="issue_jitter must be >= 0"):
        SystemConfig(cores=2, issue_jitter=(1, -1))
    with pytest.raises(CoherenceError, match="tuple of integers"):
        SystemConfig(cores=2, drain_delay=(1, 2.5))
    cfg = SystemConfig(cores=2, drain_delay=[0, 7])
    assert cfg.drain_delay == (0, 7) and cfg.per_core("issue_jitter") == (0, 0)
    p = assemble(SB)
    obs = [("reg", 0, 1), ("reg", 1, 1)]
    # A late buffer keeps its store from the other core's load; an eager one does not.
    zeros = {}
    for delays in ((0, 1000), (1000, 0)):
        cfg = SystemConfig(cores=2, model="tso", drain_delay=delays, start_skew=200)
        vals, _ = run_batch(p, cfg, 400, seed=3, observe=obs)
        zeros[delays] = (vals == 0).sum(axis=0).tolist()  # reads of 0 by core 0, core 1
    (a0, a1), (b0, b1) = zeros[(0, 1000)], zeros[(1000, 0)]
    assert a0 - a1 > 80 and b1 - b0 > 80, zeros


def test_runs_cut_into_slices_give_the_same_results(monkeypatch):
    """Kernels return to Python every SLICE loop steps and batches go in calls of a few runs
    (so that Ctrl-C is seen); resuming is exact: tiny slices change nothing."""
    import coherence.engine as E
    prog = coherence.load_program(f"{ROOT}/examples/spinlock_ttas.s", cores=4)
    cfg = SystemConfig(cores=4, protocol="moesi", model="tso", drain_delay=5, jitter=2,
                       arbitration="random", timeline_window=50)
    rng = np.random.default_rng(4)
    writes = [(rng.random(3000) < 0.3).astype(np.uint8) for _ in range(4)]
    addrs = [rng.integers(0, 256, 3000).astype(np.int64) * 8 for _ in range(4)]
    sb = assemble(SB)
    bcfg = SystemConfig(cores=2, model="tso", start_skew=30, drain_delay=60, jitter=10)
    obs = [("reg", 0, 1), ("reg", 1, 1), ("mem", "x")]

    def everything():
        r = run(prog, cfg, seed=2)
        t = run_trace(writes, addrs, SystemConfig(cores=4, l1_size=1024, l1_ways=2), seed=1)
        # One core alone: the trace kernel serves its misses without the cycle loop.
        one = run_trace(writes[:1], addrs[:1], SystemConfig(cores=1, l1_size=1024, l1_ways=2))
        vals, st = run_batch(sb, bcfg, 3000, seed=5, observe=obs)
        return (r.cycles, r.stats, r.timeline, t.cycles, t.stats, one.cycles, one.stats,
                vals.tolist(), st)

    whole = everything()
    monkeypatch.setattr(E, "SLICE", 7)
    monkeypatch.setattr(E, "BATCH_FIRST_CALL", 3)
    monkeypatch.setattr(E, "BATCH_CALL_SECONDS", 0.0)
    assert everything() == whole


def test_ctrl_c_stops_a_long_run_at_once():
    """SIGINT during a run of hours: the command ends within seconds, exit 130, one line."""
    import signal
    import subprocess
    import sys
    import tempfile
    import time
    # Stores keep the no-progress watchdog quiet: only --max-cycles would end it.
    src = ".data\nx: 0\n.core 0\nloop: ld r1, [x]\n  add r2, r2, 1\n  st [x], r2\n  jmp loop\n"
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write(src)
    # Warm numba's cache first: a SIGINT that lands while a kernel compiles waits for the
    # compile, which is not what this test measures (and on a busy host can outlast it).
    subprocess.run([sys.executable, "-m", "coherence", "compile"], cwd=ROOT, check=True,
                   capture_output=True, timeout=900)
    proc = subprocess.Popen([sys.executable, "-m", "coherence", "run", f.name, "--cores", "1",
                             "--max-cycles", str(10**15)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)  # start-up and the kernels from the cache, then well into the run
        assert proc.poll() is None, proc.communicate()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        waited = time.monotonic() - t0
    finally:
        proc.kill()
        os.unlink(f.name)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    print(f"stopped {waited:.2f} s after SIGINT")


def test_check_catches_an_owner_dropped_without_write_back_at_the_end():
    """A MOESI whose Owned line is evicted without a write-back loses the value; if nothing
    reads it again, only the end-of-run check sees it (the engine and the reference alike)."""
    from coherence.reference import run_reference
    dropped = Protocol("moesi-owner-dropped", MOESI.states,
                       {**MOESI.table, ("O", "Evict"): T("I")})
    # Core 0 writes x (M), core 1 reads it (core 0: O), then core 0 evicts x by touching two
    # lines of the same set in its one-set, two-way cache.
    src = (".data\nx: 0\npad: .zero 7\ny: 0\npad2: .zero 7\nz: 0\n"
           ".core 0\n  st [x], 5\n  delay 200\n  ld r1, [y]\n  ld r2, [z]\n"
           ".core 1\n  delay 100\n  ld r1, [x]\n")
    prog = assemble(src)
    cfg = SystemConfig(cores=2, protocol=dropped, l1_size=128, l1_ways=2, line_size=64)
    assert run(prog, cfg).memory["x"] == 0  # the lost value, unchecked
    for runner in (run, run_reference):
        with pytest.raises(InvariantViolation) as e:
            runner(prog, cfg, check=True)
        f = e.value.fields()
        assert (f["kind"], f["core"], f["address"], f["found"], f["expected"]) == \
            ("data", -1, 0, 0, 5)
    good = cfg.replace(protocol="moesi")
    assert run(prog, good, check=True).memory["x"] == 5


def test_peterson_without_a_fence_loses_updates_on_tso_only():
    """The central TSO lesson: the fence-less lock works on SC cores and breaks on TSO ones
    under timing noise; the fenced one works on both."""
    noise = dict(start_skew=20, jitter=6, drain_delay=40, arbitration="random")
    broken = {}
    for name in ("peterson", "peterson_fenced"):
        prog = coherence.load_program(f"{ROOT}/examples/{name}.s")
        for model in ("sc", "tso"):
            vals, st = run_batch(prog, SystemConfig(cores=2, model=model, **noise), 100,
                                 seed=0, observe=[("mem", "counter")])
            assert set(st) == {"halted"}
            broken[name, model] = int((vals[:, 0] != 400).sum())
    assert broken[("peterson", "tso")] > 10
    assert broken[("peterson", "sc")] == broken[("peterson_fenced", "sc")] == 0
    assert broken[("peterson_fenced", "tso")] == 0
