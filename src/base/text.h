#pragma once
// Small text helpers shared by config sections, channels, providers and automations. Bytes are UTF-8
// where it matters (truncateUtf8); whitespace and control bytes are ASCII.
#include <cstddef>
#include <string>
#include <string_view>

namespace talon {

/// `s` without leading and trailing ASCII whitespace (space, tab, CR, LF), as a new string.
std::string trimWhitespace(std::string_view s);

/// True when `s` starts with "http://" or "https://" (lowercase, as URLs in config are written).
bool isHttpUrl(std::string_view s);

/// At most `max` bytes of `s` with control bytes (< 0x20) replaced by spaces, then "..." when `s` was
/// longer: for quoting a peer's unexpected answer in an error message.
std::string printablePrefix(std::string_view s, std::size_t max);

/// `s` cut to at most `maxBytes` bytes, never inside a UTF-8 sequence (the cut moves back to the start
/// of the sequence it would split).
std::string truncateUtf8(std::string_view s, std::size_t maxBytes);

}  // namespace talon
