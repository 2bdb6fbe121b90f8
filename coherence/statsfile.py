"""gem5-style statistics: ``coherence run --stats-file stats.txt``.

One statistic per line, ``name value # description``, between gem5's Begin/End markers, so
tools that read gem5's ``stats.txt`` (and ``grep``) read these too.  Names follow gem5's
layout: ``system.cpuN.*`` per core (instructions, accesses, the L1's hits and misses, the
miss latency's samples, mean and power-of-two histogram), ``system.bus.*`` (transactions by
type, flushes, write-backs, cache-to-cache transfers, invalidations, busy cycles, data
bytes), ``system.mem.*`` (the memory controller's reads and writes) and, as gem5 Ruby names
its transition counts, ``system.ruby.L1Cache_Controller.STATE.EVENT``.

The miss latencies, memory traffic and transitions need ``stats="full"``, which
``--stats-file`` turns on.
"""

from __future__ import annotations

import os

from .errors import CoherenceError


def _hist_order(bucket: str) -> int:
    return int(bucket.split("-")[0])


def stats_lines(result, source: str = "") -> list[tuple[str, object, str]]:
    """``(name, value, description)`` of every statistic of a RunResult."""
    st = result.stats
    out = [("sim_cycles", result.cycles, f"cycles simulated (status {result.status})"),
           ("sim_insts", st["totals"]["instructions"], "instructions retired, all cores"),
           ("system.ipc", st["totals"]["ipc"], "instructions per cycle, all cores"),
           ("system.seed", result.seed, "seed of the randomised timing")]
    descr = {"instructions": "instructions retired", "loads": "loads executed",
             "stores": "stores executed", "rmws": "locked read-modify-writes executed",
             "hits": "L1 hits (loads, stores, RMWs, store-buffer drains)",
             "misses": "L1 misses (each a bus request)",
             "stall_cycles": "cycles blocked on memory", "forwards": "loads forwarded from "
             "the store buffer"}
    names = {"instructions": "committedInsts", "loads": "numLoads", "stores": "numStores",
             "rmws": "numRMWs", "hits": "l1.hits", "misses": "l1.misses",
             "stall_cycles": "stallCycles", "forwards": "sb.forwards"}
    for c, cs in enumerate(st["cores"]):
        pre = f"system.cpu{c}"
        for k, name in names.items():
            out.append((f"{pre}.{name}", cs[k], descr[k]))
        acc = cs["hits"] + cs["misses"]
        out.append((f"{pre}.l1.missRate", round(cs["misses"] / acc, 6) if acc else 0.0,
                    "misses per access"))
        lat = cs.get("miss_latency")
        if lat is not None:
            out.append((f"{pre}.l1.missLatency::samples", lat["count"],
                        "requests (posted to performed)"))
            out.append((f"{pre}.l1.missLatency::mean", lat["mean"],
                        "mean cycles from request to fill"))
            for b in sorted(lat["histogram"], key=_hist_order):
                out.append((f"{pre}.l1.missLatency::{b}", lat["histogram"][b],
                            f"requests taking {b} cycles"))
    bus = st["bus"]
    bdescr = {"BusRd": "read transactions", "BusRdX": "read-exclusive transactions",
              "BusUpgr": "upgrade transactions (address only)",
              "BusUpd": "update transactions (a word to every sharer)",
              "Flush": "lines a snooping cache put on the bus",
              "WriteBack": "dirty victims written back",
              "c2c_transfers": "lines supplied cache to cache",
              "invalidations": "copies invalidated by snoops",
              "busy_cycles": "cycles the bus was busy"}
    for k, v in bus.items():
        out.append((f"system.bus.{k}", v, bdescr.get(k, k)))
    out.append(("system.bus.utilization", st["totals"]["bus_utilization"],
                "fraction of cycles the bus was busy"))
    mem = st.get("memory")
    if mem is not None:
        out.append(("system.bus.bytes", mem["bus_bytes"], "data bytes on the bus"))
        out.append(("system.mem.reads", mem["reads"], "lines read from memory"))
        out.append(("system.mem.writes", mem["writes"], "lines written to memory"))
        out.append(("system.mem.bytesRead", mem["bytes_read"], "bytes read from memory"))
        out.append(("system.mem.bytesWritten", mem["bytes_written"],
                    "bytes written to memory"))
    for key, n in st.get("transitions", {}).items():
        state, event = key.split(",")
        out.append((f"system.ruby.L1Cache_Controller.{state}.{event}", n,
                    f"times the ({state}, {event}) entry was taken"))
    return out


def format_stats(result, source: str = "") -> str:
    """The stats.txt text."""
    rows = stats_lines(result, source)
    width = max(len(n) for n, _, _ in rows) + 2
    body = [f"{n:<{width}}{v!s:>14}  # {d}" for n, v, d in rows]
    head = "---------- Begin Simulation Statistics ----------"
    tail = "---------- End Simulation Statistics   ----------"
    return "\n".join(["", head] + body + ["", tail, ""])


def write_stats(result, path: str, source: str = "") -> str:
    """Write :func:`format_stats` to ``path``; returns ``path``."""
    if os.path.isdir(path):
        raise CoherenceError("is a directory, expected a file to write", file=path)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(format_stats(result, source))
    except OSError as exc:
        raise CoherenceError(f"cannot write: {exc.strerror or exc}", file=path) from None
    return path
