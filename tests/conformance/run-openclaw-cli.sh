#!/usr/bin/env bash
# Conformance: OpenClaw's own CLI (the reference client; OpenClaw protocol digest openclaw-protocol.md
# §2) against a Talon gateway. Starts the mock model and `talon gateway run` (port 0, temp state dir), then
# runs `openclaw gateway call|health|probe`, `openclaw agent` and negative checks; each check runs the
# real CLI and validates its exit code and JSON output with cli_checks.mjs.
#
# OpenClaw comes from scripts/install-openclaw.sh: $OPENCLAW_REF_DIR/bin/openclaw (default
# ~/.cache/openclaw-ref). When it is missing the test FAILS, unless TALON_SKIP_OPENCLAW_CONFORMANCE=1
# (then it exits 77, ctest's skip code). Exits 0 when every check passed, 1 otherwise.
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-openclaw-cli.sh
# Checks are functions run through conf_check (indirectly), hence SC2317.
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw

conf_init
conf_require_binaries
# One loopback channel account, for `openclaw channels status`.
CONF_CHANNELS='loopback: { dmPolicy: "open", allowFrom: ["*"] }'
conf_start_gateway

URL="ws://127.0.0.1:$GATEWAY_PORT"
CHECKS="$CONF_DIR/cli_checks.mjs"
RUN_ID="$(conf_random_hex 6)"

# OpenClaw's side is isolated: its own HOME and state dir (it reads config, device identity and
# credentials from there), a config that turns off update checks and mDNS and keeps its log file there
# (instead of the shared /tmp/openclaw), and an environment with no inherited OPENCLAW_* variables.
# The config's local gateway port is Talon's, so the local target that `gateway probe` always adds is
# this Talon gateway too, never something else on the machine.
OC_HOME="$WORK/openclaw-home"
OC_STATE="$OC_HOME/.openclaw"
mkdir -p "$OC_STATE/logs" "$WORK/tmp"
cat >"$OC_STATE/local.json" <<EOF
{
  "gateway": { "mode": "local", "port": $GATEWAY_PORT },
  "update": { "checkOnStart": false },
  "discovery": { "mdns": { "mode": "off" } },
  "logging": { "file": "$OC_STATE/logs/openclaw.log" }
}
EOF
# `openclaw agent` targets the gateway of its config: remote mode with Talon's URL and token.
cat >"$OC_STATE/remote.json" <<EOF
{
  "gateway": { "mode": "remote", "remote": { "url": "$URL", "token": "$TOKEN" } },
  "update": { "checkOnStart": false },
  "discovery": { "mdns": { "mode": "off" } },
  "logging": { "file": "$OC_STATE/logs/openclaw.log" }
}
EOF
OC_CONFIG="$OC_STATE/local.json"



# expect_json NAME CHECK [CHECK-ARGS...] -- OPENCLAW-ARGS...: exit 0 and cli_checks.mjs CHECK passes.
expect_json() {
  local name="$1" check="$2"
  shift 2
  local checkArgs=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    checkArgs+=("$1")
    shift
  done
  shift
  echo "\$ openclaw $*" | sed "s/$TOKEN/\$TOKEN/g"
  oc "$name" "$@"
  if [ "$(cat "$WORK/out/$name.rc")" != "0" ]; then
    show "$name"
    return 1
  fi
  "$NODE" "$CHECKS" "$check" "$WORK/out/$name.out" "${checkArgs[@]+"${checkArgs[@]}"}" || {
    show "$name"
    return 1
  }
}

# no_secrets NAME...: neither the gateway token nor the provider key appears in these commands' output.
no_secrets() {
  local name secret
  for name in "$@"; do
    for secret in "$TOKEN" "$PROVIDER_KEY"; do
      if grep -qF -- "$secret" "$WORK/out/$name.out" "$WORK/out/$name.err"; then
        echo "a secret (${secret:0:24}…) appears in the output of $name: it must be redacted"
        return 1
      fi
    done
  done
  echo "no token or provider key in the output of: $*"
}

conf_log "OpenClaw: $(oc version --version && cat "$WORK/out/version.out")"

# ---- 1. read methods over `gateway call` -------------------------------------------------------------
conf_check "gateway call health" expect_json health health -- gateway call health --url "$URL" --token "$TOKEN" --json
conf_check "gateway call status" expect_json status status -- gateway call status --url "$URL" --token "$TOKEN" --json
conf_check "gateway call agents.list" expect_json agents.list agents.list -- \
  gateway call agents.list --url "$URL" --token "$TOKEN" --json
conf_check "gateway call sessions.list" expect_json sessions.list sessions.list -- \
  gateway call sessions.list --url "$URL" --token "$TOKEN" --json
conf_check "gateway call config.get" expect_json config.get config.get -- \
  gateway call config.get --url "$URL" --token "$TOKEN" --json
