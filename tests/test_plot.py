"""coherence.plot and `coherence plot` / `coherence run --plot`: every image written is opened
and checked (a real PNG of the expected size with more than one colour), and the drawn data
is compared with the run's statistics."""

import os
import subprocess
import sys

import numpy as np
import pytest

import coherence
from coherence import SystemConfig, plot
from coherence.errors import CoherenceError

from conftest import ROOT, run_cli

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def check_png(path, size=None):
    """The file is a PNG matplotlib can read, of ``size`` (w, h) if given, not blank."""
    assert os.path.getsize(path) > 0
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    if size is not None:
        assert (img.shape[1], img.shape[0]) == tuple(size)
    colours = np.unique(img.reshape(-1, img.shape[2]), axis=0)
    assert len(colours) > 1
    return img


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    """No plot function may call plt.show(); close what a test leaves open."""
    def show(*a, **k):
        raise AssertionError("plt.show() called")
    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")


def _run(protocol):
    """One small program (two writers and a reader on one line) under one protocol."""
    prog = coherence.assemble(_PROGRAM)
    return coherence.run(prog, SystemConfig(cores=3, protocol=protocol, timeline_window=20,
                                            l1_size=64, l1_ways=1, line_size=32),
                         watch=["x", "y"])


@pytest.fixture(scope="module")
def runs():
    """The program under the three invalidation protocols."""
    return {p.upper(): _run(p) for p in ("msi", "mesi", "moesi")}


_PROGRAM = ("""
        .data
        x: 0
        y: 0
        .core 0
            li r10, 30
        a:  st [x], r10
            ld r1, [y]
            sub r10, r10, 1
            bne r10, 0, a
        .core 1
            li r10, 30
        b:  ld r2, [x]
            st [y], r10
            sub r10, r10, 1
            bne r10, 0, b
        .core 2
            li r10, 30
        c:  ld r3, [x]
            ld r4, [y]
            sub r10, r10, 1
            bne r10, 0, c
        """)


