#!/usr/bin/env bash
# Every test of every package: the C++ engine (ctest: gradient, data, trainer
# tests) and the Python-side tests of the ATen operators (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
status=0
step() { printf '\n==> %s\n' "$*"; }

step "ctest (cling-plugin)"
ctest --test-dir build/cling-plugin --output-on-failure --timeout 900 -j1 || status=1

step "pytest (cling-plugin/tests/python)"
.venv/bin/python -m pytest -q cling-plugin/tests/python || status=1

exit $status
