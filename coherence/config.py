"""System configuration (frozen, validated) and the JIT flags, kept in this one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .errors import CoherenceError
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
STATS_LEVELS = ("basic", "full")
ARBITRATIONS = ("round-robin", "fixed", "random")
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
    :class:`~coherence.protocols.Protocol`; with ``interconnect`` (``"bus"``, the atomic
    snooping bus) it picks the table (``coherence protocol list`` lists them).
    Latencies are in cycles.  ``bus_latency`` is an address-only transaction (BusUpgr, BusUpd),
    ``mem_latency`` a line read from memory, ``c2c_latency`` a line supplied by another cache,
    ``wb_latency`` the extra bus time of a dirty victim's write-back.  Randomised timing
    (``start_skew``, ``jitter`` on bus latencies, ``drain_delay`` of store-buffer entries,
    ``issue_jitter`` extra cycles after each instruction, ``arbitration="random"``) draws from a
    generator seeded by the run's seed, so a run is a pure function of (program, config, seed).
    ``max_cycles`` and ``progress_window`` are the watchdog: a run ends with status
    ``max_cycles``, or ``no_progress`` when no store is performed and no core halts for
    ``progress_window`` cycles (0 turns that check off).  ``stats="full"`` also collects
    each core's miss-latency histogram and (programs) gem5-style per-(state, event) transition
    counts, at a few percent of speed.
    """

    cores: int = 4
    protocol: str | Protocol = "mesi"
    interconnect: str = "bus"
    model: str = "sc"
    l1_size: int = 32768
    l1_ways: int = 8
    line_size: int = 64
    store_buffer: int = 8
    arbitration: str = "round-robin"
    hit_latency: int = 1
    bus_latency: int = 4
    mem_latency: int = 40
    c2c_latency: int = 12
    wb_latency: int = 10
    start_skew: int = 0
    jitter: int = 0
    drain_delay: int = 0
    issue_jitter: int = 0
    max_cycles: int = 50_000_000
    progress_window: int = 1_000_000
    timeline_window: int = 0
    stats: str = "basic"

    def __post_init__(self):
        object.__setattr__(self, "interconnect", str(self.interconnect).lower())
        proto = get_protocol(self.protocol, self.interconnect)
        object.__setattr__(self, "protocol", proto)
        object.__setattr__(self, "model", str(self.model).lower())
        object.__setattr__(self, "arbitration", str(self.arbitration).lower())
        self._validate()

    def _validate(self):
        def bad(msg):
            raise CoherenceError(f"invalid SystemConfig: {msg}")

        for name in ("cores", "l1_size", "l1_ways", "line_size", "store_buffer", "hit_latency",
                     "bus_latency", "mem_latency", "c2c_latency", "wb_latency", "start_skew",
                     "jitter", "drain_delay", "issue_jitter", "max_cycles", "progress_window",
                     "timeline_window"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                bad(f"{name} must be an integer, got {v!r}")
        if not 1 <= self.cores <= 64:
            bad(f"cores must be in 1..64, got {self.cores}")
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
        for name in ("hit_latency", "bus_latency", "mem_latency", "c2c_latency"):
            if getattr(self, name) < 1:
                bad(f"{name} must be at least 1 cycle, got {getattr(self, name)}")
        for name in ("wb_latency", "start_skew", "jitter", "drain_delay", "issue_jitter",
                     "progress_window", "timeline_window"):
            if getattr(self, name) < 0:
                bad(f"{name} must be >= 0, got {getattr(self, name)}")
        # Upper bounds: sizes so that the machine's arrays fit in memory, times so that cycle
        # arithmetic (int64 in the kernels: a time plus latencies plus jitter) cannot overflow.
        if self.l1_size > MAX_L1_SIZE:
            bad(f"l1_size must be at most {MAX_L1_SIZE} bytes (16 MiB), got {self.l1_size}")
        lines = self.cores * (self.l1_size // self.line_size)
        if lines > MAX_CACHE_LINES:
            bad(f"cores * l1_size / line_size (the cache lines simulated) must be at most "
                f"{MAX_CACHE_LINES}, got {lines}")
        for name in ("hit_latency", "bus_latency", "mem_latency", "c2c_latency", "wb_latency",
                     "start_skew", "jitter", "drain_delay", "issue_jitter"):
            if getattr(self, name) > MAX_LATENCY:
                bad(f"{name} must be at most {MAX_LATENCY} cycles, got {getattr(self, name)}")
        for name in ("max_cycles", "progress_window", "timeline_window"):
            if getattr(self, name) > MAX_CYCLES:
                bad(f"{name} must be at most {MAX_CYCLES} (2**56) cycles, "
                    f"got {getattr(self, name)}")
        if self.stats not in STATS_LEVELS:
            bad(f"stats must be one of {', '.join(STATS_LEVELS)}, got {self.stats!r}")
        if self.max_cycles < 1:
            bad(f"max_cycles must be >= 1, got {self.max_cycles}")

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
