#pragma once
// Splits a reply longer than a channel takes (ChannelCapabilities::maxTextChars, OpenClaw's
// `textChunkLimit`) into parts, the way a reader would cut it: between paragraphs first, then between
// lines, then between words, and only as a last resort inside a word — never inside a UTF-8 sequence.
// A fenced code block (``` or ~~~) is kept whole in one part when it fits; one that does not fit is cut
// between its lines and each piece is fenced again (the opening fence line, with its info string, and a
// closing fence), so every part renders as code. Paragraphs packed into one part are joined by one blank
// line. Pure; thread-safe.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace talon::gateway::channels {

/// The number of Unicode code points in `text` (bytes that do not continue a UTF-8 sequence).
std::size_t codePointCount(std::string_view text);

/// `text` cut into parts of at most `maxChars` code points each (see the file comment); one part when it
/// fits; none for an empty text. `maxChars` 0 is taken as 1. Deterministic: the same text and limit
/// always give the same parts (the outbox relies on it to resume a delivery part by part).
std::vector<std::string> splitReply(std::string_view text, std::size_t maxChars);

}  // namespace talon::gateway::channels
