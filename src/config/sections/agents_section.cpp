// `agents`: the roster (`entries`), its defaults and ownership (OpenClaw docs/concepts/multi-agent.md),
// and the heartbeat blocks (`agents.defaults.heartbeat`, `agents.entries.<id>.heartbeat`; OpenClaw
// docs/gateway/heartbeat.md; config_model.h HeartbeatConfig says what is implemented).
// Defaults: without entries the roster is the single agent "main" (OpenClaw DEFAULT_AGENT_ID); see
// config_model.h AgentsConfig for the rest. Rules: entry ids match kAgentIdPattern; two or more entries
// require `ownership: "explicit"`.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "config/compaction_config.h"
#include "config/config_sections.h"
#include "config/config_validator.h"
#include "config/heartbeat_config.h"

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

/// A duration ("30m", "1h30m", "45s", "500ms", "2d"; a bare number is minutes, OpenClaw's parseDurationMs
/// with defaultUnit "m") in ms, or nullopt when it does not read.
std::optional<int64_t> parseHeartbeatDuration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  int64_t total = 0;
  bool any = false;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > 1'000'000'000) return std::nullopt;
      n = n * 10 + (text[i++] - '0');
    }
    std::size_t u = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    std::string_view unit = text.substr(u, i - u);
    int64_t factor = 0;
    if (unit.empty() || unit == "m") {
      factor = 60'000;
      if (unit.empty() && i < text.size()) return std::nullopt;  // a bare number only at the end
    } else if (unit == "ms") {
      factor = 1;
    } else if (unit == "s") {
      factor = 1000;
    } else if (unit == "h") {
      factor = 3'600'000;
    } else if (unit == "d") {
      factor = 86'400'000;
    } else {
      return std::nullopt;
    }
    total += n * factor;
    any = true;
    while (i < text.size() && text[i] == ' ') ++i;
  }
  if (!any) return std::nullopt;
  return total;
}

/// "HH:MM" as minutes of the day; "24:00" (1440) only with `allow24`. OpenClaw's
/// /^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$/.
std::optional<int> parseClockTime(std::string_view s, bool allow24) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (std::size_t k : {0u, 1u, 3u, 4u}) {
    if (s[k] < '0' || s[k] > '9') return std::nullopt;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59) return std::nullopt;
  if (h == 24 && m == 0 && allow24) return 1440;
  if (h > 23) return std::nullopt;
  return h * 60 + m;
}

void readActiveHours(ConfigReader& r, const ConfigNode& node, const json::value& value,
                     HeartbeatActiveHoursConfig& out) {
  r.readObject(node, value,
               {
                   {"start",
                    [&](const ConfigNode& c, const json::value& x) {
                      auto s = r.string(c, x);
                      if (!s) return;
                      if (auto m = parseClockTime(*s, false)) {
                        out.startMinute = *m;
                      } else {
                        r.error(c, DiagnosticCode::kValue, "invalid time (use \"HH:MM\" 24h format, 00:00-23:59)");
                      }
                    }},
                   {"end",
                    [&](const ConfigNode& c, const json::value& x) {
                      auto s = r.string(c, x);
                      if (!s) return;
                      if (auto m = parseClockTime(*s, true)) {
                        out.endMinute = *m;
                      } else {
                        r.error(c, DiagnosticCode::kValue, "invalid time (use \"HH:MM\" 24h format, 00:00-24:00)");
                      }
                    }},
                   {"timezone",
                    [&](const ConfigNode& c, const json::value& x) {
                      auto s = r.string(c, x);
                      if (!s) return;
                      // "user" means agents.defaults.userTimezone, which Talon does not read yet: the host's
                      // zone then, as OpenClaw does when userTimezone is unset.
                      out.timezone = (*s == "user" || *s == "local") ? std::string() : *s;
                    }},
               });
}

constexpr std::string_view kDirectPolicies[] = {"allow", "block"};

