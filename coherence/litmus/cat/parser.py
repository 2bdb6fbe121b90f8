"""herd's cat language: lexer and parser -> a small AST of tuples.

The grammar and the operator precedences are herd7's (``lib/modelParser.mly``), loosest
first: ``|``, ``++``, ``;``, ``\\``, ``&``, then the binary ``*`` (cartesian product) and the
postfix ``+ * ?``, prefix ``~``, postfix ``^-1``; application (``f x``, ``f(x, y)``) binds
tightest.  Names may contain ``.`` and ``-`` (``po-loc``, ``dmb.full``).  Comments are
``(* ... *)`` (nested), ``//`` and ``#`` to the end of the line.

Every syntax error is a :class:`~coherence.errors.CoherenceError` with ``file:line``.

AST (every node is a tuple whose last element is its source line):

* expressions: ``("var", name, ln)``, ``("empty", ln)`` (``0``), ``("universe", ln)``
  (``_``), ``("op2", op, a, b, ln)`` with op in ``| ++ ; \\ & *``, ``("op1", op, a, ln)``
  with op in ``+ * ? ~ inv id`` (``id``: ``[S]``), ``("app", f, arg, ln)``,
  ``("tuple", items, ln)``, ``("fun", params, body, ln)``, ``("let", binds, body, ln)``,
  ``("letrec", binds, body, ln)``, ``("try", a, b, ln)``, ``("if", cond, a, b, ln)``,
  ``("set", items, ln)`` (``{a, b}``), ``("tag", name, ln)``,
  ``("match", e, clauses, default, ln)`` (on a tag: clauses ``(tag, exp, line)``, default
  an expression or None), ``("matchset", e, if_empty, clause, ln)`` (on a set: clause
  ``("eltrem", x, rest, exp)`` for ``x ++ rest -> exp`` or ``("split", before, x, after,
  exp)`` for ``before | x ++ after -> exp``; names may be None for ``_``);
  conditions ``("eq", a, b)``, ``("in", a, b)``, ``("subset", a, b)``, ``("variant", v)``;
* instructions: ``("let", binds, ln)``, ``("letrec", binds, when, ln)`` (``when``: a test
  or None), ``("test", kind, negated, ttype, exp, name, ln)`` (``ttype``: check, flag,
  requires, assert), ``("include", file, ln)``, ``("show", ln)``,
  ``("procedure", name, params, body, ln)``, ``("call", name, arg, as, ln)``,
  ``("ifvariant", cond, then, else, ln)``, ``("withfrom", name, exp, ln)``,
  ``("enum", name, tags, ln)``, ``("forall", name, exp, body, ln)``,
  ``("insmatch", exp, clauses, default, ln)`` (clauses ``(tag, instructions, line)``),
  ``("debug", exp, ln)``;
* a binding is ``(pattern, exp, ln)``; a pattern is a name, ``None`` (``_``) or a tuple of them.
"""

from __future__ import annotations

import re

from ...errors import CoherenceError

KEYWORDS = {
    "let", "rec", "and", "in", "acyclic", "irreflexive", "empty", "as", "show", "unshow",
    "include", "fun", "procedure", "call", "end", "flag", "try", "with", "if", "then",
    "else", "match", "forall", "do", "from", "requires", "assert", "when", "instructions",
    "default", "enum", "debug", "variant", "catdep", "begin", "undefined_unless", "subset",
}

