#pragma once
// The wire pieces of the benchmark client (talon-bench-client), without sockets: the RFC 6455 opening
// handshake and client framing, an incremental decoder of server frames, and a scanner that reads the
// top-level fields of a gateway frame without building a JSON tree (so that the client, not the server,
// is never the bottleneck of a throughput run). Pure functions and value types; no threads.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon::bench {

/// Frame opcodes (RFC 6455 §5.2).
enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

/// A random Sec-WebSocket-Key: base64 of 16 random bytes (RFC 6455 §4.1, item 7).
std::string newWebSocketKey();

/// The Sec-WebSocket-Accept value for `key`: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
/// (RFC 6455 §4.2.2, item 5.4).
std::string webSocketAccept(std::string_view key);

/// The client's opening handshake (RFC 6455 §4.1): a GET of `path` with Upgrade, Connection,
/// Sec-WebSocket-Key and Sec-WebSocket-Version: 13. No extensions are offered.
std::string buildUpgradeRequest(std::string_view host, uint16_t port, std::string_view path, std::string_view key);

/// Checks the server's handshake response `head` (status line and headers, up to the blank line):
/// status 101 and a Sec-WebSocket-Accept matching `key`. Errors: kUnavailable naming the status line
/// when the upgrade was refused, kUpstream when the accept value is missing or wrong.
Status checkUpgradeResponse(std::string_view head, std::string_view key);

/// Appends one client frame (FIN set, masked with `maskKey` as RFC 6455 §5.3 requires of clients) to
/// `out`.
void appendClientFrame(std::string& out, Opcode opcode, std::string_view payload, uint32_t maskKey);

/// One complete item read from the server: a whole message (continuation frames joined), a ping, a
/// pong, or a close. `data` stays valid until the next call to FrameDecoder::prepare() or next().
struct WsEvent {
  enum class Kind { kMessage, kPing, kPong, kClose };
  Kind kind = Kind::kMessage;
  std::string_view data;   // message text, ping/pong payload, or the close reason
  uint16_t closeCode = 0;  // kClose only; 1005 when the frame carried no code
};

/// Incremental decoder of the frames a server sends. Bytes go in through prepare()/commit(); complete
/// items come out of next(). Not thread-safe.
class FrameDecoder {
 public:
  /// Largest message accepted (bytes); a larger one is a kResourceExhausted error.
  explicit FrameDecoder(std::size_t maxMessageBytes = 64u << 20) : maxMessageBytes_(maxMessageBytes) {}

  /// Room for at least `n` more bytes at the end of the buffer; write into it, then commit().
  char* prepare(std::size_t n);
  /// Marks `n` bytes written after prepare() as received.
  void commit(std::size_t n) { size_ += n; }
  /// Appends `bytes` (prepare + copy + commit).
  void append(std::string_view bytes);

  /// The next complete item, or nullopt when more bytes are needed. Errors: kUpstream for a protocol
  /// violation (reserved bits set, unknown opcode, a fragmented control frame, a continuation without
  /// a start), kResourceExhausted for an oversized message.
  Result<std::optional<WsEvent>> next();

  /// Bytes received and not yet consumed.
  std::size_t buffered() const { return size_ - start_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;  // first unconsumed byte
  std::size_t size_ = 0;   // bytes in use in buffer_
  std::string fragments_;  // a fragmented message being assembled
  bool inFragmented_ = false;
  std::size_t maxMessageBytes_;
};

/// The top-level fields of one gateway frame ({type, id, ok, event, payload, error}), read without
/// building a tree. String fields are the raw JSON text between the quotes (escapes are not decoded);
/// `payload` and `error` are the raw JSON text of the value. Absent fields are empty / nullopt.
struct FrameFields {
  std::string_view type;
  std::string_view id;
  std::string_view event;
  std::optional<bool> ok;
  std::string_view payload;
  std::string_view error;
};

/// Scans the top-level object of `text`. Errors: kInvalidArgument when `text` is not a JSON object
/// (the scan checks structure and string/escape syntax; it does not validate numbers or literals).
Result<FrameFields> scanFrame(std::string_view text);

/// The raw text of top-level string field `key` of the JSON object `object` (escapes not decoded), or
/// nullopt when absent, not a string, or `object` is not an object.
std::optional<std::string_view> scanStringField(std::string_view object, std::string_view key);

}  // namespace talon::bench
