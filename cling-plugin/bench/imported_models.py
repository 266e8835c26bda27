"""Imported models (torchclad::import_model) against the engines users would
compare them with, in one process, on one thread each:

- training throughput (Adam, lr 1e-3, batch 64; the second of two epochs over
  random data, the first being a warm-up):
  the imported model with its Clad gradient (Model::fit), the built-in
  definition of the same network (engine clad), and LibTorch autograd on the
  same TorchScript module (torch.jit.load, a Python loop of forward, backward
  and torch.optim.Adam: the work is LibTorch's);
- inference latency at batch 1 and 256: Model::predict (called through ROOT's
  Python bindings), ONNX Runtime on the same ONNX file (one intra-op thread)
  and the TorchScript module under no_grad;
- import time: import_model's whole call (ONNX read in its own process,
  source generated, compiled with Clad, loaded, weights set).

Each figure is the median of --runs whole runs with the range; written to
<out-dir>/imported-models.{json,md,png}.

    .venv/bin/python cling-plugin/bench/imported_models.py --runs 3

--layout-ops instead measures what nn::Permute and nn::Broadcast (a
Transpose of an activation, a Mul of two activations that broadcast) cost
in an imported model's training step: the same CNN with a gate and a
transpose, with the transpose only, and with neither; the imported model's
samples/s and the step time each adds, to
<out-dir>/imported-layout-ops-<label>.{json,md,png} (--label names the build
measured, e.g. before/after a change).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "cling-plugin"

WORKLOADS = {
    # name: (PyTorch module maker, input shape per sample, loss, built-in definition)
    "mlp-784-128-10": (lambda: torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)),
                       (784,), "cross_entropy", "mlp-784-128-10"),
    "cnn-gw": (None, (1, 2048), "bce_with_logits", "cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64"),
}


def gw_cnn():
    layers, channels, length = [], 1, 2048
    for out, kernel in [(8, 16), (16, 8), (32, 8)]:
        layers += [torch.nn.Conv1d(channels, out, kernel), torch.nn.ReLU(), torch.nn.MaxPool1d(4)]
        channels, length = out, (length - kernel + 1) // 4
    return torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(channels * length, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 1))


class LayoutNet(torch.nn.Module):
    """A convolution's output [16, 256], optionally times a per-position gate
    [1, 256] from a one-channel convolution (nn::Broadcast), optionally
    transposed to [256, 16] (nn::Permute), and a dense head."""
    def __init__(self, gate, transpose):
        super().__init__()
        self.transpose = transpose
        self.conv = torch.nn.Conv1d(1, 16, 9, padding=4)
        self.gate = torch.nn.Conv1d(1, 1, 9, padding=4) if gate else None
        self.pool = torch.nn.MaxPool1d(4)
        self.fc = torch.nn.Linear(16 * 256, 32)
        self.out = torch.nn.Linear(32, 1)

    def forward(self, x):
        h = self.pool(torch.relu(self.conv(x)))
        if self.gate is not None:
            h = h * self.pool(torch.sigmoid(self.gate(x)))
        if self.transpose:
            h = h.transpose(1, 2)
        return self.out(torch.relu(self.fc(torch.flatten(h, 1))))


LAYOUT_VARIANTS = {"gate (Broadcast) + Permute": (True, True), "Permute": (False, True), "neither": (False, False)}


def layout_ops_run(ROOT, work, samples, run):
    rng = np.random.default_rng(run)
    x = rng.standard_normal((samples, 1, 1024)).astype(np.float32)
    labels = rng.integers(0, 2, samples)
    train = dataset(ROOT, x, labels)
    out = {}
    for k, (variant, (gate, transpose)) in enumerate(LAYOUT_VARIANTS.items()):
        torch.manual_seed(run)
        module = LayoutNet(gate, transpose).eval()
        path = work / f"layout-{k}-{run}.onnx"
        torch.onnx.export(module, (torch.from_numpy(x[:2]),), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "n"}})
        options = ROOT.torchclad.ImportOptions()
        options.loss = "bce_with_logits"
        options.name = f"layout_{k}_run{run}"
        imported = ROOT.torchclad.import_model(str(path), options)
        source = Path(ROOT.torchclad.imported_source(imported)).read_text()
        assert ("nn::permute(" in source) == transpose and ("nn::broadcast_mul(" in source) == gate, source
        fit = ROOT.torchclad.TrainOptions()
        fit.epochs, fit.batch, fit.lr, fit.threads, fit.progress, fit.seed = 3, 64, 1e-3, 1, False, run
        epochs = imported.fit(train, train, fit).epochs
        out[variant] = statistics.median([epochs[i].samples_per_second for i in (1, 2)])
    return out


def layout_ops_main(a, ROOT):
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "load_average_before": os.getloadavg()},
               "label": a.label, "threads": 1, "batch": 64, "samples": a.cnn_samples, "runs": a.runs}
    with tempfile.TemporaryDirectory(prefix="torchclad-layout-bench-") as tmp:
        runs = [layout_ops_run(ROOT, Path(tmp), a.cnn_samples, run) for run in range(1, a.runs + 1)]
    results["machine"]["load_average_after"] = os.getloadavg()
    results["train_samples_per_second"] = {v: median_range([r[v] for r in runs]) for v in runs[0]}
    # Per 64-sample step (µs), from each run's samples/s: what the Permute
    # adds, what the gate adds (its one-channel convolution, sigmoid,
    # pooling and the Broadcast), and the share of the whole step they take.
    step = {v: [64e6 / r[v] for r in runs] for v in runs[0]}
    names = list(LAYOUT_VARIANTS)
    results["permute_us_per_step"] = median_range([p - q for p, q in zip(step[names[1]], step[names[2]])])
    results["gate_us_per_step"] = median_range([p - q for p, q in zip(step[names[0]], step[names[1]])])
    results["permute_share_of_step"] = median_range(
        [(p - q) / w for p, q, w in zip(step[names[1]], step[names[2]], step[names[0]])])
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"imported-layout-ops-{a.label}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    t = results["train_samples_per_second"]
    lines = [f"# nn::Permute and nn::Broadcast in an imported model's step ({a.label})", "",
             "LayoutNet (bench/imported_models.py --layout-ops): conv [16, 256], times a gate [1, 256] from a "
             f"one-channel conv, transposed to [256, 16], dense head; batch 64, 1 thread, {a.cnn_samples} samples, "
             f"Adam; medians of {a.runs} runs [range]. Load average before/after: "
             f"{results['machine']['load_average_before'][0]:.2f}/"
             f"{results['machine']['load_average_after'][0]:.2f}.", "",
             "| variant | samples/s |", "|---|---|"]
    lines += [f"| {v} | {cell(m, '{:.0f}')} |" for v, m in t.items()]
    lines += ["", f"The Permute adds {cell(results['permute_us_per_step'], '{:.0f}')} µs per step "
              f"({cell(results['permute_share_of_step'], '{:.3f}')} of the full model's step); the gate "
              f"(conv, sigmoid, pool and the Broadcast) {cell(results['gate_us_per_step'], '{:.0f}')} µs.", ""]
    stem.with_suffix(".md").write_text("\n".join(lines))
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    fig, ax = plt.subplots(figsize=(6, 2.6))
    med = [m["median"] for m in t.values()]
    err = [[m["median"] - m["min"] for m in t.values()], [m["max"] - m["median"] for m in t.values()]]
    ax.barh(list(t), med, xerr=err, color="#1f77b4")
    ax.set_title(f"LayoutNet training, samples/s ({a.label})")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(stem.with_suffix(".png"), dpi=110)
    print(stem.with_suffix(".md").read_text())


def torchclad():
    import ROOT  # noqa: PLC0415 (after torch: the order the kernel host loads them in)
    ROOT.gSystem.Load(str(BUILD / "libtorchclad_root.so"))
    ROOT.gInterpreter.AddIncludePath(str(REPO / "cling-plugin" / "root" / "include"))
    ROOT.gInterpreter.Declare('#include "torchclad/import.h"')
    return ROOT


def dataset(ROOT, x, labels):
    return ROOT.torchclad.classification_dataset(ROOT.std.vector["float"](x.reshape(-1)), int(x[0].size),
                                                 ROOT.std.vector["long long"](labels.tolist()))


def median_range(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def latency_us(fn, repeats):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e6


def one_run(ROOT, name, work, samples, run):
    maker, shape, loss, builtin = WORKLOADS[name]
    torch.manual_seed(run)
    module = (maker or gw_cnn)()
    rng = np.random.default_rng(run)
    x = rng.standard_normal((samples, *shape)).astype(np.float32)
    classes = 10 if loss == "cross_entropy" else 2
    labels = rng.integers(0, classes, samples)
    onnx_path, ts_path = work / f"{name}-{run}.onnx", work / f"{name}-{run}.pt"
    torch.onnx.export(module, (torch.from_numpy(x[:2]),), str(onnx_path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "n"}})
    torch.jit.trace(module, torch.from_numpy(x[:2])).save(str(ts_path))
    out = {}

    options = ROOT.torchclad.ImportOptions()
    options.loss = loss
    options.name = f"{name.replace('-', '_')}_run{run}"
    started = time.perf_counter()
    imported = ROOT.torchclad.import_model(str(onnx_path), options)
    out["import_seconds"] = time.perf_counter() - started

    train = dataset(ROOT, x, labels)
    fit = ROOT.torchclad.TrainOptions()
    fit.epochs, fit.batch, fit.lr, fit.threads, fit.progress, fit.seed = 1, 64, 1e-3, 1, False, run
    fit.epochs = 2  # the second epoch's throughput: the first sets up the workspaces
    out["train_sps"] = {"imported (Clad)": imported.fit(train, train, fit).epochs[1].samples_per_second}
    builtin_model = ROOT.torchclad.model(builtin, run)
    out["train_sps"]["built-in (Clad)"] = builtin_model.fit(train, train, fit).epochs[1].samples_per_second

    scripted = torch.jit.load(str(ts_path))
    scripted.train()
    optimizer = torch.optim.Adam(scripted.parameters(), lr=1e-3)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(labels) if loss == "cross_entropy" else torch.from_numpy(labels.astype(np.float32))[:, None]
    criterion = torch.nn.functional.cross_entropy if loss == "cross_entropy" else \
        torch.nn.functional.binary_cross_entropy_with_logits
    def epoch():
        for i in range(0, samples, 64):
            optimizer.zero_grad()
            criterion(scripted(xt[i:i + 64]), yt[i:i + 64]).backward()
            optimizer.step()

    epoch()  # warm-up: TorchScript's profiling executor optimises the graph over its first calls
    started = time.perf_counter()
    epoch()
    out["train_sps"]["LibTorch autograd (TorchScript)"] = samples / (time.perf_counter() - started)

    import onnxruntime  # noqa: PLC0415
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(onnx_path), so)
    scripted.eval()
    out["latency_us"] = {}
    for batch in (1, 256):
        xb = x[:batch]
        data = dataset(ROOT, xb, labels[:batch])
        repeats = 200 if batch == 1 else 20
        out["latency_us"][str(batch)] = {
            "imported (Clad), Model::predict": latency_us(lambda: imported.predict(data), repeats),
            "ONNX Runtime": latency_us(lambda: session.run(None, {"x": xb}), repeats),
            "TorchScript (no_grad)": latency_us(lambda: scripted(torch.from_numpy(xb)), repeats),
        }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--mlp-samples", type=int, default=4096)
    p.add_argument("--cnn-samples", type=int, default=512)
    p.add_argument("--out-dir", default=str(REPO / "cling-plugin" / "bench" / "results"))
    p.add_argument("--layout-ops", action="store_true", help="measure nn::Permute and nn::Broadcast instead")
    p.add_argument("--label", default="current", help="--layout-ops: names the build measured")
    a = p.parse_args()
    torch.set_num_threads(1)
    ROOT = torchclad()
    if a.layout_ops:
        return layout_ops_main(a, ROOT)
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "load_average_before": os.getloadavg()},
               "threads": 1, "optimizer": "adam", "lr": 1e-3, "batch": 64, "runs": a.runs, "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="torchclad-imported-bench-") as tmp:
        for name in a.workloads.split(","):
            samples = a.mlp_samples if name.startswith("mlp") else a.cnn_samples
            runs = [one_run(ROOT, name, Path(tmp), samples, run) for run in range(1, a.runs + 1)]
            w = {"samples": samples, "import_seconds": median_range([r["import_seconds"] for r in runs]),
                 "train_samples_per_second": {e: median_range([r["train_sps"][e] for r in runs])
                                              for e in runs[0]["train_sps"]},
                 "latency_us": {b: {e: median_range([r["latency_us"][b][e] for r in runs])
                                    for e in runs[0]["latency_us"][b]} for b in runs[0]["latency_us"]}}
            results["workloads"][name] = w
            print(f"{name}: import {w['import_seconds']['median']:.2f} s", file=sys.stderr)
    results["machine"]["load_average_after"] = os.getloadavg()
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "imported-models.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "imported-models.md").write_text(markdown(results))
    chart(results, out / "imported-models.png")
    print((out / "imported-models.md").read_text())


def cell(m, fmt):
    return f"{fmt.format(m['median'])} [{fmt.format(m['min'])}-{fmt.format(m['max'])}]"


def markdown(r):
    lines = ["# Imported models (torchclad::import_model)", "",
             f"{r['machine']['cpus']} cores, 1 thread per engine, Adam (lr {r['lr']}), batch {r['batch']}; medians "
             f"of {r['runs']} whole runs [range]. Load average before/after: "
             f"{r['machine']['load_average_before'][0]:.2f}/{r['machine']['load_average_after'][0]:.2f}.", "",
             "## Training throughput (samples/s; ratio to LibTorch autograd on the same TorchScript module)", "",
             "| workload | engine | samples/s | vs autograd |", "|---|---|---|---|"]
    for name, w in r["workloads"].items():
        base = w["train_samples_per_second"]["LibTorch autograd (TorchScript)"]["median"]
        for engine, m in w["train_samples_per_second"].items():
            lines.append(f"| {name} | {engine} | {cell(m, '{:.0f}')} | {m['median'] / base:.2f}x |")
    lines += ["", "## Inference latency (µs per call)", "",
              "| workload | batch | engine | µs |", "|---|---|---|---|"]
    for name, w in r["workloads"].items():
        for batch, engines in w["latency_us"].items():
            for engine, m in engines.items():
                lines.append(f"| {name} | {batch} | {engine} | {cell(m, '{:.0f}')} |")
    lines += ["", "## Import and compile (import_model's whole call, s)", "", "| workload | seconds |", "|---|---|"]
    for name, w in r["workloads"].items():
        lines.append(f"| {name} | {cell(w['import_seconds'], '{:.2f}')} |")
    lines += ["", "Model::predict is called through ROOT's Python bindings (cppyy), ONNX Runtime and TorchScript "
              "from Python: each latency includes its call overhead from Python.", ""]
    return "\n".join(lines)


def chart(r, path):
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    names = list(r["workloads"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        t = r["workloads"][name]["train_samples_per_second"]
        engines = list(t)
        med = [t[e]["median"] for e in engines]
        err = [[t[e]["median"] - t[e]["min"] for e in engines], [t[e]["max"] - t[e]["median"] for e in engines]]
        ax.barh(engines, med, xerr=err, color=["#1f77b4", "#6baed6", "#999999"][:len(engines)])
        ax.set_title(f"{name}: training, samples/s (1 thread)")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
