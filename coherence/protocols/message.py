"""Protocols for message-passing interconnects: controllers as tables, in the Primer's style.

On the atomic bus a transaction happens all at once (:mod:`.table`).  On a split-transaction
bus or a directory over a network, requests, forwarded requests and data are messages in
flight, and each controller moves through *transient* states (IS^D, IM^AD, MI^A, ...) while it
waits.  A :class:`MessageProtocol` is two controller tables, written as the Primer (Sorin, Hill,
Wood, Nagarajan, 2nd ed., chapters 7 and 8) and gem5's SLICC files write them:

* the **cache controller** (one per L1): its states (stable and transient, each with what it
  means: permission, dirty, owner), its events (the processor's ``Load``, ``Store`` and
  ``Replacement``, and every message it receives, possibly split by a condition such as
  "Data from Dir (ack=0)"), and for every (state, event) pair one entry;
* the **home controller** (the directory, or the split bus's memory controller): the same for
  a line's home state, with the sharers and the owner the home keeps.

An entry is a :class:`Do` (actions, then the next state), :data:`STALL` (the event waits
until the line's state changes at this controller) or :class:`Impossible` (reaching it is a
protocol error, reported with the node, cycle, line, state, event and message).  A key's state
and event may each be a set of names, as in SLICC; every pair must still be covered exactly
once, checked when the protocol is built.

Messages are declared once (:class:`Message`: the virtual network it travels on and whether it
carries the line's data).  Which virtual networks keep point-to-point order is a protocol
property (``ordered``) that the network honours.  The engine and the reference model read
only the compiled arrays (:meth:`MessageProtocol.compiled`), never a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import CoherenceError
from .table import Impossible, State

#: The cache controller's processor events, numbered first in every cache table.
PROCESSOR_EVENTS = ("Load", "Store", "Replacement")
EV_LOAD, EV_STORE, EV_REPL = range(3)

#: Conditions that split one message into several events; the engine evaluates them when the
#: message is received.  Each message's events must use exactly one of these groups (a
#: partition: every receipt is exactly one event).
CONDITIONS = ("always", "own", "other", "dir_ack0", "dir_acks", "from_cache", "last_ack",
              "more_acks", "from_owner", "from_nonowner", "last_sharer", "not_last_sharer",
              "shared", "alone")
(W_ALWAYS, W_OWN, W_OTHER, W_DIR_ACK0, W_DIR_ACKS, W_FROM_CACHE, W_LAST_ACK, W_MORE_ACKS,
 W_FROM_OWNER, W_FROM_NONOWNER, W_LAST_SHARER, W_NOT_LAST_SHARER, W_SHARED,
 W_ALONE) = range(len(CONDITIONS))
#: What each condition means (for ``protocol show`` and docs/machine.md).
CONDITION_MEANING = {
    "always": "every receipt of the message",
    "own": "a bus request this cache sent (it sees its own request when the bus orders it)",
    "other": "a bus request another cache sent",
    "dir_ack0": "data from the home, with no invalidation acks still expected (the message's "
                "ack count plus the acks already counted is 0)",
    "dir_acks": "data from the home, with acks still expected",
    "from_cache": "data from another cache (the owner)",
    "last_ack": "the last expected ack (the ack counter is 1 before it)",
    "more_acks": "an ack that is not the last expected",
    "from_owner": "sent by the line's owner as the home records it",
    "from_nonowner": "sent by a node that is not the recorded owner",
    "last_sharer": "sent by the line's only recorded sharer",
    "not_last_sharer": "sent by a node that is not the only recorded sharer",
    "shared": "a bus request for which some other cache asserted the shared signal",
    "alone": "a bus request no other cache asserted the shared signal for",
}
#: The allowed groups, by number (the compiled ``partition`` of a received message).
PARTITIONS = (("always",), ("own", "other"), ("dir_ack0", "dir_acks", "from_cache"),
              ("last_ack", "more_acks"), ("from_owner", "from_nonowner"),
              ("last_sharer", "not_last_sharer"), ("shared", "alone"))
(PART_ALWAYS, PART_OWN, PART_DATA, PART_ACKS, PART_OWNER, PART_SHARER,
 PART_SHARED) = range(len(PARTITIONS))

#: Actions without arguments, by controller kind.  Codes are numbered after A_SEND.
CACHE_ACTIONS = ("perform", "set_acks", "dec_acks", "assert_shared")
HOME_ACTIONS = ("add_requestor", "add_owner", "remove_requestor", "clear_sharers", "set_owner",
                "clear_owner", "write_memory")
ACTIONS = ("nop", "send") + CACHE_ACTIONS + HOME_ACTIONS
(A_NOP, A_SEND, A_PERFORM, A_SET_ACKS, A_DEC_ACKS, A_ASSERT_SHARED, A_ADD_REQ, A_ADD_OWNER,
 A_REMOVE_REQ, A_CLEAR_SHARERS, A_SET_OWNER, A_CLEAR_OWNER, A_WRITE_MEMORY) = range(len(ACTIONS))
ACTION_MEANING = {
    "perform": "the access that missed is performed (the core's load, store or RMW, or the "
               "store buffer's drain), in the cache, now",
    "set_acks": "add the message's ack count to the cache's ack counter",
    "dec_acks": "take one from the ack counter",
    "assert_shared": "assert the bus's shared signal for this request",
    "add_requestor": "add the requestor to the sharers",
    "add_owner": "add the owner to the sharers",
    "remove_requestor": "remove the requestor from the sharers",
    "clear_sharers": "clear the sharers",
    "set_owner": "the requestor becomes the owner",
    "clear_owner": "no owner",
    "write_memory": "the message's data is written to memory",
}

#: Where a Send goes, by controller kind (codes are global).
TARGETS = ("home", "requestor", "requestor+home", "bus", "owner", "sharers")
T_HOME, T_REQ, T_REQ_HOME, T_BUS, T_OWNER, T_SHARERS = range(len(TARGETS))
CACHE_TARGETS = ("home", "requestor", "requestor+home", "bus")
HOME_TARGETS = ("requestor", "owner", "sharers")
TARGET_MEANING = {
    "home": "the line's home (directory slice or memory controller)",
    "requestor": "the node that started the transaction (the sender of a request, the "
                 "requestor a forwarded request names)",
    "requestor+home": "the requestor and the home (two messages)",
    "bus": "the split bus's ordered address bus (every cache and the home see it, in one "
           "order)",
    "owner": "the line's recorded owner",
    "sharers": "every recorded sharer except the requestor, in node order",
}

#: Actions per entry, at most (a compiled entry is this many (code, message, target) rows).
MAX_ACTIONS = 8
#: Compiled next-state codes besides a state number.
NEXT_STALL = -1
NEXT_IMPOSSIBLE = -2
#: Columns of the compiled cache ``meaning`` array.
MEANINGS = ("readable", "writable", "dirty", "owner", "transient")
M_READ, M_WRITE, M_DIRTY, M_OWNER, M_TRANSIENT = range(len(MEANINGS))


@dataclass(frozen=True)
class Message:
    """A message type: its name, the virtual network (message class) it travels on and
    whether it carries the line's data."""

    name: str
    vnet: str
    data: bool = False
    description: str = ""


