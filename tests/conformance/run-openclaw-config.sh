#!/usr/bin/env bash
# Conformance: live config through OpenClaw's own CLI (2026.9.6) against a Talon gateway. OpenClaw's
# `openclaw config get|set` read and write the local config file only (dist config-cli: no remote mode),
# so the remote path is `openclaw gateway call config.get|config.patch|config.set --url … --token …`:
# the baseHash rules (exact error texts), a patch applied live, a restart-class patch reported, a set
# that keeps the redacted token, and the file watcher rejecting an invalid edit (shown in `health`)
# and applying a valid one. Same set-up and exit codes as run-openclaw-cli.sh (README.md).
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-openclaw-config.sh
# Checks are functions run through conf_check (indirectly), hence SC2317.
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw

conf_init
conf_require_binaries
conf_start_gateway

URL="ws://127.0.0.1:$GATEWAY_PORT"
CONFIG="$WORK/talon.json5"
conf_openclaw_home



# call NAME METHOD [PARAMS_JSON]: `openclaw gateway call METHOD --json [--params PARAMS]`.
call() {
  local name="$1" method="$2" params="${3:-}"
  if [ -n "$params" ]; then
    oc "$name" gateway call "$method" --url "$URL" --token "$TOKEN" --json --params "$params"
  else
    oc "$name" gateway call "$method" --url "$URL" --token "$TOKEN" --json
  fi
}

# js NAME EXPR: evaluates EXPR with `r` = the parsed stdout of NAME; prints the result.
js() {
  "$NODE" -e 'const fs=require("fs");const r=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
    const v=(0,eval)("(r)=>("+process.argv[2]+")")(r);process.stdout.write(typeof v==="string"?v:JSON.stringify(v));' \
    "$WORK/out/$1.out" "$2"
}

# params JSON-EXPR: builds a params object in node (so raw config strings are quoted correctly).
params() { "$NODE" -e 'process.stdout.write(JSON.stringify((0,eval)("("+process.argv[1]+")")))' "$1"; }

current_hash() {
  call get-hash config.get
  js get-hash 'r.hash'
}

expect_refusal() {  # NAME TEXT: the call failed and stderr holds TEXT
  if [ "$(cat "$WORK/out/$1.rc")" = "0" ]; then
    echo "the call succeeded"
    show "$1"
    return 1
  fi
  if ! grep -qF -- "$2" "$WORK/out/$1.err" "$WORK/out/$1.out"; then
    echo "the answer does not say: $2"
    show "$1"
    return 1
  fi
  echo "refused: $2"
}

expect_ok() {  # NAME
  if [ "$(cat "$WORK/out/$1.rc")" != "0" ]; then
    show "$1"
    return 1
  fi
}

# ---- baseHash ----------------------------------------------------------------------------------------
missing_hash() {
  call patch-nohash config.patch "$(params '{raw: JSON.stringify({logging: {level: "debug"}})}')"
  expect_refusal patch-nohash "config base hash required; re-run config.get and retry"
}
conf_check "config.patch without baseHash is refused" missing_hash

stale_hash() {
  call patch-stale config.patch "$(params "{raw: JSON.stringify({logging: {level: 'debug'}}), baseHash: '$(printf '0%.0s' {1..64})'}")"
  expect_refusal patch-stale "config changed since last load; re-run config.get and retry"
}
conf_check "config.patch with a stale baseHash is refused" stale_hash

# ---- a hot patch --------------------------------------------------------------------------------------
hot_patch() {
  local before
  before="$(current_hash)"
  call patch-hot config.patch "$(params "{raw: JSON.stringify({logging: {level: 'debug'}}), baseHash: '$before'}")"
  expect_ok patch-hot || return 1
  [ "$(js patch-hot 'r.ok && r.applied === true && JSON.stringify(r.changedPaths)')" = '["logging.level"]' ] || {
    show patch-hot
    return 1
  }
  local after
  after="$(current_hash)"
  [ "$after" = "$(js patch-hot 'r.hash')" ] && [ "$after" != "$before" ] || {
    echo "config.get hash $after does not match the patch's $(js patch-hot 'r.hash')"
    return 1
  }
  grep -q '"debug"' "$CONFIG" && grep -qF "$TOKEN" "$CONFIG" || {
    echo "the file does not hold the change and the token"
    return 1
  }
  [ -f "$CONFIG.bak" ] || {
    echo "no backup $CONFIG.bak"
    return 1
  }
  echo "applied; hash $before -> $after; $CONFIG.bak kept"
}
conf_check "config.patch (hot path) is written and applied" hot_patch

