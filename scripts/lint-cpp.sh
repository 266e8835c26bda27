#!/usr/bin/env bash
# The C++ of cling-plugin/ follows .clang-format (clang-format-19 from
# Debian); this fails on the first file that differs. `--fix` rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-19 || command -v clang-format || true)
[ -n "$format" ] || { echo "lint-cpp: clang-format-19 not found (apt install clang-format-19)" >&2; exit 1; }
mapfile -t files < <(git ls-files 'cling-plugin/*.cpp' 'cling-plugin/*.hpp' 'cling-plugin/*.h' 'cling-plugin/*.C')
[ "${#files[@]}" -gt 0 ] || { echo "lint-cpp: no C++ files found under cling-plugin/" >&2; exit 1; }
if [ "${1:-}" = "--fix" ]; then
  "$format" -i "${files[@]}"
else
  "$format" --dry-run --Werror "${files[@]}"
  echo "lint-cpp: ${#files[@]} files follow .clang-format"
fi
