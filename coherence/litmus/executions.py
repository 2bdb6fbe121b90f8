"""Candidate executions of a litmus test, for axiomatic (cat) models.

herd7's method, for any architecture whose instructions lower to the micro-ops below:

1. **Traces.** Each thread runs alone, a load returning any value its location may hold
   (the initial value, or a value some thread stores there).  That value domain is a
   fixpoint: run every thread with the current domains, add the values the stores wrote,
   repeat until nothing is new.  A trace lists the thread's events (reads, writes,
   fences) with their values, annotations, and the register dependencies between them
   (``addr``, ``data``, ``ctrl``), and the thread's final registers.  A trace whose
   address is not a location of the test (a guessed value used as a pointer) is
   infeasible and dropped.
2. **Event structures.** One trace per thread, plus an initial write per memory cell.
   Everything but ``rf`` and ``co`` is fixed here; a cat model's *static* bindings are
   evaluated once per structure.
3. **Candidates.** Every read takes its value from a write of the same location and
   value (``rf``), but not from the write of its own instruction (an atomic's write comes
   after its read, herd's intra-instruction causality); every location's writes are
   ordered after its initial write (``co``); a candidate where atomics' written values,
   computed from their reads, justify each other through ``rf`` in a cycle is dropped, as
   herd drops a candidate whose value equations it cannot solve.
   With ``prune`` (the shipped models, which all forbid it, and the models whose own check
   forbids it: see :meth:`.cat.model._Loader.coherence_check`), ``co`` follows program order
   between a thread's writes to one location and a read never reads a write of its own
   thread that comes later in program order.

The micro-ops (one instruction lowers to a few; registers are names, ``.fa``/``.fb`` hold
the operands of the last compare, as in :mod:`.enumerate`):

``("mov", dst, src)``, ``("alu", op, dst, a, b)``, ``("cmp", a, b)``,
``("br", cond, a, b, target)`` (``cond`` None: always; see :func:`.enumerate._cond`),
``("setcc", cond, dst)``, ``("csel", cond, dst, a, b)``, ``("ld", dst, addr, tags)``, ``("st", addr, src, tags)``,
``("amo", op, dst, addr, src, rtags, wtags, setflags)``,
``("cas", expected, dst, addr, new, rtags, wtags, setflags[, writeback])`` (``writeback``: a
failure may also write the old value back, as AArch64 allows),
``("ldx", dst, addr, tags)``, ``("stx", status, addr, src, tags, ok, fail)``,
``("fence", tags)``, ``("nop",)``, ``("halt",)``.  An operand is ``("r", name)`` or
``("i", value)``; an address is ``(sym, disp, base, index, scale)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .condition import _eq
from .enumerate import _Error, _add, _int
from .enumerate import _cond as _cond_x86
from .enumerate import _alu as _alu_x86
from .cat.values import bits_acyclic
from .ir import (INT32_ARCHS, Alu, Branch, Cmp, Fence, Halt, Load, Mem, MemLoc, Nop, Reg,
                 RegLoc, Rmw, SetCC, Store, Sym, int32)

_TRACE_LIMIT = 200_000      # traces of one thread
_STEP_LIMIT = 2_000         # micro-ops executed by one trace
_DOMAIN_ROUNDS = 12
CANDIDATE_LIMIT = 500_000    # candidate executions of one test (minutes of work)
STRUCTURE_LIMIT = 1_000_000  # combinations of one trace per thread


class Unsupported(Exception):
    """A construct the cat path cannot handle: becomes a skip reason with file:line."""

    def __init__(self, msg, line=None):
        super().__init__(msg)
        self.msg, self.line = msg, line


# --------------------------------------------------------------------------- lowering


def _opnd(o):
    if isinstance(o, Reg):
        return ("r", o.name)
    return ("i", o.value)


def _addr(m: Mem):
    return (m.sym, m.disp, m.base, m.index, m.scale)


def lower_x86(th) -> tuple[list, list]:
    """x86 IR (:mod:`.ir`) -> micro-ops and, per micro-op, its IR instruction index."""
    code, owner, fix = [], [], []
    starts = []
    temp = [0]

    def emit(op, k):
        code.append(op)
        owner.append(k)

    def new_temp():
        temp[0] += 1
        return f".v{temp[0]}"

    for k, ins in enumerate(th.instrs):
        starts.append(len(code))
        if isinstance(ins, Alu):
            if ins.op == "swap":
                t = new_temp()
                emit(("mov", t, ("r", ins.dst.name)), k)
                emit(("mov", ins.dst.name, ("r", ins.src.name)), k)
                emit(("mov", ins.src.name, ("r", t)), k)
            elif ins.op == "mov":
                emit(("mov", ins.dst.name, _opnd(ins.src)), k)
            else:
                src = _opnd(ins.src) if ins.src is not None else ("i", 0)
                emit(("alu", ins.op, ins.dst.name, ("r", ins.dst.name), src), k)
                emit(("mov", ".fa", ("r", ins.dst.name)), k)
                emit(("mov", ".fb", ("i", 0)), k)
        elif isinstance(ins, Cmp):
            if ins.test:
                t = new_temp()
                emit(("mov", t, _opnd(ins.a)), k)
                emit(("alu", "and", t, ("r", t), _opnd(ins.b)), k)
                emit(("cmp", ("r", t), ("i", 0)), k)
            else:
                emit(("cmp", _opnd(ins.a), _opnd(ins.b)), k)
        elif isinstance(ins, Branch):
            fix.append((len(code), ins.target))
            emit(("br", ins.cond, ("r", ".fa"), ("r", ".fb"), None), k)
        elif isinstance(ins, SetCC):
            emit(("setcc", ins.cond, ins.dst.name), k)
        elif isinstance(ins, Nop):
            emit(("nop",), k)
        elif isinstance(ins, Halt):
            emit(("halt",), k)
        elif isinstance(ins, Fence):
            emit(("fence", frozenset({ins.kind.upper()})), k)
        elif isinstance(ins, Load):
            emit(("ld", ins.dst.name, _addr(ins.addr), frozenset()), k)
        elif isinstance(ins, Store):
            emit(("st", _addr(ins.addr), _opnd(ins.src), frozenset()), k)
        elif isinstance(ins, Rmw):
            a = _addr(ins.addr)
            dst = ins.dst.name if ins.dst is not None else None
            x = frozenset({"X"})
            if ins.locked:
                if ins.op == "cmpxchg":
                    emit(("cas", ("r", ins.expected.name), dst, a, _opnd(ins.src), x, x,
                          True), k)
                else:
                    op = {"xchg": "swp", "xadd": "add"}.get(ins.op, ins.op)
                    emit(("amo", op, dst, a, _opnd(ins.src), x, x, op != "swp"), k)
            else:
                old = new_temp()
                emit(("ld", old, a, frozenset()), k)
                if ins.op == "xchg":
                    emit(("st", a, _opnd(ins.src), frozenset()), k)
                    emit(("mov", dst, ("r", old)), k)
                elif ins.op == "cmpxchg":
                    emit(("cmp", ("r", ins.expected.name), ("r", old)), k)
                    emit(("br", "ne", ("r", ".fa"), ("r", ".fb"), len(code) + 2), k)
                    emit(("st", a, _opnd(ins.src), frozenset()), k)
                    emit(("mov", dst, ("r", old)), k)
                else:
                    new = new_temp()
                    op = "add" if ins.op == "xadd" else ins.op
                    emit(("alu", op, new, ("r", old), _opnd(ins.src)), k)
                    emit(("mov", ".fa", ("r", new)), k)
                    emit(("mov", ".fb", ("i", 0)), k)
                    emit(("st", a, ("r", new), frozenset()), k)
                    if ins.op == "xadd":
                        emit(("mov", dst, ("r", old)), k)
        elif hasattr(ins, "uops"):
            raise TypeError(ins)  # pragma: no cover - other dialects use lower_uops
        else:  # pragma: no cover
            raise TypeError(ins)
    starts.append(len(code))
    for pos, label in fix:
        op = code[pos]
        code[pos] = op[:4] + (starts[th.labels[label]],)
    return code, owner


def lower_uops(th) -> tuple[list, list]:
    """Threads of the AArch64 / RISC-V dialects: instructions carry their micro-ops
    (``ins.uops``); a branch's target is a label, resolved here."""
    code, owner, fix, starts = [], [], [], []
    for k, ins in enumerate(th.instrs):
        starts.append(len(code))
        if isinstance(ins, Branch):
            fix.append((len(code), ins.target))
            code.append(("br", ins.cond, getattr(ins, "a", None), getattr(ins, "b", None),
                         None))
            owner.append(k)
            continue
        for op in getattr(ins, "uops", ()):  # a Nop has none
            code.append(op)
            owner.append(k)
    starts.append(len(code))
    for pos, label in fix:
        op = code[pos]
        code[pos] = op[:4] + (starts[th.labels[label]],)
    return code, owner


