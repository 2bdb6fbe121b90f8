"""The values of herd's cat language and the operations on them.

herd's interpreter (``lib/interpreter.ml``) has these values, and so do we:

* a set of events: a 1-D numpy bool array over the events of one execution; a relation: a
  2-D one (row = source);
* :data:`EMPTY` (herd's ``0`` and ``{}``) and :data:`UNIV` (``_``, and ``~0``): the empty and
  the universal set or relation, whichever the context needs;
* :class:`EventV` / :class:`PairV`: one event / one pair of events (what a set match takes
  out of a set of events / a relation, ``{e1, e2}`` builds sets from them);
* :class:`Tag` (``'name``, of the enumeration that declares it) and :class:`ValSet`, a set of
  values (tags, sets of events, relations, tuples ...: ``{'a, 'b}``, ``x ++ s``, what
  ``classes-loc`` or ``linearisations`` return);
* tuples (Python tuples), functions (:class:`Closure`, :class:`Builtin`) and procedures.

Two values are equal (``=``, ``in``, members of a :class:`ValSet`) when their :func:`key`\\ s
are: the empty set, the empty relation, ``0`` and ``{}`` are all one value, as in herd.
"""

from __future__ import annotations

import numpy as np


class EvalError(Exception):
    """A type error while evaluating (the caller adds file:line)."""


class _Empty:
    """herd's ``0`` / ``{}``: the empty set, relation or set of values."""

    __slots__ = ()

    def __repr__(self):
        return "0"


class _Univ:
    """herd's ``_``: the universal set or relation."""

    __slots__ = ()

    def __repr__(self):
        return "_"


EMPTY = _Empty()
UNIV = _Univ()


class Tag:
    """A tag ``'name``; ``enum`` is the enumeration that declares it."""

    __slots__ = ("name", "enum")

    def __init__(self, name, enum=None):
        self.name, self.enum = name, enum

    def __eq__(self, other):
        return isinstance(other, Tag) and other.name == self.name

    def __hash__(self):
        return hash(("tag", self.name))

    def __repr__(self):
        return "'" + self.name


class EventV:
    """One event (its index)."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = int(i)

    def __repr__(self):
        return f"<event {self.i}>"


class PairV:
    """One pair of events."""

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = int(a), int(b)

    def __repr__(self):
        return f"<pair {self.a},{self.b}>"


class ValSet:
    """A set of values: ``items`` maps each member's :func:`key` to it (insertion order is
    the order a set match takes members in); ``enum`` names the enumeration of a set of
    tags (``~S`` of tags is taken in it)."""

    __slots__ = ("items", "enum")

    def __init__(self, items=None, enum=None):
        self.items = items if items is not None else {}
        self.enum = enum

    @classmethod
    def of(cls, values, enum=None):
        s = cls({}, enum)
        for v in values:
            s.items.setdefault(key(v), v)
            if enum is None and isinstance(v, Tag):
                s.enum = v.enum
        return s

    def values(self):
        return list(self.items.values())

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return "{" + ", ".join(map(repr, self.items.values())) + "}"


class Closure:
    """A function value: ``env`` holds the values of its free names when it was made."""

    __slots__ = ("params", "body", "env", "name")

    def __init__(self, params, body, env, name="*fun*"):
        self.params, self.body, self.env, self.name = params, body, env, name


class Builtin:
    """One of herd's primitive functions: ``fn(arg, ctx)``."""

    __slots__ = ("name", "fn")

    def __init__(self, name, fn):
        self.name, self.fn = name, fn

    def __repr__(self):
        return f"<built-in {self.name}>"


class Procedure:
    __slots__ = ("params", "body", "env", "name")

    def __init__(self, params, body, env, name):
        self.params, self.body, self.env, self.name = params, body, env, name


_EMPTY_KEY = ("0",)


