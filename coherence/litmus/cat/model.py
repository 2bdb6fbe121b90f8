"""Loading a cat model and checking candidate executions against it.

A model is loaded once (:func:`load_model`).  Its ``include`` files are resolved (the
including file's folder, then the search path, then the shipped models; a file included
twice is read twice, as herd does); ``if "variant"`` blocks and conditions are decided (no
variant is set); every name and tag is checked to be bound (an unbound name outside ``try ...
with`` is a ``file:line`` error); every binding gets its own internal name (``A``, then
``A@2`` for the next ``let A = ...``), so that each use refers to the binding in scope where
it is written (herd's lexical scoping) whatever is evaluated first.  Each top-level
statement is classified as *static* (it depends only on the events, ``po``, dependencies,
locations: the same for every candidate of one event structure) or *dynamic* (it mentions
``rf``, ``co``, ``fr`` or a name derived from them).  :meth:`Model.check` then evaluates the
static statements once per event structure (cached on the structure) and only the dynamic
ones per candidate, stopping at the first failed check.

When a ``stdlib.cat`` is found next to the model or on the search path (a herdtools7
``herd/libdir``), it is read before the model, as herd does, and the primitives follow herd's
definitions (``sm`` relates each memory event to itself, ``int``/``ext`` leave the initial
writes out, ...); a model that starts with ``catdep`` (herd's ``aarch64.cat``) also gets
herd's register events (see :mod:`.prims`).

Values are those of :mod:`.values`.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ...errors import CoherenceError
from . import values as V
from .parser import parse_cat
from .values import (EMPTY, UNIV, Builtin, Closure, EvalError, EventV, PairV, Procedure, Tag,
                     ValSet, as_rel, as_set, is_acyclic, plus, seq)

# Kept for the modules that import them from here.
_EvalError = EvalError
__all__ = ["EMPTY", "UNIV", "Tag", "Closure", "Procedure", "Failure", "Model", "as_set",
           "as_rel", "seq", "plus", "is_acyclic", "load_model", "resolve_model",
           "shipped_models", "MODELS_DIR", "BUILTINS"]

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")

# Names whose value differs between candidates of one event structure.
DYNAMIC_PRIMITIVES = frozenset({"rf", "co", "fr", "rfe", "rfi", "coe", "coi", "fre", "fri",
                                "FW", "co0"})

# The names a candidate binds (executions.DYNAMIC_NAMES).
_DYN_KEYS = frozenset({"rf", "co", "fr", "FW", "rfe", "rfi", "coe", "coi", "fre", "fri"})

_RECURSION = 20_000    # Python frames: a set match recurses once per member
_FIX_LIMIT = 100_000  # iterations of one `let rec` (a fixpoint over n events needs < n*n)


class Failure:
    """A failed check: the test's ``name`` (its ``as`` name or ``kind expression``),
    ``kind`` (acyclic / irreflexive / empty / with), the relation it was applied to, and
    where."""

    __slots__ = ("name", "kind", "negated", "relation", "file", "line", "expr")

    def __init__(self, name, kind, negated, relation, file, line, expr=None):
        self.name, self.kind, self.negated = name, kind, negated
        self.relation, self.file, self.line = relation, file, line
        self.expr = expr  # the checked relation's name, when it is a plain name

    def describe(self) -> str:
        """herd's wording: ``acyclic ob as external`` (or ``acyclic tso``, ``empty``)."""
        k = ("~" if self.negated else "") + self.kind
        if self.expr and self.name:
            return f"{k} {self.expr} as {self.name}"
        what = self.name or self.expr
        return f"{k} {what}" if what else k


def _public(name):
    """The source name of an internal name (``A@2`` -> ``A``)."""
    return name.split("@", 1)[0] if isinstance(name, str) else name


class Scope(dict):
    """A local environment: its own bindings, then its parent's."""

    __slots__ = ("parent",)

    def __init__(self, parent):
        super().__init__()
        self.parent = parent

    def __missing__(self, k):
        return self.parent[k]


class DynScope(Scope):
    """The scope of one candidate's dynamic bindings: the candidate's relations (``dyn``, a
    mapping, looked up when first named), then ``parent``."""

    __slots__ = ("dyn",)

    def __init__(self, parent, dyn):
        super().__init__(parent)
        self.dyn = dyn

    def __missing__(self, k):
        if k in _DYN_KEYS:
            v = self[k] = self.dyn[k]
            return v
        return self.parent[k]


def _lookup(env, name):
    try:
        return env[name]
    except KeyError:
        return None


# --------------------------------------------------------------------------- herd's built-ins
#
# Each takes the argument value and the evaluation context (:class:`.prims.Ctx`: the number of
# events, the structure's primitives as herd defines them, event locations and values).


def _domain(r, ctx):
    if r is EMPTY or r is UNIV:
        return r
    if isinstance(r, PairV):
        r = as_rel(r, ctx.n)
    return as_rel(r, ctx.n).any(axis=1)


def _range(r, ctx):
    if r is EMPTY or r is UNIV:
        return r
    if isinstance(r, PairV):
        r = as_rel(r, ctx.n)
    return as_rel(r, ctx.n).any(axis=0)


def _classes_loc(s, ctx):
    """herd's ``classes-loc`` (stdlib's ``partition``): the events of ``s`` that access a
    location, grouped by location, as a set of sets of events."""
    s = as_set(s, ctx.n)
    out = []
    for loc in sorted(set(ctx.locs[s].tolist()) - {-1}):
        out.append(s & (ctx.locs == loc))
    return ValSet.of(out)


def _classes(r, ctx):
    """herd's ``classes``: the classes of an equivalence relation (the connected components
    of ``r | r^-1`` over the events ``r`` relates)."""
    r = as_rel(r, ctx.n)
    sym = r | r.T
    seen = np.zeros(ctx.n, bool)
    out = []
    for e in np.flatnonzero(sym.any(axis=1)):
        if seen[e]:
            continue
        comp = np.zeros(ctx.n, bool)
        comp[e] = True
        while True:
            nxt = comp | sym[comp].any(axis=0)
            if (nxt == comp).all():
                break
            comp = nxt
        seen |= comp
        out.append(comp)
    return ValSet.of(out)


def _linearisations(arg, ctx):
    """herd's ``linearisations(S, r)``: every total order of the events of ``S`` that
    contains ``r`` (restricted to ``S``), each as a transitive relation; no order when ``r``
    has a cycle on ``S``."""
    if not (isinstance(arg, tuple) and len(arg) == 2):
        raise EvalError("linearisations takes (a set of events, a relation)")
    s, r = as_set(arg[0], ctx.n), as_rel(arg[1], ctx.n)
    nodes = [int(i) for i in np.flatnonzero(s)]
    r = plus(r)
    sub = {a: [b for b in nodes if b != a and r[b, a]] for a in nodes}  # predecessors
    if any(r[a, a] for a in nodes):
        return ValSet()
    out = []

    def rec(order, placed):
        if len(order) == len(nodes):
            m = np.zeros((ctx.n, ctx.n), bool)
            for i, a in enumerate(order):
                m[a, order[i + 1:]] = True
            out.append(m)
            return
        for a in nodes:
            if a not in placed and all(p in placed for p in sub[a]):
                placed.add(a)
                order.append(a)
                rec(order, placed)
                order.pop()
                placed.discard(a)

    rec([], set())
    return ValSet.of(out)


def _fromto(s, ctx):
    """herd's ``fromto(S)``: for each fence of ``S``, the events before it to the events
    after it in program order."""
    s = as_set(s, ctx.n) & ctx.fences
    po = ctx.po
    out = np.zeros((ctx.n, ctx.n), bool)
    for f in np.flatnonzero(s):
        out |= np.outer(po[:, f], po[f, :])
    return out


