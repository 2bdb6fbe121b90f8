"""Run every detector on a scenario: :func:`check` is what ``coherence sched FILE`` does.

1. Simulate under the policy (seeded) and read the timeline: starvation (K ticks, B bypasses,
   periodic schedule), livelock (periodic schedule), priority inversion, lock misuse; the final
   state: deadlock / lost wakeup / stuck; the acquisition order: potential deadlock.
2. With ``explore=True`` also explore every interleaving (see :mod:`explorer`).  When the
   exploration is complete it is the exact answer about deadlocks, so the lock-order heuristic
   (potential-deadlock) is dropped.
3. A blocked-forever finding from the simulation gets the shortest schedule the explorer finds
   to the same situation (bounded search), else the simulation's own steps.
"""

from __future__ import annotations

import numpy as np

from .blocking import blocked_mask, classify, permanently_blocked
from .explorer import explore as run_explore
from .findings import Report
from .lockorder import potential_deadlocks
from .misuse import misuse_findings
from .layout import pc_of
from .program import CompiledScenario
from .scenario import Scenario, compile_scenario
from .schedule import format_schedule, replay as run_replay
from .simulator import simulate
from . import timing

SHORTEN_STATES = 200_000


def check(scenario: Scenario | CompiledScenario, policy: str | None = None, seed: int | None = None,
          max_ticks: int | None = None, starve_ticks: int | None = None,
          bypass: int | None = None, explore: bool = False, max_states: int = 1_000_000,
          replay: str | None = None, shorten: bool = True, fairness: str = "strong",
          stop_periodic: bool = True) -> Report:
    """Check one scenario and return a :class:`~coherence.sched.findings.Report`.

    Parameters default to the scenario's own settings.  ``replay``: a schedule string; only that
    schedule is run (untimed) and the state detectors are applied to where it leads.
    ``fairness``: the explorer's starvation notion (strong | weak).  ``stop_periodic``: stop
    a deterministic policy's simulation as soon as its state repeats.
    """
    program = scenario if isinstance(scenario, CompiledScenario) else compile_scenario(scenario)
    sc = program.scenario
    policy = policy or sc.policy
    seed = sc.seed if seed is None else seed
    k = sc.starve_ticks if starve_ticks is None else starve_ticks
    b = sc.bypass if bypass is None else bypass
    if replay is not None:
        res = run_replay(program, replay)
        return Report(scenario=sc.name, file=sc.file, policy="replay", seed=seed,
                      findings=_dedupe(res.findings),
                      stats={"replayed_steps": len(res.trace) - 1,
                             "final_ops": {program.thread_names[t]: program.op_text(
                                 t, pc_of(res.state, t)) for t in range(program.n)}})
    sim = simulate(program, policy=policy, seed=seed, max_ticks=max_ticks,
                   detect_cycles=stop_periodic)
    findings = []
    st = sim.final_state
    blocked = blocked_mask(program, st)
    perm = blocked if sim.end == "deadlocked" else permanently_blocked(program, st, blocked)
    stuck = classify(program, st, perm, acq_site=None)
    formed = _formed_at(sim)
    all_steps = [program.thread_names[t] for t in sim.steps]
    for f in stuck:
        f.tick = max(formed.get(t, 0) for t in f.threads)
        f.schedule = format_schedule(all_steps)
    findings += stuck
    findings += potential_deadlocks(program, sim.lock_order)
    findings += timing.periodic(sim, perm)
    findings += timing.ready_too_long(sim, k)
    findings += timing.bypassed_too_often(sim, b)
    findings += timing.priority_inversions(sim)
    findings += misuse_findings(program, sim.misuses, seed=seed)
    for f in findings:
        if f.seed is None:
            f.seed = seed
        f.extra.setdefault("policy", policy)
    stats = {
        "ticks": sim.ticks, "end": sim.end, "max_ticks": int(max_ticks or sc.max_ticks),
        "steps": int(len(sim.steps)), "threads": sim.thread_stats(),
        "blocked_by_lower_priority": timing.max_blocking_by_lower(sim),
        "starve_ticks": k, "bypass": b,
    }
    if sim.end == "periodic":
        stats["cycle"] = {"start": sim.cycle_start, "period": sim.cycle_period}
    exploration = None
    if explore:
        exploration = run_explore(program, max_states=max_states, fairness=fairness)
        stats["explore"] = exploration.stats()
        if exploration.complete:
            findings = [f for f in findings if f.kind != "potential-deadlock"]
        findings = _merge(findings, exploration.findings)
        if exploration.interrupted:
            stats["interrupted"] = True
    elif shorten and stuck:
        short = run_explore(program, max_states=SHORTEN_STATES)
        if short.interrupted:  # Ctrl-C: keep the simulation's schedules, and say so
            stats["interrupted"] = True
        else:
            _shorten(findings, short.findings)
    return Report(scenario=sc.name, file=sc.file, policy=policy, seed=seed,
                  findings=_dedupe(findings), stats=stats, simulation=sim,
                  exploration=exploration)


def _formed_at(sim) -> dict:
    """Thread name -> tick from which it stayed blocked until the end."""
    out = {}
    status = sim.timeline_status
    for t, name in enumerate(sim.thread_names):
        if not len(status):
            break
        not_blocked = np.nonzero(status[:, t] != 3)[0]
        out[name] = int(not_blocked[-1]) + 1 if len(not_blocked) else 0
    return out


def _shorten(findings, better) -> None:
    by_key = {f.key(): f for f in better}
    for f in findings:
        g = by_key.get(f.key())
        if g is not None and g.schedule is not None and (
                f.schedule is None or _length(g.schedule) < _length(f.schedule)):
            f.extra["simulation_schedule"] = f.schedule
            f.schedule = g.schedule


def _length(schedule: str) -> int:
    total = 0
    for item in schedule.replace("(", "").replace(")", "").split(","):
        if not item:
            continue
        total += int(item.split("*")[1]) if "*" in item else 1
    return total


def _merge(sim_findings, explore_findings) -> list:
    out = list(sim_findings)
    _shorten(out, explore_findings)
    have = {f.key() for f in out}
    out += [f for f in explore_findings if f.key() not in have]
    return out


def _dedupe(findings) -> list:
    seen, out = set(), []
    for f in findings:
        if f.key() in seen:
            continue
        seen.add(f.key())
        out.append(f)
    return out
