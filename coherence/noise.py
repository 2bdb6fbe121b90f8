"""Named timing-noise profiles: one name for a setting of the four randomised timing fields.

A profile sets ``start_skew``, ``jitter``, ``drain_delay`` and ``issue_jitter`` of a
:class:`~coherence.config.SystemConfig` (cycles; each is the top of a uniform draw from the
run's seed, see docs/machine.md).  ``coherence run --noise NAME``, ``coherence plot ...
--noise NAME`` and ``coherence litmus --noise NAME`` pick one; the litmus campaigns cycle
through :data:`CAMPAIGN` (one batch per profile), and ``coherence run --runs N`` uses
:data:`RUNS_DEFAULT` unless told otherwise.  docs/config.md lists them (generated from
:data:`PROFILES` by :func:`markdown_table`).

Standard library only: the CLI lists the names in its ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Noise:
    """One timing profile, in cycles (each value is the top of a uniform random draw)."""

    start_skew: int
    jitter: int
    drain_delay: int
    issue_jitter: int
    meaning: str = ""

    def fields(self) -> dict:
        """The SystemConfig fields this profile sets."""
        return {"start_skew": self.start_skew, "jitter": self.jitter,
                "drain_delay": self.drain_delay, "issue_jitter": self.issue_jitter}

    def as_tuple(self) -> tuple:
        return (self.start_skew, self.jitter, self.drain_delay, self.issue_jitter)


# Why so many: the relaxed outcomes of x86-TSO need the threads to overlap and the store
# buffers to drain late, while the rarer interleavings need large start skews; no single
# (skew, jitter, drain delay) covers both, so a litmus campaign spreads its iterations over
# all of them.  issue_jitter lets a load fall behind its own thread's store long enough to
# read another thread's later write.
PROFILES: dict[str, Noise] = {
    "none": Noise(0, 0, 0, 0, "no randomness: every seed gives the same run"),
    "drain": Noise(0, 6, 60, 0, "threads start together, stores drain late: "
                   "store-buffer relaxations (SB's 0/0)"),
    "mild": Noise(20, 4, 120, 8, "some skew, late drains, a little pipeline noise"),
    "issue": Noise(60, 10, 30, 40, "pipeline noise: loads fall behind their own thread"),
    "skewed": Noise(120, 20, 200, 0, "large start skews with late drains"),
    "skewed-issue": Noise(250, 20, 20, 100, "large start skews and pipeline noise"),
    "light": Noise(8, 2, 10, 3, "a little of everything"),
    "wild": Noise(400, 40, 400, 200, "a lot of everything"),
    "slow-drain": Noise(30, 5, 600, 10, "stores linger in the buffer"),
    "skewed-slow-drain": Noise(300, 10, 800, 0, "large skews, stores linger"),
    "very-slow-drain": Noise(500, 10, 1500, 0, "huge skews, stores linger very long"),
}

#: The litmus campaign's cycle of profiles (one batch each, in this order).
CAMPAIGN: tuple[str, ...] = ("none", "drain", "mild", "issue", "skewed", "skewed-issue",
                             "light", "wild", "slow-drain", "skewed-slow-drain",
                             "very-slow-drain")

#: What ``coherence run --runs N`` uses when no ``--noise`` and no noise field is given.
RUNS_DEFAULT = "wild"


def get_noise(name: str) -> Noise:
    """The profile called ``name``; an unknown name is a CoherenceError listing the names."""
    try:
        return PROFILES[str(name).lower()]
    except KeyError:
        from .errors import CoherenceError
        raise CoherenceError(f"unknown noise profile {name!r}, expected one of "
                             f"{', '.join(PROFILES)}") from None


def markdown_table() -> str:
    """The docs/config.md table of the profiles."""
    rows = ["| name | start_skew | jitter | drain_delay | issue_jitter | meaning |",
            "|---|---|---|---|---|---|"]
    for name, n in PROFILES.items():
        rows.append(f"| `{name}` | {n.start_skew} | {n.jitter} | {n.drain_delay} | "
                    f"{n.issue_jitter} | {n.meaning} |")
    return "\n".join(rows) + "\n"
