#pragma once
// The `process` provider: each gateway is a local process, started detached (its own session, adopted by
// init) so that it outlives `talon fleet apply`. Its files live under the fleet state dir:
//   <fleetStateDir>/gateways/<id>/gateway.pid   "<pid> <startTicks>" while the fleet considers it started
//   <fleetStateDir>/gateways/<id>/gateway.log   its stdout and stderr, appended
// The config is written to the gateway's configPath (mode 0600, atomically); the Talon runtime runs as
// `<talonBinary> gateway run --config <configPath>` with TALON_STATE_DIR=<stateDir>. The secrets its
// config references ("${VAR}") come from the operator's environment, which the process inherits.
// The OpenClaw runtime is refused (check()): running OpenClaw's gateway through the install of
// tools/install-openclaw is not implemented yet.
#include "fleet/deployer.h"

namespace talon::fleet {

/// A new process deployer.
DeployerPtr createProcessDeployer();

/// `<fleetStateDir>/gateways/<gatewayId>`.
std::filesystem::path processGatewayDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId);

}  // namespace talon::fleet
