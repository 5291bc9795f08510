# shellcheck shell=bash
# Shared by the conformance drivers (sourced, not run): a temp work dir, a cleanup trap that stops every
# process started here on every exit path, the scripted mock model and a Talon gateway on port 0, and a
# small check ledger (every check runs; the driver fails at the end when any failed).
#
# Inputs (environment):
#   TALON_BINARY             the `talon` executable (CMake passes $<TARGET_FILE:talon>)
#   TALON_MOCK_MODEL_BINARY  the `talon-mock-model` executable
#   TALON_NODE               the node executable (default: `node` on PATH)
#   TALON_CONFORMANCE_KEEP=1 keep the work dir (its path is printed) instead of deleting it
# Outputs (variables, after conf_start_gateway): WORK, TOKEN, PROVIDER_KEY, MOCK_PORT, GATEWAY_PORT.
# Input: CONF_CHANNELS (optional), the members of the gateway config's `channels` object.

set -euo pipefail

CONF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly CONF_DIR
readonly CONF_SKIP=77  # ctest SKIP_RETURN_CODE (tests/conformance/CMakeLists.txt)

CONF_PIDS=()
CONF_FAILED=()
CONF_PASSED=0
WORK=""

conf_log() { printf '%s\n' "$*" >&2; }
conf_die() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# Stops one process: SIGTERM, then SIGKILL if it is still alive after ~5 s.
conf_stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

conf_cleanup() {
  local rc=$?
  local pid
  for pid in "${CONF_PIDS[@]+"${CONF_PIDS[@]}"}"; do conf_stop_pid "$pid"; done
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$CONF_SKIP" ]; then
      local f
      for f in "$WORK"/talon.log "$WORK"/mock.log; do
        [ -s "$f" ] || continue
        conf_log "---- last lines of $(basename "$f") ----"
        tail -n 40 "$f" >&2 || true
      done
    fi
    if [ "${TALON_CONFORMANCE_KEEP:-0}" = "1" ]; then
      conf_log "work dir kept: $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$rc"
}

# Creates the work dir and installs the traps. Call once, first.
conf_init() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/talon-conformance.XXXXXX")"
  trap conf_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  mkdir -p "$WORK/out"
  NODE="${TALON_NODE:-$(command -v node || true)}"
  if [ -z "$NODE" ] || [ ! -x "$NODE" ]; then
    conf_die "node not found (set TALON_NODE or install nodejs: scripts/install-deps.sh)"
  fi
}

conf_require_binaries() {
  if [ -z "${TALON_BINARY:-}" ] || [ ! -x "$TALON_BINARY" ]; then
    conf_die "TALON_BINARY is not an executable: '${TALON_BINARY:-}'"
  fi
  if [ -z "${TALON_MOCK_MODEL_BINARY:-}" ] || [ ! -x "$TALON_MOCK_MODEL_BINARY" ]; then
    conf_die "TALON_MOCK_MODEL_BINARY is not an executable: '${TALON_MOCK_MODEL_BINARY:-}'"
  fi
}

conf_random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# Waits until the process writes its port file (the processes write it atomically once listening).
# Readiness poll, bounded at 30 s; fails at once if the process exits first.
conf_wait_port() {
  local name="$1" pid="$2" file="$3" i
  for ((i = 0; i < 600; i++)); do
    if [ -s "$file" ]; then
      tr -d '[:space:]' <"$file"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || conf_die "$name exited before listening (see its log below)"
    sleep 0.05
  done
  conf_die "$name did not write its port file $file within 30 s"
}

# Starts talon-mock-model with tests/conformance/mock-script.json; sets MOCK_PORT.
conf_start_mock() {
  "$TALON_MOCK_MODEL_BINARY" --port 0 --port-file "$WORK/mock.port" --script "$CONF_DIR/mock-script.json" \
    --log "$WORK/mock-requests.jsonl" >"$WORK/mock.log" 2>&1 &
  CONF_PIDS+=("$!")
  MOCK_PORT="$(conf_wait_port talon-mock-model "$!" "$WORK/mock.port")"
}

# Writes the gateway config (token auth, the OpenAI-compatible endpoint on, one provider "mock" pointed
# at the mock model) and starts `talon gateway run` on port 0 with a temp state dir; sets TOKEN,
# PROVIDER_KEY, GATEWAY_PORT. The gateway runs one I/O thread (CONF_IO_THREADS, default 1), as on a
# one-CPU machine: its WebSockets then run without strands (net::ServerOptions::singleIoThread), while
# the e2e suites run the gateway with its default, one I/O thread per CPU.
conf_start_gateway() {
  TOKEN="conformance-token-$(conf_random_hex 12)"
  PROVIDER_KEY="conformance-provider-key-$(conf_random_hex 12)"
  conf_start_mock
  mkdir -p "$WORK/talon-state"
  cat >"$WORK/talon.json5" <<EOF
// Written by tests/conformance/lib.sh.
{
  gateway: {
    auth: { mode: "token", token: "$TOKEN" },
    http: { endpoints: { chatCompletions: { enabled: true } } },
  },
  models: {
    providers: {
      mock: {
        baseUrl: "http://127.0.0.1:$MOCK_PORT/v1",
        apiKey: "$PROVIDER_KEY",
        api: "openai-completions",
        models: [{ id: "mock-model", name: "Mock" }],
      },
    },
  },
  agents: { defaults: { model: "mock/mock-model" } },
  channels: { ${CONF_CHANNELS:-} },
}
EOF
  TALON_STATE_DIR="$WORK/talon-state" "$TALON_BINARY" gateway run --config "$WORK/talon.json5" --port 0 \
    --io-threads "${CONF_IO_THREADS:-1}" --port-file "$WORK/talon.port" >"$WORK/talon.log" 2>&1 &
  CONF_PIDS+=("$!")
  GATEWAY_PORT="$(conf_wait_port "talon gateway" "$!" "$WORK/talon.port")"
  conf_log "talon gateway on 127.0.0.1:$GATEWAY_PORT (mock model on 127.0.0.1:$MOCK_PORT, work dir $WORK)"
}

