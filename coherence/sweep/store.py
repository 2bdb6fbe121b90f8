"""The results folder: Parquet chunks written as results arrive, a manifest, resumable.

Layout::

    results/
      sweep.json            what the last sweep asked for: its axes and the order of its runs
      manifest.jsonl        one line per committed chunk: {"part": NAME, "runs": [ids]}
      part-000001-<r>.parquet   the rows of some runs (one column per axis, program, status,
      ...                       cycles, error and the flattened stats)
      .lock                 held while a sweep writes (a second sweep on the folder is refused)

Why Parquet: it is columnar and typed (a sweep's table is a few hundred numeric columns, read
a few at a time), pandas reads it directly (``pandas.read_parquet``), it compresses well, and
each chunk is a self-contained file, so chunks can be added by renaming, never by appending.

Why it survives a kill at any point: a chunk is written to a temporary name, flushed to disk
and renamed (an atomic step on POSIX), so a chunk file either exists whole or not at all;
leftover temporary files are removed when the folder is opened.  The manifest line is
appended after the rename; if the sweep dies between the two, opening the folder reads the
run ids of the chunks the manifest does not list from the chunks themselves.  A run id found
in two chunks (two sweeps that shared a folder by hand) is kept once by :func:`load`.
"""

from __future__ import annotations

import json
import os
import re
import secrets

from ..errors import CoherenceError

MANIFEST = "manifest.jsonl"
SWEEP = "sweep.json"
FORMAT = 1


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CoherenceError("sweep results need pyarrow and pandas: pip install "
                             "'coherence[dist]'") from None
    return pyarrow


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _parts(path: str) -> list[str]:
    return sorted(f for f in os.listdir(path) if f.startswith("part-") and f.endswith(".parquet"))


def _read_manifest(path: str) -> dict:
    """``{part: [run ids]}`` from the manifest (a torn last line is ignored)."""
    out = {}
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    out[entry["part"]] = list(entry["runs"])
                except (ValueError, KeyError, TypeError):
                    continue
    except FileNotFoundError:
        pass
    return out


