#!/usr/bin/env bash
# Installs the JupyterLab extension into the .venv as a Python package
# (`pip install ./lab-extension`: hatch-jupyter-builder runs the npm build),
# without rebuilding JupyterLab. Idempotent and quick when nothing changed: a
# stamp holds the hash of the inputs of the last install.
#   VENV=/path/to/venv bash scripts/install-lab-extension.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
[ -x "$VENV/bin/jupyter" ] || { echo "install-lab-extension.sh: no jupyter in $VENV (run scripts/setup.sh or set VENV)" >&2; exit 1; }
force=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    *) echo "install-lab-extension.sh: unknown argument $a (expected: --force)" >&2; exit 2 ;;
  esac
done
name=@torchclad/lab-extension
dest=$VENV/share/jupyter/labextensions/$name
stamp=$VENV/.torchclad-labextension.sha256
want=$( { find lab-extension/src lab-extension/style -type f -not -path '*/__tests__/*' | sort | xargs cat
          cat lab-extension/{package.json,pyproject.toml,install.json,tsconfig.json,webpack.config.js,build-labextension.sh} \
              kernel-bridge/src/training-schema.ts package-lock.json; } | sha256sum | cut -d' ' -f1)
if [ "$force" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dest/package.json" ] \
   && "$VENV/bin/python" -m pip show -q torchclad_labextension >/dev/null 2>&1; then
  echo "up to date ($dest)"
else
  # an earlier copy not installed by pip (the old install.sh) would leave stale files
  "$VENV/bin/python" -m pip show -q torchclad_labextension >/dev/null 2>&1 || rm -rf "$dest"
  log=$(mktemp); trap 'rm -f "$log"' EXIT
  # the .venv's hatchling and JupyterLab (requirements.txt), no download of build tools
  if ! PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m pip install --no-build-isolation --no-deps --force-reinstall ./lab-extension >"$log" 2>&1; then
    cat "$log" >&2; echo "install-lab-extension.sh: pip install ./lab-extension failed" >&2; exit 1
  fi
  grep -E '^ *(asset|webpack|WARNING|ERROR)|Successfully installed' "$log" || true
  echo "$want" > "$stamp"
fi
"$VENV/bin/jupyter" labextension list 2>&1 | grep -F "$name"
