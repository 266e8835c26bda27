#!/usr/bin/env bash
# Runs an mpirun command (bounded by 120 s) and checks that it exits non-zero
# and that each of RANKS ranks printed a message matching REGEX naming itself
# ("(rank r of RANKS): ...").
# usage: every_rank_says.sh RANKS REGEX COMMAND [ARGS...]
set -u
ranks=$1 regex=$2
shift 2
out=$(timeout 120 "$@" 2>&1)
code=$?
[ "$code" -eq 124 ] && { echo "timed out (a hang):"; echo "$out"; exit 1; }
[ "$code" -ne 0 ] || { echo "exit code 0:"; echo "$out"; exit 1; }
for r in $(seq 0 $((ranks - 1))); do
  grep -Eq "\(rank $r of $ranks\): .*$regex" <<<"$out" || { echo "rank $r did not report /$regex/:"; echo "$out"; exit 1; }
done
echo "ok: exit $code, every rank reported /$regex/"
