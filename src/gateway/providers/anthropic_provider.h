#pragma once
// The Anthropic Messages provider (`api: "anthropic-messages"`). Wire format: Anthropic API reference,
// "Messages" (https://docs.anthropic.com/en/api/messages), "Streaming Messages"
// (https://docs.anthropic.com/en/api/messages-streaming), "Prompt caching"
// (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching) and "Errors"
// (https://docs.anthropic.com/en/api/errors).
#include <cstdint>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/providers/model_provider.h"
#include "net/http_client.h"

namespace talon::gateway {

/// `max_tokens` when neither the request nor the config sets one (the API requires the field).
inline constexpr int64_t kAnthropicDefaultMaxTokens = 8192;

/// The body of POST /v1/messages, keys in this order: model, max_tokens, system, tools, messages,
/// stream (true). `system`: the text of every "system" message joined with "\n\n", as one text block
/// carrying `cache_control: {type: "ephemeral"}` — the breakpoint that caches the stable prefix (the
/// API's prefix order is tools, then system); without a system text the breakpoint goes on the last
/// tool. Tools: {name, description (when not empty), input_schema}. Messages: "user" text blocks;
/// "assistant" text (when not empty) and `tool_use` {id, name, input (the arguments as an object; `{}`
/// when they are not a JSON object)} blocks; "tool" messages become `tool_result` {tool_use_id,
/// content} blocks of a user message. Consecutive messages of the same role are merged into one (tool
/// results of parallel calls share one user message, as the API requires); empty text blocks, which
/// the API rejects, are left out.
json::object encodeAnthropicRequest(const ModelRequest& request, int64_t maxTokens);

/// Creates the provider for `config`. Each stream() sends POST {baseUrl}/v1/messages (baseUrl default
/// "https://api.anthropic.com"; a baseUrl ending in "/v1" gets "/messages") with headers `x-api-key`
/// (when a key is set), `anthropic-version: 2023-06-01`, `content-type: application/json`, `accept:
/// text/event-stream`, then `config.headers` (which may replace any of them). The output-token limit
/// is HttpProviderSettings::maxTokensFor(), else kAnthropicDefaultMaxTokens.
///
/// The answer is read as SSE: `message_start` (usage.input_tokens, cache_creation_input_tokens,
/// cache_read_input_tokens), `content_block_start` (text, tool_use {id, name}, thinking),
/// `content_block_delta` (`text_delta` streamed to onTextDelta, `input_json_delta` accumulated per
/// block index, `thinking_delta` and `signature_delta` not part of the answer), `content_block_stop`,
/// `message_delta` (delta.stop_reason; usage.output_tokens, cumulative), `message_stop` (the answer is
/// complete), `ping`, and `error` ({type:"error", error:{type, message}}: overloaded_error
/// kUnavailable, rate_limit_error kResourceExhausted, others kUpstream). Unknown event types are
/// skipped, as the API's versioning policy asks. stop_reason maps to finishReason: end_turn and
/// stop_sequence "stop", tool_use "tool_calls", max_tokens "length", others as sent. Usage:
/// inputTokens = input_tokens + cache_creation_input_tokens + cache_read_input_tokens.
///
/// Errors: as startStreamingCall() (HTTP error bodies {type:"error", error:{type, message}}: 401, 403,
/// 429 with retry-after, 500, 529 overloaded). Errors of create: kInvalidArgument (wrong api, bad
/// baseUrl, null client).
Result<ModelProviderPtr> createAnthropicProvider(const config::ProviderConfig& config, net::HttpClientPtr client,
                                                 ClockPtr clock);

}  // namespace talon::gateway
