#!/usr/bin/env bash
# N ranks with local batch B against one process with batch N*B: the same
# steps, so the checkpoints after the run hold the same parameters and
# optimizer state (float32 tolerance: the ranks sum the gradient in another
# order).
# usage: equivalence.sh MPIEXEC PYTHON OUT_PREFIX RANKS LOCAL_BATCH APP [ARGS...]
set -u
mpiexec=$1 python=$2 prefix=$3 ranks=$4 batch=$5
shift 5
here=$(dirname "$0")
rm -f "$prefix-single.ckpt" "$prefix-ranks.ckpt"
timeout 300 "$@" --batch $((ranks * batch)) --checkpoint "$prefix-single.ckpt" --quiet ||
  { echo "the single process failed"; exit 1; }
timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --batch "$batch" --checkpoint "$prefix-ranks.ckpt" --quiet ||
  { echo "the $ranks ranks failed"; exit 1; }
"$python" "$here/compare_checkpoints.py" "$prefix-single.ckpt" "$prefix-ranks.ckpt" --rtol 1e-4 --atol 1e-5
