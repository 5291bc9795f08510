#!/usr/bin/env bash
# Talon and OpenClaw side by side, in one run, on this machine; writes bench/RESULTS.md.
# What each figure means, how to build what this runs, and the knobs: bench/README.md.
#
#   bench/side-by-side.sh                  # everything (about 10-15 minutes, most of it OpenClaw)
#   SKIP_OPENCLAW=1 bench/side-by-side.sh  # floor and Talon only (about 2 minutes)
#
# Every process this starts is in a process group of its own and is killed on exit (trap).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TALON_BIN:=$ROOT/build/talon}"
: "${BENCH_BUILD:=$ROOT/build-bench}"
: "${CLIENT:=$BENCH_BUILD/bench/talon-bench-client}"
: "${ECHO_SERVER:=$BENCH_BUILD/bench/talon-bench-echo}"
: "${MOCK_MODEL:=$BENCH_BUILD/tests/support/talon-mock-model}"
: "${OPENCLAW:=/root/.cache/openclaw-ref/bin/openclaw}"
: "${RESULTS:=$ROOT/bench/RESULTS.md}"
: "${SKIP_OPENCLAW:=0}"
: "${KEEP_WORK:=0}"
# Scheduling priority for everything this script starts (e.g. NICE=-10, needs root): on a machine that
# other work shares, it keeps that work from landing in the figures. Empty: unchanged.
: "${NICE:=}"
# No run takes longer than this (seconds): a client that hangs is killed and recorded as failed.
: "${STEP_TIMEOUT:=900}"
# Placement: the server under test alone on SERVER_CPU; the client and the mock model on CLIENT_CPU.
: "${SERVER_CPU:=0}"
: "${CLIENT_CPU:=1}"
# Sizes. Repeated runs; RESULTS.md quotes the median run. OpenClaw is ~100x slower: fewer samples.
: "${STARTUP_RUNS:=5}"         # warm starts per gateway (plus one cold start, reported apart)
# Starts of the floor and Talon with their executable dropped from the page cache first (reported apart;
# 0 skips them). Before every other start, the executable, its libraries (OpenClaw: Node and its
# packages) are read into the page cache: a warm start finds them there.
: "${STARTUP_EVICTED_RUNS:=3}"
: "${REPEATS:=3}"              # runs of each latency / handshake / throughput / chat figure
: "${LATENCY_COUNT:=20000}"    # health round trips per latency run (floor, Talon)
: "${OC_LATENCY_COUNT:=2000}"
: "${HANDSHAKE_COUNT:=2000}"
: "${OC_HANDSHAKE_COUNT:=200}"
: "${TP_DURATION_MS:=5000}"    # throughput window (after TP_WARMUP_MS)
: "${TP_WARMUP_MS:=1000}"
# The ratio to the floor at 64 connections: this many back-to-back pairs of short runs (floor and Talon,
# the order alternating), so that each pair sees the same machine; RESULTS.md quotes the median ratio.
: "${TP_PAIRS:=7}"
: "${TP_PAIR_DURATION_MS:=3000}"
# The same pairs with Node's `ws` as the client (bench/node/ws-load.mjs); 0 skips them. NODE_BIN: the Node
# that runs it (default: the one OpenClaw runs on, else `node` on PATH).
: "${NODE_PAIRS:=5}"
: "${CHAT_TURNS:=300}"         # chat.send -> final, one session (Talon)
: "${OC_CHAT_TURNS:=20}"
: "${CHAT_SESSIONS:=32}"
: "${CHAT_TURNS_PER_SESSION:=32}"  # 32 x 32 = 1,024 turns per run (Talon)
: "${OC_CHAT_TURNS_PER_SESSION:=4}" # 32 x 4 = 128 turns (OpenClaw: ~4 turns/s)
: "${OC_CHAT_REPEATS:=1}"
# Turns across CHAT_SESSIONS sessions before the chat figures (this many each; 300: 9,600 turns), so that the
# memory rows are measured after warm-up as the issue's target says; recorded as chat_warmup. 0 skips it.
: "${CHAT_WARMUP_TURNS_PER_SESSION:=300}"
: "${OC_CHAT_WARMUP_TURNS_PER_SESSION:=0}"  # OpenClaw: ~4 turns/s
# Memory across ~10,000 turns, each in a new session key (CHAT_SESSIONS connections x this many turns).
: "${NEWKEY_TURNS_PER_SESSION:=313}"   # 32 x 313 = 10,016 turns (Talon)
: "${OC_NEWKEY_TURNS_PER_SESSION:=0}"  # OpenClaw: 0 skips it (~4 turns/s)

# The directory of OpenClaw's launcher: its Node beside it, its packages above it.
OPENCLAW_DIR=$(dirname "$(readlink -f "$OPENCLAW" 2>/dev/null || echo /nonexistent/openclaw)")
if [[ -z ${NODE_BIN:-} ]]; then
  NODE_BIN=$OPENCLAW_DIR/node
  [[ -x $NODE_BIN ]] || NODE_BIN=$(command -v node || true)
fi

