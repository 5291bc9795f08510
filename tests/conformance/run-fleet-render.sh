#!/usr/bin/env bash
# Conformance: `talon fleet render` of examples/fleet/ (and of tests/data/fleet/proxy-agent/, the model
# proxy with per-agent provider entries) passes each runtime's own validation — OpenClaw's
# `openclaw config validate --json` (2026.9.6, isolated HOME/state dir, OPENCLAW_CONFIG_PATH at the render)
# for every openclaw-runtime gateway, `talon config validate` for every talon-runtime one — and no render
# holds a secret value: the secrets the inventory references are set to canary values while rendering, and
# no rendered file may contain them. Needs no gateway. Same exit codes as the other drivers (README.md).
#   TALON_BINARY=… tests/conformance/run-fleet-render.sh
# Checks are functions run through conf_check (indirectly), hence SC2317.
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw
conf_init
if [ -z "${TALON_BINARY:-}" ] || [ ! -x "$TALON_BINARY" ]; then
  conf_die "TALON_BINARY is not an executable: '${TALON_BINARY:-}'"
fi

INVENTORY="$CONF_DIR/../../examples/fleet/fleet.json5"
RENDERS="$WORK/renders"
CANARY="canary-secret-$(conf_random_hex 8)"

# The render, with every secret the example references set to the canary.
render() {
  local vars=() v
  for v in $(grep -oE '\$\{[A-Z_][A-Z0-9_]*\}' "$INVENTORY" | tr -d '${}' | sort -u); do vars+=("$v=$CANARY"); done
  vars+=("SUPPORT_MAIN_GATEWAY_TOKEN=$CANARY")
  env "${vars[@]}" "$TALON_BINARY" fleet render --inventory "$INVENTORY" --out "$RENDERS" --json >"$WORK/out/render.json" ||
    {
      cat "$WORK/out/render.json"
      return 1
    }
  ls "$RENDERS"
}
conf_check "talon fleet render writes one openclaw.json per gateway" render

no_secret_values() {
  if grep -rl -- "$CANARY" "$RENDERS"; then
    echo "a render holds a secret value"
    return 1
  fi
  echo "no render holds a secret value; references kept: $(grep -rhoE '\$\{[A-Z_]+\}' "$RENDERS" | sort -u | tr '\n' ' ')"
}
conf_check "renders carry secret references, never values" no_secret_values

runtime_of() {  # GATEWAY_ID [INVENTORY] -> talon|openclaw, from `talon fleet explain --json`
  "$TALON_BINARY" fleet explain "gateway:$1" runtime --inventory "${2:-$INVENTORY}" --json |
    "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).value||"openclaw"))'
}

OC_HOME="$WORK/openclaw-home"
OC_STATE="$OC_HOME/.openclaw"
mkdir -p "$OC_STATE" "$WORK/tmp"

validate_openclaw() {  # GATEWAY_ID [RENDERS]
  OC_CONFIG="${2:-$RENDERS}/$1/openclaw.json"
  oc "validate-$1" config validate --json
  if [ "$(cat "$WORK/out/validate-$1.rc")" != "0" ] ||
    [ "$("$NODE" -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(String(r.valid))' "$WORK/out/validate-$1.out")" != "true" ]; then
    show "validate-$1"
    return 1
  fi
  echo "valid ($("$NODE" -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(String((r.warnings||[]).length))' "$WORK/out/validate-$1.out") warnings: missing env vars and the heartbeat owner)"
}

validate_talon() {  # GATEWAY_ID [RENDERS]
  env -i PATH="/usr/bin:/bin" HOME="$WORK/talon-home" TALON_STATE_DIR="$WORK/talon-state-$1" \
    "$TALON_BINARY" config validate "${2:-$RENDERS}/$1/openclaw.json"
}

for dir in "$RENDERS"/*/; do
  id="$(basename "$dir")"
  runtime="$(runtime_of "$id")"
  if [ "$runtime" = "openclaw" ]; then
    conf_check "openclaw config validate accepts the render of $id" validate_openclaw "$id"
  else
    conf_check "talon config validate accepts the render of $id" validate_talon "$id"
  fi
done

# The validator reads the render: a copy with an unknown key is refused (so the checks above can fail).
refuses_broken() {
  mkdir -p "$RENDERS/../broken"
  "$NODE" -e 'const fs=require("fs");const c=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));c.gateway.bogusKey=1;
    fs.writeFileSync(process.argv[2],JSON.stringify(c))' "$RENDERS/support-main/openclaw.json" "$RENDERS/../broken/openclaw.json"
  OC_CONFIG="$RENDERS/../broken/openclaw.json"
  oc broken config validate --json
  if [ "$(cat "$WORK/out/broken.rc")" = "0" ]; then
    show broken
    return 1
  fi
  echo "refused: $(head -c 300 "$WORK/out/broken.out")"
}
conf_check "openclaw config validate refuses a render with an unknown key" refuses_broken

counted() {
  local n
  n="$(find "$RENDERS" -name openclaw.json | wc -l)"
  [ "$n" -eq 3 ] || {
    echo "expected 3 renders, found $n"
    return 1
  }
  echo "3 renders validated (2 openclaw, 1 talon)"
}
conf_check "every gateway of the example was validated" counted

# Per-agent attribution (modelProxy.attribution "agent"): every proxied agent has its own provider entry
# `<provider>--<agentId>` with its own virtual-key reference, and its model ref names that entry.
AGENT_INVENTORY="$CONF_DIR/../data/fleet/proxy-agent/fleet.json5"
AGENT_RENDERS="$WORK/renders-agent"
render_agent() {
  "$TALON_BINARY" fleet render --inventory "$AGENT_INVENTORY" --out "$AGENT_RENDERS" --json >"$WORK/out/render-agent.json" ||
    {
      cat "$WORK/out/render-agent.json"
      return 1
    }
  grep -h '"model": "\|PROXY_KEY' "$AGENT_RENDERS"/*/openclaw.json
}
conf_check "talon fleet render gives each proxied agent its own provider entry (attribution agent)" render_agent

for dir in "$AGENT_RENDERS"/*/; do
  id="$(basename "$dir")"
  if [ "$(runtime_of "$id" "$AGENT_INVENTORY")" = "openclaw" ]; then
    conf_check "openclaw config validate accepts the per-agent render of $id" validate_openclaw "$id" "$AGENT_RENDERS"
  else
    conf_check "talon config validate accepts the per-agent render of $id" validate_talon "$id" "$AGENT_RENDERS"
  fi
done

conf_finish
