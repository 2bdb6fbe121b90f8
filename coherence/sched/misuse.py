"""Lock misuse (release of a lock not held, ...): reported as findings, never a crash.

The kernels return misuse events ``(when, thread, pc, code, argument)``; the faulty op is
skipped (as an error-checking mutex returns EPERM) and the thread carries on.
"""

from __future__ import annotations

from . import semantics as S
from .findings import Finding
from .program import CompiledScenario

_DEFS = {
    S.MISUSE_RELEASE_NOT_HELD: ("release-not-held", "mutex"),
    S.MISUSE_WAIT_NOT_HELD: ("wait-not-held", "mutex"),
    S.MISUSE_READ_UNLOCK_NOT_HELD: ("read-unlock-not-held", "rwlock"),
    S.MISUSE_WRITE_UNLOCK_NOT_HELD: ("write-unlock-not-held", "rwlock"),
    S.MISUSE_RECURSIVE_READ: ("recursive-read-lock", "rwlock"),
    S.MISUSE_FINISHED_HOLDING: ("finished-holding-lock", "object"),
    S.MISUSE_SEM_OVERFLOW: ("semaphore-overflow", "semaphore"),
}


def _resource(program: CompiledScenario, kind: str, arg: int) -> str:
    if kind == "mutex":
        return program.mutexes[arg]
    if kind == "rwlock":
        return program.rwlocks[arg]
    if kind == "semaphore":
        return program.semaphores[arg]
    return program.lock_object_names()[arg]


def misuse_findings(program: CompiledScenario, events, source: str = "simulation",
                    seed: int | None = None, unit: str = "tick") -> list:
    """One finding per distinct (definition, thread, op); ``events`` as returned by kernels."""
    seen = {}
    for when, t, pc, code, arg in events:
        t, pc, code, arg = int(t), int(pc), int(code), int(arg)
        if code not in _DEFS:
            continue
        key = (code, t, pc)
        if key in seen:
            seen[key][1] += 1
            continue
        seen[key] = [(int(when), t, pc, code, arg), 1]
    out = []
    for (when, t, pc, code, arg), count in seen.values():
        definition, kind = _DEFS[code]
        res = _resource(program, kind, arg)
        name = program.thread_names[t]
        if code == S.MISUSE_FINISHED_HOLDING:
            detail = f"{name} finished holding {res} (last op {program.where(t, pc)})"
        else:
            detail = f"{name}: {program.where(t, pc)}: {definition.replace('-', ' ')} ({res})"
        if count > 1:
            detail += f", {count} times"
        out.append(Finding(kind="lock-misuse", definition=definition, threads=[name],
                           locks=[res], detail=detail + f" (first at {unit} {when})",
                           body=[detail], tick=when if unit == "tick" else None, seed=seed,
                           source=source, origin=(when, t, pc, code, arg)))
    return out
