"""The engine's public face: validate, lay the machine out in flat arrays, call the kernel,
wrap the result.  The kernels themselves are private (``_kernel``)."""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._jit import ensure_compiled
from ..config import SystemConfig
from ..errors import (CoherenceError, InvariantViolation, PartialResultWarning, ProtocolError,
                      check_final_memory, warn_partial)
from ..isa import NFIELDS, NREGS
from ..program import Program
from .. import tracecheck
from ..protocols.table import BUS_ACTIONS, EVENTS
from ..stats import NBUSSTATS, NCORESTATS, TIMELINE_TYPES, RunResult, build_result
from . import _kernel as K
from ._arena import allocate
from . import _layout as L

__all__ = ["run", "run_trace", "run_batch", "Machine", "splitmix64", "STATUS_NAMES"]

#: The name of each status code of ``run_batch(..., status_codes=True)``.
STATUS_NAMES = L.STATUSES[:3]
_STATUS_NAMES = np.array(STATUS_NAMES, dtype=object)
_MASK = (1 << 64) - 1
_ERROR_KINDS = {L.ERR_SWMR: "swmr", L.ERR_OWNER: "owner", L.ERR_DATA: "data",
                L.ERR_LOADVAL: "load_value"}


# Cycle-loop steps after which a kernel returns to Python (which resumes it at once, exactly):
# a few tens of milliseconds of work at most, so Ctrl-C is seen within a fraction of a second.
SLICE = 1 << 18
# A batch goes through the kernel in calls of this many runs at first, growing while a call
# takes under BATCH_CALL_SECONDS (the split changes nothing: the RNG stream is the machine's).
BATCH_FIRST_CALL = 1024
BATCH_CALL_SECONDS = 0.05


def _hit_code(hit) -> int:
    """The hit table packed in one integer for the trace path's loop, which then reads no
    table: bit 2*state+event says the pair hits, bits 16+3*(2*state+event) its next state.
    -1 when it does not fit a signed 64-bit word (more than 8 states, or state 7 reached by
    a store hit from state 7); the loop reads the table then."""
    if hit.shape[0] > 8:
        return -1
    code = 0
    for st in range(hit.shape[0]):
        for ev in range(2):
            if hit[st, ev] >= 0:
                k = 2 * st + ev
                code |= 1 << k
                code |= int(hit[st, ev]) << (16 + 3 * k)
    return code if code < 1 << 63 else -1


