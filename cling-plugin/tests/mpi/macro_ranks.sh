#!/usr/bin/env bash
# A ROOT macro (macros/fit_distributed.C) under mpirun: N ranks with batch B
# end with the parameters of the same macro in one process (no mpirun) with
# batch N*B; rank 0 alone prints the progress and the summary.
# usage: macro_ranks.sh MPIEXEC TROOT MACRO DATA_FILE OUT_PREFIX RANKS LOCAL_BATCH
set -u
mpiexec=$1 troot=$2 macro=$3 data=$4 prefix=$5 ranks=$6 batch=$7
here=$(cd "$(dirname "$0")" && pwd)
rm -f "$prefix-single.root" "$prefix-ranks.root"
timeout 150 "$troot" -b -q "$macro(\"$data\", $((ranks * batch)), 2, 600, \"$prefix-single.root\")" \
  > "$prefix-single.log" 2>&1 || { cat "$prefix-single.log"; echo "one process failed"; exit 1; }
grep -q "fit_distributed: 1 rank(s) x batch $((ranks * batch))" "$prefix-single.log" ||
  { cat "$prefix-single.log"; echo "without mpirun the macro should run as one rank"; exit 1; }
timeout 150 "$mpiexec" --oversubscribe -np "$ranks" \
  "$troot" -b -q "$macro(\"$data\", $batch, 2, 600, \"$prefix-ranks.root\")" > "$prefix-ranks.log" 2>&1 ||
  { cat "$prefix-ranks.log"; echo "$ranks ranks failed"; exit 1; }
cat "$prefix-ranks.log"
summaries=$(grep -c "fit_distributed: $ranks rank(s) x batch $batch (global batch $((ranks * batch))), finished" "$prefix-ranks.log")
progress=$(grep -Ec '^epoch [0-9]+/2' "$prefix-ranks.log")
[ "$summaries" -eq 1 ] && [ "$progress" -eq 2 ] ||
  { echo "expected rank 0's summary once and one progress line per epoch, found $summaries and $progress"; exit 1; }
echo "rank 0 alone printed progress"
"$troot" -b -q "$here/compare_models.C(\"$prefix-single.root\", \"$prefix-ranks.root\")"
