"""Kernel start-up and trivial-cell round trip, torchclad beside ipykernel.

Starts each kernel through jupyter_client (as a notebook server does), times
start to the first kernel_info_reply, then the round trip of a trivial cell
(execute_request sent -> status idle received) over --runs runs, and writes
results/latency.json and results/latency.md.

    .venv/bin/python kernel-bridge/bench/kernel_latency.py [--runs 100]
"""
import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from jupyter_client.manager import KernelManager

KERNELS = {"torchclad": "int x = 1;", "python3": "x = 1"}
RESULTS = Path(__file__).resolve().parent / "results"


def measure(name: str, code: str, runs: int) -> dict:
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)  # sends kernel_info_request, waits for the reply
    start_s = time.perf_counter() - t0
    try:
        kc.execute_interactive(code, timeout=30)  # warm-up: first cell compiles cling's wrapper
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            reply = kc.execute_interactive(code, timeout=30, output_hook=lambda msg: None)
            times.append((time.perf_counter() - t) * 1e3)
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    q = statistics.quantiles(times, n=4)
    return {"kernel": name, "code": code, "start_s": round(start_s, 3), "runs": runs,
            "median_ms": round(statistics.median(times), 3), "p25_ms": round(q[0], 3),
            "p75_ms": round(q[2], 3), "min_ms": round(min(times), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100)
    args = p.parse_args()
    records = [measure(name, code, args.runs) for name, code in KERNELS.items()]
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps({"machine": machine, "records": records}, indent=2) + "\n")
    lines = ["| kernel | start to kernel_info_reply | trivial cell, median (p25–p75) | cell |",
             "|---|---:|---:|---|"]
    for r in records:
        lines.append(f"| {r['kernel']} | {r['start_s']:.2f} s | {r['median_ms']:.2f} ms "
                     f"({r['p25_ms']:.2f}–{r['p75_ms']:.2f}) | `{r['code']}` |")
    (RESULTS / "latency.md").write_text(
        f"Measured {machine['generated']} on {machine['cores']} cores, {args.runs} runs each.\n\n"
        + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
