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
cycle of profiles, each a batch of its own, then over batches whose timing is drawn at
random, all from one seeded stream (:func:`batch_plan`).

Why random pauses: noise that every core draws alike (skew, jitter) makes the interleavings
in which one thread's two accesses straddle several other threads' whole sequences
vanishingly rare, yet SC allows them and real machines show them (a thread is interrupted,
misses in the TLB, is descheduled).  So the random batches also put ``delay`` instructions
of random lengths between some of each thread's instructions, a different pattern per batch:
timing only, the test's accesses and values are untouched.

Why directed batches first: some allowed states need several rare timings at once and stay
unseen by random timing for millions of iterations, yet the enumerator knows an execution
of each; :mod:`.directed` turns it into pauses and drain delays (:func:`directed_plan`).
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..asm import assemble
from ..config import SystemConfig
from ..engine import STATUS_NAMES, run_batch
from ..errors import CoherenceError, PartialResultWarning
from ..noise import CAMPAIGN, PROFILES as NOISE_PROFILES
from ..protocols import get_protocol
from . import directed
from .compile import to_asm
from .directed import directed_schedules
from .enumerate import condition_validated, enumerate_states, observation_of
from .ir import LitmusTest

# (start_skew, jitter, drain_delay, issue_jitter) per batch, in cycles: the named profiles of
# coherence.noise (the one definition; CAMPAIGN says why there are several) in its order.
# The latencies are SystemConfig's defaults (memory 40, cache-to-cache 12, bus 4).
PROFILES = tuple(NOISE_PROFILES[name].as_tuple() for name in CAMPAIGN)

DEFAULT_ITERATIONS = 100_000

# Batches per campaign: the fixed profiles first, then random ones (:func:`batch_plan`), at
# most BATCHES and at least MIN_PER_BATCH iterations each.  Many small batches explore more:
# a rare state needs one of few timings, and each batch is one draw of the timing (measured on
# 80 held-out 4-thread tests at 100,000 iterations, allowed states never seen on TSO / SC
# cores: 64 batches 33 / 15, 256 batches 9 / 1, 512 batches 10 / 0; the fixed profiles
# alone 257 / 71).  A batch costs about a millisecond of setup.
BATCHES = 512
MIN_PER_BATCH = 200
# The latencies of a "fast" random batch: the bus then serves requests about as fast as the
# cores issue them, so jitter and pauses decide the order of nearly every access.
FAST_LATENCIES = dict(bus_latency=1, mem_latency=2, c2c_latency=2, wb_latency=1)
PAUSE_MAX = 400      # cycles: the longest random pause between two instructions
PAUSE_CHANCE = 0.3   # of a pause after any one instruction, in a batch with pauses


@dataclass(frozen=True)
class Batch:
    """One batch of a campaign: its timing profile (skew, jitter, drain delay, issue jitter;
    the last two may be per-core tuples), latency overrides, the pauses to insert
    (``{(thread, instruction index): cycles}``) and its share of the iterations."""

    profile: tuple
    latencies: dict
    pauses: dict
    iterations: int


