#!/usr/bin/env bash
# Conformance: named operator tokens (issue 6, "Operator roles beyond the shared token") with OpenClaw's
# own CLI. Starts the mock model and `talon gateway run` (lib.sh), creates tokens with `talon tokens
# create` on the gateway's state dir while it runs, then:
#  - `openclaw gateway health --url … --token <admin token> --json` works;
#  - `openclaw gateway call config.patch` (operator.admin) is refused for the missing scope with a token
#    of the built-in `operator` role and authorized with the admin token;
#  - after `talon tokens revoke`, the revoked token is refused by `openclaw gateway health`.
# Exit 77 (skip) only when OpenClaw is missing and TALON_SKIP_OPENCLAW_CONFORMANCE=1.
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-operator-tokens.sh
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw

conf_init
conf_require_binaries
conf_start_gateway

URL="ws://127.0.0.1:$GATEWAY_PORT"
CHECKS="$CONF_DIR/cli_checks.mjs"
conf_openclaw_home

# talon_tokens ARGS...: `talon tokens …` on the running gateway's state dir and config.
talon_tokens() {
  TALON_STATE_DIR="$WORK/talon-state" "$TALON_BINARY" tokens "$@"
}
# create NAME ROLE: prints the new token.
create() {
  talon_tokens create --name "$1" --role "$2" --config "$WORK/talon.json5" --json >"$WORK/out/create-$1.json" ||
    return 1
  "$NODE" -e "console.log(JSON.parse(require('fs').readFileSync('$WORK/out/create-$1.json', 'utf8')).token)"
}

ADMIN_TOKEN="$(create ci-admin admin)" || conf_die "talon tokens create (admin) failed"
OPERATOR_TOKEN="$(create ci-operator operator)" || conf_die "talon tokens create (operator) failed"
case "$ADMIN_TOKEN" in talon_op_*) ;; *) conf_die "unexpected token format: ${ADMIN_TOKEN:0:12}…" ;; esac

health_with() {
  local name="$1" token="$2"
  oc "$name" gateway health --url "$URL" --token "$token" --json
  if [ "$(cat "$WORK/out/$name.rc")" != "0" ]; then
    show "$name"
    return 1
  fi
  "$NODE" "$CHECKS" health "$WORK/out/$name.out" || {
    show "$name"
    return 1
  }
}
conf_check "openclaw gateway health --token <admin operator token>" health_with health-admin "$ADMIN_TOKEN"
conf_check "openclaw gateway health --token <operator-role token>" health_with health-operator "$OPERATOR_TOKEN"

# config.patch needs operator.admin: the operator-role token is refused for the missing scope; the admin
# token passes authorization and meets the method's own check (no baseHash), so its error is another.
admin_method() {
  oc patch-operator gateway call config.patch --params '{"raw":"{}"}' --url "$URL" --token "$OPERATOR_TOKEN" --json
  if [ "$(cat "$WORK/out/patch-operator.rc")" = "0" ]; then
    echo "config.patch (operator.admin) succeeded with a token of role operator"
    show patch-operator
    return 1
  fi
  grep -q "operator.admin" "$WORK/out/patch-operator.out" "$WORK/out/patch-operator.err" || {
    echo "the refusal does not name the missing scope operator.admin"
    show patch-operator
    return 1
  }
  oc patch-admin gateway call config.patch --params '{"raw":"{}"}' --url "$URL" --token "$ADMIN_TOKEN" --json
  if grep -q "missing scope" "$WORK/out/patch-admin.out" "$WORK/out/patch-admin.err"; then
    echo "the admin token lacks operator.admin"
    show patch-admin
    return 1
  fi
  grep -q "base hash" "$WORK/out/patch-admin.out" "$WORK/out/patch-admin.err" || {
    echo "expected the method's own baseHash check to answer the admin token"
    show patch-admin
    return 1
  }
}
conf_check "config.patch: operator-role token refused (missing operator.admin), admin token authorized" admin_method

revoked() {
  talon_tokens revoke ci-admin --json >"$WORK/out/revoke.json" || return 1
  oc health-revoked gateway health --url "$URL" --token "$ADMIN_TOKEN" --json
  if [ "$(cat "$WORK/out/health-revoked.rc")" = "0" ]; then
    echo "a revoked token was accepted"
    show health-revoked
    return 1
  fi
  echo "refused: $(head -c 300 "$WORK/out/health-revoked.err")"
}
conf_check "a revoked token is refused at the next connect" revoked

no_tokens_in_state() {
  local t
  for t in "$ADMIN_TOKEN" "$OPERATOR_TOKEN"; do
    if grep -rqF -- "$t" "$WORK/talon-state" "$WORK/talon.log"; then
      echo "a token (${t:0:13}…) appears under the state dir or in the gateway log"
      return 1
    fi
  done
  echo "no token under the state dir or in the gateway log"
}
conf_check "tokens are stored as hashes only" no_tokens_in_state

conf_finish
