"""Litmus benchmarks: exhaustive enumeration speed (prints figures; not a test).

    python benchmarks/bench_litmus.py [--repeat N]

1. Every herd oracle test (../shared/oracle/herd-x86) under sc and tso, against herd7's
   ~0.9 s per model for that set.
2. Throughput on random 4-thread, 8-instruction tests (target: >= 50 tests/s per model), and
   a heavier 4-thread x 4-instruction set for scale.
3. Emulator campaigns: iterations/s for SB on one host core (target >= 200,000/s), and the
   classic suite at 100,000 iterations per test: TSO-allowed states never seen on a tso core
   (target 0) and SC-forbidden states seen on an sc core (must be 0).
4. Campaign coverage at the default iteration count, on SC and TSO cores: allowed states never
   seen (target 0) and forbidden states seen (must be 0), over herd's oracle tests, the
   project's suite, a sample of the held-out 4-thread tests of ../shared/oracle/herd-ext and
   diy-style 4-thread cycles generated here (coherence.litmus.cycles).  ``--coverage N``
   sets the sample sizes (0: skip).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coherence.litmus import enumerate_states, load_suite, parse_text  # noqa: E402

ORACLE = ROOT.parent / "shared" / "oracle" / "herd-x86"
HERD_SECONDS_PER_MODEL = 0.9   # herd7 7.58 on the oracle set, per model
TARGET_TESTS_PER_SECOND = 50


def _best_of(repeat, fn):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def bench_oracle(repeat: int) -> None:
    print("== herd oracle set: exhaustive enumeration ==")
    if not ORACLE.is_dir():
        print(f"   skipped: {ORACLE} not found")
        return
    tests = [t for _p, t in load_suite([ORACLE / "tests"]) if not isinstance(t, str)]
    for model in ("sc", "tso"):
        dt = _best_of(repeat, lambda: [enumerate_states(t, model) for t in tests])
        print(f"   {model:3}: {len(tests)} tests in {dt:6.3f} s "
              f"({1000 * dt / len(tests):5.2f} ms/test); herd7 ~{HERD_SECONDS_PER_MODEL} s "
              f"-> {HERD_SECONDS_PER_MODEL / dt:5.1f}x faster")


_LOCS = ("x", "y", "z")
_REGS = ("EAX", "EBX", "ECX", "EDX")


def random_test(rng: random.Random, nthreads: int, per_thread: int, name: str) -> str:
    """A random X86 litmus test: stores, loads, MFENCE and XCHG over three locations."""
    cols, init, conds = [], [], []
    value = 0
    for t in range(nthreads):
        col, nreg = [], 0
        for _ in range(per_thread):
            kind = rng.choices(("st", "ld", "mf", "xchg"), weights=(4, 4, 1, 1))[0]
            loc = rng.choice(_LOCS)
            if kind == "st":
                value += 1
                col.append(f"MOV [{loc}],${value}")
            elif kind == "ld" and nreg < len(_REGS):
                reg = _REGS[nreg]
                nreg += 1
                col.append(f"MOV {reg},[{loc}]")
                conds.append(f"{t}:{reg}={rng.randint(0, 2)}")
            elif kind == "xchg" and nreg < len(_REGS):
                reg = _REGS[nreg]
                nreg += 1
                value += 1
                init.append(f"{t}:{reg}={value};")
                col.append(f"XCHG [{loc}],{reg}")
            else:
                col.append("MFENCE")
        cols.append(col)
    lines = [f"X86 {name}", "{ " + " ".join(init) + " }",
             " | ".join(f"P{t}" for t in range(nthreads)) + " ;"]
    for r in range(per_thread):
        lines.append(" | ".join(c[r] for c in cols) + " ;")
    prop = " /\\ ".join(conds) or "x=0"
    lines.append(f"exists ({prop})")
    return "\n".join(lines) + "\n"


def bench_throughput(count: int, nthreads: int, per_thread: int, seed: int = 1,
                     target: bool = False) -> None:
    rng = random.Random(seed)
    srcs = [random_test(rng, nthreads, per_thread, f"R{i}") for i in range(count)]
    t0 = time.perf_counter()
    tests = [parse_text(s, f"<random {i}>") for i, s in enumerate(srcs)]
    parse_dt = time.perf_counter() - t0
    total = nthreads * per_thread
    print(f"== random tests: {count} x ({nthreads} threads, {total} instructions) ==")
    print(f"   parse: {count / parse_dt:8.0f} tests/s")
    for model in ("sc", "tso"):
        t0 = time.perf_counter()
        explored = sum(enumerate_states(t, model).explored for t in tests)
        dt = time.perf_counter() - t0
        rate = count / dt
        line = (f"   {model:3}: {rate:8.1f} tests/s  ({1000 * dt / count:7.2f} ms/test, "
                f"{explored / count:8.0f} states/test)")
        if target:
            ok = "ok" if rate >= TARGET_TESTS_PER_SECOND else "BELOW TARGET"
            line += f"  target >= {TARGET_TESTS_PER_SECOND}: {ok}"
        print(line)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the oracle set")
    ap.add_argument("--coverage", type=int, default=150, metavar="N",
                    help="tests per sampled set in the coverage figures (0: skip them)")
    ap.add_argument("--only-coverage", action="store_true", help="print only the coverage")
    args = ap.parse_args(argv)
    if args.only_coverage:
        bench_coverage(args.coverage)
        return 0
    bench_oracle(args.repeat)
    bench_throughput(200, 4, 2, target=True)  # 4 threads, 8 instructions: the target figure
    bench_throughput(20, 4, 4)     # 4 threads x 4 instructions: heavier, for scale

    bench_campaigns()
    if args.coverage:
        bench_coverage(args.coverage)
    return 0


def _coverage(tests, label: str) -> None:
    """Campaigns at the default iteration count over ``tests`` on both cores."""
    from coherence.errors import CoherenceError
    from coherence.litmus.campaign import DEFAULT_ITERATIONS, run_campaign
    t0 = time.perf_counter()
    figures = {}
    worst = []
    ran = 0
    for t in tests:
        try:
            verdicts = {m: enumerate_states(t, m) for m in ("sc", "tso")}
            runs = {m: run_campaign(t, model=m, verdicts=verdicts) for m in ("sc", "tso")}
        except CoherenceError:
            continue  # a construct the emulator cannot run (reported by `coherence litmus`)
        ran += 1
        for m, c in runs.items():
            f = figures.setdefault(m, [0, 0, 0])
            f[0] += len(verdicts[m].states)
            f[1] += len(c.unseen)
            f[2] += len(c.model_violations) + (len(c.sc_violations) if m == "sc" else 0)
            if c.unseen:
                worst.append(f"{t.name} ({m}: {len(c.unseen)})")
    dt = time.perf_counter() - t0
    cells = "; ".join(f"{m.upper()} core: {f[1]} of {f[0]} allowed states unseen, {f[2]} "
                      f"forbidden seen" for m, f in figures.items())
    print(f"   {label}: {ran} tests x {DEFAULT_ITERATIONS:,} iterations in {dt:.0f} s; {cells}")
    if worst:
        print(f"      unseen in: {', '.join(worst[:8])}{' ...' if len(worst) > 8 else ''}")


def bench_coverage(n: int) -> None:
    from coherence.litmus.cycles import cycle_test, random_cycles
    print("== campaign coverage (default iterations) ==")
    if ORACLE.is_dir():
        _coverage([t for _p, t in load_suite([ORACLE / "tests"]) if not isinstance(t, str)],
                  "herd oracle tests")
    _coverage([t for _, t in load_suite([ROOT / "litmus" / "x86"]) if not isinstance(t, str)],
              "litmus/x86")
    ext = ROOT.parent / "shared" / "oracle" / "herd-ext" / "tests"
    if ext.is_dir():
        four = [t for _p, t in load_suite([ext]) if not isinstance(t, str)
                and len(t.threads) == 4]
        random.Random(0).shuffle(four)
        _coverage(four[:n], f"held-out 4-thread tests (sample of {n} of {len(four)})")
    gen = [parse_text(cycle_test(e), f"<cycle {i}>") for i, e in
           enumerate(random_cycles(n, threads=4, seed=0))]
    _coverage(gen, f"generated 4-thread diy cycles ({n})")


def bench_campaigns() -> None:
    from coherence.litmus import parse_file
    from coherence.litmus.campaign import run_campaign
    print("== emulator campaigns ==")
    sb = parse_file(ROOT / "litmus" / "x86" / "SB.litmus")
    run_campaign(sb, iterations=1000)  # warm-up: kernels from the on-disk cache
    for model in ("tso", "sc"):
        c = run_campaign(sb, model=model, iterations=1_000_000, seed=1)
        print(f"   SB on a {model} core: {c.iterations:,} iterations in {c.elapsed:.2f} s = "
              f"{c.iterations / c.elapsed:,.0f} iterations/s (target >= 200,000)")
    suite = [t for _, t in load_suite([ROOT / "litmus" / "x86"]) if not isinstance(t, str)]
    for model in ("tso", "sc"):
        t0 = time.perf_counter()
        unseen = forbidden = scv = its = 0
        missing = []
        for t in suite:
            c = run_campaign(t, model=model, iterations=100_000, seed=0)
            its += c.iterations
            unseen += len(c.unseen)
            forbidden += len(c.model_violations)
            scv += len(c.sc_violations) if model == "sc" else 0
            if c.unseen:
                missing.append(f"{t.name} ({len(c.unseen)})")
        dt = time.perf_counter() - t0
        print(f"   suite on a {model} core: {len(suite)} tests x 100,000 iterations in {dt:.1f} s "
              f"({its / dt:,.0f} it/s); allowed states unseen: {unseen}"
              f"{' in ' + ', '.join(missing) if missing else ''}; states the model forbids: "
              f"{forbidden}" + (f"; SC violations: {scv}" if model == "sc" else ""))


if __name__ == "__main__":
    sys.exit(main())
