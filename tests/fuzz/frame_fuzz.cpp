// libFuzzer target: the inbound request-frame parser (src/protocol/frames.h), both the one-shot
// parseRequestFrame and the per-connection RequestFrameParser that keeps its working memory between
// frames. Any input must give a frame or a FrameError; both parsers must agree, and a frame the flat
// fast path (parseFlatRequestFrame) accepts must be the frame the JSON tree gives, field by field.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/frames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static talon::protocol::RequestFrameParser streamParser;  // reused across inputs, as on a connection
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto once = talon::protocol::parseRequestFrame(text);
  auto streamed = streamParser.parse(text);
  if (once.has_value() != streamed.has_value()) __builtin_trap();
  if (once.has_value() && (once->id != streamed->id || once->method != streamed->method)) __builtin_trap();
  if (!once.has_value() && once.error().kind != streamed.error().kind) __builtin_trap();
  if (auto flat = talon::protocol::parseFlatRequestFrame(text)) {
    auto tree = streamParser.parseTree(text);
    if (!tree || tree->id != flat->id || tree->method != flat->method || tree->params != flat->params ||
        tree->traceparent != flat->traceparent || tree->expectedProfileId != flat->expectedProfileId) {
      __builtin_trap();
    }
  }
  return 0;
}
