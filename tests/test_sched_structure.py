"""How the scheduler package is built: its numba cache stays correct, no import cycles, one
state layout, and numba flags from one place."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap

from conftest import ROOT

PKG = os.path.join(ROOT, "coherence")
SCHED = os.path.join(PKG, "sched")


def _sched_files():
    return sorted(os.path.join(SCHED, f) for f in os.listdir(SCHED) if f.endswith(".py"))


def _module_name(path: str) -> str:
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    return ".".join(rel)


def _imports(path: str) -> set:
    """Every module ``path`` imports, at module level or inside functions (a lazy import is
    still a cycle), except under ``if TYPE_CHECKING:``."""
    name = _module_name(path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    tree = ast.parse(open(path).read(), path)
    out = set()

    def visit(node):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            if node.module:  # `from . import ops` imports the submodule, not the package
                out.add(mod)
            for alias in node.names:
                out.add(f"{mod}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def test_no_import_cycles_among_the_scheduler_and_plot_modules():
    files = _sched_files() + [os.path.join(PKG, "plot.py")]
    modules = {_module_name(f): f for f in files}
    graph = {m: sorted(_imports(f) & set(modules)) for m, f in modules.items()}
    assert "coherence.sched.gantt" in graph["coherence.sched"]  # the walk sees lazy imports

    cycles = []
    state = {}

    def dfs(m, path):
        state[m] = "open"
        for n in graph[m]:
            if state.get(n) == "open":
                cycles.append(path[path.index(n):] + [n])
            elif n not in state:
                dfs(n, path + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            dfs(m, [m])
    assert cycles == []


def test_the_thread_state_layout_is_defined_once():
    layout = os.path.join(SCHED, "layout.py")
    for path in _sched_files():
        source = open(path).read()
        assert "* 4]" not in source and "t * 4" not in source, path
        if path == layout:
            continue
        for node in ast.walk(ast.parse(source, path)):
            if isinstance(node, ast.Assign) and node.col_offset == 0:
                names = {t.id for tgt in node.targets
                         for t in (tgt.elts if isinstance(tgt, ast.Tuple) else [tgt])
                         if isinstance(t, ast.Name)}
                assert not names & {"TW", "THREAD_FIELDS", "RW_WORDS"}, (path, names)
                assert not any(n.startswith(("L_", "T_", "RW_")) for n in names), (path, names)


def test_every_numba_decorator_of_the_scheduler_comes_from_coherence_jit():
    for path in _sched_files():
        for mod in _imports(path):
            assert mod.split(".")[0] != "numba", path


# A scheduler kernel (explorekernel.settled) calling helpers of another file (semantics.py);
# prints what it answers and whether numba compiled it or loaded it from the disk cache.
_PROBE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import coherence
    assert coherence.__file__.startswith(sys.argv[1]), coherence.__file__
    from coherence.sched import Scenario, Thread, compile_scenario
    from coherence.sched import explorekernel as X
    p = compile_scenario(Scenario("t", [Thread("T1", ["acquire A", "release A"])]))
    one = np.ones(1, np.int64)
    ok = X.settled(p.init.reshape(1, -1).copy(), one, p.code, p.tstart, p.layout, one)
    stats = X.settled.stats
    print(json.dumps({"settled": bool(ok[0]), "hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values())}))
""")


def test_editing_a_callee_in_another_file_recompiles_the_cached_caller(tmp_path):
    shutil.copytree(PKG, tmp_path / "coherence", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
               COHERENCE_JIT_CACHE="1")

    def probe():
        r = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path)], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    # T1 can take its lock, so the state is not a settled blocked one.
    assert probe() == {"settled": False, "hits": 0, "misses": 1}   # compiled, cached
    assert probe() == {"settled": False, "hits": 1, "misses": 0}   # loaded from the cache
    # Edit the callee only: `enabled` now says no thread can ever step.  numba's own stamp
    # (the caller's file) would load the stale machine code and still answer False.
    semantics = tmp_path / "coherence" / "sched" / "semantics.py"
    source = semantics.read_text()
    head = "def enabled(st, t, code, tstart, layout):\n"
    assert head in source
    semantics.write_text(source.replace(head, head + "    return False  # the test's edit\n"))
    assert probe() == {"settled": True, "hits": 0, "misses": 1}
