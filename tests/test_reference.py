"""Hand-computed scenarios pinning down docs/machine.md, run on the reference model.

Every expected number below is worked out from the spec by hand (the comments show the
timeline), independently of any implementation.  Programs are built directly from
coherence.isa rows so these tests do not depend on the assembler.
"""

from __future__ import annotations

import numpy as np
import pytest

from coherence.config import SystemConfig
from coherence.errors import CoherenceError, InvariantViolation, ProtocolError
from coherence.isa import (OP_ADD, OP_BNE, OP_CAS, OP_DELAY, OP_FAA, OP_HALT, OP_JMP, OP_LD,
                           OP_MFENCE, OP_MOV, OP_ST, OP_XCHG, encode)
from coherence.program import Program, Symbol
from coherence.stats import BS_FLUSH, BS_WB
from coherence.protocols import MESI, Impossible, Protocol, T
from coherence.reference import (Rng, prepare_program, run_reference, run_trace_reference,
                                 splitmix64)


# ------------------------------------------------------------------------- program builder

def program(cores, symbols=()):
    """cores: one list per core of (row, symbol name or None); symbols: (name, value|list),
    each on a cache line of its own."""
    syms = tuple(Symbol(name, g, tuple(v if isinstance(v, (list, tuple)) else [v]))
                 for g, (name, v) in enumerate(symbols))
    index = {s.name: i for i, s in enumerate(syms)}
    code, refs, lines = [], [], []
    for rows in cores:
        arr = (np.array([r for r, _ in rows], dtype=np.int64) if rows
               else np.zeros((0, 8), np.int64))
        code.append(arr)
        refs.append(np.array([index[s] if s is not None else -1 for _, s in rows],
                             dtype=np.int64))
        lines.append(np.arange(1, len(rows) + 1, dtype=np.int64))
    return Program(tuple(code), tuple(refs), tuple(lines), syms)


def LD(rd, sym, off=0):
    return encode(OP_LD, rd=rd, addr=off), sym


def ST(sym, v, reg=False, off=0):
    return encode(OP_ST, addr=off, b=v, breg=reg), sym


def XCHG(rd, sym, v):
    return encode(OP_XCHG, rd=rd, addr=0, b=v), sym


def FAA(rd, sym, v):
    return encode(OP_FAA, rd=rd, addr=0, b=v), sym


def CAS(rd, sym, expected, new):
    return encode(OP_CAS, rd=rd, addr=0, b=expected, c=new), sym


def MOV(rd, v):
    return encode(OP_MOV, rd=rd, b=v), None


def ADD(rd, ra, v):
    return encode(OP_ADD, rd=rd, ra=ra, b=v), None


def BNE(ra, v, target):
    return encode(OP_BNE, ra=ra, b=v, addr=target), None


def JMP(target):
    return encode(OP_JMP, addr=target), None


def DELAY(n):
    return encode(OP_DELAY, b=n), None


def MFENCE():
    return encode(OP_MFENCE), None


def HALT():
    return encode(OP_HALT), None


def cfg(**kw):
    base = dict(cores=1, protocol="mesi", model="sc")
    base.update(kw)
    return SystemConfig(**base)


def core(res, c=0):
    return res.stats["cores"][c]


def run_machine(prog, config, seed=0, check=True):
    """Run and also return the machine, to look at caches and raw memory."""
    m, linked = prepare_program(prog, config, seed, check)
    status, cycles = m.run()
    return m, linked, status, cycles


