"""`coherence sweep` and coherence.sweep: the spec as the issue writes it, spec errors with
file:line, results equal to single runs, resumption after a kill, the embedded pool and a real
Dask LocalCluster giving identical tables, a killed Dask worker costing only its tasks, a
scheduler and a worker started as separate processes, and the plot."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import coherence
from coherence import SystemConfig
from coherence.errors import CoherenceError

from conftest import ROOT, run_cli

ISSUE_SPEC = """\
[sweep]
programs = ["examples/spinlock_ttas.s", "examples/false_sharing.s"]   # paths relative to the spec
out = "results"                                                      # the results folder
[axes]                     # any SystemConfig field, plus seed; each a list
protocol = ["msi", "mesi", "moesi"]
cores = [1, 2, 4, 8]
seed = [0, 1]
"""


def project_copy(tmp_path, *names):
    (tmp_path / "examples").mkdir(exist_ok=True)
    for n in names:
        shutil.copy(os.path.join(ROOT, "examples", n), tmp_path / "examples" / n)


def small_spec(tmp_path, extra="", out="res", seeds=(0, 1, 2), cores=(2, 4)):
    """A quick spec over the TTAS spinlock (with timing jitter, so the seeds matter)."""
    project_copy(tmp_path, "spinlock_ttas.s")
    path = tmp_path / "small.toml"
    path.write_text(f"""
