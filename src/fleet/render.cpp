#include "fleet/render.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/file_io.h"

namespace talon::fleet {

namespace {

std::string stringOr(const json::object& o, std::string_view key, std::string fallback = {}) {
  auto s = getString(o, key);
  return s ? std::string(*s) : fallback;
}

json::object matchToJson(const BindingMatch& m) {
  json::object match;
  match["channel"] = m.channel;
  if (m.accountId) match["accountId"] = *m.accountId;
  if (m.peerKind) {
    json::object peer;
    peer["kind"] = *m.peerKind;
    peer["id"] = m.peerId.value_or("");
    match["peer"] = std::move(peer);
  }
  if (m.guildId) match["guildId"] = *m.guildId;
  if (m.teamId) match["teamId"] = *m.teamId;
  if (!m.roles.empty()) {
    json::array roles;
    for (const auto& r : m.roles) roles.push_back(json::value(r));
    match["roles"] = std::move(roles);
  }
  return match;
}

}  // namespace

json::value sortedKeys(const json::value& v) {
  if (v.is_array()) {
    json::array out;
    out.reserve(v.as_array().size());
    for (const auto& item : v.as_array()) out.push_back(sortedKeys(item));
    return out;
  }
  if (!v.is_object()) return v;
  std::vector<const json::key_value_pair*> members;
  for (const auto& kv : v.as_object()) members.push_back(&kv);
  std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
  json::object out;
  out.reserve(members.size());
  for (const auto* kv : members) out.emplace(kv->key(), sortedKeys(kv->value()));
  return out;
}

GatewayPaths gatewayPaths(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const json::object& g = fleet.gateway(gatewayIndex);
  GatewayPaths p;
  p.stateDir = stringOr(g, "stateDir");
  p.configPath = stringOr(g, "configPath", p.stateDir + "/" + std::string(kRenderedConfigName));
  p.workspaceRoot = stringOr(g, "workspaceRoot");
  return p;
}

std::string agentWorkspace(const EffectiveFleet& fleet, std::size_t agentIndex) {
  const Agent& a = fleet.inventory().agents()[agentIndex];
  if (a.workspace) return *a.workspace;
  return gatewayPaths(fleet, fleet.gatewayIndexOf(a)).workspaceRoot + "/" + a.id;
}

std::string agentDirectory(const EffectiveFleet& fleet, std::size_t agentIndex) {
  const Agent& a = fleet.inventory().agents()[agentIndex];
  if (a.agentDir) return *a.agentDir;
  return gatewayPaths(fleet, fleet.gatewayIndexOf(a)).stateDir + "/agents/" + a.id + "/agent";
}

std::vector<RenderedBinding> gatewayBindings(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const Inventory& inv = fleet.inventory();
  std::vector<RenderedBinding> out;
  for (std::size_t ai : fleet.agentsOf(gatewayIndex)) {
    const Agent& a = inv.agents()[ai];
    for (const auto& b : a.bindings) out.push_back({a.id, b});
    for (const auto& [channel, account] : a.accounts) {
      BindingMatch m;
      m.channel = channel;
      m.accountId = account.first;
      m.location = account.second;
      m.implied = true;
      out.push_back({a.id, std::move(m)});
    }
  }
  return out;
}

namespace {

/// The proxy's provider and the model id of an agent's model ref when a render points it at the proxy
/// (its gateway is in modelProxy.gateways and the proxy serves the ref's provider); nullopt otherwise.
struct ProxiedModel {
  std::string provider;
  std::string model;
};
std::optional<ProxiedModel> proxiedModelOf(const EffectiveFleet& fleet, std::size_t agentIndex) {
  const auto& proxy = fleet.inventory().modelProxy();
  const Agent& agent = fleet.inventory().agents()[agentIndex];
  if (!proxy || !proxy->usedBy(agent.gateway)) return std::nullopt;
  auto ref = getString(fleet.agent(agentIndex), "model");
  if (!ref) return std::nullopt;
  std::size_t slash = ref->find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string provider(ref->substr(0, slash));
  if (proxy->providers.find(provider) == proxy->providers.end()) return std::nullopt;
  return ProxiedModel{std::move(provider), std::string(ref->substr(slash + 1))};
}

/// models.providers for a gateway that uses the model proxy (docs/fleet.md "Model proxy"): each provider
/// of its agents' model refs that the proxy serves, pointed at the proxy with a virtual key as a reference
/// — never the real key. Attribution "gateway": one entry per provider, `<provider>`, with the gateway's key
/// and the model ids its agents use. Attribution "agent": one entry per agent and provider,
/// `<provider>--<agentId>`, with that agent's key and its model id (the agent's model ref names it).
json::object proxiedProviders(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  json::object providers;
  const auto& proxy = fleet.inventory().modelProxy();
  const std::string& gatewayId = fleet.inventory().gateways()[gatewayIndex].id;
  if (!proxy || !proxy->usedBy(gatewayId)) return providers;
  const bool perAgent = proxy->attribution == ProxyAttribution::kAgent;
  struct Entry {
    std::string provider;
    std::string keyVariable;
    std::set<std::string> models;
  };
  std::map<std::string, Entry> entries;
  for (std::size_t i : fleet.agentsOf(gatewayIndex)) {
    auto proxied = proxiedModelOf(fleet, i);
    if (!proxied) continue;
    const std::string& agentId = fleet.inventory().agents()[i].id;
    std::string id = perAgent ? proxyAgentProviderId(proxied->provider, agentId) : proxied->provider;
    Entry& e = entries[id];
    e.provider = proxied->provider;
    e.keyVariable = perAgent ? proxyKeyVariable(gatewayId, agentId) : proxyKeyVariable(gatewayId);
    e.models.insert(proxied->model);
  }
  for (const auto& [id, e] : entries) {
    json::array list;
    for (const auto& m : e.models) list.push_back(json::object{{"id", m}, {"name", m}});
    providers[id] = json::object{{"baseUrl", proxy->baseUrl() + "/providers/" + e.provider},
                                 {"api", proxy->providers.find(e.provider)->second.api},
                                 {"apiKey", "${" + e.keyVariable + "}"},
                                 {"models", std::move(list)}};
  }
  return providers;
}

/// The agent's rendered `model`: as resolved, except under attribution "agent" a proxied model ref names the
/// agent's own provider entry, `<provider>--<agentId>/<model>`.
json::value renderedAgentModel(const EffectiveFleet& fleet, std::size_t agentIndex, const json::value& model) {
  const auto& proxy = fleet.inventory().modelProxy();
  if (!proxy || proxy->attribution != ProxyAttribution::kAgent) return model;
  auto proxied = proxiedModelOf(fleet, agentIndex);
  if (!proxied) return model;
  return json::value(proxyAgentProviderId(proxied->provider, fleet.inventory().agents()[agentIndex].id) + "/" +
                     proxied->model);
}

}  // namespace

RenderedGateway renderGateway(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const Inventory& inv = fleet.inventory();
  const Gateway& gw = inv.gateways()[gatewayIndex];
  const json::object& eff = fleet.gateway(gatewayIndex);
  RenderedGateway out;
  out.id = gw.id;
  out.runtime = stringOr(eff, "runtime", "openclaw");

  json::object gateway;
  gateway["mode"] = "local";
  if (const auto* port = eff.if_contains("port")) gateway["port"] = *port;
  gateway["bind"] = stringOr(eff, "bind", "loopback");
  if (const auto* host = eff.if_contains("customBindHost")) gateway["customBindHost"] = *host;
  if (const auto* auth = getObject(eff, "auth")) gateway["auth"] = *auth;
  out.config["gateway"] = std::move(gateway);

  json::object entries;
  json::object channels;
  for (std::size_t i : fleet.agentsOf(gatewayIndex)) {
    const Agent& a = inv.agents()[i];
    const json::object& ae = fleet.agent(i);
    json::object entry;
    if (!a.displayName.empty()) entry["name"] = a.displayName;
    entry["workspace"] = agentWorkspace(fleet, i);
    // Talon keeps an agent's sessions in its own store and does not support agentDir yet: its renders
    // carry one only when the inventory sets it (which Talon's validation then refuses, as preflight reports).
    if (out.runtime != "talon" || a.agentDir) entry["agentDir"] = agentDirectory(fleet, i);
    if (const auto* model = ae.if_contains("model")) entry["model"] = renderedAgentModel(fleet, i, *model);
    if (const auto* skills = ae.if_contains("skills")) entry["skills"] = *skills;
    if (const auto* tools = ae.if_contains("tools")) entry["tools"] = *tools;
    entries[a.id] = std::move(entry);
    for (const auto& [channel, account] : a.accounts) {
      const ChannelAccount* acc = inv.findAccount(channel, account.first);
      if (acc == nullptr) continue;  // the loader refuses unknown accounts
      json::value& ch = channels[channel];
      if (!ch.is_object()) ch = json::object{{"accounts", json::object{}}};
      ch.as_object()["accounts"].as_object()[acc->id] = acc->settings;
    }
  }
  if (!entries.empty()) {
    json::object agents;
    if (entries.size() >= 2) agents["ownership"] = "explicit";
    agents["entries"] = std::move(entries);
    out.config["agents"] = std::move(agents);
  }
  if (!channels.empty()) out.config["channels"] = std::move(channels);
  if (auto providers = proxiedProviders(fleet, gatewayIndex); !providers.empty())
    out.config["models"] = json::object{{"providers", std::move(providers)}};

  json::array bindings;
  for (const auto& b : gatewayBindings(fleet, gatewayIndex)) {
    json::object binding;
    binding["agentId"] = b.agentId;
    binding["match"] = matchToJson(b.match);
    bindings.push_back(std::move(binding));
  }
  if (!bindings.empty()) out.config["bindings"] = std::move(bindings);

  json::value sorted = sortedKeys(out.config);
  out.config = std::move(sorted.as_object());
  out.text = toPrettyJson(out.config);
  return out;
}

std::vector<RenderedGateway> renderFleet(const EffectiveFleet& fleet) {
  std::vector<RenderedGateway> out;
  out.reserve(fleet.inventory().gateways().size());
  for (std::size_t i = 0; i < fleet.inventory().gateways().size(); ++i) out.push_back(renderGateway(fleet, i));
  return out;
}

Status writeRenders(const std::vector<RenderedGateway>& renders, const std::filesystem::path& outDir) {
  for (const auto& r : renders) {
    std::filesystem::path dir = outDir / r.id;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
    auto written = writeFileAtomic(dir / kRenderedConfigName, r.text, 0600);
    if (!written) return fail(written.error());
  }
  return {};
}

}  // namespace talon::fleet
