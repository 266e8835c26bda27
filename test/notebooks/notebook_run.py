"""Runs a notebook headless in the torchclad kernel (nbclient) inside a
temporary working directory, and reports whether any kernel or host process
outlived it. Shared by the notebook tests."""

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
TRAINING_MIME = "application/vnd.torchclad.training.v1+json"
ROOT_MIME = "application/vnd.torchclad.root+json"  # a ROOT object as JSROOT reads it


def processes_in(directory: Path) -> list[int]:
    """Processes whose working directory is `directory` (the kernel and its host)."""
    found = []
    target = str(directory.resolve())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") == target:
                found.append(int(entry))
        except OSError:
            pass
    return found


def execute_notebook(notebook: Path, workdir: Path, timeout: int):
    """(executed notebook, seconds taken, pids left in workdir)."""
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, kernel_name="torchclad", timeout=timeout, startup_timeout=60,
                            resources={"metadata": {"path": str(workdir)}})
    started = time.monotonic()
    try:
        client.execute()
    finally:
        elapsed = time.monotonic() - started
        # The kernel is shut down by nbclient; give the processes a moment to go.
        deadline = time.monotonic() + 10
        while processes_in(workdir) and time.monotonic() < deadline:
            time.sleep(0.1)
        leftover = processes_in(workdir)
    return nb, elapsed, leftover


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def stdout_of(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def cell_with(nb, text):
    """The one code cell whose source contains `text`."""
    found = [c for c in code_cells(nb) if text in c.source]
    assert len(found) == 1, f"{len(found)} code cells contain {text!r}, expected 1"
    return found[0]


def assert_saved_without_outputs(notebook: Path):
    """The notebook as committed: the torchclad kernel, no outputs, no counts."""
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata.kernelspec.name == "torchclad"
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


def assert_no_error_outputs(nb):
    for cell in code_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.source[:80]!r}: {errors}"
