#include "ws_wire.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace talon::bench {
namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

uint64_t readBigEndian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// ---- top-level JSON scanning ----
constexpr std::size_t kBad = std::string_view::npos;

std::size_t skipWhitespace(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// s[i] == '"'. Returns the index after the closing quote, or kBad.
std::size_t skipString(std::string_view s, std::size_t i) {
  ++i;
  while (i < s.size()) {
    const char* p = static_cast<const char*>(std::memchr(s.data() + i, '"', s.size() - i));
    if (p == nullptr) return kBad;
    std::size_t q = static_cast<std::size_t>(p - s.data());
    // The quote closes the string unless preceded by an odd number of backslashes.
    std::size_t backslashes = 0;
    while (q - backslashes > i && s[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q + 1;
    i = q + 1;
  }
  return kBad;
}

// Skips one JSON value starting at s[i]. Returns the index after it, or kBad.
std::size_t skipValue(std::string_view s, std::size_t i) {
  if (i >= s.size()) return kBad;
  const char c = s[i];
  if (c == '"') return skipString(s, i);
  if (c == '{' || c == '[') {
    std::vector<char> stack;
    stack.reserve(16);
    while (i < s.size()) {
      const char d = s[i];
      if (d == '"') {
        i = skipString(s, i);
        if (i == kBad) return kBad;
        continue;
      }
      if (d == '{' || d == '[') {
        stack.push_back(d == '{' ? '}' : ']');
      } else if (d == '}' || d == ']') {
        if (stack.empty() || stack.back() != d) return kBad;
        stack.pop_back();
        if (stack.empty()) return i + 1;
      }
      ++i;
    }
    return kBad;
  }
  const std::size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
         s[i] != '\r')
    ++i;
  return i == start ? kBad : i;
}

// Calls f(rawKey, rawValue) for each top-level member of the object `s`. False when `s` is not an object.
template <class F>
bool forEachMember(std::string_view s, F&& f) {
  std::size_t i = skipWhitespace(s, 0);
  if (i >= s.size() || s[i] != '{') return false;
  i = skipWhitespace(s, i + 1);
  if (i < s.size() && s[i] == '}') return skipWhitespace(s, i + 1) == s.size();
  while (i < s.size()) {
    if (s[i] != '"') return false;
    const std::size_t keyEnd = skipString(s, i);
    if (keyEnd == kBad) return false;
    const std::string_view key = s.substr(i + 1, keyEnd - i - 2);
    i = skipWhitespace(s, keyEnd);
    if (i >= s.size() || s[i] != ':') return false;
    i = skipWhitespace(s, i + 1);
    const std::size_t valueEnd = skipValue(s, i);
    if (valueEnd == kBad) return false;
    f(key, s.substr(i, valueEnd - i));
    i = skipWhitespace(s, valueEnd);
    if (i >= s.size()) return false;
    if (s[i] == '}') return skipWhitespace(s, i + 1) == s.size();
    if (s[i] != ',') return false;
    i = skipWhitespace(s, i + 1);
  }
  return false;
}

std::string_view stringContents(std::string_view rawValue) {
  if (rawValue.size() >= 2 && rawValue.front() == '"') return rawValue.substr(1, rawValue.size() - 2);
  return {};
}

}  // namespace

std::string newWebSocketKey() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return base64(bytes, sizeof bytes);
}

std::string webSocketAccept(std::string_view key) {
  std::string input(key);
  input += kAcceptGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr);
  return base64(digest, length);
}

std::string buildUpgradeRequest(std::string_view host, uint16_t port, std::string_view path, std::string_view key) {
  std::string hostHeader(host);
  if (hostHeader.find(':') != std::string::npos) hostHeader = "[" + hostHeader + "]";
  std::string out;
  out.reserve(256);
  out += "GET ";
  out += path.empty() ? std::string_view("/") : path;
  out += " HTTP/1.1\r\nHost: ";
  out += hostHeader;
  out += ':';
  out += std::to_string(port);
  out += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  out += key;
  out += "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: talon-bench-client\r\n\r\n";
  return out;
}

Status checkUpgradeResponse(std::string_view head, std::string_view key) {
  const std::size_t lineEnd = head.find("\r\n");
  const std::string_view statusLine = head.substr(0, lineEnd);
  // "HTTP/1.1 101 Switching Protocols"
  const std::size_t sp = statusLine.find(' ');
  if (sp == std::string_view::npos || statusLine.substr(sp + 1, 3) != "101")
    return fail(ErrorCode::kUnavailable, "upgrade refused: " + std::string(statusLine));
  std::string_view rest = lineEnd == std::string_view::npos ? std::string_view() : head.substr(lineEnd + 2);
  const std::string expected = webSocketAccept(key);
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (iequals(trim(line.substr(0, colon)), "sec-websocket-accept")) {
      if (trim(line.substr(colon + 1)) == expected) return {};
      return fail(ErrorCode::kUpstream, "wrong Sec-WebSocket-Accept: " + std::string(trim(line.substr(colon + 1))));
    }
  }
  return fail(ErrorCode::kUpstream, "upgrade response without Sec-WebSocket-Accept");
}

