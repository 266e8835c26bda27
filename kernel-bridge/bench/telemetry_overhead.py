"""What live training displays cost: the same training run in the torchclad
kernel with the host's telemetry sink (events -> bridge -> display updates at
most 20 per second) and without any sink, alternated, several rounds.

    .venv/bin/python kernel-bridge/bench/telemetry_overhead.py [--rounds 5]
Writes results/telemetry.json and results/telemetry.md.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

from kernel_cells import running_kernel

RESULTS = Path(__file__).resolve().parent / "results"
# Cells as a notebook would have them: cling wraps a cell that starts with a
# statement, so the function definition gets a cell of its own.
SETUP = [r"""
#include "torchclad/torchclad.h"
auto bench_train = torchclad::Dataset::from_idx("/usr/share/datasets/fashion-mnist", "train");
auto bench_test = torchclad::Dataset::from_idx("/usr/share/datasets/fashion-mnist", "test");
auto host_sink = torchclad::telemetry::current_sink();
""", r"""
double bench_run(bool with_sink) {
  torchclad::telemetry::set_sink(with_sink ? host_sink : torchclad::telemetry::Sink{});
  torchclad::TrainOptions o;
  o.epochs = 1;
  o.progress = false;
  torchclad::Mlp m({784, 256, 128, 10});
  auto r = m.fit(bench_train, bench_test, o);
  torchclad::telemetry::set_sink(host_sink);
  return r.epochs[0].seconds;
}
"""]


def run_cell(kc, code: str) -> str:
    out = []
    def hook(msg):
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
    reply = kc.execute_interactive(code, timeout=300, output_hook=hook)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    seconds = {"with_sink": [], "without_sink": []}
    with running_kernel("torchclad") as (kc, _):
        for cell in SETUP:
            run_cell(kc, cell)
        run_cell(kc, 'printf("%g\\n", bench_run(false));')  # warm-up
        for _ in range(args.rounds):
            for key, flag in (("with_sink", "true"), ("without_sink", "false")):
                seconds[key].append(float(run_cell(kc, f'printf("%.6f\\n", bench_run({flag}));')))
    med = {k: statistics.median(v) for k, v in seconds.items()}
    slowdown = 100 * (med["with_sink"] / med["without_sink"] - 1)
    record = {"generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rounds": args.rounds,
              "epoch_seconds": seconds, "median_seconds": med, "slowdown_percent": round(slowdown, 2),
              "workload": "mlp-784-256-128-10, Fashion-MNIST, 1 epoch, batch 64, clad engine"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "telemetry.json").write_text(json.dumps(record, indent=2) + "\n")
    text = (f"Training epoch (Fashion-MNIST, MLP 784-256-128-10, clad engine) in the torchclad kernel, "
            f"median of {args.rounds} alternated rounds: with live telemetry {med['with_sink']:.3f} s, "
            f"without {med['without_sink']:.3f} s: {slowdown:+.1f}%.\n")
    (RESULTS / "telemetry.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
