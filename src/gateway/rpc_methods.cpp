#include "gateway/rpc_methods.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>
#include <set>

#include "base/file_io.h"
#include "base/ids.h"
#include "base/log.h"
#include "gateway/routing/session_key.h"
#include "gateway/tools/tool_outcome.h"
#include "protocol/errors.h"

namespace talon::gateway {
namespace {

/// The kind of a param, for validation messages.
enum class ParamType { kString, kNonEmptyString, kInteger, kBoolean, kObject, kArray, kAny };

struct ParamSpec {
  std::string_view name;
  ParamType type;
  bool required = false;
  /// An OpenClaw param Talon accepts but does not act on yet: a request that sets it is refused with a
  /// clear error instead of being silently ignored.
  bool unsupported = false;
};

Error invalidParams(std::string_view method, const std::string& detail) {
  std::string msg = "invalid " + std::string(method) + " params: " + detail;
  return Error(ErrorCode::kInvalidArgument, msg, msg);
}

bool hasType(const json::value& v, ParamType t) {
  switch (t) {
    case ParamType::kString:
      return v.is_string();
    case ParamType::kNonEmptyString:
      return v.is_string() && !v.get_string().empty();
    case ParamType::kInteger:
      return v.is_int64() || v.is_uint64() || (v.is_double() && v.get_double() == static_cast<int64_t>(v.get_double()));
    case ParamType::kBoolean:
      return v.is_bool();
    case ParamType::kObject:
      return v.is_object();
    case ParamType::kArray:
      return v.is_array();
    case ParamType::kAny:
      return true;
  }
  return false;
}

std::string_view typeName(ParamType t) {
  switch (t) {
    case ParamType::kString:
      return "string";
    case ParamType::kNonEmptyString:
      return "non-empty string";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kBoolean:
      return "boolean";
    case ParamType::kObject:
      return "object";
    case ParamType::kArray:
      return "array";
    case ParamType::kAny:
      return "any";
  }
  return "any";
}

/// Validates `params` (null/absent = {}) as a closed object of `specs`, OpenClaw-style messages.
Result<json::object> readParams(std::string_view method, const json::value& params,
                                std::initializer_list<ParamSpec> specs) {
  if (params.is_null()) {
    for (const auto& s : specs) {
      if (s.required) return fail(invalidParams(method, "must have required property '" + std::string(s.name) + "'"));
    }
    return json::object{};
  }
  if (!params.is_object()) return fail(invalidParams(method, "must be object"));
  const auto& o = params.get_object();
  for (const auto& kv : o) {
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == kv.key()) spec = &s;
    }
    if (!spec) return fail(invalidParams(method, "at root: unexpected property '" + std::string(kv.key()) + "'"));
    if (spec->unsupported && !kv.value().is_null()) {
      std::string msg = std::string(method) + " param '" + std::string(kv.key()) + "' is not supported by Talon yet";
      return fail(ErrorCode::kInvalidArgument, msg, msg);
    }
    if (!hasType(kv.value(), spec->type)) {
      return fail(
          invalidParams(method, "at /" + std::string(kv.key()) + ": must be " + std::string(typeName(spec->type))));
    }
  }
  for (const auto& s : specs) {
    if (s.required && !o.contains(s.name)) {
      return fail(invalidParams(method, "must have required property '" + std::string(s.name) + "'"));
    }
  }
  return o;
}

int64_t intParam(const json::object& o, std::string_view key, int64_t fallback) {
  return getInt(o, key).value_or(fallback);
}

json::object sessionRow(const store::SessionRecord& s, int64_t now) {
  auto slash = s.model.find('/');
  return json::object{{"key", s.sessionKey},
                      {"agentId", s.agentId},
                      {"sessionId", s.sessionId},
                      {"kind", "direct"},
                      {"channel", s.channel},
                      {"label", s.label.empty() ? json::value(nullptr) : json::value(s.label)},
                      {"createdAt", s.createdAtMs},
                      {"updatedAt", s.updatedAtMs},
                      {"ageMs", now - s.updatedAtMs},
                      {"modelProvider", slash == std::string::npos ? std::string() : s.model.substr(0, slash)},
                      {"model", slash == std::string::npos ? s.model : s.model.substr(slash + 1)},
                      {"messageCount", s.messageCount},
                      {"inputTokens", s.inputTokens},
                      {"outputTokens", s.outputTokens},
                      {"totalTokens", s.inputTokens + s.outputTokens},
                      {"lastRunId", s.lastRunId}};
}

