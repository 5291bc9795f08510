// talon config validate [PATH] [--json]: every problem (the first config::kMaxDiagnostics, then a count of
// the rest) and exit status 0 (valid, warnings allowed) or the kConfigInvalid exit code.
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
      // The operator's own file: the full message (it names the file, e.g. its size and the 2 MiB limit).
      std::cerr << "error: " << report.error().message << "\n";
      exitCode = ::talon::exitCode(report.error().code);
      return;
    }
    if (*asJson) {
      printJson(report->toJson());
    } else {
      // At most config::kMaxDiagnostics lines: the report keeps no more (the rest are only counted).
      for (const auto& d : report->diagnostics) {
        std::cout << (d.isError() ? "error: " : "warning: ") << d.toString() << "\n";
      }
      if (std::size_t omitted = report->omittedErrors + report->omittedWarnings; omitted > 0) {
        std::cout << "... and " << omitted << " more diagnostics\n";
      }
      std::size_t warnings = report->warningCount();
      std::string warned = warnings > 0 ? ", " + std::to_string(warnings) + " warning(s)" : "";
      if (!report->exists) {
        std::cout << report->path.string() << " does not exist: the gateway starts with defaults\n";
      } else if (report->valid()) {
        std::cout << report->path.string() << ": valid" << warned << "\n";
      } else {
        std::cout << report->path.string() << ": " << report->errorCount() << " error(s)" << warned << "\n";
      }
    }
    exitCode = report->valid() ? 0 : ::talon::exitCode(ErrorCode::kConfigInvalid);
  });
}

}  // namespace talon::cli
