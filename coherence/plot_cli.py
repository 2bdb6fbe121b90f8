"""``coherence plot``: figures that need several runs.

* ``coherence plot compare FILE --protocols msi,mesi,moesi --out OUT.png`` runs one program
  under several protocols (same machine, same seed) and draws the bus transactions by type
  side by side, where the data went (flushes, cache-to-cache transfers, memory reads and
  writes, invalidations: what differs between protocols even when their transactions do
  not) and the traffic of each run over time.
* ``coherence plot scaling FILE --cores-list 1,2,4,8 --out OUT.png`` runs a ``.core all``
  program on each core count and draws throughput (instructions per cycle) and bus
  utilization against the number of cores.

A single run's figure is ``coherence run FILE --plot OUT.png``.  Bad input (an unreadable or
malformed program, an unknown protocol, a bad list, an unwritable output) prints one line and
exits 2, like every other subcommand.
"""

from __future__ import annotations

import warnings

from .errors import CoherenceError, PartialResultWarning
from .options import note_seed
from .run_cli import _save, add_machine_options, resolve_machine

# Windows of the traffic timeline recorded for the comparison (rebinned by the plot).
_WINDOW = 100
#: Pixels of the `plot compare` image: transactions, data movement, traffic over time.
COMPARE_SIZE = (1600, 500)


def add_subparser(sub) -> None:
    """Register ``plot`` and its sub-subcommands ``compare``, ``scaling`` and ``sequence``."""
    p = sub.add_parser("plot", help="figures comparing several runs (protocols, core counts)",
                       description="Figures comparing several runs of one program.")
    psub = p.add_subparsers(dest="plot_command", required=True,
                            metavar="{compare,scaling,sequence}")

    c = psub.add_parser("compare", help="one program under several protocols",
                        description="Run FILE once per protocol and plot bus transactions "
                                    "by type and traffic over time side by side.")
    c.add_argument("file", help="assembly source (.s)")
    c.add_argument("--protocols", default="msi,mesi,moesi",
                   help="comma-separated protocols (default msi,mesi,moesi)")
    add_machine_options(c, protocol=False)
    c.add_argument("--out", required=True, metavar="OUT.png", help="image to write")
    c.set_defaults(func=cmd_compare)

    s = psub.add_parser("scaling", help="one program on a growing number of cores",
                        description="Run FILE (written with '.core all') for each core count "
                                    "and plot throughput and bus utilization.")
    s.add_argument("file", help="assembly source (.s)")
    s.add_argument("--cores-list", required=True, metavar="1,2,4,8",
                   help="comma-separated core counts")
    s.add_argument("--work", metavar="SYMBOL",
                   help="measure throughput as SYMBOL's final value per 1,000 cycles (e.g. a "
                        "counter the program increments) instead of instructions per cycle, "
                        "which counts spin-loop iterations as work")
    s.add_argument("--interconnects", metavar="bus,split-bus,directory",
                   help="compare interconnects: run the same program on each (the protocol "
                        "family of --protocol) and plot throughput and average miss latency "
                        "against cores, one line each")
    add_machine_options(s, cores=False)
    s.add_argument("--out", required=True, metavar="OUT.png", help="image to write")
    s.set_defaults(func=cmd_scaling)

    q = psub.add_parser("sequence", help="a message-sequence chart of one symbol's line",
                        description="Run FILE and draw the bus transactions on SYMBOL's cache "
                                    "line over time: cores and memory as lanes, requests, "
                                    "data and write-backs as arrows, states annotated.")
    q.add_argument("file", help="assembly source (.s)")
    q.add_argument("--symbol", required=True, help="the symbol whose line to follow")
    add_machine_options(q)
    q.add_argument("--start", type=int, default=0, help="first cycle drawn (default 0)")
    q.add_argument("--max", type=int, default=40, dest="max_transactions",
                   help="transactions drawn at most (default 40)")
    q.add_argument("--out", required=True, metavar="OUT.png", help="image to write")
    q.set_defaults(func=cmd_sequence)


