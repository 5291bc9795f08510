#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite: unit tests, the
# formatter and layer checks, end-to-end tests, and the conformance suite against OpenClaw's own CLI and
# the openai SDK. Works on a fresh Debian 12 machine. Idempotent.
#   usage: scripts/test.sh            (env: BUILD_DIR, default build; OPENCLAW_REF_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"
jobs="$(nproc)"

./scripts/install-deps.sh
echo "== npm packages for the tests"
(cd tests && npm install --no-audit --no-fund --loglevel=error)
echo "== OpenClaw (the reference peer)"
export OPENCLAW_REF_DIR="${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}"
./scripts/install-openclaw.sh "$OPENCLAW_REF_DIR"

echo "== format and layer checks"
./scripts/check-format.sh
python3 scripts/check-layers .

echo "== build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$jobs"

echo "== tests"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 300
