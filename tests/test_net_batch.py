"""run_batch on the message interconnects: the batch kernel (_batch_net: every run restored
from the pristine machine inside one kernel call) against its definition, the runs one at a
time from a machine built anew (run_net_batch_each), value for value and status for status,
one RNG stream for both."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coherence
from coherence import SystemConfig, assemble
from coherence.engine import _layout, observation_arrays
from coherence.engine import net as netmod
from coherence.testing import programs

from test_net_agreement import net_configs

FAST = dict(deadline=None, suppress_health_check=list(HealthCheck))


def observations(program, cores):
    """Every register r1..r3 of every core and every symbol's first word."""
    obs = [("reg", c, r) for c in range(cores) for r in (1, 2, 3)]
    return obs + [("mem", s) for s in program.symbol_names]


def both(program, config, iterations, seed):
    """(batch kernel, one at a time): each (values, status codes)."""
    obs = observations(program, config.cores)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = coherence.run_batch(program, config, iterations, seed=seed, observe=obs,
                                   status_codes=True)
        kinds, a, b = observation_arrays(obs, _layout(program, config)[0], config)
        each = netmod.run_net_batch_each(program, config, iterations, seed, kinds, a, b)
    return fast, each


def same(fast, each):
    assert np.array_equal(fast[1], each[1])
    assert np.array_equal(fast[0], each[0])


@settings(max_examples=60, **FAST)
@given(programs(), net_configs(), st.integers(0, 2**32), st.integers(1, 12))
def test_batches_are_their_runs_one_at_a_time(program, config, seed, iterations):
    """Random programs and machines (watchdog endings included): nothing a run leaves in the
    machine reaches the next."""
    same(*both(program, config.replace(timeline_window=0), iterations, seed))


@pytest.mark.parametrize("interconnect", ["split-bus", "directory"])
def test_a_full_pool_runs_the_same_run_again_bigger(monkeypatch, interconnect):
    """A pool of 2 messages fills in every run: each runs again with twice the pool from its
    own generator state, so the batch is still its runs one at a time."""
    prog = assemble(".data\nx: 0\ny: 0\n.cores 4\n.core all\n ld r1, [x]\n st [y], r1\n"
                    " faa r2, [x], 1\n ld r3, [y]\n")
    cfg = SystemConfig(cores=4, interconnect=interconnect, protocol="msi", jitter=3,
                       start_skew=5, model="tso", drain_delay=4)
    ref = both(prog, cfg, 30, 11)
    monkeypatch.setattr(netmod, "MIN_POOL", 2)
    monkeypatch.setattr(netmod, "POOL_PER_NODE", 0)
    small = both(prog, cfg, 30, 11)
    same(*small)
    same(small[0], ref[0])
    halted = coherence.engine.STATUS_NAMES.index("halted")
    assert (ref[0][1] == halted).all() and (ref[0][0][:, 12] == 4).all()  # x: four faa


def test_a_paused_batch_resumes_the_run_it_paused(monkeypatch):
    """Kernels return to Python every few steps (Ctrl-C); a batch resumes the run it was in."""
    prog = assemble(".data\nx: 0\n.cores 3\n.core all\n faa r1, [x], 1\n ld r2, [x]\n")
    cfg = SystemConfig(cores=3, interconnect="directory", jitter=2)
    ref = both(prog, cfg, 20, 5)
    import coherence.engine as eng
    monkeypatch.setattr(eng, "SLICE", 3)
    small = both(prog, cfg, 20, 5)
    same(*small)
    same(small[0], ref[0])


@pytest.mark.parametrize("interconnect", ["split-bus", "directory"])
def test_many_runs_in_one_kernel_call(interconnect, tmp_path):
    """8,000 runs of a litmus campaign in one call of the batch kernel, in a process of its
    own: the kernel's stack does not grow with the runs (literal_unroll's stack slots, once
    left in the loop of runs, overflowed an 8 MB stack after about 2,100 runs: a segfault
    in `coherence litmus --runs 20000 --interconnect split-bus`), and the values are those
    of the same runs in calls of one run each."""
    script = tmp_path / "many.py"
    script.write_text(f'''
import resource, warnings
import numpy as np
import coherence, coherence.engine as E
from coherence.litmus import parse_file
from coherence.litmus.campaign import campaign_config, campaign_program
hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
soft = 8 << 20 if hard == resource.RLIM_INFINITY else min(8 << 20, hard)
resource.setrlimit(resource.RLIMIT_STACK, (soft, hard))
test = parse_file({os.path.join(os.path.dirname(__file__), "..", "litmus", "x86", "SB.litmus")!r})
program, _names, spec, _text = campaign_program(test)
cfg = campaign_config(2, "tso", "mesi", (20, 4, 120, 8), interconnect={interconnect!r})
warnings.simplefilter("ignore")
E.BATCH_FIRST_CALL, E.BATCH_CALL_SECONDS = 8000, 0.0
big = coherence.run_batch(program, cfg, 8000, seed=3, observe=spec, status_codes=True)
E.BATCH_FIRST_CALL = 1
small = coherence.run_batch(program, cfg, 8000, seed=3, observe=spec, status_codes=True)
assert np.array_equal(big[0], small[0]) and np.array_equal(big[1], small[1])
print("ok")
''')
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=900, cwd=root, env=env)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), (
        proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
