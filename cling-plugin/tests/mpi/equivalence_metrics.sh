#!/usr/bin/env bash
# For engines whose optimizer is torch::optim (no checkpoints): N ranks with
# local batch B and one process with batch N*B report the same per-epoch
# training and test losses (torchclad-train --metrics-json), within float32
# rounding. A wrong gradient average moves them in the first digits.
# usage: equivalence_metrics.sh MPIEXEC PYTHON OUT_PREFIX RANKS LOCAL_BATCH APP [ARGS...]
set -u
mpiexec=$1 python=$2 prefix=$3 ranks=$4 batch=$5
shift 5
rm -f "$prefix-single.json" "$prefix-ranks.json"
timeout 300 "$@" --batch $((ranks * batch)) --metrics-json "$prefix-single.json" --quiet ||
  { echo "the single process failed"; exit 1; }
timeout 300 "$mpiexec" --oversubscribe -np "$ranks" "$@" --batch "$batch" --metrics-json "$prefix-ranks.json" --quiet ||
  { echo "the $ranks ranks failed"; exit 1; }
"$python" - "$prefix-single.json" "$prefix-ranks.json" <<'PY'
import json, math, sys
a, b = (json.load(open(p))["epochs"] for p in sys.argv[1:3])
assert len(a) == len(b) > 0, (len(a), len(b))
for x, y in zip(a, b):
    for k in ("train_loss", "test_loss", "test_accuracy"):
        assert math.isclose(x[k], y[k], rel_tol=1e-4, abs_tol=1e-6), (x["epoch"], k, x[k], y[k])
print(f"metrics match over {len(a)} epochs: test loss {a[-1]['test_loss']} vs {b[-1]['test_loss']}")
PY