def _different_values(r, ctx):
    """Pairs of ``r`` whose events do not carry the same value (herd: an event without a
    value never has the same value)."""
    r = as_rel(r, ctx.n)
    out = r.copy()
    for a, b in zip(*np.nonzero(r)):
        va, vb = ctx.values[a], ctx.values[b]
        if va is not None and vb is not None and type(va) is type(vb) and va == vb:
            out[a, b] = False
    return out


def _no_pairs(r, ctx):
    """``same-oa``, ``at-least-one-writable``: page-table entry values, which no event of
    ours carries.  herd 7.58's ``at-least-one-writable(S, r)`` (a set and a relation) is
    ``_pte_stores``."""
    if isinstance(r, tuple):
        return _pte_stores(r, ctx)
    as_rel(r, ctx.n)
    return EMPTY


def _pte_stores(arg, ctx):
    """herd 7.58's ``oa-changes(S, r)`` and ``at-least-one-writable(S, r)`` (its
    aarch64bbm.cat): the page-table stores of ``S`` whose one ``r``-successor has another
    output address (or one of the two is writable); no event of ours is a page-table
    entry, so the empty set."""
    if not (isinstance(arg, tuple) and len(arg) == 2):
        raise EvalError("takes (a set of events, a relation)")
    as_set(arg[0], ctx.n), as_rel(arg[1], ctx.n)
    return EMPTY


def _fail(v, ctx):
    raise EvalError(f"fail on {v!r}")


def _loc2events(t, ctx):
    if not isinstance(t, Tag):
        raise EvalError("loc2events takes a tag (the location's name)")
    return ctx.loc2events(t.name)


def _no_scopes(name):
    def f(_v, _ctx):
        raise EvalError(f"{name}: the test has no scope tree (herd's GPU models)")
    return f


def _unsupported(name, why):
    def f(_v, _ctx):
        raise EvalError(f"herd's built-in `{name}` is not supported ({why})")
    return f


def _as_transitive(v, ctx):
    return v


BUILTINS = {nm: Builtin(nm, fn) for nm, fn in {
    "domain": _domain, "range": _range,
    "classes-loc": _classes_loc, "classes": _classes,
    "linearisations": _linearisations, "fromto": _fromto,
    "different-values": _different_values, "same-oa": _no_pairs,
    "at-least-one-writable": _no_pairs, "oa-changes": _pte_stores, "fail": _fail, "loc2events": _loc2events,
    "tag2scope": _no_scopes("tag2scope"), "tag2level": _no_scopes("tag2level"),
    "tag2events": _no_scopes("tag2events"), "tag2fenced": _no_scopes("tag2fenced"),
    "lift": _unsupported("lift", "relations over classes of events"),
    "delift": _unsupported("delift", "relations over classes of events"),
    "deliftinter": _unsupported("deliftinter", "relations over classes of events"),
    "bisimulation": _unsupported("bisimulation", "relations over classes of events"),
    "as_transitive": _as_transitive,
}.items()}


# --------------------------------------------------------------------------- syntax helpers


def _pat_names(pat):
    if pat is None:
        return []
    if isinstance(pat, str):
        return [pat]
    return [p for p in pat if p is not None]


def _free(e, bound, out):
    """Free variables of expression ``e`` (names not in ``bound``) into ``out``."""
    k = e[0]
    if k == "var":
        if e[1] not in bound:
            out.add(e[1])
    elif k in ("empty", "universe", "tag", "tagset"):
        pass
    elif k == "op2":
        _free(e[2], bound, out)
        _free(e[3], bound, out)
    elif k in ("op1", "static"):
        _free(e[2] if k == "op1" else e[1], bound, out)
    elif k == "app":
        _free(e[1], bound, out)
        _free(e[2], bound, out)
    elif k in ("tuple", "set"):
        for x in e[1]:
            _free(x, bound, out)
    elif k == "fun":
        _free(e[2], bound | set(_pat_names(e[1])), out)
    elif k == "let":
        inner = set(bound)
        for pat, x, _ in e[1]:
            _free(x, bound, out)
            inner |= set(_pat_names(pat))
        _free(e[2], inner, out)
    elif k == "letrec":
        inner = set(bound)
        for pat, _x, _ in e[1]:
            inner |= set(_pat_names(pat))
        for _pat, x, _ in e[1]:
            _free(x, inner, out)
        _free(e[2], inner, out)
    elif k == "try":
        _free(e[1], bound, out)
        _free(e[2], bound, out)
    elif k == "match":
        _free(e[1], bound, out)
        for cl in e[2]:
            _free(cl[1], bound, out)
        if e[3] is not None:
            _free(e[3], bound, out)
    elif k == "matchset":
        _free(e[1], bound, out)
        _free(e[2], bound, out)
        cl = e[3]
        names = [x for x in cl[1:-1] if x is not None]
        _free(cl[-1], bound | set(names), out)
    elif k == "if":
        c = e[1]
        if c[0] != "variant":
            _free(c[1], bound, out)
            _free(c[2], bound, out)
        _free(e[2], bound, out)
        _free(e[3], bound, out)
    else:  # pragma: no cover
        raise AssertionError(k)


def _free_of(e):
    out = set()
    _free(e, set(), out)
    return out


def _variant_true(v, variants):
    k = v[0]
    if k == "v":
        return v[1] in variants
    if k == "not":
        return not _variant_true(v[1], variants)
    if k == "and":
        return _variant_true(v[1], variants) and _variant_true(v[2], variants)
    return _variant_true(v[1], variants) or _variant_true(v[2], variants)


def _line_of(e, name):
    """The line of the first occurrence of variable ``name`` in ``e``."""
    if not isinstance(e, tuple) or not e:
        return None
    if e[0] == "var" and e[1] == name:
        return e[2]
    for x in e[1:]:
        if isinstance(x, tuple):
            r = _line_of(x, name)
            if r is not None:
                return r
        elif isinstance(x, list):
            for y in x:
                r = _line_of(y, name)
                if r is not None:
                    return r
    return None


def _bind(env, pat, value, file, line):
    if pat is None:
        return
    if isinstance(pat, str):
        env[pat] = value
        return
    if len(pat) == 1 and not isinstance(value, tuple):
        if pat[0] is not None:
            env[pat[0]] = value
        return
    if isinstance(value, PairV) and len(pat) == 2:
        value = (EventV(value.a), EventV(value.b))
    if not isinstance(value, tuple) or len(value) != len(pat):
        raise CoherenceError(f"expected a tuple of {len(pat)} values, got {V.kind(value)}",
                             file=file, line=line)
    for p, v in zip(pat, value):
        if p is not None:
            env[p] = v


def _is_fun(e):
    return isinstance(e, tuple) and e[0] == "fun"


def _dead_bindings(stmts):
    """The top-level dynamic ``let`` statements whose names nothing after them uses (herd's
    stdlib binds a few, e.g. ``co0``): :meth:`Model._run` evaluates each of them once per
    cache (so that a type error in one is still reported) instead of once per candidate.
    None when the model has statements whose uses are not followed here (procedures,
    ``forall``, ``match``, calls)."""
    live, dead = set(), set()
    for idx in range(len(stmts) - 1, -1, -1):
        kind, payload, dynamic, _file, _line = stmts[idx]
        if kind == "let":
            names = {nm for pat, _e, _ln in payload for nm in _pat_names(pat)}
            if dynamic and not names & live:
                dead.add(idx)
                continue
            for _pat, e, _ln in payload:
                live |= _free_of(e)
        elif kind == "letrec":
            binds, when = payload
            for _pat, e, _ln in binds:
                live |= _free_of(e)
            if when is not None:
                live |= _free_of(when[4])
        elif kind == "test":
            live |= _free_of(payload[3])
        elif kind in ("withco", "withfrom"):
            live |= _free_of(payload[1])
        elif kind != "debug":
            return frozenset()
    return frozenset(dead)


