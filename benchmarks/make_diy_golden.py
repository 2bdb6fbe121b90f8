"""Generate litmus tests with diy7 and record herd7's verdicts on them (tests/data/diy).

    python benchmarks/make_diy_golden.py [--bin DIR] [--out DIR] [--per-arch N]
        [--max-states N] [--pool DIR] [--times]

Needs herdtools7's ``diy7`` and ``herd7`` (tag 7.58, see tests/data/diy/README.md), from
``--bin`` (else ``$HERD7`` / ``$DIY7``, else ``PATH``), and herd's libdir (``--libdir``;
default ``PREFIX/share/herdtools7/herd`` next to ``PREFIX/bin/herd7``).

1. Every family of ``FAMILIES`` (an architecture, a name and diy7's arguments: the
   relaxations of the diy cycle vocabulary to test, ``-relax``, and the safe edges to build
   cycles from, ``-safe``) is run through ``diy7`` into ``--pool`` (default: a temporary
   folder).
2. Tests with the same code (everything from the init block on) are kept once, the first
   family in ``FAMILIES``' order winning; a test whose name an earlier family's has (the
   same cycle, other code: diy's AsAmo variant) is renamed ``NAME_FAMILY``.
3. Per architecture, tests are taken from the families in turn (each family in the order
   of the SHA-1 of the test's name) until ``--per-arch`` are kept (0: all).  A test is
   written to ``--out/ARCH/NAME.litmus`` (diy's metadata lines that repeat the cycle or
   only serve litmus7 dropped, unless ``--full-metadata``) and kept when the project runs
   it (unless ``--keep-unsupported``), herd7 gives a verdict under every model of
   ``MODELS`` and none has more than ``--max-states`` final states (0: no limit; the limit
   keeps the data small).  herd7 runs as the oracle's verdicts were produced: one process
   per test and model, ``herd7 -I LIBDIR -model MODEL.cat TEST``, 30 s of CPU at most.
   Models: ``aarch64.cat`` (AArch64), ``riscv.cat`` (RISC-V), ``x86tso.cat`` (x86) and
   ``sc`` for all; as in ``../shared/oracle`` (its README), ``sc`` is herd 7.58's
   ``sc.cat`` with its last axiom ``acyclic po | amo | ((fr | rf | co);sm) as sc`` and
   ``x86tso.cat`` has the uniproc axiom ``acyclic po-loc | amo | com`` (herdtools7 commit
   184f264ef backported: 7.58 leaves the read and write of one instruction out of ``po``),
   both written to a temporary folder from LIBDIR's files.
4. ``--out/verdicts.tsv`` gets one row per test and model in the oracle's columns: name,
   path (relative to ``--out``), arch, model, observation, positive, negative, states
   (herd's final states, ``loc=value;`` each, separated by `` | ``).  With ``--times``,
   ``--out/herd-times.tsv`` has the CPU seconds of each herd7 process.

The tests are our own, generated with herdtools7's generator; herd7's answers on them are
the project's golden data, checked by tests/test_litmus_diy.py.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_SAFE = "Rfe Fre Wse PodWW PodWR PodRW PodRR"

# (arch, family, diy7 arguments).  Every family unrolls atomic idioms (-ua 1: exclusives and
# lr/sc as straight-line code with an ok flag, no retry loop, which the project cannot run).
FAMILIES = [
    # cycles of strong edges only: mostly Forbidden
    ("AArch64", "strong", ["-moreedges", "true", "-size", "6", "-nprocs", "4", "-relax",
                           "DMB.ISHdWR DpAddrdR DpAddrdW DpDatadW DpCtrldW DpCtrlIsbdR PodWRLA",
                           "-safe", "Rfe Fre Wse DMB.ISHdWW DMB.ISHdRW DMB.ISHdRR DMB.ISHdWR "
                           "DpAddrdR DpDatadW PodRWAP PodWWPL PodRRAP"]),
    ("AArch64", "fence", ["-moreedges", "true", "-size", "6", "-nprocs", "4", "-relax",
                          "DMB.ISHdWW DMB.ISHdWR DMB.ISHdRW DMB.ISHdRR DMB.ISHLDdRR "
                          "DMB.ISHLDdRW DMB.ISHSTdWW DSB.ISHdWR DMB.SYdWR DMB.SYdRR "
                          "DMB.LDdRR DMB.STdWW ISBdRR", "-safe", _SAFE]),
    ("AArch64", "dep", ["-size", "6", "-nprocs", "4", "-relax",
                        "DpAddrdR DpAddrdW DpDatadW DpCtrldW DpCtrldR DpCtrlIsbdR DpAddrsR "
                        "DpAddrsW DpDatasW DpCtrlsW DpAddrCseldR DpDataCseldW",
                        "-safe", _SAFE + " DMB.SYdWW"]),
    ("AArch64", "acqrel", ["-size", "6", "-nprocs", "4", "-relax",
                           "PodWWPL PodRRAP PodRRQP PodRWAP PodRWQP PodWRLA PodWRLQ RfeLA "
                           "RfeLQ RfePA PodWWLL PodRRAA", "-safe", _SAFE]),
    ("AArch64", "pos", ["-moreedges", "true", "-size", "6", "-nprocs", "3", "-relax",
                        "PosWR PosRR PosWW PosRW Rfi Fri Wsi",
                        "-safe", _SAFE + " DMB.ISHdWW DMB.ISHdRR DMB.ISHdWR"]),
    ("AArch64", "atomic", ["-size", "6", "-nprocs", "3", "-relax",
                           "Amo.Swp Amo.LdAdd Amo.Cas Amo.StAdd Amo.LdClr Rmw LxSx",
                           "-safe", _SAFE + " DMB.SYdWR"]),
    ("AArch64", "excl", ["-size", "5", "-nprocs", "3", "-relax",
                         "PodWRPX PodWRXP PodRWPX PodWWXP PodRRXP RfeXP FreXP",
                         "-safe", _SAFE]),
    ("RISCV", "strong", ["-size", "6", "-nprocs", "4", "-relax",
                         "Fence.rw.rwdWR DpAddrdR DpDatadW DpCtrldW PodWRRlAq",
                         "-safe", "Rfe Fre Wse Fence.rw.rwdWW Fence.rw.rwdRR Fence.rw.rwdRW "
                         "Fence.rw.rwdWR Fence.r.rdRR Fence.w.wdWW DpAddrdR DpDatadW PodRRAqP "
                         "PodWWPRl"]),
    ("RISCV", "fence", ["-size", "6", "-nprocs", "4", "-relax",
                        "Fence.rw.rwdWW Fence.rw.rwdWR Fence.rw.rwdRW Fence.rw.rwdRR "
                        "Fence.r.rdRR Fence.r.rwdRW Fence.w.wdWW Fence.rw.wdRW Fence.r.wdRW "
                        "Fence.w.rdWR Fence.tsodWW Fence.tsodRR Fence.tsodWR Fence.tsodRW "
                        "Fence.idRR", "-safe", _SAFE]),
    ("RISCV", "dep", ["-size", "6", "-nprocs", "4", "-relax",
                      "DpAddrdR DpAddrdW DpDatadW DpCtrldW DpCtrldR DpCtrlFenceIdR DpAddrsR "
                      "DpAddrsW DpDatasW DpCtrlsW", "-safe", _SAFE + " Fence.rw.rwdWW"]),
    ("RISCV", "acqrel", ["-size", "6", "-nprocs", "4", "-relax",
                         "PodWWPRl PodRRAqP PodRWAqP PodWRRlAq PodWRARAR RfeRlAq PodWWARAR "
                         "PodRRARP PodWWRlRl PodRRAqAq", "-safe", _SAFE]),
    ("RISCV", "pos", ["-size", "6", "-nprocs", "3", "-relax",
                      "PosWR PosRR PosWW PosRW Rfi Fri Wsi",
                      "-safe", _SAFE + " Fence.rw.rwdWW Fence.rw.rwdRR Fence.rw.rwdWR"]),
    ("RISCV", "amo", ["-size", "6", "-nprocs", "3", "-relax",
                      "Rmw Exch RfePAq RfePAR PodWRRlP PodWRARP",
                      "-safe", _SAFE + " Fence.rw.rwdWR"]),
    ("RISCV", "asamo", ["-variant", "AsAmo", "-size", "6", "-nprocs", "4", "-relax",
                        "PodWWPRl PodRRAqP PodRWAqP PodWRRlAq RfeRlAq PodWRARAR",
                        "-safe", _SAFE]),
    ("RISCV", "lrsc", ["-size", "5", "-nprocs", "3", "-relax",
                       "PodWRPX PodWRXP PodRWPX PodWWXP PodRRXP PodWRPXAqRl PodWRXAqRlP "
                       "RfeXP FreXP", "-safe", _SAFE]),
    ("X86", "fence", ["-size", "6", "-nprocs", "4", "-relax",
                      "MFencedWR MFencedWW MFencedRR MFencedRW PodWR",
                      "-safe", "Rfe Fre Wse PodWW PodRW PodRR"]),
    ("X86", "pos", ["-size", "6", "-nprocs", "4", "-relax",
                    "PosWR PosRR PosWW PosRW Rfi Fri Wsi", "-safe", _SAFE + " MFencedWR"]),
    ("X86", "atomic", ["-size", "6", "-nprocs", "3", "-relax",
                       "Rmw Exch PodWRAP PodWWAA PodWWPA PodRWPA",
                       "-safe", _SAFE + " MFencedWR"]),
    ("X86", "long", ["-size", "8", "-nprocs", "4", "-relax", "PodWR MFencedWR Rfi",
                     "-safe", "Rfe Fre Wse PodWW PodRW PodRR"]),
]

# herd's models per architecture: (the oracle's model name, the cat file).
MODELS = {"AArch64": (("aarch64", "aarch64.cat"), ("sc", "sc-amo.cat")),
          "RISCV": (("riscv", "riscv.cat"), ("sc", "sc-amo.cat")),
          "X86": (("tso", "x86tso-amo.cat"), ("sc", "sc-amo.cat"))}

COLUMNS = ("name", "path", "arch", "model", "observation", "positive", "negative", "states")


def oracle_cats(libdir: Path, tmp: Path) -> dict:
    """The oracle's variants of herd 7.58's sc.cat and x86tso.cat (see the docstring)."""
    out = {}
    for name, src, old, new in (
            ("sc-amo.cat", "sc.cat", "acyclic po | ((fr | rf | co);sm) as sc",
             "acyclic po | amo | ((fr | rf | co);sm) as sc"),
            ("x86tso-amo.cat", "x86tso.cat", "acyclic po-loc | com\n",
             "acyclic po-loc | amo | com\n")):
        text = (libdir / src).read_text()
        if old not in text:
            raise SystemExit(f"{libdir / src}: `{old.strip()}` not found (not herd 7.58's?)")
        (tmp / name).write_text(text.replace(old, new))
        out[name] = str(tmp / name)
    return out


def run_diy(diy: str, pool: Path) -> dict:
    """{arch: {family: [paths]}} of diy7's tests, generated into ``pool``."""
    out = collections.defaultdict(dict)
    for arch, fam, args in FAMILIES:
        d = pool / arch / fam
        if d.is_dir():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        cmd = [diy, "-arch", arch, "-num", "false", "-ua", "1", *args]
        p = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)}: {p.stderr.strip()}")
        out[arch][fam] = sorted(d.glob("*.litmus"))
        print(f"   diy7 {arch:7} {fam:7}: {len(out[arch][fam])} tests")
    return out


