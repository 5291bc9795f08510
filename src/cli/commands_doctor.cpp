// talon doctor [--fix] [--json] and talon security audit [--json]: findings with stable ids, severity and
// a fix hint (gateway/doctor.h, security/security_audit.h). Exit status: 0 without a critical finding
// (left unfixed), 1 with one.
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/config_loader.h"
#include "config/config_paths.h"
#include "config/environment.h"
#include "gateway/doctor.h"
#include "security/security_audit.h"

namespace talon::cli {
namespace {

struct FindingsOptions {
  std::string configPath;
  bool json = false;
  bool fix = false;
};

gateway::DoctorOptions doctorOptions(const FindingsOptions& o) {
  auto env = config::processEnvironment();
  gateway::DoctorOptions d;
  d.load.env = env;
  if (!o.configPath.empty()) d.load.configPath = std::filesystem::path(o.configPath);
  d.stateDir = config::resolveStateDir(env);
  d.fix = o.fix;
  return d;
}

/// Prints the findings (a table, or {"findings": [...], "critical": n, "warn": n, "info": n} with
/// --json) and returns the exit status.
int printFindings(const std::vector<gateway::DoctorFinding>& findings, bool asJson, bool showFixed) {
  int counts[3] = {0, 0, 0};
  int criticalLeft = 0;
  for (const auto& f : findings) {
    ++counts[static_cast<int>(f.finding.severity)];
    if (f.finding.severity == security::FindingSeverity::kCritical && !f.fixed) ++criticalLeft;
  }
  if (asJson) {
    json::array items;
    for (const auto& f : findings) {
      auto o = f.finding.toJson();
      if (showFixed) o["fixed"] = f.fixed;
      items.push_back(std::move(o));
    }
    printJson(json::object{{"findings", std::move(items)},
                           {"critical", counts[2]},
                           {"warn", counts[1]},
                           {"info", counts[0]},
                           {"ok", criticalLeft == 0}});
  } else if (findings.empty()) {
    std::cout << "no findings\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : findings) {
      std::string severity(security::findingSeverityName(f.finding.severity));
      if (f.fixed) severity += " (fixed)";
      rows.push_back({severity, f.finding.id, f.finding.title + ": " + f.finding.detail, f.finding.remediation});
    }
    printTable({"SEVERITY", "ID", "FINDING", "FIX"}, rows);
    std::cout << counts[2] << " critical, " << counts[1] << " warn, " << counts[0] << " info\n";
  }
  return criticalLeft == 0 ? 0 : 1;
}

}  // namespace

void registerDoctorCommands(CLI::App& app, int& exitCode) {
  auto doctorOpts = std::make_shared<FindingsOptions>();
  auto* doctor = app.add_subcommand(
      "doctor", "Check the config, the state dir and its permissions, the database, the gateway lock and secrets");
  doctor->add_option("--config", doctorOpts->configPath,
                     "Config file (default: TALON_CONFIG_PATH or <stateDir>/talon.json)");
  doctor->add_flag("--fix", doctorOpts->fix, "Repair what can be repaired safely (permissions: 0700 dirs, 0600 files)");
  doctor->add_flag("--json", doctorOpts->json, "Print the findings as JSON");
  doctor->callback([doctorOpts, &exitCode] {
    exitCode = printFindings(gateway::runDoctor(doctorOptions(*doctorOpts)), doctorOpts->json, true);
  });

  auto auditOpts = std::make_shared<FindingsOptions>();
  auto* security = app.add_subcommand("security", "Security checks");
  security->require_subcommand(1);
  auto* audit = security->add_subcommand(
      "audit", "Check the config and the state on disk for what exposes the gateway (exit 1 on a critical finding)");
  audit->add_option("--config", auditOpts->configPath,
                    "Config file (default: TALON_CONFIG_PATH or <stateDir>/talon.json)");
  audit->add_flag("--json", auditOpts->json, "Print the findings as JSON");
  audit->callback([auditOpts, &exitCode] {
    auto d = doctorOptions(*auditOpts);
    auto loaded = config::loadConfig(d.load);
    if (!loaded) {
      std::cerr << "error: " << loaded.error().message << "\n";
      exitCode = ::talon::exitCode(loaded.error().code);
      return;
    }
    security::SecurityAuditInput in{&loaded->config, loaded->raw, loaded->path, d.stateDir};
    std::vector<gateway::DoctorFinding> findings;
    for (auto& f : security::auditSecurity(in)) findings.push_back({std::move(f), false});
    exitCode = printFindings(findings, auditOpts->json, false);
  });
}

}  // namespace talon::cli
