#!/usr/bin/env python3
"""Merge bench records from the C++ and Python producers (and torchclad-train's
end-to-end runs, end_to_end.py) into results/latest.{json,md,png}.

Each input file is one whole run of its producer; pass several runs of each
and the tables give, per (workload, threads, optimizer, engine, batch), the
median over runs of each run's median step time and its range over runs.
See README.md in this folder for the record schema.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # headless: CI and `npm run bench` have no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

BASELINE = "libtorch-autograd"
# Fixed order and colours so every table and plot reads the same way.
ENGINE_ORDER = ["clad-model", "clad-user", "clad-model-node", "clad-ops", "libtorch-autograd",
                "pytorch-eager", "torch-compile"]
COLORS = dict(zip(ENGINE_ORDER, ["tab:red", "tab:brown", "tab:orange", "tab:purple", "tab:blue",
                                 "tab:green", "tab:olive"]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--inputs", nargs="+", required=True, help="JSON arrays of records")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--machine-json", help="extra machine facts merged into machine.json")
    return p.parse_args(argv)


def load_records(paths):
    """Every record, tagged with its input file ("run"): one file is one run."""
    records = []
    for path in paths:
        with open(path) as f:
            records += [dict(r, run=path) for r in json.load(f)]
    return records


def kind(rec):
    return rec.get("kind", "step")


def summarize_steps(records):
    """One record per (workload, threads, optimizer, engine, batch): the median over runs
    of each run's median step time (median_us), its range over runs (run_min_us,
    run_max_us), and per-run fields kept as their median (sgemm bound, bytes bound,
    GFLOP/s) or maximum (allocations, RSS)."""
    by_key = defaultdict(list)
    for r in records:
        by_key[(r["workload"], r["threads"], r.get("optimizer") or "?", r["engine"], r["batch"])].append(r)
    out = []
    for (workload, threads, optimizer, engine, batch), recs in by_key.items():
        good = [r for r in recs if ok(r)]
        rec = {"workload": workload, "threads": threads, "optimizer": optimizer, "engine": engine,
               "batch": batch, "runs": len(good)}
        if not good:
            rec["error"] = next(r["error"] for r in recs if "error" in r)
            out.append(rec)
            continue
        medians = [r["median_us"] for r in good]
        rec.update(median_us=statistics.median(medians), run_min_us=min(medians),
                   run_max_us=max(medians),
                   # one run: the spread of its steps stands in for the spread over runs
                   p25_us=good[0]["p25_us"] if len(good) == 1 else min(medians),
                   p75_us=good[0]["p75_us"] if len(good) == 1 else max(medians),
                   per_run={r["run"]: r["median_us"] for r in good})
        for name in ("mean_us", "gflops", "sgemm_bound_us", "sgemm_peak_gflops", "step_bytes",
                     "step_state_bytes", "l2_cache_bytes", "bytes_bound_l2_us", "bytes_bound_l3_us",
                     "bytes_bound_mem_us"):
            values = [r[name] for r in good if r.get(name) is not None]
            if values:
                rec[name] = statistics.median(values)
        for name in ("allocs_per_step", "peak_rss_mb"):
            values = [r[name] for r in good if r.get(name) is not None]
            rec[name] = max(values) if values else None
        out.append(rec)
    return out


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def mem_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    return None


def torch_version(records):
    # Prefer what the producers ran with; import torch only if no record says.
    versions = sorted({r["torch_version"] for r in records if r.get("torch_version")})
    if versions:
        return ", ".join(versions)
    try:
        import torch
        return torch.__version__
    except ImportError:
        return None


def machine_info(records, extra_path):
    info = {"cpu": cpu_model(), "cores": os.cpu_count(), "mem_gib": mem_gib(),
            "torch_version": torch_version(records), "python_version": platform.python_version(),
            "generated": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    if extra_path:
        with open(extra_path) as f:
            info.update(json.load(f))
    return info


OPTIMIZER_ORDER = ["sgd", "adam"]


def group(records):
    """{(workload, threads, optimizer): {engine: {batch: summary record}}}; workloads in
    first-seen order."""
    groups = defaultdict(lambda: defaultdict(dict))
    for r in records:
        groups[(r["workload"], r["threads"], r["optimizer"])][r["engine"]][r["batch"]] = r
    workloads = list(dict.fromkeys(r["workload"] for r in records))
    def order(kv):
        w, t, opt = kv[0]
        return (workloads.index(w), t, OPTIMIZER_ORDER.index(opt) if opt in OPTIMIZER_ORDER else 9, opt)
    return dict(sorted(groups.items(), key=order))


def ok(rec):
    return rec is not None and "error" not in rec and rec.get("median_us") is not None


def batches_of(by_engine):
    return sorted({b for per_batch in by_engine.values() for b in per_batch})


def fmt_us(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def run_ratios(by_engine, engine, batch):
    """Per-run speed-ups (baseline µs / engine µs) from runs (input files) that timed
    both engines: the C++ producer's interleaved engines, or one Python run."""
    base, rec = by_engine.get(BASELINE, {}).get(batch), by_engine[engine].get(batch)
    if not (ok(base) and ok(rec)):
        return []
    return [base["per_run"][run] / us for run, us in rec["per_run"].items() if run in base["per_run"]]


