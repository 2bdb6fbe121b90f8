"""Loading a cat model and checking candidate executions against it.

A model is loaded once (:func:`load_model`): its ``include`` files are resolved (the including
file's folder, then the search path, then the shipped models), ``if "variant"`` blocks are
decided (no variant is set), every name is checked to be bound (an unbound name outside
``try ... with`` is a ``file:line`` error), and each top-level binding is classified as
*static* (it depends only on the events, ``po``, dependencies, locations: the same for every
candidate of one event structure) or *dynamic* (it mentions ``rf``, ``co``, ``fr`` or a name
derived from them).  :meth:`Model.check` then evaluates the static bindings once per event
structure (cached on the structure) and only the dynamic ones per candidate, stopping at the
first failed check.

Values: a set of events is a 1-D numpy bool array, a relation a 2-D one (row = source); the
empty ``0`` is a polymorphic :data:`EMPTY`; tags are :class:`Tag`; functions are
:class:`Closure` or Python callables; tuples are Python tuples.
"""

from __future__ import annotations

import os

import numpy as np

from ...errors import CoherenceError
from .parser import parse_cat

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")

# Names whose value differs between candidates of one event structure.
DYNAMIC_PRIMITIVES = frozenset({"rf", "co", "fr", "rfe", "rfi", "coe", "coi", "fre", "fri",
                                "FW", "co0"})


class _Empty:
    """herd's ``0``: the empty set or relation, whichever the context needs."""

    def __repr__(self):
        return "0"


EMPTY = _Empty()


class Tag(str):
    """A tag value ``'name``."""


class Closure:
    __slots__ = ("params", "body", "env", "name")

    def __init__(self, params, body, env, name="*fun*"):
        self.params, self.body, self.env, self.name = params, body, env, name


class Procedure:
    __slots__ = ("params", "body", "env", "name")

    def __init__(self, params, body, env, name):
        self.params, self.body, self.env, self.name = params, body, env, name


class _EvalError(Exception):
    """A type error while evaluating (becomes a CoherenceError with file:line)."""


class Failure:
    """A failed check: the test's ``name`` (its ``as`` name or ``kind expression``),
    ``kind`` (acyclic / irreflexive / empty), the relation it was applied to, and where."""

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


# --------------------------------------------------------------------------- relation algebra


def as_set(v, n):
    if v is EMPTY:
        return np.zeros(n, bool)
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return v
    raise _EvalError(f"expected a set of events, got {_kind(v)}")


def as_rel(v, n):
    if v is EMPTY:
        return np.zeros((n, n), bool)
    if isinstance(v, np.ndarray) and v.ndim == 2:
        return v
    raise _EvalError(f"expected a relation, got {_kind(v)}")


def _kind(v):
    if isinstance(v, np.ndarray):
        return "a set of events" if v.ndim == 1 else "a relation"
    if isinstance(v, (Closure, Procedure)) or callable(v):
        return "a function"
    if isinstance(v, tuple):
        return "a tuple"
    if isinstance(v, Tag):
        return "a tag"
    if isinstance(v, frozenset):
        return "a set of tags"
    return type(v).__name__


def seq(a, b):
    """Relational composition ``a ; b``: a boolean matrix product, done in float32 where
    numpy uses BLAS (7x faster than its boolean product for 50 events; exact: at most
    2**24 paths per pair)."""
    return (a.astype(np.float32) @ b.astype(np.float32)) > 0


def plus(r):
    """Transitive closure by repeated squaring (log2 n products)."""
    c = r.copy()
    while True:
        nxt = c | seq(c, c)
        if (nxt == c).all():
            return c
        c = nxt


def is_acyclic(r) -> bool:
    """No cycle: peel off events with no predecessor until none is left or none can go."""
    alive = r.any(axis=0) | r.any(axis=1)
    if not alive.any():
        return True
    sub = r[np.ix_(alive, alive)]
    if sub.diagonal().any():
        return False
    while sub.shape[0]:
        keep = sub.any(axis=0)  # has a predecessor
        if keep.all():
            return False
        sub = sub[np.ix_(keep, keep)]
    return True


