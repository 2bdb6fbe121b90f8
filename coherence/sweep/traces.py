"""Trace workloads of a sweep: trace files and generated traces.

A trace file is text (``.trace``), one access per line, ``CORE R|W ADDRESS`` (the address in
decimal or 0x hex; ``#`` starts a comment), or NumPy's ``.npz`` with arrays ``writes_C`` and
``addrs_C`` for each core C = 0, 1, ...  Either runs with :func:`coherence.run_trace`.

A generated trace (``[[generate]]`` in the spec) is drawn for the run's core count from its own
seed, so it is the same on every worker::

    [[generate]]
    name = "shared10"      # the run's `program` column
    accesses = 10000       # per core
    footprint = 16384      # bytes of each core's private region
    shared = 0.1           # fraction of accesses to the shared region
    shared_footprint = 4096
    writes = 0.3           # fraction of accesses that are stores
    seed = 0               # the generator's seed (the run's `seed` axis drives the timing)
"""

from __future__ import annotations

import zipfile

from ..errors import CoherenceError

GENERATOR_DEFAULTS = {"accesses": 10_000, "footprint": 16_384, "shared": 0.1,
                      "shared_footprint": 4096, "writes": 0.3, "seed": 0}


def check_generator(spec, key: str, g) -> dict:
    """A ``[[generate]]`` table, validated, with its defaults filled in."""
    if not isinstance(g, dict):
        raise spec.error(key, "each [[generate]] entry must be a table")
    out = dict(GENERATOR_DEFAULTS)
    if "name" not in g or not isinstance(g["name"], str) or not g["name"]:
        raise spec.error(key, "[[generate]] needs name = \"...\" (the run's program column)")
    for k, v in g.items():
        where = f"{key}.{k}"
        if k == "name":
            continue
        if k not in GENERATOR_DEFAULTS:
            raise spec.error(where, f"unknown generator key {k!r}, expected name, "
                                    f"{', '.join(GENERATOR_DEFAULTS)}")
        if k in ("shared", "writes"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise spec.error(where, f"{k} must be a fraction in 0..1, got {v!r}")
        else:
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if k == "seed" else 1):
                raise spec.error(where, f"{k} must be a positive integer, got {v!r}")
        out[k] = v
    if out["accesses"] > 10_000_000:
        raise spec.error(f"{key}.accesses", "accesses must be at most 10,000,000 per core")
    out["name"] = g["name"]
    return out


def generate(params: dict, cores: int):
    """``(writes, addrs)``: one trace per core, a pure function of ``params`` and ``cores``.
    Each core works in a private region of ``footprint`` bytes; a ``shared`` fraction of its
    accesses go to a region all cores share."""
    import numpy as np
    rng = np.random.default_rng([int(params["seed"]), int(cores)])
    n = int(params["accesses"])
    writes, addrs = [], []
    for c in range(cores):
        private = (1 << 24) * (c + 1) + rng.integers(0, max(params["footprint"] // 8, 1), n) * 8
        shared = rng.integers(0, max(params["shared_footprint"] // 8, 1), n) * 8
        is_shared = rng.random(n) < params["shared"]
        addrs.append(np.where(is_shared, shared, private).astype(np.int64))
        writes.append((rng.random(n) < params["writes"]).astype(np.uint8))
    return writes, addrs


def load_trace(path: str, label: str | None = None):
    """``(writes, addrs)`` of a trace file (see the module docstring); errors name the file
    and line."""
    import numpy as np
    label = label or path
    if path.endswith(".npz"):
        try:
            with np.load(path) as z:
                names = set(z.files)
                cores = 0
                while f"addrs_{cores}" in names:
                    cores += 1
                if cores == 0 or any(f"writes_{c}" not in names for c in range(cores)):
                    raise CoherenceError("expected arrays writes_0, addrs_0, writes_1, addrs_1,"
                                         f" ... (found {', '.join(sorted(names)) or 'none'})",
                                         label)
                return ([z[f"writes_{c}"] for c in range(cores)],
                        [z[f"addrs_{c}"] for c in range(cores)])
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise CoherenceError(f"cannot read the .npz trace: {exc}", label) from None
    from ..textfile import read_text
    text = read_text(path, "a text trace (core write address lines)")[1]
    per: dict[int, tuple[list, list]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3:
            raise CoherenceError(f"expected 'CORE R|W ADDRESS', got {line!r}", label, n)
        core, op, addr = parts
        try:
            c = int(core)
            a = int(addr, 0)
        except ValueError:
            raise CoherenceError(f"expected a core number and an address, got {line!r}",
                                 label, n) from None
        if not 0 <= c < 64:
            raise CoherenceError(f"core {c} is out of range, expected 0..63", label, n)
        if a < 0:
            raise CoherenceError(f"negative address {a}", label, n)
        if op.upper() not in ("R", "W"):
            raise CoherenceError(f"access {op!r} is not R or W", label, n)
        w, ad = per.setdefault(c, ([], []))
        w.append(op.upper() == "W")
        ad.append(a)
    if not per:
        raise CoherenceError("the trace has no accesses", label)
    cores = max(per) + 1
    writes = [np.array(per.get(c, ([], []))[0], dtype=np.uint8) for c in range(cores)]
    addrs = [np.array(per.get(c, ([], []))[1], dtype=np.int64) for c in range(cores)]
    return writes, addrs
