#!/usr/bin/env bash
# Cnn::fit (torchclad/cnn.h) under torchclad::Distributed: N ranks with batch
# B end with the parameters and every epoch's metrics (train loss, test loss,
# accuracy, AUC) of one process with batch N*B, within float32 summation
# tolerance (compare_params.py: 1e-5 + 1e-4 |a|; the ranks add their
# gradients in another order, about 1e-7 relative per step). And the
# comparison can fail: one process with batch B, not N*B, must end elsewhere.
# usage: cnn_ranks.sh MPIEXEC PYTHON PROGRAM DATA OUT_PREFIX RANKS LOCAL_BATCH ENGINE EPOCHS
set -u
mpiexec=$1 python=$2 program=$3 data=$4 prefix=$5 ranks=$6 batch=$7 engine=$8 epochs=$9
compare="$(dirname "$0")/compare_params.py"
rm -f "$prefix"-{single,ranks,local}.{bin,txt,err}
run() {  # NAME COMMAND...: stdout to NAME.txt, stderr to NAME.err
  local name=$1
  shift
  timeout 120 "$@" >"$prefix-$name.txt" 2>"$prefix-$name.err" ||
    { cat "$prefix-$name.txt" "$prefix-$name.err"; echo "$name run failed"; exit 1; }
}
run single "$program" "$data" "$prefix-single.bin" $((ranks * batch)) "$engine" "$epochs"
run ranks "$mpiexec" --oversubscribe -np "$ranks" "$program" "$data" "$prefix-ranks.bin" "$batch" "$engine" "$epochs"
cat "$prefix-ranks.txt"
epoch_lines=$(grep -c '^epoch ' "$prefix-ranks.txt")
[ "$epoch_lines" -eq "$epochs" ] || { echo "expected $epochs epoch lines (rank 0's), found $epoch_lines"; exit 1; }
run local "$program" "$data" "$prefix-local.bin" "$batch" "$engine" "$epochs"
"$python" "$compare" "$prefix-single.bin" "$prefix-local.bin" --differ ||
  { echo "one process with batch $batch ends as with batch $((ranks * batch)): the comparison cannot fail"; exit 1; }
"$python" "$compare" "$prefix-single.bin" "$prefix-ranks.bin" --metrics "$prefix-single.txt" "$prefix-ranks.txt"