json::object modelDefaults(const GatewayContext& ctx) {
  const auto& primary = ctx.config->config.agents.defaults.model.primary;
  auto slash = primary.find('/');
  return json::object{
      {"modelProvider", slash == std::string::npos ? json::value(nullptr) : json::value(primary.substr(0, slash))},
      {"model", slash == std::string::npos ? json::value(nullptr) : json::value(primary.substr(slash + 1))},
      {"contextTokens", nullptr}};
}

json::object agentRow(const AgentProfile& a) {
  json::object row{{"id", a.id}, {"workspace", a.workspace.string()}, {"workspaceGit", false}};
  if (!a.name.empty()) row["name"] = a.name;
  row["model"] = a.model.empty() ? json::value(nullptr) : json::value(json::object{{"primary", a.model}});
  return row;
}

std::string ownershipName(const GatewayContext& ctx) {
  if (ctx.roster.explicitOwnership()) return "explicit";
  return "sole";
}

/// OpenClaw transcript message shape (pi-agent messages): content blocks, tool calls and results.
json::object transcriptMessage(const store::TranscriptEntry& e) {
  json::object m;
  if (e.role == "tool") {
    m["role"] = "toolResult";
    m["toolCallId"] = e.toolCallId;
    m["toolName"] = e.toolName;
    m["content"] = json::array{json::object{{"type", "text"}, {"text", e.content}}};
    m["isError"] = tools::decodeTranscriptMeta(e.toolCallsJson, e.content).isError;
  } else {
    m["role"] = e.role;
    json::array content;
    if (!e.content.empty()) content.push_back(json::object{{"type", "text"}, {"text", e.content}});
    if (!e.toolCallsJson.empty()) {
      auto calls = parseJson(e.toolCallsJson);
      if (calls && calls->is_array()) {
        for (const auto& c : calls->get_array()) {
          const auto& co = c.as_object();
          json::value args = co.contains("arguments") ? co.at("arguments") : json::value(nullptr);
          if (args.is_string()) {
            auto parsed = parseJson(args.get_string());
            if (parsed) args = std::move(*parsed);
          }
          content.push_back(json::object{{"type", "toolCall"},
                                         {"id", co.contains("id") ? co.at("id") : ""},
                                         {"name", co.contains("name") ? co.at("name") : ""},
                                         {"arguments", args}});
        }
      }
    }
    m["content"] = std::move(content);
  }
  m["timestamp"] = e.ts;
  m["seq"] = e.seq;
  if (!e.runId.empty()) m["runId"] = e.runId;
  return m;
}

std::string outcomePayload(const TurnOutcome& o) {
  json::object meta{
      {"durationMs", o.durationMs},
      {"agentMeta", json::object{{"sessionId", o.sessionId},
                                 {"provider", o.providerId},
                                 {"model", o.model},
                                 {"usage", json::object{{"input", o.usage.inputTokens},
                                                        {"output", o.usage.outputTokens},
                                                        {"total", o.usage.inputTokens + o.usage.outputTokens}}}}},
      {"stopReason", o.stopReason}};
  if (o.error) {
    return json::serialize(
        json::object{{"runId", o.runId}, {"status", "error"}, {"summary", o.error->publicMessage()}});
  }
  return json::serialize(json::object{
      {"runId", o.runId},
      {"status", "ok"},
      {"summary", "completed"},
      {"result", json::object{{"payloads", json::array{json::object{{"text", o.text}}}}, {"meta", std::move(meta)}}}});
}

// ---- method handlers ---------------------------------------------------------------------------------

void handleHealth(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("health", f.params, {{"probe", ParamType::kBoolean}});
  if (!p) return r->respondError(f.id, p.error());
  if (getBool(*p, "probe").value_or(false)) {
    // A probe asks for a fresh snapshot rather than the cached one.
    ctx.executors.blocking([&ctx, id = f.id, r] {
      auto payload = buildHealthPayload(ctx);
      ctx.health.set(payload);
      r->respondOk(id, payload);
    });
    return;
  }
  auto cached = ctx.health.get();
  r->respondOk(f.id, *cached);
}

