#!/usr/bin/env bash
# A trainer's --stream run against its in-memory run when each epoch is one
# batch of every training entry (--batch >= the entries used): the stream's
# chunk order and shuffle buffer change only the order in which the batch's
# gradient is summed, so the checkpoints after the runs hold the same
# parameters and optimizer state (float32 tolerance) - and would not if the
# stream skipped or repeated an entry in an epoch.
# usage: stream_equals_memory.sh PYTHON OUT_PREFIX APP [ARGS...] -- [STREAM_ARGS...]
set -u
python=$1 prefix=$2
shift 2
here=$(dirname "$0")
args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  args+=("$1")
  shift
done
[ $# -gt 0 ] && shift
rm -f "$prefix-memory.ckpt" "$prefix-stream.ckpt"
timeout 300 "${args[@]}" --checkpoint "$prefix-memory.ckpt" --quiet || { echo "the in-memory run failed"; exit 1; }
timeout 300 "${args[@]}" --stream "$@" --checkpoint "$prefix-stream.ckpt" --quiet ||
  { echo "the --stream run failed"; exit 1; }
"$python" "$here/mpi/compare_checkpoints.py" "$prefix-memory.ckpt" "$prefix-stream.ckpt" --rtol 1e-4 --atol 1e-5
