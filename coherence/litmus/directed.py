"""Directed batches for emulator campaigns: timing aimed at each state the model allows.

Random timing (the batch plan of :mod:`.campaign`) finds most allowed states quickly, but a
state whose only executions need several rare timings at once (one store buffer holding a
store while three other threads each run a chain of accesses, with a pause at one exact
place) can stay unseen for millions of iterations.  Yet the exhaustive enumerator knows an
execution of every allowed state.  So for each state, a directed batch takes one such
execution (:func:`~.enumerate.witness_paths`: the global steps in order, a thread's access
or the drain of its oldest buffered store), spreads its steps ``GAP`` cycles apart, and
turns that schedule into timing knobs the machine already has:

- ``delay`` instructions before each thread's accesses, so that the access issues when its
  step is due (fast latencies keep an access short against the gap);
- on TSO cores, each core's drain delay, so that its buffered stores tend to drain when
  their steps are due (the drain delay is random, so a batch of iterations tries many).

Only the timing is directed: the test's instructions and values are untouched and the
machine decides what happens, so a directed batch can no more show a forbidden state than a
random one (both are counted the same way).  Before it is used, each path is made to drain
stores as early as it can (:func:`_drains_early`, checked by replaying it), which shortens
the holds the drain delays must hit.
"""

from __future__ import annotations

from .enumerate import MEMORY_KINDS, STORE_KIND, witness_paths
from .ir import LitmusTest

GAP = 40               # cycles between two steps of a witness
ACCESS = 4             # cycles an access takes on the directed batches' fast latencies
PER_STATE = 24         # iterations of a state's batch at least ...
MAX_PER_STATE = 400    # ... and at most (a schedule that rarely works gets more)
MAX_STATES = 2048      # directed states per campaign chunk at most (the first in order)
SHARE = 0.5            # of a chunk's iterations at most (a test with many states)
MARGIN = 12            # a batch's iterations times its chance of following the schedule
MAX_MACHINE_STATES = 100_000   # larger tests go without directed batches

_CACHE: dict = {}


def memory_instructions(text: str):
    """Per core of an assembly text from :func:`~.compile.to_asm`: the index (counting the
    core's instruction lines from 0, as :func:`~.campaign.with_pauses` does) of each
    instruction that accesses memory; None when some core has a label (a loop or branch:
    its accesses do not run in one straight order)."""
    cores: list = []
    k = 0
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(".core"):
            cores.append([])
            k = 0
        elif cores and s and not s.startswith(";"):
            if not line.startswith(" "):
                return None  # a label
            if "[" in s:
                cores[-1].append(k)
            k += 1
    return cores


def _replay(prog, path):
    """The final state a path of steps reaches (or None when a step cannot be taken)."""
    st = prog.init_state()
    for step in path:
        labels: list = []
        succ = prog.successors(st, labels)
        try:
            st = succ[labels.index(step)]
        except ValueError:
            return None
    return st if prog.is_final(st) else None


def _drains_early(prog, path):
    """The path with each drain moved as early as it goes while the path still reaches
    the same final machine state (a drain moved before another thread's access to its
    location would change what that access sees: the replay rejects such a move)."""
    final = _replay(prog, path)
    path = list(path)
    for i in range(1, len(path)):
        if path[i][1] != -1:
            continue
        j = i
        while j > 0 and path[j - 1] != path[j]:   # never past its own earlier drain (FIFO)
            trial = path[:j - 1] + [path[j], path[j - 1]] + path[j + 1:]
            if _replay(prog, trial) != final:
                break
            path = trial
            j -= 1
    return path


def schedule(prog, path, mem_asm):
    """``(pauses, drain_delays, chance)`` of one witness path: ``{(thread, instruction
    index): cycles}`` for :func:`~.campaign.with_pauses` (index -1: before the first
    instruction), each core's drain delay (0 where its stores need no hold) and an estimate
    of the chance that one iteration follows the path; None when the program's accesses do
    not match the assembly's.

    Step i of the path is due at ``GAP * (i + 1)``.  A thread's access waits (a pause) until
    its step is due.  A buffered store (TSO) whose drain comes before the thread's next own
    step is simply issued when its drain is due, with the buffer empty, so it drains at
    once; only a store that must stay buffered while its thread goes on (the TSO
    relaxation) needs a hold, from the core's random drain delay."""
    n = len(prog.code)
    pcs = []
    for t in range(n):
        pcs.append([pc for pc, op in enumerate(prog.code[t]) if op[0] in MEMORY_KINDS])
        if len(pcs[t]) != len(mem_asm[t]):
            return None
    step_of = [dict() for _ in range(n)]    # memory access index -> its step's index
    drains: list = [[] for _ in range(n)]   # per thread: the steps of its drains, in order
    for i, (t, pc) in enumerate(path):
        if pc == -1:
            drains[t].append(i)
        elif pc in pcs[t]:
            step_of[t][pcs[t].index(pc)] = i
    pauses = {}
    delays = []
    chance = 1.0
    for t in range(n):
        now = 0
        last = 0          # when the buffer's previous store drains
        waits = []        # the holds the drain delay must cover
        nd = 0
        for k, pc in enumerate(pcs[t]):
            i = step_of[t].get(k)
            if i is not None and GAP * (i + 1) > now:
                pauses[(t, mem_asm[t][k] - 1)] = GAP * (i + 1) - now
                now = GAP * (i + 1)
            if prog.tso and prog.code[t][pc][0] == STORE_KIND and nd < len(drains[t]):
                d = drains[t][nd]
                nd += 1
                later = [j for kk, j in step_of[t].items() if kk > k]
                due = GAP * (d + 1)
                if last <= now and (not later or d < min(later)):
                    if due - 1 > now:
                        pauses[(t, mem_asm[t][k] - 1)] = (pauses.get((t, mem_asm[t][k] - 1), 0)
                                                          + due - 1 - now)
                        now = due - 1
                    last = now + ACCESS
                else:
                    ready = max(now, last)
                    if ready < GAP * d:
                        waits.append(due - ready)
                    last = due
            now += ACCESS
        delay = max(waits) + GAP if waits else 0
        if delay:
            for _ in range(nd):
                chance *= min(1.0, 2 * GAP / delay)
        delays.append(int(delay))
    return pauses, tuple(delays), chance


def directed_schedules(test: LitmusTest, model: str, text: str):
    """Every allowed state's schedule (:func:`schedule`), in the enumerator's order of the
    states found; [] when the test has none (a loop, too many machine states, accesses
    that do not match).  Cached: a campaign's chunks ask for the same test again."""
    key = (test.path, test.name, model, text)
    if key in _CACHE:
        return _CACHE[key]
    out = []
    mem_asm = memory_instructions(text)
    found = witness_paths(test, model, MAX_MACHINE_STATES) if mem_asm is not None else None
    if found is not None and len(mem_asm) == len(found[0].code):
        prog, paths = found
        for path in paths.values():
            s = schedule(prog, _drains_early(prog, path), mem_asm)
            if s is None:
                out = []
                break
            out.append(s)
    if len(_CACHE) > 512:
        _CACHE.clear()
    _CACHE[key] = out
    return out