die() { echo "side-by-side: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for bin in "$CLIENT" "$ECHO_SERVER" "$MOCK_MODEL" "$TALON_BIN"; do
  [[ -x $bin ]] || die "missing $bin (build: see bench/README.md)"
done
[[ $SKIP_OPENCLAW == 1 || -x $OPENCLAW ]] || die "missing $OPENCLAW (scripts/install-openclaw.sh) or set SKIP_OPENCLAW=1"
command -v taskset >/dev/null || die "taskset is required (util-linux)"
command -v jq >/dev/null || die "jq is required"
command -v python3 >/dev/null || die "python3 is required (writes RESULTS.md)"
(($(nproc) >= 2)) || die "needs at least 2 cores (server and client on different cores)"

if [[ -n $NICE ]]; then
  renice -n "$NICE" -p $$ >/dev/null || die "renice -n $NICE failed (a negative value needs root)"
fi

WORK=$(mktemp -d /tmp/talon-side-by-side.XXXXXX)
JSONL=$WORK/results.jsonl
: >"$JSONL"
PGIDS=()

# Kills every process group this script started (gateways, echo server, mock model).
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local groups=("${PGIDS[@]}")
  for f in "$WORK"/*.pid "$WORK"/*/*.pid; do [[ -f $f ]] && groups+=("$(cat "$f")"); done
  for g in "${groups[@]}"; do [[ -n $g ]] && kill -TERM -- "-$g" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for g in "${groups[@]}"; do [[ -n $g ]] && kill -0 -- "-$g" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for g in "${groups[@]}"; do [[ -n $g ]] && kill -KILL -- "-$g" 2>/dev/null || true; done
  if [[ $KEEP_WORK == 1 || $status -ne 0 ]]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in a process group of its own (setsid), remembered for cleanup. Sets STARTED_PID.
start_group() {
  local logfile=$1
  shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}

stop_group() {
  local g=$1
  kill -TERM -- "-$g" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 -- "-$g" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$g" 2>/dev/null || true
}

wait_port_file() {
  local f=$1
  for _ in $(seq 1 500); do
    [[ -s $f ]] && { cat "$f"; return 0; }
    sleep 0.01
  done
  die "no port file $f"
}

# Pins every thread of every process in group $1 to SERVER_CPU (new threads inherit it).
pin_group() {
  local pids
  pids=$(pgrep -g "$1" || true)
  for p in $pids; do taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true; done
}

# record SIDE FIGURE RUN -- COMMAND...: runs the client command and appends its JSON result (or the
# failure, with the command and its stderr) to results.jsonl. Never fails the script.
record() {
  local side=$1 figure=$2 run=$3
  shift 4
  local out err rc=0
  err=$WORK/last.stderr
  out=$(timeout --foreground -k 10 "$STEP_TIMEOUT" "$@" 2>"$err") || rc=$?
  local last
  last=$(printf '%s\n' "$out" | tail -n 1)
  if [[ $rc -eq 0 && -n $last ]] && jq -e . >/dev/null 2>&1 <<<"$last"; then
    jq -c --arg side "$side" --arg figure "$figure" --argjson run "$run" \
      '{side:$side, figure:$figure, run:$run, ok:true, result:.}' <<<"$last" >>"$JSONL"
  else
    log "FAILED: $side $figure run $run (exit $rc): $(tail -n 3 "$err" | tr '\n' ' ')"
    local result=null
    [[ -n $last ]] && jq -e . >/dev/null 2>&1 <<<"$last" && result=$last
    jq -nc --arg side "$side" --arg figure "$figure" --argjson run "$run" --argjson rc "$rc" \
      --arg cmd "$*" --rawfile stderr "$err" --argjson result "$result" \
      '{side:$side, figure:$figure, run:$run, ok:false, exit:$rc, command:$cmd, stderr:$stderr, result:$result}' \
      >>"$JSONL"
    LAST_FAILED=1
  fi
  printf '%s\n' "$last"
}

# note SIDE TEXT: a line for the "Problems seen" section of RESULTS.md.
note() {
  jq -nc --arg side "$1" --arg text "$2" '{side:$side, note:$text}' >>"$JSONL"
}

CLIENT_ON_OTHER=(taskset -c "$CLIENT_CPU" "$CLIENT")
CLIENT_ON_SAME=(taskset -c "$SERVER_CPU" "$CLIENT")

# rpc_run SIDE RUN PORT TOKEN PID LATENCY_COUNT HANDSHAKE_COUNT [--raw]: one run of latency (both
# placements), handshake and throughput against a server (process PID) already pinned to SERVER_CPU.
rpc_run() {
  local side=$1 r=$2 port=$3 token=$4 pid=$5 lat=$6 hs=$7 raw=${8:-}
  local conn=(--port "$port" --token "$token" $raw)
  {
    log "$side: health latency, client on cpu $CLIENT_CPU (run $r)"
    local keep=()
    [[ $side == talon ]] && keep=(--answer-out "$WORK/talon-health-answer.json")
    record "$side" latency_cross "$r" -- "${CLIENT_ON_OTHER[@]}" latency "${conn[@]}" --count "$lat" "${keep[@]}" \
      >/dev/null
    log "$side: health latency, client on cpu $SERVER_CPU (run $r)"
    record "$side" latency_same "$r" -- "${CLIENT_ON_SAME[@]}" latency "${conn[@]}" --count "$lat" >/dev/null
    if [[ -z $raw ]]; then
      log "$side: handshake (run $r)"
      record "$side" handshake "$r" -- "${CLIENT_ON_OTHER[@]}" handshake "${conn[@]}" --count "$hs" >/dev/null
    fi
    for c in 1 8 64; do
      log "$side: health throughput, $c connections (run $r)"
      record "$side" "throughput_$c" "$r" -- "${CLIENT_ON_OTHER[@]}" throughput "${conn[@]}" --conns "$c" \
        --duration-ms "$TP_DURATION_MS" --warmup-ms "$TP_WARMUP_MS" --cpu-pid "$pid" >/dev/null
    done
  }
}

# chat_suite SIDE PORT TOKEN PID TURNS TURNS_PER_SESSION REPEATS NEWKEY_TURNS_PER_SESSION
chat_suite() {
  local side=$1 port=$2 token=$3 pid=$4 turns=$5 perSession=$6 repeats=$7 newKeyTurns=$8
  local conn=(--port "$port" --token "$token")
  local warmup=$CHAT_WARMUP_TURNS_PER_SESSION
  [[ $side == openclaw ]] && warmup=$OC_CHAT_WARMUP_TURNS_PER_SESSION
  if ((warmup > 0)); then
    # The issue's memory target is "flat after warm-up": the sessions' history cache, SQLite's caches and
    # the threads' malloc arenas fill during the first ~10,000 turns (bench/README.md, "Memory across
    # 38,400 turns"); the memory rows below are measured after them.
    log "$side: warm-up, $((CHAT_SESSIONS * warmup)) turns across $CHAT_SESSIONS sessions"
    record "$side" chat_warmup 1 -- "${CLIENT_ON_OTHER[@]}" chat "${conn[@]}" --sessions "$CHAT_SESSIONS" \
      --turns "$warmup" --warmup-turns 1 --session-prefix warmup --rss-pid "$pid" >/dev/null
  fi
  for r in $(seq 1 "$repeats"); do
    log "$side: chat.send -> final, one session, $turns turns (run $r)"
    record "$side" chat_1 "$r" -- "${CLIENT_ON_OTHER[@]}" chat "${conn[@]}" --sessions 1 --turns "$turns" \
      --warmup-turns 3 --session-prefix "single$r" >/dev/null
  done
  for r in $(seq 1 "$repeats"); do
    log "$side: turns across $CHAT_SESSIONS sessions, $perSession turns each (run $r)"
    record "$side" chat_32 "$r" -- "${CLIENT_ON_OTHER[@]}" chat "${conn[@]}" --sessions "$CHAT_SESSIONS" \
      --turns "$perSession" --warmup-turns 1 --session-prefix "multi$r" --rss-pid "$pid" >/dev/null
  done
  if ((newKeyTurns > 0)); then
    log "$side: $((CHAT_SESSIONS * newKeyTurns)) turns, each in a new session key (memory)"
    record "$side" chat_newkeys 1 -- "${CLIENT_ON_OTHER[@]}" chat "${conn[@]}" --sessions "$CHAT_SESSIONS" \
      --turns "$newKeyTurns" --warmup-turns 1 --new-session-keys --session-prefix newkeys --rss-pid "$pid" >/dev/null
  fi
}

# alive SIDE PGID LOGFILE FIGURE: notes a crash (with the log's tail) when the gateway is gone.
check_alive() {
  local side=$1 pid=$2 logfile=$3 after=$4
  if ! kill -0 "$pid" 2>/dev/null; then
    note "$side" "gateway (pid $pid) is gone after '$after'. Last log lines ($logfile):
$(tail -n 40 "$logfile" 2>/dev/null)"
    return 1
  fi
}

machine_info() {
  jq -nc --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
    --arg cores "$(nproc)" --arg kernel "$(uname -r)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg mem "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)" \
    --arg talon "$("$TALON_BIN" version 2>/dev/null | head -n1)" \
    --arg openclaw "$([[ $SKIP_OPENCLAW == 1 ]] || "$OPENCLAW" --version 2>/dev/null | head -n1)" \
    --arg node "$([[ $SKIP_OPENCLAW == 1 ]] || "$OPENCLAW_DIR/node" --version 2>/dev/null)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)" \
    --arg dirty "$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -c . || true)" \
    --arg phase "$1" --arg nice "$(ps -o ni= -p $$ | tr -d ' ')" \
    '{machine:{phase:$phase, cpu:$cpu, cores:$cores, kernel:$kernel, loadavg:$load, memory:$mem, talon:$talon,
      openclaw:$openclaw, node:$node, date:$date, commit:$commit, dirtyFiles:$dirty, nice:$nice}}' >>"$JSONL"
}

