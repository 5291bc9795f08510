#!/usr/bin/env bash
# A/B of two gateway binaries under the 32-session chat load: gateway CPU per turn and turns/s.
# Each binary is started ROUNDS times, alternating A and B, each start pinned to cpu 0 with a fresh state
# dir, and measured RUNS times by `talon-bench-client chat --sessions 32 --turns TURNS` against
# `talon-mock-model` (both on cpu 1). Prints every run, then the medians without the first run (the
# machine settles). Needs a built bench (-DTALON_BUILD_BENCH=ON: talon-bench-client, talon-mock-model),
# taskset and jq.
#   usage: bench/ab-chat.sh A_TALON B_TALON   (env: BENCH_BUILD (build-bench), ROUNDS (4), RUNS (3), TURNS (160))
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || {
  echo "usage: bench/ab-chat.sh A_TALON B_TALON" >&2
  exit 2
}
declare -A bin=([A]="$1" [B]="$2")
build="${BENCH_BUILD:-build-bench}"
rounds="${ROUNDS:-4}" runs="${RUNS:-3}" turns="${TURNS:-160}"
client="$build/bench/talon-bench-client"
mock="$build/tests/support/talon-mock-model"
for f in "${bin[A]}" "${bin[B]}" "$client" "$mock"; do [ -x "$f" ] || {
  echo "ab-chat: $f is not an executable (build the bench: -DTALON_BUILD_BENCH=ON)" >&2
  exit 2
}; done

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "ab-chat: no $1" >&2; exit 1; }

token="ab-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
taskset -c 1 "$mock" --port 0 --port-file "$work/mock.port" >"$work/mock.log" 2>&1 &
pids+=($!)
wait_file "$work/mock.port"
cat >"$work/talon.json" <<EOF
{ gateway: {mode: "local", bind: "loopback", auth: {mode: "token", token: "$token"}},
  models: {providers: {mock: {baseUrl: "http://127.0.0.1:$(cat "$work/mock.port")/v1", apiKey: "k",
                              api: "openai-completions", models: [{id: "mock-model", name: "Mock"}]}}},
  agents: {defaults: {model: "mock/mock-model"}} }
EOF

echo "side round run turnsPerSec serverCpuPerTurnMs"
for round in $(seq "$rounds"); do
  for side in A B; do
    state="$work/state-$side-$round"
    rm -f "$work/gw.port"
    TALON_CONFIG_PATH="$work/talon.json" TALON_STATE_DIR="$state" taskset -c 0 "${bin[$side]}" gateway run --port 0 \
      --port-file "$work/gw.port" >"$work/gw-$side-$round.log" 2>&1 &
    gw=$!
    wait_file "$work/gw.port"
    for run in $(seq "$runs"); do
      out="$(taskset -c 1 "$client" chat --port "$(cat "$work/gw.port")" --token "$token" --sessions 32 \
        --turns "$turns" --rss-pid "$gw")"
      echo "$side $round $run $(jq -r '"\(.turnsPerSec) \(.serverCpuPerTurnMs)"' <<<"$out")" | tee -a "$work/runs"
    done
    kill "$gw"
    wait "$gw" 2>/dev/null || true
  done
done
python3 - "$work/runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for side in "AB":
    r = [x for x in rows if x[0] == side and not (x[1] == "1" and x[2] == "1")]
    print(f"{side}: median turns/s {statistics.median(float(x[3]) for x in r):.0f}, "
          f"median gateway CPU per turn {statistics.median(float(x[4]) for x in r):.3f} ms ({len(r)} runs)")
PY
