#pragma once
// Limits on what one caller can make the gateway hold (issue 6 "Limits"): the size of a user message
// taken by chat.send, agent and POST /v1/chat/completions (`gateway.limits.maxMessageBytes`, a Talon key:
// OpenClaw 2026.9.6 has none; its only bound is the WebSocket frame limit).
#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace talon::gateway {

/// kInvalidArgument "message is too large: <n> bytes; the limit is <max> bytes
/// (gateway.limits.maxMessageBytes)" (both texts; the message itself is never quoted) when
/// `message` is longer than `maxBytes`.
Status checkMessageSize(std::string_view message, int64_t maxBytes);

}  // namespace talon::gateway