void appendClientFrame(std::string& out, Opcode opcode, std::string_view payload, uint32_t maskKey) {
  const std::size_t n = payload.size();
  const std::size_t headerAt = out.size();
  unsigned char header[14];
  std::size_t h = 0;
  header[h++] = static_cast<unsigned char>(0x80 | static_cast<uint8_t>(opcode));
  if (n < 126) {
    header[h++] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    header[h++] = 0x80 | 126;
    header[h++] = static_cast<unsigned char>(n >> 8);
    header[h++] = static_cast<unsigned char>(n);
  } else {
    header[h++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8) header[h++] = static_cast<unsigned char>(uint64_t(n) >> shift);
  }
  const unsigned char mask[4] = {static_cast<unsigned char>(maskKey >> 24), static_cast<unsigned char>(maskKey >> 16),
                                 static_cast<unsigned char>(maskKey >> 8), static_cast<unsigned char>(maskKey)};
  std::memcpy(header + h, mask, 4);
  h += 4;
  out.resize(headerAt + h + n);
  char* dst = out.data() + headerAt;
  std::memcpy(dst, header, h);
  dst += h;
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
}

char* FrameDecoder::prepare(std::size_t n) {
  if (start_ == size_) start_ = size_ = 0;
  if (buffer_.size() - size_ < n) {
    if (start_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + start_, size_ - start_);
      size_ -= start_;
      start_ = 0;
    }
    if (buffer_.size() - size_ < n) buffer_.resize(std::max(size_ + n, 2 * buffer_.size()));
  }
  return buffer_.data() + size_;
}

void FrameDecoder::append(std::string_view bytes) {
  std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
  commit(bytes.size());
}

Result<std::optional<WsEvent>> FrameDecoder::next() {
  for (;;) {
    const std::size_t avail = size_ - start_;
    auto* p = reinterpret_cast<unsigned char*>(buffer_.data() + start_);
    if (avail < 2) return std::optional<WsEvent>();
    const bool fin = (p[0] & 0x80) != 0;
    if ((p[0] & 0x70) != 0) return fail(ErrorCode::kUpstream, "frame with reserved bits set");
    const auto opcode = static_cast<Opcode>(p[0] & 0x0F);
    const bool masked = (p[1] & 0x80) != 0;
    uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (avail < 4) return std::optional<WsEvent>();
      length = readBigEndian(p + 2, 2);
      header = 4;
    } else if (length == 127) {
      if (avail < 10) return std::optional<WsEvent>();
      length = readBigEndian(p + 2, 8);
      header = 10;
    }
    const std::size_t maskAt = header;
    if (masked) header += 4;
    if (length > maxMessageBytes_) return fail(ErrorCode::kResourceExhausted, "frame larger than the message limit");
    if (avail < header + length) return std::optional<WsEvent>();
    char* payload = reinterpret_cast<char*>(p + header);
    if (masked)
      for (uint64_t i = 0; i < length; ++i) payload[i] = static_cast<char>(payload[i] ^ p[maskAt + (i & 3)]);
    start_ += header + length;
    const std::string_view data(payload, length);

    switch (opcode) {
      case Opcode::kPing:
      case Opcode::kPong:
      case Opcode::kClose: {
        if (!fin || length > 125) return fail(ErrorCode::kUpstream, "fragmented or oversized control frame");
        WsEvent event;
        if (opcode == Opcode::kPing) {
          event.kind = WsEvent::Kind::kPing;
          event.data = data;
        } else if (opcode == Opcode::kPong) {
          event.kind = WsEvent::Kind::kPong;
          event.data = data;
        } else {
          event.kind = WsEvent::Kind::kClose;
          event.closeCode =
              length >= 2 ? static_cast<uint16_t>(readBigEndian(reinterpret_cast<unsigned char*>(payload), 2)) : 1005;
          event.data = length >= 2 ? data.substr(2) : std::string_view();
        }
        return std::optional<WsEvent>(event);
      }
      case Opcode::kText:
      case Opcode::kBinary:
        if (inFragmented_) return fail(ErrorCode::kUpstream, "new message inside a fragmented message");
        if (fin) return std::optional<WsEvent>(WsEvent{WsEvent::Kind::kMessage, data, 0});
        fragments_.assign(data);
        inFragmented_ = true;
        continue;
      case Opcode::kContinuation:
        if (!inFragmented_) return fail(ErrorCode::kUpstream, "continuation frame without a message");
        if (fragments_.size() + length > maxMessageBytes_)
          return fail(ErrorCode::kResourceExhausted, "message larger than the limit");
        fragments_.append(data);
        if (!fin) continue;
        inFragmented_ = false;
        return std::optional<WsEvent>(WsEvent{WsEvent::Kind::kMessage, fragments_, 0});
      default:
        return fail(ErrorCode::kUpstream, "unknown opcode " + std::to_string(static_cast<int>(opcode)));
    }
  }
}

Result<FrameFields> scanFrame(std::string_view text) {
  FrameFields fields;
  const bool ok = forEachMember(text, [&](std::string_view key, std::string_view value) {
    if (key == "type") {
      fields.type = stringContents(value);
    } else if (key == "id") {
      fields.id = stringContents(value);
    } else if (key == "event") {
      fields.event = stringContents(value);
    } else if (key == "ok") {
      if (value == "true") fields.ok = true;
      if (value == "false") fields.ok = false;
    } else if (key == "payload") {
      fields.payload = value;
    } else if (key == "error") {
      fields.error = value;
    }
  });
  if (!ok) return fail(ErrorCode::kInvalidArgument, "not a JSON object: " + std::string(text.substr(0, 120)));
  return fields;
}

std::optional<std::string_view> scanStringField(std::string_view object, std::string_view key) {
  std::optional<std::string_view> found;
  const bool ok = forEachMember(object, [&](std::string_view k, std::string_view value) {
    if (!found && k == key && !value.empty() && value.front() == '"') found = stringContents(value);
  });
  if (!ok) return std::nullopt;
  return found;
}

}  // namespace talon::bench
