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
5. The cat path: x86 through sc.cat / x86-tso.cat against the enumerators (agreement, time);
   agreement with herd7 on ../shared/oracle/herd-arm-riscv (supported / agree / differ /
   skipped by reason, execution counts too) and the time against herd7's (measured when
   herd7 is installed, else herd's figure from the oracle's README); a 4-thread AArch64 test
   with 10 events per thread (target < 1 s); store buffering over 6 to 16 threads
   (`--sb-threads`), cat path and enumerator.  `--cat-only` runs just this part, on a
   deterministic sample of `--cat-sample` tests per architecture (0: the whole oracle).
6. The diy-generated golden set (tests/data/diy, herd7 7.58's verdicts in verdicts.tsv): per
   architecture and model, tests, agreement (final states and observation, and the
   execution counts), and the CPU time against herd7's on the same files.  `--diy-only`
   runs just this part.

herd7 is found through `$HERD7` (a path) or on `PATH` (e.g. PREFIX/bin of a herdtools7
build, see tests/data/diy/README.md); its libdir is `$HERD_LIBDIR` or
PREFIX/share/herdtools7/herd.  When it is there, the times against herd7 are measured (CPU
of one herd7 process over the same files, and of one process per file as the oracle's
verdicts were made); without it, the oracle's README figure stands in.
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


ARM_ORACLE = ROOT.parent / "shared" / "oracle" / "herd-arm-riscv"
# herd7 7.58 on herd-arm-riscv: 19,286 calls, about 1,410 s of CPU (the oracle's README).
HERD_ARM_SECONDS_PER_CALL = 1410 / 19286
DIY = ROOT / "tests" / "data" / "diy"


def find_herd7():
    """(herd7, its libdir) from $HERD7 / PATH and $HERD_LIBDIR, or (None, None)."""
    import os
    import shutil
    herd = os.environ.get("HERD7") or shutil.which("herd7")
    if not herd or not Path(herd).is_file():
        return None, None
    lib = os.environ.get("HERD_LIBDIR")
    lib = Path(lib) if lib else Path(herd).resolve().parent.parent / "share" / "herdtools7" / "herd"
    return herd, (lib if (lib / "sc.cat").is_file() else None)


def _children_cpu():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def herd7_cpu(herd, lib, cat, files, per_file=False):
    """CPU seconds herd7 takes on ``files`` under ``cat``: one process for all of them (in
    chunks of 200 files), or one per file (``per_file``, as the oracle's verdicts were
    produced).  None when herd7 fails."""
    import subprocess
    base = [herd] + (["-I", str(lib)] if lib else []) + ["-model", str(cat)]
    groups = [[f] for f in files] if per_file else \
        [files[i:i + 200] for i in range(0, len(files), 200)]
    c0 = _children_cpu()
    for g in groups:
        p = subprocess.run(base + [str(f) for f in g], capture_output=True, text=True)
        if p.returncode != 0:
            return None
    return _children_cpu() - c0


def _herd_line(ours, herd, lib, cat, files, per_file=True):
    """``herd7 X s (one process), Y s (one per test); ours/herd ...`` or the reason."""
    one = herd7_cpu(herd, lib, cat, files)
    if one is None:
        return f"herd7 failed on {cat}"
    line = f"herd7 {one:.1f} s in one process"
    if per_file:
        each = herd7_cpu(herd, lib, cat, files, per_file=True)
        line += f", {each:.1f} s as one process per test"
    line += f"; ours/herd7 (one process) {ours / max(one, 1e-9):.2f}"
    if per_file:
        line += f", ours/herd7 (per test) {ours / max(each, 1e-9):.2f}"
    return line


def _oracle_dir(name):
    for base in (ROOT.parent, ROOT.parent.parent):
        p = base / "shared" / "oracle" / name
        if p.is_dir():
            return p
    return None


def bench_cat_x86() -> None:
    from coherence.litmus.cat.verdict import cat_verdict
    print("== cat path on x86: sc.cat / x86-tso.cat against the enumerators ==")
    paths = [ROOT / "litmus" / "x86"]
    ox = _oracle_dir("herd-x86")
    if ox is not None:
        paths.append(ox / "tests")
    tests = [t for _p, t in load_suite(paths) if not isinstance(t, str)
             and not any(th.can_loop for th in t.threads)]
    agree = 0
    t_op = t_cat = 0.0
    for t in tests:
        for op, cat in (("sc", "sc"), ("tso", "x86-tso")):
            t0 = time.perf_counter()
            a = enumerate_states(t, op)
            t1 = time.perf_counter()
            b = cat_verdict(t, cat)
            t2 = time.perf_counter()
            t_op += t1 - t0
            t_cat += t2 - t1
            agree += (a.states, a.positive, a.negative) == (b.states, b.positive, b.negative)
    n = 2 * len(tests)
    print(f"   {agree}/{n} verdicts equal; enumerators {t_op:.2f} s, cat {t_cat:.2f} s "
          f"(cat/enumerators {t_cat / max(t_op, 1e-9):.1f}x: the enumerators stay default)")


def bench_cat_oracle(sample: int) -> None:
    import collections
    import csv
    import hashlib
    from coherence.errors import CoherenceError
    from coherence.litmus import parse_file
    from coherence.litmus.cat.verdict import cat_verdict
    print("== cat path: AArch64 / RISC-V against herd7 (herd-arm-riscv) ==")
    oracle = _oracle_dir("herd-arm-riscv")
    if oracle is None:
        print("   skipped: ../shared/oracle/herd-arm-riscv not found")
        return
    with open(oracle / "verdicts.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    herd, lib = find_herd7()
    for arch, model in (("AArch64", "aarch64"), ("RISCV", "riscv")):
        sel = [r for r in rows if r["arch"] == arch and r["model"] == model]
        sel.sort(key=lambda r: hashlib.sha1(r["path"].encode()).hexdigest())
        if sample:
            sel = sel[:sample]
        agree = counts = 0
        differ, skipped = [], collections.Counter()
        t0 = time.process_time()
        for r in sel:
            try:
                v = cat_verdict(parse_file(oracle / "tests" / r["path"]), model)
            except CoherenceError as exc:
                reason = str(exc).split(": ", 1)[-1]
                skipped[reason.split(" in `")[0][:60]] += 1
                continue
            want = {x.strip() for x in r["states"].split(" | ")} if r["states"] else set()
            got = {" ".join(f"{k}={x};" for k, x in st.items()) for st in v.states} - {""}
            if got == want and v.observation == r["observation"]:
                agree += 1
                counts += (v.positive, v.negative) == (int(r["positive"]),
                                                       int(r["negative"]))
            else:
                differ.append(r["path"])
        dt = time.process_time() - t0
        supported = len(sel) - sum(skipped.values())
        print(f"   {arch:7} {model:8}: {len(sel)} tests, {supported} supported, {agree} agree "
              f"(execution counts too: {counts}), {len(differ)} differ, "
              f"{sum(skipped.values())} skipped; {dt:.1f} s of CPU")
        for reason, k in skipped.most_common():
            print(f"      skipped {k}: {reason}")
        for p in differ:
            print(f"      differs: {p}")
        if herd:
            files = [oracle / "tests" / r["path"] for r in sel]
            print(f"      {herd}: " + _herd_line(dt, herd, lib, f"{model}.cat", files,
                                                  per_file=len(files) <= 400))
        herd_s = HERD_ARM_SECONDS_PER_CALL * len(sel)
        print(f"      herd7 7.58, from the oracle's README average (one process per test): "
              f"~{herd_s:.0f} s for these; ratio ours/herd ~{dt / herd_s:.2f}")


def _wide_aarch64_test() -> str:
    """4 threads x 10 events (stores, loads, fences, an address dependency, a release)."""
    locs = ["x", "y", "z", "w"]
    init = " ".join(f"{t}:X1={locs[t]}; {t}:X2={locs[(t + 1) % 4]}; {t}:X3={locs[(t + 2) % 4]};"
                    f" {t}:X10=p{t}; {t}:X11=q{t};" for t in range(4))
    rows = [["MOV W0,#1", "STR W0,[X1]", "STR W0,[X10]", "DMB SY", "LDR W5,[X2]",
             "LDR W6,[X11]", "EOR W8,W5,W5", "LDR W9,[X10,W8,SXTW]", "STR W0,[X11]",
             "DMB ISH", "LDR W7,[X10]", "STLR W0,[X3]"]] * 4
    body = "\n".join(" " + " | ".join(rows[t][k] for t in range(4)) + " ;"
                      for k in range(len(rows[0])))
    cond = " /\\ ".join(f"{t}:X5=0" for t in range(4))
    return (f"AArch64 W4x10\n{{ {init} }}\n P0 | P1 | P2 | P3 ;\n{body}\n"
            f"exists ({cond})\n")


def _sb_source(n: int) -> str:
    cols = [[f"MOV [x{i}],$1", f"MOV EAX,[x{(i + 1) % n}]"] for i in range(n)]
    table = " | ".join(f"P{i}" for i in range(n)) + " ;\n" + "\n".join(
        " | ".join(c[k] for c in cols) + " ;" for k in range(2))
    cond = " /\\ ".join(f"{i}:EAX=0" for i in range(n))
    return f"X86 SB{n}\n{{}}\n{table}\nexists ({cond})\n"


def bench_many_threads(sizes) -> None:
    """Store buffering over n threads under TSO: what the CLI's default uses from
    CAT_FROM_THREADS threads on (the cat path), and the enumerator where it is quick."""
    from coherence.litmus.cat.verdict import cat_verdict
    print("== store buffering over n threads, tso ==")
    for n in sizes:
        t = parse_text(_sb_source(n), f"SB{n}.litmus")
        c0 = time.process_time()
        v = cat_verdict(t, "x86-tso")
        cat_s = time.process_time() - c0
        line = f"   SB over {n:2} threads: cat path {cat_s:7.2f} s CPU ({v.observation} " \
               f"{v.positive} {v.negative})"
        if n <= 7:
            c0 = time.process_time()
            enumerate_states(t, "tso")
            line += f", enumerator {time.process_time() - c0:6.2f} s"
        print(line)


def bench_cat_wide() -> None:
    from coherence.litmus.cat.verdict import cat_verdict
    print("== cat path: a 4-thread AArch64 test with 10 events per thread ==")
    t = parse_text(_wide_aarch64_test(), "W4x10.litmus")
    cat_verdict(t, "aarch64")  # the model is loaded once per process
    c0, t0 = time.process_time(), time.perf_counter()
    v = cat_verdict(t, "aarch64")
    cpu, dt = time.process_time() - c0, time.perf_counter() - t0
    # CPU time: on a shared machine the wall time also counts the other processes.
    ok = "ok" if cpu < 1.0 else "ABOVE TARGET"
    print(f"   {v.observation} {v.positive} {v.negative}, {v.explored} candidates in "
          f"{cpu:.3f} s of CPU ({dt:.3f} s wall)  target < 1 s: {ok}")


def bench_diy() -> None:
    """Agreement with herd7 on the diy-generated golden set, and the time against herd7's."""
    import collections
    import csv
    import tempfile
    from coherence.litmus import parse_file
    from coherence.litmus.cat.verdict import cat_verdict
    print("== diy-generated tests (tests/data/diy) against herd7 7.58's verdicts ==")
    if not (DIY / "verdicts.tsv").is_file():
        print(f"   skipped: {DIY / 'verdicts.tsv'} not found")
        return
    with open(DIY / "verdicts.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    herd, lib = find_herd7()
    tmp = tempfile.TemporaryDirectory()
    cats = {}
    if herd and lib:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from make_diy_golden import oracle_cats
        cats = oracle_cats(lib, Path(tmp.name))
    elif herd:
        print(f"   {herd}: no libdir found (set HERD_LIBDIR): herd7's sc / tso rows not timed")
    herd_cat = {"aarch64": "aarch64.cat", "riscv": "riscv.cat",
                "tso": cats.get("x86tso-amo.cat"), "sc": cats.get("sc-amo.cat")}
    ours = {("X86", "tso"): ("enum", "tso"), ("X86", "sc"): ("enum", "sc")}
    groups = collections.defaultdict(list)
    for r in rows:
        groups[(r["arch"], r["model"])].append(r)
    total = collections.Counter()
    for (arch, model), sel in sorted(groups.items()):
        how, m = ours.get((arch, model), ("cat", model))
        tests = [parse_file(DIY / r["path"]) for r in sel]
        agree = counts = 0
        differ = []
        c0 = time.process_time()
        for t, r in zip(tests, sel):
            v = enumerate_states(t, m) if how == "enum" else cat_verdict(t, m)
            want = set(r["states"].split(" | ")) if r["states"] else set()
            got = {" ".join(f"{k}={x};" for k, x in st.items()) for st in v.states} - {""}
            if got == want and v.observation == r["observation"]:
                agree += 1
                counts += (v.positive, v.negative) == (int(r["positive"]), int(r["negative"]))
            else:
                differ.append(r["path"])
        dt = time.process_time() - c0
        total.update(tests=len(sel), agree=agree, counts=counts)
        label = f"{m} ({'enumerator' if how == 'enum' else 'cat'})"
        print(f"   {arch:7} {label:17}: {len(sel)} tests, {agree} agree (counts too: {counts}), "
              f"{len(differ)} differ; {dt:.2f} s of CPU")
        for p in differ[:10]:
            print(f"      differs: {p}")
        if herd and herd_cat.get(model):
            files = [DIY / r["path"] for r in sel]
            print(f"      herd7 `{model}`: " + _herd_line(dt, herd, lib, herd_cat[model], files))
    if not herd:
        print("   herd7 not found ($HERD7 or PATH): no time against herd7")
    print(f"   all: {total['tests']} verdicts, {total['agree']} agree, "
          f"{total['counts']} with the execution counts")
    tmp.cleanup()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the oracle set")
    ap.add_argument("--coverage", type=int, default=150, metavar="N",
                    help="tests per sampled set in the coverage figures (0: skip them)")
    ap.add_argument("--only-coverage", action="store_true", help="print only the coverage")
    ap.add_argument("--held-out", default="", metavar="all",
                    help="'all': every held-out test of herd-ext's @timely index in the coverage "
                         "(about an hour) instead of a sample of N 4-thread tests")
    ap.add_argument("--cat-only", action="store_true", help="only the cat path's figures")
    ap.add_argument("--diy-only", action="store_true",
                    help="only the diy-generated set's figures (agreement, time vs herd7)")
    ap.add_argument("--cat-sample", type=int, default=300,
                    help="oracle tests per architecture for the cat figures (0: all)")
    ap.add_argument("--sb-threads", default="6,7,8,12",
                    help="store-buffering sizes to time (e.g. 8,12,16; 16 takes minutes)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sb_threads.split(",") if x]
    if args.only_coverage:
        bench_coverage(args.coverage, args.held_out)
        return 0
    if args.diy_only:
        bench_diy()
        return 0
    if args.cat_only:
        bench_many_threads(sizes)
        bench_cat_wide()
        bench_cat_x86()
        bench_cat_oracle(args.cat_sample)
        bench_diy()
        return 0
    bench_oracle(args.repeat)
    bench_throughput(200, 4, 2, target=True)  # 4 threads, 8 instructions: the target figure
    bench_throughput(20, 4, 4)     # 4 threads x 4 instructions: heavier, for scale

    bench_campaigns()
    bench_many_threads(sizes)
    bench_cat_wide()
    bench_cat_x86()
    bench_cat_oracle(args.cat_sample)
    bench_diy()
    if args.coverage:
        bench_coverage(args.coverage, args.held_out)
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


def bench_coverage(n: int, held_out: str = "") -> None:
    from coherence.litmus.cycles import cycle_test, random_cycles
    print("== campaign coverage (default iterations) ==")
    if ORACLE.is_dir():
        _coverage([t for _p, t in load_suite([ORACLE / "tests"]) if not isinstance(t, str)],
                  "herd oracle tests")
    _coverage([t for _, t in load_suite([ROOT / "litmus" / "x86"]) if not isinstance(t, str)],
              "litmus/x86")
    ext = ROOT.parent / "shared" / "oracle" / "herd-ext" / "tests"
    if ext.is_dir() and held_out == "all":
        timely = ROOT.parent / "shared" / "oracle" / "herd-ext" / "@timely"
        files = [ext.parent / line.strip() for line in timely.read_text().splitlines()
                 if line.strip()]
        tests = [t for _p, t in load_suite(files) if not isinstance(t, str)]
        _coverage(tests, f"held-out tests (all {len(tests)} of herd-ext's @timely)")
    elif ext.is_dir():
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
