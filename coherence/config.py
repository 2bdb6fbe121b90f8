"""System configuration (frozen, validated) and the JIT flags, kept in this one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .errors import CoherenceError
from .fields import DEFAULTS, PROGRAM_MAX_CYCLES
from .protocols import Protocol, get_protocol

# Every numba decorator in the package takes its flags from here.  cache=True keeps compiled
# kernels on disk so a fresh process starts in well under a second; boundscheck stays off in
# production but can be turned on for debugging with COHERENCE_BOUNDSCHECK=1.
JIT_OPTIONS = dict(
    cache=os.environ.get("COHERENCE_JIT_CACHE", "1") != "0",
    nogil=True,
    boundscheck=os.environ.get("COHERENCE_BOUNDSCHECK", "0") == "1",
    error_model="numpy",
)

MODELS = ("sc", "tso")
#: "No limit" for the kernels' int64 clock: far beyond any run, and t + latency cannot wrap.
NO_CYCLE_LIMIT = 1 << 62
STATS_LEVELS = ("basic", "full")
ARBITRATIONS = ("round-robin", "fixed", "random")
TOPOLOGIES = ("crossbar", "mesh")
#: The most cores each interconnect takes.
MAX_CORES = {"bus": 64, "split-bus": 64, "directory": 256}
# Fields that take one value for every core or a tuple with one per core.
PER_CORE = ("drain_delay", "issue_jitter")
#: Upper bounds of the sizes and times (see SystemConfig._validate).
MAX_L1_SIZE = 1 << 24
MAX_CACHE_LINES = 1 << 22
MAX_LATENCY = 1 << 20
MAX_CYCLES = 1 << 56


def _pow2(x: int) -> bool:
    return x > 0 and (x & (x - 1)) == 0


@dataclass(frozen=True)
class SystemConfig:
    """The machine: cores, their L1 caches, the interconnect, the memory model and timing.

    ``protocol`` is a family name (``msi``, ``mesi``, ``moesi``, ``mesif``, ``dragon``) or a
    :class:`~coherence.protocols.Protocol` / :class:`~coherence.protocols.MessageProtocol`;
    with ``interconnect`` (``"bus"``, the atomic snooping bus; ``"split-bus"``, a
    split-transaction bus; ``"directory"``, home directories on a network of ``topology``
    ``"crossbar"`` or ``"mesh"``) it picks the table (``coherence protocol list`` lists them).
    ``mshrs`` bounds each L1's outstanding misses on the split bus and the directory;
    ``net_latency`` is a crossbar message, ``hop_latency`` one mesh hop.
    Latencies are in cycles.  ``bus_latency`` is an address-only transaction (BusUpgr, BusUpd),
    ``mem_latency`` a line read from memory, ``c2c_latency`` a line supplied by another cache,
    ``wb_latency`` the extra bus time of a dirty victim's write-back.  Randomised timing
    (``start_skew``, ``jitter`` on bus latencies, ``drain_delay`` of store-buffer entries,
    ``issue_jitter`` extra cycles after each instruction, ``arbitration="random"``) draws from a
    generator seeded by the run's seed, so a run is a pure function of (program, config, seed).
    ``drain_delay`` and ``issue_jitter`` are one number for every core or a tuple with one per
    core (a core that is often interrupted, a store buffer that drains late).
    ``max_cycles`` and ``progress_window`` are the watchdog: a run ends with status
    ``max_cycles`` (unset: 50,000,000 cycles for a program, no limit for a trace, see
    :meth:`cycle_limit`), or ``no_progress`` when no store is performed and no core halts for
    ``progress_window`` cycles (0 turns that check off).  ``stats="full"`` also collects
    each core's miss-latency histogram and (programs) gem5-style per-(state, event) transition
    counts, at a few percent of speed.
    """

    # The defaults (and every field's unit and meaning) live in coherence/fields.py, the one
    # table the CLI's flags, --config files and docs/config.md are generated from.
    cores: int = DEFAULTS["cores"]
    protocol: str | Protocol = DEFAULTS["protocol"]
    interconnect: str = DEFAULTS["interconnect"]
    topology: str = DEFAULTS["topology"]
    model: str = DEFAULTS["model"]
    l1_size: int = DEFAULTS["l1_size"]
    l1_ways: int = DEFAULTS["l1_ways"]
    line_size: int = DEFAULTS["line_size"]
    mshrs: int = DEFAULTS["mshrs"]
    store_buffer: int = DEFAULTS["store_buffer"]
    arbitration: str = DEFAULTS["arbitration"]
    hit_latency: int = DEFAULTS["hit_latency"]
    bus_latency: int = DEFAULTS["bus_latency"]
    mem_latency: int = DEFAULTS["mem_latency"]
    c2c_latency: int = DEFAULTS["c2c_latency"]
    wb_latency: int = DEFAULTS["wb_latency"]
    net_latency: int = DEFAULTS["net_latency"]
    hop_latency: int = DEFAULTS["hop_latency"]
    start_skew: int = DEFAULTS["start_skew"]
    jitter: int = DEFAULTS["jitter"]
    drain_delay: int | tuple = DEFAULTS["drain_delay"]
    issue_jitter: int | tuple = DEFAULTS["issue_jitter"]
    max_cycles: int | None = DEFAULTS["max_cycles"]
    progress_window: int = DEFAULTS["progress_window"]
    timeline_window: int = DEFAULTS["timeline_window"]
    stats: str = DEFAULTS["stats"]

    def __post_init__(self):
        object.__setattr__(self, "interconnect", str(self.interconnect).lower())
        object.__setattr__(self, "topology", str(self.topology).lower())
        proto = get_protocol(self.protocol, self.interconnect)
        object.__setattr__(self, "protocol", proto)
        object.__setattr__(self, "model", str(self.model).lower())
        object.__setattr__(self, "arbitration", str(self.arbitration).lower())
        for name in PER_CORE:
            v = getattr(self, name)
            if isinstance(v, (list, tuple)):
                object.__setattr__(self, name, tuple(v))
        self._validate()

    def _validate(self):
        def bad(msg):
            raise CoherenceError(f"invalid SystemConfig: {msg}")

        def integer(v):
            return isinstance(v, int) and not isinstance(v, bool)

        for name in ("cores", "l1_size", "l1_ways", "line_size", "store_buffer", "hit_latency",
                     "bus_latency", "mem_latency", "c2c_latency", "wb_latency", "mshrs",
                     "net_latency", "hop_latency", "start_skew",
                     "jitter", "max_cycles", "progress_window", "timeline_window"):
            v = getattr(self, name)
            if v is None and name == "max_cycles":
                continue
            if not integer(v):
                bad(f"{name} must be an integer, got {v!r}")
        for name in PER_CORE:
            v = getattr(self, name)
            if isinstance(v, tuple):
                if not all(integer(x) for x in v):
                    bad(f"{name} must be an integer or a tuple of integers, got {v!r}")
            elif not integer(v):
                bad(f"{name} must be an integer or a tuple of integers (one per core), "
                    f"got {v!r}")
        max_cores = MAX_CORES[self.interconnect]
        if not 1 <= self.cores <= max_cores:
            bad(f"cores must be in 1..{max_cores} on interconnect {self.interconnect!r}, got "
                f"{self.cores}" + (" (the directory takes up to 256)" if max_cores == 64
                                    else ""))
        if self.topology not in TOPOLOGIES:
            bad(f"topology must be one of {', '.join(TOPOLOGIES)}, got {self.topology!r}")
        if self.topology != "crossbar" and self.interconnect != "directory":
            bad(f"topology {self.topology!r} is a directory network; interconnect "
                f"{self.interconnect!r} has none (use interconnect='directory')")
        if not 1 <= self.mshrs <= 64:
            bad(f"mshrs must be in 1..64, got {self.mshrs}")
        if self.model not in MODELS:
            bad(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.arbitration not in ARBITRATIONS:
            bad(f"arbitration must be one of {', '.join(ARBITRATIONS)}, got {self.arbitration!r}")
        if not _pow2(self.line_size) or not 8 <= self.line_size <= 4096:
            bad(f"line_size must be a power of two in 8..4096 bytes, got {self.line_size}")
        if not _pow2(self.l1_ways) or self.l1_ways > 65536:
            bad(f"l1_ways must be a power of two up to 65536, got {self.l1_ways}")
        if not _pow2(self.l1_size) or self.l1_size < self.line_size * self.l1_ways:
            bad(f"l1_size must be a power of two of at least line_size*l1_ways "
                f"({self.line_size * self.l1_ways}), got {self.l1_size}")
        if not 1 <= self.store_buffer <= 1024:
            bad(f"store_buffer must be in 1..1024 entries, got {self.store_buffer}")
        for name in ("hit_latency", "bus_latency", "mem_latency", "c2c_latency", "net_latency",
                     "hop_latency"):
            if getattr(self, name) < 1:
                bad(f"{name} must be at least 1 cycle, got {getattr(self, name)}")
        for name in ("wb_latency", "start_skew", "jitter", "progress_window", "timeline_window"):
            if getattr(self, name) < 0:
                bad(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in PER_CORE:
            v = getattr(self, name)
            if isinstance(v, tuple) and len(v) != self.cores:
                bad(f"{name} has {len(v)} values, expected one per core ({self.cores})")
            if min(self.per_core(name)) < 0:
                bad(f"{name} must be >= 0, got {v}")
        # Upper bounds: sizes so that the machine's arrays fit in memory, times so that cycle
        # arithmetic (int64 in the kernels: a time plus latencies plus jitter) cannot overflow.
        if self.l1_size > MAX_L1_SIZE:
            bad(f"l1_size must be at most {MAX_L1_SIZE} bytes (16 MiB), got {self.l1_size}")
        lines = self.cores * (self.l1_size // self.line_size)
        if lines > MAX_CACHE_LINES:
            bad(f"cores * l1_size / line_size (the cache lines simulated) must be at most "
                f"{MAX_CACHE_LINES}, got {lines}")
        for name in ("hit_latency", "bus_latency", "mem_latency", "c2c_latency", "wb_latency",
                     "net_latency", "hop_latency", "start_skew", "jitter"):
            if getattr(self, name) > MAX_LATENCY:
                bad(f"{name} must be at most {MAX_LATENCY} cycles, got {getattr(self, name)}")
        for name in PER_CORE:
            if max(self.per_core(name)) > MAX_LATENCY:
                bad(f"{name} must be at most {MAX_LATENCY} cycles, got {getattr(self, name)}")
        for name in ("max_cycles", "progress_window", "timeline_window"):
            if (getattr(self, name) or 0) > MAX_CYCLES:
                bad(f"{name} must be at most {MAX_CYCLES} (2**56) cycles, "
                    f"got {getattr(self, name)}")
        if self.stats not in STATS_LEVELS:
            bad(f"stats must be one of {', '.join(STATS_LEVELS)}, got {self.stats!r}")
        if self.max_cycles is not None and self.max_cycles < 1:
            bad(f"max_cycles must be >= 1, got {self.max_cycles}")

    def per_core(self, name: str) -> tuple:
        """A per-core field (``drain_delay``, ``issue_jitter``) as one value per core."""
        v = getattr(self, name)
        return v if isinstance(v, tuple) else (v,) * self.cores

    def cycle_limit(self, trace: bool = False) -> int:
        """The watchdog's cycle limit: ``max_cycles`` when set; unset, 50,000,000 for a
        program and none for a trace (a trace always ends, so only the no-progress window
        guards it; a limit there would cut a long trace short and look complete)."""
        if self.max_cycles is not None:
            return self.max_cycles
        return NO_CYCLE_LIMIT if trace else PROGRAM_MAX_CYCLES

    @property
    def sets(self) -> int:
        return self.l1_size // (self.line_size * self.l1_ways)

    @property
    def words_per_line(self) -> int:
        return self.line_size // 8

    def replace(self, **changes) -> "SystemConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["protocol"] = self.protocol.name
        return d
