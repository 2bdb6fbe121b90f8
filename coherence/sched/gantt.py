"""Gantt chart of a simulated schedule: the scheduler's names for it.

The chart is drawn by :func:`coherence.plot.plot_gantt`, since every matplotlib call of the
package lives in :mod:`coherence.plot`; that module reads a
:class:`~coherence.sched.simulator.SimResult` through its fields (``timeline_status`` codes
named by ``status_names``) and imports nothing from here, so the dependency runs one way.
One row per thread: coloured bars while it runs, grey while ready but not scheduled, red
hatched while blocked, light blue while asleep; each finding is a dashed vertical line at its
tick.  A chart of N threads is ``1000 x (150 + 50 N)`` pixels (:func:`figure_size`).
"""

from __future__ import annotations

from ..plot import GANTT_DPI as DPI
from ..plot import gantt_figure_size as figure_size
from ..plot import plot_gantt

__all__ = ["DPI", "figure_size", "plot_gantt"]
