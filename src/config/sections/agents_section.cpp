// `agents`: the roster (`entries`), its defaults and ownership (OpenClaw docs/concepts/multi-agent.md).
// Defaults: without entries the roster is the single agent "main" (OpenClaw DEFAULT_AGENT_ID); see
// config_model.h AgentsConfig for the rest. Rules: entry ids match kAgentIdPattern; two or more entries
// require `ownership: "explicit"`.
#include <fmt/format.h>

#include <limits>

#include "config/config_sections.h"
#include "config/config_validator.h"

namespace talon::config {

namespace {

constexpr std::string_view kOwnership[] = {"explicit"};

// A model reference: "provider/model" or {primary, fallbacks}.
void readModelRef(ConfigReader& r, const ConfigNode& node, const json::value& value, ModelRef& out) {
  if (value.is_string()) {
    out.primary = std::string(value.get_string());
    return;
  }
  if (!value.is_object()) {
    r.error(node, DiagnosticCode::kType,
            "expected string \"provider/model\" or {primary, fallbacks}, got " + ConfigReader::describe(value));
    return;
  }
  r.readObject(node, value.get_object(),
               {
                   {"primary",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x)) out.primary = *s;
                    }},
                   {"fallbacks",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto a = r.stringArray(c, x)) {
                        out.fallbacks = *a;
                        out.fallbacksSet = true;
                      }
                    }},
               });
}

/// `params`: the keys Talon applies; OpenClaw's other provider params are not supported yet.
void readParams(ConfigReader& r, const ConfigNode& node, const json::value& value, ModelParams& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  for (const auto& kv : *o) {
    std::string_view key(kv.key().data(), kv.key().size());
    ConfigNode c = r.child(node, key, "*");
    if (key == "temperature") {
      if (!kv.value().is_number() || kv.value().to_number<double>() < 0 || kv.value().to_number<double>() > 2) {
        r.error(c, DiagnosticCode::kType, "expected a number in 0..2, got " + ConfigReader::describe(kv.value()));
      } else {
        out.temperature = kv.value().to_number<double>();
      }
    } else if (key == "maxTokens") {
      if (auto i = r.integer(c, kv.value(), 1, kMaxSafeInteger, "> 0")) out.maxTokens = *i;
    } else {
      r.error(c, DiagnosticCode::kUnsupportedKey,
              fmt::format("OpenClaw model param {} is not supported by Talon yet (supported: temperature, maxTokens)",
                          ConfigReader::quoted(key)));
    }
  }
}

/// `models`: {"provider/model": {alias, params}}.
void readModelEntries(ConfigReader& r, const ConfigNode& node, const json::value& value,
                      std::vector<ModelEntryConfig>& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  for (const auto& kv : *o) {
    std::string_view ref(kv.key().data(), kv.key().size());
    ConfigNode c = r.child(node, ref, "*");
    ModelEntryConfig entry;
    entry.ref = std::string(ref);
    if (ref.find('/') == std::string_view::npos || ref.front() == '/' || ref.back() == '/') {
      r.error(c, DiagnosticCode::kValue,
              fmt::format("model key {} must be \"provider/model\" or \"provider/*\"", ConfigReader::quoted(ref)));
    }
    r.readObject(c, kv.value(),
                 {
                     {"alias",
                      [&](const ConfigNode& k, const json::value& x) {
                        if (auto s = r.string(k, x)) entry.alias = *s;
                      }},
                     {"params", [&](const ConfigNode& k, const json::value& x) { readParams(r, k, x, entry.params); }},
                 });
    out.push_back(std::move(entry));
  }
}

void readModelPolicy(ConfigReader& r, const ConfigNode& node, const json::value& value, ModelPolicyConfig& out) {
  r.readObject(node, value,
               {
                   {"allow",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto a = r.stringArray(c, x)) {
                        out.allow = *a;
                        out.allowSet = true;
                      }
                    }},
               });
}

