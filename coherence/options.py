"""The machine's command-line options, generated from the one table of fields (coherence.fields).

:func:`add_machine_options` gives a subcommand a flag for every SystemConfig field it uses
(``--hit-latency``, ``--skew``, ``--max-cycles``, ...), ``--noise NAME`` (a named timing profile,
coherence.noise), ``--seed``, ``--config FILE.toml`` and ``--save-config FILE.toml``.
:func:`machine_values` resolves them, later sources winning:

1. the field defaults (coherence.fields);
2. ``--config FILE.toml``: its ``noise`` profile first, then its fields and ``seed``;
3. ``--noise NAME`` on the command line;
4. each flag given on the command line.

So ``--config saved.toml --seed 7`` replays a saved run with another seed.  A saved file
(:func:`save_config`) holds every field's value and the seed: it replays the run exactly, as
herd's ``-conf`` does.  Bad files are one :class:`~coherence.errors.CoherenceError` with
``file:line``.

Standard library only at import time (``coherence --help`` must stay fast).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys

from .errors import CoherenceError
from .fields import BY_NAME, DEFAULTS, FIELDS, NOISE_FIELDS

#: Keys a --config file may hold besides the fields.
EXTRA_KEYS = ("seed", "noise")


def _int(text: str) -> int:
    """argparse type: an integer written as Python writes them (10, 0x40, 1_000_000)."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None


def _int_or_list(text: str):
    """argparse type of a per-core field: ``N`` (every core) or ``N,N,...`` (one per core)."""
    parts = text.split(",")
    if len(parts) == 1:
        return _int(text)
    return tuple(_int(x.strip()) for x in parts)


def add_machine_options(p, exclude=(), seed: bool = True) -> None:
    """Add a flag for every field not in ``exclude`` (the fields the subcommand sets itself),
    plus ``--noise``, ``--seed`` (unless ``seed=False``), ``--config`` and ``--save-config``.

    Every flag defaults to None ("not given"), so :func:`machine_values` can tell a flag from
    a default and let ``--config`` fill what the command line leaves out."""
    from .noise import PROFILES
    g = p.add_argument_group("machine (every SystemConfig field; docs/config.md)")
    for f in FIELDS:
        if f.name in exclude:
            continue
        default = "unset" if f.default is None else f.default
        extra = {"choices": f.choices} if f.choices else {}
        meta = {"metavar": "N"} if f.kind is int else {}
        if f.name == "cores":  # its meaning says the command line's default
            g.add_argument(*f.flags, dest=f.name, type=_int, default=None, help=f.meaning,
                           **meta)
            continue
        if f.unit and f.kind is int and f.default is not None:
            default = f"{default} {f.unit}"
        kind = _int_or_list if f.per_core else _int if f.kind is int else str
        g.add_argument(*f.flags, dest=f.name, type=kind,
                       default=None, help=f"{f.meaning} (default {default})", **meta, **extra)
    g.add_argument("--noise", metavar="NAME", default=None,
                   help="a named timing profile: sets --skew, --jitter, --drain-delay and "
                        "--issue-jitter (which override it); one of " + ", ".join(PROFILES)
                        + " (docs/config.md)")
    if seed:
        g.add_argument("--seed", type=_int, default=None,
                       help="seed of the randomised timing (default 0; it matters only with "
                            "timing noise or --arbitration random)")
    g.add_argument("--config", metavar="FILE.toml", default=None,
                   help="read field values (and seed, noise) from a TOML file, e.g. one "
                        "written by --save-config; flags given here override it")
    g.add_argument("--save-config", metavar="FILE.toml", default=None,
                   help="write this run's fields and seed to a TOML file (replay with "
                        "--config FILE.toml)")
    p.set_defaults(_machine_exclude=tuple(exclude))


# --------------------------------------------------------------------------- TOML files


