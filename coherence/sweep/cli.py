"""``coherence sweep SPEC.toml``: run a design-space sweep; ``coherence sweep --plot RESULTS``:
draw a results folder.

Exit status: 0 when every run of the spec has its row in the results folder (a row may say
``status = error`` for an impossible combination), 1 when some task failed (its runs are not
in the folder; running the command again computes them), 2 on bad input, 130 when
interrupted (finished runs are kept; running the command again continues).
"""

from __future__ import annotations

import json
import sys

from ..errors import CoherenceError


def _positive(s: str) -> int:
    import argparse
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def add_subparser(sub) -> None:
    """Register ``coherence sweep``."""
    p = sub.add_parser(
        "sweep", help="run a design-space sweep (TOML spec) locally or on a Dask cluster",
        description="Run every combination of a spec's workloads and axes (docs/sweep.md), "
                    "in batches, writing results to a resumable Parquet folder; or, with "
                    "--plot, draw a results folder.")
    p.add_argument("spec", nargs="?", metavar="SPEC.toml", help="the sweep spec")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="local, local:N (a Dask LocalCluster of N workers) or tcp://HOST:PORT "
                        "(a running Dask scheduler); default: a local process pool")
    p.add_argument("-j", "--jobs", type=_positive, default=None,
                   help="processes of the local pool (default: one per CPU; 1: in this "
                        "process)")
    p.add_argument("--results", metavar="DIR", help="the results folder (default: the "
                                                    "spec's sweep.out)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    g = p.add_argument_group("plotting a results folder")
    g.add_argument("--plot", metavar="RESULTS", help="draw this results folder (no sweep)")
    g.add_argument("--x", help="the column on the x axis (e.g. cores)")
    g.add_argument("--y", help="the column on the y axis (e.g. bus.busy_cycles)")
    g.add_argument("--hue", help="one line per value of this column (e.g. protocol)")
    g.add_argument("--out", metavar="OUT.png", help="the image to write")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args) -> int:
    if args.plot:
        return _plot(args)
    if args.spec is None:
        raise CoherenceError("coherence sweep needs a SPEC.toml (or --plot RESULTS)")
    for opt in ("x", "y", "hue", "out"):
        if getattr(args, opt):
            raise CoherenceError(f"--{opt} goes with --plot RESULTS")
    from .driver import run_sweep
    from .spec import load_spec
    spec = load_spec(args.spec)
    out = args.results or spec.out
    if out is None:
        raise CoherenceError("the spec has no sweep.out and no --results DIR was given",
                             file=args.spec)
    show = not (args.quiet or args.json) and sys.stderr.isatty()
    try:
        df = run_sweep(spec, cluster=args.cluster, jobs=args.jobs, out=out, progress=show)
    except KeyboardInterrupt:
        print(f"coherence: interrupted; the finished runs are in {out}, run the same command "
              f"again to continue", file=sys.stderr)
        return 130
    s = df.attrs["summary"]
    for pattern in s["unmatched_keep"]:
        print(f"coherence: warning: sweep.keep {pattern!r} matched no statistic",
              file=sys.stderr)
    if args.json:
        json.dump(s, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        where = f"{s['executor']}, {s['workers']} worker{'s' * (s['workers'] != 1)}" \
            if s["executor"] else "nothing to run"
        print(f"{args.spec}: {s['runs']} runs: {s['skipped']} already done, {s['computed']} "
              f"computed now ({where}, {s['tasks']} tasks) in {s['wall']:.1f} s")
        if s["statuses"]:
            print("status: " + ", ".join(f"{k} {v}" for k, v in sorted(s["statuses"].items())))
        if s["errors"]:
            first = df.loc[df["status"].isin(["error", "violation"]), "error"].iloc[0]
            print(f"{s['errors']} runs could not run or failed a check, e.g.: {first}")
        print(f"results: {out}")
    if s["failed"]:
        print(f"coherence: {s['failed']} runs failed and are not in the results "
              f"({s['failures'][0]}); run the same command again to retry them",
              file=sys.stderr)
        return 1
    return 0


def _plot(args) -> int:
    if args.spec is not None:
        raise CoherenceError("give either SPEC.toml (run a sweep) or --plot RESULTS, not both")
    missing = [f"--{o}" for o in ("x", "y", "out") if not getattr(args, o)]
    if missing:
        raise CoherenceError(f"--plot needs {' and '.join(missing)}")
    from .. import plot
    from .store import load
    df = load(args.plot)
    fig = plot.plot_sweep(df, x=args.x, y=args.y, hue=args.hue,
                          title=f"{args.plot}: {args.y} against {args.x}")
    plot.save_figure(fig, args.out)
    print(f"wrote {args.out}")
    return 0
