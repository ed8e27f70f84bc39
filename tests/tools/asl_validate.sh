#!/usr/bin/env bash
# Validates every statemachines/*.asl.json and tests/fixtures/asl-valid/*.asl.json with the
# npm package asl-validator (the external judge of our state machines; keiyaku-states' own
# parser is checked by shared/states/tests/contract_definition.rs and refusals.rs). Installs the pinned validator into
# tests/.cache/npm when it is missing. Exits non-zero when any definition is invalid.
#
# The definitions keep their ${...} DefinitionSubstitutions placeholders: they sit only in
# Parameters.FunctionName (Resource is always an arn:aws:states:::lambda:invoke ARN), so no
# check needs turning off.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=4.0.0
PREFIX=tests/.cache/npm
BIN="$PREFIX/node_modules/.bin/asl-validator"

if [ ! -x "$BIN" ] || [ "$("$BIN" --version 2>/dev/null)" != "$VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "asl_validate: npm is required" >&2; exit 1; }
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "asl-validator@$VERSION" >/dev/null
fi

shopt -s nullglob
# Ours, and the fixtures of what the engine runs beyond them (JSONata, variables, a
# Distributed Map), which keiyaku-states must parse too (shared/states/tests/refusals.rs).
files=(statemachines/*.asl.json tests/fixtures/asl-valid/*.asl.json)
if [ ${#files[@]} -eq 0 ]; then
  echo "asl_validate: no statemachines/*.asl.json found" >&2
  exit 1
fi

status=0
for f in "${files[@]}"; do
  "$BIN" --json-path "$f" || status=1
done
exit $status
