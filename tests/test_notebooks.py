"""The demo notebooks (notebooks/*.ipynb) are stored without outputs and run top to bottom.

Each notebook is executed with nbclient in a fresh kernel, working directory notebooks/, as a
user opening it in Jupyter would.  Their cells assert the claims their text makes, so a change
in the emulator that invalidates a notebook's story fails here.
"""

import glob
import os

import nbclient
import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
EXPECTED = ["01_quick_start", "02_false_sharing", "03_spinlocks", "04_litmus",
            "05_schedulers", "06_property_testing", "07_interconnects"]


def test_every_notebook_of_the_issue_is_there():
    names = [os.path.splitext(os.path.basename(p))[0] for p in NOTEBOOKS]
    assert names == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{os.path.basename(path)}: outputs not stripped"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(path)}})
    client.execute()      # raises CellExecutionError, with the failing cell, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    # Every notebook shows at least one figure.
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)
