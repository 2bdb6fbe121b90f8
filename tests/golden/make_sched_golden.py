"""Record the scheduler subsystem's reports as a golden file (before a refactor of sched).

    python tests/golden/make_sched_golden.py

For every scenario of examples/sched and every policy: the report of ``check`` (simulation and
detectors), the report with ``explore=True`` for the small ones, and the simulation's
timeline.  ``tests/test_golden.py`` requires the same today.
"""

from __future__ import annotations

import gzip
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from cases import SCHED_DIR, sched_cases, sched_outcome  # noqa: E402


def main():
    cases = []
    for case in sched_cases():
        case["expected"] = sched_outcome(case)
        cases.append(case)
    path = os.path.join(HERE, "sched.json.gz")
    with gzip.open(path, "wt") as f:
        json.dump(cases, f, separators=(",", ":"))
    print(f"wrote {path}: {len(cases)} cases from {SCHED_DIR}, {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
