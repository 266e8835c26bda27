#!/usr/bin/env bash
# The live telemetry (the events the kernel host draws its curve from) and
# the progress lines of a fit under torchclad::Distributed come from rank 0
# alone: N ranks with batch B give exactly the events of one process with
# batch N*B (start, one epoch event per epoch, end "finished"; the step
# events, which are rate-limited in time, each once and in order, the last
# step of every epoch among them, the global step counts), every one
# received on rank 0, and one progress line per epoch.
# usage: telemetry_ranks.sh MPIEXEC PYTHON PROGRAM DATA OUT_PREFIX RANKS LOCAL_BATCH EPOCHS
set -u
mpiexec=$1 python=$2 program=$3 data=$4 prefix=$5 ranks=$6 batch=$7 epochs=$8
rm -f "$prefix"-{single,ranks}.{bin,txt,err}
timeout 120 "$program" "$data" "$prefix-single.bin" $((ranks * batch)) clad "$epochs" telemetry \
  >"$prefix-single.txt" 2>"$prefix-single.err" || { cat "$prefix-single.err"; echo "one process failed"; exit 1; }
timeout 120 "$mpiexec" --oversubscribe -np "$ranks" "$program" "$data" "$prefix-ranks.bin" "$batch" clad "$epochs" \
  telemetry >"$prefix-ranks.txt" 2>"$prefix-ranks.err" ||
  { cat "$prefix-ranks.txt" "$prefix-ranks.err"; echo "$ranks ranks failed"; exit 1; }
for run in single ranks; do
  progress=$(grep -Ec "^epoch [0-9]+/$epochs" "$prefix-$run.err")
  [ "$progress" -eq "$epochs" ] ||
    { cat "$prefix-$run.err"; echo "$run: expected $epochs progress lines (one per epoch), found $progress"; exit 1; }
done
"$python" - "$prefix-single.txt" "$prefix-ranks.txt" "$ranks" "$epochs" <<'PY'
import re, sys
single_path, ranks_path, ranks, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pattern = re.compile(r"^telemetry \(rank (\d+) of (\d+)\): (\w+) epoch (\d+) step (\d+) of (\d+) status (\S+)$")

def events(path, size):
    lines = [l.rstrip("\n") for l in open(path) if l.startswith("telemetry")]
    out = []
    for l in lines:
        m = pattern.match(l)
        if not m:
            sys.exit(f"{path}: not a telemetry line: {l!r}")
        rank, of, kind, epoch, step, total, status = m.groups()
        if int(of) != size:
            sys.exit(f"{path}: {l!r} names {of} ranks, expected {size}")
        if int(rank) != 0:
            sys.exit(f"{path}: rank {rank} received a telemetry event: {l!r}")
        out.append((kind, int(epoch), int(step), int(total), status))
    return out

def shape(evs, path):
    # The events that do not depend on time, and checks of the step events.
    steps = [e for e in evs if e[0] == "step"]
    numbers = [e[2] for e in steps]
    if numbers != sorted(set(numbers)):
        sys.exit(f"{path}: step events repeat or go back: {numbers}")
    totals = {e[3] for e in evs if e[0] in ("start", "step")}
    if len(totals) != 1:
        sys.exit(f"{path}: more than one total step count: {totals}")
    total = totals.pop()
    ends = [e[2] for e in evs if e[0] == "epoch"]
    missing = [s for s in ends if s not in numbers]
    if missing:
        sys.exit(f"{path}: no step event for the last step of epochs ending at steps {missing}")
    if numbers and numbers[-1] != total:
        sys.exit(f"{path}: the last step event is step {numbers[-1]} of {total}")
    return [e[:3] + (e[4],) for e in evs if e[0] != "step"], total, len(steps)

single, total1, steps1 = shape(events(single_path, 1), single_path)
many, total, steps = shape(events(ranks_path, ranks), ranks_path)
expected = [("start", 0, 0, "-")] + [("epoch", e, e * total1 // epochs, "-") for e in range(1, epochs + 1)]
expected.append(("end", epochs, total1, "finished"))
if single != expected:
    sys.exit(f"one process: events {single}, expected {expected}")
if many != single or total != total1:
    sys.exit(f"{ranks} ranks: events {many} of {total} steps; one process: {single} of {total1} steps")
print(f"telemetry from rank 0 alone: {len(many)} run events and {steps} step events of {total} steps "
      f"on {ranks} ranks, as one process ({steps1} step events); one progress line per epoch")
PY