def test_import_coherence_does_not_import_matplotlib():
    code = ("import sys, coherence, coherence.plot, coherence.plot_cli, coherence.cli\n"
            "coherence.cli.build_parser()\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# The invalidation protocols issue every transaction but the update protocols' BusUpd.
SHOWN = [t for t in plot.TRANSACTION_TYPES if t != "BusUpd"]


def test_bus_transactions_stacks_each_runs_counters(runs, tmp_path):
    fig = plot.plot_bus_transactions(runs)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["MSI", "MESI", "MOESI"]
    assert ax.get_ylabel() == "bus transactions"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == set(SHOWN)
    # One container per type, one bar per run: each bar is that run's counter, stacked.
    assert [c.get_label() for c in ax.containers] == SHOWN
    for t, container in zip(SHOWN, ax.containers):
        assert [p.get_height() for p in container] == [r.stats["bus"][t] for r in runs.values()]
    tops = [max(c[i].get_y() + c[i].get_height() for c in ax.containers) for i in range(3)]
    assert tops == [sum(r.stats["bus"][t] for t in SHOWN) for r in runs.values()]
    assert min(tops) > 0
    path = plot.save_figure(fig, tmp_path / "bus.png")
    check_png(path)


def test_bus_transactions_of_an_update_and_an_invalidation_protocol(runs):
    dragon = _run("dragon")
    fig = plot.plot_bus_transactions({"MESI": runs["MESI"], "Dragon": dragon})
    ax = fig.axes[0]
    labels = [c.get_label() for c in ax.containers]
    assert labels == list(plot.TRANSACTION_TYPES)   # the union of both protocols'
    upd = ax.containers[labels.index("BusUpd")]
    rdx = ax.containers[labels.index("BusRdX")]
    assert [p.get_height() for p in upd] == [0, dragon.stats["bus"]["BusUpd"]] and \
        dragon.stats["bus"]["BusUpd"] > 0
    assert [p.get_height() for p in rdx][1] == 0    # Dragon never invalidates


def test_bus_transactions_accepts_lists_dicts_and_any_counter(runs):
    as_list = list(runs.values())
    fig = plot.plot_bus_transactions(as_list, types=["Flush", "invalidations"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["MSI", "MESI", "MOESI"]
    fig = plot.plot_bus_transactions([(k, r.to_dict()) for k, r in runs.items()])
    assert len(fig.axes[0].patches) == 3 * len(SHOWN)
    with pytest.raises(CoherenceError, match="no bus counter 'BusFoo'"):
        plot.plot_bus_transactions(runs, types=["BusFoo"])
    with pytest.raises(CoherenceError, match="no runs"):
        plot.plot_bus_transactions({})


def test_rebin_timeline_keeps_every_transaction(runs):
    tl = runs["MESI"].timeline
    raw = np.asarray(tl["counts"])
    for bins in (1, 3, 7, len(raw), 10 * len(raw)):
        edges, counts, types = plot.rebin_timeline(tl, bins)
        assert types == tl["types"]
        assert len(counts) <= bins and len(edges) == len(counts) + 1
        assert (np.diff(edges) == edges[1] - edges[0]).all()
        assert (edges[1] - edges[0]) % tl["window"] == 0
        assert (counts.sum(axis=0) == raw.sum(axis=0)).all()
    # The timeline and the bus counters count the same transactions.
    for r in runs.values():
        total = np.asarray(r.timeline["counts"]).sum(axis=0)
        assert list(total) == [r.stats["bus"][t] for t in r.timeline["types"]]
    with pytest.raises(CoherenceError, match="timeline_window"):
        plot.rebin_timeline(None)


def test_traffic_over_time_bars_sum_to_the_bus_counters(runs, tmp_path):
    r = runs["MOESI"]
    fig = plot.plot_traffic(r, bins=12)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "cycle" and ax.get_ylabel().startswith("transactions per ")
    by_type = {}
    for container in ax.containers:
        label = container.get_label()
        by_type[label] = sum(p.get_height() for p in container.patches)
        assert len(container.patches) <= 12
    assert by_type == {t: r.stats["bus"][t] for t in r.timeline["types"]}
    check_png(plot.save_figure(fig, tmp_path / "traffic.png"))


def test_traffic_bars_of_a_fixed_width(runs):
    r = runs["MSI"]
    window = r.timeline["window"]
    fig = plot.plot_traffic(r, cycles_per_bar=5 * window)
    ax = fig.axes[0]
    widths = {p.get_width() for c in ax.containers for p in c}
    assert widths == {5 * window}
    assert ax.get_ylabel() == f"transactions per {5 * window:,} cycles"
    with pytest.raises(CoherenceError, match="cycles_per_bar must be >= 1"):
        plot.plot_traffic(r, cycles_per_bar=0)


def test_traffic_comparison_draws_one_line_per_run(runs, tmp_path):
    fig = plot.plot_traffic(runs, bins=10)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)
    steps = [p for p in ax.patches if type(p).__name__ == "StepPatch"]
    assert len(steps) == 3
    for step, r in zip(steps, runs.values()):
        assert step.get_data().values.sum() == sum(r.stats["bus"][t]
                                                   for t in r.timeline["types"])
    check_png(plot.save_figure(fig, tmp_path / "cmp.png"))
    no_tl = coherence.run(coherence.assemble(".data\nx: 0\n.core 0\n st [x], 1\n"))
    with pytest.raises(CoherenceError, match="no traffic timeline"):
        plot.plot_traffic({"a": no_tl})


def test_line_state_segments_follow_the_log():
    log = [(5, 0, "E"), (9, 1, "S"), (9, 0, "S"), (20, 0, "I"), (30, 1, "M")]
    assert plot._segments(log, 0, 0, 40) == [(0, 5, "I"), (5, 4, "E"), (9, 11, "S"),
                                             (20, 20, "I")]
    assert plot._segments(log, 1, 0, 40) == [(0, 9, "I"), (9, 21, "S"), (30, 10, "M")]
    assert plot._segments(log, 1, 10, 35) == [(10, 20, "S"), (30, 5, "M")]
    assert plot._segments([], 2, 0, 7) == [(0, 7, "I")]


def test_line_state_map_colours_each_state(tmp_path):
    prog = coherence.assemble(".data\nx: 0\n.core 0\n delay 5\n st [x], 1\n delay 100\n"
                              ".core 1\n delay 60\n ld r1, [x]\n")
    r = coherence.run(prog, SystemConfig(cores=2, protocol="moesi"), watch=["x"])
    fig = plot.plot_line_states(r)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x  core 0", "x  core 1"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["M (Modified)", "O (Owned)", "E (Exclusive)", "S (Shared)", "I (Invalid)"]
    rgb = matplotlib.colors.to_rgba
    core0, core1 = ax.collections        # one broken_barh per row, top row first
    # core 0: I, then M after its store, then O once core 1 reads; core 1: I, then S.
    assert [tuple(c) for c in core0.get_facecolors()] == \
        [rgb(plot.STATE_COLORS[s]) for s in "IMO"]
    assert [tuple(c) for c in core1.get_facecolors()] == \
        [rgb(plot.STATE_COLORS[s]) for s in "IS"]
    check_png(plot.save_figure(fig, tmp_path / "states.png"))
    msi = coherence.run(prog, SystemConfig(cores=2, protocol="msi"), watch=["x"])
    legend = [t.get_text() for t in plot.plot_line_states(msi).axes[0].get_legend().get_texts()]
    assert legend == ["M (Modified)", "S (Shared)", "I (Invalid)"]


def test_line_state_map_rejects_what_it_cannot_draw(runs):
    r = runs["MESI"]
    with pytest.raises(CoherenceError, match="watch="):
        plot.plot_line_states(coherence.run(coherence.assemble(".data\nx: 0\n.core 0\n")))
    with pytest.raises(CoherenceError, match="'z' was not watched"):
        plot.plot_line_states(r, symbols=["z"])
    with pytest.raises(CoherenceError, match="core 5 is not in the run"):
        plot.plot_line_states(r, cores=[5])
    with pytest.raises(CoherenceError, match="empty cycle range"):
        plot.plot_line_states(r, start=50, end=50)
    fig = plot.plot_line_states(r, symbols="y", cores=[2], start=10, end=200)
    assert fig.axes[0].get_xlim() == (10, 200)


def test_core_stats_bars_are_the_counters(runs, tmp_path):
    r = runs["MSI"]
    fig = plot.plot_core_stats(r)
    ax, ax2 = fig.axes
    n = len(r.stats["cores"])
    hits, misses = ax.containers
    (stalls,) = ax2.containers
    assert [p.get_height() for p in hits] == [c["hits"] for c in r.stats["cores"]]
    assert [p.get_height() for p in misses] == [c["misses"] for c in r.stats["cores"]]
    assert [p.get_height() for p in stalls] == [c["stall_cycles"] for c in r.stats["cores"]]
    assert len(ax.get_xticks()) == n and ax.get_xlabel() == "core"
    assert ax2.get_ylabel() == "stall cycles"
    check_png(plot.save_figure(fig, tmp_path / "cores.png"))


def test_functions_draw_into_a_given_axes(runs):
    fig, axes = plt.subplots(2, 3)
    r = runs["MESI"]
    got = [plot.plot_bus_transactions(runs, ax=axes[0, 0]),
           plot.plot_traffic(r, ax=axes[0, 1]),
           plot.plot_line_states(r, ax=axes[0, 2]),
           plot.plot_core_stats(r, ax=axes[1, 0]),
           plot.plot_litmus_histogram([{"state": {"x": 1}, "count": 3}], ax=axes[1, 1]),
           plot.plot_scaling([{"cores": 1, "throughput": 1.0, "bus_utilization": 0.5}],
                             ax=axes[1, 2])]
    assert all(g is fig for g in got)
    assert len(plt.get_fignums()) == 1


SB = [{"state": {"0:EAX": 0, "1:EAX": 0}, "count": 17, "satisfies": True, "sc_forbidden": True},
      {"state": {"0:EAX": 0, "1:EAX": 1}, "count": 480, "satisfies": False,
       "sc_forbidden": False},
      {"state": {"0:EAX": 1, "1:EAX": 0}, "count": 503, "satisfies": False,
       "sc_forbidden": False},
      {"state": {"0:EAX": 1, "1:EAX": 1}, "count": 0, "satisfies": False,
       "sc_forbidden": False}]


def test_litmus_histogram_marks_condition_and_sc_forbidden(tmp_path):
    fig = plot.plot_litmus_histogram(SB, title="SB (x86-TSO)")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_height() == pytest.approx(0.65)]
    assert [b.get_width() for b in bars] == [17, 480, 503, 0]
    assert [t.get_text() for t in ax.get_yticklabels()] == \
        ["0:EAX=0; 1:EAX=0;", "0:EAX=0; 1:EAX=1;", "0:EAX=1; 1:EAX=0;", "0:EAX=1; 1:EAX=1;"]
    assert bars[0].get_hatch() == "///" and all(b.get_hatch() is None for b in bars[1:])
    assert bars[0].get_facecolor() != bars[1].get_facecolor()     # satisfies vs not
    texts = [t.get_text() for t in ax.texts]
    assert any("SC-forbidden" in t for t in texts) and any("never seen" in t for t in texts)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["satisfies the condition", "does not satisfy it", "forbidden under SC"]
    check_png(plot.save_figure(fig, tmp_path / "litmus.png"))
    fig = plot.plot_litmus_histogram(SB, log=True)
    assert fig.axes[0].get_xscale() == "log"
    # The legend names only the kinds of bars drawn.
    fig = plot.plot_litmus_histogram([dict(o, satisfies=False, sc_forbidden=False) for o in SB])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["does not satisfy it"]


@pytest.mark.parametrize("bad, message", [
    ([], "non-empty list"),
    ([{"count": 1}], "outcome 0 must be a dict with 'state' and 'count'"),
    ([{"state": {"x": 1}, "count": -1}], "count must be an integer >= 0"),
    ([{"state": [1, 2], "count": 1}], "must be a dict of location -> value"),
])
def test_litmus_histogram_rejects_malformed_data(bad, message):
    with pytest.raises(CoherenceError, match=message):
        plot.plot_litmus_histogram(bad)


def test_litmus_outcomes_from_a_campaign_object_or_its_json():
    class Campaign:              # the fields a coherence.litmus campaign has
        name, model, iterations = "SB", "tso", 100
        observation, positive, negative = "Sometimes", 10, 90
        histogram = [({"0:EAX": 0, "1:EAX": 0}, 10), ({"0:EAX": 1, "1:EAX": 1}, 90)]
        satisfied = [True, False]
        sc_violations = [{"0:EAX": 0, "1:EAX": 0}]
        unseen = [{"0:EAX": 0, "1:EAX": 1}]

    rows = plot.litmus_outcomes(Campaign())
    assert rows == [
        {"state": {"0:EAX": 0, "1:EAX": 0}, "count": 10, "satisfies": True, "sc_forbidden": True},
        {"state": {"0:EAX": 1, "1:EAX": 1}, "count": 90, "satisfies": False,
         "sc_forbidden": False},
        {"state": {"0:EAX": 0, "1:EAX": 1}, "count": 0, "satisfies": False,
         "sc_forbidden": False}]
    as_json = {"histogram": [{"state": s, "count": n, "satisfies": h}
                             for (s, n), h in zip(Campaign.histogram, Campaign.satisfied)],
               "sc_violations": Campaign.sc_violations, "unseen": Campaign.unseen}
    assert plot.litmus_outcomes(as_json) == rows
    with pytest.raises(CoherenceError, match="expected a litmus campaign"):
        plot.litmus_outcomes(object())


def test_save_litmus_figure_draws_one_panel_per_campaign(tmp_path):
    from coherence.litmus import campaign, parse_file
    tests = [parse_file(f"{ROOT}/litmus/x86/{n}.litmus") for n in ("SB", "MP", "R")]
    runs = [campaign.run_campaign(t, model="tso", iterations=800, seed=2) for t in tests]
    path = plot.save_litmus_figure(runs, tmp_path / "litmus.png")
    img = check_png(path)
    assert img.shape[1] == 2 * 850          # two columns of 8.5 inches at 100 dpi
    sb = plot.litmus_outcomes(runs[0])
    assert sum(r["count"] for r in sb) == 800
    assert any(r["sc_forbidden"] and r["satisfies"] and r["count"] > 0 for r in sb)
    with pytest.raises(CoherenceError, match="no litmus campaigns"):
        plot.save_litmus_figure([], tmp_path / "none.png")


def test_cli_litmus_plot_uses_the_histogram(tmp_path):
    out = tmp_path / "sb.png"
    r = run_cli("litmus", "litmus/x86/SB.litmus", "--iterations", "500", "-q", "--plot", str(out))
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}\n" in r.stdout
    check_png(out, size=(850, 282))       # 8.5 x (1.3 + 0.38 x 4 states) inches


