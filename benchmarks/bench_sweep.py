"""Sweeps and campaigns on executors: figures (printed; not a test).

    python benchmarks/bench_sweep.py [--quick]

1. A ~400-run sweep (the TTAS spinlock and the false-sharing programs x MSI/MESI/MOESI x
   cores 1..16 x 4 seeds, with timing jitter) in one process (inline) and on a Dask
   LocalCluster of 2 workers (started and warmed up first; its start-up is printed apart).
   Target: >= 1.7x on a 2-core machine.  Identical tables are asserted.
2. The executor's overhead per run (scheduling, shipping, result writing): (wall x workers -
   time inside the runs) / runs, against the median run's time.  Target: <= 5%.
3. SB at 10^7 iterations (10^6 with --quick) in chunks on 2 workers vs 1.  Target: >= 1.7x,
   identical histograms (asserted).
4. Resume: the sweep interrupted at 50%, then run again: the runs each pass computed.

First a control: two plain CPU-bound processes at once against one after another, which is
~2x on an idle 2-core machine; on a machine shared with other work it says how much of the
figures above is left to read (the speed-ups cannot beat it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import coherence  # noqa: E402


def programs(tmp: str) -> list[str]:
    """The two example programs with 10x their loop counts (a median run of some ms, not the
    examples' 1-2 ms, so that the runs, not the fixed costs, are measured)."""
    out = []
    for name, old, new in (("spinlock_ttas.s", "li   r10, 100 ", "li   r10, 1000 "),
                           ("false_sharing.s", "li   r10, 1000", "li   r10, 10000")):
        text = (ROOT / "examples" / name).read_text()
        assert old in text, name
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text.replace(old, new))
        out.append(path)
    return out


PROGRAMS: list = []


def spec(seeds: int) -> dict:
    return {"sweep": {"programs": PROGRAMS},
            "config": {"jitter": 4, "start_skew": 20},
            "axes": {"protocol": ["msi", "mesi", "moesi"], "cores": list(range(1, 17)),
                     "seed": list(range(seeds))}}


def bench_sweep(client, tmp, seeds):
    import pandas as pd
    s = spec(seeds)
    t0 = time.perf_counter()
    inline = coherence.sweep(s, jobs=1, out=os.path.join(tmp, "inline"))
    t_inline = time.perf_counter() - t0
    t0 = time.perf_counter()
    dask = coherence.sweep(s, client=client, out=os.path.join(tmp, "dask"))
    t_dask = time.perf_counter() - t0
    pd.testing.assert_frame_equal(inline, dask)
    a, d = inline.attrs["summary"], dask.attrs["summary"]
    print(f"== 1. sweep of {a['runs']} runs ({a['errors']} impossible combinations, "
          f"{a['runs'] - a['errors']} computed), identical tables ==")
    print(f"   inline, 1 process        : {t_inline:7.2f} s")
    print(f"   LocalCluster, {d['workers']} workers  : {t_dask:7.2f} s   "
          f"({d['tasks']} tasks)  speed-up {t_inline / t_dask:4.2f}x (target >= 1.7x)")
    print(f"   (of which expanding the run set and reading the table back: inline "
          f"{t_inline - a['execute_wall']:.2f} s, cluster {t_dask - d['execute_wall']:.2f} s)")
    print("== 2. executor overhead per run (scheduling, shipping, idle tail, result writing) ==")
    for name, summ, workers in (("inline", a, 1), ("LocalCluster", d, d["workers"])):
        n = summ["runs"] - summ["errors"]
        per_run = (summ["execute_wall"] * workers - summ["busy"]) / max(n, 1)
        print(f"   {name:13}: {1e3 * per_run:7.3f} ms per run, median run "
              f"{1e3 * summ['run_median']:7.3f} ms -> {100 * per_run / summ['run_median']:5.1f}%"
              f" (target <= 5%)")


