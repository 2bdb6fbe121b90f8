"""Protocols as data: a transition table and the compiler that turns it into engine arrays.

A protocol maps every (state, event) pair to a :class:`Transition` or an :class:`Impossible`
entry.  Events are the processor's ``Load``/``Store``/``Evict`` and the snooped
``BusRd``/``BusRdX``/``BusUpgr``.  Atomic read-modify-writes use the ``Store`` row.  States are
drawn from the universal set I, S, E, O, M so that any table runs on the one engine.

Meaning of a transition's fields:

* processor events: ``next`` is the state after the access; ``shared`` (Load misses only) is the
  state taken instead when another cache held the line at the snoop; ``bus`` is the transaction
  issued (``None`` = a hit, no bus); ``writeback`` (Evict only) writes the line to memory.
* snooped events: ``next`` is the state after the snoop, ``supply`` puts the line on the bus
  (a cache-to-cache transfer), ``writeback`` also updates memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CoherenceError

STATES = ("I", "S", "E", "O", "M")
ST_I, ST_S, ST_E, ST_O, ST_M = range(5)
EVENTS = ("Load", "Store", "Evict", "BusRd", "BusRdX", "BusUpgr")
EV_LOAD, EV_STORE, EV_EVICT, EV_BUSRD, EV_BUSRDX, EV_BUSUPGR = range(6)
PROCESSOR_EVENTS = EVENTS[:3]
SNOOP_EVENTS = EVENTS[3:]
BUS_ACTIONS = (None, "BusRd", "BusRdX", "BusUpgr")
BUS_NONE, BUS_RD, BUS_RDX, BUS_UPGR = range(4)

# Columns of the compiled table, shape (5 states, 6 events, NCOLS).
C_NEXT, C_SHARED, C_BUS, C_SUPPLY, C_WB, C_ERR = range(6)
NCOLS = 6


@dataclass(frozen=True)
class Transition:
    """A legal (state, event) entry; see the module docstring for the fields."""

    next: str
    bus: str | None = None
    supply: bool = False
    writeback: bool = False
    shared: str | None = None


@dataclass(frozen=True)
class Impossible:
    """An explicit error entry: the pair cannot happen in a correct system."""

    reason: str = "impossible"


def T(next: str, bus: str | None = None, *, supply=False, writeback=False, shared=None):
    """Short constructor for table literals."""
    return Transition(next, bus, supply, writeback, shared)


class Protocol:
    """A coherence protocol defined by its transition table.

    ``table`` maps ``(state, event)`` to a :class:`Transition` or :class:`Impossible`; every
    pair over ``states`` x :data:`EVENTS` must be present (no silent defaults).  ``states``
    must contain ``I``.  Build one for your own protocol and pass it as
    ``SystemConfig(protocol=...)``.
    """

    def __init__(self, name: str, states, table: dict, description: str = ""):
        self.name = name
        self.states = tuple(states)
        self.table = dict(table)
        self.description = description
        self._validate()
        self._compiled = None

    def _err(self, msg):
        raise CoherenceError(f"protocol {self.name!r}: {msg}")

    def _validate(self):
        for s in self.states:
            if s not in STATES:
                self._err(f"unknown state {s!r}, expected one of {', '.join(STATES)}")
        if "I" not in self.states:
            self._err("the states must include I (invalid)")
        for key in self.table:
            if (not isinstance(key, tuple) or len(key) != 2 or key[0] not in self.states
                    or key[1] not in EVENTS):
                self._err(f"table key {key!r} is not (state, event) with state in "
                          f"{self.states} and event in {EVENTS}")
        for s in self.states:
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
                    if st is not None and st not in self.states:
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
                if entry.shared is not None and e != "Load":
                    self._err(f"entry ({s}, {e}): 'shared' applies to Load only")
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

    def compiled(self) -> np.ndarray:
        """The table as an int8 array [state, event, column] for the engine."""
        if self._compiled is None:
            arr = np.zeros((len(STATES), len(EVENTS), NCOLS), dtype=np.int8)
            arr[:, :, C_ERR] = 2  # 2 = state not part of this protocol
            for (s, e), entry in self.table.items():
                si, ei = STATES.index(s), EVENTS.index(e)
                row = arr[si, ei]
                if isinstance(entry, Impossible):
                    row[C_ERR] = 1
                    row[C_NEXT] = si
                    row[C_SHARED] = si
                    continue
                row[C_ERR] = 0
                row[C_NEXT] = STATES.index(entry.next)
                row[C_SHARED] = STATES.index(entry.shared or entry.next)
                row[C_BUS] = BUS_ACTIONS.index(entry.bus)
                row[C_SUPPLY] = int(entry.supply)
                row[C_WB] = int(entry.writeback)
            arr.setflags(write=False)
            self._compiled = arr
        return self._compiled

    def reason(self, state: int, event: int) -> str:
        """Why the pair is an error entry (for reports)."""
        s, e = STATES[state], EVENTS[event]
        entry = self.table.get((s, e))
        if isinstance(entry, Impossible):
            return entry.reason
        return f"state {s} is not part of protocol {self.name}"

    def to_markdown(self) -> str:
        """The table as Markdown: one row per state, one column per event."""
        head = "| state | " + " | ".join(EVENTS) + " |"
        sep = "|---" * (len(EVENTS) + 1) + "|"
        lines = [f"### {self.name.upper()}", ""]
        if self.description:
            lines += [self.description, ""]
        lines += [head, sep]
        for s in self.states:
            cells = [_cell(self.table[(s, e)]) for e in EVENTS]
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        lines += ["", "Cells read `next / bus action`; `shared→X`: state taken when another "
                  "cache holds the line; `supply`: the line goes cache-to-cache; `wb`: memory "
                  "is updated; `error` marks a pair that cannot happen."]
        return "\n".join(lines)

    def __repr__(self):
        return f"Protocol({self.name!r}, states={''.join(self.states)})"


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
