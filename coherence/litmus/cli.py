"""``coherence litmus PATH...``: verdicts for a suite of herd7 litmus tests.

Each x86 test is enumerated exhaustively under SC and x86-TSO (the operational enumerators,
the faster path); an AArch64 or RISC-V test under SC and its architecture's model, through the
cat interpreter.  ``--model NAME`` picks one model (a shipped cat model for ``x86-tso``,
``aarch64``, ``riscv``), ``--cat FILE`` any cat file.  The output per test is herd7's text.  Unless ``--enumerate-only`` is given, the test then
runs ``--iterations`` times on the emulator (a ``--model`` core, default ``tso``, with
``--protocol`` caches) and litmus7's histogram follows, with the SC violations and the unseen
allowed states.  A summary table ends the output.

With ``--cluster`` (Dask) or ``--results DIR`` (a resumable folder of campaign chunks) the
enumerations and the campaigns' chunks run as tasks on the sweep executors
(:mod:`coherence.litmus.distributed`); the histograms are the serial run's.

Exit status: 1 when the emulator showed a state its model forbids, some test was skipped
(the reason is printed) or a campaign chunk failed, 2 on bad usage, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import CoherenceError
from .enumerate import MODELS, enumerate_states

# The campaign module imports the engine (numpy, numba), which ``--help`` must not pay for, so
# the option's default is spelled here; a test keeps it equal to campaign.DEFAULT_ITERATIONS.
DEFAULT_ITERATIONS = 100_000
DEFAULT_MODEL = "tso"
DEFAULT_CHUNK = 1 << 18  # campaign.CHUNK
# ``--model`` choices: the operational x86 models and the shipped cat models (spelt here so
# that ``--help`` need not list the package's data; a test keeps them in step).
CAT_MODELS = ("sc", "x86-tso", "aarch64", "riscv")
MODEL_CHOICES = ("sc", "tso", "x86-tso", "aarch64", "riscv")
# The model of each architecture that the cat path uses by default.
ARCH_MODEL = {"AArch64": "aarch64", "RISCV": "riscv"}
X86_ARCHES = ("X86", "X86_64")
CAMPAIGNS_X86_ONLY = ("emulator campaigns are x86-only (the emulator's cores are SC and TSO); "
                      "AArch64 and RISC-V tests get their verdicts only")


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


MAX_ITERATIONS = 10**12  # = campaign.MAX_ITERATIONS (not imported: see above)


def _iterations(s: str) -> int:
    v = _positive_int(s)
    if v > MAX_ITERATIONS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_ITERATIONS:,} iterations, "
                                         f"got {s!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``litmus`` options (shared by ``coherence litmus`` and ``python -m
    coherence.litmus``)."""
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="litmus files, directories (searched for *.litmus) or @index files")
    p.add_argument("--model", choices=MODEL_CHOICES,
                   help="memory model (default: x86 tests sc and tso, printing tso; AArch64 "
                        "and RISC-V tests sc and their architecture's model, printing it)")
    p.add_argument("--cat", metavar="FILE",
                   help="a cat model file (yours, or herd's), instead of --model")
    p.add_argument("-I", "--include", dest="cat_path", action="append", default=[],
                   metavar="DIR", help="search DIR for a cat file's includes (repeatable)")
    p.add_argument("--axiomatic", action="store_true",
                   help="x86 sc and tso through the cat models (sc.cat, x86-tso.cat) instead "
                        "of the operational enumerators (same verdicts, slower)")
    p.add_argument("--enumerate-only", action="store_true",
                   help="exhaustive verdicts only, no emulator campaign")
    p.add_argument("--iterations", type=_iterations, default=DEFAULT_ITERATIONS,
                   help=f"emulator runs per test (default {DEFAULT_ITERATIONS:,})")
    p.add_argument("--protocol", default="mesi", help="coherence protocol (campaigns)")
    p.add_argument("--seed", type=int, default=0, help="random seed (campaigns)")
    p.add_argument("-j", "--jobs", type=_positive_int, default=1,
                   help="worker processes (enumeration and campaigns)")
    p.add_argument("--chunk", type=_positive_int, default=DEFAULT_CHUNK,
                   help=f"iterations per campaign chunk, each from its own seed derived from "
                        f"--seed, the test and the chunk's index (default {DEFAULT_CHUNK:,}); "
                        f"the histogram depends on it, not on how chunks are spread")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run enumerations and campaign chunks on Dask: local, local:N or "
                        "tcp://HOST:PORT (docs/sweep.md)")
    p.add_argument("--results", metavar="DIR",
                   help="commit each campaign chunk's histogram to this folder as it "
                        "finishes; a rerun reuses the chunks already there")
    p.add_argument("--plot", metavar="OUT.png",
                   help="write the campaigns' histograms to a PNG")
    p.add_argument("--graph", metavar="OUT.png",
                   help="draw the execution(s) of --show (default: the condition's state) "
                        "to an image; one file per test when there are several")
    p.add_argument("--dot", metavar="OUT.dot", help="the same execution(s) as Graphviz DOT")
    p.add_argument("--show", choices=("all", "witness", "forbidden"),
                   help="executions to draw or explain: every allowed one, the allowed ones "
                        "satisfying the condition, or the forbidden ones satisfying it")
    p.add_argument("--explain", action="store_true",
                   help="print why the condition's state is allowed or forbidden: the "
                        "failed check and its cycle as diy edges (Rfe PodRR Fre PodWW)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print herd's and litmus7's full block for every test, then the table")
    from ..options import add_machine_options
    # A campaign sizes the machine from the test (one core per thread) and keeps no timeline.
    add_machine_options(p, exclude=("cores", "model", "protocol", "stats", "timeline_window"),
                        seed=False)


