"""The names a cat model may use without defining them (herd's primitives), and their values
on one event structure.

Every architecture binds every name below: a set of annotations another architecture uses
is simply empty (``DMB.ISH`` in an x86 test), so one model file works on any test and a
misspelt name is still an ``unbound name`` error.

Two flavours (:func:`static_env`):

* the project's (shipped models, a user's model without herd's library): ``sm`` relates
  the events of one instruction (the read and write of an atomic exchange);
* herd's, for models that read herd's ``stdlib.cat``: ``sm`` / ``si`` relate each memory
  event to itself only (herd's single-copy-atomic classes, for accesses of one size),
  ``same-instance`` the events of one instruction, ``int`` leaves the initial writes out, and
  herd's other primitive sets (``Exp``, ``NExp``, ``B``, ``Rreg`` ...) and relations
  (``iico_data``, ``partial_po`` ...) are bound too; with ``catdep`` (a model that computes
  its dependencies, herd's ``aarch64.cat``) the structure gets herd's register events, see
  :mod:`.regs`.
"""

from __future__ import annotations

import os

import numpy as np

from .model import BUILTINS, MODELS_DIR

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

# herd's primitives (herd/machModelChecker.ml and the architectures' event sets) that the
# project's flavour does not bind.  Sets our events never belong to are empty: implicit
# effects (NExp), speculation, memory tagging, page tables, instruction fetch, cache and TLB
# maintenance, exceptions; the register-level ones (Rreg, Wreg, B, BCC, ADDR, DATA,
# iico_data, iico_ctrl) are herd's register events under `catdep` (empty otherwise, as herd
# leaves register events out of a model that does not compute dependencies).
HERD_EMPTY_SETS = (
    "NExp", "SPEC", "SPURIOUS", "PRED", "B", "BCC", "Rreg", "Wreg", "ADDR", "DATA",
    "T", "TagCheck", "FAULT", "EXC-ENTRY", "EXC-RET", "SVC", "TLBI", "TLBInXS", "TLBIIS",
    "DC.CVAU", "IC.IVAU", "IC.IALLU", "IC.IALLUIS", "HU", "HD", "HA", "PTE", "PTEV",
    "Instr", "NoRet-obsolete", "CSE", "ERET", "UDF", "TLBI-ALL",
)
HERD_RELATIONS = ("same-instance", "si", "iico_data", "iico_ctrl", "iico_order", "rf-reg",
                  "same-instr", "same-static", "partial_po", "depend", "success",
                  "control", "same-low-order-bits", "PTEtoPA")
HERD_PRIMITIVE_NAMES = frozenset(("EXEC",) + HERD_EMPTY_SETS + HERD_RELATIONS)
# What a `catdep` model gets in either flavour: herd's register events (see .regs).
CATDEP_NAMES = frozenset(("Rreg", "Wreg", "B", "BCC", "PRED", "ADDR", "DATA", "iico_data",
                          "iico_ctrl", "iico_order", "rf-reg", "same-instance", "same-instr",
                          "partial_po", "EXEC"))


class Ctx:
    """What herd's built-in functions read: the number of events ``n`` (``nmem`` of them
    memory events and fences, the rest herd's register events), each event's location id
    (-1: none) and value, the fences, the primitive ``po``, and the same-location write
    pairs (``with co from``)."""

    __slots__ = ("n", "nmem", "locs", "values", "fences", "po", "wwloc", "_names",
                 "_structure", "proj", "intra", "ident")

    def to_memory(self, rel):
        """A relation of the model's events as one on the structure's (the drawings'):
        herd's register events left out, a RISC-V amo's event split back into its read and
        write."""
        if self.proj is not None:
            p = self.proj.astype(np.float32)
            return (p @ rel.astype(np.float32) @ p.T) > 0
        return rel[:self.nmem, :self.nmem]

    def project(self, v, keep_intra=False):
        """A set or relation of the structure's events as one of the model's (see
        :func:`_merge_amos`): pairs inside one merged event are dropped, unless
        ``keep_intra`` (they become a loop)."""
        p = self.proj.astype(np.float32)
        if v.ndim == 1:
            return (p.T @ v.astype(np.float32)) > 0
        if not keep_intra:
            v = v & ~self.intra
        return (p.T @ v.astype(np.float32) @ p) > 0

    def loc2events(self, name):
        out = np.zeros(self.n, bool)
        s = self._structure
        for loc, i in s.loc_index.items():
            if loc is not None and getattr(loc, "sym", None) == name:
                out[:s.n] |= s.locs == i
        return out