conf_check "config.get redacts the token and the provider key" no_secrets config.get
conf_check "gateway call channels.status" expect_json channels.status channels.status -- \
  gateway call channels.status --url "$URL" --token "$TOKEN" --json

# ---- 2. the dedicated commands ---------------------------------------------------------------------
conf_check "gateway health --json" expect_json gateway-health-json health -- \
  gateway health --url "$URL" --token "$TOKEN" --json
conf_check "gateway health (text)" expect_json gateway-health gateway-health-text -- \
  gateway health --url "$URL" --token "$TOKEN"
conf_check "gateway probe --json" expect_json gateway-probe probe "$URL" -- \
  gateway probe --url "$URL" --token "$TOKEN" --json
conf_check "gateway probe (text)" expect_json gateway-probe-text probe-text "$URL" -- \
  gateway probe --url "$URL" --token "$TOKEN"
conf_check "gateway probe shows no secrets" no_secrets gateway-probe gateway-probe-text

# ---- 2b. channels: OpenClaw's `channels status` (remote mode: it has no --url) lists Talon's accounts -----
channels_status_json() {
  OC_CONFIG="$OC_STATE/remote.json" expect_json channels-status-json channels-status-json -- channels status --json
}
conf_check "channels status --json (remote mode)" channels_status_json
channels_status_text() {
  OC_CONFIG="$OC_STATE/remote.json" expect_json channels-status channels-status-text -- channels status
}
conf_check "channels status (remote mode, text) shows the loopback account" channels_status_text

# ---- 3. negative: a wrong token ----------------------------------------------------------------------
wrong_token() {
  echo "\$ openclaw gateway call health --url $URL --token \$WRONG --json"
  oc wrong-token gateway call health --url "$URL" --token "wrong-$TOKEN" --json
  if [ "$(cat "$WORK/out/wrong-token.rc")" = "0" ]; then
    echo "the call succeeded with a wrong token"
    show wrong-token
    return 1
  fi
  if ! grep -qi "token" "$WORK/out/wrong-token.err"; then
    echo "stderr does not mention the token"
    show wrong-token
    return 1
  fi
  echo "exit $(cat "$WORK/out/wrong-token.rc"); stderr: $(grep -i token "$WORK/out/wrong-token.err" | head -n 1)"
  "$NODE" "$CHECKS" wrong-token "$WORK/out/wrong-token.out" || {
    show wrong-token
    return 1
  }
}
conf_check "wrong token is refused with a message about the token" wrong_token

# ---- 4. runs through the mock model -----------------------------------------------------------------
CHAT_SESSION="agent:main:conformance-chat"
CHAT_KEY="conformance-chat-$RUN_ID"
conf_check "gateway call chat.send" expect_json chat.send chat.send "$CHAT_KEY" -- \
  gateway call chat.send --url "$URL" --token "$TOKEN" --json \
  --params "{\"sessionKey\":\"$CHAT_SESSION\",\"message\":\"conformance-ping via chat.send\",\"idempotencyKey\":\"$CHAT_KEY\"}"

AGENT_KEY="conformance-agent-$RUN_ID"
conf_check "gateway call agent --expect-final" expect_json agent-call agent-final "$AGENT_KEY" -- \
  gateway call agent --url "$URL" --token "$TOKEN" --json --expect-final --timeout 30000 \
  --params "{\"message\":\"conformance-ping via gateway call agent\",\"agentId\":\"main\",\"sessionKey\":\"agent:main:conformance-agent\",\"idempotencyKey\":\"$AGENT_KEY\"}"

openclaw_agent() {
  OC_CONFIG="$OC_STATE/remote.json" expect_json openclaw-agent openclaw-agent -- \
    agent --agent main --message "conformance-ping via openclaw agent" --json --timeout 30
}
conf_check "openclaw agent (remote mode)" openclaw_agent

# chat.send answered at once; its run finished long before now (the mock answers at once), but a
# bounded poll keeps this independent of scheduling.
chat_history() {
  local i
  for ((i = 0; i < 5; i++)); do
    expect_json chat.history chat.history "pong from the mock model" -- gateway call chat.history --url "$URL" \
      --token "$TOKEN" --json --params "{\"sessionKey\":\"$CHAT_SESSION\"}" >"$WORK/out/chat.history.check" 2>&1 &&
      {
        cat "$WORK/out/chat.history.check"
        return 0
      }
  done
  cat "$WORK/out/chat.history.check"
  return 1
}
conf_check "gateway call chat.history has the chat.send reply" chat_history
conf_check "gateway call sessions.list lists the chat session" expect_json sessions.list-after sessions.list "$CHAT_SESSION" -- \
  gateway call sessions.list --url "$URL" --token "$TOKEN" --json

conf_finish
