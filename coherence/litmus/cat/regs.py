r"""herd's register events, for cat models that compute their own dependencies (``catdep``).

herd's ``aarch64.cat`` derives ``addr``, ``data``, ``ctrl`` and the pick dependencies from
register-level events: register reads ``Rreg`` and writes ``Wreg`` (``same-gpr``: the same
register, through ``loc``), the causality inside one instruction (``iico_data``,
``iico_ctrl``), the ports of a memory access (``ADDR``, ``DATA``) and branches (``BCC``)::

    dtrm = [~range(lxsx)]; lrrs | lmrs | iico_data | dtrm; dtrm
    data = [Exp & R]; dtrm & po; [Rreg]; iico_data & ii_data; [Exp & W]
    ctrl = [Exp & R]; dtrm & po; [Rreg]; iico_data; [BCC]; po       (and addr, pick-*)

(herd 7.58's ``aarch64deps.cat`` has ``rf-reg``, the register reads-from, instead of
``lrrs``, and ``ADDR = Rreg \ DATA``; both work on the events below.)

The candidate executions here carry dependencies as *taints* instead (each event knows the
reads its address, data and control depend on, see :mod:`..executions`), the ones the
shipped ``aarch64.cat`` reads as ``addr``, ``data``, ``ctrl``, ``pick``.  For a catdep model
the structure is extended with register events that encode those taints in herd's shape,
so that herd's own definitions give them back:

* a read ``r`` that something depends on writes a register (a ``Wreg`` of its instruction,
  ``r -iico_data-> w``), and one more through a choice (``w -iico_ctrl-> w'``: a CSEL's
  condition, a CAS's comparison) when something depends on it that way;
* an event ``e`` whose address (data) depends on ``r`` reads that register (an ``Rreg`` of
  ``e``'s instruction, in the ``ADDR`` (``DATA``) port, ``-iico_data-> e``);
* the first events after a branch that depends on ``r``: a branch instruction just before
  them (an ``Rreg`` of ``r``'s register ``-iico_data->`` a ``BCC``);
* a CAS's write, which depends on its expected value through the comparison: an ``Rreg``
  (``DATA``) ``-iico_data->`` a ``PRED`` ``-iico_ctrl->`` the write;
* the read of an atomic instruction feeds its write directly (``iico_data``), and a value
  that goes through memory is herd's ``lmrs`` (computed by the model).

Each register is read only by the events that depend on its one write, so no write comes
between them.  The register events come after the memory events (indices ``n`` and up):
relations on the memory events are the top-left corner of the matrices.
"""

from __future__ import annotations

import numpy as np