def splitmix64(seed: int) -> int:
    """The RNG's initial state for a seed (never 0, which xorshift could not leave)."""
    z = (int(seed) + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return z or 0x9E3779B97F4A7C15


def base_params(cfg: SystemConfig, size: int, track_data: bool, trace: bool, check: bool):
    """The configuration as the kernels' int64 params (``_layout.PARAMS``, in an array of
    ``size`` entries so that the message interconnects append theirs) and the per-core
    noise array (issue jitter, drain delay)."""
    p = np.zeros(size, dtype=np.int64)
    p[L.P_CORES], p[L.P_SETS], p[L.P_WAYS] = cfg.cores, cfg.sets, cfg.l1_ways
    p[L.P_LSHIFT] = cfg.line_size.bit_length() - 1
    p[L.P_WPL] = cfg.words_per_line
    p[L.P_SB] = cfg.store_buffer
    p[L.P_ARB] = L.ARBITRATIONS.index(cfg.arbitration)
    p[L.P_HIT], p[L.P_BUSLAT] = cfg.hit_latency, cfg.bus_latency
    p[L.P_MEMLAT], p[L.P_C2CLAT] = cfg.mem_latency, cfg.c2c_latency
    p[L.P_WBLAT] = cfg.wb_latency
    p[L.P_SKEW], p[L.P_JITTER] = cfg.start_skew, cfg.jitter
    noise = np.array([cfg.per_core("issue_jitter"), cfg.per_core("drain_delay")],
                     dtype=np.int64).T
    p[L.P_IJIT], p[L.P_DRAIN] = noise.max(axis=0)
    p[L.P_MAXCYC], p[L.P_WINDOW] = cfg.cycle_limit(trace), cfg.progress_window
    p[L.P_TSO] = cfg.model == "tso"
    p[L.P_CHECK] = bool(check)
    p[L.P_DATA] = bool(track_data)
    p[L.P_TLWIN] = cfg.timeline_window
    p[L.P_TRACE] = bool(trace)
    p[L.P_FULL] = cfg.stats == "full"
    p[L.P_SLICE] = SLICE
    return p, noise


def _sf_buckets(frames: int) -> int:
    """The snoop filter's size: a power of two, 16 buckets per frame of all the caches,
    from 2**14 to 2**20 (4 MiB)."""
    return 1 << min(max((16 * frames - 1).bit_length(), 14), 20)


class Machine:
    """The flat arrays of one machine (``_layout.Flat`` names them, in the kernels' order).

    ``trace``: a trace (no data), ``lean``: the trace kernel may run it (SC cores, no issue
    jitter, check or watched line; ``simulate`` decides), ``touched``: a batch's log of the
    sets it touched (so a reset clears only those)."""

    def __init__(self, config: SystemConfig, memory_words: int, track_data: bool, trace: bool,
                 seed: int, check: bool, touched: int = 0, code=None, start=None, length=None,
                 twrite=None, taddr=None):
        cfg = config
        self.config = cfg
        C, S, W = cfg.cores, cfg.sets, cfg.l1_ways
        wpl = cfg.words_per_line if track_data else 1
        p, noise = base_params(cfg, len(L.PARAMS), track_data, trace, check)
        p[L.P_HITCODE] = _hit_code(cfg.protocol.compiled().hit)
        compiled = cfg.protocol.compiled()
        limit = cfg.cycle_limit(trace)
        nwin = min(-(-limit // cfg.timeline_window), 4096) if cfg.timeline_window else 0
        i8 = np.int64
        words = max(memory_words, 1)
        # (name, shape, dtype, fill): every array the kernels own, in one buffer (_arena).
        self.arrays = allocate([
            ("params", p.shape, i8, 0), ("rng", (1,), np.uint64, splitmix64(seed)),
            ("clock", (len(L.CLOCK),), i8, 0),
            ("core", (C, len(L.CORE)), i8, 0), ("regs", (C, NREGS), i8, 0),
            ("cstat", (C, NCORESTATS), i8, 0), ("lruc", (C,), i8, 0),
            ("mlat", (C, L.LAT_BUCKETS + 1), i8, 0),
            ("tags", (C, S, W), i8, -1), ("cst", (C, S, W), np.int8, 0),
            ("lru", (C, S, W), i8, 0),
            ("cdata", (C, S, W, wpl) if track_data else (1, 1, 1, 1), i8, 0),
            # The trace look-ahead's marks and the ways of the accesses it foresaw
            # (_trace.first_miss), used by the trace kernel only.
            ("look", (C, S, W), i8, 0), ("lookw", (C, 1024 if trace else 1), i8, 0),
            ("touched", (touched,), i8, 0), ("ntouched", (1,), i8, 0),
            ("sb_addr", (C, cfg.store_buffer), i8, 0), ("sb_val", (C, cfg.store_buffer), i8, 0),
            ("sb_head", (C,), i8, 0), ("sb_cnt", (C,), i8, 0), ("drain_ready", (C,), i8, 0),
            ("draining", (C,), i8, 0),
            ("port", (2 * C, len(L.PORT)), i8, 0), ("bus", (len(L.BUS),), i8, 0),
            ("bstat", (NBUSSTATS,), i8, 0), ("timeline", (nwin, len(TIMELINE_TYPES)), i8, 0),
            # The snoop filter (see _bus._snoop): the trace kernel's only (empty: off), and
            # only with another cache to filter.  Sized to the caches (_sf_buckets), so that
            # a line no other cache holds is seldom taken for one that may be (a false
            # alarm costs the full snoop, never a wrong result).
            ("sf", (_sf_buckets(C * S * W) if trace and C > 1 else 0,), np.int32, 0),
            ("mem", (words,), i8, 0), ("golden", (words,), i8, 0),
            ("err", (len(L.ERR),), i8, 0), ("wlogn", (1,), i8, 0), ("mlogn", (1,), i8, 0),
            ("tcount", compiled.table.shape[:2], i8, 0),
            # What the hot loop only reads, but at fixed addresses every step.
            ("table", compiled.table.shape, np.int8, compiled.table),
            ("meaning", compiled.meaning.shape, np.int8, compiled.meaning),
            ("hit", compiled.hit.shape, np.int8, compiled.hit),
            ("code", code.shape if code is not None else (0, NFIELDS), i8, code),
            ("start", (C,), i8, start), ("length", (C,), i8, length),
            # Last, so that the other arrays keep their places in the buffer (_arena).
            ("cnoise", noise.shape, i8, noise)])
        self.arrays["params"][:] = p
        # A trace is read once, in order, and may be large: it is not copied.
        self.arrays.update(
            twrite=twrite if twrite is not None else np.zeros(0, np.uint8),
            taddr=taddr if taddr is not None else np.zeros(0, np.int64),
            watch=np.zeros(0, dtype=np.int64), wlog=np.zeros((0, 4), dtype=np.int64),
            mlog=np.zeros((0, len(L.MLOG)), dtype=np.int64))
        assert set(self.arrays) == set(L.Flat._fields)

    def __getattr__(self, name):
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def flat(self, **override) -> tuple:
        """The arrays in the kernels' order (``_layout.Flat``), some replaced."""
        a = self.arrays
        return tuple(override[f] if f in override else a[f] for f in L.Flat._fields)

    def set_watch(self, lines, capacity: int):
        """Log every state change of these line numbers (up to ``capacity`` changes)."""
        self.arrays["watch"] = np.asarray(lines, dtype=np.int64)
        self.arrays["wlog"] = np.zeros((capacity if len(lines) else 0, 4), dtype=np.int64)
        self.arrays["mlog"] = np.zeros((capacity if len(lines) else 0, len(L.MLOG)),
                                       dtype=np.int64)

    def lean(self) -> bool:
        """A trace on SC cores without issue jitter, check or watched lines: the trace kernel
        runs it (the same machine: tests/test_reference_agreement.py holds both to it)."""
        cfg = self.config
        p = self.params
        return bool(p[L.P_TRACE] and cfg.model == "sc" and p[L.P_IJIT] == 0
                    and not p[L.P_CHECK] and len(self.watch) == 0)

    def simulate(self):
        """Run to the end; returns (status code, cycles).  A full timeline grows and the run
        resumes (the kernels keep their clock)."""
        lean = self.lean()
        kernel = K._simulate_trace if lean else K._simulate
        while True:
            args = self.flat() if lean else self.flat(sf=self.sf[:0])
            ensure_compiled(kernel, args)
            status, cycles = kernel(*args)
            if status == L.STATUS_PAUSED:
                continue  # Python saw any pending signal; the kernel resumes where it was
            if status != L.STATUS_TLFULL:
                return int(status), int(cycles)
            grown = np.zeros((2 * len(self.timeline), len(TIMELINE_TYPES)), dtype=np.int64)
            grown[:len(self.timeline)] = self.timeline
            self.arrays["timeline"] = grown

    def coherent_memory(self) -> np.ndarray:
        out = np.empty_like(self.mem)
        args = self.flat()
        ensure_compiled(K._coherent_memory, (out,) + args)
        K._coherent_memory(out, *args)
        return out

    def line_states(self, addr: int) -> str:
        """Each core's state for the line holding ``addr``, e.g. 'core0=M core1=I'."""
        cfg = self.config
        names = cfg.protocol.state_names
        line = addr >> (cfg.line_size.bit_length() - 1)
        s = line & (cfg.sets - 1)
        out = []
        for c in range(cfg.cores):
            st = "I"
            for w in range(cfg.l1_ways):
                if self.cst[c, s, w] != 0 and self.tags[c, s, w] == line:
                    st = names[self.cst[c, s, w]]
            out.append(f"core{c}={st}")
        return " ".join(out)

    def raise_error(self, where=None):
        """Turn the kernel's error record into the matching exception."""
        kind, t, c, addr, a, b, detail = (int(x) for x in self.err)
        states = self.line_states(addr) if addr >= 0 else ""
        proto = self.config.protocol
        if kind == L.ERR_PROTOCOL:
            raise ProtocolError("protocol", protocol=proto.name, cycle=t, core=c, address=addr,
                                states=states, state=proto.state_names[a], event=EVENTS[b],
                                reason=proto.reason(a, b))
        if kind == L.ERR_ABSENT:
            raise ProtocolError("absent", protocol=proto.name, cycle=t, core=c, address=addr,
                                states=states)
        if kind in _ERROR_KINDS:
            raise InvariantViolation(_ERROR_KINDS[kind], cycle=t, core=c,
                                     address=addr, states=states, found=a, expected=b)
        if kind == L.ERR_ADDRESS:
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


def _warn_partial(status: str, cycles: int, what: str) -> None:
    """A watchdog ending is a partial result: say so (the one project warning class)."""
    warn_partial(status, cycles, what, stacklevel=3)


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
    start in I), for line-state plots, and ``result.transactions[symbol]`` a list of
    ``(cycle, core, action, source, completes)`` for the line's bus transactions (``source``:
    the core that supplied the data, ``"memory"``, or None for an address-only transaction;
    action ``"WriteBack"``: a victim written back), for message-sequence charts.  On the
    split bus and the directory ``watch`` logs what the reference model logs
    (:func:`coherence.netref.run_net_reference`): ``result.messages[symbol]`` lists the
    line's messages ``(sent, arrives, type, source, destination)`` and
    ``result.line_states[symbol]`` the state changes ``(cycle, lane, state)`` of its entries
    taken, for :func:`coherence.plot.plot_message_flow`.
    """
    if config is None:
        config = SystemConfig(cores=max(program.cores, 1))
    if isinstance(config, SystemConfig) and config.interconnect != "bus":
        from .net import run_net
        return run_net(program, config, seed, check, watch)
    _check_program(program, config)
    linked, start, length = _layout(program, config)
    m = Machine(config, len(linked.memory), True, False, seed, check, code=linked.code,
                start=start, length=length)
    watch = [watch] if isinstance(watch, str) else list(watch)
    for name in watch:
        if name not in linked.addresses:
            raise CoherenceError(f"cannot watch {name!r}: no such symbol (symbols: "
                                 f"{', '.join(linked.addresses)})", file=program.source)
    shift = config.line_size.bit_length() - 1
    m.set_watch([linked.addresses[n] >> shift for n in watch], watch_capacity)
    m.mem[:] = linked.memory
    m.golden[:] = linked.memory
    status, cycles = m.simulate()
    if status == L.STATUS_ERROR:
        m.raise_error(_where(program))
    memory = m.coherent_memory()
    if check:
        n = len(linked.memory)
        check_final_memory(memory[:n], m.golden[:n], cycles)
    result = build_result(status=STATUS_NAMES[status], cycles=cycles, regs=m.regs,
                          transitions=m.tcount, latencies=m.mlat,
                          memory_words=memory, addresses=linked.addresses,
                          symbols=program.symbols, cstat=m.cstat, bstat=m.bstat, seed=seed,
                          config=config,
                          timeline=m.timeline if config.timeline_window else None)
    if watch:
        n = int(m.wlogn[0])
        log = m.wlog[:min(n, len(m.wlog))]
        names = config.protocol.state_names
        result.line_states = {name: [(int(t), int(c), names[st]) for t, c, k, st in log
                                     if k == i] for i, name in enumerate(watch)}
        result.line_states_truncated = n > len(m.wlog)
        n = int(m.mlogn[0])
        mlog = m.mlog[:min(n, len(m.mlog))]
        actions = BUS_ACTIONS[:L.MLOG_WRITEBACK] + ("WriteBack",)
        source = {L.MLOG_MEMORY: "memory", L.MLOG_NO_DATA: None}
        result.transactions = {
            name: [(int(t), int(c), actions[a], source.get(int(src), int(src)), int(u))
                   for t, c, k, a, src, u in mlog if k == i]
            for i, name in enumerate(watch)}
        result.line_states_truncated |= n > len(m.mlog)
    _warn_partial(result.status, result.cycles, "run")
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
        w = tracecheck.write_flags(w, c)
        a = tracecheck.addresses(a, c)
        if len(w) != len(a):
            raise CoherenceError(f"run_trace: core {c}: writes and addrs must be 1-D arrays "
                                 f"of equal length, got shapes {w.shape} and {a.shape}")
        ws.append(w)
        as_.append(a)
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
    if isinstance(config, SystemConfig) and config.interconnect != "bus":
        from .net import run_net_trace
        return run_net_trace(writes, addrs, config, seed, check)
    tw, ta, start, length = _trace_arrays(writes, addrs, config)
    m = Machine(config, 1, False, True, seed, check, start=start, length=length, twrite=tw,
                taddr=ta)
    status, cycles = m.simulate()
    if status == L.STATUS_ERROR:
        m.raise_error()
    _warn_partial(STATUS_NAMES[status], cycles, "trace run")
    return build_result(status=STATUS_NAMES[status], cycles=cycles, regs=m.regs,
                        latencies=m.mlat, memory_words=m.mem,
                        addresses={}, symbols=[], cstat=m.cstat, bstat=m.bstat, seed=seed,
                        config=config, timeline=m.timeline if config.timeline_window else None,
                        with_registers=False)


def observation_arrays(observe, linked, config: SystemConfig):
    """``run_batch``'s ``observe`` as the batch kernels take it: (kinds, a, b) lists, kind 0
    register b of core a, kind 1 memory word a (a symbol's first word)."""
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
    return kinds, a, b


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
    kinds, a, b = observation_arrays(observe, linked, config)
    if config.interconnect != "bus":
        from .net import run_net_batch
        out, statuses = run_net_batch(program, config, iterations, seed, kinds, a, b, check)
        return _batch_result(out, statuses, iterations, status_codes)
    m = Machine(config, len(linked.memory), True, False, seed, check, touched=4096,
                code=linked.code, start=start, length=length)
    m.params[L.P_TLWIN] = 0  # a batch keeps no timeline
    init = linked.memory.copy()
    out = np.zeros((iterations, len(kinds)), dtype=np.int64)
    statuses = np.zeros(iterations, dtype=np.int64)
    tail = (init, np.array(kinds, np.int64), np.array(a, np.int64), np.array(b, np.int64),
            out, statuses) + m.flat()
    done, resume, chunk = 0, False, BATCH_FIRST_CALL
    while done < iterations:
        end = min(iterations, done + chunk)
        args = (done, end, resume) + tail
        ensure_compiled(K._batch, args)
        t0 = time.perf_counter()
        stop = K._batch(*args)
        if stop < end:
            if statuses[stop] != L.STATUS_PAUSED:
                m.raise_error(_where(program))
            done, resume = stop, True
            continue
        if time.perf_counter() - t0 < BATCH_CALL_SECONDS:
            chunk *= 4
        done, resume = end, False
    return _batch_result(out, statuses, iterations, status_codes)


def _batch_result(out, statuses, iterations, status_codes):
    """run_batch's return value, and its warning for the runs the watchdog stopped."""
    partial = np.flatnonzero(statuses != STATUS_NAMES.index("halted"))
    if len(partial):
        first = int(partial[0])
        status = STATUS_NAMES[int(statuses[first])]
        warnings.warn(PartialResultWarning(
            f"run_batch: {len(partial):,} of {iterations:,} runs stopped by the watchdog "
            f"(the first, run {first}, by {status}); their values are partial (see the "
            f"statuses)", status, None, runs=len(partial), first=first), stacklevel=3)
    if status_codes:
        return out, statuses
    return out, _STATUS_NAMES[statuses].tolist()
