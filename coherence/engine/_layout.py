"""The engine's state: flat arrays at the Python boundary, bundles of them in the kernels.

Every array of a machine is named once, in :data:`Flat` (the order in which the Python side
passes them and the kernels receive them as ``*flat``).  Inside a kernel they are grouped by
hardware unit into the bundles below, built once by :func:`bundles`, so that a helper takes
``(m, core, t)`` instead of dozens of arrays:

====== ============================================================================
m.p    ``params``: the configuration, a tuple of int64 scalars (``P_*``; params_tuple)
m.rng  the xorshift64* state (one uint64)
m.clk  the clock: current cycle, started flag, last progress (``CL_*``)
m.pr   the protocol: table, state meanings, hit table (``coherence.protocols.table``)
m.prog the instruction streams: a program's code, or a trace's write flags and addresses
m.l1   the private caches: tags, states, LRU stamps and clocks, data, look-ahead marks
m.cpu  the cores: state columns (``K_*``), registers, counters, miss latencies, and
       each core's own timing noise (``N_*``)
m.sb   the TSO store buffers (rings) and their drain units
m.net  the interconnect: request ports (``Q_*``), its state (``B_*``), counters,
       timeline, snoop filter
m.mem  memory and the golden copy (the latest value of every word in coherence order)
m.log  the error record (``E_*``), the logs of watched lines (state changes, and the
       transactions: MLOG_*), and how often each (state, event) entry was taken
====== ============================================================================

Codes the helpers return have names here too; the couplings between enumerations that the
hot paths rely on are asserted at the bottom, once.

Two kinds of helpers: the big hot ones take ``m`` and are inlined at numba's IR level
(``jit_inline``; numba inlines nothing across functions by itself), each at as few places as
possible because numba's inliner copies the callee's IR at every place; the small ones take
only the bundles they touch and are ordinary ``jit`` functions, which LLVM inlines into their
callers (a call with all of ``m`` flattened into arguments would cost more than the work).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._jit import jit_inline, jit_leaf, jit_typed
from ..protocols.table import EV_LOAD, EV_STORE
from ..stats import CS_LOADS, CS_STORES, LAT_BUCKETS

#: Every array of a machine, in boundary order.
Flat = namedtuple("Flat", [
    "params", "rng", "clock",
    "table", "meaning", "hit",
    "code", "start", "length", "twrite", "taddr",
    "tags", "cst", "lru", "lruc", "cdata", "look", "lookw", "touched", "ntouched",
    "core", "regs", "cstat", "mlat", "cnoise",
    "sb_addr", "sb_val", "sb_head", "sb_cnt", "drain_ready", "draining",
    "port", "bus", "bstat", "timeline", "sf",
    "mem", "golden",
    "err", "watch", "wlog", "wlogn", "tcount", "mlog", "mlogn",
])

Proto = namedtuple("Proto", "table meaning hit")
Prog = namedtuple("Prog", "code start length twrite taddr")
L1 = namedtuple("L1", "tags state lru clock data look lookw touched ntouched")
Cores = namedtuple("Cores", "k regs stats latency noise")
StoreBuffers = namedtuple("StoreBuffers", "addr val head count ready draining")
Net = namedtuple("Net", "port b stats timeline sf")
Memory = namedtuple("Memory", "words golden")
Log = namedtuple("Log", "err watch wlog wlogn transitions mlog mlogn")
Machine = namedtuple("Machine", "p rng clk pr prog l1 cpu sb net mem log")


@jit_inline
def bundles(f):
    """The bundles of one machine from its flat arrays (a Flat built from ``*flat``)."""
    return Machine(params_tuple(f.params), f.rng, f.clock,
                   Proto(f.table, f.meaning, f.hit),
                   Prog(f.code, f.start, f.length, f.twrite, f.taddr),
                   L1(f.tags, f.cst, f.lru, f.lruc, f.cdata, f.look, f.lookw, f.touched,
                      f.ntouched),
                   Cores(f.core, f.regs, f.cstat, f.mlat, f.cnoise),
                   StoreBuffers(f.sb_addr, f.sb_val, f.sb_head, f.sb_cnt, f.drain_ready,
                                f.draining),
                   Net(f.port, f.bus, f.bstat, f.timeline, f.sf),
                   Memory(f.mem, f.golden),
                   Log(f.err, f.watch, f.wlog, f.wlogn, f.tcount, f.mlog, f.mlogn))


#: params[] (the configuration, set by ``coherence.engine.Machine``).
PARAMS = ("cores", "sets", "ways", "line_shift", "words_per_line", "store_buffer",
          "arbitration", "hit_latency", "bus_latency", "mem_latency", "c2c_latency",
          "wb_latency", "start_skew", "jitter", "drain_delay", "max_cycles", "progress_window",
          "tso", "check", "track_data", "timeline_window", "trace", "issue_jitter", "full_stats",
          "hit_code", "slice")
(P_CORES, P_SETS, P_WAYS, P_LSHIFT, P_WPL, P_SB, P_ARB, P_HIT, P_BUSLAT, P_MEMLAT, P_C2CLAT,
 P_WBLAT, P_SKEW, P_JITTER, P_DRAIN, P_MAXCYC, P_WINDOW, P_TSO, P_CHECK, P_DATA, P_TLWIN,
 P_TRACE, P_IJIT, P_FULL, P_HITCODE, P_SLICE) = range(len(PARAMS))


@jit_leaf
def params_tuple(p):
    """The params array as a tuple of scalars, built once per kernel call: the compiler then
    keeps each parameter in a register or reads it from the stack, where a store to any of
    the machine's int64 arrays (which could alias the params array) would make it read the
    array again after every store."""
    return (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9],
            p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19],
            p[20], p[21], p[22], p[23], p[24], p[25])


assert len(PARAMS) == 26  # params_tuple names each entry
ARBITRATIONS = ("round-robin", "fixed", "random")
ARB_RR, ARB_FIXED, ARB_RANDOM = range(len(ARBITRATIONS))

#: clock[]: the cycle (kept so a kernel can stop and resume), whether the run has started,
#: the last cycle at which something made progress (the watchdog's reference).
CLOCK = ("t", "started", "last_progress")
CL_T, CL_STARTED, CL_LASTPROG = range(len(CLOCK))

#: core[c, ...] columns.  K_LOOK* is the trace run-ahead's look-ahead cursor (see
#: _trace.first_miss): LOOK_SCAN = no miss up to cycle K_LOOKT (next access K_LOOKPC),
#: LOOK_MISS = the first miss is at K_LOOKT (INF: none ever).
CORE = ("pc", "ready", "wait", "halted", "t_block", "look", "look_t", "look_pc")
K_PC, K_READY, K_WAIT, K_HALTED, K_TBLOCK, K_LOOK, K_LOOKT, K_LOOKPC = range(len(CORE))
LOOKS = ("none", "scan", "miss")
#: noise[c, ...] columns: core c's issue jitter and store-buffer drain delay (SystemConfig's
#: issue_jitter and drain_delay, which may differ per core).  params[P_IJIT] and [P_DRAIN]
#: hold their maxima (zero: no core has any).
NOISE = ("issue_jitter", "drain_delay")
N_IJIT, N_DRAIN = range(len(NOISE))
LOOK_NONE, LOOK_SCAN, LOOK_MISS = range(len(LOOKS))
WAITS = ("none", "bus", "sbfull", "drain")
W_NONE, W_BUS, W_SBFULL, W_DRAIN = range(len(WAITS))

#: port[p, ...] columns; two request ports per core: 2c = the core, 2c+1 = its drain unit.
#: Q_TIME: the cycle the request was posted; Q_WAY: the requester's frame holding the line
#: then (-1: none, WAY_UNKNOWN: not looked up), as the trace path saw it.  While a trace core
#: waits, no fill but its own puts a line in its cache, so at the grant -1 still holds and
#: a frame still holds the line unless a snoop invalidated it (its tag then differs).
PORT = ("pending", "kind", "addr", "time", "way")
Q_PEND, Q_KIND, Q_ADDR, Q_TIME, Q_WAY = range(len(PORT))
WAY_UNKNOWN = -2
KINDS = ("load", "store", "rmw")
KIND_LOAD, KIND_STORE, KIND_RMW = range(len(KINDS))
#: The protocol event of a request kind (an RMW uses the Store row).
EVENT_OF_KIND = np.array([EV_LOAD, EV_STORE, EV_STORE], dtype=np.int64)
EVENT_OF_KIND.setflags(write=False)

#: bus[]: the atomic bus's state.  B_WAY is the frame the transaction in flight filled (no
#: other grant can touch it before the completion, so it is not searched for again);
#: B_ACTION its bus action (an update's word goes to the other copies at the completion).
BUS = ("busy", "until", "port", "rr_pointer", "way", "pending", "action")
B_BUSY, B_UNTIL, B_PORT, B_RR, B_WAY, B_NPEND, B_ACTION = range(len(BUS))

#: err[]: what went wrong, where and when.
ERR = ("kind", "cycle", "core", "addr", "a", "b", "detail")
E_KIND, E_CYCLE, E_CORE, E_ADDR, E_A, E_B, E_DETAIL = range(len(ERR))
ERRORS = ("none", "protocol", "absent", "swmr", "owner", "data", "load_value", "address",
          "stuck")
(ERR_NONE, ERR_PROTOCOL, ERR_ABSENT, ERR_SWMR, ERR_OWNER, ERR_DATA, ERR_LOADVAL, ERR_ADDRESS,
 ERR_STUCK) = range(len(ERRORS))

#: A kernel's status (the first three are the statuses of a RunResult).
# timeline_full and paused are the kernels' own: the run resumes where it stopped (the clock
# is kept), after the timeline grows or after Python has had a chance to see an interrupt.
STATUSES = ("halted", "max_cycles", "no_progress", "error", "timeline_full", "paused")
(STATUS_HALTED, STATUS_MAXCYC, STATUS_NOPROG, STATUS_ERROR, STATUS_TLFULL,
 STATUS_PAUSED) = range(len(STATUSES))

#: What one arbitration step did.
GRANTS = ("none", "bus", "hit", "error")
GRANT_NONE, GRANT_BUS, GRANT_HIT, GRANT_ERROR = range(len(GRANTS))

#: An access looked up in the cache: a hit returns its way (>= 0), else one of these.
ATTEMPT_MISS = -1
ATTEMPT_ERROR = -2

#: latency[c, b]: core c's requests (its port and its drain unit's) that waited between
#: 2**(b-1) and 2**b - 1 cycles from posting to being performed (b = the latency's bit
#: length, 0 for none); latency[c, LAT_SUM] is the sum of those latencies.
LAT_SUM = LAT_BUCKETS

#: mlog[n, ...]: a transaction on a watched line (the message-sequence chart): its cycle, the
#: requesting core, the watched line's index, the bus action (MLOG_WRITEBACK: a victim's
#: write-back to memory), where the data came from (a core, MLOG_MEMORY, or MLOG_NO_DATA
#: for an address-only transaction) and the cycle it completes.
MLOG = ("t", "core", "line", "action", "source", "until")
MLOG_T, MLOG_CORE, MLOG_LINE, MLOG_ACTION, MLOG_SOURCE, MLOG_UNTIL = range(len(MLOG))
MLOG_WRITEBACK = 5
MLOG_MEMORY = -1
MLOG_NO_DATA = -2

#: A core's or the interconnect's "never".
INF = np.int64(1) << np.int64(62)
#: What core_run / trace_run return on an error (else the last cycle in which the core acted,
#: lo - 1 when it did not act, which is -1 when lo is 0).
ACT_ERROR = -INF

# The hot paths of traces turn a write flag (0/1) into an event, a request kind and a
# counter by adding it, and take one table row per event: these must stay adjacent.
assert EV_STORE == EV_LOAD + 1
assert KIND_STORE == KIND_LOAD + 1
assert CS_STORES == CS_LOADS + 1
assert EVENT_OF_KIND[KIND_LOAD] == EV_LOAD and EVENT_OF_KIND[KIND_STORE] == EV_STORE


# ------------------------------------------------------------------ small shared helpers

_U12 = np.uint64(12)
_U25 = np.uint64(25)
_U27 = np.uint64(27)
_UMUL = np.uint64(0x2545F4914F6CDD1D)


@jit_leaf
def next_random(rng):
    """xorshift64* (docs/machine.md, "RNG")."""
    x = rng[0]
    x ^= x >> _U12
    x ^= x << _U25
    x ^= x >> _U27
    rng[0] = x
    return x * _UMUL


@jit_leaf
def rand(rng, n):
    """Uniform in 0..n (no draw when n == 0)."""
    if n <= 0:
        return np.int64(0)
    return np.int64(next_random(rng) % np.uint64(n + 1))


@jit_leaf
def nonneg(x):
    """x, which the caller knows is not negative (a set mask, a trace index), so that the
    compiler knows it too and indexes with it without numba's wrap-around of negative
    indices (a shift, a mask and an add per index)."""
    return x & np.int64(0x3FFFFFFFFFFFFFFF)


@jit_leaf
def progress(clk, t):
    """Something made progress at cycle t (the watchdog's reference; ``clk`` is ``m.clk``).

    A maximum, not an assignment: run-ahead visits the cycles of one core after another, not
    in time order (in time order the two are the same)."""
    if t > clk[CL_LASTPROG]:
        clk[CL_LASTPROG] = t


@jit_typed("void(int64[::1], int64, int64, int64, int64, int64, int64, int64)")
def set_err(err, kind, t, c, addr, a, b, detail):
    """Record an error in ``err`` (``m.log.err``); the caller returns its error code up to
    the kernel."""
    err[E_KIND] = kind
    err[E_CYCLE] = t
    err[E_CORE] = c
    err[E_ADDR] = addr
    err[E_A] = a
    err[E_B] = b
    err[E_DETAIL] = detail
