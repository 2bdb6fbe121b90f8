"""Exhaustive SC and x86-TSO verdicts for a litmus test (no randomness).

The machine is operational:

- ``sc``: one memory, threads interleave one instruction at a time; a locked RMW (and
  ``xchg``) is a single atomic step.
- ``tso`` (x86-TSO, Owens/Sarkar/Sewell): each thread has a FIFO store buffer; a store enters
  it, a load reads the newest buffered store to its address (forwarding) or else memory, the
  oldest buffered store may drain to memory at any time, ``mfence`` waits for the buffer to
  drain, and a locked RMW waits for it, then reads and writes memory in one atomic step.

This machine allows exactly the executions herd7's axiomatic ``sc.cat`` / ``x86tso.cat``
allow, and herd counts *executions*, not final states: ``positive``/``negative`` are the
numbers of allowed executions whose final state does / does not satisfy the condition's
proposition.  An execution is identified by its reads-from map (which write each read saw)
and its coherence order (the order in which writes reached memory), so the explored state
carries both ("identity"); two interleavings that differ only in the order of independent
steps reach the same state and are merged by the visited set.  Programs that can loop (a
backward jump) would make the identity grow without bound; for them the identity is dropped
and executions are counted as distinct final machine states (docs/litmus.md).

Reductions, each preserving the set of reachable (identity, final state) pairs:

- thread-local steps (register operations, branches, ``mfence`` on an empty buffer, and under
  TSO every store, which only appends to the thread's own buffer) run eagerly: they commute
  with every step of every other thread and cannot be disabled;
- accesses to a location no other thread writes (loads) or touches (stores, drains, RMWs)
  run eagerly for the same reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import CoherenceError
from .condition import _eq, compile_prop, format_condition
from .ir import (Alu, Branch, Cmp, Fence, Halt, Load, LitmusTest, Mem, Nop, Reg,
                 RegLoc, Rmw, SetCC, Store, Sym, location_sort_key, prop_locations, word)

MODELS = ("sc", "tso")

# Micro-op kinds.
_ALU, _CMP, _JCC, _SETCC, _NOP, _HALT, _LOAD, _STORE, _MFENCE, _RMW = range(10)

_LOCAL_STEP_LIMIT = 100_000   # a thread spinning on registers alone never ends
_STATE_LIMIT = 5_000_000      # refuse to explode silently
_MASK64 = (1 << 64) - 1
_WID_STRIDE = 1 << 20         # write id = thread * stride + micro-op index + 1; init = 0


class _Error(Exception):
    """A run-time fault of the test program (becomes a CoherenceError with the source line)."""


# --------------------------------------------------------------------------- value helpers


def _add(a, b):
    if isinstance(a, Sym):
        if isinstance(b, Sym):
            raise _Error("adding two addresses")
        return Sym(a.name, a.offset + b)
    if isinstance(b, Sym):
        return Sym(b.name, b.offset + a)
    return word(a + b)


def _sub(a, b):
    if isinstance(a, Sym):
        if isinstance(b, Sym):
            if a.name != b.name:
                raise _Error("subtracting addresses of different locations")
            return a.offset - b.offset
        return Sym(a.name, a.offset - b)
    if isinstance(b, Sym):
        raise _Error("subtracting an address from an integer")
    return word(a - b)


def _int(v):
    if isinstance(v, Sym):
        raise _Error(f"arithmetic on the address {v}")
    return v


def _alu(op, a, b):
    """``a op b`` on 64-bit words (results wrap as on the emulator; a shift count is masked
    to 6 bits, as x86 does for 64-bit operands)."""
    if op == "mov":
        return b
    if op == "add":
        return _add(a, b)
    if op == "sub":
        return _sub(a, b)
    a = _int(a)
    if op == "neg":
        return word(-a)
    if op == "not":
        return ~a
    b = _int(b)
    if op == "and":
        return a & b
    if op == "or":
        return a | b
    if op == "xor":
        return a ^ b
    if op == "shl":
        return word(a << (b & 63))
    if op == "shr":
        return word((a & _MASK64) >> (b & 63))
    if op == "sar":
        return a >> (b & 63)
    raise _Error(f"unknown operation {op}")


def _cond(c, a, b) -> bool:
    """x86 condition ``c`` on the flags of ``a - b`` (c is None for an unconditional jump)."""
    if c is None:
        return True
    if c == "e":
        return _eq(a, b)
    if c == "ne":
        return not _eq(a, b)
    if isinstance(a, Sym) or isinstance(b, Sym):
        if isinstance(a, Sym) and isinstance(b, Sym) and a.name == b.name:
            a, b = a.offset, b.offset
        else:
            raise _Error("ordered comparison of addresses")
    if c == "l":
        return a < b
    if c == "le":
        return a <= b
    if c == "g":
        return a > b
    if c == "ge":
        return a >= b
    if c == "s":
        return a - b < 0
    if c == "ns":
        return a - b >= 0
    ua, ub = a & _MASK64, b & _MASK64
    if c == "b":
        return ua < ub
    if c == "ae":
        return ua >= ub
    if c == "a":
        return ua > ub
    if c == "be":
        return ua <= ub
    raise _Error(f"unknown condition {c}")


# --------------------------------------------------------------------------- verdict


@dataclass
class Verdict:
    """What herd7 reports for one test under one model.

    ``states`` are the distinct final states projected on ``locations`` (herd's shown
    locations), each a dict ``"0:EAX" -> value``, in herd's order.  ``positive`` and
    ``negative`` count allowed *executions* whose final state satisfies / does not satisfy
    the condition's proposition (herd's ``Observation`` numbers).
    """

    name: str
    path: str
    model: str
    quantifier: str
    condition: str          # herd's rendering, e.g. "exists (0:EAX=0 /\ 1:EAX=0)"
    locations: list         # location names, herd order
    states: list            # list of dict loc -> value
    positive: int
    negative: int
    executions_exact: bool  # False when the program loops (counts are of final states)
    explored: int = 0       # machine states visited
    elapsed: float = 0.0
    _holds: list = field(default_factory=list, repr=False)  # per state: proposition holds
    _prop: object = field(default=None, repr=False)  # the proposition's AST (picklable)
    _shown: list = field(default_factory=list, repr=False)  # Location objects of `locations`

    @property
    def observation(self) -> str:
        """``Never`` (no positive execution), ``Always`` (no negative) or ``Sometimes``."""
        if self.positive == 0:
            return "Never"
        if self.negative == 0:
            return "Always"
        return "Sometimes"

    @property
    def kind(self) -> str:
        """herd's kind word for the quantifier: Allowed, Forbidden or Required."""
        return {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}[
            self.quantifier]

    @property
    def ok(self) -> bool:
        """Whether the condition is validated (herd's ``Ok``/``No``)."""
        return condition_validated(self.quantifier, self.positive, self.negative)

    @property
    def witnesses(self) -> tuple[int, int]:
        """herd's ``Witnesses`` numbers (swapped for ``~exists``)."""
        if self.quantifier == "~exists":
            return self.negative, self.positive
        return self.positive, self.negative

    def condition_holds(self, state: dict) -> bool:
        """Whether the condition's proposition holds in ``state`` (dict loc name -> value).

        Values may be ints or addresses; missing locations are an error.
        """
        try:
            values = tuple(state[l] for l in self.locations)
        except KeyError as exc:
            raise KeyError(f"state lacks location {exc}") from None
        pred = compile_prop(self._prop, {l: i for i, l in enumerate(self._shown)})
        return pred(values)

    def states_with_truth(self):
        """``(state, proposition holds)`` pairs, in herd order."""
        return list(zip(self.states, self._holds))


