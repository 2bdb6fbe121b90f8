"""coherence: a multicore cache-coherence and memory-consistency emulator.

Quick start::

    import coherence
    prog = coherence.load_program("examples/spinlock_ttas.s")
    result = coherence.run(prog, coherence.SystemConfig(cores=4, protocol="moesi"))
    print(result.cycles, result.stats["bus"])
"""

from .asm import assemble, load_program
from .config import SystemConfig
from .engine import run, run_batch, run_trace
from .errors import CoherenceError, InvariantViolation, ProtocolError
from .program import Program
from .protocols import MESI, MOESI, MSI, Impossible, Protocol, T, Transition, get_protocol
from .stats import RunResult

__version__ = "0.1.0"

__all__ = ["assemble", "load_program", "SystemConfig", "run", "run_trace", "run_batch",
           "CoherenceError", "InvariantViolation", "ProtocolError", "Program", "Protocol",
           "Transition", "Impossible", "T", "MSI", "MESI", "MOESI", "get_protocol", "RunResult"]