def _binop(op, a, b, n):
    if op == "*":
        return np.outer(as_set(a, n), as_set(b, n))
    if op == ";":
        if a is EMPTY or b is EMPTY:
            return EMPTY
        return seq(as_rel(a, n), as_rel(b, n))
    if op == "++":
        raise _EvalError("`++` (set of values) is not supported")
    if a is EMPTY and b is EMPTY:
        return EMPTY
    if a is EMPTY:
        if op == "|":
            return b
        return EMPTY if op in ("&", "\\") else b
    if b is EMPTY:
        return EMPTY if op == "&" else a
    if isinstance(a, frozenset) or isinstance(b, frozenset):
        raise _EvalError("operations on sets of tags are not supported")
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.ndim != b.ndim:
        raise _EvalError(f"`{op}` between {_kind(a)} and {_kind(b)}")
    if op == "|":
        return a | b
    if op == "&":
        return a & b
    return a & ~b  # "\\"


def _unop(op, a, n):
    if op == "~":
        if a is EMPTY:
            raise _EvalError("`~0`: write `~` of a set or relation")
        if not isinstance(a, np.ndarray):
            raise _EvalError(f"`~` of {_kind(a)}")
        return ~a
    if op == "id":
        s = as_set(a, n)
        return np.diag(s)
    if a is EMPTY:
        if op in ("*", "?"):
            return np.eye(n, dtype=bool)
        return EMPTY
    r = as_rel(a, n)
    if op == "inv":
        return r.T.copy()
    if op == "+":
        return plus(r)
    if op == "*":
        return plus(r) | np.eye(n, dtype=bool)
    if op == "?":
        return r | np.eye(n, dtype=bool)
    raise AssertionError(op)


def _domain(r, n):
    return EMPTY if r is EMPTY else as_rel(r, n).any(axis=1)


def _range(r, n):
    return EMPTY if r is EMPTY else as_rel(r, n).any(axis=0)


def _unsupported(name):
    def f(*_args):
        raise _EvalError(f"herd's built-in `{name}` is not supported")
    return f


# herd's other built-ins are bound (so that herd's library files load) but not evaluated:
# its co generation (cross.cat) is replaced by `with co from` (see load_model).
BUILTINS = {"domain": _domain, "range": _range,
            **{nm: _unsupported(nm) for nm in ("linearisations", "partition", "classes-loc",
                                               "tag2scope", "tag2level", "tag2events",
                                               "fromto", "inv-domain", "different-values",
                                               "same-value")}}


# --------------------------------------------------------------------------- loading


def _free(e, bound, out):
    """Free variables of expression ``e`` (names not in ``bound``) into ``out``."""
    k = e[0]
    if k == "var":
        if e[1] not in bound:
            out.add(e[1])
    elif k in ("empty", "universe", "tag"):
        pass
    elif k == "op2":
        _free(e[2], bound, out)
        _free(e[3], bound, out)
    elif k == "op1":
        _free(e[2], bound, out)
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
        for names, body in e[2]:
            _free(body, bound | set(names), out)
    elif k == "if":
        c = e[1]
        if c[0] in ("eq", "in"):
            _free(c[1], bound, out)
            _free(c[2], bound, out)
        _free(e[2], bound, out)
        _free(e[3], bound, out)
    else:  # pragma: no cover
        raise AssertionError(k)


def _pat_names(pat):
    if pat is None:
        return []
    if isinstance(pat, str):
        return [pat]
    return [p for p in pat if p is not None]


def _variant_true(v, variants):
    k = v[0]
    if k == "v":
        return v[1] in variants
    if k == "not":
        return not _variant_true(v[1], variants)
    if k == "and":
        return _variant_true(v[1], variants) and _variant_true(v[2], variants)
    return _variant_true(v[1], variants) or _variant_true(v[2], variants)


