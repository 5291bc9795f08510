#pragma once
// The native Ollama provider (`api: "ollama"`). Wire format: Ollama API reference, "Generate a chat
// completion" (https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion),
// streamed as NDJSON with tool calls (https://ollama.com/blog/streaming-tool), and "List Local Models"
// (GET /api/tags).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// OpenClaw's default Ollama address (dist defaults-*.mjs OLLAMA_DEFAULT_BASE_URL).
inline constexpr std::string_view kOllamaDefaultBaseUrl = "http://127.0.0.1:11434";

/// The native API base for a configured baseUrl, as OpenClaw's resolveOllamaApiBase: empty gives
/// kOllamaDefaultBaseUrl; trailing slashes and a trailing "/v1" (the OpenAI-compatible path, which
/// breaks tool calling) are removed.
std::string ollamaApiBase(std::string_view configuredBaseUrl);

/// The body of POST /api/chat, keys in this order: model, messages, tools (when any), stream (true),
/// options {num_predict} (when an output-token limit is known). Messages: {role, content}; an
/// assistant's tool calls as `tool_calls: [{function: {name, arguments: <object>}}]`; a "tool" message
/// as {role: "tool", content, tool_name} (the name of the call it answers). Tools: [{type:"function",
/// function:{name, description, parameters}}].
json::object encodeOllamaChatRequest(const ModelRequest& request, std::optional<int64_t> maxTokens);

/// Creates the provider for `config`. Each stream() sends POST {ollamaApiBase(baseUrl)}/api/chat with
/// `Content-Type: application/json`, `Authorization: Bearer <apiKey>` when a key is set (Ollama Cloud),
/// then `config.headers`. A baseUrl ending in "/v1" is used without it, as OpenClaw does, and a warning
/// says so (the OpenAI-compatible path is `api: "openai-completions"`).
///
/// The answer is NDJSON: one chat response object per line — message.content streamed to onTextDelta,
/// message.tool_calls collected (ids "call_<n>" unless the line gives `id`; arguments serialized from
/// the object), message.thinking not part of the answer — until the object with `done: true`
/// (done_reason; prompt_eval_count and eval_count as usage). finishReason: "tool_calls" when the model
/// called tools, else done_reason ("stop", "length", ...). A line `{"error": "..."}` fails the call
/// (kUpstream); a line that is not JSON fails it (kUpstream); so does a body that ends before `done`.
/// Errors otherwise as startStreamingCall() (HTTP error bodies `{"error": "..."}`).
/// Errors of create: kInvalidArgument (wrong api, bad baseUrl, null client).
Result<ModelProviderPtr> createOllamaProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                              ClockPtr clock);

/// One entry of GET /api/tags as model discovery uses it (Ollama API reference "List Local Models").
struct OllamaTagsModel {
  std::string name;        // e.g. "qwen3:latest"
  std::string digest;      // empty when absent
  std::string modifiedAt;  // `modified_at`; empty when absent
  /// `capabilities` when the entry lists them (remote models do), else nullopt.
  std::optional<std::vector<std::string>> capabilities;
  std::optional<int64_t> contextLength;  // `details.context_length` (> 0) when given
  bool remote = false;                   // `remote_host` or `remote_model` set
};

/// Model discovery: GET {ollamaApiBase(baseUrl)}/api/tags and each entry of `models` with a non-empty
/// `name`, in the server's order. `done` runs once on an I/O thread. Errors: kUnavailable (unreachable,
/// 5xx), kUnauthenticated (401/403), kUpstream (not the expected JSON), kDeadlineExceeded (`timeout`).
void discoverOllamaModels(net::HttpClient& client, const config::ProviderConfig& config,
                          std::chrono::milliseconds timeout,
                          std::function<void(Result<std::vector<OllamaTagsModel>>)> done);

/// What POST /api/show says of a model, as OpenClaw 2026.9.6 reads it (dist provider-models-*.mjs
/// readOllamaModelShowInfo).
struct OllamaShowInfo {
  /// The first `model_info` key ending in ".context_length" whose value is a number > 0 (floored), raised
  /// by the last `num_ctx N` line (N > 0) of `parameters` when N is larger; nullopt when neither.
  std::optional<int64_t> contextWindow;
  /// The `capabilities` array's strings ("completion", "tools", "thinking", "vision", "embedding", ...);
  /// nullopt when the answer has no such array (older servers).
  std::optional<std::vector<std::string>> capabilities;
};

/// The capability probe: POST {ollamaApiBase(baseUrl)}/api/show with `{"model": name}` (and the
/// provider's key and headers). `done` runs once on an I/O thread. Errors as discoverOllamaModels (a
/// non-2xx status, a body that is not a JSON object).
void showOllamaModel(net::HttpClient& client, const config::ProviderConfig& config, const std::string& name,
                     std::chrono::milliseconds timeout, std::function<void(Result<OllamaShowInfo>)> done);

/// Parses an /api/show answer body (see OllamaShowInfo). Errors: kUpstream (not a JSON object).
Result<OllamaShowInfo> parseOllamaShowInfo(std::string_view body);

}  // namespace talon::gateway
