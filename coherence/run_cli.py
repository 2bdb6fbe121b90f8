"""The core subcommands: ``coherence run``, ``coherence protocol`` and ``coherence compile``."""

from __future__ import annotations

import json
import sys



def add_subparsers(sub) -> None:
    p = sub.add_parser("run", help="run an assembly program on the emulated machine",
                       description="Run an assembly program (docs/asm.md) and print a summary.")
    p.add_argument("file", help="assembly source (.s)")
    add_machine_options(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the randomised timing")
    p.add_argument("--check", action="store_true",
                   help="check the coherence invariants after every bus transaction")
    p.add_argument("--timeline", type=int, default=0, metavar="W",
                   help="record bus transactions per window of W cycles")
    p.add_argument("--watch", nargs="+", default=[], metavar="SYMBOL",
                   help="log every core's state of these symbols' cache lines (drawn by "
                        "--plot, listed by --json as line_states)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="OUT.png", help="write a traffic plot of the run")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("protocol", help="show the coherence protocols' transition tables")
    psub = p.add_subparsers(dest="action", required=True)
    s = psub.add_parser("show", help="print a protocol's table as Markdown")
    s.add_argument("name", help="a protocol family: msi, mesi, moesi, mesif or dragon")
    s.add_argument("--interconnect", default="bus", help="the interconnect (default bus)")
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


def add_machine_options(p, cores: bool = True, protocol: bool = True) -> None:
    """Options describing the machine, shared by every subcommand that runs the emulator
    (a subcommand that varies the cores or the protocol itself leaves those out)."""
    if cores:
        p.add_argument("--cores", type=int, default=None,
                       help="number of cores (default: as many as the program uses)")
    if protocol:
        p.add_argument("--protocol", default="mesi",
                       help="protocol family: msi, mesi, moesi, mesif or dragon (default mesi; "
                            "`coherence protocol list` lists them)")
    p.add_argument("--interconnect", default="bus",
                   help="the interconnect the protocol runs on (default bus: the atomic "
                        "snooping bus)")
    p.add_argument("--model", default="sc", help="sc or tso (default sc)")
    p.add_argument("--arbitration", default="round-robin",
                   help="round-robin, fixed or random (default round-robin)")
    p.add_argument("--l1-size", type=int, default=32768, help="L1 bytes (default 32768)")
    p.add_argument("--l1-ways", type=int, default=8, help="L1 associativity (default 8)")
    p.add_argument("--line-size", type=int, default=64, help="line bytes (default 64)")
    p.add_argument("--store-buffer", type=int, default=8, help="TSO store-buffer entries")
    p.add_argument("--max-cycles", type=int, default=50_000_000, help="watchdog limit")
    p.add_argument("--stats", default="basic", choices=("basic", "full"),
                   help="full: also miss-latency histograms and per-(state, event) transition "
                        "counts (a few percent slower)")


def config_from_args(args, cores: int, protocol=None, **extra):
    """The SystemConfig of :func:`add_machine_options`' options (``protocol`` overrides)."""
    from .config import SystemConfig
    return SystemConfig(cores=cores, protocol=args.protocol if protocol is None else protocol,
                        interconnect=args.interconnect, model=args.model,
                        arbitration=args.arbitration, l1_size=args.l1_size,
                        l1_ways=args.l1_ways, line_size=args.line_size,
                        store_buffer=args.store_buffer, max_cycles=args.max_cycles,
                        stats=args.stats, **extra)


def cmd_run(args) -> int:
    from . import load_program, run
    program = load_program(args.file, cores=args.cores)
    cores = args.cores if args.cores is not None else max(program.cores, 1)
    # A plot needs the traffic timeline; 100-cycle windows are rebinned by the plot.
    window = args.timeline or (100 if args.plot else 0)
    config = config_from_args(args, cores, timeline_window=window)
    result = run(program, config, seed=args.seed, check=args.check, watch=args.watch)
    if args.plot:
        from . import plot
        plot.save_run_figure(result, args.plot, program=program, seed=args.seed)
    if args.json:
        doc = result.to_dict()
        if args.watch:
            doc["line_states"] = {k: [list(e) for e in v] for k, v in result.line_states.items()}
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        print(format_summary(result, args.file))
    return 0


def format_summary(result, source: str = "") -> str:
    """A readable report: machine, status, a per-core table, the bus table, final memory."""
    cfg = result.config
    lines = [f"{source}: {cfg['cores']} cores, {cfg['protocol'].upper()}, {cfg['model'].upper()}"
             f", L1 {cfg['l1_size'] // 1024} KiB {cfg['l1_ways']}-way {cfg['line_size']} B lines,"
             f" seed {result.seed}",
             f"status: {result.status} after {result.cycles:,} cycles", ""]
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
    bus = result.stats["bus"]
    lines += _table(list(bus), [[f"{v:,}" for v in bus.values()]])
    lines.append(f"\nIPC {tot['ipc']:.3f}, bus utilization {100 * tot['bus_utilization']:.1f}%")
    if result.memory:
        mem = ", ".join(f"{k}={v}" for k, v in result.memory.items())
        lines.append(f"memory: {mem}")
    return "\n".join(lines)


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
    from .protocols import get_protocol
    print(get_protocol(args.name, args.interconnect).to_markdown())
    return 0


def cmd_protocol_list(args) -> int:
    from .protocols import REGISTRY
    head = ("family", "interconnect", "states", "transactions", "description")
    rows = [head] + [(fam, net, " ".join(p.states), ", ".join(p.bus_actions), p.description)
                     for (fam, net), p in REGISTRY.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    return 0
