"""The notebooks run top to bottom (quick settings) and are stored without outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(name: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Run notebooks/`name` in a fresh python3 kernel with quick settings, working in `workdir`."""
    monkeypatch.setenv("S5RF_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("S5RF_NOTEBOOK_WORKDIR", str(workdir / "run"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=240, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return notebook


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
            parts.append(output.get("data", {}).get("text/markdown", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["quickstart.ipynb", "spoken_digits.ipynb"])
def test_notebooks_are_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert any("parameters" in cell.metadata.get("tags", []) for cell in code)


def test_quickstart_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = execute("quickstart.ipynb", tmp_path, monkeypatch)
    text = outputs_text(notebook)
    assert "lava backend" in text and "golden backend" in text
    assert "spikes of every layer identical, step for step" in text
    assert "## Energy per inference" in text
    report = tmp_path / "run" / "report"
    assert (report / "report.html").is_file()
    assert (report / "figures" / "spike_raster.png").is_file()
    assert (tmp_path / "run" / "export" / "model.nir").is_file()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup installs it)")
def test_spoken_digits_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = execute("spoken_digits.ipynb", tmp_path, monkeypatch)
    text = outputs_text(notebook)
    assert "20 classes" in text
    assert "## Accuracy" in text
    run = tmp_path / "run"
    assert (run / "data" / "spoken_digits_train.h5").is_file()
    assert (run / "report" / "report.md").is_file()
