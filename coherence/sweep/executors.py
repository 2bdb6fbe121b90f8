"""Where batches run: inline, the embedded process pool, or Dask (a LocalCluster or a
scheduler's address, or a :class:`distributed.Client` the caller made).

Every executor has the same face: ``workers`` (how many run at once) and ``map(fn, tasks)``,
which yields ``(index, result)`` as tasks finish, in any order; a task that failed yields its
exception instead of a result.  A worker that dies costs only the tasks it held: the embedded
pool gives its task to another worker and starts a new process; Dask's scheduler reruns them
on the other workers by itself (up to ``RETRIES`` times each).
"""

from __future__ import annotations

import os
import re

from ..errors import CoherenceError

#: How often a task is retried after its worker died.
RETRIES = 3
#: Seconds a Dask cluster may have no worker at all (at the start, or after every worker
#: died) before the sweep stops waiting: its unfinished tasks are reported as failed.
NO_WORKERS_TIMEOUT = 60.0


class InlineExecutor:
    """Runs tasks one after another in this process (``jobs = 1``)."""

    workers = 1
    name = "inline"

    def map(self, fn, tasks):
        for i, args in enumerate(tasks):
            try:
                yield i, fn(*args)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # an internal error of one task: the others go on
                yield i, exc

    def close(self):
        pass


def _pool_worker(conn) -> None:
    """A pool process: run ``(index, fn, args)`` messages until ``None``; answer each with
    ``(index, True, result)`` or ``(index, False, "Type: message")``."""
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                return
            i, fn, args = msg
            try:
                out = (i, True, fn(*args))
            except Exception as exc:  # an internal error of this task: reported, not fatal
                out = (i, False, f"{type(exc).__name__}: {exc}")
            conn.send(out)
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the parent went away, or Ctrl-C reached the whole process group


class PoolExecutor:
    """The embedded default: a pool of spawned processes (no extra dependency).

    Each worker has its own pipe and holds one task at a time, so a worker that dies costs
    only that task: it is given to another worker (up to :data:`RETRIES` times) and a new
    process takes the dead one's place.  (``concurrent.futures``' pool stops every worker
    when one dies and, on some Python versions, can hang when one is killed.)"""

    name = "pool"

    def __init__(self, jobs: int):
        self.workers = jobs
        self.restarts = 0  # worker processes replaced after one died
        self._procs: dict = {}  # connection -> [process, index of its task or None]

    def _start(self, ctx):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_pool_worker, args=(child,), daemon=True,
                           name="coherence-pool-worker")
        proc.start()
        child.close()
        self._procs[parent] = [proc, None]
        return parent

    def map(self, fn, tasks):
        import multiprocessing
        from collections import deque
        from multiprocessing.connection import wait
        ctx = multiprocessing.get_context("spawn")  # not fork: the parent may hold threads
        queue = deque(range(len(tasks)))
        deaths = [0] * len(tasks)
        left = len(tasks)

        def feed(conn):
            while queue:
                i = queue.popleft()
                self._procs[conn][1] = i
                try:
                    conn.send((i, fn, tasks[i]))
                    return
                except (BrokenPipeError, OSError):  # it died: handled by its sentinel
                    queue.appendleft(i)
                    self._procs[conn][1] = None
                    return

        for _ in range(min(self.workers, len(tasks))):
            feed(self._start(ctx))
        while left:
            by_sentinel = {p.sentinel: c for c, (p, _i) in self._procs.items()}
            ready = wait(list(self._procs) + list(by_sentinel))
            dead = []
            for r in ready:
                conn = by_sentinel.get(r, r)
                if conn not in self._procs:
                    continue
                if r is conn:
                    try:
                        i, ok, result = conn.recv()
                    except (EOFError, OSError):
                        dead.append(conn)
                        continue
                    self._procs[conn][1] = None
                    left -= 1
                    yield i, (result if ok else RuntimeError(result))
                    feed(conn)
                elif not conn.poll():  # exited, and no answer of its last task is waiting
                    dead.append(conn)
            for conn in dict.fromkeys(dead):
                proc, i = self._procs.pop(conn)
                conn.close()
                proc.join(timeout=5)
                if i is not None:
                    deaths[i] += 1
                    if deaths[i] > RETRIES:
                        left -= 1
                        yield i, RuntimeError(f"the task's worker process died {deaths[i]} "
                                              f"times (exit code {proc.exitcode})")
                    else:
                        queue.appendleft(i)
                if queue and len(self._procs) < self.workers:
                    self.restarts += 1
                    feed(self._start(ctx))
            if queue and not self._procs:  # every worker gone at once: start afresh
                self.restarts += 1
                feed(self._start(ctx))

    def close(self):
        for conn, (proc, _i) in list(self._procs.items()):
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for conn, (proc, _i) in list(self._procs.items()):
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
            conn.close()
        self._procs.clear()


