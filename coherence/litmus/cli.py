"""``coherence litmus PATH...``: verdicts for a suite of herd7 litmus tests.

Each test is enumerated exhaustively under SC and x86-TSO; the output per test is herd7's
text (for ``--model``, default ``tso``), then a summary table with every model's observation.
Emulator campaigns (``--iterations``, ``--protocol``, ``--seed``) run through
:func:`_run_campaign` when the emulator (``coherence.engine``) is available and
``--enumerate-only`` is not given.

Exit status: 0, or 1 when some test was skipped (its reason is printed), or 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from ..errors import CoherenceError
from .enumerate import MODELS, enumerate_states
from .report import herd_block, skipped_json, summary_table, verdict_json
from .suite import load_suite

DEFAULT_MODEL = "tso"


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``litmus`` options (shared by ``coherence litmus`` and ``python -m
    coherence.litmus``)."""
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="litmus files, directories (searched for *.litmus) or @index files")
    p.add_argument("--model", choices=MODELS,
                   help="memory model (default: enumerate both, print tso in herd format)")
    p.add_argument("--enumerate-only", action="store_true",
                   help="exhaustive verdicts only, no emulator campaign")
    p.add_argument("--iterations", type=_positive_int, default=1000,
                   help="emulator runs per test (campaigns)")
    p.add_argument("--protocol", default="mesi", help="coherence protocol (campaigns)")
    p.add_argument("--seed", type=int, default=0, help="random seed (campaigns)")
    p.add_argument("-j", "--jobs", type=_positive_int, default=1,
                   help="worker processes for enumeration")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_subparser(subparsers) -> None:
    """Register ``coherence litmus``."""
    p = subparsers.add_parser("litmus", help="run litmus tests (herd7 format)",
                              description=__doc__.splitlines()[0])
    add_arguments(p)
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- emulator hook


def _emulator_available() -> bool:
    """True when the emulator can run campaigns (``coherence.engine.run`` imports)."""
    try:
        from ..engine import run  # noqa: F401
    except Exception:  # ImportError, or an engine still being built
        return False
    return True


def _run_campaign(test, verdicts: dict, args) -> dict | None:
    """HOOK: run ``test`` on the emulator and compare with the exhaustive ``verdicts``.

    ``verdicts`` maps each model to its :class:`~coherence.litmus.enumerate.Verdict`;
    ``args`` carries ``model``, ``iterations``, ``protocol``, ``seed``.  Return a dict whose
    keys override the JSON entry's (``histogram``, ``sc_violations``, ``unseen``, ...) and
    that the text report may print, or None when no campaign ran.  Translation to the
    emulator's assembly is :func:`coherence.litmus.compile.to_asm`.
    """
    return None


# --------------------------------------------------------------------------- driver


def _enumerate_one(item):
    """Worker: ``(index, test, models)`` -> ``(index, {model: Verdict} | None, reason)``."""
    i, test, models = item
    try:
        return i, {m: enumerate_states(test, m) for m in models}, None
    except CoherenceError as exc:
        return i, None, str(exc)
    except Exception as exc:  # a bug of ours must not stop the suite either
        return i, None, f"{test.path}: internal error: {type(exc).__name__}: {exc}"


def _progress(total: int, args):
    show = not (args.quiet or args.json) and sys.stderr.isatty()
    from tqdm import tqdm
    return tqdm(total=total, file=sys.stderr, unit="test", disable=not show, leave=False,
                delay=0.5)


def run(args) -> int:
    """Run the ``litmus`` subcommand; returns the exit status."""
    suite = load_suite(args.paths)
    if not suite:
        raise CoherenceError("no litmus tests found (expected *.litmus files or an @index)",
                             file=args.paths[0])
    models = [args.model] if args.model else list(MODELS)
    shown = args.model or DEFAULT_MODEL
    work = [(i, t, models) for i, (_p, t) in enumerate(suite) if not isinstance(t, str)]
    results: dict[int, tuple] = {}
    bar = _progress(len(work), args)
    if args.jobs > 1 and len(work) > 1:
        # spawn, not fork: the parent may have started numba or engine threads.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
            for i, verdicts, reason in pool.map(_enumerate_one, work, chunksize=4):
                results[i] = (verdicts, reason)
                if bar is not None:
                    bar.update()
    else:
        for item in work:
            i, verdicts, reason = _enumerate_one(item)
            results[i] = (verdicts, reason)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()

    campaigns = not args.enumerate_only and _emulator_available()
    rows, entries, out = [], [], []
    for i, (path, test) in enumerate(suite):
        if isinstance(test, str):
            verdicts, reason = None, test
        else:
            verdicts, reason = results[i]
        if reason is not None:
            name = test.name if not isinstance(test, str) else \
                os.path.splitext(os.path.basename(path))[0]
            rows.append((name, path, None, reason))
            for m in models:
                entries.append(skipped_json(name, path, reason, m))
            if not args.json:
                out.append(f"Test {name} skipped: {reason}\n\n")
            continue
        campaign = _run_campaign(test, verdicts, args) if campaigns else None
        rows.append((test.name, path, verdicts, None))
        for m in models:
            entries.append(verdict_json(verdicts[m], campaign))
        if not args.json:
            out.append(herd_block(verdicts[shown]))
    if args.json:
        json.dump({"tests": entries}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("".join(out))
        sys.stdout.write(summary_table(rows, models))
    return 1 if any(r[3] is not None for r in rows) else 0
