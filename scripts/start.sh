#!/usr/bin/env bash
# JupyterLab from the .venv on the notebooks folder, with the torchclad kernel
# ("ROOT C++ (Clad + LibTorch)") available. Extra arguments go to jupyter lab,
# e.g. npm start -- --no-browser --port 8890. The .venv's bin comes first on
# PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
# The kernel inherits it: `python3` in a cell is the .venv's (notebooks/pretrained.ipynb)
export PATH="$PWD/.venv/bin:$PATH"
# JupyterLab refuses to run as root without --allow-root (containers, this
# project's CI machines): pass it there, as a user would have to.
extra=()
if [ "$(id -u)" = 0 ]; then extra+=(--allow-root); fi
exec .venv/bin/jupyter lab --notebook-dir notebooks "${extra[@]}" "$@"
