#!/usr/bin/env bash
# Conformance: the official `openai` npm SDK against Talon's OpenAI-compatible HTTP API.
# Starts the mock model and a Talon gateway (port 0, temp state dir), then runs openai_sdk.mjs.
# Needs `npm install` in tests/ (the `openai` package). Exits 0 when every check passed, 1 otherwise,
# 77 (skip) only when TALON_SKIP_OPENAI_CONFORMANCE=1 and the SDK is missing.
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-openai-sdk.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_init
conf_require_binaries
sdk="$CONF_DIR/../node_modules/openai/package.json"
if [ ! -f "$sdk" ]; then
  if [ "${TALON_SKIP_OPENAI_CONFORMANCE:-0}" = "1" ]; then
    echo "SKIP: the openai npm package is not installed (TALON_SKIP_OPENAI_CONFORMANCE=1)"
    exit "$CONF_SKIP"
  fi
  conf_die "the openai npm package is not installed: run \`npm install\` in $(cd "$CONF_DIR/.." && pwd)" \
    "(or set TALON_SKIP_OPENAI_CONFORMANCE=1 to skip this test)"
fi
conf_log "node $("$NODE" --version), openai $("$NODE" -p "require('$sdk').version")"

conf_start_gateway
rc=0
"$NODE" "$CONF_DIR/openai_sdk.mjs" --base-url "http://127.0.0.1:$GATEWAY_PORT/v1" --key "$TOKEN" || rc=$?
exit "$rc"
