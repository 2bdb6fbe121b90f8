"""A/B: a benchmark on another commit and on this checkout, on the same host.

    python benchmarks/ab.py [REF] [--rounds N] [--quick] [--bench engine|network]

``--bench engine`` (the default) runs benchmarks/bench_engine.py (the atomic bus),
``--bench network`` benchmarks/bench_network.py (the split bus and the directory: its
sections 1 to 3, the issue's figures).

REF (default HEAD~1) is checked out into a temporary git worktree; the two versions run one
after the other, alternately, N rounds (default 3), each in processes of its own with a numba
cache of its own (the first round of each compiles).  Printed: every figure of each version
(the median and the best over the rounds; higher is better for all) and the ratio of the
medians.  The benchmark of the current checkout is used for both, so the two run the same
workloads.

Why rounds of separate processes: on the AMD EPYC VM this was developed on, the same kernel
runs up to 30% slower in some processes than in others (it depends on where the address
space layout puts things: with ASLR off it is steady), so one process's figure is not a
measurement of the code alone.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, regex of the figure in the benchmark's output), per benchmark
ENGINE = [
    ("1. trace hit-heavy (M accesses/s)", r"^1\. trace, hit-heavy .*? s = +([\d.]+) M"),
    ("2. trace miss-heavy (M accesses/s)", r"^2\. trace, miss-heavy.*? s = +([\d.]+) M"),
    ("3. program spinlock (M instructions/s)", r"^3\. program, spinlock.*? s = +([\d.]+) M"),
    ("4a. vs reference, spinlock (x)", r"^4a\. .*?-> ([\d,.]+)x"),
    ("4b. vs pycachesim, 256 KiB (x)", r"^4b\. .*?-> ([\d,.]+)x"),
    ("    vs pycachesim, 64 KiB (x)", r"^    vs pycachesim.*?-> ([\d,.]+)x"),
]
_RATE = r" *: +([\d.]+) M"
NETWORK = (
    [(f"1. 4c {kind} {ic} (M accesses/s)", rf"^   {kind} +{ic}{_RATE}")
     for kind in ("hit-heavy", "miss-heavy") for ic in ("bus", "split-bus", "directory")]
    + [(f"2. 64c {kind} {ic} (M accesses/s)", rf"^   trace {kind} +{ic}{_RATE}")
       for kind in ("hit-heavy", "miss-heavy") for ic in ("bus", "split-bus", "directory")]
    + [(f"2. 64c {prog} {ic} (M instr/s)", rf"^   program {prog} +{ic}{_RATE}")
       for prog in ("spinlock", "faa loop") for ic in ("bus", "split-bus", "directory")]
    + [(f"3. {cores}c private {ic} (M misses/s)",
        rf"^ +{cores} cores {ic} *: +([\d.]+) ns per miss")
       for cores in (16, 64, 256) for ic in ("bus", "split-bus", "directory")
       if cores <= 64 or ic == "directory"])
# the benchmark: (script, extra arguments, figures; those in ns are turned into rates)
BENCHES = {
    "engine": ("bench_engine.py", ["--no-cold"], ENGINE),
    "network": ("bench_network.py", [], NETWORK),
}


def run(src_root: str, cache: str, quick: bool, bench: str) -> dict:
    script, extra, _ = BENCHES[bench]
    env = dict(os.environ, PYTHONPATH=src_root, NUMBA_CACHE_DIR=cache)
    # this checkout's benchmark on both sides, so that both run the same workloads
    argv = ([sys.executable, os.path.join(ROOT, "benchmarks", script)] + extra
            + (["--quick"] if quick else []))
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=src_root)
    if out.returncode != 0:
        raise SystemExit(f"{script} failed on {src_root}:\n{out.stderr}")
    return figures_of(out.stdout, bench)


def figures_of(text: str, bench: str) -> dict:
    """{label: figure} of a benchmark's output (a figure it did not print is absent)."""
    found = {}
    for label, pat in BENCHES[bench][2]:
        m = re.search(pat, text, re.M)
        if m:
            x = float(m.group(1).replace(",", ""))
            # ns per miss: as misses per second, so that higher is better for every figure
            found[label] = 1e3 / x if "ns per miss" in pat else x
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ref", nargs="?", default="HEAD~1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bench", choices=sorted(BENCHES), default="engine")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "ref")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-q", tree,
                        args.ref], check=True)
        try:
            seen = {"A": {}, "B": {}}
            for _ in range(args.rounds):
                for side, root in (("A", tree), ("B", ROOT)):
                    for k, v in run(root, os.path.join(tmp, f"cache-{side}"),
                                    args.quick, args.bench).items():
                        seen[side].setdefault(k, []).append(v)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree])
    print(f"A = {args.ref}, B = this checkout; {args.rounds} rounds; median (best); higher is "
          f"better")
    print(f"{'figure':42s} {'A':>16s} {'B':>16s} {'B/A':>6s}")
    for label, _ in BENCHES[args.bench][2]:
        a, b = seen["A"].get(label), seen["B"].get(label)
        if not a or not b:
            print(f"{label:42s} {'-' if not a else a[0]:>16} {'-' if not b else b[0]:>16}")
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{label:42s} {ma:8.2f} ({max(a):5.2f}) {mb:8.2f} ({max(b):5.2f}) {mb / ma:6.2f}")


if __name__ == "__main__":
    main()
