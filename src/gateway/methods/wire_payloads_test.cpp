// Payloads compared with OpenClaw 2026.9.6's captured frames (tests/data/wire, copied from
// reference/openclaw-wire): every recorded request whose method Talon registers is run through
// MethodRegistry::dispatch with its recorded params over real components, and the payload's shape is
// compared with the recorded response's — every key OpenClaw sends must be in Talon's payload with the
// same JSON type (objects recursively, arrays by their first element when both have one), unless it is
// listed below as deliberately omitted, with the reason. Data-driven: a new capture is a new pair of
// files, a new method a new registration; neither needs an edit here to be compared.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "base/file_io.h"
#include "base/json.h"
#include "gateway/automation/cron_service.h"
#include "gateway/methods/method_registry.h"
#include "protocol/methods.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

const std::filesystem::path kWireDir = std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "wire";

/// A path in a payload: `.key` for an object member, `[]` for the elements of an array.
struct Difference {
  std::string path;
  std::string what;
};

/// OpenClaw keys Talon deliberately does not send, by method, each with its reason. A key listed here
/// that Talon does send fails the test, so the list cannot go stale.
const std::map<std::string, std::map<std::string, std::string>, std::less<>>& omittedKeys() {
  static const std::map<std::string, std::map<std::string, std::string>, std::less<>> kOmitted = {
      {"agents.list",
       {{".agents[].agentRuntime", "agents run in Talon's process; there is no codex/ACP runtime to describe"},
        {".agents[].thinkingLevels", "thinking levels are not supported yet (chat.send `thinking` is UNSUPPORTED)"},
        {".agents[].thinkingOptions", "thinking levels are not supported yet"},
        {".agents[].thinkingDefault", "thinking levels are not supported yet"},
        {".agents[].defaultPermissionMode", "no permission modes yet: every tool call passes the ToolGate"}}},
      {"cron.list",
       {{".jobs[].declarationKey", "declarative jobs (declarationKey) are not supported yet"},
        {".jobs[].configRevision", "expectedConfigRevision is not supported yet, so no revision token is sent"},
        {".jobs[].effectiveAgentId", "a job names its agent in agentId (absent: the default agent)"},
        {".deliveryPreviews", "delivery previews are not supported yet (includeDeliveryPreviews is refused)"}}},
      {"config.get",
       {{".includedPaths", "the config snapshot does not keep $include provenance yet"},
        {".includeProvenance", "the config snapshot does not keep $include provenance yet"},
        {".agentRosterIncludeOwned", "config writes (config.apply/patch) are not supported yet"},
        {".bindingsIncludeOwned", "config writes (config.apply/patch) are not supported yet"}}},
      {"channels.status", {{".eventLoop", "Node.js event-loop delay statistics; Talon has no JS event loop"}}},
      {"health",
       {{".agents[].heartbeat.every", "no heartbeat is configured here: Talon sends heartbeat {enabled:false}"},
        {".agents[].heartbeat.everyMs", "no heartbeat is configured here (with one: {enabled, every, everyMs})"},
        {".agents[].heartbeat.prompt", "the heartbeat's prompt is not reported by health"},
        {".agents[].heartbeat.target", "the heartbeat's target is not reported by health"},
        {".agents[].heartbeat.ackMaxChars", "the acknowledgement budget is OpenClaw's fixed 300 (heartbeat.md)"},
        {".eventLoop", "Node.js event-loop delay statistics; Talon has no JS event loop (its load is in /metrics)"}}},
      {"sessions.list",
       {{".defaults.agentRuntime", "agents run in Talon's process; there is no codex/ACP runtime to describe"},
        {".defaults.thinkingLevels", "thinking levels are not supported yet"},
        {".defaults.thinkingOptions", "thinking levels are not supported yet"},
        {".defaults.thinkingDefault", "thinking levels are not supported yet"},
        {".defaults.modelSelectionTarget", "per-session model selection is not supported yet"}}},
      {"status",
       {{".hostDesktop", "no host desktop (VNC) feature"},
        {".taskAudit", "no background task ledger yet; `tasks` counts the runner's turns"},
        {".eventLoop", "Node.js event-loop delay statistics; Talon has no JS event loop"},
        {".processMemory.heapUsedBytes", "V8 heap statistics; Talon reports rssBytes"},
        {".processMemory.heapTotalBytes", "V8 heap statistics; Talon reports rssBytes"},
        {".processMemory.externalBytes", "V8 heap statistics; Talon reports rssBytes"},
        {".processMemory.arrayBuffersBytes", "V8 heap statistics; Talon reports rssBytes"},
        {".workerPools", "Node.js worker-thread pools; Talon has no equivalent to report yet"},
        {".shutdownBudget", "the drain grace (--drain-grace) is not reported yet"},
        {".cliProjection.memoryPlugin.slot", "no memory plugin: memoryPlugin.enabled is false"}}},
      {"system-presence", {{"[].ip", "Talon does not look up its own LAN address for its self entry"}}},
  };
  return kOmitted;
}

