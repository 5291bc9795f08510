#pragma once
// The `compose` provider (docs/fleet.md "Compose"): each gateway is a Docker Compose project named
// "talon-<gatewayId>" on this machine. apply() writes the rendered project (compose.yaml and the
// openclaw.json it mounts read-only) into <fleetStateDir>/gateways/<id>/compose/ and runs `up -d`;
// stop() runs `down` (the named volumes, and with them the state, are kept); status() reads the
// project's container (`ps`) and probes /readyz on the published port; logs() runs `logs --tail N`.
// The CLI is `docker compose` when the plugin answers, else `docker-compose` (v1). The variables the
// config references reach the container from the operator's environment through "${VAR}" entries: the
// compose file holds no value. Blocking calls; one thread at a time.
#include <optional>
#include <string>
#include <vector>

#include "fleet/deployer.h"

namespace talon::fleet {

/// A new compose deployer.
DeployerPtr createComposeDeployer();

/// `<fleetStateDir>/gateways/<gatewayId>/compose`: the project directory.
std::filesystem::path composeProjectDir(const std::filesystem::path& fleetStateDir, std::string_view gatewayId);

/// One compose invocation: `cli` ({"docker", "compose"} or {"docker-compose"}), then --project-name
/// `project`, --file `composeFile`, then `args`.
std::vector<std::string> composeCommand(const std::vector<std::string>& cli, const std::string& project,
                                        const std::filesystem::path& composeFile, const std::vector<std::string>& args);
/// The arguments of up (`up --detach --remove-orphans`), down (`down --remove-orphans`; volumes kept),
/// logs (`logs --no-color --tail N`) and the status listing: with the plugin `ps --all --format json`,
/// with v1 (which has no JSON output) `ps --all -q`, whose container ids go to dockerInspectStateCommand().
std::vector<std::string> composeUpArgs();
std::vector<std::string> composeDownArgs();
std::vector<std::string> composeLogsArgs(std::size_t lines);
std::vector<std::string> composePsArgs(bool plugin);
/// `docker inspect --format {{json .State}} <containerId>`.
std::vector<std::string> dockerInspectStateCommand(const std::string& containerId);

/// A compose project's container as the status reads it.
struct ComposeContainerState {
  std::string service;
  /// Docker's state: "running", "exited", "restarting", "created", "paused", "dead".
  std::string state;
  /// The healthcheck's status ("healthy", "unhealthy", "starting"; "" without one).
  std::string health;
  int exitCode = 0;
};
/// Parses `docker compose ps --format json`: a JSON array (compose < 2.21) or one object per line (later),
/// each with Service, State, Health, ExitCode. Errors: kInvalidArgument naming what could not be parsed.
Result<std::vector<ComposeContainerState>> parseComposePs(std::string_view output);
/// Parses `docker inspect --format {{json .State}}` ({"Status", "ExitCode", "Health": {"Status"}}).
/// Errors: kInvalidArgument.
Result<ComposeContainerState> parseDockerInspectState(std::string_view output);
/// The process state of a project from its containers: none -> stopped; running -> running when
/// `readyzStatus` is 200, else degraded; anything else (exited, dead, restarting) -> failed.
ProcessState composeProcessState(const std::vector<ComposeContainerState>& containers, int readyzStatus);

}  // namespace talon::fleet
