#!/usr/bin/env bash
# A program of a user's own (examples/fit_distributed.cpp) under mpirun: N
# ranks with batch B end with the parameters of one process with batch N*B,
# rank 0 alone prints the progress and writes the model. Each rank runs in
# a directory of its own (as without a shared file system), so a file
# written by any other rank would show.
# usage: program_ranks.sh MPIEXEC TROOT PROGRAM OUT_DIR RANKS LOCAL_BATCH
set -u
mpiexec=$1 troot=$2 program=$3 dir=$4 ranks=$5 batch=$6
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir/single" || exit 1
for ((r = 0; r < ranks; ++r)); do mkdir -p "$dir/rank$r"; done
(cd "$dir/single" && timeout 120 "$program" $((ranks * batch)) 2 model.root) > "$dir/single.log" 2>&1 ||
  { cat "$dir/single.log"; echo "one process failed"; exit 1; }
timeout 120 "$mpiexec" --oversubscribe -np "$ranks" \
  sh -c 'cd "$0/rank$OMPI_COMM_WORLD_RANK" && exec "$1" "$2" 2 model.root' "$dir" "$program" "$batch" \
  > "$dir/ranks.log" 2>&1 || { cat "$dir/ranks.log"; echo "$ranks ranks failed"; exit 1; }
cat "$dir/ranks.log"
grep -q "separator: $ranks rank(s) x batch $batch, finished" "$dir/ranks.log" || { echo "no summary of rank 0"; exit 1; }
progress=$(grep -Ec '^epoch [0-9]+/2' "$dir/ranks.log")
[ "$progress" -eq 2 ] || { echo "expected one progress line per epoch (rank 0's), found $progress"; exit 1; }
[ -s "$dir/rank0/model.root" ] || { echo "rank 0 wrote no model"; exit 1; }
for ((r = 1; r < ranks; ++r)); do
  [ -z "$(ls -A "$dir/rank$r")" ] || { echo "rank $r wrote files: $(ls -A "$dir/rank$r")"; exit 1; }
done
echo "rank 0 alone printed progress and wrote the model"
"$troot" -b -q "$here/compare_models.C(\"$dir/single/model.root\", \"$dir/rank0/model.root\")"
