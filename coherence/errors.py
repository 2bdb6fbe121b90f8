"""The one exception type for a user's mistake (bad file, bad config, bad argument).

Its string form is ``file:line: what is wrong, what was expected``; the CLI prints it on one
line and exits 2.  Internal bugs are other exception types and keep their tracebacks.
"""

from __future__ import annotations


class CoherenceError(Exception):
    """Bad input: carries an optional source file and line for the one-line report."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return where + self.message


class InvariantViolation(AssertionError):
    """A coherence invariant failed during a ``check=True`` run (a protocol or engine bug).

    The engine and the reference model raise it with the same fields, and its message is
    formatted here from them, so that callers (and tests) compare fields, not wording:

    * ``kind``: ``"swmr"`` (single writer or many readers), ``"owner"`` (more than one
      owner), ``"data"`` (a copy, or memory with no dirty copy, differs from the latest value
      in coherence order), ``"load_value"`` (a load returned a stale value); for
      :class:`ProtocolError`, ``"protocol"`` (an Impossible entry was reached) or
      ``"absent"`` (a transaction left the requester's own line invalid);
    * ``cycle``, ``core`` (-1: memory), ``address`` (a byte address);
    * ``states``: the line's state in every cache, e.g. ``"core0=M core1=I"``;
    * ``found`` / ``expected``: the two counts or values that disagree (for ``swmr``: writers
      and readable copies; ``owner``: owners and readable copies; ``data`` and
      ``load_value``: the value held and the latest value).
    """

    def __init__(self, kind: str, *, cycle: int, core: int, address: int, states: str = "",
                 found=None, expected=None):
        self.kind = kind
        self.cycle = int(cycle)
        self.core = int(core)
        self.address = int(address)
        self.states = states
        self.found = found
        self.expected = expected
        super().__init__(self._message())

    def fields(self) -> dict:
        """What the violation says, as a dict (for comparisons and JSON)."""
        return {"error": type(self).__name__, "kind": self.kind, "cycle": self.cycle,
                "core": self.core, "address": self.address, "found": self.found,
                "expected": self.expected}

    def _message(self) -> str:
        at = f"cycle {self.cycle}"
        addr = f"address {self.address:#x}"
        tail = f" [{self.states}]" if self.states else ""
        if self.kind == "swmr":
            return (f"single-writer/multiple-readers violated at {at} after core {self.core}'s "
                    f"transaction, {addr}: {self.found} writer(s) among {self.expected} "
                    f"readable copies{tail}")
        if self.kind == "owner":
            return (f"more than one owner at {at} after core {self.core}'s transaction, "
                    f"{addr}: {self.found} caches in an owner state{tail}")
        if self.kind == "data":
            whose = "memory" if self.core < 0 else f"core {self.core}'s copy"
            return (f"data-value invariant violated at {at}: {whose} of {addr} holds "
                    f"{self.found}, the latest value in coherence order is {self.expected}{tail}")
        if self.kind == "load_value":
            return (f"stale load at {at}: core {self.core} read {self.found} from {addr}, the "
                    f"latest value in coherence order is {self.expected}{tail}")
        return f"{self.kind} at {at}, core {self.core}, {addr}{tail}"


def check_final_memory(memory, latest, cycle: int) -> None:
    """``check=True``'s last check, when a run ends: the memory image (memory overwritten by
    every dirty copy) holds the latest value of every word in coherence order; a value that
    only an evicted copy held, evicted without a write-back, is lost.  Raises
    :class:`InvariantViolation` (kind ``data``, core -1) at the first word that differs."""
    for word, (have, want) in enumerate(zip(memory, latest)):
        if have != want:
            raise InvariantViolation("data", cycle=cycle, core=-1, address=8 * word,
                                     found=int(have), expected=int(want))


class ProtocolError(InvariantViolation):
    """A protocol table reached one of its Impossible entries during a run (``kind``
    ``"protocol"``, with ``protocol``, ``state``, ``event`` and ``reason``), or a transaction
    left the requester's own line invalid (``kind`` ``"absent"``)."""

    def __init__(self, kind: str, *, protocol: str, cycle: int, core: int, address: int,
                 states: str = "", state: str | None = None, event: str | None = None,
                 reason: str = "", node: str | None = None, message: str | None = None):
        self.protocol = protocol
        self.state = state
        self.event = event
        self.reason = reason
        #: Message interconnects: the controller ("cache 3", "home 5") and the message it
        #: was handling ("Fwd-GetM from cache 1 for cache 2"), when there is one.
        self.node = node
        self.message = message
        super().__init__(kind, cycle=cycle, core=core, address=address, states=states,
                         found=state, expected=event)

    def fields(self) -> dict:
        d = super().fields()
        d.update({"protocol": self.protocol, "state": self.state, "event": self.event,
                  "reason": self.reason, "node": self.node, "message": self.message})
        return d

    def _message(self) -> str:
        tail = f" [{self.states}]" if self.states else ""
        where = f"cycle {self.cycle}, core {self.core}, address {self.address:#x}"
        if self.node is not None:
            where = f"cycle {self.cycle}, {self.node}, address {self.address:#x}"
            if self.message:
                where += f", handling {self.message}"
        if self.kind in ("deadlock", "unfinished"):
            return f"protocol {self.protocol}: {self.kind} at {where}: {self.reason}{tail}"
        if self.kind == "absent":
            return (f"protocol {self.protocol}: {where}: the line is not present after its "
                    f"own transaction{tail}")
        return (f"protocol {self.protocol}: impossible transition ({self.state}, {self.event}):"
                f" {self.reason}; {where}{tail}")


class PartialResultWarning(UserWarning):
    """A run stopped by its watchdog (status ``max_cycles`` or ``no_progress``) before every
    core halted: the result is real but partial (final values, counters and the memory image
    are those of the cycle it stopped at).  ``status`` and ``cycle`` say which and when; a
    batch's warning counts its partial runs (``runs``) and gives the first one's index
    (``first``) instead of a cycle.

    The command line turns it into its own report (one stderr line, exit status 3 or 4), so it
    is only seen from Python: ``warnings.simplefilter("error", PartialResultWarning)`` makes it
    an exception, ``"ignore"`` silences it."""

    def __init__(self, message: str, status: str, cycle: int | None = None,
                 runs: int = 1, first: int | None = None):
        super().__init__(message)
        self.status = status
        self.cycle = cycle
        self.runs = runs
        self.first = first


def warn_partial(status: str, cycle: int, what: str = "run", stacklevel: int = 3) -> None:
    """Warn with :class:`PartialResultWarning` when ``status`` is a watchdog ending (the
    engine's and the reference model's runs call it; "halted" is complete, no warning)."""
    if status == "halted":
        return
    import warnings
    how = ("it reached max_cycles" if status == "max_cycles" else
           "nothing progressed for progress_window cycles")
    warnings.warn(PartialResultWarning(
        f"{what} stopped by the watchdog ({status}) at cycle {cycle:,}: {how}; the result is "
        f"partial (status {status!r})", status, cycle), stacklevel=stacklevel + 1)
