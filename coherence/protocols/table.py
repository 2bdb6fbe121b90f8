"""Protocols as data: a transition table and the compiler that turns it into engine arrays.

A protocol maps every (state, event) pair to a :class:`Transition` or an :class:`Impossible`
entry.  Events are the processor's ``Load``/``Store``/``Evict`` and the snooped
``BusRd``/``BusRdX``/``BusUpgr``/``BusUpd``.  Atomic read-modify-writes use the ``Store`` row.
As in SLICC, one entry may stand for several pairs: a key's state and event may each be a
name or a tuple (or set) of names, e.g. ``(("S", "E"), "BusRdX")``; every pair must still be
covered exactly once (two entries for one pair are an error, like a missing one).  States are
named by the protocol; each says what it means (:class:`State`: permission, dirty, owner),
either by a :class:`State` object or, for the usual names I, S, E, O and M, by their usual
meaning (:data:`STANDARD_STATES`).  A state with another name and no State object gets its
meaning from the table: read permission if a Load hits in it, read-write if a Store does,
dirty if its Evict writes back, owner if it is dirty or supplies a snooped BusRd.

Meaning of a transition's fields:

* processor events: ``next`` is the state after the access; ``shared`` (Load and Store
  entries that issue a transaction) is the state taken instead when another cache held the
  line at the snoop; ``bus`` is the transaction issued (``None`` = a hit, no bus);
  ``writeback`` (Evict only) writes the line to memory.
* snooped events: ``next`` is the state after the snoop, ``supply`` puts the line on the bus
  (a cache-to-cache transfer; only when the transaction brings the requester the line: a
  BusRd, a BusRdX, or a BusUpd from a cache that lacks it), ``writeback`` also updates memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import CoherenceError

EVENTS = ("Load", "Store", "Evict", "BusRd", "BusRdX", "BusUpgr", "BusUpd")
EV_LOAD, EV_STORE, EV_EVICT, EV_BUSRD, EV_BUSRDX, EV_BUSUPGR, EV_BUSUPD = range(len(EVENTS))
PROCESSOR_EVENTS = EVENTS[:3]
SNOOP_EVENTS = EVENTS[3:]
#: The atomic bus's transactions.  BusUpd (update protocols such as Dragon) broadcasts the
#: written word: the other copies take it and stay valid; a requester without the line reads
#: it in the same transaction.
BUS_ACTIONS = (None, "BusRd", "BusRdX", "BusUpgr", "BusUpd")
BUS_NONE, BUS_RD, BUS_RDX, BUS_UPGR, BUS_UPD = range(len(BUS_ACTIONS))
#: The event a bus action is snooped as, by action (BUS_NONE has none).
SNOOP_EVENT_OF_ACTION = np.array([-1, EV_BUSRD, EV_BUSRDX, EV_BUSUPGR, EV_BUSUPD],
                                 dtype=np.int64)
SNOOP_EVENT_OF_ACTION.setflags(write=False)

# Columns of the compiled table, shape (states, events, columns).
COLUMNS = ("next", "shared", "bus", "supply", "writeback", "error")
C_NEXT, C_SHARED, C_BUS, C_SUPPLY, C_WB, C_ERR = range(len(COLUMNS))
NCOLS = len(COLUMNS)

# What a state means: the columns of the compiled ``meaning`` array.  The engine, the
# reference model, the invariant checks, the hypothesis kit and the plots read these, never
# a state's name.
MEANINGS = ("readable", "writable", "dirty", "owner")
M_READ, M_WRITE, M_DIRTY, M_OWNER = range(len(MEANINGS))
PERMISSIONS = ("none", "read", "read-write")

#: The engine keeps a frame's state in an int8.
MAX_STATES = 127
#: The number of the invalid state I in every compiled protocol (a fresh frame is all zeros).
INVALID = 0


@dataclass(frozen=True)
class State:
    """A protocol state and what it means.

    ``permission``: what a processor may do with the copy without asking the interconnect
    (``"none"``, ``"read"`` or ``"read-write"``); ``dirty``: the copy is newer than memory
    (someone must write it back); ``owner``: this cache answers for the line (at most one
    cache may hold an owner state).  The single-writer/multiple-readers check counts
    ``read-write`` copies as writers and every readable copy as a reader.
    """

    name: str
    permission: str = "none"
    dirty: bool = False
    owner: bool = False
    description: str = ""
    #: A transient state (a message protocol's IS^D, IM^AD, MI^A, ...): the line waits for
    #: messages; stable states are the others.
    transient: bool = False

    @property
    def readable(self) -> bool:
        return self.permission != "none"

    @property
    def writable(self) -> bool:
        return self.permission == "read-write"


#: The usual meanings of the usual names; a protocol that names these states gets these
#: meanings unless it passes :class:`State` objects of its own.
STANDARD_STATES = {s.name: s for s in (
    State("I", "none", description="Invalid: no copy"),
    State("S", "read", description="Shared: a clean copy, other caches may hold copies too"),
    State("E", "read-write", description="Exclusive: the only copy, clean"),
    State("O", "read", dirty=True, owner=True,
          description="Owned: dirty, other caches may hold Shared copies; this one answers"),
    State("M", "read-write", dirty=True, owner=True,
          description="Modified: the only copy, dirty"),
    State("F", "read", owner=True,
          description="Forward: a clean shared copy; this cache answers reads (MESIF)"),
    State("Sc", "read",
          description="Shared-clean: a copy another cache (Sm) may own (Dragon)"),
    State("Sm", "read", dirty=True, owner=True,
          description="Shared-modified: dirty, other copies may exist; this one writes it "
                      "back (Dragon)"),
)}


class Compiled(NamedTuple):
    """A protocol as the engine reads it (arrays indexed by the protocol's own state
    numbers, the invalid state I being 0)."""

    table: np.ndarray       # int8 [state, event, column of COLUMNS]
    meaning: np.ndarray     # int8 [state, column of MEANINGS]
    hit: np.ndarray         # int8 [state, Load/Store]: the next state of a hit, -1: not a hit
    states: tuple           # the state names, by number


@dataclass(frozen=True)
class Transition:
    """A legal (state, event) entry; see the module docstring for the fields.
    ``description`` says what the entry does and why (shown by ``protocol show``)."""

    next: str
    bus: str | None = None
    supply: bool = False
    writeback: bool = False
    shared: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Impossible:
    """An explicit error entry: the pair cannot happen in a correct system."""

    reason: str = "impossible"


def T(next: str, bus: str | None = None, *, supply=False, writeback=False, shared=None,
      description=""):
    """Short constructor for table literals."""
    return Transition(next, bus, supply, writeback, shared, description)


class Protocol:
    """A coherence protocol defined by its transition table.

    ``states`` is a string of one-letter names (``"ISEM"``), or a sequence of names and/or
    :class:`State` objects; it must contain ``I``.  ``table`` maps ``(state, event)`` to a
    :class:`Transition` or :class:`Impossible`; every pair over ``states`` x :data:`EVENTS`
    must be present (no silent defaults).  Build one for your own protocol and pass it as
    ``SystemConfig(protocol=...)``.
    """

    def __init__(self, name: str, states, table: dict, description: str = ""):
        self.name = name
        declared = [s if isinstance(s, State) else str(s) for s in states]
        #: The state names as declared (the order of the Markdown table).
        self.states = tuple(s.name if isinstance(s, State) else s for s in declared)
        self.description = description
        self.table = self._expand(table)
        self._validate()
        #: The state names by number: I first (number INVALID), then the rest as declared.
        self.state_names = ("I",) + tuple(s for s in self.states if s != "I")
        assert self.state_names[INVALID] == "I"
        self.index = {n: i for i, n in enumerate(self.state_names)}
        given = {s.name: s for s in declared if isinstance(s, State)}
        #: What each state means, by name (see :class:`State`).
        self.meanings = {n: given.get(n) or STANDARD_STATES.get(n) or self._derived(n)
                         for n in self.state_names}
        self._compiled = None

    def _err(self, msg):
        raise CoherenceError(f"protocol {self.name!r}: {msg}")

    def _expand(self, table: dict) -> dict:
        """The table with every key a single (state, event) pair (sets of states or events
        expanded); two entries for one pair are an error."""
        out = {}
        for key, entry in dict(table).items():
            if not isinstance(key, tuple) or len(key) != 2:
                self._err(f"table key {key!r} is not (state, event)")
            states, events = (k if isinstance(k, (tuple, list, set, frozenset)) else (k,)
                              for k in key)
            for st in states:
                for ev in events:
                    if (st, ev) in out:
                        self._err(f"two entries for ({st}, {ev}): {out[(st, ev)]!r} and "
                                  f"{entry!r}, expected one")
                    out[(st, ev)] = entry
        return out

    @property
    def bus_actions(self) -> tuple:
        """The transactions this protocol issues, in the order of :data:`BUS_ACTIONS`."""
        used = {e.bus for e in self.table.values() if isinstance(e, Transition) and e.bus}
        return tuple(a for a in BUS_ACTIONS[1:] if a in used)

    def _derived(self, name: str) -> State:
        """The meaning of a state the protocol names but does not describe: from its table."""
        def entry(e):
            ent = self.table[(name, e)]
            return ent if isinstance(ent, Transition) else None

        load, store, evict, busrd = (entry(e) for e in ("Load", "Store", "Evict", "BusRd"))
        perm = ("read-write" if store is not None and store.bus is None else
                "read" if load is not None and load.bus is None else "none")
        dirty = evict is not None and evict.writeback
        owner = dirty or (busrd is not None and busrd.supply)
        return State(name, perm, dirty, owner, "meaning derived from the table")

    def _validate(self):
        names = self.states
        if len(set(names)) != len(names):
            self._err(f"a state is named twice in {names}")
        if len(names) > MAX_STATES:
            self._err(f"{len(names)} states, the engine holds at most {MAX_STATES}")
        for s in names:
            if not s or not isinstance(s, str):
                self._err(f"state names must be non-empty strings, got {s!r}")
        if "I" not in names:
            self._err("the states must include I (invalid)")
        for key in self.table:
            if (not isinstance(key, tuple) or len(key) != 2 or key[0] not in names
                    or key[1] not in EVENTS):
                self._err(f"table key {key!r} is not (state, event) with state in "
                          f"{names} and event in {EVENTS}")
        for s in names:
            for e in EVENTS:
                entry = self.table.get((s, e))
                if entry is None:
                    self._err(f"no entry for ({s}, {e}); every pair must be written down "
                              f"(use Impossible(...) for pairs that cannot happen)")
                if isinstance(entry, Impossible):
                    continue
                if not isinstance(entry, Transition):
                    self._err(f"entry ({s}, {e}) must be a Transition or Impossible, "
                              f"got {entry!r}")
                for st in (entry.next, entry.shared):
                    if st is not None and st not in names:
                        self._err(f"entry ({s}, {e}) goes to {st!r}, not a state of this "
                                  f"protocol")
                if entry.bus not in BUS_ACTIONS:
                    self._err(f"entry ({s}, {e}) has bus action {entry.bus!r}, expected one "
                              f"of {BUS_ACTIONS[1:]} or None")
                if e in SNOOP_EVENTS and entry.bus is not None:
                    self._err(f"entry ({s}, {e}): a snooped event cannot issue a bus action")
                if e in PROCESSOR_EVENTS and entry.supply:
                    self._err(f"entry ({s}, {e}): only snooped events supply data")
                if e == "Evict" and (entry.next != "I" or entry.bus is not None):
                    self._err(f"entry ({s}, Evict) must go to I without a bus request "
                              f"(use writeback=True for dirty lines)")
                if e in ("Load", "Store") and entry.writeback:
                    self._err(f"entry ({s}, {e}): write-backs happen on Evict or snoops")
                if entry.shared is not None and (e not in ("Load", "Store") or entry.bus is None):
                    self._err(f"entry ({s}, {e}): 'shared' applies to Load and Store entries "
                              f"that issue a transaction")
        for e in SNOOP_EVENTS:
            ent = self.table[("I", e)]
            if not isinstance(ent, Transition) or ent.next != "I" or ent.supply or ent.writeback:
                self._err(f"entry (I, {e}) must stay I and do nothing (an invalid line "
                          f"does not answer snoops)")
        for e in ("Load", "Store"):
            ent = self.table[("I", e)]
            if isinstance(ent, Transition) and ent.bus is None:
                self._err(f"entry (I, {e}) must issue a bus request: an invalid line has no "
                          f"data to hit on")
        ent = self.table[("I", "Evict")]
        if not isinstance(ent, Impossible):
            self._err("entry (I, Evict) must be Impossible: only valid lines are evicted")

    def compiled(self) -> Compiled:
        """The protocol as arrays for the engine and the reference model (built once)."""
        if self._compiled is None:
            n = len(self.state_names)
            table = np.zeros((n, len(EVENTS), NCOLS), dtype=np.int8)
            for (s, e), entry in self.table.items():
                si, ei = self.index[s], EVENTS.index(e)
                row = table[si, ei]
                if isinstance(entry, Impossible):
                    row[C_ERR] = 1
                    row[C_NEXT] = si
                    row[C_SHARED] = si
                    continue
                row[C_NEXT] = self.index[entry.next]
                row[C_SHARED] = self.index[entry.shared or entry.next]
                row[C_BUS] = BUS_ACTIONS.index(entry.bus)
                row[C_SUPPLY] = int(entry.supply)
                row[C_WB] = int(entry.writeback)
            meaning = np.zeros((n, len(MEANINGS)), dtype=np.int8)
            for i, name in enumerate(self.state_names):
                m = self.meanings[name]
                meaning[i] = (m.readable, m.writable, m.dirty, m.owner)
            hit = np.full((n, 2), -1, dtype=np.int8)
            for i in range(n):
                for ev in (EV_LOAD, EV_STORE):
                    if table[i, ev, C_ERR] == 0 and table[i, ev, C_BUS] == BUS_NONE:
                        hit[i, ev] = table[i, ev, C_NEXT]
            for arr in (table, meaning, hit):
                arr.setflags(write=False)
            self._compiled = Compiled(table, meaning, hit, self.state_names)
        return self._compiled

    def reason(self, state: int, event: int) -> str:
        """Why the pair (by number) is an error entry (for reports)."""
        s, e = self.state_names[state], EVENTS[event]
        entry = self.table.get((s, e))
        if isinstance(entry, Impossible):
            return entry.reason
        return f"({s}, {e}) is not an error entry of protocol {self.name}"

    def to_markdown(self) -> str:
        """The table as Markdown: one row per state, one column per event, and the meaning of
        each state."""
        head = "| state | meaning | " + " | ".join(EVENTS) + " |"
        sep = "|---" * (len(EVENTS) + 2) + "|"
        lines = [f"### {self.name.upper()}", ""]
        if self.description:
            lines += [self.description, ""]
        lines += [head, sep]
        for s in self.states:
            cells = [_cell(self.table[(s, e)]) for e in EVENTS]
            lines.append(f"| {s} | {_meaning_cell(self.meanings[s])} | " + " | ".join(cells)
                         + " |")
        lines += ["", "Cells read `next / bus action`; `shared→X`: state taken when another "
                  "cache holds the line; `supply`: the line goes cache-to-cache; `wb`: memory "
                  "is updated; `error` marks a pair that cannot happen.  Meaning: the "
                  "permission a copy in the state gives, `dirty` (newer than memory), "
                  "`owner` (this cache answers for the line)."]
        notes = [(s, e, self.table[(s, e)].description) for s in self.states for e in EVENTS
                 if isinstance(self.table[(s, e)], Transition)
                 and self.table[(s, e)].description]
        if notes:
            lines += ["", "Notes:", ""] + [f"* ({s}, {e}): {d}" for s, e, d in notes]
        return "\n".join(lines)

    def __repr__(self):
        return f"Protocol({self.name!r}, states={''.join(self.states)})"


def _meaning_cell(m: State) -> str:
    parts = [m.permission] + [k for k in ("dirty", "owner") if getattr(m, k)]
    return ", ".join(parts)


def _cell(entry) -> str:
    if isinstance(entry, Impossible):
        return f"error ({entry.reason})"
    parts = [entry.next]
    if entry.shared and entry.shared != entry.next:
        parts[0] = f"{entry.next} (shared→{entry.shared})"
    if entry.bus:
        parts.append(entry.bus)
    if entry.supply:
        parts.append("supply")
    if entry.writeback:
        parts.append("wb")
    return " / ".join(parts)
