"""Writes a copy of a torchclad-gwsim file whose training tree holds label 2
at entry 40 (its first 64 entries; the test tree's first 100 as they are),
for the trainers' label check: torchclad-train-gw must name the entry.

usage: gw_bad_label.py SOURCE.root OUT.root
"""
import sys

import ROOT

src, dst = sys.argv[1:3]
options = ROOT.RDF.RSnapshotOptions()
options.fMode = "RECREATE"
columns = ["strain", "label", "snr"]
ROOT.RDataFrame("train", src).Range(64).Redefine("label", "rdfentry_ == 40 ? 2 : label").Snapshot(
    "train", dst, columns, options)
options.fMode = "UPDATE"
ROOT.RDataFrame("test", src).Range(100).Snapshot("test", dst, columns, options)
