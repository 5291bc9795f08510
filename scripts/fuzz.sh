#!/usr/bin/env bash
# Builds Talon's libFuzzer targets (tests/fuzz/) with clang, AddressSanitizer and UBSan, then runs each
# for FUZZ_SECONDS (default 60). Any crash, sanitizer report, leak or timeout fails the run; the
# reproducer is left in $BUILD_DIR/findings/<target>/. Prints executions per target.
#   usage: scripts/fuzz.sh [target...]     (targets: json5 frame handshake http; default: all)
#   env:   FUZZ_SECONDS (60), BUILD_DIR (build-fuzz), JOBS (nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
jobs="${JOBS:-$(nproc)}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json5 frame handshake http)

echo "== fuzz build ($build, clang, ASan+UBSan)"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTALON_BUILD_FUZZ=ON -DTALON_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/talon_fuzz_}"

# Seeds: committed inputs the targets start from (read-only); new inputs go to $build/corpus/<target>.
seeds() {
  case "$1" in
    json5) echo tests/json5/corpus src/config/testdata ;;
    frame | handshake) echo tests/data/wire ;;
    http) echo tests/fuzz/corpus/http ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  log="$build/fuzz-$t.log"
  echo "== fuzz $t for ${seconds}s"
  # shellcheck disable=SC2046
  if "$build/tests/fuzz/talon_fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" $(seeds "$t") >"$log" 2>&1; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    echo "   ok: ${runs:-?} executions, corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "   FAILED: see $log and $findings/"
    tail -40 "$log"
    failed=1
  fi
done
exit "$failed"