def condition_validated(quantifier: str, positive: int, negative: int) -> bool:
    """herd's and litmus7's ``Ok``: the condition holds given the positive/negative counts."""
    if quantifier == "exists":
        return positive > 0
    if quantifier == "~exists":
        return positive == 0
    return negative == 0


def observation_of(positive: int, negative: int) -> str:
    """herd's observation word for execution counts."""
    return "Never" if positive == 0 else ("Always" if negative == 0 else "Sometimes")


# --------------------------------------------------------------------------- the machine


class _Program:
    """A test compiled to micro-ops with register / memory slots, for one model."""

    def __init__(self, test: LitmusTest, model: str):
        if model not in MODELS:
            raise CoherenceError(f"unknown model `{model}` (expected sc or tso)")
        self.test, self.model, self.tso = test, model, model == "tso"
        self.n = test.nthreads
        self.cells = test.memory_cells()
        self.slot_of = {c: i for i, c in enumerate(self.cells)}
        self.track = not any(th.can_loop for th in test.threads)
        self.regs = []      # per thread: list of register names (slot order)
        self.code = []      # per thread: list of micro-op tuples
        self.lines = []     # per thread: source line of each micro-op
        for th in test.threads:
            self._compile_thread(th)
        self._analyse_sharing()
        self.init_mem = tuple(self._init_value(c) for c in self.cells)

    # -- compilation ------------------------------------------------------------------

    def _init_value(self, cell):
        return self.test.init.get(cell, 0)

    def _compile_thread(self, th):
        t = th.index
        names = []
        index = {}

        def reg(name):
            if name not in index:
                index[name] = len(names)
                names.append(name)
            return index[name]

        for loc in self.test.init:
            if isinstance(loc, RegLoc) and loc.thread == t:
                reg(loc.reg)
        for loc in self._all_locations():
            if isinstance(loc, RegLoc) and loc.thread == t:
                reg(loc.reg)
        fa, fb = reg(".fa"), reg(".fb")
        ntemp = [0]

        def temp():
            ntemp[0] += 1
            return reg(f".u{ntemp[0]}")

        def opnd(o):
            if isinstance(o, Reg):
                return (1, reg(o.name))
            return (0, o.value)

        def addr(m: Mem, line):
            if m.is_static:
                if m.sym is None:
                    raise CoherenceError("absolute numeric address", file=self.test.path,
                                         line=line)
                cell = self.test.cell_of(Sym(m.sym, m.disp))
                if cell is None or cell not in self.slot_of:
                    raise CoherenceError(f"address {m} is not a location of the test",
                                         file=self.test.path, line=line)
                return (0, self.slot_of[cell])
            base = reg(m.base) if m.base is not None else -1
            idx = reg(m.index) if m.index is not None else -1
            return (1, m.sym, m.disp, base, idx, m.scale)

        code, lines = [], []
        starts = []  # IR index -> first micro-op index
        fixups = []  # (micro-op index, label) for IR branches

        def emit(op, line):
            code.append(op)
            lines.append(line)

        for k, ins in enumerate(th.instrs):
            starts.append(len(code))
            ln = ins.line
            if isinstance(ins, Alu):
                if ins.op == "swap":
                    a, b = reg(ins.dst.name), reg(ins.src.name)
                    tmp = temp()
                    emit((_ALU, "mov", tmp, (1, a), False, fa, fb), ln)
                    emit((_ALU, "mov", a, (1, b), False, fa, fb), ln)
                    emit((_ALU, "mov", b, (1, tmp), False, fa, fb), ln)
                else:
                    src = opnd(ins.src) if ins.src is not None else (0, 0)
                    emit((_ALU, ins.op, reg(ins.dst.name), src, ins.op != "mov", fa, fb), ln)
            elif isinstance(ins, Cmp):
                emit((_CMP, opnd(ins.a), opnd(ins.b), ins.test, fa, fb), ln)
            elif isinstance(ins, Branch):
                fixups.append((len(code), ins.target))
                emit((_JCC, ins.cond, None, fa, fb), ln)
            elif isinstance(ins, SetCC):
                emit((_SETCC, ins.cond, reg(ins.dst.name), fa, fb), ln)
            elif isinstance(ins, Nop):
                emit((_NOP,), ln)
            elif isinstance(ins, Halt):
                emit((_HALT,), ln)
            elif isinstance(ins, Fence):
                if ins.kind == "mfence":
                    emit((_MFENCE,), ln)
                else:  # lfence/sfence order nothing TSO does not already order
                    emit((_NOP,), ln)
            elif isinstance(ins, Load):
                emit((_LOAD, reg(ins.dst.name), addr(ins.addr, ln)), ln)
            elif isinstance(ins, Store):
                emit((_STORE, addr(ins.addr, ln), opnd(ins.src)), ln)
            elif isinstance(ins, Rmw):
                a = addr(ins.addr, ln)
                dst = reg(ins.dst.name) if ins.dst is not None else -1
                exp = reg(ins.expected.name) if ins.expected is not None else -1
                if ins.locked:
                    emit((_RMW, ins.op, a, opnd(ins.src), dst, exp, fa, fb), ln)
                else:
                    self._lower_unlocked(ins, a, dst, exp, opnd(ins.src), temp, emit,
                                         code, fa, fb)
            else:  # pragma: no cover - the parser only builds the classes above
                raise TypeError(ins)
        starts.append(len(code))
        for pos, label in fixups:
            op = code[pos]
            code[pos] = (op[0], op[1], starts[th.labels[label]], op[3], op[4])
        self.regs.append(names)
        self.code.append(code)
        self.lines.append(lines)

    @staticmethod
    def _lower_unlocked(ins, a, dst, exp, src, temp, emit, code, fa, fb):
        """An unlocked RMW is a plain read then a plain write (two events, not atomic)."""
        ln = ins.line
        old = temp()
        emit((_LOAD, old, a), ln)
        if ins.op == "xchg":
            emit((_STORE, a, src), ln)
            emit((_ALU, "mov", dst, (1, old), False, fa, fb), ln)
        elif ins.op == "cmpxchg":
            # flags from accumulator - old; write only when equal; accumulator <- old.
            emit((_CMP, (1, exp), (1, old), False, fa, fb), ln)
            skip = len(code) + 2
            emit((_JCC, "ne", skip, fa, fb), ln)
            emit((_STORE, a, src), ln)
            emit((_ALU, "mov", dst, (1, old), False, fa, fb), ln)
        else:
            new = temp()
            emit((_ALU, "mov", new, (1, old), False, fa, fb), ln)
            op = "add" if ins.op == "xadd" else ins.op
            emit((_ALU, op, new, src, True, fa, fb), ln)
            emit((_STORE, a, (1, new)), ln)
            if ins.op == "xadd":
                emit((_ALU, "mov", dst, (1, old), False, fa, fb), ln)

    def _all_locations(self):
        locs = set(self.test.observed)
        if self.test.filter is not None:
            locs |= prop_locations(self.test.filter)
        return sorted(locs, key=lambda l: location_sort_key(l, self.test.arch))

    def _analyse_sharing(self):
        """Which locations each thread may read / write (dynamic addresses: all)."""
        ncell = len(self.cells)
        reads = [set() for _ in range(self.n)]
        writes = [set() for _ in range(self.n)]
        for t, code in enumerate(self.code):
            for op in code:
                k = op[0]
                if k == _LOAD:
                    a, tgts = op[2], [reads[t]]
                elif k == _STORE:
                    a, tgts = op[1], [writes[t]]
                elif k == _RMW:
                    a, tgts = op[2], [reads[t], writes[t]]
                else:
                    continue
                for tgt in tgts:
                    if a[0] == 0:
                        tgt.add(a[1])
                    else:
                        tgt.update(range(ncell))
        # written_by_others[t][slot]: another thread may write the slot.
        # touched_by_others[t][slot]: another thread may read or write it.
        self.written_by_others = []
        self.touched_by_others = []
        for t in range(self.n):
            w = [False] * ncell
            a = [False] * ncell
            for u in range(self.n):
                if u == t:
                    continue
                for s in writes[u]:
                    w[s] = a[s] = True
                for s in reads[u]:
                    a[s] = True
            self.written_by_others.append(w)
            self.touched_by_others.append(a)

    # -- execution --------------------------------------------------------------------

    def slot(self, a, regs):
        """Memory slot of compiled address ``a`` given the thread's registers."""
        if a[0] == 0:
            return a[1]
        _, sym, disp, base, idx, scale = a
        v = Sym(sym, disp) if sym is not None else disp
        if base >= 0:
            v = _add(v, regs[base])
        if idx >= 0:
            v = _add(v, _int(regs[idx]) * scale)
        if not isinstance(v, Sym):
            raise _Error(f"dereferencing the integer {v}")
        cell = self.test.cell_of(v)
        s = self.slot_of.get(cell) if cell is not None else None
        if s is None:
            raise _Error(f"address {v} is not a location of the test")
        return s

    def init_state(self):
        threads = []
        for t in range(self.n):
            regs = [0] * len(self.regs[t])
            for loc, v in self.test.init.items():
                if isinstance(loc, RegLoc) and loc.thread == t:
                    regs[self.regs[t].index(loc.reg)] = v
            threads.append((0, tuple(regs), ()))
        ncell = len(self.cells)
        state = (tuple(threads), self.init_mem, ((),) * self.n, ((),) * ncell)
        for t in range(self.n):
            state = self._local(t, state)
        return state

    def _local(self, t, state):
        """Run thread ``t``'s eager steps (see the module docstring) to a fixpoint."""
        threads, mem, bufs, co = state
        pc, regs, rf = threads[t]
        buf = bufs[t]
        code = self.code[t]
        n = len(code)
        tso, track = self.tso, self.track
        wbo, tbo = self.written_by_others[t], self.touched_by_others[t]
        changed = False
        steps = 0
        while True:
            steps += 1
            if steps > _LOCAL_STEP_LIMIT:
                raise _Fault(t, pc, "the thread loops forever on its own registers")
            # A buffered store to a location nobody else touches drains unobserved.
            if buf and not tbo[buf[0][0]]:
                s, v, wid = buf[0]
                buf = buf[1:]
                mem = mem[:s] + (v,) + mem[s + 1:]
                if track:
                    co = co[:s] + (co[s] + (wid,),) + co[s + 1:]
                changed = True
                continue
            if pc >= n:
                break
            op = code[pc]
            k = op[0]
            try:
                if k == _ALU:
                    _, aop, dst, (isreg, x), setf, fa, fb = op
                    b = regs[x] if isreg else x
                    r = _alu(aop, regs[dst], b)
                    regs = regs[:dst] + (r,) + regs[dst + 1:]
                    if setf:
                        regs = _set_flags(regs, fa, fb, r, 0)
                    pc += 1
                elif k == _CMP:
                    _, (ra, xa), (rb, xb), is_test, fa, fb = op
                    a = regs[xa] if ra else xa
                    b = regs[xb] if rb else xb
                    if is_test:
                        regs = _set_flags(regs, fa, fb, _int(a) & _int(b), 0)
                    else:
                        regs = _set_flags(regs, fa, fb, a, b)
                    pc += 1
                elif k == _JCC:
                    _, c, target, fa, fb = op
                    pc = target if _cond(c, regs[fa], regs[fb]) else pc + 1
                elif k == _SETCC:
                    _, c, dst, fa, fb = op
                    v = 1 if _cond(c, regs[fa], regs[fb]) else 0
                    regs = regs[:dst] + (v,) + regs[dst + 1:]
                    pc += 1
                elif k == _NOP:
                    pc += 1
                elif k == _HALT:
                    pc = n
                elif k == _MFENCE:
                    if buf and tso:
                        break
                    pc += 1
                elif k == _LOAD:
                    s = self.slot(op[2], regs)
                    if wbo[s]:
                        break
                    v, wid = _read(buf, mem, co, s, track)
                    dst = op[1]
                    regs = regs[:dst] + (v,) + regs[dst + 1:]
                    if track:
                        rf = rf + (wid,)
                    pc += 1
                elif k == _STORE:
                    s = self.slot(op[1], regs)
                    isreg, x = op[2]
                    v = regs[x] if isreg else x
                    wid = t * _WID_STRIDE + pc + 1
                    if tso:
                        buf = buf + ((s, v, wid),)
                    elif not tbo[s]:
                        mem = mem[:s] + (v,) + mem[s + 1:]
                        if track:
                            co = co[:s] + (co[s] + (wid,),) + co[s + 1:]
                    else:
                        break
                    pc += 1
                elif k == _RMW:
                    s = self.slot(op[2], regs)
                    if tbo[s] or buf:
                        break
                    regs, rf, mem, co = self._rmw(t, pc, op, s, regs, rf, mem, co)
                    pc += 1
                else:  # pragma: no cover
                    raise AssertionError(k)
            except _Error as exc:
                raise _Fault(t, pc, str(exc)) from None
            changed = True
        if not changed:
            return state
        threads = threads[:t] + ((pc, regs, rf),) + threads[t + 1:]
        bufs = bufs[:t] + (buf,) + bufs[t + 1:]
        return threads, mem, bufs, co

    def _rmw(self, t, pc, op, s, regs, rf, mem, co):
        """Atomic locked RMW on memory slot ``s`` (the buffer is empty)."""
        _, rop, _a, (isreg, x), dst, exp, fa, fb = op
        src = regs[x] if isreg else x
        old = mem[s]
        track = self.track
        if track:
            rf = rf + (co[s][-1] if co[s] else 0,)
        write = True
        if rop == "xchg":
            new = src
        elif rop == "cmpxchg":
            expected = regs[exp]
            write = _eq(old, expected)
            new = src
            regs = _set_flags(regs, fa, fb, expected, old)
        else:
            new = _alu("add" if rop == "xadd" else rop, old, src)
            regs = _set_flags(regs, fa, fb, new, 0)
        if write:
            mem = mem[:s] + (new,) + mem[s + 1:]
            if track:
                co = co[:s] + (co[s] + (t * _WID_STRIDE + pc + 1,),) + co[s + 1:]
        if dst >= 0:
            regs = regs[:dst] + (old,) + regs[dst + 1:]
        return regs, rf, mem, co

    def successors(self, state, labels=None):
        """Every state one global step away (each followed by the stepping thread's eager
        steps).  ``labels``, a list, receives each step's ``(thread, pc)``: the micro-op it
        executes, pc -1 for the drain of the thread's oldest buffered store."""
        threads, mem, bufs, co = state
        out = []
        tso, track = self.tso, self.track
        for t in range(self.n):
            buf = bufs[t]
            if buf:  # drain the oldest buffered store
                s, v, wid = buf[0]
                m2 = mem[:s] + (v,) + mem[s + 1:]
                c2 = co[:s] + (co[s] + (wid,),) + co[s + 1:] if track else co
                b2 = bufs[:t] + (buf[1:],) + bufs[t + 1:]
                out.append(self._local(t, (threads, m2, b2, c2)))
                if labels is not None:
                    labels.append((t, -1))
            pc, regs, rf = threads[t]
            code = self.code[t]
            if pc >= len(code):
                continue
            op = code[pc]
            k = op[0]
            try:
                if k == _LOAD:
                    s = self.slot(op[2], regs)
                    v, wid = _read(buf, mem, co, s, track)
                    dst = op[1]
                    r2 = regs[:dst] + (v,) + regs[dst + 1:]
                    th = (pc + 1, r2, rf + (wid,) if track else rf)
                    out.append(self._local(t, (threads[:t] + (th,) + threads[t + 1:],
                                                mem, bufs, co)))
                    if labels is not None:
                        labels.append((t, pc))
                elif k == _STORE:  # SC only: TSO stores are always eager
                    s = self.slot(op[1], regs)
                    isreg, x = op[2]
                    v = regs[x] if isreg else x
                    m2 = mem[:s] + (v,) + mem[s + 1:]
                    c2 = co[:s] + (co[s] + (t * _WID_STRIDE + pc + 1,),) + co[s + 1:] \
                        if track else co
                    th = (pc + 1, regs, rf)
                    out.append(self._local(t, (threads[:t] + (th,) + threads[t + 1:],
                                                m2, bufs, c2)))
                    if labels is not None:
                        labels.append((t, pc))
                elif k == _RMW:
                    if buf and tso:
                        continue  # waits for the drains above
                    s = self.slot(op[2], regs)
                    r2, rf2, m2, c2 = self._rmw(t, pc, op, s, regs, rf, mem, co)
                    th = (pc + 1, r2, rf2)
                    out.append(self._local(t, (threads[:t] + (th,) + threads[t + 1:],
                                                m2, bufs, c2)))
                    if labels is not None:
                        labels.append((t, pc))
                # _MFENCE with a non-empty buffer: blocked until the drains above.
            except _Error as exc:
                raise _Fault(t, pc, str(exc)) from None
        return out

    def is_final(self, state) -> bool:
        threads, _mem, bufs, _co = state
        return all(th[0] >= len(c) for th, c in zip(threads, self.code)) and \
            not any(bufs)

    def getter(self, loc):
        """A function state -> final value of ``loc``."""
        if isinstance(loc, RegLoc):
            t = loc.thread
            names = self.regs[t]
            if loc.reg in names:
                i = names.index(loc.reg)
                return lambda st: st[0][t][1][i]
            return lambda st: 0
        s = self.slot_of[loc]
        return lambda st: st[1][s]


