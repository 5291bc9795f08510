#pragma once
// Shared by the `talon fleet` command files (commands_fleet.cpp: the inventory commands;
// commands_fleet_deploy.cpp: plan, apply, revisions, start/stop/restart, logs, status).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "config/source_map.h"
#include "fleet/layering.h"

namespace talon::cli {

/// The options every fleet command takes.
struct FleetOptions {
  std::string inventory;
  bool json = false;
};

/// --inventory, else TALON_FLEET_INVENTORY, else ./fleet.json5.
std::filesystem::path fleetInventoryPath(const FleetOptions& o);
/// Adds --inventory and --json to `cmd`.
void addFleetCommonOptions(CLI::App* cmd, const std::shared_ptr<FleetOptions>& o);
/// Loads and resolves the inventory, or prints why not (every problem with file:line), sets `exitCode`
/// and returns nullopt.
std::optional<fleet::EffectiveFleet> loadFleetInventory(const FleetOptions& o, int& exitCode);
/// "file:line" of `l` (relative to the working directory when below it), "-" when unknown.
std::string fleetSourceWhere(const config::SourceLocation& l);
/// Prints "error: <message>" (the full message: the fleet commands run on the operator's machine and
/// their errors name files and keys) on stderr and returns the exit code for the error.
int reportFleetError(const Error& e);

/// plan, apply, revisions, start, stop, restart, logs, status (commands_fleet_deploy.cpp).
void registerFleetDeployCommands(CLI::App* group, int& exitCode);

}  // namespace talon::cli
