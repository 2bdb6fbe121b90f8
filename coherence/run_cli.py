"""The core subcommands: ``coherence run``, ``coherence protocol`` and ``coherence compile``."""

from __future__ import annotations

import json
import re
import sys



#: Exit statuses of ``coherence run`` (docs/config.md, "Exit status").
EXIT_OK, EXIT_EXPECT, EXIT_USAGE, EXIT_MAX_CYCLES, EXIT_NO_PROGRESS = 0, 1, 2, 3, 4
EXIT_OF_STATUS = {"halted": EXIT_OK, "max_cycles": EXIT_MAX_CYCLES,
                  "no_progress": EXIT_NO_PROGRESS}

_RUN_EPILOG = """exit status: 0 every run halted (and met --expect); 1 some run broke --expect;
2 bad input; 3 a run was stopped by --max-cycles; 4 a run was stopped by the no-progress
watchdog (--progress-window). A stopped run also prints one stderr line saying which, and when.
"""


def add_subparsers(sub) -> None:
    import argparse
    p = sub.add_parser("run", help="run an assembly program on the emulated machine",
                       description="Run an assembly program (docs/asm.md) and print a summary;\n"
                                   "with --runs N, run it over seeds 0..N-1 and print a "
                                   "histogram of the final values.",
                       epilog=_RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="assembly source (.s)")
    p.add_argument("--check", action="store_true",
                   help="check the coherence invariants after every bus transaction")
    p.add_argument("--watch", nargs="+", default=[], metavar="SYMBOL",
                   help="log every core's state of these symbols' cache lines (drawn by "
                        "--plot, listed by --json as line_states)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a traffic plot of the run")
    p.add_argument("--window", metavar="START:END",
                   help="the cycles the --plot line-state strip shows (default: the whole run)")
    p.add_argument("--stats-file", metavar="stats.txt",
                   help="write gem5-style statistics (name value # description) to a file; "
                        "implies --stats full")
    m = p.add_argument_group("many runs")
    m.add_argument("--runs", type=int, metavar="N",
                   help="run N times, over seeds 0..N-1 (default timing noise: --noise "
                        "wild), and print a histogram of the final values")
    m.add_argument("--observe", nargs="+", default=[], metavar="SYM|C:rN",
                   help="what --runs tallies: symbols and core registers such as 0:r1 "
                        "(default: every symbol)")
    m.add_argument("--expect", action="append", default=[], metavar="\"counter=400\"",
                   help="the final values every run should have (SYM=V or C:rN=V, several "
                        "separated by spaces or /\\ ): counts the runs that break it, and "
                        "gives the first one's seed")
    m.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_machine_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("protocol", help="show the coherence protocols' transition tables")
    psub = p.add_subparsers(dest="action", required=True)
    s = psub.add_parser("show", help="print a protocol's table as Markdown")
    s.add_argument("name", help="a protocol family (msi, mesi, moesi, mesif, dragon) or a "
                                "full name from `coherence protocol list` (msi-directory)")
    s.add_argument("--interconnect", default="bus",
                   help="the interconnect: bus (default), split-bus or directory")
    s.set_defaults(func=cmd_protocol_show)
    s = psub.add_parser("list", help="list the built-in protocols")
    s.set_defaults(func=cmd_protocol_list)

    p = sub.add_parser("compile", help="compile every jitted kernel now, so later commands "
                                       "start warm",
                       description="Compile (or load from numba's on-disk cache) every kernel: "
                                   "the program, trace and batch kernels and the scheduler's. "
                                   "A fresh installation compiles each once, on first use; "
                                   "this does it up front, in parallel.")
    p.add_argument("-j", "--jobs", type=int, default=2, help="processes at once (default 2)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    p.set_defaults(func=cmd_compile)


def add_machine_options(p, cores: bool = True, protocol: bool = True, exclude=()) -> None:
    """Options describing the machine (a flag per SystemConfig field, --noise, --seed,
    --config, --save-config; coherence.options), shared by every subcommand that runs the
    emulator (a subcommand that varies the cores or the protocol itself leaves those out)."""
    from .options import add_machine_options as add
    skip = set(exclude) | ({"cores"} if not cores else set()) | \
        ({"protocol"} if not protocol else set())
    add(p, exclude=tuple(sorted(skip)))


def resolve_machine(args, cores: int | None = None, default_noise=None, **fixed):
    """``(values, SystemConfig)`` of the command line (coherence.options.machine_values);
    ``cores`` and ``fixed`` are set by the command itself."""
    from .options import build_config, machine_values
    values = machine_values(args, default_noise=default_noise)
    if cores is not None:
        fixed["cores"] = cores
    return values, build_config(values, **fixed)


def config_from_args(args, cores: int, protocol=None, **extra):
    """The SystemConfig of :func:`add_machine_options`' options (``protocol`` overrides)."""
    if protocol is not None:
        extra["protocol"] = protocol
    return resolve_machine(args, cores, **extra)[1]


def _save(args, config, seed, values, to_stderr=False) -> None:
    if getattr(args, "save_config", None):
        from .options import command_line, save_config
        save_config(args.save_config, config.to_dict(), seed,
                    command=command_line(getattr(args, "_argv", None)), noise=values.noise)
        print(f"wrote {args.save_config}", file=sys.stderr if to_stderr else sys.stdout)


def report_partial(status: str, cycles: int, config, what: str = "the run") -> None:
    """The one stderr line of a run the watchdog stopped."""
    if status == "max_cycles":
        why = f"it reached --max-cycles {config.cycle_limit():,}"
    else:
        why = (f"no store was performed and no core halted for --progress-window "
               f"{config.progress_window:,} cycles")
    print(f"coherence: {what} was stopped by the watchdog ({status}) at cycle {cycles:,}: "
          f"{why}; the result is partial", file=sys.stderr)


def cmd_run(args) -> int:
    import warnings
    from . import load_program
    from .errors import CoherenceError, PartialResultWarning
    from .options import machine_values
    if args.runs is not None:
        from .runs import cmd_runs
        return cmd_runs(args)
    for opt in ("observe", "expect"):
        if getattr(args, opt):
            raise CoherenceError(f"--{opt} needs --runs N (it tallies many runs)")
    peek = machine_values(args)
    program = load_program(args.file, cores=peek["cores"])
    cores = peek["cores"] if peek["cores"] is not None else max(program.cores, 1)
    # A plot needs the traffic timeline; 100-cycle windows are rebinned by the plot.
    window = peek["timeline_window"] or (100 if args.plot else 0)
    fixed = {"timeline_window": window}
    if args.stats_file:
        fixed["stats"] = "full"
    values, config = resolve_machine(args, cores, **fixed)
    window_range = parse_window(args.window) if args.window else None
    if window_range and not (args.plot and args.watch):
        raise CoherenceError("--window needs --plot and --watch SYMBOL (it is the cycles the "
                             "line-state strip shows)")
    if args.plot and args.watch and config.interconnect != "bus":
        raise CoherenceError(f"--plot --watch draws the atomic bus's line-state strip; on "
                             f"interconnect {config.interconnect!r} the watched lines' "
                             f"messages are drawn by `coherence plot sequence --interconnect "
                             f"{config.interconnect}`")
    from .options import note_seed
    note_seed(values)
    _save(args, config, values.seed, values, to_stderr=args.json)
    from . import run
    with warnings.catch_warnings():
        # the command line reports a partial result itself (one line, exit status 3 or 4)
        warnings.simplefilter("ignore", PartialResultWarning)
        result = run(program, config, seed=values.seed, check=args.check, watch=args.watch)
    if args.plot:
        from . import plot
        plot.save_run_figure(result, args.plot, program=program, seed=values.seed,
                             window=window_range)
    if args.stats_file:
        from .statsfile import write_stats
        write_stats(result, args.stats_file, source=args.file)
    if args.json:
        doc = result.to_dict()
        if args.watch:
            doc["line_states"] = {k: [list(e) for e in v] for k, v in result.line_states.items()}
            if result.messages is not None:
                doc["messages"] = {k: [list(e) for e in v] for k, v in result.messages.items()}
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        print(format_summary(result, args.file))
    for path in (args.plot, args.stats_file):
        if path:
            print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if result.status != "halted":
        report_partial(result.status, result.cycles, config)
    return EXIT_OF_STATUS[result.status]


def parse_window(text: str) -> tuple[int, int]:
    """``"START:END"`` (cycles, either may be empty) -> ``(start, end)``; end None = the end."""
    from .errors import CoherenceError
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start = int(parts[0]) if parts[0].strip() else 0
        end = int(parts[1]) if parts[1].strip() else None
    except ValueError:
        raise CoherenceError(f"--window {text!r}: expected START:END in cycles, e.g. "
                             f"1000:5000 (either may be left out: 1000: or :5000)") from None
    if start < 0 or (end is not None and end <= start):
        raise CoherenceError(f"--window {text!r}: expected 0 <= START < END")
    return start, end


def format_summary(result, source: str = "") -> str:
    """A readable report: machine, status, a per-core table, the bus table, final memory."""
    cfg = result.config
    where = ("" if cfg.get("interconnect", "bus") == "bus" else
             f" on {cfg['interconnect']}" + (f" ({cfg['topology']})"
                                              if cfg["interconnect"] == "directory" else ""))
    lines = [f"{source}: {cfg['cores']} cores, {cfg['protocol'].upper()}{where}, "
             f"{cfg['model'].upper()}"
             f", L1 {_size(cfg['l1_size'])} {cfg['l1_ways']}-way {cfg['line_size']} B lines,"
             f" seed {result.seed}",
             f"status: {result.status} after {result.cycles:,} cycles", ""]
    noise = [f"{k}={cfg[k]}" for k in ("start_skew", "jitter", "drain_delay", "issue_jitter")
             if cfg.get(k)]
    if noise or cfg.get("arbitration") == "random":
        # what the seed drives (without it every seed gives this same run)
        what = " ".join(noise + (["arbitration=random"] if cfg.get("arbitration") == "random"
                                 else []))
        lines.insert(1, f"timing noise: {what}")
    cols = ("instructions", "loads", "stores", "rmws", "hits", "misses", "stall_cycles",
            "forwards")
    head = ["core"] + [c.replace("_cycles", "") for c in cols] + ["miss%"]
    rows = []
    for i, cs in enumerate(result.stats["cores"]):
        acc = cs["hits"] + cs["misses"]
        rows.append([str(i)] + [f"{cs[c]:,}" for c in cols]
                    + [f"{100 * cs['misses'] / acc:.1f}" if acc else "-"])
    tot = result.stats["totals"]
    acc = tot["hits"] + tot["misses"]
    rows.append(["all"] + [f"{tot[c]:,}" for c in cols]
                + [f"{100 * tot['misses'] / acc:.1f}" if acc else "-"])
    lines += _table(head, rows)
    lines.append("")
    net = result.stats.get("network")
    if net is not None:
        msgs = {k: v for k, v in net["messages"].items()}
        lines += _table(list(msgs), [[f"{v:,}" for v in msgs.values()]])
        lines.append("")
        scalars = {k: v for k, v in net.items() if isinstance(v, int)}
        lines += _table(list(scalars), [[f"{v:,}" for v in scalars.values()]])
    else:
        bus = result.stats["bus"]
        lines += _table(list(bus), [[f"{v:,}" for v in bus.values()]])
    lines.append(f"\nIPC {tot['ipc']:.3f}, bus utilization {100 * tot['bus_utilization']:.1f}%")
    if result.memory:
        mem = ", ".join(f"{k}={v}" for k, v in result.memory.items())
        lines.append(f"memory: {mem}")
    return "\n".join(lines)


def _size(nbytes: int) -> str:
    return f"{nbytes // 1024} KiB" if nbytes >= 1024 and nbytes % 1024 == 0 else f"{nbytes} B"


def _table(head, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = "  ".join("{:>%d}" % w for w in widths)
    return [fmt.format(*head), fmt.format(*("-" * w for w in widths))] + \
        [fmt.format(*r) for r in rows]


def cmd_compile(args) -> int:
    from .errors import CoherenceError
    from .warmup import compile_all
    if args.jobs < 1:
        raise CoherenceError(f"--jobs must be at least 1, got {args.jobs}")
    wall = compile_all(jobs=args.jobs, quiet=args.quiet)
    if not args.quiet:
        print(f"coherence: every kernel is compiled ({wall:.1f} s)", file=sys.stderr)
    return 0


def cmd_protocol_show(args) -> int:
    from .protocols import REGISTRY, get_protocol
    by_name = {p.name: p for p in REGISTRY.values()}
    name = args.name.lower()
    proto = (by_name[name] if "-" in name and name in by_name
             else get_protocol(name, args.interconnect))
    print(proto.to_markdown())
    return 0


def cmd_protocol_list(args) -> int:
    from .protocols import INTERCONNECT_MEANING, REGISTRY
    from .protocols.message import MessageProtocol
    head = ("family", "interconnect", "states", "messages", "description")
    rows = [head]
    for (fam, net), p in REGISTRY.items():
        if isinstance(p, MessageProtocol):
            stable = [s.name for s in p.cache.states if not s.transient]
            transient = [s.name for s in p.cache.states if s.transient]
            states = " ".join(stable) + f" (+{len(transient)} transient)"
            traffic = ", ".join(m.name for m in p.messages)
        else:
            states = " ".join(p.states)
            traffic = ", ".join(p.bus_actions)
        rows.append((fam, net, states, traffic, re.split(r"[:;.] ", p.description)[0]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    print()
    for net, meaning in INTERCONNECT_MEANING.items():
        print(f"{net}: {meaning}")
    print("\n`coherence protocol show FAMILY --interconnect NET` prints a table.")
    return 0
