#!/usr/bin/env python3
"""Time training steps in PyTorch (eager and torch.compile) for the torchclad bench.

Workloads: MLPs (mlp-A-B-...-Z, cross-entropy) and the 1D CNN binary
classifier of the gravitational-wave workload (cnn-gw, BCE with logits).

Writes a JSON array of records in the same schema as the C++ bench binary, so
report.py can put both producers side by side. See README.md in this folder.
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ENGINES = ("pytorch-eager", "torch-compile")
SEED = 0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workloads", default="mlp-784-128-10,mlp-784-256-128-10")
    p.add_argument("--batches", default="1,8,32,128,512")
    p.add_argument("--cnn-batches", default="1,8,32,128,256", help="batches of cnn-* workloads")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--steps", type=int, default=30, help="timed steps per round")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per engine")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per config")
    p.add_argument("--optimizer", default="sgd",
                   help="sgd, adam or both (sgd,adam): every config runs with each")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--out", required=True, help="output JSON path")
    args = p.parse_args(argv)
    args.workloads = args.workloads.split(",")
    args.batches = [int(b) for b in args.batches.split(",")]
    args.cnn_batches = [int(b) for b in args.cnn_batches.split(",")]
    args.threads = [int(t) for t in args.threads.split(",")]
    args.engines = args.engines.split(",")
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        p.error(f"unknown engines {sorted(unknown)}; known: {list(ENGINES)}")
    return args


# cnn-gw (cling-plugin/engine/model/cnn_config.hpp): 2048 samples, blocks of
# Conv1d(stride 1, no padding) -> ReLU -> MaxPool1d(pool) as (channels,
# kernel, pool), then Linear(flat, 64) -> ReLU -> Linear(64, 1).
CNN_WORKLOADS = {"cnn-gw": dict(length=2048, blocks=[(8, 16, 4), (16, 8, 4), (32, 8, 4)], hidden=64)}


def parse_workload(name):
    """'mlp-784-128-10' -> [784, 128, 10]; 'cnn-gw' -> its CNN_WORKLOADS entry."""
    if name in CNN_WORKLOADS:
        return CNN_WORKLOADS[name]
    kind, *dims = name.split("-")
    if kind != "mlp" or len(dims) < 2:
        raise ValueError(f"workload must look like mlp-A-B[-C...] or be one of {list(CNN_WORKLOADS)}, got {name!r}")
    return [int(d) for d in dims]


def build_cnn(spec):
    layers, channels, length = [nn.Unflatten(1, (1, spec["length"]))], 1, spec["length"]
    for out, kernel, pool in spec["blocks"]:
        layers += [nn.Conv1d(channels, out, kernel), nn.ReLU(), nn.MaxPool1d(pool)]
        channels, length = out, (length - kernel + 1) // pool
    layers += [nn.Flatten(), nn.Linear(channels * length, spec["hidden"]), nn.ReLU(),
               nn.Linear(spec["hidden"], 1), nn.Flatten(0)]
    return nn.Sequential(*layers)


def build_model(dims):
    if isinstance(dims, dict):
        return build_cnn(dims)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(dims, dims[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


def build_optimizer(params, name):
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3)
    return torch.optim.SGD(params, lr=0.01, momentum=0.9)


def make_batch(dims, batch):
    g = torch.Generator().manual_seed(SEED + 1)
    if isinstance(dims, dict):  # CNN: signal windows and 0/1 float targets
        x = torch.randn(batch, dims["length"], generator=g)
        return x, torch.randint(0, 2, (batch,), generator=g).float()
    x = torch.randn(batch, dims[0], generator=g)
    y = torch.randint(0, dims[-1], (batch,), generator=g, dtype=torch.int64)
    return x, y


def make_step(engine, dims, optimizer_name, x, y):
    """Return a closure doing one full training step for `engine`.

    Every engine re-seeds before building, so all start from identical weights.
    torch-compile compiles only the model (forward + AOT backward); the loss and
    optimizer.step() stay eager, the way most users apply torch.compile.
    """
    torch.manual_seed(SEED)
    model = build_model(dims)
    opt = build_optimizer(model.parameters(), optimizer_name)
    forward = torch.compile(model, mode="default", dynamic=False) if engine == "torch-compile" else model

    loss_fn = F.binary_cross_entropy_with_logits if isinstance(dims, dict) else F.cross_entropy

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(x), y)
        loss.backward()
        opt.step()

    return step


def time_steps(step, n):
    """Per-step wall times in ns; CPU execution is synchronous, so no fences are needed."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        step()
        out.append(time.perf_counter_ns() - t0)
    return out