def _split(text: str, option: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise CoherenceError(f"{option} {text!r}: expected a comma-separated list with no "
                             f"empty items")
    return items


def parse_cores_list(text: str) -> list[int]:
    """``"1,2,4,8"`` -> ``[1, 2, 4, 8]``; anything else is a CoherenceError."""
    out = []
    for item in _split(text, "--cores-list"):
        try:
            n = int(item)
        except ValueError:
            raise CoherenceError(f"--cores-list: {item!r} is not a number, expected core "
                                 f"counts such as 1,2,4,8") from None
        if not 1 <= n <= 256:
            raise CoherenceError(f"--cores-list: {n} cores is out of range, expected 1..256 "
                                 f"(1..64 on the buses)")
        out.append(n)
    return out


def quiet_run(program, config, **kw):
    """``coherence.run`` whose partial result is reported by the command's own table (each
    run's status), not by a PartialResultWarning."""
    import warnings
    from . import run
    from .errors import PartialResultWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialResultWarning)
        return run(program, config, **kw)


def cmd_compare(args) -> int:
    from . import load_program, plot
    from .protocols import get_protocol
    protocols = [get_protocol(p) for p in _split(args.protocols, "--protocols")]
    values, _ = resolve_machine(args, 1, protocol=protocols[0])
    program = load_program(args.file, cores=values["cores"])
    cores = values["cores"] if values["cores"] is not None else max(program.cores, 1)
    note_seed(values)
    runs = {}
    for i, proto in enumerate(protocols):
        # stats="full": the memory reads and writes, where protocols differ most
        values, config = resolve_machine(args, cores, protocol=proto, timeline_window=_WINDOW,
                                         stats="full")
        if i == 0:
            _save(args, config, values.seed, values)
        runs[proto.name.upper()] = quiet_run(program, config, seed=values.seed)
    plt = plot._pyplot()
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(COMPARE_SIZE[0] / 100,
                                                             COMPARE_SIZE[1] / 100), dpi=100,
                                              layout="constrained", width_ratios=[1, 1, 1.6])
    try:
        plot.plot_bus_transactions(runs, ax=left)
        plot.plot_data_movement(runs, ax=middle)
        plot.plot_traffic(runs, ax=right)
        fig.suptitle(f"{args.file}: {cores} cores, {config.model.upper()}, seed {values.seed} — "
                     + ", ".join(f"{k} {r.cycles:,} cycles" for k, r in runs.items()),
                     fontsize=11)
    except BaseException:
        plt.close(fig)
        raise
    plot.save_figure(fig, args.out)
    kinds = [label for label, _, _ in plot.DATA_MOVEMENT]
    for name, r in runs.items():
        bus = r.stats["bus"]
        total = sum(bus.get(t, 0) for t in plot.TRANSACTION_TYPES)
        moved = plot.data_movement(r)
        extra = ", ".join(f"{moved[k]:,} {k}" for k in kinds if k in moved)
        print(f"{name:6s} {r.status:11s} {r.cycles:>12,} cycles {total:>10,} transactions; "
              f"{extra}")
    print(f"wrote {args.out}")
    return 0


def cmd_sequence(args) -> int:
    from . import load_program, plot
    values, _ = resolve_machine(args, 1)
    program = load_program(args.file, cores=values["cores"])
    cores = values["cores"] if values["cores"] is not None else max(program.cores, 1)
    if args.max_transactions < 1:
        raise CoherenceError(f"--max must be at least 1, got {args.max_transactions}")
    values, config = resolve_machine(args, cores)
    note_seed(values)
    _save(args, config, values.seed, values)
    if config.interconnect != "bus":
        # the message log comes from the reference model (the same machine, run for run):
        # a chart is of a small program, which it runs in well under a second
        from .netref import run_net_reference
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialResultWarning)
            result = run_net_reference(program, config, seed=values.seed,
                                       watch=[args.symbol])
        fig = plot.plot_message_flow(result, args.symbol, start=args.start,
                                     max_messages=args.max_transactions)
        n, what = len(result.messages[args.symbol]), "messages"
    else:
        result = quiet_run(program, config, seed=values.seed, watch=[args.symbol])
        fig = plot.plot_message_sequence(result, args.symbol, start=args.start,
                                         max_transactions=args.max_transactions)
        n, what = len(result.transactions[args.symbol]), "transactions"
    plot.save_figure(fig, args.out)
    print(f"{args.symbol}: {n:,} {what} in {result.cycles:,} cycles ({result.status}); "
          f"drew up to {args.max_transactions} from cycle {args.start}")
    print(f"wrote {args.out}")
    return 0


