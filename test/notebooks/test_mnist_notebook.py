"""Runs notebooks/mnist.ipynb headless in the torchclad kernel (nbclient) and
checks its outputs: no errors, the live training display of the Clad run,
and both engines' accuracies. The ROOT file is written into a temporary
working directory; no kernel or host process may outlive the test."""

import re

import pytest

from notebook_run import (
    NOTEBOOKS,
    TRAINING_MIME,
    assert_no_error_outputs,
    assert_saved_without_outputs,
    code_cells,
    execute_notebook,
    stdout_of,
)

NOTEBOOK = NOTEBOOKS / "mnist.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mnist-notebook")
    nb, elapsed, leftover = execute_notebook(NOTEBOOK, workdir, timeout=180)
    return nb, workdir, elapsed, leftover


def test_saved_without_outputs():
    assert_saved_without_outputs(NOTEBOOK)


def test_runs_without_errors(executed):
    nb, workdir, elapsed, _ = executed
    assert_no_error_outputs(nb)
    assert (workdir / "fashion-mnist.root").is_file()
    assert elapsed < 120, f"the notebook took {elapsed:.1f} s"


def test_no_processes_left(executed):
    _, _, _, leftover = executed
    assert leftover == [], f"processes left in the notebook's directory: {leftover}"


def test_clad_training_display(executed):
    nb, _, _, _ = executed
    training = [c for c in code_cells(nb) if 'options.engine = "clad"' in c.source]
    assert len(training) == 1
    displays = [o for o in training[0].outputs if o.output_type == "display_data" and TRAINING_MIME in o.data]
    assert displays, "no training display in the Clad training cell"
    # nbclient applies update_display_data to the stored output: the final state.
    final = displays[-1]
    assert "text/plain" in final.data
    state = final.data[TRAINING_MIME]
    assert state["status"] == "finished", state.get("message")
    assert state["engine"] == "clad"
    assert state["model"] == "mlp-784-256-128-10"
    assert state["steps"]["step"] and len(state["steps"]["step"]) == len(state["steps"]["loss"])
    assert len(state["epoch_metrics"]) == state["epochs"]
    assert state["step"] == state["total_steps"]
    assert "finished" in final.data["text/plain"]
    assert "status: finished" in stdout_of(training[0])


def test_accuracies(executed):
    nb, _, _, _ = executed
    text = "".join(stdout_of(c) for c in code_cells(nb))
    found = dict(re.findall(r"^(clad|autograd)\s+([0-9.]+)\s+[0-9.]+$", text, re.M))
    assert set(found) == {"clad", "autograd"}, text
    clad, autograd = float(found["clad"]), float(found["autograd"])
    assert clad > 0.75 and autograd > 0.75, (clad, autograd)
    assert abs(clad - autograd) * 100 <= 1.5, (clad, autograd)
    counts = re.findall(r"^[A-Za-z/ -]+?\s+(\d+)\s+(\d+)$", text, re.M)
    assert len(counts) == 10 and sum(int(t) for _, t in counts) == 10000
