"""The engine gives today the results it gave when the golden file was recorded.

``tests/golden/engine.json.gz`` holds several hundred runs (every example, seeded random
programs and traces over every protocol and both memory models, with check on and off,
errors, watched lines and batches), each with its input and its result; see
``tests/golden/make_golden.py``.  A change to the engine that is meant to change nothing
(a refactor, a speed-up) must pass this unchanged.
"""

import gzip
import json
import os
import sys

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
sys.path.insert(0, HERE)

from cases import outcome, sched_outcome  # noqa: E402

with gzip.open(os.path.join(HERE, "engine.json.gz"), "rt") as f:
    CASES = json.load(f)


def test_the_golden_file_covers_what_it_claims():
    kinds = {c["kind"] for c in CASES}
    assert kinds == {"program", "trace", "watch", "batch"}
    assert sum("error" in c["expected"] for c in CASES) >= 40
    assert {c["config"]["protocol"] for c in CASES} >= {"msi", "mesi", "moesi"}
    assert {c["config"].get("model", "sc") for c in CASES} == {"sc", "tso"}


def recorded(got, expected):
    """``got`` restricted to what the golden file recorded: a field added to the results
    since (e.g. the config's ``interconnect``) is not a change of what was recorded; every
    recorded field must be identical, lists element for element."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return {k: recorded(got[k], v) if k in got else None for k, v in expected.items()}
    if isinstance(expected, list) and isinstance(got, list) and len(got) == len(expected):
        return [recorded(g, e) for g, e in zip(got, expected)]
    return got


@pytest.mark.parametrize("chunk", range(8))
def test_engine_results_equal_the_golden_ones(chunk):
    mismatches = []
    for case in CASES[chunk::8]:
        got = outcome(case)
        if recorded(got, case["expected"]) != case["expected"]:
            mismatches.append(case["name"])
    assert not mismatches, f"{len(mismatches)} cases differ from the golden file: {mismatches[:10]}"



with gzip.open(os.path.join(HERE, "sched.json.gz"), "rt") as f:
    SCHED_CASES = json.load(f)


def test_scheduler_reports_equal_the_golden_ones():
    assert len(SCHED_CASES) >= 100
    mismatches = [f"{c['name']} ({c['policy'] or 'explore'})" for c in SCHED_CASES
                  if sched_outcome(c) != c["expected"]]
    assert not mismatches, f"{len(mismatches)} scheduler reports differ: {mismatches[:10]}"
