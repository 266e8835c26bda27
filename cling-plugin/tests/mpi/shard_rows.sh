#!/usr/bin/env bash
# Each rank reads only its shard of the training entries: under mpirun -np
# RANKS, rank r says it read entries [floor(r n / RANKS), floor((r + 1) n /
# RANKS)) of the n used (the count of rows the loader returned), and the run
# ends well.
# usage: shard_rows.sh MPIEXEC RANKS N COMMAND_NAME APP [ARGS...]
set -u
mpiexec=$1 ranks=$2 n=$3 name=$4
shift 4
log=$(timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" 2>&1) || { echo "$log"; echo "the $ranks ranks failed"; exit 1; }
for ((r = 0; r < ranks; ++r)); do
  line="$name (rank $r of $ranks): read training entries [$((r * n / ranks)), $(((r + 1) * n / ranks))) of $n"
  grep -qF "$line" <<<"$log" || { echo "$log"; echo "missing: $line"; exit 1; }
done
echo "each of $ranks ranks read its shard of $n entries"
