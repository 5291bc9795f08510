#include "config/config_validator.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <span>

#include "config/config_reader.h"
#include "config/config_sections.h"
#include "config/heartbeat_config.h"
#include "config/model_selection.h"
#include "config/provider_catalog.h"

namespace talon::config {

bool isValidAgentId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto lowerDigitUnderscore = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
  if (!lowerDigitUnderscore(id[0])) return false;
  return std::all_of(id.begin() + 1, id.end(), [&](char c) { return lowerDigitUnderscore(c) || c == '-'; });
}

std::string normalizeAgentId(std::string_view id) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!id.empty() && isSpace(id.front())) id.remove_prefix(1);
  while (!id.empty() && isSpace(id.back())) id.remove_suffix(1);
  std::string out;
  bool inInvalidRun = false;
  for (char c : id) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool valid = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-';
    if (valid) {
      out += l;
      inInvalidRun = false;
    } else if (!inInvalidRun) {
      out += '-';
      inInvalidRun = true;
    }
  }
  std::size_t first = out.find_first_not_of('-');
  if (first == std::string::npos) return std::string(kDefaultAgentId);
  out.erase(0, first);
  out.erase(out.find_last_not_of('-') + 1);
  if (out.size() > 64) out.resize(64);
  return out.empty() ? std::string(kDefaultAgentId) : out;
}

TalonConfig defaultTalonConfig() {
  TalonConfig c;
  AgentEntryConfig main;
  main.id = std::string(kDefaultAgentId);
  c.agents.entries.push_back(std::move(main));
  c.agents.implicitMain = true;
  return c;
}

namespace {

// --- cross-section checks -------------------------------------------------------------------------
// Rules that span two sections run here, after every section was read and finished.

// `bindings[].agentId` must name an agent of the roster (OpenClaw zod-schema superRefine, "Unknown agent
// id"), except the literal "main", which OpenClaw accepts without a roster entry. Known ids are
// normalised in TalonConfig::bindings.
void checkBindingAgents(ConfigReader& r, const json::object& root, TalonConfig& config) {
  std::set<std::string> known;
  for (const auto& e : config.agents.entries) known.insert(normalizeAgentId(e.id));
  auto it = root.find("bindings");
  if (it == root.end() || !it->value().is_array()) return;
  ConfigNode bindings = r.child(r.root(), "bindings");
  const auto& items = it->value().get_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) continue;
    const json::value* agentId = items[i].get_object().if_contains("agentId");
    if (agentId == nullptr || !agentId->is_string() || agentId->get_string().empty()) continue;
    std::string id(agentId->get_string());
    if (known.count(normalizeAgentId(id))) continue;
    ConfigNode at = r.child(r.item(bindings, i), "agentId");
    if (id == kDefaultAgentId) {
      // OpenClaw's route resolver (pickFirstExistingAgentId) sends it to its default agent "main", which
      // Talon only runs when it is configured; the resolver refuses such messages instead.
      r.warning(at, DiagnosticCode::kValue,
                "agent id \"main\" is not in agents.entries: OpenClaw routes this binding to an implicit agent "
                "\"main\"; Talon runs only configured agents and refuses the messages it matches "
                "(AGENT_SELECTION_REQUIRED) until \"main\" is added to agents.entries");
    } else {
      r.error(at, DiagnosticCode::kValue,
              fmt::format("Unknown agent id {} (not in agents.entries).", ConfigReader::quoted(id)));
    }
  }
  for (auto& b : config.bindings) {
    std::string n = normalizeAgentId(b.agentId);
    if (known.count(n)) b.agentId = n;
  }
}

