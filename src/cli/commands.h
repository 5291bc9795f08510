#pragma once
// Registration of the CLI's command groups, one file each. `exitCode` receives the command's result.
#include <CLI/CLI.hpp>

namespace talon::cli {

void registerGatewayCommands(CLI::App& app, int& exitCode);   // gateway run
void registerConfigCommands(CLI::App& app, int& exitCode);    // config validate
void registerClientCommands(CLI::App& app, int& exitCode);    // health, status, agents, sessions, chat
void registerDeviceCommands(CLI::App& app, int& exitCode);    // devices list|approve|reject|remove|rotate|revoke
void registerAuditCommands(CLI::App& app, int& exitCode);     // audit verify, list, export
void registerModelsCommands(CLI::App& app, int& exitCode);    // models list
void registerDoctorCommands(CLI::App& app, int& exitCode);    // doctor, security audit
void registerSecretsCommands(CLI::App& app, int& exitCode);   // secrets set|get|list|rm|rotate
void registerPairingCommands(CLI::App& app, int& exitCode);   // pairing list|approve
void registerChannelsCommands(CLI::App& app, int& exitCode);  // channels list|status|probe
/// message send; channels deliveries (adds to the `channels` group when another file created it first).
void registerMessageCommands(CLI::App& app, int& exitCode);
void registerTokenCommands(CLI::App& app, int& exitCode);  // tokens create|list|revoke
void registerRunsCommands(CLI::App& app, int& exitCode);   // runs list|show|diff
/// cron list|status|show|add|rm|enable|disable|run|runs|health|audit
void registerCronCommands(CLI::App& app, int& exitCode);
/// fleet validate|explain|render|preflight|routes|policy
void registerFleetCommands(CLI::App& app, int& exitCode);

}  // namespace talon::cli
