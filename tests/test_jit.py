"""The JIT layer (coherence/_jit.py): a cache that stays correct across files, and a first
compile that says so instead of staying silent."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from conftest import ROOT

PKG = os.path.join(ROOT, "coherence")

# Builds a machine and calls the engine's smallest kernel, whose helper lives in another file
# of the engine (_check.coherent_memory); prints what it returned and where it came from.
_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from coherence import SystemConfig
from coherence.engine import Machine, _kernel as K
m = Machine(SystemConfig(cores=1), 4, True, False, 0, False)
m.mem[:] = [1, 2, 3, 4]
out = np.zeros(4, np.int64)
K._coherent_memory(out, *m.flat())
st = K._coherent_memory.stats
print(json.dumps({"out": out.tolist(), "hits": sum(st.cache_hits.values()),
                  "misses": sum(st.cache_misses.values())}))
"""


def test_editing_an_engine_helper_in_another_file_recompiles_the_cached_kernel(tmp_path):
    shutil.copytree(PKG, tmp_path / "coherence", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
               COHERENCE_JIT_CACHE="1")

    def probe():
        r = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path)], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    assert probe() == {"out": [1, 2, 3, 4], "hits": 0, "misses": 1}   # compiled, cached
    assert probe() == {"out": [1, 2, 3, 4], "hits": 1, "misses": 0}   # loaded
    check = tmp_path / "coherence" / "engine" / "_check.py"
    source = check.read_text()
    line = "        out[k] = mem[k]\n"
    assert line in source
    check.write_text(source.replace(line, "        out[k] = mem[k] + 10  # the test's edit\n"))
    # numba's own stamp (the kernel's file, _kernel.py) would load the stale code: [1, 2, 3, 4]
    assert probe() == {"out": [11, 12, 13, 14], "hits": 0, "misses": 1}


def test_a_first_compile_says_so_on_stderr(capsys):
    from numba import njit

    from coherence._jit import ensure_compiled

    @njit(cache=False)
    def kernel(a, *rest):
        return a[0] + len(rest)

    ensure_compiled(kernel, (np.zeros(3), np.zeros(2)), what="a test kernel", notice_after=0.0)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("coherence: compiling a test kernel once")
    assert err[1].startswith("coherence: compiled a test kernel in")
    assert kernel(np.ones(3), np.zeros(2)) == 2.0
    assert len(kernel.overloads) == 1   # the call found the signature ensure_compiled made
    ensure_compiled(kernel, (np.zeros(3), np.zeros(2)), what="a test kernel", notice_after=0.0)
    assert capsys.readouterr().err == ""   # loaded in this process: nothing to say


def test_coherence_compile_through_the_command_line():
    from conftest import run_cli
    r = run_cli("compile", "-q")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run_cli("compile", "-j", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--jobs" in r.stderr


def test_opaque_and_prefetch_change_no_value():
    """_jit's two intrinsics: opaque(x) is x, and prefetch (any dtype and rank, an index
    past the end too: a prefetch does not fault) leaves every value as it was."""
    from numba import njit

    from coherence._jit import opaque, prefetch

    @njit
    def walk(a, b, c):
        s = 0
        for i in range(a.shape[0]):
            prefetch(a, i + 8)
            prefetch(b, 4 * i)
            prefetch(c, (i + 1) << 20)
            s += opaque(a[i]) + b[i, 0] + c[0, 0, i % 3]
        return s

    a = np.arange(100, dtype=np.int64)
    b = np.ones((100, 4), dtype=np.int16)
    c = np.arange(3, dtype=np.uint8).reshape(1, 1, 3)
    before = (a.copy(), b.copy(), c.copy())
    assert walk(a, b, c) == a.sum() + 100 + sum(i % 3 for i in range(100))
    for x, y in zip((a, b, c), before):
        assert np.array_equal(x, y)
