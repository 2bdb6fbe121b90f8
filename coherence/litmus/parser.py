"""herd7 litmus files (x86 dialects) -> :class:`~coherence.litmus.ir.LitmusTest`.

Layout of a file, as herd reads it::

    X86 NAME                       arch and name
    "Fre PodWR Fre PodWR"          optional quoted line (the cycle)
    Key=Value                      metadata lines
    { x=0; 0:EAX=1; int y; }       init block (may span lines, may be empty)
     P0          | P1          ;   thread table: header, then one row per `;`
     MOV [x],$1  | MOV [y],$1  ;
    locations [x; 0:EAX;]          optional
    exists (0:EAX=0 /\\ 1:EAX=0)    condition (exists, ~exists, forall, or none)

The older ppcmem layout is read as herd reads it: ``X86 amd5 (amdFive) "doc"`` on the header
line, ``{x = 0};`` (one ``;`` may start the table), ``P0:EAX`` registers, ``lock ; inc [x]``,
``final (...);``, ``with tso: ~exists; ...``, ``<< ... >>`` directive blocks after the test
(never read), symbolic registers ``%r1`` (allocated by
:func:`~coherence.litmus.dialect.allocate_symbolic_registers`).

``(* ... *)`` comments (nested, multi-line) may appear anywhere.  Every error is a
:class:`~coherence.errors.CoherenceError` carrying ``path:line``.
"""

from __future__ import annotations

import os
import re

from ..errors import CoherenceError
from .condition import (KEYWORDS, TokenStream, parse_condition_section, parse_location,
                        parse_value, tokenize)
from .dialect import Temps, allocate_symbolic_registers, parse_instruction
from .ir import (INT32_ARCHS, MAX_ARRAY_LEN, Branch, LitmusTest, MemLoc, RegLoc, Sym, Thread,
                 int32)

ARCHES = {"X86": "X86", "X86_64": "X86_64", "AARCH64": "AArch64", "RISCV": "RISCV"}

# Bytes per element of the C types herd accepts in init blocks (pointers are 8).
TYPE_SIZES = {
    "char": 1, "int8_t": 1, "uint8_t": 1, "atomic_char": 1,
    "short": 2, "int16_t": 2, "uint16_t": 2,
    "int": 4, "int32_t": 4, "uint32_t": 4, "unsigned": 4, "atomic_int": 4,
    "long": 8, "int64_t": 8, "uint64_t": 8, "intptr_t": 8, "uintptr_t": 8, "size_t": 8,
    "int128_t": 16, "uint128_t": 16,
}

_COND_START_RE = re.compile(r"^\s*(~|\(|(exists|forall|final|locations|filter|observed)\b)")
_LABEL_RE = re.compile(r"^([A-Za-z_.$][\w.$]*)\s*:(?!:)\s*(.*)$", re.S)
_LOCK_PREFIX_RE = re.compile(r"(^|[:\s])lock\s*$", re.I)
_METADATA_RE = re.compile(r"^\s*[A-Za-z_][\w.-]*\s*=")


def strip_comments(text: str, path: str) -> str:
    """Replace ``(* ... *)`` comments (nested) by spaces, keeping newlines for line numbers."""
    out, depth, i, start_line, line = [], 0, 0, 0, 1
    n = len(text)
    while i < n:
        two = text[i:i + 2]
        if two == "(*":
            if depth == 0:
                start_line = line
            depth += 1
            out.append("  ")
            i += 2
            continue
        if two == "*)" and depth:
            depth -= 1
            out.append("  ")
            i += 2
            continue
        ch = text[i]
        if ch == "\n":
            line += 1
            out.append(ch)
        else:
            out.append(" " if depth else ch)
        i += 1
    if depth:
        raise CoherenceError("unterminated comment `(*`", file=path, line=start_line)
    return "".join(out)