START_TIME=$(date +%s)
machine_info start
TOKEN="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# ---------------------------------------------------------------- the scripted model
log "mock model on cpu $CLIENT_CPU"
mkdir -p "$WORK/mock"
start_group "$WORK/mock/mock.log" taskset -c "$CLIENT_CPU" "$MOCK_MODEL" --port 0 --port-file "$WORK/mock/port" --log "$WORK/mock/requests.jsonl"
MOCK_PGID=$STARTED_PID
MOCK_PORT=$(wait_port_file "$WORK/mock/port")

gateway_config() {  # gateway_config FILE EXTRA_JSON: the same config for both gateways
  jq -n --arg token "$TOKEN" --arg url "http://127.0.0.1:$MOCK_PORT/v1" --argjson extra "$2" '{
    gateway: {mode: "local", bind: "loopback", auth: {mode: "token", token: $token}},
    models: {providers: {mock: {baseUrl: $url, apiKey: "k", api: "openai-completions",
                                 models: [{id: "mock-model", name: "Mock"}]}}},
    agents: {defaults: {model: "mock/mock-model"}}
  } * $extra' >"$1"
}

# ---------------------------------------------------------------- the page cache
# A VM may hand its free memory back to the host (virtio-balloon), and with it the page cache: measured on
# the machine this was written on, a binary's cached pages drain within a minute of its last start. A
# start that finds part of its executable gone reads it again from disk (mmap read-around of
# read_ahead_kb), which adds milliseconds that say nothing about the program; so before each warm start the
# files a start maps are read into the page cache, and starts without the executable cached are measured
# apart (figure startup_evicted).

# page_cache_warm PATH...: reads every regular file under PATH (files or directories).
page_cache_warm() { find "$@" -type f -print0 2>/dev/null | xargs -0 -r cat >/dev/null 2>&1 || true; }

# page_cache_evict FILE...: drops FILE's clean pages from the page cache (posix_fadvise DONTNEED).
page_cache_evict() {
  python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"
}

# start_files BIN: BIN and the shared libraries it loads (ldd), one per line.
start_files() {
  readlink -f "$1"
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | xargs -r readlink -f
}
mapfile -t ECHO_FILES < <(start_files "$ECHO_SERVER")
mapfile -t TALON_FILES < <(start_files "$TALON_BIN")
OPENCLAW_FILES=("$OPENCLAW_DIR/..")

# ---------------------------------------------------------------- floor: bare WebSocket echo on src/net
# Its runs interleave with Talon's (floor run r, then Talon run r) so that both see the same machine. One
# I/O thread: it has one core, and two threads on one core hand messages to each other (measured: same-core
# p50 35 µs with two threads, 17 µs with one).
log "floor: talon-bench-echo on cpu $SERVER_CPU"
mkdir -p "$WORK/echo"
start_group "$WORK/echo/echo.log" taskset -c "$SERVER_CPU" "$ECHO_SERVER" --threads 1 --port 0 --port-file "$WORK/echo/port"
ECHO_PGID=$STARTED_PID
ECHO_PORT=$(wait_port_file "$WORK/echo/port")
floor_run() { rpc_run floor "$1" "$ECHO_PORT" "" "$ECHO_PGID" "$LATENCY_COUNT" 0 --raw; }
# floor_start RUN: one start of the echo server, measured as a gateway's warm start is (exec → first
# answer over a new WebSocket connection): what starting a process on the same stack costs on this machine.
# FIGURE is startup (the executable read into the page cache first) or startup_evicted (dropped from it).
floor_start() {
  local figure=${2:-startup}
  log "floor: $figure $1"
  if [[ $figure == startup_evicted ]]; then page_cache_evict "$ECHO_SERVER"; else page_cache_warm "${ECHO_FILES[@]}"; fi
  record floor "$figure" "$1" -- "$CLIENT" startup --raw --port-file "$WORK/echo/start-port" \
    --log "$WORK/echo/start.log" -- "$ECHO_SERVER" --threads 1 --port 0 --port-file "$WORK/echo/start-port" >/dev/null
}

# throughput_pairs PORT TOKEN PID: TP_PAIRS pairs of `health` throughput runs at 64 connections, the
# floor's and Talon's back to back (floor first in odd pairs, Talon first in even ones), each
# TP_PAIR_DURATION_MS after TP_WARMUP_MS. On a VM whose speed drifts by tens of percent within minutes,
# runs seconds apart are comparable where runs half a minute apart (rpc_run's) are not. Each pair also
# runs the replay floor (side floor_replay, between the two): the echo server answering every request
# with Talon's own `health` answer, byte for byte but for the id (talon-bench-echo --answer-file, the
# answer saved by Talon's last latency run), so the cost of sending and reading that answer — the
# kernel's, and a client's that parses it — is in its figure too, with no protocol work behind it.
throughput_pairs() {
  local port=$1 token=$2 pid=$3
  local tp=(throughput --conns 64 --duration-ms "$TP_PAIR_DURATION_MS" --warmup-ms "$TP_WARMUP_MS")
  local answerFile=$WORK/talon-health-answer.json replayPgid="" replayPort=""
  if [[ -s $answerFile ]]; then
    start_group "$WORK/echo/replay.log" taskset -c "$SERVER_CPU" "$ECHO_SERVER" --threads 1 --port 0 \
      --port-file "$WORK/echo/replay-port" --answer-file "$answerFile"
    replayPgid=$STARTED_PID
    replayPort=$(wait_port_file "$WORK/echo/replay-port")
    log "floor_replay: talon-bench-echo replaying Talon's $(($(wc -c <"$answerFile") - 1)) B health answer on cpu $SERVER_CPU"
  else
    note floor "no Talon latency run saved its health answer; the replay floor was not run"
  fi
  triplets throughput_64_pair "$TP_PAIRS" "" "$port" "$token" "$pid" "$replayPort" "$replayPgid" \
    -- "${CLIENT_ON_OTHER[@]}" "${tp[@]}"
  node_pairs "$port" "$token" "$pid" "$replayPort" "$replayPgid"
  if [[ -n $replayPgid ]]; then stop_group "$replayPgid"; fi
}