void handleStatus(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("status", f.params,
                      {{"includeChannelSummary", ParamType::kBoolean}, {"includeCliProjection", ParamType::kBoolean}});
  if (!p) return r->respondError(f.id, p.error());
  bool cliProjection = getBool(*p, "includeCliProjection").value_or(false);
  ctx.executors.blocking([&ctx, id = f.id, r, cliProjection] {
    auto now = ctx.clock->nowMs();
    auto page = ctx.store->listSessions(store::SessionQuery{std::nullopt, 10, 0});
    if (!page) return r->respondError(id, page.error());
    json::array recent;
    for (const auto& s : page->sessions) recent.push_back(sessionRow(s, now));
    json::array byAgent;
    for (const auto& a : ctx.runner->agents()) {
      auto agentPage = ctx.store->listSessions(store::SessionQuery{a.id, 5, 0});
      json::array agentRecent;
      int64_t count = 0;
      if (agentPage) {
        count = agentPage->totalCount;
        for (const auto& s : agentPage->sessions) agentRecent.push_back(sessionRow(s, now));
      }
      byAgent.push_back(
          json::object{{"agentId", a.id}, {"path", ctx.store->location()}, {"count", count}, {"recent", agentRecent}});
    }
    auto stats = ctx.runner->stats();
    long pageSize = sysconf(_SC_PAGESIZE);
    long rssPages = 0;
    {
      std::ifstream statm("/proc/self/statm");
      long size = 0;
      statm >> size >> rssPages;
    }
    json::object payload{
        {"runtimeVersion", ctx.version},
        {"heartbeat", json::object{{"defaultAgentId", ctx.defaultAgentId}, {"agents", json::array{}}}},
        {"channelSummary", json::array{}},
        {"queuedSystemEvents", json::array{}},
        {"degradedSecretOwners", json::array{}},
        {"degradedPlugins", json::array{}},
        {"tasks", json::object{{"total", stats.running + stats.queued + stats.completed + stats.failed},
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
        {"sessions", json::object{{"paths", json::array{json::value(ctx.store->location())}},
                                  {"count", page->totalCount},
                                  {"defaults", modelDefaults(ctx)},
                                  {"recent", recent},
                                  {"byAgent", byAgent}}},
        {"modelRuntime", json::object{{"degraded", false}, {"pendingAgents", json::array{}}}},
        {"processMemory", json::object{{"rssBytes", static_cast<int64_t>(rssPages) * pageSize}}},
        {"pid", static_cast<int64_t>(getpid())},
        {"uptimeMs", now - ctx.startedAtMs}};
    if (cliProjection) {
      json::array rows;
      for (const auto& a : ctx.runner->agents()) rows.push_back(json::object{{"id", a.id}});
      payload["cliProjection"] = json::object{
          {"agents", json::object{{"defaultId",
                                   ctx.defaultAgentId.empty() ? json::value(nullptr) : json::value(ctx.defaultAgentId)},
                                  {"ownership", ownershipName(ctx)},
                                  {"selectionRequired", ctx.defaultAgentId.empty()},
                                  {"rows", rows}}},
          {"updateChannel", nullptr},
          {"memoryPlugin", json::object{{"enabled", false}}}};
    }
    r->respondOk(id, json::serialize(payload));
  });
}

void handleSystemPresence(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("system-presence", f.params, {});
  if (!p) return r->respondError(f.id, p.error());
  auto now = ctx.clock->nowMs();
  json::array list;
  list.push_back(
      json::object{{"host", ctx.host},
                   {"version", ctx.version},
                   {"platform", "linux"},
                   {"deviceFamily", "Linux"},
                   {"mode", "gateway"},
                   {"reason", "self"},
                   {"instanceId", ctx.instanceId},
                   {"text", "Gateway: " + ctx.host + " · talon " + ctx.version + " · mode gateway · reason self"},
                   {"ts", now}});
  {
    std::lock_guard lock(ctx.presenceMu);
    for (const auto& [id, e] : ctx.presence) {
      json::object o{
          {"host", e.host},     {"ip", e.ip}, {"version", e.version}, {"platform", e.platform}, {"mode", e.mode},
          {"reason", e.reason}, {"ts", e.ts}};
      if (!e.instanceId.empty()) o["instanceId"] = e.instanceId;
      if (!e.deviceFamily.empty()) o["deviceFamily"] = e.deviceFamily;
      o["text"] = "Client: " + e.host + " · " + e.version + " · mode " + e.mode + " · reason " + e.reason;
      list.push_back(std::move(o));
    }
  }
  r->respondOk(f.id, json::serialize(list));
}

void handleAgentsList(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("agents.list", f.params, {});
  if (!p) return r->respondError(f.id, p.error());
  json::array agents;
  for (const auto& a : ctx.runner->agents()) agents.push_back(agentRow(a));
  json::object payload{
      {"defaultId", ctx.defaultAgentId.empty() ? json::value(nullptr) : json::value(ctx.defaultAgentId)},
      {"ownership", ownershipName(ctx)},
      {"selectionRequired", ctx.defaultAgentId.empty()},
      {"mainKey", "main"},
      {"scope", ctx.config->config.session.dmScope == "main" ? "per-sender" : ctx.config->config.session.dmScope},
      {"agents", agents}};
  r->respondOk(f.id, json::serialize(payload));
}

void handleSessionsList(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("sessions.list", f.params,
                      {{"limit", ParamType::kInteger},
                       {"offset", ParamType::kInteger},
                       {"agentId", ParamType::kNonEmptyString},
                       {"includeGlobal", ParamType::kBoolean},
                       {"includeUnknown", ParamType::kBoolean},
                       {"activeMinutes", ParamType::kInteger, false, true},
                       {"search", ParamType::kString, false, true},
                       {"label", ParamType::kString, false, true},
                       {"spawnedBy", ParamType::kString, false, true}});
  if (!p) return r->respondError(f.id, p.error());
  store::SessionQuery q;
  q.limit = std::clamp<int64_t>(intParam(*p, "limit", 100), 1, 1000);
  q.offset = std::max<int64_t>(intParam(*p, "offset", 0), 0);
  if (auto a = getString(*p, "agentId")) q.agentId = std::string(*a);
  ctx.executors.blocking([&ctx, id = f.id, r, q] {
    auto page = ctx.store->listSessions(q);
    if (!page) return r->respondError(id, page.error());
    auto now = ctx.clock->nowMs();
    json::array sessions;
    for (const auto& s : page->sessions) sessions.push_back(sessionRow(s, now));
    int64_t next = q.offset + static_cast<int64_t>(page->sessions.size());
    bool hasMore = next < page->totalCount;
    json::object payload{{"ts", now},
                         {"path", ctx.store->location()},
                         {"count", static_cast<int64_t>(page->sessions.size())},
                         {"totalCount", page->totalCount},
                         {"limitApplied", q.limit},
                         {"nextOffset", hasMore ? json::value(next) : json::value(nullptr)},
                         {"hasMore", hasMore},
                         {"owners", json::array{}},
                         {"defaults", modelDefaults(ctx)},
                         {"sessions", sessions}};
    r->respondOk(id, json::serialize(payload));
  });
}

void handleChatHistory(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("chat.history", f.params,
                      {{"sessionKey", ParamType::kNonEmptyString, true},
                       {"agentId", ParamType::kNonEmptyString},
                       {"limit", ParamType::kInteger},
                       {"maxChars", ParamType::kInteger},
                       {"sessionId", ParamType::kNonEmptyString},
                       {"cursor", ParamType::kString, false, true},
                       {"offset", ParamType::kInteger, false, true},
                       {"maxBytes", ParamType::kInteger},
                       {"pendingBefore", ParamType::kInteger, false, true},
                       {"inputRunIds", ParamType::kArray, false, true},
                       {"messageId", ParamType::kNonEmptyString, false, true}});
  if (!p) return r->respondError(f.id, p.error());
  auto agentId = getString(*p, "agentId");
  auto resolved = resolveClientSession(ctx, *getString(*p, "sessionKey"), agentId);
  if (!resolved) return r->respondError(f.id, resolved.error());
  int64_t limit = std::clamp<int64_t>(intParam(*p, "limit", 200), 1, 1000);
  r->subscribeSession(resolved->second);
  ctx.executors.blocking([&ctx, id = f.id, r, key = resolved->second, limit] {
    auto session = ctx.store->getSession(key);
    if (!session) return r->respondError(id, session.error());
    auto entries = ctx.store->transcript(key, limit);
    if (!entries) return r->respondError(id, entries.error());
    json::array messages;
    for (const auto& e : *entries) messages.push_back(transcriptMessage(e));
    int64_t total = *session ? (*session)->messageCount : 0;
    json::object payload{{"sessionKey", key},
                         {"sessionId", *session ? json::value((*session)->sessionId) : json::value(nullptr)},
                         {"messages", messages},
                         {"pendingInputs", json::array{}},
                         {"totalMessages", total},
                         {"hasMore", total > static_cast<int64_t>(messages.size())},
                         {"defaults", modelDefaults(ctx)}};
    r->respondOk(id, json::serialize(payload));
  });
}

TurnOutcome failedOutcome(const std::string& runId, const std::string& sessionKey, const std::string& agentId,
                          Error e) {
  TurnOutcome o;
  o.runId = runId;
  o.sessionKey = sessionKey;
  o.agentId = agentId;
  o.error = std::move(e);
  return o;
}

/// Starts a run for chat.send / agent, or answers from the idempotency cache. `onAccepted` sends the
/// first answer; `onOutcome` (optional) runs when the run completes.
void startRun(GatewayContext& ctx, const std::string& requestId, const RpcResponderPtr& r, TurnRequest turn,
              std::function<void(const TrackedRun&)> onAccepted, std::function<void(const TurnOutcome&)> onOutcome,
              std::function<void(const TrackedRun&)> onDuplicate) {
  TrackedRun tracked{turn.runId, turn.sessionKey, turn.agentId, false, {}};
  if (auto existing = ctx.runs.claim(turn.idempotencyKey, tracked)) {
    onDuplicate(*existing);
    return;
  }
  // Not in memory: the key may belong to a run of an earlier process.
  ctx.executors.blocking([&ctx, requestId, r, turn = std::move(turn), tracked, onAccepted = std::move(onAccepted),
                          onOutcome = std::move(onOutcome), onDuplicate = std::move(onDuplicate)]() mutable {
    auto previous = ctx.store->findRunByIdempotencyKey(turn.idempotencyKey);
    if (!previous) {
      ctx.runs.complete(turn.idempotencyKey,
                        failedOutcome(turn.runId, turn.sessionKey, turn.agentId, previous.error()));
      return r->respondError(requestId, previous.error());
    }
    if (*previous) {
      const auto& run = **previous;
      TrackedRun old{run.runId, run.sessionKey, run.agentId, run.status != "running", {}};
      old.outcome.runId = run.runId;
      old.outcome.sessionKey = run.sessionKey;
      old.outcome.agentId = run.agentId;
      old.outcome.text = run.finalText;
      if (run.status != "ok") {
        old.outcome.error =
            Error(ErrorCode::kUnavailable, run.errorMessage.empty() ? "run did not complete" : run.errorMessage);
      }
      ctx.runs.complete(turn.idempotencyKey, old.outcome);
      onDuplicate(old);
      return;
    }
    auto key = turn.idempotencyKey;
    turn.onDone = [&ctx, key, onOutcome = std::move(onOutcome)](const TurnOutcome& outcome) {
      ctx.runs.complete(key, outcome);
      if (onOutcome) onOutcome(outcome);
    };
    auto submitted = ctx.runner->submit(std::move(turn));
    if (!submitted) {
      ctx.runs.complete(key, failedOutcome(tracked.runId, tracked.sessionKey, tracked.agentId, submitted.error()));
      return r->respondError(requestId, submitted.error());
    }
    onAccepted(tracked);
  });
}

/// The error for `deliver: true`: channel delivery does not exist in Talon yet.
Error deliveryUnsupported(std::string_view method) {
  std::string msg = std::string(method) + " deliver:true (channel delivery) is not supported by Talon yet";
  return Error(ErrorCode::kInvalidArgument, msg, msg);
}

/// The turn of a chat.send / agent request: its session resolved, the idempotencyKey as runId.
Result<TurnRequest> buildTurn(GatewayContext& ctx, std::string_view sessionKey, std::optional<std::string_view> agentId,
                              const json::object& params, std::string_view channelParam,
                              std::chrono::milliseconds timeout) {
  auto resolved = resolveClientSession(ctx, sessionKey, agentId);
  if (!resolved) return fail(resolved.error());
  TurnRequest turn;
  turn.runId = std::string(*getString(params, "idempotencyKey"));
  turn.idempotencyKey = turn.runId;
  turn.agentId = resolved->first;
  turn.sessionKey = resolved->second;
  turn.message = std::string(*getString(params, "message"));
  turn.channel = std::string(getString(params, channelParam).value_or("webchat"));
  turn.timeout = timeout;
  return turn;
}

void handleChatSend(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("chat.send", f.params,
                      {{"sessionKey", ParamType::kNonEmptyString, true},
                       {"message", ParamType::kString, true},
                       {"idempotencyKey", ParamType::kNonEmptyString, true},
                       {"agentId", ParamType::kNonEmptyString},
                       {"sessionId", ParamType::kNonEmptyString, false, true},
                       {"timeoutMs", ParamType::kInteger},
                       {"deliver", ParamType::kBoolean},
                       {"thinking", ParamType::kString, false, true},
                       {"originatingChannel", ParamType::kString},
                       {"attachments", ParamType::kArray, false, true},
                       {"queueMode", ParamType::kString, false, true},
                       {"mentions", ParamType::kAny, false, true},
                       {"workContext", ParamType::kAny, false, true},
                       {"intent", ParamType::kAny, false, true},
                       {"fastMode", ParamType::kAny, false, true},
                       {"toolBindings", ParamType::kAny, false, true},
                       {"replyToId", ParamType::kNonEmptyString, false, true}});
  if (!p) return r->respondError(f.id, p.error());
  if (getBool(*p, "deliver").value_or(false)) return r->respondError(f.id, deliveryUnsupported("chat.send"));
  auto turn = buildTurn(ctx, *getString(*p, "sessionKey"), getString(*p, "agentId"), *p, "originatingChannel",
                        std::chrono::milliseconds(intParam(*p, "timeoutMs", 0)));
  if (!turn) return r->respondError(f.id, turn.error());
  r->subscribeSession(turn->sessionKey);
  auto id = f.id;
  startRun(
      ctx, id, r, std::move(*turn),
      [r, id](const TrackedRun& run) {
        r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "started"}}));
      },
      nullptr,
      [r, id](const TrackedRun& run) {
        if (!run.done) {
          return r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "in_flight"}}));
        }
        if (run.outcome.error) {
          auto payload = json::serialize(
              json::object{{"runId", run.runId}, {"status", "error"}, {"summary", run.outcome.error->publicMessage()}});
          return r->respondError(id, *run.outcome.error, payload);
        }
        r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "ok"}}));
      });
}

