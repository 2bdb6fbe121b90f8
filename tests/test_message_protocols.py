"""Message protocols as tables (coherence/protocols/message.py): the shipped Primer tables
build and cover every pair; a mistake in a user's table is one clear error naming the pair;
the registry picks a table by family and interconnect; `coherence protocol list/show` show
them."""

import subprocess
import sys

import numpy as np
import pytest

from coherence import SystemConfig
from coherence.errors import CoherenceError
from coherence.protocols import (DIR_MESI, DIR_MSI, REGISTRY, SPLIT_MESI, SPLIT_MSI, STALL,
                                 Controller, Event, Impossible, Message, MessageProtocol, State,
                                 do, get_protocol, send)
from coherence.protocols.message import (A_PERFORM, A_SEND, NEXT_IMPOSSIBLE, NEXT_STALL,
                                         PART_DATA, T_HOME)
from coherence.protocols.primer import MESSAGE_PROTOCOLS, SPLIT_MOESI

SHIPPED = list(MESSAGE_PROTOCOLS.values())


@pytest.mark.parametrize("proto", SHIPPED, ids=lambda p: p.name)
def test_shipped_tables_cover_every_pair_and_compile(proto):
    c = proto.compiled()
    for ctl, comp in ((proto.cache, c.cache), (proto.home, c.home)):
        assert comp.next.shape == (len(ctl.states), len(ctl.events))
        assert set(ctl.table) == {(s, e.name) for s in ctl.state_names for e in ctl.events}
        assert comp.states[0] == ctl.initial
    # the cache's I is state 0 and what each state means is compiled from its State
    assert c.cache.states[0] == "I"
    for i, s in enumerate(proto.cache.states):
        assert tuple(c.cache.meaning[i]) == (s.readable, s.writable, s.dirty, s.owner,
                                             s.transient)
    # every message someone receives has a partition, and its events cover it
    assert (c.cache.partition >= 0).any() and (c.home.partition >= 0).any()
    md = proto.to_markdown()
    assert "stall" in md and "#### Cache controller" in md and "#### Home controller" in md


def test_directory_msi_is_the_primers_table():
    """Spot checks against the Primer's tables 8.1 and 8.2."""
    c = DIR_MSI.compiled().cache
    st, ev = (dict((n, i) for i, n in enumerate(x)) for x in (c.states, c.events))
    assert c.next[st["I"], ev["Load"]] == st["IS^D"]
    row = c.acts[st["I"], ev["Load"], 0]
    assert row[0] == A_SEND and DIR_MSI.messages[row[1]].name == "GetS" and row[2] == T_HOME
    assert c.next[st["IS^D"], ev["Inv"]] == NEXT_STALL
    assert c.next[st["IM^AD"], ev["Data from Dir (ack>0)"]] == st["IM^A"]
    assert c.next[st["IM^A"], ev["Last-Inv-Ack"]] == st["M"]
    assert A_PERFORM in c.acts[st["IM^A"], ev["Last-Inv-Ack"], :, 0]
    assert c.next[st["MI^A"], ev["Fwd-GetM"]] == st["II^A"]
    assert c.next[st["S"], ev["Fwd-GetS"]] == NEXT_IMPOSSIBLE
    data = DIR_MSI.msg_index["Data"]
    assert c.partition[data] == PART_DATA
    h = DIR_MSI.compiled().home
    hs, he = (dict((n, i) for i, n in enumerate(x)) for x in (h.states, h.events))
    assert h.next[hs["M"], he["GetS"]] == hs["S^D"]
    assert h.next[hs["S^D"], he["GetM"]] == NEXT_STALL
    assert h.next[hs["S^D"], he["Data"]] == hs["S"]
    assert DIR_MSI.ordered == ("forward",)


def test_stall_lists_name_the_pairs():
    stalls = DIR_MSI.stalls()
    assert ("IS^D", "Inv") in stalls["cache"] and ("S^D", "GetS") in stalls["home"]
    assert ("IM^D", "Other-GetM") in SPLIT_MSI.stalls()["cache"]
    assert ("IorS^D", "GetM") in SPLIT_MOESI.stalls()["home"]


