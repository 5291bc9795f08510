// talon config validate [PATH] [--json]
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/config_loader.h"

namespace talon::cli {

void registerConfigCommands(CLI::App& app, int& exitCode) {
  auto* config = app.add_subcommand("config", "Inspect and check the gateway config");
  config->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto asJson = std::make_shared<bool>(false);
  auto* validate =
      config->add_subcommand("validate",
                             "Check a config file (default: --config, TALON_CONFIG_PATH or <stateDir>/talon.json); "
                             "prints every issue and exits non-zero on any error");
  validate->add_option("path", *path, "Config file to check");
  validate->add_option("--config", *path, "Config file to check (same as PATH)");
  validate->add_flag("--json", *asJson, "Print the report as JSON");
  validate->callback([path, asJson, &exitCode] {
    config::LoadOptions lo;
    if (!path->empty()) lo.configPath = std::filesystem::path(*path);
    auto report = config::validateConfig(lo);
    if (!report) {
      exitCode = reportError(report.error());
      return;
    }
    if (*asJson) {
      printJson(report->toJson());
    } else {
      for (const auto& d : report->diagnostics) std::cout << d.toString() << "\n";
      if (!report->exists) {
        std::cout << report->path.string() << " does not exist: the gateway starts with defaults\n";
      } else if (report->valid()) {
        std::cout << report->path.string() << ": valid\n";
      } else {
        std::size_t errors = 0;
        for (const auto& d : report->diagnostics) errors += d.severity == config::Severity::kError ? 1 : 0;
        std::cout << report->path.string() << ": " << errors << " error(s)\n";
      }
    }
    exitCode = report->valid() ? 0 : ::talon::exitCode(ErrorCode::kConfigInvalid);
  });
}

}  // namespace talon::cli
