"""Text (jstack-like) and JSON rendering of :class:`~coherence.sched.findings.Report`."""

from __future__ import annotations

import json

from .findings import DEFINITIONS, Report


def _title(f) -> str:
    return f"{f.definition}: {DEFINITIONS.get(f.definition, '')}"


def render_text(report: Report, quiet: bool = False) -> str:
    """The human report: a header, one jstack-like section per finding, a summary line."""
    where = f" ({report.file})" if report.file else ""
    lines = []
    if quiet:
        for f in report.findings:
            sched = f" | schedule {f.schedule}" if f.schedule else ""
            lines.append(f"{report.file or report.scenario}: {f.kind} [{f.definition}]: "
                         f"{f.detail}{sched}")
        return "\n".join(lines)
    st = report.stats
    lines.append(f"== {report.scenario}{where}")
    if report.policy == "replay":
        lines.append(f"replayed {st.get('replayed_steps', 0)} steps")
    else:
        end = st.get("end")
        extra = ""
        if end == "periodic":
            cyc = st["cycle"]
            extra = f" (state repeats every {cyc['period']} ticks from tick {cyc['start']})"
        elif end == "max-ticks":
            extra = " (bound reached: raise --max-ticks to run longer)"
        lines.append(f"simulated under {report.policy}, seed {report.seed}: {st.get('ticks')} "
                     f"ticks, {end}{extra}")
        ex = st.get("explore")
        if ex:
            done = "complete" if ex["complete"] else (
                "interrupted (Ctrl-C), incomplete" if ex.get("interrupted")
                else "bound reached, incomplete")
            lines.append(f"explored {ex['states']} states, {ex['transitions']} transitions, "
                         f"depth {ex['max_depth']}, {done}, {ex['seconds']:.3f} s "
                         f"({ex['states_per_second']:.0f} states/s)")
    for f in report.findings:
        lines.append("")
        body = f.body or [f.detail]
        if not body[0].startswith(("Found", "Possible")):
            lines += [f"Found {f.kind}:", "=" * (len(f.kind) + 7)]
        lines += body
        if f.detail not in body and not body[0].endswith(f.detail):
            lines.append(f"  => {f.detail}")
        lines.append(f"  definition {_title(f)}")
        tail = []
        if f.schedule:
            tail.append(f"schedule {f.schedule} (reproduce: --replay '{f.schedule}')")
        if f.seed is not None and f.source == "simulation":
            tail.append(f"seed {f.seed} under --policy {f.extra.get('policy', report.policy)}")
        if tail:
            lines.append("  " + "; ".join(tail))
    lines.append("")
    if report.findings:
        kinds = sorted(report.kinds())
        lines.append(f"{len(report.findings)} finding(s): {', '.join(kinds)}")
    else:
        lines.append("no findings")
    return "\n".join(lines)


def render_json(reports: list, single: bool) -> str:
    """One JSON document for a single file, else a JSON list with one document per file."""
    docs = [r.to_dict() for r in reports]
    return json.dumps(docs[0] if single else docs, indent=2)
