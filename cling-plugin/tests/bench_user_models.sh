#!/usr/bin/env bash
# user_models_report.py over real torchclad-bench runs: clad-user against
# clad-model and LibTorch autograd. Asserts that user/model is the median of
# each run's ratio (the engines interleaved in one process) with its range,
# on real runs and on made-up ones where the ratio of medians differs, and
# that runs without clad-user or with a record twice are refused with a
# message; not speed.
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
[[ "$msg" == *"no (workload, optimizer, threads, batch) with records of both clad-user and clad-model in one run"* ]] ||
  { echo "unexpected message: $msg"; exit 1; }
# Runs made up so that the ratio of the medians (2/2 = 1) is not the median of
# the runs' ratios (1/3, 2, 3/2: 1.5), one run without autograd and one whose
# autograd failed: each ratio from the runs that timed its two engines.
mkdir -p "$out/made-up"
"$python" - "$out/made-up" <<'PY' || exit 1
import json, sys
out = sys.argv[1]
def step(engine, us, **extra):
    return {"kind": "step", "workload": "mlp-8-4", "optimizer": "adam", "threads": 1, "batch": 8,
            "engine": engine, "median_us": us, "allocs_per_step": 0, **extra}
runs = [[step("clad-user", 1.0), step("clad-model", 3.0), step("libtorch-autograd", 4.0)],
        [step("clad-user", 2.0), step("clad-model", 1.0)],
        [step("clad-user", 3.0), step("clad-model", 2.0), step("libtorch-autograd", 0, error="made up")]]
for k, r in enumerate(runs):
    json.dump(r, open(f"{out}/run-{k}.json", "w"))
json.dump(runs[0] + [step("clad-user", 5.0)], open(f"{out}/twice.json", "w"))
PY
"$python" "$report" --runs "$out"/made-up/run-{0,1,2}.json --out-dir "$out/made-up" ||
  { echo "user_models_report.py failed on made-up runs"; exit 1; }
"$python" - "$out/made-up" <<'PY' || exit 1
import json, sys
[row] = json.load(open(f"{sys.argv[1]}/user-models.json"))["rows"]
assert row["runs"] == 3 and row["user_over_model"] == 1.5, row
assert (row["user_over_model_min"], row["user_over_model_max"]) == (1 / 3, 2.0), row
assert row["speedup_over_autograd"] == 4.0 and row["libtorch-autograd_us"] == 4.0, row  # run 0 alone
assert (row["clad-user_us"], row["clad-model_us"]) == (2.0, 2.0), row
md = open(f"{sys.argv[1]}/user-models.md").read()
assert "| 8 | 3 | 2 (1–3) | 2 (1–3) | 4 (4–4) | 1.50 (0.33–2.00) | 4.00× | 0 |" in md, md
PY
msg=$("$python" "$report" --runs "$out/made-up/twice.json" --out-dir "$out/made-up" 2>&1) &&
  { echo "accepted a run with two clad-user records for one key"; exit 1; }
[[ "$msg" == *"has two clad-user records for mlp-8-4, adam, 1 thread(s), batch 8"* ]] ||
  { echo "unexpected message: $msg"; exit 1; }
echo "user_models_report.py: ok"
