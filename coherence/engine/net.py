"""The engine of the message interconnects (``interconnect="split-bus"`` or
``"directory"``): validate, lay the machine out in flat arrays (``_netlayout``), call the
kernel (``_net``), wrap the result (``stats.build_net_result``); docs/machine.md, "Message
interconnects".  ``coherence.engine.run`` / ``run_trace`` / ``run_batch`` come here for
those interconnects."""

from __future__ import annotations

import math
import time

import numpy as np

from .._jit import ensure_compiled
from ..config import SystemConfig
from ..errors import (CoherenceError, InvariantViolation, ProtocolError, check_final_memory)
from ..isa import NFIELDS, NREGS
from ..protocols.message import (A_ASSERT_SHARED, A_NOP, A_PERFORM, A_SEND, CONDITIONS,
                                 M_DIRTY, M_TRANSIENT, PARTITIONS)
from ..stats import NCORESTATS, NNETSTATS, build_net_result
import importlib

L = importlib.import_module("coherence.engine._layout")  # the package's `_layout` is a function
from . import _net as K
from . import _netlayout as NL
from ._arena import SPARSE, allocate

__all__ = ["run_net", "run_net_trace", "NetMachine"]

_ERROR_KINDS = {L.ERR_SWMR: "swmr", L.ERR_OWNER: "owner", L.ERR_DATA: "data",
                L.ERR_LOADVAL: "load_value"}
#: The message pool's first size per node; a run that fills it runs again with twice as
#: many (the run is a pure function of its inputs, so the second run is the same run).
POOL_PER_NODE = 8
MIN_POOL = 256
#: A trace's room for home records at first (doubled whenever the kernel asks).
HOME_RECORDS = 2048
#: A trace whose lines span at most this many (or four per access) gets a home record per
#: line of the span (no hash table).
DIRECT_SPAN = 1 << 16
#: Rows of each log of watched lines at first (doubled, and the run run again, when full).
WATCH_LOG_ROWS = 4096


def _flags(acts) -> np.ndarray:
    """Per entry: performs, sends, asserts shared, only performs (``_netlayout.FL_*``)."""
    a = acts[..., 0]
    fl = (np.any(a == A_PERFORM, axis=-1) * NL.FL_PERFORM
          + np.any(a == A_SEND, axis=-1) * NL.FL_SEND
          + np.any(a == A_ASSERT_SHARED, axis=-1) * NL.FL_SHARED
          + ((a[..., 0] == A_PERFORM) & (a[..., 1] == 0)) * NL.FL_PLAIN)
    return fl.astype(np.int8)


def skippable(comp) -> np.ndarray:
    """Per message type: a cache that neither holds its line nor sent it takes the I state's
    entry for it and that entry does nothing (no action, next state I), whatever event the
    message is there.  The split bus's filter visits no such cache (``_net._deliver``)."""
    cc = comp.cache
    out = np.zeros(max(len(comp.messages), 1), dtype=np.int8)
    for ty in range(len(comp.messages)):
        part = int(cc.partition[ty])
        if part < 0:
            continue
        conds = [CONDITIONS.index(c) for c in PARTITIONS[part] if c != "own"]
        evs = [int(cc.event_of[ty, w]) for w in conds]
        out[ty] = all(e >= 0 and cc.next[0, e] == 0 and cc.acts[0, e, 0, 0] == A_NOP
                      for e in evs)
    return out


def node_name(n: int, cores: int) -> str:
    """A node as errors name it: ``cache c`` or ``home n`` (its node number)."""
    return f"cache {n}" if n < cores else f"home {n}"