/// Keys whose JSON type differs on purpose (e.g. null where OpenClaw had a value), with the reason.
const std::map<std::string, std::map<std::string, std::string>, std::less<>>& typeDifferences() {
  static const std::map<std::string, std::map<std::string, std::string>, std::less<>> kDiffer = {
      {"sessions.list",
       {{".defaults.contextTokens",
         "null: Talon knows a context window only when models.providers.*.models[].contextWindow declares it"}}},
      {"status",
       {{".sessions.defaults.contextTokens",
         "null: Talon knows a context window only when models.providers.*.models[].contextWindow declares it"}}},
  };
  return kDiffer;
}

/// Values that are data rather than shape (the user's own config): only their JSON type is compared.
const std::map<std::string, std::set<std::string>, std::less<>>& opaqueValues() {
  static const std::map<std::string, std::set<std::string>, std::less<>> kOpaque = {
      {"config.get", {".parsed", ".sourceConfig", ".resolved", ".runtimeConfig", ".config"}},
  };
  return kOpaque;
}

std::string_view typeOf(const json::value& v) {
  if (v.is_null()) return "null";
  if (v.is_bool()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

const std::map<std::string, std::string>& listFor(
    const std::map<std::string, std::map<std::string, std::string>, std::less<>>& lists, std::string_view method) {
  static const std::map<std::string, std::string> kNone;
  auto it = lists.find(method);
  return it == lists.end() ? kNone : it->second;
}

/// Compares the shape of `recorded` (OpenClaw) with `talon`, appending what differs. `used` collects the
/// omission and type-difference entries that applied.
void compareShape(std::string_view method, const std::string& path, const json::value& recorded,
                  const json::value& talon, std::vector<Difference>& out, std::set<std::string>& used) {
  const auto& omitted = listFor(omittedKeys(), method);
  const auto& differs = listFor(typeDifferences(), method);
  if (typeOf(recorded) != typeOf(talon)) {
    if (differs.count(path)) {
      used.insert(path);
      return;
    }
    out.push_back({path, "OpenClaw sends " + std::string(typeOf(recorded)) + ", Talon " + std::string(typeOf(talon))});
    return;
  }
  if (auto it = opaqueValues().find(method); it != opaqueValues().end() && it->second.count(path)) return;
  if (recorded.is_object()) {
    const auto& t = talon.get_object();
    for (const auto& kv : recorded.get_object()) {
      const std::string child = path + "." + std::string(kv.key());
      if (!t.contains(kv.key())) {
        if (omitted.count(child)) {
          used.insert(child);
        } else {
          out.push_back({child, "missing in Talon's payload"});
        }
        continue;
      }
      if (omitted.count(child)) out.push_back({child, "listed as omitted, but Talon sends it"});
      compareShape(method, child, kv.value(), t.at(kv.key()), out, used);
    }
  } else if (recorded.is_array()) {
    const auto& r = recorded.get_array();
    const auto& t = talon.get_array();
    if (!r.empty() && !t.empty()) compareShape(method, path + "[]", r.front(), t.front(), out, used);
  }
}

json::value readJson(const std::filesystem::path& file) {
  auto text = readFile(file);
  EXPECT_TRUE(text) << file;
  if (!text) return nullptr;
  auto v = parseJson(*text);
  EXPECT_TRUE(v) << file;
  return v ? std::move(*v) : json::value(nullptr);
}

/// The recorded pairs: request file → (request, response), matched by id.
struct RecordedCall {
  std::string requestFile;
  std::string responseFile;
  json::object request;
  json::object response;
};

std::vector<RecordedCall> recordedCalls() {
  std::map<std::string, std::pair<std::string, json::object>> responses;  // id → (file, frame)
  std::vector<std::pair<std::string, json::object>> requests;
  for (const auto& entry : std::filesystem::directory_iterator(kWireDir)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".json")) continue;
    if (name.starts_with("res.")) {
      auto v = readJson(entry.path());
      if (v.is_object()) responses[std::string(v.at("id").as_string())] = {name, v.get_object()};
    } else if (name.starts_with("req.") && name != "req.connect.json") {
      auto v = readJson(entry.path());
      if (v.is_object()) requests.emplace_back(name, v.get_object());
    }
  }
  std::vector<RecordedCall> out;
  for (auto& [file, req] : requests) {
    RecordedCall c;
    c.requestFile = file;
    c.request = req;
    auto it = responses.find(std::string(req.at("id").as_string()));
    if (it != responses.end()) {
      c.responseFile = it->second.first;
      c.response = it->second.second;
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.requestFile < b.requestFile; });
  return out;
}

