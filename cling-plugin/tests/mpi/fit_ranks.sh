#!/usr/bin/env bash
# train_model (Model::fit's engine) with per-event weights: N ranks with local
# batch B end with the parameters of one process with batch N*B.
# usage: fit_ranks.sh MPIEXEC PYTHON PROGRAM OUT_PREFIX RANKS LOCAL_BATCH weights|sampling
set -u
mpiexec=$1 python=$2 program=$3 prefix=$4 ranks=$5 batch=$6 mode=$7
rm -f "$prefix-single.bin" "$prefix-ranks.bin"
timeout 120 "$program" "$prefix-single.bin" $((ranks * batch)) "$mode" || { echo "one process failed"; exit 1; }
timeout 120 "$mpiexec" --oversubscribe -np "$ranks" "$program" "$prefix-ranks.bin" "$batch" "$mode" ||
  { echo "$ranks ranks failed"; exit 1; }
"$python" "$(dirname "$0")/compare_params.py" "$prefix-single.bin" "$prefix-ranks.bin"
