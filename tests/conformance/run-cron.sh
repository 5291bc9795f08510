#!/usr/bin/env bash
# Conformance: cron jobs (issue 9, "Automations") driven by OpenClaw's own CLI against `talon gateway
# run` (lib.sh: the mock model answers every turn). Checks that
#  - `openclaw cron add --every … --message … --no-deliver --json` creates a job Talon stores;
#  - `openclaw cron list --json` shows it with OpenClaw's fields (id, name, schedule, state.nextRunAtMs);
#  - `openclaw cron run <id> --wait --json` runs it now and waits: the run finishes "ok" and its summary
#    is the mock model's answer;
#  - `openclaw cron runs --id <id> --json` lists that run;
#  - `talon cron list|health|runs --json` agree, and `openclaw cron rm <id>` removes the job.
# Exit 77 (skip) only when OpenClaw is missing and TALON_SKIP_OPENCLAW_CONFORMANCE=1.
#   TALON_BINARY=… TALON_MOCK_MODEL_BINARY=… tests/conformance/run-cron.sh
# shellcheck disable=SC2317 source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

conf_require_openclaw

conf_init
conf_require_binaries
conf_start_gateway

URL="ws://127.0.0.1:$GATEWAY_PORT"
conf_openclaw_home

# ocg NAME ARGS...: `oc` against this gateway (--url, --token).
ocg() {
  local name="$1"
  shift
  oc "$name" "$@" --url "$URL" --token "$TOKEN"
}
# tl NAME ARGS...: the same with `talon`.
tl() {
  local name="$1" rc=0
  shift
  "$TALON_BINARY" "$@" --url "$URL" --token "$TOKEN" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err" </dev/null || rc=$?
  echo "$rc" >"$WORK/out/$name.rc"
}
# js NAME EXPR: evaluates EXPR with `out` = the JSON of $WORK/out/NAME.out; prints it; fails when falsy.
js() {
  CHECK_FILE="$WORK/out/$1.out" CHECK_EXPR="$2" "$NODE" -e "
    const text = require('fs').readFileSync(process.env.CHECK_FILE, 'utf8');
    const out = JSON.parse(text.slice(text.indexOf('{')));
    const v = eval(process.env.CHECK_EXPR);
    if (!v) { console.log('check failed: ' + process.env.CHECK_EXPR); process.exit(1); }
    console.log(typeof v === 'string' ? v : JSON.stringify(v));"
}
ok_rc() {
  [ "$(cat "$WORK/out/$1.rc")" = "0" ] || {
    show "$1"
    return 1
  }
}

add_job() {
  ocg add cron add --name conformance-job --every 1h --message "conformance-ping from cron" --session isolated \
    --no-deliver --json
  ok_rc add || return 1
  JOB_ID="$(js add 'out.id || (out.job && out.job.id)')" || {
    show add
    return 1
  }
  echo "job $JOB_ID"
}
conf_check "openclaw cron add --every 1h --message … --no-deliver" add_job
JOB_ID="$(js add 'out.id || (out.job && out.job.id)' 2>/dev/null || true)"

list_job() {
  ocg list cron list --all --json
  ok_rc list || return 1
  js list "out.jobs.some(j => j.id === '$JOB_ID' && j.name === 'conformance-job' && j.schedule.kind === 'every'
           && j.schedule.everyMs === 3600000 && j.payload.kind === 'agentTurn' && j.state.nextRunAtMs > Date.now())
           && 'listed with schedule, payload and state.nextRunAtMs'" || {
    show list
    return 1
  }
}
conf_check "openclaw cron list --json shows the job" list_job

run_wait() {
  ocg run cron run "$JOB_ID" --wait --wait-timeout 60s --json
  ok_rc run || return 1
  js run "out.completed === true && out.status === 'ok' && out.run && out.run.jobId === '$JOB_ID'
          && /pong from the mock model/.test(out.run.summary || '') && 'finished ok: ' + out.run.summary" || {
    show run
    return 1
  }
}
conf_check "openclaw cron run <id> --wait: the run finishes ok with the model's answer" run_wait

runs_list() {
  ocg runs cron runs --id "$JOB_ID" --json
  ok_rc runs || return 1
  js runs "out.entries.length >= 1 && out.entries[0].jobId === '$JOB_ID' && out.entries[0].status === 'ok'
           && 'entries: ' + out.entries.length" || {
    show runs
    return 1
  }
}
conf_check "openclaw cron runs --id <id> --json lists the run" runs_list

talon_views() {
  tl tlist cron list --json
  ok_rc tlist || return 1
  js tlist "out.jobs.some(j => j.id === '$JOB_ID') && 'talon cron list sees it'" || return 1
  tl thealth cron health --json
  ok_rc thealth || return 1
  js thealth "out.healthy >= 1 && out.degraded === 0 && 'talon cron health: ' + out.healthy + ' healthy'" || return 1
  tl truns cron runs --id "$JOB_ID" --json
  ok_rc truns || return 1
  js truns "out.entries.length >= 1 && 'talon cron runs: ' + out.entries.length" || return 1
}
conf_check "talon cron list|health|runs --json agree" talon_views

remove_job() {
  ocg rm cron rm "$JOB_ID" --json
  ok_rc rm || return 1
  ocg list2 cron list --all --json
  ok_rc list2 || return 1
  js list2 "!out.jobs.some(j => j.id === '$JOB_ID') && 'removed'" || {
    show list2
    return 1
  }
}
conf_check "openclaw cron rm <id> removes the job" remove_job

conf_finish