# node_pairs PORT TOKEN PID REPLAY_PORT REPLAY_PGID: NODE_PAIRS triplets of the same 64-connection `health`
# runs (floor, replay floor, Talon; order alternating) with Node's `ws` as the client (bench/node/ws-load.mjs
# on CLIENT_CPU) — the neutral client the gateway issue's first figures were measured with. Skipped, with a
# note, when there is no Node or its `ws` cannot be installed.
node_pairs() {
  local port=$1 token=$2 pid=$3 replayPort=$4 replayPgid=$5
  ((NODE_PAIRS > 0)) || return 0
  if [[ -z $NODE_BIN || ! -x $NODE_BIN ]]; then
    note floor "no Node to run (NODE_BIN=${NODE_BIN:-}): the Node-client pairs were not run"
    return 0
  fi
  if [[ ! -d $ROOT/bench/node/node_modules/ws ]] &&
    ! (cd "$ROOT/bench/node" && npm ci --no-audit --no-fund >"$WORK/npm-ci.log" 2>&1); then
    note floor "npm ci in bench/node failed: the Node-client pairs were not run. $(tail -n 5 "$WORK/npm-ci.log")"
    return 0
  fi
  local nd=(taskset -c "$CLIENT_CPU" "$NODE_BIN" "$ROOT/bench/node/ws-load.mjs" --conns 64
    --duration-ms "$TP_PAIR_DURATION_MS" --warmup-ms "$TP_WARMUP_MS")
  triplets throughput_64_node_pair "$NODE_PAIRS" ", Node ws client" "$port" "$token" "$pid" "$replayPort" \
    "$replayPgid" -- "${nd[@]}"
}

# triplets FIGURE ROUNDS LABEL PORT TOKEN PID REPLAY_PORT REPLAY_PGID -- CLIENT...: ROUNDS rounds of one
# 64-connection `health` run each of the floor, the replay floor (when REPLAY_PORT is set) and Talon, back to
# back (the order reversed in even rounds), with CLIENT (a throughput command taking --port, --raw or
# --token, and --cpu-pid) as the client; recorded as FIGURE.
triplets() {
  local figure=$1 rounds=$2 label=$3 port=$4 token=$5 pid=$6 replayPort=$7 replayPgid=$8 i side
  shift 9
  local client=("$@")
  for i in $(seq 1 "$rounds"); do
    local order=(floor floor_replay talon)
    ((i % 2 == 0)) && order=(talon floor_replay floor)
    for side in "${order[@]}"; do
      [[ $side == floor_replay && -z $replayPort ]] && continue
      log "$side: health throughput pair $i/$rounds, 64 connections$label"
      case $side in
        floor) record floor "$figure" "$i" -- "${client[@]}" --port "$ECHO_PORT" --raw --cpu-pid "$ECHO_PGID" >/dev/null ;;
        floor_replay)
          record floor_replay "$figure" "$i" -- "${client[@]}" --port "$replayPort" --raw --cpu-pid "$replayPgid" \
            >/dev/null
          ;;
        talon) record talon "$figure" "$i" -- "${client[@]}" --port "$port" --token "$token" --cpu-pid "$pid" >/dev/null ;;
      esac
    done
  done
}

# ---------------------------------------------------------------- gateways
# gateway_suite SIDE LAT HS CHAT_TURNS PER_SESSION CHAT_REPEATS NEWKEY_TURNS LOGFILE -- STARTUP_ARGS... -- COMMAND...
gateway_suite() {
  local side=$1 lat=$2 hs=$3 chatTurns=$4 perSession=$5 chatRepeats=$6 newKeyTurns=$7 logfile=$8
  shift 9
  local startArgs=()
  while [[ $1 != -- ]]; do startArgs+=("$1"); shift; done
  shift
  local cmd=("$@")
  local dir=$WORK/$side
  local pidFile=$dir/gateway.pid

  local files=("${TALON_FILES[@]}")
  [[ $side == openclaw ]] && files=("${OPENCLAW_FILES[@]}")
  log "$side: cold start (fresh state)"
  page_cache_warm "${files[@]}"
  # start_once FIGURE RUN: one measured start of this side (its state dir kept), stopped after the figure.
  start_once() {
    record "$side" "$1" "$2" -- "$CLIENT" startup --token "$TOKEN" "${startArgs[@]}" --log "$dir/gateway.out" \
      --pid-file "$pidFile" -- "${cmd[@]}" >/dev/null
    rm -f "$pidFile"
  }
  start_once startup_cold 0
  local last=""
  for r in $(seq 1 "$STARTUP_RUNS"); do
    if [[ $side == talon ]]; then floor_start "$r"; fi
    log "$side: warm start $r/$STARTUP_RUNS"
    page_cache_warm "${files[@]}"
    start_once startup "$r"
  done
  if [[ $side == talon ]]; then
    for r in $(seq 1 "$STARTUP_EVICTED_RUNS"); do
      floor_start "$r" startup_evicted
      log "$side: start $r/$STARTUP_EVICTED_RUNS with the executable dropped from the page cache"
      page_cache_evict "$TALON_BIN"
      start_once startup_evicted "$r"
    done
  fi
  # The gateway measured from here on starts on its core, as the floor does (taskset at exec, not only
  # taskset -a -p afterwards), so that anything it sizes from its CPU affinity sees one core.
  log "$side: start on cpu $SERVER_CPU for the rest of the suite"
  last=$(record "$side" startup_pinned 0 -- "$CLIENT" startup --token "$TOKEN" "${startArgs[@]}" --leave-running \
    --log "$dir/gateway.out" --pid-file "$pidFile" -- taskset -c "$SERVER_CPU" "${cmd[@]}")
  local pid port
  pid=$(jq -r '.pid // empty' <<<"$last" 2>/dev/null || true)
  port=$(jq -r '.port // empty' <<<"$last" 2>/dev/null || true)
  if [[ -z $pid || -z $port ]]; then
    note "$side" "the gateway did not start; nothing else measured. Output: $(tail -n 40 "$dir/gateway.out" 2>/dev/null)"
    if [[ $side == talon ]]; then
      for r in $(seq 1 "$REPEATS"); do floor_run "$r"; done
      stop_group "$ECHO_PGID"
    fi
    return 0
  fi
  PGIDS+=("$pid")
  pin_group "$pid"
  log "$side: gateway pid $pid on port $port, pinned to cpu $SERVER_CPU"

  for r in $(seq 1 "$REPEATS"); do
    if [[ $side == talon ]]; then floor_run "$r"; fi
    rpc_run "$side" "$r" "$port" "$TOKEN" "$pid" "$lat" "$hs"
  done
  if [[ $side == talon ]]; then
    throughput_pairs "$port" "$TOKEN" "$pid"
    stop_group "$ECHO_PGID"
  fi
  check_alive "$side" "$pid" "$logfile" "health latency/handshake/throughput" || return 0
  chat_suite "$side" "$port" "$TOKEN" "$pid" "$chatTurns" "$perSession" "$chatRepeats" "$newKeyTurns"
  check_alive "$side" "$pid" "$logfile" "chat turns" || return 0
  record "$side" rss_end 0 -- "$CLIENT" rss --pid "$pid" >/dev/null
  log "$side: stopping"
  stop_group "$pid"
}

