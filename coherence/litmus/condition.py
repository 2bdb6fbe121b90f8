"""Locations, values and the final condition of a litmus test (herd's ``stateParser``).

The same tokenizer serves the init block and the condition.  Precedence follows herd's
grammar exactly: ``\\/`` binds loosest, then ``/\\``, then ``=>`` (right-associative), then
``~``/``not``, so ``a /\\ b => c`` is ``a /\\ (b => c)``.  Printing follows herd's
``ConstrGen.pp_prop``: ``exists (0:EAX=0 /\\ [x]=1)``, ``not (...)``, ``true``, ``false``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import CoherenceError
from .ir import (MAX_ARRAY_LEN, And, Atom, Condition, Implies, LiteralError, MemLoc, Not, Or,
                 RegLoc, Sym, format_value, literal)
from .x86 import canonical_reg

# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<and>/\\)
  | (?P<or>\\/)
  | (?P<implies>=>)
  | (?P<eqeq>==)
  | (?P<neq>!=)
  | (?P<num>[-+]?0[xX][0-9a-fA-F]+|[-+]?\d+)
  | (?P<name>[A-Za-z_$][\w$.]*)
  | (?P<sreg>%[A-Za-z][\w.]*)
  | (?P<punct>[=~\[\](){};,:*&])
""", re.VERBOSE)

KEYWORDS = {"exists", "forall", "final", "locations", "filter", "observed", "true", "false",
            "not", "with"}


@dataclass
class Token:
    kind: str   # and, or, implies, eqeq, neq, num, name, or the punctuation itself; "eof"
    text: str
    line: int


def tokenize(text: str, path: str, line0: int) -> list[Token]:
    """Tokens of ``text``, whose first character is on line ``line0`` of ``path``."""
    out, pos, line = [], 0, line0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise CoherenceError(f"unexpected character `{text[pos]}`", file=path, line=line)
        kind = m.lastgroup
        s = m.group()
        if kind != "ws":
            out.append(Token(s if kind == "punct" else kind, s, line))
        line += s.count("\n")
        pos = m.end()
    out.append(Token("eof", "", line))
    return out


