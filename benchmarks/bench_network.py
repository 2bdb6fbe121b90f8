"""Speed of the message interconnects' engine (the split-transaction bus and the directory),
with ratios against the atomic bus in the same process.

1. 4 cores, trace mode: the hit-heavy and miss-heavy traces of bench_engine.py on the atomic
   bus, the split bus and the directory (accesses/s, and the ratio to the atomic bus);
2. the directory at 64 cores on a mesh: the hit-heavy and miss-heavy traces (accesses/s),
   and programs (a spinlock and a shared-counter ``faa`` loop, instructions/s);
3. host ns per miss at 16, 64 and 256 cores on a private-data trace (each core misses on
   lines of its own: the cost of a miss should follow the sharers involved, not the cores);
4. simulated throughput (accesses per simulated cycle) from 1 to 64 cores on the bus and
   the split bus, and to 256 on the directory.

Run: ``python benchmarks/bench_network.py`` (``--quick``: smaller inputs).  Prints
figures only; no thresholds (timings are not tests)."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import coherence  # noqa: E402
from coherence import SystemConfig, run, run_trace  # noqa: E402
from bench_engine import best_of, hit_heavy_trace, miss_heavy_trace  # noqa: E402

QUICK = "--quick" in sys.argv
CFG = dict(protocol="mesi", l1_size=32768, l1_ways=8)


def machine(interconnect, cores, **kw):
    kw = {**CFG, **kw}
    if interconnect == "bus":
        kw["protocol"] = "moesi" if kw["protocol"] == "mesi" else kw["protocol"]
    return SystemConfig(cores=cores, interconnect=interconnect, **kw)


def rate(fn, count, repeat=3):
    dt, r = best_of(fn, repeat)
    return count / dt, r, dt


def private_trace(cores, n, seed=5):
    """Every core walks its own 4 MiB region (no sharing): all misses, no sharers."""
    rng = np.random.default_rng(seed)
    writes = [(rng.random(n) < 0.3).astype(np.uint8) for _ in range(cores)]
    addrs = [((c << 22) + rng.integers(0, (4 << 20) // 64, n) * 64).astype(np.int64)
             for c in range(cores)]
    return writes, addrs


def faa_program(cores, iterations):
    text = (".data\ncounter: 0\n.core all\n li r10, %d\nloop: faa r1, [counter], 1\n"
            " sub r10, r10, 1\n bne r10, 0, loop\n halt\n" % iterations)
    return coherence.assemble(text, "faa_loop.s", cores=cores)


def spinlock_program(cores, iterations):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
    text = open(os.path.join(root, "spinlock_ttas.s")).read()
    return coherence.assemble(text.replace("li   r10, 100", f"li   r10, {iterations}"),
                              "spinlock_ttas.s", cores=cores)


def main():
    n = 20_000 if QUICK else 200_000
    # warm up (compile or load every kernel)
    for ic in ("bus", "split-bus", "directory"):
        w, a = hit_heavy_trace(200)
        run_trace(w, a, machine(ic, 4))
    print("1. 4 cores, trace mode (accesses/s; ratio to the atomic bus)")
    for name, make, count in (("hit-heavy", hit_heavy_trace, n),
                              ("miss-heavy", miss_heavy_trace, n // 4)):
        w, a = make(count)
        acc = sum(len(x) for x in a)
        base = None
        for ic in ("bus", "split-bus", "directory"):
            cfg = machine(ic, 4, l1_size=32768 if name == "hit-heavy" else 32768)
            r_s, r, dt = rate(lambda: run_trace(w, a, cfg), acc)
            base = base or r_s
            hits = r.stats["totals"]["hits"]
            print(f"   {name:10s} {ic:10s}: {r_s / 1e6:7.2f} M accesses/s  ({r_s / base:5.2f} x "
                  f"bus; hit rate {100 * hits / acc:5.1f}%, {r.cycles:,} cycles)")
    print("2. directory, 64 cores, mesh")
    cores = 64
    for name, make, count in (("hit-heavy", hit_heavy_trace, n // 8),
                              ("miss-heavy", miss_heavy_trace, n // 32)):
        w, a = make(count, cores=cores)
        acc = sum(len(x) for x in a)
        cfg = machine("directory", cores, topology="mesh")
        r_s, r, dt = rate(lambda: run_trace(w, a, cfg), acc, repeat=2)
        hits = r.stats["totals"]["hits"]
        print(f"   trace {name:10s}: {r_s / 1e6:7.2f} M accesses/s  (hit rate "
              f"{100 * hits / acc:5.1f}%, {r.cycles:,} cycles)")
    iters = 20 if QUICK else 100
    for name, prog in (("spinlock", spinlock_program(cores, iters)),
                       ("faa loop", faa_program(cores, iters * 5))):
        cfg = machine("directory", cores, topology="mesh")
        dt, r = best_of(lambda: run(prog, cfg), 2)
        ins = r.stats["totals"]["instructions"]
        print(f"   program {name:9s}: {ins / dt / 1e6:7.2f} M instructions/s  ({ins:,} "
              f"instructions, {r.cycles:,} cycles)")
    print("3. host ns per miss, private-data trace (directory, mesh)")
    for cores in (16, 64, 256):
        per = (8000 if QUICK else 40000) // cores * 4
        w, a = private_trace(cores, per)
        cfg = machine("directory", cores, topology="mesh")
        dt, r = best_of(lambda: run_trace(w, a, cfg), 2)
        misses = r.stats["totals"]["misses"]
        print(f"   {cores:4d} cores: {1e9 * dt / misses:8.1f} ns per miss  ({misses:,} misses, "
              f"{r.stats['network']['total_messages']:,} messages)")
    print("4. simulated throughput: accesses per simulated cycle (hit-heavy trace)")
    per = 4000 if QUICK else 20000
    print("   cores      bus  split-bus  directory(mesh)")
    for cores in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        w, a = hit_heavy_trace(per, cores=cores)
        acc = sum(len(x) for x in a)
        row = []
        for ic in ("bus", "split-bus", "directory"):
            if cores > 64 and ic != "directory":
                row.append("        -")
                continue
            cfg = machine(ic, cores, topology="mesh" if ic == "directory" else "crossbar")
            r = run_trace(w, a, cfg)
            row.append(f"{acc / r.cycles:9.3f}")
        print(f"   {cores:5d} " + "  ".join(row))


if __name__ == "__main__":
    main()