class _Fault(Exception):
    def __init__(self, thread, pc, msg):
        super().__init__(msg)
        self.thread, self.pc, self.msg = thread, pc, msg


def _read(buf, mem, co, s, track):
    """TSO read of slot ``s``: newest buffered store to it, else memory; (value, write id)."""
    for bs, bv, bw in reversed(buf):
        if bs == s:
            return bv, bw
    return mem[s], (co[s][-1] if (track and co[s]) else 0)


def _set_flags(regs, fa, fb, a, b):
    lo, hi = (fa, fb) if fa < fb else (fb, fa)
    va, vb = (a, b) if fa < fb else (b, a)
    return regs[:lo] + (va,) + regs[lo + 1:hi] + (vb,) + regs[hi + 1:]


# --------------------------------------------------------------------------- driver


def _value_key(v):
    if isinstance(v, Sym):
        return (1, v.name, v.offset)
    return (0, "", v)


def enumerate_states(test: LitmusTest, model: str) -> Verdict:
    """Every final state of ``test`` under ``model`` (``"sc"`` or ``"tso"``) and herd's
    verdict; raises CoherenceError if the program faults (bad address, ...)."""
    start = time.perf_counter()
    prog = _Program(test, model)
    shown = test.observed
    evals = prog._all_locations()  # shown + filter locations
    getters = [prog.getter(l) for l in evals]
    index = {l: i for i, l in enumerate(evals)}
    pred = compile_prop(test.condition.prop, index)
    filt = compile_prop(test.filter, index) if test.filter is not None else None

    try:
        init = prog.init_state()
        seen = {init}
        stack = [init]
        finals = set()
        while stack:
            st = stack.pop()
            succ = prog.successors(st)
            if not succ:
                if prog.is_final(st):
                    finals.add(st)
                continue
            for s2 in succ:
                if s2 not in seen:
                    seen.add(s2)
                    stack.append(s2)
            if len(seen) > _STATE_LIMIT:
                raise CoherenceError(f"more than {_STATE_LIMIT} machine states under "
                                     f"{model}; the test is too large to enumerate",
                                     file=test.path, line=test.line)
    except _Fault as f:
        line = prog.lines[f.thread][f.pc] if f.pc < len(prog.lines[f.thread]) else test.line
        raise CoherenceError(f"P{f.thread}: {f.msg}", file=test.path, line=line) from None

    pos = neg = 0
    states = {}
    shown_pos = [index[l] for l in shown]
    for st in finals:
        vals = tuple(g(st) for g in getters)
        if filt is not None and not filt(vals):
            continue
        holds = pred(vals)
        if holds:
            pos += 1
        else:
            neg += 1
        states[tuple(vals[i] for i in shown_pos)] = vals
    keys = sorted(states, key=lambda vs: tuple(_value_key(v) for v in vs))
    names = [str(l) for l in shown]
    return Verdict(
        name=test.name, path=test.path, model=model, quantifier=test.condition.quantifier,
        condition=format_condition(test.condition), locations=names,
        states=[dict(zip(names, k)) for k in keys], positive=pos, negative=neg,
        executions_exact=prog.track, explored=len(seen),
        elapsed=time.perf_counter() - start,
        _holds=[pred(states[k]) for k in keys],
        _prop=test.condition.prop, _shown=list(shown))


