#!/usr/bin/env python3
"""End-to-end throughput of `torchclad-train` itself, for report.py's column
beside the step benchmark: Fashion-MNIST, MLP 784-128-10 by default, one
short run per (batch, engine), engines alternating (their order swaps from one
batch to the next). With --gw-data FILE (a torchclad-gwsim file), the same for
`torchclad-train-gw` and its 1D CNN (workload cnn-gw) on all of that file's
training windows. A run trains --epochs epochs over the first --train-limit
samples; its figure is the median samples/s of the epochs after the first
(the first pays the warm-up). The CLI times an epoch's shuffle, steps, batch
gathering, progress and telemetry, not the evaluation after it. With --fit (default) the
same training also runs as `Mlp::fit` in a ROOT macro (cling, as in a
notebook cell: the cell-facing API, the same options, its epochs' samples/s).

With --adjacent 1 (default) the step benchmark (torchclad-bench, the same
engine, workload, batch, optimizer and threads, 3 rounds of 30 steps) runs
right before and right after each engine's end-to-end runs: on a machine
whose speed drifts over minutes (here LibTorch autograd's step by over 50%), the
end-to-end figure is then set against steps timed within seconds of it, not
only against the main benchmark's, timed minutes earlier.

Writes records {"kind": "e2e", "via": "torchclad-train" (or, with --gw-data,
torchclad-train-gw: the command-line trainer) or "fit", workload,
engine, batch, threads, optimizer, samples_per_second,
epoch_samples_per_second, own_step_us (the median over the same epochs of
each epoch's median step as the trainer itself timed it, in its process),
adjacent_step_us ([before, after] median µs, or absent), command}; engine names as torchclad-bench's (clad -> clad-model,
autograd -> libtorch-autograd)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ENGINE_NAMES = {"clad": "clad-model", "autograd": "libtorch-autograd",
                "clad-model-node": "clad-model-node", "clad-ops": "clad-ops"}
GW_ENGINES = ("clad", "clad-ops", "autograd")  # torchclad-train-gw's
MLP_DEFAULTS = {"widths": "784,128,10", "data": "/usr/share/datasets/fashion-mnist", "train_limit": 60000}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--train", default="build/cling-plugin/torchclad-train", help="torchclad-train binary")
    p.add_argument("--gw-data", help="a torchclad-gwsim ROOT file: time torchclad-train-gw's CNN (cnn-gw) "
                   "on it instead of the MLP (--widths, --fit and --train-limit then do not apply)")
    p.add_argument("--train-gw", default="build/cling-plugin/torchclad-train-gw", help="torchclad-train-gw binary")
    p.add_argument("--widths", help=f"default {MLP_DEFAULTS['widths']}")
    p.add_argument("--batches", default="32,128,512")
    p.add_argument("--engines", default="clad,autograd", help="torchclad-train --engine names")
    p.add_argument("--optimizer", default="adam", help="sgd, adam or both (sgd,adam)")
    p.add_argument("--threads", type=int, default=1)
    # 5: the median of 4 steady epochs; with 3 it was the mean of 2, and one
    # epoch slowed by the machine (up to 25% here) moved it.
    p.add_argument("--epochs", type=int, default=5, help="at least 2: the first is warm-up")
    p.add_argument("--data", help="Fashion-MNIST IDX directory (Debian's dataset-fashion-mnist), for --fit; "
                   f"default {MLP_DEFAULTS['data']}")
    p.add_argument("--train-limit", type=int, help=f"default {MLP_DEFAULTS['train_limit']} (the MLP's Fashion-MNIST)")
    p.add_argument("--test-limit", type=int, default=1000)
    p.add_argument("--fit", type=int, choices=(0, 1),
                   help="1 (default without --gw-data): also time Mlp::fit in a ROOT macro (scripts/troot)")
    p.add_argument("--adjacent", type=int, default=1, choices=(0, 1),
                   help="1: time the step benchmark's step right before and after each engine's runs")
    p.add_argument("--bench", default="build/cling-plugin/bench/torchclad-bench", help="torchclad-bench binary")
    p.add_argument("--out", required=True, help="output JSON path")
    a = p.parse_args(argv)
    if a.gw_data is not None:
        for given, name in ((a.fit == 1, "--fit 1"), (a.train_limit is not None, "--train-limit"),
                            (a.widths is not None, "--widths"), (a.data is not None, "--data")):
            if given:
                p.error(f"{name} is for the MLP; with --gw-data the CNN trains on the whole file's training tree")
        if not os.path.isfile(a.gw_data):
            p.error(f"--gw-data: no file '{a.gw_data}' (torchclad-gwsim --out FILE writes one)")
        for name in a.engines.split(","):
            if name not in GW_ENGINES:
                p.error(f"--engines: torchclad-train-gw has no engine '{name}', expected some of "
                        f"{', '.join(GW_ENGINES)}")
        a.fit = 0
    else:
        for key, value in MLP_DEFAULTS.items():
            if getattr(a, key) is None:
                setattr(a, key, value)
        a.fit = 1 if a.fit is None else a.fit
    try:
        a.batch_list = [int(b) for b in a.batches.split(",")]
    except ValueError:
        a.batch_list = []
    if not a.batch_list or min(a.batch_list) < 1 or len(set(a.batch_list)) != len(a.batch_list):
        p.error(f"--batches expects distinct positive integers separated by commas, found '{a.batches}'")
    full = MLP_DEFAULTS["train_limit"]
    if a.fit and a.train_limit != full:
        p.error(f"--fit trains on all {full:,} samples: give --train-limit {full} or --fit 0")
    if a.epochs < 2:
        p.error(f"--epochs must be at least 2 (the first is warm-up), found {a.epochs}")
    for name in a.engines.split(","):
        if name not in ENGINE_NAMES:
            p.error(f"--engines: unknown engine '{name}', expected some of {', '.join(ENGINE_NAMES)}")
    for name in a.optimizer.split(","):
        if name not in ("sgd", "adam"):
            p.error(f"--optimizer takes sgd and/or adam, found '{name}'")
    return a


def workload_of(a):
    return "cnn-gw" if a.gw_data is not None else "mlp-" + a.widths.replace(",", "-")


def adjacent_step_us(a, engine, batch, optimizer, tmp):
    """The step benchmark's median µs per step for this engine and shape, timed now."""
    out = os.path.join(tmp, "adjacent.json")
    cmd = [a.bench, "--workloads", workload_of(a), "--cnn-batches" if a.gw_data is not None else "--batches", str(batch),
           "--threads", str(a.threads), "--engines", ENGINE_NAMES[engine], "--optimizer", optimizer,
           "--memory", "0", "--kernels", "0", "--rounds", "3", "--steps", "30", "--warmup", "10", "--out", out]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"end_to_end.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    with open(out) as f:
        steps = [r for r in json.load(f) if (r.get("workload"), r.get("engine"), r.get("batch"), r.get("optimizer"))
                 == (workload_of(a), ENGINE_NAMES[engine], batch, optimizer)]
    if len(steps) != 1 or "median_us" not in steps[0]:
        raise SystemExit(f"end_to_end.py: {' '.join(cmd)} gave no step for {ENGINE_NAMES[engine]} "
                         f"at batch {batch}:\n{done.stderr}")
    return steps[0]["median_us"]


