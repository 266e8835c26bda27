"""Data-parallel scaling: runs torchclad-bench-mpi (mpi_step.cpp) with 1, 2
and 4 ranks (--oversubscribe) several times, fits the ring-allreduce cost
model of README.md ("Many processes") to the bare allreduces measured here,
projects it to 8-64 nodes on 10/25/100 Gb/s networks, and writes
results/mpi-scaling.{json,md,png}.

usage: mpi_scaling.py --bench build/cling-plugin/bench/torchclad-bench-mpi
                      [--ranks 1,2,4] [--repeats 3] [--out-dir cling-plugin/bench/results]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def run(bench, ranks, extra):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = ([bench] if ranks == 1 else ["mpirun", "--oversubscribe", "-np", str(ranks), bench]) + extra
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=1800).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def code_commit():
    """The code measured: HEAD's short hash, -dirty with uncommitted changes."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "diff", "--quiet", "HEAD"]).returncode != 0
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def fit_ring(points):
    """T = 2(N-1) a + 2(N-1)/N * bytes / bw, least squares of the relative
    error over (N, bytes, T) (plain least squares would fit the largest
    messages only and make the latency of small ones up)."""
    A = np.array([[2 * (n - 1) / t, 2 * (n - 1) / n * b / t] for n, b, t in points])
    (a, inv_bw), *_ = np.linalg.lstsq(A, np.ones(len(points)), rcond=None)
    return a, 1 / inv_bw


def ring_us(n, nbytes, alpha_us, bytes_per_us):
    return 2 * (n - 1) * alpha_us + 2 * (n - 1) / n * nbytes / bytes_per_us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--ranks", default="1,2,4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out-dir", default="cling-plugin/bench/results")
    ap.add_argument("--bench-args", default="", help="passed to torchclad-bench-mpi, e.g. '--steps 10 --rounds 3'")
    ap.add_argument("--net-latency-us", type=float, default=10.0,
                    help="assumed per-message latency of the cluster network (not measured here)")
    args = ap.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    loads = [load1()]
    records = []
    for rep in range(args.repeats):
        for n in ranks:
            t0 = time.time()
            for r in run(args.bench, n, args.bench_args.split()):
                r["repeat"] = rep
                records.append(r)
            loads.append(load1())
            print(f"repeat {rep}, {n} ranks: {time.time() - t0:.0f} s, load {loads[-1]}", file=sys.stderr)

    # Medians over repeats, with their range.
    steps = {}
    for r in records:
        if r["kind"] == "step":
            steps.setdefault((r["workload"], r["engine"], r["ranks"], r["local_batch"]), []).append(r)
    step_rows = []
    for (w, e, n, b), rs in sorted(steps.items()):
        s = [r["step_us"] for r in rs]
        a = [r["allreduce_us"] for r in rs]
        step_rows.append(dict(workload=w, engine=e, ranks=n, local_batch=b, params=rs[0]["params"],
                              step_us=statistics.median(s), step_us_lo=min(s), step_us_hi=max(s),
                              allreduce_us=statistics.median(a), allreduce_us_lo=min(a),
                              allreduce_us_hi=max(a), runs=len(rs)))
    ar = {}
    for r in records:
        if r["kind"] == "allreduce" and r["ranks"] > 1:
            ar.setdefault((r["ranks"], r["bytes"]), []).append(r["us"])
    ar_rows = [dict(ranks=n, bytes=b, us=statistics.median(v), us_lo=min(v), us_hi=max(v))
               for (n, b), v in sorted(ar.items())]
    # Fit only where every rank has a core of its own: oversubscribed ranks
    # wait to be scheduled, which is not the network's latency.
    fit_rows = [r for r in ar_rows if r["ranks"] <= (os.cpu_count() or 1)] or ar_rows
    alpha, bw = fit_ring([(r["ranks"], r["bytes"], r["us"]) for r in fit_rows])

    # Compute per step at 1 rank: t(b) = t0 + b * ts for each (workload, engine).
    compute = {}
    for w, e in sorted({(r["workload"], r["engine"]) for r in step_rows}):
        pts = [(r["local_batch"], r["step_us"]) for r in step_rows
               if r["workload"] == w and r["engine"] == e and r["ranks"] == 1]
        if len(pts) >= 2:
            ts, t0 = np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)
            compute[(w, e)] = (max(t0, 0.0), ts, next(r["params"] for r in step_rows if r["workload"] == w))

    projection = []
    for gbps in (10, 25, 100):
        bytes_per_us = gbps * 1e9 / 8 / 1e6
        for nodes in (8, 16, 32, 64):
            for (w, e), (t0, ts, params) in compute.items():
                t_ar = ring_us(nodes, 4 * params, args.net_latency_us, bytes_per_us)
                # Efficiency t(b) / (t(b) + t_ar) >= 0.8  <=>  t(b) >= 4 t_ar.
                b80 = max(1, int(np.ceil((4 * t_ar - t0) / ts)))
                projection.append(dict(workload=w, engine=e, network_gbps=gbps, nodes=nodes,
                                       allreduce_us=t_ar, min_local_batch_80pct=b80,
                                       efficiency_at_64=(t0 + 64 * ts) / (t0 + 64 * ts + t_ar)))

    machine = dict(cpus=os.cpu_count(), cpu=cpu_model(), commit=code_commit(), load1_during=loads,
                   bench_args=args.bench_args, date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    result = dict(machine=machine, steps=step_rows, allreduce=ar_rows,
                  fit=dict(alpha_us=alpha, bytes_per_us=bw, ranks_fitted=sorted({r["ranks"] for r in fit_rows}),
                           model="T = 2(N-1) alpha + 2(N-1)/N * bytes / bandwidth"),
                  compute_fit={f"{w}/{e}": dict(t0_us=t0, per_sample_us=ts, params=p)
                               for (w, e), (t0, ts, p) in compute.items()},
                  projection=dict(net_latency_us_assumed=args.net_latency_us, rows=projection))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "mpi-scaling.json"), "w") as f:
        json.dump(result, f, indent=1)
    write_md(result, os.path.join(args.out_dir, "mpi-scaling.md"))
    write_png(result, os.path.join(args.out_dir, "mpi-scaling.png"))


