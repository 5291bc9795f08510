#pragma once
// Shared by the `talon fleet` commands that deploy and observe gateways (commands_fleet_deploy.cpp: plan,
// apply, revisions, start/stop/restart, logs, status; commands_fleet_rollout.cpp: backup, restore,
// rollout): the fleet state dir, the deploy context, loading the selected gateways, preflight and audit.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands_fleet.h"
#include "fleet/deployer.h"
#include "fleet/drift.h"
#include "fleet/fleet_apply.h"
#include "fleet/preflight.h"
#include "fleet/render.h"
#include "security/audit_sink.h"

namespace talon::cli {

/// The options of the commands that use the fleet state dir.
struct FleetDeployOptions {
  std::string stateDir;
  std::string gateway;
  double timeoutSeconds = 120;
};

/// --state-dir, --gateway, --timeout.
void addStateDirOption(CLI::App* cmd, const std::shared_ptr<FleetDeployOptions>& d);
void addGatewayOption(CLI::App* cmd, const std::shared_ptr<FleetDeployOptions>& d);
void addTimeoutOption(CLI::App* cmd, const std::shared_ptr<FleetDeployOptions>& d);

/// --state-dir, else TALON_FLEET_STATE_DIR, else <inventory dir>/.talon-fleet.
std::filesystem::path deployStateDir(const FleetOptions& o, const FleetDeployOptions& d);
/// The OS user (the default actor).
std::string osUserName();
/// getenv() as an EnvironmentLookup.
std::optional<std::string> processEnvironmentValue(const std::string& name);
/// The deploy context: this binary as the Talon runtime, OpenClaw if installed, --timeout, progress on stderr.
fleet::DeployContext deployContext(const std::filesystem::path& stateDir, const FleetDeployOptions& d, bool json);
/// Appends a fleet action to the fleet state dir's audit chain. A failure to audit is reported and
/// turns the command's exit code into an error: an unaudited deploy is not a success. Returns the exit code.
int auditFleetAction(const std::filesystem::path& stateDir, security::AuditEvent event, int exitCode);

/// The fleet loaded and rendered, with the units of the selected gateways.
struct LoadedFleet {
  std::optional<fleet::EffectiveFleet> fleet;
  std::vector<fleet::RenderedGateway> renders;
  std::vector<fleet::DeployUnit> units;
  std::filesystem::path stateDir;
};
/// How fleet commands reach the loaded units' gateways: through each unit's deployer (directly, or a port
/// forward over an ssh gateway's connection); a gateway without a unit directly. `loaded` and `context`
/// must outlive the result.
fleet::GatewayReach unitsGatewayReach(const LoadedFleet& loaded, const fleet::DeployContext& context);
/// The SHA-256 of a gateway's config file where it runs: on its host for an ssh gateway (the deployer's
/// status), else read here; nullopt when it cannot be read. `loaded` and `context` must outlive the result.
fleet::ConfigDigest unitsConfigDigest(const LoadedFleet& loaded, const fleet::DeployContext& context);

/// Loads the fleet, renders it and builds the units of the selected gateways (--gateway), or prints why
/// not, sets `exitCode` and returns nullopt.
std::optional<LoadedFleet> loadForDeploy(const FleetOptions& o, const FleetDeployOptions& d, int& exitCode);

/// Preflight over the whole fleet as apply runs it: the ports of the fleet's own running gateways are not
/// bind-tested; `checkHostPorts` false skips the bind test altogether.
fleet::PreflightReport deployPreflight(const LoadedFleet& loaded, const fleet::DeployContext& context,
                                       bool checkHostPorts);

/// What the fleet state dir's revisions last applied to each gateway, or nullopt after reporting why they
/// cannot be read (and setting `exitCode`).
std::optional<std::map<std::string, fleet::AppliedGateway>> lastApplied(const std::filesystem::path& stateDir,
                                                                        int& exitCode);

/// backup, restore, rollout (commands_fleet_rollout.cpp).
void registerFleetRolloutCommands(CLI::App* group, int& exitCode);
/// `talon fleet backup drill` (commands_fleet_backup_drill.cpp), under `backup`.
void registerFleetBackupDrill(CLI::App* backup, int& exitCode);
/// drift (commands_fleet_drift.cpp).
void registerFleetDriftCommand(CLI::App* group, int& exitCode);
/// agents list|add|rm: the agent lifecycle (commands_fleet_agents.cpp).
void registerFleetAgentsCommands(CLI::App* group, int& exitCode);
/// serve, keys, usage: the model proxy (commands_fleet_serve.cpp).
void registerFleetServeCommands(CLI::App* group, int& exitCode);

}  // namespace talon::cli
