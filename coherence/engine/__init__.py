"""The engine's public face: validate, lay the machine out in flat arrays, call the kernel,
wrap the result.  The kernels themselves are private (``_kernel``)."""

from __future__ import annotations

import numpy as np

from ..config import SystemConfig
from ..errors import CoherenceError, InvariantViolation, ProtocolError
from ..isa import NREGS
from ..program import Program
from ..protocols.table import EVENTS, STATES
from ..stats import NBUSSTATS, NCORESTATS, RunResult, build_result
from . import _kernel as K

__all__ = ["run", "run_trace", "run_batch", "Machine", "splitmix64", "STATUS_NAMES"]

_STATUS = {K.STATUS_HALTED: "halted", K.STATUS_MAXCYC: "max_cycles",
           K.STATUS_NOPROG: "no_progress"}
#: The name of each status code of ``run_batch(..., status_codes=True)``.
STATUS_NAMES = tuple(_STATUS[k] for k in range(len(_STATUS)))
_STATUS_NAMES = np.array(STATUS_NAMES, dtype=object)
_MASK = (1 << 64) - 1


def splitmix64(seed: int) -> int:
    """The RNG's initial state for a seed (never 0, which xorshift could not leave)."""
    z = (int(seed) + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return z or 0x9E3779B97F4A7C15


class Machine:
    """The flat arrays of one machine (caches, cores, ports, store buffers, bus, stats)."""

    def __init__(self, config: SystemConfig, memory_words: int, track_data: bool, trace: bool,
                 seed: int, check: bool, touched: int = 0):
        cfg = config
        self.config = cfg
        C, S, W = cfg.cores, cfg.sets, cfg.l1_ways
        wpl = cfg.words_per_line if track_data else 1
        p = np.zeros(K.NPARAMS, dtype=np.int64)
        p[K.P_CORES], p[K.P_SETS], p[K.P_WAYS] = C, S, W
        p[K.P_LSHIFT] = cfg.line_size.bit_length() - 1
        p[K.P_WPL] = cfg.words_per_line
        p[K.P_SB] = cfg.store_buffer
        p[K.P_ARB] = {"round-robin": 0, "fixed": 1, "random": 2}[cfg.arbitration]
        p[K.P_HIT], p[K.P_BUSLAT] = cfg.hit_latency, cfg.bus_latency
        p[K.P_MEMLAT], p[K.P_C2CLAT], p[K.P_WBLAT] = cfg.mem_latency, cfg.c2c_latency, cfg.wb_latency
        p[K.P_SKEW], p[K.P_JITTER], p[K.P_DRAIN] = cfg.start_skew, cfg.jitter, cfg.drain_delay
        p[K.P_MAXCYC], p[K.P_WINDOW] = cfg.max_cycles, cfg.progress_window
        p[K.P_TSO] = cfg.model == "tso"
        p[K.P_CHECK] = bool(check)
        p[K.P_DATA] = bool(track_data)
        p[K.P_TLWIN] = cfg.timeline_window
        p[K.P_TRACE] = bool(trace)
        p[K.P_IJIT] = cfg.issue_jitter
        self.params = p
        self.table = np.ascontiguousarray(cfg.protocol.compiled())
        self.mem = np.zeros(max(memory_words, 1), dtype=np.int64)
        self.golden = self.mem.copy()
        self.tags = np.full((C, S, W), -1, dtype=np.int64)
        self.cst = np.zeros((C, S, W), dtype=np.int8)
        self.lru = np.zeros((C, S, W), dtype=np.int64)
        self.look = np.zeros((C, S, W), dtype=np.int64)  # the run-ahead's look-ahead marks
        # The snoop filter (see _kernel._grant) and the ways of the accesses the run-ahead
        # foresaw (_kernel._first_miss), kept by the trace kernel only.
        self.sf = np.zeros(1 << 14 if trace else 0, dtype=np.int32)
        self.lookw = np.zeros((C, 1024 if trace else 1), dtype=np.int64)
        self.lruc = np.zeros(C, dtype=np.int64)
        self.cdata = np.zeros((C, S, W, wpl) if track_data else (1, 1, 1, 1), dtype=np.int64)
        self.core = np.zeros((C, K.NK), dtype=np.int64)
        self.regs = np.zeros((C, NREGS), dtype=np.int64)
        self.port = np.zeros((2 * C, K.NQ), dtype=np.int64)
        self.sb_addr = np.zeros((C, cfg.store_buffer), dtype=np.int64)
        self.sb_val = np.zeros((C, cfg.store_buffer), dtype=np.int64)
        self.sb_head = np.zeros(C, dtype=np.int64)
        self.sb_cnt = np.zeros(C, dtype=np.int64)
        self.drain_ready = np.zeros(C, dtype=np.int64)
        self.draining = np.zeros(C, dtype=np.int64)
        self.bus = np.zeros(K.NB, dtype=np.int64)
        self.rng = np.array([splitmix64(seed)], dtype=np.uint64)
        self.cstat = np.zeros((C, NCORESTATS), dtype=np.int64)
        self.bstat = np.zeros(NBUSSTATS, dtype=np.int64)
        nwin = min(-(-cfg.max_cycles // cfg.timeline_window), 4096) if cfg.timeline_window else 0
        self.timeline = np.zeros((nwin, 4), dtype=np.int64)
        self.err = np.zeros(K.NE, dtype=np.int64)
        self.touched = np.zeros(touched, dtype=np.int64)
        self.ntouched = np.zeros(1, dtype=np.int64)
        self.watch = np.zeros(0, dtype=np.int64)
        self.wlog = np.zeros((0, 4), dtype=np.int64)
        self.wlogn = np.zeros(1, dtype=np.int64)

    def set_watch(self, lines, capacity: int):
        """Log every state change of these line numbers (up to ``capacity`` changes)."""
        self.watch = np.asarray(lines, dtype=np.int64)
        self.wlog = np.zeros((capacity if len(lines) else 0, 4), dtype=np.int64)

    def simulate(self, code, start, length, twrite, taddr):
        cfg = self.config
        # A trace on SC cores without issue jitter, check or watched lines has a leaner
        # kernel (the same machine: tests/test_reference_agreement.py holds both to it).
        lean = (self.params[K.P_TRACE] and cfg.model == "sc" and cfg.issue_jitter == 0
                and not self.params[K.P_CHECK] and len(self.watch) == 0)
        sf = self.sf if lean else self.sf[:0]
        while True:
            args = (self.params, self.table, code, start, length, twrite, taddr, self.mem,
                    self.golden, self.tags, self.cst, self.lru, self.look, sf, self.lruc,
                    self.cdata, self.core, self.regs, self.port, self.sb_addr, self.sb_val,
                    self.sb_head, self.sb_cnt, self.drain_ready, self.draining, self.bus,
                    self.rng, self.cstat, self.bstat, self.timeline, self.err, self.touched,
                    self.ntouched, self.watch, self.wlog, self.wlogn)
            if lean:
                status, cycles = K._simulate_trace(*args, self.lookw)
            else:
                status, cycles = K._simulate(*args)
            if status != K.STATUS_TLFULL:
                return int(status), int(cycles)
            grown = np.zeros((2 * len(self.timeline), 4), dtype=np.int64)
            grown[:len(self.timeline)] = self.timeline
            self.timeline = grown

    def line_states(self, addr: int) -> str:
        """Each core's state for the line holding ``addr``, e.g. 'core0=M core1=I'."""
        cfg = self.config
        line = addr >> (cfg.line_size.bit_length() - 1)
        s = line & (cfg.sets - 1)
        out = []
        for c in range(cfg.cores):
            st = "I"
            for w in range(cfg.l1_ways):
                if self.cst[c, s, w] != 0 and self.tags[c, s, w] == line:
                    st = STATES[self.cst[c, s, w]]
            out.append(f"core{c}={st}")
        return " ".join(out)

    def raise_error(self, where=None):
        """Turn the kernel's error record into the matching exception."""
        kind, t, c, addr, a, b, detail = (int(x) for x in self.err)
        states = self.line_states(addr) if addr >= 0 else ""
        proto = self.config.protocol
        if kind == K.ERR_PROTOCOL:
            if detail == 1:
                raise ProtocolError(f"protocol {proto.name}: cycle {t}, core {c}, address "
                                    f"{addr:#x}: the line is not present after its own "
                                    f"transaction [{states}]")
            raise ProtocolError(f"protocol {proto.name}: impossible transition "
                                f"({STATES[a]}, {EVENTS[b]}): {proto.reason(a, b)}; cycle {t}, "
                                f"core {c}, address {addr:#x} [{states}]")
        if kind == K.ERR_SWMR:
            raise InvariantViolation(f"single-writer/multiple-readers violated at cycle {t} "
                                     f"after core {c}'s transaction, address {addr:#x}: "
                                     f"{a} writer(s) among {b} copies [{states}]")
        if kind == K.ERR_OWNER:
            raise InvariantViolation(f"more than one owner at cycle {t} after core {c}'s "
                                     f"transaction, address {addr:#x}: {a} caches in M/O "
                                     f"[{states}]")
        if kind == K.ERR_DATA:
            whose = "memory" if detail == 1 else f"core {c}'s copy"
            raise InvariantViolation(f"data-value invariant violated at cycle {t}: {whose} of "
                                     f"address {addr:#x} holds {a}, the latest value in "
                                     f"coherence order is {b} [{states}]")
        if kind == K.ERR_LOADVAL:
            raise InvariantViolation(f"stale load at cycle {t}: core {c} read {a} from address "
                                     f"{addr:#x}, the latest value in coherence order is {b} "
                                     f"[{states}]")
        if kind == K.ERR_ADDRESS:
            loc = where(c, a) if where else f"core {c}, instruction {a}"
            raise CoherenceError(f"{loc}: address {addr} is outside the program's data or not "
                                 f"8-byte aligned, expected an address inside a symbol")
        raise RuntimeError(f"engine stopped with no event pending at cycle {t} (internal error)")


def _check_program(program: Program, config: SystemConfig):
    if not isinstance(program, Program):
        raise CoherenceError(f"expected a Program (from coherence.assemble or "
                             f"coherence.load_program), got {type(program).__name__}")
    if not isinstance(config, SystemConfig):
        raise CoherenceError(f"expected a SystemConfig, got {type(config).__name__}")
    if program.cores > config.cores:
        raise CoherenceError(f"the program has {program.cores} cores but the config has "
                             f"{config.cores}; use SystemConfig(cores={program.cores}) or more",
                             file=program.source)


def _layout(program: Program, config: SystemConfig):
    linked = program.link(config.line_size)
    start = np.zeros(config.cores, dtype=np.int64)
    length = np.zeros(config.cores, dtype=np.int64)
    start[:program.cores] = linked.start
    length[:program.cores] = linked.length
    start[program.cores:] = len(linked.code)
    return linked, start, length


def _where(program):
    def where(core, pc):
        if core < len(program.lines) and pc < len(program.lines[core]):
            return f"{program.source}:{int(program.lines[core][pc])}: core {core}"
        return f"{program.source}: core {core}, instruction {pc}"
    return where


def run(program: Program, config: SystemConfig | None = None, seed: int = 0,
        check: bool = False, watch=(), watch_capacity: int = 1_000_000) -> RunResult:
    """Run ``program`` on the machine ``config`` (default: ``SystemConfig(cores=program.cores)``).

    Deterministic: the same program, config and seed give the same result, bit for bit.
    With ``check=True`` the coherence invariants are checked after every bus transaction and
    at every load; a violation raises :class:`~coherence.errors.InvariantViolation`.
    ``watch`` names symbols whose cache line's state in every core is logged at each change:
    ``result.line_states[symbol]`` is then a list of ``(cycle, core, state)`` (all lines
    start in I), for line-state plots.
    """
    if config is None:
        config = SystemConfig(cores=max(program.cores, 1))
    _check_program(program, config)
    linked, start, length = _layout(program, config)
    m = Machine(config, len(linked.memory), True, False, seed, check)
    watch = [watch] if isinstance(watch, str) else list(watch)
    for name in watch:
        if name not in linked.addresses:
            raise CoherenceError(f"cannot watch {name!r}: no such symbol (symbols: "
                                 f"{', '.join(linked.addresses)})", file=program.source)
    shift = config.line_size.bit_length() - 1
    m.set_watch([linked.addresses[n] >> shift for n in watch], watch_capacity)
    m.mem[:] = linked.memory
    m.golden[:] = linked.memory
    empty_w = np.zeros(0, np.uint8)
    empty_a = np.zeros(0, np.int64)
    status, cycles = m.simulate(linked.code, start, length, empty_w, empty_a)
    if status == K.STATUS_ERROR:
        m.raise_error(_where(program))
    memory = np.empty_like(m.mem)
    K._coherent_memory(m.params, m.tags, m.cst, m.cdata, m.mem, memory)
    result = build_result(status=_STATUS[status], cycles=cycles, regs=m.regs,
                          memory_words=memory, addresses=linked.addresses,
                          symbols=program.symbols, cstat=m.cstat, bstat=m.bstat, seed=seed,
                          config=config,
                          timeline=m.timeline if config.timeline_window else None)
    if watch:
        n = int(m.wlogn[0])
        log = m.wlog[:min(n, len(m.wlog))]
        result.line_states = {name: [(int(t), int(c), STATES[st]) for t, c, k, st in log
                                     if k == i] for i, name in enumerate(watch)}
        result.line_states_truncated = n > len(m.wlog)
    return result


def _trace_arrays(writes, addrs, config):
    if len(writes) != len(addrs):
        raise CoherenceError(f"run_trace: {len(writes)} write arrays but {len(addrs)} address "
                             f"arrays, expected one pair per core")
    if len(writes) > config.cores:
        raise CoherenceError(f"run_trace: {len(writes)} traces but the config has "
                             f"{config.cores} cores")
    ws, as_ = [], []
    for c, (w, a) in enumerate(zip(writes, addrs)):
        w = np.asarray(w)
        a = np.asarray(a)
        if w.ndim != 1 or a.ndim != 1 or len(w) != len(a):
            raise CoherenceError(f"run_trace: core {c}: writes and addrs must be 1-D arrays "
                                 f"of equal length, got shapes {w.shape} and {a.shape}")
        if len(a) and not np.issubdtype(a.dtype, np.integer):
            raise CoherenceError(f"run_trace: core {c}: addresses must be integers, got "
                                 f"{a.dtype}")
        if len(a) and a.min() < 0:
            raise CoherenceError(f"run_trace: core {c}: negative address {int(a.min())} at "
                                 f"index {int(a.argmin())}, expected byte addresses >= 0")
        ws.append(w.astype(np.uint8, copy=False))
        as_.append(a.astype(np.int64, copy=False))
    length = np.zeros(config.cores, dtype=np.int64)
    length[:len(ws)] = [len(w) for w in ws]
    start = np.zeros(config.cores, dtype=np.int64)
    start[1:] = np.cumsum(length)[:-1]
    tw = np.concatenate(ws) if ws else np.zeros(0, np.uint8)
    ta = np.concatenate(as_) if as_ else np.zeros(0, np.int64)
    return tw, ta, start, length


def run_trace(writes, addrs, config: SystemConfig, seed: int = 0,
              check: bool = False) -> RunResult:
    """Run one access trace per core through the caches and bus of ``config``.

    ``writes[c]`` (bool/uint8: 1 = store) and ``addrs[c]`` (int64 byte addresses) describe core
    c's accesses in program order.  Registers and memory values are not modelled, the rest of
    the machine (timing, protocol, store buffers under ``tso``) is the same as :func:`run`.
    """
    tw, ta, start, length = _trace_arrays(writes, addrs, config)
    m = Machine(config, 1, False, True, seed, check)
    status, cycles = m.simulate(np.zeros((0, 8), np.int64), start, length, tw, ta)
    if status == K.STATUS_ERROR:
        m.raise_error()
    return build_result(status=_STATUS[status], cycles=cycles, regs=m.regs, memory_words=m.mem,
                        addresses={}, symbols=[], cstat=m.cstat, bstat=m.bstat, seed=seed,
                        config=config, timeline=m.timeline if config.timeline_window else None,
                        with_registers=False)


def run_batch(program: Program, config: SystemConfig, iterations: int, seed: int = 0,
              observe=(), check: bool = False, status_codes: bool = False):
    """Run ``program`` ``iterations`` times from a clean machine in one kernel call.

    ``observe`` lists what to record at the end of each run: ``("reg", core, regnum)`` or
    ``("mem", symbol)`` (the symbol's first word, as the coherent system sees it).  Returns
    ``(values, statuses)``: an int64 array [iteration, observation] and the status name of
    each run.  One RNG stream, seeded once, feeds all the runs.  With ``status_codes=True``
    the statuses come as an int64 array of indices into :data:`STATUS_NAMES` instead (no
    Python object per run, for campaigns of millions of runs).
    """
    _check_program(program, config)
    if iterations < 0:
        raise CoherenceError(f"iterations must be >= 0, got {iterations}")
    linked, start, length = _layout(program, config)
    kinds, a, b = [], [], []
    for ob in observe:
        if ob[0] == "reg":
            _, core, reg = ob
            if not (0 <= core < config.cores and 0 <= reg < NREGS):
                raise CoherenceError(f"cannot observe register r{reg} of core {core}")
            kinds.append(0), a.append(core), b.append(reg)
        elif ob[0] == "mem":
            if ob[1] not in linked.addresses:
                raise CoherenceError(f"cannot observe {ob[1]!r}: no such symbol")
            kinds.append(1), a.append(linked.addresses[ob[1]] // 8), b.append(0)
        else:
            raise CoherenceError(f"observation {ob!r} must be ('reg', core, n) or ('mem', sym)")
    m = Machine(config, len(linked.memory), True, False, seed, check, touched=4096)
    m.params[K.P_TLWIN] = 0  # a batch keeps no timeline
    init = linked.memory.copy()
    out = np.zeros((iterations, len(kinds)), dtype=np.int64)
    statuses = np.zeros(iterations, dtype=np.int64)
    done = K._batch(m.params, m.table, linked.code, start, length, init, m.mem, m.golden,
                    m.tags, m.cst, m.lru, m.look, m.sf, m.lruc, m.cdata, m.core, m.regs, m.port,
                    m.sb_addr, m.sb_val, m.sb_head, m.sb_cnt, m.drain_ready, m.draining, m.bus,
                    m.rng, m.cstat, m.bstat, m.timeline, m.err, m.touched, m.ntouched, m.watch,
                    m.wlog, m.wlogn, np.zeros(0, np.uint8), np.zeros(0, np.int64), iterations,
                    np.array(kinds, np.int64), np.array(a, np.int64), np.array(b, np.int64),
                    out, statuses)
    if done < iterations:
        m.raise_error(_where(program))
    if status_codes:
        return out, statuses
    return out, _STATUS_NAMES[statuses].tolist()
