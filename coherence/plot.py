"""Plots of runs, comparisons, litmus histograms and scaling (the package's matplotlib layer).

Every matplotlib call of the emulator lives here, the scheduler's Gantt chart too
(:func:`plot_gantt`, which ``coherence.sched`` re-exports).  Conventions:

* matplotlib is imported lazily, inside the functions, so ``import coherence`` stays fast;
  with no display (no ``$DISPLAY``/``$WAYLAND_DISPLAY`` on Linux) and no backend chosen by
  the user (``MPLBACKEND``, or pyplot already imported, as in Jupyter) the Agg backend is used.
* Every ``plot_*`` function takes an optional ``ax`` to draw into (else it makes a new figure)
  and returns the :class:`matplotlib.figure.Figure`; none calls ``plt.show()``.
* Results may be :class:`~coherence.stats.RunResult` objects or their ``to_dict()`` (e.g.
  loaded from ``coherence run --json``).  A set of runs is a mapping ``label -> result``, a
  list of ``(label, result)`` pairs, or a list of results (labelled by their protocol).
* Colours are fixed: one per bus transaction type (:data:`BUS_COLORS`) and one per cache-line
  state (:data:`STATE_COLORS`), so the same thing has the same colour in every figure.

See docs/plots.md for examples and the figures each function draws.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping

from .errors import CoherenceError

__all__ = ["plot_message_flow", "interconnect_scaling", "plot_interconnect_scaling", "plot_bus_transactions", "plot_traffic", "rebin_timeline", "plot_line_states",
           "plot_message_sequence",
           "plot_core_stats", "plot_litmus_histogram", "format_litmus_state", "litmus_outcomes",
           "save_litmus_figure", "plot_gantt", "gantt_figure_size", "scaling_data",
           "plot_scaling", "plot_scaling_comparison", "run_scaling", "save_run_figure",
           "plot_sweep", "save_figure", "plot_data_movement", "data_movement", "BUS_COLORS",
           "STATE_COLORS", "TRANSACTION_TYPES", "RUN_FIGURE_SIZE"]

# The bus transactions of a run: the three requests and the victims' write-backs (Flush and
# c2c transfers are data responses to those requests, not transactions of their own).
TRANSACTION_TYPES = ("BusRd", "BusRdX", "BusUpgr", "BusUpd", "WriteBack")

BUS_COLORS = {
    "BusRd": "#4C72B0", "BusRdX": "#DD8452", "BusUpgr": "#55A868", "BusUpd": "#17BECF",
    "WriteBack": "#C44E52",
    "Flush": "#8172B3", "c2c_transfers": "#937860", "invalidations": "#DA8BC3",
}

# A state's colour says what it means (coherence.protocols.State), so any protocol's states
# get one: dirty and writable red (M), dirty and read-only orange (O), clean writable purple
# (E), clean read-only green (S), no permission light grey (I).
_MEANING_COLORS = {("read-write", True): "#d62728", ("read", True): "#ff7f0e",
                   ("read-write", False): "#9467bd", ("read", False): "#2ca02c",
                   ("none", False): "#e8e8e8", ("none", True): "#8c564b"}


def state_color(meaning) -> str:
    """The colour of a state with this meaning (a :class:`~coherence.protocols.State`)."""
    return _MEANING_COLORS[(meaning.permission, bool(meaning.dirty))]


def _standard_states():
    from .protocols.table import STANDARD_STATES
    return STANDARD_STATES


STATE_COLORS = {n: state_color(m) for n, m in _standard_states().items()}
# Legend order: dirty states first, then by permission (M, O, E, S, I).
_PERMISSION_RANK = {"read-write": 0, "read": 1, "none": 2}

_CORE_COLORS = {"hits": "#55A868", "misses": "#C44E52", "stall_cycles": "#8C8C8C"}
_LITMUS_COLORS = {True: "#DD8452", False: "#4C72B0"}


# ----------------------------------------------------------------------------- matplotlib

def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _pyplot():
    """pyplot, imported on first use; Agg when nothing else is chosen and there is no display.

    The backend is left alone when the user chose one (``MPLBACKEND``, set by Jupyter's
    kernel too) or pyplot is already imported, so notebooks keep their inline figures.
    """
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib
        if not os.environ.get("MPLBACKEND") and not _has_display():
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _figure_ax(ax, figsize):
    """(figure, axes): the given axes' figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def save_figure(fig, path, dpi: int = 100) -> str:
    """Write ``fig`` to ``path`` (format from the extension, PNG when there is none), close
    it, and return the path.  A path that cannot be written, or an unknown extension, raises
    :class:`~coherence.errors.CoherenceError` (one line, for the CLI) instead of a traceback.
    """
    try:
        return write_figure(fig, path, dpi)
    finally:
        _pyplot().close(fig)


