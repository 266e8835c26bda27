#!/usr/bin/env bash
# Installs the build into a scratch prefix and uses it as a user's project
# would: find_package(torchclad) from examples/installed_project, a model
# defined there compiled with Clad, trained, saved and reloaded; the
# installed libraries' RUNPATHs and their model compile command free of the
# build and source trees; an installed command-line tool runs.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/torchclad-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
for f in "$tmp"/prefix/lib/*.so "$tmp"/prefix/bin/*; do
  runpath=$(readelf -d "$f" | grep -E "RUNPATH|RPATH" || true)
  grep -q -- "$build" <<<"$runpath" && fail "$f: its RUNPATH names the build tree: $runpath"
done
echo "ok: installed $(ls "$tmp/prefix/lib" | wc -l) libraries, $(ls "$tmp/prefix/bin" | wc -l) tools; no RUNPATH into the build tree"

cmake -S "$src/examples/installed_project" -B "$tmp/project" -G Ninja -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; fail "the example project did not configure"; }
cmake --build "$tmp/project" >"$tmp/build.log" || { cat "$tmp/build.log"; fail "the example project did not build"; }

command=$(env -u LD_LIBRARY_PATH "$tmp/project/compile-command")
grep -q -- "-I'$tmp/prefix/include'" <<<"$command" || fail "model files compile without the installed headers: $command"
grep -q -- "$src" <<<"$command" && fail "model files compile with the source tree's headers: $command"
echo "ok: model files compile with the installed headers"

(cd "$tmp" && env -u LD_LIBRARY_PATH "$tmp/project/own-model" 5 "$tmp/regressor.root")
env -u LD_LIBRARY_PATH "$tmp/prefix/bin/torchclad-train" --help | head -1