[sweep]
programs = ["examples/spinlock_ttas.s"]
out = "{out}"
{extra}
[config]
jitter = 3
start_skew = 10
[axes]
protocol = ["msi", "moesi"]
cores = {list(cores)}
seed = {list(seeds)}
""")
    return path


def test_the_issues_spec_works_as_written(tmp_path):
    project_copy(tmp_path, "spinlock_ttas.s", "false_sharing.s")
    (tmp_path / "spec.toml").write_text(ISSUE_SPEC)
    r = run_cli("sweep", str(tmp_path / "spec.toml"), "-j", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert "48 runs: 0 already done, 48 computed now" in r.stdout
    df = coherence.sweep.load(tmp_path / "results")
    assert len(df) == 48 and df["run_id"].is_unique
    for col in ("protocol", "cores", "seed", "program", "status", "cycles", "bus.BusRd",
                "bus.busy_cycles", "cores.0.misses", "cores.7.misses", "totals.ipc"):
        assert col in df.columns, col
    assert list(df.columns[:8]) == ["run_id", "protocol", "cores", "seed", "program",
                                    "status", "cycles", "error"]
    # Every combination once; the 4-core false-sharing program cannot run on 1 or 2 cores.
    assert set(map(tuple, df[["protocol", "cores", "seed", "program"]].values.tolist())) == {
        (p, c, s, f"examples/{n}") for p in ("msi", "mesi", "moesi") for c in (1, 2, 4, 8)
        for s in (0, 1) for n in ("spinlock_ttas.s", "false_sharing.s")}
    bad = df[df["status"] == "error"]
    assert set(bad["program"]) == {"examples/false_sharing.s"}
    assert set(bad["cores"]) == {1, 2} and len(bad) == 12
    assert bad["error"].str.contains("the program has 4 cores").all()
    # A row is the run: the same numbers as `coherence run --json` of that combination.
    row = df[(df.protocol == "moesi") & (df.cores == 8) & (df.seed == 1)
             & (df.program == "examples/spinlock_ttas.s")].iloc[0]
    one = run_cli("run", str(tmp_path / "examples" / "spinlock_ttas.s"), "--cores", "8",
                  "--protocol", "moesi", "--seed", "1", "--json")
    doc = json.loads(one.stdout)
    assert row["status"] == doc["status"] and row["cycles"] == doc["cycles"]
    assert all(row[f"bus.{k}"] == v for k, v in doc["stats"]["bus"].items())
    assert all(row[f"cores.{c}.{k}"] == v for c, cs in enumerate(doc["stats"]["cores"])
               for k, v in cs.items())
    assert row["memory.counter"] == 800
    # The 8-core false-sharing run has 4 busy cores and 4 idle ones.
    fs = df[(df.program == "examples/false_sharing.s") & (df.cores == 8)].iloc[0]
    assert fs["cores.3.stores"] == 1000 and fs["cores.7.instructions"] == 0
    # Running it again computes nothing.
    r = run_cli("sweep", str(tmp_path / "spec.toml"), "-j", "1", "-q", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["computed"] == 0
    assert json.loads(r.stdout)["skipped"] == 48


@pytest.mark.parametrize("text,line,needle", [
    ("[sweep]\nprograms = ['p.s']\n[axes]\nprotocl = ['msi']\n", 4, "unknown axis 'protocl'"),
    ("[sweep]\nprograms = ['p.s']\n[axes]\ncores = [2]\nprotocol = ['msi', 'mesx']\n", 5,
     "axes.protocol: 'mesx'"),
    ("[sweep]\nprograms = ['p.s']\n[axes]\ncores = [2, 100]\n", 4, "cores must be in 1..64"),
    ("[sweep]\nprograms = ['p.s']\nbatch = -1\n", 3, "sweep.batch"),
    ("[sweep]\nprograms = ['p.s']\nouts = 'r'\n", 3, "unknown key sweep.outs"),
    ("[sweep]\nprograms = ['missing.s']\n", 2, "no such file"),
    ("[sweep]\nprograms = ['p.s']\n[axes]\nseed = [0,\n  1,\n  x]\n", 6, "invalid TOML"),
    ("[sweep]\nprograms = ['p.s']\n[axis]\nseed = [0]\n", 3, "unknown table [axis]"),
    ("[sweep]\nprograms = ['p.s']\n[axes]\nseed = { start = 3, stop = 1 }\n", 4,
     "the range is empty"),
    ("[sweep]\nprograms = ['p.s']\n[config]\nl1_size = 1000\n", 4, "l1_size must be"),
    ("[sweep]\nout = 'r'\n", 1, "names no workload"),
])
def test_spec_mistakes_are_one_line_with_file_and_line(tmp_path, text, line, needle):
    (tmp_path / "p.s").write_text(".core all\n  halt\n")
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    r = run_cli("sweep", str(spec), "-q")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    message = r.stderr.strip()
    assert "\n" not in message and message.startswith(f"coherence: {spec}:{line}: "), message
    assert needle in message


def test_a_bad_program_is_reported_at_its_own_line(tmp_path):
    (tmp_path / "p.s").write_text(".core all\n  halt\n  lod r1, [x]\n")
    spec = tmp_path / "s.toml"
    spec.write_text("[sweep]\nprograms = ['p.s']\nout = 'r'\n[axes]\ncores = [1, 2]\n")
    r = run_cli("sweep", str(spec), "-q")
    assert r.returncode == 2 and r.stderr.strip().startswith("coherence: p.s:3: unknown instr")


def test_ranges_keep_globs_traces_and_generated_workloads(tmp_path):
    trace = tmp_path / "t.trace"
    trace.write_text("# core op addr\n0 W 0x40\n1 R 64\n1 W 0x40\n0 R 0x1000\n")
    spec = {"sweep": {"traces": [str(trace)], "keep": ["bus.*", "totals.ipc", "nope.*"]},
            "generate": [{"name": "rnd", "accesses": 300, "shared": 0.5, "seed": 4}],
            "axes": {"cores": {"start": 2, "stop": 8, "mul": 2},
                     "l1_ways": {"start": 1, "stop": 8, "step": 7},
                     "l1_size": [256, 32768]}}
    df = coherence.sweep(spec, jobs=1)
    assert len(df) == 2 * 3 * 2 * 2 and set(df["cores"]) == {2, 4, 8}
    assert set(df["l1_ways"]) == {1, 8}
    # 256 bytes cannot hold 8 ways of 64-byte lines: those rows say so; the others ran.
    impossible = (df.l1_ways == 8) & (df.l1_size == 256)
    assert (df[impossible]["status"] == "error").all() and impossible.sum() == 6
    assert df[impossible]["error"].str.contains("l1_size must be").all()
    assert (df[~impossible]["status"] == "halted").all()
    assert not [c for c in df.columns if c.startswith("cores.")]
    assert {"bus.BusRd", "totals.ipc"} <= set(df.columns)
    assert df.attrs["summary"]["unmatched_keep"] == ["nope.*"]
    from coherence.sweep.traces import generate, load_trace
    w, a = load_trace(str(trace))
    direct = coherence.run_trace(w, a, SystemConfig(cores=4, l1_ways=1, l1_size=256))
    row = df[(df.program == str(trace)) & (df.cores == 4) & (df.l1_ways == 1)
             & (df.l1_size == 256)].iloc[0]
    assert row["cycles"] == direct.cycles and row["bus.BusRdX"] == direct.stats["bus"]["BusRdX"]
    w, a = generate({"accesses": 300, "footprint": 16384, "shared": 0.5,
                     "shared_footprint": 4096, "writes": 0.3, "seed": 4}, 8)
    direct = coherence.run_trace(w, a, SystemConfig(cores=8, l1_ways=1, l1_size=256))
    row = df[(df.program == "rnd") & (df.cores == 8) & (df.l1_ways == 1)
             & (df.l1_size == 256)].iloc[0]
    assert row["cycles"] == direct.cycles and row["bus.busy_cycles"] == direct.stats["bus"][
        "busy_cycles"]


def _wait_for_part(folder, proc, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.isdir(folder) and any(f.endswith(".parquet") for f in os.listdir(folder)):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def test_killed_at_any_point_a_rerun_continues_without_loss_or_duplicates(tmp_path):
    # Many small batches, each committed as it comes; the sweep is killed (SIGKILL, its
    # whole process group: the pool's workers too) once the first chunk is in the folder.
    spec = small_spec(tmp_path, extra="batch = 2\ncommit = 0", seeds=range(24), cores=(8, 16))
    out = tmp_path / "res"
    proc = subprocess.Popen([sys.executable, "-m", "coherence", "sweep", str(spec), "-j", "2",
                             "-q"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for_part(out, proc), proc.communicate()[1][-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    # A chunk its writer did not finish: never a result, whatever it holds.
    (out / "part-999999-dead.parquet.tmp").write_bytes(b"PAR1 half a chunk")
    r = run_cli("sweep", str(spec), "-j", "2", "-q", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["runs"] == 2 * 2 * 24
    assert 0 < s["skipped"] < s["runs"] and s["computed"] == s["runs"] - s["skipped"]
    assert not any(f.endswith(".tmp") for f in os.listdir(out))
    resumed = coherence.sweep.load(out)
    assert len(resumed) == s["runs"] and resumed["run_id"].is_unique
    undisturbed = coherence.sweep(spec, jobs=1, out=tmp_path / "ref")
    pd.testing.assert_frame_equal(resumed, undisturbed)
    # A chunk removed by hand: its runs are computed again, the others are not.
    part = sorted(f for f in os.listdir(out) if f.endswith(".parquet"))[0]
    lost = len(pd.read_parquet(out / part))  # a chunk is plain Parquet
    os.remove(out / part)
    again = coherence.sweep(spec, jobs=1)
    assert again.attrs["summary"]["computed"] == lost
    pd.testing.assert_frame_equal(again, undisturbed)


@pytest.fixture(scope="module")
def local_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_identical_results_inline_pool_and_dask_local_cluster(tmp_path, local_cluster):
    spec = small_spec(tmp_path)
    inline = coherence.sweep(spec, jobs=1, out=tmp_path / "a")
    pool = coherence.sweep(spec, jobs=2, out=tmp_path / "b")
    dask = coherence.sweep(spec, client=local_cluster, out=tmp_path / "c")
    assert dask.attrs["summary"]["executor"] == "dask" and dask.attrs["summary"]["workers"] == 2
    assert pool.attrs["summary"]["executor"] == "pool"
    assert len(inline) == 12 and inline["seed"].nunique() == 3
    assert inline["cycles"].nunique() > 2  # the seeds change the timing
    pd.testing.assert_frame_equal(inline, pool)
    pd.testing.assert_frame_equal(inline, dask)
    pd.testing.assert_frame_equal(inline, coherence.sweep.load(tmp_path / "c"))


def test_a_dask_worker_killed_mid_sweep_costs_only_its_tasks(tmp_path, local_cluster):
    spec = small_spec(tmp_path, extra="batch = 1", seeds=range(10), cores=(4, 8))
    pids = local_cluster.run(os.getpid)
    killed = []

    def kill_one(done, total):
        if not killed and done >= 2:
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    df = coherence.sweep(spec, client=local_cluster, out=tmp_path / "k", callback=kill_one)
    assert killed, "the sweep ended before a worker could be killed"
    local_cluster.wait_for_workers(2, timeout=60)
    assert killed[0] not in local_cluster.run(os.getpid).values()  # it really died
    s = df.attrs["summary"]
    assert s["failed"] == 0 and s["computed"] == s["runs"] == 40
    undisturbed = coherence.sweep(spec, jobs=1, out=tmp_path / "ref")
    pd.testing.assert_frame_equal(df, undisturbed)


def test_a_pool_worker_killed_mid_sweep_is_replaced_and_its_tasks_rerun(tmp_path):
    import multiprocessing
    spec = small_spec(tmp_path, extra="batch = 1", seeds=range(8), cores=(4, 8))
    killed = []

    def kill_one(done, total):
        pool = [p for p in multiprocessing.active_children()
                if p.name == "coherence-pool-worker"]
        if not killed and done >= 2 and pool:
            os.kill(pool[0].pid, signal.SIGKILL)
            killed.append(pool[0].pid)

    df = coherence.sweep(spec, jobs=2, out=tmp_path / "k", callback=kill_one)
    assert killed
    s = df.attrs["summary"]
    assert s["restarts"] == 1 and s["failed"] == 0 and s["computed"] == s["runs"] == 32
    undisturbed = coherence.sweep(spec, jobs=1, out=tmp_path / "ref")
    pd.testing.assert_frame_equal(df, undisturbed)


def test_a_sweep_through_a_scheduler_and_a_worker_started_by_hand(tmp_path):
    pytest.importorskip("distributed")
    bindir = os.path.dirname(sys.executable)
    dask = os.path.join(bindir, "dask")
    env = dict(os.environ, PYTHONPATH=ROOT)  # the worker imports this checkout's package
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        end = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        spec = small_spec(tmp_path)
        procs.append(subprocess.Popen(
            [dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        r = run_cli("sweep", str(spec), "--cluster", address, "-q", "--json", timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        s = json.loads(r.stdout)
        assert s["executor"] == "dask" and s["computed"] == 12 and s["failed"] == 0
        remote = coherence.sweep.load(tmp_path / "res")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    local = coherence.sweep(spec, jobs=1, out=tmp_path / "ref")
    pd.testing.assert_frame_equal(remote, local)


def test_an_unreachable_scheduler_and_a_bad_cluster_are_one_line(tmp_path):
    spec = small_spec(tmp_path)
    for cluster, needle in (("tcp://127.0.0.1:9", "cannot reach the Dask scheduler"),
                            ("nowhere", "expected local, local:N or a scheduler address")):
        r = run_cli("sweep", str(spec), "--cluster", cluster, "-q")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert needle in r.stderr and r.stderr.strip().count("\n") == 0


def test_a_second_sweep_on_a_folder_in_use_is_refused(tmp_path):
    from coherence.sweep.store import Store
    spec = small_spec(tmp_path)
    with Store(tmp_path / "res"):
        r = run_cli("sweep", str(spec), "-j", "1", "-q")
    assert r.returncode == 2 and "in use by another sweep" in r.stderr


def test_plot_a_results_folder(tmp_path, capsys):
    from test_plot import check_png
    spec = small_spec(tmp_path)
    coherence.sweep(spec, jobs=1)
    out = tmp_path / "plot.png"
    r = run_cli("sweep", "--plot", str(tmp_path / "res"), "--x", "cores", "--y",
                "bus.busy_cycles", "--hue", "protocol", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(f"wrote {out}")
    check_png(out)
    # The function behind it draws one line per protocol through the seeds' means.
    from coherence import plot
    df = coherence.sweep.load(tmp_path / "res")
    fig = plot.plot_sweep(df, "cores", "bus.busy_cycles", hue="protocol")
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["moesi", "msi"]
    means = df[df.protocol == "msi"].groupby("cores")["bus.busy_cycles"].mean()
    assert np.allclose(lines[1].get_ydata(), means.values)
    from coherence.cli import main as cli_main
    status = cli_main(["sweep", "--plot", str(tmp_path / "res"), "--x", "cores", "--y", "nope",
                       "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("coherence: --y nope: no such column")
    assert err.count("\n") == 1


def test_sweep_module_is_callable_and_load_rejects_a_non_results_folder(tmp_path):
    assert callable(coherence.sweep) and callable(coherence.sweep.load)
    with pytest.raises(CoherenceError, match="not a sweep results folder"):
        coherence.sweep.load(tmp_path)


@pytest.mark.slow
def test_a_cluster_without_workers_ends_the_sweep_instead_of_waiting(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from coherence.sweep import executors
    monkeypatch.setattr(executors, "NO_WORKERS_TIMEOUT", 2.0)
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    env = dict(os.environ, PYTHONPATH=ROOT)
    sched_file = tmp_path / "scheduler.json"
    sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                              "--no-dashboard", "--scheduler-file", str(sched_file)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        end = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        spec = small_spec(tmp_path, extra="batch = 1", seeds=range(20), cores=(8,))
        # No worker yet: the sweep says so instead of waiting forever.
        with pytest.raises(CoherenceError, match="has no workers"):
            coherence.sweep(spec, cluster=address, out=tmp_path / "none")
        # No nanny: a killed worker is not restarted, and the cluster has none left.
        worker = subprocess.Popen([dask, "worker", address, "--no-nanny", "--nthreads", "1",
                                   "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)

        def kill(done, total):
            if done == 2:
                worker.kill()

        df = coherence.sweep(spec, cluster=address, callback=kill)
    finally:
        for p in (worker, sched):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
    s = df.attrs["summary"]
    assert s["failed"] > 0 and s["computed"] + s["failed"] == s["runs"]
    assert "no worker for 2 s" in s["failures"][0]
    assert len(df) == s["computed"]  # the table holds the finished runs only


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_runs_and_says_how_to_continue(tmp_path):
    spec = small_spec(tmp_path, extra="batch = 2\ncommit = 0", seeds=range(60), cores=(8, 16))
    out = tmp_path / "res"
    proc = subprocess.Popen([sys.executable, "-m", "coherence", "sweep", str(spec), "-j", "2"],
                            cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for_part(out, proc)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130 and "Traceback" not in err
    assert "run the same command again to continue" in err
    kept = len(coherence.sweep.load(out))
    r = run_cli("sweep", str(spec), "-j", "2", "-q", "--json")
    s = json.loads(r.stdout)
    assert s["skipped"] == kept > 0 and s["computed"] == s["runs"] - kept
