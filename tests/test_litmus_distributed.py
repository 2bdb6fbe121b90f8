"""`coherence litmus ... --cluster / --results`: campaigns split in chunks over workers merge to
the serial histogram, chunks are committed to a results folder and reused, memory stays flat
and the counts cannot overflow."""

import json
import os
import tracemalloc

import pytest

from coherence.litmus import parse_file
from coherence.litmus.campaign import CHUNK, merge_chunks, plan_chunks, run_campaign
from coherence.litmus.enumerate import enumerate_states

from conftest import ROOT, run_cli

SUITE = os.path.join(ROOT, "litmus", "x86")
ARGS = ("litmus", "litmus/x86/SB.litmus", "litmus/x86/MP.litmus",
        "--iterations", "12000", "--chunk", "4000", "--seed", "3", "--json")


def campaigns(stdout):
    """Each test's campaign part of the --json document, without the wall time."""
    out = {}
    for e in json.loads(stdout)["tests"]:
        if "emulator" in e:
            em = {k: v for k, v in e["emulator"].items() if k != "elapsed"}
            out[e["name"]] = (em, e["histogram"], e["sc_violations"], e["unseen"])
    return out


def test_the_merged_histogram_is_the_serial_one_whatever_the_workers():
    serial = run_cli(*ARGS)
    assert serial.returncode == 0, serial.stderr
    expected = campaigns(serial.stdout)
    assert set(expected) == {"SB", "MP"}
    assert all(em["iterations"] == 12000 for em, *_ in expected.values())
    dask = run_cli(*ARGS, "--cluster", "local:2")
    assert dask.returncode == 0, dask.stderr
    assert campaigns(dask.stdout) == expected
    info = json.loads(dask.stdout)["chunks"]
    assert info["executor"] == "dask" and info["workers"] == 2
    assert info["chunks_computed"] == 2 * 3 and info["failed"] == 0
    # The API gives the same histogram (same chunks, one after another).
    sb = run_campaign(parse_file(os.path.join(SUITE, "SB.litmus")), model="tso",
                      iterations=12000, seed=3, chunk=4000)
    assert [{"state": s, "count": n, "satisfies": h}
            for (s, n), h in zip(sb.histogram, sb.satisfied)] == expected["SB"][1]


def test_chunks_are_committed_and_reused_by_a_rerun_or_a_longer_campaign(tmp_path):
    results = str(tmp_path / "chunks")
    base = ("litmus", "litmus/x86/SB.litmus", "--chunk", "4000", "--seed", "5", "--json",
            "--results", results)
    first = run_cli(*base, "--iterations", "8000")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["chunks"]["chunks_computed"] == 2
    longer = run_cli(*base, "--iterations", "16000")
    info = json.loads(longer.stdout)["chunks"]
    assert info["chunks_reused"] == 2 and info["chunks_computed"] == 2
    fresh = run_cli("litmus", "litmus/x86/SB.litmus",
                    "--chunk", "4000", "--seed", "5", "--json", "--iterations", "16000")
    assert campaigns(longer.stdout) == campaigns(fresh.stdout)
    # Again, as text: nothing computed, the same witnesses.
    again = run_cli(*[a for a in base if a != "--json"], "--iterations", "16000")
    assert again.returncode == 0, again.stderr
    assert "campaign chunks: 0 computed" in again.stderr and "4 reused" in again.stderr
    em = campaigns(fresh.stdout)["SB"][0]
    assert f"Observation SB Sometimes {em['positive']} {em['negative']}" in again.stdout
    # The folder is a sweep results folder: one row per chunk.
    import coherence
    df = coherence.sweep.load(results)
    assert sorted(df["chunk"]) == [0, 1, 2, 3] and set(df["iterations"]) == {4000}


def test_a_billion_iterations_are_planned_in_bounded_chunks_and_counted_exactly():
    chunks = plan_chunks(10**9)
    assert not isinstance(chunks, (list, tuple))  # a generator: one chunk at a time
    total = n_chunks = 0
    for k, n in chunks:
        assert k == n_chunks and 1 <= n <= CHUNK
        total += n
        n_chunks += 1
    assert total == 10**9 and n_chunks == -(-10**9 // CHUNK)
    # The merge adds Python integers: counts past int64 stay exact.
    t = parse_file(os.path.join(SUITE, "SB.litmus"))
    verdicts = {m: enumerate_states(t, m) for m in ("sc", "tso")}
    big = 2**62
    parts = [({(0, 0): big, (1, 1): 3}, {"halted": big + 3}, 0.0) for _ in range(4)]
    c = merge_chunks(t, "tso", "mesi", 0, parts, verdicts)
    assert c.iterations == 4 * big + 12 and c.positive == 4 * big
    assert c.statuses == {"halted": 4 * (big + 3)}


def test_a_campaigns_memory_stays_flat_as_iterations_grow():
    t = parse_file(os.path.join(SUITE, "SB.litmus"))
    verdicts = {m: enumerate_states(t, m) for m in ("sc", "tso")}
    run_campaign(t, iterations=2000, chunk=10_000, verdicts=verdicts)  # compile / warm up

    def peak(iterations):
        tracemalloc.start()
        try:
            run_campaign(t, iterations=iterations, chunk=10_000, verdicts=verdicts)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(20_000), peak(200_000)
    # Ten times the iterations: not ten times the memory (one chunk's arrays at a time).
    assert large < 2 * small + 200_000, (small, large)


@pytest.mark.parametrize("args,needle", [
    (("--chunk", "0"), "expected a positive integer"),
    (("--cluster", "mars"), "expected local, local:N"),
])
def test_bad_chunk_and_cluster_are_one_line(args, needle):
    r = run_cli("litmus", "litmus/x86/SB.litmus", "--iterations", "100", *args)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