def static_env(s, herd=False, catdep=False, store=None):
    """The primitives of structure ``s`` (a dict of values) and the built-ins' context, in
    the project's flavour or herd's (cached in ``store``, by default the structure's
    ``cat_cache``)."""
    key = ("herd" if herd else "ours", catdep)
    cache = (s.cat_cache if store is None else store).setdefault("%prims", {})
    if key in cache:
        return cache[key]
    base = dict(s.static_env())
    n = s.n
    ctx = Ctx()
    ctx.n = ctx.nmem = n
    ctx.locs = s.locs.copy()
    ctx.values = [e.value if e.kind in ("R", "W") else None for _t, _i, e in s.events]
    ctx.fences = base["F"]
    ctx.po = base["po"]
    ctx._structure = s
    ctx.proj = None
    if herd:
        M = base["M"]
        same_inst = base["sm"] & ~np.eye(n, dtype=bool) | (np.eye(n, dtype=bool) &
                                                             (s.thr >= 0)[:, None])
        base.update({
            "sm": np.diag(M), "si": np.diag(M), "same-instance": same_inst,
            "same-instr": same_inst, "int": base["int"] & (s.thr >= 0)[:, None],
            "EXEC": np.ones(n, bool), "partial_po": base["po"],
            "same-low-order-bits": base["loc"],
        })
        for nm in HERD_EMPTY_SETS:
            base.setdefault(nm, np.zeros(n, bool))
        for nm in ("iico_data", "iico_ctrl", "iico_order", "rf-reg", "same-static",
                   "depend", "success", "control", "PTEtoPA"):
            base[nm] = np.zeros((n, n), bool)
    if catdep:
        from .regs import register_layer
        base, ctx = register_layer(s, base, ctx, herd)
    elif herd and s.test.arch == "RISCV":
        base, ctx = _merge_amos(s, base, ctx)
    W = base["W"]
    ctx.wwloc = base["loc"] & W[:, None] & W[None, :]
    ident = base["id"]
    if base["sm"] is not ident and np.array_equal(base["sm"], ident):
        base["sm"] = ident  # no instruction with two events: `sm; r` is r (see Model._chain)
    ctx.ident = ident
    base.update(BUILTINS)
    cache[key] = (base, ctx)
    return base, ctx


def _merge_amos(s, base, ctx):
    """herd's RISC-V amo is one event that reads and writes (both ``R`` and ``W``); here
    it is a read and a write of one instruction: for herd's own models they are merged back
    into one event (a relation's pairs between the two are dropped)."""
    pairs = [(s.first[t] + r, s.first[t] + w) for t, tr in enumerate(s.traces)
             for r, w, k in tr.rmw if k == "amo"]
    if not pairs:
        return base, ctx
    n = s.n
    merged = {w: r for r, w in pairs}
    index, cls = {}, np.zeros(n, dtype=np.int64)
    for i in range(n):
        j = index.get(merged.get(i, i))
        if j is None:
            j = index[merged.get(i, i)] = len(index)
        cls[i] = j
    m = len(index)
    proj = np.zeros((n, m), bool)
    proj[np.arange(n), cls] = True
    ctx.proj = proj
    ctx.intra = (cls[:, None] == cls[None, :]) & ~np.eye(n, dtype=bool)
    out = {}
    for name, v in base.items():
        out[name] = ctx.project(v) if isinstance(v, np.ndarray) else v
    ctx.n = m
    first = {}
    for i in range(n):
        first.setdefault(int(cls[i]), i)
    ctx.locs = np.array([s.locs[first[j]] for j in range(m)], dtype=np.int64)
    ctx.values = [ctx.values[first[j]] for j in range(m)]
    ctx.fences = out["F"]
    ctx.po = out["po"]
    return out, ctx


def dynamic_env(ex, ctx):
    """The candidate's rf, co, fr ... (padded with herd's register events, or with a
    RISC-V amo's read and write as one event, for herd's models): a mapping from the names
    of ``executions.DYNAMIC_NAMES`` (the candidate itself when nothing is to be changed)."""
    if ctx.proj is None and ctx.n == ctx.nmem:
        return ex  # the candidate computes each relation when a model first asks for it
    dyn = ex.dynamic_env()
    if ctx.proj is not None:
        # an amo that reads its own write reads from itself: a loop in rf
        return {k: ctx.project(v, k in ("rf", "rfi")) for k, v in dyn.items()}
    padded = getattr(ex, "_dyn_padded", None)
    if padded is None:
        n, m = ctx.n, ctx.nmem
        padded = {}
        for k, v in dyn.items():
            if v.ndim == 1:
                p = np.zeros(n, bool)
                p[:m] = v
            else:
                p = np.zeros((n, n), bool)
                p[:m, :m] = v
            padded[k] = p
        try:
            ex._dyn_padded = padded
        except AttributeError:
            pass
    return padded
