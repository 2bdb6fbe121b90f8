"""The whole machine from the command line: a flag per SystemConfig field (one table), named
noise profiles, --config/--save-config, `run --runs N` histograms, watchdog exit statuses."""

import dataclasses
import json
import os
import re
import warnings

import numpy as np
import pytest

from conftest import ROOT, run_cli

import coherence
from coherence.cli import build_parser
from coherence.config import SystemConfig
from coherence.errors import PartialResultWarning
from coherence.fields import FIELDS, markdown_table
from coherence import noise


def here(*args):
    """The command line's entry point in this process (``coherence.cli.main``), for the
    checks after the first of a kind: the same code as ``run_cli`` without a process start."""
    import contextlib
    import io
    import subprocess
    from coherence.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _flags(*path):
    """Every option string of a subcommand, e.g. _flags("plot", "compare")."""
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[name]
    return {s for a in parser._actions for s in a.option_strings}


# Fields a subcommand sets itself (so it has no flag for them).
OWN = {("run",): set(), ("plot", "compare"): {"protocol"}, ("plot", "sequence"): set(),
       ("plot", "scaling"): {"cores"},
       ("litmus",): {"cores", "model", "protocol", "stats", "timeline_window"}}


@pytest.mark.parametrize("path", list(OWN))
def test_every_systemconfig_field_has_a_flag(path):
    names = {f.name for f in dataclasses.fields(SystemConfig)}
    assert names == {f.name for f in FIELDS}
    flags = _flags(*path)
    for f in FIELDS:
        if f.name in OWN[path] and f.name not in ("model", "protocol"):
            assert f.flag not in flags
        elif f.name not in OWN[path]:
            assert f.flag in flags, f"{' '.join(path)} has no {f.flag}"
    assert {"--noise", "--config", "--save-config", "--seed"} <= flags


def test_the_table_is_the_dataclass_and_the_docs():
    defaults = {f.name: f.default for f in dataclasses.fields(SystemConfig)}
    assert defaults == {f.name: f.default for f in FIELDS}
    doc = open(os.path.join(ROOT, "docs", "config.md")).read()
    assert markdown_table() in doc and noise.markdown_table() in doc
    for f in FIELDS:
        assert re.search(rf"^\| `{f.name}` \| `{f.flag}`", doc, re.MULTILINE)


def test_every_flag_reaches_the_machine():
    args = ["run", "examples/spinlock_ttas.s", "--cores", "2", "--json"]
    base = json.loads(here(*args).stdout)
    r = run_cli(*args, "--mem-latency", "90", "--c2c-latency", "30", "--hit-latency", "2",
                "--bus-latency", "6", "--wb-latency", "3", "--l1-size", "8192", "--l1-ways",
                "2", "--line-size", "32", "--store-buffer", "4", "--progress-window",
                "0x100000", "--max-cycles", "9_000_000", "--arbitration", "fixed",
                "--skew", "7", "--jitter", "3", "--drain-delay", "5", "--issue-jitter", "2",
                "--timeline-window", "500", "--stats", "full")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    want = dict(mem_latency=90, c2c_latency=30, hit_latency=2, bus_latency=6, wb_latency=3,
                l1_size=8192, l1_ways=2, line_size=32, store_buffer=4,
                progress_window=0x100000, max_cycles=9_000_000, arbitration="fixed",
                start_skew=7, jitter=3, drain_delay=5, issue_jitter=2, timeline_window=500,
                stats="full")
    assert {k: d["config"][k] for k in want} == want
    assert d["cycles"] != base["cycles"] and d["memory"]["counter"] == 200
    assert d["timeline"]["window"] == 500 and "miss_latency" in d["stats"]["cores"][0]


