"""The message interconnects' state (the split-transaction bus and the directory):
flat arrays at the Python boundary, bundles of them in the kernel; docs/machine.md, "Message
interconnects".

The cores, their registers, counters and store buffers are the atomic machine's bundles
(``_layout.Cores``, ``_layout.StoreBuffers``), and ``params`` starts with the atomic
machine's :data:`~._layout.PARAMS` (same indices), so that the cores' helpers of ``_core``
(decode, perform, retire, drain) run here unchanged.  What is new:

====== ============================================================================
m.pr   the protocol's compiled arrays: cache and home ``next``/``acts``/``event_of``/
       ``partition``, cache ``meaning``, ``msg_vnet``/``msg_data``, and per entry its
       flags (performs, sends, asserts shared; derived from ``acts``)
m.l1   the L1s: tags, states, LRU stamps and clocks, data, ack counters, ``mport``, the
       tag an ack counter belongs to (``otag``), the line's home index (``fh``)
m.home per line a record ``rec[h, HR_*]``: the home's state, owner, sharers (a bit-vector
       of 64-bit words), in one row so that a home's lookup touches one cache line.  A
       program's record h is its line, a trace's whose lines span few records (at most
       DIRECT_SPAN or four per access) ``line - home_base``; other traces' lines are
       numbered as they are first used
       (a hash table ``key`` -> ``val``, and ``lines[h]`` the line of record h): the kernel
       stops with STATUS_HGROW when it could run out of room, the driver grows the arrays
       and the kernel rehashes (``S_REHASH``) and resumes.  ``hold[h]`` (the split bus's
       filter): the caches whose frames hold the line
m.port the request ports (``Q_*``): waiting / outstanding, kind, address, line
m.msg  the message pool (``MF_*`` columns, data words), its free list, the messages in
       flight in (arrival, seq) order (the wheel: a FIFO per arrival cycle; for the far
       ones a heap, rows arrival, seq, slot), stall lists (per node, linked through the
       pool), bus queues (per cache, likewise), the wake list, ordered-network stamps,
       mesh links, the line checks deferred during a bus request's delivery, a send's
       destinations (``dests``); the split bus's filter: the caches with a stalled message
       (``stallv``), with a waiting port (``waitv``), all caches (``allv``), a bus request's
       caches to visit (``vis``)
m.net  the network's state (``NS_*``) and counters: messages by type, ``NET_STATS``,
       transitions, links' flits, timeline
m.log  the error record, and the logs of watched lines (``watch=``, programs): their
       messages (``mlog``: sent, arrives, type, source, destination, watched index) and the
       state changes of the entries taken (``slog``: cycle, node, state, watched index)
====== ============================================================================
"""

from __future__ import annotations

from collections import namedtuple


from .._jit import jit_inline, jit_leaf
from ._layout import PARAMS, Cores, StoreBuffers

Flat = namedtuple("Flat", [
    "params", "rng", "clock",
    "cnext", "cacts", "cevent", "cpart", "cmeaning", "cflags",
    "hnext", "hacts", "hevent", "hpart", "hflags", "msg_vnet", "msg_data", "ord_index", "skip",
    "code", "start", "length", "twrite", "taddr",
    "tags", "cst", "lru", "lruc", "cdata", "acks", "mport", "otag", "fh",
    "hrec", "hkey", "hval", "hlines", "hold",
    "core", "regs", "cstat", "mlat", "cnoise",
    "sb_addr", "sb_val", "sb_head", "sb_cnt", "drain_ready", "draining",
    "port", "active",
    "mf", "mdata", "free", "heap", "wheel", "wbits", "stall", "busq", "wake", "last", "lfree",
    "defer",
    "dests", "rx", "vis", "allv", "stallv", "waitv",
    "ns", "msgs", "nstat", "ctrans", "htrans", "links", "timeline",
    "mem", "golden", "err", "wlines", "mlog", "mlogn", "slog", "slogn",
])

NProto = namedtuple("NProto", "cnext cacts cevent cpart cmeaning cflags hnext hacts hevent "
                              "hpart hflags msg_vnet msg_data ord_index skip")