def lower(test, th):
    if test.arch in ("X86", "X86_64"):
        return lower_x86(th)
    return lower_uops(th)


# --------------------------------------------------------------------------- traces


@dataclass
class TEvent:
    """One event of a thread trace (``taint``s hold indices of the trace's reads)."""

    kind: str              # "R", "W" or "F"
    loc: MemLoc | None
    value: object
    tags: frozenset
    inst: int              # instruction instance (the R and W of one SWP share it)
    ins: int               # IR instruction index (source line, text)
    addr: frozenset = frozenset()
    data: frozenset = frozenset()
    ctrl: frozenset = frozenset()
    pick: frozenset = frozenset()
    own: bool = False      # a write whose value is computed from its instruction's read


@dataclass
class Trace:
    events: list
    regs: dict             # final register values
    rmw: list              # (read index, write index, kind "amo" | "lxsx")


class _WriteBack:
    """The pending choice of a failed CAS that writes its old value back."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _as_pick(taint):
    """Taints are sets of read indices; ``~i`` (negative) marks a dependency on read ``i``
    that goes through a pick step (a CAS's choice to write), herd's ``pick`` dependencies."""
    return frozenset(i if i < 0 else ~i for i in taint)


class _Infeasible(Exception):
    pass


def _alu(op, a, b):
    """:func:`.enumerate._alu` plus AArch64's ``clr`` (a & ~b), RISC-V's ``max``/``min``,
    and ``x ^ x`` / ``x - x`` = 0 for an address ``x`` (a false dependency)."""
    if op in ("xor", "sub") and isinstance(a, Sym) and a == b:
        return 0
    if op == "clr":
        return _int(a) & ~_int(b)
    if op == "mul":
        return _int(a) * _int(b)
    if op in ("max", "min", "maxu", "minu"):
        a, b = _int(a), _int(b)
        if op.endswith("u"):
            a, b = a & 0xFFFFFFFFFFFFFFFF, b & 0xFFFFFFFFFFFFFFFF
        return max(a, b) if op.startswith("max") else min(a, b)
    return _alu_x86(op, a, b)


def _cond(c, a, b) -> bool:
    """:func:`.enumerate._cond` plus AArch64's overflow conditions of ``a - b`` (64-bit)."""
    if c in ("vs", "vc"):
        r = _int(a) - _int(b)
        overflow = not (-(1 << 63) <= r < (1 << 63))
        return overflow if c == "vs" else not overflow
    return _cond_x86(c, a, b)


def _value(o, regs):
    if o is None:
        return 0, frozenset()
    if o[0] == "i":
        return o[1], frozenset()
    return regs.get(o[1], (0, frozenset()))


def _location(test, a, regs):
    sym, disp, base, index, scale = a
    v = Sym(sym, disp) if sym is not None else disp
    taint = frozenset()
    try:
        if base is not None:
            bv, bt = regs.get(base, (0, frozenset()))
            v = _add(v, bv)
            taint |= bt
        if index is not None:
            iv, it = regs.get(index, (0, frozenset()))
            v = _add(v, _int(iv) * scale)
            taint |= it
    except _Error:
        raise _Infeasible() from None
    if not isinstance(v, Sym):
        raise _Infeasible()
    cell = test.cell_of(v)
    if cell is None:
        raise _Infeasible()
    return cell, taint


def _through_memory(evs, loc):
    """The dependencies a read of ``loc`` inherits from the thread's latest earlier write
    to it (herd's AArch64 dependencies go through memory: ``lmrs`` is part of ``dtrm``):
    what that write's value and address depended on."""
    for e in reversed(evs):
        if e.kind == "W" and e.loc == loc:
            return e.data | e.addr | e.pick
    return frozenset()


def _read_choice(stack, domain, loc, pending, path):
    """The value a read of ``loc`` takes on this path: ``pending`` when the path resumes a
    branch on it, else the first value of ``loc``'s domain, a branch being pushed for each
    other value (``path``: the stack entry to resume, without its pending value)."""
    if pending is not None:
        return pending
    vals = domain.get(loc, (0,))
    for v in vals[1:]:
        stack.append(path + (v,))
    return vals[0]


def thread_traces(test, t, code, owner, domain, init_regs):
    """Every trace of thread ``t`` given the value ``domain`` (MemLoc -> values)."""
    out = []
    zero = frozenset()
    via_memory = test.arch == "AArch64"
    narrow = test.arch in INT32_ARCHS  # herd's values are 32-bit there
    regs0 = {r: (v, zero) for r, v in init_regs.items()}
    # stack entries: (pc, regs, events, ctrl, reservation, rmw, steps, inst, pending)
    # ``pending``: the value a load at ``pc`` is to return (set when branching on it).
    stack = [(0, regs0, (), zero, None, (), 0, 0, None)]
    n = len(code)
    while stack:
        pc, regs, evs, ctrl, resv, rmw, steps, inst, pending = stack.pop()
        try:
            while True:
                if pc >= n:
                    out.append(Trace(list(evs), {r: v for r, (v, _t) in regs.items()},
                                     list(rmw)))
                    break
                steps += 1
                if steps > _STEP_LIMIT:
                    raise Unsupported("the thread loops (herd unrolls loops; the cat path "
                                      "does not)")
                op = code[pc]
                k = op[0]
                if k == "mov":
                    if op[1] is not None:
                        regs = {**regs, op[1]: _value(op[2], regs)}
                    pc += 1
                elif k == "alu":
                    _, aop, dst, a, b = op
                    va, ta = _value(a, regs)
                    vb, tb = _value(b, regs)
                    try:
                        r = _alu(aop, va, vb)
                    except _Error:
                        raise _Infeasible() from None
                    if narrow and type(r) is int:
                        r = int32(r)
                    if dst is not None:
                        regs = {**regs, dst: (r, ta | tb)}
                    pc += 1
                elif k == "cmp":
                    regs = {**regs, ".fa": _value(op[1], regs), ".fb": _value(op[2], regs)}
                    pc += 1
                elif k == "br":
                    _, c, a, b, target = op
                    if c is None:
                        pc = target
                        continue
                    va, ta = _value(a, regs)
                    vb, tb = _value(b, regs)
                    try:
                        taken = _cond(c, va, vb)
                    except _Error:
                        raise _Infeasible() from None
                    ctrl = ctrl | ta | tb
                    pc = target if taken else pc + 1
                elif k == "csel":
                    # Rd = a if cond(flags) else b: data from the chosen operand, and the
                    # choice depends on the flags through a pick step (herd's iico_ctrl)
                    _, c, dst, a, b = op
                    va, ta = regs.get(".fa", (0, zero))
                    vb, tb = regs.get(".fb", (0, zero))
                    try:
                        chosen = a if _cond(c, va, vb) else b
                    except _Error:
                        raise _Infeasible() from None
                    v, tv = _value(chosen, regs)
                    if dst is not None:
                        regs = {**regs, dst: (v, tv | _as_pick(ta | tb))}
                    pc += 1
                elif k == "setcc":
                    va, ta = regs.get(".fa", (0, zero))
                    vb, tb = regs.get(".fb", (0, zero))
                    try:
                        v = 1 if _cond(op[1], va, vb) else 0
                    except _Error:
                        raise _Infeasible() from None
                    regs = {**regs, op[2]: (v, ta | tb)}
                    pc += 1
                elif k in ("nop",):
                    pc += 1
                elif k == "halt":
                    pc = n
                elif k == "fence":
                    evs = evs + (TEvent("F", None, None, op[1], inst, owner[pc], ctrl=ctrl),)
                    inst += 1
                    pc += 1
                elif k in ("ld", "ldx"):
                    _, dst, a, tags = op
                    loc, at = _location(test, a, regs)
                    v = _read_choice(stack, domain, loc, pending,
                                     (pc, regs, evs, ctrl, resv, rmw, steps - 1, inst))
                    pending = None
                    idx = len(evs)
                    if k == "ldx":
                        tags = tags | {"EX"}
                        resv = (idx, loc)
                    # what an earlier write to loc depended on reaches this read (herd's
                    # pick-basic-dep goes through memory)
                    mt = _through_memory(evs, loc) if via_memory else frozenset()
                    evs = evs + (TEvent("R", loc, v, tags, inst, owner[pc], addr=at,
                                        ctrl=ctrl, pick=_as_pick(mt)),)
                    inst += 1
                    if dst is not None:
                        vt = frozenset({idx}) | mt
                        regs = {**regs, dst: (v, vt)}
                    pc += 1
                elif k == "st":
                    _, a, src, tags = op
                    loc, at = _location(test, a, regs)
                    v, dt = _value(src, regs)
                    evs = evs + (TEvent("W", loc, v, tags, inst, owner[pc], addr=at, data=dt,
                                        ctrl=ctrl),)
                    inst += 1
                    pc += 1
                elif k == "stx":
                    _, status, a, src, tags, ok, fail = op
                    loc, at = _location(test, a, regs)
                    v, dt = _value(src, regs)
                    stt = frozenset()
                    if resv is not None and resv[1] == loc:
                        # the failing branch: no write, the status register says so
                        fregs = {**regs, status: (fail, zero)} if status else regs
                        stack.append((pc + 1, fregs, evs, ctrl, None, rmw, steps, inst, None))
                        idx = len(evs)
                        # herd: the status register of a successful store depends on the
                        # write itself (RISC-V's "success dependency"), not on the operands
                        stt = frozenset({idx})
                        evs = evs + (TEvent("W", loc, v, tags | {"EX"}, inst, owner[pc],
                                            addr=at, data=dt, ctrl=ctrl),)
                        rmw = rmw + ((resv[0], idx, "lxsx"),)
                        if status:
                            regs = {**regs, status: (ok, stt)}
                    elif status:
                        regs = {**regs, status: (fail, zero)}
                    resv = None
                    inst += 1
                    pc += 1
                elif k in ("amo", "cas"):
                    loc, at = _location(test, op[3], regs)
                    old = _read_choice(stack, domain, loc, pending,
                                       (pc, regs, evs, ctrl, resv, rmw, steps - 1, inst))
                    pending = None
                    writeback = False
                    if isinstance(old, _WriteBack):
                        old, writeback = old.value, True
                    ridx = len(evs)
                    rt = frozenset({ridx})
                    if via_memory:
                        rt |= _through_memory(evs, loc)
                    if k == "amo":
                        _, aop, dst, _a, src, rtags, wtags, setf = op
                        sv, st_ = _value(src, regs)
                        try:
                            new = sv if aop == "swp" else _alu(aop, old, sv)
                        except _Error:
                            raise _Infeasible() from None
                        if narrow and type(new) is int:
                            new = int32(new)
                        write = True
                        flags = (new, 0) if setf else None
                    else:
                        _, exp, dst, _a, src, rtags, wtags, setf = op[:8]
                        ev_, et = _value(exp, regs)
                        sv, st_ = _value(src, regs)
                        write = _eq(old, ev_)
                        new = sv
                        if not write and len(op) > 8 and op[8] and not writeback:
                            # AArch64: a failed CAS may also write back the value it read
                            # (CONSTRAINED UNPREDICTABLE; herd enumerates both)
                            stack.append((pc, regs, evs, ctrl, resv, rmw, steps - 1, inst,
                                          _WriteBack(old)))
                        if writeback:
                            write, new, st_ = True, old, frozenset()
                        # the write exists because the read matched: herd's CAS carries
                        # the read into the write's dependencies
                        st_ = st_ | rt
                        flags = (ev_, old) if setf else None
                    evs = evs + (TEvent("R", loc, old, rtags, inst, owner[pc], addr=at,
                                        ctrl=ctrl),)
                    dt = rt
                    if write:
                        widx = len(evs)
                        # A CAS writes because its read matched the expected value: that
                        # value's reads are a "pick" dependency of the write (herd's
                        # iico_ctrl), not a data one.
                        pk = _as_pick(et) if k == "cas" else frozenset()
                        # the value written is computed from the value read (an atomic
                        # operation but a swap, a failed CAS's write-back): herd's
                        # equation for it has the read's value in it
                        own = writeback if k == "cas" else aop != "swp"
                        evs = evs + (TEvent("W", loc, new, wtags, inst, owner[pc], addr=at,
                                            data=st_, ctrl=ctrl, pick=pk, own=own),)
                        rmw = rmw + ((ridx, widx, "amo"),)
                    alt = None
                    if k == "cas" and write and not writeback:
                        if test.arch == "AArch64":
                            # On success the register gets the old value, which equals the
                            # expected one: herd builds both event structures, the
                            # register's data coming from the expected value (and, through
                            # the comparison, a pick step, from the read) or from the read
                            # (herd's `DataFromRRs` / `DataFromRx`; its CAS-ok-* tests).
                            dt = et | _as_pick(rt)
                            alt = rt
                        else:
                            # the old value, through the comparison (a pick step)
                            dt = _as_pick(rt)
                    elif k == "cas" and not write and test.arch == "AArch64":
                        # A failed CAS that does not write: herd builds two event
                        # structures as well (its `aarch64_cas_no`, with and without
                        # `add_ctrl`): the register's value comes from the read, and in
                        # the second also, through the comparison (a pick step), from the
                        # expected value.  (The failure that writes back is one.)
                        alt = rt | _as_pick(et)
                    inst += 1
                    if flags is not None:
                        regs = {**regs, ".fa": (flags[0], rt), ".fb": (flags[1], rt)}
                    if alt is not None:
                        # (herd has both even without a register: the same execution twice)
                        aregs = {**regs, dst: (old, alt)} if dst is not None else regs
                        stack.append((pc + 1, aregs, evs, ctrl, resv, rmw, steps, inst, None))
                    if dst is not None:
                        regs = {**regs, dst: (old, dt)}
                    pc += 1
                else:  # pragma: no cover
                    raise AssertionError(k)
        except _Infeasible:
            continue
        if len(out) > _TRACE_LIMIT:
            raise Unsupported(f"more than {_TRACE_LIMIT} traces for P{t}")
    return out


# --------------------------------------------------------------------------- structures


class Structure:
    """One trace per thread plus the initial writes: the events and every static relation.

    ``cat_cache`` holds each model's static bindings for this structure.
    """

    # What a structure shares with every other of its test that has the same shape (see
    # :func:`_shape`): everything but the events' values and the final registers.
    _SHARED = ("first", "n", "ninit", "kind", "loc_index", "locs", "R", "W", "M", "F", "po",
               "loc", "thr", "own_flow", "_static", "writes_of", "shape_cache")

    def __init__(self, test, traces, cells, init_values, shapes=None):
        self.test = test
        self.traces = traces
        ev = []  # (thread, seq, TEvent)
        for c in cells:
            ev.append((-1, 0, TEvent("W", c, init_values[c], frozenset({"IW"}), -1, -1)))
        first = []
        for t, tr in enumerate(traces):
            first.append(len(ev))
            for i, e in enumerate(tr.events):
                ev.append((t, i, e))
        self.events = ev
        # per-model caches that may depend on the values (see Model.check)
        self.cat_cache = {}
        key = None
        if shapes is not None:
            key = tuple(_shape(tr) for tr in traces)
            shared = shapes.get(key)
            if shared is not None:
                for name, v in zip(self._SHARED, shared):
                    setattr(self, name, v)
                return
        self.first = first
        self._build(ev, len(cells))
        # per-model caches of what depends on the shape only, shared by the structures of
        # the shape
        self.shape_cache = {}
        if key is not None:
            shapes[key] = tuple(getattr(self, name) for name in self._SHARED)

    def _build(self, ev, ninit):
        traces = self.traces
        n = self.n = len(ev)
        self.ninit = ninit
        thr = np.array([t for t, _i, _e in ev], dtype=np.int64)
        seq = np.array([i for _t, i, _e in ev], dtype=np.int64)
        inst = np.array([e.inst for _t, _i, e in ev], dtype=np.int64)
        kind = [e.kind for _t, _i, e in ev]
        self.kind = kind
        self.loc_index = {}
        locs = np.array([self.loc_index.setdefault(e.loc, len(self.loc_index))
                         if e.loc is not None else -1 for _t, _i, e in ev], dtype=np.int64)
        self.locs = locs
        R = np.array([k == "R" for k in kind], dtype=bool)
        W = np.array([k == "W" for k in kind], dtype=bool)
        F = np.array([k == "F" for k in kind], dtype=bool)
        M = R | W
        same_t = thr[:, None] == thr[None, :]
        same_inst = same_t & (inst[:, None] == inst[None, :]) & (thr[:, None] >= 0)
        po = same_t & (seq[:, None] < seq[None, :]) & (thr[:, None] >= 0) & ~same_inst
        loc = (locs[:, None] == locs[None, :]) & M[:, None] & M[None, :]
        self.R, self.W, self.M, self.F = R, W, M, F
        self.po = po
        self.loc = loc
        self.thr = thr
        rmw = np.zeros((n, n), bool)
        amo = np.zeros((n, n), bool)
        lxsx = np.zeros((n, n), bool)
        addr = np.zeros((n, n), bool)
        data = np.zeros((n, n), bool)
        ctrl = np.zeros((n, n), bool)
        pick = np.zeros((n, n), bool)
        pick_addr = np.zeros((n, n), bool)  # the pick dependencies that reach an address
        pick_ctrl = np.zeros((n, n), bool)  # ... or a branch
        # an atomic's read -> its write, when the write's value is computed from the read
        self.own_flow = {}
        for t, tr in enumerate(traces):
            b = self.first[t]
            for r, w, k in tr.rmw:
                rmw[b + r, b + w] = True
                (amo if k == "amo" else lxsx)[b + r, b + w] = True
                if tr.events[w].own:
                    self.own_flow[b + w] = b + r
            for i, e in enumerate(tr.events):
                for rel, taint in ((addr, e.addr), (data, e.data), (ctrl, e.ctrl),
                                   (pick, e.pick)):
                    for s in taint:
                        if s >= 0:
                            rel[b + s, b + i] = True
                        else:  # through a pick step (see _as_pick)
                            pick[b + ~s, b + i] = True
                            if rel is addr:
                                pick_addr[b + ~s, b + i] = True
                            elif rel is ctrl:
                                pick_ctrl[b + ~s, b + i] = True
        # herd's ctrl also orders the events of later instructions only (po).
        ctrl &= po
        pick &= ~same_inst  # herd: pick-dep & ~same-instance
        pick_addr &= ~same_inst
        pick_ctrl &= po
        # lmrs: a write, then a read of the same location with no write between them.
        pl = po & loc
        wpl = pl & W[:, None]
        between = (wpl.astype(np.float32) @ (pl & W[:, None]).astype(np.float32)) > 0
        lmrs = wpl & R[None, :] & ~between
        sets = {"R": R, "W": W, "M": M, "F": F, "Exp": M,
                "IW": thr < 0}
        from .cat.prims import ANNOTATIONS
        for a in ANNOTATIONS:
            sets[a] = np.array([a in e.tags for _t, _i, e in ev], dtype=bool)
        self._static = dict(sets)
        self._static.update({
            "id": np.eye(n, dtype=bool), "po": po, "loc": loc, "int": same_t, "ext": ~same_t,
            "rmw": rmw, "amo": amo, "lxsx": lxsx, "addr": addr, "data": data, "ctrl": ctrl,
            "pick": pick, "pick-addr": pick_addr, "pick-ctrl": pick_ctrl,
            "sm": same_inst | np.eye(n, dtype=bool), "lmrs": lmrs,
        })
        for name, f in __import__("coherence.litmus.cat.model",
                                  fromlist=["BUILTINS"]).BUILTINS.items():
            self._static[name] = f
        # Writes per location (init first), reads with their candidate writes.
        self.writes_of = {}
        for i in range(n):
            if W[i]:
                self.writes_of.setdefault(locs[i], []).append(i)

    def static_env(self):
        return self._static

    def event(self, i) -> TEvent:
        return self.events[i][2]

    def label(self, i) -> str:
        """herd-style event label: ``a: W[x]=1`` (annotations after the kind)."""
        t, _s, e = self.events[i]
        if e.kind == "F":
            return "F" + ("" if not e.tags else "." + ".".join(sorted(e.tags)))
        ann = "".join(sorted(tag for tag in e.tags if tag not in ("IW",)))
        loc = e.loc.sym if e.loc.index == 0 else f"{e.loc.sym}[{e.loc.index}]"
        return f"{e.kind}{ann}[{loc}]={e.value}"


def _shape(tr):
    """A trace without its values: everything the static relations of a structure are
    computed from (kinds, locations, annotations, instructions, dependencies, rmw pairs).
    Structures whose traces have the same shapes share those relations and each model's
    static bindings (a model that reads the events' values, herd's ``different-values``,
    keeps its own per structure)."""
    sh = tr.__dict__.get("_shape")
    if sh is None:
        sh = tr.__dict__["_shape"] = (
            tuple((e.kind, e.loc, e.tags, e.inst, e.ins, e.addr, e.data, e.ctrl, e.pick, e.own)
                  for e in tr.events), tuple(tr.rmw))
    return sh


#: The relations (and the set FW) that differ between the candidates of one structure.
DYNAMIC_NAMES = ("rf", "co", "fr", "FW", "rfe", "rfi", "coe", "coi", "fre", "fri")
_SPLIT = {"rfe": ("rf", True), "rfi": ("rf", False), "coe": ("co", True),
          "coi": ("co", False), "fre": ("fr", True), "fri": ("fr", False)}


class Candidate:
    """A structure plus ``rf`` (read -> write) and ``co`` (per location, write order)."""

    __slots__ = ("structure", "n", "rf_src", "co_orders", "_dyn")

    def __init__(self, structure, rf_src, co_orders):
        self.structure, self.n = structure, structure.n
        self.rf_src, self.co_orders = rf_src, co_orders
        self._dyn = None

    def dynamic_env(self):
        """Every dynamic relation of the candidate (a dict)."""
        for name in DYNAMIC_NAMES:
            self[name]
        return self._dyn

    def __getitem__(self, name):
        """One of the candidate's dynamic relations (``DYNAMIC_NAMES``), computed when first
        asked for: a model that never names ``coi`` does not pay for it."""
        d = self._dyn
        if d is None:
            d = self._dyn = self._base()
        v = d.get(name)
        if v is None:
            if name not in _SPLIT:
                raise KeyError(name)
            base, external = _SPLIT[name]
            st = self.structure._static
            v = d[name] = d[base] & (st["ext"] if external else st["int"])
        return v

    def _base(self):
        """rf, co, fr and FW, set pair by pair (a litmus test has few)."""
        n = self.n
        rf = np.zeros((n, n), bool)
        co = np.zeros((n, n), bool)
        fw = np.zeros(n, bool)
        for order in self.co_orders:
            for i in range(len(order) - 1):
                co[order[i], order[i + 1:]] = True
            fw[order[-1]] = True
        fr = np.zeros((n, n), bool)
        for r, w in self.rf_src.items():
            rf[w, r] = True
            fr[r] = co[w]  # r fr w': w' is co-after the write r reads
        return {"rf": rf, "co": co, "fr": fr, "FW": fw}

    def final_memory(self):
        s = self.structure
        out = {}
        for order in self.co_orders:
            e = s.event(order[-1])
            out[e.loc] = e.value
        return out


# --------------------------------------------------------------------------- enumeration


def _init_regs(test, t):
    return {loc.reg: v for loc, v in test.init.items()
            if isinstance(loc, RegLoc) and loc.thread == t}


def all_traces(test):
    """Per thread, every feasible trace (the value domain computed to its fixpoint)."""
    codes = [lower(test, th) for th in test.threads]
    cells = set(test.memory_cells())
    domain = {c: [test.init.get(c, 0)] for c in cells}
    # A value an execution can produce flows through a chain of distinct writes, so after
    # as many rounds as the program has store instructions the domain holds every value a
    # real execution may read (extra guesses are harmless: no write matches them).
    nstores = sum(1 for code, _o in codes for op in code
                  if op[0] in ("st", "stx", "amo", "cas"))
    for _round in range(min(nstores + 1, _DOMAIN_ROUNDS)):
        traces = []
        for t, (code, owner) in enumerate(codes):
            traces.append(thread_traces(test, t, code, owner, domain, _init_regs(test, t)))
        changed = False
        for trs in traces:
            for tr in trs:
                for e in tr.events:
                    if e.kind == "W":
                        vals = domain.setdefault(e.loc, [test.init.get(e.loc, 0)])
                        if not any(_eq(e.value, v) and type(e.value) is type(v)
                                   for v in vals):
                            vals.append(e.value)
                            changed = True
                    if e.loc is not None and e.loc not in domain:
                        domain[e.loc] = [test.init.get(e.loc, 0)]
                        changed = True
        if not changed:
            return traces, domain, codes
    if nstores + 1 <= _DOMAIN_ROUNDS:
        return traces, domain, codes
    raise Unsupported(f"the values stored do not settle within {_DOMAIN_ROUNDS} rounds")


def prune_private(test, traces):
    """Drop the traces that read, from a location no other thread writes, anything but the
    thread's own latest write to it (or the initial value): no coherent execution has
    them.  Sound for the models that require coherence (the shipped ones)."""
    writers = {}
    for t, trs in enumerate(traces):
        for tr in trs:
            for e in tr.events:
                if e.kind == "W":
                    writers.setdefault(e.loc, set()).add(t)
    out = []
    for t, trs in enumerate(traces):
        keep = []
        for tr in trs:
            last = {}
            ok = True
            for e in tr.events:
                if e.kind == "R" and not (writers.get(e.loc, set()) - {t}):
                    expect = last.get(e.loc, test.init.get(e.loc, 0))
                    if not _same(e.value, expect):
                        ok = False
                        break
                if e.kind == "W":
                    last[e.loc] = e.value
            if ok:
                keep.append(tr)
        out.append(keep)
    return out


def _same(a, b):
    return type(a) is type(b) and a == b


def structures(test, traces, domain):
    """Every combination of one trace per thread whose reads can all be satisfied."""
    cells = sorted(domain, key=lambda c: (c.sym, c.index))
    init_values = {c: test.init.get(c, 0) for c in cells}
    shapes = {}
    from ..errors import CoherenceError
    for count, combo in enumerate(itertools.product(*traces)):
        if count >= STRUCTURE_LIMIT:
            raise CoherenceError(f"more than {STRUCTURE_LIMIT:,} combinations of thread "
                                 "traces; the test is too large for the cat path",
                                 file=test.path, line=test.line)
        # Quick filter: each read's value is written by somebody (or is initial).
        avail = {}
        for c in cells:
            avail.setdefault(c, []).append(init_values[c])
        for tr in combo:
            for e in tr.events:
                if e.kind == "W":
                    avail[e.loc].append(e.value)
        ok = True
        for tr in combo:
            for e in tr.events:
                if e.kind == "R" and not any(_same(e.value, v) for v in avail[e.loc]):
                    ok = False
                    break
            if not ok:
                break
        if ok:
            yield Structure(test, list(combo), cells, init_values, shapes)


def candidates(s: Structure, prune: bool, with_rmw: bool = True):
    """Every (rf, co) candidate of structure ``s``.

    With ``prune`` the choices are made per location and kept only when that location on
    its own is coherent (``po-loc | rmw | rf | co | fr`` has no cycle; without ``with_rmw``,
    ``po-loc | rf | co | fr``), which every shipped model requires (and herd's x86tso.cat,
    riscv.cat, sc.cat ... check); the candidates are then the product over locations of those
    choices, far fewer than the product of all rf and co choices.  A location's choices
    depend on its events and their values only: they are computed once for the structures
    of one shape that give that location's events the same values.
    """
    n = s.n
    per_loc = []
    reads_of = {}
    for r in range(n):
        if s.R[r]:
            reads_of.setdefault(s.locs[r], []).append(r)
    cache = s.shape_cache.setdefault(("%candidates", prune, with_rmw), {}) \
        if hasattr(s, "shape_cache") else {}
    for loc in set(s.writes_of) | set(reads_of):
        ws = s.writes_of.get(loc, [])
        reads = reads_of.get(loc, [])
        key = (loc,) + tuple((type(v), v) for v in (s.event(i).value for i in ws)) + \
            (None,) + tuple((type(v), v) for v in (s.event(i).value for i in reads))
        combos = cache.get(key)
        if combos is None:
            combos = cache[key] = _location_choices(s, ws, reads, prune, with_rmw)
        if not combos:
            return
        per_loc.append(combos)
    flow = s.own_flow
    for pick in itertools.product(*per_loc):
        rf_src = {}
        orders = []
        for pairs, order in pick:
            rf_src.update(pairs)
            orders.append(order)
        if flow and _cyclic_values(flow, rf_src):
            continue
        yield Candidate(s, rf_src, orders)


def _location_choices(s, ws, reads, prune, with_rmw):
    """The (rf pairs, co order) choices of one location, its writes ``ws`` (the initial one
    first) and reads ``reads`` (see :func:`candidates`); empty when there is none."""
    # herd: a read never reads the write of its own instruction (an atomic's write comes
    # after its read inside the instruction: herd's iico, which rf may not go against)
    own = s._static["sm"]
    choices = []
    for r in reads:
        er = s.event(r)
        opts = []
        for w in ws:
            if not _same(s.event(w).value, er.value):
                continue
            if prune and s.thr[w] == s.thr[r] and (s.po[r, w] or w == r):
                continue
            if own[r, w] and w != r:
                continue
            opts.append(w)
        if not opts:
            return []
        choices.append(opts)
    perms = []
    init, rest = ws[0], ws[1:]
    for p in itertools.permutations(rest):
        if prune and any(s.po[p[b], p[a]] for a in range(len(p))
                         for b in range(a + 1, len(p))):
            continue
        perms.append((init,) + p)
    coherent = _Coherence(s, ws, reads, with_rmw) if prune else None
    combos = []
    for rf_pick in itertools.product(*choices):
        for order in perms:
            if prune and not coherent(rf_pick, order):
                continue
            combos.append((tuple(zip(reads, rf_pick)), order))
    return combos


class _Coherence:
    """Whether one location's po-loc | rmw | rf | co | fr (without rmw: po-loc | rf | co |
    fr) has no cycle, for a choice of rf and co: its nodes are the location's writes (bits
    0 .. nw-1, in ``ws``'s order) and reads (the next bits)."""

    def __init__(self, s, ws, reads, with_rmw):
        evs = list(ws) + list(reads)
        self.nw = nw = len(ws)
        self.k = len(evs)
        self.bit = {w: 1 << j for j, w in enumerate(ws)}
        self.pos = {w: j for j, w in enumerate(ws)}
        rel = s.po
        rmw = s._static["rmw"] if with_rmw else None
        base = []
        for a in evs:
            m = 0
            for j, b in enumerate(evs):
                if rel[a, b] or (rmw is not None and rmw[a, b]):
                    m |= 1 << j
            base.append(m)
        self.base = base
        self.read_bits = [1 << (nw + j) for j in range(len(reads))]

    def __call__(self, rf_pick, order) -> bool:
        if self.k <= 1:
            return True
        succ = list(self.base)
        bit, pos = self.bit, self.pos
        after = {}  # write -> the writes co-after it
        m = 0
        for w in reversed(order):
            after[w] = m
            succ[pos[w]] |= m
            m |= bit[w]
        nw = self.nw
        for j, w in enumerate(rf_pick):
            succ[pos[w]] |= self.read_bits[j]
            succ[nw + j] |= after[w]
        return bits_acyclic(succ, (1 << self.k) - 1)


def _cyclic_values(flow, rf_src) -> bool:
    """Whether atomics' values are justified only by each other: a cycle of reads-from and
    read-to-write flows inside atomic instructions (``flow``: write -> its instruction's
    read).  herd solves the values of a candidate from the constants and drops one whose
    equations stay unsolved ("this occurs with cyclic rfmaps", its ``when_unsolved``); the
    models that order an atomic's read before its write reject those anyway, not herd
    7.58's plain ``sc.cat``, which leaves them out of ``po``."""
    reads = set(flow.values())
    for start in reads:
        r, seen = start, set()
        while r in reads and r not in seen:
            seen.add(r)
            w = rf_src.get(r)
            if w not in flow:
                break
            r = flow[w]
            if r == start:
                return True
    return False