@dataclass(frozen=True)
class Event:
    """An event of a controller: a processor event (``message`` None) or the receipt of
    ``message`` under condition ``when`` (one of :data:`CONDITIONS`)."""

    name: str
    message: str | None = None
    when: str = "always"
    description: str = ""


@dataclass(frozen=True)
class Send:
    """Send ``message`` to ``to`` (one of :data:`TARGETS`).  ``acks``: a home's message
    carries the number of sharers other than the requestor (the invalidation acks the
    requestor must collect)."""

    message: str
    to: str
    acks: bool = False


@dataclass(frozen=True)
class Do:
    """An entry: ``actions`` in order (names of :data:`ACTIONS` or :class:`Send`), then the
    line takes state ``next`` (None: it keeps its state)."""

    next: str | None = None
    actions: tuple = ()
    description: str = ""


class _Stall:
    """The entry :data:`STALL`: the event waits (a message at the head of its line's queue at
    this controller, a processor request in its port) until the line's state changes here."""

    def __repr__(self):
        return "STALL"


STALL = _Stall()


def do(next=None, *actions, description=""):
    """Short constructor: ``do("IS^D", send("GetS", "home"))``."""
    return Do(next, tuple(actions), description)


send = Send


class CompiledController(NamedTuple):
    """A controller as the engine reads it."""

    next: np.ndarray        # int16 [state, event]: next state, NEXT_STALL or NEXT_IMPOSSIBLE
    acts: np.ndarray        # int16 [state, event, MAX_ACTIONS, 3]: (action, message, target)
    event_of: np.ndarray    # int16 [message, condition]: the event, -1 when not received
    partition: np.ndarray   # int8 [message]: the condition group, -1 when not received
    meaning: np.ndarray     # int8 [state, MEANINGS] (a home's: only transient)
    states: tuple
    events: tuple