def write_figure(fig, path, dpi: int = 100) -> str:
    """:func:`save_figure` without closing the figure (for functions that return it)."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if ext and ext not in supported:
        raise CoherenceError(f"cannot write {path}: unknown image format '.{ext}', expected "
                             f"one of {', '.join('.' + e for e in sorted(supported))}")
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise CoherenceError(f"cannot write {path}: no such directory {directory!r}")
    try:
        fig.savefig(path, dpi=dpi)
    except OSError as exc:
        raise CoherenceError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# ----------------------------------------------------------------------------- inputs

def _get(result, key):
    """A field of a RunResult or of its ``to_dict()``."""
    if isinstance(result, Mapping):
        if key not in result:
            raise CoherenceError(f"expected a RunResult or its to_dict(), got a dict without "
                                 f"{key!r}")
        return result[key]
    try:
        return getattr(result, key)
    except AttributeError:
        raise CoherenceError(f"expected a RunResult or its to_dict(), got "
                             f"{type(result).__name__}") from None


def _label_of(result) -> str:
    cfg = _get(result, "config")
    return str(cfg.get("protocol", "?")).upper()


def _runs(runs) -> list[tuple[str, object]]:
    """Normalise a set of runs to a list of (label, result)."""
    if isinstance(runs, Mapping) and "stats" not in runs:
        pairs = [(str(k), v) for k, v in runs.items()]
    elif isinstance(runs, (list, tuple)):
        pairs = []
        for r in runs:
            if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str):
                pairs.append(r)
            else:
                pairs.append((_label_of(r), r))
    else:   # a single run
        pairs = [(_label_of(runs), runs)]
    if not pairs:
        raise CoherenceError("no runs to plot, expected at least one RunResult")
    return pairs


# ----------------------------------------------------------------------------- bus totals

def _issued(protocol_name, bus) -> set:
    """The transactions a run's protocol issues (from its table; a user's protocol known only
    by name: the counters that are not 0)."""
    from .protocols import get_protocol
    try:
        return set(get_protocol(protocol_name).bus_actions)
    except CoherenceError:
        return {t for t in TRANSACTION_TYPES if bus.get(t, 0) > 0}


def plot_bus_transactions(runs, ax=None, types=None, title=None):
    """Bus transactions by type, one stacked bar per run, side by side.

    ``runs``: a mapping ``label -> RunResult`` (e.g. ``{"MSI": r1, "MESI": r2, "MOESI": r3}``
    for one program under three protocols), a list of ``(label, result)`` or of results.
    ``types``: which counters of ``result.stats["bus"]`` to stack (default the transactions
    of :data:`TRANSACTION_TYPES` that any of the runs' protocols issues, and WriteBack; any
    bus counter name works, e.g. "Flush").  Each bar is labelled with its total.  Returns the
    figure.
    """
    pairs = _runs(runs)
    buses = [_get(r, "stats")["bus"] for _, r in pairs]
    if types is None:
        issued = set()
        for (_, r), bus in zip(pairs, buses):
            issued |= _issued(_get(r, "config")["protocol"], bus)
        types = [t for t in TRANSACTION_TYPES if t in issued or t == "WriteBack"]
    types = list(types)
    for label_bus in zip(pairs, buses):
        (label, _), bus = label_bus
        missing = [t for t in types if t not in bus]
        if missing:
            raise CoherenceError(f"run {label!r} has no bus counter {missing[0]!r}, expected "
                                 f"one of {', '.join(bus)}")
    fig, ax = _figure_ax(ax, (max(4.0, 1.3 * len(pairs) + 2.5), 4.5))
    x = list(range(len(pairs)))
    bottom = [0] * len(pairs)
    for t in types:
        vals = [bus.get(t, 0) for bus in buses]
        ax.bar(x, vals, bottom=bottom, width=0.6, label=t,
               color=BUS_COLORS.get(t), edgecolor="white", linewidth=0.5)
        bottom = [b + v for b, v in zip(bottom, vals)]
    top = max(bottom) if any(bottom) else 1
    for xi, total in zip(x, bottom):
        ax.text(xi, total + 0.01 * top, f"{total:,}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [label for label, _ in pairs])
    ax.set_ylim(0, top * 1.12)
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("bus transactions")
    ax.set_xlabel("run")
    ax.set_title(title or "Bus transactions by type")
    # Reverse the legend so it reads top-down in the same order as the stack.
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=8, title="type")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


#: What plot_data_movement draws: (label, where in a result's stats, key).
DATA_MOVEMENT = (("Flush", "bus", "Flush"), ("cache-to-cache", "bus", "c2c_transfers"),
                 ("memory reads", "memory", "reads"), ("memory writes", "memory", "writes"),
                 ("invalidations", "bus", "invalidations"))


def data_movement(result) -> dict:
    """``{label: count}`` of :data:`DATA_MOVEMENT` for one run (the memory counters need
    ``SystemConfig(stats="full")``; without them they are left out)."""
    st = _get(result, "stats")
    out = {}
    for label, part, key in DATA_MOVEMENT:
        if part in st and key in st[part]:
            out[label] = int(st[part][key])
    return out


def plot_data_movement(runs, ax=None, title=None):
    """Where the data went, one group of bars per kind, one bar per run: lines flushed by a
    snooping cache, cache-to-cache transfers, lines read from and written to memory, and
    invalidations: the counts in which protocols differ even when their bus transactions
    are the same (MSI writes a line back on every M -> S downgrade, MOESI keeps it in O).
    Memory reads and writes need ``stats="full"`` runs.  Returns the figure."""
    from matplotlib.ticker import MaxNLocator
    pairs = _runs(runs)
    moves = [data_movement(r) for _, r in pairs]
    kinds = [label for label, _, _ in DATA_MOVEMENT if all(label in m for m in moves)]
    fig, ax = _figure_ax(ax, (max(5.0, 1.2 * len(kinds) + 2.5), 4.5))
    width = 0.8 / max(len(pairs), 1)
    cmap = _pyplot().get_cmap("tab10")
    top = max([m[k] for m in moves for k in kinds] + [1])
    for j, ((label, _), m) in enumerate(zip(pairs, moves)):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(kinds))]
        vals = [m[k] for k in kinds]
        ax.bar(xs, vals, width=width * 0.95, label=label, color=cmap(j % 10))
        for x, v in zip(xs, vals):
            ax.text(x, v + 0.01 * top, f"{v:,}", ha="center", va="bottom", fontsize=7,
                    rotation=90 if len(pairs) > 2 else 0)
    ax.set_xticks(range(len(kinds)), kinds, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, top * 1.2)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("lines (invalidations: copies)")
    ax.set_title(title or "Data movement")
    ax.legend(fontsize=8, title="run", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


# ----------------------------------------------------------------------------- traffic

def rebin_timeline(timeline, bins: int = 60, factor: int | None = None):
    """Merge a run's timeline windows so that there are at most ``bins`` of them.

    ``timeline`` is ``result.timeline`` (``{"window": W, "types": [...], "counts": rows}``).
    Consecutive windows are summed in groups of ``factor`` (default: the smallest factor
    giving at most ``bins`` groups).  Returns ``(edges, counts, types)``: ``edges`` holds the
    ``n+1`` cycle boundaries, ``counts`` is an ``n x len(types)`` numpy array of transactions
    per merged window.
    """
    import numpy as np
    if not timeline:
        raise CoherenceError("the run has no traffic timeline; run it with "
                             "SystemConfig(timeline_window=W) (the CLI's --timeline W)")
    window = int(timeline["window"])
    counts = np.asarray(timeline["counts"], dtype=np.int64).reshape(-1, len(timeline["types"]))
    if bins < 1:
        raise CoherenceError(f"bins must be >= 1, got {bins}")
    n = max(len(counts), 1)
    k = int(factor) if factor else max(1, math.ceil(n / bins))
    groups = math.ceil(n / k)
    padded = np.zeros((groups * k, counts.shape[1]), dtype=np.int64)
    padded[:len(counts)] = counts
    merged = padded.reshape(groups, k, counts.shape[1]).sum(axis=1)
    edges = np.arange(groups + 1, dtype=np.int64) * (k * window)
    return edges, merged, list(timeline["types"])


def _factor(timeline, cycles_per_bar):
    """How many timeline windows make a bar of ``cycles_per_bar`` cycles (None: not fixed)."""
    if cycles_per_bar is None:
        return None
    if cycles_per_bar < 1:
        raise CoherenceError(f"cycles_per_bar must be >= 1, got {cycles_per_bar}")
    return max(1, round(cycles_per_bar / int(timeline["window"])))


def plot_traffic(result, ax=None, bins: int = 60, types=None, title=None,
                 cycles_per_bar: int | None = None):
    """Bus traffic over time: transactions per window, stacked by type.

    ``result`` is a run recorded with ``SystemConfig(timeline_window=W)`` (or its
    ``timeline`` dict).  The windows are merged (:func:`rebin_timeline`) to at most ``bins``
    bars so a long run stays readable; the y axis says how many cycles one bar covers.
    ``types`` selects timeline columns (default all: BusRd, BusRdX, BusUpgr, WriteBack).
    ``cycles_per_bar`` fixes the width of a bar instead (rounded to whole timeline windows),
    so that plots of runs of different lengths use the same scale.

    Given several runs (a mapping ``label -> result`` or a list, as for
    :func:`plot_bus_transactions`), draws one line per run with its total transactions per
    window, on a common grid, to compare e.g. protocols on the same program.
    Returns the figure.
    """
    import numpy as np
    single = (isinstance(result, Mapping) and ("counts" in result or "stats" in result)) or \
        hasattr(result, "timeline")
    if single:
        tl = result if isinstance(result, Mapping) and "counts" in result else \
            _get(result, "timeline")
        edges, counts, all_types = rebin_timeline(tl, bins, _factor(tl, cycles_per_bar))
        sel = list(types) if types is not None else all_types
        unknown = [t for t in sel if t not in all_types]
        if unknown:
            raise CoherenceError(f"no timeline column {unknown[0]!r}, expected one of "
                                 f"{', '.join(all_types)}")
        fig, ax = _figure_ax(ax, (9, 4))
        width = edges[1] - edges[0]
        bottom = np.zeros(len(counts), dtype=np.int64)
        for t in sel:
            vals = counts[:, all_types.index(t)]
            ax.bar(edges[:-1], vals, bottom=bottom, width=width, align="edge", label=t,
                   color=BUS_COLORS.get(t), edgecolor="white", linewidth=0.3)
            bottom += vals
        ax.set_ylabel(f"transactions per {int(width):,} cycles")
        ax.legend(loc="upper right", fontsize=8, ncols=len(sel))
        ax.set_ylim(0, max(int(bottom.max()), 1) * 1.2)   # head-room for the legend
        ax.set_title(title or "Bus traffic over time")
    else:
        pairs = _runs(result)
        tls = []
        for label, r in pairs:
            tl = _get(r, "timeline")
            if not tl:
                raise CoherenceError(f"run {label!r} has no traffic timeline; run it with "
                                     f"SystemConfig(timeline_window=W)")
            tls.append(tl)
        windows = {int(tl["window"]) for tl in tls}
        if len(windows) != 1:
            raise CoherenceError(f"the runs have different timeline windows "
                                 f"{sorted(windows)}, expected one window for a comparison")
        longest = max(len(tl["counts"]) for tl in tls)
        k = _factor(tls[0], cycles_per_bar) or max(1, math.ceil(longest / bins))
        fig, ax = _figure_ax(ax, (9, 4))
        width = 0
        for i, ((label, _), tl) in enumerate(zip(pairs, tls)):
            edges, counts, all_types = rebin_timeline(tl, factor=k)
            sel = list(types) if types is not None else all_types
            total = counts[:, [all_types.index(t) for t in sel]].sum(axis=1)
            # Runs can coincide (MSI and MESI often do): vary the dash and draw later runs
            # thinner so that every line stays visible on top of the others.
            ax.stairs(total, edges, label=label, color=f"C{i}",
                      linestyle=("-", "--", ":", "-.")[i % 4],
                      linewidth=max(3.2 - 0.7 * i, 1.2))
            width = edges[1] - edges[0]
        ax.set_ylabel(f"transactions per {int(width):,} cycles")
        ax.legend(loc="upper right", fontsize=8, title="run")
        ax.set_ylim(bottom=0)
        ax.set_title(title or "Bus traffic over time (all transaction types)")
    ax.set_xlabel("cycle")
    ax.set_xlim(left=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


# ----------------------------------------------------------------------------- line states

def _segments(changes, core, start, end):
    """[(t0, duration, state)] of one core's line from its change log, clipped to the range."""
    state, t = "I", 0       # every line starts Invalid (docs/machine.md)
    segs = []
    for tc, c, s in changes:
        if c != core:
            continue
        if tc > t:
            segs.append((t, tc, state))
        state, t = s, max(t, tc)
    segs.append((t, max(end, t), state))
    out = []
    for a, b, s in segs:
        a, b = max(a, start), min(b, end)
        if b > a:
            out.append((a, b - a, s))
    return out


