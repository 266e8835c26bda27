#!/usr/bin/env python3
"""Times the compilation of a %%clad cell that defines a 3-layer MLP, the way
the kernel host compiles model cells (torchclad::model_compile_command:
clang++-19 + Clad, -O3), several times; writes the seconds as JSON."""
import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The cell, with the line the host puts first (torchclad/nn.h, which includes Clad).
CELL = r"""#include "torchclad/nn.h"
namespace nn = torchclad::nn;
struct Mlp3 : nn::Model {
  static constexpr int kWidth[4] = {784, 128, 64, 10};
  nn::Linear fc[3];
  nn::Act z[3], h[3];
  Mlp3() {
    inputs(784); classes(10);
    for (int l = 0; l < 3; ++l) {
      fc[l] = nn::Linear("fc" + std::to_string(l + 1), kWidth[l], kWidth[l + 1]);
      z[l] = nn::Act(kWidth[l + 1]); h[l] = nn::Act(kWidth[l + 1]);
    }
    output(z[2]);
  }
  template <class T>
  static T loss(const Mlp3& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc[0], p, x, a, m.z[0], n);
    for (int l = 1; l < 3; ++l) {
      nn::relu(a, m.z[l - 1], m.h[l - 1], n);
      nn::linear(m.fc[l], p, a, m.h[l - 1], m.z[l], n);
    }
    return nn::cross_entropy(a, m.z[2], y, n);
  }
};
TORCHCLAD_MODEL(mlp3, Mlp3)
"""


def compile_command(source, library):
    """The command torchclad::model_compile_command gives, asked from ROOT."""
    macro = Path(source).parent / "print_command.C"
    macro.write_text(f'R__LOAD_LIBRARY(libtorchclad_root.so)\n#include "torchclad/model.h"\n'
                     f'void print_command() {{ printf("%s\\n", torchclad::model_compile_command('
                     f'"{source}", "{library}").c_str()); }}\n')
    out = subprocess.run([str(ROOT / "scripts/troot"), "-b", "-q", str(macro)],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "clang++" in line][-1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        source, library = f"{d}/mlp3.C", f"{d}/mlp3.so"
        Path(source).write_text(CELL)
        command = compile_command(source, library)
        seconds = []
        for _ in range(a.runs):
            t0 = time.monotonic()
            subprocess.run(command, shell=True, check=True)
            seconds.append(time.monotonic() - t0)
    Path(a.out).write_text(json.dumps({
        "what": "a %%clad cell defining a 3-layer MLP 784-128-64-10 (compile and link)",
        "command": command.replace(d, "<tmp>"), "seconds": seconds}, indent=1))
    print("compile seconds:", ", ".join(f"{s:.1f}" for s in seconds))


if __name__ == "__main__":
    main()