NProg = namedtuple("NProg", "code start length twrite taddr")
NL1 = namedtuple("NL1", "tags state lru clock data acks mport otag fh")
Home = namedtuple("Home", "rec key val lines hold")
Msgs = namedtuple("Msgs", "f data free heap wheel wbits stall busq wake last lfree defer dests "
                           "rx vis allv stallv waitv")
NNet = namedtuple("NNet", "s msgs stats ctrans htrans links timeline")
NMemory = namedtuple("NMemory", "words golden")
NLog = namedtuple("NLog", "err wlines mlog mlogn slog slogn")
NMachine = namedtuple("NMachine", "p rng clk pr prog l1 home cpu sb port active msg net mem log")


@jit_inline
def bundles(f):
    return NMachine(net_params_tuple(f.params), f.rng, f.clock,
                    NProto(f.cnext, f.cacts, f.cevent, f.cpart, f.cmeaning, f.cflags, f.hnext,
                           f.hacts, f.hevent, f.hpart, f.hflags, f.msg_vnet, f.msg_data,
                           f.ord_index, f.skip),
                    NProg(f.code, f.start, f.length, f.twrite, f.taddr),
                    NL1(f.tags, f.cst, f.lru, f.lruc, f.cdata, f.acks, f.mport, f.otag, f.fh),
                    Home(f.hrec, f.hkey, f.hval, f.hlines, f.hold),
                    Cores(f.core, f.regs, f.cstat, f.mlat, f.cnoise),
                    StoreBuffers(f.sb_addr, f.sb_val, f.sb_head, f.sb_cnt, f.drain_ready,
                                 f.draining),
                    f.port, f.active,
                    Msgs(f.mf, f.mdata, f.free, f.heap, f.wheel, f.wbits, f.stall, f.busq,
                         f.wake, f.last, f.lfree, f.defer, f.dests, f.rx, f.vis, f.allv,
                         f.stallv, f.waitv),
                    NNet(f.ns, f.msgs, f.nstat, f.ctrans, f.htrans, f.links, f.timeline),
                    NMemory(f.mem, f.golden),
                    NLog(f.err, f.wlines, f.mlog, f.mlogn, f.slog, f.slogn))


#: params[]: the atomic machine's PARAMS (same indices), then the network's.
NET_PARAMS = PARAMS + ("nodes", "interconnect", "mesh", "cols", "mshrs", "net_latency",
                       "hop_latency", "sharer_words", "line_size", "home_initial",
                       "capacity", "wake_capacity", "hash", "home_base", "filter",
                       "col_shift", "home_mask")
(NP_NODES, NP_KIND, NP_MESH, NP_COLS, NP_MSHRS, NP_NETLAT, NP_HOPLAT, NP_SWORDS, NP_LSIZE,
 NP_HINIT, NP_CAP, NP_WCAP, NP_HASH, NP_HBASE, NP_FILTER, NP_CSHIFT,
 NP_HMASK) = range(len(PARAMS), len(NET_PARAMS))
assert len(NET_PARAMS) == 43  # net_params_tuple names each entry
#: NP_CSHIFT: log2 of the mesh's columns, NP_HMASK: cores - 1, when a power of two (shifts
#: and masks for a node's column and row and a line's home slice, instead of divisions:
#: three per message), else -1.


@jit_leaf
def net_params_tuple(p):
    """The params array as a tuple of scalars, built once per kernel call (as
    _layout.params_tuple for the atomic bus's kernels)."""
    return (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9],
            p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19],
            p[20], p[21], p[22], p[23], p[24], p[25], p[26], p[27], p[28], p[29],
            p[30], p[31], p[32], p[33], p[34], p[35], p[36], p[37], p[38], p[39],
            p[40], p[41], p[42])


