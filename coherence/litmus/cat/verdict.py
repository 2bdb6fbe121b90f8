"""herd7's verdict for a litmus test under a cat model (the axiomatic path).

:func:`cat_verdict` enumerates the candidate executions of the test
(:mod:`coherence.litmus.executions`), keeps those the model allows, and returns the same
:class:`~coherence.litmus.enumerate.Verdict` as the operational enumerators: the distinct
final states on the shown locations, and herd's counts of allowed executions whose final
state does / does not satisfy the condition.  ``witness`` and ``forbidden`` examples are
kept for execution graphs and ``--explain``.
"""

from __future__ import annotations

import functools
import time

from ...errors import CoherenceError
from ..condition import compile_prop, format_condition
from ..enumerate import Verdict, _value_key
from ..executions import (CANDIDATE_LIMIT, Unsupported, all_traces, candidates,
                          prune_private, structures)
from ..ir import RegLoc, location_sort_key, prop_locations
from .model import load_model, resolve_model, shipped_models

# Models the project wrote: they forbid what the candidate pruning leaves out.
_PRUNABLE = ("sc", "x86-tso", "aarch64", "riscv")


@functools.lru_cache(maxsize=32)
def get_model(name_or_path: str, search_path: tuple = ()):
    """Load (once per process) a shipped model by name or a cat file by path."""
    path = resolve_model(name_or_path)
    model = load_model(path, search_path)
    if name_or_path in _PRUNABLE and name_or_path in shipped_models():
        model.prune, model.prune_rmw = True, True
    else:
        # a model whose own check rejects every candidate that is not coherent location by
        # location (herd's x86tso.cat, riscv.cat, sc.cat ...): those are left out
        model.prune = getattr(model, "coherence", None) is not None
        model.prune_rmw = getattr(model, "coherence", None) == "rmw"
    model.label = name_or_path
    return model


def _setup(test, model_name, search_path, prune=True):
    """The model, the locations to evaluate, their index, the compiled condition and
    filter, and the traces of ``test``."""
    model = get_model(model_name, tuple(search_path))
    shown = test.observed
    evals = set(shown)
    if test.filter is not None:
        evals |= prop_locations(test.filter)
    evals = sorted(evals, key=lambda l: location_sort_key(l, test.arch))
    index = {l: i for i, l in enumerate(evals)}
    pred = compile_prop(test.condition.prop, index)
    filt = compile_prop(test.filter, index) if test.filter is not None else None
    try:
        traces, domain, _codes = all_traces(test)
    except Unsupported as exc:
        raise CoherenceError(exc.msg, file=test.path, line=exc.line or test.line) from None
    for loc in evals:
        if not isinstance(loc, RegLoc) and loc not in domain:
            domain[loc] = [test.init.get(loc, 0)]
    if model.prune and prune:
        traces = prune_private(test, traces)
    return model, shown, evals, index, pred, filt, traces, domain


def _final_values(test, evals, s, cand):
    vals, mem = [], None
    for loc in evals:
        if isinstance(loc, RegLoc):
            tr = s.traces[loc.thread] if loc.thread < len(s.traces) else None
            v = tr.regs.get(loc.reg) if tr is not None else None
            vals.append(test.init.get(loc, 0) if v is None else v)
        else:
            if mem is None:
                mem = cand.final_memory()
            vals.append(mem.get(loc, test.init.get(loc, 0)))
    return tuple(vals)


def iter_candidates(test, model_name, search_path=(), all_checks=False):
    """Every candidate execution of ``test`` that passes the filter, with its shown final
    state (a dict), whether ``model_name`` allows it, the failed checks, and whether the
    condition's proposition holds: for graphs and explanations (slower than
    :func:`cat_verdict`).  Nothing is pruned: an incoherent candidate is here too, with
    the check that rejects it."""
    model, shown, evals, index, pred, filt, traces, domain = _setup(test, model_name,
                                                                    search_path, prune=False)
    names = [str(l) for l in shown]
    count = 0
    for s in structures(test, traces, domain):
        for cand in candidates(s, False):
            count += 1
            if count > CANDIDATE_LIMIT:
                raise CoherenceError(f"more than {CANDIDATE_LIMIT:,} candidate executions; "
                                     "the test is too large to draw", file=test.path,
                                     line=test.line)
            vals = _final_values(test, evals, s, cand)
            if filt is not None and not filt(vals):
                continue
            allowed, failures, _flags = model.check(cand, all_checks=all_checks)
            state = dict(zip(names, (vals[index[l]] for l in shown)))
            yield cand, state, allowed, failures, pred(vals)


def cat_verdict(test, model_name: str, search_path=(), keep_examples=False) -> Verdict:
    """Every final state of ``test`` allowed by the cat model ``model_name`` (a shipped
    model's name or a cat file's path) and herd's verdict.

    Raises CoherenceError for a test the axiomatic path cannot handle (the message says
    why, with the test's file and line).
    """
    start = time.perf_counter()
    model, shown, evals, index, pred, filt, traces, domain = _setup(test, model_name,
                                                                    search_path)
    pos = neg = 0
    states = {}
    explored = 0
    examples = {}  # state key -> (candidate, allowed, failures)
    for s in structures(test, traces, domain):
        reg_vals = []
        for loc in evals:
            if isinstance(loc, RegLoc):
                tr = s.traces[loc.thread] if loc.thread < len(s.traces) else None
                v = tr.regs.get(loc.reg) if tr is not None else None
                if v is None:
                    v = test.init.get(loc, 0)
                reg_vals.append(v)
            else:
                reg_vals.append(None)
        for cand in candidates(s, model.prune, model.prune_rmw):
            explored += 1
            if explored > CANDIDATE_LIMIT:
                raise CoherenceError(f"more than {CANDIDATE_LIMIT:,} candidate executions; the "
                                     "test is too large for the cat path", file=test.path,
                                     line=test.line)
            mem = None
            vals = []
            for loc, rv in zip(evals, reg_vals):
                if isinstance(loc, RegLoc):
                    vals.append(rv)
                else:
                    if mem is None:
                        mem = cand.final_memory()
                    vals.append(mem.get(loc, test.init.get(loc, 0)))
            vals = tuple(vals)
            if filt is not None and not filt(vals):
                continue
            allowed, failures, _flags = model.check(cand)
            key = tuple(vals[index[l]] for l in shown)
            if keep_examples:
                prev = examples.get(key)
                if prev is None or (allowed and not prev[1]):
                    examples[key] = (cand, allowed, failures)
            if not allowed:
                continue
            if pred(vals):
                pos += 1
            else:
                neg += 1
            states[key] = vals
    keys = sorted(states, key=lambda vs: tuple(_value_key(v) for v in vs))
    names = [str(l) for l in shown]
    v = Verdict(
        name=test.name, path=test.path, model=model.label, quantifier=test.condition.quantifier,
        condition=format_condition(test.condition), locations=names,
        states=[dict(zip(names, k)) for k in keys], positive=pos, negative=neg,
        executions_exact=True, explored=explored, elapsed=time.perf_counter() - start,
        _holds=[pred(states[k]) for k in keys], _prop=test.condition.prop, _shown=list(shown))
    if keep_examples:
        v.examples = examples
    return v
