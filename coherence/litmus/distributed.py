"""Litmus suites on the sweep executors (``coherence litmus ... --cluster``, ``--results``).

The work is split into tasks: one exhaustive enumeration per test, and the campaign of each
test as its chunks (:func:`~.campaign.plan_chunks`: ``--chunk`` iterations each, each from
a seed derived from the test's name and the chunk's index).  Tasks run on the embedded
process pool (``-j``) or a Dask cluster, in any order; the chunks' counts add up to the same
histogram as a serial run with the same seed and chunk size, whatever the worker count.

With ``--results DIR`` each finished chunk's partial histogram is committed to a results
folder (the sweep's: :mod:`coherence.sweep.store`) as it arrives; a rerun (or a longer
campaign with the same seed and chunk size) reuses the chunks already there.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

from ..errors import CoherenceError

FLUSH_SECONDS = 2.0


def litmus_task(kind: str, *args):
    """What a worker runs: ``("enum", test, plan)`` -> ``{model: Verdict}`` or a reason
    string; ``("chunk", test, model, protocol, k, n, seed, profiles, overrides)`` ->
    ``(observed, statuses, s)``."""
    if kind == "enum":
        from .cli import verdicts_of
        test, plan = args
        try:
            return verdicts_of(test, plan)
        except CoherenceError as exc:
            return str(exc)
    from .campaign import run_chunk
    test, model, protocol, k, n, seed, profiles, overrides = args
    return run_chunk(test, model, protocol, k, n, seed, profiles=profiles, **overrides)


def _test_digest(test) -> str:
    try:
        with open(test.path, "rb") as f:
            data = f.read()
    except (OSError, TypeError):
        data = repr(test).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _stamp(test) -> str:
    from ..sweep.runset import engine_stamp
    return _test_digest(test) + engine_stamp()


def chunk_id(test, model: str, protocol: str, seed: int, k: int, n: int,
             digest: str | None = None, profiles=None, overrides=None) -> str:
    """The stable id of one chunk's result in a results folder: a hash of the test's text,
    the campaign's parameters (the machine's flags and timing profiles included) and the
    engine's source (``digest``: :func:`_stamp` of the test, when the caller has it)."""
    doc = json.dumps([digest or _stamp(test), test.name, model, protocol, seed, k, n]
                     + ([profiles, sorted((overrides or {}).items())]
                        if profiles or overrides else []))
    return hashlib.blake2b(doc.encode(), digest_size=8).hexdigest()


def _row(cid, test, model, protocol, seed, k, n, result) -> dict:
    observed, statuses, secs = result
    return {"run_id": cid, "test": test.name, "path": test.path, "model": model,
            "protocol": protocol, "seed": seed, "chunk": k, "iterations": n,
            "observed": json.dumps(sorted([list(s), c] for s, c in observed.items())),
            "statuses": json.dumps(statuses, sort_keys=True), "seconds": float(secs)}


def _from_row(row) -> tuple:
    observed = {tuple(s): int(c) for s, c in json.loads(row["observed"])}
    return observed, {k: int(v) for k, v in json.loads(row["statuses"]).items()}, \
        float(row["seconds"])


def run_distributed(work, args, bar=None):
    """``(results, info)``: ``results[i] = (verdicts, reason, campaign)`` as the serial
    driver builds them; ``info`` counts the chunks computed, reused and failed."""
    from ..protocols import get_protocol
    from ..sweep.executors import make_executor
    from .campaign import campaign_program, merge_chunks, plan_chunks
    store = None
    if args.results:
        from ..sweep.store import Store
        store = Store(args.results)
    tasks, meta = [], []
    chunks: dict = {}      # i -> list of chunk results
    skipped: dict = {}     # i -> why its campaign does not run
    failed: dict = {}      # i -> the first failure of one of its chunks
    names: dict = {}
    reuse: dict = {}       # chunk id -> i
    order = []
    try:
        for i, test, plan, camp in work:
            tasks.append(("enum", test, plan))
            meta.append((i, None))
            if camp is None or test.arch not in ("X86", "X86_64"):
                continue  # campaigns are x86-only
            model, protocol, iterations, seed, chunk, overrides, profiles = camp
            protocol = get_protocol(protocol).name
            try:
                names[i] = campaign_program(test)[1]
            except CoherenceError as exc:
                skipped[i] = f"emulator campaign skipped: {exc}"
                continue
            chunks[i] = []
            digest = _stamp(test)
            for k, n in plan_chunks(iterations, chunk):
                cid = chunk_id(test, model, protocol, seed, k, n, digest, profiles, overrides)
                order.append(cid)
                if store is not None and cid in store.done:
                    reuse[cid] = i
                    continue
                tasks.append(("chunk", test, model, protocol, k, n, seed, profiles, overrides))
                meta.append((i, (cid, test, model, protocol, seed, k, n)))
        if store is not None:
            store.describe({"kind": "litmus", "axes": [], "order": order})
            if reuse:
                from ..sweep.store import load
                for _, row in load(store.path, runs=list(reuse)).iterrows():
                    chunks[reuse[row["run_id"]]].append(_from_row(row))
        if bar is not None:
            bar.reset(total=len(tasks))
        verdicts: dict = {}
        cluster = getattr(args, "cluster", None)
        # -j defaults to 1; `--cluster local` without :N means one worker per CPU.
        jobs = args.jobs if not cluster or args.jobs > 1 else None
        executor = make_executor(cluster, jobs=jobs)
        buffer: list = []
        last = time.monotonic()
        computed = nfailed = 0
        try:
            for t, result in executor.map(litmus_task, tasks):
                i, chunk_meta = meta[t]
                if chunk_meta is None:
                    verdicts[i] = result if not isinstance(result, BaseException) else \
                        f"internal error in a worker: {type(result).__name__}: {result}"
                elif isinstance(result, BaseException):
                    failed.setdefault(i, f"{type(result).__name__}: {result}")
                    nfailed += 1
                else:
                    chunks[i].append(result)
                    computed += 1
                    if store is not None:
                        buffer.append(_row(*chunk_meta, result))
                        if time.monotonic() - last >= FLUSH_SECONDS:
                            store.write(buffer)
                            buffer.clear()
                            last = time.monotonic()
                if bar is not None:
                    bar.update()
        finally:
            if store is not None:
                store.write(buffer)
            executor.close()
    finally:
        if store is not None:
            store.close()

    results = {}
    for i, test, _plan, camp in work:
        v = verdicts[i]
        if isinstance(v, str):
            results[i] = (None, v, None)
            continue
        campaign = None
        if i in skipped:
            campaign = skipped[i]
        elif i in failed:
            campaign = (f"emulator campaign incomplete: a chunk failed ({failed[i]}); run the "
                        f"same command again to retry it")
        elif camp is not None and i in chunks:
            model, protocol, _iterations, seed = camp[:4]
            campaign = merge_chunks(test, model, protocol, seed, chunks[i], v, names=names[i])
        results[i] = (v, None, campaign)
    info = {"chunks_computed": computed, "chunks_reused": len(reuse), "failed": nfailed,
            "executor": executor.name, "workers": executor.workers}
    return results, info


def report(info: dict, args) -> None:
    """One line on stderr: where the chunks came from."""
    if args.quiet or args.json:
        return
    where = f" (results folder {args.results})" if args.results else ""
    print(f"coherence: campaign chunks: {info['chunks_computed']} computed on "
          f"{info['executor']} ({info['workers']} workers), {info['chunks_reused']} reused"
          f"{where}", file=sys.stderr)
