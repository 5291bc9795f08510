#pragma once
// The OpenAI chat-completions wire format as data: request bodies, streamed chunks, whole responses,
// and HTTP error answers. No I/O. Source: OpenAI API reference, "Create chat completion"
// (https://platform.openai.com/docs/api-reference/chat/create), "The chat completion object" and
// "The chat completion chunk object" (https://platform.openai.com/docs/api-reference/chat-streaming),
// and "Error codes" (https://platform.openai.com/docs/guides/error-codes).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "gateway/providers/model_provider.h"
#include "net/server.h"

namespace talon::gateway {

/// How a request body is encoded.
struct ChatRequestEncoding {
  /// `stream: true` plus `stream_options: {include_usage: true}`.
  bool stream = true;
  /// Name of the output-token limit field: "max_tokens" (accepted by every OpenAI-compatible server)
  /// or "max_completion_tokens" (api.openai.com; its reasoning models reject "max_tokens").
  std::string maxTokensField = "max_tokens";
  /// Used when the request sets no maxTokens (nullopt: the field is omitted).
  std::optional<int64_t> defaultMaxTokens;
};

/// The JSON body of POST /chat/completions, keys in this order: model, messages, tools (when any),
/// the token limit (when known), stream, stream_options. Messages: `system`/`user` {role, content};
/// `assistant` {role, content (null when empty and tool calls are present), tool_calls: [{id,
/// type:"function", function:{name, arguments}}]}; `tool` {role, tool_call_id, content}. Tools:
/// [{type:"function", function:{name, description (when not empty), parameters}}]; empty parameters
/// become `{"type":"object","properties":{}}`, empty tool-call arguments become "{}".
/// Returns the body as JSON text (what is sent).
std::string encodeChatRequestBody(const ModelRequest& request, const ChatRequestEncoding& encoding);
/// encodeChatRequestBody() parsed, for callers that inspect the body.
json::object encodeChatRequest(const ModelRequest& request, const ChatRequestEncoding& encoding);

/// Accumulates a streamed answer from `chat.completion.chunk` objects: choices[0].delta.content,
/// delta.tool_calls merged by `index` (id and name arrive in the first delta of a call, arguments in
/// pieces; a delta without `index` continues the last call unless it carries a new id), the last
/// non-null finish_reason, and `usage` (prompt_tokens, completion_tokens; the chunk with empty
/// `choices` that `stream_options.include_usage` adds). Other delta fields (role, refusal, reasoning)
/// are ignored. Not thread-safe.
class ChatStreamAccumulator {
 public:
  /// Applies one chunk; returns the text it adds (empty when none). Errors: kUpstream when the chunk is
  /// not an object or a field has the wrong type.
  Result<std::string> applyChunk(const json::value& chunk);
  /// The answer so far: tool calls in index order; a call without an id gets "call_<index>".
  ModelResponse response() const;

 private:
  struct PendingCall {
    int64_t index = 0;
    ToolCall call;
  };
  std::string text_;
  std::vector<PendingCall> calls_;  // in order of first appearance
  std::string finishReason_;
  TokenUsage usage_;
};

/// Decodes a whole (non-streamed) `chat.completion` object: choices[0].message.content (a string,
/// null, or an array of {type:"text", text} parts), message.tool_calls, finish_reason, usage.
/// Errors: kUpstream when it is not a chat completion (no choices[0].message) or types are wrong.
Result<ModelResponse> decodeChatCompletion(const json::value& body);

/// Reads the usage object of a chunk or a completion ({prompt_tokens, completion_tokens}).
TokenUsage decodeUsage(const json::object& usage);

/// The message of an OpenAI error body `{"error":{"message","type","code"}}` (also accepts
/// `{"error":"text"}` and `{"message":"text"}` as some compatible servers send); nullopt when none.
std::optional<std::string> errorMessageOf(const json::value& body);

/// Suggested retry delay from response headers, in ms: `retry-after-ms` (OpenAI's, milliseconds,
/// checked first as the OpenAI SDKs do: openai-python src/openai/_base_client.py
/// `_parse_retry_after_header`), then `Retry-After` as delay-seconds (a decimal is accepted) or an
/// HTTP-date (RFC 9110 §10.2.3 and §5.6.7: IMF-fixdate, RFC 850 and asctime forms) relative to
/// `nowMs` (Unix ms). A date in the past gives 0. nullopt when absent or unparsable.
std::optional<int64_t> retryAfterMs(const net::Headers& headers, int64_t nowMs);

/// Parses an HTTP-date (RFC 9110 §5.6.7, all three forms) to Unix ms; nullopt when invalid.
std::optional<int64_t> parseHttpDateMs(std::string_view text);

/// The Error for a non-2xx answer of a chat-completions endpoint: 401/403 kUnauthenticated, 429
/// kResourceExhausted (retryAfterMs from the headers), 5xx kUnavailable (retryAfterMs when given),
/// 400/404/413/422 kInvalidArgument, 408 kDeadlineExceeded, anything else kUpstream. The internal
/// message names the provider, the status and the vendor's error.message (or the start of the body);
/// the external message never contains vendor text. details: {provider, httpStatus, vendorCode?}.
Error chatHttpError(std::string_view providerId, int status, const net::Headers& headers, std::string_view body,
                    int64_t nowMs);

/// First header named `name` (ASCII case-insensitive), or nullopt.
std::optional<std::string_view> findHeader(const net::Headers& headers, std::string_view name);

}  // namespace talon::gateway
