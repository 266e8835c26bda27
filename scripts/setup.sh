#!/usr/bin/env bash
# One command from a fresh clone to a built, tested-ready torchclad:
# Debian packages, the pinned .venv, npm packages, the C++ build.
# Idempotent: each step checks what is there and does only what is missing.
# Clad is in no registry: when CLAD_DIR (default /opt/clad) has none, it is
# built from CLAD_SOURCE or from a clone of its pinned tag.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
CLAD_DIR=${CLAD_DIR:-/opt/clad}
step() { printf '\n==> %s\n' "$*"; }

APT_PACKAGES=(clang-19 llvm-19-dev libclang-19-dev cmake ninja-build zlib1g-dev git
              libgtest-dev nlohmann-json3-dev dataset-fashion-mnist chromium
              libonnx-dev libprotobuf-dev protobuf-compiler openmpi-bin libopenmpi-dev
              clang-format-19)

step "Debian packages: ${APT_PACKAGES[*]}"
if [ "${TORCHCLAD_SETUP_APT:-1}" = 0 ]; then
  echo "skipped (TORCHCLAD_SETUP_APT=0: the system packages are installed by the caller, e.g. binder/Dockerfile)"
else
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  else
    echo "all present"
  fi
fi

step "Clad at CLAD_DIR=$CLAD_DIR"
# Built from CLAD_SOURCE (a local checkout or source archive) or the pinned
# tag's clone when CLAD_DIR has none (scripts/build-clad.sh).
CLAD_DIR=$CLAD_DIR bash scripts/build-clad.sh

step "Python environment .venv (requirements.txt)"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    # e.g. https://download.pytorch.org/whl/cpu: the pinned version without
    # the CUDA libraries (2.15.0+cpu satisfies torch==2.15.0).
    torch_pin=$(grep -E '^torch==' requirements.txt)
    echo "installing $torch_pin from $TORCH_INDEX_URL"
    .venv/bin/python -m pip install --quiet --index-url "$TORCH_INDEX_URL" "$torch_pin"
  fi
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
else
  echo "up to date"
fi

step "npm packages (npm ci)"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step "build (cling-plugin: clang++-19 + Clad, Release; kernel-bridge: tsc)"
bash scripts/build.sh

step "JupyterLab extension (pip install ./lab-extension, into the .venv)"
bash scripts/install-lab-extension.sh

step "Jupyter kernelspec torchclad"
bash scripts/install-kernelspec.sh

step "done: run the tests with 'npm test' (or scripts/test.sh)"
