#!/usr/bin/env bash
# Times `talon fleet preflight --timing` (load, render, preflight; median of RUNS runs) on generated
# inventories of 50 gateways / 500 agents and 1,000 / 10,000, and prints the medians against the targets
# (render + preflight ≤ 100 ms and ≤ 1 s). Host port checks are off (the gateways are on generated hosts).
#   usage: bench/fleet/run.sh TALON_BINARY [RUNS]     (default RUNS 7)
set -euo pipefail
TALON="${1:?usage: run.sh TALON_BINARY [RUNS]}"
RUNS="${2:-7}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/talon-fleet-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
for size in "50 500 100" "1000 10000 1000"; do
  set -- $size
  python3 "$HERE/gen_inventory.py" --gateways "$1" --agents "$2" --out "$WORK/fleet-$1.json"
  bytes="$(wc -c <"$WORK/fleet-$1.json")"
  rc=0
  out="$("$TALON" fleet preflight --inventory "$WORK/fleet-$1.json" --no-host-check --timing --runs "$RUNS" --json)" || rc=$?
  if [ "$rc" -gt 1 ]; then
    printf '%s\n' "$out" | head -40 >&2
    echo "talon fleet preflight failed (exit $rc)" >&2
    exit 1
  fi
  python3 - "$1" "$2" "$3" "$bytes" "$out" <<'PY'
import json, sys
g, a, target, size, out = sys.argv[1:6]
r = json.loads(out)
t = r["timing"]
verdict = "ok" if t["renderPlusPreflightMs"] <= float(target) else "MISSED"
print(f"{g} gateways / {a} agents ({int(size)//1024} KiB): load {t['loadMs']:.1f} ms, render {t['renderMs']:.1f} ms, "
      f"preflight {t['preflightMs']:.1f} ms, render+preflight {t['renderPlusPreflightMs']:.1f} ms "
      f"(CPU {t['renderPlusPreflightCpuMs']:.1f} ms) "
      f"(target {target} ms: {verdict}); total {t['totalMs']:.1f} ms; findings {r['errorCount']} errors, "
      f"{r['warningCount']} warnings; median of {t['runs']}")
if r["errorCount"]:
    sys.exit("the generated inventory should pass preflight")
PY
done
