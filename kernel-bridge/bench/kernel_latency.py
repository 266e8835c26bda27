"""Kernel start-up and trivial-cell round trip, torchclad beside ipykernel.

Starts each kernel through jupyter_client (as a notebook server does), times
start to the first kernel_info_reply, then the round trip of a trivial cell
(execute_request sent -> status idle received) over --runs cells; all of it
--repeats times (a new kernel each time). Figures are the median of the
repeats' medians, with the range of the repeats' medians as spread.

Step by step (bridge and host timings per cell): latency_breakdown.py.
Where the time goes, for torchclad: an empty cell (the host answers it
without cling: the Jupyter protocol, the bridge and the host channel); the
host alone over its channel (cling-plugin/host/tests/host_client.py: no
bridge, no ZeroMQ); cling alone (gInterpreter->ProcessLine called in a
loop inside one cell, each call timed in the host), at the session's level
(1, ROOT's wheel's default) and at -O0 (EXTRA_CLING_ARGS=-O0). The host
compiles a cell of fundamental types and operators (`int x = 1;`, `1+1`)
without optimization (cling-plugin/host/src/quick_cell.hpp); `int x =
abs(-1);`, a call, is as trivial but optimized.

The torchclad kernel is this checkout's (kernel-bridge/dist, the build
tree's host), installed into a temporary kernelspec dir first on
JUPYTER_PATH. Writes results/latency.json, results/latency.md and
results/latency.png.

    .venv/bin/python kernel-bridge/bench/kernel_latency.py [--runs 100] [--repeats 3] [--host-alone]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
sys.path.insert(0, str(REPO / "cling-plugin" / "host" / "tests"))
sys.path.insert(0, str(HERE))
from kernel_cells import running_kernel, time_calls, time_cells  # noqa: E402

# (label, kernel, code, extra environment of the kernel)
CASES = [
    ("torchclad, `int x = 1;`", "torchclad", "int x = 1;", {}),
    ("torchclad, `1+1` (its value: an execute_result)", "torchclad", "1+1", {}),
    ("torchclad, empty cell (no cling)", "torchclad", "", {}),
    # A call: not a quick cell, so cling optimizes it at the session's level
    ("torchclad, `int x = abs(-1);` (optimized: not a quick cell)", "torchclad", "int x = abs(-1);", {}),
    ("ipykernel, `x = 1`", "python3", "x = 1", {}),
    ("ipykernel, `1+1`", "python3", "1+1", {}),
]
HOST_CASE = ("torchclad host alone, `int x = 1;`", "int x = 1;")
# cling alone: gInterpreter->ProcessLine called from inside a cell, each call
# timed in the host (no channel, no bridge): what cling takes per cell.
CLING_CASES = [
    ("cling alone, ProcessLine(`int x = 1;`)", "int x = 1;", {}),
    ("cling alone, ProcessLine(`;`)", ";", {}),
    ("cling alone, ProcessLine(`int x = 1;`), EXTRA_CLING_ARGS=-O0", "int x = 1;", {"EXTRA_CLING_ARGS": "-O0"}),
]


def summary(times: list) -> dict:
    q = statistics.quantiles(times, n=4)
    return {"median_ms": round(statistics.median(times), 3), "p25_ms": round(q[0], 3),
            "p75_ms": round(q[2], 3), "min_ms": round(min(times), 3)}


def through_jupyter_client(kernel: str, code: str, runs: int, env: dict) -> dict:
    with running_kernel(kernel, env) as (kc, start_s):
        time_cells(kc, code, 3)  # warm-up: the first cells compile cling's wrappers
        times = time_cells(kc, code, runs)
    return {"start_s": round(start_s, 3), **summary(times)}


def host_alone(code: str, runs: int) -> dict:
    from host_client import Host  # the host's own test client: frames over a socketpair

    host = Host()
    try:
        time_calls(lambda: host.execute(code)[0], 3)
        times = time_calls(lambda: host.execute(code)[0], runs)
    finally:
        host.close()
    return summary(times)


def cling_alone(line: str, runs: int, env: dict) -> dict:
    from host_client import Host

    host = Host(env={**os.environ, **env})
    try:
        cell = (
            "#include <chrono>\n"
            "for (int i = 0; i < %d; ++i) {\n"
            "  auto t0 = std::chrono::steady_clock::now();\n"
            "  gInterpreter->ProcessLine(%s);\n"
            '  printf("%%.6f\\n", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());\n'
            "}" % (runs + 3, json.dumps(line)))
        reply, events = host.execute(cell, timeout=300)
        assert reply["status"] == "ok", reply
        text = "".join(e["text"] for e in events if e["type"] == "stream" and e["name"] == "stdout")
        times = [float(x) for x in text.split()][3:]  # the first calls warm up
    finally:
        host.close()
    return summary(times)


def install_this_checkout(prefix: str) -> None:
    subprocess.run(["node", str(REPO / "kernel-bridge" / "dist" / "main.js"), "install", "--prefix", prefix],
                   check=True, stdout=subprocess.DEVNULL)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(Path(prefix) / "share" / "jupyter")] + [p for p in [os.environ.get("JUPYTER_PATH")] if p])


def aggregate(label: str, repeats: list, key: str = "median_ms") -> dict:
    medians = [r[key] for r in repeats]
    out = {"case": label, "repeats": repeats, "median_ms": round(statistics.median(medians), 3),
           "range_ms": [min(medians), max(medians)]}
    if "start_s" in repeats[0]:
        out["start_s"] = round(statistics.median(r["start_s"] for r in repeats), 3)
    return out


def plot(records: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["case"].replace("`", "") for r in records]
    med = [r["median_ms"] for r in records]
    lo = [r["median_ms"] - r["range_ms"][0] for r in records]
    hi = [r["range_ms"][1] - r["median_ms"] for r in records]
    fig, ax = plt.subplots(figsize=(10, 3.8))
    ax.barh(labels, med, xerr=[lo, hi], color="#4c72b0", capsize=4)
    ax.axvline(3.0, color="#c44e52", linestyle="--", label="target 3 ms")
    ax.set_xlabel("ms per cell: median of the kernels' medians (bars: their range)")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100, help="cells per kernel")
    p.add_argument("--repeats", type=int, default=3, help="kernels started per case")
    p.add_argument("--report-only", action="store_true", help="rewrite latency.md and .png from latency.json")
    p.add_argument("--host-alone", action="store_true",
                   help="only the host alone over its channel, --repeats hosts; prints, writes no results")
    args = p.parse_args()
    if args.host_alone:
        return print_host_alone(args.runs, args.repeats)
    if args.report_only:
        saved = json.loads((RESULTS / "latency.json").read_text())
        return write_reports(saved["machine"], saved["records"])
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="torchclad-bench-kernelspec-") as prefix:
        install_this_checkout(prefix)
        # Round robin (every case once per round): a change in the machine's
        # load during the benchmark reaches all cases alike.
        runs = {label: [] for label, *_ in CASES + [HOST_CASE] + CLING_CASES}
        for round_ in range(args.repeats):
            for label, kernel, code, env in CASES:
                runs[label].append(through_jupyter_client(kernel, code, args.runs, env))
                print(f"round {round_ + 1}, {label}: {runs[label][-1]['median_ms']:.2f} ms", flush=True)
            runs[HOST_CASE[0]].append(host_alone(HOST_CASE[1], args.runs))
            print(f"round {round_ + 1}, {HOST_CASE[0]}: {runs[HOST_CASE[0]][-1]['median_ms']:.2f} ms", flush=True)
            for label, line, env in CLING_CASES:
                runs[label].append(cling_alone(line, args.runs, env))
                print(f"round {round_ + 1}, {label}: {runs[label][-1]['median_ms']:.2f} ms", flush=True)
        records = [{**aggregate(label, runs[label]), "kernel": kernel, "code": code, "env": env}
                   for label, kernel, code, env in CASES]
        records.append({**aggregate(HOST_CASE[0], runs[HOST_CASE[0]]), "kernel": "torchclad-host",
                        "code": HOST_CASE[1]})
        records += [{**aggregate(label, runs[label]), "kernel": "cling (in the host)", "code": line, "env": env}
                    for label, line, env in CLING_CASES]
    load = os.getloadavg()
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
               "load_average_1min_start_end": [round(load_start, 2), round(load[0], 2)],
               "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": args.runs, "repeats": args.repeats}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps({"machine": machine, "records": records}, indent=2) + "\n")
    write_reports(machine, records)


def print_host_alone(runs: int, repeats: int) -> None:
    """The host alone (HOST_CASE) as in the full benchmark, with the load around it."""
    load_start = os.getloadavg()[0]
    repeats_ = []
    for round_ in range(repeats):
        repeats_.append(host_alone(HOST_CASE[1], runs))
        print(f"host {round_ + 1}: median {repeats_[-1]['median_ms']:.2f} ms", flush=True)
    r = aggregate(HOST_CASE[0], repeats_)
    print(f"{r['case']}: {r['median_ms']:.2f} ms (range of the hosts' medians {r['range_ms'][0]:.2f}–"
          f"{r['range_ms'][1]:.2f} ms; {repeats} hosts, {runs} cells each; 1-minute load average "
          f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores)")


def write_reports(machine: dict, records: list) -> None:
    """results/latency.md and latency.png from the measurements."""
    lines = ["| case | time per cell: median of the kernels' medians | range of those medians "
             "| start to kernel_info_reply |", "|---|---:|---:|---:|"]
    for r in records:
        start = f"{r['start_s']:.2f} s" if "start_s" in r else ""
        lines.append(f"| {r['case']} | {r['median_ms']:.2f} ms | {r['range_ms'][0]:.2f}–{r['range_ms'][1]:.2f} ms "
                     f"| {start} |")
    load_start, load_end = machine["load_average_1min_start_end"]
    (RESULTS / "latency.md").write_text(
        f"Measured {machine['generated']} on {machine['cores']} cores (1-minute load average "
        f"{load_start:.1f} at the start, {load_end:.1f} at the end), {machine['repeats']} kernels per case "
        f"(round robin), {machine['runs']} cells each.\n\n" + "\n".join(lines) + "\n\n![round trips](latency.png)\n")
    plot(records, RESULTS / "latency.png")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