void handleAgent(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("agent", f.params,
                      {{"message", ParamType::kNonEmptyString, true},
                       {"idempotencyKey", ParamType::kNonEmptyString, true},
                       {"agentId", ParamType::kNonEmptyString},
                       {"sessionKey", ParamType::kString},
                       {"sessionId", ParamType::kString, false, true},
                       {"timeout", ParamType::kInteger},
                       {"deliver", ParamType::kBoolean},
                       {"thinking", ParamType::kString, false, true},
                       {"label", ParamType::kString, false, true},
                       {"channel", ParamType::kString},
                       {"bestEffortDeliver", ParamType::kBoolean, false, true},
                       {"lane", ParamType::kString, false, true},
                       {"provider", ParamType::kString, false, true},
                       {"model", ParamType::kString, false, true},
                       {"to", ParamType::kString, false, true},
                       {"replyTo", ParamType::kString, false, true},
                       {"attachments", ParamType::kArray, false, true},
                       {"extraSystemPrompt", ParamType::kString, false, true},
                       {"cwd", ParamType::kNonEmptyString, false, true}});
  if (!p) return r->respondError(f.id, p.error());
  if (getBool(*p, "deliver").value_or(false)) return r->respondError(f.id, deliveryUnsupported("agent"));
  std::string sessionKey(getString(*p, "sessionKey").value_or(""));
  if (sessionKey.empty()) sessionKey = "main";
  // OpenClaw's `timeout` is in seconds.
  auto turn = buildTurn(ctx, sessionKey, getString(*p, "agentId"), *p, "channel",
                        std::chrono::milliseconds(intParam(*p, "timeout", 0) * 1000));
  if (!turn) return r->respondError(f.id, turn.error());
  r->subscribeSession(turn->sessionKey);
  auto id = f.id;
  auto now = ctx.clock->nowMs();
  auto sendFinal = [r, id](const TurnOutcome& o) {
    auto payload = outcomePayload(o);
    if (o.error) return r->respondError(id, *o.error, payload);
    r->respondOk(id, payload);
  };
  startRun(
      ctx, id, r, std::move(*turn),
      [r, id, now](const TrackedRun& run) {
        r->respondOk(id, json::serialize(json::object{{"runId", run.runId},
                                                      {"sessionKey", run.sessionKey},
                                                      {"agentId", run.agentId},
                                                      {"status", "accepted"},
                                                      {"acceptedAt", now}}));
      },
      sendFinal,
      [&ctx, r, id, sendFinal](const TrackedRun& run) {
        if (run.done) return sendFinal(run.outcome);
        r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "accepted"}}));
        if (!ctx.runs.waitFor(run.runId, sendFinal)) {
          r->respondError(id, Error(ErrorCode::kNotFound, "run not tracked", "run is no longer tracked"));
        }
      });
}