def parse_file(path) -> LitmusTest:
    """Parse the litmus file at ``path``."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise CoherenceError("no such file or directory", file=path) from None
    except OSError as exc:
        raise CoherenceError(f"cannot read: {exc.strerror}", file=path) from None
    return parse_text(text, path)


def parse_text(text: str, path: str = "<string>") -> LitmusTest:
    """Parse litmus source ``text``; ``path`` is used in error messages and kept on the test."""
    text = strip_comments(text.replace("\r\n", "\n"), path)
    lines = text.split("\n")
    i = 0
    # --- header line: ARCH NAME
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        raise CoherenceError("empty file, expected `X86 NAME`", file=path, line=1)
    head = lines[i].split(None, 2)
    name_line = i + 1
    arch = ARCHES.get(head[0].upper())
    if arch is None:
        raise CoherenceError(f"unsupported architecture `{head[0]}` (expected X86, X86_64, AArch64 or RISCV)",
                             file=path, line=name_line)
    if len(head) < 2:
        raise CoherenceError("missing test name after the architecture", file=path,
                             line=name_line)
    name = head[1]
    texname, doc = _header_tail(head[2] if len(head) > 2 else "", path, name_line)
    i += 1
    # --- quoted line, metadata, up to the init block
    metadata = {}
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith('"'):
            doc = s.strip('"')
        elif "{" in s:
            break
        elif not s:
            pass
        elif _METADATA_RE.match(s):
            k, v = s.split("=", 1)
            metadata[k.strip()] = v.strip()
        else:
            raise CoherenceError(f"expected `Key=Value` metadata or the init block `{{`, "
                                 f"found `{s}`", file=path, line=i + 1)
        i += 1
    if i == len(lines):
        raise CoherenceError("missing init block `{ ... }`", file=path, line=len(lines))
    # --- init block: from `{` to the matching `}` (arrays `{1,2}` nest)
    init_line = i + 1
    before, _, after = lines[i].partition("{")
    if before.strip():
        raise CoherenceError(f"unexpected `{before.strip()}` before `{{`", file=path,
                             line=init_line)
    body, depth, j, rest = [], 1, i, after
    while True:
        k = 0
        while k < len(rest) and depth:
            if rest[k] == "{":
                depth += 1
            elif rest[k] == "}":
                depth -= 1
            k += 1
        if depth == 0:
            body.append(rest[:k - 1])
            tail = rest[k:]
            break
        body.append(rest)
        j += 1
        if j == len(lines):
            raise CoherenceError("unterminated init block (missing `}`)", file=path,
                                 line=init_line)
        rest = lines[j]
    init_text = "\n".join(body)
    # --- the thread table runs until the condition section
    code_lines = [(j + 1, tail)]
    k = j + 1
    while k < len(lines) and not _COND_START_RE.match(lines[k]):
        if lines[k].lstrip().startswith("<<"):
            raise CoherenceError("a ppcmem `<< ... >>` block before the condition, expected "
                                 "the thread table to end with a condition (`exists`, "
                                 "`~exists`, `forall` or `final`) first", file=path, line=k + 1)
        code_lines.append((k + 1, lines[k]))
        k += 1
    threads, temps = _parse_table(code_lines, arch, path)
    # herd's splitter ends the condition section at the first `<<`: the ppcmem directive
    # blocks `<< show 0 ... >>` that follow the test are never read.
    cond_text = "\n".join(lines[k:]).split("<<", 1)[0]
    cond, locs, filt = parse_condition_section(cond_text, path, k + 1, arch, len(threads))
    test = LitmusTest(name=name, arch=arch, path=path, threads=threads, init={},
                      condition=cond, locations=locs, filter=filt, doc=doc, metadata=metadata,
                      line=name_line, texname=texname)
    _parse_init(init_text, init_line, test)
    if arch in INT32_ARCHS:
        test.init = {loc: int32(v) if type(v) is int else v for loc, v in test.init.items()}
    allocate_symbolic_registers(test, temps)
    _check(test)
    return test


# --------------------------------------------------------------------------- header line

# After `ARCH NAME`, herd's splitter reads an optional `(TEXNAME)` (ppcmem's second name), an
# optional `"doc"` and an optional `;`: `X86 amd5 (amdFive) "Loads may not be reordered"`.
_HEADER_TAIL_RE = re.compile(r"""^(?:\((?P<tex>[A-Za-z][\w/.-]*)\)\s*)?
                                  (?:"(?P<doc>[^"]*)"\s*)?;?\s*$""", re.X)


