"""Collecting litmus files: plain files, directories and herd's ``@all`` index files.

An index file (its name starts with ``@``, herd's convention) lists one path per line,
relative to the index's directory; a listed path may itself be an index, a directory or a
test.  ``#`` starts a comment.  Directories are searched recursively for ``*.litmus``, in
sorted order.  A test that fails to parse does not stop the suite: it is returned with its
error message as the skip reason.
"""

from __future__ import annotations

import os

from ..errors import CoherenceError
from .ir import LitmusTest
from .parser import parse_file


def is_index(path: str) -> bool:
    """herd's index files are named ``@something``."""
    return os.path.basename(path).startswith("@")


def collect(paths, _seen=None) -> list[tuple[str, str | None]]:
    """Expand ``paths`` into ``(litmus path, problem)`` pairs, in order, without duplicates.

    A top-level path that does not exist raises CoherenceError (a usage mistake); a missing
    entry of an index file is returned with a problem string instead.
    """
    out: list[tuple[str, str | None]] = []
    seen = set() if _seen is None else _seen

    def add(p, problem=None):
        key = os.path.normpath(p)
        if key not in seen:
            seen.add(key)
            out.append((p, problem))

    def walk(p, top, from_index=None):
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(".litmus"):
                        add(os.path.join(root, f))
            return
        if not os.path.exists(p):
            if top:
                raise CoherenceError("no such file or directory", file=p)
            add(p, f"listed in {from_index} but no such file or directory")
            return
        if is_index(p):
            key = ("index", os.path.realpath(p))
            if key in seen:
                return  # an index including itself
            seen.add(key)
            base = os.path.dirname(p)
            with open(p, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    entry = line.split("#", 1)[0].strip()
                    if entry:
                        walk(os.path.join(base, entry), False, p)
            return
        add(p)

    for p in paths:
        walk(os.fspath(p), True)
    return out


def load_suite(paths) -> list[tuple[str, LitmusTest | str]]:
    """Parse every test named by ``paths`` (files, directories, ``@`` index files).

    Returns ``(path, test)`` pairs, where ``test`` is a :class:`LitmusTest` or, when the file
    cannot be used, a string: the reason it is skipped (``file:line: message``).
    """
    result = []
    for path, problem in collect(paths):
        if problem is not None:
            result.append((path, f"{path}: {problem}"))
            continue
        try:
            result.append((path, parse_file(path)))
        except CoherenceError as exc:
            result.append((path, str(exc)))
    return result
