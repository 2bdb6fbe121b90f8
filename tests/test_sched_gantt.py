"""The Gantt chart: a real PNG of the documented size with the schedule drawn in it."""

import os
import subprocess
import sys

import numpy as np
import pytest

from coherence.sched import check, load, plot_gantt, simulate
from coherence.sched.gantt import figure_size

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "examples", "sched")


def read_png(path):
    import matplotlib.image as mpimg
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(path)


def colours(img):
    return len(np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0))


def test_plot_report_writes_png_of_expected_size(tmp_path):
    rep = check(load(os.path.join(CORPUS, "philosophers5.toml")))
    out = tmp_path / "g.png"
    fig = plot_gantt(rep, path=str(out))
    img = read_png(out)
    w, h = figure_size(5)
    assert img.shape[:2] == (h, w)
    assert colours(img) > 5
    texts = [t.get_text().strip() for t in fig.axes[0].texts]
    assert "deadlock" in texts  # the finding is marked


def test_plot_into_given_axes_without_saving():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    sim = simulate(load(os.path.join(CORPUS, "pathfinder.toml")))
    assert plot_gantt(sim, ax=ax) is fig
    assert len(ax.collections) > 3  # bars were drawn
    plt.close(fig)


def test_running_bars_sit_where_the_timeline_says():
    sim = simulate(load(os.path.join(CORPUS, "priority_starvation.toml")))
    ax = plot_gantt(sim).axes[0]
    spans = []
    for c in ax.collections:
        for p in c.get_paths():
            ys = p.vertices[:, 1]
            spans.append((round(ys.min(), 2), round(ys.max(), 2)))
    # rows: High at y = 1, Low at y = 0; running bars are 0.8 high, ready bars 0.3
    assert (0.6, 1.4) in spans            # High runs
    assert (-0.4, 0.4) not in spans       # Low never runs
    assert (-0.15, 0.15) in spans         # Low is ready (starved)


def test_cli_plot(tmp_path):
    out = tmp_path / "chart.png"
    proc = subprocess.run([sys.executable, "-m", "coherence", "sched",
                           os.path.join(CORPUS, "pathfinder.toml"), "--plot", str(out), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert f"wrote {out}\n" in proc.stdout
    img = read_png(out)
    w, h = figure_size(3)
    assert img.shape[:2] == (h, w) and colours(img) > 5


def test_replay_report_cannot_be_plotted():
    rep = check(load(os.path.join(CORPUS, "abba.toml")), replay="T1")
    with pytest.raises(ValueError):
        plot_gantt(rep)


def test_labels_never_overlap_and_names_are_not_clipped(tmp_path):
    long = "a_worker_thread_with_a_long_name"
    text = open(os.path.join(CORPUS, "abba.toml")).read().replace('"T1"', f'"{long}"')
    f = tmp_path / "abba_long.toml"
    f.write_text(text)
    rep = check(load(str(f)))
    assert len(rep.findings) >= 2
    fig = plot_gantt(rep, path=str(tmp_path / "g.png"))
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    fig_box = fig.bbox
    labels = [t for t in ax.texts if t.get_text().strip() in {x.kind for x in rep.findings}]
    assert len(labels) == len(rep.findings)
    boxes = [t.get_window_extent(r) for t in labels] + \
        [fig.legends[0].get_window_extent(r), ax.title.get_window_extent(r),
         ax.xaxis.label.get_window_extent(r)]
    for i, a in enumerate(boxes):
        assert fig_box.x0 <= a.x0 and a.x1 <= fig_box.x1 and fig_box.y0 <= a.y0 <= a.y1 <= fig_box.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    names = [t for t in ax.get_yticklabels() if t.get_text()]
    assert {t.get_text() for t in names} == {long, "T2"}
    for t in names:  # inside the figure: not clipped
        box = t.get_window_extent(r)
        assert box.x0 >= fig_box.x0 and box.x1 <= ax.get_window_extent(r).x0
    ticks = ax.get_xticks()
    assert len(ticks) >= 2 and all(float(x).is_integer() for x in ticks)
