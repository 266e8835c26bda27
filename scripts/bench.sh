#!/usr/bin/env bash
# The training-step benchmark (cling-plugin/bench/README.md): C++ engines in
# one process, Python engines in another, then one report with tables and
# charts in cling-plugin/bench/results/. Takes 15-25 minutes (torch.compile
# compiles each shape). The CNN (cnn-gw) runs at batches 1-256 (--cnn-batches). Smaller runs: BENCH_BATCHES=1,32 BENCH_THREADS=1 npm run bench
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
WORKLOADS=${BENCH_WORKLOADS:-mlp-784-128-10,mlp-784-256-128-10,cnn-gw}
BATCHES=${BENCH_BATCHES:-1,8,32,128,512}
THREADS=${BENCH_THREADS:-1,2}
STEPS=${BENCH_STEPS:-30}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=build/bench
mkdir -p "$OUT"
common=(--workloads "$WORKLOADS" --batches "$BATCHES" --threads "$THREADS" --steps "$STEPS"
        --warmup 10 --rounds "$ROUNDS" --optimizer sgd)

echo "==> C++ engines (clad-model, clad-user, clad-model-node, clad-ops, libtorch-autograd)"
build/cling-plugin/bench/torchclad-bench "${common[@]}" --out "$OUT/cpp.json"
echo "==> Python engines (pytorch-eager, torch-compile)"
.venv/bin/python cling-plugin/bench/python_engines.py "${common[@]}" \
  --engines pytorch-eager,torch-compile --out "$OUT/python.json"
echo "==> report"
.venv/bin/python cling-plugin/bench/report.py --inputs "$OUT/cpp.json" "$OUT/python.json" \
  --out-dir cling-plugin/bench/results

# Engine clad-user (the workloads written as model definitions) against the
# built-in clad-model and LibTorch autograd, with both optimizers, in three
# whole runs; and the compile time of a %%clad cell defining a 3-layer MLP.
echo "==> clad-user vs clad-model (3 runs, sgd and adam) and a %%clad cell's compile time"
user_runs=()
for run in 1 2 3; do
  for opt in sgd adam; do
    build/cling-plugin/bench/torchclad-bench --workloads mlp-784-128-10,cnn-gw --batches "$BATCHES" \
      --cnn-batches 1,8,32,128,256 --threads 1 --engines clad-user,clad-model,libtorch-autograd \
      --steps "$STEPS" --warmup 10 --rounds "$ROUNDS" --optimizer "$opt" --out "$OUT/user-$opt-$run.json"
  done
  .venv/bin/python - "$OUT/user-sgd-$run.json" "$OUT/user-adam-$run.json" "$OUT/user-$run.json" <<'PY'
import json, sys
json.dump(json.load(open(sys.argv[1])) + json.load(open(sys.argv[2])), open(sys.argv[3], "w"))
PY
  user_runs+=("$OUT/user-$run.json")
done
.venv/bin/python cling-plugin/bench/compile_time.py --runs 3 --out "$OUT/compile-time.json"
.venv/bin/python cling-plugin/bench/user_models_report.py --runs "${user_runs[@]}" \
  --compile-json "$OUT/compile-time.json" --out-dir cling-plugin/bench/results

# Imported models (torchclad::import_model) against LibTorch autograd on the
# same TorchScript module and the built-in definitions (training), and ONNX
# Runtime (inference); and import_model's time. 3 whole runs.
echo "==> imported models (3 runs)"
.venv/bin/python cling-plugin/bench/imported_models.py --runs 3 --out-dir cling-plugin/bench/results
