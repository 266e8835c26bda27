#!/usr/bin/env bash
# Every test of every package: the C++ engine and ROOT side (ctest: gradients,
# operators, data, trainer, command lines, ROOT macros), the operators from
# Python, the gravitational-wave simulator against LALSuite (in ctest), the
# kernel host, the MNIST and GW notebooks run headless (pytest), the
# Jupyter kernel bridge, also under a real jupyter server, the JupyterLab
# extension (jest), and the MNIST notebook in a real JupyterLab in Debian's
# chromium (jest + playwright-core); ESLint and Prettier over the TypeScript,
# clang-format over the C++.
# Every suite runs; the command fails if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh

passed=0 failed=0 failures=()
suite() {  # suite TITLE COMMAND...
  printf '\n==> %s\n' "$1"
  if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

suite "lint (TypeScript: ESLint and Prettier, npm run lint)" \
  npm run --silent lint
suite "lint (C++: clang-format-19 against .clang-format, scripts/lint-cpp.sh)" \
  bash scripts/lint-cpp.sh
suite "ctest (cling-plugin)" \
  ctest --test-dir build/cling-plugin --output-on-failure --timeout 900 -j1
suite "pytest (cling-plugin/tests/python: the operators from Python)" \
  .venv/bin/python -m pytest -q cling-plugin/tests/python
suite "pytest (cling-plugin/host/tests: the kernel host over its channel)" \
  .venv/bin/python -m pytest -q cling-plugin/host/tests
suite "pytest (test/notebooks: the notebooks of notebooks/ headless in this checkout's torchclad kernel)" \
  .venv/bin/python -m pytest -q test/notebooks
suite "pytest (test/project: the Binder configuration read by repo2docker without Docker; one version)" \
  .venv/bin/python -m pytest -q test/project
suite "jest (kernel-bridge: Jupyter protocol over ZeroMQ, with the real host and jupyter server)" \
  npm test --workspace kernel-bridge --silent
suite "pytest (kernel-bridge/test/conformance: jupyter_kernel_test against the installed kernelspec)" \
  .venv/bin/python -m pytest -q kernel-bridge/test/conformance
suite "jest (lab-extension: telemetry schema, figure transform, renderer)" \
  npm test --workspace lab-extension --silent
suite "jest (test/browser: notebooks/mnist.ipynb in a real JupyterLab and chromium, the lab extension's plot checked)" \
  npm test --workspace test/browser --silent

not_run=()
if [ -n "${CLAD_SOURCE:-}" ]; then
  suite "setup's Clad build from CLAD_SOURCE=$CLAD_SOURCE, into a scratch prefix" bash scripts/test-clad-build.sh
else
  not_run+=("setup's Clad build from source (set CLAD_SOURCE to a Clad checkout or archive to run it; it takes minutes)")
fi

printf '\n'
for f in "${failures[@]}"; do echo "failed: $f"; done
for n in "${not_run[@]}"; do echo "not run: $n"; done
echo "suites: $passed passed, $failed failed, ${#not_run[@]} not run"
[ "$failed" -eq 0 ]