def rows_table(rows: list[dict]):
    """Rows (dicts, not all with the same keys) as a :class:`pyarrow.Table`: the union of
    their columns, null where a row has no such key."""
    pa = _pyarrow()
    columns: dict = {}
    for r in rows:
        for k in r:
            columns.setdefault(k, None)
    data = {k: [r.get(k) for r in rows] for k in columns}
    try:
        return pa.table(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A column of mixed types (axis values such as [1, "x"]): kept as text.
        arrays = {}
        for k, v in data.items():
            try:
                arrays[k] = pa.array(v)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays[k] = pa.array([None if x is None else str(x) for x in v])
        return pa.table(arrays)


def to_frame(table):
    """A pyarrow table as a DataFrame with integer columns as pandas' nullable Int64
    (counters stay integers where a run lacks them: an error row, a core it did not have)."""
    pa = _pyarrow()
    import pandas as pd
    ints = {t: pd.Int64Dtype() for t in (pa.int64(), pa.int32(), pa.int16(), pa.int8())}
    return table.to_pandas(types_mapper=ints.get)


class Store:
    """A results folder opened for writing (created if needed; locked while open)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise CoherenceError(f"cannot create the results folder: {exc.strerror or exc}",
                                 self.path) from None
        if not os.path.isdir(self.path):
            raise CoherenceError("is not a folder, expected a results folder", self.path)
        self._lock = None
        try:
            import fcntl
            self._lock = open(os.path.join(self.path, ".lock"), "a+")
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lock.close()
                raise CoherenceError("the results folder is in use by another sweep (wait for "
                                     "it, or give another folder)", self.path) from None
        except ImportError:  # not POSIX: no lock
            pass
        # A temporary file is a chunk whose writer died before renaming it: not a result.
        for f in os.listdir(self.path):
            if f.endswith(".tmp"):
                try:
                    os.remove(os.path.join(self.path, f))
                except OSError:
                    pass
        present = _parts(self.path)
        # A part the manifest lists but the folder lacks (removed by hand): its runs are
        # not done.
        self.parts = {p: ids for p, ids in _read_manifest(self.path).items() if p in present}
        for part in present:
            if part not in self.parts:  # renamed, but its manifest line was not written
                self.parts[part] = _run_ids(os.path.join(self.path, part))
                self._append_manifest(part, self.parts[part])
        self.done = {r for ids in self.parts.values() for r in ids}
        self._seq = len(self.parts)

    def _append_manifest(self, part: str, ids: list) -> None:
        with open(os.path.join(self.path, MANIFEST), "a", encoding="utf-8") as f:
            f.write(json.dumps({"part": part, "runs": ids}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def describe(self, info: dict) -> None:
        """Write ``sweep.json`` (the axes and run order of the sweep), atomically."""
        tmp = os.path.join(self.path, f"{SWEEP}.{secrets.token_hex(4)}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, **info}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.path, SWEEP))

    def write(self, rows: list[dict]) -> str | None:
        """Commit ``rows`` (dicts, one per run, each with ``run_id``) as one chunk."""
        rows = [r for r in rows if r["run_id"] not in self.done]
        if not rows:
            return None
        import pyarrow.parquet as pq
        table = rows_table(rows)
        self._seq += 1
        part = f"part-{self._seq:06d}-{secrets.token_hex(3)}.parquet"
        tmp = os.path.join(self.path, part + ".tmp")
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.path, part))
        _fsync_dir(self.path)
        ids = [r["run_id"] for r in rows]
        self._append_manifest(part, ids)
        self.parts[part] = ids
        self.done.update(ids)
        return part

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _run_ids(path: str) -> list:
    _pyarrow()
    import pyarrow.parquet as pq
    try:
        return [str(x) for x in pq.read_table(path, columns=["run_id"]).column(0).to_pylist()]
    except Exception as exc:  # a damaged chunk (a disk fault, not a kill): say which
        raise CoherenceError(f"unreadable results chunk ({exc}); move it away and rerun to "
                             f"compute its runs again", path) from None


def load(path, runs=None):
    """The results folder at ``path`` as a :class:`pandas.DataFrame`: one row per run, in
    the order of the last sweep's run set (rows of other runs after them), each run once.
    Integer columns are pandas' nullable ``Int64`` (``<NA>`` where a run has no such stat).

    ``runs`` restricts the table to these run ids (in that order)."""
    _pyarrow()
    import pandas as pd
    import pyarrow.parquet as pq
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise CoherenceError("no such results folder", path)
    parts = _parts(path)
    frames = []
    for part in parts:
        try:
            frames.append(to_frame(pq.read_table(os.path.join(path, part))))
        except Exception as exc:
            raise CoherenceError(f"unreadable results chunk ({exc})",
                                 os.path.join(path, part)) from None
    if not frames:
        if not os.path.exists(os.path.join(path, SWEEP)) and \
                not os.path.exists(os.path.join(path, MANIFEST)):
            raise CoherenceError("not a sweep results folder (no part-*.parquet, no "
                                 f"{MANIFEST})", path)
        return pd.DataFrame({"run_id": pd.Series([], dtype=object)})
    df = pd.concat(frames, ignore_index=True, sort=False)
    df = df.drop_duplicates("run_id", keep="first")
    info = _sweep_info(path)
    if runs is not None:
        df = df[df["run_id"].isin(set(runs))]
    else:
        runs = info.get("order") or []
    rank = {r: i for i, r in enumerate(runs)}
    key = df["run_id"].map(lambda r: rank.get(r, len(rank)))
    df = df.assign(_rank=key).sort_values(["_rank", "run_id"], kind="stable")
    df = df.drop(columns="_rank")
    return df[column_order(df.columns, info.get("axes", []))].reset_index(drop=True)


def _sweep_info(path: str) -> dict:
    try:
        with open(os.path.join(path, SWEEP), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _natural(name: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def column_order(columns, axes=()) -> list:
    """run_id, the axes, program, status, cycles, error, then the stats in natural order
    (``cores.2`` before ``cores.10``): the same whatever chunks the rows came in."""
    columns = list(columns)
    head = [c for c in ["run_id", *axes, "program", "status", "cycles", "error"]
            if c in columns]
    rest = sorted((c for c in columns if c not in head), key=_natural)
    return head + rest
