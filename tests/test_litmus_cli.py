"""``coherence litmus`` through a subprocess, as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORACLE = ROOT.parent / "shared" / "oracle" / "herd-x86"
SUITE = ROOT / "litmus" / "x86"

SB_BLOCK = """Test SB Allowed
States 4
0:EAX=0; 1:EAX=0;
0:EAX=0; 1:EAX=1;
0:EAX=1; 1:EAX=0;
0:EAX=1; 1:EAX=1;
Ok
Witnesses
Positive: 1 Negative: 3
Condition exists (0:EAX=0 /\\ 1:EAX=0)
Observation SB Sometimes 1 3
"""
TIME = re.compile(r"Time SB \d+\.\d\d\n\n")


def after_block(out: str) -> str:
    """The output after SB's herd block, which ends with herd's Time line."""
    assert out.startswith(SB_BLOCK), out
    m = TIME.match(out, len(SB_BLOCK))
    assert m, out
    return out[m.end():]


def litmus(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "coherence", "litmus", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_herd_output_for_one_test():
    r = litmus(SUITE / "SB.litmus", "--enumerate-only", "--model", "tso")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    summary = after_block(r.stdout).splitlines()
    assert summary[0] == "Summary: 1 test, 0 skipped"
    # the suite's expected.tsv has herd7's verdict of SB
    assert summary[1].split() == ["Test", "Kind", "TSO", "herd"]
    assert summary[2].split() == ["SB", "Allowed", "Sometimes", "1", "3", "agrees"]
    assert summary[3] == ("1 test run; herd7 agrees on 1, differs on 0, 0 without a herd "
                          "verdict; 0 skipped")


def test_sc_model():
    r = litmus(SUITE / "SB.litmus", "--enumerate-only", "--model", "sc")
    assert r.returncode == 0
    assert "Observation SB Never 0 3\n" in r.stdout
    assert "\nNo\n" in r.stdout


def test_both_models_in_the_summary_by_default():
    r = litmus(SUITE / "SB.litmus", SUITE / "MP.litmus", "--enumerate-only", "-v")
    assert r.returncode == 0
    assert r.stdout.count("Test SB Allowed") == 1   # herd block for tso only
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[-3:-1]}
    assert rows["SB"] == ["SB", "Allowed", "Never", "0", "3", "Sometimes", "1", "3", "agrees"]
    assert rows["MP"] == ["MP", "Allowed", "Never", "0", "3", "Never", "0", "3", "agrees"]


def test_a_suite_prints_one_line_per_test_and_a_count(tmp_path):
    (tmp_path / "mine.litmus").write_text((SUITE / "SB.litmus").read_text()
                                          .replace("X86 SB", "X86 Mine"))
    r = litmus(SUITE / "SB.litmus", SUITE / "MP.litmus", SUITE / "SB+mfences.litmus",
               tmp_path / "mine.litmus", "--iterations", "300", "-q")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "Histogram" not in r.stdout and "Test SB Allowed" not in r.stdout
    assert lines[0] == "Summary: 4 tests, 0 skipped, 0 with states the TSO model forbids"
    assert lines[1].split() == ["Test", "Kind", "SC", "TSO", "herd", "Emulator", "(TSO)",
                                "States", "Verdict"]
    rows = {ln.split()[0]: ln.split() for ln in lines[2:6]}
    assert rows["SB"][:9] == ["SB", "Allowed", "Never", "0", "3", "Sometimes", "1", "3",
                              "agrees"]
    assert rows["SB"][12] == "4/4" and rows["SB"][13] == "agrees"
    assert rows["SB+mfences"][9] == "Never" and rows["SB+mfences"][12] == "3/3"
    assert rows["Mine"][8] == "-"          # no herd verdict on file for it
    assert lines[6] == ("4 tests run; herd7 agrees on 3, differs on 0, 1 without a herd "
                        "verdict; emulator agrees on 4, shows forbidden states on 0, 0 not "
                        "run; 0 skipped")
    assert len(lines) == 7
    full = litmus(SUITE / "SB.litmus", SUITE / "MP.litmus", "--iterations", "300", "-v")
    assert full.stdout.count("Histogram (") == 2 and full.stdout.count("Time ") == 2


def test_without_enumerate_only_still_reports_verdicts():
    # Until emulator campaigns are wired in (or without an emulator) this is enumeration.
    r = litmus(SUITE / "SB.litmus", "--model", "tso", "--iterations", "10", "--seed", "3")
    assert r.returncode == 0, r.stderr
    after_block(r.stdout)


def test_json_document():
    r = litmus(SUITE / "SB.litmus", SUITE / "SDM-8-4.litmus", "--enumerate-only", "--json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    tests = doc["tests"]
    assert [(t["name"], t["model"]) for t in tests] == \
        [("SB", "sc"), ("SB", "tso"), ("SDM-8-4", "sc"), ("SDM-8-4", "tso")]
    sb = tests[1]
    assert (sb["observation"], sb["positive"], sb["negative"]) == ("Sometimes", 1, 3)
    assert sb["states"] == [{"0:EAX": 0, "1:EAX": 0}, {"0:EAX": 0, "1:EAX": 1},
                            {"0:EAX": 1, "1:EAX": 0}, {"0:EAX": 1, "1:EAX": 1}]
    for key in ("histogram", "sc_violations", "unseen"):
        assert sb[key] == []
    assert sb["skipped"] is None and sb["path"].endswith("SB.litmus")
    assert tests[3]["kind"] == "Required" and tests[3]["observation"] == "Always"


def test_missing_path_is_a_usage_error():
    r = litmus("nope.litmus")
    assert r.returncode == 2
    assert r.stderr == "coherence: nope.litmus: no such file or directory\n"
    assert r.stdout == ""


def test_empty_directory_is_a_usage_error(tmp_path):
    r = litmus(tmp_path)
    assert r.returncode == 2
    assert r.stderr == f"coherence: {tmp_path}: no litmus tests found " \
                       "(expected *.litmus files or an @index)\n"


@pytest.mark.parametrize("args", [["--model", "pso"], ["--iterations", "0"], ["-j", "x"], []])
def test_bad_arguments(args):
    r = litmus(*( [SUITE / "SB.litmus"] if args else []), *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2


def test_a_bad_file_does_not_stop_the_suite(tmp_path):
    (tmp_path / "good.litmus").write_text((SUITE / "SB.litmus").read_text())
    (tmp_path / "broken.litmus").write_text("X86 Broken\n{ }\n P0 ;\n FOO [x] ;\n")
    (tmp_path / "faulty.litmus").write_text(
        "X86 Faulty\n{ 0:EAX=5; }\n P0 ;\n MOV [EAX],$1 ;\nexists (x=1)\n")
    r = litmus(tmp_path, "--enumerate-only", "-v")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    out = r.stdout
    assert f"Test broken skipped: {tmp_path / 'broken.litmus'}:4: unsupported instruction" \
        in out
    assert f"Test Faulty skipped: {tmp_path / 'faulty.litmus'}:4: P0: dereferencing" in out
    assert "Observation SB Sometimes 1 3" in out
    assert "Summary: 3 tests, 2 skipped" in out
    j = json.loads(litmus(tmp_path, "--enumerate-only", "--json").stdout)
    skipped = {t["name"]: t["skipped"] for t in j["tests"] if t["skipped"]}
    assert set(skipped) == {"broken", "Faulty"}  # the file's stem when it does not parse


def test_index_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "@all").write_text(f"{SUITE / 'MP.litmus'}\n")
    (tmp_path / "@all").write_text(f"# tests\n{SUITE / 'SB.litmus'}\nsub/@all\n")
    r = litmus(tmp_path / "@all", "--enumerate-only", "--json")
    assert [t["name"] for t in json.loads(r.stdout)["tests"]] == ["SB", "SB", "MP", "MP"]


def test_parallel_jobs_give_the_same_answer():
    one = litmus(SUITE, "--enumerate-only", "--json")
    two = litmus(SUITE, "--enumerate-only", "--json", "-j", "2")
    assert one.returncode == two.returncode == 0
    assert json.loads(one.stdout) == json.loads(two.stdout)


def test_suite_summary_matches_expected_tsv():
    r = litmus(SUITE, "--enumerate-only", "-q")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    start = lines.index(next(l for l in lines if l.startswith("Summary:")))
    rows = {l.split()[0]: l.split() for l in lines[start + 2:-1] if not l.startswith("*")}
    assert lines[-1].startswith(f"{len(rows)} tests run; herd7 agrees on {len(rows)}, "
                                f"differs on 0")
    with open(SUITE / "expected.tsv") as fh:
        expected = list(csv.DictReader((l for l in fh if not l.startswith("#")),
                                       delimiter="\t"))
    assert len(rows) == len(expected)
    for e in expected:
        row = rows[e["name"]]
        sc = [e["sc_observation"], e["sc_positive"], e["sc_negative"]]
        tso = [e["tso_observation"], e["tso_positive"], e["tso_negative"]]
        assert [c.rstrip("*") for c in row[2:]] == sc + tso + ["agrees"], e["name"]


@pytest.mark.skipif(not ORACLE.is_dir(), reason=f"herd7 oracle not found at {ORACLE}")
def test_oracle_through_the_cli():
    r = litmus(ORACLE / "tests", "--enumerate-only", "--json")
    assert r.returncode == 0
    got = {(Path(t["path"]).relative_to(ORACLE / "tests").as_posix(), t["model"]): t
           for t in json.loads(r.stdout)["tests"]}
    with open(ORACLE / "verdicts.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(got) == len(rows) == 176
    for row in rows:
        t = got[(row["path"], row["model"])]
        states = " | ".join(" ".join(f"{k}={v};" for k, v in s.items()) for s in t["states"])
        assert (t["name"], t["observation"], t["positive"], t["negative"], states) == \
            (row["name"], row["observation"], int(row["positive"]), int(row["negative"]),
             row["states"])


def test_standalone_module_entry_point():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "coherence.litmus", str(SUITE / "SB.litmus"),
                        "--model", "tso"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0
    after_block(r.stdout)


@pytest.mark.skipif(not ORACLE.is_dir(), reason=f"herd7 oracle not found at {ORACLE}")
def test_the_table_checks_every_oracle_test_against_herds_verdicts_on_file():
    r = litmus(ORACLE / "tests", "--enumerate-only", "-q")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == ("88 tests run; herd7 agrees on 88, differs on 0, 0 "
                                         "without a herd verdict; 0 skipped")
