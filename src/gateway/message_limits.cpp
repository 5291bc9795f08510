#include "gateway/message_limits.h"

#include <fmt/format.h>

namespace talon::gateway {

Status checkMessageSize(std::string_view message, int64_t maxBytes) {
  if (static_cast<int64_t>(message.size()) <= maxBytes) return {};
  auto text = fmt::format("message is too large: {} bytes; the limit is {} bytes (gateway.limits.maxMessageBytes)",
                          message.size(), maxBytes);
  return fail(ErrorCode::kInvalidArgument, text, text);
}

}  // namespace talon::gateway
