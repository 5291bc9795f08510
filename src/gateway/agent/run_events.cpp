#include "gateway/agent/run_events.h"

#include <optional>

#include "protocol/frames.h"

namespace talon::gateway {
namespace {
std::string_view errorKind(ErrorCode code) {
  switch (code) {
    case ErrorCode::kDeadlineExceeded:
      return "timeout";
    case ErrorCode::kResourceExhausted:
      return "rate_limit";
    default:
      return "unknown";
  }
}
}  // namespace

namespace {
/// Appends `,"key":value` for each member of `o` (serialized, in order).
void appendMembers(std::string& out, const json::object& o) {
  for (const auto& kv : o) {
    out += ',';
    protocol::appendJsonString(out, std::string_view(kv.key().data(), kv.key().size()));
    out += ':';
    out += json::serialize(kv.value());
  }
}

/// Appends `,"key":` (`key` is a literal that needs no escaping).
void appendKey(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

/// Appends the assistant message of a chat event: {role: "assistant", content: [{type: "text", text}],
/// timestamp?} (OpenClaw's chat message shape).
void appendAssistantMessage(std::string& out, std::string_view text, std::optional<int64_t> ts) {
  out += R"({"role":"assistant","content":[{"type":"text","text":)";
  protocol::appendJsonString(out, text);
  out += "}]";
  if (ts) {
    out += R"(,"timestamp":)";
    out += std::to_string(*ts);
  }
  out += '}';
}
}  // namespace

// Events are written as text: they are built several times per turn, and a json::object per event
// (its members hashed and copied, then serialized and freed) cost more than the rest of publishing.
// The fixed-shape ones (status, delta, final, aborted, lifecycle, assistant) write their members
// directly; the bytes are those their json::object forms give (run_events_test.cpp compares them).
std::string RunEventEncoder::chat(std::string_view state, json::object extra) {
  std::string members;
  appendMembers(members, extra);
  return chatText(state, members);
}

std::string RunEventEncoder::chatText(std::string_view state, std::string_view members) {
  std::string out;
  out.reserve(64 + runId_.size() + sessionKey_.size() + members.size());
  out += R"({"runId":)";
  protocol::appendJsonString(out, runId_);
  out += R"(,"sessionKey":)";
  protocol::appendJsonString(out, sessionKey_);
  out += R"(,"seq":)";
  out += std::to_string(chatSeq_++);
  out += R"(,"state":)";
  protocol::appendJsonString(out, state);
  out += members;
  out += '}';
  return out;
}

std::string RunEventEncoder::agent(std::string_view stream, int64_t ts, json::object data) {
  return agentText(stream, ts, json::serialize(data));
}

std::string RunEventEncoder::compaction(std::string_view phase, int64_t ts, json::object data) {
  json::object out{{"phase", phase}};
  for (auto& kv : data) out[kv.key()] = std::move(kv.value());
  return agent("compaction", ts, std::move(out));
}

std::string RunEventEncoder::agentText(std::string_view stream, int64_t ts, std::string_view dataJson) {
  std::string out;
  out.reserve(80 + runId_.size() + dataJson.size());
  out += R"({"runId":)";
  protocol::appendJsonString(out, runId_);
  out += R"(,"seq":)";
  out += std::to_string(agentSeq_++);
  out += R"(,"stream":)";
  protocol::appendJsonString(out, stream);
  out += R"(,"ts":)";
  out += std::to_string(ts);
  out += R"(,"data":)";
  out += dataJson;
  out += '}';
  return out;
}

std::string RunEventEncoder::chatStatus(std::string_view phase) {
  std::string members;
  appendKey(members, "phase");
  protocol::appendJsonString(members, phase);
  return chatText("status", members);
}

std::string RunEventEncoder::chatDelta(std::string_view deltaText, bool replace, std::string_view text, int64_t ts) {
  std::string members;
  members.reserve(96 + deltaText.size() + text.size());
  appendKey(members, "deltaText");
  protocol::appendJsonString(members, deltaText);
  if (replace) members += R"(,"replace":true)";
  appendKey(members, "message");
  appendAssistantMessage(members, text, ts);
  return chatText("delta", members);
}

std::string RunEventEncoder::chatAborted(std::string_view stopReason, std::string_view partialText, int64_t ts) {
  std::string members;
  appendKey(members, "stopReason");
  protocol::appendJsonString(members, stopReason);
  if (!partialText.empty()) {
    appendKey(members, "message");
    appendAssistantMessage(members, partialText, ts);
  }
  return chatText("aborted", members);
}

std::string RunEventEncoder::chatFinal(std::string_view text, const TokenUsage& usage, std::string_view stopReason) {
  std::string members;
  members.reserve(128 + text.size());
  appendKey(members, "message");
  appendAssistantMessage(members, text, std::nullopt);
  members += R"(,"usage":{"input":)";
  members += std::to_string(usage.inputTokens);
  members += R"(,"output":)";
  members += std::to_string(usage.outputTokens);
  members += R"(,"total":)";
  members += std::to_string(usage.inputTokens + usage.outputTokens);
  members += '}';
  appendKey(members, "stopReason");
  protocol::appendJsonString(members, stopReason);
  return chatText("final", members);
}

std::string RunEventEncoder::chatError(const Error& error, std::string_view stopReason) {
  return chat("error", json::object{{"errorMessage", error.publicMessage()},
                                    {"errorKind", errorKind(error.code)},
                                    {"stopReason", stopReason}});
}

std::string RunEventEncoder::lifecycle(std::string_view phase, int64_t ts) {
  std::string data = R"({"phase":)";
  protocol::appendJsonString(data, phase);
  data += '}';
  return agentText("lifecycle", ts, data);
}

std::string RunEventEncoder::lifecycleError(const Error& error, int64_t ts) {
  return agent("lifecycle", ts, json::object{{"phase", "error"}, {"error", error.publicMessage()}});
}

std::string RunEventEncoder::lifecycleAborted(std::string_view stopReason, int64_t startedAt, int64_t endedAt) {
  json::object data{{"phase", "end"}, {"status", "cancelled"}, {"aborted", true}, {"stopReason", stopReason}};
  if (startedAt > 0) data["startedAt"] = startedAt;
  data["endedAt"] = endedAt;
  return agent("lifecycle", endedAt, std::move(data));
}

std::string RunEventEncoder::turnState(std::string_view state, int64_t ts, json::object extra) {
  if (extra.contains("state")) extra.erase("state");  // `state` is the turn's own
  std::string data = R"({"state":)";
  protocol::appendJsonString(data, state);
  appendMembers(data, extra);
  data += '}';
  return agentText("turn", ts, data);
}

std::string RunEventEncoder::assistant(std::string_view text, std::string_view delta, int64_t ts) {
  std::string data;
  data.reserve(24 + text.size() + delta.size());
  data += R"({"text":)";
  protocol::appendJsonString(data, text);
  data += R"(,"delta":)";
  protocol::appendJsonString(data, delta);
  data += '}';
  return agentText("assistant", ts, data);
}

std::string RunEventEncoder::tool(std::string_view phase, std::string_view name, std::string_view toolCallId,
                                  bool isError, int64_t ts, std::string_view errorKind) {
  json::object data{{"phase", phase}, {"name", name}, {"toolCallId", toolCallId}};
  if (phase == "result") data["isError"] = isError;
  if (phase == "result" && isError && !errorKind.empty()) data["errorKind"] = errorKind;
  return agent("tool", ts, std::move(data));
}

}  // namespace talon::gateway
