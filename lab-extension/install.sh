#!/usr/bin/env bash
# Builds the prebuilt (federated) JupyterLab extension and installs it into the
# project's .venv, without rebuilding JupyterLab. Idempotent.
#
#   bash lab-extension/install.sh            # npm ci (if needed), tsc, jupyter labextension build, install
#   bash lab-extension/install.sh --dev      # development build (source maps, unminified)
#   VENV=/path/to/venv bash lab-extension/install.sh
#   bash lab-extension/install.sh --link     # symlink instead of copy (for rebuilding in place)
#   bash lab-extension/install.sh --build-only   # build, do not install
#   bash lab-extension/install.sh --force        # rebuild even when the build is up to date
#
# The build is checked against the installed JupyterLab's own core metadata
# (jupyterlab/staging/package.json in the venv), so the shared packages
# (@jupyterlab/*, @lumino/*) are the running JupyterLab's singletons; no
# network access is needed for it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$(cd "$HERE/.." && pwd)/.venv}"
MODE=copy
DEV=False
INSTALL=1
FORCE=0
for a in "$@"; do
  case "$a" in
    --dev) DEV=True ;;
    --link) MODE=link ;;
    --build-only) INSTALL=0 ;;
    --force) FORCE=1 ;;
    *) echo "install.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
JUPYTER="$VENV/bin/jupyter"
[ -x "$JUPYTER" ] || { echo "install.sh: no jupyter at $JUPYTER (set VENV)" >&2; exit 1; }

cd "$HERE"
# dependencies: only when missing (here or hoisted to a workspace root) or older than the lock file
if ! node -e "require.resolve('@jupyterlab/builder/package.json')" 2>/dev/null \
   || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  if [ -f package-lock.json ]; then
    npm ci --workspaces=false --no-audit --no-fund
  else
    echo "install.sh: dependencies missing; run 'npm ci' at the repository root" >&2
    exit 1
  fi
fi
# the payload types are kernel-bridge's (src/schema.ts imports them type-only
# from its dist/training-schema.d.ts): build them when missing or out of date
BRIDGE="$(cd "$(dirname "$(node -p "require.resolve('@torchclad/kernel-bridge/package.json')")")" && pwd)"
if [ ! -f "$BRIDGE/dist/training-schema.d.ts" ] || [ "$BRIDGE/src/training-schema.ts" -nt "$BRIDGE/dist/training-schema.d.ts" ]; then
  (cd "$BRIDGE" && npx tsc -p tsconfig.build.json)
fi
SRC="$HERE/torchclad_labextension/labextension"
STAMP="$HERE/torchclad_labextension/.build-stamp"
# up to date: the last build (of the same kind) is newer than every input
if [ "$FORCE" = 0 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "dev=$DEV" ] \
   && [ -z "$(find src style package.json "$BRIDGE/dist/training-schema.d.ts" $([ -f package-lock.json ] && echo package-lock.json) tsconfig.json -path src/__tests__ -prune -o -newer "$STAMP" -print)" ]; then
  echo "build up to date ($SRC)"
else
  npx tsc -p tsconfig.json
  CORE="$("$VENV/bin/python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging", "package.json"))')"
  [ -f "$CORE" ] || { echo "install.sh: no JupyterLab core metadata at $CORE" >&2; exit 1; }
  LOG="$(mktemp)"
  trap 'rm -f "$LOG"' EXIT
  if ! PATH="$VENV/bin:$PATH" "$JUPYTER" labextension build --development "$DEV" --core-package-file "$CORE" . >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "install.sh: jupyter labextension build failed" >&2
    exit 1
  fi
  # the sizes of the assets, warnings and errors; the whole log only on failure
  grep -E '^(asset|webpack|WARNING|ERROR)' "$LOG" || true
  echo "dev=$DEV" > "$STAMP"
fi
[ "$INSTALL" = 1 ] || exit 0

NAME="$(node -p "require('./package.json').name")"
DEST="$VENV/share/jupyter/labextensions/$NAME"
[ -f "$SRC/package.json" ] || { echo "install.sh: build produced no $SRC/package.json" >&2; exit 1; }
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
if [ "$MODE" = link ]; then
  ln -s "$SRC" "$DEST"
else
  cp -a "$SRC" "$DEST"
fi
echo "installed $NAME -> $DEST ($MODE)"
"$JUPYTER" labextension list 2>&1 | grep -F "$NAME"
