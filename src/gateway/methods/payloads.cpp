#include "gateway/methods/payloads.h"

#include "gateway/tools/tool_outcome.h"

namespace talon::gateway::methods {

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

json::object modelDefaults(const config::TalonConfig& config) {
  const auto& primary = config.agents.defaults.model.primary;
  auto slash = primary.find('/');
  return json::object{
      {"modelProvider", slash == std::string::npos ? json::value(nullptr) : json::value(primary.substr(0, slash))},
      {"model", slash == std::string::npos ? json::value(nullptr) : json::value(primary.substr(slash + 1))},
      {"contextTokens", nullptr}};
}

json::object transcriptMessage(const store::TranscriptEntry& e) {
  json::object m;
  if (e.role == store::TranscriptRole::kTool) {
    m["role"] = "toolResult";
    m["toolCallId"] = e.toolCallId;
    m["toolName"] = e.toolName;
    m["content"] = json::array{json::object{{"type", "text"}, {"text", e.content}}};
    m["isError"] = tools::decodeTranscriptMeta(e.toolCallsJson, e.content).isError;
  } else {
    m["role"] = store::transcriptRoleName(e.role);
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
    return json::serialize(json::object{
        {"runId", o.runId}, {"status", o.aborted ? "aborted" : "error"}, {"summary", o.error->publicMessage()}});
  }
  return json::serialize(json::object{
      {"runId", o.runId},
      {"status", "ok"},
      {"summary", "completed"},
      {"result", json::object{{"payloads", json::array{json::object{{"text", o.text}}}}, {"meta", std::move(meta)}}}});
}

json::object channelAccountSnapshot(const channels::AccountStatus& a) {
  auto timeOrNull = [](int64_t ms) { return ms > 0 ? json::value(ms) : json::value(nullptr); };
  const bool connected = a.running && (a.channel.state == channels::ChannelHealth::State::kConnected ||
                                       a.channel.state == channels::ChannelHealth::State::kDegraded);
  json::object o{{"accountId", a.accountId},
                 {"enabled", a.enabled},
                 {"configured", a.configured},
                 {"running", a.running},
                 {"connected", connected},
                 {"reconnectAttempts", a.reconnects},
                 {"lastError", a.lastError.empty() ? json::value(nullptr) : json::value(a.lastError)},
                 {"lastErrorAt", timeOrNull(a.lastErrorAtMs)},
                 {"healthState", a.health.healthState},
                 {"lastStartAt", timeOrNull(a.lastStartAtMs)},
                 {"lastConnectedAt", connected ? json::value(a.channel.sinceMs) : json::value(nullptr)},
                 {"lastInboundAt", timeOrNull(a.lastInboundAtMs)},
                 {"lastOutboundAt", timeOrNull(a.channel.lastOutboundAtMs)},
                 {"state", channels::channelStateName(a.channel.state)},
                 {"received", a.channel.received},
                 {"sent", a.channel.sent},
                 {"sendFailures", a.channel.sendFailures},
                 {"health", json::object{{"transport", channels::dimensionHealthName(a.health.transport)},
                                         {"application", channels::dimensionHealthName(a.health.application)},
                                         {"functional", channels::dimensionHealthName(a.health.functional)},
                                         {"muted", a.health.muted},
                                         {"degradedSince", timeOrNull(a.health.degradedSinceMs)},
                                         {"suggestedAction", a.health.suggestedAction},
                                         {"recoveryAttempts", a.recoveryAttempts},
                                         {"escalated", a.escalated}}}};
  if (!a.name.empty()) o["name"] = a.name;
  if (a.lastProbe) {
    json::object probe{{"ok", a.lastProbe->ok}, {"elapsedMs", a.lastProbe->elapsedMs}};
    if (!a.lastProbe->ok) probe["error"] = a.lastProbe->error;
    o["probe"] = std::move(probe);
    o["lastProbeAt"] = a.lastProbe->atMs;
  }
  return o;
}

}  // namespace talon::gateway::methods
