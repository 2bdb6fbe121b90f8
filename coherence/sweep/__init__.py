"""Design-space sweeps: the cross product of workloads and machine parameters, run in batches
on a local process pool or a Dask cluster, results written as they arrive to a resumable
Parquet folder.

    >>> import coherence
    >>> df = coherence.sweep("study.toml")                 # embedded process pool
    >>> df = coherence.sweep("study.toml", client=client)  # a distributed.Client
    >>> df = coherence.sweep.load("results")               # read a results folder back

``coherence.sweep`` is this package and also callable (it is :func:`run_sweep`).  Modules:
``spec`` (the TOML spec, validated), ``runset`` (the run set and run ids), ``traces`` (trace
files and generated traces), ``worker`` (what a task runs), ``executors`` (inline, process
pool, Dask), ``store`` (the results folder), ``driver`` (:func:`run_sweep`), ``cli``.
See docs/sweep.md.

Only the standard library is imported here, so ``coherence sweep --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types

_EXPORTS = {"run_sweep": "driver", "Summary": "driver", "load": "store", "Store": "store",
            "load_spec": "spec", "parse_spec": "spec", "Spec": "spec", "expand": "runset",
            "make_executor": "executors"}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _CallableModule(types.ModuleType):
    """``coherence.sweep(spec, client=None, ...)`` runs a sweep (:func:`run_sweep`), while
    ``coherence.sweep.load`` and the submodules stay reachable as attributes."""

    def __call__(self, spec, client=None, **options):
        return self.run_sweep(spec, client=client, **options)


sys.modules[__name__].__class__ = _CallableModule