def test_a_saved_config_replays_the_run_exactly(tmp_path):
    saved = tmp_path / "run.toml"
    r = run_cli("run", "examples/spinlock_ttas.s", "--cores", "3", "--model", "tso",
                "--protocol", "moesi", "--noise", "mild", "--seed", "5", "--mem-latency",
                "55", "--save-config", str(saved), "--json")
    assert r.returncode == 0, r.stderr
    assert f"wrote {saved}" in r.stderr
    first = json.loads(r.stdout)
    text = saved.read_text()
    assert "seed = 5" in text and 'model = "tso"' in text and "start_skew = 20" in text
    replay = run_cli("run", "examples/spinlock_ttas.s", "--config", str(saved), "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout) == first
    other = json.loads(here("run", "examples/spinlock_ttas.s", "--config", str(saved),
                               "--seed", "6", "--json").stdout)
    assert other["seed"] == 6 and other["cycles"] != first["cycles"]
    assert other["config"] == first["config"]


BAD_CONFIGS = [
    ("seed = 1\ncores = [\n", 2, "bad TOML"),
    ("seed = 1\n\nl1_sise = 4096\n", 3, "unknown key 'l1_sise' (did you mean 'l1_size'?)"),
    ("mem_latency = \"slow\"\n", 1, "mem_latency must be an integer"),
    ("model = 3\n", 1, "model must be a string"),
    ("# comment\nline_size = 48\n", 2, "line_size must be a power of two"),
    ("noise = \"loud\"\n", 1, "unknown noise profile 'loud'"),
    ("[machine]\ncores = 2\n", 1, "unexpected table [machine]"),
]


def test_a_bad_config_file_is_one_line_with_file_and_line(tmp_path, capsys):
    from coherence.cli import main
    for k, (text, line, message) in enumerate(BAD_CONFIGS):
        f = tmp_path / f"bad{k}.toml"
        f.write_text(text)
        if k < 2:   # as a user runs it
            r = run_cli("run", "examples/spinlock_ttas.s", "--config", str(f))
            code, err = r.returncode, r.stderr
        else:       # the same entry point, in this process (faster)
            code = main(["run", "examples/spinlock_ttas.s", "--config", str(f)])
            err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert f"{f}:{line}: " in err and message in err, err
    assert main(["run", "examples/spinlock_ttas.s", "--config", str(tmp_path / "no.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_seed_without_noise_says_it_has_no_effect():
    r = run_cli("run", "examples/spinlock_ttas.s", "--seed", "3")
    assert r.returncode == 0
    assert r.stderr.count("\n") == 1 and "--seed 3 has no effect" in r.stderr
    r = here("run", "examples/spinlock_ttas.s", "--seed", "3", "--noise", "light")
    assert r.returncode == 0 and r.stderr == ""
    r = here("run", "examples/spinlock_ttas.s", "--noise", "loud")
    assert r.returncode == 2 and "unknown noise profile 'loud', expected one of none" in r.stderr


def test_noise_profiles_change_the_timing_and_the_campaign_uses_them():
    from coherence.litmus import campaign
    assert campaign.PROFILES == tuple(noise.PROFILES[n].as_tuple() for n in noise.CAMPAIGN)
    quiet = json.loads(here("run", "examples/spinlock_ttas.s", "--model", "tso", "--noise",
                               "none", "--json").stdout)
    r = run_cli("run", "examples/spinlock_ttas.s", "--model", "tso", "--noise", "wild",
                "--drain-delay", "7", "--json")
    loud = json.loads(r.stdout)
    want = dict(noise.PROFILES["wild"].fields(), drain_delay=7)  # the flag overrides it
    assert {k: loud["config"][k] for k in want} == want
    assert {k: quiet["config"][k] for k in want} == noise.PROFILES["none"].fields()
    assert loud["cycles"] != quiet["cycles"] and loud["memory"] == quiet["memory"]


def test_runs_show_petersons_lost_updates_on_tso_and_none_with_the_fence():
    r = run_cli("run", "examples/peterson.s", "--model", "tso", "--runs", "40", "--expect",
                "counter=400", "-q")
    assert r.returncode == 1, r.stderr
    out = r.stdout
    assert out.startswith("Test peterson Required\nHistogram (")
    rows = [ln for ln in out.splitlines() if re.match(r"\d+ +[*:]>", ln)]
    assert sum(int(ln.split()[0]) for ln in rows) == 40
    assert all(("*>" in ln) == ("counter=400;" in ln) for ln in rows)
    m = re.search(r"broken by (\d+) of 40 runs .*the first is seed (\d+): (coherence run .*)",
                  out)
    assert m and int(m.group(1)) > 0 and "No\n" in out
    assert "Runs 40 (seeds 0..39): 2 cores, MESI, TSO, noise wild" in out
    # the printed replay command is that run: its counter is not 400
    replay = m.group(3).split()[1:]
    d = json.loads(here(*replay, "--json").stdout)
    assert d["memory"]["counter"] != 400 and d["seed"] == int(m.group(2))
    for args in (["examples/peterson_fenced.s", "--model", "tso"], ["examples/peterson.s"]):
        r = here("run", *args, "--runs", "40", "--expect", "counter=400", "-q")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "met by every one of 40 runs" in r.stdout and "\nOk\n" in r.stdout


def test_runs_json_and_register_observations(capsys):
    from coherence.cli import main
    r = run_cli("run", "examples/peterson.s", "--model", "tso", "--runs", "20", "--observe",
                "counter", "0:r10", "1:r10", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["runs"] == 20 and d["noise"] == "wild" and d["observe"] == ["counter", "0:r10",
                                                                        "1:r10"]
    assert sum(h["count"] for h in d["histogram"]) == 20
    # %core: each core's copy of the `.core all` code got its own number
    assert {(h["state"]["0:r10"], h["state"]["1:r10"]) for h in d["histogram"]} == {(0, 1)}
    assert d["expect"] is None and d["statuses"] == {"halted": 20}
    for bad, msg in ((["--observe", "nope"], "--observe nope: no such symbol"),
                     (["--observe", "5:r1"], "core 5 is not in the program"),
                     (["--expect", "counter"], "expected SYM=VALUE"),
                     (["--runs", "0"], "--runs must be at least 1"),
                     (["--plot", "x.png"], "--plot draws one run")):
        assert main(["run", "examples/peterson.s", "--runs", "3", *bad]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1, err


def test_watchdog_endings_exit_3_and_4_with_one_line(tmp_path):
    f = tmp_path / "spin.s"
    f.write_text(".data\nflag: 0\n.core 0\nwait: ld r1, [flag]\n  beq r1, 0, wait\n")
    r = run_cli("run", str(f), "--max-cycles", "100000")
    assert r.returncode == 3 and "status: max_cycles after 100,000 cycles" in r.stdout
    assert r.stderr.count("\n") == 1
    assert "stopped by the watchdog (max_cycles) at cycle 100,000" in r.stderr
    r = here("run", str(f), "--progress-window", "5000", "--json")
    assert r.returncode == 4 and json.loads(r.stdout)["status"] == "no_progress"
    assert "(no_progress) at cycle 5,000" in r.stderr and r.stderr.count("\n") == 1
    r = here("run", str(f), "--progress-window", "5000", "--runs", "3", "--noise", "light")
    assert r.returncode == 4 and "3 of 3 runs were stopped by the watchdog" in r.stderr


def test_no_arguments_prints_usage():
    r = run_cli()
    assert r.returncode == 0 and r.stdout.startswith("usage: coherence")
    assert "run " in r.stdout and "litmus" in r.stdout


def test_the_python_api_warns_when_a_result_is_partial():
    prog = coherence.assemble(".data\nflag: 0\n.core 0\nw: ld r1, [flag]\n beq r1, 0, w\n")
    cfg = SystemConfig(cores=1, max_cycles=10_000)
    with pytest.warns(PartialResultWarning, match="max_cycles") as rec:
        r = coherence.run(prog, cfg)
    assert r.status == "max_cycles" and rec[0].message.cycle == 10_000
    with pytest.warns(PartialResultWarning) as rec:
        coherence.run_batch(prog, cfg, 3, observe=[("mem", "flag")])
    assert rec[0].message.runs == 3 and rec[0].message.first == 0
    ok = coherence.assemble(".core 0\n li r1, 1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert coherence.run(ok, SystemConfig(cores=1)).status == "halted"


def test_a_trace_is_not_cut_at_a_default_cycle_limit():
    # 101 misses of 1 M cycles each: past a program's 50 M default limit (and 100 M)
    cfg = SystemConfig(cores=1, mem_latency=1_000_000, progress_window=2_000_000)
    addrs = np.arange(101, dtype=np.int64) * 4096
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = coherence.run_trace([np.zeros(101, np.uint8)], [addrs], cfg)
    assert r.status == "halted" and r.cycles > 100_000_000
    with pytest.warns(PartialResultWarning):
        r = coherence.run_trace([np.zeros(101, np.uint8)], [addrs],
                                cfg.replace(max_cycles=50_000_000))
    assert r.status == "max_cycles"
    assert SystemConfig().cycle_limit() == 50_000_000


def test_litmus_takes_the_machine_flags_and_noise():
    r = run_cli("litmus", "litmus/x86/SB.litmus", "--iterations", "400", "--noise", "drain",
                "--mem-latency", "60", "--json", "-q")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    tso = next(t for t in d["tests"] if t["model"] == "tso")
    assert sum(h["count"] for h in tso["histogram"]) == 400
    r = here("litmus", "litmus/x86/SB.litmus", "--mem-latency", "0")
    assert r.returncode == 2 and "--mem-latency: mem_latency must be at least 1" in r.stderr


def test_the_default_runs_noise_shows_sb_relaxed_outcome_on_tso_only():
    def states(model):
        r = (run_cli if model == "tso" else here)("run", "examples/sb.s", "--model", model, "--runs", "200", "--observe",
                    "0:r1", "1:r1", "--json")
        assert r.returncode == 0, r.stderr
        return {(h["state"]["0:r1"], h["state"]["1:r1"]): h["count"]
                for h in json.loads(r.stdout)["histogram"]}
    tso, sc = states("tso"), states("sc")
    assert tso.get((0, 0), 0) >= 2            # at least 1% of the runs
    assert set(tso) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert set(sc) == {(0, 1), (1, 0), (1, 1)} and sum(sc.values()) == 200  # never 0/0


def test_the_reference_model_warns_alike():
    from coherence.reference import run_reference
    prog = coherence.assemble(".data\nflag: 0\n.core 0\nw: ld r1, [flag]\n beq r1, 0, w\n")
    with pytest.warns(PartialResultWarning, match="no_progress") as rec:
        r = run_reference(prog, SystemConfig(cores=1, progress_window=50))
    assert r.status == "no_progress" and rec[0].message.cycle == r.cycles == 50


def test_an_interrupted_runs_prints_what_it_finished(monkeypatch):
    real = coherence.run

    def run(program, config, seed=0, **kw):
        if seed == 5:
            raise KeyboardInterrupt   # the user's Ctrl-C during the sixth run
        return real(program, config, seed=seed, **kw)
    monkeypatch.setattr(coherence, "run", run)
    r = here("run", "examples/peterson.s", "--runs", "50", "--expect", "counter=400")
    assert r.returncode == 130
    assert "Runs 5 of 50 requested, interrupted (seeds 0..4)" in r.stdout
    assert "Positive: 5, Negative: 0" in r.stdout
    assert r.stderr == "coherence: interrupted after 5 of 50 runs; the histogram is of those\n"