def speedup(by_engine, engine, batch):
    """Speed-up vs the baseline (>1 = faster): the median over runs of each run's
    ratio where both engines ran in the same runs, else the ratio of the medians."""
    ratios = run_ratios(by_engine, engine, batch)
    if ratios:
        return statistics.median(ratios)
    base, rec = by_engine.get(BASELINE, {}).get(batch), by_engine[engine].get(batch)
    if ok(base) and ok(rec):
        return base["median_us"] / rec["median_us"]
    return None


def speedup_range(by_engine, engine, batch):
    """(min, max) over runs of the per-run speed-up, or None (fewer than 2 runs)."""
    ratios = run_ratios(by_engine, engine, batch)
    return (min(ratios), max(ratios)) if len(ratios) > 1 else None


def sgemm_bound_us(by_engine, batch):
    # The bound depends only on workload/batch/threads, so any engine's record may carry it.
    for per_batch in by_engine.values():
        rec = per_batch.get(batch)
        if rec and rec.get("sgemm_bound_us"):
            return rec["sgemm_bound_us"]
    return None


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cell_time(rec):
    if rec is None:
        return "–"
    if "error" in rec:
        return "error"
    return f"{fmt_us(rec['median_us'])} ({fmt_us(rec['p25_us'])}–{fmt_us(rec['p75_us'])})"


def runs_of(by_engine):
    return max((r.get("runs", 1) for per in by_engine.values() for r in per.values()), default=0)


def field_table(by_engine, engines, batches, cell):
    """Table of cell(by_engine, engine, batch) or None if no cell has a value."""
    rows = [[str(b)] + [cell(by_engine, e, b) for e in engines] for b in batches]
    if all(c == "–" for row in rows for c in row[1:]):
        return None
    return md_table(["batch"] + engines, rows)


def cell_field(name, fmt):
    def cell(by_engine, engine, batch):
        rec = by_engine[engine].get(batch)
        value = rec.get(name) if rec else None
        return "–" if value is None else fmt.format(value)
    return cell


def cell_speedup(by_engine, engine, batch):
    s = speedup(by_engine, engine, batch)
    if s is None:
        return "–"
    spread = speedup_range(by_engine, engine, batch) if engine != BASELINE else None
    return f"{s:.2f}×" + (f" ({spread[0]:.2f}–{spread[1]:.2f})" if spread else "")


def cell_bound_fraction(by_engine, engine, batch):
    bound, rec = sgemm_bound_us(by_engine, batch), by_engine[engine].get(batch)
    return f"{bound / rec['median_us']:.1%}" if bound and ok(rec) else "–"


WORKLOAD_NOTES = {
    "cnn-gw": "1D CNN binary classifier (the gravitational-wave workload): input 2048 samples; "
              "Conv1d(1→8, k16) → ReLU → MaxPool1d(4), Conv1d(8→16, k8) → ReLU → MaxPool1d(4), "
              "Conv1d(16→32, k8) → ReLU → MaxPool1d(4), Linear(928→64) → ReLU → Linear(64→1), "
              "BCE with logits (mean).",
}
# The targets for the model-level engine on a workload: (max batch,
# minimum speed-up vs the baseline) pairs, and zero allocations per step.
TARGETS = {"cnn-gw": [(32, 1.5), (256, 1.0)],
           "mlp-784-128-10": [(1, 3.0), (32, 1.5), (512, 1.0)]}
TARGET_ENGINE = "clad-model"


def target_lines(workload, by_engine):
    if workload not in TARGETS or TARGET_ENGINE not in by_engine:
        return []
    lines = []
    for b in batches_of(by_engine):
        need = next((s for limit, s in TARGETS[workload] if b <= limit), None)
        s = speedup(by_engine, TARGET_ENGINE, b)
        if need is None or s is None:
            continue
        lines.append(f"- batch {b}: {s:.2f}× (target ≥ {need:g}×) "
                     f"{'met' if s >= need else '**missed**'}")
    allocs = [r.get("allocs_per_step") for r in by_engine[TARGET_ENGINE].values() if ok(r)]
    if allocs and all(a is not None for a in allocs):
        lines.append(f"- allocations per step: max {max(allocs):g} (target 0) "
                     f"{'met' if max(allocs) == 0 else '**missed**'}")
    return [f"Targets of `{TARGET_ENGINE}` vs `{BASELINE}`:\n\n" + "\n".join(lines)] if lines else []


