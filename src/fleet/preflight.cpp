#include "fleet/preflight.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "config/config_loader.h"
#include "fleet/policy.h"

namespace talon::fleet {

namespace {

/// OpenClaw: browser control at base + 2, its CDP ports from control + 9 to control + 108
/// (docs/gateway/multiple-gateways.md), so an instance reaches base + 110.
constexpr int kOpenClawDerivedPortSpan = 110;

std::string gw(const std::string& id) { return "gateway:" + id; }
std::string ag(const std::string& id) { return "agent:" + id; }

std::string normalPath(const std::string& p) {
  std::string s = std::filesystem::path(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

/// Where a gateway's ports and paths live: its `host` (default "local", this machine); a kubernetes
/// gateway is a pod of its own (its own network namespace and volume), so it never collides.
std::string hostKey(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const json::object& g = fleet.gateway(gatewayIndex);
  if (getString(g, "provider").value_or("process") == "kubernetes") {
    return "kubernetes:" + fleet.inventory().gateways()[gatewayIndex].id;
  }
  return std::string(getString(g, "host").value_or("local"));
}

class Collector {
 public:
  void add(std::string id, FindingSeverity severity, std::vector<std::string> objects, std::string message,
           std::string fix, config::SourceLocation location = {}) {
    std::sort(objects.begin(), objects.end());
    findings.push_back(
        Finding{std::move(id), severity, std::move(objects), std::move(message), std::move(fix), std::move(location)});
  }
  std::vector<Finding> findings;
};

/// Whether nothing listens on `port` at `host` (a test bind with SO_REUSEADDR, so that TIME_WAIT
/// sockets do not count).
bool portFree(int port, bool anyAddress) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return true;  // cannot tell: no finding rather than a false one
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(anyAddress ? INADDR_ANY : INADDR_LOOPBACK);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

std::string tierOf(const BindingMatch& m) {
  if (m.peerKind) return m.peerId == "*" ? "binding.peer.wildcard" : "binding.peer";
  if (m.guildId && !m.roles.empty()) return "binding.guild+roles";
  if (m.guildId) return "binding.guild";
  if (m.teamId) return "binding.team";
  if (m.accountId == "*") return "binding.channel";
  return "binding.account";
}

int tierRank(const std::string& tier) {
  static const char* kOrder[] = {"binding.peer", "binding.peer.wildcard", "binding.guild+roles", "binding.guild",
                                 "binding.team", "binding.account",       "binding.channel"};
  for (int i = 0; i < 7; ++i) {
    if (tier == kOrder[i]) return i;
  }
  return 7;
}

/// The identity of a binding's match for overlap detection: peer kinds "group" and "channel" match
/// each other (OpenClaw resolve-route), account ids compare lower-cased.
std::string matchKey(const BindingMatch& m) {
  std::string account = m.accountId.value_or("");
  std::transform(account.begin(), account.end(), account.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string peerKind = m.peerKind.value_or("");
  if (peerKind == "channel") peerKind = "group";
  std::vector<std::string> roles = m.roles;
  std::sort(roles.begin(), roles.end());
  std::string key = m.channel + "\n" + (m.accountId ? account : std::string("\x01")) + "\n" + peerKind + "\n" +
                    m.peerId.value_or("") + "\n" + m.guildId.value_or("") + "\n" + m.teamId.value_or("");
  for (const auto& r : roles) key += "\n" + r;
  return key;
}

std::string describeMatch(const BindingMatch& m) {
  std::string s = "channel " + m.channel + ", account " + (m.accountId ? *m.accountId : std::string("(default)"));
  if (m.peerKind) s += ", peer " + *m.peerKind + ":" + m.peerId.value_or("");
  if (m.guildId) s += ", guild " + *m.guildId;
  if (m.teamId) s += ", team " + *m.teamId;
  return s;
}

void checkPorts(const EffectiveFleet& fleet, const PreflightOptions& options, Collector& out) {
  const Inventory& inv = fleet.inventory();
  struct Item {
    std::string host;
    PortRange range;
    std::size_t gateway;
  };
  std::vector<Item> items;
  items.reserve(inv.gateways().size());
  for (std::size_t i = 0; i < inv.gateways().size(); ++i) {
    const json::object& g = fleet.gateway(i);
    auto port = getInt(g, "port");
    if (!port) continue;
    // A compose gateway publishes only its base port on the host; its derived ports stay in its container.
    PortRange range = getString(g, "provider").value_or("process") == "compose"
                          ? PortRange{static_cast<int>(*port), static_cast<int>(*port)}
                          : gatewayPortRange(getString(g, "runtime").value_or("openclaw"), static_cast<int>(*port));
    items.push_back({hostKey(fleet, i), range, i});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.host, a.range.first, a.range.last, a.gateway) <
           std::tie(b.host, b.range.first, b.range.last, b.gateway);
  });
  // Sweep per host: each range against the range reaching furthest among those that start before it.
  const Item* reach = nullptr;
  for (const auto& item : items) {
    if (reach != nullptr && reach->host != item.host) reach = nullptr;
    if (reach != nullptr && item.range.first <= reach->range.last) {
      const std::string& a = inv.gateways()[reach->gateway].id;
      const std::string& b = inv.gateways()[item.gateway].id;
      out.add("FLEET-PORT-CONFLICT", FindingSeverity::kError, {gw(a), gw(b)},
              "gateway " + b + " (ports " + std::to_string(item.range.first) + "-" + std::to_string(item.range.last) +
                  ") overlaps gateway " + a + " (ports " + std::to_string(reach->range.first) + "-" +
                  std::to_string(reach->range.last) + ")",
              "give each gateway its own base port; OpenClaw gateways need " +
                  std::to_string(kOpenClawDerivedPortSpan + 1) + " ports from their base (keep base ports 120 apart)",
              inv.gateways()[item.gateway].layer.node->findMember("port")->keyLocation);
    }
    if (reach == nullptr || item.range.last > reach->range.last) reach = &item;
  }
  if (!options.checkHostPorts) return;
  for (std::size_t i = 0; i < inv.gateways().size(); ++i) {
    const json::object& g = fleet.gateway(i);
    // Only gateways this host runs: the process provider on host "local".
    if (getString(g, "provider").value_or("process") != "process" || hostKey(fleet, i) != "local") continue;
    if (options.runningGateways.count(inv.gateways()[i].id) != 0) continue;
    auto port = getInt(g, "port");
    if (!port) continue;
    bool any = getString(g, "bind").value_or("loopback") != "loopback";
    if (!portFree(static_cast<int>(*port), any)) {
      out.add(
          "FLEET-PORT-IN-USE", FindingSeverity::kError, {gw(inv.gateways()[i].id)},
          "port " + std::to_string(*port) + " of gateway " + inv.gateways()[i].id + " is already in use on this host",
          "stop what holds the port or choose another; when the fleet is already running there, run preflight "
          "with --no-host-check",
          inv.gateways()[i].layer.node->findMember("port")->keyLocation);
    }
  }
}

/// An ssh gateway's `ssh.remoteDir` (default `~/.talon-fleet/<id>`), a leading "~" qualified by the ssh
/// user (each login has its own home); "" for other providers.
std::string sshRemoteDirKey(const EffectiveFleet& fleet, std::size_t gatewayIndex) {
  const json::object& g = fleet.gateway(gatewayIndex);
  if (getString(g, "provider").value_or("process") != "ssh") return "";
  const json::value* ssh = g.if_contains("ssh");
  const json::object empty;
  const json::object& o = ssh != nullptr && ssh->is_object() ? ssh->as_object() : empty;
  std::string dir(
      getString(o, "remoteDir").value_or("~/.talon-fleet/" + fleet.inventory().gateways()[gatewayIndex].id));
  if (dir.rfind('~', 0) == 0) dir = "~" + std::string(getString(o, "user").value_or("")) + dir.substr(1);
  return dir;
}

void checkGatewayPaths(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  struct Kind {
    const char* id;
    const char* what;
    const char* key;
  };
  const Kind kinds[] = {{"FLEET-STATE-DIR-SHARED", "state dir", "stateDir"},
                        {"FLEET-CONFIG-PATH-SHARED", "config path", "configPath"},
                        {"FLEET-WORKSPACE-ROOT-SHARED", "workspace root", "workspaceRoot"},
                        {"FLEET-SSH-REMOTE-DIR-SHARED", "ssh remote dir", "ssh.remoteDir"}};
  std::unordered_map<std::string, std::size_t> owners[4];
  for (std::size_t i = 0; i < inv.gateways().size(); ++i) {
    GatewayPaths paths = gatewayPaths(fleet, i);
    const std::string values[4] = {paths.stateDir, paths.configPath, paths.workspaceRoot, sshRemoteDirKey(fleet, i)};
    const std::string host = hostKey(fleet, i);
    for (int k = 0; k < 4; ++k) {
      if (values[k].empty()) continue;
      auto [it, inserted] = owners[k].emplace(host + "\n" + normalPath(values[k]), i);
      if (inserted) continue;
      const std::string& a = inv.gateways()[it->second].id;
      const std::string& b = inv.gateways()[i].id;
      const auto* m = inv.gateways()[i].layer.node->findMember(kinds[k].key);
      out.add(kinds[k].id, FindingSeverity::kError, {gw(a), gw(b)},
              "gateways " + a + " and " + b + " share the " + kinds[k].what + " " + normalPath(values[k]) +
                  " on host " + host,
              std::string("give gateway ") + b + " its own " + kinds[k].key,
              m != nullptr ? m->keyLocation : inv.gateways()[i].layer.location);
    }
  }
}

void checkAgentPaths(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  std::unordered_map<std::string, std::size_t> workspaces;
  std::unordered_map<std::string, std::size_t> agentDirs;
  workspaces.reserve(inv.agents().size());
  agentDirs.reserve(inv.agents().size());
  for (std::size_t i = 0; i < inv.agents().size(); ++i) {
    const Agent& agent = inv.agents()[i];
    const std::string host = hostKey(fleet, fleet.gatewayIndexOf(agent));
    auto check = [&](std::unordered_map<std::string, std::size_t>& index, const std::string& path, const char* id,
                     const char* what, const char* key) {
      auto [it, inserted] = index.emplace(host + "\n" + normalPath(path), i);
      if (inserted) return;
      const std::string& other = inv.agents()[it->second].id;
      const auto* m = agent.layer.node->findMember(key);
      out.add(
          id, FindingSeverity::kError, {ag(other), ag(agent.id)},
          "agents " + other + " and " + agent.id + " share the " + what + " " + normalPath(path) + " on host " + host,
          std::string("give agent ") + agent.id + " its own " + key +
              " (never share an agentDir: it holds "
              "sessions and auth profiles)",
          m != nullptr ? m->keyLocation : agent.layer.location);
    };
    check(workspaces, agentWorkspace(fleet, i), "FLEET-AGENT-WORKSPACE-SHARED", "workspace", "workspace");
    check(agentDirs, agentDirectory(fleet, i), "FLEET-AGENT-DIR-SHARED", "agentDir", "agentDir");
  }
}

void checkAccounts(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  // account key -> agent index that maps it
  std::unordered_map<std::string, std::size_t> owner;
  for (std::size_t i = 0; i < inv.agents().size(); ++i) {
    const Agent& agent = inv.agents()[i];
    for (const auto& [channel, account] : agent.accounts) {
      std::string key = channel + "/" + account.first;
      auto [it, inserted] = owner.emplace(key, i);
      if (inserted) continue;
      const std::string& other = inv.agents()[it->second].id;
      out.add("FLEET-ACCOUNT-SHARED", FindingSeverity::kError, {ag(other), ag(agent.id), "account:" + key},
              "account " + key + " is mapped to agents " + other + " and " + agent.id,
              "map each account to one agent; route a chat of it to another agent with a peer binding", account.second);
    }
  }
  // The same secret reference on two accounts: both poll the same bot.
  std::unordered_map<std::string, const ChannelAccount*> tokens;
  for (const auto& acc : inv.accounts()) {
    std::string key = acc.channel + "/" + acc.id;
    if (owner.find(key) == owner.end()) {
      out.add("FLEET-ACCOUNT-UNUSED", FindingSeverity::kWarning, {"account:" + key},
              "account " + key + " is not mapped to any agent: no gateway renders it",
              "map it in an agent's accounts or remove it", acc.location);
    }
    for (std::string_view field : {"botToken", "token", "appToken"}) {
      const json::value* v = acc.settings.if_contains(field);
      if (v == nullptr) continue;
      auto [it, inserted] = tokens.emplace(toCanonicalJson(*v), &acc);
      if (inserted) continue;
      const ChannelAccount& first = *it->second;
      auto gatewayOf = [&](const ChannelAccount& a) -> std::string {
        auto o = owner.find(a.channel + "/" + a.id);
        return o == owner.end() ? std::string() : inv.agents()[o->second].gateway;
      };
      std::string g1 = gatewayOf(first), g2 = gatewayOf(acc);
      std::vector<std::string> objects{"account:" + first.channel + "/" + first.id, "account:" + key};
      std::string where;
      if (!g1.empty() && !g2.empty() && g1 != g2) {
        objects.push_back(gw(g1));
        objects.push_back(gw(g2));
        where = " on gateways " + g1 + " and " + g2;
      }
      out.add("FLEET-TOKEN-SHARED", FindingSeverity::kError, std::move(objects),
              "accounts " + first.channel + "/" + first.id + " and " + key + " use the same " + std::string(field) +
                  " reference" + where + ": both would poll one bot and steal each other's updates",
              "give each account its own bot token reference", acc.location);
    }
  }
}

void checkRouting(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  // account key -> gateway that renders it
  std::unordered_map<std::string, std::string> accountGateway;
  for (const auto& agent : inv.agents()) {
    for (const auto& [channel, account] : agent.accounts)
      accountGateway.emplace(channel + "/" + account.first, agent.gateway);
  }
  for (std::size_t gi = 0; gi < inv.gateways().size(); ++gi) {
    const std::string& gatewayId = inv.gateways()[gi].id;
    const json::object& g = fleet.gateway(gi);
    const json::object* routing = getObject(g, "routing");
    bool allowDefault = routing != nullptr && getBool(*routing, "allowDefault").value_or(false);
    bool allowWildcard = routing != nullptr && getBool(*routing, "allowWildcard").value_or(false);
    std::unordered_map<std::string, const RenderedBinding*> seen;
    auto bindings = gatewayBindings(fleet, gi);
    for (const auto& b : bindings) {
      const BindingMatch& m = b.match;
      if (!m.accountId && !allowDefault) {
        out.add("FLEET-ROUTE-DEFAULT", FindingSeverity::kError, {ag(b.agentId), gw(gatewayId)},
                "a binding of agent " + b.agentId + " has no accountId: it routes the " + m.channel +
                    " default account, and gateway " + gatewayId + " does not enable default routing",
                "name the accountId, or set routing.allowDefault: true on the gateway (or a layer above it)",
                m.location);
      }
      if ((m.accountId == "*" || m.peerId == "*") && !allowWildcard) {
        out.add("FLEET-ROUTE-WILDCARD", FindingSeverity::kError, {ag(b.agentId), gw(gatewayId)},
                "a binding of agent " + b.agentId + " uses a wildcard (" + describeMatch(m) + ") and gateway " +
                    gatewayId + " does not enable wildcard routing",
                "bind explicit accounts and peers, or set routing.allowWildcard: true", m.location);
      }
      if (m.accountId && *m.accountId != "*" && !b.match.implied) {
        auto it = accountGateway.find(m.channel + "/" + *m.accountId);
        if (inv.findAccount(m.channel, *m.accountId) == nullptr) {
          out.add("FLEET-BINDING-UNKNOWN-ACCOUNT", FindingSeverity::kError, {ag(b.agentId)},
                  "a binding of agent " + b.agentId + " names account " + m.channel + "/" + *m.accountId +
                      ", which is not in accounts." + m.channel,
                  "add the account or fix the binding", m.location);
        } else if (it == accountGateway.end() || it->second != gatewayId) {
          out.add("FLEET-BINDING-ACCOUNT-ELSEWHERE", FindingSeverity::kError, {ag(b.agentId), gw(gatewayId)},
                  "a binding of agent " + b.agentId + " names account " + m.channel + "/" + *m.accountId +
                      ", which gateway " + gatewayId + " does not run" +
                      (it == accountGateway.end() ? std::string(" (no agent maps it)")
                                                  : " (it runs on gateway " + it->second + ")"),
                  "map the account to an agent of gateway " + gatewayId + ", or move the agent", m.location);
        }
      }
      auto [it, inserted] = seen.emplace(matchKey(m), &b);
      if (inserted) continue;
      const RenderedBinding& first = *it->second;
      if (first.agentId == b.agentId) {
        out.add("FLEET-ROUTE-DUPLICATE", FindingSeverity::kWarning, {ag(b.agentId), gw(gatewayId)},
                "agent " + b.agentId + " has two bindings with the same match (" + describeMatch(m) + ")",
                "remove one of them", m.location);
      } else {
        out.add("FLEET-ROUTE-AMBIGUOUS", FindingSeverity::kError, {ag(first.agentId), ag(b.agentId), gw(gatewayId)},
                "agents " + first.agentId + " and " + b.agentId + " on gateway " + gatewayId +
                    " have bindings with the same match (" + describeMatch(m) + "): config order alone decides, so " +
                    b.agentId + " never receives these messages",
                "make one binding more specific (a peer, guild or team) or remove it", m.location);
      }
    }
  }
}

void checkExposure(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  for (std::size_t i = 0; i < inv.gateways().size(); ++i) {
    const json::object& g = fleet.gateway(i);
    std::string bind(getString(g, "bind").value_or("loopback"));
    if (bind == "loopback") continue;
    const json::object* auth = getObject(g, "auth");
    std::string mode = auth != nullptr ? std::string(getString(*auth, "mode").value_or("")) : "";
    bool hasToken = auth != nullptr && auth->contains("token");
    bool hasPassword = auth != nullptr && auth->contains("password");
    if (mode.empty()) mode = hasPassword && !hasToken ? "password" : "token";
    bool ok = (mode == "token" && hasToken) || (mode == "password" && hasPassword) || mode == "trusted-proxy";
    if (ok) continue;
    const Gateway& gateway = inv.gateways()[i];
    const auto* bindMember = gateway.layer.node->findMember("bind");
    out.add("FLEET-EXPOSED-NO-AUTH", FindingSeverity::kError, {gw(gateway.id)},
            "gateway " + gateway.id + " binds " + bind + " (beyond loopback) " +
                (mode == "none" ? std::string("with auth.mode \"none\"")
                                : "without a " + mode + " reference in auth." + mode),
            "set auth.mode token with auth.token: \"${VAR}\" (or a SecretRef), or bind loopback",
            bindMember != nullptr ? bindMember->keyLocation : gateway.layer.location);
  }
}

void checkPolicy(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  for (std::size_t i = 0; i < inv.agents().size(); ++i) {
    AgentPolicy policy = evaluateAgentPolicy(fleet, i);
    for (const auto& d : policy.decisions) {
      std::vector<std::string> objects{ag(policy.agentId), gw(policy.gatewayId), d.category + ":" + d.item};
      if (!d.allowed) {
        bool uncatalogued = d.reason.starts_with("not in catalogs.");
        out.add(uncatalogued ? "FLEET-POLICY-UNCATALOGUED" : "FLEET-POLICY-DENIED", FindingSeverity::kError,
                std::move(objects),
                "agent " + policy.agentId + " uses " + d.category + " " + d.item + " (" + d.usedBy + "): " + d.reason,
                uncatalogued ? "add it to the catalog (with its tier and owner) or stop using it"
                             : "stop using it, or change the policy layer named in the message",
                d.location);
      } else if (d.deprecated) {
        out.add("FLEET-POLICY-DEPRECATED", FindingSeverity::kWarning, std::move(objects),
                "agent " + policy.agentId + " uses deprecated " + d.category + " " + d.item,
                "move to a replacement before it is blocked", d.location);
      }
    }
  }
}

/// Agents of gateways that use the model proxy (docs/fleet.md "Model proxy"): a model whose provider the
/// proxy does not serve bypasses it; under a spending limit (the gateway's or, with attribution "agent", the
/// agent's), a model without a price is always refused.
void checkModelProxy(const EffectiveFleet& fleet, Collector& out) {
  const Inventory& inv = fleet.inventory();
  const auto& proxy = inv.modelProxy();
  if (!proxy) return;
  // Two key holders whose ids spell the same environment variable ("eu-1" and "eu_1"; gateway "a__b" and
  // agent "b" of gateway "a") would be handed each other's virtual key.
  std::map<std::string, std::vector<std::string>> holders;
  for (const auto& g : inv.gateways()) {
    if (proxy->usedBy(g.id)) holders[proxyKeyVariable(g.id)].push_back(gw(g.id));
  }
  if (proxy->attribution == ProxyAttribution::kAgent) {
    for (const auto& a : inv.agents()) {
      if (proxy->usedBy(a.gateway)) holders[proxyKeyVariable(a.gateway, a.id)].push_back(ag(a.id));
    }
  }
  for (auto& [variable, objects] : holders) {
    if (objects.size() < 2) continue;
    std::string names;
    for (const auto& o : objects) names += (names.empty() ? "" : ", ") + o;
    out.add("FLEET-PROXY-KEY-VARIABLE-CLASH", FindingSeverity::kError, objects,
            names + " would all get their model-proxy virtual key from ${" + variable +
                "} (ids differ only in characters the variable name writes as '_')",
            "rename one of them", proxy->location);
  }
  for (std::size_t i = 0; i < inv.agents().size(); ++i) {
    const Agent& agent = inv.agents()[i];
    if (!proxy->usedBy(agent.gateway)) continue;
    auto model = getString(fleet.agent(i), "model");
    if (!model) continue;
    std::string ref(*model);
    std::string provider = ref.substr(0, ref.find('/'));
    std::vector<std::string> objects{ag(agent.id), gw(agent.gateway), "model:" + ref};
    if (proxy->providers.find(provider) == proxy->providers.end()) {
      out.add("FLEET-PROXY-NO-PROVIDER", FindingSeverity::kWarning, std::move(objects),
              "agent " + agent.id + " of proxied gateway " + agent.gateway + " uses " + ref + ", whose provider \"" +
                  provider + "\" is not in modelProxy.providers: its calls bypass the proxy",
              "add modelProxy.providers." + provider + ", or give the agent a model the proxy serves", proxy->location);
    } else if (proxy->pricing.find(ref) == proxy->pricing.end()) {
      // A gateway's limit covers every agent of it; an agent's limit (attribution "agent") covers that agent.
      auto gatewayLimit = proxy->gatewayLimits.find(agent.gateway);
      auto agentLimit = proxy->agentLimits.find(agent.id);
      if (gatewayLimit != proxy->gatewayLimits.end()) {
        out.add("FLEET-PROXY-UNPRICED", FindingSeverity::kError, std::move(objects),
                "gateway " + agent.gateway + " has a spending limit and agent " + agent.id + " uses " + ref +
                    ", which has no price: the proxy would refuse every call (403 model_not_priced)",
                "add modelProxy.pricing.\"" + ref + "\"", gatewayLimit->second.location);
      } else if (agentLimit != proxy->agentLimits.end()) {
        out.add("FLEET-PROXY-UNPRICED", FindingSeverity::kError, std::move(objects),
                "agent " + agent.id + " has a spending limit (modelProxy.limits.agents." + agent.id + ") and uses " +
                    ref + ", which has no price: the proxy would refuse every call (403 model_not_priced)",
                "add modelProxy.pricing.\"" + ref + "\"", agentLimit->second.location);
      }
    }
  }
}

void checkTalonRenders(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders, Collector& out) {
  for (std::size_t i = 0; i < renders.size(); ++i) {
    const RenderedGateway& r = renders[i];
    if (r.runtime != "talon") continue;
    GatewayPaths paths = gatewayPaths(fleet, i);
    config::LoadOptions options;
    // An environment of its own: the secrets a render references are not this host's business.
    options.env = config::Environment{{"TALON_STATE_DIR", paths.stateDir}, {"HOME", paths.stateDir}};
    auto loaded = config::loadConfigText(r.text, paths.configPath, options);
    if (loaded) continue;
    std::string message = "Talon's config validation refuses the render of gateway " + r.id;
    if (const auto* issues = loaded.error().details.if_contains("issues"); issues != nullptr && issues->is_array()) {
      std::size_t errors = 0;
      for (const auto& issue : issues->as_array()) {
        const auto& o = issue.as_object();
        if (getString(o, "severity").value_or("") != "error") continue;
        if (++errors > 3) continue;  // the first three say what is wrong; the count says how often
        message += "; " + std::string(getString(o, "path").value_or("")) + ": " +
                   std::string(getString(o, "message").value_or(""));
      }
      if (errors > 3) message += "; and " + std::to_string(errors - 3) + " more";
    } else {
      message += ": " + loaded.error().message;
    }
    out.add("FLEET-RENDER-INVALID", FindingSeverity::kError, {gw(r.id)}, std::move(message),
            "remove what the talon runtime does not support from this gateway's layers, or run it on the openclaw "
            "runtime",
            fleet.inventory().gateways()[i].layer.location);
  }
}

}  // namespace

PortRange gatewayPortRange(std::string_view runtime, int port) {
  if (runtime == "openclaw") return {port, port + kOpenClawDerivedPortSpan};
  return {port, port};
}

json::object Finding::toJson() const {
  json::object o;
  o["id"] = id;
  o["severity"] = isError() ? "error" : "warning";
  json::array objs;
  for (const auto& s : objects) objs.push_back(json::value(s));
  o["objects"] = std::move(objs);
  o["message"] = message;
  o["fix"] = fix;
  if (location.known()) {
    o["file"] = location.file;
    o["line"] = location.line;
  }
  return o;
}

std::size_t PreflightReport::errorCount() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.isError(); }));
}
std::size_t PreflightReport::warningCount() const { return findings.size() - errorCount(); }

