"""The invariants (``check=True``) and the coherent view of memory; docs/machine.md.

Both read what the protocol says its states mean (``m.pr.meaning``), never a state's name.
"""

from __future__ import annotations

from .._jit import jit_helper, jit_inline
from ..protocols.table import M_DIRTY, M_OWNER, M_READ, M_WRITE
from ._cache import find
from ._layout import nonneg
from ._layout import (ERR_DATA, ERR_OWNER, ERR_SWMR, P_CORES, P_DATA, P_LSHIFT, P_SETS, P_WAYS,
                      P_WPL, set_err)


@jit_helper
def check_line(p, pr, l1, mem, log, line, s, t, c):
    """After a transaction for ``line`` (set s) granted to core c at cycle t, in the order of
    docs/machine.md: single writer or many readers, at most one owner, every copy (and memory
    when no copy is dirty) holding the latest value of each word.  Returns False after
    recording the first violation.  Called, not inlined: it runs only with check=True."""
    meaning = pr.meaning
    ways = p[P_WAYS]
    wpl = p[P_WPL]
    writers = 0
    readers = 0
    owners = 0
    dirty = 0
    for c2 in range(p[P_CORES]):
        w2 = find(l1, c2, s, line, ways)
        if w2 >= 0:
            st = l1.state[c2, s, w2]
            writers += meaning[st, M_WRITE]
            readers += meaning[st, M_READ]
            owners += meaning[st, M_OWNER]
            dirty += meaning[st, M_DIRTY]
    if writers > 1 or (writers == 1 and readers > 1):
        set_err(log.err, ERR_SWMR, t, c, line << p[P_LSHIFT], writers, readers, 0)
        return False
    if owners > 1:
        set_err(log.err, ERR_OWNER, t, c, line << p[P_LSHIFT], owners, readers, 0)
        return False
    if p[P_DATA] == 0:
        return True
    golden = mem.golden
    base = line * wpl
    for c2 in range(p[P_CORES]):
        w2 = find(l1, c2, s, line, ways)
        if w2 >= 0:
            for k in range(wpl):
                if base + k < golden.shape[0] and l1.data[c2, s, w2, k] != golden[base + k]:
                    set_err(log.err, ERR_DATA, t, c2, (base + k) << 3, l1.data[c2, s, w2, k],
                            golden[base + k], 0)
                    return False
    if dirty == 0:
        for k in range(wpl):
            if base + k < golden.shape[0] and mem.words[base + k] != golden[base + k]:
                set_err(log.err, ERR_DATA, t, -1, (base + k) << 3, mem.words[base + k],
                        golden[base + k], 0)
                return False
    return True


@jit_inline
def coherent_word(m, word):
    """The value of a word as the system sees it: the first dirty copy's, else memory's."""
    wpl = m.p[P_WPL]
    line = word // wpl
    s = line & nonneg(m.p[P_SETS] - 1)
    for c in range(m.p[P_CORES]):
        w = find(m.l1, c, s, line, m.p[P_WAYS])
        if w >= 0 and m.pr.meaning[m.l1.state[c, s, w], M_DIRTY] != 0:
            return m.l1.data[c, s, w, word % wpl]
    return m.mem.words[word]


@jit_inline
def coherent_memory(m, out):
    """Memory overwritten by the data of every dirty copy (cores in order)."""
    mem = m.mem.words
    for k in range(mem.shape[0]):
        out[k] = mem[k]
    wpl = m.p[P_WPL]
    l1 = m.l1
    for c in range(m.p[P_CORES]):
        for s in range(m.p[P_SETS]):
            for w in range(m.p[P_WAYS]):
                if m.pr.meaning[l1.state[c, s, w], M_DIRTY] != 0:
                    base = l1.tags[c, s, w] * wpl
                    for k in range(wpl):
                        if base + k < out.shape[0]:
                            out[base + k] = l1.data[c, s, w, k]