def group_markdown(workload, threads, optimizer, by_engine):
    engines = engines_of_group(by_engine)
    batches = batches_of(by_engine)
    time_rows = [[str(b)] + [cell_time(by_engine[e].get(b)) for e in engines] for b in batches]
    parts = [f"## {workload}, threads={threads}, {optimizer}"]
    if workload in WORKLOAD_NOTES:
        parts.append(WORKLOAD_NOTES[workload])
    runs = runs_of(by_engine)
    spread = ("range over runs" if runs > 1 else "p25–p75 of the run's steps")
    parts += [f"Time per training step, µs: median over {runs} run{'s' if runs != 1 else ''} of each "
              f"run's median ({spread}).",
              md_table(["batch"] + engines, time_rows)]
    sections = [
        (f"Speed-up vs `{BASELINE}` (>1 = faster): the median over runs of each run's ratio, "
         "where both engines ran in the same process, and in brackets its range; otherwise the "
         "ratio of the medians.", cell_speedup),
        ("Heap allocations per step.", cell_field("allocs_per_step", "{:.0f}")),
        ("Peak RSS, MiB (process high-water mark after that engine's timings).",
         cell_field("peak_rss_mb", "{:.0f}")),
        ("Achieved GFLOP/s.", cell_field("gflops", "{:.1f}")),
        ("Fraction of the sgemm bound (time the step's GEMM FLOPs take at the measured sgemm "
         "peak ÷ median step time; 100% = GEMM-bound).", cell_bound_fraction),
    ]
    for caption, cell in sections:
        table = field_table(by_engine, engines, batches, cell)
        if table:
            parts += [caption, table]
    if BASELINE not in by_engine:
        parts.append(f"No `{BASELINE}` records, so no speed-ups.")
    parts += target_lines(workload, by_engine)
    parts += error_lines(by_engine)
    return "\n\n".join(parts)


def median_range(values, fmt):
    values = [v for v in values or () if v is not None]
    if not values:
        return "–"
    text = fmt.format(statistics.median(values))
    return text + (f" ({fmt.format(min(values))}–{fmt.format(max(values))})" if len(values) > 1 else "")


def memory_sections(records, steps):
    """Bandwidths (triad), the fused optimizer update alone, and at batch 1 each
    workload's step against the time its parameter traffic takes at L2 and memory
    bandwidth."""
    parts = []
    bw, sizes = defaultdict(list), {}  # level -> GB/s per run; level -> buffers' bytes
    for r in records:
        if kind(r) == "bandwidth":
            bw[r["level"]].append(r["gbs"])
            if r.get("bytes"):
                sizes[r["level"]] = r["bytes"]
    if bw:
        def size(level):
            return f"{sizes[level] / 2**20:g} MiB" if level in sizes else "–"
        sized = ("their total size below: half this machine's L2 of a core, half its L3, and 8 times "
                 "the L3, at least 384 MiB, from sysfs" if sizes else
                 "their total size was not recorded: binaries before the sizes came from sysfs used "
                 "1 MiB, 24 MiB and 384 MiB")
        parts += ["## Memory bandwidth and the optimizer update",
                  "STREAM-like triad `a[i] = b[i] + s·c[i]` on one thread over three buffers together "
                  f"({sized}); bytes moved = reads + writes (12 per "
                  "element, no write-allocate). GB/s, median over runs (range). The triad is a "
                  "reference, not a ceiling: an update that reads each line before writing it pays "
                  "no write-allocate and can exceed it.",
                  md_table(["level", "buffers", "GB/s"], [[lvl, size(lvl), median_range(bw[lvl], "{:.1f}")]
                                                           for lvl in ("l2", "l3", "memory") if lvl in bw])]
    opt = defaultdict(list)
    for r in records:
        if kind(r) == "optimizer":
            opt[(r["optimizer"], r["params"])].append(r)
    if opt:
        level_bw = {lvl: statistics.median(v) for lvl, v in bw.items()}
        rows = []
        for (name, n), rs in sorted(opt.items(), key=lambda kv: (OPTIMIZER_ORDER.index(kv[0][0]), kv[0][1])):
            gbs = statistics.median(r["gbs"] for r in rs)
            cleared = [r for r in rs if r.get("clear_median_us") is not None]
            rows.append([name, f"{n:,}", f"{rs[0]['bytes'] / 1e6:.2f}",
                         median_range([r["median_us"] for r in rs], "{:.1f}"),
                         median_range([r["gbs"] for r in rs], "{:.1f}")] +
                        [f"{gbs / level_bw[lvl]:.0%}" if lvl in level_bw else "–"
                         for lvl in ("l2", "l3", "memory")] +
                        ([median_range([r["clear_median_us"] for r in cleared], "{:.1f}"),
                          median_range([r["clear_gbs"] for r in cleared], "{:.1f}")]
                         if cleared else ["–", "–"]) +
                        [median_range([r.get("streams_median_us") for r in rs], "{:.1f}")])
        parts += ["The fused optimizer update alone (`engine/optim/optimizers.cpp`, one thread, "
                  "buffers warm from the previous update): SGD-momentum moves 20 bytes per "
                  "parameter (reads p, g, buf; writes p, buf), Adam 28 (reads p, g, m, v; writes "
                  "p, m, v). Median µs per update and GB/s over runs (range), and the GB/s as a "
                  "fraction of each triad bandwidth. The last two columns: the same update by "
                  "`step_and_clear`, which also writes the gradient to 0 (4 more bytes per "
                  "parameter), as the model-level engine's step does. `streams only, µs`: a loop with "
                  "Adam's reads and writes and multiply-adds only (no square root, no division), "
                  "timed the same way: in cache, Adam's excess over it is its arithmetic; out of "
                  "cache both are bound by memory (and may differ either way by a few percent).",
                  md_table(["optimizer", "parameters", "MB moved", "µs", "GB/s", "of L2", "of L3",
                            "of memory", "with clear, µs", "with clear, GB/s", "streams only, µs"], rows)]
    rows = []
    for r in steps:
        if r["batch"] == 1 and r["threads"] == 1 and r["engine"] in ("clad-model", "clad-user") \
                and ok(r) and r.get("step_bytes"):
            state = r.get("step_state_bytes")
            fits = "" if not state or not r.get("l2_cache_bytes") else \
                (" (fits L2)" if state <= r["l2_cache_bytes"] else " (over L2)")
            l3 = r.get("bytes_bound_l3_us")
            rows.append([r["workload"], r["optimizer"], r["engine"], f"{r['step_bytes'] / 1e6:.2f}",
                         f"{state / 1e6:.2f}{fits}" if state else "–",
                         f"{r['bytes_bound_l2_us']:.1f}", f"{l3:.1f}" if l3 else "–",
                         f"{r['bytes_bound_mem_us']:.1f}",
                         f"{fmt_us(r['median_us'])}", f"{r['median_us'] / r['bytes_bound_l2_us']:.1f}×"])
    if rows:
        l2 = next((r["l2_cache_bytes"] for r in steps if r.get("l2_cache_bytes")), None)
        parts += ["Batch 1, one thread: the least memory traffic of a step in parameters, gradients "
                  "and optimizer state (the forward pass reads the parameters, the backward pass "
                  "writes the gradients, the optimizer moves the bytes above; the Linear weights, "
                  "updated in their layers' pullbacks at batch 1, without their gradient's write "
                  "and read; inputs and activations left out), the time it takes at the measured L2, "
                  "L3 and memory bandwidths (lower bounds on the step), and the measured median step. "
                  "`state MB`: what the step keeps and touches every step (parameters, the gradients "
                  "not fused away, the optimizer's state), against a core's L2"
                  + (f" ({l2 / 2**20:g} MiB here)" if l2 else "") + ": a step whose state fits there "
                  "can approach the L2 bound, one whose state does not is bound between L2 and L3.",
                  md_table(["workload", "optimizer", "engine", "MB per step", "state MB", "bound at L2, µs",
                            "bound at L3, µs", "bound at memory, µs", "measured, µs", "measured / L2 bound"],
                           rows)]
    return parts


