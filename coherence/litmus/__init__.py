"""Litmus tests: herd7-format parser, exhaustive SC / x86-TSO verdicts, translation to the
emulator's assembly, emulator campaigns, and the ``coherence litmus`` command.

    >>> from coherence.litmus import parse_text, enumerate_states
    >>> v = enumerate_states(parse_text(SB_SOURCE), "tso")
    >>> v.observation, v.positive, v.negative
    ('Sometimes', 1, 3)

See docs/litmus.md for the supported dialect and how verdicts are computed.

The names below are imported on first use (PEP 562): campaigns need the engine (numpy,
numba), and ``coherence litmus --help`` imports this package only for its command line.
"""

from __future__ import annotations

import importlib

# Public name -> the submodule that defines it.
_EXPORTS = {
    "Campaign": "campaign", "run_campaign": "campaign",
    "to_asm": "compile",
    "MODELS": "enumerate", "Verdict": "enumerate", "enumerate_states": "enumerate",
    "LitmusTest": "ir", "MemLoc": "ir", "RegLoc": "ir", "Sym": "ir",
    "parse_file": "parser", "parse_text": "parser",
    "load_suite": "suite",
}

# Submodules the eager import of old loaded as a side effect (``litmus.campaign.X`` worked
# after ``from coherence import litmus``).
_SUBMODULES = ("campaign", "compile", "condition", "enumerate", "ir", "parser", "suite", "x86")

__all__ = ["parse_file", "parse_text", "enumerate_states", "load_suite", "to_asm",
           "LitmusTest", "Verdict", "MODELS", "RegLoc", "MemLoc", "Sym", "run_campaign",
           "Campaign"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