def test_registry_and_config_pick_by_family_and_interconnect():
    cfg = SystemConfig(protocol="mesi", interconnect="directory", topology="mesh", cores=256)
    assert cfg.protocol is DIR_MESI and cfg.cores == 256
    assert SystemConfig(protocol="MSI", interconnect="split-bus").protocol is SPLIT_MSI
    assert SystemConfig(protocol="moesi", interconnect="split-bus").protocol is SPLIT_MOESI
    assert SystemConfig(protocol="mesi", interconnect="split-bus").protocol is SPLIT_MESI
    assert SystemConfig().interconnect == "bus" and SystemConfig().topology == "crossbar"
    assert get_protocol(DIR_MSI, "directory") is DIR_MSI
    with pytest.raises(CoherenceError, match="msi, mesi on directory"):
        SystemConfig(protocol="dragon", interconnect="directory")
    with pytest.raises(CoherenceError, match="1..64 on interconnect 'bus'"):
        SystemConfig(cores=65)
    with pytest.raises(CoherenceError, match="1..256"):
        SystemConfig(cores=257, interconnect="directory")
    with pytest.raises(CoherenceError, match="directory network"):
        SystemConfig(topology="mesh")
    with pytest.raises(CoherenceError, match="written for interconnect 'directory'"):
        SystemConfig(protocol=DIR_MSI, interconnect="split-bus")
    with pytest.raises(CoherenceError, match="needs a MessageProtocol"):
        SystemConfig(protocol=REGISTRY[("msi", "bus")], interconnect="directory")
    with pytest.raises(CoherenceError, match="unknown interconnect"):
        SystemConfig(interconnect="ring")
    with pytest.raises(CoherenceError, match="mshrs"):
        SystemConfig(mshrs=0)


# ------------------------------------------------------------------ a user's table

def _tiny(**changes):
    """A two-state write-invalidate directory protocol, small enough to break on purpose."""
    messages = [Message("Get", "request"), Message("Put", "request", data=True),
                Message("Fwd", "forward"), Message("Data", "response", data=True),
                Message("Ack", "forward")]
    cache_states = [State("I"), State("M", "read-write", dirty=True, owner=True),
                    State("IM^D", transient=True), State("MI^A", dirty=True, owner=True,
                                                         transient=True)]
    cache_events = [Event("Fwd", "Fwd"), Event("Data", "Data"), Event("Ack", "Ack")]
    cache = {
        ("I", "Load"): do("IM^D", send("Get", "home")),
        ("I", "Store"): do("IM^D", send("Get", "home")),
        ("I", "Replacement"): Impossible("only valid lines"),
        (("I", "IM^D", "M"), "Ack"): Impossible("no put outstanding"),
        ("I", ("Fwd", "Data")): Impossible("nothing asked"),
        ("IM^D", ("Load", "Store", "Replacement", "Fwd")): STALL,
        ("IM^D", "Data"): do("M", "perform"),
        ("M", ("Load", "Store")): do(None, "perform"),
        ("M", "Replacement"): do("MI^A", send("Put", "home")),
        ("M", "Fwd"): do("I", send("Data", "requestor")),
        ("M", "Data"): Impossible("has it"),
        ("MI^A", ("Load", "Store", "Replacement")): STALL,
        ("MI^A", "Fwd"): do("MI^A", send("Data", "requestor")),
        ("MI^A", "Data"): Impossible("has it"),
        ("MI^A", "Ack"): do("I"),
    }
    home_events = [Event("Get", "Get"), Event("Put from Owner", "Put", "from_owner"),
                   Event("Put from NonOwner", "Put", "from_nonowner")]
    home = {
        ("I", "Get"): do("M", send("Data", "requestor"), "set_owner"),
        ("I", "Put from Owner"): Impossible("no owner"),
        (("I", "M"), "Put from NonOwner"): do(None, send("Ack", "requestor")),
        ("M", "Get"): do(None, send("Fwd", "owner"), "set_owner"),
        ("M", "Put from Owner"): do("I", "write_memory", "clear_owner",
                                    send("Ack", "requestor")),
    }
    parts = dict(messages=messages, cache_states=cache_states, cache_events=cache_events,
                 cache=cache, home_events=home_events, home=home, ordered=("forward",))
    parts.update(changes)
    return MessageProtocol(
        "tiny", "directory", parts["messages"],
        Controller("cache", parts["cache_states"], parts["cache_events"], parts["cache"]),
        Controller("home", [State("I"), State("M")], parts["home_events"], parts["home"]),
        ordered=parts["ordered"])


