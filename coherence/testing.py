"""Hypothesis strategies for programs, traces and machine configs (public, for your tests).

Every generated program terminates (straight-line code with forward branches only), so it can
be run with ``check=True`` and compared with the reference model::

    from hypothesis import given
    from coherence.testing import programs, configs

    @given(programs(), configs())
    def test_my_protocol(program, config):
        coherence.run(program, config.replace(protocol=MY_PROTOCOL), check=True)
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .asm import assemble
from .config import SystemConfig
from .protocols import PROTOCOLS

__all__ = ["programs", "program_texts", "configs", "traces"]

_REGS = ("r1", "r2", "r3", "r4")


@st.composite
def program_texts(draw, max_cores: int = 4, max_len: int = 12, symbols: int = 4):
    """Assembly text of a random terminating program (see :func:`programs`)."""
    ncores = draw(st.integers(1, max_cores))
    nsym = draw(st.integers(1, symbols))
    names = [f"v{i}" for i in range(nsym)]
    packed = draw(st.booleans()) and nsym > 1
    lines = [".data"]
    if packed:
        k = draw(st.integers(2, nsym))
        lines.append(".packed " + " ".join(f"{n}={draw(st.integers(0, 3))}" for n in names[:k]))
        rest = names[k:]
    else:
        rest = names
    for n in rest:
        lines.append(f"{n}: {draw(st.integers(0, 3))}")
    reg = st.sampled_from(_REGS)
    val = st.one_of(st.integers(-2, 9).map(str), reg)
    mem = st.sampled_from(names).map(lambda n: f"[{n}]")
    for c in range(ncores):
        lines.append(f".core {c}")
        n = draw(st.integers(0, max_len))
        body = []
        for i in range(n):
            kind = draw(st.sampled_from(["ld", "ld", "st", "st", "xchg", "cas", "faa", "mfence",
                                         "alu", "mov", "br", "delay", "pause"]))
            if kind == "ld":
                body.append(f"ld {draw(reg)}, {draw(mem)}")
            elif kind == "st":
                body.append(f"st {draw(mem)}, {draw(val)}")
            elif kind == "xchg":
                body.append(f"xchg {draw(reg)}, {draw(mem)}, {draw(val)}")
            elif kind == "cas":
                body.append(f"cas {draw(reg)}, {draw(mem)}, {draw(val)}, {draw(val)}")
            elif kind == "faa":
                body.append(f"faa {draw(reg)}, {draw(mem)}, {draw(val)}")
            elif kind == "mfence":
                body.append("mfence")
            elif kind == "alu":
                op = draw(st.sampled_from(["add", "sub", "and", "or", "xor"]))
                body.append(f"{op} {draw(reg)}, {draw(reg)}, {draw(val)}")
            elif kind == "mov":
                body.append(f"mov {draw(reg)}, {draw(val)}")
            elif kind == "br":
                # Forward branches only, so every program terminates.
                op = draw(st.sampled_from(["beq", "bne", "blt", "bge", "jmp"]))
                target = f"L{c}_{draw(st.integers(i + 1, n))}"
                body.append(f"jmp {target}" if op == "jmp"
                            else f"{op} {draw(reg)}, {draw(val)}, {target}")
            elif kind == "delay":
                body.append(f"delay {draw(st.integers(0, 5))}")
            else:
                body.append("pause")
        body.append("halt")
        lines.extend(f"L{c}_{i}: {text}" for i, text in enumerate(body))
    return "\n".join(lines) + "\n"


def programs(**kw):
    """Random terminating :class:`~coherence.program.Program` objects (1..4 cores)."""
    return program_texts(**kw).map(lambda text: assemble(text, "<hypothesis>"))


@st.composite
def configs(draw, cores: int = 4, protocols=None, models=("sc", "tso"), small: bool = True):
    """Random machines: tiny caches (evictions happen), every protocol, both models,
    random latencies, arbitration and timing noise."""
    protos = list(protocols) if protocols is not None else list(PROTOCOLS)
    line = draw(st.sampled_from([8, 16, 64])) if small else 64
    ways = draw(st.sampled_from([1, 2, 4])) if small else 8
    sets = draw(st.sampled_from([1, 2])) if small else 64
    return SystemConfig(
        cores=cores, protocol=draw(st.sampled_from(protos)), model=draw(st.sampled_from(models)),
        line_size=line, l1_ways=ways, l1_size=line * ways * sets,
        store_buffer=draw(st.integers(1, 4)),
        arbitration=draw(st.sampled_from(["round-robin", "fixed", "random"])),
        hit_latency=draw(st.integers(1, 3)), bus_latency=draw(st.integers(1, 5)),
        mem_latency=draw(st.integers(1, 30)), c2c_latency=draw(st.integers(1, 15)),
        wb_latency=draw(st.integers(0, 10)), start_skew=draw(st.integers(0, 20)),
        jitter=draw(st.integers(0, 5)), drain_delay=draw(st.integers(0, 10)),
        timeline_window=draw(st.sampled_from([0, 7, 50])),
        max_cycles=200_000, progress_window=0)


@st.composite
def traces(draw, cores: int = 4, max_len: int = 60, lines: int = 12, line_size: int = 8):
    """(writes, addrs): one access trace per core over a few shared lines."""
    writes, addrs = [], []
    for _ in range(cores):
        n = draw(st.integers(0, max_len))
        w = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        a = draw(st.lists(st.integers(0, lines * line_size // 8 - 1), min_size=n, max_size=n))
        writes.append(np.array(w, dtype=np.uint8))
        addrs.append(np.array(a, dtype=np.int64) * 8)
    return writes, addrs
