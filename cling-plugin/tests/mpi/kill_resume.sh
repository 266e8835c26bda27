#!/usr/bin/env bash
# A job killed (SIGKILL to mpirun, then to its ranks, as a batch system ends
# a job) while it trains, after its first checkpoint and before its last
# epoch, then resumed from that checkpoint, ends with the parameters and
# optimizer state of the uninterrupted run, bit for bit. The checkpoint the
# kill leaves is whole (written to a .partial file and renamed into place):
# it parses to its last byte and holds a finished epoch.
# usage: kill_resume.sh MPIEXEC RANKS PYTHON OUT_PREFIX EPOCHS APP [ARGS...]  (no --epochs in ARGS)
# EPOCHS: enough that the epochs after the first outlast the kill (tens of ms).
set -u
mpiexec=$1 ranks=$2 python=$3 prefix=$4 epochs=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
run() { timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --quiet; }
whole=$prefix-whole.ckpt killed=$prefix-killed.ckpt
rm -f "$whole" "$killed" "$(dirname "$killed")/.$(basename "$killed").partial"
run "$@" --epochs "$epochs" --checkpoint "$whole" >/dev/null 2>&1 || { echo "the uninterrupted run failed"; exit 1; }

"$mpiexec" --oversubscribe -np "$ranks" "$@" --epochs "$epochs" --checkpoint "$killed" --quiet >"$prefix-killed.log" 2>&1 &
job=$!
for _ in $(seq 15000); do  # up to 150 s for the first epoch's checkpoint
  [ -e "$killed" ] && break
  kill -0 "$job" 2>/dev/null || break
  sleep 0.01
done
ranks_pids=$(pgrep -P "$job")
if ! kill -9 "$job" 2>/dev/null; then
  wait "$job"
  echo "the job ended (exit $?) before it could be killed after its first checkpoint:"
  cat "$prefix-killed.log"; exit 1
fi
for p in $ranks_pids; do kill -9 "$p" 2>/dev/null; done
wait "$job" 2>/dev/null
for _ in $(seq 100); do  # the ranks gone, so none writes after the kill
  alive=""
  for p in $ranks_pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && break
  sleep 0.05
done
[ -z "$alive" ] || { echo "ranks still run after SIGKILL"; exit 1; }
[ -e "$killed" ] || { echo "no checkpoint before the kill:"; cat "$prefix-killed.log"; exit 1; }

# Whole: the reader of compare_checkpoints.py parses it to its last byte.
epoch=$("$python" -c "import sys; sys.path.insert(0, sys.argv[1]); import compare_checkpoints as c; print(c.read(sys.argv[2])['epoch'])" \
  "$here" "$killed") || { echo "the checkpoint left by the kill is torn"; exit 1; }
[ "$epoch" -ge 1 ] && [ "$epoch" -lt "$epochs" ] ||
  { echo "the kill came after epoch $epoch of $epochs: not mid-run"; exit 1; }
partial=$(dirname "$killed")/.$(basename "$killed").partial
[ -e "$partial" ] && echo "(the kill left $partial, the next write replaces it)"
echo "killed after epoch $epoch of $epochs; the checkpoint is whole"

# Not --quiet: rank 0's progress names each epoch the resumed job trains,
# which must be epochs epoch+1..EPOCHS only (a job that started over from
# epoch 1 would end with the same parameters).
out=$(timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --epochs "$epochs" --checkpoint "$killed" --resume 2>&1) ||
  { echo "the resumed run failed: $out"; exit 1; }
grep -q "resuming from .* after epoch $epoch" <<<"$out" || { echo "the run did not say it resumed after epoch $epoch: $out"; exit 1; }
trained=$(grep -o "epoch [0-9]*/$epochs" <<<"$out" | sed 's|epoch \([0-9]*\)/.*|\1|' | sort -un | tr '\n' ' ')
expected=$(seq -s' ' $((epoch + 1)) "$epochs")' '
[ "$trained" = "$expected" ] || { echo "the resumed job trained epochs '$trained', expected '$expected'"; exit 1; }
"$python" "$here/compare_checkpoints.py" "$whole" "$killed"
