#!/usr/bin/env bash
# Conformance: OpenClaw's own documentation examples that configure models load in Talon. Every
# ```json5/json/jsonc block of OpenClaw 2026.9.6's package docs that configures models (`models`, `auth`,
# an agent's model keys; doc_model_examples.mjs) and that OpenClaw's own schema accepts
# (doc_model_openclaw_accepts.mjs) is run through `talon config validate --json`; a refusal of a model
# key is allowed only for an API Talon does not speak yet or when listed, with its reason, in
# openclaw-doc-models.expected (doc_model_report.mjs). No gateway is started.
#   OPENCLAW_REF_DIR=~/.cache/openclaw-ref TALON_BINARY=build/talon tests/conformance/run-openclaw-doc-models.sh
# Skips (exit 77) with a message when OPENCLAW_REF_DIR is unset.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -z "${OPENCLAW_REF_DIR:-}" ]; then
  echo "SKIP: OPENCLAW_REF_DIR is not set (the OpenClaw 2026.9.6 install whose docs are checked; scripts/install-openclaw.sh)"
  exit "$CONF_SKIP"
fi
PKG="$OPENCLAW_REF_DIR/node_modules/openclaw"
OC_NODE="$OPENCLAW_REF_DIR/bin/node"
[ -d "$PKG/docs" ] || conf_die "no OpenClaw docs at $PKG/docs (OPENCLAW_REF_DIR=$OPENCLAW_REF_DIR)"
[ -x "$OC_NODE" ] || conf_die "no node at $OC_NODE"
if [ -z "${TALON_BINARY:-}" ] || [ ! -x "$TALON_BINARY" ]; then conf_die "TALON_BINARY is not set to the talon executable"; fi

conf_init
EX="$WORK/examples"
"$OC_NODE" "$CONF_DIR/doc_model_examples.mjs" "$PKG/docs" "$OPENCLAW_REF_DIR/node_modules/json5" "$EX"
"$OC_NODE" "$CONF_DIR/doc_model_openclaw_accepts.mjs" "$PKG" "$OPENCLAW_REF_DIR/node_modules/json5" "$EX"

# Talon: each example with every ${VAR} it names set to a placeholder (as its reader would set them), a
# private HOME and state dir.
mkdir -p "$WORK/home"
while IFS=$'\t' read -r file vars; do
  env_args=(HOME="$WORK/home" TALON_STATE_DIR="$WORK/home/.talon")
  for v in $vars; do env_args+=("$v=example-value-0123456789abcdef"); done
  env -i PATH="$PATH" "${env_args[@]}" "$TALON_BINARY" config validate --json "$EX/$file" \
    >"$EX/${file%.json5}.talon.json" 2>"$EX/${file%.json5}.talon.err" || true
done < <("$OC_NODE" -e 'const i=require(process.argv[1]);for(const e of i)console.log(e.file+"\t"+e.vars.join(" "))' "$EX/index.json")

"$OC_NODE" "$CONF_DIR/doc_model_report.mjs" "$EX" "$CONF_DIR/openclaw-doc-models.expected"
