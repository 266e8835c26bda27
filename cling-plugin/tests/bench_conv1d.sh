#!/usr/bin/env bash
# torchclad-bench's Conv1d records (--kernels 1 with cnn-gw: the direct loops
# against im2col + GEMM on the GW CNN's layers) and report.py's table of them.
# Asserts the records, which path each layer takes, that the two paths agree,
# and the report; not speed.
# usage: bench_conv1d.sh PYTHON BENCH OUT_DIR
set -u
python=$1 bench=$2 out=$3
here=$(dirname "$0")
rm -rf "$out" && mkdir -p "$out"
common=(--workloads cnn-gw --cnn-batches 1,3 --engines clad-model --optimizer sgd --threads 1
        --rounds 1 --steps 2 --warmup 1 --memory 0)
timeout 300 "$bench" "${common[@]}" --out "$out/bench.json" || { echo "torchclad-bench failed"; exit 1; }
"$python" - "$out/bench.json" <<'PY' || exit 1
import json, sys
records = [r for r in json.load(open(sys.argv[1])) if r.get("kind") == "conv1d"]
keys = sorted((r["batch"], r["layer"], r["pass"]) for r in records)
want = sorted((b, l, p) for b in (1, 3) for l in ("conv1", "conv2", "conv3") for p in ("forward", "weight gradient"))
assert keys == want, keys
used = {(r["batch"], r["layer"], r["pass"]) for r in records if r["direct_used"]}
# conv1d_direct.hpp's bounds: forward up to cin*k 32 (conv1: 16); weight gradient up to 128 (conv3: 128)
# over at least 256 positions (conv3 at batch 1 has 118, at batch 3 354).
assert used == {(1, "conv1", "forward"), (3, "conv1", "forward"), (1, "conv1", "weight gradient"),
                (3, "conv1", "weight gradient"), (1, "conv2", "weight gradient"), (3, "conv2", "weight gradient"),
                (3, "conv3", "weight gradient")}, sorted(used)
assert all(r["direct_us"] > 0 and r["im2col_gemm_us"] > 0 and r["threads"] == 1 for r in records), records
# The two paths agree (float32 sums in another order): a wrong kernel fails here.
bad = [(r["batch"], r["layer"], r["pass"], r["max_relative_difference"]) for r in records
       if not 0 <= r["max_relative_difference"] < 1e-4]
assert not bad, bad
PY
"$python" "$here/../bench/report.py" --inputs "$out/bench.json" --out-dir "$out/report" || { echo "report.py failed"; exit 1; }
grep -q "^## Conv1d: direct loops against im2col + GEMM" "$out/report/latest.md" || { echo "no Conv1d section"; exit 1; }
grep -q "^| conv1 (1→8, k16, 2048 samples) | 1 | forward | .* | direct |$" "$out/report/latest.md" ||
  { echo "no conv1 forward row"; exit 1; }
grep -q "^| conv2 (8→16, k8, 508 samples) | 3 | forward | .* | im2col + GEMM |$" "$out/report/latest.md" ||
  { echo "no conv2 forward row at batch 3"; exit 1; }
# --kernels 0, and an MLP-only run: no Conv1d records.
timeout 300 "$bench" "${common[@]}" --kernels 0 --out "$out/none.json" || { echo "--kernels 0 failed"; exit 1; }
timeout 300 "$bench" --workloads mlp-8-4 --batches 1 --engines clad-model --optimizer sgd --threads 1 --rounds 1 \
  --steps 2 --warmup 1 --memory 0 --out "$out/mlp.json" || { echo "MLP run failed"; exit 1; }
"$python" -c "
import json, sys
for f in sys.argv[1:]:
    assert not [r for r in json.load(open(f)) if r.get('kind') == 'conv1d'], f
" "$out/none.json" "$out/mlp.json" || exit 1
echo "Conv1d records and report: ok"
