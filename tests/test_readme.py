"""The README's commands work as written (run in a temporary copy of the working directory's
view: outputs go to a temp folder, inputs are the project's files)."""

import os
import re
import shlex
import subprocess
import sys

from conftest import ROOT

README = open(os.path.join(ROOT, "README.md")).read()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_quick_start_is_make_run_and_make_test():
    first = _blocks("sh")[0]
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert "make test" in ci


def test_readme_cli_commands_run(tmp_path):
    bindir = os.path.dirname(sys.executable)
    # PYTHONPATH: the `coherence` script runs this checkout's package even where the
    # installed one is another checkout's (an editable install shared by worktrees)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    lines = [line.split("  #")[0].strip() for block in _blocks("sh")[1:]
             for line in block.splitlines()]
    commands = [line for line in lines if line.startswith("coherence ")]
    assert len(commands) >= 6
    for line in commands:
        argv = shlex.split(line)
        if argv[1] == "sweep":  # results in the temp folder, plotted from there
            if "--plot" in argv:
                argv[argv.index("--plot") + 1] = str(tmp_path / "sweep-results")
            else:
                argv += ["--results", str(tmp_path / "sweep-results"), "-q"]
        for opt in ("--out", "--save-config", "--config", "--stats-file", "--plot"):
            if opt in argv and not (opt == "--plot" and argv[1] == "sweep"):
                # keep the work tree clean: files go to (and come from) tmp_path
                i = argv.index(opt) + 1
                argv[i] = str(tmp_path / os.path.basename(argv[i]))
        if argv[1] == "litmus" and "--enumerate-only" not in argv:
            argv += ["--iterations", "2000"]
        argv = [a.replace("path/to/your/herd/tests", "litmus/x86") for a in argv]
        r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        # `sched` exits 1 when it finds something, which the philosophers example does, and
        # `run --expect` when some run breaks the expectation (Peterson without its fence)
        expected = (0, 1) if argv[1] == "sched" or "--expect" in argv else (0,)
        assert r.returncode in expected, (line, r.stderr[-2000:])
        assert "Traceback" not in r.stderr, line


def test_readme_python_example_runs():
    code = _blocks("python")[0]
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert " 400 " in r.stdout
