"""The benchmarks still run as a user runs them (its figures are not checked here:
timings are never test thresholds; the script itself asserts that compared runs agree)."""

import subprocess
import sys

import pytest

from conftest import ROOT


def test_bench_engine_quick_runs_and_prints_every_figure():
    out = subprocess.run([sys.executable, f"{ROOT}/benchmarks/bench_engine.py", "--quick"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    for figure in ("1. trace, hit-heavy", "2. trace, miss-heavy", "3. program, spinlock",
                   "4a. vs reference model", "4b.", "5. fresh process"):
        assert figure in out.stdout, out.stdout


@pytest.mark.slow
def test_bench_sweep_quick_runs_and_prints_every_figure():
    out = subprocess.run([sys.executable, f"{ROOT}/benchmarks/bench_sweep.py", "--quick"],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    for figure in ("== 0. control", "== 1. sweep of", "== 2. executor overhead", "== 3. SB campaign",
                   "== 4. resume", "second run:"):
        assert figure in out.stdout, out.stdout


def test_bench_network_quick_prints_every_figure_ab_reads():
    """benchmarks/ab.py --bench network reads its figures from bench_network's lines: every
    one of its patterns must find its figure (else an A/B would print '-' for it)."""
    sys.path.insert(0, f"{ROOT}/benchmarks")
    import ab
    out = subprocess.run([sys.executable, f"{ROOT}/benchmarks/bench_network.py", "--quick"],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    found = ab.figures_of(out.stdout, "network")
    assert set(found) == {label for label, _ in ab.NETWORK}, out.stdout
    assert all(x > 0 for x in found.values())
