#!/usr/bin/env bash
# Builds the whole test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, -DTALON_SANITIZE=ON)
# and runs it. Any sanitizer report fails the test that triggered it (UBSan does not recover; ASan
# aborts on the first error).
#
# Two deliberate exceptions, each to be removed when its cause is fixed:
#  - LeakSanitizer is off by default (ASAN_OPTIONS detect_leaks=0). Of the cycle it reports in the agent
#    runner's unit tests (AgentRunner::Impl <-> Turn), the part through the test fakes is gone: the fake
#    provider and the approval gate of agent_runner_test.cpp release their callbacks once used, as the
#    real ones do. What is left are the tests that end with a turn still in flight (a model call never
#    answered, a turn queued): Impl holds the turn, the turn holds Impl (and its pending call, which
#    holds the turn), and ~AgentRunner lets go of nothing. Aborting them in ~AgentRunner is not the fix:
#    it publishes events into subscribers that may already be destroyed (a use-after-free under
#    ChatMethodsTest); they need a silent detach. Valgrind: 7 leaked runners in AgentRunnerTest.*.
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
# -O1 -g1: the optimisation ASan is usually run at, with line tables for its stack traces; builds in about
# two thirds of the time of -O2 -g.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DTALON_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$jobs" --target "$target"

echo "== sanitized tests"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 600 \
  -E 'SubscriberThatDoesNotReadStreamedAnswersIsClosedAsSlowConsumer' "$@"