def _key_line(text: str, key: str) -> int | None:
    """The line of ``key = ...`` (or of the table header ``[key]``)."""
    m = re.search(rf"^[ \t]*(\[[ \t]*)?[\"']?{re.escape(key)}[\"']?[ \t]*(=|\])", text,
                  re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


def load_config(path: str) -> tuple[dict, dict]:
    """Read a --config file: ``(values, lines)``, values by key (fields, ``seed``,
    ``noise``), lines the line of each key (for error messages)."""
    import tomllib
    from .textfile import read_text
    path, text = read_text(path, "a TOML file (as written by --save-config)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)|\(at end of document\)", msg)
        line = int(m.group(1)) if m and m.group(1) else max(text.count("\n"), 1)
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        raise CoherenceError(f"bad TOML: {what}, expected key = value lines (as written by "
                             f"--save-config)", file=path, line=line) from None
    known = tuple(BY_NAME) + EXTRA_KEYS
    values, lines = {}, {}
    for key, value in doc.items():
        line = _key_line(text, key)
        if isinstance(value, dict):
            raise CoherenceError(f"unexpected table [{key}], expected plain key = value lines "
                                 f"(keys: {', '.join(known)})", file=path, line=line)
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CoherenceError(f"unknown key {key!r}{hint}, expected one of "
                                 f"{', '.join(known)}", file=path, line=line)
        kind = int if key == "seed" else str if key == "noise" else BY_NAME[key].kind
        if key in BY_NAME and BY_NAME[key].per_core and isinstance(value, list):
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
                raise CoherenceError(f"{key} must be an integer or a list of integers (one "
                                     f"per core), got {value!r}", file=path, line=line)
            value = tuple(value)
        elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise CoherenceError(f"{key} must be an integer, got {value!r}", file=path,
                                 line=line)
        if kind is str and not isinstance(value, str):
            raise CoherenceError(f"{key} must be a string (in quotes), got {value!r}",
                                 file=path, line=line)
        values[key] = value
        lines[key] = line
    return values, lines


def _toml_value(v) -> str:
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(str(int(x)) for x in v) + "]"
    return json.dumps(v) if isinstance(v, str) else str(int(v))


def save_config(path: str, values: dict, seed: int, command: str = "",
                noise: str | None = None) -> None:
    """Write every field's value (an unset ``max_cycles`` is left out: unset means the
    default limit) and the seed as TOML that :func:`load_config` reads back."""
    from . import __version__
    out = [f"# coherence {__version__}: a saved machine; replay with --config {os.path.basename(path)}"]
    if command:
        out.append(f"# saved by: {command}")
    if noise:
        out.append(f"# timing noise from the profile {noise!r} (its fields are below)")
    out.append(f"seed = {int(seed)}")
    for f in FIELDS:
        if f.name not in values:
            continue
        v = values[f.name]
        if v is None:
            out.append(f"# {f.name} unset: the default")
            continue
        out.append(f"{f.name} = {_toml_value(v)}  # {f.unit or f.meaning.split(':')[0]}")
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(out) + "\n")
    except OSError as exc:
        raise CoherenceError(f"cannot write: {exc.strerror or exc}", file=path) from None


# --------------------------------------------------------------------------- resolution


class Machine(dict):
    """The resolved field values of a command line (a dict by field name), with ``seed``,
    ``seed_given`` (on the command line), ``noise`` (the profile's name or None),
    ``noise_given`` (some noise was asked for: a profile or a noise field), ``given`` (the
    fields the file, a profile or a flag set, as opposed to defaults) and ``where``
    (field -> (file, line) of the values a --config file supplied)."""

    seed: int = 0
    seed_given: bool = False
    noise: str | None = None
    noise_given: bool = False
    where: dict


