"""The protocol machine for message protocols (coherence.message_kit): it interleaves the
processor's requests with message deliveries, passes on the shipped Primer tables, and finds
and shrinks the two races of examples/broken_protocols.py that only a non-atomic system
has."""

import importlib.util

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from coherence.protocols import DIR_MSI, do, send
from coherence.protocols.primer import MESSAGE_PROTOCOLS
from coherence.testing import ProtocolCheckFailure, message_machine, protocol_machine

from conftest import ROOT


def _load_broken():
    spec = importlib.util.spec_from_file_location("broken_protocols",
                                                  f"{ROOT}/examples/broken_protocols.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


broken = _load_broken()


def _run(machine, examples, steps=30):
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, derandomize=True, database=None,
        deadline=None, report_multiple_bugs=False, print_blob=False,
        suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("proto", list(MESSAGE_PROTOCOLS.values()), ids=lambda p: p.name)
def test_the_machine_passes_on_the_shipped_tables(proto):
    _run(message_machine(proto, cores=3, variables=1, max_steps=30), 60)


@pytest.mark.slow
@pytest.mark.parametrize("proto", list(MESSAGE_PROTOCOLS.values()), ids=lambda p: p.name)
@pytest.mark.parametrize("shape", [dict(cores=3, variables=1), dict(cores=2, variables=2),
                                   dict(cores=4, variables=1, mshrs=2)])
def test_the_machine_passes_on_the_shipped_tables_long(proto, shape):
    _run(message_machine(proto, max_steps=40, **shape), 600, 40)


@pytest.mark.parametrize("name", ["isd-takes-inv", "home-takes-nonowner-putm"])
def test_the_machine_finds_and_shrinks_each_nonatomic_race(name):
    proto = broken.BROKEN_NONATOMIC[name]
    failure = broken.find_bug(proto, max_examples=300, max_steps=16, variables=1)
    assert isinstance(failure, ProtocolCheckFailure)
    # a stale copy next to a writer, or a load of the stale value: whichever comes first
    assert failure.cause is not None and failure.cause.kind in ("swmr", "load_value", "data")
    # shrunk: a short sequence of accesses and deliveries, which names the messages
    assert len(failure.steps) <= 14
    assert any(s.startswith("deliver ") for s in failure.steps)
    # the same steps on the correct table pass (the bug is the one entry)
    assert broken.find_bug(DIR_MSI, max_examples=60, max_steps=30, variables=1) is None


def test_protocol_machine_dispatches_message_protocols():
    m = protocol_machine(DIR_MSI, cores=2, variables=1)
    assert m.__name__ == "MSI_DIRECTORYMessageMachine"
    assert {"load", "store", "evict", "xchg", "deliver"} <= set(dir(m))
    split = message_machine(MESSAGE_PROTOCOLS[("msi", "split-bus")])
    assert hasattr(split, "grant")


def test_a_stall_forever_table_is_a_deadlock_report():
    bad = DIR_MSI.with_entries("msi-never-acks", cache={
        ("S", "Inv"): do("I"),          # the Inv-Ack is never sent: the writer waits forever
    })
    with pytest.raises(ProtocolCheckFailure) as info:
        _run(message_machine(bad, cores=2, variables=1, max_steps=12), 200, 12)
    assert any("deadlock" in p for p in info.value.problems)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="MessageProtocol"):
        message_machine("mesi")
    with pytest.raises(ValueError, match="cores"):
        message_machine(DIR_MSI, cores=9)
