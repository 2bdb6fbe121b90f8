"""The sweep spec: a TOML file (or a dict) naming workloads, axes and what to keep.

::

    [sweep]
    programs = ["../examples/spinlock_ttas.s"]   # paths relative to the spec file
    traces = ["t.trace"]                          # trace files (.trace text or .npz)
    out = "results"                               # the results folder (relative to the spec)
    keep = ["bus.*", "totals.*"]                  # dotted stat names or globs (default: all)
    check = false                                 # check the invariants in every run
    batch = 0                                     # runs per task (0: chosen from the run set)
    commit = 2.0                                  # seconds between commits (0: every batch)

    [config]                                      # SystemConfig fields fixed for every run
    mem_latency = 60

    [axes]                                        # SystemConfig fields plus seed: lists or ranges
    protocol = ["msi", "mesi", "moesi"]
    cores = { start = 1, stop = 16, mul = 2 }     # 1, 2, 4, 8, 16 (stop is inclusive)
    seed = { start = 0, stop = 3 }                # 0, 1, 2, 3

    [[generate]]                                  # generated traces (see traces.py)
    name = "random"
    accesses = 5000

Every mistake is one :class:`~coherence.errors.CoherenceError` naming the spec file and the
line of the offending key (tomllib gives no positions, so :func:`_key_lines` finds them).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields

from ..errors import CoherenceError

#: Axes that are not SystemConfig fields.
EXTRA_AXES = ("seed",)
#: Keys of the [sweep] table.
SWEEP_KEYS = ("programs", "traces", "out", "keep", "check", "batch", "commit")
TABLES = ("sweep", "config", "axes", "generate")


def config_fields() -> tuple:
    from ..config import SystemConfig
    return tuple(f.name for f in fields(SystemConfig))


@dataclass
class Spec:
    """A parsed, validated sweep spec.

    ``programs`` / ``traces`` are ``(label, path)`` pairs (label: the path as written,
    path: resolved against the spec's folder); ``generate`` is a list of generator
    parameter dicts (:mod:`.traces`); ``axes`` maps axis name to its list of values, in the
    spec's order; ``config`` holds the fixed SystemConfig fields.  ``source`` is the spec
    file (or ``"<spec>"``), ``lines`` the line of each ``table.key`` for error messages.
    """

    programs: list = field(default_factory=list)
    traces: list = field(default_factory=list)
    generate: list = field(default_factory=list)
    axes: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    out: str | None = None
    keep: list | None = None
    check: bool = False
    batch: int = 0
    commit: float = 2.0
    source: str = "<spec>"
    lines: dict = field(default_factory=dict, repr=False)

    def error(self, key: str, message: str) -> CoherenceError:
        """A CoherenceError at the line of ``key`` ("axes.cores", ...)."""
        return CoherenceError(message, file=self.source, line=self.lines.get(key))


_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"']+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


_STRING = re.compile(r'"""(?:.|\n)*?"""|"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _key_lines(text: str) -> dict:
    """``{"table.key": line}`` for every ``key = ...`` line (and ``"table": line`` for each
    header; an array of tables ``[[generate]]`` numbers its entries ``generate.0``...)."""
    lines, table, counts = {}, "", {}
    depth = 0  # inside a multi-line array or inline table: no new keys start there
    for n, raw in enumerate(text.splitlines(), 1):
        # Strings may hold brackets and '#': blank them before reading the structure.
        line = _STRING.sub('""', raw).split("#", 1)[0]
        if depth == 0:
            m = _HEADER.match(line)
            if m:
                name = m.group(1).strip("\"'")
                if line.lstrip().startswith("[["):
                    k = counts.get(name, 0)
                    counts[name] = k + 1
                    table = f"{name}.{k}"
                    lines.setdefault(name, n)
                else:
                    table = name
                lines.setdefault(table, n)
                continue
            m = _KEY.match(raw)
            if m:
                key = m.group(1).strip('"')
                lines.setdefault(f"{table}.{key}" if table else key, n)
        depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
        depth = max(depth, 0)
    return lines


def load_spec(path) -> Spec:
    """Read and validate a spec file."""
    import tomllib
    from ..textfile import read_text
    name, text = read_text(path, "a TOML sweep spec (.toml)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise CoherenceError(f"invalid TOML: {msg}", name,
                             int(m.group(1)) if m else None) from None
    return parse_spec(doc, base=os.path.dirname(os.path.abspath(name)), source=name,
                      lines=_key_lines(text))


def _values(spec: Spec, key: str, raw) -> list:
    """An axis: a non-empty list, or a range table {start, stop[, step | mul]}."""
    if isinstance(raw, list):
        if not raw:
            raise spec.error(key, f"{key} is an empty list, expected at least one value")
        for v in raw:
            if isinstance(v, (list, dict)):
                raise spec.error(key, f"{key}: {v!r} is not a single value, expected a list "
                                      f"of numbers or strings")
        return list(raw)
    if isinstance(raw, dict):
        unknown = set(raw) - {"start", "stop", "step", "mul"}
        if unknown or "start" not in raw or "stop" not in raw:
            raise spec.error(key, f"{key}: a range is {{ start = A, stop = B }} with an "
                                  f"optional step = S or mul = M, got keys "
                                  f"{', '.join(sorted(raw))}")
        if "step" in raw and "mul" in raw:
            raise spec.error(key, f"{key}: give step or mul, not both")
        nums = {k: v for k, v in raw.items()}
        for k, v in nums.items():
            if isinstance(v, bool) or not isinstance(v, int):
                raise spec.error(key, f"{key}: range {k} must be an integer, got {v!r}")
        start, stop = nums["start"], nums["stop"]
        out = []
        if "mul" in nums:
            if nums["mul"] < 2 or start < 1:
                raise spec.error(key, f"{key}: a geometric range needs mul >= 2 and start >= 1")
            v = start
            while v <= stop:
                out.append(v)
                v *= nums["mul"]
        else:
            step = nums.get("step", 1)
            if step < 1:
                raise spec.error(key, f"{key}: step must be >= 1, got {step}")
            out = list(range(start, stop + 1, step))
        if not out:
            raise spec.error(key, f"{key}: the range is empty (stop {stop} < start {start})")
        if len(out) > 1_000_000:
            raise spec.error(key, f"{key}: the range has {len(out):,} values, expected at "
                                  f"most 1,000,000")
        return out
    raise spec.error(key, f"{key} must be a list or a range {{ start = A, stop = B }}, got "
                          f"{raw!r}")


def _paths(spec: Spec, key: str, raw, base: str) -> list:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise spec.error(key, f"{key} must be a list of file paths, got {raw!r}")
    out = []
    for p in raw:
        path = p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))
        if not os.path.isfile(path):
            raise spec.error(key, f"{key}: {p!r}: no such file ({path})")
        out.append((p, path))
    if len({label for label, _ in out}) != len(out):
        raise spec.error(key, f"{key} names a file twice")
    return out


def parse_spec(doc: dict, base: str = ".", source: str = "<spec>",
               lines: dict | None = None) -> Spec:
    """Validate a spec given as a dict (the TOML's tables); relative paths are resolved
    against ``base``."""
    spec = Spec(source=source, lines=lines or {})
    if not isinstance(doc, dict):
        raise spec.error("", f"a spec is a table of tables ({', '.join(TABLES)}), got "
                             f"{type(doc).__name__}")
    for table in doc:
        if table not in TABLES:
            raise spec.error(table, f"unknown table [{table}], expected "
                                    f"{', '.join('[' + t + ']' for t in TABLES)}")
    sw = doc.get("sweep", {})
    if not isinstance(sw, dict):
        raise spec.error("sweep", "[sweep] must be a table")
    for k in sw:
        if k not in SWEEP_KEYS:
            raise spec.error(f"sweep.{k}", f"unknown key sweep.{k}, expected one of "
                                           f"{', '.join(SWEEP_KEYS)}")
    if "programs" in sw:
        spec.programs = _paths(spec, "sweep.programs", sw["programs"], base)
    if "traces" in sw:
        spec.traces = _paths(spec, "sweep.traces", sw["traces"], base)
        for label, path in spec.traces:
            if not path.endswith((".trace", ".npz")):
                raise spec.error("sweep.traces", f"sweep.traces: {label!r}: expected a .trace "
                                                 f"(text) or .npz file")
    if "out" in sw:
        if not isinstance(sw["out"], str) or not sw["out"]:
            raise spec.error("sweep.out", f"sweep.out must be a folder path, got {sw['out']!r}")
        spec.out = sw["out"] if os.path.isabs(sw["out"]) else os.path.join(base, sw["out"])
    if "keep" in sw:
        keep = sw["keep"]
        if not isinstance(keep, list) or not all(isinstance(k, str) and k for k in keep):
            raise spec.error("sweep.keep", f"sweep.keep must be a list of stat names or globs "
                                           f"such as \"bus.*\", got {keep!r}")
        spec.keep = keep
    if "check" in sw:
        if not isinstance(sw["check"], bool):
            raise spec.error("sweep.check", f"sweep.check must be true or false, got "
                                            f"{sw['check']!r}")
        spec.check = sw["check"]
    if "batch" in sw:
        b = sw["batch"]
        if isinstance(b, bool) or not isinstance(b, int) or b < 0:
            raise spec.error("sweep.batch", f"sweep.batch must be an integer >= 0 (0: "
                                            f"automatic), got {b!r}")
        spec.batch = b
    if "commit" in sw:
        c = sw["commit"]
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c <= 3600:
            raise spec.error("sweep.commit", f"sweep.commit must be seconds in 0..3600 (0: "
                                             f"after every batch), got {c!r}")
        spec.commit = float(c)

    from .traces import check_generator
    gen = doc.get("generate", [])
    if isinstance(gen, dict):
        gen = [gen]
    if not isinstance(gen, list):
        raise spec.error("generate", "[[generate]] must be an array of tables")
    for i, g in enumerate(gen):
        spec.generate.append(check_generator(spec, f"generate.{i}", g))
    if len({g["name"] for g in spec.generate}) != len(spec.generate):
        raise spec.error("generate", "two [[generate]] entries have the same name")
    if not (spec.programs or spec.traces or spec.generate):
        raise spec.error("sweep", "the spec names no workload: give sweep.programs, "
                                  "sweep.traces or a [[generate]] table")

    known = config_fields()
    cfg = doc.get("config", {})
    if not isinstance(cfg, dict):
        raise spec.error("config", "[config] must be a table of SystemConfig fields")
    for k, v in cfg.items():
        if k not in known:
            raise spec.error(f"config.{k}", f"unknown SystemConfig field config.{k}, expected "
                                            f"one of {', '.join(known)}")
        if isinstance(v, (list, dict)):
            raise spec.error(f"config.{k}", f"config.{k} is fixed for every run, expected one "
                                            f"value (a list of values belongs in [axes])")
    spec.config = dict(cfg)
    axes = doc.get("axes", {})
    if not isinstance(axes, dict):
        raise spec.error("axes", "[axes] must be a table of axis = [values]")
    for k, raw in axes.items():
        key = f"axes.{k}"
        if k not in known and k not in EXTRA_AXES:
            raise spec.error(key, f"unknown axis {k!r}, expected a SystemConfig field ("
                                  f"{', '.join(known)}) or seed")
        if k in spec.config:
            raise spec.error(key, f"{k} is both fixed in [config] and an axis")
        values = _values(spec, key, raw)
        if len(set(map(repr, values))) != len(values):
            raise spec.error(key, f"{key} lists a value twice")
        if k == "seed":
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise spec.error(key, f"axes.seed: {v!r} is not an integer >= 0")
        spec.axes[k] = values
    _check_config_values(spec)
    return spec


def _check_config_values(spec: Spec) -> None:
    """Each fixed value and each axis value must make a valid SystemConfig with the fixed
    ones (combinations of axis values are checked run by run: an impossible combination is
    a row with status ``error``, a value that fits no combination is an error here)."""
    from ..config import SystemConfig
    base = dict(spec.config)
    base.setdefault("cores", 1)
    try:
        SystemConfig(**base)
    except CoherenceError as exc:
        bad = next((k for k in spec.config if k in str(exc)), None)
        raise spec.error(f"config.{bad}" if bad else "config", f"[config]: {exc}") from None
    except TypeError as exc:
        raise spec.error("config", f"[config]: {exc}") from None
    for axis, values in spec.axes.items():
        if axis in EXTRA_AXES:
            continue
        for v in values:
            try:
                SystemConfig(**{**base, axis: v})
            except (CoherenceError, TypeError, ValueError) as exc:
                if _fits_some_combination(spec, axis, v):
                    continue
                msg = str(exc).removeprefix("invalid SystemConfig: ")
                raise spec.error(f"axes.{axis}", f"axes.{axis}: {v!r}: {msg}") from None


def _fits_some_combination(spec: Spec, axis: str, value) -> bool:
    """Whether ``axis = value`` makes a valid config with some choice of the other axes'
    values (every combination, when there are at most 4096)."""
    from ..config import SystemConfig
    base = dict(spec.config)
    base.setdefault("cores", 1)
    others = [a for a in spec.axes if a != axis and a not in EXTRA_AXES]
    import itertools
    choices = [spec.axes[a] for a in others]
    total = 1
    for c in choices:
        total *= len(c)
    if total > 4096:
        return True  # too many to try here; each run reports its own combination
    for combo in itertools.product(*choices):
        try:
            SystemConfig(**{**base, **dict(zip(others, combo)), axis: value})
            return True
        except (CoherenceError, TypeError, ValueError):
            continue
    return False
