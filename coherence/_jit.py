"""The numba decorators every kernel uses, and an on-disk cache that stays correct.

The flags themselves live in :data:`coherence.config.JIT_OPTIONS` (the one place for them);
this module turns them into decorators and makes numba's cache key on every source file of a
kernel's call tree.

Why: numba's on-disk cache (``cache=True``) checks only the file of the cached function
itself.  A kernel that inlines a helper from another file, or reads a constant defined in
another file, keeps its stale machine code after that file is edited.  Here each jitted
function is assigned to a *call tree* (a folder of the package plus the files its kernels
import constants from, :data:`CALL_TREES`), and the cache entry's source stamp is a hash of
all of those files: edit any of them and every kernel of the tree compiles again on its next
use, while a user's unchanged installation keeps loading them.

This relies on numba's cache-locator hook (``numba.core.caching.CacheImpl._locator_classes``;
the class is ``_CacheImpl`` in older numba releases).  Were it ever missing, the decorators
still work with numba's own per-file stamps (correct for users, who do not edit the package).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import signal
import sys
import threading
import time
import warnings

import numba
from llvmlite import ir as _ir
from numba import njit as _numba_njit
from numba.core import cgutils as _cgutils
from numba.core import types as _types
from numba.extending import intrinsic as _intrinsic

from .config import JIT_OPTIONS

__all__ = ["jit", "jit_inline", "jit_leaf", "jit_helper", "jit_typed", "jit_alloc", "opaque",
           "prefetch",
           "CALL_TREES", "call_tree_stamp", "ensure_compiled", "deferred_interrupt"]

_PKG = os.path.dirname(os.path.abspath(__file__))

#: Each call tree: the folder its kernels live in, and every file whose contents end up in
#: their machine code (inlined helpers, imported constants, the flags).
CALL_TREES = {
    "engine": ("engine", "isa.py", "stats.py", "protocols", "config.py", "_jit.py"),
    "sched": ("sched", "config.py", "_jit.py"),
}

_uncached_warned = []


def njit(*args, **options):
    """numba's ``njit``, except that a kernel whose on-disk cache has nowhere to go (a
    read-only installation with no writable NUMBA_CACHE_DIR or home cache directory: numba
    raises "no locator available" when the kernel is decorated, i.e. at ``import
    coherence``) is compiled without the cache, with one warning."""
    cached = _numba_njit(*args, **options)
    if not options.get("cache"):
        return cached

    def decorate(func):
        try:
            return cached(func)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
            if not _uncached_warned:
                _uncached_warned.append(True)
                warnings.warn("coherence: no writable cache directory for numba's compiled "
                              "kernels (set NUMBA_CACHE_DIR to one); compiling without the "
                              "cache, so every process compiles them again", RuntimeWarning,
                              stacklevel=2)
            return _numba_njit(*args, **{**options, "cache": False})(func)
    return decorate


# No kernel allocates (callers own every array), so numba's runtime is off: without it a call
# that passes arrays costs no reference-count traffic.
#: A kernel: called from Python.
jit = njit(_nrt=False, **JIT_OPTIONS)
_INTERNAL = dict(_nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True, **JIT_OPTIONS)
#: A helper that LLVM always inlines into its callers: the big hot paths (a step of a core,
#: a grant).  Not callable from Python (no wrapper is generated: a wrapper for a bundle of
#: arrays is big and slow to build).
jit_inline = njit(forceinline=True, **_INTERNAL)
#: A small hot helper, inlined at numba's own IR level (the code is better than LLVM's
#: inlining of it gives, measured on the spinlock: 29 vs 22 M instructions/s).  Numba copies
#: the callee's IR at each place it is inlined, at a cost that grows with the square of its
#: size: for small functions only (a kernel inlined this way throughout took 110 s to compile).
jit_leaf = njit(inline="always", **_INTERNAL)
#: A helper compiled as a function of its own (cold paths; LLVM may still inline it); not
#: callable from Python.
jit_helper = njit(**_INTERNAL)


def jit_typed(signature: str):
    """``jit`` with an explicit signature: arguments are converted to it, so a helper called
    with mixed integer types compiles once (compiled when its module is imported)."""
    return njit(signature, _nrt=False, **JIT_OPTIONS)


#: A kernel that allocates arrays (numba's runtime on), e.g. the scheduler explorer's.
jit_alloc = njit(**JIT_OPTIONS)


@_intrinsic
def opaque(typingctx, x):
    """The integer x, through an empty inline-asm statement the compiler cannot see through
    (no instruction is emitted).

    Why: in a loop that runs once or twice per entry (an entry's actions), LLVM hoists every
    address the body might compute from loop-invariant indices (a frame, a home record) into
    the loop's preheader, where most are computed for nothing and spilled: 190 instructions
    per entry taken, a fifth of a directory miss.  Indices that come through ``opaque``
    inside the body are computed where the body uses them."""
    if not isinstance(x, _types.Integer):
        return None

    def codegen(context, builder, signature, args):
        (v,) = args
        asm = _ir.InlineAsm(_ir.FunctionType(v.type, [v.type]), "", "=r,0", side_effect=True)
        return builder.call(asm, [v])
    return x(x), codegen


@_intrinsic
def prefetch(typingctx, arr, i):
    """A hint that element i of the C-contiguous array ``arr`` (its flat index) will be read
    soon: ``llvm.prefetch`` of its cache line (x86: ``prefetcht0``).  No effect on any
    value, and none on an index past the end (a prefetch does not fault).

    Why: a trace run on 64 cores reads 64 traces and 64 caches' frames a few accesses at a
    time, more streams than the host's prefetchers follow: the loads of the next access's
    address and frame state missed the host's caches (a third of a 64-core hit-heavy trace's
    time)."""
    if not isinstance(arr, _types.Array) or not isinstance(i, _types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = context.cast(builder, args[1], idxty, _types.intp)
        i8p = _ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(ary.data, [idx]), i8p)
        name = "llvm.prefetch.p0" if getattr(ptr.type, "is_opaque", False) else \
            "llvm.prefetch.p0i8"
        i32 = _ir.IntType(32)
        fn = _cgutils.get_or_insert_function(
            builder.module, _ir.FunctionType(_ir.VoidType(), [i8p, i32, i32, i32]), name)
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()
    return _types.void(arr, i), codegen


def _tree_files(tree: str) -> list[str]:
    files = []
    for entry in CALL_TREES[tree]:
        path = os.path.join(_PKG, entry)
        if os.path.isdir(path):
            files += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".py"))
        else:
            files.append(path)
    return files


_stamps: dict = {}


def call_tree_stamp(tree: str) -> str:
    """A hash of every source file of the call tree (recomputed when a file changes)."""
    files = _tree_files(tree)
    key = (tree, tuple((f, os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in files))
    if key not in _stamps:
        h = hashlib.sha256()
        for f in files:
            h.update(os.path.relpath(f, _PKG).encode())
            with open(f, "rb") as fh:
                h.update(fh.read())
        _stamps[key] = h.hexdigest()
    return _stamps[key]


def _tree_of(py_file: str):
    rel = os.path.relpath(os.path.abspath(py_file), _PKG)
    top = rel.split(os.sep)[0]
    for tree, entries in CALL_TREES.items():
        if top == entries[0]:
            return tree
    return None


try:
    from numba.core import caching as _caching

    # Both names are looked up: with only the old one, the hook was silently lost on a numba
    # that has the new one (the except below swallows the AttributeError).
    _CacheImplClass = getattr(_caching, "CacheImpl", None) or _caching._CacheImpl

    class _CallTreeLocator(_caching._CacheLocator):
        """Numba's usual locator for the cache's place, with the call tree's stamp."""

        def __init__(self, inner, tree):
            self._inner = inner
            self._tree = tree

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return call_tree_stamp(self._tree)

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            tree = _tree_of(py_file)
            if tree is None:
                return None
            for other in _CacheImplClass._locator_classes:
                if other is cls:
                    continue
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, tree)
            return None

    if _CallTreeLocator.__name__ not in {c.__name__ for c in _CacheImplClass._locator_classes}:
        _CacheImplClass._locator_classes.insert(0, _CallTreeLocator)
