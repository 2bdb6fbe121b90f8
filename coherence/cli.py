"""The `coherence` command line: one argparse subcommand per area.

Each area module exposes ``add_subparser(subparsers)``, which registers its subcommand and sets
``func`` to a callable ``(args) -> int`` (the exit status).  A user's mistake raises
:class:`~coherence.errors.CoherenceError`; it is printed on one line and the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys

from .errors import CoherenceError


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments already; keep its one-line message, no usage dump."""

    def error(self, message):  # pragma: no cover - exercised through subprocess tests
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(prog="coherence",
                     description="A multicore cache-coherence and memory-consistency emulator: "
                                 "run programs on MSI/MESI/MOESI caches with SC or x86-TSO cores,"
                                 " litmus tests, and thread-scheduler analysis.")
    parser.add_argument("--version", action="version", version=f"coherence {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    from . import plot_cli, run_cli
    from .litmus import cli as litmus_cli
    from .sched import cli as sched_cli
    run_cli.add_subparsers(sub)
    litmus_cli.add_subparser(sub)
    sched_cli.add_subparser(sub)
    plot_cli.add_subparser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
