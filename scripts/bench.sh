#!/usr/bin/env bash
# The training-step benchmark (cling-plugin/bench/README.md), BENCH_RUNS (3)
# whole runs, each: the C++ engines in one process (SGD and Adam; also the
# bandwidths and the optimizer update alone), the Python engines in another,
# and torchclad-train (with cnn-gw, torchclad-train-gw too) end to end; then
# one report over the runs (medians and their range) in
# cling-plugin/bench/results/, the clad-user report from the same C++ runs, a
# %%clad cell's compile time, the imported models and the notebook kernel's
# start-up and cell round trip.
# 51 minutes on this farm's 2-core Intel Xeon (2026-12-01, 02:40-03:31 UTC,
# all of it); 26 on its faster AMD EPYC before the kernel latency and the GW
# CNN's end to end were added. Smaller runs, e.g.:
#   BENCH_RUNS=1 BENCH_WORKLOADS=mlp-784-128-10 BENCH_BATCHES=1,32 BENCH_THREADS=1 \
#   BENCH_PYTHON=0 BENCH_IMPORTED=0 BENCH_KERNEL=0 npm run bench
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${BENCH_BUILD:-1}" = 0 ] || bash scripts/build.sh
RUNS=${BENCH_RUNS:-3}
WORKLOADS=${BENCH_WORKLOADS:-mlp-784-128-10,mlp-784-256-128-10,cnn-gw}
BATCHES=${BENCH_BATCHES:-1,8,32,128,512}
CNN_BATCHES=${BENCH_CNN_BATCHES:-1,8,32,128,256}
THREADS=${BENCH_THREADS:-1,2}
OPTIMIZERS=${BENCH_OPTIMIZERS:-sgd,adam}
STEPS=${BENCH_STEPS:-30}
ROUNDS=${BENCH_ROUNDS:-3}
E2E_BATCHES=${BENCH_E2E_BATCHES:-32,128,512}
E2E_EPOCHS=${BENCH_E2E_EPOCHS:-5}
E2E_CNN_BATCHES=${BENCH_E2E_CNN_BATCHES:-32,128}
# torchclad-train-gw's end-to-end runs train on this simulated file (made once).
GW_DATA=build/bench/gw-e2e-4096.root
RESULTS=${BENCH_RESULTS:-cling-plugin/bench/results}
OUT=build/bench
mkdir -p "$OUT" "$RESULTS"
rm -f "$OUT"/cpp-*.json "$OUT"/python-*.json "$OUT"/e2e-*.json  # e2e-gw-*.json too
common=(--workloads "$WORKLOADS" --batches "$BATCHES" --cnn-batches "$CNN_BATCHES"
        --threads "$THREADS" --steps "$STEPS" --warmup 10 --rounds "$ROUNDS" --optimizer "$OPTIMIZERS")

# The code measured (a trailing -dirty: uncommitted changes) and the machine.
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
inputs=() cpp_runs=() loads=()
for run in $(seq 1 "$RUNS"); do
  echo "==> run $run/$RUNS: C++ engines (clad-model, clad-user, clad-model-node, clad-ops, libtorch-autograd), bandwidths, optimizer update, Conv1d paths"
  build/cling-plugin/bench/torchclad-bench "${common[@]}" --out "$OUT/cpp-$run.json"
  inputs+=("$OUT/cpp-$run.json") cpp_runs+=("$OUT/cpp-$run.json")
  if [ "${BENCH_PYTHON:-1}" != 0 ]; then
    echo "==> run $run/$RUNS: Python engines (pytorch-eager, torch-compile)"
    .venv/bin/python cling-plugin/bench/python_engines.py "${common[@]}" \
      --engines pytorch-eager,torch-compile --out "$OUT/python-$run.json"
    inputs+=("$OUT/python-$run.json")
  fi
  # End to end, for the workloads the steps above timed.
  if [ "${BENCH_E2E:-1}" != 0 ]; then
    if [[ ",$WORKLOADS," == *",mlp-784-128-10,"* ]]; then
      echo "==> run $run/$RUNS: torchclad-train end to end (MLP 784-128-10, Fashion-MNIST, 1 thread)"
      .venv/bin/python cling-plugin/bench/end_to_end.py --batches "$E2E_BATCHES" --epochs "$E2E_EPOCHS" \
        --optimizer "$OPTIMIZERS" --out "$OUT/e2e-$run.json"
      inputs+=("$OUT/e2e-$run.json")
    fi
    if [[ ",$WORKLOADS," == *",cnn-gw,"* ]]; then
      echo "==> run $run/$RUNS: torchclad-train-gw end to end (GW CNN, simulated windows, 1 thread)"
      [ -f "$GW_DATA" ] || build/cling-plugin/gw/torchclad-gwsim --out "$GW_DATA" --train 4096 --test 512 --seed 7 --quiet
      .venv/bin/python cling-plugin/bench/end_to_end.py --gw-data "$GW_DATA" --batches "$E2E_CNN_BATCHES" \
        --epochs "$E2E_EPOCHS" --optimizer "$OPTIMIZERS" --out "$OUT/e2e-gw-$run.json"
      inputs+=("$OUT/e2e-gw-$run.json")
    fi
  fi
  loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
done
# The 1/5/15-minute load averages after each run, the commit and the host,
# for the report's header.
printf '{"load": "%s", "commit": "%s", "host": "%s"}\n' "$(IFS=';'; echo "${loads[*]}" | sed 's/;/; /g')" \
  "$commit" "$(hostname)" > "$OUT/machine-extra.json"

echo "==> report"
.venv/bin/python cling-plugin/bench/report.py --inputs "${inputs[@]}" \
  --machine-json "$OUT/machine-extra.json" --out-dir "$RESULTS"

# Engine clad-user (the workloads written as model definitions) against the
# built-in clad-model and LibTorch autograd: from the same C++ runs; and the
# compile time of a %%clad cell defining a 3-layer MLP.
if [[ ",$WORKLOADS," == *",mlp-784-128-10,"* || ",$WORKLOADS," == *",cnn-gw,"* ]]; then
  echo "==> clad-user vs clad-model (the runs above) and a %%clad cell's compile time"
  .venv/bin/python cling-plugin/bench/compile_time.py --runs 3 --out "$OUT/compile-time.json"
  .venv/bin/python cling-plugin/bench/user_models_report.py --runs "${cpp_runs[@]}" \
    --compile-json "$OUT/compile-time.json" --out-dir "$RESULTS"
fi

# Imported models (torchclad::import_model) against LibTorch autograd on the
# same TorchScript module and the built-in definitions (training), and ONNX
# Runtime (inference); and import_model's time. 3 whole runs.
if [ "${BENCH_IMPORTED:-1}" != 0 ]; then
  echo "==> imported models (3 runs)"
  .venv/bin/python cling-plugin/bench/imported_models.py --runs 3 --out-dir "$RESULTS"
fi

# The notebook kernel: start-up and a trivial cell's round trip, torchclad
# beside ipykernel (kernel-bridge/bench/results/latency.*). Needs the built
# kernel (npm run build does it).
if [ "${BENCH_KERNEL:-1}" != 0 ]; then
  echo "==> notebook kernel start-up and round trip (3 repeats)"
  .venv/bin/python kernel-bridge/bench/kernel_latency.py --repeats 3
fi
