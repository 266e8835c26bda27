#!/usr/bin/env bash
# Model::fit on a shuffled StreamDataset under mpirun (the rule:
# torchclad/distributed.h). Each rank shuffles its own entries, so the global
# batches are not those of one process; what holds, and is tested:
#  1. every entry counts exactly once per epoch: with one step per epoch (the
#     ranks' batches hold all their entries) 3 ranks of unequal entry counts
#     (67, 68, 68 of 203) end with the parameters and metrics of one process
#     with one batch of all 203;
#  2. the run is determined by the seed: 4 ranks (50, 51, 51, 51 entries,
#     batch 10: rank 0 runs out a step before the others and adds zero
#     gradients) give the same parameters and metrics bit for bit in two
#     runs with seeds 5 and 6 (one fit per seed in each run), and seed 6 other
#     parameters than seed 5 (the shuffle does act);
#  3. on the train part of a split (StreamDataset::split(0.3, 3)), each rank
#     streams its share of that part: 3 ranks with one step per epoch end as
#     one process with one batch of the whole train part, and differ from
#     the run on every entry (the held-out entries are not trained on).
# usage: stream_shuffled.sh MPIEXEC PYTHON PROGRAM OUT_PREFIX
set -u
mpiexec=$1 python=$2 program=$3 prefix=$4
compare="$python $(dirname "$0")/compare_params.py"
entries=203
rm -f "$prefix".* "$prefix"-*.bin* "$prefix"-*.txt
timeout 60 "$program" write "$prefix.root" $entries 1 1 "$prefix-unused.root" || { echo "writing the data failed"; exit 1; }
run() {  # run NAME RANKS BATCH SEED
  local name=$1 ranks=$2 batch=$3 seed=$4 cmd=("$program" stream "$prefix.root" "$prefix-$1.bin" "$3" "$4")
  [ "$ranks" -gt 1 ] && cmd=("$mpiexec" --oversubscribe -np "$ranks" "${cmd[@]}")
  timeout 120 "${cmd[@]}" > "$prefix-$name.txt" 2> "$prefix-$name.err" ||
    { cat "$prefix-$name.err"; echo "$name ($ranks ranks, batch $batch, seed $seed) failed"; exit 1; }
}
run single 1 204 5
run whole-batch 3 68 5
$compare "$prefix-single.bin" "$prefix-whole-batch.bin" --metrics "$prefix-single.txt" "$prefix-whole-batch.txt" ||
  { echo "3 ranks with one step per epoch differ from one process"; exit 1; }
run seeds-a 4 10 5,6
run seeds-b 4 10 5,6
$compare "$prefix-seeds-a.bin" "$prefix-seeds-b.bin" --exact --metrics "$prefix-seeds-a.txt" "$prefix-seeds-b.txt" ||
  { echo "two runs with seeds 5 and 6 differ"; exit 1; }
$compare "$prefix-seeds-a.bin.6" "$prefix-seeds-b.bin.6" --exact || { echo "two runs of seed 6 differ"; exit 1; }
$compare "$prefix-seeds-a.bin" "$prefix-seeds-a.bin.6" --differ || { echo "seed 6 trained as seed 5"; exit 1; }
export FIT_SHARDS_SPLIT=0.3
run split-single 1 204 5
run split-ranks 3 68 5
unset FIT_SHARDS_SPLIT
$compare "$prefix-split-single.bin" "$prefix-split-ranks.bin" --metrics "$prefix-split-single.txt" "$prefix-split-ranks.txt" ||
  { echo "3 ranks on a split's train part differ from one process on it"; exit 1; }
$compare "$prefix-single.bin" "$prefix-split-single.bin" --differ || { echo "the split's train part trained as the whole stream"; exit 1; }
echo "shuffled streams under ranks: every entry once per epoch, the same run for the same seed, a split's train part shared out"