class CompiledMessageProtocol(NamedTuple):
    cache: CompiledController
    home: CompiledController
    msg_vnet: np.ndarray    # int8 [message]: its virtual network's number
    msg_data: np.ndarray    # int8 [message]: 1 when it carries the line's data
    ordered: np.ndarray     # int8 [vnet]: 1 when the vnet keeps point-to-point order
    messages: tuple
    vnets: tuple


class Controller:
    """One controller's table: ``kind`` "cache" or "home"; ``states`` a sequence of
    :class:`State` (or names of :data:`~.table.STANDARD_STATES`); ``events`` a sequence of
    :class:`Event` (a cache's must not list the processor events, they are always there);
    ``table`` maps (state or set, event or set) to :class:`Do`, :data:`STALL` or
    :class:`Impossible`; ``initial`` the state of a line nobody has asked for (a cache's is
    I, state 0)."""

    def __init__(self, kind: str, states, events, table: dict, initial: str = "I"):
        self.kind = kind
        self.declared = tuple(states)
        self.events = ((tuple(Event(n) for n in PROCESSOR_EVENTS) if kind == "cache" else ())
                       + tuple(events))
        self.initial = initial
        self.raw = table


def _names(x):
    return tuple(x) if isinstance(x, (tuple, list, set, frozenset)) else (x,)


def _expand_keys(table: dict) -> dict:
    return {(st, ev): entry for key, entry in table.items()
            for st in _names(key[0]) for ev in _names(key[1])}


