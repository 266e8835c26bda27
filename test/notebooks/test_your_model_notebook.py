"""Runs notebooks/your-model.ipynb headless in the torchclad kernel: models
defined in %%clad cells, their gradients checked, trained with the live
display beside LibTorch autograd, saved and reloaded."""

import re

import pytest

from notebook_run import (
    NOTEBOOKS,
    TRAINING_MIME,
    assert_no_error_outputs,
    assert_saved_without_outputs,
    cell_with,
    execute_notebook,
    stdout_of,
)

NOTEBOOK = NOTEBOOKS / "your-model.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("your-model-notebook")
    nb, elapsed, leftover = execute_notebook(NOTEBOOK, workdir, timeout=240)
    return nb, workdir, elapsed, leftover


def test_saved_without_outputs():
    assert_saved_without_outputs(NOTEBOOK)


def test_runs_without_errors_or_leftovers(executed):
    nb, workdir, _, leftover = executed
    assert_no_error_outputs(nb)
    assert (workdir / "mlp.root").is_file()
    assert leftover == [], f"processes left in the notebook's directory: {leftover}"


def test_gradients_checked(executed):
    nb, _, _, _ = executed
    for marker, model in (("auto check = net.check_gradients", "mlp"), ("auto gelu_check", "gelu_mlp")):
        out = stdout_of(cell_with(nb, marker))
        assert f"check_gradients: model '{model}'" in out
        assert re.search(r"worst relative error [0-9.e+-]+: passed", out), out


def test_trained_beside_autograd_in_one_display(executed):
    nb, _, _, _ = executed
    cell = cell_with(nb, 'autograd_options.engine = "autograd"')
    displays = [o for o in cell.outputs if o.output_type == "display_data" and TRAINING_MIME in o.data]
    assert len(displays) == 1, "one comparison display for the cell's two runs"
    runs = displays[0].data[TRAINING_MIME]["runs"]
    assert [(r["engine"], r["model"], r["status"]) for r in runs] == [
        ("clad", "mlp", "finished"), ("autograd", "mlp-784-128-64-10", "finished")]
    rows = {line.split()[0]: line.split() for line in stdout_of(cell).splitlines()[1:]}
    clad, autograd = float(rows["mlp"][-2]), float(rows["Mlp"][-2])
    # Same initial weights and batches: the same training, up to rounding.
    assert clad > 0.75 and abs(clad - autograd) < 0.01, (clad, autograd)


def test_saved_and_loaded(executed):
    nb, _, _, _ = executed
    out = stdout_of(cell_with(nb, "torchclad::Model::load"))
    saved, loaded, epochs = re.match(r"saved ([0-9.]+), loaded ([0-9.]+), (\d+) epochs", out).groups()
    assert saved == loaded and epochs == "2"
