"""What a worker runs: a batch of sweep runs (a pure function of its arguments).

The same function runs in the embedded process pool, in a Dask worker and inline, so the
results cannot depend on where they were computed.  Assembled programs and generated traces
are cached per worker process (a batch's runs mostly share their workload).
"""

from __future__ import annotations

import time
from functools import lru_cache

from ..errors import CoherenceError, InvariantViolation


@lru_cache(maxsize=64)
def _program(label: str, text: str, cores_arg):
    from ..asm import assemble
    return assemble(text, label, cores=cores_arg)


_TRACES: dict = {}


def _generated(label: str, params: dict, cores: int):
    from .traces import generate
    key = (label, tuple(sorted(params.items())), cores)
    if key not in _TRACES:
        if len(_TRACES) > 16:
            _TRACES.clear()
        _TRACES[key] = generate(params, cores)
    return _TRACES[key]


def run_one(payload, run: dict, keep=None) -> dict:
    """The result columns of one run (``status``, ``cycles``, ``error`` and the stats)."""
    from ..config import SystemConfig
    from ..engine import run as run_program, run_trace
    from .runset import error_row, result_row
    kind, label, data = payload
    try:
        cfg = SystemConfig(**run["config"])
        if kind == "program":
            prog = _program(label, data, run["cores_arg"])
            result = run_program(prog, cfg, seed=run["seed"], check=run["check"])
        else:
            writes, addrs = data if kind == "trace" else _generated(label, data, cfg.cores)
            result = run_trace(writes, addrs, cfg, seed=run["seed"], check=run["check"])
    except (CoherenceError, InvariantViolation) as exc:
        return error_row(exc)
    return result_row(result, keep)


def run_batch(payloads: dict, runs: list, keep=None):
    """Run a batch: ``(list of (run id, result columns), seconds each run took)`` (the times
    measure the executor's overhead; they are not part of the results)."""
    out, seconds = [], []
    for r in runs:
        t0 = time.perf_counter()
        row = run_one(payloads[r["w"]], r, keep)
        seconds.append(time.perf_counter() - t0)
        out.append((r["id"], row))
    return out, seconds
