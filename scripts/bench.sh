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

echo "==> C++ engines (clad-model, clad-model-node, clad-ops, libtorch-autograd)"
build/cling-plugin/bench/torchclad-bench "${common[@]}" --out "$OUT/cpp.json"
echo "==> Python engines (pytorch-eager, torch-compile)"
.venv/bin/python cling-plugin/bench/python_engines.py "${common[@]}" \
  --engines pytorch-eager,torch-compile --out "$OUT/python.json"
echo "==> report"
.venv/bin/python cling-plugin/bench/report.py --inputs "$OUT/cpp.json" "$OUT/python.json" \
  --out-dir cling-plugin/bench/results
