#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <iterator>

#include "cli/command_groups.h"
#include "cli/commands.h"

#ifndef TALON_VERSION
#define TALON_VERSION "0.1.0"
#endif

namespace talon::cli {

namespace {
constexpr CommandGroup kCommandGroups[] = {
    {"gateway", registerGatewayCommands},
    {"config", registerConfigCommands},
    {"health status agents sessions chat", registerClientCommands},
    {"devices", registerDeviceCommands},
    {"audit", registerAuditCommands},
    {"models", registerModelsCommands},
    {"doctor security", registerDoctorCommands},
    {"secrets", registerSecretsCommands},
    {"pairing", registerPairingCommands},
    {"channels", registerChannelsCommands},
    {"message channels", registerMessageCommands},
    {"tokens", registerTokenCommands},
    {"runs", registerRunsCommands},
    {"cron", registerCronCommands},
    {"fleet", registerFleetCommands},
};

bool groupAdds(const CommandGroup& group, std::string_view command) {
  std::string_view rest = group.commands;
  while (!rest.empty()) {
    std::size_t space = rest.find(' ');
    if (rest.substr(0, space) == command) return true;
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return false;
}

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
  addCommandGroups(app, exitCode, argc > 1 ? std::string_view(argv[1]) : std::string_view());
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

std::span<const CommandGroup> commandGroups() { return kCommandGroups; }

std::size_t addCommandGroups(CLI::App& app, int& exitCode, std::string_view first) {
  // Each group's tree costs heap and page faults at every start (~150 of a start's ~610 faults with all
  // of them): a command builds only its own.
  if (first == "version" || first == "--version") return 0;
  bool known = !first.empty() && std::any_of(std::begin(kCommandGroups), std::end(kCommandGroups),
                                             [&](const CommandGroup& g) { return groupAdds(g, first); });
  std::size_t added = 0;
  for (const auto& group : kCommandGroups) {
    if (known && !groupAdds(group, first)) continue;
    group.add(app, exitCode);
    ++added;
  }
  return added;
}

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
