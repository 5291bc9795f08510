#pragma once
// The seam between an agent turn and a model vendor. One ModelProvider per configured
// `models.providers.<id>` entry.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::gateway {

/// A tool call requested by the model. `argumentsJson` is the JSON text the model produced (may be
/// invalid JSON: the turn reports that back to the model as a tool error).
struct ToolCall {
  std::string id;
  std::string name;
  std::string argumentsJson;
  /// An opaque signature the provider attached to the call, to be sent back with it in later requests of
  /// the conversation exactly as received (Gemini's `thoughtSignature`, required by Gemini 3 models during
  /// function calling: https://ai.google.dev/gemini-api/docs/thought-signatures). Empty for most providers.
  std::string signature = {};
};

/// A message of the conversation sent to the model (OpenAI chat-completions roles).
struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant" | "tool"
  std::string content;
  std::vector<ToolCall> toolCalls;  // role "assistant" only
  std::string toolCallId;           // role "tool" only
};

/// A tool offered to the model: name, description and JSON Schema of its arguments. The schema is
/// immutable and shared (with its serialized text), so a turn that offers the registry's tools to a
/// model copies pointers, not schemas. Safe to share between threads.
struct ToolSpec {
  ToolSpec() = default;
  /// `parameters` empty means the tool takes no arguments: encoders send
  /// `{"type":"object","properties":{}}`.
  ToolSpec(std::string name, std::string description, json::object parameters = {});

  std::string name;
  std::string description;

  /// The JSON Schema of the arguments (empty object when the tool takes none).
  const json::object& parameters() const;
  /// parameters() as JSON text, or `{"type":"object","properties":{}}` when it is empty: what the
  /// OpenAI-style `function.parameters` carries. Serialized once, when the spec is made.
  const std::string& parametersJson() const;

 private:
  struct Schema {
    json::object object;
    std::string text;
  };
  std::shared_ptr<const Schema> schema_;
};

struct ModelRequest {
  std::string model;  // the vendor's model id (without the "provider/" prefix)
  std::vector<ChatMessage> messages;
  std::vector<ToolSpec> tools;
  std::optional<int> maxTokens;
  /// Sampling temperature (0..2) from the model's `params`; unset: the vendor's default.
  std::optional<double> temperature;
  /// Budget for the whole call; the provider fails with kDeadlineExceeded after it.
  std::chrono::milliseconds timeout{120'000};
  /// W3C `traceparent` header value for this call (the run's trace with a new span id per call:
  /// protocol/trace_context.h); empty: no header is sent.
  std::string traceparent;
};

struct TokenUsage {
  /// Every prompt token, cached ones included.
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  /// Of inputTokens: read from the vendor's prompt cache (Anthropic cache_read_input_tokens, OpenAI
  /// cached_tokens, Gemini cachedContentTokenCount) and written to it (Anthropic
  /// cache_creation_input_tokens). 0 when the API does not say.
  int64_t cacheReadTokens = 0;
  int64_t cacheWriteTokens = 0;
};

/// The model's complete answer to one request.
struct ModelResponse {
  std::string text;
  std::vector<ToolCall> toolCalls;
  std::string finishReason;  // "stop", "tool_calls", "length", ...
  TokenUsage usage;
};

struct ModelStreamHandlers {
  /// A piece of answer text, as streamed.
  std::function<void(std::string_view delta)> onTextDelta;
  /// Called exactly once. Errors: kUnauthenticated (401/403), kResourceExhausted (429; retryAfterMs
  /// set from Retry-After), kUnavailable (5xx, connection failure), kDeadlineExceeded (timeout),
  /// kUpstream (malformed stream or body), kCancelled.
  std::function<void(Result<ModelResponse>)> onComplete;
};

/// Handle to an in-flight model call.
class ModelCall {
 public:
  virtual ~ModelCall() = default;
  virtual void cancel() = 0;
};
using ModelCallPtr = std::shared_ptr<ModelCall>;

/// A model vendor endpoint. Thread-safe; callbacks run on I/O threads and must not block.
class ModelProvider {
 public:
  virtual ~ModelProvider() = default;
  /// The config id ("openai", "ollama", ...).
  virtual const std::string& id() const = 0;
  /// Starts a streamed call. onComplete may run before stream() returns when the request is rejected
  /// before any I/O (e.g. kInvalidArgument); otherwise it runs on an I/O thread. Dropping the returned
  /// handle does not cancel the call.
  virtual ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) = 0;
};
using ModelProviderPtr = std::shared_ptr<ModelProvider>;

}  // namespace talon::gateway
