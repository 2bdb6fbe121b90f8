"""Record the engine's results as golden files (run once, before a refactor of the engine).

    python tests/golden/make_golden.py

Writes ``tests/golden/engine.json.gz``: every example program, a few hundred seeded random
programs and traces (every protocol, both memory models, check on and off, run-ahead on and
off), runs that end in a protocol error or an invariant violation, watched lines and batched
runs, each with its input and the result ``coherence.run`` / ``run_trace`` / ``run_batch``
gave.  ``tests/test_golden.py`` runs every case again and requires the same result: a
refactor of the engine changes nothing a user can see.

The inputs are generated here with numpy's seeded generator (not hypothesis, whose draws
change between versions) and stored with the results, so the test never regenerates them.
"""

from __future__ import annotations

import gzip
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import coherence  # noqa: E402
from cases import outcome  # noqa: E402

REGS = [f"r{i}" for i in range(8)]


def random_program(rng, max_cores=4, max_len=14, symbols=4):
    """Assembly text of a random terminating program (forward branches only)."""
    ncores = int(rng.integers(1, max_cores + 1))
    nsym = int(rng.integers(1, symbols + 1))
    names = [f"v{i}" for i in range(nsym)]
    lines = [".data"]
    rest = names
    if nsym > 1 and rng.random() < 0.5:
        k = int(rng.integers(2, nsym + 1))
        lines.append(".packed " + " ".join(f"{n}={int(rng.integers(0, 4))}" for n in names[:k]))
        rest = names[k:]
    for n in rest:
        lines.append(f"{n}: {int(rng.integers(0, 4))}")

    def reg():
        return REGS[int(rng.integers(len(REGS)))]

    def val():
        return reg() if rng.random() < 0.4 else str(int(rng.integers(-2, 10)))

    def mem():
        return f"[{names[int(rng.integers(nsym))]}]"

    kinds = ["ld", "ld", "st", "st", "xchg", "cas", "faa", "mfence", "alu", "mov", "br",
             "delay", "pause"]
    for c in range(ncores):
        lines.append(f".core {c}")
        n = int(rng.integers(0, max_len + 1))
        body = []
        for i in range(n):
            kind = kinds[int(rng.integers(len(kinds)))]
            if kind == "ld":
                body.append(f"ld {reg()}, {mem()}")
            elif kind == "st":
                body.append(f"st {mem()}, {val()}")
            elif kind == "xchg":
                body.append(f"xchg {reg()}, {mem()}, {val()}")
            elif kind == "cas":
                body.append(f"cas {reg()}, {mem()}, {val()}, {val()}")
            elif kind == "faa":
                body.append(f"faa {reg()}, {mem()}, {val()}")
            elif kind == "mfence":
                body.append("mfence")
            elif kind == "alu":
                op = ["add", "sub", "and", "or", "xor"][int(rng.integers(5))]
                body.append(f"{op} {reg()}, {reg()}, {val()}")
            elif kind == "mov":
                body.append(f"mov {reg()}, {val()}")
            elif kind == "br":
                op = ["beq", "bne", "blt", "bge", "jmp"][int(rng.integers(5))]
                target = f"L{c}_{int(rng.integers(i + 1, n + 1))}"
                body.append(f"jmp {target}" if op == "jmp" else f"{op} {reg()}, {val()}, {target}")
            elif kind == "delay":
                body.append(f"delay {int(rng.integers(0, 6))}")
            else:
                body.append("pause")
        body.append("halt")
        lines.extend(f"L{c}_{i}: {text}" for i, text in enumerate(body))
    return "\n".join(lines) + "\n"


def random_config(rng, protocols, ahead=False, cores=4, big=False):
    line = [8, 16, 64][int(rng.integers(3))]
    ways = [1, 2, 4][int(rng.integers(3))]
    sets = [1, 2][int(rng.integers(2))] if not big else 8
    cfg = dict(
        cores=cores, protocol=protocols[int(rng.integers(len(protocols)))],
        model=["sc", "tso"][int(rng.integers(2))], line_size=line, l1_ways=ways,
        l1_size=line * ways * sets, store_buffer=int(rng.integers(1, 5)),
        arbitration=["round-robin", "fixed", "random"][int(rng.integers(3))],
        hit_latency=int(rng.integers(1, 4)), bus_latency=int(rng.integers(1, 6)),
        mem_latency=int(rng.integers(1, 31)), c2c_latency=int(rng.integers(1, 16)),
        wb_latency=int(rng.integers(0, 11)), start_skew=int(rng.integers(0, 21)),
        jitter=int(rng.integers(0, 6)), drain_delay=int(rng.integers(0, 11)),
        issue_jitter=[0, 0, 3][int(rng.integers(3))],
        timeline_window=[0, 7, 50][int(rng.integers(3))],
        max_cycles=200_000, progress_window=0)
    if ahead:
        # Run-ahead needs cycles free of RNG draws; add the watchdog endings it stops short of.
        cfg.update(issue_jitter=0, drain_delay=0,
                   progress_window=[0, 0, 5, 30][int(rng.integers(4))],
                   max_cycles=[200_000, 200_000, 60, 400][int(rng.integers(4))])
    return cfg


