#!/usr/bin/env bash
# A command under mpirun writes its files (metrics, checkpoint, model) on
# rank 0 alone. Each rank runs in a directory of its own (as without a
# shared file system) with relative output paths, so a file written by any
# other rank would show in its directory.
# usage: only_root_writes.sh MPIEXEC RANKS DIR "FILES RANK 0 WRITES" APP [ARGS...]
set -u
mpiexec=$1 ranks=$2 dir=$3 files=$4
shift 4
rm -rf "$dir" && mkdir -p "$dir" || exit 1
for ((r = 0; r < ranks; ++r)); do mkdir -p "$dir/rank$r"; done
timeout 300 "$mpiexec" --oversubscribe -np "$ranks" \
  sh -c 'cd "$0/rank$OMPI_COMM_WORLD_RANK" && exec "$@"' "$dir" "$@" >"$dir/ranks.log" 2>&1 ||
  { cat "$dir/ranks.log"; echo "$ranks ranks failed"; exit 1; }
for f in $files; do
  [ -s "$dir/rank0/$f" ] || { echo "rank 0 did not write $f: $(ls -A "$dir/rank0")"; exit 1; }
done
for ((r = 1; r < ranks; ++r)); do
  [ -z "$(ls -A "$dir/rank$r")" ] || { echo "rank $r wrote files: $(ls -A "$dir/rank$r")"; exit 1; }
done
echo "rank 0 alone wrote $files"
