"""Speed of the message interconnects' engine (the split-transaction bus and the directory),
every figure with its ratio against the atomic bus on the same input in the same process.

0. compiling (``--cold``): a fresh process with an empty numba cache to its first trace run,
   for the atomic bus and for the message interconnects (their kernel), and warm (cached);
1. 4 cores, trace mode: the hit-heavy and miss-heavy traces of bench_engine.py on the atomic
   bus, the split bus and the directory (accesses/s);
2. 64 cores: the same traces and programs (a spinlock and a shared-counter ``faa`` loop,
   instructions/s) on the atomic bus, the split bus and the directory on a mesh;
3. host ns per miss at 16, 64 and 256 cores on a private-data trace (each core misses on
   lines of its own: the cost of a miss should follow the sharers involved, not the cores);
   the atomic bus runs at most 64 cores;
4. simulated throughput (accesses per simulated cycle) from 1 to 64 cores on the bus and
   the split bus, and to 256 on the directory;
5. campaigns: ``run_batch`` of litmus SB and IRIW under a campaign's noise (runs/s), and on
   the message interconnects also the runs one at a time (the batch kernel's definition,
   which is what a campaign cost before the batch kernel).

Run: ``python benchmarks/bench_network.py`` (``--quick``: smaller inputs; ``--cold``: also
the compile times, about a minute).  Prints figures only; no thresholds (timings are not
tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# after PYTHONPATH, so that benchmarks/ab.py can run this file on another checkout's package
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
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


def ratio(x, base):
    return f"{x / base:5.2f} x bus" if base else "   - x bus"


COLD = """
import time, sys
t0 = time.perf_counter()
import numpy as np
from coherence import SystemConfig, run_trace
w = [np.array([0, 1], np.uint8)] * 2
a = [np.array([0, 64], np.int64)] * 2
run_trace(w, a, SystemConfig(cores=2, interconnect=sys.argv[1]))
print(time.perf_counter() - t0)
"""


def compile_times():
    """Seconds from a fresh process to its first tiny trace run, with an empty numba cache
    (it compiles the kernels) and then with the cache filled (it loads them)."""
    out = {}
    for ic in ("bus", "directory"):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            times = []
            for _ in range(2):
                r = subprocess.run([sys.executable, "-c", COLD, ic], capture_output=True,
                                   text=True, env=env, check=True)
                times.append(float(r.stdout.split()[-1]))
            out[ic] = times
    return out


def main():
    n = 20_000 if QUICK else 200_000
    if "--cold" in sys.argv:
        ct = compile_times()
        print("0. a fresh process to its first trace run: cold (empty numba cache) / warm")
        for ic, name in (("bus", "atomic bus"), ("directory", "message interconnects")):
            cold, warm = ct[ic]
            print(f"   {name:22s}: {cold:6.1f} s cold ({ratio(cold, ct['bus'][0])}), "
                  f"{warm:5.2f} s warm ({ratio(warm, ct['bus'][1])})")
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
            cfg = machine(ic, 4)
            r_s, r, dt = rate(lambda: run_trace(w, a, cfg), acc)
            base = base or r_s
            hits = r.stats["totals"]["hits"]
            print(f"   {name:10s} {ic:10s}: {r_s / 1e6:7.2f} M accesses/s  ({ratio(r_s, base)}; "
                  f"hit rate {100 * hits / acc:5.1f}%, {r.cycles:,} cycles)")
    cores = 64
    print(f"2. {cores} cores (the directory on a mesh; ratio to the atomic bus)")
    for name, make, count in (("hit-heavy", hit_heavy_trace, n // 8),
                              ("miss-heavy", miss_heavy_trace, n // 32)):
        w, a = make(count, cores=cores)
        acc = sum(len(x) for x in a)
        base = None
        for ic in ("bus", "split-bus", "directory"):
            cfg = machine(ic, cores, topology="mesh" if ic == "directory" else "crossbar")
            r_s, r, dt = rate(lambda: run_trace(w, a, cfg), acc, repeat=2)
            base = base or r_s
            hits = r.stats["totals"]["hits"]
            print(f"   trace {name:10s} {ic:10s}: {r_s / 1e6:7.2f} M accesses/s  "
                  f"({ratio(r_s, base)}; hit rate {100 * hits / acc:5.1f}%, "
                  f"{r.cycles:,} cycles)")
    iters = 20 if QUICK else 100
    for name, prog in (("spinlock", spinlock_program(cores, iters)),
                       ("faa loop", faa_program(cores, iters * 5))):
        base = None
        for ic in ("bus", "split-bus", "directory"):
            cfg = machine(ic, cores, topology="mesh" if ic == "directory" else "crossbar")
            dt, r = best_of(lambda: run(prog, cfg), 2)
            ins = r.stats["totals"]["instructions"]
            r_s = ins / dt
            base = base or r_s
            print(f"   program {name:8s} {ic:10s}: {r_s / 1e6:7.2f} M instructions/s  "
                  f"({ratio(r_s, base)}; {ins:,} instructions, {r.cycles:,} cycles)")
    print("3. host ns per miss, private-data trace (ratio: the atomic bus's ns per miss over "
          "this one's)")
    for cores in (16, 64, 256):
        per = (8000 if QUICK else 40000) // cores * 4
        w, a = private_trace(cores, per)
        base = None
        for ic in ("bus", "split-bus", "directory"):
            if cores > 64 and ic != "directory":
                continue
            cfg = machine(ic, cores, topology="mesh" if ic == "directory" else "crossbar")
            dt, r = best_of(lambda: run_trace(w, a, cfg), 2)
            misses = r.stats["totals"]["misses"]
            ns = 1e9 * dt / misses
            base = base or (ns if ic == "bus" else None)
            print(f"   {cores:4d} cores {ic:10s}: {ns:8.1f} ns per miss  "
                  f"({ratio(base, ns) if base else '   - x bus'}; {misses:,} misses"
                  + ("" if ic == "bus" else
                     f", {r.stats['network']['total_messages']:,} messages") + ")")
    print("4. simulated throughput: accesses per simulated cycle (hit-heavy trace; ratio to the "
          "atomic bus)")
    per = 4000 if QUICK else 20000
    print("   cores      bus      split-bus        directory(mesh)")
    for cores in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        w, a = hit_heavy_trace(per, cores=cores)
        acc = sum(len(x) for x in a)
        row = []
        base = None
        for ic in ("bus", "split-bus", "directory"):
            if cores > 64 and ic != "directory":
                row.append("        -" if ic == "bus" else "       -          ")
                continue
            cfg = machine(ic, cores, topology="mesh" if ic == "directory" else "crossbar")
            r = run_trace(w, a, cfg)
            x = acc / r.cycles
            base = base or x
            row.append(f"{x:9.3f}" if ic == "bus" else
                       f"{x:9.3f} ({x / base:5.2f} x)" if cores <= 64 else f"{x:9.3f}         ")
        print(f"   {cores:5d} " + "  ".join(row))
    bench_batches()


def bench_batches():
    """5. run_batch on litmus programs: the atomic bus, then each message interconnect batched
    and one run at a time."""
    import warnings
    from coherence import run_batch
    from coherence.engine import _layout, observation_arrays
    from coherence.engine.net import run_net_batch_each
    from coherence.litmus import parse_file
    from coherence.litmus.campaign import campaign_config, campaign_program
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "litmus", "x86")
    runs = 2000 if QUICK else 20000
    print(f"5. campaigns: run_batch of {runs:,} runs under the 'mild' noise, TSO cores (runs/s; "
          "ratio to the atomic bus)")
    for name in ("SB", "IRIW"):
        test = parse_file(os.path.join(root, f"{name}.litmus"))
        program, _names, spec, _text = campaign_program(test)
        base = None
        for ic in ("bus", "split-bus", "directory"):
            cfg = campaign_config(len(test.threads), "tso", "mesi", (20, 4, 120, 8),
                                  interconnect=ic)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_batch(program, cfg, 10, observe=spec)
                t0 = time.perf_counter()
                run_batch(program, cfg, runs, seed=1, observe=spec, status_codes=True)
                x = runs / (time.perf_counter() - t0)
                base = base or x
                line = f"   {name:5s} {ic:10s}: {x:10,.0f} runs/s  ({x / base:5.2f} x bus)"
                if ic != "bus":
                    kinds, a, b = observation_arrays(spec, _layout(program, cfg)[0], cfg)
                    each = max(runs // 20, 50)
                    run_net_batch_each(program, cfg, 2, 1, kinds, a, b)   # warm
                    t0 = time.perf_counter()
                    run_net_batch_each(program, cfg, each, 1, kinds, a, b)
                    y = each / (time.perf_counter() - t0)
                    line += f"; one at a time {y:8,.0f} runs/s (batch {x / y:5.1f} x)"
            print(line)


if __name__ == "__main__":
    main()
