"""The run set of a spec: the cross product of workloads and axes, each run with a stable id.

A run's id is a hash of what determines its result: the workload's label and content (a
program's text, a trace's bytes, a generator's parameters), the SystemConfig fields the spec
sets (fixed ones and axes), the seed, the check flag and the engine's source (another version
of the engine computes its own results).  So a rerun of the same spec finds
the same ids in the results folder, an edited program or a changed ``[config]`` gives new ids
(those runs are computed again), and adding an axis value computes only the new runs.

Everything a worker needs travels with its task (:class:`Workload` payloads: program text,
trace arrays, generator parameters), so workers need no shared file system.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field

from ..errors import CoherenceError, InvariantViolation

RESERVED = ("run_id", "program", "status", "cycles", "error")


@dataclass
class Workload:
    """One workload: ``kind`` is ``program``, ``trace`` or ``generate``; ``payload`` what a
    worker runs (program text; ``(writes, addrs)``; generator parameters)."""

    key: str
    label: str
    kind: str
    payload: object
    digest: str
    cores: int | None = None          # the workload's own core count (None: none of its own)
    _assembled: dict = field(default_factory=dict, repr=False)

    def program_for(self, cores: int):
        """``(assemble's cores argument, None)`` for a run on ``cores`` cores, or ``(None,
        reason)`` when the program cannot run there.  A ``.core all`` program is assembled
        for the run's cores; one with its own core count runs with the extra cores idle."""
        if cores in self._assembled:
            return self._assembled[cores]
        from ..asm import assemble
        try:
            assemble(self.payload, self.label, cores=cores)
            out = (cores, None)
        except CoherenceError as exc:
            if self.cores is not None and self.cores <= cores:
                out = (None, None)
            elif self.cores is not None:
                out = (None, f"the program has {self.cores} cores, the run {cores}")
            else:
                out = (None, str(exc))
        self._assembled[cores] = out
        return out


