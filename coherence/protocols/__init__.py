"""Coherence protocols as transition tables (data), and the one compiler for the engine."""

from .standard import MESI, MOESI, MSI, PROTOCOLS
from .table import (EVENTS, STANDARD_STATES, Impossible, Protocol, State, T, Transition)

__all__ = ["MSI", "MESI", "MOESI", "PROTOCOLS", "Protocol", "State", "Transition", "Impossible",
           "T", "STANDARD_STATES", "EVENTS", "get_protocol"]


def get_protocol(name_or_protocol) -> Protocol:
    """A Protocol from its name ('msi', 'mesi', 'moesi') or a Protocol itself."""
    from ..errors import CoherenceError
    if isinstance(name_or_protocol, Protocol):
        return name_or_protocol
    key = str(name_or_protocol).lower()
    if key not in PROTOCOLS:
        raise CoherenceError(f"unknown protocol {name_or_protocol!r}, expected one of "
                             f"{', '.join(PROTOCOLS)} or a Protocol object")
    return PROTOCOLS[key]
