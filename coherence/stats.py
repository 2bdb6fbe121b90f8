"""RunResult: what a run returns, built the same way by the engine and the reference model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

# Per-core counters (columns of the kernels' ``cstat`` array).
CORE_STATS = ("instructions", "loads", "stores", "rmws", "hits", "misses", "stall_cycles",
              "forwards")
CS_INSTR, CS_LOADS, CS_STORES, CS_RMWS, CS_HITS, CS_MISSES, CS_STALL, CS_FWD = \
    range(len(CORE_STATS))
NCORESTATS = len(CORE_STATS)

# Bus counters (the kernels' ``bstat`` array): one per transaction, then the rest.  Every
# result has all of them (0 for a transaction its protocol never issues).
BUS_STATS = ("BusRd", "BusRdX", "BusUpgr", "BusUpd", "Flush", "WriteBack", "c2c_transfers",
             "invalidations", "busy_cycles")
BS_RD, BS_RDX, BS_UPGR, BS_UPD, BS_FLUSH, BS_WB, BS_C2C, BS_INV, BS_BUSY = \
    range(len(BUS_STATS))
NBUSSTATS = len(BUS_STATS)
TRANSACTIONS = BUS_STATS[:4]

# Timeline columns (the kernels' array); a result lists its protocol's transactions and the
# victims' write-backs.
TIMELINE_TYPES = ("BusRd", "BusRdX", "BusUpgr", "BusUpd", "WriteBack")
TL_BUSRD, TL_BUSRDX, TL_BUSUPGR, TL_BUSUPD, TL_WB = range(len(TIMELINE_TYPES))

STATUSES = ("halted", "max_cycles", "no_progress")


@dataclass
class RunResult:
    """The outcome of one run.

    ``status`` is "halted" (every core halted), "max_cycles" or "no_progress" (the watchdog).
    ``memory`` maps each symbol to its final value (a list for multi-word symbols);
    ``registers`` holds one dict per core ("r0" -> value); ``stats`` has "cores" (a list of
    per-core counter dicts), "bus" (transaction counts, cache-to-cache transfers,
    invalidations, busy cycles) and "totals".  ``timeline`` (when the config asks for one) is
    ``{"window": W, "types": [...], "counts": [[...], ...]}``: transactions per window.
    """

    cycles: int
    status: str
    memory: dict
    registers: list
    stats: dict
    seed: int
    config: dict
    timeline: dict | None = None
    line_states: dict | None = field(default=None, repr=False)
    line_states_truncated: bool = False
    transactions: dict | None = field(default=None, repr=False)
    #: Split bus and directory runs with watched symbols: each line's messages.
    messages: dict | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """A JSON-able dict of everything (the optional line-state log excluded)."""
        return {"cycles": self.cycles, "status": self.status, "seed": self.seed,
                "config": self.config, "memory": self.memory, "registers": self.registers,
                "stats": self.stats, "timeline": self.timeline}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @property
    def core_stats(self) -> list[dict]:
        return self.stats["cores"]

    @property
    def bus_stats(self) -> dict:
        return self.stats["bus"]


#: Request latencies by bit length (0, 1, 2-3, 4-7, ...), and their sum: one row per core.
LAT_BUCKETS = 32


def latency_row(latencies) -> np.ndarray:
    """The row of one core's request latencies: counts by bit length, then the sum."""
    row = np.zeros(LAT_BUCKETS + 1, dtype=np.int64)
    for x in latencies:
        row[min(int(x).bit_length(), LAT_BUCKETS - 1)] += 1
    row[LAT_BUCKETS] = sum(latencies)
    return row


def latency_summary(row) -> dict:
    """A core's request latencies (posting to performing, a :func:`latency_row`) as their
    count, mean and a histogram by powers of two ("0", "1", "2-3", "4-7", ...)."""
    row = np.asarray(row, dtype=np.int64)
    counts, total = row[:LAT_BUCKETS], int(row[LAT_BUCKETS])
    n = int(counts.sum())
    hist = {}
    for b, k in enumerate(counts.tolist()):
        if k:
            lo, hi = (0, 0) if b == 0 else (1 << (b - 1), (1 << b) - 1)
            hist[str(lo) if lo == hi else f"{lo}-{hi}"] = int(k)
    return {"count": n, "mean": round(total / n, 3) if n else 0.0, "histogram": hist}


