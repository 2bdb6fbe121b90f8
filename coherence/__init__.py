"""coherence: a multicore cache-coherence and memory-consistency emulator.

Quick start::

    import coherence
    prog = coherence.load_program("examples/spinlock_ttas.s")
    result = coherence.run(prog, coherence.SystemConfig(cores=4, protocol="moesi"))
    print(result.cycles, result.stats["bus"])
    df = coherence.sweep("study.toml")          # a design-space sweep (docs/sweep.md)

The public names below are imported on first use (PEP 562 ``__getattr__``): the engine pulls in
numpy and numba, about 0.3 s per process, and ``coherence --help`` or ``import coherence.cli``
must not pay for it.  ``from coherence import X``, ``coherence.X`` and ``dir(coherence)`` behave
as if everything had been imported up front.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> the submodule that defines it.
_EXPORTS = {
    "assemble": "asm", "load_program": "asm",
    "SystemConfig": "config",
    "run": "engine", "run_trace": "engine", "run_batch": "engine",
    "CoherenceError": "errors", "InvariantViolation": "errors", "ProtocolError": "errors",
    "Program": "program",
    "Protocol": "protocols", "Transition": "protocols", "Impossible": "protocols",
    "T": "protocols", "MSI": "protocols", "MESI": "protocols", "MOESI": "protocols",
    "get_protocol": "protocols",
    "RunResult": "stats",
}

# Submodules that the eager ``import coherence`` of old loaded as a side effect, so code may
# reach them as ``coherence.engine`` without importing them; others stay AttributeErrors as
# before (``coherence.testing`` would drag hypothesis into any ``hasattr`` probe).
_SUBMODULES = ("asm", "config", "engine", "errors", "isa", "program", "protocols", "stats",
               "sweep")

__all__ = ["assemble", "load_program", "SystemConfig", "run", "run_trace", "run_batch",
           "CoherenceError", "InvariantViolation", "ProtocolError", "Program", "Protocol",
           "Transition", "Impossible", "T", "MSI", "MESI", "MOESI", "get_protocol", "RunResult",
           "sweep"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
