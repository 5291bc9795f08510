#!/usr/bin/env bash
# Builds the whole test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, -DTALON_SANITIZE=ON)
# and runs it. Any sanitizer report fails the test that triggered it (UBSan does not recover; ASan
# aborts on the first error).
#
# Two deliberate exceptions, each to be removed when its cause is fixed:
#  - LeakSanitizer is off by default (ASAN_OPTIONS detect_leaks=0). The cycle it used to report in the
#    agent runner's unit tests (AgentRunner::Impl <-> Turn, through the model calls and approval requests
#    the test fakes kept, and through turns still in flight when a runner was destroyed) is broken: the
#    fakes release their callbacks once used, as the real provider and gate do, and ~AgentRunner aborts
#    and lets go of the turns left. Valgrind's leak check of AgentRunnerTest.* is clean; turn LSan on
#    here once a sanitized run of the whole suite with ASAN_OPTIONS=detect_leaks=1 is clean too.
#  - HostileClientE2E.SubscriberThatDoesNotReadStreamedAnswersIsClosedAsSlowConsumer is excluded: it
#    bounds the gateway's RSS, and ASan's quarantine keeps freed memory resident by design.
#   usage: scripts/test-sanitized.sh [--unit] [ctest args...]   (default: build and run every test)
#          --unit: build only the unit-test executables (target talon_unit_tests) and run `ctest -L unit`
#   env:   BUILD_DIR (build-asan), JOBS (nproc), OPENCLAW_REF_DIR (for the conformance tests)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-asan}"
jobs="${JOBS:-$(nproc)}"
target=all
if [ "${1:-}" = --unit ]; then
  shift
  target=talon_unit_tests
  set -- -L unit "$@"
fi

echo "== sanitized build ($build, ASan+UBSan)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTALON_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$jobs" --target "$target"

echo "== sanitized tests"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 600 \
  -E 'SubscriberThatDoesNotReadStreamedAnswersIsClosedAsSlowConsumer' "$@"
