"""The one exception type for a user's mistake (bad file, bad config, bad argument).

Its string form is ``file:line: what is wrong, what was expected``; the CLI prints it on one
line and exits 2.  Internal bugs are other exception types and keep their tracebacks.
"""

from __future__ import annotations


class CoherenceError(Exception):
    """Bad input: carries an optional source file and line for the one-line report."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return where + self.message


class InvariantViolation(AssertionError):
    """A coherence invariant failed during a ``check=True`` run (a protocol or engine bug)."""


class ProtocolError(InvariantViolation):
    """A protocol table reached one of its Impossible entries during a run."""
