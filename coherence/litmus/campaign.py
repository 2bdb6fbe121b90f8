"""Emulator campaigns: run a litmus test many times on the modelled machine, litmus7-style.

A campaign translates the test to the emulator's assembly (:func:`~.compile.to_asm`), then
runs it in batches (one kernel call per batch, :func:`coherence.run_batch`) under randomised
timing and tallies the final states.  The outcome is compared with the exhaustive verdicts:
states SC forbids (expected on a ``tso`` core for SB-like tests, a bug on an ``sc`` core),
states the emulated model itself forbids (always a bug), and allowed states never seen
(coverage).

Why several timing profiles: the relaxed outcomes of x86-TSO need the threads to overlap
and the store buffers to drain late, while the rarer interleavings need large start skews.
No single (skew, jitter, drain delay) covers both, so the iterations are spread over a fixed
cycle of profiles, each a batch of its own, all drawn from one seeded stream.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..asm import assemble
from ..config import SystemConfig
from ..engine import STATUS_NAMES, run_batch
from ..errors import CoherenceError
from ..protocols import get_protocol
from .compile import to_asm
from .enumerate import condition_validated, enumerate_states, observation_of
from .ir import LitmusTest

# (start_skew, jitter, drain_delay, issue_jitter) per batch, in cycles; the latencies are
# SystemConfig's defaults (memory 40, cache-to-cache 12, bus 4).  issue_jitter lets a load
# fall behind its own thread's store long enough to read another thread's later write.
PROFILES = ((0, 0, 0, 0), (0, 6, 60, 0), (20, 4, 120, 8), (60, 10, 30, 40),
            (120, 20, 200, 0), (250, 20, 20, 100), (8, 2, 10, 3), (400, 40, 400, 200),
            (30, 5, 600, 10), (300, 10, 800, 0), (500, 10, 1500, 0))

DEFAULT_ITERATIONS = 100_000


@dataclass
class Campaign:
    """The result of running one litmus test on the emulator.

    ``histogram`` lists ``(state, count)`` in herd's state order (state: dict location ->
    value); ``positive``/``negative`` count iterations whose final state satisfies / does not
    satisfy the condition's proposition.  ``sc_violations`` are observed states SC forbids,
    ``model_violations`` observed states the emulated model forbids (a bug), ``unseen`` the
    states the model allows that no iteration produced.
    """

    name: str
    model: str
    protocol: str
    iterations: int
    seed: int
    locations: list
    histogram: list
    positive: int
    negative: int
    sc_violations: list
    model_violations: list
    unseen: list
    statuses: dict
    elapsed: float
    quantifier: str = "exists"
    condition: str = ""
    satisfied: list = field(default_factory=list)  # per histogram row: proposition holds

    @property
    def observation(self) -> str:
        return observation_of(self.positive, self.negative)

    @property
    def ok(self) -> bool:
        """litmus7's Ok/No: whether the condition is validated by what was observed."""
        return condition_validated(self.quantifier, self.positive, self.negative)

    def to_json(self) -> dict:
        """The campaign's part of a ``--json`` entry."""
        return {
            "emulator": {"model": self.model, "protocol": self.protocol,
                         "iterations": self.iterations, "seed": self.seed,
                         "observation": self.observation, "positive": self.positive,
                         "negative": self.negative, "statuses": self.statuses,
                         "elapsed": round(self.elapsed, 4)},
            "histogram": [{"state": s, "count": n, "satisfies": h}
                          for (s, n), h in zip(self.histogram, self.satisfied)],
            "sc_violations": self.sc_violations,
            "model_violations": self.model_violations,
            "unseen": self.unseen,
        }


def campaign_config(threads: int, model: str, protocol: str, profile=(0, 0, 0, 0),
                    **overrides) -> SystemConfig:
    """The machine a campaign runs on: one core per thread, random arbitration, small L1."""
    skew, jitter, drain, issue = profile
    kw = dict(cores=threads, model=model, protocol=protocol, arbitration="random",
              l1_size=4096, l1_ways=4, start_skew=skew, jitter=jitter, drain_delay=drain,
              issue_jitter=issue, max_cycles=200_000, progress_window=50_000)
    kw.update(overrides)
    return SystemConfig(**kw)


#: The most iterations of one campaign (their final values are kept: 8 bytes each).
MAX_ITERATIONS = 100_000_000


