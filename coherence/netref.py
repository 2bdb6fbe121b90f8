"""A slow, obviously-correct plain-Python model of the message interconnects of
``docs/machine.md`` ("Message interconnects: the split-transaction bus and the directory").

The cores, their store buffers, the instructions and the Perform rules are those of the
atomic-bus reference model (:class:`coherence.reference.ReferenceMachine`, reused as a base
class); what this module replaces is the interconnect: requests, forwarded requests, acks and
data are :class:`Message` objects in flight on a :class:`Network` (a crossbar or a 2D mesh with
link booking for the directory; the address bus and the data network for the split bus), and
the caches and homes move through the transient states of a
:class:`~coherence.protocols.message.MessageProtocol`, read only through its compiled arrays
(``config.protocol.compiled()``) so that any user table runs.  Every phase, RNG draw and
counter happens where the page says, in the order it says: the jitted engine must agree with
this model run for run (identical ``RunResult.to_dict()``).

Public API: :func:`run_net_reference` and :func:`run_net_trace_reference` (and
``reference.run_reference`` / ``run_trace_reference`` dispatch here when
``config.interconnect`` is not ``"bus"``).  :class:`NetReferenceMachine` is exposed for tests
that want to look at the caches, the homes or the network after a run.

Readings of points the spec leaves open (keep the engine in line with these):

* A processor hit is an entry *taken* like any other: it counts in the transition counts,
  adds (cache, line) to the wake list and is followed by the check=True line check.
* The transition counts (``cache:state,event``, ``home:state,event``) count every entry taken
  and every lookup that finds ``stall`` (a message's at its receipt or at a wake-list rescan,
  a processor request's at its first attempt or a retry, a victim's Replacement): so a stall
  entry such as ``IS^D,Inv`` shows up.  A message held back by step 1 ("queue order") looks
  nothing up and counts no transition; the broadcast's shared-signal pre-pass counts nothing.
* ``stalls`` (network stats) counts the same stall lookups plus every message held back by
  queue order (step 1) at its receipt.  A message skipped by a rescan (its virtual network
  already has an earlier stalled message of the line in that scan) is not looked up and not
  counted.  A port that waits for an MSHR, or for a set with no stable frame, is not a stall.
* The wake list's first pair is removed when it is taken; taking entries while it is
  processed puts the pair back at the end (so it is processed again, and its ports retried
  again).  Ports are retried only from the wake list (and attempts inside it do not run it
  recursively).
* A port that *waits* (a stall, an MSHR, a victim) is not outstanding; the MSHR count is the
  number of the core's ports outstanding (their miss's entry taken, the access not performed).
* A miss on a line already present (S -> Store) keeps the frame's ``acks``: ``acks = 0`` is
  set only when a frame is allocated (the spec's "0 when allocated"); ``mport`` and a fresh
  LRU stamp are given in both cases.  A freed frame (next state I) keeps its ``acks`` and
  ``mport``; the end-of-run check looks at every frame's ``acks``.
* A message for a line a cache does not hold is looked up in state I; an entry taken there
  that needs the frame (data in the message, ``perform``, ``set_acks``/``dec_acks``, a send
  with data) or leaves the line in a state other than I raises ``ProtocolError`` kind
  ``absent``.  A home's line record (state, owner, sharers) is created at its first use with
  the home table's initial state.
* A processor entry has no message: ``set_acks`` adds 0; its sends have requestor c.  The
  owner and sharers used by a condition or a send at a cache are the line's home record.
* In the broadcast's pre-pass a cache whose events for the message are split by
  ``shared``/``alone`` is looked up as ``alone`` (the signal is not known yet); an Impossible
  entry in the pre-pass is not an error there (it is raised when the cache handles the
  message).  A stalled bus request keeps its broadcast's shared signal when a rescan handles
  it later; every other message is ``alone``.
* Split bus: a bus request gets its seq at its grant, arrives ``bus_latency +
  rand(jitter)`` later (one draw per grant, the bus busy until then) and is not subject to
  the ordered-vnet clamp (the bus orders it totally).  Every other message of the split bus
  (whatever its virtual network) goes on the data network: ``mem_latency`` from the home,
  ``c2c_latency`` from a cache, no jitter.
* check=True's line checks during a bus request's delivery wait until every node (and its
  wake list) has handled it; each line is then checked once, reported at the first cache
  that took an entry for it.
* The ordered-vnet clamp applies to the arrival the latency rule gives (on the mesh after
  the links are booked, which the clamp does not change), keyed by (source node,
  destination node, virtual network).
* "Stable" and "transient" are the protocol's ``transient`` meaning: the cache's compiled
  ``meaning[:, M_TRANSIENT]`` for frames (victim choice, the end-of-run check), and for a
  home's lines the home controller's (compiled into its ``meaning`` as its only column).
* Mesh: the grid has ``cols * rows`` routers (a route can pass a grid position without a
  node when the last row is partial), so ``links`` has ``4 * cols * rows`` entries, indexed
  ``4 * (y * cols + x) + direction`` of the router the link leaves.  ``hops`` adds the route's
  length (0 on a tile's own cache-home path) at the send.
* Messages are counted (``messages``, ``vnets``, ``bytes``, the timeline) when they are sent,
  at the send's cycle; a bus request when it joins its bus queue (not at its grant).
* Node names in errors are ``"cache c"`` and ``"home n"`` with n the node number (N..N+H-1);
  a home's errors have ``core = -1``; a message is described ``"Type from <node> for
  <node>"`` (source, then requestor).  A message's errors give the line's byte address; a
  processor's, the access's address (a victim's Replacement: the victim line's).
* ``deadlock`` (nothing can happen, the run has not ended): ``cycle`` is the last cycle run,
  ``core`` -1, ``address`` the first stalled message's line (else the first waiting port's),
  and ``reason`` lists every node's stalled messages and every waiting or outstanding port.
* ``unfinished`` (check=True, a halted run): checked in the order cache frames (caches in
  order, sets and ways in order) in a transient state, home lines (by line) in a transient
  state, frames with ``acks != 0``, nodes with a stalled message; ``cycle`` is the run's
  ``cycles``.  The memory image is checked (``check_final_memory``) only for a halted run:
  a watchdog may stop a message run while the only copy of the latest value is in flight
  (a Data message), which the memory image (memory plus dirty frames) cannot see.
* Traces get no ``stats["transitions"]`` (as on the atomic bus); mesh ``links`` and the
  latency histograms they do get with ``stats="full"``.
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from . import tracecheck
from .config import SystemConfig
from .errors import (CoherenceError, ProtocolError, check_final_memory, warn_partial)
from .isa import OP_LD, OP_ST
from .protocols.message import (A_ADD_OWNER, A_ADD_REQ, A_ASSERT_SHARED, A_CLEAR_OWNER,
                                A_CLEAR_SHARERS, A_DEC_ACKS, A_NOP, A_PERFORM, A_REMOVE_REQ,
                                A_SEND, A_SET_ACKS, A_SET_OWNER, A_WRITE_MEMORY, EV_LOAD,
                                EV_REPL, EV_STORE, M_DIRTY, M_OWNER, M_READ, M_TRANSIENT,
                                M_WRITE, NEXT_IMPOSSIBLE, NEXT_STALL, PART_ACKS, PART_ALWAYS,
                                PART_DATA, PART_OWN, PART_OWNER, PART_SHARED, PART_SHARER,
                                T_BUS, T_HOME, T_OWNER, T_REQ, T_REQ_HOME, T_SHARERS,
                                W_ALONE, W_ALWAYS, W_DIR_ACK0, W_DIR_ACKS, W_FROM_CACHE,
                                W_FROM_NONOWNER, W_FROM_OWNER, W_LAST_ACK, W_LAST_SHARER,
                                W_MORE_ACKS, W_NOT_LAST_SHARER, W_OTHER, W_OWN, W_SHARED)
from .reference import (WAIT_BUS, WAIT_NONE, Core, ReferenceMachine, Rng, StoreBuffer,
                        _check_cores)
from .stats import (CS_HITS, CS_MISSES, CS_STALL, NNETSTATS, NS_BUSY, NS_BYTES, NS_GRANTS,
                    NS_HOME, NS_HOPS, NS_STALLS, RunResult, build_net_result, latency_row)

__all__ = ["run_net_reference", "run_net_trace_reference", "NetReferenceMachine", "Message",
           "Network"]

#: ``Message.dst`` of a bus request: every cache, then the home.
BROADCAST = -1
#: Mesh link directions.
PLUS_X, MINUS_X, PLUS_Y, MINUS_Y = range(4)


# --------------------------------------------------------------------------------- the parts

class Message:
    """One message: its type (index into the protocol's messages), source and destination
    nodes, the requestor it names, the line, an ack count, the global ``seq`` and arrival
    cycle (set when it enters the network), and (data messages, programs) the line's words.
    ``shared`` is the shared signal of a bus request's broadcast."""

    __slots__ = ("type", "src", "dst", "requestor", "line", "acks", "seq", "arrival", "data",
                 "shared", "sent")

    def __init__(self, mtype, src, dst, requestor, line, acks=0, data=None):
        self.type = mtype
        self.src = src
        self.dst = dst
        self.requestor = requestor
        self.line = line
        self.acks = acks
        self.data = data
        self.seq = -1
        self.arrival = -1
        self.shared = False


class Frame:
    """One cache frame: tag, state, LRU stamp, the line's words, the ack counter and the port
    whose miss the frame's transaction serves (``mport``, -1: none)."""

    __slots__ = ("tag", "state", "stamp", "data", "acks", "mport")

    def __init__(self, words: int):
        self.tag = -1
        self.state = 0
        self.stamp = 0
        self.data = [0] * words
        self.acks = 0
        self.mport = -1


class Cache:
    """A private L1 of ``sets`` x ``ways`` frames, LRU by a per-cache stamp counter."""

    def __init__(self, sets: int, ways: int, words: int):
        self.nsets = sets
        self.sets = [[Frame(words) for _ in range(ways)] for _ in range(sets)]
        self.counter = 0

    def frames_of(self, line: int) -> list:
        return self.sets[line & (self.nsets - 1)]

    def lookup(self, line: int):
        """The frame holding ``line`` in a state other than I, or None."""
        for f in self.frames_of(line):
            if f.tag == line and f.state != 0:
                return f
        return None

    def state_of(self, line: int) -> int:
        f = self.lookup(line)
        return 0 if f is None else f.state

    def touch(self, frame: Frame) -> None:
        self.counter += 1
        frame.stamp = self.counter


class HomeLine:
    """What a home keeps for one line besides memory's data: state, owner, sharers."""

    __slots__ = ("state", "owner", "sharers")

    def __init__(self, state: int = 0):
        self.state = state
        self.owner = -1
        self.sharers = set()


class Network:
    """When a message sent at cycle t arrives: the directory's crossbar or mesh (XY routing,
    links booked in send order), or the split bus's data network; then the ordered virtual
    networks' clamp.  Draws ``rand(jitter)`` once per message."""

    def __init__(self, config: SystemConfig, ncaches: int, ordered, rng: Rng):
        self.config = config
        self.N = ncaches
        self.kind = config.interconnect
        self.mesh = self.kind == "directory" and config.topology == "mesh"
        self.ordered = ordered
        self.rng = rng
        self.last = {}                      # (src, dst, vnet) -> last arrival
        if self.mesh:
            self.cols = 1
            while self.cols * self.cols < ncaches:
                self.cols += 1
            self.rows = -(-ncaches // self.cols)
            self.link_free = [0] * (4 * self.cols * self.rows)
            self.flits = [0] * (4 * self.cols * self.rows)

    def tile(self, node: int) -> int:
        """Cache c and home slice c (node N + c) share tile c."""
        return node % self.N

    def route(self, a: int, b: int) -> list:
        """The links of the XY route from tile a to tile b (along x, then along y)."""
        cols = self.cols
        x, y = a % cols, a // cols
        bx, by = b % cols, b // cols
        links = []
        while x != bx:
            d = PLUS_X if bx > x else MINUS_X
            links.append(4 * (y * cols + x) + d)
            x += 1 if d == PLUS_X else -1
        while y != by:
            d = PLUS_Y if by > y else MINUS_Y
            links.append(4 * (y * cols + x) + d)
            y += 1 if d == PLUS_Y else -1
        return links

    def arrival(self, t: int, m: Message, vnet: int, data: bool) -> tuple:
        """(arrival cycle, links traversed) of message m sent at t."""
        cfg = self.config
        from_home = m.src >= self.N
        hops = 0
        if self.kind == "split-bus":
            # no jitter here: the bus's grants carry it (a data network that reordered data
            # for different requestors would break the real-time invariants)
            arrival = t + (cfg.mem_latency if from_home else cfg.c2c_latency)
        else:
            t0 = t + (cfg.mem_latency if from_home and data else 0) + self.rng.rand(cfg.jitter)
            if not self.mesh:
                arrival = t0 + cfg.net_latency
            else:
                a, b = self.tile(m.src), self.tile(m.dst)
                if a == b:
                    arrival = t0 + 1
                else:
                    flits = -(-(8 + (cfg.line_size if data else 0)) // 16)
                    time = t0
                    route = self.route(a, b)
                    for link in route:
                        start = max(time, self.link_free[link])
                        self.link_free[link] = start + flits
                        self.flits[link] += flits
                        time = start + cfg.hop_latency
                    arrival = time + flits - 1
                    hops = len(route)
        if self.ordered[vnet]:
            key = (m.src, m.dst, vnet)
            arrival = max(arrival, self.last.get(key, 0))
            self.last[key] = arrival
        return arrival, hops


class _Lookup:
    """A message's entry at a node, as step 2-3 of handling find it."""

    __slots__ = ("kind", "state", "event", "next", "frame", "home")

    def __init__(self, kind, state, event, nxt, frame, home):
        self.kind = kind
        self.state = state
        self.event = event
        self.next = nxt
        self.frame = frame
        self.home = home


# ------------------------------------------------------------------------------- the machine

class NetReferenceMachine(ReferenceMachine):
    """The whole machine on a split bus or a directory; :meth:`run` returns
    ``(status, cycles)``.  The core side (execute, drain_step, retire, access, release,
    address checks) is :class:`~coherence.reference.ReferenceMachine`'s."""

    def __init__(self, config: SystemConfig, codes: list, memory: dict, seed: int,
                 check: bool = False, track_data: bool = True, memory_words: int | None = None):
        # the core side, as ReferenceMachine.__init__ sets it up (not its bus table)
        self.config = config
        self.N = config.cores
        self.tso = config.model == "tso"
        self.issue_jitter = config.per_core("issue_jitter")
        self.drain_delay = config.per_core("drain_delay")
        self.wpl = config.words_per_line
        self.word_shift = (config.line_size // 8).bit_length() - 1
        self.check = check
        self.track_data = track_data
        self.memory_words = memory_words
        self.memory = dict(memory)
        self.latest = dict(memory)
        self.rng = Rng(seed)
        self.cores = [Core(c, codes[c] if c < len(codes) else []) for c in range(self.N)]
        self.caches = [Cache(config.sets, config.l1_ways, self.wpl) for _ in range(self.N)]
        self.buffers = [StoreBuffer(config.store_buffer) for _ in range(self.N)]
        self.ports = [None] * (2 * self.N)
        self.last_progress = 0
        self.t = 0
        # the protocol, only through its compiled arrays
        comp = config.protocol.compiled()
        self.comp = comp
        self.ctl = {"cache": comp.cache, "home": comp.home}
        self.state_names = comp.cache.states
        self.meaning = comp.cache.meaning
        self.msg_vnet = [int(v) for v in comp.msg_vnet]
        self.msg_data = [bool(d) for d in comp.msg_data]
        self.trans = {kind: [[0] * len(c.events) for _ in c.states]
                      for kind, c in self.ctl.items()}
        # the interconnect
        self.split = config.interconnect == "split-bus"
        self.H = 1 if self.split else self.N
        self.stalled = [[] for _ in range(self.N + self.H)]   # per node, in arrival order
        self.wake = deque()
        self.waking = set()
        #: Line checks waiting for the end of a bus request's delivery: (line, first cache).
        self.deferred = None
        self.inflight = []                  # heap of (arrival, seq, Message)
        self.seq = 0
        self.bus_queues = [deque() for _ in range(self.N)]
        self.bus_free = 0
        self.bus_pointer = 0
        self.homes = {}                     # line -> HomeLine
        self.net = Network(config, self.N, [int(o) for o in comp.ordered], self.rng)
        self.watched = {}                   # line -> symbol (watch_lines)
        self.msgs = [0] * len(comp.messages)
        self.nstat = [0] * NNETSTATS
        self.timeline = {}                  # window -> [count per message type]

    # ------------------------------------------------------------------ naming, errors

    def home_of(self, line: int) -> int:
        return self.N if self.split else self.N + line % self.N

    def node_name(self, n: int) -> str:
        return f"cache {n}" if n < self.N else f"home {n}"

    def home_line(self, line: int) -> HomeLine:
        rec = self.homes.get(line)
        if rec is None:
            rec = self.homes[line] = HomeLine()
        return rec

    def line_addr(self, line: int) -> int:
        return line * self.config.line_size

    def states_text(self, line: int) -> str:
        text = " ".join(f"core{c}={self.state_names[cache.state_of(line)]}"
                        for c, cache in enumerate(self.caches))
        rec = self.homes.get(line)
        return text + f" home={self.comp.home.states[rec.state if rec else 0]}"

    def msg_text(self, m: Message) -> str:
        return (f"{self.comp.messages[m.type]} from {self.node_name(m.src)} for "
                f"{self.node_name(m.requestor)}")

    def error(self, kind: str, t: int, n: int, addr: int, reason: str = "", state=None,
              event=None, m: Message | None = None, ctl: str = "cache") -> ProtocolError:
        c = self.ctl[ctl]
        return ProtocolError(
            kind, protocol=self.config.protocol.name, cycle=t, core=n if n < self.N else -1,
            address=addr, states=self.states_text(self.line_of(addr)),
            state=None if state is None else c.states[state],
            event=None if event is None else c.events[event], reason=reason,
            node=self.node_name(n), message=None if m is None else self.msg_text(m))

    def impossible(self, t: int, n: int, kind: str, state: int, event: int, addr: int,
                   m: Message | None = None) -> ProtocolError:
        return self.error("protocol", t, n, addr,
                          self.config.protocol.reason(kind, state, event), state, event, m,
                          kind)

    def absent(self, t: int, n: int, line: int, why: str, m: Message | None = None):
        raise self.error("absent", t, n, self.line_addr(line), why, m=m)

    # ------------------------------------------------------------------ sending

    def send(self, n: int, line: int, mtype: int, target: int, requestor: int, frame, t: int,
             m: Message | None) -> None:
        """A send action at node n for line L (``target``: TARGETS code, bit 3 = acks)."""
        to, with_acks = target & 7, bool(target & 8)
        rec = self.home_line(line)
        acks = len(rec.sharers - {requestor}) if with_acks else 0
        data = None
        if self.msg_data[mtype]:
            if n < self.N:
                if frame is None:
                    self.absent(t, n, line, f"sends {self.comp.messages[mtype]} with the "
                                            f"line's data but does not hold it", m)
                if self.track_data:
                    data = list(frame.data)
            elif self.track_data:
                data = self.read_line(line)
        if to == T_BUS:
            if n >= self.N:
                raise self.error("protocol", t, n, self.line_addr(line),
                                 "a home has no bus queue", m=m, ctl="home")
            self.inject(Message(mtype, n, BROADCAST, requestor, line, acks, data), t)
            return
        if to == T_HOME:
            dests = [self.home_of(line)]
        elif to == T_REQ:
            dests = [requestor]
        elif to == T_REQ_HOME:
            dests = [requestor, self.home_of(line)]
        elif to == T_OWNER:
            if rec.owner < 0:
                raise self.error("protocol", t, n, self.line_addr(line),
                                 f"sends {self.comp.messages[mtype]} to the owner, but the "
                                 f"line has none", m=m, ctl="cache" if n < self.N else "home")
            dests = [rec.owner]
        elif to == T_SHARERS:
            dests = sorted(rec.sharers - {requestor})
        else:
            raise CoherenceError(f"unknown send target {to}")
        for d in dests:
            self.inject(Message(mtype, n, d, requestor, line, acks, data), t)

    def inject(self, m: Message, t: int) -> None:
        """A message leaves its node at t: counted, then queued for the bus or put on the
        network (its seq now, its arrival from the Network)."""
        cfg = self.config
        data = self.msg_data[m.type]
        self.msgs[m.type] += 1
        self.nstat[NS_BYTES] += 8 + (cfg.line_size if data else 0)
        if cfg.timeline_window > 0:
            row = self.timeline.setdefault(t // cfg.timeline_window, [0] * len(self.msgs))
            row[m.type] += 1
        m.sent = t
        if m.dst == BROADCAST:
            self.bus_queues[m.src].append(m)
            return
        m.seq = self.seq
        self.seq += 1
        m.arrival, hops = self.net.arrival(t, m, self.msg_vnet[m.type], data)
        self.nstat[NS_HOPS] += hops
        heapq.heappush(self.inflight, (m.arrival, m.seq, m))
        self.log_message(m)

    def watch_lines(self, lines: dict) -> None:
        """Log the messages and state changes of these lines (line -> symbol): the
        message-flow chart's data (``result.messages``, ``result.line_states``)."""
        self.watched = dict(lines)
        self.message_log = {name: [] for name in lines.values()}
        self.state_log = {name: [] for name in lines.values()}

    def _lane(self, n: int) -> str:
        return f"core {n}" if n < self.N else ("memory" if self.split else f"home {n - self.N}")

    def log_message(self, m: Message) -> None:
        name = self.watched.get(m.line)
        if name is not None:
            dst = "bus" if m.dst == BROADCAST else self._lane(m.dst)
            self.message_log[name].append((m.sent, m.arrival, self.comp.messages[m.type],
                                           self._lane(m.src), dst))

    def log_state(self, n: int, line: int, state: int, kind: str) -> None:
        name = self.watched.get(line)
        if name is not None:
            self.state_log[name].append((self.t, self._lane(n), self.ctl[kind].states[state]))

    def grant_bus(self, t: int) -> None:
        """Phase 3 (split bus): one bus queue's head goes on the address bus."""
        cfg = self.config
        if t < self.bus_free:
            return
        cands = [c for c in range(self.N) if self.bus_queues[c]]
        if not cands:
            return
        if cfg.arbitration == "fixed":
            c = cands[0]
        elif cfg.arbitration == "random":
            c = cands[self.rng.next() % len(cands)]
        else:
            c = next((q for q in cands if q >= self.bus_pointer), cands[0])
            self.bus_pointer = (c + 1) % self.N
        m = self.bus_queues[c].popleft()
        m.seq = self.seq
        self.seq += 1
        m.arrival = t + cfg.bus_latency + self.rng.rand(cfg.jitter)
        heapq.heappush(self.inflight, (m.arrival, m.seq, m))
        self.log_message(m)
        self.bus_free = m.arrival
        self.nstat[NS_BUSY] += m.arrival - t
        self.nstat[NS_GRANTS] += 1

    # ------------------------------------------------------------------ receiving

    def queued_behind(self, n: int, m: Message) -> bool:
        """Step 1: n's stall list holds a message for m's line on m's virtual network."""
        v = self.msg_vnet[m.type]
        return any(s.line == m.line and self.msg_vnet[s.type] == v for s in self.stalled[n])

    def classify(self, n: int, m: Message, t: int) -> _Lookup:
        """Step 2 (the event) and the entry's next state, for message m at node n."""
        kind = "cache" if n < self.N else "home"
        ctl = self.ctl[kind]
        frame = self.caches[n].lookup(m.line) if kind == "cache" else None
        rec = self.home_line(m.line)
        state = (frame.state if frame is not None else 0) if kind == "cache" else rec.state
        facks = frame.acks if frame is not None else 0
        part = int(ctl.partition[m.type])
        if part == PART_ALWAYS:
            w = W_ALWAYS
        elif part == PART_OWN:
            w = W_OWN if m.requestor == n else W_OTHER
        elif part == PART_DATA:
            if m.src >= self.N:
                w = W_DIR_ACK0 if m.acks + facks == 0 else W_DIR_ACKS
            else:
                w = W_FROM_CACHE
        elif part == PART_ACKS:
            w = W_LAST_ACK if facks == 1 else W_MORE_ACKS
        elif part == PART_OWNER:
            w = W_FROM_OWNER if m.src == rec.owner else W_FROM_NONOWNER
        elif part == PART_SHARER:
            w = W_LAST_SHARER if rec.sharers == {m.src} else W_NOT_LAST_SHARER
        elif part == PART_SHARED:
            w = W_SHARED if m.shared else W_ALONE
        else:
            raise self.error("protocol", t, n, self.line_addr(m.line),
                             f"the {kind} controller has no event for this message", m=m,
                             ctl=kind)
        ev = int(ctl.event_of[m.type, w])
        return _Lookup(kind, state, ev, int(ctl.next[state, ev]), frame, rec)

    def count_stall(self, kind: str, state: int, event: int) -> None:
        self.trans[kind][state][event] += 1
        self.nstat[NS_STALLS] += 1

    def receive(self, n: int, m: Message, t: int) -> None:
        """Handling message m at node n (steps 1-3)."""
        if self.queued_behind(n, m):
            self.stalled[n].append(m)
            self.nstat[NS_STALLS] += 1
            return
        look = self.classify(n, m, t)
        if look.next == NEXT_IMPOSSIBLE:
            raise self.impossible(t, n, look.kind, look.state, look.event,
                                  self.line_addr(m.line), m)
        if look.next == NEXT_STALL:
            self.count_stall(look.kind, look.state, look.event)
            self.stalled[n].append(m)
            return
        self.take(n, m.line, look.kind, look.state, look.event, m, m.requestor, look.frame, t)

    def broadcast(self, m: Message, t: int) -> None:
        """A bus request: the shared signal's pre-pass, then every cache and the home."""
        shared = False
        cctl = self.comp.cache
        for c in range(self.N):
            if c == m.requestor:
                continue
            if self.queued_behind(c, m):
                shared = True
                break
            look = self.classify(c, m, t)
            if look.next == NEXT_STALL:
                shared = True
                break
            if look.next >= 0 and any(int(a) == A_ASSERT_SHARED
                                      for a in cctl.acts[look.state, look.event, :, 0]):
                shared = True
                break
        m.shared = shared
        self.deferred = []
        for c in range(self.N):
            self.receive(c, m, t)
            self.run_wake(t)
        self.receive(self.N, m, t)
        self.run_wake(t)
        deferred, self.deferred = self.deferred, None
        for line, node in deferred:
            self.check_line(line, t, node)

    def deliver(self, t: int) -> None:
        """Phase 1: every message arriving at t, in seq order."""
        while self.inflight and self.inflight[0][0] == t:
            _, _, m = heapq.heappop(self.inflight)
            if m.dst == BROADCAST:
                self.broadcast(m, t)
            else:
                self.receive(m.dst, m, t)
                self.run_wake(t)
        assert not self.inflight or self.inflight[0][0] > t

    # ------------------------------------------------------------------ taking an entry

    def take(self, n: int, line: int, kind: str, state: int, event: int, m: Message | None,
             requestor: int, frame, t: int) -> None:
        """Take the entry (state, event) at node n for ``line``: data, actions in order, the
        next state, the wake list, the line check."""
        ctl = self.ctl[kind]
        nxt = int(ctl.next[state, event])
        self.trans[kind][state][event] += 1
        rec = None
        if kind == "home":
            self.nstat[NS_HOME] += 1
            rec = self.home_line(line)
        elif m is not None and self.msg_data[m.type]:
            if frame is None:
                self.absent(t, n, line, "data arrived for a line the cache does not hold", m)
            if self.track_data:
                frame.data = list(m.data)
        for a, mi, target in ctl.acts[state, event].tolist():
            if a == A_NOP:
                continue
            if a == A_SEND:
                self.send(n, line, mi, target, requestor, frame, t, m)
            elif a == A_PERFORM:
                if frame is None or frame.mport < 0:
                    self.absent(t, n, line, "perform, but no access of this cache waits for "
                                            "the line", m)
                req = self.ports[frame.mport]
                self.ports[frame.mport] = None
                frame.mport = -1
                self.perform(req, frame, t)
            elif a in (A_SET_ACKS, A_DEC_ACKS):
                if frame is None:
                    self.absent(t, n, line, "counts acks for a line the cache does not hold", m)
                if a == A_SET_ACKS:
                    frame.acks += m.acks if m is not None else 0
                else:
                    frame.acks -= 1
            elif a == A_ASSERT_SHARED:
                pass                        # the broadcast's pre-pass read it
            else:
                if rec is None:
                    rec = self.home_line(line)
                if a == A_ADD_REQ:
                    rec.sharers.add(requestor)
                elif a == A_ADD_OWNER:
                    if rec.owner >= 0:
                        rec.sharers.add(rec.owner)
                elif a == A_REMOVE_REQ:
                    rec.sharers.discard(requestor)
                elif a == A_CLEAR_SHARERS:
                    rec.sharers.clear()
                elif a == A_SET_OWNER:
                    rec.owner = requestor
                elif a == A_CLEAR_OWNER:
                    rec.owner = -1
                elif a == A_WRITE_MEMORY:
                    if self.track_data and m is not None and m.data is not None:
                        self.write_line(line, m.data)
        if self.watched and nxt != state:
            self.log_state(n, line, nxt, kind)
        if kind == "home":
            rec.state = nxt
        elif frame is not None:
            frame.state = nxt               # a next state of I frees the frame
        elif nxt != 0:
            self.absent(t, n, line, f"the entry leaves a line the cache does not hold in "
                                    f"{ctl.states[nxt]}", m)
        self.add_wake(n, line)
        if kind == "cache" and self.check:
            self.check_soon(line, t, n)

    def add_wake(self, n: int, line: int) -> None:
        if (n, line) not in self.waking:
            self.waking.add((n, line))
            self.wake.append((n, line))

    def run_wake(self, t: int) -> None:
        """Run the wake list until it is empty."""
        while self.wake:
            n, line = self.wake.popleft()
            self.waking.discard((n, line))
            # 1. the stall list: the first stalled message of each virtual network, again
            rescan = True
            while rescan:
                rescan = False
                seen = set()
                for i, m in enumerate(self.stalled[n]):
                    if m.line != line:
                        continue
                    v = self.msg_vnet[m.type]
                    if v in seen:
                        continue
                    seen.add(v)
                    look = self.classify(n, m, t)
                    if look.next == NEXT_IMPOSSIBLE:
                        raise self.impossible(t, n, look.kind, look.state, look.event,
                                              self.line_addr(line), m)
                    if look.next == NEXT_STALL:
                        self.count_stall(look.kind, look.state, look.event)
                        continue
                    del self.stalled[n][i]
                    self.take(n, line, look.kind, look.state, look.event, m, m.requestor,
                              look.frame, t)
                    rescan = True
                    break
            # 2. the cache's ports that wait on the line or for an MSHR
            if n < self.N:
                for p in (2 * n, 2 * n + 1):
                    req = self.ports[p]
                    if req is not None and req.wait_line is not None and (
                            req.wait_line == line or req.wait_line == -1):
                        self.try_access(req, t, first=False)

    # ------------------------------------------------------------------ the processor side

    def attempt(self, req, t: int) -> None:
        """A core's (or drain unit's) first attempt at cycle t, then the wake list."""
        req.posted = t
        req.wait_line = None
        req.outstanding = False
        self.try_access(req, t, first=True)
        self.run_wake(t)

    def outstanding(self, c: int) -> int:
        return sum(1 for p in (2 * c, 2 * c + 1)
                   if self.ports[p] is not None and self.ports[p].outstanding)

    def blocked(self, req, t: int) -> None:
        """A first attempt that does not hit: a miss; the core (drain unit) waits from t."""
        core = self.cores[req.core]
        core.stats[CS_MISSES] += 1
        if req.drain:
            self.buffers[req.core].draining = True
        else:
            core.wait = WAIT_BUS
            core.block_t = t

    def wait_port(self, req, line: int, t: int, first: bool) -> None:
        req.wait_line = line
        req.outstanding = False
        self.ports[req.port] = req
        if first:
            self.blocked(req, t)

    def try_access(self, req, t: int, first: bool) -> None:
        """The attempt of port ``req.port`` (docs/machine.md, "The processor side")."""
        cfg = self.config
        c = req.core
        core = self.cores[c]
        cache = self.caches[c]
        ctl = self.comp.cache
        line = self.line_of(req.addr)
        frame = cache.lookup(line)
        state = frame.state if frame is not None else 0
        ev = EV_LOAD if req.op == OP_LD else EV_STORE
        nxt = int(ctl.next[state, ev])
        if nxt == NEXT_IMPOSSIBLE:
            raise self.impossible(t, c, "cache", state, ev, req.addr)
        if nxt == NEXT_STALL:
            self.count_stall("cache", state, ev)
            self.wait_port(req, line, t, first)
            return
        acts = ctl.acts[state, ev].tolist()
        if any(a == A_PERFORM for a, _, _ in acts):
            # a hit: performed now
            if frame is None:
                self.absent(t, c, line, "a hit on a line the cache does not hold")
            self.trans["cache"][state][ev] += 1
            for a, _, _ in acts:
                if a == A_PERFORM:
                    self.access(req, frame, t)
                elif a == A_DEC_ACKS:
                    frame.acks -= 1
            frame.state = nxt
            cache.touch(frame)
            if first:
                core.stats[CS_HITS] += 1
                if req.drain:
                    buf = self.buffers[c]
                    buf.entries.popleft()
                    if buf.entries:
                        buf.drain_ready = (t + cfg.hit_latency
                                           + self.rng.rand(self.drain_delay[c]))
                    self.release(core, t)
                else:
                    self.retire(core, core.pc + 1, t + cfg.hit_latency)
            else:
                self.ports[req.port] = None
                self.complete(req, t)
            self.add_wake(c, line)
            if self.check:
                self.check_soon(line, t, c)
            return
        # a miss: the entry sends
        if self.outstanding(c) >= cfg.mshrs:
            self.wait_port(req, -1, t, first)
            return
        if frame is None:
            frame = self.allocate(req, line, t, first)
            if frame is None:
                return
            frame.tag = line
            frame.acks = 0
        frame.mport = req.port
        cache.touch(frame)
        req.wait_line = None
        req.outstanding = True
        self.ports[req.port] = req
        if first:
            self.blocked(req, t)
        self.take(c, line, "cache", state, ev, None, c, frame, t)

    def allocate(self, req, line: int, t: int, first: bool):
        """A frame for ``line`` in its set, or None when the port must wait (on a victim)."""
        c = req.core
        frames = self.caches[c].frames_of(line)
        for f in frames:
            if f.state == 0:
                return f
        stable = [f for f in frames if not self.meaning[f.state, M_TRANSIENT]]
        if not stable:
            self.wait_port(req, min(frames, key=lambda f: f.stamp).tag, t, first)
            return None
        victim = min(stable, key=lambda f: f.stamp)
        vstate, vline = victim.state, victim.tag
        nxt = int(self.comp.cache.next[vstate, EV_REPL])
        if nxt == NEXT_IMPOSSIBLE:
            raise self.impossible(t, c, "cache", vstate, EV_REPL, self.line_addr(vline))
        if nxt == NEXT_STALL:
            self.count_stall("cache", vstate, EV_REPL)
            self.wait_port(req, vline, t, first)
            return None
        self.take(c, vline, "cache", vstate, EV_REPL, None, c, victim, t)
        if victim.state != 0:
            self.wait_port(req, vline, t, first)
            return None
        return victim

    def complete(self, req, t: int) -> None:
        """The Perform rules after the data side (``access``): release the core or pop the
        drain unit's head (ReferenceMachine.perform without its access)."""
        core = self.cores[req.core]
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

    def perform(self, req, frame: Frame, t: int) -> None:
        self.access(req, frame, t)
        self.complete(req, t)

    # ------------------------------------------------------------------ the run

    def run(self):
        cfg = self.config
        for core in self.cores:
            core.ready = self.rng.rand(cfg.start_skew)
        t = 0
        while True:
            self.t = t
            # 1. deliveries
            self.deliver(t)
            # 2. issue
            for core in self.cores:
                if self.tso:
                    self.drain_step(core, t)
                if not core.halted and core.wait == WAIT_NONE and t >= core.ready:
                    self.execute(core, t)
            # 3. the address bus
            if self.split:
                self.grant_bus(t)
            nxt = self.next_event(t)
            if nxt is None:
                if all(c.halted for c in self.cores) and all(b.empty for b in self.buffers):
                    if self.check:
                        self.check_finished(t + 1)
                    return "halted", t + 1
                raise self.deadlock(t)
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
        if self.inflight:
            times.append(self.inflight[0][0])
        if any(self.bus_queues):
            times.append(max(self.bus_free, t + 1))
        for core in self.cores:
            if not core.halted and core.wait == WAIT_NONE:
                times.append(core.ready)
        for buf in self.buffers:
            if not buf.empty and not buf.draining:
                times.append(buf.drain_ready)
        if not times:
            return None
        return max(min(times), t + 1)

    def deadlock(self, t: int) -> ProtocolError:
        """Nothing can happen and the run has not ended."""
        parts = []
        address = None
        for n, lst in enumerate(self.stalled):
            if lst:
                if address is None:
                    address = self.line_addr(lst[0].line)
                msgs = ", ".join(f"{self.msg_text(m)} (line {self.line_addr(m.line):#x})"
                                 for m in lst)
                parts.append(f"{self.node_name(n)} stalls {msgs}")
        for p, req in enumerate(self.ports):
            if req is None:
                continue
            who = f"port {p} (core {req.core}{' store buffer' if req.drain else ''})"
            line = self.line_of(req.addr)
            if address is None:
                address = self.line_addr(line)
            state = self.state_names[self.caches[req.core].state_of(line)]
            if req.outstanding:
                parts.append(f"{who} outstanding on line {self.line_addr(line):#x} "
                             f"(state {state})")
            elif req.wait_line == -1:
                parts.append(f"{who} waits for an MSHR")
            else:
                parts.append(f"{who} waits on line {self.line_addr(req.wait_line):#x} "
                             f"(for its access to {req.addr:#x}, line state {state})")
        return ProtocolError("deadlock", protocol=self.config.protocol.name, cycle=t, core=-1,
                             address=address or 0, reason="nothing can happen: "
                             + ("; ".join(parts) or "no message in flight"))

    def check_finished(self, cycles: int) -> None:
        """check=True at the end of a halted run: stable states, acks 0, nothing stalled."""
        home_meaning = self.comp.home.meaning
        for c, cache in enumerate(self.caches):
            for frames in cache.sets:
                for f in frames:
                    if self.meaning[f.state, M_TRANSIENT]:
                        raise self.error("unfinished", cycles, c, self.line_addr(f.tag),
                                         f"the line is in a transient state at the end",
                                         state=f.state)
        for line in sorted(self.homes):
            rec = self.homes[line]
            if home_meaning[rec.state, M_TRANSIENT]:
                raise self.error("unfinished", cycles, self.home_of(line),
                                 self.line_addr(line), "the home's line is in a transient "
                                 "state at the end", state=rec.state, ctl="home")
        for c, cache in enumerate(self.caches):
            for frames in cache.sets:
                for f in frames:
                    if f.acks != 0:
                        raise self.error("unfinished", cycles, c, self.line_addr(f.tag),
                                         f"the ack counter is {f.acks} at the end",
                                         state=f.state)
        for n, lst in enumerate(self.stalled):
            if lst:
                m = lst[0]
                raise self.error("unfinished", cycles, n, self.line_addr(m.line),
                                 f"{len(lst)} message(s) still stalled at the end", m=m,
                                 ctl="cache" if n < self.N else "home")

    # ------------------------------------------------------------------ invariants

    def check_soon(self, line: int, t: int, node: int) -> None:
        """The line check after an entry taken at a cache: now, or while a bus request is
        being delivered, once every node has handled it (the bus delivers to all at once)."""
        if self.deferred is None:
            self.check_line(line, t, node)
        elif all(x != line for x, _ in self.deferred):
            self.deferred.append((line, node))

    def check_line(self, line: int, t: int, node: int) -> None:
        """After an entry taken at cache ``node``, for its line: single writer or many
        readers, one owner (transient states included), every readable copy's data."""
        present = [(c, f) for c, cache in enumerate(self.caches)
                   if (f := cache.lookup(line)) is not None]
        meaning = self.meaning
        writers = sum(int(meaning[f.state, M_WRITE]) for _, f in present)
        readers = sum(int(meaning[f.state, M_READ]) for _, f in present)
        owners = sum(int(meaning[f.state, M_OWNER]) for _, f in present)
        addr = self.line_addr(line)
        if writers > 1 or (writers == 1 and readers > 1):
            self.violation("swmr", t, node, addr, writers, readers)
        if owners > 1:
            self.violation("owner", t, node, addr, owners, readers)
        if not self.track_data:
            return
        base = line * self.wpl
        latest = [self.latest.get(base + i, 0) for i in range(self.wpl)]
        for c, f in present:
            if meaning[f.state, M_READ] and f.data != latest:
                i = next(i for i in range(self.wpl) if f.data[i] != latest[i])
                self.violation("data", t, c, (base + i) * 8, f.data[i], latest[i])

    # ------------------------------------------------------------------ results

    def coherent_memory(self, nwords: int) -> np.ndarray:
        """Memory overwritten by every frame in a dirty state (transient ones included)."""
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
        arr = np.zeros((rows, len(self.msgs)), dtype=np.int64)
        for k, row in self.timeline.items():
            arr[k] = row
        return arr

    def links(self):
        return list(self.net.flits) if self.net.mesh else None


# ------------------------------------------------------------------------- input validation

def _config(config) -> None:
    if not isinstance(config, SystemConfig):
        raise CoherenceError(f"config must be a SystemConfig, got {type(config).__name__}")
    if config.interconnect == "bus":
        raise CoherenceError("run_net_reference runs the split bus and the directory; "
                             "interconnect 'bus' runs on coherence.reference.run_reference")


def _result(machine: NetReferenceMachine, status, cycles, seed, *, memory_words, addresses,
            symbols, with_registers) -> RunResult:
    return build_net_result(
        status=status, cycles=cycles, regs=machine.regs(), memory_words=memory_words,
        addresses=addresses, symbols=symbols, cstat=machine.cstat(),
        msgs=np.array(machine.msgs, dtype=np.int64),
        nstat=np.array(machine.nstat, dtype=np.int64), seed=seed, config=machine.config,
        timeline=machine.timeline_array(cycles), with_registers=with_registers,
        cache_transitions=(np.array(machine.trans["cache"], dtype=np.int64)
                           if machine.track_data else None),
        home_transitions=(np.array(machine.trans["home"], dtype=np.int64)
                          if machine.track_data else None),
        links=machine.links(),
        latencies=[latency_row(c.latencies) for c in machine.cores])


# ------------------------------------------------------------------------------ public API

def prepare_net_program(program, config: SystemConfig, seed: int = 0, check: bool = False):
    """The machine for ``program`` (not yet run) and its Linked layout."""
    _config(config)
    _check_cores(program.cores, config, "program")
    linked = program.link(config.line_size)
    codes = []
    for c in range(program.cores):
        s, n = int(linked.start[c]), int(linked.length[c])
        codes.append([tuple(int(x) for x in r) for r in linked.code[s:s + n]])
    wpl = config.words_per_line
    nwords = -(-len(linked.memory) // wpl) * wpl
    memory = {i: int(v) for i, v in enumerate(linked.memory)}
    machine = NetReferenceMachine(config, codes, memory, seed, check=check, track_data=True,
                                  memory_words=nwords)
    return machine, linked


def _run_program(program, config, seed, check, stacklevel, watch=()):
    machine, linked = prepare_net_program(program, config, seed, check)
    watch = [watch] if isinstance(watch, str) else list(watch)
    for name in watch:
        if name not in linked.addresses:
            raise CoherenceError(f"cannot watch {name!r}: no such symbol (symbols: "
                                 f"{', '.join(linked.addresses)})", file=program.source)
    if watch:
        machine.watch_lines({machine.line_of(linked.addresses[n]): n for n in watch})
    status, cycles = machine.run()
    warn_partial(status, cycles, "reference run", stacklevel=stacklevel + 1)
    mem = machine.coherent_memory(len(linked.memory))
    if check and status == "halted":
        check_final_memory(mem, [machine.latest.get(w, 0) for w in range(len(mem))], cycles)
    result = _result(machine, status, cycles, seed, memory_words=mem,
                     addresses=linked.addresses, symbols=program.symbols, with_registers=True)
    if watch:
        result.messages = machine.message_log
        result.line_states = machine.state_log
    return result


def run_net_reference(program, config: SystemConfig, seed: int = 0, check: bool = False,
                      watch=()) -> RunResult:
    """Run ``program`` on the split bus or the directory; a pure function of
    (program, config, seed).  ``check=True`` verifies the invariants of docs/machine.md and
    raises :class:`~coherence.errors.InvariantViolation` at the first violation (and
    :class:`~coherence.errors.ProtocolError` kind ``unfinished`` for a halted run that left
    work behind).  ``watch`` names symbols whose line's messages and state changes are
    logged: ``result.messages[symbol]`` lists ``(sent, arrives, type, source, destination)``
    (lanes ``"core c"``, ``"home h"`` or ``"memory"``, and ``"bus"`` for a bus request,
    logged at its grant), ``result.line_states[symbol]`` ``(cycle, lane, state)``, for
    :func:`coherence.plot.plot_message_flow`."""
    return _run_program(program, config, seed, check, stacklevel=2, watch=watch)


def prepare_net_trace(writes, addrs, config: SystemConfig, seed: int = 0, check: bool = False):
    """The machine for a trace run (not yet run)."""
    _config(config)
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
            rows.append((OP_ST if is_write else OP_LD, -1, -1, addr, 0, 0, 0, 0))
        codes.append(rows)
    return NetReferenceMachine(config, codes, {}, seed, check=check, track_data=False,
                               memory_words=None)


def _run_trace(writes, addrs, config, seed, check, stacklevel):
    machine = prepare_net_trace(writes, addrs, config, seed, check)
    status, cycles = machine.run()
    warn_partial(status, cycles, "reference trace run", stacklevel=stacklevel + 1)
    return _result(machine, status, cycles, seed, memory_words=np.zeros(0, np.int64),
                   addresses={}, symbols=[], with_registers=False)


def run_net_trace_reference(writes, addrs, config: SystemConfig, seed: int = 0,
                            check: bool = False) -> RunResult:
    """Trace mode on the split bus or the directory: core c's access i is a load
    (``writes[c][i] == 0``) or a store to ``addrs[c][i]``; no data is tracked."""
    return _run_trace(writes, addrs, config, seed, check, stacklevel=2)
