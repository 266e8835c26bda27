#!/usr/bin/env python3
"""Engine clad-user (a workload written as a model definition, torchclad/nn.h)
against the built-in clad-model and LibTorch autograd, over several whole runs
of torchclad-bench: per workload, optimizer, threads and batch, the median
over runs of each run's median step time, its spread (min-max over runs), the
ratios (the median of each run's ratio: the engines are interleaved in one
process, so a run's ratio is like for like on a machine whose speed drifts
between runs), and the allocations per step. Also the compile time of a %%clad cell
defining a 3-layer MLP (--compile-json, compile_time.py). The runs are the main
benchmark's C++ runs (scripts/bench.sh): their other engines are left out.
Writes user-models.{json,md,png}."""
import argparse
import json
import statistics
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ENGINES = ["clad-user", "clad-model", "libtorch-autograd"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", nargs="+", required=True, help="torchclad-bench JSON, one file per run")
    p.add_argument("--compile-json", help="compile times of the 3-layer MLP cell, seconds")
    p.add_argument("--out-dir", required=True)
    return p.parse_args(argv)


def ratios(per_run, top, bottom):
    """top's median µs over bottom's, one per run that timed both."""
    return [t[top] / t[bottom] for t in per_run.values() if top in t and bottom in t]


def summarize(runs, names=None):
    """One row per (workload, optimizer, threads, batch) that some run timed with both clad
    engines: medians and ranges over runs of each engine's time, and the per-run ratios'
    median (clad-user over clad-model with its range; autograd over clad-user)."""
    names = names or [f"run {k + 1}" for k in range(len(runs))]
    per_run = defaultdict(lambda: defaultdict(dict))  # key -> run index -> engine -> median_us
    allocs = defaultdict(dict)
    for run, records in enumerate(runs):
        for r in records:
            if r.get("kind", "step") != "step" or r.get("engine") not in ENGINES or "error" in r:
                continue  # bandwidth and optimizer records; engines this report leaves out
            if not isinstance(r.get("median_us"), (int, float)) or r["median_us"] <= 0:
                continue  # a step that did not finish
            key = (r["workload"], r["optimizer"], r["threads"], r["batch"])
            if r["engine"] in per_run[key][run]:
                raise SystemExit(f"user_models_report.py: {names[run]} has two {r['engine']} records for "
                                 f"{key[0]}, {key[1]}, {key[2]} thread(s), batch {key[3]}")
            per_run[key][run][r["engine"]] = r["median_us"]
            allocs[key][r["engine"]] = max(allocs[key].get(r["engine"], 0), r["allocs_per_step"])
    rows = []
    for key in sorted(per_run):
        user_over_model = ratios(per_run[key], "clad-user", "clad-model")
        if not user_over_model:
            continue
        times = {e: [t[e] for t in per_run[key].values() if e in t] for e in ENGINES}
        over_autograd = ratios(per_run[key], "libtorch-autograd", "clad-user")
        rows.append({
            "workload": key[0], "optimizer": key[1], "threads": key[2], "batch": key[3],
            "runs": len(user_over_model),
            **{f"{e}_us": statistics.median(times[e]) if times[e] else None for e in ENGINES},
            **{f"{e}_us_min": min(times[e]) if times[e] else None for e in ENGINES},
            **{f"{e}_us_max": max(times[e]) if times[e] else None for e in ENGINES},
            "user_over_model": statistics.median(user_over_model),
            "user_over_model_min": min(user_over_model),
            "user_over_model_max": max(user_over_model),
            "speedup_over_autograd": statistics.median(over_autograd) if over_autograd else None,
            "user_allocs_per_step": allocs[key]["clad-user"],
        })
    return rows


def markdown(rows, compile_times):
    out = ["# Engine clad-user: the workloads written as model definitions", "",
           "Median over whole benchmark runs of each run's median step time (µs), with the",
           "range over runs. `user/model`: clad-user's time over the built-in clad-model's",
           "(target: within 1.10), and `vs autograd`: LibTorch autograd's time over clad-user's,",
           "each the median of the runs' ratios (the engines interleaved in one process), with",
           "the range of `user/model` over runs; `runs`: the runs that timed both clad engines.", ""]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["workload"], r["optimizer"], r["threads"])].append(r)
    for (w, opt, th), rs in groups.items():
        out += [f"## {w}, {opt}, {th} thread{'s' if th > 1 else ''}", "",
                "| batch | runs | clad-user | clad-model | libtorch-autograd | user/model | vs autograd | allocs/step |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rs:
            cells = [f"{r[e + '_us']:.0f} ({r[e + '_us_min']:.0f}–{r[e + '_us_max']:.0f})"
                     if r[e + "_us"] is not None else "–" for e in ENGINES]
            speedup = f"{r['speedup_over_autograd']:.2f}×" if r["speedup_over_autograd"] is not None else "–"
            out.append(f"| {r['batch']} | {r['runs']} | " + " | ".join(cells) +
                       f" | {r['user_over_model']:.2f} ({r['user_over_model_min']:.2f}–{r['user_over_model_max']:.2f})"
                       f" | {speedup} | "
                       f"{r['user_allocs_per_step']:.0f} |")
        out.append("")
    if compile_times:
        t = compile_times["seconds"]
        out += ["## Compile time of a %%clad cell", "",
                f"{compile_times['what']}: median {statistics.median(t):.1f} s "
                f"(min {min(t):.1f}, max {max(t):.1f}, {len(t)} runs); target under 15 s.", "",
                f"Command: `{compile_times['command']}`", ""]
    return "\n".join(out)


def plot(rows, path):
    groups = defaultdict(list)
    for r in rows:
        groups[(r["workload"], r["optimizer"], r["threads"])].append(r)
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, ((w, opt, th), rs) in zip(axes[0], groups.items()):
        b = [r["batch"] for r in rs]
        ax.plot(b, [r["user_over_model"] for r in rs], "o-", color="tab:brown", label="clad-user / clad-model")
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.axhline(1.1, color="gray", lw=0.8, ls="--", label="target 1.10")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch")
        ax.set_title(f"{w}, {opt}, {th}T", fontsize=9)
        ax.set_ylim(0.7, 1.4)
    axes[0][0].set_ylabel("step time ratio")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    a = parse_args(argv)
    runs = []
    for path in a.runs:
        with open(path) as f:
            runs.append(json.load(f))
    rows = summarize(runs, a.runs)
    if not rows:
        raise SystemExit("user_models_report.py: no (workload, optimizer, threads, batch) with records of "
                         f"both clad-user and clad-model in one run in {' '.join(a.runs)}")
    compile_times = None
    if a.compile_json:
        with open(a.compile_json) as f:
            compile_times = json.load(f)
    with open(f"{a.out_dir}/user-models.json", "w") as f:
        json.dump({"rows": rows, "compile": compile_times}, f, indent=1)
    with open(f"{a.out_dir}/user-models.md", "w") as f:
        f.write(markdown(rows, compile_times))
    plot(rows, f"{a.out_dir}/user-models.png")


if __name__ == "__main__":
    main()