def _header_tail(tail: str, path: str, line: int) -> tuple[str, str]:
    """``(texname, doc)`` from what follows the test name on the header line."""
    m = _HEADER_TAIL_RE.match(tail)
    if m is None:
        if tail.count('"') == 1:
            msg = 'unterminated `"doc"` on the header line (missing the closing `"`)'
        else:
            msg = (f'expected `(NAME)`, a quoted `"doc"` or the end of the line after the test '
                   f'name, found `{tail.strip()}`')
        raise CoherenceError(msg, file=path, line=line)
    return m.group("tex") or "", m.group("doc") or ""


# --------------------------------------------------------------------------- thread table


def _split_rows(code_lines):
    """Split the table text into rows (on `;`) of cells (on `|`).

    Newlines mean nothing to herd here: a row ends at `;`.  Each cell is ``(line, text)``,
    ``line`` being where its first non-blank character is.  Returns ``(rows, leftover)``
    where ``leftover`` is ``(line, text)`` of any text after the last `;`.
    """
    rows, cells, cur, cur_line = [], [], [], None
    last_line = code_lines[0][0] if code_lines else 1
    for lineno, text in code_lines:
        last_line = lineno
        for ch in text + "\n":
            # herd reads `lock; cmpxchg ...` as one instruction: that `;` ends no row.
            if ch == ";" and _LOCK_PREFIX_RE.search("".join(cur)):
                cur.append(ch)
                continue
            if ch in ";|":
                cells.append((cur_line or lineno, "".join(cur).strip()))
                cur, cur_line = [], None
                if ch == ";":
                    rows.append(cells)
                    cells = []
                continue
            if cur_line is None and not ch.isspace():
                cur_line = lineno
            cur.append(ch)
    leftover = "".join(cur).strip()
    if cells or leftover:
        return rows, (cur_line or last_line, " | ".join([c for _, c in cells] + [leftover]))
    return rows, None


def _parse_table(code_lines, arch: str, path: str) -> tuple[list[Thread], list[Temps]]:
    """The threads, and each one's :class:`Temps` (the registers its code names)."""
    rows, leftover = _split_rows(code_lines)
    if leftover is not None:
        raise CoherenceError(f"expected `;` at the end of the row `{leftover[1]}`", file=path,
                             line=leftover[0])
    if not rows:
        line = code_lines[0][0] if code_lines else 1
        raise CoherenceError("missing thread table header `P0 | P1 ... ;`", file=path,
                             line=line)
    leading_semi = rows[0] == [(rows[0][0][0], "")] and len(rows) > 1
    if leading_semi:
        # `{ x=0; };` or a `;` alone before the header: herd's grammars (X86, X86_64, AArch64,
        # RISC-V) all start with an optional `;` (`main: semi_opt proc_list iol_list`).
        rows = rows[1:]
    header = rows[0]
    for n, (hline, p) in enumerate(header):
        if p != f"P{n}":
            hint = ""
            if leading_semi and not p and n == 0 and len(header) == 1:
                hint = " (one `;` may come before the header, as in `{ x=0; };`, not two)"
            raise CoherenceError(f"thread table header: expected `P{n}`, found `{p}`{hint}",
                                 file=path, line=hline)
    nthreads = len(header)
    instrs = [[] for _ in range(nthreads)]
    labels = [{} for _ in range(nthreads)]
    temps = [Temps() for _ in range(nthreads)]
    for cells in rows[1:]:
        if len(cells) > nthreads:
            raise CoherenceError(f"row has {len(cells)} columns but the test has "
                                 f"{nthreads} thread{'s' if nthreads != 1 else ''}", file=path,
                                 line=cells[0][0])
        for t, (cline, text) in enumerate(cells):
            # Leading `LABEL:` parts (a cell may hold just a label).
            while text:
                m = _LABEL_RE.match(text)
                if not m:
                    break
                lab, text = m.group(1), m.group(2).strip()
                if lab in labels[t]:
                    raise CoherenceError(f"label `{lab}` defined twice in P{t}", file=path,
                                         line=cline)
                labels[t][lab] = len(instrs[t])
            if text:
                instrs[t].extend(parse_instruction(text, arch, path, cline, temps[t]))
    threads = [Thread(t, instrs[t], labels[t]) for t in range(nthreads)]
    for th in threads:
        for ins in th.instrs:
            if isinstance(ins, Branch) and ins.target not in th.labels:
                raise CoherenceError(f"undefined label `{ins.target}` in P{th.index}",
                                     file=path, line=ins.line)
    return threads, temps


