#include "protocol/frames.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "protocol/errors.h"

namespace talon::protocol {

using namespace std::string_view_literals;

namespace {

constexpr std::array<std::string_view, 6> kRequestKeys = {"type",   "id",          "method",
                                                          "params", "traceparent", "expectedProfileId"};
constexpr std::size_t kTraceparentMaxChars = 128;
constexpr std::size_t kProfileIdMaxChars = 128;

// Characters as JSON Schema counts them (code points) in valid UTF-8.
std::size_t codePointCount(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// at most U+10FFFF), or 0 when it is ill-formed.
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const auto cont = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  const unsigned char c = byte(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    const unsigned char c1 = byte(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const unsigned char c1 = byte(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

template <class Int>
void appendInt(std::string& out, Int v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

Unexpected<FrameError> invalidFrame(std::string detail, std::optional<std::string> id) {
  return Unexpected(FrameError{FrameErrorKind::kInvalidRequest, invalidRequestFrameError(detail), std::move(id)});
}

// Checks an optional/required string member. Returns an error detail, or empty when valid.
std::string checkString(const json::value& v, std::string_view key, std::size_t minChars, std::size_t maxChars) {
  if (!v.is_string()) return "at /" + std::string(key) + ": must be string";
  const auto& s = v.get_string();
  // Without an upper bound, a non-empty string has at least one character: no need to count them.
  const std::size_t n = maxChars == SIZE_MAX && minChars <= 1 ? std::min<std::size_t>(s.size(), 1)
                                                              : codePointCount(std::string_view(s.data(), s.size()));
  if (n < minChars)
    return "at /" + std::string(key) + ": must NOT have fewer than " + std::to_string(minChars) + " characters";
  if (n > maxChars)
    return "at /" + std::string(key) + ": must NOT have more than " + std::to_string(maxChars) + " characters";
  return {};
}

std::string toStdString(const json::value& v) {
  const auto& s = v.get_string();
  return std::string(s.data(), s.size());
}

void appendErrorShape(std::string& out, const Error& error) {
  out += R"({"code":)"sv;
  appendJsonString(out, protocolErrorCode(error.code));
  out += R"(,"message":)"sv;
  appendJsonString(out, error.publicMessage());
  if (!error.details.empty()) {
    out += R"(,"details":)"sv;
    out += json::serialize(error.details);
  }
  if (error.retryable()) out += R"(,"retryable":true)"sv;
  if (error.retryAfterMs > 0) {
    out += R"(,"retryAfterMs":)"sv;
    appendInt(out, error.retryAfterMs);
  }
  out += '}';
}

void appendResponseHead(std::string& out, std::string_view id, bool ok) {
  out += R"({"type":"res","id":)"sv;
  appendJsonString(out, id);
  out += ok ? R"(,"ok":true)"sv : R"(,"ok":false)"sv;
}

// Validates a parsed frame. Strings and params are copied out of `parsed` into the default (heap)
// memory resource, so the frame outlives the resource `parsed` was built in.
Expected<RequestFrame, FrameError> validateRequestFrame(const json::value& parsed) {
  if (!parsed.is_object()) return invalidFrame("must be object", std::nullopt);
  const auto& o = parsed.get_object();

  // One pass over the members (this runs for every request): each known key's value, in kRequestKeys
  // order, and the first unexpected key. The checks below keep the order of the schema's errors.
  std::array<const json::value*, kRequestKeys.size()> member{};
  std::optional<std::string_view> unexpected;
  for (const auto& kv : o) {
    const std::string_view key(kv.key().data(), kv.key().size());
    std::size_t i = 0;
    while (i < kRequestKeys.size() && kRequestKeys[i] != key) ++i;
    if (i < kRequestKeys.size()) {
      member[i] = &kv.value();
    } else if (!unexpected) {
      unexpected = key;
    }
  }
  const json::value* type = member[0];
  const json::value* idValue = member[1];
  const json::value* method = member[2];
  const json::value* params = member[3];
  const json::value* traceparent = member[4];
  const json::value* profileId = member[5];

  std::optional<std::string> id;
  if (idValue && idValue->is_string() && !idValue->get_string().empty()) id = toStdString(*idValue);
  for (std::size_t i = 0; i < 3; ++i) {
    if (!member[i]) return invalidFrame("must have required property '" + std::string(kRequestKeys[i]) + "'", id);
  }
  if (unexpected) return invalidFrame("at root: unexpected property '" + std::string(*unexpected) + "'", id);
  if (!type->is_string() || type->get_string() != "req") return invalidFrame("at /type: must be equal to constant", id);
  if (auto detail = checkString(*idValue, "id", 1, SIZE_MAX); !detail.empty()) return invalidFrame(detail, id);
  if (auto detail = checkString(*method, "method", 1, SIZE_MAX); !detail.empty()) return invalidFrame(detail, id);

  RequestFrame frame;
  if (traceparent) {
    if (auto detail = checkString(*traceparent, "traceparent", 0, kTraceparentMaxChars); !detail.empty()) {
      return invalidFrame(detail, id);
    }
    frame.traceparent = toStdString(*traceparent);
  }
  if (profileId) {
    if (auto detail = checkString(*profileId, "expectedProfileId", 1, kProfileIdMaxChars); !detail.empty()) {
      return invalidFrame(detail, id);
    }
    frame.expectedProfileId = toStdString(*profileId);
  }
  frame.id = std::move(*id);
  frame.method = toStdString(*method);
  if (params) frame.params = json::value(*params, json::storage_ptr());
  return frame;
}

/// How the flat fast path treats each byte inside a string: 0 plain (printable ASCII), 1 the closing
/// quote, 2 anything that needs the general parser (a control byte, `\`, a non-ASCII byte).
constexpr std::array<unsigned char, 256> kFlatStringByte = [] {
  std::array<unsigned char, 256> t{};
  for (std::size_t c = 0; c < t.size(); ++c) t[c] = c < 0x20 || c >= 0x80 || c == '\\' ? 2 : 0;
  t['"'] = 1;
  return t;
}();

/// The index in kRequestKeys of `key`, or kRequestKeys.size().
std::size_t requestKeyIndex(const char* key, std::size_t size) {
  const auto is = [&](std::string_view k) { return std::memcmp(key, k.data(), k.size()) == 0; };
  switch (size) {
    case 2:
      return is("id") ? 1 : kRequestKeys.size();
    case 4:
      return is("type") ? 0 : kRequestKeys.size();
    case 6:
      return is("method") ? 2 : is("params") ? 3 : kRequestKeys.size();
    case 11:
      return is("traceparent") ? 4 : kRequestKeys.size();
    case 17:
      return is("expectedProfileId") ? 5 : kRequestKeys.size();
    default:
      return kRequestKeys.size();
  }
}

/// parseFlatRequestFrame into `frame` (default-constructed): true when `text` is such a frame.
bool parseFlatRequestFrameInto(std::string_view text, RequestFrame& frame) {
  const char* p = text.data();
  const char* const end = p + text.size();
  const auto isWhitespace = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };  // RFC 8259 §2
  const auto skipWhitespace = [&] {
    while (p != end && isWhitespace(*p)) ++p;
  };
  std::array<const char*, kRequestKeys.size()> begin{};  // each member's string value, when present
  std::array<std::size_t, kRequestKeys.size()> size{};
  bool emptyParams = false;

  skipWhitespace();
  if (p == end || *p != '{') return false;
  ++p;
  for (;;) {
    skipWhitespace();
    // The key: a string of printable ASCII without escapes (`{}` ends here too: the general path
    // names the missing members).
    if (p == end || *p != '"') return false;
    const char* const key = ++p;
    while (p != end && kFlatStringByte[static_cast<unsigned char>(*p)] == 0) ++p;
    if (p == end || *p != '"') return false;
    const std::size_t i = requestKeyIndex(key, static_cast<std::size_t>(p - key));
    ++p;
    if (i == kRequestKeys.size() || begin[i] != nullptr || (i == 3 && emptyParams)) return false;
    skipWhitespace();
    if (p == end || *p != ':') return false;
    ++p;
    skipWhitespace();
    if (p == end) return false;
    if (i == 3) {  // params: only `{}` here
      if (*p != '{') return false;
      ++p;
      skipWhitespace();
      if (p == end || *p != '}') return false;
      ++p;
      emptyParams = true;
    } else {
      if (*p != '"') return false;
      begin[i] = ++p;
      while (p != end && kFlatStringByte[static_cast<unsigned char>(*p)] == 0) ++p;
      if (p == end || *p != '"') return false;
      size[i] = static_cast<std::size_t>(p - begin[i]);
      ++p;
    }
    skipWhitespace();
    if (p == end) return false;
    const char c = *p++;
    if (c == '}') break;
    if (c != ',') return false;
  }
  skipWhitespace();
  if (p != end) return false;
  // The checks of validateRequestFrame, for ASCII strings (one character per byte); a frame that fails
  // one takes the general path, which words the error.
  const auto value = [&](std::size_t i) { return std::string_view(begin[i], size[i]); };
  if (begin[0] == nullptr || value(0) != "req") return false;
  if (begin[1] == nullptr || size[1] == 0 || begin[2] == nullptr || size[2] == 0) return false;
  if (begin[4] != nullptr && size[4] > kTraceparentMaxChars) return false;
  if (begin[5] != nullptr && (size[5] == 0 || size[5] > kProfileIdMaxChars)) return false;
  frame.id.assign(begin[1], size[1]);
  frame.method.assign(begin[2], size[2]);
  if (emptyParams) frame.params.emplace_object();
  if (begin[4] != nullptr) frame.traceparent.emplace(begin[4], size[4]);
  if (begin[5] != nullptr) frame.expectedProfileId.emplace(begin[5], size[5]);
  return true;
}

}  // namespace

std::optional<RequestFrame> parseFlatRequestFrame(std::string_view text) {
  RequestFrame frame;
  if (!parseFlatRequestFrameInto(text, frame)) return std::nullopt;
  return frame;
}

Expected<RequestFrame, FrameError> parseRequestFrame(std::string_view text) {
  RequestFrameParser parser;
  return parser.parse(text);
}

Expected<RequestFrame, FrameError> RequestFrameParser::parse(std::string_view text) {
  Expected<RequestFrame, FrameError> frame;  // one object for every return: built in place
  if (!parseFlatRequestFrameInto(text, frame.value())) frame = parseTree(text);
  return frame;
}

Expected<RequestFrame, FrameError> RequestFrameParser::parseTree(std::string_view text) {
  // The tree lives in tree_ (and in heap blocks the resource frees when it goes) only during this call.
  json::monotonic_resource tree(tree_, sizeof tree_);
  parser_.reset(json::storage_ptr(&tree));
  boost::system::error_code ec;
  std::size_t n = parser_.write(text.data(), text.size(), ec);  // also fails on trailing non-whitespace
  if (ec) {
    parser_.reset();
    // The same error as parseJson's (base/json.cpp): the message reaches the client.
    return Unexpected(FrameError{
        FrameErrorKind::kNotJson,
        Error(ErrorCode::kInvalidArgument, fmt::format("invalid JSON at byte {}: {}", n, ec.message()), "invalid JSON"),
        std::nullopt});
  }
  auto frame = [&] {
    const json::value parsed = parser_.release();
    return validateRequestFrame(parsed);
  }();
  parser_.reset();  // drops the parser's reference to `tree`
  return frame;
}

namespace {

/// True when one of the 8 bytes of `w` needs more than a copy in a JSON string: a control byte
/// (< 0x20), '"', '\\' or a non-ASCII byte (>= 0x80, checked as UTF-8 byte by byte). The usual
/// "has a byte less than n / equal to c" word tricks (exact for "any byte"; Bit Twiddling Hacks,
/// "Determine if a word has a byte less than n").
constexpr bool jsonWordNeedsCare(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  const uint64_t control = (w - kOnes * 0x20) & ~w;
  const uint64_t isQuote = (quote - kOnes) & ~quote;
  const uint64_t isBackslash = (backslash - kOnes) & ~backslash;
  return ((control | isQuote | isBackslash | w) & kHigh) != 0;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // The common case, a short plain string (a request id, a name): two words checked at once, padded
  // with spaces (plain), and one append.
  if (s.size() <= 16) {
    constexpr uint64_t kSpaces = 0x2020202020202020ULL;
    uint64_t w[2] = {kSpaces, kSpaces};
    std::memcpy(w, s.data(), s.size());
    if (!jsonWordNeedsCare(w[0]) && !jsonWordNeedsCare(w[1])) {
      out.push_back('"');
      out.append(s);
      out.push_back('"');
      return;
    }
  }
  out.push_back('"');
  std::size_t runStart = 0;
  std::size_t i = 0;
  const auto flush = [&] { out.append(s.data() + runStart, i - runStart); };
  while (i < s.size()) {
    // Plain ASCII text, 8 bytes at a time: it is copied with the run at the next flush.
    while (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (jsonWordNeedsCare(w)) break;
      i += 8;
    }
    if (i >= s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t len = utf8SequenceLength(s, i); len != 0) {
        i += len;
        continue;
      }
      flush();
      out += "\\ufffd";
      runStart = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
    runStart = ++i;
  }
  flush();
  out.push_back('"');
}

std::string encodeResponseOk(std::string_view id, std::string_view payloadJson) {
  std::string out;
  out.reserve(48 + id.size() + payloadJson.size());
  appendResponseHead(out, id, true);
  if (!payloadJson.empty()) {
    out += R"(,"payload":)"sv;
    out += payloadJson;
  }
  out += '}';
  return out;
}

std::string encodeResponseOkValue(std::string_view id, const json::value& payload) {
  return encodeResponseOk(id, json::serialize(payload));
}

json::object errorShape(const Error& error) {
  json::object o;
  o["code"] = protocolErrorCode(error.code);
  o["message"] = error.publicMessage();
  if (!error.details.empty()) o["details"] = error.details;
  if (error.retryable()) o["retryable"] = true;
  if (error.retryAfterMs > 0) o["retryAfterMs"] = error.retryAfterMs;
  return o;
}

std::string encodeResponseError(std::string_view id, const Error& error) { return encodeResponseError(id, error, {}); }

std::string encodeResponseError(std::string_view id, const Error& error, std::string_view payloadJson) {
  std::string out;
  out.reserve(128 + id.size() + payloadJson.size());
  appendResponseHead(out, id, false);
  if (!payloadJson.empty()) {
    out += R"(,"payload":)"sv;
    out += payloadJson;
  }
  out += R"(,"error":)"sv;
  appendErrorShape(out, error);
  out += '}';
  return out;
}

std::string encodeEvent(std::string_view event, std::string_view payloadJson, std::optional<uint64_t> seq,
                        std::optional<StateVersion> stateVersion) {
  std::string out;
  out.reserve(96 + event.size() + payloadJson.size());
  out += R"({"type":"event","event":)"sv;
  appendJsonString(out, event);
  if (!payloadJson.empty()) {
    out += R"(,"payload":)"sv;
    out += payloadJson;
  }
  if (seq) {
    out += R"(,"seq":)"sv;
    appendInt(out, *seq);
  }
  if (stateVersion) {
    out += R"(,"stateVersion":{"presence":)"sv;
    appendInt(out, stateVersion->presence);
    out += R"(,"health":)"sv;
    appendInt(out, stateVersion->health);
    out += '}';
  }
  out += '}';
  return out;
}

std::string encodeEventValue(std::string_view event, const json::value& payload, std::optional<uint64_t> seq,
                             std::optional<StateVersion> stateVersion) {
  return encodeEvent(event, json::serialize(payload), seq, stateVersion);
}

std::string encodeTickEvent(int64_t tsMs, uint64_t seq) {
  std::string payload = R"({"ts":)";
  appendInt(payload, tsMs);
  payload += '}';
  return encodeEvent("tick", payload, seq);
}

std::string encodeShutdownEvent(std::string_view reason, std::optional<int64_t> restartExpectedMs, uint64_t seq) {
  std::string payload = R"({"reason":)";
  appendJsonString(payload, reason);
  if (restartExpectedMs) {
    payload += R"(,"restartExpectedMs":)";
    appendInt(payload, *restartExpectedMs);
  }
  payload += '}';
  return encodeEvent("shutdown", payload, seq);
}

}  // namespace talon::protocol
