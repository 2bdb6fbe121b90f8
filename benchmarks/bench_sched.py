"""Scheduler benchmarks: exhaustive exploration vs SPIN, and simulation ticks per second.

    python benchmarks/bench_sched.py [--max-n 7] [--ticks 2000000]

1. Dining philosophers with ordered forks (deadlock-free), N = 4..7, every philosopher looping
   forever: states explored, states/s and time to exhaust the space, safety only (deadlock
   search, comparable to SPIN's -DSAFETY run) and with the liveness analyses.  When ``spin`` is
   installed, an equivalent Promela model is generated in a temp dir, compiled as spin does
   (``spin -a``, ``gcc -O2 -DSAFETY -o pan pan.c``), run, and the verdicts and times compared.
2. Simulation speed: a long random scenario under the lottery policy, ticks per second with
   and without the timeline.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from coherence.sched import Scenario, Thread, explore, simulate  # noqa: E402


def philosophers(n: int) -> Scenario:
    """N philosophers, forks taken lower-numbered first, looping forever."""
    threads = []
    for i in range(n):
        lo, hi = sorted((i, (i + 1) % n))
        threads.append(Thread(f"P{i}", [f"acquire F{lo}", f"acquire F{hi}", "compute 1",
                                        f"release F{hi}", f"release F{lo}", "compute 1"],
                              repeat=True))
    return Scenario(f"philosophers{n}-ordered", threads)


def promela(n: int) -> str:
    """The same model in Promela: a fork is a bit; acquire is an atomic test-and-set."""
    procs = []
    for i in range(n):
        lo, hi = sorted((i, (i + 1) % n))
        procs.append(f"""active proctype P{i}() {{
    do
    :: atomic {{ fork[{lo}] == 0 -> fork[{lo}] = 1 }};
       atomic {{ fork[{hi}] == 0 -> fork[{hi}] = 1 }};
       eat: skip;
       fork[{hi}] = 0;
       fork[{lo}] = 0;
       think: skip
    od
}}""")
    return f"bit fork[{n}];\n\n" + "\n\n".join(procs) + "\n"


def run_spin(n: int, workdir: str) -> dict:
    """Generate, compile and run pan; return states, seconds, verdict (and build time)."""
    model = os.path.join(workdir, f"phil{n}.pml")
    with open(model, "w") as fh:
        fh.write(promela(n))
    t0 = time.perf_counter()
    subprocess.run(["spin", "-a", model], cwd=workdir, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"],
                   cwd=workdir, check=True, capture_output=True)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = subprocess.run(["./pan", "-m100000"], cwd=workdir, capture_output=True,
                         text=True).stdout
    wall = time.perf_counter() - t0
    stored = re.search(r"(\d+) states, stored", out)
    errors = re.search(r"errors: (\d+)", out)
    elapsed = re.search(r"pan: elapsed time ([\d.e+-]+) seconds", out)
    return {"states": int(stored.group(1)) if stored else -1,
            "errors": int(errors.group(1)) if errors else -1,
            "seconds": wall, "pan_reported": float(elapsed.group(1)) if elapsed else None,
            "build": build}


def bench_explore(max_n: int) -> None:
    have_spin = shutil.which("spin") is not None and shutil.which("gcc") is not None
    print("Exhaustive exploration: dining philosophers, ordered forks (deadlock-free), looping")
    if not have_spin:
        print("spin not installed: no SPIN comparison (apt-get install spin)")
    explore(philosophers(3), liveness=True)  # load the jitted kernels
    header = (f"{'N':>2} {'states':>9} {'states/s':>11} {'safety s':>9} {'liveness s':>10} "
              f"{'deadlock':>8}")
    if have_spin:
        header += (f" {'spin states':>11} {'spin s':>8} {'pan says s':>10} {'spin verdict':>12} "
                   f"{'ratio':>6}")
    print(header)
    tmp = tempfile.mkdtemp(prefix="bench_sched_") if have_spin else None
    try:
        for n in range(4, max_n + 1):
            sc = philosophers(n)
            program = sc.compile()
            best = None
            for _ in range(3):
                res = explore(program, liveness=False)
                best = res if best is None or res.seconds < best.seconds else best
            full = explore(program, liveness=True)
            dead = [f for f in full.findings if f.kind in ("deadlock", "stuck")]
            line = (f"{n:>2} {best.states:>9} {best.states / best.seconds:>11.0f} "
                    f"{best.seconds:>9.4f} {full.seconds:>10.4f} "
                    f"{'yes' if dead else 'no':>8}")
            if have_spin:
                runs = [run_spin(n, tmp) for _ in range(3)]
                sp = min(runs, key=lambda r: r["seconds"])
                verdict = "no" if sp["errors"] == 0 else "yes"
                same = "" if verdict == ("yes" if dead else "no") else " VERDICTS DIFFER"
                said = sp["pan_reported"]
                said = f"{said:>10.4f}" if said is not None else f"{'?':>10}"
                line += (f" {sp['states']:>11} {sp['seconds']:>8.4f} {said} {verdict:>12} "
                         f"{best.seconds / sp['seconds']:>6.2f}{same}")
            print(line)
        if have_spin:
            print("ratio = our safety exploration time / pan's run time (wall clock of ./pan, "
                  "best of 3, incl. its start-up and hash-table allocation; 'pan says' is pan's "
                  "own elapsed time).  pan is built with -DSAFETY -DNOREDUCE so both explore "
                  "the full interleaving space (same state counts); spin -a + gcc time "
                  "excluded, as is our JIT (cached) load time.")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def random_scenario(n_threads: int = 8, n_locks: int = 4, length: int = 12,
                    seed: int = 1) -> Scenario:
    """Random lock/compute/yield programs (locks taken in index order: no deadlock), looping."""
    rng = np.random.default_rng(seed)
    threads = []
    for t in range(n_threads):
        ops = []
        while len(ops) < length:
            k = int(rng.integers(0, 4))
            if k == 0:
                a, b = sorted(rng.choice(n_locks, 2, replace=False))
                ops += [f"acquire L{a}", f"acquire L{b}", f"compute {int(rng.integers(1, 4))}",
                        f"release L{b}", f"release L{a}"]
            elif k == 1:
                ops.append(f"compute {int(rng.integers(1, 6))}")
            elif k == 2:
                ops.append("yield")
            else:
                ops += [f"acquire L{int(rng.integers(0, n_locks))}"]
                ops += ["compute 1", ops[-1].replace("acquire", "release")]
        threads.append(Thread(f"T{t}", ops, priority=int(rng.integers(1, 5)), repeat=True))
    return Scenario("random", threads, policy="lottery", quantum=3, cpus=2)


def bench_simulate(ticks: int) -> None:
    print()
    print(f"Simulation: random 8-thread looping scenario, lottery, 2 CPUs, {ticks} ticks")
    sc = random_scenario()
    simulate(sc, max_ticks=1000)  # load the jitted kernel
    for record in (True, False):
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            res = simulate(sc, max_ticks=ticks, record=record)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        print(f"  timeline {'on ' if record else 'off'}: {res.ticks} ticks in {best:.3f} s = "
              f"{res.ticks / best / 1e6:.2f} M ticks/s ({len(res.steps) if record else '-'} steps)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-n", type=int, default=7)
    ap.add_argument("--ticks", type=int, default=2_000_000)
    args = ap.parse_args()
    bench_explore(args.max_n)
    bench_simulate(args.ticks)


if __name__ == "__main__":
    main()