def _digest(*parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def engine_stamp() -> str:
    """A hash of the engine's source (its numba call tree): results computed by another
    version of the engine are not this one's, so they get other run ids."""
    from .._jit import call_tree_stamp
    return call_tree_stamp("engine")[:16]


def run_id(workload: Workload, config: dict, seed: int, check: bool,
           engine: str = "") -> str:
    """The stable id of one run (16 hex digits)."""
    doc = json.dumps({"w": workload.label, "d": workload.digest, "c": config, "s": seed,
                      "k": bool(check), "e": engine}, sort_keys=True, default=str)
    return _digest(doc)[:16]


def load_workloads(spec) -> list[Workload]:
    """Read every workload of the spec (a program that does not assemble for any run is a
    spec error, with the program's file and line)."""
    from ..asm import assemble
    out = []
    for label, path in spec.programs:
        try:
            raw = open(path, "rb").read()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CoherenceError(f"cannot read the program: {exc}", label) from None
        try:
            own = assemble(text, label).cores
        except CoherenceError:
            own = None  # `.core all` without `.cores N`: it needs the cores axis
        out.append(Workload(f"p:{label}", label, "program", text, _digest(raw), own))
    from .traces import load_trace
    for label, path in spec.traces:
        writes, addrs = load_trace(path, label)
        raw = open(path, "rb").read()
        out.append(Workload(f"t:{label}", label, "trace", (writes, addrs), _digest(raw),
                            len(addrs)))
    for g in spec.generate:
        params = {k: v for k, v in g.items() if k != "name"}
        out.append(Workload(f"g:{g['name']}", g["name"], "generate", params,
                            _digest(json.dumps(params, sort_keys=True))))
    return out


@dataclass
class RunSet:
    """The expanded run set: ``runs`` (descriptors for workers, runnable ones), ``rows`` (the
    columns every run's row starts with, by id), ``order`` (every id in the spec's order),
    ``failed`` (rows of runs that cannot run, status ``error``), ``workloads`` by key."""

    axes: list
    order: list
    rows: dict
    runs: list
    failed: list
    workloads: dict


def expand(spec) -> RunSet:
    """The cross product workloads x axes, in the spec's order (workloads outermost)."""
    from ..config import SystemConfig
    workloads = load_workloads(spec)
    axes = list(spec.axes)
    if not axes:
        combos = [()]
    else:
        combos = list(itertools.product(*(spec.axes[a] for a in axes)))
    order, rows, runs, failed = [], {}, [], []
    seen = set()
    engine = engine_stamp()
    for w in workloads:
        runnable_somewhere = False
        first_reason = None
        for combo in combos:
            values = dict(zip(axes, combo))
            seed = values.get("seed", 0)
            cfg = dict(spec.config)
            cfg.update({k: v for k, v in values.items() if k != "seed"})
            reason = None
            if "cores" not in cfg:
                if w.cores is None and w.kind == "program":
                    raise spec.error("axes", f"{w.label}: the program uses '.core all' without "
                                             f"'.cores N': give a cores axis")
                # A generated trace has no core count of its own: SystemConfig's default.
                cfg["cores"] = w.cores if w.cores is not None else SystemConfig().cores
            cores_arg = None
            try:
                SystemConfig(**cfg)
            except (CoherenceError, TypeError, ValueError) as exc:
                reason = str(exc)
            if reason is None and w.kind == "program":
                cores_arg, reason = w.program_for(cfg["cores"])
            elif reason is None and w.kind == "trace" and w.cores > cfg["cores"]:
                reason = f"the trace has {w.cores} cores, the run {cfg['cores']}"
            rid = run_id(w, cfg, seed, spec.check, engine)
            if rid in seen:
                continue
            seen.add(rid)
            order.append(rid)
            row = {"run_id": rid, **{a: values[a] for a in axes}, "program": w.label}
            rows[rid] = row
            if reason is None:
                runnable_somewhere = True
                runs.append({"id": rid, "w": w.key, "cores_arg": cores_arg, "config": cfg,
                             "seed": seed, "check": spec.check})
            else:
                first_reason = first_reason or reason
                failed.append({**row, "status": "error", "cycles": 0, "error": reason})
        if not runnable_somewhere and w.kind == "program":
            # Nothing of this program can run: most likely the file itself is wrong.
            from ..asm import assemble
            assemble(w.payload, w.label, cores=w.cores)
            raise spec.error("axes", f"{w.label}: no run can run ({first_reason})")
    return RunSet(axes, order, rows, runs, failed, {w.key: w for w in workloads})


def payloads_for(runset: RunSet, runs: list, share=None) -> dict:
    """The workloads a batch of runs needs, as plain data for the worker; ``share`` (the
    executor's) may replace each by a handle sent once (Dask: a scattered future)."""
    out = {}
    for r in runs:
        w = runset.workloads[r["w"]]
        if w.key not in out:
            data = (w.kind, w.label, w.payload)
            out[w.key] = share(w.key, data) if share is not None else data
    return out


def flatten(prefix: str, value, out: dict) -> None:
    """Nested dicts and lists as dotted columns: ``cores.0.misses``, ``bus.BusRd``."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}{k}.", v, out)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            flatten(f"{prefix}{i}.", v, out)
    else:
        out[prefix[:-1]] = value


def result_row(result, keep=None) -> dict:
    """A RunResult as a row: status, cycles and the flattened stats and memory."""
    row = {"status": result.status, "cycles": int(result.cycles), "error": ""}
    flat: dict = {}
    flatten("", result.stats, flat)
    if result.memory:
        flatten("memory.", result.memory, flat)
    if keep is not None:
        from fnmatch import fnmatchcase
        flat = {k: v for k, v in flat.items() if any(fnmatchcase(k, p) for p in keep)}
    row.update(flat)
    return row


def error_row(exc) -> dict:
    status = "violation" if isinstance(exc, InvariantViolation) else "error"
    return {"status": status, "cycles": 0, "error": str(exc)}
