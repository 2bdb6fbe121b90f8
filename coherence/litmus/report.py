"""Rendering verdicts: herd7-compatible text, the summary table, and JSON-ready dicts."""

from __future__ import annotations

from .enumerate import Verdict
from .ir import Sym


def format_state(state: dict) -> str:
    """One state as herd prints it: ``0:EAX=0; [x]=1;``."""
    return " ".join(f"{k}={v};" for k, v in state.items())


def herd_block(v: Verdict) -> str:
    """The herd7 output for one test under one model (without herd's Hash line); it ends
    with ``Time NAME seconds`` as herd's does (the enumeration's time)."""
    lines = [f"Test {v.name} {v.kind}", f"States {len(v.states)}"]
    lines += [format_state(s) for s in v.states]
    lines.append("Ok" if v.ok else "No")
    pos, neg = v.witnesses
    lines += ["Witnesses", f"Positive: {pos} Negative: {neg}",
              f"Condition {v.condition}",
              f"Observation {v.name} {v.observation} {v.positive} {v.negative}",
              f"Time {v.name} {v.elapsed:.2f}", ""]
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


# --------------------------------------------------------------------------- herd's verdicts

_REFERENCE_CACHE: dict = {}


def _read_tsv(path: str) -> list[dict]:
    import csv
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader((ln for ln in fh if not ln.startswith("#")),
                                       delimiter="\t"))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _reference_files(directory: str) -> dict:
    """``{relative path: {model: (observation, positive, negative)}}`` of the herd verdicts
    kept in ``directory``: the suite's ``expected.tsv`` (columns file, sc_observation,
    sc_positive, ..., tso_negative) or herd's ``verdicts.tsv`` (path, model, observation,
    positive, negative; paths relative to the folder or its ``tests/``)."""
    if directory in _REFERENCE_CACHE:
        return _REFERENCE_CACHE[directory]
    import os
    table: dict = {}
    for row in _read_tsv(os.path.join(directory, "expected.tsv")):
        if "file" in row:
            for m in ("sc", "tso"):
                try:
                    table.setdefault(os.path.normpath(row["file"]), {})[m] = (
                        row[f"{m}_observation"], int(row[f"{m}_positive"]),
                        int(row[f"{m}_negative"]))
                except (KeyError, TypeError, ValueError):
                    pass
    for row in _read_tsv(os.path.join(directory, "verdicts.tsv")):
        try:
            entry = (row["observation"], int(row["positive"]), int(row["negative"]))
            for base in ("", "tests"):
                key = os.path.normpath(os.path.join(base, row["path"]))
                table.setdefault(key, {})[row["model"]] = entry
        except (KeyError, TypeError, ValueError):
            pass
    _REFERENCE_CACHE[directory] = table
    return table


def herd_reference(path: str) -> dict | None:
    """herd7's verdicts of the test at ``path`` as ``{model: (observation, positive,
    negative)}``, from an ``expected.tsv`` or ``verdicts.tsv`` in its folder or one of the
    seven above it; None when none lists it."""
    import os
    full = os.path.abspath(path)
    d = os.path.dirname(full)
    for _ in range(8):
        entry = _reference_files(d).get(os.path.relpath(full, d))
        if entry:
            return entry
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return None


def herd_agreement(verdicts: dict, reference: dict | None) -> str | None:
    """``"agrees"``, ``"DIFFERS"`` or None (no reference) for a test's verdicts."""
    if not reference:
        return None
    common = [m for m in verdicts if m in reference]
    if not common:
        return None
    same = all((verdicts[m].observation, verdicts[m].positive, verdicts[m].negative)
               == tuple(reference[m]) for m in common)
    return "agrees" if same else "DIFFERS"


def summary_table(rows, models, emulated: str | None = None, herd=None) -> str:
    """The table: one line per test (its verdict under each model, whether herd7 agrees, the
    emulator's observation, how many of the allowed states it saw, its verdict), then a
    line of totals.

    ``rows`` holds ``(name, path, {model: Verdict} | None, skip reason | None, campaign)``
    where campaign is a :class:`~coherence.litmus.campaign.Campaign`, a reason string or
    None.  ``emulated`` is the model the campaigns ran on; ``herd`` maps a test's path to
    herd's verdicts (:func:`herd_reference`; None: no herd column).
    """
    with_emu = any(r[4] is not None for r in rows)
    refs = {r[1]: herd(r[1]) for r in rows if r[3] is None} if herd else {}
    with_herd = any(refs.values())
    header = ["Test", "Kind"] + [m.upper() for m in models]
    if with_herd:
        header.append("herd")
    if with_emu:
        header += [f"Emulator ({(emulated or '').upper()})", "States", "Verdict"]
    body = []
    nskip = nbad = 0
    nagree = ndiffer = nnoref = 0
    emu_ok = emu_not = 0
    for name, path, verdicts, reason, campaign in rows:
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
        if with_herd:
            agree = herd_agreement(verdicts, refs.get(path))
            nagree += agree == "agrees"
            ndiffer += agree == "DIFFERS"
            nnoref += agree is None
            cells.append(agree or "-")
        elif herd is not None:
            nnoref += 1
        if with_emu:
            if campaign is None or isinstance(campaign, str):
                emu_not += 1
                cells += ["-", "-", "not run" if campaign is None else "not expressible"]
            else:
                cells.append(f"{campaign.observation} {campaign.positive} {campaign.negative}")
                seen = len(campaign.histogram) - len(campaign.model_violations)
                cells.append(f"{seen}/{seen + len(campaign.unseen)}")
                if campaign.model_violations:
                    nbad += 1
                    verdict = f"VIOLATION ({len(campaign.model_violations)} forbidden)"
                elif campaign.unseen:
                    emu_ok += 1
                    verdict = f"agrees, {len(campaign.unseen)} unseen"
                else:
                    emu_ok += 1
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
    ran = len(rows) - nskip
    total = [f"{ran} test{'s' if ran != 1 else ''} run"]
    if herd is not None:
        total.append(f"herd7 agrees on {nagree}, differs on {ndiffer}, "
                     f"{nnoref} without a herd verdict")
    if with_emu:
        total.append(f"emulator agrees on {emu_ok}, shows forbidden states on {nbad}, "
                     f"{emu_not} not run")
    total.append(f"{nskip} skipped")
    out.append("; ".join(total))
    return "\n".join(out) + "\n"