class Model:
    """A loaded cat model: flat top-level instructions, each tagged with its file.

    ``stmts`` holds ``(kind, payload, dynamic, file, line)``; see :func:`load_model`.
    """

    def __init__(self, name, path, stmts, primitives):
        self.name, self.path, self.stmts = name, path, stmts
        self.primitives = primitives
        self.checks = [s for s in stmts if s[0] == "test" and not s[1][2]]

    # -- evaluation
    def check(self, ex, explain=False, all_checks=False):
        """Evaluate the model on candidate execution ``ex`` (see
        :class:`coherence.litmus.executions.Candidate`).

        Returns ``(allowed, failures, flags)``: the checks that failed (all of them when
        ``all_checks``, else the first) and the names of the ``flag`` tests that fired.
        """
        n = ex.n
        cache = ex.structure.cat_cache.setdefault(id(self), {})
        env = cache.get("env")
        if env is None:
            env = dict(ex.structure.static_env())
            cache["env"] = env
            cache["done"] = set()
            cache["static"] = {}
        self._scache = cache["static"]
        denv = None
        failures, flags = [], []
        for idx, (kind, payload, dynamic, file, line) in enumerate(self.stmts):
            if not dynamic:
                if idx in cache["done"]:
                    continue
                target = env
            else:
                if denv is None:
                    denv = dict(env)
                    denv.update(ex.dynamic_env())
                target = denv
            try:
                if kind == "let":
                    for pat, e, ln in payload:
                        _bind(target, pat, self._eval(e, target, n, file), file, ln)
                elif kind == "letrec":
                    _letrec(self, target, payload, n, file)
                elif kind == "procedure":
                    name, params, body = payload
                    target[name] = Procedure(params, body, None, name)
                elif kind == "test":
                    if not dynamic:
                        # A static check has the same outcome for every candidate of the
                        # structure; evaluate it each time (cheap) to keep the code simple.
                        pass
                    res = self._test(payload, target, n, file, line)
                    if res is not None:
                        if payload[2]:  # flag
                            flags.append(res.describe())
                        else:
                            failures.append(res)
                            if not all_checks:
                                return False, failures, flags
                elif kind == "withfrom":
                    var, arg, gen = payload
                    base = self._eval(arg, target, n, file)
                    if gen == "generate_orders":
                        base = base[1] if isinstance(base, tuple) else base
                    if base is not EMPTY and (as_rel(base, n) & ~as_rel(target[var], n)).any():
                        failures.append(Failure(f"{var} from {gen}", "with", False, None, file,
                                                line))
                        return False, failures, flags
                elif kind == "call":
                    res = self._call(payload, target, n, file, line, failures, flags,
                                     all_checks)
                    if res is False:
                        return False, failures, flags
            except _EvalError as exc:
                raise CoherenceError(str(exc), file=file, line=line) from None
            if not dynamic and kind != "test":
                cache["done"].add(idx)
                if denv is not None:  # a static binding after the first dynamic one
                    for nm in _stmt_names(kind, payload):
                        denv[nm] = env[nm]
        return not failures, failures, flags

    def _test(self, payload, env, n, file, line):
        kind, neg, flag, e, name = payload
        v = self._eval(e, env, n, file)
        if kind == "empty":
            if v is EMPTY:
                ok = True
            elif isinstance(v, np.ndarray):
                ok = not v.any()
            else:
                raise _EvalError(f"`empty` of {_kind(v)}")
            rel = v if isinstance(v, np.ndarray) and v.ndim == 2 else None
        else:
            r = as_rel(v, n)
            ok = not r.diagonal().any() if kind == "irreflexive" else is_acyclic(r)
            rel = r
        if neg:
            ok = not ok
        if ok:
            return None
        return Failure(name, kind, neg, rel, file, line, e[1] if e[0] == "var" else None)

    def _call(self, payload, env, n, file, line, failures, flags, all_checks):
        name, arg, _as = payload
        proc = env.get(name)
        if not isinstance(proc, Procedure):
            raise _EvalError(f"`{name}` is not a procedure")
        local = dict(env)
        val = self._eval(arg, env, n, file)
        _bind(local, proc.params, val, file, line)
        for st in proc.body:
            k = st[0]
            if k == "let":
                for pat, e, ln in st[1]:
                    _bind(local, pat, self._eval(e, local, n, file), file, ln)
            elif k == "letrec":
                _letrec(self, local, st[1], n, file)
            elif k == "test":
                _, tk, neg, flag, e, tname, ln = st
                res = self._test((tk, neg, flag, e, tname or _as), local, n, file, ln)
                if res is not None:
                    if flag:
                        flags.append(res.describe())
                    else:
                        failures.append(res)
                        if not all_checks:
                            return False
            elif k == "show":
                pass
            else:
                raise _EvalError(f"`{k}` inside a procedure is not supported")
        return True

    def _eval(self, e, env, n, file):
        k = e[0]
        if k == "var":
            try:
                return env[e[1]]
            except KeyError:
                raise CoherenceError(f"unbound name `{e[1]}`", file=file, line=e[2]) from None
        if k == "static":
            # a subexpression of a dynamic binding that depends on the structure only
            sc = self._scache
            v = sc.get(e[2])
            if v is None:
                v = sc[e[2]] = self._eval(e[1], env, n, file)
            return v
        if k == "op2":
            if e[1] == ";":
                return self._chain(e, env, n, file)
            return _binop(e[1], self._eval(e[2], env, n, file), self._eval(e[3], env, n, file),
                          n)
        if k == "op1":
            return _unop(e[1], self._eval(e[2], env, n, file), n)
        if k == "empty":
            return EMPTY
        if k == "universe":
            return np.ones(n, bool)
        if k == "app":
            f = self._eval(e[1], env, n, file)
            arg = self._eval(e[2], env, n, file)
            return self._apply(f, arg, n, file, e[3])
        if k == "tuple":
            return tuple(self._eval(x, env, n, file) for x in e[1])
        if k == "fun":
            return Closure(e[1], e[2], env)
        if k == "let":
            local = dict(env)
            for pat, x, ln in e[1]:
                _bind(local, pat, self._eval(x, env, n, file), file, ln)
            return self._eval(e[2], local, n, file)
        if k == "letrec":
            local = dict(env)
            _letrec(self, local, e[1], n, file)
            return self._eval(e[2], local, n, file)
        if k == "try":
            try:
                return self._eval(e[1], env, n, file)
            except (CoherenceError, _EvalError):
                return self._eval(e[2], env, n, file)
        if k == "if":
            c = e[1]
            if c[0] == "variant":
                truth = _variant_true(c[1], ())
            elif c[0] == "eq":
                a, b = self._eval(c[1], env, n, file), self._eval(c[2], env, n, file)
                truth = _equal(a, b, n)
            else:
                a, b = self._eval(c[1], env, n, file), self._eval(c[2], env, n, file)
                truth = isinstance(b, frozenset) and a in b
            return self._eval(e[2] if truth else e[3], env, n, file)
        if k == "tag":
            return Tag(e[1])
        if k == "match":
            raise _EvalError("`match` is not supported (herd's set recursion)")
        if k == "set":
            items = [self._eval(x, env, n, file) for x in e[1]]
            if not items:
                return EMPTY
            if all(isinstance(x, Tag) for x in items):
                return frozenset(items)
            raise _EvalError("explicit sets `{...}` of events are not supported")
        raise AssertionError(k)  # pragma: no cover

    def _chain(self, e, env, n, file):
        """``a ; [S] ; b ; ...``: the ``[S]`` factors mask rows or columns instead of being
        multiplied (the shape of most model definitions)."""
        factors = []
        while e[0] == "op2" and e[1] == ";":
            factors.append(e[2])
            e = e[3]
        factors.append(e)
        acc, rows = None, None
        for f in factors:
            if f[0] == "op1" and f[1] == "id":
                s = as_set(self._eval(f[2], env, n, file), n)
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
            else:
                acc = seq(acc, v)
        if acc is None:  # only [S] factors
            return np.diag(rows)
        return acc

    def _apply(self, f, arg, n, file, line):
        if isinstance(f, Closure):
            local = dict(f.env)
            _bind(local, f.params, arg, file, line)
            return self._eval(f.body, local, n, file)
        if callable(f):
            if isinstance(arg, tuple):
                return f(*arg, n)
            return f(arg, n)
        raise CoherenceError(f"applying {_kind(f)}, which is not a function", file=file,
                             line=line)


