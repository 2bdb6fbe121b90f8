"""Hypothesis strategies for programs, traces and machine configs (public, for your tests).

Every generated program terminates (straight-line code with forward branches only), so it can
be run with ``check=True`` and compared with the reference model::

    from hypothesis import given
    from coherence.testing import programs, configs

    @given(programs(), configs())
    def test_my_protocol(program, config):
        coherence.run(program, config.replace(protocol=MY_PROTOCOL), check=True)

It also has litmus-shaped tests (:func:`litmus_programs`, with an exhaustive SC oracle
:func:`sc_outcomes`) and a stateful machine that drives any :class:`~coherence.Protocol`
through loads, stores and evictions, checking the coherence invariants after every step
(:func:`protocol_machine`)::

    from coherence.testing import protocol_machine
    TestMyProtocol = protocol_machine(MY_PROTOCOL).TestCase

Everything here is documented in docs/testing.md.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from .asm import assemble
from .config import SystemConfig
from .errors import InvariantViolation
from .protocols import PROTOCOLS

__all__ = ["programs", "program_texts", "configs", "traces", "litmus_programs", "LitmusCase",
           "sc_outcomes", "protocol_machine", "ProtocolMachine", "ProtocolCheckFailure",
           "message_machine"]

_REGS = ("r1", "r2", "r3", "r4")


@st.composite
def program_texts(draw, max_cores: int = 4, max_len: int = 12, symbols: int = 4):
    """Assembly text of a random terminating program (see :func:`programs`)."""
    ncores = draw(st.integers(1, max_cores))
    nsym = draw(st.integers(1, symbols))
    names = [f"v{i}" for i in range(nsym)]
    packed = draw(st.booleans()) and nsym > 1
    lines = [".data"]
    if packed:
        k = draw(st.integers(2, nsym))
        lines.append(".packed " + " ".join(f"{n}={draw(st.integers(0, 3))}" for n in names[:k]))
        rest = names[k:]
    else:
        rest = names
    for n in rest:
        lines.append(f"{n}: {draw(st.integers(0, 3))}")
    reg = st.sampled_from(_REGS)
    val = st.one_of(st.integers(-2, 9).map(str), reg)
    mem = st.sampled_from(names).map(lambda n: f"[{n}]")
    for c in range(ncores):
        lines.append(f".core {c}")
        n = draw(st.integers(0, max_len))
        body = []
        for i in range(n):
            kind = draw(st.sampled_from(["ld", "ld", "st", "st", "xchg", "cas", "faa", "mfence",
                                         "alu", "mov", "br", "delay", "pause"]))
            if kind == "ld":
                body.append(f"ld {draw(reg)}, {draw(mem)}")
            elif kind == "st":
                body.append(f"st {draw(mem)}, {draw(val)}")
            elif kind == "xchg":
                body.append(f"xchg {draw(reg)}, {draw(mem)}, {draw(val)}")
            elif kind == "cas":
                body.append(f"cas {draw(reg)}, {draw(mem)}, {draw(val)}, {draw(val)}")
            elif kind == "faa":
                body.append(f"faa {draw(reg)}, {draw(mem)}, {draw(val)}")
            elif kind == "mfence":
                body.append("mfence")
            elif kind == "alu":
                op = draw(st.sampled_from(["add", "sub", "and", "or", "xor"]))
                body.append(f"{op} {draw(reg)}, {draw(reg)}, {draw(val)}")
            elif kind == "mov":
                body.append(f"mov {draw(reg)}, {draw(val)}")
            elif kind == "br":
                # Forward branches only, so every program terminates.
                op = draw(st.sampled_from(["beq", "bne", "blt", "bge", "jmp"]))
                target = f"L{c}_{draw(st.integers(i + 1, n))}"
                body.append(f"jmp {target}" if op == "jmp"
                            else f"{op} {draw(reg)}, {draw(val)}, {target}")
            elif kind == "delay":
                body.append(f"delay {draw(st.integers(0, 5))}")
            else:
                body.append("pause")
        body.append("halt")
        lines.extend(f"L{c}_{i}: {text}" for i, text in enumerate(body))
    return "\n".join(lines) + "\n"


def programs(**kw):
    """Random terminating :class:`~coherence.program.Program` objects (1..4 cores)."""
    return program_texts(**kw).map(lambda text: assemble(text, "<hypothesis>"))


@st.composite
def configs(draw, cores: int = 4, protocols=None, models=("sc", "tso"), small: bool = True):
    """Random machines: tiny caches (evictions happen), every protocol, both models,
    random latencies, arbitration and timing noise."""
    protos = list(protocols) if protocols is not None else list(PROTOCOLS)
    line = draw(st.sampled_from([8, 16, 64])) if small else 64
    ways = draw(st.sampled_from([1, 2, 4])) if small else 8
    sets = draw(st.sampled_from([1, 2])) if small else 64
    return SystemConfig(
        cores=cores, protocol=draw(st.sampled_from(protos)), model=draw(st.sampled_from(models)),
        line_size=line, l1_ways=ways, l1_size=line * ways * sets,
        store_buffer=draw(st.integers(1, 4)),
        arbitration=draw(st.sampled_from(["round-robin", "fixed", "random"])),
        hit_latency=draw(st.integers(1, 3)), bus_latency=draw(st.integers(1, 5)),
        mem_latency=draw(st.integers(1, 30)), c2c_latency=draw(st.integers(1, 15)),
        wb_latency=draw(st.integers(0, 10)), start_skew=draw(st.integers(0, 20)),
        jitter=draw(st.integers(0, 5)),
        # One value for every core, or one per core.
        drain_delay=draw(st.integers(0, 10) | st.tuples(*[st.integers(0, 30)] * cores)),
        issue_jitter=draw(st.sampled_from([0, 0, 3])
                          | st.tuples(*[st.sampled_from([0, 2, 9])] * cores)),
        timeline_window=draw(st.sampled_from([0, 7, 50])),
        stats=draw(st.sampled_from(["basic", "full"])),
        max_cycles=200_000, progress_window=0)


@st.composite
def traces(draw, cores: int = 4, max_len: int = 60, lines: int = 12, line_size: int = 8):
    """(writes, addrs): one access trace per core over a few shared lines."""
    writes, addrs = [], []
    for _ in range(cores):
        n = draw(st.integers(0, max_len))
        w = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        a = draw(st.lists(st.integers(0, lines * line_size // 8 - 1), min_size=n, max_size=n))
        writes.append(np.array(w, dtype=np.uint8))
        addrs.append(np.array(a, dtype=np.int64) * 8)
    return writes, addrs


# ------------------------------------------------------------------------- litmus-shaped tests

_LITMUS_VARS = ("x", "y", "z", "w", "u", "v")


class LitmusCase(tuple):
    """A generated litmus-shaped test: unpacks as ``(program, observe)``.

    ``program, observe = case`` gives exactly what ``coherence.run_batch(program, config,
    iterations, observe=observe)`` takes.  Extra attributes: ``text`` (the assembly),
    ``labels`` (one name per observation, litmus style: ``"0:r1"`` for core 0's r1, ``"x"``
    for the final value of x), ``variables`` and ``ops`` (per core, the operations as tuples
    ``("ld", var, reg, obs)``, ``("st", var, value)``, ``("xchg", var, reg, obs, value)``,
    ``("mfence",)``, where ``obs`` is the load's index in ``observe``).
    """

    def __new__(cls, program, observe, text, labels, variables, ops):
        self = super().__new__(cls, (program, observe))
        self.text = text
        self.labels = list(labels)
        self.variables = list(variables)
        self.ops = ops
        return self

    @property
    def program(self):
        return self[0]

    @property
    def observe(self):
        return self[1]

    def state(self, row) -> dict:
        """One row of ``run_batch`` values as a dict ``{"0:r1": v, ..., "x": v}``."""
        return {k: int(v) for k, v in zip(self.labels, row)}

    def __repr__(self):
        # Hypothesis prints this in a falsifying example: the program is what a reader needs.
        return "LitmusCase(\n" + self.text + ")"


@st.composite
def litmus_programs(draw, min_cores: int = 2, max_cores: int = 4, variables: int = 2,
                    max_ops: int = 4, fences: bool = True, rmw: bool = False,
                    packed: bool | None = False):
    """Small litmus-shaped tests: 2-4 cores of loads, stores and fences to a few shared
    variables (``x``, ``y``, ...), as a :class:`LitmusCase` ``(program, observe)``.

    Each core has 1..``max_ops`` operations; every load goes into a distinct register of its
    core, and the stores to a variable write distinct values 1, 2, ... (so a final value
    tells which store was last, as in herd's tests).  ``observe`` lists every load register
    (``("reg", core, n)``) and then every variable's final value (``("mem", name)``).
    ``rmw=True`` adds ``xchg``; ``fences=False`` leaves out ``mfence``; ``packed=True`` puts
    all the variables in one cache line (``None`` lets hypothesis choose).
    """
    if not 1 <= min_cores <= max_cores <= 64:
        raise ValueError(f"need 1 <= min_cores <= max_cores <= 64, got {min_cores}, {max_cores}")
    if not 1 <= variables <= len(_LITMUS_VARS):
        raise ValueError(f"variables must be in 1..{len(_LITMUS_VARS)}, got {variables}")
    ncores = draw(st.integers(min_cores, max_cores))
    names = list(_LITMUS_VARS[:draw(st.integers(1, variables))])
    is_packed = draw(st.booleans()) if packed is None else packed
    kinds = ["ld", "ld", "st", "st"] + (["mfence"] if fences else []) + \
        (["xchg"] if rmw else [])
    next_value = {n: 1 for n in names}
    observe, labels, ops = [], [], []
    lines = [".data"]
    if is_packed and len(names) > 1:
        lines.append(".packed " + " ".join(names))
    else:
        lines.extend(f"{n}: 0" for n in names)
    for c in range(ncores):
        lines.append(f".core {c}")
        core_ops = []
        reg = 1
        for _ in range(draw(st.integers(1, max_ops))):
            kind = draw(st.sampled_from(kinds))
            if kind == "mfence":
                core_ops.append(("mfence",))
                lines.append("    mfence")
                continue
            var = draw(st.sampled_from(names))
            if kind in ("ld", "xchg"):
                obs = len(observe)
                observe.append(("reg", c, reg))
                labels.append(f"{c}:r{reg}")
                if kind == "ld":
                    core_ops.append(("ld", var, reg, obs))
                    lines.append(f"    ld r{reg}, [{var}]")
                else:
                    value = next_value[var]
                    next_value[var] += 1
                    core_ops.append(("xchg", var, reg, obs, value))
                    lines.append(f"    xchg r{reg}, [{var}], {value}")
                reg += 1
            else:
                value = next_value[var]
                next_value[var] += 1
                core_ops.append(("st", var, value))
                lines.append(f"    st [{var}], {value}")
        ops.append(core_ops)
    for n in names:
        observe.append(("mem", n))
        labels.append(n)
    text = "\n".join(lines) + "\n"
    return LitmusCase(assemble(text, "<litmus_programs>"), observe, text, labels, names, ops)


def sc_outcomes(case: LitmusCase) -> set:
    """Every final state sequential consistency allows for ``case``, by trying every
    interleaving (memoised); each state is a tuple of values in ``case.observe`` order
    (``("reg", core, n)``: the last value loaded into that register, 0 if none;
    ``("mem", name)``: the variable's final value).

    An oracle for tests: an ``sc`` machine must only produce these (``run_batch`` rows as
    tuples), and a ``tso`` machine may add the store-buffer relaxations.  Exponential in the
    number of operations: meant for :func:`litmus_programs`' small tests.
    """
    ops = case.ops
    names = list(case.variables)
    index = {n: i for i, n in enumerate(names)}
    # Every register some load or xchg writes, in a fixed order: the DFS state holds them.
    regs_written = sorted({(c, op[2]) for c, core_ops in enumerate(ops) for op in core_ops
                           if op[0] in ("ld", "xchg")})
    slot = {key: i for i, key in enumerate(regs_written)}
    picks = []
    for ob in case.observe:
        if ob[0] == "reg":
            picks.append(("reg", slot.get((ob[1], ob[2]))))
        elif ob[0] == "mem" and ob[1] in index:
            picks.append(("mem", index[ob[1]]))
        else:
            raise ValueError(f"cannot compute observation {ob!r} of this case")
    results = set()
    seen = set()

    def final(mem, regs):
        return tuple((0 if i is None else regs[i]) if kind == "reg" else mem[i]
                     for kind, i in picks)

    def step(pcs, mem, regs):
        key = (pcs, mem, regs)
        if key in seen:
            return
        seen.add(key)
        finished = True
        for c, core_ops in enumerate(ops):
            if pcs[c] == len(core_ops):
                continue
            finished = False
            op = core_ops[pcs[c]]
            npcs = pcs[:c] + (pcs[c] + 1,) + pcs[c + 1:]
            if op[0] == "mfence":          # a no-op under SC
                step(npcs, mem, regs)
            elif op[0] == "st":
                i = index[op[1]]
                step(npcs, mem[:i] + (op[2],) + mem[i + 1:], regs)
            elif op[0] == "ld":
                r = slot[(c, op[2])]
                step(npcs, mem, regs[:r] + (mem[index[op[1]]],) + regs[r + 1:])
            else:                          # xchg: read and write in one atomic step
                i, r = index[op[1]], slot[(c, op[2])]
                step(npcs, mem[:i] + (op[4],) + mem[i + 1:],
                     regs[:r] + (mem[i],) + regs[r + 1:])
        if finished:
            results.add(final(mem, regs))

    step(tuple(0 for _ in ops), tuple(0 for _ in names), tuple(0 for _ in regs_written))
    return results


# ------------------------------------------------------------------ stateful protocol machine

class ProtocolCheckFailure(AssertionError):
    """What :func:`protocol_machine` raises when a protocol breaks a check.

    ``steps`` are the operations so far in order (after hypothesis shrinks them, a shortest
    failing sequence), ``program_text`` the assembly that replays them, ``problems`` the
    failed checks and ``cause`` the engine's or reference model's exception, if any.
    """

    def __init__(self, message: str, steps, program_text: str, problems, cause=None):
        super().__init__(message)
        self.steps = list(steps)
        self.program_text = program_text
        self.problems = list(problems)
        self.cause = cause


def _diff(a, b, path="", out=None, limit=5):
    """The first few paths where two to_dict() trees differ, for a readable report."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a.keys() | b.keys():
            _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: engine {a!r}, reference {b!r}")
    return out


class ProtocolMachine(RuleBasedStateMachine):
    """Drives a protocol through loads, stores and evictions on several cores.

    Don't use this class directly: :func:`protocol_machine` makes a subclass for one protocol
    and shape (the rules' strategies depend on the number of cores and variables).

    The machine keeps, per core, the list of operations the rules chose.  After every step
    it turns the whole list into a program (:meth:`program_text`) and runs it from a clean
    machine on the jitted engine with ``check=True`` and on the reference model
    (``coherence.reference``), then requires:

    * no :class:`~coherence.errors.InvariantViolation` / ``ProtocolError`` from either (the
      engine checks single-writer/multiple-readers, single owner and data values after every
      bus transaction and at every load);
    * identical ``RunResult.to_dict()`` from the engine and the reference model;
    * in the final state of every variable's line: at most one M/E copy and then no other
      copy, at most one M/O owner, every copy and (when there is no owner) memory holding the
      latest value;
    * in ``sequential`` mode (the default), where the operations happen one at a time in rule
      order, every load returns the value of the latest store to its variable, and the final
      memory equals that too.

    Cache geometry: one word per line, one way per set and one set per variable, so lines
    never evict each other by accident; ``evict(core, var)`` loads a private "evictor" symbol
    that maps to ``var``'s set, which evicts ``var``'s line from that core's cache (running
    the protocol's ``Evict`` entry) when it is present.
    """

    protocol = None
    ncores = 3
    nvars = 2
    model = "sc"
    sequential = True
    seed = 0
    max_steps = 25
    config_changes: dict = {}

    def __init__(self):
        super().__init__()
        self.ops = [[] for _ in range(self.ncores)]     # per core: (step, asm, description)
        self.steps = []                                  # descriptions, in rule order
        self.latest = {v: 0 for v in self.var_names()}   # the sequential model of memory
        self.next_value = 1
        self.load_regs = [[] for _ in range(self.ncores)]  # per core: (reg, expected)
        self.checked = 0

    # ---------------------------------------------------------------- layout and config

    @classmethod
    def var_names(cls):
        return [f"v{i}" for i in range(cls.nvars)]

    @classmethod
    def sets(cls) -> int:
        s = 1
        while s < cls.nvars:
            s *= 2
        return s

    @classmethod
    def config(cls) -> SystemConfig:
        """The machine the programs run on (see the class docstring for the geometry)."""
        if "_config" not in cls.__dict__:     # built once per class: it never changes
            cls._config = cls._make_config()
        return cls._config

    @classmethod
    def _make_config(cls) -> SystemConfig:
        seq = cls.sequential
        base = dict(cores=cls.ncores, protocol=cls.protocol, model=cls.model, line_size=8,
                    l1_ways=1, l1_size=8 * cls.sets(),
                    arbitration="fixed" if seq else "random",
                    start_skew=0 if seq else 20, jitter=0 if seq else 4,
                    drain_delay=0 if seq else 6, max_cycles=1 << 50, progress_window=0)
        base.update(cls.config_changes)
        return SystemConfig(**base)

    def _record(self, core: int, asm: str, description: str) -> None:
        self.ops[core].append((len(self.steps), asm, description))
        self.steps.append(f"core {core}: {description}")

    def _reg(self, core: int) -> int:
        # r1..r13 in rotation: each load is checked by the run right after its own step, so
        # a register only has to survive until then.  r15 takes the evictions' loads.
        return 1 + len(self.load_regs[core]) % 13

    # ---------------------------------------------------------------- the operations

    def do_load(self, core: int, var: str) -> None:
        reg = self._reg(core)
        expected = self.latest[var]
        self.load_regs[core].append((reg, expected))
        self._record(core, f"ld r{reg}, [{var}]",
                     f"load {var}" + (f" (expects {expected})" if self.sequential else ""))

    def do_store(self, core: int, var: str) -> None:
        value = self.next_value      # fresh values, so a stale copy cannot look right
        self.next_value += 1
        self.latest[var] = value
        self._record(core, f"st [{var}], {value}", f"store {var} = {value}")

    def do_rmw(self, core: int, var: str) -> None:
        reg = self._reg(core)
        value = self.next_value
        self.next_value += 1
        expected = self.latest[var]
        self.latest[var] = value
        self.load_regs[core].append((reg, expected))
        self._record(core, f"xchg r{reg}, [{var}], {value}",
                     f"xchg {var} <- {value}" + (f" (expects {expected})" if self.sequential
                                                 else ""))

    def do_evict(self, core: int, var: str) -> None:
        self._record(core, f"ld r15, [evict_{var}]", f"evict {var}")

    # ---------------------------------------------------------------- program and checks

    def _latency_bound(self, cfg: SystemConfig) -> int:
        """Cycles one access can take on an otherwise idle machine (miss, victim
        write-back, jitter, TSO drain, the random issue delay of it and its ``delay``), with
        slack."""
        return (cfg.hit_latency + max(cfg.bus_latency, cfg.mem_latency, cfg.c2c_latency)
                + cfg.wb_latency + cfg.jitter + max(cfg.per_core("drain_delay"))
                + 2 * max(cfg.per_core("issue_jitter")) + 4)

    def program_text(self) -> str:
        """The assembly of the operations so far.

        In sequential mode each operation of step k is preceded by a ``delay`` so that it
        issues at about ``k * G`` cycles; G is larger than the time all the operations
        could take together, so step k starts only after step k-1 has completed and the run
        follows the rule order exactly.  (The engine skips idle cycles: delays cost nothing.)
        """
        cfg = self.config()
        names = self.var_names()
        nsets = self.sets()
        lines = [".data"]
        lines += [f"{n}: 0" for n in names]
        # Padding up to a power of two of lines, so that evictor i lands in set i.
        lines += [f"pad{i}: 0" for i in range(len(names), nsets)]
        lines += [f"evict_{n}: 0" for n in names]
        # The gap depends on the longest sequence expected (not the current length) so that
        # the text of a prefix is the same in every example: checks are cached by text.
        gap = (max(len(self.steps), self.max_steps) + 2) * self._latency_bound(cfg)
        for c in range(self.ncores):
            lines.append(f".core {c}")
            prev = 0
            for step, asm, description in self.ops[c]:
                if self.sequential:
                    wait = (step + 1) * gap - prev
                    prev = (step + 1) * gap
                    lines.append(f"    delay {wait}")
                lines.append(f"    {asm:28s} ; step {step + 1}: {description}")
        return "\n".join(lines) + "\n"

    def _final_state_problems(self, machine, linked) -> list:
        """The invariants on the reference machine's caches and memory after the run."""
        from .protocols.table import INVALID, M_DIRTY, M_OWNER, M_READ, M_WRITE
        names, meaning = machine.state_names, machine.meaning
        problems = []
        for var in self.var_names():
            addr = linked.addresses[var]
            line, off, word = machine.line_of(addr), machine.offset_of(addr), addr >> 3
            states, values = [], []
            for cache in machine.caches:
                frame = cache.lookup(line)
                states.append(INVALID if frame is None else frame.state)
                values.append(None if frame is None else frame.data[off])
            shown = " ".join(f"core{c}={names[s]}" for c, s in enumerate(states))
            present = [c for c, s in enumerate(states) if s != INVALID]
            writers = [c for c, s in enumerate(states) if meaning[s, M_WRITE]]
            readers = [c for c, s in enumerate(states) if meaning[s, M_READ]]
            owners = [c for c, s in enumerate(states) if meaning[s, M_OWNER]]
            dirty = [c for c, s in enumerate(states) if meaning[s, M_DIRTY]]
            if len(writers) > 1 or (writers and len(readers) > 1):
                problems.append(f"single-writer/multiple-readers violated for {var}: {shown}")
            if len(owners) > 1:
                problems.append(f"more than one owner of {var}: {shown}")
            latest = self.latest[var] if self.sequential else None
            copies = {values[c] for c in present}
            if latest is None and len(copies) > 1:
                problems.append(f"the copies of {var} disagree: "
                                + ", ".join(f"core{c}={values[c]}" for c in present))
            for c in present:
                if latest is not None and values[c] != latest:
                    problems.append(f"core {c}'s copy of {var} ({names[states[c]]}) holds "
                                    f"{values[c]}, the latest value is {latest} [{shown}]")
            mem = machine.memory.get(word, 0)
            if not dirty:
                if latest is not None and mem != latest:
                    problems.append(f"no cache owns {var} but memory holds {mem}, the latest "
                                    f"value is {latest} [{shown}]")
                elif latest is None and len(copies) == 1 and mem not in copies:
                    problems.append(f"no cache owns {var} but memory holds {mem} while the "
                                    f"cached copies hold {copies.pop()} [{shown}]")
        return problems

    def _value_problems(self, result) -> list:
        """Sequential mode: loads returned the latest store, final memory is the latest."""
        problems = []
        for c, regs in enumerate(self.load_regs):
            for reg, expected in regs[-13:]:     # the registers not yet reused
                got = result.registers[c][f"r{reg}"]
                if got != expected:
                    problems.append(f"core {c}'s load into r{reg} returned {got}, the latest "
                                    f"store wrote {expected}")
        for var, want in self.latest.items():
            if result.memory[var] != want:
                problems.append(f"final memory {var} = {result.memory[var]}, the latest store "
                                f"wrote {want}")
        return problems

    @invariant()
    def coherent(self):
        """After every step: run the program so far and check everything (class docstring)."""
        if self.checked == len(self.steps):
            return
        self.checked = len(self.steps)
        text = self.program_text()
        cache = type(self).__dict__.get("_checked")
        if cache is None:
            cache = type(self)._checked = {}
        # The checks are a pure function of the program text (which spells out every
        # operation and expectation) and the class's machine; hypothesis replays the same
        # prefixes many times while it searches and shrinks, so remember the verdicts.
        if text not in cache:
            if len(cache) >= 20_000:
                cache.clear()
            cache[text] = self._check(text)
        problems, cause = cache[text]
        if problems:
            steps = "\n".join(f"  {i + 1}. {s}" for i, s in enumerate(self.steps))
            raise ProtocolCheckFailure(
                f"protocol {self.config().protocol.name!r} fails after {len(self.steps)} "
                f"step(s):\n" + "\n".join(f"  - {p}" for p in problems)
                + f"\nsteps:\n{steps}\nprogram:\n{text}", self.steps, text, problems, cause)

    def _check(self, text: str):
        """Run ``text`` on the engine and the reference model: (problems, exception)."""
        from .engine import run
        from .reference import _result, prepare_program
        program = assemble(text, "<protocol_machine>")
        cfg = self.config()
        problems, cause = [], None
        try:
            engine = run(program, cfg, seed=self.seed, check=True)
            machine, linked = prepare_program(program, cfg, seed=self.seed, check=True)
            status, cycles = machine.run()
            reference = _result(machine, status, cycles, self.seed,
                                memory_words=machine.coherent_memory(len(linked.memory)),
                                addresses=linked.addresses, symbols=program.symbols,
                                with_registers=True)
        except InvariantViolation as exc:    # ProtocolError is one too
            problems.append(f"{type(exc).__name__}: {exc}")
            cause = exc
        else:
            if engine.status != "halted":
                problems.append(f"the run did not finish: {engine.status} after "
                                f"{engine.cycles} cycles")
            got, want = engine.to_dict(), reference.to_dict()
            if got != want:
                problems.append("engine and reference model disagree: "
                                + "; ".join(_diff(got, want)))
            problems += self._final_state_problems(machine, linked)
            if self.sequential:
                problems += self._value_problems(engine)
        return problems, cause


def protocol_machine(protocol, cores: int = 3, variables: int = 2, *, model: str = "sc",
                     sequential: bool = True, rmw: bool = True, max_steps: int = 25,
                     seed: int = 0, **config_changes):
    """A hypothesis state machine class that property-tests ``protocol``.

    ``protocol`` is a :class:`~coherence.Protocol` (yours or ``coherence.MESI``...) or a
    built-in name.  The machine has rules ``load(core, var)``, ``store(core, var)``,
    ``evict(core, var)`` and, with ``rmw=True``, ``xchg(core, var)``, over ``cores`` cores
    and ``variables`` shared variables, and checks after every step what
    :class:`ProtocolMachine` describes; a failure raises :class:`ProtocolCheckFailure`, and
    hypothesis shrinks it to a short sequence of steps.  Use it in a test module::

        TestMyProtocol = protocol_machine(MY_PROTOCOL).TestCase

    ``model`` is the memory model of the cores ("sc" or "tso"); ``sequential=False`` runs
    the operations concurrently with random timing (from ``seed``) instead of one at a time
    in rule order, which reaches races but drops the load-value checks (the invariants and
    the engine/reference agreement remain).  ``max_steps`` is hypothesis'
    ``stateful_step_count``; ``config_changes`` adjust the machine (latencies, ...).
    """
    from .protocols import get_protocol
    from .protocols.message import MessageProtocol
    if isinstance(protocol, MessageProtocol):
        # a split-bus or directory table: the machine that also chooses message deliveries
        return message_machine(protocol, cores=cores, variables=variables, rmw=rmw,
                               max_steps=max_steps, **config_changes)
    proto = get_protocol(protocol)
    if not 1 <= cores <= 64:
        raise ValueError(f"cores must be in 1..64, got {cores}")
    if not 1 <= variables <= 32:
        raise ValueError(f"variables must be in 1..32, got {variables}")
    core = st.integers(0, cores - 1)
    var = st.sampled_from([f"v{i}" for i in range(variables)])

    class Machine(ProtocolMachine):
        @rule(core=core, var=var)
        def load(self, core, var):
            self.do_load(core, var)

        @rule(core=core, var=var)
        def store(self, core, var):
            self.do_store(core, var)

        @rule(core=core, var=var)
        def evict(self, core, var):
            self.do_evict(core, var)

        if rmw:
            @rule(core=core, var=var)
            def xchg(self, core, var):
                self.do_rmw(core, var)

    Machine.protocol = proto
    Machine.ncores = cores
    Machine.nvars = variables
    Machine.model = model
    Machine.sequential = sequential
    Machine.seed = seed
    Machine.max_steps = max_steps
    Machine.config_changes = dict(config_changes)
    Machine.config()   # validate the machine now, not in the middle of a test
    Machine.__name__ = Machine.__qualname__ = f"{proto.name.upper().replace('-', '_')}Machine"
    # Hypothesis' own default for state machines (no deadline, no health checks: a step
    # reruns the whole program, so steps get slower as the sequence grows), plus the length.
    Machine.TestCase.settings = settings(deadline=None, stateful_step_count=max_steps,
                                         suppress_health_check=list(HealthCheck))
    return Machine


def message_machine(protocol, cores: int = 3, variables: int = 1, **kw):
    """The protocol machine for a split-bus or directory protocol
    (:class:`~coherence.protocols.message.MessageProtocol`): its rules interleave the
    processor's accesses and evictions with the delivery of each message in flight (any
    order the network allows) and, on the split bus, the bus's ordering of requests.  See
    :mod:`coherence.message_kit`; ``protocol_machine`` passes message protocols here."""
    from .message_kit import message_machine as make
    return make(protocol, cores=cores, variables=variables, **kw)
