#!/usr/bin/env python3
"""Merge bench records from the C++ and Python producers into results/latest.{json,md,png}.

See README.md in this folder for the record schema.
"""
import argparse
import datetime
import json
import os
import platform
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
    records = []
    for path in paths:
        with open(path) as f:
            records += json.load(f)
    return records


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


def group(records):
    """{(workload, threads): {engine: {batch: record}}}; workloads in first-seen order."""
    groups = defaultdict(lambda: defaultdict(dict))
    for r in records:
        groups[(r["workload"], r["threads"])][r["engine"]][r["batch"]] = r
    workloads = list(dict.fromkeys(r["workload"] for r in records))
    return dict(sorted(groups.items(), key=lambda kv: (workloads.index(kv[0][0]), kv[0][1])))


def ok(rec):
    return rec is not None and "error" not in rec and rec.get("median_us") is not None


def batches_of(by_engine):
    return sorted({b for per_batch in by_engine.values() for b in per_batch})


def fmt_us(v):
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def speedup(by_engine, engine, batch):
    """Baseline median / engine median: >1 means faster than libtorch-autograd."""
    base, rec = by_engine.get(BASELINE, {}).get(batch), by_engine[engine].get(batch)
    if ok(base) and ok(rec):
        return base["median_us"] / rec["median_us"]
    return None


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
    return "–" if s is None else f"{s:.2f}×"


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
TARGETS = {"cnn-gw": [(32, 1.5), (256, 1.0)]}
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


def group_markdown(workload, threads, by_engine):
    engines = engines_of_group(by_engine)
    batches = batches_of(by_engine)
    time_rows = [[str(b)] + [cell_time(by_engine[e].get(b)) for e in engines] for b in batches]
    parts = [f"## {workload}, threads={threads}"]
    if workload in WORKLOAD_NOTES:
        parts.append(WORKLOAD_NOTES[workload])
    parts += ["Time per training step, µs: median (p25–p75).",
              md_table(["batch"] + engines, time_rows)]
    sections = [
        (f"Speed-up vs `{BASELINE}` (ratio of medians; >1 = faster).", cell_speedup),
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


def engines_of_group(by_engine):
    return [e for e in ENGINE_ORDER if e in by_engine] + sorted(set(by_engine) - set(ENGINE_ORDER))


def error_lines(by_engine):
    errors = [f"- {e}, batch {b}: {rec['error']}" for e, per_batch in by_engine.items()
              for b, rec in sorted(per_batch.items()) if "error" in rec]
    return ["Errors:\n\n" + "\n".join(errors)] if errors else []


def markdown(records, machine):
    optimizers = ", ".join(sorted({r.get("optimizer") or "?" for r in records}))
    header = [
        "# torchclad training-step benchmark",
        f"Generated {machine['generated']} on **{machine['cpu']}**, {machine['cores']} cores, "
        f"{machine['mem_gib']} GiB RAM; torch {machine['torch_version']}, "
        f"Python {machine['python_version']}; optimizer: {optimizers}.",
        "Plots: `latest.png` (time per step), `speedup.png` (vs libtorch-autograd).",
    ]
    body = [group_markdown(w, t, by_engine) for (w, t), by_engine in group(records).items()]
    return "\n\n".join(header + body) + "\n"


def subplot_grid(groups, title):
    workloads = list(dict.fromkeys(w for w, _ in groups))
    threads = sorted({t for _, t in groups})
    fig, axes = plt.subplots(len(workloads), len(threads), squeeze=False,
                             figsize=(14, 4.6 * len(workloads) + 0.8), dpi=100)
    fig.suptitle(title, fontsize=15)
    return fig, {(w, t): axes[i][j] for i, w in enumerate(workloads) for j, t in enumerate(threads)}


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
    fig.legend([handles[lab] for lab in labels], labels, loc="lower center",
               ncol=min(len(labels), 7), fontsize=11, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path)
    plt.close(fig)


def plot_times(groups, machine, path):
    fig, axes = subplot_grid(groups, f"Time per training step — {machine['cpu']}")
    for (workload, threads), by_engine in groups.items():
        ax = axes[(workload, threads)]
        for engine in engines_of_group(by_engine):
            recs = [r for _, r in sorted(by_engine[engine].items()) if ok(r)]
            if not recs:
                continue
            xs = [r["batch"] for r in recs]
            ax.plot(xs, [r["median_us"] for r in recs], "o-", color=COLORS.get(engine), label=engine)
            ax.fill_between(xs, [r["p25_us"] for r in recs], [r["p75_us"] for r in recs],
                            color=COLORS.get(engine), alpha=0.2, linewidth=0)
        ax.set_yscale("log")
        ax.set_ylabel("median µs / step (band: p25–p75)")
        ax.set_title(f"{workload}, threads={threads}")
        style_batch_axis(ax, batches_of(by_engine))
    finish(fig, path)


def plot_speedups(groups, machine, path):
    fig, axes = subplot_grid(groups, f"Speed-up vs {BASELINE} (>1 = faster) — {machine['cpu']}")
    for (workload, threads), by_engine in groups.items():
        ax = axes[(workload, threads)]
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
        ax.set_ylabel("speed-up (ratio of medians)")
        ax.set_title(f"{workload}, threads={threads}")
        style_batch_axis(ax, batches_of(by_engine))
    finish(fig, path)


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

    write_json(out("latest.json"), records)
    write_json(out("machine.json"), machine)
    with open(out("latest.md"), "w") as f:
        f.write(markdown(records, machine))
    groups = group(records)
    plot_times(groups, machine, out("latest.png"))
    plot_speedups(groups, machine, out("speedup.png"))


if __name__ == "__main__":
    main()
