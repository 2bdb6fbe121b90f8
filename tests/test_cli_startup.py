"""What the command line imports at start-up, seen as a user runs it (subprocess).

``--help`` at any level must not import numpy, numba or matplotlib (they cost most of the start
time); ``coherence run`` imports numba for its kernels but neither matplotlib nor the litmus
and scheduler packages.  The lazy packages must still offer every public name.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

HEAVY = {"numpy", "numba", "matplotlib", "dask", "distributed", "pandas", "pyarrow"}


def imported_modules(*args):
    """``python -X importtime -m coherence ARGS``: (the completed process, imported modules)."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "coherence", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    modules, other = set(), []
    for line in r.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            if name != "imported package":
                modules.add(name)
        else:
            other.append(line)
    r.stderr = "\n".join(other)
    return r, modules


def roots(modules):
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("args", [
    ("--help",), ("--version",), ("run", "--help"), ("protocol", "--help"),
    ("protocol", "show", "--help"), ("litmus", "--help"), ("sched", "--help"),
    ("plot", "--help"), ("plot", "compare", "--help"), ("plot", "scaling", "--help"),
    ("sweep", "--help"),
], ids=" ".join)
def test_help_imports_no_numpy_numba_or_matplotlib(args):
    r, modules = imported_modules(*args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(("usage: coherence", "coherence "))
    assert "coherence.cli" in modules  # the parse saw the command line's own imports
    assert roots(modules) & HEAVY == set()


def test_run_imports_numba_but_not_matplotlib_litmus_or_sched():
    r, modules = imported_modules("run", "examples/spinlock_ttas.s", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "halted"
    assert {"numpy", "numba"} <= roots(modules)
    assert "matplotlib" not in roots(modules)
    assert {m for m in modules if m.startswith(("coherence.litmus", "coherence.sched"))} == set()


def test_a_users_mistake_still_reads_one_line_with_the_lazy_imports(tmp_path):
    bad = tmp_path / "bad.s"
    bad.write_text(".core 0\n  lod r1, [x]\n")
    r, _modules = imported_modules("run", str(bad))
    assert r.returncode == 2
    message = r.stderr.strip()
    assert "\n" not in message and message.startswith(f"coherence: {bad}:2: unknown instruction")


def test_options_before_the_command_and_typos_see_every_command():
    # These lines do not start with a command, so the parser must know all of them.
    r = subprocess.run([sys.executable, "-m", "coherence", "-h", "run"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "{run,protocol,compile,litmus,sched,plot,sweep}" in r.stdout
    r = subprocess.run([sys.executable, "-m", "coherence", "rn"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stdout == ""
    message = r.stderr.strip()
    assert "\n" not in message and "invalid choice: 'rn'" in message
    assert all(c in message.split("choose from", 1)[1]
               for c in ("run", "protocol", "litmus", "sched", "plot", "sweep"))


def test_the_command_table_matches_what_the_areas_register():
    from coherence import cli
    full = cli.build_parser()
    sub = next(a for a in full._actions if a.dest == "command")
    assert tuple(sub.choices) == cli.COMMANDS
    for command in cli.COMMANDS:
        one = cli.build_parser(command)
        assert command in next(a for a in one._actions if a.dest == "command").choices


def test_defaults_spelled_in_the_clis_match_their_owners():
    # The command lines spell these to stay free of numpy; the owners are the truth.
    code = ("import coherence.litmus.cli as L, coherence.litmus.campaign as C, "
            "coherence.sched.cli as S, coherence.sched as sched\n"
            "print(L.DEFAULT_ITERATIONS == C.DEFAULT_ITERATIONS and L.DEFAULT_CHUNK == C.CHUNK, "
            "tuple(S.POLICIES) == tuple(sched.POLICIES))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]


@pytest.mark.parametrize("package", ["coherence", "coherence.litmus", "coherence.sched",
                                     "coherence.sweep"])
def test_lazy_packages_offer_every_public_name(package):
    code = (f"import sys, {package} as p\n"
            "missing = [n for n in p.__all__ if n not in dir(p)]\n"
            f"ns = {{}}; exec('from {package} import *', ns)\n"
            "print(missing, sorted(set(p.__all__) - set(ns)))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0] == "[] []"


def test_import_coherence_cli_imports_nothing_heavy_yet_attributes_still_resolve():
    code = ("import sys, coherence, coherence.cli, coherence.litmus, coherence.sched\n"
            "before = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'numpy', 'numba', 'matplotlib'})\n"
            "from coherence import MESI, SystemConfig, run\n"
            "ok = [coherence.run is coherence.engine.run, callable(coherence.litmus.parse_text),"
            " coherence.sched.simkernel.__name__ == 'coherence.sched.simkernel']\n"
            "print(before, all(ok))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[] True"


def test_sched_check_stays_the_function_whoever_imports_its_module_first():
    # The submodule coherence.sched.check shares the function's name; importing it first (as
    # `coherence sched` does) must not leave the module in the package's attribute.
    code = ("import sys, coherence.sched.check\n"
            "from coherence import sched\n"
            "module = sys.modules['coherence.sched.check']\n"
            "print(callable(sched.check), sched.check is module.check)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]