def _code(text: str) -> str:
    return text[text.index("{"):]


def _supported(path: Path):
    from coherence.errors import CoherenceError
    from coherence.litmus import parse_file
    from coherence.litmus.cat.verdict import cat_verdict
    try:
        t = parse_file(path)
        if any(th.can_loop for th in t.threads):
            return "loops"
        cat_verdict(t, "sc")
    except CoherenceError as exc:
        return str(exc)
    return None


def choose(pool: dict, per_arch: int, accept):
    """{arch: [(family, path, name, rows)]}: deduplicated, at most ``per_arch`` per
    architecture, each test ``accept(arch, path, name)``'s rows (or a reason to leave it
    out); a test whose name an earlier one has (the same cycle, another code: diy's AsAmo
    variant) is renamed NAME_FAMILY."""
    chosen, dropped = {}, []
    for arch, fams in pool.items():
        seen, names, queues = set(), set(), []
        for fam, paths in fams.items():
            q = []
            for p in sorted(paths, key=lambda p: hashlib.sha1(p.stem.encode()).hexdigest()):
                code = _code(p.read_text())
                if code in seen:
                    continue
                seen.add(code)
                name = p.stem
                if name in names:  # the same cycle, other code (e.g. diy's AsAmo variant)
                    name = f"{p.stem}_{fam}"
                names.add(name)
                q.append((fam, p, name))
            queues.append(collections.deque(q))
        picked = []
        while any(queues) and (per_arch <= 0 or len(picked) < per_arch):
            for q in queues:
                while q:
                    fam, p, name = q.popleft()
                    got = accept(arch, p, name)
                    if isinstance(got, str):
                        dropped.append((arch, fam, name, got))
                        continue
                    picked.append((fam, p, name, got))
                    break
                if per_arch > 0 and len(picked) >= per_arch:
                    break
        chosen[arch] = picked
    return chosen, dropped