void handleConfigGet(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("config.get", f.params, {});
  if (!p) return r->respondError(f.id, p.error());
  const auto& c = *ctx.config;
  json::value raw = c.exists ? json::value(toPrettyJson(c.redacted)) : json::value(nullptr);
  json::object payload{{"path", c.path},
                       {"exists", c.exists},
                       {"raw", raw},
                       {"parsed", c.redacted},
                       {"sourceConfig", c.redacted},
                       {"resolved", c.redacted},
                       {"runtimeConfig", c.redacted},
                       {"config", c.redacted},
                       {"valid", true},
                       {"hash", c.hash},
                       {"configRevisionHash", c.hash},
                       {"appliedConfigHash", c.hash},
                       {"issues", json::array{}},
                       {"warnings", c.warnings},
                       {"legacyIssues", json::array{}}};
  r->respondOk(f.id, json::serialize(payload));
}

void handleModelsList(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p = readParams("models.list", f.params,
                      {{"view", ParamType::kString},
                       {"includeDetails", ParamType::kBoolean},
                       {"provider", ParamType::kString},
                       {"agentId", ParamType::kString},
                       {"sessionKey", ParamType::kString}});
  if (!p) return r->respondError(f.id, p.error());
  auto providerFilter = getString(*p, "provider");
  json::array models;
  for (const auto& prov : ctx.config->config.providers) {
    if (providerFilter && *providerFilter != prov.id) continue;
    for (const auto& m : prov.models) {
      json::object row{
          {"id", m.id}, {"name", m.name.empty() ? m.id : m.name}, {"provider", prov.id}, {"api", prov.api}};
      if (m.contextWindow) row["contextWindow"] = *m.contextWindow;
      if (m.maxTokens) row["maxTokens"] = *m.maxTokens;
      row["available"] = prov.apiKeyUnavailable.empty();
      models.push_back(std::move(row));
    }
  }
  r->respondOk(f.id, json::serialize(json::object{{"models", models}}));
}

