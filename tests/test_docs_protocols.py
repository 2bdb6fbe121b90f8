"""docs/protocols.md teaches building a Protocol from a table: its code runs as written, and
the protocol it builds is a correct one (the engine's invariant checks pass on a lock)."""

import os
import re

from conftest import ROOT


def test_the_protocol_tutorial_runs_as_written(capsys):
    doc = open(os.path.join(ROOT, "docs", "protocols.md")).read()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 3
    ns = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for block in blocks:
            exec(compile(block, "docs/protocols.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert out.startswith("### MEI") and "| M | read-write, dirty, owner |" in out
    counter, reads, flushes = (int(x) for x in out.strip().splitlines()[-1].split())
    assert counter == 400 and reads > 0 and flushes > 0
    assert ns["MEI"].state_names == ("I", "E", "M") and ns["TestMEI"] is not None