class NetMachine:
    """The flat arrays of one machine of a message interconnect (``_netlayout.Flat``)."""

    def __init__(self, config: SystemConfig, memory_words: int, track_data: bool,
                 trace: bool, seed: int, check: bool, code=None, start=None, length=None,
                 twrite=None, taddr=None, capacity: int | None = None):
        from . import base_params, splitmix64
        cfg = config
        self.config = cfg
        self.args = (memory_words, track_data, trace, seed, check)
        comp = cfg.protocol.compiled()
        C, S, W = cfg.cores, cfg.sets, cfg.l1_ways
        H = C if cfg.interconnect == "directory" else 1
        nodes = C + H
        wpl = cfg.words_per_line
        p, noise = base_params(cfg, len(NL.NET_PARAMS), track_data, trace, check)
        mesh = cfg.interconnect == "directory" and cfg.topology == "mesh"
        cols = math.isqrt(C)
        if cols * cols < C:
            cols += 1
        rows = -(-C // cols)
        p[NL.NP_NODES] = nodes
        p[NL.NP_KIND] = NL.KINDS.index(cfg.interconnect)
        p[NL.NP_MESH] = mesh
        p[NL.NP_COLS] = cols
        p[NL.NP_CSHIFT] = cols.bit_length() - 1 if cols & (cols - 1) == 0 else -1
        p[NL.NP_HMASK] = C - 1 if C & (C - 1) == 0 else -1
        p[NL.NP_MSHRS] = cfg.mshrs
        p[NL.NP_NETLAT], p[NL.NP_HOPLAT] = cfg.net_latency, cfg.hop_latency
        sw = -(-C // 64)
        p[NL.NP_SWORDS] = sw
        p[NL.NP_LSIZE] = cfg.line_size
        cap = capacity or max(MIN_POOL, POOL_PER_NODE * nodes)
        p[NL.NP_CAP] = cap
        wcap = max(256, 4 * nodes)
        p[NL.NP_WCAP] = wcap
        self.capacity = cap
        # Home records: a program's lines are its memory's; a trace's are numbered as they
        # are first used (a hash table with room for half as many again; the kernel asks for
        # more, STATUS_HGROW).
        self.hashing = False
        self.hbase = 0
        nlines = -(-memory_words // wpl)
        if trace:
            shift = cfg.line_size.bit_length() - 1
            lo = int(taddr.min()) >> shift if len(taddr) else 0
            span = (int(taddr.max()) >> shift) - lo + 1 if len(taddr) else 1
            if span <= max(DIRECT_SPAN, 4 * len(taddr)):
                self.hbase, nlines = lo, span      # a record per line of the span
            else:
                self.hashing, nlines = True, HOME_RECORDS
        p[NL.NP_HASH] = self.hashing
        p[NL.NP_HBASE] = self.hbase
        self.nlines = nlines
        # the split bus's filter of a bus request's caches (off with check=True: its line
        # checks are reported at the first cache that took an entry, visited or not)
        self.filter = cfg.interconnect == "split-bus" and not check
        p[NL.NP_FILTER] = self.filter
        allv = np.zeros(sw, dtype=np.uint64)
        for c in range(C):
            allv[c >> 6] |= np.uint64(1) << np.uint64(c & 63)
        ordered = [v for v in range(len(comp.vnets)) if comp.ordered[v]]
        ord_index = np.full(max(len(comp.vnets), 1), -1, dtype=np.int64)
        for i, v in enumerate(ordered):
            ord_index[v] = i
        nlinks = 4 * cols * rows if mesh else 1
        limit = cfg.cycle_limit(trace)
        nwin = min(-(-limit // cfg.timeline_window), 4096) if cfg.timeline_window else 0
        ntypes = len(comp.messages)
        i8 = np.int64
        free = np.arange(cap - 1, -1, -1, dtype=np.int64)
        ns = np.zeros(len(NL.NSTATE), dtype=np.int64)
        ns[NL.S_FREEN] = cap
        cc, hc = comp.cache, comp.home
        self.arrays = allocate([
            ("params", p.shape, i8, p), ("rng", (1,), np.uint64, splitmix64(seed)),
            ("clock", (len(L.CLOCK),), i8, 0),
            ("cnext", cc.next.shape, np.int16, cc.next), ("cacts", cc.acts.shape, np.int16,
                                                          cc.acts),
            ("cevent", cc.event_of.shape, np.int16, cc.event_of),
            ("cpart", cc.partition.shape, np.int8, cc.partition),
            ("cmeaning", cc.meaning.shape, np.int8, cc.meaning),
            ("cflags", cc.next.shape, np.int8, _flags(cc.acts)),
            ("hnext", hc.next.shape, np.int16, hc.next), ("hacts", hc.acts.shape, np.int16,
                                                          hc.acts),
            ("hevent", hc.event_of.shape, np.int16, hc.event_of),
            ("hpart", hc.partition.shape, np.int8, hc.partition),
            ("hflags", hc.next.shape, np.int8, _flags(hc.acts)),
            ("msg_vnet", comp.msg_vnet.shape, np.int8, comp.msg_vnet),
            ("msg_data", comp.msg_data.shape, np.int8, comp.msg_data),
            ("ord_index", ord_index.shape, i8, ord_index),
            ("skip", (max(ntypes, 1),), np.int8, skippable(comp)),
            ("code", code.shape if code is not None else (0, NFIELDS), i8, code),
            ("start", (C,), i8, start), ("length", (C,), i8, length),
            ("tags", (C, S, W), i8, -1), ("cst", (C, S, W), np.int16, 0),
            ("lru", (C, S, W), i8, 0), ("lruc", (C,), i8, 0),
            ("cdata", (C, S, W, wpl) if track_data else (1, 1, 1, 1), i8, 0),
            ("acks", (C, S, W), i8, 0), ("mport", (C, S, W), i8, -1),
            ("otag", (C, S, W), i8, -1), ("fh", (C, S, W), i8, 0),
            ("hrec", (nlines, NL.HR_SHARERS + sw), i8, SPARSE),
            ("hkey", (2 * nlines if self.hashing else 1,), i8, -1),
            ("hval", (2 * nlines if self.hashing else 1,), i8, 0),
            ("hlines", (nlines if self.hashing else 1,), i8, 0),
            ("hold", (nlines if self.filter else 1, sw), np.uint64, 0),
            ("core", (C, len(L.CORE)), i8, 0), ("regs", (C, NREGS), i8, 0),
            ("cstat", (C, NCORESTATS), i8, 0), ("mlat", (C, L.LAT_BUCKETS + 1), i8, 0),
            ("sb_addr", (C, cfg.store_buffer), i8, 0), ("sb_val", (C, cfg.store_buffer), i8, 0),
            ("sb_head", (C,), i8, 0), ("sb_cnt", (C,), i8, 0), ("drain_ready", (C,), i8, 0),
            ("draining", (C,), i8, 0),
            ("port", (2 * C, len(NL.PORT)), i8, 0), ("active", (sw,), np.uint64, 0),
            ("mf", (cap, len(NL.MFIELDS)), i8, 0),
            ("mdata", (cap, wpl) if track_data else (1, 1), i8, 0),
            ("free", (cap,), i8, free), ("heap", (cap, 3), i8, 0),
            ("wheel", (NL.WHEEL, 2), i8, 0), ("wbits", (NL.WHEEL_WORDS,), np.uint64, 0),
            ("stall", (nodes, len(NL.LIST)), i8, 0), ("busq", (C, len(NL.LIST)), i8, 0),
            ("wake", (wcap, 2), i8, 0),
            ("last", (nodes, nodes, max(len(ordered), 1)) if ordered else (1, 1, 1), i8, 0),
            ("lfree", (nlinks,), i8, 0),
            # a bus request's deferred line checks: at most its own line and, per port, its
            # line and the victims its retries took (grown with the pool, as the wake list)
            ("defer", (max(1 + 2 * C * (W + 1), cap), 2), i8, 0),
            ("dests", (C + 2,), i8, 0), ("rx", (len(K.RX),), i8, 0),
            ("vis", (sw,), np.uint64, 0), ("allv", (sw,), np.uint64, allv),
            ("stallv", (sw,), np.uint64, 0), ("waitv", (sw,), np.uint64, 0),
            ("ns", ns.shape, i8, ns), ("msgs", (ntypes,), i8, 0),
            ("nstat", (NNETSTATS,), i8, 0),
            ("ctrans", cc.next.shape, i8, 0), ("htrans", hc.next.shape, i8, 0),
            ("links", (nlinks,), i8, 0), ("timeline", (nwin, ntypes), i8, 0),
            ("mem", (max(nlines * wpl, 1) if not trace else 1,), i8, 0),
            ("golden", (max(nlines * wpl, 1) if not trace else 1,), i8, 0),
            ("err", (len(NL.NERR),), i8, 0),
            ("mlogn", (1,), i8, 0), ("slogn", (1,), i8, 0),
            ("cnoise", noise.shape, i8, noise)])
        self.arrays.update(
            wlines=np.zeros(0, np.int64), mlog=np.zeros((0, 6), np.int64),
            slog=np.zeros((0, 4), np.int64),
            twrite=twrite if twrite is not None else np.zeros(0, np.uint8),
            taddr=taddr if taddr is not None else np.zeros(0, np.int64))
        assert set(self.arrays) == set(NL.Flat._fields)

    def __getattr__(self, name):
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def flat(self) -> tuple:
        a = self.arrays
        return tuple(a[f] for f in NL.Flat._fields)

    def simulate(self):
        """Run to the end: (status code, cycles); a full timeline grows and the run resumes.
        Returns None when the message pool filled up (the caller runs again, bigger)."""
        kernel = K._simulate_net
        while True:
            args = self.flat()
            ensure_compiled(kernel, args, "the message interconnects' kernel")
            status, cycles = kernel(*args)
            if status == L.STATUS_PAUSED:
                continue
            if status == L.STATUS_TLFULL:
                grown = np.zeros((2 * len(self.timeline), self.timeline.shape[1]),
                                 dtype=np.int64)
                grown[:len(self.timeline)] = self.timeline
                self.arrays["timeline"] = grown
                continue
            if status == NL.STATUS_HGROW:
                self.grow_homes()
                continue
            if status == L.STATUS_ERROR and self.err[L.E_KIND] == NL.ERR_POOL:
                return None
            return int(status), int(cycles)

    def set_watch(self, lines, capacity: int):
        """Log the messages and state changes of these lines (watch=), up to ``capacity``
        rows each (more: the caller runs again with room, logs_full)."""
        a = self.arrays
        a["wlines"] = np.asarray(lines, dtype=np.int64)
        a["mlog"] = np.zeros((capacity, 6), dtype=np.int64)
        a["slog"] = np.zeros((capacity, 4), dtype=np.int64)
        self.log_capacity = capacity

    def logs_full(self) -> bool:
        return len(self.wlines) > 0 and (self.mlogn[0] > len(self.mlog)
                                         or self.slogn[0] > len(self.slog))

    def watch_logs(self, names):
        """result.messages and result.line_states of the watched lines (``names[i]`` the
        symbol of line i), as the reference model words them (coherence/netref.py)."""
        cfg = self.config
        comp = cfg.protocol.compiled()
        C = cfg.cores
        split = cfg.interconnect == "split-bus"

        def lane(n):
            return f"core {n}" if n < C else ("memory" if split else f"home {n - C}")

        messages = {name: [] for name in names}
        for sent, arr, ty, src, dst, i in self.mlog[:int(self.mlogn[0])].tolist():
            messages[names[i]].append((sent, arr, comp.messages[ty], lane(src),
                                       "bus" if dst < 0 else lane(dst)))
        states = {name: [] for name in names}
        for t, n, st, i in self.slog[:int(self.slogn[0])].tolist():
            ctl = comp.cache if n < C else comp.home
            states[names[i]].append((t, lane(n), ctl.states[st]))
        return messages, states

    def grow_homes(self):
        """Twice the room for a trace's home records; the kernel rehashes when it resumes."""
        a = self.arrays
        n = 2 * len(self.hrec)
        rec = np.zeros((n, self.hrec.shape[1]), dtype=np.int64)
        rec[:len(self.hrec)] = self.hrec
        lines = np.zeros(n, dtype=np.int64)
        lines[:len(self.hlines)] = self.hlines
        a["hrec"], a["hlines"] = rec, lines
        if self.filter:
            hold = np.zeros((n, self.hold.shape[1]), dtype=np.uint64)
            hold[:len(self.hold)] = self.hold
            a["hold"] = hold
        a["hkey"] = np.full(2 * n, -1, dtype=np.int64)
        a["hval"] = np.zeros(2 * n, dtype=np.int64)
        self.ns[NL.S_REHASH] = 1
        self.nlines = n

    # ------------------------------------------------------------------ reports

    def line_of(self, addr: int) -> int:
        return addr >> (self.config.line_size.bit_length() - 1)

    def frame(self, c: int, line: int):
        s = line & (self.config.sets - 1)
        for w in range(self.config.l1_ways):
            if self.tags[c, s, w] == line and self.cst[c, s, w] != 0:
                return s, w
        return None

    def cache_state(self, c: int, line: int) -> int:
        fr = self.frame(c, line)
        return 0 if fr is None else int(self.cst[c, fr[0], fr[1]])

    def home_lines(self) -> np.ndarray:
        """The line of each home record in use."""
        if self.hashing:
            return self.hlines[:int(self.ns[NL.S_NLINES])]
        return np.arange(len(self.hrec)) + self.hbase

    def home_index(self, line: int) -> int:
        """The line's record in the homes' arrays (-1: a trace line never used)."""
        if not self.hashing:
            return line - self.hbase if 0 <= line - self.hbase < self.nlines else -1
        hits = np.flatnonzero(self.home_lines() == line)
        return int(hits[0]) if len(hits) else -1

    def line_states(self, addr: int) -> str:
        """Each cache's state of the line holding ``addr`` and its home's:
        'core0=M core1=I home=M'."""
        comp = self.config.protocol.compiled()
        names = comp.cache.states
        line = self.line_of(addr)
        h = self.home_index(line)
        home = comp.home.states[int(self.hrec[h, NL.HR_STATE]) if h >= 0 else 0]
        return " ".join(f"core{c}={names[self.cache_state(c, line)]}"
                        for c in range(self.config.cores)) + f" home={home}"

    def message_text(self, ty: int, src: int, req: int) -> str:
        comp = self.config.protocol.compiled()
        C = self.config.cores
        return f"{comp.messages[ty]} from {node_name(src, C)} for {node_name(req, C)}"

    def coherent_memory(self) -> np.ndarray:
        """Memory overwritten by the data of every frame in a dirty state (cores in order)."""
        out = self.mem.copy()
        if self.cdata.shape[-1] != self.config.words_per_line:
            return out
        meaning = self.config.protocol.compiled().cache.meaning
        dirty = meaning[self.cst, M_DIRTY] != 0
        wpl = self.config.words_per_line
        for c, s, w in zip(*np.nonzero(dirty)):
            base = int(self.tags[c, s, w]) * wpl
            out[base:base + wpl] = self.cdata[c, s, w]
        return out

    def raise_error(self, where=None):
        """Turn the kernel's error record into the matching exception (the reference
        model's fields and words, coherence/netref.py)."""
        err = [int(x) for x in self.err]
        kind, t, c, addr, a, b, why = err[:7]
        node, mtype, msrc, mreq = (err[NL.NE_NODE], err[NL.NE_MTYPE], err[NL.NE_MSRC],
                                   err[NL.NE_MREQ])
        cfg = self.config
        proto = cfg.protocol
        comp = proto.compiled()
        C = cfg.cores
        if kind == NL.ERR_DEADLOCK:
            address, reason = self.stuck()
            raise ProtocolError("deadlock", protocol=proto.name, cycle=t, core=-1,
                                address=address, reason=reason)
        states = self.line_states(addr) if addr >= 0 else ""
        if kind in _ERROR_KINDS:
            raise InvariantViolation(_ERROR_KINDS[kind], cycle=t, core=c, address=addr,
                                     states=states, found=a, expected=b)
        if kind == L.ERR_ADDRESS:
            loc = where(c, a) if where else f"core {c}, instruction {a}"
            raise CoherenceError(f"{loc}: address {addr} is outside the program's data or not "
                                 f"8-byte aligned, expected an address inside a symbol")
        nname = node_name(node, C)
        message = self.message_text(mtype, msrc, mreq) if mtype >= 0 else None
        ckind = "cache" if node < C else "home"
        ctl = comp.cache if node < C else comp.home
        if kind == L.ERR_PROTOCOL and why == K.R_TABLE:
            raise ProtocolError("protocol", protocol=proto.name, cycle=t, core=c, address=addr,
                                states=states, state=ctl.states[a], event=ctl.events[b],
                                reason=proto.reason(ckind, a, b), node=nname, message=message)
        reason = {
            K.R_DATA: "data arrived for a line the cache does not hold",
            K.R_PERFORM: "perform, but no access of this cache waits for the line",
            K.R_ACKS: "counts acks for a line the cache does not hold",
            K.R_HIT: "a hit on a line the cache does not hold",
            K.R_NOEVENT: f"the {ckind} controller has no event for this message",
        }.get(why)
        if why == K.R_LEAVES:
            reason = f"the entry leaves a line the cache does not hold in {ctl.states[b]}"
        elif why == K.R_SENDDATA:
            reason = f"sends {comp.messages[b]} with the line's data but does not hold it"
        elif why == K.R_NOOWNER:
            reason = f"sends {comp.messages[b]} to the owner, but the line has none"
        if reason is None:
            raise RuntimeError(f"engine stopped with error {kind} at cycle {t} (internal error)")
        raise ProtocolError("absent" if kind == L.ERR_ABSENT else "protocol",
                            protocol=proto.name, cycle=t, core=c, address=addr, states=states,
                            reason=reason, node=nname, message=message)

    def stalled_messages(self):
        """Each node's stall list: (node, [(type, src, req, line), ...])."""
        out = []
        f = self.mf
        for n in range(len(self.stall)):
            slot, items = int(self.stall[n, NL.LS_HEAD]), []
            for _ in range(int(self.stall[n, NL.LS_COUNT])):
                items.append((int(f[slot, NL.MF_TYPE]), int(f[slot, NL.MF_SRC]),
                              int(f[slot, NL.MF_REQ]), int(f[slot, NL.MF_LINE])))
                slot = int(f[slot, NL.MF_NEXT])
            if items:
                out.append((n, items))
        return out

    def stuck(self):
        """A deadlock's address (the first stalled message's line, else the first waiting
        port's) and reason: every node's stalled messages, every waiting port."""
        C = self.config.cores
        names = self.config.protocol.compiled().cache.states
        lsize = self.config.line_size
        parts = []
        address = None
        for n, items in self.stalled_messages():
            if address is None:
                address = items[0][3] * lsize
            msgs = ", ".join(f"{self.message_text(ty, src, req)} (line {line * lsize:#x})"
                             for ty, src, req, line in items)
            parts.append(f"{node_name(n, C)} stalls {msgs}")
        for q in range(2 * C):
            qs = self.port[q, NL.Q_STATE]
            if qs == NL.QS_IDLE:
                continue
            who = f"port {q} (core {q >> 1}{' store buffer' if q & 1 else ''})"
            addr = int(self.port[q, NL.Q_ADDR])
            line = self.line_of(addr)
            if address is None:
                address = line * lsize
            state = names[self.cache_state(q >> 1, line)]
            if qs == NL.QS_OUT:
                parts.append(f"{who} outstanding on line {line * lsize:#x} (state {state})")
            elif self.port[q, NL.Q_WLINE] < 0:
                parts.append(f"{who} waits for an MSHR")
            else:
                parts.append(f"{who} waits on line {int(self.port[q, NL.Q_WLINE]) * lsize:#x} "
                             f"(for its access to {addr:#x}, line state {state})")
        return address or 0, "nothing can happen: " + ("; ".join(parts)
                                                      or "no message in flight")

    def check_finished(self, cycles: int) -> None:
        """check=True at the end of a halted run, in the reference model's order: frames in
        a transient state, home lines in a transient state, frames whose ack counter is not
        0, nodes with a stalled message (ProtocolError kind ``unfinished``)."""
        cfg = self.config
        proto = cfg.protocol
        comp = proto.compiled()
        meaning = comp.cache.meaning
        lsize = cfg.line_size
        C = cfg.cores

        def fail(n, addr, reason, state=None, ctl=comp.cache, message=None):
            raise ProtocolError("unfinished", protocol=proto.name, cycle=cycles,
                                core=n if n < C else -1, address=addr,
                                states=self.line_states(addr),
                                state=None if state is None else ctl.states[state],
                                reason=reason, node=node_name(n, C), message=message)

        for c, s, w in np.argwhere(meaning[self.cst, M_TRANSIENT] != 0):
            fail(int(c), int(self.tags[c, s, w]) * lsize,
                 "the line is in a transient state at the end", int(self.cst[c, s, w]))
        hmeaning = comp.home.meaning
        lines = self.home_lines()
        states = self.hrec[:len(lines), NL.HR_STATE]
        for h in sorted(np.flatnonzero(hmeaning[states, M_TRANSIENT] != 0),
                        key=lambda h: lines[h]):
            line = int(lines[h])
            home = C + (line % C if cfg.interconnect == "directory" else 0)
            fail(home, line * lsize, "the home's line is in a transient state at the end",
                 int(states[h]), comp.home)
        for c, s, w in np.argwhere(self.acks != 0):
            fail(int(c), int(self.otag[c, s, w]) * lsize,
                 f"the ack counter is {int(self.acks[c, s, w])} at the end",
                 int(self.cst[c, s, w]))
        for n, items in self.stalled_messages():
            ty, src, req, line = items[0]
            fail(n, line * lsize, f"{len(items)} message(s) still stalled at the end",
                 message=self.message_text(ty, src, req))


def _simulate(make, logs: int = 0):
    """Build a machine with ``make(capacity, logs)`` and run it; a full message pool runs
    again with twice the pool, full logs of watched lines with twice the room (the run is a
    pure function of its inputs, so it is the same run)."""
    m = make(None, logs)
    while True:
        out = m.simulate()
        if out is None:
            m = make(2 * m.capacity, logs)
        elif m.logs_full():
            logs *= 2
            m = make(m.capacity, logs)
        else:
            return m, out


def _result(m: NetMachine, status: int, cycles: int, seed: int, memory, addresses, symbols,
            with_registers: bool):
    cfg = m.config
    timeline = None
    if cfg.timeline_window:
        # the kernel grows the timeline at the cycles it visits; a run-ahead's last cycles
        # (which send nothing) may end past its rows
        timeline = m.timeline
        rows = -(-cycles // cfg.timeline_window)
        if rows > len(timeline):
            timeline = np.concatenate([timeline, np.zeros((rows - len(timeline),
                                                           timeline.shape[1]), np.int64)])
    return build_net_result(
        status=L.STATUSES[status], cycles=cycles, regs=m.regs, memory_words=memory,
        addresses=addresses, symbols=symbols, cstat=m.cstat, msgs=m.msgs, nstat=m.nstat,
        seed=seed, config=cfg, timeline=timeline,
        with_registers=with_registers,
        cache_transitions=m.ctrans if with_registers else None,
        home_transitions=m.htrans if with_registers else None,
        links=m.links, latencies=m.mlat)


def run_net(program, config: SystemConfig, seed: int = 0, check: bool = False, watch=()):
    """Run ``program`` on a split-transaction bus or a directory (``config.interconnect``);
    the same checks, warnings and result as :func:`coherence.engine.run`.  ``watch`` names
    symbols whose line's messages and state changes are logged, as
    :func:`coherence.netref.run_net_reference` logs them: ``result.messages[symbol]``
    ``(sent, arrives, type, source, destination)`` and ``result.line_states[symbol]``
    ``(cycle, lane, state)`` (for :func:`coherence.plot.plot_message_flow`)."""
    from . import _check_program, _layout, _warn_partial, _where
    _check_program(program, config)
    linked, start, length = _layout(program, config)
    nwords = len(linked.memory)
    watch = [watch] if isinstance(watch, str) else list(watch)
    for name in watch:
        if name not in linked.addresses:
            raise CoherenceError(f"cannot watch {name!r}: no such symbol (symbols: "
                                 f"{', '.join(linked.addresses)})", file=program.source)
    shift = config.line_size.bit_length() - 1
    # one symbol per line (the last one named), as the reference model keeps them
    lines = {linked.addresses[name] >> shift: name for name in watch}

    def make(capacity, logs):
        m = NetMachine(config, nwords, True, False, seed, check, code=linked.code,
                       start=start, length=length, capacity=capacity)
        m.mem[:nwords] = linked.memory
        m.golden[:nwords] = linked.memory
        if lines:
            m.set_watch(list(lines), logs)
        return m

    m, (status, cycles) = _simulate(make, WATCH_LOG_ROWS)
    if status == L.STATUS_ERROR:
        m.raise_error(_where(program))
    if check and status == L.STATUS_HALTED:
        m.check_finished(cycles)
    memory = m.coherent_memory()
    if check and status == L.STATUS_HALTED:
        check_final_memory(memory[:nwords], m.golden[:nwords], cycles)
    result = _result(m, status, cycles, seed, memory, linked.addresses, program.symbols, True)
    if watch:
        result.messages, result.line_states = m.watch_logs(list(lines.values()))
    _warn_partial(result.status, result.cycles, "run")
    return result


def run_net_trace(writes, addrs, config: SystemConfig, seed: int = 0, check: bool = False):
    """Run one access trace per core on a split-transaction bus or a directory; the same
    checks, warnings and result as :func:`coherence.engine.run_trace`."""
    from . import _trace_arrays, _warn_partial
    tw, ta, start, length = _trace_arrays(writes, addrs, config)

    def make(capacity, logs):
        return NetMachine(config, 1, False, True, seed, check, start=start, length=length,
                          twrite=tw, taddr=ta, capacity=capacity)

    m, (status, cycles) = _simulate(make)
    if status == L.STATUS_ERROR:
        m.raise_error()
    if check and status == L.STATUS_HALTED:
        m.check_finished(cycles)
    _warn_partial(L.STATUSES[status], cycles, "trace run")
    return _result(m, status, cycles, seed, m.mem, {}, [], False)




#: The arrays a run never writes (the inputs, the protocol's tables) and the RNG (one stream
#: for a batch): a batch's runs restore every other array of the machine from its pristine
#: copy (so a field added to the machine is restored unless it is named here).
BATCH_KEPT = ("rng", "code", "start", "length", "twrite", "taddr", "cnext", "cacts",
              "cevent", "cpart", "cmeaning", "cflags", "hnext", "hacts", "hevent", "hpart",
              "hflags", "msg_vnet", "msg_data", "ord_index", "skip", "allv", "cnoise",
              "wlines")
#: ... and the arrays a run changes but never reads before writing: the heap's and the
#: wheel's rows (read only below heap_n, and where wbits is set; written first), not worth
#: restoring between runs (the wheel's 16 KiB were a tenth of a litmus run's cost).
BATCH_SCRATCH = ("heap", "wheel")


def _batch_machine(config, linked, start, length, seed, check, capacity):
    """A clean machine for a batch's runs: the program's memory, no home-initial pass, no
    timeline."""
    nwords = len(linked.memory)
    m = NetMachine(config, nwords, True, False, seed, check, code=linked.code, start=start,
                   length=length, capacity=capacity)
    m.params[NL.NP_HINIT] = 0
    m.params[L.P_TLWIN] = 0
    m.mem[:nwords] = linked.memory
    m.golden[:nwords] = linked.memory
    return m


def run_net_batch(program, config: SystemConfig, iterations: int, seed: int, kinds, obs_a,
                  obs_b, check: bool = False):
    """``engine.run_batch`` on a message interconnect: the runs one after another in the
    kernel (``_batch_net``), each from the pristine machine, one RNG stream for all (each
    run starts from the generator's state the previous one left, as the atomic bus's batch
    kernel does).  A run that fills the message pool runs again with a bigger one from the
    same generator state, so it is the same run.  ``check=True`` runs them one at a time
    (:func:`run_net_batch_each`: its end-of-run checks are the driver's).  Returns (values,
    status codes)."""
    if check:
        return run_net_batch_each(program, config, iterations, seed, kinds, obs_a, obs_b, True)
    from . import BATCH_CALL_SECONDS, BATCH_FIRST_CALL, _layout, _where
    linked, start, length = _layout(program, config)
    out = np.zeros((iterations, len(kinds)), dtype=np.int64)
    statuses = np.zeros(iterations, dtype=np.int64)
    rngs = np.zeros(max(iterations, 1), dtype=np.uint64)
    obs = (np.array(kinds, np.int64), np.array(obs_a, np.int64), np.array(obs_b, np.int64))

    def make(capacity):
        m = _batch_machine(config, linked, start, length, seed, False, capacity)
        pairs = tuple((m.arrays[f], m.arrays[f].copy()) for f in NL.Flat._fields
                      if f not in BATCH_KEPT + BATCH_SCRATCH)
        return m, pairs

    m, pairs = make(None)
    done, resume, chunk = 0, False, BATCH_FIRST_CALL
    while done < iterations:
        end = min(iterations, done + chunk)
        args = (done, end, resume) + obs + (out, statuses, rngs, pairs) + m.flat()
        ensure_compiled(K._batch_net, args, "the message interconnects' batch kernel")
        t0 = time.perf_counter()
        stop = K._batch_net(*args)
        if stop < end:
            if statuses[stop] == L.STATUS_PAUSED:
                done, resume = stop, True
                continue
            if m.err[L.E_KIND] == NL.ERR_POOL:
                # the same run again (its generator state), with twice the pool
                state = rngs[stop]
                m, pairs = make(2 * m.capacity)
                m.rng[0] = state
                done, resume = stop, False
                continue
            m.raise_error(_where(program))
        if time.perf_counter() - t0 < BATCH_CALL_SECONDS:
            chunk *= 4
        done, resume = end, False
    return out, statuses


def run_net_batch_each(program, config: SystemConfig, iterations: int, seed: int, kinds,
                       obs_a, obs_b, check: bool = False):
    """The runs of :func:`run_net_batch` one kernel call each, from a machine built anew
    (the definition the batch kernel is tested against; ``check=True`` batches)."""
    from . import _layout, _where
    linked, start, length = _layout(program, config)
    out = np.zeros((iterations, len(kinds)), dtype=np.int64)
    statuses = np.zeros(iterations, dtype=np.int64)
    state = None
    for it in range(iterations):
        def make(capacity, logs, state=state):
            m = _batch_machine(config, linked, start, length, seed, check, capacity)
            if state is not None:
                m.rng[0] = state
            return m
        m, (status, cycles) = _simulate(make)
        if status == L.STATUS_ERROR:
            m.raise_error(_where(program))
        if check and status == L.STATUS_HALTED:
            m.check_finished(cycles)
        state = m.rng[0]
        statuses[it] = status
        memory = m.coherent_memory()
        for j, (k, a, b) in enumerate(zip(kinds, obs_a, obs_b)):
            out[it, j] = m.regs[a, b] if k == 0 else memory[a]
    return out, statuses
