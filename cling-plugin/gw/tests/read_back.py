"""Reads a torchclad-gwsim file back with PyROOT: trees, branches, counts,
50/50 labels, the metadata. usage: read_back.py FILE N_TRAIN N_TEST SAMPLES"""
import json
import sys

import numpy as np
import ROOT

path, n_train, n_test, samples = sys.argv[1], *map(int, sys.argv[2:5])
f = ROOT.TFile.Open(path)
assert f and not f.IsZombie(), f"cannot open {path}"
for name, n in (("train", n_train), ("test", n_test)):
    cols = ROOT.RDataFrame(name, path).AsNumpy(["strain", "label", "snr", "mass1", "mass2", "merger_time", "phase"])
    assert len(cols["label"]) == n, (name, len(cols["label"]), n)
    strain = np.stack([np.asarray(s) for s in cols["strain"]])
    assert strain.shape == (n, samples), strain.shape
    assert int(cols["label"].sum()) == n // 2, cols["label"]
    noise = cols["label"] == 0
    assert (cols["snr"][noise] == 0).all() and (cols["merger_time"][noise] == -1).all()
    assert (cols["snr"][~noise] >= 5).all() and (cols["mass1"][~noise] >= cols["mass2"][~noise]).all()
    assert abs(strain[noise].std() - 1) < 0.1, strain[noise].std()
params = json.loads(f.Get("gw_parameters").GetTitle())
assert params["train"] == n_train and params["test"] == n_test and params["samples"] == samples, params
assert f.Get("psd").GetN() > 100
print(f"read back {path}: {n_train} + {n_test} windows of {samples} samples, seed {params['seed']}, ok")