void handleLogsTail(GatewayContext& ctx, const protocol::RequestFrame& f, const RpcResponderPtr& r) {
  auto p =
      readParams("logs.tail", f.params,
                 {{"cursor", ParamType::kInteger}, {"limit", ParamType::kInteger}, {"maxBytes", ParamType::kInteger}});
  if (!p) return r->respondError(f.id, p.error());
  int64_t limit = std::clamp<int64_t>(intParam(*p, "limit", 200), 1, 5000);
  int64_t maxBytes = std::clamp<int64_t>(intParam(*p, "maxBytes", 250000), 1, 1'000'000);
  std::optional<int64_t> cursor = getInt(*p, "cursor");
  ctx.executors.blocking([id = f.id, r, limit, maxBytes, cursor] {
    auto path = logFilePath();
    if (!path) {
      return r->respondOk(
          id, json::serialize(json::object{{"file", nullptr}, {"cursor", 0}, {"size", 0}, {"lines", json::array{}}}));
    }
    std::ifstream in(*path, std::ios::binary);
    in.seekg(0, std::ios::end);
    int64_t size = in ? static_cast<int64_t>(in.tellg()) : 0;
    bool reset = cursor && *cursor > size;  // the file was rotated or truncated
    int64_t start = (cursor && !reset) ? *cursor : std::max<int64_t>(0, size - maxBytes);
    bool truncated = false;
    if (size - start > maxBytes) {
      start = size - maxBytes;
      truncated = true;
    }
    std::string data(static_cast<std::size_t>(size - start), '\0');
    in.seekg(start);
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<std::size_t>(in.gcount()));
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    bool partialFirst = start > 0 && !cursor;
    while (pos < data.size()) {
      auto nl = data.find('\n', pos);
      if (nl == std::string::npos) break;  // an incomplete last line waits for the next call
      std::string_view line(data.data() + pos, nl - pos);
      if (!partialFirst && !line.empty()) lines.push_back(line);
      partialFirst = false;
      pos = nl + 1;
    }
    int64_t newCursor = start + static_cast<int64_t>(pos);
    if (lines.size() > static_cast<std::size_t>(limit)) {
      lines.erase(lines.begin(), lines.end() - limit);
      truncated = true;
    }
    json::array arr;
    for (auto l : lines) arr.push_back(json::string(l));
    json::object payload{{"file", path->string()}, {"cursor", newCursor}, {"size", size}, {"lines", arr}};
    if (truncated) payload["truncated"] = true;
    if (reset) payload["reset"] = true;
    r->respondOk(id, json::serialize(payload));
  });
}