def conv1d_sections(records):
    """Conv1d's two paths (torchclad-bench --kernels 1) on the GW CNN's layers:
    medians over runs with their range, and each run's ratio. Records without
    the fields or with a time that is not positive are left out."""
    fields = ("layer", "cin", "lin", "cout", "k", "batch", "pass", "direct_us", "im2col_gemm_us", "direct_used")
    runs = defaultdict(list)
    for r in records:
        if kind(r) == "conv1d" and all(r.get(f) is not None for f in fields) \
                and r["direct_us"] > 0 and r["im2col_gemm_us"] > 0:
            key = (int(r["batch"]), str(r["layer"]), str(r["pass"]), r["cin"], r["lin"], r["cout"], r["k"],
                   r.get("threads", 1), bool(r["direct_used"]))
            runs[key].append(r)
    if not runs:
        return []
    rows = []
    for key, rs in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] != "forward", kv[0][3:])):
        batch, layer, pass_, cin, lin, cout, k, threads, used = key
        diffs = [r["max_relative_difference"] for r in rs if r.get("max_relative_difference") is not None]
        rows.append([f"{layer} ({cin}→{cout}, k{k}, {lin} samples)", str(batch), pass_,
                     median_range([r["direct_us"] for r in rs], "{:.1f}"),
                     median_range([r["im2col_gemm_us"] for r in rs], "{:.1f}"),
                     median_range([r["im2col_gemm_us"] / r["direct_us"] for r in rs], "{:.2f}×"),
                     f"{max(diffs):.1g}" if diffs else "–",
                     "direct" if used else "im2col + GEMM"])
    return ["## Conv1d: direct loops against im2col + GEMM",
            "The GW CNN's three Conv1d layers computed both ways (`kernels/conv1d_direct.hpp` and "
            "`kernels/conv1d.hpp`), the forward pass and the weight gradient, float32, one thread, "
            "the two interleaved round by round: µs per call, the median over runs of each run's "
            "median (range), and `im2col ÷ direct`, the median of each run's ratio (> 1: the direct "
            "loops are faster). `apart`: the largest difference of the two paths' results over the "
            "largest value, over runs. `used`: the path a layer of this shape takes in training.",
            md_table(["layer", "batch", "pass", "direct, µs", "im2col + GEMM, µs", "im2col ÷ direct", "apart",
                      "used"], rows)]


