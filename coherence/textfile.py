"""Reading a user's text file: the one place that turns the ways it can fail into one
:class:`~coherence.errors.CoherenceError` each (``file: what is wrong, what was expected``)."""

from __future__ import annotations

import os

from .errors import CoherenceError


def read_text(path, expected: str) -> tuple[str, str]:
    """``(name, text)`` of the UTF-8 file at ``path``; ``expected`` says what the file should
    be ("an assembly file", "a TOML file") in the errors."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CoherenceError("no such file or directory", name) from None
    except IsADirectoryError:
        raise CoherenceError(f"is a directory, expected {expected}", name) from None
    except PermissionError:
        raise CoherenceError("permission denied", name) from None
    except OSError as e:
        raise CoherenceError(f"cannot read: {e.strerror or e}", name) from None
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CoherenceError(f"not UTF-8 text (byte 0x{data[e.start]:02x}), expected "
                             f"{expected}", name, line) from None