def cmd_scaling(args) -> int:
    from . import plot
    cores_list = parse_cores_list(args.cores_list)
    # comparing interconnects, --topology is the directory's: the base machine is one
    values, base = resolve_machine(args, 1, **({"interconnect": "directory"}
                                                if args.interconnects else {}))
    proto = base.protocol
    note_seed(values)
    _save(args, base, values.seed, values)
    throughput, label = None, "throughput (instructions / cycle)"
    if args.work:
        symbol = args.work
        label = f"{symbol} per 1,000 cycles"

        def throughput(result):
            if symbol not in result.memory:
                raise CoherenceError(f"--work {symbol}: no such symbol in {args.file} "
                                     f"(symbols: {', '.join(result.memory)})")
            value = result.memory[symbol]
            if isinstance(value, list):
                raise CoherenceError(f"--work {symbol}: a {len(value)}-word symbol, expected "
                                     f"a one-word counter")
            return 1000 * value / max(result.cycles, 1)
    if args.interconnects:
        from .protocols import INTERCONNECTS
        nets = _split(args.interconnects, "--interconnects")
        for n in nets:
            if n not in INTERCONNECTS:
                raise CoherenceError(f"--interconnects: unknown interconnect {n!r}, expected "
                                     f"some of {', '.join(INTERCONNECTS)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PartialResultWarning)
            series = plot.interconnect_scaling(args.file, cores_list, config=base,
                                               seed=values.seed, throughput=throughput,
                                               interconnects=nets)
        fig = plot.plot_interconnect_scaling(
            series, title=f"{args.file}: {getattr(proto, 'family', proto.name).upper()}, "
                          f"{base.model.upper()}, seed {values.seed}", throughput_label=label)
        plot.save_figure(fig, args.out)
        print(f"{'interconnect':<20} {'cores':>5}  {'cycles':>12}  {'IPC':>7}  "
              f"{'miss lat':>8}  {'messages':>9}  status")
        for net, data in series.items():
            for d in data:
                print(f"{net:<20} {d['cores']:>5}  {d['cycles']:>12,}  {d['ipc']:>7.3f}  "
                      f"{d['miss_latency']:>8.1f}  {d['transactions']:>9,}  {d['status']}")
        print(f"wrote {args.out}")
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialResultWarning)  # the table has each status
        data = plot.scaling_data(args.file, cores_list, config=base, seed=values.seed,
                                 throughput=throughput)
    fig = plot.plot_scaling(data, title=f"{args.file}: {proto.name.upper()}, "
                                        f"{base.model.upper()}, seed {values.seed}",
                            throughput_label=label)
    plot.save_figure(fig, args.out)
    work = f"{args.work[:12] + '/kcyc':>17}" if args.work else ""
    print(f"{'cores':>5}  {'cycles':>12}  {'IPC':>7}  {work}{'  ' if work else ''}"
          f"{'bus util':>8}  status")
    for d in data:
        extra = f"{d['throughput']:>17.2f}  " if args.work else ""
        print(f"{d['cores']:>5}  {d['cycles']:>12,}  {d['ipc']:>7.3f}  {extra}"
              f"{100 * d['bus_utilization']:>7.1f}%  {d['status']}")
    print(f"wrote {args.out}")
    return 0