# Talon
mkdir -p "$WORK/talon/state"
gateway_config "$WORK/talon/talon.json" '{}'
log "talon: $TALON_BIN"
export TALON_STATE_DIR=$WORK/talon/state
gateway_suite talon "$LATENCY_COUNT" "$HANDSHAKE_COUNT" "$CHAT_TURNS" \
  "$CHAT_TURNS_PER_SESSION" "$REPEATS" "$NEWKEY_TURNS_PER_SESSION" "$WORK/talon/state/logs/talon.log" \
  -- --port-file "$WORK/talon/port" \
  -- "$TALON_BIN" gateway run --config "$WORK/talon/talon.json" \
  --port 0 --port-file "$WORK/talon/port"
if [[ -f $WORK/talon/state/logs/talon.log ]]; then
  cp "$WORK/talon/state/logs/talon.log" "$WORK/talon.log"
  pattern='"level":"(warn|warning|error|critical)"'
  n=$(grep -cE "$pattern" "$WORK/talon.log" || true)
  if ((n > 0)); then
    note talon "talon.log ($TALON_STATE_DIR/logs/talon.log) has $n warning/error lines; the first ones:
$(grep -E "$pattern" "$WORK/talon.log" | head -n 20)"
  fi
fi

# OpenClaw
if [[ $SKIP_OPENCLAW != 1 ]]; then
  mkdir -p "$WORK/openclaw/state" "$WORK/openclaw/home"
  gateway_config "$WORK/openclaw/openclaw.json" \
    "$(jq -nc --arg f "$WORK/openclaw/openclaw.log" '{logging: {file: $f}}')"
  export OPENCLAW_STATE_DIR=$WORK/openclaw/state OPENCLAW_HOME=$WORK/openclaw/home
  export OPENCLAW_CONFIG_PATH=$WORK/openclaw/openclaw.json
  log "openclaw: $OPENCLAW ($("$OPENCLAW" --version 2>/dev/null | head -n1))"
  gateway_suite openclaw "$OC_LATENCY_COUNT" "$OC_HANDSHAKE_COUNT" "$OC_CHAT_TURNS" "$OC_CHAT_TURNS_PER_SESSION" \
    "$OC_CHAT_REPEATS" "$OC_NEWKEY_TURNS_PER_SESSION" "$WORK/openclaw/gateway.out" \
    -- --port auto --timeout-ms 300000 --settle-ms 3000 --stop-timeout-ms 15000 \
    -- "$OPENCLAW" gateway run --port '{port}' --bind loopback --auth token --token "$TOKEN"
fi

stop_group "$MOCK_PGID"
jq -nc --arg n "$(grep -c . "$WORK/mock/requests.jsonl" 2>/dev/null || echo 0)" '{mockRequests: ($n|tonumber)}' >>"$JSONL"
machine_info end
jq -nc --argjson s "$(($(date +%s) - START_TIME))" '{elapsedSeconds: $s}' >>"$JSONL"

# ---------------------------------------------------------------- RESULTS.md
SIZES="latency ${LATENCY_COUNT}/${OC_LATENCY_COUNT} round trips, handshake ${HANDSHAKE_COUNT}/${OC_HANDSHAKE_COUNT}, \
throughput ${TP_DURATION_MS} ms after ${TP_WARMUP_MS} ms warm-up, chat ${CHAT_TURNS}/${OC_CHAT_TURNS} turns in one session, \
${CHAT_SESSIONS} sessions x ${CHAT_TURNS_PER_SESSION}/${OC_CHAT_TURNS_PER_SESSION} turns after a warm-up of \
${CHAT_SESSIONS} x ${CHAT_WARMUP_TURNS_PER_SESSION}/${OC_CHAT_WARMUP_TURNS_PER_SESSION}; repeats ${REPEATS} (OpenClaw chat: ${OC_CHAT_REPEATS})"
# The build type of the binary under test, from the CMake cache beside it (unknown for a binary elsewhere).
TALON_BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$TALON_BIN")/CMakeCache.txt" 2>/dev/null || true)
SIZES=$SIZES SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU STARTUP_RUNS=$STARTUP_RUNS TALON_BUILD_TYPE=${TALON_BUILD_TYPE:-build type unknown} \
  python3 - "$JSONL" "$RESULTS" <<'PY'
import json, os, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out_path = sys.argv[2]
runs = [r for r in rows if "figure" in r]
machine = [r["machine"] for r in rows if "machine" in r]
notes = [r for r in rows if "note" in r]
extra = {k: v for r in rows for k, v in r.items() if k in ("mockRequests", "elapsedSeconds")}
scpu, ccpu = os.environ["SERVER_CPU"], os.environ["CLIENT_CPU"]

def results(side, figure):
    return [r["result"] for r in runs if r["side"] == side and r["figure"] == figure and r["ok"]]

def med(side, figure, key, scale=1.0):
    vals = [r[key] for r in results(side, figure) if key in r]
    return statistics.median(vals) * scale if vals else None

def nruns(side, figure):
    return len(results(side, figure))

def fmt(v, digits=None):
    if v is None:
        return "—"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f}"

MiB = 1 / 1024.0
table = []  # (figure, talon, openclaw, ratio, floor, target, target_ok)

def ratio(t, o, higher_better):
    if t is None or o is None or t == 0 or o == 0:
        return "—"
    r = t / o if higher_better else o / t
    return f"{r:,.1f}×" if r < 100 else f"{r:,.0f}×"

def row(name, side_key, figure, key, unit_scale=1.0, higher_better=False, floor=True, target=None, digits=None):
    t = med("talon", figure, key, unit_scale)
    o = med("openclaw", figure, key, unit_scale)
    f = med("floor", figure, key, unit_scale) if floor else None
    ok = ""
    if target is not None and t is not None:
        ok = "✅" if (t >= target if higher_better else t <= target) else "❌"
    tgt = "—" if target is None else (("≥ " if higher_better else "≤ ") + fmt(target, digits))
    table.append((name, fmt(t, digits), fmt(o, digits), ratio(t, o, higher_better),
                  fmt(f, digits) if floor else "", f"{tgt} {ok}".strip()))

