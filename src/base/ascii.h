#pragma once
// ASCII helpers for protocol tokens (HTTP header names, auth schemes), which compare case-insensitively
// in ASCII only (RFC 9110 §5.1, RFC 7235 §2.1).
#include <string_view>

namespace talon {

/// True when `a` and `b` are equal ignoring the case of ASCII letters (other bytes compare exactly).
constexpr bool equalsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// True when `v` holds no CR or LF, which would end an HTTP header line and let a value inject more
/// headers (RFC 9110 §5.5 does not allow them in field values).
constexpr bool validHeaderValue(std::string_view v) { return v.find_first_of("\r\n") == std::string_view::npos; }

}  // namespace talon