_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<linecomment>(//|\#)[^\n]*)
  | (?P<string>"[^"\n]*")
  | (?P<tag>'_?[A-Za-z][A-Za-z0-9_.\-]*'?)
  | (?P<name>_?[A-Za-z][A-Za-z0-9_.\-]*'?)
  | (?P<op>\|\||&&|\+\+|->|-1|\(|\)|\{|\}|\[|\]|_|0|\||&|\*|~|\+|\^|\\|\?|=|;|,)
""", re.X)


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind, self.text, self.line = kind, text, line

    def __repr__(self):
        return f"Tok({self.kind}, {self.text!r}, {self.line})"


def tokenize(src: str, path: str) -> list[Tok]:
    """Split cat source into tokens (kinds: name, kw, string, tag, op, eof)."""
    out, i, line, n = [], 0, 1, len(src)
    while i < n:
        if src.startswith("(*", i):
            depth, start = 0, line
            while i < n:
                if src.startswith("(*", i):
                    depth += 1
                    i += 2
                elif src.startswith("*)", i):
                    depth -= 1
                    i += 2
                    if depth == 0:
                        break
                else:
                    if src[i] == "\n":
                        line += 1
                    i += 1
            if depth:
                raise CoherenceError("unterminated comment `(*`", file=path, line=start)
            continue
        m = _TOKEN_RE.match(src, i)
        if m is None:
            raise CoherenceError(f"unexpected character `{src[i]}`", file=path, line=line)
        kind = m.lastgroup
        text = m.group()
        i = m.end()
        if kind == "nl":
            line += 1
        elif kind in ("ws", "linecomment"):
            pass
        elif kind == "name":
            out.append(Tok("kw" if text in KEYWORDS else "name", text, line))
        elif kind == "string":
            out.append(Tok("string", text[1:-1], line))
        elif kind == "tag":
            out.append(Tok("tag", text[1:], line))
        else:
            out.append(Tok("op", text, line))
    out.append(Tok("eof", "", line))
    return out


# Binary operators, loosest first, with associativity (herd's %right / %left).
_BINARY = [("|", "right"), ("++", "right"), (";", "right"), ("\\", "left"), ("&", "right")]


class Parser:
    """Recursive-descent parser over the token list of one file."""

    def __init__(self, src: str, path: str):
        self.path = path
        self.toks = tokenize(src, path)
        self.i = 0

    # -- token helpers
    @property
    def cur(self) -> Tok:
        return self.toks[self.i]

    def peek(self, k=1) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Tok:
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def at(self, kind, text=None) -> bool:
        t = self.cur
        return t.kind == kind and (text is None or t.text == text)

    def accept(self, kind, text=None):
        if self.at(kind, text):
            return self.next()
        return None

    def expect(self, kind, text=None, what=None):
        if self.at(kind, text):
            return self.next()
        raise self.error(f"expected {what or repr(text or kind)}")

    def error(self, msg, tok=None) -> CoherenceError:
        t = tok or self.cur
        found = "end of file" if t.kind == "eof" else f"`{t.text}`"
        return CoherenceError(f"{msg}, found {found}", file=self.path, line=t.line)

    # -- file
    def parse_file(self):
        """``[ARCH] [NAME|"title"] [catdep] instruction*`` -> (title, instructions)."""
        title = None
        if self.at("name") or self.at("string"):
            title = self.next().text
            if self.at("name") or self.at("string"):
                title += " " + self.next().text
        catdep = bool(self.accept("kw", "catdep"))
        body = self.instructions(top=True)
        if not self.at("eof"):
            raise self.error("expected an instruction (let, include, acyclic, ...)")
        return title, catdep, body

    def instructions(self, top=False):
        out = []
        while True:
            ins = self.instruction()
            if ins is None:
                return out
            out.append(ins)

    def instruction(self):
        t = self.cur
        ln = t.line
        if t.kind == "op" and t.text == "~" and self.peek().kind == "kw" and \
                self.peek().text in ("acyclic", "irreflexive", "empty"):
            return self.test("check")
        if t.kind != "kw":
            return None
        w = t.text
        if w == "let":
            # herd: an instruction `let ... [in]`, the `in` being optional and meaningless
            self.next()
            if self.accept("kw", "rec"):
                binds = self.bindings()
                when = None
                if self.accept("kw", "when"):
                    when = self.test("check")
                self.accept("kw", "in")
                return ("letrec", binds, when, ln)
            binds = self.bindings()
            self.accept("kw", "in")
            return ("let", binds, ln)
        if w in ("acyclic", "irreflexive", "empty"):
            return self.test("check")
        if w in ("flag", "requires", "undefined_unless", "assert"):
            self.next()
            return self.test({"undefined_unless": "requires"}.get(w, w))
        if w in ("show", "unshow"):
            self.next()
            e = self.expr()
            if self.accept("kw", "as"):
                self.expect("name", what="a name after `as`")
            while self.accept("op", ","):
                self.expr()
            return ("show", ln)
        if w == "include":
            self.next()
            f = self.expect("string", what="a file name in quotes after `include`")
            return ("include", f.text, ln)
        if w == "procedure":
            self.next()
            self.accept("kw", "rec")  # herd's `procedure rec`: a procedure sees itself anyway
            name = self.expect("name", what="a procedure name").text
            if self.accept("op", "("):
                params = self.formals()
                self.expect("op", ")")
            else:
                params = self.pat0()
            self.expect("op", "=")
            body = self.instructions()
            self.expect("kw", "end", "`end` closing the procedure")
            return ("procedure", name, params, body, ln)
        if w == "call":
            self.next()
            name = self.expect("name", what="a procedure name after `call`").text
            arg = self.simple()
            as_name = None
            if self.accept("kw", "as"):
                as_name = self.expect("name", what="a name after `as`").text
            return ("call", name, arg, as_name, ln)
        if w == "if":
            self.next()
            cond = self.variant()
            then = self.instructions()
            other = []
            if self.accept("kw", "else"):
                other = self.instructions()
            self.expect("kw", "end", "`end` closing `if`")
            return ("ifvariant", cond, then, other, ln)
        if w == "with":
            self.next()
            var = self.expect("name", what="a name after `with`").text
            self.expect("kw", "from", "`from`")
            return ("withfrom", var, self.expr(), ln)
        if w == "enum":
            self.next()
            name = self.expect("name", what="an enumeration name after `enum`").text
            self.expect("op", "=", "`=`")
            self.accept("op", "||")
            tags = [self.expect("tag", what="a tag ('name)").text]
            while self.accept("op", "||"):
                tags.append(self.expect("tag", what="a tag ('name) after `||`").text)
            return ("enum", name, tuple(tags), ln)
        if w == "forall":
            self.next()
            var = self.expect("name", what="a name after `forall`").text
            self.expect("kw", "in", "`in`")
            e = self.expr()
            self.expect("kw", "do", "`do`")
            body = self.instructions()
            self.expect("kw", "end", "`end` closing `forall`")
            return ("forall", var, e, body, ln)
        if w == "match":
            # the instruction form: match on a tag, each clause a list of instructions
            self.next()
            e = self.expr()
            self.expect("kw", "with", "`with`")
            self.accept("op", "||")
            clauses, default = [], None
            while True:
                if self.accept("op", "_"):
                    self.expect("op", "->", "`->`")
                    default = self.instructions()
                    self.expect("kw", "end", "`end` after the default clause of `match`")
                    break
                t = self.expect("tag", what="a tag ('name) or `_` in a match clause")
                self.expect("op", "->", "`->`")
                clauses.append((t.text, self.instructions(), t.line))
                if self.accept("kw", "end"):
                    break
                self.expect("op", "||", "`||` or `end` in a match")
            return ("insmatch", e, tuple(clauses), default, ln)
        if w == "debug":
            self.next()
            return ("debug", self.expr(), ln)
        if w in ("instructions", "default"):
            # bell files' event declarations: herd ignores them when it runs a model
            self.next()
            self.expect("name", what="an event type")
            self.expect("op", "[", "`[`")
            if not self.at("op", "]"):
                self.binary(0)
                while self.accept("op", ","):
                    self.binary(0)
            self.expect("op", "]", "`]`")
            return ("show", ln)
        return None

    def test(self, ttype):
        ln = self.cur.line
        neg = bool(self.accept("op", "~"))
        t = self.next()
        if t.kind != "kw" or t.text not in ("acyclic", "irreflexive", "empty"):
            raise self.error("expected acyclic, irreflexive or empty", t)
        e = self.expr()
        name = None
        if self.accept("kw", "as"):
            name = self.expect("name", what="a name after `as`").text
        return ("test", t.text, neg, ttype, e, name, ln)

    def variant(self):
        # variant := "str" | ~variant | variant && variant | variant || variant | (variant)
        def atom():
            if self.accept("kw", "variant"):
                return ("v", self.expect("string").text)
            if self.at("string"):
                return ("v", self.next().text)
            if self.accept("op", "~") or self.accept("name", "not"):
                return ("not", atom())
            if self.accept("op", "("):
                v = orv()
                self.expect("op", ")")
                return v
            raise self.error("expected a variant name in quotes")

        def andv():
            v = atom()
            while self.accept("op", "&&"):
                v = ("and", v, atom())
            return v

        def orv():
            v = andv()
            while self.accept("op", "||"):
                v = ("or", v, andv())
            return v

        return orv()

    # -- bindings and patterns
    def pat0(self):
        if self.accept("op", "_"):
            return None
        return self.expect("name", what="a name").text

    def formals(self):
        if self.at("op", ")"):
            return ()
        ps = [self.pat0()]
        while self.accept("op", ","):
            ps.append(self.pat0())
        return tuple(ps)

    def bindings(self):
        binds = [self.binding()]
        while self.accept("kw", "and"):
            binds.append(self.binding())
        return binds

    def binding(self):
        ln = self.cur.line
        if self.accept("op", "("):
            pat = self.formals()
            self.expect("op", ")")
            self.expect("op", "=", "`=`")
            return (pat, self.expr(), ln)
        name = self.pat0()
        if self.accept("op", "="):
            return (name, self.expr(), ln)
        if self.accept("op", ","):  # `let a, b = e`
            pat = (name,) + self.formals()
            self.expect("op", "=", "`=`")
            return (pat, self.expr(), ln)
        # function definition: `f(a, b) = e` or `f x = e`
        if self.accept("op", "("):
            params = self.formals()
            self.expect("op", ")")
        else:
            params = self.pat0()
        self.expect("op", "=", "`=`")
        return (name, ("fun", params, self.expr(), ln), ln)

    # -- expressions
    def expr(self):
        t = self.cur
        ln = t.line
        if t.kind == "kw":
            if t.text == "let":
                self.next()
                rec = bool(self.accept("kw", "rec"))
                binds = self.bindings()
                self.expect("kw", "in", "`in`")
                return ("letrec" if rec else "let", binds, self.expr(), ln)
            if t.text == "fun":
                self.next()
                if self.accept("op", "("):
                    params = self.formals()
                    self.expect("op", ")")
                else:
                    params = self.pat0()
                self.expect("op", "->", "`->`")
                return ("fun", params, self.expr(), ln)
            if t.text == "try":
                self.next()
                a = self.expr()
                self.expect("kw", "with", "`with`")
                return ("try", a, self.expr(), ln)
            if t.text == "if":
                self.next()
                cond = self.cond()
                self.expect("kw", "then", "`then`")
                a = self.expr()
                self.expect("kw", "else", "`else`")
                return ("if", cond, a, self.expr(), ln)
            if t.text == "match":
                return self.match()
        e = self.binary(0)
        if self.at("op", ","):
            items = [e]
            while self.accept("op", ","):
                items.append(self.binary(0))
            return ("tuple", tuple(items), ln)
        return e

    def match(self):
        """``match e with || 'tag -> e ... || _ -> e end`` (on a tag) or
        ``match e with {} -> e || x ++ rest -> e end`` (on a set; the element clause may
        also be ``before | x ++ after -> e``, and come first)."""
        ln = self.next().line
        scrut = self.expr()
        self.expect("kw", "with", "`with`")
        self.accept("op", "||")
        if self.at("tag") or self.at("op", "_") and self.peek().text == "->":
            clauses, default = [], None
            while True:
                if self.accept("op", "_"):
                    self.expect("op", "->", "`->`")
                    default = self.expr()
                    self.expect("kw", "end", "`end` after the default clause of `match`")
                    return ("match", scrut, tuple(clauses), default, ln)
                t = self.expect("tag", what="a tag ('name) or `_` in a match clause")
                self.expect("op", "->", "`->`")
                clauses.append((t.text, self.expr(), t.line))
                if self.accept("kw", "end"):
                    return ("match", scrut, tuple(clauses), default, ln)
                self.expect("op", "||", "`||` or `end` in a match")
        if_empty = clause = None
        for _ in range(2):
            if self.at("op", "{"):
                if if_empty is not None:
                    raise self.error("a second `{}` clause in a set match")
                self.next()
                self.expect("op", "}", "`}` (a set match's first clause is `{} -> ...`)")
                self.expect("op", "->", "`->`")
                if_empty = self.expr()
            else:
                if clause is not None:
                    raise self.error("a set match has one `{}` clause and one element clause")
                a = self.pat0()
                if self.accept("op", "|"):
                    x = self.pat0()
                    self.expect("op", "++", "`++`")
                    b = self.pat0()
                    self.expect("op", "->", "`->`")
                    clause = ("split", a, x, b, self.expr())
                else:
                    self.expect("op", "++", "`++` (element clause `x ++ rest -> ...`)")
                    b = self.pat0()
                    self.expect("op", "->", "`->`")
                    clause = ("eltrem", a, b, self.expr())
            if _ == 0:
                self.expect("op", "||", "`||` between the two clauses of a set match")
        self.expect("kw", "end", "`end` closing `match`")
        return ("matchset", scrut, if_empty, clause, ln)

    def cond(self):
        if self.at("string") or self.at("kw", "variant") or \
                ((self.at("op", "~") or self.at("name", "not")) and
                 self.peek().kind == "string"):
            return ("variant", self.variant())
        a = self.expr()
        if self.accept("op", "="):
            return ("eq", a, self.expr())
        if self.accept("kw", "in"):
            return ("in", a, self.expr())
        if self.accept("kw", "subset"):
            return ("subset", a, self.expr())
        raise self.error("expected `=`, `in` or `subset` in a condition")

    def binary(self, level):
        if level == len(_BINARY):
            return self.product()
        op, assoc = _BINARY[level]
        left = self.binary(level + 1)
        if assoc == "right":
            if self.at("op", op):
                ln = self.next().line
                return ("op2", op, left, self.binary(level), ln)
            return left
        while self.at("op", op):
            ln = self.next().line
            left = ("op2", op, left, self.binary(level + 1), ln)
        return left

    def _starts_base(self) -> bool:
        t = self.cur
        if t.kind in ("name", "tag"):
            return True
        return t.kind == "op" and t.text in ("(", "[", "{", "_", "0", "~")

    def product(self):
        left = self.unary()
        while True:
            if self.at("op", "*"):
                ln = self.next().line
                if self._starts_base():
                    left = ("op2", "*", left, self.unary(), ln)
                else:
                    left = ("op1", "*", left, ln)
            elif self.at("op", "+"):
                ln = self.next().line
                left = ("op1", "+", left, ln)
            elif self.at("op", "?"):
                ln = self.next().line
                left = ("op1", "?", left, ln)
            elif self.at("op", "^"):
                ln = self.next().line
                self.expect("op", "-1", "`-1` after `^`")
                left = ("op1", "inv", left, ln)
            else:
                return left

    def unary(self):
        if self.at("op", "~"):
            ln = self.next().line
            return ("op1", "~", self.unary(), ln)
        return self.postfix_inv(self.application())

    def postfix_inv(self, e):
        while self.at("op", "^") and self.peek().text == "-1":
            ln = self.next().line
            self.next()
            e = ("op1", "inv", e, ln)
        return e

    def application(self):
        if self.at("name"):
            t = self.next()
            e = ("var", t.text, t.line)
            while self.at("name") or (self._starts_base() and not self.at("op", "~")):
                arg = self.simple()
                e = ("app", e, arg, t.line)
            return e
        return self.simple()

    def simple(self):
        t = self.cur
        ln = t.line
        if t.kind == "name":
            self.next()
            return ("var", t.text, ln)
        if t.kind == "tag":
            self.next()
            return ("tag", t.text, ln)
        if t.kind == "op":
            if t.text == "0":
                self.next()
                return ("empty", ln)
            if t.text == "_":
                self.next()
                return ("universe", ln)
            if t.text == "(":
                self.next()
                if self.accept("op", ")"):
                    return ("tuple", (), ln)
                e = self.expr()
                self.expect("op", ")", "`)`")
                return e
            if t.text == "[":
                self.next()
                e = self.expr()
                self.expect("op", "]", "`]`")
                return ("op1", "id", e, ln)
            if t.text == "{":
                self.next()
                items = []
                if not self.at("op", "}"):
                    items.append(self.binary(0))
                    while self.accept("op", ","):
                        items.append(self.binary(0))
                self.expect("op", "}", "`}`")
                return ("set", tuple(items), ln)
        if t.kind == "kw" and t.text == "begin":
            self.next()
            e = self.expr()
            self.expect("kw", "end", "`end`")
            return e
        raise self.error("expected an expression")


def parse_cat(src: str, path: str, with_options=False):
    """Parse cat source; returns ``(title, instructions)`` (``(title, catdep,
    instructions)`` with ``with_options``: ``catdep`` says the file starts with herd's
    ``catdep`` option)."""
    title, catdep, body = Parser(src, path).parse_file()
    return (title, catdep, body) if with_options else (title, body)