def test_gantt_is_re_exported_from_the_scheduler(tmp_path):
    from coherence import sched
    sim = sched.simulate(sched.load(f"{ROOT}/examples/sched/abba.toml"))
    fig = plot.plot_gantt(sim)
    assert fig.axes
    check_png(plot.save_figure(fig, tmp_path / "gantt.png"))


def test_scaling_runs_each_core_count(tmp_path):
    data = plot.scaling_data(f"{ROOT}/examples/spinlock_ttas.s", [1, 2, 3],
                             throughput=lambda r: r.memory["counter"] / r.cycles)
    assert [d["cores"] for d in data] == [1, 2, 3]
    for d in data:
        assert d["status"] == "halted" and 0 < d["bus_utilization"] <= 1
        assert d["throughput"] == pytest.approx(100 * d["cores"] / d["cycles"])
        assert d["ipc"] == pytest.approx(d["instructions"] / d["cycles"], abs=1e-6)
    fig = plot.plot_scaling(data, throughput_label="increments / cycle")
    ax, ax2 = fig.axes
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    assert list(ax.lines[0].get_ydata()) == [d["throughput"] for d in data]
    assert list(ax2.lines[0].get_ydata()) == [100 * d["bus_utilization"] for d in data]
    assert ax.get_xlabel() == "cores" and ax2.get_ylabel() == "bus utilization (%)"
    check_png(plot.save_figure(fig, tmp_path / "scaling.png"))
    # The same from a function cores -> Program, and via run_scaling.
    text = open(f"{ROOT}/examples/spinlock_ttas.s").read()
    fig = plot.run_scaling(lambda n: coherence.assemble(text, cores=n), [1, 2])
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2]
    with pytest.raises(CoherenceError, match="core count 0"):
        plot.scaling_data(text, [0])
    with pytest.raises(CoherenceError, match="cores_list is empty"):
        plot.scaling_data(text, [])


