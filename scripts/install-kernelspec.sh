#!/usr/bin/env bash
# Installs the Jupyter kernelspec "torchclad" into the .venv's Jupyter data
# directory, so `jupyter kernelspec list` (from the .venv) shows it and
# `jupyter lab` / `jupyter console --kernel torchclad` start it.
# With JUPYTER_DATA_DIR set, into that directory instead (the conformance
# tests install it into a temporary one, leaving the .venv's alone).
# TORCHCLAD_HOST: another host binary than this checkout's build.
# The work is `torchclad-kernel install` (kernel-bridge/src/install.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f kernel-bridge/dist/main.js ] || npm run --silent build --workspace kernel-bridge
if [ -n "${JUPYTER_DATA_DIR:-}" ]; then
  where=(--user)                                  # $JUPYTER_DATA_DIR/kernels
else
  where=(--sys-prefix --python .venv/bin/python)  # .venv/share/jupyter/kernels
fi
node kernel-bridge/dist/main.js install "${where[@]}" --name torchclad