def write_md(r, path):
    L = ["# Data-parallel steps under mpirun (one machine)", "",
         f"{r['machine']['cpus']} cores ({r['machine'].get('cpu', 'cpu not recorded')}), code "
         f"`{r['machine'].get('commit', 'not recorded')}`, {r['machine']['date']}; "
         "1-minute load average while measuring: "
         f"{', '.join(f'{x:.1f}' for x in r['machine']['load1_during'])} (the ranks' own load "
         "included; ranks beyond the cores are oversubscribed, so times at 4 ranks include waiting for a core).",
         "Medians over whole runs (range in brackets); per step: the slowest rank's mean.", "",
         "| workload | engine | ranks | local batch | step µs | allreduce µs | allreduce share |",
         "|---|---|---|---|---|---|---|"]
    for s in r["steps"]:
        L.append(f"| {s['workload']} | {s['engine']} | {s['ranks']} | {s['local_batch']} | "
                 f"{s['step_us']:.0f} [{s['step_us_lo']:.0f}-{s['step_us_hi']:.0f}] | "
                 f"{s['allreduce_us']:.0f} [{s['allreduce_us_lo']:.0f}-{s['allreduce_us_hi']:.0f}] | "
                 f"{100 * s['allreduce_us'] / s['step_us']:.0f}% |")
    L += ["", "## Bare allreduce (float32, in place, shared memory)", "",
          "| ranks | bytes | µs |", "|---|---|---|"]
    for a in r["allreduce"]:
        L.append(f"| {a['ranks']} | {a['bytes']} | {a['us']:.1f} [{a['us_lo']:.1f}-{a['us_hi']:.1f}] |")
    f = r["fit"]
    L += ["", f"Ring fit here ({', '.join(map(str, f['ranks_fitted']))} ranks: each rank on a core of its own): "
          f"alpha = {f['alpha_us']:.2f} µs per message, bandwidth = "
          f"{f['bytes_per_us'] / 1e3:.2f} GB/s ({f['model']}). With 4 ranks on 2 cores a rank often waits "
          "to be scheduled, so its allreduce times are not a network property.", "",
          "## Projection to a cluster", "",
          f"Network latency assumed {r['projection']['net_latency_us_assumed']} µs per message (not measured); "
          "compute per step from the 1-rank fit t(b) = t0 + b·ts, no overlap of allreduce and compute.", "",
          "Local batch per rank above which the efficiency stays ≥ 80% (allreduce µs per step in brackets):", "",
          "| workload | engine | network | 8 nodes | 16 nodes | 32 nodes | 64 nodes |",
          "|---|---|---|---|---|---|---|"]
    rows = r["projection"]["rows"]
    for w, e, g in sorted({(p["workload"], p["engine"], p["network_gbps"]) for p in rows}):
        cells = []
        for n in (8, 16, 32, 64):
            p = next(p for p in rows if (p["workload"], p["engine"], p["network_gbps"], p["nodes"]) == (w, e, g, n))
            cells.append(f"{p['min_local_batch_80pct']} ({p['allreduce_us']:.0f})")
        L.append(f"| {w} | {e} | {g} Gb/s | " + " | ".join(cells) + " |")
    L += ["", "Compute fit at 1 rank (t0 + b·ts, µs): " + ", ".join(
        f"{k}: t0 {v['t0_us']:.0f}, ts {v['per_sample_us']:.2f}" for k, v in r["compute_fit"].items()) + "."]
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def write_png(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    for n in sorted({a["ranks"] for a in r["allreduce"]}):
        pts = [a for a in r["allreduce"] if a["ranks"] == n]
        b = np.array([p["bytes"] for p in pts])
        ax.loglog(b, [p["us"] for p in pts], "o", label=f"{n} ranks measured")
        ax.loglog(b, ring_us(n, b, r["fit"]["alpha_us"], r["fit"]["bytes_per_us"]), "-", label=f"{n} ranks ring fit")
    ax.set_xlabel("bytes")
    ax.set_ylabel("allreduce µs")
    ax.legend(fontsize=7)
    ax = axes[1]
    for s in {(x["workload"], x["engine"]) for x in r["steps"]}:
        for b in sorted({x["local_batch"] for x in r["steps"] if (x["workload"], x["engine"]) == s})[-1:]:
            pts = sorted([x for x in r["steps"] if (x["workload"], x["engine"]) == s and x["local_batch"] == b],
                         key=lambda x: x["ranks"])
            ax.plot([p["ranks"] for p in pts], [p["step_us"] for p in pts], "o-", label=f"{s[0]} {s[1]} b={b}")
    ax.set_xlabel("ranks (one machine, 2 cores; same local batch: ideal is flat)")
    ax.set_ylabel("step µs")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
