"""Running one golden case (shared by make_golden.py and tests/test_golden.py)."""

from __future__ import annotations

import numpy as np

import coherence
from coherence import SystemConfig, run, run_batch, run_trace
from coherence.errors import InvariantViolation
from coherence.protocols.standard import MESI, MOESI
from coherence.protocols.table import Impossible, Protocol, T


def _variant(base, name, pair, entry):
    return Protocol(name, base.states, {**base.table, pair: entry})


#: The protocols a case may name besides the standard ones: test protocols whose runs take
#: the paths the standard tables never take (a hit that is not stable, error entries).
PROTOCOLS = {p.name: p for p in (
    _variant(MESI, "mesi-silent-downgrade", ("E", "Load"), T("S")),
    _variant(MESI, "mesi-fragile", ("M", "Load"),
             Impossible("a test protocol: no load of a modified line")),
    _variant(MESI, "mesi-busrdx-keeps-shared", ("S", "BusRdX"), T("S")),
    _variant(MOESI, "moesi-owner-dropped", ("O", "Evict"), T("I")),
)}


def config_from(d: dict) -> SystemConfig:
    d = dict(d)
    d["protocol"] = PROTOCOLS.get(d["protocol"], d["protocol"])
    return SystemConfig(**d)


def error_fields(e: Exception) -> dict:
    """What an error says, as fields: its type and the cycle, core and address it names (the
    golden file spells them as the first recording did: strings, None for memory)."""
    return {"error": type(e).__name__, "cycle": str(e.cycle),
            "core": str(e.core) if e.core >= 0 else None, "address": f"{e.address:#x}"}


def outcome(case: dict):
    """The JSON-able result of one case: the run's to_dict(), or its error's fields."""
    cfg = config_from(case["config"])
    try:
        if case["kind"] == "trace":
            writes = [np.array(w, dtype=np.uint8) for w in case["writes"]]
            addrs = [np.array(a, dtype=np.int64) for a in case["addrs"]]
            return run_trace(writes, addrs, cfg, seed=case["seed"],
                             check=case["check"]).to_dict()
        prog = coherence.assemble(case["text"], case["name"])
        if case["kind"] == "batch":
            obs = [tuple(o) for o in case["observe"]]
            out, statuses = run_batch(prog, cfg, case["iterations"], seed=case["seed"],
                                      observe=obs, check=case["check"])
            return {"values": out.tolist(), "statuses": list(statuses)}
        if case["kind"] == "watch":
            r = run(prog, cfg, seed=case["seed"], watch=case["watch"])
            return {"result": r.to_dict(),
                    "line_states": {k: [list(x) for x in v] for k, v in r.line_states.items()}}
        return run(prog, cfg, seed=case["seed"], check=case["check"]).to_dict()
    except InvariantViolation as e:
        return error_fields(e)


# --------------------------------------------------------------------------- schedulers

import os  # noqa: E402

SCHED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples", "sched")


def sched_cases():
    from coherence.sched import POLICIES
    for name in sorted(os.listdir(SCHED_DIR)):
        if not name.endswith(".toml"):
            continue
        for policy in POLICIES:
            yield dict(kind="sched", name=name, policy=policy, explore=False)
        yield dict(kind="sched", name=name, policy=None, explore=True)


def sched_outcome(case: dict):
    from coherence import sched
    sc = sched.load(os.path.join(SCHED_DIR, case["name"]))
    try:
        rep = sched.check(sc, policy=case["policy"], explore=case["explore"],
                          max_states=200_000)
    except coherence.CoherenceError as e:
        return {"error": str(e)}
    d = _untimed(rep.to_dict())
    sim = sched.simulate(sched.compile_scenario(sc), policy=case["policy"] or sc.policy,
                         seed=sc.seed)
    d["timeline"] = [sim.timeline_status.tolist(), sim.timeline_pc.tolist()]
    # The scenario's path depends on where the checkout is.
    return json.loads(json.dumps(d).replace(SCHED_DIR, "examples/sched"))


def _untimed(d):
    """The report without the host's timings (seconds, states per second)."""
    if isinstance(d, dict):
        return {k: _untimed(v) for k, v in d.items()
                if k not in ("seconds", "states_per_second")}
    if isinstance(d, list):
        return [_untimed(v) for v in d]
    return d


import json  # noqa: E402