def e2e_runs(records):
    """({key: [samples/s of torchclad-train per run]}, {key: [of fit() per run]}),
    key = (workload, threads, optimizer, engine, batch)."""
    e2e, fit = defaultdict(list), defaultdict(list)
    for r in records:
        if kind(r) == "e2e":
            key = (r["workload"], r["threads"], r["optimizer"], r["engine"], r["batch"])
            (fit if r.get("via") == "fit" else e2e)[key].append(r["samples_per_second"])
    return e2e, fit


def e2e_per_run(records, field, step_us):
    """{(key, via): [per run: samples/s ÷ (batch ÷ step_us(record[field]))]} over the e2e
    records that have field."""
    ratios = defaultdict(list)
    for r in records:
        if kind(r) == "e2e" and r.get(field):
            key = (r["workload"], r["threads"], r["optimizer"], r["engine"], r["batch"])
            ratios[(key, r.get("via"))].append(r["samples_per_second"] * step_us(r[field]) / (key[4] * 1e6))
    return ratios


def e2e_adjacent(records):
    """End to end against the step benchmark timed right before and after it (the mean of
    the two; end_to_end.py --adjacent 1); empty without such records."""
    return e2e_per_run(records, "adjacent_step_us", statistics.mean)


def e2e_own_steps(records):
    """The epoch loop against its own median step, timed in the same process (own_step_us)."""
    return e2e_per_run(records, "own_step_us", lambda us: us)


def adjacent_speedups(records, engine, baseline_key):
    """Per run: (engine's samples/s ÷ the baseline's) ÷ (baseline's adjacent step ÷ engine's), for
    torchclad-train and fit(): the speed-up a user sees over the one adjacent steps give."""
    key = baseline_key[:3] + (engine, baseline_key[4])
    by = defaultdict(dict)  # (via, run) -> {key: record}
    for r in records:
        if kind(r) == "e2e" and r.get("adjacent_step_us"):
            k = (r["workload"], r["threads"], r["optimizer"], r["engine"], r["batch"])
            if k in (key, baseline_key):
                by[(r.get("via"), r["run"])][k] = r
    out = defaultdict(list)
    for (via, _), recs in by.items():
        if key in recs and baseline_key in recs:
            e, b = recs[key], recs[baseline_key]
            user = e["samples_per_second"] / b["samples_per_second"]
            steps = statistics.mean(b["adjacent_step_us"]) / statistics.mean(e["adjacent_step_us"])
            out[via].append(user / steps)
    return out


def steps_by_key(steps):
    """{key: the step benchmark's summary} of the steps that ran, key as e2e_runs'."""
    return {(r["workload"], r["threads"], r["optimizer"], r["engine"], r["batch"]): r
            for r in steps if ok(r)}


def e2e_ratio(records, steps):
    """{key: (median samples/s end to end, of fit() or None, batch / median step time or
    None)} in the e2e_sections' order."""
    e2e, fit = e2e_runs(records)
    step = steps_by_key(steps)
    out = {}
    for key in sorted(e2e, key=lambda k: (k[0], k[1], k[2], k[4], ENGINE_ORDER.index(k[3])
                                          if k[3] in ENGINE_ORDER else 99)):
        rec = step.get(key)
        out[key] = (statistics.median(e2e[key]), statistics.median(fit[key]) if fit.get(key) else None,
                    key[4] * 1e6 / rec["median_us"] if rec else None)
    return out