# conf_check NAME COMMAND...: runs COMMAND; records NAME as passed or failed; shows its output and how
# long it took (informational only: nothing is asserted on time).
conf_check() {
  local name="$1"
  shift
  local out rc=0 started elapsed
  started="$(date +%s%N)"
  out="$("$@" 2>&1)" || rc=$?
  elapsed="$((($(date +%s%N) - started) / 1000000))"
  if [ "$rc" -eq 0 ]; then
    CONF_PASSED=$((CONF_PASSED + 1))
    printf 'ok    %s (%d ms)\n' "$name" "$elapsed"
    [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/      /'
  else
    CONF_FAILED+=("$name")
    printf 'FAIL  %s (%d ms)\n' "$name" "$elapsed"
    [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/      /'
  fi
}

# Prints the summary; exits 1 when a check failed.
conf_finish() {
  printf '\n%d passed, %d failed\n' "$CONF_PASSED" "${#CONF_FAILED[@]}"
  if [ "${#CONF_FAILED[@]}" -gt 0 ]; then
    printf 'failed: %s\n' "${CONF_FAILED[@]}"
    exit 1
  fi
  exit 0
}

# Finds OpenClaw's CLI, the reference client (OPENCLAW_REF_DIR, default ~/.cache/openclaw-ref); sets
# OC_DIR and OPENCLAW. Missing: a skip (exit 77) when TALON_SKIP_OPENCLAW_CONFORMANCE=1, else a failure saying how to
# install it. Call before conf_init.
conf_require_openclaw() {
  OC_DIR="${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}"
  OPENCLAW="$OC_DIR/bin/openclaw"
  [ -x "$OPENCLAW" ] && return 0
  if [ "${TALON_SKIP_OPENCLAW_CONFORMANCE:-0}" = "1" ]; then
    echo "SKIP: OpenClaw is not installed at $OC_DIR (TALON_SKIP_OPENCLAW_CONFORMANCE=1)"
    exit "$CONF_SKIP"
  fi
  echo "FAIL: OpenClaw (the reference CLI) is not installed: $OPENCLAW is missing." >&2
  echo "      Install it with scripts/install-openclaw.sh (it honours OPENCLAW_REF_DIR), point OPENCLAW_REF_DIR" >&2
  echo "      at an existing install, or set TALON_SKIP_OPENCLAW_CONFORMANCE=1 to skip this test." >&2
  exit 1
}

# An isolated home for the OpenClaw CLI (its own HOME and state dir, not the shared /tmp/openclaw) whose
# config is a local gateway on GATEWAY_PORT, so every target it adds is this Talon gateway; sets OC_HOME,
# OC_STATE and OC_CONFIG (the config `oc` uses; a script may point it at another file).
conf_openclaw_home() {
  OC_HOME="$WORK/openclaw-home"
  OC_STATE="$OC_HOME/.openclaw"
  OC_CONFIG="$OC_STATE/openclaw.json"
  mkdir -p "$OC_STATE/logs" "$WORK/tmp" "$WORK/out"
  cat >"$OC_CONFIG" <<EOF
{
  "gateway": { "mode": "local", "port": $GATEWAY_PORT },
  "update": { "checkOnStart": false },
  "discovery": { "mdns": { "mode": "off" } },
  "logging": { "file": "$OC_STATE/logs/openclaw.log" }
}
EOF
}

# oc NAME ARGS...: runs the OpenClaw CLI in that home with an environment of its own (no inherited
# OPENCLAW_* variables); stdout, stderr and the exit code land in $WORK/out/NAME.{out,err,rc}.
oc() {
  local name="$1" rc=0
  shift
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$OC_HOME" USER="conformance" LANG="C.UTF-8" \
    TERM="dumb" NO_COLOR=1 CI=1 TMPDIR="$WORK/tmp" OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_NO_AUTO_UPDATE=1 \
    OPENCLAW_STATE_DIR="$OC_STATE" OPENCLAW_CONFIG_PATH="$OC_CONFIG" \
    "$OPENCLAW" "$@" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err" </dev/null || rc=$?
  echo "$rc" >"$WORK/out/$name.rc"
  return 0
}

# show NAME: what command NAME printed and its exit code, for a failed check.
show() {
  echo "exit code: $(cat "$WORK/out/$1.rc")"
  echo "stdout: $(head -c 3000 "$WORK/out/$1.out")"
  echo "stderr: $(head -c 3000 "$WORK/out/$1.err")"
}