def _stmt_names(kind, payload):
    """The names a top-level let / let rec / procedure binds."""
    if kind in ("let", "letrec"):
        return [nm for pat, _e, _ln in payload for nm in _pat_names(pat)]
    if kind == "procedure":
        return [payload[0]]
    return []


def _equal(a, b, n):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or a is EMPTY or b is EMPTY:
        if a is EMPTY and b is EMPTY:
            return True
        if a is EMPTY:
            return not b.any()
        if b is EMPTY:
            return not a.any()
        return a.shape == b.shape and bool((a == b).all())
    return a == b


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
    if not isinstance(value, tuple) or len(value) != len(pat):
        raise CoherenceError(f"expected a tuple of {len(pat)} values", file=file, line=line)
    for p, v in zip(pat, value):
        if p is not None:
            env[p] = v


def _letrec(model, env, binds, n, file):
    """``let rec``: the least fixpoint, from empty relations, of the bindings."""
    names = [pat for pat, _e, _ln in binds]
    if any(not isinstance(p, str) for p in names):
        raise _EvalError("`let rec` binds names, not tuples")
    funs = [isinstance(e, tuple) and e[0] == "fun" for _p, e, _ln in binds]
    if any(funs):
        if not all(funs):
            raise _EvalError("`let rec` mixing functions and relations is not supported")
        for pat, e, _ln in binds:  # recursive functions: closures over the shared env
            env[pat] = Closure(e[1], e[2], env, pat)
        return
    for pat in names:
        env[pat] = EMPTY
    for _ in range(4 * n * n + 8):
        changed = False
        new = [model._eval(e, env, n, file) for _p, e, _ln in binds]
        for pat, v in zip(names, new):
            if not _equal(env[pat], v, n):
                changed = True
            env[pat] = v
        if not changed:
            return
    raise _EvalError("`let rec` did not reach a fixpoint")  # pragma: no cover


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
    from .prims import PRIMITIVE_NAMES, PRELUDE_PATH
    prims = set(PRIMITIVE_NAMES if primitives is None else primitives)
    stmts: list = []
    bound = set(prims) | set(BUILTINS)
    dynamic = set(DYNAMIC_PRIMITIVES)
    loading: list[str] = []
    included: set[str] = set()

    def read(p, from_file=None, from_line=None):
        try:
            with open(p, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError as exc:
            raise CoherenceError(f"cannot read cat file: {exc.strerror}",
                                 file=from_file or p, line=from_line) from None

    def find_include(name, here, line):
        dirs = [os.path.dirname(here)] + [os.fspath(d) for d in search_path] + [MODELS_DIR]
        for d in dirs:
            cand = os.path.join(d, name)
            if os.path.isfile(cand):
                return cand
        raise CoherenceError(f"include \"{name}\": not found in {', '.join(dirs)}",
                             file=here, line=line)

    def add_file(p, from_file=None, from_line=None):
        real = os.path.realpath(p)
        if real in loading:
            raise CoherenceError(f"`{os.path.basename(p)}` includes itself", file=from_file,
                                 line=from_line)
        if real in included:
            return None  # herd reads a file included twice once
        included.add(real)
        loading.append(real)
        title, body = parse_cat(read(p, from_file, from_line), p)
        add_body(body, p)
        loading.pop()
        return title

    def check_bound(e, names, file, line):
        free = set()
        _free(e, set(), free)
        missing = sorted(x for x in free if x not in names)
        if missing:
            raise CoherenceError(f"unbound name `{missing[0]}`", file=file,
                                 line=_line_of(e, missing[0]) or line)
        return free

    def strip_try(e, names):
        """Replace ``try a with b`` by ``b`` when ``a`` names something unbound."""
        if not isinstance(e, tuple):
            return e
        k = e[0]
        if k == "try":
            free = set()
            _free(e[1], set(), free)
            if any(x not in names for x in free):
                return strip_try(e[2], names)
            return ("try", strip_try(e[1], names), strip_try(e[2], names), e[3])
        if k in ("op2",):
            return (k, e[1], strip_try(e[2], names), strip_try(e[3], names), e[4])
        if k == "op1":
            return (k, e[1], strip_try(e[2], names), e[3])
        if k == "app":
            return (k, strip_try(e[1], names), strip_try(e[2], names), e[3])
        if k in ("tuple", "set"):
            return (k, tuple(strip_try(x, names) for x in e[1]), e[2])
        if k == "fun":
            return (k, e[1], strip_try(e[2], names | set(_pat_names(e[1]))), e[3])
        if k in ("let", "letrec"):
            inner = set(names)
            for pat, _x, _ in e[1]:
                inner |= set(_pat_names(pat))
            scope = inner if k == "letrec" else names
            binds = [(pat, strip_try(x, scope), ln) for pat, x, ln in e[1]]
            return (k, binds, strip_try(e[2], inner), e[3])
        if k == "if":
            return (k, e[1], strip_try(e[2], names), strip_try(e[3], names), e[4])
        if k == "match":
            return (k, strip_try(e[1], names),
                    tuple((ns, strip_try(b, names | set(ns))) for ns, b in e[2]), e[3])
        return e

    counter = [0]

    def mark_static(e):
        """Wrap the largest subexpressions of ``e`` that name no dynamic value (and sit
        outside any binder) as ``("static", e, key)``: cached per event structure."""
        if not isinstance(e, tuple) or e[0] in ("var", "empty", "universe", "tag", "fun",
                                                 "let", "letrec", "match", "static"):
            return e
        if e[0] == "op1" and e[1] == "id":
            # keep [S] visible to the ; chains; its set may be cached
            inner = e[2]
            free = set()
            _free(inner, set(), free)
            if not (free & dynamic) and inner[0] in ("op1", "op2", "app"):
                counter[0] += 1
                inner = ("static", inner, counter[0])
            else:
                inner = mark_static(inner)
            return (e[0], e[1], inner, e[3])
        free = set()
        _free(e, set(), free)
        if not (free & dynamic) and e[0] in ("op1", "op2", "app"):
            counter[0] += 1
            return ("static", e, counter[0])
        k = e[0]
        if k == "op2":
            return (k, e[1], mark_static(e[2]), mark_static(e[3]), e[4])
        if k == "op1":
            return (k, e[1], mark_static(e[2]), e[3])
        if k == "app":
            return (k, e[1], mark_static(e[2]), e[3])
        if k == "tuple":
            return (k, tuple(mark_static(x) for x in e[1]), e[2])
        if k == "try":
            return (k, mark_static(e[1]), mark_static(e[2]), e[3])
        if k == "if":
            return (k, e[1], mark_static(e[2]), mark_static(e[3]), e[4])
        return e

    def add_body(body, file):
        for ins in body:
            k = ins[0]
            ln = ins[-1]
            if k == "include":
                add_file(find_include(ins[1], file, ln), file, ln)
            elif k == "ifvariant":
                add_body(ins[2] if _variant_true(ins[1], variants) else ins[3], file)
            elif k == "show":
                pass
            elif k == "expr_stmt":
                raise CoherenceError("a `let ... in` expression is not an instruction",
                                     file=file, line=ln)
            elif k == "let":
                binds, dyn = [], False
                for pat, e, bln in ins[1]:
                    e = strip_try(e, bound)
                    free = check_bound(e, bound, file, bln)
                    d = bool(free & dynamic)
                    if d:
                        e = mark_static(e)
                    binds.append((pat, e, bln, d))
                for pat, e, bln, d in binds:
                    # A name bound again (herd's `let X = try X with 0`): evaluate it per
                    # candidate, so that no cached static value hides a later binding.
                    if any(nm in bound for nm in _pat_names(pat)):
                        d = True
                    for nm in _pat_names(pat):
                        bound.add(nm)
                        (dynamic.add if d else dynamic.discard)(nm)
                    stmts.append(("let", [(pat, e, bln)], d, file, bln))
            elif k == "letrec":
                names = {nm for pat, _e, _l in ins[1] for nm in _pat_names(pat)}
                scope = bound | names
                binds = [(pat, strip_try(e, scope), bln) for pat, e, bln in ins[1]]
                free = set()
                for _pat, e, bln in binds:
                    free |= check_bound(e, scope, file, bln)
                d = bool((free - names) & dynamic) or bool(names & bound)
                bound.update(names)
                for nm in names:
                    (dynamic.add if d else dynamic.discard)(nm)
                stmts.append(("letrec", binds, d, file, ln))
            elif k == "test":
                _, tk, neg, flag, e, name, _ = ins
                e = strip_try(e, bound)
                free = check_bound(e, bound, file, ln)
                if free & dynamic:
                    e = mark_static(e)
                stmts.append(("test", (tk, neg, flag, e, name), bool(free & dynamic), file,
                              ln))
            elif k == "procedure":
                _, name, params, pbody, _ = ins
                inner = bound | set(_pat_names(params))
                fixed = []
                for st in pbody:
                    if st[0] == "let":
                        nb = []
                        for pat, e, bln in st[1]:
                            e = strip_try(e, inner)
                            check_bound(e, inner, file, bln)
                            nb.append((pat, e, bln))
                            inner = inner | set(_pat_names(pat))
                        fixed.append(("let", nb, st[-1]))
                    elif st[0] == "test":
                        e = strip_try(st[4], inner)
                        check_bound(e, inner, file, st[-1])
                        fixed.append(st[:4] + (e,) + st[5:])
                    elif st[0] == "show":
                        pass
                    else:
                        raise CoherenceError(f"`{st[0]}` inside a procedure is not supported",
                                             file=file, line=st[-1])
                bound.add(name)
                stmts.append(("procedure", (name, params, fixed), False, file, ln))
            elif k == "withfrom":
                # herd generates the candidates' co (or another relation) here; ours are
                # already enumerated, so `with co from generate_cos(b)` keeps those whose
                # co contains b.  Any other generator is not supported.
                _, var, e, _ = ins
                if var not in DYNAMIC_PRIMITIVES or e[0] != "app" or e[1][0] != "var" or \
                        e[1][1] not in ("generate_cos", "generate_orders"):
                    raise CoherenceError(f"`with {var} from ...` is supported only as herd's "
                                         "`with co from generate_cos(...)`", file=file,
                                         line=ln)
                arg = strip_try(e[2], bound)
                check_bound(arg, bound, file, ln)
                stmts.append(("withfrom", (var, arg, e[1][1]), True, file, ln))
            elif k == "call":
                _, name, arg, as_name, _ = ins
                if name not in bound:
                    raise CoherenceError(f"unbound procedure `{name}`", file=file, line=ln)
                arg = strip_try(arg, bound)
                check_bound(arg, bound, file, ln)
                # A procedure's tests may name anything: evaluate per candidate.
                stmts.append(("call", (name, arg, as_name), True, file, ln))
            else:  # pragma: no cover
                raise AssertionError(k)

    title_prelude = add_file(PRELUDE_PATH)
    del title_prelude
    path = os.fspath(path)
    title = add_file(path)
    name = title or os.path.splitext(os.path.basename(path))[0]
    return Model(name, path, stmts, prims)


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
