#pragma once
// The OpenAI Responses provider (`api: "openai-responses"`). Wire format: OpenAI API reference,
// "Responses" (https://platform.openai.com/docs/api-reference/responses/create) and "Streaming events"
// (https://platform.openai.com/docs/api-reference/responses-streaming), guide "Function calling"
// (https://platform.openai.com/docs/guides/function-calling).
#include <optional>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// The body of POST /responses, keys in this order: model, instructions (the "system" messages joined
/// with "\n\n", when any: the stable prefix), input, tools (when any), max_output_tokens (when known),
/// stream (true), store (false: Talon keeps the conversation itself and sends it whole each turn).
/// Input items: "user" and "assistant" text as {role, content}; an assistant's tool calls as
/// {type:"function_call", call_id, name, arguments}; a "tool" message as {type:"function_call_output",
/// call_id, output}. Tools: {type:"function", name, description (when not empty), parameters, strict:
/// false}.
json::object encodeResponsesRequest(const ModelRequest& request, std::optional<int64_t> maxOutputTokens);

/// Creates the provider for `config`. Each stream() sends POST {baseUrl}/responses (baseUrl default
/// "https://api.openai.com/v1") with `Content-Type: application/json`, `Accept: text/event-stream`,
/// `Authorization: Bearer <apiKey>` (when a key is set), then `config.headers`.
///
/// The answer is read as SSE, by each event's `type`: `response.output_text.delta` (streamed to
/// onTextDelta), `response.output_item.added` (a `function_call` item {id, call_id, name} starts a tool
/// call; `reasoning` and other items are not part of the answer), `response.function_call_arguments.delta`
/// (appended by item_id), `response.function_call_arguments.done` and `response.output_item.done` (the
/// complete arguments replace the accumulated ones), `response.completed` / `response.incomplete` (the
/// answer is complete; usage {input_tokens, input_tokens_details.cached_tokens, output_tokens};
/// incomplete_details.reason "max_output_tokens" gives finishReason "length"), `response.failed`
/// (response.error {code, message}) and `error` ({code, message}): rate_limit_exceeded
/// kResourceExhausted, server_error kUnavailable, others kUpstream. Other event types (created,
/// in_progress, content_part.*, reasoning summaries, ...) are skipped. finishReason: "tool_calls" when
/// the model called functions, else "stop". Tool calls are reported in output_index order with their
/// call_id as id.
///
/// Errors otherwise as startStreamingCall(). Errors of create: kInvalidArgument (wrong api, bad
/// baseUrl, null client).
Result<ModelProviderPtr> createOpenAiResponsesProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                                       ClockPtr clock);

}  // namespace talon::gateway
