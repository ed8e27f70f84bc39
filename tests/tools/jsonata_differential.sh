#!/usr/bin/env bash
# Runs the JSONata differential judge (tests/tools/jsonata_differential.mjs): keiyaku's
# evaluator (the example jsonata_eval) against npm `jsonata` at the version AWS documents for
# Step Functions, installed into tests/.cache/npm-jsonata when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=2.0.6
PREFIX=tests/.cache/npm-jsonata
MODULE="$PREFIX/node_modules/jsonata"

if [ "$(node -p "require('./$MODULE/package.json').version" 2>/dev/null)" != "$VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "jsonata_differential: npm is required" >&2; exit 1; }
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "jsonata@$VERSION" >/dev/null
fi
node tests/tools/jsonata_differential.mjs "$(pwd)/$MODULE" target/debug/examples/jsonata_eval
