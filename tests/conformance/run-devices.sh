#!/usr/bin/env bash
# Conformance: device identity and pairing (issue 6). Starts the mock model and `talon gateway run`
# (lib.sh), then:
#  - a device-signed connect (device_connect.mjs: OpenClaw's v3 signature, built with node's crypto) is
#    refused with NOT_PAIRED / PAIRING_REQUIRED and a requestId;
#  - OpenClaw 2026.9.6's own `openclaw devices list --url … --token … --json` lists that request;
#  - `talon devices approve <requestId>` approves it; the same device then connects (hello-ok with a
#    device token); the device token alone connects too;
#  - `talon devices revoke <deviceId>` revokes it; the device is refused again (PAIRING_REQUIRED with the
#    shared token, AUTH_DEVICE_TOKEN_MISMATCH with the revoked device token).
# Exit 77 (skip) only when OpenClaw is missing and TALON_SKIP_OPENCLAW_CONFORMANCE=1.
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-devices.sh
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw

conf_init
conf_require_binaries
conf_start_gateway
# Node 22+ has a global WebSocket; OpenClaw's bundled node (24) is used when the PATH's is older.
if ! "$NODE" -e 'if (typeof WebSocket !== "function") process.exit(1)' 2>/dev/null; then NODE="$OC_DIR/bin/node"; fi

URL="ws://127.0.0.1:$GATEWAY_PORT"
KEY="$WORK/device-key.pem"
OC_HOME="$WORK/openclaw-home"
OC_STATE="$OC_HOME/.openclaw"
mkdir -p "$OC_STATE/logs" "$WORK/tmp" "$WORK/out"
cat >"$OC_STATE/openclaw.json" <<EOF
{
  "gateway": { "mode": "local", "port": $GATEWAY_PORT },
  "update": { "checkOnStart": false },
  "discovery": { "mdns": { "mode": "off" } },
  "logging": { "file": "$OC_STATE/logs/openclaw.log" }
}
EOF

# device NAME [DEVICE-TOKEN]: one device-signed connect; the response frame lands in $WORK/out/NAME.json.
device() {
  "$NODE" "$CONF_DIR/device_connect.mjs" "$URL" "$KEY" "$TOKEN" "${2:-}" >"$WORK/out/$1.json"
}
# field NAME EXPR: a value of that response (node expression over `r`).
field() { "$NODE" -e "const r = JSON.parse(require('fs').readFileSync('$WORK/out/$1.json', 'utf8')); console.log($2 ?? '')"; }
# expect NAME EXPR WANT: fails unless the expression's value is WANT.
expect() {
  local got
  got="$(field "$1" "$2")"
  if [ "$got" != "$3" ]; then
    echo "$2 is '$got', expected '$3': $(head -c 800 "$WORK/out/$1.json")"
    return 1
  fi
  echo "$2 = $got"
}
talon_cli() { "$TALON_BINARY" "$@" --url "$URL" --token "$TOKEN"; }

before_approval() {
  device first || return 1
  expect first "r.ok" false && expect first "r.error.code" NOT_PAIRED &&
    expect first "r.error.details.code" PAIRING_REQUIRED && expect first "r.error.details.reason" not-paired
}
conf_check "device-signed connect is refused before approval" before_approval
REQUEST_ID="$(field first "r.error?.details?.requestId")"
DEVICE_ID="$(field first "r.deviceId")"

openclaw_lists_request() {
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$OC_HOME" LANG="C.UTF-8" TERM="dumb" NO_COLOR=1 CI=1 \
    TMPDIR="$WORK/tmp" OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_NO_AUTO_UPDATE=1 OPENCLAW_STATE_DIR="$OC_STATE" \
    OPENCLAW_CONFIG_PATH="$OC_STATE/openclaw.json" \
    "$OPENCLAW" devices list --url "$URL" --token "$TOKEN" --json >"$WORK/out/oc-list.json" \
    2>"$WORK/out/oc-list.err" </dev/null || {
    echo "openclaw devices list failed: $(head -c 1500 "$WORK/out/oc-list.err")"
    return 1
  }
  expect oc-list "r.pending.find((p) => p.requestId === '$REQUEST_ID')?.deviceId" "$DEVICE_ID" &&
    expect oc-list "Array.isArray(r.paired)" true
}
conf_check "openclaw devices list --url --token shows the pending request" openclaw_lists_request

approve() {
  talon_cli devices approve "$REQUEST_ID" --json >"$WORK/out/approve.json" || return 1
  expect approve "r.device.deviceId" "$DEVICE_ID" || return 1
  talon_cli devices list >"$WORK/out/list.txt" || return 1
  grep -q "$DEVICE_ID" "$WORK/out/list.txt" || { echo "talon devices list lacks the device" && return 1; }
}
conf_check "talon devices approve" approve

after_approval() {
  device second || return 1
  expect second "r.ok" true && expect second "r.payload.auth.scopes.join(',')" "operator.read,operator.pairing" &&
    expect second "typeof r.payload.auth.deviceToken" string
}
conf_check "the same device connects after approval, with a device token" after_approval
DEVICE_TOKEN="$(field second "r.payload?.auth?.deviceToken")"

by_device_token() {
  device third "$DEVICE_TOKEN" || return 1
  expect third "r.ok" true && expect third "r.payload.auth.method" device-token
}
conf_check "the device token alone authenticates" by_device_token

after_revocation() {
  talon_cli devices revoke "$DEVICE_ID" --json >"$WORK/out/revoke.json" || return 1
  expect revoke "r.role" operator || return 1
  device fourth || return 1
  expect fourth "r.ok" false && expect fourth "r.error.details.code" PAIRING_REQUIRED || return 1
  device fifth "$DEVICE_TOKEN" || return 1
  expect fifth "r.ok" false && expect fifth "r.error.details.code" AUTH_DEVICE_TOKEN_MISMATCH
}
conf_check "the device is refused after revocation" after_revocation

conf_finish
