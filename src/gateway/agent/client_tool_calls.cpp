#include "gateway/agent/client_tool_calls.h"

#include <algorithm>
#include <set>

#include "gateway/agent/transcript_tool_calls.h"
#include "gateway/tools/tool_registry.h"

namespace talon::gateway {

std::optional<PendingClientCalls> findPendingClientCalls(const std::vector<store::TranscriptEntry>& history) {
  for (std::size_t i = history.size(); i-- > 0;) {
    const auto& e = history[i];
    if (e.role == store::TranscriptRole::kTool) continue;
    if (e.role != store::TranscriptRole::kAssistant || e.toolCallsJson.empty()) return std::nullopt;
    std::set<std::string> answered;
    for (std::size_t j = i + 1; j < history.size(); ++j) answered.insert(history[j].toolCallId);
    PendingClientCalls pending;
    pending.answerIndex = i;
    for (auto& call : toolCallsFromJson(e.toolCallsJson)) {
      if (answered.count(call.id) == 0) pending.calls.push_back(std::move(call));
    }
    if (pending.calls.empty()) return std::nullopt;
    return pending;
  }
  return std::nullopt;
}

Result<std::vector<MatchedClientResult>> matchClientResults(const std::vector<ToolCall>& pending,
                                                            const std::vector<ClientToolResult>& results) {
  auto invalid = [](const std::string& message) { return fail(ErrorCode::kInvalidArgument, message, message); };
  std::vector<bool> taken(pending.size(), false);
  std::vector<MatchedClientResult> matched;
  for (const auto& r : results) {
    std::size_t at = pending.size();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (r.toolCallId.empty() ? (!taken[i] && pending[i].name == r.name) : pending[i].id == r.toolCallId) {
        at = i;
        break;
      }
    }
    if (at == pending.size()) {
      if (r.toolCallId.empty()) {
        return invalid("function result `" + r.name + "` matches no pending tool call of that name");
      }
      return invalid("tool_call_id `" + r.toolCallId + "` matches no pending tool call");
    }
    if (taken[at]) return invalid("tool_call_id `" + pending[at].id + "` has more than one result");
    taken[at] = true;
    matched.push_back(MatchedClientResult{pending[at], r.content});
  }
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (!taken[i]) {
      return invalid("tool call `" + pending[i].id + "` (" + pending[i].name +
                     ") has no result: send one role \"tool\" message per pending call");
    }
  }
  return matched;
}

Status checkClientToolNames(const std::vector<ToolSpec>& clientTools, const tools::ToolRegistry* registry) {
  std::vector<std::string> conflicts;
  std::set<std::string> seen;
  for (const auto& spec : clientTools) {
    bool clash = (registry != nullptr && registry->find(spec.name) != nullptr) || !seen.insert(spec.name).second;
    if (clash && std::find(conflicts.begin(), conflicts.end(), spec.name) == conflicts.end()) {
      conflicts.push_back(spec.name);
    }
  }
  if (conflicts.empty()) return {};
  std::string list;
  for (const auto& c : conflicts) list += (list.empty() ? "" : ", ") + c;
  return fail(ErrorCode::kInvalidArgument, "client tool name conflict: " + list, "invalid tool configuration");
}

std::string clientCallId(const std::string& prefix, int64_t seq, std::size_t n) {
  return (prefix.empty() ? std::string("call_") : prefix) + std::to_string(seq) + "_" + std::to_string(n);
}

}  // namespace talon::gateway