def memory_traffic(bus: dict, transitions: dict, protocol, line_size: int) -> dict:
    """The memory controller's traffic and the bus's data bytes, from the bus counters and
    the transition counts (so only with ``stats="full"``).

    * ``reads``: lines memory supplied: every filling transaction (a BusRd, a BusRdX, a BusUpd
      from a cache that does not hold the line: its (I, Load/Store) entry) that no cache
      supplied (``c2c_transfers``).
    * ``writes``: lines written to memory: every entry taken with ``writeback`` (a victim's
      Evict, a snooper's write-back).
    * ``bus_bytes``: data bytes on the bus: ``line_size`` per line moved (a fill, from
      memory or a cache, and a write-back, except a snooper's that the requester took in the
      same transfer) and 8 per BusUpd (the updated word).
    """
    from .protocols.table import Transition
    fills = bus["BusRd"] + bus["BusRdX"]
    writes = together = 0
    for key, n in transitions.items():
        state, event = key.split(",")
        entry = protocol.table.get((state, event))
        if not isinstance(entry, Transition):
            continue
        if state == "I" and event in ("Load", "Store") and entry.bus == "BusUpd":
            fills += n
        if entry.writeback:
            writes += n
            if entry.supply and event in ("BusRd", "BusRdX"):
                together += n
    reads = fills - bus["c2c_transfers"]
    return {"reads": int(reads), "writes": int(writes), "bytes_read": int(reads * line_size),
            "bytes_written": int(writes * line_size),
            "bus_bytes": int(line_size * (fills + writes - together) + 8 * bus["BusUpd"])}