def test_a_users_table_builds():
    p = _tiny()
    assert p.cache.state_names == ("I", "M", "IM^D", "MI^A") and p.stalls()["home"] == []
    assert SystemConfig(protocol=p, interconnect="directory").protocol is p


def _without(table, key):
    t = dict(table)
    del t[key]
    return t


@pytest.mark.parametrize("change, message", [
    (lambda t: dict(cache=_without(t.cache.raw, ("M", "Fwd"))), r"no cache entry for \(M, Fwd\)"),
    (lambda t: dict(cache={**t.cache.raw, ("X", "Load"): STALL}), r"\(X, Load\): unknown state"),
    (lambda t: dict(cache={**t.cache.raw, ("M", "Boom"): STALL}), r"\(M, Boom\): unknown event"),
    (lambda t: dict(cache={**t.cache.raw, (("M", "I"), "Load"): STALL}),
     r"two cache entries for \(M, Load\)"),
    (lambda t: dict(cache={**t.cache.raw, ("M", "Fwd"): do("I", send("Data", "sharers"))}),
     r"\(M, Fwd\).*a cache sends to one of"),
    (lambda t: dict(cache={**t.cache.raw, ("M", "Fwd"): do("Z")}), r"\(M, Fwd\) goes to 'Z'"),
    (lambda t: dict(cache={**_without(t.cache.raw, ("M", ("Load", "Store"))),
                           ("M", "Store"): do(None, "perform"),
                           ("M", "Load"): do(None, "perform", send("Get", "home"))}),
     r"\(M, Load\) must either perform .* not both"),
    (lambda t: dict(cache={**t.cache.raw, ("M", "Fwd"): do("I", "teleport")}),
     r"\(M, Fwd\): unknown action 'teleport'"),
    (lambda t: dict(cache={**t.cache.raw, ("M", "Fwd"): do("I", send("Nope", "requestor"))}),
     r"\(M, Fwd\) sends unknown message 'Nope'"),
    (lambda t: dict(home_events=[Event("Get", "Get"), Event("Put", "Put", "from_owner")]),
     r"events of message 'Put' have conditions \['from_owner'\]"),
    (lambda t: dict(cache_events=[Event("Fwd", "Fwd"), Event("Data", "Data")],
                    cache={k: v for k, v in t.cache.raw.items()
                           if "Ack" not in (k[1] if isinstance(k[1], tuple) else (k[1],))}),
     r"message 'Ack' is sent to the cache controller, which has no event for it"),
    (lambda t: dict(ordered=("snoop",)), r"ordered virtual network 'snoop'"),
    (lambda t: dict(messages=[*t.messages, Message("Spare", "request")]),
     r"message 'Spare' is declared but no entry sends it"),
    (lambda t: dict(cache={**t.cache.raw, ("M", "Fwd"): do("I", send("Data", "bus"))}),
     r"sends to the bus, which a directory does not have"),
])
def test_a_mistake_in_a_table_is_one_error_naming_it(change, message):
    with pytest.raises(CoherenceError, match=message):
        _tiny(**change(_tiny()))


def test_cli_protocol_list_and_show():
    run = [sys.executable, "-m", "coherence", "protocol"]
    out = subprocess.run(run + ["list"], capture_output=True, text=True, check=True).stdout
    for fam, net in MESSAGE_PROTOCOLS:
        assert any(line.split()[:2] == [fam, net] for line in out.splitlines())
    assert "split-bus:" in out and "directory:" in out
    show = subprocess.run(run + ["show", "msi", "--interconnect", "directory"],
                          capture_output=True, text=True, check=True).stdout
    assert show.startswith("### MSI-DIRECTORY") and "IM^AD" in show and "stall" in show
    full = subprocess.run(run + ["show", "moesi-split-bus"], capture_output=True, text=True,
                          check=True).stdout
    assert "OM^AD" in full
    bad = subprocess.run(run + ["show", "dragon", "--interconnect", "directory"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "msi, mesi on directory" in bad.stderr


def test_compiled_arrays_are_read_only():
    c = DIR_MESI.compiled()
    for a in (c.cache.next, c.cache.acts, c.home.event_of, c.msg_vnet):
        assert isinstance(a, np.ndarray) and not a.flags.writeable
