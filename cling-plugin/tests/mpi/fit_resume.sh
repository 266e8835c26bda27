#!/usr/bin/env bash
# fit's checkpoints under mpirun (examples/fit_distributed.cpp, with
# TrainOptions::checkpoint and resume): N ranks fit 3 epochs; again, 1 epoch
# then a new job resumed to 3: the resumed job's checkpoint is the
# uninterrupted job's, byte for byte, and so are the saved models'
# parameters. Each rank runs in a directory of its own (as without a shared
# file system): rank 0 alone writes the checkpoints and the models, and the
# resumed job's other ranks get the checkpoint from rank 0.
# usage: fit_resume.sh MPIEXEC TROOT PROGRAM OUT_DIR RANKS LOCAL_BATCH
set -u
mpiexec=$1 troot=$2 program=$3 dir=$4 ranks=$5 batch=$6
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir" || exit 1
for ((r = 0; r < ranks; ++r)); do mkdir -p "$dir/rank$r"; done
# run LOG EPOCHS MODEL CHECKPOINT [resume]
run() {
  local log=$1
  shift
  timeout 120 "$mpiexec" --oversubscribe -np "$ranks" \
    sh -c 'cd "$0/rank$OMPI_COMM_WORLD_RANK" && exec "$@"' "$dir" "$program" "$batch" "$@" \
    > "$dir/$log" 2>&1 || { cat "$dir/$log"; echo "the job of $log failed"; exit 1; }
}
run whole.log 3 whole.root whole.ckpt
run first.log 1 first.root part.ckpt
cp "$dir/rank0/part.ckpt" "$dir/after-epoch-1.ckpt"
run resumed.log 3 resumed.root part.ckpt resume
cat "$dir/resumed.log"
grep -q "resuming from part.ckpt after epoch 1" "$dir/resumed.log" || { echo "the job did not say it resumed"; exit 1; }
progress=$(grep -Ec '^epoch [0-9]+/3' "$dir/resumed.log")
[ "$progress" -eq 2 ] || { echo "expected the resumed job to train epochs 2 and 3 (rank 0's lines), found $progress"; exit 1; }
for ((r = 1; r < ranks; ++r)); do
  [ -z "$(ls -A "$dir/rank$r")" ] || { echo "rank $r wrote files: $(ls -A "$dir/rank$r")"; exit 1; }
done
cmp -s "$dir/after-epoch-1.ckpt" "$dir/rank0/whole.ckpt" && { echo "the checkpoint did not change after epoch 1"; exit 1; }
cmp "$dir/rank0/part.ckpt" "$dir/rank0/whole.ckpt" || { echo "the resumed checkpoint differs from the uninterrupted one"; exit 1; }
echo "resumed checkpoint = uninterrupted checkpoint, byte for byte"
"$troot" -b -q "$here/compare_models.C(\"$dir/rank0/whole.root\", \"$dir/rank0/resumed.root\")"
