#pragma once
// The OpenAI-compatible API's chat tool contract (OpenClaw docs/gateway/openai-http-api.md "Chat tool
// contract"; dist openai-http-*.mjs and openai-tool-choice-*.mjs): parsing and validation of `tools`,
// `tool_choice` and the `messages` of a POST /v1/chat/completions request, and the `tool_calls` shapes of
// its answers. Pure: no sockets, no runner. Error messages are OpenClaw's where it has one.
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "gateway/agent/agent_runner.h"

namespace talon::gateway::http {

/// `tool_choice`: "auto" (or absent), "none", "required", or {type:"function", function:{name}}.
struct ChatToolChoice {
  enum class Kind { kAuto, kNone, kRequired, kFunction };
  Kind kind = Kind::kAuto;
  std::string name;  // kFunction: the tool that must be called
};

/// The client tools a request offers the model once `tool_choice` is applied, and what the choice asks.
struct ChatToolSelection {
  std::vector<ToolSpec> tools;    // none → empty; function → that tool only
  ChatToolChoice choice;          // required and function constrain the answer (toolChoiceSatisfied)
  std::string extraSystemPrompt;  // OpenClaw's instruction for required / function; "" otherwise
};

/// Parses `tools` (null or absent: none) and `tool_choice` and applies the choice. Errors
/// (kInvalidArgument, OpenClaw's texts prefixed "Invalid tools/tool_choice: "): non-array `tools`, a
/// non-object entry, a type other than "function", a missing `function` or `function.name`, a
/// `tool_choice` of another shape or type (`allowed_tools`, `custom`, ...), a function choice naming no
/// offered tool, `required` without tools.
Result<ChatToolSelection> parseChatTools(const json::object& request);

/// A request's `messages`, split into the conversation so far and the active turn: a last `user`
/// message, or the trailing `tool` (or legacy `function`) results of a tool follow-up.
struct ChatConversation {
  /// The messages before the active turn (model roles: system, user, assistant with its tool calls,
  /// tool). For a follow-up the assistant message that made the calls being answered is left out: the
  /// session's stored answer is sent instead.
  std::vector<ChatMessage> context;
  std::string userText;                   // the active user message ("" for a follow-up)
  std::vector<ClientToolResult> results;  // the follow-up's results (empty for a user turn)
};

/// Parses `messages` (must be a non-empty array). Each message's text is bounded by `maxMessageBytes`
/// (gateway.limits.maxMessageBytes). Errors: kInvalidArgument for a malformed message, a
/// `tool` result without `tool_call_id`, a `function` result without `name`, a last message that is
/// neither `user` nor a result; kUnsupported (notSupportedYet) for other roles and non-text parts.
Result<ChatConversation> parseChatMessages(const json::array& messages, int64_t maxMessageBytes);

/// True when `pending` satisfies a constraining choice (required: any call; function: a call of it).
bool toolChoiceSatisfied(const ChatToolChoice& choice, const std::vector<ToolCall>& pending);
/// OpenClaw's message for an answer that did not satisfy `choice` (sent as a 502 api_error).
std::string unsatisfiedToolChoiceMessage(const ChatToolChoice& choice);

/// `message.tool_calls` of a non-streamed answer: [{id, type:"function", function:{name, arguments}}].
json::array toolCallsMessageJson(const std::vector<ToolCall>& calls);
/// The `delta` objects a streamed answer sends for `calls` (OpenClaw's order): per call one with its
/// index, id, type and name (arguments ""), then its arguments in fragments of at most
/// `fragmentBytes` bytes, never splitting a UTF-8 sequence.
std::vector<json::object> toolCallDeltas(const std::vector<ToolCall>& calls, std::size_t fragmentBytes = 256);

}  // namespace talon::gateway::http
