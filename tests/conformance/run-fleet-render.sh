#!/usr/bin/env bash
# Conformance: `talon fleet render` of examples/fleet/ (and of tests/data/fleet/proxy-agent/, the model
# proxy with per-agent provider entries) passes each runtime's own validation — OpenClaw's
# `openclaw config validate --json` (2026.9.6, isolated HOME/state dir, OPENCLAW_CONFIG_PATH at the render)
# for every openclaw-runtime gateway, `talon config validate` for every talon-runtime one — and no render
# holds a secret value: the secrets the inventory references are set to canary values while rendering, and
# no rendered file may contain them. Needs no gateway. Last, one turn of an OpenClaw agent on a per-agent
# render (`openclaw agent --local`, the embedded runtime) through `talon fleet serve` to the mock model.
# Same exit codes as the other drivers (README.md).
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-fleet-render.sh
# Checks are functions run through conf_check (indirectly), hence SC2317.
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw
conf_init
conf_require_binaries

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

# An OpenClaw agent's turn on its per-agent render: OpenClaw resolves `mock--sales/mock-model` to the
# provider entry the render gave the agent and calls the proxy with the agent's own virtual key; the proxy
# forwards it with the real key and records the usage under the agent.
TURN="$WORK/turn"
mkdir -p "$TURN/home/.openclaw" "$TURN/tmp"
free_port() { "$NODE" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# The mock upstream and `talon fleet serve` run for the rest of the script (started here, in the script's
# own shell, so that the exit trap stops them).
TURN_REAL_KEY="sk-fleet-render-real-$(conf_random_hex 6)"
printf '{"apiKey":"%s","rules":[{"reply":{"text":"proxied per agent","usage":{"prompt_tokens":1000,"completion_tokens":500}}}]}\n' \
  "$TURN_REAL_KEY" >"$TURN/mock-script.json"
"$TALON_MOCK_MODEL_BINARY" --port 0 --port-file "$TURN/mock.port" --script "$TURN/mock-script.json" \
  --log "$TURN/mock-requests.jsonl" >"$TURN/mock.log" 2>&1 &
CONF_PIDS+=("$!")
TURN_MOCK_PORT="$(conf_wait_port talon-mock-model "$!" "$TURN/mock.port")"
TURN_PROXY_PORT="$(free_port)"
cat >"$TURN/fleet.json5" <<EOF
{
  organisation: { id: "org-turn", slug: "turn", displayName: "Turn" },
  defaults: { runtime: "openclaw", provider: "process", auth: { mode: "token", token: "\${TURN_TOKEN}" } },
  gateways: { oc: { port: 28789, stateDir: "$TURN/oc/state", workspaceRoot: "$TURN/oc/ws" } },
  agents: { sales: { gateway: "oc", kind: "use-case", model: "mock/mock-model" } },
  catalogs: { models: { "mock/mock-model": {} } },
  modelProxy: {
    listen: "127.0.0.1:$TURN_PROXY_PORT",
    gateways: ["oc"],
    attribution: "agent",
    providers: { mock: { baseUrl: "http://127.0.0.1:$TURN_MOCK_PORT/v1", apiKey: "\${TURN_UPSTREAM_KEY}" } },
    limits: { agents: { sales: { dailyUsd: 1 } } },
    pricing: { "mock/mock-model": { inputPerMTokUsd: 1, outputPerMTokUsd: 2 } },
  },
}
EOF
TURN_FLEET=(--inventory "$TURN/fleet.json5" --state-dir "$TURN/fleet-state")
TURN_AGENT_KEY="$("$TALON_BINARY" fleet keys issue oc --agent sales "${TURN_FLEET[@]}" 2>"$TURN/keys.err")" ||
  conf_die "fleet keys issue failed: $(cat "$TURN/keys.err")"
TURN_UPSTREAM_KEY="$TURN_REAL_KEY" "$TALON_BINARY" fleet serve "${TURN_FLEET[@]}" >"$TURN/serve.log" 2>&1 &
CONF_PIDS+=("$!")
TURN_SERVE_PID="$!"
for ((i = 0; i < 600; i++)); do
  grep -q "listening on" "$TURN/serve.log" 2>/dev/null && break
  kill -0 "$TURN_SERVE_PID" 2>/dev/null || conf_die "fleet serve exited: $(cat "$TURN/serve.log")"
  sleep 0.05
done

openclaw_turn_through_proxy() {
  TURN_TOKEN=t "$TALON_BINARY" fleet render --inventory "$TURN/fleet.json5" --out "$TURN/renders" >/dev/null || return 1
  OC_HOME="$TURN/home" OC_STATE="$TURN/home/.openclaw" OC_CONFIG="$TURN/renders/oc/openclaw.json" \
    TALON_FLEET_PROXY_KEY_OC__SALES="$TURN_AGENT_KEY" oc_turn turn agent --local --agent sales --message hello --json --timeout 90
  if [ "$(cat "$WORK/out/turn.rc")" != "0" ] || ! grep -q "proxied per agent" "$WORK/out/turn.out"; then
    show turn
    cat "$TURN/serve.log"
    return 1
  fi
  "$TALON_BINARY" fleet usage --by agent --json "${TURN_FLEET[@]}" >"$WORK/out/turn-usage.json"
  "$NODE" -e 'const u=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).usage;
    if(u.length!==1||u[0].agent!=="sales"||u[0].requests<1){console.log(JSON.stringify(u));process.exit(1)}
    console.log("usage recorded for agent "+u[0].agent+": "+u[0].requests+" request(s), "+u[0].costUsd+" USD")' \
    "$WORK/out/turn-usage.json"
  if grep -q "tfk_" "$TURN/mock-requests.jsonl"; then
    echo "the virtual key reached the upstream"
    return 1
  fi
}
# oc with the agent's key variable passed through the clean environment oc() builds.
oc_turn() {
  local name="$1" rc=0
  shift
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$OC_HOME" USER="conformance" LANG="C.UTF-8" \
    TERM="dumb" NO_COLOR=1 CI=1 TMPDIR="$TURN/tmp" OPENCLAW_DISABLE_BONJOUR=1 OPENCLAW_NO_AUTO_UPDATE=1 \
    OPENCLAW_STATE_DIR="$OC_STATE" OPENCLAW_CONFIG_PATH="$OC_CONFIG" \
    TALON_FLEET_PROXY_KEY_OC__SALES="$TALON_FLEET_PROXY_KEY_OC__SALES" \
    "$OPENCLAW" "$@" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err" </dev/null || rc=$?
  echo "$rc" >"$WORK/out/$name.rc"
  return 0
}
conf_check "an OpenClaw agent's turn goes through fleet serve with the agent's own key" openclaw_turn_through_proxy

conf_finish