def add_subparser(subparsers) -> None:
    """Register ``coherence litmus``."""
    p = subparsers.add_parser("litmus", help="run litmus tests (herd7 format)",
                              description=__doc__.splitlines()[0])
    add_arguments(p)
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- driver


def _work_one(item):
    """Worker: ``(index, test, models, campaign options | None)`` ->
    ``(index, {model: Verdict} | None, skip reason | None, Campaign | str | None)``.

    A campaign that cannot run (the ISA cannot express the test) leaves the verdicts intact
    and comes back as its reason string."""
    i, test, plan, camp = item
    try:
        verdicts = verdicts_of(test, plan)
    except CoherenceError as exc:
        return i, None, str(exc), None
    except Exception as exc:  # a bug of ours must not stop the suite either
        return i, None, f"{test.path}: internal error: {type(exc).__name__}: {exc}", None
    campaign = None
    if camp is not None and test.arch in X86_ARCHES:
        model, protocol, iterations, seed, chunk, overrides, profiles = camp
        try:
            campaign = run_campaign(test, model=model, protocol=protocol,
                                    iterations=iterations, seed=seed, verdicts=verdicts,
                                    chunk=chunk, profiles=profiles, **overrides)
        except CoherenceError as exc:
            campaign = f"emulator campaign skipped: {exc}"
    return i, verdicts, None, campaign


def verdicts_of(test, plan) -> dict:
    """``{label: Verdict}`` of ``test`` under each model of its plan (:func:`model_plan`)."""
    verdicts = {}
    for label, how, name, cat_path in plan:
        v = verdicts[label] = _verdict(test, how, name, cat_path)
        v.model = label  # `tso` stays `tso` when the cat path computed it
    return verdicts


def _verdict(test, how, name, cat_path):
    """One model's verdict: ``how`` is "op" (the operational enumerator) or "cat"."""
    if how == "op":
        return enumerate_states(test, name)
    from .cat.verdict import cat_verdict
    return cat_verdict(test, name, tuple(cat_path))


# From this many threads on, x86 sc / tso verdicts go through the cat models: the
# operational enumerators explore interleavings (store buffering over 7 threads: 1 s, over 9:
# two minutes), the cat path only the reads' choices (SB over 8 threads: 0.2 s, over 12: a
# few seconds); below it the enumerators are faster.  Same verdicts (tests/test_litmus_cat.py).
CAT_FROM_THREADS = 6


def _cat_is_faster(test) -> bool:
    return test.nthreads >= CAT_FROM_THREADS and not any(th.can_loop for th in test.threads)


def model_plan(test, args) -> list[tuple[str, str, str, tuple]]:
    """The models to enumerate ``test`` under: ``(label, "op" | "cat", name, cat path)``;
    the last one is the model whose herd block is printed."""
    inc = tuple(args.cat_path)
    if args.cat:
        label = os.path.splitext(os.path.basename(args.cat))[0]
        return [(label, "cat", args.cat, inc)]
    x86 = test.arch in X86_ARCHES

    def one(m):
        if m in ("sc", "tso") and x86 and not args.axiomatic and \
                not _cat_is_faster(test):
            return (m, "op", m, inc)
        cat = {"tso": "x86-tso"}.get(m, m)
        return (m, "cat", cat, inc)

    if args.model:
        return [one(args.model)]
    if x86:
        return [one("sc"), one("tso")]
    return [one("sc"), one(ARCH_MODEL[test.arch])]


