"""Compile every jitted kernel once, so that later commands start warm.

``coherence compile`` (and ``make run`` / ``make test``, which call it first) runs a tiny
input through each kernel in a few processes side by side (numba compiles one function at a
time, so a second core halves the wait); each kernel lands in numba's on-disk cache, where
every later process finds it.  When the kernels are cached already this only loads them.
"""

from __future__ import annotations

import subprocess
import sys
import time

#: The kernels by group; each group compiles in a process of its own.
GROUPS = {
    # the longest first, so that two at a time finish together
    "network": "the split bus's and the directory's kernel",
    "network-batch": "the split bus's and the directory's batch kernel (their campaigns)",
    "program": "the program kernel (coherence run)",
    "trace": "the trace kernel (run_trace on SC cores)",
    "batch": "the batch kernel (litmus campaigns)",
    "sched": "the scheduler simulator and explorer",
}


def compile_group(group: str) -> None:
    """Run a tiny input through the kernels of ``group`` (in this process)."""
    import numpy as np

    import coherence
    from coherence import SystemConfig
    prog = coherence.assemble(".data\nx: 0\n.core 0\n  st [x], 1\n  ld r1, [x]\n"
                              ".core 1\n  faa r2, [x], 1\n")
    if group == "program":
        coherence.run(prog, SystemConfig(cores=2))
        coherence.run(prog, SystemConfig(cores=2, model="tso"))
    elif group == "trace":
        w = [np.array([0, 1], np.uint8)] * 2
        a = [np.array([0, 64], np.int64)] * 2
        coherence.run_trace(w, a, SystemConfig(cores=2))
        coherence.run_trace(w, a, SystemConfig(cores=2, model="tso"))
    elif group == "batch":
        coherence.run_batch(prog, SystemConfig(cores=2), 2, observe=[("reg", 0, 1)])
    elif group == "network":
        # one kernel serves programs and traces on both interconnects
        coherence.run(prog, SystemConfig(cores=2, protocol="msi", interconnect="directory"))
    elif group == "network-batch":
        coherence.run_batch(prog, SystemConfig(cores=2, protocol="msi", interconnect="directory"),
                            2, observe=[("reg", 0, 1)])
    elif group == "sched":
        from coherence import sched
        sc = sched.loads('[scenario]\nname = "warm"\n[[thread]]\nname = "A"\n'
                         'ops = ["acquire L", "release L"]\n', "<warmup>")
        sched.simulate(sc)
        sched.explore(sc)
    else:
        raise ValueError(f"unknown kernel group {group!r}, expected one of {', '.join(GROUPS)}")


def compile_all(groups=tuple(GROUPS), jobs: int = 2, quiet: bool = False) -> float:
    """Compile (or load) every kernel of ``groups``, ``jobs`` processes at a time.  Returns the
    wall time in seconds."""
    t0 = time.perf_counter()
    pending = list(groups)
    running = []
    while pending or running:
        while pending and len(running) < jobs:
            g = pending.pop(0)
            cmd = [sys.executable, "-c",
                   f"from coherence.warmup import compile_group; compile_group({g!r})"]
            running.append((g, time.perf_counter(),
                            subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, text=True)))
        time.sleep(0.05)
        for item in [r for r in running if r[2].poll() is not None]:
            running.remove(item)
            g, started, proc = item
            err = proc.stderr.read()
            if proc.returncode != 0:
                raise RuntimeError(f"compiling {GROUPS[g]} failed:\n{err}")
            if not quiet:
                print(f"coherence: {GROUPS[g]} ready ({time.perf_counter() - started:.1f} s)",
                      file=sys.stderr)
    return time.perf_counter() - t0