def peak_rss_mb():
    # ru_maxrss is KiB on Linux and a process-wide high-water mark.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_up(step, n):
    """Run n untimed steps (the first one triggers torch.compile); return seconds taken."""
    t0 = time.perf_counter()
    for _ in range(max(n, 1)):
        step()
    return time.perf_counter() - t0


def summarize(samples_ns):
    us = np.asarray(samples_ns, dtype=np.float64) / 1e3
    p25, median, p75 = np.percentile(us, [25, 50, 75])
    return {
        "median_us": float(median),
        "p25_us": float(p25),
        "p75_us": float(p75),
        "min_us": float(us.min()),
        "samples": int(us.size),
    }


def error_message(exc):
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:500]


def run_config(workload, batch, threads, optimizer, args):
    """Warm up every engine, then interleave their timed rounds so drift hits all alike."""
    torch.set_num_threads(threads)
    # Fresh dynamo state: the shared Sequential.forward code object would otherwise pile up
    # recompiles across configs until the recompile limit silently falls back to eager,
    # and inductor would reuse kernels generated for a different thread count.
    torch._dynamo.reset()
    dims = parse_workload(workload)
    x, y = make_batch(dims, batch)
    steps, samples, records = {}, {}, {}
    for engine in args.engines:
        records[engine] = {"workload": workload, "engine": engine, "batch": batch, "threads": threads}
        try:
            steps[engine] = make_step(engine, dims, optimizer, x, y)
            records[engine]["warmup_s"] = warm_up(steps[engine], args.warmup)
            samples[engine] = []
        except Exception as exc:  # e.g. inductor finding no C++ compiler
            records[engine]["error"] = error_message(exc)
            steps.pop(engine, None)
    for _ in range(args.rounds):
        for engine in list(steps):
            try:
                samples[engine] += time_steps(steps[engine], args.steps)
                records[engine]["peak_rss_mb"] = peak_rss_mb()
            except Exception as exc:
                records[engine]["error"] = error_message(exc)
                del steps[engine]
    for engine, rec in records.items():
        if "error" not in rec:
            rec.update(summarize(samples[engine]))
        # Python allocations are not counted; the field keeps the schema equal to the C++ one.
        rec.update(allocs_per_step=None, optimizer=optimizer, torch_version=torch.__version__)
    return [records[e] for e in args.engines]


def progress_line(records):
    r0 = records[0]
    parts = []
    for r in records:
        if "error" in r:
            parts.append(f"{r['engine']} ERROR {r['error']}")
        else:
            parts.append(f"{r['engine']} {r['median_us']:.1f}us (warm-up {r['warmup_s']:.2f}s)")
    return (f"{r0['workload']} {r0['optimizer']} batch={r0['batch']} threads={r0['threads']}: "
            + ", ".join(parts))


def main(argv=None):
    args = parse_args(argv)
    optimizers = args.optimizer.split(",")
    for name in optimizers:
        if name not in ("sgd", "adam"):
            sys.exit(f"python_engines.py: --optimizer takes sgd and/or adam, found '{name}'")
    results = []
    for workload in args.workloads:
        batches = args.cnn_batches if workload in CNN_WORKLOADS else args.batches
        for threads in args.threads:
            for batch in batches:
                for optimizer in optimizers:
                    records = run_config(workload, batch, threads, optimizer, args)
                    print(progress_line(records), file=sys.stderr, flush=True)
                    results += records
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