def build_result(*, status: str, cycles: int, regs, memory_words, addresses: dict, symbols,
                 cstat, bstat, seed: int, config, timeline=None, with_registers=True,
                 transitions=None, latencies=None) -> RunResult:
    """Assemble a RunResult from the raw arrays that both implementations produce.

    ``symbols`` is the program's symbol list (each with ``name`` and ``words``);
    ``addresses`` maps symbol name to byte address in ``memory_words``.
    """
    cstat = np.asarray(cstat)
    bstat = np.asarray(bstat)
    memory = {}
    for s in symbols:
        w = addresses[s.name] // 8
        vals = [int(v) for v in memory_words[w:w + len(s.words)]]
        memory[s.name] = vals[0] if len(vals) == 1 else vals
    registers = []
    if with_registers:
        registers = [{f"r{i}": int(v) for i, v in enumerate(row)} for row in np.asarray(regs)]
    cores = [{name: int(cstat[c, i]) for i, name in enumerate(CORE_STATS)}
             for c in range(cstat.shape[0])]
    full = getattr(config, "stats", "basic") == "full"
    if latencies is not None and full:
        for c, row in enumerate(np.asarray(latencies)):
            cores[c]["miss_latency"] = latency_summary(row)
    actions = set(config.protocol.bus_actions)
    bus = {name: int(bstat[i]) for i, name in enumerate(BUS_STATS)}
    totals = {name: sum(c[name] for c in cores) for name in CORE_STATS}
    totals["ipc"] = round(totals["instructions"] / cycles, 6) if cycles else 0.0
    totals["bus_utilization"] = round(min(bus["busy_cycles"] / cycles, 1.0), 6) if cycles else 0.0
    tl = None
    if timeline is not None:
        window = config.timeline_window
        counts = np.asarray(timeline)
        nwin = max((cycles + window - 1) // window, 1)
        cols = [i for i, name in enumerate(TIMELINE_TYPES)
                if name in actions or name not in TRANSACTIONS]
        counts = counts[:nwin][:, cols]
        tl = {"window": window, "types": [TIMELINE_TYPES[i] for i in cols],
              "counts": [[int(x) for x in row] for row in counts]}
    stats = {"cores": cores, "bus": bus, "totals": totals}
    if transitions is not None and full:
        # gem5 Ruby's transition counts: how often each (state, event) entry was taken (hits
        # at issue, a request's entry at its grant, each snooper's, each victim's Evict).
        # Programs only: a trace's runs of hits are the engine's fastest path, and counting
        # each one cost a fifth of its speed.
        names = config.protocol.state_names
        from .protocols.table import EVENTS
        stats["transitions"] = {f"{names[s]},{EVENTS[e]}": int(n)
                                for (s, e), n in np.ndenumerate(np.asarray(transitions)) if n}
        stats["memory"] = memory_traffic(bus, stats["transitions"], config.protocol,
                                         config.line_size)
    cfg = config.to_dict()
    if cfg.get("max_cycles") is None and with_registers:
        # the limit the program ran under (unset: the default); a trace's stays None: none
        cfg["max_cycles"] = config.cycle_limit(trace=False)
    return RunResult(cycles=int(cycles), status=status, memory=memory, registers=registers,
                     stats=stats, seed=int(seed), config=cfg, timeline=tl)


# ---------------------------------------------------------------- message interconnects

#: Network counters (the ``nstat`` array of both implementations of the split bus and the
#: directory; docs/machine.md, "Invariants and results").
NET_STATS = ("bytes", "hops", "stalls", "home_lookups", "bus_grants", "busy_cycles")
NS_BYTES, NS_HOPS, NS_STALLS, NS_HOME, NS_GRANTS, NS_BUSY = range(len(NET_STATS))
NNETSTATS = len(NET_STATS)


def build_net_result(*, status: str, cycles: int, regs, memory_words, addresses: dict, symbols,
                     cstat, msgs, nstat, seed: int, config, timeline=None, with_registers=True,
                     cache_transitions=None, home_transitions=None, links=None,
                     latencies=None) -> RunResult:
    """A RunResult of the split bus or the directory, from the raw arrays both
    implementations produce: ``msgs[type]`` messages sent by type (the protocol's message
    order), ``nstat`` (:data:`NET_STATS`), ``cache_transitions[state, event]`` and
    ``home_transitions[state, event]`` (entries taken), ``links[link]`` flits per mesh link,
    ``timeline[window, type]`` messages sent per window.  ``stats["bus"]`` is kept for the
    consumers written for the atomic bus, with every counter 0 but ``busy_cycles`` (the
    address bus's)."""
    proto = config.protocol
    comp = proto.compiled()
    base = build_result(status=status, cycles=cycles, regs=regs, memory_words=memory_words,
                        addresses=addresses, symbols=symbols, cstat=cstat,
                        bstat=np.zeros(NBUSSTATS, dtype=np.int64), seed=seed, config=config,
                        timeline=None, with_registers=with_registers, transitions=None,
                        latencies=latencies)
    msgs = np.asarray(msgs, dtype=np.int64)
    nstat = np.asarray(nstat, dtype=np.int64)
    by_type = {name: int(msgs[i]) for i, name in enumerate(comp.messages)}
    by_vnet = {v: 0 for v in comp.vnets}
    for i, n in enumerate(msgs.tolist()):
        by_vnet[comp.vnets[comp.msg_vnet[i]]] += int(n)
    net = {"messages": by_type, "vnets": by_vnet, "total_messages": int(msgs.sum())}
    net.update({name: int(nstat[i]) for i, name in enumerate(NET_STATS)})
    if config.interconnect != "split-bus":
        del net["bus_grants"], net["busy_cycles"]
    if config.interconnect != "directory" or config.topology != "mesh":
        del net["hops"]
    stats = base.stats
    stats["network"] = net
    stats["bus"]["busy_cycles"] = int(nstat[NS_BUSY])
    stats["totals"]["bus_utilization"] = (round(min(nstat[NS_BUSY] / cycles, 1.0), 6)
                                          if cycles else 0.0)
    if getattr(config, "stats", "basic") == "full":
        trans = {}
        for kind, arr, ctl in (("cache", cache_transitions, comp.cache),
                               ("home", home_transitions, comp.home)):
            if arr is None:
                continue
            for (s, e), n in np.ndenumerate(np.asarray(arr)):
                if n:
                    trans[f"{kind}:{ctl.states[s]},{ctl.events[e]}"] = int(n)
        if cache_transitions is not None:
            stats["transitions"] = trans
        if links is not None and config.topology == "mesh":
            stats["network"]["links"] = [int(x) for x in np.asarray(links)]
    if timeline is not None and config.timeline_window:
        window = config.timeline_window
        counts = np.asarray(timeline)
        nwin = max((cycles + window - 1) // window, 1)
        base.timeline = {"window": window, "types": list(comp.messages),
                         "counts": [[int(x) for x in row] for row in counts[:nwin]]}
    return base
