#include "base/text.h"

namespace talon {

std::string trimWhitespace(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool isHttpUrl(std::string_view s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

std::string printablePrefix(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (s.size() > max) out += "...";
  return out;
}

std::string truncateUtf8(std::string_view s, std::size_t maxBytes) {
  if (s.size() <= maxBytes) return std::string(s);
  std::size_t n = maxBytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace talon