void readDefaults(ConfigReader& r, const ConfigNode& node, const json::value& value, AgentDefaultsConfig& out) {
  r.readObject(
      node, value,
      {
          {"model", [&](const ConfigNode& c, const json::value& x) { readModelRef(r, c, x, out.model); }},
          {"models", [&](const ConfigNode& c, const json::value& x) { readModelEntries(r, c, x, out.models); }},
          {"params", [&](const ConfigNode& c, const json::value& x) { readParams(r, c, x, out.params); }},
          {"modelPolicy",
           [&](const ConfigNode& c, const json::value& x) { readModelPolicy(r, c, x, out.modelPolicy); }},
          {"workspace",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto s = r.string(c, x)) out.workspace = *s;
           }},
          {"maxConcurrent",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto i = r.integer(c, x, 1, std::numeric_limits<int>::max(), "> 0")) {
               out.maxConcurrent = static_cast<int>(*i);
             }
           }},
          {"timeoutSeconds",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto i = r.integer(c, x, 0, kMaxSafeInteger, ">= 0")) out.timeoutSeconds = *i;
           }},
      });
}

void readEntry(ConfigReader& r, const ConfigNode& node, const json::value& value, AgentEntryConfig& out) {
  r.readObject(
      node, value,
      {
          {"name",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto s = r.string(c, x)) out.name = *s;
           }},
          {"workspace",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto s = r.string(c, x)) out.workspace = *s;
           }},
          {"model", [&](const ConfigNode& c, const json::value& x) { readModelRef(r, c, x, out.model); }},
          {"models", [&](const ConfigNode& c, const json::value& x) { readModelEntries(r, c, x, out.models); }},
          {"params", [&](const ConfigNode& c, const json::value& x) { readParams(r, c, x, out.params); }},
          {"modelPolicy",
           [&](const ConfigNode& c, const json::value& x) { readModelPolicy(r, c, x, out.modelPolicy); }},
      });
}

void readAgents(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  AgentsConfig& out = config.agents;
  r.readObject(
      node, value,
      {
          {"ownership",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto s = r.enumeration(c, x, kOwnership)) out.ownership = *s;
           }},
          {"defaults", [&](const ConfigNode& c, const json::value& x) { readDefaults(r, c, x, out.defaults); }},
          {"entries",
           [&](const ConfigNode& c, const json::value& x) {
             const json::object* e = r.object(c, x);
             if (e == nullptr) return;
             for (const auto& kv : *e) {
               std::string_view id(kv.key().data(), kv.key().size());
               ConfigNode ec = r.child(c, id, "*");
               AgentEntryConfig entry;
               entry.id = std::string(id);
               if (!isValidAgentId(id)) {
                 r.error(ec, DiagnosticCode::kValue,
                         fmt::format("invalid agent id {}: expected {}", ConfigReader::quoted(id), kAgentIdPattern));
               }
               readEntry(r, ec, kv.value(), entry);
               out.entries.push_back(std::move(entry));
             }
           }},
      });
}

// The roster rules, and the implicit agent "main" of a config without entries.
void finishAgents(ConfigReader& r, TalonConfig& config) {
  AgentsConfig& agents = config.agents;
  if (agents.entries.size() >= 2 && agents.ownership != "explicit") {
    ConfigNode at = r.child(r.child(r.root(), "agents"), "ownership");
    if (r.locate(at.path) == nullptr) {
      if (const SourceLocation* entries = r.locate("agents.entries")) at.location = *entries;
    }
    r.error(at, DiagnosticCode::kValue, "multi-agent rosters require agents.ownership=\"explicit\"");
  }
  if (agents.entries.empty()) {
    agents.implicitMain = true;
    AgentEntryConfig main;
    main.id = std::string(kDefaultAgentId);
    agents.entries.push_back(std::move(main));
  }
}

}  // namespace

extern const ConfigSection kAgentsSection;
const ConfigSection kAgentsSection{"agents", readAgents, finishAgents};

}  // namespace talon::config
