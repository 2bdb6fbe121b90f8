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
"""

from __future__ import annotations

import math

import numpy as np

_LINE = 64
_PAGE = 4096


def allocate(specs) -> dict:
    """``specs``: (name, shape, dtype, fill) tuples, fill a value or an array to copy (None
    or 0: zeros); returns {name: array}, the arrays being views of one buffer (C order)."""
    places = []
    end = 0
    for i, (_, shape, dtype, _) in enumerate(specs):
        start = -(-end // _LINE) * _LINE + _LINE * (1 + i % 7)
        size = math.prod(shape) * np.dtype(dtype).itemsize
        places.append((start, size))
        end = start + size
    raw = np.zeros(end + _PAGE, dtype=np.uint8)
    base = (-raw.ctypes.data) % _PAGE
    out = {}
    for (name, shape, dtype, fill), (off, size) in zip(specs, places):
        arr = raw[base + off:base + off + size].view(dtype).reshape(shape)
        if fill is not None and (not np.isscalar(fill) or fill != 0):
            arr[...] = fill
        out[name] = arr
    return out