def _views(test, plan_entry, args):
    """The executions ``--graph`` / ``--dot`` / ``--explain`` show, under the printed
    model (through its cat model: sc.cat, x86-tso.cat for the operational ones)."""
    from .graph import collect_views
    _label, how, name, inc = plan_entry
    cat = {"sc": "sc", "tso": "x86-tso"}[name] if how == "op" else name
    try:
        return collect_views(test, cat, inc, show=args.show)
    except CoherenceError as exc:
        raise CoherenceError(f"cannot draw {test.name}: {exc}") from None


def _numbered(path: str, name: str, many: bool) -> str:
    if not many:
        return path
    root, ext = os.path.splitext(path)
    safe = "".join(ch if ch.isalnum() or ch in "-_+." else "_" for ch in name)
    return f"{root}-{safe}{ext}"


def _write_graphs(graphs, args):
    many = len(graphs) > 1
    for test, views in graphs:
        if not views:
            sys.stderr.write(f"coherence: {test.name}: no execution to draw for "
                             f"--show {args.show or 'the condition'}\n")
            continue
        if args.dot:
            from .graph import to_dot
            path = _numbered(args.dot, test.name, many)
            try:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write("".join(to_dot(v) for v in views))
            except OSError as exc:
                raise CoherenceError(f"cannot write: {exc.strerror}", file=path) from None
        if args.graph:
            from ..plot import save_execution_figure
            save_execution_figure(views, _numbered(args.graph, test.name, many))


def run_campaign(test, **options):
    """:func:`coherence.litmus.campaign.run_campaign`, imported on the first campaign (it needs
    the engine); a module attribute, so a test can substitute it for the workers."""
    from .campaign import run_campaign as campaign
    return campaign(test, **options)


def _machine(args):
    """The campaign's machine flags: ``(SystemConfig overrides, profiles or None)``.  Only the
    fields given (by a flag or --config) override the campaign's machine; ``--noise NAME``
    replaces the campaign's cycle of timing profiles by that one profile."""
    from ..fields import NOISE_FIELDS
    from ..options import build_config, machine_values
    values = machine_values(args)
    overrides = {k: values[k] for k in values.given if k not in NOISE_FIELDS or
                 values.noise is None}
    build_config(values, cores=1)  # a bad value is a usage error before any work
    profiles = None
    if values.noise is not None:
        profiles = (tuple(values[k] for k in NOISE_FIELDS),)
    if args.save_config:
        from ..options import command_line, save_config
        save_config(args.save_config, {k: values[k] for k in values.given}, args.seed,
                    command=command_line(getattr(args, "_argv", None)), noise=values.noise)
        print(f"wrote {args.save_config}", file=sys.stderr if args.json else sys.stdout)
    return overrides, profiles


def _progress(total: int, args):
    show = not (args.quiet or args.json) and sys.stderr.isatty()
    from tqdm import tqdm
    return tqdm(total=total, file=sys.stderr, unit="test", disable=not show, leave=False,
                delay=0.5)