using Handler = void (*)(GatewayContext&, const protocol::RequestFrame&, const RpcResponderPtr&);

struct HandlerRow {
  std::string_view method;
  Handler handler;
};

constexpr HandlerRow kHandlers[] = {
    {"health", handleHealth},
    {"status", handleStatus},
    {"system-presence", handleSystemPresence},
    {"agents.list", handleAgentsList},
    {"sessions.list", handleSessionsList},
    {"chat.send", handleChatSend},
    {"chat.history", handleChatHistory},
    {"agent", handleAgent},
    {"config.get", handleConfigGet},
    {"models.list", handleModelsList},
    {"logs.tail", handleLogsTail},
};

}  // namespace

Result<std::pair<std::string, std::string>> resolveClientSession(GatewayContext& ctx, std::string_view sessionKey,
                                                                 std::optional<std::string_view> agentId) {
  auto parsed = routing::parseSessionKey(sessionKey, ctx.roster, agentId);
  if (!parsed) return fail(parsed.error());
  return std::make_pair(parsed->agentId, parsed->sessionKey);
}

void dispatchRpc(GatewayContext& ctx, protocol::RequestFrame frame, const RpcResponderPtr& responder) {
  for (const auto& row : kHandlers) {
    if (row.method == frame.method) {
      row.handler(ctx, frame, responder);
      return;
    }
  }
  // authorize() admitted a method marked implemented in the protocol table that has no handler here.
  spdlog::error("method {} is marked implemented but has no handler", frame.method);
  responder->respondError(frame.id, Error(ErrorCode::kInternal, "no handler for " + frame.method));
}

