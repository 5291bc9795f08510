#pragma once
// The bookkeeping of client tools (agent_runner.h ClientTools; OpenClaw docs/gateway/openai-http-api.md
// "Chat tool contract"): which of a session's tool calls still wait for the client's result, how the
// client's results are matched to them, and which client tool names may be offered next to the agent's
// own tools. Pure functions over transcript entries; no store, no threads.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "gateway/agent/agent_runner.h"
#include "store/transcript_repository.h"

namespace talon::gateway {

namespace tools {
class ToolRegistry;
}

/// The calls of a session's last tool-calling answer that no tool result follows: the client tool calls
/// its last run ended waiting for (server-side calls always get a result, even when cancelled).
struct PendingClientCalls {
  std::size_t answerIndex = 0;  // index in the history of the assistant entry that made the calls
  std::vector<ToolCall> calls;  // in the answer's order
};

/// The pending calls in `history` (oldest first), or nullopt when every call has its result.
std::optional<PendingClientCalls> findPendingClientCalls(const std::vector<store::TranscriptEntry>& history);

/// One client result matched to the call it answers.
struct MatchedClientResult {
  ToolCall call;  // the pending call (its id and name)
  std::string content;
};

/// Matches `results` to `pending` (by tool_call_id; a result without one takes the first unanswered call
/// with its name). Every pending call must be answered exactly once. Errors (kInvalidArgument, the
/// public message naming the id): a result for no pending call ("... matches no pending tool call"), a
/// second result for a call, a pending call left unanswered ("... has no result").
Result<std::vector<MatchedClientResult>> matchClientResults(const std::vector<ToolCall>& pending,
                                                            const std::vector<ClientToolResult>& results);

/// Checks that client tool names clash neither with the agent tools in `registry` (may be null) nor with
/// each other. Error: kInvalidArgument with internal message "client tool name conflict: a, b" and
/// public message "invalid tool configuration" (OpenClaw's answer).
Status checkClientToolNames(const std::vector<ToolSpec>& clientTools, const tools::ToolRegistry* registry);

/// The id a pending client call gets: `<prefix><seq>_<n>` (prefix "call_" when empty).
std::string clientCallId(const std::string& prefix, int64_t seq, std::size_t n);

}  // namespace talon::gateway