def e2e_sections(records, steps):
    """torchclad-train's and Mlp::fit's steady-state samples/s beside batch / (median step time)."""
    e2e, fit = e2e_runs(records)
    if not e2e:
        return []
    step = steps_by_key(steps)
    ratio = e2e_ratio(records, steps)
    adjacent = e2e_adjacent(records)
    rows = []
    for key, (sps, fit_sps, step_sps) in ratio.items():
        workload, threads, optimizer, engine, batch = key
        rec = step.get(key)
        # The mean step (outliers included) is what a loop of steps takes per step.
        mean_sps = batch * 1e6 / rec["mean_us"] if rec and rec.get("mean_us") else None
        rows.append([workload, optimizer, str(threads), str(batch), engine,
                     median_range(e2e[key], "{:,.0f}"),
                     median_range(fit[key], "{:,.0f}") if fit_sps else "–",
                     f"{step_sps:,.0f}" if step_sps else "–",
                     f"{sps / step_sps:.2f}" if step_sps else "–",
                     f"{fit_sps / step_sps:.2f}" if step_sps and fit_sps else "–",
                     f"{mean_sps:,.0f}" if mean_sps else "–",
                     f"{sps / mean_sps:.2f}" if mean_sps else "–",
                     median_range(adjacent.get((key, "torchclad-train")), "{:.2f}"),
                     median_range(adjacent.get((key, "fit")), "{:.2f}")])
    parts = ["## End to end: `torchclad-train` and `fit()` against the step benchmark",
             "Samples/s of `torchclad-train` and of `Mlp::fit` in a ROOT macro (cling, as a "
             "notebook cell calls it, without the live display) (Fashion-MNIST; for `cnn-gw`, "
             "`torchclad-train-gw` on a `torchclad-gwsim` file (`npm run bench`: 4,096 training "
             "windows; each record's command names its file), without a `fit()` run. `end_to_end.py`: "
             "the median over the epochs after the first of a short run; median over runs, range) "
             "beside the step benchmark's batch ÷ median step time for the same workload, "
             "optimizer and engine. `e2e/step` and `fit/step` are their ratios (target: ≥ 0.90 at "
             "batch ≥ 32). `1/(mean step)` and `e2e/mean` use the mean step time instead of the "
             "median: outlier steps included, it is what a loop of the benchmark's steps takes per "
             "step. `e2e/adjacent` and `fit/adjacent`: each run's end-to-end samples/s over "
             "batch ÷ the step benchmark's median step timed right before and after that engine's "
             "end-to-end runs (their mean), median over runs (range): on a machine whose speed "
             "drifts over minutes, the like-for-like ratio.",
             md_table(["workload", "optimizer", "threads", "batch", "engine", "torchclad-train", "fit()",
                       "1/(step time)", "e2e/step", "fit/step", "1/(mean step)", "e2e/mean",
                       "e2e/adjacent", "fit/adjacent"], rows)]
    pairs, groups = [], group(steps)
    for (w, t, opt, e, b), (sps, fit_sps, step_sps) in ratio.items():
        base = ratio.get((w, t, opt, BASELINE, b))
        if e == BASELINE or not base:
            continue
        base_sps, base_fit, base_step = base
        user = sps / base_sps
        fit_user = fit_sps / base_fit if fit_sps and base_fit else None
        # The step benchmark's speed-up as its own tables give it (median of per-run ratios).
        by_engine = groups.get((w, t, opt), {})
        bench = speedup(by_engine, e, b) if e in by_engine else None
        adj = adjacent_speedups(records, e, (w, t, opt, BASELINE, b))
        pairs.append([w, opt, str(b), e, f"{user:.2f}×", f"{fit_user:.2f}×" if fit_user else "–",
                      f"{bench:.2f}×" if bench else "–", f"{user / bench:.2f}" if bench else "–",
                      f"{fit_user / bench:.2f}" if bench and fit_user else "–",
                      median_range(adj.get("torchclad-train"), "{:.2f}"), median_range(adj.get("fit"), "{:.2f}")])
    if pairs:
        parts += [f"Speed-up vs `{BASELINE}` as a user of `torchclad-train` and of `fit()` sees it "
                  "and as the step benchmark gives it, and their ratios (target: equal within 10%). "
                  "The last two columns: the same ratio per run against the adjacent steps' speed-up "
                  "(median over runs, range).",
                  md_table(["workload", "optimizer", "batch", "engine", "torchclad-train", "fit()",
                            "step benchmark", "ratio", "fit() ratio", "ratio (adjacent)",
                            "fit() ratio (adjacent)"], pairs)]
    own = e2e_own_steps(records)
    own_rows = [[k[0], k[2], str(k[4]), k[3], median_range(own.get((k, "torchclad-train")), "{:.3f}"),
                 median_range(own.get((k, "fit")), "{:.3f}")]
                for k in ratio if own.get((k, "torchclad-train")) or own.get((k, "fit"))]
    if own_rows:
        parts += ["The epoch loop against its own steps: each run's samples/s ÷ (batch ÷ the median "
                  "time of its epochs' steps as the trainer timed them, in the same process; "
                  "`EpochResult::median_step_seconds`), median over runs (range). 1 − this is the "
                  "loop's own cost (shuffle, progress, telemetry) plus the steps' spread above their "
                  "median, so at most the loop's cost; a step includes its batch's gather. Unlike the ratios above it does not depend on how "
                  "fast another process's steps ran.",
                  md_table(["workload", "optimizer", "batch", "engine", "torchclad-train", "fit()"], own_rows)]
    return ["\n\n".join(parts)]


def engines_of_group(by_engine):
    return [e for e in ENGINE_ORDER if e in by_engine] + sorted(set(by_engine) - set(ENGINE_ORDER))


def error_lines(by_engine):
    errors = [f"- {e}, batch {b}: {rec['error']}" for e, per_batch in by_engine.items()
              for b, rec in sorted(per_batch.items()) if "error" in rec]
    return ["Errors:\n\n" + "\n".join(errors)] if errors else []