def plot_line_states(result, symbols=None, ax=None, cores=None, start: int = 0,
                     end: int | None = None, title=None):
    """Each core's state of chosen cache lines over time (one fixed colour per state).

    ``result`` must come from ``coherence.run(..., watch=[symbols])``; ``symbols`` picks
    some of the watched symbols (default all), ``cores`` some cores (default all), and
    ``start``/``end`` a range of cycles (default the whole run) to zoom into a long run.
    One row per (symbol, core); the legend names every state of the protocol.
    Returns the figure.
    """
    from matplotlib.patches import Patch
    log = _get(result, "line_states") if not isinstance(result, Mapping) else \
        result.get("line_states")
    if not log:
        raise CoherenceError("the run has no line-state log; run it with "
                             "coherence.run(program, config, watch=['symbol', ...])")
    names = list(log) if symbols is None else ([symbols] if isinstance(symbols, str)
                                               else list(symbols))
    for n in names:
        if n not in log:
            raise CoherenceError(f"symbol {n!r} was not watched, expected one of "
                                 f"{', '.join(log)}")
    cfg = _get(result, "config")
    ncores = int(cfg["cores"])
    core_list = list(range(ncores)) if cores is None else list(cores)
    bad = [c for c in core_list if not 0 <= c < ncores]
    if bad:
        raise CoherenceError(f"core {bad[0]} is not in the run, expected 0..{ncores - 1}")
    cycles = int(_get(result, "cycles"))
    end = cycles if end is None else int(end)
    if end <= start:
        raise CoherenceError(f"empty cycle range {start}..{end}, expected start < end")

    rows = [(n, c) for n in names for c in core_list]
    fig, ax = _figure_ax(ax, (10, 1.2 + 0.32 * len(rows)))
    try:
        from .protocols import get_protocol
        meanings = dict(get_protocol(cfg["protocol"]).meanings)
        declared = set(meanings)
    except CoherenceError:      # a user's protocol known only by name: show what occurred
        meanings = dict(_standard_states())
        declared = set()
    seen = {"I"}
    for i, (name, core) in enumerate(rows):
        y = len(rows) - 1 - i        # first row at the top
        segs = _segments(log[name], core, start, end)
        seen.update(s for _, _, s in segs)
        ax.broken_barh([(a, d) for a, d, _ in segs], (y - 0.4, 0.8),
                       facecolors=[state_color(meanings[s]) if s in meanings else "black"
                                   for _, _, s in segs],
                       edgecolor="none")
    for j in range(1, len(names)):   # a line between the symbols' groups
        ax.axhline(len(rows) - j * len(core_list) - 0.5, color="black", linewidth=0.8)
    ax.set_yticks([len(rows) - 1 - i for i in range(len(rows))],
                  [f"{n}  core {c}" for n, c in rows], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(start, end)
    ax.set_xlabel("cycle")
    ax.set_ylabel("symbol / core")
    shown = [s for s in meanings if s in declared | seen]
    shown.sort(key=lambda s: (not meanings[s].dirty, _PERMISSION_RANK[meanings[s].permission]))
    ax.legend(handles=[Patch(facecolor=state_color(meanings[s]), edgecolor="grey",
                             label=_state_label(meanings[s])) for s in shown],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="state")
    note = " (log truncated)" if getattr(result, "line_states_truncated", False) else ""
    ax.set_title(title or f"Cache-line states over time, {str(cfg['protocol']).upper()}{note}")
    return fig


def plot_message_sequence(result, symbol=None, ax=None, start: int = 0, end: int | None = None,
                          max_transactions: int = 40, title=None):
    """A message-sequence chart of one watched line's bus transactions over time.

    One lane per core and one for memory, time running down.  Each transaction is drawn at
    its cycle as a request from its core broadcast on the bus (a dashed line across the
    lanes, labelled with the bus action), and at its completion as the data arriving from
    where it came (an arrow from the supplying core's lane or memory's; an address-only
    transaction gets a dotted acknowledgement); a victim's write-back is an arrow to memory.
    Each core's state changes are written on its lane.  ``result`` must come from
    ``coherence.run(..., watch=[symbol])``; ``start``/``end`` pick a range of cycles, and at
    most ``max_transactions`` transactions from ``start`` are drawn.  Returns the figure.
    """
    log = result.get("transactions") if isinstance(result, Mapping) else \
        getattr(result, "transactions", None)
    states = result.get("line_states") if isinstance(result, Mapping) else \
        getattr(result, "line_states", None)
    if not log:
        raise CoherenceError("the run has no transaction log; run it with "
                             "coherence.run(program, config, watch=['symbol', ...])")
    symbol = next(iter(log)) if symbol is None else symbol
    if symbol not in log:
        raise CoherenceError(f"symbol {symbol!r} was not watched, expected one of "
                             f"{', '.join(log)}")
    cfg = _get(result, "config")
    ncores = int(cfg["cores"])
    end = int(_get(result, "cycles")) if end is None else int(end)
    if end <= start:
        raise CoherenceError(f"empty cycle range {start}..{end}, expected start < end")
    shown = [x for x in log[symbol] if start <= x[0] < end][:max_transactions]
    if shown:
        end = min(end, max(max(x[4] for x in shown), shown[-1][0]) + 1)
    lanes = list(range(ncores)) + ["memory"]
    x_of = {lane: i for i, lane in enumerate(lanes)}
    fig, ax = _figure_ax(ax, (1.6 * len(lanes) + 2.5, 0.32 * len(shown) + 3))
    for i, lane in enumerate(lanes):
        ax.axvline(i, color="#bbbbbb", linewidth=1, zorder=0)
    for t, core, action, source, until in shown:
        xc = x_of[core]
        color = BUS_COLORS.get(action, "black")
        if action == "WriteBack":
            ax.annotate("", xy=(x_of["memory"], until), xytext=(xc, t),
                        arrowprops=dict(arrowstyle="->", color=color, linewidth=1.2))
            ax.text((xc + x_of["memory"]) / 2, t, "WB", fontsize=7, color=color,
                    ha="center", va="bottom")
            continue
        ax.plot([-0.3, len(lanes) - 0.7], [t, t], linestyle="--", color=color, linewidth=0.8)
        ax.plot([xc], [t], marker="o", color=color, markersize=5)
        ax.text(xc - 0.08, t, f"{action}", fontsize=7, color=color, ha="right", va="bottom")
        if source is None:
            ax.annotate("", xy=(xc, until), xytext=(xc + 0.35, t),
                        arrowprops=dict(arrowstyle="->", color=color, linestyle=":"))
        else:
            ax.annotate("", xy=(xc, until), xytext=(x_of[source], t),
                        arrowprops=dict(arrowstyle="->", color=color, linewidth=1.2))
            ax.text((xc + x_of[source]) / 2, (t + until) / 2, "data", fontsize=6,
                    color=color, ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    for t, core, st in (states or {}).get(symbol, []):
        if start <= t < end:
            ax.text(x_of[core] + 0.06, t, st, fontsize=7, ha="left", va="top",
                    color="#333333")
    ax.set_xticks(range(len(lanes)), [f"core {c}" for c in range(ncores)] + ["memory"])
    ax.xaxis.tick_top()
    ax.set_xlim(-0.9, len(lanes) - 0.4)
    ax.set_ylim(end, start)   # time runs down
    ax.set_ylabel("cycle")
    ax.set_title(title or f"Transactions on {symbol}'s line, {str(cfg['protocol']).upper()}"
                 + (f" (first {len(shown)})" if len(shown) == max_transactions else ""),
                 pad=24)
    return fig


def plot_message_flow(result, symbol=None, ax=None, start: int = 0, end: int | None = None,
                      max_messages: int = 40, title=None):
    """A message-sequence chart of one watched line on the split bus or the directory.

    Lanes: the cores' caches, then the homes (directory slices, or the split bus's memory)
    that the line's messages touch; time runs down.  Each message is an arrow from its
    sender's lane when it was sent to its receiver's lane when it arrived, labelled with its
    type (a message that waited in a stall list is drawn to its arrival, and the state
    changes on the lane say when it was handled); a bus request is a dot where its cache
    queued it and a dashed line across the lanes when the bus delivered it to everyone.
    States (stable and transient) are written on the lanes.  ``result`` comes from
    ``coherence.netref.run_net_reference(program, config, watch=[symbol])``; at most
    ``max_messages`` messages from ``start`` are drawn.  Returns the figure."""
    log = result.get("messages") if isinstance(result, Mapping) else \
        getattr(result, "messages", None)
    states = result.get("line_states") if isinstance(result, Mapping) else \
        getattr(result, "line_states", None)
    if not log:
        raise CoherenceError("the run has no message log; run it with "
                             "coherence.netref.run_net_reference(program, config, "
                             "watch=['symbol'])")
    symbol = next(iter(log)) if symbol is None else symbol
    if symbol not in log:
        raise CoherenceError(f"symbol {symbol!r} was not watched, expected one of "
                             f"{', '.join(log)}")
    cfg = _get(result, "config")
    ncores = int(cfg["cores"])
    end = int(_get(result, "cycles")) if end is None else int(end)
    if end <= start:
        raise CoherenceError(f"empty cycle range {start}..{end}, expected start < end")
    shown = [x for x in log[symbol] if start <= x[0] < end][:max_messages]
    if shown:
        end = min(end, max(x[1] for x in shown) + 1)
    others = sorted({lane for x in shown for lane in x[3:5]
                     if not lane.startswith("core") and lane != "bus"},
                    key=lambda n: (n != "memory", int(n.split()[1]) if " " in n else 0))
    lanes = [f"core {c}" for c in range(ncores)] + others
    x_of = {lane: i for i, lane in enumerate(lanes)}
    fig, ax = _figure_ax(ax, (1.5 * len(lanes) + 2.5, 0.34 * len(shown) + 3))
    for i in range(len(lanes)):
        ax.axvline(i, color="#bbbbbb", linewidth=1, zorder=0)
    colors = {}
    for sent, arrives, mtype, src, dst in shown:
        color = colors.setdefault(mtype, f"C{len(colors) % 10}")
        xs = x_of[src]
        if dst == "bus":
            ax.plot([xs], [sent], marker="o", color=color, markersize=5)
            ax.plot([-0.3, len(lanes) - 0.7], [arrives, arrives], linestyle="--", color=color,
                    linewidth=0.8)
            ax.text(xs - 0.08, arrives, f"{mtype} ({src})", fontsize=7, color=color,
                    ha="right", va="bottom")
            continue
        xd = x_of.get(dst, xs)
        ax.annotate("", xy=(xd, arrives), xytext=(xs, sent),
                    arrowprops=dict(arrowstyle="->", color=color, linewidth=1.2))
        ax.text((xs + xd) / 2, (sent + arrives) / 2, mtype, fontsize=6, color=color,
                ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    same = {}      # states a lane passed through in one cycle read "M → S"
    for t, lane, st in (states or {}).get(symbol, []):
        if start <= t < end and lane in x_of:
            same.setdefault((t, lane), []).append(st)
    for (t, lane), sts in same.items():
        ax.text(x_of[lane] + 0.06, t, " → ".join(sts), fontsize=7, ha="left", va="top",
                color="#333333")
    ax.set_xticks(range(len(lanes)), lanes)
    ax.xaxis.tick_top()
    ax.set_xlim(-0.9, len(lanes) - 0.4)
    ax.set_ylim(end, start)   # time runs down
    ax.set_ylabel("cycle")
    where = cfg.get("interconnect", "")
    ax.set_title(title or f"Messages on {symbol}'s line, {str(cfg['protocol']).upper()} "
                 f"on {where}" + (f" (first {len(shown)})" if len(shown) == max_messages
                                  else ""), pad=24)
    return fig


def _state_label(m) -> str:
    """'M (Modified)' from a state's description, else its meaning."""
    word = m.description.split(":")[0] if ":" in m.description else m.permission
    return f"{m.name} ({word})"


# ----------------------------------------------------------------------------- per core

def plot_core_stats(result, ax=None, title=None):
    """Per-core hits and misses (left axis, accesses) and stall cycles (right axis, cycles).

    Three bars per core; the stall cycles use a second y axis because they are cycles, not
    accesses, and are usually much larger.  Returns the figure.
    """
    import numpy as np
    cores = _get(result, "stats")["cores"]
    fig, ax = _figure_ax(ax, (max(5.0, 0.9 * len(cores) + 3), 4))
    x = np.arange(len(cores))
    w = 0.27
    hits = [c["hits"] for c in cores]
    misses = [c["misses"] for c in cores]
    stalls = [c["stall_cycles"] for c in cores]
    h1 = ax.bar(x - w, hits, width=w, label="hits", color=_CORE_COLORS["hits"])
    h2 = ax.bar(x, misses, width=w, label="misses", color=_CORE_COLORS["misses"])
    ax2 = ax.twinx()
    h3 = ax2.bar(x + w, stalls, width=w, label="stall cycles (right axis)",
                 color=_CORE_COLORS["stall_cycles"], hatch="//", edgecolor="white")
    ax.set_xticks(x, [str(i) for i in range(len(cores))])
    ax.set_xlabel("core")
    ax.set_ylabel("accesses (hits / misses)")
    ax2.set_ylabel("stall cycles")
    ax.set_ylim(0, max(max(hits + misses, default=0), 1) * 1.25)
    ax2.set_ylim(0, max(max(stalls, default=0), 1) * 1.25)
    ax.legend(handles=[h1, h2, h3], loc="upper left", fontsize=8, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title or "Per-core hits, misses and stall cycles")
    return fig


# ----------------------------------------------------------------------------- litmus

def format_litmus_state(state) -> str:
    """A final state as litmus7 writes it: ``0:EAX=1; 1:EAX=0; x=1;`` (in the given order)."""
    if isinstance(state, str):
        return state
    if not isinstance(state, Mapping):
        raise CoherenceError(f"a litmus state must be a dict of location -> value, got "
                             f"{type(state).__name__}")
    return " ".join(f"{k}={v};" for k, v in state.items())


def plot_litmus_histogram(outcomes, ax=None, title=None, log: bool = False):
    """Histogram of a litmus test's final states, litmus7-style, one horizontal bar each.

    ``outcomes`` is plain data, a list of ``{"state": {"0:EAX": 1, "x": 2}, "count": n,
    "satisfies": bool, "sc_forbidden": bool}`` (``state`` may also be a preformatted
    string; the two flags default to False).  Bars are coloured by whether the state
    satisfies the test's condition; states that sequential consistency forbids are hatched
    with a red edge and marked "SC-forbidden".  A count of 0 (an allowed state never
    observed) is shown as such.  ``log=True`` uses a log-scaled count axis.
    Returns the figure.
    """
    from matplotlib.patches import Patch
    if not isinstance(outcomes, (list, tuple)) or not outcomes:
        raise CoherenceError("expected a non-empty list of outcomes "
                             "{'state': {...}, 'count': n, 'satisfies': bool, "
                             "'sc_forbidden': bool}")
    rows = []
    for i, o in enumerate(outcomes):
        if not isinstance(o, Mapping) or "state" not in o or "count" not in o:
            raise CoherenceError(f"outcome {i} must be a dict with 'state' and 'count', "
                                 f"got {o!r}")
        count = o["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise CoherenceError(f"outcome {i}: count must be an integer >= 0, got {count!r}")
        rows.append((format_litmus_state(o["state"]), count, bool(o.get("satisfies", False)),
                     bool(o.get("sc_forbidden", False))))
    longest = max(len(r[0]) for r in rows)
    fig, ax = _figure_ax(ax, (min(6.5 + 0.09 * longest, 16), 1.6 + 0.42 * len(rows)))
    ys = list(range(len(rows)))[::-1]       # first outcome at the top
    top = max(r[1] for r in rows) or 1
    for y, (label, count, sat, forbidden) in zip(ys, rows):
        ax.barh(y, count, height=0.65, color=_LITMUS_COLORS[sat],
                hatch="///" if forbidden else None,
                edgecolor="#B00000" if forbidden else "white",
                linewidth=1.6 if forbidden else 0.5)
        text = f"{count:,}" + ("  (never seen)" if count == 0 else "") + \
            ("  SC-forbidden" if forbidden else "")
        ax.text(max(count, 1 if log else 0) * (1.05 if log else 1) + (0 if log else 0.01 * top),
                y, " " + text, va="center", fontsize=8,
                color="#B00000" if forbidden else "black")
    ax.set_yticks(ys, [r[0] for r in rows], fontsize=8, family="monospace")
    if log:
        ax.set_xscale("log")
        ax.set_xlim(0.8, top * 8)
    else:
        # Room on the right for the count and its "SC-forbidden" / "(never seen)" note.
        ax.set_xlim(0, top * (1.6 if any(r[3] for r in rows) else 1.35))
    ax.set_xlabel("count" + (" (log scale)" if log else ""))
    ax.set_ylabel("final state")
    # A legend entry per kind of bar actually drawn (a count of 0 draws no bar).
    handles = []
    visible = [r for r in rows if r[1] > 0]
    if any(r[2] for r in visible):
        handles.append(Patch(facecolor=_LITMUS_COLORS[True], label="satisfies the condition"))
    if any(not r[2] for r in visible):
        handles.append(Patch(facecolor=_LITMUS_COLORS[False], label="does not satisfy it"))
    if any(r[3] for r in rows):
        handles.append(Patch(facecolor="white", edgecolor="#B00000", hatch="///",
                             label="forbidden under SC"))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title or "Litmus outcomes")
    return fig


def _field(obj, name, default=None):
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def litmus_outcomes(campaign) -> list[dict]:
    """A litmus campaign's histogram as :func:`plot_litmus_histogram`'s plain data.

    ``campaign`` is a ``coherence.litmus`` campaign result, or any object or dict with
    ``histogram`` (``(state, count)`` pairs, or dicts with ``state``/``count``/``satisfies``
    as in its JSON), ``satisfied`` (one bool per histogram row, when the rows do not carry
    it), ``sc_violations`` (observed states SC forbids) and ``unseen`` (allowed states never
    observed, drawn with a count of 0; a campaign does not record their condition or SC
    status, so they are drawn as neither).
    """
    hist = _field(campaign, "histogram")
    if hist is None:
        raise CoherenceError(f"expected a litmus campaign with a histogram, got "
                             f"{type(campaign).__name__}")
    satisfied = list(_field(campaign, "satisfied", None) or [])
    forbidden = list(_field(campaign, "sc_violations", None) or [])
    rows = []
    for i, row in enumerate(hist):
        if isinstance(row, Mapping):
            state, count, sat = row["state"], row["count"], row.get("satisfies")
        else:
            state, count = row
            sat = None
        if sat is None:
            sat = satisfied[i] if i < len(satisfied) else False
        rows.append({"state": dict(state), "count": int(count), "satisfies": bool(sat),
                     "sc_forbidden": dict(state) in forbidden})
    for state in _field(campaign, "unseen", None) or []:
        rows.append({"state": dict(state), "count": 0, "satisfies": False,
                     "sc_forbidden": False})
    return rows


def save_litmus_figure(campaigns, path) -> str:
    """Write one litmus histogram per campaign (``coherence litmus ... --plot OUT.png``).

    ``campaigns`` is a list of campaign results (see :func:`litmus_outcomes`); each panel is
    titled with the test's name, the core's model, the number of runs and litmus7's
    ``Observation`` (Never / Sometimes / Always with the positive and negative counts).
    One column for one campaign, two up to eight, three beyond; a column is 8.5 inches wide
    and a row of panels 1.3 + 0.38 x (most states in the row) inches high, at 100 dpi.
    Returns ``path``.
    """
    campaigns = list(campaigns)
    if not campaigns:
        raise CoherenceError("no litmus campaigns to plot")
    data = [litmus_outcomes(c) for c in campaigns]
    ncols = 1 if len(campaigns) == 1 else 2 if len(campaigns) <= 8 else 3
    nrows = math.ceil(len(campaigns) / ncols)
    heights = [max(1.3 + 0.38 * len(d) for d in data[r * ncols:(r + 1) * ncols])
               for r in range(nrows)]
    plt = _pyplot()
    fig = plt.figure(figsize=(8.5 * ncols, sum(heights)), dpi=100, layout="constrained")
    try:
        grid = fig.add_gridspec(nrows, ncols, height_ratios=heights)
        for i, (c, rows) in enumerate(zip(campaigns, data)):
            ax = fig.add_subplot(grid[i // ncols, i % ncols])
            name = _field(c, "name", f"test {i + 1}")
            model = str(_field(c, "model", "") or "").upper()
            runs = _field(c, "iterations", None)
            obs = _field(c, "observation", None)
            pos, neg = _field(c, "positive", None), _field(c, "negative", None)
            title = name + (f", {model} core" if model else "") + \
                (f", {runs:,} runs" if runs is not None else "") + \
                (f": {obs} {pos} {neg}" if obs is not None else "")
            plot_litmus_histogram(rows, ax=ax, title=title)
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path, dpi=100)


# ----------------------------------------------------------------------------- scheduler

GANTT_DPI = 100

# How each thread status is drawn: (bar height, face colour, edge colour, hatch); statuses
# not listed (not arrived, done) are left blank.  Running bars take the thread's colour.
_GANTT_STYLE = {
    "running": (0.8, None, None, None),
    "ready": (0.3, "#c8c8c8", None, None),
    "blocked": (0.6, "#f4b6b6", "#c0392b", "///"),
    "sleeping": (0.3, "#aed6f1", None, None),
}


def gantt_figure_size(n_threads: int) -> tuple:
    """(width, height) in pixels of the Gantt chart of ``n_threads`` threads:
    ``10 x (1.5 + 0.5 * threads)`` inches at :data:`GANTT_DPI`."""
    return 1000, int(round(GANTT_DPI * (1.5 + 0.5 * n_threads)))


def _equal_stretches(values):
    """(start, length, value) of the maximal stretches of equal values."""
    import numpy as np
    if not len(values):
        return []
    change = np.nonzero(np.diff(values))[0] + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(values)]))
    return [(int(s), int(e - s), values[s]) for s, e in zip(starts, ends)]


def plot_gantt(result, ax=None, path=None):
    """The scheduler's Gantt chart of ``result`` (a ``coherence.sched`` SimResult, or a Report
    with a simulation).

    One row per thread: coloured bars while it runs (the CPU number is written on long bars),
    grey while ready but not scheduled, red hatched while blocked, light blue while asleep.
    Each finding is marked by a dashed vertical line at its tick with its kind.  A new figure
    is :func:`gantt_figure_size` pixels.  ``ax``: draw into these axes (else a new figure);
    ``path``: also write a PNG there.  Returns the Figure; never calls ``plt.show()``.
    """
    import numpy as np

    plt = _pyplot()
    from matplotlib.patches import Patch

    findings = []
    sim = result
    if hasattr(result, "simulation"):
        findings = result.findings
        sim = result.simulation
    if sim is None:
        raise ValueError("no simulation to plot (a replay report has none)")
    names = sim.thread_names
    n = len(names)
    own = ax is None
    if own:
        # Constrained layout sizes the margins to the thread names (never clipped) and keeps
        # the legend, outside the axes, clear of everything else.
        w, h = gantt_figure_size(n)
        fig = plt.figure(figsize=(w / GANTT_DPI, h / GANTT_DPI), dpi=GANTT_DPI,
                         layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    from matplotlib.ticker import MaxNLocator
    cmap = plt.get_cmap("tab10")
    status = sim.timeline_status
    status_names = sim.status_names
    cpu_of = np.full(status.shape, -1, np.int16)
    for c in range(sim.timeline_run.shape[1]):
        col = sim.timeline_run[:, c]
        ticks = np.nonzero(col >= 0)[0]
        cpu_of[ticks, col[ticks]] = c
    for t in range(n):
        y = n - 1 - t
        for start, length, s in _equal_stretches(status[:, t]):
            kind = status_names[s]
            if kind not in _GANTT_STYLE:
                continue
            height, face, edge, hatch = _GANTT_STYLE[kind]
            if kind == "running":
                ax.broken_barh([(start, length)], (y - height / 2, height),
                               facecolors=cmap(t % 10))
                if length >= max(3, len(status) // 40) and sim.timeline_run.shape[1] > 1:
                    ax.text(start + length / 2, y, f"cpu{cpu_of[start, t]}", ha="center",
                            va="center", fontsize=7, color="white")
            elif edge is None:
                ax.broken_barh([(start, length)], (y - height / 2, height), facecolors=face)
            else:
                ax.broken_barh([(start, length)], (y - height / 2, height), facecolors=face,
                               edgecolors=edge, hatch=hatch, linewidth=0.5)
    end = max(sim.ticks, 1)
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(reversed(names)))
    ax.set_xlim(0, end * 1.02 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # ticks are whole ticks
    ax.set_xlabel("tick")
    title = (f"{sim.program.scenario.name}: {sim.policy}, seed {sim.seed}, {sim.ticks} ticks, "
             f"{sim.end}")
    ax.set_title(title, fontsize=10)
    handles = [Patch(facecolor=cmap(0), label="running"),
               Patch(facecolor="#c8c8c8", label="ready"),
               Patch(facecolor="#f4b6b6", edgecolor="#c0392b", hatch="///", label="blocked"),
               Patch(facecolor="#aed6f1", label="sleeping")]
    if own:
        fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8,
                   frameon=False)
    else:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False)
    # Each finding's label gets a row of its own above the threads (12 points apart, so two
    # labels never overlap), and the y range gets the headroom those rows need.
    row_pt = 12
    ax.set_ylim(-0.7, n - 0.3)
    if findings:
        if own:
            fig.canvas.draw()  # the axes' final height, after the layout
        height_px = ax.get_window_extent().height
        need_px = (len(findings) * row_pt + 6) * fig.dpi / 72
        span = n + 0.4
        head = need_px * span / max(height_px - need_px, 0.25 * height_px)
        ax.set_ylim(-0.7, n - 0.3 + head)
    for i, f in enumerate(findings):
        tick = f.tick if f.tick is not None else end
        tick = min(max(tick, 0), end)
        ax.axvline(tick, color="#8e44ad", linestyle="--", linewidth=1.2)
        right = tick > 0.7 * end
        ax.annotate(f" {f.kind} " if not right else f"{f.kind} ", xy=(tick, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(0, -3 - row_pt * i),
                    textcoords="offset points", color="#8e44ad", fontsize=8,
                    va="top", ha="right" if right else "left")
        for name in f.threads:
            if name in names and f.kind in ("deadlock", "lost-wakeup", "stuck"):
                ax.plot([end], [n - 1 - names.index(name)], marker="X", color="#c0392b",
                        markersize=9)
    if path is not None:
        write_figure(fig, path, GANTT_DPI)
    return fig


# ----------------------------------------------------------------------------- scaling

def _program_for(program, cores: int):
    """The program to run on ``cores`` cores (see :func:`scaling_data`)."""
    from .asm import assemble, load_program
    from .program import Program
    if callable(program) and not isinstance(program, Program):
        return program(cores)
    if isinstance(program, Program):
        return program
    if isinstance(program, str) and "\n" in program:
        return assemble(program, "<string>", cores=cores)
    if isinstance(program, (str, os.PathLike)):
        return load_program(os.fspath(program), cores=cores)
    raise CoherenceError(f"expected a path, assembly text, a Program or a function "
                         f"cores -> Program, got {type(program).__name__}")


def scaling_data(program, cores_list, config=None, seed: int = 0, throughput=None,
                 metrics=None, **config_changes) -> list[dict]:
    """Run ``program`` once for each core count in ``cores_list``; one dict per run.

    ``program``: a ``.s`` path or assembly text (assembled for each core count, so write it
    with ``.core all``), a function ``cores -> Program``, or a Program (run as is, extra
    cores idle).  ``config`` (default ``SystemConfig()``) with ``config_changes`` applied
    gives the machine; its ``cores`` is replaced.  ``throughput`` is a function
    ``RunResult -> float`` (default: instructions per cycle over all cores); ``metrics`` an
    optional mapping ``name -> function RunResult -> value`` of more values to record.

    Each dict has ``cores, cycles, status, instructions, ipc, throughput, bus_utilization``
    (0..1; the address bus's on the split bus, 0 on the directory), ``transactions``
    (BusRd + BusRdX + BusUpgr + WriteBack; on the split bus and the directory, the messages
    sent), ``miss_latency`` (the mean cycles from a miss to its access being performed, over
    every core's misses) and one key per metric.
    """
    from .config import MAX_CORES, SystemConfig
    from .engine import run
    cores_list = list(cores_list)
    if not cores_list:
        raise CoherenceError("cores_list is empty, expected core counts such as [1, 2, 4, 8]")
    base = config if config is not None else SystemConfig()
    if config_changes:
        base = base.replace(**config_changes)
    most = MAX_CORES[base.interconnect]
    out = []
    for n in cores_list:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= most:
            raise CoherenceError(f"core count {n!r} is not an integer in 1..{most} (the most "
                                 f"a {base.interconnect} takes)")
        prog = _program_for(program, n)
        r = run(prog, base.replace(cores=n, stats="full"), seed=seed)
        tot, bus = r.stats["totals"], r.stats["bus"]
        net = r.stats.get("network")
        lat = [c["miss_latency"] for c in r.stats["cores"] if "miss_latency" in c]
        count = sum(x["count"] for x in lat)
        out.append({"cores": n, "cycles": r.cycles, "status": r.status,
                    "instructions": tot["instructions"], "ipc": tot["ipc"],
                    "throughput": float(throughput(r)) if throughput else tot["ipc"],
                    "bus_utilization": tot["bus_utilization"],
                    "transactions": (net["total_messages"] if net is not None else
                                     sum(bus.get(t, 0) for t in TRANSACTION_TYPES)),
                    "miss_latency": (round(sum(x["mean"] * x["count"] for x in lat) / count, 3)
                                     if count else 0.0)})
        for name, fn in (metrics or {}).items():
            out[-1][name] = fn(r)
    return out


def plot_scaling(data, ax=None, title=None, throughput_label="throughput (instructions / cycle)"):
    """Throughput (left axis) and bus utilization (right axis, %) against the core count.

    ``data`` is a list of dicts with ``cores``, ``throughput`` and ``bus_utilization``
    (0..1), as :func:`scaling_data` returns.  Returns the figure.
    """
    if not data:
        raise CoherenceError("no scaling data to plot, expected a list of dicts with "
                             "'cores', 'throughput' and 'bus_utilization'")
    for i, d in enumerate(data):
        for k in ("cores", "throughput", "bus_utilization"):
            if k not in d:
                raise CoherenceError(f"scaling point {i} has no {k!r}")
    data = sorted(data, key=lambda d: d["cores"])
    cores = [d["cores"] for d in data]
    fig, ax = _figure_ax(ax, (7, 4.2))
    l1, = ax.plot(cores, [d["throughput"] for d in data], marker="o", color="C0",
                  linewidth=2, label=throughput_label)
    ax2 = ax.twinx()
    l2, = ax2.plot(cores, [100 * d["bus_utilization"] for d in data], marker="s",
                   color="C3", linewidth=2, linestyle="--", label="bus utilization (%)")
    ax.set_xticks(cores, [str(c) for c in cores])
    ax.set_xlabel("cores")
    ax.set_ylabel(throughput_label, color="C0")
    ax2.set_ylabel("bus utilization (%)", color="C3")
    ax.set_ylim(0, max(max(d["throughput"] for d in data), 1e-9) * 1.25)
    ax2.set_ylim(0, 110)
    ax.legend(handles=[l1, l2], loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or "Scaling with the number of cores")
    return fig


def plot_scaling_comparison(series, metric: str = "throughput", ax=None, ylabel=None,
                            title=None, percent: bool = False):
    """One line per program (or lock, protocol...) of ``metric`` against the core count.

    ``series`` maps a label to a list of dicts as :func:`scaling_data` returns (any key of
    them, including the ``metrics`` you asked for, can be plotted).  ``percent=True`` shows
    a 0..1 value (e.g. ``bus_utilization``) as a percentage.  Returns the figure.
    """
    if not series:
        raise CoherenceError("no series to plot, expected {label: scaling data}")
    fig, ax = _figure_ax(ax, (6.5, 4.2))
    ticks = set()
    for i, (label, data) in enumerate(series.items()):
        if not data or any(metric not in d or "cores" not in d for d in data):
            raise CoherenceError(f"series {label!r} has points without 'cores' or {metric!r}")
        data = sorted(data, key=lambda d: d["cores"])
        xs = [d["cores"] for d in data]
        ys = [(100 if percent else 1) * d[metric] for d in data]
        ticks.update(xs)
        # Dashes and decreasing widths keep coinciding lines (equal fairness, say) visible.
        ax.plot(xs, ys, marker="osD^v<>p"[i % 8], color=f"C{i}", label=str(label),
                linestyle=("-", "--", ":", "-.")[i % 4], linewidth=max(3.0 - 0.6 * i, 1.2))
    ax.set_xticks(sorted(ticks), [str(t) for t in sorted(ticks)])
    ax.set_xlabel("cores")
    ax.set_ylabel(ylabel or (metric.replace("_", " ") + (" (%)" if percent else "")))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{metric.replace('_', ' ')} as the number of cores grows")
    return fig


def interconnect_scaling(program, cores_list, config=None, seed: int = 0, throughput=None,
                         interconnects=("bus", "split-bus", "directory"), **config_changes
                         ) -> dict:
    """:func:`scaling_data` of one program on each interconnect (same protocol family, same
    everything else; the directory on ``config``'s topology, so pass
    ``SystemConfig(interconnect="directory", topology="mesh")`` for a mesh):
    ``{interconnect: data}``.  Core counts past what an interconnect takes (64 on the buses)
    are left out of its series."""
    from .config import MAX_CORES, SystemConfig
    base = config if config is not None else SystemConfig()
    if config_changes:
        base = base.replace(**config_changes)
    fam = base.protocol.family if hasattr(base.protocol, "family") else base.protocol.name
    out = {}
    for net in interconnects:
        cfg = base.replace(interconnect=net, protocol=fam,
                           topology=base.topology if net == "directory" else "crossbar")
        counts = [n for n in cores_list if n <= MAX_CORES[net]]
        label = net + (f" ({cfg.topology})" if net == "directory" else "")
        out[label] = scaling_data(program, counts, config=cfg, seed=seed,
                                  throughput=throughput)
    return out


def plot_interconnect_scaling(series, title=None,
                              throughput_label="throughput (instructions / cycle)"):
    """Two panels against the core count, one line per interconnect: throughput, and the
    average miss latency (where a bus saturates, its misses wait).  ``series`` is what
    :func:`interconnect_scaling` returns.  Returns the figure."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.4))
    plot_scaling_comparison(series, "throughput", ax=a, ylabel=throughput_label,
                            title="throughput")
    plot_scaling_comparison(series, "miss_latency", ax=b, ylabel="average miss latency "
                            "(cycles)", title="miss latency")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def run_scaling(program, cores_list, config=None, seed: int = 0, ax=None, title=None,
                throughput=None, throughput_label="throughput (instructions / cycle)",
                **config_changes):
    """Run ``program`` for each core count (:func:`scaling_data`) and plot it
    (:func:`plot_scaling`).  Returns the figure."""
    data = scaling_data(program, cores_list, config=config, seed=seed, throughput=throughput,
                        **config_changes)
    return plot_scaling(data, ax=ax, title=title, throughput_label=throughput_label)


# ----------------------------------------------------------------------------- sweeps

def plot_sweep(results, x: str, y: str, hue: str | None = None, ax=None, title=None):
    """A sweep's results: ``y`` against ``x``, one line per value of ``hue``.

    ``results`` is a :class:`pandas.DataFrame` (``coherence.sweep(...)``,
    ``coherence.sweep.load(PATH)``) or a results folder's path.  Where several rows share an
    (x, hue) point (other axes: seeds, programs), the line is their mean and a band spans
    their minimum to maximum.  Rows whose status is not ``halted`` are left out (the title
    says how many).  Returns the figure.
    """
    if isinstance(results, (str, os.PathLike)):
        from .sweep.store import load
        results = load(results)
    df = results
    for opt, col in (("x", x), ("y", y), ("hue", hue)):
        if col is not None and col not in df.columns:
            cols = ", ".join(c for c in df.columns if c != "run_id")
            raise CoherenceError(f"--{opt} {col}: no such column in the results (columns: "
                                 f"{cols[:600]}{'...' if len(cols) > 600 else ''})")
    if "status" in df.columns:
        dropped = int((df["status"] != "halted").sum())
        df = df[df["status"] == "halted"]
    else:
        dropped = 0
    if not len(df):
        raise CoherenceError("no halted runs to plot")
    import pandas as pd
    if not pd.api.types.is_numeric_dtype(df[y]):
        raise CoherenceError(f"--y {y}: not a numeric column")
    fig, ax = _figure_ax(ax, (7, 4.5))
    groups = [(None, df)] if hue is None else list(df.groupby(hue, sort=True))
    numeric_x = pd.api.types.is_numeric_dtype(df[x])
    ticks = sorted(df[x].dropna().unique(), key=lambda v: (str(type(v)), v))
    pos = {v: i for i, v in enumerate(ticks)}
    many = False
    for i, (key, g) in enumerate(groups):
        stats = g.groupby(x, sort=True)[y].agg(["mean", "min", "max", "count"])
        xs = list(stats.index) if numeric_x else [pos[v] for v in stats.index]
        many |= bool((stats["count"] > 1).any())
        label = str(key[0] if isinstance(key, tuple) else key) if hue is not None else y
        ax.plot(xs, stats["mean"], marker="osD^v<>p"[i % 8], color=f"C{i}", label=label,
                linewidth=2)
        if (stats["count"] > 1).any():
            ax.fill_between(xs, stats["min"], stats["max"], color=f"C{i}", alpha=0.15,
                            linewidth=0)
    if numeric_x:
        if len(ticks) <= 20:
            ax.set_xticks(ticks, [str(t) for t in ticks])
    else:
        ax.set_xticks(range(len(ticks)), [str(t) for t in ticks], rotation=30, ha="right")
    ax.set_xlabel(x)
    ax.set_ylabel(y + (" (mean, band: min-max)" if many else ""))
    ax.set_ylim(bottom=min(0, float(df[y].min())))
    ax.grid(alpha=0.3)
    if hue is not None:
        ax.legend(title=hue, fontsize=8)
    note = f" ({dropped} runs not halted, left out)" if dropped else ""
    ax.set_title((title or f"{y} against {x}") + note, fontsize=10)
    return fig


# ----------------------------------------------------------------------------- one run

def _bus_totals(result, ax):
    bus = _get(result, "stats")["bus"]
    names = [n for n in BUS_COLORS if n in bus]
    vals = [bus[n] for n in names]
    bars = ax.bar(range(len(names)), vals, color=[BUS_COLORS[n] for n in names])
    top = max(vals, default=0) or 1
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v + 0.01 * top, f"{v:,}", ha="center",
                va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), [n.replace("_transfers", "") for n in names],
                  rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("count")
    ax.set_title(f"Bus totals (busy {bus.get('busy_cycles', 0):,} cycles)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


RUN_FIGURE_SIZE = (1100, 800)   # pixels of save_run_figure's image (at 100 dpi)
LINE_STATE_ROW = 28             # extra pixels per (watched line, core) row


def save_run_figure(result, path, program=None, seed: int = 0, window=None) -> str:
    """Write a three-panel summary of one run to ``path`` (``coherence run --plot``).

    Top: bus traffic over time (needs a timeline, else the panel says how to get one);
    middle left: per-core hits, misses and stall cycles; middle right: the bus counters;
    bottom, when the run watched symbols (``run(..., watch=[...])``, ``--watch``): their
    line-state map.  The title names the program, machine, seed and outcome.  The image is
    :data:`RUN_FIGURE_SIZE` pixels, taller by :data:`LINE_STATE_ROW` per watched line and core.
    ``window`` ``(start, end)`` (end None: the run's end) zooms the line-state strip into those
    cycles (``--window START:END``).  Returns ``path``.
    """
    plt = _pyplot()
    w, h = RUN_FIGURE_SIZE
    states = _get(result, "line_states")
    rows = sum(1 for _ in states) * int(_get(result, "config")["cores"]) if states else 0
    h += LINE_STATE_ROW * rows + (120 if rows else 0)
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100, layout="constrained")
    try:
        if states:
            grid = fig.add_gridspec(3, 2, height_ratios=[1, 1.1, 0.12 * rows + 0.5],
                                    width_ratios=[1.25, 1])
            start, end = window if window else (0, None)
            plot_line_states(result, ax=fig.add_subplot(grid[2, :]), start=start, end=end)
        else:
            grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.1], width_ratios=[1.25, 1])
        top = fig.add_subplot(grid[0, :])
        if _get(result, "timeline"):
            plot_traffic(result, ax=top)
        else:
            top.text(0.5, 0.5, "no timeline recorded (run with --timeline W or "
                     "SystemConfig(timeline_window=W))", ha="center", va="center",
                     transform=top.transAxes)
            top.set_axis_off()
        plot_core_stats(result, ax=fig.add_subplot(grid[1, 0]))
        _bus_totals(result, fig.add_subplot(grid[1, 1]))
        cfg = _get(result, "config")
        source = getattr(program, "source", None) or "program"
        util = _get(result, "stats")["totals"]["bus_utilization"]
        fig.suptitle(f"{os.path.basename(source)}: {cfg['cores']} cores, "
                     f"{str(cfg['protocol']).upper()}, {cfg['model'].upper()}, seed {seed} "
                     f"— {_get(result, 'status')} after {_get(result, 'cycles'):,} cycles, "
                     f"bus {100 * util:.1f}% busy", fontsize=11)
    except BaseException:
        plt.close(fig)
        raise
    return save_figure(fig, path, dpi=100)


# ----------------------------------------------------------------------------- executions

_EDGE_COLORS = {"po": "black", "rf": "tab:red", "co": "tab:blue", "fr": "tab:orange",
                "addr": "tab:purple", "data": "tab:purple", "ctrl": "tab:purple",
                "rmw": "tab:green"}


def plot_execution(view, ax=None):
    """Draw one execution (:class:`coherence.litmus.graph.ExecutionView`) as herd does:
    threads as columns (the initial writes first), events as boxes in program order, po,
    rf, co, fr, dependencies and rmw as labelled arrows (fences label the po arrows), and
    the cycle of the failed check, if any, in bold red with the check named in the title.
    Returns the axes."""
    from matplotlib.patches import FancyArrowPatch
    threads = sorted({t for _i, t, _l in view.events})
    col = {t: k for k, t in enumerate(threads)}
    rows: dict = {}
    pos = {}
    for i, t, _lab in view.events:
        r = rows.get(t, 0)
        rows[t] = r + 1
        pos[i] = (col[t] * 3.0, -r * 1.4)
    height = max(rows.values(), default=1)
    fig, ax = _figure_ax(ax, (max(4.0, 2.6 * len(threads)), max(3.0, 1.2 * height + 1.6)))
    hot_edges = view.hot_edges()
    c = view.cycle
    for t in threads:
        ax.text(col[t] * 3.0, 0.9, "init" if t < 0 else f"P{t}", ha="center",
                fontweight="bold")
    for i, _t, lab in view.events:
        x, y = pos[i]
        ax.text(x, y, lab, ha="center", va="center", family="monospace", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.3", fc="white",
                          ec="tab:red" if i in c else "gray", lw=2 if i in c else 1),
                zorder=3)
    for j, (a, b, kind, label) in enumerate(view.edges):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        hot = j in hot_edges
        straight = kind == "po"
        rad = 0.0 if straight else (0.25 if x2 >= x1 else -0.25)
        arrow = FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=12,
                                shrinkA=14, shrinkB=14,
                                connectionstyle=f"arc3,rad={rad}",
                                color="red" if hot else _EDGE_COLORS.get(kind, "gray"),
                                lw=2.6 if hot else 1.2,
                                linestyle="--" if kind in ("addr", "data", "ctrl") else "-",
                                zorder=2)
        ax.add_patch(arrow)
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        if not straight:
            mx += rad * (y2 - y1) * 0.5
            my -= rad * (x2 - x1) * 0.5
        ax.text(mx, my, label, fontsize=7, ha="center", va="center",
                color="red" if hot else _EDGE_COLORS.get(kind, "gray"),
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
                zorder=4)
    title = f"{view.test_name}   {view.state}\n{view.verdict_line}"
    if view.cycle_names:
        title += "   [" + " ".join(view.cycle_names) + "]"
    ax.set_title(title, fontsize=10, color="black" if view.allowed else "darkred")
    ax.set_xlim(-1.8, 3.0 * (len(threads) - 1) + 1.8)
    ax.set_ylim(-1.4 * (height - 1) - 1.0, 1.4)
    ax.axis("off")
    return ax


def save_execution_figure(views, path) -> str:
    """Every view of ``views`` in one figure (one panel each) written to ``path``."""
    if not views:
        raise CoherenceError("no execution to draw", file=path)
    plt = _pyplot()
    n = len(views)
    cols = min(n, 3)
    nrows = math.ceil(n / cols)
    width = max(max(4.0, 2.6 * len({t for _i, t, _l in v.events})) for v in views)
    height = max(max(3.0, 1.2 * max(sum(1 for _i, t, _l in v.events if t == tt)
                                    for tt in {t for _i, t, _l in v.events}) + 1.6)
                 for v in views)
    fig, axes = plt.subplots(nrows, cols, figsize=(width * cols, height * nrows),
                             layout="constrained", squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            plot_execution(views[k], ax=ax)
        else:
            ax.axis("off")
    return save_figure(fig, path)
