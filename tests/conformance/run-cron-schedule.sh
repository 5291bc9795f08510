#!/usr/bin/env bash
# Conformance: Talon's cron schedule engine against OpenClaw's own next-run computation
# (cron_schedule_diff.mjs; docs/cron.md "Schedules"). No gateway: talon-cron-next evaluates the cases.
# OpenClaw comes from $OPENCLAW_REF_DIR (default ~/.cache/openclaw-ref) and runs on its own Node
# ($OPENCLAW_REF_DIR/bin/node). When it is missing the test FAILS, unless
# TALON_SKIP_OPENCLAW_CONFORMANCE=1 (then it exits 77, ctest's skip code).
#   TALON_CRON_NEXT_BINARY=build/tests/conformance/talon-cron-next tests/conformance/run-cron-schedule.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
oc_dir="${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}"
node="$oc_dir/bin/node"
if [ ! -x "$node" ] || [ ! -d "$oc_dir/node_modules/openclaw/dist" ]; then
  if [ "${TALON_SKIP_OPENCLAW_CONFORMANCE:-0}" = "1" ]; then
    echo "SKIP: OpenClaw is not installed at $oc_dir (TALON_SKIP_OPENCLAW_CONFORMANCE=1)"
    exit 77
  fi
  echo "FAIL: OpenClaw is not installed at $oc_dir: install it with scripts/install-openclaw.sh, point" >&2
  echo "      OPENCLAW_REF_DIR at an install, or set TALON_SKIP_OPENCLAW_CONFORMANCE=1 to skip this test." >&2
  exit 1
fi
driver="${TALON_CRON_NEXT_BINARY:?set TALON_CRON_NEXT_BINARY to the talon-cron-next executable}"
for seed in 20261201 1 2; do
  "$node" "$here/cron_schedule_diff.mjs" --openclaw "$oc_dir" --driver "$driver" --seed "$seed" --count 4000
done