def run(args) -> int:
    """Run the ``litmus`` subcommand; returns the exit status."""
    from .report import herd_block, herd_reference, skipped_json, summary_table, verdict_json
    from .suite import is_index, load_suite
    # One test file named on its own: a mistake in it is bad input (one `file:line:` line on
    # stderr, exit 2), not a suite entry to skip.
    single = (len(args.paths) == 1 and os.path.isfile(args.paths[0])
              and not is_index(args.paths[0]))
    if single:
        from .parser import parse_file
        suite = [(args.paths[0], parse_file(args.paths[0]))]
    else:
        suite = load_suite(args.paths)
    if not suite:
        raise CoherenceError("no litmus tests found (expected *.litmus files or an @index)",
                             file=args.paths[0])
    if args.cat and args.model:
        raise CoherenceError("give --model or --cat, not both")
    if args.cat:
        from .cat.model import load_model
        load_model(args.cat, args.cat_path)  # a bad model is a usage error before any work
    plans = {i: model_plan(t, args) for i, (_p, t) in enumerate(suite)
             if not isinstance(t, str)}
    models = []
    for plan in plans.values():
        for label, *_rest in plan:
            if label not in models:
                models.append(label)
    if not models:
        models = [args.model or DEFAULT_MODEL]
    shown_of = {i: plan[-1][0] for i, plan in plans.items()}
    shown = args.model or (os.path.splitext(os.path.basename(args.cat))[0] if args.cat
                           else DEFAULT_MODEL)
    camp = None
    if not args.enumerate_only:
        from ..protocols import get_protocol
        get_protocol(args.protocol)  # a bad name is a usage error before any work
        overrides, profiles = _machine(args)
        camp_model = args.model if args.model in MODELS else DEFAULT_MODEL
        camp = (camp_model, args.protocol, args.iterations, args.seed, args.chunk, overrides,
                profiles)
    work = [(i, t, plans[i], camp) for i, (_p, t) in enumerate(suite)
            if not isinstance(t, str)]
    results: dict[int, tuple] = {}
    bar = _progress(len(work), args)
    info = None
    interrupted = False
    try:
        if args.cluster or args.results:
            from .distributed import report, run_distributed
            try:
                results, info = run_distributed(work, args, bar)
            finally:
                if bar is not None:
                    bar.close()
            bar = None
            report(info, args)
        elif args.jobs > 1 and len(work) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            # spawn, not fork: the parent may have started numba or engine threads.
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
                for i, verdicts, reason, campaign in pool.map(_work_one, work, chunksize=1):
                    results[i] = (verdicts, reason, campaign)
                    if bar is not None:
                        bar.update()
        else:
            for item in work:
                i, verdicts, reason, campaign = _work_one(item)
                results[i] = (verdicts, reason, campaign)
                if bar is not None:
                    bar.update()
    except KeyboardInterrupt:
        # Ctrl-C: report the tests that finished (below), then stop as interrupted.
        interrupted = True
    if bar is not None:
        bar.close()

    # A suite prints one line per test (the table); -v, or a single test, adds herd's and
    # litmus7's blocks before it.
    blocks = args.verbose or len(suite) == 1
    rows, entries, out, campaigns, graphs = [], [], [], [], []
    for i, (path, test) in enumerate(suite):
        campaign = None
        if not isinstance(test, str) and i not in results:
            continue  # not run: the suite was interrupted
        if isinstance(test, str):
            verdicts, reason = None, test
        else:
            verdicts, reason, campaign = results[i]
        if reason is not None and single and ": internal error: " not in reason:
            raise CoherenceError(reason)  # the one test is bad input: one line, exit 2
        if reason is not None:
            name = test.name if not isinstance(test, str) else \
                os.path.splitext(os.path.basename(path))[0]
            rows.append((name, path, None, reason, None))
            for m in models:
                entries.append(skipped_json(name, path, reason, m))
            if not args.json and blocks:
                out.append(f"Test {name} skipped: {reason}\n\n")
            continue
        rows.append((test.name, path, verdicts, None, campaign))
        for m in models:
            if m not in verdicts:
                continue
            entry = verdict_json(verdicts[m])
            if m == shown_of[i] and campaign is not None:
                if isinstance(campaign, str):
                    entry["campaign_skipped"] = campaign
                else:
                    entry.update(campaign.to_json())
            entries.append(entry)
        if not args.json and blocks:
            out.append(herd_block(verdicts[shown_of[i]]))
        if args.graph or args.dot or args.explain:
            views = _views(test, plans[i][-1], args)
            graphs.append((test, views))
            if args.explain and not args.json:
                from .graph import explain_line
                out.append("".join(explain_line(v) + "\n" for v in views) or
                           f"Explain {test.name}: no execution to show\n")
                out.append("\n")
        if not args.json and blocks:
            if isinstance(campaign, str):
                out.append(f"{campaign}\n\n")
            elif campaign is not None:
                from .campaign import format_campaign
                out.append(format_campaign(campaign) + "\n")
        if campaign is not None and not isinstance(campaign, str):
            campaigns.append(campaign)
    if args.graph or args.dot:
        _write_graphs(graphs, args)
    if args.plot:
        if not campaigns:
            raise CoherenceError("--plot needs emulator campaigns (drop --enumerate-only)",
                                 file=args.plot)
        from ..plot import save_litmus_figure
        save_litmus_figure(campaigns, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    if camp is not None and any(t.arch not in X86_ARCHES for t in
                                (t for _p, t in suite if not isinstance(t, str))):
        out.append(CAMPAIGNS_X86_ONLY + "\n\n")
    if args.json:
        doc = {"tests": entries}
        if info is not None:
            doc["chunks"] = info
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("".join(out))
        sys.stdout.write(summary_table(rows, models, shown, herd=herd_reference))
    if interrupted:
        sys.stdout.flush()
        print(f"coherence: {len(results)} of {len(work)} tests finished before the interrupt",
              file=sys.stderr)
        raise KeyboardInterrupt
    violated = any(c.model_violations for c in campaigns)
    incomplete = info is not None and info["failed"]
    return 1 if violated or incomplete or any(r[3] is not None for r in rows) else 0
