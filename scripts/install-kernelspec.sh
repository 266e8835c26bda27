#!/usr/bin/env bash
# Installs the Jupyter kernelspec "torchclad" into the .venv's Jupyter data
# directory, so `jupyter kernelspec list` (from the .venv) shows it and
# `jupyter lab` / `jupyter console --kernel torchclad` start it.
# With JUPYTER_DATA_DIR set, into that directory instead (the conformance
# tests install it into a temporary one, leaving the .venv's alone).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
dest=${JUPYTER_DATA_DIR:-.venv/share/jupyter}/kernels/torchclad
mkdir -p "$dest"
cp kernel-bridge/kernelspec/logo-32x32.png kernel-bridge/kernelspec/logo-64x64.png "$dest/"
# TORCHCLAD_HOST: another host binary than this checkout's build.
host=${TORCHCLAD_HOST:-$ROOT_DIR/build/cling-plugin/host/torchclad-host}
.venv/bin/python - "$dest/kernel.json" "$(command -v node)" "$ROOT_DIR" "$host" <<'PY'
import json, sys
path, node, root, host = sys.argv[1:]
spec = {
    "argv": [node, f"{root}/kernel-bridge/dist/main.js", "-f", "{connection_file}",
             "--host", host],
    "display_name": "ROOT C++ (Clad + LibTorch)",
    "language": "cpp",
    "interrupt_mode": "message",
    "metadata": {"debugger": False},
}
with open(path, "w") as f:
    json.dump(spec, f, indent=2)
PY
echo "kernelspec torchclad installed in $dest"
