"""Runs notebooks/pretrained.ipynb headless in the torchclad kernel: PyTorch
trains the GW CNN on light binaries and exports it to ONNX, import_model
compiles it with Clad, it is evaluated on heavy binaries, fine-tuned there
with Clad's gradients, drawn before/after and exported back to ONNX, which
ONNX Runtime reads."""

import re

import numpy as np
import onnxruntime
import pytest

from notebook_run import (
    NOTEBOOKS,
    ROOT_MIME,
    TRAINING_MIME,
    assert_no_error_outputs,
    assert_saved_without_outputs,
    cell_with,
    execute_notebook,
    stdout_of,
)

NOTEBOOK = NOTEBOOKS / "pretrained.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pretrained-notebook")
    nb, elapsed, leftover = execute_notebook(NOTEBOOK, workdir, timeout=400)
    return nb, workdir, elapsed, leftover


def auc(summary_line):
    return float(re.search(r"AUC ([0-9.]+)", summary_line).group(1))


def test_saved_without_outputs():
    assert_saved_without_outputs(NOTEBOOK)


def test_runs_without_errors_or_leftovers(executed):
    nb, workdir, _, leftover = executed
    assert_no_error_outputs(nb)
    assert leftover == [], f"processes left in the notebook's directory: {leftover}"


def test_pytorch_trained_and_exported(executed):
    nb, workdir, _, _ = executed
    out = stdout_of(cell_with(nb, "python3 train_gw_cnn.py"))
    losses = [float(v) for v in re.findall(r"PyTorch epoch \d+: loss ([0-9.]+)", out)]
    assert len(losses) == 4 and losses[-1] < losses[0], out
    assert (workdir / "gw_cnn.onnx").is_file()


def test_imported_source_is_shown(executed):
    nb, workdir, _, _ = executed
    out = stdout_of(cell_with(nb, "torchclad::import_model"))
    source = re.search(r"generated source: (\S+)", out).group(1)
    assert source == str(workdir / "gw_cnn.onnx.cpp")
    shown = stdout_of(cell_with(nb, "std::ifstream source"))
    assert shown == (workdir / "gw_cnn.onnx.cpp").read_text()
    assert "TORCHCLAD_MODEL(gw_cnn" in shown and shown.count("nn::conv1d(") == 3, shown[:500]


def test_fine_tuning_recovers_the_heavy_binaries(executed):
    nb, _, _, _ = executed
    before_out = stdout_of(cell_with(nb, "auto before = torchclad::detect"))
    light = auc(re.search(r"light binaries \(as trained\): (.*)", before_out).group(1))
    before = auc(re.search(r"heavy binaries \(pretrained\): (.*)", before_out).group(1))
    after_out = stdout_of(cell_with(nb, "auto tuned = detector.fit"))
    assert "fine-tuning: finished" in after_out
    after = auc(re.search(r"heavy binaries \(fine-tuned\): (.*)", after_out).group(1))
    # The network PyTorch trained finds light binaries, loses heavy ones, and
    # Clad's fine-tuning brings them back.
    assert light > 0.9 and before < light - 0.1 and after > before + 0.1, (light, before, after)
    cell = cell_with(nb, "auto tuned = detector.fit")
    displays = [o for o in cell.outputs if o.output_type == "display_data" and TRAINING_MIME in o.data]
    assert len(displays) == 1
    state = displays[0].data[TRAINING_MIME]
    assert (state["status"], state["engine"], state["model"], state["epochs"]) == ("finished", "clad", "gw_cnn", 3)


def test_efficiency_canvas_shown(executed):
    nb, _, _, _ = executed
    shown = [o for o in cell_with(nb, "new TCanvas").outputs if o.output_type == "display_data"]
    assert len(shown) == 1 and shown[0].data[ROOT_MIME]["_typename"] == "TCanvas"
    assert "image/png" in shown[0].data


def test_exported_onnx_runs_in_onnx_runtime(executed):
    _, workdir, _, _ = executed
    original = onnxruntime.InferenceSession(str(workdir / "gw_cnn.onnx"))
    tuned = onnxruntime.InferenceSession(str(workdir / "gw_cnn_finetuned.onnx"))
    x = np.random.default_rng(0).standard_normal((3, 1, 2048)).astype(np.float32)
    a = original.run(None, {original.get_inputs()[0].name: x})[0]
    b = tuned.run(None, {tuned.get_inputs()[0].name: x})[0]
    assert a.shape == b.shape == (3, 1) and not np.allclose(a, b)