row("start → first successful `health` (ms), median of warm starts", None, "startup", "startToHealthMs",
    target=10)
row("start → first `health` with the executable dropped from the page cache first (ms)", None, "startup_evicted",
    "startToHealthMs")
row("start → first `health`, cold start: fresh state dir (ms)", None, "startup_cold", "startToHealthMs", floor=False,
    target=20)
row("idle RSS after start (MiB, process tree)", None, "startup", "rssIdleTreeKiB", MiB, floor=False, target=20, digits=1)
row("idle RSS after start (MiB, main process only)", None, "startup", "rssIdleMainKiB", MiB, floor=False, digits=1)
row("idle PSS after start (MiB, process tree)", None, "startup", "pssIdleTreeKiB", MiB, floor=False, digits=1)
row("idle private memory after start (MiB, process tree: Private_Clean + Private_Dirty)", None, "startup",
    "privateIdleTreeKiB", MiB, floor=False, digits=1)
row("idle anonymous memory after start (MiB, process tree)", None, "startup", "anonIdleTreeKiB", MiB, floor=False,
    target=2, digits=1)
row(f"`health` p50 (µs), server cpu {scpu}, client cpu {ccpu}", None, "latency_cross", "rttP50Us", target=110)
row(f"`health` p99 (µs), server cpu {scpu}, client cpu {ccpu}", None, "latency_cross", "rttP99Us")
row(f"`health` p50 (µs), server and client both on cpu {scpu}", None, "latency_same", "rttP50Us")
row(f"`health` p99 (µs), server and client both on cpu {scpu}", None, "latency_same", "rttP99Us")
row("handshake `connect` → hello-ok p50 (µs)", None, "handshake", "connectToHelloP50Us", floor=False)
row("handshake TCP connect → hello-ok p50 (µs)", None, "handshake", "tcpToHelloP50Us", floor=False)
for c in (1, 8, 64):
    row(f"`health` throughput, {c} connection{'s' if c > 1 else ''} (RPC/s)", None, f"throughput_{c}", "rps",
        higher_better=True, target=None)
# Talon's run r against the floor run just before it (they alternate), so both saw the same machine;
# the median of those ratios (a ratio of medians would pair runs that saw different load).
def pair_ratios(figure, key, top="talon", base="floor"):
    by_run = {}
    for r in runs:
        if r["figure"] == figure and r["ok"] and r["side"] in (top, base) and key in (r.get("result") or {}):
            by_run.setdefault(r["run"], {})[r["side"]] = r["result"][key]
    return [v[top] / v[base] for v in by_run.values() if v.get(base) and top in v]

# A table row of ratios: "LABEL (median of …)", the median in Talon's column (the floor's at 1.00), or in
# the floor's column when floor_column.
# With `target`, the target column marks the median against it (higher is better).
def ratio_row(label, ratios, floor_column=False, target=None):
    median = statistics.median(ratios)
    m = fmt(median, 2)
    text = f"{label} (median of " + ", ".join(f"{x:.2f}" for x in ratios) + ")"
    goal = "—" if target is None else f"≥ {target:.2f}" + (" ✅" if median >= target else " ❌")
    return (text, "—", "—", "—", m, goal) if floor_column else (text, m, "—", "—", "1.00", goal)

pr = pair_ratios("throughput_64", "rps")
if pr:
    table.append(ratio_row("`health` throughput at 64 connections ÷ the floor's, runs of the same repeat", pr))
pp = pair_ratios("throughput_64_pair", "rps")
if pp:
    table.append(ratio_row(f"`health` throughput at 64 connections ÷ the floor's, {len(pp)} back-to-back pairs", pp,
                           target=0.9))
    pc = pair_ratios("throughput_64_pair", "serverCpuPerRpcUs")
    if pc:
        table.append(ratio_row("server CPU per `health` RPC at 64 connections ÷ the floor's, same pairs", pc))
# The replay floor (an echo answering with Talon's own health answer) in the same pairs: how much of the
# distance to the floor the answer itself accounts for, with no protocol work behind it.
ps = pair_ratios("throughput_64_pair", "rps", top="floor_replay")
if ps:
    table.append(ratio_row("replay floor's `health` throughput at 64 connections ÷ the floor's, same pairs: the echo "
                           "answering with Talon's own answer", ps, floor_column=True))
    for key, what in (("rps", "`health` throughput"), ("serverCpuPerRpcUs", "server CPU per `health` RPC")):
        r = pair_ratios("throughput_64_pair", key, base="floor_replay")
        if r:
            table.append(ratio_row(f"{what} at 64 connections ÷ the replay floor's, same pairs", r))
# The same triplets with Node's `ws` as the client (the issue's first client): the client's own CPU per
# answer is reported beside the server's, since a client that saturates its core measures itself.
pn = pair_ratios("throughput_64_node_pair", "rps")
if pn:
    table.append(ratio_row(f"`health` throughput at 64 connections ÷ the floor's, Node `ws` client, {len(pn)} "
                           "back-to-back pairs", pn, target=0.9))
    ns = pair_ratios("throughput_64_node_pair", "rps", top="floor_replay")
    if ns:
        table.append(ratio_row("replay floor's `health` throughput at 64 connections ÷ the floor's, Node `ws` client, "
                               "same pairs: what any server sending this answer reaches", ns, floor_column=True))
        r = pair_ratios("throughput_64_node_pair", "rps", base="floor_replay")
        if r:
            table.append(ratio_row("`health` throughput at 64 connections ÷ the replay floor's, Node `ws` client, "
                                   "same pairs", r))
    row("`health` throughput at 64 connections, Node `ws` client (RPC/s)", None, "throughput_64_node_pair", "rps",
        higher_better=True)
    row("Node client's cores used in those runs (1.00: the client is the bottleneck)", None,
        "throughput_64_node_pair", "clientCoresUsed", digits=2)
    row("Node client's CPU per answer (µs)", None, "throughput_64_node_pair", "clientCpuPerRpcUs", digits=1)
    row("server CPU per `health` RPC, Node `ws` client (µs)", None, "throughput_64_node_pair", "serverCpuPerRpcUs",
        digits=2)
row("server CPU per `health` RPC at 64 connections (µs: CPU time ÷ answers)", None, "throughput_64",
    "serverCpuPerRpcUs", digits=2)
row("server cores used at 64 connections", None, "throughput_64", "serverCores", digits=2)
row("`chat.send` → final `chat` event p50, one session (ms)", None, "chat_1", "turnP50Ms", floor=False, target=1,
    digits=2)
row("`chat.send` → final `chat` event p99, one session (ms)", None, "chat_1", "turnP99Ms", floor=False, digits=2)
row(f"agent turns/s across 32 sessions (32 connections)", None, "chat_32", "turnsPerSec", higher_better=True,
    floor=False, target=2000)
