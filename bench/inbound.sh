#!/usr/bin/env bash
# Inbound throughput, side by side (issue 8): 100 concurrent peers, each on its own HTTP/1.1 keep-alive
# connection, POST /hooks/agent with "waitForCompletion": true (one request in flight per peer) to the
# floor (talon-bench-echo answering at once), Talon and OpenClaw, each turn answered by the scripted
# model (talon-mock-model). Writes messages/s, p50/p99 latency, the gateway's CPU per message and the
# Talon/OpenClaw and Talon/floor ratios (medians of REPEATS runs) as a new section at the top of
# bench/RESULTS.md (the rest of the file is kept). What each figure means: bench/README.md.
#
#   bench/inbound.sh                  # floor, Talon and OpenClaw (about 5 minutes)
#   SKIP_OPENCLAW=1 bench/inbound.sh  # floor and Talon only (about 2 minutes)
#
# Placement as side-by-side.sh: the server under test alone on SERVER_CPU, the client and the mock model
# on CLIENT_CPU. Every process this starts is in a process group of its own and is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TALON_BIN:=$ROOT/build/talon}"
: "${BENCH_BUILD:=$ROOT/build}"
: "${CLIENT:=$BENCH_BUILD/bench/talon-bench-client}"
: "${ECHO_SERVER:=$BENCH_BUILD/bench/talon-bench-echo}"
: "${MOCK_MODEL:=$BENCH_BUILD/tests/support/talon-mock-model}"
: "${OPENCLAW:=/root/.cache/openclaw-ref/bin/openclaw}"
: "${RESULTS:=$ROOT/bench/RESULTS.md}"
: "${SKIP_OPENCLAW:=0}"
: "${KEEP_WORK:=0}"
: "${NICE:=}"
: "${STEP_TIMEOUT:=900}"
: "${SERVER_CPU:=0}"
: "${CLIENT_CPU:=1}"
: "${PEERS:=100}"             # concurrent peers (connections), one request in flight each
: "${REPEATS:=3}"             # runs per side (floor and Talon alternate: floor run r, then Talon run r)
: "${DURATION_MS:=10000}"     # measured window, after WARMUP_MS
: "${WARMUP_MS:=2000}"
: "${OC_REPEATS:=1}"          # OpenClaw: slower turns, longer window, fewer runs
# A second, small load for both gateways (0 skips it): OpenClaw starts no hook run within its fixed 15 s
# admission timeout at 100 peers on one core, so the two are also compared where OpenClaw completes turns.
: "${LOW_PEERS:=1}"
: "${OC_LOW_DURATION_MS:=30000}"
: "${OC_LOW_WARMUP_MS:=5000}"
: "${OC_DURATION_MS:=40000}"
: "${OC_WARMUP_MS:=20000}"  # OpenClaw answers 503 to a hook run not started within 15 s

