#!/usr/bin/env bash
# One command from a fresh clone to a built, tested-ready torchclad:
# Debian packages, the pinned .venv, npm packages, the C++ build.
# Idempotent: each step checks what is there and does only what is missing.
# Clad is the one thing it does not install (no registry has it): it stops
# with instructions when CLAD_DIR (default /opt/clad) has no Clad.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
CLAD_DIR=${CLAD_DIR:-/opt/clad}
step() { printf '\n==> %s\n' "$*"; }

APT_PACKAGES=(clang-19 llvm-19-dev libclang-19-dev cmake ninja-build zlib1g-dev
              libgtest-dev nlohmann-json3-dev dataset-fashion-mnist chromium)

step "Debian packages: ${APT_PACKAGES[*]}"
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

step "Clad at CLAD_DIR=$CLAD_DIR"
if [ ! -f "$CLAD_DIR/lib/clad.so" ] || [ ! -f "$CLAD_DIR/include/clad/Differentiator/Differentiator.h" ]; then
  cat >&2 <<MSG
error: Clad not found at $CLAD_DIR (need lib/clad.so and include/clad/Differentiator/).
Clad is in no package registry. Build Clad v2.4 or newer from its source
(github.com/vgvassilev/clad) against Debian's LLVM 19 (llvm-19-dev,
libclang-19-dev, installed by this script) and install it into /opt/clad,
or set CLAD_DIR to its install prefix. Then run this command again.
MSG
  exit 1
fi
echo "found $CLAD_DIR/lib/clad.so"

step "Python environment .venv (requirements.txt)"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
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

step "JupyterLab extension (prebuilt, into the .venv)"
bash lab-extension/install.sh

step "Jupyter kernelspec torchclad"
bash scripts/install-kernelspec.sh

step "done: run the tests with 'npm test' (or scripts/test.sh)"
