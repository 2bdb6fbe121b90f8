"""``python -m coherence.litmus PATH...``: the ``coherence litmus`` command on its own.

Useful while the rest of the command line is not importable (it needs the emulator core).
"""

import argparse
import sys

from ..errors import CoherenceError
from .cli import add_arguments, run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="coherence litmus",
                                     description="Litmus tests: exhaustive SC/TSO verdicts.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CoherenceError as exc:
        print(f"coherence: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