talon::testing::GatewayComponentsOptions components() {
  talon::testing::GatewayComponentsOptions o;
  o.configText = R"({ agents: { defaults: { model: { primary: "fake/model-1" } } } })";
  o.logLines = {R"({"time":"2026-11-21T12:20:19.742Z","level":"info","msg":"one"})",
                R"({"time":"2026-11-21T12:20:19.743Z","level":"info","msg":"two"})",
                R"({"time":"2026-11-21T12:20:19.744Z","level":"warn","msg":"three"})",
                R"({"time":"2026-11-21T12:20:19.745Z","level":"info","msg":"four"})"};
  return o;
}

TEST(WirePayloads, RegisteredMethodsAnswerWithOpenClawsShape) {
  talon::testing::GatewayComponents gw(components());
  ASSERT_TRUE(gw.ok());
  gw.presence.set(1, PresenceEntry{"cb0afaac-7a9d-4de0-9bbb-696625b64a8d", "laptop", "127.0.0.1", "fixture", "linux",
                                   "Linux", "cli", "connect", gw.clock->nowMs()});
  // A started scheduler with one job, so cron.list and cron.status have something to show.
  auto cron = automation::CronService::create(automation::CronServiceDeps{gw.clock,
                                                                          gw.executors.executors(),
                                                                          gw.store.get(),
                                                                          gw.runner.get(),
                                                                          nullptr,
                                                                          nullptr,
                                                                          &gw.healthRecords,
                                                                          &gw.metrics,
                                                                          &gw.bus,
                                                                          &gw.audit,
                                                                          {},
                                                                          "main"});
  ASSERT_TRUE(cron) << cron.error().toString();
  gw.cron = std::move(*cron);
  ASSERT_TRUE(gw.cron->start());
  auto job = parseJson(R"j({"name":"heartbeat-main","displayName":"Heartbeat (main)","agentId":"main",
      "schedule":{"kind":"every","everyMs":1800000,"anchorMs":578852},"sessionTarget":"main","wakeMode":"now",
      "payload":{
    "kind" : "systemEvent", "text" : "check in"}
})j");
  ASSERT_TRUE(job && gw.cron->add(job->as_object(), {}));
  talon::testing::MethodHarness harness(gw);
  ASSERT_TRUE(harness.ok());

  std::set<std::string> compared;
  std::map<std::string, std::set<std::string>> usedByMethod;
  for (const auto& c : recordedCalls()) {
    const std::string method(c.request.at("method").as_string());
    SCOPED_TRACE(c.requestFile + " → " + c.responseFile);
    if (!harness.registry().find(method)) continue;  // not implemented: recorded_frames_test covers it
    ASSERT_FALSE(c.responseFile.empty()) << "no recorded response: copy it from reference/openclaw-wire";
    ASSERT_TRUE(c.response.at("ok").as_bool()) << "only successful responses are compared";
    json::value params = c.request.contains("params") ? c.request.at("params") : json::value(nullptr);
    auto answer = harness.call(method, params);
    ASSERT_TRUE(answer.ok) << (answer.error ? answer.error->toString() : "");
    std::vector<Difference> differences;
    compareShape(method, "", c.response.at("payload"), answer.payload, differences, usedByMethod[method]);
    for (const auto& d : differences) ADD_FAILURE() << method << " payload" << d.path << ": " << d.what;
    compared.insert(method);
  }
  // The captures cover these methods; a capture that stops being compared is a failure, not a skip.
  EXPECT_EQ(compared, (std::set<std::string>{"agents.list", "channels.status", "config.get", "cron.list", "cron.status",
                                             "device.pair.list", "health", "last-heartbeat", "logs.tail", "models.list",
                                             "sessions.list", "status", "system-presence"}));
  // Every listed omission or type difference applied to some capture: none is left over from a key
  // OpenClaw no longer sends.
  for (const auto* lists : {&omittedKeys(), &typeDifferences()}) {
    for (const auto& [method, entries] : *lists) {
      for (const auto& [path, reason] : entries) {
        EXPECT_TRUE(usedByMethod[method].count(path)) << method << " payload" << path << " is listed but never applied";
      }
    }
  }
}

}  // namespace
}  // namespace talon::gateway::methods
