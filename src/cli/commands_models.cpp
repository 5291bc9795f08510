// talon models list [--config PATH] [--agent ID] [--discover [--timeout MS]] [--json]: what each agent
// can use and why — its primary, its fallbacks, the models its providers list — with the provider
// (configured or from OpenClaw's bundled catalog), its API, base URL, where the key comes from (never the
// key) and why a model cannot be called. Read from the local config, as `openclaw models list` does.
// With --discover, the providers whose models are discovered (gateway/providers/model_discovery.h: an
// Ollama provider without a `models` list) are asked too, with the gateway's own discovery code, and
// their models are listed with role and providerSource "discovered"; a provider whose query fails is
// reported (in `discovery`) and the others are still listed.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/output.h"
#include "config/config_loader.h"
#include "config/model_selection.h"
#include "gateway/providers/model_discovery.h"

namespace talon::cli {

namespace {

/// Default bound of each provider's /api/tags query (OpenClaw OLLAMA_TAGS_TIMEOUT_MS); each show is
/// bounded by min(this, gateway::kOllamaShowTimeout).
constexpr int64_t kDiscoverTimeoutMs = 5'000;

/// Queries the discovering providers of `config` (none: no query). Blocks until every one answered.
std::vector<gateway::DiscoveredModels> discoverModels(const config::TalonConfig& config,
                                                      std::chrono::milliseconds timeout) {
  std::vector<config::ProviderConfig> discovering;
  for (const auto& p : config.providers) {
    if (gateway::ModelDiscovery::discovers(p)) discovering.push_back(p);
  }
  if (discovering.empty()) return {};
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread thread([&io] { io.run(); });
  std::vector<gateway::DiscoveredModels> found;
  {
    auto discovery = std::make_shared<gateway::ModelDiscovery>(net::HttpClient::create(io), SystemClock::instance());
    std::promise<std::vector<gateway::DiscoveredModels>> promise;
    discovery->inventories(std::move(discovering), timeout,
                           [&promise](std::vector<gateway::DiscoveredModels> r) { promise.set_value(std::move(r)); });
    found = promise.get_future().get();
  }
  work.reset();
  io.stop();
  thread.join();
  return found;
}

}  // namespace

void registerModelsCommands(CLI::App& app, int& exitCode) {
  auto* models = app.add_subcommand("models", "Models the agents can use");
  models->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto agent = std::make_shared<std::string>();
  auto asJson = std::make_shared<bool>(false);
  auto discover = std::make_shared<bool>(false);
  auto timeoutMs = std::make_shared<int64_t>(kDiscoverTimeoutMs);
  auto* list = models->add_subcommand(
      "list", "List each agent's models (primary, fallbacks, configured) with their provider and why");
  list->add_option("--config", *path, "Config file (default: TALON_CONFIG_PATH or <stateDir>/talon.json)");
  list->add_option("--agent", *agent, "Only this agent");
  list->add_flag("--json", *asJson, "Print JSON");
  list->add_flag("--discover", *discover,
                 "Also ask the providers whose models are discovered (Ollama without a models list) what they serve");
  list->add_option("--timeout", *timeoutMs, "With --discover: bound of each provider's query, in ms (default 5000)")
      ->check(CLI::Range(int64_t{1}, int64_t{600'000}));
  list->callback([path, agent, asJson, discover, timeoutMs, &exitCode] {
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
    // --discover: the discovered models, for every agent listed (as a provider's configured models are).
    std::vector<gateway::DiscoveredModels> discovered;
    std::map<std::string, gateway::DiscoveredModel> traits;  // by "agent\nref", discovered rows only
    if (*discover) {
      discovered = discoverModels(loaded->config, std::chrono::milliseconds(*timeoutMs));
      std::vector<std::string> agents;
      for (const auto& r : rows) {
        if (std::find(agents.begin(), agents.end(), r.agentId) == agents.end()) agents.push_back(r.agentId);
      }
      for (const auto& agentId : agents) {
        for (const auto& provider : discovered) {
          const config::ProviderConfig* p = nullptr;
          for (const auto& c : loaded->config.providers) p = c.id == provider.provider ? &c : p;
          for (const auto& m : provider.models) {
            const std::string ref = provider.provider + "/" + m.id;
            bool listed = false;
            for (const auto& r : rows) listed = listed || (r.agentId == agentId && r.ref == ref);
            if (listed) continue;
            config::AgentModelRow row;
            row.agentId = agentId;
            row.ref = ref;
            row.role = "discovered";
            row.why = "discovered (GET " + gateway::ollamaApiBase(p != nullptr ? p->baseUrl : "") + "/api/tags)";
            row.provider = provider.provider;
            row.providerSource = "discovered";
            row.api = p != nullptr ? p->api : "ollama";
            row.baseUrl = p != nullptr ? p->baseUrl : "";
            row.key =
                p != nullptr && !p->apiKey.empty() ? (p->apiKeyEnv.empty() ? "config" : "env:" + p->apiKeyEnv) : "none";
            traits.emplace(agentId + "\n" + ref, m);
            rows.push_back(std::move(row));
          }
        }
      }
    }
    auto discoveryJson = [&discovered] {
      json::array out;
      for (const auto& d : discovered) {
        json::object o{{"provider", d.provider}, {"ok", !d.error}, {"models", static_cast<int64_t>(d.models.size())}};
        if (d.error) o["error"] = d.error->message;
        out.push_back(std::move(o));
      }
      return out;
    };
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
        if (auto t = traits.find(r.agentId + "\n" + r.ref); t != traits.end()) {
          o["contextWindow"] = t->second.contextWindow;
          o["reasoning"] = t->second.reasoning;
          o["supportsTools"] = t->second.supportsTools;
          json::array input;
          for (const auto& i : t->second.input) input.emplace_back(i);
          o["input"] = std::move(input);
        }
        out.push_back(std::move(o));
      }
      json::object result{{"models", std::move(out)}};
      if (*discover) result["discovery"] = discoveryJson();
      printJson(result);
    } else {
      std::vector<std::vector<std::string>> table;
      for (const auto& r : rows) {
        table.push_back({r.agentId, r.ref, r.alias.empty() ? "-" : r.alias, r.role, r.why,
                         r.provider + " (" + r.providerSource + ")", r.api.empty() ? "-" : r.api, r.key,
                         r.unavailable.empty() ? "yes" : "no: " + r.unavailable, r.allowedBy});
      }
      printTable({"AGENT", "MODEL", "ALIAS", "ROLE", "WHY", "PROVIDER", "API", "KEY", "AVAILABLE", "OVERRIDE"}, table);
      if (*discover) {
        std::vector<std::vector<std::string>> queries;
        for (const auto& d : discovered) {
          queries.push_back({d.provider, d.error ? "failed: " + d.error->message
                                                 : "ok: " + std::to_string(d.models.size()) + " models"});
        }
        if (queries.empty()) {
          std::cout << "\nNo provider discovers its models (an ollama provider without a models list does).\n";
        } else {
          std::cout << "\n";
          printTable({"PROVIDER", "DISCOVERY"}, queries);
        }
      }
    }
    exitCode = 0;
  });
}

}  // namespace talon::cli
