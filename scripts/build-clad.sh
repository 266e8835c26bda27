#!/usr/bin/env bash
# Builds Clad (no package registry has it) against Debian's LLVM 19 and
# installs it into CLAD_DIR, unless CLAD_DIR already holds a Clad.
#   CLAD_DIR     install prefix (default /opt/clad)
#   CLAD_SOURCE  a local Clad source: a checkout or a .tar.gz/.tgz/.tar.xz
#                source archive; if unset, the pinned tag is cloned from
#                github.com/vgvassilev/clad where the network allows
#   CLAD_TAG     the tag to clone (default v2.4)
#   LLVM_PREFIX  LLVM 19's prefix (default /usr/lib/llvm-19)
# Idempotent; says what it does and how long it took; stops with a clear
# message when neither source is reachable. Nothing is written to the repo.
set -euo pipefail
CLAD_DIR=${CLAD_DIR:-/opt/clad}
CLAD_TAG=${CLAD_TAG:-v2.4}
CLAD_REPO=${CLAD_REPO:-https://github.com/vgvassilev/clad.git}
LLVM_PREFIX=${LLVM_PREFIX:-/usr/lib/llvm-19}

if [ -f "$CLAD_DIR/lib/clad.so" ] && [ -f "$CLAD_DIR/include/clad/Differentiator/Differentiator.h" ]; then
  echo "found Clad in $CLAD_DIR ($(cat "$CLAD_DIR/.torchclad-clad-source" 2>/dev/null || echo 'installed before'))"
  exit 0
fi
for f in "$LLVM_PREFIX/lib/cmake/llvm/LLVMConfig.cmake" "$LLVM_PREFIX/lib/cmake/clang/ClangConfig.cmake"; do
  if [ ! -f "$f" ]; then
    echo "error: building Clad needs LLVM 19's CMake files, and $f is missing (Debian: llvm-19-dev libclang-19-dev)" >&2
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/torchclad-clad-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

if [ -n "${CLAD_SOURCE:-}" ]; then
  if [ -d "$CLAD_SOURCE" ]; then
    src=$CLAD_SOURCE
    origin="source checkout $CLAD_SOURCE"
  elif [ -f "$CLAD_SOURCE" ]; then
    echo "unpacking $CLAD_SOURCE"
    mkdir "$work/src"
    tar -xf "$CLAD_SOURCE" -C "$work/src"
    # An archive holds the tree at its top or in one directory.
    src=$work/src
    [ -f "$src/CMakeLists.txt" ] || src=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d | head -1)
    origin="source archive $CLAD_SOURCE"
  else
    echo "error: CLAD_SOURCE=$CLAD_SOURCE is neither a directory nor a file" >&2
    exit 1
  fi
  if [ ! -f "$src/CMakeLists.txt" ] || [ ! -d "$src/include/clad/Differentiator" ]; then
    echo "error: CLAD_SOURCE=$CLAD_SOURCE does not hold Clad's source (expected CMakeLists.txt and include/clad/Differentiator/)" >&2
    exit 1
  fi
else
  echo "cloning Clad $CLAD_TAG from $CLAD_REPO"
  if ! git clone --quiet --depth 1 --branch "$CLAD_TAG" "$CLAD_REPO" "$work/src" 2>"$work/clone.log"; then
    cat >&2 <<MSG
error: Clad is not in $CLAD_DIR, CLAD_SOURCE is not set, and cloning $CLAD_REPO
($CLAD_TAG) failed:
$(sed 's/^/  /' "$work/clone.log")
Give a local Clad source (v2.4 or newer), a checkout or a source archive:
  CLAD_SOURCE=/path/to/clad bash scripts/setup.sh
or install Clad yourself and set CLAD_DIR to its prefix.
MSG
    exit 1
  fi
  src=$work/src
  origin="$CLAD_REPO $CLAD_TAG"
fi

version=$(cat "$src/VERSION" 2>/dev/null || echo unknown)
echo "building Clad $version ($origin) against $LLVM_PREFIX into $CLAD_DIR"
# Clad's tests need lit and googletest from the network: not built.
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLLVM_DIR="$LLVM_PREFIX/lib/cmake/llvm" -DClang_DIR="$LLVM_PREFIX/lib/cmake/clang" \
  -DCMAKE_INSTALL_PREFIX="$CLAD_DIR" -DCLAD_DISABLE_TESTS=ON >"$work/configure.log" 2>&1 ||
  { tail -30 "$work/configure.log" >&2; echo "error: configuring Clad failed (above)" >&2; exit 1; }
cmake --build "$work/build" --parallel "$(nproc)" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; echo "error: building Clad failed (above)" >&2; exit 1; }
SUDO=""
if ! mkdir -p "$CLAD_DIR" 2>/dev/null || [ ! -w "$CLAD_DIR" ]; then
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
fi
$SUDO cmake --install "$work/build" >"$work/install.log" 2>&1 ||
  { tail -30 "$work/install.log" >&2; echo "error: installing Clad into $CLAD_DIR failed (above)" >&2; exit 1; }
echo "Clad $version ($origin)" | $SUDO tee "$CLAD_DIR/.torchclad-clad-source" >/dev/null
echo "built and installed Clad $version into $CLAD_DIR in $(($(date +%s) - started)) s"
