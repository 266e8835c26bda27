#!/usr/bin/env bash
# A run stopped after epoch 1 and resumed from its checkpoint ends with the
# parameters and optimizer state of the uninterrupted run, exactly.
# usage: resume.sh MPIEXEC RANKS PYTHON OUT_PREFIX APP [ARGS...]  (no --epochs in ARGS)
set -u
mpiexec=$1 ranks=$2 python=$3 prefix=$4
shift 4
here=$(dirname "$0")
run() { timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --quiet; }
rm -f "$prefix-whole.ckpt" "$prefix-resumed.ckpt"
run "$@" --epochs 3 --checkpoint "$prefix-whole.ckpt" >/dev/null 2>&1 || { echo "the uninterrupted run failed"; exit 1; }
run "$@" --epochs 1 --checkpoint "$prefix-resumed.ckpt" >/dev/null 2>&1 || { echo "the first epoch failed"; exit 1; }
out=$(run "$@" --epochs 3 --checkpoint "$prefix-resumed.ckpt" --resume 2>&1) || { echo "the resumed run failed: $out"; exit 1; }
grep -q "resuming from .* after epoch 1" <<<"$out" || { echo "the run did not say it resumed: $out"; exit 1; }
"$python" "$here/compare_checkpoints.py" "$prefix-whole.ckpt" "$prefix-resumed.ckpt"
