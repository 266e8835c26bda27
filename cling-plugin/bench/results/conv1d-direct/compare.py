import json, statistics as st, sys
def load(path):
    out = {}
    for r in json.load(open(path)):
        if r.get("kind", "step") == "step" and "error" not in r:
            out[(r["optimizer"], r["batch"], r["engine"])] = r["median_us"]
    return out
old = [load(f"cling-plugin/bench/results/conv1d-direct/old-{i}.json") for i in (1, 2, 3)]
new = [load(f"cling-plugin/bench/results/conv1d-direct/new-{i}.json") for i in (1, 2, 3)]
def mr(v, fmt):
    return f"{fmt.format(st.median(v))} ({fmt.format(min(v))}–{fmt.format(max(v))})"
rows = []
for opt in ("sgd", "adam"):
    for b in (1, 8, 32, 128):
        c_old = [o[(opt, b, "clad-model")] for o in old]; c_new = [n[(opt, b, "clad-model")] for n in new]
        a_old = [o[(opt, b, "libtorch-autograd")] for o in old]; a_new = [n[(opt, b, "libtorch-autograd")] for n in new]
        sp_old = [a / c for a, c in zip(a_old, c_old)]; sp_new = [a / c for a, c in zip(a_new, c_new)]
        gain = [o / n for o, n in zip(c_old, c_new)]  # pair i: old run i against new run i
        auto = [o / n for o, n in zip(a_old, a_new)]
        rows.append(f"| {opt} | {b} | {mr(c_old, '{:,.0f}')} | {mr(c_new, '{:,.0f}')} | {mr(gain, '{:.2f}×')} | {mr(auto, '{:.2f}')} | {mr(sp_old, '{:.2f}×')} | {mr(sp_new, '{:.2f}×')} |")
print("| optimizer | batch | clad-model before, µs | after, µs | before ÷ after | autograd before ÷ after | speed-up vs autograd before | after |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print("\n".join(rows))
