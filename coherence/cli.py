"""The `coherence` command line: one argparse subcommand per area.

Each area module exposes ``add_subparser(subparsers)``, which registers its subcommand and sets
``func`` to a callable ``(args) -> int`` (the exit status).  A user's mistake raises
:class:`~coherence.errors.CoherenceError`; it is printed on one line and the exit status is 2.

Start-up cost: the area modules import only the standard library at module level and import
numpy, numba, matplotlib and the engine inside their handlers, so ``--help`` at any level costs
Python's start and argparse, not the 0.3 s of numba.  Only the chosen command's area module is
imported at all, so ``coherence run`` loads neither the litmus nor the scheduler package.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import CoherenceError

# (area module, its registering function, the subcommands it registers), in help order.
_AREAS = (
    ("coherence.run_cli", "add_subparsers", ("run", "protocol", "compile")),
    ("coherence.litmus.cli", "add_subparser", ("litmus",)),
    ("coherence.sched.cli", "add_subparser", ("sched",)),
    ("coherence.plot_cli", "add_subparser", ("plot",)),
    ("coherence.sweep.cli", "add_subparser", ("sweep",)),
)
COMMANDS = tuple(c for _m, _f, commands in _AREAS for c in commands)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments already; keep its one-line message, no usage dump."""

    def error(self, message):  # pragma: no cover - exercised through subprocess tests
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or, given one of :data:`COMMANDS`, a parser that knows
    only that command's area (enough to parse a command line that starts with it)."""
    from . import __version__
    parser = _Parser(prog="coherence",
                     description="A multicore cache-coherence and memory-consistency emulator: "
                                 "run programs on MSI/MESI/MOESI caches with SC or x86-TSO cores,"
                                 " litmus tests, and thread-scheduler analysis.")
    parser.add_argument("--version", action="version", version=f"coherence {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    areas = [a for a in _AREAS if command in a[2]] or _AREAS
    for module, register, _commands in areas:
        getattr(importlib.import_module(module), register)(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        # `coherence` alone: the usage and the commands, as `git` or `cargo` print them.
        build_parser().print_help()
        return 0
    # Only a line that starts with the command may skip the other areas: `coherence -h run`
    # and typos still need the whole tree for their help and "invalid choice" messages.
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    args._argv = argv  # for the "saved by" line of --save-config
    try:
        return int(args.func(args) or 0)
    except CoherenceError as exc:
        print(f"coherence: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("coherence: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
