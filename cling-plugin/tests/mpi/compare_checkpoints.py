"""Compares two torchclad checkpoints (engine/train/checkpoint.hpp): the same
model, epoch and step count, and parameters (and optimizer buffers) equal
within a tolerance. Exit 0 when they match, 1 with the largest difference
otherwise.

usage: compare_checkpoints.py A B [--rtol X] [--atol X]
"""
import argparse
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"TCLADCKP":
        sys.exit(f"{path}: not a torchclad checkpoint")
    at = 8

    def get(fmt):
        nonlocal at
        v = struct.unpack_from(fmt, b, at)
        at += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal at
        n = get("<I")
        s = b[at:at + n].decode()
        at += n
        return s

    def floats():
        nonlocal at
        n = get("<q")
        v = np.frombuffer(b, dtype=np.float32, count=n, offset=at)
        at += 4 * n
        return v

    version = get("<I")
    model, optimizer = string(), string()
    epoch, seed, global_batch = get("<i"), get("<Q"), get("<q")
    params = floats()
    steps = get("<q")
    buffers = [floats() for _ in range(get("<I"))]
    if at != len(b):
        sys.exit(f"{path}: {len(b) - at} bytes after the optimizer state")
    return dict(version=version, model=model, optimizer=optimizer, epoch=epoch, seed=seed,
                global_batch=global_batch, params=params, steps=steps, buffers=buffers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rtol", type=float, default=0.0)
    ap.add_argument("--atol", type=float, default=0.0)
    args = ap.parse_args()
    a, b = read(args.a), read(args.b)
    for key in ("model", "optimizer", "epoch", "seed", "global_batch", "steps"):
        if a[key] != b[key]:
            print(f"{key} differs: {a[key]} vs {b[key]}")
            return 1
    worst = 0.0
    for name, x, y in [("params", a["params"], b["params"])] + [
            (f"optimizer buffer {i}", u, v) for i, (u, v) in enumerate(zip(a["buffers"], b["buffers"]))]:
        if x.shape != y.shape:
            print(f"{name}: {x.shape} vs {y.shape}")
            return 1
        excess = np.abs(x.astype(np.float64) - y) - (args.atol + args.rtol * np.abs(y.astype(np.float64)))
        i = int(np.argmax(excess))
        if excess[i] > 0:
            print(f"{name}[{i}] differs: {x[i]!r} vs {y[i]!r} (rtol {args.rtol}, atol {args.atol})")
            return 1
        if name == "params":
            worst = float(np.max(np.abs(x.astype(np.float64) - y)))
    print(f"checkpoints match: {a['model']}, epoch {a['epoch']}, {a['steps']} steps, "
          f"{a['params'].size} parameters, largest difference {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