class MessageProtocol:
    """A protocol for a message-passing interconnect (``interconnect`` "split-bus" or
    "directory"): its messages, virtual networks (``ordered`` names those that keep
    point-to-point order), and the cache and home controllers' tables.  Everything is
    checked here; a mistake is one :class:`~coherence.errors.CoherenceError` naming the
    pair or the name at fault."""

    def __init__(self, name: str, interconnect: str, messages, cache: Controller,
                 home: Controller, ordered=(), description: str = "", family: str | None = None):
        self.name = name
        self.family = family or name.split("-")[0]
        self.interconnect = interconnect
        self.description = description
        self.messages = tuple(messages)
        self.msg_index = {}
        for m in self.messages:
            if not isinstance(m, Message):
                self._err(f"messages must be Message objects, got {m!r}")
            if m.name in self.msg_index:
                self._err(f"message {m.name!r} is declared twice")
            self.msg_index[m.name] = len(self.msg_index)
        self.vnets = tuple(dict.fromkeys(m.vnet for m in self.messages))
        self.ordered = tuple(ordered)
        for v in self.ordered:
            if v not in self.vnets:
                self._err(f"ordered virtual network {v!r} is not used by any message "
                          f"(virtual networks: {', '.join(self.vnets)})")
        self.cache = self._build(cache, "cache")
        self.home = self._build(home, "home")
        self._check_messages()
        self._compiled = None

    # ------------------------------------------------------------------ building

    def _err(self, msg):
        raise CoherenceError(f"protocol {self.name!r}: {msg}")

    def _build(self, ctl: Controller, kind: str) -> Controller:
        if not isinstance(ctl, Controller) or ctl.kind != kind:
            self._err(f"the {kind} controller must be Controller({kind!r}, ...)")
        from .table import STANDARD_STATES
        states = []
        for s in ctl.declared:
            if isinstance(s, str):
                if s not in STANDARD_STATES:
                    self._err(f"{kind} state {s!r} has no meaning: pass State({s!r}, "
                              f"permission=..., ...)")
                s = STANDARD_STATES[s]
            if not isinstance(s, State):
                self._err(f"{kind} states must be State objects or standard names, got {s!r}")
            states.append(s)
        names = [s.name for s in states]
        if len(set(names)) != len(names):
            self._err(f"a {kind} state is named twice in {names}")
        if ctl.initial not in names:
            self._err(f"the {kind}'s initial state {ctl.initial!r} is not one of its states")
        if kind == "cache" and ctl.initial != "I":
            self._err("a cache line starts in I; the cache's states must include I")
        # the initial state first: a fresh frame or home entry is all zeros
        states.sort(key=lambda s: s.name != ctl.initial)
        ctl.states = tuple(states)
        ctl.state_names = tuple(s.name for s in states)
        ctl.state_index = {n: i for i, n in enumerate(ctl.state_names)}
        ev_names = [e.name for e in ctl.events]
        if len(set(ev_names)) != len(ev_names):
            self._err(f"a {kind} event is named twice in {ev_names}")
        ctl.event_index = {n: i for i, n in enumerate(ev_names)}
        for e in ctl.events:
            if e.message is None:
                if kind != "cache" or e.name not in PROCESSOR_EVENTS:
                    self._err(f"{kind} event {e.name!r} names no message")
                continue
            if e.message not in self.msg_index:
                self._err(f"{kind} event {e.name!r}: unknown message {e.message!r} (messages: "
                          f"{', '.join(self.msg_index)})")
            if e.when not in CONDITIONS:
                self._err(f"{kind} event {e.name!r}: unknown condition {e.when!r}, expected "
                          f"one of {', '.join(CONDITIONS)}")
        # per message: its events' conditions must be exactly one allowed group
        ctl.partition = {}
        by_msg = {}
        for e in ctl.events:
            if e.message is not None:
                by_msg.setdefault(e.message, []).append(e)
        for msg, evs in by_msg.items():
            conds = sorted(e.when for e in evs)
            for i, group in enumerate(PARTITIONS):
                if conds == sorted(group):
                    ctl.partition[msg] = i
                    break
            else:
                self._err(f"{kind} events of message {msg!r} have conditions {conds}; expected "
                          f"exactly one of the groups "
                          f"{'; '.join(', '.join(g) for g in PARTITIONS)}")
        # the table, sets expanded
        table = {}
        for key, entry in dict(ctl.raw).items():
            if not isinstance(key, tuple) or len(key) != 2:
                self._err(f"{kind} table key {key!r} is not (state, event)")
            for st in _names(key[0]):
                for ev in _names(key[1]):
                    if st not in ctl.state_index:
                        self._err(f"{kind} table entry ({st}, {ev}): unknown state {st!r} "
                                  f"(states: {', '.join(ctl.state_names)})")
                    if ev not in ctl.event_index:
                        self._err(f"{kind} table entry ({st}, {ev}): unknown event {ev!r} "
                                  f"(events: {', '.join(ctl.event_index)})")
                    if (st, ev) in table:
                        self._err(f"two {kind} entries for ({st}, {ev}): {table[(st, ev)]!r} "
                                  f"and {entry!r}, expected one")
                    table[(st, ev)] = entry
        for st in ctl.state_names:
            for ev in ctl.event_index:
                entry = table.get((st, ev))
                if entry is None:
                    self._err(f"no {kind} entry for ({st}, {ev}); every pair must be written "
                              f"down (STALL, Impossible(...) or do(...))")
                self._check_entry(ctl, kind, st, ev, entry)
        ctl.table = table
        return ctl

    def _check_entry(self, ctl, kind, st, ev, entry):
        where = f"{kind} entry ({st}, {ev})"
        if entry is STALL or isinstance(entry, Impossible):
            return
        if not isinstance(entry, Do):
            self._err(f"{where} must be do(...), STALL or Impossible(...), got {entry!r}")
        if entry.next is not None and entry.next not in ctl.state_index:
            self._err(f"{where} goes to {entry.next!r}, not a {kind} state")
        if len(entry.actions) > MAX_ACTIONS:
            self._err(f"{where} has {len(entry.actions)} actions, at most {MAX_ACTIONS}")
        allowed = CACHE_ACTIONS if kind == "cache" else HOME_ACTIONS
        targets = CACHE_TARGETS if kind == "cache" else HOME_TARGETS
        event = ctl.events[ctl.event_index[ev]]
        for a in entry.actions:
            if isinstance(a, Send):
                if a.message not in self.msg_index:
                    self._err(f"{where} sends unknown message {a.message!r}")
                if a.to not in targets:
                    self._err(f"{where} sends {a.message} to {a.to!r}; a {kind} sends to one "
                              f"of {', '.join(targets)}")
                if a.acks and kind != "home":
                    self._err(f"{where}: only a home's message carries an ack count")
                if a.to == "bus" and self.interconnect != "split-bus":
                    self._err(f"{where} sends to the bus, which a {self.interconnect} does "
                              f"not have")
                if (a.to in ("requestor", "requestor+home") and kind == "cache"
                        and event.message is None):
                    self._err(f"{where}: a processor event has no requestor to send to")
                if a.to == "sharers" and self.messages[self.msg_index[a.message]].data:
                    self._err(f"{where}: data goes to the requestor, not to the sharers")
            elif a not in allowed:
                self._err(f"{where}: unknown action {a!r}; a {kind}'s actions are Send(...) "
                          f"and {', '.join(allowed)}")
        performs = any(isinstance(a, str) and a == "perform" for a in entry.actions)
        sends = any(isinstance(a, Send) for a in entry.actions)
        if kind == "cache" and ev in ("Load", "Store") and performs == sends:
            self._err(f"{where} must either perform the access (a hit) or send a request "
                      f"(a miss), not {'both' if performs else 'neither'}")
        if kind == "cache" and ev == "Replacement" and any(
                isinstance(a, str) and a == "perform" for a in entry.actions):
            self._err(f"{where}: a replacement performs no access")

    def _check_messages(self):
        """Every message someone sends is received by the controller it goes to."""
        sent = {"cache": set(), "home": set()}     # receiving controller kind -> messages
        for kind, ctl in (("cache", self.cache), ("home", self.home)):
            for (st, ev), entry in ctl.table.items():
                if not isinstance(entry, Do):
                    continue
                for a in entry.actions:
                    if not isinstance(a, Send):
                        continue
                    if a.to in ("home", "requestor+home", "bus"):
                        sent["home"].add(a.message)
                    if a.to in ("requestor", "requestor+home", "owner", "sharers", "bus"):
                        sent["cache"].add(a.message)
        for kind, ctl in (("cache", self.cache), ("home", self.home)):
            for msg in sorted(sent[kind]):
                if msg not in ctl.partition:
                    self._err(f"message {msg!r} is sent to the {kind} controller, which has no "
                              f"event for it")
        for m in self.messages:
            if m.name not in sent["cache"] and m.name not in sent["home"]:
                self._err(f"message {m.name!r} is declared but no entry sends it")

    def with_entries(self, name: str, cache: dict | None = None, home: dict | None = None,
                     description: str | None = None) -> "MessageProtocol":
        """A copy named ``name`` with some entries replaced (keys as in a table: a state or
        set of states, an event or set of events), checked like any table: the way to
        write a variant of a shipped protocol, or to break one on purpose."""
        def ctl(c, changes):
            table = dict(c.table)
            for key, entry in _expand_keys(changes or {}).items():
                table[key] = entry
            return Controller(c.kind, c.states, [e for e in c.events if e.message], table,
                              initial=c.initial)
        return MessageProtocol(name, self.interconnect, self.messages, ctl(self.cache, cache),
                               ctl(self.home, home), ordered=self.ordered,
                               description=self.description if description is None
                               else description, family=self.family)

    # ------------------------------------------------------------------ compiled form

    def _compile_controller(self, ctl) -> CompiledController:
        ns, ne, nm = len(ctl.states), len(ctl.events), len(self.messages)
        nxt = np.zeros((ns, ne), dtype=np.int16)
        acts = np.zeros((ns, ne, MAX_ACTIONS, 3), dtype=np.int16)
        for (st, ev), entry in ctl.table.items():
            si, ei = ctl.state_index[st], ctl.event_index[ev]
            if entry is STALL:
                nxt[si, ei] = NEXT_STALL
                continue
            if isinstance(entry, Impossible):
                nxt[si, ei] = NEXT_IMPOSSIBLE
                continue
            nxt[si, ei] = si if entry.next is None else ctl.state_index[entry.next]
            for k, a in enumerate(entry.actions):
                if isinstance(a, Send):
                    acts[si, ei, k] = (A_SEND, self.msg_index[a.message],
                                       TARGETS.index(a.to) | (8 if a.acks else 0))
                else:
                    acts[si, ei, k] = (ACTIONS.index(a), 0, 0)
        event_of = np.full((nm, len(CONDITIONS)), -1, dtype=np.int16)
        partition = np.full(nm, -1, dtype=np.int8)
        for e in ctl.events:
            if e.message is not None:
                mi = self.msg_index[e.message]
                event_of[mi, CONDITIONS.index(e.when)] = ctl.event_index[e.name]
                partition[mi] = ctl.partition[e.message]
        meaning = np.zeros((ns, len(MEANINGS)), dtype=np.int8)
        for i, s in enumerate(ctl.states):
            if ctl.kind == "cache":
                meaning[i] = (s.readable, s.writable, s.dirty, s.owner,
                              getattr(s, "transient", False))
            else:   # a home's line has no permission; only whether the state is transient
                meaning[i, M_TRANSIENT] = getattr(s, "transient", False)
        for a in (nxt, acts, event_of, partition, meaning):
            a.setflags(write=False)
        return CompiledController(nxt, acts, event_of, partition, meaning, ctl.state_names,
                                  tuple(e.name for e in ctl.events))

    def compiled(self) -> CompiledMessageProtocol:
        """The protocol as arrays for the engine and the reference model (built once)."""
        if self._compiled is None:
            vnet = np.array([self.vnets.index(m.vnet) for m in self.messages], dtype=np.int8)
            data = np.array([int(m.data) for m in self.messages], dtype=np.int8)
            ordered = np.array([int(v in self.ordered) for v in self.vnets], dtype=np.int8)
            for a in (vnet, data, ordered):
                a.setflags(write=False)
            self._compiled = CompiledMessageProtocol(
                self._compile_controller(self.cache), self._compile_controller(self.home),
                vnet, data, ordered, tuple(m.name for m in self.messages), self.vnets)
        return self._compiled

    # ------------------------------------------------------------------ for reports

    @property
    def state_names(self) -> tuple:
        """The cache controller's states by number (I first)."""
        return self.cache.state_names

    @property
    def meanings(self) -> dict:
        return {s.name: s for s in self.cache.states}

    @property
    def bus_actions(self) -> tuple:
        """No atomic-bus transactions: this protocol's traffic is messages."""
        return ()

    def reason(self, kind: str, state: int, event: int) -> str:
        """Why a pair (by number) is an Impossible entry."""
        ctl = self.cache if kind == "cache" else self.home
        entry = ctl.table[(ctl.state_names[state], ctl.events[event].name)]
        return entry.reason if isinstance(entry, Impossible) else "not an error entry"

    def stalls(self) -> dict:
        """The (state, event) pairs that are STALL, by controller kind."""
        return {kind: [(s, e) for (s, e), entry in ctl.table.items() if entry is STALL]
                for kind, ctl in (("cache", self.cache), ("home", self.home))}

    def stalls_markdown(self) -> str:
        """The STALL pairs as a Markdown list: per controller, per state, the events it
        stalls (docs/interconnects.md lists the shipped tables' with this)."""
        lines = [f"* **{self.name}**"]
        for kind, pairs in self.stalls().items():
            by_state = {}
            for st, ev in pairs:
                by_state.setdefault(st, []).append(ev)
            cells = "; ".join(f"{st}: {', '.join(evs)}" for st, evs in by_state.items())
            lines.append(f"  * {kind}: {cells or 'none'}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Both tables as Markdown (rows: states with their meaning; columns: events), the
        messages, and what the conditions and actions mean."""
        lines = [f"### {self.name.upper()} ({self.interconnect})", ""]
        if self.description:
            lines += [self.description, ""]
        lines += ["| message | virtual network | data |", "|---|---|---|"]
        for m in self.messages:
            order = " (ordered)" if m.vnet in self.ordered else ""
            lines.append(f"| {m.name} | {m.vnet}{order} | {'yes' if m.data else ''} |")
        for title, ctl in (("Cache controller", self.cache), ("Home controller", self.home)):
            lines += ["", f"#### {title}", ""]
            head = "| state | meaning | " + " | ".join(e.name for e in ctl.events) + " |"
            lines += [head, "|---" * (len(ctl.events) + 2) + "|"]
            for s in ctl.states:
                cells = [_cell(ctl.table[(s.name, e.name)]) for e in ctl.events]
                lines.append(f"| {s.name} | {_meaning(s, ctl.kind)} | " + " | ".join(cells)
                             + " |")
            conds = [e for e in ctl.events if e.message is not None and e.when != "always"]
            if conds:
                lines += [""] + [f"* {e.name}: {e.message}, {CONDITION_MEANING[e.when]}"
                                 for e in conds]
            notes = [(s, e, ent.description) for (s, e), ent in ctl.table.items()
                     if isinstance(ent, Do) and ent.description]
            if notes:
                lines += ["", "Notes:", ""] + [f"* ({s}, {e}): {d}" for s, e, d in notes]
        lines += ["", "Cells read `actions / next state` (`-`: no action; no state: the line "
                  "keeps its state); `stall`: the event waits until the line's state changes "
                  "at this controller; `error`: a pair that cannot happen in a correct "
                  "system."]
        return "\n".join(lines)

    def __repr__(self):
        return (f"MessageProtocol({self.name!r}, {self.interconnect}, "
                f"cache states={'/'.join(self.cache.state_names)})")


def _meaning(s: State, kind: str) -> str:
    if kind == "home":
        return s.description or "-"
    parts = [s.permission] + [k for k in ("dirty", "owner") if getattr(s, k)]
    if getattr(s, "transient", False):
        parts.append("transient")
    return ", ".join(parts)


def _action_text(a) -> str:
    if isinstance(a, Send):
        to = {"home": "Home", "requestor": "Req", "requestor+home": "Req and Home",
              "bus": "bus", "owner": "Owner", "sharers": "Sharers"}[a.to]
        return f"send {a.message}{' (acks)' if a.acks else ''} to {to}"
    return a.replace("_", " ")


def _cell(entry) -> str:
    if entry is STALL:
        return "stall"
    if isinstance(entry, Impossible):
        return f"error ({entry.reason})"
    acts = ", ".join(_action_text(a) for a in entry.actions) or "-"
    return acts if entry.next is None else f"{acts} / {entry.next}"