def key(v):
    """A hashable stand-in for value ``v``: equal keys, equal values."""
    if isinstance(v, np.ndarray):
        if not v.any():
            return _EMPTY_KEY
        return (v.ndim, v.tobytes())
    if v is EMPTY:
        return _EMPTY_KEY
    if isinstance(v, Tag):
        return ("t", v.name)
    if isinstance(v, EventV):
        return ("e", v.i)
    if isinstance(v, PairV):
        return ("p", v.a, v.b)
    if isinstance(v, tuple):
        return ("u",) + tuple(key(x) for x in v)
    if isinstance(v, ValSet):
        return _EMPTY_KEY if not v.items else ("s", frozenset(v.items))
    if v is UNIV:
        raise EvalError("the universe `_` cannot be a member of a set")
    if isinstance(v, Procedure):
        raise EvalError("a procedure cannot be a member of a set")
    return ("f", id(v))


def kind(v) -> str:
    """The type of ``v``, in herd's words."""
    if isinstance(v, np.ndarray):
        return "a set of events" if v.ndim == 1 else "a relation"
    if v is EMPTY:
        return "the empty set"
    if v is UNIV:
        return "the universe"
    if isinstance(v, Tag):
        return f"a tag ('{v.name})"
    if isinstance(v, EventV):
        return "an event"
    if isinstance(v, PairV):
        return "a pair of events"
    if isinstance(v, ValSet):
        return "a set of values"
    if isinstance(v, tuple):
        return f"a tuple of {len(v)}"
    if isinstance(v, Procedure):
        return "a procedure"
    if isinstance(v, (Closure, Builtin)) or callable(v):
        return "a function"
    return type(v).__name__


# --------------------------------------------------------------------------- coercions


def as_set(v, n):
    if isinstance(v, np.ndarray) and v.ndim == 1:
        return v
    if v is EMPTY:
        return np.zeros(n, bool)
    if v is UNIV:
        return np.ones(n, bool)
    if isinstance(v, EventV):
        s = np.zeros(n, bool)
        s[v.i] = True
        return s
    raise EvalError(f"expected a set of events, got {kind(v)}")


def as_rel(v, n):
    if isinstance(v, np.ndarray) and v.ndim == 2:
        return v
    if v is EMPTY:
        return np.zeros((n, n), bool)
    if v is UNIV:
        return np.ones((n, n), bool)
    if isinstance(v, PairV):
        r = np.zeros((n, n), bool)
        r[v.a, v.b] = True
        return r
    raise EvalError(f"expected a relation, got {kind(v)}")


def lift_tag(v):
    """herd's ``tag2set``: a tag in a set operation is the set of that tag."""
    if isinstance(v, Tag):
        return ValSet.of([v])
    return v


# --------------------------------------------------------------------------- relation algebra


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


def row_bits(r) -> list:
    """The rows of a relation as Python ints (bit ``j`` of row ``i``: ``r[i, j]``)."""
    n = r.shape[0]
    p = np.packbits(r, axis=1, bitorder="little")
    if n <= 64:
        if p.shape[1] != 8:
            p = np.concatenate([p, np.zeros((n, 8 - p.shape[1]), np.uint8)], axis=1)
        return p.view(np.uint64).ravel().tolist()
    b, w = p.tobytes(), p.shape[1]
    return [int.from_bytes(b[i * w:(i + 1) * w], "little") for i in range(n)]


def bits_acyclic(succ, alive=None) -> bool:
    """No cycle in the graph whose node ``i`` has the successors ``succ[i]`` (a bit mask),
    restricted to the nodes of ``alive`` (a mask; default: every node with a successor):
    peel off the nodes with no successor left until none is left (acyclic) or none can go
    (every node left is on or leads to a cycle)."""
    if alive is None:
        alive = 0
        for i, x in enumerate(succ):
            if x:
                alive |= 1 << i
    while alive:
        keep = 0
        a = alive
        while a:
            low = a & -a
            if succ[low.bit_length() - 1] & alive:
                keep |= low
            a ^= low
        if keep == alive:
            return False
        alive = keep
    return True


