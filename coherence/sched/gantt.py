"""Gantt chart of a simulated schedule (matplotlib imported lazily, Agg backend).

One row per thread: coloured bars while it runs (the CPU number is written on long bars),
grey while ready but not scheduled, red hatched while blocked, light blue while asleep.  Each
finding is marked by a dashed vertical line at its tick with its kind.  The figure is
``10 x (1.5 + 0.5 * threads)`` inches at 100 dpi, so a chart of N threads is
``1000 x (150 + 50 N)`` pixels (:func:`figure_size`).
"""

from __future__ import annotations

import numpy as np

from . import simkernel as K

DPI = 100


def figure_size(n_threads: int) -> tuple:
    """(width, height) in pixels of the chart for ``n_threads`` threads."""
    return 1000, int(round(DPI * (1.5 + 0.5 * n_threads)))


def _runs(values: np.ndarray):
    """(start, length, value) of the maximal runs of equal values."""
    if not len(values):
        return []
    change = np.nonzero(np.diff(values))[0] + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(values)]))
    return [(int(s), int(e - s), values[s]) for s, e in zip(starts, ends)]


def plot_gantt(result, ax=None, path=None):
    """Draw the schedule of ``result`` (a SimResult, or a Report with a simulation).

    ``ax``: draw into these axes (else a new figure); ``path``: write a PNG there.
    Returns the matplotlib Figure.  Never calls ``plt.show()``.
    """
    from matplotlib.patches import Patch

    from ..plot import _pyplot  # the one place that picks the backend
    plt = _pyplot()

    findings = []
    sim = result
    if hasattr(result, "simulation"):
        findings = result.findings
        sim = result.simulation
    if sim is None:
        raise ValueError("no simulation to plot (a replay report has none)")
    names = sim.thread_names
    n = len(names)
    if ax is None:
        w, h = figure_size(n)
        fig = plt.figure(figsize=(w / DPI, h / DPI), dpi=DPI)
        ax = fig.add_axes([0.1, 0.22 if n < 4 else 0.15, 0.87, 0.62 if n < 4 else 0.72])
    else:
        fig = ax.figure
    cmap = plt.get_cmap("tab10")
    status = sim.timeline_status
    cpu_of = np.full(status.shape, -1, np.int16)
    for c in range(sim.timeline_run.shape[1]):
        col = sim.timeline_run[:, c]
        ticks = np.nonzero(col >= 0)[0]
        cpu_of[ticks, col[ticks]] = c
    for t in range(n):
        y = n - 1 - t
        for start, length, s in _runs(status[:, t]):
            if s == K.TS_RUNNING:
                ax.broken_barh([(start, length)], (y - 0.4, 0.8), facecolors=cmap(t % 10))
                if length >= max(3, len(status) // 40) and sim.timeline_run.shape[1] > 1:
                    ax.text(start + length / 2, y, f"cpu{cpu_of[start, t]}", ha="center",
                            va="center", fontsize=7, color="white")
            elif s == K.TS_READY:
                ax.broken_barh([(start, length)], (y - 0.15, 0.3), facecolors="#c8c8c8")
            elif s == K.TS_BLOCKED:
                ax.broken_barh([(start, length)], (y - 0.3, 0.6), facecolors="#f4b6b6",
                               edgecolors="#c0392b", hatch="///", linewidth=0.5)
            elif s == K.TS_SLEEPING:
                ax.broken_barh([(start, length)], (y - 0.15, 0.3), facecolors="#aed6f1")
    end = max(sim.ticks, 1)
    for i, f in enumerate(findings):
        tick = f.tick if f.tick is not None else end
        tick = min(max(tick, 0), end)
        ax.axvline(tick, color="#8e44ad", linestyle="--", linewidth=1.2)
        right = tick > 0.7 * end
        ax.annotate(f" {f.kind} " if not right else f"{f.kind} ", xy=(tick, 0.97 - 0.08 * i),
                    xycoords=("data", "axes fraction"), color="#8e44ad", fontsize=8,
                    va="top", ha="right" if right else "left")
        for name in f.threads:
            if name in names and f.kind in ("deadlock", "lost-wakeup", "stuck"):
                ax.plot([end], [n - 1 - names.index(name)], marker="X", color="#c0392b",
                        markersize=9)
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(names)))
    # Headroom above the threads: a row per finding marker, then the legend.
    ax.set_ylim(-0.7, n - 0.3 + 0.25 * (1 + len(findings)) + 0.6)
    ax.set_xlim(0, end * 1.02 + 0.5)
    ax.set_xlabel("tick")
    title = f"{sim.program.scenario.name}: {sim.policy}, seed {sim.seed}, {sim.ticks} ticks, {sim.end}"
    ax.set_title(title, fontsize=10)
    ax.legend(handles=[Patch(facecolor=cmap(0), label="running"),
                       Patch(facecolor="#c8c8c8", label="ready"),
                       Patch(facecolor="#f4b6b6", edgecolor="#c0392b", hatch="///",
                             label="blocked"),
                       Patch(facecolor="#aed6f1", label="sleeping")],
              loc="upper right", ncol=4, fontsize=8, frameon=False)
    if path is not None:
        fig.savefig(path, dpi=DPI)
    return fig