// A channel probe (`gateway.probes[i]`, kind "channel"; docs/probes.md) names a configured channel and
// one of its accounts; an unwritten `accountId` becomes the channel's default account (`defaultAccount`,
// else "default" when it is an account, else the first), as the channel runtime picks it.
void checkProbeChannels(ConfigReader& r, const json::object& root, TalonConfig& config) {
  const json::object* gateway = root.contains("gateway") ? root.at("gateway").if_object() : nullptr;
  const json::array* items = gateway && gateway->contains("probes") ? gateway->at("probes").if_array() : nullptr;
  if (items == nullptr) return;
  ConfigNode probes = r.child(r.child(r.root(), "gateway"), "probes");
  for (std::size_t i = 0; i < items->size(); ++i) {
    const json::object* item = (*items)[i].if_object();
    const json::value* name = item ? item->if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;
    const std::string_view probeName(name->get_string().data(), name->get_string().size());
    auto probe = std::find_if(config.gateway.probes.begin(), config.gateway.probes.end(),
                              [&](const SyntheticProbeConfig& p) { return p.name == probeName; });
    if (probe == config.gateway.probes.end() || probe->kind != "channel") continue;  // invalid, reported
    auto channel = std::find_if(config.channels.entries.begin(), config.channels.entries.end(),
                                [&](const ChannelConfig& c) { return c.id == probe->channel; });
    if (channel == config.channels.entries.end()) {
      r.error(r.child(r.item(probes, i), "channel"), DiagnosticCode::kValue,
              fmt::format("{}: channel of probe {} is not configured (channels.{})",
                          ConfigReader::quoted(probe->channel), ConfigReader::quoted(probe->name), probe->channel));
      continue;
    }
    std::vector<std::string> accounts;
    for (const auto& [id, settings] : channel->accountSettings) accounts.push_back(id);
    if (accounts.empty()) accounts.push_back("default");
    if (probe->accountId.empty()) {
      if (!channel->defaultAccount.empty()) {
        probe->accountId = channel->defaultAccount;
      } else {
        const bool hasDefault = std::find(accounts.begin(), accounts.end(), "default") != accounts.end();
        probe->accountId = hasDefault ? "default" : accounts.front();
      }
    } else if (std::find(accounts.begin(), accounts.end(), probe->accountId) == accounts.end()) {
      std::string known;
      for (const auto& a : accounts) known += (known.empty() ? "" : ", ") + ConfigReader::quoted(a);
      r.error(r.child(r.item(probes, i), "accountId"), DiagnosticCode::kValue,
              fmt::format("{}: not an account of channels.{} (its accounts: {})",
                          ConfigReader::quoted(probe->accountId), probe->channel, known));
    }
  }
}

void checkCrossSectionReferences(ConfigReader& r, const json::object& root, TalonConfig& config) {
  checkBindingAgents(r, root, config);
  checkProbeChannels(r, root, config);
  resolveConfiguredModelRefs(r, config);
  addImplicitCatalogProviders(r, config);
  checkHeartbeatModels(r, config);
}

}  // namespace

ValidationResult validateEffectiveConfig(const json::value& effective, const SourceMap& sourceMap,
                                         const Environment& env, const std::set<std::string>* substitutedPaths) {
  ConfigReader reader(sourceMap, env, substitutedPaths);
  ValidationResult result;
  ConfigNode root = reader.root();
  const json::object* rootObject = reader.object(root, effective);
  std::span<const ConfigSection* const> sections = configSections();
  if (rootObject != nullptr) {
    for (const auto& kv : *rootObject) {
      std::string_view key(kv.key().data(), kv.key().size());
      auto section =
          std::find_if(sections.begin(), sections.end(), [&](const ConfigSection* s) { return s->key == key; });
      if (section != sections.end()) {
        (*section)->read(reader, reader.child(root, key), kv.value(), result.config);
      } else {
        reader.unknownKey(root, key);
      }
    }
  }
  for (const ConfigSection* section : sections) {
    if (section->finish != nullptr) section->finish(reader, result.config);
  }
  if (rootObject != nullptr) checkCrossSectionReferences(reader, *rootObject, result.config);
  result.omittedErrors = reader.omittedErrors();
  result.omittedWarnings = reader.omittedWarnings();
  result.diagnostics = reader.takeDiagnostics();
  return result;
}

}  // namespace talon::config
