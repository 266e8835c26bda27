"""Where the round trip of a trivial cell goes, step by step.

Starts this checkout's torchclad kernel through jupyter_client with
TORCHCLAD_TIMING=1, so that the bridge (src/timing.ts) and the host
(host/src/cell_timing.cpp) log, per cell, the microseconds from the arrival
of its request to each of their steps. Runs --runs cells of each code, takes
the median of every step, and prints them beside the client's own round trip
(execute_request sent -> status idle received, as kernel_latency.py times
it). With --kernels N, each code runs in N kernels one after another and
every figure is the median of the N kernels' medians (their range beside).
Writes results/latency_breakdown.json and .md.

    .venv/bin/python kernel-bridge/bench/latency_breakdown.py [--runs 200] [--kernels 5] [--code 'int x = 1;' ...]
"""
import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from kernel_cells import running_kernel, time_cells  # noqa: E402
from kernel_latency import RESULTS, install_this_checkout  # noqa: E402

LINE = re.compile(r"\[timing\] (bridge|host) (\S+) us from \S+: (.*)")
START = re.compile(r"start_ns=(\d+)")
STEP = re.compile(r"(\w+)=([\d.]+)\(\+([\d.]+)\)")


def run(code: str, runs: int) -> dict:
    log = tempfile.NamedTemporaryFile(prefix="torchclad-timing-", suffix=".log", delete=False)
    with running_kernel("torchclad", {"TORCHCLAD_TIMING": "1"}, stderr=log) as (kc, _):
        time_cells(kc, code, 5)
        time.sleep(0.5)
        skip = Path(log.name).read_text().count("[timing] bridge execute_request")
        client = time_cells(kc, code, runs)
    lines = Path(log.name).read_text().splitlines()
    os.unlink(log.name)
    steps = {"bridge": {}, "host": {}}
    starts = {"bridge": [], "host": []}
    seen = {"bridge": 0, "host": 0}
    for line in lines:
        m = LINE.search(line)
        if not m or m.group(2) not in ("execute_request", "execute"):
            continue
        side = m.group(1)
        seen[side] += 1
        if seen[side] <= skip:
            continue
        starts[side].append(int(START.search(m.group(3)).group(1)))
        marks = {}
        for step, at, delta in STEP.findall(m.group(3)):
            steps[side].setdefault(step, []).append((float(at), float(delta)))
            marks[step] = float(at)
        starts[side][-1] = (starts[side][-1], marks)
    q = statistics.quantiles(client, n=4)
    out = {"code": code, "runs": runs, "client_round_trip_ms": round(statistics.median(client), 3),
           "client_round_trip_p25_p75_ms": [round(q[0], 3), round(q[2], 3)]}
    # Both sides use the monotonic clock: the channel's transit each way, per cell.
    to_host, from_host = [], []
    for (b0, b), (h0, h) in zip(starts["bridge"], starts["host"]):
        if "to_host" in b and "host_reply" in b and "reply_built" in h:
            to_host.append((h0 - b0) / 1e3 - b["to_host"])
            from_host.append(b["host_reply"] - ((h0 - b0) / 1e3 + h["reply_built"]))
    if to_host:
        out["channel_to_host_us"] = round(statistics.median(to_host), 1)
        out["channel_from_host_us"] = round(statistics.median(from_host), 1)
    for side in ("bridge", "host"):
        out[side] = [{"step": s, "at_us": round(statistics.median(a for a, _ in v), 1),
                      "step_us": round(statistics.median(d for _, d in v), 1),
                      "step_p25_us": round(statistics.quantiles([d for _, d in v], n=4)[0], 1)}
                     for s, v in steps[side].items()]
    return out


def combine(records: list) -> dict:
    """One record from several kernels' records of the same code: medians of their medians."""
    if len(records) == 1:
        return records[0]
    med = lambda xs: round(statistics.median(xs), 3)  # noqa: E731
    per_kernel = [r["client_round_trip_ms"] for r in records]
    out = {"code": records[0]["code"], "runs": records[0]["runs"], "kernels": len(records),
           "client_round_trip_ms": med(per_kernel), "client_round_trip_per_kernel_ms": per_kernel,
           "client_round_trip_p25_p75_ms": [med(r["client_round_trip_p25_p75_ms"][0] for r in records),
                                            med(r["client_round_trip_p25_p75_ms"][1] for r in records)]}
    for key in ("channel_to_host_us", "channel_from_host_us"):
        values = [r[key] for r in records if key in r]
        if values:
            out[key] = med(values)
    for side in ("bridge", "host"):
        steps: dict = {}
        for r in records:
            for s in r[side]:
                steps.setdefault(s["step"], []).append(s)
        out[side] = [{"step": name, "at_us": med(s["at_us"] for s in v), "step_us": med(s["step_us"] for s in v),
                      "step_p25_us": med(s["step_p25_us"] for s in v),
                      "step_us_per_kernel": [s["step_us"] for s in v]} for name, v in steps.items()]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--kernels", type=int, default=1, help="kernels per code (medians of their medians)")
    p.add_argument("--code", action="append", help="cells to time (default: `int x = 1;`, `1+1`, empty)")
    args = p.parse_args()
    codes = args.code or ["int x = 1;", "1+1", ""]
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="torchclad-bench-kernelspec-") as prefix:
        install_this_checkout(prefix)
        records = [combine([run(code, args.runs) for _ in range(args.kernels)]) for code in codes]
    load_end = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    machine = {"cores": os.cpu_count(), "load_average_1min_start_end": [round(load_start, 2), round(load_end, 2)],
               "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": args.runs, "kernels": args.kernels}
    (RESULTS / "latency_breakdown.json").write_text(json.dumps({"machine": machine, "records": records}, indent=2) + "\n")
    md = [f"Measured {machine['generated']} on {machine['cores']} cores (1-minute load average {load_start:.1f} "
          f"at the start, {load_end:.1f} at the end), {args.runs} cells per code in each of {args.kernels} "
          "kernel(s) (with several, the median of the kernels' medians), medians (and first quartiles, nearer the uncontended cost on a busy machine) per step "
          "(TORCHCLAD_TIMING=1: µs from the arrival of the request in the bridge, resp. of its frame in the host).\n"]
    for r in records:
        p25, p75 = r["client_round_trip_p25_p75_ms"]
        per_kernel = r.get("client_round_trip_per_kernel_ms")
        kernels = f"; per kernel {min(per_kernel):.2f}–{max(per_kernel):.2f}" if per_kernel else ""
        md.append(f"\n### `{r['code'] or '(empty cell)'}`: client round trip {r['client_round_trip_ms']:.2f} ms "
                  f"(quartiles {p25:.2f}–{p75:.2f}{kernels})\n")
        if "channel_to_host_us" in r:
            md.append(f"Host channel transit (same clock on both sides): bridge → host {r['channel_to_host_us']:.0f} µs, "
                      f"host → bridge {r['channel_from_host_us']:.0f} µs.\n")
        md.append("| side | step | at (µs, median) | step (µs, median) | step (µs, 1st quartile) |\n"
                  "|---|---|---:|---:|---:|")
        for side in ("bridge", "host"):
            for s in r[side]:
                md.append(f"| {side} | {s['step']} | {s['at_us']:.0f} | {s['step_us']:.0f} | {s['step_p25_us']:.0f} |")
    (RESULTS / "latency_breakdown.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
