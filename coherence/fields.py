"""The one table of SystemConfig's fields: name, type, default, unit, meaning, command-line flag.

Everything that lists the machine's knobs is generated from :data:`FIELDS`, so none of them
can drift from another: the dataclass defaults of :class:`~coherence.config.SystemConfig`, the
machine flags of ``coherence run``, ``coherence plot ...`` and ``coherence litmus``
(:mod:`coherence.options`), the ``--config FILE.toml`` / ``--save-config FILE.toml`` keys, and
the table in ``docs/config.md`` (:func:`markdown_table`; ``tests/test_cli_config.py`` checks
that the file holds exactly that table and that every field has a flag).

This module imports only the standard library: the CLI builds its parsers from it before
anything heavy (numpy, numba) is imported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One knob of the machine.

    ``kind`` is ``int`` or ``str``; ``default`` None means "see the meaning" (only
    ``max_cycles``: a limit for programs, none for traces); ``flag`` is the long option
    (``aliases`` are accepted too); ``choices`` the allowed strings of a ``str`` field whose
    set is closed (``protocol`` is open: a registered family or a user's Protocol)."""

    name: str
    kind: type
    default: object
    unit: str
    meaning: str
    group: str
    choices: tuple | None = None
    aliases: tuple = ()
    #: One value for every core or one per core (``N`` or ``N,N,...`` on the command line, an
    #: integer or a list in a --config file, an int or a tuple in Python).
    per_core: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-") if self.name != "start_skew" else "--skew"

    @property
    def flags(self) -> tuple:
        return (self.flag,) + self.aliases


#: The watchdog limit a program gets when ``max_cycles`` is left unset (None).
PROGRAM_MAX_CYCLES = 50_000_000

FIELDS: tuple[Field, ...] = (
    Field("cores", int, 4, "cores", "number of cores, 1..64 on the buses, 1..256 on the "
          "directory (on the command line the default is as many as the program uses)",
          "machine"),
    Field("protocol", str, "mesi", "", "coherence protocol family: msi, mesi, moesi, mesif, "
          "dragon (`coherence protocol list`), or a Protocol object (Python)", "machine"),
    Field("interconnect", str, "bus", "", "the interconnect the protocol runs on: bus (the "
          "atomic snooping bus), split-bus (split-transaction snooping bus) or directory "
          "(home directory slices on a network)", "machine",
          choices=("bus", "split-bus", "directory")),
    Field("topology", str, "crossbar", "", "the directory's network: crossbar (every message "
          "takes net_latency) or mesh (2D mesh, XY routing, hop_latency per hop, links of "
          "finite bandwidth)", "machine", choices=("crossbar", "mesh")),
    Field("model", str, "sc", "", "memory model of the cores: sc (a store completes in the "
          "cache before the next instruction) or tso (x86-TSO: a FIFO store buffer per core)",
          "machine", choices=("sc", "tso")),
    Field("l1_size", int, 32768, "bytes", "size of each core's private L1 (a power of two, at "
          "least line_size * l1_ways)", "geometry"),
    Field("l1_ways", int, 8, "ways", "L1 associativity (a power of two); LRU replacement",
          "geometry"),
    Field("line_size", int, 64, "bytes", "cache line size, a power of two in 8..4096",
          "geometry"),
    Field("mshrs", int, 2, "misses", "outstanding misses per L1 on the split bus and the "
          "directory, >= 1 (an in-order core and its store buffer have at most 2)", "geometry"),
    Field("store_buffer", int, 8, "entries", "TSO store-buffer entries per core, 1..1024 (a "
          "full buffer stalls the next store)", "geometry"),
    Field("arbitration", str, "round-robin", "", "bus arbitration: round-robin, fixed (lowest "
          "port first) or random (drawn from the seed)", "machine",
          choices=("round-robin", "fixed", "random")),
    Field("hit_latency", int, 1, "cycles", "an L1 hit (and a store-to-load forward)",
          "latency"),
    Field("bus_latency", int, 4, "cycles", "an address-only bus transaction (BusUpgr, BusUpd "
          "of a line the requester holds)", "latency"),
    Field("mem_latency", int, 40, "cycles", "a line read from memory", "latency"),
    Field("c2c_latency", int, 12, "cycles", "a line supplied by another cache "
          "(cache-to-cache transfer)", "latency"),
    Field("wb_latency", int, 10, "cycles", "extra bus time when the requester's victim is "
          "dirty and written back", "latency"),
    Field("net_latency", int, 6, "cycles", "a message on the directory's crossbar network",
          "latency"),
    Field("hop_latency", int, 2, "cycles", "one hop (router and link) on the directory's mesh",
          "latency"),
    Field("start_skew", int, 0, "cycles", "each core starts at a random cycle in 0..N "
          "(timing noise, drawn from the seed)", "noise", aliases=("--start-skew",)),
    Field("jitter", int, 0, "cycles", "random extra latency 0..N added to every bus "
          "transaction (timing noise)", "noise"),
    Field("drain_delay", int, 0, "cycles", "random delay 0..N before each TSO store-buffer "
          "entry may drain (timing noise); N,N,... gives each core its own", "noise",
          per_core=True),
    Field("issue_jitter", int, 0, "cycles", "random extra cycles 0..N after each instruction "
          "(timing noise); N,N,... gives each core its own", "noise", per_core=True),
    Field("max_cycles", int, None, "cycles", f"watchdog: the run stops with status max_cycles "
          f"at this cycle; unset: {PROGRAM_MAX_CYCLES:,} for programs, no limit for traces "
          f"(a trace always ends; the no-progress window still guards it)", "watchdog"),
    Field("progress_window", int, 1_000_000, "cycles", "watchdog: the run stops with status "
          "no_progress when no store is performed and no core halts (traces: no access is "
          "performed) for this many cycles; 0 turns the check off", "watchdog"),
    Field("timeline_window", int, 0, "cycles", "record bus transactions per window of this "
          "many cycles (result.timeline; 0: no timeline)", "output", aliases=("--timeline",)),
    Field("stats", str, "basic", "", "basic, or full: also each core's miss-latency histogram "
          "and per-(state, event) transition counts (a few percent slower)", "output",
          choices=("basic", "full")),
)

BY_NAME = {f.name: f for f in FIELDS}
DEFAULTS = {f.name: f.default for f in FIELDS}
#: The timing-noise fields a named noise profile (coherence.noise) sets.
NOISE_FIELDS = tuple(f.name for f in FIELDS if f.group == "noise")


def markdown_table() -> str:
    """The docs/config.md table: every field, its flag, default, unit and meaning."""
    rows = ["| field | flag | default | unit | meaning |", "|---|---|---|---|---|"]
    for f in FIELDS:
        default = "unset" if f.default is None else (
            f"`{f.default}`" if f.kind is str else str(f.default))
        flags = ", ".join(f"`{x}`" for x in f.flags)
        rows.append(f"| `{f.name}` | {flags} | {default} | {f.unit} | {f.meaning} |")
    return "\n".join(rows) + "\n"
