#!/usr/bin/env bash
# Runs a command and checks its exit code and that its output (stdout and
# stderr together) matches a regular expression.
# usage: cli_test.sh EXPECTED_EXIT_CODE REGEX COMMAND [ARGS...]
expected=$1 regex=$2
shift 2
output=$("$@" 2>&1)
code=$?
if [ "$code" -ne "$expected" ]; then
  printf 'expected exit code %s, found %s\n%s\n' "$expected" "$code" "$output"
  exit 1
fi
if ! grep -Eq -- "$regex" <<<"$output"; then
  printf 'output does not match /%s/:\n%s\n' "$regex" "$output"
  exit 1
fi
echo "ok: exit $code, output matches /$regex/"
