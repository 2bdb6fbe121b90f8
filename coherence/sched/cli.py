"""``coherence sched FILE...``: simulate (and optionally explore) scenarios, print findings.

Exit status: 0 when nothing is found, 1 when anything is found, 2 on bad input (printed by the
dispatcher on one line).  With ``--json`` one file gives one JSON document, several files a
JSON list of documents (one per file, in order).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import CoherenceError

# The choices of --policy.  The scenario model owns them, but the scheduler's modules import
# numpy, which `coherence sched --help` must not pay for; a test keeps the two equal.
POLICIES = ("fifo", "round-robin", "priority", "priority-aging", "lottery",
            "priority-inheritance", "random")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad number {text!r}, expected an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"bad number {text!r}, expected an integer >= 0")
    return value


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Register the ``sched`` subcommand."""
    p = subparsers.add_parser(
        "sched", help="thread schedulers: deadlock, starvation, livelock, priority inversion",
        description="Simulate thread scenarios under a scheduling policy and report deadlock, "
                    "potential deadlock, starvation, livelock, lost wakeups and priority "
                    "inversion; --explore checks every schedule.  Exit 1 when anything is "
                    "found.  See docs/sched.md.")
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario .toml files")
    p.add_argument("--policy", choices=POLICIES, help="override the scenario's policy")
    p.add_argument("--seed", type=_positive, help="random seed (lottery, random)")
    p.add_argument("--explore", action="store_true",
                   help="also explore every interleaving (exhaustive, bounded by --max-states)")
    p.add_argument("--max-states", type=_positive, default=1_000_000,
                   help="bound of the exhaustive exploration (default 1000000)")
    p.add_argument("--max-ticks", type=_positive, help="bound of the simulation in ticks")
    p.add_argument("--starve-ticks", type=_positive, metavar="K",
                   help="starvation: runnable but not scheduled for more than K ticks")
    p.add_argument("--bypass", type=_positive, metavar="B",
                   help="starvation: a waiter bypassed more than B times")
    p.add_argument("--fairness", choices=("strong", "weak"), default="strong",
                   help="fairness the explorer assumes for starvation cycles (default strong)")
    p.add_argument("--no-cycle-stop", action="store_true",
                   help="keep simulating after the schedule becomes periodic")
    p.add_argument("--plot", metavar="OUT.png",
                   help="write a Gantt chart (several files: OUT-<scenario>.png)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--replay", metavar="SCHEDULE",
                   help="replay a schedule such as 'T1*2,T2' or 'T1,(T1,T2)' and report")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only one line per finding")
    p.set_defaults(func=run)
    return p


def _plot_path(base: str, name: str, several: bool) -> str:
    if not several:
        return base
    stem, dot, ext = base.rpartition(".")
    if not dot:
        return f"{base}-{name}.png"
    return f"{stem}-{name}.{ext}"


def run(args) -> int:
    """Check every FILE; print the reports; return the exit status."""
    from .check import check
    from .loader import load
    from .report import render_json, render_text
    reports = []
    plot_error = None
    for path in args.files:
        scenario = load(path)
        if args.max_states is not None and args.max_states < 1:
            raise CoherenceError(f"bad --max-states {args.max_states}, expected >= 1")
        report = check(scenario, policy=args.policy, seed=args.seed, max_ticks=args.max_ticks,
                       starve_ticks=args.starve_ticks, bypass=args.bypass,
                       explore=args.explore, max_states=args.max_states, replay=args.replay,
                       fairness=args.fairness, stop_periodic=not args.no_cycle_stop)
        reports.append(report)
        if not args.json:
            text = render_text(report, quiet=args.quiet)
            if text:
                print(text)
                if not args.quiet and len(args.files) > 1:
                    print()
            sys.stdout.flush()
        # The chart comes after the report, so a path that cannot be written (an error, exit
        # 2) does not lose the findings.
        if args.plot and plot_error is None:
            out = _plot_path(args.plot, scenario.name, len(args.files) > 1)
            plot_error = _plot(report, out)
            if plot_error is None:
                print(f"wrote {out}", file=sys.stderr if args.json else sys.stdout)
        if report.stats.get("interrupted"):
            # Ctrl-C during the exploration: what it found is printed above; stop here
            # (the dispatcher says "interrupted" and exits 130).
            if args.json:
                print(render_json(reports, single=len(args.files) == 1))
            raise KeyboardInterrupt
    if args.json:
        print(render_json(reports, single=len(args.files) == 1))
    if plot_error is not None:
        raise plot_error
    return 1 if any(r.findings for r in reports) else 0


def _plot(report, path: str):
    """Write the Gantt chart of ``report`` to ``path``; the CoherenceError if that fails."""
    if report.simulation is None:
        return CoherenceError("--plot needs a simulation, expected no --replay")
    from .gantt import plot_gantt
    try:
        plot_gantt(report, path=path)
    except CoherenceError as exc:
        return exc
    return None


def main(argv=None) -> int:
    """Stand-alone entry (``python -m coherence.sched``), same behaviour as the dispatcher."""
    parser = argparse.ArgumentParser(prog="coherence")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subparser(sub)
    args = parser.parse_args(["sched"] + list(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args) or 0)
    except CoherenceError as exc:
        print(f"coherence: {exc}", file=sys.stderr)
        return 2