row("turn latency p50 under 32 sessions (ms)", None, "chat_32", "turnP50Ms", floor=False, digits=2)
row("gateway CPU per turn under 32 sessions (ms: CPU time ÷ turns)", None, "chat_32", "serverCpuPerTurnMs",
    floor=False, target=0.3, digits=2)
row("gateway cores used under 32 sessions", None, "chat_32", "serverCores", floor=False, digits=2)

def growth_per_1000(side):
    vals = []
    for r in results(side, "chat_32"):
        turns = r.get("turnsCompleted", 0) + r.get("sessions", 0) * r.get("warmupTurnsPerSession", 0)
        if turns and "rssBeforeTreeKiB" in r and "rssAfterSettleTreeKiB" in r:
            vals.append((r["rssAfterSettleTreeKiB"] - r["rssBeforeTreeKiB"]) * MiB * 1000.0 / turns)
    return statistics.median(vals) if vals else None

tg, og = growth_per_1000("talon"), growth_per_1000("openclaw")

def newkeys(side, key):
    rs = results(side, "chat_newkeys")
    return rs[0].get(key) if rs else None

for side_label, key in (("RSS", "rss"), ("private memory", "private")):
    vals = {}
    for side in ("talon", "openclaw"):
        b, a = newkeys(side, key + "BeforeTreeKiB"), newkeys(side, key + "AfterSettleTreeKiB")
        vals[side] = (a - b) * MiB if a is not None and b is not None else None
    turns = newkeys("talon", "turnsCompleted")
    t = vals["talon"]
    table.append((f"{side_label} growth across {turns or '?'} turns, each in a new session key (MiB)", fmt(t, 1),
                  fmt(vals["openclaw"], 1), "—", "", "≤ 2.0" + ("" if t is None else (" ✅" if t <= 2 else " ❌"))))
table.append(("RSS growth across a 32-session run, scaled to 1,000 turns (MiB; flat: < 0.5)", fmt(tg, 1), fmt(og, 1), "—", "",
              "flat" + ("" if tg is None else (" ✅" if tg < 0.5 else " ❌"))))
wu = results("talon", "chat_warmup")
if wu and "rssBeforeTreeKiB" in wu[0] and "rssAfterSettleTreeKiB" in wu[0]:
    w0 = wu[0]
    table.append((f"RSS growth during the warm-up before the rows above ({w0.get('turnsCompleted', '?')} turns in "
                  f"{w0.get('sessions', '?')} sessions; MiB)",
                  fmt((w0["rssAfterSettleTreeKiB"] - w0["rssBeforeTreeKiB"]) * MiB, 1), "—", "—", "", "—"))

def rss_growth(side):
    rs = results(side, "chat_32")
    if not rs:
        return None
    first = rs[0]
    before = first.get("rssBeforeTreeKiB")
    after = [r.get("rssAfterSettleTreeKiB") for r in rs]
    turns = sum(r.get("turnsCompleted", 0) + r.get("sessions", 0) * r.get("warmupTurnsPerSession", 0) for r in rs)
    return before, after, turns, rs

lines = []
w = lines.append
w("# Talon vs OpenClaw, side by side")
w("")
w("Written by `bench/side-by-side.sh` (how to run it and what each figure means: `bench/README.md`). One run, one "
  "machine, both gateways driven by the same client (`talon-bench-client`) against the same scripted model "
  "(`talon-mock-model`, answers \"ok\" at once). Each figure is the **median over repeated runs** "
  f"({os.environ['STARTUP_RUNS']} warm starts for start-up). Sizes: {os.environ['SIZES']}.")
w("")
if machine:
    m0, m1 = machine[0], machine[-1]
    w(f"- Machine: {m0['cpu']}, {m0['cores']} cores, {m0['memory']}, Linux {m0['kernel']}; run {m0['date']}, "
      f"{extra.get('elapsedSeconds', '?')} s.")
    busy = max(float(m0['loadavg'].split()[0]), float(m1['loadavg'].split()[0])) > 0.7
    nice = m0.get('nice', '0')
    if nice not in ('', '0'):
        how = f"; every process of the benchmark ran at nice {nice} so that this other work mostly waited."
    else:
        how = ", so figures are pessimistic (tails above all)." if busy else "."
    w(f"- Load average at start / end: {m0['loadavg']} / {m1['loadavg']}"
      + (" — **the machine was not idle: other work shared these cores**" if busy else "") + how)
    w(f"- Talon: `{m0['talon'] or '?'}` (commit {m0['commit'] or '?'}, {m0['dirtyFiles']} uncommitted files), "
      f"{os.environ['TALON_BUILD_TYPE']}. OpenClaw: `{m0['openclaw'] or 'skipped'}` on Node {m0['node'] or '?'}.")
w(f"- Placement: the server under test runs alone on **cpu {scpu}** (`taskset`, every thread of every process of "
  f"the gateway); the client and the mock model run on **cpu {ccpu}**, except the same-core rows where the client "
  f"is on cpu {scpu} too. The gateway under test is started on cpu {scpu} (`taskset` at exec, as the floor is); "
  f"the measured start-up runs are not pinned.")
w("- Throughput is **one request in flight per connection** (no pipelining): each connection sends its next "
  "`health` when the previous answer arrives.")
w("")
w("| Figure | Talon | OpenClaw | Talon better by | Floor: bare WebSocket echo on src/net | Talon target |")
w("|---|---:|---:|---:|---:|---|")
for name, t, o, r, f, tgt in table:
    w(f"| {name} | {t} | {o} | {r} | {f} | {tgt} |")
w("")
w("Memory across agent turns (process tree RSS, MiB):")
w("")
w("| Gateway | before the 32-session runs | after each run (settled 2 s) | turns in those runs |")
w("|---|---:|---|---:|")
for side in ("talon", "openclaw"):
    g = rss_growth(side)
    if g:
        before, after, turns, _ = g
        w(f"| {side} | {fmt(before * MiB if before else None, 1)} | "
          f"{', '.join(fmt(a * MiB, 1) if a else '—' for a in after)} | {turns:,} |")
w("")
w("Notes on the figures:")
w("")
w("- **Floor** is `talon-bench-echo` (a WebSocket echo on `net::Server`, the gateway's own HTTP/WebSocket stack, "
  "one I/O thread) measured by the same client with the same request text, its runs interleaved with Talon's; "
  "the distance from the floor to Talon is the cost of the protocol layer (parsing, scope check, the `health` "
  "handler, serialising the answer) and of the answer itself (the replay floor's rows separate the two). In the "
  "warm-start row, the floor is the echo server's own start (exec → "
  "first echo over a new connection, by the same client, its starts interleaved with Talon's): what starting "
  "a process on the same stack costs on this machine.")
