"""The hypothesis protocol machine for message protocols (split bus, directory).

On the atomic bus a transaction happens all at once, so the kit there only chooses which
core does what (:class:`coherence.testing.ProtocolMachine`).  A non-atomic protocol's bugs
are races between messages in flight: a forwarded request overtaking data, an eviction's
PutM crossing another core's GetM at the home.  So this machine also chooses *when each
message arrives*: its rules are the processor's accesses and evictions, the delivery of any
message the network may deliver next (on a point-to-point ordered virtual network only the
oldest of each (source, destination) pair; on the others any), and, on the split bus, which
cache's request the address bus orders next.  After every step the reference model's
check=True invariants hold (single writer or many readers, one owner, every readable copy
and every load holding the latest value); at the end the machine delivers everything left
and requires that every access completed, every line is in a stable state, nothing stalls
and memory holds the latest value.  A failure raises
:class:`~coherence.testing.ProtocolCheckFailure` with the (shrunk) steps.

The controllers are :class:`coherence.netref.NetReferenceMachine`'s, unchanged: only its
network is replaced by a pool the rules deliver from, in any order the network allows, with
no clock (each step is one cycle of the machine's reports).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from .config import SystemConfig
from .errors import InvariantViolation, check_final_memory
from .isa import OP_LD, OP_ST, OP_XCHG
from .netref import BROADCAST, NetReferenceMachine
from .reference import Request

__all__ = ["MessageProtocolMachine", "message_machine"]


class _PooledMachine(NetReferenceMachine):
    """The reference machine whose messages wait in a pool for the kit to deliver."""

    def __init__(self, config: SystemConfig, memory_words: int):
        super().__init__(config, [], {}, 0, check=True, track_data=True,
                         memory_words=memory_words)
        self.pool = []                      # point-to-point messages, in send order

    def inject(self, m, t: int) -> None:
        if m.dst == BROADCAST:
            self.bus_queues[m.src].append(m)
            return
        m.seq = self.seq
        self.seq += 1
        m.arrival = t
        self.pool.append(m)

    def deliverable(self) -> list:
        """The pool's messages the network may deliver now: on an ordered virtual network
        only the oldest of each (source, destination); on the split bus only the oldest
        (its data network keeps send order, as the machine's fixed data latencies do: a
        data network that reordered data for different requestors would let a later GetM's
        data overtake an earlier GetS's, and the real-time checks could not hold)."""
        if self.split:
            return self.pool[:1]
        seen, out = set(), []
        for m in self.pool:
            v = self.msg_vnet[m.type]
            if self.comp.ordered[v]:
                key = (m.src, m.dst, v)
                if key in seen:
                    continue
                seen.add(key)
            out.append(m)
        return out

    def deliver_one(self, m, t: int) -> None:
        self.pool.remove(m)
        self.receive(m.dst, m, t)
        self.run_wake(t)

    def grant_one(self, c: int, t: int) -> None:
        m = self.bus_queues[c].popleft()
        m.seq = self.seq
        self.seq += 1
        self.broadcast(m, t)

    def busy(self) -> bool:
        return bool(self.pool) or any(self.bus_queues)


class MessageProtocolMachine(RuleBasedStateMachine):
    """Drives a :class:`~coherence.protocols.message.MessageProtocol` through accesses,
    evictions and message deliveries (see the module docstring).  Made for one protocol and
    shape by :func:`message_machine`; don't use it directly.

    Geometry: one word per line, one way per set and one set per variable, so lines never
    evict each other by accident; ``evict(core, var)`` loads a private "evictor" line that
    maps to ``var``'s set, which replaces ``var``'s line in that core's cache.  Each core has
    one access at a time (an in-order SC core); its next access waits for the last one."""

    protocol = None
    ncores = 3
    nvars = 2
    config_changes: dict = {}

    def __init__(self):
        super().__init__()
        cfg = self.config()
        self.m = _PooledMachine(cfg, 2 * self.sets())
        self.t = 0
        self.steps = []
        self.next_value = 1
        self.failed = False

    @classmethod
    def sets(cls) -> int:
        s = 1
        while s < cls.nvars:
            s *= 2
        return s

    @classmethod
    def config(cls) -> SystemConfig:
        if "_config" not in cls.__dict__:
            base = dict(cores=cls.ncores, protocol=cls.protocol,
                        interconnect=cls.protocol.interconnect, line_size=8, l1_ways=1,
                        l1_size=8 * cls.sets(), mshrs=1)
            base.update(cls.config_changes)
            cls._config = SystemConfig(**base)
        return cls._config

    # ---------------------------------------------------------------- doing a step

    def _step(self, description: str, action) -> None:
        self.steps.append(description)
        self.t += 1
        try:
            action()
        except InvariantViolation as exc:    # ProtocolError is one too
            self._fail([f"{type(exc).__name__}: {exc}"], exc)

    def _fail(self, problems, cause=None):
        from .testing import ProtocolCheckFailure
        self.failed = True
        steps = "\n".join(f"  {i + 1}. {s}" for i, s in enumerate(self.steps))
        raise ProtocolCheckFailure(
            f"protocol {self.protocol.name!r} fails after {len(self.steps)} step(s):\n"
            + "\n".join(f"  - {p}" for p in problems) + f"\nsteps:\n{steps}",
            self.steps, "", problems, cause)

    def _free(self, core: int) -> bool:
        return self.m.ports[2 * core] is None

    def _access(self, core: int, op: int, addr: int, what: str) -> None:
        value = 0
        if op != OP_LD:
            value = self.next_value
            self.next_value += 1
            what += f" = {value}"
        req = Request(2 * core, core, op, addr, rd=1, value=value)
        self._step(f"core {core}: {what}", lambda: self.m.attempt(req, self.t))

    def do_load(self, core: int, var: int) -> None:
        self._access(core, OP_LD, 8 * var, f"load v{var}")

    def do_store(self, core: int, var: int) -> None:
        self._access(core, OP_ST, 8 * var, f"store v{var}")

    def do_rmw(self, core: int, var: int) -> None:
        self._access(core, OP_XCHG, 8 * var, f"xchg v{var}")

    def do_evict(self, core: int, var: int) -> None:
        self._access(core, OP_LD, 8 * (self.sets() + var), f"evict v{var}")

    def _line(self, line: int) -> str:
        n = self.sets()
        return f"v{line}" if line < n else f"v{line - n}'s evictor"

    def _describe(self, m) -> str:
        return (f"deliver {self.m.msg_text(m)} to {self.m.node_name(m.dst)} "
                f"(line {self._line(m.line)})")

    def do_deliver(self, pick: int) -> None:
        ready = self.m.deliverable()
        msg = ready[pick % len(ready)]
        self._step(self._describe(msg), lambda: self.m.deliver_one(msg, self.t))

    def do_grant(self, pick: int) -> None:
        cands = [c for c in range(self.ncores) if self.m.bus_queues[c]]
        c = cands[pick % len(cands)]
        head = self.m.bus_queues[c][0]
        self._step(f"bus orders {self.m.comp.messages[head.type]} of cache {c} "
                   f"(line {self._line(head.line)})", lambda: self.m.grant_one(c, self.t))

    # ---------------------------------------------------------------- the end

    def teardown(self):
        """Deliver everything left (oldest first, the bus in queue order), then require
        that every access completed and the machine is quiet and consistent."""
        if self.failed:
            return      # the step's failure is the report
        m = self.m
        for _ in range(10_000):
            if not m.busy():
                break
            ready = m.deliverable()
            if ready:
                msg = min(ready, key=lambda x: x.seq)
                self._step(self._describe(msg) + " (draining)",
                           lambda: m.deliver_one(msg, self.t))
            else:
                c = next(c for c in range(self.ncores) if m.bus_queues[c])
                self._step(f"bus orders cache {c}'s request (draining)",
                           lambda: m.grant_one(c, self.t))
        waiting = [p for p, r in enumerate(m.ports) if r is not None]
        if waiting:
            self._fail([f"deadlock: {m.deadlock(self.t).reason}"])
        try:
            m.check_finished(self.t)
            n = 2 * self.sets()
            check_final_memory(m.coherent_memory(n), [m.latest.get(w, 0) for w in range(n)],
                               self.t)
        except InvariantViolation as exc:
            self._fail([f"{type(exc).__name__}: {exc}"], exc)


def message_machine(protocol, cores: int = 3, variables: int = 1, *, rmw: bool = True,
                    max_steps: int = 40, **config_changes):
    """A hypothesis state machine class that property-tests a message ``protocol``
    (a :class:`~coherence.protocols.message.MessageProtocol`, e.g.
    ``coherence.protocols.DIR_MSI``), interleaving processor requests with message
    deliveries; see :mod:`coherence.message_kit`.  Use it as
    ``TestMine = message_machine(MINE).TestCase``.  ``config_changes`` adjust the machine
    (``mshrs``, ...)."""
    from .protocols.message import MessageProtocol
    if not isinstance(protocol, MessageProtocol):
        raise ValueError(f"message_machine needs a MessageProtocol, got {protocol!r} (use "
                         f"protocol_machine for atomic-bus tables)")
    if not 1 <= cores <= 8:
        raise ValueError(f"cores must be in 1..8, got {cores}")
    if not 1 <= variables <= 8:
        raise ValueError(f"variables must be in 1..8, got {variables}")
    core = st.integers(0, cores - 1)
    var = st.integers(0, variables - 1)
    pick = st.integers(0, 63)
    split = protocol.interconnect == "split-bus"

    class Machine(MessageProtocolMachine):
        @precondition(lambda self: any(self._free(c) for c in range(self.ncores)))
        @rule(core=core, var=var)
        def load(self, core, var):
            if self._free(core):
                self.do_load(core, var)

        @precondition(lambda self: any(self._free(c) for c in range(self.ncores)))
        @rule(core=core, var=var)
        def store(self, core, var):
            if self._free(core):
                self.do_store(core, var)

        @precondition(lambda self: any(self._free(c) for c in range(self.ncores)))
        @rule(core=core, var=var)
        def evict(self, core, var):
            if self._free(core):
                self.do_evict(core, var)

        if rmw:
            @precondition(lambda self: any(self._free(c) for c in range(self.ncores)))
            @rule(core=core, var=var)
            def xchg(self, core, var):
                if self._free(core):
                    self.do_rmw(core, var)

        @precondition(lambda self: bool(self.m.pool))
        @rule(pick=pick)
        def deliver(self, pick):
            self.do_deliver(pick)

        if split:
            @precondition(lambda self: any(self.m.bus_queues))
            @rule(pick=pick)
            def grant(self, pick):
                self.do_grant(pick)

    Machine.protocol = protocol
    Machine.ncores = cores
    Machine.nvars = variables
    Machine.config_changes = dict(config_changes)
    Machine.config()
    Machine.__name__ = Machine.__qualname__ = \
        f"{protocol.name.upper().replace('-', '_')}MessageMachine"
    Machine.TestCase.settings = settings(deadline=None, stateful_step_count=max_steps,
                                         suppress_health_check=list(HealthCheck))
    return Machine
