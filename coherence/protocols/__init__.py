"""Coherence protocols as transition tables (data), and the one compiler for the engine."""

from .message import STALL, Controller, Do, Event, Message, MessageProtocol, Send, do, send
from .primer import DIR_MESI, DIR_MSI, MESSAGE_PROTOCOLS, SPLIT_MESI, SPLIT_MSI
from .standard import DRAGON, MESI, MESIF, MOESI, MSI, PROTOCOLS
from .table import (EVENTS, STANDARD_STATES, Impossible, Protocol, State, T, Transition)

__all__ = ["MSI", "MESI", "MOESI", "MESIF", "DRAGON", "PROTOCOLS", "Protocol", "State",
           "Transition", "Impossible", "T", "STANDARD_STATES", "EVENTS", "get_protocol",
           "INTERCONNECTS", "REGISTRY", "MessageProtocol", "Controller", "Message", "Event",
           "Send", "Do", "do", "send", "STALL", "DIR_MSI", "DIR_MESI", "SPLIT_MSI",
           "SPLIT_MESI"]


#: The interconnects a machine can have (SystemConfig(interconnect=...)).
INTERCONNECTS = ("bus", "split-bus", "directory")
#: What each interconnect is (``coherence protocol list``).
INTERCONNECT_MEANING = {
    "bus": "atomic snooping bus: a transaction happens all at once",
    "split-bus": "split-transaction snooping bus: requests ordered on an address bus, data "
                 "on a separate network, transient states",
    "directory": "directory at home slices on a network (crossbar or 2D mesh), transient "
                 "states, 3-hop forwarding",
}

#: Every shipped protocol by (family name, interconnect).
REGISTRY = {**{(name, "bus"): p for name, p in PROTOCOLS.items()}, **MESSAGE_PROTOCOLS}


def available() -> str:
    """The shipped (family, interconnect) combinations, for error messages."""
    by = {}
    for fam, net in REGISTRY:
        by.setdefault(net, []).append(fam)
    return "; ".join(f"{', '.join(fams)} on {net}" for net, fams in by.items())


def get_protocol(name_or_protocol, interconnect: str = "bus") -> Protocol:
    """A protocol from its family name ('msi', 'mesi', 'moesi', 'mesif', 'dragon') and the
    interconnect it runs on ('bus', 'split-bus', 'directory'), or a Protocol or
    MessageProtocol itself (checked against the interconnect)."""
    from ..errors import CoherenceError
    net = str(interconnect).lower()
    if net not in INTERCONNECTS:
        raise CoherenceError(f"unknown interconnect {interconnect!r}, expected one of "
                             f"{', '.join(INTERCONNECTS)}")
    if isinstance(name_or_protocol, Protocol):
        if net != "bus":
            raise CoherenceError(f"protocol {name_or_protocol.name!r} is an atomic-bus table "
                                 f"(Protocol); interconnect {net!r} needs a MessageProtocol")
        return name_or_protocol
    if isinstance(name_or_protocol, MessageProtocol):
        if name_or_protocol.interconnect != net:
            raise CoherenceError(f"protocol {name_or_protocol.name!r} is written for "
                                 f"interconnect {name_or_protocol.interconnect!r}, not {net!r}")
        return name_or_protocol
    key = (str(name_or_protocol).lower(), net)
    if key not in REGISTRY:
        raise CoherenceError(f"unknown protocol {name_or_protocol!r} for interconnect {net!r}, "
                             f"expected one of: {available()} (or a Protocol object)")
    return REGISTRY[key]
