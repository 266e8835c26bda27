#!/usr/bin/env bash
# A run stopped after epoch 1 and resumed from its checkpoint trains epochs 2
# and 3 only and ends with the parameters and optimizer state of the
# uninterrupted run, exactly.
# usage: resume.sh MPIEXEC RANKS PYTHON OUT_PREFIX APP [ARGS...]  (no --epochs in ARGS)
set -u
mpiexec=$1 ranks=$2 python=$3 prefix=$4
shift 4
here=$(dirname "$0")
run() { timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --quiet; }
rm -f "$prefix-whole.ckpt" "$prefix-resumed.ckpt"
run "$@" --epochs 3 --checkpoint "$prefix-whole.ckpt" >/dev/null 2>&1 || { echo "the uninterrupted run failed"; exit 1; }
run "$@" --epochs 1 --checkpoint "$prefix-resumed.ckpt" >/dev/null 2>&1 || { echo "the first epoch failed"; exit 1; }
# Not --quiet: rank 0's progress names each epoch the resumed run trains,
# which must be epochs 2 and 3 only (a run that started over from epoch 1
# would end with the same parameters).
out=$(timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --epochs 3 --checkpoint "$prefix-resumed.ckpt" --resume 2>&1) ||
  { echo "the resumed run failed: $out"; exit 1; }
grep -q "resuming from .* after epoch 1" <<<"$out" || { echo "the run did not say it resumed: $out"; exit 1; }
trained=$(grep -o "epoch [0-9]*/3" <<<"$out" | sed 's|epoch \([0-9]*\)/.*|\1|' | sort -un | tr '\n' ' ')
[ "$trained" = "2 3 " ] || { echo "the resumed run trained epochs '$trained', expected '2 3 ': $out"; exit 1; }
"$python" "$here/compare_checkpoints.py" "$prefix-whole.ckpt" "$prefix-resumed.ckpt"