def batch_plan(test_shape, iterations: int, rng) -> list:
    """The batches of a campaign of ``iterations`` over a test whose threads have the
    instruction counts ``test_shape``: the fixed PROFILES, then random profiles, half of them
    with fast latencies and half with random pauses; iterations split evenly."""
    nb = max(1, min(BATCHES, max(len(PROFILES), iterations // MIN_PER_BATCH), iterations))

    def logu(hi, zero=0.3):
        """0 with probability ``zero``, else log-uniform in 1..hi."""
        return 0 if rng.random() < zero else int(np.exp(rng.uniform(0, np.log(hi + 1))))

    batches = []
    for i in range(nb):
        n = iterations // nb + (1 if i < iterations % nb else 0)
        if i < len(PROFILES):
            batches.append(Batch(PROFILES[i], {}, {}, n))
            continue
        profile = (logu(500), logu(20), logu(1000), logu(300))
        if rng.random() < 0.5:
            # Each core its own drain delay and issue jitter: one buffer holds its stores
            # while the other cores run on (or one core dawdles while the others race).
            threads = len(test_shape)
            profile = (profile[0], profile[1], tuple(logu(1000) for _ in range(threads)),
                       tuple(logu(300) for _ in range(threads)))
        lat = FAST_LATENCIES if rng.random() < 0.5 else {}
        pauses = {}
        if rng.random() < 0.5:
            for th, count in enumerate(test_shape):
                for k in range(count):
                    if rng.random() < PAUSE_CHANCE:
                        pauses[(th, k)] = logu(PAUSE_MAX, zero=0)
        batches.append(Batch(profile, lat, pauses, n))
    return batches


def directed_plan(test: LitmusTest, model: str, text: str, iterations: int) -> list:
    """The directed batches of a chunk of ``iterations`` (:mod:`.directed`): one per state
    the model allows (at most ``MAX_STATES``), each of ``PER_STATE`` iterations or
    ``MARGIN / chance`` when the schedule's holds make one iteration unlikely to follow it
    (at most ``MAX_PER_STATE``), together at most ``SHARE`` of the chunk (scaled down
    evenly past it); fast latencies, a jitter of one cycle, the schedule's pauses and drain
    delays."""
    schedules = directed_schedules(test, model, text)[:directed.MAX_STATES]
    if not schedules:
        return []
    budget = int(iterations * directed.SHARE)
    want = [min(directed.MAX_PER_STATE,
                max(directed.PER_STATE, int(np.ceil(directed.MARGIN / chance))))
            for _p, _d, chance in schedules]
    scale = min(1.0, budget / sum(want))
    batches = [Batch((0, 1, drains, 0), FAST_LATENCIES, pauses, int(w * scale))
               for (pauses, drains, _c), w in zip(schedules, want)]
    return [b for b in batches if b.iterations > 0]


def fixed_plan(profiles, iterations: int) -> list:
    """A campaign over the given profiles only (``run_campaign(profiles=...)``): the
    iterations split evenly over them, in order, no random batches."""
    if not profiles:
        raise CoherenceError("profiles must name at least one timing profile")
    per = -(-iterations // len(profiles))
    out, left = [], iterations
    for profile in profiles:
        n = min(per, left)
        if n > 0:
            out.append(Batch(tuple(profile), {}, {}, n))
        left -= n
    return out


def with_pauses(text: str, pauses: dict) -> str:
    """The emulator assembly of :func:`~.compile.to_asm` with ``delay`` instructions after
    the instructions ``pauses`` names (``(thread, index)``: index counts the thread's
    instruction lines from 0, -1 puts the delay before the first; labels are not
    instructions)."""
    if not pauses:
        return text
    out, core, k = [], -1, 0
    for line in text.splitlines():
        out.append(line)
        s = line.strip()
        if s.startswith(".core"):
            core, k = int(s.split()[1]), 0
            d = pauses.get((core, -1))
            if d:
                out.append(f"    delay {d}")
        elif core >= 0 and line.startswith(" ") and s and not s.startswith(";"):
            d = pauses.get((core, k))
            if d:
                out.append(f"    delay {d}")
            k += 1
    return "\n".join(out) + "\n"


def _shape(text: str) -> list:
    """Instruction lines per core of an assembly text from to_asm."""
    counts = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(".core"):
            counts.append(0)
        elif counts and line.startswith(" ") and s and not s.startswith(";"):
            counts[-1] += 1
    return counts


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


#: Iterations per chunk.  A campaign is a sequence of chunks, each run from its own seed
#: (:func:`chunk_seed`), so it can be split over workers in any way and merged to the same
#: histogram, and memory stays flat however many iterations are asked for (a chunk's
#: final states are counted, then dropped).  Each chunk runs the batches of :func:`batch_plan`.
CHUNK = 1 << 18


def chunk_seed(seed: int, name: str, index: int) -> int:
    """The seed of chunk ``index`` of test ``name``'s campaign with ``seed``."""
    import hashlib
    h = hashlib.blake2b(f"{int(seed)}\0{name}\0{int(index)}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little") >> 1


def plan_chunks(iterations: int, chunk: int = CHUNK):
    """``(index, iterations)`` of each chunk: full chunks, then the rest (a generator, so a
    campaign of 10^9 iterations holds one at a time)."""
    if chunk < 1:
        raise CoherenceError(f"the chunk size must be >= 1, got {chunk}")
    full, rest = divmod(int(iterations), chunk)
    for k in range(full):
        yield k, chunk
    if rest:
        yield full, rest


def campaign_program(test: LitmusTest):
    """``(program, location names, observations, assembly text)`` of a test on the emulator;
    raises :class:`~coherence.errors.CoherenceError` when it cannot run there."""
    if test.filter is not None:
        raise CoherenceError("campaigns do not support filter clauses", file=test.path,
                             line=test.line)
    text, observe = to_asm(test)
    program = assemble(text, test.path)
    return program, [name for name, _ in observe], [ob for _, ob in observe], text


def run_chunk(test: LitmusTest, model: str, protocol, index: int, iterations: int,
              seed: int = 0, program=None, profiles=None, **config_overrides):
    """One chunk of a campaign: ``(observed, statuses, seconds)``, ``observed`` mapping each
    final state (a tuple of the observed values) to its count, ``statuses`` each run's end
    (halted or a watchdog's) to its count.  A pure function of its arguments (``profiles``
    and ``config_overrides``: as for :func:`run_campaign`)."""
    program, _names, spec, text = campaign_program(test) if program is None else program
    t0 = time.perf_counter()
    observed: Counter = Counter()
    statuses: Counter = Counter()
    rng = np.random.default_rng(chunk_seed(seed, test.name, index))
    halted = STATUS_NAMES.index("halted")
    if profiles is None:
        plan = directed_plan(test, model, text, iterations)
        rest = iterations - sum(b.iterations for b in plan)
        plan += batch_plan(_shape(text), rest, rng) if rest > 0 else []
    else:
        plan = fixed_plan(tuple(profiles), iterations)
    for batch in plan:
        prog = assemble(with_pauses(text, batch.pauses), test.path) if batch.pauses else program
        cfg = campaign_config(len(test.threads), model, protocol, batch.profile,
                              **{**batch.latencies, **config_overrides})
        with warnings.catch_warnings():
            # A watchdog ending is reported in the campaign's statuses, not as a warning.
            warnings.simplefilter("ignore", PartialResultWarning)
            vals, codes = run_batch(prog, cfg, batch.iterations, seed=int(rng.integers(2**63)),
                                    observe=spec, status_codes=True)
        counts = np.bincount(codes, minlength=len(STATUS_NAMES))
        statuses.update({STATUS_NAMES[k]: int(m) for k, m in enumerate(counts) if m})
        # Only a halted run has a final state; watchdog endings are reported in `statuses`.
        vals = vals[codes == halted]
        if len(vals):
            rows, counts = np.unique(vals, axis=0, return_counts=True)
            for r, m in zip(rows, counts):
                observed[tuple(int(x) for x in r)] += int(m)
    return dict(observed), dict(statuses), time.perf_counter() - t0


#: The most iterations of one campaign: memory stays one chunk's whatever the count, so this
#: only catches a mistyped count (10^12 iterations take days).
MAX_ITERATIONS = 10**12


def run_campaign(test: LitmusTest, model: str = "tso", protocol: str = "mesi",
                 iterations: int = DEFAULT_ITERATIONS, seed: int = 0, verdicts: dict | None = None,
                 chunk: int = CHUNK, profiles=None, **config_overrides) -> Campaign:
    """Run ``test`` ``iterations`` times on the emulator and compare with the exhaustive
    verdicts (computed here unless ``verdicts`` maps ``"sc"``/``model`` to them).

    The iterations run in chunks of ``chunk`` (:func:`plan_chunks`, :func:`run_chunk`), each
    the batches of :func:`batch_plan`; the same seed and chunk size give the same histogram
    however the chunks are spread over workers (``coherence litmus --cluster``).
    ``profiles`` (tuples ``(start_skew, jitter, drain_delay, issue_jitter)``, e.g. a named
    profile of coherence.noise) replaces the batch plan with those profiles only;
    ``config_overrides`` are SystemConfig fields (latencies, geometry, arbitration, the
    watchdog), a noise field among them overriding that field of every profile.

    Raises :class:`~coherence.errors.CoherenceError` when the test cannot run on the
    emulator (a construct the ISA cannot express, a ``filter`` clause).
    """
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise CoherenceError(f"iterations must be in 1..{MAX_ITERATIONS:,}, got {iterations}")
    prog = campaign_program(test)
    verdicts = dict(verdicts or {})
    for m in {"sc", model}:
        if m not in verdicts:
            verdicts[m] = enumerate_states(test, m)
    chunks = (run_chunk(test, model, protocol, k, n, seed, program=prog, profiles=profiles,
                        **config_overrides)
              for k, n in plan_chunks(iterations, chunk))
    return merge_chunks(test, model, protocol, seed, chunks, verdicts, names=prog[1])


def merge_chunks(test: LitmusTest, model: str, protocol, seed: int, chunks, verdicts: dict,
                 names=None) -> Campaign:
    """The campaign of a test from its chunks' ``(observed, statuses, seconds)`` (in any
    order: counts add up) and the verdicts of ``"sc"`` and ``model``."""
    if names is None:
        names = campaign_program(test)[1]
    observed: Counter = Counter()
    statuses: Counter = Counter()
    elapsed = 0.0
    for obs, st, secs in chunks:
        for k, n in obs.items():
            observed[tuple(k)] += n
        statuses.update(st)
        elapsed += secs

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
        iterations=int(sum(observed.values())), seed=seed, locations=names,
        histogram=histogram, positive=positive, negative=negative,
        sc_violations=[dict(zip(names, k)) for k in order + extra
                       if k in observed and k not in sc_allowed],
        model_violations=[dict(zip(names, k)) for k in extra],
        unseen=[dict(zip(names, k)) for k in order if k not in observed],
        statuses=dict(statuses), elapsed=elapsed, quantifier=vm.quantifier,
        condition=vm.condition, satisfied=satisfied)


def format_campaign(c: Campaign) -> str:
    """litmus7's report for one test, plus the SC-violation and coverage lines."""
    kind = {"exists": "Allowed", "~exists": "Forbidden", "forall": "Required"}[c.quantifier]
    width = max([len(str(n)) for _, n in c.histogram] + [1]) + 1  # litmus7: "4807  *>..."
    lines = [f"Test {c.name} {kind}",
             f"Histogram ({len(c.histogram)} states)"]
    for (state, n), holds in zip(c.histogram, c.satisfied):
        cells = " ".join(f"{k}={v};" for k, v in state.items())
        lines.append(f"{n:<{width}}{'*>' if holds else ':>'}{cells}")
    lines.append("Ok" if c.ok else "No")
    # litmus7, like herd, counts the runs that validate the whole condition as Positive, so
    # for a ~exists test the two numbers are swapped (the Observation line is not).
    pos, neg = (c.negative, c.positive) if c.quantifier == "~exists" else (c.positive, c.negative)
    lines += ["", "Witnesses", f"Positive: {pos}, Negative: {neg}",
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