def witness_paths(test: LitmusTest, model: str, max_states: int = 100_000):
    """One execution of each final state of ``test`` under ``model``, as the global steps
    that reach it: ``{shown values: [(thread, pc), ...]}`` (pc: the micro-op the step runs,
    -1: a drain of the thread's oldest buffered store; each step is followed by the thread's
    eager steps), with the compiled program (``_Program``: its ``code`` says which micro-ops
    access memory).  Breadth first, so each path is a shortest one.  None when the test has
    more than ``max_states`` machine states (the caller then goes without) or faults.

    For the directed batches of emulator campaigns (:mod:`.directed`), which turn a path
    into timing (pauses and drain delays) that makes the machine likely to produce it."""
    from collections import deque
    prog = _Program(test, model)
    getters = [prog.getter(l) for l in test.observed]
    try:
        init = prog.init_state()
        parent = {init: None}
        queue = deque([init])
        paths = {}
        while queue:
            st = queue.popleft()
            labels: list = []
            succ = prog.successors(st, labels)
            if not succ:
                if prog.is_final(st):
                    key = tuple(g(st) for g in getters)
                    if key not in paths:
                        path = []
                        cur = st
                        while parent[cur] is not None:
                            cur, step = parent[cur]
                            path.append(step)
                        paths[key] = path[::-1]
                continue
            for s2, step in zip(succ, labels):
                if s2 not in parent:
                    parent[s2] = (st, step)
                    queue.append(s2)
            if len(parent) > max_states:
                return None
    except _Fault:
        return None
    return prog, paths


#: The micro-op kinds that access memory (a load, a store, a read-modify-write).
MEMORY_KINDS = (_LOAD, _STORE, _RMW)
STORE_KIND = _STORE
