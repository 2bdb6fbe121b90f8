"""The scenario corpus (examples/sched): expected findings via the API and the CLI."""

import json
import os
import subprocess
import sys

import pytest

from coherence.sched import check, load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "examples", "sched")

# file -> (kinds found by simulation, kinds found with --explore)
EXPECTED = {
    "abba": ({"deadlock", "potential-deadlock"}, {"deadlock"}),
    "abba_gate": (set(), set()),
    "one_thread_reorder": (set(), set()),
    "philosophers5": ({"deadlock", "potential-deadlock"}, {"deadlock"}),
    "philosophers5_ordered": (set(), set()),
    "pathfinder": ({"priority-inversion"}, {"priority-inversion"}),
    "pathfinder_pi": (set(), set()),
    "rwlock_writer_starvation": ({"starvation"}, {"starvation"}),
    "priority_starvation": ({"starvation"}, {"starvation"}),
    "priority_aging": (set(), set()),
    "lost_wakeup": ({"lost-wakeup"}, {"lost-wakeup"}),
    "lost_wakeup_fixed": (set(), set()),
    "backoff_livelock": ({"livelock"}, {"livelock"}),
    "producer_consumer": (set(), set()),
}


def path(name):
    return os.path.join(CORPUS, name + ".toml")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "coherence", "sched", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_corpus_is_complete():
    files = {f[:-5] for f in os.listdir(CORPUS) if f.endswith(".toml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_simulation_findings(name):
    rep = check(load(path(name)))
    assert rep.kinds() == EXPECTED[name][0], [f.detail for f in rep.findings]
    for f in rep.findings:
        assert f.definition and f.detail
        assert f.seed is not None or f.schedule


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_explore_findings(name):
    rep = check(load(path(name)), explore=True)
    assert rep.stats["explore"]["complete"]
    assert rep.kinds() == EXPECTED[name][1], [f.detail for f in rep.findings]


def test_abba_deadlock_report_lists_threads_locks_and_holders():
    rep = check(load(path("abba")))
    dl = rep.of_kind("deadlock")[0]
    assert dl.definition == "wait-for-cycle"
    assert sorted(dl.threads) == ["T1", "T2"] and sorted(dl.locks) == ["A", "B"]
    blocked = {b["thread"]: b for b in dl.extra["blocked"]}
    assert blocked["T1"]["op"] == "acquire B" and blocked["T1"]["held_by"] == ["T2"]
    assert blocked["T2"]["op"] == "acquire A" and blocked["T2"]["holds"] == ["B"]
    pd = rep.of_kind("potential-deadlock")[0]
    assert sorted(pd.locks) == ["A", "B"] and {e["thread"] for e in pd.extra["edges"]} == {"T1", "T2"}


def test_philosophers_deadlock_is_a_five_lock_cycle():
    rep = check(load(path("philosophers5")), explore=True)
    dl = rep.of_kind("deadlock")[0]
    assert len(dl.extra["cycle"]) == 5 and len(set(dl.locks)) == 5


def test_pathfinder_inversion_length_and_inheritance_bound():
    inv = check(load(path("pathfinder"))).of_kind("priority-inversion")[0]
    assert inv.threads[:3] == ["bus", "meteo", "comms"]
    assert inv.extra["length"] >= 30 and inv.extra["middle_ticks"] >= 30
    pi = check(load(path("pathfinder_pi")))
    bound = pi.stats["blocked_by_lower_priority"]["bus"]
    assert 0 < bound <= 6  # at most meteo's critical section: acquire, compute 4, release
    plain = check(load(path("pathfinder")), policy="priority-inheritance")
    assert plain.clean


def test_starved_threads_are_the_expected_ones():
    assert check(load(path("rwlock_writer_starvation"))).findings[0].threads[0] == "W"
    assert check(load(path("priority_starvation"))).findings[0].threads == ["Low"]
    rw = check(load(path("rwlock_writer_starvation")), stop_periodic=False, max_ticks=400)
    assert "bypassed-more-than-B" in {f.definition for f in rw.findings}
    pr = check(load(path("priority_starvation")), stop_periodic=False, starve_ticks=50,
               max_ticks=200)
    assert "ready-longer-than-K" in {f.definition for f in pr.findings}


def test_livelock_and_lost_wakeup_details():
    lv = check(load(path("backoff_livelock")), explore=True).of_kind("livelock")
    assert {f.definition for f in lv} == {"policy-cycle-no-progress", "fair-cycle-no-progress"}
    assert all(sorted(f.threads) == ["T1", "T2"] for f in lv)
    lw = check(load(path("lost_wakeup"))).of_kind("lost-wakeup")[0]
    assert lw.threads == ["waiter"] and "ready" in lw.locks and "signaller" in lw.detail


def test_cli_json_all_files_and_exit_status():
    names = sorted(EXPECTED)
    proc = cli(*[path(n) for n in names], "--json")
    assert proc.returncode == 1, proc.stderr
    docs = json.loads(proc.stdout)
    assert isinstance(docs, list) and len(docs) == len(names)
    for name, doc in zip(names, docs):
        assert set(doc) >= {"scenario", "policy", "findings", "stats"}
        assert {f["kind"] for f in doc["findings"]} == EXPECTED[name][0], name
        for f in doc["findings"]:
            assert set(f) >= {"kind", "definition", "threads", "locks", "detail", "schedule"}


def test_cli_text_and_exit_codes():
    proc = cli(path("abba"), path("philosophers5"))
    assert proc.returncode == 1
    assert proc.stdout.count("Found one deadlock:") == 2
    assert "which is held by" in proc.stdout and "--replay" in proc.stdout
    assert "lock-order cycle F0 -> F1 -> F2 -> F3 -> F4 -> F0" in proc.stdout
    clean = cli(path("abba_gate"))
    assert clean.returncode == 0 and "no findings" in clean.stdout
    quiet = cli(path("lost_wakeup"), "-q")
    assert quiet.returncode == 1 and len(quiet.stdout.strip().splitlines()) == 1


def test_cli_explore_json_single_document():
    proc = cli(path("backoff_livelock"), "--explore", "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["scenario"] == "backoff-livelock" and doc["stats"]["explore"]["complete"]
    assert "livelock" in {f["kind"] for f in doc["findings"]}
    clean = cli(path("philosophers5_ordered"), "--explore", "--json")
    assert clean.returncode == 0 and json.loads(clean.stdout)["findings"] == []


def test_lock_order_edges_cite_line_and_column_of_each_op():
    r = cli(path("abba"))
    lines = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("A -> B:")]
    assert len(lines) == 1
    # T1's ops = ["acquire A", "compute 2", "acquire B", ...] all sit on line 14
    assert "(taken at " + path("abba") + ":14:8: acquire A)" in lines[0]
    assert "acquires B at " + path("abba") + ":14:34: acquire B" in lines[0]


def test_livelock_lists_the_loop_in_program_order():
    for args in ([path("backoff_livelock")], [path("backoff_livelock"), "--explore"]):
        r = cli(*args)
        loop = next(ln for ln in r.stdout.splitlines() if ln.startswith('"T1": loops through'))
        # program order of T1's loop (not alphabetical), the second `release A` by position
        assert loop == ('"T1": loops through acquire A (12:22), try_acquire B else back '
                        '(12:35), release A (14:23), yield (14:36), goto top (14:45)')