def markdown(records, machine, extra_sections=(), e2e_records=(), plots=()):
    """records: the step summaries; e2e_records give the optimizers and runs
    when there are no steps; plots: the PNG files written, (name, what)."""
    optimizers = ", ".join(sorted({r.get("optimizer") or "?" for r in records or e2e_records}))
    runs = (max((r.get("runs", 1) for r in records), default=0) if records
            else len({r.get("run") for r in e2e_records}))
    header = [
        "# torchclad training-step benchmark",
        f"Generated {machine['generated']} on **{machine['cpu']}**, {machine['cores']} cores, "
        f"{machine['mem_gib']} GiB RAM; torch {machine['torch_version']}, "
        f"Python {machine['python_version']}; optimizers: {optimizers}; up to {runs} whole "
        "runs per configuration." + (f" Load average during the runs: {machine['load']}."
                                      if machine.get("load") else "") +
        (f" Code: `{machine['commit']}`." if machine.get("commit") else "") +
        (f" Host: `{machine['host']}`." if machine.get("host") else ""),
    ] + (["Plots: " + ", ".join(f"`{name}` ({what})" for name, what in plots) + "."] if plots else [])
    body = [group_markdown(w, t, opt, by_engine) for (w, t, opt), by_engine in group(records).items()]
    return "\n\n".join(header + extra_sections + body) + "\n"


def subplot_grid(groups, title):
    """One row per workload, one column per (threads, optimizer)."""
    workloads = list(dict.fromkeys(w for w, _, _ in groups))
    columns = list(dict.fromkeys((t, opt) for _, t, opt in groups))
    fig, axes = plt.subplots(len(workloads), len(columns), squeeze=False,
                             figsize=(7 * len(columns), 4.6 * len(workloads) + 0.8), dpi=100)
    fig.suptitle(title, fontsize=15)
    return fig, {(w, t, opt): axes[i][j] for i, w in enumerate(workloads)
                 for j, (t, opt) in enumerate(columns)}


def style_batch_axis(ax, batches):
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("batch size")
    ax.grid(True, which="both", alpha=0.3)


def finish(fig, path):
    handles = {}
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    labels = list(handles)
    if labels:
        fig.legend([handles[lab] for lab in labels], labels, loc="lower center",
                   ncol=min(len(labels), 7), fontsize=11, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path)
    plt.close(fig)


def plot_times(groups, machine, path):
    fig, axes = subplot_grid(groups, f"Time per training step — {machine['cpu']}")
    for (workload, threads, optimizer), by_engine in groups.items():
        ax = axes[(workload, threads, optimizer)]
        for engine in engines_of_group(by_engine):
            recs = [r for _, r in sorted(by_engine[engine].items()) if ok(r)]
            if not recs:
                continue
            xs = [r["batch"] for r in recs]
            ax.plot(xs, [r["median_us"] for r in recs], "o-", color=COLORS.get(engine), label=engine)
            ax.fill_between(xs, [r["p25_us"] for r in recs], [r["p75_us"] for r in recs],
                            color=COLORS.get(engine), alpha=0.2, linewidth=0)
        ax.set_yscale("log")
        ax.set_ylabel("median µs / step (band: range over runs)")
        ax.set_title(f"{workload}, threads={threads}, {optimizer}")
        style_batch_axis(ax, batches_of(by_engine))
    finish(fig, path)


def plot_speedups(groups, machine, path):
    fig, axes = subplot_grid(groups, f"Speed-up vs {BASELINE} (>1 = faster) — {machine['cpu']}")
    for (workload, threads, optimizer), by_engine in groups.items():
        ax = axes[(workload, threads, optimizer)]
        ax.axhline(1.0, color="black", linewidth=1, label=f"{BASELINE} (baseline, 1×)")
        for engine in engines_of_group(by_engine):
            points = [(b, speedup(by_engine, engine, b)) for b in sorted(by_engine[engine])]
            points = [(b, s) for b, s in points if s is not None]
            if engine != BASELINE and points:
                ax.plot(*zip(*points), "o-", color=COLORS.get(engine), label=engine)
        if BASELINE not in by_engine:
            ax.text(0.5, 0.65, f"no {BASELINE} records", transform=ax.transAxes, ha="center")
        # Ratios are multiplicative, so a log axis keeps 0.5× and 2× equally far from 1.
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_locator(LogLocator(base=2, subs=(1.0, 1.5)))  # ... 0.75, 1, 1.5, 2, 3 ...
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("speed-up (median of per-run ratios)")
        ax.set_title(f"{workload}, threads={threads}, {optimizer}")
        style_batch_axis(ax, batches_of(by_engine))
    finish(fig, path)


