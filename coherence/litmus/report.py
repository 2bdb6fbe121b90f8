"""Rendering verdicts: herd7-compatible text, the summary table, and JSON-ready dicts."""

from __future__ import annotations

from .enumerate import Verdict
from .ir import Sym


def format_state(state: dict) -> str:
    """One state as herd prints it: ``0:EAX=0; [x]=1;``."""
    return " ".join(f"{k}={v};" for k, v in state.items())


def herd_block(v: Verdict) -> str:
    """The herd7 output for one test under one model (without herd's Time and Hash lines)."""
    lines = [f"Test {v.name} {v.kind}", f"States {len(v.states)}"]
    lines += [format_state(s) for s in v.states]
    lines.append("Ok" if v.ok else "No")
    pos, neg = v.witnesses
    lines += ["Witnesses", f"Positive: {pos} Negative: {neg}",
              f"Condition {v.condition}",
              f"Observation {v.name} {v.observation} {v.positive} {v.negative}", ""]
    return "\n".join(lines) + "\n"


def _json_value(v):
    return str(v) if isinstance(v, Sym) else v


def verdict_json(v: Verdict) -> dict:
    """One entry of the ``--json`` document."""
    entry = {
        "name": v.name, "path": v.path, "model": v.model, "kind": v.kind,
        "condition": v.condition, "ok": v.ok,
        "observation": v.observation, "positive": v.positive, "negative": v.negative,
        "executions_exact": v.executions_exact,
        "states": [{k: _json_value(x) for k, x in s.items()} for s in v.states],
        "histogram": [], "sc_violations": [], "unseen": [], "skipped": None,
    }
    return entry


def skipped_json(name: str, path: str, reason: str, model: str | None) -> dict:
    """A ``--json`` entry for a test that could not be used."""
    return {"name": name, "path": path, "model": model, "kind": None, "condition": None,
            "ok": None, "observation": None, "positive": None, "negative": None,
            "executions_exact": None, "states": [], "histogram": [], "sc_violations": [],
            "unseen": [], "skipped": reason}


def summary_table(rows, models, emulated: str | None = None) -> str:
    """The final table: one row per test, one column per model, then the emulator's.

    ``rows`` holds ``(name, path, {model: Verdict} | None, skip reason | None, campaign)``
    where campaign is a :class:`~coherence.litmus.campaign.Campaign`, a reason string or
    None.  ``emulated`` is the model the campaigns ran on.
    """
    with_emu = any(r[4] is not None for r in rows)
    header = ["Test", "Kind"] + [m.upper() for m in models]
    if with_emu:
        header += [f"Emulator ({(emulated or '').upper()})", "Verdict"]
    body = []
    nskip = nbad = 0
    for name, _path, verdicts, reason, campaign in rows:
        if reason is not None:
            nskip += 1
            body.append([name, "skipped", reason])
            continue
        some = next(iter(verdicts.values()))
        cells = [name, some.kind]
        for m in models:
            v = verdicts.get(m)
            if v is None:  # a mixed suite: this model is not one of this test's
                cells.append("-")
                continue
            mark = "" if v.executions_exact else "*"
            cells.append(f"{v.observation} {v.positive} {v.negative}{mark}")
        if with_emu:
            if campaign is None or isinstance(campaign, str):
                cells += ["-", "not run" if campaign is None else "not expressible"]
            else:
                cells.append(f"{campaign.observation} {campaign.positive} {campaign.negative}")
                if campaign.model_violations:
                    nbad += 1
                    verdict = f"VIOLATION ({len(campaign.model_violations)} forbidden)"
                elif campaign.unseen:
                    verdict = f"agrees, {len(campaign.unseen)} unseen"
                else:
                    verdict = "agrees"
                cells.append(verdict)
        body.append(cells)
    widths = [max([len(header[i])] + [len(r[i]) for r in body if len(r) > i and
                                      r[1] != "skipped"]) for i in range(len(header))]
    head = f"Summary: {len(rows)} test{'s' if len(rows) != 1 else ''}, {nskip} skipped"
    if with_emu:
        head += f", {nbad} with states the {(emulated or '').upper()} model forbids"
    out = [head]

    def fmt(cells):
        if len(cells) > 1 and cells[1] == "skipped":
            return f"{cells[0]:<{widths[0]}}  skipped: {cells[2]}"
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths)).rstrip()

    out.append(fmt(header))
    out += [fmt(r) for r in body]
    if any(r[1] != "skipped" and any(c.endswith("*") for c in r[2:]) for r in body):
        out.append("* the program loops: counts are distinct final states, not executions")
    return "\n".join(out) + "\n"
