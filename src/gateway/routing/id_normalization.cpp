#include "gateway/routing/id_normalization.h"

#include <array>

namespace talon::gateway::routing {
namespace {

constexpr std::size_t kMaxIdLength = 64;

bool isAsciiSpace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// UTF-8 encodings of the non-ASCII code points JavaScript's trim() removes.
constexpr std::array<std::string_view, 18> kUnicodeSpaces = {
    "\xC2\xA0",      // U+00A0
    "\xE1\x9A\x80",  // U+1680
    "\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84",
    "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89",
    "\xE2\x80\x8A",  // U+2000..U+200A
    "\xE2\x80\xA8",  // U+2028
    "\xE2\x80\xA9",  // U+2029
    "\xE2\x80\xAF",  // U+202F
    "\xE2\x81\x9F",  // U+205F
    "\xE3\x80\x80",  // U+3000
};
constexpr std::string_view kBom = "\xEF\xBB\xBF";  // U+FEFF

// Every non-ASCII space above (and the BOM) starts with a byte >= 0xC2 and ends with a continuation
// byte (0x80..0xBF): an ASCII byte at that end decides at once.
std::size_t leadingSpaceLength(std::string_view s) {
  if (s.empty()) return 0;
  if (const auto c = static_cast<unsigned char>(s.front()); c < 0x80) return isAsciiSpace(c) ? 1 : 0;
  if (s.starts_with(kBom)) return kBom.size();
  for (auto sp : kUnicodeSpaces) {
    if (s.starts_with(sp)) return sp.size();
  }
  return 0;
}

std::size_t trailingSpaceLength(std::string_view s) {
  if (s.empty()) return 0;
  if (const auto c = static_cast<unsigned char>(s.back()); c < 0x80) return isAsciiSpace(c) ? 1 : 0;
  if (s.ends_with(kBom)) return kBom.size();
  for (auto sp : kUnicodeSpaces) {
    if (s.ends_with(sp)) return sp.size();
  }
  return 0;
}

bool isIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

// `^[a-z0-9][a-z0-9_-]{0,63}$` with the `i` flag, applied to an already lower-cased string.
bool matchesValidIdPattern(std::string_view lowered) {
  if (lowered.empty() || lowered.size() > kMaxIdLength) return false;
  char first = lowered.front();
  if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) return false;
  for (char c : lowered) {
    if (!isIdChar(c)) return false;
  }
  return true;
}

// Shared folding of agent and account ids. Returns "" when nothing representable is left.
std::string canonicalizeId(std::string_view trimmed) {
  std::string lowered = lowerAscii(trimmed);
  if (matchesValidIdPattern(lowered)) return lowered;
  std::string out;
  out.reserve(lowered.size());
  bool inInvalidRun = false;
  for (char c : lowered) {
    if (isIdChar(c)) {
      out.push_back(c);
      inInvalidRun = false;
    } else if (!inInvalidRun) {
      out.push_back('-');
      inInvalidRun = true;
    }
  }
  std::size_t begin = out.find_first_not_of('-');
  if (begin == std::string::npos) return {};
  std::size_t end = out.find_last_not_of('-');
  out = out.substr(begin, end - begin + 1);
  if (out.size() > kMaxIdLength) out.resize(kMaxIdLength);
  return out;
}

}  // namespace

std::string_view trimWhitespace(std::string_view s) {
  for (std::size_t n = leadingSpaceLength(s); n > 0; n = leadingSpaceLength(s)) s.remove_prefix(n);
  for (std::size_t n = trailingSpaceLength(s); n > 0; n = trailingSpaceLength(s)) s.remove_suffix(n);
  return s;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trimLower(std::string_view s) { return lowerAscii(trimWhitespace(s)); }

std::string normalizeAgentId(std::string_view raw) {
  std::string id = canonicalizeId(trimWhitespace(raw));
  return id.empty() ? std::string(kDefaultAgentId) : id;
}

bool isValidAgentId(std::string_view raw) {
  std::string_view trimmed = trimWhitespace(raw);
  return !trimmed.empty() && matchesValidIdPattern(lowerAscii(trimmed));
}

std::string normalizeAccountId(std::string_view raw) {
  std::string_view trimmed = trimWhitespace(raw);
  if (trimmed.empty()) return std::string(kDefaultAccountId);
  std::string id = canonicalizeId(trimmed);
  if (id.empty() || id == "__proto__" || id == "prototype" || id == "constructor") {
    return std::string(kDefaultAccountId);
  }
  return id;
}

}  // namespace talon::gateway::routing