def machine_values(args, default_noise: str | None = None) -> Machine:
    """The fields of the command line ``args`` (see the module docstring for the order),
    with ``default_noise`` applied when neither the file nor the flags ask for any noise."""
    from .noise import get_noise
    exclude = getattr(args, "_machine_exclude", ())
    fields = [f.name for f in FIELDS if f.name not in exclude]
    out = Machine({name: DEFAULTS[name] for name in fields})
    if "cores" in out:
        out["cores"] = None  # the command line's default: as many as the program uses
    out.where = {}
    given = set()
    seed = 0
    cfg_path = getattr(args, "config", None)
    file_vals, file_lines = ({}, {}) if not cfg_path else load_config(cfg_path)
    noise = None
    if "noise" in file_vals:
        try:
            prof = get_noise(file_vals["noise"])
        except CoherenceError as exc:
            raise CoherenceError(exc.message, file=cfg_path, line=file_lines["noise"]) from None
        out.update({k: v for k, v in prof.fields().items() if k in out})
        given.update(k for k in NOISE_FIELDS if k in out)
        noise = file_vals["noise"]
    for key, value in file_vals.items():
        if key in out:
            out[key] = value
            out.where[key] = (cfg_path, file_lines[key])
            given.add(key)
    if "seed" in file_vals:
        seed = file_vals["seed"]
    flag_noise = getattr(args, "noise", None)
    if flag_noise is not None:
        out.update({k: v for k, v in get_noise(flag_noise).fields().items() if k in out})
        given.update(k for k in NOISE_FIELDS if k in out)
        noise = flag_noise
        for k in NOISE_FIELDS:
            out.where.pop(k, None)
    given_noise_field = any(getattr(args, k, None) is not None for k in NOISE_FIELDS) or \
        any(k in file_vals for k in NOISE_FIELDS)
    if noise is None and not given_noise_field and default_noise is not None:
        out.update({k: v for k, v in get_noise(default_noise).fields().items() if k in out})
        noise = default_noise
    for name in fields:
        v = getattr(args, name, None)
        if v is not None:
            out[name] = v
            out.where.pop(name, None)
            given.add(name)
    out.given = given
    if getattr(args, "seed", None) is not None:
        seed = args.seed
    out.seed = int(seed)
    out.seed_given = getattr(args, "seed", None) is not None
    out.noise = noise
    out.noise_given = noise is not None or given_noise_field
    return out


def is_random(values: dict) -> bool:
    """Whether the seed can change anything: some timing noise or random arbitration."""
    def nonzero(v):
        return any(v) if isinstance(v, (tuple, list)) else bool(v)
    return (any(nonzero(values.get(k)) for k in NOISE_FIELDS)
            or values.get("arbitration") == "random")


def build_config(values: Machine, **fixed):
    """SystemConfig of resolved values; ``fixed`` are fields the command sets itself (cores,
    protocol, timeline_window).  A bad value from a --config file is reported at its line."""
    from .config import SystemConfig
    kw = {k: v for k, v in values.items() if v is not None or k == "max_cycles"}
    kw.update(fixed)
    if kw.get("cores") is None:
        kw.pop("cores", None)
    try:
        return SystemConfig(**kw)
    except CoherenceError as exc:
        msg = exc.message.removeprefix("invalid SystemConfig: ")
        name = msg.split(" ", 1)[0]
        if name in values.where and name not in fixed:
            file, line = values.where[name]
            raise CoherenceError(msg, file=file, line=line) from None
        flag = BY_NAME[name].flag if name in BY_NAME else None
        if flag and name not in fixed:
            raise CoherenceError(f"{flag}: {msg}") from None
        raise


def note_seed(values: Machine, runs: int | None = None) -> None:
    """One stderr line when a seed was asked for but nothing in the machine is random."""
    if runs is None and values.seed_given and not is_random(values):
        print(f"coherence: note: --seed {values.seed} has no effect: the machine has no "
              f"randomised timing (add --noise NAME, e.g. --noise wild, or --skew, --jitter, "
              f"--drain-delay, --issue-jitter, --arbitration random)", file=sys.stderr)
    elif runs is not None and runs > 1 and not is_random(values):
        print(f"coherence: note: the machine has no randomised timing, so all {runs} runs "
              f"are the same run (add --noise NAME, e.g. --noise wild)", file=sys.stderr)


def command_line(argv=None) -> str:
    """The command as typed, for the header of a saved config."""
    import shlex
    argv = sys.argv[1:] if argv is None else argv
    return "coherence " + " ".join(shlex.quote(a) for a in argv)