json::object PreflightReport::toJson() const {
  json::object o;
  o["ok"] = ok();
  o["errorCount"] = static_cast<std::int64_t>(errorCount());
  o["warningCount"] = static_cast<std::int64_t>(warningCount());
  json::array f;
  for (const auto& x : findings) f.push_back(x.toJson());
  o["findings"] = std::move(f);
  return o;
}

PreflightReport runPreflight(const EffectiveFleet& fleet, const std::vector<RenderedGateway>& renders,
                             const PreflightOptions& options) {
  Collector out;
  checkPorts(fleet, options, out);
  checkGatewayPaths(fleet, out);
  checkAgentPaths(fleet, out);
  checkAccounts(fleet, out);
  checkRouting(fleet, out);
  checkExposure(fleet, out);
  checkPolicy(fleet, out);
  checkModelProxy(fleet, out);
  if (options.validateTalonRenders) checkTalonRenders(fleet, renders, out);
  PreflightReport report;
  report.findings = std::move(out.findings);
  std::stable_sort(report.findings.begin(), report.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.id, a.objects) < std::tie(b.id, b.objects);
  });
  return report;
}

std::vector<RouteEntry> routingTable(const EffectiveFleet& fleet) {
  std::vector<RouteEntry> out;
  for (std::size_t gi = 0; gi < fleet.inventory().gateways().size(); ++gi) {
    std::vector<RouteEntry> rows;
    for (const auto& b : gatewayBindings(fleet, gi)) {
      RouteEntry r;
      r.gateway = fleet.inventory().gateways()[gi].id;
      r.channel = b.match.channel;
      r.accountId = b.match.accountId.value_or("");
      if (b.match.peerKind) r.peer = *b.match.peerKind + ":" + b.match.peerId.value_or("");
      r.tier = tierOf(b.match);
      r.agentId = b.agentId;
      r.implied = b.match.implied;
      r.location = b.match.location;
      rows.push_back(std::move(r));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const RouteEntry& a, const RouteEntry& b) {
      return std::tuple(a.channel, a.accountId, tierRank(a.tier)) <
             std::tuple(b.channel, b.accountId, tierRank(b.tier));
    });
    for (auto& r : rows) out.push_back(std::move(r));
  }
  return out;
}

json::object routeToJson(const RouteEntry& r) {
  json::object o;
  o["gateway"] = r.gateway;
  o["channel"] = r.channel;
  o["accountId"] = r.accountId;
  o["peer"] = r.peer;
  o["tier"] = r.tier;
  o["agent"] = r.agentId;
  o["implied"] = r.implied;
  if (r.location.known()) {
    o["file"] = r.location.file;
    o["line"] = r.location.line;
  }
  return o;
}

}  // namespace talon::fleet
