"""Validation of an access trace's arrays, shared by the engine's and the reference's
``run_trace`` so that both accept exactly the same traces and read them the same way."""

from __future__ import annotations

import numpy as np

from .errors import CoherenceError

#: The largest byte address of a trace (addresses are int64 inside both models).
TRACE_MAX_ADDRESS = (1 << 63) - 1


def write_flags(w, core: int) -> np.ndarray:
    """Core ``core``'s write flags as uint8 0/1.

    Exactly 0 or 1 (bool, integers, or floats holding 0.0/1.0); anything else is an error:
    256 would wrap to 0 in a uint8, and 0.5 is false for one model and true for another."""
    w = np.asarray(w)
    if w.ndim != 1:
        raise CoherenceError(f"run_trace: core {core}: write flags must be a 1-D array, got "
                             f"shape {w.shape}")
    if len(w) == 0:
        return np.zeros(0, np.uint8)
    if w.dtype == np.bool_:
        return w.astype(np.uint8)
    if w.dtype.kind not in "iuf":
        raise CoherenceError(f"run_trace: core {core}: write flags must be bool or 0/1, got "
                             f"dtype {w.dtype}")
    # integers: one or two reductions say whether all are 0/1 (the elementwise test only
    # to find the first bad one)
    if w.dtype.kind == "f" or (w.dtype.kind == "i" and w.min() < 0) or w.max() > 1:
        bad = (w != 0) & (w != 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise CoherenceError(f"run_trace: core {core}: write flag {w[i].item()!r} at "
                                 f"index {i}, expected 0 (load) or 1 (store)")
    return w.astype(np.uint8, copy=False)


def addresses(a, core: int) -> np.ndarray:
    """Core ``core``'s byte addresses as int64: integers in 0..2**63-1 (a uint64 of 2**63 or
    more would wrap to a negative int64), else an error."""
    a = np.asarray(a)
    if a.ndim != 1:
        raise CoherenceError(f"run_trace: core {core}: addresses must be a 1-D array, got "
                             f"shape {a.shape}")
    if len(a) == 0:
        return np.zeros(0, np.int64)
    if a.dtype == object and all(type(x) is int for x in a):  # Python ints beyond 64 bits
        for i, x in enumerate(a):
            if not 0 <= x <= TRACE_MAX_ADDRESS:
                raise CoherenceError(f"run_trace: core {core}: address {x} at index {i}, "
                                     f"expected byte addresses in 0..2**63-1")
        return a.astype(np.int64)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise CoherenceError(f"run_trace: core {core}: addresses must be integers, got "
                             f"{a.dtype}")
    if a.dtype.kind == "u" and a.max() > TRACE_MAX_ADDRESS:
        i = int(a.argmax())
        raise CoherenceError(f"run_trace: core {core}: address {int(a[i])} at index {i} is "
                             f"too large, expected byte addresses below 2**63")
    if a.min() < 0:
        i = int(a.argmin())
        raise CoherenceError(f"run_trace: core {core}: negative address {int(a[i])} at "
                             f"index {i}, expected byte addresses >= 0")
    return a.astype(np.int64, copy=False)