# --------------------------------------------------------------------------- init block


def _parse_init(text: str, line0: int, test: LitmusTest) -> None:
    """Fill ``test.init``, ``test.elem_size`` and ``test.array_len`` from the init block."""
    ts = TokenStream(tokenize(text, test.path, line0), test.path)
    while ts.cur.kind != "eof":
        if ts.accept(";"):
            continue
        _init_item(ts, test)
        if ts.cur.kind not in (";", "eof"):
            raise ts.error("expected `;` between init items")


def _init_item(ts: TokenStream, test: LitmusTest) -> None:
    typ = None
    t, nxt = ts.cur, ts.peek()
    # `int x`, `int64_t 0:rcx`, `int *p`, `int64_t t[2]`: a type name before a location.
    if t.kind == "name" and t.text not in KEYWORDS and nxt.kind in ("name", "num", "*"):
        typ = t.text
        ts.next()
        if ts.accept("*"):
            typ += "*"
    line = ts.cur.line
    # Array declaration: `type t[N]` or `type t[N] = {v, ...}`.
    if typ is not None and ts.cur.kind == "name" and ts.peek().kind == "[" and \
            ts.peek(2).kind == "num" and ts.peek(3).kind == "]":
        name = ts.next().text
        ts.next()
        at = ts.cur
        size = ts.number()
        if not 1 <= size <= MAX_ARRAY_LEN:
            raise CoherenceError(f"array `{name}` of {at.text} elements, expected 1.."
                                 f"{MAX_ARRAY_LEN}", file=ts.path, line=at.line)
        ts.next()
        test.elem_size[name] = _type_size(typ)
        test.array_len[name] = size
        values = [0] * size
        if ts.accept("="):
            ts.expect("{", "`{` before the array's values")
            vals = []
            while not ts.accept("}"):
                vals.append(parse_value(ts))
                if not ts.accept(",") and ts.cur.kind != "}":
                    raise ts.error("expected `,` or `}` in an array initialiser")
            if len(vals) != size:
                raise CoherenceError(f"array `{name}` has {size} elements but {len(vals)} "
                                     f"values", file=ts.path, line=line)
            values = vals
        for k, v in enumerate(values):
            test.init[MemLoc(name, k)] = v
        return
    loc = parse_location(ts, test.arch, test.nthreads)
    value = 0
    if ts.accept("=") or ts.accept("eqeq"):
        ts.accept("&")
        value = parse_value(ts)
    if typ is not None and isinstance(loc, MemLoc):
        test.elem_size[loc.sym] = _type_size(typ)
    if loc in test.init and test.init[loc] != value:
        raise CoherenceError(f"{loc} initialised twice", file=ts.path, line=line)
    test.init[loc] = value


def _type_size(typ: str) -> int:
    if typ.endswith("*"):
        return 8
    return TYPE_SIZES.get(typ, 8)


# --------------------------------------------------------------------------- checks


def _check(test: LitmusTest) -> None:
    """Cross-checks that need the whole test (pointers name real locations, ...)."""
    for loc, v in test.init.items():
        if isinstance(v, Sym) and isinstance(loc, RegLoc) and test.cell_of(v) is None:
            raise CoherenceError(f"{loc} points outside location `{v.name}`", file=test.path,
                                 line=test.line)
