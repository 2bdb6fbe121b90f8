"""Deliberately broken coherence protocols, and the hypothesis kit finding their bugs.

Each protocol below is one of the standard tables (``coherence.MESI``, ``coherence.MOESI``)
with ONE entry changed, the kind of slip that is easy to make when writing a table by hand:

* :data:`MESI_BUSRDX_KEEPS_SHARED`: a Shared copy that snoops another cache's BusRdX (a
  write miss) stays Shared instead of becoming Invalid.  After the write, the writer holds
  the line in M while stale S copies survive: the single-writer/multiple-readers invariant
  breaks at once, and the old readers would go on reading the old value.
* :data:`MOESI_OWNER_DROPPED`: an Owned line is evicted without a write-back.  O is dirty
  (memory is stale while a cache owns the line), so the latest value is lost: the remaining
  Shared copies and memory disagree, and the next miss reads the stale value from memory.

Two more are the Primer's directory MSI (``coherence.protocols.DIR_MSI``) with one entry
changed, races that only a non-atomic system has (messages in flight, transient states):

* :data:`DIR_MSI_ISD_TAKES_INV`: a cache in IS^D (its GetS is ordered at the directory, the
  data is on its way) receives an Inv for a later writer's GetM and acks it at once instead
  of stalling until its data arrives.  The writer becomes M; then the old data arrives and
  the reader takes S with a stale value, next to an M copy.
* :data:`DIR_MSI_HOME_TAKES_NONOWNER_PUTM`: the directory accepts a PutM from a cache that is
  no longer the owner (its PutM raced with another core's GetM, which the directory ordered
  first): it writes the stale data to memory and forgets the real owner, so the next reader
  gets the stale line from memory while the owner still holds M.

Run this file to watch :func:`coherence.testing.protocol_machine` find each bug and shrink it
to a few steps (about ten seconds)::

    python examples/broken_protocols.py

In a test module, one line per protocol is enough (this is what tests/test_testing_kit.py
does, and it expects these two to fail and MSI/MESI/MOESI to pass)::

    from coherence.testing import protocol_machine
    TestMESI = protocol_machine(coherence.MESI).TestCase          # passes
    TestBroken = protocol_machine(MESI_BUSRDX_KEEPS_SHARED).TestCase   # fails, 3 steps
"""

from __future__ import annotations

from coherence import MESI, MOESI, Protocol, T
from coherence.protocols import DIR_MSI, do, send

__all__ = ["MESI_BUSRDX_KEEPS_SHARED", "MOESI_OWNER_DROPPED", "DIR_MSI_ISD_TAKES_INV",
           "DIR_MSI_HOME_TAKES_NONOWNER_PUTM", "BROKEN", "BROKEN_NONATOMIC", "find_bug"]

MESI_BUSRDX_KEEPS_SHARED = Protocol(
    "mesi-busrdx-keeps-shared", MESI.states,
    {**MESI.table, ("S", "BusRdX"): T("S")},     # correct: T("I")
    description="BROKEN MESI: a Shared copy survives another cache's BusRdX.")

MOESI_OWNER_DROPPED = Protocol(
    "moesi-owner-dropped", MOESI.states,
    {**MOESI.table, ("O", "Evict"): T("I")},     # correct: T("I", writeback=True)
    description="BROKEN MOESI: an evicted Owned line is not written back.")

DIR_MSI_ISD_TAKES_INV = DIR_MSI.with_entries(
    "msi-directory-isd-takes-inv",
    cache={("IS^D", "Inv"): do(None, send("Inv-Ack", "requestor"))},   # correct: STALL
    description="BROKEN directory MSI: IS^D acks an Inv before its data arrives, then uses "
                "the stale data.")

DIR_MSI_HOME_TAKES_NONOWNER_PUTM = DIR_MSI.with_entries(
    "msi-directory-takes-nonowner-putm",
    # correct: do(None, send("Put-Ack", "requestor")), the stale data thrown away
    home={("M", "PutM+data from NonOwner"): do("I", "write_memory", "clear_owner",
                                               send("Put-Ack", "requestor"))},
    description="BROKEN directory MSI: the home accepts a PutM from a non-owner.")

BROKEN = {"busrdx-keeps-shared": MESI_BUSRDX_KEEPS_SHARED,
          "owner-dropped": MOESI_OWNER_DROPPED}
#: The two races of a non-atomic system (directory MSI).
BROKEN_NONATOMIC = {"isd-takes-inv": DIR_MSI_ISD_TAKES_INV,
                    "home-takes-nonowner-putm": DIR_MSI_HOME_TAKES_NONOWNER_PUTM}


def find_bug(protocol, max_examples: int = 200, max_steps: int = 10, **machine_options):
    """Run the kit's state machine on ``protocol`` (for a split-bus or directory protocol,
    the machine that also chooses message deliveries); return the shrunk
    :class:`~coherence.testing.ProtocolCheckFailure`, or None when no bug was found.

    Deterministic (``derandomize=True``, no example database), so the same protocol always
    gives the same report.  ``machine_options`` go to ``protocol_machine`` (cores, variables,
    model, sequential, ...).
    """
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    from coherence.testing import ProtocolCheckFailure, protocol_machine

    machine = protocol_machine(protocol, max_steps=max_steps, **machine_options)
    try:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=max_examples, stateful_step_count=max_steps, derandomize=True,
            database=None, deadline=None, report_multiple_bugs=False, print_blob=False,
            suppress_health_check=list(HealthCheck)))
    except ProtocolCheckFailure as failure:
        return failure
    return None


def report(proto, failure) -> None:
    """Print what :func:`find_bug` found."""
    if failure is None:
        print(f"{proto.name}: no violation found")
        return
    print(f"{proto.name}: BUG after {len(failure.steps)} steps")
    for i, step in enumerate(failure.steps, 1):
        print(f"    {i}. {step}")
    print(f"    -> {failure.problems[0]}")


if __name__ == "__main__":
    import coherence

    for proto in (coherence.MSI, coherence.MESI, coherence.MOESI, *BROKEN.values()):
        report(proto, find_bug(proto, variables=1))
    # the non-atomic races: the kit also chooses when each message arrives
    for proto in (DIR_MSI, *BROKEN_NONATOMIC.values()):
        report(proto, find_bug(proto, max_examples=300, max_steps=16, variables=1))