def _mentions(x, name):
    """Whether a name starting with ``name`` (its internal names too) occurs anywhere in
    the statements or expression ``x``."""
    if isinstance(x, str):
        return x.startswith(name)
    if isinstance(x, (tuple, list)):
        return any(_mentions(y, name) for y in x)
    return False


# --------------------------------------------------------------------------- the model


class Model:
    """A loaded cat model: flat top-level statements, each tagged with its file.

    ``stmts`` holds ``(kind, payload, dynamic, file, line)``; see :func:`load_model`.
    ``herd`` says the model reads herd's ``stdlib.cat`` (herd's primitives), ``catdep``
    that it computes dependencies from herd's register events.
    """

    def __init__(self, name, path, stmts, primitives, enums, herd=False, catdep=False):
        self.name, self.path, self.stmts = name, path, stmts
        self.primitives = primitives
        self.enums = enums
        self.herd, self.catdep = herd, catdep
        self.checks = [s for s in stmts if s[0] == "test" and s[1][2] == "check"]
        self.prune = False
        self.label = name
        self._scache = {}
        self._ctx = None
        # A model that never names herd's `different-values` (the one built-in that reads
        # the events' values) evaluates the same static bindings on two structures of one
        # shape (see executions.Structure): they are cached per shape, not per structure.
        self.value_free = not _mentions(stmts, "different-values")
        self.dead = _dead_bindings(stmts)

    # -- evaluation
    def check(self, ex, explain=False, all_checks=False):
        """Evaluate the model on candidate execution ``ex`` (see
        :class:`coherence.litmus.executions.Candidate`).

        Returns ``(allowed, failures, flags)``: the checks that failed (all of them when
        ``all_checks``, else the first) and the names of the ``flag`` tests that fired.
        """
        from .prims import dynamic_env, static_env
        if sys.getrecursionlimit() < _RECURSION:
            sys.setrecursionlimit(_RECURSION)  # herd's library recurses over sets
        s = ex.structure
        store = getattr(s, "shape_cache", None) if self.value_free else None
        if store is None:
            store = s.cat_cache
        cache = store.get(id(self))
        if cache is None:
            base, ctx = static_env(s, self.herd, self.catdep, store)
            cache = store[id(self)] = {"env": dict(base), "done": set(), "static": {},
                                       "tests": {}, "ctx": ctx}
        self._scache = cache["static"]
        self._ctx = ctx = cache["ctx"]
        dyn = dynamic_env(ex, ctx)
        failures, flags = [], []
        ok = self._run(0, cache, cache["env"], None, dyn, ctx.n, failures, flags,
                       all_checks)
        return ok and not failures, failures, flags

    def _run(self, start, cache, env, denv, dyn, n, failures, flags, all_checks):
        """Run the top-level statements from ``start``: False at the first failed check
        (unless ``all_checks``)."""
        done = cache["done"]
        stmts = self.stmts
        dead = self.dead
        for idx in range(start, len(stmts)):
            kind, payload, dynamic, file, line = stmts[idx]
            if not dynamic:
                if idx in done:
                    continue
                target = env
            else:
                if idx in dead:
                    if idx in done:
                        continue
                    done.add(idx)  # evaluated once per cache, never used
                if denv is None:
                    denv = DynScope(env, dyn)
                target = denv
            try:
                if kind == "let":
                    for pat, e, ln in payload:
                        _bind(target, pat, self._eval(e, target, n, file), file, ln)
                elif kind == "letrec":
                    binds, when = payload
                    if not self._letrec(target, binds, when, n, file, failures, line):
                        return False
                elif kind == "procedure":
                    name, params, body = payload
                    target[name] = Procedure(params, body, None, name)
                elif kind == "test":
                    if dynamic:
                        res = self._test(payload, target, n, file, line)
                    else:
                        tests = cache["tests"]
                        if idx not in tests:
                            tests[idx] = self._test(payload, target, n, file, line)
                        res = tests[idx]
                    if not self._outcome(payload, res, failures, flags, file, line):
                        if not all_checks:
                            return False
                elif kind == "withco":
                    # herd's `with co from generate_cos(b)` (cross.cat): co ranges over the
                    # per-location linear orders of the writes that extend b; our candidates'
                    # co already ranges over every order, so keep those that extend b.
                    var, arg = payload
                    base = self._eval(arg, target, n, file)
                    co = dyn["co"]
                    if base is not EMPTY:
                        b = as_rel(base, n) & self._ctx.wwloc
                        if (b & ~co).any():
                            failures.append(Failure(f"{_public(var)} from generate_cos", "with",
                                                    False, None, file, line))
                            return False
                    target[var] = co
                elif kind == "withfrom":
                    var, arg = payload
                    vals = self._eval(arg, target, n, file)
                    if vals is EMPTY:
                        vals = ValSet()
                    if not isinstance(vals, ValSet):
                        raise EvalError(f"`with {_public(var)} from` a set of values, not "
                                        f"{V.kind(vals)}")
                    if _public(var) == "co":
                        # co is the candidate's: it is kept when the set has it
                        co = dyn["co"]
                        if V.key(co) not in vals.items:
                            failures.append(Failure("co from ...", "with", False, None,
                                                    file, line))
                            return False
                        target[var] = co
                        continue
                    members = vals.values()
                    if not members:
                        failures.append(Failure(f"{_public(var)} from {{}}", "with", False,
                                                None, file, line))
                        return False
                    if len(members) == 1:
                        target[var] = members[0]
                        continue
                    # several values: the rest of the model runs once per value, and the
                    # candidate is allowed when one run allows it
                    first = None
                    for v in members:
                        branch = Scope(target)
                        branch[var] = v
                        f2, fl2 = [], []
                        if self._run(idx + 1, cache, env, branch, dyn, n, f2, fl2,
                                     all_checks) and not f2:
                            flags.extend(fl2)
                            return True
                        if first is None:
                            first = f2
                    failures.extend(first or [])
                    return False
                elif kind in ("call", "forall", "insmatch"):
                    if not self._exec((kind,) + payload + (file, line), target, n,
                                      failures, flags, all_checks):
                        return False
                elif kind == "debug":
                    pass
                else:  # pragma: no cover
                    raise AssertionError(kind)
            except EvalError as exc:
                raise CoherenceError(str(exc), file=file, line=line) from None
            if not dynamic and kind != "test":
                done.add(idx)
        return not failures

    def _outcome(self, payload, res, failures, flags, file, line) -> bool:
        """Record a test's outcome by its type; False when it rejects the candidate."""
        ttype = payload[2]
        if ttype == "check":
            if res is not None:
                failures.append(res)
                return False
        elif ttype == "flag":
            if res is None:  # herd raises the flag when the test holds
                flags.append(payload[4] or "flag")
        elif ttype == "requires":
            if res is not None:
                flags.append("undefined")
        elif ttype == "assert":
            if res is not None:
                raise CoherenceError(f"assertion {payload[4] or res.describe()} failed, check "
                                     "the input test", file=file, line=line)
        return True

    def _test(self, payload, env, n, file, line):
        kind, neg, _ttype, e, name = payload
        v = self._eval(e, env, n, file)
        if kind == "empty":
            ok = V.is_empty_value(v)
            rel = v if isinstance(v, np.ndarray) and v.ndim == 2 else None
        else:
            if isinstance(v, np.ndarray) and v.ndim == 1:
                raise EvalError(f"`{kind}` of a set of events: a relation is expected")
            r = as_rel(v, n)
            ok = not r.diagonal().any() if kind == "irreflexive" else is_acyclic(r)
            rel = r
        if neg:
            ok = not ok
        if ok:
            return None
        if rel is not None and (rel.shape[0] != self._ctx.nmem or
                                self._ctx.proj is not None):
            rel = self._ctx.to_memory(rel)  # on the structure's events
        return Failure(name, kind, neg, rel, file, line,
                       _public(e[1]) if e[0] == "var" else None)

    # -- blocks: the bodies of procedures, forall and match instructions
    def _exec(self, ins, env, n, failures, flags, all_checks) -> bool:
        """Execute one instruction of a block in ``env`` (bindings go into ``env``)."""
        k = ins[0]
        file, line = ins[-2], ins[-1]
        try:
            if k == "let":
                for pat, e, ln in ins[1]:
                    _bind(env, pat, self._eval(e, env, n, file), file, ln)
            elif k == "letrec":
                return self._letrec(env, ins[1], ins[2], n, file, failures, line)
            elif k == "test":
                res = self._test(ins[1], env, n, file, line)
                return self._outcome(ins[1], res, failures, flags, file, line) or all_checks
            elif k == "procedure":
                name, params, body = ins[1], ins[2], ins[3]
                env[name] = Procedure(params, body, None, name)
            elif k == "call":
                name, arg, as_name = ins[1], ins[2], ins[3]
                proc = _lookup(env, name)
                if not isinstance(proc, Procedure):
                    raise EvalError(f"`{_public(name)}` is not a procedure")
                local = Scope(env)
                _bind(local, proc.params, self._eval(arg, env, n, file), file, line)
                nf = len(failures)
                ok = self._block(proc.body, local, n, failures, flags, all_checks)
                if as_name:
                    for f in failures[nf:]:
                        f.name = f.name or as_name
                return ok
            elif k == "forall":
                var, e, body = ins[1], ins[2], ins[3]
                v = V.lift_tag(self._eval(e, env, n, file))
                if v is EMPTY:
                    return True
                if not isinstance(v, ValSet):
                    raise EvalError(f"`forall` over a set of values, not {V.kind(v)}")
                for x in v.values():
                    local = Scope(env)
                    local[var] = x
                    if not self._block(body, local, n, failures, flags, all_checks):
                        return False
            elif k == "insmatch":
                e, clauses, default = ins[1], ins[2], ins[3]
                v = self._eval(e, env, n, file)
                if not isinstance(v, Tag):
                    raise EvalError(f"`match` on a tag, not {V.kind(v)}")
                for tag, body in clauses:
                    if tag == v.name:
                        return self._block(body, env, n, failures, flags, all_checks)
                if default is None:
                    raise EvalError(f"pattern matching failed on value '{v.name}")
                return self._block(default, env, n, failures, flags, all_checks)
            elif k in ("show", "debug"):
                pass
            else:  # pragma: no cover
                raise AssertionError(k)
        except EvalError as exc:
            raise CoherenceError(str(exc), file=file, line=line) from None
        return True

    def _block(self, body, env, n, failures, flags, all_checks) -> bool:
        for ins in body:
            if not self._exec(ins, env, n, failures, flags, all_checks):
                return False
        return True

    def _letrec(self, env, binds, when, n, file, failures, line) -> bool:
        """herd's ``let rec``: functions become recursive closures; the other bindings are
        the least fixpoint, from empty values, of their definitions (each step evaluates
        them in order, each seeing the ones before it), stopped when no value grows; a
        ``when`` test is checked at every step (the candidate fails when it does not hold)."""
        funs = [(p, e) for p, e, _ln in binds if _is_fun(e)]
        vals = [(p, e, ln) for p, e, ln in binds if not _is_fun(e)]
        for p, e in funs:
            if not isinstance(p, str):
                raise EvalError("`let rec` binds a function to a name, not to a tuple")
            env[p] = Closure(e[1], e[2], env, p)
        if not vals:
            return True
        old = []
        for p, _e, _ln in vals:
            if isinstance(p, str) or p is None:
                _bind(env, p, EMPTY, file, line)
                old.append(EMPTY)
            else:
                _bind(env, p, tuple(EMPTY for _ in p), file, line)
                old.append(tuple(EMPTY for _ in p))
        for _ in range(_FIX_LIMIT):
            new = []
            for p, e, ln in vals:
                v = self._eval(e, env, n, file)
                _bind(env, p, v, file, ln)
                new.append(v)
            if when is not None:
                res = self._test(when[1:6], env, n, file, when[-1])
                if res is not None:
                    res.kind = res.kind + " (let rec ... when)"
                    failures.append(res)
                    return False
            if all(V.stabilised(o, w, n) for o, w in zip(old, new)):
                return True
            old = new
        raise EvalError("`let rec` did not reach a fixpoint")  # pragma: no cover

    def _eval(self, e, env, n, file):
        k = e[0]
        if k == "var":
            try:
                return env[e[1]]
            except KeyError:
                raise CoherenceError(f"unbound name `{_public(e[1])}`", file=file,
                                     line=e[2]) from None
        if k == "static":
            # a subexpression of a dynamic binding that depends on the structure only
            sc = self._scache
            v = sc.get(e[2])
            if v is None:
                v = sc[e[2]] = self._eval(e[1], env, n, file)
            return v
        if k == "op2":
            op = e[1]
            if op == ";":
                return self._chain(e, env, n, file)
            a = self._eval(e[2], env, n, file)
            b = self._eval(e[3], env, n, file)
            if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == b.ndim:
                # two sets of events or two relations: what V.union ... do, without the
                # dispatch
                if op == "|":
                    return a | b
                if op == "&":
                    return a & b
                if op == "\\":
                    return a & ~b
            try:
                if op == "|":
                    return V.union(a, b, n)
                if op == "&":
                    return V.inter(a, b, n)
                if op == "\\":
                    return V.diff(a, b, n, self.enums)
                if op == "*":
                    return V.cartesian(a, b, n)
                if op == "++":
                    return V.add(a, b, n)
            except EvalError as exc:
                raise CoherenceError(str(exc), file=file, line=e[4]) from None
            raise AssertionError(op)  # pragma: no cover
        if k == "op1":
            try:
                return V.unop(e[1], self._eval(e[2], env, n, file), n, self.enums)
            except EvalError as exc:
                raise CoherenceError(str(exc), file=file, line=e[3]) from None
        if k == "app":
            f = self._eval(e[1], env, n, file)
            arg = self._eval(e[2], env, n, file)
            return self._apply(f, arg, n, file, e[3])
        if k == "empty":
            return EMPTY
        if k == "universe":
            return UNIV
        if k == "tuple":
            return tuple(self._eval(x, env, n, file) for x in e[1])
        if k == "fun":
            return Closure(e[1], e[2], env)
        if k == "let":
            local = Scope(env)
            for pat, x, ln in e[1]:
                _bind(local, pat, self._eval(x, env, n, file), file, ln)
            return self._eval(e[2], local, n, file)
        if k == "letrec":
            local = Scope(env)
            self._letrec(local, e[1], None, n, file, [], e[3])
            return self._eval(e[2], local, n, file)
        if k == "try":
            try:
                return self._eval(e[1], env, n, file)
            except (CoherenceError, EvalError):
                return self._eval(e[2], env, n, file)
        if k == "if":
            c = e[1]
            try:
                if c[0] == "variant":
                    truth = _variant_true(c[1], ())
                else:
                    a, b = self._eval(c[1], env, n, file), self._eval(c[2], env, n, file)
                    if c[0] == "eq":
                        truth = V.equal(a, b)
                    elif c[0] == "in":
                        truth = V.member(a, b, n)
                    else:
                        truth = V.subset(a, b, n)
            except EvalError as exc:
                raise CoherenceError(str(exc), file=file, line=e[4]) from None
            return self._eval(e[2] if truth else e[3], env, n, file)
        if k == "tag":
            return Tag(e[1], e[3] if len(e) > 3 else None)
        if k == "tagset":
            return ValSet.of([Tag(t, e[1]) for t in e[2]], e[1])
        if k == "set":
            items = [self._eval(x, env, n, file) for x in e[1]]
            if not items:
                return EMPTY
            if all(isinstance(x, EventV) for x in items):
                s = np.zeros(n, bool)
                s[[x.i for x in items]] = True
                return s
            if all(isinstance(x, PairV) for x in items):
                r = np.zeros((n, n), bool)
                for x in items:
                    r[x.a, x.b] = True
                return r
            if any(x is UNIV for x in items):
                raise CoherenceError("the universe `_` in an explicit set", file=file,
                                     line=e[2])
            return ValSet.of(items)
        if k == "match":
            v = self._eval(e[1], env, n, file)
            if not isinstance(v, Tag):
                raise CoherenceError(f"`match` on a tag, not {V.kind(v)}", file=file,
                                     line=e[4])
            for tag, body in e[2]:
                if tag == v.name:
                    return self._eval(body, env, n, file)
            if e[3] is None:
                raise CoherenceError(f"pattern matching failed on value '{v.name}",
                                     file=file, line=e[4])
            return self._eval(e[3], env, n, file)
        if k == "matchset":
            return self._matchset(e, env, n, file)
        raise AssertionError(k)  # pragma: no cover

    def _matchset(self, e, env, n, file):
        """``match S with {} -> a || x ++ rest -> b end`` (or ``before | x ++ after``): on a
        set of events, a relation or a set of values; ``x`` is the first member."""
        v = self._eval(e[1], env, n, file)
        cl = e[3]
        if v is EMPTY or (isinstance(v, np.ndarray) and not v.any()) or \
                (isinstance(v, ValSet) and not v.items):
            return self._eval(e[2], env, n, file)
        if v is UNIV:
            raise CoherenceError("cannot set-match on the universe", file=file, line=e[4])
        if isinstance(v, np.ndarray) and v.ndim == 1:
            members = [EventV(i) for i in np.flatnonzero(v)]

            def build(ms):
                s = np.zeros(n, bool)
                s[[m.i for m in ms]] = True
                return s
        elif isinstance(v, np.ndarray):
            members = [PairV(a, b) for a, b in zip(*np.nonzero(v))]

            def build(ms):
                r = np.zeros((n, n), bool)
                for m in ms:
                    r[m.a, m.b] = True
                return r
        elif isinstance(v, ValSet):
            members = v.values()
            enum = v.enum

            def build(ms):
                return ValSet.of(ms, enum)
        else:
            raise CoherenceError(f"set-matching on {V.kind(v)}", file=file, line=e[4])
        local = Scope(env)
        if cl[0] == "eltrem":
            _, x, rest, body = cl
            if x is not None:
                local[x] = members[0]
            if rest is not None:
                local[rest] = build(members[1:])
        else:
            _, before, x, after, body = cl
            mid = len(members) // 2
            if x is not None:
                local[x] = members[mid]
            if before is not None:
                local[before] = build(members[:mid])
            if after is not None:
                local[after] = build(members[mid + 1:])
        return self._eval(body, local, n, file)

    def _chain(self, e, env, n, file):
        """``a ; [S] ; b ; ...``: the ``[S]`` factors mask rows or columns instead of being
        multiplied (the shape of most model definitions), and are evaluated first: an empty
        one makes the whole sequence empty without computing the products."""
        factors = []
        while e[0] == "op2" and e[1] == ";":
            factors.append(e[2])
            e = e[3]
        factors.append(e)
        f = factors[0]
        try:
            masks = {}
            for j, f in enumerate(factors):
                if f[0] == "op1" and f[1] == "id":
                    s = self._eval(f[2], env, n, file)
                    if s is EMPTY:
                        return EMPTY
                    s = as_set(s, n)
                    if not s.any():
                        return EMPTY
                    masks[j] = s
            acc, rows = None, None
            ident = self._ctx.ident  # the structure's `id`: a factor that changes nothing
            for j, f in enumerate(factors):
                s = masks.get(j)
                if s is not None:
                    if acc is None:
                        rows = s if rows is None else rows & s
                    else:
                        acc = acc & s[None, :]
                    continue
                v = self._eval(f, env, n, file)
                if v is EMPTY:
                    return EMPTY
                v = as_rel(v, n)
                if acc is None:
                    acc = v & rows[:, None] if rows is not None else v
                elif v is ident:
                    continue
                elif acc is ident:
                    acc = v
                else:
                    acc = seq(acc, v)
                if not acc.any():
                    return EMPTY
        except EvalError as exc:
            raise CoherenceError(str(exc), file=file, line=f[-1]) from None
        if acc is None:  # only [S] factors
            return np.diag(rows)
        return acc

    def _apply(self, f, arg, n, file, line):
        if isinstance(f, Closure):
            local = Scope(f.env)
            _bind(local, f.params, arg, file, line)
            return self._eval(f.body, local, n, file)
        if isinstance(f, Builtin):
            try:
                return f.fn(arg, self._ctx)
            except EvalError as exc:
                raise CoherenceError(f"{f.name}: {exc}", file=file, line=line) from None
        raise CoherenceError(f"applying {V.kind(f)}, which is not a function", file=file,
                             line=line)


