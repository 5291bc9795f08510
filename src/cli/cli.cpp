#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

namespace {
std::function<int()>& afterParse() {
  static std::function<int()> command;
  return command;
}

int parseAndRun(int argc, char** argv) {
  CLI::App app{"Talon: an OpenClaw-compatible agent gateway and fleet control plane"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("talon ") + TALON_VERSION);
  int exitCode = 0;
  auto* version = app.add_subcommand("version", "Print the version");
  version->callback([] { std::cout << "talon " << TALON_VERSION << "\n"; });
  registerGatewayCommands(app, exitCode);
  registerConfigCommands(app, exitCode);
  registerClientCommands(app, exitCode);
  registerDeviceCommands(app, exitCode);
  registerAuditCommands(app, exitCode);
  registerModelsCommands(app, exitCode);
  registerDoctorCommands(app, exitCode);
  registerSecretsCommands(app, exitCode);
  registerPairingCommands(app, exitCode);
  registerChannelsCommands(app, exitCode);
  registerMessageCommands(app, exitCode);
  registerTokenCommands(app, exitCode);
  registerRunsCommands(app, exitCode);
  registerCronCommands(app, exitCode);
  registerFleetCommands(app, exitCode);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    afterParse() = nullptr;
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exitCode;
}
}  // namespace

void runAfterParse(std::function<int()> command) { afterParse() = std::move(command); }

int run(int argc, char** argv) {
  int exitCode = parseAndRun(argc, argv);
  if (auto command = std::move(afterParse())) {
    afterParse() = nullptr;
    return command();
  }
  return exitCode;
}

}  // namespace talon::cli
