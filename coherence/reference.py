"""A slow, obviously-correct plain-Python model of the machine in ``docs/machine.md``.

This module is the executable reading of that page: every phase, RNG draw and counter happens
where the page says, in the order it says, so that the jitted engine (``coherence.engine``)
can be checked against it run for run (identical ``RunResult.to_dict()``).  It is written for
clarity, not speed: small classes (:class:`Frame`, :class:`Cache`, :class:`StoreBuffer`,
:class:`Core`, :class:`Bus`), Python ints masked to 64 bits, and the protocol looked up in
``config.protocol.compiled()`` so that any user :class:`~coherence.protocols.Protocol` runs.

Public API: :func:`run_reference` and :func:`run_trace_reference`.  :class:`ReferenceMachine`
is exposed for tests that want to look at the caches or memory after a run.

Readings of points the spec leaves open (keep the engine in line with these):

* ``halt`` (and running past the end) does not retire: ``instructions`` is not incremented and
  ``pc`` stays.
* ``stall_cycles`` adds ``T - t_block`` every time a blocked core is released at T (its
  request performed, or its store buffer drained / made room), where ``t_block`` is the cycle
  it last blocked: the sum of every interval the core spent waiting for memory.
* In trace mode every performed access (loads included) is progress for the watchdog: a
  trace always moves forward.
* A request that arbitration re-evaluates into a hit is not counted again (it already counted
  as a miss): no ``hits += 1``.  It takes the entry's ``next`` state, a fresh LRU stamp, and is
  performed at t with the Perform rules (core ready at t+1; drain: ``drain_ready = t + 1 +
  rand(drain_delay)``).
* The drain unit's hits and misses count in its core's ``hits``/``misses``.  A drain hit
  releases a core waiting for ``drain``/``sbfull`` with ``ready = t + 1`` (Perform's rule).
* ``Flush`` counts once per snooping cache that puts data on the bus (supplies and/or writes
  back), not only for the first supplier; the first supplier in core order is the source.
* An eviction is not an invalidation (``invalidations`` counts snoop-induced copies -> I only).
* The LRU counter advances exactly when a stamp is given (a hit, a re-evaluated hit, a fill);
  completing a granted transaction does not refresh the stamp.
* An Impossible entry reached on any lookup (processor event, snoop, evict, re-evaluation)
  raises :class:`ProtocolError` (kind ``protocol``), with or without ``check``; a transaction
  that leaves the requester's own line invalid raises it too (kind ``absent``).  Errors carry
  the same fields as the engine's (:class:`~coherence.errors.InvariantViolation`).
* ``check=True`` checks, after every granted transaction, in this order: single writer or
  many readers, one owner, every copy's data, memory when no copy is dirty; and the value
  read by every load and RMW performed from a cache.  What a state means (writable,
  readable, dirty, owner) comes from the protocol (:class:`~coherence.protocols.State`).
* Watchdog (``limit`` is ``config.cycle_limit(trace)``: ``max_cycles``, or when unset 50 M
  cycles for a program and none for a trace): the run stops with ``max_cycles`` when ``next >= max_cycles`` ("the next cycle
  would exceed the budget": cycles 0..max_cycles-1 run at most, so a halted run always has
  ``cycles <= max_cycles``); ``next - last_progress > progress_window`` stops with
  ``no_progress``.  When one clock jump trips both, the smaller reported cycle count wins:
  ``no_progress`` iff ``last_progress + progress_window < max_cycles``.
* ``random`` arbitration draws one ``next()`` per choice even with a single pending port.
* RNG: the seed is taken mod 2**64; if ``splitmix64(seed)`` is 0 the state is
  ``0x9E3779B97F4A7C15`` instead.
* ``cas rd, [a], B, C``: B is the expected value, C the new value.
* Bad programs raise :class:`CoherenceError`: more program cores than ``config.cores``
  (malformed rows never get here: a :class:`~coherence.program.Program` checks its rows when
  it is made); a memory
  address outside ``0 .. 8*words`` where ``words`` is the linked memory rounded up to whole
  lines (raised when the instruction executes); in trace mode a negative address.
* ``registers`` lists every one of ``config.cores`` cores (cores without code keep zeros).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .config import SystemConfig
from . import tracecheck
from .errors import (CoherenceError, InvariantViolation, ProtocolError, check_final_memory,
                     warn_partial)
from .isa import (ALU_OPS, BRANCH_OPS, F_ADDR, F_B, F_BREG, F_C, F_CREG, F_OP, F_RA, F_RD, NREGS,
                  OP_ADD, OP_AND, OP_BEQ, OP_BGE, OP_BLT, OP_BNE, OP_DELAY, OP_FAA, OP_HALT, OP_JMP,
                  OP_LD, OP_MFENCE, OP_MOV, OP_NOP, OP_OR, OP_PAUSE, OP_ST, OP_SUB, OP_XCHG,
                  OPNAMES, RMW_OPS)
from .protocols.table import (BUS_NONE, BUS_RD, BUS_RDX, BUS_UPD, BUS_UPGR, EV_BUSUPD, C_BUS, C_ERR,
                              C_NEXT, C_SHARED, C_SUPPLY, C_WB, EV_BUSRD, EV_BUSRDX, EV_BUSUPGR,
                              EV_EVICT, EV_LOAD, EV_STORE, EVENTS, INVALID, M_DIRTY, M_OWNER,
                              M_READ, M_WRITE)
from .stats import (latency_row, BS_UPD, TIMELINE_TYPES, TL_BUSRD, TL_BUSRDX, TL_BUSUPD, TL_BUSUPGR,
                    TL_WB, BS_BUSY, BS_C2C, BS_FLUSH, BS_INV, BS_RD, BS_RDX, BS_UPGR, BS_WB, CS_FWD,
                    CS_HITS, CS_INSTR, CS_LOADS, CS_MISSES, CS_RMWS, CS_STALL, CS_STORES, NBUSSTATS,
                    NCORESTATS, RunResult, build_result)

__all__ = ["run_reference", "run_trace_reference", "ReferenceMachine", "Rng", "splitmix64"]

MASK64 = (1 << 64) - 1


def wrap64(x: int) -> int:
    """x as a signed 64-bit integer (two's complement wrap-around)."""
    x &= MASK64
    return x - (1 << 64) if x >> 63 else x


# --------------------------------------------------------------------------------------- RNG

def splitmix64(seed: int) -> int:
    """One splitmix64 output for state ``seed`` (the generator's seeding function)."""
    z = (seed + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


class Rng:
    """xorshift64*, seeded by splitmix64(seed)."""

    def __init__(self, seed: int):
        self.state = splitmix64(seed & MASK64) or 0x9E3779B97F4A7C15

    def next(self) -> int:
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK64
        s ^= s >> 27
        self.state = s
        return (s * 0x2545F4914F6CDD1D) & MASK64

    def rand(self, n: int) -> int:
        """Uniform in 0..n; no draw at all when n == 0."""
        return 0 if n == 0 else self.next() % (n + 1)


# ---------------------------------------------------------------------------- protocol table

class Entry:
    """One decoded (state, event) entry of the compiled protocol table."""

    __slots__ = ("next", "shared", "bus", "supply", "writeback", "err")

    def __init__(self, row):
        self.next = int(row[C_NEXT])
        self.shared = int(row[C_SHARED])
        self.bus = int(row[C_BUS])
        self.supply = bool(row[C_SUPPLY])
        self.writeback = bool(row[C_WB])
        self.err = int(row[C_ERR])


BUS_NAMES = {BUS_RD: "BusRd", BUS_RDX: "BusRdX", BUS_UPGR: "BusUpgr", BUS_UPD: "BusUpd"}
SNOOP_EVENT = {BUS_RD: EV_BUSRD, BUS_RDX: EV_BUSRDX, BUS_UPGR: EV_BUSUPGR, BUS_UPD: EV_BUSUPD}
BUS_STAT = {BUS_RD: BS_RD, BUS_RDX: BS_RDX, BUS_UPGR: BS_UPGR, BUS_UPD: BS_UPD}
TIMELINE_COLUMN = {BUS_RD: TL_BUSRD, BUS_RDX: TL_BUSRDX, BUS_UPGR: TL_BUSUPGR,
                   BUS_UPD: TL_BUSUPD}

# Why a core is blocked.
WAIT_NONE, WAIT_BUS, WAIT_SBFULL, WAIT_DRAIN = "none", "bus", "sbfull", "drain"


# --------------------------------------------------------------------------------- the parts

class Frame:
    """One cache frame: tag (line number), state, LRU stamp and the line's words."""

    __slots__ = ("tag", "state", "stamp", "data")

    def __init__(self, words: int):
        self.tag = -1
        self.state = INVALID
        self.stamp = 0
        self.data = [0] * words


class Cache:
    """A private L1: ``sets`` x ``ways`` frames, LRU by a per-cache stamp counter."""

    def __init__(self, sets: int, ways: int, words: int):
        self.nsets = sets
        self.sets = [[Frame(words) for _ in range(ways)] for _ in range(sets)]
        self.counter = 0

    def frames_of(self, line: int) -> list:
        return self.sets[line & (self.nsets - 1)]

    def lookup(self, line: int):
        """The frame holding ``line`` in a state other than I, or None."""
        for f in self.frames_of(line):
            if f.tag == line and f.state != INVALID:
                return f
        return None

    def state_of(self, line: int) -> int:
        f = self.lookup(line)
        return INVALID if f is None else f.state

    def victim(self, line: int) -> Frame:
        """The lowest-numbered frame in state I, else the least recently used."""
        frames = self.frames_of(line)
        for f in frames:
            if f.state == INVALID:
                return f
        return min(frames, key=lambda f: f.stamp)

    def touch(self, frame: Frame) -> None:
        self.counter += 1
        frame.stamp = self.counter


class StoreBuffer:
    """The TSO FIFO of (word address, value) and its drain unit."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.entries = deque()
        self.drain_ready = 0
        self.draining = False

    @property
    def empty(self) -> bool:
        return not self.entries

    @property
    def full(self) -> bool:
        return len(self.entries) >= self.capacity

    def forward(self, word: int):
        """The youngest buffered value for ``word``, or None."""
        for w, v in reversed(self.entries):
            if w == word:
                return v
        return None


class Core:
    def __init__(self, index: int, code: list):
        self.index = index
        self.code = code            # list of tuples of Python ints (isa fields)
        self.pc = 0
        self.regs = [0] * NREGS
        self.ready = 0
        self.wait = WAIT_NONE
        self.halted = False
        self.block_t = 0            # cycle the core last blocked (wait set)
        self.stats = [0] * NCORESTATS
        self.latencies = []         # of its requests, posting to performing


class Request:
    """A pending or in-flight access of one port."""

    def __init__(self, port, core, op, addr, rd=-1, value=0, new=0, drain=False):
        self.port = port
        self.core = core
        self.op = op                # OP_LD, OP_ST or an RMW opcode
        self.addr = addr            # byte address
        self.rd = rd
        self.value = value          # store value / xchg value / faa addend / cas expected
        self.new = new              # cas new value
        self.drain = drain          # a store buffer head (port 2c+1)
        self.frame = None           # the frame given at grant
        self.action = None          # the bus action granted
        self.posted = 0             # the cycle it was posted

    @property
    def event(self) -> int:
        return EV_LOAD if self.op == OP_LD else EV_STORE


class Bus:
    def __init__(self):
        self.busy = False
        self.busy_until = 0
        self.request = None
        self.pointer = 0            # round-robin


# ------------------------------------------------------------------------------- the machine

class ReferenceMachine:
    """The whole machine; :meth:`run` executes it and returns ``(status, cycles)``."""

    def __init__(self, config: SystemConfig, codes: list, memory: dict, seed: int,
                 check: bool = False, track_data: bool = True, memory_words: int | None = None):
        self.config = config
        self.N = config.cores
        self.tso = config.model == "tso"
        self.issue_jitter = config.per_core("issue_jitter")
        self.drain_delay = config.per_core("drain_delay")
        compiled = config.protocol.compiled()
        self.table = [[Entry(compiled.table[s, e]) for e in range(len(EVENTS))]
                      for s in range(len(compiled.states))]
        self.state_names = compiled.states
        self.meaning = compiled.meaning
        #: How often each (state, event) entry was taken (gem5 Ruby's transition counts).
        self.tcount = [[0] * len(EVENTS) for _ in compiled.states]
        self.wpl = config.words_per_line
        self.word_shift = (config.line_size // 8).bit_length() - 1   # word -> line
        self.check = check
        self.track_data = track_data
        self.memory_words = memory_words    # bound on word addresses (None: unbounded)
        self.memory = dict(memory)          # word -> value (missing words are 0)
        self.latest = dict(memory)          # coherence-order latest value of each word
        self.rng = Rng(seed)
        self.cores = [Core(c, codes[c] if c < len(codes) else []) for c in range(self.N)]
        self.caches = [Cache(config.sets, config.l1_ways, self.wpl) for _ in range(self.N)]
        self.buffers = [StoreBuffer(config.store_buffer) for _ in range(self.N)]
        self.ports = [None] * (2 * self.N)
        self.bus = Bus()
        self.bstat = [0] * NBUSSTATS
        self.timeline = {}                  # window index -> [BusRd, BusRdX, BusUpgr, WB]
        self.last_progress = 0
        self.t = 0

    # ------------------------------------------------------------------ helpers

    def line_of(self, addr: int) -> int:
        return (addr >> 3) >> self.word_shift

    def offset_of(self, addr: int) -> int:
        return (addr >> 3) & (self.wpl - 1)

    def read_line(self, line: int) -> list:
        base = line * self.wpl
        return [self.memory.get(base + i, 0) for i in range(self.wpl)]

    def write_line(self, line: int, data: list) -> None:
        base = line * self.wpl
        for i, v in enumerate(data):
            self.memory[base + i] = v

    def states_text(self, line: int) -> str:
        return " ".join(f"core{c}={self.state_names[cache.state_of(line)]}"
                        for c, cache in enumerate(self.caches))

    def lookup(self, state: int, event: int, t: int, core: int, addr: int,
               context: str = "") -> Entry:
        """The table entry, or ProtocolError for an Impossible entry."""
        entry = self.table[state][event]
        if entry.err:
            proto = self.config.protocol
            raise ProtocolError("protocol", protocol=proto.name, cycle=t, core=core,
                                address=addr, states=self.states_text(self.line_of(addr)),
                                state=self.state_names[state], event=EVENTS[event],
                                reason=proto.reason(state, event))
        return entry

    def violation(self, kind: str, t: int, core: int, addr: int, found, expected):
        """An invariant failed: the same fields the engine reports (errors.InvariantViolation)."""
        raise InvariantViolation(kind, cycle=t, core=core, address=addr,
                                 states=self.states_text(self.line_of(addr)), found=found,
                                 expected=expected)

    def progress(self, t: int) -> None:
        self.last_progress = t

    def retire(self, core: Core, pc: int, ready: int) -> None:
        core.pc = pc
        core.stats[CS_INSTR] += 1
        core.ready = ready + self.rng.rand(self.issue_jitter[core.index])

    def operand_b(self, core: Core, row) -> int:
        return core.regs[row[F_B]] if row[F_BREG] else row[F_B]

    def operand_c(self, core: Core, row) -> int:
        return core.regs[row[F_C]] if row[F_CREG] else row[F_C]

    def address(self, core: Core, row) -> int:
        addr = row[F_ADDR]
        if row[F_RA] >= 0:
            addr = wrap64(addr + core.regs[row[F_RA]])
        if addr < 0 or (self.memory_words is not None and (addr >> 3) >= self.memory_words):
            limit = "" if self.memory_words is None else f"..{self.memory_words * 8 - 1}"
            raise CoherenceError(
                f"core {core.index}, instruction {core.pc} ({OPNAMES[row[F_OP]]}): address "
                f"{addr} is outside memory, expected 0{limit}")
        return addr

    # ------------------------------------------------------------------ the run

    def run(self):
        cfg = self.config
        for core in self.cores:
            core.ready = self.rng.rand(cfg.start_skew)
        t = 0
        while True:
            self.t = t
            # 1. completion
            if self.bus.busy and self.bus.busy_until == t:
                req = self.bus.request
                self.bus.busy = False
                self.bus.request = None
                if req.frame.state == INVALID:
                    self.absent(req, t)  # the protocol left the requester's own line invalid
                self.perform(req, req.frame, t)
                if req.action == BUS_UPD:
                    self.update_copies(req)
            # 2. issue
            for core in self.cores:
                if self.tso:
                    self.drain_step(core, t)
                if not core.halted and core.wait == WAIT_NONE and t >= core.ready:
                    self.execute(core, t)
            # 3. arbitration
            self.arbitrate(t)
            # advance the clock
            nxt = self.next_event(t)
            if nxt is None:
                if all(c.halted for c in self.cores) and all(b.empty for b in self.buffers):
                    return "halted", t + 1
                raise RuntimeError(f"reference model stuck at cycle {t} with nothing to do")
            # the watchdog: cycles 0..max_cycles-1 run at most; when both trip on one jump,
            # the smaller reported cycle count wins (max_cycles on a tie)
            window = cfg.progress_window
            limit = cfg.cycle_limit(trace=not self.track_data)
            over_max = nxt >= limit
            no_progress = window > 0 and nxt - self.last_progress > window
            if no_progress and self.last_progress + window < limit:
                return "no_progress", self.last_progress + window
            if over_max:
                return "max_cycles", limit
            t = nxt

    def next_event(self, t: int):
        times = []
        if self.bus.busy:
            times.append(self.bus.busy_until)
        for core in self.cores:
            if not core.halted and core.wait == WAIT_NONE:
                times.append(core.ready)
        for buf in self.buffers:
            if not buf.empty and not buf.draining:
                times.append(buf.drain_ready)
        if not times:
            return None
        return max(min(times), t + 1)

    # ------------------------------------------------------------------ issue

    def drain_step(self, core: Core, t: int) -> None:
        buf = self.buffers[core.index]
        if not buf.empty and not buf.draining and t >= buf.drain_ready:
            word, value = buf.entries[0]
            self.attempt(Request(2 * core.index + 1, core.index, OP_ST, word * 8,
                                 value=value, drain=True), t)

    def execute(self, core: Core, t: int) -> None:
        cfg = self.config
        c = core.index
        if core.pc >= len(core.code):
            core.halted = True
            self.progress(t)
            return
        row = core.code[core.pc]
        op = row[F_OP]
        regs = core.regs
        nxt = core.pc + 1

        if op in (OP_NOP, OP_PAUSE):
            self.retire(core, nxt, t + 1)
        elif op == OP_MOV:
            regs[row[F_RD]] = self.operand_b(core, row)
            self.retire(core, nxt, t + 1)
        elif op in ALU_OPS:
            a, b = regs[row[F_RA]], self.operand_b(core, row)
            if op == OP_ADD:
                r = a + b
            elif op == OP_SUB:
                r = a - b
            elif op == OP_AND:
                r = a & b
            elif op == OP_OR:
                r = a | b
            else:
                r = a ^ b
            regs[row[F_RD]] = wrap64(r)
            self.retire(core, nxt, t + 1)
        elif op in BRANCH_OPS:
            taken = True
            if op != OP_JMP:
                a, b = regs[row[F_RA]], self.operand_b(core, row)
                taken = {OP_BEQ: a == b, OP_BNE: a != b, OP_BLT: a < b, OP_BGE: a >= b}[op]
            self.retire(core, row[F_ADDR] if taken else nxt, t + 1)
        elif op == OP_DELAY:
            self.retire(core, nxt, t + max(self.operand_b(core, row), 1))
        elif op == OP_HALT:
            core.halted = True
            self.progress(t)
        elif op == OP_MFENCE:
            if not self.tso or self.buffers[c].empty:
                self.retire(core, nxt, t + 1)
            else:
                core.wait = WAIT_DRAIN
                core.block_t = t
        elif op == OP_LD:
            addr = self.address(core, row)
            core.stats[CS_LOADS] += 1
            if self.tso:
                v = self.buffers[c].forward(addr >> 3)
                if v is not None:
                    if row[F_RD] >= 0:
                        regs[row[F_RD]] = v
                    core.stats[CS_FWD] += 1
                    self.retire(core, nxt, t + cfg.hit_latency)
                    return
            self.attempt(Request(2 * c, c, OP_LD, addr, rd=row[F_RD]), t)
        elif op == OP_ST:
            addr = self.address(core, row)
            value = self.operand_b(core, row)
            if not self.tso:
                core.stats[CS_STORES] += 1
                self.attempt(Request(2 * c, c, OP_ST, addr, value=value), t)
                return
            buf = self.buffers[c]
            if buf.full:
                core.wait = WAIT_SBFULL
                core.block_t = t
                return
            if buf.empty:
                buf.drain_ready = t + 1 + self.rng.rand(self.drain_delay[c])
            buf.entries.append((addr >> 3, value))
            core.stats[CS_STORES] += 1
            self.retire(core, nxt, t + 1)
        elif op in RMW_OPS:
            addr = self.address(core, row)
            if self.tso and not self.buffers[c].empty:
                core.wait = WAIT_DRAIN
                core.block_t = t
                return
            core.stats[CS_RMWS] += 1
            self.attempt(Request(2 * c, c, op, addr, rd=row[F_RD],
                                 value=self.operand_b(core, row),
                                 new=self.operand_c(core, row)), t)
        else:  # validated up front; kept as a guard
            raise CoherenceError(f"core {c}, instruction {core.pc}: unknown opcode {op}")

    def attempt(self, req: Request, t: int) -> None:
        """Try a Load/Store in the cache: a hit is performed now, a miss posts a request."""
        cfg = self.config
        core = self.cores[req.core]
        cache = self.caches[req.core]
        line = self.line_of(req.addr)
        frame = cache.lookup(line)
        state = INVALID if frame is None else frame.state
        entry = self.lookup(state, req.event, t, req.core, req.addr)
        if entry.bus == BUS_NONE:
            if frame is None:
                self.absent(req, t)
            core.stats[CS_HITS] += 1
            self.tcount[state][req.event] += 1
            self.access(req, frame, t)
            frame.state = entry.next
            cache.touch(frame)
            if req.drain:
                buf = self.buffers[req.core]
                buf.entries.popleft()
                if buf.entries:
                    buf.drain_ready = (t + cfg.hit_latency
                                       + self.rng.rand(self.drain_delay[req.core]))
                self.release(core, t)
            else:
                self.retire(core, core.pc + 1, t + cfg.hit_latency)
        else:
            core.stats[CS_MISSES] += 1
            req.posted = t
            self.ports[req.port] = req
            if req.drain:
                self.buffers[req.core].draining = True
            else:
                core.wait = WAIT_BUS
                core.block_t = t

    def absent(self, req, t):
        """The request's line is not in its cache where it must be: a hit entry for a line
        not present, or a transaction that left the requester's own line invalid."""
        raise ProtocolError("absent", protocol=self.config.protocol.name, cycle=t,
                            core=req.core, address=req.addr,
                            states=self.states_text(self.line_of(req.addr)))

    # ------------------------------------------------------------------ perform

    def access(self, req: Request, frame: Frame, t: int) -> None:
        """The data side of a performed access (the read and/or the write)."""
        core = self.cores[req.core]
        off = self.offset_of(req.addr)
        word = req.addr >> 3
        if req.op == OP_LD:
            v = frame.data[off]
            if self.check and self.track_data and v != self.latest.get(word, 0):
                self.violation("load_value", t, req.core, req.addr, v, self.latest.get(word, 0))
            if req.rd >= 0:
                core.regs[req.rd] = v
            if not self.track_data:
                self.progress(t)  # trace mode: every access is progress
            return
        if req.op == OP_ST:
            new = req.value
        else:
            old = frame.data[off]
            if req.op == OP_XCHG:
                new = req.value
            elif req.op == OP_FAA:
                new = wrap64(old + req.value)
            else:  # OP_CAS
                new = req.new if old == req.value else old
            if self.check and self.track_data and old != self.latest.get(word, 0):
                self.violation("load_value", t, req.core, req.addr, old,
                               self.latest.get(word, 0))
            if req.rd >= 0:
                core.regs[req.rd] = old
        frame.data[off] = new
        self.latest[word] = new
        self.progress(t)

    def perform(self, req: Request, frame: Frame, t: int) -> None:
        """Perform a request that waited (bus completion or re-evaluated hit) at cycle t."""
        core = self.cores[req.core]
        self.access(req, frame, t)
        core.latencies.append(t - req.posted)
        if req.drain:
            buf = self.buffers[req.core]
            buf.entries.popleft()
            buf.draining = False
            if buf.entries:
                buf.drain_ready = t + 1 + self.rng.rand(self.drain_delay[req.core])
            self.release(core, t)
        else:
            core.stats[CS_STALL] += t - core.block_t
            core.wait = WAIT_NONE
            self.retire(core, core.pc + 1, t + 1)

    def update_copies(self, req: Request) -> None:
        """An update (BusUpd) completed: every other copy of the line takes the written word
        and stays valid."""
        line, off = self.line_of(req.addr), self.offset_of(req.addr)
        for c2, cache2 in enumerate(self.caches):
            f2 = cache2.lookup(line) if c2 != req.core else None
            if f2 is not None:
                f2.data[off] = req.frame.data[off]

    def release(self, core: Core, t: int) -> None:
        """After a store buffer pop at t: wake a core waiting for drain / room."""
        buf = self.buffers[core.index]
        if (core.wait == WAIT_DRAIN and buf.empty) or (core.wait == WAIT_SBFULL
                                                       and not buf.full):
            core.stats[CS_STALL] += t - core.block_t
            core.wait = WAIT_NONE
            core.ready = t + 1

    # ------------------------------------------------------------------ the bus

    def arbitrate(self, t: int) -> None:
        cfg = self.config
        nports = len(self.ports)
        while not self.bus.busy:
            # One candidate per core: its load port before its drain port.
            pending = [c for c in range(nports // 2)
                       if self.ports[2 * c] is not None or self.ports[2 * c + 1] is not None]
            if not pending:
                return
            if cfg.arbitration == "fixed":
                c = pending[0]
            elif cfg.arbitration == "random":
                c = pending[self.rng.next() % len(pending)]
            else:
                c = next((q for q in pending if q >= self.bus.pointer), pending[0])
                self.bus.pointer = (c + 1) % (nports // 2)
            p = 2 * c if self.ports[2 * c] is not None else 2 * c + 1
            req = self.ports[p]
            self.ports[p] = None
            cache = self.caches[req.core]
            frame = cache.lookup(self.line_of(req.addr))
            state = INVALID if frame is None else frame.state
            entry = self.lookup(state, req.event, t, req.core, req.addr)
            self.tcount[state][req.event] += 1  # the request's entry is taken at its grant
            if entry.bus == BUS_NONE:
                if frame is None:
                    self.absent(req, t)
                frame.state = entry.next
                cache.touch(frame)
                self.perform(req, frame, t)
            else:
                self.grant(req, entry, t)

    def grant(self, req: Request, entry: Entry, t: int) -> None:
        cfg = self.config
        action = entry.bus
        line = self.line_of(req.addr)
        self.bstat[BUS_STAT[action]] += 1
        # snoops, other cores in order; a read brings the line, and so does an update from a
        # cache that lacks it (only then does a supplying snooper put data on the bus)
        fill = action in (BUS_RD, BUS_RDX) or (action == BUS_UPD
                                               and self.caches[req.core].lookup(line) is None)
        shared = False
        source = None
        for c2, cache2 in enumerate(self.caches):
            if c2 == req.core:
                continue
            f2 = cache2.lookup(line)
            if f2 is None:
                continue
            shared = True
            self.tcount[f2.state][SNOOP_EVENT[action]] += 1
            snoop = self.lookup(f2.state, SNOOP_EVENT[action], t, c2, req.addr,
                                f" (snooping core {req.core}'s {BUS_NAMES[action]})")
            if snoop.supply and fill:
                if source is None:
                    source = list(f2.data)
                self.bstat[BS_FLUSH] += 1
            if snoop.writeback:
                self.write_line(line, f2.data)
                if not (snoop.supply and fill):
                    self.bstat[BS_FLUSH] += 1
            if snoop.next == INVALID:
                self.bstat[BS_INV] += 1
            f2.state = snoop.next
        # the requester's frame
        cache = self.caches[req.core]
        frame = cache.lookup(line)
        victim_wb = False
        if frame is None:
            frame = cache.victim(line)
            if frame.state != INVALID:
                self.tcount[frame.state][EV_EVICT] += 1
                evict = self.lookup(frame.state, EV_EVICT, t, req.core, req.addr,
                                    f" (evicting line {frame.tag})")
                if evict.writeback:
                    self.write_line(frame.tag, frame.data)
                    self.bstat[BS_WB] += 1
                    victim_wb = True
                frame.state = evict.next
        if fill:
            if source is not None:
                frame.data = list(source)
                self.bstat[BS_C2C] += 1
            else:
                frame.data = self.read_line(line)
        frame.tag = line
        frame.state = entry.shared if shared else entry.next
        cache.touch(frame)
        # timing
        if not fill:
            latency = cfg.bus_latency   # address only: an upgrade, or an update
        else:
            latency = cfg.c2c_latency if source is not None else cfg.mem_latency
        if victim_wb:
            latency += cfg.wb_latency
        latency += self.rng.rand(cfg.jitter)
        self.bus.busy = True
        self.bus.busy_until = t + latency
        self.bus.request = req
        req.action = action
        self.bstat[BS_BUSY] += latency
        req.frame = frame
        if cfg.timeline_window > 0:
            row = self.timeline.setdefault(t // cfg.timeline_window,
                                           [0] * len(TIMELINE_TYPES))
            row[TIMELINE_COLUMN[action]] += 1
            if victim_wb:
                row[TL_WB] += 1
        if self.check:
            self.check_line(line, t, req.core, req.addr)

    # ------------------------------------------------------------------ invariants

    def check_line(self, line: int, t: int, core: int, addr: int) -> None:
        """The invariants for one line after core ``core``'s transaction, in the order of
        docs/machine.md: single writer or many readers, one owner, every copy's data, memory
        when no copy is dirty.  What each state means comes from the protocol."""
        present = [(c, f) for c, cache in enumerate(self.caches)
                   if (f := cache.lookup(line)) is not None]
        meaning = self.meaning
        writers = sum(int(meaning[f.state, M_WRITE]) for _, f in present)
        readers = sum(int(meaning[f.state, M_READ]) for _, f in present)
        owners = sum(int(meaning[f.state, M_OWNER]) for _, f in present)
        dirty = sum(int(meaning[f.state, M_DIRTY]) for _, f in present)
        line_addr = line * self.wpl * 8
        if writers > 1 or (writers == 1 and readers > 1):
            self.violation("swmr", t, core, line_addr, writers, readers)
        if owners > 1:
            self.violation("owner", t, core, line_addr, owners, readers)
        if not self.track_data:
            return
        base = line * self.wpl
        latest = [self.latest.get(base + i, 0) for i in range(self.wpl)]
        for c, f in present:
            if f.data != latest:
                i = next(i for i in range(self.wpl) if f.data[i] != latest[i])
                self.violation("data", t, c, (base + i) * 8, f.data[i], latest[i])
        if not dirty:
            mem = self.read_line(line)
            if mem != latest:
                i = next(i for i in range(self.wpl) if mem[i] != latest[i])
                self.violation("data", t, -1, (base + i) * 8, mem[i], latest[i])

    # ------------------------------------------------------------------ results

    def coherent_memory(self, nwords: int) -> np.ndarray:
        """Memory overwritten by every M/O frame's data, cores in order."""
        view = {w: v for w, v in self.memory.items() if 0 <= w < nwords}
        for cache in self.caches:
            for frames in cache.sets:
                for f in frames:
                    if self.meaning[f.state, M_DIRTY]:
                        base = f.tag * self.wpl
                        for i, v in enumerate(f.data):
                            view[base + i] = v
        out = np.zeros(nwords, dtype=np.int64)
        for w, v in view.items():
            if 0 <= w < nwords:
                out[w] = v
        return out

    def timeline_array(self, cycles: int):
        w = self.config.timeline_window
        if w <= 0:
            return None
        rows = max((cycles + w - 1) // w, 1, max(self.timeline, default=-1) + 1)
        arr = np.zeros((rows, len(TIMELINE_TYPES)), dtype=np.int64)
        for k, row in self.timeline.items():
            arr[k] = row
        return arr

    def cstat(self) -> np.ndarray:
        return np.array([c.stats for c in self.cores], dtype=np.int64).reshape(
            self.N, NCORESTATS)

    def regs(self) -> np.ndarray:
        return np.array([c.regs for c in self.cores], dtype=np.int64).reshape(self.N, NREGS)


# ------------------------------------------------------------------------- input validation

def _check_cores(ncode: int, config: SystemConfig, what: str) -> None:
    if ncode > config.cores:
        raise CoherenceError(f"the {what} has {ncode} cores but the config has "
                             f"cores={config.cores}, expected at most {config.cores}")


def _result(machine: ReferenceMachine, status, cycles, seed, *, memory_words, addresses,
            symbols, with_registers) -> RunResult:
    return build_result(status=status, cycles=cycles, regs=machine.regs(),
                        latencies=[latency_row(c.latencies) for c in machine.cores],
                        transitions=(np.array(machine.tcount, dtype=np.int64)
                                     if machine.track_data else None),
                        memory_words=memory_words, addresses=addresses, symbols=symbols,
                        cstat=machine.cstat(), bstat=np.array(machine.bstat, dtype=np.int64),
                        seed=seed, config=machine.config,
                        timeline=machine.timeline_array(cycles), with_registers=with_registers)


# ------------------------------------------------------------------------------ public API

def prepare_program(program, config: SystemConfig, seed: int = 0, check: bool = False):
    """The machine for ``program`` (not yet run) and its Linked layout."""
    if not isinstance(config, SystemConfig):
        raise CoherenceError(f"config must be a SystemConfig, got {type(config).__name__}")
    _check_cores(program.cores, config, "program")
    linked = program.link(config.line_size)
    codes = []
    for c in range(program.cores):
        s, n = int(linked.start[c]), int(linked.length[c])
        rows = [tuple(int(x) for x in r) for r in linked.code[s:s + n]]
        codes.append(rows)
    wpl = config.words_per_line
    nwords = -(-len(linked.memory) // wpl) * wpl
    memory = {i: int(v) for i, v in enumerate(linked.memory)}
    machine = ReferenceMachine(config, codes, memory, seed, check=check, track_data=True,
                               memory_words=nwords)
    return machine, linked


def run_reference(program, config: SystemConfig, seed: int = 0, check: bool = False
                  ) -> RunResult:
    """Run ``program`` on the reference model; a pure function of (program, config, seed).

    ``check=True`` verifies the invariants of ``docs/machine.md`` and raises
    :class:`~coherence.errors.InvariantViolation` at the first violation.
    """
    if isinstance(config, SystemConfig) and config.interconnect != "bus":
        from .netref import _run_program   # the split bus and the directory
        return _run_program(program, config, seed, check, stacklevel=2)
    machine, linked = prepare_program(program, config, seed, check)
    status, cycles = machine.run()
    warn_partial(status, cycles, "reference run", stacklevel=2)
    mem = machine.coherent_memory(len(linked.memory))
    if check:
        check_final_memory(mem, [machine.latest.get(w, 0) for w in range(len(mem))], cycles)
    return _result(machine, status, cycles, seed, memory_words=mem,
                   addresses=linked.addresses, symbols=program.symbols, with_registers=True)


def prepare_trace(writes, addrs, config: SystemConfig, seed: int = 0, check: bool = False):
    """The machine for a trace run (not yet run)."""
    if not isinstance(config, SystemConfig):
        raise CoherenceError(f"config must be a SystemConfig, got {type(config).__name__}")
    if len(writes) != len(addrs):
        raise CoherenceError(f"writes has {len(writes)} cores but addrs has {len(addrs)}, "
                             f"expected one array per core in both")
    _check_cores(len(writes), config, "trace")
    codes = []
    for c, (w, a) in enumerate(zip(writes, addrs)):
        w = tracecheck.write_flags(w, c)
        a = tracecheck.addresses(a, c)
        if len(w) != len(a):
            raise CoherenceError(f"core {c}: {len(w)} writes flags but {len(a)} addresses, "
                                 f"expected equal lengths")
        rows = []
        for i, (is_write, addr) in enumerate(zip(w, a)):
            addr = int(addr)
            if addr < 0:
                raise CoherenceError(f"core {c}, access {i}: negative address {addr}, "
                                     f"expected a byte address >= 0")
            if is_write:
                rows.append((OP_ST, -1, -1, addr, 0, 0, 0, 0))
            else:
                rows.append((OP_LD, -1, -1, addr, 0, 0, 0, 0))
        codes.append(rows)
    return ReferenceMachine(config, codes, {}, seed, check=check, track_data=False,
                            memory_words=None)


def run_trace_reference(writes, addrs, config: SystemConfig, seed: int = 0,
                        check: bool = False) -> RunResult:
    """Trace mode: core c's access i is a load (``writes[c][i] == 0``) or a store to
    ``addrs[c][i]``; no data is tracked (registers ``[]``, memory ``{}``)."""
    if isinstance(config, SystemConfig) and config.interconnect != "bus":
        from .netref import _run_trace   # the split bus and the directory
        return _run_trace(writes, addrs, config, seed, check, stacklevel=2)
    machine = prepare_trace(writes, addrs, config, seed, check)
    status, cycles = machine.run()
    warn_partial(status, cycles, "reference trace run", stacklevel=2)
    return _result(machine, status, cycles, seed, memory_words=np.zeros(0, np.int64),
                   addresses={}, symbols=[], with_registers=False)
