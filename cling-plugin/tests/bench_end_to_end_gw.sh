#!/usr/bin/env bash
# The benchmark's end-to-end runner on the GW CNN (bench/end_to_end.py
# --gw-data), on a small simulated file: torchclad-train-gw with clad and
# autograd, each between two runs of the step benchmark, then report.py on
# those records alone. Asserts the records and the report, not their speed.
# usage: bench_end_to_end_gw.sh PYTHON GW_FILE OUT_DIR TRAIN_GW BENCH
set -u
python=$1 gw_file=$2 out=$3 train_gw=$4 bench=$5
here=$(dirname "$0")
rm -rf "$out" && mkdir -p "$out"
timeout 600 "$python" "$here/../bench/end_to_end.py" --gw-data "$gw_file" --train-gw "$train_gw" --bench "$bench" \
  --engines clad,autograd --batches 64 --optimizer sgd --epochs 2 --test-limit 100 --out "$out/e2e.json" ||
  { echo "end_to_end.py failed"; exit 1; }
"$python" - "$out/e2e.json" <<'PY' || exit 1
import json, sys
records = json.load(open(sys.argv[1]))
assert [r["engine"] for r in records] == ["clad-model", "libtorch-autograd"], records
for r in records:
    assert (r["kind"], r["via"], r["workload"], r["batch"], r["optimizer"]) == \
        ("e2e", "torchclad-train", "cnn-gw", 64, "sgd"), r
    assert len(r["epoch_samples_per_second"]) == 1 and r["samples_per_second"] > 0, r
    assert len(r["adjacent_step_us"]) == 2 and min(r["adjacent_step_us"]) > 0, r
    # The trainer's own median step: a step's time, at most the epoch's time per step
    # (x 1.5: a median may exceed the mean) and not a rate.
    per_step_us = 64 * 1e6 / r["epoch_samples_per_second"][0]
    assert 0 < r["own_step_us"] <= 1.5 * per_step_us, (r["own_step_us"], per_step_us, r)
    assert r["command"].split()[0].endswith("torchclad-train-gw") and "--engines" in r["command"], r
PY
"$python" "$here/../bench/report.py" --inputs "$out/e2e.json" --out-dir "$out/report" || { echo "report.py failed"; exit 1; }
test -s "$out/report/e2e.png" || { echo "no e2e.png"; exit 1; }
grep -q "^| cnn-gw | sgd | 1 | 64 | clad-model | " "$out/report/latest.md" || { echo "no cnn-gw row in latest.md"; exit 1; }
grep -q "^| cnn-gw | sgd | 64 | libtorch-autograd | [01]\.[0-9][0-9][0-9] | – |" "$out/report/latest.md" ||
  { echo "no row of the loop against its own steps in latest.md"; exit 1; }
# A careless user's file (not a torchclad-gwsim file): the trainer's own error is shown.
if "$python" "$here/../bench/end_to_end.py" --gw-data "$here/bench_end_to_end_gw.sh" --train-gw "$train_gw" \
  --bench "$bench" --batches 64 --epochs 2 --adjacent 0 --out "$out/bad.json" 2> "$out/bad.err"; then
  echo "a file that is not ROOT passed"; exit 1
fi
grep -q "^torchclad-train-gw: .* is not a ROOT file" "$out/bad.err" || { echo "no trainer error shown:"; cat "$out/bad.err"; exit 1; }
test ! -e "$out/bad.json" || { echo "bad.json written"; exit 1; }
# An engine torchclad-train-gw does not have: refused before anything runs.
"$python" "$here/../bench/end_to_end.py" --gw-data "$gw_file" --engines clad,clad-model-node --out "$out/bad.json" \
  2> "$out/bad-engine.err" && { echo "engine clad-model-node accepted"; exit 1; }
grep -q "torchclad-train-gw has no engine 'clad-model-node'" "$out/bad-engine.err" ||
  { echo "no engine error:"; cat "$out/bad-engine.err"; exit 1; }
echo "end-to-end records and report written for cnn-gw"
