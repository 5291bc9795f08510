// talon models list [--config PATH] [--agent ID] [--json]: what each agent can use and why — its
// primary, its fallbacks, the models its providers list — with the provider (configured or from
// OpenClaw's bundled catalog), its API, base URL, where the key comes from (never the key) and why a
// model cannot be called. Read from the local config, as `openclaw models list` does.
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/config_loader.h"
#include "config/model_selection.h"

namespace talon::cli {

void registerModelsCommands(CLI::App& app, int& exitCode) {
  auto* models = app.add_subcommand("models", "Models the agents can use");
  models->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto agent = std::make_shared<std::string>();
  auto asJson = std::make_shared<bool>(false);
  auto* list = models->add_subcommand(
      "list", "List each agent's models (primary, fallbacks, configured) with their provider and why");
  list->add_option("--config", *path, "Config file (default: TALON_CONFIG_PATH or <stateDir>/talon.json)");
  list->add_option("--agent", *agent, "Only this agent");
  list->add_flag("--json", *asJson, "Print JSON");
  list->callback([path, agent, asJson, &exitCode] {
    config::LoadOptions lo;
    if (!path->empty()) lo.configPath = std::filesystem::path(*path);
    auto loaded = config::loadConfig(lo);
    if (!loaded) {
      exitCode = reportError(loaded.error());
      return;
    }
    std::vector<config::AgentModelRow> rows;
    for (auto& row : config::agentModelRows(loaded->config)) {
      if (agent->empty() || row.agentId == *agent) rows.push_back(std::move(row));
    }
    if (!agent->empty() && rows.empty()) {
      bool known = false;
      for (const auto& e : loaded->config.agents.entries) known = known || e.id == *agent;
      if (!known) {
        exitCode = reportError(Error(ErrorCode::kNotFound, "unknown agent " + *agent, "unknown agent " + *agent));
        return;
      }
    }
    if (*asJson) {
      json::array out;
      for (const auto& r : rows) {
        json::object o{{"agentId", r.agentId},
                       {"ref", r.ref},
                       {"role", r.role},
                       {"why", r.why},
                       {"provider", r.provider},
                       {"providerSource", r.providerSource},
                       {"api", r.api},
                       {"baseUrl", r.baseUrl},
                       {"key", r.key},
                       {"available", r.unavailable.empty()},
                       {"allowedBy", r.allowedBy}};
        if (!r.alias.empty()) o["alias"] = r.alias;
        if (!r.unavailable.empty()) o["unavailable"] = r.unavailable;
        out.push_back(std::move(o));
      }
      printJson(json::object{{"models", std::move(out)}});
    } else {
      std::vector<std::vector<std::string>> table;
      for (const auto& r : rows) {
        table.push_back({r.agentId, r.ref, r.alias.empty() ? "-" : r.alias, r.role, r.why,
                         r.provider + " (" + r.providerSource + ")", r.api.empty() ? "-" : r.api, r.key,
                         r.unavailable.empty() ? "yes" : "no: " + r.unavailable, r.allowedBy});
      }
      printTable({"AGENT", "MODEL", "ALIAS", "ROLE", "WHY", "PROVIDER", "API", "KEY", "AVAILABLE", "OVERRIDE"}, table);
    }
    exitCode = 0;
  });
}

}  // namespace talon::cli
