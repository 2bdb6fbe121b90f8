"""Emulator campaigns: litmus tests run on the modelled machine, checked against the
exhaustive verdicts."""

import json
import os

import pytest

from coherence import Protocol, T
from coherence.cli import main as cli_main
from coherence.litmus import load_suite, parse_file, parse_text
from coherence.litmus import cli as litmus_cli
from coherence.litmus.campaign import format_campaign, run_campaign
from coherence.protocols import MESI

from conftest import ROOT, run_cli

SUITE = os.path.join(ROOT, "litmus", "x86")


def suite_test(name):
    return parse_file(os.path.join(SUITE, f"{name}.litmus"))


def suite_tests():
    return [t for _, t in load_suite([SUITE]) if not isinstance(t, str)]


def test_sb_shows_the_tso_relaxation_only_on_a_tso_core():
    tso = run_campaign(suite_test("SB"), model="tso", iterations=20_000, seed=1)
    assert tso.iterations == 20_000 and tso.positive > 0 and tso.observation == "Sometimes"
    assert tso.sc_violations == [{"0:EAX": 0, "1:EAX": 0}]
    assert tso.model_violations == [] and tso.unseen == []
    assert sum(n for _, n in tso.histogram) == 20_000
    sc = run_campaign(suite_test("SB"), model="sc", iterations=20_000, seed=1)
    assert sc.positive == 0 and sc.sc_violations == [] and sc.model_violations == []
    text = format_campaign(tso)
    assert "Histogram (4 states)" in text and "*>0:EAX=0; 1:EAX=0;" in text
    assert "Observation SB Sometimes" in text and "is validated" in text


@pytest.mark.parametrize("model", ["sc", "tso"])
@pytest.mark.parametrize("protocol", ["msi", "mesi", "moesi", "mesif", "dragon"])
def test_the_emulator_never_shows_a_state_its_model_forbids(model, protocol):
    for t in suite_tests():
        c = run_campaign(t, model=model, protocol=protocol, iterations=1500, seed=7)
        assert c.model_violations == [], (t.name, c.model_violations)
        if model == "sc":
            assert c.sc_violations == [], t.name
        assert set(c.statuses) == {"halted"}, (t.name, c.statuses)


@pytest.mark.slow
def test_every_tso_allowed_state_is_seen_within_100k_iterations():
    unseen = {}
    for t in suite_tests():
        c = run_campaign(t, model="tso", iterations=100_000, seed=0)
        assert c.model_violations == [], t.name
        if c.unseen:
            unseen[t.name] = c.unseen
    assert unseen == {}


def broken_mesi():
    table = dict(MESI.table)
    table[("S", "BusRdX")] = T("S")  # a snooped BusRdX leaves the Shared copy valid
    return Protocol("mesi-stale", MESI.states, table)


# MP where the reader and a third thread first take Shared copies of x: a protocol that
# leaves them valid on the writer's BusRdX lets the reader see y=1 and then a stale x=0.
MP_WARM = """X86 MP+warm
{ }
 P0         | P1          | P2          ;
            | MOV ECX,[x] | MOV EAX,[x] ;
 MOV [x],$1 | MOV EAX,[y] |             ;
 MOV [y],$1 | MOV EBX,[x] |             ;
exists (1:EAX=1 /\\ 1:EBX=0)
"""


def test_a_broken_protocol_is_caught_as_a_model_violation():
    t = parse_text(MP_WARM, "mp-warm.litmus")
    good = run_campaign(t, model="sc", protocol="mesi", iterations=5000, seed=3)
    assert good.model_violations == []
    c = run_campaign(t, model="sc", protocol=broken_mesi(), iterations=5000, seed=3)
    assert c.model_violations, "stale Shared copies must break read-read coherence"
    assert "SC VIOLATIONS" in format_campaign(c)


def test_cli_exits_1_when_the_emulator_breaks_the_model(monkeypatch, capsys, tmp_path):
    real = litmus_cli.run_campaign
    monkeypatch.setattr(litmus_cli, "run_campaign",
                        lambda t, **kw: real(t, **{**kw, "protocol": broken_mesi()}))
    path = tmp_path / "mp-warm.litmus"
    path.write_text(MP_WARM)
    status = cli_main(["litmus", str(path), "--model", "sc", "--iterations", "5000", "-q"])
    out = capsys.readouterr().out
    assert status == 1 and "VIOLATION" in out


def test_cli_json_carries_histogram_violations_and_coverage():
    r = run_cli("litmus", "litmus/x86/SB.litmus", "--iterations", "5000", "--seed", "2",
                "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    by_model = {e["model"]: e for e in doc["tests"]}
    tso = by_model["tso"]
    assert tso["emulator"]["iterations"] == 5000 and tso["emulator"]["model"] == "tso"
    assert sum(h["count"] for h in tso["histogram"]) == 5000
    assert {"state": {"0:EAX": 0, "1:EAX": 0}, "count": tso["emulator"]["positive"],
            "satisfies": True} in tso["histogram"]
    assert tso["sc_violations"] == [{"0:EAX": 0, "1:EAX": 0}] and tso["unseen"] == []
    assert by_model["sc"]["histogram"] == []  # the campaign ran on the tso core only


def test_cli_text_has_litmus7_histogram_and_summary():
    r = run_cli("litmus", "litmus/x86/MP.litmus", "litmus/x86/SB.litmus", "--model", "sc",
                "--iterations", "3000", "-v")
    assert r.returncode == 0, r.stderr
    assert "Histogram (3 states)" in r.stdout and "Observation MP Never 0 3000" in r.stdout
    assert "Emulator (SC)" in r.stdout and "agrees" in r.stdout
    r = run_cli("litmus", "litmus/x86/SB.litmus", "--protocol", "mosi")
    assert r.returncode == 2 and "unknown protocol" in r.stderr and "Traceback" not in r.stderr


def test_a_forbidden_tests_blocks_count_witnesses_as_herd_and_litmus7_do():
    # LOCK-INC is `~exists ([x]=1)`: no run shows x=1, so every run validates the condition:
    # Positive counts them in herd's block and in litmus7's, the Observation line counts x=1.
    r = run_cli("litmus", "litmus/x86/LOCK-INC.litmus", "--iterations", "300", "-q")
    assert r.returncode == 0, r.stderr
    herd, campaign = r.stdout.split("Histogram", 1)
    assert "Positive: 2 Negative: 0" in herd and "Observation LOCK-INC Never 0 2" in herd
    assert "Positive: 300, Negative: 0" in campaign
    assert "Observation LOCK-INC Never 0 300" in campaign and "\nOk\n" in campaign
