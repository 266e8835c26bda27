#!/usr/bin/env bash
# train_model (Model::fit's engine) with per-event weights: N ranks with local
# batch B end with the parameters of one process with batch N*B.
# usage: fit_ranks.sh MPIEXEC PYTHON PROGRAM OUT_PREFIX RANKS LOCAL_BATCH weights|sampling
set -u
mpiexec=$1 python=$2 program=$3 prefix=$4 ranks=$5 batch=$6 mode=$7
rm -f "$prefix-single.bin" "$prefix-ranks.bin"
timeout 120 "$program" "$prefix-single.bin" $((ranks * batch)) "$mode" || { echo "one process failed"; exit 1; }
timeout 120 "$mpiexec" --oversubscribe -np "$ranks" "$program" "$prefix-ranks.bin" "$batch" "$mode" ||
  { echo "$ranks ranks failed"; exit 1; }
"$python" - "$prefix-single.bin" "$prefix-ranks.bin" <<'PY'
import sys
import numpy as np
a, b = (np.fromfile(p, dtype=np.float32) for p in sys.argv[1:3])
assert a.size == b.size > 0, (a.size, b.size)
assert np.any(a != 0), "all parameters are zero"
d = np.abs(a.astype(np.float64) - b)
assert np.all(d <= 1e-5 + 1e-4 * np.abs(a)), f"largest difference {d.max()} at {d.argmax()}"
print(f"parameters match: {a.size} values, largest difference {d.max():.3g}")
PY
