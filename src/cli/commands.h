#pragma once
// Registration of the CLI's command groups, one file each. `exitCode` receives the command's result.
#include <CLI/CLI.hpp>
#include <functional>

namespace talon::cli {

/// Runs `command` once the command line has been parsed and the parser destroyed; its result is the
/// process's exit code. For a command that runs for a long time (`gateway run`): the parser's tree of
/// every command's options (~300 KiB of heap) is not kept alive beside it. Call it from a subcommand
/// callback, at most once per process. Not thread-safe (the CLI parses on one thread).
void runAfterParse(std::function<int()> command);

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
/// fleet validate|explain|render|preflight|routes|policy|plan|apply|revisions|start|stop|restart|logs|status
void registerFleetCommands(CLI::App& app, int& exitCode);

}  // namespace talon::cli