def run_once(a, engine, batch, optimizer, tmp):
    metrics_path = os.path.join(tmp, "metrics.json")
    common = ["--batch", str(batch), "--threads", str(a.threads), "--optimizer", optimizer,
              "--epochs", str(a.epochs), "--test-limit", str(a.test_limit), "--quiet", "--metrics-json", metrics_path]
    if a.gw_data is not None:
        cmd = [a.train_gw, "--data", a.gw_data, "--engines", engine, "--out-dir", os.path.join(tmp, "gw")] + common
    else:
        cmd = [a.train, "--widths", a.widths, "--engine", engine, "--train-limit", str(a.train_limit)] + common
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"end_to_end.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    with open(metrics_path) as f:
        metrics = json.load(f)
    epochs = metrics["engines"][engine]["epochs"] if a.gw_data is not None else metrics["epochs"]
    steady = [e["samples_per_second"] for e in epochs[1:]]
    own_us = statistics.median(e["median_step_seconds"] * 1e6 for e in epochs[1:])
    return cmd, steady, own_us


FIT_MACRO = r"""R__LOAD_LIBRARY(libtorchclad_root.so)
#include "torchclad/torchclad.h"
void fit_e2e() {{
  auto train = torchclad::Dataset::from_idx("{data}", "train");
  auto test = torchclad::Dataset::from_idx("{data}", "test");
  torchclad::TrainOptions o;
  o.engine = "{engine}";
  o.optimizer = "{optimizer}";
  o.lr = {lr};
  o.batch = {batch};
  o.threads = {threads};
  o.epochs = {epochs};
  o.progress = false;
  torchclad::Mlp m({{{widths}}});
  auto r = m.fit(train, test, o);  // all 60,000 and 10,000 samples
  for (const auto& e : r.epochs) printf("E2E-FIT %.3f %.9f\n", e.samples_per_second, e.median_step_seconds);
}}
"""


