#!/usr/bin/env bash
# user_models_report.py over real torchclad-bench runs: clad-user against
# clad-model and LibTorch autograd. Asserts that user/model is the median of
# each run's ratio (the engines interleaved in one process) with its range,
# and that runs without clad-user are refused with a message; not speed.
# usage: bench_user_models.sh PYTHON BENCH OUT_DIR
set -u
python=$1 bench=$2 out=$3
report="$(dirname "$0")/../bench/user_models_report.py"
rm -rf "$out" && mkdir -p "$out"
common=(--workloads mlp-784-128-10 --batches 1,4 --optimizer sgd --threads 1 --rounds 1 --steps 2 --warmup 1
        --memory 0)
for run in 1 2 3; do
  timeout 300 "$bench" "${common[@]}" --engines clad-user,clad-model,libtorch-autograd --out "$out/run-$run.json" ||
    { echo "torchclad-bench run $run failed"; exit 1; }
done
"$python" "$report" --runs "$out"/run-{1,2,3}.json --out-dir "$out" || { echo "user_models_report.py failed"; exit 1; }
"$python" - "$out" <<'PY' || exit 1
import json, statistics, sys
out = sys.argv[1]
runs = [json.load(open(f"{out}/run-{i}.json")) for i in (1, 2, 3)]
rows = json.load(open(f"{out}/user-models.json"))["rows"]
assert [(r["workload"], r["batch"]) for r in rows] == [("mlp-784-128-10", 1), ("mlp-784-128-10", 4)], rows
for row in rows:
    step = lambda run, e: next(r["median_us"] for r in run if r.get("kind", "step") == "step"
                               and r["engine"] == e and r["batch"] == row["batch"])
    ratios = [step(run, "clad-user") / step(run, "clad-model") for run in runs]
    assert row["runs"] == 3, row
    assert abs(row["user_over_model"] - statistics.median(ratios)) < 1e-12, (row, ratios)
    assert (row["user_over_model_min"], row["user_over_model_max"]) == (min(ratios), max(ratios)), row
    assert row["user_allocs_per_step"] == 0, row
    md = open(f"{out}/user-models.md").read()
    cell = f"| {row['user_over_model']:.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |"
    assert f"\n| {row['batch']} | " in md and cell in md, (cell, md)
PY
# Runs that lack clad-user: an error naming the engines, no report.
timeout 300 "$bench" "${common[@]}" --engines clad-model,libtorch-autograd --out "$out/no-user.json" ||
  { echo "torchclad-bench without clad-user failed"; exit 1; }
msg=$("$python" "$report" --runs "$out/no-user.json" --out-dir "$out/none" 2>&1) && { echo "accepted runs without clad-user"; exit 1; }
[[ "$msg" == *"no (workload, optimizer, threads, batch) with records of all of clad-user, clad-model, libtorch-autograd"* ]] ||
  { echo "unexpected message: $msg"; exit 1; }
echo "user_models_report.py: ok"
