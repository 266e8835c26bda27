#!/usr/bin/env bash
# Kills rank 1 (SIGKILL) while two ranks train: mpirun must end the job with
# a non-zero exit code and name the dead rank within a bounded time (no
# rank left waiting in an allreduce), and rank 0, ended by mpirun, says so.
# usage: rank_dies.sh MPIEXEC LOG APP [ARGS...]
set -u
mpiexec=$1 log=$2
shift 2
"$mpiexec" --oversubscribe -np 2 "$@" >"$log" 2>&1 &
job=$!
rank1=""
for _ in $(seq 600); do  # up to 60 s for rank 1 to start training
  for c in $(pgrep -P "$job"); do
    tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && rank1=$c
  done
  [ -n "$rank1" ] && grep -q "global batch" "$log" && break
  sleep 0.1
done
[ -n "$rank1" ] || { echo "rank 1 never started"; kill -9 "$job"; cat "$log"; exit 1; }
sleep 2  # into the training steps
kill -9 "$rank1"
for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$job" 2>/dev/null; then
  echo "mpirun still runs 60 s after rank 1 died: a hang"
  pkill -9 -P "$job"; kill -9 "$job"; cat "$log"; exit 1
fi
wait "$job"
code=$?
[ "$code" -ne 0 ] || { echo "exit code 0 after a rank died"; cat "$log"; exit 1; }
grep -q "rank 1 .* exited on signal 9" "$log" || { echo "mpirun did not name the dead rank:"; cat "$log"; exit 1; }
grep -q "(rank 0 of 2): ended by the launcher (SIGTERM)" "$log" ||
  { echo "rank 0 did not say why it stopped:"; cat "$log"; exit 1; }
echo "ok: exit $code after rank 1 was killed; rank 0 said why it stopped"
