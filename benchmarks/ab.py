"""A/B: benchmarks/bench_engine.py on another commit and on this checkout, on the same host.

    python benchmarks/ab.py [REF] [--rounds N] [--quick]

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
BENCH = os.path.join(ROOT, "benchmarks", "bench_engine.py")

# (label, regex of the figure in bench_engine's output)
FIGURES = [
    ("1. trace hit-heavy (M accesses/s)", r"^1\. trace, hit-heavy .*? s = +([\d.]+) M"),
    ("2. trace miss-heavy (M accesses/s)", r"^2\. trace, miss-heavy.*? s = +([\d.]+) M"),
    ("3. program spinlock (M instructions/s)", r"^3\. program, spinlock.*? s = +([\d.]+) M"),
    ("4a. vs reference, spinlock (x)", r"^4a\. .*?-> ([\d,.]+)x"),
    ("4b. vs pycachesim, 256 KiB (x)", r"^4b\. .*?-> ([\d,.]+)x"),
    ("    vs pycachesim, 64 KiB (x)", r"^    vs pycachesim.*?-> ([\d,.]+)x"),
]


def run(src_root: str, cache: str, quick: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=src_root, NUMBA_CACHE_DIR=cache)
    argv = [sys.executable, BENCH, "--no-cold"] + (["--quick"] if quick else [])
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=src_root)
    if out.returncode != 0:
        raise SystemExit(f"bench_engine failed on {src_root}:\n{out.stderr}")
    found = {}
    for label, pat in FIGURES:
        m = re.search(pat, out.stdout, re.M)
        if m:
            found[label] = float(m.group(1).replace(",", ""))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ref", nargs="?", default="HEAD~1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
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
                                    args.quick).items():
                        seen[side].setdefault(k, []).append(v)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree])
    print(f"A = {args.ref}, B = this checkout; {args.rounds} rounds; median (best); higher is "
          f"better")
    print(f"{'figure':42s} {'A':>16s} {'B':>16s} {'B/A':>6s}")
    for label, _ in FIGURES:
        a, b = seen["A"].get(label), seen["B"].get(label)
        if not a or not b:
            print(f"{label:42s} {'-' if not a else a[0]:>16} {'-' if not b else b[0]:>16}")
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{label:42s} {ma:8.2f} ({max(a):5.2f}) {mb:8.2f} ({max(b):5.2f}) {mb / ma:6.2f}")


if __name__ == "__main__":
    main()
