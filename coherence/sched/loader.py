"""Read scenario files (TOML, via the standard library's tomllib) into :class:`Scenario`.

tomllib gives no line numbers, so :class:`_LineFinder` scans the raw text: the line of each
``[[thread]]`` header, of each key, and of each string inside a thread's ``ops`` array.  Every
error therefore points at ``file:line``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..errors import CoherenceError
from .scenario import Scenario, Thread

SCENARIO_KEYS = {"name": str, "policy": str, "quantum": int, "cpus": int, "aging": int,
                 "seed": int, "max_ticks": int, "starve_ticks": int, "bypass": int,
                 "description": str}
THREAD_KEYS = {"name", "priority", "arrive", "repeat", "ops"}
TOP_TABLES = {"scenario", "thread", "semaphores", "flags"}

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')\s*=")


class _LineFinder:
    """Line numbers of tables, keys and array strings in a TOML text (1-based)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.tables = []  # (line, name, is_array)
        for i, line in enumerate(self.lines, 1):
            m = _HEADER.match(line)
            if m and not _KEY.match(line):
                self.tables.append((i, m.group(2).strip().strip("\"'"), m.group(1) == "[["))

    def _block(self, name: str, occurrence: int = 0, array: bool = False):
        """(first, last) line of the occurrence-th table ``name`` (header excluded)."""
        seen = -1
        for k, (line, tname, is_array) in enumerate(self.tables):
            if tname == name and is_array == array:
                seen += 1
                if seen == occurrence:
                    end = self.tables[k + 1][0] - 1 if k + 1 < len(self.tables) else len(self.lines)
                    return line, end
        return None

    def table_line(self, name: str, occurrence: int = 0, array: bool = False):
        block = self._block(name, occurrence, array)
        return block[0] if block else None

    def key_line(self, table: str, key: str, occurrence: int = 0, array: bool = False):
        block = self._block(table, occurrence, array)
        if block is None:
            return None
        for i in range(block[0] + 1, block[1] + 1):
            m = _KEY.match(self.lines[i - 1])
            if m and m.group(1).strip("\"'") == key:
                return i
        return block[0]

    def array_string_lines(self, table: str, occurrence: int, key: str) -> list:
        """Line of each string element of array ``key`` in the occurrence-th ``[[table]]``."""
        return [line for line, _col in self.array_string_positions(table, occurrence, key)]

    def array_string_positions(self, table: str, occurrence: int, key: str) -> list:
        """(line, column) of each string element (its opening quote, both 1-based) of array
        ``key`` in the occurrence-th ``[[table]]``: ops that share a line differ by column."""
        start = self.key_line(table, key, occurrence, array=True)
        if start is None:
            return []
        text = "\n".join(self.lines[start - 1:])
        i = text.index("=") + 1
        line = start
        out = []
        depth = 0
        while i < len(text):
            ch = text[i]
            if ch == "\n":
                line += 1
            elif ch == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
                continue
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth <= 0:
                    break
            elif ch in "\"'":
                quote = ch
                triple = text.startswith(quote * 3, i)
                out.append((line, i - text.rfind("\n", 0, i)))
                i += 3 if triple else 1
                while i < len(text):
                    if text[i] == "\n":
                        line += 1
                    if quote == '"' and text[i] == "\\":
                        i += 2
                        continue
                    if triple and text.startswith(quote * 3, i):
                        i += 3
                        break
                    if not triple and text[i] == quote:
                        i += 1
                        break
                    i += 1
                continue
            i += 1
        return out


def loads(text: str, file: str | None = None) -> Scenario:
    """Parse scenario TOML ``text``; ``file`` is used for ``file:line`` in errors."""
    where = file or "<string>"
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise CoherenceError("invalid TOML: arrays or tables nested too deeply, expected a "
                             "scenario file ([scenario] and [[thread]] tables)",
                             file=where) from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        raise CoherenceError(f"invalid TOML: {msg}, expected a scenario file "
                             "([scenario] and [[thread]] tables)", file=where, line=line) from None
    finder = _LineFinder(text)
    for key in data:
        if key not in TOP_TABLES:
            raise CoherenceError(f"unknown table or key {key!r}, expected one of: "
                                 + ", ".join(sorted(TOP_TABLES)), file=where,
                                 line=finder.table_line(key) or finder.key_line("scenario", key))
    head = data.get("scenario", {})
    if not isinstance(head, dict):
        raise CoherenceError("`scenario` is not a table, expected [scenario]", file=where, line=1)
    key_lines = {}
    settings = {}
    for key, value in head.items():
        line = finder.key_line("scenario", key)
        key_lines[key] = line
        if key not in SCENARIO_KEYS:
            raise CoherenceError(f"unknown key {key!r} in [scenario], expected one of: "
                                 + ", ".join(SCENARIO_KEYS), file=where, line=line)
        want = SCENARIO_KEYS[key]
        if not isinstance(value, want) or isinstance(value, bool):
            raise CoherenceError(f"bad {key} {value!r}, expected "
                                 + ("a string" if want is str else "an integer"),
                                 file=where, line=line)
        if key != "description":
            settings[key] = value
    tables = {}
    for tname in ("semaphores", "flags"):
        table = data.get(tname, {})
        if not isinstance(table, dict):
            raise CoherenceError(f"`{tname}` is not a table, expected [{tname}] with name = value",
                                 file=where, line=finder.table_line(tname))
        for key in table:
            key_lines[f"{tname}.{key}"] = finder.key_line(tname, key)
        tables[tname] = dict(table)
    raw_threads = data.get("thread", [])
    if not isinstance(raw_threads, list):
        raise CoherenceError("`thread` is not an array of tables, expected [[thread]] sections",
                             file=where, line=finder.table_line("thread"))
    threads = []
    for k, raw in enumerate(raw_threads):
        line = finder.table_line("thread", k, array=True)
        if not isinstance(raw, dict):
            raise CoherenceError("bad [[thread]] entry, expected a table", file=where, line=line)
        field_lines = {key: finder.key_line("thread", key, k, array=True) for key in raw}
        for key in raw:
            if key not in THREAD_KEYS:
                raise CoherenceError(f"unknown key {key!r} in [[thread]], expected one of: "
                                     + ", ".join(sorted(THREAD_KEYS)), file=where,
                                     line=field_lines[key])
        if "ops" not in raw:
            raise CoherenceError(f"thread {raw.get('name', k)!r} has no ops, expected "
                                 "ops = [\"...\", ...]", file=where, line=line)
        name = raw.get("name", f"T{k + 1}")
        positions = finder.array_string_positions("thread", k, "ops")
        threads.append(Thread(
            name=name, ops=raw["ops"], priority=raw.get("priority", 1),
            arrive=raw.get("arrive", 0), repeat=raw.get("repeat", False), line=line,
            op_lines=[ln for ln, _ in positions], op_cols=[col for _, col in positions],
            field_lines=field_lines))
    default_name = Path(file).stem if file else "scenario"
    sc = Scenario(name=settings.pop("name", default_name), threads=threads,
                  semaphores=tables["semaphores"], flags=tables["flags"], file=file,
                  key_lines=key_lines, **settings)
    sc.compile()  # validate now, so errors surface at load time
    return sc


def load(path) -> Scenario:
    """Read and validate the scenario file at ``path``."""
    from ..textfile import read_text
    path, text = read_text(path, "a scenario .toml file")
    return loads(text, file=path)
