"""The names a cat model may use without defining them (herd's primitives).

Every architecture binds every name below: a set of annotations another architecture uses
is simply empty (``DMB.ISH`` in an x86 test), so one model file works on any test and a
misspelt name is still an ``unbound name`` error.
"""

from __future__ import annotations

import os

from .model import MODELS_DIR

PRELUDE_PATH = os.path.join(MODELS_DIR, "_prelude.cat")

# Sets of events that carry an annotation (the event's ``tags``).
ANNOTATIONS = (
    # every architecture
    "X",         # the events of an atomic instruction (locked x86 RMW, SWP/LDADD/CAS, amo*)
    "EX",        # exclusives: LDXR/STXR, lr/sc
    # x86
    "MFENCE", "LFENCE", "SFENCE",
    # AArch64: acquire (LDAR), acquire-PC (LDAPR), release (STLR), no return value (ST<op>)
    "A", "Q", "L", "NoRet",
    "DMB.SY", "DMB.LD", "DMB.ST", "DMB.ISH", "DMB.ISHLD", "DMB.ISHST",
    "DMB.OSH", "DMB.OSHLD", "DMB.OSHST", "DMB.NSH", "DMB.NSHLD", "DMB.NSHST",
    "DSB.SY", "DSB.LD", "DSB.ST", "DSB.ISH", "DSB.ISHLD", "DSB.ISHST",
    "DSB.OSH", "DSB.OSHLD", "DSB.OSHST", "DSB.NSH", "DSB.NSHLD", "DSB.NSHST",
    "ISB",
    # RISC-V: ordering annotations and fences
    "Acq", "Rel", "AcqRel", "Sc",
    "Fence.r.r", "Fence.r.w", "Fence.r.rw", "Fence.w.r", "Fence.w.w", "Fence.w.rw",
    "Fence.rw.r", "Fence.rw.w", "Fence.rw.rw", "Fence.tso", "Fence.i",
)

SETS = ("R", "W", "M", "F", "IW", "FW", "Exp")
STATIC_RELATIONS = ("id", "po", "loc", "ext", "int", "rmw", "amo", "lxsx", "addr", "data",
                    "ctrl", "pick", "pick-addr", "pick-ctrl", "sm", "lmrs")
DYNAMIC_RELATIONS = ("rf", "co", "fr", "rfe", "rfi", "coe", "coi", "fre", "fri")

PRIMITIVE_NAMES = frozenset(SETS + ANNOTATIONS + STATIC_RELATIONS + DYNAMIC_RELATIONS)
