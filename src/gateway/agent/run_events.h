#pragma once
// Payloads of the `chat` and `agent` events of one run, in OpenClaw's shapes (protocol schema
// ChatEventSchema and AgentEventSchema, dist sessions-*.mjs / src-*.mjs; chat-broadcast.ts):
//   chat:  {runId, sessionKey, seq, state: status|delta|final|aborted|error, ...}
//          delta carries the whole text so far in `deltaText` with `replace: true`, as OpenClaw does
//   agent: {runId, seq, stream: lifecycle|assistant|tool, ts, data{...}}
// Each stream has its own seq counter starting at 0. Not thread-safe: one encoder per run, used by
// the turn that owns it.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "gateway/providers/model_provider.h"

namespace talon::gateway {

class RunEventEncoder {
 public:
  RunEventEncoder(std::string runId, std::string sessionKey)
      : runId_(std::move(runId)), sessionKey_(std::move(sessionKey)) {}

  /// chat state "status" with a startup phase ("starting_model", "preparing_context", ...).
  std::string chatStatus(std::string_view phase);
  /// chat state "delta": `text` is everything streamed so far in this model call.
  std::string chatDelta(std::string_view text);
  /// chat state "final" with the answer, usage {input, output, total} and stopReason.
  std::string chatFinal(std::string_view text, const TokenUsage& usage, std::string_view stopReason);
  /// chat state "error" with errorMessage (the public message) and errorKind (timeout, rate_limit, unknown).
  std::string chatError(const Error& error, std::string_view stopReason);

  /// agent stream "lifecycle", data {phase: start|end}.
  std::string lifecycle(std::string_view phase, int64_t ts);
  /// agent stream "lifecycle", data {phase: "error", error}.
  std::string lifecycleError(const Error& error, int64_t ts);
  /// agent stream "assistant", data {text, delta}.
  std::string assistant(std::string_view text, std::string_view delta, int64_t ts);
  /// agent stream "tool", data {phase: start|result, name, toolCallId, isError?}.
  std::string tool(std::string_view phase, std::string_view name, std::string_view toolCallId, bool isError,
                   int64_t ts);

 private:
  std::string chat(std::string_view state, json::object extra);
  std::string agent(std::string_view stream, int64_t ts, json::object data);

  std::string runId_;
  std::string sessionKey_;
  int64_t chatSeq_ = 0;
  int64_t agentSeq_ = 0;
};

}  // namespace talon::gateway