def line_state(m, linked, c, sym, config):
    """The name of core c's state for the line of ``sym``."""
    return m.state_names[m.caches[c].state_of(linked.addresses[sym] // config.line_size)]


def raw_mem(m, linked, sym):
    return m.memory.get(linked.addresses[sym] // 8, 0)


# ------------------------------------------------------------------------------- the RNG

def test_splitmix64_known_value():
    # the first output of the reference splitmix64 with state 0
    assert splitmix64(0) == 0xE220A8397B1DCDAF


def test_rng_rand_zero_draws_nothing():
    r = Rng(5)
    s = r.state
    assert r.rand(0) == 0 and r.state == s
    x = r.next()
    assert 0 <= x < 2 ** 64 and r.state != s
    expected = Rng(5).next() % 10
    assert Rng(5).rand(9) == expected


# ------------------------------------------------------------------------- single core

def test_single_load_miss_mesi_timing():
    # t=0 ld: I,Load -> BusRd miss, granted at 0, busy_until 40 (mem_latency).
    # t=40 perform (r1=7, stall 40), ready 41; t=41 halt; nothing left -> cycles 42.
    p = program([[LD(1, "x"), HALT()]], [("x", 7)])
    res = run_reference(p, cfg(), check=True)
    assert res.status == "halted"
    assert res.cycles == 42
    assert res.registers[0]["r1"] == 7
    s = core(res)
    assert (s["instructions"], s["loads"], s["hits"], s["misses"], s["stall_cycles"]) == \
        (1, 1, 0, 1, 40)
    assert res.stats["bus"]["BusRd"] == 1 and res.stats["bus"]["busy_cycles"] == 40
    assert res.memory == {"x": 7}


def test_load_then_store_mesi_silent_upgrade():
    # ld miss (E, 0..40), ready 41; st at 41: E,Store -> M hit, ready 42; halt 42 -> 43.
    p = program([[LD(1, "x"), ST("x", 5), HALT()]], [("x", 0)])
    c = cfg(protocol="mesi")
    m, linked, status, cycles = run_machine(p, c)
    assert (status, cycles) == ("halted", 43)
    assert m.bstat[:3] == [1, 0, 0]          # one BusRd, no BusRdX, no BusUpgr
    assert line_state(m, linked, 0, "x", c) == "M"
    res = run_reference(p, c, check=True)
    assert res.memory == {"x": 5}
    assert core(res)["hits"] == 1 and core(res)["misses"] == 1 and core(res)["stores"] == 1


def test_load_then_store_msi_upgrade():
    # ld miss (S, 0..40), ready 41; st at 41: S,Store -> BusUpgr, bus_latency 4 -> 45;
    # perform at 45 (stall 4), ready 46; halt 46 -> cycles 47.
    p = program([[LD(1, "x"), ST("x", 5), HALT()]], [("x", 0)])
    res = run_reference(p, cfg(protocol="msi"), check=True)
    assert res.cycles == 47
    b = res.stats["bus"]
    assert (b["BusRd"], b["BusRdX"], b["BusUpgr"]) == (1, 0, 1)
    assert b["busy_cycles"] == 44
    assert core(res)["stall_cycles"] == 44 and core(res)["misses"] == 2
    assert res.memory == {"x": 5}


def test_hit_latency_and_store_miss():
    # st miss BusRdX 0..40 (perform at 40, ready 41); ld at 41 hits (M), ready 41+3=44;
    # halt at 44 -> 45.
    p = program([[ST("x", 9), LD(2, "x"), HALT()]], [("x", 0)])
    res = run_reference(p, cfg(hit_latency=3), check=True)
    assert res.cycles == 45
    assert res.registers[0]["r2"] == 9
    assert res.stats["bus"]["BusRdX"] == 1


def test_halt_immediately_and_extra_cores():
    # A 1-core program on a 3-core machine: the two cores without code halt at t=0.
    p = program([[HALT()]])
    res = run_reference(p, cfg(cores=3))
    assert (res.status, res.cycles) == ("halted", 1)
    assert len(res.registers) == 3
    assert all(c["instructions"] == 0 for c in res.stats["cores"])


def test_too_many_program_cores():
    p = program([[HALT()], [HALT()]])
    with pytest.raises(CoherenceError):
        run_reference(p, cfg(cores=1))


def test_alu_and_branch_loop_wraps_int64():
    # r1 = 3; loop: r2 += 2^62; r1 -= 1 (add -1); bne r1, 0, loop ; r2 = 3 * 2^62 wrapped.
    big = 1 << 62
    p = program([[MOV(1, 3), ADD(2, 2, big), ADD(1, 1, -1), BNE(1, 0, 1), HALT()]])
    res = run_reference(p, cfg())
    assert res.registers[0]["r1"] == 0
    assert res.registers[0]["r2"] == 3 * big - (1 << 64)
    # 1 mov + 3*3 loop instructions, one per cycle, halt at t=10
    assert core(res)["instructions"] == 10 and res.cycles == 11


def test_delay():
    p = program([[DELAY(10), DELAY(0), HALT()]])
    res = run_reference(p, cfg())
    # delay 10 at 0 -> ready 10; delay 0 at 10 -> ready 11; halt at 11 -> 12
    assert res.cycles == 12


def test_address_out_of_memory_is_an_error():
    p = program([[MOV(1, 4096), (encode(OP_LD, rd=2, ra=1, addr=0), None), HALT()]],
                [("x", 0)])
    with pytest.raises(CoherenceError):
        run_reference(p, cfg())


# ------------------------------------------------------------------------------ RMWs

def test_rmw_semantics():
    p = program([[XCHG(1, "a", 5), FAA(2, "b", 10), CAS(3, "c", 7, 100), CAS(4, "d", 1, 100),
                  HALT()]], [("a", 1), ("b", 2), ("c", 7), ("d", 8)])
    res = run_reference(p, cfg(), check=True)
    r = res.registers[0]
    assert (r["r1"], r["r2"], r["r3"], r["r4"]) == (1, 2, 7, 8)
    assert res.memory == {"a": 5, "b": 12, "c": 100, "d": 8}
    assert core(res)["rmws"] == 4 and res.stats["bus"]["BusRdX"] == 4


# ---------------------------------------------------------------------- multi-core traffic

def test_two_readers_then_writer_invalidates():
    # t=0: core0 and core1 ld x; round robin grants port 0 (core0): E, 0..40.
    # t=40: core0 done; port 2 (core1) granted: E,BusRd -> S, shared -> S, 40..80.
    # t=200: core2 st x: BusRdX invalidates both S copies; 200..240; halt 241 -> 242.
    p = program([[LD(1, "x"), HALT()], [LD(1, "x"), HALT()], [DELAY(200), ST("x", 9), HALT()]],
                [("x", 4)])
    c = cfg(cores=3)
    res = run_reference(p, c, check=True)
    b = res.stats["bus"]
    assert (b["BusRd"], b["BusRdX"], b["BusUpgr"]) == (2, 1, 0)
    assert b["invalidations"] == 2 and b["c2c_transfers"] == 0 and b["Flush"] == 0
    assert res.cycles == 242
    assert core(res, 0)["stall_cycles"] == 40 and core(res, 1)["stall_cycles"] == 80
    assert [res.registers[i]["r1"] for i in (0, 1)] == [4, 4]
    assert res.memory == {"x": 9}


def test_moesi_m_to_o_c2c_no_writeback():
    # core0: st x=3 (BusRdX 0..40, M); core1 at 100: ld x -> core0 M,BusRd -> O supplies,
    # c2c latency 12 -> 112; core1 gets S; memory is NOT written; halt 113 -> 114.
    p = program([[ST("x", 3), HALT()], [DELAY(100), LD(1, "x"), HALT()]], [("x", 0)])
    c = cfg(cores=2, protocol="moesi")
    m, linked, status, cycles = run_machine(p, c)
    assert (status, cycles) == ("halted", 114)
    assert line_state(m, linked, 0, "x", c) == "O"
    assert line_state(m, linked, 1, "x", c) == "S"
    assert raw_mem(m, linked, "x") == 0               # no write-back under MOESI
    res = run_reference(p, c, check=True)
    b = res.stats["bus"]
    assert (b["Flush"], b["c2c_transfers"], b["WriteBack"]) == (1, 1, 0)
    assert res.registers[1]["r1"] == 3
    assert res.memory == {"x": 3}                    # coherent view takes the O copy


def test_mesi_m_read_by_other_writes_back():
    p = program([[ST("x", 3), HALT()], [DELAY(100), LD(1, "x"), HALT()]], [("x", 0)])
    c = cfg(cores=2, protocol="mesi")
    m, linked, status, cycles = run_machine(p, c)
    assert cycles == 114
    assert line_state(m, linked, 0, "x", c) == "S"
    assert raw_mem(m, linked, "x") == 3               # M,BusRd -> S supplies and writes back
    assert m.bstat[BS_FLUSH] == 1                            # Flush counted once (supply + wb)


def test_moesi_owner_evicts_with_writeback():
    # 1-set, 1-way caches: core0 st x (M) then core1 reads x (core0 -> O), then core0 loads
    # y, evicting the O line with a write-back.
    p = program([[ST("x", 3), DELAY(100), LD(2, "y"), HALT()],
                 [DELAY(50), LD(1, "x"), HALT()]], [("x", 0), ("y", 0)])
    c = cfg(cores=2, protocol="moesi", l1_size=64, l1_ways=1)
    m, linked, status, cycles = run_machine(p, c)
    assert raw_mem(m, linked, "x") == 3
    assert m.bstat[BS_WB] == 1                            # WriteBack
    assert line_state(m, linked, 0, "x", c) == "I"
    assert line_state(m, linked, 1, "x", c) == "S"


# ------------------------------------------------------------------------ LRU / victims

def test_lru_eviction_with_writeback():
    # one set of two ways. st a (fill, stamp 1) 0..40; ld b (fill, stamp 2) 41..81;
    # ld c at 82: no I frame, LRU = a (M) -> write-back, latency 40+10 -> 132; halt 133 -> 134.
    p = program([[ST("a", 1), LD(1, "b"), LD(2, "c"), HALT()]], [("a", 0), ("b", 0), ("c", 0)])
    c = cfg(l1_size=128, l1_ways=2, line_size=64, timeline_window=50)
    m, linked, status, cycles = run_machine(p, c)
    assert cycles == 134
    assert raw_mem(m, linked, "a") == 1
    assert line_state(m, linked, 0, "a", c) == "I"
    assert line_state(m, linked, 0, "b", c) == "E"
    res = run_reference(p, c, check=True)
    assert res.stats["bus"]["WriteBack"] == 1
    assert res.stats["bus"]["busy_cycles"] == 130
    # grants at 0 (BusRdX), 41 (BusRd) | 82 (BusRd + victim write-back); windows of 50
    assert res.timeline["counts"] == [[1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]]
    assert res.memory == {"a": 1, "b": 0, "c": 0}


def test_lru_hit_refreshes_stamp():
    # st a; ld b; ld a (hit, a becomes most recent); ld c evicts b (E): no write-back.
    p = program([[ST("a", 1), LD(1, "b"), LD(3, "a"), LD(2, "c"), HALT()]],
                [("a", 0), ("b", 0), ("c", 0)])
    c = cfg(l1_size=128, l1_ways=2, line_size=64)
    m, linked, status, cycles = run_machine(p, c)
    assert m.bstat[BS_WB] == 0
    assert line_state(m, linked, 0, "a", c) == "M"
    assert line_state(m, linked, 0, "b", c) == "I"
    # st 0..40, ld b 41..81, ld a hit at 82 (ready 83), ld c 83..123, halt 124 -> 125
    assert cycles == 125


# ------------------------------------------------------------------------------ TSO

def test_tso_store_buffer_forwarding():
    # t=0 st appended (drain_ready 1), ready 1. t=1: drain unit misses (BusRdX 1..41);
    # ld x forwards 5 (ready 2). t=2 halt. t=41 drain performed. cycles 42.
    p = program([[ST("x", 5), LD(1, "x"), HALT()]], [("x", 0)])
    res = run_reference(p, cfg(model="tso"), check=True)
    assert res.cycles == 42
    assert res.registers[0]["r1"] == 5
    s = core(res)
    assert (s["instructions"], s["stores"], s["loads"], s["forwards"], s["misses"],
            s["hits"], s["stall_cycles"]) == (2, 1, 1, 1, 1, 0, 0)
    assert res.memory == {"x": 5}


def test_tso_mfence_waits_for_drain():
    # t=0 st (drain_ready 1); t=1 drain miss 1..41, mfence waits; t=41 buffer empty ->
    # ready 42; t=42 mfence retires; t=43 halt -> cycles 44.
    p = program([[ST("x", 1), MFENCE(), HALT()]], [("x", 0)])
    res = run_reference(p, cfg(model="tso"), check=True)
    assert res.cycles == 44
    assert core(res)["instructions"] == 2


def test_tso_rmw_drains_first():
    # t=0 st x (drain_ready 1); t=1 drain misses 1..41; faa waits (first issue t=1).
    # t=41 drain done, ready 42 (stall 41-1); t=42 faa misses 42..82; perform at 82
    # (stall 82-42): 40 + 40 = 80 cycles blocked in all.
    p = program([[ST("x", 1), FAA(1, "y", 5), HALT()]], [("x", 0), ("y", 10)])
    res = run_reference(p, cfg(model="tso"), check=True)
    assert res.cycles == 84
    assert core(res)["stall_cycles"] == 80 and core(res)["rmws"] == 1
    assert res.registers[0]["r1"] == 10
    assert res.memory == {"x": 1, "y": 15}


def test_tso_store_buffer_full():
    # a one-entry buffer: second st waits (sbfull) until the first drains at 41, ready 42.
    p = program([[ST("x", 1), ST("y", 2), HALT()]], [("x", 0), ("y", 0)])
    res = run_reference(p, cfg(model="tso", store_buffer=1), check=True)
    # t=42 st y appended (drain_ready 43), ready 43; t=43 halt + drain miss 43..83 -> 84
    assert res.cycles == 84
    assert res.memory == {"x": 1, "y": 2}


def test_tso_drain_hits_use_hit_latency():
    # t=0 st x=1 (drain_ready 1); t=1 drain miss 1..41, st x=2; t=2 st x=3; t=3 halt.
    # t=41 first entry performed, drain_ready 42; t=42 hit -> drain_ready 42+hit_latency;
    # then the last hit, and cycles = that cycle + 1.
    p = program([[ST("x", 1), ST("x", 2), ST("x", 3), HALT()]], [("x", 0)])
    for hit, cycles in ((1, 44), (5, 48)):
        res = run_reference(p, cfg(model="tso", hit_latency=hit), check=True)
        assert res.cycles == cycles
        assert (core(res)["hits"], core(res)["misses"]) == (2, 1)
        assert res.memory == {"x": 3}


def test_reevaluated_request_becomes_a_hit():
    # TSO, x has two words.  t=0 st [x+0] buffered (drain_ready 1).  t=1: the drain posts a
    # BusRdX (port 1), then ld [x+8] (no forward) posts a BusRd (port 0); round robin grants
    # port 0 first: E, 1..41.  t=41: the load completes (stall 40), then arbitration
    # re-evaluates the drain's request: E,Store needs no bus -> performed at 41 as a hit.
    # t=42 halt -> cycles 43.  Not counted again: misses 2, hits 0.
    p = program([[ST("x", 1), LD(1, "x", off=8), HALT()]], [("x", [0, 5])])
    res = run_reference(p, cfg(model="tso"), check=True)
    assert res.cycles == 43
    b = res.stats["bus"]
    assert (b["BusRd"], b["BusRdX"], b["BusUpgr"]) == (1, 0, 0)
    s = core(res)
    assert (s["misses"], s["hits"], s["stall_cycles"], s["instructions"]) == (2, 0, 40, 2)
    assert res.registers[0]["r1"] == 5 and res.memory == {"x": [1, 5]}


def test_reevaluated_upgrade_becomes_busrdx():
    # MSI.  Both cores read x (S, S: 0..40, 40..80), then both store at t=141.  Round robin
    # (pointer 3) grants core0's BusUpgr (141..145) which invalidates core1; at 145 core1's
    # request is re-evaluated: I,Store -> BusRdX, core0 (M) supplies: c2c 145..157.
    p = program([[LD(1, "x"), DELAY(100), ST("x", 1), HALT()],
                 [LD(1, "x"), DELAY(60), ST("x", 2), HALT()]], [("x", 0)])
    res = run_reference(p, cfg(cores=2, protocol="msi"), check=True)
    b = res.stats["bus"]
    assert (b["BusRd"], b["BusRdX"], b["BusUpgr"]) == (2, 1, 1)
    assert (b["invalidations"], b["Flush"], b["c2c_transfers"]) == (2, 1, 1)
    assert b["busy_cycles"] == 40 + 40 + 4 + 12
    assert core(res, 0)["stall_cycles"] == 40 + 4
    assert core(res, 1)["stall_cycles"] == 80 + 16
    assert core(res, 1)["misses"] == 2
    assert res.cycles == 159 and res.memory == {"x": 2}


def _sb_litmus():
    return program([[ST("x", 1), LD(1, "y"), HALT()], [ST("y", 1), LD(1, "x"), HALT()]],
                   [("x", 0), ("y", 0)])


def test_sb_litmus_tso_shows_relaxation_sc_never():
    p = _sb_litmus()
    kw = dict(cores=2, start_skew=30, jitter=5, drain_delay=60)
    tso = set()
    for seed in range(30):
        res = run_reference(p, cfg(model="tso", **kw), seed=seed, check=True)
        tso.add((res.registers[0]["r1"], res.registers[1]["r1"]))
        sc = run_reference(p, cfg(model="sc", **kw), seed=seed, check=True)
        assert (sc.registers[0]["r1"], sc.registers[1]["r1"]) != (0, 0)
        assert sc.memory == {"x": 1, "y": 1} and res.memory == {"x": 1, "y": 1}
    assert (0, 0) in tso


# ------------------------------------------------------------------------------ watchdog

def test_max_cycles_on_infinite_loop():
    p = program([[JMP(0)]])
    res = run_reference(p, cfg(max_cycles=100, progress_window=0))
    assert (res.status, res.cycles) == ("max_cycles", 100)
    # cycles 0..99 run, one jmp each
    assert core(res)["instructions"] == 100


def test_no_progress_on_infinite_loop():
    p = program([[JMP(0)]])
    res = run_reference(p, cfg(max_cycles=10_000, progress_window=50))
    assert (res.status, res.cycles) == ("no_progress", 50)


def test_stores_are_progress():
    # st x hits (M) every other cycle after the first miss: never no_progress
    p = program([[ST("x", 1), JMP(0)]], [("x", 0)])
    res = run_reference(p, cfg(max_cycles=500, progress_window=50))
    assert (res.status, res.cycles) == ("max_cycles", 500)


def test_watchdog_with_idle_skip():
    p = program([[DELAY(1000), HALT()]])
    res = run_reference(p, cfg(max_cycles=10_000, progress_window=100))
    assert (res.status, res.cycles) == ("no_progress", 100)
    res = run_reference(p, cfg(max_cycles=50, progress_window=100))
    assert (res.status, res.cycles) == ("max_cycles", 50)
    res = run_reference(p, cfg(max_cycles=500, progress_window=100))
    assert (res.status, res.cycles) == ("no_progress", 100)
    # both trip on the jump to 1000: the smaller reported count wins, max_cycles on a tie
    res = run_reference(p, cfg(max_cycles=100, progress_window=100))
    assert (res.status, res.cycles) == ("max_cycles", 100)
    res = run_reference(p, cfg(max_cycles=101, progress_window=100))
    assert (res.status, res.cycles) == ("no_progress", 100)
    # halt at t=1000 needs cycle 1000 to run: max_cycles=1000 stops before it
    res = run_reference(p, cfg(max_cycles=1000, progress_window=0))
    assert (res.status, res.cycles) == ("max_cycles", 1000)
    res = run_reference(p, cfg(max_cycles=1001, progress_window=0))
    assert (res.status, res.cycles) == ("halted", 1001)


# ------------------------------------------------------------------- broken protocols

def _broken_mesi():
    table = dict(MESI.table)
    table[("S", "BusRdX")] = T("S")                 # forgets to invalidate
    return Protocol("broken-mesi", "ISEM", table)


def _readers_then_writer():
    return program([[LD(1, "x"), HALT()], [LD(1, "x"), HALT()],
                    [DELAY(200), ST("x", 9), HALT()]], [("x", 4)])


def test_broken_protocol_invariant_violation():
    c = cfg(cores=3, protocol=_broken_mesi())
    with pytest.raises(InvariantViolation) as err:
        run_reference(_readers_then_writer(), c, check=True)
    e = err.value
    assert (e.kind, e.cycle, e.core, e.states) == ("swmr", 200, 2, "core0=S core1=S core2=M")
    assert (e.found, e.expected) == (1, 3)  # one writer among three readable copies
    # without check the run completes (silently wrong)
    res = run_reference(_readers_then_writer(), c, check=False)
    assert res.status == "halted"


def test_missing_writeback_data_violation():
    table = dict(MESI.table)
    table[("M", "Evict")] = T("I")                  # drops dirty data
    c = cfg(protocol=Protocol("lossy", "ISEM", table), l1_size=64, l1_ways=1)
    p = program([[ST("x", 3), LD(1, "y"), LD(2, "x"), HALT()]], [("x", 0), ("y", 0)])
    with pytest.raises(InvariantViolation) as err:
        run_reference(p, c, check=True)
    e = err.value
    # x's dirty line was dropped: the refill from memory brings the stale 0, the latest is 3
    assert (e.kind, e.core, e.found, e.expected) == ("data", 0, 0, 3)
    assert run_reference(p, c).registers[0]["r2"] == 0


def test_impossible_entry_protocol_error():
    table = dict(MESI.table)
    table[("E", "BusRd")] = Impossible("nobody reads my E lines")
    c = cfg(cores=2, protocol=Protocol("strict", "ISEM", table))
    p = program([[LD(1, "x"), HALT()], [DELAY(100), LD(1, "x"), HALT()]], [("x", 0)])
    for check in (False, True):
        with pytest.raises(ProtocolError) as err:
            run_reference(p, c, check=check)
        e = err.value
        # core 0, snooping core 1's BusRd at cycle 100, holds the line in E
        assert (e.kind, e.protocol, e.state, e.event) == ("protocol", "strict", "E", "BusRd")
        assert (e.cycle, e.core, e.reason) == (100, 0, "nobody reads my E lines")


# ------------------------------------------------------------------- arbitration, seeds

def test_fixed_vs_round_robin_arbitration():
    # core0: two loads; core1, core2: one load each; all issue at t=0 (ports 0, 2, 4).
    # Both: t=0 grant port 0 (0..40); t=40 grant port 2 (40..80); core0 posts again at 41.
    # t=80: fixed picks port 0 (80..120) then 4 (120..160); round-robin (pointer 3) picks
    # port 4 (80..120) then 0 (120..160).
    p = program([[LD(1, "a"), LD(2, "b"), HALT()], [LD(1, "c"), HALT()], [LD(1, "d"), HALT()]],
                [("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    fixed = run_reference(p, cfg(cores=3, arbitration="fixed"))
    rr = run_reference(p, cfg(cores=3, arbitration="round-robin"))
    assert [core(fixed, c)["stall_cycles"] for c in range(3)] == [40 + 79, 80, 160]
    assert [core(rr, c)["stall_cycles"] for c in range(3)] == [40 + 119, 80, 120]
    assert fixed.cycles == 162 and rr.cycles == 162


def test_two_cores_alternate_on_the_bus():
    # two cores each doing two loads of distinct lines: grants go 0, 2, 0, 2.
    p = program([[LD(1, "a"), LD(2, "b"), HALT()], [LD(1, "c"), LD(2, "d"), HALT()]],
                [("a", 1), ("b", 2), ("c", 3), ("d", 4)])
    res = run_reference(p, cfg(cores=2))
    # core0: 0..40, core1: 40..80, core0 (issued 41): 80..120, core1 (issued 81): 120..160
    assert core(res, 0)["stall_cycles"] == 40 + 79
    assert core(res, 1)["stall_cycles"] == 80 + 79
    assert res.cycles == 162


def test_determinism_and_seed_dependence():
    p = _sb_litmus()
    c = cfg(cores=2, model="tso", start_skew=20, jitter=7, drain_delay=30,
            arbitration="random", timeline_window=25)
    a = run_reference(p, c, seed=11, check=True).to_dict()
    b = run_reference(p, c, seed=11, check=True).to_dict()
    assert a == b
    assert run_reference(p, c, seed=11).to_json() == run_reference(p, c, seed=11).to_json()
    outs = {run_reference(p, c, seed=s).cycles for s in range(8)}
    assert len(outs) > 1


# ------------------------------------------------------------------------------ trace mode

def test_trace_mode_matches_program_timing():
    writes = [np.array([0, 1]), np.array([1])]
    addrs = [np.array([0, 8]), np.array([64])]
    c = cfg(cores=2)
    res = run_trace_reference(writes, addrs, c, check=True)
    assert res.registers == [] and res.memory == {}
    # core0: ld 0..40, st hit (E->M) at 41, halt 42; core1: st miss 40..80, halt 81 -> 82
    assert res.cycles == 82
    b = res.stats["bus"]
    assert (b["BusRd"], b["BusRdX"]) == (1, 1)
    assert core(res, 0)["hits"] == 1 and core(res, 1)["stores"] == 1
    p = program([[LD(1, "x"), ST("x", 1, off=8), HALT()], [ST("y", 1), HALT()]],
                [("x", [0, 0]), ("y", 0)])
    assert run_reference(p, c).cycles == 82


def test_trace_mode_too_many_cores():
    with pytest.raises(CoherenceError):
        run_trace_reference([np.array([0])] * 3, [np.array([0])] * 3, cfg(cores=2))
