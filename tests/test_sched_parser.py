"""Scenario files: parsing, validation, and errors that point at file:line."""

import os
import subprocess
import sys

import pytest

from coherence.errors import CoherenceError
from coherence.sched import Scenario, Thread, load, loads
from coherence.sched.ops import OpSyntaxError, parse_op

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = """\
[scenario]
name = "x"
policy = "fifo"

[semaphores]
S = 1

[flags]
go = true

[[thread]]
name = "T1"
ops = [
  "acquire A",
  "try_acquire B else out",
  "release B",
  "label out:",
  "release A",
  "sem_wait S",
  "sem_post S",
]

[[thread]]
name = "T2"
ops = ["if_flag go goto end", "wait C A", "label end:", "acquire B", "release B"]
"""


def error_of(text, file="scn.toml"):
    with pytest.raises(CoherenceError) as info:
        loads(text, file=file)
    return info.value


def replace_line(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_good_file_parses_with_resources_and_labels():
    sc = loads(GOOD, file="good.toml")
    prog = sc.compile()
    assert prog.thread_names == ["T1", "T2"]
    assert prog.mutexes == ["A", "B"] and prog.semaphores == ["S"] and prog.conditions == ["C"]
    assert prog.flags == ["go"]
    assert len(prog.ops[0]) == 6  # the label is not an op
    assert prog.lines[0][3] == line_of(GOOD, '"release A"')
    assert sc.policy == "fifo" and sc.semaphores == {"S": 1} and sc.flags == {"go": True}


@pytest.mark.parametrize("old,new,needle,words", [
    ('"release B",', '"relase B",', "relase", ["unknown op 'relase'", "expected one of"]),
    ('"sem_post S",', '"compute two",', "compute two", ["bad number 'two'", "positive integer"]),
    ('"sem_post S",', '"compute 0",', "compute 0", ["bad number '0'", "positive integer"]),
    ('"sem_post S",', '"sleep -3",', "sleep -3", ["bad number"]),
    ('"try_acquire B else out",', '"try_acquire B else nowhere",', "nowhere",
     ["undefined label 'nowhere'", "expected a `label nowhere:`"]),
    ('"release A",', '"release Q",', "release Q", ["undefined lock 'Q'", "no thread takes it"]),
    ('"sem_post S",', '"sem_post Z",', "sem_post Z", ["undefined semaphore 'Z'", "[semaphores]"]),
    ('"sem_post S",', '"acquire S",', '"acquire S"', ["used as a mutex", "semaphore"]),
    ('"label out:",', '"label out",\n  "label out:",', '"label out:"', ["duplicate label 'out'"]),
    ('"sem_post S",', '"try_acquire B",', "try_acquire B\"", ["expected `try_acquire L else"]),
    ('"sem_post S",', '"signal",', '"signal"', ["signal takes 1 argument"]),
])
def test_op_errors_point_at_the_op_line(old, new, needle, words):
    text = replace_line(GOOD, old, new)
    err = error_of(text)
    assert err.file == "scn.toml"
    assert err.line == line_of(text, needle), str(err)
    for w in words:
        assert w in str(err)
    assert str(err).startswith(f"scn.toml:{err.line}: ")


def test_duplicate_thread_name_points_at_second_name():
    text = GOOD.replace('name = "T2"', 'name = "T1"')
    err = error_of(text)
    assert "duplicate thread name 'T1'" in str(err)
    assert err.line == [i for i, l in enumerate(text.splitlines(), 1) if 'name = "T1"' in l][1]


def test_bad_settings_and_unknown_keys():
    err = error_of(GOOD.replace('policy = "fifo"', 'policy = "sjf"'))
    assert err.line == 3 and "unknown policy 'sjf'" in str(err) and "round-robin" in str(err)
    err = error_of(GOOD.replace('policy = "fifo"', 'quantum = 0'))
    assert err.line == 3 and "bad quantum 0" in str(err)
    err = error_of(GOOD.replace('name = "T2"', 'name = "T2"\nprio = 3'))
    assert "unknown key 'prio'" in str(err) and err.line == line_of(GOOD, 'name = "T2"') + 1
    err = error_of(GOOD.replace("S = 1", "S = -1"))
    assert "bad initial count" in str(err) and err.line == 6
    err = error_of(GOOD + "\n[extra]\nx = 1\n")
    assert "unknown table or key 'extra'" in str(err)
    err = error_of(GOOD.replace('name = "T2"\n', 'name = "T2"\narrive = -1\n'))
    assert "bad arrive -1" in str(err)


def test_toml_syntax_error_has_line():
    err = error_of(GOOD.replace('name = "x"', 'name = "x'))
    assert err.line == 2 and "invalid TOML" in str(err)


def test_thread_without_ops_and_empty_repeat():
    err = error_of('[[thread]]\nname = "A"\n')
    assert "has no ops" in str(err) and err.line == 1
    err = error_of('[[thread]]\nname = "A"\nrepeat = true\nops = ["label x:"]\n')
    assert "repeats but has no ops" in str(err) and err.line == 4


def test_missing_file():
    with pytest.raises(CoherenceError, match="no such file"):
        load("/nonexistent/x.toml")


def test_python_api_errors_name_thread_and_op():
    sc = Scenario("api", [Thread("A", ["acquire L", "frobnicate"])])
    with pytest.raises(CoherenceError) as info:
        sc.compile()
    assert "thread 'A' op 1" in str(info.value) and "unknown op 'frobnicate'" in str(info.value)


@pytest.mark.parametrize("text,expect", [
    ("acquire A", ("acquire", ("A",))),
    ("try_acquire A else retry", ("try_acquire", ("A", "retry"))),
    ("if_flag f goto x", ("if_flag", ("f", "x"))),
    ("label top:", ("label", ("top",))),
    ("wait C M", ("wait", ("C", "M"))),
    ("compute  5", ("compute", (5,))),
])
def test_parse_op_forms(text, expect):
    op = parse_op(text)
    assert (op.name, op.args) == expect


@pytest.mark.parametrize("text", ["", "acquire", "acquire A B", "if_flag f x", "goto", 3])
def test_parse_op_rejects(text):
    with pytest.raises(OpSyntaxError):
        parse_op(text)


def test_cli_prints_one_line_error_and_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(replace_line(GOOD, '"release B",', '"relase B",'))
    proc = subprocess.run([sys.executable, "-m", "coherence", "sched", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0] == (f"coherence: {bad}:{line_of(bad.read_text(), 'relase')}: unknown op "
                        "'relase' in 'relase B', expected one of: " + lines[0].split(
                            "expected one of: ")[1])