def is_acyclic(r) -> bool:
    """No cycle in relation ``r`` (see :func:`bits_acyclic`)."""
    return bits_acyclic(row_bits(r))


def union(a, b, n):
    if a is EMPTY:
        return lift_tag(b)
    if b is EMPTY:
        return lift_tag(a)
    if a is UNIV or b is UNIV:
        return UNIV
    a, b = lift_tag(a), lift_tag(b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == b.ndim:
        return a | b
    if isinstance(a, ValSet) and isinstance(b, ValSet):
        items = dict(a.items)
        for k, v in b.items.items():
            items.setdefault(k, v)
        return ValSet(items, a.enum or b.enum)
    hint = " (`{e}` or `e ++ 0` is a set)" if isinstance(a, (EventV, PairV)) or \
        isinstance(b, (EventV, PairV)) else ""
    raise EvalError(f"`|` between {kind(a)} and {kind(b)}{hint}")


def inter(a, b, n):
    if a is UNIV:
        return lift_tag(b)
    if b is UNIV:
        return lift_tag(a)
    if a is EMPTY or b is EMPTY:
        return EMPTY
    a, b = lift_tag(a), lift_tag(b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == b.ndim:
        return a & b
    if isinstance(a, ValSet) and isinstance(b, ValSet):
        return ValSet({k: v for k, v in a.items.items() if k in b.items}, a.enum or b.enum)
    raise EvalError(f"`&` between {kind(a)} and {kind(b)}")


def diff(a, b, n, enums):
    a, b = lift_tag(a), lift_tag(b)
    if b is UNIV:
        return EMPTY
    if a is EMPTY:
        return EMPTY
    if b is EMPTY:
        return a
    if a is UNIV:
        if isinstance(b, np.ndarray):
            return ~b
        if isinstance(b, ValSet) and b.enum is not None:
            return complement(b, n, enums)
        raise EvalError(f"`_ \\ ...` of {kind(b)}: no universe to take it from")
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == b.ndim:
        return a & ~b
    if isinstance(a, ValSet) and isinstance(b, ValSet):
        return ValSet({k: v for k, v in a.items.items() if k not in b.items}, a.enum)
    raise EvalError(f"`\\` between {kind(a)} and {kind(b)}")


def complement(v, n, enums):
    if v is EMPTY:
        return UNIV
    if v is UNIV:
        return EMPTY
    if isinstance(v, np.ndarray):
        return ~v
    v = lift_tag(v)
    if isinstance(v, ValSet):
        if v.enum is None or v.enum not in enums:
            raise EvalError("`~` of a set of values that are not tags of one enumeration")
        return ValSet.of([t for t in (Tag(x, v.enum) for x in enums[v.enum])
                          if key(t) not in v.items], v.enum)
    raise EvalError(f"`~` of {kind(v)}")


def cartesian(a, b, n):
    return np.outer(as_set(a, n), as_set(b, n))


def add(v1, v2, n):
    """``v1 ++ v2``: add element ``v1`` to the set ``v2`` (herd's ``Add``)."""
    if v1 is UNIV:
        raise EvalError("the universe `_` in `++`")
    if v2 is UNIV:
        return UNIV
    if v2 is EMPTY:
        if isinstance(v1, EventV):
            return as_set(v1, n).copy()
        if isinstance(v1, PairV):
            return as_rel(v1, n).copy()
        if isinstance(v1, tuple) and len(v1) == 2 and all(isinstance(x, EventV) for x in v1):
            return as_rel(PairV(v1[0].i, v1[1].i), n).copy()
        return ValSet.of([v1])
    if isinstance(v2, ValSet):
        items = dict(v2.items)
        items.setdefault(key(v1), v1)
        return ValSet(items, v2.enum or (v1.enum if isinstance(v1, Tag) else None))
    if isinstance(v2, np.ndarray) and v2.ndim == 2:
        if isinstance(v1, tuple) and len(v1) == 2 and all(isinstance(x, EventV) for x in v1):
            v1 = PairV(v1[0].i, v1[1].i)
        if not isinstance(v1, PairV):
            raise EvalError(f"`++` adds a pair of events to a relation, not {kind(v1)}")
        r = v2.copy()
        r[v1.a, v1.b] = True
        return r
    if isinstance(v2, np.ndarray):
        if not isinstance(v1, EventV):
            raise EvalError(f"`++` adds an event to a set of events, not {kind(v1)}")
        s = v2.copy()
        s[v1.i] = True
        return s
    raise EvalError(f"`++` adds to a set, not to {kind(v2)}")


def unop(op, a, n, enums):
    if op == "~":
        return complement(a, n, enums)
    if op == "id":
        if a is EMPTY:
            return EMPTY
        return np.diag(as_set(a, n))
    if op == "inv":
        if a is EMPTY or a is UNIV:
            return a
        if isinstance(a, PairV):
            return PairV(a.b, a.a)
        return as_rel(a, n).T.copy()
    if a is UNIV:
        return UNIV
    if a is EMPTY:
        if op in ("*", "?"):
            return np.eye(n, dtype=bool)
        return EMPTY
    r = as_rel(a, n)
    if op == "+":
        return plus(r)
    if op == "*":
        return plus(r) | np.eye(n, dtype=bool)
    if op == "?":
        return r | np.eye(n, dtype=bool)
    raise AssertionError(op)  # pragma: no cover


def equal(a, b) -> bool:
    return key(a) == key(b)


def member(a, b, n) -> bool:
    """``a in b``."""
    if isinstance(a, EventV):
        return bool(as_set(b, n)[a.i])
    if isinstance(a, tuple) and len(a) == 2 and all(isinstance(x, EventV) for x in a):
        a = PairV(a[0].i, a[1].i)
    if isinstance(a, PairV):
        return bool(as_rel(b, n)[a.a, a.b])
    if b is EMPTY:
        return False
    b = lift_tag(b)
    if isinstance(b, ValSet):
        return key(a) in b.items
    raise EvalError(f"`in` a set of values, not {kind(b)}")


def subset(a, b, n) -> bool:
    if a is EMPTY:
        return True
    if isinstance(a, ValSet) or isinstance(b, ValSet) or isinstance(a, Tag) or \
            isinstance(b, Tag):
        a, b = lift_tag(a), lift_tag(b)
        if b is EMPTY:
            return not a.items
        if isinstance(a, ValSet) and isinstance(b, ValSet):
            return all(k in b.items for k in a.items)
        raise EvalError(f"`subset` between {kind(a)} and {kind(b)}")
    if isinstance(a, np.ndarray) and a.ndim == 2 or isinstance(b, np.ndarray) and b.ndim == 2:
        return not (as_rel(a, n) & ~as_rel(b, n)).any()
    return not (as_set(a, n) & ~as_set(b, n)).any()


def is_empty_value(v) -> bool:
    if v is EMPTY:
        return True
    if isinstance(v, np.ndarray):
        return not v.any()
    if isinstance(v, ValSet):
        return not v.items
    if v is UNIV:
        return False
    raise EvalError(f"`empty` of {kind(v)}")


def stabilised(old, new, n) -> bool:
    """herd's fixpoint test for ``let rec``: every new value is included in the old one."""
    if new is EMPTY or old is UNIV:
        return True
    if isinstance(new, tuple) and isinstance(old, tuple) and len(new) == len(old):
        return all(stabilised(o, w, n) for o, w in zip(old, new))
    if isinstance(new, ValSet):
        if old is EMPTY:
            return not new.items
        if isinstance(old, ValSet):
            return all(k in old.items for k in new.items)
    if isinstance(new, np.ndarray):
        if old is EMPTY:
            return not new.any()
        if isinstance(old, np.ndarray) and old.shape == new.shape:
            return not (new & ~old).any()
    if new is UNIV:
        return False
    raise EvalError(f"`let rec` over {kind(new)}: herd's fixpoints are over sets and "
                    "relations")
