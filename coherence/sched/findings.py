"""Findings (what a detector reports) and the report of one scenario.

Every finding names its ``kind`` (deadlock, potential-deadlock, starvation, livelock,
lost-wakeup, priority-inversion, plus the extensions stuck and lock-misuse) and the
``definition`` that fired (see :data:`DEFINITIONS`), and ends with a replayable ``schedule``
and/or the ``seed`` that reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("deadlock", "potential-deadlock", "starvation", "livelock", "lost-wakeup",
         "priority-inversion", "stuck", "lock-misuse")

DEFINITIONS = {
    "wait-for-cycle": "a cycle in the wait-for graph: each thread waits for a lock held by the "
                      "next one",
    "lock-order-cycle": "a cycle in the lock-order graph (lock names, edges from acquisition "
                        "order) taken by distinct threads with no common gate lock",
    "ready-longer-than-K": "a runnable thread was not scheduled for more than K ticks",
    "bypassed-more-than-B": "a waiting thread saw the resource it waits for taken by others more "
                            "than B times in one wait",
    "fair-cycle": "a reachable cycle of states that is strongly fair (every thread enabled at "
                  "some state of it runs in it) in which the thread is never enabled and never "
                  "runs, although it is not blocked forever",
    "fair-cycle-weak": "a reachable cycle of states that is weakly fair (no thread stays enabled "
                       "throughout without running) in which the thread is enabled at some "
                       "state yet never runs (explore --fairness weak)",
    "policy-cycle": "the policy's schedule repeats a cycle of states in which the thread is "
                    "runnable (or waiting) throughout yet never runs",
    "fair-cycle-no-progress": "a reachable cycle of states in which every live thread keeps "
                              "being scheduled yet no thread that should terminate finishes",
    "policy-cycle-no-progress": "the policy's schedule repeats a cycle of states in which every "
                                "live thread runs yet no thread that should terminate finishes",
    "waits-on-condition-nobody-can-signal": "a thread blocked forever in `wait` on a condition "
                                            "that no live thread can signal any more",
    "blocked-forever-no-cycle": "a thread blocked forever although no wait-for cycle holds it "
                                "(the holder finished, or no live thread posts the semaphore)",
    "blocked-by-lower-while-middle-runs": "a high-priority thread blocked on a lock held by a "
                                          "lower-priority thread while a middle-priority thread "
                                          "runs",
    "release-not-held": "release of a mutex the thread does not hold",
    "wait-not-held": "wait on a condition without holding its mutex",
    "read-unlock-not-held": "read_unlock of an rwlock the thread does not hold for reading",
    "write-unlock-not-held": "write_unlock of an rwlock the thread does not hold for writing",
    "recursive-read-lock": "read_lock of an rwlock the thread already holds for reading",
    "finished-holding-lock": "a thread finished while still holding a lock",
    "semaphore-overflow": "sem_post beyond the maximum count",
}


@dataclass
class Finding:
    """One detector report.

    ``threads``/``locks``: names involved; ``detail``: one human sentence; ``body``: the
    jstack-like text lines; ``schedule``: replay string (``--replay``) or None; ``seed``: the
    seed that reproduces it under ``policy`` (simulation findings); ``tick``: when it showed.
    """

    kind: str
    definition: str
    threads: list
    locks: list
    detail: str
    body: list = field(default_factory=list)
    schedule: str | None = None
    seed: int | None = None
    tick: int | None = None
    source: str = "simulation"   # simulation | explore | replay
    extra: dict = field(default_factory=dict)
    origin: tuple | None = field(default=None, repr=False)  # first raw event (not in JSON)

    def key(self) -> tuple:
        """Identity used to drop duplicates (same kind, definition, threads, locks)."""
        return (self.kind, self.definition, tuple(sorted(self.threads)), tuple(sorted(self.locks)))

    def to_dict(self) -> dict:
        """The JSON form: kind, definition, threads, locks, detail, schedule (+ seed, tick...)."""
        out = {"kind": self.kind, "definition": self.definition, "threads": list(self.threads),
               "locks": list(self.locks), "detail": self.detail, "schedule": self.schedule,
               "seed": self.seed, "tick": self.tick, "source": self.source}
        out.update(self.extra)
        return out


@dataclass
class Report:
    """Everything checked for one scenario: findings plus statistics."""

    scenario: str
    file: str | None
    policy: str
    seed: int
    findings: list
    stats: dict
    simulation: object = None   # SimResult (for the Gantt chart)
    exploration: object = None  # ExploreResult

    @property
    def clean(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def kinds(self) -> set:
        """The set of finding kinds."""
        return {f.kind for f in self.findings}

    def of_kind(self, kind: str) -> list:
        """Findings of one kind."""
        return [f for f in self.findings if f.kind == kind]

    def to_dict(self) -> dict:
        """The JSON document: scenario, policy, findings, stats (+ file, seed)."""
        return {"scenario": self.scenario, "file": self.file, "policy": self.policy,
                "seed": self.seed, "findings": [f.to_dict() for f in self.findings],
                "stats": self.stats}
