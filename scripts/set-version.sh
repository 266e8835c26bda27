#!/usr/bin/env bash
# Sets the one version of torchclad: the root package.json's, which the
# workspaces (kernel bridge, lab extension, browser tests), their
# dependencies on each other and CMake (project(), TORCHCLAD_VERSION) follow.
#   scripts/set-version.sh 0.2.0
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 1 && $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "usage: scripts/set-version.sh X.Y.Z" >&2; exit 2; }
node -e '
  const fs = require("fs"), version = process.argv[1];
  const root = JSON.parse(fs.readFileSync("package.json"));
  for (const file of ["package.json", ...root.workspaces.map((w) => w + "/package.json")]) {
    const p = JSON.parse(fs.readFileSync(file));
    p.version = version;
    for (const deps of [p.dependencies, p.devDependencies])
      for (const name of Object.keys(deps || {})) if (name.startsWith("@torchclad/")) deps[name] = version;
    fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n");
  }' "$1"
npm install --package-lock-only --no-audit --no-fund --loglevel=error
echo "torchclad $1 (rebuild: npm run build)"
