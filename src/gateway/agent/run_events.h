#pragma once
// Payloads of the `chat` and `agent` events of one run, in OpenClaw's shapes (protocol schema
// ChatEventSchema and AgentEventSchema, dist sessions-*.mjs / src-*.mjs; chat-broadcast.ts):
//   chat:  {runId, sessionKey, seq, state: status|delta|final|aborted|error, ...}
//          delta (protocol v4, OpenClaw server-chat.ts resolveBroadcastDelta): `deltaText` is the text
//          added since the previous delta of the run; `replace: true` marks a delta whose `deltaText`
//          replaces everything (the text is no continuation of the last one, e.g. a new model step);
//          `message` is the cumulative snapshot (docs/gateway/protocol/rpc-bootstrap-and-events.md).
//          aborted: {stopReason, message?} (chat-abort.ts broadcastChatAborted).
//   agent: {runId, seq, stream: lifecycle|assistant|tool|turn, ts, data{...}}
//          `turn` is Talon's: one event per state of the turn state machine (AgentEventSchema accepts
//          any stream name and an open `data` record, so OpenClaw clients pass it by).
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
  /// chat state "delta": `deltaText` as described above, `replace` when it replaces the text so far,
  /// `text` the cumulative snapshot, `ts` its message timestamp (ms since the epoch).
  std::string chatDelta(std::string_view deltaText, bool replace, std::string_view text, int64_t ts);
  /// chat state "aborted" with stopReason ("rpc", "shutdown", ...) and the partial answer as `message`
  /// when there is one.
  std::string chatAborted(std::string_view stopReason, std::string_view partialText, int64_t ts);
  /// chat state "final" with the answer, usage {input, output, total} and stopReason.
  std::string chatFinal(std::string_view text, const TokenUsage& usage, std::string_view stopReason);
  /// chat state "error" with errorMessage (the public message) and errorKind (timeout, rate_limit, unknown).
  std::string chatError(const Error& error, std::string_view stopReason);

  /// agent stream "lifecycle", data {phase: start|end}.
  std::string lifecycle(std::string_view phase, int64_t ts);
  /// agent stream "lifecycle", data {phase: "error", error}.
  std::string lifecycleError(const Error& error, int64_t ts);
  /// agent stream "lifecycle" for an aborted run, data {phase: "end", status: "cancelled", aborted: true,
  /// stopReason, startedAt?, endedAt} (OpenClaw chat-abort.ts abortChatRunById). `startedAt` 0: the
  /// run never started.
  std::string lifecycleAborted(std::string_view stopReason, int64_t startedAt, int64_t endedAt);
  /// agent stream "turn", data {state, ...extra}: the turn entered `state`.
  std::string turnState(std::string_view state, int64_t ts, json::object extra = {});
  /// agent stream "compaction", data {phase: start|end, ...data} (OpenClaw emits this stream around a
  /// compaction: phase "start", then "end" with `completed`).
  std::string compaction(std::string_view phase, int64_t ts, json::object data);
  /// agent stream "assistant", data {text, delta}.
  std::string assistant(std::string_view text, std::string_view delta, int64_t ts);
  /// agent stream "tool", data {phase: start|result, name, toolCallId, isError?, errorKind?}; errorKind
  /// (Talon's, a ToolErrorKind name) only on a failed result.
  std::string tool(std::string_view phase, std::string_view name, std::string_view toolCallId, bool isError, int64_t ts,
                   std::string_view errorKind = {});

 private:
  std::string chat(std::string_view state, json::object extra);
  /// The `chat` event with `members` (`,"key":value` text for each member after `state`; may be empty).
  std::string chatText(std::string_view state, std::string_view members);
  std::string agent(std::string_view stream, int64_t ts, json::object data);
  /// The `agent` event with `dataJson` (one JSON object's text) as its data.
  std::string agentText(std::string_view stream, int64_t ts, std::string_view dataJson);

  std::string runId_;
  std::string sessionKey_;
  int64_t chatSeq_ = 0;
  int64_t agentSeq_ = 0;
};

}  // namespace talon::gateway