def run_fit(a, engine, batch, optimizer, tmp):
    """Mlp::fit in a ROOT macro, as a notebook cell calls it; its epochs' samples/s after the first."""
    macro = Path(tmp) / "fit_e2e.C"
    macro.write_text(FIT_MACRO.format(
        data=a.data, engine=engine, optimizer=optimizer, lr=0.001 if optimizer == "adam" else 0.05,
        batch=batch, threads=a.threads, epochs=a.epochs, widths=a.widths))
    cmd = [str(REPO / "scripts" / "troot"), "-b", "-q", str(macro)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    epochs = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("E2E-FIT ")]
    rates = [float(e[0]) for e in epochs]
    if done.returncode != 0 or len(rates) != a.epochs:
        raise SystemExit(f"end_to_end.py: Mlp::fit in {macro} failed ({done.returncode}), "
                         f"{len(rates)} of {a.epochs} epochs:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    own_us = statistics.median(float(e[1]) * 1e6 for e in epochs[1:])
    return "Mlp::fit in root.exe -b -q (" + macro.name + ")", rates[1:], own_us


def main(argv=None):
    a = parse_args(argv)
    trainer = a.train_gw if a.gw_data is not None else a.train
    if not os.access(trainer, os.X_OK):
        sys.exit(f"end_to_end.py: no {Path(trainer).name} at {trainer} (build it: scripts/build.sh)")
    if a.adjacent and not os.access(a.bench, os.X_OK):
        sys.exit(f"end_to_end.py: no torchclad-bench at {a.bench} (build it: scripts/build.sh, or --adjacent 0)")
    workload = workload_of(a)
    engines = a.engines.split(",")
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, batch in enumerate(a.batch_list):
            for optimizer in a.optimizer.split(","):
                order = engines if i % 2 == 0 else engines[::-1]
                for engine in order:
                    before = adjacent_step_us(a, engine, batch, optimizer, tmp) if a.adjacent else None
                    cmd, steady, own_us = run_once(a, engine, batch, optimizer, tmp)
                    rec = {"kind": "e2e", "via": "torchclad-train", "workload": workload, "engine": ENGINE_NAMES[engine],
                           "batch": batch, "threads": a.threads, "optimizer": optimizer,
                           "samples_per_second": statistics.median(steady),
                           "epoch_samples_per_second": steady, "own_step_us": own_us, "command": " ".join(cmd)}
                    records.append(rec)
                    print(f"{workload} {optimizer} batch={batch} {rec['engine']}: "
                          f"{rec['samples_per_second']:.0f} samples/s", file=sys.stderr, flush=True)
                    if a.fit:
                        cmd, steady, own_us = run_fit(a, engine, batch, optimizer, tmp)
                        fit = dict(rec, via="fit", samples_per_second=statistics.median(steady),
                                   epoch_samples_per_second=steady, own_step_us=own_us, command=cmd)
                        records.append(fit)
                        print(f"{workload} {optimizer} batch={batch} {rec['engine']} (fit): "
                              f"{fit['samples_per_second']:.0f} samples/s", file=sys.stderr, flush=True)
                    if a.adjacent:
                        after = adjacent_step_us(a, engine, batch, optimizer, tmp)
                        for r in records[-2 if a.fit else -1:]:
                            r["adjacent_step_us"] = [before, after]
                        print(f"  step benchmark before and after: {before:.0f} and {after:.0f} µs",
                              file=sys.stderr, flush=True)
    with open(a.out, "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
