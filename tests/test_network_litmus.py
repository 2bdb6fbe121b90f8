"""Litmus campaigns on the split-transaction bus and the directory: the emulator never shows
a state the memory model forbids (SC and TSO cores), as on the atomic bus."""

import pytest

from conftest import run_cli


@pytest.mark.parametrize("net", ["split-bus", "directory"])
def test_sb_and_mp_campaigns(net):
    r = run_cli("litmus", "litmus/x86/SB.litmus", "litmus/x86/MP.litmus",
                "--interconnect", net, "--iterations", "3000")
    assert r.returncode == 0, r.stderr
    rows = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.startswith(("SB ", "MP "))}
    assert "shows forbidden states on 0" in r.stdout
    # store buffering shows on TSO cores, message passing never breaks
    assert "Emulator (TSO)" in r.stdout
    assert "Sometimes" in rows["SB"].split("agrees")[1] and "Never 0" in rows["MP"]


@pytest.mark.slow
@pytest.mark.parametrize("net", ["split-bus", "directory"])
@pytest.mark.parametrize("model", ["sc", "tso"])
@pytest.mark.parametrize("proto", ["msi", "mesi"])
def test_the_whole_x86_suite_shows_no_forbidden_state(net, model, proto):
    r = run_cli("litmus", "litmus/x86", "--interconnect", net, "--model", model,
                "--protocol", proto, "--iterations", "2000", timeout=900)
    assert r.returncode == 0, r.stderr
    assert "shows forbidden states on 0" in r.stdout and "differs on 0" in r.stdout
