#pragma once
// The Google Gemini provider (`api: "google-generative-ai"`). Wire format: Gemini API reference,
// "Generating content" (https://ai.google.dev/api/generate-content: models.streamGenerateContent,
// GenerateContentResponse, UsageMetadata), "Function calling"
// (https://ai.google.dev/gemini-api/docs/function-calling), "Using Gemini API keys" (x-goog-api-key)
// and "Troubleshooting" (error bodies {error:{code, message, status}}).
#include <optional>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// The body of POST models/{model}:streamGenerateContent, keys in this order: systemInstruction
/// ({parts:[{text}]}, the "system" messages joined with "\n\n", when any), tools ([{functionDeclarations:
/// [{name, description (when not empty), parametersJsonSchema}]}], when any), contents, generationConfig
/// ({maxOutputTokens}, when known). Contents: "user" {role:"user", parts:[{text}]}; "assistant"
/// {role:"model", parts: text (when not empty) and {functionCall:{name, args}}}; "tool"
/// {role:"user", parts:[{functionResponse:{name, response:{output}}}]} (name: the call it answers).
/// Consecutive contents of the same role are merged (parallel function responses share one).
json::object encodeGeminiRequest(const ModelRequest& request, std::optional<int64_t> maxOutputTokens);

/// Creates the provider for `config`. Each stream() sends POST
/// {baseUrl}/models/{model}:streamGenerateContent?alt=sse (baseUrl default
/// "https://generativelanguage.googleapis.com/v1beta"; a "models/" prefix of the model id is dropped,
/// other bytes outside RFC 3986 unreserved are percent-encoded) with `Content-Type: application/json`,
/// `x-goog-api-key: <apiKey>` (when a key is set), then `config.headers`.
///
/// The answer is SSE whose data are GenerateContentResponse objects: candidates[0].content.parts
/// (`text` streamed to onTextDelta unless the part is a `thought`; `functionCall {name, args, id?}`
/// collected, ids "call_<n>" unless given), candidates[0].finishReason, usageMetadata
/// (promptTokenCount, cachedContentTokenCount, candidatesTokenCount + thoughtsTokenCount). The stream
/// has no end marker: the answer is complete when the body ends after a finishReason (or a
/// promptFeedback.blockReason, finishReason "content_filter"); a body that ends without one is kUpstream
/// "cut short". finishReason: STOP "stop" ("tool_calls" with function calls), MAX_TOKENS "length",
/// SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII "content_filter", others lower-cased. An
/// `error` object in the stream ({code, message, status}) fails the call: RESOURCE_EXHAUSTED
/// kResourceExhausted, UNAVAILABLE and INTERNAL kUnavailable, others kUpstream.
///
/// Errors otherwise as startStreamingCall() (HTTP error bodies {error:{code, message, status}}).
/// Thought signatures: a functionCall part's `thoughtSignature` is kept in ToolCall::signature and sent back
/// with the call; a replayed call without one gets the API's documented dummy on its step's first call.
/// Errors of create: kInvalidArgument (wrong api, bad baseUrl, null client).
Result<ModelProviderPtr> createGeminiProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                              ClockPtr clock);

}  // namespace talon::gateway