restart_patch() {
  call patch-restart config.patch "$(params "{raw: JSON.stringify({gateway: {port: 1}}), baseHash: '$(current_hash)'}")"
  expect_ok patch-restart || return 1
  [ "$(js patch-restart 'r.applied === false && r.restartRequired === true && r.restartReasons.join()')" = "gateway.port" ] || {
    show patch-restart
    return 1
  }
  call get-after-restart config.get
  [ "$(js get-after-restart 'r.appliedConfigHash !== r.hash')" = "true" ] || {
    show get-after-restart
    return 1
  }
  echo "written, reported as needing a restart (gateway.port)"
}
conf_check "config.patch (restart path) is written and reported" restart_patch

# ---- config.set with what config.get showed -----------------------------------------------------------
set_roundtrip() {
  call get-for-set config.get
  local p
  p="$("$NODE" -e 'const fs=require("fs");const r=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
    const c=JSON.parse(r.raw);delete c.gateway.port;c.logging={level:"info"};
    process.stdout.write(JSON.stringify({raw:JSON.stringify(c),baseHash:r.hash}))' "$WORK/out/get-for-set.out")"
  grep -qF "$TOKEN" "$WORK/out/get-for-set.out" && {
    echo "config.get shows the token"
    return 1
  }
  call set config.set "$p"
  expect_ok set || return 1
  grep -qF "$TOKEN" "$CONFIG" && grep -q '"info"' "$CONFIG" || {
    echo "the file lost the token or the change"
    return 1
  }
  grep -qF "__OPENCLAW_REDACTED__" "$CONFIG" && {
    echo "the redaction marker was written to the file"
    return 1
  }
  [ "$(js set 'r.ok === true')" = "true" ] || {
    show set
    return 1
  }
  echo "written back; the token kept in the file, never shown"
}
conf_check "config.set with config.get's redacted raw keeps the secret" set_roundtrip

# ---- the file watcher ---------------------------------------------------------------------------------
# wait_health NAME EXPR: polls `gateway call health` until EXPR holds (at most 20 s; the watcher looks
# every second and waits one more for the file to hold still).
wait_health() {
  local i
  for i in $(seq 1 40); do
    call "$1" health
    if [ "$(cat "$WORK/out/$1.rc")" = "0" ] && [ "$(js "$1" "$2")" = "true" ]; then return 0; fi
    sleep 0.5
  done
  show "$1"
  return 1
}

watcher() {
  cp "$CONFIG" "$WORK/valid.json"
  printf '{ gateway: { auth: { mode: "token", token: "%s" }, bogus: 1 } }\n' "$TOKEN" >"$CONFIG"
  wait_health health-invalid 'String(r.configReload && r.configReload.lastError).includes("config reload skipped (invalid config)")' || return 1
  echo "invalid edit rejected: $(js health-invalid 'r.configReload.lastError')"
  "$NODE" -e 'const fs=require("fs");const c=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
    c.logging={level:"warn"};fs.writeFileSync(process.argv[2],JSON.stringify(c,null,2))' "$WORK/valid.json" "$CONFIG"
  wait_health health-valid '!r.configReload.lastError' || return 1
  call get-after-watch config.get
  [ "$(js get-after-watch 'r.runtimeConfig.logging.level')" = "warn" ] || {
    show get-after-watch
    return 1
  }
  echo "valid edit applied (logging.level warn); hotReloadStatus $(js health-valid 'r.configReload.hotReloadStatus')"
}
conf_check "the watcher rejects an invalid edit and applies a valid one" watcher

conf_finish
