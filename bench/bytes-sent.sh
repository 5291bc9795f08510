#!/usr/bin/env bash
# Bytes sent to the model for a simple one-line turn: Talon and OpenClaw 2026.9.6 in one run, each
# configured with the same scripted model (`talon-mock-model`, which logs every request it gets) and its
# default tool set, then OpenClaw again offering only the tools Talon offered (`tools.allow`); one `chat.send` turn each through the same load client. Prints, per gateway, every
# model request's body size (its Content-Length), the tools it offered (count, names, bytes of the
# `tools` array) and the bytes of its messages, and writes the raw log next to it. bench/README.md,
# "Bytes sent to the model".
#
#   bench/bytes-sent.sh                      # both gateways, TURNS=1
#   SKIP_OPENCLAW=1 bench/bytes-sent.sh      # Talon only
#
# Knobs: TALON_BIN (build/talon), BENCH_BUILD (build-bench: talon-bench-client, talon-mock-model),
# CLIENT, MOCK_MODEL, OPENCLAW (~/.cache/openclaw-ref/bin/openclaw, or $OPENCLAW_REF_DIR/bin/openclaw),
# TURNS (turns per gateway, each in its own session; default 1), MESSAGE (the user's line), KEEP_WORK=1.
# Every process it starts runs in a process group of its own and is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TALON_BIN:=$ROOT/build/talon}"
: "${BENCH_BUILD:=$ROOT/build-bench}"
: "${CLIENT:=$BENCH_BUILD/bench/talon-bench-client}"
: "${MOCK_MODEL:=$BENCH_BUILD/tests/support/talon-mock-model}"
: "${OPENCLAW:=${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}/bin/openclaw}"
: "${SKIP_OPENCLAW:=0}"
: "${KEEP_WORK:=0}"
: "${TURNS:=1}"
: "${MESSAGE:=What is the capital of France? Answer in one line.}"

die() { echo "bytes-sent: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
for b in "$TALON_BIN" "$CLIENT" "$MOCK_MODEL"; do [[ -x $b ]] || die "missing $b (bench/README.md)"; done
[[ $SKIP_OPENCLAW == 1 || -x $OPENCLAW ]] || die "missing $OPENCLAW (scripts/install-openclaw.sh) or set SKIP_OPENCLAW=1"
command -v jq >/dev/null || die "jq is needed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/talon-bytes-sent.XXXXXX")
PGIDS=()
cleanup() {
  local rc=$?
  for g in "${PGIDS[@]+"${PGIDS[@]}"}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  sleep 0.5
  for g in "${PGIDS[@]+"${PGIDS[@]}"}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  if [[ $KEEP_WORK == 1 || $rc -ne 0 ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_group() {  # start_group LOGFILE COMMAND...: a new process group; its id in STARTED_PID
  local logfile=$1
  shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  STARTED_PID=$!
  PGIDS+=("$STARTED_PID")
}
stop_group() {
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 1 150); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}
wait_port_file() {
  for _ in $(seq 1 1000); do
    [[ -s $1 ]] && { cat "$1"; return 0; }
    sleep 0.01
  done
  die "no port file $1"
}
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

log "mock model"
mkdir -p "$WORK/mock"
start_group "$WORK/mock/mock.log" "$MOCK_MODEL" --port 0 --port-file "$WORK/mock/port" --log "$WORK/mock/requests.jsonl"
MOCK_PGID=$STARTED_PID
MOCK_PORT=$(wait_port_file "$WORK/mock/port")

gateway_config() {  # the same config for both gateways (as bench/side-by-side.sh writes it)
  jq -n --arg token "$TOKEN" --arg url "http://127.0.0.1:$MOCK_PORT/v1" --argjson extra "$2" '{
    gateway: {mode: "local", bind: "loopback", auth: {mode: "token", token: $token}},
    models: {providers: {mock: {baseUrl: $url, apiKey: "k", api: "openai-completions",
                                 models: [{id: "mock-model", name: "Mock"}]}}},
    agents: {defaults: {model: "mock/mock-model"}}
  } * $extra' >"$1"
}

