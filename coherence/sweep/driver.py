"""``coherence.sweep(spec, client=None)``: expand the run set, skip what the results folder
already holds, run the rest in batches on an executor, write results as they arrive."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from ..errors import CoherenceError

#: A chunk is committed when this many rows wait, or the spec's ``commit`` seconds (default
#: 2) after the last one: a kill loses at most that much finished work, and a chunk is not a
#: file per run.
FLUSH_ROWS = 2000
#: At most this many runs per task, and 8 tasks per worker when there are enough runs (the
#: last tasks leave workers idle while others finish: smaller tasks, a shorter tail).
MAX_BATCH = 64
TASKS_PER_WORKER = 8


@dataclass
class Summary:
    """What a sweep did: ``runs`` in its run set, ``skipped`` (already in the folder),
    ``computed`` now, ``errors`` (rows with status error or violation), ``failed`` (runs whose
    task failed: not in the results, a rerun computes them), ``busy`` (seconds inside runs),
    ``run_median`` (the median run's seconds), ``wall`` (seconds), ``execute_wall`` (seconds
    from the first task submitted to the last result written), ``tasks``, ``executor``,
    ``workers``, ``restarts`` (pool processes replaced after one died) and
    ``unmatched_keep`` (``keep`` patterns that matched no statistic)."""

    runs: int = 0
    skipped: int = 0
    computed: int = 0
    errors: int = 0
    failed: int = 0
    failures: list = field(default_factory=list)
    busy: float = 0.0
    run_median: float = 0.0
    wall: float = 0.0
    execute_wall: float = 0.0
    tasks: int = 0
    executor: str = ""
    workers: int = 0
    out: str | None = None
    statuses: dict = field(default_factory=dict)
    unmatched_keep: list = field(default_factory=list)
    restarts: int = 0

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["failures"] = self.failures[:10]
        d["busy"] = round(self.busy, 4)
        d["run_median"] = round(self.run_median, 6)
        d["wall"] = round(self.wall, 4)
        d["execute_wall"] = round(self.execute_wall, 4)
        return d


def _as_spec(spec):
    from .spec import Spec, load_spec, parse_spec
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    if isinstance(spec, (str, os.PathLike)):
        return load_spec(spec)
    raise CoherenceError(f"expected a spec file, a dict or a Spec, got {type(spec).__name__}")


def batch_size(spec, todo: int, workers: int) -> int:
    """Runs per task: the spec's ``batch``, else enough tasks to spread over the workers
    (:data:`TASKS_PER_WORKER`) and no more than :data:`MAX_BATCH` runs each."""
    if spec.batch:
        return spec.batch
    return max(1, min(MAX_BATCH, -(-todo // (TASKS_PER_WORKER * max(workers, 1)))))


def run_sweep(spec, client=None, *, cluster: str | None = None, jobs: int | None = None,
              out=None, progress: bool = False, callback=None):
    """Run a sweep; returns its results as a :class:`pandas.DataFrame` (one row per run of
    the spec's run set, in the spec's order; ``df.attrs["summary"]`` says what was done).

    ``spec``: a TOML path, a dict of tables (relative paths from the current folder) or a
    :class:`~coherence.sweep.spec.Spec`.  ``client``: a :class:`distributed.Client` to run
    on; else ``cluster`` (``"local"``, ``"local:N"``, ``"tcp://HOST:PORT"``); else the
    embedded process pool of ``jobs`` processes (one per CPU by default, ``1``: inline).
    ``out``: the results folder (default: the spec's ``out``; with neither, results stay in
    memory and nothing is resumable).  ``callback(done, total)`` is called after each batch.
    """
    from .executors import make_executor
    from .runset import expand, payloads_for
    from .worker import run_batch
    t0 = time.perf_counter()
    spec = _as_spec(spec)
    runset = expand(spec)
    out = os.fspath(out) if out is not None else spec.out
    summary = Summary(runs=len(runset.order), out=out)
    store = None
    memory_rows = []
    if out is not None:
        from .store import Store
        store = Store(out)
    try:
        done = set(store.done) if store is not None else set()
        if store is not None:
            store.describe({"spec": spec.source, "axes": runset.axes, "order": runset.order})
        summary.skipped = sum(1 for r in runset.order if r in done)
        new_failed = [r for r in runset.failed if r["run_id"] not in done]
        if store is not None:
            store.write(new_failed)
        else:
            memory_rows.extend(new_failed)
        summary.computed += len(new_failed)
        done.update(r["run_id"] for r in new_failed)
        todo = [r for r in runset.runs if r["id"] not in done]
        executor = make_executor(cluster, client, jobs) if todo else None
        summary.executor = executor.name if executor else ""
        summary.workers = executor.workers if executor else 0
        try:
            if todo:
                _execute(spec, runset, todo, executor, store, memory_rows, summary,
                         progress, callback, payloads_for, run_batch)
        finally:
            if executor is not None:
                summary.restarts = getattr(executor, "restarts", 0)
                executor.close()
    finally:
        if store is not None:
            store.close()
    summary.wall = time.perf_counter() - t0
    if store is not None:
        from .store import load
        df = load(out, runs=runset.order)
    else:
        import pandas as pd
        from .store import column_order, rows_table, to_frame
        rank = {r: i for i, r in enumerate(runset.order)}
        memory_rows.sort(key=lambda r: rank[r["run_id"]])
        df = to_frame(rows_table(memory_rows)) if memory_rows else pd.DataFrame()
        df = df[column_order(df.columns, runset.axes)] if len(df) else df
    if len(df) and "status" in df:
        summary.statuses = {str(k): int(v) for k, v in df["status"].value_counts().items()}
        summary.errors = int(df["status"].isin(["error", "violation"]).sum())
    if spec.keep and len(df):
        from fnmatch import fnmatchcase
        summary.unmatched_keep = [p for p in spec.keep
                                  if not any(fnmatchcase(c, p) for c in df.columns)]
    df.attrs["summary"] = summary.to_dict()
    return df


def _execute(spec, runset, todo, executor, store, memory_rows, summary, progress, callback,
             payloads_for, run_batch):
    # Longest first (the core count as the measure of a run's length): the last tasks, which
    # leave the other workers idle while they finish, are then short ones.  The table's order
    # does not depend on this.
    todo = sorted(todo, key=lambda r: -int(r["config"].get("cores", 1)))
    size = batch_size(spec, len(todo), executor.workers)
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    share = getattr(executor, "share", None)
    tasks = [(payloads_for(runset, b, share), b, spec.keep) for b in batches]
    summary.tasks = len(tasks)
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=summary.runs, initial=summary.runs - len(todo), unit="run",
                   file=sys.stderr, leave=False, dynamic_ncols=True)
    buffer: list = []
    times: list = []
    last = time.monotonic()
    finished = summary.runs - len(todo)

    def flush():
        nonlocal last
        if store is not None:
            store.write(buffer)
        else:
            memory_rows.extend(buffer)
        buffer.clear()
        last = time.monotonic()

    try:
        for i, result in executor.map(run_batch, tasks):
            if isinstance(result, BaseException):
                summary.failed += len(batches[i])
                summary.failures.append(f"{type(result).__name__}: {result}")
                continue
            rows, seconds = result
            summary.busy += sum(seconds)
            times.extend(seconds)
            for rid, cols in rows:
                buffer.append({**runset.rows[rid], **cols})
            summary.computed += len(rows)
            finished += len(rows)
            if len(buffer) >= FLUSH_ROWS or time.monotonic() - last >= spec.commit:
                flush()
            if bar is not None:
                bar.update(len(rows))
            if callback is not None:
                callback(finished, summary.runs)
    finally:
        # Finished runs are results whatever stopped the loop (an interrupt, a failure).
        flush()
        if bar is not None:
            bar.close()
        summary.execute_wall = time.perf_counter() - t0
        if times:
            times.sort()
            summary.run_median = times[len(times) // 2]
