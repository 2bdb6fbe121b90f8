"""docs/interconnects.md lists the stall pairs of the shipped tables exactly as the tables
have them, and its code runs."""

import os
import re

from conftest import ROOT

from coherence.protocols.primer import MESSAGE_PROTOCOLS


def _doc():
    return open(os.path.join(ROOT, "docs", "interconnects.md")).read()


def test_the_stall_list_is_the_tables():
    doc = _doc()
    block = doc.split("<!-- stalls:")[1].split("-->", 1)[1].split("<!-- /stalls -->")[0]
    want = "\n".join(p.stalls_markdown() for p in MESSAGE_PROTOCOLS.values())
    assert block.strip() == want.strip()


def test_the_python_blocks_run():
    ns = {}
    for block in re.findall(r"```python\n(.*?)```", _doc(), re.S):
        exec(compile(block, "docs/interconnects.md", "exec"), ns)
    assert ns["cfg"].protocol.name == "mesi-directory"
    assert ns["MY_MSI"].cache.table[("IS^D", "Inv")] is not None
