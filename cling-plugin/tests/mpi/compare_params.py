"""Compares the final parameters (raw float32, tests/mpi/raw_params.hpp) of
two runs, and optionally their per-epoch metrics (the "epoch E: train_loss ...
test_auc ..." lines of fit_shards.cpp's output).

  compare_params.py A.bin B.bin [--metrics A.txt B.txt] [--exact | --differ]

Default: equal within float32 summation tolerance (1e-5 + 1e-4 |a|), prints
"parameters match". --exact: bit for bit ("parameters match exactly").
--differ: some parameter differs by more than the tolerance ("parameters
differ"). Exit 1 with the largest difference otherwise.
"""
import argparse
import re
import sys

import numpy as np


def metrics(path):
    rows = [[float(v) for v in re.findall(r"(?:loss|accuracy|auc) (\S+)", l)]
            for l in open(path) if l.startswith("epoch")]
    return np.array(rows)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--metrics", nargs=2)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--exact", action="store_true")
    how.add_argument("--differ", action="store_true")
    args = p.parse_args()
    a, b = (np.fromfile(f, dtype=np.float32) for f in (args.a, args.b))
    if not (a.size == b.size > 0):
        sys.exit(f"parameter counts differ or are zero: {a.size}, {b.size}")
    if not np.any(a != 0):
        sys.exit("all parameters are zero")
    d = np.abs(a.astype(np.float64) - b)
    close = d <= 1e-5 + 1e-4 * np.abs(a)
    if args.differ:
        if np.all(close):
            sys.exit(f"parameters equal within tolerance (largest difference {d.max():.3g}); expected them to differ")
        print(f"parameters differ: largest difference {d.max():.3g}")
        return
    if args.exact and d.max() != 0:
        sys.exit(f"parameters differ: {np.count_nonzero(d)} of {a.size}, largest {d.max():.3g} at {d.argmax()}")
    if not np.all(close):
        sys.exit(f"parameters differ: largest difference {d.max():.3g} at {d.argmax()}")
    note = ""
    if args.metrics:
        x, y = (metrics(f) for f in args.metrics)
        if not (x.shape == y.shape and len(x) > 0):
            sys.exit(f"epoch metrics differ in shape: {x.tolist()} vs {y.tolist()}")
        md = np.abs(x - y)
        ok = md.max() == 0 if args.exact else np.all(md <= 1e-5 + 1e-4 * np.abs(x))
        if not ok:
            sys.exit(f"metrics differ: {x.tolist()} vs {y.tolist()}")
        if x.shape[1] >= 4 and not np.all(x[:, 3] > 0.5):
            sys.exit(f"no AUC measured: {x.tolist()}")
        note = f"; metrics of {len(x)} epochs match (largest difference {md.max():.3g})"
    print(f"parameters match{' exactly' if args.exact else ''}: {a.size} values, "
          f"largest difference {d.max():.3g}{note}")


if __name__ == "__main__":
    main()
