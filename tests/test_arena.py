"""The machine's arena (engine/_arena.py): arrays in one buffer, on cache lines at staggered
page offsets, and big arrays of zeros in maps of their own."""

import numpy as np

from coherence.engine._arena import _MAPPED, SPARSE, allocate


def _specs():
    big = _MAPPED // 8 + 1000     # int64s: more than a MiB
    return [("a", (3, 5), np.int64, 7), ("b", (10,), np.int16, np.arange(10)),
            ("big", (big,), np.int64, SPARSE), ("c", (4,), np.uint64, None),
            ("big_zeros", (big,), np.int64, 0), ("small_sparse", (5,), np.int64, SPARSE),
            ("big_filled", (big,), np.int64, -1), ("d", (2, 2), np.int8, 0)]


def test_fills_shapes_and_dtypes():
    out = allocate(_specs())
    for name, shape, dtype, fill in _specs():
        arr = out[name]
        assert arr.shape == shape and arr.dtype == dtype
        assert arr.flags.c_contiguous and arr.flags.writeable and arr.flags.aligned
        expect = np.zeros(shape, dtype) if fill is None or fill is SPARSE else np.broadcast_to(
            np.asarray(fill, dtype), shape)
        assert np.array_equal(arr, expect), name


def test_arrays_do_not_overlap_and_start_on_lines():
    out = allocate(_specs())
    spans = []
    for name, arr in out.items():
        lo = arr.ctypes.data
        assert lo % 64 == 0, name
        spans.append((lo, lo + arr.nbytes, name))
    spans.sort()
    for (_, hi, n1), (lo, _, n2) in zip(spans, spans[1:]):
        assert hi <= lo, (n1, n2)
    # writing one array changes no other
    for name, arr in out.items():
        arr[...] = 1
    assert all(np.all(arr == 1) for arr in out.values())


def test_big_sparse_arrays_are_mapped_and_fresh_every_time():
    """A big SPARSE array has a map of its own (outside the one buffer), and the next
    machine's comes back as zeros, not with the last machine's values."""
    for _ in range(3):
        out = allocate(_specs())
        big = out["big"]
        assert not np.any(big)
        assert big.ctypes.data % 4096 != 0      # staggered into its page like the rest
        assert big.base is not out["a"].base and out["big_zeros"].base is out["a"].base
        assert out["small_sparse"].base is out["a"].base
        big[::4096] = 5
        del out, big


def test_an_unknown_fill_name_is_an_error():
    import pytest
    with pytest.raises(ValueError, match="unknown fill"):
        allocate([("x", (3,), np.int64, "sprase")])
