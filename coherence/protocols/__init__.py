"""Coherence protocols as transition tables (data), and the one compiler for the engine."""

from .standard import DRAGON, MESI, MESIF, MOESI, MSI, PROTOCOLS
from .table import (EVENTS, STANDARD_STATES, Impossible, Protocol, State, T, Transition)

__all__ = ["MSI", "MESI", "MOESI", "MESIF", "DRAGON", "PROTOCOLS", "Protocol", "State",
           "Transition", "Impossible", "T", "STANDARD_STATES", "EVENTS", "get_protocol",
           "INTERCONNECTS", "REGISTRY"]


#: The interconnects a machine can have (SystemConfig(interconnect=...)).
INTERCONNECTS = ("bus",)

#: Every shipped protocol by (family name, interconnect).
REGISTRY = {(name, "bus"): p for name, p in PROTOCOLS.items()}


def available() -> str:
    """The shipped (family, interconnect) combinations, for error messages."""
    by = {}
    for fam, net in REGISTRY:
        by.setdefault(net, []).append(fam)
    return "; ".join(f"{', '.join(fams)} on {net}" for net, fams in by.items())


def get_protocol(name_or_protocol, interconnect: str = "bus") -> Protocol:
    """A Protocol from its family name ('msi', 'mesi', 'moesi', 'mesif', 'dragon') and the
    interconnect it runs on, or a Protocol itself."""
    from ..errors import CoherenceError
    net = str(interconnect).lower()
    if net not in INTERCONNECTS:
        raise CoherenceError(f"unknown interconnect {interconnect!r}, expected one of "
                             f"{', '.join(INTERCONNECTS)} (the split-transaction bus and the "
                             f"directory are not built yet)")
    if isinstance(name_or_protocol, Protocol):
        return name_or_protocol
    key = (str(name_or_protocol).lower(), net)
    if key not in REGISTRY:
        raise CoherenceError(f"unknown protocol {name_or_protocol!r} for interconnect {net!r}, "
                             f"expected one of: {available()} (or a Protocol object)")
    return REGISTRY[key]