_DIY_LINES = re.compile(r"(Cycle|Safe|Prefetch|Com|Orig)=")


def test_text(arch, path, name, full=False):
    """The test as committed: renamed, and without diy's metadata lines that repeat the
    cycle (``Cycle``, ``Orig``) or only serve litmus7 (``Prefetch``, ``Com``, ``Safe``)
    unless ``full``."""
    text = path.read_text()
    if name != path.stem:
        first, rest = text.split("\n", 1)
        if first != f"{arch} {path.stem}":
            raise SystemExit(f"{path}: first line {first!r}")
        text = f"{arch} {name}\n{rest}"
    if not full:
        head, body = text.split("{", 1)
        head = "".join(ln for ln in head.splitlines(keepends=True)
                       if not _DIY_LINES.match(ln))
        text = head + "{" + body
    return text


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def herd_verdict(herd: str, libdir: Path, cat: str, path: Path, timeout: int = 30):
    """(row fields after arch/model, CPU seconds) or (None, error) for one herd7 call."""
    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (timeout, timeout + 1))
    c0 = _children_cpu()
    p = subprocess.run([herd, "-I", str(libdir), "-model", cat, str(path)],
                       capture_output=True, text=True, preexec_fn=limit)
    cpu = _children_cpu() - c0
    lines = p.stdout.splitlines()
    states, obs = [], None
    for i, ln in enumerate(lines):
        m = re.match(r"States (\d+)$", ln)
        if m:
            states = [s.strip() for s in lines[i + 1:i + 1 + int(m.group(1))]]
        m = re.match(r"Observation \S+ (Never|Sometimes|Always) (\d+) (\d+)", ln)
        if m:
            obs = m.groups()
    if p.returncode != 0 or obs is None:
        return None, (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    return (obs[0], obs[1], obs[2], " | ".join(states)), cpu


def find_tools(bindir):
    def one(name, env):
        if os.environ.get(env):
            return os.environ[env]
        if bindir:
            return str(Path(bindir) / name)
        found = shutil.which(name)
        if not found:
            raise SystemExit(f"{name} not found: give --bin or set ${env}")
        return found
    herd = one("herd7", "HERD7")
    return herd, one("diy7", "DIY7")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", help="folder holding herd7 and diy7")
    ap.add_argument("--libdir", help="herd's libdir (default: PREFIX/share/herdtools7/herd)")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "diy"))
    ap.add_argument("--pool", help="where diy7 writes (default: a temporary folder)")
    ap.add_argument("--per-arch", type=int, default=200, help="tests per architecture (0: all)")
    ap.add_argument("--keep-unsupported", action="store_true",
                    help="keep the tests the project skips")
    ap.add_argument("--times", action="store_true", help="also write herd-times.tsv")
    ap.add_argument("--timeout", type=int, default=30, help="herd7's CPU seconds per call")
    ap.add_argument("--max-states", type=int, default=16,
                    help="leave out tests with more final states under a model (0: no limit)")
    ap.add_argument("--full-metadata", action="store_true",
                    help="keep every diy metadata line (Cycle, Safe, Prefetch, Com, Orig)")
    args = ap.parse_args(argv)
    herd, diy = find_tools(args.bin)
    libdir = Path(args.libdir) if args.libdir else \
        Path(herd).resolve().parent.parent / "share" / "herdtools7" / "herd"
    if not (libdir / "sc.cat").is_file():
        raise SystemExit(f"{libdir}: no sc.cat (give --libdir, herd's libdir)")
    out = Path(args.out)
    rows, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        pool_dir = Path(args.pool) if args.pool else Path(tmp) / "pool"
        print(f"== diy7 ({diy}) into {pool_dir} ==")
        pool = run_diy(diy, pool_dir)
        cats = oracle_cats(libdir, Path(tmp))
        print(f"== herd7 ({herd}), libdir {libdir} ==")
        for arch in pool:
            (out / arch).mkdir(parents=True, exist_ok=True)
            for old in (out / arch).glob("*.litmus"):
                old.unlink()

        def accept(arch, p, name):
            dest = out / arch / f"{name}.litmus"
            dest.write_text(test_text(arch, p, name, args.full_metadata))
            why = None if args.keep_unsupported else _supported(dest)
            got, spent = [], []
            for model, cat in MODELS[arch]:
                if why is not None:
                    break
                v, cpu = herd_verdict(herd, libdir, cats.get(cat, cat), dest, args.timeout)
                if v is None:
                    why = f"herd7 ({model}): {cpu}"
                elif args.max_states and len(v[3].split(" | ")) > args.max_states:
                    why = f"more than {args.max_states} final states ({model})"
                else:
                    rel = dest.relative_to(out).as_posix()
                    got.append((name, rel, arch, model, *v))
                    spent.append((rel, model, f"{cpu:.4f}"))
            if why is not None:
                dest.unlink()
                return why
            times.extend(spent)
            return got

        chosen, dropped = choose(pool, args.per_arch, accept)
        reasons = collections.Counter((a, why.split(":")[0]) for a, _f, _n, why in dropped)
        for (arch, why), k in sorted(reasons.items()):
            print(f"   {arch:7}: left out {k}: {why}")
        for arch in sorted(chosen):
            for _f, _p, _n, got in chosen[arch]:
                rows += got
            counts = collections.Counter(f for f, _p, _n, _g in chosen[arch])
            print(f"   {arch:7}: {len(chosen[arch])} tests "
                  f"({', '.join(f'{f} {n}' for f, n in counts.items())})")
    with open(out / "verdicts.tsv", "w") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        for r in sorted(rows, key=lambda r: (r[1], r[3])):
            fh.write("\t".join(r) + "\n")
    if args.times:
        with open(out / "herd-times.tsv", "w") as fh:
            fh.write("path\tmodel\tcpu_seconds\n")
            for r in times:
                fh.write("\t".join(r) + "\n")
    print(f"   {len(rows)} rows -> {out / 'verdicts.tsv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
