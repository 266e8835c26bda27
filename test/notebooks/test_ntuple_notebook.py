"""Runs notebooks/ntuple.ipynb headless in the torchclad kernel: an ntuple
written in the notebook, a classifier defined in a %%clad cell, trained with
per-event weights and standardisation, applied as an RDataFrame column to
histogram the score per class, the weighted ROC, save and reload."""

import base64
import json
import re

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

NOTEBOOK = NOTEBOOKS / "ntuple.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ntuple-notebook")
    nb, elapsed, leftover = execute_notebook(NOTEBOOK, workdir, timeout=240)
    return nb, workdir, elapsed, leftover


def test_saved_without_outputs():
    assert_saved_without_outputs(NOTEBOOK)


def test_runs_without_errors_or_leftovers(executed):
    nb, workdir, _, leftover = executed
    assert_no_error_outputs(nb)
    for name in ("ntuple.root", "classifier.root"):
        assert (workdir / name).is_file(), name
    assert leftover == [], f"processes left in the notebook's directory: {leftover}"


def test_trains_with_weights_and_standardisation(executed):
    nb, _, _, _ = executed
    cell = cell_with(nb, "model.standardize(train_set)")
    out = stdout_of(cell)
    assert "weights: yes" in out, out
    # Standardised on the training set: the masses' means are in the hundreds.
    means = {m.group(1): float(m.group(2)) for m in re.finditer(r"(\w+)\s+mean\s+([0-9.-]+)", out)}
    assert 90 < means["m_jj"] < 130 and 300 < means["m_jjj"] < 420, means
    status, loss, accuracy, auc = re.search(
        r"(\w+): weighted test loss ([0-9.]+), accuracy ([0-9.]+), ROC AUC ([0-9.]+)", out).groups()
    assert status == "finished"
    assert float(auc) > 0.75 and float(accuracy) > 0.65, out
    displays = [o for o in cell.outputs if o.output_type == "display_data" and TRAINING_MIME in o.data]
    assert len(displays) == 1
    state = displays[0].data[TRAINING_MIME]  # its final state (update_display_data applied)
    assert state["status"] == "finished" and state["model"] == "classifier", state.get("message")
    assert len(state["epoch_metrics"]) == state["epochs"] == 8


def test_score_histograms_hold_every_event_of_each_class(executed):
    nb, _, _, _ = executed
    out = stdout_of(cell_with(nb, "define_model_column(signal_df"))
    s, s_events, b, b_events = map(int, re.search(
        r"signal (\d+) of (\d+) events, background (\d+) of (\d+) events", out).groups())
    assert (s, s_events, b, b_events) == (3000, 3000, 5000, 5000), out
    selected = int(re.search(r"score > 0: (\d+)", out).group(1))
    assert 0.5 * s < selected < s, out  # most signal events score above 0
    # The canvas the cell drew, below it: JSROOT's JSON of the TCanvas and a PNG.
    canvases = [o for o in cell_with(nb, "define_model_column(signal_df").outputs
                if o.output_type == "display_data" and ROOT_MIME in o.data]
    assert len(canvases) == 1 and base64.b64decode(canvases[0].data["image/png"])[:4] == b"\x89PNG"
    drawn = json.dumps(canvases[0].data[ROOT_MIME])
    assert "TCanvas" in drawn and "signal" in drawn and "background" in drawn  # both histograms on it


def test_roc_and_reload(executed):
    nb, _, _, _ = executed
    cell = cell_with(nb, "model.roc(test_set)")
    out = stdout_of(cell)
    auc = float(re.search(r"ROC AUC ([0-9.]+)", out).group(1))
    assert auc > 0.75, out
    standardised, reloaded, saved = re.search(
        r"reloaded: standardised (\w+), test AUC ([0-9.]+) \(saved ([0-9.]+)\)", out).groups()
    assert standardised == "yes" and reloaded == saved, out
    assert any(o.output_type == "display_data" and ROOT_MIME in o.data and "image/png" in o.data
               for o in cell.outputs)