w("- **Warm start** means the state dir exists and the page cache holds the executable and its libraries "
  "(OpenClaw: Node and its packages): they are read into it before each start, since this VM hands its free "
  "memory, page cache included, back to the host within a minute. The row \"executable dropped from the page "
  "cache\" starts the floor and Talon after `posix_fadvise(DONTNEED)` of their executables: the start then "
  "reads most of the file again (mmap read-around of `read_ahead_kb`), so that row grows with the executable's "
  "size more than with the work a start does.")
w("- **Node `ws` client** rows: the same 64-connection triplets (floor, replay floor, Talon) driven by "
  "`bench/node/ws-load.mjs` (Node's `ws`, one request in flight per connection, every answer read with "
  "`JSON.parse`), the client the gateway issue's first figures were measured with. That client saturates its "
  "core before any of the three servers does, so those ratios measure the client's cost of reading each "
  "answer as much as the servers; the client's and the server's CPU per answer are given apart.")
w("- **Replay floor** is the same echo server answering each request with Talon's own `health` answer, the "
  "bytes Talon's last latency run received with only the id replaced (`--answer-file`), run in the same "
  "back-to-back pairs: the floor echoes a 46-byte request, while the protocol's `health` answer is ~1.2–1.4 KB "
  "of JSON, and the kernel's cost of sending it and a client's cost of reading (and parsing) it are not the "
  "gateway's code. Talon ÷ replay floor is the protocol layer's own share; replay floor ÷ floor is the "
  "answer's.")
sizes = {}
for side in ("talon", "openclaw", "floor"):
    rs = results(side, "latency_cross")
    if rs:
        sizes[side] = rs[-1].get("responseBytes")
w(f"- `health` answer size: Talon {sizes.get('talon', '?')} B, OpenClaw {sizes.get('openclaw', '?')} B "
  f"(floor echoes the {sizes.get('floor', '?')} B request).")
hs = {s: (results(s, "handshake")[-1].get("helloBytes") if results(s, "handshake") else None) for s in ("talon", "openclaw")}
w(f"- hello-ok size: Talon {hs['talon'] or '?'} B, OpenClaw {hs['openclaw'] or '?'} B.")
w("- RSS is VmRSS from `/proc/PID/status`, summed over the gateway's process tree (OpenClaw runs a helper "
  "process); the main-process row is given too. Idle RSS is read "
  "after the first successful `health` plus a settle time (1 s Talon, 3 s OpenClaw).")
if "mockRequests" in extra:
    w(f"- The mock model served {extra['mockRequests']:,} requests in this run (every turn reached the model).")
w("- OpenClaw runs fewer samples (it is ~100× slower); its turn figures come from "
  f"{nruns('openclaw', 'chat_1')} single-session run(s) and {nruns('openclaw', 'chat_32')} 32-session run(s) "
  "of the sizes above, not from 1,000 turns.")
w("")
w("## Every run")
w("")
w("| Side | Figure | Run | Key figures |")
w("|---|---|---:|---|")
keys = {"startup": ["startToHealthMs", "rssIdleTreeKiB", "rssIdleMainKiB", "pssIdleTreeKiB", "privateIdleTreeKiB",
                    "anonIdleTreeKiB", "refusedAttempts", "rejectedAttempts"],
        "startup_cold": ["startToHealthMs", "rssIdleTreeKiB"],
        "startup_evicted": ["startToHealthMs", "rssIdleTreeKiB"],
        "startup_pinned": ["startToHealthMs", "rssIdleTreeKiB", "privateIdleTreeKiB", "anonIdleTreeKiB"],
        "latency_cross": ["rttP50Us", "rttP90Us", "rttP99Us", "rttP999Us", "rttMaxUs"],
        "latency_same": ["rttP50Us", "rttP90Us", "rttP99Us", "rttP999Us", "rttMaxUs"],
        "handshake": ["connectToHelloP50Us", "connectToHelloP99Us", "tcpToHelloP50Us"],
        "chat_1": ["turnsCompleted", "turnP50Ms", "turnP99Ms", "errors"],
        "chat_32": ["turnsCompleted", "turnsPerSec", "turnP50Ms", "turnP99Ms", "errors", "rssBeforeTreeKiB",
                    "rssAfterSettleTreeKiB", "serverCores", "serverCpuPerTurnMs"],
        "chat_warmup": ["turnsCompleted", "turnsPerSec", "errors", "rssBeforeTreeKiB", "rssAfterSettleTreeKiB",
                        "serverCpuPerTurnMs"],
        "chat_newkeys": ["turnsCompleted", "turnsPerSec", "errors", "rssBeforeTreeKiB", "rssAfterSettleTreeKiB",
                         "privateBeforeTreeKiB", "privateAfterSettleTreeKiB", "serverCpuPerTurnMs"],
        "rss_end": ["rssTreeKiB", "rssMainKiB", "pssTreeKiB", "privateTreeKiB", "anonTreeKiB"],
        "throughput_64_node_pair": ["rps", "errors", "serverCoresUsed", "serverCpuPerRpcUs", "clientCoresUsed",
                                    "clientCpuPerRpcUs", "client"]}
for r in runs:
    fig = r["figure"]
    k = keys.get(fig, ["rps", "latencyP50Us", "latencyP99Us", "errors", "closedConnections", "serverCores",
                       "serverCpuPerRpcUs"])
    res = r.get("result") or {}
    detail = ", ".join(f"{x}={res[x]}" for x in k if x in res)
    if not r["ok"]:
        detail = f"**FAILED** (exit {r.get('exit')}) " + detail
    w(f"| {r['side']} | {fig} | {r['run']} | {detail} |")
w("")
failed = [r for r in runs if not r["ok"]]
w("## Problems seen")
w("")
if not failed and not notes:
    w("None: every run completed without an error answer, a dropped connection or a crash.")
for r in failed:
    w(f"- **{r['side']} {r['figure']} run {r['run']}** exited {r.get('exit')}.")
    w(f"  - Command: `{r['command']}`")
    err = (r.get("stderr") or "").strip()
    if err:
        w("  - Output:")
        w("")
        w("    ```")
        for line in err.splitlines()[-15:]:
            w("    " + line)
        w("    ```")
    if r.get("result"):
        w(f"  - Partial result: `{json.dumps(r['result'])}`")
for n in notes:
    w(f"- **{n['side']}**:")
    w("")
    w("    ```")
    for line in n["note"].splitlines()[-45:]:
        w("    " + line)
    w("    ```")
w("")
# Earlier runs stay in the file below this one, as they were written.
earlier = ""
if os.path.exists(out_path):
    earlier = open(out_path).read()
    w("<!-- earlier runs follow, unchanged -->")
    w("")
    w("# Earlier runs")
    w("")
open(out_path, "w").write("\n".join(lines) + "\n" + earlier)
print(f"wrote {out_path}", file=sys.stderr)
PY
log "done: $RESULTS"
