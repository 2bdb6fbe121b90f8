"""Pictures of the message interconnects: the reference model's message log of a watched
line, the message-flow chart (Python and `coherence plot sequence --interconnect ...`)."""

import pytest

from coherence import SystemConfig, assemble, plot
from coherence.errors import CoherenceError
from coherence.netref import run_net_reference

from conftest import run_cli
from test_plot import check_png

RACE = """; a read and a write of one line in flight together
.data
x: 0
.core 0
    st [x], 1
    ld r1, [x]
.core 1
    delay 3
    ld r2, [x]
    st [x], 2
"""


def test_the_message_log_of_a_watched_line_is_the_3_hop_story():
    r = run_net_reference(assemble(RACE, "race.s"),
                          SystemConfig(cores=2, protocol="msi", interconnect="directory"),
                          watch=["x"])
    log = r.messages["x"]
    # core 0's GetM reaches home 0 after net_latency; the data leaves after mem_latency
    assert log[0] == (0, 6, "GetM", "core 0", "home 0")
    assert log[1] == (3, 9, "GetS", "core 1", "home 0")
    assert (6, 52, "Data", "home 0", "core 0") in log
    # the home forwards core 1's GetS to the owner (3 hops) while its data is in flight
    assert (9, 15, "Fwd-GetS", "home 0", "core 0") in log
    assert (52, 58, "Data", "core 0", "core 1") in log and (52, 58, "Data", "core 0",
                                                             "home 0") in log
    states = r.line_states["x"]
    assert (9, "home 0", "S^D") in states and (52, "core 0", "M") in states
    assert (52, "core 0", "S") in states    # the stalled Fwd-GetS, handled once M
    assert r.memory["x"] == 2 and r.registers[0]["r1"] == 1 and r.registers[1]["r2"] == 1


def test_message_flow_chart(tmp_path):
    r = run_net_reference(assemble(RACE, "race.s"),
                          SystemConfig(cores=2, protocol="mesi", interconnect="split-bus"),
                          watch=["x"])
    assert any(dst == "bus" for *_, dst in r.messages["x"])
    fig = plot.plot_message_flow(r, "x")
    check_png(plot.save_figure(fig, tmp_path / "flow.png"))
    with pytest.raises(CoherenceError, match="was not watched"):
        plot.plot_message_flow(r, "y")
    plain = run_net_reference(assemble(RACE, "race.s"),
                              SystemConfig(cores=2, protocol="mesi", interconnect="split-bus"))
    with pytest.raises(CoherenceError, match="no message log"):
        plot.plot_message_flow(plain)
    with pytest.raises(CoherenceError, match="cannot watch"):
        run_net_reference(assemble(RACE, "race.s"),
                          SystemConfig(cores=2, protocol="mesi", interconnect="split-bus"),
                          watch=["nope"])


@pytest.mark.parametrize("net", ["split-bus", "directory"])
def test_cli_sequence_on_a_message_interconnect(tmp_path, net):
    src = tmp_path / "race.s"
    src.write_text(RACE)
    out = tmp_path / "seq.png"
    r = run_cli("plot", "sequence", str(src), "--symbol", "x", "--protocol", "msi",
                "--interconnect", net, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "messages in" in r.stdout and f"wrote {out}" in r.stdout
    check_png(out)


def test_interconnect_scaling_python_and_cli(tmp_path):
    series = plot.interconnect_scaling("examples/spinlock_ttas.s", [1, 2, 4],
                                       SystemConfig(protocol="mesi"))
    assert list(series) == ["bus", "split-bus", "directory (crossbar)"]
    for net, data in series.items():
        assert [d["cores"] for d in data] == [1, 2, 4]
        assert all(d["status"] == "halted" and d["miss_latency"] > 0 for d in data), net
    # the directory's messages are counted; more cores, more contention for the lock's line
    assert series["directory (crossbar)"][2]["transactions"] > series["directory (crossbar)"][0][
        "transactions"]
    check_png(plot.save_figure(plot.plot_interconnect_scaling(series), tmp_path / "s.png"))
    out = tmp_path / "scaling.png"
    r = run_cli("plot", "scaling", "examples/spinlock_ttas.s", "--cores-list", "1,2",
                "--interconnects", "bus,directory", "--protocol", "msi", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "directory (crossbar)" in r.stdout and "miss lat" in r.stdout
    check_png(out)
    bad = run_cli("plot", "scaling", "examples/spinlock_ttas.s", "--cores-list", "1,2",
                  "--interconnects", "bus,ring", "--out", str(out))
    assert bad.returncode == 2 and "unknown interconnect 'ring'" in bad.stderr
