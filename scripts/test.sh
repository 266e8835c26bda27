#!/usr/bin/env bash
# Every test of every package: the C++ engine and ROOT side (ctest: gradients,
# operators, data, trainer, command lines, ROOT macros), the operators from
# Python, the kernel host, the MNIST notebook run headless (pytest), the
# Jupyter kernel bridge, also under a real jupyter server, and the JupyterLab
# extension (jest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
status=0
step() { printf '\n==> %s\n' "$*"; }

step "ctest (cling-plugin)"
ctest --test-dir build/cling-plugin --output-on-failure --timeout 900 -j1 || status=1

step "pytest (cling-plugin/tests/python: the operators from Python)"
.venv/bin/python -m pytest -q cling-plugin/tests/python || status=1

step "pytest (cling-plugin/host/tests: the kernel host over its channel)"
.venv/bin/python -m pytest -q cling-plugin/host/tests || status=1

step "pytest (test/notebooks: notebooks/mnist.ipynb headless in the torchclad kernel)"
.venv/bin/python -m pytest -q test/notebooks || status=1

step "jest (kernel-bridge: Jupyter protocol over ZeroMQ, and with the real host)"
npm test --workspace kernel-bridge --silent || status=1

step "jest (lab-extension: telemetry schema, figure transform, renderer)"
npm test --workspace lab-extension --silent || status=1

exit $status
