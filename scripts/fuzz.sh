#!/usr/bin/env bash
# Builds Talon's libFuzzer targets (tests/fuzz/) with clang, AddressSanitizer and UBSan, then runs each
# for FUZZ_SECONDS (default 60), JOBS targets at a time. Any crash, sanitizer report, leak or timeout
# fails the run; the reproducer is left in $BUILD_DIR/findings/<target>/. Prints executions per target.
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
# One target per core at a time (each libFuzzer run is one process): on CI's two cores the four targets
# take two rounds of FUZZ_SECONDS.
fuzz_one() {
  local t="$1"
  local corpus="$build/corpus/$t" findings="$build/findings/$t" log="$build/fuzz-$t.log"
  mkdir -p "$corpus" "$findings"
  # shellcheck disable=SC2046
  "$build/tests/fuzz/talon_fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" $(seeds "$t") >"$log" 2>&1
}
report() {
  local t="$1" status="$2"
  local log="$build/fuzz-$t.log"
  if [ "$status" = 0 ]; then
    local runs
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
    echo "   $t ok: ${runs:-?} executions, corpus $(ls "$build/corpus/$t" | wc -l) inputs"
  else
    echo "   $t FAILED: see $log and $build/findings/$t/"
    tail -40 "$log"
    failed=1
  fi
}
# Waits for one running target and reports it.
reap() {
  local status=0 pid
  wait -n -p pid "${!running[@]}" || status=$?
  report "${running[$pid]}" "$status"
  unset "running[$pid]"
}
failed=0
declare -A running=()
for t in "${targets[@]}"; do
  while [ "${#running[@]}" -ge "$jobs" ]; do reap; done
  echo "== fuzz $t for ${seconds}s"
  fuzz_one "$t" &
  running[$!]="$t"
done
while [ "${#running[@]}" -gt 0 ]; do reap; done
exit "$failed"
