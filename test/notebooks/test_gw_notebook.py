"""Runs notebooks/gw.ipynb headless in the torchclad kernel (nbclient) and
checks its outputs: no errors, one live display comparing the Clad and
autograd runs, both detectors' quality, the report files, and the ROC and
efficiency curves as a ROOT canvas (JSROOT's JSON and a PNG). The data are
simulated into a temporary working directory; no kernel or host process may
outlive the test."""

import base64
import re

import pytest

from notebook_run import (
    NOTEBOOKS,
    ROOT_MIME,
    TRAINING_MIME,
    assert_no_error_outputs,
    assert_saved_without_outputs,
    code_cells,
    execute_notebook,
    stdout_of,
)

NOTEBOOK = NOTEBOOKS / "gw.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gw-notebook")
    nb, elapsed, leftover = execute_notebook(NOTEBOOK, workdir, timeout=300)
    return nb, workdir, elapsed, leftover


def test_saved_without_outputs():
    assert_saved_without_outputs(NOTEBOOK)


def test_runs_without_errors(executed):
    nb, workdir, elapsed, leftover = executed
    assert_no_error_outputs(nb)
    assert (workdir / "gw-notebook.root").is_file()
    assert elapsed < 240, f"the notebook took {elapsed:.1f} s"
    assert leftover == [], f"processes left in the notebook's directory: {leftover}"


def test_data_summary(executed):
    nb, _, _, _ = executed
    text = "".join(stdout_of(c) for c in code_cells(nb))
    assert "wrote 6000 windows to gw-notebook.root" in text
    assert "train: 4000 windows (2000 signals), test: 2000 windows, 2048 samples each" in text


def test_training_display(executed):
    nb, _, _, _ = executed
    training = [c for c in code_cells(nb) if 'options.engine = "autograd"' in c.source]
    assert len(training) == 1
    displays = [o for o in training[0].outputs if o.output_type == "display_data" and TRAINING_MIME in o.data]
    assert displays, "no training display in the training cell"
    payloads = [d.data[TRAINING_MIME] for d in displays]
    runs = [r for p in payloads for r in (p["runs"] if "runs" in p else [p])]
    engines = {r["engine"] for r in runs}
    assert engines == {"clad", "autograd"}, engines
    for r in runs:
        assert r["status"] == "finished", r.get("message")
        assert r["model"] == "cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64"
        assert len(r["epoch_metrics"]) == 4
        aucs = [e.get("test_auc") for e in r["epoch_metrics"]]
        assert all(a is not None and 0.5 < a <= 1 for a in aucs), aucs


def test_detectors(executed):
    nb, workdir, _, _ = executed
    text = "".join(stdout_of(c) for c in code_cells(nb))
    found = {e: (float(a), float(u)) for e, a, u in
             re.findall(r"^(clad|autograd)\s+([0-9.]+)\s+([0-9.]+)\s+[0-9.]+$", text, re.M)}
    assert set(found) == {"clad", "autograd"}, text
    for engine, (accuracy, auc) in found.items():
        assert accuracy > 0.85 and auc > 0.95, (engine, accuracy, auc)
    assert abs(found["clad"][0] - found["autograd"][0]) * 100 <= 1.5, found
    summaries = dict(re.findall(r"^(clad|autograd):\s+AUC [0-9.]+ \(SNR >= 8: ([0-9.]+)\)", text, re.M))
    assert set(summaries) == {"clad", "autograd"}, text
    assert all(float(v) >= 0.95 for v in summaries.values()), summaries
    for engine in ("clad", "autograd"):
        for suffix in (".root", "_roc.png", "_efficiency.png", "_scores.png"):
            assert (workdir / "gw-results" / f"{engine}{suffix}").stat().st_size > 0


def test_roc_and_efficiency_are_an_interactive_root_canvas(executed):
    # The canvas the cell drew comes below it: ROOT's JSON for JSROOT (the lab
    # extension draws it interactively) and a PNG for other frontends.
    nb, _, _, _ = executed
    cell = [c for c in code_cells(nb) if 'new TCanvas("detector"' in c.source]
    assert len(cell) == 1
    shown = [o for o in cell[0].outputs if o.output_type == "display_data" and ROOT_MIME in o.data]
    assert len(shown) == 1, cell[0].outputs
    canvas = shown[0].data[ROOT_MIME]
    assert canvas["_typename"] == "TCanvas" and canvas["fName"] == "detector"
    pads = [p for p in canvas["fPrimitives"]["arr"] if p["_typename"] == "TPad"]
    graphs = [[o for o in pad["fPrimitives"]["arr"] if o["_typename"].startswith("TGraph")] for pad in pads]
    assert [[g["_typename"] for g in pad] for pad in graphs] == [["TGraphAsymmErrors"], ["TGraph"]], graphs
    efficiency = graphs[0][0]
    assert efficiency["fName"] == "efficiency_vs_snr" and efficiency["fNpoints"] > 3
    assert "efficiency" in efficiency["fTitle"]  # (its arrays are compressed: TBufferJSON's compact 23)
    assert base64.b64decode(shown[0].data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert shown[0].metadata[ROOT_MIME] == {"width": 1000, "height": 420}