#: hrec[h, ...] columns (the sharers' words from HR_SHARERS on).  HR_OWNER holds the owner
#: plus one (0: none), so that a record of zeros is a line's first (no fill of a trace's
#: records, which can span millions of lines of which it uses a few).
HREC = ("state", "owner", "sharers")
HR_STATE, HR_OWNER, HR_SHARERS = range(len(HREC))
#: The kernel's own status besides _layout.STATUSES: the trace's home records need room.
STATUS_HGROW = 6
KINDS = ("split-bus", "directory")
KIND_SPLIT, KIND_DIR = range(len(KINDS))

#: cflags/hflags[state, event]: what an entry does (derived from the compiled acts).
#: FL_PLAIN: its one action is ``perform`` (a processor event's plain hit).
FL_PERFORM, FL_SEND, FL_SHARED, FL_PLAIN = 1, 2, 4, 8

#: port[p, ...]: a port's request.  Q_STATE: idle, waiting (for the line Q_WLINE's change,
#: or for an MSHR when it is -1) or outstanding (its miss's entry taken, until performed).
#: Q_HL: the line's index in the homes' arrays.
PORT = ("state", "kind", "addr", "time", "wline", "hl")
Q_STATE, Q_KIND, Q_ADDR, Q_TIME, Q_WLINE, Q_HL = range(len(PORT))
QS_IDLE, QS_WAIT, QS_OUT = range(3)

#: mf[slot, ...]: a message.  MF_DST -1: a bus request (broadcast to every node); MF_NEXT
#: links a slot in a stall list, a bus queue or a cycle of the wheel; MF_HL is the line's
#: index in the homes' arrays.
MFIELDS = ("type", "src", "dst", "req", "line", "acks", "seq", "arr", "next", "shared", "hl",
           "sent")
(MF_TYPE, MF_SRC, MF_DST, MF_REQ, MF_LINE, MF_ACKS, MF_SEQ, MF_ARR, MF_NEXT,
 MF_SHARED, MF_HL, MF_SENT) = range(len(MFIELDS))
BROADCAST = -1

#: ns[]: the network's scalars.
#: S_DEFER: a bus request is being delivered with check=True, its line checks wait in
#: ``defer`` (line, first cache), S_NDEFER of them.
#: S_NLINES: home records numbered (traces); S_REHASH: the hash table is to be rebuilt.
#: S_WHEELN: messages in the wheel (S_HEAPN: in the heap), S_WNEXT: the wheel's earliest
#: arrival (when S_WHEELN > 0).
NSTATE = ("seq", "bus_free", "rr", "heap_n", "free_n", "wake_head", "wake_tail", "queued",
          "stalled", "defer", "ndefer", "nlines", "rehash", "wheel_n", "wheel_next")
(S_SEQ, S_BUSFREE, S_RR, S_HEAPN, S_FREEN, S_WHEAD, S_WTAIL, S_QUEUED,
 S_STALLED, S_DEFER, S_NDEFER, S_NLINES, S_REHASH, S_WHEELN, S_WNEXT) = range(len(NSTATE))
#: The wheel of messages in flight: one FIFO (wheel[i] = head, tail) per arrival cycle i
#: (mod WHEEL), wbits its non-empty cycles; a message that arrives WHEEL cycles or more
#: after its send (or, were there latencies of 0, in the cycle of its send) goes to the heap.
WHEEL = 1024
WHEEL_WORDS = WHEEL // 64
#: stall[node, ...] and busq[cache, ...]: linked lists through MF_NEXT.
LIST = ("head", "tail", "count")
LS_HEAD, LS_TAIL, LS_COUNT = range(len(LIST))

#: err[]: the atomic machine's E_* columns, then the message being handled.
NERR = ("kind", "cycle", "core", "addr", "a", "b", "detail", "node", "mtype", "msrc", "mreq",
        "home")
(NE_NODE, NE_MTYPE, NE_MSRC, NE_MREQ, NE_HOME) = range(7, len(NERR))
#: Error kinds besides _layout.ERRORS (numbered after them).
ERR_DEADLOCK = 9
ERR_POOL = 10        # the message pool or the wake list is full: the driver runs again bigger
ERR_NOOWNER = 11     # a send to the owner with none recorded

#: Link directions of a mesh router (docs/machine.md: 4 * router + direction).
DIRS = ("+x", "-x", "+y", "-y")
