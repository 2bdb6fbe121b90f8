"""Litmus tests: herd7-format parser, exhaustive SC / x86-TSO verdicts, translation to the
emulator's assembly, emulator campaigns, and the ``coherence litmus`` command.

    >>> from coherence.litmus import parse_text, enumerate_states
    >>> v = enumerate_states(parse_text(SB_SOURCE), "tso")
    >>> v.observation, v.positive, v.negative
    ('Sometimes', 1, 3)

See docs/litmus.md for the supported dialect and how verdicts are computed.
"""

from .campaign import Campaign, run_campaign
from .compile import to_asm
from .enumerate import MODELS, Verdict, enumerate_states
from .ir import LitmusTest, MemLoc, RegLoc, Sym
from .parser import parse_file, parse_text
from .suite import load_suite

__all__ = ["parse_file", "parse_text", "enumerate_states", "load_suite", "to_asm",
           "LitmusTest", "Verdict", "MODELS", "RegLoc", "MemLoc", "Sym", "run_campaign",
           "Campaign"]