def plot_e2e(records, steps, machine, path):
    """End-to-end samples/s over the step benchmark's batch / step time, per workload and
    optimizer: one line per engine for the command-line trainer (solid) and fit() (dashed),
    the 0.90 target. With adjacent steps (end_to_end.py --adjacent 1): against those, median
    over runs. False (nothing written) when no ratio can be plotted."""
    ratio = e2e_ratio(records, steps)
    # Per workload, adjacent ratios only when every end-to-end record of it has
    # them: a mix of old and new runs would otherwise plot only the new ones.
    e2e = [r for r in records if kind(r) == "e2e"]
    all_adjacent = {w for w in {r["workload"] for r in e2e}
                    if all(r.get("adjacent_step_us") for r in e2e if r["workload"] == w)}
    adjacent = e2e_adjacent(records)

    def of(k, via):  # the plotted ratio of key k, or None
        if k[0] in all_adjacent:
            return statistics.median(adjacent[(k, via)]) if adjacent.get((k, via)) else None
        i = 0 if via == "torchclad-train" else 1
        return ratio[k][i] / ratio[k][2] if ratio[k][i] and ratio[k][2] else None

    plotted = [k for k in ratio if of(k, "torchclad-train")]
    optimizers = [o for o in OPTIMIZER_ORDER if any(k[2] == o for k in plotted)]
    workloads = list(dict.fromkeys(k[0] for k in plotted))
    if not optimizers:
        return False
    # One panel per workload (row) and optimizer (column); at least 10 inches
    # wide, so that one panel's legend and title fit.
    fig, axes = plt.subplots(len(workloads), len(optimizers), squeeze=False,
                             figsize=(max(10, 7 * len(optimizers)), 0.6 + 4.8 * len(workloads)), dpi=100)
    fig.suptitle(f"End to end ÷ step benchmark (1.0 = no loop overhead) — {machine['cpu']}", fontsize=14)
    for row, workload in enumerate(workloads):
        for ax, optimizer in zip(axes[row], optimizers):
            keys = [k for k in ratio if k[0] == workload and k[2] == optimizer and of(k, "torchclad-train")]
            if not keys:
                ax.set_axis_off()
                ax.text(0.5, 0.5, f"{workload}, {optimizer}: not measured", ha="center", transform=ax.transAxes)
                continue
            ax.axhline(0.9, color="black", linewidth=1, linestyle=":", label="target 0.90")
            lines = list(dict.fromkeys((k[1], k[3]) for k in keys))  # (threads, engine)
            several = len({t for t, _ in lines}) > 1
            values = []
            for threads, engine in lines:
                ks = sorted((k for k in keys if (k[1], k[3]) == (threads, engine)), key=lambda k: k[4])
                name = f"{engine} ({threads} thr.)" if several else engine
                ys = [of(k, "torchclad-train") for k in ks]
                ax.plot([k[4] for k in ks], ys, "o-", color=COLORS.get(engine),
                        label=f"{name}: command-line trainer")
                fits = [(k[4], of(k, "fit")) for k in ks if of(k, "fit")]
                if fits:
                    ax.plot(*zip(*fits), "s--", color=COLORS.get(engine), alpha=0.7, label=f"{name}: fit()")
                values += ys + [f for _, f in fits]
            trainer = "torchclad-train-gw" if workload == "cnn-gw" else "torchclad-train"
            ax.set_title(f"{workload}, {optimizer} ({trainer})")
            ax.set_ylabel("samples/s end to end ÷ (batch ÷ " + ("adjacent " if workload in all_adjacent else "")
                          + "median step)")
            ax.set_ylim(min([0.5] + values) - 0.05, max([1.15] + values) + 0.05)
            style_batch_axis(ax, sorted({k[4] for k in keys}))
    finish(fig, path)
    return True


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main(argv=None):
    args = parse_args(argv)
    records = load_records(args.inputs)
    machine = machine_info(records, args.machine_json)
    os.makedirs(args.out_dir, exist_ok=True)
    def out(name):
        return os.path.join(args.out_dir, name)

    steps = summarize_steps([r for r in records if kind(r) == "step"])
    extra = memory_sections(records, steps) + conv1d_sections(records) + e2e_sections(records, steps)
    write_json(out("latest.json"), records)
    write_json(out("latest-summary.json"), steps)
    write_json(out("machine.json"), machine)
    groups = group(steps)
    plots = []
    if groups:
        plot_times(groups, machine, out("latest.png"))
        plot_speedups(groups, machine, out("speedup.png"))
        plots += [("latest.png", "time per step"), ("speedup.png", "vs libtorch-autograd")]
    if plot_e2e(records, steps, machine, out("e2e.png")):
        plots.append(("e2e.png", "end to end against the step"))
    # A plot not written this time must not pass for this report's.
    for name in {"latest.png", "speedup.png", "e2e.png"} - {name for name, _ in plots}:
        if os.path.exists(out(name)):
            os.remove(out(name))
        print(f"report.py: {name} not written: the inputs have nothing to plot in it", file=sys.stderr)
    with open(out("latest.md"), "w") as f:
        f.write(markdown(steps, machine, extra, [r for r in records if kind(r) == "e2e"], plots))


if __name__ == "__main__":
    main()