die() { echo "inbound: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for bin in "$CLIENT" "$ECHO_SERVER" "$MOCK_MODEL" "$TALON_BIN"; do
  [[ -x $bin ]] || die "missing $bin (build: see bench/README.md)"
done
[[ $SKIP_OPENCLAW == 1 || -x $OPENCLAW ]] || die "missing $OPENCLAW or set SKIP_OPENCLAW=1"
for tool in taskset jq python3 setsid; do command -v "$tool" >/dev/null || die "$tool is required"; done
(($(nproc) >= 2)) || die "needs at least 2 cores (server and client on different cores)"
if [[ -n $NICE ]]; then
  renice -n "$NICE" -p $$ >/dev/null || die "renice -n $NICE failed (a negative value needs root)"
fi

WORK=$(mktemp -d /tmp/talon-inbound.XXXXXX)
JSONL=$WORK/results.jsonl
: >"$JSONL"
PGIDS=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local groups=("${PGIDS[@]}")
  for f in "$WORK"/*/gateway.pid; do [[ -f $f ]] && groups+=("$(cat "$f")"); done
  for g in "${groups[@]}"; do [[ -n $g ]] && kill -TERM -- "-$g" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for g in "${groups[@]}"; do [[ -n $g ]] && kill -0 -- "-$g" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  for g in "${groups[@]}"; do [[ -n $g ]] && kill -KILL -- "-$g" 2>/dev/null || true; done
  if [[ $KEEP_WORK == 1 || $status -ne 0 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_group() {  # start_group LOGFILE COMMAND...: in a process group of its own; sets STARTED_PID
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
  for _ in $(seq 1 500); do
    [[ -s $1 ]] && { cat "$1"; return 0; }
    sleep 0.01
  done
  die "no port file $1"
}

pin_group() {  # every thread of every process of group $1 on SERVER_CPU
  for p in $(pgrep -g "$1" || true); do taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true; done
}

# record SIDE RUN -- COMMAND...: runs the client and appends its JSON result (or the failure) to results.jsonl.
record() {
  local side=$1 run=$2
  shift 3
  local out rc=0 err=$WORK/last.stderr
  out=$(timeout --foreground -k 10 "$STEP_TIMEOUT" "$@" 2>"$err") || rc=$?
  local last
  last=$(printf '%s\n' "$out" | tail -n 1)
  local result=null
  [[ -n $last ]] && jq -e . >/dev/null 2>&1 <<<"$last" && result=$last
  jq -nc --arg side "$side" --argjson run "$run" --argjson rc "$rc" --arg cmd "$*" --rawfile stderr "$err" \
    --argjson result "$result" \
    '{side:$side, run:$run, ok:($rc == 0 and $result != null), exit:$rc, command:$cmd, stderr:$stderr, result:$result}' \
    >>"$JSONL"
  ((rc == 0)) || log "FAILED: $side run $run (exit $rc): $(tail -n 3 "$err" | tr '\n' ' ')"
}

machine_info() {
  jq -nc --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
    --arg cores "$(nproc)" --arg kernel "$(uname -r)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg talon "$("$TALON_BIN" version 2>/dev/null | head -n1)" \
    --arg openclaw "$([[ $SKIP_OPENCLAW == 1 ]] || "$OPENCLAW" --version 2>/dev/null | head -n1)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)" \
    --arg phase "$1" --arg nice "$(ps -o ni= -p $$ | tr -d ' ')" \
    '{machine:{phase:$phase, cpu:$cpu, cores:$cores, kernel:$kernel, loadavg:$load, talon:$talon,
      openclaw:$openclaw, date:$date, commit:$commit, nice:$nice}}' >>"$JSONL"
}

START_TIME=$(date +%s)
machine_info start
TOKEN="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HOOK_TOKEN="hook-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CLIENT_ON_OTHER=(taskset -c "$CLIENT_CPU" "$CLIENT")

log "mock model on cpu $CLIENT_CPU"
mkdir -p "$WORK/mock"
start_group "$WORK/mock/mock.log" taskset -c "$CLIENT_CPU" "$MOCK_MODEL" --port 0 --port-file "$WORK/mock/port" \
  --log "$WORK/mock/requests.jsonl"
MOCK_PGID=$STARTED_PID
MOCK_PORT=$(wait_port_file "$WORK/mock/port")

# The same config for both gateways: one provider "mock" on the scripted model, the hooks ingress with
# per-request session keys under "hook:".
gateway_config() {  # gateway_config FILE EXTRA_JSON
  jq -n --arg token "$TOKEN" --arg hook "$HOOK_TOKEN" --arg url "http://127.0.0.1:$MOCK_PORT/v1" --argjson extra "$2" '{
    gateway: {mode: "local", bind: "loopback", auth: {mode: "token", token: $token}},
    hooks: {enabled: true, token: $hook, allowRequestSessionKey: true, allowedSessionKeyPrefixes: ["hook:"]},
    models: {providers: {mock: {baseUrl: $url, apiKey: "k", api: "openai-completions",
                                 models: [{id: "mock-model", name: "Mock"}]}}},
    agents: {defaults: {model: "mock/mock-model"}}
  } * $extra' >"$1"
}

# hooks_run SIDE RUN PORT PID DURATION WARMUP TIMEOUT [PEERS]
hooks_run() {
  local side=$1 r=$2 port=$3 pid=$4 duration=$5 warmup=$6 timeoutMs=$7 peers=${8:-$PEERS}
  log "$side: $peers peers POST /hooks/agent (run $r)"
  record "$side" "$r" -- "${CLIENT_ON_OTHER[@]}" hooks --port "$port" --token "$HOOK_TOKEN" --conns "$peers" \
    --duration-ms "$duration" --warmup-ms "$warmup" --timeout-ms "$timeoutMs" --cpu-pid "$pid" \
    --session-key-prefix "hook:bench-$side-$r-"
}

# start_gateway SIDE STARTUP_ARGS... -- COMMAND...: starts it on SERVER_CPU; sets GW_PID and GW_PORT.
start_gateway() {
  local side=$1
  shift
  local startArgs=()
  while [[ $1 != -- ]]; do startArgs+=("$1"); shift; done
  shift
  local out
  out=$("$CLIENT" startup --token "$TOKEN" "${startArgs[@]}" --leave-running --log "$WORK/$side/gateway.out" \
    --pid-file "$WORK/$side/gateway.pid" -- taskset -c "$SERVER_CPU" "$@" | tail -n 1) ||
    die "$side did not start: $(tail -n 20 "$WORK/$side/gateway.out")"
  GW_PID=$(jq -r .pid <<<"$out")
  GW_PORT=$(jq -r .port <<<"$out")
  PGIDS+=("$GW_PID")
  pin_group "$GW_PID"
  log "$side: pid $GW_PID on port $GW_PORT, pinned to cpu $SERVER_CPU"
}

log "floor: talon-bench-echo on cpu $SERVER_CPU"
mkdir -p "$WORK/echo"
start_group "$WORK/echo/echo.log" taskset -c "$SERVER_CPU" "$ECHO_SERVER" --threads 1 --port 0 \
  --port-file "$WORK/echo/port"
ECHO_PGID=$STARTED_PID
ECHO_PORT=$(wait_port_file "$WORK/echo/port")

mkdir -p "$WORK/talon/state"
gateway_config "$WORK/talon/talon.json" '{}'
export TALON_STATE_DIR=$WORK/talon/state
start_gateway talon --port-file "$WORK/talon/port" -- \
  "$TALON_BIN" gateway run --config "$WORK/talon/talon.json" --port 0 --port-file "$WORK/talon/port"
TALON_PID=$GW_PID
for r in $(seq 1 "$REPEATS"); do
  hooks_run floor "$r" "$ECHO_PORT" "$ECHO_PGID" "$DURATION_MS" "$WARMUP_MS" 30000
  hooks_run talon "$r" "$GW_PORT" "$TALON_PID" "$DURATION_MS" "$WARMUP_MS" 120000
done
stop_group "$ECHO_PGID"
if ((LOW_PEERS > 0)); then
  for r in $(seq 1 "$REPEATS"); do
    hooks_run talon_low "$r" "$GW_PORT" "$TALON_PID" "$DURATION_MS" "$WARMUP_MS" 120000 "$LOW_PEERS"
  done
fi
stop_group "$TALON_PID"

if [[ $SKIP_OPENCLAW != 1 ]]; then
  mkdir -p "$WORK/openclaw/state" "$WORK/openclaw/home"
  gateway_config "$WORK/openclaw/openclaw.json" "$(jq -nc --arg f "$WORK/openclaw/openclaw.log" '{logging: {file: $f}}')"
  export OPENCLAW_STATE_DIR=$WORK/openclaw/state OPENCLAW_HOME=$WORK/openclaw/home
  export OPENCLAW_CONFIG_PATH=$WORK/openclaw/openclaw.json
  start_gateway openclaw --port auto --timeout-ms 300000 --settle-ms 3000 --stop-timeout-ms 15000 -- \
    "$OPENCLAW" gateway run --port '{port}' --bind loopback --auth token --token "$TOKEN"
  OPENCLAW_PID=$GW_PID
  for r in $(seq 1 "$OC_REPEATS"); do
    hooks_run openclaw "$r" "$GW_PORT" "$OPENCLAW_PID" "$OC_DURATION_MS" "$OC_WARMUP_MS" 600000
  done
  if ((LOW_PEERS > 0)); then
    for r in $(seq 1 "$OC_REPEATS"); do
      hooks_run openclaw_low "$r" "$GW_PORT" "$OPENCLAW_PID" "$OC_LOW_DURATION_MS" "$OC_LOW_WARMUP_MS" 600000 "$LOW_PEERS"
    done
  fi
  stop_group "$OPENCLAW_PID"
fi

stop_group "$MOCK_PGID"
jq -nc --arg n "$(grep -c . "$WORK/mock/requests.jsonl" 2>/dev/null || echo 0)" '{mockRequests: ($n|tonumber)}' >>"$JSONL"
machine_info end
jq -nc --argjson s "$(($(date +%s) - START_TIME))" '{elapsedSeconds: $s}' >>"$JSONL"

SIZES="$PEERS peers; floor and Talon: $REPEATS runs of ${DURATION_MS} ms after ${WARMUP_MS} ms warm-up; \
OpenClaw: $OC_REPEATS run(s) of ${OC_DURATION_MS} ms after ${OC_WARMUP_MS} ms" \
SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU SKIP_OPENCLAW=$SKIP_OPENCLAW PEERS=$PEERS LOW_PEERS=$LOW_PEERS REPEATS=$REPEATS \
OC_LOW="$OC_REPEATS run(s) of ${OC_LOW_DURATION_MS} ms after ${OC_LOW_WARMUP_MS} ms" \
  python3 - "$JSONL" "$RESULTS" <<'PY'
import json, os, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out_path = sys.argv[2]
runs = [r for r in rows if "side" in r]
machine = [r["machine"] for r in rows if "machine" in r]
extra = {k: v for r in rows for k, v in r.items() if k in ("mockRequests", "elapsedSeconds")}

def results(side):  # runs with a result, failed answers or not (those are counted in their own row)
    return [r["result"] for r in runs if r["side"] == side and r["result"]]

def med(side, key):  # latency and CPU per message only from runs that completed a message
    vals = [r[key] for r in results(side)
            if key in r and (key == "messagesPerSec" or key == "serverCores" or r.get("completed", 0) > 0)]
    return statistics.median(vals) if vals else None

def fmt(v, digits=None):
    if v is None:
        return "—"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f}"

def pair_ratios(key):  # Talon run r against floor run r (they alternate, so both saw the same machine)
    by_run = {}
    for r in runs:
        if r["result"] and r["side"] in ("talon", "floor") and key in r["result"]:
            by_run.setdefault(r["run"], {})[r["side"]] = r["result"][key]
    return [v["talon"] / v["floor"] for v in by_run.values() if v.get("floor") and "talon" in v]

w = []
w.append(f"# Inbound throughput: {os.environ['PEERS']} peers, `POST /hooks/agent` → scripted model → answer")
w.append("")
w.append("Written by `bench/inbound.sh` (bench/README.md, \"Inbound throughput\"). Each peer is one HTTP/1.1 "
         "keep-alive connection of `talon-bench-client hooks`, sending `POST /hooks/agent` with "
         "`\"waitForCompletion\": true`, its own `sessionKey` and `\"deliver\": false`, the next one when the answer "
         "arrives; the answer comes after the agent turn against `talon-mock-model` (answers \"ok\" at once) has "
         "finished. The floor is `talon-bench-echo` answering the same request at once on `net::Server` (one I/O "
         f"thread). Figures are medians of the runs. Sizes: {os.environ['SIZES']}.")
w.append("")
if machine:
    m0, m1 = machine[0], machine[-1]
    busy = max(float(m0["loadavg"].split()[0]), float(m1["loadavg"].split()[0])) > 0.7
    w.append(f"- Machine: {m0['cpu']}, {m0['cores']} cores, Linux {m0['kernel']}; run {m0['date']}, "
             f"{extra.get('elapsedSeconds', '?')} s. Talon `{m0['talon'] or '?'}` (commit {m0['commit'] or '?'}); "
             f"OpenClaw `{m0['openclaw'] or 'not run (SKIP_OPENCLAW=1)'}`.")
    w.append(f"- Load average at start / end: {m0['loadavg']} / {m1['loadavg']}"
             + (" — **the machine was not idle: other work shared these cores**, so figures are pessimistic"
                if busy else "") + (f"; nice {m0['nice']}" if m0.get("nice") not in ("", "0") else "") + ".")
w.append(f"- Placement: the server under test alone on cpu {os.environ['SERVER_CPU']} (every thread of its "
         f"process tree); the client and the mock model on cpu {os.environ['CLIENT_CPU']}.")
if "mockRequests" in extra:
    total = sum(r["result"].get("answersTotal", 0) for r in runs if r["side"] != "floor" and r["result"])
    w.append(f"- The mock model served {extra['mockRequests']:,} requests; the gateways answered {total:,} hook "
             "requests (warm-up and drain included).")
w.append("")
w.append("| Figure | Talon | OpenClaw | Talon better by | Floor | Talon ÷ floor |")
w.append("|---|---:|---:|---:|---:|---:|")
def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:,.3g}"
def better(t, o, higher_better):  # how many times Talon's figure is better than OpenClaw's
    if t is None or o is None or t == 0 or o == 0:
        return "—"
    x = t / o if higher_better else o / t
    return f"{x:,.1f}×" if x < 100 else f"{x:,.0f}×"
t, o, f = med("talon", "messagesPerSec"), med("openclaw", "messagesPerSec"), med("floor", "messagesPerSec")
pr = pair_ratios("messagesPerSec")
w.append(f"| messages/s (completed turns in the window) | {fmt(t)} | {fmt(o)} | {better(t, o, True)} | {fmt(f)} | "
         + (f"{statistics.median(pr):.3f} (runs: {', '.join(f'{x:.3f}' for x in pr)})" if pr else "—") + " |")
for key, name in (("latencyP50Ms", "latency p50 (ms, request sent → answer)"),
                  ("latencyP99Ms", "latency p99 (ms)")):
    t, o, f = med("talon", key), med("openclaw", key), med("floor", key)
    w.append(f"| {name} | {fmt(t, 2)} | {fmt(o, 2)} | {better(t, o, False)} | {fmt(f, 3)} | {ratio(t, f)} |")
t, o, f = (med(s, "serverCpuPerMessageUs") for s in ("talon", "openclaw", "floor"))
w.append(f"| gateway CPU per message (µs: CPU time of its process tree ÷ messages) | {fmt(t)} | {fmt(o)} | "
         f"{better(t, o, False)} | {fmt(f)} | {ratio(t, f)} |")
def errors(side):
    rs = [r["result"] for r in runs if r["side"] == side and r["result"]]
    if not rs:
        return "—"
    e, n = sum(r.get("errors", 0) for r in rs), sum(r.get("answersTotal", 0) for r in rs)
    codes = {}
    for r in rs:
        for k, v in (r.get("statusCounts") or {}).items():
            codes[k] = codes.get(k, 0) + v
    return f"{e:,} of {n:,} (HTTP " + ", ".join(f"{k}: {v:,}" for k, v in sorted(codes.items())) + ")"
w.append(f"| failed answers, all runs (not 200 with completion status ok) | {errors('talon')} | {errors('openclaw')} | — | "
         f"{errors('floor')} | — |")
t, o, f = (med(s, "serverCores") for s in ("talon", "openclaw", "floor"))
w.append(f"| gateway cores used | {fmt(t, 2)} | {fmt(o, 2)} | — | {fmt(f, 2)} | — |")
w.append("")
w.append("\"Talon better by\": Talon's messages/s ÷ OpenClaw's; OpenClaw's latency or CPU ÷ Talon's.")
low = os.environ.get("LOW_PEERS", "0")
if low != "0" and (results("talon_low") or results("openclaw_low")):
    w.append("")
    w.append(f"At {low} peer(s) (Talon: {os.environ['REPEATS']} runs of the sizes above; OpenClaw: {os.environ['OC_LOW']}):")
    w.append("")
    w.append("| Figure | Talon | OpenClaw | Talon better by |")
    w.append("|---|---:|---:|---:|")
    for key, name, digits in (("messagesPerSec", "messages/s", None), ("latencyP50Ms", "latency p50 (ms)", 2),
                              ("latencyP99Ms", "latency p99 (ms)", 2),
                              ("serverCpuPerMessageUs", "gateway CPU per message (µs)", None),
                              ("serverCores", "gateway cores used", 2)):
        t, o = med("talon_low", key), med("openclaw_low", key)
        w.append(f"| {name} | {fmt(t, digits)} | {fmt(o, digits)} | "
                 f"{'—' if key == 'serverCores' else better(t, o, key == 'messagesPerSec')} |")
    w.append(f"| failed answers, all runs | {errors('talon_low')} | {errors('openclaw_low')} | — |")
w.append("")
w.append("| Side | Run | messages/s | p50 ms | p99 ms | CPU/message µs | cores | errors | closed | first error |")
w.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in runs:
    res = r.get("result") or {}
    w.append(f"| {r['side']} | {r['run']} | {res.get('messagesPerSec', '—')} | {res.get('latencyP50Ms', '—')} | "
             f"{res.get('latencyP99Ms', '—')} | {res.get('serverCpuPerMessageUs', '—')} | {res.get('serverCores', '—')} | "
             f"{res.get('errors', '—')} | {res.get('closedConnections', '—')} | "
             + ("" if r["ok"] else f"**FAILED** exit {r['exit']}: ")
             + (res.get("firstError") or (r["stderr"].strip().splitlines() or [""])[-1] if not r["ok"] else res.get("firstError", ""))[:200].replace("|", "\\|")
             + " |")
if os.environ.get("SKIP_OPENCLAW") == "1":
    w.append("")
    w.append("OpenClaw was not run in this run (SKIP_OPENCLAW=1): its column is empty.")
w.append("")
earlier = open(out_path).read() if os.path.exists(out_path) else ""
open(out_path, "w").write("\n".join(w) + "\n" + ("\n" + earlier if earlier else ""))
print(f"wrote {out_path}", file=sys.stderr)
PY
log "done: $RESULTS"