def run_campaign(test: LitmusTest, model: str = "tso", protocol: str = "mesi",
                 iterations: int = DEFAULT_ITERATIONS, seed: int = 0, verdicts: dict | None = None,
                 **config_overrides) -> Campaign:
    """Run ``test`` ``iterations`` times on the emulator and compare with the exhaustive
    verdicts (computed here unless ``verdicts`` maps ``"sc"``/``model`` to them).

    Raises :class:`~coherence.errors.CoherenceError` when the test cannot run on the
    emulator (a construct the ISA cannot express, a ``filter`` clause).
    """
    if not 1 <= iterations <= MAX_ITERATIONS:  # each run keeps its final values in memory
        raise CoherenceError(f"iterations must be in 1..{MAX_ITERATIONS}, got {iterations}")
    if test.filter is not None:
        raise CoherenceError("campaigns do not support filter clauses", file=test.path,
                             line=test.line)
    verdicts = dict(verdicts or {})
    for m in {"sc", model}:
        if m not in verdicts:
            verdicts[m] = enumerate_states(test, m)
    text, observe = to_asm(test)
    program = assemble(text, test.path)
    names = [name for name, _ in observe]
    spec = [ob for _, ob in observe]
    t0 = time.perf_counter()
    chunks = []
    statuses: Counter = Counter()
    per = -(-iterations // len(PROFILES))
    left = iterations
    rng = np.random.default_rng(seed)
    for profile in PROFILES:
        n = min(per, left)
        if n <= 0:
            break
        cfg = campaign_config(len(test.threads), model, protocol, profile, **config_overrides)
        vals, codes = run_batch(program, cfg, n, seed=int(rng.integers(2**63)), observe=spec,
                                status_codes=True)
        kinds, counts = np.unique(codes, return_counts=True)
        statuses.update({STATUS_NAMES[k]: int(m) for k, m in zip(kinds, counts)})
        # Only a halted run has a final state; watchdog endings are reported in `statuses`.
        chunks.append(vals[codes == STATUS_NAMES.index("halted")])
        left -= n
    elapsed = time.perf_counter() - t0
    allv = np.concatenate(chunks) if chunks else np.zeros((0, len(spec)), np.int64)
    rows, counts = (np.unique(allv, axis=0, return_counts=True) if len(allv)
                    else (np.zeros((0, len(spec)), np.int64), np.zeros(0, np.int64)))
    observed = {tuple(int(x) for x in r): int(n) for r, n in zip(rows, counts)}

    vm, vsc = verdicts[model], verdicts["sc"]
    key = lambda st: tuple(st[n] for n in names)  # noqa: E731
    allowed = {key(s): s for s in vm.states}
    sc_allowed = {key(s) for s in vsc.states}
    order = [key(s) for s in vm.states]
    extra = sorted(k for k in observed if k not in allowed)
    histogram, satisfied = [], []
    positive = negative = 0
    for k in order + extra:
        if k not in observed:
            continue
        state = dict(zip(names, k))
        holds = vm.condition_holds(state)
        histogram.append((state, observed[k]))
        satisfied.append(holds)
        if holds:
            positive += observed[k]
        else:
            negative += observed[k]
    return Campaign(
        name=test.name, model=model, protocol=get_protocol(protocol).name,
        iterations=int(len(allv)), seed=seed, locations=names, histogram=histogram,
        positive=positive, negative=negative,
        sc_violations=[dict(zip(names, k)) for k in order + extra
                       if k in observed and k not in sc_allowed],
        model_violations=[dict(zip(names, k)) for k in extra],
        unseen=[dict(zip(names, k)) for k in order if k not in observed],
        statuses=dict(statuses), elapsed=elapsed, quantifier=vm.quantifier,
        condition=vm.condition, satisfied=satisfied)


def format_campaign(c: Campaign) -> str:
    """litmus7's report for one test, plus the SC-violation and coverage lines."""
    kind = {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}[c.quantifier]
    width = max([len(str(n)) for _, n in c.histogram] + [1])
    lines = [f"Test {c.name} {kind}",
             f"Histogram ({len(c.histogram)} states)"]
    for (state, n), holds in zip(c.histogram, c.satisfied):
        cells = " ".join(f"{k}={v};" for k, v in state.items())
        lines.append(f"{n:<{width}}{'*>' if holds else ':>'}{cells}")
    lines.append("Ok" if c.ok else "No")
    lines += ["", "Witnesses", f"Positive: {c.positive}, Negative: {c.negative}",
              f"Condition {c.condition} is {'' if c.ok else 'NOT '}validated",
              f"Observation {c.name} {c.observation} {c.positive} {c.negative}",
              f"Emulator {c.model.upper()} core, {c.protocol.upper()}, {c.iterations:,} "
              f"iterations in {c.elapsed:.2f} s, seed {c.seed}"]
    if set(c.statuses) - {"halted"}:
        lines.append("Statuses " + ", ".join(f"{k}={v}" for k, v in sorted(c.statuses.items())))

    def states(xs):
        return " | ".join(" ".join(f"{k}={v};" for k, v in s.items()) for s in xs) or "none"

    lines.append(f"SC violations: {states(c.sc_violations)}"
                 + (" (expected on a TSO core)" if c.sc_violations and c.model == "tso"
                    else ""))
    if c.model_violations:
        lines.append(f"{c.model.upper()} VIOLATIONS (the emulator shows states the model "
                     f"forbids): {states(c.model_violations)}")
    lines.append(f"Unseen: {states(c.unseen)}")
    return "\n".join(lines) + "\n"