def test_scaling_comparison_draws_one_line_per_series(tmp_path):
    series = {"a": [{"cores": 2, "fairness": 0.5, "u": 0.25}, {"cores": 1, "fairness": 1.0,
                                                               "u": 0.5}],
              "b": [{"cores": 1, "fairness": 1.0, "u": 0.1}, {"cores": 4, "fairness": 1.0,
                                                             "u": 0.9}]}
    fig = plot.plot_scaling_comparison(series, "fairness")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert list(ax.lines[0].get_xdata()) == [1, 2]          # sorted by core count
    assert list(ax.lines[0].get_ydata()) == [1.0, 0.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4"]
    fig = plot.plot_scaling_comparison(series, "u", percent=True)
    assert list(fig.axes[0].lines[1].get_ydata()) == [10.0, 90.0]
    assert fig.axes[0].get_ylabel() == "u (%)"
    check_png(plot.save_figure(fig, tmp_path / "cmp.png"))
    with pytest.raises(CoherenceError, match="series 'a' has points without"):
        plot.plot_scaling_comparison(series, "throughput")


def test_save_run_figure_has_three_panels_and_the_documented_size(runs, tmp_path):
    r = runs["MOESI"]
    path = plot.save_run_figure(r, tmp_path / "run.png", seed=0)
    # the watched lines add a line-state panel, one row per (symbol, core)
    rows = len(r.line_states) * r.config["cores"]
    w, h = plot.RUN_FIGURE_SIZE
    check_png(path, size=(w, h + plot.LINE_STATE_ROW * rows + 120))
    no_tl = coherence.run(coherence.assemble(".data\nx: 0\n.core 0\n st [x], 1\n"))
    check_png(plot.save_run_figure(no_tl, tmp_path / "run2.png"), size=plot.RUN_FIGURE_SIZE)
    assert not plt.get_fignums()          # saved figures are closed


def test_save_figure_turns_bad_paths_into_coherence_errors(tmp_path):
    fig = plot.plot_litmus_histogram(SB)
    with pytest.raises(CoherenceError, match="no such directory"):
        plot.save_figure(fig, tmp_path / "missing" / "x.png")
    fig = plot.plot_litmus_histogram(SB)
    with pytest.raises(CoherenceError, match=r"unknown image format '\.xyz'"):
        plot.save_figure(fig, tmp_path / "x.xyz")
    fig = plot.plot_litmus_histogram(SB)
    svg = plot.save_figure(fig, tmp_path / "x.svg")
    assert open(svg).read().lstrip().startswith("<?xml")


# ------------------------------------------------------------------------------- CLI

def test_cli_run_plot_writes_the_run_figure(tmp_path):
    out = tmp_path / "run.png"
    r = run_cli("run", "examples/spinlock_ttas.s", "--cores", "2", "--plot", str(out))
    assert r.returncode == 0, r.stderr
    assert "status: halted" in r.stdout and r.stdout.endswith(f"wrote {out}\n")
    check_png(out, size=plot.RUN_FIGURE_SIZE)


def test_cli_plot_compare(tmp_path):
    out = tmp_path / "cmp.png"
    r = run_cli("plot", "compare", "examples/false_sharing.s", "--protocols", "msi,moesi",
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("MSI") and lines[1].startswith("MOESI")
    assert lines[-1] == f"wrote {out}"
    check_png(out, size=(1600, 500))
    # the counts that differ between the protocols are reported (and drawn), not only the
    # transactions, which false sharing makes equal
    import re
    moved = [dict((k, int(v.replace(",", ""))) for v, k in
                  re.findall(r"([\d,]+) (Flush|cache-to-cache|memory reads|memory writes)",
                             line)) for line in lines[:2]]
    assert set(moved[0]) == set(moved[1]) == {"Flush", "cache-to-cache", "memory reads",
                                              "memory writes"}
    assert moved[0]["memory writes"] > moved[1]["memory writes"]  # MOESI keeps dirty lines in O
    assert moved[0] != moved[1]


def test_data_movement_panel_draws_each_runs_counts(tmp_path):
    prog = coherence.load_program("examples/false_sharing.s")
    runs = {p.upper(): coherence.run(prog, coherence.SystemConfig(cores=prog.cores, protocol=p,
                                                                  stats="full"))
            for p in ("msi", "moesi")}
    fig = plot.plot_data_movement(runs)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Flush", "cache-to-cache", "memory reads", "memory writes",
                      "invalidations"]
    heights = [p.get_height() for p in ax.patches]
    want = [plot.data_movement(r)[k] for r in runs.values() for k in labels]
    assert heights == want
    assert all(float(t).is_integer() for t in ax.get_yticks())
    check_png(plot.save_figure(fig, tmp_path / "moves.png"))


def test_cli_plot_scaling(tmp_path):
    out = tmp_path / "scaling.png"
    r = run_cli("plot", "scaling", "examples/spinlock_ttas.s", "--cores-list", "1,2,4",
                "--protocol", "moesi", "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()[1:4]
    assert [int(row.split()[0]) for row in rows] == [1, 2, 4]
    assert all(row.endswith("halted") for row in rows)
    check_png(out, size=(700, 420))
    # --work: throughput as the counter's increments per 1,000 cycles (100 per core).
    r = run_cli("plot", "scaling", "examples/spinlock_ticket.s", "--cores-list", "1,2",
                "--work", "counter", "--out", str(out))
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.splitlines()[:3]
    assert "counter/kcyc" in head
    for row in rows:
        cores, cycles, _, work = row.split()[:4]
        assert float(work) == pytest.approx(1000 * 100 * int(cores) / int(cycles.replace(",", "")),
                                            abs=0.01)
    check_png(out, size=(700, 420))


@pytest.mark.parametrize("args, message", [
    (["compare", "examples/false_sharing.s", "--protocols", "msi,mosi"], "unknown protocol 'mosi'"),
    (["compare", "examples/false_sharing.s", "--protocols", "msi,,mesi"], "no empty items"),
    (["compare", "no/such.s"], "no/such.s"),
    (["compare", "examples/false_sharing.s", "--cores", "2"], "false_sharing.s:"),
    (["scaling", "examples/spinlock_ttas.s", "--cores-list", "1,x"], "'x' is not a number"),
    (["scaling", "examples/spinlock_ttas.s", "--cores-list", "0,2"], "out of range"),
    (["scaling", "examples/spinlock_ttas.s", "--cores-list", "1", "--model", "pso"], "model"),
    (["scaling", "examples/spinlock_ttas.s", "--cores-list", "1", "--work", "nope"],
     "--work nope: no such symbol"),
])
def test_cli_plot_bad_input_exits_2_with_one_line(tmp_path, args, message):
    out = tmp_path / "x.png"
    r = run_cli("plot", *args, "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("out, message", [("missing/dir/x.png", "no such directory"),
                                          ("x.notanimage", "unknown image format")])
def test_cli_unwritable_outputs_exit_2(tmp_path, out, message):
    for args in (["run", "examples/spinlock_ttas.s", "--cores", "1", "--plot"],
                 ["plot", "compare", "examples/spinlock_ttas.s", "--cores", "1", "--out"]):
        r = run_cli(*args, str(tmp_path / out))
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_cli_plot_needs_a_subcommand_and_an_output():
    r = run_cli("plot")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_cli("plot", "compare", "examples/false_sharing.s")
    assert r.returncode == 2 and "--out" in r.stderr


def test_message_sequence_chart_of_one_line(tmp_path):
    r = coherence.run(coherence.assemble(_PROGRAM), SystemConfig(cores=3, protocol="moesi"),
                      watch=["x"])
    log = r.transactions["x"]
    assert log and all(a in ("BusRd", "BusRdX", "BusUpgr", "WriteBack") for _, _, a, _, _ in log)
    t, core, action, source, until = log[0]
    assert (t, action, source) == (1, "BusRdX", "memory") and until > t
    assert sum(r.stats["bus"][a] for a in ("BusRd", "BusRdX", "BusUpgr")) >= len(log)
    fig = plot.plot_message_sequence(r, "x", max_transactions=10)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["core 0", "core 1", "core 2",
                                                            "memory"]
    arrows = [a for a in ax.texts if a.get_text() == ""]   # annotations draw the arrows
    assert len(arrows) == 10   # one per transaction: data, acknowledgement or write-back
    assert ax.get_ylim()[0] > ax.get_ylim()[1]   # time runs down
    check_png(plot.save_figure(fig, tmp_path / "msc.png"))
    with pytest.raises(CoherenceError, match="no transaction log"):
        plot.plot_message_sequence(runs_without_watch())
    with pytest.raises(CoherenceError, match="'y' was not watched"):
        plot.plot_message_sequence(r, "y")


def runs_without_watch():
    return coherence.run(coherence.assemble(_PROGRAM), SystemConfig(cores=3))


def test_cli_plot_sequence(tmp_path):
    out = tmp_path / "seq.png"
    r = run_cli("plot", "sequence", "examples/producer_consumer.s", "--symbol", "flag",
                "--protocol", "dragon", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "transactions" in r.stdout and out.exists()
    check_png(str(out))
    r = run_cli("plot", "sequence", "examples/producer_consumer.s", "--symbol", "flag",
                "--max", "0", "--out", str(out))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--max" in r.stderr