def register_layer(s, base, ctx, herd):
    """Extend the primitives ``base`` of structure ``s`` (and the built-ins' context) with
    herd's register events."""
    nm = s.n
    # new events: (thread, instance key, kind, register location, port)
    new = []
    iico_data, iico_ctrl = [], []
    key = np.zeros(nm, dtype=float)
    for i, (t, _seq, e) in enumerate(s.events):
        key[i] = e.inst if t >= 0 else -1.0
    regloc = [0]

    def fresh_reg():
        regloc[0] += 1
        return regloc[0]

    def add(t, k, kind, loc=-1, port=None):
        new.append((t, k, kind, loc, port))
        return nm + len(new) - 1

    for t, tr in enumerate(s.traces):
        b = s.first[t]
        evs = tr.events
        written = {}   # read index (in trace) -> (its Wreg, register)
        picked = {}    # read index -> (the Wreg through a choice, register)

        def reg_of(src, pick):
            if src not in written:
                loc = fresh_reg()
                w = add(t, evs[src].inst, "Wreg", loc)
                iico_data.append((b + src, w))
                written[src] = (w, loc)
            if not pick:
                return written[src][1]
            if src not in picked:
                loc = fresh_reg()
                w = add(t, evs[src].inst, "Wreg", loc)
                iico_ctrl.append((written[src][0], w))
                picked[src] = (w, loc)
            return picked[src][1]

        def sources(taint):
            for x in taint:
                src, pick = (x, False) if x >= 0 else (~x, True)
                if evs[src].kind == "R":
                    yield src, pick

        prev_ctrl = set()
        for i, e in enumerate(evs):
            for port, taint in (("ADDR", e.addr), ("DATA", e.data)):
                for src, pick in sorted(set(sources(taint))):
                    if evs[src].inst == e.inst:
                        if not pick:  # an atomic instruction's read feeds its write
                            iico_data.append((b + src, b + i))
                        continue
                    r = add(t, e.inst, "Rreg", reg_of(src, pick), port)
                    iico_data.append((r, b + i))
            if e.kind == "W" and e.pick:
                # a CAS writes because its read matched the expected value
                srcs = sorted({src for src, _p in sources(e.pick) if evs[src].inst != e.inst})
                if srcs:
                    pred = add(t, e.inst, "PRED")
                    iico_ctrl.append((pred, b + i))
                    for src in srcs:
                        r = add(t, e.inst, "Rreg", reg_of(src, False), "DATA")
                        iico_data.append((r, pred))
            fresh = [x for x in e.ctrl if x not in prev_ctrl]
            prev_ctrl |= set(e.ctrl)
            fresh = sorted(set(sources(fresh)))
            if fresh:
                k = e.inst - 0.5   # a branch instruction just before this one
                bcc = add(t, k, "BCC")
                for src, pick in fresh:
                    r = add(t, k, "Rreg", reg_of(src, pick))
                    iico_data.append((r, bcc))

    n = nm + len(new)
    thr = np.concatenate([s.thr, np.array([t for t, *_ in new], dtype=np.int64)])
    keys = np.concatenate([key, np.array([k for _t, k, *_ in new], dtype=float)])
    kinds = [k for _t, _k, k, _l, _p in new]
    out = {}
    for name, v in base.items():
        if isinstance(v, np.ndarray):
            if v.ndim == 1:
                p = np.zeros(n, bool)
                p[:nm] = v
            else:
                p = np.zeros((n, n), bool)
                p[:nm, :nm] = v
            out[name] = p
        else:
            out[name] = v

    def set_of(kind, port=None):
        m = np.zeros(n, bool)
        for j, (_t, _k, kd, _l, pt) in enumerate(new):
            if kd == kind and (port is None or pt == port):
                m[nm + j] = True
        return m

    same_t = thr[:, None] == thr[None, :]
    in_thread = (thr >= 0)[:, None] & same_t
    po = in_thread & (keys[:, None] < keys[None, :])
    same_inst = in_thread & (keys[:, None] == keys[None, :])
    rlocs = np.concatenate([np.full(nm, -1), np.array([lc for _t, _k, _kd, lc, _p in new],
                                                       dtype=np.int64)])
    regs = rlocs > 0
    loc = out["loc"] | (regs[:, None] & regs[None, :] & (rlocs[:, None] == rlocs[None, :]))
    ii_d = np.zeros((n, n), bool)
    for a, c in iico_data:
        ii_d[a, c] = True
    ii_c = np.zeros((n, n), bool)
    for a, c in iico_ctrl:
        ii_c[a, c] = True
    M = out["M"]
    Wr, Rr = set_of("Wreg"), set_of("Rreg")
    # herd's register rf (herd 7.58's aarch64deps.cat reads it, its `rf-reg`; later ones
    # compute `lrrs` from same-register po): each register has one write, read by the
    # register reads of the events that depend on it
    rf_reg = Wr[:, None] & Rr[None, :] & (rlocs[:, None] == rlocs[None, :]) & po
    out.update({
        "rf-reg": rf_reg,
        "po": po, "id": np.eye(n, dtype=bool), "loc": loc, "int": same_t & (thr >= 0)[:, None],
        "ext": ~same_t, "same-instance": same_inst, "same-instr": same_inst,
        "partial_po": po, "iico_data": ii_d, "iico_ctrl": ii_c,
        "iico_order": np.zeros((n, n), bool),
        "Rreg": Rr, "Wreg": Wr, "BCC": set_of("BCC"),
        "PRED": set_of("PRED"), "B": set_of("BCC") | set_of("PRED"),
        "ADDR": set_of("Rreg", "ADDR"), "DATA": set_of("Rreg", "DATA"),
        "EXEC": np.ones(n, bool),
    })
    if herd:
        out["sm"] = out["si"] = np.diag(M)
    else:
        out["sm"] = same_inst | np.eye(n, dtype=bool)
    del kinds
    ctx.n = n
    ctx.proj = None
    mloc = ctx.locs.max() + 1 if nm else 0
    ctx.locs = np.where(regs, rlocs + mloc, np.concatenate([ctx.locs, np.full(n - nm, -1)]))
    ctx.values = list(ctx.values) + [None] * (n - nm)
    ctx.fences = out["F"]
    ctx.po = po
    return out, ctx
