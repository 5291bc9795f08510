#pragma once
// The `process` provider: each gateway is a local process, started detached (its own session, adopted by
// init) so that it outlives `talon fleet apply`. Its files live under the fleet state dir:
//   <fleetStateDir>/gateways/<id>/gateway.pid   "<pid> <startTicks>" while the fleet considers it started
//   <fleetStateDir>/gateways/<id>/gateway.log   its stdout and stderr, appended
// The config is written to the gateway's configPath (mode 0600, atomically); the Talon runtime runs as
// `<talonBinary> gateway run --config <configPath>` with TALON_STATE_DIR=<stateDir>. The secrets its
// config references ("${VAR}") come from the operator's environment, which the process inherits.
// The OpenClaw runtime runs as `<openclawBinary> gateway run` with OPENCLAW_STATE_DIR=<stateDir> and
// OPENCLAW_CONFIG_PATH=<configPath> (OpenClaw docs/gateway/multiple-gateways.md: each instance its own
// state dir, config and ports); check() refuses it when no OpenClaw install was found.
#include <functional>
#include <optional>

#include "fleet/deployer.h"

namespace talon::fleet {

/// A new process deployer.
DeployerPtr createProcessDeployer();

/// The `openclaw` executable: TALON_FLEET_OPENCLAW, else `$OPENCLAW_REF_DIR/bin/openclaw`, else
/// `$HOME/.cache/openclaw-ref/bin/openclaw` (where tools/install-openclaw installs it), else `openclaw` on
/// PATH — the first that is an executable file; empty when none is. `env` reads the environment.
std::filesystem::path findOpenClawBinary(const std::function<std::optional<std::string>(const std::string&)>& env);

/// `<fleetStateDir>/gateways/<gatewayId>`.
std::filesystem::path processGatewayDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId);

}  // namespace talon::fleet
