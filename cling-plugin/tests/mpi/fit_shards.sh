#!/usr/bin/env bash
# Model::fit under torchclad::Distributed on a ROOT file the test writes:
# N ranks with batch B end with the parameters and every epoch's metrics
# (train loss, test loss, accuracy, AUC: the test set sharded over the ranks)
# of one process with batch N*B.
#   memory modes (whole, shard, range, shard-sampling): the same file (the one
#   process holds the whole Dataset, with weighted sampling for shard-sampling);
#   stream: the ranks stream their entry ranges of the file, the one process
#   streams the file with the entries in the order the ranks take them.
# usage: fit_shards.sh MPIEXEC PYTHON PROGRAM OUT_PREFIX RANKS LOCAL_BATCH MODE
set -u
mpiexec=$1 python=$2 program=$3 prefix=$4 ranks=$5 batch=$6 mode=$7
entries=203  # not divisible by the global batches of the tests
rm -f "$prefix.root" "$prefix-interleaved.root" "$prefix-single.bin" "$prefix-ranks.bin"
timeout 60 "$program" write "$prefix.root" $entries "$ranks" "$batch" "$prefix-interleaved.root" ||
  { echo "writing the data failed"; exit 1; }
if [ "$mode" = stream ]; then
  single=(stream "$prefix-interleaved.root" "$prefix-single.bin" $((ranks * batch)))
  many=(stream "$prefix.root" "$prefix-ranks.bin" "$batch")
else
  whole=whole
  [ "$mode" = shard-sampling ] && whole=sampling  # the same draws from the whole set
  single=(memory "$prefix.root" "$prefix-single.bin" $((ranks * batch)) $whole)
  many=(memory "$prefix.root" "$prefix-ranks.bin" "$batch" "$mode")
fi
timeout 120 "$program" "${single[@]}" > "$prefix-single.txt" 2> "$prefix-single.err" ||
  { cat "$prefix-single.err"; echo "one process failed"; exit 1; }
timeout 120 "$mpiexec" --oversubscribe -np "$ranks" "$program" "${many[@]}" > "$prefix-ranks.txt" 2> "$prefix-ranks.err" ||
  { cat "$prefix-ranks.err"; echo "$ranks ranks failed"; exit 1; }
if [ "$mode" != stream ] && [ "$mode" != whole ]; then
  # Each rank held its shard only: rows of its range, not all of them.
  "$python" - "$prefix-ranks.err" "$ranks" $entries <<'PY' || exit 1
import re, sys
lines = [l for l in open(sys.argv[1]) if " holds " in l]
ranks, n = int(sys.argv[2]), int(sys.argv[3])
assert len(lines) == ranks, lines
for l in lines:
    r, size, held, a, b = map(int, re.search(r"rank (\d+) of (\d+) holds (\d+) rows for rows \[(\d+), (\d+)\)", l).groups())
    assert held == b - a == (r + 1) * n // ranks - r * n // ranks, l
print(f"each of {ranks} ranks held its shard")
PY
fi
# Rank 0 alone says, once, that every rank holds the whole training set
# (correct, but it costs memory); a shard gets no such note.
if [ "$mode" != stream ]; then
  notes=$(grep -c "holds the whole training set" "$prefix-ranks.err")
  expected=0
  [ "$mode" = whole ] && expected=1
  [ "$notes" = "$expected" ] || { cat "$prefix-ranks.err"; echo "$notes whole-set notes, expected $expected"; exit 1; }
fi
"$python" "$(dirname "$0")/compare_params.py" "$prefix-single.bin" "$prefix-ranks.bin" \
  --metrics "$prefix-single.txt" "$prefix-ranks.txt"
