"""``coherence run FILE --runs N``: one program over seeds 0..N-1, a litmus7-style histogram.

Each seed is one run (:func:`coherence.run`, so seed K here is exactly ``coherence run FILE
--seed K``, which is how the first run that breaks ``--expect`` is replayed; the batch kernel
draws every run from one RNG stream, so its runs have no seeds of their own).  The final
values of ``--observe`` (symbols, ``C:rN`` registers; default every symbol) are tallied into
a histogram printed as litmus7 prints one: the count, ``*>`` when the state meets
``--expect`` (``:>`` otherwise), the state.  A run the watchdog stopped has no final state:
it is counted apart (its status, the first such seed) and makes the exit status 3 or 4.

Without ``--noise`` or a noise field the runs use the profile ``coherence.noise.RUNS_DEFAULT``
(with no noise every seed would give the same run).
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings

from .errors import CoherenceError

_REG = re.compile(r"(\d+):[rR](\d+)\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def parse_observable(text: str, program, option: str = "--observe"):
    """``"counter"`` -> ``("mem", "counter")``; ``"0:r1"`` -> ``("reg", 0, 1)``."""
    from .isa import NREGS
    m = _REG.match(text)
    if m:
        core, reg = int(m.group(1)), int(m.group(2))
        if not 0 <= core < program.cores:
            raise CoherenceError(f"{option} {text}: core {core} is not in the program (cores "
                                 f"0..{program.cores - 1})")
        if not 0 <= reg < NREGS:
            raise CoherenceError(f"{option} {text}: bad register r{reg}, expected r0.."
                                 f"r{NREGS - 1}")
        return ("reg", core, reg)
    names = [s.name for s in program.symbols]
    if _NAME.match(text) and text in names:
        return ("mem", text)
    if _NAME.match(text):
        raise CoherenceError(f"{option} {text}: no such symbol in {program.source} (symbols: "
                             f"{', '.join(names) or 'none'})")
    raise CoherenceError(f"{option} {text!r}: expected a symbol or a core register such as "
                         f"0:r1")


def label(ob) -> str:
    return ob[1] if ob[0] == "mem" else f"{ob[1]}:r{ob[2]}"


def parse_expect(texts, program) -> list[tuple]:
    """``["counter=400 0:r1=1"]`` -> ``[(("mem", "counter"), 400), (("reg", 0, 1), 1)]``.
    Terms are separated by spaces, commas or ``/\\``; values are integers (a multi-word
    symbol's value is written ``[1,2,3]``)."""
    out = []
    for text in texts:
        for term in re.split(r"\s*/\\\s*|\s*,\s*(?![^\[]*\])|\s+", text.strip()):
            if not term:
                continue
            if "=" not in term:
                raise CoherenceError(f"--expect {term!r}: expected SYM=VALUE or C:rN=VALUE, "
                                     f"e.g. counter=400")
            key, value = term.split("=", 1)
            ob = parse_observable(key.strip(), program, "--expect")
            v = value.strip()
            try:
                if v.startswith("["):
                    parsed = [int(x, 0) for x in v.strip("[]").split(",") if x.strip()]
                else:
                    parsed = int(v, 0)
            except ValueError:
                raise CoherenceError(f"--expect {term!r}: {v!r} is not an integer") from None
            out.append((ob, parsed))
    if texts and not out:
        raise CoherenceError("--expect: no condition given, expected e.g. counter=400")
    return out


def _value(result, ob):
    if ob[0] == "mem":
        return result.memory[ob[1]]
    return result.registers[ob[1]][f"r{ob[2]}"]


def format_state(names, state) -> str:
    return " ".join(f"{n}={json.dumps(v, separators=(',', ':'))};"
                    for n, v in zip(names, state))


def replay_command(source: str, values, seed: int, program_cores: int | None = None) -> str:
    """The command line that replays one run exactly: every field that differs from its
    default (the noise profile by name when its fields are unchanged), then the seed."""
    import shlex
    from .fields import DEFAULTS, NOISE_FIELDS
    from .noise import get_noise
    parts = ["coherence", "run", shlex.quote(source)]
    noise = get_noise(values.noise).fields() if values.noise else None
    if noise is not None and all(values[k] == noise[k] for k in NOISE_FIELDS):
        parts += ["--noise", values.noise]
    else:
        noise = None
    from .fields import BY_NAME
    for name, v in values.items():
        if noise is not None and name in NOISE_FIELDS:
            continue
        base = noise.get(name, DEFAULTS[name]) if noise else DEFAULTS[name]
        if name == "cores" and v == program_cores:
            continue
        if v is not None and v != base and name not in ("timeline_window", "stats"):
            parts += [BY_NAME[name].flag, shlex.quote(str(v))]

    parts += ["--seed", str(seed)]
    return " ".join(parts)


def cmd_runs(args) -> int:
    """The ``--runs N`` mode of ``coherence run``; returns the exit status."""
    from . import load_program, run
    from .errors import PartialResultWarning
    from .noise import RUNS_DEFAULT
    from .options import machine_values, note_seed
    from .run_cli import EXIT_EXPECT, EXIT_OF_STATUS, _save, resolve_machine
    n = args.runs
    if n < 1:
        raise CoherenceError(f"--runs must be at least 1, got {n}")
    for opt, what in (("plot", "--plot"), ("stats_file", "--stats-file"), ("watch", "--watch"),
                      ("window", "--window")):
        if getattr(args, opt):
            raise CoherenceError(f"{what} draws one run; drop --runs, or replay one seed with "
                                 f"--seed K")
    peek = machine_values(args, default_noise=RUNS_DEFAULT)
    program = load_program(args.file, cores=peek["cores"])
    cores = peek["cores"] if peek["cores"] is not None else max(program.cores, 1)
    values, config = resolve_machine(args, cores, default_noise=RUNS_DEFAULT)
    values["cores"] = cores
    note_seed(values, runs=n)
    if values.seed_given:
        print(f"coherence: note: --runs {n} runs seeds 0..{n - 1}; --seed {values.seed} is "
              f"not used (replay one run with --seed K, without --runs)", file=sys.stderr)
    _save(args, config, 0, values, to_stderr=args.json)
    expect = parse_expect(args.expect, program)
    observe = [parse_observable(t, program) for t in args.observe]
    if not observe and not expect:
        observe = [("mem", s.name) for s in program.symbols]
    for ob, _ in expect:
        if ob not in observe:
            observe.append(ob)
    if not observe:
        raise CoherenceError(f"{args.file}: the program has no symbols; name core registers "
                             f"with --observe, e.g. --observe 0:r1")
    names = [label(ob) for ob in observe]
    want = {names[observe.index(ob)]: v for ob, v in expect}

    from tqdm import tqdm
    show = not (args.quiet or args.json) and sys.stderr.isatty()
    counts: dict[tuple, int] = {}
    statuses: dict[str, int] = {}
    broken, first_broken, partial = 0, None, []
    done = 0
    interrupted = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialResultWarning)
        try:
            for seed in tqdm(range(n), file=sys.stderr, unit="run", disable=not show,
                             leave=False, delay=0.5):
                r = run(program, config, seed=seed, check=args.check)
                done += 1
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status != "halted":
                    partial.append((seed, r.status, r.cycles))
                    continue
                state = tuple(_value(r, ob) for ob in observe)
                key = tuple(tuple(v) if isinstance(v, list) else v for v in state)
                counts[key] = counts.get(key, 0) + 1
                if expect and any(_value(r, ob) != v for ob, v in expect):
                    broken += 1
                    if first_broken is None:
                        first_broken = seed
        except KeyboardInterrupt:
            # Ctrl-C: what finished is still reported, and says it is partial.
            interrupted = True
    rows = sorted(counts.items(), key=lambda kv: kv[0])

    def meets(state) -> bool | None:
        if not expect:
            return None
        d = dict(zip(names, state))
        return all((list(d[k]) if isinstance(d[k], tuple) else d[k]) == v
                   for k, v in want.items())

    halted = statuses.get("halted", 0)
    cond = " /\\ ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in want.items())
    name = os.path.splitext(os.path.basename(args.file))[0]
    replay = replay_command(args.file, values, first_broken, program.cores) if first_broken is not None else None
    if args.json:
        doc = {"file": args.file, "runs": done, "requested": n, "interrupted": interrupted,
               "seeds": [0, done - 1], "noise": values.noise,
               "config": config.to_dict(), "observe": names,
               "histogram": [{"state": dict(zip(names, [list(x) if isinstance(x, tuple) else x
                                                        for x in k])),
                              "count": c, "meets_expect": meets(k)} for k, c in rows],
               "statuses": statuses,
               "partial": [{"seed": s, "status": st, "cycles": cy} for s, st, cy in partial],
               "expect": None if not expect else
               {"condition": cond, "broken": broken, "first_seed": first_broken,
                "replay": replay}}
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        kind = " Required" if expect else ""
        width = max([len(str(c)) for _, c in rows] + [1]) + 1
        lines = [f"Test {name}{kind}", f"Histogram ({len(rows)} states)"]
        for k, c in rows:
            mark = "*>" if meets(k) else ":>"
            lines.append(f"{c:<{width}}{mark}{format_state(names, k)}")
        if expect:
            ok = broken == 0 and halted > 0
            lines += ["Ok" if ok else "No", "", "Witnesses",
                      f"Positive: {halted - broken}, Negative: {broken}",
                      f"Condition forall ({cond}) is {'' if ok else 'NOT '}validated",
                      f"Observation {name} "
                      f"{'Never' if halted - broken == 0 else 'Always' if broken == 0 else 'Sometimes'}"
                      f" {halted - broken} {broken}"]
            if broken:
                lines.append(f"Expect {cond}: broken by {broken:,} of {halted:,} runs "
                             f"({100 * broken / halted:.1f}%); the first is seed {first_broken}:"
                             f" {replay}")
            else:
                lines.append(f"Expect {cond}: met by every one of {halted:,} runs")
        noise = ""
        if values.noise:
            noise = f", noise {values.noise}"
        fields = " ".join(f"{k}={config.to_dict()[k]}" for k in
                          ("start_skew", "jitter", "drain_delay", "issue_jitter"))
        how = f" of {n:,} requested, interrupted" if interrupted else ""
        lines.append(f"Runs {done:,}{how} (seeds 0..{done - 1}): {config.cores} cores, "
                     f"{config.protocol.name.upper()}, {config.model.upper()}{noise} ({fields})")
        if set(statuses) - {"halted"}:
            lines.append("Statuses " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
        print("\n".join(lines))
    if interrupted:
        print(f"coherence: interrupted after {done:,} of {n:,} runs; the histogram is of "
              f"those", file=sys.stderr)
        return 130
    if partial:
        seed, status, cycles = partial[0]
        print(f"coherence: {len(partial):,} of {n:,} runs were stopped by the watchdog "
              f"({', '.join(f'{k} {v:,}' for k, v in sorted(statuses.items()) if k != 'halted')})"
              f"; the first is seed {seed}, {status} at cycle {cycles:,}; they are left out "
              f"of the histogram", file=sys.stderr)
        return EXIT_OF_STATUS[status]
    return EXIT_EXPECT if broken else 0
