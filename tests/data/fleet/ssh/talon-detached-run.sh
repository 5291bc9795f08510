#!/bin/sh
# Written by `talon fleet apply` for gateway support-main (service "detached"); it is overwritten by the next apply.
umask 077
set -a
if [ -f '/home/ops/.talon-fleet/support-main'/gateway.env ]; then . '/home/ops/.talon-fleet/support-main'/gateway.env; fi
set +a
unset TALON_GATEWAY_PORT TALON_CONFIG_PATH
TALON_STATE_DIR='/srv/talon/support main'; export TALON_STATE_DIR
cd '/srv/talon/support main' || exit 1
# The pid and its start time (field 22 of /proc/<pid>/stat): a reused pid is not mistaken for it.
st=$(cat /proc/$$/stat); st=${st##*) }; set -- $st
echo "$$ ${20}" > '/home/ops/.talon-fleet/support-main'/gateway.pid.tmp && mv -f '/home/ops/.talon-fleet/support-main'/gateway.pid.tmp '/home/ops/.talon-fleet/support-main'/gateway.pid
exec '/home/ops/.talon-fleet/support-main/bin/talon' 'gateway' 'run' '--config' '/srv/talon/support main/openclaw.json'
