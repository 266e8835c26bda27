#!/usr/bin/env bash
# JupyterLab from the .venv on the notebooks folder, with the torchclad kernel
# ("ROOT C++ (Clad + LibTorch)") available. Extra arguments go to jupyter lab,
# e.g. npm start -- --no-browser --port 8890
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/jupyter lab --notebook-dir notebooks "$@"