except (ImportError, AttributeError):  # pragma: no cover - a numba without the hook
    pass


@contextlib.contextmanager
def deferred_interrupt(reraise: bool = True):
    """Hold Ctrl-C back until the block ends; yields a list that gets an entry if one came.

    Why: Python raises a KeyboardInterrupt at the next Python code it runs, and when a kernel
    returns arrays the first such code runs inside numba's boxing of the result, which then
    fails (a chain of SystemErrors, or worse) instead of stopping cleanly.  Inside this block
    the signal only sets a flag; at the end it is raised (``reraise``) or left to the caller.
    Outside the main thread (no signal handlers there) it does nothing."""
    got: list = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    try:
        old = signal.signal(signal.SIGINT, lambda sig, frame: got.append(sig))
    except ValueError:  # pragma: no cover - not the main interpreter
        yield got
        return
    try:
        yield got
    finally:
        signal.signal(signal.SIGINT, old)
    if got and reraise:
        raise KeyboardInterrupt


def ensure_compiled(dispatcher, args, what: str = "the engine's kernels",
                    notice_after: float = 1.0) -> None:
    """Compile (or load from the cache) ``dispatcher`` for these arguments before it runs.

    A first run on a fresh installation compiles for a while; instead of silence, one line on
    stderr says so once the compilation has taken ``notice_after`` seconds, and another how
    long it took.  A kernel already compiled or loaded in this process costs nothing here.
    """
    if dispatcher.overloads:
        return  # compiled or loaded in this process: our kernels have one signature each
    # The signature the call will look up: numba's dispatcher packs a *flat tail into one
    # tuple argument before typing it.
    params = list(inspect.signature(dispatcher.py_func).parameters.values())
    values = list(args)
    if params and params[-1].kind is inspect.Parameter.VAR_POSITIONAL:
        values = values[:len(params) - 1] + [tuple(values[len(params) - 1:])]
    sig = tuple(numba.typeof(v) for v in values)
    said = []

    def notice():
        said.append(True)
        print(f"coherence: compiling {what} once (about 15 s on a 2-core machine); later runs "
              f"load them from numba's cache", file=sys.stderr, flush=True)

    timer = threading.Timer(notice_after, notice)
    t0 = time.perf_counter()
    timer.start()
    try:
        dispatcher.compile(sig)
    finally:
        timer.cancel()
    if said:
        print(f"coherence: compiled {what} in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)