/// A heartbeat block (OpenClaw's strict HeartbeatSchema). `isDefaults`: agents.defaults.heartbeat (the
/// only place `agentId` is allowed).
void readHeartbeat(ConfigReader& r, const ConfigNode& node, const json::value& value, bool isDefaults,
                   std::optional<HeartbeatConfig>& result) {
  HeartbeatConfig out;
  auto str = [&](std::optional<std::string>& field) {
    return [&](const ConfigNode& c, const json::value& x) {
      if (auto s = r.string(c, x)) field = *s;
    };
  };
  if (!r.readObject(node, value,
                    {
                        {"every",
                         [&](const ConfigNode& c, const json::value& x) {
                           auto s = r.string(c, x);
                           if (!s) return;
                           if (auto ms = parseHeartbeatDuration(*s)) {
                             out.everyMs = *ms;
                           } else {
                             r.error(c, DiagnosticCode::kValue, "invalid duration (use ms, s, m, h)");
                           }
                         }},
                        {"activeHours",
                         [&](const ConfigNode& c, const json::value& x) {
                           HeartbeatActiveHoursConfig hours;
                           readActiveHours(r, c, x, hours);
                           out.activeHours = hours;
                         }},
                        {"model",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto m = r.string(c, x, true)) out.model = *m;
                         }},
                        {"session", str(out.session)},
                        {"target",
                         [&](const ConfigNode& c, const json::value& x) {
                           auto s = r.string(c, x, true);
                           if (!s) return;
                           if (s->find(':') != std::string::npos) {
                             r.error(c, DiagnosticCode::kValue,
                                     "target takes a channel id (\"telegram\"); put the recipient in heartbeat.to");
                             return;
                           }
                           out.target = *s;
                         }},
                        {"directPolicy",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto s = r.enumeration(c, x, kDirectPolicies)) out.directPolicy = *s;
                         }},
                        {"to", str(out.to)},
                        {"accountId", str(out.accountId)},
                        {"prompt", str(out.prompt)},
                        {"timeoutSeconds",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto i = r.integer(c, x, 1, kMaxSafeInteger, "> 0")) out.timeoutSeconds = *i;
                         }},
                        {"lightContext",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto b = r.boolean(c, x)) out.lightContext = *b;
                         }},
                        {"isolatedSession",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto b = r.boolean(c, x)) out.isolatedSession = *b;
                         }},
                        {"agentId",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (!isDefaults) {
                             r.unknownKey(node, "agentId");
                             return;
                           }
                           if (auto s = r.string(c, x, true)) out.agentId = *s;
                         }},
                    })) {
    return;
  }
  result = std::move(out);
}

/// `spendLimit: {dailyUsd?, monthlyUsd?}` (Talon-only; docs/providers.md "Spending limits"): ceilings in
/// USD, each a finite number > 0.
void readSpendLimit(ConfigReader& r, const ConfigNode& node, const json::value& value, SpendLimitConfig& out) {
  auto ceiling = [&](std::optional<double>& into) {
    return [&r, &into](const ConfigNode& c, const json::value& x) {
      if (!x.is_number()) {
        r.error(c, DiagnosticCode::kType, "expected number > 0 (USD), got " + ConfigReader::describe(x));
        return;
      }
      double v = x.to_number<double>();
      if (!std::isfinite(v) || v <= 0) {
        r.error(c, DiagnosticCode::kValue, "expected number > 0 (USD)");
        return;
      }
      into = v;
    };
  };
  r.readObject(node, value, {{"dailyUsd", ceiling(out.dailyUsd)}, {"monthlyUsd", ceiling(out.monthlyUsd)}});
}

constexpr std::string_view kRoutingStrategies[] = {"ordered", "latency", "cost", "health"};

/// `routing: {strategy?, latencySloMs?, maxCostPerMTokUsd?, minCalls?}` (Talon-only; docs/providers.md
/// "Routing"). A key the block's own strategy does not read is warned about (it still applies to an
/// agent whose entry switches the strategy, so it is kept).
void readRouting(ConfigReader& r, const ConfigNode& node, const json::value& value, RoutingConfig& out) {
  if (!r.readObject(node, value,
                    {
                        {"strategy",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto s = r.enumeration(c, x, kRoutingStrategies)) out.strategy = *s;
                         }},
                        {"latencySloMs",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto i = r.integer(c, x, 1, kMaxSafeInteger, "> 0 (ms)")) out.latencySloMs = *i;
                         }},
                        {"maxCostPerMTokUsd",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (!x.is_number()) {
                             r.error(c, DiagnosticCode::kType,
                                     "expected number > 0 (USD per million tokens), got " + ConfigReader::describe(x));
                             return;
                           }
                           double v = x.to_number<double>();
                           if (!std::isfinite(v) || v <= 0) {
                             r.error(c, DiagnosticCode::kValue, "expected number > 0 (USD per million tokens)");
                             return;
                           }
                           out.maxCostPerMTokUsd = v;
                         }},
                        {"minCalls",
                         [&](const ConfigNode& c, const json::value& x) {
                           if (auto i = r.integer(c, x, 1, kMaxSafeInteger, ">= 1")) out.minCalls = *i;
                         }},
                    })) {
    return;
  }
  if (!out.strategy) return;
  auto unused = [&](bool set, std::string_view key, std::string_view readBy) {
    if (set && *out.strategy != readBy) {
      r.warning(r.child(node, key), DiagnosticCode::kValue,
                fmt::format("{} is read only by strategy {}; this block's strategy is {}", key,
                            ConfigReader::quoted(readBy), ConfigReader::quoted(*out.strategy)));
    }
  };
  unused(out.latencySloMs.has_value(), "latencySloMs", "latency");
  unused(out.maxCostPerMTokUsd.has_value(), "maxCostPerMTokUsd", "cost");
  if (out.minCalls && *out.strategy != "latency" && *out.strategy != "health") {
    r.warning(r.child(node, "minCalls"), DiagnosticCode::kValue,
              fmt::format("minCalls is read only by strategies \"latency\" and \"health\"; this block's strategy is {}",
                          ConfigReader::quoted(*out.strategy)));
  }
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
          {"heartbeat",
           [&](const ConfigNode& c, const json::value& x) { readHeartbeat(r, c, x, true, out.heartbeat); }},
          {"spendLimit", [&](const ConfigNode& c, const json::value& x) { readSpendLimit(r, c, x, out.spendLimit); }},
          {"routing", [&](const ConfigNode& c, const json::value& x) { readRouting(r, c, x, out.routing); }},
          {"compaction",
           [&](const ConfigNode& c, const json::value& x) { readCompactionConfig(r, c, x, out.compaction); }},
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
          {"heartbeat",
           [&](const ConfigNode& c, const json::value& x) { readHeartbeat(r, c, x, false, out.heartbeat); }},
          {"spendLimit", [&](const ConfigNode& c, const json::value& x) { readSpendLimit(r, c, x, out.spendLimit); }},
          {"routing", [&](const ConfigNode& c, const json::value& x) { readRouting(r, c, x, out.routing); }},
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