# --------------------------------------------------------------------------- loading


def shipped_models() -> list[str]:
    """Names of the models shipped with the project (``--model NAME``)."""
    return sorted(f[:-4] for f in os.listdir(MODELS_DIR)
                  if f.endswith(".cat") and not f.startswith("_"))


def resolve_model(name_or_path: str) -> str:
    """A shipped model's name (``x86-tso``) or a cat file's path -> the file's path."""
    if os.path.exists(name_or_path) and not os.path.isdir(name_or_path):
        return name_or_path
    cand = os.path.join(MODELS_DIR, name_or_path if name_or_path.endswith(".cat")
                        else name_or_path + ".cat")
    if os.path.exists(cand):
        return cand
    raise CoherenceError(f"no such model (shipped models: {', '.join(shipped_models())}) "
                         "and no such cat file", file=name_or_path)


def load_model(path: str, search_path=(), primitives=None, variants=()) -> Model:
    """Load the cat file at ``path`` (includes resolved against its folder, then
    ``search_path``, then the shipped models' folder)."""
    return _Loader(path, search_path, primitives, variants).load()


def _map_sub(e, f, callee=True):
    """Expression ``e`` with ``f`` applied to each of its operands (of ``op1``, ``op2``,
    ``app``, ``tuple``, ``try``, ``if``; any other kind is returned as it is), the walk of
    :meth:`_Loader.regroup` and :meth:`_Loader.mark_static`; ``callee``: also to the
    function an ``app`` applies."""
    k = e[0]
    if k == "op2":
        return (k, e[1], f(e[2]), f(e[3]), e[4])
    if k == "op1":
        return (k, e[1], f(e[2]), e[3])
    if k == "app":
        return (k, f(e[1]) if callee else e[1], f(e[2]), e[3])
    if k == "tuple":
        return (k, tuple(f(x) for x in e[1]), e[2])
    if k == "try":
        return (k, f(e[1]), f(e[2]), e[3])
    if k == "if":
        return (k, e[1], f(e[2]), f(e[3]), e[4])
    return e