def random_trace(rng, cores=4, max_len=60, lines=12, line_size=8):
    writes, addrs = [], []
    for _ in range(cores):
        n = int(rng.integers(0, max_len + 1))
        writes.append([int(x) for x in (rng.random(n) < 0.4)])
        addrs.append([int(x) * 8 for x in rng.integers(0, lines * line_size // 8, n)])
    return writes, addrs


def main():
    rng = np.random.default_rng(20261201)
    std = ["msi", "mesi", "moesi"]
    cases = []

    def add(case):
        case["expected"] = outcome(case)
        cases.append(case)

    # Every example, every protocol, both models, check on and off, two timings.
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if not name.endswith(".s"):
            continue
        text = open(os.path.join(ROOT, "examples", name)).read()
        cores = max(coherence.assemble(text, name).cores, 1)
        for proto in std:
            for model in ("sc", "tso"):
                for check in (False, True):
                    add(dict(kind="program", name=name, text=text, seed=1, check=check,
                             config=dict(cores=cores, protocol=proto, model=model)))
                add(dict(kind="program", name=name, text=text, seed=7, check=False,
                         config=dict(cores=cores, protocol=proto, model=model,
                                     arbitration="random", jitter=3, start_skew=10,
                                     drain_delay=4, timeline_window=200, l1_size=1024,
                                     l1_ways=2, line_size=32)))
    # Random programs: run-ahead off (noisy timing) and on; check on and off.
    for i in range(320):
        ahead = i % 2 == 1
        add(dict(kind="program", name=f"random-program-{i}", text=random_program(rng),
                 seed=int(rng.integers(0, 2**63)), check=bool(i % 4 >= 2),
                 config=random_config(rng, std, ahead=ahead)))
    # Random traces on tiny caches, and on bigger ones where the lean trace kernel's run-ahead,
    # look-ahead and snoop filter matter (with lines that share a snoop-filter bucket).
    for i in range(320):
        ahead = i % 2 == 1
        big = i % 4 == 3
        cfg = random_config(rng, std + (["mesi-silent-downgrade"] if big else []), ahead=ahead,
                            big=big)
        cfg["progress_window"] = cfg["progress_window"] or (0 if ahead else 50)
        writes, addrs = random_trace(rng, max_len=120 if big else 60, lines=40 if big else 12,
                                     line_size=cfg["line_size"] if big else 8)
        if big and i % 8 == 7:
            shift = 14 + cfg["line_size"].bit_length() - 1
            addrs = [[a + (((a >> 3) % 3) << shift) for a in row] for row in addrs]
        add(dict(kind="trace", name=f"random-trace-{i}", writes=writes, addrs=addrs,
                 seed=int(rng.integers(0, 1000)), check=bool(i % 3 == 2), config=cfg))
    # Runs that end in errors: an Impossible entry reached (programs and traces), and the
    # broken protocols' invariant violations under check=True.
    for i in range(40):
        cfg = random_config(rng, ["mesi-fragile"], ahead=True)
        cfg["max_cycles"] = 200_000
        add(dict(kind="program", name=f"fragile-program-{i}", text=random_program(rng),
                 seed=int(rng.integers(0, 2**63)), check=False, config=cfg))
        cfg = random_config(rng, ["mesi-fragile"], ahead=True, big=True)
        cfg["max_cycles"] = 200_000
        writes, addrs = random_trace(rng, max_len=80, lines=20)
        add(dict(kind="trace", name=f"fragile-trace-{i}", writes=writes, addrs=addrs,
                 seed=int(rng.integers(0, 1000)), check=False, config=cfg))
    for i in range(100):
        proto = ["mesi-busrdx-keeps-shared", "moesi-owner-dropped"][i % 2]
        cfg = random_config(rng, [proto])
        add(dict(kind="program", name=f"broken-{i}", text=random_program(rng, max_len=24),
                 seed=int(rng.integers(0, 2**63)), check=True, config=cfg))
    # Watched lines (the line-state log).
    for name in ("spinlock_ttas.s", "false_sharing.s", "producer_consumer.s"):
        text = open(os.path.join(ROOT, "examples", name)).read()
        prog = coherence.assemble(text, name)
        for proto in std:
            add(dict(kind="watch", name=name, text=text, seed=3, check=False,
                     watch=[s.name for s in prog.symbols][:2],
                     config=dict(cores=max(prog.cores, 1), protocol=proto, model="tso",
                                 drain_delay=2)))
    # Batched runs (litmus campaigns): SB and MP shapes, observed registers and memory.
    sb = (".data\nx: 0\ny: 0\n.core 0\n st [x], 1\n ld r1, [y]\n.core 1\n st [y], 1\n"
          " ld r1, [x]\n")
    mp = (".data\nx: 0\ny: 0\n.core 0\n st [x], 1\n st [y], 1\n.core 1\n ld r1, [y]\n"
          " ld r2, [x]\n")
    for text, obs in ((sb, [["reg", 0, 1], ["reg", 1, 1]]),
                      (mp, [["reg", 1, 1], ["reg", 1, 2], ["mem", "x"]])):
        for proto in std:
            for model in ("sc", "tso"):
                add(dict(kind="batch", name="batch", text=text, seed=11, check=model == "sc",
                         iterations=300, observe=obs,
                         config=dict(cores=2, protocol=proto, model=model, start_skew=12,
                                     jitter=3, drain_delay=5, issue_jitter=2,
                                     arbitration="random")))
    path = os.path.join(HERE, "engine.json.gz")
    with gzip.open(path, "wt") as f:
        json.dump(cases, f, separators=(",", ":"))
    kinds = {}
    for c in cases:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    errors = sum(1 for c in cases if "error" in c["expected"])
    print(f"wrote {path}: {len(cases)} cases {kinds}, {errors} ending in an error, "
          f"{os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
