"""`coherence run` and `coherence protocol` as a user runs them (subprocess)."""

import json

import pytest

from conftest import run_cli


def test_run_prints_a_summary():
    r = run_cli("run", "examples/spinlock_ttas.s", "--cores", "4", "--protocol", "moesi",
                "--check")
    assert r.returncode == 0, r.stderr
    assert "4 cores, MOESI, SC" in r.stdout and "status: halted" in r.stdout
    assert "counter=400" in r.stdout and "BusRdX" in r.stdout and "invalidations" in r.stdout


def test_run_json_is_the_result_dict():
    r = run_cli("run", "examples/producer_consumer.s", "--model", "tso", "--seed", "3",
                "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["status"] == "halted" and d["memory"]["sum"] == 5050 and d["seed"] == 3
    assert d["config"]["model"] == "tso" and len(d["stats"]["cores"]) == 2
    assert set(d["stats"]["bus"]) >= {"BusRd", "BusRdX", "BusUpgr", "Flush", "WriteBack",
                                      "c2c_transfers", "invalidations", "busy_cycles"}


def test_protocol_show_prints_markdown():
    r = run_cli("protocol", "show", "moesi")
    assert r.returncode == 0
    assert r.stdout.startswith("### MOESI")
    assert "| O | read, dirty, owner | O | M / BusUpgr |" in r.stdout
    r = run_cli("protocol", "show", "mosi")
    assert r.returncode == 2 and "unknown protocol 'mosi'" in r.stderr


@pytest.mark.parametrize("text, expected", [
    (".core 0\n  lod r1, [x]\n", "bad.s:2: unknown instruction 'lod'"),
    (".core 0\n  jmp nowhere\n", "bad.s:2: undefined label 'nowhere'"),
    (".core 0\n  ld r1, [zz]\n", "bad.s:2: undefined symbol 'zz'"),
    (".core 0\n  li r16, 1\n", "bad.s:2: bad register 'r16'"),
    (".data\nx: 0x\n.core 0\n  halt\n", "bad.s:2: malformed number '0x'"),
])
def test_bad_programs_exit_2_with_file_and_line(tmp_path, text, expected):
    f = tmp_path / "bad.s"
    f.write_text(text)
    r = run_cli("run", str(f))
    assert r.returncode == 2
    assert expected in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_file_and_impossible_config_exit_2():
    r = run_cli("run", "no/such/file.s")
    assert r.returncode == 2 and "no/such/file.s" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("run", "examples/spinlock_ttas.s", "--line-size", "48")
    assert r.returncode == 2 and "line_size must be a power of two" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("run", "examples/producer_consumer.s", "--cores", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("run", "examples/spinlock_ttas.s", "--cores", "x")
    assert r.returncode == 2 and "invalid int value" in r.stderr


def test_watchdog_status_is_reported_not_hung(tmp_path):
    f = tmp_path / "spin.s"
    f.write_text(".data\nflag: 0\n.core 0\nwait: ld r1, [flag]\n  beq r1, 0, wait\n")
    r = run_cli("run", str(f), "--max-cycles", "100000")
    assert r.returncode == 3 and "status: max_cycles after 100,000 cycles" in r.stdout


def test_run_watch_logs_line_states_and_plots_them(tmp_path):
    import matplotlib.image as mpimg
    out = tmp_path / "run.png"
    r = run_cli("run", "examples/spinlock_ttas.s", "--cores", "2", "--watch", "lock", "counter",
                "--plot", str(out), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d["line_states"]) == {"lock", "counter"}
    first = d["line_states"]["counter"][0]
    assert first[1] in (0, 1) and first[2] in "MESI"
    img = mpimg.imread(out)
    plain = tmp_path / "plain.png"
    assert run_cli("run", "examples/spinlock_ttas.s", "--cores", "2", "--plot",
                   str(plain)).returncode == 0
    assert img.shape[0] > mpimg.imread(plain).shape[0]  # the line-state panel adds a row
    assert len({tuple(px) for px in img.reshape(-1, img.shape[2])[::97]}) > 5
    r = run_cli("run", "examples/spinlock_ttas.s", "--watch", "nope")
    assert r.returncode == 2 and "cannot watch 'nope'" in r.stderr


def test_protocol_list_names_each_family_and_its_interconnect():
    r = run_cli("protocol", "list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["family", "interconnect", "states", "messages"]
    table = lines[1:lines.index("")]
    rows = {(line.split()[0], line.split()[1]) for line in table}
    assert rows == {("msi", "bus"), ("mesi", "bus"), ("moesi", "bus"), ("mesif", "bus"),
                    ("dragon", "bus"), ("msi", "directory"), ("mesi", "directory"),
                    ("msi", "split-bus"), ("mesi", "split-bus"), ("moesi", "split-bus")}
    r = run_cli("protocol", "show", "dragon")
    assert r.returncode == 0 and "| Sm | read, dirty, owner |" in r.stdout and "Notes:" in r.stdout


def test_run_takes_a_family_and_an_interconnect():
    r = run_cli("run", "examples/spinlock_ttas.s", "--protocol", "dragon", "--interconnect",
                "bus", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["memory"]["counter"] == 400 and doc["config"]["protocol"] == "dragon"
    assert doc["stats"]["bus"]["BusUpd"] > 0 and doc["stats"]["bus"]["BusRdX"] == 0
    r = run_cli("run", "examples/spinlock_ttas.s", "--interconnect", "ring")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "invalid choice" in r.stderr
    r = run_cli("run", "examples/spinlock_ttas.s", "--protocol", "dragon", "--interconnect",
                "directory")
    assert r.returncode == 2 and "msi, mesi on directory" in r.stderr
    r = run_cli("run", "examples/spinlock_ttas.s", "--protocol", "mosi")
    assert r.returncode == 2 and "msi, mesi, moesi, mesif, dragon on bus" in r.stderr


def test_stats_file_is_gem5_style_and_matches_the_json(tmp_path):
    import re
    out = tmp_path / "stats.txt"
    r = run_cli("run", "examples/spinlock_ttas.s", "--cores", "2", "--protocol", "msi",
                "--stats-file", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stderr
    d = json.loads(r.stdout)
    assert d["config"]["stats"] == "full"   # --stats-file turns the full statistics on
    text = out.read_text().splitlines()
    assert "---------- Begin Simulation Statistics ----------" in text
    rows = {}
    for line in text:
        if not line or line.startswith("-"):
            continue
        m = re.fullmatch(r"(\S+)\s+(\S+)\s+# (.+)", line)
        assert m, line
        rows[m.group(1)] = float(m.group(2))
    assert rows["sim_cycles"] == d["cycles"]
    bus, mem = d["stats"]["bus"], d["stats"]["memory"]
    for c, cs in enumerate(d["stats"]["cores"]):
        assert rows[f"system.cpu{c}.committedInsts"] == cs["instructions"]
        assert rows[f"system.cpu{c}.l1.misses"] == cs["misses"]
        lat = cs["miss_latency"]
        assert rows[f"system.cpu{c}.l1.missLatency::samples"] == lat["count"] == cs["misses"]
        assert rows[f"system.cpu{c}.l1.missLatency::mean"] == lat["mean"]
        assert sum(v for k, v in rows.items()
                   if k.startswith(f"system.cpu{c}.l1.missLatency::")
                   and k.split("::")[1][0].isdigit()) == lat["count"]
    assert rows["system.bus.BusRdX"] == bus["BusRdX"]
    # memory: fills no cache supplied, and every write-back (MSI: M snooping BusRd)
    assert rows["system.mem.reads"] == mem["reads"] == \
        bus["BusRd"] + bus["BusRdX"] - bus["c2c_transfers"]
    assert rows["system.mem.writes"] == mem["writes"] == \
        d["stats"]["transitions"].get("M,BusRd", 0) + bus["WriteBack"]
    assert rows["system.bus.bytes"] == mem["bus_bytes"] > 0
    assert rows["system.ruby.L1Cache_Controller.I.Store"] == d["stats"]["transitions"]["I,Store"]
    r = run_cli("run", "examples/spinlock_ttas.s", "--stats-file", str(tmp_path))
    assert r.returncode == 2 and "is a directory" in r.stderr


def test_line_state_strip_window(tmp_path, capsys):
    import matplotlib.image as mpimg
    whole, part = tmp_path / "whole.png", tmp_path / "part.png"
    base = ["run", "examples/spinlock_ttas.s", "--cores", "2", "--watch", "lock"]
    from coherence.cli import main
    assert main(base + ["--plot", str(whole)]) == 0
    assert f"wrote {whole}" in capsys.readouterr().out
    r = run_cli(*base, "--plot", str(part), "--window", "1000:3000")
    assert r.returncode == 0, r.stderr
    a, b = mpimg.imread(whole), mpimg.imread(part)
    assert a.shape == b.shape and (a != b).any()
    assert main(base + ["--plot", str(part), "--window", "3000:1000"]) == 2
    assert "expected 0 <= START < END" in capsys.readouterr().err
    assert main(base[:] + ["--window", "0:100"]) == 2
    assert "--window needs --plot and --watch" in capsys.readouterr().err
    from coherence.errors import CoherenceError
    from coherence.run_cli import parse_window
    assert parse_window("1000:") == (1000, None) and parse_window(":50") == (0, 50)
    for bad in ("x:y", "5", "1:2:3"):
        with pytest.raises(CoherenceError, match="expected START:END"):
            parse_window(bad)