std::string buildHealthPayload(GatewayContext& ctx) {
  auto started = ctx.clock->steadyNow();
  auto now = ctx.clock->nowMs();
  json::array agents;
  int64_t total = 0;
  json::array recentAll;
  auto all = ctx.store->listSessions(store::SessionQuery{std::nullopt, 5, 0});
  if (all) {
    total = all->totalCount;
    for (const auto& s : all->sessions) {
      recentAll.push_back(
          json::object{{"key", s.sessionKey}, {"updatedAt", s.updatedAtMs}, {"age", now - s.updatedAtMs}});
    }
  } else {
    spdlog::warn("health: cannot count sessions: {}", all.error().toString());
  }
  for (const auto& a : ctx.runner->agents()) {
    auto page = ctx.store->listSessions(store::SessionQuery{a.id, 5, 0});
    json::array recent;
    int64_t count = 0;
    if (page) {
      count = page->totalCount;
      for (const auto& s : page->sessions) {
        recent.push_back(
            json::object{{"key", s.sessionKey}, {"updatedAt", s.updatedAtMs}, {"age", now - s.updatedAtMs}});
      }
    }
    agents.push_back(json::object{
        {"agentId", a.id},
        {"isDefault", a.id == ctx.defaultAgentId},
        {"heartbeat", json::object{{"enabled", false}}},
        {"sessions", json::object{{"path", ctx.store->location()}, {"count", count}, {"recent", recent}}}});
  }
  auto durationMs = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock->steadyNow() - started).count();
  json::object payload{
      {"ok", all.has_value()},
      {"ts", now},
      {"durationMs", durationMs},
      {"plugins", json::object{{"loaded", json::array{}}, {"errors", json::array{}}, {"unavailable", json::array{}}}},
      {"configReload", json::object{{"hotReloadStatus", "off"}}},
      {"channels", json::object{}},
      {"channelOrder", json::array{}},
      {"channelLabels", json::object{}},
      {"heartbeatSeconds", 0},
      {"defaultAgentId", ctx.defaultAgentId},
      {"agents", agents},
      {"sessions", json::object{{"path", ctx.store->location()}, {"count", total}, {"recent", recentAll}}},
      {"modelRuntime", json::object{{"degraded", false}, {"pendingAgents", json::array{}}}}};
  return json::serialize(payload);
}

}  // namespace talon::gateway
