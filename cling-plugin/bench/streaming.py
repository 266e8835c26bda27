#!/usr/bin/env python3
"""Training from a stream (torchclad-train --stream) against the in-memory
dataset, and a file several times larger than a memory cap trained in bounded
memory. Writes results/streaming.{json,md,png}.

1. Generates, with ROOT's RDataFrame, ROOT files of float features
   ("image[F]/F", uniform in [-1, 1] from a xorshift generator) and a
   label (the sign of the first three features' sum): a slice that fits in
   memory and a large file (--big-gb, uncompressed, so its size on disk is its
   data). Checks the free disk space first; removes the files at the end.
2. On the slice: one epoch of an MLP at batch 64, in-memory (--root-file)
   and streamed (--root-file --stream), interleaved, --runs times each:
   samples per second of the training steps (metrics JSON) and peak RSS
   (/usr/bin/time -v).
3. On the large file: one streamed epoch, --big-runs times: peak RSS against
   --cap-mb, and samples per second (--slice-only: not this part).

    .venv/bin/python cling-plugin/bench/streaming.py --build build/cling-plugin
    .venv/bin/python cling-plugin/bench/streaming.py --slice-only --runs 5  # the ratio alone
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT_DIR = HERE.parents[1]

GENERATE = r"""
#include <TFile.h>
#include <TTree.h>
// Uncompressed (the file's size is its data's); "image[F]/F" and "label/I".
void generate(const char* file, long long train, long long test, int features) {
  TFile f(file, "RECREATE", "torchclad streaming benchmark", 0);
  std::vector<float> image(features);
  int label = 0;
  unsigned long long s = 7;
  for (auto [name, n] : {std::pair<const char*, long long>{"train", train}, {"test", test}}) {
    TTree t(name, name);
    t.SetAutoFlush(20000);
    t.Branch("image", image.data(), ("image[" + std::to_string(features) + "]/F").c_str());
    t.Branch("label", &label, "label/I");
    for (long long e = 0; e < n; ++e) {
      for (auto& x : image) {  // xorshift64*: uniform in [-1, 1)
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        x = float((s * 0x2545F4914F6CDD1DULL) >> 40) / 16777216.f * 2.f - 1.f;
      }
      label = image[0] + image[1] + image[2] > 0;
      t.Fill();
    }
    t.Write();
  }
}
"""


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def generate(troot, path, train, test, features):
    macro = Path(path).parent / "generate.C"
    macro.write_text(GENERATE)
    t0 = time.time()
    r = run([troot, "-b", "-q", f'{macro}("{path}", {train}, {test}, {features})'])
    if r.returncode != 0:
        sys.exit(f"generating {path} failed:\n{r.stdout}\n{r.stderr}")
    return time.time() - t0


def train_once(exe, file, features, stream, metrics, extra):
    cmd = ["/usr/bin/time", "-v", exe, "--root-file", file, "--epochs", "1", "--batch", "64",
           "--widths", f"{features},256,128,2", "--test-limit", "2000", "--quiet", "--metrics-json", metrics]
    if stream:
        cmd += ["--stream"] + extra
    t0 = time.time()
    r = run(cmd)
    wall = time.time() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    m = json.loads(Path(metrics).read_text())["epochs"][0]
    return {"samples_per_second": m["samples_per_second"], "train_seconds": m["seconds"],
            "wall_seconds": wall, "peak_rss_mb": rss_kb / 1024, "test_accuracy": m["test_accuracy"],
            "steps": m["steps"]}


def summary(runs, key):
    v = [r[key] for r in runs]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT_DIR / "build/cling-plugin"))
    ap.add_argument("--work", default=None, help="directory for the generated files (default: a temporary one)")
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--slice-entries", type=int, default=400_000)
    ap.add_argument("--big-gb", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-runs", type=int, default=3)
    ap.add_argument("--slice-only", action="store_true",
                    help="in memory vs stream on the slice only: no large file (nor its disk space)")
    ap.add_argument("--cap-mb", type=float, default=1024)
    ap.add_argument("--chunk-entries", type=int, default=65536)
    ap.add_argument("--shuffle-buffer", type=int, default=65536)
    ap.add_argument("--out", default=None,
                    help="results' path without suffix (default: results/streaming, --slice-only: "
                         "results/streaming-slice)")
    ap.add_argument("--note", default="", help="a sentence for the report (e.g. why a run was smaller)")
    args = ap.parse_args()
    args.out = args.out or str(HERE / ("results/streaming-slice" if args.slice_only else "results/streaming"))

    exe = str(Path(args.build) / "torchclad-train")
    troot = str(ROOT_DIR / "scripts/troot")
    work = Path(args.work or tempfile.mkdtemp(prefix="torchclad-streaming-"))
    work.mkdir(parents=True, exist_ok=True)
    row_bytes = 4 * args.features + 4  # image, label
    big_entries = 0 if args.slice_only else int(args.big_gb * 1e9 / row_bytes)
    free = shutil.disk_usage(work).free
    need = big_entries * row_bytes + args.slice_entries * row_bytes
    if free < 2 * need:
        sys.exit(f"{work}: {free / 1e9:.1f} GB free, the files need {need / 1e9:.1f} GB (and as much to spare)")

    slice_file, big_file = str(work / "slice.root"), str(work / "big.root")
    stream_flags = ["--chunk-entries", str(args.chunk_entries), "--shuffle-buffer", str(args.shuffle_buffer)]
    result = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version()},
              "config": {"features": args.features, "model": f"mlp-{args.features}-256-128-2", "engine": "clad",
                         "batch": 64, "optimizer": "adam", "chunk_entries": args.chunk_entries,
                         "shuffle_buffer": args.shuffle_buffer, "prefetch_chunks": 2,
                         "slice_entries": args.slice_entries, "big_entries": big_entries,
                         "cap_mb": args.cap_mb},
              "note": args.note, "load_average": {"start": os.getloadavg()}}
    try:
        print(f"generating {slice_file} ({args.slice_entries} entries)", flush=True)
        result["slice_generate_seconds"] = generate(troot, slice_file, args.slice_entries, 10_000, args.features)
        result["slice_file_mb"] = os.path.getsize(slice_file) / 2**20
        mem, stream = [], []
        for i in range(args.runs):
            mem.append(train_once(exe, slice_file, args.features, False, str(work / "m.json"), []))
            stream.append(train_once(exe, slice_file, args.features, True, str(work / "m.json"), stream_flags))
            print(f"slice run {i + 1}: in-memory {mem[-1]['samples_per_second']:.0f}/s, "
                  f"stream {stream[-1]['samples_per_second']:.0f}/s", flush=True)
        result["slice"] = {"in_memory": {k: summary(mem, k) for k in mem[0]},
                           "stream": {k: summary(stream, k) for k in stream[0]}}
        result["slice"]["stream_over_in_memory"] = (result["slice"]["stream"]["samples_per_second"]["median"] /
                                                    result["slice"]["in_memory"]["samples_per_second"]["median"])
        # The process alone: libraries (LibTorch, ROOT), ROOT's interpreter, one chunk of 64 entries.
        base = [train_once(exe, slice_file, args.features, True, str(work / "m.json"),
                           stream_flags + ["--train-limit", "64"]) for _ in range(args.runs)]
        result["baseline"] = {"peak_rss_mb": summary(base, "peak_rss_mb")}
        print(f"baseline (one batch streamed): peak RSS {result['baseline']['peak_rss_mb']['median']:.0f} MB", flush=True)
        os.remove(slice_file)
        if not args.slice_only:  # the large file
            print(f"generating {big_file} ({big_entries} entries, {args.big_gb} GB)", flush=True)
            result["big_generate_seconds"] = generate(troot, big_file, big_entries, 10_000, args.features)
            result["big_file_mb"] = os.path.getsize(big_file) / 2**20
            big = []
            for i in range(args.big_runs):
                big.append(train_once(exe, big_file, args.features, True, str(work / "m.json"), stream_flags))
                print(f"big run {i + 1}: {big[-1]['samples_per_second']:.0f}/s, "
                      f"peak RSS {big[-1]['peak_rss_mb']:.0f} MB", flush=True)
            result["big"] = {"stream": {k: summary(big, k) for k in big[0]}}
            result["big"]["file_over_cap"] = result["big_file_mb"] / args.cap_mb
            result["big"]["under_cap"] = max(r["peak_rss_mb"] for r in big) < args.cap_mb
    finally:
        shutil.rmtree(work, ignore_errors=True)
        result["load_average"]["end"] = os.getloadavg()
    write(result, Path(args.out))


def fmt(s, unit="", digits=0):
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def write(r, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(r, indent=2) + "\n")
    c, sl, big = r["config"], r["slice"], r.get("big")
    lines = [
        "# Streaming: training from a file larger than memory",
        "",
        f"`bench/streaming.py`: `torchclad-train` (engine clad, {c['model']}, Adam, batch {c['batch']}, 1 thread, "
        f"one epoch) on generated ROOT files of {c['features']} float features and a label per entry "
        f"(uncompressed). Stream: chunks of {c['chunk_entries']} entries, shuffle buffer {c['shuffle_buffer']} rows, "
        f"{c['prefetch_chunks']} chunks read ahead. Medians over runs, (min–max) in brackets; "
        f"samples/s are of the training steps (the stream's include waiting for data; its first chunks are "
        f"read from the stream's opening on, while the test tree is read and the model built, as the in-memory "
        f"dataset is read before the epoch); peak RSS from "
        f"`/usr/bin/time -v`. Machine: {r['machine']['cores']} cores, shared with other jobs"
        + (f"; load average {r['load_average']['start'][0]:.2f} at the start, "
           f"{r['load_average']['end'][0]:.2f} at the end (1 min)." if "load_average" in r else "."),
        "",
    ]
    if r.get("note"):
        lines += [f"**Note:** {r['note']}", ""]
    lines += [
        f"## In memory vs stream, a slice that fits ({c['slice_entries']} entries, {r['slice_file_mb']:.0f} MB)",
        "",
        "| | samples/s | peak RSS (MB) | test accuracy | runs |",
        "|---|---|---|---|---|",
        f"| in memory | {fmt(sl['in_memory']['samples_per_second'])} | {fmt(sl['in_memory']['peak_rss_mb'])} | "
        f"{sl['in_memory']['test_accuracy']['median']:.3f} | {len(sl['in_memory']['samples_per_second']['runs'])} |",
        f"| stream | {fmt(sl['stream']['samples_per_second'])} | {fmt(sl['stream']['peak_rss_mb'])} | "
        f"{sl['stream']['test_accuracy']['median']:.3f} | {len(sl['stream']['samples_per_second']['runs'])} |",
        "",
        f"Stream / in memory (medians): **{sl['stream_over_in_memory']:.3f}** "
        f"(target: within 10%, i.e. >= 0.90).",
        "",
    ]
    if big:
        lines += [
            f"## A file {big['file_over_cap']:.1f}x the memory cap ({c['big_entries']} entries, "
            f"{r['big_file_mb']:.0f} MB; cap {c['cap_mb']:.0f} MB)",
            "",
            "| | samples/s | peak RSS (MB) | test accuracy | wall s | runs |",
            "|---|---|---|---|---|---|",
            f"| stream | {fmt(big['stream']['samples_per_second'])} | {fmt(big['stream']['peak_rss_mb'])} | "
            f"{big['stream']['test_accuracy']['median']:.3f} | {fmt(big['stream']['wall_seconds'])} | "
            f"{len(big['stream']['samples_per_second']['runs'])} |",
            "",
        ]
    lines += [
        f"The process alone (LibTorch, ROOT and its interpreter loaded, one batch of 64 streamed): peak RSS "
        f"{fmt(r['baseline']['peak_rss_mb'])} MB. The in-memory dataset adds the data to it (the slice's "
        f"{r['slice_file_mb']:.0f} MB above); the stream adds its chunks and buffer "
        f"(({c['prefetch_chunks']} + 2) x {c['chunk_entries']} + {c['shuffle_buffer']} rows of {c['features']} "
        f"floats at most, {((c['prefetch_chunks'] + 2) * c['chunk_entries'] + c['shuffle_buffer']) * (c['features'] + 1) * 4 / 2**20:.0f} MB), "
        "whatever the file's size.",
        "",
    ]
    if big:
        lines += [
            f"Peak RSS under the cap in every run: **{'yes' if big['under_cap'] else 'no'}**. The cap is not enforced "
            "by the kernel (no cgroup here): it is the bound the measured peak is compared with. The file sat in the "
            "page cache (the machine has more memory than the file), which RSS does not count: this measures the "
            "process's memory, not disk speed.",
            "",
        ]
    out.with_suffix(".md").write_text("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        names = ["in memory\n(slice)", "stream\n(slice)"]
        sps = [sl["in_memory"]["samples_per_second"], sl["stream"]["samples_per_second"]]
        rss = [sl["in_memory"]["peak_rss_mb"], sl["stream"]["peak_rss_mb"]]
        if big:
            names.append(f"stream\n({r['big_file_mb'] / 1024:.1f} GB)")
            sps.append(big["stream"]["samples_per_second"])
            rss.append(big["stream"]["peak_rss_mb"])
        for ax, vals, title in ((a, sps, "samples/s (batch 64)"), (b, rss, "peak RSS (MB)")):
            med = [v["median"] for v in vals]
            err = [[m - v["min"] for m, v in zip(med, vals)], [v["max"] - m for m, v in zip(med, vals)]]
            ax.bar(names, med, yerr=err, capsize=5, color=["#888", "#3a7", "#3a7"][:len(names)])
            ax.set_title(title)
        b.axhline(c["cap_mb"], color="r", ls="--", label=f"cap {c['cap_mb']:.0f} MB")
        b.legend()
        fig.suptitle("torchclad-train: in-memory dataset vs stream (medians, min-max bars)")
        fig.tight_layout()
        fig.savefig(out.with_suffix(".png"), dpi=100)
    except ImportError as e:
        print(f"no plot: {e}")
    print(f"wrote {out}.json, .md, .png")


if __name__ == "__main__":
    main()