def bench_campaign(client1, client2, iterations, show=True):
    from coherence.litmus import parse_file
    from coherence.litmus.campaign import merge_chunks, plan_chunks
    from coherence.litmus.distributed import litmus_task
    from coherence.litmus.enumerate import enumerate_states
    from coherence.sweep.executors import DaskExecutor
    t = parse_file(ROOT / "litmus" / "x86" / "SB.litmus")
    verdicts = {m: enumerate_states(t, m) for m in ("sc", "tso")}
    tasks = [("chunk", t, "tso", "mesi", k, n, 0, None, {}) for k, n in plan_chunks(iterations)]
    out = {}
    for label, client in (("1 worker", client1), ("2 workers", client2)):
        ex = DaskExecutor(client)
        t0 = time.perf_counter()
        chunks = [r for _i, r in ex.map(litmus_task, tasks)]
        wall = time.perf_counter() - t0
        assert not any(isinstance(r, BaseException) for r in chunks)
        c = merge_chunks(t, "tso", "mesi", 0, chunks, verdicts)
        out[label] = (wall, c.histogram)
    (w1, h1), (w2, h2) = out["1 worker"], out["2 workers"]
    assert h1 == h2, "the histograms differ"
    if not show:
        return
    print(f"== 3. SB campaign, {iterations:,} iterations in {len(tasks)} chunks, identical "
          f"histograms ==")
    print(f"   1 worker : {w1:7.2f} s  ({iterations / w1 / 1e6:5.2f} M iterations/s)")
    print(f"   2 workers: {w2:7.2f} s  speed-up {w1 / w2:4.2f}x (target >= 1.7x)")


def bench_resume(tmp, seeds):
    s = spec(seeds)
    out = os.path.join(tmp, "resume")
    total = []

    def stop_half(done, n):
        total.append(n)
        if done >= n // 2:
            raise KeyboardInterrupt

    try:
        coherence.sweep(s, jobs=1, out=out, callback=stop_half)
    except KeyboardInterrupt:
        pass
    first = len(coherence.sweep.load(out))
    again = coherence.sweep(s, jobs=1, out=out).attrs["summary"]
    print("== 4. resume after an interruption at 50% ==")
    print(f"   first run : {first} of {again['runs']} runs done before the interruption")
    print(f"   second run: {again['skipped']} already done, {again['computed']} computed "
          f"(together {again['skipped'] + again['computed']}, no duplicates: "
          f"{len(coherence.sweep.load(out))} rows)")


def _spin(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t0


def bench_machine(n: int = 5_000_000) -> None:
    import multiprocessing
    t0 = time.perf_counter()
    _spin(n)
    _spin(n)
    serial = time.perf_counter() - t0
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # started
        t0 = time.perf_counter()
        pool.map(_spin, [n, n])
        parallel = time.perf_counter() - t0
    print(f"== 0. control: two CPU-bound processes at once run {serial / parallel:4.2f}x as fast "
          f"as one after another (about 2x on an idle 2-core machine) ==")


def _warm_up():
    """Load the program and batch kernels (a worker's first task would, otherwise)."""
    from coherence.litmus import parse_file
    from coherence.litmus.campaign import run_chunk
    prog = coherence.load_program(ROOT / "examples" / "spinlock_ttas.s", cores=2)
    coherence.run(prog, coherence.SystemConfig(cores=2))
    run_chunk(parse_file(ROOT / "litmus" / "x86" / "SB.litmus"), "tso", "mesi", 0, 1000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer seeds, 10^6 iterations")
    args = ap.parse_args()
    import distributed
    logging.getLogger("distributed").setLevel(logging.ERROR)  # no INFO lines at close
    seeds = 2 if args.quick else 4
    iterations = 10**6 if args.quick else 10**7
    bench_machine()
    t0 = time.perf_counter()
    clusters = [distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=logging.ERROR)
                for n in (1, 2)]
    clients = [distributed.Client(c) for c in clusters]
    print(f"(two LocalClusters, 1 and 2 workers, started in {time.perf_counter() - t0:.1f} s)")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            PROGRAMS[:] = programs(tmp)
            # Warm up: every worker (and this process) loads the kernels from numba's cache.
            for c in clients:
                c.run(_warm_up)
            _warm_up()
            bench_sweep(clients[1], tmp, seeds)
            bench_campaign(clients[0], clients[1], iterations)
            bench_resume(tmp, seeds)
    finally:
        for c in clients:
            c.close()
        for c in clusters:
            c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