/// The node of config path `path` ("agents.entries.ops.heartbeat"; map keys without dots).
ConfigNode nodeAt(ConfigReader& r, std::string_view path) {
  ConfigNode node = r.root();
  std::size_t start = 0;
  int depth = 0;
  while (start <= path.size()) {
    std::size_t dot = path.find('.', start);
    std::string_view key = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    node = r.child(node, key, depth == 2 && path.rfind("agents.entries.", 0) == 0 ? "*" : key);
    ++depth;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return node;
}

// The heartbeat rules that need the merged blocks: a known agentId, and `to` where the target ignores it.
void finishHeartbeats(ConfigReader& r, const AgentsConfig& agents) {
  if (agents.defaults.heartbeat && agents.defaults.heartbeat->agentId) {
    const std::string& id = *agents.defaults.heartbeat->agentId;
    bool known = false;
    for (const auto& e : agents.entries) known = known || e.id == id;
    if (!known) {
      r.error(nodeAt(r, "agents.defaults.heartbeat.agentId"), DiagnosticCode::kValue,
              fmt::format("unknown agent id {}", ConfigReader::quoted(id)));
    }
  }
  if (heartbeatOwnerUnresolved(agents)) {
    // OpenClaw warns too: with several agents and no heartbeat block there is no ambient owner.
    // OpenClaw validation-core collectHeartbeatOwnerWarnings (Talon has no agents.defaults.systemAgent).
    r.warning(nodeAt(r, "agents.defaults.heartbeat.agentId"), DiagnosticCode::kValue,
              "Multi-agent config has no ambient heartbeat owner; heartbeats stay disabled until "
              "agents.defaults.heartbeat.agentId is set (or an agent has a heartbeat block).");
  }
  for (const auto& hb : effectiveHeartbeats(agents)) {
    const std::string target = hb.config.target.value_or("owner");
    const bool hasTo = hb.config.to && !hb.config.to->empty();
    if ((target == "owner" || target == "none") && hasTo) {
      // OpenClaw: "`owner` and an unset target ignore `to`" (docs/gateway/heartbeat.md, field notes).
      r.warning(nodeAt(r, hb.path), DiagnosticCode::kValue,
                fmt::format("heartbeat.to is ignored with target {} (it names the recipient of a channel target "
                            "or of target \"last\")",
                            ConfigReader::quoted(target)));
    }
  }
}

// Routing rules that need the merged keys: an agent whose strategy is "latency" needs a latencySloMs (its
// entry's or the defaults'). Reported where that agent's strategy is written.
void finishRouting(ConfigReader& r, const AgentsConfig& agents) {
  const RoutingConfig& d = agents.defaults.routing;
  for (const auto& e : agents.entries) {
    const RoutingConfig& x = e.routing;
    const auto strategy = x.strategy ? x.strategy : d.strategy;
    if (strategy != "latency" || x.latencySloMs || d.latencySloMs) continue;
    const std::string at =
        x.strategy ? "agents.entries." + e.id + ".routing.strategy" : "agents.defaults.routing.strategy";
    r.error(nodeAt(r, at), DiagnosticCode::kValue,
            fmt::format("agent {}: strategy \"latency\" needs latencySloMs (ms > 0) in agents.entries.{}.routing or "
                        "agents.defaults.routing",
                        ConfigReader::quoted(e.id), e.id));
  }
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
  finishHeartbeats(r, agents);
  finishRouting(r, agents);
}

}  // namespace

extern const ConfigSection kAgentsSection;
const ConfigSection kAgentsSection{"agents", readAgents, finishAgents};

}  // namespace talon::config
