// talon fleet drift: each gateway's running config hash and version, read through the gateway protocol,
// against the revision the fleet last applied to it (docs/fleet.md "Drift").
#include <iostream>

#include "cli/commands_fleet.h"
#include "cli/commands_fleet_deploy.h"
#include "cli/output.h"
#include "config/environment.h"
#include "fleet/drift.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

void registerFleetDriftCommand(CLI::App* group, int& exitCode) {
  auto o = std::make_shared<FleetOptions>();
  auto d = std::make_shared<FleetDeployOptions>();
  d->timeoutSeconds = 10;
  auto* cmd = group->add_subcommand(
      "drift", "Each gateway's running config hash and version (through the protocol) against its applied revision");
  addGatewayOption(cmd, d);
  addStateDirOption(cmd, d);
  cmd->add_option("--timeout", d->timeoutSeconds, "Seconds to wait for each gateway's answer (default 10)")
      ->check(CLI::Range(1.0, 600.0));
  addFleetCommonOptions(cmd, o);
  cmd->callback([o, d, &exitCode] {
    auto loaded = loadForDeploy(*o, *d, exitCode);
    if (!loaded) return;
    auto applied = lastApplied(loaded->stateDir, exitCode);
    if (!applied) return;
    std::vector<std::pair<std::string, std::string>> gateways;
    for (const auto& u : loaded->units) gateways.emplace_back(u.target.id, u.target.runtime);
    // Each gateway is reached through its deployer: directly, or over its ssh connection (a tunnel); an
    // OpenClaw gateway's config file is read where it runs.
    auto context = deployContext(loaded->stateDir, *d, o->json);
    fleet::GatewayReach reach = unitsGatewayReach(*loaded, context);
    fleet::ConfigDigest digest = unitsConfigDigest(*loaded, context);
    auto drift =
        fleet::fleetDrift(gateways, *applied, config::processEnvironment(), TALON_VERSION,
                          std::chrono::milliseconds(static_cast<int64_t>(d->timeoutSeconds * 1000)), reach, digest);
    if (o->json) {
      json::array a;
      for (const auto& g : drift) a.push_back(g.toJson());
      printJson(json::object{{"stateDir", loaded->stateDir.string()}, {"gateways", std::move(a)}});
    } else {
      std::vector<std::vector<std::string>> rows;
      for (const auto& g : drift) {
        std::string what;
        for (const auto& w : g.drifted) what += (what.empty() ? "" : ",") + w;
        rows.push_back({g.id, g.runtime, std::string(fleet::driftStateName(g.state)), what.empty() ? "-" : what,
                        g.appliedRevision ? std::to_string(*g.appliedRevision) : "-",
                        g.appliedVersion.empty() ? "-" : g.appliedVersion,
                        g.runningVersion.empty() ? "-" : g.runningVersion});
      }
      printTable({"GATEWAY", "RUNTIME", "DRIFT", "WHAT", "REVISION", "APPLIED VERSION", "RUNNING VERSION"}, rows);
      for (const auto& g : drift) {
        if (!g.detail.empty()) std::cout << g.id << ": " << g.detail << "\n";
      }
    }
    exitCode = fleet::driftExitCode(drift);
  });
}

}  // namespace talon::cli
