"""diy-style cycle tests (coherence.litmus.cycles) and campaign coverage on them."""

import pytest

from coherence.litmus import enumerate_states, parse_text, run_campaign
from coherence.litmus.cycles import cycle_test, random_cycles


@pytest.mark.parametrize("edges, sc, tso", [
    (["Rfe", "PodRR", "Fre", "PodWW"], "Never", "Never"),          # MP
    (["Fre", "PodWR", "Fre", "PodWR"], "Never", "Sometimes"),      # SB
    (["Fre", "MFencedWR", "Fre", "MFencedWR"], "Never", "Never"),  # SB+mfences
    (["Rfe", "PodRW", "Rfe", "PodRW"], "Never", "Never"),          # LB
    (["Coe", "PodWW", "Coe", "PodWW"], "Never", "Never"),          # 2+2W
    (["Fre", "PodWR", "Fre", "PodWR", "Fre", "PodWR"], "Never", "Sometimes"),  # 3-thread SB
])
def test_classic_cycles_get_their_known_verdicts(edges, sc, tso):
    t = parse_text(cycle_test(edges))
    assert enumerate_states(t, "sc").observation == sc
    assert enumerate_states(t, "tso").observation == tso


def test_the_condition_names_the_cycle():
    src = cycle_test(["Fre", "PodWR", "Fre", "PodWR"], name="SB")
    assert src.splitlines()[0] == "X86 SB"
    assert "exists (0:EAX=0 /\\ 1:EAX=0)" in src


@pytest.mark.parametrize("edges, msg", [
    (["Rfe", "PodRR"], "at least 2"),
    (["Rfe", "PodWR", "Fre", "PodWW"], "Rfe needs W -> R"),
    (["Rfe", "Pod", "Fre", "PodWW"], "unknown edge"),
    (["PodRR", "PodRR", "Fre", "PodWW"], "communication"),
])
def test_malformed_cycles_are_refused(edges, msg):
    with pytest.raises(ValueError, match=msg):
        cycle_test(edges)


def test_random_cycles_are_distinct_and_well_formed():
    cycles = random_cycles(60, threads=4, seed=3)
    assert len({tuple(c) for c in cycles}) == 60
    for c in cycles:
        parse_text(cycle_test(c))


def _coverage(cycles):
    unseen, bad = [], []
    for e in cycles:
        t = parse_text(cycle_test(e))
        v = {m: enumerate_states(t, m) for m in ("sc", "tso")}
        for m in ("sc", "tso"):
            c = run_campaign(t, model=m, verdicts=v, seed=0)
            unseen += [(t.name, m, s) for s in c.unseen]
            bad += c.model_violations + (c.sc_violations if m == "sc" else [])
    return unseen, bad


def test_campaigns_see_every_allowed_state_of_generated_4_thread_cycles():
    """At the default iteration count, on SC and TSO cores: every state the model allows is
    seen, none it forbids."""
    unseen, bad = _coverage(random_cycles(3, threads=4, seed=11))
    assert not bad
    assert not unseen


@pytest.mark.slow
def test_campaign_coverage_on_a_hundred_generated_cycles():
    cycles = random_cycles(100, threads=4, seed=5)
    unseen, bad = _coverage(cycles)
    assert not bad
    assert len(unseen) <= 5, unseen
