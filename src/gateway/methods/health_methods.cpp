// The health family: `health`, `status`, `system-presence` (OpenClaw 2026.9.6 payload shapes,
// tests/data/wire/res.health.json, res.status.json).
#include "gateway/methods/health_methods.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "gateway/automation/heartbeat_service.h"
#include "gateway/live_config.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/payloads.h"

namespace talon::gateway::methods {
namespace {

std::string ownershipName(const AgentDirectory& agents) {
  return agents.roster().explicitOwnership() ? "explicit" : "sole";
}

/// A cadence as OpenClaw prints it: "30m", "1h", "45s", "500ms".
std::string durationText(int64_t ms) {
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

HealthSnapshot buildHealthPayload(const HealthDeps& d) {
  auto started = d.clock->steadyNow();
  auto now = d.clock->nowMs();
  json::array agents;
  int64_t total = 0;
  json::array recentAll;
  auto all = d.store.sessions().list(store::SessionQuery{std::nullopt, 5, 0});
  if (all) {
    total = all->totalCount;
    for (const auto& s : all->sessions) {
      recentAll.push_back(
          json::object{{"key", s.sessionKey}, {"updatedAt", s.updatedAtMs}, {"age", now - s.updatedAtMs}});
    }
  } else {
    spdlog::warn("health: cannot count sessions: {}", all.error().toString());
  }
  std::vector<automation::HeartbeatAgentStatus> heartbeats;
  if (d.heartbeat) heartbeats = d.heartbeat->status();
  int64_t heartbeatSeconds = 0;
  auto heartbeatOf = [&](const std::string& agentId) {
    for (const auto& h : heartbeats) {
      if (h.agentId != agentId) continue;
      if (agentId == d.agents.defaultAgentId() && h.enabled) heartbeatSeconds = h.everyMs / 1000;
      return json::object{{"enabled", h.enabled}, {"every", durationText(h.everyMs)}, {"everyMs", h.everyMs}};
    }
    return json::object{{"enabled", false}};
  };
  for (const auto& a : d.agents.profiles()) {
    auto page = d.store.sessions().list(store::SessionQuery{a.id, 5, 0});
    json::array recent;
    int64_t count = 0;
    if (page) {
      count = page->totalCount;
      for (const auto& s : page->sessions) {
        recent.push_back(
            json::object{{"key", s.sessionKey}, {"updatedAt", s.updatedAtMs}, {"age", now - s.updatedAtMs}});
      }
    }
    agents.push_back(
        json::object{{"agentId", a.id},
                     {"isDefault", a.id == d.agents.defaultAgentId()},
                     {"heartbeat", heartbeatOf(a.id)},
                     {"sessions", json::object{{"path", d.store.location()}, {"count", count}, {"recent", recent}}}});
  }
  // Talon's addition: per-provider health (provider_health.h), one entry per provider and model.
  json::array providers;
  // Talon's addition: every health record (health_registry.h) — store, providers, channels, cron jobs.
  json::array records;
  bool modelDegraded = false;
  for (const auto& r : d.healthRecords.snapshot().records) {
    records.push_back(json::object{{"component", r.component},
                                   {"dimension", r.dimension},
                                   {"state", health::healthStateName(r.state)},
                                   {"since", r.sinceMs},
                                   {"detail", r.detail},
                                   {"critical", r.critical}});
    if (r.component.rfind("provider:", 0) != 0) continue;
    modelDegraded = modelDegraded || r.state != health::HealthState::kOk;
    providers.push_back(json::object{{"provider", r.component.substr(9)},
                                     {"model", r.dimension},
                                     {"state", health::healthStateName(r.state)},
                                     {"since", r.sinceMs},
                                     {"detail", r.detail}});
  }
  // The channel accounts (channel_manager.h), in OpenClaw's health shape: channels.<provider> is the
  // default account's snapshot plus `accounts` by id.
  json::object channelMap, channelLabels;
  json::array channelOrder;
  for (const auto& a : d.channelRuntime.status()) {
    if (!channelMap.contains(a.provider)) {
      channelOrder.push_back(json::string(a.provider));
      channelLabels[a.provider] = a.provider;
      channelMap[a.provider] = json::object{{"accounts", json::object{}}};
    }
    json::object& entry = channelMap[a.provider].as_object();
    json::object snapshot = channelAccountSnapshot(a);
    if (a.isDefault) {
      for (const auto& kv : snapshot) entry[kv.key()] = kv.value();
    }
    entry["accounts"].as_object()[a.accountId] = std::move(snapshot);
  }
  auto durationMs = std::chrono::duration_cast<std::chrono::milliseconds>(d.clock->steadyNow() - started).count();
  json::object payload{
      {"ok", all.has_value()},
      {"ts", now},
      {"durationMs", durationMs},
      {"plugins", json::object{{"loaded", json::array{}}, {"errors", json::array{}}, {"unavailable", json::array{}}}},
      {"configReload", d.liveConfig.healthStatus()},
      {"channels", std::move(channelMap)},
      {"channelOrder", std::move(channelOrder)},
      {"channelLabels", std::move(channelLabels)},
      {"heartbeatSeconds", heartbeatSeconds},
      {"defaultAgentId", d.agents.defaultAgentId()},
      {"agents", agents},
      {"sessions", json::object{{"path", d.store.location()}, {"count", total}, {"recent", recentAll}}},
      {"modelRuntime", json::object{{"degraded", modelDegraded}, {"pendingAgents", json::array{}}}},
      {"providers", providers},
      {"records", std::move(records)}};
  return HealthSnapshot{json::serialize(payload), all.has_value()};
}

HealthDeps HealthDeps::from(const GatewayServices& s) {
  return HealthDeps{s.info,      s.config, s.agents,        s.store,      s.runner,         s.presence, s.health,
                    s.executors, s.clock,  s.healthRecords, s.liveConfig, s.channelRuntime, s.heartbeat};
}

Status registerHealthMethods(MethodRegistry& registry, const GatewayServices& services) {
  const HealthDeps d = HealthDeps::from(services);
  Status s =
      registry.add({"health", protocol::Scope::kRead, {{"probe", ParamType::kBoolean}}, [d](const MethodCall& call) {
                      if (getBool(call.params, "probe").value_or(false)) {
                        // A probe asks for a fresh snapshot rather than the cached one.
                        d.executors.blocking([d, call] {
                          auto snapshot = buildHealthPayload(d);
                          d.health.set(snapshot.payloadJson);
                          call.ok(snapshot.payloadJson);
                        });
                        return;
                      }
                      call.ok(*d.health.get());
                    }});
  if (!s) return s;
  s = registry.add(
      {"status",
       protocol::Scope::kRead,
       {{"includeChannelSummary", ParamType::kBoolean}, {"includeCliProjection", ParamType::kBoolean}},
       [d](const MethodCall& call) {
         bool cliProjection = getBool(call.params, "includeCliProjection").value_or(false);
         d.executors.blocking([d, call, cliProjection] {
           auto now = d.clock->nowMs();
           auto page = d.store.sessions().list(store::SessionQuery{std::nullopt, 10, 0});
           if (!page) return call.error(page.error());
           json::array recent;
           for (const auto& s : page->sessions) recent.push_back(sessionRow(s, now));
           json::array byAgent;
           for (const auto& a : d.agents.profiles()) {
             auto agentPage = d.store.sessions().list(store::SessionQuery{a.id, 5, 0});
             json::array agentRecent;
             int64_t count = 0;
             if (agentPage) {
               count = agentPage->totalCount;
               for (const auto& s : agentPage->sessions) agentRecent.push_back(sessionRow(s, now));
             }
             byAgent.push_back(json::object{
                 {"agentId", a.id}, {"path", d.store.location()}, {"count", count}, {"recent", agentRecent}});
           }
           auto stats = d.runner.stats();
           long pageSize = sysconf(_SC_PAGESIZE);
           long rssPages = 0;
           {
             std::ifstream statm("/proc/self/statm");
             long size = 0;
             statm >> size >> rssPages;
           }
           json::array heartbeatAgents;
           if (d.heartbeat) {
             for (const auto& h : d.heartbeat->status()) {
               heartbeatAgents.push_back(json::object{{"agentId", h.agentId},
                                                      {"enabled", h.enabled},
                                                      {"every", durationText(h.everyMs)},
                                                      {"everyMs", h.everyMs}});
             }
           }
           json::object payload{
               {"runtimeVersion", d.info.version},
               {"heartbeat",
                json::object{{"defaultAgentId", d.agents.defaultAgentId()}, {"agents", std::move(heartbeatAgents)}}},
               {"channelSummary", json::array{}},
               {"queuedSystemEvents", json::array{}},
               {"degradedSecretOwners", json::array{}},
               {"degradedPlugins", json::array{}},
               {"tasks",
                json::object{{"total", stats.running + stats.queued + stats.completed + stats.failed},
                             {"active", stats.running + stats.queued},
                             {"terminal", stats.completed + stats.failed},
                             {"failures", stats.failed},
                             {"byStatus", json::object{{"queued", stats.queued},
                                                       {"running", stats.running},
                                                       {"succeeded", stats.completed},
                                                       {"failed", stats.failed},
                                                       {"timed_out", 0},
                                                       {"cancelled", 0},
                                                       {"lost", 0}}},
                             {"byRuntime", json::object{{"subagent", 0}, {"acp", 0}, {"cli", 0}, {"cron", 0}}}}},
               {"sessions", json::object{{"paths", json::array{json::value(d.store.location())}},
                                         {"count", page->totalCount},
                                         {"defaults", modelDefaults(d.config->config)},
                                         {"recent", recent},
                                         {"byAgent", byAgent}}},
               {"modelRuntime", json::object{{"degraded", false}, {"pendingAgents", json::array{}}}},
               {"processMemory", json::object{{"rssBytes", static_cast<int64_t>(rssPages) * pageSize}}},
               {"pid", static_cast<int64_t>(getpid())},
               {"uptimeMs", now - d.info.startedAtMs}};
           if (cliProjection) {
             json::array rows;
             for (const auto& a : d.agents.profiles()) rows.push_back(json::object{{"id", a.id}});
             payload["cliProjection"] =
                 json::object{{"agents", json::object{{"defaultId", d.agents.defaultAgentId().empty()
                                                                        ? json::value(nullptr)
                                                                        : json::value(d.agents.defaultAgentId())},
                                                      {"ownership", ownershipName(d.agents)},
                                                      {"selectionRequired", d.agents.defaultAgentId().empty()},
                                                      {"rows", rows}}},
                              {"updateChannel", nullptr},
                              {"memoryPlugin", json::object{{"enabled", false}}}};
           }
           call.ok(json::serialize(payload));
         });
       }});
  if (!s) return s;
  return registry.add(
      {"system-presence", protocol::Scope::kRead, {}, [d](const MethodCall& call) {
         auto now = d.clock->nowMs();
         json::array list;
         list.push_back(json::object{
             {"host", d.info.host},
             {"version", d.info.version},
             {"platform", "linux"},
             {"deviceFamily", "Linux"},
             {"mode", "gateway"},
             {"reason", "self"},
             {"instanceId", d.info.instanceId},
             {"text", "Gateway: " + d.info.host + " · talon " + d.info.version + " · mode gateway · reason self"},
             {"ts", now}});
         {
           for (const auto& e : d.presence.snapshot()) {
             json::object o{
                 {"host", e.host},     {"ip", e.ip}, {"version", e.version}, {"platform", e.platform}, {"mode", e.mode},
                 {"reason", e.reason}, {"ts", e.ts}};
             if (!e.instanceId.empty()) o["instanceId"] = e.instanceId;
             if (!e.deviceFamily.empty()) o["deviceFamily"] = e.deviceFamily;
             o["text"] = "Client: " + e.host + " · " + e.version + " · mode " + e.mode + " · reason " + e.reason;
             list.push_back(std::move(o));
           }
         }
         call.ok(json::serialize(list));
       }});
}

}  // namespace talon::gateway::methods