class TokenStream:
    """A cursor over tokens with herd-flavoured error messages."""

    def __init__(self, tokens: list[Token], path: str):
        self.toks, self.i, self.path = tokens, 0, path

    @property
    def cur(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        t = self.cur
        if t.kind == kind and (text is None or t.text == text):
            return self.next()
        return None

    def expect(self, kind: str, what: str) -> Token:
        t = self.cur
        if t.kind != kind:
            raise self.error(f"expected {what}")
        return self.next()

    def is_keyword(self, word: str) -> bool:
        return self.cur.kind == "name" and self.cur.text == word

    def number(self) -> int:
        """The current ``num`` token's value as a 64-bit word (consumed)."""
        t = self.next()
        try:
            return literal(t.text)
        except LiteralError as exc:
            raise CoherenceError(str(exc), file=self.path, line=t.line) from None

    def error(self, msg: str) -> CoherenceError:
        t = self.cur
        found = "end of input" if t.kind == "eof" else f"`{t.text}`"
        return CoherenceError(f"{msg}, found {found}", file=self.path, line=t.line)


# --------------------------------------------------------------------------- locations/values


@dataclass(frozen=True)
class SymbolicReg:
    """``%r1`` in an init block or a condition: a register of whichever thread's code names
    ``%r1``, allocated as herd allocates it (see ``dialect.allocate_symbolic_registers``)."""

    name: str                      # without the `%`
    line: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"%{self.name}"


_PROC_RE = re.compile(r"^P(\d+)$")


def _is_thread_prefix(ts: TokenStream, k: int = 0) -> bool:
    """``0:`` or herd's (and ppcmem's) ``P0:`` at token ``k`` from the cursor."""
    t, colon = ts.peek(k), ts.peek(k + 1)
    return colon.kind == ":" and (t.kind == "num" or (t.kind == "name" and
                                                      _PROC_RE.match(t.text) is not None))


def parse_location(ts: TokenStream, arch: str, nthreads: int | None):
    """``0:EAX`` | ``P0:EAX`` | ``%r1`` | ``x`` | ``[x]`` | ``t[1]`` | ``*x``.

    Returns a RegLoc, a MemLoc or (``%r1``, a symbolic register) a :class:`SymbolicReg`,
    which :func:`~coherence.litmus.dialect.allocate_symbolic_registers` replaces later.
    """
    t = ts.cur
    if _is_thread_prefix(ts):
        ts.next()
        ts.next()
        digits = t.text if t.kind == "num" else t.text[1:]
        if ts.cur.kind == "sreg":
            # herd reads `0:%EAX` as `0:EAX`: a real register (a symbolic one has no thread)
            sreg = ts.next()
            reg = canonical_reg(sreg.text[1:], arch) if arch in ("X86", "X86_64") else None
            if reg is None:
                raise CoherenceError(f"`{sreg.text}` after `{t.text}:` is not a register of "
                                     f"{arch}, expected a register name (a symbolic register "
                                     f"like `{sreg.text}` takes no thread prefix)",
                                     file=ts.path, line=sreg.line)
        else:
            reg = canonical_reg(ts.expect("name", f"a register name after `{t.text}:`").text,
                                arch, strict=False)
        if not digits.isdigit() or len(digits) > 6:
            raise CoherenceError(f"bad thread number `{t.text}` before `:`, "
                                 "expected a decimal thread index", file=ts.path, line=t.line)
        tid = int(digits)
        if tid < 0 or (nthreads is not None and tid >= nthreads):
            raise CoherenceError(f"thread {tid} does not exist (the test has {nthreads})",
                                 file=ts.path, line=t.line)
        return RegLoc(tid, reg)
    if t.kind == "sreg":
        ts.next()
        return SymbolicReg(t.text[1:], t.line)
    if ts.accept("["):
        name = ts.expect("name", "a location name inside `[...]`")
        ts.expect("]", "`]`")
        return MemLoc(name.text)
    if ts.accept("*"):
        name = ts.expect("name", "a location name after `*`")
        return MemLoc(name.text)
    if t.kind == "name" and t.text not in KEYWORDS:
        ts.next()
        if ts.cur.kind == "[" and ts.peek().kind == "num" and ts.peek(2).kind == "]":
            ts.next()
            at = ts.cur
            idx = ts.number()
            if not 0 <= idx < MAX_ARRAY_LEN:
                raise CoherenceError(f"array index {at.text} of `{t.text}` out of range, "
                                     f"expected 0..{MAX_ARRAY_LEN - 1}", file=ts.path,
                                     line=at.line)
            ts.next()
            return MemLoc(t.text, idx)
        return MemLoc(t.text)
    raise ts.error("expected a location (`0:EAX`, `x` or `[x]`)")


def parse_value(ts: TokenStream):
    """An integer, or a location name meaning its address (``x``, ``&x``)."""
    t = ts.cur
    if t.kind == "num":
        return ts.number()
    ts.accept("&")
    t = ts.cur
    if t.kind == "name" and t.text not in KEYWORDS:
        ts.next()
        return Sym(t.text)
    raise ts.error("expected a value (an integer or a location name)")


# --------------------------------------------------------------------------- propositions


#: How deeply parentheses, negations and implications may nest in a condition (the parser,
#: the printer and the evaluator recurse over it).
MAX_NESTING = 100


class PropParser:
    """Recursive descent over herd's ``prop`` grammar (see the module docstring).

    A chain ``a /\\ b /\\ c`` is one flat And (likewise Or), so that a long chain does not
    become a deep tree; nesting deeper than :data:`MAX_NESTING` is an error."""

    def __init__(self, ts: TokenStream, arch: str, nthreads: int):
        self.ts, self.arch, self.n = ts, arch, nthreads
        self.depth = 0

    def _deeper(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.ts.error(f"condition nested too deeply, expected at most "
                                f"{MAX_NESTING} levels of parentheses, negations and `=>`")

    def prop(self):
        items = [self._and()]
        while self.ts.accept("or"):
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self):
        items = [self._implies()]
        while self.ts.accept("and"):
            items.append(self._implies())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _implies(self):
        left = self._unary()
        if self.ts.accept("implies"):
            self._deeper()
            right = self._implies()
            self.depth -= 1
            return Implies(left, right)
        return left

    def _unary(self):
        ts = self.ts
        if ts.accept("~") or (ts.is_keyword("not") and ts.next()):
            self._deeper()
            inner = self._unary()
            self.depth -= 1
            return Not(inner)
        if ts.is_keyword("true"):
            ts.next()
            return And(())
        if ts.is_keyword("false"):
            ts.next()
            return Or(())
        if ts.accept("("):
            self._deeper()
            p = self.prop()
            ts.expect(")", "`)`")
            self.depth -= 1
            return p
        return self._atom()

    def _atom(self):
        ts = self.ts
        loc = parse_location(ts, self.arch, self.n)
        if ts.accept("neq"):
            return Not(self._rhs(loc))
        if not (ts.accept("=") or ts.accept("eqeq")):
            raise ts.error(f"expected `=` after location {loc}")
        return self._rhs(loc)

    def _rhs(self, loc):
        ts = self.ts
        t = ts.cur
        # `loc = [y]` and `loc = 1:EAX` compare two locations; a bare name is an address value.
        if t.kind in ("[", "sreg") or _is_thread_prefix(ts):
            return Atom(loc, parse_location(ts, self.arch, self.n))
        return Atom(loc, parse_value(ts))


def parse_condition_section(text: str, path: str, line0: int, arch: str, nthreads: int):
    """Parse everything after the thread table.

    Returns ``(condition, locations, filter)``.  An empty section means ``forall (true)``,
    as in herd.  A ``with`` clause (herd's per-model kinds) is accepted and ignored.
    """
    ts = TokenStream(tokenize(text, path, line0), path)
    locations, filt = [], None
    while True:
        if ts.is_keyword("locations"):
            ts.next()
            ts.expect("[", "`[` after `locations`")
            while not ts.accept("]"):
                locations.append(parse_location(ts, arch, nthreads))
                if not ts.accept(";") and ts.cur.kind != "]":
                    raise ts.error("expected `;` or `]` in `locations [...]`")
        elif ts.is_keyword("filter"):
            ts.next()
            filt = PropParser(ts, arch, nthreads).prop()
        else:
            break
    line = ts.cur.line
    pp = PropParser(ts, arch, nthreads)
    if ts.cur.kind == "eof":
        cond = Condition("forall", And(()), line)
    elif ts.is_keyword("exists") or ts.is_keyword("final"):
        ts.next()
        cond = Condition("exists", pp.prop(), line)
    elif ts.is_keyword("forall"):
        ts.next()
        cond = Condition("forall", pp.prop(), line)
    elif ts.cur.kind == "~" and ts.peek().kind == "name" and ts.peek().text == "exists":
        ts.next()
        ts.next()
        cond = Condition("~exists", pp.prop(), line)
    elif ts.cur.kind == "(":
        cond = Condition("exists", pp.prop(), line)
    else:
        raise ts.error("expected a condition (`exists`, `~exists` or `forall`)")
    ts.accept(";")
    if ts.is_keyword("with"):
        ts.next()
        _with_kinds(ts)
    if ts.cur.kind != "eof":
        raise ts.error("unexpected text after the condition")
    return cond, locations, filt


def _with_kinds(ts: TokenStream) -> list[tuple[str, str]]:
    """herd's (and ppcmem's) ``with tso: ~exists; cc: exists; ...`` after the condition:
    ``NAME: forall|exists|~exists`` items separated by `;` (a last `;` is optional), at
    least one.  herd parses and then ignores them (the condition is what it checks); so do we.
    """
    kinds = []
    while True:
        name = ts.cur
        if name.kind != "name" or name.text in KEYWORDS:
            raise ts.error("expected `NAME: forall`, `NAME: exists` or `NAME: ~exists` "
                           "after `with`" if not kinds else
                           "expected `NAME: forall|exists|~exists` after `;` in `with`")
        ts.next()
        ts.expect(":", f"`:` after `{name.text}` in `with`")
        neg = bool(ts.accept("~")) or (ts.is_keyword("not") and bool(ts.next()))
        q = ts.cur
        if not (q.kind == "name" and (q.text == "exists" or (q.text == "forall" and not neg))):
            raise ts.error(f"expected `forall`, `exists` or `~exists` after `{name.text}:`")
        ts.next()
        kinds.append((name.text, ("~" if neg else "") + q.text))
        if not ts.accept(";") or ts.cur.kind == "eof":
            return kinds


def map_prop_locations(p, f):
    """``p`` with every location ``loc`` of its atoms (both sides of ``loc=loc2``) replaced
    by ``f(loc)``."""
    if isinstance(p, Atom):
        rhs = f(p.rhs) if isinstance(p.rhs, (RegLoc, MemLoc, SymbolicReg)) else p.rhs
        return Atom(f(p.loc), rhs)
    if isinstance(p, Not):
        return Not(map_prop_locations(p.p, f))
    if isinstance(p, And):
        return And(tuple(map_prop_locations(q, f) for q in p.ps))
    if isinstance(p, Or):
        return Or(tuple(map_prop_locations(q, f) for q in p.ps))
    if isinstance(p, Implies):
        return Implies(map_prop_locations(p.p, f), map_prop_locations(p.q, f))
    raise TypeError(p)


# --------------------------------------------------------------------------- evaluation


def compile_prop(p, index: dict):
    """A fast predicate over a tuple of final values.

    ``index`` maps each location of ``p`` to its position in the tuple.
    """
    if isinstance(p, Atom):
        i = index[p.loc]
        if isinstance(p.rhs, (RegLoc, MemLoc)):
            j = index[p.rhs]
            return lambda vs: _eq(vs[i], vs[j])
        v = p.rhs
        return lambda vs: _eq(vs[i], v)
    if isinstance(p, Not):
        f = compile_prop(p.p, index)
        return lambda vs: not f(vs)
    if isinstance(p, And):
        fs = [compile_prop(q, index) for q in p.ps]
        return lambda vs: all(f(vs) for f in fs)
    if isinstance(p, Or):
        fs = [compile_prop(q, index) for q in p.ps]
        return lambda vs: any(f(vs) for f in fs)
    if isinstance(p, Implies):
        f, g = compile_prop(p.p, index), compile_prop(p.q, index)
        return lambda vs: (not f(vs)) or g(vs)
    raise TypeError(p)


def _eq(a, b) -> bool:
    # An int never equals an address, even 0 (herd keeps symbolic and concrete values apart).
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------- printing

_TOP, _AND, _OR, _IMPLIES = range(4)


def _paren(above: int, here: int) -> bool:
    if above == _TOP:
        return False
    if above == _IMPLIES:
        return here != _IMPLIES
    if above == _AND:
        return here != _AND
    return here == _IMPLIES  # above is OR


def format_prop(p, above: int = _TOP) -> str:
    """herd's rendering of a proposition."""
    if isinstance(p, Atom):
        rhs = str(p.rhs) if isinstance(p.rhs, (RegLoc, MemLoc)) else format_value(p.rhs)
        return f"{p.loc}={rhs}"
    if isinstance(p, Not):
        return "not (" + format_prop(p.p) + ")"
    if isinstance(p, And):
        if not p.ps:
            return "true"
        s = " /\\ ".join(format_prop(q, _AND) for q in p.ps)
        return f"({s})" if _paren(above, _AND) else s
    if isinstance(p, Or):
        if not p.ps:
            return "false"
        s = " \\/ ".join(format_prop(q, _OR) for q in p.ps)
        return f"({s})" if _paren(above, _OR) else s
    if isinstance(p, Implies):
        s = format_prop(p.p, _IMPLIES) + " => " + format_prop(p.q, _IMPLIES)
        return f"({s})" if _paren(above, _IMPLIES) else s
    raise TypeError(p)


def format_condition(c: Condition) -> str:
    """``exists (...)`` / ``~exists (...)`` / ``forall (...)`` as herd prints it."""
    return f"{c.quantifier} ({format_prop(c.prop)})"
