"""One buffer for all of a machine's arrays, laid out so that their speed does not depend on
where the allocator happens to put them.

A load whose address has the same offset within a 4 KiB page as a store still in flight
waits for that store on x86 cores ("4K aliasing"), even when the two addresses differ.  The
hot loop stores to a frame's LRU stamp and loads the next frame's tag, stores a core's pc and
loads its registers, and so on: with arrays allocated one by one, some runs placed two of
them at the same page offset and ran at half speed (measured: 27 vs 52 M instructions/s on
the same program, from one process to the next).  Here every array starts on its own cache
line, one line further into the page than the previous array's end, in one page-aligned
buffer: the same layout in every run.

An array of zeros that a run touches only here and there (fill ``SPARSE``: a trace's home
records, one per line of the span its addresses cover) is a memory map of its own when it
has a MiB or more, at the same kind of offset into its first page.  In the buffer it would
be cleared at every run: once a big block has been freed, glibc serves the next ones of that
size from its heap (its mmap threshold rises up to 32 MiB) and has to clear them, which cost
a 64-core trace run with 25 MB of records 3 ms of its 80; a fresh map's pages are zeros the
kernel provides when they are first touched.  Not for an array a run touches all over (the
atomic bus's snoop filter): a page fault costs more than clearing the page.
"""

from __future__ import annotations

import math
import mmap

import numpy as np

_LINE = 64
_PAGE = 4096
_MAPPED = 1 << 20   # bytes from which a SPARSE array is a map of its own
#: the fill of an array of zeros that a run touches only here and there
SPARSE = "sparse"


def allocate(specs) -> dict:
    """``specs``: (name, shape, dtype, fill) tuples, fill a value or an array to copy (None
    or 0: zeros; ``SPARSE``: zeros, see above); returns {name: array}, the arrays being
    views of one buffer (C order), or a big SPARSE one of its own map."""
    places = []
    end = 0
    for i, (name, shape, dtype, fill) in enumerate(specs):
        size = math.prod(shape) * np.dtype(dtype).itemsize
        sparse = isinstance(fill, str)
        if sparse and fill != SPARSE:
            raise ValueError(f"arena: unknown fill {fill!r} of {name}")
        if sparse and size >= _MAPPED:
            places.append((None, size, _LINE * (1 + i % 7)))
            continue
        start = -(-end // _LINE) * _LINE + _LINE * (1 + i % 7)
        places.append((start, size, 0))
        end = start + size
    raw = np.zeros(end + _PAGE, dtype=np.uint8)
    base = (-raw.ctypes.data) % _PAGE
    out = {}
    for (name, shape, dtype, fill), (off, size, moff) in zip(specs, places):
        if off is None:
            # the array keeps its map alive (a numpy view holds its buffer)
            mapped = np.frombuffer(mmap.mmap(-1, moff + size), dtype=np.uint8)
            out[name] = mapped[moff:].view(dtype).reshape(shape)
            continue
        arr = raw[base + off:base + off + size].view(dtype).reshape(shape)
        zeros = fill is None or isinstance(fill, str) or (np.isscalar(fill) and fill == 0)
        if not zeros:
            arr[...] = fill
        out[name] = arr
    return out
