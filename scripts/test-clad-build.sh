#!/usr/bin/env bash
# The setup's build of Clad from a local source (CLAD_SOURCE: a checkout or
# a source archive), into a scratch prefix: builds it, then differentiates a
# function with the result and checks the derivative. Also checks the clear
# errors for a bad CLAD_SOURCE. Run by the test command when CLAD_SOURCE is
# set (a clean build of Clad takes several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CLAD_SOURCE:?set CLAD_SOURCE to a Clad source checkout or archive}"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/torchclad-clad-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(CLAD_DIR=$scratch/none CLAD_SOURCE=$scratch/missing bash scripts/build-clad.sh 2>&1) && fail "a missing CLAD_SOURCE was accepted"
grep -q "is neither a directory nor a file" <<<"$out" || fail "unclear error for a missing CLAD_SOURCE: $out"
mkdir "$scratch/empty"
out=$(CLAD_DIR=$scratch/none CLAD_SOURCE=$scratch/empty bash scripts/build-clad.sh 2>&1) && fail "a directory without Clad was accepted"
grep -q "does not hold Clad's source" <<<"$out" || fail "unclear error for a directory without Clad: $out"
echo "ok: clear errors for a bad CLAD_SOURCE"

CLAD_DIR=$scratch/clad bash scripts/build-clad.sh
again=$(CLAD_DIR=$scratch/clad bash scripts/build-clad.sh)
grep -q "^found Clad in $scratch/clad" <<<"$again" || fail "a second run rebuilt Clad: $again"
echo "ok: a second run finds it"

cat >"$scratch/d.cpp" <<'CPP'
#include "clad/Differentiator/Differentiator.h"
#include <cstdio>
double f(double x, double y) { return x * x * y + 3 * y; }
int main() {
  auto g = clad::gradient(f);
  double dx = 0, dy = 0;
  g.execute(2.0, 5.0, &dx, &dy);
  std::printf("%g %g\n", dx, dy);  // 2xy = 20, x^2 + 3 = 7
}
CPP
clang++-19 -std=c++17 -fplugin="$scratch/clad/lib/clad.so" -I"$scratch/clad/include" "$scratch/d.cpp" -o "$scratch/d"
[ "$("$scratch/d")" = "20 7" ] || fail "the built Clad's gradient is wrong: $("$scratch/d")"
echo "ok: the built Clad differentiates (df/dx = 20, df/dy = 7)"
