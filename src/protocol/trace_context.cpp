#include "protocol/trace_context.h"

#include <vector>

namespace talon::protocol {
namespace {

bool isLowerHex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool allZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  // JavaScript's String.prototype.trim: ASCII whitespace is what a header can carry.
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

std::optional<TraceContext> parseTraceparent(std::string_view traceparent) {
  if (traceparent.size() > kMaxTraceparentLength) return std::nullopt;
  std::string text(trim(traceparent));
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::vector<std::string_view> parts;
  std::string_view rest = text;
  for (;;) {
    const auto dash = rest.find('-');
    parts.push_back(rest.substr(0, dash));
    if (dash == std::string_view::npos) break;
    rest.remove_prefix(dash + 1);
  }
  if (parts.size() < 4) return std::nullopt;
  const std::string_view version = parts[0];
  if (!isLowerHex(version, 2) || version == "ff") return std::nullopt;
  if (version == "00" && parts.size() != 4) return std::nullopt;
  if (!isLowerHex(parts[1], 32) || allZero(parts[1])) return std::nullopt;
  if (!isLowerHex(parts[2], 16) || allZero(parts[2])) return std::nullopt;
  if (!isLowerHex(parts[3], 2)) return std::nullopt;
  return TraceContext{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

std::string formatTraceparent(const TraceContext& trace, std::string_view spanId) {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += trace.traceId;
  out += '-';
  out += spanId;
  out += '-';
  out += trace.flags;
  return out;
}

}  // namespace talon::protocol
