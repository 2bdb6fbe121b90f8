"""The operations a scenario thread executes, and their parser.

An op is written as a short string (``"acquire A"``, ``"compute 2"``, ``"try_acquire B else back"``).
:func:`parse_op` turns one string into an :class:`Op`; labels (``"label X:"``) are ops of kind
``label`` that the compiler removes (they only name a position).  The integer opcodes below are
the encoding the jitted kernels execute (see :mod:`coherence.sched.program`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Opcodes executed by the kernels (column 0 of the compiled op table).
ACQUIRE = 0
RELEASE = 1
TRY_ACQUIRE = 2
COMPUTE = 3
YIELD = 4
SLEEP = 5
WAIT = 6
SIGNAL = 7
BROADCAST = 8
SEM_WAIT = 9
SEM_POST = 10
READ_LOCK = 11
READ_UNLOCK = 12
WRITE_LOCK = 13
WRITE_UNLOCK = 14
GOTO = 15
IF_FLAG = 16
SET = 17
CLEAR = 18
LABEL = -1  # removed by the compiler

# Resource kinds a name can have.
MUTEX = "mutex"
RWLOCK = "rwlock"
SEMAPHORE = "semaphore"
CONDITION = "condition"
FLAG = "flag"

# name -> (opcode, argument kinds).  Argument kinds: a resource kind, "int", "label".
SYNTAX: dict[str, tuple[int, tuple[str, ...]]] = {
    "acquire": (ACQUIRE, (MUTEX,)),
    "release": (RELEASE, (MUTEX,)),
    "try_acquire": (TRY_ACQUIRE, (MUTEX, "label")),  # written `try_acquire L else LABEL`
    "compute": (COMPUTE, ("int",)),
    "yield": (YIELD, ()),
    "sleep": (SLEEP, ("int",)),
    "wait": (WAIT, (CONDITION, MUTEX)),
    "signal": (SIGNAL, (CONDITION,)),
    "broadcast": (BROADCAST, (CONDITION,)),
    "sem_wait": (SEM_WAIT, (SEMAPHORE,)),
    "sem_post": (SEM_POST, (SEMAPHORE,)),
    "read_lock": (READ_LOCK, (RWLOCK,)),
    "read_unlock": (READ_UNLOCK, (RWLOCK,)),
    "write_lock": (WRITE_LOCK, (RWLOCK,)),
    "write_unlock": (WRITE_UNLOCK, (RWLOCK,)),
    "goto": (GOTO, ("label",)),
    "if_flag": (IF_FLAG, (FLAG, "label")),  # written `if_flag F goto X`
    "set": (SET, (FLAG,)),
    "clear": (CLEAR, (FLAG,)),
    "label": (LABEL, ("label",)),  # written `label X:`
}

FORMS = {
    "acquire": "acquire L",
    "release": "release L",
    "try_acquire": "try_acquire L else LABEL",
    "compute": "compute N",
    "yield": "yield",
    "sleep": "sleep N",
    "wait": "wait C L",
    "signal": "signal C",
    "broadcast": "broadcast C",
    "sem_wait": "sem_wait S",
    "sem_post": "sem_post S",
    "read_lock": "read_lock L",
    "read_unlock": "read_unlock L",
    "write_lock": "write_lock L",
    "write_unlock": "write_unlock L",
    "goto": "goto X",
    "if_flag": "if_flag F goto X",
    "set": "set F",
    "clear": "clear F",
    "label": "label X:",
}

NAMES = {code: name for name, (code, _) in SYNTAX.items()}

# Ops that take a lock (blocking); they create lock-order edges and can be bypassed.
LOCKING = (ACQUIRE, READ_LOCK, WRITE_LOCK)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-\[\]]*$")


class OpSyntaxError(ValueError):
    """An op string is malformed; the message says what was expected."""


@dataclass(frozen=True)
class Op:
    """One parsed op: its keyword, opcode, arguments (names or ints) and source text."""

    name: str
    code: int
    args: tuple
    text: str

    def resources(self) -> list[tuple[str, str]]:
        """(kind, name) of every resource the op names (locks, semaphores, conditions, flags)."""
        _, kinds = SYNTAX[self.name]
        return [(k, a) for k, a in zip(kinds, self.args) if k not in ("int", "label")]

    def label_refs(self) -> list[str]:
        """Labels this op jumps to (not the one it defines)."""
        if self.code == LABEL:
            return []
        _, kinds = SYNTAX[self.name]
        return [a for k, a in zip(kinds, self.args) if k == "label"]


def _check_name(word: str, what: str, op: str) -> str:
    if not _NAME.match(word):
        raise OpSyntaxError(f"bad {what} name {word!r} in {op!r}, expected an identifier")
    return word


def _check_int(word: str, op: str) -> int:
    try:
        value = int(word, 10)
    except ValueError:
        raise OpSyntaxError(f"bad number {word!r} in {op!r}, expected a positive integer") from None
    if value < 1:
        raise OpSyntaxError(f"bad number {word!r} in {op!r}, expected a positive integer")
    if value > 1_000_000_000:
        raise OpSyntaxError(f"bad number {word!r} in {op!r}, expected at most 1000000000")
    return value


def parse_op(text) -> Op:
    """Parse one op string; raise :class:`OpSyntaxError` saying what was expected."""
    if not isinstance(text, str):
        raise OpSyntaxError(f"op {text!r} is not a string, expected an op such as \"acquire A\"")
    words = text.split()
    if not words:
        raise OpSyntaxError("empty op, expected an op such as \"acquire A\"")
    key = words[0]
    if key not in SYNTAX:
        raise OpSyntaxError(
            f"unknown op {key!r} in {text!r}, expected one of: " + ", ".join(FORMS.values()))
    code, kinds = SYNTAX[key]
    rest = words[1:]
    # Normalise the keyword-carrying forms to plain argument lists.
    if key == "try_acquire":
        if len(rest) != 3 or rest[1] != "else":
            raise OpSyntaxError(f"malformed {text!r}, expected `{FORMS[key]}`")
        rest = [rest[0], rest[2]]
    elif key == "if_flag":
        if len(rest) != 3 or rest[1] != "goto":
            raise OpSyntaxError(f"malformed {text!r}, expected `{FORMS[key]}`")
        rest = [rest[0], rest[2]]
    elif key == "label":
        if len(rest) == 2 and rest[1] == ":":
            rest = [rest[0]]
        if len(rest) != 1:
            raise OpSyntaxError(f"malformed {text!r}, expected `{FORMS[key]}`")
        rest = [rest[0][:-1] if rest[0].endswith(":") else rest[0]]
    if len(rest) != len(kinds):
        raise OpSyntaxError(
            f"{key} takes {len(kinds)} argument{'s' if len(kinds) != 1 else ''} in {text!r}, "
            f"expected `{FORMS[key]}`")
    args = []
    for kind, word in zip(kinds, rest):
        if kind == "int":
            args.append(_check_int(word, text))
        else:
            args.append(_check_name(word, "label" if kind == "label" else kind, text))
    return Op(key, code, tuple(args), " ".join(words))
