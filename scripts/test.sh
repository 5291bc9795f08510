#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole test suite: unit tests, the
# formatter and layer checks, end-to-end tests, and the conformance suite against OpenClaw's own CLI and
# the openai SDK. Works on a fresh Debian 12 machine. Idempotent.
#
# The suite is built and run under AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer
# (scripts/test-sanitized.sh, build dir build-asan): one build finds the failures and the memory errors.
# --plain builds it without sanitizers (build dir build, RelWithDebInfo), whose tests run faster.
#   usage: scripts/test.sh [--plain]   (env: BUILD_DIR, default build-asan or build; OPENCLAW_REF_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
plain=0
if [ "${1:-}" = --plain ]; then
  plain=1
  shift
fi
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

if [ "$plain" = 0 ]; then
  BUILD_DIR="${BUILD_DIR:-build-asan}" JOBS="$jobs" exec ./scripts/test-sanitized.sh "$@"
fi

build="${BUILD_DIR:-build}"
echo "== build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$jobs"

echo "== tests"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 300 "$@"
