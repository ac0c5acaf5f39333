"""The quickstart notebook, executed in a real Jupyter kernel so that it cannot rot."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "quickstart.ipynb"


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernel spec that runs this interpreter (with c360 installed), found first."""
    spec = tmp_path / "jupyter" / "kernels" / "c360-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "c360 test", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "c360-test"


def test_quickstart_notebook_runs_top_to_bottom(kernel, tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(work)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the resolution shows itself as a compact table, not a dataclass dump
    resolved = next(c for c in code if c.source.startswith("res = c360.resolve"))
    shown = next(o for o in resolved.outputs if o.output_type == "execute_result")
    assert shown.data["text/html"].startswith('<div class="c360-display"')
    assert len(shown.data["text/plain"]) < 1000
    # progress drawn in the notebook (no ipywidgets needed), finished
    bars = [o for o in resolved.outputs if o.output_type == "display_data"]
    assert bars and all("done in" in o.data["text/html"] for o in bars)
    # the report renders inline, sandboxed
    report = next(c for c in code if c.source.startswith("res.report()"))
    assert report.outputs[0].data["text/html"].startswith('<iframe sandbox=""')
    # the last cell checks the new record joined the right customer
    assert code[-1].outputs[0].data["text/plain"] == "True"
