#!/usr/bin/env bash
# Two ranks started with different values of one option (mpirun's MPMD form,
# "-np 1 APP ... OPTION VALUE0 : -np 1 APP ... OPTION VALUE1") stop with an
# error instead of hanging at mismatched collectives or training two
# different runs: non-zero exit within 60 s, every rank says the ranks were
# started with different options, and rank 1's error shows both command
# lines, rank 0's with OPTION VALUE0 and its own with OPTION VALUE1, after
# naming that first difference ('OPTION VALUE0' against 'OPTION VALUE1').
# usage: mismatched_options.sh MPIEXEC OPTION VALUE0 VALUE1 APP [ARGS...]
set -u
mpiexec=$1 option=$2 v0=$3 v1=$4
shift 4
start=$(date +%s)
out=$(timeout 60 "$mpiexec" --oversubscribe -np 1 "$@" "$option" "$v0" : -np 1 "$@" "$option" "$v1" 2>&1)
code=$?
elapsed=$(($(date +%s) - start))
[ "$code" -eq 124 ] && { echo "$out"; echo "timed out after 60 s (a hang)"; exit 1; }
[ "$code" -ne 0 ] || { echo "$out"; echo "exit code 0: the ranks ran with different options"; exit 1; }
for r in 0 1; do
  grep -Eq "\(rank $r of 2\): .*the ranks were started with different options" <<<"$out" ||
    { echo "$out"; echo "rank $r did not report the different options"; exit 1; }
done
named="here rank 0 has '$option $v0' against '$option $v1'"
grep -Fq -- "$named" <<<"$out" || { echo "$out"; echo "rank 1's error does not name the option first: $named"; exit 1; }
both="\(rank 1 of 2\): .*Rank 0: '[^']*$option $v0( [^']*)?'; rank 1 of 2: '[^']*$option $v1( [^']*)?'"
grep -Eq -- "$both" <<<"$out" || { echo "$out"; echo "rank 1's error does not show $option $v0 (rank 0) and $option $v1 (rank 1)"; exit 1; }
echo "mismatched $option: exit $code after ${elapsed} s, every rank reported; rank 1 named $option $v0 on rank 0 and $option $v1 on itself"
