#pragma once
// The OpenAI chat-completions provider (`api: "openai-completions"`, legacy `"openai"`): OpenAI itself
// and every server that speaks its wire format (Ollama's /v1, vLLM, llama.cpp, LM Studio, OpenRouter,
// LiteLLM, ...). Wire format: OpenAI API reference, "Create chat completion" and "The chat completion
// chunk object" (https://platform.openai.com/docs/api-reference/chat); see openai_chat_wire.h.
#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// Creates the provider for `config` (`models.providers.<id>`).
///
/// Each ModelProvider::stream() call sends one POST {baseUrl}/chat/completions with
/// `Content-Type: application/json`, `Authorization: Bearer <apiKey>` (omitted when the key is empty,
/// e.g. Ollama; also when `config.headers` sets its own Authorization), then `config.headers`, and
/// the body of encodeChatRequest() with `stream: true` and `stream_options: {include_usage: true}`.
/// The output-token limit is ModelRequest::maxTokens, else the matching `models[].maxTokens`, else the
/// provider's `maxTokens`; it is sent as `max_completion_tokens` to api.openai.com and as `max_tokens`
/// elsewhere.
///
/// The answer is read as Server-Sent Events (sse_parser.h) until `data: [DONE]`, or, when the server
/// answers `Content-Type: application/json`, as one whole `chat.completion` object (its text is
/// reported through onTextDelta once). onComplete runs when [DONE] arrives, without waiting for the
/// connection to finish the response.
///
/// Errors given to onComplete: HTTP statuses as chatHttpError() maps them (401/403 kUnauthenticated;
/// 429 kResourceExhausted with retryAfterMs from `retry-after-ms` / `Retry-After`; 5xx kUnavailable;
/// 400/404 kInvalidArgument with the vendor's error.message in the internal message); connection
/// failures kUnavailable; kDeadlineExceeded when ModelRequest::timeout (whole call) or the idle
/// timeout (longest silence: `timeoutSeconds` of the provider config, default 60 s, capped by
/// ModelRequest::timeout) elapses; kUpstream for a stream that ends without [DONE], a chunk that is
/// not valid JSON, or an error object inside the stream (`data: {"error":{...}}`, its message
/// internal); kCancelled after ModelCall::cancel(); kInvalidArgument (empty model) and
/// kUnauthenticated (the configured key could not be resolved: `apiKeyUnavailable`) before any I/O.
///
/// The provider never retries: a failed call is reported once and the turn decides whether to retry
/// (Error::retryable(), retryAfterMs) or fall back to another model.
///
/// Errors of create: kInvalidArgument when `api` is not "openai-completions"/"openai", `baseUrl` is not
/// an http(s) URL, or `client` is null. A null `clock` means SystemClock (used for Retry-After dates).
Result<ModelProviderPtr> createOpenAiProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                              ClockPtr clock);

}  // namespace talon::gateway
