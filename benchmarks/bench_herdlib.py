"""herd's own cat files through the cat interpreter: agreement with herd7 and speed.

    python benchmarks/bench_herdlib.py --herdlib ~/herdtools7/herd/libdir [--sample 300]
        [--sets x86-sc,x86-tso,aarch64,riscv,aarch64-sc,riscv-sc] [--timeout 60] [-v]

(``--herdlib`` defaults to ``$COHERENCE_HERDLIB``.)  For each set, a deterministic sample of
the oracle's tests (the first ``--sample`` by the SHA-1 of their path) is run under herd's
model file (``--cat LIBDIR/<model>.cat``, its includes resolved in LIBDIR) and under the
project's shipped model (``--model``), and both verdicts are compared with herd7's in the
oracle's ``verdicts.tsv``: the final states and the observation (Never / Sometimes / Always),
and the execution counts (Positive / Negative).  Sets:

* ``x86-sc``, ``x86-tso``: ``../shared/oracle/herd-x86`` (all 88 tests) and a sample of
  ``../shared/oracle/herd-ext/@timely`` (its slow tests are left out by that index); herd's
  ``sc.cat`` / ``x86tso.cat`` (``x86tso-mixed.cat`` for X86_64 tests, as the oracle);
* ``aarch64``, ``riscv`` (and ``aarch64-sc``, ``riscv-sc``): ``../shared/oracle/herd-arm-riscv``;
  ``aarch64.cat``, ``riscv.cat``, ``sc.cat``.

The oracle's ``sc`` rows come from herd's ``sc.cat`` with its last axiom widened to ``acyclic
po | amo | ((fr | rf | co);sm)`` (see the oracles' READMEs); the ``*-sc`` sets also run that
variant (``sc-amo``, written to a temporary folder, its includes taken from LIBDIR).
A test that takes more than ``--timeout`` seconds under one model counts as ``timeout``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

csv.field_size_limit(1 << 30)

from coherence.errors import CoherenceError  # noqa: E402
from coherence.litmus import parse_file  # noqa: E402
from coherence.litmus.cat.verdict import cat_verdict  # noqa: E402


def _oracle(name):
    for base in (ROOT.parent, ROOT.parent.parent):
        p = base / "shared" / "oracle" / name
        if p.is_dir():
            return p
    return None


def _rows(folder, prefix=""):
    with open(folder / "verdicts.tsv", newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            r = dict(r)
            r["file"] = folder / "tests" / r["path"]
            r["key"] = prefix + r["path"]
            yield r


def _sample(rows, k):
    rows = sorted(rows, key=lambda r: hashlib.sha1(r["key"].encode()).hexdigest())
    return rows if k <= 0 else rows[:k]


def _herd_states(r):
    return {s.strip() for s in r["states"].split(" | ")} if r["states"] else {""}


def _states(v):
    return {" ".join(f"{k}={x};" for k, x in s.items()) for s in v.states} or {""}


class _Timeout(Exception):
    pass


def _alarm(_sig, _frm):
    raise _Timeout()


def _verdict(test, model, search_path, timeout):
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    t0 = time.process_time()
    try:
        v = cat_verdict(test, model, tuple(search_path))
        return v, time.process_time() - t0, None
    except _Timeout:
        return None, time.process_time() - t0, "timeout"
    except CoherenceError as exc:
        return None, time.process_time() - t0, f"skipped: {exc}"
    finally:
        signal.alarm(0)


def _sc_amo(lib, tmp):
    """herd's sc.cat with its last axiom widened (the oracle's sc-amo.cat)."""
    src = (Path(lib) / "sc.cat").read_text()
    old = "acyclic po | ((fr | rf | co);sm) as sc"
    if old not in src:
        return None
    p = Path(tmp) / "sc-amo.cat"
    p.write_text(src.replace(old, "acyclic po | amo | ((fr | rf | co);sm) as sc"))
    return str(p)


def sets(lib, sample, tmp):
    """(name, rows, herd model per arch, oracle model name, shipped model) per set."""
    x86, ext, arm = _oracle("herd-x86"), _oracle("herd-ext"), _oracle("herd-arm-riscv")
    out = {}
    if x86 is not None:
        timely = set()
        if ext is not None:
            timely = {ln.strip().replace("tests/", "", 1)
                      for ln in (ext / "@timely").read_text().splitlines()
                      if ln.strip() and not ln.startswith("#")}
        for model, herd, ours in (("sc", {"X86": "sc.cat", "X86_64": "sc.cat"}, "sc"),
                                  ("tso", {"X86": "x86tso.cat",
                                           "X86_64": "x86tso-mixed.cat"}, "x86-tso")):
            rows = [r for r in _rows(x86, "x86/") if r["model"] == model]
            if ext is not None:
                erows = [r for r in _rows(ext, "ext/") if r["model"] == model and
                         r["path"] in timely]
                rows += _sample(erows, sample)
            out[f"x86-{model}"] = (rows, herd, model, ours)
    if arm is not None:
        allrows = list(_rows(arm))
        for arch, model, herd in (("AArch64", "aarch64", "aarch64.cat"),
                                  ("RISCV", "riscv", "riscv.cat")):
            rows = [r for r in allrows if r["arch"] == arch and r["model"] == model]
            out[model] = (_sample(rows, sample), {arch: herd}, model, model)
            rows = [r for r in allrows if r["arch"] == arch and r["model"] == "sc"]
            out[f"{model}-sc"] = (_sample(rows, sample), {arch: "sc.cat"}, "sc", "sc")
    return out


def run_set(name, rows, herd_models, lib, timeout, verbose, extra=None):
    tally = {"tests": 0, "herd-agree": 0, "herd-counts": 0, "ours-agree": 0,
             "ours-counts": 0, "same-as-ours": 0, "herd-time": 0.0, "ours-time": 0.0,
             "herd-skip": 0, "ours-skip": 0}
    if extra:
        tally["extra-agree"] = tally["extra-counts"] = tally["extra-time"] = 0
    differ = []
    for r in rows:
        try:
            test = parse_file(r["file"])
        except CoherenceError:
            continue
        cat = os.path.join(lib, herd_models[r["arch"]])
        tally["tests"] += 1
        hv, ht, hwhy = _verdict(test, cat, [lib], timeout)
        ov, ot, owhy = _verdict(test, _ours[name], [], timeout)
        tally["herd-time"] += ht
        tally["ours-time"] += ot
        want = (_herd_states(r), r["observation"])
        counts = (int(r["positive"]), int(r["negative"]))
        if hv is None:
            tally["herd-skip"] += 1
            differ.append((r["key"], hwhy))
        else:
            got = (_states(hv), hv.observation)
            if got == want:
                tally["herd-agree"] += 1
            else:
                differ.append((r["key"], f"{hv.observation} {hv.positive} {hv.negative} vs "
                               f"herd {r['observation']} {r['positive']} {r['negative']}"))
            tally["herd-counts"] += (hv.positive, hv.negative) == counts
        if ov is None:
            tally["ours-skip"] += 1
        else:
            tally["ours-agree"] += (_states(ov), ov.observation) == want
            tally["ours-counts"] += (ov.positive, ov.negative) == counts
        if hv is not None and ov is not None:
            tally["same-as-ours"] += (_states(hv), hv.observation) == \
                (_states(ov), ov.observation)
        if extra:
            xv, xt, _ = _verdict(test, extra, [lib], timeout)
            tally["extra-time"] += xt
            tally["extra-agree"] += xv is not None and (_states(xv), xv.observation) == want
            tally["extra-counts"] += xv is not None and (xv.positive, xv.negative) == counts
        if verbose:
            print(f"  {r['key']}: herd file {ht:.3f}s "
                  f"{'ok' if hv is not None and (_states(hv), hv.observation) == want else 'DIFF'}"
                  f", shipped {ot:.3f}s", flush=True)
    return tally, differ


_ours = {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--herdlib", default=os.environ.get("COHERENCE_HERDLIB"),
                    help="herdtools7's herd/libdir (default: $COHERENCE_HERDLIB)")
    ap.add_argument("--sample", type=int, default=300, help="tests per set (0: all)")
    ap.add_argument("--sets", default="x86-sc,x86-tso,aarch64,riscv")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per test and model")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not args.herdlib or not os.path.isfile(os.path.join(args.herdlib, "stdlib.cat")):
        print("give --herdlib (herdtools7's herd/libdir) or set COHERENCE_HERDLIB")
        return 2
    lib = os.path.abspath(args.herdlib)
    with tempfile.TemporaryDirectory() as tmp:
        avail = sets(lib, args.sample, tmp)
        sc_amo = _sc_amo(lib, tmp)
        for name in args.sets.split(","):
            if name not in avail:
                print(f"== {name}: no oracle")
                continue
            rows, herd, model, ours = avail[name]
            _ours[name] = ours
            extra = sc_amo if model == "sc" else None
            tally, differ = run_set(name, rows, herd, lib, args.timeout, args.verbose, extra)
            t = tally["tests"]
            print(f"== {name}: {t} tests, herd's {'/'.join(sorted(set(herd.values())))} "
                  f"vs herd7's `{model}` rows, and the shipped `{ours}`")
            print(f"   herd's file: states+observation agree {tally['herd-agree']}/{t}, "
                  f"counts {tally['herd-counts']}/{t}, not run {tally['herd-skip']}; "
                  f"{tally['herd-time'] / max(t, 1):.4f} s/test")
            print(f"   shipped:     states+observation agree {tally['ours-agree']}/{t}, "
                  f"counts {tally['ours-counts']}/{t}, not run {tally['ours-skip']}; "
                  f"{tally['ours-time'] / max(t, 1):.4f} s/test")
            print(f"   herd's file and shipped model give the same verdict: "
                  f"{tally['same-as-ours']}/{t}")
            if extra:
                print(f"   sc-amo variant of herd's sc.cat: agree {tally['extra-agree']}/{t}, "
                      f"counts {tally['extra-counts']}/{t}, "
                      f"{tally['extra-time'] / max(t, 1):.4f} s/test")
            for key, why in differ[:40]:
                print(f"   differs: {key}: {why}")
            if len(differ) > 40:
                print(f"   ... {len(differ) - 40} more")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
