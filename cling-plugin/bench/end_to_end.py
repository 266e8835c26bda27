#!/usr/bin/env python3
"""End-to-end throughput of `torchclad-train` itself, for report.py's column
beside the step benchmark: Fashion-MNIST, MLP 784-128-10 by default, one
short run per (batch, engine), engines alternating (their order swaps from one
batch to the next). A run trains --epochs epochs over the first --train-limit
samples; its figure is the median samples/s of the epochs after the first
(the first pays the warm-up). The CLI times an epoch's steps, batch gathering,
progress and telemetry, not the evaluation after it.

Writes records {"kind": "e2e", workload, engine, batch, threads, optimizer,
samples_per_second, epoch_samples_per_second, command}; engine names as
torchclad-bench's (clad -> clad-model, autograd -> libtorch-autograd)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ENGINE_NAMES = {"clad": "clad-model", "autograd": "libtorch-autograd",
                "clad-model-node": "clad-model-node", "clad-ops": "clad-ops"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--train", default="build/cling-plugin/torchclad-train", help="torchclad-train binary")
    p.add_argument("--widths", default="784,128,10")
    p.add_argument("--batches", default="32,128,512")
    p.add_argument("--engines", default="clad,autograd", help="torchclad-train --engine names")
    p.add_argument("--optimizer", default="adam", help="sgd, adam or both (sgd,adam)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=3, help="at least 2: the first is warm-up")
    p.add_argument("--train-limit", type=int, default=60000)
    p.add_argument("--test-limit", type=int, default=1000)
    p.add_argument("--out", required=True, help="output JSON path")
    a = p.parse_args(argv)
    if a.epochs < 2:
        p.error(f"--epochs must be at least 2 (the first is warm-up), found {a.epochs}")
    for name in a.engines.split(","):
        if name not in ENGINE_NAMES:
            p.error(f"--engines: unknown engine '{name}', expected some of {', '.join(ENGINE_NAMES)}")
    for name in a.optimizer.split(","):
        if name not in ("sgd", "adam"):
            p.error(f"--optimizer takes sgd and/or adam, found '{name}'")
    return a


def run_once(a, engine, batch, optimizer, metrics_path):
    cmd = [a.train, "--widths", a.widths, "--engine", engine, "--batch", str(batch),
           "--threads", str(a.threads), "--optimizer", optimizer, "--epochs", str(a.epochs),
           "--train-limit", str(a.train_limit), "--test-limit", str(a.test_limit), "--quiet",
           "--metrics-json", metrics_path]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"end_to_end.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    with open(metrics_path) as f:
        epochs = json.load(f)["epochs"]
    steady = [e["samples_per_second"] for e in epochs[1:]]
    return cmd, steady


def main(argv=None):
    a = parse_args(argv)
    if not os.access(a.train, os.X_OK):
        sys.exit(f"end_to_end.py: no torchclad-train at {a.train} (build it: scripts/build.sh)")
    workload = "mlp-" + a.widths.replace(",", "-")
    engines = a.engines.split(",")
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "metrics.json")
        for i, batch in enumerate(int(b) for b in a.batches.split(",")):
            for optimizer in a.optimizer.split(","):
                order = engines if i % 2 == 0 else engines[::-1]
                for engine in order:
                    cmd, steady = run_once(a, engine, batch, optimizer, metrics)
                    rec = {"kind": "e2e", "workload": workload, "engine": ENGINE_NAMES[engine],
                           "batch": batch, "threads": a.threads, "optimizer": optimizer,
                           "samples_per_second": statistics.median(steady),
                           "epoch_samples_per_second": steady, "command": " ".join(cmd)}
                    records.append(rec)
                    print(f"{workload} {optimizer} batch={batch} {rec['engine']}: "
                          f"{rec['samples_per_second']:.0f} samples/s", file=sys.stderr, flush=True)
    with open(a.out, "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