class DaskExecutor:
    """Tasks on a Dask cluster through ``client``; ``cluster`` (ours to close) when we made
    a LocalCluster."""

    name = "dask"

    def __init__(self, client, cluster=None, own_client=False):
        self.client = client
        self._cluster = cluster
        self._own_client = own_client
        n = self._count_workers()
        if n == 0:
            address = getattr(client.scheduler, "address", "?")
            try:
                client.wait_for_workers(1, timeout=NO_WORKERS_TIMEOUT)
            except Exception:
                self.close()
                raise CoherenceError(f"the Dask scheduler at {address} has "
                                     f"no workers (waited {NO_WORKERS_TIMEOUT:.0f} s); start "
                                     f"some with `dask worker ADDRESS --nthreads 1`") from None
            n = self._count_workers()
        self.workers = max(n, 1)

    #: Workload payloads larger than this (a trace's arrays) go to the workers once.
    SHARE_BYTES = 1 << 20

    def share(self, key: str, data):
        """A large payload sent to every worker once, not with every task: a future the
        tasks take as an argument (Dask resolves it on the worker).  Copies on every worker
        (``broadcast``), so a worker that dies does not take the only one with it; small
        payloads (a program's text) travel with their tasks."""
        kind, _label, payload = data
        if kind != "trace" or sum(a.nbytes for arrays in payload for a in arrays) \
                < self.SHARE_BYTES:
            return data
        if not hasattr(self, "_shared"):
            self._shared = {}
        if key not in self._shared:
            self._shared[key] = self.client.scatter(data, broadcast=True, hash=False)
        return self._shared[key]

    def _count_workers(self) -> int:
        try:
            return len(self.client.scheduler_info(n_workers=-1)["workers"])
        except TypeError:  # older distributed: no n_workers argument
            return len(self.client.scheduler_info()["workers"])
        except Exception:
            return 0

    def _watch(self, futures, stop):
        """A thread: cancel everything once the cluster has had no worker for
        :data:`NO_WORKERS_TIMEOUT` seconds (Dask would wait for one forever)."""
        import time
        since = None
        while not stop.wait(1.0):
            if self._count_workers() > 0:
                since = None
                continue
            since = since or time.monotonic()
            if time.monotonic() - since >= NO_WORKERS_TIMEOUT:
                self.lost = True
                self.client.cancel(list(futures))
                return

    def map(self, fn, tasks):
        import threading
        from distributed import as_completed
        futures = {}
        for i, args in enumerate(tasks):
            f = self.client.submit(fn, *args, pure=False, retries=RETRIES,
                                   key=f"coherence-{fn.__name__}-{i}-{os.urandom(4).hex()}")
            futures[f] = i
        self.lost = False
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(dict(futures), stop), daemon=True)
        watcher.start()
        try:
            for f in as_completed(futures):
                i = futures.pop(f)
                try:
                    result = f.result()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # KilledWorker after RETRIES deaths, a bug
                    result = RuntimeError(f"the cluster had no worker for "
                                          f"{NO_WORKERS_TIMEOUT:.0f} s") if self.lost else exc
                f.release()
                yield i, result
        finally:
            stop.set()
            for f in futures:
                f.cancel()

    def close(self):
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _probe(address: str) -> None:
    """Fail at once, not after the client's timeout, when nothing listens at a tcp address."""
    import socket
    m = re.match(r"^(?:tcp|tls)://\[?([^\]/]+?)\]?:(\d+)$", address)
    if not m:
        return
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=5).close()
    except OSError as exc:
        raise CoherenceError(f"--cluster {address}: cannot reach the Dask scheduler "
                             f"({exc.strerror or exc})") from None


_LOCAL = re.compile(r"^local(?::(\d+))?$")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise CoherenceError("--cluster needs Dask: pip install 'coherence[dist]' (or "
                             "'dask[distributed]')") from None
    return distributed


def make_executor(cluster: str | None = None, client=None, jobs: int | None = None):
    """The executor for ``client`` (a distributed.Client), else ``cluster`` (``local``,
    ``local:N`` or a scheduler address such as ``tcp://HOST:PORT``), else the embedded pool of
    ``jobs`` processes (default: one per CPU; 1 runs inline)."""
    if client is not None:
        return DaskExecutor(client)
    if cluster is None:
        jobs = jobs or os.cpu_count() or 1
        if jobs < 1:
            raise CoherenceError(f"--jobs must be at least 1, got {jobs}")
        return InlineExecutor() if jobs == 1 else PoolExecutor(jobs)
    m = _LOCAL.match(cluster)
    if m:
        n = int(m.group(1)) if m.group(1) else (jobs or os.cpu_count() or 1)
        if n < 1:
            raise CoherenceError(f"--cluster {cluster}: expected at least one worker")
        distributed = _distributed()
        import logging
        # A LocalCluster on one machine: one single-threaded process per worker (the
        # kernels release the GIL, but one run per core is what a worker should do).
        cl = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", silence_logs=logging.ERROR)
        return DaskExecutor(distributed.Client(cl), cluster=cl, own_client=True)
    if re.match(r"^(tcp|tls|inproc|ucx)://[^\s]+$", cluster):
        distributed = _distributed()
        _probe(cluster)
        try:
            c = distributed.Client(cluster, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise CoherenceError(f"--cluster {cluster}: cannot reach the Dask scheduler "
                                 f"({exc})") from None
        return DaskExecutor(c, own_client=True)
    raise CoherenceError(f"--cluster {cluster!r}: expected local, local:N or a scheduler "
                         f"address such as tcp://HOST:8786")
