#!/bin/sh
# jupyter labextension build against the running JupyterLab's own core
# metadata (jupyterlab/staging/package.json of the Python beside `jupyter`),
# so the shared packages (@jupyterlab/*, @lumino/*) are that JupyterLab's
# singletons and nothing is fetched. `pip install` runs it through
# package.json's build:prod (hatch-jupyter-builder). Arguments: extra
# options for the build, e.g. --development True.
set -eu
cd "$(dirname "$0")"
jupyter=$(command -v jupyter) || { echo "build-labextension.sh: no jupyter on PATH (the Python environment with JupyterLab)" >&2; exit 1; }
# The Python that runs `jupyter`: the one beside it (a venv), else its
# shebang's (pip's isolated build environment has no bin/python of its own).
shebang=$(head -n1 "$jupyter" | sed 's/^#![[:space:]]*//')
find_core='import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging", "package.json"))'
core=
for python in "$(dirname "$jupyter")/python" $shebang; do
  [ -x "$python" ] && core=$("$python" -c "$find_core" 2>/dev/null) && break
done
[ -n "$core" ] || { echo "build-labextension.sh: found no Python with jupyterlab for $jupyter" >&2; exit 1; }
[ -f "$core" ] || { echo "build-labextension.sh: no JupyterLab core metadata at $core" >&2; exit 1; }
exec "$jupyter" labextension build --core-package-file "$core" "$@" .
