"""The project's verdicts against herd7's on our own diy-generated tests (tests/data/diy).

``tests/data/diy/{AArch64,RISCV,X86}/*.litmus`` were generated with herdtools7's diy7 (the
diy cycle vocabulary: communications, po, fences, dependencies, acquire/release, atomics
and exclusives) and ``verdicts.tsv`` holds herd7 7.58's verdicts on them, in the oracle's
columns; ``benchmarks/make_diy_golden.py`` regenerates both (tests/data/diy/README.md).
Every row must agree: the final states, the observation and the execution counts
(Positive / Negative).  The default run checks a deterministic sample of each architecture
and model; the whole set is ``@pytest.mark.slow``.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from coherence.litmus import enumerate_states, parse_file
from coherence.litmus.cat.verdict import cat_verdict

DIY = Path(__file__).resolve().parent / "data" / "diy"
COLUMNS = ["name", "path", "arch", "model", "observation", "positive", "negative", "states"]
# herd's model (the oracle's name) -> the project's shipped models that must agree with it:
# x86 through the operational enumerators (the command line's default) and the cat models
SHIPPED = {("AArch64", "aarch64"): ("cat", "aarch64"), ("AArch64", "sc"): ("cat", "sc"),
           ("RISCV", "riscv"): ("cat", "riscv"), ("RISCV", "sc"): ("cat", "sc"),
           ("X86", "tso"): ("enum", "tso"), ("X86", "sc"): ("enum", "sc")}
X86_CAT = {"tso": "x86-tso", "sc": "sc"}
SAMPLE = 50   # tests per architecture and model in the default run


def _rows():
    with open(DIY / "verdicts.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return rows


ROWS = _rows()


def _key(r):
    return hashlib.sha1(r["path"].encode()).hexdigest()


_ATOMIC = re.compile(r"\b(CAS\w*|SWP\w*|LD(ADD|CLR|EOR|SET)\w*|ST(ADD|CLR|EOR|SET)\w*|"
                     r"LD\w*XR|ST\w*XR|amo\w+(\.\w+)*|lr\.\w+|sc\.\w+|XCHG)\b")


def _atomic(r):
    text = (DIY / r["path"]).read_text()
    return bool(_ATOMIC.search(text[text.index("{"):]))


def _selection(arch, model, k):
    """The rows of (arch, model), all or ``k`` of them: half with an atomic instruction
    (a CAS, an exclusive pair, an amo ...), half without, each in the order of the SHA-1 of
    the path."""
    rows = sorted((r for r in ROWS if r["arch"] == arch and r["model"] == model), key=_key)
    if k <= 0:
        return rows
    atomic = [r for r in rows if _atomic(r)]
    plain = [r for r in rows if not _atomic(r)]
    n = min(len(atomic), k // 2)
    return atomic[:n] + plain[:k - n]


def _mismatches(rows, x86_cat=False):
    bad = []
    for r in rows:
        test = parse_file(DIY / r["path"])
        how, model = SHIPPED[(r["arch"], r["model"])]
        if how == "enum" and not x86_cat:
            v = enumerate_states(test, model)
        else:
            v = cat_verdict(test, X86_CAT[model] if how == "enum" else model)
        want = set(r["states"].split(" | ")) if r["states"] else set()
        got = {" ".join(f"{k}={x};" for k, x in s.items()) for s in v.states} - {""}
        mine = (v.observation, v.positive, v.negative)
        herd = (r["observation"], int(r["positive"]), int(r["negative"]))
        if got != want or mine != herd:
            bad.append((r["path"], r["model"], mine, herd, sorted(got ^ want)[:4]))
    return bad


def test_the_golden_data_is_well_formed():
    assert ROWS and list(ROWS[0]) == COLUMNS
    files = {p.relative_to(DIY).as_posix() for p in DIY.glob("*/*.litmus")}
    models = Counter()
    for r in ROWS:
        assert r["path"] in files, r["path"]
        assert r["path"].split("/")[0] == r["arch"]
        assert r["observation"] in ("Never", "Sometimes", "Always")
        models[(r["arch"], r["model"])] += 1
    # every test has a row under its architecture's model and under sc
    per_arch = Counter(f.split("/")[0] for f in files)
    assert set(models) == set(SHIPPED)
    for (arch, _model), n in models.items():
        assert n == per_arch[arch], (arch, _model)
    for f in sorted(files)[:: max(1, len(files) // 30)]:
        t = parse_file(DIY / f)
        assert f"{t.name}.litmus" == Path(f).name and t.arch.upper() == f.split("/")[0].upper()


@pytest.mark.parametrize("arch,model", sorted(SHIPPED))
def test_herd7_agrees_on_a_sample(arch, model):
    assert _mismatches(_selection(arch, model, SAMPLE)) == []


@pytest.mark.parametrize("model", ["tso", "sc"])
def test_herd7_agrees_with_the_x86_cat_models_on_a_sample(model):
    assert _mismatches(_selection("X86", model, SAMPLE), x86_cat=True) == []


@pytest.mark.slow
@pytest.mark.parametrize("arch,model", sorted(SHIPPED))
def test_herd7_agrees_on_every_row(arch, model):
    rows = _selection(arch, model, 0)
    assert len(rows) >= 100
    assert _mismatches(rows) == []


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tso", "sc"])
def test_herd7_agrees_with_the_x86_cat_models_on_every_row(model):
    assert _mismatches(_selection("X86", model, 0), x86_cat=True) == []