class _Loader:
    """One model's loading: parsing, includes, names, classification (see the module
    docstring)."""

    def __init__(self, path, search_path, primitives, variants):
        from .prims import PRIMITIVE_NAMES
        self.path = os.fspath(path)
        self.search_path = [os.fspath(d) for d in search_path]
        self.variants = tuple(variants)
        self.prims = set(PRIMITIVE_NAMES if primitives is None else primitives)
        self.stmts = []
        # source name -> internal name of the binding in scope at top level
        self.scope = {nm: nm for nm in self.prims | set(BUILTINS)}
        self.count = {}          # source name -> bindings so far
        self.dynamic = set(DYNAMIC_PRIMITIVES)
        self.loading = []
        self.enums = {}          # enumeration -> its tags
        self.tag_types = {}      # tag -> its enumeration
        self.counter = 0
        self.defs = {}           # internal name -> its expression (top-level `let x = e`)
        self.co_alias = set()    # internal names bound by `with co from generate_cos(...)`

    def load(self):
        from .prims import HERD_PRIMITIVE_NAMES, PRELUDE_PATH
        std = self.find_stdlib()
        herd = std is not None
        if herd:
            # herd's own library replaces the project's prelude
            for nm in HERD_PRIMITIVE_NAMES:
                self.scope.setdefault(nm, nm)
            self.prims |= set(HERD_PRIMITIVE_NAMES)
            self.add_file(std)
        else:
            self.add_file(PRELUDE_PATH)
        title, catdep = self.add_file(self.path, main=True)
        name = title or os.path.splitext(os.path.basename(self.path))[0]
        model = Model(name, self.path, self.stmts, self.prims, self.enums, herd=herd,
                      catdep=catdep)
        model.coherence = self.coherence_check(herd)
        return model

    # -- files
    def dirs(self, here):
        return [os.path.dirname(here)] + self.search_path + [MODELS_DIR]

    def find_stdlib(self):
        """herd's ``stdlib.cat``, when the model's folder or the search path has one (never
        for a shipped model)."""
        if os.path.dirname(os.path.realpath(self.path)) == os.path.realpath(MODELS_DIR):
            return None
        for d in [os.path.dirname(os.path.abspath(self.path))] + self.search_path:
            cand = os.path.join(d, "stdlib.cat")
            if os.path.isfile(cand):
                return cand
        return None

    def read(self, p, from_file=None, from_line=None):
        try:
            with open(p, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError as exc:
            raise CoherenceError(f"cannot read cat file: {exc.strerror}",
                                 file=from_file or p, line=from_line) from None

    def find_include(self, name, here, line):
        dirs = self.dirs(here)
        for d in dirs:
            cand = os.path.join(d, name)
            if os.path.isfile(cand):
                return cand
        raise CoherenceError(f"include \"{name}\": not found in {', '.join(dirs)}",
                             file=here, line=line)

    def add_file(self, p, from_file=None, from_line=None, main=False):
        real = os.path.realpath(p)
        if real in self.loading:
            raise CoherenceError(f"`{os.path.basename(p)}` includes itself", file=from_file,
                                 line=from_line)
        self.loading.append(real)
        title, catdep, body = parse_cat(self.read(p, from_file, from_line), p,
                                        with_options=True)
        if main and catdep:
            from .prims import CATDEP_NAMES
            for nm in CATDEP_NAMES:
                self.scope.setdefault(nm, nm)
            self.prims |= CATDEP_NAMES
        self.top(body, p)
        self.loading.pop()
        return (title, catdep) if main else title

    # -- what the model's checks imply
    def coherence_check(self, herd):
        """Whether a top-level check of the model rejects every candidate that is not
        coherent location by location: ``acyclic E`` where ``E`` is, syntactically, a union
        that contains ``rf``, ``co``, ``fr`` and ``po & loc`` (or ``po``), following the
        names bound at top level (``com``, ``po-loc``, herd's ``cos.cat`` co and fr ...).
        Returns "rmw" when ``E`` also contains the primitive ``rmw``, "plain" when not,
        None when no check says so (the candidates are then not pruned: see
        :func:`..executions.candidates`)."""
        best = None
        for kind, payload, _dyn, _file, _line in self.stmts:
            if kind != "test" or payload[0] != "acyclic" or payload[1] or \
                    payload[2] != "check":
                continue
            got = set()
            self._leaves(payload[3], got, herd, 0)
            if {"rf", "co", "fr", "po-loc"} <= got:
                if "rmw" in got:
                    return "rmw"
                best = "plain"
        return best

    def _leaves(self, e, out, herd, depth):
        """The basic relations the union ``e`` contains (see :meth:`coherence_check`)."""
        if depth > 50:
            return
        k = e[0]
        if k == "static":
            return self._leaves(e[1], out, herd, depth + 1)
        if k == "op2" and e[1] == "|":
            self._leaves(e[2], out, herd, depth + 1)
            self._leaves(e[3], out, herd, depth + 1)
            return
        if k == "op2" and e[1] == ";" and herd and e[3] == ("var", "sm", e[3][-1]):
            # herd's sm relates each memory event to itself: X; sm contains X's memory part
            return self._leaves(e[2], out, herd, depth + 1)
        name = self._basic(e, depth)
        if name is not None:
            out.add(name)
        elif k == "var" and e[1] in self.defs:
            self._leaves(self.defs[e[1]], out, herd, depth + 1)

    def _basic(self, e, depth):
        """``e`` as one of rf, co, fr, po-loc, rmw (following names), else None."""
        e = self._deref(e, depth)
        k = e[0]
        if k == "var":
            nm = e[1]
            if nm in ("rf", "co", "fr", "rmw"):
                return nm
            if nm in self.co_alias:
                return "co"
            if nm == "po":
                return "po-loc"
            return None
        if k == "op2" and e[1] == "&":
            a, b = self._deref(e[2], depth), self._deref(e[3], depth)
            if {a[:2], b[:2]} == {("var", "po"), ("var", "loc")}:
                return "po-loc"
            return None
        if k == "op2" and e[1] == "\\":
            # (rf^-1; co) \ id, herd's cos.cat fr
            if self._deref(e[3], depth)[:2] == ("var", "id"):
                return "fr" if self._is_fr(e[2], depth) else None
            return None
        if k == "op2" and e[1] == ";":
            return "fr" if self._is_fr(e, depth) else None
        return None

    def _is_fr(self, e, depth):
        e = self._deref(e, depth)
        if e[0] != "op2" or e[1] != ";":
            return False
        a, b = self._deref(e[2], depth), self._deref(e[3], depth)
        if a[0] != "op1" or a[1] != "inv" or self._basic(a[2], depth + 1) != "rf":
            return False
        return self._basic(b, depth + 1) == "co"

    def _deref(self, e, depth):
        """Follow top-level names to their definitions (not primitives, not co aliases)."""
        for _ in range(50):
            if e[0] == "static":
                e = e[1]
            elif e[0] == "var" and e[1] in self.defs:
                e = self.defs[e[1]]
            else:
                return e
        return e

    # -- names
    def bind(self, name, scope=None):
        """A fresh internal name for a new top-level binding of ``name``."""
        k = self.count.get(name, 0) + 1
        self.count[name] = k
        internal = name if k == 1 and name not in self.prims and name not in BUILTINS \
            else f"{name}@{k}"
        (self.scope if scope is None else scope)[name] = internal
        return internal

    def expr(self, e, scope, file):
        """Prepare expression ``e`` under ``scope`` (source name -> internal name):
        internal names, decided ``if "variant"``, ``try a with b`` reduced to ``b`` when
        ``a`` names something unbound, tags checked.  Raises unbound-name errors."""
        k = e[0]
        if k == "var":
            internal = scope.get(e[1])
            if internal is None:
                raise CoherenceError(f"unbound name `{e[1]}`", file=file, line=e[2])
            return ("var", internal, e[2])
        if k in ("empty", "universe"):
            return e
        if k == "tag":
            enum = self.tag_types.get(e[1])
            if enum is None:
                raise CoherenceError(f"tag '{e[1]} is undefined (no `enum` declares it)",
                                     file=file, line=e[2])
            return ("tag", e[1], e[2], enum)
        if k == "op2":
            return (k, e[1], self.expr(e[2], scope, file), self.expr(e[3], scope, file), e[4])
        if k == "op1":
            return (k, e[1], self.expr(e[2], scope, file), e[3])
        if k == "app":
            return (k, self.expr(e[1], scope, file), self.expr(e[2], scope, file), e[3])
        if k in ("tuple", "set"):
            return (k, tuple(self.expr(x, scope, file) for x in e[1]), e[2])
        if k == "fun":
            inner = dict(scope)
            for p in _pat_names(e[1]):
                inner[p] = p
            return (k, e[1], self.expr(e[2], inner, file), e[3])
        if k == "let":
            inner = dict(scope)
            binds = []
            for pat, x, ln in e[1]:
                binds.append((pat, self.expr(x, scope, file), ln))
                for p in _pat_names(pat):
                    inner[p] = p
            return (k, binds, self.expr(e[2], inner, file), e[3])
        if k == "letrec":
            inner = dict(scope)
            for pat, _x, _ln in e[1]:
                for p in _pat_names(pat):
                    inner[p] = p
            binds = [(pat, self.expr(x, inner, file), ln) for pat, x, ln in e[1]]
            return (k, binds, self.expr(e[2], inner, file), e[3])
        if k == "try":
            if any(x not in scope for x in _free_of(e[1])):
                return self.expr(e[2], scope, file)
            try:
                a = self.expr(e[1], scope, file)
            except CoherenceError:
                # herd: any error in `a` (here: an undefined tag) selects `b`
                return self.expr(e[2], scope, file)
            return (k, a, self.expr(e[2], scope, file), e[3])
        if k == "if":
            c = e[1]
            if c[0] == "variant":
                branch = e[2] if _variant_true(c[1], self.variants) else e[3]
                return self.expr(branch, scope, file)
            c = (c[0], self.expr(c[1], scope, file), self.expr(c[2], scope, file))
            return (k, c, self.expr(e[2], scope, file), self.expr(e[3], scope, file), e[4])
        if k == "match":
            return (k, self.expr(e[1], scope, file),
                    tuple((self.check_tag(t, file, tl), self.expr(b, scope, file))
                          for t, b, tl in e[2]),
                    None if e[3] is None else self.expr(e[3], scope, file), e[4])
        if k == "matchset":
            cl = e[3]
            inner = dict(scope)
            for p in cl[1:-1]:
                if p is not None:
                    inner[p] = p
            cl = cl[:-1] + (self.expr(cl[-1], inner, file),)
            return (k, self.expr(e[1], scope, file), self.expr(e[2], scope, file), cl, e[4])
        raise AssertionError(k)  # pragma: no cover

    def check_tag(self, tag, file, line):
        if tag not in self.tag_types:
            raise CoherenceError(f"tag '{tag} is undefined (no `enum` declares it)",
                                 file=file, line=line)
        return tag

    def is_dynamic(self, e):
        return bool(_free_of(e) & self.dynamic)

    @staticmethod
    def closure_of(binds):
        """``let rec x = A1 | ... | x; x | ... | Ak`` (one binding, no ``when``; x not free in
        the Ai) as ``(x, A1 | ... | Ak)+``, its binding and line; None for another ``let
        rec``.  Exact: herd's least fixpoint from the empty relation of
        ``x = A | x; x`` is the smallest transitive relation that contains ``A``, ``A+``
        (``A+`` is a fixpoint, and every fixpoint contains ``A`` and is transitive)."""
        if len(binds) != 1:
            return None
        ip, e, bln = binds[0]
        if not isinstance(ip, str) or _is_fun(e):
            return None
        flat = []

        def walk(x):
            if x[0] == "op2" and x[1] == "|":
                walk(x[2])
                walk(x[3])
            else:
                flat.append(x)
        walk(e)

        def is_xx(x):
            return (x[0] == "op2" and x[1] == ";" and x[2][0] == "var" and x[2][1] == ip
                    and x[3][0] == "var" and x[3][1] == ip)
        rest = [x for x in flat if not is_xx(x)]
        if len(rest) == len(flat) or not rest or any(ip in _free_of(x) for x in rest):
            return None
        line = e[-1]
        a = rest[-1]
        for x in reversed(rest[:-1]):
            a = ("op2", "|", x, a, line)
        return ip, ("op1", "+", a, line), bln

    def regroup(self, e):
        """``e`` with each chain of ``;`` (or of ``|``) flattened and every run of consecutive
        operands that name no dynamic value rebuilt as one operand (which
        :meth:`mark_static` then caches per structure): ``[M]; (addr | data); [W]; rfi; [R]``
        is ``([M]; (addr | data); [W]); rfi; [R]``.  Exact: both operators are associative
        (``|`` on sets of values too, members in the same order); the operands keep their
        order."""
        if not isinstance(e, tuple) or not e:
            return e
        k = e[0]
        if k == "op2" and e[1] in (";", "|"):
            op, line = e[1], e[4]
            flat = []

            def walk(x):
                if isinstance(x, tuple) and x and x[0] == "op2" and x[1] == op:
                    walk(x[2])
                    walk(x[3])
                else:
                    flat.append(self.regroup(x))
            walk(e)

            def build(xs):
                out = xs[-1]
                for x in reversed(xs[:-1]):
                    out = ("op2", op, x, out, line)
                return out
            groups, run = [], []
            for x in flat:
                if self.is_dynamic(x):
                    if run:
                        groups.append(build(run))
                        run = []
                    groups.append(x)
                else:
                    run.append(x)
            if run:
                groups.append(build(run))
            return build(groups)
        return _map_sub(e, self.regroup)

    def mark_static(self, e):
        """Wrap the largest subexpressions of ``e`` that name no dynamic value (and sit
        outside any binder) as ``("static", e, key)``: cached per event structure."""
        if not isinstance(e, tuple) or e[0] in ("var", "empty", "universe", "tag", "fun",
                                                 "let", "letrec", "match", "matchset",
                                                 "static", "set", "tagset"):
            return e
        if e[0] == "op1" and e[1] == "id":
            # keep [S] visible to the ; chains; its set may be cached
            inner = e[2]
            if not self.is_dynamic(inner) and inner[0] in ("op1", "op2", "app"):
                self.counter += 1
                inner = ("static", inner, self.counter)
            else:
                inner = self.mark_static(inner)
            return (e[0], e[1], inner, e[3])
        if not self.is_dynamic(e) and e[0] in ("op1", "op2", "app"):
            self.counter += 1
            return ("static", e, self.counter)
        return _map_sub(e, self.mark_static, callee=False)

    def emit(self, kind, payload, dynamic, file, line, names=()):
        for nm in names:
            (self.dynamic.add if dynamic else self.dynamic.discard)(nm)
        self.stmts.append((kind, payload, dynamic, file, line))

    # -- instructions
    def test_payload(self, ins, scope, file):
        _, tk, neg, ttype, e, name, _ln = ins
        return (tk, neg, ttype, self.expr(e, scope, file), name)

    def top(self, body, file):
        for ins in body:
            k = ins[0]
            ln = ins[-1]
            if k == "include":
                self.add_file(self.find_include(ins[1], file, ln), file, ln)
            elif k == "ifvariant":
                self.top(ins[2] if _variant_true(ins[1], self.variants) else ins[3], file)
            elif k in ("show", "debug"):
                pass
            elif k == "enum":
                _, name, tags, _ = ins
                for t in tags:
                    self.tag_types[t] = name
                self.enums[name] = tags
                internal = self.bind(name)
                self.emit("let", [(internal, ("tagset", name, tags, ln), ln)], False, file,
                          ln, [internal])
            elif k == "let":
                prepared = [(pat, self.expr(e, self.scope, file), bln)
                            for pat, e, bln in ins[1]]  # `and`: all in the outer scope
                for pat, e, bln in prepared:
                    d = self.is_dynamic(e)
                    if d:
                        e = self.mark_static(self.regroup(e))
                    ipat = self.bind_pat(pat)
                    if isinstance(ipat, str):
                        self.defs[ipat] = e
                    self.emit("let", [(ipat, e, bln)], d, file, bln, _pat_names(ipat))
            elif k == "letrec":
                binds, when = ins[1], ins[2]
                inner = dict(self.scope)
                ipats = []
                for pat, _e, _bln in binds:
                    ipats.append(self.bind_pat(pat, inner))
                pbinds = [(ip, self.expr(e, inner, file), bln)
                          for ip, (_p, e, bln) in zip(ipats, binds)]
                pwhen = None
                if when is not None:
                    pwhen = (when[0],) + self.test_payload(when, inner, file) + (when[-1],)
                names = {nm for ip in ipats for nm in _pat_names(ip)}
                free = set()
                for _ip, e, _bln in pbinds:
                    free |= _free_of(e)
                if pwhen is not None:
                    free |= _free_of(pwhen[4])
                d = bool((free - names) & self.dynamic)
                self.scope.update({s: inner[s] for p, _e, _b in binds for s in _pat_names(p)})
                closure = self.closure_of(pbinds) if pwhen is None else None
                if closure is not None:
                    ip, e, bln = closure
                    if d:
                        e = self.mark_static(self.regroup(e))
                    self.emit("let", [(ip, e, bln)], d, file, ln, names)
                else:
                    self.emit("letrec", (pbinds, pwhen), d, file, ln, names)
            elif k == "test":
                payload = self.test_payload(ins, self.scope, file)
                d = self.is_dynamic(payload[3])
                if d:
                    payload = payload[:3] + (self.mark_static(self.regroup(payload[3])),) + \
                        payload[4:]
                self.emit("test", payload, d, file, ln)
            elif k == "procedure":
                _, name, params, pbody, _ = ins
                inner = dict(self.scope)
                internal = self.bind(name, inner)  # the body may call itself
                for p in _pat_names(params):
                    inner[p] = p
                fixed = self.block(pbody, inner, file)
                self.scope[name] = internal
                # a procedure runs per candidate (its checks may name anything)
                self.emit("procedure", (internal, params, fixed), False, file, ln, [internal])
            elif k == "withfrom":
                _, var, e, _ = ins
                if e[0] == "app" and e[1][0] == "var" and e[1][1] == "generate_cos" and \
                        var == "co" and "generate_cos" in self.scope:
                    arg = self.expr(e[2], self.scope, file)
                    internal = self.bind(var)
                    self.co_alias.add(internal)
                    self.emit("withco", (internal, arg), True, file, ln, [internal])
                else:
                    pe = self.expr(e, self.scope, file)
                    if not self.is_dynamic(pe):
                        self.counter += 1
                        pe = ("static", pe, self.counter)
                    internal = self.bind(var)
                    self.emit("withfrom", (internal, pe), True, file, ln, [internal])
            elif k == "call":
                _, name, arg, as_name, _ = ins
                internal = self.scope.get(name)
                if internal is None:
                    raise CoherenceError(f"unbound procedure `{name}`", file=file, line=ln)
                self.emit("call", (internal, self.expr(arg, self.scope, file), as_name), True,
                          file, ln)
            elif k == "forall":
                _, var, e, fbody, _ = ins
                pe = self.expr(e, self.scope, file)
                inner = dict(self.scope)
                inner[var] = var
                self.emit("forall", (var, pe, self.block(fbody, inner, file)), True, file, ln)
            elif k == "insmatch":
                # the chosen clause's bindings stay in scope: each name bound by a clause
                # gets one internal name, bound per candidate
                _, e, clauses, default, _ = ins
                pe = self.expr(e, self.scope, file)
                bodies = [b for _t, b, _l in clauses] + ([default] if default is not None
                                                         else [])
                names = sorted({nm for b in bodies for i in b if i[0] in ("let", "letrec")
                                for pat, _x, _l in i[1] for nm in _pat_names(pat)})
                after = dict(self.scope)
                for nm in names:
                    self.bind(nm, after)
                pcl = []
                for tag, b, tl in clauses:
                    self.check_tag(tag, file, tl)
                    pcl.append((tag, self.block(b, self.scope, file, rename=after)))
                pdef = None if default is None else self.block(default, self.scope, file,
                                                               rename=after)
                self.scope = after
                self.emit("insmatch", (pe, tuple(pcl), pdef), True, file, ln,
                          [after[nm] for nm in names])
            else:  # pragma: no cover
                raise AssertionError(k)

    def bind_pat(self, pat, scope=None):
        if pat is None:
            return None
        if isinstance(pat, str):
            return self.bind(pat, scope)
        return tuple(None if p is None else self.bind(p, scope) for p in pat)

    def block(self, body, scope, file, rename=None):
        """Prepare the instructions of a procedure, forall or match body: a local scope
        (``rename`` gives the internal names of the bindings that outlive the block)."""
        scope = dict(scope)
        out = []
        for ins in body:
            k = ins[0]
            ln = ins[-1]
            if k == "let":
                prepared = [(pat, self.expr(e, scope, file), bln) for pat, e, bln in ins[1]]
                binds = []
                for pat, e, bln in prepared:
                    ipat = self.local_pat(pat, scope, rename)
                    binds.append((ipat, e, bln))
                out.append(("let", binds, file, ln))
            elif k == "letrec":
                inner = dict(scope)
                ipats = [self.local_pat(pat, inner, rename) for pat, _e, _b in ins[1]]
                binds = [(ip, self.expr(e, inner, file), bln)
                         for ip, (_p, e, bln) in zip(ipats, ins[1])]
                when = ins[2]
                if when is not None:
                    when = (when[0],) + self.test_payload(when, inner, file) + (when[-1],)
                scope = inner
                out.append(("letrec", binds, when, file, ln))
            elif k == "test":
                out.append(("test", self.test_payload(ins, scope, file), file, ln))
            elif k == "call":
                internal = scope.get(ins[1])
                if internal is None:
                    raise CoherenceError(f"unbound procedure `{ins[1]}`", file=file, line=ln)
                out.append(("call", internal, self.expr(ins[2], scope, file), ins[3], file,
                            ln))
            elif k == "forall":
                inner = dict(scope)
                inner[ins[1]] = ins[1]
                out.append(("forall", ins[1], self.expr(ins[2], scope, file),
                            self.block(ins[3], inner, file), file, ln))
            elif k == "insmatch":
                cl = tuple((self.check_tag(t, file, tl), self.block(b, scope, file, rename))
                           for t, b, tl in ins[2])
                d = None if ins[3] is None else self.block(ins[3], scope, file, rename)
                out.append(("insmatch", self.expr(ins[1], scope, file), cl, d, file, ln))
            elif k == "procedure":
                inner = dict(scope)
                inner[ins[1]] = ins[1]
                for p in _pat_names(ins[2]):
                    inner[p] = p
                scope[ins[1]] = ins[1]
                out.append(("procedure", ins[1], ins[2], self.block(ins[3], inner, file),
                            file, ln))
            elif k == "ifvariant":
                sub = ins[2] if _variant_true(ins[1], self.variants) else ins[3]
                out.extend(self.block(sub, scope, file, rename))
            elif k in ("show", "debug"):
                pass
            else:
                raise CoherenceError(f"`{k}` inside a procedure, forall or match body is not "
                                     "supported", file=file, line=ln)
        return out

    def local_pat(self, pat, scope, rename):
        for p in _pat_names(pat):
            scope[p] = rename[p] if rename and p in rename else p
        if isinstance(pat, str):
            return scope[pat]
        if pat is None:
            return None
        return tuple(None if p is None else scope[p] for p in pat)