# one_side SIDE PORT: TURNS turns through the load client, then the requests the mock got meanwhile.
one_side() {
  local side=$1 port=$2 before
  before=$(grep -c . "$WORK/mock/requests.jsonl" 2>/dev/null || true)
  log "$side: $TURNS turn(s): \"$MESSAGE\""
  for attempt in $(seq 1 90); do  # a gateway still starting refuses the connect ("retry shortly")
    if "$CLIENT" chat --port "$port" --token "$TOKEN" --sessions "$TURNS" --turns 1 --warmup-turns 0 \
      --session-prefix "bytes-$side-$attempt" --message "$MESSAGE" --turn-timeout-ms 300000 \
      >"$WORK/$side/chat.json" 2>"$WORK/$side/chat.err"; then
      break
    fi
    grep -q "starting" "$WORK/$side/chat.err" || die "$side: the turn failed: $(tail -n 5 "$WORK/$side/chat.err")"
    ((attempt < 90)) || die "$side: the gateway did not finish starting"
    sleep 2
  done
  tail -n "+$((before + 1))" "$WORK/mock/requests.jsonl" | jq -c --arg side "$side" '. + {side: $side}' \
    >>"$WORK/sides.jsonl"
}

# Talon
mkdir -p "$WORK/talon/state"
gateway_config "$WORK/talon/talon.json" '{}'
log "talon: $TALON_BIN"
TALON_STATE_DIR=$WORK/talon/state start_group "$WORK/talon/gateway.out" \
  env TALON_STATE_DIR="$WORK/talon/state" "$TALON_BIN" gateway run --config "$WORK/talon/talon.json" \
  --port 0 --port-file "$WORK/talon/port"
TALON_PGID=$STARTED_PID
one_side talon "$(wait_port_file "$WORK/talon/port")"
stop_group "$TALON_PGID"

# OpenClaw: run_openclaw SIDE EXTRA_CONFIG_JSON
run_openclaw() {
  local side=$1 dir=$WORK/$1
  mkdir -p "$dir/state" "$dir/home"
  gateway_config "$dir/openclaw.json" "$(jq -nc --arg f "$dir/openclaw.log" --argjson extra "$2" '{logging: {file: $f}} * $extra')"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log "$side: $OPENCLAW ($("$OPENCLAW" --version 2>/dev/null | head -n1)) on port $port, extra config $2"
  start_group "$dir/gateway.out" env OPENCLAW_STATE_DIR="$dir/state" OPENCLAW_HOME="$dir/home" \
    OPENCLAW_CONFIG_PATH="$dir/openclaw.json" "$OPENCLAW" gateway run --port "$port" --bind loopback --auth token \
    --token "$TOKEN"
  local pgid=$STARTED_PID
  for _ in $(seq 1 1800); do  # OpenClaw takes a while to open its port
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pgid" 2>/dev/null || die "$side exited: $(tail -n 20 "$dir/gateway.out")"
    sleep 0.1
  done
  one_side "$side" "$port"
  stop_group "$pgid"
}
if [[ $SKIP_OPENCLAW != 1 ]]; then
  run_openclaw openclaw '{}'
  # The same tools as Talon: an allowlist of the tools Talon offered (tools.allow). (Denying the others
  # instead turns off OpenClaw's deferred tool search, and it then offers ~50 tools outright.)
  allow=$(jq -sc 'map(select(.side == "talon" and .method == "POST")) | first | .body.tools // [] | map(.function.name)' \
    "$WORK/sides.jsonl")
  run_openclaw openclaw-same-tools "$(jq -nc --argjson a "$allow" '{tools: {allow: $a}}')"
fi
stop_group "$MOCK_PGID"

# Report: per model request, the body's bytes (Content-Length) and what they hold.
python3 - "$WORK/sides.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    if r.get("method") != "POST" or "chat/completions" not in r.get("path", ""):
        continue
    body = r.get("body")
    size = int(r.get("headers", {}).get("content-length") or len(json.dumps(body, separators=(",", ":")).encode()))
    tools = body.get("tools", []) if isinstance(body, dict) else []
    msgs = body.get("messages", []) if isinstance(body, dict) else []
    compact = lambda v: len(json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode())
    sysb = sum(compact(m.get("content", "")) for m in msgs if m.get("role") in ("system", "developer"))
    names = [t.get("function", {}).get("name", t.get("name", "?")) for t in tools]
    by.setdefault(r["side"], []).append((size, len(tools), compact(tools) if tools else 0, compact(msgs), sysb, names))
print(f"{'gateway':20} {'request':>7} {'body bytes':>10} {'tools':>5} {'tools bytes':>11} {'messages bytes':>14} {'system bytes':>12}")
for side, reqs in by.items():
    for i, (size, nt, tb, mb, sb, names) in enumerate(reqs, 1):
        print(f"{side:20} {i:>7} {size:>10,} {nt:>5} {tb:>11,} {mb:>14,} {sb:>12,}")
for side, reqs in by.items():
    print(f"{side} tools: {', '.join(reqs[0][5]) if reqs else '-'}")
    print(f"{side} first request: {reqs[0][0]:,} bytes; all {len(reqs)} request(s): {sum(r[0] for r in reqs):,} bytes")
PY
