#!/usr/bin/env bash
# Configures (once) and builds the C++ engine into build/cling-plugin, then
# the TypeScript packages (kernel-bridge/dist).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build/cling-plugin
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S cling-plugin -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_BUILD_TYPE=Release \
    -DCLAD_DIR="${CLAD_DIR:-/opt/clad}" -DTORCHCLAD_PYTHON="$PWD/.venv/bin/python"
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
npm run build --workspace kernel-bridge --silent
